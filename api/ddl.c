/* SPDX-License-Identifier: MIT */
/* Namespace API: projects and scopes. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "api/db.h"
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
			if (strcmp(cat->scopes[i]->project, q->project) == 0)
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
