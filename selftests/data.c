// SPDX-License-Identifier: GPL-2.0
/*
 * Data plane: what the daemon writes is what readers get, once, and
 * from the right blob.
 *
 * The data fixture runs each test over every image: plain (every file in
 * blocks of its own), inline (tails packed into the inodes), multi (file
 * data in chunks on an extra blob: a second cookie), large (hundreds of
 * files).  Every 64-byte line of a fixture file names the file and its
 * offset, so a block from the wrong place or blob never checksums right.
 * The multidev fixture pins what is special to extra blobs, the mounts
 * fixture several mounts and domains on one cache.
 */
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>

#include "ods.h"

#define MAX_DEV		4
#define MAX_OBJ		16

FIXTURE(data) {
	struct ods_env e;
	struct od_manifest_entry *files;
	int nfiles;
	char devs[MAX_DEV][OD_KEY_MAX];
	int ndev;
};

FIXTURE_VARIANT(data) {
	const char *fixture;
};

FIXTURE_VARIANT_ADD(data, plain) { .fixture = "plain" };
FIXTURE_VARIANT_ADD(data, inline) { .fixture = "inline" };
FIXTURE_VARIANT_ADD(data, multi) { .fixture = "multi" };
FIXTURE_VARIANT_ADD(data, large) { .fixture = "large" };

FIXTURE_SETUP(data)
{
	self->nfiles = od_manifest_load(variant->fixture, &self->files);
	ASSERT_LT(0, self->nfiles);
	self->ndev = od_image_devices(variant->fixture, self->devs, MAX_DEV);
	ASSERT_LE(0, self->ndev);
	/* tests mount themselves: some answer the mount's OPEN by script */
	ASSERT_EQ(0, ods_up(&self->e));
}

FIXTURE_TEARDOWN(data)
{
	od_set_script(&self->e.d, NULL, NULL);
	ods_down(_metadata, &self->e);
	free(self->files);
}

/* Mount, and wait for the OPEN of each blob: extra blobs open in the background. */
static void mount_image(struct __test_metadata *_metadata, struct ods_env *e,
			const char *image, int nblobs)
{
	int opens = od_count(&e->d, CACHEFILES_OP_OPEN);

	ASSERT_EQ(0, ods_env_mount_image(e, image));
	ASSERT_EQ(0, od_wait_count(&e->d, CACHEFILES_OP_OPEN, opens + nblobs,
				   OD_WAIT_MS))
		TH_LOG("%s: expected %d OPENs, one per blob", image, nblobs);
}

/* Read one range in a reader process (bounded) and compare its digest. */
static int check_range(struct __test_metadata *_metadata, const char *path,
		       off_t off, off_t len, const char *sha)
{
	struct od_reader r;

	EXPECT_EQ(0, od_reader_start(&r, path, off, len));
	if (od_reader_wait(&r, OD_WAIT_MS)) {
		od_reader_kill(&r);
		EXPECT_EQ(0, -ETIMEDOUT) TH_LOG("%s: reader hung", path);
		return -1;
	}
	EXPECT_EQ(0, r.result) TH_LOG("%s [%lld,+%lld): %s", path,
				      (long long)off, (long long)len,
				      strerror(-r.result));
	EXPECT_STREQ(sha, r.sha256) TH_LOG("%s [%lld,+%lld) differs", path,
					   (long long)off, (long long)len);
	return r.result || strcmp(sha, r.sha256) ? -1 : 0;
}

/* In a child: stat()'s size, or -errno. */
static void stat_size(void *path, void *size)
{
	struct stat st;

	*(off_t *)size = stat(path, &st) ? -errno : st.st_size;
}

/* stat() in a child, so that a hung lookup cannot hang the test: size or -errno. */
static off_t file_size(const char *path)
{
	off_t size;
	int ret = od_child_run(stat_size, (void *)path, &size, sizeof(size), OD_WAIT_MS);

	return ret ? -ETIMEDOUT : size;
}

/* What the tree reader reports per file. */
struct tree_result {
	int index, result;
	char sha[65];
};

/*
 * Every file of a manifest, one after the other in a single reader
 * process (a fork per file would cost more than the reading), each
 * result within OD_WAIT_MS of the daemon's last READ, and within ten
 * times that in all: a file served one block at a time (6.12 reads an
 * extra device's blob so) takes longer under KASAN, but never stalls.
 * Returns how many differ.
 */
