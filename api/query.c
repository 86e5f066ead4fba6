/* SPDX-License-Identifier: MIT */
/* The query engine over per-shard kvmap cursors at one snapshot (api/query.h). */
#include "api/query.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "api/catalog.h"
#include "api/db.h"
#include "api/idef.h"
#include "api/kv.h"
#include "api/tdef.h"
#include "core/assert.h"
#include "core/hash.h"
#include "shard/kvmap.h"
#include "table/query_int.h"

#define API_QUERY_TABLES_MAX (TV_QUERY_JOIN_MAX + 1)
/* Index sources kept inside each table of the environment; a table with
 * more indexes allocates them (api_qtable_indexes). */
#define API_QUERY_INLINE_INDEXES 4u

/* One secondary index (api/idef.h): cursors over (index key -> PK). */
struct api_qindex {
	struct api_qenv *env;
	const struct cat_scope *sc;
};

struct api_qtable {
	struct tv_table_source src;
	struct api_qenv *env;
	const struct cat_scope *sc;
	struct api_qindex *ix;        /* the indexes visible at the snapshot */
	void *ix_heap;                /* ix and its sources, if not inline */
	struct api_qindex ix_inline[API_QUERY_INLINE_INDEXES];
	struct tv_index_source src_inline[API_QUERY_INLINE_INDEXES];
};

/* One run's environment; lives on the caller's stack, inside an epoch
 * section, so every catalog object and partition it touches stays alive. */
struct api_qenv {
	struct aedb *db;
	const struct catalog *cat;
	const char *project;
	const char *scope;
	uint64_t snap;
	uint32_t ntables;
	struct api_qtable tables[API_QUERY_TABLES_MAX];
};

struct api_qcur {
	struct tv_cursor base;
	struct kvmap_iter it;
	const struct kvmap *map;      /* NULL: an empty partition */
	uint64_t snap;
};

static int api_qcur_fill(struct api_qcur *c)
{
	uint32_t len = 0;

	if (!kvmap_iter_valid(&c->it))
		return 0;
	c->base.kv.key = kvmap_iter_key(&c->it, &len);
	c->base.kv.key_len = len;
	c->base.kv.val = c->it.version->data;
	c->base.kv.val_len = c->it.version->len;
	return 1;
}

static int api_qcur_seek(struct tv_cursor *tc, const uint8_t *key, size_t len, bool after)
{
	struct api_qcur *c = (struct api_qcur *)tc;

	if (!c->map)
		return 0;
	kvmap_iter_seek_any(&c->it, c->map, len ? (const void *)key : "", (uint32_t)len,
			    len ? after : false, c->snap);
	return api_qcur_fill(c);
}

static int api_qcur_next(struct tv_cursor *tc)
{
	struct api_qcur *c = (struct api_qcur *)tc;

	AEDB_ASSERT(c->map != NULL);
	kvmap_iter_next_any(&c->it);
	return api_qcur_fill(c);
}

static void api_qcur_close(struct tv_cursor *tc)
{
	free(tc);
}

static const struct tv_cursor_ops api_qcur_ops = {
	.seek = api_qcur_seek, .next = api_qcur_next, .close = api_qcur_close,
};

static int api_qtable_open(void *ctx, uint32_t part, struct tv_cursor **out)
{
	struct api_qtable *t = ctx;
	struct api_qcur *c = calloc(1, sizeof(*c));

	AEDB_ASSERT(part < t->env->db->nshards);
	if (!c)
		return -ENOMEM;
	c->base.ops = &api_qcur_ops;
	c->map = __atomic_load_n(&t->sc->parts[part], __ATOMIC_ACQUIRE);
	c->snap = t->env->snap;
	*out = &c->base;
	return 0;
}

