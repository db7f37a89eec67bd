// SPDX-License-Identifier: GPL-2.0
/*
 * Lifecycle and recovery: daemons that crash, hand over, or leave
 * things behind, and caches shared by several mounts.
 *
 * A crashing daemon has to be a process of its own, so these tests fork an
 * "old" daemon that serves the cache until the test tells it (over a pipe)
 * to hold requests or to stop reading; then it is killed.  The guest
 * kernel has no networking, so a device fd is handed over by inheritance:
 * for failover the test binds, forks the old daemon on the shared fd, and
 * keeps its own reference as the fd store.
 */
#include <poll.h>
#include <sys/wait.h>

#include "ods.h"

struct old_daemon {
	pid_t pid;
	int cmd;	/* test -> old daemon: one byte per command */
	int report;	/* old daemon -> test: struct old_msg */
};

/* Commands to the old daemon; it acks each with an old_msg of that type. */
#define OLD_HOLD	'h'	/* take every request from now on, answer none */
#define OLD_PAUSE	'p'	/* stop reading the device */
#define OLD_BOUND	'B'	/* from the old daemon: serving */
#define OLD_HELD	'm'	/* from the old daemon: it took and held rec */

struct old_msg {
	char type;
	struct od_record rec;
};

struct old_state {
	int report;
	bool hold;		/* set by the test thread, read by the daemon's */
};

static int old_send(int fd, char type, const struct od_record *m)
{
	struct old_msg msg = { .type = type };

	if (m)
		msg.rec = *m;
	/* below PIPE_BUF: one write, one message */
	return write(fd, &msg, sizeof(msg)) == sizeof(msg) ? 0 : -EPIPE;
}

/* Report each held request to the test, which decides what became of it. */
static enum od_action old_script(struct od_daemon *d, struct od_record *m,
				 void *arg)
{
	struct old_state *s = arg;

	if (!__atomic_load_n(&s->hold, __ATOMIC_RELAXED))
		return OD_REPLY;
	if (old_send(s->report, OLD_HELD, m))
		_exit(3);
	return OD_HOLD;
}

/*
 * The old daemon: on the device it inherited in d, or (d->dev < 0) on one
 * it binds itself, so that it holds the only reference.
 */
static void __attribute__((noreturn))
old_daemon_main(struct od_daemon *d, const char *cache, int cmd, int report)
{
	struct old_state s = { .report = report };
	char c;

	if (d->dev < 0 && od_bind(d, cache, NULL))
		_exit(1);
	od_set_script(d, old_script, &s);
	if (od_start(d) || old_send(report, OLD_BOUND, NULL))
		_exit(2);
	while (read(cmd, &c, 1) == 1) {
		if (c == OLD_HOLD)
			__atomic_store_n(&s.hold, true, __ATOMIC_RELAXED);
		else if (c == OLD_PAUSE)
			od_stop(d);
		if (old_send(report, c, NULL))
			break;
	}
	_exit(0);
}

static int old_recv(struct old_daemon *o, struct old_msg *msg, int timeout_ms)
{
	struct pollfd p = { .fd = o->report, .events = POLLIN };

	if (poll(&p, 1, timeout_ms) != 1)
		return -ETIMEDOUT;
	return read(o->report, msg, sizeof(*msg)) == sizeof(*msg) ? 0 : -EPIPE;
}

/*
 * Fork the old daemon.  inherit: a bound daemon whose device it shares (the
 * caller must not run its thread), or NULL to bind its own.
 */
static int old_start(struct old_daemon *o, struct od_daemon *inherit,
		     const char *cache)
{
	struct od_daemon own = { .dev = -1 };
	struct old_msg msg;
	int cmd[2], rep[2], ret;

	if (pipe2(cmd, O_CLOEXEC) || pipe2(rep, O_CLOEXEC))
		return -errno;
	o->pid = fork();
	if (o->pid < 0)
		return -errno;
	if (o->pid == 0) {
		close(cmd[1]);
		close(rep[0]);
		old_daemon_main(inherit ?: &own, cache, cmd[0], rep[1]);
	}
	close(cmd[0]);
	close(rep[1]);
	o->cmd = cmd[1];
	o->report = rep[0];
	ret = old_recv(o, &msg, OD_WAIT_MS);
	return ret ?: msg.type == OLD_BOUND ? 0 : -EPROTO;
}

static int old_cmd(struct old_daemon *o, char c)
{
	struct old_msg msg;
	int ret;

	if (write(o->cmd, &c, 1) != 1)
		return -errno;
	ret = old_recv(o, &msg, OD_WAIT_MS);
	return ret ?: msg.type == c ? 0 : -EPROTO;
}

