/* SPDX-License-Identifier: MIT */
/*
 * bench_fs.c - data directories: remove a tree, copy a tree.
 *
 * With --copy-load the read workloads start from a copy of one loaded
 * instance per engine (closed cleanly first), so every workload gets a fresh
 * directory with the same contents without paying for the load again. Copies are plain: regular
 * files with copy_file_range() (read/write where that is refused), and
 * directories; an engine's data directory holds nothing else.
 */
#include "bench.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int bench_rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	if (remove(path) < 0)
		fprintf(stderr, "aedb-bench: remove %s: %s\n", path, strerror(errno));
	return 0;
}

void bench_rm_tree(const char *dir)
{
	if (nftw(dir, bench_rm_entry, 16, FTW_DEPTH | FTW_PHYS) < 0 && errno != ENOENT)
		fprintf(stderr, "aedb-bench: remove %s: %s\n", dir, strerror(errno));
}

static int bench_copy_fd(int in, int out)
{
	char buf[1 << 16];
	ssize_t n;

	for (;;) {
		n = copy_file_range(in, NULL, out, NULL, 1 << 30, 0);
		if (n == 0)
			return 0;
		if (n < 0)
			break;
	}
	if (errno != EXDEV && errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP)
		return -errno;
	while ((n = read(in, buf, sizeof(buf))) > 0) {
		for (ssize_t off = 0, w; off < n; off += w) {
			w = write(out, buf + off, (size_t)(n - off));
			if (w < 0)
				return -errno;
		}
	}
	return n < 0 ? -errno : 0;
}

static int bench_copy_file(const char *src, const char *dst, mode_t mode)
{
	int in = open(src, O_RDONLY | O_CLOEXEC), out, rc;

	if (in < 0)
		return -errno;
	out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode & 0777);
	if (out < 0) {
		rc = -errno;
		close(in);
		return rc;
	}
	rc = bench_copy_fd(in, out);
	close(in);
	if (close(out) < 0 && rc == 0)
		rc = -errno;
	return rc;
}

int bench_copy_tree(const char *src, const char *dst)
{
	char from[PATH_MAX], to[PATH_MAX];
	struct dirent *de;
	struct stat st;
	DIR *d;
	int rc = 0;

	if (mkdir(dst, 0755) < 0 && errno != EEXIST)
		return -errno;
	d = opendir(src);
	if (!d)
		return -errno;
	while (rc == 0 && (de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (snprintf(from, sizeof(from), "%s/%s", src, de->d_name) >= (int)sizeof(from) ||
		    snprintf(to, sizeof(to), "%s/%s", dst, de->d_name) >= (int)sizeof(to)) {
			rc = -ENAMETOOLONG;
			break;
		}
		if (lstat(from, &st) < 0)
			rc = -errno;
		else if (S_ISDIR(st.st_mode))
			rc = bench_copy_tree(from, to);
		else if (S_ISREG(st.st_mode))
			rc = bench_copy_file(from, to, st.st_mode);
	}
	closedir(d);
	return rc;
}
