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

/* An absolute CLOCK_REALTIME deadline for pthread_cond_timedwait(). */
static void od_deadline(struct timespec *until, int timeout_ms)
{
	clock_gettime(CLOCK_REALTIME, until);
	until->tv_sec += timeout_ms / 1000;
	until->tv_nsec += (timeout_ms % 1000) * 1000000L;
	if (until->tv_nsec >= 1000000000L) {
		until->tv_sec++;
		until->tv_nsec -= 1000000000L;
	}
}

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
	/* now too: a test that then hangs never gets to report it */
	fprintf(stderr, "# daemon: %s\n", d->error);
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
		size_t have = 0;

		/*
		 * A short read is not the end of the blob: under fault
		 * injection, faulting in the buffer can fail half-way.
		 * Only the blob's end pads the last block with zeros.
		 */
		while (have < chunk) {
			ssize_t got = pread(o->blob_fd, (char *)buf + have, chunk - have, pos + have);

			if (got < 0 && errno == EINTR)
				continue;
			if (got < 0) {
				ret = -errno;
				break;
			}
			if (got == 0)
				break;
			have += got;
		}
		if (ret)
			break;
		memset((char *)buf + have, 0, chunk - have);
		errno = 0;
		if (pwrite(o->anon_fd, buf, chunk, pos) != (ssize_t)chunk)
			ret = -errno ?: -EIO;	/* a short write: the caller retries */
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
		if (d->script)
			act = d->script(d, m, d->script_arg);
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

	od_deadline(&until, timeout_ms);
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

/*
 * fork() for readers and mounters: the child must not hold the daemon's
 * fds (an anon fd "closed" by the daemon stays open in a child that still
 * has a copy), so it closes all but @keep, and the parent returns only once
 * it has: a test that closes an anon fd right after starting a reader
 * closes it for real.
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
		for (int i = 3; i < 1024; i++)
			if (i != keep && i != sync[1])
				close(i);
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

/*
 * A child that sends one result back through a pipe (readers, mounters):
 * *pid is 0 in the child, with *fd the pipe's write end, and the child's
 * pid in the parent, with *fd its read end.  Returns 0 or an errno (*pid
 * is then -1).
 */
static int od_fork_reporter(pid_t *pid, int *fd)
{
	int p[2], err;

	*pid = -1;
	if (pipe2(p, O_CLOEXEC))
		return -errno;
	*pid = od_fork_clean(p[1]);
	if (*pid < 0) {
		err = errno ?: EIO;
		close(p[0]);
		close(p[1]);
		return -err;
	}
	*fd = *pid ? p[0] : p[1];
	close(*pid ? p[1] : p[0]);
	return 0;
}

static void __attribute__((noreturn)) od_report(int fd, const void *res, size_t len)
{
	_exit(write(fd, res, len) == (ssize_t)len ? 0 : 2);
}

/*
 * The parent's side: wait up to timeout_ms for the child's len bytes of
 * result, then reap it.  -ETIMEDOUT leaves the child running; -EPIPE: it
 * died without a result.
 */
static int od_reap_reporter(pid_t *pid, int *fd, void *res, size_t len, int timeout_ms)
{
	struct pollfd p = { .fd = *fd, .events = POLLIN };
	int ret;

	if (*pid <= 0)
		return -ECHILD;
	if (poll(&p, 1, timeout_ms) <= 0)
		return -ETIMEDOUT;
	ret = read(*fd, res, len) == (ssize_t)len ? 0 : -EPIPE;
	close(*fd);
	waitpid(*pid, NULL, 0);
	*pid = -1;
	return ret;
}

static void od_kill_reporter(pid_t *pid, int *fd)
{
	if (*pid <= 0)
		return;
	kill(*pid, SIGKILL);
	waitpid(*pid, NULL, 0);
	close(*fd);
	*pid = -1;
}

