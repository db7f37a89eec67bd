/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A scriptable cachefiles on-demand daemon for selftests.
 *
 * A test binds a cache, starts the daemon thread and mounts EROFS; every
 * message the kernel sends is recorded, then handed to the test's script,
 * which decides how (or whether) to answer it. Without a script the daemon
 * answers like a correct daemon: OPEN from the blob named by the cookie key,
 * READ with the blob's bytes, CLOSE by closing the anon fd.
 *
 * Every wait takes a timeout in milliseconds; nothing here blocks forever.
 *
 * Names: od_* is this library (harness/od_*.c, built once as libondemand.a):
 * plain C that returns 0 or -errno (or a count) and knows nothing of the
 * kselftest harness.  ods_* (harness/ods.h) is the harness layer on top of
 * it: helpers that take the test's _metadata and EXPECT or ASSERT
 * themselves, and struct ods_env, a test's cache and mount.  A test
 * includes ods.h, which includes this header.  The declarations are
 * grouped by the file that holds them: here the daemon's own, in
 * od_child.h and od_world.h (included at the end) the rest.
 */
#ifndef ODS_ONDEMAND_H
#define ODS_ONDEMAND_H

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <unistd.h>
#include <linux/cachefiles.h>

#define OD_BLOB_DIR	"/fixtures/blobs"
#define OD_CACHE_ROOT	"/cache"
#define OD_MNT_ROOT	"/mnt"
#define OD_BLOCK	4096
#define OD_MAX_RECORDS	(1 << 18)	/* volume.exact.tree: some 48000 READs */
#define OD_MAX_OBJECTS	256
/* a key of up to NAME_MAX bytes (fscache's limit) with its NUL, and one more */
#define OD_KEY_MAX	(NAME_MAX + 2)
/*
 * Bound for any wait on the kernel: ODS_WAIT_MS (od_record.c), which the
 * runner sets to an eighth of the per-test timeout, at least 10 s.  A slow
 * kernel (the debug flavour under TCG on a busy host) gets a longer
 * --timeout, and its waits grow with it: one knob says how slow it is.
 */
#define OD_WAIT_MS	od_wait_ms()
/*
 * Bound for what a correct kernel does at once, where the bug under test
 * makes it never happen: a known failure costs this, not OD_WAIT_MS.
 */
#define OD_PROMPT_MS	(od_wait_ms() / 5)

struct od_record {
	uint32_t msg_id, opcode, len, object_id;
	char volume_key[OD_KEY_MAX];	/* OPEN: as sent, NUL included in size */
	uint32_t volume_key_size;
	char cookie_key[OD_KEY_MAX];	/* OPEN: binary, NUL added here */
	uint32_t cookie_key_size;
	int anon_fd;			/* OPEN */
	uint64_t off, rlen;		/* READ */
	int reply;			/* 0, or -errno the answer got */
	bool answered;
};

enum od_action {
	OD_REPLY,	/* answer as a correct daemon would */
	OD_HOLD,	/* leave pending; the test answers it later */
	OD_DONE,	/* the script answered (or chose silence) itself */
};

struct od_daemon;
typedef enum od_action (*od_script_fn)(struct od_daemon *d,
				       struct od_record *m, void *arg);

struct od_object {
	int object_id;
	int anon_fd;		/* -1 once closed */
	int blob_fd;
	off_t size;
	char key[OD_KEY_MAX];
};

struct od_daemon {
	int dev;
	char cache_dir[PATH_MAX];
	pthread_t thread;
	bool running, paused, stop;
	int wake[2];			/* pipe: stop/pause requests */
	pthread_mutex_t lock;
	pthread_cond_t cond;		/* signalled on every new record */
	struct od_record *rec;
	int nrec;
	struct od_object obj[OD_MAX_OBJECTS];
	int nobj;
	od_script_fn script;
	void *script_arg;
	char error[512];		/* first daemon-side failure, for TH_LOG */
};

/* -- The device and the daemon threads (od_device.c) ----------------------- */

