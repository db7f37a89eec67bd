// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ondemand.h"
#include "sha256.h"

long od_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000;
}

static void od_fail(struct od_daemon *d, const char *fmt, ...)
{
	va_list ap;

	if (d->error[0])
		return;
	va_start(ap, fmt);
	vsnprintf(d->error, sizeof(d->error), fmt, ap);
	va_end(ap);
}

const char *od_opname(uint32_t opcode)
{
	switch (opcode) {
	case CACHEFILES_OP_OPEN: return "OPEN";
	case CACHEFILES_OP_CLOSE: return "CLOSE";
	case CACHEFILES_OP_READ: return "READ";
	}
	return "UNKNOWN";
}

int od_open_dev(struct od_daemon *d)
{
	if (!d->rec) {
		d->rec = calloc(OD_MAX_RECORDS, sizeof(*d->rec));
		if (!d->rec)
			return -ENOMEM;
		pthread_mutex_init(&d->lock, NULL);
		pthread_cond_init(&d->cond, NULL);
		d->wake[0] = d->wake[1] = -1;
	}
	d->dev = open("/dev/cachefiles", O_RDWR | O_CLOEXEC);
	return d->dev < 0 ? -errno : 0;
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

int od_bind(struct od_daemon *d, const char *cache_dir, const char *tag)
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
		ret = od_cmd(d, "bind ondemand");
	return ret;
}

void od_set_script(struct od_daemon *d, od_script_fn fn, void *arg)
{
	pthread_mutex_lock(&d->lock);
	d->script = fn;
	d->script_arg = arg;
	pthread_mutex_unlock(&d->lock);
}

struct od_object *od_object(struct od_daemon *d, int object_id)
{
	for (int i = d->nobj - 1; i >= 0; i--)
		if (d->obj[i].object_id == object_id)
			return &d->obj[i];
	return NULL;
}

int od_poll_in(struct od_daemon *d, int timeout_ms)
{
	struct pollfd p = { .fd = d->dev, .events = POLLIN };
	int n = poll(&p, 1, timeout_ms);

	return n > 0 && (p.revents & POLLIN);
}

/* Parse one message into the record, under the lock. */
static struct od_record *od_record_msg(struct od_daemon *d, const char *buf,
				       ssize_t n)
{
	const struct cachefiles_msg *msg = (const void *)buf;
	struct od_record *m;

	pthread_mutex_lock(&d->lock);
	if (d->nrec == OD_MAX_RECORDS) {
		pthread_mutex_unlock(&d->lock);
		od_fail(d, "more than %d messages", OD_MAX_RECORDS);
		return NULL;
	}
	m = &d->rec[d->nrec];
	memset(m, 0, sizeof(*m));
	m->msg_id = msg->msg_id;
	m->opcode = msg->opcode;
	m->len = msg->len;
	m->object_id = msg->object_id;
	m->anon_fd = -1;
	if (msg->len != n)
		od_fail(d, "msg %u: len %u but read() returned %zd",
			msg->msg_id, msg->len, n);
	if (msg->opcode == CACHEFILES_OP_OPEN) {
		const struct cachefiles_open *o = (const void *)msg->data;
		size_t vk = o->volume_key_size, ck = o->cookie_key_size;

		m->anon_fd = o->fd;
		m->volume_key_size = vk;
		m->cookie_key_size = ck;
		if (vk < OD_KEY_MAX && ck < OD_KEY_MAX &&
		    sizeof(*msg) + sizeof(*o) + vk + ck == (size_t)n) {
			memcpy(m->volume_key, o->data, vk);
			memcpy(m->cookie_key, o->data + vk, ck);
		} else {
			od_fail(d, "OPEN %u: key sizes %zu+%zu do not fit len %zd",
				msg->msg_id, vk, ck, n);
		}
	} else if (msg->opcode == CACHEFILES_OP_READ) {
		const struct cachefiles_read *r = (const void *)msg->data;

		m->off = r->off;
		m->rlen = r->len;
	}
	d->nrec++;
	pthread_cond_broadcast(&d->cond);
	pthread_mutex_unlock(&d->lock);
	return m;
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

static int od_store_reply(struct od_daemon *d, struct od_record *m, int ret)
{
	pthread_mutex_lock(&d->lock);
	m->reply = ret;
	m->answered = true;
	pthread_cond_broadcast(&d->cond);
	pthread_mutex_unlock(&d->lock);
	return ret;
}

int od_copen(struct od_daemon *d, uint32_t msg_id, long long size)
{
	return od_cmd(d, "copen %u,%lld", msg_id, size);
}

off_t od_blob_size(const char *name)
{
	char path[PATH_MAX];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", OD_BLOB_DIR, name);
	return stat(path, &st) ? -errno : st.st_size;
}

static int od_answer_open(struct od_daemon *d, struct od_record *m)
{
	char path[PATH_MAX];
	struct od_object *o;
	struct stat st;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", OD_BLOB_DIR, m->cookie_key);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st)) {
		od_fail(d, "OPEN %u: no blob %s", m->msg_id, path);
		if (fd >= 0)
			close(fd);
		return od_copen(d, m->msg_id, -ENOENT);
	}
	pthread_mutex_lock(&d->lock);
	if (d->nobj == OD_MAX_OBJECTS) {
		pthread_mutex_unlock(&d->lock);
		close(fd);
		od_fail(d, "more than %d objects", OD_MAX_OBJECTS);
		return od_copen(d, m->msg_id, -ENOSPC);
	}
	o = &d->obj[d->nobj++];
	o->object_id = m->object_id;
	o->anon_fd = m->anon_fd;
	o->blob_fd = fd;
	o->size = st.st_size;
	snprintf(o->key, sizeof(o->key), "%s", m->cookie_key);
	pthread_mutex_unlock(&d->lock);
	return od_copen(d, m->msg_id, st.st_size);
}

