/* SPDX-License-Identifier: MIT */
/*
 * Index DDL (issue 5): create (with backfill) and drop, coordinated by
 * shard 0 like every DDL (shard/ddl.c), plus the rebuild recovery runs.
 *
 * Create:
 *  1. mark the table CAT_BUSY (shards refuse its row writes with
 *     -AEDB_EBUSY) and FENCE every shard, so every write accepted before
 *     the mark is applied, prepared fragments on the table included;
 *  2. the rows are now frozen: shard 0 checks every shard's rows (read
 *     lock-free): a key over max_key_bytes is -AEDB_ETOOBIG, a repeated key
 *     of a unique index -AEDB_EUNIQUE, and nothing changes; otherwise
 *     BACKFILL: each shard fills its own partition of
 *     the new (unpublished) index object, reading the rows of every shard it
 *     needs (its own for a non-unique index; all of them for a unique one,
 *     keeping the keys that hash to it); entries are stamped with a seq
 *     below the commit's, since nobody can read the index before it;
 *  3. commit the catalog with the index at one seq (the DDL record holds
 *     the definition), store that seq in the table's ixseq, clear the mark,
 *     answer. A round that took the older catalog refuses the table's rows
 *     (shard/txn.c txn_ns_stale): it cannot tell their index entries.
 * Backfilled entries are not logged: recovery replays the DDL record, the
 * rows and the index entries later transactions logged (a write logs an
 * entry only when it changes), then adds every live row's entry that is
 * missing (shard_index_rebuild). Whatever the log restored agrees with the
 * final rows: every later change of an indexed value logged its old entry's
 * delete.
 *
 * Drop: mark the table busy and the index dropped, fence (prepared
 * fragments writing either apply first), commit the catalog without the
 * index, clear the table's mark, retire the index's partitions (shard/ddl.c's
 * retire phase).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "api/catalog.h"
#include "api/db.h"
#include "api/idef.h"
#include "api/tdef.h"
#include "core/assert.h"
#include "core/hash.h"
#include "core/tsan.h"
#include "ring/mesh.h"
#include "shard/ddl.h"
#include "shard/kvmap.h"
#include "shard/shard.h"
#include "table/keyenc.h"
#include "table/row.h"

#define IX_KEY_MAX 65536u

void shard_ddl_broadcast_ptr(struct shard *s, uint16_t type, const void *ptr, uint64_t seq)
{
	struct aedb *db = s->db;

	s->ddl.acks = db->nshards - 1;
	for (uint32_t d = 1; d < db->nshards; d++) {
		struct ring_msg m = { .type = type, .src = 0, .dst = (uint16_t)d, .seq = seq };

		m.payload.ptr = ptr;
		/* The overflow FIFO holds far more than one DDL's messages. */
		AEDB_ASSERT(ring_mesh_send(db->mesh, &m) == 0);
		shard_wake_any(&db->shards[d]);
	}
}

static void ix_reset(struct shard *s)
{
	s->ddl.ix_table = NULL;
	s->ddl.ix_index = NULL;
	s->ddl.ix_idef = NULL;
	s->ddl.ix_step = 0;
}

/* Finish without a commit: unmark, answer @rc. */
static void ix_abort(struct shard *s, int rc)
{
	struct req *r = s->ddl.active;

	__atomic_store_n(&s->ddl.ix_table->dropped, 0, __ATOMIC_SEQ_CST);
	if (r->ddl->kind == DDL_DROP_INDEX && s->ddl.ix_index)
		__atomic_store_n(&s->ddl.ix_index->dropped, 0, __ATOMIC_SEQ_CST);
	cat_idef_free(s->ddl.ix_idef);
	ix_reset(s);
	shard_ddl_idle(s);
	req_complete(r, rc);
}

int shard_ddl_find_table(const struct catalog *cat, const struct ddl_op *op,
			 struct cat_scope **t)
{
	if (!cat_find_project(cat, op->project))
		return -AEDB_ENOPROJECT;
	if (!cat_find_scope(cat, op->project, op->scope))
		return -AEDB_ENOSCOPE;
	*t = cat_find_table(cat, op->project, op->scope, op->table);
	return *t && (*t)->tdef ? 0 : -AEDB_ENOTABLE;
}

