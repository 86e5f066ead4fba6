/* SPDX-License-Identifier: MIT */
/* Namespace API: projects, scopes and tables. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "api/db.h"
#include "api/idef.h"
#include "api/tcheck.h"
#include "api/tdef.h"
#include "core/names.h"
#include "shard/ddl.h"
#include "shard/shard.h"

static int api_ddl(struct aedb *db, uint32_t kind, const char *project, const char *scope)
{
	struct ddl_op op = { .kind = kind };
	struct req r = { .op = REQ_DDL, .ddl = &op };
	int rc;

	if (!db)
		return -AEDB_EMISUSE;
	rc = core_project_name_check(project, NULL);
	if (rc == 0 && scope)
		rc = core_name_check(scope, NULL);
	if (rc < 0)
		return rc;
	strcpy(op.project, project);
	if (scope)
		strcpy(op.scope, scope);
	return api_submit_wait(db, &r, 0);
}

AEDB_API int aedb_create_project(struct aedb *db, const char *project)
{
	return api_ddl(db, DDL_CREATE_PROJECT, project, NULL);
}

AEDB_API int aedb_drop_project(struct aedb *db, const char *project)
{
	return api_ddl(db, DDL_DROP_PROJECT, project, NULL);
}

AEDB_API int aedb_create_scope(struct aedb *db, const char *project, const char *scope)
{
	if (!scope)
		return -AEDB_EMISUSE;
	return api_ddl(db, DDL_CREATE_SCOPE, project, scope);
}

AEDB_API int aedb_drop_scope(struct aedb *db, const char *project, const char *scope)
{
	if (!scope)
		return -AEDB_EMISUSE;
	return api_ddl(db, DDL_DROP_SCOPE, project, scope);
}

/* Run @fn on the latest catalog inside an epoch section. */
static int api_with_catalog(struct aedb *db, int (*fn)(const struct catalog *, void *),
			    void *arg)
{
	ck_epoch_record_t *rec;
	int rc;

	if (!db)
		return -AEDB_EMISUSE;
	rec = api_reader_record(db);
	if (!rec)
		return -ENOMEM;
	api_read_begin(rec);
	rc = fn(api_catalog_any(db), arg);
	api_read_end(db, rec);
	return rc;
}

struct api_ns_query {
	const char *project;
	const char *scope;
	uint32_t id;
	struct aedb_names *names;
};

static int api_project_exists_fn(const struct catalog *cat, void *arg)
{
	struct api_ns_query *q = arg;

	return cat_find_project(cat, q->project) != NULL;
}

AEDB_API int aedb_project_exists(struct aedb *db, const char *project)
{
	struct api_ns_query q = { .project = project };
	int rc = core_project_name_check(project, NULL);

	if (rc < 0)
		return rc;
	return api_with_catalog(db, api_project_exists_fn, &q);
}

static int api_scope_exists_fn(const struct catalog *cat, void *arg)
{
	struct api_ns_query *q = arg;

	return cat_find_scope(cat, q->project, q->scope) != NULL;
}

AEDB_API int aedb_scope_exists(struct aedb *db, const char *project, const char *scope)
{
	struct api_ns_query q = { .project = project, .scope = scope };
	int rc = core_project_name_check(project, NULL);

	if (rc == 0)
		rc = core_name_check(scope, NULL);
	if (rc < 0)
		return rc;
	return api_with_catalog(db, api_scope_exists_fn, &q);
}

static int api_scope_id_fn(const struct catalog *cat, void *arg)
{
	struct api_ns_query *q = arg;
	const struct cat_scope *sc = cat_find_scope(cat, q->project, q->scope);

	if (!sc)
		return cat_find_project(cat, q->project) ? -AEDB_ENOSCOPE : -AEDB_ENOPROJECT;
	q->id = sc->id;
	return 0;
}

AEDB_API int aedb_scope_id(struct aedb *db, const char *project, const char *scope,
			   uint32_t *id)
{
	struct api_ns_query q = { .project = project, .scope = scope };
	int rc;

	if (!id)
		return -AEDB_EMISUSE;
	rc = core_project_name_check(project, NULL);
	if (rc == 0)
		rc = core_name_check(scope, NULL);
	if (rc == 0)
		rc = api_with_catalog(db, api_scope_id_fn, &q);
	if (rc == 0)
		*id = q.id;
	return rc;
}

/* One allocation: the struct, the pointer array, then the strings. */
static struct aedb_names *api_names_new(const char *const *src, uint32_t n)
{
	size_t bytes = sizeof(struct aedb_names) + n * sizeof(char *);
	struct aedb_names *out;
	char *p;

	for (uint32_t i = 0; i < n; i++)
		bytes += strlen(src[i]) + 1;
	out = malloc(bytes);
	if (!out)
		return NULL;
	out->count = n;
	out->names = (const char **)(out + 1);
	p = (char *)(out->names + n);
	for (uint32_t i = 0; i < n; i++) {
		size_t len = strlen(src[i]) + 1;

		memcpy(p, src[i], len);
		out->names[i] = p;
		p += len;
	}
	return out;
}

