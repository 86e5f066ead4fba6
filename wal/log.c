/* SPDX-License-Identifier: MIT */
#include "wal/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/assert.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/crc32c.h"
#include "io/fault.h"
#include "wal/frame.h"

#define WAL_LZ4_MIN 4096u

static int wal_buf_reserve(struct wal_buf *b, size_t need)
{
	return core_buf_reserve(&b->buf, &b->cap, b->len, need, 256 * 1024);
}

int wal_log_open(struct wal_log *log, const char *root, uint32_t shard, uint32_t nshards,
		 const uint8_t db_id[16], const struct aedb_config *cfg)
{
	char path[4096];

	memset(log, 0, sizeof(*log));
	log->fd = -1;
	log->shard = shard;
	log->nshards = nshards;
	log->mode = cfg->durability;
	log->seg_bytes = cfg->wal_segment_bytes;
	log->sync_every_ns = (uint64_t)cfg->batch_interval_ms * 1000000ull;
	log->sync_every_bytes = cfg->batch_max_bytes;
	log->lz4_min = WAL_LZ4_MIN;
	memcpy(log->db_id, db_id, 16);
	snprintf(path, sizeof(path), "%s/wal/%u", root, shard);
	if (mkdir(path, 0700) < 0 && errno != EEXIST)
		return -errno;
	log->dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return log->dirfd < 0 ? -errno : 0;
}

void wal_log_close(struct wal_log *log)
{
	if (log->fd >= 0)
		close(log->fd);
	if (log->dirfd >= 0)
		close(log->dirfd);
	free(log->fill.buf);
	for (uint32_t i = 0; i < WAL_PIPE; i++)
		free(log->chain[i].buf.buf);
	memset(log, 0, sizeof(*log));
	log->fd = log->dirfd = -1;
}

int wal_log_append(struct wal_log *log, const uint8_t *raw, uint32_t raw_len,
		   uint64_t first_seq, uint32_t count, uint16_t parts)
{
	struct wal_buf *b = &log->fill;
	uint64_t now = core_wall_ns();
	size_t n;

	AEDB_ASSERT(count > 0);
	AEDB_ASSERT(first_seq > log->last_seq || log->last_seq == 0);
	if (wal_buf_reserve(b, wal_frame_bound(raw_len)) < 0)
		return -ENOMEM;
	/* One clock read per round (vDSO, ~20 ns); a clock stepped back
	 * repeats the last stamp, so one shard's stamps never decrease. */
	if (now > log->last_time_ns)
		log->last_time_ns = now;
	/* sync_mark and the CRC are filled in when the write is issued. */
	n = wal_frame_encode(b->buf + b->len, raw, raw_len, first_seq, count, 0, log->lz4_min,
			     parts, log->last_time_ns);
	b->len += n;
	b->txn_frames += parts != 0;
	if (!b->lo_seq)
		b->lo_seq = first_seq;
	b->hi_seq = first_seq + count - 1;
	return 0;
}

static int wal_fail(struct wal_log *log, int err)
{
	AEDB_ASSERT(err < 0);
	if (getenv("AEDB_DEBUG_WAL"))
		fprintf(stderr, "wal %u: fail %d (%s) off %llu alloc %llu fill %zu lo %llu\n",
			log->shard, err, strerror(-err), (unsigned long long)log->off,
			(unsigned long long)log->seg_alloc, log->fill.len,
			(unsigned long long)log->fill.lo_seq);
	if (!log->error)
		log->error = err;
	return log->error;
}

/* Create the next segment, named after @first_seq, preallocated, with its
 * header on disk and the directory entry synced. The old one is synced
 * first (A5: no frame may count as durable while only in the page cache). */
