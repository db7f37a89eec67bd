// SPDX-License-Identifier: GPL-2.0
/*
 * Opening and binding a cache: who may open /dev/cachefiles and
 * how often, and which command sequences bind one.  A variant is a script
 * of steps, each with the result fs/cachefiles/daemon.c gives it.  After
 * every script, all fds closed, the device must be free again.
 *
 * The "dir" and "bind" arguments, read in 6.1.192 (6.12.118's daemon.c is
 * the same; cache.c:40 there too):
 *
 *   cachefiles_daemon_dir()   empty: EINVAL (daemon.c:556-558); a second
 *                             one: EEXIST (daemon.c:563); the path is kept
 *                             as given, unchecked
 *   cachefiles_daemon_bind()  no dir: EINVAL (daemon.c:771-773); bound:
 *                             EBUSY (daemon.c:779); an argument but exactly
 *                             "ondemand": EINVAL (daemon.c:785-787);
 *                             "ondemand" sets the mode before the cache is
 *                             added, and nothing clears it if that fails
 *                             (daemon.c:784); the default tag "CacheFiles"
 *                             is set then too (daemon.c:800)
 *   cachefiles_add_cache()    the path looked up with LOOKUP_DIRECTORY
 *                             (cache.c:40: ENOENT, ENOTDIR, ENAMETOOLONG
 *                             for a 256-byte component); a failure leaves
 *                             the dir and tag set, the cache unbound
 *   cachefiles_daemon_tag()   a second tag (the default one included):
 *                             EEXIST (daemon.c:618)
 *
 * A script that binds ends with SERVE: the daemon library takes that fd
 * over, and a mount on it must read the image right.
 */
#include <linux/capability.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "ods.h"

enum op { END, OPEN, CLOSE, CMD, OPEN_CAPS, OPEN_FREED, MKDIR, SERVE };

struct step {
	enum op op;
	int fd;			/* which of the script's two device fds */
	const char *arg;	/* CMD, MKDIR: {names} filled in by expand() */
	int err;		/* 0 or -errno */
	uint32_t caps;		/* OPEN_CAPS: the effective set, in a child */
};

#define SYS_ADMIN	(1u << CAP_SYS_ADMIN)
#define ALL_BUT(c)	(~0u & ~(c))

/*
 * The last close releases the cache in the closing task, so the device
 * should open at once.  Twice, right after the fuzz test, it stayed busy
 * for over a second (cause not found): OPEN_FREED waits, and logs the
 * wait; an fd that leaks still fails it.
 */
#define FREED_MS	OD_WAIT_MS

#define NAME16	"dddddddddddddddd"
#define NAME255	NAME16 NAME16 NAME16 NAME16 NAME16 NAME16 NAME16 NAME16 \
		NAME16 NAME16 NAME16 NAME16 NAME16 NAME16 NAME16 "ddddddddddddddd"

FIXTURE(setup) {
	int fd[2];
	long waited_ms;
	char cache[PATH_MAX];
	char tmpfs[PATH_MAX];
	char mnt[PATH_MAX];
	struct od_daemon d;	/* SERVE's */
	bool mounted;
};

FIXTURE_VARIANT(setup) {
	struct step steps[12];
};

