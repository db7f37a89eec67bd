# Front door for people who type make.  run_tests.sh does the work; see
# README.md for its options.
BATS_LIB ?= /usr/lib/bats

.PHONY: test check check-host list shell clean

test:
	./run_tests.sh

# The project's own tests: the harness's host-side pieces (bats), then the
# whole suite in the VM, with JUnit for CI.
check: check-host
	./run_tests.sh --junit build/junit.xml

check-host:
	vm/deps.sh check
	BATS_LIB=$(BATS_LIB) bats --print-output-on-failure harness/tests

list:
	./run_tests.sh --list

shell:
	./run_tests.sh --shell

clean:
	rm -rf build
