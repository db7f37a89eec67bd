// SPDX-License-Identifier: GPL-2.0
/*
 * Bad input from the daemon: malformed copen, wrong READ_COMPLETE, bad
 * anon-fd writes, junk commands, a read() of an OPEN into a buffer the
 * kernel cannot write.
 *
 * Every case but the last starts from the same world: "inline" mounted, one
 * of its READs taken and held; "plain" being mounted, its OPEN taken and
 * held.
 * The junk is aimed at those two requests.  Each case checks the errno
 * fs/cachefiles gives the junk, then what became of the requests: still
 * answerable (the mount then succeeds and every byte reads right), or,
 * where the source consumes the OPEN, failed cleanly.
 */
#include <sys/ioctl.h>
#include <sys/uio.h>

#include "ods.h"

enum after {
	KEPT,		/* the OPEN is still pending: answering it works */
	ANSWERED,	/* the junk answered the OPEN itself (a valid form) */
	FAILED,		/* the junk consumed the OPEN: the mount fails */
	DONE,		/* the test already answered it */
};

struct world {
	struct ods_env e;
	char mnt2[PATH_MAX];
	struct od_reader r;		/* blocked in the held READ */
	struct od_mounter mounter;	/* blocked in the held OPEN */
	struct od_record *answered;	/* the OPEN of "inline" */
	struct od_record *read;		/* held: a READ of "inline" */
	struct od_record *open;		/* held: the OPEN of "plain" */
};

static const char *path2(struct world *w, const char *rel)
{
	static char p[PATH_MAX * 2];

	snprintf(p, sizeof(p), "%s/%s", w->mnt2, rel);
	return p;
}

static void world_up(struct __test_metadata *_metadata, struct world *w)
{
	struct od_daemon *d = &w->e.d;
	struct stat st;

	ASSERT_EQ(0, ods_up(&w->e));
	snprintf(w->mnt2, sizeof(w->mnt2), "%s.2", w->e.mnt);
	ASSERT_EQ(0, od_mount("inline", NULL, w->mnt2));
	/* look it up now, so that the held READ is file data */
	ASSERT_EQ(0, stat(path2(w, "big-odd"), &st));
	w->answered = od_find(d, CACHEFILES_OP_OPEN, 0);
	ASSERT_NE(NULL, w->answered);
	od_stop(d);	/* from here the test answers by hand */

	ASSERT_EQ(0, od_reader_start(&w->r, path2(w, "big-odd"), 0, -1));
	ASSERT_EQ(0, od_next(d, &w->read, OD_WAIT_MS)) TH_LOG("the read sent no request");
	ASSERT_EQ(CACHEFILES_OP_READ, w->read->opcode);

	ASSERT_EQ(0, od_mount_start(&w->mounter, "plain", NULL, w->e.mnt));
	ASSERT_EQ(0, od_next(d, &w->open, OD_WAIT_MS)) TH_LOG("the mount sent no OPEN");
	ASSERT_EQ(CACHEFILES_OP_OPEN, w->open->opcode);
}

static void world_down(struct __test_metadata *_metadata, struct world *w)
{
	struct od_daemon *d = &w->e.d;

	/*
	 * A test that stopped half-way left requests held; the mounter then
	 * sleeps uninterruptibly in fscache. Closing the device fails them.
	 */
	if (w->r.pid > 0 || w->mounter.pid > 0) {
		od_stop(d);
		od_close_dev(d);
	}
	od_reader_kill(&w->r);
	od_mount_kill(&w->mounter);
	/* umount needs a daemon to take the CLOSE */
	od_set_script(d, NULL, NULL);
	if (!d->running && d->dev >= 0)
		od_start(d);
	if (umount2(w->mnt2, 0))
		umount2(w->mnt2, MNT_DETACH);
	rmdir(w->mnt2);
	ods_down(_metadata, &w->e);
}


/*
 * A consumed OPEN fails the cookie's lookup, and the mount fails whatever
 * errno the OPEN got: with EIO when its superblock read already waits in
 * cachefiles_prepare_read() (erofs logs "failed to fscache prepare_read"),
 * with ENOBUFS from fscache_begin_operation() if it comes later.
 */
static bool lookup_failed(int err)
{
	return err == -EIO || err == -ENOBUFS;
}

