/* SPDX-License-Identifier: MIT */
/*
 * The query engine (table/query.h) over the live engine (issue 5): a
 * tv_env whose tables are the tables of one scope at one snapshot, each a
 * tv_table_source of per-shard kvmap cursors (encoded PK -> encoded row)
 * plus a point fetch routed to the owning shard. The public aedb_query_*
 * calls (api/query_api.c) and the where-mutations (api/mutate.c) run on it.
 */
#ifndef AEDB_API_QUERY_H
#define AEDB_API_QUERY_H

#include <stdint.h>

#include "aedb.h"
#include "table/query.h"

/*
 * Run @q on the tables of @project/@scope at @at (a cursor set on @q fixes
 * the snapshot: the one it was taken at). Any thread. Returns 0 and a result
 * to free with tv_result_free(), or -AEDB_EMISUSE, -AEDB_ENAME,
 * -AEDB_ENOPROJECT, -AEDB_ENOSCOPE, -AEDB_ENOTABLE (the query's table, or one
 * created after the snapshot), -AEDB_ESEQGC, -AEDB_ESEQFUTURE, -ENOMEM, or
 * the engine's errors (with @err's message, @err may be NULL).
 */
int api_query_run(struct aedb *db, const char *project, const char *scope,
		  const struct tv_query *q, struct aedb_at at, const struct tv_query_opts *o,
		  struct tv_result **out, struct tv_qerr *err);

/* Called with an environment over @project/@scope at one snapshot, inside
 * the epoch section (so rows a source hands out stay valid during @fn). */
typedef int (*api_query_fn)(const struct tv_env *env, void *arg);

/* Resolve the scope and the snapshot @at, then call @fn. Returns what @fn
 * returns, or -AEDB_EMISUSE, -AEDB_EINVAL, -AEDB_ENAME, -AEDB_ENOPROJECT,
 * -AEDB_ENOSCOPE, -AEDB_ESEQGC, -AEDB_ESEQFUTURE, -ENOMEM. */
int api_query_with(struct aedb *db, const char *project, const char *scope, struct aedb_at at,
		   api_query_fn fn, void *arg);

/* The catalog object of @table, once a query of @env resolved it (NULL
 * before). Valid while @env's epoch section lasts. */
struct cat_scope;
const struct cat_scope *api_query_table(const struct tv_env *env, const char *table);

/* A query-layer error as the public code: the limits are -AEDB_ESCANLIMIT
 * and -AEDB_EMEMLIMIT, an unknown table or column -AEDB_ENOTABLE and
 * -AEDB_ENOCOLUMN, the rest as tv_query_error_public(). */
int api_query_public(int rc);

/* AEDB_OP_QUERY, run inside aedb_submit() on the ring owner's thread: the
 * query in sqe->out (struct aedb_query_req) at the SQE's snapshot. Returns
 * the CQE res: the row count (clamped to INT32_MAX) or an error. */
int api_sq_query(struct aedb *db, const struct aedb_sqe *sqe);

#endif
