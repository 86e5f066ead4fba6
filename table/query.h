/* SPDX-License-Identifier: MIT */
/*
 * The query engine of issue 5, above the storage interface of
 * query_source.h: a query builder (to become aedb_query_* later), a planner
 * with explain, and execution with projection, ORDER BY, LIMIT/OFFSET,
 * keyset cursors, aggregates with GROUP BY/HAVING, inner and left joins,
 * exists, list-with-total and batches. docs/TABLES.md ("Queries") has the
 * rules; the reference is tables_queries_kv.md §3.
 *
 * Ownership: a query owns copies of every name, expression and cursor given
 * to it; expressions passed to tv_query_where/having are taken over (also
 * on error). A result owns all its memory; free it with tv_result_free().
 * Builder calls return 0 or an error that leaves the query as it was:
 * -AEDB_EMISUSE (NULL argument), -AEDB_ETOOBIG (over a TV_QUERY_*_MAX),
 * -AEDB_EINVAL (bad enum), -ENOMEM. Names are resolved when the query runs.
 * Owner thread only; a query may be run many times and from any thread
 * that owns it at that moment.
 */
#ifndef AEDB_TABLE_QUERY_H
#define AEDB_TABLE_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "table/expr.h"
#include "table/query_arena.h"
#include "table/query_source.h"
#include "table/value.h"

#define TV_QUERY_ORDER_MAX 32u    /* ORDER BY keys */
#define TV_QUERY_GROUP_MAX 32u    /* GROUP BY columns */
#define TV_QUERY_AGG_MAX 32u      /* aggregates */
#define TV_QUERY_JOIN_MAX 8u      /* joined tables */
#define TV_QUERY_SELECT_MAX 1024u /* selected columns */
#define TV_QUERY_POINTS_MAX 1024u /* key points/ranges one access path enumerates */
#define TV_QUERY_CURSOR_MAX 65536u

enum tv_agg {
	TV_AGG_COUNT = 1, /* COUNT(*) with no column, else COUNT(col): non-NULL values */
	TV_AGG_SUM,       /* NULLs ignored; NULL if none; exact, -AEDB_EOVERFLOW */
	TV_AGG_MIN,       /* NULLs ignored, total order */
	TV_AGG_MAX,
	TV_AGG_AVG,       /* float; NULLs ignored; NULL if none */
};

enum tv_join_kind {
	TV_JOIN_INNER = 1,
	TV_JOIN_LEFT,
};

struct tv_query;

/* A query on @table (its alias is the table name until tv_query_alias). */
int tv_query_create(const char *table, struct tv_query **out);
void tv_query_free(struct tv_query *q);
/* Name the base table @alias in qualified column names (joins). */
int tv_query_alias(struct tv_query *q, const char *alias);
/* Append an output column; none selected means every column. */
int tv_query_select(struct tv_query *q, const char *col);
/* AND @e into the WHERE clause. */
int tv_query_where(struct tv_query *q, struct tv_expr *e);
int tv_query_order_by(struct tv_query *q, const char *col, bool desc);
int tv_query_limit(struct tv_query *q, uint64_t n);
/* Remove the limit: every row (or a clear error from the limits). */
int tv_query_clear_limit(struct tv_query *q);
/* Skip @n rows of the first page (ignored when a cursor is set). */
int tv_query_offset(struct tv_query *q, uint64_t n);
int tv_query_group_by(struct tv_query *q, const char *col);
/* Output column named count_star, count_<col>, sum_<col>, min_<col>,
 * max_<col> or avg_<col>; usable in select, having and order by. */
int tv_query_aggregate(struct tv_query *q, enum tv_agg fn, const char *col);
/* AND @e into HAVING (over group columns and aggregate outputs). */
int tv_query_having(struct tv_query *q, struct tv_expr *e);
/*
 * Join @table (as @alias, or its name if NULL) on left_col = right_col:
 * @left_col is a qualified name of an earlier table ("alias.col"),
 * @right_col a column of @table ("col" or "alias.col"). With joins, every
 * other column name is qualified.
 */
int tv_query_join(struct tv_query *q, enum tv_join_kind kind, const char *table,
		  const char *alias, const char *left_col, const char *right_col);
/* Resume after a previous page's cursor (copied); NULL/0 clears it. */
int tv_query_set_cursor(struct tv_query *q, const void *cursor, size_t len);
/* The snapshot seq a cursor was taken at (the wiring reads there).
 * 0, or -AEDB_ECURSOR for bytes that are not a cursor. */
int tv_query_cursor_seq(const void *cursor, size_t len, uint64_t *seq);

/* Per-query limits (defaults: tv_query_opts_init). Each must be > 0. */
struct tv_query_opts {
	uint64_t max_scan_rows;   /* rows and index entries read, all tables */
	uint64_t max_bytes;       /* bytes held for sorting, groups and the result */
	uint64_t max_join_rows;   /* rows the joins produce, before WHERE */
	uint64_t max_join_bytes;  /* bytes of join build tables and copies */
	bool want_total;          /* list-with-total: count every matching row */
	bool no_plan_text;        /* leave the result's plan.text empty (explain
				   * always writes it) */
};

