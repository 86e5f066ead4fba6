/* SPDX-License-Identifier: MIT */
/*
 * acc_test - accumulators (issue 8; reference events_accumulators_commits.md
 * §1): exactly-once deltas, order keys, dedupe windows, exposures and the
 * circuit breaker, settlement, batch reserve, TTL, overflow, drop and
 * re-create, restart, concurrent retries, and the same results at 1, 2, 4
 * and 8 shards for a long random call sequence.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "it_common.h"

#define A "house"
#define V AEDB_FINALITY_VISIBLE

static int64_t val(struct aedb *db)
{
	int64_t v = 0, s = 0;

	t_assert_rc(aedb_accumulator_value(db, T_P, T_S, A, AEDB_LATEST, &v, NULL), 0);
	t_assert_rc(aedb_accumulator_value_strong(db, T_P, T_S, A, AEDB_LATEST, &s, NULL), 0);
	assert_int_equal(v, s);
	return v;
}

static int64_t expo(struct aedb *db)
{
	int64_t e = -1;

	t_assert_rc(aedb_accumulator_exposure(db, T_P, T_S, A, AEDB_LATEST, &e, NULL), 0);
	return e;
}

static int acc(struct aedb *db, int64_t d, const char *key, uint64_t order)
{
	return aedb_accumulate(db, T_P, T_S, A, d, key, order, V, NULL);
}

/* A key "@base~N" in the same order lane as @base (other lane if @other). */
static void lane_key(const char *base, int other, char *out, size_t cap)
{
	uint32_t lane = aedb_accumulator_lane(base, strlen(base));

	for (int i = 0;; i++) {
		snprintf(out, cap, "%s~%d", base, i);
		if ((aedb_accumulator_lane(out, strlen(out)) == lane) != !!other)
			return;
	}
}

static struct aedb *open_acc(uint32_t shards, const struct aedb_accumulator_options *o)
{
	struct aedb *db = t_open_p(shards, NULL);

	if (o)
		t_assert_rc(aedb_create_accumulator_with_options(db, T_P, T_S, A, o), 1);
	else
		t_assert_rc(aedb_create_accumulator(db, T_P, T_S, A), 1);
	return db;
}

/* Reference §1.3's examples, at every shard count. */
static void test_acc_basics(void **state)
{
	(void)state;
	for (uint32_t si = 0; si < T_NSHARD_COUNTS; si++) {
		struct aedb *db = open_acc(t_shard_counts[si], NULL);
		struct aedb_commit_result r1, r2;
		struct aedb_accumulator_lag lag;
		uint64_t snap = 0;
		char kb[32], ko[32];
		int64_t v;

		t_assert_rc(aedb_accumulate(db, T_P, T_S, A, 100, "tx-1", 1, V, &r1), 0);
		t_assert_rc(aedb_accumulate(db, T_P, T_S, A, -25, "tx-2", 2, V, &r2), 0);
		assert_true(r2.seq == r1.seq + 1);
		assert_int_equal(r2.outcome, AEDB_COMMIT_APPLIED);
		/* A retry: DUPLICATE, the original seq, no seq consumed. */
		t_assert_rc(aedb_accumulate(db, T_P, T_S, A, -25, "tx-2", 2, V, &r1),
			    AEDB_COMMIT_DUPLICATE);
		assert_int_equal(r1.seq, r2.seq);
		assert_int_equal(r1.outcome, AEDB_COMMIT_DUPLICATE);
		assert_int_equal(val(db), 75);
		/* A retry of the older key still dedupes (dedupe before order). */
		t_assert_rc(acc(db, 100, "tx-1", 1), AEDB_COMMIT_DUPLICATE);
		t_assert_rc(aedb_accumulator_lag(db, T_P, T_S, A, AEDB_LATEST, &lag, &snap), 0);
		assert_int_equal(lag.latest_order_key, 2);
		assert_int_equal(lag.last_applied_order_key, 2);
		assert_int_equal(lag.lag_orders, 0);
		assert_int_equal(lag.latest_seq, r2.seq);
		assert_int_equal(lag.deltas, 2);
		assert_int_equal(lag.overflow, 0);
		assert_true(snap >= r2.seq);
		/* Order keys ascend per lane: a new key in tx-a's lane needs an
		 * order key above 10; in another lane, above that lane's. */
		t_assert_rc(acc(db, 10, "tx-a", 10), 0);
		lane_key("tx-a", 0, kb, sizeof(kb));
		t_assert_rc(acc(db, 5, kb, 9), -AEDB_EORDER);
		t_assert_rc(acc(db, 5, kb, 10), -AEDB_EORDER);
		lane_key("tx-a", 1, ko, sizeof(ko));
		t_assert_rc(acc(db, 5, ko, 9), 0);
		t_assert_rc(acc(db, 5, "tx-c", 11), 0);
		t_assert_rc(acc(db, 5, "tx-c", 12), -AEDB_EDEDUPE);
		t_assert_rc(acc(db, 6, "tx-c", 11), -AEDB_EDEDUPE);
		t_assert_rc(acc(db, 5, "tx-d", 1000), 0);
		assert_int_equal(val(db), 100);
		/* Reading at an older snapshot sees the older sum. */
		t_assert_rc(aedb_accumulator_value(db, T_P, T_S, A, aedb_at_seq(r2.seq), &v, &snap),
			    0);
		assert_int_equal(v, 75);
		assert_int_equal(snap, r2.seq);
		t_close(db);
	}
}

