/* SPDX-License-Identifier: MIT */
/*
 * Foreign keys inside transactions (issue 5).
 *
 * When a row entry is added (the aedb_txn_* calls, batches, on-conflict
 * upserts, where-mutations: all go through txn_add_ns), the entries its
 * foreign keys need are added right behind it and its index entries:
 *
 * Child side, for each foreign key of the row's table, with the parent key
 * encoded from the child columns (the parent's key encoding: the types are
 * equal) when they are all non-NULL (MATCH SIMPLE):
 *   - the new row's parent key: TXN_FK_REQ in the parent table's namespace,
 *     so on the parent row's shard: the parent row must be present in the
 *     state the earlier entries left (-AEDB_EFOREIGN if not);
 *   - if the parent key changes: TXN_FK_DEC on the old one and TXN_FK_INC
 *     on the new one, in the foreign key's reference-count namespace
 *     (api/catalog.h: fkref), routed to the parent row's shard.
 * Parent side, for a delete: for each foreign key naming the row's table,
 * TXN_FK_ZERO on the deleted key in that key's count namespace: no child
 * row may name it (-AEDB_EFOREIGN). The count and the parent row live on
 * one shard and both sides lock the count key there, so a parent delete
 * racing a child insert on another shard is serialized by the commit
 * protocol (two-phase when cross-shard): one of them fails, never an
 * orphan.
 *
 * The old row may be stale by commit time, and a foreign key naming the
 * table may be created meanwhile, so both are folded into the row entry's
 * digest (txn/index.c), which the row's shard recomputes at commit
 * (txn_ix_check): a difference is -AEDB_ECONFLICT (the one-row calls build
 * the transaction again).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "api/catalog.h"
#include "api/db.h"
#include "api/tdef.h"
#include "api/tfk.h"
#include "core/hash.h"
#include "table/keyenc.h"
#include "table/row.h"
#include "txn/index.h"
#include "txn/txn.h"

/* The parent key of foreign key @fk in decoded row @row: its length, 0 if
 * a column is NULL (no reference), or -AEDB_ETOOBIG / -AEDB_ECORRUPT. */
static long fk_key(const struct cat_fk *fk, const struct tv_value *row, uint8_t *key, size_t cap)
{
	struct tv_value vals[TV_PK_COLUMNS_MAX];
	size_t len = 0;
	int rc;

	for (uint32_t i = 0; i < fk->ncols; i++) {
		vals[i] = row[fk->cols[i]];
		if (vals[i].type == TV_NULL)
			return 0; /* MATCH SIMPLE: not checked */
	}
	rc = tv_key_encode(vals, fk->ncols, key, cap, &len);
	if (rc < 0)
		return rc == -AEDB_ETOOBIG ? rc : -AEDB_ECORRUPT;
	return (long)len;
}

/* Foreign key @k of table @c names table @p? */
static int fk_names(const struct cat_scope *c, uint32_t k, const struct cat_scope *p)
{
	const struct cat_fk *fk = &c->tdef->fks[k];

	return strcmp(fk->table, p->table) == 0 && strcmp(fk->scope, p->name) == 0 &&
	       strcmp(fk->project, p->project) == 0;
}

struct fk_ctx {
	const struct catalog *cat;
	const struct cat_scope *tsc;
	const struct cat_tdef *td;
	struct tv_value *oldv, *newv;
	uint8_t *rows, *okey, *nkey;
	size_t cap;
};

static int fk_ctx_init(struct fk_ctx *c, const struct catalog *cat, const struct cat_scope *tsc,
		       size_t olen, size_t nlen, size_t cap)
{
	uint32_t ncols;

	memset(c, 0, sizeof(*c));
	c->cat = cat;
	c->tsc = tsc;
	c->td = tsc->tdef;
	c->cap = cap;
	ncols = c->td->schema.ncols;
	c->oldv = calloc(2 * (size_t)ncols, sizeof(*c->oldv));
	c->rows = malloc(olen + nlen + 2 * cap + 1);
	if (!c->oldv || !c->rows)
		return -ENOMEM;
	c->newv = c->oldv + ncols;
	c->okey = c->rows + olen + nlen;
	c->nkey = c->okey + cap;
	return 0;
}

static void fk_ctx_free(struct fk_ctx *c)
{
	free(c->oldv);
	free(c->rows);
}

