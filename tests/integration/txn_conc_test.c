/* SPDX-License-Identifier: MIT */
/*
 * txn_conc_test - transactions under concurrency, at 1/2/4/8 shards (on a
 * machine that may have fewer cores than shards).
 *
 *  - double spend: 8 threads make strict debits (u64 and u256) of one balance,
 *    alone or paired with a credit on another shard: the balance never goes
 *    below zero and successes x amount == initial - final;
 *  - transfers between K accounts from blocking and submission-queue threads:
 *    the total is conserved at the end and in every snapshot a reader takes
 *    mid-run (aedb_kv_get_many at one snapshot, latest and older);
 *  - contention: cross-shard transfers through hot keys while other threads
 *    write the same hot keys (single-shard kv_set and numeric no-change
 *    writes) and other keys: everything completes within a bound, totals
 *    conserved.
 * Each phase runs for T_TXN_CONC_MS per shard count (the slow suite runs it
 * longer). A watchdog fails the test if a phase hangs.
 */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "it_common.h"

#ifndef T_TXN_CONC_MS
#define T_TXN_CONC_MS 1200
#endif
/* a phase that has not finished this long after its deadline is hung */
#define T_HANG_S 120

/* ---- helpers ---- */

static void ben(uint8_t *out, uint32_t w, uint64_t v)
{
	memset(out, 0, w);
	for (uint32_t i = 0; i < 8; i++)
		out[w - 1 - i] = (uint8_t)(v >> (8 * i));
}

static uint64_t rdbe(const uint8_t *p, uint32_t len)
{
	uint64_t v = 0;

	for (uint32_t i = len > 8 ? len - 8 : 0; i < len; i++)
		v = v << 8 | p[i];
	return v;
}

/* The value must fit 64 bits (u256: the high 24 bytes are zero). */
static int fits64(const uint8_t *p, uint32_t len)
{
	for (uint32_t i = 0; i + 8 < len; i++)
		if (p[i])
			return 0;
	return 1;
}

static uint64_t num_of(struct aedb *db, const char *key, uint32_t w)
{
	struct aedb_kv_item *it = NULL;
	uint64_t v;

	t_assert_rc(aedb_kv_get(db, T_P, T_S, key, strlen(key), AEDB_LATEST, &it), 0);
	assert_int_equal(it->entry.val_len, w);
	assert_true(fits64(it->entry.val, w));
	v = rdbe(it->entry.val, w);
	aedb_kv_item_free(it);
	return v;
}

static void on_alarm(int sig)
{
	static const char msg[] = "txn_conc_test: a phase hung (deadlock?)\n";

	(void)sig;
	if (write(2, msg, sizeof(msg) - 1) < 0)
		_exit(3);
	_exit(3);
}

static void watchdog_arm(void)
{
	signal(SIGALRM, on_alarm);
	/* one phase per shard count */
	alarm((unsigned)(T_NSHARD_COUNTS * (T_TXN_CONC_MS / 1000 + 1) + T_HANG_S));
}

static uint64_t deadline_after(uint64_t ms)
{
	return t_now_ns() + ms * 1000000ull;
}

/* ---- double spend ---- */

#define DS_THREADS 8

struct ds_arg {
	struct aedb *db;
	uint32_t tid, width, amount, cross;
	pthread_barrier_t *start;
	uint64_t ok, underflows;
};