/* The next request the old daemon took and held. */
static int old_held(struct old_daemon *o, struct od_record *m, int timeout_ms)
{
	struct old_msg msg;
	int ret = old_recv(o, &msg, timeout_ms);

	if (ret)
		return ret;
	*m = msg.rec;
	return msg.type == OLD_HELD ? 0 : -EPROTO;
}

/* SIGKILL, and reap with a bound: its fds are released by then. */
static int old_kill(struct old_daemon *o)
{
	long deadline = od_now_ms() + OD_WAIT_MS;
	pid_t pid = o->pid;

	if (pid <= 0)
		return 0;
	kill(pid, SIGKILL);
	while (waitpid(pid, NULL, WNOHANG) == 0) {
		if (od_now_ms() > deadline)
			return -ETIMEDOUT;
		usleep(5000);
	}
	o->pid = -1;
	return 0;
}

static void old_cleanup(struct old_daemon *o)
{
	if (o->pid > 0) {
		kill(o->pid, SIGKILL);
		waitpid(o->pid, NULL, 0);
		o->pid = -1;
	}
	if (o->cmd > 0)
		close(o->cmd);
	if (o->report > 0)
		close(o->report);
	o->cmd = o->report = -1;
}

/*
 * Failover.  The test binds the cache and forks the old daemon on the
 * same device fd, keeping its own reference as an fd store would.  The old
 * daemon takes a request and crashes; its anon fds die with it.  The device
 * stays open, so nothing fails: the waiter keeps waiting.  A request the
 * old daemon had read is invisible until "restore" marks it new; the new
 * daemon (the test) then gets it again under the same msg_id.  A READ
 * whose object lost its anon fd comes after a reopen OPEN.  The waiter
 * ends with the right data.
 */
enum restore_phase { OPEN_TAKEN, READ_TAKEN, READ_QUEUED };

FIXTURE(restore) {
	struct ods_env e;	/* e.d is the new daemon, on the inherited fd */
	struct old_daemon old;
	struct od_reader r;
	struct od_mounter mo;
};

FIXTURE_VARIANT(restore) {
	enum restore_phase phase;
};

FIXTURE_VARIANT_ADD(restore, open_taken) { .phase = OPEN_TAKEN };
FIXTURE_VARIANT_ADD(restore, read_taken) { .phase = READ_TAKEN };
FIXTURE_VARIANT_ADD(restore, read_queued) { .phase = READ_QUEUED };

FIXTURE_SETUP(restore)
{
	struct stat st;

	self->old.cmd = self->old.report = -1;
	self->r.pid = self->mo.pid = -1;
	ods_env_name(&self->e);
	ASSERT_EQ(0, od_bind(&self->e.d, self->e.cache, NULL));
	if (!od_kernel_has_restore(&self->e.d))
		SKIP(return, "no \"restore\": the kernel predates the failover series");
	ASSERT_EQ(0, old_start(&self->old, &self->e.d, NULL));
	if (variant->phase == OPEN_TAKEN)
		return;
	ASSERT_EQ(0, ods_env_mount(&self->e, "plain"));
	ASSERT_EQ(0, stat(ods_path(&self->e, "big-odd"), &st));
}

FIXTURE_TEARDOWN(restore)
{
	od_reader_kill(&self->r);
	od_mount_kill(&self->mo);
	old_cleanup(&self->old);
	ods_down_restarted(_metadata, &self->e);
}

/* Make the old daemon take (or leave queued) the waiter's first request. */
static void take_first(struct __test_metadata *_metadata,
		       FIXTURE_DATA(restore) *self, enum restore_phase phase,
		       struct od_record *held)
{
	ASSERT_EQ(0, old_cmd(&self->old, phase == READ_QUEUED ? OLD_PAUSE : OLD_HOLD));
	if (phase == OPEN_TAKEN) {
		ASSERT_EQ(0, od_mount_start(&self->mo, "plain", NULL, self->e.mnt));
	} else {
		ASSERT_EQ(0, od_reader_start(&self->r, ods_path(&self->e, "big-odd"), 0, -1));
	}
	if (phase == READ_QUEUED) {
		ASSERT_TRUE(od_poll_in(&self->e.d, OD_WAIT_MS)) TH_LOG("no request queued");
		return;
	}
	ASSERT_EQ(0, old_held(&self->old, held, OD_WAIT_MS)) TH_LOG("the old daemon took nothing");
	ASSERT_EQ(phase == OPEN_TAKEN ? CACHEFILES_OP_OPEN : CACHEFILES_OP_READ, held->opcode);
}

