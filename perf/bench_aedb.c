/* SPDX-License-Identifier: MIT */
/*
 * bench_aedb.c - the aedb backend of aedb-bench.
 *
 * Every run gets a fresh instance with project "bench"; data goes to its
 * scope "app". Blocking workloads call aedb_kv_set() / aedb_kv_get() with
 * the names, as an application would. Submission-queue workloads resolve the
 * scope once with aedb_scope_id() and give each client thread its own
 * struct aedb_ring, set up and torn down on that thread. Writes ask for
 * AEDB_FINALITY_VISIBLE (they complete once readers can see them), or in the
 * durable workloads AEDB_FINALITY_DURABLE. Batches are aedb transactions
 * (aedb_txn_* and aedb_commit()); scans are aedb_kv_scan_range() pages.
 */
#include "bench.h"

#include <errno.h>
#include <stdio.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <aedb.h>

/* The harness links the static library, so the transfer workloads may place
 * their accounts by shard with the engine's own partition hash. */
#include "core/hash.h"

static const char bench_aedb_project[] = "bench";
static const char bench_aedb_scope[] = "app";

/* Transfer workloads: accounts per shard, each seeded with this balance. */
#define BENCH_XFER_ACCTS 1024u
#define BENCH_XFER_KEY 13u
#define BENCH_XFER_SEED 1000000000000ull
/* Accumulator workloads: its name and opening balance. */
#define BENCH_ACC "house"
#define BENCH_ACC_FUND 1000000000000000ll

struct bench_aedb {
	struct aedb *db;
	uint32_t ns;
	uint32_t finality;
	uint32_t nshards;
	char (*acct)[BENCH_XFER_KEY + 1]; /* [shard * BENCH_XFER_ACCTS + i] */
	/* Accumulator workloads: order keys come from one counter shared by
	 * the client threads (as from one ordered source); a delta that loses
	 * the race in its order lane takes the next key (counted). */
	uint64_t acc_order;
	uint64_t acc_retries;
	uint32_t threads;            /* thread ids for dedupe keys */
};

struct bench_aedb_thread {
	struct aedb *db;
	uint32_t ns;
	uint32_t finality;
	uint32_t depth;
	bool ring_live;
	struct aedb_kv_read *reads;  /* depth result slots, indexed by tag */
	struct aedb_txn *txn;        /* put_batch, transfer: the builder */
	struct aedb_txn **acc_txn;   /* acc-sq: a builder per slot */
	uint32_t tid;
	uint64_t acc_n;              /* accumulator requests made */
	struct bench_aedb *b;
	struct aedb_ring ring;
};

static const char *bench_aedb_version(void)
{
	return aedb_version_string();
}

static const char *bench_aedb_strerror(int err)
{
	return aedb_strerror(err);
}

static bool bench_aedb_retryable(int err)
{
	/* An accumulator delta that lost its order lane's race is retried
	 * (with the next order key). */
	return err < 0 && (aedb_error_class(err) == AEDB_CLASS_RETRYABLE || err == -AEDB_EORDER);
}

static bool bench_aedb_unavailable(int err)
{
	/* aedb_open() reports a kernel without io_uring, or a seccomp
	 * profile that blocks it, as -ENOSYS or -EPERM. */
	return err == -ENOSYS || err == -EPERM;
}

static uint32_t bench_aedb_durability(enum bench_durability d, uint32_t dflt)
{
	switch (d) {
	case BENCH_DURABILITY_FULL:
		return AEDB_DURABILITY_FULL;
	case BENCH_DURABILITY_BATCH:
		return AEDB_DURABILITY_BATCH;
	case BENCH_DURABILITY_OS:
		return AEDB_DURABILITY_OS;
	case BENCH_DURABILITY_DEFAULT:
	default:
		return dflt;
	}
}

