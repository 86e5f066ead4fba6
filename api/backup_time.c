/* SPDX-License-Identifier: MIT */
/*
 * Restore to a time: which seq a verified backup chain restores to for a
 * wall-clock time T (docs/OPERATIONS.md "Restore to a time").
 *
 * Every WAL frame carries the wall-clock time its shard sealed it, after
 * applying its round and before publishing it (wal/frame.h). The target is
 * the largest seq S such that every commit 1..S was stamped at or before T:
 * one less than the smallest first seq of a frame stamped after T, or the
 * chain's end. Taking the smallest over every shard (not the largest seq
 * stamped <= T) makes the result a global prefix that never holds a commit
 * stamped after T, even when shards' stamps interleave or a clock stepped
 * back; the seq restore then cuts every shard at S, so a cross-shard commit
 * (one seq on every participant) is kept or dropped everywhere.
 *
 * Commits at or below the full backup's checkpoint may have no frames left
 * in the chain (reclaimed before the backup). They were all applied before
 * the checkpoint finished, and the full backup's created_ns is read after
 * that (api/backup.c), so T >= created_ns proves them; an earlier T is
 * -AEDB_ESEQGC (the chain cannot go back that far).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "aedb.h"
#include "api/backup.h"
#include "core/assert.h"
#include "wal/frame.h"

/* Lower *@bound to the last seq before the first frame of segment @map
 * (@size bytes, shard @shard) stamped after @t. A bad frame ends the scan
 * if it is a torn tail; damage (a later frame's sync mark covers it) is
 * -AEDB_ECORRUPT, as recovery would judge it. */
static int bkt_scan(const uint8_t *map, size_t size, uint32_t shard, uint32_t nshards,
		    uint64_t t, uint64_t *bound)
{
	struct wal_seg_hdr sh;
	size_t off = WAL_SEG_HDR_BYTES;
	int rc;

	if (size < WAL_SEG_HDR_BYTES)
		return 0; /* created, header not written yet: holds nothing */
	memcpy(&sh, map, sizeof(sh));
	rc = wal_seg_hdr_check(&sh, shard, nshards);
	if (rc == -AEDB_EINCOMPAT)
		return rc;
	if (rc < 0)
		return wal_frame_synced_past(map, size, 0) ? -AEDB_ECORRUPT : 0;
	while (off < size) {
		struct wal_frame_hdr h;
		enum wal_frame_status st = wal_frame_check(map + off, size - off, &h);

		if (st != WAL_FRAME_OK)
			return wal_frame_synced_past(map, size, off) ? -AEDB_ECORRUPT : 0;
		if (h.time_ns > t && h.first_seq - 1 < *bound)
			*bound = h.first_seq - 1;
		off += WAL_FRAME_HDR_BYTES + h.len;
	}
	return 0;
}

static int bkt_file(const char *dir, const char *rel, uint32_t nshards, uint64_t t,
		    uint64_t *bound)
{
	char path[4200];
	unsigned shard;
	struct stat st;
	void *map;
	int fd, rc;

	if (sscanf(rel, "wal/%u/", &shard) != 1 || shard >= nshards)
		return 0; /* not a segment */
	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	if (st.st_size == 0) {
		close(fd);
		return 0;
	}
	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (map == MAP_FAILED)
		return -errno;
	rc = bkt_scan(map, (size_t)st.st_size, shard, nshards, t, bound);
	munmap(map, (size_t)st.st_size);
	return rc;
}

int api_bk_time_seq(const char *const *dirs, const struct bk_hdr *h, const struct bk_list *l,
		    uint32_t n, uint64_t t, uint64_t *seq)
{
	uint64_t bound = h[n - 1].to_seq;
	int rc = 0;

	AEDB_ASSERT(n > 0 && h[0].kind == BK_FULL);
	if (t < h[0].created_ns)
		return -AEDB_ESEQGC;
	for (uint32_t k = 0; rc == 0 && k < n; k++)
		for (uint32_t i = 0; rc == 0 && i < l[k].n; i++)
			rc = bkt_file(dirs[k], l[k].files[i].path, h[0].nshards, t, &bound);
	if (rc < 0)
		return rc;
	if (bound < h[0].seq)
		return -AEDB_ESEQGC;
	*seq = bound;
	return 0;
}