static int read_tree(struct __test_metadata *_metadata, struct od_daemon *d,
		     const char *mnt, struct od_manifest_entry *files, int nfiles)
{
	char path[PATH_MAX * 2];
	struct tree_result res;
	struct od_child c;
	int bad = 0;

	ASSERT_EQ(0, od_child_start(&c));
	if (c.pid == 0) {
		for (int i = 0; i < nfiles; i++) {
			snprintf(path, sizeof(path), "%s/%s", mnt, files[i].path);
			res.index = i;
			res.sha[0] = 0;
			res.result = od_sha256_file(path, res.sha);
			if (write(c.pipe, &res, sizeof(res)) != sizeof(res))
				_exit(1);
		}
		_exit(0);
	}
	for (int i = 0; i < nfiles; i++) {
		struct pollfd pf = { .fd = c.pipe, .events = POLLIN };
		long deadline = od_now_ms() + 10 * OD_WAIT_MS;
		int reads = od_count(d, CACHEFILES_OP_READ), ret;

		/* waiting on: still READs coming is progress */
		while ((ret = poll(&pf, 1, OD_WAIT_MS)) == 0 && od_now_ms() < deadline &&
		       reads != od_count(d, CACHEFILES_OP_READ))
			reads = od_count(d, CACHEFILES_OP_READ);
		if (ret <= 0 || read(c.pipe, &res, sizeof(res)) != sizeof(res)) {
			od_child_kill(&c);
			bad = nfiles - i;
			EXPECT_EQ(0, -ETIMEDOUT) TH_LOG("reading %s: no result", files[i].path);
			break;
		}
		EXPECT_EQ(0, res.result) TH_LOG("reading %s: %s", files[i].path,
						strerror(-res.result));
		EXPECT_STREQ(files[i].sha256, res.sha)
			TH_LOG("%s differs from the manifest", files[i].path);
		bad += res.result || strcmp(files[i].sha256, res.sha);
	}
	od_child_kill(&c);	/* it has exited, unless it hangs */
	return bad;
}

static int read_all(struct __test_metadata *_metadata, FIXTURE_DATA(data) *self)
{
	int bad = read_tree(_metadata, &self->e.d, self->e.mnt, self->files, self->nfiles);
	struct od_record *m;
	int n = od_count(&self->e.d, CACHEFILES_OP_READ);

	/* what the daemon saw, for a read that failed or hung: the last READs */
	for (int i = n > 8 ? n - 8 : 0; bad && (m = od_find(&self->e.d, CACHEFILES_OP_READ, i)); i++)
		TH_LOG("READ %d of %d: object %u [%llu, +%llu)%s", i + 1, n, m->object_id,
		       (unsigned long long)m->off, (unsigned long long)m->rlen,
		       m->answered ? (m->reply ? " failed" : " answered") : " not answered");
	return bad;
}

static off_t round_block(off_t n)
{
	return (n + OD_BLOCK - 1) & ~(off_t)(OD_BLOCK - 1);
}

/* Every READ so far, in arrival order: count; *out to be freed. */
static int all_reads(struct od_daemon *d, struct od_record ***out)
{
	int n = 0;

	pthread_mutex_lock(&d->lock);
	*out = calloc(d->nrec + 1, sizeof(**out));
	for (int i = 0; *out && i < d->nrec; i++)
		if (d->rec[i].opcode == CACHEFILES_OP_READ)
			(*out)[n++] = &d->rec[i];
	pthread_mutex_unlock(&d->lock);
	return *out ? n : -ENOMEM;
}

/*
 * Every READ names an opened object, starts on a block inside its blob and
 * ends at most at the blob's last block (the daemon pads the tail).  And
 * no range is asked for twice: what the daemon wrote stays in the cache
 * (the readers here take turns, so no two can miss the same range).
 */
static void check_reads(struct __test_metadata *_metadata, struct od_daemon *d)
{
	struct od_record **r;
	int n = all_reads(d, &r);

	ASSERT_LE(0, n);
	for (int i = 0; i < n; i++) {
		struct od_record *m = r[i], *again = NULL;
		struct od_object *o = od_object(d, m->object_id);

		for (int j = 0; j < i && !again; j++) {
			struct od_record *p = r[j];

			if (p->object_id == m->object_id && p->off < m->off + m->rlen &&
			    m->off < p->off + p->rlen)
				again = p;
		}
		EXPECT_EQ(NULL, again)
			TH_LOG("READ %u [%llu,+%llu) asks again for what READ %u asked",
			       m->msg_id, (unsigned long long)m->off,
			       (unsigned long long)m->rlen, again->msg_id);
		EXPECT_NE(NULL, o) TH_LOG("READ %u for object %u, never opened",
					  m->msg_id, m->object_id);
		if (!o)
			continue;
		EXPECT_EQ(0, m->off % OD_BLOCK);
		EXPECT_GT(o->size, (off_t)m->off);
		EXPECT_GE(round_block(o->size), (off_t)(m->off + m->rlen))
			TH_LOG("READ %u [%llu,+%llu) beyond the %lld-byte blob %s",
			       m->msg_id, (unsigned long long)m->off,
			       (unsigned long long)m->rlen, (long long)o->size, o->key);
		if (m->answered) {
			EXPECT_EQ(0, m->reply) TH_LOG("answering READ %u", m->msg_id);
		}
	}
	free(r);
	EXPECT_STREQ("", d->error);
}

/* READs of one object, or of all (object_id 0). */
static int count_reads(struct od_daemon *d, uint32_t object_id)
{
	struct od_record *m;
	int n = 0;

	for (int i = 0; (m = od_find(d, CACHEFILES_OP_READ, i)); i++)
		n += !object_id || m->object_id == object_id;
	return n;
}

