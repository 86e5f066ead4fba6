/* SPDX-License-Identifier: MIT */
/*
 * core_hist - a fixed-bucket log-linear histogram of u64 samples (latencies
 * in ns), for owner-written, reader-summed metrics.
 *
 * Values 0..15 have a bucket each; above that every power of two is split
 * into 8 equal buckets, so a bucket's width is at most 1/8 of its lower
 * bound (a reported quantile is at most 12.5% above the true one). Values
 * of 2^40 ns (18 minutes) and more share the last bucket.
 *
 * Concurrency: one thread (the owning shard) adds samples with
 * core_hist_add_owner(), a relaxed load and store per counter (no atomic
 * read-modify-write: there is one writer); any thread reads the buckets with
 * relaxed loads and may sum several histograms. A reader racing the writer
 * sees each counter either before or after a sample, never torn.
 */
#ifndef AEDB_CORE_HIST_H
#define AEDB_CORE_HIST_H

#include <stdint.h>

#define CORE_HIST_SUB_BITS 3u
#define CORE_HIST_MSB_MAX 40u
#define CORE_HIST_BUCKETS (16u + (CORE_HIST_MSB_MAX - 3u) * 8u) /* 312 */

/* The bucket of @v. */
static inline uint32_t core_hist_bucket(uint64_t v)
{
	uint32_t msb;

	if (v < 16)
		return (uint32_t)v;
	msb = 63u - (uint32_t)__builtin_clzll(v);
	if (msb > CORE_HIST_MSB_MAX)
		return CORE_HIST_BUCKETS - 1u;
	return 16u + (msb - 4u) * 8u +
	       (uint32_t)((v >> (msb - CORE_HIST_SUB_BITS)) & 7u);
}

/* The largest value bucket @b holds (the last bucket: UINT64_MAX). */
static inline uint64_t core_hist_upper(uint32_t b)
{
	uint32_t msb, sub;

	if (b < 16)
		return b;
	if (b >= CORE_HIST_BUCKETS - 1u)
		return UINT64_MAX;
	msb = (b - 16u) / 8u + 4u;
	sub = (b - 16u) % 8u;
	return ((uint64_t)(9u + sub) << (msb - CORE_HIST_SUB_BITS)) - 1u;
}

/* Owner only: count one sample @v in @h[CORE_HIST_BUCKETS]. */
static inline void core_hist_add_owner(uint64_t *h, uint64_t v)
{
	uint64_t *c = &h[core_hist_bucket(v)];

	__atomic_store_n(c, __atomic_load_n(c, __ATOMIC_RELAXED) + 1, __ATOMIC_RELAXED);
}

/*
 * The @ppm quantile (parts per million: 500000 = p50, 999000 = p99.9) of
 * the @total samples in @h: the upper bound of the bucket holding the
 * sample of rank ceil(total * ppm / 1e6), capped at @max (the largest
 * sample seen). 0 when @total is 0.
 */
static inline uint64_t core_hist_quantile(const uint64_t *h, uint64_t total, uint32_t ppm,
					  uint64_t max)
{
	uint64_t rank, seen = 0;

	if (total == 0)
		return 0;
	rank = (uint64_t)(((unsigned __int128)total * ppm + 999999u) / 1000000u);
	if (rank == 0)
		rank = 1;
	for (uint32_t b = 0; b < CORE_HIST_BUCKETS; b++) {
		seen += h[b];
		if (seen >= rank)
			return core_hist_upper(b) < max ? core_hist_upper(b) : max;
	}
	return max;
}

#endif
