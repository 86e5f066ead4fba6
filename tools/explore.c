/* SPDX-License-Identifier: MIT */
/*
 * The explorer (`aedb explore DIR ...`): projects, scopes, tables, schema,
 * table scans and KV scans of a data directory, read-only.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "tools/tool.h"
#include "tools/walk.h"

#define EX_LIMIT_DEFAULT 50u

struct ex_ctx {
	struct aedb *db;
	const struct tool_args *a;
	json_t *items;           /* --json: the array being filled */
};

static int ex_need(const struct tool_args *a, int n, const char *what)
{
	if (a->argc == n)
		return TOOL_OK;
	return tool_fail(TOOL_USAGE, "explore %s wants %s", a->argv[1], what);
}

static int ex_err(int rc, const char *what)
{
	return tool_fail(tool_code(rc), "%s: %s", what, aedb_strerror(rc));
}

/* Scopes of project @name. */
static uint32_t ex_nscopes(struct ex_ctx *c, const char *name)
{
	struct aedb_names *sc;
	uint32_t n = 0;

	if (aedb_list_scopes(c->db, name, &sc) == 0) {
		n = sc->count;
		aedb_names_free(sc);
	}
	return n;
}

/* Tables of scope @name of the project on the command line. */
static uint32_t ex_ntables(struct ex_ctx *c, const char *name)
{
	struct aedb_names *ts;
	uint32_t n = 0;

	if (aedb_list_tables(c->db, c->a->argv[2], name, &ts) == 0) {
		n = ts->count;
		aedb_names_free(ts);
	}
	return n;
}

/* One row per name of @ns (consumed) with its count of @what. */
static int ex_counted(struct ex_ctx *c, struct aedb_names *ns, const char *head,
		      const char *what, uint32_t (*count)(struct ex_ctx *, const char *))
{
	if (!c->a->json)
		printf("%s\t%s\n", head, what);
	for (uint32_t i = 0; i < ns->count; i++) {
		uint32_t n = count(c, ns->names[i]);

		if (c->a->json)
			json_array_append_new(c->items, json_pack("{s:s,s:I}", "name",
								  ns->names[i], what,
								  (json_int_t)n));
		else
			printf("%s\t%u\n", ns->names[i], n);
	}
	aedb_names_free(ns);
	return TOOL_OK;
}

static int ex_projects(struct ex_ctx *c)
{
	struct aedb_names *ps;
	int rc = aedb_list_projects(c->db, &ps);

	return rc < 0 ? ex_err(rc, "projects") : ex_counted(c, ps, "project", "scopes", ex_nscopes);
}

static int ex_scopes(struct ex_ctx *c)
{
	struct aedb_names *sc;
	int rc = aedb_list_scopes(c->db, c->a->argv[2], &sc);

	return rc < 0 ? ex_err(rc, c->a->argv[2]) : ex_counted(c, sc, "scope", "tables",
								  ex_ntables);
}

static int ex_tables(struct ex_ctx *c)
{
	const char *p = c->a->argv[2], *s = c->a->argv[3];
	struct aedb_names *ts;
	int rc = aedb_list_tables(c->db, p, s, &ts);

	if (rc < 0)
		return ex_err(rc, s);
	if (!c->a->json)
		printf("table\tcolumns\tindexes\n");
	for (uint32_t i = 0; i < ts->count; i++) {
		struct aedb_table_info *ti;

		if (aedb_describe_table(c->db, p, s, ts->names[i], &ti) < 0)
			continue;
		if (c->a->json)
			json_array_append_new(c->items,
					      json_pack("{s:s,s:I,s:I}", "name", ts->names[i],
							"columns", (json_int_t)ti->def.ncolumns,
							"indexes", (json_int_t)ti->nindexes));
		else
			printf("%s\t%u\t%u\n", ts->names[i], ti->def.ncolumns, ti->nindexes);
		aedb_table_info_free(ti);
	}
	aedb_names_free(ts);
	return TOOL_OK;
}