static void test_acc_bad_input(void **state)
{
	struct aedb_accumulator_options o;
	struct aedb_commit_result res;
	struct aedb *db = t_open_p(2, NULL);
	char big[AEDB_ACC_KEY_MAX + 2];
	int64_t v;

	(void)state;
	t_assert_rc(aedb_accumulate(db, T_P, T_S, A, 1, "k", 1, V, &res), -AEDB_ENOACC);
	assert_int_equal(res.failed_index, -1);
	t_assert_rc(aedb_accumulator_value(db, T_P, T_S, A, AEDB_LATEST, &v, NULL),
		    -AEDB_ENOACC);
	t_assert_rc(aedb_expose_accumulator(db, T_P, T_S, A, 1, "h", V, NULL), -AEDB_ENOACC);
	t_assert_rc(aedb_create_accumulator(db, T_P, "nope", A), -AEDB_ENOSCOPE);
	t_assert_rc(aedb_create_accumulator(db, "nope", T_S, A), -AEDB_ENOPROJECT);
	t_assert_rc(aedb_create_accumulator(db, T_P, T_S, "bad name"), -AEDB_ENAME);
	aedb_accumulator_options_init(&o);
	o.exposure_margin_bps = 10000;
	t_assert_rc(aedb_create_accumulator_with_options(db, T_P, T_S, A, &o), -AEDB_EINVAL);
	aedb_accumulator_options_init(&o);
	o.snapshot_every = 0;
	t_assert_rc(aedb_create_accumulator_with_options(db, T_P, T_S, A, &o), -AEDB_EINVAL);
	aedb_accumulator_options_init(&o);
	o.reserved[1] = 1;
	t_assert_rc(aedb_create_accumulator_with_options(db, T_P, T_S, A, &o), -AEDB_EINVAL);
	t_assert_rc(aedb_create_accumulator(db, T_P, T_S, A), 1);
	t_assert_rc(aedb_create_accumulator(db, T_P, T_S, A), 0); /* identical */
	aedb_accumulator_options_init(&o);
	o.exposure_margin_bps = 5;
	t_assert_rc(aedb_create_accumulator_with_options(db, T_P, T_S, A, &o), -AEDB_EEXIST);
	/* Accumulators and tables share names. */
	{
		struct aedb_column_def cols[1] = { { .name = "id", .type = AEDB_TYPE_INTEGER } };
		const char *pk[1] = { "id" };
		struct aedb_table_def td = { .name = A, .columns = cols, .ncolumns = 1,
					     .pk = pk, .npk = 1 };

		t_assert_rc(aedb_create_table(db, T_P, T_S, &td), -AEDB_EEXIST);
		td.name = "tbl";
		t_assert_rc(aedb_create_table(db, T_P, T_S, &td), 1);
		t_assert_rc(aedb_create_accumulator(db, T_P, T_S, "tbl"), -AEDB_EEXIST);
		t_assert_rc(aedb_drop_accumulator(db, T_P, T_S, "tbl"), 0); /* not an acc */
		t_assert_rc(aedb_drop_table(db, T_P, T_S, A), 0);         /* not a table */
	}
	t_assert_rc(acc(db, 1, "", 1), -AEDB_EINVAL);
	t_assert_rc(acc(db, 1, " \t ", 1), -AEDB_EINVAL);
	t_assert_rc(acc(db, 1, NULL, 1), -AEDB_EMISUSE);
	t_assert_rc(acc(db, 1, "k", 0), -AEDB_EORDER);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	t_assert_rc(acc(db, 1, big, 1), -AEDB_ETOOBIG);
	t_assert_rc(aedb_accumulate(db, T_P, T_S, A, 1, "k", 1, 7, NULL), -AEDB_EINVAL);
	t_assert_rc(aedb_expose_accumulator(db, T_P, T_S, A, 0, "h", V, NULL), -AEDB_EINVAL);
	t_assert_rc(aedb_expose_accumulator(db, T_P, T_S, A, -3, "h", V, NULL), -AEDB_EINVAL);
	t_assert_rc(aedb_expose_accumulator(db, T_P, T_S, A, 3, " ", V, NULL), -AEDB_EINVAL);
	t_assert_rc(aedb_expose_accumulator_many_atomic(db, T_P, T_S, A, NULL, 0, V, NULL),
		    -AEDB_EINVAL);
	t_assert_rc(aedb_release_accumulator_exposure(db, T_P, T_S, A, "", V, NULL),
		    -AEDB_EINVAL);
	t_assert_rc(aedb_accumulator_value(db, T_P, T_S, A, AEDB_LATEST, NULL, NULL),
		    -AEDB_EMISUSE);
	/* Nothing of the above was written. */
	assert_int_equal(val(db), 0);
	t_close(db);
}

