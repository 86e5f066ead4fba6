/* SPDX-License-Identifier: MIT */
/*
 * `aedb check invariants DIR`: on a read-only open, check that the catalog
 * is consistent, every row decodes, and every secondary index holds exactly
 * one entry per row that should have one (right key, right shard, pointing
 * at the row) and nothing else - which also proves unique indexes unique.
 * Foreign keys resolve: every child row's parent key (all columns non-NULL)
 * names a live parent row, and each key's reference count (on the parent
 * row's shard) equals the child rows naming it, with no other counts.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "api/catalog.h"
#include "api/db.h"
#include "api/idef.h"
#include "api/tdef.h"
#include "api/tfk.h"
#include "table/keyenc.h"
#include "core/hash.h"
#include "shard/kvmap.h"
#include "table/row.h"
#include "tools/tool.h"

#include <stdbool.h>

#define CK_KEY_MAX 65536u
#define CK_SHOW_MAX 100u

struct ck_ctx {
	struct aedb *db;
	const struct catalog *cat;
	uint64_t snap;
	uint32_t nshards;
	int json;
	json_t *list;
	uint64_t violations, tables, rows, entries;
	uint8_t key[CK_KEY_MAX];
};

/* A walk over every shard's part of @sc at the check's snapshot. */
struct ck_scan {
	const struct cat_scope *sc;
	uint32_t shard;          /* the part the current entry is on */
	bool open;
	struct kvmap_iter it;
};

static bool ck_scan_next(const struct ck_ctx *c, struct ck_scan *s)
{
	if (s->open) {
		kvmap_iter_next_any(&s->it);
		if (kvmap_iter_valid(&s->it))
			return true;
		s->shard++;
	}
	for (; s->shard < c->nshards; s->shard++) {
		const struct kvmap *m = __atomic_load_n(&s->sc->parts[s->shard], __ATOMIC_ACQUIRE);

		if (!m)
			continue;
		kvmap_iter_seek_any(&s->it, m, NULL, 0, false, c->snap);
		s->open = true;
		if (kvmap_iter_valid(&s->it))
			return true;
	}
	s->open = false;
	return false;
}

static void ck_violation(struct ck_ctx *c, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	if (c->violations++ >= CK_SHOW_MAX)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (c->json)
		json_array_append_new(c->list, json_string(buf));
	else
		printf("violation %s\n", buf);
}

/* Projects, scopes, tables, accumulators and indexes refer to what exists. */
static void ck_catalog(struct ck_ctx *c)
{
	const struct catalog *cat = c->cat;

	for (uint32_t i = 0; i < cat->nscopes; i++) {
		const struct cat_scope *sc = cat->scopes[i];
		const struct cat_scope *t;

		if (sc->id == 0 || sc->id >= cat->next_scope_id || cat->by_id[sc->id] != sc)
			ck_violation(c, "catalog: %s.%s.%s has id %u not indexed by id",
				     sc->project, sc->name, sc->table, sc->id);
		if (!cat_find_project(cat, sc->project))
			ck_violation(c, "catalog: %s.%s without its project", sc->project,
				     sc->name);
		if (sc->table[0] && !cat_find_scope(cat, sc->project, sc->name))
			ck_violation(c, "catalog: %s.%s.%s without its scope", sc->project,
				     sc->name, sc->table);
		if (i && strcmp(cat->scopes[i - 1]->project, sc->project) == 0 &&
		    strcmp(cat->scopes[i - 1]->name, sc->name) == 0 &&
		    strcmp(cat->scopes[i - 1]->table, sc->table) == 0 &&
		    strcmp(cat->scopes[i - 1]->index, sc->index) == 0)
			ck_violation(c, "catalog: %s.%s.%s listed twice", sc->project, sc->name,
				     sc->table);
		if (!sc->idef)
			continue;
		t = cat_scope_by_id(cat, sc->idef->table_id);
		if (!t || !t->tdef || strcmp(t->table, sc->table) || strcmp(t->name, sc->name) ||
		    strcmp(t->project, sc->project))
			ck_violation(c, "catalog: index %s of %s.%s.%s points at no such table",
				     sc->index, sc->project, sc->name, sc->table);
	}
	for (uint32_t i = 1; i < cat->next_scope_id; i++)
		if (cat->by_id[i] && cat->by_id[i]->id != i)
			ck_violation(c, "catalog: id %u names an object with id %u", i,
				     cat->by_id[i]->id);
}

