/* SPDX-License-Identifier: MIT */
/*
 * Pure evaluation of transaction entries against one key's current state:
 * numeric read-modify-write with its policies, assertions, read-set checks.
 * No shard state is touched here; shard/txn.c feeds it the state and applies
 * the effects it returns.
 */
#ifndef AEDB_TXN_EVAL_H
#define AEDB_TXN_EVAL_H

#include <stdint.h>

#include "txn/txn.h"

/* The current state of a key as a transaction sees it. */
struct txn_cur {
	const uint8_t *val;
	uint32_t len;
	uint8_t present;
	uint64_t version;       /* seq of the last write; 0 if absent */
};

enum { TXN_EFF_NONE = 0, TXN_EFF_SET = 1, TXN_EFF_DEL = 2 };

/* What one mutation writes. */
struct txn_eff {
	const struct txn_item *item;
	uint8_t kind;           /* TXN_EFF_* */
	uint8_t inline_val;     /* the value is num[] (numeric results) */
	uint8_t superseded;     /* a later mutation of the same key replaces it */
	uint8_t fresh;          /* a set after a delete of its key in this txn */
	uint32_t len;
	const uint8_t *val;     /* when !inline_val: points into the builder */
	const uint8_t *key;     /* if not NULL, the key written (else the item's) */
	uint32_t key_len;
	uint8_t num[32];
};

static inline const uint8_t *txn_eff_key(const struct aedb_txn *t, const struct txn_eff *e,
					 uint32_t *len)
{
	*len = e->key ? e->key_len : e->item->key_len;
	return e->key ? e->key : txn_key(t, e->item);
}

static inline const uint8_t *txn_eff_val(const struct txn_eff *e)
{
	return e->inline_val ? e->num : e->val;
}

/* The state a key has after effect @e (for a later entry on the same key). */
void txn_cur_after(struct txn_cur *cur, const struct txn_eff *e, uint64_t version);

/* Evaluate mutation @m on @cur. 0 and *@e filled, or -AEDB_EASSERT,
 * -AEDB_ETYPE, -AEDB_ENOTFOUND, -AEDB_EOVERFLOW, -AEDB_EUNDERFLOW. */
int txn_eval_mut(const struct aedb_txn *t, const struct txn_item *m, const struct txn_cur *cur,
		 struct txn_eff *e);

/* Evaluate assertion or read-set entry @a on @cur: 0 (holds), -AEDB_EASSERT
 * or -AEDB_ECONFLICT. */
int txn_eval_check(const struct aedb_txn *t, const struct txn_item *a,
		   const struct txn_cur *cur);

/* Big-endian unsigned arithmetic on @w bytes (8 or 32). */
int txn_num_add(uint8_t *out, const uint8_t *a, const uint8_t *b, uint32_t w); /* carry */
int txn_num_sub(uint8_t *out, const uint8_t *a, const uint8_t *b, uint32_t w); /* borrow */

#endif