/*
 * Every file reads back right, all of it through READs; each
 * blob is opened once, under the key the daemon serves it by (the fsid,
 * or an extra device's name), its READs stay inside it, and each is
 * closed once at umount.
 */
TEST_F(data, read_all)
{
	struct od_daemon *d = &self->e.d;
	int nblobs = 1 + self->ndev;
	char volume_key[OD_KEY_MAX];
	struct od_record *m, *c;

	mount_image(_metadata, &self->e, variant->fixture, nblobs);
	ASSERT_EQ(0, read_all(_metadata, self));
	ASSERT_EQ(nblobs, od_count(d, CACHEFILES_OP_OPEN));
	snprintf(volume_key, sizeof(volume_key), "erofs,%s", variant->fixture);
	for (int i = 0; i < nblobs; i++) {
		const char *key = i ? self->devs[i - 1] : variant->fixture;
		struct od_record *open = NULL;

		for (int j = 0; (m = od_find(d, CACHEFILES_OP_OPEN, j)); j++)
			if (!strcmp(m->cookie_key, key))
				open = m;
		ASSERT_NE(NULL, open) TH_LOG("no OPEN for blob %s", key);
		EXPECT_STREQ(volume_key, open->volume_key);
		EXPECT_EQ(0, open->reply);
		EXPECT_LT(0, count_reads(d, open->object_id))
			TH_LOG("no READ reached blob %s", key);
	}
	check_reads(_metadata, d);

	ASSERT_EQ(0, ods_env_umount(&self->e));
	ASSERT_EQ(0, od_wait_count(d, CACHEFILES_OP_CLOSE, nblobs, OD_WAIT_MS));
	for (int j = 0; (m = od_find(d, CACHEFILES_OP_OPEN, j)); j++) {
		int closes = 0;

		for (int k = 0; (c = od_find(d, CACHEFILES_OP_CLOSE, k)); k++)
			closes += c->object_id == m->object_id;
		EXPECT_EQ(1, closes) TH_LOG("CLOSEs for blob %s", m->cookie_key);
	}
}

TEST_F(data, reread_is_cached)
{
	int reads;

	mount_image(_metadata, &self->e, variant->fixture, 1 + self->ndev);
	ASSERT_EQ(0, read_all(_metadata, self));
	reads = od_count(&self->e.d, CACHEFILES_OP_READ);
	/* drop the page cache so the second pass goes to cachefiles */
	ASSERT_EQ(0, ods_drop_caches());
	ASSERT_EQ(0, read_all(_metadata, self));
	EXPECT_EQ(reads, od_count(&self->e.d, CACHEFILES_OP_READ))
		TH_LOG("cached ranges were requested again");
}

/* Answer a READ with the whole blob at once. */
static enum od_action read_whole(struct od_daemon *d, struct od_record *m,
				 void *arg)
{
	struct od_object *o;
	int ret;

	if (m->opcode != CACHEFILES_OP_READ)
		return OD_REPLY;
	o = od_object(d, m->object_id);
	ret = o ? od_write(d, m->object_id, 0, o->size) : -ENOENT;
	od_answered(d, m, ret ?: od_cread(d, m->object_id, m->msg_id));
	return OD_DONE;
}

/* Warm every blob: each first READ is answered with all of it; umount. */
static void warm_up(struct __test_metadata *_metadata, FIXTURE_DATA(data) *self,
		    const char *image)
{
	struct od_daemon *d = &self->e.d;
	int nblobs = 1 + self->ndev;

	od_set_script(d, read_whole, NULL);
	mount_image(_metadata, &self->e, image, nblobs);
	ASSERT_EQ(0, read_all(_metadata, self));
	od_set_script(d, NULL, NULL);
	ASSERT_EQ(0, ods_env_umount(&self->e));
	ASSERT_EQ(0, od_wait_count(d, CACHEFILES_OP_CLOSE, nblobs, OD_WAIT_MS));
}

/* A remount finds the cache files: OPEN again, but no READ at all. */
TEST_F(data, remount_warm)
{
	struct od_daemon *d = &self->e.d;
	int nblobs = 1 + self->ndev, reads;

	warm_up(_metadata, self, variant->fixture);
	reads = od_count(d, CACHEFILES_OP_READ);
	mount_image(_metadata, &self->e, variant->fixture, nblobs);
	ASSERT_EQ(0, read_all(_metadata, self));
	EXPECT_EQ(2 * nblobs, od_count(d, CACHEFILES_OP_OPEN));
	EXPECT_EQ(reads, od_count(d, CACHEFILES_OP_READ))
		TH_LOG("%d READs after remounting on a warm cache",
		       od_count(d, CACHEFILES_OP_READ) - reads);
	check_reads(_metadata, d);
}

