/* SPDX-License-Identifier: MIT */
/* DDL operations as carried by a REQ_DDL request (see shard/ddl.c). */
#ifndef AEDB_SHARD_DDL_H
#define AEDB_SHARD_DDL_H

#include "aedb.h"

enum ddl_kind {
	DDL_CREATE_PROJECT = 1,
	DDL_DROP_PROJECT,
	DDL_CREATE_SCOPE,
	DDL_DROP_SCOPE,
	DDL_CREATE_TABLE,
	DDL_DROP_TABLE,
	DDL_CREATE_ACC,     /* accumulators: the table record layout (below) */
	DDL_DROP_ACC,
	DDL_CREATE_INDEX,   /* indexes: the table record layout (below) */
	DDL_DROP_INDEX,
	DDL_ALTER_TABLE,    /* the table record layout; value: api/talter.h */
};

static inline int ddl_kind_creates(uint32_t kind)
{
	return kind == DDL_CREATE_PROJECT || kind == DDL_CREATE_SCOPE || kind == DDL_CREATE_TABLE ||
	       kind == DDL_CREATE_ACC || kind == DDL_CREATE_INDEX;
}

static inline int ddl_kind_is_index(uint32_t kind)
{
	return kind == DDL_CREATE_INDEX || kind == DDL_DROP_INDEX;
}

/*
 * The WAL_REC_DDL record of a table DDL: key = project NUL scope NUL table,
 * value = the encoded definition (create; api/tdef.h) or empty (drop), ns =
 * the new table's id (create). Project and scope DDL: key = project, value =
 * scope. Index DDL: the table's key; value = the encoded index definition
 * (create; api/idef.h; ns = the index's id) or the index name (drop).
 */

struct ddl_op {
	uint32_t kind;                  /* enum ddl_kind */
	char project[AEDB_NAME_MAX + 1];
	char scope[AEDB_NAME_MAX + 1];  /* empty for project ops */
	char table[AEDB_NAME_MAX + 1];  /* table ops only */
	const uint8_t *tdef;            /* create table: encoded definition */
	uint32_t tdef_len;              /* (index ops: the record's value) */
	char index[AEDB_NAME_MAX + 1];  /* index ops only */
};

#endif
