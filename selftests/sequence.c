// SPDX-License-Identifier: GPL-2.0
/* Sequencing: what the messages say, and in which order they come. */
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>

#include "ods.h"

/* Files with at least one whole block outside the inode, in both layouts. */
static const char *const block_files[] = {
	"block", "block-plus-1", "odd-tail", "tens-of-blocks", "big-odd",
	"dir/b", "dir/sub/c",
};
#define NREADERS ARRAY_SIZE(block_files)

FIXTURE(sequence) {
	struct ods_env e;
	struct od_reader r[NREADERS];
	struct od_mounter mt;
	char mnt2[PATH_MAX];
	struct od_holder h;
};

FIXTURE_VARIANT(sequence) {
	const char *fixture;
};

FIXTURE_VARIANT_ADD(sequence, plain) { .fixture = "plain" };
FIXTURE_VARIANT_ADD(sequence, inline) { .fixture = "inline" };

FIXTURE_SETUP(sequence)
{
	for (int i = 0; i < NREADERS; i++)
		self->r[i].pid = -1;
	self->mt.pid = -1;
	od_holder_init(&self->h);
	ASSERT_EQ(0, ods_up(&self->e));
	ASSERT_EQ(0, ods_env_mount(&self->e, variant->fixture));
	snprintf(self->mnt2, sizeof(self->mnt2), "%s-2", self->e.mnt);
}

FIXTURE_TEARDOWN(sequence)
{
	int ret;

	/* a reader blocked on a held READ goes away with its request */
	for (int i = 0; i < NREADERS; i++)
		od_reader_kill(&self->r[i]);
	od_mount_kill(&self->mt);
	od_set_script(&self->e.d, NULL, NULL);
	/* umount waits for the daemon to take the CLOSE */
	if (!self->e.d.running)
		od_start(&self->e.d);
	ret = od_umount(self->mnt2);
	if (ret && ret != -EINVAL && ret != -ENOENT)
		umount2(self->mnt2, MNT_DETACH);
	rmdir(self->mnt2);
	ods_down(_metadata, &self->e);
}

TEST_F(sequence, open_keys_and_close_at_umount)
{
	struct od_daemon *d = &self->e.d;
	char volume_key[OD_KEY_MAX], sha[65];
	struct od_record *open, *m;

	ASSERT_EQ(0, od_sha256_file(ods_path(&self->e, "tens-of-blocks"), sha));
	ASSERT_EQ(1, od_count(d, CACHEFILES_OP_OPEN));
	open = od_find(d, CACHEFILES_OP_OPEN, 0);
	ASSERT_EQ(open, &d->rec[0]) TH_LOG("the first message was not the OPEN");

	snprintf(volume_key, sizeof(volume_key), "erofs,%s", variant->fixture);
	EXPECT_STREQ(volume_key, open->volume_key);
	EXPECT_EQ(strlen(volume_key) + 1, open->volume_key_size)
		TH_LOG("the volume key size counts its NUL");
	EXPECT_EQ(strlen(variant->fixture), open->cookie_key_size);
	EXPECT_EQ(0, memcmp(variant->fixture, open->cookie_key, open->cookie_key_size));
	EXPECT_LT(0, open->object_id);
	EXPECT_LE(0, open->anon_fd);
	EXPECT_EQ(0, open->reply);

	ASSERT_LT(0, od_count(d, CACHEFILES_OP_READ));
	for (int i = 0; (m = od_find(d, CACHEFILES_OP_READ, i)); i++) {
		EXPECT_EQ(open->object_id, m->object_id);
		EXPECT_EQ(sizeof(struct cachefiles_msg) + sizeof(struct cachefiles_read), m->len);
	}

	ASSERT_EQ(0, ods_env_umount(&self->e));
	ASSERT_EQ(0, od_wait_count(d, CACHEFILES_OP_CLOSE, 1, OD_WAIT_MS))
		TH_LOG("no CLOSE after umount");
	m = od_find(d, CACHEFILES_OP_CLOSE, 0);
	EXPECT_EQ(open->object_id, m->object_id);
	EXPECT_EQ(sizeof(struct cachefiles_msg), m->len);
	EXPECT_EQ(m, &d->rec[d->nrec - 1]) TH_LOG("CLOSE was not the last message");
	EXPECT_EQ(1, od_count(d, CACHEFILES_OP_CLOSE));
	EXPECT_STREQ("", d->error);
}

