/* SPDX-License-Identifier: MIT */
/*
 * Where-mutations (issue 5): update-where, delete-where, the returning
 * form and claim-one. An attempt runs the caller's query (every column, in
 * schema order) at the latest snapshot through the query engine, then,
 * inside the same epoch section and at the same snapshot, turns each
 * selected row into a TXN_ROW_PUT or TXN_ROW_DEL entry plus a TXN_A_VERSION
 * guard holding the version it read. The commit fails with -AEDB_EASSERT if
 * any of those rows changed or vanished since; the attempt is then dropped
 * and the next one starts from a new snapshot (AEDB_MUTATE_ATTEMPTS in all,
 * then -AEDB_ECONFLICT). So a concurrent change is never overwritten, and
 * two claimers never take the same row.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "api/catalog.h"
#include "api/db.h"
#include "api/kv.h"
#include "api/mutate.h"
#include "api/query.h"
#include "api/tdef.h"
#include "core/assert.h"
#include "shard/kvmap.h"
#include "table/query_int.h"
#include "table/row.h"
#include "txn/row.h"
#include "txn/txn.h"

/* What aedb_mutation points into. */
struct api_mut_box {
	struct aedb_mutation pub;
	struct tv_result *r;      /* the selected rows: before, names */
	struct tv_value *after;   /* nrows * ncols, into bufs */
	uint8_t **bufs;           /* the encoded new rows */
	uint64_t nbufs;
};

/* One where-mutation call. */
struct api_mut {
	struct aedb *db;
	struct tv_query q;            /* the caller's, every column, maybe LIMIT 1 */
	uint32_t op;                  /* enum aedb_mutate_op */
	const struct aedb_set *in_sets;
	uint32_t nsets;
	struct api_set *sets;
	struct aedb_txn *t;
	struct tv_result *r;          /* this attempt's selected rows */
	struct api_mut_box *box;      /* returning: the new rows */
	struct tv_value *scratch;     /* ncols values */
	struct tv_query_opts o;
	struct tv_qerr err;
	uint64_t snap;
	bool returning;
};

AEDB_API void aedb_mutation_free(struct aedb_mutation *m)
{
	struct api_mut_box *b;

	if (!m)
		return;
	b = m->priv;
	tv_result_free(b->r);
	for (uint64_t i = 0; i < b->nbufs; i++)
		free(b->bufs[i]);
	free(b->bufs);
	free(b->after);
	free(b);
}

/* Turn selected row @i into its entries (and, returning, its new row). */
static int api_mut_row(struct api_mut *m, const struct cat_scope *sc, uint64_t i)
{
	const struct tv_schema *s = &sc->tdef->schema;
	const struct tv_value *old = &m->r->rows[i * s->ncols];
	struct aedb_value pk[TV_PK_COLUMNS_MAX];
	uint8_t *key = NULL, *nkey = NULL, *nval = NULL;
	size_t klen = 0, nklen = 0, nvlen = 0;
	const struct kv_version *v;
	struct txn_item *it;
	int rc;

	for (uint32_t k = 0; k < s->npk; k++)
		memcpy(&pk[k], &old[s->pk[k]], sizeof(pk[k]));
	rc = txn_row_pk(s, pk, s->npk, &key, &klen);
	if (rc < 0)
		return rc;
	/* Same snapshot, same epoch section: the row the query returned. */
	v = klen <= UINT32_MAX ? api_kv_lookup(m->db, sc, key, (uint32_t)klen, m->snap) : NULL;
	rc = v ? api_guard_add(m->t, sc->id, key, klen, v->seq) : -AEDB_ECORRUPT;
	if (rc >= 0 && m->op == AEDB_MUTATE_DELETE)
		rc = txn_add_ns(m->t, TXN_ROW_DEL, sc->id, key, klen, NULL, 0, &it);
	free(key);
	if (rc < 0 || m->op == AEDB_MUTATE_DELETE)
		return rc < 0 ? rc : 0;
	rc = api_sets_apply(s, m->sets, m->nsets, old, NULL, m->scratch);
	if (rc == 0)
		rc = txn_row_encode(s, (const struct aedb_value *)m->scratch, s->ncols, &nkey,
				    &nklen, &nval, &nvlen);
	if (rc < 0)
		return rc;
	rc = txn_add_ns(m->t, TXN_ROW_PUT, sc->id, nkey, nklen, nval, nvlen, &it);
	if (rc >= 0 && m->box) {
		m->box->bufs[m->box->nbufs++] = nkey;
		return tv_row_decode(s, nval, nvlen, &m->box->after[i * s->ncols]);
	}
	free(nkey);
	return rc < 0 ? rc : 0;
}

