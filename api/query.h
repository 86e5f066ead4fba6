/* SPDX-License-Identifier: MIT */
/*
 * The query engine (table/query.h) over the live engine (issue 5): a
 * tv_env whose tables are the tables of one scope at one snapshot, each a
 * tv_table_source of per-shard kvmap cursors (encoded PK -> encoded row)
 * plus a point fetch routed to the owning shard. Internal for now: the
 * public aedb_query_* calls will wrap api_query_run().
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

#endif
