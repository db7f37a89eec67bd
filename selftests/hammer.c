// SPDX-License-Identifier: GPL-2.0
/*
 * Race hammers: two threads, one on each CPU, meet again and again in a
 * window the kernel guards with a lock or an ordering, each meeting moved
 * by a seeded delay (ODS_SEED repeats the run).  Every meeting must end
 * within its bound with success or a clear errno, leave no request queued,
 * and a fresh mount must still read correct data; the runner adds no
 * splat, no task in D state and, on the debug flavour, no leak.
 *
 * write_vs_withdraw: pwrite() and llseek() on an anon fd while umount
 *   withdraws its object.  cachefiles_ondemand_fd_write_iter() and
 *   _fd_llseek() take object->file under object->lock with a reference;
 *   cachefiles_clean_up_object() clears it under the same lock.  Once it
 *   is gone, the fd answers ENOBUFS.
 * release_vs_copen: the daemon closes an OPEN's anon fd while it sends
 *   the copen.  cachefiles_ondemand_copen() fails the OPEN (EBADFD) if
 *   cachefiles_ondemand_fd_release() marked the object closed first, and
 *   re-marks it closed if the release came after; either way the mount
 *   fails cleanly or reads reopen the object.
 *
 * devclose_vs_misses: the device closes while misses and a new mount send
 *   requests: the daemon process is killed, or its thread stops and the
 *   device closes with the anon fds kept.  cachefiles_flush_reqs() sets
 *   CACHEFILES_DEAD and fails what is queued; cachefiles_ondemand_send_req()
 *   checks the flag again under the xarray lock, so no request is queued
 *   after the flush to wait for ever.  Every reader and the mount end while
 *   the kept fds still hold the cache, a mount after the close fails, and
 *   the cache is released.
 * domain_churn: two fsids mounted and umounted again and again in one
 *   domain_id.  erofs_fscache_register_domain() finds or creates the
 *   domain and _domain_put() frees it with the last mount, both under
 *   erofs_domain_list_lock.  Every mount and umount succeeds.
 *
 * crash_restore: the daemon dies after writing a READ's data and before its
 *   READ_COMPLETE, with both objects of a two-blob image in use; a new
 *   daemon on the same device sends "restore".  cachefiles_ondemand_restore()
 *   marks every pending request new again; each object, its anon fd gone,
 *   reopens (ondemand_object_worker()) before its READs come again.  Every
 *   reader ends with its file's bytes.
 * restore_vs_cread: "restore" on one CPU while the other completes the READs
 *   the daemon holds.  The READ_COMPLETE ioctl (cachefiles_ondemand_fd_ioctl())
 *   takes the request out of cache->reqs under the xarray lock before it
 *   completes it; restore marks what is still there new under the same
 *   lock.  So a READ completed before the restore is never handed out
 *   again, and one the restore caught is completed exactly once: by the
 *   first of the two answers, the other getting EINVAL.
 *
 * slice: a few meetings, in the default run.  full: the long run, opt-in
 * (selftests/opt-in), for the debug flavour: -t 'hammer.full.*'; there
 * the three on cold caches have a quarter of the meetings (cold_meetings()).
 * Each meeting that needs misses gets a cold cache of its own: the last
 * one's would serve the reads from disk and leave nothing in flight.
 */
#include <poll.h>
#include <sched.h>
#include <semaphore.h>
#include <sys/wait.h>
#include <time.h>

#include "ods.h"

#define NREADERS	3

FIXTURE(hammer) {
	struct ods_env e;
	struct od_mounter mo;
	struct od_reader r[NREADERS];
	int pick[NREADERS];			/* which of files each reads */
	struct od_manifest_entry *files;	/* of the image the readers read */
	int nfiles;
	uint64_t rnd;
	bool failover;
};

FIXTURE_VARIANT(hammer) {
	int meetings;
};

FIXTURE_VARIANT_ADD(hammer, slice) { .meetings = 12 };
FIXTURE_VARIANT_ADD(hammer, full) { .meetings = 200 };

