// SPDX-License-Identifier: GPL-2.0
/*
 * A bounded soak under random allocation failures.  failslab and
 * fail_page_alloc fail a seeded share of the allocations made by the test's
 * readers and by its daemon thread, and by nobody else (task-filter: only
 * tasks with make-it-fail set, which the readers and the daemon thread set
 * for themselves).  Meanwhile readers read every file of the data-plane
 * images, again and again: from the page cache, from the cache file after
 * drop_caches, and cold through READs after a fresh bind.
 *
 * The oracle: every reader finishes within its bound, and every file it
 * read either has the manifest's bytes or failed with an errno; never wrong
 * bytes.  Then injection goes off and a fresh bind, mount and read gives
 * the manifest everywhere.  The runner adds: no splat, no taint, no leak.
 *
 * The daemon is a careful one: it retries what failed with ENOMEM, so that
 * what the readers see is the kernel's doing.  Seed: ODS_SEED (--seed).
 *
 * Needs the debug flavour (CONFIG_FAULT_INJECTION, FAILSLAB,
 * FAIL_PAGE_ALLOC, FAULT_INJECTION_DEBUG_FS); skipped elsewhere, naming the
 * first option the kernel lacks.
 */
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>

#include "ods.h"

#define SOAK_ITERATIONS	16
#define SOAK_READERS	3	/* at most, at once */
#define SOAK_RETRIES	50	/* of an ENOMEM, by the daemon or a mount */
#define SOAK_READER_MS	(3 * OD_WAIT_MS)
#define FAULT_MSG	"FAULT_INJECTION: forcing a failure"

struct soak_stats {
	int opens, reads, enomem, other, other_err, gave_up;
};

FIXTURE(soak) {
	struct ods_env e;
	char mnt2[PATH_MAX];
	bool mounted2;
	struct od_manifest_entry *files[2];
	int nfiles[2];
	struct soak_stats st;
	int gen;		/* cache directories used so far */
};

static const char *const images[2] = { "plain", "inline" };

/* Every daemon thread marks itself the first time it answers. */
static __thread bool marked;

static void mark_self(void)
{
	if (!marked && !od_make_it_fail(1))
		marked = true;
}

static void count_err(struct soak_stats *st, int ret)
{
	if (ret == -ENOMEM) {
		st->enomem++;
	} else if (ret) {
		st->other++;
		st->other_err = ret;
	}
}

static void answered(struct od_daemon *d, struct od_record *m, int ret)
{
	pthread_mutex_lock(&d->lock);
	m->reply = ret;
	m->answered = true;
	pthread_mutex_unlock(&d->lock);
}

/* A daemon that retries what failed for want of memory. */
static enum od_action soak_daemon(struct od_daemon *d, struct od_record *m,
				  void *arg)
{
	struct soak_stats *st = arg;
	int ret = -ENOMEM, i;
	long long size;

	mark_self();
	if (m->opcode == CACHEFILES_OP_OPEN) {
		st->opens++;
		for (i = 0; i < SOAK_RETRIES && ret == -ENOMEM; i++) {
			ret = od_object_add(d, m, NULL, -1);
			count_err(st, ret);
		}
		if (ret)	/* the OPEN fails, and the mount is retried */
			st->gave_up++;
		size = ret ?: od_object(d, m->object_id)->size;
		ret = -ENOMEM;
		for (i = 0; i < SOAK_RETRIES && ret == -ENOMEM; i++) {
			ret = od_copen(d, m->msg_id, size);
			count_err(st, ret);
		}
		answered(d, m, ret);
		return OD_DONE;
	}
	if (m->opcode != CACHEFILES_OP_READ)
		return OD_REPLY;	/* CLOSE: close() allocates nothing */

	st->reads++;
	for (i = 0; i < SOAK_RETRIES && ret; i++) {
		ret = od_write(d, m->object_id, m->off, m->rlen);
		count_err(st, ret);
	}
	if (ret)	/* the reader then gets EIO, or asks again */
		st->gave_up++;
	ret = -ENOMEM;
	for (i = 0; i < SOAK_RETRIES && ret == -ENOMEM; i++)
		ret = od_cread(d, m->object_id, m->msg_id);
	count_err(st, ret);
	answered(d, m, ret);
	return OD_DONE;
}

/* What one reader process found. */
struct soak_result {
	int ok, errors, wrong;
	int enomem, eio, other, other_err;	/* the errors, by errno */
	char wrong_path[256];
};

