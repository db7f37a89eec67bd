// SPDX-License-Identifier: GPL-2.0
/*
 * Premature anon-fd close.  Two kernel behaviours exist and each is
 * checked exactly: 5.19 fails the object's pending READs with EIO; kernels
 * with the 2024 failover series (which also added "restore") keep them and
 * reopen the object with a new OPEN before handing the READ out again.
 * Which one to expect is decided by probing "restore", independently of
 * what the close then does, so a kernel that does neither fails.
 */
#include "ods.h"

FIXTURE(anonclose) {
	struct ods_env e;
	struct od_reader r;
	bool failover;
};

FIXTURE_VARIANT(anonclose) {
	const char *fixture;
	/* the anon fd dup'd first, and one of the two closed */
	enum { NO_DUP, CLOSE_DUP, CLOSE_ORIGINAL } dup;
};

FIXTURE_VARIANT_ADD(anonclose, plain) { .fixture = "plain" };
FIXTURE_VARIANT_ADD(anonclose, inline) { .fixture = "inline" };
/*
 * One close of a dup'd anon fd drops a reference to the file, not the
 * file: cachefiles_ondemand_fd_release() runs at the last fput() only
 * (fs/cachefiles/ondemand.c:18, ->release), so the object stays open and
 * a new miss is a READ served through the other fd, not a reopen.  The
 * close of that last fd is then the usual premature close.
 */
FIXTURE_VARIANT_ADD(anonclose, plain_dup_closed) { "plain", CLOSE_DUP };
FIXTURE_VARIANT_ADD(anonclose, plain_original_closed) { "plain", CLOSE_ORIGINAL };

FIXTURE_SETUP(anonclose)
{
	ASSERT_EQ(0, ods_up(&self->e));
	ASSERT_EQ(0, ods_env_mount(&self->e, variant->fixture));
	od_stop(&self->e.d);
	self->failover = od_kernel_has_restore(&self->e.d);
	TH_LOG("expecting %s semantics", self->failover ?
	       "failover (reopen with a new OPEN)" : "5.19 (pending READs fail with EIO)");
}

FIXTURE_TEARDOWN(anonclose)
{
	od_reader_kill(&self->r);
	ods_down(_metadata, &self->e);
}

/* Dup the object's anon fd, close one of the two: the object stays open. */
static void close_one_of_two(struct __test_metadata *_metadata, FIXTURE_DATA(anonclose) *self,
			     const FIXTURE_VARIANT(anonclose) *variant, int object_id)
{
	struct od_daemon *d = &self->e.d;
	struct od_object *o = od_object(d, object_id);
	int opens = od_count(d, CACHEFILES_OP_OPEN), reads = od_count(d, CACHEFILES_OP_READ);
	int fd = dup(o->anon_fd);
	char sha[65];

	ASSERT_LE(0, fd);
	if (variant->dup == CLOSE_ORIGINAL) {
		close(o->anon_fd);
		o->anon_fd = fd;
	} else {
		close(fd);
	}
	ASSERT_EQ(0, od_start(d));
	EXPECT_EQ(0, od_sha256_file(ods_path(&self->e, "tens-of-blocks"), sha));
	od_stop(d);
	EXPECT_STREQ(od_manifest_sha(variant->fixture, "tens-of-blocks"), sha);
	EXPECT_LT(reads, od_count(d, CACHEFILES_OP_READ)) TH_LOG("no READ: this proves nothing");
	EXPECT_EQ(opens, od_count(d, CACHEFILES_OP_OPEN))
		TH_LOG("one of two fds closed, the object was reopened");
}

