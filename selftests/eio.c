// SPDX-License-Identifier: GPL-2.0
/* -EIO paths: when the daemon fails, readers get EIO and nobody hangs. */
#include "ods.h"

FIXTURE(devclose) {
	struct ods_env e;
	struct od_reader r;
};

FIXTURE_VARIANT(devclose) {
	bool taken;	/* the daemon read the READ before dying */
};

FIXTURE_VARIANT_ADD(devclose, read_queued) { .taken = false };
FIXTURE_VARIANT_ADD(devclose, read_taken) { .taken = true };

FIXTURE_SETUP(devclose)
{
	ASSERT_EQ(0, ods_up(&self->e));
	ASSERT_EQ(0, ods_env_mount(&self->e, "plain"));
	od_stop(&self->e.d);	/* from here the test answers by hand */
}

FIXTURE_TEARDOWN(devclose)
{
	od_reader_kill(&self->r);
	ods_down(_metadata, &self->e);
}

TEST_F(devclose, pending_read_gets_eio)
{
	struct od_daemon *d = &self->e.d;
	struct od_reader late;
	struct od_record *m;

	ASSERT_EQ(0, od_reader_start(&self->r, ods_path(&self->e, "big-odd"), 0, -1));
	ASSERT_TRUE(od_poll_in(d, OD_WAIT_MS)) TH_LOG("the read sent no request");
	if (variant->taken) {
		ASSERT_EQ(0, od_next(d, &m, OD_WAIT_MS));
		ASSERT_EQ(CACHEFILES_OP_READ, m->opcode);
	}
	od_close_dev(d);

	ASSERT_EQ(0, od_reader_wait(&self->r, OD_WAIT_MS))
		TH_LOG("the reader still waits after the daemon closed the device");
	EXPECT_EQ(-EIO, self->r.result);

	/* the cache is dead: a new miss fails at once, it is not queued */
	ASSERT_EQ(0, od_reader_start(&late, ods_path(&self->e, "tens-of-blocks"), 0, -1));
	ASSERT_EQ(0, od_reader_wait(&late, OD_WAIT_MS))
		TH_LOG("a read after the device closed hangs");
	EXPECT_EQ(-EIO, late.result);
}

/* sha256 of bytes [off, off + len) of a fixture blob, as the daemon serves it */
static int blob_sha(const char *blob, off_t off, size_t len, char out[65])
{
	char *buf = malloc(len);
	int fd = od_blob_open(blob), ret = 0;

	if (!buf || fd < 0 || pread(fd, buf, len, off) != (ssize_t)len)
		ret = -EIO;
	else
		od_sha256(buf, len, out);
	if (fd >= 0)
		close(fd);
	free(buf);
	return ret;
}

/*
 * The daemon completes a READ having written nothing, or only the
 * first block of it.  The kernel looks at the cache file again after the
 * completion: the hole fails the reader with EIO (EROFS logs the failed
 * prepare_read), while a written block is served.  Any further READ the
 * kernel sends for the hole is completed empty as well.
 */
#define BADREAD_FILE	"tens-of-blocks"	/* 50 whole blocks, no tail */

/*
 * EROFS's log line for a read the cache cannot serve: "failed to fscache
 * prepare_read" up to 6.8, "prepare_read failed" in 6.9, "prepare_ondemand_read
 * failed" from 6.10.  The first needle matches the first two.
 */
static int prepare_read_errors(void)
{
	int a = od_klog_count("prepare_read"), b = od_klog_count("prepare_ondemand_read failed");

	return a < 0 ? a : b < 0 ? b : a + b;
}

FIXTURE(badread) {
	struct ods_env e;
	struct od_reader r;
};

FIXTURE_VARIANT(badread) {
	int blocks;	/* of the first READ, the daemon writes this many */
};

FIXTURE_VARIANT_ADD(badread, nothing_written) { .blocks = 0 };
FIXTURE_VARIANT_ADD(badread, first_block_written) { .blocks = 1 };

FIXTURE_SETUP(badread)
{
	struct stat st;

	ASSERT_EQ(0, ods_up(&self->e));
	ASSERT_EQ(0, ods_env_mount(&self->e, "plain"));
	/* metadata now, so that only data READs come while the test scripts */
	ASSERT_EQ(0, stat(ods_path(&self->e, BADREAD_FILE), &st));
	od_stop(&self->e.d);
}

