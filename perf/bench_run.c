/* SPDX-License-Identifier: MIT */
/*
 * bench_run.c - client threads and their measurement loops.
 *
 * One result = one bench_run(): the coordinator starts N client threads;
 * each sets up its backend state (an aedb ring for the submission-queue
 * workloads) on its own thread, runs the optional warm-up, then waits at a
 * gate. When every thread has arrived the gate opens and the measured phase
 * runs until the thread's share of --ops is done or --seconds have passed.
 * Each thread records latencies into its own histogram; the coordinator
 * merges them after join. Nothing in the hot loop locks or allocates; the
 * only shared words it reads are the failure and interrupt flags.
 *
 * Latency is service time in a closed loop (no coordinated-omission
 * correction): blocking workloads time each call, from just before it to
 * just after it returns (the value free of a get included); submission-queue
 * workloads time each request from the first aedb_submit() call after it was
 * prepared (engine push-back included) to the reap pass that saw its CQE.
 */
#include "bench.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

/* Consecutive retryable failures tolerated before the run gives up. */
#define BENCH_RETRY_MAX (1u << 20)
/* Client threads used to preload the keyspace. */
#define BENCH_LOAD_THREADS 2u

atomic_int bench_interrupted;

#define BENCH_MIX(r, u, sc, in, rmw) { [BENCH_KIND_READ] = (r), [BENCH_KIND_UPDATE] = (u), \
	[BENCH_KIND_SCAN] = (sc), [BENCH_KIND_INSERT] = (in), [BENCH_KIND_RMW] = (rmw) }

const struct bench_workload bench_workloads[] = {
	{ .name = "put", .op = BENCH_OP_PUT, .about = "blocking puts, acked when visible" },
	{ .name = "put-sq", .op = BENCH_OP_PUT, .async = true,
	  .about = "puts through the submission queue, --depth in flight" },
	{ .name = "dput", .op = BENCH_OP_PUT, .durable = true,
	  .about = "blocking puts, acked when durable (fsynced)" },
	{ .name = "dput-sq", .op = BENCH_OP_PUT, .async = true, .durable = true,
	  .about = "durable puts through the submission queue" },
	{ .name = "ingest", .op = BENCH_OP_BATCH, .sequential = true, .durable = true,
	  .once = true, .about = "--keys records, 1,000 per durable transaction" },
	{ .name = "get", .op = BENCH_OP_GET, .preload = true,
	  .about = "blocking point gets on the loaded keyspace" },
	{ .name = "get-sq", .op = BENCH_OP_GET, .async = true, .preload = true,
	  .about = "point gets through the submission queue" },
	{ .name = "scan", .op = BENCH_OP_SCAN, .preload = true,
	  .about = "range scans of --scan-len entries from a random key" },
	{ .name = "ycsb-a", .op = BENCH_OP_MIX, .preload = true, .zipfian = true,
	  .pct = BENCH_MIX(50, 50, 0, 0, 0), .about = "YCSB A: 50% read, 50% update" },
	{ .name = "ycsb-b", .op = BENCH_OP_MIX, .preload = true, .zipfian = true,
	  .pct = BENCH_MIX(95, 5, 0, 0, 0), .about = "YCSB B: 95% read, 5% update" },
	{ .name = "ycsb-c", .op = BENCH_OP_MIX, .preload = true, .zipfian = true,
	  .pct = BENCH_MIX(100, 0, 0, 0, 0), .about = "YCSB C: read only" },
	{ .name = "ycsb-e", .op = BENCH_OP_MIX, .preload = true, .zipfian = true,
	  .pct = BENCH_MIX(0, 0, 95, 5, 0),
	  .about = "YCSB E: 95% scan of 1..--scan-len, 5% insert" },
	{ .name = "ycsb-f", .op = BENCH_OP_MIX, .preload = true, .zipfian = true,
	  .pct = BENCH_MIX(50, 0, 0, 0, 50), .about = "YCSB F: 50% read, 50% read-modify-write" },
	{ .name = "xfer", .op = BENCH_OP_TRANSFER,
	  .about = "2-account transfer transactions, both accounts on one shard" },
	{ .name = "xfer-x", .op = BENCH_OP_TRANSFER, .cross = true,
	  .about = "2-account transfers across two shards (sequencer, two-phase apply)" },
	{ .name = "dxfer", .op = BENCH_OP_TRANSFER, .durable = true,
	  .about = "xfer, acked when durable" },
	{ .name = "dxfer-x", .op = BENCH_OP_TRANSFER, .cross = true, .durable = true,
	  .about = "xfer-x, acked when durable" },
	{ .name = "acc", .op = BENCH_OP_ACC, .acc = BENCH_ACC_ADD,
	  .about = "accumulator deltas (exactly once, order keys), acked when visible" },
	{ .name = "dacc", .op = BENCH_OP_ACC, .acc = BENCH_ACC_ADD, .durable = true,
	  .about = "acc, acked when durable" },
	{ .name = "acc-sq", .op = BENCH_OP_ACC, .acc = BENCH_ACC_ADD, .async = true,
	  .about = "acc through the submission queue (aedb_txn_accumulate, AEDB_OP_COMMIT)" },
	{ .name = "dacc-sq", .op = BENCH_OP_ACC, .acc = BENCH_ACC_ADD, .async = true,
	  .durable = true, .about = "acc-sq, acked when durable" },
	{ .name = "acc-read", .op = BENCH_OP_ACC, .acc = BENCH_ACC_READ,
	  .about = "strong accumulator reads (reduce every shard's partial)" },
	{ .name = "hand", .op = BENCH_OP_ACC, .acc = BENCH_ACC_HAND,
	  .about = "casino hands: expose at the deal, accumulate-with-release at settle" },
	{ .name = "recover", .op = BENCH_OP_RECOVER, .once = true,
	  .about = "ingest --keys records, SIGKILL, time the reopen" },
};
const uint32_t bench_workload_count = sizeof(bench_workloads) / sizeof(bench_workloads[0]);

