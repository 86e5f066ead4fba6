/* SPDX-License-Identifier: MIT */
/*
 * Log record bodies. Every commit is first encoded as a record into the
 * shard's round batch, then applied from that record; recovery will replay
 * the same records through the same apply functions. Framing on disk (length,
 * CRC32C, compression) is added by the WAL writer, not here.
 *
 * Body layout (little-endian, packed): type u8, flags u8, pad u16, ns u32,
 * seq u64, key_len u32, val_len u32, then key bytes, then value bytes.
 */
#ifndef AEDB_WAL_RECORD_H
#define AEDB_WAL_RECORD_H

#include <stddef.h>
#include <stdint.h>

enum wal_rec_type {
	WAL_REC_KV_SET = 1,
	WAL_REC_KV_DEL = 2,
	WAL_REC_NOP = 3,     /* a seq whose apply failed: an empty commit */
	WAL_REC_DDL = 4,     /* key = project, val = scope, flags = ddl kind */
	WAL_REC_IDEM = 5,    /* key = 16-byte idempotency key applied at seq */
	WAL_REC_LAST = WAL_REC_IDEM
};

#define WAL_REC_HDR_BYTES 24u
/* KV_SET flag: the set starts a new incarnation of the key (a transaction
 * deleted it earlier at the same seq): created_seq restarts here. */
#define WAL_REC_F_FRESH 0x1u

struct wal_rec {
	uint8_t type;
	uint8_t flags;
	uint32_t ns;
	uint64_t seq;
	const uint8_t *key;
	const uint8_t *val;
	uint32_t key_len;
	uint32_t val_len;
};

/* A growable buffer of record bodies for one apply round. Owner only. */
struct wal_batch {
	uint8_t *buf;
	size_t len;
	size_t cap;
	uint32_t count;
};

void wal_batch_init(struct wal_batch *b);
void wal_batch_free(struct wal_batch *b);
static inline void wal_batch_reset(struct wal_batch *b)
{
	b->len = 0;
	b->count = 0;
}
/* Append one record; returns its offset in the batch or -ENOMEM. */
long wal_batch_append(struct wal_batch *b, const struct wal_rec *rec);
/* Decode the record at @off; returns bytes consumed or -AEDB_ECORRUPT. */
long wal_rec_decode(const uint8_t *buf, size_t len, size_t off, struct wal_rec *out);

#endif
