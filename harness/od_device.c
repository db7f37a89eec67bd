// SPDX-License-Identifier: GPL-2.0
/*
 * The device and the daemon threads: /dev/cachefiles opened and bound,
 * commands written to it, messages read from it, the thread that answers
 * them through the test's script, and pools of more such threads.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "od_private.h"

static int od_init_records(struct od_daemon *d)
{
	if (d->rec)
		return 0;
	d->rec = calloc(OD_MAX_RECORDS, sizeof(*d->rec));
	if (!d->rec)
		return -ENOMEM;
	pthread_mutex_init(&d->lock, NULL);
	pthread_cond_init(&d->cond, NULL);
	d->wake[0] = d->wake[1] = -1;
	return 0;
}

int od_open_dev(struct od_daemon *d)
{
	int ret = od_init_records(d);

	if (ret)
		return ret;
	d->dev = open("/dev/cachefiles", O_RDWR | O_CLOEXEC);
	return d->dev < 0 ? -errno : 0;
}

int od_adopt_dev(struct od_daemon *d, int fd)
{
	int ret;

	memset(d, 0, sizeof(*d));
	d->dev = -1;
	ret = od_init_records(d);
	if (!ret)
		d->dev = fd;
	return ret;
}

int od_cmd_raw(struct od_daemon *d, const void *buf, size_t len)
{
	ssize_t n = write(d->dev, buf, len);

	if (n < 0)
		return -errno;
	return n == (ssize_t)len ? 0 : -EIO;
}

int od_cmd(struct od_daemon *d, const char *fmt, ...)
{
	char buf[4096];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return od_cmd_raw(d, buf, n);
}

static int od_bind_cmd(struct od_daemon *d, const char *cache_dir, const char *tag,
		       const char *bind)
{
	int ret;

	memset(d, 0, sizeof(*d));
	d->dev = -1;
	snprintf(d->cache_dir, sizeof(d->cache_dir), "%s", cache_dir);
	if (mkdir(cache_dir, 0700) && errno != EEXIST)
		return -errno;
	ret = od_open_dev(d);
	if (!ret)
		ret = od_cmd(d, "dir %s", cache_dir);
	if (!ret && tag)
		ret = od_cmd(d, "tag %s", tag);
	if (!ret)
		ret = od_cmd(d, "%s", bind);
	return ret;
}

int od_bind(struct od_daemon *d, const char *cache_dir, const char *tag)
{
	return od_bind_cmd(d, cache_dir, tag, "bind ondemand");
}

int od_bind_classic(struct od_daemon *d, const char *cache_dir)
{
	return od_bind_cmd(d, cache_dir, NULL, "bind");
}

void od_set_script(struct od_daemon *d, od_script_fn fn, void *arg)
{
	pthread_mutex_lock(&d->lock);
	d->script = fn;
	d->script_arg = arg;
	pthread_mutex_unlock(&d->lock);
}

int od_poll_in(struct od_daemon *d, int timeout_ms)
{
	struct pollfd p = { .fd = d->dev, .events = POLLIN };
	int n = poll(&p, 1, timeout_ms);

	return n > 0 && (p.revents & POLLIN);
}

int od_next(struct od_daemon *d, struct od_record **out, int timeout_ms)
{
	char buf[CACHEFILES_MSG_MAX_SIZE + 64];
	long deadline = od_now_ms() + timeout_ms;
	ssize_t n;

	for (;;) {
		long left = deadline - od_now_ms();

		if (left < 0 || !od_poll_in(d, left))
			return -ETIMEDOUT;
		n = read(d->dev, buf, sizeof(buf));
		if (n < 0)
			return -errno;
		/* 0: the request was taken back (e.g. flushed) before we read */
		if (n == 0)
			continue;
		*out = od_record_msg(d, buf, n);
		return *out ? 0 : -ENOSPC;
	}
}

int od_read_msg(struct od_daemon *d, struct od_record **out)
{
	char buf[CACHEFILES_MSG_MAX_SIZE + 64];
	ssize_t n = read(d->dev, buf, sizeof(buf));

	if (n < 0)
		return -errno;
	if (n == 0)
		return -ENOMSG;
	*out = od_record_msg(d, buf, n);
	return *out ? 0 : -ENOSPC;
}

/*
 * The daemon loop, for od_start()'s thread and the pool's: take each
 * message and answer it as the script says, until woken to stop.  The
 * daemon's own wake pipe carries a byte per wake-up ('q' to quit); a
 * pool's is shared by its threads, so its first byte stays to stop them all.
 */
