/* SPDX-License-Identifier: MIT */
/*
 * The accumulator API: DDL, the writes (each one transaction of accumulator
 * entries, committed through the normal paths of api/commit.c), and the
 * reads (reductions at one snapshot, shard/acc.c).
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "acc/acc.h"
#include "api/catalog.h"
#include "api/db.h"
#include "api/kv.h"
#include "core/names.h"
#include "shard/acc.h"
#include "shard/ddl.h"
#include "shard/shard.h"
#include "txn/txn.h"
#include "wal/record.h"

static int acc_names_check(const char *project, const char *scope, const char *name)
{
	int rc = core_project_name_check(project, NULL);

	if (rc == 0)
		rc = core_name_check(scope, NULL);
	if (rc == 0)
		rc = core_name_check(name, NULL);
	return rc;
}

/* ---- DDL ---------------------------------------------------------------- */

AEDB_API int aedb_create_accumulator_with_options(struct aedb *db, const char *project,
						  const char *scope, const char *name,
						  const struct aedb_accumulator_options *opts)
{
	struct ddl_op op = { .kind = DDL_CREATE_ACC };
	struct req r = { .op = REQ_DDL, .ddl = &op };
	uint8_t enc[ACC_DEF_BYTES];
	struct cat_adef def;
	int rc;

	if (!db || !scope || !name || !opts)
		return -AEDB_EMISUSE;
	rc = acc_names_check(project, scope, name);
	if (rc == 0)
		rc = acc_def_from_opts(opts, &def);
	if (rc < 0)
		return rc;
	acc_def_encode(&def, enc);
	strcpy(op.project, project);
	strcpy(op.scope, scope);
	strcpy(op.table, name);
	op.tdef = enc;
	op.tdef_len = ACC_DEF_BYTES;
	return api_submit_wait(db, &r, 0);
}

AEDB_API int aedb_create_accumulator(struct aedb *db, const char *project, const char *scope,
				     const char *name)
{
	struct aedb_accumulator_options o;

	aedb_accumulator_options_init(&o);
	return aedb_create_accumulator_with_options(db, project, scope, name, &o);
}

AEDB_API int aedb_drop_accumulator(struct aedb *db, const char *project, const char *scope,
				   const char *name)
{
	struct ddl_op op = { .kind = DDL_DROP_ACC };
	struct req r = { .op = REQ_DDL, .ddl = &op };
	int rc;

	if (!db || !scope || !name)
		return -AEDB_EMISUSE;
	rc = acc_names_check(project, scope, name);
	if (rc < 0)
		return rc;
	strcpy(op.project, project);
	strcpy(op.scope, scope);
	strcpy(op.table, name);
	return api_submit_wait(db, &r, 0);
}

/* ---- writes ------------------------------------------------------------- */

/* Resolve the accumulator's namespace id (the write checks again on the
 * shards, where a concurrent drop is caught). */
static int acc_resolve_ns(struct aedb *db, const char *project, const char *scope,
			  const char *name, uint32_t *ns)
{
	ck_epoch_record_t *rec;
	struct cat_scope *sc;
	int rc = acc_names_check(project, scope, name);

	if (rc < 0)
		return rc;
	rec = api_reader_record(db);
	if (!rec)
		return -ENOMEM;
	api_read_begin(rec);
	rc = api_resolve_scope(db, project, scope, &sc);
	if (rc == 0) {
		sc = cat_find_acc(api_catalog_any(db), project, scope, name);
		if (sc)
			*ns = sc->id;
		else
			rc = -AEDB_ENOACC;
	}
	api_read_end(db, rec);
	return rc;
}

/* A dedupe key or exposure id: not NULL, 1..AEDB_ACC_KEY_MAX bytes, not
 * only white space. */
static int acc_str_check(const char *s)
{
	size_t n;

	if (!s)
		return -AEDB_EMISUSE;
	n = strlen(s);
	if (n > AEDB_ACC_KEY_MAX)
		return -AEDB_ETOOBIG;
	for (size_t i = 0; i < n; i++)
		if (!isspace((unsigned char)s[i]))
			return 0;
	return -AEDB_EINVAL;
}

