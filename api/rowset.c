/* SPDX-License-Identifier: MIT */
/*
 * Column assignments (struct aedb_set), row batches and upsert on conflict
 * (issue 5; api/mutate.h). A batch is one transaction of ordinary row
 * entries. An upsert on conflict reads every proposed key at one snapshot,
 * then commits an insert for an absent key (a concurrent insert makes it
 * fail with -AEDB_EEXIST) or, for a present one, the resolved row with a
 * guard on the version it read; either failure starts it over.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "api/catalog.h"
#include "api/db.h"
#include "api/idef.h"
#include "api/kv.h"
#include "api/mutate.h"
#include "api/tdef.h"
#include "core/assert.h"
#include "shard/kvmap.h"
#include "table/row.h"
#include "txn/row.h"
#include "txn/txn.h"

/* ---- assignments ---------------------------------------------------- */

static bool api_set_addable(uint8_t type)
{
	return type == TV_U8 || type == TV_U64 || type == TV_INTEGER || type == TV_TIMESTAMP ||
	       type == TV_FLOAT;
}

/* May @v be the operand of ADD on a column of @type? */
static bool api_set_delta_ok(uint8_t type, const struct tv_value *v)
{
	if (v->type == TV_NULL || v->type == type)
		return true;
	return v->type == TV_INTEGER && type != TV_FLOAT;
}

static int api_set_name(const struct tv_schema *s, const char *name, uint32_t *out)
{
	int c;

	if (!name)
		return -AEDB_EMISUSE;
	c = tv_schema_find(s, name);
	if (c < 0)
		return -AEDB_ENOCOLUMN;
	*out = (uint32_t)c;
	return 0;
}

static int api_set_one(const struct tv_schema *s, const struct aedb_set *in, bool proposed,
		       struct api_set *out)
{
	uint8_t type;
	int rc;

	if (in->pad || in->op < AEDB_SET_VALUE || in->op > AEDB_SET_COALESCE)
		return -AEDB_EINVAL;
	if (!proposed && (in->op == AEDB_SET_PROPOSED || in->op == AEDB_SET_ADD_PROPOSED))
		return -AEDB_EINVAL;
	rc = api_set_name(s, in->col, &out->col);
	if (rc == 0)
		rc = api_set_name(s, in->src ? in->src : in->col, &out->src);
	if (rc < 0)
		return rc;
	for (uint32_t k = 0; k < s->npk; k++)
		if (s->pk[k] == out->col)
			return -AEDB_EINVAL;
	type = s->cols[out->col].type;
	if (s->cols[out->src].type != type)
		return -AEDB_ETYPE;
	out->op = (uint8_t)in->op;
	memcpy(&out->value, &in->value, sizeof(out->value));
	memset(out->value.reserved, 0, sizeof(out->value.reserved));
	if (out->value.type == TV_FLOAT)
		out->value.u.f64 = tv_f64_canon(out->value.u.f64);
	if (in->op == AEDB_SET_EXISTING || in->op == AEDB_SET_PROPOSED)
		return 0;
	if ((in->op == AEDB_SET_ADD || in->op == AEDB_SET_ADD_PROPOSED) && !api_set_addable(type))
		return -AEDB_ETYPE;
	if (in->op == AEDB_SET_ADD_PROPOSED)
		return 0;
	if (in->op == AEDB_SET_ADD ? !api_set_delta_ok(type, &out->value)
				   : out->value.type != TV_NULL && out->value.type != type)
		return -AEDB_ETYPE;
	if (tv_type_is_var(out->value.type) && out->value.len && !out->value.u.bytes)
		return -AEDB_EMISUSE;
	rc = out->value.type == TV_NULL ? 0 : tv_value_check(&out->value);
	return rc < 0 ? txn_row_error(rc) : 0;
}

int api_sets_resolve(const struct tv_schema *s, const struct aedb_set *in, uint32_t n,
		     bool proposed, struct api_set *out)
{
	AEDB_ASSERT(s->checked);
	if (n && !in)
		return -AEDB_EMISUSE;
	for (uint32_t i = 0; i < n; i++) {
		int rc = api_set_one(s, &in[i], proposed, &out[i]);

		if (rc < 0)
			return rc;
		for (uint32_t j = 0; j < i; j++)
			if (out[j].col == out[i].col)
				return -AEDB_EINVAL;
	}
	return 0;
}