json_t *tool_table_json(const struct aedb_table_info *ti)
{
	json_t *cols = json_array(), *pk = json_array(), *ix = json_array(), *ck = json_array();

	for (uint32_t i = 0; i < ti->def.ncolumns; i++) {
		const struct aedb_column_def *cd = &ti->def.columns[i];
		json_t *col = json_pack("{s:s,s:s,s:b}", "name", cd->name, "type",
					tool_type_name(cd->type), "nullable", cd->nullable != 0);

		if (cd->def.type != AEDB_TYPE_NULL)
			json_object_set_new(col, "default", tool_value_json(&cd->def));
		json_array_append_new(cols, col);
	}
	for (uint32_t i = 0; i < ti->def.npk; i++)
		json_array_append_new(pk, json_string(ti->def.pk[i]));
	for (uint32_t i = 0; i < ti->nindexes; i++) {
		const struct aedb_index_info *x = &ti->indexes[i];
		json_t *xc = json_array();

		for (uint32_t k = 0; k < x->ncolumns; k++)
			json_array_append_new(xc, json_string(x->columns[k]));
		json_array_append_new(ix, json_pack("{s:s,s:o,s:b,s:b}", "name", x->name,
						    "columns", xc, "unique",
						    (x->flags & AEDB_INDEX_UNIQUE) != 0, "partial",
						    (x->flags & AEDB_INDEX_PARTIAL) != 0));
	}
	for (uint32_t i = 0; i < ti->nchecks; i++)
		json_array_append_new(ck, json_string(ti->checks[i].name));
	return json_pack("{s:s,s:o,s:o,s:o,s:o}", "name", ti->def.name, "columns", cols,
			 "primary_key", pk, "indexes", ix, "checks", ck);
}

static void ex_schema_text(const struct aedb_table_info *ti, const char *p, const char *s)
{
	printf("table %s.%s.%s\nprimary_key ", p, s, ti->def.name);
	for (uint32_t i = 0; i < ti->def.npk; i++)
		printf("%s%s", i ? "," : "", ti->def.pk[i]);
	printf("\ncolumns\nname\ttype\tnullable\n");
	for (uint32_t i = 0; i < ti->def.ncolumns; i++)
		printf("%s\t%s\t%s\n", ti->def.columns[i].name,
		       tool_type_name(ti->def.columns[i].type),
		       ti->def.columns[i].nullable ? "yes" : "no");
	if (ti->nindexes)
		printf("indexes\nname\tcolumns\tunique\n");
	for (uint32_t i = 0; i < ti->nindexes; i++) {
		printf("%s\t", ti->indexes[i].name);
		for (uint32_t k = 0; k < ti->indexes[i].ncolumns; k++)
			printf("%s%s", k ? "," : "", ti->indexes[i].columns[k]);
		printf("\t%s\n", ti->indexes[i].flags & AEDB_INDEX_UNIQUE ? "yes" : "no");
	}
}

static int ex_schema(struct ex_ctx *c)
{
	const char *p = c->a->argv[2], *s = c->a->argv[3], *t = c->a->argv[4];
	struct aedb_table_info *ti;
	int rc = aedb_describe_table(c->db, p, s, t, &ti);

	if (rc < 0)
		return ex_err(rc, t);
	if (c->a->json)
		tool_print_json(tool_table_json(ti));
	else
		ex_schema_text(ti, p, s);
	aedb_table_info_free(ti);
	return TOOL_OK;
}

static int ex_row(void *arg, const struct aedb_query_result *r, const struct aedb_value *row)
{
	struct ex_ctx *c = arg;

	if (c->a->json) {
		json_t *o = json_object();

		for (uint32_t i = 0; i < r->ncols; i++)
			json_object_set_new(o, r->names[i], tool_value_json(&row[i]));
		json_array_append_new(c->items, o);
		return 0;
	}
	for (uint32_t i = 0; i < r->ncols; i++) {
		if (i)
			putchar('\t');
		tool_value_text(stdout, &row[i]);
	}
	putchar('\n');
	return 0;
}

static int ex_scan_table(struct ex_ctx *c)
{
	const char *p = c->a->argv[2], *s = c->a->argv[3], *t = c->a->argv[4];
	uint64_t limit = c->a->limit ? c->a->limit : EX_LIMIT_DEFAULT;
	struct aedb_table_info *ti;
	struct tool_walk w;
	int rc = aedb_describe_table(c->db, p, s, t, &ti);

	if (rc < 0)
		return ex_err(rc, t);
	for (uint32_t i = 0; !c->a->json && i < ti->def.ncolumns; i++)
		printf("%s%s", i ? "\t" : "", ti->def.columns[i].name);
	if (!c->a->json)
		putchar('\n');
	aedb_table_info_free(ti);
	rc = tool_each_row(c->db, p, s, t, limit, ex_row, c, &w);
	if (rc < 0)
		return ex_err(rc, t);
	if (c->a->json)
		tool_print_json(json_pack("{s:O,s:I,s:b,s:I}", "rows", c->items, "rows_returned",
					  (json_int_t)w.count, "truncated", w.truncated != 0,
					  "snapshot_seq", (json_int_t)w.snapshot_seq));
	else
		printf("rows_returned=%" PRIu64 " truncated=%s snapshot_seq=%" PRIu64 "\n",
		       w.count, w.truncated ? "true" : "false", w.snapshot_seq);
	return TOOL_OK;
}

