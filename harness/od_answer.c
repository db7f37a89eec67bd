// SPDX-License-Identifier: GPL-2.0
/*
 * Answers and objects: what the daemon opened for each OPEN (the blob that
 * serves it, its anon fd), copen, the writes that serve a READ, cread, the
 * anon fd's close, and od_reply(), the answer of a correct daemon.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "od_private.h"

struct od_object *od_object(struct od_daemon *d, int object_id)
{
	for (int i = d->nobj - 1; i >= 0; i--)
		if (d->obj[i].object_id == object_id)
			return &d->obj[i];
	return NULL;
}

int od_copen(struct od_daemon *d, uint32_t msg_id, long long size)
{
	return od_cmd(d, "copen %u,%lld", msg_id, size);
}

int od_blob_open(const char *name)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", OD_BLOB_DIR, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

off_t od_blob_size(const char *name)
{
	char path[PATH_MAX];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", OD_BLOB_DIR, name);
	return stat(path, &st) ? -errno : st.st_size;
}

char *od_blob_read(const char *name, off_t *size)
{
	int fd = od_blob_open(name);
	char *buf;

	*size = od_blob_size(name);
	buf = fd >= 0 && *size >= 0 ? malloc(*size ?: 1) : NULL;
	if (buf && pread(fd, buf, *size, 0) != *size) {
		free(buf);
		buf = NULL;
	}
	if (fd >= 0)
		close(fd);
	return buf;
}

int od_blob_write(const char *name, const char *buf, off_t size, off_t at)
{
	char path[PATH_MAX];
	int fd, ret = 0;

	snprintf(path, sizeof(path), "%s/%s", OD_BLOB_DIR, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	if (pwrite(fd, buf, size, at) != size)
		ret = -(errno ?: EIO);
	close(fd);
	return ret;
}

/*
 * A full table (a long hammer) reuses the oldest slot whose anon fd is
 * closed: an object the kernel can no longer reach through the daemon.
 * Called with d->lock held.
 */
static struct od_object *od_closed_slot(struct od_daemon *d)
{
	for (int i = 0; i < d->nobj; i++) {
		if (d->obj[i].anon_fd < 0) {
			close(d->obj[i].blob_fd);
			return &d->obj[i];
		}
	}
	return NULL;
}

/*
 * Open a blob (NULL: the one the cookie key names) and register it as the
 * object of an OPEN: 0 with the size od_write() serves up to in *served,
 * or -errno and nothing registered.  With note, a failure is the daemon's
 * own (od_fail()) and comes back as what copen should report: -ENOENT for
 * a missing blob, -ENOSPC for a full object table.
 */
static int od_register(struct od_daemon *d, struct od_record *m, const char *blob,
		       off_t size, bool note, off_t *served)
{
	const char *name = blob ?: m->cookie_key;
	int fd = od_blob_open(name), err;
	struct od_object *o;
	struct stat st;

	if (fd < 0 || fstat(fd, &st)) {
		err = fd < 0 ? -fd : errno;
		if (note)
			od_fail(d, "OPEN %u: no blob %s/%s", m->msg_id, OD_BLOB_DIR, name);
		if (fd >= 0)
			close(fd);
		return note ? -ENOENT : -err;
	}
	pthread_mutex_lock(&d->lock);
	o = d->nobj < OD_MAX_OBJECTS ? &d->obj[d->nobj++] : od_closed_slot(d);
	if (!o) {
		pthread_mutex_unlock(&d->lock);
		close(fd);
		if (note)
			od_fail(d, "more than %d objects with an anon fd", OD_MAX_OBJECTS);
		return -ENOSPC;
	}
	o->object_id = m->object_id;
	/* od_object() finds the newest by position: older closed namesakes go */
	for (int i = o - d->obj + 1; i < d->nobj; i++)
		if (d->obj[i].anon_fd < 0 && d->obj[i].object_id == m->object_id)
			d->obj[i].object_id = 0;
	o->anon_fd = m->anon_fd;
	o->blob_fd = fd;
	/* od_write() serves up to the size reported, padding its last block */
	o->size = size < 0 ? st.st_size : size;
	snprintf(o->key, sizeof(o->key), "%s", m->cookie_key);
	*served = o->size;
	pthread_mutex_unlock(&d->lock);
	return 0;
}

int od_object_add(struct od_daemon *d, struct od_record *m, const char *blob,
		  off_t size)
{
	off_t served;

	return od_register(d, m, blob, size, false, &served);
}

int od_open_as(struct od_daemon *d, struct od_record *m, const char *blob,
	       off_t size)
{
	off_t served;
	int ret = od_register(d, m, blob, size, true, &served);

	return od_store_reply(d, m, od_copen(d, m->msg_id, ret ? ret : served));
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

int od_close_anons(struct od_daemon *d)
{
	int n = 0;

	for (int i = 0; i < d->nobj; i++)
		n += od_close_anon(d, d->obj[i].object_id) == 0;
	return n;
}

enum od_action od_write_then_hold(struct od_daemon *d, struct od_record *m, void *arg)
{
	struct od_dying *dy = arg;

	if (m->opcode != CACHEFILES_OP_READ)
		return OD_REPLY;
	od_write(d, m->object_id, m->off, dy && dy->min_len > m->rlen ? dy->min_len : m->rlen);
	if (dy)
		__atomic_add_fetch(&dy->held, 1, __ATOMIC_RELEASE);
	return OD_HOLD;
}

int od_reply(struct od_daemon *d, struct od_record *m)
{
	int ret = 0;

	switch (m->opcode) {
	case CACHEFILES_OP_OPEN:
		ret = od_open_as(d, m, NULL, -1);
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

enum od_action od_answer_open_by_hand(struct od_daemon *d, struct od_record *m,
				      void *arg)
{
	struct od_open_by_hand *h = arg;
	long long size = h->blob_size ? od_blob_size(m->cookie_key) : h->size;

	if (m->opcode != CACHEFILES_OP_OPEN)
		return OD_REPLY;
	h->opens++;
	h->blocked = od_wait_blocked(getpid(), OD_WAIT_MS);	/* the mount */
	if (h->close_first)
		close(m->anon_fd);
	h->ret = od_copen(d, m->msg_id, size);
	if (!h->close_first)
		close(m->anon_fd);
	od_store_reply(d, m, h->ret);
	__atomic_store_n(&h->done, true, __ATOMIC_RELEASE);
	return OD_DONE;
}

int od_open_by_hand_wait(struct od_open_by_hand *h, int timeout_ms)
{
	long deadline = od_now_ms() + timeout_ms;

	while (!__atomic_load_n(&h->done, __ATOMIC_ACQUIRE)) {
		if (od_now_ms() > deadline)
			return -ETIMEDOUT;
		usleep(1000);
	}
	return 0;
}
