// SPDX-License-Identifier: GPL-2.0
/*
 * Protocol fuzz: a daemon that answers each message with a random mix
 * of valid and invalid replies (junk copen forms, wrong READ_COMPLETE ids,
 * misaligned writes, partial or no data, held and reordered answers, small
 * delays, anon fds closed early), while readers read the fixture's files.
 *
 * Oracle: the kernel refuses every invalid reply and accepts every valid
 * one; it hands out no READ for an object whose anon fd is closed (a new
 * OPEN comes first); once a correct daemon takes over, every reader
 * finishes, with the right bytes or an errno; the runner checks dmesg.
 *
 * Each round binds a fresh cache, so that there is something to fetch.
 * The seed is logged; replay with ODS_SEED=<seed> (run_tests.sh --seed).
 * The replies follow from the seed; the timing does not.
 */
#include <dirent.h>
#include <ftw.h>
#include <sys/wait.h>

#include "ods.h"

#define ROUNDS		4
#define ROUND_MS	500	/* the random phase of a round */
#define READERS		6
#define HOLD_MAX	8

/*
 * A reader forked from this process starts with copies of the daemon's
 * anon fds and drops them a moment later.  Closing an anon fd in between
 * would leave its object open (one copy lives on), so closes wait for the
 * fork lock, which start_reader() holds until the child let go.
 */
static pthread_mutex_t fork_lock = PTHREAD_MUTEX_INITIALIZER;

static void close_anon_fd(struct od_daemon *d, int object_id, int fd)
{
	pthread_mutex_lock(&fork_lock);
	if (fd >= 0)
		close(fd);
	else
		od_close_anon(d, object_id);
	pthread_mutex_unlock(&fork_lock);
}

static bool holds_anon_fd(pid_t pid)
{
	char path[64], link[64];
	struct dirent *e;
	bool found = false;
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%d/fd", pid);
	dir = opendir(path);
	while (dir && !found && (e = readdir(dir))) {
		ssize_t n = readlinkat(dirfd(dir), e->d_name, link, sizeof(link) - 1);

		link[n > 0 ? n : 0] = 0;
		found = strstr(link, "[cachefiles]");
	}
	if (dir)
		closedir(dir);
	return found;
}

struct fuzz {
	uint64_t rng;		/* the daemon thread's own stream */
	bool mounted;		/* until then, READs are answered properly */
	int opens;
	struct od_record *held[HOLD_MAX];
	int nheld;
	uint32_t done_read;	/* the id of a completed READ, or 0 */
	int junk, valid;	/* replies sent, by kind */
	int reads, reopens, closed, orphans;
	int round_orphans;	/* this round's: they call for a restore */
	int junk_taken, valid_refused;
	char first_wrong[160];	/* the first reply the kernel got wrong */
};

static unsigned int pick(struct fuzz *f, unsigned int n)
{
	return od_rand(&f->rng) % n;
}

static void wrong(struct fuzz *f, const char *fmt, unsigned int id, int ret)
{
	if (!f->first_wrong[0])
		snprintf(f->first_wrong, sizeof(f->first_wrong), fmt, id, ret);
}

/* Junk the kernel must refuse: nonzero ret. */
static void junk(struct fuzz *f, const char *what, unsigned int id, int ret)
{
	f->junk++;
	if (ret)
		return;
	f->junk_taken++;
	wrong(f, what, id, ret);
}

static int valid(struct fuzz *f, const char *what, unsigned int id, int ret)
{
	f->valid++;
	if (ret) {
		f->valid_refused++;
		wrong(f, what, id, ret);
	}
	return ret;
}

static bool holds_object(struct fuzz *f, uint32_t object_id)
{
	for (int i = 0; i < f->nheld; i++)
		if (f->held[i]->object_id == object_id)
			return true;
	return false;
}

