/* SPDX-License-Identifier: MIT */
/*
 * kvmap: ordering, seek, MVCC snapshots, created_seq, GC (against a model),
 * epoch-deferred frees, and a seeded random model test (the concurrent test
 * is kvmap_conc_test.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ck_epoch.h>

#include "core/pool.h"
#include "core/tsan.h"
#include "shard/kvmap.h"
#include "tests/helpers/t_helpers.h"

#define KS(s) (const void *)(s), (uint32_t)(sizeof(s) - 1)

struct fx {
	ck_epoch_t epoch;
	ck_epoch_record_t rec;          /* the writer */
	ck_epoch_record_t reader;       /* a reader, driven from the same thread */
	struct core_pool pool;
	struct kvmap_stats stats;
	struct kvmap_env env;
	struct kvmap *map;
};

static int fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	ck_epoch_init(&f->epoch);
	ck_epoch_register(&f->epoch, &f->rec, NULL);
	ck_epoch_register(&f->epoch, &f->reader, NULL);
	core_pool_init(&f->pool);
	f->env = (struct kvmap_env){ .record = &f->rec, .pool = &f->pool,
				     .stats = &f->stats, .rng = 42 };
	f->map = kvmap_create(&f->env);
	assert_non_null(f->map);
	*state = f;
	return 0;
}

/* Destroy the map, run every deferred free, and check nothing leaked. */
static int fx_teardown(void **state)
{
	struct fx *f = *state;

	/* A failed assertion may have left the reader inside a section. */
	while (f->reader.active)
		ck_epoch_end(&f->reader, NULL);
	kvmap_destroy(f->map);
	ck_epoch_barrier(&f->rec);
	assert_int_equal(f->stats.versions_live, 0);
	assert_int_equal(f->stats.keys_live, 0);
	assert_int_equal(f->stats.gc_backlog, 0);
	assert_int_equal(f->pool.bytes_in_use, 0);
	core_pool_destroy(&f->pool);
	free(f);
	return 0;
}

static void rd_begin(struct fx *f)
{
	ck_epoch_begin(&f->reader, NULL);
}

static void rd_end(struct fx *f)
{
	CORE_TSAN_RELEASE(&f->epoch);
	ck_epoch_end(&f->reader, NULL);
}

static void put_s(struct fx *f, const void *k, uint32_t kl, const char *val, uint64_t seq)
{
	assert_int_equal(kvmap_put(f->map, k, kl, val, (uint32_t)strlen(val), seq, false), 0);
}

static void del_s(struct fx *f, const void *k, uint32_t kl, uint64_t seq)
{
	assert_int_equal(kvmap_put(f->map, k, kl, NULL, 0, seq, true), 0);
}

/* Read @k at @snap and compare with @want (NULL: absent). */
static void expect_get(struct fx *f, const void *k, uint32_t kl, uint64_t snap,
		       const char *want)
{
	const struct kv_version *v;

	rd_begin(f);
	v = kvmap_get_any(f->map, k, kl, snap);
	if (!want) {
		assert_null(v);
	} else {
		assert_non_null(v);
		assert_int_equal(v->len, strlen(want));
		assert_memory_equal(v->data, want, v->len);
		assert_true(v->seq <= snap);
	}
	rd_end(f);
}

/* The iterator stands on key @want. */
static void check_key(const struct kvmap_iter *it, const void *want, uint32_t want_len)
{
	uint32_t len;
	const uint8_t *key;

	assert_true(kvmap_iter_valid(it));
	key = kvmap_iter_key(it, &len);
	assert_int_equal(len, want_len);
	if (len)
		assert_memory_equal(key, want, len);
}

/* Seek and compare the key found with @want (NULL: end). */
static void expect_seek(struct fx *f, const void *k, uint32_t kl, bool excl, uint64_t snap,
			const void *want, uint32_t want_len)
{
	struct kvmap_iter it;

	rd_begin(f);
	kvmap_iter_seek_any(&it, f->map, k, kl, excl, snap);
	if (!want)
		assert_false(kvmap_iter_valid(&it));
	else
		check_key(&it, want, want_len);
	rd_end(f);
}

static uint64_t iter_count(struct fx *f, uint64_t snap)
{
	struct kvmap_iter it;
	uint64_t n = 0;

	rd_begin(f);
	for (kvmap_iter_seek_any(&it, f->map, NULL, 0, false, snap); kvmap_iter_valid(&it);
	     kvmap_iter_next_any(&it))
		n++;
	rd_end(f);
	return n;
}

/* ---- ordering ----------------------------------------------------------- */

/* Keys and version histories (the model), also used for ordering. */
#define M_KEYS 40

struct m_ver {
	uint64_t seq;
	uint64_t created;
	bool tomb;
};

