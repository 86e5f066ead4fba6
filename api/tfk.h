/* SPDX-License-Identifier: MIT */
/*
 * Foreign keys in table definitions (api/tfk.c). The section follows the
 * check constraints (if any) in a definition's encoding (docs/TABLES.md):
 *
 *   u8 0xf0 (CAT_FK_MARK: a check section starts with 1..64), u8 n (1..32),
 *   then per foreign key: u8 name length, the name; u8 on_delete;
 *   u8 length + parent project, u8 length + parent scope, u8 length +
 *   parent table; u8 ncols (1..32); per column, in the parent key's order,
 *   u8 length + the child column's name.
 *
 * Child columns are stored by name, so an ALTER TABLE that drops or renames
 * one leaves a definition that does not decode (-AEDB_EDEPEND there). The
 * parent columns are always the parent's primary key, in key order.
 * Encoding and parsing are pure; the checks against the catalog run where
 * the catalog is stable (shard 0 for DDL, an epoch section for the API).
 */
#ifndef AEDB_API_TFK_H
#define AEDB_API_TFK_H

#include <stddef.h>
#include <stdint.h>

#include "aedb.h"
#include "table/schema.h"

struct catalog;
struct cat_tdef;
struct cat_scope;

#define CAT_FK_MARK 0xf0u
#define CAT_FK_MAX 32u
#define CAT_FK_GLOBAL "_global"   /* the project every project may reference */

struct cat_fk {
	const char *name;
	const char *project, *scope, *table;   /* the parent */
	uint8_t on_delete;                     /* enum aedb_fk_action */
	uint8_t ncols;
	uint16_t cols[TV_PK_COLUMNS_MAX];      /* child column of each parent key column */
};

/*
 * Check @fks[0..@n) (normalized: ref_columns NULL, columns in the parent
 * key's order, parent names filled) against child schema @s and encode the
 * section into @buf (NULL: only the size, in *@len). 0, -AEDB_ENAME,
 * -AEDB_ENOCOLUMN, -AEDB_EINVAL, -AEDB_ETOOBIG, -AEDB_EMISUSE.
 */
int cat_fks_encode(const struct tv_schema *s, const char *project,
		   const struct aedb_fk_def *fks, uint32_t n, uint8_t *buf, size_t *len);

/* Bytes of the check section at @p[0..@len) (0 if malformed). */
size_t cat_checks_span(const uint8_t *p, size_t len);

/*
 * Parse the section @p[0..@len) (exactly) against checked schema @s into a
 * new array *@out (one allocation with its names; free()). 0, -AEDB_ECORRUPT
 * (malformed, or a column @s does not have), -ENOMEM.
 */
int cat_fks_parse(const struct tv_schema *s, const uint8_t *p, size_t len, struct cat_fk **out,
		  uint32_t *n);

/*
 * The foreign keys of table @t (its definition, to be created in
 * @project/@scope) against catalog @cat: every parent exists (or is @t),
 * in an allowed project, with a key of the same column count and types.
 * 0, -AEDB_ENOTABLE, -AEDB_EINVAL, -AEDB_ETYPE.
 */
int cat_fks_check(const struct catalog *cat, const char *project, const char *scope,
		  const struct cat_tdef *t);

/* The parent table of @fk (NULL if gone). */
struct cat_scope *cat_fk_parent(const struct catalog *cat, const struct cat_fk *fk);

/*
 * Would dropping every table of @project (@scope NULL: all its scopes;
 * @table NULL: all the scope's tables) leave a table outside that set with
 * a foreign key naming one inside? 1 or 0.
 */
int cat_fks_block_drop(const struct catalog *cat, const char *project, const char *scope,
		       const char *table);

/* aedb_describe_table(): bytes for @t's foreign keys; fill them at @mem
 * (aligned for pointers). */
size_t cat_fks_info_bytes(const struct catalog *cat, const struct cat_tdef *t);
void cat_fks_info_fill(const struct catalog *cat, const struct cat_tdef *t, void *mem,
		       struct aedb_table_info *info);

#endif