/* @a + @d for an integer-kind column of @type (d: its type or integer). */
static int api_set_add_int(uint8_t type, const struct tv_value *a, const struct tv_value *d,
			   struct tv_value *out)
{
	int64_t x, dv, r;

	if (type == TV_U64) {
		uint64_t u = a->u.u64, ur;

		if (d->type == TV_U64 || d->u.i64 >= 0) {
			uint64_t add = d->type == TV_U64 ? d->u.u64 : (uint64_t)d->u.i64;

			if (__builtin_add_overflow(u, add, &ur))
				return -AEDB_EOVERFLOW;
		} else {
			uint64_t sub = (uint64_t)0 - (uint64_t)d->u.i64;

			if (sub > u)
				return -AEDB_EUNDERFLOW;
			ur = u - sub;
		}
		out->u.u64 = ur;
		return 0;
	}
	x = type == TV_U8 ? (int64_t)a->u.u8 : a->u.i64;
	dv = d->type == TV_U8 ? (int64_t)d->u.u8 : d->u.i64;
	if (__builtin_add_overflow(x, dv, &r))
		return dv > 0 ? -AEDB_EOVERFLOW : -AEDB_EUNDERFLOW;
	if (type == TV_U8) {
		if (r < 0 || r > 255)
			return r < 0 ? -AEDB_EUNDERFLOW : -AEDB_EOVERFLOW;
		out->u.u8 = (uint8_t)r;
		return 0;
	}
	out->u.i64 = r;
	return 0;
}

static int api_set_add(uint8_t type, const struct tv_value *a, const struct tv_value *d,
		       struct tv_value *out)
{
	*out = tv_null();
	if (a->type == TV_NULL || d->type == TV_NULL)
		return 0;
	out->type = type;
	if (type == TV_FLOAT) {
		out->u.f64 = tv_f64_canon(a->u.f64 + d->u.f64);
		return 0;
	}
	return api_set_add_int(type, a, d, out);
}

int api_sets_apply(const struct tv_schema *s, const struct api_set *sets, uint32_t n,
		   const struct tv_value *old, const struct tv_value *prop,
		   struct tv_value *out)
{
	memcpy(out, old, s->ncols * sizeof(*out));
	for (uint32_t i = 0; i < n; i++) {
		const struct api_set *a = &sets[i];
		uint8_t type = s->cols[a->col].type;
		int rc = 0;

		switch (a->op) {
		case AEDB_SET_VALUE:
			out[a->col] = a->value;
			break;
		case AEDB_SET_EXISTING:
			out[a->col] = old[a->src];
			break;
		case AEDB_SET_PROPOSED:
			AEDB_ASSERT(prop != NULL);
			out[a->col] = prop[a->src];
			break;
		case AEDB_SET_ADD:
			rc = api_set_add(type, &old[a->col], &a->value, &out[a->col]);
			break;
		case AEDB_SET_ADD_PROPOSED:
			AEDB_ASSERT(prop != NULL);
			rc = api_set_add(type, &old[a->col], &prop[a->src], &out[a->col]);
			break;
		default: /* AEDB_SET_COALESCE */
			out[a->col] = old[a->col].type != TV_NULL ? old[a->col] : a->value;
			break;
		}
		if (rc < 0)
			return rc;
	}
	return 0;
}

int api_guard_add(struct aedb_txn *t, uint32_t ns, const uint8_t *key, size_t key_len,
		  uint64_t version)
{
	struct txn_item *it;
	int rc = txn_add_ns(t, TXN_A_VERSION, ns, key, key_len, NULL, 0, &it);

	if (rc >= 0)
		it->version = version;
	return rc;
}

/* ---- batches --------------------------------------------------------- */