TEST_F(sequence, msg_ids_unique_while_pending)
{
	struct od_daemon *d = &self->e.d;
	char sha[65];

	ASSERT_EQ(0, od_sha256_file(ods_path(&self->e, "big-odd"), sha));
	ASSERT_LT(2, od_count(d, CACHEFILES_OP_READ));
	for (int i = 0; i < d->nrec; i++) {
		for (int j = i + 1; j < d->nrec; j++) {
			EXPECT_NE(d->rec[i].msg_id, d->rec[j].msg_id)
				TH_LOG("msg_id %u handed out twice", d->rec[i].msg_id);
		}
	}
}

/* Look a file up in a reader, so that its data alone stays cold. */
static void look_up(struct __test_metadata *_metadata, const char *path)
{
	struct od_reader r;

	ASSERT_EQ(0, od_reader_start(&r, path, 0, 0));
	ASSERT_EQ(0, od_reader_wait(&r, OD_WAIT_MS)) {
		od_reader_kill(&r);
	}
	ASSERT_EQ(0, r.result) TH_LOG("lookup of %s: %s", path, strerror(-r.result));
}

/*
 * One reader per file, each blocked on a READ of its own, all pending
 * at once; answered last to first, each answer releases exactly its
 * reader, with its bytes, while the others still wait.
 */
TEST_F(sequence, out_of_order_completion)
{
	struct od_daemon *d = &self->e.d;
	struct od_record *held[NREADERS + 1], *all[NREADERS + 1];
	char sha[65];
	int base;

	for (int i = 0; i < NREADERS; i++)
		look_up(_metadata, ods_path(&self->e, block_files[i]));
	od_holder_set(&self->h, 1);
	od_set_script(d, od_hold_reads, &self->h);
	base = od_count(d, CACHEFILES_OP_READ);
	/* one at a time, so that the i-th READ held is the i-th reader's */
	for (int i = 0; i < NREADERS; i++) {
		ASSERT_EQ(0, od_reader_start(&self->r[i],
					     ods_path(&self->e, block_files[i]), 0, OD_BLOCK));
		ASSERT_EQ(0, od_holder_wait(&self->h, i + 1, OD_WAIT_MS))
			TH_LOG("reading %s sent no READ", block_files[i]);
	}
	od_holder_set(&self->h, 0);
	ASSERT_EQ(NREADERS, od_holder_take(&self->h, held, NREADERS + 1));
	ASSERT_EQ(NREADERS, od_pending(d, CACHEFILES_OP_READ, all, NREADERS + 1));
	for (int i = 0; i < NREADERS; i++) {
		for (int j = 0; j < i; j++) {
			EXPECT_NE(held[i]->msg_id, held[j]->msg_id);
		}
	}
	EXPECT_FALSE(od_poll_in(d, 0)) TH_LOG("all were read, none is new");

	for (int i = NREADERS - 1; i >= 0; i--) {
		struct od_reader *r = &self->r[i];

		ASSERT_EQ(0, od_reply(d, held[i])) TH_LOG("answering READ %u", held[i]->msg_id);
		ASSERT_EQ(0, od_reader_wait(r, OD_WAIT_MS))
			TH_LOG("reader of %s not released by its READ", block_files[i]);
		od_tree_sha256(block_files[i], 0, OD_BLOCK, sha);
		EXPECT_EQ(0, r->result);
		EXPECT_EQ(OD_BLOCK, r->bytes);
		EXPECT_STREQ(sha, r->sha256) TH_LOG("%s got other bytes", block_files[i]);
		for (int j = 0; j < i; j++) {
			ASSERT_EQ(-ETIMEDOUT, od_reader_wait(&self->r[j], 0))
				TH_LOG("the reader of %s finished with its READ held",
				       block_files[j]);
		}
	}
	EXPECT_EQ(base + NREADERS, od_count(d, CACHEFILES_OP_READ))
		TH_LOG("a reader needed more than its one READ");
	EXPECT_STREQ("", d->error);
}