#define TV_QUERY_DEFAULT_SCAN_ROWS 10000ull    /* the reference's max_scan_rows */
#define TV_QUERY_DEFAULT_BYTES (64ull << 20)
#define TV_QUERY_DEFAULT_JOIN_ROWS 10000ull
#define TV_QUERY_DEFAULT_JOIN_BYTES (16ull << 20)

void tv_query_opts_init(struct tv_query_opts *o);

/* Access paths, best first. */
enum tv_path {
	TV_PATH_EMPTY = 0,     /* the WHERE admits no row: nothing is read */
	TV_PATH_PK_POINT,      /* every PK column bound by = or IN: point fetches */
	TV_PATH_PK_RANGE,      /* a PK prefix bound, or a range on the next PK column */
	TV_PATH_INDEX,         /* the same on a secondary index's leading columns */
	TV_PATH_FULL_SCAN,
};

enum tv_join_algo {
	TV_JOIN_ALGO_PK = 1,   /* point fetch: the right column is the whole PK */
	TV_JOIN_ALGO_PREFIX,   /* range per row: the right column leads the PK */
	TV_JOIN_ALGO_INDEX,    /* index lookup per row */
	TV_JOIN_ALGO_HASH,     /* hash table of the whole right table */
};

#define TV_PLAN_TEXT_BYTES 1024u

/* What the planner chose (explain; also in every result). */
struct tv_plan_desc {
	uint8_t path;                  /* enum tv_path */
	char index[132];               /* TV_PATH_INDEX: its name */
	uint32_t key_eq;               /* leading key columns bound by = or IN */
	bool key_range;                /* and a range or prefix on the next one */
	uint32_t nranges;              /* key points (PK_POINT) or ranges scanned */
	bool filter;                   /* a WHERE is evaluated on candidate rows */
	bool order_from_path;          /* rows arrive in order: no sort */
	bool sort;                     /* rows are sorted (or a top-k kept) */
	uint64_t top_k;                /* rows a bounded sort keeps (0: all) */
	bool aggregate;
	uint32_t ngroup, naggs;
	bool having;
	uint32_t njoins;
	uint8_t join_algo[TV_QUERY_JOIN_MAX];
	uint64_t rows_estimate;        /* base table rows, if the source knows */
	char text[TV_PLAN_TEXT_BYTES]; /* the same as lines of text */
};

struct tv_result {
	uint32_t ncols;
	const char *const *names;      /* output column names */
	const uint8_t *types;          /* their types (enum tv_type) */
	uint64_t nrows;
	const struct tv_value *rows;   /* nrows * ncols values, row-major */
	bool truncated;                /* a LIMIT ended the page; more rows follow */
	const uint8_t *cursor;         /* when truncated: resume after the last row */
	size_t cursor_len;
	uint64_t total;                /* opts.want_total: every matching row */
	uint64_t rows_examined;        /* rows and index entries read */
	uint64_t bytes_peak;           /* most bytes held at once */
	uint64_t snapshot_seq;
	struct tv_plan_desc plan;
};

/*
 * Run @q on @env's snapshot with @o (NULL: defaults). On success *@out is a
 * result to free with tv_result_free(). Errors (with a message in @err):
 * -TV_ENOTABLE, -TV_ENOCOLUMN, -AEDB_ETYPE, -TV_EVALUE, -AEDB_EINVAL (invalid
 * query: HAVING without aggregates or GROUP BY, ambiguous or unqualified
 * join columns, bad option), -AEDB_ETOOBIG (expression limits),
 * -AEDB_ECURSOR (a cursor of another query or snapshot), -TV_ESCANLIMIT,
 * -TV_EMEMLIMIT, -TV_EJOINROWS, -TV_EJOINBYTES, -AEDB_EOVERFLOW (SUM),
 * -AEDB_ECORRUPT (a damaged row, or an index entry without its row), a
 * source's error, -ENOMEM. A query without a limit returns every row or
 * fails; it is never cut short silently.
 */
int tv_query_run(const struct tv_env *env, const struct tv_query *q,
		 const struct tv_query_opts *o, struct tv_result **out, struct tv_qerr *err);
void tv_result_free(struct tv_result *r);
/* @n bytes (16-byte aligned, uninitialised) that live as long as @r and are
 * freed with it, e.g. a caller's wrapper; NULL if out of memory. */
void *tv_result_alloc(struct tv_result *r, size_t n);

/* Plan @q without running it. Same errors as binding in tv_query_run. */
int tv_query_explain(const struct tv_env *env, const struct tv_query *q,
		     const struct tv_query_opts *o, struct tv_plan_desc *out,
		     struct tv_qerr *err);

/* Whether @q returns any row (it runs with LIMIT 1, no offset). */
int tv_query_exists(const struct tv_env *env, const struct tv_query *q,
		    const struct tv_query_opts *o, bool *out, struct tv_qerr *err);

/*
 * Run @n queries on the same snapshot (@env), results in input order. The
 * first error fails the batch: nothing is returned, *@failed names the
 * query (if non-NULL), and the error is returned.
 */
int tv_query_batch(const struct tv_env *env, const struct tv_query *const *qs, size_t n,
		   const struct tv_query_opts *o, struct tv_result **outs, size_t *failed,
		   struct tv_qerr *err);

#endif /* AEDB_TABLE_QUERY_H */