static void *ds_main(void *p)
{
	struct ds_arg *a = p;
	struct aedb_txn *t = NULL;
	uint8_t v[32];
	char acct[16];
	int rc;

	snprintf(acct, sizeof(acct), "credit%u", a->tid);
	ben(v, a->width, a->amount);
	rc = aedb_txn_create(a->db, &t);
	T_CHECK(rc == 0, "txn_create: %s", aedb_strerror(rc));
	if (rc)
		return NULL;
	aedb_txn_kv_num(t, T_P, T_S, "bal", 3, a->width, AEDB_NUM_SUB, v, 0, 0);
	if (a->cross)
		aedb_txn_kv_num(t, T_P, T_S, acct, strlen(acct), a->width, AEDB_NUM_ADD, v, 0,
				0);
	pthread_barrier_wait(a->start);
	for (;;) {
		struct aedb_commit_result res;

		if (a->cross)
			rc = aedb_commit(a->db, t, &res);
		else
			rc = aedb_kv_num(a->db, T_P, T_S, "bal", 3, a->width, AEDB_NUM_SUB, v, 0,
					 0, AEDB_FINALITY_VISIBLE, &res);
		if (rc == 0) {
			a->ok++;
			T_CHECK(res.seq > 0, "applied without a seq");
			continue;
		}
		T_CHECK(rc == -AEDB_EUNDERFLOW, "debit: %s", aedb_strerror(rc));
		T_CHECK(res.failed_index == 0, "failed index %d", res.failed_index);
		/* only debits: once short, always short */
		if (++a->underflows == 3 || rc != -AEDB_EUNDERFLOW)
			break;
	}
	aedb_txn_free(t);
	return NULL;
}

static void test_txn_conc_double_spend(void **state)
{
	(void)state;
	watchdog_arm();
	for (uint32_t si = 0; si < T_NSHARD_COUNTS; si++) {
		for (uint32_t mode = 0; mode < 4; mode++) {
			uint32_t n = t_shard_counts[si], w = mode & 1 ? 32 : 8, amount = 7;
			uint64_t initial = 7ull * 1500 + 4, ok = 0, credits = 0, fin;
			struct aedb *db = t_open_p(n, NULL);
			struct ds_arg args[DS_THREADS];
			pthread_t th[DS_THREADS];
			pthread_barrier_t start;
			uint8_t v[32];

			ben(v, w, initial);
			t_set(db, "bal", 3, v, w);
			pthread_barrier_init(&start, NULL, DS_THREADS);
			for (uint32_t i = 0; i < DS_THREADS; i++) {
				args[i] = (struct ds_arg){ .db = db, .tid = i, .width = w,
							   .amount = amount, .cross = mode >> 1,
							   .start = &start };
				assert_int_equal(pthread_create(&th[i], NULL, ds_main, &args[i]),
						 0);
			}
			for (uint32_t i = 0; i < DS_THREADS; i++) {
				pthread_join(th[i], NULL);
				ok += args[i].ok;
			}
			pthread_barrier_destroy(&start);
			assert_int_equal(t_thread_failed(), 0);
			fin = num_of(db, "bal", w);
			if (ok * amount != initial - fin || fin >= amount)
				fail_msg("%u shards, width %u, cross %u: %llu debits of %u from "
					 "%llu left %llu", n, w, mode >> 1, (unsigned long long)ok,
					 amount, (unsigned long long)initial,
					 (unsigned long long)fin);
			assert_int_equal(fin, 4);
			for (uint32_t i = 0; mode >> 1 && i < DS_THREADS; i++) {
				char acct[16];

				snprintf(acct, sizeof(acct), "credit%u", i);
				if (args[i].ok)
					credits += num_of(db, acct, w);
				else
					t_expects(db, acct, NULL);
				assert_int_equal(args[i].ok * amount,
						 args[i].ok ? num_of(db, acct, w) : 0);
			}
			if (mode >> 1)
				assert_int_equal(credits + fin, initial);
			t_close(db);
		}
	}
	alarm(0);
}

/* ---- transfers between accounts ---- */

#define XF_ACCTS 16
#define XF_INIT 1000
#define XF_SQ_DEPTH 8

struct xf {
	struct aedb *db;
	uint32_t width, hot;     /* hot: every transfer touches acct 0 or 1 */
	uint64_t end_ns;
	atomic_ulong applied, failed, snapshots, hot_writes;
	char acct[XF_ACCTS][16];
	struct aedb_key keys[XF_ACCTS];
};

struct xf_thr {
	struct xf *x;
	uint64_t seed;
	uint32_t tid;
};

/* Build a transfer of a random amount between two random accounts (one of
 * them hot in hot mode). Strict debit: may underflow, which is fine. */