const struct bench_workload bench_workload_load = {
	.name = "load", .op = BENCH_OP_PUT, .async = true, .sequential = true,
};

/* YCSB E inserts: key indexes from --keys up, unique within the process. */
static atomic_uint_fast64_t bench_insert_next;

struct bench_job {
	const struct bench_opts *o;
	const struct bench_backend *be;
	void *ctx;
	const struct bench_workload *w;
	const struct bench_zipf *zipf;
	uint32_t threads;
	uint32_t depth;            /* 0 = blocking calls */
	atomic_int failed;
	pthread_mutex_t lock;      /* the start gate */
	pthread_cond_t cond;
	uint32_t arrived;
	bool open;
};

/* Submission-queue bookkeeping; slots are indexes 0..depth-1. */
struct bench_sq {
	uint32_t *free;            /* idle slots (stack) */
	uint32_t *prep;            /* slots waiting for an SQE (stack) */
	uint32_t *fresh;           /* prepared slots not yet time-stamped */
	uint64_t *t_sub;           /* submit time per slot, 0 = not yet */
	struct bench_completion *cqes;
	uint32_t nfree;
	uint32_t nprep;
	uint32_t nfresh;
	uint32_t outstanding;      /* slots owned by requests */
	uint32_t retry_run;        /* consecutive retryable completions */
};

struct bench_thread {
	struct bench_job *job;
	void *tctx;
	uint32_t idx;
	uint32_t nslots;
	uint64_t quota;            /* measured-phase ops; UINT64_MAX = by time */
	struct bench_rng rng;
	struct bench_keygen kg;
	struct bench_hist hist;
	uint8_t *keys;             /* nslots keys of key_size bytes */
	uint8_t *vals;             /* nslots values (put) or read buffers (get) */
	uint32_t val_stride;
	uint64_t stamp;
	enum bench_kind kind;      /* blocking loop: the current request's kind */
	uint32_t scan_len;         /* the current scan's length */
	uint32_t batch_n;          /* BATCH: records in the current call */
	struct bench_sq sq;
	uint64_t ops;
	uint64_t misses;
	uint64_t retries;
	uint64_t scans;
	uint64_t rows;             /* entries the scans returned */
	uint64_t start_ns;
	uint64_t end_ns;
	bool measured;
	int err;
	char msg[256];
	pthread_t tid;
};

struct bench_phase {
	uint64_t quota;
	uint64_t deadline_ns;
	bool record;
};

static bool bench_stopped(const struct bench_job *job)
{
	return atomic_load_explicit(&job->failed, memory_order_relaxed) != 0 ||
	       atomic_load_explicit(&bench_interrupted, memory_order_relaxed) != 0;
}

static bool bench_phase_over(const struct bench_thread *th, const struct bench_phase *ph,
			     uint64_t issued, uint64_t now)
{
	if (issued >= ph->quota || now >= ph->deadline_ns)
		return true;
	return bench_stopped(th->job);
}

