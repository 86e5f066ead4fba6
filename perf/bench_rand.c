/* SPDX-License-Identifier: MIT */
/*
 * bench_rand.c - seeding, the YCSB zipfian distribution, key encoding.
 *
 * The PRNG is xoshiro256** (Blackman and Vigna), seeded through splitmix64
 * as its authors recommend; each client thread owns one, seeded from
 * --seed and its thread index, so a run is reproducible key for key.
 *
 * The zipfian generator is YCSB's (Gray et al., "Quickly generating
 * billion-record synthetic databases"): zeta(n, theta) is computed once per
 * keyspace and shared read-only by all threads; each draw is one uniform
 * double and one pow(). Rank 0 is the hottest key. As in YCSB's scrambled
 * variant, hot ranks are spread over the key space and over shards - here
 * by bench_key_encode(), which leads every key with a 64-bit bijective hash
 * of its index.
 */
#include "bench.h"

#include <errno.h>
#include <math.h>
#include <string.h>

uint64_t bench_mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= UINT64_C(0xbf58476d1ce4e5b9);
	x ^= x >> 27;
	x *= UINT64_C(0x94d049bb133111eb);
	x ^= x >> 31;
	return x;
}

void bench_rng_seed(struct bench_rng *r, uint64_t seed)
{
	uint64_t x = seed;

	for (int i = 0; i < 4; i++) {
		x += UINT64_C(0x9e3779b97f4a7c15);
		r->s[i] = bench_mix64(x);
	}
	/* xoshiro must not start from all zeroes; splitmix64 cannot produce
	 * four zero outputs in a row, but keep the invariant explicit. */
	if ((r->s[0] | r->s[1] | r->s[2] | r->s[3]) == 0)
		r->s[0] = 1;
}

static double bench_zeta(uint64_t n, double theta)
{
	double sum = 0.0;

	/* Smallest terms first, for a more accurate sum. */
	for (uint64_t i = n; i >= 1; i--)
		sum += 1.0 / pow((double)i, theta);
	return sum;
}

int bench_zipf_init(struct bench_zipf *z, uint64_t n, double theta)
{
	double zeta2;

	if (n == 0 || theta <= 0.0 || theta >= 1.0)
		return -EINVAL;
	memset(z, 0, sizeof(*z));
	z->n = n;
	z->theta = theta;
	if (n < 2)
		return 0;
	zeta2 = bench_zeta(2, theta);
	z->zetan = bench_zeta(n, theta);
	z->alpha = 1.0 / (1.0 - theta);
	z->eta = (1.0 - pow(2.0 / (double)n, 1.0 - theta)) / (1.0 - zeta2 / z->zetan);
	z->half_pow_theta = pow(0.5, theta);
	return 0;
}

uint64_t bench_zipf_next(const struct bench_zipf *z, struct bench_rng *r)
{
	double u, uz;
	uint64_t rank;

	if (z->n < 2)
		return 0;
	u = bench_rng_unit(r);
	uz = u * z->zetan;
	if (uz < 1.0)
		return 0;
	if (uz < 1.0 + z->half_pow_theta)
		return 1;
	rank = (uint64_t)((double)z->n * pow(z->eta * u - z->eta + 1.0, z->alpha));
	return rank < z->n ? rank : z->n - 1;
}

const char *bench_dist_name(enum bench_dist d)
{
	switch (d) {
	case BENCH_DIST_UNIFORM:
		return "uniform";
	case BENCH_DIST_ZIPFIAN:
		return "zipfian";
	case BENCH_DIST_SEQUENTIAL:
		return "sequential";
	}
	return "?";
}

void bench_key_encode(uint8_t *buf, uint32_t len, uint64_t idx)
{
	uint64_t h = bench_mix64(idx);
	uint64_t fill = idx;

	for (uint32_t i = 0; i < 8; i++)
		buf[i] = (uint8_t)(h >> (56 - 8 * i));
	for (uint32_t i = 8; i < len; i++) {
		if ((i & 7) == 0)
			fill = bench_mix64(fill + i);
		buf[i] = (uint8_t)(fill >> (8 * (i & 7)));
	}
}
