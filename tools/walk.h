/* SPDX-License-Identifier: MIT */
/* Paging through rows and KV entries for the tools (one snapshot each). */
#ifndef AEDB_TOOLS_WALK_H
#define AEDB_TOOLS_WALK_H

#include <stddef.h>
#include <stdint.h>

#include "aedb.h"

struct tool_walk {
	uint64_t count;          /* rows or entries handed to the callback */
	uint64_t examined;       /* rows read by the queries */
	uint64_t snapshot_seq;
	uint32_t truncated;      /* more remain past @limit */
};

/* @row: @r->ncols values, in table column order (@r->names). */
typedef int (*tool_row_fn)(void *arg, const struct aedb_query_result *r,
			   const struct aedb_value *row);
typedef int (*tool_kv_fn)(void *arg, const struct aedb_kv_entry *e);

/* Every row of @t in primary-key order (at most @limit; 0: all). A
 * callback's non-zero return stops the walk and is returned. */
int tool_each_row(struct aedb *db, const char *p, const char *s, const char *t, uint64_t limit,
		  tool_row_fn fn, void *arg, struct tool_walk *w);
/* Every KV entry of @p/@s starting with @prefix, in key order. */
int tool_each_kv(struct aedb *db, const char *p, const char *s, const void *prefix,
		 size_t prefix_len, uint64_t limit, tool_kv_fn fn, void *arg, struct tool_walk *w);

#endif
