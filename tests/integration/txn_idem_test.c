/* SPDX-License-Identifier: MIT */
/*
 * txn_idem_test - idempotency keys (reference §5.7), at 1/2/4/8 shards.
 *
 * Applied, then DUPLICATE with the original seq and nothing written, through
 * aedb_commit, aedb_commit_action_envelope and the submission queue; a retry
 * is not re-evaluated (its mutations and assertions are ignored); many
 * threads submitting one key at once: exactly one APPLIED, the rest
 * DUPLICATE with its seq, the counter incremented once; a failed commit does
 * not record its key; DUPLICATE survives a restart; a small
 * idempotency_window forgets a key after enough commits, and window 0
 * ignores keys.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "it_common.h"

static void ben(uint8_t *out, uint32_t w, uint64_t v)
{
	memset(out, 0, w);
	for (uint32_t i = 0; i < 8; i++)
		out[w - 1 - i] = (uint8_t)(v >> (8 * i));
}

static uint64_t u64_or0(struct aedb *db, const char *key)
{
	struct aedb_kv_item *it = NULL;
	uint64_t v = 0;
	int rc = aedb_kv_get(db, T_P, T_S, key, strlen(key), AEDB_LATEST, &it);

	if (rc == -AEDB_ENOTFOUND)
		return 0;
	t_assert_rc(rc, 0);
	assert_int_equal(it->entry.val_len, 8);
	for (int i = 0; i < 8; i++)
		v = v << 8 | it->entry.val[i];
	aedb_kv_item_free(it);
	return v;
}

static void idem_key(uint8_t k[16], uint32_t n, uint32_t salt)
{
	memset(k, 0, 16);
	memcpy(k, &n, sizeof(n));
	memcpy(k + 8, &salt, sizeof(salt));
	k[15] = 0xa1;
}

/* A txn adding @amount to counter @ctr, with idempotency key @k. */
static struct aedb_txn *inc_txn(struct aedb *db, const char *ctr, uint64_t amount,
				const uint8_t k[16])
{
	struct aedb_txn *t;
	uint8_t v[8];

	t_assert_rc(aedb_txn_create(db, &t), 0);
	ben(v, 8, amount);
	assert_int_equal(aedb_txn_kv_num(t, T_P, T_S, ctr, strlen(ctr), 8, AEDB_NUM_ADD, v, 0,
					 0), 0);
	if (k)
		t_assert_rc(aedb_txn_set_idempotency_key(t, k), 0);
	return t;
}

static struct aedb *open_dir(const char *dir, uint32_t shards, const struct aedb_config *base)
{
	struct aedb_config cfg;
	struct aedb *db = NULL;
	int rc;

	if (base)
		cfg = *base;
	else
		aedb_config_init(&cfg);
	cfg.shards = shards;
	cfg.wal_segment_bytes = 64u << 10; /* quick to create at 8 shards */
	rc = aedb_open(dir, &cfg, &db);
	if (rc != 0)
		fail_msg("aedb_open(%s, %u shards): %s", dir, shards, aedb_strerror(rc));
	return db;
}

