/* SPDX-License-Identifier: MIT */
/*
 * bench_util.h - the harness's engine-independent parts: the clock, the
 * log-linear latency histogram (bench_hist.c), and the PRNG, zipfian
 * generator and key encoding (bench_rand.c).
 */
#ifndef BENCH_UTIL_H
#define BENCH_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* ------------------------------------------------------------------------ */
/* Clock                                                                     */
/* ------------------------------------------------------------------------ */

static inline uint64_t bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ------------------------------------------------------------------------ */
/* Histogram                                                                 */
/* ------------------------------------------------------------------------ */

/*
 * Values (nanoseconds) below 2^BENCH_HIST_SUB_BITS are counted exactly; above,
 * each power-of-two range is cut into BENCH_HIST_HALF linear buckets, so any
 * recorded value is known to within 1/1024 (three significant digits).
 * Values at or above 2^BENCH_HIST_VALUE_BITS ns (~4.9 h) are clamped.
 */
#define BENCH_HIST_SUB_BITS 11u
#define BENCH_HIST_HALF (1u << (BENCH_HIST_SUB_BITS - 1))
#define BENCH_HIST_VALUE_BITS 44u
#define BENCH_HIST_COUNTS ((BENCH_HIST_VALUE_BITS - BENCH_HIST_SUB_BITS + 2) * BENCH_HIST_HALF)
#define BENCH_HIST_VALUE_MAX ((UINT64_C(1) << BENCH_HIST_VALUE_BITS) - 1)

/** One thread's latencies. Not thread-safe: one writer, merged afterwards. */
struct bench_hist {
	uint64_t count;
	uint64_t sum_ns;
	uint64_t min_ns;
	uint64_t max_ns;
	uint64_t clamped;  /**< values above BENCH_HIST_VALUE_MAX */
	uint64_t *counts;  /**< BENCH_HIST_COUNTS buckets */
};

int bench_hist_init(struct bench_hist *h);
void bench_hist_free(struct bench_hist *h);
void bench_hist_merge(struct bench_hist *dst, const struct bench_hist *src);
/** The value at percentile @pct (0..100], ns; 0 for an empty histogram. */
uint64_t bench_hist_percentile(const struct bench_hist *h, double pct);
/** Largest value that shares bucket @idx. */
uint64_t bench_hist_highest(uint32_t idx);

/** Bucket index of @ns (@ns <= BENCH_HIST_VALUE_MAX). */
static inline uint32_t bench_hist_index(uint64_t ns)
{
	/* Position of the top bit of (ns | 2047): at least 10, so values
	 * below 2048 get shift 0 and a bucket of their own. */
	uint32_t top = 63u - (uint32_t)__builtin_clzll(ns | (2 * BENCH_HIST_HALF - 1));
	uint32_t shift = top - (BENCH_HIST_SUB_BITS - 1);

	return shift * BENCH_HIST_HALF + (uint32_t)(ns >> shift);
}

static inline void bench_hist_record(struct bench_hist *h, uint64_t ns)
{
	if (ns > BENCH_HIST_VALUE_MAX) {
		h->clamped++;
		ns = BENCH_HIST_VALUE_MAX;
	}
	h->counts[bench_hist_index(ns)]++;
	h->count++;
	h->sum_ns += ns;
	if (ns < h->min_ns)
		h->min_ns = ns;
	if (ns > h->max_ns)
		h->max_ns = ns;
}

/* ------------------------------------------------------------------------ */
/* Random numbers and keys                                                   */
/* ------------------------------------------------------------------------ */

/** xoshiro256** state; seed with bench_rng_seed(). */
struct bench_rng {
	uint64_t s[4];
};

void bench_rng_seed(struct bench_rng *r, uint64_t seed);
/** splitmix64's finaliser: a bijection on 64-bit integers. */
uint64_t bench_mix64(uint64_t x);

static inline uint64_t bench_rotl64(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static inline uint64_t bench_rng_next(struct bench_rng *r)
{
	uint64_t *s = r->s;
	uint64_t out = bench_rotl64(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = bench_rotl64(s[3], 45);
	return out;
}

/** Uniform in [0, n) (Lemire's multiply-shift; bias < n / 2^64). */
static inline uint64_t bench_rng_below(struct bench_rng *r, uint64_t n)
{
	__extension__ typedef unsigned __int128 bench_u128;

	return (uint64_t)(((bench_u128)bench_rng_next(r) * n) >> 64);
}

/** Uniform in [0, 1). */
static inline double bench_rng_unit(struct bench_rng *r)
{
	return (double)(bench_rng_next(r) >> 11) * 0x1.0p-53;
}

/** YCSB's zipfian generator over ranks [0, n); rank 0 is the hottest. */
struct bench_zipf {
	uint64_t n;
	double theta;
	double alpha;
	double zetan;
	double eta;
	double half_pow_theta;
};

#define BENCH_ZIPF_THETA 0.99

/** Precompute zeta(n, theta): O(n), once per keyspace. Returns 0 or -EINVAL. */
int bench_zipf_init(struct bench_zipf *z, uint64_t n, double theta);
uint64_t bench_zipf_next(const struct bench_zipf *z, struct bench_rng *r);

enum bench_dist {
	BENCH_DIST_UNIFORM = 0,
	BENCH_DIST_ZIPFIAN,
	BENCH_DIST_SEQUENTIAL, /**< next, next + 1, ...: loading only */
};

const char *bench_dist_name(enum bench_dist d);

/** Picks key indexes for one thread. */
struct bench_keygen {
	enum bench_dist dist;
	uint64_t keys;                 /**< keyspace size */
	const struct bench_zipf *zipf; /**< shared, read-only; ZIPFIAN only */
	uint64_t next;                 /**< SEQUENTIAL only */
};

static inline uint64_t bench_keygen_next(struct bench_keygen *kg, struct bench_rng *r)
{
	switch (kg->dist) {
	case BENCH_DIST_ZIPFIAN:
		return bench_zipf_next(kg->zipf, r);
	case BENCH_DIST_SEQUENTIAL:
		return kg->next++;
	case BENCH_DIST_UNIFORM:
	default:
		return bench_rng_below(r, kg->keys);
	}
}

#define BENCH_KEY_BYTES_MIN 8u

/*
 * Key @idx as @len (>= BENCH_KEY_BYTES_MIN) bytes: the big-endian
 * bench_mix64(idx) first, so distinct indexes give distinct keys and
 * neighbouring (or hot zipfian) indexes land far apart in key order and
 * across shards; then filler derived from @idx.
 */
void bench_key_encode(uint8_t *buf, uint32_t len, uint64_t idx);

#endif /* BENCH_UTIL_H */