static int ex_kv(void *arg, const struct aedb_kv_entry *e)
{
	struct ex_ctx *c = arg;

	if (c->a->json) {
		json_array_append_new(c->items,
				      json_pack("{s:o,s:o,s:I,s:I}", "key",
						tool_json_hex(e->key, e->key_len), "value",
						tool_json_hex(e->val, e->val_len), "version",
						(json_int_t)e->version, "created_seq",
						(json_int_t)e->created_seq));
		return 0;
	}
	tool_bytes_text(stdout, e->key, e->key_len);
	putchar('\t');
	tool_bytes_text(stdout, e->val, e->val_len);
	printf("\t%" PRIu64 "\t%" PRIu64 "\n", e->version, e->created_seq);
	return 0;
}

static int ex_kv_scan(struct ex_ctx *c)
{
	const char *p = c->a->argv[2], *s = c->a->argv[3], *x = c->a->prefix;
	uint64_t limit = c->a->limit ? c->a->limit : EX_LIMIT_DEFAULT;
	struct tool_walk w;
	int rc;

	if (!c->a->json)
		printf("key\tvalue\tversion\tcreated_seq\n");
	rc = tool_each_kv(c->db, p, s, x, x ? strlen(x) : 0, limit, ex_kv, c, &w);
	if (rc < 0)
		return ex_err(rc, s);
	if (c->a->json)
		tool_print_json(json_pack("{s:O,s:I,s:b,s:I}", "entries", c->items,
					  "rows_returned", (json_int_t)w.count, "truncated",
					  w.truncated != 0, "snapshot_seq",
					  (json_int_t)w.snapshot_seq));
	else
		printf("rows_returned=%" PRIu64 " truncated=%s snapshot_seq=%" PRIu64 "\n",
		       w.count, w.truncated ? "true" : "false", w.snapshot_seq);
	return TOOL_OK;
}

static int ex_dispatch(struct ex_ctx *c)
{
	const struct tool_args *a = c->a;
	const char *cmd = a->argv[1];
	int rc;

	if (strcmp(cmd, "projects") == 0)
		return (rc = ex_need(a, 2, "no argument")) ? rc : ex_projects(c);
	if (strcmp(cmd, "scopes") == 0)
		return (rc = ex_need(a, 3, "P")) ? rc : ex_scopes(c);
	if (strcmp(cmd, "tables") == 0)
		return (rc = ex_need(a, 4, "P S")) ? rc : ex_tables(c);
	if (strcmp(cmd, "schema") == 0)
		return (rc = ex_need(a, 5, "P S T")) ? rc : ex_schema(c);
	if (strcmp(cmd, "scan-table") == 0)
		return (rc = ex_need(a, 5, "P S T")) ? rc : ex_scan_table(c);
	if (strcmp(cmd, "kv-scan") == 0)
		return (rc = ex_need(a, 4, "P S")) ? rc : ex_kv_scan(c);
	return tool_fail(TOOL_USAGE, "unknown explore command '%s'", cmd);
}

int tool_cmd_explore(const struct tool_args *a)
{
	struct aedb_open_report rep;
	struct ex_ctx c = { .a = a };
	int rc;

	if (a->argc < 2)
		return tool_fail(TOOL_USAGE, "explore DIR <projects|scopes|tables|schema|"
					     "scan-table|kv-scan> ...");
	if (a->limit && strcmp(a->argv[1], "scan-table") && strcmp(a->argv[1], "kv-scan"))
		return tool_fail(TOOL_USAGE, "--limit applies to scan-table and kv-scan");
	if (a->prefix && strcmp(a->argv[1], "kv-scan"))
		return tool_fail(TOOL_USAGE, "--prefix applies to kv-scan");
	rc = tool_open(a->argv[0], &c.db, &rep);
	if (rc != TOOL_OK)
		return rc;
	c.items = json_array();
	rc = ex_dispatch(&c);
	if (rc == TOOL_OK && a->json && (!strcmp(a->argv[1], "projects") ||
					 !strcmp(a->argv[1], "scopes") ||
					 !strcmp(a->argv[1], "tables")))
		tool_print_json(json_pack("{s:O,s:I}", a->argv[1], c.items, "snapshot_seq",
					  (json_int_t)aedb_visible_seq(c.db)));
	json_decref(c.items);
	aedb_close(c.db);
	return rc;
}
