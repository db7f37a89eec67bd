// SPDX-License-Identifier: GPL-2.0
/*
 * Keys at their limits.  An EROFS mount's fsid becomes the cookie key of
 * its blob, and "erofs,<fsid>" (or "erofs,<domain_id>") its volume key;
 * both reach the daemon in the OPEN and name files in the cache directory.
 * The limits on the way, read in 6.1.192 and 6.12.117 (same lines):
 *
 *   fscache_alloc_volume()    volume key over NAME_MAX (255): no volume
 *                             (fs/fscache/volume.c:223; 6.12 netfs/fscache_volume.c)
 *   cachefiles_acquire_volume() the volume's directory is "I<key>": a key
 *                             of 255 makes a 256-byte name (cachefiles/volume.c:43)
 *   fscache_set_key()         keys up to 16 bytes inline, longer ones
 *                             allocated (fs/fscache/cookie.c:285)
 *   fscache_acquire_cookie()  cookie key of 0 or over 255 bytes refused
 *                             (fs/fscache/cookie.c:461)
 *   cachefiles_cook_key()     BUG_ON(keylen > NAME_MAX - 3); a printable
 *                             key is used as is ('D'), a short binary one
 *                             in hex ('S'/'T'), others in base64 ('E')
 *                             (fs/cachefiles/key.c:47-130)
 *
 * A domain_id takes the fsid's place in the volume key, "erofs,<domain_id>"
 * (erofs_fscache_register_volume(), fs/erofs/fscache.c:417 in 6.1.192,
 * 413 in 6.12.118): it meets the same two volume limits, while the fsid
 * stays a short cookie key.  EROFS itself keeps any length (kstrdup() of
 * the mount option, fs/erofs/super.c:532).
 *
 * Every value: the mount ends within its bound, with success where no
 * limit applies and an error where one does; a mount that succeeds sent
 * the key byte for byte, reads the image right, and mounted again finds
 * the same cache file (no READ: the cooked name round-trips).  A plain
 * mount afterwards still reads right.
 */
#include "ods.h"

enum key_kind {
	PRINTABLE,	/* letters: 'D' encoding */
	BINARY,		/* bytes 0x01..0x1f: hex while short, then base64 */
	HIGH,		/* bytes 0x80..0xff: base64 */
	SLASH,		/* letters and '/', which no file name may hold */
};

FIXTURE(keys) {
	struct ods_env e;
	struct od_mounter mo;
	char key[512];
	char domain[512];
	char volume[512];
};

FIXTURE_VARIANT(keys) {
	enum key_kind kind;
	int len;		/* the fsid's bytes */
	bool domain;		/* in a domain: the volume key stays short */
	bool mounts;		/* no limit applies */
	int domain_len;		/* a domain_id of this many bytes; 0: "odskeys" */
	int err;		/* !mounts: the mount's errno, if pinned */
	bool may_refuse;	/* mounts, or fails: both are right */
};

/* one line a value; names say where it sits against the limit it meets */
FIXTURE_VARIANT_ADD(keys, fsid_1) { PRINTABLE, 1, false, true };
FIXTURE_VARIANT_ADD(keys, fsid_16_inline) { PRINTABLE, 16, false, true };
FIXTURE_VARIANT_ADD(keys, fsid_17_allocated) { PRINTABLE, 17, false, true };
FIXTURE_VARIANT_ADD(keys, fsid_248_volume_dir_255) { PRINTABLE, 248, false, true };
FIXTURE_VARIANT_ADD(keys, fsid_249_volume_dir_256) { PRINTABLE, 249, false, false };
FIXTURE_VARIANT_ADD(keys, fsid_250_volume_256) { PRINTABLE, 250, false, false };
FIXTURE_VARIANT_ADD(keys, dom_fsid_252_cook_max) { PRINTABLE, 252, true, true };
FIXTURE_VARIANT_ADD(keys, dom_fsid_253_cook_max_1) { PRINTABLE, 253, true, false };
FIXTURE_VARIANT_ADD(keys, dom_fsid_255_cookie_max) { PRINTABLE, 255, true, false };
FIXTURE_VARIANT_ADD(keys, dom_fsid_256_cookie_max_1) { PRINTABLE, 256, true, false };
FIXTURE_VARIANT_ADD(keys, binary_2_hex) { BINARY, 2, false, true };
FIXTURE_VARIANT_ADD(keys, binary_33_base64) { BINARY, 33, false, true };
FIXTURE_VARIANT_ADD(keys, high_64_base64) { HIGH, 64, false, true };
FIXTURE_VARIANT_ADD(keys, dom_high_189_base64_254) { HIGH, 189, true, true };
/*
 * base64 of 190 bytes is 258 characters, more than NAME_MAX: a kernel may
 * refuse the key, or (6.1.192 to 6.12.118) cut the name to "E2" (a u8
 * d_name_len) and find it again.  Whether the cut name is shared with
 * another key is keyclash.c's to judge.
 */