FIXTURE_TEARDOWN(badread)
{
	od_reader_kill(&self->r);
	ods_down(_metadata, &self->e);
}

TEST_F(badread, reader_gets_eio)
{
	struct od_daemon *d = &self->e.d;
	int logged = prepare_read_errors(), reads = 1;
	struct od_record *m, first;
	long deadline;
	char sha[65];

	ASSERT_LE(0, logged);
	ASSERT_EQ(0, od_reader_start(&self->r, ods_path(&self->e, BADREAD_FILE), 0, -1));
	ASSERT_EQ(0, od_next(d, &m, OD_WAIT_MS)) TH_LOG("the read sent no request");
	ASSERT_EQ(CACHEFILES_OP_READ, m->opcode);
	first = *m;
	ASSERT_LE(variant->blocks * OD_BLOCK, first.rlen);
	if (variant->blocks) {
		ASSERT_EQ(0, od_write(d, m->object_id, m->off, variant->blocks * OD_BLOCK));
	}
	ASSERT_EQ(0, od_cread(d, m->object_id, m->msg_id))
		TH_LOG("completing a READ must work whatever was written");

	deadline = od_now_ms() + OD_WAIT_MS;
	while (od_reader_wait(&self->r, 50) == -ETIMEDOUT) {
		ASSERT_GT(deadline, od_now_ms()) TH_LOG("the reader still waits");
		if (od_next(d, &m, 50))
			continue;
		ASSERT_EQ(CACHEFILES_OP_READ, m->opcode);
		ASSERT_EQ(0, od_cread(d, m->object_id, m->msg_id));
		reads++;
	}
	TH_LOG("%d READs completed, %d with data", reads, !!variant->blocks);
	EXPECT_EQ(-EIO, self->r.result);
	EXPECT_EQ(variant->blocks * OD_BLOCK, self->r.bytes)
		TH_LOG("the reader got %lld bytes before the error", (long long)self->r.bytes);
	if (variant->blocks) {
		ASSERT_EQ(0, blob_sha("plain", first.off, variant->blocks * OD_BLOCK, sha));
		EXPECT_STREQ(sha, self->r.sha256) TH_LOG("the written block came back wrong");
	}
	EXPECT_LT(logged, prepare_read_errors())
		TH_LOG("EROFS logged no failed prepare_read");

	/* the failure is not sticky: a correct daemon serves the file after */
	ASSERT_EQ(0, od_start(d));
	ASSERT_EQ(0, od_sha256_file(ods_path(&self->e, BADREAD_FILE), sha));
	EXPECT_STREQ(od_manifest_sha("plain", BADREAD_FILE), sha);
}

/*
 * Mount and unmount fsid once with a correct daemon, so that its cache file
 * exists: the next lookup opens it instead of creating it.
 */
static int warm_up(struct ods_env *e, const char *fsid)
{
	int closes = od_count(&e->d, CACHEFILES_OP_CLOSE), ret;

	ret = ods_env_mount(e, fsid);
	if (!ret)
		ret = ods_env_umount(e);
	if (!ret)
		ret = od_wait_count(&e->d, CACHEFILES_OP_CLOSE, closes + 1, OD_WAIT_MS);
	return ret;
}

/*
 * A copen with a negative size fails the OPEN.  An errno value is taken
 * as the OPEN's error and the write succeeds; anything below -MAX_ERRNO is
 * no errno: the write returns EINVAL and the OPEN fails with EINVAL.
 *
 * The mount never sees the OPEN's error, only that the cookie lookup
 * failed, and how depends on the cache file: on a cold cache the lookup
 * has already moved the cookie to CREATING, fscache lets the superblock
 * read begin, cachefiles_prepare_read() finds no file, EROFS gets no data
 * and fails the read with EIO; on a warm cache the read waits for the
 * lookup and fscache_begin_operation() on the failed cookie gives ENOBUFS.
 * The script answers only once the mount sleeps, so that the order is
 * fixed (an early answer could beat the mount to its wait).
 *
 * The daemon closes the failed OPEN's anon fd, as it must: the fd pins the
 * object and with it the volume, and the next mount of the fsid would wait
 * (uninterruptibly) for that volume to go.  No CLOSE ever comes for the
 * failed object, and the next mount with a correct daemon works.
 */
