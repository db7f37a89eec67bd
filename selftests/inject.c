// SPDX-License-Identifier: GPL-2.0
/*
 * Cache-file I/O errors, injected with /proc/sys/cachefiles/error_injection
 * (CONFIG_CACHEFILES_ERROR_INJECTION): bit 1 (value 2) turns cachefiles' own
 * lookups, seeks, reads and writes of the cache into EIO, bit 0 (value 1)
 * turns its writes into ENOSPC (cachefiles_inject_*_error()).
 *
 * One scenario, one table: where the injection is on (phase) times which
 * error.  The oracle is the same everywhere: whoever is affected gets a
 * negative errno and never wrong data, the daemon's anon-fd write gets the
 * injected errno, and once injection is off the cache serves correct data
 * again.  Whether the cache is marked dead is per phase, as the source has
 * it: only cachefiles_io_error() sets CACHEFILES_DEAD, and it is called for
 * an EIO from a cookie lookup and for any failure (bar ENOMEM) to set the
 * coherency xattr when an object is committed; a dead cache refuses every
 * command and needs a fresh bind.
 */
#include <ftw.h>
#include <sys/xattr.h>

#include "ods.h"

#define INJECT_SYSCTL	"/proc/sys/cachefiles/error_injection"
#define INJECT_FILE	"big-odd"	/* 1 MiB and a tail: several READs */

enum inject_phase {
	BEFORE_MOUNT,	/* the volume's directory is made with injection on */
	AT_OPEN,	/* on after the OPEN arrived, before the daemon answers */
	AT_READ,	/* on while a reader misses: kernel seeks, daemon writes */
	AT_CACHED,	/* on while a reader hits data already in the cache file */
	AT_WRITE,	/* on only around the daemon's anon-fd writes */
	AT_UMOUNT,	/* on while umount commits the object */
	AT_LOOKUP,	/* on while a cookie is looked up in a live volume */
};

FIXTURE(inject) {
	struct ods_env e;
	struct od_reader r;
	char mnt2[PATH_MAX];
	char domain[32];
	bool mounted2;
};

FIXTURE_VARIANT(inject) {
	enum inject_phase phase;
	unsigned int value;	/* written to error_injection */
	int mount;		/* the mount made under injection */
	int mount_late;		/* or this, if its first read lost a race */
	int reader;		/* the reader under injection */
	bool reads;		/* READ requests reach the daemon under injection */
	int write;		/* then every anon-fd write of the daemon fails so */
	const char *dead;	/* cachefiles_io_error() message, if the cache dies */
};

/*
 * BEFORE_MOUNT: cachefiles_get_directory() fails (EIO at the lookup, ENOSPC
 * at the mkdir): no volume, no OPEN, fscache gives the mount ENOBUFS.
 */
FIXTURE_VARIANT_ADD(inject, mount_eio) {
	.phase = BEFORE_MOUNT, .value = 2, .mount = -ENOBUFS,
};
FIXTURE_VARIANT_ADD(inject, mount_enospc) {
	.phase = BEFORE_MOUNT, .value = 1, .mount = -ENOBUFS,
};
/*
 * AT_OPEN: the copen itself works; then cachefiles_create_tmpfile() fails to
 * size the tmpfile (vfs_truncate is "write"): the lookup fails, and the
 * opened object is withdrawn with a CLOSE.  The OPEN is only sent once the
 * cookie is CREATING, which lets the superblock read in (FSCACHE_WANT_PARAMS)
 * to wait in cachefiles_prepare_read() for a file that never comes: EROFS
 * gets EIO.  Only a read that started after the lookup failed would get
 * ENOBUFS from fscache_begin_operation().
 */
FIXTURE_VARIANT_ADD(inject, open_eio) {
	.phase = AT_OPEN, .value = 2, .mount = -EIO, .mount_late = -ENOBUFS,
};
FIXTURE_VARIANT_ADD(inject, open_enospc) {
	.phase = AT_OPEN, .value = 1, .mount = -EIO, .mount_late = -ENOBUFS,
};
/*
 * AT_READ: with EIO the SEEK_DATA in cachefiles_prepare_read() fails before
 * any READ is sent; with ENOSPC the READ goes out, the daemon's write fails,
 * and the range is still a hole when the READ completes.  Either way EROFS
 * fails the read with EIO.
 */