__attribute__((format(printf, 3, 4)))
static int bench_fail(struct bench_thread *th, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(th->msg, sizeof(th->msg), fmt, ap);
	va_end(ap);
	th->err = err < 0 ? err : -1;
	atomic_store(&th->job->failed, 1);
	return -1;
}

static const char *bench_op_name(const struct bench_thread *th)
{
	static const char *const kinds[] = { "get", "put", "scan", "insert", "read-modify-write" };

	if (th->job->w->op == BENCH_OP_BATCH)
		return "batch put";
	if (th->job->w->op == BENCH_OP_TRANSFER)
		return "transfer";
	if (th->job->w->op == BENCH_OP_ACC)
		return "accumulator operation";
	return (unsigned)th->kind < BENCH_KIND_COUNT ? kinds[th->kind] : "?";
}

static enum bench_kind bench_kind_of(const struct bench_workload *w)
{
	switch (w->op) {
	case BENCH_OP_GET:
		return BENCH_KIND_READ;
	case BENCH_OP_SCAN:
		return BENCH_KIND_SCAN;
	default:
		return BENCH_KIND_UPDATE;
	}
}

/* MIX: draw the next operation by the workload's percentages. */
static enum bench_kind bench_kind_draw(struct bench_thread *th)
{
	const uint8_t *pct = th->job->w->pct;
	uint32_t r = (uint32_t)bench_rng_below(&th->rng, 100), acc = 0;

	for (uint32_t k = 0; k < BENCH_KIND_COUNT; k++) {
		acc += pct[k];
		if (r < acc)
			return (enum bench_kind)k;
	}
	return BENCH_KIND_READ;
}

static void bench_stamp(uint8_t *val, uint32_t len, uint64_t x)
{
	memcpy(val, &x, len < sizeof(x) ? len : sizeof(x));
}

static uint8_t *bench_slot_key(struct bench_thread *th, uint32_t slot)
{
	return th->keys + (size_t)slot * th->job->o->key_size;
}

static uint8_t *bench_slot_val(struct bench_thread *th, uint32_t slot)
{
	return th->vals + (size_t)slot * th->val_stride;
}

/* Pick the next key into @slot, and for a write give the value a new stamp. */
static void bench_next_key(struct bench_thread *th, uint32_t slot, enum bench_kind kind)
{
	const struct bench_opts *o = th->job->o;
	uint64_t idx;

	if (kind == BENCH_KIND_INSERT)
		idx = o->keys + atomic_fetch_add_explicit(&bench_insert_next, 1,
							  memory_order_relaxed);
	else
		idx = bench_keygen_next(&th->kg, &th->rng);
	bench_key_encode(bench_slot_key(th, slot), o->key_size, idx);
	if (kind != BENCH_KIND_READ && kind != BENCH_KIND_SCAN)
		bench_stamp(bench_slot_val(th, slot), o->value_size, ++th->stamp);
}

static void bench_next_request(struct bench_thread *th, uint32_t slot)
{
	bench_next_key(th, slot, th->kind);
}

/*
 * Blocking loop: set up the next call, of at most @left operations; returns
 * how many it performs (a BATCH call writes up to BENCH_BATCH records).
 */
static uint32_t bench_next_call(struct bench_thread *th, uint64_t left)
{
	const struct bench_workload *w = th->job->w;

	if (w->op == BENCH_OP_BATCH) {
		th->batch_n = left < th->nslots ? (uint32_t)left : th->nslots;
		for (uint32_t i = 0; i < th->batch_n; i++)
			bench_next_key(th, i, BENCH_KIND_UPDATE);
		return th->batch_n;
	}
	if (w->op == BENCH_OP_TRANSFER || w->op == BENCH_OP_ACC) {
		th->kind = BENCH_KIND_UPDATE;
		return 1;
	}
	th->kind = w->op == BENCH_OP_MIX ? bench_kind_draw(th) : bench_kind_of(w);
	th->scan_len = th->job->o->scan_len;
	if (w->op == BENCH_OP_MIX && th->kind == BENCH_KIND_SCAN)
		th->scan_len = 1 + (uint32_t)bench_rng_below(&th->rng, th->job->o->scan_len);
	bench_next_key(th, 0, th->kind);
	return 1;
}