TEST_F(anonclose, with_read_pending)
{
	struct od_daemon *d = &self->e.d;
	struct od_record *open = od_find(d, CACHEFILES_OP_OPEN, 0), *m;

	ASSERT_NE(NULL, open);
	if (variant->dup)
		close_one_of_two(_metadata, self, variant, open->object_id);
	ASSERT_EQ(0, od_reader_start(&self->r, ods_path(&self->e, "big-odd"), 0, -1));
	ASSERT_TRUE(od_poll_in(d, OD_WAIT_MS)) TH_LOG("the read sent no request");
	ASSERT_EQ(0, od_close_anon(d, open->object_id));

	if (!self->failover) {
		ASSERT_EQ(0, od_reader_wait(&self->r, OD_WAIT_MS))
			TH_LOG("the pending READ was not failed");
		EXPECT_EQ(-EIO, self->r.result);
		return;
	}

	/* the queued READ turns into a reopen: a new OPEN of the same cookie */
	ASSERT_EQ(0, od_next(d, &m, OD_WAIT_MS)) TH_LOG("no OPEN to reopen the object");
	ASSERT_EQ(CACHEFILES_OP_OPEN, m->opcode) TH_LOG("got %s", od_opname(m->opcode));
	EXPECT_STREQ(open->cookie_key, m->cookie_key);
	EXPECT_STREQ(open->volume_key, m->volume_key);
	EXPECT_NE(open->object_id, m->object_id);
	ASSERT_EQ(0, od_reply(d, m));

	/* then the READ itself, on the new object */
	ASSERT_EQ(0, od_next(d, &m, OD_WAIT_MS)) TH_LOG("the READ was not handed out again");
	ASSERT_EQ(CACHEFILES_OP_READ, m->opcode) TH_LOG("got %s", od_opname(m->opcode));
	EXPECT_EQ(od_find(d, CACHEFILES_OP_OPEN, 1)->object_id, m->object_id);
	ASSERT_EQ(0, od_reply(d, m));

	ASSERT_EQ(0, od_start(d));
	ASSERT_EQ(0, od_reader_wait(&self->r, OD_WAIT_MS));
	EXPECT_EQ(0, self->r.result);
	EXPECT_STREQ(od_manifest_sha(variant->fixture, "big-odd"), self->r.sha256);
	EXPECT_STREQ("", d->error);
}

/*
 * The daemon closes the anon fd of an OPEN before it sends copen.  The
 * copen itself is accepted (the id names a pending OPEN), but the kernel
 * sees the object closed and fails the OPEN with EBADFD.  The mount only
 * sees the failed lookup.  On a cold cache the lookup is creating the
 * cache file (cookie CREATING), which lets the superblock read past
 * fscache_begin_operation() to wait for the file: it finds none and EROFS
 * fails the read with EIO.  On a warm cache the read waits in
 * fscache_begin_operation() and gets ENOBUFS for the failed cookie.  The
 * script answers only once the mount sleeps, so that the order is fixed.
 * No CLOSE may follow for an object that was never open, and the cache
 * must stay usable and release everything at the end.
 */
FIXTURE(anonearly) {
	struct ods_env e;
};

FIXTURE_VARIANT(anonearly) {
	bool warm;	/* the blob's cache file exists already */
	int mount;	/* what the mount must fail with */
};

FIXTURE_VARIANT_ADD(anonearly, cold) { .warm = false, .mount = -EIO };
FIXTURE_VARIANT_ADD(anonearly, warm) { .warm = true, .mount = -ENOBUFS };

FIXTURE_SETUP(anonearly)
{
	ASSERT_EQ(0, ods_up(&self->e));
	if (!variant->warm)
		return;
	ASSERT_EQ(0, ods_env_mount(&self->e, "plain"));
	ASSERT_EQ(0, ods_env_umount(&self->e));
	ASSERT_EQ(0, od_wait_count(&self->e.d, CACHEFILES_OP_CLOSE, 1, OD_WAIT_MS));
}

FIXTURE_TEARDOWN(anonearly)
{
	ods_down(_metadata, &self->e);
}

