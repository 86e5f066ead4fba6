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
 * ON DELETE CASCADE / SET NULL / SET DEFAULT (fk_parent): before the zero
 * checks, the child rows naming the deleted key, as the transaction sees
 * them, get their delete or rewritten row added through txn_add_ns (so
 * their own index, foreign-key and action entries follow, recursively),
 * each guarded by the version read (-AEDB_ECONFLICT at commit if the row
 * changed). Entries are evaluated in order, so the zero check behind them
 * sees their decrements; a child that appeared meanwhile leaves the count
 * above zero, which for a key with an action is -AEDB_ECONFLICT (build
 * again) rather than -AEDB_EFOREIGN. docs/TABLES.md has the whole design.
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
#include "api/idef.h"
#include "api/tdef.h"
#include "api/tcheck.h"
#include "api/tfk.h"
#include "core/hash.h"
#include "shard/kvmap.h"
#include "table/keyenc.h"
#include "table/row.h"
#include "txn/index.h"
#include "txn/row.h"
#include "txn/txn.h"

/* Levels of ON DELETE actions one row delete may set off (a child's
 * cascade deleting grandchildren is two): beyond, -AEDB_ETOOBIG. */
#define TXN_FK_DEPTH_MAX 16u

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
 * shard of parent table @parent's row @key; @op its txn_item.op. */
static int fk_entry_op(struct aedb_txn *t, uint32_t pos, uint8_t kind, uint32_t ns,
		       const struct cat_scope *parent, const uint8_t *key, size_t len, uint8_t op)
{
	uint32_t row_index = t->items[pos].index;
	struct txn_item *it;
	int rc = txn_add_ns(t, kind, ns, key, len, NULL, 0, &it);

	if (rc < 0)
		return rc;
	it->index = row_index;
	it->op = op;
	it->shard = core_kv_shard(parent->id, key, (uint32_t)len, t->db->nshards);
	return 0;
}