static void bench_aedb_config(const struct bench_backend_opts *o, struct aedb_config *cfg)
{
	if (o->low_latency)
		aedb_config_low_latency(cfg);
	else
		aedb_config_init(cfg);
	cfg->shards = o->shards;
	cfg->pin_threads = o->pin_threads ? 1 : 0;
	cfg->durability = bench_aedb_durability(o->durability, cfg->durability);
	if (cfg->max_key_bytes < o->key_bytes)
		cfg->max_key_bytes = o->key_bytes;
	if (cfg->max_value_bytes < o->value_bytes)
		cfg->max_value_bytes = o->value_bytes;
}

/*
 * Name BENCH_XFER_ACCTS accounts per shard ("acct:XXXXXXXX", placed with
 * the engine's partition hash) and give each a balance, a few hundred per
 * transaction. A millisecond or two per instance.
 */
static int bench_aedb_accounts(struct bench_aedb *b)
{
	uint32_t n = aedb_shard_count(b->db), *have, need = n * BENCH_XFER_ACCTS;
	uint8_t seed[8];
	struct aedb_txn *t;
	int rc;

	b->nshards = n;
	b->acct = calloc(need, sizeof(*b->acct));
	have = calloc(n, sizeof(*have));
	rc = !b->acct || !have ? -ENOMEM : aedb_txn_create(b->db, &t);
	for (uint32_t i = 0; rc == 0 && need; i++) {
		char k[BENCH_XFER_KEY + 1];
		uint32_t s;

		snprintf(k, sizeof(k), "acct:%08x", i);
		s = core_kv_shard(b->ns, k, BENCH_XFER_KEY, n);
		if (have[s] < BENCH_XFER_ACCTS) {
			memcpy(b->acct[s * BENCH_XFER_ACCTS + have[s]++], k, sizeof(k));
			need--;
		}
	}
	for (int i = 0; i < 8; i++)
		seed[i] = (uint8_t)(BENCH_XFER_SEED >> (56 - 8 * i));
	for (uint32_t i = 0; rc == 0 && i < n * BENCH_XFER_ACCTS; i++) {
		rc = aedb_txn_kv_num(t, bench_aedb_project, bench_aedb_scope, b->acct[i],
				     BENCH_XFER_KEY, 8, AEDB_NUM_SET, seed, 0, 0);
		if (rc >= 0 && (i % 512 == 511 || i + 1 == n * BENCH_XFER_ACCTS)) {
			rc = aedb_commit(b->db, t, NULL);
			aedb_txn_reset(t);
		}
		rc = rc > 0 ? 0 : rc;
	}
	if (b->acct && have)
		aedb_txn_free(t);
	free(have);
	return rc;
}

static int bench_aedb_open(const struct bench_backend_opts *o, void **ctxp)
{
	struct aedb_config cfg;
	struct bench_aedb *b;
	int rc;

	if (aedb_version_number() != AEDB_VERSION_NUMBER)
		fprintf(stderr, "aedb-bench: warning: built against aedb.h %s, running %s\n",
			AEDB_VERSION_STRING, aedb_version_string());
	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	bench_aedb_config(o, &cfg);
	rc = aedb_open(o->dir, &cfg, &b->db);
	if (rc < 0) {
		free(b);
		return rc;
	}
	b->finality = o->durable_acks ? AEDB_FINALITY_DURABLE : AEDB_FINALITY_VISIBLE;
	rc = aedb_create_project(b->db, bench_aedb_project);
	if (rc < 0) {
		fprintf(stderr, "aedb-bench: aedb_create_project(%s): %s\n",
			bench_aedb_project, aedb_strerror(rc));
		goto fail;
	}
	rc = aedb_scope_id(b->db, bench_aedb_project, bench_aedb_scope, &b->ns);
	if (rc < 0) {
		fprintf(stderr, "aedb-bench: aedb_scope_id(%s, %s): %s\n",
			bench_aedb_project, bench_aedb_scope, aedb_strerror(rc));
		goto fail;
	}
	rc = bench_aedb_accounts(b);
	if (rc < 0) {
		fprintf(stderr, "aedb-bench: seeding transfer accounts: %s\n", aedb_strerror(rc));
		goto fail;
	}
	rc = aedb_create_accumulator(b->db, bench_aedb_project, bench_aedb_scope, BENCH_ACC);
	if (rc >= 0)
		rc = aedb_accumulate(b->db, bench_aedb_project, bench_aedb_scope, BENCH_ACC,
				     BENCH_ACC_FUND, "fund", ++b->acc_order, AEDB_FINALITY_VISIBLE,
				     NULL);
	if (rc < 0) {
		fprintf(stderr, "aedb-bench: creating the accumulator: %s\n", aedb_strerror(rc));
		goto fail;
	}
	*ctxp = b;
	return 0;
fail:
	aedb_close(b->db);
	free(b->acct);
	free(b);
	return rc;
}

