/* SPDX-License-Identifier: MIT */
/* Secondary indexes: the public calls (docs/TABLES.md "Secondary indexes"). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "api/catalog.h"
#include "api/db.h"
#include "api/idef.h"
#include "api/tdef.h"
#include "core/names.h"
#include "shard/ddl.h"
#include "shard/shard.h"
#include "txn/row.h"

#define API_IDEF_BYTES_MAX (1u << 20)

static int api_index_names(const char *project, const char *scope, const char *table,
			   const char *index)
{
	int rc;

	if (!scope || !table || !index)
		return -AEDB_EMISUSE;
	rc = core_project_name_check(project, NULL);
	if (rc == 0)
		rc = core_name_check(scope, NULL);
	if (rc == 0)
		rc = core_name_check(table, NULL);
	if (rc == 0)
		rc = core_name_check(index, NULL);
	return rc;
}

AEDB_API int aedb_create_index(struct aedb *db, const char *project, const char *scope,
			       const char *table, const struct aedb_index_def *def)
{
	struct ddl_op op = { .kind = DDL_CREATE_INDEX };
	struct req r = { .op = REQ_DDL, .ddl = &op };
	ck_epoch_record_t *rec;
	struct cat_scope *sc;
	uint8_t *enc = NULL;
	int rc;

	if (!db || !def)
		return -AEDB_EMISUSE;
	rc = api_index_names(project, scope, table, def->name ? def->name : "");
	if (rc < 0)
		return def->name ? rc : -AEDB_EMISUSE;
	rec = api_reader_record(db);
	if (!rec)
		return -ENOMEM;
	/* Checked against the definition here; shard 0 decodes it again
	 * against the same (immutable) definition. */
	api_read_begin(rec);
	rc = api_resolve_table(db, project, scope, table, &sc);
	if (rc == 0)
		rc = cat_idef_encode(&sc->tdef->schema, def, &enc, &op.tdef_len);
	api_read_end(db, rec);
	if (rc == 0 && op.tdef_len > API_IDEF_BYTES_MAX)
		rc = -AEDB_ETOOBIG;
	if (rc < 0) {
		free(enc);
		return rc;
	}
	strcpy(op.project, project);
	strcpy(op.scope, scope);
	strcpy(op.table, table);
	strcpy(op.index, def->name);
	op.tdef = enc;
	rc = api_submit_wait(db, &r, 0);
	free(enc);
	return rc;
}

AEDB_API int aedb_drop_index(struct aedb *db, const char *project, const char *scope,
			     const char *table, const char *index)
{
	struct ddl_op op = { .kind = DDL_DROP_INDEX };
	struct req r = { .op = REQ_DDL, .ddl = &op };
	int rc;

	if (!db)
		return -AEDB_EMISUSE;
	rc = api_index_names(project, scope, table, index);
	if (rc < 0)
		return rc;
	strcpy(op.project, project);
	strcpy(op.scope, scope);
	strcpy(op.table, table);
	strcpy(op.index, index);
	op.tdef = (const uint8_t *)op.index;
	op.tdef_len = (uint32_t)strlen(op.index);
	return api_submit_wait(db, &r, 0);
}

size_t api_index_info_bytes(const struct catalog *cat, const struct cat_scope *t)
{
	struct cat_scope *const *ix;
	uint32_t n;
	size_t bytes = 0;

	cat_table_indexes(cat, t, &ix, &n);
	for (uint32_t i = 0; i < n; i++) {
		const struct cat_idef *x = ix[i]->idef;

		bytes += sizeof(struct aedb_index_info) + x->ncols * sizeof(char *) +
			 strlen(x->name) + 1;
		for (uint32_t c = 0; c < x->ncols; c++)
			bytes += strlen(x->colnames[c]) + 1;
	}
	return bytes;
}

void api_index_info_fill(const struct catalog *cat, const struct cat_scope *t,
			 struct aedb_table_info *info, void *area)
{
	struct cat_scope *const *ix;
	struct aedb_index_info *out = area;
	const char **cols;
	char *p;
	uint32_t n, ncols = 0;

	cat_table_indexes(cat, t, &ix, &n);
	for (uint32_t i = 0; i < n; i++)
		ncols += ix[i]->idef->ncols;
	cols = (const char **)(out + n);
	p = (char *)(cols + ncols);
	for (uint32_t i = 0; i < n; i++) {
		const struct cat_idef *x = ix[i]->idef;

		out[i].name = strcpy(p, x->name);
		p += strlen(p) + 1;
		out[i].columns = cols;
		out[i].ncolumns = x->ncols;
		out[i].flags = (x->unique ? AEDB_INDEX_UNIQUE : 0) |
			       (x->partial ? AEDB_INDEX_PARTIAL : 0);
		out[i].id = ix[i]->id;
		out[i].created_seq = ix[i]->created_seq;
		for (uint32_t c = 0; c < x->ncols; c++) {
			*cols++ = strcpy(p, x->colnames[c]);
			p += strlen(p) + 1;
		}
	}
	info->nindexes = n;
	info->indexes = n ? out : NULL;
}
