/* SPDX-License-Identifier: MIT */
/*
 * bench_hist.c - a log-linear latency histogram in the manner of
 * HdrHistogram, fixed at three significant digits and nanosecond units.
 *
 * Bucket layout: values below 2^11 map to their own bucket. A value v with
 * its top bit at position b >= 11 is shifted right by e = b - 10 so that
 * v >> e lies in [1024, 2047]; its bucket is e * 1024 + (v >> e). Every
 * bucket therefore spans at most 1/1024 of its lower bound. Recording is a
 * count-leading-zeros, a shift and an increment; each client thread owns one
 * histogram and the coordinator merges them after the threads have joined,
 * so the hot loop takes no locks and shares no cache lines.
 */
#include "bench.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(BENCH_HIST_COUNTS == 35 * 1024, "bucket count for 44-bit values");

int bench_hist_init(struct bench_hist *h)
{
	memset(h, 0, sizeof(*h));
	h->counts = calloc(BENCH_HIST_COUNTS, sizeof(*h->counts));
	if (!h->counts)
		return -ENOMEM;
	h->min_ns = UINT64_MAX;
	return 0;
}

void bench_hist_free(struct bench_hist *h)
{
	free(h->counts);
	h->counts = NULL;
}

uint64_t bench_hist_highest(uint32_t idx)
{
	uint32_t shift = 0;
	uint64_t sub;

	if (idx >= 2 * BENCH_HIST_HALF)
		shift = idx / BENCH_HIST_HALF - 1;
	sub = idx - (uint64_t)shift * BENCH_HIST_HALF;
	return ((sub + 1) << shift) - 1;
}

void bench_hist_merge(struct bench_hist *dst, const struct bench_hist *src)
{
	if (src->count == 0)
		return;
	for (uint32_t i = 0; i < BENCH_HIST_COUNTS; i++)
		dst->counts[i] += src->counts[i];
	dst->count += src->count;
	dst->sum_ns += src->sum_ns;
	dst->clamped += src->clamped;
	if (src->min_ns < dst->min_ns)
		dst->min_ns = src->min_ns;
	if (src->max_ns > dst->max_ns)
		dst->max_ns = src->max_ns;
}

/*
 * The smallest recorded value v such that at least pct% of the values are
 * <= v, reported as the highest value of v's bucket (as HdrHistogram does)
 * but never above the largest value actually recorded.
 */
uint64_t bench_hist_percentile(const struct bench_hist *h, double pct)
{
	uint64_t rank, seen = 0;
	double want;

	if (h->count == 0)
		return 0;
	if (pct > 100.0)
		pct = 100.0;
	want = pct / 100.0 * (double)h->count;
	rank = (uint64_t)want;
	if ((double)rank < want)
		rank++;
	if (rank == 0)
		rank = 1;
	for (uint32_t i = 0; i < BENCH_HIST_COUNTS; i++) {
		seen += h->counts[i];
		if (seen >= rank) {
			uint64_t v = bench_hist_highest(i);

			return v < h->max_ns ? v : h->max_ns;
		}
	}
	return h->max_ns;
}
