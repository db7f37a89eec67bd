// SPDX-License-Identifier: GPL-2.0
/*
 * EROFS over a cache bound without "ondemand" (cachefilesd's classic
 * mode).  The cache has no daemon to ask: cachefiles takes the cookie as
 * a classic one (no OPEN, no anon fd), and the on-demand read that EROFS
 * asks for returns without a request (cachefiles_ondemand_send_req()
 * checks the mode), so the superblock read finds no data and the mount
 * fails with EIO, without a splat.  The on-demand code must keep out of
 * the way of objects without on-demand state.
 */
#include "ods.h"

FIXTURE(classic) {
	struct od_daemon d;
	struct od_mounter mo;
	char cache[PATH_MAX];
	char mnt[PATH_MAX];
};

FIXTURE_SETUP(classic)
{
	self->mo.pid = -1;
	od_test_dir(self->cache, sizeof(self->cache), OD_CACHE_ROOT, NULL);
	od_test_dir(self->mnt, sizeof(self->mnt), OD_MNT_ROOT, NULL);
	ASSERT_EQ(0, od_bind_classic(&self->d, self->cache));
}

FIXTURE_TEARDOWN(classic)
{
	od_mount_kill(&self->mo);
	od_teardown(&self->d);
	EXPECT_EQ(0, od_wait_dev_free(OD_WAIT_MS)) TH_LOG("the device stays busy");
	EXPECT_STREQ("", self->d.error) TH_LOG("the daemon failed: %s", self->d.error);
	rmdir(self->mnt);
}

TEST_F(classic, erofs_mount_eio)
{
	/* twice: the failed mount leaves nothing behind that changes the next */
	for (int i = 0; i < 2; i++) {
		ASSERT_EQ(0, od_mount_start(&self->mo, "plain", NULL, self->mnt));
		ASSERT_EQ(0, od_mount_wait(&self->mo, OD_WAIT_MS)) TH_LOG("the mount hangs");
		EXPECT_EQ(-EIO, self->mo.result) TH_LOG("mount %d: %s", i + 1,
							 strerror(-self->mo.result));
		if (!self->mo.result)
			umount2(self->mnt, MNT_DETACH);
	}
}

ODS_MAIN