int od_reader_start(struct od_reader *r, const char *path, off_t off, off_t len)
{
	int ret;

	memset(r, 0, sizeof(*r));
	ret = od_fork_reporter(&r->pid, &r->pipe);
	if (ret)
		return ret;
	if (r->pid == 0) {
		static char buf[1 << 16];
		struct { int result; off_t bytes; char sha[65]; } res = { 0 };
		struct sha256_ctx c;
		int fd = open(path, O_RDONLY);

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
		od_report(r->pipe, &res, sizeof(res));
	}
	return 0;
}

int od_reader_wait(struct od_reader *r, int timeout_ms)
{
	struct { int result; off_t bytes; char sha[65]; } res;
	int ret = od_reap_reporter(&r->pid, &r->pipe, &res, sizeof(res), timeout_ms);

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
	od_kill_reporter(&r->pid, &r->pipe);
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

/* for the helpers below (appended to keep the file's head untouched) */
#include <sys/klog.h>

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

int od_mount_start(struct od_mounter *m, const char *fsid, const char *domain,
		   const char *mnt)
{
	int ret;

	memset(m, 0, sizeof(*m));
	ret = od_fork_reporter(&m->pid, &m->pipe);
	if (ret)
		return ret;
	if (m->pid == 0) {
		ret = od_mount(fsid, domain, mnt);
		od_report(m->pipe, &ret, sizeof(ret));
	}
	return 0;
}

int od_mount_wait(struct od_mounter *m, int timeout_ms)
{
	int ret = od_reap_reporter(&m->pid, &m->pipe, &m->result, sizeof(m->result),
				   timeout_ms);

	if (ret == -EPIPE)
		m->result = -EPIPE;	/* the mounter died without a result */
	return ret == -EPIPE ? 0 : ret;
}

void od_mount_kill(struct od_mounter *m)
{
	od_kill_reporter(&m->pid, &m->pipe);
}

/*
 * Data-plane and stress helpers (appended; the head of the file is shared).
 */
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

int od_image_devices(const char *image, char (*names)[OD_KEY_MAX], int max)
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

int od_open_as(struct od_daemon *d, struct od_record *m, const char *blob,
	       off_t size)
{
	char path[PATH_MAX];
	struct od_object *o;
	struct stat st;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", OD_BLOB_DIR, blob ?: m->cookie_key);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st)) {
		od_fail(d, "OPEN %u: no blob %s", m->msg_id, path);
		if (fd >= 0)
			close(fd);
		return od_store_reply(d, m, od_copen(d, m->msg_id, -ENOENT));
	}
	pthread_mutex_lock(&d->lock);
	if (d->nobj == OD_MAX_OBJECTS) {
		pthread_mutex_unlock(&d->lock);
		close(fd);
		od_fail(d, "more than %d objects", OD_MAX_OBJECTS);
		return od_store_reply(d, m, od_copen(d, m->msg_id, -ENOSPC));
	}
	o = &d->obj[d->nobj];
	o->object_id = m->object_id;
	o->anon_fd = m->anon_fd;
	o->blob_fd = fd;
	/* od_write() serves up to the size reported, padding its last block */
	o->size = size < 0 ? st.st_size : size;
	snprintf(o->key, sizeof(o->key), "%s", m->cookie_key);
	d->nobj++;
	pthread_mutex_unlock(&d->lock);
	return od_store_reply(d, m, od_copen(d, m->msg_id, o->size));
}

int od_pending(struct od_daemon *d, uint32_t opcode, struct od_record **out,
	       int max)
{
	int n = 0;

	pthread_mutex_lock(&d->lock);
	for (int i = 0; i < d->nrec && n < max; i++)
		if (d->rec[i].opcode == opcode && !d->rec[i].answered)
			out[n++] = &d->rec[i];
	pthread_mutex_unlock(&d->lock);
	return n;
}

