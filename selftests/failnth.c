// SPDX-License-Identifier: GPL-2.0
/*
 * Fail-nth sweeps: for each step of the protocol, fail the N-th memory
 * allocation of that one syscall (/proc/thread-self/fail-nth), for N = 1, 2,
 * ... until the syscall gets through without reaching its N-th allocation.
 *
 * fail-nth counts every allocation that reaches should_fail_ex(): with
 * debugfs failslab/ and fail_page_alloc/ told not to skip GFP_KERNEL
 * (ignore-gfp-wait N) nor highmem nor order 0, that is all of them.  It
 * acts on the task that armed it only, so the syscall under test is made by
 * the thread (or child process) that wrote N, right before it; the daemon
 * thread, a different task, answers normally.  Read back afterwards, 0 means
 * the fault was injected; anything else means the syscall finished before
 * its N-th allocation, which ends the sweep.
 *
 * The oracle, after every N: the syscall returns success or a negative
 * errno; where it failed, doing it again without injection works (a daemon
 * retries on ENOMEM), and the protocol then completes with correct data; no
 * wait is unbounded; no fd slot of the test stays taken once its fds are
 * closed; and a fresh bind, mount and read of every fixture file on the same
 * cache directory gives the manifest's bytes.  The runner adds no splat, no
 * taint, no kmemleak report.
 *
 * Needs the debug flavour (CONFIG_FAULT_INJECTION, FAILSLAB,
 * FAIL_PAGE_ALLOC, FAULT_INJECTION_DEBUG_FS); skipped elsewhere, naming the
 * first option the kernel lacks.
 */
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/wait.h>

#include "ods.h"

#define NTH_MAX		200	/* no protocol step allocates this often */
#define NTH_FILE	"big-odd"	/* read by the data-plane steps */
#define FD_SLOTS	128	/* the fd slots checked for leaks after every N */

enum nth_op {
	OP_DEVOPEN,	/* open("/dev/cachefiles") */
	OP_BIND,	/* write("bind ondemand") */
	OP_MOUNT,	/* mount(2): sends the OPEN (from a worker) and READs */
	OP_DEVREAD,	/* read() of the OPEN: makes the anon fd */
	OP_COPEN,	/* write("copen <id>,<size>") */
	OP_PWRITE,	/* pwrite() of a READ's data to the anon fd */
	OP_CREAD,	/* ioctl(CACHEFILES_IOC_READ_COMPLETE) */
	OP_FILEREAD,	/* pread() of a file of the mount: sends the READ */
	OP_UMOUNT,	/* umount2(): withdraws the cookie, sends the CLOSE */
};

FIXTURE(failnth) {
	struct ods_env e;
	struct od_mounter m;
	struct od_reader r;
	int nth;		/* this thread's fail-nth */
	bool hold;		/* the daemon leaves READs to the test */
};

FIXTURE_VARIANT(failnth) {
	enum nth_op op;
	const char *name;
	unsigned int from, to;	/* a window of the sweep (default: all of it) */
};

FIXTURE_VARIANT_ADD(failnth, devopen) { OP_DEVOPEN, "open(/dev/cachefiles)" };
FIXTURE_VARIANT_ADD(failnth, bind) { OP_BIND, "write(bind ondemand)" };
/*
 * The long sweeps come in windows of N, one test each, so that each fits the
 * runner's per-test timeout under TCG with KASAN (a mount allocates ~150
 * times); a window that sees no clean success hands on to the next one.
 */
FIXTURE_VARIANT_ADD(failnth, mount_1) { OP_MOUNT, "mount(fsid=plain)", 1, 50 };
FIXTURE_VARIANT_ADD(failnth, mount_51) { OP_MOUNT, "mount(fsid=plain)", 51, 100 };
FIXTURE_VARIANT_ADD(failnth, mount_101) { OP_MOUNT, "mount(fsid=plain)", 101, 150 };
FIXTURE_VARIANT_ADD(failnth, mount_151) { OP_MOUNT, "mount(fsid=plain)", 151, 200 };
/* only the OPEN allocates on read(): the others are a copy_to_user() */
FIXTURE_VARIANT_ADD(failnth, devread) { OP_DEVREAD, "read(OPEN)" };
FIXTURE_VARIANT_ADD(failnth, copen) { OP_COPEN, "write(copen)" };
FIXTURE_VARIANT_ADD(failnth, pwrite) { OP_PWRITE, "pwrite(anon fd)" };
FIXTURE_VARIANT_ADD(failnth, cread) { OP_CREAD, "ioctl(READ_COMPLETE)" };
FIXTURE_VARIANT_ADD(failnth, fileread_1) { OP_FILEREAD, "pread(" NTH_FILE ")", 1, 50 };
FIXTURE_VARIANT_ADD(failnth, fileread_51) { OP_FILEREAD, "pread(" NTH_FILE ")", 51, 100 };
FIXTURE_VARIANT_ADD(failnth, fileread_101) { OP_FILEREAD, "pread(" NTH_FILE ")", 101, 150 };
FIXTURE_VARIANT_ADD(failnth, fileread_151) { OP_FILEREAD, "pread(" NTH_FILE ")", 151, 200 };
FIXTURE_VARIANT_ADD(failnth, umount) { OP_UMOUNT, "umount2()" };