static int waiter_wait(FIXTURE_DATA(restore) *self, int timeout_ms, int *result)
{
	int ret;

	if (self->mo.pid > 0) {
		ret = od_mount_wait(&self->mo, timeout_ms);
		*result = self->mo.result;
	} else {
		ret = od_reader_wait(&self->r, timeout_ms);
		*result = self->r.result;
	}
	return ret;
}

TEST_F(restore, new_daemon_takes_over)
{
	struct od_daemon *d = &self->e.d;
	struct od_record held = { 0 }, *m, *open;
	int result;

	/* harnesses before 6.4 run the body after a SKIP in the setup */
	if (ods_test_skipped(_metadata))
		return;
	take_first(_metadata, self, variant->phase, &held);
	ASSERT_EQ(0, old_kill(&self->old)) TH_LOG("the old daemon does not die");
	ASSERT_EQ(-ETIMEDOUT, waiter_wait(self, 300, &result))
		TH_LOG("the waiter ended (%s) while the device was still open",
		       strerror(-result));
	if (variant->phase != READ_QUEUED) {
		EXPECT_FALSE(od_poll_in(d, 300))
			TH_LOG("a taken request came again before \"restore\"");
	}
	ASSERT_EQ(0, od_cmd(d, "restore"));

	/* the object lost its anon fd with the old daemon: OPEN comes first */
	ASSERT_EQ(0, od_next(d, &open, OD_WAIT_MS)) TH_LOG("nothing after restore");
	ASSERT_EQ(CACHEFILES_OP_OPEN, open->opcode) TH_LOG("got %s", od_opname(open->opcode));
	EXPECT_STREQ("erofs,plain", open->volume_key);
	EXPECT_STREQ("plain", open->cookie_key);
	if (variant->phase == OPEN_TAKEN) {
		EXPECT_EQ(held.msg_id, open->msg_id) TH_LOG("not the held OPEN");
	}
	if (held.object_id) {
		EXPECT_NE(held.object_id, open->object_id);
	}
	ASSERT_EQ(0, od_reply(d, open));

	if (variant->phase != OPEN_TAKEN) {
		ASSERT_EQ(0, od_next(d, &m, OD_WAIT_MS)) TH_LOG("the READ did not come again");
		ASSERT_EQ(CACHEFILES_OP_READ, m->opcode) TH_LOG("got %s", od_opname(m->opcode));
		EXPECT_EQ(open->object_id, m->object_id);
		if (variant->phase == READ_TAKEN) {
			EXPECT_EQ(held.msg_id, m->msg_id);
			EXPECT_EQ(held.off, m->off);
			EXPECT_EQ(held.rlen, m->rlen);
		}
		ASSERT_EQ(0, od_reply(d, m));
	}

	ASSERT_EQ(0, od_start(d));
	ASSERT_EQ(0, waiter_wait(self, OD_WAIT_MS, &result)) TH_LOG("the waiter still waits");
	ASSERT_EQ(0, result) TH_LOG("%s", strerror(-result));
	if (variant->phase == OPEN_TAKEN) {
		self->e.mounted = true;
		ASSERT_EQ(0, od_reader_start(&self->r, ods_path(&self->e, "big-odd"), 0, -1));
		ASSERT_EQ(0, od_reader_wait(&self->r, OD_WAIT_MS));
		EXPECT_EQ(0, self->r.result);
	}
	EXPECT_STREQ(od_manifest_sha("plain", "big-odd"), self->r.sha256);
	EXPECT_STREQ("", d->error);

	ASSERT_EQ(0, ods_env_umount(&self->e));
	ASSERT_EQ(0, od_wait_count(d, CACHEFILES_OP_CLOSE, 1, OD_WAIT_MS));
	EXPECT_EQ(open->object_id, od_find(d, CACHEFILES_OP_CLOSE, 0)->object_id);
}

/*
 * F1b. "restore" while the daemon still holds the anon fd of an OPEN it
 * read and has not answered (it restores without having crashed, or an fd
 * store kept the fd across its restart).  restore marks the OPEN new
 * again, but the object has its anon fd already: the second read() of the
 * OPEN refuses to make another one and fails with EEXIST, and that fails
 * the OPEN (cachefiles_ondemand_get_fd()).  No second fd appears; the mount
 * fails (its superblock read waits in cachefiles_prepare_read() on a cold
 * cache, so with EIO); the OPEN cannot be answered any more.  Closing the
 * held fd releases the object, and a new mount works.
 */
