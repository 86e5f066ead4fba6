/* SPDX-License-Identifier: MIT */
/*
 * struct shard - one shard thread and everything it alone owns (DESIGN §2):
 * its inbox (MPSC from clients), its io_uring ring and doorbell, its epoch
 * record and pool, its partitions' write side, its round's record batch, and
 * its pending VISIBLE completions. Shard 0 also coordinates DDL.
 */
#ifndef AEDB_SHARD_SHARD_H
#define AEDB_SHARD_SHARD_H

#include <ck_epoch.h>
#include <pthread.h>
#include <stdint.h>

#include "core/hist.h"
#include "core/pool.h"
#include "io/uring.h"
#include "ring/mpsc.h"
#include "ring/req.h"
#include "shard/idem.h"
#include "shard/kvmap.h"
#include "ring/ring_msg.h"
#include "wal/log.h"
#include "wal/record.h"

struct aedb;
struct cat_scope;
struct catalog;
struct txn_frag;
struct txn_run;
struct ddl_alter;
struct ddl_op;

/* Key locks of one shard (shard/txn.c): lock hash -> holders. Held by
 * prepared cross-shard fragments and by requests waiting behind them. */
struct txn_locks {
	uint64_t *keys;         /* 0: empty slot */
	uint32_t *cnt;
	uint32_t cap, used;     /* cap: power of two or 0 */
	uint32_t pending;       /* scratch: keys a request needs */
};

#define SHARD_GC_SAMPLES 64

RING_MPSC_DEFINE(shard_inbox, struct req *)

/* Operational metrics of one shard (shard/metrics.c, api/metrics.c): written
 * by the owner with relaxed stores, read by any thread with relaxed loads. */
struct shard_metrics {
	uint64_t lat[CORE_HIST_BUCKETS]; /* submit -> completion, ns */
	uint64_t lat_sum_ns;
	uint64_t lat_max_ns;
	uint64_t done;                   /* completions counted in lat */
	uint64_t errors;                 /* ... of which failed */
	uint64_t parked;                 /* applied, waiting for V or D */
	uint64_t now_ns;                 /* owner only: clock cache, 0 = stale */
};

/* Shard 0's DDL coordinator state: one DDL in progress at a time. */
struct ddl_state {
	struct req *queue_head, *queue_tail; /* waiting DDL requests */
	struct req *active;                  /* in progress, or NULL */
	uint32_t phase;                      /* enum ddl_phase (shard/ddl.c) */
	uint32_t acks;                       /* replies still expected */
	struct cat_scope **victims;          /* scopes being dropped */
	struct catalog *next;                /* prebuilt catalog for the drop */
	uint32_t nvictims;
	/* index DDL (shard/ddl_index.c) */
	uint32_t ix_step;                    /* 0 fencing, 1 backfilling */
	struct cat_scope *ix_table;          /* marked CAT_BUSY meanwhile */
	struct cat_scope *ix_index;          /* the index created or dropped */
	struct cat_idef *ix_idef;            /* create: not yet in a catalog */
	/* ALTER TABLE (shard/ddl_alter.c) */
	struct ddl_alter *alt;               /* in progress, or NULL */
	uint64_t pin;                        /* its seq while the shards rewrite
					      * (V and D stay below it), or 0 */
};

struct shard {
	struct aedb *db;
	uint32_t id;
	pthread_t thread;
	int started;

	struct shard_inbox inbox;        /* requests from clients (MPSC) */
	uint32_t sleeping;               /* atomic: about to sleep / asleep */
	uint32_t stop;                   /* atomic: refuse new work, finish the rest */
	uint32_t quiesced;               /* atomic: stopping and nothing left */
	struct io_shard io;

	ck_epoch_record_t erec;
	struct core_pool pool;
	struct kvmap_env kenv;
	struct kvmap_stats kstats;

	struct wal_batch batch;          /* record bodies of the current round */
	struct req **round;              /* requests of the current round */
	struct req *vis_head, *vis_tail; /* applied, waiting for V >= seq */
	struct req *dur_head, *dur_tail; /* applied, waiting for D >= seq */
	struct wal_log wal;              /* this shard's log */
	uint64_t commits;                /* atomic (relaxed): seqs allocated */
	struct shard_metrics m;

	uint64_t gc_next_ns;             /* next GC tick */
	uint64_t gc_safe;                /* horizon that is safe to collect to */
	uint64_t gc_pending;             /* floor waiting for its grace period */
	int gc_waiting;                  /* gc_entry is queued on the epoch */
	int gc_more;                     /* the last collection hit its budget */
	ck_epoch_entry_t gc_entry;
	struct { uint64_t t_ns, v; } samples[SHARD_GC_SAMPLES];
	uint32_t nsamples;

	struct ddl_state ddl;            /* shard 0 only */