/* Row @pk of table @t (values @row) has its entry in index @x. */
static void ck_row_entry(struct ck_ctx *c, const struct cat_scope *t, const struct cat_scope *x,
			 uint32_t part, const uint8_t *pk, uint32_t pk_len,
			 const struct tv_value *row, uint64_t *expected)
{
	const struct kv_version *v = NULL;
	const struct kvmap *m;
	size_t len;
	uint32_t q;
	int rc = cat_idef_key(x->idef, row, pk, pk_len, c->key, sizeof(c->key), &len);

	if (rc <= 0) {
		if (rc < 0)
			ck_violation(c, "%s.%s.%s: no key for index %s (%s)", t->project, t->name,
				     t->table, x->index, aedb_strerror(rc));
		return;
	}
	(*expected)++;
	q = x->idef->unique ? core_kv_shard(x->id, c->key, (uint32_t)len, c->nshards) : part;
	m = __atomic_load_n(&x->parts[q], __ATOMIC_ACQUIRE);
	if (m)
		v = kvmap_get_any(m, c->key, (uint32_t)len, c->snap);
	if (!v)
		ck_violation(c, "%s.%s.%s: a row (shard %u) is missing from index %s",
			     t->project, t->name, t->table, part, x->index);
	else if (v->len != pk_len || memcmp(v->data, pk, pk_len) != 0)
		ck_violation(c, "%s.%s.%s: %sindex %s: the row's entry points at another row",
			     t->project, t->name, t->table, x->idef->unique ? "unique " : "",
			     x->index);
}

/* Every row of @t decodes and has its entry in every index of @t. */
static int ck_rows(struct ck_ctx *c, const struct cat_scope *t, uint64_t *expected)
{
	const struct tv_schema *sc = &t->tdef->schema;
	struct cat_scope *const *ix;
	struct tv_value *vals = malloc(sc->ncols * sizeof(*vals));
	uint32_t nix;

	if (!vals)
		return -ENOMEM;
	cat_table_indexes(c->cat, t, &ix, &nix);
	struct ck_scan s = { .sc = t };

	while (ck_scan_next(c, &s)) {
		uint32_t klen;
		const uint8_t *pk = kvmap_iter_key(&s.it, &klen);

		c->rows++;
		if (core_kv_shard(t->id, pk, klen, c->nshards) != s.shard)
			ck_violation(c, "%s.%s.%s: a row on shard %u belongs to another",
				     t->project, t->name, t->table, s.shard);
		if (tv_row_decode(sc, s.it.version->data, s.it.version->len, vals) < 0) {
			ck_violation(c, "%s.%s.%s: a row on shard %u does not decode",
				     t->project, t->name, t->table, s.shard);
			continue;
		}
		for (uint32_t k = 0; k < nix; k++)
			ck_row_entry(c, t, ix[k], s.shard, pk, klen, vals, &expected[k]);
	}
	free(vals);
	return 0;
}

/* Index @x holds exactly @expected entries, each pointing at a live row. */
static void ck_index(struct ck_ctx *c, const struct cat_scope *t, const struct cat_scope *x,
		     uint64_t expected)
{
	uint64_t n = 0;

	struct ck_scan s = { .sc = x };

	while (ck_scan_next(c, &s)) {
		const uint8_t *pk = s.it.version->data;
		uint32_t len = s.it.version->len, rs = core_kv_shard(t->id, pk, len,
								    c->nshards);
		const struct kvmap *rm = __atomic_load_n(&t->parts[rs], __ATOMIC_ACQUIRE);

		if (!rm || !kvmap_get_any(rm, pk, len, c->snap))
			ck_violation(c, "%s.%s.%s: index %s has an entry for no row",
				     t->project, t->name, t->table, x->index);
		else if (!x->idef->unique && rs != s.shard)
			ck_violation(c, "%s.%s.%s: index %s entry on shard %u, row on %u",
				     t->project, t->name, t->table, x->index, s.shard, rs);
		n++;
	}
	c->entries += n;
	if (n != expected)
		ck_violation(c, "%s.%s.%s: index %s has %" PRIu64 " entries for %" PRIu64
			     " indexed rows", t->project, t->name, t->table, x->index, n, expected);
}