static void xf_build(struct xf *x, struct aedb_txn *t, uint64_t *seed, uint32_t tid)
{
	uint32_t a = (uint32_t)(t_rand(seed) % XF_ACCTS), b, w = x->width;
	uint8_t v[32];

	if (x->hot)
		a = (uint32_t)(t_rand(seed) % 2);
	do
		b = (uint32_t)(t_rand(seed) % XF_ACCTS);
	while (b == a);
	if (t_rand(seed) & 1) {
		uint32_t c = a;

		a = b;
		b = c;
	}
	ben(v, w, 1 + t_rand(seed) % 60);
	aedb_txn_reset(t);
	aedb_txn_kv_num(t, T_P, T_S, x->acct[a], strlen(x->acct[a]), w, AEDB_NUM_SUB, v, 0, 0);
	aedb_txn_kv_num(t, T_P, T_S, x->acct[b], strlen(x->acct[b]), w, AEDB_NUM_ADD, v, 0, 0);
	if (x->hot) {
		char mark[16];

		/* the hot markers: written by single-shard kv_set threads too */
		snprintf(mark, sizeof(mark), "mark%u", (uint32_t)(t_rand(seed) % 3));
		aedb_txn_kv_set(t, T_P, T_S, mark, strlen(mark), &tid, sizeof(tid));
	}
}

static void xf_count(struct xf *x, int rc)
{
	if (rc == 0) {
		atomic_fetch_add(&x->applied, 1);
		return;
	}
	T_CHECK(rc == -AEDB_EUNDERFLOW, "transfer: %s", aedb_strerror(rc));
	atomic_fetch_add(&x->failed, 1);
}

static void *xf_blocking(void *p)
{
	struct xf_thr *th = p;
	struct xf *x = th->x;
	struct aedb_txn *t;

	T_CHECK(aedb_txn_create(x->db, &t) == 0, "txn_create");
	while (t_now_ns() < x->end_ns) {
		struct aedb_commit_result res;
		int rc;

		xf_build(x, t, &th->seed, th->tid);
		rc = aedb_commit(x->db, t, &res);
		xf_count(x, rc);
		T_CHECK(rc < 0 || res.seq > 0, "no seq");
	}
	aedb_txn_free(t);
	return NULL;
}

static void *xf_sq(void *p)
{
	struct xf_thr *th = p;
	struct xf *x = th->x;
	struct aedb_commit_result res[XF_SQ_DEPTH];
	struct aedb_txn *t[XF_SQ_DEPTH];
	struct aedb_ring ring;
	uint32_t inflight = 0;
	int rc = aedb_ring_init(x->db, XF_SQ_DEPTH, &ring, 0);

	T_CHECK(rc == 0, "ring_init: %s", aedb_strerror(rc));
	if (rc)
		return NULL;
	for (uint32_t i = 0; i < XF_SQ_DEPTH; i++) {
		struct aedb_sqe *sqe = aedb_get_sqe(&ring);

		T_CHECK(aedb_txn_create(x->db, &t[i]) == 0, "txn_create");
		xf_build(x, t[i], &th->seed, th->tid);
		aedb_prep_commit(sqe, t[i], &res[i]);
		aedb_sqe_set_data64(sqe, i);
	}
	inflight = XF_SQ_DEPTH;
	while (aedb_submit(&ring) == -AEDB_EBUSY)
		;
	while (inflight) {
		struct aedb_cqe *cqe;
		uint32_t i;

		rc = aedb_wait_cqe(&ring, &cqe);
		T_CHECK(rc == 0, "wait_cqe: %s", aedb_strerror(rc));
		if (rc)
			break;
		i = (uint32_t)cqe->user_data;
		xf_count(x, cqe->res);
		aedb_cqe_seen(&ring, cqe);
		inflight--;
		if (t_now_ns() < x->end_ns) {
			struct aedb_sqe *sqe = aedb_get_sqe(&ring);

			xf_build(x, t[i], &th->seed, th->tid);
			aedb_prep_commit(sqe, t[i], &res[i]);
			aedb_sqe_set_data64(sqe, i);
			inflight++;
			while ((rc = aedb_submit(&ring)) == -AEDB_EBUSY)
				;
			T_CHECK(rc >= 0, "submit: %s", aedb_strerror(rc));
		}
	}
	aedb_ring_exit(&ring);
	for (uint32_t i = 0; i < XF_SQ_DEPTH; i++)
		aedb_txn_free(t[i]);
	return NULL;
}