/* Answer every OPEN with the blob's size plus a block. */
static enum od_action open_grown(struct od_daemon *d, struct od_record *m,
				 void *arg)
{
	if (m->opcode != CACHEFILES_OP_OPEN)
		return OD_REPLY;
	od_open_as(d, m, NULL, od_blob_size(m->cookie_key) + OD_BLOCK);
	return OD_DONE;
}

/*
 * The remount's other side: the size copen reports is checked against the one
 * stored with the cache file; a different size discards the cached data,
 * so everything comes through READ again (including the superblock).
 */
TEST_F(data, remount_resized_is_cold)
{
	struct od_daemon *d = &self->e.d;
	int nblobs = 1 + self->ndev, reads;
	struct od_record *open, *m;
	bool sb = false;

	warm_up(_metadata, self, variant->fixture);
	reads = od_count(d, CACHEFILES_OP_READ);
	od_set_script(d, open_grown, NULL);
	mount_image(_metadata, &self->e, variant->fixture, nblobs);
	/* a file from the middle of the image, as a sample of the data */
	ASSERT_EQ(0, read_tree(_metadata, &self->e.d, self->e.mnt, &self->files[self->nfiles / 2], 1));
	open = od_find(d, CACHEFILES_OP_OPEN, nblobs);
	ASSERT_NE(NULL, open);
	ASSERT_STREQ(variant->fixture, open->cookie_key);
	for (int i = reads; (m = od_find(d, CACHEFILES_OP_READ, i)); i++)
		sb |= m->object_id == open->object_id && m->off == 0;
	EXPECT_TRUE(sb) TH_LOG("block 0 was served from a cache file of another size");
	EXPECT_LT(0, count_reads(d, 0) - reads);
	check_reads(_metadata, d);
}

/* Cold reads at random places, compared with the generator's bytes. */
TEST_F(data, sparse_random)
{
	uint64_t seed = od_seed(), rnd = seed;
	char path[PATH_MAX * 2], sha[65];
	int tails = 0;

	TH_LOG("seed %llu (ODS_SEED=%llu repeats this run)",
	       (unsigned long long)seed, (unsigned long long)seed);
	mount_image(_metadata, &self->e, variant->fixture, 1 + self->ndev);
	for (int i = 0; i < 64; i++) {
		struct od_manifest_entry *f = &self->files[od_rand(&rnd) % self->nfiles];
		off_t off, len, max, size;

		snprintf(path, sizeof(path), "%s/%s", self->e.mnt, f->path);
		size = file_size(path);
		ASSERT_LE(0, size) TH_LOG("stat %s: %s", f->path, strerror(-size));
		if (!size)
			continue;
		/* every fourth read takes the file's last, partial block */
		if (i % 4 == 0) {
			off = size - (size % OD_BLOCK ?: OD_BLOCK);
			len = size - off;
			tails++;
		} else {
			off = od_rand(&rnd) % size;
			max = size - off < 3 * OD_BLOCK + 99 ? size - off : 3 * OD_BLOCK + 99;
			len = 1 + od_rand(&rnd) % max;
		}
		od_tree_sha256(f->path, off, len, sha);
		ASSERT_EQ(0, check_range(_metadata, path, off, len, sha));
	}
	ASSERT_LT(0, tails);
	check_reads(_metadata, &self->e.d);
}

struct trimmed {
	int n;
	uint32_t object_id[MAX_OBJ];
	off_t size[MAX_OBJ];
};

/* Where the blob's trailing zeros start. */
static off_t trimmed_size(const char *blob)
{
	char buf[OD_BLOCK];
	off_t end = od_blob_size(blob);
	int fd = od_blob_open(blob);

	if (fd < 0)
		return end;
	while (end > 0) {
		off_t at = (end - 1) & ~(off_t)(OD_BLOCK - 1);
		ssize_t n = pread(fd, buf, end - at, at);

		while (n > 0 && !buf[n - 1])
			n--;
		if (n > 0) {
			end = at + n;
			break;
		}
		end = at;
	}
	close(fd);
	return end;
}

/*
 * The blob's size as if its last block were partial: without its zero
 * padding where it has some, else one byte short.  The daemon still
 * writes the whole last block, as it must at the tail of a blob.
 */
static off_t unaligned_size(const char *blob)
{
	off_t size = trimmed_size(blob);

	return size % OD_BLOCK ? size : size - 1;
}

static enum od_action open_trimmed(struct od_daemon *d, struct od_record *m,
				   void *arg)
{
	struct trimmed *t = arg;
	off_t size;

	if (m->opcode != CACHEFILES_OP_OPEN || t->n == MAX_OBJ)
		return OD_REPLY;
	size = unaligned_size(m->cookie_key);
	t->object_id[t->n] = m->object_id;
	t->size[t->n++] = size;
	od_open_as(d, m, NULL, size);
	return OD_DONE;
}

/*
 * A blob whose size is not a multiple of the block.  The kernel must
 * ask for the last, partial block, never past its end, and serve the
 * whole padded block the daemon wrote.
 */