/* copen forms that leave the OPEN pending */
static void copen_junk(struct od_daemon *d, struct fuzz *f, struct od_record *m)
{
	long long size = od_blob_size(m->cookie_key);
	uint32_t id = m->msg_id;

	switch (pick(f, 6)) {
	case 0:
		junk(f, "\"copen %u\" (no size) accepted: %d", id, od_cmd(d, "copen %u", id));
		break;
	case 1:
		junk(f, "\"copen ,size\" accepted (OPEN %u): %d", id, od_cmd(d, "copen ,%lld", size));
		break;
	case 2:
		junk(f, "\"copen x%u,size\" accepted: %d", id, od_cmd(d, "copen x%u,%lld", id, size));
		break;
	case 3:
		id += 1000000;
		junk(f, "copen of never-issued id %u accepted: %d", id,
		     od_cmd(d, "copen %u,%lld", id, size));
		break;
	case 4:
		/* a held READ's id if there is one, else a completed one's */
		id = f->nheld ? f->held[0]->msg_id : f->done_read;
		if (id)
			junk(f, "copen of READ %u accepted: %d", id,
			     od_cmd(d, "copen %u,%lld", id, size));
		break;
	default:
		junk(f, "unknown command accepted (OPEN %u): %d", id, od_cmd(d, "frobnicate %u", id));
	}
}

/*
 * A reopen (an object whose anon fd we closed) may also fail; then its
 * anon fd must be closed, or its READs stay parked behind the reopen.
 */
static void fail_open(struct od_daemon *d, struct fuzz *f, struct od_record *m)
{
	static const int errs[] = { -EIO, -ENOMEM, -ENOENT, -EINTR };
	uint32_t id = m->msg_id;

	switch (pick(f, 3)) {
	case 0:
		valid(f, "copen %u,-errno refused: %d", id,
		      od_copen(d, id, errs[pick(f, 4)]));
		break;
	case 1:
		junk(f, "copen %u with a text size accepted: %d", id,
		     od_cmd(d, "copen %u,abc", id));
		break;
	default:
		/* the OPEN then fails with EBADFD; the write itself succeeds */
		close_anon_fd(d, 0, m->anon_fd);
		m->anon_fd = -1;
		valid(f, "copen %u after closing its fd refused: %d", id,
		      od_copen(d, id, od_blob_size(m->cookie_key)));
	}
	if (m->anon_fd >= 0)
		close_anon_fd(d, 0, m->anon_fd);
}

static enum od_action fuzz_open(struct od_daemon *d, struct fuzz *f,
				struct od_record *m)
{
	for (int i = pick(f, 3); i > 0; i--)
		copen_junk(d, f, m);
	/* the mount's own OPEN must work, or the round has nothing to read */
	if (f->opens++)
		f->reopens++;
	if (f->opens > 1 && pick(f, 3) == 0) {
		fail_open(d, f, m);
		return OD_DONE;
	}
	valid(f, "copen %u refused: %d", m->msg_id, od_reply(d, m));
	return OD_DONE;
}

/* READ_COMPLETE ids that are no pending READ of this object */
static void cread_junk(struct od_daemon *d, struct fuzz *f, struct od_record *m)
{
	uint32_t id;

	switch (pick(f, 3)) {
	case 0:
		id = m->msg_id + 1000000;
		break;
	case 1:
		id = f->done_read;
		break;
	default:
		id = od_find(d, CACHEFILES_OP_OPEN, 0)->msg_id;
	}
	if (id)
		junk(f, "READ_COMPLETE of %u accepted: %d", id, od_cread(d, m->object_id, id));
}

static void write_junk(struct od_daemon *d, struct fuzz *f, struct od_record *m)
{
	struct od_object *o = od_object(d, m->object_id);
	static char buf[2 * OD_BLOCK] __attribute__((aligned(OD_BLOCK)));	/* zeros */
	bool len = pick(f, 2);
	ssize_t n;

	/* a misaligned length or buffer; an unaligned offset is not refused */
	n = pwrite(o->anon_fd, buf + !len, len ? 100 : OD_BLOCK, m->off);
	junk(f, "misaligned write for READ %u accepted: %d", m->msg_id, n < 0 ? -errno : 0);
}

