/* SPDX-License-Identifier: MIT */
/*
 * Single-file backup archives (docs/OPERATIONS.md "Archives").
 *
 * An archive is a backup directory packed into one file, little-endian:
 *
 *   header   magic u64 "AEDBARC1" | version u32 | nfiles u32 |
 *            reserved u64 | pad u32 | crc u32 (CRC32C of the 28 bytes before)
 *   entry    path_len u32 | crc u32 (of the content) | size u64 |
 *            hcrc u32 (CRC32C of the 16 bytes before, then the path) |
 *            pad u32 | path | content
 *   trailer  magic u64 "AEDBAEND" | nfiles u32 | crc u32 (CRC32C of every
 *            byte before the trailer) | bytes u64 (the trailer's offset)
 *
 * The first entry is the backup's BACKUP list; the rest are its files.
 * Every length is bounded before it is used (a path by BK_PATH_MAX, a size
 * by the bytes left in the file), so a damaged archive cannot make the
 * reader allocate or seek past its end; paths follow the backup rules.
 * Restoring reads the whole archive once to verify it, then extracts it to
 * a temporary directory beside the target, re-checking every CRC, and
 * restores from there as from a backup directory (verified again).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "aedb.h"
#include "api/backup.h"
#include "core/assert.h"
#include "core/crc32c.h"

#define ARC_MAGIC 0x3143524142444541ull  /* "AEDBARC1" */
#define ARC_END 0x444e454142444541ull    /* "AEDBAEND" */
#define ARC_VERSION 1u
#define ARC_BUF (1u << 20)

struct arc_hdr {
	uint64_t magic;
	uint32_t version;
	uint32_t nfiles;
	uint64_t reserved;
	uint32_t pad;
	uint32_t crc;
};

struct arc_ent {
	uint32_t path_len;
	uint32_t crc;
	uint64_t size;
	uint32_t hcrc;
	uint32_t pad;
};

struct arc_end {
	uint64_t magic;
	uint32_t nfiles;
	uint32_t crc;
	uint64_t bytes;
};

AEDB_STATIC_ASSERT(sizeof(struct arc_hdr) == 32, "archive header");
AEDB_STATIC_ASSERT(sizeof(struct arc_ent) == 24, "archive entry");
AEDB_STATIC_ASSERT(sizeof(struct arc_end) == 24, "archive trailer");

/* A writer or reader: the file, its running CRC and offset. */
struct arc {
	int fd;
	uint32_t crc;
	uint64_t off;
	uint64_t size;    /* reader: the file's size */
	uint8_t *buf;
};

