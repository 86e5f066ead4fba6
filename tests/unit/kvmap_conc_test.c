/* SPDX-License-Identifier: MIT */
/*
 * kvmap under concurrency: one writer (puts, deletes, GC with epoch
 * reclamation) and several lock-free snapshot readers checking what they see
 * against the writer's seeded plan. Run under ThreadSanitizer too.
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

/* ---- concurrency --------------------------------------------------------
 *
 * The writer follows a plan fixed up front from the seed: seq s writes key
 * key_of[s], a delete when del_of[s], otherwise a value that encodes s. Each
 * key's write seqs are listed in order, so a reader at snapshot S finds the
 * last write to a key at or below S by binary search and knows exactly what
 * it must see.
 */
#define C_KEYS 128u
#define C_READERS 3
#define C_OPS 100000u

struct conc {
	ck_epoch_t epoch;
	ck_epoch_record_t wrec;
	ck_epoch_record_t rrec[C_READERS];
	struct core_pool pool;
	struct kvmap_stats stats;
	struct kvmap_env env;
	struct kvmap *map;
	uint16_t key_of[C_OPS + 1];
	uint8_t del_of[C_OPS + 1];
	uint32_t *seqs[C_KEYS];         /* per key, ascending */
	uint32_t nseqs[C_KEYS];
	uint64_t applied;               /* atomic: every seq <= applied is in */
	int done;                       /* atomic */
	int ready;                      /* atomic: readers past a first scan */
	int failed;                     /* atomic */
	uint64_t gc_safe;               /* writer: no snapshot in use is below */
	uint64_t gc_cand;               /* writer: gc_safe after a grace period */
	bool gc_waiting;
	ck_epoch_entry_t gc_entry;
	uint64_t checks[C_READERS];     /* snapshots used, per reader */
	uint64_t gc_unlinks;            /* keys unlinked while readers ran */
	char msg[256];
};

struct c_reader {
	struct conc *c;
	int id;
	uint64_t rng;
};

static void c_plan(struct conc *c, uint64_t rng)
{
	for (uint64_t s = 1; s <= C_OPS; s++) {
		uint32_t k = (uint32_t)(t_rand(&rng) % C_KEYS);

		c->key_of[s] = (uint16_t)k;
		c->del_of[s] = t_rand(&rng) % 10 < 3;
		c->nseqs[k]++;
	}
	for (uint32_t k = 0; k < C_KEYS; k++) {
		c->seqs[k] = malloc((c->nseqs[k] + 1) * sizeof(uint32_t));
		assert_non_null(c->seqs[k]);
		c->nseqs[k] = 0;
	}
	for (uint32_t s = 1; s <= C_OPS; s++)
		c->seqs[c->key_of[s]][c->nseqs[c->key_of[s]]++] = s;
}