TEST_F(data, tail_unaligned)
{
	struct od_daemon *d = &self->e.d;
	struct trimmed t = { 0 };
	struct od_record *m;

	od_set_script(d, open_trimmed, &t);
	mount_image(_metadata, &self->e, variant->fixture, 1 + self->ndev);
	ASSERT_EQ(0, read_all(_metadata, self));
	check_reads(_metadata, d);
	ASSERT_EQ(1 + self->ndev, t.n);
	for (int i = 0; i < t.n; i++) {
		off_t last = (t.size[i] - 1) & ~(off_t)(OD_BLOCK - 1);
		bool tail = false;

		TH_LOG("object %u: %lld bytes reported", t.object_id[i],
		       (long long)t.size[i]);
		for (int j = 0; (m = od_find(d, CACHEFILES_OP_READ, j)); j++)
			tail |= m->object_id == t.object_id[i] &&
				(off_t)m->off <= last && (off_t)(m->off + m->rlen) > last;
		EXPECT_TRUE(tail) TH_LOG("no READ for the last, partial block");
	}
}

/* More data than asked for is kept: one READ per blob is all it takes. */
TEST_F(data, whole_blob_answer)
{
	struct od_daemon *d = &self->e.d;
	struct od_record *m;

	od_set_script(d, read_whole, NULL);
	mount_image(_metadata, &self->e, variant->fixture, 1 + self->ndev);
	ASSERT_EQ(0, read_all(_metadata, self));
	check_reads(_metadata, d);
	for (int i = 0; (m = od_find(d, CACHEFILES_OP_OPEN, i)); i++) {
		EXPECT_EQ(1, count_reads(d, m->object_id))
			TH_LOG("READs for blob %s", m->cookie_key);
	}
}

/* The blocks of an object the daemon wrote: READs answered, plus extra. */
static void written_map(struct od_daemon *d, uint32_t object_id, off_t size,
			bool *map)
{
	struct od_record *m;

	for (int i = 0; (m = od_find(d, CACHEFILES_OP_READ, i)); i++) {
		off_t end = m->off + m->rlen;

		if (m->object_id != object_id || !m->answered || m->reply)
			continue;
		end = round_block(end < size ? end : size);
		for (off_t b = m->off / OD_BLOCK; b < end / OD_BLOCK; b++)
			map[b] = true;
	}
}

/* lseek(whence) at pos as the map says: the next block of that kind. */
static off_t expect_seek(const bool *map, off_t nblocks, off_t pos, int whence)
{
	for (off_t b = pos / OD_BLOCK; b < nblocks; b++)
		if (map[b] == (whence == SEEK_DATA))
			return b * OD_BLOCK;
	return whence == SEEK_DATA ? -ENXIO : nblocks * OD_BLOCK;
}

/* SEEK_DATA/SEEK_HOLE on the anon fd show exactly what was written. */
TEST_F(data, seek_data_hole)
{
	struct od_daemon *d = &self->e.d;
	struct od_manifest_entry *f = &self->files[self->nfiles / 2];
	char path[PATH_MAX * 2];

	mount_image(_metadata, &self->e, variant->fixture, 1 + self->ndev);
	snprintf(path, sizeof(path), "%s/%s", self->e.mnt, f->path);
	ASSERT_EQ(0, check_range(_metadata, path, 0, -1, f->sha256));
	/* the reader may finish before the daemon has noted its answer */
	ASSERT_EQ(0, od_wait_answered(d, CACHEFILES_OP_READ, OD_WAIT_MS));

	for (int i = 0; i < d->nobj; i++) {
		struct od_object *o = &d->obj[i];
		off_t nblocks = round_block(o->size) / OD_BLOCK, got, want;
		bool *map = calloc(nblocks, sizeof(*map));

		ASSERT_NE(NULL, map);
		written_map(d, o->object_id, o->size, map);
		/* and blocks nobody asked for: three quarters in, and the last */
		for (int k = 0; k < 2; k++) {
			off_t b = k ? nblocks - 1 : nblocks * 3 / 4;

			ASSERT_EQ(0, od_write(d, o->object_id, b * OD_BLOCK, OD_BLOCK));
			map[b] = true;
		}
		for (off_t pos = 0, bad = 0; pos < nblocks * OD_BLOCK && !bad; pos += OD_BLOCK) {
			for (int whence = SEEK_DATA; whence <= SEEK_HOLE && !bad; whence++) {
				got = lseek(o->anon_fd, pos, whence);
				if (got < 0)
					got = -errno;
				want = expect_seek(map, nblocks, pos, whence);
				/* one report per object is enough */
				bad = want != got;
				EXPECT_EQ(want, got)
					TH_LOG("%s: lseek(%lld, %s)", o->key, (long long)pos,
					       whence == SEEK_DATA ? "SEEK_DATA" : "SEEK_HOLE");
			}
		}
		free(map);
	}
}