FIXTURE(restoreheld) {
	struct ods_env e;
	struct od_mounter mo;
	struct od_reader r;
};

FIXTURE_SETUP(restoreheld)
{
	self->mo.pid = self->r.pid = -1;
	ods_env_name(&self->e);
	ASSERT_EQ(0, od_bind(&self->e.d, self->e.cache, NULL));
	if (!od_kernel_has_restore(&self->e.d))
		SKIP(return, "no \"restore\": the kernel predates the failover series");
}

FIXTURE_TEARDOWN(restoreheld)
{
	od_reader_kill(&self->r);
	ods_down_mounter(_metadata, &self->e, &self->mo);
}

TEST_F(restoreheld, second_read_eexist)
{
	struct od_daemon *d = &self->e.d;
	struct od_record *open, *m;
	int fds, lowest, ret;
	char sha[65];

	if (ods_test_skipped(_metadata))
		return;
	ASSERT_EQ(0, od_mount_start(&self->mo, "plain", NULL, self->e.mnt));
	ASSERT_EQ(0, od_next(d, &open, OD_WAIT_MS)) TH_LOG("the mount sent no OPEN");
	ASSERT_EQ(CACHEFILES_OP_OPEN, open->opcode);
	ASSERT_EQ(0, od_wait_blocked(self->mo.pid, OD_WAIT_MS)) TH_LOG("the mount does not wait");
	ASSERT_EQ(0, od_cmd(d, "restore"));
	ASSERT_TRUE(od_poll_in(d, OD_WAIT_MS)) TH_LOG("restore did not requeue the OPEN");

	fds = od_fd_count();
	lowest = od_fd_lowest_free();
	ret = od_read_msg(d, &m);
	EXPECT_EQ(-EEXIST, ret) TH_LOG("read() of the OPEN again: %s",
				       ret ? strerror(-ret) : od_opname(m->opcode));
	EXPECT_EQ(fds, od_fd_count()) TH_LOG("a second anon fd for the object");
	EXPECT_EQ(lowest, od_fd_lowest_free());

	ASSERT_EQ(0, od_mount_wait(&self->mo, OD_WAIT_MS)) TH_LOG("the mount hangs");
	EXPECT_EQ(-EIO, self->mo.result) TH_LOG("mount: %s", strerror(-self->mo.result));
	self->e.mounted = !self->mo.result;
	EXPECT_EQ(-EINVAL, od_copen(d, open->msg_id, od_blob_size("plain")))
		TH_LOG("the failed OPEN %u is still answerable", open->msg_id);
	EXPECT_FALSE(od_poll_in(d, 0)) TH_LOG("something more after the failed OPEN");

	/* the held fd still names the object; closing it lets go of it */
	EXPECT_EQ(0, close(open->anon_fd));
	ASSERT_EQ(0, od_start(d));
	if (!self->e.mounted)
		ASSERT_EQ(0, ods_env_mount(&self->e, "plain"));
	ASSERT_EQ(0, od_sha256_file(ods_path(&self->e, "big-odd"), sha));
	EXPECT_STREQ(od_manifest_sha("plain", "big-odd"), sha);
	ASSERT_EQ(0, ods_env_umount(&self->e));
	ASSERT_EQ(0, od_wait_count(d, CACHEFILES_OP_CLOSE, 1, OD_WAIT_MS));
	EXPECT_STREQ("", d->error);
	od_teardown(d);
	EXPECT_EQ(0, od_wait_dev_free(OD_WAIT_MS)) TH_LOG("the refused OPEN left a pin");
}

/*
 * The same daemon takes a READ, restores, and only then closes the READ's
 * anon fd (it drops a stale fd after its restart).  Closing the fd flushes
 * nothing but a queued CLOSE (cachefiles_ondemand_fd_release()): the
 * requeued READ stays, and comes again after a reopen OPEN, under its
 * msg_id and for the reopened object; the reader gets the right bytes.
 */