/* Every file of both images, in a seeded order, in a marked child. */
static int reader_start(struct od_child *r, FIXTURE_DATA(soak) *self,
			uint64_t seed)
{
	int ret = od_child_start(r);

	if (ret)
		return ret;
	if (r->pid == 0) {
		struct soak_result res = { 0 };
		int n = self->nfiles[0] + self->nfiles[1], order[256];

		for (int i = 0; i < n && i < 256; i++)
			order[i] = i;
		for (int i = n - 1; i > 0; i--) {
			int j = od_rand(&seed) % (i + 1), t = order[i];

			order[i] = order[j];
			order[j] = t;
		}
		od_make_it_fail(1);
		for (int i = 0; i < n && i < 256; i++) {
			int img = order[i] >= self->nfiles[0];
			struct od_manifest_entry *f =
				&self->files[img][order[i] - img * self->nfiles[0]];
			char path[PATH_MAX * 2], sha[65];
			int ret;

			snprintf(path, sizeof(path), "%s/%s",
				 img ? self->mnt2 : self->e.mnt, f->path);
			ret = od_sha256_file(path, sha);
			if (ret) {
				res.errors++;
				if (ret == -ENOMEM)
					res.enomem++;
				else if (ret == -EIO)
					res.eio++;
				else
					res.other++, res.other_err = ret;
			} else if (strcmp(sha, f->sha256)) {
				if (!res.wrong++)
					snprintf(res.wrong_path, sizeof(res.wrong_path),
						 "%s", path);
			} else {
				res.ok++;
			}
		}
		od_make_it_fail(0);
		od_child_report(r, &res, sizeof(res));
	}
	return 0;
}

/* 0 and the result, -ETIMEDOUT (reader killed), or -EPIPE (it died). */
static int reader_wait(struct od_child *r, struct soak_result *res,
		       int timeout_ms)
{
	int ret = od_child_wait(r, res, sizeof(*res), timeout_ms);

	if (ret == -ETIMEDOUT)
		od_child_kill(r);
	return ret;
}

/* The mounts are the test thread's (unmarked), but the daemon's OPEN may fail. */
static int soak_mount(FIXTURE_DATA(soak) *self, int *failures)
{
	int ret = 0;

	for (int i = 0; i < SOAK_RETRIES && !self->e.mounted; i++) {
		ret = ods_env_mount(&self->e, images[0]);
		*failures += !!ret;
	}
	for (int i = 0; i < SOAK_RETRIES && !self->mounted2 && self->e.mounted; i++) {
		ret = od_mount(images[1], NULL, self->mnt2);
		self->mounted2 = !ret;
		*failures += !!ret;
	}
	return ret;
}

static void soak_down(struct __test_metadata *_metadata, FIXTURE_DATA(soak) *self)
{
	if (self->mounted2 && umount2(self->mnt2, 0))
		umount2(self->mnt2, MNT_DETACH);
	self->mounted2 = false;
	ods_down(_metadata, &self->e);
}

/* A new daemon on a new, cold cache directory. */
static int soak_up(FIXTURE_DATA(soak) *self, od_script_fn script)
{
	int ret = od_wait_dev_free(OD_WAIT_MS);

	if (ret)
		return ret;
	od_test_dir(self->e.cache, sizeof(self->e.cache), OD_CACHE_ROOT, "-%d", self->gen++);
	ret = od_bind(&self->e.d, self->e.cache, NULL);
	if (ret)
		return ret;
	od_set_script(&self->e.d, script, &self->st);
	return od_start(&self->e.d);
}

FIXTURE_SETUP(soak)
{
	const char *why;

	od_test_dir(self->e.mnt, sizeof(self->e.mnt), OD_MNT_ROOT, NULL);
	od_test_dir(self->mnt2, sizeof(self->mnt2), OD_MNT_ROOT, "-2");
	why = ods_kconfig_missing(OD_FAULT_KCONFIG) ?: od_fault_missing();
	if (why)
		SKIP(return, "%s", why);
	for (int i = 0; i < 2; i++) {
		self->nfiles[i] = od_manifest_load(images[i], &self->files[i]);
		ASSERT_LT(0, self->nfiles[i]);
	}
	ASSERT_GE(256, self->nfiles[0] + self->nfiles[1]);
	ASSERT_EQ(0, od_fault_reset());
}

FIXTURE_TEARDOWN(soak)
{
	if (ods_test_skipped(_metadata))
		return;
	/* nothing is injected any more, whatever happened */
	EXPECT_EQ(0, od_fault_reset());
	soak_down(_metadata, self);
	rmdir(self->mnt2);
	for (int i = 0; i < 2; i++)
		free(self->files[i]);
}

