/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Test runtime for the selftests: the kernel tree's kselftest_harness.h,
 * the daemon library, and a main() that can list and run single tests.
 *
 * The guest runner runs one test per invocation (for a dmesg slice and a
 * health check per test), named fixture.variant.test as the harness names
 * it.  Harnesses from 6.3 on do that themselves (-r NAME); older ones
 * (5.19 to 6.2) always run every test, so ODS_MAIN walks the harness's
 * fixture list and calls its __run_test() for the one named.  Which
 * harness this is, harness/ksft-probe found out at build time (ksft.h).
 *
 * Names: ods_* is this harness layer.  Its helpers take the test's
 * _metadata and EXPECT or ASSERT themselves (ods_expect_*, ods_need_*,
 * ods_down()), or act on a struct ods_env, a test's cache and mount
 * (ods_env_*, ods_up()).  od_* is the daemon library underneath
 * (ondemand.h): plain C returning 0 or -errno, no harness.  A test
 * includes this header only; selftests/TEMPLATE.c shows the conventions.
 */
#ifndef ODS_H
#define ODS_H

#include <fcntl.h>
#include <unistd.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "kselftest_harness.h"
#include "ondemand.h"

#ifndef ODS_KSFT_EXIT_CODE
#error "build with -include ksft.h, what harness/ksft-probe says of this kselftest_harness.h (selftests/Makefile does)"
#endif

/*
 * The harness's record of a test, in the two forms it has had: passed and
 * skip up to 6.8, exit_code from 6.9.  Nothing else reads those fields.
 *   ods_test_failed(): an EXPECT or ASSERT failed so far (a sweep stops there);
 *   ods_test_skipped(): the setup SKIPped.  Harnesses before 6.4 still run the
 *   body and the teardown then: both return at once on it.
 */
#if ODS_KSFT_EXIT_CODE
#define ods_test_failed(_metadata)	((_metadata)->exit_code == KSFT_FAIL)
#define ods_test_skipped(_metadata)	((_metadata)->exit_code == KSFT_SKIP)
#else
#define ods_test_failed(_metadata)	(!(_metadata)->passed)
#define ods_test_skipped(_metadata)	((_metadata)->skip)
#endif

/* One bound cache and (optionally) one EROFS mount: the usual test world. */
struct ods_env {
	struct od_daemon d;
	char cache[PATH_MAX];
	char mnt[PATH_MAX];
	bool mounted;
};

/* The test process's own cache and mount directories (od_test_dir()). */
static inline void ods_env_name(struct ods_env *e)
{
	od_test_dir(e->cache, sizeof(e->cache), OD_CACHE_ROOT, NULL);
	od_test_dir(e->mnt, sizeof(e->mnt), OD_MNT_ROOT, NULL);
}

/* Fresh cache directory per test process: every test starts cold. */
static inline int ods_up(struct ods_env *e)
{
	int ret;

	ods_env_name(e);
	ret = od_bind(&e->d, e->cache, NULL);
	return ret ? ret : od_start(&e->d);
}

static inline int ods_env_mount(struct ods_env *e, const char *fsid)
{
	int ret = od_mount(fsid, NULL, e->mnt);

	e->mounted = !ret;
	return ret;
}

static inline int ods_env_umount(struct ods_env *e)
{
	int ret = 0;

	if (e->mounted)
		ret = od_umount(e->mnt);
	if (!ret)
		e->mounted = false;
	return ret;
}

/*
 * The end of a test on an ods_env: umount, stop the daemon, free it all.
 * A test whose daemon noted a failure of its own (d.error, the first one)
 * fails here, with that failure logged, unless the test took it back with
 * ods_daemon_error_expected(): every test checks its daemon.
 */
static inline void ods_down(struct __test_metadata *_metadata, struct ods_env *e)
{
	/* the daemon must still answer while umount withdraws cookies */
	if (e->mounted && ods_env_umount(e))
		umount2(e->mnt, MNT_DETACH);
	od_teardown(&e->d);
	rmdir(e->mnt);
	/*
	 * Only with a failure to report: after a failed ASSERT the harness
	 * leaves _metadata->trigger set, and the TH_LOG() of the next EXPECT
	 * would print though that one passes.
	 */
	if (!ods_test_skipped(_metadata) && e->d.error[0]) {
		EXPECT_STREQ("", e->d.error) TH_LOG("the daemon failed: %s", e->d.error);
	}
}

