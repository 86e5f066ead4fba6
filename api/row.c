/* SPDX-License-Identifier: MIT */
/* Rows (issue 5): point reads, and one-row writes as one-entry transactions. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "api/catalog.h"
#include "api/db.h"
#include "api/kv.h"
#include "api/tdef.h"
#include "core/names.h"
#include "shard/kvmap.h"
#include "table/row.h"
#include "txn/row.h"

int api_resolve_table(struct aedb *db, const char *project, const char *scope,
		      const char *table, struct cat_scope **out)
{
	int rc;

	if (!table)
		return -AEDB_EMISUSE;
	rc = core_name_check(table, NULL);
	if (rc == 0)
		rc = api_resolve_scope(db, project, scope, out);
	if (rc < 0)
		return rc;
	*out = cat_find_table(api_catalog_any(db), project, scope, table);
	return *out ? 0 : -AEDB_ENOTABLE;
}

/* A new aedb_row holding a copy of version @v decoded with @s. */
static int api_row_new(const struct tv_schema *s, const struct kv_version *v, uint64_t snap,
		       struct aedb_row **out)
{
	struct aedb_row *row = malloc(sizeof(*row) + s->ncols * sizeof(struct aedb_value) +
				      v->len);
	uint8_t *data;
	int rc;

	if (!row)
		return -ENOMEM;
	row->values = (struct aedb_value *)(row + 1);
	data = (uint8_t *)(row->values + s->ncols);
	memcpy(data, v->data, v->len);
	rc = tv_row_decode(s, data, v->len, (struct tv_value *)row->values);
	if (rc < 0) {
		free(row);
		return rc;
	}
	row->version = v->seq;
	row->created_seq = v->created_seq;
	row->snapshot_seq = snap;
	row->ncols = s->ncols;
	row->pad = 0;
	*out = row;
	return 0;
}

AEDB_API int aedb_get_row(struct aedb *db, const char *project, const char *scope,
			  const char *table, const struct aedb_value *pk, uint32_t npk,
			  struct aedb_at at, struct aedb_row **out)
{
	const struct kv_version *v;
	ck_epoch_record_t *rec;
	struct cat_scope *sc;
	uint8_t *key = NULL;
	size_t klen = 0;
	uint64_t snap = 0;
	int rc;

	if (!db || !out || (!pk && npk) || !project || !scope || !table)
		return -AEDB_EMISUSE;
	*out = NULL;
	if (at.pad)
		return -AEDB_EINVAL;
	rec = api_reader_record(db);
	if (!rec)
		return -ENOMEM;
	api_read_begin(rec);
	rc = api_resolve_table(db, project, scope, table, &sc);
	if (rc == 0)
		rc = api_snapshot(db, at.mode, at.seq, &snap);
	if (rc == 0 && sc->created_seq > snap)
		rc = -AEDB_ENOTABLE;
	if (rc == 0)
		rc = txn_row_pk(&sc->tdef->schema, pk, npk, &key, &klen);
	if (rc == 0 && klen > db->cfg.max_key_bytes)
		rc = -AEDB_ETOOBIG;
	if (rc == 0) {
		v = api_kv_lookup(db, sc, key, (uint32_t)klen, snap);
		rc = v ? api_row_new(&cat_tdef_at(sc->tdef, snap)->schema, v, snap, out)
		       : -AEDB_ENOTFOUND;
	}
	api_read_end(db, rec);
	free(key);
	return rc;
}

AEDB_API void aedb_row_free(struct aedb_row *row)
{
	free(row);
}

/* One entry, committed and waited. @kind: 0 insert, 1 upsert, 2 delete. */
static int api_row_write(struct aedb *db, int kind, const char *project, const char *scope,
			 const char *table, const struct aedb_value *vals, uint32_t n,
			 uint32_t finality, struct aedb_commit_result *res)
{
	struct aedb_txn *t;
	int rc = aedb_txn_create(db, &t);

	if (rc < 0)
		return rc;
	/* -AEDB_ECONFLICT here only means the row's index entries went stale
	 * between building and committing (txn/index.c): build them again. */
	for (int attempt = 0; attempt < 16; attempt++) {
		aedb_txn_reset(t);
		rc = aedb_txn_set_finality(t, finality);
		if (rc == 0)
			rc = kind == 0 ? aedb_txn_insert(t, project, scope, table, vals, n)
			   : kind == 1 ? aedb_txn_upsert(t, project, scope, table, vals, n)
				       : aedb_txn_delete_row(t, project, scope, table, vals, n);
		if (rc >= 0)
			rc = aedb_commit(db, t, res);
		if (rc != -AEDB_ECONFLICT)
			break;
	}
	aedb_txn_free(t);
	return rc;
}

AEDB_API int aedb_insert_row(struct aedb *db, const char *project, const char *scope,
			     const char *table, const struct aedb_value *row, uint32_t ncols,
			     uint32_t finality, struct aedb_commit_result *res)
{
	return api_row_write(db, 0, project, scope, table, row, ncols, finality, res);
}

AEDB_API int aedb_upsert_row(struct aedb *db, const char *project, const char *scope,
			     const char *table, const struct aedb_value *row, uint32_t ncols,
			     uint32_t finality, struct aedb_commit_result *res)
{
	return api_row_write(db, 1, project, scope, table, row, ncols, finality, res);
}

AEDB_API int aedb_delete_row(struct aedb *db, const char *project, const char *scope,
			     const char *table, const struct aedb_value *pk, uint32_t npk,
			     uint32_t finality, struct aedb_commit_result *res)
{
	return api_row_write(db, 2, project, scope, table, pk, npk, finality, res);
}