/*
 * Answer whatever is still held, then let a correct daemon finish: the
 * held requests must have survived the junk, and every reader gets the
 * right bytes.
 */
static void aftermath(struct __test_metadata *_metadata, struct world *w,
		      enum after after)
{
	struct od_daemon *d = &w->e.d;
	off_t size = od_blob_size("plain");
	char sha[65];

	if (w->read) {
		EXPECT_EQ(0, od_reply(d, w->read))
			TH_LOG("the held READ %u was completed or dropped by the junk",
			       w->read->msg_id);
	}
	switch (after) {
	case KEPT:
		EXPECT_EQ(0, od_reply(d, w->open))
			TH_LOG("the held OPEN %u did not survive the junk", w->open->msg_id);
		break;
	case ANSWERED:
		/* track the object the junk opened; a second copen is refused */
		EXPECT_EQ(-EINVAL, od_open_as(d, w->open, NULL, -1))
			TH_LOG("the command did not answer OPEN %u", w->open->msg_id);
		break;
	case FAILED:
		EXPECT_EQ(-EINVAL, od_copen(d, w->open->msg_id, size))
			TH_LOG("the junk did not consume OPEN %u", w->open->msg_id);
		close(w->open->anon_fd);
		break;
	case DONE:
		break;
	}
	ASSERT_EQ(0, od_start(d));

	ASSERT_EQ(0, od_mount_wait(&w->mounter, OD_WAIT_MS)) TH_LOG("the mount hangs");
	EXPECT_TRUE(after == FAILED ? lookup_failed(w->mounter.result) : !w->mounter.result)
		TH_LOG("mount: %s", strerror(-w->mounter.result));
	w->e.mounted = !w->mounter.result;
	if (w->e.mounted)
		ods_expect_image(_metadata, w->e.mnt, "plain");

	ASSERT_EQ(0, od_reader_wait(&w->r, OD_WAIT_MS)) TH_LOG("the reader hangs");
	EXPECT_EQ(0, w->r.result) TH_LOG("reader: %s", strerror(-w->r.result));
	snprintf(sha, sizeof(sha), "%s", od_manifest_sha("inline", "big-odd"));
	EXPECT_STREQ(sha, w->r.sha256);
	EXPECT_STREQ("", d->error);
}

/*
 * A command from a template: {open} {open_hex} {read} {answered} {never}
 * {size} become the held OPEN's id (decimal, hex), the held READ's id, the
 * answered OPEN's id, an id never issued, and the blob's size.  pad > 0
 * pads the arguments with leading spaces to a total of pad bytes.
 */
static size_t fill(struct world *w, const char *tmpl, size_t len, size_t pad,
		   char *out, size_t n)
{
	struct { const char *tok; char val[32]; } sub[] = {
		{ "{open}" }, { "{open_hex}" }, { "{read}" },
		{ "{answered}" }, { "{never}" }, { "{size}" },
	};
	const int nsub = ARRAY_SIZE(sub);
	size_t o = 0;

	snprintf(sub[0].val, 32, "%u", w->open->msg_id);
	snprintf(sub[1].val, 32, "0x%x", w->open->msg_id);
	snprintf(sub[2].val, 32, "%u", w->read->msg_id);
	snprintf(sub[3].val, 32, "%u", w->answered->msg_id);
	snprintf(sub[4].val, 32, "%u", w->open->msg_id + 100000);
	snprintf(sub[5].val, 32, "%lld", (long long)od_blob_size("plain"));
	for (size_t i = 0; i < len && o + 32 < n;) {
		int t = 0;

		while (t < nsub && strncmp(tmpl + i, sub[t].tok, strlen(sub[t].tok)))
			t++;
		if (t == nsub) {
			out[o++] = tmpl[i++];
			continue;
		}
		o += sprintf(out + o, "%s", sub[t].val);
		i += strlen(sub[t].tok);
	}
	if (pad > o && pad <= n) {
		char *sp = memchr(out, ' ', o);
		size_t at = sp ? sp - out : o;

		memmove(out + at + pad - o, out + at, o - at);
		memset(out + at, ' ', pad - o);
		o = pad;
	}
	return o;
}