/* Allocate the returning box for @n rows of @ncols. */
static int api_mut_box_new(struct api_mut *m, uint64_t n, uint32_t ncols)
{
	struct api_mut_box *b = calloc(1, sizeof(*b));

	if (!b)
		return -ENOMEM;
	m->box = b;
	b->pub.priv = b;
	b->bufs = calloc(n ? n : 1, sizeof(*b->bufs));
	b->after = calloc(n * ncols + 1, sizeof(*b->after));
	return b->bufs && b->after ? 0 : -ENOMEM;
}

/* Inside the query's epoch section: select, then build the entries. */
static int api_mut_fn(const struct tv_env *env, void *arg)
{
	struct api_mut *m = arg;
	const struct cat_scope *sc;
	const struct tv_schema *s;
	int rc;

	m->snap = env->snapshot_seq;
	rc = tv_query_run(env, &m->q, &m->o, &m->r, &m->err);
	if (rc < 0)
		return rc;
	sc = api_query_table(env, m->q.table);
	AEDB_ASSERT(sc != NULL && sc->tdef != NULL);
	/* Read before an ALTER TABLE that is published but not yet
	 * visible: the rows are in the old format; start over. */
	if (cat_tdef_at(sc->tdef, m->snap) != sc->tdef)
		return -AEDB_ECONFLICT;
	s = &sc->tdef->schema;
	AEDB_ASSERT(m->r->ncols == s->ncols);
	if (m->r->nrows > AEDB_TXN_MAX_ENTRIES / 2)
		return -AEDB_ETOOBIG;
	rc = api_sets_resolve(s, m->in_sets, m->nsets, false, m->sets);
	if (rc == 0 && !(m->scratch = calloc(s->ncols, sizeof(*m->scratch))))
		rc = -ENOMEM;
	if (rc == 0 && m->returning && m->op == AEDB_MUTATE_UPDATE)
		rc = api_mut_box_new(m, m->r->nrows, s->ncols);
	for (uint64_t i = 0; rc == 0 && i < m->r->nrows; i++)
		rc = api_mut_row(m, sc, i);
	return rc;
}

/* Drop one attempt's state. */
static void api_mut_reset(struct api_mut *m)
{
	if (m->box) {
		m->box->r = NULL;
		aedb_mutation_free(&m->box->pub);
		m->box = NULL;
	}
	tv_result_free(m->r);
	m->r = NULL;
	aedb_txn_free(m->t);
	m->t = NULL;
	free(m->scratch);
	m->scratch = NULL;
}

/* One attempt: 0 (committed, or nothing matched: res->seq 0), an error, or
 * -AEDB_EASSERT: a guard failed, try again. */
static int api_mut_attempt(struct api_mut *m, const char *project, const char *scope,
			   uint32_t finality, struct aedb_commit_result *res)
{
	int rc = aedb_txn_create(m->db, &m->t);

	if (rc == 0)
		rc = aedb_txn_set_finality(m->t, finality);
	if (rc < 0)
		return rc;
	memset(&m->err, 0, sizeof(m->err));
	rc = api_query_with(m->db, project, scope, aedb_at_latest(), api_mut_fn, m);
	if (rc < 0)
		return api_query_public(rc);
	memset(res, 0, sizeof(*res));
	res->failed_index = -1;
	if (m->t->nmut == 0)
		return 0;
	return aedb_commit(m->db, m->t, res);
}

/* Hand the selected rows (and new ones) out as an aedb_mutation. */
static int api_mut_out(struct api_mut *m, const struct aedb_commit_result *res,
		       uint32_t attempts, struct aedb_mutation **out)
{
	struct aedb_mutation *p;

	if (!m->box && api_mut_box_new(m, 0, 0) < 0)
		return -ENOMEM;
	p = &m->box->pub;
	p->seq = res->seq;
	p->snapshot_seq = m->snap;
	p->nrows = m->r->nrows;
	p->ncols = m->r->ncols;
	p->attempts = attempts;
	p->names = m->r->names;
	p->before = (const struct aedb_value *)m->r->rows;
	p->after = m->op == AEDB_MUTATE_UPDATE ? (const struct aedb_value *)m->box->after
					       : NULL;
	p->priv = m->box;
	m->box->r = m->r;
	m->r = NULL;
	m->box = NULL;
	*out = p;
	return 0;
}