struct m_key {
	uint8_t key[8];
	uint32_t len;
	struct m_ver *v;
	size_t n;
};

struct model {
	struct m_key k[M_KEYS];
	int order[M_KEYS];              /* key indices in map order */
};

static int m_key_cmp(const void *pa, const void *pb)
{
	const struct m_key *a = pa, *b = pb;
	uint32_t n = a->len < b->len ? a->len : b->len;
	int c = n ? memcmp(a->key, b->key, n) : 0;

	return c ? c : (a->len > b->len) - (a->len < b->len);
}

struct bkey {
	const char *p;
	uint32_t len;
};

#define BK(s) { (s), (uint32_t)(sizeof(s) - 1) }

static void test_kvmap_order_memcmp(void **state)
{
	/* Expected order: memcmp over the common prefix, then shorter first. */
	static const struct bkey sorted[] = {
		BK(""), BK("\0"), BK("\0\0"), BK("\0\1"), BK("a"), BK("a\0"), BK("a\0\0"),
		BK("ab"), BK("b"), BK("\x7f"), BK("\x80"), BK("\xff"), BK("\xff\xff"),
	};
	enum { N = sizeof(sorted) / sizeof(sorted[0]) };
	static const int perm[N] = { 7, 12, 0, 5, 9, 1, 11, 3, 8, 2, 10, 4, 6 };
	struct fx *f = *state;
	struct kvmap_iter it;
	char val[16];
	int i = 0;

	for (int j = 0; j < N; j++) {
		snprintf(val, sizeof(val), "v%d", perm[j]);
		put_s(f, sorted[perm[j]].p, sorted[perm[j]].len, val, (uint64_t)j + 1);
	}
	assert_true(kvmap_check(f->map));
	assert_int_equal(f->stats.keys_live, N);
	rd_begin(f);
	for (kvmap_iter_seek_any(&it, f->map, NULL, 0, false, N); kvmap_iter_valid(&it);
	     kvmap_iter_next_any(&it), i++) {
		assert_true(i < N);
		check_key(&it, sorted[i].p, sorted[i].len);
		snprintf(val, sizeof(val), "v%d", i);
		assert_int_equal(it.version->len, strlen(val));
		assert_memory_equal(it.version->data, val, it.version->len);
	}
	rd_end(f);
	assert_int_equal(i, N);
	for (i = 0; i < N; i++) {
		snprintf(val, sizeof(val), "v%d", i);
		expect_get(f, sorted[i].p, sorted[i].len, N, val);
	}
	expect_get(f, KS("a\0\1"), N, NULL);
	expect_get(f, KS("\0\0\0"), N, NULL);
	expect_get(f, KS("c"), N, NULL);
}

/* Many random short keys over a tiny alphabet: iteration == sorted set. */
static void test_kvmap_order_random_keys(void **state)
{
	enum { N = 3000 };
	static const uint8_t alpha[] = { 0x00, 0x01, 'a', 0x7f, 0x80, 0xff };
	static struct m_key keys[N];
	struct fx *f = *state;
	uint64_t rng = t_seed("test_kvmap_order_random_keys");
	struct kvmap_iter it;
	size_t uniq = 0, i = 0;

	for (size_t j = 0; j < N; j++) {
		keys[j].len = (uint32_t)(t_rand(&rng) % 9);
		for (uint32_t b = 0; b < keys[j].len; b++)
			keys[j].key[b] = alpha[t_rand(&rng) % sizeof(alpha)];
		assert_int_equal(kvmap_put(f->map, keys[j].key, keys[j].len, "x", 1, j + 1, false),
				 0);
	}
	qsort(keys, N, sizeof(keys[0]), m_key_cmp);
	for (size_t j = 0; j < N; j++)
		if (j == 0 || m_key_cmp(&keys[j], &keys[uniq - 1]) != 0)
			keys[uniq++] = keys[j];
	assert_true(kvmap_check(f->map));
	assert_int_equal(f->stats.keys_live, uniq);
	assert_int_equal(f->stats.versions_live, N);
	rd_begin(f);
	for (kvmap_iter_seek_any(&it, f->map, NULL, 0, false, N); kvmap_iter_valid(&it);
	     kvmap_iter_next_any(&it), i++) {
		assert_true(i < uniq);
		check_key(&it, keys[i].key, keys[i].len);
	}
	rd_end(f);
	assert_int_equal(i, uniq);
}

