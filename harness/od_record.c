// SPDX-License-Identifier: GPL-2.0
/*
 * The record of messages: every message the daemon read, parsed, with the
 * answer it got; counts of it and bounded waits on it, and the holder, a
 * script that keeps READs back for the test to answer in its own order.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "od_private.h"

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

int od_wait_ms(void)
{
	static int ms;

	if (!ms) {
		const char *e = getenv("ODS_WAIT_MS");

		ms = e && atoi(e) > 0 ? atoi(e) : 10000;
	}
	return ms;
}

void od_fail(struct od_daemon *d, const char *fmt, ...)
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

/* Parse one message into the record, under the lock. */
struct od_record *od_record_msg(struct od_daemon *d, const char *buf, ssize_t n)
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

int od_store_reply(struct od_daemon *d, struct od_record *m, int ret)
{
	pthread_mutex_lock(&d->lock);
	m->reply = ret;
	m->answered = true;
	pthread_cond_broadcast(&d->cond);
	pthread_mutex_unlock(&d->lock);
	return ret;
}

int od_answered(struct od_daemon *d, struct od_record *m, int ret)
{
	return od_store_reply(d, m, ret);
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

/*
 * Until the records of an opcode (pending: those not answered yet) are at
 * least n (pending: at most n): 0, or -ETIMEDOUT.
 */
static int od_wait_records(struct od_daemon *d, uint32_t opcode, bool pending,
			   int n, int timeout_ms)
{
	struct timespec until;
	int have, ret = 0;
	bool done;

	od_deadline(&until, timeout_ms);
	pthread_mutex_lock(&d->lock);
	for (;;) {
		have = 0;
		for (int i = 0; i < d->nrec; i++)
			have += d->rec[i].opcode == opcode &&
				(!pending || !d->rec[i].answered);
		done = pending ? have <= n : have >= n;
		if (done || ret == ETIMEDOUT)
			break;
		ret = pthread_cond_timedwait(&d->cond, &d->lock, &until);
	}
	pthread_mutex_unlock(&d->lock);
	return done ? 0 : -ETIMEDOUT;
}

int od_wait_count(struct od_daemon *d, uint32_t opcode, int n, int timeout_ms)
{
	return od_wait_records(d, opcode, false, n, timeout_ms);
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

int od_wait_answered(struct od_daemon *d, uint32_t opcode, int timeout_ms)
{
	return od_wait_records(d, opcode, true, 0, timeout_ms);
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
