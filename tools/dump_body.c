/* SPDX-License-Identifier: MIT */
/* The records of a dump, in canonical order (docs/TOOLS.md "Dump format"). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "api/catalog.h"
#include "api/db.h"
#include "tools/dump.h"
#include "tools/tool.h"
#include "tools/walk.h"

struct db_ctx {
	struct aedb *db;
	tool_line_fn fn;
	void *arg;
	const char *p, *s, *t;
	uint32_t ncols;
};

void tool_dump_db_id(struct aedb *db, uint8_t id[16])
{
	memcpy(id, db->db_id, 16);
}

/* Emit @j (consumed): -ENOMEM if it could not be built. */
static int db_emit(struct db_ctx *c, json_t *j)
{
	char *s = j ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	int rc = s ? c->fn(c->arg, s) : -ENOMEM;

	free(s);
	json_decref(j);
	return rc;
}

static int db_row(void *arg, const struct aedb_query_result *r, const struct aedb_value *row)
{
	struct db_ctx *c = arg;
	json_t *vals = json_array();

	for (uint32_t i = 0; vals && i < r->ncols; i++)
		if (json_array_append_new(vals, tool_value_json(&row[i])) < 0) {
			json_decref(vals);
			return -AEDB_ECORRUPT; /* a value JSON cannot carry */
		}
	return db_emit(c, json_pack("{s:s,s:s,s:s,s:s,s:o}", "type", "row", "project", c->p,
				    "scope", c->s, "table", c->t, "values", vals));
}

static int db_table(struct db_ctx *c, const char *t)
{
	struct aedb_table_info *ti;
	struct tool_walk w;
	int rc = aedb_describe_table(c->db, c->p, c->s, t, &ti);

	if (rc < 0)
		return rc;
	rc = db_emit(c, json_pack("{s:s,s:s,s:s,s:o}", "type", "table", "project", c->p,
				  "scope", c->s, "def", tool_table_json(ti)));
	aedb_table_info_free(ti);
	c->t = t;
	return rc ? rc : tool_each_row(c->db, c->p, c->s, t, 0, db_row, c, &w);
}

/* Accumulators are listed from the catalog (no public listing yet). */
static int db_accs(struct db_ctx *c)
{
	struct catalog *cat = api_catalog_any(c->db);
	int rc = 0;

	for (uint32_t i = 0; rc == 0 && i < cat->nscopes; i++) {
		const struct cat_scope *sc = cat->scopes[i];
		int64_t v = 0, e = 0;

		if (!sc->adef || strcmp(sc->project, c->p) || strcmp(sc->name, c->s))
			continue;
		rc = aedb_accumulator_value_strong(c->db, c->p, c->s, sc->table, AEDB_LATEST, &v,
						   NULL);
		if (rc == 0)
			rc = aedb_accumulator_exposure(c->db, c->p, c->s, sc->table, AEDB_LATEST,
						       &e, NULL);
		if (rc == 0)
			rc = db_emit(c, json_pack("{s:s,s:s,s:s,s:s,s:I,s:I}", "type",
						  "accumulator", "project", c->p, "scope", c->s,
						  "name", sc->table, "value", (json_int_t)v,
						  "exposure", (json_int_t)e));
	}
	return rc;
}

static int db_kv(void *arg, const struct aedb_kv_entry *e)
{
	struct db_ctx *c = arg;

	return db_emit(c, json_pack("{s:s,s:s,s:s,s:o,s:o,s:I,s:I}", "type", "kv", "project",
				    c->p, "scope", c->s, "key", tool_json_hex(e->key, e->key_len),
				    "value", tool_json_hex(e->val, e->val_len), "version",
				    (json_int_t)e->version, "created_seq",
				    (json_int_t)e->created_seq));
}

static int db_scope(struct db_ctx *c)
{
	struct aedb_names *ts;
	struct tool_walk w;
	int rc = db_emit(c, json_pack("{s:s,s:s,s:s}", "type", "scope", "project", c->p, "name",
				      c->s));

	if (rc == 0) {
		int lr = aedb_list_tables(c->db, c->p, c->s, &ts);

		rc = lr < 0 ? lr : 0;
	}
	if (rc != 0)
		return rc;
	for (uint32_t i = 0; rc == 0 && i < ts->count; i++)
		rc = db_table(c, ts->names[i]);
	aedb_names_free(ts);
	if (rc == 0)
		rc = db_accs(c);
	return rc ? rc : tool_each_kv(c->db, c->p, c->s, NULL, 0, 0, db_kv, c, &w);
}

int tool_dump_body(struct aedb *db, tool_line_fn fn, void *arg)
{
	struct db_ctx c = { .db = db, .fn = fn, .arg = arg };
	struct aedb_names *ps;
	int rc = aedb_list_projects(db, &ps);

	if (rc < 0)
		return rc;
	for (uint32_t i = 0; rc == 0 && i < ps->count; i++) {
		struct aedb_names *ss;

		c.p = ps->names[i];
		rc = db_emit(&c, json_pack("{s:s,s:s}", "type", "project", "name", c.p));
		if (rc == 0)
			rc = aedb_list_scopes(db, c.p, &ss);
		if (rc != 0)
			break;
		for (uint32_t k = 0; rc == 0 && k < ss->count; k++) {
			c.s = ss->names[k];
			rc = db_scope(&c);
		}
		aedb_names_free(ss);
	}
	aedb_names_free(ps);
	return rc;
}