/* The calling thread on CPU cpu (modulo the CPUs there are). */
static void pin(int cpu)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(n > 0 ? cpu % n : 0, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

/*
 * Meetings on a cold cache: each is a mount and reads of a cold image,
 * some 15 s on the debug flavour under TCG, so the full run has a quarter
 * of them there, and the slice as many as the others.
 */
static int cold_meetings(const FIXTURE_VARIANT(hammer) *variant)
{
	return variant->meetings / 4 > 12 ? variant->meetings / 4 : variant->meetings;
}

/* a file of the basic tree in blocks of its own: in a cold cache, reading it misses */
#define SURE_MISS	"odd-tail"

/* A delay of n iterations: where in the window the two meet. */
static void spin(unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		asm volatile("" ::: "memory");	/* kept by the compiler */
}

FIXTURE_SETUP(hammer)
{
	uint64_t seed = od_seed();

	self->mo.pid = -1;
	for (int k = 0; k < NREADERS; k++)
		self->r[k].pid = -1;
	self->rnd = seed;
	TH_LOG("seed %llu (ODS_SEED=%llu repeats it); %d meetings, %d on cold caches",
	       (unsigned long long)seed, (unsigned long long)seed, variant->meetings,
	       cold_meetings(variant));
	ASSERT_EQ(0, ods_up(&self->e));
	self->failover = od_kernel_has_restore(&self->e.d);
}

FIXTURE_TEARDOWN(hammer)
{
	for (int k = 0; k < NREADERS; k++)
		od_reader_kill(&self->r[k]);
	free(self->files);
	ods_down_mounter(_metadata, &self->e, &self->mo);
}

/* After the meetings: nothing queued, and the data still right. */
static void settled(struct __test_metadata *_metadata, FIXTURE_DATA(hammer) *self)
{
	struct od_daemon *d = &self->e.d;

	od_set_script(d, NULL, NULL);
	EXPECT_EQ(0, od_wait_answered(d, CACHEFILES_OP_OPEN, OD_WAIT_MS));
	EXPECT_EQ(0, od_wait_answered(d, CACHEFILES_OP_READ, OD_WAIT_MS));
	ASSERT_EQ(0, ods_env_mount(&self->e, "plain"));
	ods_expect_image(_metadata, self->e.mnt, "plain");
}

/*
 * Three readers of the image in self->files, started: the first of a file
 * that is sure to miss in a cold cache, the others of random ones.
 */
static void start_readers(struct __test_metadata *_metadata,
			  FIXTURE_DATA(hammer) *self)
{
	for (int k = 0; k < NREADERS; k++) {
		self->pick[k] = od_rand(&self->rnd) % self->nfiles;
		for (int f = 0; !k && f < self->nfiles; f++)
			if (!strcmp(self->files[f].path, SURE_MISS))
				self->pick[k] = f;
		ASSERT_EQ(0, od_reader_start(&self->r[k],
			  ods_path(&self->e, self->files[self->pick[k]].path), 0, -1));
	}
}

/*
 * Each reader ends within the bound with its file's bytes, or (cut: its
 * cache was cut off, or its miss cannot be served) with EIO or ENOBUFS.
 * The number that read.
 */
static int readers_end(struct __test_metadata *_metadata, FIXTURE_DATA(hammer) *self,
		       bool cut)
{
	int ok = 0;

	for (int k = 0; k < NREADERS; k++) {
		struct od_reader *r = &self->r[k];
		const struct od_manifest_entry *f = &self->files[self->pick[k]];

		EXPECT_EQ(0, od_reader_wait(r, OD_WAIT_MS)) TH_LOG("reading %s hangs", f->path);
		od_reader_kill(r);
		if (cut && (r->result == -EIO || r->result == -ENOBUFS))
			continue;
		EXPECT_EQ(0, r->result) TH_LOG("%s: %s", f->path, strerror(-r->result));
		if (r->result)
			continue;
		EXPECT_STREQ(f->sha256, r->sha256) TH_LOG("%s: wrong data", f->path);
		ok++;
	}
	return ok;
}

/*
 * A cold cache directory for meeting i in self->e.cache, the last one's
 * daemon gone, its cache released and its directory removed: 200
 * meetings' volume and fan-out dirs would fill the disk's inodes.
 */
static int coldcache(FIXTURE_DATA(hammer) *self, int i)
{
	int ret;

	od_teardown(&self->e.d);
	ret = od_wait_dev_free(OD_WAIT_MS);
	if (ret)
		return ret;
	od_rm_tree(self->e.cache);
	od_test_dir(self->e.cache, sizeof(self->e.cache), OD_CACHE_ROOT, "m%d", i);
	return 0;
}

/* A cold cache for meeting i, bound and served by a new daemon thread. */
static int recache(FIXTURE_DATA(hammer) *self, int i)
{
	struct od_daemon *d = &self->e.d;

	return coldcache(self, i) ?: od_bind(d, self->e.cache, NULL) ?: od_start(d);
}

/* -- write_vs_withdraw ------------------------------------------------------ */

struct writer {
	pthread_t t;
	int fd, blob, stop;
	off_t size;
	uint64_t rnd;
	int done, enobufs;
	int bad;		/* the first errno that is neither 0 nor ENOBUFS */
	const char *bad_op;
};

/* The blob's own blocks, so that what lands in the cache stays right. */
static void *writer_main(void *arg)
{
	struct writer *w = arg;
	off_t blocks = (w->size + OD_BLOCK - 1) / OD_BLOCK;
	void *buf;

	pin(1);
	if (posix_memalign(&buf, OD_BLOCK, OD_BLOCK))
		return NULL;
	while (!__atomic_load_n(&w->stop, __ATOMIC_ACQUIRE) && !w->enobufs) {
		off_t off = (od_rand(&w->rnd) % blocks) * OD_BLOCK;
		bool write = od_rand(&w->rnd) & 1;
		ssize_t ret;

		memset(buf, 0, OD_BLOCK);
		if (pread(w->blob, buf, OD_BLOCK, off) < 0)
			break;
		ret = write ? pwrite(w->fd, buf, OD_BLOCK, off) :
			      lseek(w->fd, off, od_rand(&w->rnd) & 1 ? SEEK_DATA : SEEK_HOLE);
		w->done++;
		if (ret >= 0 || (!write && errno == ENXIO))
			continue;
		if (errno == ENOBUFS)
			w->enobufs++;
		else if (!w->bad) {
			w->bad = errno;
			w->bad_op = write ? "pwrite" : "lseek";
		}
	}
	free(buf);
	return NULL;
}

/* The CLOSE is noted, and the anon fd kept for the writer. */
static enum od_action keep_anon_fd(struct od_daemon *d, struct od_record *m,
				   void *arg)
{
	if (m->opcode != CACHEFILES_OP_CLOSE)
		return OD_REPLY;
	od_answered(d, m, 0);
	return OD_DONE;
}

TEST_F(hammer, write_vs_withdraw)
{
	struct od_daemon *d = &self->e.d;
	int enobufs = 0;

	pin(0);
	od_set_script(d, keep_anon_fd, NULL);
	for (int i = 0; i < variant->meetings; i++) {
		struct writer w = { .rnd = self->rnd + i };
		struct od_object *o;

		ASSERT_EQ(0, ods_env_mount(&self->e, "plain")) TH_LOG("meeting %d", i);
		ASSERT_EQ(0, od_wait_count(d, CACHEFILES_OP_OPEN, i + 1, OD_WAIT_MS));
		o = od_object(d, od_find(d, CACHEFILES_OP_OPEN, i)->object_id);
		ASSERT_NE(NULL, o);
		w.fd = o->anon_fd;
		w.blob = o->blob_fd;
		w.size = o->size;
		ASSERT_EQ(0, pthread_create(&w.t, NULL, writer_main, &w));
		spin(od_rand(&self->rnd) % 200000);
		EXPECT_EQ(0, ods_env_umount(&self->e)) TH_LOG("meeting %d", i);
		EXPECT_EQ(0, od_wait_count(d, CACHEFILES_OP_CLOSE, i + 1, OD_WAIT_MS))
			TH_LOG("meeting %d: no CLOSE", i);
		/* the withdrawal ends in a worker: give the writer a bound to see it */
		OD_POLL(__atomic_load_n(&w.enobufs, __ATOMIC_ACQUIRE), OD_WAIT_MS);
		__atomic_store_n(&w.stop, 1, __ATOMIC_RELEASE);
		pthread_join(w.t, NULL);
		EXPECT_EQ(0, w.bad) TH_LOG("meeting %d: %s on the anon fd: %s", i,
					   w.bad_op, strerror(w.bad));
		EXPECT_NE(0, w.enobufs) TH_LOG("meeting %d: the withdrawn object's fd still works", i);
		enobufs += !!w.enobufs;
		EXPECT_EQ(0, od_close_anon(d, o->object_id));
		if (ods_test_failed(_metadata))
			return;
	}
	TH_LOG("%d of %d writers saw the withdrawal", enobufs, variant->meetings);
	settled(_metadata, self);
}

/* -- release_vs_copen ------------------------------------------------------- */

/* the delays' range: wide enough that either may come first */
#define SPREAD	200000

struct releaser {
	pthread_t t;
	struct od_daemon *d;
	sem_t go;		/* the meeting's OPEN is in hand */
	int armed;		/* the next OPEN is the meeting's */
	int ready, done;	/* the releaser is running; the fd is gone */
	int quit;
	int object_id;
	unsigned int delay;	/* the releaser's, from the seed */
	uint64_t rnd;
	/* when the close and the copen began and ended (CLOCK_MONOTONIC, ns) */
	long long close0, close1, copen0, copen1;
};

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void *releaser_main(void *arg)
{
	struct releaser *r = arg;
	struct timespec ts;

	pin(1);
	while (!__atomic_load_n(&r->quit, __ATOMIC_ACQUIRE)) {
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 100 * 1000 * 1000;
		if (ts.tv_nsec >= 1000 * 1000 * 1000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000 * 1000 * 1000;
		}
		if (sem_timedwait(&r->go, &ts))
			continue;
		__atomic_store_n(&r->ready, 1, __ATOMIC_RELEASE);
		spin(r->delay);
		r->close0 = now_ns();
		od_close_anon(r->d, r->object_id);
		r->close1 = now_ns();
		__atomic_store_n(&r->done, 1, __ATOMIC_RELEASE);
	}
	return NULL;
}

/* Until *flag is set, or a bound: the other thread is a spin away. */
static void await(int *flag)
{
	long end = od_now_ms() + OD_WAIT_MS;

	while (!__atomic_load_n(flag, __ATOMIC_ACQUIRE) && od_now_ms() < end)
		sched_yield();
}

/*
 * The meeting's OPEN: the releaser closes its anon fd on the other CPU
 * while this daemon thread sends the copen, each after its own delay.
 */
static enum od_action race_copen(struct od_daemon *d, struct od_record *m, void *arg)
{
	struct releaser *r = arg;
	int ret;

	if (m->opcode != CACHEFILES_OP_OPEN ||
	    !__atomic_exchange_n(&r->armed, 0, __ATOMIC_ACQ_REL))
		return OD_REPLY;
	pin(0);
	ret = od_object_add(d, m, NULL, -1);
	if (ret)
		return OD_REPLY;
	r->object_id = m->object_id;
	r->delay = od_rand(&r->rnd) % SPREAD;
	__atomic_store_n(&r->ready, 0, __ATOMIC_RELEASE);
	__atomic_store_n(&r->done, 0, __ATOMIC_RELEASE);
	sem_post(&r->go);
	await(&r->ready);
	spin(od_rand(&r->rnd) % SPREAD);
	r->copen0 = now_ns();
	ret = od_copen(d, m->msg_id, od_object(d, m->object_id)->size);
	r->copen1 = now_ns();
	od_answered(d, m, ret);
	/*
	 * No READ is taken until the fd is gone: a daemon that closes the fd
	 * of a READ it holds cannot answer it.  Queued ones reopen the object.
	 */
	await(&r->done);
	return OD_DONE;
}

TEST_F(hammer, release_vs_copen)
{
	struct od_daemon *d = &self->e.d;
	struct releaser r = { .d = d, .rnd = self->rnd };
	int first[2] = { 0 }, overlap = 0;	/* meetings the close, the copen came first */

	ASSERT_LT(0, self->nfiles = od_manifest_load("plain", &self->files));
	ASSERT_EQ(0, sem_init(&r.go, 0, 0));
	ASSERT_EQ(0, pthread_create(&r.t, NULL, releaser_main, &r));
	od_set_script(d, race_copen, &r);
	for (int i = 0; i < variant->meetings && !ods_test_failed(_metadata); i++) {
		bool close_first, copen_first;

		__atomic_store_n(&r.armed, 1, __ATOMIC_RELEASE);
		ASSERT_EQ(0, od_mount_start(&self->mo, "plain", NULL, self->e.mnt));
		ASSERT_EQ(0, od_mount_wait(&self->mo, OD_WAIT_MS))
			TH_LOG("meeting %d: the mount hangs", i);
		/* the copen write may return after the mount did */
		EXPECT_EQ(0, od_wait_answered(d, CACHEFILES_OP_OPEN, OD_WAIT_MS))
			TH_LOG("meeting %d: the OPEN was never answered", i);
		await(&r.done);
		close_first = r.close1 < r.copen0;
		copen_first = r.copen1 < r.close0;
		first[0] += close_first;
		first[1] += copen_first;
		overlap += !close_first && !copen_first;
		/*
		 * Closed before the copen began: the OPEN fails, and the mount
		 * (cold EIO, warm ENOBUFS).  Opened before the close began: the
		 * mount works (with failover; 5.19 fails its reads).  Between:
		 * either, cleanly.
		 */
		if (close_first) {
			EXPECT_NE(0, self->mo.result)
				TH_LOG("meeting %d: a copen after the close opened the object", i);
		}
		if (copen_first && self->failover) {
			EXPECT_EQ(0, self->mo.result)
				TH_LOG("meeting %d: the copen came first, and the mount failed: %s",
				       i, strerror(-self->mo.result));
		}
		if (self->mo.result) {
			EXPECT_TRUE(self->mo.result == -EIO || self->mo.result == -ENOBUFS)
				TH_LOG("meeting %d: the mount failed: %s", i,
				       strerror(-self->mo.result));
			continue;
		}
		self->e.mounted = true;
		/* the anon fd is gone: a miss reopens (5.19: fails with EIO) */
		start_readers(_metadata, self);
		readers_end(_metadata, self, !self->failover);
		EXPECT_EQ(0, ods_env_umount(&self->e)) TH_LOG("meeting %d", i);
		EXPECT_EQ(0, od_wait_answered(d, CACHEFILES_OP_READ, OD_WAIT_MS))
			TH_LOG("meeting %d: a READ left unanswered", i);
	}
	__atomic_store_n(&r.quit, 1, __ATOMIC_RELEASE);
	pthread_join(r.t, NULL);
	TH_LOG("the close came first %d times, the copen %d, they overlapped %d",
	       first[0], first[1], overlap);
	settled(_metadata, self);
}

/* -- devclose_vs_misses ---------------------------------------------------- */

/*
 * A daemon in a process of its own, bound to cache and serving until it is
 * killed, so that its death closes the device while it is busy: its pid,
 * or -errno.
 */
static pid_t daemon_child(const char *cache)
{
	static struct od_daemon cd;
	struct pollfd p = { .events = POLLIN };
	int pipefd[2];
	char ok = 0;
	pid_t pid;

	if (pipe2(pipefd, O_CLOEXEC))
		return -errno;
	pid = fork();
	if (pid == 0) {
		ok = !od_bind(&cd, cache, NULL) && !od_start(&cd);
		if (write(pipefd[1], &ok, 1) != 1 || !ok)
			_exit(1);
		for (;;)
			pause();
	}
	close(pipefd[1]);
	p.fd = pipefd[0];
	if (pid > 0 && (poll(&p, 1, OD_WAIT_MS) != 1 || read(pipefd[0], &ok, 1) != 1 || !ok)) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		pid = -EIO;
	}
	close(pipefd[0]);
	return pid < 0 && pid != -EIO ? -errno : pid;
}

