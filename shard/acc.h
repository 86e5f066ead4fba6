/* SPDX-License-Identifier: MIT */
/*
 * Accumulators on the shards (acc/acc.h has the data layout): evaluating
 * accumulator entries of a transaction, claiming order keys with the seq,
 * and the reductions reads and the circuit breaker share.
 */
#ifndef AEDB_SHARD_ACC_H
#define AEDB_SHARD_ACC_H

#include <stdint.h>

#include "acc/acc.h"
#include "txn/eval.h"

struct aedb;
struct shard;
struct catalog;
struct cat_scope;

/* The reduction of every shard's partial at one snapshot. */
struct acc_sum {
	__int128 sum;
	uint64_t max_order;
	uint64_t count;
	uint64_t latest_seq;     /* newest partial version */
};

/* The accumulator's home shard (its exposure ledger). */
uint32_t acc_home(const struct aedb *db, uint32_t ns);

/* Sum the partials at @snap. Any thread, in an epoch section. 0 or
 * -AEDB_ECORRUPT. */
int acc_reduce(struct aedb *db, const struct cat_scope *sc, uint64_t snap, struct acc_sum *out);

/* The open exposures at @snap, leaving out those expired at head @head:
 * total and count. Any thread, in an epoch section. */
int acc_ledger(struct aedb *db, const struct cat_scope *sc, uint64_t snap, uint64_t head,
	       __int128 *total, uint64_t *count);

/*
 * Evaluate accumulator entry @it of @t on shard @s, on top of the effects
 * this part already has (@effs[0..*n)); appends 0..2 effects. Returns 0,
 * 1 for a duplicate delta (*@dup_seq = the commit that accepted it), or
 * -AEDB_ENOACC, -AEDB_EDEDUPE, -AEDB_EORDER, -AEDB_EEXIST, -AEDB_ELIMIT,
 * -AEDB_EOVERFLOW, -AEDB_ENOTFOUND, -AEDB_ECORRUPT.
 */
int shard_acc_eval(struct shard *s, const struct catalog *cat, const struct aedb_txn *t,
		   const struct txn_item *it, struct txn_eff *effs, uint32_t *n,
		   uint64_t *dup_seq);

/* Order keys: a claim holds the accumulator's lock from the check until the
 * commit's seq is taken. */
struct acc_claim {
	struct cat_adef *def;   /* NULL: nothing claimed */
	uint64_t order;
	int32_t index;          /* the entry's index, for the failure */
};

/* Check @t's delta (if any) against the accumulator's latest order key and,
 * if it is above, keep the lock. 0, or -AEDB_EORDER / -AEDB_ENOACC (no lock
 * held; c->index names the entry). */
int acc_claim(const struct catalog *cat, const struct aedb_txn *t, struct acc_claim *c);
/* The seq is taken: record the order key and unlock. */
void acc_claim_done(struct acc_claim *c);

/* After recovery: every accumulator's latest order key from the partials.
 * Single-threaded (open). */
void acc_rebuild(struct aedb *db);

#endif