/* Reference §1.6 examples: the limit, settlement, release, batch, TTL. */
static void test_acc_exposures(void **state)
{
	(void)state;
	for (uint32_t si = 0; si < T_NSHARD_COUNTS; si++) {
		struct aedb *db = open_acc(t_shard_counts[si], NULL);
		struct aedb_exposure_metrics m;
		struct aedb_commit_result res;
		int64_t avail;

		/* V = 0: every exposure is refused. */
		t_assert_rc(aedb_expose_accumulator(db, T_P, T_S, A, 1, "h0", V, NULL),
			    -AEDB_ELIMIT);
		t_assert_rc(acc(db, 1000, "fund", 1), 0);
		t_assert_rc(aedb_expose_accumulator(db, T_P, T_S, A, 400, "hand-1", V, NULL), 0);
		t_assert_rc(aedb_expose_accumulator(db, T_P, T_S, A, 500, "hand-2", V, NULL), 0);
		/* E = 900 = limit: one more is refused, and leaves no trace. */
		t_assert_rc(aedb_expose_accumulator(db, T_P, T_S, A, 1, "hand-3", V, &res),
			    -AEDB_ELIMIT);
		assert_int_equal(res.failed_index, 0);
		t_assert_rc(aedb_accumulator_exposure_metrics(db, T_P, T_S, A, AEDB_LATEST, &m,
							      NULL), 0);
		assert_int_equal(m.total_exposure, 900);
		assert_int_equal(m.available, 100);
		assert_int_equal(m.limit, 900);
		assert_int_equal(m.open_exposure_count, 2);
		assert_int_equal(m.rejection_count, 0);
		/* Same id, same amount: success, no change; other amount: EEXIST. */
		t_assert_rc(aedb_expose_accumulator(db, T_P, T_S, A, 400, "hand-1", V, NULL), 0);
		t_assert_rc(aedb_expose_accumulator(db, T_P, T_S, A, 401, "hand-1", V, NULL),
			    -AEDB_EEXIST);
		assert_int_equal(expo(db), 900);
		/* Settlement with an unknown release id: nothing at all. */
		t_assert_rc(aedb_accumulate_with_release(db, T_P, T_S, A, -50, "settle-1", 2,
							 "hand-9", V, &res), -AEDB_ENOTFOUND);
		assert_int_equal(res.failed_index, 1);
		assert_int_equal(val(db), 1000);
		/* Settlement: the delta and the release in one commit. */
		t_assert_rc(aedb_accumulate_with_release(db, T_P, T_S, A, -50, "settle-1", 2,
							 "hand-1", V, &res), 0);
		assert_int_equal(val(db), 950);
		assert_int_equal(expo(db), 500);
		t_assert_rc(aedb_accumulator_available(db, T_P, T_S, A, AEDB_LATEST, &avail,
						       NULL), 0);
		assert_int_equal(avail, 450);
		t_assert_rc(aedb_accumulator_exposure_metrics(db, T_P, T_S, A, AEDB_LATEST, &m,
							      NULL), 0);
		assert_int_equal(m.limit, 855);
		assert_int_equal(m.open_exposure_count, 1);
		/* A retried settlement is a duplicate and releases nothing more. */
		t_assert_rc(aedb_accumulate_with_release(db, T_P, T_S, A, -50, "settle-1", 2,
							 "hand-1", V, NULL),
			    AEDB_COMMIT_DUPLICATE);
		assert_int_equal(expo(db), 500);
		t_assert_rc(aedb_release_accumulator_exposure(db, T_P, T_S, A, "hand-1", V, NULL),
			    -AEDB_ENOTFOUND);
		t_assert_rc(aedb_release_accumulator_exposure(db, T_P, T_S, A, "hand-2", V, NULL),
			    0);
		t_assert_rc(aedb_release_accumulator_exposure(db, T_P, T_S, A, "hand-2", V, NULL),
			    -AEDB_ENOTFOUND);
		assert_int_equal(expo(db), 0);
		/* Re-exposing a released id opens a new reservation. */
		t_assert_rc(aedb_expose_accumulator(db, T_P, T_S, A, 10, "hand-2", V, NULL), 0);
		assert_int_equal(expo(db), 10);
		/* Deltas are never blocked: available may go negative. */
		t_assert_rc(acc(db, -2000, "loss", 3), 0);
		t_assert_rc(aedb_accumulator_available(db, T_P, T_S, A, AEDB_LATEST, &avail,
						       NULL), 0);
		assert_int_equal(avail, -1060);
		/* V < 0: the limit is negative, every exposure refused. */
		t_assert_rc(aedb_expose_accumulator(db, T_P, T_S, A, 1, "h-neg", V, NULL),
			    -AEDB_ELIMIT);
		t_close(db);
	}
}