FIXTURE(copenerr) {
	struct ods_env e;
};

FIXTURE_VARIANT(copenerr) {
	long long size;		/* what the daemon answers */
	int copen;		/* what the copen write must return */
	int mount;		/* what the mount must fail with */
	bool warm;		/* the blob's cache file exists already */
};

FIXTURE_VARIANT_ADD(copenerr, eio) { -EIO, 0, -EIO, false };
FIXTURE_VARIANT_ADD(copenerr, enoent) { -ENOENT, 0, -EIO, false };
FIXTURE_VARIANT_ADD(copenerr, enomem) { -ENOMEM, 0, -EIO, false };
FIXTURE_VARIANT_ADD(copenerr, not_errno) { -100000, -EINVAL, -EIO, false };
FIXTURE_VARIANT_ADD(copenerr, enoent_warm) { -ENOENT, 0, -ENOBUFS, true };

FIXTURE_SETUP(copenerr)
{
	ASSERT_EQ(0, ods_up(&self->e));
	if (variant->warm) {
		ASSERT_EQ(0, warm_up(&self->e, "plain"));
	}
}

FIXTURE_TEARDOWN(copenerr)
{
	ods_down(_metadata, &self->e);
}

TEST_F(copenerr, mount_fails)
{
	struct od_daemon *d = &self->e.d;
	/* copen with the variant's size, then close the anon fd */
	struct od_open_by_hand cs = { .size = variant->size, .ret = 1 };
	int opens = od_count(d, CACHEFILES_OP_OPEN);
	int closes = od_count(d, CACHEFILES_OP_CLOSE);

	od_set_script(d, od_answer_open_by_hand, &cs);
	EXPECT_EQ(variant->mount, ods_env_mount(&self->e, "plain"))
		TH_LOG("copen %lld: wrong mount error", variant->size);
	/* the mount may return before the daemon's copen write does */
	ASSERT_EQ(0, od_open_by_hand_wait(&cs, OD_WAIT_MS)) TH_LOG("the daemon never answered");
	EXPECT_EQ(1, cs.opens);
	EXPECT_EQ(0, cs.blocked) TH_LOG("the mount did not wait for its OPEN");
	EXPECT_EQ(variant->copen, cs.ret) TH_LOG("copen %lld: %s", variant->size,
						 strerror(-cs.ret));

	/* a correct daemon then mounts the blob; one CLOSE, for that object */
	ods_expect_remount_one_close(_metadata, &self->e, "plain", "odd-tail",
				     opens, closes);
}

/*
 * The device is closed while the daemon keeps an anon fd: the cache is
 * dead, yet still bound (the anon fd pins it).  A new mount's OPEN cannot
 * be queued (EIO in cachefiles_ondemand_send_req()), so its lookup fails
 * and the mount gets ENOBUFS.  Its blob was mounted once before, so that
 * the lookup opens a cache file instead of creating one: creating would
 * race the mount's read against the failure (EIO or ENOBUFS, see the negative copen above).
 * On the old mount, data already in the cache file is still served and a
 * miss fails at once with EIO.
 */
FIXTURE(deadcache) {
	struct ods_env e;
	struct od_reader r;
	char mnt2[PATH_MAX];
};

FIXTURE_SETUP(deadcache)
{
	char sha[65];

	ASSERT_EQ(0, ods_up(&self->e));
	ASSERT_EQ(0, warm_up(&self->e, "inline"));
	ASSERT_EQ(0, ods_env_mount(&self->e, "plain"));
	ASSERT_EQ(0, od_sha256_file(ods_path(&self->e, "odd-tail"), sha));
	od_stop(&self->e.d);
	snprintf(self->mnt2, sizeof(self->mnt2), "%s-2", self->e.mnt);
}

FIXTURE_TEARDOWN(deadcache)
{
	od_reader_kill(&self->r);
	if (umount2(self->mnt2, MNT_DETACH) == 0)
		TH_LOG("the second mount succeeded on a dead cache");
	rmdir(self->mnt2);
	ods_down(_metadata, &self->e);
}

