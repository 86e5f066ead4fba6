/* SPDX-License-Identifier: MIT */
/*
 * Foreign keys inside transactions (issue 5).
 *
 * When a row entry that writes a row (TXN_ROW_INS/PUT) is added to a table
 * with foreign keys, whoever adds it (the aedb_txn_* calls, batches,
 * on-conflict upserts, where-mutations: all go through txn_add_ns), each
 * foreign key whose child columns are all non-NULL (MATCH SIMPLE) adds,
 * right behind the row entry and its index entries, a TXN_FK_REQ entry: the
 * parent table's namespace, the parent key encoded from the child columns
 * (the parent's key encoding: the column types are equal), so it lives on
 * the parent row's shard, where it is locked with the transaction's other
 * keys and evaluated in entry order: the parent row must be present in the
 * state the earlier entries left (a parent inserted earlier in the same
 * transaction counts), else the commit fails with -AEDB_EFOREIGN and writes
 * nothing. The entry writes nothing and logs nothing.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "api/catalog.h"
#include "api/db.h"
#include "api/tdef.h"
#include "api/tfk.h"
#include "table/keyenc.h"
#include "table/row.h"
#include "txn/txn.h"

/* The entries of every foreign key for row entry @pos, whose row is
 * decoded in @row. */
static int fk_entries(struct aedb_txn *t, uint32_t pos, const struct catalog *cat,
		      const struct cat_tdef *td, const struct tv_value *row, uint8_t *key,
		      size_t cap)
{
	uint32_t row_index = t->items[pos].index;

	for (uint32_t k = 0; k < td->nfks; k++) {
		const struct cat_fk *fk = &td->fks[k];
		const struct cat_scope *parent = cat_fk_parent(cat, fk);
		struct tv_value vals[TV_PK_COLUMNS_MAX];
		struct txn_item *it;
		size_t len = 0;
		int null = 0, rc;

		for (uint32_t i = 0; i < fk->ncols; i++) {
			vals[i] = row[fk->cols[i]];
			null |= vals[i].type == TV_NULL;
		}
		if (null)
			continue; /* MATCH SIMPLE: not checked */
		if (!parent)
			return -AEDB_ENOTABLE; /* not reached: a named parent cannot be dropped */
		rc = tv_key_encode(vals, fk->ncols, key, cap, &len);
		if (rc == -AEDB_ETOOBIG)
			return -AEDB_EFOREIGN; /* longer than any parent key can be */
		if (rc < 0)
			return -AEDB_ECORRUPT;
		rc = txn_add_ns(t, TXN_FK_REQ, parent->id, key, len, NULL, 0, &it);
		if (rc < 0)
			return rc;
		it->index = row_index;
	}
	return 0;
}

int txn_fk_add(struct aedb_txn *t, uint32_t pos)
{
	struct aedb *db = t->db;
	uint32_t nitems = t->nitems, nmut = t->nmut, arena_len = t->arena_len;
	uint64_t log_bytes = t->log_bytes;
	ck_epoch_record_t *rec = api_reader_record(db);
	const struct catalog *cat;
	const struct cat_scope *tsc;
	const struct cat_tdef *td;
	struct tv_value *row = NULL;
	uint8_t *copy = NULL, *key = NULL;
	uint32_t len = t->items[pos].val_len;
	int rc = 0;

	if (!rec)
		return -ENOMEM;
	api_read_begin(rec);
	cat = api_catalog_any(db);
	tsc = cat_scope_by_id(cat, t->items[pos].ns);
	td = tsc ? tsc->tdef : NULL;
	if (td && td->nfks) {
		/* Decode a private copy: adding entries may move the arena. */
		copy = malloc(len + 1);
		row = calloc(td->schema.ncols, sizeof(*row));
		key = malloc(db->cfg.max_key_bytes + 1);
		rc = copy && row && key ? 0 : -ENOMEM;
		if (rc == 0) {
			memcpy(copy, txn_val(t, &t->items[pos]), len);
			rc = tv_row_decode(&td->schema, copy, len, row) < 0 ? -AEDB_ECONFLICT : 0;
		}
		if (rc == 0)
			rc = fk_entries(t, pos, cat, td, row, key, db->cfg.max_key_bytes);
	}
	api_read_end(db, rec);
	free(copy);
	free(row);
	free(key);
	if (rc < 0) {
		t->nitems = nitems;
		t->nmut = nmut;
		t->arena_len = arena_len;
		t->log_bytes = log_bytes;
	}
	return rc;
}
