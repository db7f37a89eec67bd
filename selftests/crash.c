// SPDX-License-Identifier: GPL-2.0
/*
 * A kernel that dies mid-test must not take the run with it: this test
 * crashes the kernel on purpose (sysrq 'c', a panic while the cache is
 * bound and an EROFS image mounted) and so always fails.  The runner then
 * charges the VM's death to this test, with the kernel's report, and boots
 * a fresh VM for the tests after it (vm/stages/boot.sh, boot_one), so that
 * nothing runs on the broken kernel.
 *
 * Not in the default selection (selftests/opt-in): make check runs it
 * before a few ordinary tests in one VM and checks that they pass
 * (harness/tests/recovery.sh).
 */
#include "ods.h"

FIXTURE(crash) {
	struct ods_env e;
};

FIXTURE_SETUP(crash)
{
	ASSERT_EQ(0, ods_up(&self->e));
	ASSERT_EQ(0, ods_env_mount(&self->e, "plain"));
}

FIXTURE_TEARDOWN(crash)
{
	ods_down(_metadata, &self->e);
}

TEST_F(crash, panic_while_mounted)
{
	int fd = open("/proc/sysrq-trigger", O_WRONLY);

	ASSERT_LE(0, fd) TH_LOG("no /proc/sysrq-trigger: %s", strerror(errno));
	/* the kernel panics here; with panic=-1 the VM reboots, and QEMU ends */
	ASSERT_EQ(1, write(fd, "c", 1));
	sleep(OD_WAIT_MS / 1000);
	ASSERT_TRUE(false) TH_LOG("the kernel lived on after sysrq 'c'");
}

ODS_MAIN