static void test_txn_idem_applied_then_duplicate(void **state)
{
	(void)state;
	for (uint32_t si = 0; si < T_NSHARD_COUNTS; si++) {
		struct aedb *db = t_open_p(t_shard_counts[si], NULL);
		struct aedb_commit_result r1, r2;
		uint8_t k[16], v[8];
		struct aedb_txn *t, *u;
		uint64_t v0;

		for (uint32_t path = 0; path < 2; path++) {
			idem_key(k, path, 1);
			t = inc_txn(db, "ctr", 1, k);
			if (path == 0)
				t_assert_rc(aedb_commit(db, t, &r1), AEDB_COMMIT_APPLIED);
			else
				t_assert_rc(aedb_commit_action_envelope(db, t, &r1),
					    AEDB_COMMIT_APPLIED);
			assert_int_equal(r1.outcome, AEDB_COMMIT_APPLIED);
			assert_true(r1.seq > 0);
			v0 = aedb_visible_seq(db);
			memset(&r2, 0xa5, sizeof(r2));
			if (path == 0)
				t_assert_rc(aedb_commit(db, t, &r2), AEDB_COMMIT_DUPLICATE);
			else
				t_assert_rc(aedb_commit_action_envelope(db, t, &r2),
					    AEDB_COMMIT_DUPLICATE);
			assert_int_equal(r2.outcome, AEDB_COMMIT_DUPLICATE);
			assert_int_equal(r2.seq, r1.seq);
			assert_int_equal(r2.fail_kind, AEDB_FAIL_NONE);
			assert_int_equal(r2.failed_index, -1);
			assert_int_equal(aedb_visible_seq(db), v0); /* no seq consumed */
			assert_int_equal(u64_or0(db, "ctr"), path + 1);
			aedb_txn_free(t);
		}
		/* the retry is not evaluated: other mutations, a failing assertion
		 * and an underflow are all ignored - it is the same commit */
		idem_key(k, 0, 1);
		t_assert_rc(aedb_txn_create(db, &u), 0);
		ben(v, 8, 1000);
		aedb_txn_kv_num(u, T_P, T_S, "ctr", 3, 8, AEDB_NUM_SUB, v, 0, 0);
		aedb_txn_kv_set(u, T_P, T_S, "other", 5, "x", 1);
		aedb_txn_assert_exists(u, T_P, T_S, "ctr", 3, 0);
		aedb_txn_set_idempotency_key(u, k);
		aedb_txn_set_finality(u, AEDB_FINALITY_DURABLE);
		v0 = aedb_visible_seq(db);
		t_assert_rc(aedb_commit(db, u, &r2), AEDB_COMMIT_DUPLICATE);
		assert_true(r2.seq > 0 && r2.seq < v0);
		assert_true(r2.durable_seq >= r2.seq);
		assert_int_equal(aedb_visible_seq(db), v0);
		t_expects(db, "other", NULL);
		assert_int_equal(u64_or0(db, "ctr"), 2);
		aedb_txn_free(u);
		/* an action envelope needs a key */
		t = inc_txn(db, "ctr", 1, NULL);
		t_assert_rc(aedb_commit_action_envelope(db, t, &r1), -AEDB_EINVAL);
		assert_int_equal(u64_or0(db, "ctr"), 2);
		/* reset drops the key: applies again */
		idem_key(k, 0, 1);
		aedb_txn_set_idempotency_key(t, k);
		aedb_txn_reset(t);
		ben(v, 8, 1);
		aedb_txn_kv_num(t, T_P, T_S, "ctr", 3, 8, AEDB_NUM_ADD, v, 0, 0);
		t_assert_rc(aedb_commit(db, t, &r1), AEDB_COMMIT_APPLIED);
		assert_int_equal(u64_or0(db, "ctr"), 3);
		aedb_txn_free(t);
		t_close(db);
	}
}

/* The same key on different transactions (one shard or several, another
 * key set): the second is a DUPLICATE of the first whatever it holds. */
static void test_txn_idem_key_not_content(void **state)
{
	(void)state;
	for (uint32_t si = 0; si < T_NSHARD_COUNTS; si++) {
		struct aedb *db = t_open_p(t_shard_counts[si], NULL);
		struct aedb_commit_result r1, r2;
		struct aedb_txn *t;
		uint8_t k[16];

		idem_key(k, 77, 2);
		t_assert_rc(aedb_txn_create(db, &t), 0);
		for (int i = 0; i < 16; i++) {
			char key[8];

			snprintf(key, sizeof(key), "m%d", i);
			aedb_txn_kv_set(t, T_P, T_S, key, strlen(key), "1", 1);
		}
		aedb_txn_set_idempotency_key(t, k);
		t_assert_rc(aedb_commit(db, t, &r1), AEDB_COMMIT_APPLIED);
		aedb_txn_free(t);
		t_assert_rc(aedb_txn_create(db, &t), 0);
		aedb_txn_kv_set(t, T_P, T_S, "solo", 4, "2", 1);
		aedb_txn_set_idempotency_key(t, k);
		t_assert_rc(aedb_commit(db, t, &r2), AEDB_COMMIT_DUPLICATE);
		assert_int_equal(r2.seq, r1.seq);
		t_expects(db, "solo", NULL);
		t_expects(db, "m7", "1");
		aedb_txn_free(t);
		t_close(db);
	}
}