static void test_kvmap_seek_inclusive_exclusive(void **state)
{
	struct fx *f = *state;

	put_s(f, KS("d"), "1", 1);
	put_s(f, KS("b"), "2", 2);
	put_s(f, KS("f"), "3", 3);
	put_s(f, KS("d\0"), "4", 4);
	expect_seek(f, NULL, 0, false, 4, KS("b"));
	expect_seek(f, KS("a"), false, 4, KS("b"));
	expect_seek(f, KS("b"), false, 4, KS("b"));
	expect_seek(f, KS("b"), true, 4, KS("d"));
	expect_seek(f, KS("c"), true, 4, KS("d"));
	expect_seek(f, KS("d"), false, 4, KS("d"));
	expect_seek(f, KS("d"), true, 4, KS("d\0"));
	expect_seek(f, KS("d\0"), true, 4, KS("f"));
	expect_seek(f, KS("d\0\0"), false, 4, KS("f"));
	expect_seek(f, KS("f"), false, 4, KS("f"));
	expect_seek(f, KS("f"), true, 4, NULL, 0);
	expect_seek(f, KS("g"), false, 4, NULL, 0);
	expect_seek(f, KS(""), false, 4, KS("b"));
	expect_seek(f, KS(""), true, 4, KS("b"));
	/* Snapshots apply: at 1 only "d" exists. */
	expect_seek(f, NULL, 0, false, 1, KS("d"));
	expect_seek(f, KS("d"), true, 3, KS("f"));
	expect_seek(f, KS("d"), true, 1, NULL, 0);
	/* The empty key sorts first and is reachable both ways. */
	put_s(f, KS(""), "5", 5);
	expect_seek(f, KS(""), false, 5, KS(""));
	expect_seek(f, NULL, 0, false, 5, KS(""));
	expect_seek(f, KS(""), true, 5, KS("b"));
	expect_get(f, KS(""), 5, "5");
	expect_get(f, KS(""), 4, NULL);
	assert_int_equal(iter_count(f, 5), 5);
}

static void test_kvmap_iter_skips_tombstones(void **state)
{
	struct fx *f = *state;
	char k[16];

	for (int i = 0; i < 10; i++) {
		snprintf(k, sizeof(k), "k%d", i);
		put_s(f, k, 2, k, (uint64_t)i + 1);
	}
	del_s(f, KS("k0"), 11);
	del_s(f, KS("k3"), 12);
	del_s(f, KS("k9"), 13);
	assert_int_equal(iter_count(f, 13), 7);
	assert_int_equal(iter_count(f, 12), 8);
	assert_int_equal(iter_count(f, 10), 10);
	assert_int_equal(iter_count(f, 5), 5);
	assert_int_equal(iter_count(f, 0), 0);
	expect_seek(f, NULL, 0, false, 13, KS("k1"));
	expect_seek(f, NULL, 0, false, 10, KS("k0"));
	expect_seek(f, KS("k3"), false, 13, KS("k4"));
	expect_seek(f, KS("k2"), true, 13, KS("k4"));
	expect_seek(f, KS("k8"), true, 13, NULL, 0);
	expect_seek(f, KS("k8"), true, 12, KS("k9"));
	/* An inclusive seek to a key in the map starts at its node (the hash
	 * index): still only what the snapshot sees. */
	expect_seek(f, KS("k5"), false, 3, NULL, 0);
	expect_seek(f, KS("k5"), false, 6, KS("k5"));
	expect_seek(f, KS("k9"), false, 13, NULL, 0);
	expect_get(f, KS("k3"), 12, NULL);
	expect_get(f, KS("k3"), 11, "k3");
	/* Deleted keys keep their nodes, and tombstones count, until GC. */
	assert_int_equal(f->stats.keys_live, 10);
	assert_int_equal(f->stats.versions_live, 13);
	assert_true(kvmap_check(f->map));
}

/* ---- MVCC --------------------------------------------------------------- */

static void test_kvmap_mvcc_every_snapshot(void **state)
{
	enum { N = 60 };
	struct fx *f = *state;
	char buf[16];

	/* "x" at odd seqs, "y" at even ones, value "<key><seq>"; seqs with
	 * s % 7 == 3 are deletes. */
	for (uint64_t s = 1; s <= N; s++) {
		snprintf(buf, sizeof(buf), "%c%llu", (s & 1) ? 'x' : 'y', (unsigned long long)s);
		assert_int_equal(kvmap_put(f->map, buf, 1, buf, (uint32_t)strlen(buf), s,
					   s % 7 == 3), 0);
	}
	assert_true(kvmap_check(f->map));
	for (uint64_t s = 0; s <= N + 1; s++) {
		uint64_t live = 0;

		for (uint64_t odd = 0; odd < 2; odd++) {
			uint64_t t = s > N ? N : s;     /* last write to the key <= s */
			bool present;

			if ((t & 1) != odd && t > 0)
				t--;
			present = t > 0 && t % 7 != 3;
			snprintf(buf, sizeof(buf), "%c%llu", odd ? 'x' : 'y',
				 (unsigned long long)t);
			expect_get(f, odd ? "x" : "y", 1, s, present ? buf : NULL);
			live += present;
		}
		assert_int_equal(iter_count(f, s), live);
	}
}