/* Sum of every account at one snapshot. Returns the snapshot. */
static uint64_t xf_sum(struct xf *x, struct aedb_at at, uint64_t *sum, int *rc_out)
{
	struct aedb_kv_batch *b = NULL;
	uint64_t snap, total = 0;
	int rc = aedb_kv_get_many(x->db, T_P, T_S, x->keys, XF_ACCTS, at, &b);

	*rc_out = rc;
	if (rc < 0)
		return 0;
	T_CHECK(rc == XF_ACCTS, "only %d accounts found", rc);
	for (uint32_t i = 0; i < b->count; i++) {
		const struct aedb_kv_entry *e = &b->entries[i];

		if (!e->key)
			continue;
		T_CHECK(e->val_len == x->width && fits64(e->val, e->val_len),
			"account %u: %u bytes", i, e->val_len);
		total += rdbe(e->val, e->val_len);
	}
	snap = b->snapshot_seq;
	aedb_kv_batch_free(b);
	*sum = total;
	return snap;
}

static void *xf_checker(void *p)
{
	struct xf_thr *th = p;
	struct xf *x = th->x;
	uint64_t prev = 0, want = (uint64_t)XF_ACCTS * XF_INIT;

	while (t_now_ns() < x->end_ns) {
		uint64_t sum = 0, snap;
		int rc;

		snap = xf_sum(x, AEDB_LATEST, &sum, &rc);
		T_CHECK(rc >= 0, "get_many latest: %s", aedb_strerror(rc));
		T_CHECK(sum == want, "snapshot %llu: total %llu, want %llu",
			(unsigned long long)snap, (unsigned long long)sum,
			(unsigned long long)want);
		/* an older snapshot, read again now: still conserved */
		if (prev) {
			uint64_t s2 = xf_sum(x, AEDB_SEQ(prev), &sum, &rc);

			T_CHECK(rc >= 0, "get_many at %llu: %s", (unsigned long long)prev,
				aedb_strerror(rc));
			T_CHECK(rc < 0 || (s2 == prev && sum == want),
				"snapshot %llu (again): total %llu", (unsigned long long)prev,
				(unsigned long long)sum);
		}
		prev = snap;
		atomic_fetch_add(&x->snapshots, 1);
	}
	return NULL;
}

/* Single-shard writes on the hot keys (and others): kv_set on the markers,
 * numeric add-zero on hot accounts (a write that changes no value), kv_set
 * on cold keys. */
static void *xf_hot_writer(void *p)
{
	struct xf_thr *th = p;
	struct xf *x = th->x;
	uint8_t zero[32] = { 0 };

	for (uint64_t i = 0; t_now_ns() < x->end_ns; i++) {
		char k[24];
		int rc;

		switch (i % 3) {
		case 0:
			snprintf(k, sizeof(k), "mark%u", (uint32_t)(t_rand(&th->seed) % 3));
			rc = aedb_kv_set(x->db, T_P, T_S, k, strlen(k), "w", 1,
					 AEDB_FINALITY_VISIBLE, NULL);
			break;
		case 1:
			rc = aedb_kv_num(x->db, T_P, T_S, x->acct[i % 2], strlen(x->acct[i % 2]),
					 x->width, AEDB_NUM_ADD, zero, 0, 0,
					 AEDB_FINALITY_VISIBLE, NULL);
			break;
		default:
			snprintf(k, sizeof(k), "cold%u:%llu", th->tid,
				 (unsigned long long)(i % 64));
			rc = aedb_kv_set(x->db, T_P, T_S, k, strlen(k), "c", 1,
					 AEDB_FINALITY_VISIBLE, NULL);
			break;
		}
		T_CHECK(rc == 0, "hot writer: %s", aedb_strerror(rc));
		atomic_fetch_add(&x->hot_writes, 1);
	}
	return NULL;
}

