/* SPDX-License-Identifier: MIT */
/*
 * Sequence numbers and watermarks (DESIGN §4).
 *
 * next_seq is the single global counter; a shard takes a contiguous block per
 * apply round. Before it allocates, it publishes vis_lo = a lower bound of
 * what it will get; after every version of the round is linked it resets
 * vis_lo to UINT64_MAX. V = min(next_seq - 1, min(vis_lo) - 1), with next_seq
 * read first (all sequentially consistent), so every seq <= V is fully
 * applied. The publisher recomputes V and raises the cached `visible`, which
 * readers load with one acquire. The durable watermark D works the same way
 * over dur_lo, which a shard lowers before it allocates and raises as its
 * WAL writes are fsynced; D <= V always. `floor` is the oldest seq AT_SEQ may read;
 * versions below it may be collected after an epoch grace period.
 */
#ifndef AEDB_SHARD_WATERMARK_H
#define AEDB_SHARD_WATERMARK_H

#include <stdint.h>

#include "aedb.h"

struct wm_slot {
	uint64_t vis_lo;
	uint64_t dur_lo;
	uint8_t pad[48];
} __attribute__((aligned(64)));

struct watermark {
	uint64_t next_seq __attribute__((aligned(64)));
	uint64_t visible __attribute__((aligned(64)));
	uint64_t floor __attribute__((aligned(64)));
	uint64_t durable __attribute__((aligned(64)));
	uint64_t vis_waiters __attribute__((aligned(64))); /* bit i: shard i waits on V */
	uint64_t dur_waiters;                              /* bit i: shard i waits on D */
	uint64_t sync_req;      /* highest seq some caller needs durable (max) */
	uint32_t dur_futex;     /* bumped when D moves and someone waits */
	uint32_t dur_sleepers;
	uint32_t nshards;
	struct wm_slot slots[AEDB_SHARDS_MAX];
};

void wm_init(struct watermark *wm, uint32_t nshards);
/* Start from a recovered state: seqs 1..@seq exist, all visible and durable. */
void wm_recovered(struct watermark *wm, uint64_t seq);
/* Shard @shard: allocate @count seqs; returns the first. Lowers the shard's
 * vis_lo and dur_lo to a bound below the block first. */
uint64_t wm_alloc(struct watermark *wm, uint32_t shard, uint32_t count);
/* Shard @shard: everything it allocated is applied; returns the new V.
 * @hold: the lowest seq it still holds (a prepared cross-shard fragment's
 * pin), or UINT64_MAX. */
uint64_t wm_publish(struct watermark *wm, uint32_t shard, uint64_t hold);
/* Shard @shard holds back V and D below any seq not yet allocated (a
 * prepared cross-shard fragment whose seq is still to come); returns the
 * bound (the counter's current value). Released by wm_publish/wm_set_dur_lo
 * with a higher hold. */
uint64_t wm_hold(struct watermark *wm, uint32_t shard);
/* Shard @shard: the smallest seq it holds that is not durable is @lo
 * (UINT64_MAX: none); returns the new D. */
uint64_t wm_set_dur_lo(struct watermark *wm, uint32_t shard, uint64_t lo);
static inline uint64_t wm_durable_any(const struct watermark *wm)
{
	return __atomic_load_n(&wm->durable, __ATOMIC_ACQUIRE);
}
/* The visible watermark V (cached). Any thread. */
static inline uint64_t wm_visible_any(const struct watermark *wm)
{
	return __atomic_load_n(&wm->visible, __ATOMIC_ACQUIRE);
}
static inline uint64_t wm_floor_any(const struct watermark *wm)
{
	return __atomic_load_n(&wm->floor, __ATOMIC_ACQUIRE);
}
/* Raise *@word to at least @v (atomic max); returns the new value. Any thread. */
uint64_t wm_raise_any(uint64_t *word, uint64_t v);
/* Raise floor to at least @f (never past V). Any thread; returns new floor. */
uint64_t wm_raise_floor(struct watermark *wm, uint64_t f);

#endif