static int api_list_fn(const struct catalog *cat, void *arg)
{
	struct api_ns_query *q = arg;
	const char **tmp = malloc((cat->nscopes + cat->nprojects + 1) * sizeof(*tmp));
	uint32_t n = 0;

	if (!tmp)
		return -ENOMEM;
	if (!q->project) {
		for (uint32_t i = 0; i < cat->nprojects; i++)
			tmp[n++] = cat->projects[i]->name;
	} else if (!cat_find_project(cat, q->project)) {
		free(tmp);
		return -AEDB_ENOPROJECT;
	} else {
		for (uint32_t i = 0; i < cat->nscopes; i++)
			if (strcmp(cat->scopes[i]->project, q->project) == 0 &&
			    !cat->scopes[i]->table[0])
				tmp[n++] = cat->scopes[i]->name;
	}
	q->names = api_names_new(tmp, n);
	free(tmp);
	return q->names ? 0 : -ENOMEM;
}

AEDB_API int aedb_list_projects(struct aedb *db, struct aedb_names **out)
{
	struct api_ns_query q = { 0 };
	int rc;

	if (!out)
		return -AEDB_EMISUSE;
	rc = api_with_catalog(db, api_list_fn, &q);
	if (rc == 0)
		*out = q.names;
	return rc;
}

AEDB_API int aedb_list_scopes(struct aedb *db, const char *project, struct aedb_names **out)
{
	struct api_ns_query q = { .project = project };
	int rc;

	if (!out)
		return -AEDB_EMISUSE;
	rc = core_project_name_check(project, NULL);
	if (rc == 0)
		rc = api_with_catalog(db, api_list_fn, &q);
	if (rc == 0)
		*out = q.names;
	return rc;
}

AEDB_API void aedb_names_free(struct aedb_names *names)
{
	free(names);
}

/* ---- tables ------------------------------------------------------------- */

AEDB_API int aedb_create_table(struct aedb *db, const char *project, const char *scope,
			       const struct aedb_table_def *def)
{
	return aedb_create_table_checked(db, project, scope, def, NULL, 0);
}

AEDB_API int aedb_create_table_checked(struct aedb *db, const char *project, const char *scope,
				       const struct aedb_table_def *def,
				       const struct aedb_check_def *checks, uint32_t nchecks)
{
	struct ddl_op op = { .kind = DDL_CREATE_TABLE };
	struct req r = { .op = REQ_DDL, .ddl = &op };
	uint8_t *enc = NULL;
	int rc;

	if (!db || !scope || !def)
		return -AEDB_EMISUSE;
	rc = core_project_name_check(project, NULL);
	if (rc == 0)
		rc = core_name_check(scope, NULL);
	if (rc == 0)
		rc = cat_tdef_encode_checks(def, checks, nchecks, &enc, &op.tdef_len);
	if (rc < 0)
		return rc;
	strcpy(op.project, project);
	strcpy(op.scope, scope);
	strcpy(op.table, def->name);
	op.tdef = enc;
	rc = api_submit_wait(db, &r, 0);
	free(enc);
	return rc;
}

AEDB_API int aedb_drop_table(struct aedb *db, const char *project, const char *scope,
			     const char *table)
{
	struct ddl_op op = { .kind = DDL_DROP_TABLE };
	struct req r = { .op = REQ_DDL, .ddl = &op };
	int rc;

	if (!db || !scope || !table)
		return -AEDB_EMISUSE;
	rc = core_project_name_check(project, NULL);
	if (rc == 0)
		rc = core_name_check(scope, NULL);
	if (rc == 0)
		rc = core_name_check(table, NULL);
	if (rc < 0)
		return rc;
	strcpy(op.project, project);
	strcpy(op.scope, scope);
	strcpy(op.table, table);
	return api_submit_wait(db, &r, 0);
}

struct api_table_query {
	const char *project;
	const char *scope;
	const char *table;
	struct aedb_table_info *info;
	struct aedb_names *names;
};

/* Names are checked; resolve the scope, and the table if one is named. */
static int api_table_find(const struct catalog *cat, const struct api_table_query *q,
			  const struct cat_scope **out)
{
	if (!cat_find_scope(cat, q->project, q->scope))
		return cat_find_project(cat, q->project) ? -AEDB_ENOSCOPE : -AEDB_ENOPROJECT;
	if (!q->table)
		return 0;
	*out = cat_find_table(cat, q->project, q->scope, q->table);
	return *out ? 0 : -AEDB_ENOTABLE;
}

