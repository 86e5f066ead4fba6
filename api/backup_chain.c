/* SPDX-License-Identifier: MIT */
/*
 * Incremental backups, restore of a backup chain, and the cut that lands a
 * restore on exactly one seq (docs/OPERATIONS.md "Backups").
 *
 * An incremental backup holds the WAL segments that can hold commits after
 * its base's to_seq, copied under the checkpoint lock after an fsync, so
 * every commit base.to_seq + 1 .. D is in them. It needs that WAL to be
 * still on disk: a checkpoint at or past the base's end may have reclaimed
 * it, and the call then refuses (-AEDB_ESEQGC: take a full backup).
 *
 * Restore verifies every backup of the chain and every link, copies the
 * full backup, then each incremental's segments over it (a later copy of a
 * segment is the same log, longer), and cuts every shard's log back to the
 * target seq: frames above it are dropped, a frame that straddles it is
 * rewritten with only its records at or below it. Opening the target then
 * recovers exactly commits 1..target. A restore to a time picks that target
 * from the frames' timestamps first (api/backup_time.c).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "aedb.h"
#include "api/backup.h"
#include "api/checkpoint.h"
#include "api/db.h"
#include "core/assert.h"
#include "wal/frame.h"
#include "wal/record.h"

#define BKC_SEGS_MAX 1000000u

static int bkc_u64cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The first seqs of shard @shard's segments under @root, ascending (none if
 * the directory is missing). *@out is malloc'd (or NULL). */
static int bkc_segments(const char *root, uint32_t shard, uint64_t **out, uint32_t *n)
{
	char dir[4096];
	struct dirent *de;
	uint32_t cap = 0;
	DIR *d;

	*out = NULL;
	*n = 0;
	snprintf(dir, sizeof(dir), "%s/wal/%u", root, shard);
	d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		char *end;
		uint64_t first;

		if (strlen(de->d_name) != 24 || strcmp(de->d_name + 20, ".seg") != 0)
			continue;
		first = strtoull(de->d_name, &end, 10);
		if (end != de->d_name + 20 || *n == BKC_SEGS_MAX)
			continue;
		if (*n == cap) {
			uint64_t *g = realloc(*out, (cap = cap ? cap * 2 : 16) * sizeof(*g));

			if (!g) {
				closedir(d);
				return -ENOMEM;
			}
			*out = g;
		}
		(*out)[(*n)++] = first;
	}
	closedir(d);
	if (*n)
		qsort(*out, *n, sizeof(**out), bkc_u64cmp);
	return 0;
}

int api_bk_collect_wal(const char *root, uint32_t nshards, uint64_t from, uint64_t to,
		       struct bk_list *l)
{
	int rc = 0;

	for (uint32_t i = 0; rc == 0 && i < nshards; i++) {
		uint64_t *f;
		uint32_t n;
		char path[BK_PATH_MAX];

		rc = bkc_segments(root, i, &f, &n);
		for (uint32_t k = 0; rc == 0 && k < n; k++) {
			/* Segment k holds seqs f[k] .. f[k+1] - 1 of this shard. */
			if (f[k] > to || (k + 1 < n && f[k + 1] <= from))
				continue;
			snprintf(path, sizeof(path), "wal/%u/%020llu.seg", i,
				 (unsigned long long)f[k]);
			rc = api_bk_push(l, path);
		}
		free(f);
	}
	return rc;
}

/* Read and verify every file of the backup in @dir. */
static int bkc_load(const char *dir, struct bk_hdr *h, struct bk_list *l)
{
	int rc = api_bk_read_list(dir, h, l);

	if (rc == 0)
		rc = api_bk_copy_all(dir, NULL, l, 1);
	return rc == -ENOENT ? -AEDB_ECORRUPT : rc;
}

AEDB_API int aedb_backup_incremental(struct aedb *db, const char *base_dir, const char *dir,
				     struct aedb_backup_result *res)
{
	struct bk_hdr base, h;
	struct bk_list bl = { 0 }, l = { 0 };
	uint64_t ckpt = 0;
	int rc;