TEST_F(anonearly, close_before_copen)
{
	struct od_daemon *d = &self->e.d;
	/* the anon fd is closed before the copen, which reports the blob's size */
	struct od_open_by_hand st = { .blob_size = true, .close_first = true, .ret = 1 };
	int opens = od_count(d, CACHEFILES_OP_OPEN);
	int closes = od_count(d, CACHEFILES_OP_CLOSE);

	od_set_script(d, od_answer_open_by_hand, &st);
	EXPECT_EQ(variant->mount, ods_env_mount(&self->e, "plain"))
		TH_LOG("the mount must fail when its OPEN's anon fd was closed");
	/* the mount may return before the daemon's copen write does */
	ASSERT_EQ(0, od_open_by_hand_wait(&st, OD_WAIT_MS)) TH_LOG("the daemon never answered");
	EXPECT_EQ(1, st.opens);
	EXPECT_EQ(0, st.ret) TH_LOG("copen of a pending OPEN is accepted");
	EXPECT_EQ(0, st.blocked) TH_LOG("the mount did not wait for its OPEN");

	/* a well-behaved daemon then mounts the same blob on the same cache */
	ods_expect_remount_one_close(_metadata, &self->e, "plain", "block-plus-1",
				     opens, closes);

	/* nothing pins the cache once the daemon lets go of it */
	od_teardown(d);
	EXPECT_EQ(0, od_wait_dev_free(OD_WAIT_MS))
		TH_LOG("/dev/cachefiles still busy: the failed OPEN leaked a pin");
}

/*
 * The daemon keeps the anon fd after CLOSE (umount withdrew the
 * object).  The object's cache file is gone, so writes and seeks through
 * the stale fd fail with ENOBUFS instead of touching freed state.  The
 * withdrawal runs in a worker after the CLOSE was read, hence the bounded
 * retry.
 */
enum gone_op { GONE_PWRITE, GONE_LSEEK };

FIXTURE(anongone) {
	struct ods_env e;
	int object_id;
};

FIXTURE_VARIANT(anongone) {
	enum gone_op op;
};

FIXTURE_VARIANT_ADD(anongone, pwrite) { .op = GONE_PWRITE };
FIXTURE_VARIANT_ADD(anongone, lseek) { .op = GONE_LSEEK };

static enum od_action keep_anon_fd(struct od_daemon *d, struct od_record *m,
				   void *arg)
{
	return m->opcode == CACHEFILES_OP_CLOSE ? OD_DONE : OD_REPLY;
}

FIXTURE_SETUP(anongone)
{
	char sha[65];

	ASSERT_EQ(0, ods_up(&self->e));
	ASSERT_EQ(0, ods_env_mount(&self->e, "plain"));
	ASSERT_EQ(0, od_sha256_file(ods_path(&self->e, "odd-tail"), sha));
	self->object_id = od_find(&self->e.d, CACHEFILES_OP_OPEN, 0)->object_id;
	od_set_script(&self->e.d, keep_anon_fd, NULL);
}

FIXTURE_TEARDOWN(anongone)
{
	ods_down(_metadata, &self->e);
}

static int gone_try(struct od_daemon *d, int object_id, enum gone_op op)
{
	struct od_object *o = od_object(d, object_id);

	if (op == GONE_PWRITE)	/* the blob's own first block: harmless */
		return od_write(d, object_id, 0, OD_BLOCK);
	return lseek(o->anon_fd, 0, SEEK_DATA) < 0 ? -errno : 0;
}

TEST_F(anongone, stale_fd_enobufs)
{
	struct od_daemon *d = &self->e.d;
	long deadline;
	int ret;

	ASSERT_EQ(0, gone_try(d, self->object_id, variant->op))
		TH_LOG("the anon fd does not work while the object lives");
	ASSERT_EQ(0, ods_env_umount(&self->e));
	ASSERT_EQ(0, od_wait_count(d, CACHEFILES_OP_CLOSE, 1, OD_WAIT_MS));
	ASSERT_LE(0, od_object(d, self->object_id)->anon_fd);

	deadline = od_now_ms() + OD_WAIT_MS;
	do {
		ret = gone_try(d, self->object_id, variant->op);
		if (ret != -ENOBUFS)
			usleep(10000);
	} while (ret == 0 && od_now_ms() < deadline);
	EXPECT_EQ(-ENOBUFS, ret) TH_LOG("%s through the stale anon fd: %s",
		variant->op == GONE_PWRITE ? "pwrite" : "lseek", strerror(-ret));

	/* closing the stale fd releases the object and the cache */
	EXPECT_EQ(0, od_close_anon(d, self->object_id));
	od_teardown(d);
	EXPECT_EQ(0, od_wait_dev_free(OD_WAIT_MS));
}