/* The parent keys the child rows of one foreign key name (sorted). */
struct ck_keys {
	uint8_t **key;
	uint32_t *len;
	size_t n, cap;
};

static int ck_keys_add(struct ck_keys *k, const uint8_t *key, size_t len)
{
	if (k->n == k->cap) {
		size_t cap = k->cap ? 2 * k->cap : 64;
		uint8_t **nk = realloc(k->key, cap * sizeof(*nk));

		if (!nk)
			return -ENOMEM;
		k->key = nk;
		if (!(k->len = realloc(k->len, cap * sizeof(*k->len))))
			return -ENOMEM;
		k->cap = cap;
	}
	if (!(k->key[k->n] = malloc(len + 1)))
		return -ENOMEM;
	memcpy(k->key[k->n], key, len);
	k->len[k->n++] = (uint32_t)len;
	return 0;
}

static void ck_keys_free(struct ck_keys *k)
{
	for (size_t i = 0; i < k->n; i++)
		free(k->key[i]);
	free(k->key);
	free(k->len);
}

/* How many of the keys equal @key (a linear count over the rows: fine for a
 * check tool, and simple enough to be obviously right). */
static uint64_t ck_keys_count(const struct ck_keys *k, const uint8_t *key, uint32_t len)
{
	uint64_t n = 0;

	for (size_t i = 0; i < k->n; i++)
		n += k->len[i] == len && memcmp(k->key[i], key, len) == 0;
	return n;
}

/* Foreign key @f of child table @t: every named parent exists; collect the
 * keys in @keys. */
