/* SPDX-License-Identifier: MIT */
/*
 * ALTER TABLE (issue 5): the alteration of a definition and the conversion
 * of rows between definitions (api/talter.c). Pure functions, any thread;
 * the DDL itself is shard/ddl_alter.c, the design docs/TABLES.md "ALTER
 * TABLE".
 *
 * An alteration as the API sends it (struct ddl_op's bytes): u8 kind, then
 *   ADD_COLUMN:    the column's entry, as in a definition (api/tdef.h)
 *   DROP_COLUMN:   u8 length, the name
 *   RENAME_COLUMN: u8 length, the name; u8 length, the new name
 * Its result, the value of the DDL_ALTER_TABLE record: u16 ncols (the new
 * definition's), u16 map[ncols] (for each new column the old column it
 * comes from, CAT_TDEF_MAP_NEW if added), then the new definition's
 * encoding (version 2, its alteration count one higher).
 */
#ifndef AEDB_API_TALTER_H
#define AEDB_API_TALTER_H

#include <stddef.h>
#include <stdint.h>

#include "aedb.h"
#include "api/tdef.h"

/*
 * Apply alteration @alt[0..@len) to @old: the record value in a new buffer
 * *@out (*@out_len bytes; the caller frees it). 0, or -AEDB_EEXIST (a
 * column of that name exists), -AEDB_ENOCOLUMN, -AEDB_EDEPEND (a key
 * column, or one a check constraint names), -AEDB_ETOOBIG (over 1024
 * columns, or the definition over 1 MiB), -AEDB_EINVAL (a bad column entry),
 * -ENOMEM. Indexes are the caller's to check (cat_alter_index_ok()).
 */
int cat_alter_apply(const struct cat_tdef *old, const uint8_t *alt, uint32_t len,
		    uint8_t **out, uint32_t *out_len);

/*
 * The definition of table @name that record value @rec[0..@len) makes of
 * @prev, holding from @since: 0 and *@out (its history is @prev, which it
 * then owns), -AEDB_ECORRUPT (the bytes do not decode, or the map does
 * not fit @prev), -ENOMEM (@prev still the caller's on any error).
 */
int cat_alter_decode(const char *name, const uint8_t *rec, uint32_t len, struct cat_tdef *prev,
		     uint64_t since, struct cat_tdef **out);

/*
 * Convert row @row[0..@len), written with @from (the head @to or one of its
 * history), to @to's format: decoded, mapped column by column (an added
 * column takes its default, else NULL) and encoded into @buf (@cap bytes;
 * -AEDB_ETOOBIG with *@out_len = the bytes needed when short). 0,
 * -AEDB_ECORRUPT (a damaged row), -ENOMEM. @vals: scratch for
 * cat_alter_vals(@to, @from) values.
 */
int cat_alter_row(const struct cat_tdef *from, const struct cat_tdef *to, const uint8_t *row,
		  uint32_t len, struct tv_value *vals, uint8_t *buf, size_t cap,
		  size_t *out_len);
/* Values cat_alter_row() needs as scratch: twice the widest definition
 * between @from and @to. */
size_t cat_alter_vals(const struct cat_tdef *to, const struct cat_tdef *from);

#endif