/* Setup: open /dev/cachefiles, "dir", "tag", "bind ondemand". 0 or -errno. */
int od_bind(struct od_daemon *d, const char *cache_dir, const char *tag);
/* The same with a plain "bind": cachefilesd's classic mode, no requests. */
int od_bind_classic(struct od_daemon *d, const char *cache_dir);
/* Each step alone, for tests of the setup itself. */
int od_open_dev(struct od_daemon *d);
/*
 * A device fd the test opened and bound itself becomes this daemon's (it
 * closes it in od_teardown()): 0 or -errno, and the fd is not taken then.
 */
int od_adopt_dev(struct od_daemon *d, int fd);
int od_cmd(struct od_daemon *d, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int od_cmd_raw(struct od_daemon *d, const void *buf, size_t len);

void od_set_script(struct od_daemon *d, od_script_fn fn, void *arg);
int od_start(struct od_daemon *d);
void od_stop(struct od_daemon *d);	/* joins the thread; device stays open */
void od_close_dev(struct od_daemon *d);
/*
 * The daemon dies where it is: its thread stops, its anon fds close, and
 * the READs it held are noted answered (-EPIPE, by the dead daemon); the
 * device stays open, as an fd store keeps it.  How many READs it held.
 */
int od_crash(struct od_daemon *d);
void od_teardown(struct od_daemon *d);	/* stop, close every fd, free */

/* Synchronous use (thread stopped): next message, or -ETIMEDOUT. */
int od_next(struct od_daemon *d, struct od_record **m, int timeout_ms);
int od_poll_in(struct od_daemon *d, int timeout_ms);	/* 1 readable, 0 not */

/* Exactly one read() of /dev/cachefiles: 0 and the record, -ENOMSG if none. */
int od_read_msg(struct od_daemon *d, struct od_record **m);

/*
 * More daemon threads on one daemon: each reads /dev/cachefiles and answers
 * through the daemon's script, concurrently with the others. Stop the pool
 * before od_teardown().
 */
#define OD_POOL_MAX	16
struct od_pool {
	struct od_daemon *d;
	int n;
	int wake[2];
	pthread_t t[OD_POOL_MAX];
};
int od_pool_start(struct od_pool *p, struct od_daemon *d, int n);
void od_pool_stop(struct od_pool *p);

/*
 * Features of the booted kernel, probed by behaviour rather than version:
 * the failover series (2024) brought "restore" and reopen of closed
 * objects; EROFS takes domain_id (shared volumes) from 6.1.
 */
bool od_kernel_has_restore(struct od_daemon *d);

/* -- Answers and objects (od_answer.c) ------------------------------------- */

/* Answers. Each returns 0 or -errno and stores it in m->reply. */
int od_reply(struct od_daemon *d, struct od_record *m);
int od_copen(struct od_daemon *d, uint32_t msg_id, long long size);
int od_write(struct od_daemon *d, int object_id, uint64_t off, uint64_t len);
int od_cread(struct od_daemon *d, int object_id, uint32_t msg_id);
int od_close_anon(struct od_daemon *d, int object_id);
int od_close_anons(struct od_daemon *d);	/* every open one: how many */
struct od_object *od_object(struct od_daemon *d, int object_id);

/*
 * Answer an OPEN from another blob (NULL: the one the cookie key names),
 * reporting size to copen (negative: the blob's own). od_write() then
 * serves up to that size and pads the last block.
 */
int od_open_as(struct od_daemon *d, struct od_record *m, const char *blob,
	       off_t size);

/* Register an OPEN's anon fd and blob like od_open_as(), without the copen. */
int od_object_add(struct od_daemon *d, struct od_record *m, const char *blob,
		  off_t size);

off_t od_blob_size(const char *name);
/* A blob of OD_BLOB_DIR opened read-only: the fd, or -errno. */
int od_blob_open(const char *name);
/* A blob's bytes, malloc'd, their count in *size; NULL on failure. */
char *od_blob_read(const char *name, off_t *size);
/* A new blob of OD_BLOB_DIR: size bytes of buf at offset at, holes before.  0 or -errno. */
int od_blob_write(const char *name, const char *buf, off_t size, off_t at);
/*
 * A script that answers an OPEN by hand, once the mount that sent it (the
 * test thread) waits for it: copen with size (the blob's own with
 * blob_size), the anon fd closed before the copen (close_first) or right
 * after it.  It notes how many OPENs came, od_wait_blocked()'s result and
 * the copen's; other requests are answered as usual.
 */
struct od_open_by_hand {
	long long size;
	bool blob_size, close_first;
	int opens;
	int blocked;		/* 0: the mount waited for its OPEN */
	int ret;		/* what the copen write returned */
	bool done;		/* the script has answered (atomic) */
};
enum od_action od_answer_open_by_hand(struct od_daemon *d, struct od_record *m,
				      void *arg);
/* Until the script has answered: 0, or -ETIMEDOUT. */
int od_open_by_hand_wait(struct od_open_by_hand *h, int timeout_ms);

/*
 * A script for a daemon about to die (od_crash()): each READ's data
 * written, at least min_len bytes from its offset, and its READ_COMPLETE
 * never sent.  arg: a struct od_dying, or NULL for what each READ asks.
 */
struct od_dying {
	uint64_t min_len;
	int held;		/* READs held so far (atomic) */
};
enum od_action od_write_then_hold(struct od_daemon *d, struct od_record *m, void *arg);

/* -- The record of messages and waits on it (od_record.c) ------------------ */

/* The record: counts and waits (all under the daemon lock). */
int od_count(struct od_daemon *d, uint32_t opcode);
int od_wait_count(struct od_daemon *d, uint32_t opcode, int n, int timeout_ms);
struct od_record *od_find(struct od_daemon *d, uint32_t opcode, int nth);
const char *od_opname(uint32_t opcode);

/* Records of an opcode not answered yet (e.g. held), in arrival order. */
int od_pending(struct od_daemon *d, uint32_t opcode, struct od_record **out,
	       int max);

/*
 * Until every record of an opcode is answered: 0, or -ETIMEDOUT.  A reader
 * may finish before the daemon thread has noted its answer.
 */
int od_wait_answered(struct od_daemon *d, uint32_t opcode, int timeout_ms);
/* A script that answered a request itself notes it (and wakes waiters). */
int od_answered(struct od_daemon *d, struct od_record *m, int ret);

/*
 * A script that holds READs while told to, collecting them in arrival
 * order for the test to answer (od_reply) in whatever order it likes;
 * other requests, and READs while not holding, are answered as usual.
 * Race-free against the daemon threads: after od_holder_set(h, 0) every
 * held READ is in the holder, and no more will be.
 */
#define OD_HOLD_MAX	64
struct od_holder {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int hold;
	struct od_record *held[OD_HOLD_MAX];
	int n;
};
void od_holder_init(struct od_holder *h);
enum od_action od_hold_reads(struct od_daemon *d, struct od_record *m, void *arg);
void od_holder_set(struct od_holder *h, int hold);
int od_holder_wait(struct od_holder *h, int n, int timeout_ms);	/* n held, or -ETIMEDOUT */
int od_holder_take(struct od_holder *h, struct od_record **out, int max);

long od_now_ms(void);
/*
 * Poll cond every millisecond until it holds or ms have passed: whether
 * it holds.  For what has no event to wait on (another thread's flag, a
 * state only polling sees).
 */
#define OD_POLL(cond, ms) ({						\
	long _od_poll_end = od_now_ms() + (ms);				\
	bool _od_poll_ok;						\
	while (!(_od_poll_ok = (cond)) && od_now_ms() < _od_poll_end)	\
		usleep(1000);						\
	_od_poll_ok;							\
})
int od_wait_ms(void);

/* the rest of the library, by concern */
#include "od_child.h"
#include "od_world.h"

#endif