struct poller {
	int fd, ret;
	short revents;
	pid_t tid;
};

static void *poll_thread(void *arg)
{
	struct poller *p = arg;
	struct pollfd pf = { .fd = p->fd, .events = POLLIN };

	__atomic_store_n(&p->tid, gettid(), __ATOMIC_SEQ_CST);
	p->ret = poll(&pf, 1, OD_WAIT_MS);
	p->revents = pf.revents;
	return NULL;
}

/* Until the thread sleeps (in its poll): 0, or -ETIMEDOUT. */
static int wait_asleep(struct poller *p)
{
	long deadline = od_now_ms() + OD_WAIT_MS;
	char path[64], buf[512], *s;
	pid_t tid;

	while (od_now_ms() < deadline) {
		int fd;
		ssize_t n = 0;

		tid = __atomic_load_n(&p->tid, __ATOMIC_SEQ_CST);
		snprintf(path, sizeof(path), "/proc/self/task/%d/stat", tid);
		fd = tid ? open(path, O_RDONLY | O_CLOEXEC) : -1;
		if (fd >= 0) {
			n = read(fd, buf, sizeof(buf) - 1);
			close(fd);
		}
		buf[n > 0 ? n : 0] = 0;
		s = strrchr(buf, ')');
		if (s && s[1] == ' ' && s[2] == 'S')
			return 0;
		usleep(1000);
	}
	return -ETIMEDOUT;
}

/*
 * Serve requests by hand until the reader is done: how many it took, or
 * -ETIMEDOUT.  A READ answered in full needs no second one; one that was
 * not would be healed here by the page cache's retry.
 */
static struct od_record *last_served;

static int serve_reader(struct od_daemon *d, struct od_reader *r)
{
	long deadline = od_now_ms() + OD_WAIT_MS;
	struct od_record *m;
	int served = 0;

	while (od_now_ms() < deadline) {
		if (!od_reader_wait(r, 0))
			return served;
		if (od_poll_in(d, 10) && !od_next(d, &m, 0)) {
			od_reply(d, m);
			last_served = m;
			served++;
		}
	}
	return -ETIMEDOUT;
}

/*
 * A poll() already asleep wakes when a request arrives; POLLIN stays
 * while it is unread, and goes once it is read, answered or not.
 */
TEST_F(sequence, poll_wakes_and_quiets)
{
	struct od_daemon *d = &self->e.d;
	struct poller p = { .fd = d->dev };
	struct od_record *m;
	pthread_t t;
	char sha[65];

	/* only the data stays cold: its READ is the one request */
	look_up(_metadata, ods_path(&self->e, "odd-tail"));
	od_stop(d);
	ASSERT_FALSE(od_poll_in(d, 0)) TH_LOG("POLLIN with nothing pending");
	ASSERT_EQ(0, pthread_create(&t, NULL, poll_thread, &p));
	EXPECT_EQ(0, wait_asleep(&p)) TH_LOG("the poller never slept");
	ASSERT_EQ(0, od_reader_start(&self->r[0], ods_path(&self->e, "odd-tail"), 0, OD_BLOCK));
	pthread_join(t, NULL);	/* bounded: the poll has a timeout */
	ASSERT_EQ(1, p.ret) TH_LOG("poll() slept through the request");
	ASSERT_TRUE(p.revents & POLLIN);

	EXPECT_TRUE(od_poll_in(d, 0)) TH_LOG("POLLIN went before the request was read");
	ASSERT_EQ(0, od_next(d, &m, OD_WAIT_MS));
	ASSERT_EQ(CACHEFILES_OP_READ, m->opcode);
	EXPECT_FALSE(od_poll_in(d, 0)) TH_LOG("POLLIN for a request already read");
	ASSERT_EQ(0, od_reply(d, m));
	ASSERT_EQ(0, serve_reader(d, &self->r[0])) TH_LOG("more requests after the READ");
	od_tree_sha256("odd-tail", 0, OD_BLOCK, sha);
	EXPECT_EQ(0, self->r[0].result);
	EXPECT_STREQ(sha, self->r[0].sha256);
	EXPECT_FALSE(od_poll_in(d, 0)) TH_LOG("POLLIN after every request was answered");
	EXPECT_EQ(0, read(d->dev, sha, sizeof(sha))) TH_LOG("a message with POLLIN off");
	EXPECT_STREQ("", d->error);
}

