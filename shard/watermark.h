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
 * readers load with one acquire. `floor` is the oldest seq AT_SEQ may read;
 * versions below it may be collected after an epoch grace period.
 */
#ifndef AEDB_SHARD_WATERMARK_H
#define AEDB_SHARD_WATERMARK_H

#include <stdint.h>

#include "aedb.h"

struct wm_slot {
	uint64_t vis_lo;
	uint8_t pad[56];
} __attribute__((aligned(64)));

struct watermark {
	uint64_t next_seq __attribute__((aligned(64)));
	uint64_t visible __attribute__((aligned(64)));
	uint64_t floor __attribute__((aligned(64)));
	uint64_t vis_waiters __attribute__((aligned(64))); /* bit i: shard i waits on V */
	uint32_t nshards;
	struct wm_slot slots[AEDB_SHARDS_MAX];
};

void wm_init(struct watermark *wm, uint32_t nshards);
/* Shard @shard: allocate @count seqs; returns the first. */
uint64_t wm_alloc(struct watermark *wm, uint32_t shard, uint32_t count);
/* Shard @shard: everything it allocated is applied; returns the new V. */
uint64_t wm_publish(struct watermark *wm, uint32_t shard);
/* The visible watermark V (cached). Any thread. */
static inline uint64_t wm_visible_any(const struct watermark *wm)
{
	return __atomic_load_n(&wm->visible, __ATOMIC_ACQUIRE);
}
static inline uint64_t wm_floor_any(const struct watermark *wm)
{
	return __atomic_load_n(&wm->floor, __ATOMIC_ACQUIRE);
}
/* Raise floor to at least @f (never past V). Any thread; returns new floor. */
uint64_t wm_raise_floor(struct watermark *wm, uint64_t f);

#endif