/* 'k', k big-endian, then 0..2 zero bytes: ascending in k. */
static uint32_t c_key(uint32_t k, uint8_t *buf)
{
	memcpy(buf, (uint8_t[5]){ 'k', (uint8_t)(k >> 8), (uint8_t)k, 0, 0 }, 5);
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

static void c_fail(struct conc *c, const char *what, uint32_t k, uint64_t snap)
{
	int zero = 0;

	if (__atomic_compare_exchange_n(&c->failed, &zero, 1, false, __ATOMIC_ACQ_REL,
					__ATOMIC_RELAXED))
		snprintf(c->msg, sizeof(c->msg), "%s: key %u snapshot %llu", what, k,
			 (unsigned long long)snap);
}

/* Does @v (NULL: absent) show key @k exactly as it must be at @snap? */
static bool c_matches(const struct conc *c, uint32_t k, uint64_t snap,
		      const struct kv_version *v)
{
	const uint32_t *q = c->seqs[k];
	uint32_t lo = 0, hi = c->nseqs[k], i;
	uint8_t buf[32];
	uint32_t len;

	while (lo < hi) {               /* lo = number of writes <= snap */
		uint32_t mid = (lo + hi) / 2;

		if (q[mid] <= snap)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0 || c->del_of[q[lo - 1]])
		return v == NULL;
	for (i = lo - 1; i > 0 && !c->del_of[q[i - 1]]; i--)
		;                       /* start of the run of puts: created_seq */
	len = c_val(q[lo - 1], buf);
	return v && v->seq == q[lo - 1] && v->created_seq == q[i] && v->flags == 0 &&
	       v->len == len && memcmp(v->data, buf, len) == 0;
}

static void c_scan(struct c_reader *r, uint64_t snap)
{
	struct conc *c = r->c;
	struct kvmap_iter it;
	uint32_t want = 0, seen = 0;
	int64_t prev = -1;

	for (uint32_t k = 0; k < C_KEYS; k++)
		want += !c_matches(c, k, snap, NULL);
	for (kvmap_iter_seek_any(&it, c->map, NULL, 0, false, snap); kvmap_iter_valid(&it);
	     kvmap_iter_next_any(&it), seen++) {
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
		if (!c_matches(c, k, snap, it.version)) {
			c_fail(c, "scan: wrong version", k, snap);
			return;
		}
		prev = k;
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

		if (!c_matches(c, k, snap, kvmap_get_any(c->map, kb, len, snap))) {
			c_fail(c, "get: wrong version", k, snap);
			return;
		}
		/* Seek just past k: lands on the next key visible at snap. */
		kvmap_iter_seek_any(&it, c->map, kb, len, true, snap);
		while (n < C_KEYS && c_matches(c, n, snap, NULL))
			n++;
		if (n == C_KEYS ? kvmap_iter_valid(&it) :
		    !kvmap_iter_valid(&it) || !c_matches(c, n, snap, it.version)) {
			c_fail(c, "seek: wrong key", k, snap);
			return;
		}
		/* Seek at k: starts at k's node when the map holds it (the hash
		 * index, while the writer inserts, deletes and unlinks). */
		kvmap_iter_seek_any(&it, c->map, kb, len, false, snap);
		for (n = k; n < C_KEYS && c_matches(c, n, snap, NULL); n++)
			;
		if (n == C_KEYS ? kvmap_iter_valid(&it) :
		    !kvmap_iter_valid(&it) || !c_matches(c, n, snap, it.version)) {
			c_fail(c, "inclusive seek: wrong key", k, snap);
			return;
		}
	}
}

/* Horizon without a lock (as the shard does it): a reader takes its snapshot
 * inside its epoch section, so `applied` as read when a grace period starts
 * is at or below every snapshot still in use once that period has passed.
 * Nothing but the epoch (annotated for TSan) orders reader sections before
 * the writer's frees, so TSan also checks kvmap's own annotations. */
static void *c_reader_main(void *arg)
{
	struct c_reader *r = arg;
	struct conc *c = r->c;
	ck_epoch_record_t *rec = &c->rrec[r->id];

	while (!__atomic_load_n(&c->done, __ATOMIC_ACQUIRE) &&
	       !__atomic_load_n(&c->failed, __ATOMIC_RELAXED)) {
		uint64_t snap, reps = 1 + t_rand(&r->rng) % 3;

		ck_epoch_begin(rec, NULL);
		snap = __atomic_load_n(&c->applied, __ATOMIC_ACQUIRE);
		for (uint64_t rep = 0; rep < reps; rep++) {
			c_scan(r, snap);
			c_points(r, snap);
		}
		CORE_TSAN_RELEASE(&c->epoch);
		ck_epoch_end(rec, NULL);
		if (c->checks[r->id]++ == 0)
			__atomic_add_fetch(&c->ready, 1, __ATOMIC_RELEASE);
	}
	return NULL;
}

static void c_gc_grace_done(ck_epoch_entry_t *e)
{
	struct conc *c = (struct conc *)(void *)((char *)e - offsetof(struct conc, gc_entry));

	c->gc_safe = c->gc_cand;
	c->gc_waiting = false;
}

/* Start a grace period for the current seq unless one is running; poll. */
static void c_advance(struct conc *c)
{
	if (!c->gc_waiting) {
		c->gc_cand = __atomic_load_n(&c->applied, __ATOMIC_RELAXED);
		c->gc_waiting = true;
		ck_epoch_call(&c->wrec, &c->gc_entry, c_gc_grace_done);
	}
	ck_epoch_poll(&c->wrec);
}

/* Wait until no reader can be below @s, then collect all below it, so that
 * deleted keys get unlinked under readers (a lagging horizon rarely does). */
static void c_catch_up(struct conc *c, uint64_t s)
{
	uint64_t keys = c->stats.keys_live;

	while (c->gc_safe < s && !__atomic_load_n(&c->failed, __ATOMIC_RELAXED)) {
		c_advance(c);
		sched_yield();
	}
	kvmap_gc(c->map, s, UINT32_MAX);
	c->gc_unlinks += keys - c->stats.keys_live;
	ck_epoch_poll(&c->wrec);
}

static void c_writer(struct conc *c)
{
	uint8_t kb[8], vb[32];

	/* Start once every reader is running, so that they overlap. */
	while (__atomic_load_n(&c->ready, __ATOMIC_ACQUIRE) < C_READERS)
		sched_yield();
	for (uint64_t s = 1; s <= C_OPS; s++) {
		uint32_t kl = c_key(c->key_of[s], kb);
		uint32_t vl = c_val(s, vb);

		if (__atomic_load_n(&c->failed, __ATOMIC_RELAXED))
			return;
		if (kvmap_put(c->map, kb, kl, vb, vl, s, c->del_of[s]) != 0)
			c_fail(c, "put failed", c->key_of[s], s);
		__atomic_store_n(&c->applied, s, __ATOMIC_RELEASE);
		if (s % 8 == 0) {
			uint64_t keys = c->stats.keys_live;

			c_advance(c);
			kvmap_gc(c->map, c->gc_safe, 64);
			c->gc_unlinks += keys - c->stats.keys_live;
		}
		if (s % 4096 == 0 && !kvmap_check(c->map))
			c_fail(c, "kvmap_check", 0, s);
		if (s % 16384 == 0)
			c_catch_up(c, s);
	}
}

static void c_finish(struct conc *c)
{
	uint64_t present = 0;

	/* Everything below the last seq is garbage now. */
	kvmap_gc(c->map, C_OPS, UINT32_MAX);
	assert_true(kvmap_check(c->map));
	for (uint32_t k = 0; k < C_KEYS; k++)
		present += !c_matches(c, k, C_OPS, NULL);
	assert_true(present > 0);
	assert_int_equal(c->stats.versions_live, present);
	assert_int_equal(c->stats.keys_live, present);
	kvmap_destroy(c->map);
	ck_epoch_barrier(&c->wrec);
	assert_int_equal(c->pool.bytes_in_use, 0);
	core_pool_destroy(&c->pool);
	for (uint32_t k = 0; k < C_KEYS; k++)
		free(c->seqs[k]);
}

static void test_kvmap_concurrent_snapshot_readers(void **state)
{
	struct conc *c = calloc(1, sizeof(*c));
	struct c_reader rd[C_READERS];
	pthread_t th[C_READERS];
	uint64_t seed = t_seed("test_kvmap_concurrent_snapshot_readers");

	(void)state;
	assert_non_null(c);
	c_plan(c, seed);
	ck_epoch_init(&c->epoch);
	ck_epoch_register(&c->epoch, &c->wrec, NULL);
	core_pool_init(&c->pool);
	c->env = (struct kvmap_env){ .record = &c->wrec, .pool = &c->pool,
				     .stats = &c->stats, .rng = seed };
	c->map = kvmap_create(&c->env);
	assert_non_null(c->map);
	for (int i = 0; i < C_READERS; i++) {
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
	print_message("reader 0 loops %llu, unlinked %llu keys under readers\n",
		      (unsigned long long)c->checks[0], (unsigned long long)c->gc_unlinks);
	assert_true(c->stats.versions_collected > 0);
	assert_true(c->gc_unlinks > 0);
	c_finish(c);
	free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kvmap_concurrent_snapshot_readers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
