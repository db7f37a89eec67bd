// SPDX-License-Identifier: GPL-2.0
/* B. Sequencing: what the messages say, and in which order they come. */
#include "ods.h"

FIXTURE(sequence) {
	struct ods_env e;
};

FIXTURE_VARIANT(sequence) {
	const char *fixture;
};

FIXTURE_VARIANT_ADD(sequence, plain) { .fixture = "plain" };
FIXTURE_VARIANT_ADD(sequence, inline) { .fixture = "inline" };

FIXTURE_SETUP(sequence)
{
	ASSERT_EQ(0, ods_up(&self->e));
	ASSERT_EQ(0, ods_mount(&self->e, variant->fixture));
}

FIXTURE_TEARDOWN(sequence)
{
	ods_down(&self->e);
}

TEST_F(sequence, open_keys_and_close_at_umount)
{
	struct od_daemon *d = &self->e.d;
	char volume_key[OD_KEY_MAX], sha[65];
	struct od_record *open, *m;

	ASSERT_EQ(0, od_sha256_file(ods_path(&self->e, "tens-of-blocks"), sha));
	ASSERT_EQ(1, od_count(d, CACHEFILES_OP_OPEN));
	open = od_find(d, CACHEFILES_OP_OPEN, 0);
	ASSERT_EQ(open, &d->rec[0]) TH_LOG("the first message was not the OPEN");

	snprintf(volume_key, sizeof(volume_key), "erofs,%s", variant->fixture);
	EXPECT_STREQ(volume_key, open->volume_key);
	EXPECT_EQ(strlen(volume_key) + 1, open->volume_key_size)
		TH_LOG("the volume key size counts its NUL");
	EXPECT_EQ(strlen(variant->fixture), open->cookie_key_size);
	EXPECT_EQ(0, memcmp(variant->fixture, open->cookie_key, open->cookie_key_size));
	EXPECT_LT(0, open->object_id);
	EXPECT_LE(0, open->anon_fd);
	EXPECT_EQ(0, open->reply);

	ASSERT_LT(0, od_count(d, CACHEFILES_OP_READ));
	for (int i = 0; (m = od_find(d, CACHEFILES_OP_READ, i)); i++) {
		EXPECT_EQ(open->object_id, m->object_id);
		EXPECT_EQ(sizeof(struct cachefiles_msg) + sizeof(struct cachefiles_read), m->len);
	}

	ASSERT_EQ(0, ods_umount(&self->e));
	ASSERT_EQ(0, od_wait_count(d, CACHEFILES_OP_CLOSE, 1, OD_WAIT_MS))
		TH_LOG("no CLOSE after umount");
	m = od_find(d, CACHEFILES_OP_CLOSE, 0);
	EXPECT_EQ(open->object_id, m->object_id);
	EXPECT_EQ(sizeof(struct cachefiles_msg), m->len);
	EXPECT_EQ(m, &d->rec[d->nrec - 1]) TH_LOG("CLOSE was not the last message");
	EXPECT_EQ(1, od_count(d, CACHEFILES_OP_CLOSE));
	EXPECT_STREQ("", d->error);
}

TEST_F(sequence, msg_ids_unique_while_pending)
{
	struct od_daemon *d = &self->e.d;
	char sha[65];

	ASSERT_EQ(0, od_sha256_file(ods_path(&self->e, "big-odd"), sha));
	ASSERT_LT(2, od_count(d, CACHEFILES_OP_READ));
	for (int i = 0; i < d->nrec; i++) {
		for (int j = i + 1; j < d->nrec; j++) {
			EXPECT_NE(d->rec[i].msg_id, d->rec[j].msg_id)
				TH_LOG("msg_id %u handed out twice", d->rec[i].msg_id);
		}
	}
}

ODS_MAIN