/* One open at a time, until the last close releases the cache */
FIXTURE_VARIANT_ADD(setup, second_open) {
	.steps = {
		{ OPEN, 0 }, { CMD, 0, "dir {cache}" }, { CMD, 0, "bind ondemand" },
		{ OPEN, 1, .err = -EBUSY },
		{ CLOSE, 0 }, { OPEN_FREED, 1 },
	},
};
/* It takes CAP_SYS_ADMIN, and nothing more (we are uid 0, the owner) */
FIXTURE_VARIANT_ADD(setup, no_cap_sys_admin) {
	.steps = { { OPEN_CAPS, .caps = ALL_BUT(SYS_ADMIN), .err = -EPERM } },
};
FIXTURE_VARIANT_ADD(setup, only_cap_sys_admin) {
	.steps = { { OPEN_CAPS, .caps = SYS_ADMIN } },
};
/* Bind needs "dir" first; a refused bind leaves the cache bindable */
FIXTURE_VARIANT_ADD(setup, bind_without_dir) {
	.steps = {
		{ OPEN, 0 }, { CMD, 0, "bind ondemand", -EINVAL },
		{ CMD, 0, "dir {cache}" }, { CMD, 0, "bind ondemand" }, { SERVE, 0 },
	},
};
FIXTURE_VARIANT_ADD(setup, bind_twice) {
	.steps = {
		{ OPEN, 0 }, { CMD, 0, "dir {cache}" }, { CMD, 0, "bind ondemand" },
		{ CMD, 0, "bind ondemand", -EBUSY }, { CMD, 0, "bind", -EBUSY },
		{ SERVE, 0 },
	},
};
FIXTURE_VARIANT_ADD(setup, bind_bad_arg) {
	.steps = {
		{ OPEN, 0 }, { CMD, 0, "dir {cache}" }, { CMD, 0, "bind foo", -EINVAL },
		{ CMD, 0, "bind ondemand" }, { SERVE, 0 },
	},
};
/* the argument is compared whole: only a newline is stripped */
FIXTURE_VARIANT_ADD(setup, bind_ondemand_trailing_space) {
	.steps = {
		{ OPEN, 0 }, { CMD, 0, "dir {cache}" }, { CMD, 0, "bind ondemand ", -EINVAL },
		{ CMD, 0, "bind ondemand x", -EINVAL }, { CMD, 0, "bind ondemand\n" },
		{ SERVE, 0 },
	},
};
/* spaces before the argument are skipped (skip_spaces(), daemon.c:326) */
FIXTURE_VARIANT_ADD(setup, bind_spaces_before_ondemand) {
	.steps = {
		{ OPEN, 0 }, { CMD, 0, "dir {cache}" }, { CMD, 0, "bind   ondemand" },
		{ SERVE, 0 },
	},
};
/* after bind the tag is set (the default) and so is the dir */
FIXTURE_VARIANT_ADD(setup, tag_and_dir_after_bind) {
	.steps = {
		{ OPEN, 0 }, { CMD, 0, "dir {cache}" }, { CMD, 0, "bind ondemand" },
		{ CMD, 0, "tag ods", -EEXIST }, { CMD, 0, "dir {tmpfs}", -EEXIST },
		{ SERVE, 0 },
	},
};
/* "dir" with nothing after it, or only spaces */
FIXTURE_VARIANT_ADD(setup, dir_empty) {
	.steps = {
		{ OPEN, 0 }, { CMD, 0, "dir", -EINVAL }, { CMD, 0, "dir  ", -EINVAL },
		{ CMD, 0, "dir {cache}" }, { CMD, 0, "bind ondemand" }, { SERVE, 0 },
	},
};
/* the first dir stays: the second (missing) one would fail the bind */
FIXTURE_VARIANT_ADD(setup, dir_twice) {
	.steps = {
		{ OPEN, 0 }, { CMD, 0, "dir {cache}" }, { CMD, 0, "dir {missing}", -EEXIST },
		{ CMD, 0, "bind ondemand" }, { SERVE, 0 },
	},
};
/* only bind looks the dir up; made afterwards, the same dir binds */
FIXTURE_VARIANT_ADD(setup, dir_missing) {
	.steps = {
		{ OPEN, 0 }, { CMD, 0, "dir {missing}" }, { CMD, 0, "bind ondemand", -ENOENT },
		{ MKDIR, 0, "{missing}" }, { CMD, 0, "bind ondemand" }, { SERVE, 0 },
	},
};
/*
 * The mode set by the refused "bind ondemand" outlives it: a plain "bind"
 * then binds an on-demand cache (copen says EINVAL, not EOPNOTSUPP)
 */