static int bench_aedb_close(void *ctx)
{
	struct bench_aedb *b = ctx;
	int rc = aedb_close(b->db);

	if (b->acc_retries)
		fprintf(stderr, "aedb-bench: accumulator deltas retried with a later order key: "
			"%llu\n", (unsigned long long)b->acc_retries);
	if (rc < 0)
		fprintf(stderr, "aedb-bench: aedb_close: %s\n", aedb_strerror(rc));
	free(b->acct);
	free(b);
	return rc;
}

static uint32_t bench_aedb_shards(void *ctx)
{
	struct bench_aedb *b = ctx;

	return aedb_shard_count(b->db);
}

static int bench_aedb_thread_init(void *ctx, uint32_t depth, void **tctxp)
{
	struct bench_aedb *b = ctx;
	struct bench_aedb_thread *t;
	int rc;

	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->db = b->db;
	t->b = b;
	t->tid = __atomic_fetch_add(&b->threads, 1, __ATOMIC_RELAXED);
	t->ns = b->ns;
	t->finality = b->finality;
	t->depth = depth;
	if (depth > 0) {
		t->reads = calloc(depth, sizeof(*t->reads));
		if (!t->reads) {
			free(t);
			return -ENOMEM;
		}
		rc = aedb_ring_init(b->db, depth, &t->ring, 0);
		if (rc < 0) {
			fprintf(stderr, "aedb-bench: aedb_ring_init(%u): %s\n", depth,
				aedb_strerror(rc));
			free(t->reads);
			free(t);
			return rc;
		}
		t->ring_live = true;
	}
	*tctxp = t;
	return 0;
}

static int bench_aedb_thread_exit(void *tctx)
{
	struct bench_aedb_thread *t = tctx;

	if (t->ring_live)
		aedb_ring_exit(&t->ring);
	if (t->txn)
		aedb_txn_free(t->txn);
	for (uint32_t i = 0; t->acc_txn && i < t->depth; i++)
		aedb_txn_free(t->acc_txn[i]);
	free(t->acc_txn);
	free(t->reads);
	free(t);
	return 0;
}

static int bench_aedb_put(void *tctx, const void *key, uint32_t key_len, const void *val,
			  uint32_t val_len)
{
	struct bench_aedb_thread *t = tctx;

	return aedb_kv_set(t->db, bench_aedb_project, bench_aedb_scope, key, key_len, val,
			   val_len, t->finality, NULL);
}

static int bench_aedb_get(void *tctx, const void *key, uint32_t key_len, uint32_t *val_len)
{
	struct bench_aedb_thread *t = tctx;
	struct aedb_kv_item *item = NULL;
	int rc;

	rc = aedb_kv_get(t->db, bench_aedb_project, bench_aedb_scope, key, key_len,
			 AEDB_LATEST, &item);
	if (rc == -AEDB_ENOTFOUND)
		return BENCH_NOTFOUND;
	if (rc < 0)
		return rc;
	*val_len = item->entry.val_len;
	aedb_kv_item_free(item);
	return BENCH_OK;
}

static int bench_aedb_prep_put(void *tctx, uint64_t tag, const void *key, uint32_t key_len,
			       const void *val, uint32_t val_len)
{
	struct bench_aedb_thread *t = tctx;
	struct aedb_sqe *sqe = aedb_get_sqe(&t->ring);

	if (!sqe)
		return BENCH_AGAIN;
	aedb_prep_kv_set(sqe, t->ns, key, key_len, val, val_len, t->finality, NULL);
	aedb_sqe_set_data64(sqe, tag);
	return BENCH_OK;
}