/* read() of the device into n bytes: bytes read, or -errno. */
static ssize_t dev_read(struct od_daemon *d, void *buf, size_t n)
{
	ssize_t got = read(d->dev, buf, n);

	return got < 0 ? -errno : got;
}

static int count_fds(void)
{
	char path[64];
	int n = 0;

	for (int fd = 0; fd < 1024; fd++) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		n += !access(path, F_OK);
	}
	return n;
}

/*
 * A buffer one byte short gets EMSGSIZE and leaves the READ queued;
 * a buffer of exactly its length gets it, once.
 */
TEST_F(sequence, emsgsize_keeps_read)
{
	const size_t want = sizeof(struct cachefiles_msg) + sizeof(struct cachefiles_read);
	const size_t small[] = { 0, 1, sizeof(struct cachefiles_msg), want - 1 };
	struct od_daemon *d = &self->e.d;
	char buf[CACHEFILES_MSG_MAX_SIZE];
	struct cachefiles_msg *msg = (void *)buf;
	struct cachefiles_read *rd = (void *)msg->data;
	char sha[65];

	look_up(_metadata, ods_path(&self->e, "big-odd"));
	od_stop(d);
	ASSERT_EQ(0, od_reader_start(&self->r[0], ods_path(&self->e, "big-odd"), 0, OD_BLOCK));
	ASSERT_TRUE(od_poll_in(d, OD_WAIT_MS)) TH_LOG("the read sent no request");
	for (int i = 0; i < ARRAY_SIZE(small); i++) {
		EXPECT_EQ(-EMSGSIZE, dev_read(d, buf, small[i]))
			TH_LOG("a %zu-byte buffer for a %zu-byte READ", small[i], want);
		EXPECT_TRUE(od_poll_in(d, 0)) TH_LOG("the READ went with EMSGSIZE");
	}
	ASSERT_EQ(want, dev_read(d, buf, want));
	EXPECT_EQ(CACHEFILES_OP_READ, msg->opcode);
	EXPECT_EQ(want, msg->len);
	EXPECT_EQ(0, dev_read(d, buf, sizeof(buf))) TH_LOG("the READ came twice");

	/* it is the reader's READ, and answering it releases the reader */
	ASSERT_EQ(0, od_write(d, msg->object_id, rd->off, rd->len));
	ASSERT_EQ(0, od_cread(d, msg->object_id, msg->msg_id));
	ASSERT_EQ(0, serve_reader(d, &self->r[0])) {
		TH_LOG("more requests after the READ [%llu,+%llu): %s %u [%llu,+%llu)",
		       (unsigned long long)rd->off, (unsigned long long)rd->len,
		       od_opname(last_served->opcode), last_served->msg_id,
		       (unsigned long long)last_served->off,
		       (unsigned long long)last_served->rlen);
	}
	od_tree_sha256("big-odd", 0, OD_BLOCK, sha);
	EXPECT_EQ(0, self->r[0].result);
	EXPECT_STREQ(sha, self->r[0].sha256);
	EXPECT_STREQ("", d->error);
}

/*
 * Answer an OPEN the test read itself (msg) as the daemon would, then
 * serve the mount's READs by hand until the mount completes: it must.
 */