static void test_acc_batch(void **state)
{
	(void)state;
	for (uint32_t si = 0; si < T_NSHARD_COUNTS; si++) {
		struct aedb *db = open_acc(t_shard_counts[si], NULL);
		struct aedb_exposure b1[2] = { { 20, "h1" }, { 30, "h2" } };
		struct aedb_exposure b2[3] = { { 10, "h3" }, { 30, "h4" }, { 1, "h5" } };
		struct aedb_exposure b3[3] = { { 5, "h6" }, { 5, "h6" }, { 1, "h1" } };
		struct aedb_exposure b4[2] = { { 5, "h7" }, { 6, "h7" } };
		struct aedb_exposure b5[2] = { { 5, "h8" }, { 0, "h9" } };
		struct aedb_commit_result res;

		t_assert_rc(acc(db, 100, "fund", 1), 0); /* limit 90 */
		t_assert_rc(aedb_expose_accumulator_many_atomic(db, T_P, T_S, A, b1, 2, V, NULL),
			    0);
		assert_int_equal(expo(db), 50);
		/* 50 + 10 + 30 = 90 fits, + 1 does not: none of the three. */
		t_assert_rc(aedb_expose_accumulator_many_atomic(db, T_P, T_S, A, b2, 3, V, &res),
			    -AEDB_ELIMIT);
		assert_int_equal(res.failed_index, 2);
		assert_int_equal(expo(db), 50);
		/* Repeats with the same amount count once; an open id with another
		 * amount fails the batch. */
		t_assert_rc(aedb_expose_accumulator_many_atomic(db, T_P, T_S, A, b3, 3, V, &res),
			    -AEDB_EEXIST);
		assert_int_equal(res.failed_index, 2);
		b3[2].amount = 20;
		t_assert_rc(aedb_expose_accumulator_many_atomic(db, T_P, T_S, A, b3, 3, V, NULL),
			    0);
		assert_int_equal(expo(db), 55);
		t_assert_rc(aedb_expose_accumulator_many_atomic(db, T_P, T_S, A, b4, 2, V, &res),
			    -AEDB_EEXIST);
		assert_int_equal(res.failed_index, 1);
		t_assert_rc(aedb_expose_accumulator_many_atomic(db, T_P, T_S, A, b5, 2, V, NULL),
			    -AEDB_EINVAL);
		assert_int_equal(expo(db), 55);
		t_close(db);
	}
}

/* TTL: an exposure opened at seq S expires once the head passes S + T;
 * a dedupe record from seq S is forgotten once the head passes S + W, and
 * its retry then fails on the order key, never counting twice. */
static void test_acc_windows(void **state)
{
	struct aedb_accumulator_options o;

	(void)state;
	aedb_accumulator_options_init(&o);
	o.exposure_ttl_commits = 2;
	o.dedupe_retain_commits = 3;
	for (uint32_t si = 0; si < T_NSHARD_COUNTS; si++) {
		struct aedb *db = open_acc(t_shard_counts[si], &o);
		struct aedb_commit_result res;

		t_assert_rc(acc(db, 100, "fund", 1), 0);
		t_assert_rc(aedb_expose_accumulator(db, T_P, T_S, A, 25, "orphan", V, &res), 0);
		assert_int_equal(expo(db), 25);
		t_sets(db, "n1", "x"); /* head S+1 */
		t_sets(db, "n2", "x"); /* head S+2: still open */
		assert_int_equal(expo(db), 25);
		t_assert_rc(acc(db, 1, "fund", 1), -AEDB_EDEDUPE); /* still remembered */
		t_sets(db, "n3", "x"); /* head S+3: expired */
		assert_int_equal(expo(db), 0);
		t_assert_rc(aedb_release_accumulator_exposure(db, T_P, T_S, A, "orphan", V, NULL),
			    -AEDB_ENOTFOUND);
		t_assert_rc(aedb_accumulate_with_release(db, T_P, T_S, A, 5, "settle", 2,
							 "orphan", V, NULL), -AEDB_ENOTFOUND);
		t_assert_rc(acc(db, 5, "settle", 2), 0); /* retried without the release */
		/* "fund" (seq S-1) is forgotten now: its retry is refused by order. */
		t_assert_rc(acc(db, 100, "fund", 1), -AEDB_EORDER);
		assert_int_equal(val(db), 105);
		/* An expired id can be exposed again. */
		t_assert_rc(aedb_expose_accumulator(db, T_P, T_S, A, 7, "orphan", V, NULL), 0);
		assert_int_equal(expo(db), 7);
		t_close(db);
	}
}

static void test_acc_overflow(void **state)
{
	struct aedb *db = open_acc(2, NULL);
	struct aedb_accumulator_lag lag;
	int64_t v;

	(void)state;
	t_assert_rc(acc(db, INT64_MAX, "max", 1), 0);
	t_assert_rc(acc(db, 1, "over", 2), 0); /* accepted; the sum never wraps */
	t_assert_rc(aedb_accumulator_value_strong(db, T_P, T_S, A, AEDB_LATEST, &v, NULL),
		    -AEDB_EOVERFLOW);
	t_assert_rc(aedb_accumulator_available(db, T_P, T_S, A, AEDB_LATEST, &v, NULL),
		    -AEDB_EOVERFLOW);
	t_assert_rc(aedb_accumulator_lag(db, T_P, T_S, A, AEDB_LATEST, &lag, NULL), 0);
	assert_int_equal(lag.overflow, 1);
	t_assert_rc(acc(db, -2, "back", 3), 0);
	assert_int_equal(val(db), INT64_MAX - 1);
	t_assert_rc(acc(db, INT64_MIN, "min1", 4), 0);
	t_assert_rc(acc(db, INT64_MIN, "min2", 5), 0);
	t_assert_rc(aedb_accumulator_value(db, T_P, T_S, A, AEDB_LATEST, &v, NULL),
		    -AEDB_EOVERFLOW);
	t_close(db);
}