/* One allocation: the info, columns, PK names, the encoding, the names. */
static struct aedb_table_info *api_table_info_new(const struct catalog *cat,
						  const struct cat_scope *t)
{
	const struct tv_schema *s = &t->tdef->schema;
	size_t bytes = sizeof(struct aedb_table_info) + s->ncols * sizeof(struct aedb_column_def) +
		       s->npk * sizeof(char *) + t->tdef->enc_len + strlen(s->name) + 1;
	size_t ixat, ckat;
	struct aedb_table_info *info;
	struct aedb_column_def *cols;
	const char **pk;
	uint8_t *enc;
	char *p;

	for (uint32_t i = 0; i < s->ncols; i++)
		bytes += strlen(s->cols[i].name) + 1;
	ixat = (bytes + 7) & ~(size_t)7;  /* then the indexes (api/index.c) */
	bytes = ixat + api_index_info_bytes(cat, t);
	ckat = (bytes + 7) & ~(size_t)7;  /* then the checks (api/tcheck.c) */
	bytes = ckat + cat_checks_info_bytes(s);
	info = calloc(1, bytes);
	if (!info)
		return NULL;
	cols = (struct aedb_column_def *)(info + 1);
	pk = (const char **)(cols + s->ncols);
	enc = (uint8_t *)(pk + s->npk);
	memcpy(enc, t->tdef->enc, t->tdef->enc_len);
	p = (char *)enc + t->tdef->enc_len;
	info->id = t->id;
	info->created_seq = t->created_seq;
	info->def.name = strcpy(p, s->name);
	p += strlen(p) + 1;
	for (uint32_t i = 0; i < s->ncols; i++) {
		const struct tv_column *c = &s->cols[i];

		cols[i].name = strcpy(p, c->name);
		p += strlen(p) + 1;
		cols[i].type = c->type;
		cols[i].nullable = c->nullable;
		memcpy(&cols[i].def, &c->def, sizeof(cols[i].def));
		if (tv_type_is_var(c->def.type) && c->def.len)
			cols[i].def.u.bytes = enc + (c->def.u.bytes - t->tdef->enc);
	}
	for (uint32_t i = 0; i < s->npk; i++)
		pk[i] = cols[s->pk[i]].name;
	info->def.columns = cols;
	info->def.ncolumns = s->ncols;
	info->def.npk = s->npk;
	info->def.pk = pk;
	api_index_info_fill(cat, t, info, (char *)info + ixat);
	if (cat_checks_info_fill(s, (char *)info + ckat, info) < 0) {
		aedb_table_info_free(info);
		return NULL;
	}
	return info;
}

static int api_describe_fn(const struct catalog *cat, void *arg)
{
	struct api_table_query *q = arg;
	const struct cat_scope *t = NULL;
	int rc = api_table_find(cat, q, &t);

	if (rc < 0)
		return rc;
	q->info = api_table_info_new(cat, t);
	return q->info ? 0 : -ENOMEM;
}

int api_table_names_check(const char *project, const char *scope, const char *table)
{
	int rc = core_project_name_check(project, NULL);

	if (rc == 0)
		rc = core_name_check(scope, NULL);
	if (rc == 0 && table)
		rc = core_name_check(table, NULL);
	return rc;
}

AEDB_API int aedb_describe_table(struct aedb *db, const char *project, const char *scope,
				 const char *table, struct aedb_table_info **out)
{
	struct api_table_query q = { .project = project, .scope = scope, .table = table };
	int rc;

	if (!out || !table)
		return -AEDB_EMISUSE;
	rc = api_table_names_check(project, scope, table);
	if (rc == 0)
		rc = api_with_catalog(db, api_describe_fn, &q);
	if (rc == 0)
		*out = q.info;
	return rc;
}

AEDB_API void aedb_table_info_free(struct aedb_table_info *info)
{
	if (info)
		cat_checks_info_free(info);
	free(info);
}

static int api_list_tables_fn(const struct catalog *cat, void *arg)
{
	struct api_table_query *q = arg;
	const char **tmp;
	uint32_t n = 0;
	int rc = api_table_find(cat, q, NULL);

	if (rc < 0)
		return rc;
	tmp = malloc((cat->nscopes + 1) * sizeof(*tmp));
	if (!tmp)
		return -ENOMEM;
	for (uint32_t i = 0; i < cat->nscopes; i++) {
		const struct cat_scope *sc = cat->scopes[i];

		if (sc->tdef && strcmp(sc->project, q->project) == 0 &&
		    strcmp(sc->name, q->scope) == 0)
			tmp[n++] = sc->table;
	}
	q->names = api_names_new(tmp, n);
	free(tmp);
	return q->names ? 0 : -ENOMEM;
}

AEDB_API int aedb_list_tables(struct aedb *db, const char *project, const char *scope,
			      struct aedb_names **out)
{
	struct api_table_query q = { .project = project, .scope = scope };
	int rc;

	if (!out)
		return -AEDB_EMISUSE;
	rc = api_table_names_check(project, scope, NULL);
	if (rc == 0)
		rc = api_with_catalog(db, api_list_tables_fn, &q);
	if (rc == 0)
		*out = q.names;
	return rc;
}
