# Front door for people who type make.  run_tests.sh does the work; see
# README.md for its options.
BATS_LIB ?= /usr/lib/bats

.PHONY: test check check-host check-modules check-debug coverage list shell mutants bisect-demo bench clean

# The debug flavour (KASAN, kmemleak, lockdep) is slow under TCG (~15 s a
# test with the kmemleak scans, up to a minute a fail-nth sweep window), so
# make check runs one test from each area and the three shortest fail-nth
# sweeps; `./run_tests.sh --flavour debug --timeout 120` runs everything.
# A fixed seed keeps CI's soak replayable; run with another to explore.
DEBUG_SEED ?= 631080
DEBUG_SUBSET := -t 'data.plain.read_all' -t 'anonclose.plain.*' -t 'anonearly.cold.*' \
	-t 'devclose.read_queued.*' -t 'restore.read_queued.*' -t 'lifecycle.inuse_and_cull' \
	-t 'inject.read_eio.*' -t 'inject.write_enospc.*' -t 'soak.*' \
	-t 'failnth.copen.*' -t 'failnth.cread.*' -t 'failnth.umount.*'


test:
	./run_tests.sh

# The project's own tests: the harness's host-side pieces (bats), the whole
# suite on the default and modules flavours (JUnit for CI), the debug
# subset, and the git bisect run demo.
check: check-host
	./run_tests.sh --out build/results-default --junit build/junit.xml
	$(MAKE) check-modules check-debug coverage bisect-demo
	@cat build/results-*/summary.md.totals | awk '{ p += $$1; f += $$3; s += $$5 } \
		END { printf "total: %d passed, %d failed, %d skipped\n", p, f, s }'

check-modules:
	./run_tests.sh --flavour modules --out build/results-modules --junit build/junit-modules.xml

check-debug:
	./run_tests.sh --flavour debug --timeout 120 --seed $(DEBUG_SEED) --out build/results-debug \
		--junit build/junit-debug.xml $(DEBUG_SUBSET)

# The gcov kernel runs every test (fault injection included, so the soak
# too, with the same fixed seed); the report and a per-file summary land
# in build/results-coverage/coverage.
coverage:
	./run_tests.sh --coverage --seed $(DEBUG_SEED) --out build/results-coverage

check-host:
	vm/deps.sh check
	BATS_LIB=$(BATS_LIB) bats --print-output-on-failure harness/tests

# Self-checks of the suite: every one-line kernel bug in bench/mutants.list
# must be caught; git bisect run must find a planted bug.
mutants:
	bench/mutants.sh
	bench/mutants.sh --semantics

bisect-demo:
	bench/bisect-demo.sh

# Speed figures for README, cold build included (bench/run --no-cold: without).
bench:
	bench/run

list:
	./run_tests.sh --list

shell:
	./run_tests.sh --shell

clean:
	rm -rf build
