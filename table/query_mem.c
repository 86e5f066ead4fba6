/* SPDX-License-Identifier: MIT */
/*
 * An in-memory database behind the query source interface: each table is N
 * sorted arrays (fake shards) of (encoded PK -> encoded row), each index N
 * sorted arrays of (index key -> PK), rebuilt at the first read after a
 * change. For tests, and as a model of what the shard wiring must provide.
 */
#include "table/query_source.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "aedb.h"
#include "core/assert.h"
#include "core/hash.h"
#include "table/keyenc.h"
#include "table/row.h"

#define TV_MEM_TABLES_MAX 64u
#define TV_MEM_INDEXES_MAX 16u

struct tv_ment {
	uint8_t *key;
	uint8_t *val;
	size_t klen, vlen;
};

struct tv_marr {
	struct tv_ment *e;
	size_t n, cap;
};

struct tv_memidx {
	struct tv_memtable *t;
	struct tv_expr *partial;        /* owned copy */
	const struct tv_bexpr *bound;   /* in the table's arena */
	uint16_t cols[TV_PK_COLUMNS_MAX];
	uint32_t no;
	struct tv_marr *parts;
};

struct tv_memtable {
	struct tv_memdb *db;
	struct tv_table_source src;
	const struct tv_schema *s;
	uint32_t id;
	bool dirty;
	uint64_t rows;
	struct tv_marr *shards;
	struct tv_arena arena;
	struct tv_index_source isrc[TV_MEM_INDEXES_MAX];
	struct tv_memidx idx[TV_MEM_INDEXES_MAX];
	uint32_t nidx;
};

struct tv_memdb {
	uint32_t nshards;
	uint64_t seq;
	struct tv_memtable *t[TV_MEM_TABLES_MAX];
	uint32_t nt;
};

struct tv_memcur {
	struct tv_cursor c;
	struct tv_memtable *t;
	const struct tv_marr *arr;
	size_t pos;
};

/* ---- sorted arrays -------------------------------------------------- */