/* Checks that need no fence. 1 if @r was answered. */
static int ix_check(struct shard *s, struct req *r, const struct catalog *cat,
		    struct cat_scope **table)
{
	const struct ddl_op *op = r->ddl;
	const uint32_t kind = op->kind; /* @r is the caller's once completed */
	struct cat_scope *const *ix;
	struct cat_scope *t = NULL, *x;
	uint32_t nix;
	int rc = shard_ddl_find_table(cat, op, &t);

	if (rc < 0) {
		req_complete(r, rc);
		return 1;
	}
	x = cat_find_index(cat, op->project, op->scope, op->table, op->index);
	if (kind == DDL_DROP_INDEX) {
		if (!x)
			req_complete(r, 0);
		s->ddl.ix_index = x;
	} else if (x) {
		int same = x->idef->enc_len == op->tdef_len &&
			   memcmp(x->idef->enc, op->tdef, op->tdef_len) == 0;

		req_complete(r, same ? 0 : -AEDB_EEXIST);
	} else {
		cat_table_indexes(cat, t, &ix, &nix);
		if (nix >= CAT_INDEXES_MAX) {
			req_complete(r, -AEDB_ETOOBIG);
			return 1;
		}
		rc = cat_idef_decode(&t->tdef->schema, op->tdef, op->tdef_len, &s->ddl.ix_idef);
		AEDB_ASSERT(rc != -AEDB_ECORRUPT); /* the API encoded it */
		if (rc < 0) {
			req_complete(r, rc);
			return 1;
		}
		s->ddl.ix_idef->table_id = t->id;
		x = NULL;
	}
	*table = t;
	return kind == DDL_DROP_INDEX ? x == NULL : x != NULL;
}

void shard_ddl_index_begin(struct shard *s, struct req *r, const struct catalog *cat)
{
	struct cat_scope *t = NULL;

	AEDB_ASSERT(s->id == 0);
	AEDB_ASSERT(ddl_kind_is_index(r->ddl->kind));
	ix_reset(s);
	if (ix_check(s, r, cat, &t)) {
		ix_reset(s);
		return;
	}
	s->ddl.ix_table = t;
	__atomic_store_n(&t->dropped, CAT_BUSY, __ATOMIC_SEQ_CST);
	/* A drop also marks the index: entries of it in transactions fail,
	 * and the fence waits for prepared fragments that write it (a unique
	 * index's entries may be on shards the table's rows are not). */
	if (s->ddl.ix_index)
		__atomic_store_n(&s->ddl.ix_index->dropped, 1, __ATOMIC_SEQ_CST);
	s->ddl.active = r;
	shard_ddl_fencing(s);
	shard_ddl_broadcast_ptr(s, RING_MSG_DDL_FENCE, NULL, 0);
}

/* Call @fn on every live row of @t's partition @part (newest versions; the
 * table is frozen). Inside an epoch section. Stops at an error. */
typedef int (*ix_row_fn)(void *arg, const uint8_t *pk, uint32_t pk_len, uint64_t seq,
			const struct tv_value *row);

static int ix_each_row(const struct cat_scope *t, uint32_t part, ix_row_fn fn, void *arg)
{
	const struct kvmap *m = __atomic_load_n(&t->parts[part], __ATOMIC_ACQUIRE);
	const struct tv_schema *sc = &t->tdef->schema;
	struct tv_value *vals;
	struct kvmap_iter it;
	int rc = 0;

	if (!m)
		return 0;
	vals = malloc(sc->ncols * sizeof(*vals));
	if (!vals)
		return -ENOMEM;
	kvmap_iter_seek_any(&it, m, NULL, 0, false, UINT64_MAX);
	for (; rc == 0 && kvmap_iter_valid(&it); kvmap_iter_next_any(&it)) {
		uint32_t klen;
		const uint8_t *key = kvmap_iter_key(&it, &klen);

		rc = tv_row_decode(sc, it.version->data, it.version->len, vals);
		if (rc == 0)
			rc = fn(arg, key, klen, it.version->seq, vals);
	}
	free(vals);
	return rc;
}

