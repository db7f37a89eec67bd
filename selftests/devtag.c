// SPDX-License-Identifier: GPL-2.0
/*
 * Extra blobs named by the image's device table, with no -o device=.
 * erofs_scan_devices() then makes one device per slot of the table and
 * erofs_init_device() takes the slot's tag (up to 64 bytes, kmemdup_nul())
 * as the device's name, which in on-demand mode is its cookie key; a slot
 * with an empty tag fails the mount ("empty device tag", EINVAL).  The
 * tagged images are fixtures/tags: one tag per limit (1 byte, 64 with no
 * NUL, binary, with '/', which cachefiles_cook_key() must encode).
 *
 * The oracle for the key is the image itself: the tag as its device table
 * holds it, read from the blob as fs/erofs/erofs_fs.h lays it out.
 */
#include <endian.h>

#include "ods.h"

#define EROFS_SB_OFF	1024
#define DEVT_SLOTOFF	88	/* le16 devt_slotoff in the superblock */
#define DEVT_SLOT_SIZE	128	/* struct erofs_deviceslot */
#define TAG_MAX		64	/* its tag[] */

FIXTURE(devtag) {
	struct ods_env e;
	struct od_mounter mo;
};

FIXTURE_VARIANT(devtag) {
	const char *image;	/* fixtures/tags, or multi with its empty tag */
	bool mounts;
};

FIXTURE_VARIANT_ADD(devtag, tagged) { "tagged", true };
FIXTURE_VARIANT_ADD(devtag, tag_1) { "tag1", true };
FIXTURE_VARIANT_ADD(devtag, tag_64_no_nul) { "tag64", true };
FIXTURE_VARIANT_ADD(devtag, tag_binary) { "tagbin", true };
FIXTURE_VARIANT_ADD(devtag, tag_slash) { "tagslash", true };
FIXTURE_VARIANT_ADD(devtag, tag_empty) { "multi", false };

/* The first device slot's tag, as the image holds it: its length, or -errno. */
static int image_tag(const char *image, char tag[TAG_MAX + 1])
{
	int fd = od_blob_open(image), len = -EIO;
	uint16_t slot;

	if (fd < 0)
		return fd;
	if (pread(fd, &slot, 2, EROFS_SB_OFF + DEVT_SLOTOFF) == 2 &&
	    pread(fd, tag, TAG_MAX, (off_t)le16toh(slot) * DEVT_SLOT_SIZE) == TAG_MAX) {
		tag[TAG_MAX] = '\0';
		len = strlen(tag);
	}
	close(fd);
	return len;
}

/* The image's OPEN from its blob; any other (the device's) from multi-blob. */
static enum od_action serve_device(struct od_daemon *d, struct od_record *m, void *arg)
{
	const char *image = arg;

	if (m->opcode != CACHEFILES_OP_OPEN || !strcmp(m->cookie_key, image))
		return OD_REPLY;
	od_open_as(d, m, "multi-blob", -1);
	return OD_DONE;
}

FIXTURE_SETUP(devtag)
{
	self->mo.pid = -1;
	ASSERT_EQ(0, ods_up(&self->e));
	od_set_script(&self->e.d, serve_device, (void *)variant->image);
}

FIXTURE_TEARDOWN(devtag)
{
	ods_down_mounter(_metadata, &self->e, &self->mo);
}

TEST_F(devtag, mount_by_tag)
{
	struct od_daemon *d = &self->e.d;
	char tag[TAG_MAX + 1];
	int len = image_tag(variant->image, tag), ret, reads;
	struct od_record *m;

	ASSERT_LE(0, len) TH_LOG("%s: no device table: %s", variant->image, strerror(-len));
	ret = ods_env_mount_bounded(_metadata, &self->e, &self->mo, variant->image, NULL);
	if (!variant->mounts) {
		EXPECT_EQ(-EINVAL, ret) TH_LOG("a device with an empty tag: %s", strerror(-ret));
		EXPECT_EQ(0, len);
		goto after;
	}
	ASSERT_EQ(0, ret) TH_LOG("%s: %s", variant->image, strerror(-ret));
	/* the device's cookie is looked up in a worker: its OPEN may come last */
	ASSERT_EQ(0, od_wait_count(d, CACHEFILES_OP_OPEN, 2, OD_WAIT_MS))
		TH_LOG("the image's OPEN came, its device's did not");
	m = od_find(d, CACHEFILES_OP_OPEN, 1);
	EXPECT_EQ(len, m->cookie_key_size);
	EXPECT_EQ(0, memcmp(tag, m->cookie_key, len)) TH_LOG("the device's key is not its tag");
	ods_expect_image(_metadata, self->e.mnt, variant->image);

	/* again: both cache files are found under their cooked names */
	reads = od_count(d, CACHEFILES_OP_READ);
	ASSERT_EQ(0, ods_env_umount(&self->e));
	ASSERT_EQ(0, od_wait_count(d, CACHEFILES_OP_CLOSE, 2, OD_WAIT_MS));
	ASSERT_EQ(0, ods_env_mount_bounded(_metadata, &self->e, &self->mo, variant->image, NULL));
	ods_expect_image(_metadata, self->e.mnt, variant->image);
	EXPECT_EQ(reads, od_count(d, CACHEFILES_OP_READ))
		TH_LOG("mounted again, a blob was fetched again: its cache file was not found");
	ASSERT_EQ(0, ods_env_umount(&self->e));
after:
	od_set_script(d, NULL, NULL);
	ASSERT_EQ(0, ods_env_mount_image(&self->e, "multi"));
	ods_expect_image(_metadata, self->e.mnt, "multi");
}

ODS_MAIN