/* One row of the table. */
struct nth_row {
	int ret;	/* of the syscall under fail-nth: >= 0 or -errno */
	int left;	/* fail-nth read back: 0 means injected */
	int retry;	/* the same step again, uninjected (1: not needed) */
	int end;	/* how the protocol ended: 0 or -errno */
};

static const char *errname(int err)
{
	static char buf[16];

	switch (-err) {
	case ENOMEM: return "-ENOMEM";
	case EIO: return "-EIO";
	case ENOBUFS: return "-ENOBUFS";
	case EINVAL: return "-EINVAL";
	case EBUSY: return "-EBUSY";
	case EFAULT: return "-EFAULT";
	case ENOSPC: return "-ENOSPC";
	case EINTR: return "-EINTR";
	case ENOENT: return "-ENOENT";
	case ENFILE: return "-ENFILE";
	case EMFILE: return "-EMFILE";
	case EBADFD: return "-EBADFD";
	case ETIMEDOUT: return "-ETIMEDOUT";
	case EPIPE: return "-EPIPE";
	case EILSEQ: return "-EILSEQ";	/* wrong bytes read */
	}
	snprintf(buf, sizeof(buf), "%d", err);
	return buf;
}

static enum od_action hold_reads(struct od_daemon *d, struct od_record *m,
				 void *arg)
{
	bool *hold = arg;

	return *hold && m->opcode == CACHEFILES_OP_READ ? OD_HOLD : OD_REPLY;
}

/* Open the device and name the directory; "bind" is left to the caller. */
static int dev_up(struct od_daemon *d, const char *cache)
{
	memset(d, 0, sizeof(*d));
	d->dev = -1;
	snprintf(d->cache_dir, sizeof(d->cache_dir), "%s", cache);
	if (mkdir(cache, 0700) && errno != EEXIST)
		return -errno;
	return od_open_dev(d) ?: od_cmd(d, "dir %s", cache);
}

/* ods_up() on the sweep's cache directory, kept from one N to the next. */
static int bind_up(struct ods_env *e)
{
	return od_bind(&e->d, e->cache, NULL) ?: od_start(&e->d);
}

/*
 * A syscall that may wait for the daemon is made by a child process, with
 * the child's own fail-nth, so that the test thread keeps its bounds.
 */
typedef int (*nth_fn)(int nth, unsigned int n, void *arg, int *left);

static int nth_child(unsigned int n, nth_fn fn, void *arg, struct nth_row *row,
		     int timeout_ms)
{
	struct od_child c;
	int res[2], ret = od_child_start(&c);

	if (ret)
		return ret;
	if (c.pid == 0) {
		int nth = od_fail_nth_open();

		res[1] = -1;
		res[0] = nth < 0 ? nth : fn(nth, n, arg, &res[1]);
		od_child_report(&c, res, sizeof(res));
	}
	ret = od_child_wait(&c, res, sizeof(res), timeout_ms);
	if (ret == -ETIMEDOUT)
		od_child_kill(&c);
	if (ret) {
		res[0] = ret;	/* -ETIMEDOUT, or -EPIPE: it died without a result */
		res[1] = -1;
	}
	row->ret = res[0];
	row->left = res[1];
	return 0;
}

static int do_mount(int nth, unsigned int n, void *mnt, int *left)
{
	int ret;

	od_fail_nth_arm(nth, n);
	ret = mount("none", mnt, "erofs", MS_RDONLY, "fsid=plain") ? -errno : 0;
	*left = od_fail_nth_left(nth);
	return ret;
}

