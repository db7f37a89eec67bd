// SPDX-License-Identifier: GPL-2.0
/*
 * Data in volume: a tree the size of a Linux source tree (73728 files, some
 * 800 MiB) and a 1 GiB file, read through the on-demand path, every byte
 * checked.  The volume fixture (fixtures/volume.sh) rides on a disk of its
 * own, which run_tests.sh builds and attaches only for these tests: they
 * are opt-in (selftests/opt-in), -t 'volume.*' --timeout 1800.
 *
 * tree: every file, shared among 32 reader processes at once, against a
 *   daemon of 4 threads.  The public demand-read-cachefilesd tests 08 and 09
 *   build Linux with make -j32 over an EROFS image of its source: as much
 *   data, read in parallel, through cachefiles_ondemand_read() and each
 *   READ_COMPLETE.  Every file must read whole and right, and every READ
 *   be answered.
 * crash_restore: the 1 GiB file read while the daemon dies 50 times, each
 *   time after writing a READ's data and before its READ_COMPLETE; a new
 *   daemon sends "restore", the object reopens and the READ comes again
 *   (cachefiles_ondemand_restore(), ondemand_object_worker()).  Test 18
 *   reads a 1 GiB file under up to 50 kills; every byte must be right.
 *
 * exact answers each READ with what it asks; twomib writes 2 MiB from the
 * READ's offset before completing it, as test 09's daemon does, so that
 * most of the data lands ahead of any READ for it.
 */
#include <ftw.h>
#include <sys/mman.h>

#include "ods.h"

#define SPEC		"/fixtures/volume.tree"
#define BIG		"big/one-gib"
#define READERS		32	/* as make -j32 in tests 08 and 09 */
#define THREADS		4
#define CRASHES		50
#define CHUNK		(256 << 10)

struct entry {
	char *path;
	off_t size;
};

/* What a checker child found: the first bad file, and how far it got. */
struct verdict {
	int err;		/* 0, -errno of open() or read(), or 1: wrong bytes */
	int file;		/* the entry it was at */
	off_t off;
	long files;
	long long bytes;
};

FIXTURE(volume) {
	struct ods_env e;
	struct od_pool pool;
	struct entry *ent;
	int n;
	struct od_child c[READERS];
	long long *done;	/* bytes each checker has checked (shared) */
	uint64_t answer;	/* the variant's, for the scripts */
	struct od_dying dying;	/* crash_restore's script before a crash */
};

FIXTURE_VARIANT(volume) {
	uint64_t answer;	/* bytes written per READ from its offset; 0: as asked */
};

FIXTURE_VARIANT_ADD(volume, exact) { .answer = 0 };
FIXTURE_VARIANT_ADD(volume, twomib) { .answer = 2 << 20 };

/* A READ answered with self->answer bytes from its offset (or what it asks). */
static enum od_action answer_read(struct od_daemon *d, struct od_record *m, void *arg)
{
	uint64_t len = *(uint64_t *)arg;

	if (m->opcode != CACHEFILES_OP_READ || !len)
		return OD_REPLY;
	len = len > m->rlen ? len : m->rlen;
	od_answered(d, m, od_write(d, m->object_id, m->off, len) ?:
			  od_cread(d, m->object_id, m->msg_id));
	return OD_DONE;
}

/* The spec: "path size" lines, as fixtures/gen-tree.sh takes them. */
static int load_spec(FIXTURE_DATA(volume) *self)
{
	char line[PATH_MAX + 32], path[PATH_MAX];
	long long size;
	FILE *f = fopen(SPEC, "re");
	int cap = 0;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (line[0] == '#' || sscanf(line, "%4095s %lld", path, &size) != 2)
			continue;
		if (self->n == cap) {
			cap = cap ? 2 * cap : 4096;
			self->ent = realloc(self->ent, cap * sizeof(*self->ent));
		}
		self->ent[self->n++] = (struct entry){ strdup(path), size };
	}
	fclose(f);
	return self->n;
}