	/* Transactions (shard/txn.c). */
	struct txn_frag *held;           /* prepared fragments, arrival order */
	uint64_t pin;                    /* lowest pin of held; UINT64_MAX: none */
	struct txn_locks locks;
	struct req *blk_head, *blk_tail; /* requests waiting on locked keys */
	int unblock_due;                 /* a lock was dropped: retry blk */
	struct wal_batch tbatch;         /* one transaction's records */
	struct idem_table idem;
	struct ring_msg fence;           /* a DDL fence waiting on held work */
	int fence_pending;
} __attribute__((aligned(64)));

/* Lifecycle (api/db.c calls these on the opening thread). */
int shard_init(struct shard *s, struct aedb *db, uint32_t id);
int shard_start(struct shard *s);
void shard_stop_and_join(struct shard *s);
void shard_destroy(struct shard *s);

/* Queue @r on shard @s's inbox and ring its doorbell if it sleeps.
 * Any thread. 0 or -AEDB_EBUSY (inbox full). */
int shard_enqueue_mpsc(struct shard *s, struct req *r);
/* Ring @s's doorbell if it is sleeping. Any thread. */
void shard_wake_any(struct shard *s);
/* shard_wake_any() every shard whose bit is set in @mask. Any thread. */
void shard_wake_mask_any(struct aedb *db, uint64_t mask);
/* Ask every shard to fsync what it holds at or below @seq (BATCH/OS modes:
 * D can only pass @seq once all of them have). Any thread. */
void shard_request_sync_any(struct aedb *db, uint64_t seq);

/* Apply one KV record to this shard's partition of @sc (live path and
 * recovery). 0 or -ENOMEM. */
int shard_apply_rec(struct shard *s, struct cat_scope *sc, const struct wal_rec *rec);
/* Recovery: room for @keys keys in this shard's partition of @sc. */
int shard_bulk_reserve(struct shard *s, struct cat_scope *sc, uint64_t keys);
/* Recovery's bulk load of one key's newest version (see kvmap_bulk_append). */
int shard_bulk_append(struct shard *s, struct cat_scope *sc, const void *key, uint32_t key_len,
		      const void *val, uint32_t val_len, uint64_t seq, uint64_t created_seq);
/* shard/apply.c: run one apply round over @n requests. */
void shard_apply_round(struct shard *s, struct req **reqs, uint32_t n);
/* Park an applied request (seq, res set) until V (or D, for DURABLE
 * finality) reaches its seq. */
void shard_park_visible(struct shard *s, struct req *r);
void shard_park_durable(struct shard *s, struct req *r);
/* Complete the requests of a parked list (ascending seq) up to @upto. */
uint32_t shard_list_complete(struct shard *s, struct req **head, struct req **tail,
			     uint64_t upto);
/* Complete DURABLE requests whose seq is now durable. Returns count. */
uint32_t shard_complete_durable(struct shard *s);
/* Hand a finished round's records (s->batch) to the WAL. */
void shard_log_round(struct shard *s, uint64_t first_seq, uint32_t count);
/* WAL progress: recompute dur_lo, publish D, wake waiters; on error latch. */
void shard_wal_progress(struct shard *s, int rc);
/* Complete @r per its finality: now, or parked until V/D reach r->seq. */
void shard_finish(struct shard *s, struct req *r, uint64_t v);
/* Ring the doorbells of shards parked on V. */
void shard_wake_vis_waiters(struct shard *s);
/* Complete VISIBLE requests whose seq is now visible. Returns count. */
uint32_t shard_complete_visible(struct shard *s);
/* Move the GC floor when the tick is due; collect a bounded batch while a
 * backlog is due. Returns GC entries processed. */
uint32_t shard_gc_tick(struct shard *s, uint64_t now_ns);
/* Retire this shard's partitions of @scope (drop). */
void shard_retire_scope(struct shard *s, struct cat_scope *scope);

/* shard/metrics.c: count the outcome of @r (r->res set), completed by
 * this shard now, in its latency histogram (if the submitter stamped it). */
void shard_metrics_done(struct shard *s, const struct req *r);
/* The completion clock: read once, then reused until shard_metrics_tick(). */
static inline void shard_metrics_tick(struct shard *s)
{
	s->m.now_ns = 0;
}
/* Change the parked count by @d (owner). */
static inline void shard_metrics_parked(struct shard *s, int64_t d)
{
	__atomic_store_n(&s->m.parked, s->m.parked + (uint64_t)d, __ATOMIC_RELAXED);
}

/* shard/txn.c: transactions. */
/* Admit a REQ_TXN or REQ_TXN_FRAG inside an apply round (epoch section). */
void shard_txn_admit(struct shard *s, const struct catalog *cat, struct req *r);
/* Plain KV write @r: 1 if it must wait behind a lock (it was parked). */
int shard_txn_park_plain(struct shard *s, struct req *r);
/* Apply decided fragments whose seq is below @below; drop aborted ones.
 * Returns how many were resolved. Never publishes. */
