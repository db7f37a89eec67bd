// SPDX-License-Identifier: GPL-2.0
/*
 * Stress, bounded: every wait has a timeout and every byte is checked.
 *
 * stress: the hundreds of files of the "large" image, read by many
 * reader processes at once, against a daemon whose threads all read
 * /dev/cachefiles and answer concurrently.
 *
 * cycles: mount and umount again and again, each time with a READ
 * pending while the mount goes away: lazily, refused as busy, or with
 * its reader killed.
 */
#include "ods.h"

#define MAX_READERS	16
#define RANGE		(128 << 10)	/* pieces of the big files */
#define BIG		"big/one-mib-plus"

/* Every READ names an opened object and stays inside its blob's blocks. */
static void check_reads(struct __test_metadata *_metadata, struct od_daemon *d)
{
	struct od_record *m;

	for (int i = 0; (m = od_find(d, CACHEFILES_OP_READ, i)); i++) {
		struct od_object *o = od_object(d, m->object_id);

		ASSERT_NE(NULL, o) TH_LOG("READ %u for object %u, never opened",
					  m->msg_id, m->object_id);
		EXPECT_EQ(0, m->off % OD_BLOCK);
		EXPECT_GE((o->size + OD_BLOCK - 1) & ~(off_t)(OD_BLOCK - 1),
			  (off_t)(m->off + m->rlen))
			TH_LOG("READ %u [%llu,+%llu) beyond the blob", m->msg_id,
			       (unsigned long long)m->off, (unsigned long long)m->rlen);
	}
	EXPECT_STREQ("", d->error);
}

struct job {
	const char *path;
	off_t off, len;		/* len < 0: the whole file */
	char sha[65];
};

/* Which daemon thread answered how many, and how many READs were in hand. */
struct tally {
	pthread_mutex_t lock;
	pid_t tid[OD_POOL_MAX + 1];
	int handled[OD_POOL_MAX + 1];
	int threads, in_hand, max_in_hand;
};

static enum od_action count_and_reply(struct od_daemon *d, struct od_record *m,
				      void *arg)
{
	struct tally *t = arg;
	pid_t tid = gettid();
	int i;

	pthread_mutex_lock(&t->lock);
	for (i = 0; i < t->threads && t->tid[i] != tid; i++)
		;
	if (i == t->threads && i <= OD_POOL_MAX)
		t->tid[t->threads++] = tid;
	if (i <= OD_POOL_MAX)
		t->handled[i]++;
	if (++t->in_hand > t->max_in_hand)
		t->max_in_hand = t->in_hand;
	pthread_mutex_unlock(&t->lock);
	od_reply(d, m);
	pthread_mutex_lock(&t->lock);
	t->in_hand--;
	pthread_mutex_unlock(&t->lock);
	return OD_DONE;
}

FIXTURE(stress) {
	struct ods_env e;
	struct od_pool pool;
	struct tally tally;
	struct od_manifest_entry *files;
	int nfiles;
	struct job *jobs;
	int njobs;
	struct od_reader r[MAX_READERS];
	int slot[MAX_READERS];
};

FIXTURE_VARIANT(stress) {
	int threads;	/* daemon threads reading /dev/cachefiles */
	int readers;	/* reader processes at once */
};

FIXTURE_VARIANT_ADD(stress, threads4) { .threads = 4, .readers = 12 };

/* Each file whole, and the big ones also in pieces read side by side. */
static int make_jobs(FIXTURE_DATA(stress) *self, uint64_t *rnd)
{
	int n = 0;

	self->jobs = calloc(self->nfiles + 64, sizeof(*self->jobs));
	if (!self->jobs)
		return -ENOMEM;
	for (int i = 0; i < self->nfiles; i++) {
		struct od_manifest_entry *f = &self->files[i];

		self->jobs[n++] = (struct job){ .path = f->path, .len = -1 };
		memcpy(self->jobs[n - 1].sha, f->sha256, sizeof(f->sha256));
		if (strncmp(f->path, "big/", 4))
			continue;
		/* both big files are longer than five pieces */
		for (int k = 0; k < 5; k++) {
			struct job *j = &self->jobs[n++];

			*j = (struct job){ .path = f->path, .off = k * RANGE, .len = RANGE };
			od_tree_sha256(f->path, j->off, j->len, j->sha);
		}
	}
	/* shuffled, so that neighbours in time are far apart in the blob */
	for (int i = n - 1; i > 0; i--) {
		int k = od_rand(rnd) % (i + 1);
		struct job tmp = self->jobs[i];

		self->jobs[i] = self->jobs[k];
		self->jobs[k] = tmp;
	}
	self->njobs = n;
	return 0;
}

