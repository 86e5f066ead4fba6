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
};

struct ddl_op {
	uint32_t kind;                  /* enum ddl_kind */
	char project[AEDB_NAME_MAX + 1];
	char scope[AEDB_NAME_MAX + 1];  /* empty for project ops */
};

#endif