static int fk_entry(struct aedb_txn *t, uint32_t pos, uint8_t kind, uint32_t ns,
		    const struct cat_scope *parent, const uint8_t *key, size_t len)
{
	return fk_entry_op(t, pos, kind, ns, parent, key, len, 0);
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

/* ---- ON DELETE actions: CASCADE, SET NULL, SET DEFAULT ---- */

/* A child row an action applies to, copied out of the map or the arena
 * (both move on while entries are added). */
struct fk_hit {
	uint8_t *key;            /* key_len bytes, then val_len bytes of row */
	uint32_t key_len, val_len;
	uint64_t seq;            /* the stored version read (if stored) */
	int stored;              /* 0: the row of an entry of this transaction */
};

struct fk_hits {
	struct fk_hit *v;
	uint32_t n, cap;
};

static void fk_hits_free(struct fk_hits *h)
{
	for (uint32_t i = 0; i < h->n; i++)
		free(h->v[i].key);
	free(h->v);
	memset(h, 0, sizeof(*h));
}

static int fk_hit_add(struct fk_hits *h, const uint8_t *key, uint32_t klen, const uint8_t *val,
		      uint32_t vlen, int stored, uint64_t seq)
{
	struct fk_hit *x;

	if (h->n == h->cap) {
		uint32_t cap = h->cap ? 2 * h->cap : 8;
		struct fk_hit *v = realloc(h->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		h->v = v;
		h->cap = cap;
	}
	x = &h->v[h->n];
	x->key = malloc((size_t)klen + vlen + 1);
	if (!x->key)
		return -ENOMEM;
	memcpy(x->key, key, klen);
	memcpy(x->key + klen, val, vlen);
	x->key_len = klen;
	x->val_len = vlen;
	x->seq = seq;
	x->stored = stored;
	h->n++;
	return 0;
}

/* The newest row entry of @t on @ns/@key (its position), or -1. */
static long fk_txn_row(const struct aedb_txn *t, uint32_t ns, const uint8_t *key, uint32_t len)
{
	for (uint32_t i = t->nitems; i-- > 0;) {
		const struct txn_item *o = &t->items[i];

		if (txn_kind_is_row(o->kind) && o->ns == ns && o->key_len == len &&
		    memcmp(txn_key(t, o), key, len) == 0)
			return (long)i;
	}
	return -1;
}

/* Does row @val (of child table @ch) name parent key @pkey through foreign
 * key @fk? 1, 0, or -AEDB_ECORRUPT (-AEDB_ECONFLICT for @own: a row of
 * this transaction encoded for another definition). */
static int fk_row_names(const struct cat_scope *ch, const struct cat_fk *fk, struct tv_value *vals,
			const uint8_t *val, uint32_t len, const uint8_t *pkey, size_t plen,
			uint8_t *scratch, size_t cap, int own)
{
	long kl;

	if (tv_row_decode(&ch->tdef->schema, val, len, vals) < 0)
		return own ? -AEDB_ECONFLICT : -AEDB_ECORRUPT;
	kl = fk_key(fk, vals, scratch, cap);
	if (kl < 0)
		return -AEDB_ECORRUPT;
	return (size_t)kl == plen && memcmp(scratch, pkey, plen) == 0;
}

/* An index of child table @ch whose leading columns are @fk's, in @fk's
 * order, over every row (not partial), or NULL. A leftmost prefix of
 * columns encodes to a byte prefix (table/keyenc.h), so the entries of the
 * child rows naming a parent key are those starting with that key. */
static const struct cat_scope *fk_index(const struct catalog *cat, const struct cat_scope *ch,
					const struct cat_fk *fk)
{
	struct cat_scope *const *ix;
	uint32_t n;

	cat_table_indexes(cat, ch, &ix, &n);
	for (uint32_t i = 0; i < n; i++) {
		const struct cat_idef *x = ix[i]->idef;
		uint32_t j = 0;

		if (!x || x->bound || x->partial || x->ncols < fk->ncols)
			continue;
		while (j < fk->ncols && x->cols[j] == fk->cols[j])
			j++;
		if (j == fk->ncols)
			return ix[i];
	}
	return NULL;
}

/* Stored child row @key at version @v: a hit if it names @pkey and this
 * transaction has not written it (its entry decides then: fk_find). */
static int fk_stored(const struct aedb_txn *t, const struct cat_scope *ch,
		     const struct cat_fk *fk, struct tv_value *vals, const uint8_t *key,
		     uint32_t klen, const struct kv_version *v, const uint8_t *pkey, size_t plen,
		     uint8_t *scratch, size_t cap, struct fk_hits *out)
{
	int rc = fk_row_names(ch, fk, vals, v->data, v->len, pkey, plen, scratch, cap, 0);

	if (rc == 1 && fk_txn_row(t, ch->id, key, klen) < 0)
		return fk_hit_add(out, key, klen, v->data, v->len, 1, v->seq);
	return rc < 0 ? rc : 0;
}

/* Child row @pk (by its index entry): fk_stored of its newest version. */
static int fk_find_pk(const struct aedb_txn *t, const struct cat_scope *ch,
		      const struct cat_fk *fk, struct tv_value *vals, const uint8_t *pk,
		      uint32_t len, const uint8_t *pkey, size_t plen, uint8_t *scratch, size_t cap,
		      struct fk_hits *out)
{
	uint32_t sh = core_kv_shard(ch->id, pk, len, t->db->nshards);
	const struct kvmap *m = __atomic_load_n(&ch->parts[sh], __ATOMIC_ACQUIRE);
	const struct kv_version *v = m ? kvmap_get_any(m, pk, len, UINT64_MAX) : NULL;

	if (!v)
		return 0; /* a stale entry: the zero check has the last word */
	return fk_stored(t, ch, fk, vals, pk, len, v, pkey, plen, scratch, cap, out);
}

/* fk_find through index @x: the entries starting with @pkey, on every
 * shard (unique entries live on their key's shard, others on their row's). */
static int fk_find_ix(const struct aedb_txn *t, const struct cat_scope *ch,
		      const struct cat_fk *fk, const struct cat_scope *x, struct tv_value *vals,
		      const uint8_t *pkey, size_t plen, uint8_t *scratch, size_t cap,
		      struct fk_hits *out)
{
	int rc = 0;

	for (uint32_t sh = 0; rc == 0 && sh < t->db->nshards; sh++) {
		const struct kvmap *m = __atomic_load_n(&x->parts[sh], __ATOMIC_ACQUIRE);
		struct kvmap_iter it;

		if (!m)
			continue;
		for (kvmap_iter_seek_any(&it, m, pkey, (uint32_t)plen, false, UINT64_MAX);
		     rc == 0 && kvmap_iter_valid(&it); kvmap_iter_next_any(&it)) {
			uint32_t klen;
			const uint8_t *key = kvmap_iter_key(&it, &klen);

			if (klen < plen || memcmp(key, pkey, plen) != 0)
				break;
			rc = fk_find_pk(t, ch, fk, vals, it.version->data, it.version->len, pkey,
					plen, scratch, cap, out);
		}
	}
	return rc;
}

/*
 * The rows of child table @ch that name parent key @pkey through its
 * foreign key @fk, as this transaction sees them: the newest stored
 * version of every such row on every shard (read lock-free, inside the
 * caller's epoch section), unless an entry of the transaction wrote the
 * row, then that entry's row. Through an index on the child columns if
 * there is one (fk_index), else by a scan of the whole table. Either may
 * miss a row a commit is applying just now, or see an entry of a row that
 * is changing: every row found is checked against its values here and
 * guarded by its version at commit, and a row missed keeps the parent's
 * count above zero at commit (-AEDB_ECONFLICT), so neither is trusted.
 */
static int fk_find(const struct aedb_txn *t, const struct catalog *cat,
		   const struct cat_scope *ch, const struct cat_fk *fk, const uint8_t *pkey,
		   size_t plen, size_t cap, struct fk_hits *out)
{
	struct tv_value *vals = malloc(ch->tdef->schema.ncols * sizeof(*vals));
	uint8_t *scratch = malloc(cap + 1);
	const struct cat_scope *x = fk_index(cat, ch, fk);
	int rc = vals && scratch ? 0 : -ENOMEM;

	if (rc == 0 && x)
		rc = fk_find_ix(t, ch, fk, x, vals, pkey, plen, scratch, cap, out);
	for (uint32_t sh = 0; rc == 0 && !x && sh < t->db->nshards; sh++) {
		const struct kvmap *m = __atomic_load_n(&ch->parts[sh], __ATOMIC_ACQUIRE);
		struct kvmap_iter it;

		if (!m)
			continue;
		for (kvmap_iter_seek_any(&it, m, NULL, 0, false, UINT64_MAX);
		     rc == 0 && kvmap_iter_valid(&it); kvmap_iter_next_any(&it)) {
			uint32_t klen;
			const uint8_t *key = kvmap_iter_key(&it, &klen);

			rc = fk_stored(t, ch, fk, vals, key, klen, it.version, pkey, plen, scratch,
				       cap, out);
		}
	}
	for (uint32_t i = 0; rc == 0 && i < t->nitems; i++) {
		const struct txn_item *o = &t->items[i];

		if (!txn_kind_is_row(o->kind) || o->kind == TXN_ROW_DEL || o->ns != ch->id ||
		    fk_txn_row(t, o->ns, txn_key(t, o), o->key_len) != (long)i)
			continue;
		rc = fk_row_names(ch, fk, vals, txn_val(t, o), o->val_len, pkey, plen, scratch,
				  cap, 1);
		if (rc == 1)
			rc = fk_hit_add(out, txn_key(t, o), o->key_len, txn_val(t, o), o->val_len,
					0, 0);
	}
	free(vals);
	free(scratch);
	return rc;
}

/* SET NULL / SET DEFAULT: child row @h with @fk's columns rewritten, checked
 * as any write (defaults filled, NOT NULL, checks), into a new buffer. */
static int fk_rewrite(const struct cat_scope *ch, const struct cat_fk *fk, const struct fk_hit *h,
		      uint8_t **out, size_t *out_len)
{
	const struct tv_schema *s = &ch->tdef->schema;
	struct tv_value *v = malloc(s->ncols * sizeof(*v));
	size_t size = 0;
	int rc = v ? 0 : -ENOMEM;

	*out = NULL;
	if (rc == 0 && tv_row_decode(s, h->key + h->key_len, h->val_len, v) < 0)
		rc = h->stored ? -AEDB_ECORRUPT : -AEDB_ECONFLICT;
	for (uint32_t i = 0; rc == 0 && i < fk->ncols; i++) {
		struct tv_value *x = &v[fk->cols[i]];

		/* No default: NULL. A NULL in a column with a default becomes
		 * the default in any write (tv_schema_row_check), SET NULL
		 * included. */
		if (fk->on_delete == AEDB_FK_SET_DEFAULT) {
			*x = s->cols[fk->cols[i]].def;
		} else {
			memset(x, 0, sizeof(*x));
			x->type = TV_NULL;
		}
	}
	if (rc == 0)
		rc = txn_row_error(tv_schema_row_check(s, v, s->ncols, NULL));
	if (rc == 0)
		rc = cat_checks_eval(s, v, NULL);
	if (rc == 0)
		rc = txn_row_error(tv_row_size(s, v, &size, NULL));
	if (rc == 0 && !(*out = malloc(size + 1)))
		rc = -ENOMEM;
	if (rc == 0)
		rc = txn_row_error(tv_row_encode(s, v, *out, size, out_len, NULL));
	free(v);
	if (rc < 0) {
		free(*out);
		*out = NULL;
	}
	return rc;
}

/* The action of @fk on child row @h: its delete or its rewrite, added like
 * any row entry (so its own indexes, foreign keys and actions follow),
 * guarded by the version read. */
static int fk_act(struct aedb_txn *t, const struct cat_scope *ch, const struct cat_fk *fk,
		  const struct fk_hit *h)
{
	struct txn_item *it = NULL;
	uint8_t *nval = NULL;
	size_t nlen = 0;
	int rc = 0;

	if (fk->on_delete != AEDB_FK_CASCADE)
		rc = fk_rewrite(ch, fk, h, &nval, &nlen);
	if (rc == 0)
		rc = txn_add_ns(t, fk->on_delete == AEDB_FK_CASCADE ? TXN_ROW_DEL : TXN_ROW_PUT,
				ch->id, h->key, h->key_len, nval, nlen, &it);
	free(nval);
	if (rc < 0)
		return rc;
	if (h->stored) {
		it->op = TXN_OP_GUARD;
		memcpy(it->operand, &h->seq, sizeof(h->seq));
	}
	return 0;
}

/* Foreign key @k of child table @ch names the deleted row @key of the
 * table: apply its action to every child row naming it. */
static int fk_actions(struct aedb_txn *t, struct fk_ctx *c, const struct cat_scope *ch,
		      uint32_t k, const uint8_t *key, size_t klen)
{
	const struct cat_fk *fk = &ch->tdef->fks[k];
	struct fk_hits hits = { 0 };
	int rc = fk_find(t, c->cat, ch, fk, key, klen, c->cap, &hits);

	if (rc == 0 && hits.n && t->fk_depth >= TXN_FK_DEPTH_MAX)
		rc = -AEDB_ETOOBIG; /* a chain of actions too deep */
	t->fk_depth++;
	for (uint32_t i = 0; rc == 0 && i < hits.n; i++)
		rc = fk_act(t, ch, fk, &hits.v[i]);
	t->fk_depth--;
	fk_hits_free(&hits);
	return rc;
}

static int fk_has_action(const struct cat_fk *fk)
{
	return fk->on_delete != AEDB_FK_RESTRICT && fk->on_delete != AEDB_FK_NO_ACTION;
}

/*
 * Parent side: the ON DELETE actions of every foreign key naming the
 * deleted row's table first, then, behind every entry they added, a deleted
 * row must not be named by any child row. Mutations are evaluated in entry
 * order (shard/txn.c), so the zero check on the count sees the decrements
 * of the children deleted or rewritten; a child that appeared since (a
 * concurrent insert) leaves it above zero: -AEDB_ECONFLICT for a foreign
 * key with an action (build again: the action then covers it), else
 * -AEDB_EFOREIGN.
 */
static int fk_parent(struct aedb_txn *t, uint32_t pos, struct fk_ctx *c)
{
	const struct catalog *cat = c->cat;
	uint32_t klen = t->items[pos].key_len, depth = t->fk_depth, index = t->fk_index;
	uint8_t *key = c->okey;   /* the PK; fits: it is at most max_key_bytes */
	int rc = 0;

	memcpy(key, txn_key(t, &t->items[pos]), klen);
	if (!depth)
		t->fk_index = t->items[pos].index;
	for (uint32_t i = 0; rc == 0 && i < cat->nscopes; i++) {
		const struct cat_scope *ch = cat->scopes[i];

		for (uint32_t k = 0; rc == 0 && ch->tdef && k < ch->tdef->nfks; k++)
			if (fk_names(ch, k, c->tsc) && fk_has_action(&ch->tdef->fks[k]))
				rc = fk_actions(t, c, ch, k, key, klen);
	}
	t->fk_depth = depth;
	t->fk_index = index;
	for (uint32_t i = 0; rc == 0 && i < cat->nscopes; i++) {
		const struct cat_scope *ch = cat->scopes[i];

		for (uint32_t k = 0; rc == 0 && ch->tdef && k < ch->tdef->nfks; k++) {
			const struct cat_scope *cnt = fk_names(ch, k, c->tsc)
						      ? cat_fk_counts(cat, ch, k) : NULL;

			if (cnt)
				rc = fk_entry_op(t, pos, TXN_FK_ZERO, cnt->id, c->tsc, key, klen,
						 fk_has_action(&ch->tdef->fks[k]) ? TXN_OP_RETRY
										  : 0);
		}
	}
	return rc;
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