FIXTURE_SETUP(stress)
{
	for (int i = 0; i < MAX_READERS; i++) {
		self->r[i].pid = -1;
		self->slot[i] = -1;
	}
	pthread_mutex_init(&self->tally.lock, NULL);
	self->nfiles = od_manifest_load("large", &self->files);
	ASSERT_LT(100, self->nfiles);
	ASSERT_GE(MAX_READERS, variant->readers);
	ASSERT_EQ(0, ods_up(&self->e));
	od_set_script(&self->e.d, count_and_reply, &self->tally);
	/* ods_up started one daemon thread; the pool adds the others */
	ASSERT_EQ(0, od_pool_start(&self->pool, &self->e.d, variant->threads - 1));
	ASSERT_EQ(0, ods_env_mount_image(&self->e, "large"));
}

FIXTURE_TEARDOWN(stress)
{
	for (int i = 0; i < MAX_READERS; i++)
		od_reader_kill(&self->r[i]);
	od_pool_stop(&self->pool);
	ods_down(_metadata, &self->e);
	free(self->files);
	free(self->jobs);
}

/* Wait for the reader in slot s and check what it read. */
static void finish(struct __test_metadata *_metadata, FIXTURE_DATA(stress) *self,
		   int s)
{
	struct job *j = &self->jobs[self->slot[s]];
	struct od_reader *r = &self->r[s];

	self->slot[s] = -1;
	ASSERT_EQ(0, od_reader_wait(r, OD_WAIT_MS))
		TH_LOG("reader of %s [%lld,+%lld) hung", j->path, (long long)j->off,
		       (long long)j->len);
	ASSERT_EQ(0, r->result) TH_LOG("%s: %s", j->path, strerror(-r->result));
	if (j->len >= 0) {
		EXPECT_EQ(j->len, r->bytes);
	}
	EXPECT_STREQ(j->sha, r->sha256)
		TH_LOG("%s [%lld,+%lld) differs", j->path, (long long)j->off,
		       (long long)j->len);
}

TEST_F(stress, parallel_readers)
{
	struct od_daemon *d = &self->e.d;
	uint64_t seed = od_seed(), rnd = seed;
	char path[PATH_MAX * 2];
	struct od_record *left;

	TH_LOG("seed %llu (ODS_SEED=%llu repeats this order)",
	       (unsigned long long)seed, (unsigned long long)seed);
	ASSERT_EQ(0, make_jobs(self, &rnd));
	for (int i = 0; i < self->njobs; i++) {
		int s = i % variant->readers;
		struct job *j = &self->jobs[i];

		if (self->slot[s] >= 0)
			finish(_metadata, self, s);
		snprintf(path, sizeof(path), "%s/%s", self->e.mnt, j->path);
		ASSERT_EQ(0, od_reader_start(&self->r[s], path, j->off, j->len));
		self->slot[s] = i;
	}
	for (int s = 0; s < variant->readers; s++)
		if (self->slot[s] >= 0)
			finish(_metadata, self, s);

	ASSERT_LT(self->nfiles / 4, od_count(d, CACHEFILES_OP_READ));
	EXPECT_EQ(0, od_wait_answered(d, CACHEFILES_OP_READ, OD_WAIT_MS)) {
		od_pending(d, CACHEFILES_OP_READ, &left, 1);
		TH_LOG("READ %u never answered", left->msg_id);
	}
	check_reads(_metadata, d);
	for (int i = 0; (left = od_find(d, CACHEFILES_OP_READ, i)); i++) {
		EXPECT_EQ(0, left->reply) TH_LOG("answering READ %u", left->msg_id);
	}
	pthread_mutex_lock(&self->tally.lock);
	TH_LOG("%d jobs, %d READs; %d daemon threads answered, at most %d READs in hand at once",
	       self->njobs, od_count(d, CACHEFILES_OP_READ), self->tally.threads,
	       self->tally.max_in_hand);
	pthread_mutex_unlock(&self->tally.lock);
}

enum cycle_mode { LAZY, BUSY, KILL };

FIXTURE(cycles) {
	struct ods_env e;
	struct od_reader r;
	struct od_holder h;
};

FIXTURE_VARIANT(cycles) {
	enum cycle_mode mode;
};

/* umount -l with the READ pending; answering it later completes the reader */
FIXTURE_VARIANT_ADD(cycles, lazy) { .mode = LAZY };
/* umount refused while the reader waits; allowed once it is answered */
FIXTURE_VARIANT_ADD(cycles, busy) { .mode = BUSY };
/* the reader is killed while its READ is pending, then umount */
FIXTURE_VARIANT_ADD(cycles, kill) { .mode = KILL };