/* Add an accumulator entry: @prefix ‖ @str is its key. */
static int acc_add(struct aedb_txn *t, uint8_t kind, uint32_t ns, uint8_t prefix,
		   const char *str, int64_t amount, uint64_t order)
{
	static const uint8_t partial_key[1] = { ACC_K_PARTIAL };
	static const uint8_t ledger_key[1] = { ACC_K_LEDGER };
	uint8_t key[AEDB_ACC_KEY_MAX + 1];
	size_t n = strlen(str);
	struct txn_item *it;
	int rc;

	key[0] = prefix;
	memcpy(key + 1, str, n);
	rc = txn_add_ns(t, kind, ns, key, n + 1, NULL, 0, &it);
	if (rc < 0)
		return rc;
	acc_le64(it->operand, (uint64_t)amount);
	it->version = order;
	if (kind == TXN_ACC) {
		/* On its lane's shard. Every delta of this accumulator there
		 * takes the partial's lock; it writes the dedupe record, the
		 * partial and the lane's order key. */
		it->shard = acc_lane_shard(acc_lane(str, n), ns, t->db->nshards);
		it->lock_hash = txn_lock_hash(ns, partial_key, 1);
		t->nacc++;
		t->log_bytes += ACC_DEDUPE_BYTES + 2 * WAL_REC_HDR_BYTES + 3 +
				ACC_PARTIAL_BYTES + 8;
	} else {
		/* On the home shard, under the ledger lock; it writes the
		 * exposure and the ledger totals. */
		it->shard = acc_home(t->db, ns);
		it->lock_hash = txn_lock_hash(ns, ledger_key, 1);
		t->nacc++;
		t->log_bytes += ACC_EXPOSURE_BYTES + WAL_REC_HDR_BYTES + 1 + 16;
	}
	return rc;
}

/* Check, resolve and add one entry: @str is the dedupe key (TXN_ACC) or the
 * exposure id. The entry's index, or an error (nothing added). */
static int acc_entry(struct aedb_txn *t, uint8_t kind, const char *project, const char *scope,
		     const char *name, const char *str, int64_t amount, uint64_t order)
{
	uint32_t ns = 0;
	int rc;

	if (!t)
		return -AEDB_EMISUSE;
	rc = acc_str_check(str);
	if (rc == 0 && kind == TXN_ACC && order == 0)
		rc = -AEDB_EORDER; /* the first order key must be >= 1 */
	if (rc == 0 && kind == TXN_ACC_EXPOSE && amount <= 0)
		rc = -AEDB_EINVAL;
	if (rc == 0)
		rc = acc_resolve_ns(t->db, project, scope, name, &ns);
	if (rc < 0)
		return rc;
	return acc_add(t, kind, ns, kind == TXN_ACC ? ACC_K_DEDUPE : ACC_K_EXPOSURE, str, amount,
		       order);
}

static int acc_fail(struct aedb_commit_result *res, int rc)
{
	if (res) {
		memset(res, 0, sizeof(*res));
		res->failed_index = -1;
	}
	return rc;
}

/* A one-call write: a new transaction of the accumulator entries @add adds. */
struct acc_call {
	const char *project, *scope, *name;
	int64_t amount;
	uint64_t order;
	const char *key, *release;            /* deltas */
	const struct aedb_exposure *list;     /* exposures */
	size_t n;
	uint8_t kind;
};

static int acc_call_add(struct aedb_txn *t, const struct acc_call *c)
{
	int rc = 0;

	switch (c->kind) {
	case TXN_ACC:
		t->acc_whole = 1;
		rc = acc_entry(t, TXN_ACC, c->project, c->scope, c->name, c->key, c->amount,
			       c->order);
		if (rc >= 0 && c->release)
			rc = acc_entry(t, TXN_ACC_RELEASE, c->project, c->scope, c->name,
				       c->release, 0, 0);
		return rc;
	case TXN_ACC_EXPOSE:
		if (c->n == 0 || c->n > ACC_BATCH_MAX)
			return -AEDB_EINVAL;
		for (size_t i = 0; rc >= 0 && i < c->n; i++)
			rc = acc_entry(t, TXN_ACC_EXPOSE, c->project, c->scope, c->name,
				       c->list[i].id, c->list[i].amount, 0);
		return rc;
	default:
		return acc_entry(t, TXN_ACC_RELEASE, c->project, c->scope, c->name, c->key, 0, 0);
	}
}

static int acc_call_commit(struct aedb *db, const struct acc_call *c, uint32_t finality,
			   struct aedb_commit_result *res)
{
	struct aedb_txn *t;
	int rc;

	if (!db)
		return acc_fail(res, -AEDB_EMISUSE);
	rc = aedb_txn_create(db, &t);
	if (rc < 0)
		return acc_fail(res, rc);
	rc = acc_call_add(t, c);
	if (rc >= 0)
		rc = aedb_txn_set_finality(t, finality);
	if (rc >= 0)
		rc = aedb_commit(db, t, res);
	else
		acc_fail(res, rc);
	aedb_txn_free(t);
	return rc;
}