TEST_F(restoreheld, read_then_close)
{
	struct od_daemon *d = &self->e.d;
	struct od_record *read, *open, *m;
	struct od_reader *r = &self->r;
	struct stat st;
	int first;

	if (ods_test_skipped(_metadata))
		return;
	ASSERT_EQ(0, od_start(d));
	ASSERT_EQ(0, ods_env_mount(&self->e, "plain"));
	ASSERT_EQ(0, stat(ods_path(&self->e, "big-odd"), &st));
	first = od_find(d, CACHEFILES_OP_OPEN, 0)->object_id;
	od_stop(d);

	ASSERT_EQ(0, od_reader_start(r, ods_path(&self->e, "big-odd"), 0, -1));
	ASSERT_EQ(0, od_next(d, &read, OD_WAIT_MS)) TH_LOG("the read sent no READ");
	ASSERT_EQ(CACHEFILES_OP_READ, read->opcode);
	ASSERT_EQ(0, od_cmd(d, "restore"));
	ASSERT_EQ(0, od_close_anon(d, first));

	ASSERT_EQ(0, od_next(d, &open, OD_WAIT_MS)) TH_LOG("nothing after the close");
	ASSERT_EQ(CACHEFILES_OP_OPEN, open->opcode) TH_LOG("got %s", od_opname(open->opcode));
	EXPECT_STREQ("plain", open->cookie_key);
	EXPECT_NE(first, open->object_id);
	ASSERT_EQ(0, od_reply(d, open));
	ASSERT_EQ(0, od_next(d, &m, OD_WAIT_MS)) TH_LOG("the READ was lost");
	ASSERT_EQ(CACHEFILES_OP_READ, m->opcode) TH_LOG("got %s", od_opname(m->opcode));
	EXPECT_EQ(read->msg_id, m->msg_id);
	EXPECT_EQ(read->off, m->off);
	EXPECT_EQ(read->rlen, m->rlen);
	EXPECT_EQ(open->object_id, m->object_id);
	ASSERT_EQ(0, od_reply(d, m));

	ASSERT_EQ(0, od_start(d));
	ASSERT_EQ(0, od_reader_wait(r, OD_WAIT_MS)) TH_LOG("the reader hangs");
	EXPECT_EQ(0, r->result) TH_LOG("reader: %s", strerror(-r->result));
	EXPECT_STREQ(od_manifest_sha("plain", "big-odd"), r->sha256);
	EXPECT_STREQ("", d->error);
}

/*
 * The daemon is killed outright, device and all, while readers wait:
 * every waiter fails, and once the cache is withdrawn (the device is free
 * again) a later miss fails with the kernel's errno for a gone cache,
 * which tells what the waiters may get: EIO, or that errno if they raced
 * the withdrawal (ods_expect_cache_gone()).  Then the same cache directory
 * can be bound and used again.
 */
FIXTURE(daemonkill) {
	struct ods_env e;	/* the mount, then the rebound cache */
	struct old_daemon old;
	struct od_reader r[2];
};

FIXTURE_VARIANT(daemonkill) {
	bool taken;	/* the daemon read the READs before it died */
};

FIXTURE_VARIANT_ADD(daemonkill, read_queued) { .taken = false };
FIXTURE_VARIANT_ADD(daemonkill, read_taken) { .taken = true };

static const char *const killed_files[] = { "big-odd", "tens-of-blocks" };

FIXTURE_SETUP(daemonkill)
{
	struct stat st;

	self->old.cmd = self->old.report = -1;
	self->r[0].pid = self->r[1].pid = -1;
	ods_env_name(&self->e);
	ASSERT_EQ(0, old_start(&self->old, NULL, self->e.cache));
	ASSERT_EQ(0, ods_env_mount(&self->e, "plain"));
	for (int i = 0; i < 2; i++) {
		ASSERT_EQ(0, stat(ods_path(&self->e, killed_files[i]), &st));
	}
}

FIXTURE_TEARDOWN(daemonkill)
{
	for (int i = 0; i < 2; i++)
		od_reader_kill(&self->r[i]);
	old_cleanup(&self->old);
	if (self->e.mounted && ods_env_umount(&self->e))
		umount2(self->e.mnt, MNT_DETACH);
	self->e.mounted = false;
	ods_down(_metadata, &self->e);
}