static void test_acc_drop_recreate(void **state)
{
	struct aedb *db = open_acc(4, NULL);
	int64_t v;

	(void)state;
	t_assert_rc(acc(db, 7, "k", 5), 0);
	t_assert_rc(aedb_expose_accumulator(db, T_P, T_S, A, 1, "h", V, NULL), 0);
	t_assert_rc(aedb_drop_accumulator(db, T_P, T_S, A), 1);
	t_assert_rc(aedb_drop_accumulator(db, T_P, T_S, A), 0);
	t_assert_rc(acc(db, 7, "k", 6), -AEDB_ENOACC);
	t_assert_rc(aedb_accumulator_value(db, T_P, T_S, A, AEDB_LATEST, &v, NULL),
		    -AEDB_ENOACC);
	t_assert_rc(aedb_create_accumulator(db, T_P, T_S, A), 1);
	assert_int_equal(val(db), 0);
	assert_int_equal(expo(db), 0);
	t_assert_rc(acc(db, 7, "k", 1), 0); /* old dedupe key and order keys forgotten */
	assert_int_equal(val(db), 7);
	t_close(db);
}

/* Close and reopen: value, dedupe records, order keys and exposures. */
static void test_acc_restart(void **state)
{
	(void)state;
	for (uint32_t si = 0; si < T_NSHARD_COUNTS; si++) {
		uint32_t n = t_shard_counts[si];
		char *dir = t_tmpdir();
		struct aedb_config cfg;
		struct aedb_commit_result r1;
		struct aedb *db;

		aedb_config_init(&cfg);
		cfg.shards = n;
		t_assert_rc(aedb_open(dir, &cfg, &db), 0);
		t_assert_rc(aedb_create_project(db, T_P), 1);
		t_assert_rc(aedb_create_accumulator(db, T_P, T_S, A), 1);
		for (int i = 1; i <= 50; i++) {
			char k[16];

			snprintf(k, sizeof(k), "d%d", i);
			t_assert_rc(aedb_accumulate(db, T_P, T_S, A, i, k, (uint64_t)i * 2,
						    i % 2 ? V : AEDB_FINALITY_DURABLE, &r1), 0);
		}
		t_assert_rc(aedb_expose_accumulator(db, T_P, T_S, A, 300, "h1", V, NULL), 0);
		t_assert_rc(aedb_close(db), 0);
		for (int reopen = 0; reopen < 2; reopen++) {
			char k[32];

			t_assert_rc(aedb_open(dir, &cfg, &db), 0);
			assert_int_equal(val(db), 1275);
			assert_int_equal(expo(db), 300);
			t_assert_rc(acc(db, 50, "d50", 100), AEDB_COMMIT_DUPLICATE);
			lane_key("d50", 0, k, sizeof(k));
			t_assert_rc(acc(db, 1, k, 99), -AEDB_EORDER);
			t_assert_rc(acc(db, 1, k, 100), -AEDB_EORDER);
			t_assert_rc(aedb_expose_accumulator(db, T_P, T_S, A, 300, "h1", V, NULL),
				    0);
			t_assert_rc(aedb_close(db), 0);
		}
		t_rmrf(dir);
		free(dir);
	}
}

