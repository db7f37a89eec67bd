// SPDX-License-Identifier: GPL-2.0
/*
 * The daemon acts before the kernel has asked: a read() with nothing
 * queued, a copen for an OPEN it has not read yet, and a write to an
 * OPEN's anon fd before its copen.
 */
#include "ods.h"

FIXTURE(early) {
	struct ods_env e;
	struct od_mounter mo;
};

FIXTURE_SETUP(early)
{
	self->mo.pid = -1;
	ASSERT_EQ(0, ods_up(&self->e));
	od_stop(&self->e.d);
}

FIXTURE_TEARDOWN(early)
{
	ods_down_mounter(_metadata, &self->e, &self->mo);
}

/*
 * With nothing queued, read() returns 0 at once: on a cache that has never
 * queued a request (the cyclic search has nowhere to wrap to) and on one
 * whose requests are all answered (it wraps and finds none).
 */
TEST_F(early, read_with_nothing_queued)
{
	struct od_daemon *d = &self->e.d;
	struct od_record *m;

	EXPECT_EQ(-ENOMSG, od_read_msg(d, &m)) TH_LOG("read() on a new cache");
	ASSERT_EQ(0, od_start(d));
	ASSERT_EQ(0, ods_env_mount(&self->e, "plain"));
	ods_expect_image(_metadata, self->e.mnt, "plain");
	od_stop(d);
	ASSERT_LT(1, od_count(d, CACHEFILES_OP_READ));
	EXPECT_EQ(-ENOMSG, od_read_msg(d, &m)) TH_LOG("read() once all is answered");
	ASSERT_EQ(0, od_start(d));
	EXPECT_STREQ("", d->error);
}

/*
 * The object of an OPEN gets its id when the daemon reads the OPEN
 * (cachefiles_ondemand_get_fd()).  A copen that guesses the id of an OPEN
 * still unread (a new cache hands out msg id 0 first) is refused with
 * EINVAL and leaves it queued: read and answered, it mounts.
 */
TEST_F(early, copen_unread_open)
{
	struct od_daemon *d = &self->e.d;
	struct od_record *m;

	ods_mount_pending(_metadata, &self->e, &self->mo, "plain");
	EXPECT_EQ(-EINVAL, od_copen(d, 0, od_blob_size("plain")));
	ASSERT_EQ(0, od_next(d, &m, OD_WAIT_MS)) TH_LOG("the copen took the OPEN away");
	ASSERT_EQ(CACHEFILES_OP_OPEN, m->opcode);
	ASSERT_EQ(0, m->msg_id) TH_LOG("the premise: a new cache's first msg id is 0");
	EXPECT_EQ(0, od_reply(d, m));
	ASSERT_EQ(0, od_start(d));

	ASSERT_EQ(0, od_mount_wait(&self->mo, OD_WAIT_MS)) TH_LOG("the mount hangs");
	ASSERT_EQ(0, self->mo.result) TH_LOG("mount: %s", strerror(-self->mo.result));
	self->e.mounted = true;
	ods_expect_image(_metadata, self->e.mnt, "plain");
	EXPECT_STREQ("", d->error);
}

/*
 * A write to the anon fd of an OPEN before the copen (demand-read-
 * cachefilesd test04): the object has no cache file yet, or one the kernel
 * has not sized.  The write fails cleanly or lands; either way nothing of
 * it may show through a mount: the copen then answers (copen_ok: the mount
 * reads the image right) or fails the OPEN (copen_fails: the mount fails,
 * and the next one, with a correct daemon, reads right).
 */
FIXTURE(earlywrite) {
	struct ods_env e;
	bool fail_open;
	bool wrote;
	ssize_t write_ret;	/* the early pwrite: bytes, or -errno */
};

FIXTURE_VARIANT(earlywrite) {
	bool fail_open;		/* the copen after the write fails the OPEN */
};

FIXTURE_VARIANT_ADD(earlywrite, copen_ok) { .fail_open = false };
FIXTURE_VARIANT_ADD(earlywrite, copen_fails) { .fail_open = true };

FIXTURE_SETUP(earlywrite)
{
	self->fail_open = variant->fail_open;
	ASSERT_EQ(0, ods_up(&self->e));
}

FIXTURE_TEARDOWN(earlywrite)
{
	ods_down(_metadata, &self->e);
}

static enum od_action write_then_copen(struct od_daemon *d, struct od_record *m,
				       void *arg)
{
	FIXTURE_DATA(earlywrite) *self = arg;
	/* anon-fd writes are direct I/O: an aligned block */
	static char junk[4096] __attribute__((aligned(4096)));

	if (m->opcode != CACHEFILES_OP_OPEN || self->wrote)
		return OD_REPLY;
	self->wrote = true;
	memset(junk, 0x5a, sizeof(junk));
	self->write_ret = pwrite(m->anon_fd, junk, sizeof(junk), 0);
	if (self->write_ret < 0)
		self->write_ret = -errno;
	if (!self->fail_open)
		return OD_REPLY;
	m->reply = od_copen(d, m->msg_id, -EIO);
	close(m->anon_fd);
	return OD_DONE;
}

TEST_F(earlywrite, write_before_copen)
{
	int ret;

	od_set_script(&self->e.d, write_then_copen, self);
	ret = ods_env_mount(&self->e, "plain");
	ASSERT_TRUE(self->wrote) TH_LOG("no OPEN came");
	TH_LOG("the write before the copen: %s", self->write_ret < 0 ?
	       strerror(-self->write_ret) : "taken");
	EXPECT_TRUE(self->write_ret == -ENOBUFS || self->write_ret == 4096)
		TH_LOG("the early write returned %zd", self->write_ret);
	if (self->fail_open) {
		EXPECT_TRUE(ret == -EIO || ret == -ENOBUFS)
			TH_LOG("mount after a failed OPEN: %s", strerror(-ret));
		od_set_script(&self->e.d, NULL, NULL);
		if (!ret)
			ASSERT_EQ(0, ods_env_umount(&self->e));
		ASSERT_EQ(0, ods_env_mount(&self->e, "plain"));
	} else {
		ASSERT_EQ(0, ret) TH_LOG("mount: %s", strerror(-ret));
	}
	ods_expect_image(_metadata, self->e.mnt, "plain");
	EXPECT_STREQ("", self->e.d.error);
}

ODS_MAIN
