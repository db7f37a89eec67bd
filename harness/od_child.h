/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The daemon library, continued: child processes with bounds, the readers
 * built on them, and mounts (in a child of their own, or not).  Included by ondemand.h,
 * which is the header to include.
 */
#ifndef ODS_OD_CHILD_H
#define ODS_OD_CHILD_H

/* -- Child processes with bounds (od_child.c) ------------------------------ */

/*
 * A child process with a bound (od_child.c): it sends one result of a fixed
 * size back over a pipe; the parent waits for it with a timeout and kills
 * it if need be.  The child holds none of the parent's fds but its pipe
 * (the daemon's anon fds among them), and od_child_start() returns only
 * once it has closed them.  Readers, mounters, umounters and the image
 * check are such children; a test's own child is one too:
 *
 *	struct od_child c;
 *
 *	ASSERT_EQ(0, od_child_start(&c));
 *	if (c.pid == 0) {
 *		int ret = do_something();
 *
 *		od_child_report(&c, &ret, sizeof(ret));
 *	}
 *	ASSERT_EQ(0, od_child_wait(&c, &ret, sizeof(ret), OD_WAIT_MS));
 */
struct od_child {
	pid_t pid;	/* the child's; 0 in the child itself; -1 when none */
	int pipe;	/* the result's: read end in the parent, write end in the child */
};
/* Fork: 0 in both processes (c->pid tells which), or -errno. */
int od_child_start(struct od_child *c);
/* In the child: send len bytes of result and exit. */
void od_child_report(struct od_child *c, const void *res, size_t len)
	__attribute__((noreturn));
/*
 * Up to timeout_ms for the result, then reap the child: 0, -ETIMEDOUT (the
 * child is left running: kill it or wait again), -EPIPE (it died without a
 * result) or -ECHILD (no child).
 */
int od_child_wait(struct od_child *c, void *res, size_t len, int timeout_ms);
void od_child_kill(struct od_child *c);	/* SIGKILL and reap; no-op without one */
/*
 * fn(arg, res) in a child, its res back within timeout_ms: 0, or what
 * od_child_wait() says (on -ETIMEDOUT the child is killed).
 */
typedef void (*od_child_fn)(void *arg, void *res);
int od_child_run(od_child_fn fn, void *arg, void *res, size_t len, int timeout_ms);

/*
 * A struct whose child is an od_child (&x->child), with its fields also
 * under their own names (x->pid, x->pipe).
 */
#define OD_CHILD_MEMBER \
	union { \
		struct od_child child; \
		struct { pid_t pid; int pipe; }; \
	}

/*
 * A reader in its own process, so that a test can watch it block, kill it,
 * or wait for it with a bound. Result: 0 and the sha256 of what was read,
 * or -errno from the first failing read.
 */
struct od_reader {
	OD_CHILD_MEMBER;
	int result;
	char sha256[65];
	off_t bytes;
};
int od_reader_start(struct od_reader *r, const char *path, off_t off, off_t len);
int od_reader_wait(struct od_reader *r, int timeout_ms);	/* -ETIMEDOUT */
void od_reader_kill(struct od_reader *r);

/* -- Mounts (od_mount.c) --------------------------------------------------- */

/* EROFS over fscache. 0 or -errno. */
int od_mount(const char *fsid, const char *domain, const char *mnt);
int od_umount(const char *mnt);

/* mount(2) EROFS with these options, creating mnt. 0 or -errno. */
int od_mount_opts(const char *mnt, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* The extra blobs of a multi-device image, in device order: count or -errno. */
int od_image_devices(const char *image, char names[][OD_KEY_MAX], int max);
/* Mount a fixture image: fsid, a device= per extra blob, optional domain. */
int od_mount_image(const char *image, const char *domain, const char *mnt);

bool od_kernel_has_domain_id(void);	/* see od_kernel_has_restore() */

/*
 * A mount in its own process, so that a test can answer the mount's OPEN
 * by hand, or kill the mounter while its OPEN is pending.
 */
struct od_mounter {
	OD_CHILD_MEMBER;
	int result;	/* 0 or -errno from mount(2) (umount(2)); -EPIPE if it died */
};
int od_mount_start(struct od_mounter *m, const char *fsid, const char *domain,
		   const char *mnt);
int od_mount_wait(struct od_mounter *m, int timeout_ms);	/* -ETIMEDOUT */
void od_mount_kill(struct od_mounter *m);

/* umount(2) in its own process; the result comes with od_mount_wait(). */
int od_umount_start(struct od_mounter *m, const char *mnt);

#endif
