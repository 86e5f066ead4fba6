/* SPDX-License-Identifier: MIT */
/*
 * txn/eval.h: the pure evaluation of transaction entries. Big-endian add and
 * subtract at the carry/borrow edges (u64 and u256, and against a reference
 * model on random values); every numeric operator x policy of reference §5.8;
 * assertions and read-set checks (§5.3, §5.4); txn_cur_after; and the verdict
 * merge that picks which participant's failure a cross-shard commit reports.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "t_helpers.h"
#include "txn/eval.h"

/* ---- big-endian helpers and a reference u256 (4 x u64 limbs) ---- */

static void put_be(uint8_t *out, uint32_t w, uint64_t v)
{
	memset(out, 0, w);
	for (uint32_t i = 0; i < 8 && i < w; i++)
		out[w - 1 - i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_be64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

/* limb[0] is the most significant */
static void limbs_to_be(uint8_t out[32], const uint64_t l[4])
{
	for (int i = 0; i < 4; i++)
		put_be(out + 8 * i, 8, l[i]);
}

static int ref_add256(uint64_t r[4], const uint64_t a[4], const uint64_t b[4])
{
	unsigned carry = 0;

	for (int i = 3; i >= 0; i--) {
		uint64_t s = a[i] + b[i];
		unsigned c1 = s < a[i];
		uint64_t s2 = s + carry;
		unsigned c2 = s2 < s;

		r[i] = s2;
		carry = c1 | c2;
	}
	return (int)carry;
}

static int ref_sub256(uint64_t r[4], const uint64_t a[4], const uint64_t b[4])
{
	unsigned borrow = 0;

	for (int i = 3; i >= 0; i--) {
		uint64_t d = a[i] - b[i];
		unsigned b1 = a[i] < b[i];
		uint64_t d2 = d - borrow;
		unsigned b2 = d < borrow;

		r[i] = d2;
		borrow = b1 | b2;
	}
	return (int)borrow;
}

/* A value likely to hit carry chains: all-zero, all-one, or random limbs. */
static uint64_t edge_limb(uint64_t *seed)
{
	uint64_t x = t_rand(seed);

	switch (x % 5) {
	case 0: return 0;
	case 1: return UINT64_MAX;
	case 2: return UINT64_MAX - (x >> 60);
	case 3: return x >> 58;
	default: return t_rand(seed);
	}
}

/* ---- add / subtract ---- */

static void test_txn_eval_add_sub_u64_edges(void **state)
{
	static const struct {
		uint64_t a, b, sum;
		int carry;
	} adds[] = {
		{ 0, 0, 0, 0 },
		{ 1, 2, 3, 0 },
		{ 0xff, 1, 0x100, 0 },
		{ 0xffffffffull, 1, 0x100000000ull, 0 },
		{ UINT64_MAX - 1, 1, UINT64_MAX, 0 },
		{ UINT64_MAX, 1, 0, 1 },
		{ UINT64_MAX, UINT64_MAX, UINT64_MAX - 1, 1 },
		{ 1ull << 63, 1ull << 63, 0, 1 },
		{ 0x00ff00ff00ff00ffull, 0xff00ff00ff00ff01ull, 0, 1 },
	};
	uint8_t a[8], b[8], r[8];

	(void)state;
	for (size_t i = 0; i < sizeof(adds) / sizeof(adds[0]); i++) {
		put_be(a, 8, adds[i].a);
		put_be(b, 8, adds[i].b);
		assert_int_equal(txn_num_add(r, a, b, 8), adds[i].carry);
		assert_int_equal(get_be64(r), adds[i].sum);
		/* subtraction undoes it, with a borrow exactly when add carried */
		assert_int_equal(txn_num_sub(a, r, b, 8), adds[i].carry);
		assert_int_equal(get_be64(a), adds[i].a);
	}
	put_be(a, 8, 0);
	put_be(b, 8, 1);
	assert_int_equal(txn_num_sub(r, a, b, 8), 1);
	assert_int_equal(get_be64(r), UINT64_MAX);
	put_be(a, 8, 0x100);
	assert_int_equal(txn_num_sub(r, a, b, 8), 0);
	assert_int_equal(get_be64(r), 0xff);
	put_be(a, 8, 5);
	put_be(b, 8, 5);
	assert_int_equal(txn_num_sub(r, a, b, 8), 0);
	assert_int_equal(get_be64(r), 0);
	put_be(b, 8, 6);
	assert_int_equal(txn_num_sub(r, a, b, 8), 1);
	assert_int_equal(get_be64(r), UINT64_MAX);
}

static void test_txn_eval_add_sub_u256_edges(void **state)
{
	uint8_t a[32], b[32], r[32], want[32];

	(void)state;
	/* carry out of the low limb into the next one: (2^64 - 1) + 1 = 2^64 */
	put_be(a, 32, UINT64_MAX);
	put_be(b, 32, 1);
	assert_int_equal(txn_num_add(r, a, b, 32), 0);
	memset(want, 0, 32);
	want[23] = 1;
	assert_memory_equal(r, want, 32);
	/* and back, borrowing across the limb */
	assert_int_equal(txn_num_sub(a, r, b, 32), 0);
	put_be(want, 32, UINT64_MAX);
	assert_memory_equal(a, want, 32);
	/* 2^256 - 1 + 1 carries out and wraps to 0 */
	memset(a, 0xff, 32);
	assert_int_equal(txn_num_add(r, a, b, 32), 1);
	memset(want, 0, 32);
	assert_memory_equal(r, want, 32);
	/* (2^256 - 1) + (2^256 - 1) = 2^256 - 2, carry */
	memset(b, 0xff, 32);
	assert_int_equal(txn_num_add(r, a, b, 32), 1);
	memset(want, 0xff, 32);
	want[31] = 0xfe;
	assert_memory_equal(r, want, 32);
	/* 0 - 1 borrows out: 2^256 - 1 */
	memset(a, 0, 32);
	put_be(b, 32, 1);
	assert_int_equal(txn_num_sub(r, a, b, 32), 1);
	memset(want, 0xff, 32);
	assert_memory_equal(r, want, 32);
	/* 2^255 - 1 = 0x7fff...ff: borrow through every byte */
	memset(a, 0, 32);
	a[0] = 0x80;
	assert_int_equal(txn_num_sub(r, a, b, 32), 0);
	memset(want, 0xff, 32);
	want[0] = 0x7f;
	assert_memory_equal(r, want, 32);
	/* a top-byte difference wins over everything below it */
	memset(a, 0, 32);
	memset(b, 0xff, 32);
	a[0] = 1;
	b[0] = 0;
	assert_int_equal(txn_num_sub(r, a, b, 32), 0);
	memset(want, 0, 32);
	want[31] = 1;
	assert_memory_equal(r, want, 32);
}

static void test_txn_eval_add_sub_random_vs_reference(void **state)
{
	uint64_t seed = t_seed("txn_eval_add_sub_random");

	(void)state;
	for (int n = 0; n < 200000; n++) {
		uint64_t la[4], lb[4], lr[4];
		uint8_t a[32], b[32], r[32], want[32];
		int c;

		for (int i = 0; i < 4; i++) {
			la[i] = edge_limb(&seed);
			lb[i] = edge_limb(&seed);
		}
		limbs_to_be(a, la);
		limbs_to_be(b, lb);
		c = ref_add256(lr, la, lb);
		limbs_to_be(want, lr);
		assert_int_equal(txn_num_add(r, a, b, 32), c);
		assert_memory_equal(r, want, 32);
		c = ref_sub256(lr, la, lb);
		limbs_to_be(want, lr);
		assert_int_equal(txn_num_sub(r, a, b, 32), c);
		assert_memory_equal(r, want, 32);
		/* u64: the low limb alone, against native arithmetic */
		{
			uint64_t x = la[3], y = lb[3];

			assert_int_equal(txn_num_add(r, a + 24, b + 24, 8), x + y < x);
			assert_int_equal(get_be64(r), x + y);
			assert_int_equal(txn_num_sub(r, a + 24, b + 24, 8), x < y);
			assert_int_equal(get_be64(r), x - y);
		}
	}
}

/* ---- numeric mutations ---- */

struct num_case {
	uint32_t op, flags;
	int present;          /* current state: present with value cur */
	uint64_t cur;         /* low 64 bits (width 8: the value) */
	int cur_max;          /* current value is the maximum of its width */
	uint64_t operand;
	uint64_t version;     /* the key's version when present */
	uint64_t expect_ver;  /* with AEDB_NUM_EXPECT_VERSION */
	int rc;               /* expected result */
	int kind;             /* expected effect kind (rc == 0) */
	uint64_t result;      /* expected written value (kind SET) */
	int result_max;       /* ... or the maximum */
};

#define C(op, fl, pr, cur, op_, rc, kind, res)                                  \
	{ AEDB_NUM_##op, fl, pr, cur, 0, op_, 7, 0, rc, kind, res, 0 }

static const struct num_case num_cases[] = {
	/* ADD: missing reads as zero, or is rejected; overflow rejects or
	 * saturates; adding zero still writes (and creates). */
	C(ADD, 0, 0, 0, 5, 0, TXN_EFF_SET, 5),
	C(ADD, AEDB_NUM_MISSING_REJECT, 0, 0, 5, -AEDB_ENOTFOUND, 0, 0),
	C(ADD, AEDB_NUM_MISSING_REJECT, 1, 10, 5, 0, TXN_EFF_SET, 15),
	C(ADD, 0, 1, 10, 5, 0, TXN_EFF_SET, 15),
	C(ADD, 0, 0, 0, 0, 0, TXN_EFF_SET, 0),
	C(ADD, 0, 1, 9, 0, 0, TXN_EFF_SET, 9),
	{ AEDB_NUM_ADD, 0, 1, 0, 1, 1, 7, 0, -AEDB_EOVERFLOW, 0, 0, 0 },
	{ AEDB_NUM_ADD, AEDB_NUM_SATURATE, 1, 0, 1, 1, 7, 0, 0, TXN_EFF_SET, 0, 1 },
	{ AEDB_NUM_ADD, AEDB_NUM_SATURATE, 1, 0, 1, 0, 7, 0, 0, TXN_EFF_SET, 0, 1 },
	/* SUB: strict underflow, or a no-op that neither writes nor creates */
	C(SUB, 0, 1, 10, 3, 0, TXN_EFF_SET, 7),
	C(SUB, 0, 1, 10, 10, 0, TXN_EFF_SET, 0),
	C(SUB, 0, 1, 3, 10, -AEDB_EUNDERFLOW, 0, 0),
	C(SUB, AEDB_NUM_UNDERFLOW_NOOP, 1, 3, 10, 0, TXN_EFF_NONE, 0),
	C(SUB, AEDB_NUM_UNDERFLOW_NOOP, 1, 10, 3, 0, TXN_EFF_SET, 7),
	C(SUB, 0, 0, 0, 1, -AEDB_EUNDERFLOW, 0, 0),
	C(SUB, AEDB_NUM_UNDERFLOW_NOOP, 0, 0, 1, 0, TXN_EFF_NONE, 0),
	C(SUB, 0, 0, 0, 0, 0, TXN_EFF_SET, 0),
	C(SUB, AEDB_NUM_MISSING_REJECT, 0, 0, 0, -AEDB_ENOTFOUND, 0, 0),
	C(SUB, AEDB_NUM_MISSING_REJECT | AEDB_NUM_UNDERFLOW_NOOP, 0, 0, 1, -AEDB_ENOTFOUND, 0, 0),
	/* MAX / MIN: an existing key that would not change is not written;
	 * a missing one (as zero) always is. */
	C(MAX, 0, 1, 10, 12, 0, TXN_EFF_SET, 12),
	C(MAX, 0, 1, 10, 5, 0, TXN_EFF_NONE, 0),
	C(MAX, 0, 1, 10, 10, 0, TXN_EFF_NONE, 0),
	C(MAX, 0, 0, 0, 7, 0, TXN_EFF_SET, 7),
	C(MAX, 0, 0, 0, 0, 0, TXN_EFF_SET, 0),
	C(MAX, AEDB_NUM_MISSING_REJECT, 0, 0, 7, -AEDB_ENOTFOUND, 0, 0),
	C(MIN, 0, 1, 10, 3, 0, TXN_EFF_SET, 3),
	C(MIN, 0, 1, 10, 12, 0, TXN_EFF_NONE, 0),
	C(MIN, 0, 1, 10, 10, 0, TXN_EFF_NONE, 0),
	C(MIN, 0, 0, 0, 7, 0, TXN_EFF_SET, 0),
	C(MIN, AEDB_NUM_MISSING_REJECT, 0, 0, 7, -AEDB_ENOTFOUND, 0, 0),
	/* SET */
	C(SET, 0, 1, 10, 3, 0, TXN_EFF_SET, 3),
	C(SET, 0, 0, 0, 3, 0, TXN_EFF_SET, 3),
	C(SET, 0, 1, 10, 10, 0, TXN_EFF_SET, 10),
	C(SET, AEDB_NUM_MISSING_REJECT, 0, 0, 3, -AEDB_ENOTFOUND, 0, 0),
	/* EXPECT_VERSION: a compare-and-mutate; absent is version 0 */
	{ AEDB_NUM_ADD, AEDB_NUM_EXPECT_VERSION, 1, 10, 0, 1, 7, 7, 0, TXN_EFF_SET, 11, 0 },
	{ AEDB_NUM_ADD, AEDB_NUM_EXPECT_VERSION, 1, 10, 0, 1, 7, 6, -AEDB_EASSERT, 0, 0, 0 },
	{ AEDB_NUM_ADD, AEDB_NUM_EXPECT_VERSION, 1, 10, 0, 1, 7, 0, -AEDB_EASSERT, 0, 0, 0 },
	{ AEDB_NUM_SET, AEDB_NUM_EXPECT_VERSION, 0, 0, 0, 4, 7, 0, 0, TXN_EFF_SET, 4, 0 },
	{ AEDB_NUM_SET, AEDB_NUM_EXPECT_VERSION, 0, 0, 0, 4, 7, 7, -AEDB_EASSERT, 0, 0, 0 },
	{ AEDB_NUM_SUB, AEDB_NUM_EXPECT_VERSION, 1, 3, 0, 4, 7, 7, -AEDB_EUNDERFLOW, 0, 0, 0 },
};

static void num_item(struct txn_item *m, uint32_t w, const struct num_case *c)
{
	memset(m, 0, sizeof(*m));
	m->kind = TXN_NUM;
	m->op = (uint8_t)c->op;
	m->width = (uint8_t)w;
	m->flags = c->flags;
	m->version = c->expect_ver;
	put_be(m->operand, w, c->operand);
}

static void test_txn_eval_num_ops_policies(void **state)
{
	struct aedb_txn t;

	(void)state;
	memset(&t, 0, sizeof(t));
	for (uint32_t w = 8; w <= 32; w += 24) {
		for (size_t i = 0; i < sizeof(num_cases) / sizeof(num_cases[0]); i++) {
			const struct num_case *c = &num_cases[i];
			uint8_t curv[32], want[32];
			struct txn_cur cur = { 0 };
			struct txn_item m;
			struct txn_eff e;
			int rc;

			num_item(&m, w, c);
			if (c->present) {
				if (c->cur_max)
					memset(curv, 0xff, w);
				else
					put_be(curv, w, c->cur);
				cur.val = curv;
				cur.len = w;
				cur.present = 1;
				cur.version = c->version;
			}
			memset(&e, 0xa5, sizeof(e));
			rc = txn_eval_mut(&t, &m, &cur, &e);
			if (rc != c->rc)
				fail_msg("width %u case %zu: rc %d, want %d", w, i, rc, c->rc);
			if (rc)
				continue;
			assert_ptr_equal(e.item, &m);
			if (e.kind != c->kind)
				fail_msg("width %u case %zu: kind %u, want %d", w, i, e.kind,
					 c->kind);
			if (e.kind != TXN_EFF_SET)
				continue;
			if (c->result_max)
				memset(want, 0xff, w);
			else
				put_be(want, w, c->result);
			assert_int_equal(e.len, w);
			assert_memory_equal(txn_eff_val(&e), want, w);
			/* the input state was not modified */
			if (c->present && !c->cur_max)
				assert_int_equal(get_be64(curv + w - 8), c->cur);
		}
	}
}

static void test_txn_eval_num_wrong_width(void **state)
{
	static const uint32_t ops[] = { AEDB_NUM_ADD, AEDB_NUM_SUB, AEDB_NUM_MAX, AEDB_NUM_MIN,
					AEDB_NUM_SET };
	uint8_t v[33] = { 0 };
	struct aedb_txn t;

	(void)state;
	memset(&t, 0, sizeof(t));
	for (size_t o = 0; o < 5; o++) {
		for (uint32_t w = 8; w <= 32; w += 24) {
			static const uint32_t lens[] = { 0, 1, 7, 9, 31, 33, 8, 32 };

			for (size_t l = 0; l < sizeof(lens) / sizeof(lens[0]); l++) {
				struct num_case c = { .op = ops[o], .operand = 1 };
				struct txn_cur cur = { v, lens[l], 1, 3 };
				struct txn_item m;
				struct txn_eff e;
				int rc;

				if (lens[l] == w)
					continue;
				num_item(&m, w, &c);
				rc = txn_eval_mut(&t, &m, &cur, &e);
				if (rc != -AEDB_ETYPE)
					fail_msg("op %u width %u stored %u: rc %d", ops[o], w,
						 lens[l], rc);
				/* also with the soft policies: a type error is never a no-op */
				m.flags = AEDB_NUM_UNDERFLOW_NOOP | AEDB_NUM_SATURATE;
				assert_int_equal(txn_eval_mut(&t, &m, &cur, &e), -AEDB_ETYPE);
			}
		}
	}
}

static void test_txn_eval_num_u256_limbs(void **state)
{
	uint8_t curv[32], want[32];
	struct txn_cur cur = { curv, 32, 1, 9 };
	struct num_case c = { .op = AEDB_NUM_ADD, .operand = 1 };
	struct aedb_txn t;
	struct txn_item m;
	struct txn_eff e;

	(void)state;
	memset(&t, 0, sizeof(t));
	/* 2^64 - 1 + 1: a u64 would overflow, a u256 carries */
	put_be(curv, 32, UINT64_MAX);
	num_item(&m, 32, &c);
	assert_int_equal(txn_eval_mut(&t, &m, &cur, &e), 0);
	memset(want, 0, 32);
	want[23] = 1;
	assert_memory_equal(txn_eff_val(&e), want, 32);
	/* 2^64 - 1: strict, over 2^64 underflows; max keeps 2^64 */
	memcpy(curv, want, 32);
	c.op = AEDB_NUM_SUB;
	num_item(&m, 32, &c);
	assert_int_equal(txn_eval_mut(&t, &m, &cur, &e), 0);
	put_be(want, 32, UINT64_MAX);
	assert_memory_equal(txn_eff_val(&e), want, 32);
	memset(m.operand, 0, 32);
	m.operand[22] = 1; /* 2^72 > 2^64 */
	assert_int_equal(txn_eval_mut(&t, &m, &cur, &e), -AEDB_EUNDERFLOW);
	m.op = AEDB_NUM_MAX;
	assert_int_equal(txn_eval_mut(&t, &m, &cur, &e), 0);
	assert_int_equal(e.kind, TXN_EFF_SET);
	assert_memory_equal(txn_eff_val(&e), m.operand, 32);
	m.op = AEDB_NUM_MIN;
	assert_int_equal(txn_eval_mut(&t, &m, &cur, &e), 0);
	assert_int_equal(e.kind, TXN_EFF_NONE);
	/* a high-limb-only operand compared against a low-limb-only value */
	memset(curv, 0, 32);
	curv[31] = 0xff;
	memset(m.operand, 0, 32);
	m.operand[0] = 1;
	m.op = AEDB_NUM_MIN;
	assert_int_equal(txn_eval_mut(&t, &m, &cur, &e), 0);
	assert_int_equal(e.kind, TXN_EFF_NONE);
	m.op = AEDB_NUM_MAX;
	assert_int_equal(txn_eval_mut(&t, &m, &cur, &e), 0);
	assert_int_equal(e.kind, TXN_EFF_SET);
	assert_memory_equal(txn_eff_val(&e), m.operand, 32);
}

/* ---- plain mutations, txn_cur_after ---- */

static void test_txn_eval_set_del_and_cur_after(void **state)
{
	uint8_t arena[16] = "keyvalue";
	struct aedb_txn t;
	struct txn_item m;
	struct txn_eff e;
	struct txn_cur cur = { 0 };

	(void)state;
	memset(&t, 0, sizeof(t));
	t.arena = arena;
	memset(&m, 0, sizeof(m));
	m.kind = TXN_SET;
	m.key_off = 0;
	m.key_len = 3;
	m.val_off = 3;
	m.val_len = 5;
	assert_int_equal(txn_eval_mut(&t, &m, &cur, &e), 0);
	assert_int_equal(e.kind, TXN_EFF_SET);
	assert_int_equal(e.len, 5);
	assert_memory_equal(txn_eff_val(&e), "value", 5);
	txn_cur_after(&cur, &e, 42);
	assert_int_equal(cur.present, 1);
	assert_int_equal(cur.len, 5);
	assert_int_equal(cur.version, 42);
	assert_memory_equal(cur.val, "value", 5);
	m.kind = TXN_DEL;
	assert_int_equal(txn_eval_mut(&t, &m, &cur, &e), 0);
	assert_int_equal(e.kind, TXN_EFF_DEL);
	txn_cur_after(&cur, &e, 43);
	assert_int_equal(cur.present, 0);
	assert_int_equal(cur.version, 0);
	/* a no-op effect leaves the state as it was */
	cur = (struct txn_cur){ (const uint8_t *)"x", 1, 1, 5 };
	e.kind = TXN_EFF_NONE;
	txn_cur_after(&cur, &e, 44);
	assert_int_equal(cur.present, 1);
	assert_int_equal(cur.version, 5);
	assert_int_equal(cur.len, 1);
	/* a numeric result feeds the next numeric mutation */
	{
		struct num_case c = { .op = AEDB_NUM_ADD, .operand = 5 };
		uint8_t v[8];
		struct txn_eff e2;

		put_be(v, 8, 10);
		cur = (struct txn_cur){ v, 8, 1, 5 };
		num_item(&m, 8, &c);
		assert_int_equal(txn_eval_mut(&t, &m, &cur, &e), 0);
		txn_cur_after(&cur, &e, 45);
		assert_int_equal(txn_eval_mut(&t, &m, &cur, &e2), 0);
		assert_int_equal(get_be64(txn_eff_val(&e2)), 20);
	}
}

/* ---- assertions and read sets ---- */

struct chk {
	struct aedb_txn t;
	uint8_t arena[256];
	struct txn_item a;
};

static void chk_item(struct chk *c, uint8_t kind, uint8_t op, const void *val, uint32_t len,
		     uint64_t version)
{
	memset(&c->t, 0, sizeof(c->t));
	c->t.arena = c->arena;
	memcpy(c->arena, "k", 1);
	if (len)
		memcpy(c->arena + 1, val, len);
	memset(&c->a, 0, sizeof(c->a));
	c->a.kind = kind;
	c->a.op = op;
	c->a.key_len = 1;
	c->a.val_off = 1;
	c->a.val_len = len;
	c->a.version = version;
}

static int chk_run(struct chk *c, const void *cur_val, uint32_t cur_len, int present,
		   uint64_t version)
{
	struct txn_cur cur = { cur_val, cur_len, (uint8_t)present, present ? version : 0 };

	return txn_eval_check(&c->t, &c->a, &cur);
}

static void test_txn_eval_assert_exists_equals_version(void **state)
{
	struct chk c;

	(void)state;
	chk_item(&c, TXN_A_EXISTS, 1, NULL, 0, 0);
	assert_int_equal(chk_run(&c, "v", 1, 1, 3), 0);
	assert_int_equal(chk_run(&c, NULL, 0, 0, 0), -AEDB_EASSERT);
	assert_int_equal(chk_run(&c, "", 0, 1, 3), 0); /* empty value is present */
	chk_item(&c, TXN_A_EXISTS, 0, NULL, 0, 0);
	assert_int_equal(chk_run(&c, "v", 1, 1, 3), -AEDB_EASSERT);
	assert_int_equal(chk_run(&c, NULL, 0, 0, 0), 0);

	chk_item(&c, TXN_A_EQUALS, 0, "abc", 3, 0);
	assert_int_equal(chk_run(&c, "abc", 3, 1, 3), 0);
	assert_int_equal(chk_run(&c, "abd", 3, 1, 3), -AEDB_EASSERT);
	assert_int_equal(chk_run(&c, "ab", 2, 1, 3), -AEDB_EASSERT);
	assert_int_equal(chk_run(&c, "abcd", 4, 1, 3), -AEDB_EASSERT);
	assert_int_equal(chk_run(&c, NULL, 0, 0, 0), -AEDB_EASSERT);
	chk_item(&c, TXN_A_EQUALS, 0, NULL, 0, 0);
	assert_int_equal(chk_run(&c, "", 0, 1, 3), 0);
	assert_int_equal(chk_run(&c, NULL, 0, 0, 0), -AEDB_EASSERT); /* absent != "" */
	assert_int_equal(chk_run(&c, "x", 1, 1, 3), -AEDB_EASSERT);

	chk_item(&c, TXN_A_VERSION, 0, NULL, 0, 7);
	assert_int_equal(chk_run(&c, "v", 1, 1, 7), 0);
	assert_int_equal(chk_run(&c, "v", 1, 1, 8), -AEDB_EASSERT);
	assert_int_equal(chk_run(&c, "v", 1, 1, 6), -AEDB_EASSERT);
	assert_int_equal(chk_run(&c, NULL, 0, 0, 0), -AEDB_EASSERT);
	chk_item(&c, TXN_A_VERSION, 0, NULL, 0, 0);
	assert_int_equal(chk_run(&c, NULL, 0, 0, 0), 0); /* absent is version 0 */
	assert_int_equal(chk_run(&c, "v", 1, 1, 1), -AEDB_EASSERT);
}

/* Does (value cmp threshold) hold, for the order sign @s (value vs threshold)? */
static int cmp_expect(uint32_t cmp, int s)
{
	switch (cmp) {
	case AEDB_CMP_EQ: return s == 0;
	case AEDB_CMP_NE: return s != 0;
	case AEDB_CMP_LT: return s < 0;
	case AEDB_CMP_LE: return s <= 0;
	case AEDB_CMP_GT: return s > 0;
	default: return s >= 0;
	}
}

static void test_txn_eval_assert_compare(void **state)
{
	static const struct {
		const char *v, *th;
		uint32_t vl, tl;
		int sign;
	} bytes[] = {
		{ "abc", "abc", 3, 3, 0 },
		{ "abc", "abd", 3, 3, -1 },
		{ "ab", "abc", 2, 3, -1 },   /* a prefix sorts first */
		{ "b", "abc", 1, 3, 1 },
		{ "", "a", 0, 1, -1 },
		{ "", "", 0, 0, 0 },
		{ "\xff", "\x01\x00", 1, 2, 1 }, /* unsigned bytes, not length */
	};
	struct chk c;

	(void)state;
	for (uint32_t cmp = AEDB_CMP_EQ; cmp <= AEDB_CMP_GE; cmp++) {
		for (size_t i = 0; i < sizeof(bytes) / sizeof(bytes[0]); i++) {
			chk_item(&c, TXN_A_CMP, (uint8_t)cmp, bytes[i].th, bytes[i].tl, 0);
			assert_int_equal(chk_run(&c, bytes[i].v, bytes[i].vl, 1, 3),
					 cmp_expect(cmp, bytes[i].sign) ? 0 : -AEDB_EASSERT);
		}
		/* absent fails every comparison, NE included */
		chk_item(&c, TXN_A_CMP, (uint8_t)cmp, "a", 1, 0);
		assert_int_equal(chk_run(&c, NULL, 0, 0, 0), -AEDB_EASSERT);
		/* u256 numeric: 2^64 vs 5, 100 vs 100, 100 vs 2^200 */
		{
			uint8_t a[32], b[32];

			put_be(a, 32, 0);
			a[23] = 1;
			put_be(b, 32, 5);
			chk_item(&c, TXN_A_CMP, (uint8_t)cmp, b, 32, 0);
			assert_int_equal(chk_run(&c, a, 32, 1, 3),
					 cmp_expect(cmp, 1) ? 0 : -AEDB_EASSERT);
			put_be(a, 32, 100);
			put_be(b, 32, 100);
			chk_item(&c, TXN_A_CMP, (uint8_t)cmp, b, 32, 0);
			assert_int_equal(chk_run(&c, a, 32, 1, 3),
					 cmp_expect(cmp, 0) ? 0 : -AEDB_EASSERT);
			memset(b, 0, 32);
			b[6] = 1;
			chk_item(&c, TXN_A_CMP, (uint8_t)cmp, b, 32, 0);
			assert_int_equal(chk_run(&c, a, 32, 1, 3),
					 cmp_expect(cmp, -1) ? 0 : -AEDB_EASSERT);
			/* 32-byte value vs an 8-byte threshold: bytes, not numbers:
			 * 100 as u256 starts with zero bytes, below 00..05 */
			put_be(b, 8, 5);
			chk_item(&c, TXN_A_CMP, (uint8_t)cmp, b, 8, 0);
			assert_int_equal(chk_run(&c, a, 32, 1, 3),
					 cmp_expect(cmp, -1) ? 0 : -AEDB_EASSERT);
		}
	}
}

static void test_txn_eval_read_set(void **state)
{
	struct chk c;

	(void)state;
	chk_item(&c, TXN_READ, 0, NULL, 0, 10);
	assert_int_equal(chk_run(&c, "v", 1, 1, 10), 0);
	assert_int_equal(chk_run(&c, "v", 1, 1, 9), 0);
	assert_int_equal(chk_run(&c, "v", 1, 1, 11), -AEDB_ECONFLICT);
	assert_int_equal(chk_run(&c, NULL, 0, 0, 0), 0); /* a delete is not seen */
	/* with a base seq: newer than the base conflicts too */
	c.t.base_seq = 8;
	assert_int_equal(chk_run(&c, "v", 1, 1, 8), 0);
	assert_int_equal(chk_run(&c, "v", 1, 1, 9), -AEDB_ECONFLICT);
	c.t.base_seq = 20;
	assert_int_equal(chk_run(&c, "v", 1, 1, 10), 0);
	assert_int_equal(chk_run(&c, "v", 1, 1, 11), -AEDB_ECONFLICT);
	/* read as absent: any write since conflicts */
	chk_item(&c, TXN_READ, 0, NULL, 0, 0);
	assert_int_equal(chk_run(&c, NULL, 0, 0, 0), 0);
	assert_int_equal(chk_run(&c, "v", 1, 1, 1), -AEDB_ECONFLICT);
}

/* ---- the verdict merge (txn/txn.h: which failure a commit reports) ---- */

static struct txn_verdict vd(int err, uint32_t kind, int32_t index)
{
	struct txn_verdict v;

	txn_verdict_init(&v);
	v.err = err;
	v.fail_kind = kind;
	v.fail_index = index;
	return v;
}

static void test_txn_eval_verdict_merge_basics(void **state)
{
	struct txn_verdict a, b;

	(void)state;
	txn_verdict_init(&a);
	assert_int_equal(a.err, 0);
	assert_int_equal(a.fail_index, -1);
	/* success merges to nothing */
	b = vd(0, AEDB_FAIL_NONE, -1);
	txn_verdict_merge(&a, &b);
	assert_int_equal(a.err, 0);
	/* the first error is taken */
	b = vd(-AEDB_EUNDERFLOW, AEDB_FAIL_MUTATION, 4);
	txn_verdict_merge(&a, &b);
	assert_int_equal(a.err, -AEDB_EUNDERFLOW);
	assert_int_equal(a.fail_index, 4);
	/* within a class, the lower index wins whatever the arrival order */
	b = vd(-AEDB_EOVERFLOW, AEDB_FAIL_MUTATION, 2);
	txn_verdict_merge(&a, &b);
	assert_int_equal(a.err, -AEDB_EOVERFLOW);
	assert_int_equal(a.fail_index, 2);
	b = vd(-AEDB_ETYPE, AEDB_FAIL_MUTATION, 3);
	txn_verdict_merge(&a, &b);
	assert_int_equal(a.err, -AEDB_EOVERFLOW);
	assert_int_equal(a.fail_index, 2);
	/* a duplicate wins over any error, and nothing replaces it */
	b = vd(0, AEDB_FAIL_NONE, -1);
	b.duplicate = 1;
	b.dup_seq = 77;
	txn_verdict_merge(&a, &b);
	assert_int_equal(a.duplicate, 1);
	assert_int_equal(a.dup_seq, 77);
	b = vd(-AEDB_EASSERT, AEDB_FAIL_ASSERTION, 0);
	txn_verdict_merge(&a, &b);
	assert_int_equal(a.duplicate, 1);
	assert_int_equal(a.dup_seq, 77);
}

/*
 * Across classes the earliest failure in evaluation order wins: read set,
 * then assertions, then mutations (txn/txn.h: txn_verdict_merge), whatever
 * order the participants vote in - as a single-shard commit reports it.
 */
static void test_txn_eval_verdict_merge_class_order(void **state)
{
	static const struct {
		uint32_t kind;
		int err;
	} order[] = { { AEDB_FAIL_READ, -AEDB_ECONFLICT },
		      { AEDB_FAIL_ASSERTION, -AEDB_EASSERT },
		      { AEDB_FAIL_MUTATION, -AEDB_EUNDERFLOW } };

	(void)state;
	for (int early = 0; early < 3; early++) {
		for (int late = early + 1; late < 3; late++) {
			for (int first = 0; first < 2; first++) {
				struct txn_verdict a, e = vd(order[early].err,
							      order[early].kind, 5);
				struct txn_verdict l = vd(order[late].err, order[late].kind, 0);

				txn_verdict_init(&a);
				txn_verdict_merge(&a, first ? &e : &l);
				txn_verdict_merge(&a, first ? &l : &e);
				if (a.fail_kind != order[early].kind || a.err != order[early].err)
					fail_msg("kind %u (err %d) must win over kind %u; got "
						 "kind %u err %d (merged %s first)",
						 order[early].kind, order[early].err,
						 order[late].kind, a.fail_kind, a.err,
						 first ? "it" : "the other");
				assert_int_equal(a.fail_index, 5);
			}
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_txn_eval_add_sub_u64_edges),
		cmocka_unit_test(test_txn_eval_add_sub_u256_edges),
		cmocka_unit_test(test_txn_eval_add_sub_random_vs_reference),
		cmocka_unit_test(test_txn_eval_num_ops_policies),
		cmocka_unit_test(test_txn_eval_num_wrong_width),
		cmocka_unit_test(test_txn_eval_num_u256_limbs),
		cmocka_unit_test(test_txn_eval_set_del_and_cur_after),
		cmocka_unit_test(test_txn_eval_assert_exists_equals_version),
		cmocka_unit_test(test_txn_eval_assert_compare),
		cmocka_unit_test(test_txn_eval_read_set),
		cmocka_unit_test(test_txn_eval_verdict_merge_basics),
		cmocka_unit_test(test_txn_eval_verdict_merge_class_order),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
