// SPDX-License-Identifier: GPL-2.0
/*
 * Load and unload the modules under test in the guest, with libkmod:
 * dependencies come from the build's modules.dep, as modprobe would do,
 * and every failure is one line naming the module and the reason.
 *
 *   modload load MODULE...      (with their dependencies)
 *   modload unload MODULE...    (in the order given)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/klog.h>
#include <sys/utsname.h>
#include <libkmod.h>

/* The kernel says which symbol was missing only in its log. */
static void why_from_log(const char *name)
{
	static char buf[1 << 17];
	int n = klogctl(3 /* SYSLOG_ACTION_READ_ALL */, buf, sizeof(buf) - 1);
	char *line, *last = NULL;

	if (n <= 0)
		return;
	buf[n] = 0;
	for (line = strtok(buf, "\n"); line; line = strtok(NULL, "\n"))
		if (strstr(line, name) && (strstr(line, "Unknown symbol") || strstr(line, "disagrees")))
			last = line;
	if (last)
		fprintf(stderr, " (kernel: %s)", strchr(last, ']') ? strchr(last, ']') + 2 : last);
}

static int with_module(struct kmod_ctx *ctx, const char *name, int load)
{
	struct kmod_list *list = NULL, *l;
	struct utsname u;
	int ret;

	uname(&u);
	ret = kmod_module_new_from_lookup(ctx, name, &list);
	if (ret < 0 || !list) {
		fprintf(stderr, "modload: no module %s in /lib/modules/%s (is it built as a module?)\n",
			name, u.release);
		return 1;
	}
	kmod_list_foreach(l, list) {
		struct kmod_module *mod = kmod_module_get_module(l);

		if (load)
			ret = kmod_module_probe_insert_module(mod, 0, NULL, NULL, NULL, NULL);
		else
			ret = kmod_module_remove_module(mod, 0);
		kmod_module_unref(mod);
		if (ret < 0 && !(load && ret == -EEXIST) && !(!load && ret == -ENOENT)) {
			fprintf(stderr, "modload: cannot %s %s: %s", load ? "load" : "unload",
				name, strerror(-ret));
			if (load)
				why_from_log(name);
			fputc('\n', stderr);
			kmod_module_unref_list(list);
			return 1;
		}
	}
	kmod_module_unref_list(list);
	return 0;
}

int main(int argc, char **argv)
{
	struct kmod_ctx *ctx;
	int load, ret = 0;

	if (argc < 3 || (strcmp(argv[1], "load") && strcmp(argv[1], "unload"))) {
		fprintf(stderr, "usage: modload load|unload MODULE...\n");
		return 2;
	}
	load = !strcmp(argv[1], "load");
	ctx = kmod_new(NULL, NULL);
	if (!ctx || kmod_load_resources(ctx) < 0) {
		fprintf(stderr, "modload: libkmod cannot read modules.dep: run depmod for this kernel\n");
		return 1;
	}
	for (int i = 2; i < argc && !ret; i++)
		ret = with_module(ctx, argv[i], load);
	kmod_unref(ctx);
	return ret;
}
