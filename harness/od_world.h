/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The daemon library, continued: the fixtures and their checksums, the
 * fault-injection knobs, and what a test observes of the kernel and of
 * its own process.  Included by ondemand.h, which is the header to
 * include.
 */
#ifndef ODS_OD_WORLD_H
#define ODS_OD_WORLD_H

/* -- Fixtures, manifests and checksums (od_fixture.c) ---------------------- */

/* Whole-file helpers: 0 or -errno; hex digest into out[65]. */
int od_sha256_file(const char *path, char out[65]);
void od_sha256(const void *buf, size_t len, char out[65]);

/* Fixture manifest: "<sha256>  ./relative/path" lines. Returns count. */
struct od_manifest_entry {
	char sha256[65];
	char path[PATH_MAX];
};
int od_manifest_load(const char *fixture, struct od_manifest_entry **out);
const char *od_manifest_sha(const char *fixture, const char *path);	/* static buffer */
/*
 * A directory of the calling test process's own under root (OD_CACHE_ROOT,
 * OD_MNT_ROOT): "<root>/t<pid>", then fmt's suffix if fmt is not NULL.
 * Every test starts with a cold cache and a mount point of its own.
 */
void od_test_dir(char *buf, size_t len, const char *root, const char *fmt, ...);

/* The bytes fixtures/gen-tree.sh puts at [off, off + len) of a fixture file. */
void od_tree_fill(const char *path, off_t off, size_t len, char *out);
void od_tree_sha256(const char *path, off_t off, size_t len, char out[65]);
/* A seeded PRNG (splitmix64); the seed comes from ODS_SEED, else the clock. */
uint64_t od_rand(uint64_t *state);
uint64_t od_seed(void);

/*
 * Read every file of a fixture image under mnt in one child process, against
 * its manifest: 0, the first failing read's -errno, -EILSEQ for wrong bytes,
 * or -ETIMEDOUT (the child is killed).  The culprit's path goes to bad.
 */
int od_check_image(const char *mnt, const char *fixture, int timeout_ms,
		   char *bad, size_t len);

/* -- Fault-injection knobs (od_fault.c) ------------------------------------ */

/*
 * Fault injection (the debug flavour: CONFIG_FAULT_INJECTION, FAILSLAB,
 * FAIL_PAGE_ALLOC, FAULT_INJECTION_DEBUG_FS).  The debugfs attributes are
 * "failslab" and "fail_page_alloc"; fail-nth and make-it-fail are per task.
 */
#define OD_FAULT_DEBUGFS	"/sys/kernel/debug"
/* The options these need, for ods_kconfig_missing() (harness/ods.h). */
#define OD_FAULT_KCONFIG	"CONFIG_FAULT_INJECTION", "CONFIG_FAILSLAB", \
				"CONFIG_FAIL_PAGE_ALLOC", "CONFIG_FAULT_INJECTION_DEBUG_FS"
/*
 * NULL if fail-nth and both debugfs attributes are there, else what is
 * missing; for a kernel whose .config is not known to the test.
 */
const char *od_fault_missing(void);
/* Write to <debugfs>/<attr>/<knob>: 0 or -errno. */
int od_fault_set(const char *attr, const char *knob, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* A knob's value as a number (times counts down the failures left), or -errno. */
long od_fault_get(const char *attr, const char *knob);
/* Both attributes back to the kernel's defaults: nothing injected any more. */
int od_fault_reset(void);
/* The calling thread's make-it-fail (task-filter); retried while it fails. */
int od_make_it_fail(int on);
/*
 * The calling thread's fail-nth: open it once (the fd stays bound to this
 * thread), arm it right before the syscall under test, read what is left of
 * n right after (0: the n-th allocation was failed); reading disarms it.
 */
int od_fail_nth_open(void);
int od_fail_nth_arm(int fd, unsigned int n);
int od_fail_nth_left(int fd);

/* -- Observing the kernel and the process (od_observe.c) ------------------- */

/* Kernel log lines holding needle, since the runner last cleared the log. */
int od_klog_count(const char *needle);

/* Until /dev/cachefiles opens again (the last cache fully released): 0 or -errno. */
int od_wait_dev_free(int timeout_ms);

/*
 * The options /proc/mounts shows for the mount on mnt (EROFS shows its
 * fsid= and domain_id= there): 0 and the string, or -ENOENT.
 */
int od_mount_options(const char *mnt, char *buf, size_t n);

/*
 * Until task tid sleeps uninterruptibly (state D), i.e. it has reached a
 * kernel wait such as fscache's for a cookie: 0, or -ETIMEDOUT.  Lets a
 * script answer a request only once the waiter it matters to is waiting.
 */
int od_wait_blocked(pid_t tid, int timeout_ms);

/*
 * Where a withdrawn object's data went, and what the daemon holds.
 */
/* The first data file under a cache directory: 0 and its path, or -ENOENT. */
int od_cache_file(const char *dir, char *path, size_t len);
/*
 * Until there is one: 0, or -ETIMEDOUT.  A new object's cache file is a
 * tmpfile until its withdrawal (after its CLOSE) links it in.
 */
int od_wait_cache_file(const char *dir, char *path, size_t len, int timeout_ms);
/* The calling process's open fds, and the lowest free fd number. */
int od_fd_count(void);
int od_fd_lowest_free(void);

/*
 * fd slots below 'below' that are taken but hold no file: reserved by the
 * kernel (get_unused_fd_flags()) and never installed nor given back.  Takes
 * every free slot for a moment; call it while no other thread opens files.
 */
int od_lost_fd_slots(int below);

/* rm -rf dir: 0 or -errno. */
int od_rm_tree(const char *dir);

#endif
