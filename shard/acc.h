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
 * this part already has (@effs[0..*n)); appends 0..3 effects. Returns 0,
 * 1 for a duplicate delta (*@dup_seq = the commit that accepted it), or
 * -AEDB_ENOACC, -AEDB_EDEDUPE, -AEDB_EORDER, -AEDB_EEXIST, -AEDB_ELIMIT,
 * -AEDB_EOVERFLOW, -AEDB_ENOTFOUND, -AEDB_ECORRUPT.
 */
int shard_acc_eval(struct shard *s, const struct catalog *cat, const struct aedb_txn *t,
		   const struct txn_item *it, struct txn_eff *effs, uint32_t *n,
		   uint64_t *dup_seq);

#endif
