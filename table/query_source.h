/* SPDX-License-Identifier: MIT */
/*
 * What the query engine reads (issue 5): the storage-side interface, kept
 * apart from any store so the engine can be tested on in-memory data.
 *
 * A table, at one snapshot, is N ordered per-shard cursors over (encoded
 * primary key -> encoded row, row.h), plus a point fetch by PK (routed to
 * the owning shard), plus optional secondary indexes: ordered cursors over
 * (encoded index key -> encoded PK). A non-unique index key is the index
 * columns followed by the PK (so keys are distinct and equal index values
 * come in PK order); a unique index key is the index columns alone. Index
 * partitions may differ from row shards (DESIGN §3: unique indexes are
 * global, hashed by index key). The engine merges the N cursors by key with
 * a small heap (scatter-gather, DESIGN §3); keys never repeat across shards.
 *
 * The engine never asks an index for a NULL index value (only predicates
 * that are false on NULL use an index), so a store may or may not index rows
 * whose index columns hold NULL. A partial index holds exactly the rows that
 * satisfy its predicate.
 *
 * Lifetimes: a cursor's kv stays valid until the next call on that cursor;
 * get()'s output until the next get() on the same source. Everything a
 * source describes (schema, index names and columns) outlives the query.
 * One query runs on one thread; sources need not be thread-safe.
 */
#ifndef AEDB_TABLE_QUERY_SOURCE_H
#define AEDB_TABLE_QUERY_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "table/expr.h"
#include "table/schema.h"

/* One entry a cursor is on, or a point fetch's answer. */
struct tv_kv {
	const uint8_t *key;
	size_t key_len;
	const uint8_t *val;
	size_t val_len;
};

struct tv_cursor;

struct tv_cursor_ops {
	/* Position at the first entry whose key is >= @key (> @key when @after);
	 * @len 0 means the first entry. Returns 1 (kv valid), 0 (past the end)
	 * or a negative error. */
	int (*seek)(struct tv_cursor *c, const uint8_t *key, size_t len, bool after);
	/* Advance: 1, 0 (end) or a negative error. Only after a seek that
	 * returned 1. */
	int (*next)(struct tv_cursor *c);
	void (*close)(struct tv_cursor *c);
};

/* A store embeds this first in its own cursor. */
struct tv_cursor {
	const struct tv_cursor_ops *ops;
	struct tv_kv kv;
};

/* open(ctx, part, &cursor): a fresh cursor over partition @part, or an
 * error (-ENOMEM, ...). */
typedef int (*tv_cursor_open_fn)(void *ctx, uint32_t part, struct tv_cursor **out);

struct tv_index_source {
	const char *name;
	const char *const *cols;        /* column names, in key order */
	uint32_t ncols;                 /* 1..TV_PK_COLUMNS_MAX */
	bool unique;
	const struct tv_expr *partial;  /* rows indexed; NULL: every row */
	uint32_t nparts;
	void *ctx;
	tv_cursor_open_fn open;         /* (index key -> encoded PK) */
	/* Optional, unique indexes: the entry whose key is exactly @key, as
	 * the table's get() (1, 0 or <0; out->val = the encoded PK, valid
	 * until the next get on this index). With it, an equality on every
	 * column is a point lookup instead of a merge of nparts cursors. */
	int (*get)(void *ctx, const uint8_t *key, size_t len, struct tv_kv *out);
};

struct tv_table_source {
	const struct tv_schema *schema; /* checked */
	uint32_t nshards;
	uint64_t rows_estimate;         /* for explain; 0 if unknown */
	void *ctx;
	tv_cursor_open_fn open;         /* (encoded PK -> encoded row) */
	/* The row under @pk: 1 (out->val, out->val_len set), 0 (none), <0. */
	int (*get)(void *ctx, const uint8_t *pk, size_t len, struct tv_kv *out);
	const struct tv_index_source *indexes;
	uint32_t nindexes;
};

/* One snapshot of a database: resolves table names. */
struct tv_env {
	uint64_t snapshot_seq;
	void *ctx;
	/* 0 and *out, or -TV_ENOTABLE. */
	int (*table)(void *ctx, const char *name, const struct tv_table_source **out);
};

/* ---- scatter-gather merge ------------------------------------------- */

struct tv_merge {
	struct tv_cursor **cur;   /* n cursors */
	uint32_t *heap;           /* indexes of positioned cursors, min-heap by key */
	uint32_t n, nheap;
};

/* Open @n cursors through @open. 0, or an error (all closed). */
int tv_merge_open(struct tv_merge *m, uint32_t n, tv_cursor_open_fn open, void *ctx);
/* Seek every cursor; 1 if some entry is >= (>) @key, 0, or an error. */
int tv_merge_seek(struct tv_merge *m, const uint8_t *key, size_t len, bool after);
/* Step past the smallest entry: 1, 0 (all done), or an error. */
int tv_merge_next(struct tv_merge *m);
void tv_merge_close(struct tv_merge *m);

/* The smallest entry; only after seek/next returned 1. */
static inline const struct tv_kv *tv_merge_kv(const struct tv_merge *m)
{
	return &m->cur[m->heap[0]]->kv;
}

/* ---- in-memory database (tests; also a model for the wiring) ------- */

/*
 * Tables as sorted arrays split across @nshards fake shards by
 * core_kv_shard(table_id, PK); unique-index entries are split by
 * core_kv_shard(index id, index key), non-unique ones live with their row.
 * Arrays are sorted and indexes (re)built lazily at the first read after a
 * change. Not thread-safe.
 */
struct tv_memdb;
struct tv_memtable;

int tv_memdb_create(uint32_t nshards, uint64_t snapshot_seq, struct tv_memdb **out);
void tv_memdb_free(struct tv_memdb *db);
/* The environment over @db (valid while @db lives). */
void tv_memdb_env(struct tv_memdb *db, struct tv_env *env);

/* Add a table; @s (checked) must outlive @db. -AEDB_EEXIST for a name
 * already there, -AEDB_EINVAL for an unchecked schema, -ENOMEM. */
int tv_memdb_table(struct tv_memdb *db, const struct tv_schema *s, uint32_t table_id,
		   struct tv_memtable **out);

/*
 * Insert a positional row (tv_schema_row_check rules, defaults applied on a
 * copy). -AEDB_EEXIST if the PK is present; the check's errors; -ENOMEM.
 */
int tv_memtable_insert(struct tv_memtable *t, const struct tv_value *row);

/*
 * Declare an index (@name and @cols must outlive the table; @partial is
 * copied). Rows with a NULL index value are kept out of unique indexes.
 * -TV_ENOCOLUMN, -AEDB_ETOOBIG (too many columns or indexes), -ENOMEM, or a
 * bind error of @partial. A unique index over duplicate values is the
 * caller's mistake (the fake does not check it).
 */
int tv_memtable_index(struct tv_memtable *t, const char *name, const char *const *cols,
		      uint32_t ncols, bool unique, const struct tv_expr *partial);

/* Rows in the table. */
uint64_t tv_memtable_rows(const struct tv_memtable *t);

#endif /* AEDB_TABLE_QUERY_SOURCE_H */