/*
 * The anon fd goes away while the mount stays in use, with the daemon
 * otherwise correct.  Every later read must end: with failover, each miss
 * reopens the object (a new OPEN of the same cookie) and succeeds; on 5.19
 * every miss fails with EIO.  "each" closes the newest anon fd again
 * before every file, so the object is reopened over and over.
 */
FIXTURE(anonreopen) {
	struct ods_env e;
	struct od_manifest_entry *files;
	int nfiles;
	struct od_reader r;
	bool failover;
};

FIXTURE_VARIANT(anonreopen) {
	const char *fixture;
	bool each;
};

FIXTURE_VARIANT_ADD(anonreopen, plain_once) { .fixture = "plain" };
FIXTURE_VARIANT_ADD(anonreopen, plain_each) { .fixture = "plain", .each = true };
FIXTURE_VARIANT_ADD(anonreopen, inline_each) { .fixture = "inline", .each = true };

FIXTURE_SETUP(anonreopen)
{
	self->nfiles = od_manifest_load(variant->fixture, &self->files);
	ASSERT_LT(0, self->nfiles);
	ASSERT_EQ(0, ods_up(&self->e));
	ASSERT_EQ(0, ods_env_mount(&self->e, variant->fixture));
	self->failover = od_kernel_has_restore(&self->e.d);
	TH_LOG("expecting %s semantics", self->failover ?
	       "failover (reopen with a new OPEN)" : "5.19 (misses fail with EIO)");
}

FIXTURE_TEARDOWN(anonreopen)
{
	od_reader_kill(&self->r);
	ods_down(_metadata, &self->e);
	free(self->files);
}

/* Close the anon fd of the newest OPEN; false if it is closed already. */
static bool close_newest(struct od_daemon *d)
{
	int n = od_count(d, CACHEFILES_OP_OPEN);
	struct od_record *m = od_find(d, CACHEFILES_OP_OPEN, n - 1);

	return m && od_close_anon(d, m->object_id) == 0;
}

TEST_F(anonreopen, reads_end_after_close)
{
	struct od_daemon *d = &self->e.d;
	int opens = od_count(d, CACHEFILES_OP_OPEN), closes = 0, eio = 0;
	struct od_record *first = od_find(d, CACHEFILES_OP_OPEN, 0), *m;
	bool newest_closed;

	closes += close_newest(d);
	for (int i = 0; i < self->nfiles; i++) {
		const char *path = self->files[i].path;

		if (variant->each && i)
			closes += close_newest(d);
		ASSERT_EQ(0, od_reader_start(&self->r, ods_path(&self->e, path), 0, -1));
		ASSERT_EQ(0, od_reader_wait(&self->r, OD_WAIT_MS))
			TH_LOG("reading %s hangs after the anon fd was closed", path);
		if (self->r.result == -EIO && !self->failover) {
			eio++;
			continue;
		}
		EXPECT_EQ(0, self->r.result) TH_LOG("%s: %s", path, strerror(-self->r.result));
		EXPECT_STREQ(self->files[i].sha256, self->r.sha256) TH_LOG("%s differs", path);
	}
	EXPECT_STREQ("", d->error);
	ASSERT_LT(0, closes);

	if (!self->failover) {
		EXPECT_EQ(opens, od_count(d, CACHEFILES_OP_OPEN)) TH_LOG("reopen on 5.19?");
		EXPECT_LT(0, eio) TH_LOG("no read missed the cache: test proves nothing");
		return;
	}
	/* one reopen per close, but for a last close that no miss followed */
	m = od_find(d, CACHEFILES_OP_OPEN, od_count(d, CACHEFILES_OP_OPEN) - 1);
	newest_closed = od_object(d, m->object_id) &&
			od_object(d, m->object_id)->anon_fd < 0;
	EXPECT_EQ(closes, od_count(d, CACHEFILES_OP_OPEN) - opens + newest_closed)
		TH_LOG("%d closes, %d reopens", closes, od_count(d, CACHEFILES_OP_OPEN) - opens);
	for (int i = opens; (m = od_find(d, CACHEFILES_OP_OPEN, i)); i++) {
		EXPECT_STREQ(first->cookie_key, m->cookie_key);
		EXPECT_STREQ(first->volume_key, m->volume_key);
		EXPECT_NE(od_find(d, CACHEFILES_OP_OPEN, i - 1)->object_id, m->object_id);
	}
}

