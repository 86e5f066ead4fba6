/* SPDX-License-Identifier: MIT */
/*
 * Row mutations (issue 5): aedb_txn_insert/upsert/delete_row. A row is
 * validated against its table's definition when it is added (types, NULLs,
 * defaults filled, sizes) and encoded there: the entry is then an ordinary
 * transaction entry in the table's namespace, key = the encoded primary key,
 * value = the encoded row, owned by shard core_kv_shard(table id, key).
 * Definitions are immutable and ids never reused, so at commit only the
 * table's existence is checked again (-AEDB_ENOTABLE).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "api/catalog.h"
#include "api/db.h"
#include "api/tcheck.h"
#include "api/tdef.h"
#include "table/keyenc.h"
#include "table/row.h"
#include "txn/row.h"
#include "txn/txn.h"

int txn_row_error(int err)
{
	if (err == -TV_ENULL)
		return -AEDB_ENOTNULL;
	return tv_error_public(err);
}

/* The public values as table-layer values: same layout, floats canonical. */
static void txn_row_values(const struct aedb_value *in, uint32_t n, struct tv_value *out)
{
	memcpy(out, in, n * sizeof(*out));
	for (uint32_t i = 0; i < n; i++) {
		memset(out[i].reserved, 0, sizeof(out[i].reserved));
		if (out[i].type == TV_FLOAT)
			out[i].u.f64 = tv_f64_canon(out[i].u.f64);
	}
}

/* Encode the primary key @pk[0..@n) of @s into a new buffer. */
int txn_row_pk(const struct tv_schema *s, const struct aedb_value *pk, uint32_t n,
	       uint8_t **key, size_t *key_len)
{
	struct tv_value v[TV_PK_COLUMNS_MAX];
	int rc;

	if (n != s->npk)
		return -AEDB_EINVAL;
	txn_row_values(pk, n, v);
	for (uint32_t i = 0; i < n; i++) {
		if (v[i].type == TV_NULL)
			return -AEDB_ENOTNULL;
		if (v[i].type != s->cols[s->pk[i]].type)
			return -AEDB_ETYPE;
		if (tv_type_is_var(v[i].type) && v[i].len && !v[i].u.bytes)
			return -AEDB_EMISUSE;
		rc = tv_value_check(&v[i]);
		if (rc < 0)
			return txn_row_error(rc);
	}
	rc = tv_key_encode(v, n, NULL, 0, key_len);
	if (rc < 0 && rc != -AEDB_ETOOBIG)
		return rc;
	*key = malloc(*key_len ? *key_len : 1);
	if (!*key)
		return -ENOMEM;
	rc = tv_key_encode(v, n, *key, *key_len, key_len);
	if (rc < 0)
		free(*key);
	return rc;
}

/* Check, fill and encode row @row[0..@n) of @s: the key and the row in new
 * buffers (one allocation, *@key first). */
int txn_row_encode(const struct tv_schema *s, const struct aedb_value *row, uint32_t n,
		   uint8_t **key, size_t *key_len, uint8_t **val, size_t *val_len)
{
	struct tv_value *v;
	size_t rsize = 0, ksize = 0;
	uint8_t *buf = NULL;
	int rc;

	if (n != s->ncols)
		return -AEDB_EINVAL;
	for (uint32_t i = 0; i < n; i++)
		if (tv_type_is_var(row[i].type) && row[i].len && !row[i].u.bytes)
			return -AEDB_EMISUSE;
	v = malloc(n * sizeof(*v));
	if (!v)
		return -ENOMEM;
	txn_row_values(row, n, v);
	rc = tv_schema_row_check(s, v, n, NULL);
	if (rc == 0)
		rc = cat_checks_eval(s, v, NULL);
	if (rc == 0)
		rc = tv_row_size(s, v, &rsize, NULL);
	if (rc == 0) {
		rc = tv_schema_pk_encode(s, v, NULL, 0, &ksize);
		rc = rc == -AEDB_ETOOBIG ? 0 : rc;
	}
	if (rc == 0 && !(buf = malloc(ksize + rsize + 1)))
		rc = -ENOMEM;
	if (rc == 0)
		rc = tv_schema_pk_encode(s, v, buf, ksize, key_len);
	if (rc == 0)
		rc = tv_row_encode(s, v, buf + ksize, rsize, val_len, NULL);
	free(v);
	if (rc < 0) {
		free(buf);
		return txn_row_error(rc);
	}
	*key = buf;
	*val = buf + ksize;
	return 0;
}

/* Resolve the table and encode under one epoch section; then add. */
static int txn_row_add(struct aedb_txn *t, uint8_t kind, const char *project,
		       const char *scope, const char *table, const struct aedb_value *vals,
		       uint32_t n)
{
	ck_epoch_record_t *rec;
	struct cat_scope *sc;
	struct txn_item *it;
	uint8_t *key = NULL, *val = NULL;
	size_t klen = 0, vlen = 0;
	uint32_t ns = 0;
	int rc;

	if (!t || !project || !scope || !table || (!vals && n))
		return -AEDB_EMISUSE;
	rec = api_reader_record(t->db);
	if (!rec)
		return -ENOMEM;
	api_read_begin(rec);
	rc = api_resolve_table(t->db, project, scope, table, &sc);
	if (rc == 0 && kind == TXN_ROW_DEL)
		rc = txn_row_pk(&sc->tdef->schema, vals, n, &key, &klen);
	else if (rc == 0)
		rc = txn_row_encode(&sc->tdef->schema, vals, n, &key, &klen, &val, &vlen);
	if (rc == 0)
		ns = sc->id;
	api_read_end(t->db, rec);
	if (rc == 0)
		rc = txn_add_ns(t, kind, ns, key, klen, val, vlen, &it);
	free(key);
	return rc;
}

AEDB_API int aedb_txn_insert(struct aedb_txn *txn, const char *project, const char *scope,
			     const char *table, const struct aedb_value *row, uint32_t ncols)
{
	return txn_row_add(txn, TXN_ROW_INS, project, scope, table, row, ncols);
}

AEDB_API int aedb_txn_upsert(struct aedb_txn *txn, const char *project, const char *scope,
			     const char *table, const struct aedb_value *row, uint32_t ncols)
{
	return txn_row_add(txn, TXN_ROW_PUT, project, scope, table, row, ncols);
}

AEDB_API int aedb_txn_delete_row(struct aedb_txn *txn, const char *project, const char *scope,
				 const char *table, const struct aedb_value *pk, uint32_t npk)
{
	return txn_row_add(txn, TXN_ROW_DEL, project, scope, table, pk, npk);
}
