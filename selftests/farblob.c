// SPDX-License-Identifier: GPL-2.0
/*
 * READs far into a blob: the multi image with its chunks moved to straddle
 * 2 GiB and 4 GiB of its extra blob, and to end on the last block EROFS can
 * address (fixtures/far).  erofs_map_blocks() makes a chunk index's 32-bit
 * block number a 64-bit position; cachefiles_ondemand_read() sends it as
 * the READ's __u64 off; the daemon writes there through the anon fd
 * (cachefiles_ondemand_fd_write_iter(), loff_t ki_pos) into a cache file
 * that copen sized past 4 GiB: at the top, 16 TiB - 4 KiB, the largest
 * file ext4 with 4 KiB blocks holds (ext4_max_size()).  Every file must
 * read right, every READ of the blob must lie in its shifted part, and
 * one must end on its last block.
 *
 * The blob is made here, sparse on the guest's tmpfs: multi-blob's bytes
 * at the shift.  The shifts are fixtures/far's.
 */
#include "ods.h"

FIXTURE(farblob) {
	struct ods_env e;
	char blob[64];		/* its name: the device= option, its cookie key */
	off_t size;
};

FIXTURE_VARIANT(farblob) {
	const char *image;
	uint64_t shift;		/* 4 KiB blocks, as fixtures/far says */
};

FIXTURE_VARIANT_ADD(farblob, past_2gib) { "far2g", 524188 };
FIXTURE_VARIANT_ADD(farblob, past_4gib) { "far4g", 1048476 };
FIXTURE_VARIANT_ADD(farblob, top) { "fartop", 4294966957ULL };

FIXTURE_SETUP(farblob)
{
	char *buf;
	off_t size;
	int ret;

	snprintf(self->blob, sizeof(self->blob), "%s-blob", variant->image);
	buf = od_blob_read("multi-blob", &size);
	ASSERT_NE(NULL, buf);
	/* multi-blob's bytes at the shift, holes before them */
	ret = od_blob_write(self->blob, buf, size, variant->shift * OD_BLOCK);
	free(buf);
	ASSERT_EQ(0, ret);
	self->size = od_blob_size(self->blob);
	ASSERT_EQ(0, ods_up(&self->e));
}

FIXTURE_TEARDOWN(farblob)
{
	char path[PATH_MAX];

	ods_down(_metadata, &self->e);
	snprintf(path, sizeof(path), "%s/%s", OD_BLOB_DIR, self->blob);
	unlink(path);
}

TEST_F(farblob, read_all)
{
	struct od_daemon *d = &self->e.d;
	off_t from = variant->shift * OD_BLOCK;
	uint64_t last = 0;
	struct od_record *m;
	int reads = 0;

	self->e.mounted = !od_mount_opts(self->e.mnt, "fsid=%s,device=%s", variant->image,
					 self->blob);
	ASSERT_TRUE(self->e.mounted);
	ods_expect_image(_metadata, self->e.mnt, variant->image);
	for (int i = 0; (m = od_find(d, CACHEFILES_OP_READ, i)); i++) {
		struct od_object *o = od_object(d, m->object_id);

		if (!o || strcmp(o->key, self->blob))
			continue;
		reads++;
		EXPECT_LE(from, (off_t)m->off) TH_LOG("READ %u at %llu, before the data", m->msg_id,
						      (unsigned long long)m->off);
		EXPECT_GE(self->size, (off_t)(m->off + m->rlen))
			TH_LOG("READ %u [%llu,+%llu) past the blob", m->msg_id,
			       (unsigned long long)m->off, (unsigned long long)m->rlen);
		if (m->off + m->rlen > last)
			last = m->off + m->rlen;
		EXPECT_EQ(0, m->reply) TH_LOG("answering READ %u", m->msg_id);
	}
	EXPECT_LT(0, reads);
	EXPECT_EQ(self->size, (off_t)last) TH_LOG("no READ reached the blob's last block");
	TH_LOG("%d READs of the blob, up to byte %llu", reads, (unsigned long long)last);
	EXPECT_STREQ("", d->error);
}

ODS_MAIN
