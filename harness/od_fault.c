// SPDX-License-Identifier: GPL-2.0
/*
 * Fault-injection knobs: the failslab and fail_page_alloc attributes in
 * debugfs, and the per-task make-it-fail and fail-nth.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "od_private.h"

/* Write val to a file (sysfs, debugfs, procfs knobs): 0 or -errno. */
static int od_write_file(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), ret = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, val, strlen(val)) != (ssize_t)strlen(val))
		ret = -errno ?: -EIO;
	close(fd);
	return ret;
}

const char *od_fault_missing(void)
{
	if (access("/proc/thread-self/fail-nth", W_OK))
		return "needs CONFIG_FAULT_INJECTION (run with --flavour debug)";
	if (access(OD_FAULT_DEBUGFS "/failslab/probability", W_OK))
		return "needs CONFIG_FAILSLAB and CONFIG_FAULT_INJECTION_DEBUG_FS (run with --flavour debug)";
	if (access(OD_FAULT_DEBUGFS "/fail_page_alloc/probability", W_OK))
		return "needs CONFIG_FAIL_PAGE_ALLOC and CONFIG_FAULT_INJECTION_DEBUG_FS (run with --flavour debug)";
	return NULL;
}

int od_fault_set(const char *attr, const char *knob, const char *fmt, ...)
{
	char path[PATH_MAX], val[64];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(val, sizeof(val), fmt, ap);
	va_end(ap);
	snprintf(path, sizeof(path), OD_FAULT_DEBUGFS "/%s/%s", attr, knob);
	return od_write_file(path, val);
}

long od_fault_get(const char *attr, const char *knob)
{
	char path[PATH_MAX], val[64] = "";
	int fd;
	ssize_t n;

	snprintf(path, sizeof(path), OD_FAULT_DEBUGFS "/%s/%s", attr, knob);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, val, sizeof(val) - 1);
	close(fd);
	return n > 0 ? strtol(val, NULL, 0) : -EIO;
}

int od_fault_reset(void)
{
	static const char *const attrs[] = { "failslab", "fail_page_alloc" };
	int ret = 0;

	/* lib/fault-inject.c's FAULT_ATTR_INITIALIZER and mm/'s own defaults */
	for (int i = 0; i < 2; i++) {
		const char *a = attrs[i];

		ret = od_fault_set(a, "probability", "0") ?: ret;
		ret = od_fault_set(a, "interval", "1") ?: ret;
		ret = od_fault_set(a, "times", "1") ?: ret;
		ret = od_fault_set(a, "space", "0") ?: ret;
		ret = od_fault_set(a, "verbose", "2") ?: ret;
		ret = od_fault_set(a, "task-filter", "N") ?: ret;
		ret = od_fault_set(a, "ignore-gfp-wait", "Y") ?: ret;
	}
	ret = od_fault_set("failslab", "cache-filter", "N") ?: ret;
	ret = od_fault_set("fail_page_alloc", "ignore-gfp-highmem", "Y") ?: ret;
	ret = od_fault_set("fail_page_alloc", "min-order", "1") ?: ret;
	return ret;
}

int od_make_it_fail(int on)
{
	int ret = -ENOMEM;

	/* with make-it-fail already set, setting it back may itself fail */
	for (int i = 0; i < 1000 && ret == -ENOMEM; i++)
		ret = od_write_file("/proc/thread-self/make-it-fail", on ? "1" : "0");
	return ret;
}

int od_fail_nth_open(void)
{
	int fd = open("/proc/thread-self/fail-nth", O_RDWR | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

int od_fail_nth_arm(int fd, unsigned int n)
{
	char buf[16];
	int len = snprintf(buf, sizeof(buf), "%u", n);

	return pwrite(fd, buf, len, 0) == len ? 0 : -errno;
}

int od_fail_nth_left(int fd)
{
	char buf[16] = { 0 };
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	int err = errno;

	od_fail_nth_arm(fd, 0);
	return n <= 0 ? -(err ?: EIO) : atoi(buf);
}
