/* SPDX-License-Identifier: MIT */
/*
 * Secondary-index maintenance inside transactions (issue 5).
 *
 * When a row entry (TXN_ROW_INS/PUT/DEL) is added, whoever adds it (the
 * aedb_txn_* calls, batches, where-mutations: all go through txn_add_ns),
 * the entries its table's indexes need are added right behind it as entries
 * of their own, in each index's namespace:
 *   - the row's old entry, if it changes: TXN_IDX_DEL;
 *   - its new entry, if it changes: TXN_IDX_SET (non-unique, on the row's
 *     shard) or TXN_IDX_CLAIM (unique, on hash(index id, key)'s shard,
 *     -AEDB_EUNIQUE at commit if another row holds the key).
 * The old row is the one an earlier entry of this transaction left, else
 * the newest stored version. Both may be stale by commit time, so the row
 * entry carries a digest of the entries its old row has (over the table's
 * index set: ids included): at commit the row's shard recomputes it from
 * the row as the transaction sees it (txn_ix_check) and fails the commit
 * with -AEDB_ECONFLICT if it differs (the row's indexed values changed
 * meanwhile, or an index was created or dropped). Everything else is the
 * transaction machinery unchanged: index entries are locked, evaluated,
 * logged, applied and recovered like any key, at the commit's seq, and an
 * entry on another shard makes the commit a cross-shard one.
 */
#include "txn/index.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "api/catalog.h"
#include "api/db.h"
#include "api/idef.h"
#include "api/tdef.h"
#include "shard/kvmap.h"
#include "table/row.h"

struct ix_ctx {
	const struct tv_schema *s;
	struct cat_scope *const *ix;
	uint32_t nix;
	struct tv_value *oldv, *newv;   /* decoded rows (NULL: none) */
	uint8_t *okey, *nkey;           /* scratch, cap bytes each */
	size_t cap;
};

static int ix_ctx_init(struct ix_ctx *c, const struct cat_scope *t, const struct catalog *cat,
		       size_t cap)
{
	memset(c, 0, sizeof(*c));
	c->s = &t->tdef->schema;
	cat_table_indexes(cat, t, &c->ix, &c->nix);
	if (!c->nix)
		return 0;
	c->cap = cap;
	c->oldv = malloc(2 * c->s->ncols * sizeof(*c->oldv));
	c->okey = malloc(2 * cap);
	if (!c->oldv || !c->okey)
		return -ENOMEM;
	c->newv = c->oldv + c->s->ncols;
	c->nkey = c->okey + cap;
	return 0;
}

static void ix_ctx_free(struct ix_ctx *c)
{
	free(c->oldv);
	free(c->okey);
}

/* Digest step for index @x given the old row's entry (or none). */
static uint64_t ix_fold(uint64_t h, const struct cat_scope *x, int has, const uint8_t *key,
			size_t len)
{
	uint64_t seed = h ^ ((uint64_t)x->id << 1) ^ (uint64_t)has;

	return XXH3_64bits_withSeed(has ? key : (const uint8_t *)"", has ? len : 0, seed);
}

static uint64_t ix_digest_done(uint64_t h)
{
	return h ? h : 1; /* 0 means "no indexes" */
}

/* The old row @val (may be NULL) of a row entry: its digest. */
static int ix_digest(struct ix_ctx *c, const uint8_t *pk, size_t pk_len, const uint8_t *val,
		     uint32_t len, uint64_t *out)
{
	uint64_t h = 0;
	int rc = 0;

	if (val)
		rc = tv_row_decode(c->s, val, len, c->oldv);
	for (uint32_t i = 0; rc >= 0 && i < c->nix; i++) {
		size_t klen = 0;

		rc = val ? cat_idef_key(c->ix[i]->idef, c->oldv, pk, pk_len, c->okey, c->cap, &klen)
			 : 0;
		if (rc >= 0)
			h = ix_fold(h, c->ix[i], rc, c->okey, klen);
	}
	*out = ix_digest_done(h);
	return rc < 0 ? rc : 0;
}

/* The row state entry @pos sees before it: an earlier row entry of the
 * transaction on the same key, else the newest stored version. */
