/* SPDX-License-Identifier: MIT */
/*
 * Internals shared by the query modules: the builder's fields, the bound
 * plan, and the execution state that the scan, join, aggregate and collect
 * stages pass along. Not API.
 */
#ifndef AEDB_TABLE_QUERY_INT_H
#define AEDB_TABLE_QUERY_INT_H

#include "table/query.h"

struct tv_qorder {
	char *col;
	bool desc;
};

struct tv_qagg {
	uint8_t fn;          /* enum tv_agg */
	char *col;           /* NULL: COUNT(*) */
};

struct tv_qjoin {
	uint8_t kind;        /* enum tv_join_kind */
	char *table, *alias, *left, *right;
};

struct tv_query {
	char *table, *alias;
	char **select;
	uint32_t nselect, select_cap;
	struct tv_expr *where, *having;
	struct tv_qorder order[TV_QUERY_ORDER_MAX];
	uint32_t norder;
	char *group[TV_QUERY_GROUP_MAX];
	uint32_t ngroup;
	struct tv_qagg aggs[TV_QUERY_AGG_MAX];
	uint32_t naggs;
	struct tv_qjoin joins[TV_QUERY_JOIN_MAX];
	uint32_t njoins;
	bool has_limit;
	uint64_t limit, offset;
	uint8_t *cursor;
	size_t cursor_len;
};

/* The shape of @q that a cursor is tied to (not limit, offset, select). */
uint64_t tv_query_fingerprint(const struct tv_query *q);

/* ---- cursor bytes (docs/TABLES.md "Pagination cursor") --------------- */

#define TV_CURSOR_VERSION 1u
#define TV_CURSOR_HEAD_BYTES 28u
#define TV_CURSOR_TAIL_BYTES 8u

struct tv_cursor_data {
	uint64_t seq, fingerprint;
	const uint8_t *sort_key;
	const uint8_t *acc_key;      /* empty unless the rows streamed in order */
	uint32_t sort_len, acc_len;
};

/* Parse and check a cursor (-AEDB_ECURSOR); pointers go into @buf. */
int tv_cursor_decode(const uint8_t *buf, size_t len, struct tv_cursor_data *out);
/* Encode into @a: 0 or -ENOMEM / -AEDB_ETOOBIG. */
int tv_cursor_encode(const struct tv_cursor_data *c, struct tv_arena *a, uint8_t **out,
		     size_t *len);

/* ---- the plan -------------------------------------------------------- */

/* One key range of an access path: [lo, hi), hi absent = to the end. For
 * TV_PATH_PK_POINT, lo is a whole primary key. */
struct tv_range {
	const uint8_t *lo, *hi;
	uint32_t lo_len, hi_len;
	bool has_hi;
};

struct tv_access {
	uint8_t path;                          /* enum tv_path */
	const struct tv_index_source *index;
	uint16_t key[TV_PK_COLUMNS_MAX];       /* key columns (base column indexes) */
	uint32_t nkey, neq;
	bool range, ordered;
	struct tv_range *ranges;
	uint32_t nranges;
};

struct tv_aggspec {
	uint8_t fn;
	uint8_t in_type, out_type;
	uint32_t col;                          /* input column; UINT32_MAX: * */
};

struct tv_jplan {
	uint8_t kind, algo;
	const struct tv_table_source *src;
	const struct tv_index_source *index;   /* TV_JOIN_ALGO_INDEX */
	uint32_t off, ncols;                   /* its columns in the input row */
	uint32_t lcol;                         /* left key (input row) */
	uint32_t rcol;                         /* right key (its schema) */
	const struct tv_bexpr *filter;         /* WHERE conjuncts decided here */
};

struct tv_plan {
	const struct tv_env *env;
	const struct tv_query *q;
	struct tv_query_opts o;
	struct tv_arena *a;
	struct tv_qerr *err;
	const struct tv_table_source *base;
	struct tv_colset base_cs;              /* the base schema, plain names */
	struct tv_colset in;                   /* input row: base then joins */
	const struct tv_bexpr *where;          /* whole WHERE, or NULL */
	const struct tv_bexpr *base_filter;    /* conjuncts on base columns */
	struct tv_jplan joins[TV_QUERY_JOIN_MAX];
	uint32_t njoins;
	struct tv_access acc;
	bool agg;
	uint32_t group[TV_QUERY_GROUP_MAX];
	uint32_t ngroup;
	struct tv_aggspec aggs[TV_QUERY_AGG_MAX];
	uint32_t naggs;
	struct tv_colset out;                  /* after aggregation (or = in) */
	const struct tv_bexpr *having;
	uint32_t order[TV_QUERY_ORDER_MAX];    /* columns of out */
	bool order_desc[TV_QUERY_ORDER_MAX];
	uint32_t norder;
	uint32_t *proj;                        /* output columns, of out */
	uint32_t nproj;
	const char **res_names;
	uint8_t *res_types;
	bool has_limit;
	uint64_t limit, offset;
	bool has_cursor;
	struct tv_cursor_data cur;
	uint64_t fingerprint;                  /* tv_plan_fingerprint() */
	bool has_fingerprint;
	struct tv_plan_desc desc;
};

