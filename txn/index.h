/* SPDX-License-Identifier: MIT */
/* Secondary-index maintenance inside transactions (txn/index.c). */
#ifndef AEDB_TXN_INDEX_H
#define AEDB_TXN_INDEX_H

#include <stddef.h>

#include "txn/eval.h"
#include "txn/txn.h"

struct catalog;

/*
 * At commit, on row entry @it's shard, after it evaluated: 0 if the index
 * entries added with it still hold, i.e. the digest of the old row's
 * entries (@cur, as the transaction sees it) over the table's indexes in
 * @cat equals the one computed when it was added; else -AEDB_ECONFLICT (or
 * -ENOMEM). @key_cap: the instance's max_key_bytes.
 */
int txn_ix_check(const struct aedb_txn *t, const struct catalog *cat, const struct txn_item *it,
		 const struct txn_cur *cur, size_t key_cap);

#endif
