/* SPDX-License-Identifier: MIT */
/* table/keyenc: exact bytes, round trips, memcmp order == value order (per
 * kind, across kinds, composite tuples; randomized), prefixes and
 * successors, corrupt keys. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aedb.h"
#include "table/keyenc.h"
#include "table/value.h"
#include "table_gen.h"

#define T_KEY_MAX 512

struct t_enc {
	struct tv_value v[4];   /* a tuple of 1..4 values */
	size_t n;
	uint8_t key[T_KEY_MAX];
	size_t len;
};

static int t_sign(int c)
{
	return (c > 0) - (c < 0);
}

static void t_encode(struct t_enc *e)
{
	assert_int_equal(tv_key_encode(e->v, e->n, e->key, sizeof(e->key), &e->len), 0);
}

/* The tuple order: tv_cmp on each position, then the shorter first. */
static int t_tuple_cmp(const struct t_enc *a, const struct t_enc *b)
{
	for (size_t i = 0; i < a->n && i < b->n; i++) {
		int c = tv_cmp(&a->v[i], &b->v[i]);

		if (c)
			return t_sign(c);
	}
	return (a->n > b->n) - (a->n < b->n);
}

static int t_key_order(const struct t_enc *a, const struct t_enc *b)
{
	return tv_key_cmp(a->key, a->len, b->key, b->len);
}

static int t_qsort_value(const void *a, const void *b)
{
	return t_tuple_cmp(a, b);
}

static int t_qsort_key(const void *a, const void *b)
{
	return t_key_order(a, b);
}

/* Decode @e's key back, compare with its values, and re-encode it. */
static void t_roundtrip(const struct t_enc *e)
{
	struct tv_value out[4];
	uint8_t scratch[T_KEY_MAX], again[T_KEY_MAX];
	size_t n = 0, len = 0;

	assert_int_equal(tv_key_decode(e->key, e->len, out, 4, &n, scratch), 0);
	assert_int_equal(n, e->n);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(out[i].type, e->v[i].type);
		assert_int_equal(tv_cmp(&out[i], &e->v[i]), 0);
		if (out[i].type == TV_FLOAT)    /* canonical: equal bits too */
			assert_memory_equal(&out[i].u.f64, &e->v[i].u.f64, 8);
	}
	assert_int_equal(tv_key_encode(out, n, again, sizeof(again), &len), 0);
	assert_int_equal(len, e->len);
	assert_memory_equal(again, e->key, len);
}

/* Every pair agrees; then sorting by either order gives the same sequence
 * up to ties. */
static void t_check_orders(struct t_enc *e, size_t n)
{
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < n; j++)
			if (t_tuple_cmp(&e[i], &e[j]) != t_key_order(&e[i], &e[j])) {
				print_error("pair %zu/%zu disagrees\n", i, j);
				fail();
			}
	qsort(e, n, sizeof(*e), t_qsort_key);
	for (size_t i = 1; i < n; i++)
		assert_true(t_tuple_cmp(&e[i - 1], &e[i]) <= 0);
	qsort(e, n, sizeof(*e), t_qsort_value);
	for (size_t i = 1; i < n; i++)
		assert_true(t_key_order(&e[i - 1], &e[i]) <= 0);
}

