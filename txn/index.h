/* SPDX-License-Identifier: MIT */
/* Secondary-index maintenance inside transactions (txn/index.c). */
#ifndef AEDB_TXN_INDEX_H
#define AEDB_TXN_INDEX_H

#include <stddef.h>

#include "txn/eval.h"
#include "txn/txn.h"

struct catalog;
struct cat_scope;

/*
 * At commit, on row entry @it's shard, after it evaluated: 0 if the index
 * entries added with it still hold, i.e. the digest of the old row's
 * entries (@cur, as the transaction sees it) over the table's indexes in
 * @cat equals the one computed when it was added; else -AEDB_ECONFLICT (or
 * -ENOMEM). @key_cap: the instance's max_key_bytes.
 */
int txn_ix_check(const struct aedb_txn *t, const struct catalog *cat, const struct txn_item *it,
		 const struct txn_cur *cur, size_t key_cap);

/* The row state row entry @pos (of table @tsc) sees before it: an earlier
 * row entry of the transaction on the same key, else the newest stored
 * version (*@val NULL: none). Inside an epoch section. */
void txn_ix_old_row(const struct aedb_txn *t, uint32_t pos, const struct cat_scope *tsc,
		    const uint8_t **val, uint32_t *len);

/*
 * txn/fk.c: the foreign keys' part of a row entry's digest: over the
 * parent keys old row @val (NULL: none) names, for a table with foreign
 * keys, and for a delete (@kind TXN_ROW_DEL) the reference-count entries
 * of every foreign key naming table @tsc. *@out = 0 when neither applies.
 * 0, -ENOMEM, -AEDB_ECORRUPT (a row that does not decode).
 */
int txn_fk_digest(const struct catalog *cat, const struct cat_scope *tsc, uint8_t kind,
		  const uint8_t *val, uint32_t len, size_t key_cap, uint64_t *out);

#endif