TEST_F(soak, random_alloc_failures)
{
	static const char *const attrs[] = { "failslab", "fail_page_alloc" };
	uint64_t seed = od_seed(), rnd = seed;
	const char *tmo = getenv("ODS_TIMEOUT");
	/* the harness's own timeout is the runner's plus 30 s: use half */
	long budget = ((tmo && atoi(tmo) > 40 ? atoi(tmo) - 30 : 30) * 1000L) / 2;
	long start = od_now_ms();
	int prob[2], interval[2], faults = od_klog_count(FAULT_MSG);
	int it, done = 0, readers = 0, files_ok = 0, mount_fail = 0;
	struct soak_result errs = { 0 };

	if (ods_test_skipped(_metadata))
		return;
	ASSERT_LE(0, faults);
	TH_LOG("seed %llu (replay with --seed %llu)", (unsigned long long)seed,
	       (unsigned long long)seed);

	ASSERT_EQ(0, soak_up(self, soak_daemon));
	ASSERT_EQ(0, soak_mount(self, &mount_fail));

	/* a share of every allocation of the marked tasks, small pages included */
	prob[0] = 1 + od_rand(&rnd) % 10;
	prob[1] = 1 + od_rand(&rnd) % 5;
	for (int i = 0; i < 2; i++) {
		interval[i] = 1 + od_rand(&rnd) % 3;
		ASSERT_EQ(0, od_fault_set(attrs[i], "task-filter", "Y"));
		ASSERT_EQ(0, od_fault_set(attrs[i], "ignore-gfp-wait", "N"));
		ASSERT_EQ(0, od_fault_set(attrs[i], "verbose", "1"));
		ASSERT_EQ(0, od_fault_set(attrs[i], "times", "-1"));
		ASSERT_EQ(0, od_fault_set(attrs[i], "interval", "%d", interval[i]));
		ASSERT_EQ(0, od_fault_set(attrs[i], "probability", "%d", prob[i]));
	}
	ASSERT_EQ(0, od_fault_set("fail_page_alloc", "ignore-gfp-highmem", "N"));
	ASSERT_EQ(0, od_fault_set("fail_page_alloc", "min-order", "0"));
	TH_LOG("failslab %d%% every %d, fail_page_alloc %d%% every %d", prob[0],
	       interval[0], prob[1], interval[1]);

	for (it = 0; it < SOAK_ITERATIONS && od_now_ms() - start < budget; it++) {
		struct od_child r[SOAK_READERS];
		int n = 1 + od_rand(&rnd) % SOAK_READERS, what = od_rand(&rnd) % 3;

		/* 0: page cache as it is; 1: from the cache files; 2: cold */
		if (what == 1) {
			ASSERT_EQ(0, ods_drop_caches());
		} else if (what == 2) {
			soak_down(_metadata, self);
			ASSERT_EQ(0, soak_up(self, soak_daemon));
		}
		ASSERT_EQ(0, soak_mount(self, &mount_fail))
			TH_LOG("iteration %d: no mount in %d tries", it, SOAK_RETRIES);
		for (int i = 0; i < n; i++)
			ASSERT_EQ(0, reader_start(&r[i], self, od_rand(&rnd)));
		for (int i = 0; i < n; i++) {
			struct soak_result res = { 0 };
			int ret = reader_wait(&r[i], &res, SOAK_READER_MS);

			ASSERT_EQ(0, ret) TH_LOG("iteration %d: reader %d %s", it, i,
						 ret == -ETIMEDOUT ? "hangs" : "died");
			EXPECT_EQ(0, res.wrong) TH_LOG("iteration %d: %d files with wrong data, %s first",
						       it, res.wrong, res.wrong_path);
			readers++;
			files_ok += res.ok;
			errs.errors += res.errors;
			errs.enomem += res.enomem;
			errs.eio += res.eio;
			errs.other += res.other;
			if (res.other)
				errs.other_err = res.other_err;
		}
		done++;
		if (ods_test_failed(_metadata))
			break;
	}

	for (int i = 0; i < 2; i++)
		ASSERT_EQ(0, od_fault_set(attrs[i], "probability", "0"));
	faults = od_klog_count(FAULT_MSG) - faults;
	TH_LOG("%d iterations, %d readers: %d files read right, %d failed: %d ENOMEM, %d EIO, %d other (%s)",
	       done, readers, files_ok, errs.errors, errs.enomem, errs.eio, errs.other,
	       errs.other ? strerror(-errs.other_err) : "-");
	TH_LOG("daemon: %d OPEN, %d READ, %d ENOMEM retried, %d given up, %d other errors (%s); %d mounts failed",
	       self->st.opens, self->st.reads, self->st.enomem, self->st.gave_up,
	       self->st.other, self->st.other ? strerror(-self->st.other_err) : "-", mount_fail);
	TH_LOG("%d failures injected (kernel log)", faults);
	EXPECT_LT(0, done);
	/* a soak that failed nothing tested nothing */
	EXPECT_LT(0, faults) TH_LOG("no allocation was failed");

	/* recovery: no injection, a new daemon, a cold cache, every file right */
	soak_down(_metadata, self);
	ASSERT_EQ(0, soak_up(self, NULL));
	ASSERT_EQ(0, ods_env_mount(&self->e, images[0]));
	ASSERT_EQ(0, od_mount(images[1], NULL, self->mnt2));
	self->mounted2 = true;
	for (int img = 0; img < 2; img++) {
		for (int i = 0; i < self->nfiles[img]; i++) {
			char path[PATH_MAX * 2];
			struct od_reader r;

			snprintf(path, sizeof(path), "%s/%s", img ? self->mnt2 : self->e.mnt,
				 self->files[img][i].path);
			ASSERT_EQ(0, od_reader_start(&r, path, 0, -1));
			ASSERT_EQ(0, od_reader_wait(&r, OD_WAIT_MS)) {
				od_reader_kill(&r);
				TH_LOG("%s hangs after the soak", path);
			}
			EXPECT_EQ(0, r.result) TH_LOG("%s: %s", path, strerror(-r.result));
			EXPECT_STREQ(self->files[img][i].sha256, r.sha256)
				TH_LOG("%s: wrong data after the soak", path);
		}
	}
	EXPECT_STREQ("", self->e.d.error);
}

ODS_MAIN