FIXTURE_SETUP(volume)
{
	for (int k = 0; k < READERS; k++)
		self->c[k].pid = -1;
	if (access(SPEC, R_OK))
		SKIP(return, "no volume disk: run_tests.sh attaches it when -t selects volume.*");
	ASSERT_LT(1000, load_spec(self));
	self->done = mmap(NULL, READERS * sizeof(*self->done), PROT_READ | PROT_WRITE,
			  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->done);
	self->answer = variant->answer;
	ASSERT_EQ(0, ods_up(&self->e));
	od_set_script(&self->e.d, answer_read, &self->answer);
	ASSERT_EQ(0, ods_env_mount(&self->e, "volume"));
}

FIXTURE_TEARDOWN(volume)
{
	if (ods_test_skipped(_metadata))
		return;
	for (int k = 0; k < READERS; k++)
		od_child_kill(&self->c[k]);
	od_pool_stop(&self->pool);
	ods_down(_metadata, &self->e);
	/* 2 GiB of cache file: the runner would only set it aside */
	if (!od_wait_dev_free(OD_WAIT_MS))
		od_rm_tree(self->e.cache);
	for (int i = 0; i < self->n; i++)
		free(self->ent[i].path);
	free(self->ent);
}

/* In checker child k of n: entries k, k + n, ... read whole and compared. */
static void check_files(FIXTURE_DATA(volume) *self, int k, int n)
{
	static char got[CHUNK], want[CHUNK];
	struct verdict v = { 0 };
	char path[PATH_MAX * 2];

	for (int i = k; i < self->n && !v.err; i += n) {
		const struct entry *f = &self->ent[i];
		int fd;

		v.file = i;
		v.off = 0;
		snprintf(path, sizeof(path), "%s/%s", self->e.mnt, f->path);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			v.err = -errno;
			break;
		}
		/* to the end, and one read more: the file must end where the spec says */
		for (;;) {
			ssize_t r = read(fd, got, sizeof(got));

			if (r < 0)
				v.err = -errno;
			if (r <= 0)
				break;
			od_tree_fill(f->path, v.off, r, want);
			if (v.off + r > f->size || memcmp(got, want, r)) {
				v.err = 1;
				break;
			}
			v.off += r;
			v.bytes += r;
			__atomic_store_n(&self->done[k], v.bytes, __ATOMIC_RELAXED);
		}
		close(fd);
		if (!v.err && v.off != f->size)
			v.err = 1;
		v.files++;
	}
	od_child_report(&self->c[k], &v, sizeof(v));
}

static long long checked(FIXTURE_DATA(volume) *self, int n)
{
	long long sum = 0;

	for (int k = 0; k < n; k++)
		sum += __atomic_load_n(&self->done[k], __ATOMIC_RELAXED);
	return sum;
}

/* n checkers, started: each takes every nth entry of the spec. */
static int start_checkers(FIXTURE_DATA(volume) *self, int n)
{
	memset(self->done, 0, READERS * sizeof(*self->done));
	for (int k = 0; k < n; k++) {
		int ret = od_child_start(&self->c[k]);

		if (ret)
			return ret;
		if (self->c[k].pid == 0)
			check_files(self, k, n);
	}
	return 0;
}

/*
 * The n checkers' verdicts in v: 0, or -ETIMEDOUT.  The bound is progress:
 * together they must get through some bytes every OD_WAIT_MS, however
 * long the whole takes.
 */
static int collect(struct __test_metadata *_metadata, FIXTURE_DATA(volume) *self,
		   int n, struct verdict *v)
{
	long long last = -1;
	long since = od_now_ms();
	int left = n;

	while (left) {
		long long now_done = checked(self, n);

		for (int k = 0; k < n; k++) {
			int ret;

			if (self->c[k].pid < 0)
				continue;
			ret = od_child_wait(&self->c[k], &v[k], sizeof(v[k]), 50);
			if (ret == -ETIMEDOUT)
				continue;
			EXPECT_EQ(0, ret) TH_LOG("checker %d died: %s", k, strerror(-ret));
			if (ret)
				v[k] = (struct verdict){ .err = ret, .file = -1 };
			left--;
		}
		if (now_done != last) {
			last = now_done;
			since = od_now_ms();
		} else if (od_now_ms() - since > OD_WAIT_MS) {
			EXPECT_EQ(0, -ETIMEDOUT)
				TH_LOG("no byte read for %d ms: a reader hangs", OD_WAIT_MS);
			return -ETIMEDOUT;
		}
	}
	return 0;
}