static int ck_fk_rows(struct ck_ctx *c, const struct cat_scope *t, const struct cat_fk *f,
		      const struct cat_scope *parent, struct tv_value *vals, struct ck_keys *keys)
{
	struct ck_scan s = { .sc = t };

	while (ck_scan_next(c, &s)) {
		struct tv_value fv[TV_PK_COLUMNS_MAX];
		const struct kvmap *pm;
		size_t len = 0;
		int null = 0, rc;

		if (tv_row_decode(&t->tdef->schema, s.it.version->data, s.it.version->len,
				  vals) < 0)
			continue; /* ck_rows reports it */
		for (uint32_t i = 0; i < f->ncols; i++) {
			fv[i] = vals[f->cols[i]];
			null |= fv[i].type == TV_NULL;
		}
		if (null || tv_key_encode(fv, f->ncols, c->key, sizeof(c->key), &len) < 0)
			continue;
		pm = __atomic_load_n(&parent->parts[core_kv_shard(parent->id, c->key,
								 (uint32_t)len,
								 c->nshards)],
				     __ATOMIC_ACQUIRE);
		if (!pm || !kvmap_get_any(pm, c->key, (uint32_t)len, c->snap))
			ck_violation(c, "%s.%s.%s: foreign key %s: a row names no parent",
				     t->project, t->name, t->table, f->name);
		rc = ck_keys_add(keys, c->key, len);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* The counts of foreign key @f (namespace @cnt) equal the keys named. */
static void ck_fk_counts(struct ck_ctx *c, const struct cat_scope *t, const struct cat_fk *f,
			 const struct cat_scope *parent, const struct cat_scope *cnt,
			 const struct ck_keys *keys)
{
	uint64_t total = 0;

	struct ck_scan s = { .sc = cnt };

	while (ck_scan_next(c, &s)) {
		uint32_t klen;
		const uint8_t *key = kvmap_iter_key(&s.it, &klen);
		uint64_t n = 0, want = ck_keys_count(keys, key, klen);

		for (uint32_t i = 0; s.it.version->len == 8 && i < 8; i++)
			n = n << 8 | s.it.version->data[i];
		total += want;
		if (core_kv_shard(parent->id, key, klen, c->nshards) != s.shard)
			ck_violation(c, "%s.%s.%s: foreign key %s: a count on shard %u "
				     "belongs to another", t->project, t->name, t->table,
				     f->name, s.shard);
		/* a count is 8 bytes and never 0 (the engine deletes it) */
		if (s.it.version->len != 8 || n == 0 || n != want)
			ck_violation(c, "%s.%s.%s: foreign key %s: a count of %" PRIu64
				     " for %" PRIu64 " child rows", t->project, t->name,
				     t->table, f->name, n, want);
	}
	if (total != keys->n)
		ck_violation(c, "%s.%s.%s: foreign key %s: %" PRIu64 " child rows without a "
			     "count", t->project, t->name, t->table, f->name,
			     (uint64_t)keys->n - total);
}

static int ck_fks(struct ck_ctx *c, const struct cat_scope *t)
{
	struct tv_value *vals = malloc(t->tdef->schema.ncols * sizeof(*vals));
	int rc = vals ? 0 : -ENOMEM;

	for (uint32_t k = 0; rc == 0 && k < t->tdef->nfks; k++) {
		const struct cat_fk *f = &t->tdef->fks[k];
		const struct cat_scope *parent = cat_fk_parent(c->cat, f);
		const struct cat_scope *cnt = cat_fk_counts(c->cat, t, k);
		struct ck_keys keys = { 0 };

		if (!parent || !cnt) {
			ck_violation(c, "%s.%s.%s: foreign key %s: no parent table or counts",
				     t->project, t->name, t->table, f->name);
			continue;
		}
		rc = ck_fk_rows(c, t, f, parent, vals, &keys);
		if (rc == 0)
			ck_fk_counts(c, t, f, parent, cnt, &keys);
		ck_keys_free(&keys);
	}
	free(vals);
	return rc;
}

static int ck_tables(struct ck_ctx *c)
{
	for (uint32_t i = 0; i < c->cat->nscopes; i++) {
		const struct cat_scope *t = c->cat->scopes[i];
		uint64_t expected[CAT_INDEXES_MAX] = { 0 };
		struct cat_scope *const *ix;
		uint32_t nix;
		int rc;

		if (!t->tdef)
			continue;
		c->tables++;
		cat_table_indexes(c->cat, t, &ix, &nix);
		rc = nix <= CAT_INDEXES_MAX ? ck_rows(c, t, expected) : -AEDB_ECORRUPT;
		if (rc < 0)
			return rc;
		for (uint32_t k = 0; k < nix; k++)
			ck_index(c, t, ix[k], expected[k]);
		rc = t->tdef->nfks ? ck_fks(c, t) : 0;
		if (rc < 0)
			return rc;
	}
	return 0;
}

static void ck_print(struct ck_ctx *c)
{
	if (c->json) {
		tool_print_json(json_pack("{s:b,s:I,s:I,s:I,s:I,s:I,s:O}", "ok", !c->violations,
					  "seq", (json_int_t)c->snap, "tables",
					  (json_int_t)c->tables, "rows", (json_int_t)c->rows,
					  "index_entries", (json_int_t)c->entries, "violations",
					  (json_int_t)c->violations, "details", c->list));
		return;
	}
	printf("%s seq=%" PRIu64 " tables=%" PRIu64 " rows=%" PRIu64 " index_entries=%" PRIu64
	       " violations=%" PRIu64 "\n", c->violations ? "FAILED" : "ok", c->snap, c->tables,
	       c->rows, c->entries, c->violations);
}

int tool_cmd_check(const struct tool_args *a)
{
	struct aedb_open_report rep;
	struct ck_ctx *c;
	ck_epoch_record_t *rec;
	int rc;

	if (a->argc != 2 || strcmp(a->argv[0], "invariants") != 0)
		return tool_fail(TOOL_USAGE, "check invariants DIR");
	c = calloc(1, sizeof(*c));
	if (!c)
		return tool_fail(TOOL_IO, "out of memory");
	rc = tool_open(a->argv[1], &c->db, &rep);
	if (rc != TOOL_OK) {
		free(c);
		return rc;
	}
	c->json = a->json;
	c->list = json_array();
	c->nshards = aedb_shard_count(c->db);
	rec = api_reader_record(c->db);
	api_read_begin(rec);
	c->snap = aedb_visible_seq(c->db);
	c->cat = api_catalog_any(c->db);
	ck_catalog(c);
	rc = ck_tables(c);
	api_read_end(c->db, rec);
	if (rc == 0)
		ck_print(c);
	rc = rc < 0 ? tool_fail(tool_code(rc), "%s: %s", a->argv[1], aedb_strerror(rc))
	     : c->violations ? tool_fail(TOOL_DAMAGE, "%" PRIu64 " invariant violations found",
					 c->violations)
			     : TOOL_OK;
	json_decref(c->list);
	aedb_close(c->db);
	free(c);
	return rc;
}
