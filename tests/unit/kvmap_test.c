/* SPDX-License-Identifier: MIT */
/*
 * kvmap: ordering, seek, MVCC snapshots, created_seq, GC (against a model),
 * epoch-deferred frees, a seeded random model test, and a concurrent test
 * with one writer and several snapshot readers.
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

static void fx_init(struct fx *f, uint64_t rng)
{
	memset(f, 0, sizeof(*f));
	ck_epoch_init(&f->epoch);
	ck_epoch_register(&f->epoch, &f->rec, NULL);
	ck_epoch_register(&f->epoch, &f->reader, NULL);
	core_pool_init(&f->pool);
	f->env.record = &f->rec;
	f->env.pool = &f->pool;
	f->env.stats = &f->stats;
	f->env.rng = rng;
	f->map = kvmap_create(&f->env);
	assert_non_null(f->map);
}

/* Destroy the map, run every deferred free, and check nothing leaked. */
static void fx_fini(struct fx *f)
{
	kvmap_destroy(f->map);
	ck_epoch_barrier(&f->rec);
	assert_int_equal(f->stats.versions_live, 0);
	assert_int_equal(f->stats.keys_live, 0);
	assert_int_equal(f->stats.gc_backlog, 0);
	assert_int_equal(f->pool.bytes_in_use, 0);
	core_pool_destroy(&f->pool);
	ck_epoch_unregister(&f->reader);
	ck_epoch_unregister(&f->rec);
}