static int wal_rotate(struct wal_log *log, uint64_t first_seq, size_t need)
{
	struct wal_seg_hdr h = { .shard = log->shard, .nshards = log->nshards,
				 .first_seq = first_seq, .prev_last_seq = log->last_seq };
	uint64_t alloc = log->seg_bytes > need + WAL_SEG_HDR_BYTES ? log->seg_bytes
								   : need + WAL_SEG_HDR_BYTES;
	char name[32];
	int fd, rc;

	if (log->fd >= 0) {
		if (log->synced < log->written && io_fault_fdatasync(log->fd) < 0)
			return wal_fail(log, -errno);
		log->unsynced_lo = log->unsynced_hi = 0;
		log->synced = log->written;
		close(log->fd);
		log->fd = -1;
	}
	snprintf(name, sizeof(name), "%020llu.seg", (unsigned long long)first_seq);
	fd = openat(log->dirfd, name, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
	if (fd < 0)
		return wal_fail(log, -errno);
	memcpy(h.db_id, log->db_id, 16);
	wal_seg_hdr_seal(&h);
	rc = io_fault_fallocate(fd, (off_t)alloc);
	if (rc == 0 && pwrite(fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h))
		rc = -EIO;
	if (rc == 0 && (io_fault_fdatasync(fd) < 0 || fsync(log->dirfd) < 0))
		rc = -errno;
	if (rc < 0) {
		close(fd);
		return wal_fail(log, rc);
	}
	log->fd = fd;
	log->seg_alloc = alloc;
	log->off = log->written = log->synced = WAL_SEG_HDR_BYTES;
	__atomic_store_n(&log->segments, log->segments + 1, __ATOMIC_RELAXED);
	return 0;
}

/* Stamp every frame in @b with the current sync mark and seal its CRC. */
static void wal_seal_frames(struct wal_log *log, struct wal_buf *b)
{
	size_t at = 0;

	while (at < b->len) {
		struct wal_frame_hdr h;

		memcpy(&h, b->buf + at, sizeof(h));
		AEDB_ASSERT(h.type == WAL_FRAME_BATCH || h.type == WAL_FRAME_TXN);
		h.sync_mark = log->synced;
		wal_frame_seal(&h, b->buf + at + WAL_FRAME_HDR_BYTES);
		memcpy(b->buf + at, &h, sizeof(h));
		at += WAL_FRAME_HDR_BYTES + h.len;
	}
	AEDB_ASSERT(at == b->len);
}

static struct io_uring_sqe *wal_sqe(struct io_uring *ring)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);

	if (!sqe) {
		io_uring_submit(ring);
		sqe = io_uring_get_sqe(ring);
	}
	AEDB_ASSERT(sqe != NULL);
	return sqe;
}

/*
 * Hand the fill buffer to a free chain and queue its write (linked with an
 * fdatasync in FULL mode). In FULL mode up to WAL_PIPE chains run at once,
 * so a commit that arrives during an fsync rides the next one at once
 * instead of waiting for it to end; chains retire in order (below), so the
 * durable offset only ever covers a gap-free prefix. Writes may land out of
 * order on a crash: recovery then finds zeros or a torn frame where an
 * earlier chain should be, and cuts the log there (no later chain's commit
 * was acknowledged durable, since D needs the earlier chain first).
 */
static int wal_start_write(struct wal_log *log, struct io_uring *ring)
{
	struct io_uring_sqe *sqe;
	struct wal_chain *c;
	struct wal_buf tmp;
	uint32_t slot;
	int rc;

	if (log->fd < 0 || log->off + log->fill.len > log->seg_alloc) {
		if (log->ccount)
			return 0; /* rotate once the old segment has no write in flight */
		rc = wal_rotate(log, log->fill.lo_seq, log->fill.len);
		if (rc < 0)
			return rc;
	}
	slot = (log->chead + log->ccount) % WAL_PIPE;
	c = &log->chain[slot];
	tmp = c->buf;
	c->buf = log->fill;
	log->fill = tmp;
	log->fill.len = 0;
	log->fill.lo_seq = log->fill.hi_seq = 0;
	log->fill.txn_frames = 0;
	wal_seal_frames(log, &c->buf);
	c->has_sync = log->mode == AEDB_DURABILITY_FULL;
	c->write_done = c->sync_done = 0;
	c->end_off = log->off + c->buf.len;
	sqe = wal_sqe(ring);
	io_uring_prep_write(sqe, log->fd, c->buf.buf, (unsigned)c->buf.len, log->off);
	io_uring_sqe_set_data64(sqe, WAL_TAG_WRITE | (uint64_t)slot << WAL_TAG_SLOT_SHIFT);
	if (c->has_sync) {
		sqe->flags |= IOSQE_IO_LINK;
		sqe = wal_sqe(ring);
		io_uring_prep_fsync(sqe, log->fd, IORING_FSYNC_DATASYNC);
		io_uring_sqe_set_data64(sqe, WAL_TAG_FSYNC | (uint64_t)slot << WAL_TAG_SLOT_SHIFT);
	}
	log->off = c->end_off;
	log->last_seq = c->buf.hi_seq;
	log->ccount++;
	return 0;
}

static void wal_start_sync(struct wal_log *log, struct io_uring *ring, uint64_t now_ns)
{
	struct io_uring_sqe *sqe = wal_sqe(ring);

	io_uring_prep_fsync(sqe, log->fd, IORING_FSYNC_DATASYNC);
	io_uring_sqe_set_data64(sqe, WAL_TAG_SYNC_ONLY);
	log->sync_inflight = 1;
	log->sync_target_off = log->written;
	log->sync_target_hi = log->unsynced_hi;
	log->last_sync_ns = now_ns;
	log->bytes_since_sync = 0;
}