static void junk_then_reply(struct __test_metadata *_metadata, struct world *w,
			    const char *tmpl, size_t len, size_t pad, int err,
			    enum after after)
{
	static char buf[2 * 65536];
	size_t n = fill(w, tmpl, len, pad, buf, sizeof(buf));

	EXPECT_EQ(err, od_cmd_raw(&w->e.d, buf, n))
		TH_LOG("\"%.*s\" (%zu bytes)", (int)(n < 80 ? n : 80), buf, n);
	aftermath(_metadata, w, after);
}

#define CMD(s)	.cmd = s, .len = sizeof(s) - 1

/* "copen <id>,<size>" in forms cachefiles_ondemand_copen() rejects */
FIXTURE(copen) {
	struct world w;
};

FIXTURE_VARIANT(copen) {
	const char *cmd;
	size_t len;
	int err;		/* what write() returns: 0 or -errno */
	enum after after;	/* what became of the held OPEN */
};

/* the id does not parse: rejected before any request is looked up */
FIXTURE_VARIANT_ADD(copen, no_args) { CMD("copen"), -EINVAL, KEPT };
FIXTURE_VARIANT_ADD(copen, no_comma) { CMD("copen {open}"), -EINVAL, KEPT };
FIXTURE_VARIANT_ADD(copen, empty_id) { CMD("copen ,{size}"), -EINVAL, KEPT };
FIXTURE_VARIANT_ADD(copen, text_id) { CMD("copen abc,{size}"), -EINVAL, KEPT };
/* the id names no pending OPEN */
FIXTURE_VARIANT_ADD(copen, read_id) { CMD("copen {read},{size}"), -EINVAL, KEPT };
FIXTURE_VARIANT_ADD(copen, answered_id) { CMD("copen {answered},{size}"), -EINVAL, KEPT };
FIXTURE_VARIANT_ADD(copen, never_issued) { CMD("copen {never},{size}"), -EINVAL, KEPT };
/* the size is parsed after the OPEN was taken off the queue: it fails */
FIXTURE_VARIANT_ADD(copen, text_size) { CMD("copen {open},abc"), -EINVAL, FAILED };
FIXTURE_VARIANT_ADD(copen, huge_size) { CMD("copen {open},9223372036854775808"), -ERANGE, FAILED };
FIXTURE_VARIANT_ADD(copen, nonerrno_size) { CMD("copen {open},-100000"), -EINVAL, FAILED };
/* kstrtoul(..., 0, ...): a hex id is a valid id */
FIXTURE_VARIANT_ADD(copen, hex_id) { CMD("copen {open_hex},{size}"), 0, ANSWERED };
/*
 * Each limit a copen meets, below, at and above it.  cachefiles_ondemand_copen()
 * (fs/cachefiles/ondemand.c, 6.1.192:188-221, 6.12.118:187-220): the id is
 * an unsigned long (kstrtoul, base 0) that must name a pending OPEN; the
 * size a long (kstrtol, base 0); a negative size is the OPEN's error only
 * within IS_ERR_VALUE(), -MAX_ERRNO (-4095) to -1, else EINVAL.  Then
 * cachefiles_create_tmpfile() (fs/cachefiles/namei.c, 6.1.192:478-485,
 * 6.12.118:481-488) truncates the new cache file to the size rounded up
 * to 4096: the cache filesystem's largest file (ext4, 4 KiB blocks:
 * 2^44 - 4096) is the last size that works; above it the copen is taken,
 * and the lookup fails (EFBIG; LONG_MAX rounds up past the sign).
 */
