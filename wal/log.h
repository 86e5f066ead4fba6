/* SPDX-License-Identifier: MIT */
/*
 * wal_log - one shard's write-ahead log: segments in wal/<shard>/, group
 * commit through the shard's io_uring ring.
 *
 * Rounds are sealed into frames in the `fill` buffer as they are applied. At
 * most one write is in flight: when none is, the whole fill buffer goes out
 * as one io_uring write (linked with fdatasync in FULL mode), and rounds
 * applied meanwhile accumulate into the other buffer — the group commit.
 * BATCH mode fsyncs on an interval or byte threshold, OS mode only on request;
 * both also fsync when a DURABLE request is waiting (see shard/durable.c).
 * A failed write or fsync latches the instance fatal; fsync is never retried.
 */
#ifndef AEDB_WAL_LOG_H
#define AEDB_WAL_LOG_H

#include <liburing.h>
#include <stdint.h>

#include "aedb.h"

struct wal_buf {
	uint8_t *buf;
	size_t len;
	size_t cap;
	uint64_t lo_seq;      /* smallest seq in the buffer (0 if empty) */
	uint64_t hi_seq;      /* largest seq in the buffer */
	uint32_t txn_frames;  /* TXN frames in the buffer (a test kill point) */
};

/* Writes in flight per shard in FULL mode (write + linked fdatasync chains);
 * other modes keep one. */
#define WAL_PIPE 2u

/* One write in flight: its frames, where it ends, and what completed. */
struct wal_chain {
	struct wal_buf buf;
	uint64_t end_off;         /* log offset after this write */
	uint8_t has_sync;         /* a linked fdatasync follows the write */
	uint8_t write_done;
	uint8_t sync_done;
};

struct wal_log {
	uint32_t shard;
	uint32_t nshards;
	uint32_t mode;            /* enum aedb_durability */
	uint8_t db_id[16];
	int dirfd;                /* wal/<shard>/ */
	int fd;                   /* active segment, -1 before the first write */
	uint64_t seg_bytes;       /* preallocation size */
	uint64_t seg_alloc;       /* bytes allocated in the active segment */
	uint64_t off;             /* append offset in the active segment */
	uint64_t written;         /* offset up to which writes completed */
	uint64_t synced;          /* offset up to which fdatasync completed */
	uint64_t last_seq;        /* largest seq handed to a write */
	uint64_t last_time_ns;    /* time stamped on the last frame (never decreases) */
	uint32_t lz4_min;         /* compress rounds at least this big */
	uint64_t sync_every_ns;   /* BATCH: interval */
	uint64_t sync_every_bytes;/* BATCH: byte threshold */
	struct wal_buf fill;      /* frames waiting to be written */
	struct wal_chain chain[WAL_PIPE]; /* writes in flight, oldest at chead */
	uint32_t chead, ccount;
	int sync_inflight;        /* standalone fsync outstanding */
	uint64_t unsynced_lo;     /* smallest written-but-unsynced seq, or 0 */
	uint64_t unsynced_hi;
	uint64_t sync_target_off; /* offset the standalone fsync covers */
	uint64_t sync_target_hi;
	uint64_t last_sync_ns;
	uint64_t bytes_since_sync;
	uint64_t bytes_written;   /* stats */
	uint64_t frames_written;
	uint64_t segments;
	int error;                /* first I/O error (negative), latched */
};

/* CQE tags: kind in the low byte, chain slot above it. */
#define WAL_TAG_WRITE 2ull
#define WAL_TAG_FSYNC 3ull
#define WAL_TAG_SYNC_ONLY 4ull
#define WAL_TAG_SLOT_SHIFT 8

/* Open shard @shard's log directory under @root (created if missing). The log
 * starts a new segment at its first write. 0 or -errno. */
int wal_log_open(struct wal_log *log, const char *root, uint32_t shard, uint32_t nshards,
		 const uint8_t db_id[16], const struct aedb_config *cfg);
void wal_log_close(struct wal_log *log);

/* Seal one round (record bodies in @raw) into a frame; @parts: 0 for
 * single-shard commits, else the participant count of the cross-shard commit
 * at @first_seq (@count 1). 0 or -ENOMEM. */
int wal_log_append(struct wal_log *log, const uint8_t *raw, uint32_t raw_len,
		   uint64_t first_seq, uint32_t count, uint16_t parts);

/* Start a write of the fill buffer if a chain is free (rotating first if
 * needed, once nothing is in flight), and a standalone fsync if @want_sync
 * and unsynced data exists (BATCH and OS modes).
 * Queues SQEs on @ring; the caller submits. 0 or a negative error (latched). */
int wal_log_kick(struct wal_log *log, struct io_uring *ring, int want_sync, uint64_t now_ns);

/* Account for one CQE with a WAL tag. Returns 0 or the latched error. */
int wal_log_complete(struct wal_log *log, uint64_t tag, int res, uint64_t now_ns);

/* Smallest seq this log holds that is not durable yet, or UINT64_MAX. */
uint64_t wal_log_dur_lo(const struct wal_log *log);

/* True when nothing is buffered, being written, or unsynced. */
int wal_log_idle(const struct wal_log *log);

#endif