/* Add @nrows rows as @kind entries; on failure the builder is as before. */
static int api_batch_add(struct aedb_txn *t, uint8_t kind, const char *project,
			 const char *scope, const char *table, const struct aedb_value *rows,
			 uint32_t nrows, uint32_t ncols)
{
	uint32_t nitems, nmut, arena_len;
	uint64_t log_bytes;
	ck_epoch_record_t *rec;
	struct cat_scope *sc;
	int rc, first = -1;

	if (!t || !project || !scope || !table || (!rows && nrows))
		return -AEDB_EMISUSE;
	if (nrows > AEDB_TXN_MAX_ENTRIES)
		return -AEDB_ETOOBIG;
	nitems = t->nitems;
	nmut = t->nmut;
	arena_len = t->arena_len;
	log_bytes = t->log_bytes;
	rec = api_reader_record(t->db);
	if (!rec)
		return -ENOMEM;
	api_read_begin(rec);
	rc = api_resolve_table(t->db, project, scope, table, &sc);
	if (rc == 0 && ncols != sc->tdef->schema.ncols)
		rc = -AEDB_EINVAL;
	for (uint32_t i = 0; rc >= 0 && i < nrows; i++) {
		uint8_t *key = NULL, *val = NULL;
		size_t klen = 0, vlen = 0;
		struct txn_item *it;

		rc = txn_row_encode(&sc->tdef->schema, rows + (size_t)i * ncols, ncols, &key,
				    &klen, &val, &vlen);
		if (rc == 0)
			rc = txn_add_ns(t, kind, sc->id, key, klen, val, vlen, &it);
		if (rc >= 0 && first < 0)
			first = rc;
		free(key);
	}
	api_read_end(t->db, rec);
	if (rc < 0) {
		t->nitems = nitems;
		t->nmut = nmut;
		t->arena_len = arena_len;
		t->log_bytes = log_bytes;
		return rc;
	}
	return first < 0 ? (int)t->nmut : first;
}

AEDB_API int aedb_txn_insert_batch(struct aedb_txn *txn, const char *project,
				   const char *scope, const char *table,
				   const struct aedb_value *rows, uint32_t nrows, uint32_t ncols)
{
	return api_batch_add(txn, TXN_ROW_INS, project, scope, table, rows, nrows, ncols);
}

AEDB_API int aedb_txn_upsert_batch(struct aedb_txn *txn, const char *project,
				   const char *scope, const char *table,
				   const struct aedb_value *rows, uint32_t nrows, uint32_t ncols)
{
	return api_batch_add(txn, TXN_ROW_PUT, project, scope, table, rows, nrows, ncols);
}

static int api_batch_commit(struct aedb *db, uint8_t kind, const char *project,
			    const char *scope, const char *table,
			    const struct aedb_value *rows, uint32_t nrows, uint32_t ncols,
			    uint32_t finality, struct aedb_commit_result *res)
{
	struct aedb_txn *t;
	int rc = aedb_txn_create(db, &t);

	if (rc < 0)
		return rc;
	rc = aedb_txn_set_finality(t, finality);
	if (rc == 0)
		rc = api_batch_add(t, kind, project, scope, table, rows, nrows, ncols);
	if (rc >= 0)
		rc = aedb_commit(db, t, res);
	aedb_txn_free(t);
	return rc;
}

AEDB_API int aedb_insert_rows(struct aedb *db, const char *project, const char *scope,
			      const char *table, const struct aedb_value *rows, uint32_t nrows,
			      uint32_t ncols, uint32_t finality, struct aedb_commit_result *res)
{
	return api_batch_commit(db, TXN_ROW_INS, project, scope, table, rows, nrows, ncols,
				finality, res);
}

AEDB_API int aedb_upsert_rows(struct aedb *db, const char *project, const char *scope,
			      const char *table, const struct aedb_value *rows, uint32_t nrows,
			      uint32_t ncols, uint32_t finality, struct aedb_commit_result *res)
{
	return api_batch_commit(db, TXN_ROW_PUT, project, scope, table, rows, nrows, ncols,
				finality, res);
}

/* ---- upsert on conflict ------------------------------------------------ */

static bool api_oc_is_pk(const struct tv_schema *s, uint32_t col)
{
	for (uint32_t k = 0; k < s->npk; k++)
		if (s->pk[k] == col)
			return true;
	return false;
}