static const struct kv_version *get_v(struct fx *f, const void *k, uint32_t kl, uint64_t s)
{
	/* Single-threaded caller: nothing is freed before the next GC. */
	const struct kv_version *v;

	rd_begin(f);
	v = kvmap_get_any(f->map, k, kl, s);
	rd_end(f);
	return v;
}

static void test_kvmap_created_seq(void **state)
{
	struct fx *f = *state;

	put_s(f, KS("a"), "1", 1);
	assert_int_equal(get_v(f, KS("a"), 1)->created_seq, 1);
	put_s(f, KS("a"), "2", 2);
	assert_int_equal(get_v(f, KS("a"), 2)->created_seq, 1);
	assert_int_equal(get_v(f, KS("a"), 2)->seq, 2);
	del_s(f, KS("a"), 3);
	assert_null(get_v(f, KS("a"), 3));
	put_s(f, KS("a"), "4", 4);
	assert_int_equal(get_v(f, KS("a"), 4)->created_seq, 4);
	put_s(f, KS("a"), "5", 5);
	assert_int_equal(get_v(f, KS("a"), 5)->created_seq, 4);
	assert_int_equal(get_v(f, KS("a"), 2)->created_seq, 1);
	assert_int_equal(f->stats.versions_live, 5);
	assert_int_equal(kvmap_gc_pending(f->map), 4);  /* 2, 3, 4, 5 superseded */
	/* Deletes of absent or already-deleted keys add nothing. */
	del_s(f, KS("b"), 6);
	assert_int_equal(f->stats.keys_live, 1);
	assert_int_equal(f->stats.versions_live, 5);
	del_s(f, KS("a"), 7);
	del_s(f, KS("a"), 8);
	assert_int_equal(f->stats.versions_live, 6);
	assert_int_equal(kvmap_gc_pending(f->map), 5);
	assert_int_equal(f->stats.gc_backlog, 5);
	assert_null(get_v(f, KS("a"), 8));
	assert_null(get_v(f, KS("b"), 8));
	put_s(f, KS("b"), "9", 9);
	assert_int_equal(get_v(f, KS("b"), 9)->created_seq, 9);
	assert_true(kvmap_check(f->map));
}

/* Keys and values past the pool's small classes take the malloc path. */
static void test_kvmap_large_key_and_value(void **state)
{
	enum { KL = 5000, VL = 20000 };
	struct fx *f = *state;
	uint8_t *key = malloc(KL + 1), *val = malloc(VL);
	const struct kv_version *v;

	assert_true(key && val);
	memset(key, 'k', KL + 1);
	for (uint32_t i = 0; i < VL; i++)
		val[i] = (uint8_t)(i * 7);
	assert_int_equal(kvmap_put(f->map, key, KL, val, VL, 1, false), 0);
	assert_int_equal(kvmap_put(f->map, key, KL + 1, val, 10, 2, false), 0);
	assert_int_equal(kvmap_put(f->map, key, KL, val, VL - 1, 3, false), 0);
	assert_true(f->pool.bytes_in_use > 2 * VL);
	v = get_v(f, key, KL, 2);
	assert_non_null(v);
	assert_int_equal(v->len, VL);
	assert_memory_equal(v->data, val, VL);
	assert_int_equal(kvmap_gc(f->map, 3, 10), 1);
	ck_epoch_barrier(&f->rec);
	assert_true(f->pool.bytes_in_use < 2 * VL);
	assert_int_equal(get_v(f, key, KL, 3)->len, VL - 1);
	assert_int_equal(get_v(f, key, KL + 1, 3)->len, 10);
	expect_seek(f, key, KL, true, 3, key, KL + 1);
	free(key);
	free(val);
}

/* ---- GC ----------------------------------------------------------------- */

static void test_kvmap_gc_drops_superseded(void **state)
{
	struct fx *f = *state;
	uint64_t used;

	put_s(f, KS("a"), "v1", 1);
	put_s(f, KS("a"), "v2", 2);
	put_s(f, KS("a"), "v3", 3);
	used = f->pool.bytes_in_use;
	assert_int_equal(kvmap_gc(f->map, 2, 100), 1);  /* entry 3 > horizon */
	assert_int_equal(f->stats.versions_live, 2);
	assert_int_equal(f->stats.versions_collected, 1);
	assert_int_equal(kvmap_gc_pending(f->map), 1);
	assert_int_equal(f->stats.gc_backlog, 1);
	assert_true(kvmap_check(f->map));
	/* Freed only after the grace period. */
	assert_int_equal(f->pool.bytes_in_use, used);
	ck_epoch_barrier(&f->rec);
	assert_true(f->pool.bytes_in_use < used);
	expect_get(f, KS("a"), 2, "v2");
	expect_get(f, KS("a"), 3, "v3");
	assert_int_equal(kvmap_gc(f->map, 3, 100), 1);
	assert_int_equal(f->stats.versions_live, 1);
	assert_int_equal(f->stats.versions_collected, 2);
	expect_get(f, KS("a"), 3, "v3");
	assert_int_equal(kvmap_gc(f->map, 100, 100), 0);
	assert_int_equal(f->stats.keys_live, 1);
	assert_true(kvmap_check(f->map));
}