/*
 * As in anonreopen, but the daemon cannot serve the reopen (say the blob is gone): it answers
 * the reopen OPEN with copen -EIO, keeping or (as it should) closing the
 * new anon fd.  The reader must still end, with EIO: the daemon has no
 * other way to fail a READ whose object has no anon fd.  (6.1.192: the READ
 * never ends.  With the fd kept the object stays "reopening" and its READ
 * is neither handed out nor failed; with it closed every daemon read turns
 * the READ into yet another OPEN.  The reader waits until it is killed.)
 */

FIXTURE(reopenrefused) {
	struct ods_env e;
	struct od_reader r;
	int first;		/* object id of the mount's OPEN */
	int refused;		/* reopen OPENs refused */
	bool close_fd;
};

FIXTURE_VARIANT(reopenrefused) {
	bool close_fd;		/* close the refused OPEN's anon fd */
};

FIXTURE_VARIANT_ADD(reopenrefused, fd_kept) { .close_fd = false };
FIXTURE_VARIANT_ADD(reopenrefused, fd_closed) { .close_fd = true };

static enum od_action refuse_reopen(struct od_daemon *d, struct od_record *m,
				    void *arg)
{
	FIXTURE_DATA(reopenrefused) *self = arg;

	if (m->opcode != CACHEFILES_OP_OPEN)
		return OD_REPLY;
	self->refused++;
	m->reply = od_copen(d, m->msg_id, -EIO);
	m->answered = true;
	if (self->close_fd)
		close(m->anon_fd);
	/* a daemon that backs off a little, not a busy loop */
	usleep(50000);
	return OD_DONE;
}

FIXTURE_SETUP(reopenrefused)
{
	struct stat st;

	self->r.pid = -1;
	self->close_fd = variant->close_fd;
	ASSERT_EQ(0, ods_up(&self->e));
	ASSERT_EQ(0, ods_env_mount(&self->e, "plain"));
	ASSERT_EQ(0, stat(ods_path(&self->e, "big-odd"), &st));
	self->first = od_find(&self->e.d, CACHEFILES_OP_OPEN, 0)->object_id;
	if (!od_kernel_has_restore(&self->e.d))
		SKIP(return, "no reopen: 5.19 fails the READ at close (anonclose)");
}

FIXTURE_TEARDOWN(reopenrefused)
{
	od_reader_kill(&self->r);
	/* the device must go first: umount cannot get past a stuck READ */
	od_stop(&self->e.d);
	od_close_dev(&self->e.d);
	ods_down(_metadata, &self->e);
}

TEST_F(reopenrefused, read_fails_not_hangs)
{
	struct od_daemon *d = &self->e.d;
	int ret;

	/* harnesses before 6.4 run the body after a SKIP in the setup */
	if (ods_test_skipped(_metadata))
		return;
	ASSERT_EQ(0, od_close_anon(d, self->first));
	od_set_script(d, refuse_reopen, self);
	ASSERT_EQ(0, od_reader_start(&self->r, ods_path(&self->e, "big-odd"), 0, -1));
	/* a kernel that fails the READ does so at once; 6.1.192 never does */
	ret = od_reader_wait(&self->r, OD_PROMPT_MS);
	TH_LOG("%d reopen OPENs refused while the reader waited", self->refused);
	ASSERT_LT(0, self->refused) TH_LOG("the miss did not reopen the object");
	ASSERT_EQ(0, ret) TH_LOG("the reader still waits %d ms after its reopen was refused",
				 OD_PROMPT_MS);
	EXPECT_EQ(-EIO, self->r.result);
}