/*
 * The daemon reports a size of 0 (copen <id>,0).  fscache then marks
 * the cookie as having no data to read, but EROFS's reads are on demand
 * (NETFS_SREQ_ONDEMAND): cachefiles_prepare_read() asks the daemon all the
 * same, and the superblock still comes through a READ.  The size only
 * shapes the cache file, which is not grown at all: at that READ,
 * lseek(SEEK_END) on the anon fd says 0.  What the mount gets is up to the
 * daemon: one that serves nothing (the blob is empty, as it said) fails
 * the mount with EIO after that one READ; one that serves the blob's bytes
 * anyway gets a mount that reads right.
 */
FIXTURE(zerosize) {
	struct ods_env e;
	bool serve;
	off_t eof;	/* of the cache file, at the first READ */
};

FIXTURE_VARIANT(zerosize) {
	bool serve;
};

FIXTURE_VARIANT_ADD(zerosize, nothing_served) { .serve = false };
FIXTURE_VARIANT_ADD(zerosize, served_anyway) { .serve = true };

static enum od_action open_empty(struct od_daemon *d, struct od_record *m, void *arg)
{
	FIXTURE_DATA(zerosize) *self = arg;

	if (m->opcode == CACHEFILES_OP_READ && self->eof < 0) {
		self->eof = lseek(od_object(d, m->object_id)->anon_fd, 0, SEEK_END);
		return OD_REPLY;
	}
	if (m->opcode != CACHEFILES_OP_OPEN)
		return OD_REPLY;
	/* od_write() serves up to the size registered here */
	if (od_object_add(d, m, NULL, self->serve ? -1 : 0))
		return OD_REPLY;
	od_answered(d, m, od_copen(d, m->msg_id, 0));
	return OD_DONE;
}

FIXTURE_SETUP(zerosize)
{
	self->serve = variant->serve;
	self->eof = -1;
	ASSERT_EQ(0, ods_up(&self->e));
	od_set_script(&self->e.d, open_empty, self);
}

FIXTURE_TEARDOWN(zerosize)
{
	ods_down(_metadata, &self->e);
}

TEST_F(zerosize, copen_size_0)
{
	struct od_daemon *d = &self->e.d;
	struct od_record *open, *read;
	char bad[256];
	int ret;

	ret = ods_env_mount(&self->e, "plain");
	open = od_find(d, CACHEFILES_OP_OPEN, 0);
	ASSERT_NE(NULL, open);
	EXPECT_EQ(0, open->reply) TH_LOG("copen %u,0: %s", open->msg_id, strerror(-open->reply));
	ASSERT_EQ(0, od_wait_answered(d, CACHEFILES_OP_READ, OD_WAIT_MS));
	read = od_find(d, CACHEFILES_OP_READ, 0);
	ASSERT_NE(NULL, read) TH_LOG("no READ: the size of 0 kept the daemon out");
	EXPECT_EQ(open->object_id, read->object_id);
	EXPECT_EQ(0, read->off) TH_LOG("the first READ is not the superblock's");
	EXPECT_EQ(0, self->eof) TH_LOG("the cache file of an empty object has a size");

	if (!variant->serve) {
		EXPECT_EQ(-EIO, ret) TH_LOG("mount: %s", strerror(-ret));
		EXPECT_EQ(1, od_count(d, CACHEFILES_OP_READ));
		return;
	}
	ASSERT_EQ(0, ret) TH_LOG("mount: %s", strerror(-ret));
	ret = od_check_image(self->e.mnt, "plain", 3 * OD_WAIT_MS, bad, sizeof(bad));
	EXPECT_EQ(0, ret) TH_LOG("%s: %s", bad, ret == -EILSEQ ? "wrong data" : strerror(-ret));
	EXPECT_STREQ("", d->error);
}

/* What is special to an image with an extra blob. */
FIXTURE(multidev) {
	struct ods_env e;
};

FIXTURE_SETUP(multidev)
{
	ASSERT_EQ(0, ods_up(&self->e));
}

FIXTURE_TEARDOWN(multidev)
{
	ods_down(_metadata, &self->e);
}

/*
 * mkfs.erofs 1.5 leaves the extra device's tag empty: without a device=
 * option naming it the kernel refuses the image, after opening (and then
 * closing) the primary blob only.
 */
TEST_F(multidev, needs_device_option)
{
	struct od_daemon *d = &self->e.d;
	struct od_record *open;

	ASSERT_EQ(-EINVAL, ods_env_mount(&self->e, "multi"));
	EXPECT_LT(0, od_klog_count("empty device tag"));
	ASSERT_EQ(0, od_wait_count(d, CACHEFILES_OP_CLOSE, 1, OD_WAIT_MS));
	open = od_find(d, CACHEFILES_OP_OPEN, 0);
	ASSERT_NE(NULL, open);
	EXPECT_STREQ("multi", open->cookie_key);
	EXPECT_EQ(1, od_count(d, CACHEFILES_OP_OPEN));
	EXPECT_EQ(open->object_id, od_find(d, CACHEFILES_OP_CLOSE, 0)->object_id);
}

/*
 * The device= name, not anything in the image, is the extra blob's key.
 * This one is longer than fscache's 16-byte inline key, so the OPEN's copy
 * comes from the cookie's separate key buffer (fscache_get_key()).
 */
