/* SPDX-License-Identifier: MIT */
/*
 * Hot backup and restore (issue 6; docs/CHECKPOINTS.md "Backup").
 *
 * A backup is a directory with the data directory's layout: aedb.meta, a
 * fresh checkpoint (checkpoint/MANIFEST and checkpoint/<S>/<i>.ckpt) and a
 * copy of every WAL segment left after it (the WAL tail: commits after S up
 * to the moment of the copy), plus BACKUP, the list of every file with its
 * size and CRC32C, itself CRC-checked. It is taken while the instance runs:
 * the checkpoint lock is held so no checkpoint deletes a file being copied,
 * and a segment still being appended to ends in a torn tail at worst, which
 * recovery cuts (the global prefix rule then keeps a consistent state).
 *
 * Restore verifies the backup, refuses a target that exists and is not
 * empty, and copies the files; opening the target recovers from the
 * checkpoint and the WAL tail.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "aedb.h"
#include "api/backup.h"
#include "api/db.h"
#include "api/checkpoint.h"
#include "core/assert.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/crc32c.h"

#define BK_MAGIC 0x314b414242444541ull /* "AEDBBAK1" little-endian */
#define BK_VERSION 2u
#define BK_COPY_BYTES (1u << 20)

AEDB_STATIC_ASSERT(sizeof(struct bk_hdr) == 104, "BACKUP header size");
AEDB_STATIC_ASSERT(sizeof(struct bk_file) == 112, "BACKUP entry size");

void api_bk_hdr_init(struct bk_hdr *h, uint32_t kind)
{
	struct timespec ts;

	memset(h, 0, sizeof(*h));
	h->magic = BK_MAGIC;
	h->version = BK_VERSION;
	h->kind = kind;
	randombytes_buf(h->id, sizeof(h->id));
	clock_gettime(CLOCK_REALTIME, &ts);
	h->created_ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int api_bk_push(struct bk_list *l, const char *path)
{
	if (l->n == BK_FILES_MAX)
		return -E2BIG;
	if (l->n == l->cap) {
		uint32_t cap = l->cap ? l->cap * 2 : 64;
		struct bk_file *f = realloc(l->files, cap * sizeof(*f));

		if (!f)
			return -ENOMEM;
		l->files = f;
		l->cap = cap;
	}
	memset(&l->files[l->n], 0, sizeof(l->files[0]));
	if (snprintf(l->files[l->n].path, BK_PATH_MAX, "%s", path) >= (int)BK_PATH_MAX)
		return -ENAMETOOLONG;
	l->n++;
	return 0;
}

int api_bk_path_ok(const char *p)
{
	uint32_t depth = 0, len = 0;

	if (!*p || *p == '/' || strnlen(p, BK_PATH_MAX) == BK_PATH_MAX)
		return 0;
	for (const char *c = p;; c++) {
		if (*c == '/' || *c == '\0') {
			if (len == 0 || (len == 1 && c[-1] == '.') ||
			    (len == 2 && c[-1] == '.' && c[-2] == '.'))
				return 0;
			depth++;
			len = 0;
			if (*c == '\0')
				return depth <= 3;
			continue;
		}
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		      (*c >= '0' && *c <= '9') || *c == '.' || *c == '_' || *c == '-'))
			return 0;
		len++;
	}
}

static int bk_rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	return ftw->level == 0 ? 0 : (remove(path) < 0 ? -1 : 0);
}

static int bk_rm_all(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path) < 0 ? -1 : 0;
}

void api_bk_rmrf(const char *path, int keep_root)
{
	(void)nftw(path, keep_root ? bk_rm_one : bk_rm_all, 16, FTW_DEPTH | FTW_PHYS);
}

int api_bk_mkdirs(const char *root, const char *path)
{
	char buf[4096];
	int n = snprintf(buf, sizeof(buf), "%s/%s", root, path);

	if (n < 0 || (size_t)n >= sizeof(buf))
		return -ENAMETOOLONG;
	for (char *c = buf + strlen(root) + 1; *c; c++) {
		if (*c != '/')
			continue;
		*c = '\0';
		if (mkdir(buf, 0700) < 0 && errno != EEXIST)
			return -errno;
		*c = '/';
	}
	return 0;
}

/* Copy @src to @dst (created; an existing file is replaced), fsync it; CRC32C and size
 * of what was copied. With @dst NULL, only read and checksum. */
static int bk_copy(const char *src, const char *dst, uint64_t *size, uint32_t *crc)
{
	uint8_t *buf = malloc(BK_COPY_BYTES);
	int in = open(src, O_RDONLY | O_CLOEXEC), out = -1, rc = 0;

	*size = 0;
	*crc = 0;
	if (!buf || in < 0) {
		rc = !buf ? -ENOMEM : -errno;
		goto done;
	}
	if (dst) {
		out = open(dst, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0600);
		if (out < 0) {
			rc = -errno;
			goto done;
		}
	}
	for (;;) {
		ssize_t n = read(in, buf, BK_COPY_BYTES);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = n < 0 ? -errno : 0;
			break;
		}
		*crc = core_crc32c(*crc, buf, (size_t)n);
		*size += (uint64_t)n;
		if (out >= 0 && write(out, buf, (size_t)n) != n) {
			rc = errno ? -errno : -EIO;
			break;
		}
	}
	if (rc == 0 && out >= 0 && fsync(out) < 0)
		rc = -errno;