static int bench_aedb_prep_get(void *tctx, uint64_t tag, const void *key, uint32_t key_len,
			       void *buf, uint32_t buf_len)
{
	struct bench_aedb_thread *t = tctx;
	struct aedb_kv_read *rd = &t->reads[tag];
	struct aedb_sqe *sqe = aedb_get_sqe(&t->ring);

	if (!sqe)
		return BENCH_AGAIN;
	*rd = (struct aedb_kv_read){ .buf = buf, .buf_len = buf_len };
	aedb_prep_kv_get(sqe, t->ns, key, key_len, AEDB_LATEST, rd);
	aedb_sqe_set_data64(sqe, tag);
	return BENCH_OK;
}

static int bench_aedb_submit(void *tctx)
{
	struct bench_aedb_thread *t = tctx;
	int rc;

	if (t->ring.sq_tail == t->ring.sq_head)
		return 0;
	rc = aedb_submit(&t->ring);
	/* Nothing fitted (completion queue or an inbox full): the SQEs stay
	 * queued and go with the next call, after completions are reaped. */
	if (rc == -AEDB_EBUSY)
		return 0;
	return rc;
}

static void bench_aedb_complete(struct bench_aedb_thread *t, const struct aedb_cqe *cqe,
				struct bench_completion *out)
{
	out->tag = cqe->user_data;
	out->val_len = 0;
	if (cqe->res == -AEDB_ENOTFOUND) {
		out->res = BENCH_NOTFOUND;
	} else if (cqe->res < 0) {
		out->res = cqe->res;
	} else {
		out->res = BENCH_OK;
		if (cqe->user_data < t->depth)
			out->val_len = t->reads[cqe->user_data].val_len;
	}
}

static int bench_aedb_reap(void *tctx, struct bench_completion *out, uint32_t max, bool wait)
{
	struct bench_aedb_thread *t = tctx;
	struct aedb_cqe *cqe;
	uint32_t n = 0;
	int rc;

	if (max == 0)
		return 0;
	if (wait && aedb_ring_inflight(&t->ring) > 0) {
		rc = aedb_wait_cqe(&t->ring, &cqe);
		if (rc < 0)
			return rc;
		bench_aedb_complete(t, cqe, &out[n++]);
		aedb_cqe_seen(&t->ring, cqe);
	}
	while (n < max && aedb_peek_cqe(&t->ring, &cqe) == 0) {
		bench_aedb_complete(t, cqe, &out[n++]);
		aedb_cqe_seen(&t->ring, cqe);
	}
	return (int)n;
}

static void bench_aedb_settings(const struct bench_backend_opts *o, char *buf, size_t len)
{
	struct aedb_config cfg;
	static const char *const durs[] = { "FULL", "BATCH", "OS" };

	bench_aedb_config(o, &cfg);
	snprintf(buf, len, "finality %s; durability %s (WAL fdatasync per group commit%s); "
		 "%u shards%s", o->durable_acks ? "DURABLE (ack after fsync on every shard)" :
		 "VISIBLE (ack before fsync)", cfg.durability < 3 ? durs[cfg.durability] : "?",
		 cfg.durability == AEDB_DURABILITY_FULL ? "" : " on an interval/request",
		 cfg.shards ? cfg.shards : (unsigned)sysconf(_SC_NPROCESSORS_ONLN),
		 o->low_latency ? ", low-latency profile" : "");
}

static int bench_aedb_scan(void *tctx, const void *start, uint32_t key_len, uint32_t limit,
			   uint32_t *rows)
{
	struct bench_aedb_thread *t = tctx;
	struct aedb_kv_bound lo = { .key = start, .len = key_len, .kind = AEDB_BOUND_INCLUDED };
	struct aedb_kv_page *page = NULL;
	int rc;

	rc = aedb_kv_scan_range(t->db, bench_aedb_project, bench_aedb_scope, &lo, NULL, limit,
				NULL, AEDB_LATEST, &page);
	if (rc < 0)
		return rc;
	*rows = page->count;
	aedb_kv_page_free(page);
	return BENCH_OK;
}