/* Every verdict clean; the bytes they checked. */
static long long verdicts(struct __test_metadata *_metadata, FIXTURE_DATA(volume) *self,
			  int n, const struct verdict *v)
{
	long long bytes = 0;

	for (int k = 0; k < n; k++) {
		const char *path = v[k].file >= 0 ? self->ent[v[k].file].path : "?";

		EXPECT_EQ(0, v[k].err)
			TH_LOG("%s at %lld: %s", path, (long long)v[k].off,
			       v[k].err == 1 ? "wrong bytes or size" : strerror(-v[k].err));
		bytes += v[k].bytes;
	}
	return bytes;
}

static int nregular;

static int count_regular(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	nregular += type == FTW_F;
	return 0;
}

TEST_F(volume, tree)
{
	struct od_daemon *d = &self->e.d;
	struct verdict v[READERS];
	struct od_record *left;

	/* ods_up started one daemon thread; the pool adds the others */
	ASSERT_EQ(0, od_pool_start(&self->pool, d, THREADS - 1));
	ASSERT_EQ(0, nftw(self->e.mnt, count_regular, 64, FTW_PHYS));
	ASSERT_EQ(self->n, nregular) TH_LOG("the tree has %d files, the spec %d", nregular, self->n);
	ASSERT_EQ(0, start_checkers(self, READERS));
	ASSERT_EQ(0, collect(_metadata, self, READERS, v));
	TH_LOG("%lld bytes of %d files checked by %d readers; %d READs",
	       verdicts(_metadata, self, READERS, v), self->n, READERS,
	       od_count(d, CACHEFILES_OP_READ));
	EXPECT_EQ(0, od_wait_answered(d, CACHEFILES_OP_READ, OD_WAIT_MS)) {
		od_pending(d, CACHEFILES_OP_READ, &left, 1);
		TH_LOG("READ %u never answered", left->msg_id);
	}
	EXPECT_STREQ("", d->error);
}

TEST_F(volume, crash_restore)
{
	struct od_daemon *d = &self->e.d;
	int big = -1, crashes = 0, dropped = 0;
	struct verdict v;
	long long every;

	if (!od_kernel_has_restore(d))
		SKIP(return, "no \"restore\": the kernel predates the failover series");
	for (int i = 0; i < self->n; i++)
		if (!strcmp(self->ent[i].path, BIG))
			big = i;
	ASSERT_LE(0, big);
	/* the one checker reads only the big file */
	self->ent[0] = self->ent[big];
	self->n = 1;
	every = self->ent[0].size / (CRASHES + 1);
	ASSERT_EQ(0, start_checkers(self, 1));
	while (crashes < CRASHES && !ods_test_failed(_metadata)) {
		long end = od_now_ms() + OD_WAIT_MS;
		int n;

		/* the next crash comes when the reader is a crash's share further */
		while (checked(self, 1) < (crashes + 1) * every && od_now_ms() < end)
			usleep(2000);
		ASSERT_GT(end, od_now_ms()) {
			if (!od_child_wait(&self->c[0], &v, sizeof(v), 0))
				verdicts(_metadata, self, 1, &v);
			TH_LOG("crash %d: the reader got no further for %d ms", crashes, OD_WAIT_MS);
		}
		/* a READ the script holds, not one the last script is answering */
		self->dying = (struct od_dying){ .min_len = self->answer };
		od_set_script(d, od_write_then_hold, &self->dying);
		OD_POLL(__atomic_load_n(&self->dying.held, __ATOMIC_ACQUIRE), OD_WAIT_MS);
		n = od_crash(d);
		ASSERT_LT(0, n) TH_LOG("crash %d: no READ came to crash under", crashes);
		dropped += n;
		od_set_script(d, answer_read, &self->answer);
		ASSERT_EQ(0, od_cmd(d, "restore"));
		ASSERT_EQ(0, od_start(d));
		crashes++;
	}
	ASSERT_EQ(0, collect(_metadata, self, 1, &v));
	verdicts(_metadata, self, 1, &v);
	TH_LOG("%d crashes with %d READs in flight; %d READs in all", crashes, dropped,
	       od_count(d, CACHEFILES_OP_READ));
	EXPECT_EQ(CRASHES, crashes);
}

ODS_MAIN