void txn_ix_old_row(const struct aedb_txn *t, uint32_t pos, const struct cat_scope *tsc,
		    const uint8_t **val, uint32_t *len)
{
	const struct txn_item *it = &t->items[pos];
	const struct kvmap *m;
	const struct kv_version *v;

	*val = NULL;
	*len = 0;
	for (uint32_t i = pos; i-- > 0;) {
		const struct txn_item *o = &t->items[i];

		if (txn_kind_is_row(o->kind) && o->ns == it->ns && o->key_len == it->key_len &&
		    memcmp(txn_key(t, o), txn_key(t, it), it->key_len) == 0) {
			if (o->kind != TXN_ROW_DEL) {
				*val = txn_val(t, o);
				*len = o->val_len;
			}
			return;
		}
	}
	if (it->kind == TXN_ROW_INS)
		return; /* must be absent, or the commit fails anyway */
	m = __atomic_load_n(&tsc->parts[it->shard], __ATOMIC_ACQUIRE);
	v = m ? kvmap_get_any(m, txn_key(t, it), it->key_len, UINT64_MAX) : NULL;
	if (v) {
		*val = v->data;
		*len = v->len;
	}
}

/* Add one index entry for row entry @pos (index @x, key @key). */
static int ix_entry(struct aedb_txn *t, uint32_t pos, const struct cat_scope *x, uint8_t kind,
		    const uint8_t *key, size_t len)
{
	uint32_t row_shard = t->items[pos].shard, row_index = t->items[pos].index;
	struct txn_item *it;
	uint8_t *pk;
	int rc;

	/* The value is the PK, copied out of the arena: adding may move it. */
	pk = malloc(t->items[pos].key_len + 1);
	if (!pk)
		return -ENOMEM;
	memcpy(pk, txn_key(t, &t->items[pos]), t->items[pos].key_len);
	rc = txn_add_ns(t, kind, x->id, key, len, kind == TXN_IDX_DEL ? NULL : pk,
			kind == TXN_IDX_DEL ? 0 : t->items[pos].key_len, &it);
	free(pk);
	if (rc < 0)
		return rc;
	it->index = row_index;
	if (!x->idef->unique)
		it->shard = row_shard; /* local to the row (DESIGN §3) */
	return 0;
}

/* The entries of every index for row entry @pos. */
static int ix_entries(struct aedb_txn *t, uint32_t pos, struct ix_ctx *c, const uint8_t *oval,
		      uint32_t olen, uint64_t *digest)
{
	const struct txn_item *it = &t->items[pos];
	uint32_t nlen = it->kind != TXN_ROW_DEL ? it->val_len : 0;
	/* Decoded values point into the rows, and adding entries may move
	 * the arena (where both may live): decode private copies. */
	uint8_t *rows = malloc((size_t)olen + nlen + 1);
	uint64_t h = 0;
	int rc = rows ? 0 : -ENOMEM;

	if (rc == 0 && oval) {
		memcpy(rows, oval, olen);
		rc = tv_row_decode(c->s, rows, olen, c->oldv);
	}
	if (rc == 0 && it->kind != TXN_ROW_DEL) {
		memcpy(rows + olen, txn_val(t, it), nlen);
		rc = tv_row_decode(c->s, rows + olen, nlen, c->newv);
	}
	for (uint32_t i = 0; rc >= 0 && i < c->nix; i++) {
		const struct cat_scope *x = c->ix[i];
		size_t ol = 0, nl = 0, pl = t->items[pos].key_len;
		/* The PK is re-read each time: entries move the arena. */
		int ho = oval ? cat_idef_key(x->idef, c->oldv, txn_key(t, &t->items[pos]), pl,
					     c->okey, c->cap, &ol) : 0;
		int hn = t->items[pos].kind != TXN_ROW_DEL
			 ? cat_idef_key(x->idef, c->newv, txn_key(t, &t->items[pos]), pl,
					c->nkey, c->cap, &nl) : 0;

		if (ho < 0 || hn < 0) {
			rc = ho < 0 ? ho : hn;
			break;
		}
		h = ix_fold(h, x, ho, c->okey, ol);
		if (ho && hn && ol == nl && memcmp(c->okey, c->nkey, ol) == 0)
			continue; /* unchanged */
		if (ho)
			rc = ix_entry(t, pos, x, TXN_IDX_DEL, c->okey, ol);
		if (rc == 0 && hn)
			rc = ix_entry(t, pos, x, x->idef->unique ? TXN_IDX_CLAIM : TXN_IDX_SET,
				      c->nkey, nl);
	}
	free(rows);
	*digest = ix_digest_done(h);
	return rc;
}

