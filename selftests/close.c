// SPDX-License-Identifier: GPL-2.0
/*
 * C. Premature anon-fd close.  Two kernel behaviours exist and each is
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
};

FIXTURE_VARIANT_ADD(anonclose, plain) { .fixture = "plain" };
FIXTURE_VARIANT_ADD(anonclose, inline) { .fixture = "inline" };

FIXTURE_SETUP(anonclose)
{
	ASSERT_EQ(0, ods_up(&self->e));
	ASSERT_EQ(0, ods_mount(&self->e, variant->fixture));
	od_stop(&self->e.d);
	self->failover = od_kernel_has_restore(&self->e.d);
	TH_LOG("expecting %s semantics", self->failover ?
	       "failover (reopen with a new OPEN)" : "5.19 (pending READs fail with EIO)");
}

FIXTURE_TEARDOWN(anonclose)
{
	od_reader_kill(&self->r);
	ods_down(&self->e);
}

static const char *manifest_sha(struct __test_metadata *_metadata,
				const char *fixture, const char *path)
{
	static char sha[65];
	struct od_manifest_entry *m;
	int n = od_manifest_load(fixture, &m);

	for (int i = 0; i < n; i++)
		if (!strcmp(m[i].path, path))
			snprintf(sha, sizeof(sha), "%s", m[i].sha256);
	free(m);
	return sha;
}

TEST_F(anonclose, with_read_pending)
{
	struct od_daemon *d = &self->e.d;
	struct od_record *open = od_find(d, CACHEFILES_OP_OPEN, 0), *m;

	ASSERT_NE(NULL, open);
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
	EXPECT_STREQ(manifest_sha(_metadata, variant->fixture, "big-odd"), self->r.sha256);
	EXPECT_STREQ("", d->error);
}

ODS_MAIN
