// SPDX-License-Identifier: GPL-2.0
/*
 * main() of a reproducer (harness/repro appends this file to the flattened
 * test, which defines ODS_REPRO_TEST, its one test, and ODS_MAIN as
 * nothing).  Run by hand it is the test binary (-l, -r NAME).  As PID 1 of
 * run.sh's initramfs it makes the machine the guest runner makes
 * (harness/init: /proc, /sys, devtmpfs, debugfs, the ext4 cache disk on
 * /cache), runs the test in a child under a bound, prints one verdict
 * line that run.sh reads, and powers off.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#if !defined(ODS_REPRO_TEST) || !defined(ODS_REPRO_TIMEOUT_S)
#error "vm/stages/repro.sh defines ODS_REPRO_TEST and ODS_REPRO_TIMEOUT_S"
#endif
/*
 * As the runner does: the test's own timeout (ODS_TIMEOUT) comes a grace
 * after this bound, so the task stacks are taken while it is still stuck.
 */
#define REPRO_BOUND_S	ODS_REPRO_TIMEOUT_S
#define REPRO_GRACE_S	30

static void repro_sysrq(const char *keys)
{
	FILE *f = fopen("/proc/sysrq-trigger", "w");

	for (; f && *keys; keys++) {
		fputc(*keys, f);
		fflush(f);
	}
	if (f)
		fclose(f);
}

static void repro_off(void)
{
	sync();
	/* RB_AUTOBOOT: with -no-reboot QEMU exits, where a power-off may not */
	reboot(RB_AUTOBOOT);
	for (;;)
		pause();
}

static int repro_init(void)
{
	static const char * const argv[] = { "/init", "-r", ODS_REPRO_TEST, NULL };
	struct timespec t0, t1;
	char tmo[16];
	int status, s;
	pid_t pid;

	mkdir("/proc", 0755), mkdir("/sys", 0755), mkdir("/dev", 0755);
	mkdir("/tmp", 01777), mkdir("/cache", 0755), mkdir("/mnt", 0755);
	mount("proc", "/proc", "proc", 0, NULL);
	mount("sys", "/sys", "sysfs", 0, NULL);
	mount("dev", "/dev", "devtmpfs", 0, NULL);
	mount("tmp", "/tmp", "tmpfs", 0, NULL);
	mount("debugfs", "/sys/kernel/debug", "debugfs", 0, NULL);
	/* noinit_itable: no background zeroing while the test runs */
	if (mount("/dev/vda", "/cache", "ext4", 0, "noinit_itable")) {
		perror("repro: cannot mount the cache disk /dev/vda on /cache");
		puts("repro: verdict ERROR");
		repro_off();
	}
	setenv("PATH", "/", 1);
	printf("repro: running %s\n", ODS_REPRO_TEST);
	fflush(stdout);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	snprintf(tmo, sizeof(tmo), "%d", REPRO_BOUND_S + REPRO_GRACE_S);
	setenv("ODS_TIMEOUT", tmo, 1);
	/* the waits on the kernel: an eighth of the timeout, at least 10 s */
	snprintf(tmo, sizeof(tmo), "%d", REPRO_BOUND_S > 80 ? REPRO_BOUND_S * 125 : 10000);
	setenv("ODS_WAIT_MS", tmo, 1);
	pid = fork();
	if (pid == 0) {
		setsid();
		execv(argv[0], (char **)argv);
		_exit(127);
	}
	for (s = 0; s < REPRO_BOUND_S * 10; s++) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			break;
		usleep(100000);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (s == REPRO_BOUND_S * 10) {
		/* the blocked tasks' stacks, then every task's: where it hangs */
		repro_sysrq("wt");
		printf("repro: verdict TIMEOUT after %d s\n", REPRO_BOUND_S);
	} else {
		int rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);

		printf("repro: verdict %s (exit %d, %ld s)\n",
		       rc == KSFT_PASS ? "PASS" : rc == KSFT_SKIP ? "SKIP" : "FAIL",
		       rc, (long)(t1.tv_sec - t0.tv_sec));
	}
	fflush(stdout);
	repro_off();
	return 0;
}

int main(int argc, char **argv)
{
	if (getpid() == 1)
		return repro_init();
	return ods_main(argc, argv);
}