static void test_kvmap_gc_unlinks_deleted_keys(void **state)
{
	struct fx *f = *state;

	put_s(f, KS("a"), "a1", 1);
	put_s(f, KS("b"), "b2", 2);
	put_s(f, KS("c"), "c3", 3);
	del_s(f, KS("b"), 4);
	assert_int_equal(kvmap_gc(f->map, 4, 100), 1);
	assert_int_equal(f->stats.keys_live, 2);
	assert_int_equal(f->stats.versions_live, 2);
	assert_int_equal(f->stats.versions_collected, 2);
	assert_true(kvmap_check(f->map));
	expect_get(f, KS("b"), 4, NULL);
	expect_seek(f, KS("a"), true, 4, KS("c"));
	assert_int_equal(iter_count(f, 4), 2);
	/* A new b starts a new life. */
	put_s(f, KS("b"), "b5", 5);
	assert_int_equal(get_v(f, KS("b"), 5)->created_seq, 5);
	assert_int_equal(kvmap_gc_pending(f->map), 0);
	assert_int_equal(f->stats.keys_live, 3);
	assert_true(kvmap_check(f->map));
}

/* A tombstone below a newer version: what it hides goes when its entry is
 * processed; the tombstone itself when the newer version's entry is. */
static void test_kvmap_gc_cuts_below_newer_version(void **state)
{
	struct fx *f = *state;

	put_s(f, KS("x"), "x1", 1);
	del_s(f, KS("x"), 2);
	put_s(f, KS("x"), "x3", 3);
	assert_int_equal(kvmap_gc(f->map, 2, 100), 1);
	assert_int_equal(f->stats.versions_live, 2);
	assert_int_equal(f->stats.versions_collected, 1);
	assert_int_equal(f->stats.keys_live, 1);
	expect_get(f, KS("x"), 2, NULL);
	expect_get(f, KS("x"), 3, "x3");
	assert_int_equal(kvmap_gc(f->map, 3, 100), 1);
	assert_int_equal(f->stats.versions_live, 1);
	assert_int_equal(f->stats.versions_collected, 2);
	expect_get(f, KS("x"), 2, NULL);
	expect_get(f, KS("x"), 3, "x3");
	assert_int_equal(get_v(f, KS("x"), 3)->created_seq, 3);
	assert_true(kvmap_check(f->map));
	assert_int_equal(kvmap_gc(f->map, 3, 100), 0);
	assert_int_equal(f->stats.versions_live, 1);
	assert_int_equal(f->stats.keys_live, 1);
}

/* GC is O(1) per entry: each entry cuts below its own version. A tombstone
 * that is still the newest version goes with its node once no later entry
 * names the node; one that was superseded goes with the later entry. */
static void test_kvmap_gc_empty_node_waits_for_refs(void **state)
{
	struct fx *f = *state;

	put_s(f, KS("y"), "y1", 1);
	del_s(f, KS("y"), 2);
	put_s(f, KS("y"), "y3", 3);
	del_s(f, KS("y"), 4);
	assert_int_equal(kvmap_gc_pending(f->map), 3);
	assert_int_equal(kvmap_gc(f->map, 4, 2), 2);    /* entries 2 and 3 */
	assert_int_equal(f->stats.versions_live, 2);    /* tombstone 4 and y3 */
	assert_int_equal(f->stats.versions_collected, 2);
	assert_int_equal(f->stats.keys_live, 1);        /* entry 4 still queued */
	assert_true(kvmap_check(f->map));
	expect_get(f, KS("y"), 4, NULL);
	expect_get(f, KS("y"), 3, "y3");
	assert_int_equal(iter_count(f, 4), 0);
	del_s(f, KS("y"), 5);                           /* no-op: already deleted */
	assert_int_equal(f->stats.versions_live, 2);
	put_s(f, KS("y"), "y6", 6);                     /* supersedes tombstone 4 */
	assert_int_equal(kvmap_gc_pending(f->map), 2);
	assert_int_equal(get_v(f, KS("y"), 6)->created_seq, 6);
	assert_int_equal(kvmap_gc(f->map, 6, 10), 2);
	assert_int_equal(f->stats.keys_live, 1);
	assert_int_equal(f->stats.versions_live, 1);
	assert_int_equal(f->stats.versions_collected, 4);
	expect_get(f, KS("y"), 6, "y6");
	assert_true(kvmap_check(f->map));
	/* Deleted with no entries left behind it: key and tombstone go. */
	del_s(f, KS("y"), 7);
	assert_int_equal(kvmap_gc(f->map, 7, 10), 1);
	assert_int_equal(f->stats.keys_live, 0);
	assert_int_equal(f->stats.versions_live, 0);
	assert_int_equal(iter_count(f, 7), 0);
	assert_true(kvmap_check(f->map));
}