static int do_umount(int nth, unsigned int n, void *mnt, int *left)
{
	int ret;

	od_fail_nth_arm(nth, n);
	ret = umount2(mnt, 0) ? -errno : 0;
	*left = od_fail_nth_left(nth);
	return ret;
}

/* The first 64 KiB of the file; wrong bytes are -EILSEQ, whatever N did. */
static int do_fileread(int nth, unsigned int n, void *path, int *left)
{
	static char buf[1 << 16], want[1 << 16];
	int fd = open(path, O_RDONLY), ret;

	if (fd < 0)
		return -errno;
	od_tree_fill(NTH_FILE, 0, sizeof(want), want);
	memset(buf, 0, sizeof(buf));	/* no page fault inside the syscall */
	od_fail_nth_arm(nth, n);
	ret = pread(fd, buf, sizeof(buf), 0);
	*left = od_fail_nth_left(nth);
	if (ret < 0)
		ret = -errno;
	else if (memcmp(buf, want, ret))
		ret = -EILSEQ;
	close(fd);
	return ret;
}

/* The bytes a READ asks for, as one aligned buffer: what the daemon writes. */
static void *read_data(struct od_daemon *d, struct od_record *m, size_t *len)
{
	struct od_object *o = od_object(d, m->object_id);
	uint64_t end = m->off + m->rlen;
	void *buf;

	if (!o)
		return NULL;
	if (end > (uint64_t)o->size)
		end = o->size;
	*len = ((end + OD_BLOCK - 1) & ~(uint64_t)(OD_BLOCK - 1)) - m->off;
	if (posix_memalign(&buf, OD_BLOCK, *len))
		return NULL;
	memset(buf, 0, *len);
	if (pread(o->blob_fd, buf, *len, m->off) < 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* Wait for the next READ the daemon holds for the test. */
static struct od_record *held_read(struct od_daemon *d, int seen)
{
	if (od_wait_count(d, CACHEFILES_OP_READ, seen + 1, OD_WAIT_MS))
		return NULL;
	return od_find(d, CACHEFILES_OP_READ, seen);
}

/* Let the daemon answer everything again, held READs included. */
static void release_reads(FIXTURE_DATA(failnth) *self)
{
	struct od_record *held[64];
	int n;

	self->hold = false;
	n = od_pending(&self->e.d, CACHEFILES_OP_READ, held, 64);
	for (int i = 0; i < n; i++)
		od_reply(&self->e.d, held[i]);
}

/*
 * One N: build the world up to the step, make the step with fail-nth armed,
 * then finish the protocol like a correct daemon and check what came of it.
 */
static void sweep_one(struct __test_metadata *_metadata,
		      FIXTURE_DATA(failnth) *self,
		      const FIXTURE_VARIANT(failnth) *variant,
		      unsigned int n, struct nth_row *row)
{
	struct od_daemon *d = &self->e.d;
	const char *mnt = self->e.mnt;
	char path[PATH_MAX * 2], cmd[64], sha[65];
	struct od_record *m;
	struct stat st;
	size_t len = 0;
	void *buf;
	int fd, reads;

	row->retry = 1;
	row->end = 0;
	snprintf(path, sizeof(path), "%s/%s", mnt, NTH_FILE);
	ASSERT_EQ(0, mkdir(mnt, 0755) && errno != EEXIST ? -errno : 0);

	switch (variant->op) {
	case OP_DEVOPEN:
		od_fail_nth_arm(self->nth, n);
		fd = open("/dev/cachefiles", O_RDWR | O_CLOEXEC);
		row->ret = fd < 0 ? -errno : 0;
		row->left = od_fail_nth_left(self->nth);
		if (fd >= 0)
			close(fd);
		/* a failed open must not leave the device taken */
		row->end = od_wait_dev_free(OD_WAIT_MS);
		return;

	case OP_BIND:
		ASSERT_EQ(0, dev_up(d, self->e.cache));
		od_fail_nth_arm(self->nth, n);
		row->ret = write(d->dev, "bind ondemand", 13) < 0 ? -errno : 0;
		row->left = od_fail_nth_left(self->nth);
		if (row->ret)
			row->retry = od_cmd(d, "bind ondemand");
		ASSERT_EQ(0, od_start(d));
		row->end = ods_env_mount(&self->e, "plain");
		break;

	case OP_MOUNT:
		ASSERT_EQ(0, bind_up(&self->e));
		ASSERT_EQ(0, nth_child(n, do_mount, (void *)mnt, row, OD_WAIT_MS));
		self->e.mounted = !row->ret;
		if (row->ret)
			row->retry = ods_env_mount(&self->e, "plain");
		break;

	case OP_DEVREAD:
		ASSERT_EQ(0, od_bind(d, self->e.cache, NULL));
		ASSERT_EQ(0, od_mount_start(&self->m, "plain", NULL, mnt));
		ASSERT_TRUE(od_poll_in(d, OD_WAIT_MS)) TH_LOG("the mount sent no OPEN");
		od_fail_nth_arm(self->nth, n);
		row->ret = od_read_msg(d, &m);
		row->left = od_fail_nth_left(self->nth);
		if (!row->ret) {
			ASSERT_EQ(CACHEFILES_OP_OPEN, m->opcode);
			ASSERT_EQ(0, od_reply(d, m));
		}
		ASSERT_EQ(0, od_start(d));
		ASSERT_EQ(0, od_mount_wait(&self->m, OD_WAIT_MS)) TH_LOG("the mount hangs");
		self->e.mounted = !self->m.result;
		/* a failed read() fails the OPEN, and with it this mount */
		if (row->ret) {
			EXPECT_NE(0, self->m.result) TH_LOG("mounted without an OPEN");
			row->retry = ods_env_mount(&self->e, "plain");
		} else {
			row->end = self->m.result;
		}
		break;

	case OP_COPEN:
		ASSERT_EQ(0, od_bind(d, self->e.cache, NULL));
		ASSERT_EQ(0, od_mount_start(&self->m, "plain", NULL, mnt));
		ASSERT_EQ(0, od_next(d, &m, OD_WAIT_MS)) TH_LOG("the mount sent no OPEN");
		ASSERT_EQ(CACHEFILES_OP_OPEN, m->opcode);
		ASSERT_EQ(0, od_object_add(d, m, NULL, -1));
		snprintf(cmd, sizeof(cmd), "copen %u,%lld", m->msg_id,
			 (long long)od_blob_size("plain"));
		od_fail_nth_arm(self->nth, n);
		row->ret = write(d->dev, cmd, strlen(cmd)) < 0 ? -errno : 0;
		row->left = od_fail_nth_left(self->nth);
		/* the OPEN is still pending after a failed copen: answer again */
		if (row->ret)
			row->retry = od_cmd(d, "%s", cmd);
		ASSERT_EQ(0, od_start(d));
		ASSERT_EQ(0, od_mount_wait(&self->m, OD_WAIT_MS)) TH_LOG("the mount hangs");
		self->e.mounted = !self->m.result;
		row->end = self->m.result;
		break;

	case OP_PWRITE:
	case OP_CREAD:
		ASSERT_EQ(0, bind_up(&self->e));
		ASSERT_EQ(0, ods_env_mount(&self->e, "plain"));
		ASSERT_EQ(0, stat(path, &st));
		reads = od_count(d, CACHEFILES_OP_READ);
		self->hold = true;
		od_set_script(d, hold_reads, &self->hold);
		ASSERT_EQ(0, od_reader_start(&self->r, path, 0, -1));
		m = held_read(d, reads);
		ASSERT_NE(NULL, m) TH_LOG("the reader sent no READ");
		buf = read_data(d, m, &len);
		ASSERT_NE(NULL, buf);
		fd = od_object(d, m->object_id)->anon_fd;
		if (variant->op == OP_PWRITE) {
			od_fail_nth_arm(self->nth, n);
			row->ret = pwrite(fd, buf, len, m->off);
			row->ret = row->ret < 0 ? -errno : row->ret;
			row->left = od_fail_nth_left(self->nth);
			if (row->ret != (int)len)
				row->retry = pwrite(fd, buf, len, m->off) == (ssize_t)len ?
					     0 : -errno;
			row->end = od_cread(d, m->object_id, m->msg_id);
		} else {
			EXPECT_EQ((ssize_t)len, pwrite(fd, buf, len, m->off));
			od_fail_nth_arm(self->nth, n);
			row->ret = ioctl(fd, CACHEFILES_IOC_READ_COMPLETE, m->msg_id);
			row->ret = row->ret < 0 ? -errno : row->ret;
			row->left = od_fail_nth_left(self->nth);
			if (row->ret)
				row->retry = od_cread(d, m->object_id, m->msg_id);
		}
		free(buf);
		release_reads(self);
		ASSERT_EQ(0, od_reader_wait(&self->r, OD_WAIT_MS)) TH_LOG("the reader hangs");
		row->end = row->end ?: self->r.result;
		if (!self->r.result) {
			od_tree_sha256(NTH_FILE, 0, self->r.bytes, sha);
			EXPECT_STREQ(sha, self->r.sha256) TH_LOG("N=%u: wrong data", n);
		}
		break;

	case OP_FILEREAD:
		ASSERT_EQ(0, bind_up(&self->e));
		ASSERT_EQ(0, ods_env_mount(&self->e, "plain"));
		ASSERT_EQ(0, nth_child(n, do_fileread, path, row, OD_WAIT_MS));
		EXPECT_NE(-EILSEQ, row->ret) TH_LOG("N=%u: wrong data", n);
		if (row->ret != 1 << 16) {
			struct nth_row again;

			/* fail-nth 0 is off: the same read, uninjected */
			ASSERT_EQ(0, nth_child(0, do_fileread, path, &again, OD_WAIT_MS));
			row->retry = again.ret == 1 << 16 ? 0 : again.ret;
		}
		break;

	case OP_UMOUNT:
		ASSERT_EQ(0, bind_up(&self->e));
		ASSERT_EQ(0, ods_env_mount(&self->e, "plain"));
		ASSERT_EQ(0, stat(path, &st));
		ASSERT_EQ(0, nth_child(n, do_umount, (void *)mnt, row, OD_WAIT_MS));
		self->e.mounted = !!row->ret;
		if (row->ret)
			row->retry = ods_env_umount(&self->e);
		/* the withdrawal runs on after umount returned */
		row->end = od_wait_count(d, CACHEFILES_OP_CLOSE, 1, OD_WAIT_MS);
		break;
	}
}

/*
 * What the daemon wrote into the cache, unlinked while no cache is bound, so
 * that the next N starts cold.  The volume's 256 fanout directories stay:
 * walking them is slow, so the files are looked for until some are found,
 * and then only those paths are culled.
 */
static char culls[8][PATH_MAX];
static int nculls;

static int find_file(const char *path, const struct stat *st, int type,
		     struct FTW *ftw)
{
	if (type == FTW_F && S_ISREG(st->st_mode) && nculls < 8)
		snprintf(culls[nculls++], PATH_MAX, "%s", path);
	return 0;
}

static int cull(const char *cache)
{
	if (!nculls && nftw(cache, find_file, 16, FTW_PHYS))
		return -errno;
	for (int i = 0; i < nculls; i++)
		if (unlink(culls[i]) && errno != ENOENT)
			return -errno;
	return 0;
}

/*
 * After every N: nothing left of the step's world, then a fresh bind on the
 * same cache directory serves every file of the image correctly.
 */
static void recover(struct __test_metadata *_metadata,
		    FIXTURE_DATA(failnth) *self, unsigned int n)
{
	char bad[256];
	int ret;

	od_reader_kill(&self->r);
	od_mount_kill(&self->m);
	if (self->e.d.rec && self->e.d.dev >= 0 && !self->e.d.running)
		od_start(&self->e.d);	/* answers the CLOSE of the umount */
	ods_down(_metadata, &self->e);
	ASSERT_EQ(0, od_wait_dev_free(OD_WAIT_MS)) TH_LOG("N=%u: the cache stays bound", n);
	/*
	 * Every fd of the step is closed now: a slot still taken with no file
	 * behind is one the kernel reserved for an anon fd (read() of an OPEN)
	 * and kept when the OPEN failed: a daemon retrying on ENOMEM would run
	 * out of fds.
	 */
	ret = od_lost_fd_slots(FD_SLOTS);
	EXPECT_EQ(0, ret) TH_LOG("N=%u: %d fd slot(s) of this process taken with no file behind (not given back by a failed syscall)",
				 n, ret);

	ret = bind_up(&self->e);
	ASSERT_EQ(0, ret) TH_LOG("N=%u: no bind afterwards: %s", n, strerror(-ret));
	ret = ods_env_mount(&self->e, "plain");
	ASSERT_EQ(0, ret) TH_LOG("N=%u: no mount afterwards: %s", n, strerror(-ret));
	ret = od_check_image(self->e.mnt, "plain", 3 * OD_WAIT_MS, bad, sizeof(bad));
	EXPECT_EQ(0, ret) TH_LOG("N=%u: afterwards %s: %s", n, bad,
				 ret == -EILSEQ ? "wrong data" : strerror(-ret));
	EXPECT_STREQ("", self->e.d.error);
	ods_down(_metadata, &self->e);
	ASSERT_EQ(0, od_wait_dev_free(OD_WAIT_MS));
	ASSERT_EQ(0, cull(self->e.cache));
}

FIXTURE_SETUP(failnth)
{
	static const char *const attrs[] = { "failslab", "fail_page_alloc" };
	const char *why;

	self->r.pid = self->m.pid = -1;
	self->e.d.dev = -1;
	ods_env_name(&self->e);
	why = ods_kconfig_missing(OD_FAULT_KCONFIG) ?: od_fault_missing();
	if (why)
		SKIP(return, "%s", why);
	ASSERT_EQ(0, mkdir(self->e.cache, 0700));
	self->nth = od_fail_nth_open();
	ASSERT_LE(0, self->nth);
	/*
	 * fail-nth is checked before probability, task-filter and times, but
	 * after these filters: count every allocation, GFP_KERNEL and order 0
	 * included; the stack of each injected failure goes to the log.
	 */
	for (int i = 0; i < 2; i++) {
		ASSERT_EQ(0, od_fault_set(attrs[i], "probability", "0"));
		ASSERT_EQ(0, od_fault_set(attrs[i], "ignore-gfp-wait", "N"));
		ASSERT_EQ(0, od_fault_set(attrs[i], "verbose", "2"));
	}
	ASSERT_EQ(0, od_fault_set("fail_page_alloc", "ignore-gfp-highmem", "N"));
	ASSERT_EQ(0, od_fault_set("fail_page_alloc", "min-order", "0"));
}

FIXTURE_TEARDOWN(failnth)
{
	if (ods_test_skipped(_metadata))
		return;
	od_fail_nth_arm(self->nth, 0);
	EXPECT_EQ(0, od_fault_reset());
	od_reader_kill(&self->r);
	od_mount_kill(&self->m);
	ods_down(_metadata, &self->e);
	od_rm_tree(self->e.cache);
}

TEST_F_TIMEOUT(failnth, sweep, 600)
{
	unsigned int from = variant->from ?: 1, to = variant->to ?: NTH_MAX;
	unsigned int n, injected = 0;
	struct nth_row row;

	if (ods_test_skipped(_metadata))
		return;
	ksft_print_msg("%-22s %4s  %-9s %-8s %-9s %-9s %s\n", "step", "N", "result",
		       "fault", "retry", "end", "ms");
	for (n = from; n <= to; n++) {
		long t0 = od_now_ms();

		sweep_one(_metadata, self, variant, n, &row);
		ksft_print_msg("%-22s %4u  %-9s %-8s %-9s %-9s %ld\n", variant->name, n,
			       row.ret >= 0 ? "ok" : errname(row.ret),
			       row.left == 0 ? "injected" : "no",
			       row.retry == 1 ? "-" : row.retry ? errname(row.retry) : "ok",
			       row.end ? errname(row.end) : "ok", od_now_ms() - t0);
		fflush(stdout);	/* the harness's child leaves with _exit() */
		/* a step that was not failed must simply work */
		if (row.left) {
			EXPECT_LE(0, row.ret) TH_LOG("N=%u: failed though nothing was injected", n);
		}
		EXPECT_LE(0, row.left) TH_LOG("N=%u: fail-nth unreadable", n);
		EXPECT_NE(-ETIMEDOUT, row.ret) TH_LOG("N=%u: the step hangs", n);
		EXPECT_NE(-EPIPE, row.ret) TH_LOG("N=%u: the step died", n);
		EXPECT_TRUE(row.retry == 1 || row.retry == 0)
			TH_LOG("N=%u: doing the step again failed: %s", n, errname(row.retry));
		EXPECT_EQ(0, row.end) TH_LOG("N=%u: the protocol did not complete: %s", n,
					     errname(row.end));
		recover(_metadata, self, n);
		if (ods_test_failed(_metadata) || row.left)
			break;
		injected++;
	}
	if (ods_test_failed(_metadata))
		ksft_print_msg("%s: stopped by a failure at N=%u\n", variant->name, n);
	else if (n <= to)
		ksft_print_msg("%s: %u faults injected from N=%u, clean at N=%u\n",
			       variant->name, injected, from, n);
	else
		ksft_print_msg("%s: %u faults injected from N=%u, still failing at N=%u%s\n",
			       variant->name, injected, from, to,
			       to < NTH_MAX ? ": the next window goes on" : "");
	fflush(stdout);
	ASSERT_TRUE(n <= to || to < NTH_MAX) TH_LOG("still failing at N=%d", NTH_MAX);
}

ODS_MAIN