/* The query checks of a where-mutation: a plain one-table query. */
static int api_mut_check(const struct tv_query *q, uint32_t op, uint32_t nsets)
{
	if (q->njoins || q->ngroup || q->naggs || q->having || q->nselect || q->offset ||
	    q->cursor)
		return -AEDB_EINVAL;
	if (op == AEDB_MUTATE_UPDATE)
		return nsets ? 0 : -AEDB_EINVAL;
	return op == AEDB_MUTATE_DELETE && !nsets ? 0 : -AEDB_EINVAL;
}

static int api_mutate(struct aedb *db, const char *project, const char *scope,
		      const struct aedb_query *q, uint32_t op, const struct aedb_set *sets,
		      uint32_t nsets, uint32_t finality, bool claim,
		      struct aedb_commit_result *res, struct aedb_mutation **out)
{
	struct aedb_commit_result dummy;
	struct api_mut *m;
	int rc = -AEDB_ECONFLICT, attempt;

	if (!db || !q || (!sets && nsets))
		return -AEDB_EMISUSE;
	rc = api_mut_check((const struct tv_query *)q, op, nsets);
	if (rc < 0)
		return rc;
	m = calloc(1, sizeof(*m));
	if (!m || !(m->sets = calloc(nsets ? nsets : 1, sizeof(*m->sets)))) {
		free(m);
		return -ENOMEM;
	}
	m->db = db;
	m->q = *(const struct tv_query *)q;
	if (claim) {
		m->q.has_limit = true;
		m->q.limit = 1;
	}
	m->op = op;
	m->in_sets = sets;
	m->nsets = nsets;
	m->returning = out != NULL;
	tv_query_opts_init(&m->o);
	m->o.max_scan_rows = db->cfg.max_scan_rows;
	res = res ? res : &dummy;
	rc = -AEDB_ECONFLICT;
	for (attempt = 1; attempt <= AEDB_MUTATE_ATTEMPTS; attempt++) {
		rc = api_mut_attempt(m, project, scope, finality, res);
		/* a guard failed, or an index of the table came or went */
		if (rc != -AEDB_EASSERT && rc != -AEDB_ECONFLICT)
			break;
		api_mut_reset(m);
		rc = -AEDB_ECONFLICT;
	}
	if (rc >= 0) {
		uint64_t n = m->r->nrows;

		rc = out ? api_mut_out(m, res, (uint32_t)attempt, out) : 0;
		rc = rc < 0 ? rc : (int)n;
	}
	api_mut_reset(m);
	free(m->sets);
	free(m);
	return rc;
}

AEDB_API int aedb_update_where(struct aedb *db, const char *project, const char *scope,
			       const struct aedb_query *q, const struct aedb_set *sets,
			       uint32_t nsets, uint32_t finality, struct aedb_commit_result *res)
{
	return api_mutate(db, project, scope, q, AEDB_MUTATE_UPDATE, sets, nsets, finality,
			  false, res, NULL);
}

AEDB_API int aedb_delete_where(struct aedb *db, const char *project, const char *scope,
			       const struct aedb_query *q, uint32_t finality,
			       struct aedb_commit_result *res)
{
	return api_mutate(db, project, scope, q, AEDB_MUTATE_DELETE, NULL, 0, finality, false,
			  res, NULL);
}

AEDB_API int aedb_mutate_where_returning(struct aedb *db, const char *project,
					 const char *scope, const struct aedb_query *q,
					 uint32_t op, const struct aedb_set *sets, uint32_t nsets,
					 uint32_t finality, struct aedb_mutation **out)
{
	if (!out)
		return -AEDB_EMISUSE;
	*out = NULL;
	return api_mutate(db, project, scope, q, op, sets, nsets, finality, false, NULL, out);
}

AEDB_API int aedb_claim_one(struct aedb *db, const char *project, const char *scope,
			    const struct aedb_query *q, const struct aedb_set *sets,
			    uint32_t nsets, uint32_t finality, struct aedb_mutation **out)
{
	int rc;

	if (!out)
		return -AEDB_EMISUSE;
	*out = NULL;
	rc = api_mutate(db, project, scope, q, AEDB_MUTATE_UPDATE, sets, nsets, finality, true,
			NULL, out);
	if (rc == 0) {
		aedb_mutation_free(*out);
		*out = NULL;
	}
	return rc;
}