FIXTURE_VARIANT_ADD(copen, id_above_u32) { CMD("copen 4294967296,{size}"), -EINVAL, KEPT };
FIXTURE_VARIANT_ADD(copen, id_above_ulong) { CMD("copen 18446744073709551616,{size}"), -ERANGE, KEPT };
FIXTURE_VARIANT_ADD(copen, id_negative) { CMD("copen -1,{size}"), -EINVAL, KEPT };
FIXTURE_VARIANT_ADD(copen, size_minus_1) { CMD("copen {open},-1"), 0, FAILED };
FIXTURE_VARIANT_ADD(copen, size_max_errno) { CMD("copen {open},-4095"), 0, FAILED };
FIXTURE_VARIANT_ADD(copen, size_max_errno_1) { CMD("copen {open},-4096"), -EINVAL, FAILED };
FIXTURE_VARIANT_ADD(copen, size_long_min) { CMD("copen {open},-9223372036854775808"), -EINVAL, FAILED };
FIXTURE_VARIANT_ADD(copen, size_1tib) { CMD("copen {open},1099511627776"), 0, ANSWERED };
FIXTURE_VARIANT_ADD(copen, size_ext4_max) { CMD("copen {open},17592186040320"), 0, ANSWERED };
FIXTURE_VARIANT_ADD(copen, size_ext4_max_1) { CMD("copen {open},17592186040321"), 0, FAILED };
FIXTURE_VARIANT_ADD(copen, size_long_max) { CMD("copen {open},9223372036854775807"), 0, FAILED };
FIXTURE_VARIANT_ADD(copen, size_plus) { CMD("copen {open},+{size}"), 0, ANSWERED };
FIXTURE_VARIANT_ADD(copen, size_space) { CMD("copen {open}, {size}"), -EINVAL, FAILED };
FIXTURE_VARIANT_ADD(copen, size_empty) { CMD("copen {open},"), -EINVAL, FAILED };

FIXTURE_SETUP(copen)
{
	world_up(_metadata, &self->w);
}

FIXTURE_TEARDOWN(copen)
{
	world_down(_metadata, &self->w);
}

TEST_F(copen, write_then_reply)
{
	junk_then_reply(_metadata, &self->w, variant->cmd, variant->len, 0,
			variant->err, variant->after);
}

/* cachefiles_daemon_write() and its command parser */
FIXTURE(devwrite) {
	struct world w;
};

FIXTURE_VARIANT(devwrite) {
	const char *cmd;
	size_t len;
	enum { NOPAD, PAD_PAGE, PAD_PAGE_LESS_1 } pad;	/* pad to this many bytes */
	int err;
	enum after after;
};

FIXTURE_VARIANT_ADD(devwrite, unknown) {
	CMD("frobnicate {open},{size}"), NOPAD, -EOPNOTSUPP, KEPT
};
FIXTURE_VARIANT_ADD(devwrite, empty) {
	CMD(""), NOPAD, -EOPNOTSUPP, KEPT
};
FIXTURE_VARIANT_ADD(devwrite, leading_newline) {
	CMD("\ncopen {open},{size}"), NOPAD, -EINVAL, KEPT
};
FIXTURE_VARIANT_ADD(devwrite, embedded_nul) {
	CMD("copen {open},{size}\0"), NOPAD, -EINVAL, KEPT
};
/* at most PAGE_SIZE - 1 bytes: one more is refused before parsing */
FIXTURE_VARIANT_ADD(devwrite, too_long) {
	CMD("copen {open},{size}"), PAD_PAGE, -EOPNOTSUPP, KEPT
};
FIXTURE_VARIANT_ADD(devwrite, longest) {
	CMD("copen {open},{size}"), PAD_PAGE_LESS_1, 0, ANSWERED
};
/* everything from the first newline on is ignored */
FIXTURE_VARIANT_ADD(devwrite, two_lines) {
	CMD("copen {open},{size}\nfrobnicate"), NOPAD, 0, ANSWERED
};

FIXTURE_SETUP(devwrite)
{
	world_up(_metadata, &self->w);
}

FIXTURE_TEARDOWN(devwrite)
{
	world_down(_metadata, &self->w);
}

TEST_F(devwrite, write_then_reply)
{
	size_t page = sysconf(_SC_PAGESIZE);
	size_t pad = variant->pad == PAD_PAGE ? page :
		     variant->pad == PAD_PAGE_LESS_1 ? page - 1 : 0;

	junk_then_reply(_metadata, &self->w, variant->cmd, variant->len, pad,
			variant->err, variant->after);
}

/*
 * CACHEFILES_IOC_READ_COMPLETE on the held READ's anon fd, naming a
 * request that is not a pending READ of that fd's object.
 */
enum target { NEVER, OPEN_ID, OTHER_OBJECT, COMPLETED, SELF };

FIXTURE(cread) {
	struct world w;
};

FIXTURE_VARIANT(cread) {
	enum target target;
	unsigned int cmd;	/* 0: CACHEFILES_IOC_READ_COMPLETE */
};