TEST_F(deadcache, new_mount_fails)
{
	struct od_daemon *d = &self->e.d;

	od_close_dev(d);
	EXPECT_EQ(-EBUSY, od_wait_dev_free(0))
		TH_LOG("the daemon's anon fd no longer pins the dead cache");

	EXPECT_EQ(-ENOBUFS, od_mount("inline", NULL, self->mnt2))
		TH_LOG("a mount on a dead cache must fail");

	/* cached data is still there; a miss has nobody to ask */
	ASSERT_EQ(0, ods_drop_caches());
	ASSERT_EQ(0, od_reader_start(&self->r, ods_path(&self->e, "odd-tail"), 0, -1));
	ASSERT_EQ(0, od_reader_wait(&self->r, OD_WAIT_MS));
	EXPECT_EQ(0, self->r.result) TH_LOG("cached file: %s", strerror(-self->r.result));
	EXPECT_STREQ(od_manifest_sha("plain", "odd-tail"), self->r.sha256);
	ASSERT_EQ(0, od_reader_start(&self->r, ods_path(&self->e, "big-odd"), 0, -1));
	ASSERT_EQ(0, od_reader_wait(&self->r, OD_WAIT_MS)) TH_LOG("a miss on a dead cache hangs");
	EXPECT_EQ(-EIO, self->r.result);
	EXPECT_EQ(2, od_count(d, CACHEFILES_OP_OPEN)) TH_LOG("OPENs: inline, plain");
}

/*
 * Umount while a reader waits for a READ.  The reader's open file keeps
 * the superblock, so the cookie is not withdrawn and the pending READ is
 * not failed (cachefiles_ondemand_clean_object() only runs at withdrawal):
 * a plain umount returns EBUSY at once, a lazy one detaches at once.
 * Either way umount does not wait for the daemon; the READ is still
 * answerable, and the object's CLOSE comes once the reader let go.  If the
 * daemon dies instead, the reader gets EIO and the detached mount goes.
 */
FIXTURE(umountpending) {
	struct ods_env e;
	struct od_reader r;
};

FIXTURE_VARIANT(umountpending) {
	int flags;		/* umount2() flags */
	int ret;		/* what umount2() must return */
	bool daemon_dies;	/* close the device instead of answering */
};

FIXTURE_VARIANT_ADD(umountpending, busy) { 0, -EBUSY, false };
FIXTURE_VARIANT_ADD(umountpending, lazy) { MNT_DETACH, 0, false };
FIXTURE_VARIANT_ADD(umountpending, lazy_daemon_dies) { MNT_DETACH, 0, true };

/*
 * The daemon up, "plain" mounted and big-odd looked up (its reads are then
 * for data only), then the daemon thread stopped: the test answers by hand.
 */
static int up_then_stop(struct ods_env *e)
{
	struct stat st;
	int ret = ods_up(e);

	ret = ret ?: ods_env_mount(e, "plain");
	ret = ret ?: (stat(ods_path(e, "big-odd"), &st) ? -errno : 0);
	if (!ret)
		od_stop(&e->d);
	return ret;
}

FIXTURE_SETUP(umountpending)
{
	ASSERT_EQ(0, up_then_stop(&self->e));
}

FIXTURE_TEARDOWN(umountpending)
{
	od_reader_kill(&self->r);
	ods_down_restarted(_metadata, &self->e);
}