TEST_F(daemonkill, readers_fail_cache_rebinds)
{
	struct od_reader late = { .pid = -1 };
	struct od_record held;
	char sha[65];

	ASSERT_EQ(0, old_cmd(&self->old, variant->taken ? OLD_HOLD : OLD_PAUSE));
	for (int i = 0; i < 2; i++) {
		ASSERT_EQ(0, od_reader_start(&self->r[i],
					     ods_path(&self->e, killed_files[i]), 0, -1));
	}
	for (int i = 0; i < 2 && variant->taken; i++) {
		ASSERT_EQ(0, old_held(&self->old, &held, OD_WAIT_MS));
		ASSERT_EQ(CACHEFILES_OP_READ, held.opcode);
	}
	for (int i = 0; i < 2; i++) {
		ASSERT_EQ(-ETIMEDOUT, od_reader_wait(&self->r[i], 300))
			TH_LOG("reader %d did not wait for the daemon", i);
	}

	ASSERT_EQ(0, old_kill(&self->old)) TH_LOG("the daemon does not die");
	for (int i = 0; i < 2; i++) {
		ASSERT_EQ(0, od_reader_wait(&self->r[i], OD_WAIT_MS))
			TH_LOG("reader %d still waits for a dead daemon", i);
	}
	ASSERT_EQ(0, od_wait_dev_free(OD_WAIT_MS)) TH_LOG("the dead cache is never released");
	ASSERT_EQ(0, od_reader_start(&late, ods_path(&self->e, "odd-tail"), 0, -1));
	ASSERT_EQ(0, od_reader_wait(&late, OD_WAIT_MS)) TH_LOG("a later miss hangs");
	ods_expect_cache_gone(_metadata, late.result, "a miss after the withdrawal");
	for (int i = 0; i < 2; i++) {
		/* a waiter's retry that found the cache dead, not yet gone: EIO */
		EXPECT_TRUE(self->r[i].result == -EIO || self->r[i].result == late.result)
			TH_LOG("reader %d: %s, not EIO or %s", i, strerror(-self->r[i].result),
			       strerror(-late.result));
	}

	ASSERT_EQ(0, ods_env_umount(&self->e));
	ASSERT_EQ(0, ods_up(&self->e)) TH_LOG("the cache cannot be bound again");
	ASSERT_EQ(0, ods_env_mount(&self->e, "plain"));
	for (int i = 0; i < 2; i++) {
		ASSERT_EQ(0, od_sha256_file(ods_path(&self->e, killed_files[i]), sha));
		EXPECT_STREQ(od_manifest_sha("plain", killed_files[i]), sha);
	}
	EXPECT_STREQ("", self->e.d.error);
}

/*
 * The daemon closes the device but keeps its anon fds.  They pin the
 * dead cache (the device cannot be opened again), and closing them later,
 * before or after the umount, releases everything without a hang.
 */
FIXTURE(devgone) {
	struct ods_env e;
	struct od_reader r;
};

FIXTURE_VARIANT(devgone) {
	bool umount_first;
};

FIXTURE_VARIANT_ADD(devgone, anon_then_umount) { .umount_first = false };
FIXTURE_VARIANT_ADD(devgone, umount_then_anon) { .umount_first = true };

FIXTURE_SETUP(devgone)
{
	char sha[65];

	self->r.pid = -1;
	ASSERT_EQ(0, ods_up(&self->e));
	ASSERT_EQ(0, ods_env_mount(&self->e, "plain"));
	ASSERT_EQ(0, od_sha256_file(ods_path(&self->e, "tens-of-blocks"), sha));
	od_stop(&self->e.d);
}

FIXTURE_TEARDOWN(devgone)
{
	od_reader_kill(&self->r);
	ods_down(_metadata, &self->e);
}

TEST_F(devgone, anon_fds_closed_late)
{
	struct od_daemon *d = &self->e.d;

	od_close_dev(d);
	EXPECT_EQ(-EBUSY, od_wait_dev_free(0)) TH_LOG("the anon fds do not pin the cache");
	if (variant->umount_first) {
		ASSERT_EQ(0, ods_env_umount(&self->e));
		EXPECT_EQ(-EBUSY, od_wait_dev_free(300))
			TH_LOG("the anon fds do not pin the cache after umount");
	}
	ASSERT_EQ(1, od_close_anons(d));
	EXPECT_EQ(0, od_wait_dev_free(OD_WAIT_MS)) TH_LOG("closing the anon fds released nothing");
	if (variant->umount_first)
		return;

	/* the cache was withdrawn under the mount: misses fail, umount works */
	ASSERT_EQ(0, od_reader_start(&self->r, ods_path(&self->e, "big-odd"), 0, -1));
	ASSERT_EQ(0, od_reader_wait(&self->r, OD_WAIT_MS)) TH_LOG("a miss hangs");
	ods_expect_cache_gone(_metadata, self->r.result, "a miss on the withdrawn cache");
	EXPECT_EQ(0, ods_env_umount(&self->e));
}