/* ---- uniqueness check before a unique index is created ---- */

struct ix_keys {
	const struct cat_idef *x;
	size_t key_max;           /* the instance's max_key_bytes */
	uint8_t *buf;
	size_t len, cap;
	size_t *off;
	size_t n, ncap;
	uint8_t scratch[IX_KEY_MAX];
};

static int ix_collect(void *arg, const uint8_t *pk, uint32_t pk_len, uint64_t seq,
		      const struct tv_value *row)
{
	struct ix_keys *k = arg;
	size_t len;
	int rc = cat_idef_key(k->x, row, pk, pk_len, k->scratch, sizeof(k->scratch), &len);

	(void)seq;
	if (rc == 1 && len > k->key_max)
		rc = -AEDB_ETOOBIG;   /* a write would be refused the same way */
	if (rc <= 0 || !k->x->unique)
		return rc < 0 ? rc : 0;
	if (k->n == k->ncap) {
		size_t nc = k->ncap ? 2 * k->ncap : 1024;
		size_t *no = realloc(k->off, (nc + 1) * sizeof(*no));

		if (!no)
			return -ENOMEM;
		k->off = no;
		k->ncap = nc;
	}
	if (k->len + len + 4 > k->cap) {
		size_t nc = k->cap ? 2 * k->cap : 65536;
		uint8_t *nb;

		while (nc < k->len + len + 4)
			nc *= 2;
		nb = realloc(k->buf, nc);
		if (!nb)
			return -ENOMEM;
		k->buf = nb;
		k->cap = nc;
	}
	memcpy(k->buf + k->len, &(uint32_t){ (uint32_t)len }, 4);
	memcpy(k->buf + k->len + 4, k->scratch, len);
	k->off[k->n++] = k->len;
	k->len += len + 4;
	return 0;
}

static int ix_key_cmp(const void *a, const void *b)
{
	const uint8_t *x = *(const uint8_t *const *)a, *y = *(const uint8_t *const *)b;
	uint32_t xl, yl;

	memcpy(&xl, x, 4);
	memcpy(&yl, y, 4);
	return tv_key_cmp(x + 4, xl, y + 4, yl);
}

/* Before a backfill, with the rows frozen: 0, -AEDB_ETOOBIG if a row's key
 * would be over max_key_bytes, -AEDB_EUNIQUE if two rows share a key of a
 * unique @x, -ENOMEM. So the backfill itself cannot fail on a row. */
static int ix_precheck(struct shard *s, const struct cat_scope *t, const struct cat_idef *x)
{
	struct ix_keys *k = calloc(1, sizeof(*k));
	const uint8_t **keys = NULL;
	int rc = k ? 0 : -ENOMEM;

	if (!k)
		return rc;
	k->x = x;
	k->key_max = s->db->cfg.max_key_bytes;
	ck_epoch_begin(&s->erec, NULL);
	for (uint32_t p = 0; rc == 0 && p < s->db->nshards; p++)
		rc = ix_each_row(t, p, ix_collect, k);
	CORE_TSAN_RELEASE(&s->db->epoch);
	ck_epoch_end(&s->erec, NULL);
	if (rc == 0 && k->n > 1 && !(keys = malloc(k->n * sizeof(*keys))))
		rc = -ENOMEM;
	if (rc == 0 && k->n > 1) {
		for (size_t i = 0; i < k->n; i++)
			keys[i] = k->buf + k->off[i];
		qsort(keys, k->n, sizeof(*keys), ix_key_cmp);
		for (size_t i = 1; rc == 0 && i < k->n; i++)
			if (ix_key_cmp(&keys[i - 1], &keys[i]) == 0)
				rc = -AEDB_EUNIQUE;
	}
	free(keys);
	free(k->buf);
	free(k->off);
	free(k);
	return rc;
}

/* ---- backfill ---- */

struct ix_fill {
	struct shard *s;       /* the shard whose partition is filled */
	struct cat_scope *idx;
	uint32_t nshards;
	uint64_t seq;          /* stamp */
	int recovering;        /* keep entries the log already restored */
	uint8_t key[IX_KEY_MAX];
};