/* A proposed row against a unique-index target. */
struct api_oc_tgt {
	uint8_t *key;                        /* its key of the index, or NULL */
	size_t len;
	bool inserted;                       /* planned as an insert */
};

struct api_oc {
	struct aedb *db;
	const struct aedb_value *rows;
	uint32_t nrows, ncols, action, nsets;
	const struct aedb_set *in_sets;
	struct api_set *sets;
	struct tv_value *old, *prop, *out;   /* ncols each */
	uint64_t *hashes;                    /* per row: its target key's hash */
	int count;                           /* rows to be written */
	/* Conflict target a unique index (NULL: the primary key). */
	const char *index;
	struct api_oc_tgt *tgt;              /* per row, with an index target */
	uint64_t *phashes;                   /* per row: an insert's PK lock hash
					      * (api_oc_dup), else 0 */
	bool pk_taken;                       /* a non-conflicting row's PK exists */
};

/* Is the key of row @i (hash @h) the key of an earlier row? The builder
 * holds every earlier key: compare those with the same hash. */
static bool api_oc_dup(const uint64_t *hashes, const struct aedb_txn *t, uint32_t i,
		       uint64_t h, const uint8_t *key, size_t klen)
{
	for (uint32_t j = 0; j < i; j++) {
		if (hashes[j] != h)
			continue;
		for (uint32_t k = 0; k < t->nitems; k++) {
			const struct txn_item *it = &t->items[k];

			if (it->lock_hash == h && it->key_len == klen &&
			    memcmp(txn_key(t, it), key, klen) == 0)
				return true;
		}
	}
	return false;
}

/* The row to write for proposed row @i whose key exists as version @v. */
static int api_oc_resolve(struct api_oc *c, const struct tv_schema *s,
			  const struct kv_version *v, const uint8_t *pval, size_t plen,
			  const struct aedb_value *raw)
{
	int rc = tv_row_decode(s, v->data, v->len, c->old);

	if (rc == 0)
		rc = tv_row_decode(s, pval, plen, c->prop);
	if (rc < 0)
		return rc;
	if (c->action == AEDB_CONFLICT_UPDATE)
		return api_sets_apply(s, c->sets, c->nsets, c->old, c->prop, c->out);
	memcpy(c->out, c->old, s->ncols * sizeof(*c->out));
	for (uint32_t k = 0; k < s->ncols; k++)
		if (raw[k].type != TV_NULL && !api_oc_is_pk(s, k))
			c->out[k] = c->prop[k]; /* the existing row keeps its key */
	return 0;
}

/* Existing row @v (key @key) conflicts with proposed row @i: guard it and,
 * unless NOTHING, write what @action makes of it. */
static int api_oc_update(struct api_oc *c, struct aedb_txn *t, const struct cat_scope *sc,
			 const uint8_t *key, size_t klen, const struct kv_version *v,
			 const uint8_t *pval, size_t plen, const struct aedb_value *raw)
{
	const struct tv_schema *s = &sc->tdef->schema;
	uint8_t *nkey = NULL, *nval = NULL;
	size_t nklen = 0, nvlen = 0;
	struct txn_item *it;
	int rc = api_guard_add(t, sc->id, key, klen, v->seq);

	if (rc < 0 || c->action == AEDB_CONFLICT_NOTHING)
		return rc < 0 ? rc : 0;
	rc = api_oc_resolve(c, s, v, pval, plen, raw);
	if (rc >= 0)
		rc = txn_row_encode(s, (const struct aedb_value *)c->out, c->ncols, &nkey, &nklen,
				    &nval, &nvlen);
	if (rc >= 0) {
		rc = txn_add_ns(t, TXN_ROW_PUT, sc->id, nkey, nklen, nval, nvlen, &it);
		c->count += rc >= 0;
	}
	free(nkey);
	return rc < 0 ? rc : 0;
}

/* Was target key @key (hash @h) proposed by an earlier row? */
static bool api_oc_tdup(const struct api_oc *c, uint32_t i, uint64_t h, const uint8_t *key,
			size_t len)
{
	for (uint32_t j = 0; j < i; j++)
		if (c->tgt[j].key && c->hashes[j] == h && c->tgt[j].len == len &&
		    memcmp(c->tgt[j].key, key, len) == 0)
			return true;
	return false;
}