FIXTURE_VARIANT_ADD(setup, dir_missing_then_plain_bind_ondemand) {
	.steps = {
		{ OPEN, 0 }, { CMD, 0, "dir {missing}" }, { CMD, 0, "bind ondemand", -ENOENT },
		{ MKDIR, 0, "{missing}" }, { CMD, 0, "bind" }, { CMD, 0, "copen 1,0", -EINVAL },
		{ SERVE, 0 },
	},
};
/* a file is no dir; the dir cannot be changed, only a new open binds */
FIXTURE_VARIANT_ADD(setup, dir_is_file) {
	.steps = {
		{ OPEN, 0 }, { CMD, 0, "dir {file}" }, { CMD, 0, "bind ondemand", -ENOTDIR },
		{ CMD, 0, "dir {cache}", -EEXIST }, { CLOSE, 0 }, { OPEN_FREED, 0 },
		{ CMD, 0, "dir {cache}" }, { CMD, 0, "bind ondemand" }, { SERVE, 0 },
	},
};
/* a path component at NAME_MAX, and one byte over it */
FIXTURE_VARIANT_ADD(setup, dir_name_255) {
	.steps = {
		{ OPEN, 0 }, { CMD, 0, "dir {name255}" }, { CMD, 0, "bind ondemand" },
		{ SERVE, 0 },
	},
};
FIXTURE_VARIANT_ADD(setup, dir_name_256_name_max_1) {
	.steps = {
		{ OPEN, 0 }, { CMD, 0, "dir {name256}" },
		{ CMD, 0, "bind ondemand", -ENAMETOOLONG }, { CLOSE, 0 }, { OPEN_FREED, 0 },
		{ CMD, 0, "dir {cache}" }, { CMD, 0, "bind ondemand" }, { SERVE, 0 },
	},
};
/* the longest dir a command carries: 4095 bytes with "dir " (daemon.c:295) */
FIXTURE_VARIANT_ADD(setup, dir_4091_longest) {
	.steps = {
		{ OPEN, 0 }, { CMD, 0, "dir {longest}" }, { CMD, 0, "bind ondemand" },
		{ SERVE, 0 },
	},
};
/* tmpfs has no ->sync_fs (nor xattrs here): cachefiles_add_cache() refuses */
FIXTURE_VARIANT_ADD(setup, bind_on_tmpfs) {
	.steps = {
		{ OPEN, 0 }, { CMD, 0, "dir {tmpfs}" },
		{ CMD, 0, "bind ondemand", -EOPNOTSUPP },
	},
};
/* copen and restore check CACHEFILES_ONDEMAND_MODE first */
FIXTURE_VARIANT_ADD(setup, copen_unbound) {
	.steps = {
		{ OPEN, 0 }, { CMD, 0, "copen 1,0", -EOPNOTSUPP },
		{ CMD, 0, "restore", -EOPNOTSUPP },
	},
};
FIXTURE_VARIANT_ADD(setup, copen_not_ondemand) {
	.steps = {
		{ OPEN, 0 }, { CMD, 0, "dir {cache}" }, { CMD, 0, "bind" },
		{ CMD, 0, "copen 1,0", -EOPNOTSUPP }, { CMD, 0, "restore", -EOPNOTSUPP },
	},
};

/*
 * The next argument's {name} in tmpl ({cache}, {tmpfs}; under the cache
 * directory: {missing}, none; {file}, a file; {name255} and {name256}, a
 * directory name of 255 and 256 bytes; {longest}: the cache directory
 * after as many '/' as make "dir {longest}" PAGE_SIZE - 1 bytes long),
 * written into out: its length, or -1 if it does not fit.
 */
static int expand(FIXTURE_DATA(setup) *self, const char *tmpl, char *out, size_t n)
{
	static const char *const under[] = { "{missing}", "{file}", "{name255}", "{name256}" };
	size_t pre = strcspn(tmpl, "{"), o;
	const char *tok = tmpl + pre;

	if (pre >= n)
		return -1;
	memcpy(out, tmpl, pre);
	o = pre;
	if (!*tok) {
		out[o] = '\0';
		return o;
	}
	if (!strcmp(tok, "{longest}")) {
		size_t pad = sysconf(_SC_PAGESIZE) - 1 - o - strlen(self->cache);

		if (o + pad + strlen(self->cache) >= n)
			return -1;
		memset(out + o, '/', pad);
		o += pad;
		tok = "{cache}";
	}
	o += snprintf(out + o, n - o, "%s", strcmp(tok, "{tmpfs}") ? self->cache : self->tmpfs);
	for (int i = 0; i < ARRAY_SIZE(under); i++) {
		if (strcmp(tok, under[i]))
			continue;
		if (i < 2)
			o += snprintf(out + o, n - o, "/%.*s", (int)strlen(tok) - 2, tok + 1);
		else
			o += snprintf(out + o, n - o, "/%s", i == 2 ? NAME255 : NAME255 "x");
	}
	return o < n ? (int)o : -1;
}