static int ix_put(void *arg, const uint8_t *pk, uint32_t pk_len, uint64_t seq,
		  const struct tv_value *row)
{
	struct ix_fill *f = arg;
	struct wal_rec rec = { .type = WAL_REC_KV_SET, .ns = f->idx->id, .seq = f->seq,
			       .val = pk, .val_len = pk_len };
	size_t len;
	int rc;

	(void)seq;
	rc = cat_idef_key(f->idx->idef, row, pk, pk_len, f->key, sizeof(f->key), &len);
	if (rc <= 0)
		return rc;
	if (f->idx->idef->unique &&
	    core_kv_shard(f->idx->id, f->key, (uint32_t)len, f->nshards) != f->s->id)
		return 0;
	if (f->recovering && f->idx->parts[f->s->id]) {
		const struct kv_version *v = kvmap_get_any(f->idx->parts[f->s->id], f->key,
							   (uint32_t)len, UINT64_MAX);

		if (v && v->len == pk_len && memcmp(v->data, pk, pk_len) == 0)
			return 0; /* logged by a write after the index was made */
	}
	rec.key = f->key;
	rec.key_len = (uint32_t)len;
	return shard_apply_rec(f->s, f->idx, &rec);
}

/* Fill shard @s's partition of @idx from the rows of @t. */
static int ix_fill(struct shard *s, const struct cat_scope *t, struct cat_scope *idx,
		   uint64_t seq, int recovering)
{
	struct ix_fill *f = calloc(1, sizeof(*f));
	uint32_t n = s->db->nshards;
	int rc = 0;

	if (!f)
		return -ENOMEM;
	*f = (struct ix_fill){ .s = s, .idx = idx, .nshards = n, .seq = seq,
			       .recovering = recovering };
	for (uint32_t p = 0; rc == 0 && p < n; p++) {
		if (!idx->idef->unique && p != s->id)
			continue;
		rc = ix_each_row(t, p, ix_put, f);
	}
	free(f);
	return rc;
}

int shard_ddl_index_backfill(struct shard *s, struct cat_scope *idx, uint64_t seq)
{
	const struct cat_scope *t;
	int rc;

	ck_epoch_begin(&s->erec, NULL);
	t = cat_scope_by_id(api_catalog_any(s->db), idx->idef->table_id);
	AEDB_ASSERT(t != NULL && t->tdef != NULL);
	rc = ix_fill(s, t, idx, seq, 0);
	CORE_TSAN_RELEASE(&s->db->epoch);
	ck_epoch_end(&s->erec, NULL);
	if (rc < 0)
		shard_wal_progress(s, rc); /* latch: the index would be incomplete */
	return rc;
}

/* Fenced (step 0) or backfilled (step 1). */
int shard_ddl_index_advance(struct shard *s)
{
	struct req *r = s->ddl.active;
	struct cat_scope *t = s->ddl.ix_table;
	const struct catalog *cat = api_catalog_any(s->db);
	struct catalog *next;
	int rc;

	if (r->ddl->kind == DDL_DROP_INDEX) {
		next = cat_without_index(cat, s->ddl.ix_index, 0);
		if (!next) {
			ix_abort(s, -ENOMEM);
			return 1;
		}
		shard_ddl_commit(s, r, next, 1, t);
		shard_ddl_retire_one(s, s->ddl.ix_index);
		ix_reset(s);
		return 1;
	}
	if (s->ddl.ix_step == 1) {
		shard_ddl_commit(s, r, s->ddl.next, 1, t);
		s->ddl.next = NULL;
		ix_reset(s);
		shard_ddl_idle(s);
		return 1;
	}
	rc = ix_precheck(s, t, s->ddl.ix_idef);
	next = rc == 0 ? cat_with_index(cat, r->ddl->project, r->ddl->scope, r->ddl->table,
					s->ddl.ix_idef, 0, s->db->nshards) : NULL;
	if (!next) {
		ix_abort(s, rc < 0 ? rc : -ENOMEM);
		return 1;
	}
	s->ddl.ix_idef = NULL; /* owned by the new index object */
	s->ddl.next = next;
	s->ddl.ix_index = cat_find_index(next, r->ddl->project, r->ddl->scope, r->ddl->table,
					 r->ddl->index);
	AEDB_ASSERT(s->ddl.ix_index != NULL);
	__atomic_store_n(&t->ixever, 1, __ATOMIC_SEQ_CST);
	s->ddl.ix_step = 1;
	/* Stamp: at or below every seq still to come, above nothing a reader
	 * could ask the index for (it is readable from the commit's seq on). */
	shard_ddl_broadcast_ptr(s, RING_MSG_DDL_BACKFILL, s->ddl.ix_index, t->created_seq);
	shard_ddl_index_backfill(s, s->ddl.ix_index, t->created_seq);
	return 1;
}