/*
 * For a test that provokes a daemon-side failure on purpose: true if the
 * daemon noted one holding needle ("" for any), which is then forgotten so
 * that ods_down() passes.
 */
static inline bool ods_daemon_error_expected(struct ods_env *e, const char *needle)
{
	bool found = e->d.error[0] && strstr(e->d.error, needle);

	if (found)
		e->d.error[0] = '\0';
	return found;
}

/*
 * ods_down() for a test that may have stopped the daemon thread: it starts
 * again first, if the device is still open, to answer umount's CLOSEs.
 */
static inline void ods_down_restarted(struct __test_metadata *_metadata,
				      struct ods_env *e)
{
	if (!e->d.running && e->d.dev >= 0)
		od_start(&e->d);
	ods_down(_metadata, e);
}

/*
 * ods_down() for a test whose mount, started with od_mount_start(), may
 * still wait for its OPEN while the daemon is stopped: closing the device
 * fails that OPEN, and a daemon still bound answers the umount.
 */
static inline void ods_down_mounter(struct __test_metadata *_metadata,
				    struct ods_env *e, struct od_mounter *mo)
{
	if (mo->pid > 0)
		od_close_dev(&e->d);
	od_mount_kill(mo);
	ods_down_restarted(_metadata, e);
}

static inline int ods_drop_caches(void)
{
	int fd = open("/proc/sys/vm/drop_caches", O_WRONLY | O_CLOEXEC);
	int ret = fd < 0 || write(fd, "3", 1) != 1 ? -errno : 0;

	if (fd >= 0)
		close(fd);
	return ret;
}

/* "<mnt>/<rel>" in a static buffer; tests use it once per statement. */
static inline const char *ods_path(struct ods_env *e, const char *rel)
{
	static char p[PATH_MAX * 2];

	snprintf(p, sizeof(p), "%s/%s", e->mnt, rel);
	return p;
}


#include "ods_main.h"

#include "ods_need.h"

/* Every file of a fixture under mnt against its manifest, bounded. */
static inline void ods_expect_image(struct __test_metadata *_metadata,
				   const char *mnt, const char *fixture)
{
	char bad[256] = "";
	int ret = od_check_image(mnt, fixture, 3 * OD_WAIT_MS, bad, sizeof(bad));

	EXPECT_EQ(0, ret) TH_LOG("%s: %s", bad, ret == -EILSEQ ? "wrong data" :
						ret == -ETIMEDOUT ? "hangs" : strerror(-ret));
}

/*
 * Mount fsid (in domain, if not NULL) in a child, bounded: 0 or the
 * mount's -errno; a mount that hangs fails the test and gives -ETIMEDOUT
 * (not 0: it mounted nothing).  For values that may wedge the kernel (the
 * key and tag sweeps).
 */
static inline int ods_env_mount_bounded(struct __test_metadata *_metadata,
					struct ods_env *e, struct od_mounter *mo,
					const char *fsid, const char *domain)
{
	int hung;

	ASSERT_EQ(0, od_mount_start(mo, fsid, domain, e->mnt)) {
		return -1;
	}
	hung = od_mount_wait(mo, OD_WAIT_MS);
	EXPECT_EQ(0, hung) TH_LOG("the mount hangs");
	if (hung)
		return -ETIMEDOUT;
	e->mounted = !mo->result;
	return mo->result;
}

/*
 * Mount fsid in a child, with the daemon stopped, until its OPEN is queued
 * and the mount waits for it: for tests that do something to that OPEN.
 */
static inline void ods_mount_pending(struct __test_metadata *_metadata,
				     struct ods_env *e, struct od_mounter *mo,
				     const char *fsid)
{
	ASSERT_EQ(0, od_mount_start(mo, fsid, NULL, e->mnt));
	ASSERT_TRUE(od_poll_in(&e->d, OD_WAIT_MS)) TH_LOG("the mount sent no OPEN");
	ASSERT_EQ(0, od_wait_blocked(mo->pid, OD_WAIT_MS)) TH_LOG("the mount does not wait");
}