/* Decode private copies (adding entries may move the arena). */
static int fk_decode(struct fk_ctx *c, const uint8_t *oval, uint32_t olen, const uint8_t *nval,
		     uint32_t nlen)
{
	if (oval) {
		memcpy(c->rows, oval, olen);
		if (tv_row_decode(&c->td->schema, c->rows, olen, c->oldv) < 0)
			return -AEDB_ECORRUPT;
	}
	if (nval) {
		memcpy(c->rows + olen, nval, nlen);
		if (tv_row_decode(&c->td->schema, c->rows + olen, nlen, c->newv) < 0)
			return -AEDB_ECONFLICT; /* encoded for another definition */
	}
	return 0;
}

static uint64_t fk_fold(uint64_t h, uint64_t tag, const uint8_t *key, size_t len)
{
	uint64_t seed = h ^ (tag * 0x9e3779b97f4a7c15ull);

	return XXH3_64bits_withSeed(len ? key : (const uint8_t *)"", len, seed);
}

/* The digest over the decoded old row (c->oldv, if @has_old). */
static int fk_digest_rows(struct fk_ctx *c, uint8_t kind, int has_old, uint64_t *out)
{
	const struct catalog *cat = c->cat;
	uint64_t h = 0;

	for (uint32_t k = 0; k < c->td->nfks; k++) {
		long ol = has_old ? fk_key(&c->td->fks[k], c->oldv, c->okey, c->cap) : 0;

		if (ol < 0)
			return -AEDB_ECORRUPT; /* stored rows hold encodable values */
		h = fk_fold(h, k + 1, c->okey, (size_t)ol);
	}
	for (uint32_t i = 0; kind == TXN_ROW_DEL && i < cat->nscopes; i++) {
		const struct cat_scope *ch = cat->scopes[i];

		for (uint32_t k = 0; ch->tdef && k < ch->tdef->nfks; k++) {
			const struct cat_scope *cnt = fk_names(ch, k, c->tsc)
						      ? cat_fk_counts(cat, ch, k) : NULL;
			uint8_t id[4] = { 0 };

			if (!cnt)
				continue;
			memcpy(id, &cnt->id, 4);
			h = fk_fold(h, 0x100, id, 4);
		}
	}
	*out = h;
	return 0;
}

int txn_fk_digest(const struct catalog *cat, const struct cat_scope *tsc, uint8_t kind,
		  const uint8_t *val, uint32_t len, size_t key_cap, uint64_t *out)
{
	struct fk_ctx c;
	int rc;

	*out = 0;
	if (!tsc->tdef->nfks && (kind != TXN_ROW_DEL || !cat->nfk_tables))
		return 0;
	rc = fk_ctx_init(&c, cat, tsc, val ? len : 0, 0, key_cap);
	if (rc == 0 && tsc->tdef->nfks)
		rc = fk_decode(&c, val, len, NULL, 0);
	if (rc == 0)
		rc = fk_digest_rows(&c, kind, val != NULL, out);
	fk_ctx_free(&c);
	return rc;
}

/* Add one entry behind row entry @pos: @kind in namespace @ns, on the
 * shard of parent table @parent's row @key. */
static int fk_entry(struct aedb_txn *t, uint32_t pos, uint8_t kind, uint32_t ns,
		    const struct cat_scope *parent, const uint8_t *key, size_t len)
{
	uint32_t row_index = t->items[pos].index;
	struct txn_item *it;
	int rc = txn_add_ns(t, kind, ns, key, len, NULL, 0, &it);

	if (rc < 0)
		return rc;
	it->index = row_index;
	it->shard = core_kv_shard(parent->id, key, (uint32_t)len, t->db->nshards);
	return 0;
}