static void od_serve(struct od_daemon *d, int wake, bool shared)
{
	for (;;) {
		struct pollfd p[2] = {
			{ .fd = d->dev, .events = POLLIN },
			{ .fd = wake, .events = POLLIN },
		};
		struct od_record *m;
		enum od_action act = OD_REPLY;
		od_script_fn script;
		void *arg;
		char c;

		if (poll(p, 2, 1000) < 0 && errno != EINTR) {
			/*
			 * fault injection (soak, fail-nth) fails poll()'s
			 * tables (ENOMEM) or faulting in the stack page of
			 * the pollfds (EFAULT): try again
			 */
			if (errno == ENOMEM || errno == EFAULT) {
				usleep(1000);
				continue;
			}
			od_fail(d, "poll: %s", strerror(errno));
			break;
		}
		if (p[1].revents) {
			ssize_t n = shared ? 0 : read(wake, &c, 1);

			if (n < 0 && (errno == EINTR || errno == ENOMEM || errno == EFAULT))
				continue;
			if (shared || n != 1 || c == 'q')
				break;
		}
		if (!(p[0].revents & POLLIN))
			continue;
		/* another thread may have taken it: read() then returns 0 */
		if (od_next(d, &m, 0))
			continue;
		/* the script and its argument as one pair: od_set_script() may run */
		pthread_mutex_lock(&d->lock);
		script = d->script;
		arg = d->script_arg;
		pthread_mutex_unlock(&d->lock);
		if (script)
			act = script(d, m, arg);
		if (act == OD_REPLY)
			od_reply(d, m);
	}
}

static void *od_loop(void *arg)
{
	struct od_daemon *d = arg;

	od_serve(d, d->wake[0], false);
	return NULL;
}

int od_start(struct od_daemon *d)
{
	if (pipe2(d->wake, O_CLOEXEC))
		return -errno;
	if (pthread_create(&d->thread, NULL, od_loop, d))
		return -EAGAIN;
	d->running = true;
	return 0;
}

void od_stop(struct od_daemon *d)
{
	if (!d->running)
		return;
	if (write(d->wake[1], "q", 1) != 1)
		pthread_cancel(d->thread);
	pthread_join(d->thread, NULL);
	d->running = false;
	close(d->wake[0]);
	close(d->wake[1]);
	d->wake[0] = d->wake[1] = -1;
}

int od_crash(struct od_daemon *d)
{
	struct od_record *held[OD_HOLD_MAX];
	int n, all = 0;

	od_stop(d);
	od_close_anons(d);
	while ((n = od_pending(d, CACHEFILES_OP_READ, held, OD_HOLD_MAX)) > 0) {
		for (int k = 0; k < n; k++)
			od_answered(d, held[k], -EPIPE);
		all += n;
	}
	return all;
}

void od_close_dev(struct od_daemon *d)
{
	if (d->dev >= 0)
		close(d->dev);
	d->dev = -1;
}

void od_teardown(struct od_daemon *d)
{
	if (!d->rec)
		return;
	od_stop(d);
	for (int i = 0; i < d->nobj; i++) {
		if (d->obj[i].anon_fd >= 0)
			close(d->obj[i].anon_fd);
		close(d->obj[i].blob_fd);
	}
	d->nobj = 0;
	od_close_dev(d);
	free(d->rec);
	d->rec = NULL;
}

bool od_kernel_has_restore(struct od_daemon *d)
{
	return od_cmd(d, "restore") == 0;
}

/* A pool thread: the daemon loop, with the pool's own wake pipe. */
static void *od_pool_loop(void *arg)
{
	struct od_pool *p = arg;

	od_serve(p->d, p->wake[0], true);
	return NULL;
}

int od_pool_start(struct od_pool *p, struct od_daemon *d, int n)
{
	memset(p, 0, sizeof(*p));
	p->d = d;
	if (n > OD_POOL_MAX)
		return -EINVAL;
	if (pipe2(p->wake, O_CLOEXEC))
		return -errno;
	for (; p->n < n; p->n++)
		if (pthread_create(&p->t[p->n], NULL, od_pool_loop, p))
			return -EAGAIN;
	return 0;
}

void od_pool_stop(struct od_pool *p)
{
	if (!p->d)
		return;
	/* the pipe stays readable once written: every thread sees it */
	if (p->n && write(p->wake[1], "q", 1) != 1)
		for (int i = 0; i < p->n; i++)
			pthread_cancel(p->t[i]);
	for (int i = 0; i < p->n; i++)
		pthread_join(p->t[i], NULL);
	close(p->wake[0]);
	close(p->wake[1]);
	p->d = NULL;
	p->n = 0;
}
