// SPDX-License-Identifier: GPL-2.0
/*
 * Resources run out: the daemon has no fd left for an OPEN's anon fd
 * (I1), the cache disk is too full for the daemon's writes (I2), there is
 * no memory for an object id (I3).  Each case checks the errno the daemon
 * gets, what becomes of the request, and that everything works again once
 * the resource is back.
 */
#include <sys/resource.h>
#include <sys/statvfs.h>

#include "ods.h"

/*
 * I1. The daemon is at its RLIMIT_NOFILE when it reads an OPEN: read()
 * fails with EMFILE before any anon fd exists, and the OPEN is failed with
 * it (cachefiles_ondemand_get_fd()), so the mount fails (on a cold cache
 * its superblock read waits in cachefiles_prepare_read(): EIO).  The
 * daemon's fds are as they were, nothing stays queued, and with its limit
 * back the daemon serves a new mount.
 */
FIXTURE(nofile) {
	struct ods_env e;
	struct od_mounter mo;
	struct rlimit saved;
};

FIXTURE_SETUP(nofile)
{
	self->mo.pid = -1;
	ASSERT_EQ(0, getrlimit(RLIMIT_NOFILE, &self->saved));
	ASSERT_EQ(0, ods_up(&self->e));
	od_stop(&self->e.d);
}

FIXTURE_TEARDOWN(nofile)
{
	setrlimit(RLIMIT_NOFILE, &self->saved);
	ods_down_mounter(_metadata, &self->e, &self->mo);
}

TEST_F(nofile, open_emfile)
{
	struct od_daemon *d = &self->e.d;
	struct rlimit lim = self->saved;
	struct od_record *m;
	int fds, lowest, ret;

	ods_mount_pending(_metadata, &self->e, &self->mo, "plain");
	fds = od_fd_count();
	lowest = od_fd_lowest_free();
	ASSERT_LT(0, lowest);
	/* every fd number below the limit is taken */
	lim.rlim_cur = lowest;
	ASSERT_EQ(0, setrlimit(RLIMIT_NOFILE, &lim));
	ret = od_read_msg(d, &m);
	ASSERT_EQ(0, setrlimit(RLIMIT_NOFILE, &self->saved));
	EXPECT_EQ(-EMFILE, ret) TH_LOG("read() of the OPEN with no fd free: %s",
				       ret ? strerror(-ret) : od_opname(m->opcode));
	EXPECT_EQ(fds, od_fd_count());
	EXPECT_EQ(lowest, od_fd_lowest_free());
	ods_failed_open_recovers(_metadata, &self->e, &self->mo, "plain");
}

/*
 * I3. No memory for an object id.  The daemon's read() of an OPEN first
 * allocates the object's id (xa_alloc_cyclic() in
 * cachefiles_ondemand_get_fd()); on a new cache that is id 1, which needs
 * an xarray node: one try under the lock (GFP_NOWAIT), one retry
 * (GFP_KERNEL).  failslab, filtered to the test's thread and to the
 * xarray nodes' cache (vm/boot.sh marks it), fails both (one failure at a
 * time, as fail-nth gives, is retried away): read() gets ENOMEM, the OPEN
 * fails with it, and nothing is left behind.  Without the cache filter
 * the debug flavour's own bookkeeping (kmemleak, debug objects) can take
 * the failures first, silently, as on 6.12.117.
 */
static bool node_cache_marked(void)
{
	int fd = open("/sys/kernel/slab/radix_tree_node/failslab", O_RDONLY | O_CLOEXEC);
	char c = '1';	/* no SLUB sysfs to ask: take the boot option's word */

	if (fd >= 0) {
		if (read(fd, &c, 1) != 1)
			c = '0';
		close(fd);
	}
	return c == '1';
}
FIXTURE(noid) {
	struct ods_env e;
	struct od_mounter mo;
};

FIXTURE_SETUP(noid)
{
	const char *missing;

	self->mo.pid = -1;
	ods_need_kconfig(_metadata, OD_FAULT_KCONFIG);
	missing = od_fault_missing();
	if (missing)
		SKIP(return, "%s", missing);
	ASSERT_EQ(0, ods_up(&self->e));
	od_stop(&self->e.d);
}

FIXTURE_TEARDOWN(noid)
{
	if (ods_test_skipped(_metadata))
		return;
	od_make_it_fail(0);
	EXPECT_EQ(0, od_fault_reset());
	ods_down_mounter(_metadata, &self->e, &self->mo);
}

TEST_F(noid, open_enomem)
{
	struct od_daemon *d = &self->e.d;
	struct od_record *m;
	int fds, lowest, ret;

	if (ods_test_skipped(_metadata))
		return;
	ods_mount_pending(_metadata, &self->e, &self->mo, "plain");
	fds = od_fd_count();
	lowest = od_fd_lowest_free();
	/* armed in the body, whose failures still run the teardown */
	ASSERT_EQ(0, od_fault_reset());
	ASSERT_EQ(0, od_fault_set("failslab", "task-filter", "Y"));
	ASSERT_TRUE(node_cache_marked())
		TH_LOG("the xarray nodes' cache is not marked: boot with slub_debug=A,radix_tree_node");
	ASSERT_EQ(0, od_fault_set("failslab", "cache-filter", "Y"));
	ASSERT_EQ(0, od_fault_set("failslab", "ignore-gfp-wait", "N"));
	ASSERT_EQ(0, od_fault_set("failslab", "verbose", "1"));
	ASSERT_EQ(0, od_fault_set("failslab", "interval", "1"));
	ASSERT_EQ(0, od_fault_set("failslab", "times", "2"));
	ASSERT_EQ(0, od_fault_set("failslab", "probability", "100"));
	ASSERT_EQ(0, od_make_it_fail(1));
	ret = od_read_msg(d, &m);
	od_make_it_fail(0);
	EXPECT_EQ(-ENOMEM, ret) TH_LOG("read() of the OPEN: %s (failslab failed %ld of 2 allocations)",
				       ret ? strerror(-ret) : od_opname(m->opcode),
				       2 - od_fault_get("failslab", "times"));
	EXPECT_EQ(fds, od_fd_count());
	EXPECT_EQ(lowest, od_fd_lowest_free());
	ods_failed_open_recovers(_metadata, &self->e, &self->mo, "plain");
}