TEST_F(hammer, devclose_vs_misses)
{
	struct od_daemon *d = &self->e.d;
	char mnt2[PATH_MAX];
	int ok = 0, mounts = 0;

	ASSERT_LT(0, self->nfiles = od_manifest_load("plain", &self->files));
	od_test_dir(mnt2, sizeof(mnt2), OD_MNT_ROOT, "b");
	for (int i = 0; i < cold_meetings(variant) && !ods_test_failed(_metadata); i++) {
		/*
		 * Even meetings: the daemon is a process, killed, and its anon
		 * fds close with the device, so the cache's withdrawal fails
		 * whatever the flush missed.  Odd ones: the daemon thread stops
		 * and the device closes alone; the anon fds keep the cache
		 * bound, so nothing but the flush and the DEAD checks in
		 * cachefiles_ondemand_send_req() can end the waits.
		 */
		bool keep = i % 2;
		pid_t pid = -1;

		if (keep) {
			ASSERT_EQ(0, recache(self, i)) TH_LOG("meeting %d", i);
		} else {
			ASSERT_EQ(0, coldcache(self, i)) TH_LOG("meeting %d", i);
			ASSERT_LT(0, pid = daemon_child(self->e.cache))
				TH_LOG("meeting %d: no daemon", i);
		}
		EXPECT_EQ(0, ods_env_mount(&self->e, "plain")) TH_LOG("meeting %d", i);
		/* misses and a mount send requests while the device closes */
		start_readers(_metadata, self);
		ASSERT_EQ(0, od_mount_start(&self->mo, "inline", NULL, mnt2));
		spin(od_rand(&self->rnd) % 2000000);
		if (keep) {
			od_stop(d);
			od_close_dev(d);
		} else {
			kill(pid, SIGKILL);
			ASSERT_EQ(pid, waitpid(pid, NULL, 0));
		}

		ok += readers_end(_metadata, self, true);
		ASSERT_EQ(0, od_mount_wait(&self->mo, OD_WAIT_MS))
			TH_LOG("meeting %d: the mount hangs on the closed cache", i);
		EXPECT_TRUE(!self->mo.result || self->mo.result == -EIO ||
			    self->mo.result == -ENOBUFS)
			TH_LOG("meeting %d: the mount: %s", i, strerror(-self->mo.result));
		if (!self->mo.result) {
			mounts++;
			EXPECT_EQ(0, od_umount(mnt2));
		}
		if (keep) {
			/* a mount after the close: its OPEN meets the DEAD check */
			ASSERT_EQ(0, od_mount_start(&self->mo, "inline", NULL, mnt2));
			ASSERT_EQ(0, od_mount_wait(&self->mo, OD_WAIT_MS))
				TH_LOG("meeting %d: a mount after the close hangs", i);
			EXPECT_TRUE(self->mo.result == -EIO || self->mo.result == -ENOBUFS)
				TH_LOG("meeting %d: a mount after the close: %s", i,
				       strerror(-self->mo.result));
		}
		EXPECT_EQ(0, ods_env_umount(&self->e)) TH_LOG("meeting %d", i);
	}
	TH_LOG("%d of %d reads and %d mounts ended before the close", ok,
	       NREADERS * cold_meetings(variant), mounts);
	od_teardown(d);
	ASSERT_EQ(0, od_wait_dev_free(OD_WAIT_MS)) TH_LOG("the last cache is still bound");
	od_rm_tree(self->e.cache);
	ASSERT_EQ(0, ods_up(&self->e));
	settled(_metadata, self);
}