/*
 * A batch of @n puts as one aedb transaction: an aedb_txn builder (one per
 * client thread, reset per batch) with @n aedb_txn_kv_set() mutations and
 * the run's finality, committed with aedb_commit(). It is atomic: all @n
 * publish at one commit seq (the keys span every shard, so the commit goes
 * through the cross-shard sequencer and two-phase apply). With DURABLE
 * finality the call returns once the commit is fsynced on every shard.
 */
static int bench_aedb_put_batch(void *tctx, const uint8_t *keys, uint32_t key_len,
				const uint8_t *vals, uint32_t val_len, uint32_t n)
{
	struct bench_aedb_thread *t = tctx;
	int rc;

	if (!t->txn) {
		rc = aedb_txn_create(t->db, &t->txn);
		if (rc < 0)
			return rc;
	}
	aedb_txn_reset(t->txn);
	rc = aedb_txn_set_finality(t->txn, t->finality);
	for (uint32_t i = 0; rc >= 0 && i < n; i++)
		rc = aedb_txn_kv_set(t->txn, bench_aedb_project, bench_aedb_scope,
				     keys + (size_t)i * key_len, key_len,
				     vals + (size_t)i * val_len, val_len);
	if (rc < 0)
		return rc;
	rc = aedb_commit(t->db, t->txn, NULL);
	return rc < 0 ? rc : BENCH_OK;
}

/*
 * Move 1 unit from one account to another in one transaction: a strict
 * subtract (AEDB_NUM_SUB, fails on underflow) and an add. Both accounts on
 * the shard @r picks, or (@cross) on two different shards, which makes it a
 * cross-shard commit: the sequencer and two-phase apply.
 */
static int bench_aedb_transfer(void *tctx, uint64_t r, bool cross)
{
	struct bench_aedb_thread *t = tctx;
	const struct bench_aedb *b = t->b;
	uint32_t n = b->nshards, s1 = (uint32_t)(r % n), s2 = s1;
	uint32_t a = (uint32_t)(r >> 24) % BENCH_XFER_ACCTS;
	uint32_t c = (uint32_t)(r >> 44) % BENCH_XFER_ACCTS;
	uint8_t one[8] = { 0, 0, 0, 0, 0, 0, 0, 1 };
	int rc;

	if (cross && n < 2)
		return -AEDB_EINVAL;
	if (cross)
		s2 = (s1 + 1 + (uint32_t)(r >> 12) % (n - 1)) % n;
	else if (a == c)
		c = (c + 1) % BENCH_XFER_ACCTS;
	if (!t->txn) {
		rc = aedb_txn_create(t->db, &t->txn);
		if (rc < 0)
			return rc;
	}
	aedb_txn_reset(t->txn);
	rc = aedb_txn_set_finality(t->txn, t->finality);
	if (rc >= 0)
		rc = aedb_txn_kv_num(t->txn, bench_aedb_project, bench_aedb_scope,
				     b->acct[s1 * BENCH_XFER_ACCTS + a], BENCH_XFER_KEY, 8,
				     AEDB_NUM_SUB, one, 0, 0);
	if (rc >= 0)
		rc = aedb_txn_kv_num(t->txn, bench_aedb_project, bench_aedb_scope,
				     b->acct[s2 * BENCH_XFER_ACCTS + c], BENCH_XFER_KEY, 8,
				     AEDB_NUM_ADD, one, 0, 0);
	if (rc >= 0)
		rc = aedb_commit(t->db, t->txn, NULL);
	return rc < 0 ? rc : BENCH_OK;
}

/*
 * Accumulator operations on BENCH_ACC (funded at open): a delta in -100..100
 * under a fresh dedupe key; a strong read; or a casino hand: expose 100 under
 * the hand's id at the deal, then settle with accumulate-with-release of the
 * hand's result (the hand id is the dedupe key and the release id).
 */