/* The submission queue: APPLIED then DUPLICATE in CQE res. */
static void test_txn_idem_sq(void **state)
{
	(void)state;
	for (uint32_t si = 0; si < T_NSHARD_COUNTS; si++) {
		struct aedb *db = t_open_p(t_shard_counts[si], NULL);
		struct aedb_commit_result res[3];
		struct aedb_ring ring;
		struct aedb_txn *t;
		uint64_t seq0 = 0;
		uint8_t k[16];

		idem_key(k, 5, 3);
		t = inc_txn(db, "ctr", 10, k);
		t_assert_rc(aedb_ring_init(db, 4, &ring, 0), 0);
		for (int round = 0; round < 3; round++) {
			struct aedb_sqe *sqe = aedb_get_sqe(&ring);
			struct aedb_cqe *cqe;

			aedb_prep_commit(sqe, t, &res[round]);
			aedb_sqe_set_data64(sqe, 100 + (uint64_t)round);
			t_assert_rc(aedb_submit(&ring), 1);
			t_assert_rc(aedb_wait_cqe(&ring, &cqe), 0);
			assert_int_equal(cqe->user_data, 100 + (uint64_t)round);
			t_assert_rc(cqe->res, round ? AEDB_COMMIT_DUPLICATE : AEDB_COMMIT_APPLIED);
			aedb_cqe_seen(&ring, cqe);
			if (round == 0)
				seq0 = res[0].seq;
			assert_int_equal(res[round].seq, seq0);
			assert_int_equal(res[round].outcome,
					 round ? AEDB_COMMIT_DUPLICATE : AEDB_COMMIT_APPLIED);
		}
		/* blocking after the queue: still a duplicate */
		t_assert_rc(aedb_commit(db, t, &res[0]), AEDB_COMMIT_DUPLICATE);
		assert_int_equal(res[0].seq, seq0);
		assert_int_equal(u64_or0(db, "ctr"), 10);
		aedb_ring_exit(&ring);
		aedb_txn_free(t);
		t_close(db);
	}
}

/* ---- many threads, one key ---- */

#define CONC_THREADS 8
#define CONC_ROUNDS 40

struct conc {
	struct aedb *db;
	pthread_barrier_t *bar;
	uint32_t tid;
	int rc[CONC_ROUNDS];
	uint64_t seq[CONC_ROUNDS];
};

static void *conc_main(void *p)
{
	struct conc *c = p;
	struct aedb_ring ring;
	int use_sq = c->tid & 1, rc = 0;

	if (use_sq)
		rc = aedb_ring_init(c->db, 2, &ring, 0);
	T_CHECK(rc == 0, "ring_init: %s", aedb_strerror(rc));
	for (uint32_t r = 0; r < CONC_ROUNDS; r++) {
		struct aedb_commit_result res;
		struct aedb_txn *t;
		uint8_t k[16], v[8];
		char ctr[16];

		snprintf(ctr, sizeof(ctr), "cc%u", r);
		idem_key(k, r, 4);
		aedb_txn_create(c->db, &t);
		ben(v, 8, 1);
		aedb_txn_kv_num(t, T_P, T_S, ctr, strlen(ctr), 8, AEDB_NUM_ADD, v, 0, 0);
		/* a second key, so most rounds are cross-shard */
		aedb_txn_kv_num(t, T_P, T_S, "total", 5, 8, AEDB_NUM_ADD, v, 0, 0);
		aedb_txn_set_idempotency_key(t, k);
		pthread_barrier_wait(c->bar);
		if (use_sq && rc == 0) {
			struct aedb_sqe *sqe = aedb_get_sqe(&ring);
			struct aedb_cqe *cqe;

			aedb_prep_commit(sqe, t, &res);
			while (aedb_submit(&ring) == -AEDB_EBUSY)
				;
			aedb_wait_cqe(&ring, &cqe);
			c->rc[r] = cqe->res;
			aedb_cqe_seen(&ring, cqe);
		} else {
			c->rc[r] = aedb_commit(c->db, t, &res);
		}
		c->seq[r] = res.seq;
		T_CHECK(c->rc[r] < 0 || (int)res.outcome == c->rc[r], "outcome %u vs rc %d",
			res.outcome, c->rc[r]);
		aedb_txn_free(t);
	}
	if (use_sq && rc == 0)
		aedb_ring_exit(&ring);
	return NULL;
}