FIXTURE_VARIANT_ADD(cread, never_issued) { NEVER };
FIXTURE_VARIANT_ADD(cread, pending_open) { OPEN_ID };
FIXTURE_VARIANT_ADD(cread, other_object) { OTHER_OBJECT };
FIXTURE_VARIANT_ADD(cread, completed) { COMPLETED };
FIXTURE_VARIANT_ADD(cread, unknown_ioctl) { SELF, _IOW(0x98, 2, int) };

FIXTURE_SETUP(cread)
{
	world_up(_metadata, &self->w);
}

FIXTURE_TEARDOWN(cread)
{
	world_down(_metadata, &self->w);
}

TEST_F(cread, ioctl_then_reply)
{
	struct world *w = &self->w;
	struct od_daemon *d = &w->e.d;
	int fd = od_object(d, w->read->object_id)->anon_fd;
	unsigned int cmd = variant->cmd ?: CACHEFILES_IOC_READ_COMPLETE;
	struct od_record *other = NULL;
	unsigned long id = w->read->msg_id;
	enum after after = KEPT;
	int ret;

	switch (variant->target) {
	case NEVER:
		id += 100000;
		break;
	case OPEN_ID:
		id = w->open->msg_id;
		break;
	case OTHER_OBJECT:
		/* the mount's first READ of "plain": pending on another object */
		ASSERT_EQ(0, od_reply(d, w->open));
		ASSERT_EQ(0, od_next(d, &other, OD_WAIT_MS));
		ASSERT_EQ(CACHEFILES_OP_READ, other->opcode);
		ASSERT_NE(w->read->object_id, other->object_id);
		id = other->msg_id;
		after = DONE;
		break;
	case COMPLETED:
		/* complete it, and hold the READ that follows in its place */
		ASSERT_EQ(0, od_reply(d, w->read));
		ASSERT_EQ(0, od_next(d, &w->read, OD_WAIT_MS));
		ASSERT_EQ(CACHEFILES_OP_READ, w->read->opcode);
		break;
	case SELF:
		break;
	}

	ret = ioctl(fd, cmd, id) ? -errno : 0;
	EXPECT_EQ(-EINVAL, ret) TH_LOG("ioctl(%#x, %lu): %s", cmd, id, strerror(-ret));
	if (other) {
		EXPECT_EQ(0, od_reply(d, other))
			TH_LOG("the READ of the other object was completed through the wrong fd");
	}
	aftermath(_metadata, w, after);
}

/*
 * Writes to the anon fd.  The held READ is first answered in full,
 * then the bad write, then READ_COMPLETE: the reader must still get the
 * right bytes.  Writes are direct I/O into the cache file.
 */
enum base { AT_READ, AT_EOF, AT_ABS };

FIXTURE(anonwrite) {
	struct world w;
	void *buf;
};

FIXTURE_VARIANT(anonwrite) {
	enum base base;
	long long off;		/* from the base */
	size_t len;
	size_t misalign;	/* of the buffer */
	int err;		/* what pwrite() returns: -errno, or 0 for len */
	bool or_lands;		/* refused, or else the bytes land where asked */
	size_t iov[3];		/* pwritev() of these lengths (len in all), if any */
};

FIXTURE_VARIANT_ADD(anonwrite, unaligned_len) { AT_READ, 0, 100, 0, -EINVAL };
FIXTURE_VARIANT_ADD(anonwrite, unaligned_buf) { AT_READ, 0, 4096, 1, -EINVAL };
FIXTURE_VARIANT_ADD(anonwrite, unaligned_off) { AT_READ, 512, 4096, 0, -EINVAL, true };
FIXTURE_VARIANT_ADD(anonwrite, negative_off) { AT_ABS, -4096, 4096, 0, -EINVAL };
/* the cache file just grows */
FIXTURE_VARIANT_ADD(anonwrite, past_eof) { AT_EOF, 1 << 20, 4096, 0, 0 };
/*
 * Offsets at the limits: 32 bits, and the cache filesystem's largest file
 * (ext4, 4 KiB blocks: 2^44 - 4096, its s_maxbytes), which a write may
 * end at but not start at: generic_write_check_limits() says EFBIG.
 */