#define ALIAS	"multi-alias-beyond-the-inline-key"

TEST_F(multidev, device_name_is_cookie_key)
{
	struct od_daemon *d = &self->e.d;
	struct od_manifest_entry *files;
	int n = od_manifest_load("multi", &files), found = 0;
	struct od_record *m;

	ASSERT_LT(0, n);
	/* the same blob under another name, which only the daemon knows */
	if (symlink("multi-blob", OD_BLOB_DIR "/" ALIAS)) {
		ASSERT_EQ(EEXIST, errno);
	}
	ASSERT_EQ(0, od_mount_opts(self->e.mnt, "fsid=multi,device=" ALIAS));
	self->e.mounted = true;
	ASSERT_EQ(0, od_wait_count(d, CACHEFILES_OP_OPEN, 2, OD_WAIT_MS));
	for (int i = 0; (m = od_find(d, CACHEFILES_OP_OPEN, i)); i++) {
		found += m->cookie_key_size == strlen(ALIAS) && !strcmp(m->cookie_key, ALIAS);
		EXPECT_STREQ("erofs,multi", m->volume_key);
	}
	EXPECT_EQ(1, found);
	EXPECT_EQ(0, read_tree(_metadata, &self->e.d, self->e.mnt, files, n));
	free(files);
}

/* Several mounts on one cache, with and without a shared domain. */
FIXTURE(mounts) {
	struct ods_env e;
	char mnt2[PATH_MAX];
	bool mounted2;
	struct od_manifest_entry *basic, *twin;
	int nbasic, ntwin;
};

FIXTURE_SETUP(mounts)
{
	self->nbasic = od_manifest_load("plain", &self->basic);
	self->ntwin = od_manifest_load("twin", &self->twin);
	ASSERT_LT(0, self->nbasic);
	ASSERT_LT(0, self->ntwin);
	ASSERT_EQ(0, ods_up(&self->e));
	snprintf(self->mnt2, sizeof(self->mnt2), "%s-2", self->e.mnt);
}

FIXTURE_TEARDOWN(mounts)
{
	if (self->mounted2 && od_umount(self->mnt2))
		umount2(self->mnt2, MNT_DETACH);
	rmdir(self->mnt2);
	ods_down(_metadata, &self->e);
	free(self->basic);
	free(self->twin);
}

static int mount2(FIXTURE_DATA(mounts) *self, const char *image,
		  const char *domain)
{
	int ret = od_mount_image(image, domain, self->mnt2);

	self->mounted2 = !ret;
	return ret;
}

static int mount1(FIXTURE_DATA(mounts) *self, const char *image,
		  const char *domain)
{
	int ret = od_mount_image(image, domain, self->e.mnt);

	self->e.mounted = !ret;
	return ret;
}

/* The OPEN of a cookie key under a volume key, which must be unique. */
static struct od_record *find_open(struct __test_metadata *_metadata,
				   struct od_daemon *d, const char *volume,
				   const char *cookie)
{
	struct od_record *m, *found = NULL;
	int n = 0;

	for (int i = 0; (m = od_find(d, CACHEFILES_OP_OPEN, i)); i++) {
		if (strcmp(m->volume_key, volume) || strcmp(m->cookie_key, cookie))
			continue;
		found = m;
		n++;
	}
	EXPECT_EQ(1, n) TH_LOG("OPENs of %s in volume %s", cookie, volume);
	return found;
}

TEST_F(mounts, two_fsids)
{
	struct od_daemon *d = &self->e.d;

	ASSERT_EQ(0, mount1(self, "plain", NULL));
	ASSERT_EQ(0, mount2(self, "inline", NULL));
	ASSERT_EQ(0, read_tree(_metadata, &self->e.d, self->e.mnt, self->basic, self->nbasic));
	ASSERT_EQ(0, read_tree(_metadata, &self->e.d, self->mnt2, self->basic, self->nbasic));
	EXPECT_EQ(2, od_count(d, CACHEFILES_OP_OPEN));
	find_open(_metadata, d, "erofs,plain", "plain");
	find_open(_metadata, d, "erofs,inline", "inline");
	check_reads(_metadata, d);
}

/* Without a domain the fsid names the volume: a second mount collides. */
TEST_F(mounts, same_fsid_twice_busy)
{
	struct od_daemon *d = &self->e.d;

	ASSERT_EQ(0, mount1(self, "plain", NULL));
	EXPECT_EQ(-EBUSY, mount2(self, "plain", NULL));
	EXPECT_EQ(1, od_count(d, CACHEFILES_OP_OPEN));
	EXPECT_EQ(0, read_tree(_metadata, &self->e.d, self->e.mnt, self->basic, self->nbasic));
}

