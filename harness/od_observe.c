// SPDX-License-Identifier: GPL-2.0
/*
 * Observing the kernel and the process: the kernel log, the device's
 * release, a task's state, the cache's data files, and the fd table.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/klog.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ondemand.h"

int od_wait_dev_free(int timeout_ms)
{
	long deadline = od_now_ms() + timeout_ms;
	int fd;

	/* the last fput of the old cache may still be on its way */
	while ((fd = open("/dev/cachefiles", O_RDWR | O_CLOEXEC)) < 0) {
		if (errno != EBUSY)
			return -errno;
		if (od_now_ms() > deadline)
			return -EBUSY;
		usleep(10000);
	}
	close(fd);
	return 0;
}

int od_mount_options(const char *mnt, char *buf, size_t n)
{
	char dev[256], dir[PATH_MAX], type[64], opts[1024];
	FILE *f = fopen("/proc/mounts", "re");
	int ret = -ENOENT;

	if (!f)
		return -errno;
	/* the last mount on mnt is the one a path lookup sees */
	while (fscanf(f, "%255s %4095s %63s %1023s %*d %*d", dev, dir, type, opts) == 4) {
		if (strcmp(dir, mnt))
			continue;
		snprintf(buf, n, "%s", opts);
		ret = 0;
	}
	fclose(f);
	return ret;
}

int od_klog_count(const char *needle)
{
	int size = klogctl(10, NULL, 0);	/* SYSLOG_ACTION_SIZE_BUFFER */
	char *buf, *p;
	int n, count = 0;

	if (size <= 0)
		return -EINVAL;
	buf = malloc(size + 1);
	if (!buf)
		return -ENOMEM;
	n = klogctl(3, buf, size);		/* SYSLOG_ACTION_READ_ALL */
	if (n < 0) {
		free(buf);
		return -errno;
	}
	buf[n] = 0;
	for (p = buf; (p = strstr(p, needle)); p += strlen(needle))
		count++;
	free(buf);
	return count;
}

int od_wait_blocked(pid_t tid, int timeout_ms)
{
	long deadline = od_now_ms() + timeout_ms;
	char path[64], buf[512], *state;

	snprintf(path, sizeof(path), "/proc/%d/stat", tid);
	for (;;) {
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);

		if (fd >= 0)
			close(fd);
		if (n <= 0)
			return -ESRCH;
		buf[n] = 0;
		/* "pid (comm) S ...": comm may hold anything, so look past its ')' */
		state = strrchr(buf, ')');
		if (state && state[1] == ' ' && state[2] == 'D')
			return 0;
		if (od_now_ms() > deadline)
			return -ETIMEDOUT;
		usleep(1000);
	}
}

static int od_rm_one(const char *path, const struct stat *st, int type,
		     struct FTW *ftw)
{
	return (type == FTW_DP ? rmdir(path) : unlink(path)) ? errno : 0;
}

int od_rm_tree(const char *dir)
{
	/* nftw() returns -1 for its own failures, else what od_rm_one() did */
	int ret = nftw(dir, od_rm_one, 16, FTW_DEPTH | FTW_PHYS);

	return ret == -1 ? -errno : -ret;
}

/* nftw() has no argument for its callback: the walk's result goes here. */
static char od_found[PATH_MAX];

static int od_find_data(const char *path, const struct stat *st, int type,
			struct FTW *ftw)
{
	/* fs/cachefiles/key.c: a data file's name starts with 'D' */
	if (type != FTW_F || !S_ISREG(st->st_mode) || path[ftw->base] != 'D')
		return 0;
	snprintf(od_found, sizeof(od_found), "%s", path);
	return 1;
}

int od_cache_file(const char *dir, char *path, size_t len)
{
	int ret;

	od_found[0] = 0;
	ret = nftw(dir, od_find_data, 16, FTW_PHYS);
	if (ret < 0)
		return -errno;
	if (!ret)
		return -ENOENT;
	if (path && len)
		snprintf(path, len, "%s", od_found);
	return 0;
}

int od_wait_cache_file(const char *dir, char *path, size_t len, int timeout_ms)
{
	long deadline = od_now_ms() + timeout_ms;
	int ret;

	while ((ret = od_cache_file(dir, path, len)) == -ENOENT) {
		if (od_now_ms() > deadline)
			return -ETIMEDOUT;
		usleep(10000);
	}
	return ret;
}

int od_fd_count(void)
{
	DIR *dir = opendir("/proc/self/fd");
	struct dirent *de;
	int n = 0;

	if (!dir)
		return -errno;
	while ((de = readdir(dir)))
		n += de->d_name[0] != '.';
	closedir(dir);
	return n - 1;	/* the directory's own fd */
}

int od_fd_lowest_free(void)
{
	/* a new fd gets the lowest free number */
	int fd = open("/", O_PATH | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	close(fd);
	return fd;
}

int od_lost_fd_slots(int below)
{
	int taken[1024], n = 0, lost = 0, fd = -1;
	long max = sysconf(_SC_OPEN_MAX);	/* RLIMIT_NOFILE */

	if (below > 1024)
		below = 1024;
	if (max > 0 && below > max)
		below = max;
	/* fill every free slot: a reserved one is skipped, being not free */
	while (n < below) {
		fd = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 0);
		if (fd < 0 || fd >= below)
			break;
		taken[n++] = fd;
	}
	if (fd < 0 && errno != EMFILE)
		lost = -errno;
	else if (fd >= below)
		close(fd);
	/* now a slot below 'below' without a file can only be a lost one */
	for (int i = 0; i < below && lost >= 0; i++)
		if (fcntl(i, F_GETFD) < 0 && errno == EBADF)
			lost++;
	for (int i = 0; i < n; i++)
		close(taken[i]);
	return lost;
}