/* Check a successful result: a get must find a value of the size written. */
static int bench_check(struct bench_thread *th, int res, uint32_t val_len)
{
	const struct bench_job *job = th->job;

	if (res == BENCH_NOTFOUND) {
		th->misses++;
		return 0;
	}
	if ((th->kind == BENCH_KIND_READ || th->kind == BENCH_KIND_RMW) &&
	    val_len != job->o->value_size)
		return bench_fail(th, 0, "get returned a %" PRIu32 "-byte value, expected %" PRIu32,
				  val_len, job->o->value_size);
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Blocking calls                                                            */
/* ------------------------------------------------------------------------ */

/* One blocking request of kind th->kind (or one batch). */
static int bench_sync_once(struct bench_thread *th, uint32_t *val_len)
{
	const struct bench_job *job = th->job;
	const struct bench_backend *be = job->be;
	uint32_t key_len = job->o->key_size, vlen = job->o->value_size, rows = 0;
	int rc;

	if (job->w->op == BENCH_OP_BATCH)
		return be->put_batch(th->tctx, th->keys, key_len, th->vals, vlen, th->batch_n);
	if (job->w->op == BENCH_OP_TRANSFER)
		return be->transfer(th->tctx, bench_rng_below(&th->rng, UINT64_MAX), job->w->cross);
	if (job->w->op == BENCH_OP_ACC)
		return be->accumulate(th->tctx, bench_rng_below(&th->rng, UINT64_MAX), job->w->acc);
	switch (th->kind) {
	case BENCH_KIND_READ:
		return be->get(th->tctx, th->keys, key_len, val_len);
	case BENCH_KIND_SCAN:
		rc = be->scan(th->tctx, th->keys, key_len, th->scan_len, &rows);
		if (rc >= 0) {
			th->scans++;
			th->rows += rows;
		}
		return rc;
	case BENCH_KIND_RMW:
		rc = be->get(th->tctx, th->keys, key_len, val_len);
		if (rc != BENCH_OK)
			return rc;
		bench_stamp(th->vals, vlen, ++th->stamp);
		return be->put(th->tctx, th->keys, key_len, th->vals, vlen);
	case BENCH_KIND_UPDATE:
	case BENCH_KIND_INSERT:
	default:
		return be->put(th->tctx, th->keys, key_len, th->vals, vlen);
	}
}

static int bench_sync_call(struct bench_thread *th)
{
	const struct bench_job *job = th->job;
	const struct bench_backend *be = job->be;
	uint32_t val_len = 0, tries = 0;
	int rc;

	for (;;) {
		rc = bench_sync_once(th, &val_len);
		if (rc >= 0 || !be->retryable(rc))
			break;
		th->retries++;
		if (++tries >= BENCH_RETRY_MAX || bench_stopped(job))
			break;
	}
	if (rc < 0)
		return bench_fail(th, rc, "%s: %s%s", bench_op_name(th), be->strerror(rc),
				  tries >= BENCH_RETRY_MAX ? " (retries exhausted)" : "");
	return bench_check(th, rc, val_len);
}

static int bench_loop_sync(struct bench_thread *th, const struct bench_phase *ph)
{
	uint64_t n = 0, t0, now = bench_now_ns();
	uint32_t per;
	int rc = 0;

	while (!bench_phase_over(th, ph, n, now)) {
		per = bench_next_call(th, ph->quota - n);
		t0 = bench_now_ns();
		rc = bench_sync_call(th);
		if (rc < 0)
			break;
		now = bench_now_ns();
		if (ph->record)
			bench_hist_record(&th->hist, now - t0);
		n += per;
	}
	if (ph->record)
		th->ops = n;
	return rc;
}

/* ------------------------------------------------------------------------ */
/* Submission queue                                                          */
/* ------------------------------------------------------------------------ */

/* Give every idle slot a new request, while the phase lasts. */
static void bench_sq_issue(struct bench_thread *th, const struct bench_phase *ph,
			   uint64_t *issued, uint64_t now)
{
	struct bench_sq *sq = &th->sq;

	while (sq->nfree > 0 && !bench_phase_over(th, ph, *issued, now)) {
		uint32_t slot = sq->free[--sq->nfree];

		bench_next_request(th, slot);
		sq->prep[sq->nprep++] = slot;
		sq->outstanding++;
		(*issued)++;
	}
}

/* Turn waiting slots into SQEs until the submission queue is full. */
static int bench_sq_prep(struct bench_thread *th)
{
	const struct bench_backend *be = th->job->be;
	const struct bench_opts *o = th->job->o;
	struct bench_sq *sq = &th->sq;
	int rc;

	while (sq->nprep > 0) {
		uint32_t slot = sq->prep[sq->nprep - 1];
		uint8_t *key = bench_slot_key(th, slot), *val = bench_slot_val(th, slot);

		if (th->job->w->op == BENCH_OP_ACC)
			rc = be->prep_acc(th->tctx, slot, bench_rng_below(&th->rng, UINT64_MAX));
		else if (th->kind == BENCH_KIND_UPDATE)
			rc = be->prep_put(th->tctx, slot, key, o->key_size, val, o->value_size);
		else
			rc = be->prep_get(th->tctx, slot, key, o->key_size, val, th->val_stride);
		if (rc == BENCH_AGAIN)
			break;
		if (rc < 0)
			return bench_fail(th, rc, "prep %s: %s", bench_op_name(th),
					  be->strerror(rc));
		sq->nprep--;
		if (sq->t_sub[slot] == 0)
			sq->fresh[sq->nfresh++] = slot;
	}
	return 0;
}

static int bench_sq_submit(struct bench_thread *th)
{
	const struct bench_backend *be = th->job->be;
	struct bench_sq *sq = &th->sq;
	int rc;

	if (sq->nfresh > 0) {
		uint64_t now = bench_now_ns();

		for (uint32_t i = 0; i < sq->nfresh; i++)
			sq->t_sub[sq->fresh[i]] = now;
		sq->nfresh = 0;
	}
	rc = be->submit(th->tctx);
	if (rc < 0)
		return bench_fail(th, rc, "submit: %s", be->strerror(rc));
	return 0;
}

static int bench_sq_done(struct bench_thread *th, const struct bench_phase *ph,
			 const struct bench_completion *c, uint64_t now, uint64_t *done)
{
	const struct bench_backend *be = th->job->be;
	struct bench_sq *sq = &th->sq;
	uint32_t slot = (uint32_t)c->tag;

	if (c->tag >= th->nslots || sq->t_sub[slot] == 0)
		return bench_fail(th, 0, "completion for unknown tag %" PRIu64, c->tag);
	if (c->res < 0 && be->retryable(c->res) && ++sq->retry_run < BENCH_RETRY_MAX) {
		th->retries++;
		sq->prep[sq->nprep++] = slot;
		return 0;
	}
	if (c->res < 0)
		return bench_fail(th, c->res, "%s completion: %s", bench_op_name(th),
				  be->strerror(c->res));
	sq->retry_run = 0;
	if (bench_check(th, c->res, c->val_len) < 0)
		return -1;
	if (ph->record)
		bench_hist_record(&th->hist, now - sq->t_sub[slot]);
	sq->t_sub[slot] = 0;
	sq->free[sq->nfree++] = slot;
	sq->outstanding--;
	(*done)++;
	return 0;
}

static int bench_sq_reap(struct bench_thread *th, const struct bench_phase *ph, bool wait,
			 uint64_t *now, uint64_t *done)
{
	const struct bench_backend *be = th->job->be;
	struct bench_sq *sq = &th->sq;
	int n = be->reap(th->tctx, sq->cqes, th->nslots, wait);

	if (n < 0)
		return bench_fail(th, n, "reap: %s", be->strerror(n));
	*now = bench_now_ns();
	for (int i = 0; i < n; i++) {
		if (bench_sq_done(th, ph, &sq->cqes[i], *now, done) < 0)
			return -1;
	}
	return n;
}

/*
 * Keep every slot busy: issue, prepare, submit, reap. Blocks in reap only
 * when no slot is idle or the phase is over; ends when the phase is over
 * and every request has completed.
 */
static int bench_loop_sq(struct bench_thread *th, const struct bench_phase *ph)
{
	struct bench_sq *sq = &th->sq;
	uint64_t issued = 0, done = 0, now = bench_now_ns();
	bool wait;
	int n = 0;

	for (;;) {
		bench_sq_issue(th, ph, &issued, now);
		if (bench_sq_prep(th) < 0 || bench_sq_submit(th) < 0) {
			n = -1;
			break;
		}
		if (sq->outstanding == 0)
			break;
		wait = sq->nfree == 0 || bench_phase_over(th, ph, issued, now);
		n = bench_sq_reap(th, ph, wait, &now, &done);
		if (n < 0)
			break;
		/* Backpressure with nothing of ours in flight: let others run. */
		if (n == 0 && wait)
			sched_yield();
	}
	if (ph->record)
		th->ops = done;
	return n < 0 ? -1 : 0;
}

/* ------------------------------------------------------------------------ */
/* Threads                                                                   */
/* ------------------------------------------------------------------------ */

static int bench_sq_alloc(struct bench_sq *sq, uint32_t depth)
{
	sq->free = calloc(depth, sizeof(*sq->free));
	sq->prep = calloc(depth, sizeof(*sq->prep));
	sq->fresh = calloc(depth, sizeof(*sq->fresh));
	sq->t_sub = calloc(depth, sizeof(*sq->t_sub));
	sq->cqes = calloc(depth, sizeof(*sq->cqes));
	if (!sq->free || !sq->prep || !sq->fresh || !sq->t_sub || !sq->cqes)
		return -ENOMEM;
	for (uint32_t i = 0; i < depth; i++)
		sq->free[i] = depth - 1 - i;
	sq->nfree = depth;
	return 0;
}

static void bench_sq_release(struct bench_sq *sq)
{
	free(sq->free);
	free(sq->prep);
	free(sq->fresh);
	free(sq->t_sub);
	free(sq->cqes);
}

static int bench_thread_setup(struct bench_thread *th)
{
	const struct bench_job *job = th->job;
	const struct bench_opts *o = job->o;
	int rc;

	th->nslots = job->depth > 0 ? job->depth : 1;
	if (job->w->op == BENCH_OP_BATCH)
		th->nslots = BENCH_BATCH;
	th->val_stride = o->value_size > 0 ? o->value_size : 1;
	th->keys = calloc(th->nslots, o->key_size);
	th->vals = malloc((size_t)th->nslots * th->val_stride);
	if (!th->keys || !th->vals || bench_hist_init(&th->hist) < 0)
		return bench_fail(th, -ENOMEM, "out of memory");
	/* Random value bytes, so no engine can shortcut constant data. */
	for (size_t i = 0; i < (size_t)th->nslots * th->val_stride; i++)
		th->vals[i] = (uint8_t)bench_rng_next(&th->rng);
	if (job->depth > 0 && bench_sq_alloc(&th->sq, job->depth) < 0)
		return bench_fail(th, -ENOMEM, "out of memory");
	rc = job->be->thread_init(job->ctx, job->depth, &th->tctx);
	if (rc < 0) {
		th->tctx = NULL;
		return bench_fail(th, rc, "thread init: %s", job->be->strerror(rc));
	}
	return 0;
}

static void bench_thread_teardown(struct bench_thread *th)
{
	int rc;

	if (th->tctx) {
		rc = th->job->be->thread_exit(th->tctx);
		if (rc < 0 && th->err == 0)
			bench_fail(th, rc, "thread exit: %s", th->job->be->strerror(rc));
	}
	bench_sq_release(&th->sq);
	free(th->keys);
	free(th->vals);
}

static int bench_phase_run(struct bench_thread *th, const struct bench_phase *ph)
{
	return th->job->depth > 0 ? bench_loop_sq(th, ph) : bench_loop_sync(th, ph);
}

static void bench_gate_arrive(struct bench_job *job)
{
	pthread_mutex_lock(&job->lock);
	job->arrived++;
	pthread_cond_broadcast(&job->cond);
	while (!job->open)
		pthread_cond_wait(&job->cond, &job->lock);
	pthread_mutex_unlock(&job->lock);
}

static void bench_gate_open(struct bench_job *job, uint32_t created)
{
	pthread_mutex_lock(&job->lock);
	while (job->arrived < created)
		pthread_cond_wait(&job->cond, &job->lock);
	job->open = true;
	pthread_cond_broadcast(&job->cond);
	pthread_mutex_unlock(&job->lock);
}

static void *bench_thread_main(void *arg)
{
	struct bench_thread *th = arg;
	const struct bench_opts *o = th->job->o;
	struct bench_phase ph = { .quota = UINT64_MAX };
	int rc = bench_thread_setup(th);

	if (rc == 0 && o->warmup_s > 0) {
		ph.deadline_ns = bench_now_ns() + (uint64_t)(o->warmup_s * 1e9);
		rc = bench_phase_run(th, &ph);
	}
	bench_gate_arrive(th->job);
	if (rc == 0 && !bench_stopped(th->job)) {
		th->misses = 0;
		th->retries = 0;
		th->start_ns = bench_now_ns();
		ph.quota = th->quota;
		ph.deadline_ns = UINT64_MAX;
		if (th->quota == UINT64_MAX)
			ph.deadline_ns = th->start_ns + (uint64_t)(o->seconds * 1e9);
		ph.record = true;
		rc = bench_phase_run(th, &ph);
		th->end_ns = bench_now_ns();
		th->measured = true;
	}
	bench_thread_teardown(th);
	return NULL;
}

/* ------------------------------------------------------------------------ */
/* Coordinator                                                               */
/* ------------------------------------------------------------------------ */

static struct bench_thread *bench_thread_new(struct bench_job *job, uint32_t idx,
					     uint64_t *seq_next)
{
	const struct bench_opts *o = job->o;
	size_t size = (sizeof(struct bench_thread) + 63) & ~(size_t)63;
	struct bench_thread *th = aligned_alloc(64, size);
	uint64_t share;

	if (!th)
		return NULL;
	memset(th, 0, size);
	th->job = job;
	th->idx = idx;
	th->quota = UINT64_MAX;
	th->stamp = (uint64_t)idx << 48;
	bench_rng_seed(&th->rng, o->seed ^ bench_mix64(UINT64_C(0x1000) + idx));
	th->kind = bench_kind_of(job->w);
	th->kg.dist = job->w->zipfian ? BENCH_DIST_ZIPFIAN : o->dist;
	th->kg.keys = o->keys;
	th->kg.zipf = job->zipf;
	if (o->ops > 0) {
		share = o->ops / job->threads + (idx < o->ops % job->threads ? 1 : 0);
		th->quota = share;
	}
	if (job->w->sequential) {
		th->kg.dist = BENCH_DIST_SEQUENTIAL;
		th->kg.next = *seq_next;
		*seq_next += th->quota;
	}
	return th;
}

static void bench_rusage_ns(uint64_t *cpu_ns)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) < 0) {
		*cpu_ns = 0;
		return;
	}
	*cpu_ns = ((uint64_t)ru.ru_utime.tv_sec + (uint64_t)ru.ru_stime.tv_sec) * 1000000000u +
		  ((uint64_t)ru.ru_utime.tv_usec + (uint64_t)ru.ru_stime.tv_usec) * 1000u;
}

