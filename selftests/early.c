// SPDX-License-Identifier: GPL-2.0
/*
 * The daemon acts before the kernel has asked: a read() with nothing
 * queued, and a copen for an OPEN it has not read yet.
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

ODS_MAIN