/*
 * Proposed row @i against unique index @x: its key of @x held by an existing
 * row at the snapshot is a conflict on that row (whatever its primary key);
 * no key (a NULL, outside a partial index) or a free one is an insert.
 */
static int api_oc_row_index(struct api_oc *c, struct aedb_txn *t, const struct cat_scope *sc,
			    const struct cat_scope *x, uint64_t snap, uint32_t i)
{
	const struct tv_schema *s = &sc->tdef->schema;
	const struct aedb_value *raw = c->rows + (size_t)i * c->ncols;
	size_t cap = c->db->cfg.max_key_bytes, klen = 0, vlen = 0, tlen = 0;
	uint8_t *key = NULL, *val = NULL, *tkey = malloc(cap ? cap : 1);
	const struct kv_version *e, *v = NULL;
	struct txn_item *it;
	int rc = tkey ? txn_row_encode(s, raw, c->ncols, &key, &klen, &val, &vlen) : -ENOMEM;

	if (rc == 0)
		rc = tv_row_decode(s, val, vlen, c->prop);
	if (rc == 0)
		rc = cat_idef_key(x->idef, c->prop, key, klen, tkey, cap, &tlen);
	if (rc == 1) {
		c->hashes[i] = XXH3_64bits(tkey, tlen);
		if (api_oc_tdup(c, i, c->hashes[i], tkey, tlen)) {
			rc = c->action == AEDB_CONFLICT_NOTHING ? 0 : -AEDB_EINVAL;
			goto out;
		}
		c->tgt[i] = (struct api_oc_tgt){ tkey, tlen, false };
		tkey = NULL;
		e = api_kv_lookup(c->db, x, c->tgt[i].key, (uint32_t)tlen, snap);
		/* The entry's value is the holder's primary key. */
		v = e ? api_kv_lookup(c->db, sc, e->data, e->len, snap) : NULL;
		if (e && !v) {
			rc = -AEDB_ECONFLICT; /* entry and row disagree: read again */
			goto out;
		}
		if (v) {
			rc = api_oc_update(c, t, sc, e->data, e->len, v, val, vlen, raw);
			goto out;
		}
	}
	if (rc < 0)
		goto out;
	/* No conflict on the target: insert. Its primary key taken is a
	 * conflict outside the target (-AEDB_EEXIST, as PostgreSQL). */
	c->phashes[i] = txn_lock_hash(sc->id, key, (uint32_t)klen);
	if ((klen <= UINT32_MAX && api_kv_lookup(c->db, sc, key, (uint32_t)klen, snap)) ||
	    api_oc_dup(c->phashes, t, i, c->phashes[i], key, klen)) {
		c->pk_taken = true; /* at the read, or by an earlier row */
		rc = -AEDB_EEXIST;
		goto out;
	}
	rc = txn_add_ns(t, TXN_ROW_INS, sc->id, key, klen, val, vlen, &it);
	c->tgt[i].inserted = rc >= 0;
	c->count += rc >= 0;
	rc = rc < 0 ? rc : 0;
out:
	free(tkey);
	free(key);
	return rc;
}

static int api_oc_row(struct api_oc *c, struct aedb_txn *t, const struct cat_scope *sc,
		      uint64_t snap, uint32_t i)
{
	const struct tv_schema *s = &sc->tdef->schema;
	const struct aedb_value *raw = c->rows + (size_t)i * c->ncols;
	uint8_t *key = NULL, *val = NULL;
	size_t klen = 0, vlen = 0;
	const struct kv_version *v;
	struct txn_item *it;
	int rc;

	rc = txn_row_encode(s, raw, c->ncols, &key, &klen, &val, &vlen);
	if (rc < 0)
		return rc;
	c->hashes[i] = txn_lock_hash(sc->id, key, (uint32_t)klen);
	if (api_oc_dup(c->hashes, t, i, c->hashes[i], key, klen)) {
		free(key);
		return c->action == AEDB_CONFLICT_NOTHING ? 0 : -AEDB_EINVAL;
	}
	v = klen <= UINT32_MAX ? api_kv_lookup(c->db, sc, key, (uint32_t)klen, snap) : NULL;
	if (!v) {
		rc = txn_add_ns(t, TXN_ROW_INS, sc->id, key, klen, val, vlen, &it);
		c->count += rc >= 0;
	} else {
		rc = api_oc_update(c, t, sc, key, klen, v, val, vlen, raw);
	}
	free(key);
	return rc < 0 ? rc : 0;
}

