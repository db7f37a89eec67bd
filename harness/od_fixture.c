// SPDX-License-Identifier: GPL-2.0
/*
 * Fixtures: sha256 of files and buffers, the manifests fixtures/build.sh
 * writes, the bytes fixtures/gen-tree.sh puts in a tree, the seeded PRNG,
 * and the bounded check of a whole image against its manifest.
 */
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ondemand.h"
#include "sha256.h"

int od_sha256_file(const char *path, char out[65])
{
	static char buf[1 << 16];
	struct sha256_ctx c;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	sha256_init(&c);
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		sha256_update(&c, buf, n);
	close(fd);
	if (n < 0)
		return -errno;
	sha256_hex(&c, out);
	return 0;
}

void od_sha256(const void *buf, size_t len, char out[65])
{
	struct sha256_ctx c;

	sha256_init(&c);
	sha256_update(&c, buf, len);
	sha256_hex(&c, out);
}

int od_manifest_load(const char *fixture, struct od_manifest_entry **out)
{
	char path[PATH_MAX], line[PATH_MAX + 80];
	/* lines longer than PATH_MAX are cut; fixture paths are short */
	struct od_manifest_entry *e = NULL;
	int n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/fixtures/%s.sha256", fixture);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char *p = line + 64;

		line[strcspn(line, "\n")] = 0;
		if (strlen(line) < 67 || p[0] != ' ' || p[1] != ' ')
			continue;
		e = realloc(e, (n + 1) * sizeof(*e));
		memcpy(e[n].sha256, line, 64);
		e[n].sha256[64] = 0;
		p += 2;
		if (p[0] == '.' && p[1] == '/')
			p += 2;
		snprintf(e[n].path, sizeof(e[n].path), "%s", p);
		n++;
	}
	fclose(f);
	*out = e;
	return n;
}

/* The manifest's sha256 of one file of a fixture; "" if it is not listed. */
const char *od_manifest_sha(const char *fixture, const char *path)
{
	static char sha[65];
	struct od_manifest_entry *m;
	int n = od_manifest_load(fixture, &m);

	sha[0] = 0;
	for (int i = 0; i < n; i++)
		if (!strcmp(m[i].path, path))
			snprintf(sha, sizeof(sha), "%s", m[i].sha256);
	if (n > 0)
		free(m);
	return sha;
}

/* One 64-byte line of fixtures/gen-tree.sh: "%-63s\n" of "<path>@<offset>". */
static void od_tree_line(const char *path, off_t start, char line[80])
{
	char text[PATH_MAX + 32];

	snprintf(text, sizeof(text), "%s@%lld", path, (long long)start);
	snprintf(line, 80, "%-63.63s\n", text);
}

void od_tree_fill(const char *path, off_t off, size_t len, char *out)
{
	char line[80];

	for (size_t done = 0; done < len;) {
		off_t pos = off + done, start = pos - pos % 64;
		size_t n = 64 - (pos - start);

		if (n > len - done)
			n = len - done;
		od_tree_line(path, start, line);
		memcpy(out + done, line + (pos - start), n);
		done += n;
	}
}

void od_tree_sha256(const char *path, off_t off, size_t len, char out[65])
{
	struct sha256_ctx c;
	char buf[4096];

	sha256_init(&c);
	for (size_t done = 0; done < len;) {
		size_t n = len - done > sizeof(buf) ? sizeof(buf) : len - done;

		od_tree_fill(path, off + done, n, buf);
		sha256_update(&c, buf, n);
		done += n;
	}
	sha256_hex(&c, out);
}

uint64_t od_rand(uint64_t *state)
{
	/* splitmix64: tiny, and the same sequence on every libc */
	uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

uint64_t od_seed(void)
{
	const char *s = getenv("ODS_SEED");

	if (s && *s)
		return strtoull(s, NULL, 0);
	return (uint64_t)od_now_ms() ^ ((uint64_t)getpid() << 32);
}

/* What the image check's child sends back. */
struct od_image_result {
	int ret;
	char path[256];
};

struct od_image_check {
	const char *mnt;
	struct od_manifest_entry *files;
	int n;
};

/* In the child: each file in turn, until the first that fails. */
static void od_check_files(void *arg, void *out)
{
	struct od_image_check *ck = arg;
	struct od_image_result *res = out;

	for (int i = 0; i < ck->n && !res->ret; i++) {
		char path[PATH_MAX * 2], sha[65];

		snprintf(path, sizeof(path), "%s/%s", ck->mnt, ck->files[i].path);
		res->ret = od_sha256_file(path, sha);
		if (!res->ret && strcmp(sha, ck->files[i].sha256))
			res->ret = -EILSEQ;
		if (res->ret)
			snprintf(res->path, sizeof(res->path), "%s", path);
	}
}

int od_check_image(const char *mnt, const char *fixture, int timeout_ms,
		   char *bad, size_t len)
{
	struct od_image_result res = { 0, "" };
	struct od_image_check ck = { .mnt = mnt };
	int ret;

	ck.n = od_manifest_load(fixture, &ck.files);
	if (ck.n <= 0)
		return ck.n ?: -ENOENT;
	ret = od_child_run(od_check_files, &ck, &res, sizeof(res), timeout_ms);
	free(ck.files);
	if (ret)
		res.ret = ret;
	if (bad && len)
		snprintf(bad, len, "%s", res.path);
	return res.ret;
}

void od_test_dir(char *buf, size_t len, const char *root, const char *fmt, ...)
{
	int n = snprintf(buf, len, "%s/t%d", root, getpid());
	va_list ap;

	if (!fmt || n < 0 || (size_t)n >= len)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + n, len - n, fmt, ap);
	va_end(ap);
}