/*
 * The device closes while the daemon holds a READ it has read (demand-
 * read-cachefilesd test11); the daemon then still writes the range
 * through the anon fd and completes the READ (cachefiles_ondemand_fd_write_iter()
 * and _fd_ioctl() on a dead cache, the area of the 2024 fixes), and
 * closes the fd last.  The release failed the READ: the write ends at
 * once (a clean errno, or taken), READ_COMPLETE finds no request
 * (EINVAL), the reader fails (EIO, or the errno of a gone cache); closing
 * the fd releases the cache, and the same cache directory bound again
 * serves the file right.
 */
FIXTURE(deadio) {
	struct ods_env e;
	struct od_reader r;
};

FIXTURE_SETUP(deadio)
{
	struct stat st;

	self->r.pid = -1;
	ASSERT_EQ(0, ods_up(&self->e));
	ASSERT_EQ(0, ods_env_mount(&self->e, "plain"));
	ASSERT_EQ(0, stat(ods_path(&self->e, "big-odd"), &st));
	od_stop(&self->e.d);
}

FIXTURE_TEARDOWN(deadio)
{
	od_reader_kill(&self->r);
	if (self->e.mounted && ods_env_umount(&self->e))
		umount2(self->e.mnt, MNT_DETACH);
	self->e.mounted = false;
	ods_down(_metadata, &self->e);
}

TEST_F(deadio, write_and_complete_after_close)
{
	struct od_daemon *d = &self->e.d;
	struct od_record *read;
	long t0;
	int ret;
	char sha[65];

	ASSERT_EQ(0, od_reader_start(&self->r, ods_path(&self->e, "big-odd"), 0, -1));
	ASSERT_EQ(0, od_next(d, &read, OD_WAIT_MS)) TH_LOG("the read sent no request");
	ASSERT_EQ(CACHEFILES_OP_READ, read->opcode);
	od_close_dev(d);

	t0 = od_now_ms();
	ret = od_write(d, read->object_id, read->off, read->rlen);
	TH_LOG("the write on the dead cache: %s", ret ? strerror(-ret) : "taken");
	EXPECT_TRUE(ret == 0 || ret == -ENOBUFS || ret == -EIO) TH_LOG("write: %s", strerror(-ret));
	/* the device's release failed the READ (cachefiles_flush_reqs()) */
	ret = od_cread(d, read->object_id, read->msg_id);
	EXPECT_EQ(-EINVAL, ret) TH_LOG("READ_COMPLETE on the dead cache: %s",
				      ret ? strerror(-ret) : "taken");
	EXPECT_GT(OD_PROMPT_MS, od_now_ms() - t0) TH_LOG("the anon fd blocked on the dead cache");

	ASSERT_EQ(0, od_reader_wait(&self->r, OD_WAIT_MS)) TH_LOG("the reader still waits");
	ods_expect_cache_gone(_metadata, self->r.result, "the reader");
	od_close_anons(d);
	ASSERT_EQ(0, od_wait_dev_free(OD_WAIT_MS)) TH_LOG("closing the anon fds released nothing");

	ASSERT_EQ(0, ods_env_umount(&self->e));
	ASSERT_EQ(0, ods_up(&self->e)) TH_LOG("the cache cannot be bound again");
	ASSERT_EQ(0, ods_env_mount(&self->e, "plain"));
	ASSERT_EQ(0, od_sha256_file(ods_path(&self->e, "big-odd"), sha));
	EXPECT_STREQ(od_manifest_sha("plain", "big-odd"), sha);
	EXPECT_STREQ("", d->error);
}

/*
 * A second mount on the same cache while the first is mounted: another
 * fsid, or the same fsid in a domain, is a volume of its own and works; the
 * same fsid again collides with the mounted volume (EBUSY).  Then the first
 * is unmounted and mounted again, with the second still there: it comes
 * back with a new OPEN and is served from the warm cache without READs.
 */
FIXTURE(secondmount) {
	struct ods_env e;
	char mnt2[PATH_MAX];
	bool mounted2;
};

FIXTURE_VARIANT(secondmount) {
	const char *fsid;
	const char *domain;
	int ret;	/* the second mount, while the first is there */
};

FIXTURE_VARIANT_ADD(secondmount, other_fsid) { "inline", NULL, 0 };
FIXTURE_VARIANT_ADD(secondmount, same_fsid_domain) { "plain", "odsdom", 0 };
FIXTURE_VARIANT_ADD(secondmount, same_fsid) { "plain", NULL, -EBUSY };

