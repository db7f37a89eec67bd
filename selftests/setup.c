// SPDX-License-Identifier: GPL-2.0
/*
 * Opening and binding a cache: who may open /dev/cachefiles and
 * how often, and which command sequences bind one.  A variant is a script
 * of steps, each with the result fs/cachefiles/daemon.c gives it.  After
 * every script, all fds closed, the device must be free again.
 */
#include <linux/capability.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "ods.h"

enum op { END, OPEN, CLOSE, CMD, OPEN_CAPS, OPEN_FREED };

struct step {
	enum op op;
	int fd;			/* which of the script's two device fds */
	const char *arg;	/* CMD: {cache} and {tmpfs} are filled in */
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

FIXTURE(setup) {
	int fd[2];
	long waited_ms;
	char cache[PATH_MAX];
	char tmpfs[PATH_MAX];
};

FIXTURE_VARIANT(setup) {
	struct step steps[8];
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
		{ CMD, 0, "dir {cache}" }, { CMD, 0, "bind ondemand" },
	},
};
FIXTURE_VARIANT_ADD(setup, bind_twice) {
	.steps = {
		{ OPEN, 0 }, { CMD, 0, "dir {cache}" }, { CMD, 0, "bind ondemand" },
		{ CMD, 0, "bind ondemand", -EBUSY }, { CMD, 0, "bind", -EBUSY },
	},
};
FIXTURE_VARIANT_ADD(setup, bind_bad_arg) {
	.steps = {
		{ OPEN, 0 }, { CMD, 0, "dir {cache}" }, { CMD, 0, "bind foo", -EINVAL },
		{ CMD, 0, "bind ondemand" },
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
	self->fd[0] = self->fd[1] = -1;
	od_test_dir(self->cache, sizeof(self->cache), OD_CACHE_ROOT, NULL);
	od_test_dir(self->tmpfs, sizeof(self->tmpfs), "/tmp", NULL);
	ASSERT_EQ(0, mkdir(self->cache, 0700));
	ASSERT_EQ(0, mkdir(self->tmpfs, 0700));
	/* a previous test's cache may still be on its way out */
	ASSERT_EQ(0, od_wait_dev_free(OD_WAIT_MS));
}

FIXTURE_TEARDOWN(setup)
{
	int fd;

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
	const char *dir = strstr(s->arg, "{cache}") ? self->cache :
			  strstr(s->arg, "{tmpfs}") ? self->tmpfs : NULL;
	ssize_t n;

	if (dir)
		n = snprintf(buf, sizeof(buf), "%.*s%s", (int)strcspn(s->arg, "{"),
			     s->arg, dir);
	else
		n = snprintf(buf, sizeof(buf), "%s", s->arg);
	n = write(self->fd[s->fd], buf, n);
	return n < 0 ? -errno : 0;
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
	case END:
		break;
	}
	return ret;
}

TEST_F(setup, script)
{
	static const char *const name[] = {
		"end", "open", "close", "write", "open (caps)", "open (after the last close)",
	};

	for (const struct step *s = variant->steps; s->op != END; s++) {
		int ret = run_step(self, s);

		EXPECT_EQ(s->err, ret)
			TH_LOG("step %d, %s fd %d %s: %s", (int)(s - variant->steps) + 1,
			       name[s->op], s->fd, s->arg ?: "", strerror(-ret));
	}
}

ODS_MAIN