/* One attempt's reads, at the latest snapshot: fill @t. */
static int api_oc_build(struct api_oc *c, struct aedb_txn *t, const char *project,
			const char *scope, const char *table)
{
	ck_epoch_record_t *rec = api_reader_record(c->db);
	const struct cat_scope *x = NULL;
	struct cat_scope *sc;
	uint64_t snap = 0;
	int rc;

	if (!rec)
		return -ENOMEM;
	api_read_begin(rec);
	rc = api_resolve_table(c->db, project, scope, table, &sc);
	if (rc == 0)
		rc = api_snapshot(c->db, AEDB_AT_LATEST, 0, &snap);
	/* An ALTER TABLE published but not yet visible: read again. */
	if (rc == 0 && cat_tdef_at(sc->tdef, snap) != sc->tdef)
		rc = -AEDB_ECONFLICT;
	if (rc == 0 && c->ncols != sc->tdef->schema.ncols)
		rc = -AEDB_EINVAL;
	if (rc == 0)
		rc = api_sets_resolve(&sc->tdef->schema, c->in_sets, c->nsets, true, c->sets);
	if (rc == 0 && c->index) {
		x = cat_find_index(api_catalog_any(c->db), project, scope, table, c->index);
		if (!x || !x->idef->unique)
			rc = -AEDB_EINVAL;
		else if (x->created_seq > snap)
			rc = -AEDB_ECONFLICT; /* created, not yet visible: read again */
	}
	for (uint32_t i = 0; rc == 0 && i < c->nrows; i++)
		rc = x ? api_oc_row_index(c, t, sc, x, snap, i) : api_oc_row(c, t, sc, snap, i);
	api_read_end(c->db, rec);
	return rc;
}

/* The last commit failed -AEDB_EUNIQUE: was it on the target (a row took a
 * key this attempt inserted, or the index went: read again) or on another
 * index (final)? The commit checked the newest applied state, which may be
 * ahead of the visible one: look there too (UINT64_MAX). */
static bool api_oc_target_taken(struct api_oc *c, const char *project, const char *scope,
				const char *table)
{
	ck_epoch_record_t *rec = api_reader_record(c->db);
	const struct cat_scope *x;
	bool taken;

	if (!rec)
		return false;
	api_read_begin(rec);
	x = cat_find_index(api_catalog_any(c->db), project, scope, table, c->index);
	taken = !x;
	for (uint32_t i = 0; !taken && i < c->nrows; i++)
		taken = c->tgt[i].inserted && c->tgt[i].key &&
			api_kv_lookup(c->db, x, c->tgt[i].key, (uint32_t)c->tgt[i].len,
				      UINT64_MAX);
	api_read_end(c->db, rec);
	return taken;
}

/* Forget one attempt's target keys. */
static void api_oc_reset(struct api_oc *c)
{
	c->count = 0;
	c->pk_taken = false;
	if (!c->index)
		return;
	for (uint32_t i = 0; i < c->nrows; i++) {
		free(c->tgt[i].key);
		c->tgt[i] = (struct api_oc_tgt){ NULL, 0, false };
		c->phashes[i] = 0;
	}
}

static int api_oc_check(uint32_t nrows, uint32_t ncols, uint32_t action, uint32_t nsets)
{
	if (action < AEDB_CONFLICT_NOTHING || action > AEDB_CONFLICT_MERGE)
		return -AEDB_EINVAL;
	if ((action == AEDB_CONFLICT_UPDATE) != (nsets > 0) || !ncols ||
	    ncols > TV_COLUMNS_MAX)
		return -AEDB_EINVAL;
	return nrows > AEDB_TXN_MAX_ENTRIES / 2 ? -AEDB_ETOOBIG : 0;
}