/* Bind and plan @q (everything in @a). 0 or an error with @err set. */
int tv_plan_build(struct tv_plan *p, const struct tv_env *env, const struct tv_query *q,
		  const struct tv_query_opts *o, struct tv_arena *a, struct tv_qerr *err);
/* Choose the access path from p->base_filter (query_access.c). */
int tv_plan_access(struct tv_plan *p);
/* Write p->desc.text (the rest of p->desc is filled by tv_plan_build). */
void tv_plan_describe_text(struct tv_plan *p);
/* The query's fingerprint, computed on first use: only cursors need it. */
uint64_t tv_plan_fingerprint(struct tv_plan *p);

/* ---- execution ------------------------------------------------------- */

struct tv_coll;
struct tv_aggr;
struct tv_joins;

/* A growable byte buffer (malloc). */
/* A growable byte buffer on the heap, or in arena @a when set (growing
 * leaves the old copy there; freeing is the arena's). */
struct tv_buf {
	uint8_t *p;
	size_t len, cap;
	struct tv_arena *a;
};

int tv_buf_reserve(struct tv_buf *b, size_t more);
int tv_buf_put(struct tv_buf *b, const void *p, size_t n);
/* Append the key encoding of @v (desc: bytes inverted). */
int tv_buf_put_value(struct tv_buf *b, const struct tv_value *v, bool desc);
void tv_buf_free(struct tv_buf *b);

#define TV_EXEC_STOP 1    /* a stage's "enough rows": end the scan */

struct tv_exec {
	struct tv_plan *p;
	struct tv_qerr *err;
	uint64_t scanned, bytes, peak, join_rows, join_bytes;
	struct tv_value *vals;                 /* input row, p->in.n values */
	struct tv_buf tie;                     /* tie-break key of the current row */
	const uint8_t *acc_key;                /* access key of the current row */
	size_t acc_len;
	struct tv_arena *ra;                   /* the result's arena */
	struct tv_coll *coll;
	struct tv_aggr *aggr;
	struct tv_joins *joins;
};

/* Count one row read against max_scan_rows. */
int tv_exec_scanned(struct tv_exec *x, uint64_t n);
/* Account @n more held bytes (negative to release) against max_bytes. */
int tv_exec_hold(struct tv_exec *x, int64_t n);
/* A row of p->in (x->vals, tie-break in x->tie) that passed every filter. */
int tv_exec_emit(struct tv_exec *x);

/* Streamed pages (LIMIT) of up to this many rows get their row array, and
 * room in the result's first block, at once; larger ones grow as rows come
 * (a big LIMIT often matches few rows). */
#define TV_COLL_ROWS_ONCE 256u

/* Collector (query_collect.c): rows of p->out in, the page out. */
int tv_coll_create(struct tv_exec *x, bool streaming, struct tv_coll **out);
int tv_coll_add(struct tv_coll *c, const struct tv_value *row, const uint8_t *tie,
		size_t tie_len);
int tv_coll_finish(struct tv_coll *c, struct tv_result *r, struct tv_arena *ra);
uint64_t tv_coll_total(const struct tv_coll *c);
void tv_coll_free(struct tv_coll *c);

/* Aggregation (query_agg.c). */
int tv_aggr_create(struct tv_exec *x, struct tv_aggr **out);
int tv_aggr_add(struct tv_aggr *g, const struct tv_value *row);
/* Finalize every group, apply HAVING, feed the collector. */
int tv_aggr_finish(struct tv_aggr *g);
void tv_aggr_free(struct tv_aggr *g);
/* Output type of @fn over a column of @type, or -AEDB_ETYPE. */
int tv_agg_type(unsigned fn, unsigned type);

/* Joins (query_join.c): expand the base row in x->vals. */
int tv_joins_create(struct tv_exec *x, struct tv_joins **out);
int tv_joins_expand(struct tv_joins *j);
void tv_joins_free(struct tv_joins *j);

#endif /* AEDB_TABLE_QUERY_INT_H */