static void test_txn_idem_concurrent_one_key(void **state)
{
	(void)state;
	for (uint32_t si = 0; si < T_NSHARD_COUNTS; si++) {
		struct aedb *db = t_open_p(t_shard_counts[si], NULL);
		struct conc c[CONC_THREADS];
		pthread_t th[CONC_THREADS];
		pthread_barrier_t bar;

		pthread_barrier_init(&bar, NULL, CONC_THREADS);
		for (uint32_t i = 0; i < CONC_THREADS; i++) {
			memset(&c[i], 0, sizeof(c[i]));
			c[i].db = db;
			c[i].bar = &bar;
			c[i].tid = i;
			assert_int_equal(pthread_create(&th[i], NULL, conc_main, &c[i]), 0);
		}
		for (uint32_t i = 0; i < CONC_THREADS; i++)
			pthread_join(th[i], NULL);
		pthread_barrier_destroy(&bar);
		assert_int_equal(t_thread_failed(), 0);
		for (uint32_t r = 0; r < CONC_ROUNDS; r++) {
			uint32_t applied = 0;
			uint64_t seq = 0;
			char ctr[16];

			for (uint32_t i = 0; i < CONC_THREADS; i++) {
				if (c[i].rc[r] == AEDB_COMMIT_APPLIED) {
					applied++;
					seq = c[i].seq[r];
				} else if (c[i].rc[r] != AEDB_COMMIT_DUPLICATE) {
					fail_msg("round %u thread %u: %s", r, i,
						 aedb_strerror(c[i].rc[r]));
				}
			}
			if (applied != 1)
				fail_msg("%u shards, round %u: %u applied", t_shard_counts[si], r,
					 applied);
			for (uint32_t i = 0; i < CONC_THREADS; i++)
				assert_int_equal(c[i].seq[r], seq);
			snprintf(ctr, sizeof(ctr), "cc%u", r);
			assert_int_equal(u64_or0(db, ctr), 1);
		}
		assert_int_equal(u64_or0(db, "total"), CONC_ROUNDS);
		t_close(db);
	}
}

/* A commit that fails does not record its key: fixed, the retry applies. */
static void test_txn_idem_failure_not_recorded(void **state)
{
	(void)state;
	for (uint32_t si = 0; si < T_NSHARD_COUNTS; si++) {
		struct aedb *db = t_open_p(t_shard_counts[si], NULL);
		struct aedb_commit_result res;
		struct aedb_txn *t;
		uint8_t k[16], v[8];

		idem_key(k, 9, 5);
		t_assert_rc(aedb_txn_create(db, &t), 0);
		ben(v, 8, 50);
		aedb_txn_kv_num(t, T_P, T_S, "acct", 4, 8, AEDB_NUM_SUB, v, 0, 0);
		aedb_txn_kv_num(t, T_P, T_S, "dest", 4, 8, AEDB_NUM_ADD, v, 0, 0);
		aedb_txn_assert_exists(t, T_P, T_S, "gate", 4, 1);
		aedb_txn_set_idempotency_key(t, k);
		/* assertion fails */
		t_assert_rc(aedb_commit(db, t, &res), -AEDB_EASSERT);
		t_sets(db, "gate", "open");
		/* now the debit underflows */
		t_assert_rc(aedb_commit(db, t, &res), -AEDB_EUNDERFLOW);
		t_assert_rc(aedb_commit_action_envelope(db, t, &res), -AEDB_EUNDERFLOW);
		ben(v, 8, 80);
		t_set(db, "acct", 4, v, 8);
		/* fixed: applies, once */
		t_assert_rc(aedb_commit(db, t, &res), AEDB_COMMIT_APPLIED);
		t_assert_rc(aedb_commit(db, t, &res), AEDB_COMMIT_DUPLICATE);
		assert_int_equal(u64_or0(db, "acct"), 30);
		assert_int_equal(u64_or0(db, "dest"), 50);
		aedb_txn_free(t);
		t_close(db);
	}
}

/* DUPLICATE survives close and reopen (single- and cross-shard commits,
 * VISIBLE and DURABLE), and after a second restart. */
static void test_txn_idem_survives_restart(void **state)
{
	(void)state;
	for (uint32_t si = 0; si < T_NSHARD_COUNTS; si++) {
		uint32_t n = t_shard_counts[si];
		char *dir = t_tmpdir();
		struct aedb *db = open_dir(dir, n, NULL);
		uint64_t seqs[6];

		t_assert_rc(aedb_create_project(db, T_P), 1);
		for (uint32_t i = 0; i < 6; i++) {
			struct aedb_commit_result res;
			struct aedb_txn *t;
			uint8_t k[16];

			idem_key(k, i, 6);
			t = inc_txn(db, "ctr", 1, k);
			if (i & 1)
				aedb_txn_kv_set(t, T_P, T_S, "wide-a", 6, "a", 1);
			if (i & 2)
				aedb_txn_kv_set(t, T_P, T_S, "wide-b", 6, "b", 1);
			aedb_txn_set_finality(t, i < 3 ? AEDB_FINALITY_DURABLE
						       : AEDB_FINALITY_VISIBLE);
			t_assert_rc(aedb_commit(db, t, &res), AEDB_COMMIT_APPLIED);
			seqs[i] = res.seq;
			aedb_txn_free(t);
			t_sets(db, "filler", "x"); /* later commits on top */
		}
		t_assert_rc(aedb_close(db), 0);
		for (int reopen = 0; reopen < 2; reopen++) {
			db = open_dir(dir, n, NULL);
			for (uint32_t i = 0; i < 6; i++) {
				struct aedb_commit_result res;
				struct aedb_txn *t;
				uint8_t k[16];

				idem_key(k, i, 6);
				t = inc_txn(db, "ctr", 1, k);
				t_assert_rc(aedb_commit(db, t, &res), AEDB_COMMIT_DUPLICATE);
				assert_int_equal(res.seq, seqs[i]);
				aedb_txn_free(t);
			}
			assert_int_equal(u64_or0(db, "ctr"), 6);
			t_assert_rc(aedb_close(db), 0);
		}
		t_rmrf(dir);
		free(dir);
	}
}