static void bench_result_latency(struct bench_result *res, const struct bench_hist *h)
{
	res->us_mean = h->count ? (double)h->sum_ns / (double)h->count / 1e3 : 0.0;
	res->us_p50 = (double)bench_hist_percentile(h, 50.0) / 1e3;
	res->us_p90 = (double)bench_hist_percentile(h, 90.0) / 1e3;
	res->us_p99 = (double)bench_hist_percentile(h, 99.0) / 1e3;
	res->us_p999 = (double)bench_hist_percentile(h, 99.9) / 1e3;
	res->us_max = (double)h->max_ns / 1e3;
}

/* Merge the threads' counters and histograms into @res; report failures. */
static int bench_collect(struct bench_job *job, struct bench_thread **ths, uint32_t created,
			 struct bench_result *res)
{
	uint64_t first = UINT64_MAX, last = 0, scans = 0, rows = 0;
	struct bench_hist all;
	int rc = 0;

	if (bench_hist_init(&all) < 0) {
		fprintf(stderr, "aedb-bench: out of memory\n");
		return -1;
	}
	for (uint32_t i = 0; i < created; i++) {
		struct bench_thread *th = ths[i];

		if (th->err != 0) {
			fprintf(stderr, "aedb-bench: %s, thread %u: %s\n", job->w->name, i,
				th->msg);
			rc = -1;
		}
		if (th->measured) {
			first = th->start_ns < first ? th->start_ns : first;
			last = th->end_ns > last ? th->end_ns : last;
		}
		res->ops += th->ops;
		scans += th->scans;
		rows += th->rows;
		res->misses += th->misses;
		res->retries += th->retries;
		if (th->hist.counts)
			bench_hist_merge(&all, &th->hist);
	}
	if (job->w->preload && res->misses > 0) {
		fprintf(stderr, "aedb-bench: %s: %" PRIu64 " of %" PRIu64 " gets found no value "
			"in the preloaded keyspace\n", job->w->name, res->misses, res->ops);
		rc = -1;
	}
	if (scans > 0)
		res->rows_per_op = (double)rows / (double)scans;
	if (last > first)
		res->seconds = (double)(last - first) / 1e9;
	if (res->seconds > 0)
		res->ops_per_sec = (double)res->ops / res->seconds;
	bench_result_latency(res, &all);
	bench_hist_free(&all);
	return rc;
}