/* -- domain_churn ----------------------------------------------------------- */

/* Mount and umount one fsid again and again in the shared domain. */
struct churner {
	pthread_t t;
	const char *fsid;
	char mnt[PATH_MAX];
	int meetings, cpu;
	uint64_t rnd;
	int bad;		/* the first failure: -errno */
	const char *bad_op;
};

static void *churner_main(void *arg)
{
	struct churner *c = arg;
	struct od_mounter mo = { .pid = -1 };

	pin(c->cpu);
	for (int i = 0; i < c->meetings && !c->bad; i++) {
		for (int umount = 0; umount < 2 && !c->bad; umount++) {
			int ret = umount ? od_umount_start(&mo, c->mnt) :
					   od_mount_start(&mo, c->fsid, "odsdom", c->mnt);

			ret = ret ?: od_mount_wait(&mo, OD_WAIT_MS) ?: mo.result;
			if (ret) {
				c->bad = ret;
				c->bad_op = umount ? "umount" : "mount";
			}
			od_mount_kill(&mo);
			spin(od_rand(&c->rnd) % 200000);
		}
	}
	return NULL;
}

TEST_F(hammer, domain_churn)
{
	struct churner c[2] = {
		{ .fsid = "plain", .cpu = 0, .rnd = self->rnd },
		{ .fsid = "inline", .cpu = 1, .rnd = self->rnd + 1 },
	};

	if (!od_kernel_has_domain_id())
		SKIP(return, "no domain_id: EROFS shares volumes from 6.1");
	for (int k = 0; k < 2; k++) {
		c[k].meetings = variant->meetings;
		od_test_dir(c[k].mnt, sizeof(c[k].mnt), OD_MNT_ROOT, "%s", c[k].fsid);
		ASSERT_EQ(0, pthread_create(&c[k].t, NULL, churner_main, &c[k]));
	}
	for (int k = 0; k < 2; k++) {
		pthread_join(c[k].t, NULL);
		EXPECT_EQ(0, c[k].bad) TH_LOG("%s of %s: %s", c[k].bad_op, c[k].fsid,
					      strerror(-c[k].bad));
		umount2(c[k].mnt, MNT_DETACH);
		rmdir(c[k].mnt);
	}
	settled(_metadata, self);
}

