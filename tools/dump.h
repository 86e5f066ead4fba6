/* SPDX-License-Identifier: MIT */
/* The canonical records of a dump (tools/dump_body.c, docs/TOOLS.md). */
#ifndef AEDB_TOOLS_DUMP_H
#define AEDB_TOOLS_DUMP_H

#include <stdint.h>

#include "aedb.h"

/* Called with each record (one JSON object, no newline). 0 continues; any
 * other value stops the walk and is returned by tool_dump_body(). */
typedef int (*tool_line_fn)(void *arg, const char *line);

/* Every record of @db's state in canonical order: projects by name, then
 * for each its scopes by name, each scope's tables (definition, then rows
 * in primary-key order), accumulators, then KV entries in key order. */
int tool_dump_body(struct aedb *db, tool_line_fn fn, void *arg);

/* The database id of @db (from its aedb.meta). */
void tool_dump_db_id(struct aedb *db, uint8_t id[16]);

#endif
