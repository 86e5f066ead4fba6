/* SPDX-License-Identifier: MIT */
/*
 * Secondary index definitions (issue 5): validation, the catalog encoding,
 * and the index key of a row. See docs/TABLES.md "Secondary indexes".
 *
 * An index is a catalog entry of its own (api/catalog.h) whose namespace
 * holds its entries: a non-unique key is the index columns' key encoding
 * followed by the row's encoded primary key, on the row's shard; a unique
 * key is the index columns alone, on shard core_kv_shard(index id, key).
 * The value of every entry is the encoded primary key.
 */
#ifndef AEDB_API_IDEF_H
#define AEDB_API_IDEF_H

#include <stdint.h>

#include "aedb.h"
#include "table/expr.h"
#include "table/schema.h"

#define CAT_INDEXES_MAX 32u   /* indexes per table */

struct cat_idef {
	char name[AEDB_NAME_MAX + 1];
	uint32_t table_id;                         /* its table's namespace id */
	uint8_t unique;
	uint32_t ncols;
	uint16_t cols[TV_PK_COLUMNS_MAX];          /* column indexes in the table */
	char colnames[TV_PK_COLUMNS_MAX][AEDB_NAME_MAX + 1];
	const char *colptr[TV_PK_COLUMNS_MAX];     /* -> colnames */
	struct tv_expr *partial;                   /* owned, or NULL */
	const struct tv_bexpr *bound;              /* @partial bound to the table */
	struct tv_arena arena;                     /* holds @bound */
	uint32_t enc_len;
	uint8_t *enc;                              /* the catalog encoding; owned */
};

/*
 * Validate public definition @def against table schema @s and encode it
 * into a new buffer *@out (*@len bytes; the caller frees it). 0, or
 * -AEDB_EMISUSE, -AEDB_ENAME, -AEDB_EINVAL (no columns, a repeated column),
 * -AEDB_ETOOBIG (over TV_PK_COLUMNS_MAX columns), -AEDB_ENOCOLUMN, -AEDB_ETYPE
 * (a partial predicate literal of the wrong kind), -ENOMEM.
 */
int cat_idef_encode(const struct tv_schema *s, const struct aedb_index_def *def, uint8_t **out,
		    uint32_t *len);

/* The definition encoded in @enc[0..@len) (copied) for table @s: 0 and
 * *@out, or -AEDB_ECORRUPT, -ENOMEM. */
int cat_idef_decode(const struct tv_schema *s, const uint8_t *enc, uint32_t len,
		    struct cat_idef **out);

void cat_idef_free(struct cat_idef *x);

/*
 * The entry of row @row (decoded values of schema @s; @pk[0..@pk_len) its
 * encoded key) in index @x: 1 and the key in @buf[0..*@len) (-AEDB_ETOOBIG
 * when over @cap), or 0 when the row has no entry (a partial predicate that
 * is false, or a NULL in a unique index's columns).
 */
int cat_idef_key(const struct cat_idef *x, const struct tv_value *row, const uint8_t *pk,
		 size_t pk_len, uint8_t *buf, size_t cap, size_t *len);

/* aedb_describe_table's index part (api/index.c): the bytes it needs after
 * the table's info, and filling them (8-aligned @area) into @info. Inside an
 * epoch section. */
struct catalog;
struct cat_scope;
size_t api_index_info_bytes(const struct catalog *cat, const struct cat_scope *t);
void api_index_info_fill(const struct catalog *cat, const struct cat_scope *t,
			 struct aedb_table_info *info, void *area);

#endif
