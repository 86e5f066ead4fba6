/* SPDX-License-Identifier: MIT */
/* Row mutations and lookups: validation and encoding (txn/row.c). */
#ifndef AEDB_TXN_ROW_H
#define AEDB_TXN_ROW_H

#include <stddef.h>
#include <stdint.h>

#include "aedb.h"
#include "table/schema.h"

struct cat_scope;

/* A table-layer error as the public code (TV_ENULL -> -AEDB_ENOTNULL). */
int txn_row_error(int err);
/* The encoded primary key of values @pk[0..@n) (exactly the key columns'
 * types, none NULL) in a new buffer *@key the caller frees. */
int txn_row_pk(const struct tv_schema *s, const struct aedb_value *pk, uint32_t n,
	       uint8_t **key, size_t *key_len);
/* Check row @row[0..@n) (defaults filled), then encode its key and the row
 * into one new buffer: *@key (free this) and *@val inside it. */
int txn_row_encode(const struct tv_schema *s, const struct aedb_value *row, uint32_t n,
		   uint8_t **key, size_t *key_len, uint8_t **val, size_t *val_len);
/* Inside an epoch section: the table @project/@scope/@table. -AEDB_EMISUSE,
 * -AEDB_ENAME, -AEDB_ENOPROJECT, -AEDB_ENOSCOPE, -AEDB_ENOTABLE. */
int api_resolve_table(struct aedb *db, const char *project, const char *scope,
		      const char *table, struct cat_scope **out);

#endif
