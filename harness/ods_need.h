/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What a test needs of the kernel: options of its .config (as the host
 * staged them in /etc/ods) and features probed by behaviour, each turned
 * into a SKIP with the reason.  Included by ods.h.
 */
#ifndef ODS_NEED_H
#define ODS_NEED_H

/*
 * Kernel options a test needs.  The host stages in /etc/ods (ODS_ETC
 * overrides it, for the host's own tests): kconfig, the kernel's .config;
 * unavailable, the options of vm/config/ this kernel does not know, one a
 * line (vm/check-config.sh); flavours, "CONFIG_X flavour" for what each
 * --flavour fragment sets.
 */
static inline const char *ods_etc(const char *file)
{
	static char p[PATH_MAX];
	const char *etc = getenv("ODS_ETC");

	snprintf(p, sizeof(p), "%s/%s", etc && *etc ? etc : "/etc/ods", file);
	return p;
}

/* Is there a line in an /etc/ods file that is opt, then a byte of ends or the line's end? */
static inline bool ods_etc_line(const char *file, const char *opt, const char *ends,
				char *line, size_t n)
{
	FILE *f = fopen(ods_etc(file), "re");
	size_t len = strlen(opt);
	bool found = false;

	if (!f)
		return false;
	while (!found && fgets(line, n, f)) {
		line[strcspn(line, "\n")] = '\0';
		found = !strncmp(line, opt, len) && strchr(ends, line[len]);
	}
	fclose(f);
	return found;
}

/*
 * NULL if the kernel has every option of the NULL-terminated list, else why
 * not, for the first one it lacks: "CONFIG_X not available in this kernel"
 * (no Kconfig of the tree defines it), or "CONFIG_X is not set in this
 * kernel" (with the flavour that sets it).  Without a staged kconfig (a
 * shell someone built by hand) only the first kind is known.
 */
static inline const char *ods_kconfig_why(const char *const *opts)
{
	static char why[256];
	char line[256], hint[128];
	const char *const *o;

	for (o = opts; *o; o++)
		if (ods_etc_line("unavailable", *o, "", line, sizeof(line))) {
			snprintf(why, sizeof(why), "%s not available in this kernel", *o);
			return why;
		}
	if (access(ods_etc("kconfig"), R_OK))
		return NULL;
	for (o = opts; *o; o++) {
		if (ods_etc_line("kconfig", *o, "=", line, sizeof(line)))
			continue;
		hint[0] = '\0';
		if (ods_etc_line("flavours", *o, " ", line, sizeof(line)))
			snprintf(hint, sizeof(hint), " (--flavour %s sets it)", line + strlen(*o) + 1);
		snprintf(why, sizeof(why), "%s is not set in this kernel%s", *o, hint);
		return why;
	}
	return NULL;
}
#define ods_kconfig_missing(...) ods_kconfig_why((const char *const[]){ __VA_ARGS__, NULL })

/*
 * A test's needs, in one line: SKIP (with the reason above) unless the
 * kernel has every option named, e.g.
 *	ods_need_kconfig(_metadata, "CONFIG_CACHEFILES_ERROR_INJECTION");
 * In a FIXTURE_SETUP it returns from the setup only: harnesses before 6.4
 * still run the body and the teardown, which return early on
 * ods_test_skipped(_metadata).
 */
#define ods_need_kconfig(_metadata, ...) do { \
	const char *__ods_why = ods_kconfig_missing(__VA_ARGS__); \
	if (__ods_why) \
		SKIP(return, "%s", __ods_why); \
} while (0)

/*
 * A test that mounts in a domain: SKIP on a kernel whose EROFS has no
 * domain_id (5.19, 6.0: "erofs: introduce 'domain_id' mount option" came
 * in 6.1).  Like ods_need_kconfig(), it returns from the function it is in.
 */
#define ods_need_domain_id(_metadata) do { \
	if (!od_kernel_has_domain_id()) \
		SKIP(return, "no domain_id: EROFS takes it from 6.1"); \
} while (0)

#endif
