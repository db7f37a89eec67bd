/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The test binaries' main() (ODS_MAIN): -l lists the tests, -r runs one,
 * on every kselftest_harness.h from 5.19 on.  Included by ods.h.
 */
#ifndef ODS_MAIN_H
#define ODS_MAIN_H

static inline void ods_name(struct __fixture_metadata *f,
			    struct __fixture_variant_metadata *v,
			    struct __test_metadata *t, char *buf, size_t n)
{
	snprintf(buf, n, "%s%s%s.%s", f->name, v->name[0] ? "." : "",
		 v->name, t->name);
}

/*
 * -l: the tests, one fixture.variant.test a line (the harness's own -l,
 * from 6.3, prints a table); -r NAME: run that one test, print its KTAP
 * and exit with KSFT_PASS, KSFT_FAIL or (before 6.3) KSFT_SKIP.  The guest
 * runner reads the KTAP line ("ok 1 ... # SKIP reason" on every harness).
 * ODS_TIMEOUT (seconds) replaces the tests' own timeouts: the runner's
 * watchdog takes the task stacks first.
 */
static inline int ods_main(int argc, char **argv)
{
	struct __fixture_variant_metadata no_variant = { .name = "" };
	struct __fixture_variant_metadata *v;
	struct __fixture_metadata *f;
	struct __test_metadata *t;
	const char *tmo = getenv("ODS_TIMEOUT");
	char name[512];
	bool list = argc == 2 && !strcmp(argv[1], "-l");
	bool run = argc == 3 && !strcmp(argv[1], "-r");

	if (!list && !run) {
		fprintf(stderr, "usage: %s -l | -r fixture.variant.test\n", argv[0]);
		return KSFT_FAIL;
	}
	for (f = __fixture_list; f; f = f->next) {
		for (v = f->variant ?: &no_variant; v; v = v->next) {
			for (t = f->tests; t; t = t->next) {
				ods_name(f, v, t, name, sizeof(name));
				if (list) {
					puts(name);
					continue;
				}
				if (strcmp(name, argv[2]))
					continue;
				if (tmo && atoi(tmo) > 0)
					t->timeout = atoi(tmo);
#if ODS_KSFT_RUNS_ONE
				return test_harness_run(argc, argv);
#else
				t->results = mmap(NULL, sizeof(*t->results), PROT_READ | PROT_WRITE,
						  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
				ksft_print_header();
				ksft_set_plan(1);
				__run_test(f, v, t);
				fflush(stdout);
				return ksft_get_fail_cnt() ? KSFT_FAIL :
				       ksft_get_xskip_cnt() ? KSFT_SKIP : KSFT_PASS;
#endif
			}
		}
	}
	if (run) {
		fprintf(stderr, "%s: no test named %s\n", argv[0], argv[2]);
		return KSFT_FAIL;
	}
	return KSFT_PASS;
}

/* a reproducer (harness/repro) brings its own main(), harness/repro_main.c */
#ifndef ODS_MAIN
#define ODS_MAIN int main(int argc, char **argv) { return ods_main(argc, argv); }
#endif

#endif
