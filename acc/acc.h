/* SPDX-License-Identifier: MIT */
/*
 * Accumulators (DESIGN §7; docs/ACCUMULATORS.md): per-shard partial sums,
 * per-shard dedupe records, and an exposure ledger on the home shard, all
 * stored as plain versioned entries in the accumulator's own namespace, so
 * the WAL, recovery, MVCC snapshots and GC need nothing new.
 *
 * Keys in an accumulator's namespace (values little-endian):
 *   ACC_K_PARTIAL            on every shard that took a delta: the partial
 *                            (i128 sum, u64 highest order key, u64 deltas)
 *   ACC_K_DEDUPE ‖ key       on hash(ns, ACC_K_DEDUPE ‖ key)'s shard: the
 *                            accepted (i64 delta, u64 order key); its
 *                            version seq is the accepting commit
 *   ACC_K_LANE ‖ u8 lane     on the lane's shard: the highest order key
 *                            accepted in that order lane (u64)
 *   ACC_K_EXPOSURE ‖ id      on the home shard: an open exposure (i64
 *                            amount); its version seq is the opening commit
 * A delta's lane is acc_lane(dedupe key), a pure function of the key; its
 * shard is (lane + ns) mod nshards, so each lane of an accumulator lives on
 * one shard and its dedupe records and order keys are shard-local.
 * The home shard is hash(ns, ACC_K_LEDGER)'s; ACC_K_LEDGER is never stored:
 * it names the lock every ledger entry takes, so exposures and releases of
 * one accumulator are evaluated one at a time.
 */
#ifndef AEDB_ACC_ACC_H
#define AEDB_ACC_ACC_H

#include <stddef.h>
#include <stdint.h>

#include "aedb.h"

#define ACC_K_PARTIAL 0x00
#define ACC_K_DEDUPE 0x01
#define ACC_K_EXPOSURE 0x02
#define ACC_K_LEDGER 0x03
#define ACC_K_LANE 0x04

#define ACC_PARTIAL_BYTES 32u
#define ACC_DEDUPE_BYTES 16u
#define ACC_EXPOSURE_BYTES 8u
#define ACC_DEF_BYTES 32u   /* the encoded definition (DDL record value) */
#define ACC_BATCH_MAX 4096u /* exposures in one atomic batch */
#define ACC_LANES AEDB_ACC_LANES

/* An accumulator's definition, and the runtime state shared by the shards. */
struct cat_adef {
	uint64_t dedupe_retain;  /* commits; 0 = forever */
	uint64_t snapshot_every;
	uint64_t exposure_ttl;   /* commits; 0 = never */
	uint32_t margin_bps;
};

struct acc_partial {
	__int128 sum;
	uint64_t max_order;
	uint64_t count;
};

/* Options -> definition: 0, or -AEDB_EINVAL. */
int acc_def_from_opts(const struct aedb_accumulator_options *o, struct cat_adef *d);
void acc_def_encode(const struct cat_adef *d, uint8_t out[ACC_DEF_BYTES]);
/* 0, or -AEDB_ECORRUPT. */
int acc_def_decode(const uint8_t *buf, size_t len, struct cat_adef *d);
/* Same options (runtime state ignored). */
int acc_def_same(const struct cat_adef *a, const struct cat_adef *b);

void acc_partial_encode(const struct acc_partial *p, uint8_t out[ACC_PARTIAL_BYTES]);
/* A missing (NULL) record decodes as zero. 0, or -AEDB_ECORRUPT. */
int acc_partial_decode(const uint8_t *buf, uint32_t len, struct acc_partial *p);

static inline void acc_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint64_t acc_get_le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* The order lane of a dedupe key, and the shard of that lane. */
uint32_t acc_lane(const void *key, size_t len);
static inline uint32_t acc_lane_shard(uint32_t lane, uint32_t ns, uint32_t nshards)
{
	return (uint32_t)(((uint64_t)lane + ns) % nshards);
}

/* trunc(v * (10000 - bps) / 10000), clamped to i64. */
int64_t acc_limit(__int128 v, uint32_t bps);

/* 1 if @x fits i64. */
static inline int acc_fits_i64(__int128 x)
{
	return x >= (__int128)INT64_MIN && x <= (__int128)INT64_MAX;
}

/* A record written at @seq is forgotten (dedupe) or expired (exposure) at
 * visible head @head under window @w (0 = never). */
static inline int acc_aged_out(uint64_t seq, uint64_t head, uint64_t w)
{
	return w && head > w && seq < head - w;
}

#endif