static void answer_open_serve_mount(struct __test_metadata *_metadata, struct od_daemon *d,
				    struct od_mounter *mt, const struct cachefiles_msg *msg,
				    const char *fsid)
{
	const struct cachefiles_open *o = (const void *)msg->data;
	struct od_record rec = { 0 };
	long deadline;

	rec.msg_id = msg->msg_id;
	rec.object_id = msg->object_id;
	rec.anon_fd = o->fd;
	snprintf(rec.cookie_key, sizeof(rec.cookie_key), "%s", fsid);
	ASSERT_EQ(0, od_open_as(d, &rec, NULL, -1));
	deadline = od_now_ms() + OD_WAIT_MS;
	while (od_mount_wait(mt, 0) && od_now_ms() < deadline) {
		struct od_record *m;

		if (od_poll_in(d, 10) && !od_next(d, &m, 0))
			od_reply(d, m);
	}
	ASSERT_EQ(-1, mt->pid) TH_LOG("the mount did not complete");
	EXPECT_EQ(0, mt->result);
	EXPECT_STREQ("", d->error);
}

/*
 * The same for an OPEN, whose length depends on its keys: EMSGSIZE installs no
 * anon fd; the full read installs exactly one, and the mount completes.
 */
TEST_F(sequence, emsgsize_keeps_open)
{
	static const char volume_key[] = "erofs,b7";	/* a domain: a new volume */
	struct od_daemon *d = &self->e.d;
	const size_t want = sizeof(struct cachefiles_msg) + sizeof(struct cachefiles_open) +
			    sizeof(volume_key) + strlen(variant->fixture);
	char buf[CACHEFILES_MSG_MAX_SIZE];
	struct cachefiles_msg *msg = (void *)buf;
	struct cachefiles_open *o = (void *)msg->data;
	int fds;

	ods_need_domain_id(_metadata);
	od_stop(d);
	ASSERT_EQ(0, od_mount_start(&self->mt, variant->fixture, "b7", self->mnt2));
	ASSERT_TRUE(od_poll_in(d, OD_WAIT_MS)) TH_LOG("the mount sent no OPEN");
	fds = count_fds();
	EXPECT_EQ(-EMSGSIZE, dev_read(d, buf, want - 1));
	EXPECT_EQ(-EMSGSIZE, dev_read(d, buf, 0));
	EXPECT_EQ(fds, count_fds()) TH_LOG("EMSGSIZE left an anon fd behind");
	EXPECT_TRUE(od_poll_in(d, 0)) TH_LOG("the OPEN went with EMSGSIZE");
	ASSERT_EQ(want, dev_read(d, buf, sizeof(buf)));
	EXPECT_EQ(fds + 1, count_fds());
	ASSERT_EQ(CACHEFILES_OP_OPEN, msg->opcode);
	EXPECT_EQ(want, msg->len);
	EXPECT_EQ(sizeof(volume_key), o->volume_key_size);
	EXPECT_STREQ(volume_key, (char *)o->data);

	answer_open_serve_mount(_metadata, d, &self->mt, msg, variant->fixture);
}

/*
 * The same for a CLOSE, which is done with as soon as it is read: EMSGSIZE must
 * neither deliver nor drop it.
 */
TEST_F(sequence, emsgsize_keeps_close)
{
	const size_t want = sizeof(struct cachefiles_msg);
	struct od_daemon *d = &self->e.d;
	struct od_record *open = od_find(d, CACHEFILES_OP_OPEN, 0);
	char buf[CACHEFILES_MSG_MAX_SIZE];
	struct cachefiles_msg *msg = (void *)buf;
	struct od_mounter um;
	int ret;

	ASSERT_NE(NULL, open);
	od_stop(d);
	/* umount(2) in a child, so that the test can serve its CLOSE by hand */
	ASSERT_EQ(0, od_umount_start(&um, self->e.mnt));
	ASSERT_TRUE(od_poll_in(d, OD_WAIT_MS)) TH_LOG("umount sent no CLOSE");
	EXPECT_EQ(-EMSGSIZE, dev_read(d, buf, want - 1));
	EXPECT_TRUE(od_poll_in(d, 0)) TH_LOG("the CLOSE went with EMSGSIZE");
	ASSERT_EQ(want, dev_read(d, buf, sizeof(buf)));
	EXPECT_EQ(CACHEFILES_OP_CLOSE, msg->opcode);
	EXPECT_EQ(want, msg->len);
	EXPECT_EQ(open->object_id, msg->object_id);
	EXPECT_EQ(0, dev_read(d, buf, sizeof(buf))) TH_LOG("the CLOSE came twice");
	EXPECT_EQ(0, od_close_anon(d, open->object_id));
	ret = od_mount_wait(&um, OD_WAIT_MS);
	od_mount_kill(&um);
	ASSERT_EQ(0, ret) TH_LOG("umount hangs");
	ASSERT_EQ(0, um.result) TH_LOG("umount: %s", strerror(-um.result));
	self->e.mounted = false;
}

