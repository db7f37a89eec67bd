// SPDX-License-Identifier: GPL-2.0
/*
 * Mounts: EROFS over fscache by fsid or by fixture image (with its extra
 * devices), the domain_id probe, and mount(2) and umount(2) in a bounded
 * child process (od_child.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ondemand.h"

/*
 * The new mount API parses an option when it is set, so asking EROFS
 * whether it takes domain_id costs nothing: no superblock, no cache, no
 * OPEN.  An unknown option is EINVAL; without EROFS at all the tests'
 * own mounts say what is wrong.
 */
bool od_kernel_has_domain_id(void)
{
	int fd = fsopen("erofs", FSOPEN_CLOEXEC), ret, err;

	if (fd < 0)
		return true;
	ret = fsconfig(fd, FSCONFIG_SET_STRING, "domain_id", "ods-probe", 0);
	err = errno;
	close(fd);
	return ret == 0 || err != EINVAL;
}

int od_mount(const char *fsid, const char *domain, const char *mnt)
{
	char opts[512];

	if (mkdir(mnt, 0755) && errno != EEXIST)
		return -errno;
	if (domain)
		snprintf(opts, sizeof(opts), "fsid=%s,domain_id=%s", fsid, domain);
	else
		snprintf(opts, sizeof(opts), "fsid=%s", fsid);
	return mount("none", mnt, "erofs", MS_RDONLY, opts) ? -errno : 0;
}

int od_umount(const char *mnt)
{
	return umount2(mnt, 0) ? -errno : 0;
}

int od_mount_opts(const char *mnt, const char *fmt, ...)
{
	char opts[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(opts, sizeof(opts), fmt, ap);
	va_end(ap);
	if (mkdir(mnt, 0755) && errno != EEXIST)
		return -errno;
	return mount("none", mnt, "erofs", MS_RDONLY, opts) ? -errno : 0;
}

int od_image_devices(const char *image, char names[][OD_KEY_MAX], int max)
{
	struct od_manifest_entry *e;
	char manifest[PATH_MAX];
	int n;

	/* fixtures/build.sh lists an image's extra blobs in device order */
	snprintf(manifest, sizeof(manifest), "%s.devices", image);
	n = od_manifest_load(manifest, &e);
	if (n == -ENOENT)
		return 0;
	if (n < 0)
		return n;
	if (n > max)
		n = max;
	for (int i = 0; i < n; i++)
		snprintf(names[i], OD_KEY_MAX, "%s", e[i].path);
	free(e);
	return n;
}

int od_mount_image(const char *image, const char *domain, const char *mnt)
{
	char devs[8][OD_KEY_MAX], opts[1024];
	int n = od_image_devices(image, devs, 8), len;

	if (n < 0)
		return n;
	/*
	 * mkfs.erofs 1.5 leaves the device tags empty: each extra blob is
	 * named by a device= option, and that name is its cookie key.
	 */
	len = snprintf(opts, sizeof(opts), "fsid=%s", image);
	for (int i = 0; i < n; i++)
		len += snprintf(opts + len, sizeof(opts) - len, ",device=%s", devs[i]);
	if (domain)
		snprintf(opts + len, sizeof(opts) - len, ",domain_id=%s", domain);
	return od_mount_opts(mnt, "%s", opts);
}

/* mount(2) or umount(2) in a child of its own. */
static int od_mount_child(struct od_mounter *m, bool umount, const char *fsid,
			  const char *domain, const char *mnt)
{
	int ret;

	memset(m, 0, sizeof(*m));
	ret = od_child_start(&m->child);
	if (ret)
		return ret;
	if (m->pid == 0) {
		ret = umount ? od_umount(mnt) : od_mount(fsid, domain, mnt);
		od_child_report(&m->child, &ret, sizeof(ret));
	}
	return 0;
}

int od_mount_start(struct od_mounter *m, const char *fsid, const char *domain,
		   const char *mnt)
{
	return od_mount_child(m, false, fsid, domain, mnt);
}

int od_mount_wait(struct od_mounter *m, int timeout_ms)
{
	int ret = od_child_wait(&m->child, &m->result, sizeof(m->result),
				timeout_ms);

	if (ret == -EPIPE)
		m->result = -EPIPE;	/* the mounter died without a result */
	return ret == -EPIPE ? 0 : ret;
}

void od_mount_kill(struct od_mounter *m)
{
	od_child_kill(&m->child);
}

int od_umount_start(struct od_mounter *m, const char *mnt)
{
	return od_mount_child(m, true, NULL, NULL, mnt);
}
