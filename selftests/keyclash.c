// SPDX-License-Identifier: GPL-2.0
/*
 * Two cookie keys that differ get cache files of their own.
 * cachefiles_cook_key() base64-encodes a key that is neither printable nor
 * short as hex: 'E', the pad digit, then 4 characters for each 3 bytes
 * (fs/cachefiles/key.c:81-84, 106-130 in 6.1.192), so a key of 190 bytes or more
 * cooks to 258 characters and more (338 for 252, the most key.c:47's
 * BUG_ON lets through).  object->d_name_len is a u8
 * (fs/cachefiles/internal.h:74, 6.1.192 and 6.12.118), so the name looked
 * up and linked is the first (length mod 256) characters: "E2" for every
 * 190-byte key with a pad of 2.
 *
 * fsid A, len bytes from 0x80 (in a domain_id, so that the volume key stays
 * short), is served from the "plain" image, read and umounted; fsid B, A
 * with its last byte changed, from a copy of it with one file's first bytes
 * changed: the same size, so that cachefiles' coherency check (object size,
 * no aux data) cannot tell the two apart.  B must fetch its own blob and
 * read its own bytes.  A name over NAME_MAX may instead be refused (the
 * mount fails), as it is with bench/fixes/cook-name-too-long.patch; a name
 * that fits may not.
 */
#include "ods.h"

#define DOMAIN	"odskeyclash"
#define FILE_A	"odd-tail@0"	/* the first bytes of odd-tail in "plain" ... */
#define FILE_B	"ODD-tail@0"	/* ... and in B's copy, "plain-b" */

FIXTURE(keyclash) {
	struct ods_env e;
	struct od_mounter mo;
	char a[256], b[256];
	const char *serve;	/* the image the next OPEN is answered from */
};

FIXTURE_VARIANT(keyclash) {
	int len;	/* both fsids' bytes */
};

FIXTURE_VARIANT_ADD(keyclash, high_189_name_254) { 189 };
FIXTURE_VARIANT_ADD(keyclash, high_190_name_258) { 190 };
FIXTURE_VARIANT_ADD(keyclash, high_252_name_338) { 252 };

/* OD_BLOB_DIR/plain-b: plain with odd-tail's first bytes FILE_B.  0 or -errno. */
static int make_blob_b(void)
{
	off_t size;
	char *buf = od_blob_read("plain", &size), *at;
	int ret = -EIO;

	at = buf ? memmem(buf, size, FILE_A, strlen(FILE_A)) : NULL;
	if (at) {
		memcpy(at, FILE_B, strlen(FILE_B));
		ret = od_blob_write("plain-b", buf, size, 0);
	}
	free(buf);
	return ret;
}

static enum od_action serve(struct od_daemon *d, struct od_record *m, void *arg)
{
	FIXTURE_DATA(keyclash) *self = arg;

	if (m->opcode != CACHEFILES_OP_OPEN)
		return OD_REPLY;
	od_open_as(d, m, self->serve, -1);
	return OD_DONE;
}

FIXTURE_SETUP(keyclash)
{
	self->mo.pid = -1;
	ASSERT_EQ(0, ods_up(&self->e));
	if (!od_kernel_has_domain_id())
		SKIP(return, "no domain_id: EROFS takes it from 6.1");
	for (int i = 0; i < variant->len; i++)
		self->a[i] = self->b[i] = (char)(0x80 + i % 128);
	self->b[variant->len - 1] ^= 1;
	ASSERT_EQ(0, make_blob_b());
	od_set_script(&self->e.d, serve, self);
}

FIXTURE_TEARDOWN(keyclash)
{
	ods_down_mounter(_metadata, &self->e, &self->mo);
	unlink(OD_BLOB_DIR "/plain-b");
}

TEST_F(keyclash, own_cache_file)
{
	struct od_daemon *d = &self->e.d;
	char head[16] = "";
	/* the cooked name: 'E', the pad digit, 4 characters per 3 bytes */
	int name_len = 2 + 4 * ((variant->len + 2) / 3);
	int reads, fd, ret;

	if (ods_test_skipped(_metadata))
		return;
	self->serve = "plain";
	ret = ods_env_mount_bounded(_metadata, &self->e, &self->mo, self->a, DOMAIN);
	if (ret && ret != -ETIMEDOUT && name_len > NAME_MAX) {
		TH_LOG("fsid A (%d bytes, a %d-character name) refused: %s",
		       variant->len, name_len, strerror(-ret));
		/* then B, of the same length, too: no cache file to share */
		EXPECT_NE(0, ods_env_mount_bounded(_metadata, &self->e, &self->mo,
						   self->b, DOMAIN))
			TH_LOG("fsid B mounts where fsid A was refused");
		return;
	}
	ASSERT_EQ(0, ret) TH_LOG("fsid A (%d bytes): %s", variant->len, strerror(-ret));
	ods_expect_image(_metadata, self->e.mnt, "plain");
	ASSERT_EQ(0, ods_env_umount(&self->e));
	ASSERT_EQ(0, od_wait_count(d, CACHEFILES_OP_CLOSE, 1, OD_WAIT_MS));
	/* what B reads must come through its cache file, not A's pages */
	ASSERT_EQ(0, ods_drop_caches());

	reads = od_count(d, CACHEFILES_OP_READ);
	self->serve = "plain-b";
	ASSERT_EQ(0, ods_env_mount_bounded(_metadata, &self->e, &self->mo, self->b, DOMAIN));
	fd = open(ods_path(&self->e, "odd-tail"), O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, fd);
	EXPECT_EQ((ssize_t)strlen(FILE_B), read(fd, head, strlen(FILE_B)));
	close(fd);
	EXPECT_EQ(0, memcmp(head, FILE_B, strlen(FILE_B)))
		TH_LOG("fsid B (%d bytes) reads fsid A's bytes: \"%.10s\"", variant->len, head);
	EXPECT_LT(reads, od_count(d, CACHEFILES_OP_READ))
		TH_LOG("fsid B (%d bytes) fetched nothing: it found fsid A's cache file",
		       variant->len);
	EXPECT_EQ(0, ods_env_umount(&self->e));
}

ODS_MAIN