/* Accumulator entries in transactions: atomic with other entries. */
static void test_acc_txn_entries(void **state)
{
	(void)state;
	for (uint32_t si = 0; si < T_NSHARD_COUNTS; si++) {
		struct aedb *db = open_acc(t_shard_counts[si], NULL);
		struct aedb_commit_result res;
		struct aedb_txn *t;
		char k2[32];

		/* All or nothing: a failing assertion takes the delta with it. */
		t_assert_rc(aedb_txn_create(db, &t), 0);
		t_assert_rc(aedb_txn_accumulate(t, T_P, T_S, A, 50, "m1", 1), 0);
		t_assert_rc(aedb_txn_kv_set(t, T_P, T_S, "side", 4, "x", 1), 1);
		t_assert_rc(aedb_txn_assert_exists(t, T_P, T_S, "missing", 7, true), 0);
		t_assert_rc(aedb_commit(db, t, &res), -AEDB_EASSERT);
		assert_int_equal(val(db), 0);
		aedb_txn_reset(t);
		t_assert_rc(aedb_txn_accumulate(t, T_P, T_S, A, 50, "m1", 1), 0);
		t_assert_rc(aedb_txn_kv_set(t, T_P, T_S, "side", 4, "x", 1), 1);
		t_assert_rc(aedb_commit(db, t, &res), AEDB_COMMIT_APPLIED);
		assert_int_equal(val(db), 50);
		t_expects(db, "side", "x");
		/* A duplicate delta is a no-op entry; the rest applies. */
		aedb_txn_reset(t);
		t_assert_rc(aedb_txn_accumulate(t, T_P, T_S, A, 50, "m1", 1), 0);
		t_assert_rc(aedb_txn_kv_set(t, T_P, T_S, "side2", 5, "y", 1), 1);
		t_assert_rc(aedb_commit(db, t, &res), AEDB_COMMIT_APPLIED);
		assert_int_equal(val(db), 50);
		t_expects(db, "side2", "y");
		/* The same delta twice in one commit counts once; another
		 * payload under the key fails the commit. */
		aedb_txn_reset(t);
		t_assert_rc(aedb_txn_accumulate(t, T_P, T_S, A, 7, "m2", 5), 0);
		t_assert_rc(aedb_txn_accumulate(t, T_P, T_S, A, 7, "m2", 5), 1);
		t_assert_rc(aedb_commit(db, t, &res), AEDB_COMMIT_APPLIED);
		assert_int_equal(val(db), 57);
		aedb_txn_reset(t);
		t_assert_rc(aedb_txn_accumulate(t, T_P, T_S, A, 1, "m3", 6), 0);
		t_assert_rc(aedb_txn_accumulate(t, T_P, T_S, A, 2, "m3", 6), 1);
		t_assert_rc(aedb_commit(db, t, &res), -AEDB_EDEDUPE);
		assert_int_equal(res.failed_index, 1);
		/* Deltas of one lane in one commit: ascending, or refused. */
		lane_key("m4", 0, k2, sizeof(k2));
		aedb_txn_reset(t);
		t_assert_rc(aedb_txn_accumulate(t, T_P, T_S, A, 1, "m4", 20), 0);
		t_assert_rc(aedb_txn_accumulate(t, T_P, T_S, A, 1, k2, 20), 1);
		t_assert_rc(aedb_commit(db, t, &res), -AEDB_EORDER);
		assert_int_equal(res.failed_index, 1);
		aedb_txn_reset(t);
		t_assert_rc(aedb_txn_accumulate(t, T_P, T_S, A, 1, "m4", 20), 0);
		t_assert_rc(aedb_txn_accumulate(t, T_P, T_S, A, 2, k2, 21), 1);
		t_assert_rc(aedb_commit(db, t, &res), AEDB_COMMIT_APPLIED);
		assert_int_equal(val(db), 60);
		/* An exposure sees V as it was before the commit. */
		aedb_txn_reset(t);
		t_assert_rc(aedb_txn_accumulate(t, T_P, T_S, A, 1000, "m5", 30), 0);
		t_assert_rc(aedb_txn_expose(t, T_P, T_S, A, 100, "hx"), 1);
		t_assert_rc(aedb_commit(db, t, &res), -AEDB_ELIMIT);
		assert_int_equal(res.failed_index, 1);
		assert_int_equal(val(db), 60);
		aedb_txn_reset(t);
		t_assert_rc(aedb_txn_expose(t, T_P, T_S, A, 54, "hx"), 0); /* limit 54 */
		t_assert_rc(aedb_txn_kv_set(t, T_P, T_S, "hand", 4, "hx", 2), 1);
		t_assert_rc(aedb_commit(db, t, &res), AEDB_COMMIT_APPLIED);
		assert_int_equal(expo(db), 54);
		aedb_txn_reset(t);
		t_assert_rc(aedb_txn_release_exposure(t, T_P, T_S, A, "hx"), 0);
		t_assert_rc(aedb_txn_kv_del(t, T_P, T_S, "hand", 4), 1);
		t_assert_rc(aedb_commit(db, t, &res), AEDB_COMMIT_APPLIED);
		assert_int_equal(expo(db), 0);
		/* Bad entries are refused when added. */
		t_assert_rc(aedb_txn_accumulate(t, T_P, T_S, "nope", 1, "k", 1), -AEDB_ENOACC);
		t_assert_rc(aedb_txn_expose(t, T_P, T_S, A, 0, "h"), -AEDB_EINVAL);
		t_assert_rc(aedb_txn_release_exposure(t, T_P, T_S, A, ""), -AEDB_EINVAL);
		{
			struct aedb_preflight *pf;

			aedb_txn_reset(t);
			t_assert_rc(aedb_txn_accumulate(t, T_P, T_S, A, 1, "m6", 40), 0);
			t_assert_rc(aedb_preflight(db, t, &pf), -AEDB_ENOTSUP);
		}
		aedb_txn_free(t);
		t_close(db);
	}
}

/* One client pipelining ascending deltas through the submission queue to
 * every shard: none is refused by its order key (each lane keeps the
 * submission order). */
#define PIPE_N 3000
#define PIPE_DEPTH 64