FIXTURE_SETUP(secondmount)
{
	char sha[65];

	if (variant->domain)
		ods_need_domain_id(_metadata);
	ASSERT_EQ(0, ods_up(&self->e));
	ASSERT_EQ(0, ods_env_mount(&self->e, "plain"));
	ASSERT_EQ(0, od_sha256_file(ods_path(&self->e, "big-odd"), sha));
	snprintf(self->mnt2, sizeof(self->mnt2), "%s-2", self->e.mnt);
}

FIXTURE_TEARDOWN(secondmount)
{
	if (ods_test_skipped(_metadata))
		return;
	if (self->mounted2 && od_umount(self->mnt2))
		umount2(self->mnt2, MNT_DETACH);
	rmdir(self->mnt2);
	ods_down(_metadata, &self->e);
}

static void check_open(struct __test_metadata *_metadata, struct od_record *m,
		       const char *fsid, const char *domain)
{
	char vkey[OD_KEY_MAX];

	ASSERT_NE(NULL, m);
	snprintf(vkey, sizeof(vkey), "erofs,%s", domain ?: fsid);
	EXPECT_STREQ(vkey, m->volume_key);
	EXPECT_STREQ(fsid, m->cookie_key);
	EXPECT_EQ(0, m->reply);
}

TEST_F(secondmount, while_mounted_then_remount)
{
	struct od_daemon *d = &self->e.d;
	int refused = od_klog_count("failed to register volume for erofs,plain");
	struct od_record *first = od_find(d, CACHEFILES_OP_OPEN, 0), *m;
	const char *remount;
	int ret, reads;

	/* harnesses before 6.4 run the body after a SKIP in the setup */
	if (ods_test_skipped(_metadata))
		return;

	ret = od_mount(variant->fsid, variant->domain, self->mnt2);
	self->mounted2 = !ret;
	ASSERT_EQ(variant->ret, ret) TH_LOG("second mount: %s", strerror(-ret));
	if (!ret) {
		check_open(_metadata, od_find(d, CACHEFILES_OP_OPEN, 1),
			   variant->fsid, variant->domain);
		EXPECT_NE(first->object_id, od_find(d, CACHEFILES_OP_OPEN, 1)->object_id);
		ods_expect_image(_metadata, self->mnt2, variant->fsid);
	} else {
		EXPECT_EQ(1, od_count(d, CACHEFILES_OP_OPEN)) TH_LOG("the refused mount sent OPEN");
		EXPECT_LT(refused, od_klog_count("failed to register volume for erofs,plain"));
	}
	ods_expect_image(_metadata, self->e.mnt, "plain");

	/* the first goes; its object gets the only CLOSE */
	ASSERT_EQ(0, ods_env_umount(&self->e));
	ASSERT_EQ(0, od_wait_count(d, CACHEFILES_OP_CLOSE, 1, OD_WAIT_MS));
	EXPECT_EQ(first->object_id, od_find(d, CACHEFILES_OP_CLOSE, 0)->object_id);

	/*
	 * Mount "plain" again: where it was refused, or the first's place.
	 * Everything was read once, so the warm cache serves it all.
	 */
	reads = od_count(d, CACHEFILES_OP_READ);
	if (self->mounted2) {
		ASSERT_EQ(0, ods_env_mount(&self->e, "plain"));
		remount = self->e.mnt;
	} else {
		ASSERT_EQ(0, od_mount(variant->fsid, variant->domain, self->mnt2));
		self->mounted2 = true;
		remount = self->mnt2;
	}
	m = od_find(d, CACHEFILES_OP_OPEN, od_count(d, CACHEFILES_OP_OPEN) - 1);
	check_open(_metadata, m, "plain", NULL);
	EXPECT_NE(first->object_id, m->object_id);
	ods_expect_image(_metadata, remount, "plain");
	EXPECT_EQ(reads, od_count(d, CACHEFILES_OP_READ)) TH_LOG("warm cache, yet READs");
	ods_expect_image(_metadata, self->mnt2, variant->fsid);

	if (self->e.mounted) {
		ASSERT_EQ(0, ods_env_umount(&self->e));
	}
	ASSERT_EQ(0, od_umount(self->mnt2));
	self->mounted2 = false;
	ASSERT_EQ(0, od_wait_count(d, CACHEFILES_OP_CLOSE, od_count(d, CACHEFILES_OP_OPEN),
				   OD_WAIT_MS)) TH_LOG("an object got no CLOSE");
	EXPECT_EQ(od_count(d, CACHEFILES_OP_OPEN), od_count(d, CACHEFILES_OP_CLOSE));
	EXPECT_STREQ("", d->error);
}

ODS_MAIN