/*
 * The anon fd closes around umount, with the daemon otherwise correct
 * but no longer reading.  umount itself does not wait: it relinquishes
 * the cookie, and a worker withdraws the object, queueing a CLOSE and
 * waiting for it before it commits the cache file (a tmpfile until then)
 * into the cache directory.
 *
 * umount_then_close: the CLOSE is queued and unread when the daemon closes
 * the anon fd.  Releasing the fd flushes a queued CLOSE of its object
 * (cachefiles_ondemand_fd_release()): the withdrawal goes on and links the
 * cache file in, and the CLOSE is never delivered.  (6.1.192: the flush
 * never matches.  It compares the request's msg.object_id with the fd's
 * object id, but a CLOSE gets its object id only when the daemon reads it,
 * so an unread CLOSE says 0.  The withdrawal waits until the daemon reads
 * again, and then gets a CLOSE for object 4294967295, the id of a closed
 * object.)
 * close_then_umount: the object is closed before umount, and no CLOSE is
 * queued for it at all.
 * Either way the committed cache file then serves a new mount.
 */
FIXTURE(closeflush) {
	struct ods_env e;
	struct od_mounter um;
	int object_id;
};

FIXTURE_VARIANT(closeflush) {
	bool umount_first;
};

FIXTURE_VARIANT_ADD(closeflush, umount_then_close) { .umount_first = true };
FIXTURE_VARIANT_ADD(closeflush, close_then_umount) { .umount_first = false };

FIXTURE_SETUP(closeflush)
{
	char sha[65];

	self->um.pid = -1;
	ASSERT_EQ(0, ods_up(&self->e));
	ASSERT_EQ(0, ods_env_mount(&self->e, "plain"));
	ASSERT_EQ(0, od_sha256_file(ods_path(&self->e, "odd-tail"), sha));
	EXPECT_STREQ(od_manifest_sha("plain", "odd-tail"), sha);
	self->object_id = od_find(&self->e.d, CACHEFILES_OP_OPEN, 0)->object_id;
	od_stop(&self->e.d);	/* the daemon reads no more */
}

FIXTURE_TEARDOWN(closeflush)
{
	od_mount_kill(&self->um);
	ods_down_restarted(_metadata, &self->e);
}

TEST_F(closeflush, no_close_delivered)
{
	struct od_daemon *d = &self->e.d;
	struct od_record *m;
	char file[PATH_MAX], sha[65];
	int reads, ret;

	if (!variant->umount_first)
		ASSERT_EQ(0, od_close_anon(d, self->object_id));
	ASSERT_EQ(0, od_umount_start(&self->um, self->e.mnt));
	ASSERT_EQ(0, od_mount_wait(&self->um, OD_WAIT_MS)) TH_LOG("umount waits for the daemon");
	ASSERT_EQ(0, self->um.result) TH_LOG("umount: %s", strerror(-self->um.result));
	self->e.mounted = false;

	if (variant->umount_first) {
		ASSERT_TRUE(od_poll_in(d, OD_WAIT_MS)) TH_LOG("no CLOSE queued");
		/* the withdrawal waits for the CLOSE before committing */
		EXPECT_EQ(-ENOENT, od_cache_file(self->e.cache, file, sizeof(file)))
			TH_LOG("%s committed before its CLOSE was taken", file);
		ASSERT_EQ(0, od_close_anon(d, self->object_id));
	}
	ret = od_wait_cache_file(self->e.cache, file, sizeof(file), OD_PROMPT_MS);
	EXPECT_EQ(0, ret) TH_LOG("the withdrawal still waits for the daemon to read its CLOSE");
	if (ret && !od_read_msg(d, &m)) {
		TH_LOG("then the daemon reads %s %u, for object %u (it had closed object %d)",
		       od_opname(m->opcode), m->msg_id, m->object_id, self->object_id);
		ASSERT_EQ(0, od_wait_cache_file(self->e.cache, file, sizeof(file), OD_WAIT_MS))
			TH_LOG("the withdrawal never finished");
	}
	EXPECT_FALSE(od_poll_in(d, 0)) TH_LOG("a request is still queued");
	EXPECT_EQ(-ENOMSG, od_read_msg(d, &m))
		TH_LOG("%s for object %u after its anon fd was closed",
		       od_opname(m->opcode), m->object_id);
	EXPECT_EQ(0, od_count(d, CACHEFILES_OP_CLOSE));

	/* the committed cache file serves the next mount: no READ needed */
	reads = od_count(d, CACHEFILES_OP_READ);
	ASSERT_EQ(0, od_start(d));
	ASSERT_EQ(0, ods_env_mount(&self->e, "plain"));
	ASSERT_EQ(0, od_sha256_file(ods_path(&self->e, "odd-tail"), sha));
	EXPECT_STREQ(od_manifest_sha("plain", "odd-tail"), sha);
	EXPECT_EQ(reads, od_count(d, CACHEFILES_OP_READ))
		TH_LOG("the data was not in the committed cache file");
	EXPECT_STREQ("", d->error);
}