done:
	if (out >= 0)
		close(out);
	if (in >= 0)
		close(in);
	free(buf);
	return rc;
}

/* The files of a backup of @db at checkpoint @seq: meta, manifest,
 * checkpoint files, every WAL segment. */
static int bk_collect(struct aedb *db, uint64_t seq, struct bk_list *l)
{
	char path[BK_PATH_MAX];
	int rc = api_bk_push(l, "aedb.meta");

	if (rc == 0)
		rc = api_bk_push(l, "checkpoint/MANIFEST");
	for (uint32_t i = 0; rc == 0 && i < db->nshards; i++) {
		snprintf(path, sizeof(path), "checkpoint/%020llu/%u.ckpt",
			 (unsigned long long)seq, i);
		rc = api_bk_push(l, path);
	}
	if (rc == 0)
		rc = api_bk_collect_wal(db->path, db->nshards, 0, UINT64_MAX, l);
	return rc;
}

int api_bk_write_list(const char *dir, const struct bk_hdr *h, const struct bk_list *l)
{
	char tmp[4096], dst[4096];
	uint32_t crc;
	int fd, rc = 0;

	snprintf(tmp, sizeof(tmp), "%s/" BK_NAME ".tmp", dir);
	snprintf(dst, sizeof(dst), "%s/" BK_NAME, dir);
	crc = core_crc32c(core_crc32c(0, h, sizeof(*h)), l->files, l->n * sizeof(*l->files));
	fd = open(tmp, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (write(fd, h, sizeof(*h)) != (ssize_t)sizeof(*h) ||
	    write(fd, l->files, l->n * sizeof(*l->files)) != (ssize_t)(l->n * sizeof(*l->files)) ||
	    write(fd, &crc, 4) != 4 || fsync(fd) < 0)
		rc = errno ? -errno : -EIO;
	close(fd);
	if (rc == 0 && rename(tmp, dst) < 0)
		rc = -errno;
	return rc == 0 ? api_bk_fsync_dir(dir) : rc;
}

int api_bk_fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc = 0;

	if (fd < 0 || fsync(fd) < 0)
		rc = -errno;
	if (fd >= 0)
		close(fd);
	return rc;
}

int api_bk_empty_dir(const char *dir)
{
	struct dirent *de;
	DIR *d;
	int rc = 0;

	if (mkdir(dir, 0700) == 0)
		return 0;
	if (errno != EEXIST)
		return -errno;
	d = opendir(dir);
	if (!d)
		return -errno;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			rc = -AEDB_EEXIST;
	closedir(d);
	return rc;
}

int api_bk_sync_dirs(const char *root, const struct bk_list *l)
{
	for (uint32_t i = 0; i <= l->n; i++) {
		char dir[4096];
		char *slash;
		int fd;

		if (i == l->n)
			snprintf(dir, sizeof(dir), "%s", root);
		else
			snprintf(dir, sizeof(dir), "%s/%s", root, l->files[i].path);
		slash = i == l->n ? NULL : strrchr(dir, '/');
		if (slash)
			*slash = '\0';
		fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0 || fsync(fd) < 0) {
			int e = errno;

			if (fd >= 0)
				close(fd);
			return -e;
		}
		close(fd);
	}
	return 0;
}

int api_bk_copy_all(const char *from, const char *to, struct bk_list *l, int verify_only)
{
	int rc = 0;

	for (uint32_t i = 0; rc == 0 && i < l->n; i++) {
		char src[4096], dst[4096];
		uint64_t size = 0;
		uint32_t crc = 0;

		snprintf(src, sizeof(src), "%s/%s", from, l->files[i].path);
		snprintf(dst, sizeof(dst), "%s/%s", to ? to : "", l->files[i].path);
		if (to)
			rc = api_bk_mkdirs(to, l->files[i].path);
		if (rc == 0)
			rc = bk_copy(src, to ? dst : NULL, &size, &crc);
		if (rc == 0 && verify_only && (size != l->files[i].size || crc != l->files[i].crc))
			rc = -AEDB_ECORRUPT;
		if (rc == 0 && !verify_only) {
			l->files[i].size = size;
			l->files[i].crc = crc;
		}
	}
	return rc;
}