	if (!db || !base_dir || !dir || !*base_dir || !*dir)
		return -AEDB_EMISUSE;
	rc = bkc_load(base_dir, &base, &bl);
	free(bl.files);
	if (rc < 0)
		return rc;
	if (memcmp(base.db_id, db->db_id, 16) != 0 || base.nshards != db->nshards)
		return -AEDB_EINVAL; /* a backup of another database */
	api_bk_hdr_init(&h, BK_INCR);
	rc = api_bk_empty_dir(dir);
	if (rc == 0)
		rc = api_ckpt_lock_current(db, &ckpt);
	if (rc < 0)
		return rc;
	h.from_seq = base.to_seq + 1;
	rc = aedb_force_fsync(db);
	h.to_seq = wm_durable_any(&db->wm);
	/* The base saw commits this instance never had: another history
	 * (a restore of an older backup of the same database). */
	if (rc == 0 && h.to_seq < base.to_seq)
		rc = -AEDB_EINVAL;
	/* Reclaim deletes only segments wholly at or below the checkpoint,
	 * or below the backup pin when one is kept. */
	if (rc == 0 && ckpt >= h.from_seq && !api_ckpt_wal_kept(db, h.from_seq))
		rc = -AEDB_ESEQGC;
	if (rc == 0)
		rc = api_bk_collect_wal(db->path, db->nshards, h.from_seq, h.to_seq, &l);
	if (rc == 0)
		rc = api_bk_copy_all(db->path, dir, &l, 0);
	if (rc == 0)
		rc = api_ckpt_pin_backup(db, h.to_seq);
	api_ckpt_unlock_for_backup(db);
	h.seq = base.seq;
	memcpy(h.base_id, base.id, 16);
	return api_bk_finish(db, dir, &h, &l, rc, res);
}

/* Rewrite the frame at @off of @fd (header @fh, bytes in @buf) keeping its
 * records with seq <= @seq; the file then ends after it. */
static int bkc_cut_frame(int fd, const uint8_t *buf, uint64_t off, const struct wal_frame_hdr *fh,
			 uint64_t seq)
{
	uint8_t *raw = malloc(fh->raw_len ? fh->raw_len : 1), *out = NULL;
	size_t pos = 0, n;
	int rc = raw ? wal_frame_decode(fh, buf + off + WAL_FRAME_HDR_BYTES, raw) : -ENOMEM;

	while (rc == 0 && pos < fh->raw_len) {
		struct wal_rec rec;
		long len = wal_rec_decode(raw, fh->raw_len, pos, &rec);

		if (len < 0)
			rc = (int)len;
		else if (rec.seq > seq)
			break;
		else
			pos += (size_t)len;
	}
	if (rc == 0)
		out = malloc(wal_frame_bound((uint32_t)pos));
	if (rc == 0 && !out)
		rc = -ENOMEM;
	if (rc == 0) {
		/* No lz4 (0): a restore is not the place to save bytes. */
		n = wal_frame_encode(out, raw, (uint32_t)pos, fh->first_seq,
				     (uint32_t)(seq - fh->first_seq + 1), fh->sync_mark, 0,
				     fh->parts, fh->time_ns);
		if (pwrite(fd, out, n, (off_t)off) != (ssize_t)n || ftruncate(fd, (off_t)(off + n)))
			rc = errno ? -errno : -EIO;
	}
	free(out);
	free(raw);
	return rc;
}

/* Cut segment @path at @seq. 1 if it held a frame above @seq (the log ends
 * here), 0 if not, or an error. */
static int bkc_cut_segment(const char *path, uint64_t seq)
{
	struct wal_frame_hdr fh;
	struct stat st;
	uint8_t *buf = NULL;
	uint64_t off = WAL_SEG_HDR_BYTES;
	int fd = open(path, O_RDWR | O_CLOEXEC), rc = 0;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		rc = -errno;
	else if ((buf = malloc((size_t)st.st_size + 1)) == NULL)
		rc = -ENOMEM;
	else if (pread(fd, buf, (size_t)st.st_size, 0) != st.st_size)
		rc = -EIO;
	while (rc == 0 && off < (uint64_t)st.st_size) {
		/* Damage or the end of the log: recovery judges it. */
		if (wal_frame_check(buf + off, (size_t)st.st_size - off, &fh) != WAL_FRAME_OK)
			break;
		if (fh.first_seq > seq) {
			rc = ftruncate(fd, (off_t)off) < 0 ? -errno : 1;
		} else if (fh.first_seq + fh.count - 1 > seq) {
			rc = bkc_cut_frame(fd, buf, off, &fh, seq);
			rc = rc < 0 ? rc : 1;
		}
		off += WAL_FRAME_HDR_BYTES + fh.len;
	}
	if (rc >= 0 && fsync(fd) < 0)
		rc = -errno;
	close(fd);
	free(buf);
	return rc;
}

int api_bk_wal_cut(const char *dir, uint32_t nshards, uint64_t seq)
{
	int rc = 0;

	for (uint32_t i = 0; rc == 0 && i < nshards; i++) {
		uint64_t *f;
		uint32_t n;
		int ended = 0;

		rc = bkc_segments(dir, i, &f, &n);
		for (uint32_t k = 0; rc == 0 && k < n; k++) {
			char path[4096];

			snprintf(path, sizeof(path), "%s/wal/%u/%020llu.seg", dir, i,
				 (unsigned long long)f[k]);
			if (ended) {
				rc = unlink(path) < 0 ? -errno : 0;
				continue;
			}
			rc = bkc_cut_segment(path, seq);
			ended = rc == 1;
			rc = rc < 0 ? rc : 0;
		}
		free(f);
	}
	return rc;
}