FIXTURE_VARIANT_ADD(anonwrite, zero_len) { AT_READ, 0, 0, 0, 0 };
FIXTURE_VARIANT_ADD(anonwrite, off_4gib_less_block) { AT_ABS, (1LL << 32) - 4096, 4096, 0, 0 };
FIXTURE_VARIANT_ADD(anonwrite, off_4gib) { AT_ABS, 1LL << 32, 4096, 0, 0 };
FIXTURE_VARIANT_ADD(anonwrite, off_ext4_max_last_block) { AT_ABS, 17592186040320LL - 4096, 4096, 0, 0 };
FIXTURE_VARIANT_ADD(anonwrite, off_ext4_max) { AT_ABS, 17592186040320LL, 4096, 0, -EFBIG };
/*
 * pwritev(): the direct I/O rules apply to each iovec, not to the sum
 * (iomap_dio_bio_iter(): bdev_iter_is_aligned(), each segment's address
 * and length on the cache disk's logical block, 512 bytes here;
 * fs/iomap/direct-io.c:248 in 6.1.192,
 * 317 in 6.12.118).  Blocks, and sectors that sum to
 * a block, land; two pieces off the sectors are refused though they sum
 * to one block.
 */
FIXTURE_VARIANT_ADD(anonwrite, writev_2_blocks) { AT_READ, 0, 8192, .iov = { 4096, 4096 } };
FIXTURE_VARIANT_ADD(anonwrite, writev_512_3584_sectors) {
	AT_READ, 0, 4096, .iov = { 512, 3584 }
};
FIXTURE_VARIANT_ADD(anonwrite, writev_100_3996_sum_aligned) {
	AT_READ, 0, 4096, .err = -EINVAL, .iov = { 100, 3996 }
};

FIXTURE_SETUP(anonwrite)
{
	world_up(_metadata, &self->w);
	ASSERT_EQ(0, posix_memalign(&self->buf, OD_BLOCK, 4 * OD_BLOCK));
}

FIXTURE_TEARDOWN(anonwrite)
{
	world_down(_metadata, &self->w);
	free(self->buf);
}

/* The blob's bytes at [off, off + len) (zeros past its end). */
static void blob_bytes(struct od_object *o, off_t off, size_t len, char *out)
{
	ssize_t n = off < 0 ? 0 : pread(o->blob_fd, out, len, off);

	memset(out + (n > 0 ? n : 0), 0, len - (n > 0 ? n : 0));
}

/* Each 64-byte line of a fixture file names its offset: say whose it is. */
static void first_bad_line(struct __test_metadata *_metadata, const char *path,
			   const char *name)
{
	static char got[1 << 21], want[1 << 21];
	int fd = open(path, O_RDONLY);
	ssize_t n = fd < 0 ? -1 : pread(fd, got, sizeof(got), 0);

	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return;
	od_tree_fill(name, 0, n, want);
	for (ssize_t off = 0; off < n; off += 64) {
		if (!memcmp(got + off, want + off, n - off < 64 ? n - off : 64))
			continue;
		TH_LOG("%s at %zd holds \"%.*s\"", name, off,
		       (int)strcspn(got + off, "\n "), got + off);
		return;
	}
}