#define CYCLES 8

FIXTURE_SETUP(cycles)
{
	self->r.pid = -1;
	od_holder_init(&self->h);
	ASSERT_EQ(0, ods_up(&self->e));
	od_set_script(&self->e.d, od_hold_reads, &self->h);
}

FIXTURE_TEARDOWN(cycles)
{
	od_reader_kill(&self->r);
	od_set_script(&self->e.d, NULL, NULL);
	ods_down(_metadata, &self->e);
}

/* Stop holding; answer what was held. Follow-ups get answered as usual. */
static void release(struct __test_metadata *_metadata, FIXTURE_DATA(cycles) *self)
{
	struct od_record *held[OD_HOLD_MAX];
	struct od_daemon *d = &self->e.d;
	int n;

	od_holder_set(&self->h, 0);
	n = od_holder_take(&self->h, held, OD_HOLD_MAX);
	for (int i = 0; i < n; i++) {
		EXPECT_EQ(0, od_reply(d, held[i])) TH_LOG("answering READ %u", held[i]->msg_id);
	}
}

static void reader_done(struct __test_metadata *_metadata, struct od_reader *r,
			off_t off)
{
	char sha[65];

	ASSERT_EQ(0, od_reader_wait(r, OD_WAIT_MS)) TH_LOG("the reader hung");
	od_tree_sha256(BIG, off, OD_BLOCK, sha);
	EXPECT_EQ(0, r->result) TH_LOG("%s", strerror(-r->result));
	EXPECT_STREQ(sha, r->sha256);
}

/* One cycle: mount, a READ pending, the mount goes, everything settles. */
static void run_cycle(struct __test_metadata *_metadata, FIXTURE_DATA(cycles) *self,
		  enum cycle_mode mode, int c)
{
	struct od_daemon *d = &self->e.d;
	struct od_record *held[16];
	off_t off = (off_t)c * RANGE;	/* cold in every cycle */
	int n;

	ASSERT_EQ(0, ods_env_mount_image(&self->e, "large")) TH_LOG("cycle %d", c);
	ASSERT_EQ(0, od_wait_count(d, CACHEFILES_OP_OPEN, c + 1, OD_WAIT_MS));
	od_holder_set(&self->h, 1);
	ASSERT_EQ(0, od_reader_start(&self->r, ods_path(&self->e, BIG), off, OD_BLOCK));
	ASSERT_EQ(0, od_holder_wait(&self->h, 1, OD_WAIT_MS)) TH_LOG("cycle %d: no READ", c);

	switch (mode) {
	case LAZY:
		ASSERT_EQ(0, umount2(self->e.mnt, MNT_DETACH) ? -errno : 0);
		self->e.mounted = false;
		release(_metadata, self);
		reader_done(_metadata, &self->r, off);
		break;
	case BUSY:
		ASSERT_EQ(-EBUSY, od_umount(self->e.mnt));
		release(_metadata, self);
		reader_done(_metadata, &self->r, off);
		ASSERT_EQ(0, ods_env_umount(&self->e));
		break;
	case KILL:
		od_reader_kill(&self->r);
		od_holder_set(&self->h, 0);
		n = od_holder_take(&self->h, held, 16);
		/* the killed reader took its request with it */
		for (int i = 0; i < n; i++) {
			EXPECT_EQ(-EINVAL, od_cread(d, held[i]->object_id, held[i]->msg_id))
				TH_LOG("cycle %d: READ %u outlived its reader", c,
				       held[i]->msg_id);
			od_answered(d, held[i], -EINVAL);
		}
		ASSERT_EQ(0, ods_env_umount(&self->e));
		break;
	}
	/* the object goes with the last user of the mount */
	ASSERT_EQ(0, od_wait_count(d, CACHEFILES_OP_CLOSE, c + 1, OD_WAIT_MS))
		TH_LOG("cycle %d: no CLOSE", c);
	EXPECT_EQ(0, od_wait_answered(d, CACHEFILES_OP_READ, OD_WAIT_MS))
		TH_LOG("cycle %d: a READ left unanswered", c);
}

TEST_F(cycles, mount_umount)
{
	struct od_daemon *d = &self->e.d;

	for (int c = 0; c < CYCLES; c++)
		run_cycle(_metadata, self, variant->mode, c);
	EXPECT_EQ(CYCLES, od_count(d, CACHEFILES_OP_OPEN));
	EXPECT_EQ(CYCLES, od_count(d, CACHEFILES_OP_CLOSE));
	EXPECT_FALSE(od_poll_in(d, 0));
	check_reads(_metadata, d);
}

ODS_MAIN