/* Check that @h[0..n) form a chain: a full backup, then incrementals each
 * following the one before. 0 or -AEDB_EINVAL. */
static int bkc_links(const struct bk_hdr *h, uint32_t n)
{
	if (h[0].kind != BK_FULL)
		return -AEDB_EINVAL;
	for (uint32_t k = 1; k < n; k++) {
		if (h[k].kind != BK_INCR || memcmp(h[k].base_id, h[k - 1].id, 16) != 0 ||
		    h[k].from_seq != h[k - 1].to_seq + 1 ||
		    memcmp(h[k].db_id, h[0].db_id, 16) != 0 || h[k].nshards != h[0].nshards ||
		    h[k].seq != h[0].seq)
			return -AEDB_EINVAL;
	}
	return 0;
}

/* Copy the chain into @target: the full backup, then each incremental
 * that starts at or below @seq. */
static int bkc_copy_chain(const char *const *dirs, struct bk_hdr *h, struct bk_list *l,
			  uint32_t n, const char *target, uint64_t seq)
{
	int rc = 0;

	for (uint32_t k = 0; rc == 0 && k < n && h[k].from_seq <= seq; k++) {
		rc = api_bk_copy_all(dirs[k], target, &l[k], 1);
		if (rc == 0)
			rc = api_bk_sync_dirs(target, &l[k]);
	}
	return rc;
}

/* Restore to *@seq (0: the chain's end), or with @at_time to the seq of
 * that time (api/backup_time.c), stored in *@seq. */
static int bkc_restore(const char *const *dirs, struct bk_hdr *h, struct bk_list *l,
		       uint32_t n, const char *target, uint64_t *seq, const uint64_t *at_time)
{
	int rc = 0;

	for (uint32_t k = 0; rc == 0 && k < n; k++)
		rc = bkc_load(dirs[k], &h[k], &l[k]);
	if (rc == 0)
		rc = bkc_links(h, n);
	if (rc == 0 && at_time)
		rc = api_bk_time_seq(dirs, h, l, n, *at_time, seq);
	else if (rc == 0 && *seq == 0)
		*seq = h[n - 1].to_seq;
	if (rc < 0)
		return rc;
	if (*seq < h[0].seq)
		return -AEDB_ESEQGC;    /* below the full backup's checkpoint */
	if (*seq > h[n - 1].to_seq)
		return -AEDB_ESEQFUTURE; /* past the chain's end */
	rc = api_bk_empty_dir(target);
	if (rc < 0)
		return rc;
	rc = bkc_copy_chain(dirs, h, l, n, target, *seq);
	if (rc == 0)
		rc = api_bk_wal_cut(target, h[0].nshards, *seq);
	if (rc < 0)
		api_bk_rmrf(target, 1); /* it was empty: leave it so */
	return rc;
}

static int bkc_entry(const char *const *dirs, uint32_t ndirs, const char *target_dir,
		     uint64_t seq, const uint64_t *at_time, uint64_t *restored_seq)
{
	struct bk_hdr *h;
	struct bk_list *l;
	int rc;

	if (!dirs || ndirs == 0 || ndirs > 4096 || !target_dir || !*target_dir)
		return -AEDB_EMISUSE;
	for (uint32_t k = 0; k < ndirs; k++)
		if (!dirs[k] || !*dirs[k])
			return -AEDB_EMISUSE;
	h = calloc(ndirs, sizeof(*h));
	l = calloc(ndirs, sizeof(*l));
	rc = h && l ? bkc_restore(dirs, h, l, ndirs, target_dir, &seq, at_time) : -ENOMEM;
	for (uint32_t k = 0; l && k < ndirs; k++)
		free(l[k].files);
	free(l);
	free(h);
	if (rc == 0 && restored_seq)
		*restored_seq = seq;
	return rc;
}

AEDB_API int aedb_restore_chain(const char *const *dirs, uint32_t ndirs, const char *target_dir,
				uint64_t seq, uint64_t *restored_seq)
{
	return bkc_entry(dirs, ndirs, target_dir, seq, NULL, restored_seq);
}

AEDB_API int aedb_restore_chain_at_time(const char *const *dirs, uint32_t ndirs,
					const char *target_dir, uint64_t time_ns,
					uint64_t *restored_seq)
{
	if (time_ns == 0)
		return -AEDB_EMISUSE;
	return bkc_entry(dirs, ndirs, target_dir, 0, &time_ns, restored_seq);
}