static void test_kvmap_gc_budget_and_horizon(void **state)
{
	struct fx *f = *state;
	char k[16];

	for (uint64_t s = 1; s <= 20; s++) {
		snprintf(k, sizeof(k), "k%llu", (unsigned long long)((s - 1) % 10));
		put_s(f, k, 2, k, s);
	}
	assert_int_equal(kvmap_gc_pending(f->map), 10);     /* 11..20 */
	assert_int_equal(kvmap_gc(f->map, 15, 3), 3);
	assert_int_equal(kvmap_gc_pending(f->map), 7);
	assert_int_equal(f->stats.gc_backlog, 7);
	assert_int_equal(f->stats.versions_live, 17);
	assert_int_equal(kvmap_gc(f->map, 15, 100), 2);
	assert_int_equal(kvmap_gc(f->map, 14, 100), 0);
	assert_int_equal(kvmap_gc(f->map, 15, 100), 0);
	assert_int_equal(kvmap_gc(f->map, 100, 0), 0);
	assert_int_equal(kvmap_gc_pending(f->map), 5);
	assert_int_equal(f->stats.versions_live, 15);
	assert_int_equal(kvmap_gc(f->map, 100, 100), 5);
	assert_int_equal(kvmap_gc_pending(f->map), 0);
	assert_int_equal(f->stats.gc_backlog, 0);
	assert_int_equal(f->stats.versions_live, 10);
	assert_int_equal(f->stats.versions_collected, 10);
	assert_true(kvmap_check(f->map));
}

/* Memory a reader can still reach is not freed while its section lasts,
 * and a reader standing on an unlinked node can walk on. */
static void test_kvmap_gc_defers_free_until_readers_leave(void **state)
{
	struct fx *f = *state;
	const struct kv_version *old;
	struct kvmap_iter it;
	uint64_t used;

	put_s(f, KS("a"), "first", 1);
	put_s(f, KS("b"), "bee", 2);
	put_s(f, KS("c"), "sea", 3);
	put_s(f, KS("a"), "second", 4);
	del_s(f, KS("b"), 5);
	rd_begin(f);
	old = kvmap_get_any(f->map, KS("a"), 1);
	assert_non_null(old);
	kvmap_iter_seek_any(&it, f->map, KS("b"), false, 4);
	assert_true(kvmap_iter_valid(&it));
	assert_int_equal(kvmap_gc(f->map, 5, 100), 2);
	assert_int_equal(f->stats.keys_live, 2);                /* b unlinked */
	used = f->pool.bytes_in_use;
	for (int i = 0; i < 4; i++)
		ck_epoch_poll(&f->rec);
	assert_int_equal(f->pool.bytes_in_use, used);           /* nothing freed */
	assert_memory_equal(old->data, "first", 5);
	check_key(&it, "b", 1);
	assert_memory_equal(it.version->data, "bee", 3);
	kvmap_iter_next_any(&it);
	check_key(&it, "c", 1);
	rd_end(f);
	ck_epoch_barrier(&f->rec);
	assert_true(f->pool.bytes_in_use < used);
	expect_get(f, KS("a"), 5, "second");
	expect_seek(f, KS("a"), true, 5, KS("c"));
}

static void test_kvmap_retire_frees_after_grace(void **state)
{
	struct fx *f = *state;
	uint64_t used0 = f->pool.bytes_in_use, used1;
	struct kvmap *m2 = kvmap_create(&f->env);

	assert_non_null(m2);
	put_s(f, KS("keep"), "k", 1);
	for (uint64_t s = 1; s <= 50; s++)
		assert_int_equal(kvmap_put(m2, &s, sizeof(s), "v", 1, s, false), 0);
	assert_int_equal(kvmap_put(m2, "z", 1, "v", 1, 51, false), 0);
	assert_int_equal(kvmap_put(m2, "z", 1, NULL, 0, 52, true), 0);
	assert_int_equal(f->stats.keys_live, 52);
	assert_int_equal(f->stats.gc_backlog, 1);
	used1 = f->pool.bytes_in_use;
	kvmap_retire(m2);
	/* Gone from the counters at once, from memory after the grace period. */
	assert_int_equal(f->stats.keys_live, 1);
	assert_int_equal(f->stats.versions_live, 1);
	assert_int_equal(f->stats.gc_backlog, 0);
	assert_int_equal(f->pool.bytes_in_use, used1);
	ck_epoch_barrier(&f->rec);
	assert_true(used1 > used0);
	/* Only "keep" (added after used0 was taken) remains on top of used0. */
	assert_true(f->pool.bytes_in_use > used0);
	assert_true(f->pool.bytes_in_use < used0 + 512);
	expect_get(f, KS("keep"), 1, "k");
}

