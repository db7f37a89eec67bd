// SPDX-License-Identifier: GPL-2.0
/* D. -EIO paths: when the daemon fails, readers get EIO and nobody hangs. */
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
	ASSERT_EQ(0, ods_mount(&self->e, "plain"));
	od_stop(&self->e.d);	/* from here the test answers by hand */
}

FIXTURE_TEARDOWN(devclose)
{
	od_reader_kill(&self->r);
	ods_down(&self->e);
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

ODS_MAIN