/*
 * idempotency_window W: a key is remembered while fewer than W commits
 * followed it; after more, it is forgotten (expiry runs on the key's shard
 * at its GC ticks, so allow those a moment) and a retry applies again.
 */
static void test_txn_idem_window(void **state)
{
	(void)state;
	for (uint32_t si = 0; si < T_NSHARD_COUNTS; si++) {
		struct aedb_config cfg;
		struct aedb *db;
		struct aedb_commit_result r1, r2;
		struct aedb_txn *t;
		uint64_t deadline;
		uint8_t k[16];
		int rc;

		aedb_config_init(&cfg);
		cfg.idempotency_window = 8;
		cfg.gc_interval_ms = 1;
		db = t_open_p(t_shard_counts[si], &cfg);
		idem_key(k, 1, 7);
		t = inc_txn(db, "ctr", 1, k);
		t_assert_rc(aedb_commit(db, t, &r1), AEDB_COMMIT_APPLIED);
		/* W - 1 later commits: still remembered */
		for (int i = 0; i < 7; i++)
			t_sets(db, "filler", "x");
		t_sleep_ms(20);
		t_assert_rc(aedb_commit(db, t, &r2), AEDB_COMMIT_DUPLICATE);
		assert_int_equal(r2.seq, r1.seq);
		/* more than W later: forgotten, the retry applies */
		for (int i = 0; i < 4; i++)
			t_sets(db, "filler", "x");
		deadline = t_now_ns() + 5000000000ull;
		do {
			t_sleep_ms(5);
			rc = aedb_commit(db, t, &r2);
			assert_true(rc == AEDB_COMMIT_DUPLICATE || rc == AEDB_COMMIT_APPLIED);
		} while (rc == AEDB_COMMIT_DUPLICATE && t_now_ns() < deadline);
		if (rc != AEDB_COMMIT_APPLIED)
			fail_msg("%u shards: key still remembered %llu commits later",
				 t_shard_counts[si],
				 (unsigned long long)(aedb_visible_seq(db) - r1.seq));
		assert_true(r2.seq > r1.seq);
		assert_int_equal(u64_or0(db, "ctr"), 2);
		/* and that application is itself remembered */
		t_assert_rc(aedb_commit(db, t, &r1), AEDB_COMMIT_DUPLICATE);
		assert_int_equal(r1.seq, r2.seq);
		aedb_txn_free(t);
		t_close(db);
	}
}

/* Window 0: keys are ignored; every commit applies. */
static void test_txn_idem_window_zero(void **state)
{
	(void)state;
	for (uint32_t si = 0; si < T_NSHARD_COUNTS; si++) {
		struct aedb_config cfg;
		struct aedb *db;
		struct aedb_commit_result r1, r2;
		struct aedb_txn *t;
		uint8_t k[16];

		aedb_config_init(&cfg);
		cfg.idempotency_window = 0;
		db = t_open_p(t_shard_counts[si], &cfg);
		idem_key(k, 1, 8);
		t = inc_txn(db, "ctr", 1, k);
		t_assert_rc(aedb_commit(db, t, &r1), AEDB_COMMIT_APPLIED);
		t_assert_rc(aedb_commit_action_envelope(db, t, &r2), AEDB_COMMIT_APPLIED);
		assert_true(r2.seq > r1.seq);
		assert_int_equal(r1.shards, 1); /* the key brings in no shard */
		assert_int_equal(u64_or0(db, "ctr"), 2);
		aedb_txn_free(t);
		t_close(db);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_txn_idem_applied_then_duplicate),
		cmocka_unit_test(test_txn_idem_key_not_content),
		cmocka_unit_test(test_txn_idem_sq),
		cmocka_unit_test(test_txn_idem_concurrent_one_key),
		cmocka_unit_test(test_txn_idem_failure_not_recorded),
		cmocka_unit_test(test_txn_idem_survives_restart),
		cmocka_unit_test(test_txn_idem_window),
		cmocka_unit_test(test_txn_idem_window_zero),
	};

	t_require_engine();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