TEST_F(anonwrite, write_then_complete)
{
	struct world *w = &self->w;
	struct od_daemon *d = &w->e.d;
	struct od_object *o = od_object(d, w->read->object_id);
	off_t eof = (o->size + OD_BLOCK - 1) & ~(off_t)(OD_BLOCK - 1);
	off_t off = variant->off + (variant->base == AT_READ ? (off_t)w->read->off :
				    variant->base == AT_EOF ? eof : 0);
	char *buf = (char *)self->buf + variant->misalign;
	ssize_t ret;

	blob_bytes(o, off, variant->len, buf);
	if (variant->or_lands) {
		char *there = (char *)self->buf + 2 * OD_BLOCK;

		/* a write put elsewhere is only visible if the bytes differ */
		blob_bytes(o, off & ~(off_t)(OD_BLOCK - 1), variant->len, there);
		ASSERT_NE(0, memcmp(buf, there, variant->len));
	}
	ASSERT_EQ(0, od_write(d, w->read->object_id, w->read->off, w->read->rlen));

	if (variant->iov[0]) {
		struct iovec iov[ARRAY_SIZE(variant->iov)];
		size_t at = 0;
		int n;

		/* consecutive pieces of the buffer */
		for (n = 0; n < ARRAY_SIZE(iov) && variant->iov[n]; n++) {
			iov[n] = (struct iovec){ buf + at, variant->iov[n] };
			at += variant->iov[n];
		}
		ret = pwritev(o->anon_fd, iov, n, off);
	} else {
		ret = pwrite(o->anon_fd, buf, variant->len, off);
	}
	if (ret < 0)
		ret = -errno;
	/*
	 * A misaligned start is refused (EINVAL, as direct I/O would; from
	 * 6.8 __cachefiles_prepare_write() says ENOBUFS) or written where
	 * asked.  6.1..6.7 write it at round_down(off): first_bad_line().
	 */
	if (variant->or_lands && ret >= 0) {
		TH_LOG("pwrite at %lld took %zd bytes; they must land at %lld",
		       (long long)off, ret, (long long)off);
	} else if (variant->or_lands && (ret == -EINVAL || ret == -ENOBUFS)) {
		TH_LOG("pwrite at %lld refused with %s%s", (long long)off, strerror(-ret),
		       ret == -ENOBUFS ? " (6.8 on: a cache write must start on a page)" : "");
	} else {
		EXPECT_EQ(variant->err ?: (ssize_t)variant->len, ret)
			TH_LOG("%s(%zu bytes at %lld, buffer +%zu): %s",
			       variant->iov[0] ? "pwritev" : "pwrite", variant->len,
			       (long long)off, variant->misalign,
			       ret < 0 ? strerror(-ret) : "accepted");
	}
	if (ret > 0 && variant->base == AT_EOF) {
		EXPECT_EQ(off, lseek(o->anon_fd, off, SEEK_DATA))
			TH_LOG("the write past the end is not in the cache file");
	}

	EXPECT_EQ(0, od_cread(d, w->read->object_id, w->read->msg_id))
		TH_LOG("the held READ did not survive the bad write");
	w->read = NULL;
	aftermath(_metadata, w, KEPT);
	if (variant->or_lands && ret >= 0)
		first_bad_line(_metadata, path2(w, "big-odd"), "big-odd");
}

/*
 * The daemon reads the OPEN into memory it cannot write (a read-only
 * mapping).  The copy fails after the anon fd was made: read() returns
 * EFAULT, the fd is never installed (the daemon has the same fds as
 * before, the lowest free number included), and the OPEN is failed, so
 * the mount fails (on a cold cache its superblock read waits in
 * cachefiles_prepare_read(): EIO).  Nothing is left behind: no request,
 * and a sane read of the next mount's OPEN works.
 */
FIXTURE(readfault) {
	struct ods_env e;
	struct od_mounter mo;
	void *ro;
};

FIXTURE_SETUP(readfault)
{
	self->mo.pid = -1;
	self->ro = mmap(NULL, CACHEFILES_MSG_MAX_SIZE, PROT_READ,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->ro);
	ASSERT_EQ(0, ods_up(&self->e));
	od_stop(&self->e.d);
}

FIXTURE_TEARDOWN(readfault)
{
	ods_down_mounter(_metadata, &self->e, &self->mo);
	munmap(self->ro, CACHEFILES_MSG_MAX_SIZE);
}

TEST_F(readfault, open_efault)
{
	struct od_daemon *d = &self->e.d;
	int fds, lowest;
	ssize_t n;

	ods_mount_pending(_metadata, &self->e, &self->mo, "plain");
	fds = od_fd_count();
	lowest = od_fd_lowest_free();
	n = read(d->dev, self->ro, CACHEFILES_MSG_MAX_SIZE);
	EXPECT_EQ(-EFAULT, n < 0 ? -errno : n) TH_LOG("read() into a read-only buffer");
	EXPECT_EQ(fds, od_fd_count()) TH_LOG("an anon fd was installed");
	EXPECT_EQ(lowest, od_fd_lowest_free()) TH_LOG("an fd number was leaked");
	ods_failed_open_recovers(_metadata, &self->e, &self->mo, "plain");
}

ODS_MAIN