/* First position whose key is >= (> when @after) @key. */
static size_t tv_marr_find(const struct tv_marr *r, const uint8_t *key, size_t len, bool after)
{
	size_t lo = 0, hi = r->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = tv_key_cmp(r->e[mid].key, r->e[mid].klen, key, len);

		if (c < 0 || (c == 0 && after))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int tv_marr_insert(struct tv_marr *r, size_t at, const uint8_t *key, size_t klen,
			  const uint8_t *val, size_t vlen)
{
	uint8_t *kv;

	if (r->n == r->cap) {
		size_t cap = r->cap ? 2 * r->cap : 16;
		struct tv_ment *e = realloc(r->e, cap * sizeof(*e));

		if (!e)
			return -ENOMEM;
		r->e = e;
		r->cap = cap;
	}
	kv = malloc(klen + vlen + 1);
	if (!kv)
		return -ENOMEM;
	memcpy(kv, key, klen);
	if (vlen)
		memcpy(kv + klen, val, vlen);
	memmove(&r->e[at + 1], &r->e[at], (r->n - at) * sizeof(*r->e));
	r->e[at] = (struct tv_ment){ .key = kv, .klen = klen, .val = kv + klen, .vlen = vlen };
	r->n++;
	return 0;
}

static void tv_marr_clear(struct tv_marr *r)
{
	for (size_t i = 0; i < r->n; i++)
		free(r->e[i].key);
	r->n = 0;
}

static void tv_marr_free(struct tv_marr *r)
{
	tv_marr_clear(r);
	free(r->e);
	r->e = NULL;
	r->cap = 0;
}

/* ---- index build ---------------------------------------------------- */

static int tv_memidx_add(struct tv_memidx *x, const struct tv_value *vals, const uint8_t *pk,
			 size_t pklen, uint32_t shard)
{
	const struct tv_index_source *is = &x->t->isrc[x->no];
	struct tv_value key[TV_PK_COLUMNS_MAX];
	uint8_t buf[8192];
	size_t len;
	uint32_t part = shard;
	struct tv_marr *r;
	int rc;

	if (x->bound && !tv_bexpr_eval(x->bound, vals))
		return 0;
	for (uint32_t i = 0; i < is->ncols; i++) {
		key[i] = vals[x->cols[i]];
		if (key[i].type == TV_NULL && is->unique)
			return 0;
	}
	rc = tv_key_encode(key, is->ncols, buf, sizeof(buf), &len);
	if (rc)
		return rc;
	if (is->unique) {
		part = core_kv_shard((x->t->id << 8) | (x->no + 1), buf, (uint32_t)len,
				     is->nparts);
	} else {
		if (len + pklen > sizeof(buf))
			return -AEDB_ETOOBIG;
		memcpy(buf + len, pk, pklen);
		len += pklen;
	}
	r = &x->parts[part];
	return tv_marr_insert(r, tv_marr_find(r, buf, len, false), buf, len, pk, pklen);
}

static int tv_memidx_build(struct tv_memtable *t, struct tv_memidx *x)
{
	struct tv_value *vals = malloc(t->s->ncols * sizeof(*vals));
	int rc = vals ? 0 : -ENOMEM;

	for (uint32_t p = 0; p < t->db->nshards; p++)
		tv_marr_clear(&x->parts[p]);
	for (uint32_t s = 0; rc == 0 && s < t->db->nshards; s++) {
		const struct tv_marr *r = &t->shards[s];

		for (size_t i = 0; rc == 0 && i < r->n; i++) {
			rc = tv_row_decode(t->s, r->e[i].val, r->e[i].vlen, vals);
			if (rc == 0)
				rc = tv_memidx_add(x, vals, r->e[i].key, r->e[i].klen, s);
		}
	}
	free(vals);
	return rc;
}

static int tv_memtable_prepare(struct tv_memtable *t)
{
	if (!t->dirty)
		return 0;
	for (uint32_t i = 0; i < t->nidx; i++) {
		int rc = tv_memidx_build(t, &t->idx[i]);

		if (rc)
			return rc;
	}
	t->dirty = false;
	return 0;
}

/* ---- cursors -------------------------------------------------------- */

static int tv_memcur_at(struct tv_memcur *c)
{
	const struct tv_ment *e;

	if (c->pos >= c->arr->n)
		return 0;
	e = &c->arr->e[c->pos];
	c->c.kv = (struct tv_kv){ .key = e->key, .key_len = e->klen, .val = e->val,
				  .val_len = e->vlen };
	return 1;
}

static int tv_memcur_seek(struct tv_cursor *cc, const uint8_t *key, size_t len, bool after)
{
	struct tv_memcur *c = (struct tv_memcur *)cc;

	c->pos = len ? tv_marr_find(c->arr, key, len, after) : 0;
	return tv_memcur_at(c);
}

static int tv_memcur_next(struct tv_cursor *cc)
{
	struct tv_memcur *c = (struct tv_memcur *)cc;

	AEDB_ASSERT(c->pos < c->arr->n);
	c->pos++;
	return tv_memcur_at(c);
}

static void tv_memcur_close(struct tv_cursor *cc)
{
	free(cc);
}

static const struct tv_cursor_ops tv_memcur_ops = {
	.seek = tv_memcur_seek,
	.next = tv_memcur_next,
	.close = tv_memcur_close,
};

static int tv_memcur_new(struct tv_memtable *t, const struct tv_marr *arr,
			 struct tv_cursor **out)
{
	struct tv_memcur *c;
	int rc = tv_memtable_prepare(t);

	if (rc)
		return rc;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->c.ops = &tv_memcur_ops;
	c->t = t;
	c->arr = arr;
	*out = &c->c;
	return 0;
}

static int tv_memtable_open(void *ctx, uint32_t shard, struct tv_cursor **out)
{
	struct tv_memtable *t = ctx;

	AEDB_ASSERT(shard < t->db->nshards);
	return tv_memcur_new(t, &t->shards[shard], out);
}

static int tv_memidx_open(void *ctx, uint32_t part, struct tv_cursor **out)
{
	struct tv_memidx *x = ctx;

	AEDB_ASSERT(part < x->t->db->nshards);
	return tv_memcur_new(x->t, &x->parts[part], out);
}

static int tv_memtable_get(void *ctx, const uint8_t *pk, size_t len, struct tv_kv *out)
{
	struct tv_memtable *t = ctx;
	const struct tv_marr *r;
	size_t at;

	r = &t->shards[core_kv_shard(t->id, pk, (uint32_t)len, t->db->nshards)];
	at = tv_marr_find(r, pk, len, false);
	if (at == r->n || tv_key_cmp(r->e[at].key, r->e[at].klen, pk, len) != 0)
		return 0;
	*out = (struct tv_kv){ .key = r->e[at].key, .key_len = r->e[at].klen,
			       .val = r->e[at].val, .val_len = r->e[at].vlen };
	return 1;
}

/* ---- database ------------------------------------------------------- */

int tv_memdb_create(uint32_t nshards, uint64_t snapshot_seq, struct tv_memdb **out)
{
	struct tv_memdb *db;

	if (nshards == 0 || !out)
		return -AEDB_EINVAL;
	db = calloc(1, sizeof(*db));
	if (!db)
		return -ENOMEM;
	db->nshards = nshards;
	db->seq = snapshot_seq;
	*out = db;
	return 0;
}

static void tv_memtable_free(struct tv_memtable *t)
{
	for (uint32_t i = 0; i < t->nidx; i++) {
		for (uint32_t p = 0; p < t->db->nshards; p++)
			tv_marr_free(&t->idx[i].parts[p]);
		free(t->idx[i].parts);
		tv_expr_free(t->idx[i].partial);
	}
	for (uint32_t s = 0; s < t->db->nshards; s++)
		tv_marr_free(&t->shards[s]);
	free(t->shards);
	tv_arena_free(&t->arena);
	free(t);
}

void tv_memdb_free(struct tv_memdb *db)
{
	if (!db)
		return;
	for (uint32_t i = 0; i < db->nt; i++)
		tv_memtable_free(db->t[i]);
	free(db);
}

static int tv_memdb_lookup(void *ctx, const char *name, const struct tv_table_source **out)
{
	struct tv_memdb *db = ctx;

	for (uint32_t i = 0; i < db->nt; i++) {
		if (strcmp(db->t[i]->s->name, name) == 0) {
			*out = &db->t[i]->src;
			return 0;
		}
	}
	return -TV_ENOTABLE;
}

void tv_memdb_env(struct tv_memdb *db, struct tv_env *env)
{
	*env = (struct tv_env){ .snapshot_seq = db->seq, .ctx = db, .table = tv_memdb_lookup };
}

int tv_memdb_table(struct tv_memdb *db, const struct tv_schema *s, uint32_t table_id,
		   struct tv_memtable **out)
{
	const struct tv_table_source *dup;
	struct tv_memtable *t;

	if (!s || !s->checked)
		return -AEDB_EINVAL;
	if (tv_memdb_lookup(db, s->name, &dup) == 0)
		return -AEDB_EEXIST;
	if (db->nt == TV_MEM_TABLES_MAX)
		return -AEDB_ETOOBIG;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->shards = calloc(db->nshards, sizeof(*t->shards));
	if (!t->shards) {
		free(t);
		return -ENOMEM;
	}
	t->db = db;
	t->s = s;
	t->id = table_id;
	tv_arena_init(&t->arena);
	t->src = (struct tv_table_source){
		.schema = s, .nshards = db->nshards, .ctx = t, .open = tv_memtable_open,
		.get = tv_memtable_get, .indexes = t->isrc,
	};
	db->t[db->nt++] = t;
	*out = t;
	return 0;
}

int tv_memtable_insert(struct tv_memtable *t, const struct tv_value *row)
{
	const struct tv_schema *s = t->s;
	struct tv_value *vals = malloc(s->ncols * sizeof(*vals));
	uint8_t pk[4096], *buf = NULL;
	size_t pklen, size = 0, len, at;
	struct tv_marr *r;
	int rc = vals ? 0 : -ENOMEM;

	if (rc == 0) {
		memcpy(vals, row, s->ncols * sizeof(*vals));
		rc = tv_schema_row_check(s, vals, s->ncols, NULL);
	}
	if (rc == 0)
		rc = tv_schema_pk_encode(s, vals, pk, sizeof(pk), &pklen);
	if (rc == 0)
		rc = tv_row_size(s, vals, &size, NULL);
	if (rc == 0 && !(buf = malloc(size ? size : 1)))
		rc = -ENOMEM;
	if (rc == 0)
		rc = tv_row_encode(s, vals, buf, size, &len, NULL);
	if (rc == 0) {
		r = &t->shards[core_kv_shard(t->id, pk, (uint32_t)pklen, t->db->nshards)];
		at = tv_marr_find(r, pk, pklen, false);
		if (at < r->n && tv_key_cmp(r->e[at].key, r->e[at].klen, pk, pklen) == 0)
			rc = -AEDB_EEXIST;
		else
			rc = tv_marr_insert(r, at, pk, pklen, buf, len);
	}
	if (rc == 0) {
		t->rows++;
		t->src.rows_estimate = t->rows;
		t->dirty = true;
	}
	free(buf);
	free(vals);
	return rc;
}

static int tv_memtable_index_cols(struct tv_memtable *t, struct tv_memidx *x,
				  const char *const *cols, uint32_t ncols)
{
	if (ncols == 0 || !cols)
		return -AEDB_EINVAL;
	if (ncols > TV_PK_COLUMNS_MAX)
		return -AEDB_ETOOBIG;
	for (uint32_t i = 0; i < ncols; i++) {
		int c = cols[i] ? tv_schema_find(t->s, cols[i]) : -AEDB_EMISUSE;

		if (c < 0)
			return c;
		x->cols[i] = (uint16_t)c;
	}
	return 0;
}

int tv_memtable_index(struct tv_memtable *t, const char *name, const char *const *cols,
		      uint32_t ncols, bool unique, const struct tv_expr *partial)
{
	struct tv_memidx *x = &t->idx[t->nidx];
	const char **names;
	uint8_t *types;
	struct tv_colset cs;
	int rc;

	if (t->nidx == TV_MEM_INDEXES_MAX)
		return -AEDB_ETOOBIG;
	memset(x, 0, sizeof(*x));
	rc = tv_memtable_index_cols(t, x, cols, ncols);
	if (rc)
		return rc;
	x->t = t;
	x->no = t->nidx;
	names = tv_arena_alloc(&t->arena, t->s->ncols * sizeof(*names));
	types = tv_arena_alloc(&t->arena, t->s->ncols);
	x->parts = calloc(t->db->nshards, sizeof(*x->parts));
	if (!names || !types || !x->parts)
		goto nomem;
	for (uint32_t i = 0; i < t->s->ncols; i++) {
		names[i] = t->s->cols[i].name;
		types[i] = t->s->cols[i].type;
	}
	cs = (struct tv_colset){ .names = names, .types = types, .n = t->s->ncols };
	if (partial) {
		x->partial = tv_expr_copy(partial);
		if (!x->partial)
			goto nomem;
		rc = tv_expr_bind(x->partial, &cs, &t->arena, &x->bound, NULL);
		if (rc)
			goto fail;
	}
	t->isrc[t->nidx] = (struct tv_index_source){
		.name = name, .cols = cols, .ncols = ncols, .unique = unique,
		.partial = x->partial, .nparts = t->db->nshards, .ctx = x,
		.open = tv_memidx_open,
	};
	t->nidx++;
	t->src.nindexes = t->nidx;
	t->dirty = true;
	return 0;
nomem:
	rc = -ENOMEM;
fail:
	tv_expr_free(x->partial);
	free(x->parts);
	memset(x, 0, sizeof(*x));
	return rc;
}

uint64_t tv_memtable_rows(const struct tv_memtable *t)
{
	return t->rows;
}
