// SPDX-License-Identifier: GPL-2.0
/*
 * What harness/ods.h promises on every kselftest_harness.h (compat.bats
 * builds this against each tree's): one test run by name, its KTAP line,
 * a teardown after a failed ASSERT (so no test leaves fault injection
 * armed), ods_test_failed() and ods_test_skipped(), the ODS_TIMEOUT
 * bound and the ODS_WAIT_MS scale of the library's waits.  Each step
 * leaves a file in $COMPAT_DIR for the bats test to see.
 */
#include "ods.h"

static void mark(const char *what)
{
	char p[PATH_MAX];
	int fd;

	snprintf(p, sizeof(p), "%s/%s", getenv("COMPAT_DIR"), what);
	fd = open(p, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	if (fd >= 0)
		close(fd);
}

enum what { PASS, ASSERT_FAILS, EXPECT_FAILS, SETUP_SKIPS, HANGS };

FIXTURE(compat) { int unused; };
FIXTURE_VARIANT(compat) { enum what what; };
FIXTURE_VARIANT_ADD(compat, pass) { PASS };
FIXTURE_VARIANT_ADD(compat, assert_fails) { ASSERT_FAILS };
FIXTURE_VARIANT_ADD(compat, expect_fails) { EXPECT_FAILS };
FIXTURE_VARIANT_ADD(compat, setup_skips) { SETUP_SKIPS };
FIXTURE_VARIANT_ADD(compat, hangs) { HANGS };

FIXTURE_SETUP(compat)
{
	if (variant->what == SETUP_SKIPS)
		SKIP(return, "skipped in the setup");
	mark("armed");	/* as a test arms fault injection */
}

FIXTURE_TEARDOWN(compat)
{
	if (ods_test_skipped(_metadata))
		return;
	mark("disarmed");
}

TEST_F(compat, t)
{
	if (ods_test_skipped(_metadata)) {
		mark("body-saw-skip");
		return;
	}
	mark("body");
	switch (variant->what) {
	case ASSERT_FAILS:
		ASSERT_EQ(0, 1);
		mark("after-assert");
		break;
	case EXPECT_FAILS:
		EXPECT_EQ(0, 1);
		if (ods_test_failed(_metadata))
			mark("failure-seen");
		break;
	case HANGS:
		sleep(60);
		break;
	default: {
		char waits[64];

		if (!ods_test_failed(_metadata))
			mark("no-failure-seen");
		snprintf(waits, sizeof(waits), "waits-%d-%d", OD_WAIT_MS, OD_PROMPT_MS);
		mark(waits);
	}
	}
}

ODS_MAIN