TEST_F(umountpending, read_pending)
{
	struct od_daemon *d = &self->e.d;
	struct od_record *m;
	long t0;
	int ret;

	ASSERT_EQ(0, od_reader_start(&self->r, ods_path(&self->e, "big-odd"), 0, -1));
	ASSERT_EQ(0, od_next(d, &m, OD_WAIT_MS)) TH_LOG("the read sent no request");
	ASSERT_EQ(CACHEFILES_OP_READ, m->opcode);

	t0 = od_now_ms();
	ret = umount2(self->e.mnt, variant->flags) ? -errno : 0;
	TH_LOG("umount2(%#x) took %ld ms", variant->flags, od_now_ms() - t0);
	EXPECT_EQ(variant->ret, ret) TH_LOG("umount2: %s", strerror(-ret));
	if (!ret)
		self->e.mounted = false;
	EXPECT_EQ(-ETIMEDOUT, od_reader_wait(&self->r, 300))
		TH_LOG("the reader ended (%s) though nobody answered", strerror(-self->r.result));
	EXPECT_FALSE(od_poll_in(d, 0)) TH_LOG("umount queued a request (CLOSE?) while in use");

	if (variant->daemon_dies) {
		od_close_dev(d);
		ASSERT_EQ(0, od_reader_wait(&self->r, OD_WAIT_MS));
		EXPECT_EQ(-EIO, self->r.result);
		od_teardown(d);
		EXPECT_EQ(0, od_wait_dev_free(OD_WAIT_MS))
			TH_LOG("the detached mount still pins the dead cache");
		return;
	}
	ASSERT_EQ(0, od_reply(d, m)) TH_LOG("the pending READ is gone after umount");
	ASSERT_EQ(0, od_start(d));
	ASSERT_EQ(0, od_reader_wait(&self->r, OD_WAIT_MS));
	EXPECT_EQ(0, self->r.result);
	EXPECT_STREQ(od_manifest_sha("plain", "big-odd"), self->r.sha256);
	EXPECT_EQ(0, ods_env_umount(&self->e));
	EXPECT_EQ(0, od_wait_count(d, CACHEFILES_OP_CLOSE, 1, OD_WAIT_MS))
		TH_LOG("no CLOSE after the reader let go of the unmounted fs");
	EXPECT_STREQ("", d->error);
}

/*
 * A reader waiting for its READ is killed.  The wait is killable: the
 * reader exits, and its request leaves the queue (cachefiles_ondemand_
 * finish_req()), whether the daemon had read it or not.  Completing it
 * later gets EINVAL; later READs carry new ids and work.
 */
FIXTURE(killwait) {
	struct ods_env e;
	struct od_reader r;
};

FIXTURE_VARIANT(killwait) {
	bool taken;	/* the daemon read the READ before the kill */
};

FIXTURE_VARIANT_ADD(killwait, read_queued) { .taken = false };
FIXTURE_VARIANT_ADD(killwait, read_taken) { .taken = true };

FIXTURE_SETUP(killwait)
{
	ASSERT_EQ(0, up_then_stop(&self->e));
}

FIXTURE_TEARDOWN(killwait)
{
	od_reader_kill(&self->r);
	ods_down(_metadata, &self->e);
}

TEST_F(killwait, killed_reader_request_gone)
{
	struct od_daemon *d = &self->e.d;
	struct od_record *m, killed = { 0 };
	int nrec;
	char sha[65];

	ASSERT_EQ(0, od_reader_start(&self->r, ods_path(&self->e, "big-odd"), 0, -1));
	if (variant->taken) {
		ASSERT_EQ(0, od_next(d, &m, OD_WAIT_MS));
		ASSERT_EQ(CACHEFILES_OP_READ, m->opcode);
		killed = *m;
	} else {
		ASSERT_TRUE(od_poll_in(d, OD_WAIT_MS)) TH_LOG("the read sent no request");
	}
	ASSERT_EQ(-ETIMEDOUT, od_reader_wait(&self->r, 300)) TH_LOG("the reader did not wait");

	kill(self->r.pid, SIGKILL);
	ASSERT_EQ(0, od_reader_wait(&self->r, OD_WAIT_MS))
		TH_LOG("the killed reader does not exit");
	EXPECT_EQ(-EPIPE, self->r.result) TH_LOG("the reader was not killed");

	if (variant->taken) {
		EXPECT_EQ(-EINVAL, od_cread(d, killed.object_id, killed.msg_id))
			TH_LOG("the killed reader's READ %u is still pending", killed.msg_id);
	}
	EXPECT_FALSE(od_poll_in(d, 300)) TH_LOG("a request is still queued");

	nrec = d->nrec;
	ASSERT_EQ(0, od_start(d));
	ASSERT_EQ(0, od_sha256_file(ods_path(&self->e, "big-odd"), sha));
	EXPECT_STREQ(od_manifest_sha("plain", "big-odd"), sha);
	ASSERT_LT(nrec, d->nrec) TH_LOG("the range was served without a new READ");
	for (int i = nrec; i < d->nrec && variant->taken; i++) {
		EXPECT_NE(killed.msg_id, d->rec[i].msg_id) TH_LOG("msg_id reused at once");
	}
	EXPECT_STREQ("", d->error);
}

ODS_MAIN