/* Complete a READ, with all, part or none of its data. */
static void complete(struct od_daemon *d, struct fuzz *f, struct od_record *m,
		     unsigned int how)
{
	uint64_t half = (m->rlen / 2) & ~(uint64_t)(OD_BLOCK - 1);

	if (how == 0) {
		valid(f, "READ %u refused: %d", m->msg_id, od_reply(d, m));
	} else {
		if (how == 1 && half)
			od_write(d, m->object_id, m->off, half);
		valid(f, "READ_COMPLETE of %u refused: %d", m->msg_id,
		      od_cread(d, m->object_id, m->msg_id));
	}
	f->done_read = m->msg_id;
}

static void release_one(struct od_daemon *d, struct fuzz *f)
{
	int i = pick(f, f->nheld);
	struct od_record *m = f->held[i];

	f->held[i] = f->held[--f->nheld];
	complete(d, f, m, pick(f, 4) ? 0 : 2);
}

/*
 * A READ of an object whose anon fd we closed, or whose OPEN we failed:
 * it should have come after a new OPEN.  No fd, no answer: only "restore"
 * gets a READ the daemon has taken handed out again.
 */
static bool orphan(struct od_daemon *d, struct od_record *m)
{
	struct od_object *o = od_object(d, m->object_id);

	return !o || o->anon_fd < 0;
}

static enum od_action fuzz_read(struct od_daemon *d, struct fuzz *f,
				struct od_record *m)
{
	unsigned int r = pick(f, 100);

	if (!f->mounted)
		return OD_REPLY;
	f->reads++;
	if (orphan(d, m)) {
		f->orphans++;
		f->round_orphans++;
		return OD_DONE;
	}
	if (f->nheld && pick(f, 3) == 0)
		release_one(d, f);
	if (r < 15) {
		cread_junk(d, f, m);
	} else if (r < 25) {
		write_junk(d, f, m);
	} else if (r < 40 && f->nheld < HOLD_MAX) {
		f->held[f->nheld++] = m;
		return OD_DONE;
	}
	r = pick(f, 100);
	complete(d, f, m, r < 70 ? 0 : r < 85 ? 1 : 2);
	/* the next READ of the object then reopens it */
	if (pick(f, 20) == 0 && !holds_object(f, m->object_id)) {
		close_anon_fd(d, m->object_id, -1);
		f->closed++;
	}
	return OD_DONE;
}

static enum od_action fuzz_script(struct od_daemon *d, struct od_record *m,
				  void *arg)
{
	struct fuzz *f = arg;

	if (pick(f, 4) == 0)
		usleep(pick(f, 20000));
	if (m->opcode == CACHEFILES_OP_OPEN)
		return fuzz_open(d, f, m);
	if (m->opcode == CACHEFILES_OP_READ)
		return fuzz_read(d, f, m);
	return OD_REPLY;	/* CLOSE: close the anon fd */
}

/* A correct daemon; for an orphan, restore until its object is released. */
static enum od_action calm_script(struct od_daemon *d, struct od_record *m,
				  void *arg)
{
	struct fuzz *f = arg;

	if (m->opcode != CACHEFILES_OP_READ || !orphan(d, m))
		return OD_REPLY;
	f->orphans++;
	usleep(10000);
	valid(f, "restore refused (READ %u): %d", m->msg_id, od_cmd(d, "restore"));
	return OD_DONE;
}

FIXTURE(fuzz) {
	struct ods_env e;
	struct od_reader r[READERS];
	struct fuzz f;
	struct od_manifest_entry *files;
	off_t *size;
	int nfiles;
	uint64_t rng;		/* the test's own stream */
	int failed[2];		/* readers that got an errno: other, EIO */
	int readers;
};

