/* SPDX-License-Identifier: MIT */
/*
 * WAL frames and segment headers (on-disk format, little-endian).
 *
 * A segment file `wal/<shard>/<first_seq:020>.seg` is preallocated; it starts
 * with a 64-byte header, then frames back to back, then zeros. One frame holds
 * one group commit of one shard: the record bodies of one or more apply rounds
 * (wal/record.h), lz4-compressed when that pays.
 *
 * Frame header (48 bytes):
 *   magic u32 | crc u32 | len u32 | raw_len u32 | first_seq u64 | sync_mark u64 |
 *   count u32 | type u8 | flags u8 | parts u16 | time_ns u64
 * crc is CRC32C over the header from `len` on, then the stored payload. len is
 * the stored payload length, raw_len the decoded one. sync_mark is the offset
 * in this segment up to which the shard had fsynced when the frame was
 * written: recovery uses it to tell a torn unsynced write (tail: truncate)
 * from damage to bytes that were already synced (corruption).
 *
 * time_ns is the wall clock (CLOCK_REALTIME, ns) when the shard sealed the
 * frame, right after applying its round and before publishing it: every
 * commit of the frame was applied at or before it and became visible after
 * it. It never goes backwards within one shard's log while the instance
 * runs (a clock stepped back repeats the last value). Restore to a time
 * (api/backup_time.c) reads it. 8 bytes per frame, i.e. per apply round of
 * a shard, not per commit; it came with segment format version 2 (version 1
 * segments are -AEDB_EINCOMPAT).
 *
 * A TXN frame holds one shard's records of a cross-shard commit: count is 1
 * and parts says how many shards logged a TXN frame for the same seq. The
 * commit exists only if all of them did (recovery checks).
 */
#ifndef AEDB_WAL_FRAME_H
#define AEDB_WAL_FRAME_H

#include <stddef.h>
#include <stdint.h>

#define WAL_SEG_MAGIC 0x4c415742444541ull  /* "AEDBWAL\0" little-endian */
#define WAL_SEG_VERSION 2u   /* 2: frames carry time_ns */
#define WAL_SEG_HDR_BYTES 64u
#define WAL_FRAME_MAGIC 0xF7A3DBAEu
#define WAL_FRAME_HDR_BYTES 48u
#define WAL_FRAME_MAX_BYTES (256u << 20)    /* sanity bound on len/raw_len */
#define WAL_FRAME_F_LZ4 0x1u
#define WAL_FRAME_BATCH 1u   /* one or more single-shard commits */
#define WAL_FRAME_TXN 2u     /* one shard's part of a cross-shard commit */

struct wal_seg_hdr {
	uint64_t magic;
	uint32_t version;
	uint32_t shard;
	uint32_t nshards;
	uint32_t reserved;
	uint64_t first_seq;     /* first seq written to this segment */
	uint64_t prev_last_seq; /* last seq of this shard's previous segment, 0 if none */
	uint8_t db_id[16];
	uint32_t crc;           /* CRC32C of the first 60 bytes */
};

struct wal_frame_hdr {
	uint32_t magic;
	uint32_t crc;
	uint32_t len;
	uint32_t raw_len;
	uint64_t first_seq;
	uint64_t sync_mark;
	uint32_t count;
	uint8_t type;
	uint8_t flags;
	uint16_t parts;         /* TXN: participant count (>= 2); BATCH: 0 */
	uint64_t time_ns;       /* wall clock when sealed (see above) */
};

_Static_assert(sizeof(struct wal_seg_hdr) == WAL_SEG_HDR_BYTES, "segment header size");
_Static_assert(sizeof(struct wal_frame_hdr) == WAL_FRAME_HDR_BYTES, "frame header size");

void wal_seg_hdr_seal(struct wal_seg_hdr *h);
/* 0 if @h is a valid header for @shard of @nshards; -AEDB_EINCOMPAT if it is
 * an intact header of another format version; else -AEDB_ECORRUPT. */
int wal_seg_hdr_check(const struct wal_seg_hdr *h, uint32_t shard, uint32_t nshards);

/* Compute and store the frame CRC over header fields and @payload. */
void wal_frame_seal(struct wal_frame_hdr *h, const void *payload);

enum wal_frame_status {
	WAL_FRAME_OK = 0,
	WAL_FRAME_END,      /* zeros: clean end of the log */
	WAL_FRAME_TORN,     /* cut short by the end of the buffer */
	WAL_FRAME_BAD,      /* bad magic, length or CRC */
};

/* Check the frame at @buf (@avail bytes readable). On OK, *@h is a copy of
 * its header and the payload follows it. */
enum wal_frame_status wal_frame_check(const uint8_t *buf, size_t avail, struct wal_frame_hdr *h);

/* Encode @raw (@raw_len bytes of records) into @out as one frame stamped
 * @time_ns, compressed with lz4 when @raw_len >= @lz4_min and it shrinks. @out must hold
 * wal_frame_bound(@raw_len) bytes. Returns the frame's total size. */
size_t wal_frame_encode(uint8_t *out, const uint8_t *raw, uint32_t raw_len, uint64_t first_seq,
			uint32_t count, uint64_t sync_mark, uint32_t lz4_min, uint16_t parts,
			uint64_t time_ns);
size_t wal_frame_bound(uint32_t raw_len);

/* Decode the payload of a checked frame into @raw (h->raw_len bytes).
 * Returns 0 or -AEDB_ECORRUPT. */
int wal_frame_decode(const struct wal_frame_hdr *h, const uint8_t *payload, uint8_t *raw);

/* Is there a valid frame after offset @bad of segment @seg (@size bytes)
 * whose sync mark covers @bad? Then the bytes at @bad had been fsynced: a
 * bad frame there is damage, not a torn write (recovery, `aedb verify`). */
int wal_frame_synced_past(const uint8_t *seg, size_t size, size_t bad);

#endif