/* ---- model-based -------------------------------------------------------- */

static void m_init(struct model *m, uint64_t *rng)
{
	static const uint8_t alpha[] = { 0x00, 'a', 'b', 0xff };

	memset(m, 0, sizeof(*m));
	for (int i = 0; i < M_KEYS; i++) {
		struct m_key *k = &m->k[i];
		bool dup;

		do {
			k->len = (uint32_t)(t_rand(rng) % 5);
			for (uint32_t b = 0; b < k->len; b++)
				k->key[b] = alpha[t_rand(rng) % sizeof(alpha)];
			dup = false;
			for (int j = 0; j < i; j++)
				dup = dup || m_key_cmp(&m->k[j], k) == 0;
		} while (dup);
	}
	for (int i = 0; i < M_KEYS; i++) {      /* rank = keys sorting before */
		int rank = 0;

		for (int j = 0; j < M_KEYS; j++)
			rank += m_key_cmp(&m->k[j], &m->k[i]) < 0;
		m->order[rank] = i;
	}
}

static void m_fini(struct model *m)
{
	for (int i = 0; i < M_KEYS; i++)
		free(m->k[i].v);
}

/* Value bytes are a function of (key, seq), so any mix-up shows. */
static uint32_t m_val(int key, uint64_t seq, uint8_t *buf)
{
	uint32_t len = (uint32_t)((seq * 7 + (uint64_t)key) % 40);

	for (uint32_t j = 0; j < len; j++)
		buf[j] = (uint8_t)(seq * 31 + (uint64_t)key + j);
	return len;
}

static void m_put(struct fx *f, struct model *m, int i, uint64_t seq, bool tomb)
{
	struct m_key *k = &m->k[i];
	struct m_ver *last = k->n ? &k->v[k->n - 1] : NULL;
	uint64_t created = (last && !last->tomb) ? last->created : seq;
	uint8_t buf[64];
	uint32_t len = m_val(i, seq, buf);

	assert_int_equal(kvmap_put(f->map, k->key, k->len, buf, len, seq, tomb), 0);
	if (tomb && (!last || last->tomb))
		return;
	k->v = realloc(k->v, (k->n + 1) * sizeof(*k->v));
	assert_non_null(k->v);
	k->v[k->n].seq = seq;
	k->v[k->n].created = created;
	k->v[k->n].tomb = tomb;
	k->n++;
}

static const struct m_ver *m_at(const struct model *m, int i, uint64_t snap)
{
	const struct m_key *k = &m->k[i];

	for (size_t j = k->n; j-- > 0;)
		if (k->v[j].seq <= snap)
			return k->v[j].tomb ? NULL : &k->v[j];
	return NULL;
}

static void m_check_version(int i, const struct m_ver *mv, const struct kv_version *v)
{
	uint8_t buf[64];
	uint32_t len = m_val(i, mv->seq, buf);

	assert_non_null(v);
	assert_int_equal(v->seq, mv->seq);
	assert_int_equal(v->created_seq, mv->created);
	assert_int_equal(v->flags, 0);
	assert_int_equal(v->len, len);
	if (len)
		assert_memory_equal(v->data, buf, len);
}

/* Point reads of every key and a full scan at @snap match the model. */
static void m_check_snapshot(struct fx *f, const struct model *m, uint64_t snap)
{
	struct kvmap_iter it;
	int pos = 0;

	rd_begin(f);
	for (int i = 0; i < M_KEYS; i++) {
		const struct m_ver *mv = m_at(m, i, snap);
		const struct kv_version *v = kvmap_get_any(f->map, m->k[i].key, m->k[i].len, snap);

		if (mv)
			m_check_version(i, mv, v);
		else
			assert_null(v);
	}
	kvmap_iter_seek_any(&it, f->map, NULL, 0, false, snap);
	for (; kvmap_iter_valid(&it); kvmap_iter_next_any(&it)) {
		while (pos < M_KEYS && !m_at(m, m->order[pos], snap))
			pos++;
		assert_true(pos < M_KEYS);
		check_key(&it, m->k[m->order[pos]].key, m->k[m->order[pos]].len);
		m_check_version(m->order[pos], m_at(m, m->order[pos], snap), it.version);
		pos++;
	}
	while (pos < M_KEYS && !m_at(m, m->order[pos], snap))
		pos++;
	assert_int_equal(pos, M_KEYS);
	rd_end(f);
}