/*
 * After a read() failed the pending OPEN: the mount fails (on a cold
 * cache its superblock read waits in cachefiles_prepare_read(): EIO) and
 * nothing stays queued.  The daemon, started again, serves a new mount
 * right, and once it is gone the device is free: the failed OPEN left no
 * pin behind.
 */
static inline void ods_failed_open_recovers(struct __test_metadata *_metadata,
					    struct ods_env *e, struct od_mounter *mo,
					    const char *fsid)
{
	struct od_daemon *d = &e->d;

	ASSERT_EQ(0, od_mount_wait(mo, OD_WAIT_MS)) TH_LOG("the mount hangs");
	EXPECT_EQ(-EIO, mo->result) TH_LOG("mount: %s", strerror(-mo->result));
	e->mounted = !mo->result;
	EXPECT_FALSE(od_poll_in(d, 0)) TH_LOG("the OPEN is still queued");

	ASSERT_EQ(0, od_start(d));
	if (!e->mounted)
		ASSERT_EQ(0, ods_env_mount(e, fsid));
	ods_expect_image(_metadata, e->mnt, fsid);
	EXPECT_STREQ("", d->error);
	ASSERT_EQ(0, ods_env_umount(e));
	ASSERT_EQ(0, od_wait_count(d, CACHEFILES_OP_CLOSE, 1, OD_WAIT_MS));
	od_teardown(d);
	EXPECT_EQ(0, od_wait_dev_free(OD_WAIT_MS)) TH_LOG("the failed OPEN left a pin");
}

/*
 * What a read miss gets once the cache under the mount is gone (its daemon
 * died or closed the device and the cache was withdrawn): EIO up to 6.1,
 * where EROFS drops fscache's error and filemap_read_folio() fails the
 * folio with EIO; fscache's own ENOBUFS from 6.2, where EROFS's
 * ->read_folio() returns the error it got ("erofs: support large folios
 * for fscache mode").  Anything else fails; the log says which it was.
 */
static inline void ods_expect_cache_gone(struct __test_metadata *_metadata,
					 int result, const char *who)
{
	EXPECT_TRUE(result == -EIO || result == -ENOBUFS)
		TH_LOG("%s: %s, not EIO or ENOBUFS", who, result ? strerror(-result) : "no error");
	if (result == -EIO || result == -ENOBUFS)
		TH_LOG("%s: %s (%s)", who, strerror(-result), result == -EIO ?
		       "the filesystem reports cache errors as EIO, up to 6.1" :
		       "the filesystem passes fscache's error on, from 6.2");
}

/*
 * After an OPEN of fsid that failed (opens, closes: the counts before it):
 * a correct daemon mounts fsid again on the same cache and file reads
 * right; the umount sends one CLOSE, for the object of that second OPEN.
 */
static inline void ods_expect_remount_one_close(struct __test_metadata *_metadata,
						struct ods_env *e, const char *fsid,
						const char *file, int opens, int closes)
{
	struct od_daemon *d = &e->d;
	struct od_record *open, *close;
	char sha[65];

	od_set_script(d, NULL, NULL);
	ASSERT_EQ(0, ods_env_mount(e, fsid));
	ASSERT_EQ(0, od_sha256_file(ods_path(e, file), sha));
	EXPECT_STREQ(od_manifest_sha(fsid, file), sha);
	ASSERT_EQ(0, ods_env_umount(e));
	ASSERT_EQ(0, od_wait_count(d, CACHEFILES_OP_CLOSE, closes + 1, OD_WAIT_MS));
	ASSERT_EQ(opens + 2, od_count(d, CACHEFILES_OP_OPEN));
	open = od_find(d, CACHEFILES_OP_OPEN, opens + 1);
	close = od_find(d, CACHEFILES_OP_CLOSE, closes);
	EXPECT_EQ(open->object_id, close->object_id)
		TH_LOG("CLOSE for object %u, whose OPEN failed", close->object_id);
	EXPECT_EQ(closes + 1, od_count(d, CACHEFILES_OP_CLOSE));
	EXPECT_STREQ("", d->error);
}

/* Mount a fixture image by name, with its extra blobs (device=). */
static inline int ods_env_mount_image(struct ods_env *e, const char *image)
{
	int ret = od_mount_image(image, NULL, e->mnt);

	e->mounted = !ret;
	return ret;
}

#endif