uint32_t shard_txn_resolve(struct shard *s, uint64_t below);
/* Loop stage: resolve, publish, retry waiters, answer a due fence. */
uint32_t shard_txn_step(struct shard *s);
/* The submitter could not queue a participant's fragment (closing): vote
 * no on its behalf. Any thread. */
void txn_run_refuse_any(struct aedb *db, struct txn_run *run, int err);
/* A fragment refused while stopping: vote no. */
void shard_txn_refuse(struct shard *s, struct req *r, int err);
/* Some decided fragment is waiting to be applied. */
int shard_txn_has_work(const struct shard *s);
void shard_txn_init(struct shard *s);
void shard_txn_fini(struct shard *s);
/* Expire idempotency keys that left the window. */
void shard_txn_expire(struct shard *s, uint64_t v);
/* Commit work around an allocation: the round's plain requests. */
void shard_apply_run(struct shard *s, const struct catalog *cat, struct req **reqs,
		     uint32_t n);

/* shard/ddl.c: DDL coordination (shard 0) and participation (all). */
void shard_ddl_submit(struct shard *s, struct req *r);
int shard_ddl_step(struct shard *s);
void shard_ddl_on_msg(struct shard *s, const struct ring_msg *m);
/* Hooks of shard/ddl.c for shard/ddl_index.c (shard 0). */
void shard_ddl_commit(struct shard *s, struct req *r, struct catalog *next, int res,
		      struct cat_scope *unmark);
void shard_ddl_fencing(struct shard *s);
void shard_ddl_idle(struct shard *s);
void shard_ddl_retire_one(struct shard *s, struct cat_scope *victim);
/* shard/ddl_index.c: create/drop index (shard 0), backfill (every shard). */
void shard_ddl_index_begin(struct shard *s, struct req *r, const struct catalog *cat);
int shard_ddl_index_advance(struct shard *s);
int shard_ddl_index_backfill(struct shard *s, struct cat_scope *idx, uint64_t seq);
/* Recovery: the catalog change of an index DDL record, and the rebuild of
 * the entries of indexes created after @from_seq, stamped @stamp. */
int shard_index_ddl_replay(const struct catalog *cat, const struct wal_rec *rec,
			   uint32_t nshards, struct catalog **next);
int shard_index_rebuild(struct aedb *db, uint64_t from_seq, uint64_t stamp);
/* shard/ddl_alter.c: ALTER TABLE (shard 0), the rewrite of a shard's rows
 * (every shard), and recovery (the record's catalog change; converting
 * the rows replay left in an older definition, stamped @stamp). */
void shard_ddl_alter_begin(struct shard *s, struct req *r, const struct catalog *cat);
int shard_ddl_alter_advance(struct shard *s);
void shard_ddl_alter_rewrite(struct shard *s, const struct ddl_alter *a, uint64_t seq);
int shard_alter_ddl_replay(const struct catalog *cat, const struct wal_rec *rec,
			   uint32_t nshards, struct catalog **next);
int shard_alter_convert(struct aedb *db, uint64_t stamp);
/* Hooks of shard/ddl.c for shard/ddl_alter.c: log a table DDL record
 * (value @val) at @seq in this round; publish @next at @seq. */
void shard_ddl_log(struct shard *s, const struct ddl_op *op, uint64_t seq, const uint8_t *val,
		   uint32_t val_len);
void shard_ddl_publish(struct shard *s, struct req *r, struct catalog *next, uint64_t seq,
		       int res);
/* shard/ddl_index.c: send @type with @ptr and @seq to every other shard. */
void shard_ddl_broadcast_ptr(struct shard *s, uint16_t type, const void *ptr, uint64_t seq);
/* The table @op names: 0 and *@t, -AEDB_ENOPROJECT, -AEDB_ENOSCOPE,
 * -AEDB_ENOTABLE. */
int shard_ddl_find_table(const struct catalog *cat, const struct ddl_op *op,
			 struct cat_scope **t);
/* The table a table DDL record names (key: project NUL scope NUL table):
 * 0 and *@t, or -AEDB_ECORRUPT. */
int shard_ddl_rec_table(const struct catalog *cat, const struct wal_rec *rec,
			char names[3][AEDB_NAME_MAX + 1], const struct cat_scope **t);
/* The pin of a shard's held fragments and DDL (s->pin) recomputed. */
void shard_pin_update(struct shard *s);

/* Reply to a DDL message from shard 0 (fences and retires). */
void shard_ddl_fence_reply(struct shard *s, const struct ring_msg *m);
/* A prepared fragment here writes a scope being dropped. */
int shard_txn_fence_must_wait(struct shard *s);

#endif