AEDB_API int aedb_accumulate_with_release(struct aedb *db, const char *project,
					  const char *scope, const char *name, int64_t delta,
					  const char *dedupe_key, uint64_t order_key,
					  const char *release_id, uint32_t finality,
					  struct aedb_commit_result *res)
{
	struct acc_call c = { .project = project, .scope = scope, .name = name,
			      .amount = delta, .order = order_key, .key = dedupe_key,
			      .release = release_id, .kind = TXN_ACC };

	return acc_call_commit(db, &c, finality, res);
}

AEDB_API int aedb_accumulate(struct aedb *db, const char *project, const char *scope,
			     const char *name, int64_t delta, const char *dedupe_key,
			     uint64_t order_key, uint32_t finality, struct aedb_commit_result *res)
{
	return aedb_accumulate_with_release(db, project, scope, name, delta, dedupe_key,
					    order_key, NULL, finality, res);
}

AEDB_API int aedb_expose_accumulator_many_atomic(struct aedb *db, const char *project,
						 const char *scope, const char *name,
						 const struct aedb_exposure *list, size_t n,
						 uint32_t finality, struct aedb_commit_result *res)
{
	struct acc_call c = { .project = project, .scope = scope, .name = name, .list = list,
			      .n = n, .kind = TXN_ACC_EXPOSE };

	if (!list && n)
		return acc_fail(res, -AEDB_EMISUSE);
	return acc_call_commit(db, &c, finality, res);
}

AEDB_API int aedb_expose_accumulator(struct aedb *db, const char *project, const char *scope,
				     const char *name, int64_t amount, const char *id,
				     uint32_t finality, struct aedb_commit_result *res)
{
	struct aedb_exposure e = { .amount = amount, .id = id };

	return aedb_expose_accumulator_many_atomic(db, project, scope, name, &e, 1, finality,
						   res);
}

AEDB_API int aedb_release_accumulator_exposure(struct aedb *db, const char *project,
					       const char *scope, const char *name,
					       const char *id, uint32_t finality,
					       struct aedb_commit_result *res)
{
	struct acc_call c = { .project = project, .scope = scope, .name = name, .key = id,
			      .kind = TXN_ACC_RELEASE };

	return acc_call_commit(db, &c, finality, res);
}

/* ---- builder entries ---------------------------------------------------- */

AEDB_API int aedb_txn_accumulate(struct aedb_txn *t, const char *project, const char *scope,
				 const char *name, int64_t delta, const char *dedupe_key,
				 uint64_t order_key)
{
	return acc_entry(t, TXN_ACC, project, scope, name, dedupe_key, delta, order_key);
}

AEDB_API int aedb_txn_expose(struct aedb_txn *t, const char *project, const char *scope,
			     const char *name, int64_t amount, const char *id)
{
	return acc_entry(t, TXN_ACC_EXPOSE, project, scope, name, id, amount, 0);
}

AEDB_API int aedb_txn_release_exposure(struct aedb_txn *t, const char *project,
				       const char *scope, const char *name, const char *id)
{
	return acc_entry(t, TXN_ACC_RELEASE, project, scope, name, id, 0, 0);
}

/* ---- reads -------------------------------------------------------------- */

struct acc_read {
	struct acc_sum v;
	__int128 e;
	uint64_t nopen;
	uint64_t snap;
	uint32_t bps;
};

enum { ACC_R_VALUE = 1, ACC_R_LEDGER = 2 };

/* Resolve, take the snapshot, and reduce what @what asks for. */
static int acc_read(struct aedb *db, const char *project, const char *scope, const char *name,
		    struct aedb_at at, unsigned what, struct acc_read *out)
{
	ck_epoch_record_t *rec;
	struct cat_scope *sc;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!db || !scope || !name)
		return -AEDB_EMISUSE;
	if (at.pad)
		return -AEDB_EINVAL;
	rc = acc_names_check(project, scope, name);
	if (rc < 0)
		return rc;
	rec = api_reader_record(db);
	if (!rec)
		return -ENOMEM;
	api_read_begin(rec);
	rc = api_resolve_scope(db, project, scope, &sc);
	if (rc == 0)
		rc = api_snapshot(db, at.mode, at.seq, &out->snap);
	if (rc == 0) {
		sc = cat_find_acc(api_catalog_any(db), project, scope, name);
		if (!sc || sc->created_seq > out->snap)
			rc = -AEDB_ENOACC;
	}
	if (rc == 0 && (what & ACC_R_VALUE))
		rc = acc_reduce(db, sc, out->snap, &out->v);
	if (rc == 0 && (what & ACC_R_LEDGER))
		rc = acc_ledger(db, sc, out->snap, out->snap, &out->e, &out->nopen);
	if (rc == 0)
		out->bps = sc->adef->margin_bps;
	api_read_end(db, rec);
	return rc;
}

