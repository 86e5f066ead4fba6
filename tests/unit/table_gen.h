/* SPDX-License-Identifier: MIT */
/*
 * Random values for the table-layer tests: each kind drawn from its edge
 * cases, from a small range (so duplicates and near neighbours are common)
 * or from its whole range. Text and blob bytes come from a few symbols that
 * stress the key escapes (0x00, 0x01, 0x7f/0x80, 0xfe/0xff, multi-byte
 * UTF-8), with short lengths so prefixes are common. Payloads live in the
 * generator's pool, which outlives the values.
 */
#ifndef AEDB_TESTS_TABLE_GEN_H
#define AEDB_TESTS_TABLE_GEN_H

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "t_helpers.h"
#include "table/value.h"

struct tg {
	uint64_t rng;
	uint8_t *pool;
	size_t used, cap;
};

static inline void tg_init(struct tg *g, uint64_t seed, size_t pool_bytes)
{
	g->rng = seed;
	g->pool = malloc(pool_bytes);
	g->used = 0;
	g->cap = pool_bytes;
	if (!g->pool)
		abort();
}

static inline void tg_free(struct tg *g)
{
	free(g->pool);
	g->pool = NULL;
}

static inline uint64_t tg_rand(struct tg *g)
{
	return t_rand(&g->rng);
}

static inline uint64_t tg_below(struct tg *g, uint64_t n)
{
	return tg_rand(g) % n;
}

static inline double tg_f64_bits(uint64_t bits)
{
	double d;

	memcpy(&d, &bits, sizeof(d));
	return d;
}

static inline double tg_float(struct tg *g)
{
	static const uint64_t edges[] = {
		0xfff0000000000000ull, 0xffefffffffffffffull, 0xbff0000000000000ull,
		0x8010000000000000ull, 0x8000000000000001ull, 0x8000000000000000ull,
		0x0000000000000000ull, 0x0000000000000001ull, 0x0010000000000000ull,
		0x3ff0000000000000ull, 0x7fefffffffffffffull, 0x7ff0000000000000ull,
		0x7ff8000000000000ull, 0xfff8000000000001ull, 0x7ff0000000000001ull,
	};

	switch (tg_below(g, 4)) {
	case 0:
		return tg_f64_bits(edges[tg_below(g, sizeof(edges) / sizeof(edges[0]))]);
	case 1:
		return (double)((int64_t)tg_below(g, 11) - 5) / 2;
	default:
		return tg_f64_bits(tg_rand(g));
	}
}

static inline void tg_wide(struct tg *g, uint8_t w[TV_U256_BYTES])
{
	switch (tg_below(g, 5)) {
	case 0:         /* 0x00.., 0xff.., 0x80 00.., 0x7f ff.. */
		memset(w, tg_below(g, 2) ? 0xff : 0x00, TV_U256_BYTES);
		if (tg_below(g, 2))
			w[0] ^= 0x80;
		break;
	case 1:         /* small magnitude, either sign */
		memset(w, tg_below(g, 2) ? 0xff : 0x00, TV_U256_BYTES);
		w[TV_U256_BYTES - 1] = (uint8_t)tg_below(g, 4);
		break;
	case 2:         /* a shared prefix, so later bytes decide */
		memset(w, 0x5a, TV_U256_BYTES);
		w[tg_below(g, TV_U256_BYTES)] = (uint8_t)tg_rand(g);
		break;
	default:
		for (unsigned i = 0; i < TV_U256_BYTES; i++)
			w[i] = (uint8_t)tg_rand(g);
		break;
	}
}

/* Text (valid UTF-8, whole code points) or blob bytes into the pool. */
static inline struct tv_value tg_bytes(struct tg *g, unsigned type)
{
	static const char *const text_syms[] = {
		"\0", "\x01", "a", "b", "\x7f", "\xc3\xa9", "\xf0\x9f\x98\x80",
	};
	static const uint8_t blob_syms[] = { 0x00, 0x01, 0x61, 0x7f, 0x80, 0xfe, 0xff };
	size_t n = tg_below(g, 7), start;

	if (g->cap - g->used < 4 * n)
		abort();        /* pool too small for the test */
	start = g->used;
	for (size_t i = 0; i < n; i++) {
		if (type == TV_BLOB) {
			g->pool[g->used++] = blob_syms[tg_below(g, sizeof(blob_syms))];
		} else {
			unsigned k = (unsigned)tg_below(g, 7);
			size_t len = k == 0 ? 1 : strlen(text_syms[k]);

			memcpy(g->pool + g->used, text_syms[k], len);
			g->used += len;
		}
	}
	return tv_bytes_of(type, g->pool + start, (uint32_t)(g->used - start));
}

static inline int64_t tg_i64(struct tg *g)
{
	static const int64_t edges[] = { INT64_MIN, INT64_MIN + 1, -1, 0, 1, INT64_MAX };

	switch (tg_below(g, 3)) {
	case 0:
		return edges[tg_below(g, 6)];
	case 1:
		return (int64_t)tg_below(g, 11) - 5;
	default:
		return (int64_t)tg_rand(g);
	}
}

static inline uint64_t tg_u64(struct tg *g)
{
	static const uint64_t edges[] = {
		0, 1, INT64_MAX, (uint64_t)INT64_MAX + 1, UINT64_MAX,
	};

	switch (tg_below(g, 3)) {
	case 0:
		return edges[tg_below(g, 5)];
	case 1:
		return tg_below(g, 8);
	default:
		return tg_rand(g);
	}
}

/* A random value of kind @type (TV_NULL included). */
static inline struct tv_value tg_value(struct tg *g, unsigned type)
{
	uint8_t w[TV_U256_BYTES];

	switch (type) {
	case TV_NULL:
		return tv_null();
	case TV_BOOLEAN:
		return tv_boolean(tg_below(g, 2));
	case TV_U8:
		return tv_u8((uint8_t)tg_u64(g));
	case TV_U64:
		return tv_u64(tg_u64(g));
	case TV_INTEGER:
		return tv_integer(tg_i64(g));
	case TV_TIMESTAMP:
		return tv_timestamp(tg_i64(g));
	case TV_FLOAT:
		return tv_float(tg_float(g));
	case TV_U256:
		tg_wide(g, w);
		return tv_u256(w);
	case TV_I256:
		tg_wide(g, w);
		return tv_i256(w);
	default:
		return tg_bytes(g, type);
	}
}

/* A kind from NULL to json, each equally likely. */
static inline unsigned tg_type(struct tg *g)
{
	return (unsigned)tg_below(g, TV_TYPE_LAST + 1);
}

#endif /* AEDB_TESTS_TABLE_GEN_H */