static int api_qtable_get(void *ctx, const uint8_t *pk, size_t len, struct tv_kv *out)
{
	struct api_qtable *t = ctx;
	const struct kv_version *v;

	if (len > UINT32_MAX)
		return 0;
	v = api_kv_lookup(t->env->db, t->sc, pk, (uint32_t)len, t->env->snap);
	if (!v)
		return 0;
	out->key = pk;
	out->key_len = len;
	out->val = v->data;
	out->val_len = v->len;
	return 1;
}

static int api_qindex_open(void *ctx, uint32_t part, struct tv_cursor **out)
{
	struct api_qindex *x = ctx;
	struct api_qcur *c = calloc(1, sizeof(*c));

	AEDB_ASSERT(part < x->env->db->nshards);
	if (!c)
		return -ENOMEM;
	c->base.ops = &api_qcur_ops;
	c->map = __atomic_load_n(&x->sc->parts[part], __ATOMIC_ACQUIRE);
	c->snap = x->env->snap;
	*out = &c->base;
	return 0;
}

/* A unique index's entry: on the shard its key hashes to (DESIGN §3). */
static int api_qindex_get(void *ctx, const uint8_t *key, size_t len, struct tv_kv *out)
{
	struct api_qindex *x = ctx;
	const struct kvmap *m;
	const struct kv_version *v;
	uint32_t part;

	if (len > UINT32_MAX)
		return 0;
	part = core_kv_shard(x->sc->id, key, (uint32_t)len, x->env->db->nshards);
	m = __atomic_load_n(&x->sc->parts[part], __ATOMIC_ACQUIRE);
	v = m ? kvmap_get_any(m, key, (uint32_t)len, x->env->snap) : NULL;
	if (!v)
		return 0;
	out->key = key;
	out->key_len = len;
	out->val = v->data;
	out->val_len = v->len;
	return 1;
}

/* The indexes of @t created at or before the snapshot, as index sources
 * (inline in @t, or one allocation freed with the environment). */
static int api_qtable_indexes(struct api_qtable *t)
{
	struct api_qenv *e = t->env;
	struct cat_scope *const *ix;
	struct tv_index_source *src;
	uint32_t n, k = 0;

	cat_table_indexes(e->cat, t->sc, &ix, &n);
	if (!n)
		return 0;
	if (n <= API_QUERY_INLINE_INDEXES) {
		t->ix = t->ix_inline;
		src = t->src_inline;
	} else {
		t->ix_heap = malloc(n * (sizeof(*t->ix) + sizeof(*src)));
		if (!t->ix_heap)
			return -ENOMEM;
		t->ix = t->ix_heap;
		src = (struct tv_index_source *)(t->ix + n);
	}
	for (uint32_t i = 0; i < n; i++) {
		const struct cat_idef *x = ix[i]->idef;

		if (ix[i]->created_seq > e->snap)
			continue;
		t->ix[k] = (struct api_qindex){ .env = e, .sc = ix[i] };
		src[k] = (struct tv_index_source){
			.name = x->name, .cols = x->colptr, .ncols = x->ncols,
			.unique = x->unique, .partial = x->partial, .nparts = e->db->nshards,
			.ctx = &t->ix[k], .open = api_qindex_open,
			.get = x->unique ? api_qindex_get : NULL,
		};
		k++;
	}
	t->src.indexes = src;
	t->src.nindexes = k;
	return 0;
}

static void api_qenv_free(struct api_qenv *e)
{
	for (uint32_t i = 0; i < e->ntables; i++)
		free(e->tables[i].ix_heap);
}