AEDB_API int aedb_backup(struct aedb *db, const char *dir, struct aedb_backup_result *res)
{
	struct aedb_checkpoint_result ck;
	struct bk_hdr h;
	struct bk_list l = { 0 };
	int rc;

	if (!db || !dir || !*dir)
		return -AEDB_EMISUSE;
	api_bk_hdr_init(&h, BK_FULL);
	rc = api_bk_empty_dir(dir);
	if (rc < 0)
		return rc;
	/* A fresh checkpoint; the lock keeps its files and the WAL after it
	 * in place while they are copied. */
	rc = api_ckpt_lock_for_backup(db, &ck);
	if (rc < 0)
		return rc;
	/* Read after the checkpoint: every commit <= ck.seq was stamped in
	 * the WAL before it (restore to a time relies on it). */
	h.created_ns = core_wall_ns();
	/* Every commit up to D is fsynced in files the lock keeps in place:
	 * the copies hold at least 1..D (maybe more, maybe a torn tail). */
	h.from_seq = 1;
	h.to_seq = wm_durable_any(&db->wm);
	rc = bk_collect(db, ck.seq, &l);
	if (rc == 0)
		rc = api_bk_copy_all(db->path, dir, &l, 0);
	if (rc == 0)
		rc = api_ckpt_pin_backup(db, h.to_seq);
	api_ckpt_unlock_for_backup(db);
	h.seq = ck.seq;
	return api_bk_finish(db, dir, &h, &l, rc, res);
}

int api_bk_finish(struct aedb *db, const char *dir, struct bk_hdr *h, struct bk_list *l, int rc,
		  struct aedb_backup_result *res)
{
	h->nfiles = l->n;
	h->nshards = db->nshards;
	memcpy(h->db_id, db->db_id, 16);
	if (rc == 0)
		rc = api_bk_sync_dirs(dir, l);
	if (rc == 0)
		rc = api_bk_write_list(dir, h, l);
	if (rc == 0 && res) {
		memset(res, 0, sizeof(*res));
		res->checkpoint_seq = h->seq;
		res->to_seq = h->to_seq;
		res->files = l->n;
		for (uint32_t i = 0; i < l->n; i++)
			res->bytes += l->files[i].size;
	}
	free(l->files);
	l->files = NULL;
	return rc;
}

int api_bk_read_list(const char *dir, struct bk_hdr *h, struct bk_list *l)
{
	char path[4096];
	struct stat st;
	uint32_t crc;
	size_t want;
	int fd, rc = 0;

	snprintf(path, sizeof(path), "%s/" BK_NAME, dir);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -AEDB_ECORRUPT : -errno;
	if (fstat(fd, &st) < 0 || read(fd, h, sizeof(*h)) != (ssize_t)sizeof(*h) ||
	    h->magic != BK_MAGIC || h->nfiles > BK_FILES_MAX) {
		close(fd);
		return -AEDB_ECORRUPT;
	}

	want = sizeof(*h) + h->nfiles * sizeof(*l->files) + 4;
	l->n = l->cap = h->nfiles;
	l->files = calloc(h->nfiles ? h->nfiles : 1, sizeof(*l->files));
	if (!l->files)
		rc = -ENOMEM;
	else if ((size_t)st.st_size != want ||
		 read(fd, l->files, h->nfiles * sizeof(*l->files)) !=
			 (ssize_t)(h->nfiles * sizeof(*l->files)) ||
		 read(fd, &crc, 4) != 4 ||
		 crc != core_crc32c(core_crc32c(0, h, sizeof(*h)), l->files,
				    h->nfiles * sizeof(*l->files)))
		rc = -AEDB_ECORRUPT;
	for (uint32_t i = 0; rc == 0 && i < l->n; i++)
		if (l->files[i].path[BK_PATH_MAX - 1] || !api_bk_path_ok(l->files[i].path))
			rc = -AEDB_ECORRUPT;
	/* A damaged header fails the CRC first; an intact one of another
	 * format is refused as such. */
	if (rc == 0 && h->version != BK_VERSION)
		rc = -AEDB_EINCOMPAT;
	/* CRC-valid yet inconsistent: written by something else. */
	if (rc == 0 && ((h->kind != BK_FULL && h->kind != BK_INCR) ||
			h->nshards == 0 || h->nshards > AEDB_SHARDS_MAX ||
			h->from_seq == 0 || h->to_seq + 1 < h->from_seq ||
			(h->kind == BK_FULL && (h->from_seq != 1 || h->to_seq < h->seq))))
		rc = -AEDB_ECORRUPT;
	close(fd);
	return rc;
}

AEDB_API int aedb_backup_verify(const char *dir)
{
	struct bk_hdr h;
	struct bk_list l = { 0 };
	int rc;

	if (!dir || !*dir)
		return -AEDB_EMISUSE;
	rc = api_bk_read_list(dir, &h, &l);
	if (rc == 0)
		rc = api_bk_copy_all(dir, NULL, &l, 1);
	free(l.files);
	return rc == -ENOENT ? -AEDB_ECORRUPT : rc;
}

AEDB_API int aedb_restore(const char *backup_dir, const char *target_dir)
{
	const char *dirs[1] = { backup_dir };

	if (!backup_dir || !target_dir || !*backup_dir || !*target_dir)
		return -AEDB_EMISUSE;
	return aedb_restore_chain(dirs, 1, target_dir, 0, NULL);
}