FIXTURE_VARIANT_ADD(inject, read_eio) {
	.phase = AT_READ, .value = 2, .reader = -EIO,
};
FIXTURE_VARIANT_ADD(inject, read_enospc) {
	.phase = AT_READ, .value = 1, .reader = -EIO, .reads = true,
	.write = -ENOSPC,
};
/* AT_CACHED: reading the cache file is a "read": ENOSPC does not touch it. */
FIXTURE_VARIANT_ADD(inject, cached_eio) {
	.phase = AT_CACHED, .value = 2, .reader = -EIO,
};
FIXTURE_VARIANT_ADD(inject, cached_enospc) {
	.phase = AT_CACHED, .value = 1, .reader = 0,
};
/* AT_WRITE: __cachefiles_write() fails the daemon's pwrite() with the error. */
FIXTURE_VARIANT_ADD(inject, write_eio) {
	.phase = AT_WRITE, .value = 2, .reader = -EIO, .reads = true,
	.write = -EIO,
};
FIXTURE_VARIANT_ADD(inject, write_enospc) {
	.phase = AT_WRITE, .value = 1, .reader = -EIO, .reads = true,
	.write = -ENOSPC,
};
/*
 * AT_UMOUNT: the CLOSE goes out first, then cachefiles_commit_object() fails
 * to set the coherency xattr of the new file: any error but ENOMEM is an
 * I/O error, and the cache dies.
 */
FIXTURE_VARIANT_ADD(inject, umount_eio) {
	.phase = AT_UMOUNT, .value = 2,
	.dead = "I/O Error: Failed to set xattr with error -5",
};
FIXTURE_VARIANT_ADD(inject, umount_enospc) {
	.phase = AT_UMOUNT, .value = 1,
	.dead = "I/O Error: Failed to set xattr with error -28",
};
/*
 * AT_LOOKUP: a second image in the same domain shares the live volume, so
 * its cookie goes straight to cachefiles_look_up_object().  An EIO from that
 * lookup is an I/O error and kills the cache; ENOSPC only fails the
 * tmpfile, and only this mount.  Neither sends an OPEN.
 */
FIXTURE_VARIANT_ADD(inject, lookup_eio) {
	.phase = AT_LOOKUP, .value = 2, .mount = -ENOBUFS,
	.dead = "I/O Error: Lookup failed",
};
FIXTURE_VARIANT_ADD(inject, lookup_enospc) {
	.phase = AT_LOOKUP, .value = 1, .mount = -ENOBUFS,
};

static int inject_set(unsigned int value)
{
	char buf[16];
	int fd = open(INJECT_SYSCTL, O_WRONLY | O_CLOEXEC), len, ret = 0;

	if (fd < 0)
		return -errno;
	len = snprintf(buf, sizeof(buf), "%u", value);
	if (write(fd, buf, len) != len)
		ret = -errno;
	close(fd);
	return ret;
}

/*
 * "bind" on a bound cache is refused with EBUSY; a dead cache refuses every
 * command with EIO first (cachefiles_daemon_write()).  No side effects.
 */
static int cache_state(struct od_daemon *d)
{
	return od_cmd(d, "bind ondemand");
}

static int wait_dead(struct od_daemon *d, int timeout_ms)
{
	long deadline = od_now_ms() + timeout_ms;
	int ret;

	/* the object is committed by the fscache worker, after umount returned */
	while ((ret = cache_state(d)) == -EBUSY && od_now_ms() < deadline)
		usleep(20000);
	return ret;
}

/*
 * Cache files that lack cachefiles' coherency xattr.  For such a file
 * cachefiles_check_auxdata() returns the getxattr() error (ENODATA), not
 * ESTALE, so every later lookup of its cookie fails instead of replacing it.
 */
#define COHERENCY_XATTR	"user.CacheFiles.cache"
static int bare_files;
static char bare_file[PATH_MAX];

static int count_bare(const char *path, const struct stat *st, int type,
		      struct FTW *ftw)
{
	if (type == FTW_F && S_ISREG(st->st_mode) &&
	    getxattr(path, COHERENCY_XATTR, NULL, 0) < 0 && errno == ENODATA) {
		if (!bare_files++)
			snprintf(bare_file, sizeof(bare_file), "%s", path);
	}
	return 0;
}

/* What the daemon saw while the injection was armed. */
struct inject_script {
	enum inject_phase phase;
	unsigned int value;
	int want;		/* what each anon-fd write must get */
	bool armed;
	int opens, reads, writes, bad_writes, bad_write;
};

static enum od_action inject_daemon(struct od_daemon *d, struct od_record *m,
				    void *arg)
{
	struct inject_script *s = arg;
	int ret;

	if (!s->armed)
		return OD_REPLY;
	if (m->opcode == CACHEFILES_OP_OPEN) {
		s->opens++;
		/* the tmpfile exists already: the copen is what meets the error */
		if (s->phase == AT_OPEN && inject_set(s->value))
			return OD_HOLD;		/* the mount then times out */
		return OD_REPLY;
	}
	if (m->opcode != CACHEFILES_OP_READ)
		return OD_REPLY;

	s->reads++;
	if (s->phase == AT_WRITE)
		inject_set(s->value);
	ret = od_write(d, m->object_id, m->off, m->rlen);
	if (s->phase == AT_WRITE)
		inject_set(0);
	s->writes++;
	if (ret != s->want) {
		s->bad_writes++;
		s->bad_write = ret;
	}
	/* complete it anyway: the kernel must see the hole, not hang */
	ret = od_cread(d, m->object_id, m->msg_id);
	pthread_mutex_lock(&d->lock);
	m->reply = ret;
	m->answered = true;
	pthread_mutex_unlock(&d->lock);
	return OD_DONE;
}