static int bench_aedb_accumulate(void *tctx, uint64_t r, uint32_t what)
{
	struct bench_aedb_thread *t = tctx;
	struct bench_aedb *b = t->b;
	int64_t delta = (int64_t)(r % 201) - 100, v;
	char key[40];
	int rc;

	if (what == BENCH_ACC_READ)
		return aedb_accumulator_value_strong(t->db, bench_aedb_project, bench_aedb_scope,
						     BENCH_ACC, AEDB_LATEST, &v, NULL);
	snprintf(key, sizeof(key), "t%u-%llu", t->tid, (unsigned long long)t->acc_n++);
	if (what == BENCH_ACC_HAND) {
		rc = aedb_expose_accumulator(t->db, bench_aedb_project, bench_aedb_scope,
					     BENCH_ACC, 100, key, t->finality, NULL);
		if (rc < 0)
			return rc;
	}
	for (;;) {
		uint64_t order = __atomic_add_fetch(&b->acc_order, 1, __ATOMIC_RELAXED);

		rc = aedb_accumulate_with_release(t->db, bench_aedb_project, bench_aedb_scope,
						  BENCH_ACC, delta, key, order,
						  what == BENCH_ACC_HAND ? key : NULL, t->finality,
						  NULL);
		if (rc != -AEDB_EORDER)
			break;
		__atomic_add_fetch(&b->acc_retries, 1, __ATOMIC_RELAXED);
	}
	return rc < 0 ? rc : BENCH_OK;
}

/* acc-sq: one delta as a one-entry transaction, committed through the ring
 * (a retried slot takes the next order key). */
static int bench_aedb_prep_acc(void *tctx, uint64_t tag, uint64_t r)
{
	struct bench_aedb_thread *t = tctx;
	struct bench_aedb *b = t->b;
	struct aedb_sqe *sqe;
	struct aedb_txn *txn;
	char key[40];
	int rc;

	if (!t->acc_txn && !(t->acc_txn = calloc(t->depth, sizeof(*t->acc_txn))))
		return -ENOMEM;
	if (!t->acc_txn[tag] && (rc = aedb_txn_create(t->db, &t->acc_txn[tag])) < 0)
		return rc;
	sqe = aedb_get_sqe(&t->ring);
	if (!sqe)
		return BENCH_AGAIN;
	txn = t->acc_txn[tag];
	aedb_txn_reset(txn);
	snprintf(key, sizeof(key), "t%u-%llu", t->tid, (unsigned long long)t->acc_n++);
	rc = aedb_txn_accumulate(txn, bench_aedb_project, bench_aedb_scope, BENCH_ACC,
				 (int64_t)(r % 201) - 100, key,
				 __atomic_add_fetch(&b->acc_order, 1, __ATOMIC_RELAXED));
	if (rc >= 0)
		rc = aedb_txn_set_finality(txn, t->finality);
	if (rc < 0)
		return rc;
	aedb_prep_commit(sqe, txn, NULL);
	aedb_sqe_set_data64(sqe, tag);
	return BENCH_OK;
}

static double bench_aedb_log_bytes_per_commit(void *ctx)
{
	struct bench_aedb *b = ctx;
	struct aedb_stats st;

	if (aedb_stats(b->db, &st) < 0 || st.commits == 0)
		return 0;
	return (double)st.wal_bytes / (double)st.commits;
}

/* Incompressible value bytes for record @n (the log must not shrink to
 * nothing under lz4, or "log MB/s" would mean little). */
static void bench_aedb_fill(uint8_t *val, uint32_t len, uint64_t n)
{
	uint64_t x = bench_mix64(n + 1);

	for (uint32_t i = 0; i < len; i++) {
		if (i % 8 == 0)
			x = bench_mix64(x);
		val[i] = (uint8_t)(x >> (8 * (i % 8)));
	}
}

#define BENCH_RECOVER_DEPTH 1024u

/* Child: ingest @records through one ring, make them durable, die by SIGKILL.
 * Each request in flight owns a slot (key and value) until its CQE. */