static void bench_result_init(struct bench_result *res, const struct bench_job *job)
{
	memset(res, 0, sizeof(*res));
	res->workload = job->w->name;
	res->backend = job->be->name;
	res->dist = bench_dist_name(job->w->sequential ? BENCH_DIST_SEQUENTIAL :
				    job->w->zipfian ? BENCH_DIST_ZIPFIAN : job->o->dist);
	res->threads = job->threads;
	res->shards = job->be->shards(job->ctx);
	res->depth = job->depth;
}

/* Start the threads, open the gate once all are ready, join them. */
static uint32_t bench_spawn(struct bench_job *job, struct bench_thread **ths,
			    uint64_t *wall_ns, uint64_t *cpu_ns)
{
	uint64_t seq_next = 0, t0, c0;
	uint32_t created = 0;
	int rc;

	for (; created < job->threads; created++) {
		ths[created] = bench_thread_new(job, created, &seq_next);
		if (!ths[created]) {
			fprintf(stderr, "aedb-bench: out of memory\n");
			break;
		}
		rc = pthread_create(&ths[created]->tid, NULL, bench_thread_main, ths[created]);
		if (rc != 0) {
			fprintf(stderr, "aedb-bench: pthread_create: %s\n", strerror(rc));
			free(ths[created]);
			ths[created] = NULL;
			break;
		}
	}
	if (created < job->threads)
		atomic_store(&job->failed, 1);
	bench_gate_open(job, created);
	t0 = bench_now_ns();
	bench_rusage_ns(&c0);
	for (uint32_t i = 0; i < created; i++)
		pthread_join(ths[i]->tid, NULL);
	*wall_ns = bench_now_ns() - t0;
	bench_rusage_ns(cpu_ns);
	*cpu_ns -= c0;
	return created;
}