int wal_log_kick(struct wal_log *log, struct io_uring *ring, int want_sync, uint64_t now_ns)
{
	uint32_t pipe = log->mode == AEDB_DURABILITY_FULL ? WAL_PIPE : 1;
	int due;

	if (log->error)
		return log->error;
	if (log->sync_inflight)
		return 0;
	if (log->fill.len && log->ccount < pipe)
		return wal_start_write(log, ring);
	if (log->ccount || !log->unsynced_lo)
		return 0;
	due = want_sync || (log->mode == AEDB_DURABILITY_BATCH &&
			    (now_ns - log->last_sync_ns >= log->sync_every_ns ||
			     log->bytes_since_sync >= log->sync_every_bytes));
	if (due)
		wal_start_sync(log, ring, now_ns);
	return 0;
}

static void wal_chain_free(struct wal_log *log)
{
	struct wal_chain *c = &log->chain[log->chead];

	c->buf.len = 0;
	c->buf.lo_seq = c->buf.hi_seq = 0;
	c->buf.txn_frames = 0;
	log->chead = (log->chead + 1) % WAL_PIPE;
	log->ccount--;
}

/* Retire finished chains, oldest first: written (and, with a linked fsync,
 * synced) up to each one's end. */
static void wal_retire(struct wal_log *log, uint64_t now_ns)
{
	while (log->ccount) {
		struct wal_chain *c = &log->chain[log->chead];

		if (!c->write_done || (c->has_sync && !c->sync_done))
			return;
		log->written = c->end_off;
		if (c->has_sync) {
			log->synced = c->end_off;
			log->last_sync_ns = now_ns;
		} else {
			log->bytes_since_sync += c->buf.len;
			if (!log->unsynced_lo)
				log->unsynced_lo = c->buf.lo_seq;
			log->unsynced_hi = c->buf.hi_seq;
		}
		wal_chain_free(log);
	}
}

int wal_log_complete(struct wal_log *log, uint64_t tag, int res, uint64_t now_ns)
{
	struct wal_chain *c = &log->chain[(tag >> WAL_TAG_SLOT_SHIFT) % WAL_PIPE];

	switch (tag & 0xff) {
	case WAL_TAG_WRITE:
		res = io_fault_write_res(res, c->buf.len);
		if (res < 0 || (size_t)res != c->buf.len)
			return wal_fail(log, res < 0 ? res : -EIO);
		c->write_done = 1;
		/* Stats are read by aedb_stats() from other threads. */
		__atomic_store_n(&log->bytes_written, log->bytes_written + c->buf.len,
				 __ATOMIC_RELAXED);
		__atomic_store_n(&log->frames_written, log->frames_written + 1,
				 __ATOMIC_RELAXED);
		wal_retire(log, now_ns);
		return log->error;
	case WAL_TAG_FSYNC:
		res = io_fault_fsync_res(res);
		if (res < 0)
			return wal_fail(log, res);
		c->sync_done = 1;
		if (c->buf.txn_frames)
			io_fault_kill_point(IO_KILL_TXN_LOGGED);
		wal_retire(log, now_ns);
		return log->error;
	case WAL_TAG_SYNC_ONLY:
		res = io_fault_fsync_res(res);
		if (res < 0)
			return wal_fail(log, res);
		log->synced = log->sync_target_off;
		log->sync_inflight = 0;
		AEDB_ASSERT(log->sync_target_hi == log->unsynced_hi);
		log->unsynced_lo = log->unsynced_hi = 0;
		return log->error;
	default:
		AEDB_ASSERT(!"unknown WAL tag");
		return -EINVAL;
	}
}

uint64_t wal_log_dur_lo(const struct wal_log *log)
{
	uint64_t lo = UINT64_MAX;

	if (log->unsynced_lo && log->unsynced_lo < lo)
		lo = log->unsynced_lo;
	for (uint32_t i = 0; i < log->ccount; i++) {
		const struct wal_buf *b = &log->chain[(log->chead + i) % WAL_PIPE].buf;

		if (b->lo_seq && b->lo_seq < lo)
			lo = b->lo_seq;
	}
	if (log->fill.lo_seq && log->fill.lo_seq < lo)
		lo = log->fill.lo_seq;
	return lo;
}

int wal_log_idle(const struct wal_log *log)
{
	return !log->fill.len && !log->ccount && !log->sync_inflight &&
	       !log->unsynced_lo;
}
