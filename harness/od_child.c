// SPDX-License-Identifier: GPL-2.0
/*
 * Child processes with bounds: a child that sends one result back over a
 * pipe, waited for with a timeout and killed if need be.  Readers, mounters,
 * umounters, the image check and the tests' own children are built on it.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ondemand.h"
#include "sha256.h"

/* Close every fd from 3 to 1023 but keep and keep2 (-1: none), in a child. */
static void od_close_fds(int keep, int keep2)
{
	for (int i = 3; i < 1024; i++)
		if (i != keep && i != keep2)
			close(i);
}

/*
 * fork() for children: the child must not hold the daemon's fds (an anon
 * fd "closed" by the daemon stays open in a child that still has a copy),
 * so it closes all but @keep, and the parent returns only once it has: a
 * test that closes an anon fd right after starting a reader closes it for
 * real.
 */
static pid_t od_fork_clean(int keep)
{
	int sync[2];
	pid_t pid;
	char c;

	if (pipe2(sync, O_CLOEXEC))
		return -1;
	pid = fork();
	if (pid == 0) {
		od_close_fds(keep, sync[1]);
		if (write(sync[1], "r", 1) != 1)
			_exit(2);
		close(sync[1]);
		return 0;
	}
	close(sync[1]);
	if (pid > 0) {
		struct pollfd p = { .fd = sync[0], .events = POLLIN };

		if (poll(&p, 1, OD_WAIT_MS) <= 0 || read(sync[0], &c, 1) != 1)
			pid = -1;
	}
	close(sync[0]);
	return pid;
}

int od_child_start(struct od_child *c)
{
	int p[2], err;

	c->pid = -1;
	if (pipe2(p, O_CLOEXEC))
		return -errno;
	c->pid = od_fork_clean(p[1]);
	if (c->pid < 0) {
		err = errno ?: EIO;
		close(p[0]);
		close(p[1]);
		return -err;
	}
	c->pipe = c->pid ? p[0] : p[1];
	close(c->pid ? p[1] : p[0]);
	return 0;
}

void od_child_report(struct od_child *c, const void *res, size_t len)
{
	_exit(write(c->pipe, res, len) == (ssize_t)len ? 0 : 2);
}

int od_child_wait(struct od_child *c, void *res, size_t len, int timeout_ms)
{
	struct pollfd p = { .fd = c->pipe, .events = POLLIN };
	int ret;

	if (c->pid <= 0)
		return -ECHILD;
	if (poll(&p, 1, timeout_ms) <= 0)
		return -ETIMEDOUT;
	ret = read(c->pipe, res, len) == (ssize_t)len ? 0 : -EPIPE;
	close(c->pipe);
	waitpid(c->pid, NULL, 0);
	c->pid = -1;
	return ret;
}

void od_child_kill(struct od_child *c)
{
	if (c->pid <= 0)
		return;
	kill(c->pid, SIGKILL);
	waitpid(c->pid, NULL, 0);
	close(c->pipe);
	c->pid = -1;
}

int od_child_run(od_child_fn fn, void *arg, void *res, size_t len, int timeout_ms)
{
	struct od_child c;
	int ret = od_child_start(&c);

	if (ret)
		return ret;
	if (c.pid == 0) {
		fn(arg, res);
		od_child_report(&c, res, len);
	}
	ret = od_child_wait(&c, res, len, timeout_ms);
	if (ret == -ETIMEDOUT)
		od_child_kill(&c);
	return ret;
}

/* What a reader sends back. */
struct od_reader_result {
	int result;
	off_t bytes;
	char sha[65];
};

/* The reader's loop: [off, off + len) of path (len < 0: to its end). */
static void od_read_range(const char *path, off_t off, off_t len,
			  struct od_reader_result *res)
{
	static char buf[1 << 16];
	struct sha256_ctx c;
	int fd = open(path, O_RDONLY);

	sha256_init(&c);
	if (fd < 0)
		res->result = -errno;
	while (fd >= 0 && (len < 0 || res->bytes < len)) {
		size_t want = sizeof(buf);
		ssize_t n;

		if (len >= 0 && (off_t)want > len - res->bytes)
			want = len - res->bytes;
		n = pread(fd, buf, want, off + res->bytes);
		if (n < 0) {
			res->result = -errno;
			break;
		}
		if (n == 0)
			break;
		sha256_update(&c, buf, n);
		res->bytes += n;
	}
	sha256_hex(&c, res->sha);
}

int od_reader_start(struct od_reader *r, const char *path, off_t off, off_t len)
{
	struct od_reader_result res = { 0 };
	int ret;

	memset(r, 0, sizeof(*r));
	ret = od_child_start(&r->child);
	if (ret || r->pid)
		return ret;
	od_read_range(path, off, len, &res);
	od_child_report(&r->child, &res, sizeof(res));
}

int od_reader_wait(struct od_reader *r, int timeout_ms)
{
	struct od_reader_result res;
	int ret = od_child_wait(&r->child, &res, sizeof(res), timeout_ms);

	if (ret == -EPIPE) {
		res.result = -EPIPE;	/* the reader died without a result */
		res.bytes = 0;
		res.sha[0] = 0;
	} else if (ret) {
		return ret;
	}
	r->result = res.result;
	r->bytes = res.bytes;
	memcpy(r->sha256, res.sha, sizeof(r->sha256));
	return 0;
}

void od_reader_kill(struct od_reader *r)
{
	od_child_kill(&r->child);
}