int bench_run(const struct bench_opts *o, void *ctx, const struct bench_workload *w,
	      uint32_t threads, const struct bench_zipf *zipf, struct bench_result *res)
{
	struct bench_job job = {
		.o = o, .be = o->backend, .ctx = ctx, .w = w, .zipf = zipf,
		.threads = threads, .depth = w->async ? o->depth : 0,
	};

	struct bench_thread **ths;
	uint64_t wall_ns = 0, cpu_ns = 0;
	uint32_t created;
	int rc;

	bench_result_init(res, &job);
	ths = calloc(threads, sizeof(*ths));
	if (!ths || pthread_mutex_init(&job.lock, NULL) != 0) {
		fprintf(stderr, "aedb-bench: cannot set up %u threads\n", threads);
		free(ths);
		res->failed = 1;
		return -1;
	}
	pthread_cond_init(&job.cond, NULL);
	created = bench_spawn(&job, ths, &wall_ns, &cpu_ns);
	rc = bench_collect(&job, ths, created, res);
	if (created < threads || atomic_load(&job.failed))
		rc = -1;
	if (wall_ns > 0)
		res->cpu_cores = (double)cpu_ns / (double)wall_ns;
	for (uint32_t i = 0; i < created; i++) {
		bench_hist_free(&ths[i]->hist);
		free(ths[i]);
	}
	free(ths);
	pthread_cond_destroy(&job.cond);
	pthread_mutex_destroy(&job.lock);
	res->failed = rc < 0;
	return rc;
}