static void test_acc_pipelined(void **state)
{
	(void)state;
	for (uint32_t si = 0; si < T_NSHARD_COUNTS; si++) {
		struct aedb *db = open_acc(t_shard_counts[si], NULL);
		struct aedb_txn *txn[PIPE_DEPTH];
		struct aedb_ring ring;
		uint32_t next = 0, done = 0, free_slots[PIPE_DEPTH], nfree = PIPE_DEPTH;
		int64_t want = 0;

		t_assert_rc(aedb_ring_init(db, PIPE_DEPTH, &ring, 0), 0);
		for (uint32_t i = 0; i < PIPE_DEPTH; i++) {
			t_assert_rc(aedb_txn_create(db, &txn[i]), 0);
			free_slots[i] = i;
		}
		while (done < PIPE_N) {
			struct aedb_cqe *cqe;

			while (nfree && next < PIPE_N) {
				uint32_t slot = free_slots[--nfree];
				struct aedb_sqe *sqe = aedb_get_sqe(&ring);
				char k[32];

				assert_non_null(sqe);
				snprintf(k, sizeof(k), "p%u", next);
				aedb_txn_reset(txn[slot]);
				t_assert_rc(aedb_txn_accumulate(txn[slot], T_P, T_S, A,
								(int64_t)(next % 9) - 3, k,
								next + 1), 0);
				want += (int64_t)(next % 9) - 3;
				aedb_prep_commit(sqe, txn[slot], NULL);
				aedb_sqe_set_data64(sqe, slot);
				next++;
			}
			assert_true(aedb_submit(&ring) >= 0);
			t_assert_rc(aedb_wait_cqe(&ring, &cqe), 0);
			do {
				t_assert_rc(cqe->res, AEDB_COMMIT_APPLIED);
				free_slots[nfree++] = (uint32_t)cqe->user_data;
				done++;
				aedb_cqe_seen(&ring, cqe);
			} while (aedb_peek_cqe(&ring, &cqe) == 0);
		}
		aedb_ring_exit(&ring);
		for (uint32_t i = 0; i < PIPE_DEPTH; i++)
			aedb_txn_free(txn[i]);
		assert_int_equal(val(db), want);
		t_close(db);
	}
}

/* ---- exactly once under concurrent retries ---- */

#define CONC_THREADS 6
#define CONC_KEYS 400

struct conc {
	struct aedb *db;
	atomic_uint applied;
	atomic_uint dups;
};

static void *conc_worker(void *arg)
{
	struct conc *c = arg;

	for (int i = 1; i <= CONC_KEYS; i++) {
		char k[16];
		int rc;

		snprintf(k, sizeof(k), "k%d", i);
		rc = aedb_accumulate(c->db, T_P, T_S, A, i, k, (uint64_t)i, V, NULL);
		T_CHECK(rc == AEDB_COMMIT_APPLIED || rc == AEDB_COMMIT_DUPLICATE, "key %d: %s",
			i, aedb_strerror(rc));
		if (rc == AEDB_COMMIT_APPLIED)
			atomic_fetch_add(&c->applied, 1);
		else if (rc == AEDB_COMMIT_DUPLICATE)
			atomic_fetch_add(&c->dups, 1);
		/* Settlement retries race too: at most one releases. */
		if (i % 50 == 0) {
			char h[16], sk[16];

			snprintf(h, sizeof(h), "h%d", i);
			snprintf(sk, sizeof(sk), "s%d", i);
			rc = aedb_expose_accumulator(c->db, T_P, T_S, A, 1, h, V, NULL);
			T_CHECK(rc == 0 || rc == -AEDB_ENOTFOUND || rc == -AEDB_ELIMIT, "%s",
				aedb_strerror(rc));
		}
	}
	return NULL;
}

static void test_acc_concurrent_retries(void **state)
{
	(void)state;
	for (uint32_t si = 0; si < T_NSHARD_COUNTS; si++) {
		struct conc c = { .db = open_acc(t_shard_counts[si], NULL) };
		pthread_t th[CONC_THREADS];

		for (int i = 0; i < CONC_THREADS; i++)
			assert_int_equal(pthread_create(&th[i], NULL, conc_worker, &c), 0);
		for (int i = 0; i < CONC_THREADS; i++)
			pthread_join(th[i], NULL);
		assert_int_equal(t_thread_failed(), 0);
		assert_int_equal(atomic_load(&c.applied), CONC_KEYS);
		assert_int_equal(atomic_load(&c.dups), CONC_KEYS * (CONC_THREADS - 1));
		assert_int_equal(val(c.db), CONC_KEYS * (CONC_KEYS + 1) / 2);
		assert_int_equal(expo(c.db), CONC_KEYS / 50);
		t_close(c.db);
	}
}

/* ---- the same results at every shard count ---- */

#define RAND_OPS 3000