static int arc_write(struct arc *a, const void *p, size_t n)
{
	const uint8_t *c = p;

	a->crc = core_crc32c(a->crc, p, n);
	a->off += n;
	while (n) {
		ssize_t w = write(a->fd, c, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w < 0 ? -errno : -EIO;
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Read exactly @n bytes (never past the file's size: -AEDB_ECORRUPT). */
static int arc_read(struct arc *a, void *p, size_t n)
{
	uint8_t *c = p;

	if (n > a->size - a->off)
		return -AEDB_ECORRUPT;
	for (size_t done = 0; done < n;) {
		ssize_t r = pread(a->fd, c + done, n - done, (off_t)(a->off + done));

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? -errno : -AEDB_ECORRUPT;
		done += (size_t)r;
	}
	a->crc = core_crc32c(a->crc, p, n);
	a->off += n;
	return 0;
}

/* Append file @rel of @dir as one entry. */
static int arc_put(struct arc *a, const char *dir, const char *rel)
{
	struct arc_ent e = { .path_len = (uint32_t)strlen(rel) };
	char path[4096];
	struct stat st;
	int fd, rc = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		rc = -errno;
		goto out;
	}
	e.size = (uint64_t)st.st_size;
	for (uint64_t o = 0; rc == 0 && o < e.size;) {
		ssize_t r = pread(fd, a->buf, ARC_BUF, (off_t)o);

		if (r <= 0) {
			rc = r < 0 ? -errno : -EIO; /* the file shrank: not ours */
		} else {
			e.crc = core_crc32c(e.crc, a->buf, (size_t)r);
			o += (uint64_t)r;
		}
	}
	e.hcrc = core_crc32c(core_crc32c(0, &e, 16), rel, e.path_len);
	if (rc == 0)
		rc = arc_write(a, &e, sizeof(e));
	if (rc == 0)
		rc = arc_write(a, rel, e.path_len);
	for (uint64_t o = 0; rc == 0 && o < e.size;) {
		size_t want = e.size - o < ARC_BUF ? (size_t)(e.size - o) : ARC_BUF;

		rc = pread(fd, a->buf, want, (off_t)o) == (ssize_t)want ? 0 : -EIO;
		if (rc == 0)
			rc = arc_write(a, a->buf, want);
		o += want;
	}
out:
	if (fd >= 0)
		close(fd);
	return rc;
}

/* Pack backup directory @dir (already verified) into @a. */
static int arc_pack(struct arc *a, const char *dir)
{
	struct arc_hdr h = { .magic = ARC_MAGIC, .version = ARC_VERSION };
	struct arc_end t = { .magic = ARC_END };
	struct bk_hdr bh;
	struct bk_list l = { 0 };
	int rc = api_bk_read_list(dir, &bh, &l);

	h.nfiles = l.n + 1;
	h.crc = core_crc32c(0, &h, 28);
	if (rc == 0)
		rc = arc_write(a, &h, sizeof(h));
	if (rc == 0)
		rc = arc_put(a, dir, BK_NAME);
	for (uint32_t i = 0; rc == 0 && i < l.n; i++)
		rc = arc_put(a, dir, l.files[i].path);
	t.nfiles = h.nfiles;
	t.crc = a->crc;
	t.bytes = a->off;
	if (rc == 0)
		rc = arc_write(a, &t, sizeof(t));
	free(l.files);
	return rc;
}

/* One entry's content: to @out (fd, or -1 to only check it). */
static int arc_take(struct arc *a, const struct arc_ent *e, int out)
{
	uint32_t crc = 0;
	int rc = 0;

	for (uint64_t o = 0; rc == 0 && o < e->size;) {
		size_t want = e->size - o < ARC_BUF ? (size_t)(e->size - o) : ARC_BUF;

		rc = arc_read(a, a->buf, want);
		if (rc == 0)
			crc = core_crc32c(crc, a->buf, want);
		if (rc == 0 && out >= 0 && write(out, a->buf, want) != (ssize_t)want)
			rc = errno ? -errno : -EIO;
		o += want;
	}
	if (rc == 0 && crc != e->crc)
		rc = -AEDB_ECORRUPT;
	if (rc == 0 && out >= 0 && fsync(out) < 0)
		rc = -errno;
	return rc;
}

/* Entry @k: check it, and with @dir write it there. */
static int arc_entry(struct arc *a, uint32_t k, const char *dir)
{
	char rel[BK_PATH_MAX], path[4096];
	struct arc_ent e;
	int out = -1, rc = arc_read(a, &e, sizeof(e));

	if (rc == 0 && (e.path_len == 0 || e.path_len >= BK_PATH_MAX || e.pad))
		rc = -AEDB_ECORRUPT;
	if (rc == 0)
		rc = arc_read(a, rel, e.path_len);
	if (rc < 0)
		return rc;
	rel[e.path_len] = '\0';
	if (e.hcrc != core_crc32c(core_crc32c(0, &e, 16), rel, e.path_len) ||
	    strlen(rel) != e.path_len || !api_bk_path_ok(rel) ||
	    (k == 0) != (strcmp(rel, BK_NAME) == 0) || e.size > a->size - a->off)
		return -AEDB_ECORRUPT;
	if (dir) {
		snprintf(path, sizeof(path), "%s/%s", dir, rel);
		rc = api_bk_mkdirs(dir, rel);
		out = rc == 0 ? open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600) : -1;
		if (rc == 0 && out < 0)
			rc = errno == EEXIST ? -AEDB_ECORRUPT : -errno; /* a path twice */
	}
	if (rc == 0)
		rc = arc_take(a, &e, out);
	if (out >= 0)
		close(out);
	return rc;
}

/* Read the whole archive; with @dir, extract it there. */
static int arc_walk(const char *file, const char *dir)
{
	struct arc a = { .fd = open(file, O_RDONLY | O_CLOEXEC) };
	struct arc_hdr h;
	struct arc_end t;
	struct stat st;
	uint32_t crc;
	int rc = 0;

	if (a.fd < 0)
		return errno == ENOENT ? -ENOENT : -errno;
	a.buf = malloc(ARC_BUF);
	if (!a.buf || fstat(a.fd, &st) < 0)
		rc = !a.buf ? -ENOMEM : -errno;
	a.size = rc == 0 ? (uint64_t)st.st_size : 0;
	if (rc == 0)
		rc = arc_read(&a, &h, sizeof(h));
	if (rc == 0 && (h.magic != ARC_MAGIC || h.crc != core_crc32c(0, &h, 28) ||
			h.nfiles == 0 || h.nfiles > BK_FILES_MAX + 1 || h.reserved || h.pad))
		rc = -AEDB_ECORRUPT;
	if (rc == 0 && h.version != ARC_VERSION)
		rc = -AEDB_EINCOMPAT;
	for (uint32_t k = 0; rc == 0 && k < h.nfiles; k++)
		rc = arc_entry(&a, k, dir);
	crc = a.crc;
	if (rc == 0)
		rc = arc_read(&a, &t, sizeof(t));
	if (rc == 0 && (t.magic != ARC_END || t.nfiles != h.nfiles || t.crc != crc ||
			t.bytes + sizeof(t) != a.off || a.off != a.size))
		rc = -AEDB_ECORRUPT;
	free(a.buf);
	close(a.fd);
	return rc;
}

static int arc_sync_parent(const char *file)
{
	char dir[4096];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", file);
	slash = strrchr(dir, '/');
	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	return api_bk_fsync_dir(dir);
}

/* Pack backup directory @dir into @file (written to a temp name, fsynced,
 * then linked into place: an existing @file is never replaced). */
static int arc_pack_file(const char *dir, const char *file)
{
	char tmp[4096];
	struct arc a = { .fd = -1 };
	int rc;

	snprintf(tmp, sizeof(tmp), "%s.tmp", file);
	a.buf = malloc(ARC_BUF);
	a.fd = open(tmp, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
	rc = !a.buf ? -ENOMEM : a.fd < 0 ? -errno : 0;
	if (rc == 0)
		rc = arc_pack(&a, dir);
	if (rc == 0 && fsync(a.fd) < 0)
		rc = -errno;
	if (a.fd >= 0)
		close(a.fd);
	if (rc == 0 && link(tmp, file) < 0)
		rc = errno == EEXIST ? -AEDB_EEXIST : -errno;
	if (a.fd >= 0)
		unlink(tmp);
	if (rc == 0)
		rc = arc_sync_parent(file);
	free(a.buf);
	return rc;
}

AEDB_API int aedb_backup_to_file(struct aedb *db, const char *file,
				 struct aedb_backup_result *res)
{
	char tmp[4096];
	struct stat st;
	int rc;

	if (!db || !file || !*file || strlen(file) > 4000)
		return -AEDB_EMISUSE;
	snprintf(tmp, sizeof(tmp), "%s.tmp.d", file);
	if (lstat(file, &st) == 0 || lstat(tmp, &st) == 0)
		return -AEDB_EEXIST; /* never replace, never remove another's */
	rc = aedb_backup(db, tmp, res);
	if (rc == 0)
		rc = arc_pack_file(tmp, file);
	api_bk_rmrf(tmp, 0);
	return rc;
}

AEDB_API int aedb_backup_verify_file(const char *file)
{
	if (!file || !*file)
		return -AEDB_EMISUSE;
	return arc_walk(file, NULL);
}

static int arc_restore(const char *file, const char *target_dir, uint64_t seq,
		       uint64_t time_ns, uint64_t *restored_seq)
{
	char tmp[4096];
	const char *dirs[1] = { tmp };
	size_t n;
	int rc;

	if (!file || !target_dir || !*file || !*target_dir || strlen(target_dir) > 4000)
		return -AEDB_EMISUSE;
	rc = arc_walk(file, NULL); /* verify before anything is written */
	if (rc < 0)
		return rc;
	/* Beside the target, never inside it: drop trailing slashes. */
	n = strlen(target_dir);
	while (n > 1 && target_dir[n - 1] == '/')
		n--;
	snprintf(tmp, sizeof(tmp), "%.*s.arc-XXXXXX", (int)n, target_dir);
	if (!mkdtemp(tmp))
		return -errno;
	rc = arc_walk(file, tmp);
	if (rc == 0)
		rc = time_ns ? aedb_restore_chain_at_time(dirs, 1, target_dir, time_ns,
							  restored_seq)
			     : aedb_restore_chain(dirs, 1, target_dir, seq, restored_seq);
	api_bk_rmrf(tmp, 0);
	return rc;
}

AEDB_API int aedb_restore_from_file(const char *file, const char *target_dir, uint64_t seq,
				    uint64_t *restored_seq)
{
	return arc_restore(file, target_dir, seq, 0, restored_seq);
}

AEDB_API int aedb_restore_from_file_at_time(const char *file, const char *target_dir,
					    uint64_t time_ns, uint64_t *restored_seq)
{
	if (time_ns == 0)
		return -AEDB_EMISUSE;
	return arc_restore(file, target_dir, 0, time_ns, restored_seq);
}