/* One 64-byte line of fixtures/gen-tree.sh: "%-63s\n" of "<path>@<offset>". */
static void od_tree_line(const char *path, off_t start, char line[80])
{
	char text[PATH_MAX + 32];

	snprintf(text, sizeof(text), "%s@%lld", path, (long long)start);
	snprintf(line, 80, "%-63.63s\n", text);
}

void od_tree_fill(const char *path, off_t off, size_t len, char *out)
{
	char line[80];

	for (size_t done = 0; done < len;) {
		off_t pos = off + done, start = pos - pos % 64;
		size_t n = 64 - (pos - start);

		if (n > len - done)
			n = len - done;
		od_tree_line(path, start, line);
		memcpy(out + done, line + (pos - start), n);
		done += n;
	}
}

void od_tree_sha256(const char *path, off_t off, size_t len, char out[65])
{
	struct sha256_ctx c;
	char buf[4096];

	sha256_init(&c);
	for (size_t done = 0; done < len;) {
		size_t n = len - done > sizeof(buf) ? sizeof(buf) : len - done;

		od_tree_fill(path, off + done, n, buf);
		sha256_update(&c, buf, n);
		done += n;
	}
	sha256_hex(&c, out);
}

uint64_t od_rand(uint64_t *state)
{
	/* splitmix64: tiny, and the same sequence on every libc */
	uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

uint64_t od_seed(void)
{
	const char *s = getenv("ODS_SEED");

	if (s && *s)
		return strtoull(s, NULL, 0);
	return (uint64_t)od_now_ms() ^ ((uint64_t)getpid() << 32);
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

/*
 * Fault injection helpers (appended; the head of the file is shared).
 */
#include <ftw.h>

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

int od_object_add(struct od_daemon *d, struct od_record *m, const char *blob,
		  off_t size)
{
	char path[PATH_MAX];
	struct od_object *o;
	struct stat st;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", OD_BLOB_DIR, blob ?: m->cookie_key);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st)) {
		close(fd);
		return -errno;
	}
	pthread_mutex_lock(&d->lock);
	if (d->nobj == OD_MAX_OBJECTS) {
		pthread_mutex_unlock(&d->lock);
		close(fd);
		return -ENOSPC;
	}
	o = &d->obj[d->nobj];
	o->object_id = m->object_id;
	o->anon_fd = m->anon_fd;
	o->blob_fd = fd;
	o->size = size < 0 ? st.st_size : size;
	snprintf(o->key, sizeof(o->key), "%s", m->cookie_key);
	d->nobj++;
	pthread_mutex_unlock(&d->lock);
	return 0;
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

/*
 * Holding READs without racing the daemon thread: the script decides under
 * the holder's lock, so once od_holder_set(h, 0) returns, every READ it held
 * is in h->held and no other will be added.
 */
void od_holder_init(struct od_holder *h)
{
	memset(h, 0, sizeof(*h));
	pthread_mutex_init(&h->lock, NULL);
	pthread_cond_init(&h->cond, NULL);
}

enum od_action od_hold_reads(struct od_daemon *d, struct od_record *m, void *arg)
{
	struct od_holder *h = arg;
	enum od_action act = OD_REPLY;

	if (m->opcode != CACHEFILES_OP_READ)
		return OD_REPLY;
	pthread_mutex_lock(&h->lock);
	if (h->hold && h->n < OD_HOLD_MAX) {
		h->held[h->n++] = m;
		pthread_cond_broadcast(&h->cond);
		act = OD_HOLD;
	}
	pthread_mutex_unlock(&h->lock);
	return act;
}

void od_holder_set(struct od_holder *h, int hold)
{
	pthread_mutex_lock(&h->lock);
	h->hold = hold;
	pthread_mutex_unlock(&h->lock);
}

int od_holder_wait(struct od_holder *h, int n, int timeout_ms)
{
	struct timespec until;
	int ret = 0;

	od_deadline(&until, timeout_ms);
	pthread_mutex_lock(&h->lock);
	while (h->n < n && ret != ETIMEDOUT)
		ret = pthread_cond_timedwait(&h->cond, &h->lock, &until);
	ret = h->n >= n ? 0 : -ETIMEDOUT;
	pthread_mutex_unlock(&h->lock);
	return ret;
}

int od_holder_take(struct od_holder *h, struct od_record **out, int max)
{
	int n;

	pthread_mutex_lock(&h->lock);
	n = h->n < max ? h->n : max;
	memcpy(out, h->held, n * sizeof(*out));
	memmove(h->held, h->held + n, (h->n - n) * sizeof(*out));
	h->n -= n;
	pthread_mutex_unlock(&h->lock);
	return n;
}

int od_check_image(const char *mnt, const char *fixture, int timeout_ms,
		   char *bad, size_t len)
{
	struct { int ret; char path[256]; } res = { 0, "" };
	struct od_manifest_entry *files;
	int n = od_manifest_load(fixture, &files), fd, ret;
	pid_t pid;

	if (n <= 0)
		return n ?: -ENOENT;
	ret = od_fork_reporter(&pid, &fd);
	if (ret) {
		free(files);
		return ret;
	}
	if (pid == 0) {
		for (int i = 0; i < n && !res.ret; i++) {
			char path[PATH_MAX * 2], sha[65];

			snprintf(path, sizeof(path), "%s/%s", mnt, files[i].path);
			res.ret = od_sha256_file(path, sha);
			if (!res.ret && strcmp(sha, files[i].sha256))
				res.ret = -EILSEQ;
			if (res.ret)
				snprintf(res.path, sizeof(res.path), "%s", path);
		}
		od_report(fd, &res, sizeof(res));
	}
	free(files);
	ret = od_reap_reporter(&pid, &fd, &res, sizeof(res), timeout_ms);
	if (ret == -ETIMEDOUT)
		od_kill_reporter(&pid, &fd);
	if (ret)
		res.ret = ret;
	if (bad && len)
		snprintf(bad, len, "%s", res.path);
	return res.ret;
}

int od_wait_answered(struct od_daemon *d, uint32_t opcode, int timeout_ms)
{
	struct timespec until;
	int left, ret = 0;

	od_deadline(&until, timeout_ms);
	pthread_mutex_lock(&d->lock);
	for (;;) {
		left = 0;
		for (int i = 0; i < d->nrec; i++)
			left += d->rec[i].opcode == opcode && !d->rec[i].answered;
		if (!left || ret == ETIMEDOUT)
			break;
		ret = pthread_cond_timedwait(&d->cond, &d->lock, &until);
	}
	pthread_mutex_unlock(&d->lock);
	return left ? -ETIMEDOUT : 0;
}

int od_answered(struct od_daemon *d, struct od_record *m, int ret)
{
	return od_store_reply(d, m, ret);
}

/* The manifest's sha256 of one file of a fixture; "" if it is not listed. */
const char *od_manifest_sha(const char *fixture, const char *path)
{
	static char sha[65];
	struct od_manifest_entry *m;
	int n = od_manifest_load(fixture, &m);

	sha[0] = 0;
	for (int i = 0; i < n; i++)
		if (!strcmp(m[i].path, path))
			snprintf(sha, sizeof(sha), "%s", m[i].sha256);
	if (n > 0)
		free(m);
	return sha;
}

/*
 * Cache files, the daemon's fds, umount in a child.
 */
#include <dirent.h>

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

int od_umount_start(struct od_mounter *m, const char *mnt)
{
	int ret;

	memset(m, 0, sizeof(*m));
	ret = od_fork_reporter(&m->pid, &m->pipe);
	if (ret)
		return ret;
	if (m->pid == 0) {
		ret = od_umount(mnt);
		od_report(m->pipe, &ret, sizeof(ret));
	}
	return 0;
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