/* -- crash_restore ---------------------------------------------------------- */

TEST_F(hammer, crash_restore)
{
	struct od_daemon *d = &self->e.d;
	struct od_dying dying;
	int dropped = 0;

	if (!self->failover)
		SKIP(return, "no \"restore\": the kernel predates the failover series");
	ASSERT_LT(0, self->nfiles = od_manifest_load("multi", &self->files));
	for (int i = 0; i < cold_meetings(variant) && !ods_test_failed(_metadata); i++) {
		int n;

		ASSERT_EQ(0, recache(self, i)) TH_LOG("meeting %d", i);
		ASSERT_EQ(0, ods_env_mount_image(&self->e, "multi")) TH_LOG("meeting %d", i);
		dying = (struct od_dying){ 0 };
		od_set_script(d, od_write_then_hold, &dying);
		start_readers(_metadata, self);
		/*
		 * The crash comes with a READ in flight, and maybe more: one
		 * the script holds, not one the last daemon is still noting
		 * as answered after its READ_COMPLETE let the mount return.
		 */
		OD_POLL(__atomic_load_n(&dying.held, __ATOMIC_ACQUIRE), OD_WAIT_MS);
		spin(od_rand(&self->rnd) % 2000000);
		n = od_crash(d);
		ASSERT_LT(0, n) TH_LOG("meeting %d: no READ came to crash under", i);
		dropped += n;
		/* the new daemon: every object it is asked for again reopens */
		od_set_script(d, NULL, NULL);
		ASSERT_EQ(0, od_cmd(d, "restore"));
		ASSERT_EQ(0, od_start(d));
		readers_end(_metadata, self, false);
		EXPECT_EQ(0, ods_env_umount(&self->e)) TH_LOG("meeting %d", i);
	}
	TH_LOG("%d READs died with a daemon after their data was written, in %d meetings",
	       dropped, cold_meetings(variant));
	settled(_metadata, self);
}