static void test_keyenc_exact_bytes(void **state)
{
	static const uint8_t one[] = { 0x05, 0x80, 0, 0, 0, 0, 0, 0, 0x01 };
	static const uint8_t minus_one[] = { 0x05, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff,
					     0xff, 0xff };
	static const uint8_t text[] = { 0x0a, 'a', 0x00, 0xff, 'b', 0x00, 0x00 };
	static const uint8_t tuple[] = { 0x01, 0x02, 0x01, 0x03, 0x07, 0x0c, 0x00, 0x00 };
	static const uint8_t f_one[] = { 0x09, 0xbf, 0xf0, 0, 0, 0, 0, 0, 0 };
	static const uint8_t f_neg[] = { 0x09, 0x3f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	struct tv_value v[4];
	uint8_t buf[64];
	size_t len;

	(void)state;
	v[0] = tv_integer(1);
	assert_int_equal(tv_key_encode(v, 1, buf, sizeof(buf), &len), 0);
	assert_int_equal(len, sizeof(one));
	assert_memory_equal(buf, one, len);
	v[0] = tv_integer(-1);
	assert_int_equal(tv_key_encode(v, 1, buf, sizeof(buf), &len), 0);
	assert_memory_equal(buf, minus_one, sizeof(minus_one));
	v[0] = tv_text("a\0b", 3);
	assert_int_equal(tv_key_encode(v, 1, buf, sizeof(buf), &len), 0);
	assert_int_equal(len, sizeof(text));
	assert_memory_equal(buf, text, len);
	v[0] = tv_null();
	v[1] = tv_boolean(true);
	v[2] = tv_u8(7);
	v[3] = tv_blob(NULL, 0);
	assert_int_equal(tv_key_encode(v, 4, buf, sizeof(buf), &len), 0);
	assert_int_equal(len, sizeof(tuple));
	assert_memory_equal(buf, tuple, len);
	v[0] = tv_float(1.0);
	assert_int_equal(tv_key_encode(v, 1, buf, sizeof(buf), &len), 0);
	assert_memory_equal(buf, f_one, sizeof(f_one));
	v[0] = tv_float(-2.0);  /* 0xc000.. with every bit flipped */
	assert_int_equal(tv_key_encode(v, 1, buf, sizeof(buf), &len), 0);
	assert_memory_equal(buf, f_neg, sizeof(f_neg));
	/* Too small a buffer: the needed size comes back. */
	assert_int_equal(tv_key_encode(v, 1, buf, 3, &len), -AEDB_ETOOBIG);
	assert_int_equal(len, 9);
	v[0].type = 12;
	assert_int_equal(tv_key_encode(v, 1, buf, sizeof(buf), &len), -AEDB_EINVAL);
}

static void test_keyenc_roundtrip_every_type(void **state)
{
	uint64_t seed = t_seed("keyenc_roundtrip");
	struct tg g;
	struct t_enc e;

	(void)state;
	tg_init(&g, seed, 1 << 20);
	for (unsigned type = 0; type <= TV_TYPE_LAST; type++) {
		for (int i = 0; i < 2000; i++) {
			e.n = 1;
			e.v[0] = tg_value(&g, type);
			t_encode(&e);
			assert_int_equal(e.len, tv_key_size(&e.v[0]));
			t_roundtrip(&e);
		}
		g.used = 0;
	}
	tg_free(&g);
}

static void test_keyenc_order_per_type(void **state)
{
	enum { N = 400 };
	uint64_t seed = t_seed("keyenc_order_per_type");
	struct t_enc *e = calloc(N, sizeof(*e));
	struct tg g;

	(void)state;
	assert_non_null(e);
	tg_init(&g, seed, 1 << 20);
	for (unsigned type = 0; type <= TV_TYPE_LAST; type++) {
		for (size_t i = 0; i < N; i++) {
			e[i].n = 1;
			/* A few NULLs in every column: they sort first. */
			e[i].v[0] = tg_value(&g, tg_below(&g, 20) ? type : TV_NULL);
			t_encode(&e[i]);
		}
		t_check_orders(e, N);
		g.used = 0;
	}
	tg_free(&g);
	free(e);
}

static void test_keyenc_order_mixed_kinds(void **state)
{
	enum { N = 600 };
	uint64_t seed = t_seed("keyenc_order_mixed");
	struct t_enc *e = calloc(N, sizeof(*e));
	struct tg g;

	(void)state;
	assert_non_null(e);
	tg_init(&g, seed, 1 << 20);
	for (size_t i = 0; i < N; i++) {
		e[i].n = 1;
		e[i].v[0] = tg_value(&g, tg_type(&g));
		t_encode(&e[i]);
	}
	t_check_orders(e, N);
	tg_free(&g);
	free(e);
}

/* Composite keys: a random column layout per round, with a small choice of
 * values per position so equal leading columns are common. */
static void test_keyenc_order_composite(void **state)
{
	enum { N = 300, ROUNDS = 30 };
	uint64_t seed = t_seed("keyenc_order_composite");
	struct t_enc *e = calloc(N, sizeof(*e));
	struct tv_value choice[4][6];
	unsigned types[4];
	struct tg g;

	(void)state;
	assert_non_null(e);
	tg_init(&g, seed, 1 << 20);
	for (int r = 0; r < ROUNDS; r++) {
		g.used = 0;
		for (unsigned c = 0; c < 4; c++) {
			types[c] = tg_type(&g);
			for (unsigned k = 0; k < 6; k++)
				choice[c][k] = tg_value(&g, k == 0 ? TV_NULL : types[c]);
		}
		for (size_t i = 0; i < N; i++) {
			/* Mostly full tuples; some leftmost prefixes. */
			e[i].n = tg_below(&g, 4) ? 4 : 1 + tg_below(&g, 3);
			for (size_t c = 0; c < e[i].n; c++)
				e[i].v[c] = choice[c][tg_below(&g, 6)];
			t_encode(&e[i]);
			t_roundtrip(&e[i]);
		}
		t_check_orders(e, N);
	}
	tg_free(&g);
	free(e);
}

static void t_key1(struct tv_value v, struct t_enc *e)
{
	e->n = 1;
	e->v[0] = v;
	t_encode(e);
}

static void test_keyenc_edges(void **state)
{
	uint8_t w[TV_U256_BYTES];
	struct t_enc a, b, c, d;

	(void)state;
	/* i256: min < -1 < 0 < max. */
	memset(w, 0, sizeof(w));
	w[0] = 0x80;
	t_key1(tv_i256(w), &a);
	t_key1(tv_i256_from_i64(-1), &b);
	t_key1(tv_i256_from_i64(0), &c);
	memset(w, 0xff, sizeof(w));
	w[0] = 0x7f;
	t_key1(tv_i256(w), &d);
	assert_true(t_key_order(&a, &b) < 0);
	assert_true(t_key_order(&b, &c) < 0);
	assert_true(t_key_order(&c, &d) < 0);
	t_roundtrip(&a);
	t_roundtrip(&d);
	/* -0.0 and 0.0 are one key; NaN sorts after +inf. */
	t_key1(tv_float(-0.0), &a);
	t_key1(tv_float(0.0), &b);
	assert_int_equal(t_key_order(&a, &b), 0);
	t_key1(tv_float(INFINITY), &a);
	t_key1(tv_float(-NAN), &b);
	t_key1(tv_float(NAN), &c);
	assert_true(t_key_order(&a, &b) < 0);
	assert_int_equal(t_key_order(&b, &c), 0);
	/* "" < "\0" < "\0\0" < "\x01" and "a" < "a\0" < "aa". */
	t_key1(tv_text("", 0), &a);
	t_key1(tv_text("\0", 1), &b);
	t_key1(tv_text("\0\0", 2), &c);
	t_key1(tv_text("\x01", 1), &d);
	assert_true(t_key_order(&a, &b) < 0);
	assert_true(t_key_order(&b, &c) < 0);
	assert_true(t_key_order(&c, &d) < 0);
	t_roundtrip(&c);
	t_key1(tv_blob("a", 1), &a);
	t_key1(tv_blob("a\0", 2), &b);
	t_key1(tv_blob("aa", 2), &c);
	assert_true(t_key_order(&a, &b) < 0);
	assert_true(t_key_order(&b, &c) < 0);
	/* Blobs sort lexicographically, not by length (reference [rec]). */
	t_key1(tv_blob("b", 1), &d);
	assert_true(t_key_order(&c, &d) < 0);
	/* Composite: ("a", 9) < ("a\0", 1): the first column decides. */
	a.n = b.n = 2;
	a.v[0] = tv_text("a", 1);
	a.v[1] = tv_integer(9);
	b.v[0] = tv_text("a\0", 2);
	b.v[1] = tv_integer(1);
	t_encode(&a);
	t_encode(&b);
	assert_true(t_key_order(&a, &b) < 0);
	/* NULL sorts first, before false. */
	t_key1(tv_null(), &a);
	t_key1(tv_boolean(false), &b);
	assert_true(t_key_order(&a, &b) < 0);
}

static void test_keyenc_successor_and_prefix(void **state)
{
	uint64_t seed = t_seed("keyenc_prefix");
	uint8_t k[8] = { 'a', 'b' }, lo[64], hi[64];
	size_t len = 2, lo_len, hi_len;
	struct t_enc e, p2;
	struct tg g;

	(void)state;
	assert_true(tv_key_successor(k, &len));
	assert_int_equal(len, 2);
	assert_memory_equal(k, "ac", 2);
	memcpy(k, "a\xff\xff", 3);
	len = 3;
	assert_true(tv_key_successor(k, &len));
	assert_int_equal(len, 1);
	assert_int_equal(k[0], 'b');
	memcpy(k, "\xff\xff", 2);
	len = 2;
	assert_false(tv_key_successor(k, &len));
	assert_int_equal(len, 2);
	len = 0;
	assert_false(tv_key_successor(k, &len));
	lo_len = 0;
	assert_int_equal(tv_key_put_bytes_prefix(TV_INTEGER, NULL, 0, lo, 64, &lo_len),
			 -AEDB_EINVAL);
	assert_int_equal(tv_key_put_bytes_prefix(TV_TEXT, (const uint8_t *)"abc", 3, lo, 3,
						 &lo_len), -AEDB_ETOOBIG);
	assert_int_equal(lo_len, 0);

	/* t starts with p  <=>  enc(p) <= enc(t) < successor(enc(p)). */
	tg_init(&g, seed, 1 << 20);
	for (int i = 0; i < 20000; i++) {
		unsigned type = tg_below(&g, 2) ? TV_TEXT : TV_BLOB;
		struct tv_value p = tg_value(&g, type), t = tg_value(&g, type);
		bool starts = t.len >= p.len && (!p.len || !memcmp(t.u.bytes, p.u.bytes, p.len));

		if (tg_below(&g, 3) == 0 && t.len) {    /* make it a real prefix */
			p = t;
			p.len = (uint32_t)tg_below(&g, t.len + 1);
			starts = true;
		}
		lo_len = 0;
		assert_int_equal(tv_key_put_bytes_prefix(type, p.u.bytes, p.len, lo,
							 sizeof(lo), &lo_len), 0);
		memcpy(hi, lo, lo_len);
		hi_len = lo_len;
		assert_true(tv_key_successor(hi, &hi_len));     /* a tag is never 0xff */
		t_key1(t, &e);
		assert_int_equal(starts, tv_key_cmp(lo, lo_len, e.key, e.len) <= 0 &&
				 tv_key_cmp(e.key, e.len, hi, hi_len) < 0);
		/* Leftmost column prefix of a composite key. */
		p2.n = 2;
		p2.v[0] = t;
		p2.v[1] = tg_value(&g, tg_type(&g));
		t_encode(&p2);
		memcpy(hi, e.key, e.len);
		hi_len = e.len;
		assert_true(tv_key_successor(hi, &hi_len));
		assert_true(tv_key_cmp(e.key, e.len, p2.key, p2.len) < 0);
		assert_true(tv_key_cmp(p2.key, p2.len, hi, hi_len) < 0);
		g.used = 0;
	}
	tg_free(&g);
}

static void t_expect_corrupt(const void *key, size_t len)
{
	struct tv_value out[4];
	uint8_t scratch[64];
	size_t n;

	assert_int_equal(tv_key_decode(key, len, out, 4, &n, scratch), -AEDB_ECORRUPT);
}

static void test_keyenc_corrupt(void **state)
{
	static const uint8_t neg_zero[] = { 0x09, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
					    0xff };
	static const uint8_t odd_nan[] = { 0x09, 0xff, 0xf8, 0, 0, 0, 0, 0, 0x01 };
	uint8_t scratch[64];
	struct tv_value out[4];
	size_t n, off;

	(void)state;
	t_expect_corrupt("\x00", 1);                    /* tag 0x00 */
	t_expect_corrupt("\x0d", 1);                    /* past the last tag */
	t_expect_corrupt("\xff", 1);
	t_expect_corrupt("\x05\x80\x00", 3);            /* integer cut short */
	t_expect_corrupt("\x02\x02", 2);                /* boolean 2 */
	t_expect_corrupt("\x0a" "ab", 3);               /* no terminator */
	t_expect_corrupt("\x0a" "ab\x00", 4);           /* half a terminator */
	t_expect_corrupt("\x0a" "a\x00\x01\x00\x00", 6); /* bad escape */
	t_expect_corrupt("\x0a\xc3\x00\x00", 4);        /* text: invalid UTF-8 */
	t_expect_corrupt("\x0b\xff\x00\x00", 4);        /* json too */
	t_expect_corrupt(neg_zero, sizeof(neg_zero));   /* -0.0 is never encoded */
	t_expect_corrupt(odd_nan, sizeof(odd_nan));     /* nor a NaN payload */
	/* A blob may hold any byte. */
	assert_int_equal(tv_key_decode((const uint8_t *)"\x0c\xff\xc3\x00\x00", 5, out, 4,
				       &n, scratch), 0);
	assert_int_equal(n, 1);
	assert_int_equal(out[0].len, 2);
	/* Too many components; escapes with nowhere to unescape them. */
	assert_int_equal(tv_key_decode((const uint8_t *)"\x01\x01\x01", 3, out, 2, &n,
				       scratch), -AEDB_ETOOBIG);
	assert_int_equal(tv_key_decode((const uint8_t *)"\x0a\x00\xff\x00\x00", 5, out, 4,
				       &n, NULL), -AEDB_EMISUSE);
	/* Skipping needs no scratch. */
	off = 0;
	assert_int_equal(tv_key_decode_one((const uint8_t *)"\x0a\x00\xff\x00\x00\x01", 6,
					   &off, NULL, NULL), 0);
	assert_int_equal(off, 5);
	assert_int_equal(tv_key_decode_one((const uint8_t *)"\x01", 1, &off, NULL, NULL),
			 -AEDB_ECORRUPT);       /* at the end */
}

/* Random damage never crashes; whatever still decodes is canonical. */
static void test_keyenc_mutations(void **state)
{
	uint64_t seed = t_seed("keyenc_mutations");
	struct tv_value out[8];
	uint8_t scratch[T_KEY_MAX], again[T_KEY_MAX];
	struct t_enc e;
	struct tg g;

	(void)state;
	tg_init(&g, seed, 1 << 20);
	for (int i = 0; i < 20000; i++) {
		size_t n, len;

		e.n = 1 + tg_below(&g, 4);
		for (size_t c = 0; c < e.n; c++)
			e.v[c] = tg_value(&g, tg_type(&g));
		t_encode(&e);
		switch (tg_below(&g, 3)) {
		case 0:
			e.len = tg_below(&g, e.len + 1);
			break;
		case 1:
			e.key[tg_below(&g, e.len)] = (uint8_t)tg_rand(&g);
			break;
		default:
			e.key[tg_below(&g, e.len)] ^= (uint8_t)(1u << tg_below(&g, 8));
			break;
		}
		if (tv_key_decode(e.key, e.len, out, 8, &n, scratch) == 0) {
			assert_int_equal(tv_key_encode(out, n, again, sizeof(again), &len), 0);
			assert_int_equal(len, e.len);
			assert_memory_equal(again, e.key, len);
		}
		g.used = 0;
	}
	tg_free(&g);
}

/* tv_key_cmp (words, then a byte tail) is memcmp's order, the shorter
 * first on a common prefix: byte strings of 0..40 bytes over a small
 * alphabet, so long common prefixes and every tail length occur. */
static void test_keyenc_cmp_is_memcmp(void **state)
{
	uint64_t x = 0x9e3779b97f4a7c15ull;
	uint8_t a[40], b[40];

	(void)state;
	for (int i = 0; i < 200000; i++) {
		size_t alen, blen, n;
		int want;

		x = x * 6364136223846793005ull + 1442695040888963407ull;
		alen = (size_t)(x >> 33) % 41;
		blen = (size_t)(x >> 45) % 41;
		for (size_t k = 0; k < 40; k++) {
			x = x * 6364136223846793005ull + 1442695040888963407ull;
			a[k] = (uint8_t)((x >> 60) & 3 ? 0x80 : x >> 52);
			b[k] = (x >> 58) & 7 ? a[k] : (uint8_t)(x >> 44);
		}
		n = alen < blen ? alen : blen;
		want = n ? memcmp(a, b, n) : 0;
		want = want < 0 ? -1 : want > 0 ? 1 : (alen > blen) - (alen < blen);
		assert_int_equal(tv_key_cmp(a, alen, b, blen), want);
		assert_int_equal(tv_key_cmp(b, blen, a, alen), -want);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keyenc_exact_bytes),
		cmocka_unit_test(test_keyenc_roundtrip_every_type),
		cmocka_unit_test(test_keyenc_order_per_type),
		cmocka_unit_test(test_keyenc_order_mixed_kinds),
		cmocka_unit_test(test_keyenc_order_composite),
		cmocka_unit_test(test_keyenc_edges),
		cmocka_unit_test(test_keyenc_successor_and_prefix),
		cmocka_unit_test(test_keyenc_corrupt),
		cmocka_unit_test(test_keyenc_mutations),
		cmocka_unit_test(test_keyenc_cmp_is_memcmp),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