FIXTURE_SETUP(fuzz)
{
	uint64_t seed = od_seed();

	TH_LOG("seed %llu (replay: ODS_SEED=%llu, or run_tests.sh --seed %llu)",
	       (unsigned long long)seed, (unsigned long long)seed,
	       (unsigned long long)seed);
	self->rng = seed;
	self->f.rng = seed ^ 0x5eed;
	self->nfiles = od_manifest_load("plain", &self->files);
	ASSERT_LT(0, self->nfiles);
	self->size = calloc(self->nfiles, sizeof(*self->size));
	od_test_dir(self->e.mnt, sizeof(self->e.mnt), OD_MNT_ROOT, NULL);
}

FIXTURE_TEARDOWN(fuzz)
{
	for (int i = 0; i < READERS; i++)
		od_reader_kill(&self->r[i]);
	ods_down(_metadata, &self->e);
	free(self->files);
	free(self->size);
}

/*
 * A correct daemon takes over: it answers what is held, serves the rest,
 * and has orphans handed out again (only then: restore would hide a lost
 * request), so that one of them does not leave its reader hanging.
 */
static void drain(struct od_daemon *d, struct fuzz *f)
{
	od_stop(d);
	while (f->nheld)
		complete(d, f, f->held[--f->nheld], 0);
	if (f->round_orphans)
		valid(f, "restore refused: %d", 0, od_cmd(d, "restore"));
	od_set_script(d, calm_script, f);
	od_start(d);
}

static void round_up(struct __test_metadata *_metadata,
		     FIXTURE_DATA(fuzz) *self, int round)
{
	struct ods_env *e = &self->e;
	const char *blob = round % 2 ? "inline" : "plain";

	memset(&self->f.held, 0, sizeof(self->f.held));
	self->f.nheld = self->f.opens = self->f.round_orphans = 0;
	self->f.done_read = 0;
	self->f.mounted = false;
	od_test_dir(e->cache, sizeof(e->cache), OD_CACHE_ROOT, ".%d", round);
	/* the last round's cache is released once its anon fds are closed */
	ASSERT_EQ(0, od_wait_dev_free(OD_WAIT_MS)) TH_LOG("an anon fd outlived its daemon");
	ASSERT_EQ(0, od_bind(&e->d, e->cache, NULL));
	od_set_script(&e->d, fuzz_script, &self->f);
	ASSERT_EQ(0, od_start(&e->d));
	ASSERT_EQ(0, ods_env_mount(e, blob)) TH_LOG("round %d: mounting %s", round, blob);
	/* sizes now, while READs are answered properly: later the test must not block */
	for (int i = 0; i < self->nfiles; i++) {
		struct stat st;

		ASSERT_EQ(0, stat(ods_path(e, self->files[i].path), &st));
		self->size[i] = st.st_size;
	}
	self->f.mounted = true;
}

/* A reader of a whole file, or of a random range of it. */
static void start_reader(struct __test_metadata *_metadata,
			 FIXTURE_DATA(fuzz) *self, struct od_reader *r, int *file,
			 off_t *off)
{
	int i = od_rand(&self->rng) % self->nfiles;
	off_t len = -1;
	int ret;

	*file = i;
	*off = 0;
	if (od_rand(&self->rng) % 2 && self->size[i]) {
		*off = od_rand(&self->rng) % self->size[i];
		len = 1 + od_rand(&self->rng) % (256 << 10);
	}
	pthread_mutex_lock(&fork_lock);
	ret = od_reader_start(r, ods_path(&self->e, self->files[i].path), *off, len);
	if (!ret)
		OD_POLL(!holds_anon_fd(r->pid), OD_WAIT_MS);
	pthread_mutex_unlock(&fork_lock);
	ASSERT_EQ(0, ret);
}

