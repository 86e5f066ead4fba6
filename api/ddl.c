/* SPDX-License-Identifier: MIT */
/* Namespace API: projects, scopes and tables. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "api/db.h"
#include "api/idef.h"
#include "api/tcheck.h"
#include "api/tdef.h"
#include "api/tfk.h"
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
	return aedb_create_table_ex(db, project, scope, def, NULL, 0, NULL, 0);
}

AEDB_API int aedb_create_table_checked(struct aedb *db, const char *project, const char *scope,
				       const struct aedb_table_def *def,
				       const struct aedb_check_def *checks, uint32_t nchecks)
{
	return aedb_create_table_ex(db, project, scope, def, checks, nchecks, NULL, 0);
}

/* The names of @fk are well formed (before looking them up). */
static int api_names_check_fk(const struct aedb_fk_def *fk)
{
	int rc = fk->ref_project ? core_project_name_check(fk->ref_project, NULL) : 0;

	if (rc == 0 && fk->ref_scope)
		rc = core_name_check(fk->ref_scope, NULL);
	if (rc == 0)
		rc = core_name_check(fk->ref_table, NULL);
	return rc;
}

/* Foreign keys as the encoding takes them: parent names filled, child
 * columns in the parent key's order (ref_columns may list it in any). */
struct api_fk_norm {
	const char *project, *scope;
	const struct aedb_table_def *def;
	const struct aedb_fk_def *in;
	struct aedb_fk_def *out;
	const char **cols;       /* n * TV_PK_COLUMNS_MAX */
	uint32_t n;
};

/* The parent key's column names of @fk (the new table's own for a
 * self-reference), or an error. */
static int api_fk_parent_pk(const struct catalog *cat, const struct api_fk_norm *q,
			    const struct aedb_fk_def *fk, const char **pk, uint32_t *npk,
			    const struct tv_schema **ps)
{
	const char *rp = fk->ref_project ? fk->ref_project : q->project;
	const char *rs = fk->ref_scope ? fk->ref_scope : q->scope;
	const struct cat_scope *p;

	*ps = NULL;
	if (strcmp(rp, q->project) == 0 && strcmp(rs, q->scope) == 0 &&
	    strcmp(fk->ref_table, q->def->name) == 0) {
		/* The new table's own key: its pointers are not checked yet. */
		*npk = q->def->npk;
		if (*npk > TV_PK_COLUMNS_MAX)
			return -AEDB_ETOOBIG;
		if ((*npk && !q->def->pk) || (q->def->ncolumns && !q->def->columns))
			return -AEDB_EMISUSE;
		for (uint32_t i = 0; i < *npk; i++)
			if (!(pk[i] = q->def->pk[i]))
				return -AEDB_EMISUSE;
		return 0;
	}
	p = cat_find_table(cat, rp, rs, fk->ref_table);
	if (!p || !p->tdef)
		return -AEDB_ENOTABLE;
	*ps = &p->tdef->schema;
	*npk = (*ps)->npk;
	for (uint32_t i = 0; i < *npk; i++)
		pk[i] = (*ps)->cols[(*ps)->pk[i]].name;
	return 0;
}

static int api_fk_norm_one(const struct catalog *cat, struct api_fk_norm *q, uint32_t k)
{
	const struct aedb_fk_def *fk = &q->in[k];
	const char **cols = q->cols + (size_t)k * TV_PK_COLUMNS_MAX, *pk[TV_PK_COLUMNS_MAX];
	const struct tv_schema *ps;
	uint32_t npk = 0;
	int rc;

	q->out[k] = *fk;
	q->out[k].ref_project = fk->ref_project ? fk->ref_project : q->project;
	q->out[k].ref_scope = fk->ref_scope ? fk->ref_scope : q->scope;
	q->out[k].ref_columns = NULL;
	if (!fk->ref_columns || !fk->ref_table || !fk->columns || !fk->ncolumns ||
	    fk->ncolumns > TV_PK_COLUMNS_MAX)
		return 0; /* nothing to reorder; the encoder checks the rest */
	rc = api_names_check_fk(fk);
	if (rc < 0)
		return rc;
	rc = api_fk_parent_pk(cat, q, fk, pk, &npk, &ps);
	if (rc < 0)
		return rc;
	if (npk != fk->ncolumns)
		return -AEDB_EINVAL;
	for (uint32_t j = 0; j < npk; j++)
		cols[j] = NULL;
	for (uint32_t i = 0; i < fk->ncolumns; i++) {
		uint32_t j = 0;

		if (!fk->ref_columns[i] || !fk->columns[i])
			return -AEDB_EMISUSE;
		while (j < npk && strcmp(pk[j], fk->ref_columns[i]) != 0)
			j++;
		if (j == npk) {
			/* not a key column: unknown, or not part of the key */
			int known = 0;

			for (uint32_t c = 0; ps && c < ps->ncols; c++)
				known |= strcmp(ps->cols[c].name, fk->ref_columns[i]) == 0;
			for (uint32_t c = 0; !ps && c < q->def->ncolumns; c++)
				known |= q->def->columns[c].name &&
					 strcmp(q->def->columns[c].name, fk->ref_columns[i]) == 0;
			return known ? -AEDB_EINVAL : -AEDB_ENOCOLUMN;
		}
		if (cols[j])
			return -AEDB_EINVAL; /* a parent column named twice */
		cols[j] = fk->columns[i];
	}
	q->out[k].columns = cols;
	return 0;
}

static int api_fk_norm_fn(const struct catalog *cat, void *arg)
{
	struct api_fk_norm *q = arg;

	for (uint32_t k = 0; k < q->n; k++) {
		int rc = api_fk_norm_one(cat, q, k);

		if (rc < 0)
			return rc;
	}
	return 0;
}

AEDB_API int aedb_create_table_ex(struct aedb *db, const char *project, const char *scope,
				  const struct aedb_table_def *def,
				  const struct aedb_check_def *checks, uint32_t nchecks,
				  const struct aedb_fk_def *fks, uint32_t nfks)
{
	struct ddl_op op = { .kind = DDL_CREATE_TABLE };
	struct req r = { .op = REQ_DDL, .ddl = &op };
	struct api_fk_norm q = { .project = project, .scope = scope, .def = def, .in = fks,
				 .n = nfks };
	uint8_t *enc = NULL;
	int rc;

	if (!db || !scope || !def || (nfks && !fks))
		return -AEDB_EMISUSE;
	if (nfks > CAT_FK_MAX)
		return -AEDB_ETOOBIG;
	rc = core_project_name_check(project, NULL);
	if (rc == 0)
		rc = core_name_check(scope, NULL);
	if (rc == 0 && nfks && !def->name)
		rc = -AEDB_EMISUSE;
	if (rc == 0 && nfks) {
		q.out = calloc(nfks, sizeof(*q.out));
		q.cols = calloc((size_t)nfks * TV_PK_COLUMNS_MAX, sizeof(*q.cols));
		rc = q.out && q.cols ? api_with_catalog(db, api_fk_norm_fn, &q) : -ENOMEM;
	}
	if (rc == 0)
		rc = cat_tdef_encode_ex(def, checks, nchecks, project, q.out, nfks, &enc,
					&op.tdef_len);
	free(q.out);
	free(q.cols);
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
	size_t ixat, ckat, fkat;
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
	fkat = (bytes + 7) & ~(size_t)7;  /* then the foreign keys (api/tfk.c) */
	bytes = fkat + cat_fks_info_bytes(cat, t->tdef);
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
	cat_fks_info_fill(cat, t->tdef, (char *)info + fkat, info);
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