/* ---- recovery ---- */

int shard_index_rebuild(struct aedb *db, uint64_t from_seq, uint64_t stamp)
{
	const struct catalog *cat = db->catalog;
	int rc = 0;

	for (uint32_t i = 0; rc == 0 && i < cat->nscopes; i++) {
		struct cat_scope *idx = cat->scopes[i];
		const struct cat_scope *t;

		if (!idx->idef || idx->created_seq <= from_seq)
			continue;
		t = cat_scope_by_id(cat, idx->idef->table_id);
		AEDB_ASSERT(t != NULL && t->tdef != NULL);
		/* Single-threaded, before the shards start: no epoch needed. */
		for (uint32_t j = 0; rc == 0 && j < db->nshards; j++)
			rc = ix_fill(&db->shards[j], t, idx, stamp, 1);
	}
	return rc;
}

/* Split a table DDL key (project NUL scope NUL table). */
static int ix_rec_names(const struct wal_rec *rec, char names[3][AEDB_NAME_MAX + 1])
{
	uint32_t at = 0;

	for (int i = 0; i < 3; i++) {
		uint32_t n = 0;

		while (at + n < rec->key_len && rec->key[at + n] != 0)
			n++;
		if (n == 0 || n > AEDB_NAME_MAX || (i < 2 && at + n == rec->key_len))
			return -AEDB_ECORRUPT;
		memcpy(names[i], rec->key + at, n);
		names[i][n] = '\0';
		at += n + 1;
	}
	return at == rec->key_len + 1 ? 0 : -AEDB_ECORRUPT;
}

int shard_ddl_rec_table(const struct catalog *cat, const struct wal_rec *rec,
			char names[3][AEDB_NAME_MAX + 1], const struct cat_scope **t)
{
	int rc = ix_rec_names(rec, names);

	if (rc < 0)
		return rc;
	*t = cat_find_table(cat, names[0], names[1], names[2]);
	return *t && (*t)->tdef ? 0 : -AEDB_ECORRUPT;
}

int shard_index_ddl_replay(const struct catalog *cat, const struct wal_rec *rec,
			   uint32_t nshards, struct catalog **next)
{
	char names[3][AEDB_NAME_MAX + 1], index[AEDB_NAME_MAX + 1];
	const struct cat_scope *t, *x;
	struct cat_idef *idef;
	int rc = shard_ddl_rec_table(cat, rec, names, &t);

	if (rc < 0)
		return rc;
	if (rec->flags == DDL_DROP_INDEX) {
		if (rec->val_len == 0 || rec->val_len > AEDB_NAME_MAX)
			return -AEDB_ECORRUPT;
		memcpy(index, rec->val, rec->val_len);
		index[rec->val_len] = '\0';
		x = cat_find_index(cat, names[0], names[1], names[2], index);
		if (!x)
			return -AEDB_ECORRUPT;
		*next = cat_without_index(cat, x, rec->seq);
		return *next ? 0 : -ENOMEM;
	}
	rc = cat_idef_decode(&t->tdef->schema, rec->val, rec->val_len, &idef);
	if (rc < 0)
		return rc;
	if (cat_find_index(cat, names[0], names[1], names[2], idef->name)) {
		cat_idef_free(idef);
		return -AEDB_ECORRUPT;
	}
	idef->table_id = t->id;
	((struct cat_scope *)t)->ixever = 1;
	*next = cat_with_index(cat, names[0], names[1], names[2], idef, rec->seq, nshards);
	if (!*next) {
		cat_idef_free(idef);
		return -ENOMEM;
	}
	return 0;
}