/* The bytes a reader got must be the generator's; or it got an errno. */
static void check_reader(struct __test_metadata *_metadata,
			 FIXTURE_DATA(fuzz) *self, struct od_reader *r, int file,
			 off_t off)
{
	const char *path = self->files[file].path;
	char sha[65];

	self->readers++;
	if (r->result) {
		/* -EPIPE: the reader died rather than got an error */
		EXPECT_TRUE(r->result < 0 && r->result != -EPIPE)
			TH_LOG("reader of %s at %lld: %d", path, (long long)off, r->result);
		self->failed[r->result == -EIO]++;
		return;
	}
	EXPECT_LE(off + r->bytes, self->size[file]) TH_LOG("%s: read past its end", path);
	od_tree_sha256(path, off, r->bytes, sha);
	EXPECT_STREQ(sha, r->sha256)
		TH_LOG("reader of %s [%lld, +%lld) got wrong bytes", path,
		       (long long)off, (long long)r->bytes);
}

/*
 * Batches of readers until the round's random phase ends; between batches
 * the page cache goes, so that holes left by partial answers are fetched
 * again.  Then a correct daemon: every reader must finish.
 */
static void read_round(struct __test_metadata *_metadata, FIXTURE_DATA(fuzz) *self)
{
	long deadline = od_now_ms() + ROUND_MS;
	int file[READERS];
	off_t off[READERS];
	bool running = false;

	while (!running && od_now_ms() < deadline) {
		for (int i = 0; i < READERS; i++)
			start_reader(_metadata, self, &self->r[i], &file[i], &off[i]);
		for (int i = 0; i < READERS; i++) {
			long left = deadline - od_now_ms();

			if (od_reader_wait(&self->r[i], left > 0 ? left : 0)) {
				running = true;
				continue;
			}
			check_reader(_metadata, self, &self->r[i], file[i], off[i]);
		}
		ods_drop_caches();
	}
	drain(&self->e.d, &self->f);
	for (int i = 0; i < READERS; i++) {
		if (self->r[i].pid <= 0)
			continue;
		ASSERT_EQ(0, od_reader_wait(&self->r[i], OD_WAIT_MS))
			TH_LOG("reader of %s hangs under a correct daemon",
			       self->files[file[i]].path);
		check_reader(_metadata, self, &self->r[i], file[i], off[i]);
	}
}

static int remove_one(const char *path, const struct stat *st, int type,
		      struct FTW *ftw)
{
	return remove(path);
}

/* Each cache leaves some 260 directories: the cache disk runs out of inodes. */
static int remove_cache(const char *dir)
{
	return nftw(dir, remove_one, 16, FTW_DEPTH | FTW_PHYS) ? -errno : 0;
}

TEST_F(fuzz, random_replies)
{
	struct fuzz *f = &self->f;
	long start = od_now_ms();
	int round;

	for (round = 0; round < ROUNDS; round++) {
		round_up(_metadata, self, round);
		read_round(_metadata, self);
		ASSERT_EQ(0, ods_env_umount(&self->e)) TH_LOG("round %d: umount", round);
		EXPECT_STREQ("", self->e.d.error);
		od_teardown(&self->e.d);
		EXPECT_EQ(0, remove_cache(self->e.cache));
	}
	TH_LOG("%d rounds in %ld ms: %d READs, %d reopens, %d anon fds closed early, %d orphans",
	       round, od_now_ms() - start, f->reads, f->reopens, f->closed, f->orphans);
	TH_LOG("%d junk replies, %d valid; %d readers, failed: %d EIO, %d other",
	       f->junk, f->valid, self->readers, self->failed[1], self->failed[0]);
	EXPECT_EQ(0, f->orphans) TH_LOG("READs handed out for objects without an anon fd");
	EXPECT_EQ(0, f->junk_taken) TH_LOG("first: %s", f->first_wrong);
	EXPECT_EQ(0, f->valid_refused) TH_LOG("first: %s", f->first_wrong);
	EXPECT_LT(0, f->junk);
}

ODS_MAIN
