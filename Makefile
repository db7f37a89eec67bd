# Front door for people who type make.  run_tests.sh does the work; see
# README.md for its options.
BATS_LIB ?= /usr/lib/bats

# The kernels the project is proven on (vm/defaults.sh's ODS_KSRCS, there
# as --ksrc debian:X names them); a target with a -6.1 or -6.12 suffix
# runs on that one (check-debug-6.12).
KERNELS := $(shell . vm/defaults.sh && echo "$$ODS_KSRCS" | sed 's/debian://g')
DEFAULT_KERNEL := $(shell . vm/defaults.sh && echo "$$ODS_DEFAULT_KSRC" | sed 's/debian://')

# The debug flavour (KASAN, kmemleak, lockdep) is slow under TCG (~15 s a
# test with the kmemleak scans, up to two minutes a fail-nth sweep window on
# 6.12; hence --timeout 300), so
# check-debug-K runs one test from each area and the three shortest
# fail-nth sweeps; check-debug-full-K runs everything.  A fixed seed keeps
# CI's soak replayable; run with another to explore.
DEBUG_SEED ?= 631080
DEBUG_SUBSET := -t 'data.plain.read_all' -t 'anonclose.plain.*' -t 'anonearly.cold.*' \
	-t 'devclose.read_queued.*' -t 'restore.read_queued.*' -t 'lifecycle.inuse_and_cull' \
	-t 'inject.read_eio.*' -t 'inject.write_enospc.*' -t 'soak.*' \
	-t 'failnth.copen.*' -t 'failnth.cread.*' -t 'failnth.umount.*'

# each run leaves build/results-K-FLAVOUR and build/junit-K-FLAVOUR.xml
run = ./run_tests.sh --ksrc debian:$(1) --out build/results-$(1)-$(2) --junit build/junit-$(1)-$(2).xml

.PHONY: test check check-all check-deps check-host check-bare totals list shell mutants bisect-demo repros bench clean lint lint-sh lint-c new

test:
	./run_tests.sh

# CI's command (.ci/run), sized to finish inside CI's 90 minutes on a cold
# 2-core machine (README, "Figures"): the whole suite on the default
# flavour of every kernel, the host-side tests (bats; the harness
# compatibility check then sees both kernels' kselftest_harness.h), the
# bare-machine check, the git bisect run demo, the debug subset, and on
# each kernel a run that survives a kernel panic (check-recovery-K).  The
# lint comes first: it takes seconds, the kernel runs take the rest.
check: check-deps lint $(addprefix check-default-,$(KERNELS)) $(addprefix check-recovery-,$(KERNELS)) \
		check-host check-bare bisect-demo check-debug-$(lastword $(KERNELS))
	@$(MAKE) -s totals

# Every flavour on every kernel, the debug flavour in full (README gives
# its time), plus what make check runs besides.
check-all: check-deps lint $(foreach k,$(KERNELS),check-default-$(k) check-modules-$(k) \
		check-debug-full-$(k) coverage-$(k)) check-host check-bare bisect-demo
	@$(MAKE) -s totals

check-deps:
	vm/deps.sh check

check-default-%:
	$(call run,$*,default)

# a panic mid-run: the test fails, the tests after it run on a fresh VM
check-recovery-%:
	harness/tests/recovery.sh $*

check-modules-%:
	$(call run,$*,modules) --flavour modules

check-debug-%:
	$(call run,$*,debug) --flavour debug --timeout 300 --seed $(DEBUG_SEED) $(DEBUG_SUBSET)

check-debug-full-%:
	$(call run,$*,debug-full) --flavour debug --timeout 300 --seed $(DEBUG_SEED)

# The gcov kernel runs every test (fault injection included, so the soak
# too, with the same fixed seed); the report and a per-file summary land
# in build/results-K-coverage/coverage.
coverage-%:
	$(call run,$*,coverage) --coverage --seed $(DEBUG_SEED)

coverage: coverage-$(DEFAULT_KERNEL)

check-host: lint
	vm/deps.sh check
	BATS_LIB=$(BATS_LIB) bats --timing --print-output-on-failure harness/tests

# shellcheck -x on every shell script, found by its shebang (vm/lint-sh.sh);
# the kernel tree's checkpatch.pl --no-tree on the C (vm/lint-c.sh: the
# default source's, or KSRC=<tree>'s)
lint: lint-sh lint-c

lint-sh:
	vm/lint-sh.sh

lint-c:
	vm/lint-c.sh

# A minimal Debian root with nothing but the repository: README's first
# command must install all it needs (harness/tests/bare-machine.sh).
check-bare:
	harness/tests/bare-machine.sh

# every JUnit file must be XML a CI reader takes (a kernel log once held
# bytes that were not UTF-8), then the runs' totals
totals:
	@for j in build/junit-*.xml; do xmllint --noout "$$j" || { echo "$$j: not well-formed XML" >&2; exit 1; }; done
	cat build/results-*/summary.md.totals | awk '{ p += $$1; f += $$3; s += $$5 } \
		END { printf "total: %d passed, %d failed, %d skipped\n", p, f, s }'

# Self-checks of the suite: every one-line kernel bug in bench/mutants.list
# must be caught; git bisect run must find a planted bug.
mutants:
	bench/mutants.sh
	bench/mutants.sh --semantics

bisect-demo:
	bench/bisect-demo.sh

# Every known kernel failure's reproducer (./run_tests.sh --repro), run
# alone: it fails on the kernels with the bug, passes on one without it.
repros:
	bench/repros.sh

# Speed figures for README, cold build included (bench/run --no-cold: without).
bench:
	bench/run

list:
	./run_tests.sh --list

shell:
	./run_tests.sh --shell

# A new test area: selftests/$(NAME).c from selftests/TEMPLATE.c, its
# fixture named $(NAME); the Makefile and run_tests.sh find it themselves.
new:
	@case "$(NAME)" in \
	""|*[!a-z0-9_]*) echo "make new NAME=area: NAME must be [a-z0-9_]+" >&2; exit 2 ;; \
	esac; \
	if [ -e "selftests/$(NAME).c" ]; then \
		echo "selftests/$(NAME).c exists" >&2; exit 2; \
	fi; \
	sed 's/\btemplate\b/$(NAME)/g' selftests/TEMPLATE.c > "selftests/$(NAME).c" && \
	echo "selftests/$(NAME).c: edit its TITLE, fixture and tests; ./run_tests.sh -t '$(NAME).*' runs them"

clean:
	rm -rf build