/* tv_env.table: a table of the scope, visible at the snapshot. */
static int api_qenv_table(void *ctx, const char *name, const struct tv_table_source **out)
{
	struct api_qenv *e = ctx;
	const struct cat_scope *sc;
	struct api_qtable *t;

	for (uint32_t i = 0; i < e->ntables; i++) {
		if (strcmp(e->tables[i].sc->table, name) == 0) {
			*out = &e->tables[i].src;
			return 0;
		}
	}
	sc = cat_find_table(e->cat, e->project, e->scope, name);
	if (!sc || sc->created_seq > e->snap || e->ntables == API_QUERY_TABLES_MAX)
		return -TV_ENOTABLE;
	t = &e->tables[e->ntables++];
	/* Only the head: the inline index arrays are written as used. */
	memset(t, 0, offsetof(struct api_qtable, ix_inline));
	t->env = e;
	t->sc = sc;
	/* Rows visible at the snapshot are in the definition of then
	 * (ALTER TABLE keeps the older ones as history). */
	t->src.schema = &cat_tdef_at(sc->tdef, e->snap)->schema;
	t->src.nshards = e->db->nshards;
	t->src.ctx = t;
	t->src.open = api_qtable_open;
	t->src.get = api_qtable_get;
	if (api_qtable_indexes(t) < 0)
		return -ENOMEM;
	*out = &t->src;
	return 0;
}

const struct cat_scope *api_query_table(const struct tv_env *env, const char *table)
{
	const struct api_qenv *e = env->ctx;

	for (uint32_t i = 0; i < e->ntables; i++)
		if (strcmp(e->tables[i].sc->table, table) == 0)
			return e->tables[i].sc;
	return NULL;
}

int api_query_public(int rc)
{
	switch (rc) {
	case -TV_ENOTABLE:
		return -AEDB_ENOTABLE;
	case -TV_ENOCOLUMN:
		return -AEDB_ENOCOLUMN;
	case -TV_ESCANLIMIT:
	case -TV_EJOINROWS:
		return -AEDB_ESCANLIMIT;
	case -TV_EMEMLIMIT:
	case -TV_EJOINBYTES:
		return -AEDB_EMEMLIMIT;
	default:
		return tv_query_error_public(rc);
	}
}

int api_query_with(struct aedb *db, const char *project, const char *scope, struct aedb_at at,
		   api_query_fn fn, void *arg)
{
	struct api_qenv env_mem;
	struct api_qenv *e = &env_mem;
	struct tv_env env;
	ck_epoch_record_t *rec;
	struct cat_scope *sc;
	int rc;

	if (!db || !fn)
		return -AEDB_EMISUSE;
	if (at.pad)
		return -AEDB_EINVAL;
	e->ntables = 0;
	rec = api_reader_record(db);
	if (!rec)
		return -ENOMEM;
	api_read_begin(rec);
	rc = api_resolve_scope(db, project, scope, &sc);
	if (rc == 0)
		rc = api_snapshot(db, at.mode, at.seq, &e->snap);
	if (rc == 0) {
		e->db = db;
		e->cat = api_catalog_any(db);
		e->project = project;
		e->scope = scope;
		env.snapshot_seq = e->snap;
		env.ctx = e;
		env.table = api_qenv_table;
		rc = fn(&env, arg);
	}
	api_read_end(db, rec);
	api_qenv_free(e);
	return rc;
}

struct api_qrun {
	const struct tv_query *q;
	const struct tv_query_opts *o;
	struct tv_result **out;
	struct tv_qerr *err;
};

static int api_query_run_fn(const struct tv_env *env, void *arg)
{
	struct api_qrun *a = arg;

	return tv_query_run(env, a->q, a->o, a->out, a->err);
}

int api_query_run(struct aedb *db, const char *project, const char *scope,
		  const struct tv_query *q, struct aedb_at at, const struct tv_query_opts *o,
		  struct tv_result **out, struct tv_qerr *err)
{
	struct api_qrun a = { q, o, out, err };
	int rc;

	if (!db || !q || !out)
		return -AEDB_EMISUSE;
	if (q->cursor) {
		uint64_t seq = 0;

		rc = tv_query_cursor_seq(q->cursor, q->cursor_len, &seq);
		if (rc < 0)
			return rc;
		at = aedb_at_seq(seq);
	}
	rc = api_query_with(db, project, scope, at, api_query_run_fn, &a);
	return rc == -TV_ENOTABLE ? -AEDB_ENOTABLE : rc;
}