FIXTURE_VARIANT_ADD(keys, dom_high_190_base64) {
	.kind = HIGH, .len = 190, .domain = true, .mounts = true, .may_refuse = true };
FIXTURE_VARIANT_ADD(keys, slash_9_volume_dir) { SLASH, 9, false, false };
FIXTURE_VARIANT_ADD(keys, dom_slash_9_base64) { SLASH, 9, true, true };
/*
 * The domain_id at the fsid's volume limits; the fsid is 8 bytes.  249:
 * the volume exists but its directory cannot be made, so the blob's lookup
 * fails (ENOBUFS from fscache_begin_operation()); 250: no volume, and
 * fscache_acquire_volume() says ENOMEM for fscache_alloc_volume()'s NULL
 * (fs/fscache/volume.c:223, 6.1.192).
 */
FIXTURE_VARIANT_ADD(keys, domain_id_1) { PRINTABLE, 8, true, true, 1 };
FIXTURE_VARIANT_ADD(keys, domain_id_248_volume_dir_255) { PRINTABLE, 8, true, true, 248 };
FIXTURE_VARIANT_ADD(keys, domain_id_249_volume_dir_256) { PRINTABLE, 8, true, false, 249, -ENOBUFS };
FIXTURE_VARIANT_ADD(keys, domain_id_250_volume_256) { PRINTABLE, 8, true, false, 250, -ENOMEM };

static void make_key(char *key, enum key_kind kind, int len)
{
	for (int i = 0; i < len; i++) {
		switch (kind) {
		case PRINTABLE:
			key[i] = 'a' + i % 26;
			break;
		case BINARY:
			key[i] = 1 + i % 31;
			break;
		case HIGH:
			key[i] = (char)(0x80 + i % 128);
			break;
		case SLASH:
			key[i] = i % 3 == 1 ? '/' : 'a' + i % 26;
			break;
		}
	}
	key[len] = '\0';
}

/* Every OPEN is served from the plain image, whatever its key. */
static enum od_action serve_plain(struct od_daemon *d, struct od_record *m, void *arg)
{
	if (m->opcode != CACHEFILES_OP_OPEN)
		return OD_REPLY;
	od_open_as(d, m, "plain", -1);
	return OD_DONE;
}

FIXTURE_SETUP(keys)
{
	self->mo.pid = -1;
	ASSERT_EQ(0, ods_up(&self->e));
	if (variant->domain && !od_kernel_has_domain_id())
		SKIP(return, "no domain_id: EROFS shares volumes from 6.1");
	make_key(self->key, variant->kind, variant->len);
	/* upper case: a domain_id of the fsid's letters could be mistaken for it */
	for (int i = 0; i < variant->domain_len; i++)
		self->domain[i] = 'A' + i % 26;
	if (variant->domain && !variant->domain_len)
		strcpy(self->domain, "odskeys");
	snprintf(self->volume, sizeof(self->volume), "erofs,%s",
		 variant->domain ? self->domain : self->key);
	od_set_script(&self->e.d, serve_plain, NULL);
}

FIXTURE_TEARDOWN(keys)
{
	ods_down_mounter(_metadata, &self->e, &self->mo);
}

/* Mount with the key as fsid, bounded: 0 or -errno. */
static int mount_key(struct __test_metadata *_metadata, FIXTURE_DATA(keys) *self,
		     const FIXTURE_VARIANT(keys) *variant)
{
	return ods_env_mount_bounded(_metadata, &self->e, &self->mo, self->key,
				     variant->domain ? self->domain : NULL);
}