/*
 * I2. The cache disk fills up (another file takes the free space) while a
 * file is being read.  cachefiles keeps 1% of the disk free (bstop): the
 * daemon's write of the READ's data to the anon fd fails with ENOBUFS
 * (cachefiles_has_space(), from __cachefiles_prepare_write()).  The daemon
 * completes the READ anyway; the data is not in the cache file, and the
 * reader gets EIO.  Once the space is back the same read goes through.
 */
#define FULL_FILE	"tens-of-blocks"	/* not read before the disk fills */

struct full_state {
	int writes;	/* READs the daemon tried to serve */
	int err;	/* what the last write got */
};

FIXTURE(cachefull) {
	struct ods_env e;
	struct od_reader r;
	char filler[PATH_MAX];
	struct full_state st;
};

/* Serve each READ as usual, note what the write got, complete it anyway. */
static enum od_action write_then_cread(struct od_daemon *d, struct od_record *m,
				       void *arg)
{
	struct full_state *st = arg;

	if (m->opcode != CACHEFILES_OP_READ)
		return OD_REPLY;
	st->err = od_write(d, m->object_id, m->off, m->rlen);
	st->writes++;
	od_answered(d, m, od_cread(d, m->object_id, m->msg_id));
	return OD_DONE;
}

/* Take all the space non-root users may have: 0 or -errno. */
static int fill_disk(const char *path)
{
	off_t off = 0, chunk = 64 << 20;
	struct statvfs sv;
	int fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600), ret = 0;

	if (fd < 0)
		return -errno;
	while (!fstatvfs(fd, &sv) && sv.f_bavail) {
		off_t want = (off_t)sv.f_bavail * sv.f_frsize;

		if (want > chunk)
			want = chunk;
		if (!fallocate(fd, 0, off, want)) {
			off += want;
		} else if (errno == ENOSPC && chunk > (off_t)sv.f_frsize) {
			chunk /= 2;
		} else {
			ret = -errno;
			break;
		}
	}
	close(fd);
	return ret;
}

FIXTURE_SETUP(cachefull)
{
	struct stat st;

	self->r.pid = -1;
	snprintf(self->filler, sizeof(self->filler), OD_CACHE_ROOT "/filler.%d", getpid());
	ASSERT_EQ(0, ods_up(&self->e));
	ASSERT_EQ(0, ods_env_mount(&self->e, "plain"));
	ASSERT_EQ(0, stat(ods_path(&self->e, FULL_FILE), &st));
	od_set_script(&self->e.d, write_then_cread, &self->st);
}

FIXTURE_TEARDOWN(cachefull)
{
	od_reader_kill(&self->r);
	unlink(self->filler);
	ods_down(_metadata, &self->e);
}

TEST_F(cachefull, anon_write_enobufs)
{
	struct od_daemon *d = &self->e.d;
	struct statvfs sv;

	ASSERT_EQ(0, fill_disk(self->filler));
	ASSERT_EQ(0, statvfs(OD_CACHE_ROOT, &sv));
	TH_LOG("cache disk: %llu of %llu blocks free to users",
	       (unsigned long long)sv.f_bavail, (unsigned long long)sv.f_blocks);
	ASSERT_GT(sv.f_blocks / 100, sv.f_bavail) TH_LOG("the disk is not full enough");

	ASSERT_EQ(0, od_reader_start(&self->r, ods_path(&self->e, FULL_FILE), 0, -1));
	ASSERT_EQ(0, od_reader_wait(&self->r, OD_WAIT_MS)) TH_LOG("the reader hangs");
	EXPECT_EQ(-EIO, self->r.result) TH_LOG("reader: %s", strerror(-self->r.result));
	ASSERT_LT(0, self->st.writes) TH_LOG("the read sent no READ");
	EXPECT_EQ(-ENOBUFS, self->st.err) TH_LOG("the daemon's write: %s",
						 strerror(-self->st.err));

	/* space back: the same read fetches again, and this time it lands */
	ASSERT_EQ(0, unlink(self->filler));
	sync();
	self->st.writes = 0;
	ASSERT_EQ(0, od_reader_start(&self->r, ods_path(&self->e, FULL_FILE), 0, -1));
	ASSERT_EQ(0, od_reader_wait(&self->r, OD_WAIT_MS)) TH_LOG("the reader hangs");
	EXPECT_EQ(0, self->r.result) TH_LOG("reader: %s", strerror(-self->r.result));
	EXPECT_STREQ(od_manifest_sha("plain", FULL_FILE), self->r.sha256);
	EXPECT_LT(0, self->st.writes) TH_LOG("nothing was fetched again");
	EXPECT_EQ(0, self->st.err) TH_LOG("the daemon's write: %s", strerror(-self->st.err));
	EXPECT_STREQ("", d->error);
}

ODS_MAIN
