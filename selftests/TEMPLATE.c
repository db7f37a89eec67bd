// SPDX-License-Identifier: GPL-2.0
/*
 * TITLE: one line saying what this file tests, then what the kernel must do
 * and why, citing the kernel functions that do it.
 *
 * A new test area is this file, copied by `make new NAME=area` to
 * selftests/area.c: selftests/Makefile builds each C file of selftests/
 * (TEMPLATE.c excepted) into a binary named after it, and run_tests.sh
 * lists the tests of every binary it built.  Nothing else needs an edit.
 *
 * Conventions, each shown below:
 * - the world is a struct ods_env (a bound cache, the daemon thread, an
 *   EROFS mount), brought up in FIXTURE_SETUP and down in FIXTURE_TEARDOWN
 *   with ods_up()/ods_down(); ods_down() fails a test whose daemon noted a
 *   failure of its own (ods_daemon_error_expected() takes one back);
 * - variants are a table (FIXTURE_VARIANT_ADD), one line each;
 * - the daemon's answers are a script (od_set_script()); the record of
 *   messages is asserted on afterwards (od_count(), od_find());
 * - every wait is bounded (OD_WAIT_MS, OD_PROMPT_MS); anything that may
 *   hang runs in a child (od_reader_*, od_mount_start(), od_child_run());
 * - a kernel feature is probed by behaviour, not by version, and a test
 *   without it SKIPs in the setup with the reason; harnesses before 6.4
 *   still run the body and the teardown after such a SKIP, so both return
 *   at once on ods_test_skipped();
 * - od_* (harness/ondemand.h) returns 0 or -errno; ods_* (harness/ods.h)
 *   asserts itself and takes _metadata;
 * - the file ends with ODS_MAIN.
 * Test names (fixture.variant.test) are an interface: known-failures,
 * bench/mutants.list and README refer to them; never rename one.
 */
#include "ods.h"

FIXTURE(template) {
	struct ods_env e;
	struct od_reader r;
	int reads;		/* READs the script saw */
};

/* Each variant: one line in the table below, named after what differs. */
FIXTURE_VARIANT(template) {
	const char *fixture;	/* a fixture image, fixtures/<name>.sha256 */
};

FIXTURE_VARIANT_ADD(template, plain) { .fixture = "plain" };
FIXTURE_VARIANT_ADD(template, inline) { .fixture = "inline" };

FIXTURE_SETUP(template)
{
	self->r.pid = -1;	/* no reader yet: od_reader_kill() does nothing */
	ASSERT_EQ(0, ods_up(&self->e));
	/* a feature probed by behaviour: SKIP with the reason when it is missing */
	if (!od_kernel_has_restore(&self->e.d))
		SKIP(return, "no \"restore\": the kernel predates the failover series");
	ASSERT_EQ(0, ods_env_mount(&self->e, variant->fixture));
}

FIXTURE_TEARDOWN(template)
{
	od_reader_kill(&self->r);
	/* umounts, stops the daemon and checks its error field */
	ods_down(_metadata, &self->e);
}

/*
 * The daemon script, run by the daemon thread for every message: count the
 * READs, and answer everything as a correct daemon (OD_REPLY).  OD_HOLD
 * would leave a request for the test to answer; OD_DONE, answered here.
 */
static enum od_action count_reads(struct od_daemon *d, struct od_record *m,
				  void *arg)
{
	int *reads = arg;

	if (m->opcode == CACHEFILES_OP_READ)
		(*reads)++;
	return OD_REPLY;
}

/*
 * Say what the test shows and which kernel code it exercises.  Every file
 * of the image reads back as its manifest says, each byte through a READ.
 */
TEST_F(template, reads_every_file)
{
	struct od_daemon *d = &self->e.d;

	/* harnesses before 6.4 run the body after a SKIP in the setup */
	if (ods_test_skipped(_metadata))
		return;
	od_set_script(d, count_reads, &self->reads);
	/* the image check runs in a child, bounded */
	ods_expect_image(_metadata, self->e.mnt, variant->fixture);
	/* a wait on the kernel takes a bound and says what did not happen */
	ASSERT_EQ(0, od_wait_answered(d, CACHEFILES_OP_READ, OD_WAIT_MS))
		TH_LOG("a READ is still unanswered");
	/* the record holds every message, the script saw those since it was set */
	EXPECT_LE(self->reads, od_count(d, CACHEFILES_OP_READ));
}

ODS_MAIN
