// SPDX-License-Identifier: GPL-2.0
/*
 * Waits a daemon can put a mount into that SIGKILL does not end: each test
 * asks that the killed mounter be gone at once, which today's kernels do
 * not do, so both are known failures (selftests/known-failures) kept
 * strict: a kernel that makes the wait killable shows XPASS, one that
 * changes how it waits fails them.
 *
 * open_pending: a mount whose OPEN the daemon has not answered sleeps in
 * fscache_wait_for_operation() (wait_var_event() on the cookie's state,
 * uninterruptible), where EROFS's superblock read reaches it through
 * cachefiles_prepare_read(), until the answer or the daemon's death
 * (bench/fixes/killable-open-wait.patch makes it killable).
 * volume_collision: a daemon that keeps the anon fd of an OPEN it failed
 * pins that object's volume; the next mount of the same fsid waits for
 * the old volume in fscache_wait_on_volume_collision() (wait_on_bit(),
 * uninterruptible) until the fd is closed.
 * Either way the teardown frees the mounter (the device closed, or the fd)
 * and the runner finds nothing left behind.
 */
#include "ods.h"

FIXTURE(unkillable) {
	struct ods_env e;
	struct od_mounter m;
	int kept_fd;		/* the failed OPEN's anon fd, kept */
};

FIXTURE_SETUP(unkillable)
{
	self->m.pid = -1;
	self->kept_fd = -1;
	ASSERT_EQ(0, ods_up(&self->e));
}

FIXTURE_TEARDOWN(unkillable)
{
	struct od_daemon *d = &self->e.d;
	int ret;

	/* what frees the mounter: the kept fd closed, or the device */
	if (self->kept_fd >= 0) {
		close(self->kept_fd);
	} else if (self->m.pid > 0) {
		od_stop(d);
		od_close_dev(d);
	}
	/*
	 * 0, or -EPIPE: killed before it could report.  (No TH_LOG on the
	 * EXPECT: after a failed ASSERT, the harness would print it anyway.)
	 */
	ret = self->m.pid > 0 ? od_mount_wait(&self->m, OD_WAIT_MS) : 0;
	if (ret == -ETIMEDOUT) {
		/* reaping it would block: the runner names what is left */
		TH_LOG("the mounter still waits after what should free it");
		self->m.pid = -1;
	}
	EXPECT_NE(-ETIMEDOUT, ret);
	od_mount_kill(&self->m);
	/* the mount may have gone through before the SIGKILL took */
	umount2(self->e.mnt, MNT_DETACH);
	ods_down(_metadata, &self->e);
}

/* SIGKILL the mounter: 0 when it is gone within OD_PROMPT_MS */
static int kill_mounter(struct od_mounter *m)
{
	int ret;

	kill(m->pid, SIGKILL);
	ret = od_mount_wait(m, OD_PROMPT_MS);
	return ret == -ETIMEDOUT ? ret : 0;
}

TEST_F(unkillable, open_pending)
{
	struct od_daemon *d = &self->e.d;
	struct od_record *open;

	od_stop(d);	/* the OPEN stays unanswered */
	ASSERT_EQ(0, od_mount_start(&self->m, "plain", NULL, self->e.mnt));
	ASSERT_EQ(0, od_next(d, &open, OD_WAIT_MS)) TH_LOG("the mount sent no OPEN");
	ASSERT_EQ(CACHEFILES_OP_OPEN, open->opcode);
	ASSERT_EQ(0, kill_mounter(&self->m))
		TH_LOG("the killed mount still waits %d ms later for its unanswered OPEN",
		       OD_PROMPT_MS);
}

static enum od_action fail_open_keep_fd(struct od_daemon *d, struct od_record *m,
					void *arg)
{
	FIXTURE_DATA(unkillable) *self = arg;

	if (m->opcode != CACHEFILES_OP_OPEN)
		return OD_REPLY;
	/* a daemon that forgets to close the fd of an object it failed */
	self->kept_fd = m->anon_fd;
	m->reply = od_copen(d, m->msg_id, -EIO);
	return OD_DONE;
}

TEST_F(unkillable, volume_collision)
{
	int ret;

	od_set_script(&self->e.d, fail_open_keep_fd, self);
	/* EIO or ENOBUFS, as for copenerr.*: the cookie's lookup failed */
	ret = ods_env_mount(&self->e, "plain");
	ASSERT_TRUE(ret == -EIO || ret == -ENOBUFS) TH_LOG("the mount: %s", strerror(-ret));
	ASSERT_LE(0, self->kept_fd);
	od_set_script(&self->e.d, NULL, NULL);
	ASSERT_EQ(0, od_mount_start(&self->m, "plain", NULL, self->e.mnt));
	/* a correct kernel may make it wait, or fail it: never unkillably */
	if (od_mount_wait(&self->m, OD_PROMPT_MS) == 0) {
		TH_LOG("the second mount did not wait: %s", strerror(-self->m.result));
		return;
	}
	ASSERT_EQ(0, kill_mounter(&self->m))
		TH_LOG("the killed mount still waits %d ms later for the volume the kept fd pins",
		       OD_PROMPT_MS);
}

ODS_MAIN