/*
 * An umount while a reopen is pending: the anon fd was closed, a read
 * turned into a reopen OPEN, and the daemon took that OPEN but has not
 * answered it when the reader gives up (killed) and the filesystem is
 * unmounted.  The withdrawal fails the object's pending requests
 * (cachefiles_ondemand_clean_object()): the OPEN is gone, so its copen is
 * refused; the object was not open, so no CLOSE comes; the withdrawal
 * finishes, committing the cache file; and once the daemon closes the new
 * anon fd the cache lets go of everything.
 */
FIXTURE(reopendrop) {
	struct ods_env e;
	struct od_reader r;
	struct od_mounter um;
	int first;
};

FIXTURE_SETUP(reopendrop)
{
	struct stat st;

	self->r.pid = self->um.pid = -1;
	ASSERT_EQ(0, ods_up(&self->e));
	ASSERT_EQ(0, ods_env_mount(&self->e, "plain"));
	ASSERT_EQ(0, stat(ods_path(&self->e, "big-odd"), &st));
	self->first = od_find(&self->e.d, CACHEFILES_OP_OPEN, 0)->object_id;
	od_stop(&self->e.d);
	if (!od_kernel_has_restore(&self->e.d))
		SKIP(return, "no reopen: 5.19 fails the READ at close (anonclose)");
}

FIXTURE_TEARDOWN(reopendrop)
{
	od_reader_kill(&self->r);
	od_mount_kill(&self->um);
	ods_down_restarted(_metadata, &self->e);
}

TEST_F(reopendrop, umount_fails_the_reopen)
{
	struct od_daemon *d = &self->e.d;
	struct od_record *open;
	char file[PATH_MAX];

	/* harnesses before 6.4 run the body after a SKIP in the setup */
	if (ods_test_skipped(_metadata))
		return;
	ASSERT_EQ(0, od_close_anon(d, self->first));
	ASSERT_EQ(0, od_reader_start(&self->r, ods_path(&self->e, "big-odd"), 0, -1));
	ASSERT_EQ(0, od_next(d, &open, OD_WAIT_MS)) TH_LOG("the read sent nothing");
	ASSERT_EQ(CACHEFILES_OP_OPEN, open->opcode) TH_LOG("got %s", od_opname(open->opcode));
	EXPECT_STREQ("plain", open->cookie_key);
	EXPECT_NE(self->first, open->object_id);
	od_reader_kill(&self->r);

	ASSERT_EQ(0, od_umount_start(&self->um, self->e.mnt));
	ASSERT_EQ(0, od_mount_wait(&self->um, OD_WAIT_MS)) TH_LOG("umount hangs");
	ASSERT_EQ(0, self->um.result) TH_LOG("umount: %s", strerror(-self->um.result));
	self->e.mounted = false;
	ASSERT_EQ(0, od_wait_cache_file(self->e.cache, file, sizeof(file), OD_WAIT_MS))
		TH_LOG("the withdrawal waits for the pending reopen");
	EXPECT_EQ(-EINVAL, od_copen(d, open->msg_id, od_blob_size("plain")))
		TH_LOG("the reopen OPEN %u outlived its object", open->msg_id);
	EXPECT_FALSE(od_poll_in(d, 0)) TH_LOG("a request came for an object not open");
	EXPECT_EQ(0, od_count(d, CACHEFILES_OP_CLOSE));

	EXPECT_EQ(0, close(open->anon_fd));
	od_teardown(d);
	EXPECT_EQ(0, od_wait_dev_free(OD_WAIT_MS))
		TH_LOG("/dev/cachefiles still busy: the dropped object kept a pin");
}

ODS_MAIN