static void xf_run(uint32_t n, uint32_t width, uint32_t hot, uint32_t nblock, uint32_t nhot)
{
	struct aedb *db = t_open_p(n, NULL);
	struct xf *x = calloc(1, sizeof(*x));
	struct xf_thr thr[12];
	pthread_t th[12];
	uint32_t nt = 0;
	uint64_t seed = t_seed("txn_conc_transfers"), total = 0, sum = 0, t0;
	struct aedb_txn *t;
	uint8_t v[32];
	int rc;

	assert_non_null(x);
	x->db = db;
	x->width = width;
	x->hot = hot;
	t_assert_rc(aedb_txn_create(db, &t), 0);
	ben(v, width, XF_INIT);
	for (uint32_t i = 0; i < XF_ACCTS; i++) {
		snprintf(x->acct[i], sizeof(x->acct[i]), "%s%u", hot && i < 2 ? "hot" : "acct",
			 i);
		x->keys[i] = (struct aedb_key){ x->acct[i], (uint32_t)strlen(x->acct[i]) };
		aedb_txn_kv_num(t, T_P, T_S, x->acct[i], strlen(x->acct[i]), width, AEDB_NUM_SET,
				v, 0, 0);
	}
	t_assert_rc(aedb_commit(db, t, NULL), 0);
	aedb_txn_free(t);
	t0 = t_now_ns();
	x->end_ns = deadline_after(T_TXN_CONC_MS);
	for (uint32_t i = 0; i < nblock + 2 + nhot; i++) {
		void *(*fn)(void *) = i < nblock ? xf_blocking : i == nblock ? xf_sq
				    : i == nblock + 1 ? xf_checker : xf_hot_writer;

		thr[nt] = (struct xf_thr){ x, t_rand(&seed), i };
		assert_int_equal(pthread_create(&th[nt], NULL, fn, &thr[nt]), 0);
		nt++;
	}
	for (uint32_t i = 0; i < nt; i++)
		pthread_join(th[i], NULL);
	assert_int_equal(t_thread_failed(), 0);
	/* everything finished soon after the deadline: nothing was stuck */
	assert_true(t_now_ns() - t0 < (T_TXN_CONC_MS + 60000ull) * 1000000ull);
	xf_sum(x, AEDB_LATEST, &sum, &rc);
	t_assert_rc(rc, XF_ACCTS);
	for (uint32_t i = 0; i < XF_ACCTS; i++)
		total += num_of(db, x->acct[i], width);
	assert_int_equal(total, (uint64_t)XF_ACCTS * XF_INIT);
	assert_int_equal(sum, total);
	fprintf(stderr, "  %u shards, u%u%s: %lu transfers applied, %lu underflowed, %lu "
		"snapshots checked, %lu hot single-shard writes\n", n, width * 8,
		hot ? ", hot keys" : "", atomic_load(&x->applied), atomic_load(&x->failed),
		atomic_load(&x->snapshots), atomic_load(&x->hot_writes));
	assert_true(atomic_load(&x->applied) > 0);
	assert_true(atomic_load(&x->snapshots) > 0);
	if (nhot)
		assert_true(atomic_load(&x->hot_writes) > 0);
	free(x);
	t_close(db);
}

static void test_txn_conc_transfers(void **state)
{
	(void)state;
	watchdog_arm();
	for (uint32_t si = 0; si < T_NSHARD_COUNTS; si++)
		xf_run(t_shard_counts[si], si & 1 ? 32 : 8, 0, 3, 0);
	alarm(0);
}

static void test_txn_conc_hot_key_contention(void **state)
{
	(void)state;
	watchdog_arm();
	for (uint32_t si = 0; si < T_NSHARD_COUNTS; si++)
		xf_run(t_shard_counts[si], si & 1 ? 8 : 32, 1, 3, 3);
	alarm(0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_txn_conc_double_spend),
		cmocka_unit_test(test_txn_conc_transfers),
		cmocka_unit_test(test_txn_conc_hot_key_contention),
	};

	t_require_engine();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