int od_write(struct od_daemon *d, int object_id, uint64_t off, uint64_t len)
{
	struct od_object *o = od_object(d, object_id);
	uint64_t end, pos;
	void *buf;
	int ret = 0;

	if (!o)
		return -ENOENT;
	/* anon-fd writes are direct I/O: whole blocks, aligned buffer */
	end = off + len;
	if (end > (uint64_t)o->size)
		end = o->size;
	end = (end + OD_BLOCK - 1) & ~(uint64_t)(OD_BLOCK - 1);
	if (posix_memalign(&buf, OD_BLOCK, 1 << 20))
		return -ENOMEM;
	for (pos = off; pos < end && !ret;) {
		size_t chunk = end - pos > (1 << 20) ? (1 << 20) : end - pos;
		ssize_t got = pread(o->blob_fd, buf, chunk, pos);

		if (got < 0) {
			ret = -errno;
			break;
		}
		memset((char *)buf + got, 0, chunk - got);
		if (pwrite(o->anon_fd, buf, chunk, pos) != (ssize_t)chunk)
			ret = -errno ?: -EIO;
		pos += chunk;
	}
	free(buf);
	return ret;
}

int od_cread(struct od_daemon *d, int object_id, uint32_t msg_id)
{
	struct od_object *o = od_object(d, object_id);

	if (!o)
		return -ENOENT;
	return ioctl(o->anon_fd, CACHEFILES_IOC_READ_COMPLETE, msg_id) ? -errno : 0;
}

int od_close_anon(struct od_daemon *d, int object_id)
{
	struct od_object *o = od_object(d, object_id);
	int fd;

	pthread_mutex_lock(&d->lock);
	fd = o ? o->anon_fd : -1;
	if (o)
		o->anon_fd = -1;
	pthread_mutex_unlock(&d->lock);
	return fd < 0 ? -EBADF : close(fd) ? -errno : 0;
}

int od_reply(struct od_daemon *d, struct od_record *m)
{
	int ret = 0;

	switch (m->opcode) {
	case CACHEFILES_OP_OPEN:
		ret = od_answer_open(d, m);
		break;
	case CACHEFILES_OP_READ:
		ret = od_write(d, m->object_id, m->off, m->rlen);
		if (ret)
			od_fail(d, "READ %u: write [%llu,+%llu) failed: %s",
				m->msg_id, (unsigned long long)m->off,
				(unsigned long long)m->rlen, strerror(-ret));
		ret = od_cread(d, m->object_id, m->msg_id);
		break;
	case CACHEFILES_OP_CLOSE:
		ret = od_close_anon(d, m->object_id);
		break;
	default:
		od_fail(d, "unknown opcode %u", m->opcode);
		ret = -EINVAL;
	}
	return od_store_reply(d, m, ret);
}