int bench_load(const struct bench_opts *opts, void *ctx)
{
	struct bench_workload w = bench_workload_load;
	struct bench_opts o = *opts;
	struct bench_result res;
	uint32_t threads = BENCH_LOAD_THREADS;

	if (o.keys < threads)
		threads = (uint32_t)o.keys;
	/* aedb: puts through the submission queue; peers: batches of
	 * BENCH_BATCH records per transaction (buffered, not synced). */
	w.async = o.backend->prep_put != NULL;
	if (!w.async)
		w.op = BENCH_OP_BATCH;
	o.ops = o.keys;
	o.warmup_s = 0;
	if (bench_run(&o, ctx, &w, threads, NULL, &res) < 0) {
		fprintf(stderr, "aedb-bench: loading %" PRIu64 " keys failed\n", o.keys);
		return -1;
	}
	if (res.ops != o.keys) {
		fprintf(stderr, "aedb-bench: load wrote %" PRIu64 " of %" PRIu64 " keys\n",
			res.ops, o.keys);
		return -1;
	}
	fprintf(stderr, "aedb-bench: %s: loaded %" PRIu64 " keys (%s, %u threads) in %.2f s, "
		"%.0f puts/s\n", o.backend->name, res.ops,
		w.async ? "submission queue" : "batches of 1000", threads, res.seconds,
		res.ops_per_sec);
	return 0;
}