FIXTURE_SETUP(inject)
{
	ods_need_kconfig(_metadata, "CONFIG_CACHEFILES_ERROR_INJECTION");
	if (variant->phase == AT_LOOKUP)
		ods_need_domain_id(_metadata);
	ASSERT_EQ(0, access(INJECT_SYSCTL, W_OK))
		TH_LOG("no " INJECT_SYSCTL " though CONFIG_CACHEFILES_ERROR_INJECTION is set");
	ASSERT_EQ(0, inject_set(0));
	ASSERT_EQ(0, ods_up(&self->e));
	self->r.pid = -1;
	snprintf(self->mnt2, sizeof(self->mnt2), "%s-2", self->e.mnt);
	snprintf(self->domain, sizeof(self->domain), "inject%d", getpid());
}

FIXTURE_TEARDOWN(inject)
{
	if (ods_test_skipped(_metadata))
		return;
	/* first of all: the sysctl is global, the next test must not see it */
	EXPECT_EQ(0, inject_set(0));
	od_reader_kill(&self->r);
	if (self->mounted2)
		umount2(self->mnt2, MNT_DETACH);
	rmdir(self->mnt2);
	ods_down(_metadata, &self->e);
}

TEST_F(inject, cache_io_error)
{
	struct od_daemon *d = &self->e.d;
	struct inject_script s = {
		.phase = variant->phase, .value = variant->value, .want = variant->write,
	};
	int errors = od_klog_count("I/O Error"), ret, closes;
	struct od_record *open;
	struct stat st;
	char sha[65];

	/* harnesses before 6.4 run the body after a SKIP in the setup */
	if (ods_test_skipped(_metadata))
		return;
	/* a copy: od_manifest_sha() answers in a static buffer */
	snprintf(sha, sizeof(sha), "%s", od_manifest_sha("plain", INJECT_FILE));
	ASSERT_LE(0, errors);
	od_set_script(d, inject_daemon, &s);

	/* up to the point where the injection goes on */
	switch (variant->phase) {
	case AT_READ:
	case AT_WRITE:
		ASSERT_EQ(0, ods_env_mount(&self->e, "plain"));
		/* the inode now, so that only its data is read under injection */
		ASSERT_EQ(0, stat(ods_path(&self->e, INJECT_FILE), &st));
		break;
	case AT_CACHED:
	case AT_UMOUNT:
		ASSERT_EQ(0, ods_env_mount(&self->e, "plain"));
		ASSERT_EQ(0, od_reader_start(&self->r, ods_path(&self->e, INJECT_FILE), 0, -1));
		ASSERT_EQ(0, od_reader_wait(&self->r, OD_WAIT_MS));
		ASSERT_EQ(0, self->r.result);
		ASSERT_STREQ(sha, self->r.sha256);
		/* what is read next comes from the cache file, not the page cache */
		ASSERT_EQ(0, ods_drop_caches());
		break;
	case AT_LOOKUP:
		ASSERT_EQ(0, od_mount("plain", self->domain, self->e.mnt));
		self->e.mounted = true;
		break;
	default:
		break;
	}
	closes = od_count(d, CACHEFILES_OP_CLOSE);

	s.armed = true;
	if (variant->phase != AT_OPEN && variant->phase != AT_WRITE)
		ASSERT_EQ(0, inject_set(variant->value));

	switch (variant->phase) {
	case BEFORE_MOUNT:
	case AT_OPEN:
		ret = ods_env_mount(&self->e, "plain");
		if (ret && ret == variant->mount_late) {
			TH_LOG("the superblock read came after the failed lookup");
		} else {
			EXPECT_EQ(variant->mount, ret)
				TH_LOG("mount under injection %u: %s", variant->value,
				       strerror(-ret));
		}
		break;
	case AT_LOOKUP:
		ret = od_mount("inline", self->domain, self->mnt2);
		self->mounted2 = !ret;
		EXPECT_EQ(variant->mount, ret) TH_LOG("mount in the live volume: %s",
						      strerror(-ret));
		break;
	case AT_READ:
	case AT_CACHED:
	case AT_WRITE:
		ASSERT_EQ(0, od_reader_start(&self->r, ods_path(&self->e, INJECT_FILE), 0, -1));
		ASSERT_EQ(0, od_reader_wait(&self->r, OD_WAIT_MS))
			TH_LOG("the reader hangs under injection");
		EXPECT_EQ(variant->reader, self->r.result)
			TH_LOG("reader: %s after %lld bytes", strerror(-self->r.result),
			       (long long)self->r.bytes);
		if (!self->r.result) {
			EXPECT_STREQ(sha, self->r.sha256) TH_LOG("wrong data under injection");
		}
		break;
	case AT_UMOUNT:
		EXPECT_EQ(0, ods_env_umount(&self->e));
		/* the CLOSE is sent before the object is committed */
		EXPECT_EQ(0, od_wait_count(d, CACHEFILES_OP_CLOSE, closes + 1, OD_WAIT_MS));
		break;
	}

	/* the cache's fate, while the injection is still on */
	if (variant->dead) {
		EXPECT_EQ(-EIO, wait_dead(d, OD_WAIT_MS)) TH_LOG("the cache is not dead");
	} else {
		EXPECT_EQ(-EBUSY, cache_state(d)) TH_LOG("the cache died");
	}
	s.armed = false;
	ASSERT_EQ(0, inject_set(0));

	/* what the daemon saw */
	if (variant->phase == AT_OPEN) {
		EXPECT_EQ(1, s.opens);
		open = od_find(d, CACHEFILES_OP_OPEN, 0);
		ASSERT_NE(NULL, open);
		EXPECT_EQ(0, open->reply) TH_LOG("copen: %s", strerror(-open->reply));
		/* opened, then withdrawn: the daemon must be told */
		ASSERT_EQ(0, od_wait_count(d, CACHEFILES_OP_CLOSE, 1, OD_WAIT_MS))
			TH_LOG("no CLOSE for the object whose lookup failed after copen");
		EXPECT_EQ(open->object_id, od_find(d, CACHEFILES_OP_CLOSE, 0)->object_id);
	} else if (variant->phase == BEFORE_MOUNT || variant->phase == AT_LOOKUP) {
		EXPECT_EQ(0, s.opens) TH_LOG("an OPEN came though the lookup failed");
	}
	if (variant->reads) {
		EXPECT_LT(0, s.reads);
		EXPECT_EQ(s.reads, s.writes);
		EXPECT_EQ(0, s.bad_writes) TH_LOG("%d anon-fd writes got %s, not %s",
						  s.bad_writes, strerror(-s.bad_write),
						  strerror(-variant->write));
	} else {
		EXPECT_EQ(0, s.reads) TH_LOG("READs reached the daemon under injection");
	}
	if (variant->dead) {
		EXPECT_LT(0, od_klog_count(variant->dead))
			TH_LOG("no \"%s\" in the kernel log", variant->dead);
	} else {
		EXPECT_EQ(errors, od_klog_count("I/O Error"))
			TH_LOG("cachefiles logged an I/O error");
	}

	/*
	 * Recovery.  A dead cache takes a new daemon: the old device fd and
	 * every anon fd closed, a fresh bind on the same cache directory.
	 */
	od_set_script(d, NULL, NULL);
	if (variant->dead) {
		EXPECT_EQ(-ENOBUFS, od_mount("inline", NULL, self->mnt2))
			TH_LOG("a mount on the dead cache worked");
		if (self->mounted2)
			EXPECT_EQ(0, umount2(self->mnt2, 0));
		self->mounted2 = false;
		ods_down(_metadata, &self->e);
		ASSERT_EQ(0, od_wait_dev_free(OD_WAIT_MS)) TH_LOG("the dead cache stays bound");
		/* what the dead cache left behind for the next daemon */
		bare_files = 0;
		ASSERT_EQ(0, nftw(self->e.cache, count_bare, 16, FTW_PHYS));
		EXPECT_EQ(0, bare_files)
			TH_LOG("%s was put in place without its " COHERENCY_XATTR
			       " xattr (%d such files)", bare_file, bare_files);
		ASSERT_EQ(0, od_bind(d, self->e.cache, NULL));
		ASSERT_EQ(0, od_start(d));
	}
	if (!self->e.mounted) {
		int opens = od_count(d, CACHEFILES_OP_OPEN);

		ret = ods_env_mount(&self->e, "plain");
		ASSERT_EQ(0, ret) TH_LOG("no mount after injection: %s (%d OPEN sent for it)",
					 strerror(-ret), od_count(d, CACHEFILES_OP_OPEN) - opens);
	}
	ods_expect_image(_metadata, self->e.mnt, "plain");
	if (variant->phase == AT_LOOKUP && !variant->dead) {
		ASSERT_EQ(0, od_mount("inline", self->domain, self->mnt2));
		self->mounted2 = true;
		ods_expect_image(_metadata, self->mnt2, "inline");
	}
	EXPECT_STREQ("", d->error);
}

ODS_MAIN