/* -- restore_vs_cread ------------------------------------------------------- */

struct completer {
	pthread_t t;
	struct od_daemon *d;
	struct od_record **held;
	int n;
	int ready;
	long long start;	/* when to begin (CLOCK_MONOTONIC, ns; 0: not yet told) */
	long long t0, t1;	/* the first READ_COMPLETE began, the last ended */
};

/* Until the clock reads t (ns): a busy wait, as spin() is. */
static void spin_until(long long t)
{
	while (now_ns() < t)
		;
}

/* The held READs answered (data, then READ_COMPLETE) on the other CPU. */
static void *completer_main(void *arg)
{
	struct completer *c = arg;
	long long start;

	pin(1);
	__atomic_store_n(&c->ready, 1, __ATOMIC_RELEASE);
	while (!(start = __atomic_load_n(&c->start, __ATOMIC_ACQUIRE)))
		;
	spin_until(start);
	c->t0 = now_ns();
	for (int k = 0; k < c->n; k++)
		od_reply(c->d, c->held[k]);
	c->t1 = now_ns();
	return NULL;
}

/*
 * The READs of this meeting (records from the first-th on) that are the
 * request m: its id, object and range (an id alone could be reused).
 * How many came, and how many of them were completed.
 */
static int copies(struct od_daemon *d, int first, const struct od_record *m, int *completed)
{
	struct od_record *r;
	int n = 0;

	*completed = 0;
	for (int j = first; (r = od_find(d, CACHEFILES_OP_READ, j)); j++) {
		if (r->msg_id != m->msg_id || r->object_id != m->object_id ||
		    r->off != m->off || r->rlen != m->rlen)
			continue;
		n++;
		*completed += r->answered && !r->reply;
	}
	return n;
}