static int api_oc_run(struct api_oc *c, const char *project, const char *scope,
		      const char *table, uint32_t finality, struct aedb_commit_result *res)
{
	int rc = -AEDB_ECONFLICT;

	for (int attempt = 0; attempt < AEDB_MUTATE_ATTEMPTS; attempt++) {
		struct aedb_txn *t;

		api_oc_reset(c);
		rc = aedb_txn_create(c->db, &t);
		if (rc < 0)
			return rc;
		rc = aedb_txn_set_finality(t, finality);
		if (rc == 0)
			rc = api_oc_build(c, t, project, scope, table);
		if (rc == 0 && t->nmut == 0 && res) {
			memset(res, 0, sizeof(*res));
			res->failed_index = -1;
		}
		if (rc == 0 && t->nmut > 0)
			rc = aedb_commit(c->db, t, res);
		aedb_txn_free(t);
		/* A primary key taken at the read, with a unique index as the
		 * target: a conflict outside it, final. */
		if (rc == -AEDB_EEXIST && c->pk_taken)
			return rc;
		/* With a unique index as the target, a key of it inserted
		 * meanwhile: read again (another index's: final). */
		if (rc == -AEDB_EUNIQUE && c->index &&
		    api_oc_target_taken(c, project, scope, table))
			rc = -AEDB_ECONFLICT;
		/* a guard failed, a key read absent was inserted meanwhile, or
		 * an index of the table came or went: read again */
		if (rc != -AEDB_EASSERT && rc != -AEDB_EEXIST && rc != -AEDB_ECONFLICT)
			return rc < 0 ? rc : c->count;
		rc = -AEDB_ECONFLICT;
	}
	return rc;
}

AEDB_API int aedb_upsert_on_conflict_index(struct aedb *db, const char *project,
					   const char *scope, const char *table,
					   const char *index, const struct aedb_value *rows,
					   uint32_t nrows, uint32_t ncols, uint32_t action,
					   const struct aedb_set *sets, uint32_t nsets,
					   uint32_t finality, struct aedb_commit_result *res)
{
	struct api_oc c = { .db = db, .rows = rows, .nrows = nrows, .ncols = ncols,
			    .action = action, .nsets = nsets, .in_sets = sets,
			    .index = index && index[0] ? index : NULL };
	size_t n = nrows ? nrows : 1;
	int rc;

	if (!db || !project || !scope || !table || (!rows && nrows) || (!sets && nsets))
		return -AEDB_EMISUSE;
	rc = api_oc_check(nrows, ncols, action, nsets);
	if (rc < 0)
		return rc;
	c.sets = calloc(nsets ? nsets : 1, sizeof(*c.sets));
	c.old = calloc(3 * (size_t)ncols, sizeof(*c.old));
	c.hashes = calloc(n, sizeof(*c.hashes));
	if (c.index) {
		c.tgt = calloc(n, sizeof(*c.tgt));
		c.phashes = calloc(n, sizeof(*c.phashes));
	}
	if (c.sets && c.old && c.hashes && (!c.index || (c.tgt && c.phashes))) {
		c.prop = c.old + ncols;
		c.out = c.prop + ncols;
		rc = api_oc_run(&c, project, scope, table, finality, res);
		api_oc_reset(&c);
	} else {
		rc = -ENOMEM;
	}
	free(c.sets);
	free(c.old);
	free(c.hashes);
	free(c.tgt);
	free(c.phashes);
	return rc;
}


AEDB_API int aedb_upsert_on_conflict(struct aedb *db, const char *project, const char *scope,
				     const char *table, const struct aedb_value *rows,
				     uint32_t nrows, uint32_t ncols, uint32_t action,
				     const struct aedb_set *sets, uint32_t nsets,
				     uint32_t finality, struct aedb_commit_result *res)
{
	return aedb_upsert_on_conflict_index(db, project, scope, table, NULL, rows, nrows, ncols,
					     action, sets, nsets, finality, res);
}