TEST_F(keys, mount_read_remount)
{
	struct od_daemon *d = &self->e.d;
	struct od_record *m;
	int ret, reads;

	ret = mount_key(_metadata, self, variant);
	if (!variant->mounts) {
		EXPECT_NE(0, ret) TH_LOG("a %d-byte fsid (domain_id %zu bytes) was taken",
					 variant->len, strlen(self->domain));
		if (variant->err)
			EXPECT_EQ(variant->err, ret);
		TH_LOG("a %d-byte fsid (domain_id %zu bytes): %s", variant->len,
		       strlen(self->domain), strerror(-ret));
		goto after;
	}
	if (ret && ret != -ETIMEDOUT && variant->may_refuse) {
		TH_LOG("a %d-byte fsid: refused, %s", variant->len, strerror(-ret));
		goto after;
	}
	ASSERT_EQ(0, ret) TH_LOG("a %d-byte fsid (domain_id %zu bytes): %s", variant->len,
				 strlen(self->domain), strerror(-ret));
	m = od_find(d, CACHEFILES_OP_OPEN, 0);
	ASSERT_NE(NULL, m);
	EXPECT_EQ(variant->len, m->cookie_key_size);
	EXPECT_EQ(0, memcmp(self->key, m->cookie_key, variant->len))
		TH_LOG("the OPEN's cookie key is not the fsid");
	EXPECT_EQ(strlen(self->volume) + 1, m->volume_key_size);
	EXPECT_STREQ(self->volume, m->volume_key);
	ods_expect_image(_metadata, self->e.mnt, "plain");

	/* again: the cache file under the cooked name is found, nothing to fetch */
	reads = od_count(d, CACHEFILES_OP_READ);
	ASSERT_EQ(0, ods_env_umount(&self->e));
	ASSERT_EQ(0, od_wait_count(d, CACHEFILES_OP_CLOSE, 1, OD_WAIT_MS));
	ASSERT_EQ(0, mount_key(_metadata, self, variant));
	ods_expect_image(_metadata, self->e.mnt, "plain");
	EXPECT_EQ(reads, od_count(d, CACHEFILES_OP_READ))
		TH_LOG("mounted again, the blob was fetched again: its cache file was not found");
	ASSERT_EQ(0, ods_env_umount(&self->e));
after:
	/* whatever the key did, a plain mount still works */
	od_set_script(d, NULL, NULL);
	ASSERT_EQ(0, ods_env_mount(&self->e, "plain"));
	ods_expect_image(_metadata, self->e.mnt, "plain");
}

/*
 * The cache's tag ("tag <name>", cachefiles_daemon_tag()): refused only
 * when empty (fs/cachefiles/daemon.c:612); otherwise kept as the cache's
 * name whatever its length, up to what one command carries: PAGE_SIZE - 1
 * bytes with "tag " (daemon.c:295).  Any tag serves EROFS, which asks for
 * no cache by name.
 */
FIXTURE(cachetag) {
	struct ods_env e;
	char tag[4096];
};

FIXTURE_VARIANT(cachetag) {
	enum key_kind kind;
	int len;
	int err;		/* what the tag command gets */
};

FIXTURE_VARIANT_ADD(cachetag, tag_1) { PRINTABLE, 1, 0 };
FIXTURE_VARIANT_ADD(cachetag, tag_4091_longest) { PRINTABLE, 4091, 0 };
FIXTURE_VARIANT_ADD(cachetag, tag_binary) { HIGH, 64, 0 };
FIXTURE_VARIANT_ADD(cachetag, tag_slash) { SLASH, 9, 0 };
FIXTURE_VARIANT_ADD(cachetag, tag_empty) { PRINTABLE, 0, -EINVAL };

FIXTURE_SETUP(cachetag)
{
	make_key(self->tag, variant->kind, variant->len);
}

FIXTURE_TEARDOWN(cachetag)
{
	ods_down(_metadata, &self->e);
}

TEST_F(cachetag, bind_mount_read)
{
	struct od_daemon *d = &self->e.d;
	int ret;

	ods_env_name(&self->e);
	ret = od_bind(d, self->e.cache, self->tag);
	EXPECT_EQ(variant->err, ret) TH_LOG("a %d-byte tag: %s", variant->len, strerror(-ret));
	if (ret)	/* the refused tag left the cache unbound: bind it untagged */
		ASSERT_EQ(0, od_cmd(d, "bind ondemand"));
	ASSERT_EQ(0, od_start(d));
	ASSERT_EQ(0, ods_env_mount(&self->e, "plain"));
	ods_expect_image(_metadata, self->e.mnt, "plain");
}

ODS_MAIN
