/* SPDX-License-Identifier: MIT */
/*
 * Row format (issue 5): how one row of a checked schema is stored as the
 * value of its primary key in a shard's ordered map. Version 1, all integers
 * little-endian, no alignment (every access goes through memcpy):
 *
 *   0  u8   version (TV_ROW_VERSION)
 *   1  u8   tag (schema.rowtag: the table's alteration count, low byte)
 *   2  u16  ncols (must equal the schema's)
 *   4  null bitmap, (ncols + 7) / 8 bytes; bit i (byte i/8, bit i%8) set =
 *      column i is NULL; the padding bits are 0
 *   .  fixed area, schema.fixed_bytes: every fixed-width column at the offset
 *      in its slot, NULL ones as zeros (so any column is found in O(1)):
 *      boolean/u8 1 byte, u64/integer/timestamp 8, float 8 (IEEE bits,
 *      canonical), u256/i256 32 (big-endian, as in the value)
 *   .  var table, schema.nvar u32s: the end offset of each text/json/blob
 *      column's bytes in the data area (slot = its index); a NULL one has
 *      length 0
 *   .  data area: the payloads back to back; the row ends with the last one
 *
 * Decoding never trusts the bytes: every offset is checked before it is
 * followed, and a damaged row is -AEDB_ECORRUPT, never a crash. A row is
 * canonical (one value, one encoding), so equal rows have equal bytes.
 * Pure functions, no allocation, any thread.
 */
#ifndef AEDB_TABLE_ROW_H
#define AEDB_TABLE_ROW_H

#include <stddef.h>
#include <stdint.h>

#include "table/schema.h"
#include "table/value.h"

#define TV_ROW_VERSION 1u
#define TV_ROW_HEADER_BYTES 4u

/*
 * Bytes that @vals (ncols values of checked schema @s, each NULL or of its
 * column's type) encode to, in *@size. -AEDB_ETYPE (*@column = the column) for
 * a value of another kind, -AEDB_ETOOBIG past 4 GiB.
 */
int tv_row_size(const struct tv_schema *s, const struct tv_value *vals, size_t *size,
		int32_t *column);

/*
 * Encode @vals into @buf (capacity @cap), setting *@len. Returns 0,
 * -AEDB_ETOOBIG (*@len = bytes needed if they fit 4 GiB), -AEDB_ETYPE. It does
 * not check nullability or UTF-8: run tv_schema_row_check() first.
 */
int tv_row_encode(const struct tv_schema *s, const struct tv_value *vals, uint8_t *buf,
		  size_t cap, size_t *len, int32_t *column);

/*
 * Decode and fully check @row[0..@len) into @out[0..ncols). Text, json and
 * blob values point into @row. Returns 0 or -AEDB_ECORRUPT (wrong version,
 * flags or column count, bad offsets, non-zero NULL fields or padding, a
 * boolean not 0/1, a non-canonical float, trailing bytes). UTF-8 is not
 * re-checked: it was checked when the row was written.
 */
int tv_row_decode(const struct tv_schema *s, const uint8_t *row, size_t len,
		  struct tv_value *out);

/*
 * Read column @col alone in O(1), checking the header and every offset it
 * follows (not the rest of the row). Returns 0, -AEDB_ECORRUPT, or
 * -AEDB_EINVAL (@col out of range).
 */
int tv_row_get(const struct tv_schema *s, const uint8_t *row, size_t len, uint32_t col,
	       struct tv_value *out);

#endif /* AEDB_TABLE_ROW_H */