/*
 * The read() buffer of an OPEN at its length: cachefiles_ondemand_daemon_read()
 * refuses a message longer than the buffer (n > buflen: EMSGSIZE,
 * fs/cachefiles/ondemand.c:444 in 6.1.192, 443 in 6.12.118) before
 * it makes the anon fd, and leaves the request queued.  A buffer of exactly
 * the message's length takes it, without a byte written past it; one byte
 * less gets EMSGSIZE, and the same OPEN is read whole afterwards.  Either
 * way the mount then completes and reads right.
 */
FIXTURE(openbuf) {
	struct ods_env e;
	struct od_mounter mt;
};

FIXTURE_VARIANT(openbuf) {
	int short_by;		/* the buffer: the OPEN's length less this */
	int err;		/* what that read() gets: 0 for the message */
};

FIXTURE_VARIANT_ADD(openbuf, len_exact) { 0, 0 };
FIXTURE_VARIANT_ADD(openbuf, len_less_1_emsgsize) { 1, -EMSGSIZE };

FIXTURE_SETUP(openbuf)
{
	self->mt.pid = -1;
	ASSERT_EQ(0, ods_up(&self->e));
	od_stop(&self->e.d);
}

FIXTURE_TEARDOWN(openbuf)
{
	ods_down_mounter(_metadata, &self->e, &self->mt);
}

TEST_F(openbuf, read_open)
{
	static const char volume_key[] = "erofs,plain";
	const size_t want = sizeof(struct cachefiles_msg) + sizeof(struct cachefiles_open) +
			    sizeof(volume_key) + strlen("plain");
	struct od_daemon *d = &self->e.d;
	char buf[CACHEFILES_MSG_MAX_SIZE];
	struct cachefiles_msg *msg = (void *)buf;
	ssize_t got;
	int fds;

	ods_mount_pending(_metadata, &self->e, &self->mt, "plain");
	fds = count_fds();
	/* a canary past the buffer: the kernel must not write beyond it */
	memset(buf, 0xa5, sizeof(buf));
	got = dev_read(d, buf, want - variant->short_by);
	EXPECT_EQ(variant->err ?: (ssize_t)want, got)
		TH_LOG("a %zu-byte buffer for a %zu-byte OPEN: %s", want - variant->short_by,
		       want, got < 0 ? strerror(-got) : "read");
	EXPECT_EQ((char)0xa5, buf[want - variant->short_by])
		TH_LOG("a byte written past the buffer");
	if (got < 0) {
		EXPECT_EQ(fds, count_fds()) TH_LOG("EMSGSIZE left an anon fd behind");
		EXPECT_TRUE(od_poll_in(d, 0)) TH_LOG("the OPEN went with EMSGSIZE");
		/* the same OPEN, read whole now */
		got = dev_read(d, buf, want);
	}
	ASSERT_EQ(want, got) TH_LOG("%s", got < 0 ? strerror(-got) : "a short message");
	EXPECT_EQ(fds + 1, count_fds());
	ASSERT_EQ(CACHEFILES_OP_OPEN, msg->opcode);
	EXPECT_EQ(want, msg->len);
	EXPECT_EQ(0, dev_read(d, buf, sizeof(buf))) TH_LOG("the OPEN came twice");
	answer_open_serve_mount(_metadata, d, &self->mt, msg, "plain");
	self->e.mounted = !self->mt.result;
	ASSERT_EQ(0, od_start(d));	/* the rest of the image, and umount's CLOSE */
	ods_expect_image(_metadata, self->e.mnt, "plain");
}

ODS_MAIN