static void *od_loop(void *arg)
{
	struct od_daemon *d = arg;

	for (;;) {
		struct pollfd p[2] = {
			{ .fd = d->dev, .events = POLLIN },
			{ .fd = d->wake[0], .events = POLLIN },
		};
		struct od_record *m;
		enum od_action act = OD_REPLY;
		char c;

		if (poll(p, 2, 1000) < 0 && errno != EINTR) {
			od_fail(d, "poll: %s", strerror(errno));
			break;
		}
		if (p[1].revents) {
			if (read(d->wake[0], &c, 1) != 1 || c == 'q')
				break;
		}
		if (!(p[0].revents & POLLIN))
			continue;
		if (od_next(d, &m, 0))
			continue;
		if (d->script)
			act = d->script(d, m, d->script_arg);
		if (act == OD_REPLY)
			od_reply(d, m);
	}
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

int od_count(struct od_daemon *d, uint32_t opcode)
{
	int n = 0;

	pthread_mutex_lock(&d->lock);
	for (int i = 0; i < d->nrec; i++)
		n += d->rec[i].opcode == opcode;
	pthread_mutex_unlock(&d->lock);
	return n;
}

struct od_record *od_find(struct od_daemon *d, uint32_t opcode, int nth)
{
	struct od_record *m = NULL;

	pthread_mutex_lock(&d->lock);
	for (int i = 0; i < d->nrec && !m; i++)
		if (d->rec[i].opcode == opcode && nth-- == 0)
			m = &d->rec[i];
	pthread_mutex_unlock(&d->lock);
	return m;
}

int od_wait_count(struct od_daemon *d, uint32_t opcode, int n, int timeout_ms)
{
	struct timespec until;
	int have, ret = 0;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += timeout_ms / 1000;
	until.tv_nsec += (timeout_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&d->lock);
	for (;;) {
		have = 0;
		for (int i = 0; i < d->nrec; i++)
			have += d->rec[i].opcode == opcode;
		if (have >= n || ret == ETIMEDOUT)
			break;
		ret = pthread_cond_timedwait(&d->cond, &d->lock, &until);
	}
	pthread_mutex_unlock(&d->lock);
	return have >= n ? 0 : -ETIMEDOUT;
}

bool od_kernel_has_restore(struct od_daemon *d)
{
	return od_cmd(d, "restore") == 0;
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

int od_sha256_file(const char *path, char out[65])
{
	static char buf[1 << 16];
	struct sha256_ctx c;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	sha256_init(&c);
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		sha256_update(&c, buf, n);
	close(fd);
	if (n < 0)
		return -errno;
	sha256_hex(&c, out);
	return 0;
}

void od_sha256(const void *buf, size_t len, char out[65])
{
	struct sha256_ctx c;

	sha256_init(&c);
	sha256_update(&c, buf, len);
	sha256_hex(&c, out);
}

int od_reader_start(struct od_reader *r, const char *path, off_t off, off_t len)
{
	int p[2];

	memset(r, 0, sizeof(*r));
	r->pid = -1;
	if (pipe2(p, O_CLOEXEC))
		return -errno;
	r->pid = fork();
	if (r->pid < 0)
		return -errno;
	if (r->pid == 0) {
		static char buf[1 << 16];
		struct { int result; off_t bytes; char sha[65]; } res = { 0 };
		struct sha256_ctx c;
		int fd;

		/* the daemon's fds must not outlive it in the reader */
		for (int i = 3; i < 1024; i++)
			if (i != p[1])
				close(i);
		fd = open(path, O_RDONLY);
		sha256_init(&c);
		if (fd < 0) {
			res.result = -errno;
		} else {
			while (len < 0 || res.bytes < len) {
				size_t want = sizeof(buf);
				ssize_t n;

				if (len >= 0 && (off_t)want > len - res.bytes)
					want = len - res.bytes;
				n = pread(fd, buf, want, off + res.bytes);
				if (n < 0) {
					res.result = -errno;
					break;
				}
				if (n == 0)
					break;
				sha256_update(&c, buf, n);
				res.bytes += n;
			}
		}
		sha256_hex(&c, res.sha);
		if (write(p[1], &res, sizeof(res)) != sizeof(res))
			_exit(2);
		_exit(0);
	}
	close(p[1]);
	r->pipe = p[0];
	return 0;
}

int od_reader_wait(struct od_reader *r, int timeout_ms)
{
	struct { int result; off_t bytes; char sha[65]; } res;
	struct pollfd p = { .fd = r->pipe, .events = POLLIN };

	if (r->pid <= 0)
		return -ECHILD;
	if (poll(&p, 1, timeout_ms) <= 0)
		return -ETIMEDOUT;
	if (read(r->pipe, &res, sizeof(res)) != sizeof(res)) {
		res.result = -EPIPE;	/* the reader died without a result */
		res.bytes = 0;
		res.sha[0] = 0;
	}
	close(r->pipe);
	waitpid(r->pid, NULL, 0);
	r->pid = -1;
	r->result = res.result;
	r->bytes = res.bytes;
	memcpy(r->sha256, res.sha, sizeof(r->sha256));
	return 0;
}

void od_reader_kill(struct od_reader *r)
{
	if (r->pid <= 0)
		return;
	kill(r->pid, SIGKILL);
	waitpid(r->pid, NULL, 0);
	close(r->pipe);
	r->pid = -1;
}

int od_manifest_load(const char *fixture, struct od_manifest_entry **out)
{
	char path[PATH_MAX], line[PATH_MAX + 80];
	/* lines longer than PATH_MAX are cut; fixture paths are short */
	struct od_manifest_entry *e = NULL;
	int n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/fixtures/%s.sha256", fixture);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char *p = line + 64;

		line[strcspn(line, "\n")] = 0;
		if (strlen(line) < 67 || p[0] != ' ' || p[1] != ' ')
			continue;
		e = realloc(e, (n + 1) * sizeof(*e));
		memcpy(e[n].sha256, line, 64);
		e[n].sha256[64] = 0;
		p += 2;
		if (p[0] == '.' && p[1] == '/')
			p += 2;
		snprintf(e[n].path, sizeof(e[n].path), "%s", p);
		n++;
	}
	fclose(f);
	*out = e;
	return n;
}