static int open_dev(void)
{
	int fd = open("/dev/cachefiles", O_RDWR | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

static int open_freed(FIXTURE_DATA(setup) *self)
{
	long start = od_now_ms();
	int fd;

	while ((fd = open_dev()) == -EBUSY && od_now_ms() - start < FREED_MS) {
		self->waited_ms = od_now_ms() - start + 1;
		usleep(1000);
	}
	return fd;
}

FIXTURE_SETUP(setup)
{
	char path[PATH_MAX];
	int fd;

	self->fd[0] = self->fd[1] = -1;
	od_test_dir(self->cache, sizeof(self->cache), OD_CACHE_ROOT, NULL);
	od_test_dir(self->tmpfs, sizeof(self->tmpfs), "/tmp", NULL);
	od_test_dir(self->mnt, sizeof(self->mnt), OD_MNT_ROOT, NULL);
	ASSERT_EQ(0, mkdir(self->cache, 0700));
	ASSERT_EQ(0, mkdir(self->tmpfs, 0700));
	/* what {file} and {name255} name (expand()) */
	ASSERT_LT(0, expand(self, "{file}", path, sizeof(path)));
	fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	ASSERT_LE(0, fd);
	close(fd);
	ASSERT_LT(0, expand(self, "{name255}", path, sizeof(path)));
	ASSERT_EQ(0, mkdir(path, 0700));
	/* a previous test's cache may still be on its way out */
	ASSERT_EQ(0, od_wait_dev_free(OD_WAIT_MS));
}

FIXTURE_TEARDOWN(setup)
{
	int fd;

	if (self->mounted && od_umount(self->mnt))
		umount2(self->mnt, MNT_DETACH);
	od_teardown(&self->d);
	rmdir(self->mnt);
	for (int i = 0; i < 2; i++)
		if (self->fd[i] >= 0)
			close(self->fd[i]);
	fd = open_freed(self);
	EXPECT_LE(0, fd) TH_LOG("the device is not free after the last close: %s",
				strerror(-fd));
	if (fd >= 0)
		close(fd);
	if (self->waited_ms)
		TH_LOG("the device was busy for %ld ms after the last close", self->waited_ms);
	rmdir(self->tmpfs);
}

/* In a child: open the device with the effective capabilities *caps. */
static void open_caps_child(void *caps, void *res)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct c[_LINUX_CAPABILITY_U32S_3];
	int *ret = res;

	if (syscall(SYS_capget, &h, c) == 0) {
		c[0].effective = *(uint32_t *)caps;
		c[1].effective = 0;
		*ret = syscall(SYS_capset, &h, c) ? -errno : open_dev();
	} else {
		*ret = -errno;
	}
	/* close it here, so the device is free when the parent goes on */
	if (*ret >= 0)
		*ret = close(*ret) ? -errno : 0;
}

/* Open the device in a child whose effective capabilities are caps. */
static int open_with_caps(uint32_t caps)
{
	int res = -ECHILD;
	int ret = od_child_run(open_caps_child, &caps, &res, sizeof(res), OD_WAIT_MS);

	return ret ?: res;
}

static int command(FIXTURE_DATA(setup) *self, const struct step *s)
{
	char buf[PATH_MAX * 2];
	int n = expand(self, s->arg, buf, sizeof(buf));

	if (n < 0)
		return -ENAMETOOLONG;
	n = write(self->fd[s->fd], buf, n);
	return n < 0 ? -errno : 0;
}

/*
 * The daemon library takes the bound fd over, and a mount on it reads
 * the image right: 0, or what failed (od_check_image()'s -errno, -EILSEQ
 * for wrong data; -EPROTO: the daemon noted a failure of its own).
 */
static int serve(FIXTURE_DATA(setup) *self, int i)
{
	char bad[256];
	int ret = od_adopt_dev(&self->d, self->fd[i]);

	if (ret)
		return ret;
	self->fd[i] = -1;
	ret = od_start(&self->d);
	if (!ret)
		ret = od_mount("plain", NULL, self->mnt);
	self->mounted = !ret;
	if (!ret)
		ret = od_check_image(self->mnt, "plain", 3 * OD_WAIT_MS, bad, sizeof(bad));
	if (!ret && self->d.error[0])
		ret = -EPROTO;
	return ret;
}

static int run_step(FIXTURE_DATA(setup) *self, const struct step *s)
{
	int ret = 0;

	switch (s->op) {
	case OPEN:
	case OPEN_FREED:
		ret = s->op == OPEN ? open_dev() : open_freed(self);
		if (ret >= 0) {
			self->fd[s->fd] = ret;
			ret = 0;
		}
		break;
	case CLOSE:
		ret = close(self->fd[s->fd]) ? -errno : 0;
		self->fd[s->fd] = -1;
		break;
	case CMD:
		ret = command(self, s);
		break;
	case OPEN_CAPS:
		ret = open_with_caps(s->caps);
		break;
	case MKDIR: {
		char path[PATH_MAX];

		ret = expand(self, s->arg, path, sizeof(path)) < 0 ? -ENAMETOOLONG :
		      mkdir(path, 0700) ? -errno : 0;
		break;
	}
	case SERVE:
		ret = serve(self, s->fd);
		break;
	case END:
		break;
	}
	return ret;
}

TEST_F(setup, script)
{
	static const char *const name[] = {
		"end", "open", "close", "write", "open (caps)", "open (after the last close)",
		"mkdir", "serve a mount on",
	};

	for (const struct step *s = variant->steps; s->op != END; s++) {
		int ret = run_step(self, s);

		EXPECT_EQ(s->err, ret)
			TH_LOG("step %d, %s fd %d %s: %s%s", (int)(s - variant->steps) + 1,
			       name[s->op], s->fd, s->arg ?: "", strerror(-ret), self->d.error);
	}
}

ODS_MAIN