/* After GC at @horizon with no budget limit, a key keeps its versions newer
 * than the horizon plus the newest older one (see the tombstone rule); and
 * once the garbage is really freed, every snapshot >= @horizon still reads as
 * the model says. */
static void m_check_after_full_gc(struct fx *f, const struct model *m, uint64_t horizon,
				  uint64_t seq)
{
	uint64_t lo = 0, hi = 0, keys_lo = 0, keys_hi = 0, all = 0;

	assert_int_equal(kvmap_gc(f->map, horizon, UINT32_MAX), 0);
	for (int i = 0; i < M_KEYS; i++) {
		const struct m_key *k = &m->k[i];
		uint64_t n = 0;
		size_t j = k->n;

		while (j > 0 && k->v[j - 1].seq > horizon) {
			n++;
			j--;
		}
		/* The newest version at or below the horizon stays if it is a
		 * value. A tombstone there goes if nothing is newer; under a
		 * newer version it goes with that version's entry, or earlier if
		 * it was the newest when its own entry ran: either is right. */
		lo += n + (j > 0 && !k->v[j - 1].tomb);
		hi += n + (j > 0 && (n > 0 || !k->v[j - 1].tomb));
		keys_lo += n + (j > 0 && !k->v[j - 1].tomb) > 0;
		keys_hi += n + (j > 0 && (n > 0 || !k->v[j - 1].tomb)) > 0;
		all += k->n;
	}
	assert_in_range(f->stats.versions_live, lo, hi);
	assert_in_range(f->stats.keys_live, keys_lo, keys_hi);
	assert_int_equal(f->stats.versions_collected, all - f->stats.versions_live);
	assert_true(kvmap_check(f->map));
	ck_epoch_barrier(&f->rec);      /* really free: ASan sees misuse */
	for (uint64_t s = horizon; s <= seq; s += 1 + (seq - horizon) / 64)
		m_check_snapshot(f, m, s);
}

static void test_kvmap_random_model(void **state)
{
	struct fx *f = *state;
	uint64_t rng = t_seed("test_kvmap_random_model");
	uint64_t seq = 0, horizon = 0;
	struct model *m = malloc(sizeof(*m));

	assert_non_null(m);
	f->env.rng = rng ^ 0x5555;
	m_init(m, &rng);
	for (int step = 0; step < 6000; step++) {
		uint64_t r = t_rand(&rng) % 100;

		if (r < 85) {
			seq += 1 + t_rand(&rng) % 3;
			m_put(f, m, (int)(t_rand(&rng) % M_KEYS), seq, r >= 55);
		} else if (r < 97) {
			bool full = t_rand(&rng) % 4 == 0;

			horizon += t_rand(&rng) % (seq - horizon + 1);
			kvmap_gc(f->map, horizon, full ? UINT32_MAX : (uint32_t)(t_rand(&rng) % 8));
			if (full)
				m_check_after_full_gc(f, m, horizon, seq);
			ck_epoch_poll(&f->rec);
		} else {
			ck_epoch_barrier(&f->rec);
		}
		if (step % 100 == 99) {
			assert_true(kvmap_check(f->map));
			m_check_snapshot(f, m, seq);
			m_check_snapshot(f, m, horizon);
			m_check_snapshot(f, m, horizon + t_rand(&rng) % (seq - horizon + 1));
		}
	}
	kvmap_gc(f->map, seq, UINT32_MAX);
	m_check_after_full_gc(f, m, seq, seq);
	assert_true(f->stats.versions_collected > 0);
	assert_int_equal(kvmap_gc_pending(f->map), 0);
	m_fini(m);
	free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, fx_setup, fx_teardown)
		T(test_kvmap_order_memcmp),
		T(test_kvmap_order_random_keys),
		T(test_kvmap_seek_inclusive_exclusive),
		T(test_kvmap_iter_skips_tombstones),
		T(test_kvmap_mvcc_every_snapshot),
		T(test_kvmap_created_seq),
		T(test_kvmap_large_key_and_value),
		T(test_kvmap_gc_drops_superseded),
		T(test_kvmap_gc_unlinks_deleted_keys),
		T(test_kvmap_gc_cuts_below_newer_version),
		T(test_kvmap_gc_empty_node_waits_for_refs),
		T(test_kvmap_gc_budget_and_horizon),
		T(test_kvmap_gc_defers_free_until_readers_leave),
		T(test_kvmap_retire_frees_after_grace),
		T(test_kvmap_random_model),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