/* In a domain the domain names the volume; the fsids the cookies in it. */
TEST_F(mounts, domain_two_fsids)
{
	struct od_daemon *d = &self->e.d;

	ods_need_domain_id(_metadata);

	ASSERT_EQ(0, mount1(self, "plain", "dom"));
	ASSERT_EQ(0, mount2(self, "inline", "dom"));
	ASSERT_EQ(0, read_tree(_metadata, &self->e.d, self->e.mnt, self->basic, self->nbasic));
	ASSERT_EQ(0, read_tree(_metadata, &self->e.d, self->mnt2, self->basic, self->nbasic));
	EXPECT_EQ(2, od_count(d, CACHEFILES_OP_OPEN));
	find_open(_metadata, d, "erofs,dom", "plain");
	find_open(_metadata, d, "erofs,dom", "inline");
	check_reads(_metadata, d);
}

/* A primary blob is unique within its domain: the second mount says so. */
TEST_F(mounts, domain_same_fsid_twice)
{
	struct od_daemon *d = &self->e.d;

	ods_need_domain_id(_metadata);

	ASSERT_EQ(0, mount1(self, "plain", "dom"));
	EXPECT_EQ(-EEXIST, mount2(self, "plain", "dom"));
	EXPECT_EQ(1, od_klog_count("plain already exists in domain dom"));
	EXPECT_EQ(1, od_count(d, CACHEFILES_OP_OPEN));
	EXPECT_EQ(0, read_tree(_metadata, &self->e.d, self->e.mnt, self->basic, self->nbasic));
}

/* Different domains are different volumes: the same fsid in each is fine. */
TEST_F(mounts, same_fsid_two_domains)
{
	struct od_daemon *d = &self->e.d;

	ods_need_domain_id(_metadata);

	ASSERT_EQ(0, mount1(self, "plain", "dom1"));
	ASSERT_EQ(0, mount2(self, "plain", "dom2"));
	ASSERT_EQ(0, read_tree(_metadata, &self->e.d, self->e.mnt, self->basic, self->nbasic));
	ASSERT_EQ(0, read_tree(_metadata, &self->e.d, self->mnt2, self->basic, self->nbasic));
	EXPECT_EQ(2, od_count(d, CACHEFILES_OP_OPEN));
	find_open(_metadata, d, "erofs,dom1", "plain");
	find_open(_metadata, d, "erofs,dom2", "plain");
}

/*
 * Two images with one extra blob, in one domain: the blob's cookie is
 * shared.  It is opened once, what one mount read the other finds cached,
 * and it is closed only when the last mount goes.
 */
TEST_F(mounts, domain_shared_blob)
{
	struct od_daemon *d = &self->e.d;
	struct od_record *multi, *twin, *blob;
	char path[PATH_MAX * 2];
	int reads;

	ods_need_domain_id(_metadata);

	ASSERT_EQ(0, mount1(self, "multi", "dom"));
	ASSERT_EQ(0, od_wait_count(d, CACHEFILES_OP_OPEN, 2, OD_WAIT_MS));
	ASSERT_EQ(0, mount2(self, "twin", "dom"));
	ASSERT_EQ(0, read_tree(_metadata, &self->e.d, self->mnt2, self->twin, self->ntwin));
	ASSERT_EQ(3, od_count(d, CACHEFILES_OP_OPEN)) TH_LOG("the blob was opened twice");
	multi = find_open(_metadata, d, "erofs,dom", "multi");
	twin = find_open(_metadata, d, "erofs,dom", "twin");
	blob = find_open(_metadata, d, "erofs,dom", "multi-blob");
	ASSERT_TRUE(multi && twin && blob);
	ASSERT_LT(0, count_reads(d, blob->object_id));

	/* the twin's data is the same chunks: all cached already */
	reads = count_reads(d, blob->object_id);
	ASSERT_EQ(0, read_tree(_metadata, &self->e.d, self->e.mnt, self->basic, self->nbasic));
	EXPECT_EQ(reads, count_reads(d, blob->object_id));
	/* and each mount still reads its own primary blob */
	snprintf(path, sizeof(path), "%s/twin-only", self->mnt2);
	EXPECT_EQ(0, file_size(path));
	EXPECT_EQ(-ENOENT, file_size(ods_path(&self->e, "twin-only")));

	ASSERT_EQ(0, ods_env_umount(&self->e));
	ASSERT_EQ(0, od_wait_count(d, CACHEFILES_OP_CLOSE, 1, OD_WAIT_MS));
	EXPECT_EQ(multi->object_id, od_find(d, CACHEFILES_OP_CLOSE, 0)->object_id);
	ASSERT_EQ(0, ods_drop_caches());
	ASSERT_EQ(0, read_tree(_metadata, &self->e.d, self->mnt2, self->twin, self->ntwin));
	EXPECT_EQ(1, od_count(d, CACHEFILES_OP_CLOSE)) TH_LOG("the shared blob closed early");

	ASSERT_EQ(0, od_umount(self->mnt2));
	self->mounted2 = false;
	ASSERT_EQ(0, od_wait_count(d, CACHEFILES_OP_CLOSE, 3, OD_WAIT_MS));
	check_reads(_metadata, d);
}

ODS_MAIN