/* Run a seeded random call sequence; fill @trace with every result. */
static void rand_run(uint32_t shards, uint64_t seed, int64_t *trace)
{
	struct aedb_accumulator_options o;
	struct aedb *db;
	uint64_t rng = seed, order = 0;
	uint32_t t = 0, nhist = 0, hpos = 0;
	int64_t last_amt = 0;
	char last_id[24] = "";
	struct hist {
		int64_t delta;
		uint64_t order;
		char key[64];
	} hist[64];

	aedb_accumulator_options_init(&o);
	o.dedupe_retain_commits = 400;
	o.exposure_ttl_commits = 100;
	o.exposure_margin_bps = 2500;
	db = open_acc(shards, &o);
	for (int i = 0; i < RAND_OPS; i++) {
		struct aedb_commit_result res;
		uint64_t r = t_rand(&rng), x = t_rand(&rng);
		char k[64], h[24];
		int64_t amt;
		bool stale;
		int rc;

		snprintf(k, sizeof(k), "d%llu", (unsigned long long)(x % 300));
		snprintf(h, sizeof(h), "h%llu", (unsigned long long)(x % 16));
		switch (r % 8) {
		case 0: case 1: case 2: /* mostly new keys, ascending orders */
			order += 1 + x % 3;
			snprintf(k, sizeof(k), "n%d", i);
			stale = nhist && x % 10 == 0; /* in a used lane, not above it */
			if (stale)
				lane_key(hist[(hpos - 1) % 64].key, 0, k, sizeof(k));
			hist[hpos % 64].delta = (int64_t)(x % 2001) - 900;
			hist[hpos % 64].order = stale ? hist[(hpos - 1) % 64].order : order;
			strcpy(hist[hpos % 64].key, k);
			rc = aedb_accumulate(db, T_P, T_S, A, hist[hpos % 64].delta, k,
					     hist[hpos % 64].order, V, &res);
			hpos++;
			if (nhist < 64)
				nhist++;
			break;
		case 3: /* a retry: an earlier call exactly, or a guessed payload */
			if (nhist && x % 4) {
				const struct hist *hh = &hist[x % nhist];

				rc = aedb_accumulate(db, T_P, T_S, A, hh->delta, hh->key, hh->order,
						     V, &res);
			} else {
				rc = aedb_accumulate(db, T_P, T_S, A, (int64_t)(x % 3), k,
						     x % 7 + 1, V, &res);
			}
			break;
		case 4:
			if (last_amt && x % 3 == 0) { /* again: same or other amount */
				amt = last_amt + (x & 8 ? 1 : 0);

				rc = aedb_expose_accumulator(db, T_P, T_S, A, amt, last_id, V,
							     &res);
				break;
			}
			/* One in five asks for more than the whole balance: over
			 * the limit whatever the balance has grown to, so every
			 * seed sees -AEDB_ELIMIT (the value is the same at every
			 * shard count, so the amount is too). */
			amt = x % 5 == 0 ? llabs(val(db)) + 1 + (int64_t)(x % 3000)
					 : (int64_t)(x % 3000) + 1;
			rc = aedb_expose_accumulator(db, T_P, T_S, A, amt, h, V, &res);
			if (rc == 0) {
				last_amt = amt;
				strcpy(last_id, h);
			}
			break;
		case 5:
			rc = aedb_release_accumulator_exposure(db, T_P, T_S, A, h, V, &res);
			break;
		case 6:
			order += 1;
			rc = aedb_accumulate_with_release(db, T_P, T_S, A, (int64_t)(x % 101) - 50,
							  k, order, h, V, &res);
			break;
		default:
			t_sets(db, k, "noise");
			rc = 0;
			res.seq = 0;
			break;
		}
		trace[t++] = rc;
		trace[t++] = rc >= 0 ? (int64_t)res.seq : res.failed_index;
		trace[t++] = val(db);
		trace[t++] = expo(db);
	}
	t_close(db);
}

static void test_acc_shard_count_independent(void **state)
{
	uint64_t seed = t_seed("acc_shard_count_independent");
	size_t n = (size_t)RAND_OPS * 4;
	int64_t *base = calloc(n, sizeof(*base)), *other = calloc(n, sizeof(*other));

	(void)state;
	assert_non_null(base);
	assert_non_null(other);
	rand_run(1, seed, base);
	/* The sequence must exercise every outcome, or it proves little. */
	{
		static const int64_t want[] = { AEDB_COMMIT_APPLIED, AEDB_COMMIT_DUPLICATE,
						-AEDB_EORDER, -AEDB_EDEDUPE, -AEDB_ELIMIT,
						-AEDB_ENOTFOUND, -AEDB_EEXIST };

		for (size_t w = 0; w < sizeof(want) / sizeof(want[0]); w++) {
			size_t hits = 0;

			for (size_t i = 0; i < n; i += 4)
				hits += base[i] == want[w];
			if (hits < 3)
				fail_msg("outcome %lld seen %zu times", (long long)want[w], hits);
		}
	}
	for (uint32_t si = 0; si < T_NSHARD_COUNTS; si++) {
		uint32_t shards = t_shard_counts[si];

		if (shards == 1)
			continue;
		rand_run(shards, seed, other);
		for (size_t i = 0; i < n; i++)
			if (base[i] != other[i])
				fail_msg("op %zu field %zu: 1 shard %lld, %u shards %lld", i / 4,
					 i % 4, (long long)base[i], shards, (long long)other[i]);
	}
	free(base);
	free(other);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_acc_basics),
		cmocka_unit_test(test_acc_bad_input),
		cmocka_unit_test(test_acc_exposures),
		cmocka_unit_test(test_acc_batch),
		cmocka_unit_test(test_acc_windows),
		cmocka_unit_test(test_acc_overflow),
		cmocka_unit_test(test_acc_drop_recreate),
		cmocka_unit_test(test_acc_restart),
		cmocka_unit_test(test_acc_txn_entries),
		cmocka_unit_test(test_acc_pipelined),
		cmocka_unit_test(test_acc_concurrent_retries),
		cmocka_unit_test(test_acc_shard_count_independent),
	};

	t_require_engine();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