/* A row value written for another definition of its table than @tsc's
 * (an ALTER TABLE came between): its tag byte (table/row.h) differs. */
static int ix_stale_row(const struct aedb_txn *t, const struct txn_item *it,
			const struct cat_scope *tsc)
{
	return it->kind != TXN_ROW_DEL && it->val_len >= 2 &&
	       txn_val(t, it)[1] != tsc->tdef->schema.rowtag;
}

int txn_ix_add(struct aedb_txn *t, uint32_t pos)
{
	struct aedb *db = t->db;
	uint32_t nitems = t->nitems, nmut = t->nmut, arena_len = t->arena_len;
	uint64_t log_bytes = t->log_bytes, digest = 0;
	ck_epoch_record_t *rec = api_reader_record(db);
	const struct cat_scope *tsc;
	const uint8_t *oval;
	uint32_t olen;
	struct ix_ctx c;
	int rc;

	if (!rec)
		return -ENOMEM;
	api_read_begin(rec);
	tsc = cat_scope_by_id(api_catalog_any(db), t->items[pos].ns);
	if (tsc && tsc->tdef && ix_stale_row(t, &t->items[pos], tsc)) {
		api_read_end(db, rec);
		return -AEDB_ECONFLICT;
	}
	if (!tsc || !tsc->tdef || !__atomic_load_n(&tsc->ixever, __ATOMIC_ACQUIRE)) {
		api_read_end(db, rec);
		t->items[pos].version = 0;
		return 0; /* never indexed (or gone: the commit says so) */
	}
	rc = ix_ctx_init(&c, tsc, api_catalog_any(db), db->cfg.max_key_bytes);
	if (rc == 0 && c.nix) {
		txn_ix_old_row(t, pos, tsc, &oval, &olen);
		rc = ix_entries(t, pos, &c, oval, olen, &digest);
	}
	api_read_end(db, rec);
	ix_ctx_free(&c);
	if (rc < 0) {
		t->nitems = nitems;
		t->nmut = nmut;
		t->arena_len = arena_len;
		t->log_bytes = log_bytes;
		return rc == -ENOMEM ? rc : rc == -AEDB_ETOOBIG ? rc : -AEDB_ECORRUPT;
	}
	t->items[pos].version = digest;
	return 0;
}

int txn_ix_check(const struct aedb_txn *t, const struct catalog *cat, const struct txn_item *it,
		 const struct txn_cur *cur, size_t key_cap)
{
	const struct cat_scope *tsc = cat_scope_by_id(cat, it->ns);
	uint64_t digest = 0, want = it->version, fkd = 0;
	struct ix_ctx c;
	int rc;

	if (!tsc || !tsc->tdef)
		return 0; /* the namespace check reports it */
	if (ix_stale_row(t, it, tsc))
		return -AEDB_ECONFLICT;
	/* The foreign keys' part of the digest (txn/fk.c), folded in by xor. */
	rc = txn_fk_digest(cat, tsc, it->kind, cur->present ? cur->val : NULL, cur->len, key_cap,
			   &fkd);
	if (rc < 0)
		return rc == -ENOMEM ? rc : -AEDB_ECONFLICT;
	want ^= fkd;
	if (want == 0 && !__atomic_load_n(&tsc->ixever, __ATOMIC_ACQUIRE))
		return 0;
	rc = ix_ctx_init(&c, tsc, cat, key_cap);
	if (rc == 0 && c.nix)
		rc = ix_digest(&c, txn_key(t, it), it->key_len, cur->present ? cur->val : NULL,
			       cur->len, &digest);
	ix_ctx_free(&c);
	if (rc == -ENOMEM)
		return rc;
	/* A damaged or too long old row cannot match what was added. */
	return rc == 0 && digest == want ? 0 : -AEDB_ECONFLICT;
}