static int fx_setup(void **state)
{
	struct fx *f = malloc(sizeof(*f));

	if (!f)
		return -1;
	fx_init(f, 42);
	*state = f;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fx *f = *state;

	fx_fini(f);
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

/* Seek and compare the key found with @want (NULL: end). */
static void expect_seek(struct fx *f, const void *k, uint32_t kl, bool excl, uint64_t snap,
			const void *want, uint32_t want_len)
{
	struct kvmap_iter it;
	const uint8_t *got;
	uint32_t got_len;

	rd_begin(f);
	kvmap_iter_seek_any(&it, f->map, k, kl, excl, snap);
	if (!want) {
		assert_false(kvmap_iter_valid(&it));
	} else {
		assert_true(kvmap_iter_valid(&it));
		got = kvmap_iter_key(&it, &got_len);
		assert_int_equal(got_len, want_len);
		if (want_len)
			assert_memory_equal(got, want, want_len);
	}
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
	char val[8];
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
		uint32_t len;
		const uint8_t *k = kvmap_iter_key(&it, &len);

		assert_true(i < N);
		assert_int_equal(len, sorted[i].len);
		if (len)
			assert_memory_equal(k, sorted[i].p, len);
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

static int bkey_cmp(const void *a, const void *b)
{
	const uint8_t *x = a, *y = b;
	int c = memcmp(x + 1, y + 1, x[0] < y[0] ? x[0] : y[0]);

	return c ? c : (x[0] > y[0]) - (x[0] < y[0]);
}

/* Many random short keys over a tiny alphabet: iteration == sorted set. */
static void test_kvmap_order_random_keys(void **state)
{
	enum { N = 3000 };
	static const uint8_t alpha[] = { 0x00, 0x01, 'a', 0x7f, 0x80, 0xff };
	static uint8_t keys[N][9];      /* [0] = length, then bytes */
	struct fx *f = *state;
	uint64_t rng = t_seed("test_kvmap_order_random_keys");
	struct kvmap_iter it;
	size_t uniq = 0, i = 0;

	for (size_t j = 0; j < N; j++) {
		keys[j][0] = (uint8_t)(t_rand(&rng) % 9);
		for (int b = 1; b <= keys[j][0]; b++)
			keys[j][b] = alpha[t_rand(&rng) % sizeof(alpha)];
		assert_int_equal(kvmap_put(f->map, keys[j] + 1, keys[j][0], "x", 1, j + 1, false),
				 0);
	}
	qsort(keys, N, sizeof(keys[0]), bkey_cmp);
	for (size_t j = 0; j < N; j++)
		if (j == 0 || bkey_cmp(keys[j], keys[uniq - 1]) != 0)
			memmove(keys[uniq++], keys[j], sizeof(keys[0]));
	assert_true(kvmap_check(f->map));
	assert_int_equal(f->stats.keys_live, uniq);
	assert_int_equal(f->stats.versions_live, N);
	rd_begin(f);
	for (kvmap_iter_seek_any(&it, f->map, NULL, 0, false, N); kvmap_iter_valid(&it);
	     kvmap_iter_next_any(&it), i++) {
		uint32_t len;
		const uint8_t *k = kvmap_iter_key(&it, &len);

		assert_true(i < uniq);
		assert_int_equal(len, keys[i][0]);
		if (len)
			assert_memory_equal(k, keys[i] + 1, len);
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
	char k[4];

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
	char want_x[16] = "", want_y[16] = "";
	bool have_x = false, have_y = false;
	char buf[16];

	/* "x" at odd seqs, "y" at even ones; every 7th op is a delete. */
	for (uint64_t s = 1; s <= N; s++) {
		const char *k = (s & 1) ? "x" : "y";

		if (s % 7 == 3)
			assert_int_equal(kvmap_put(f->map, k, 1, NULL, 0, s, true), 0);
		else {
			snprintf(buf, sizeof(buf), "%c%llu", k[0], (unsigned long long)s);
			put_s(f, k, 1, buf, s);
		}
	}
	assert_true(kvmap_check(f->map));
	for (uint64_t s = 0; s <= N + 1; s++) {
		if (s >= 1 && s <= N) {
			bool del = s % 7 == 3;
			char *w = (s & 1) ? want_x : want_y;
			bool *h = (s & 1) ? &have_x : &have_y;

			*h = !del;
			snprintf(w, 16, "%c%llu", (s & 1) ? 'x' : 'y', (unsigned long long)s);
		}
		expect_get(f, KS("x"), s, have_x ? want_x : NULL);
		expect_get(f, KS("y"), s, have_y ? want_y : NULL);
		assert_int_equal(iter_count(f, s), (uint64_t)have_x + have_y);
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

/* A tombstone below a newer version: the tombstone and what it hides go,
 * the newer version stays. */
static void test_kvmap_gc_cuts_below_newer_version(void **state)
{
	struct fx *f = *state;

	put_s(f, KS("x"), "x1", 1);
	del_s(f, KS("x"), 2);
	put_s(f, KS("x"), "x3", 3);
	assert_int_equal(kvmap_gc(f->map, 2, 100), 1);
	assert_int_equal(f->stats.versions_live, 1);
	assert_int_equal(f->stats.versions_collected, 2);
	assert_int_equal(f->stats.keys_live, 1);
	expect_get(f, KS("x"), 2, NULL);
	expect_get(f, KS("x"), 3, "x3");
	assert_int_equal(get_v(f, KS("x"), 3)->created_seq, 3);
	assert_true(kvmap_check(f->map));
	assert_int_equal(kvmap_gc(f->map, 3, 100), 1);
	assert_int_equal(f->stats.versions_live, 1);
	assert_int_equal(f->stats.keys_live, 1);
}

/* A node emptied while GC entries still name it stays linked (and can be
 * revived) until its last entry is processed. */
static void test_kvmap_gc_empty_node_waits_for_refs(void **state)
{
	struct fx *f = *state;

	put_s(f, KS("y"), "y1", 1);
	del_s(f, KS("y"), 2);
	put_s(f, KS("y"), "y3", 3);
	del_s(f, KS("y"), 4);
	assert_int_equal(kvmap_gc_pending(f->map), 3);
	assert_int_equal(kvmap_gc(f->map, 4, 2), 2);    /* entries 2 and 3 */
	assert_int_equal(f->stats.versions_live, 0);
	assert_int_equal(f->stats.versions_collected, 4);
	assert_int_equal(f->stats.keys_live, 1);        /* entry 4 still queued */
	assert_true(kvmap_check(f->map));
	expect_get(f, KS("y"), 4, NULL);
	assert_int_equal(iter_count(f, 4), 0);
	del_s(f, KS("y"), 5);                           /* no-op on an empty node */
	assert_int_equal(f->stats.versions_live, 0);
	put_s(f, KS("y"), "y6", 6);                     /* revive: nothing superseded */
	assert_int_equal(kvmap_gc_pending(f->map), 1);
	assert_int_equal(get_v(f, KS("y"), 6)->created_seq, 6);
	assert_int_equal(kvmap_gc(f->map, 6, 10), 1);
	assert_int_equal(f->stats.keys_live, 1);
	assert_int_equal(f->stats.versions_live, 1);
	expect_get(f, KS("y"), 6, "y6");
	assert_true(kvmap_check(f->map));
	/* Once emptied with no entries left it goes. */
	del_s(f, KS("y"), 7);
	assert_int_equal(kvmap_gc(f->map, 7, 10), 1);
	assert_int_equal(f->stats.keys_live, 0);
	assert_int_equal(iter_count(f, 7), 0);
	assert_true(kvmap_check(f->map));
}

static void test_kvmap_gc_budget_and_horizon(void **state)
{
	struct fx *f = *state;
	char k[4];

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
	uint32_t len;
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
	assert_memory_equal(kvmap_iter_key(&it, &len), "b", 1);
	assert_memory_equal(it.version->data, "bee", 3);
	kvmap_iter_next_any(&it);
	assert_true(kvmap_iter_valid(&it));
	assert_memory_equal(kvmap_iter_key(&it, &len), "c", 1);
	assert_int_equal(len, 1);
	rd_end(f);
	ck_epoch_barrier(&f->rec);
	assert_true(f->pool.bytes_in_use < used);
	expect_get(f, KS("a"), 5, "second");
	expect_seek(f, KS("a"), true, 5, KS("c"));
}

static void test_kvmap_retire_frees_after_grace(void **state)
{
	struct fx *f = *state;
	uint64_t used0 = f->pool.bytes_in_use;
	uint64_t used1;
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

static int m_key_cmp(const struct m_key *a, const struct m_key *b)
{
	uint32_t n = a->len < b->len ? a->len : b->len;
	int c = n ? memcmp(a->key, b->key, n) : 0;

	return c ? c : (a->len > b->len) - (a->len < b->len);
}

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
		m->order[i] = i;
	}
	for (int i = 1; i < M_KEYS; i++)        /* insertion sort by key */
		for (int j = i; j > 0 && m_key_cmp(&m->k[m->order[j - 1]],
						    &m->k[m->order[j]]) > 0; j--) {
			int t = m->order[j];

			m->order[j] = m->order[j - 1];
			m->order[j - 1] = t;
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
	uint8_t buf[64];
	uint32_t len = m_val(i, seq, buf);

	assert_int_equal(kvmap_put(f->map, k->key, k->len, buf, len, seq, tomb), 0);
	if (tomb && (!last || last->tomb))
		return;
	k->v = realloc(k->v, (k->n + 1) * sizeof(*k->v));
	assert_non_null(k->v);
	k->v[k->n].seq = seq;
	k->v[k->n].created = (last && !last->tomb) ? last->created : seq;
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

static void m_check_version(const struct model *m, int i, const struct m_ver *mv,
			    const struct kv_version *v)
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
	(void)m;
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
			m_check_version(m, i, mv, v);
		else
			assert_null(v);
	}
	kvmap_iter_seek_any(&it, f->map, NULL, 0, false, snap);
	for (; kvmap_iter_valid(&it); kvmap_iter_next_any(&it)) {
		uint32_t len;
		const uint8_t *key = kvmap_iter_key(&it, &len);

		while (pos < M_KEYS && !m_at(m, m->order[pos], snap))
			pos++;
		assert_true(pos < M_KEYS);
		assert_int_equal(len, m->k[m->order[pos]].len);
		if (len)
			assert_memory_equal(key, m->k[m->order[pos]].key, len);
		m_check_version(m, m->order[pos], m_at(m, m->order[pos], snap), it.version);
		pos++;
	}
	while (pos < M_KEYS && !m_at(m, m->order[pos], snap))
		pos++;
	assert_int_equal(pos, M_KEYS);
	rd_end(f);
}

/* After GC at @horizon with no budget limit, a key keeps its versions newer
 * than the horizon plus the newest older one unless that is a tombstone. */
static void m_check_counts_after_full_gc(struct fx *f, const struct model *m,
					 uint64_t horizon)
{
	uint64_t versions = 0, keys = 0;

	for (int i = 0; i < M_KEYS; i++) {
		const struct m_key *k = &m->k[i];
		uint64_t n = 0;
		size_t j = k->n;

		while (j > 0 && k->v[j - 1].seq > horizon) {
			n++;
			j--;
		}
		if (j > 0 && !k->v[j - 1].tomb)
			n++;
		versions += n;
		keys += n > 0;
	}
	assert_int_equal(f->stats.versions_live, versions);
	assert_int_equal(f->stats.keys_live, keys);
}

static void test_kvmap_gc_preserves_snapshots_model(void **state)
{
	struct fx *f = *state;
	uint64_t rng = 7, seq = 0, before;
	struct model *m = malloc(sizeof(*m));

	assert_non_null(m);
	m_init(m, &rng);
	for (int op = 0; op < 600; op++)
		m_put(f, m, (int)(t_rand(&rng) % M_KEYS), ++seq, t_rand(&rng) % 3 == 0);
	for (uint64_t s = 0; s <= seq; s++)
		m_check_snapshot(f, m, s);
	before = f->stats.versions_live;
	for (uint64_t h = 100; h <= seq; h += 100) {
		kvmap_gc(f->map, h, UINT32_MAX);
		assert_true(kvmap_check(f->map));
		m_check_counts_after_full_gc(f, m, h);
		ck_epoch_barrier(&f->rec);      /* really free: ASan sees misuse */
		for (uint64_t s = h; s <= seq; s++)
			m_check_snapshot(f, m, s);
	}
	assert_true(f->stats.versions_live < before);
	assert_int_equal(f->stats.versions_collected, before - f->stats.versions_live);
	assert_int_equal(kvmap_gc_pending(f->map), 0);
	m_fini(m);
	free(m);
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
			if (full) {
				assert_int_equal(kvmap_gc(f->map, horizon, UINT32_MAX), 0);
				m_check_counts_after_full_gc(f, m, horizon);
			}
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
	assert_true(f->stats.versions_collected > 0);
	m_fini(m);
	free(m);
}

/* ---- concurrency -------------------------------------------------------- */

/*
 * Seq s writes key s % C_KEYS; it is a delete when c_is_del(s), otherwise a
 * value encoding s. So a reader at snapshot S can compute, for every key,
 * the last write at or below S and from it the expected value or absence.
 */
#define C_KEYS 64u
#define C_READERS 3
#define C_OPS 60000u

struct conc {
	ck_epoch_t epoch;
	ck_epoch_record_t wrec;
	ck_epoch_record_t rrec[C_READERS];
	struct core_pool pool;
	struct kvmap_stats stats;
	struct kvmap_env env;
	struct kvmap *map;
	uint64_t applied;               /* atomic: every seq <= applied is in */
	int done;                       /* atomic */
	pthread_mutex_t snap_lock;
	uint64_t snaps[C_READERS];      /* under snap_lock; UINT64_MAX = idle */
	uint64_t checks[C_READERS];     /* scans done, per reader */
	uint64_t distinct[C_READERS];   /* distinct snapshots used */
	uint64_t gc_unlinks;            /* keys unlinked while readers ran */
	int ready;                      /* atomic: readers past a first scan */
	int failed;                     /* atomic */
	char msg[256];
};

struct c_reader {
	struct conc *c;
	int id;
	uint64_t rng;
};

static bool c_is_del(uint64_t s)
{
	uint64_t z = s * 0x9E3779B97F4A7C15ull;

	return ((z >> 40) % 10) < 3;
}

static uint32_t c_key(uint32_t k, uint8_t *buf)
{
	buf[0] = 'k';
	buf[1] = (uint8_t)(k >> 8);
	buf[2] = (uint8_t)k;
	buf[3] = 0;
	buf[4] = 0;
	return 3 + k % 3;
}

static uint32_t c_val(uint64_t s, uint8_t *buf)
{
	uint32_t len = 8 + (uint32_t)(s % 17);

	memcpy(buf, &s, 8);
	for (uint32_t j = 8; j < len; j++)
		buf[j] = (uint8_t)(s + j);
	return len;
}

/* Last seq <= @snap that wrote key @k, or 0. */
static uint64_t c_last(uint32_t k, uint64_t snap)
{
	uint64_t s;

	if (snap < k)
		return 0;
	s = snap - (snap - k) % C_KEYS;
	return s;
}

/* Expected created_seq of the value written at @s: start of its run of puts. */
static uint64_t c_created(uint64_t s)
{
	while (s > C_KEYS && !c_is_del(s - C_KEYS))
		s -= C_KEYS;
	return s;
}

static void c_fail(struct conc *c, const char *what, uint32_t k, uint64_t snap)
{
	int zero = 0;

	if (__atomic_compare_exchange_n(&c->failed, &zero, 1, false, __ATOMIC_ACQ_REL,
					__ATOMIC_RELAXED))
		snprintf(c->msg, sizeof(c->msg), "%s: key %u snapshot %llu", what, k,
			 (unsigned long long)snap);
}

/* Does @v (possibly NULL) match what key @k must look like at @snap? */
static bool c_matches(uint32_t k, uint64_t snap, const struct kv_version *v)
{
	uint64_t s = c_last(k, snap);
	uint8_t buf[32];
	uint32_t len;

	if (s == 0 || c_is_del(s))
		return v == NULL;
	len = c_val(s, buf);
	return v && v->seq == s && v->created_seq == c_created(s) && v->flags == 0 &&
	       v->len == len && memcmp(v->data, buf, len) == 0;
}

static void c_scan(struct c_reader *r, uint64_t snap)
{
	struct conc *c = r->c;
	struct kvmap_iter it;
	uint32_t want = 0, seen = 0;
	int64_t prev = -1;

	for (uint32_t k = 0; k < C_KEYS; k++)
		want += c_matches(k, snap, NULL) ? 0 : 1;
	for (kvmap_iter_seek_any(&it, c->map, NULL, 0, false, snap); kvmap_iter_valid(&it);
	     kvmap_iter_next_any(&it)) {
		uint8_t kb[8];
		uint32_t len;
		const uint8_t *key = kvmap_iter_key(&it, &len);
		uint32_t k = len >= 3 ? ((uint32_t)key[1] << 8 | key[2]) : UINT32_MAX;

		if (k >= C_KEYS || len != c_key(k, kb) || memcmp(key, kb, len) != 0) {
			c_fail(c, "scan: unknown key", k, snap);
			return;
		}
		if ((int64_t)k <= prev) {
			c_fail(c, "scan: not strictly ascending", k, snap);
			return;
		}
		if (!c_matches(k, snap, it.version)) {
			c_fail(c, "scan: wrong version", k, snap);
			return;
		}
		prev = k;
		seen++;
	}
	if (seen != want)
		c_fail(c, "scan: wrong number of keys", seen, snap);
}

static void c_points(struct c_reader *r, uint64_t snap)
{
	struct conc *c = r->c;
	struct kvmap_iter it;
	uint8_t kb[8];

	for (int i = 0; i < 16; i++) {
		uint32_t k = (uint32_t)(t_rand(&r->rng) % C_KEYS);
		uint32_t len = c_key(k, kb);
		uint32_t n = k + 1;

		if (!c_matches(k, snap, kvmap_get_any(c->map, kb, len, snap))) {
			c_fail(c, "get: wrong version", k, snap);
			return;
		}
		/* Seek just past k: lands on the next key visible at snap. */
		kvmap_iter_seek_any(&it, c->map, kb, len, true, snap);
		while (n < C_KEYS && c_matches(n, snap, NULL))
			n++;
		if (n == C_KEYS ? kvmap_iter_valid(&it) :
		    !kvmap_iter_valid(&it) || !c_matches(n, snap, it.version)) {
			c_fail(c, "seek: wrong key", k, snap);
			return;
		}
	}
}

static void *c_reader_main(void *arg)
{
	struct c_reader *r = arg;
	struct conc *c = r->c;
	ck_epoch_record_t *rec = &c->rrec[r->id];
	uint64_t last = UINT64_MAX;

	while (!__atomic_load_n(&c->done, __ATOMIC_ACQUIRE) &&
	       !__atomic_load_n(&c->failed, __ATOMIC_RELAXED)) {
		uint64_t snap;

		pthread_mutex_lock(&c->snap_lock);
		snap = __atomic_load_n(&c->applied, __ATOMIC_ACQUIRE);
		c->snaps[r->id] = snap;
		pthread_mutex_unlock(&c->snap_lock);
		c->distinct[r->id] += snap != last;
		last = snap;
		for (int rep = 0; rep < 3; rep++) {
			ck_epoch_begin(rec, NULL);
			c_scan(r, snap);
			c_points(r, snap);
			CORE_TSAN_RELEASE(&c->epoch);
			ck_epoch_end(rec, NULL);
			c->checks[r->id]++;
		}
		if (c->checks[r->id] == 3)
			__atomic_add_fetch(&c->ready, 1, __ATOMIC_RELEASE);
		pthread_mutex_lock(&c->snap_lock);
		c->snaps[r->id] = UINT64_MAX;
		pthread_mutex_unlock(&c->snap_lock);
	}
	return NULL;
}

/* Oldest snapshot any reader may still use. */
static uint64_t c_horizon(struct conc *c)
{
	uint64_t h;

	pthread_mutex_lock(&c->snap_lock);
	h = __atomic_load_n(&c->applied, __ATOMIC_RELAXED);
	for (int i = 0; i < C_READERS; i++)
		h = c->snaps[i] < h ? c->snaps[i] : h;
	pthread_mutex_unlock(&c->snap_lock);
	return h;
}

static void c_writer(struct conc *c)
{
	uint8_t kb[8], vb[32];

	/* Start once every reader is running, so they overlap the writes. */
	while (__atomic_load_n(&c->ready, __ATOMIC_ACQUIRE) < C_READERS)
		sched_yield();
	for (uint64_t s = 1; s <= C_OPS && !__atomic_load_n(&c->failed, __ATOMIC_RELAXED);
	     s++) {
		uint32_t k = (uint32_t)(s % C_KEYS);
		uint32_t kl = c_key(k, kb);
		uint32_t vl = c_val(s, vb);

		if (kvmap_put(c->map, kb, kl, vb, vl, s, c_is_del(s)) != 0)
			c_fail(c, "put failed", k, s);
		__atomic_store_n(&c->applied, s, __ATOMIC_RELEASE);
		if (s % 8 == 0) {
			uint64_t keys = c->stats.keys_live;

			kvmap_gc(c->map, c_horizon(c), 64);
			c->gc_unlinks += keys - c->stats.keys_live;
			ck_epoch_poll(&c->wrec);
		}
		if (s % 4096 == 0 && !kvmap_check(c->map))
			c_fail(c, "kvmap_check", 0, s);
	}
}

static void test_kvmap_concurrent_snapshot_readers(void **state)
{
	struct conc *c = calloc(1, sizeof(*c));
	struct c_reader rd[C_READERS];
	pthread_t th[C_READERS];
	uint64_t seed = t_seed("test_kvmap_concurrent_snapshot_readers");
	uint64_t present = 0;

	(void)state;
	assert_non_null(c);
	ck_epoch_init(&c->epoch);
	ck_epoch_register(&c->epoch, &c->wrec, NULL);
	core_pool_init(&c->pool);
	c->env = (struct kvmap_env){ .record = &c->wrec, .pool = &c->pool,
				     .stats = &c->stats, .rng = seed };
	c->map = kvmap_create(&c->env);
	assert_non_null(c->map);
	pthread_mutex_init(&c->snap_lock, NULL);
	for (int i = 0; i < C_READERS; i++) {
		c->snaps[i] = UINT64_MAX;
		ck_epoch_register(&c->epoch, &c->rrec[i], NULL);
		rd[i] = (struct c_reader){ .c = c, .id = i, .rng = seed + (uint64_t)i };
		assert_int_equal(pthread_create(&th[i], NULL, c_reader_main, &rd[i]), 0);
	}
	c_writer(c);
	__atomic_store_n(&c->done, 1, __ATOMIC_RELEASE);
	for (int i = 0; i < C_READERS; i++)
		pthread_join(th[i], NULL);
	if (c->failed)
		fail_msg("%s", c->msg);
	for (int i = 0; i < C_READERS; i++) {
		assert_true(c->checks[i] > 0);
		print_message("reader %d: %llu scans, %llu snapshots\n", i,
			      (unsigned long long)c->checks[i],
			      (unsigned long long)c->distinct[i]);
	}
	assert_true(c->stats.versions_collected > 0);
	assert_true(c->gc_unlinks > 0);

	/* Everything is garbage below the last seq now. */
	kvmap_gc(c->map, C_OPS, UINT32_MAX);
	assert_true(kvmap_check(c->map));
	for (uint32_t k = 0; k < C_KEYS; k++)
		present += !c_matches(k, C_OPS, NULL);
	assert_int_equal(c->stats.versions_live, present);
	assert_int_equal(c->stats.keys_live, present);
	kvmap_destroy(c->map);
	ck_epoch_barrier(&c->wrec);
	assert_int_equal(c->pool.bytes_in_use, 0);
	core_pool_destroy(&c->pool);
	pthread_mutex_destroy(&c->snap_lock);
	free(c);
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
		T(test_kvmap_gc_drops_superseded),
		T(test_kvmap_gc_unlinks_deleted_keys),
		T(test_kvmap_gc_cuts_below_newer_version),
		T(test_kvmap_gc_empty_node_waits_for_refs),
		T(test_kvmap_gc_budget_and_horizon),
		T(test_kvmap_gc_defers_free_until_readers_leave),
		T(test_kvmap_retire_frees_after_grace),
		T(test_kvmap_gc_preserves_snapshots_model),
		T(test_kvmap_random_model),
#undef T
		cmocka_unit_test(test_kvmap_concurrent_snapshot_readers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