/* Child side: the entries of every foreign key of the row's table. */
static int fk_child(struct aedb_txn *t, uint32_t pos, struct fk_ctx *c, int has_old,
		    int has_new)
{
	for (uint32_t k = 0; k < c->td->nfks; k++) {
		const struct cat_fk *fk = &c->td->fks[k];
		const struct cat_scope *parent = cat_fk_parent(c->cat, fk);
		const struct cat_scope *cnt = cat_fk_counts(c->cat, c->tsc, k);
		long ol = has_old ? fk_key(fk, c->oldv, c->okey, c->cap) : 0;
		long nl = has_new ? fk_key(fk, c->newv, c->nkey, c->cap) : 0;
		int rc = 0;

		if (nl == -AEDB_ETOOBIG)
			return -AEDB_EFOREIGN; /* longer than any parent key can be */
		if (ol < 0 || nl < 0)
			return -AEDB_ECORRUPT;
		if (!parent || !cnt)
			return -AEDB_ECONFLICT; /* the catalog changed under us */
		if (nl)
			rc = fk_entry(t, pos, TXN_FK_REQ, parent->id, parent, c->nkey, (size_t)nl);
		if (ol == nl && (ol == 0 || memcmp(c->okey, c->nkey, (size_t)ol) == 0))
			continue; /* the same parent (or none) before and after */
		if (rc == 0 && ol)
			rc = fk_entry(t, pos, TXN_FK_DEC, cnt->id, parent, c->okey, (size_t)ol);
		if (rc == 0 && nl)
			rc = fk_entry(t, pos, TXN_FK_INC, cnt->id, parent, c->nkey, (size_t)nl);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* Parent side: a deleted row must not be named by any child row. */
static int fk_parent(struct aedb_txn *t, uint32_t pos, struct fk_ctx *c)
{
	const struct catalog *cat = c->cat;
	uint32_t klen = t->items[pos].key_len;
	uint8_t *key = c->okey;   /* the PK; fits: it is at most max_key_bytes */

	memcpy(key, txn_key(t, &t->items[pos]), klen);
	for (uint32_t i = 0; i < cat->nscopes; i++) {
		const struct cat_scope *ch = cat->scopes[i];

		for (uint32_t k = 0; ch->tdef && k < ch->tdef->nfks; k++) {
			const struct cat_scope *cnt = fk_names(ch, k, c->tsc)
						      ? cat_fk_counts(cat, ch, k) : NULL;
			int rc;

			if (!cnt)
				continue;
			rc = fk_entry(t, pos, TXN_FK_ZERO, cnt->id, c->tsc, key, klen);
			if (rc < 0)
				return rc;
		}
	}
	return 0;
}

static int fk_add_locked(struct aedb_txn *t, uint32_t pos, const struct catalog *cat,
			 const struct cat_scope *tsc)
{
	struct txn_item *it = &t->items[pos];
	int del = it->kind == TXN_ROW_DEL;
	const uint8_t *oval = NULL;
	uint32_t olen = 0, nlen = del ? 0 : it->val_len;
	uint64_t h = 0;
	struct fk_ctx c;
	int rc;

	if (tsc->tdef->nfks)
		txn_ix_old_row(t, pos, tsc, &oval, &olen);
	rc = fk_ctx_init(&c, cat, tsc, olen, nlen, t->db->cfg.max_key_bytes);
	if (rc == 0 && tsc->tdef->nfks)
		rc = fk_decode(&c, oval, olen, del ? NULL : txn_val(t, it), nlen);
	if (rc == 0)
		rc = fk_digest_rows(&c, it->kind, oval != NULL, &h);
	if (rc == 0)
		rc = fk_child(t, pos, &c, oval != NULL, !del);
	if (rc == 0 && del)
		rc = fk_parent(t, pos, &c);
	fk_ctx_free(&c);
	if (rc == 0)
		t->items[pos].version ^= h;
	return rc;
}

int txn_fk_add(struct aedb_txn *t, uint32_t pos)
{
	struct aedb *db = t->db;
	uint32_t nitems = t->nitems, nmut = t->nmut, arena_len = t->arena_len;
	uint64_t log_bytes = t->log_bytes;
	ck_epoch_record_t *rec = api_reader_record(db);
	const struct catalog *cat;
	const struct cat_scope *tsc;
	int rc = 0;

	if (!rec)
		return -ENOMEM;
	api_read_begin(rec);
	cat = api_catalog_any(db);
	tsc = cat_scope_by_id(cat, t->items[pos].ns);
	if (tsc && tsc->tdef &&
	    (tsc->tdef->nfks || (t->items[pos].kind == TXN_ROW_DEL && cat->nfk_tables)))
		rc = fk_add_locked(t, pos, cat, tsc);
	api_read_end(db, rec);
	if (rc < 0) {
		t->nitems = nitems;
		t->nmut = nmut;
		t->arena_len = arena_len;
		t->log_bytes = log_bytes;
	}
	return rc;
}