static void bench_aedb_recover_child(const struct bench_backend_opts *o, uint64_t records)
{
	size_t slot_bytes = 16 + (size_t)o->value_bytes;
	uint8_t *slots = malloc(BENCH_RECOVER_DEPTH * slot_bytes);
	uint32_t free_slots[BENCH_RECOVER_DEPTH], nfree = BENCH_RECOVER_DEPTH;
	struct bench_completion done[256];
	uint64_t sent = 0, got = 0;
	void *ctx, *t;

	for (uint32_t i = 0; i < BENCH_RECOVER_DEPTH; i++)
		free_slots[i] = i;
	if (!slots || bench_aedb_open(o, &ctx) < 0 ||
	    bench_aedb_thread_init(ctx, BENCH_RECOVER_DEPTH, &t) < 0)
		_exit(2);
	while (got < records) {
		while (sent < records && nfree) {
			uint32_t k = free_slots[nfree - 1];
			uint8_t *key = slots + k * slot_bytes;

			bench_key_encode(key, 16, sent);
			bench_aedb_fill(key + 16, o->value_bytes, sent);
			if (bench_aedb_prep_put(t, k, key, 16, key + 16, o->value_bytes) !=
			    BENCH_OK)
				break;
			nfree--;
			sent++;
		}
		if (bench_aedb_submit(t) < 0)
			_exit(3);
		for (int n = bench_aedb_reap(t, done, 256, true), i = 0; i < n; i++, got++) {
			if (done[i].res < 0)
				_exit(4);
			free_slots[nfree++] = (uint32_t)done[i].tag;
		}
	}
	if (aedb_force_fsync(((struct bench_aedb *)ctx)->db) < 0)
		_exit(5);
	kill(getpid(), SIGKILL);
	_exit(6);
}

static int bench_aedb_recover(const struct bench_backend_opts *o, uint64_t records,
			      struct bench_recovery *out)
{
	struct aedb_open_report rep;
	struct aedb_config cfg;
	struct aedb *db;
	uint64_t t0;
	int status, rc;
	pid_t pid = fork();

	if (pid < 0)
		return -errno;
	if (pid == 0)
		bench_aedb_recover_child(o, records);
	if (waitpid(pid, &status, 0) != pid || !WIFSIGNALED(status) ||
	    WTERMSIG(status) != SIGKILL) {
		fprintf(stderr, "aedb-bench: recover: ingest child failed (status %d)\n", status);
		return -EIO;
	}
	bench_aedb_config(o, &cfg);
	t0 = bench_now_ns();
	rc = aedb_open_ex(o->dir, &cfg, &db, &rep);
	if (rc < 0)
		return rc;
	out->seconds = (double)(bench_now_ns() - t0) / 1e9;
	out->records = rep.records_replayed;
	out->log_bytes = rep.bytes_replayed;
	return aedb_close(db);
}

const struct bench_backend bench_backend_aedb = {
	.name = "aedb",
	.version = bench_aedb_version,
	.strerror = bench_aedb_strerror,
	.retryable = bench_aedb_retryable,
	.unavailable = bench_aedb_unavailable,
	.open = bench_aedb_open,
	.close = bench_aedb_close,
	.shards = bench_aedb_shards,
	.thread_init = bench_aedb_thread_init,
	.thread_exit = bench_aedb_thread_exit,
	.put = bench_aedb_put,
	.get = bench_aedb_get,
	.prep_put = bench_aedb_prep_put,
	.prep_get = bench_aedb_prep_get,
	.submit = bench_aedb_submit,
	.reap = bench_aedb_reap,
	.log_bytes_per_commit = bench_aedb_log_bytes_per_commit,
	.recover = bench_aedb_recover,
	.settings = bench_aedb_settings,
	.scan = bench_aedb_scan,
	.put_batch = bench_aedb_put_batch,
	.transfer = bench_aedb_transfer,
	.accumulate = bench_aedb_accumulate,
	.prep_acc = bench_aedb_prep_acc,
};