TEST_F(hammer, restore_vs_cread)
{
	struct od_daemon *d = &self->e.d;
	struct od_holder h;
	int first[2] = { 0 }, overlap = 0, again = 0;	/* restore, the READ_COMPLETEs first */
	long long span = 2000000;	/* the last meeting's READ_COMPLETEs took (ns) */

	if (!self->failover)
		SKIP(return, "no \"restore\": the kernel predates the failover series");
	ASSERT_LT(0, self->nfiles = od_manifest_load("multi", &self->files));
	pin(0);
	od_holder_init(&h);
	for (int i = 0; i < cold_meetings(variant) && !ods_test_failed(_metadata); i++) {
		struct od_record *held[OD_HOLD_MAX];
		struct completer c = { .d = d, .held = held };
		long long now, r0, r1;
		int reads;

		ASSERT_EQ(0, recache(self, i)) TH_LOG("meeting %d", i);
		ASSERT_EQ(0, ods_env_mount_image(&self->e, "multi")) TH_LOG("meeting %d", i);
		reads = od_count(d, CACHEFILES_OP_READ);
		od_set_script(d, od_hold_reads, &h);
		od_holder_set(&h, 1);
		start_readers(_metadata, self);
		ASSERT_EQ(0, od_holder_wait(&h, 1, OD_WAIT_MS)) TH_LOG("meeting %d: no READ", i);
		spin(od_rand(&self->rnd) % SPREAD);	/* more may come */
		od_holder_set(&h, 0);
		c.n = od_holder_take(&h, held, OD_HOLD_MAX);
		ASSERT_EQ(0, pthread_create(&c.t, NULL, completer_main, &c));
		await(&c.ready);
		/*
		 * From now, the READ_COMPLETEs begin within one span of them,
		 * the restore within two: before, among or after them.
		 */
		now = now_ns();
		__atomic_store_n(&c.start, now + 1 + od_rand(&self->rnd) % (span + 1),
				 __ATOMIC_RELEASE);
		spin_until(now + od_rand(&self->rnd) % (2 * span + 1));
		r0 = now_ns();
		EXPECT_EQ(0, od_cmd(d, "restore")) TH_LOG("meeting %d", i);
		r1 = now_ns();
		pthread_join(c.t, NULL);
		span = c.t1 - c.t0;
		first[0] += r1 < c.t0;
		first[1] += c.t1 < r0;
		overlap += !(r1 < c.t0) && !(c.t1 < r0);

		readers_end(_metadata, self, false);
		EXPECT_EQ(0, od_wait_answered(d, CACHEFILES_OP_READ, OD_WAIT_MS))
			TH_LOG("meeting %d: a READ left unanswered", i);
		for (int k = 0; k < c.n; k++) {
			int completed, n = copies(d, reads, held[k], &completed);

			again += n - 1;
			EXPECT_EQ(1, completed)
				TH_LOG("meeting %d: READ %u came %d times, completed %d", i,
				       held[k]->msg_id, n, completed);
			/* completed before the restore began: not handed out again */
			if (c.t1 < r0) {
				EXPECT_EQ(1, n)
					TH_LOG("meeting %d: READ %u came again after its READ_COMPLETE",
					       i, held[k]->msg_id);
			}
		}
		EXPECT_EQ(0, ods_env_umount(&self->e)) TH_LOG("meeting %d", i);
	}
	TH_LOG("restore came first %d times, the READ_COMPLETEs %d, they overlapped %d; %d READs came again",
	       first[0], first[1], overlap, again);
	settled(_metadata, self);
}

ODS_MAIN