static int acc_store(int64_t *dst, __int128 v)
{
	if (!acc_fits_i64(v))
		return -AEDB_EOVERFLOW;
	*dst = (int64_t)v;
	return 0;
}

static int acc_value_read(struct aedb *db, const char *project, const char *scope,
			  const char *name, struct aedb_at at, int64_t *value, uint64_t *snap)
{
	struct acc_read r;
	int rc;

	if (!value)
		return -AEDB_EMISUSE;
	rc = acc_read(db, project, scope, name, at, ACC_R_VALUE, &r);
	if (rc == 0)
		rc = acc_store(value, r.v.sum);
	if (rc == 0 && snap)
		*snap = r.snap;
	return rc;
}

AEDB_API int aedb_accumulator_value(struct aedb *db, const char *project, const char *scope,
				    const char *name, struct aedb_at at, int64_t *value,
				    uint64_t *snapshot_seq)
{
	return acc_value_read(db, project, scope, name, at, value, snapshot_seq);
}

AEDB_API int aedb_accumulator_value_strong(struct aedb *db, const char *project,
					   const char *scope, const char *name, struct aedb_at at,
					   int64_t *value, uint64_t *snapshot_seq)
{
	return acc_value_read(db, project, scope, name, at, value, snapshot_seq);
}

AEDB_API int aedb_accumulator_lag(struct aedb *db, const char *project, const char *scope,
				  const char *name, struct aedb_at at,
				  struct aedb_accumulator_lag *lag, uint64_t *snapshot_seq)
{
	struct acc_read r;
	int rc;

	if (!lag)
		return -AEDB_EMISUSE;
	rc = acc_read(db, project, scope, name, at, ACC_R_VALUE, &r);
	if (rc < 0)
		return rc;
	memset(lag, 0, sizeof(*lag));
	lag->latest_order_key = lag->last_applied_order_key = r.v.max_order;
	lag->latest_seq = lag->materialized_seq = r.v.latest_seq;
	lag->deltas = r.v.count;
	lag->overflow = !acc_fits_i64(r.v.sum);
	if (snapshot_seq)
		*snapshot_seq = r.snap;
	return 0;
}

AEDB_API int aedb_accumulator_exposure(struct aedb *db, const char *project, const char *scope,
				       const char *name, struct aedb_at at, int64_t *exposure,
				       uint64_t *snapshot_seq)
{
	struct acc_read r;
	int rc;

	if (!exposure)
		return -AEDB_EMISUSE;
	rc = acc_read(db, project, scope, name, at, ACC_R_LEDGER, &r);
	if (rc == 0)
		rc = acc_store(exposure, r.e);
	if (rc == 0 && snapshot_seq)
		*snapshot_seq = r.snap;
	return rc;
}

AEDB_API int aedb_accumulator_available(struct aedb *db, const char *project,
					const char *scope, const char *name, struct aedb_at at,
					int64_t *available, uint64_t *snapshot_seq)
{
	struct acc_read r;
	int rc;

	if (!available)
		return -AEDB_EMISUSE;
	rc = acc_read(db, project, scope, name, at, ACC_R_VALUE | ACC_R_LEDGER, &r);
	if (rc == 0 && !acc_fits_i64(r.v.sum))
		rc = -AEDB_EOVERFLOW;
	if (rc == 0)
		rc = acc_store(available, r.v.sum - r.e);
	if (rc == 0 && snapshot_seq)
		*snapshot_seq = r.snap;
	return rc;
}

AEDB_API int aedb_accumulator_exposure_metrics(struct aedb *db, const char *project,
					       const char *scope, const char *name,
					       struct aedb_at at, struct aedb_exposure_metrics *m,
					       uint64_t *snapshot_seq)
{
	struct acc_read r;
	int rc;

	if (!m)
		return -AEDB_EMISUSE;
	rc = acc_read(db, project, scope, name, at, ACC_R_VALUE | ACC_R_LEDGER, &r);
	if (rc == 0 && !acc_fits_i64(r.v.sum))
		rc = -AEDB_EOVERFLOW;
	if (rc < 0)
		return rc;
	memset(m, 0, sizeof(*m));
	rc = acc_store(&m->total_exposure, r.e);
	if (rc == 0)
		rc = acc_store(&m->available, r.v.sum - r.e);
	if (rc < 0)
		return rc;
	m->limit = acc_limit(r.v.sum, r.bps);
	m->open_exposure_count = r.nopen;
	if (snapshot_seq)
		*snapshot_seq = r.snap;
	return 0;
}
