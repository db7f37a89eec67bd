// SPDX-License-Identifier: GPL-2.0
/* A. Data plane: what the daemon writes is what readers get, once. */
#include "ods.h"

FIXTURE(data) {
	struct ods_env e;
	struct od_manifest_entry *files;
	int nfiles;
};

FIXTURE_VARIANT(data) {
	const char *fixture;
};

/* plain: every file in blocks of its own; inline: tails packed in inodes */
FIXTURE_VARIANT_ADD(data, plain) { .fixture = "plain" };
FIXTURE_VARIANT_ADD(data, inline) { .fixture = "inline" };

FIXTURE_SETUP(data)
{
	self->nfiles = od_manifest_load(variant->fixture, &self->files);
	ASSERT_LT(0, self->nfiles);
	ASSERT_EQ(0, ods_up(&self->e));
	ASSERT_EQ(0, ods_mount(&self->e, variant->fixture));
}

FIXTURE_TEARDOWN(data)
{
	ods_down(&self->e);
	free(self->files);
}

static int read_all(struct __test_metadata *_metadata, FIXTURE_DATA(data) *self)
{
	int bad = 0;

	for (int i = 0; i < self->nfiles; i++) {
		char sha[65];

		ASSERT_EQ(0, od_sha256_file(ods_path(&self->e, self->files[i].path), sha))
			TH_LOG("reading %s", self->files[i].path);
		EXPECT_STREQ(self->files[i].sha256, sha)
			TH_LOG("%s differs from the manifest", self->files[i].path);
		bad += !!strcmp(self->files[i].sha256, sha);
	}
	return bad;
}

TEST_F(data, read_all)
{
	off_t blob = od_blob_size(variant->fixture);
	struct od_record *m;

	ASSERT_EQ(0, read_all(_metadata, self));
	ASSERT_LT(0, od_count(&self->e.d, CACHEFILES_OP_READ))
		TH_LOG("the data did not come through READ requests");
	for (int i = 0; (m = od_find(&self->e.d, CACHEFILES_OP_READ, i)); i++) {
		EXPECT_EQ(0, m->off % OD_BLOCK);
		EXPECT_GT(blob, (off_t)m->off);
		EXPECT_GE((blob + OD_BLOCK - 1) & ~(off_t)(OD_BLOCK - 1),
			  (off_t)(m->off + m->rlen))
			TH_LOG("READ %u [%llu,+%llu) beyond the %lld-byte blob", m->msg_id,
			       (unsigned long long)m->off, (unsigned long long)m->rlen,
			       (long long)blob);
		EXPECT_EQ(0, m->reply);
	}
	EXPECT_STREQ("", self->e.d.error);
}

TEST_F(data, reread_is_cached)
{
	int reads;

	ASSERT_EQ(0, read_all(_metadata, self));
	reads = od_count(&self->e.d, CACHEFILES_OP_READ);
	/* drop the page cache so the second pass goes to cachefiles */
	ASSERT_EQ(0, ods_drop_caches());
	ASSERT_EQ(0, read_all(_metadata, self));
	EXPECT_EQ(reads, od_count(&self->e.d, CACHEFILES_OP_READ))
		TH_LOG("cached ranges were requested again");
}

ODS_MAIN
