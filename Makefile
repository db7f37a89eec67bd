# Front door for people who type make.  run_tests.sh does the work; see
# README.md for its options.
BATS_LIB ?= /usr/lib/bats

.PHONY: test check check-host check-debug list shell mutants bisect-demo clean

test:
	./run_tests.sh

# The project's own tests: the harness's host-side pieces (bats), then the
# whole suite in the VM, with JUnit for CI.
check: check-host
	./run_tests.sh --junit build/junit.xml

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

list:
	./run_tests.sh --list

shell:
	./run_tests.sh --shell

clean:
	rm -rf build
