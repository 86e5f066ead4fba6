/* SPDX-License-Identifier: MIT */
/*
 * Check constraints in table definitions (api/tcheck.c). The section
 * follows the primary key in a definition's encoding (docs/TABLES.md):
 *
 *   u8 n (1..64), then per check: u8 name length, the name,
 *   u32 expression length (little-endian), tv_expr_encode() bytes.
 *
 * Pure functions, any thread.
 */
#ifndef AEDB_API_TCHECK_H
#define AEDB_API_TCHECK_H

#include <stddef.h>
#include <stdint.h>

#include "aedb.h"
#include "table/schema.h"

/*
 * Validate @checks[0..@n) (1..64) against checked schema @s (every
 * expression binds: its columns exist, its literals convert) and encode the
 * section into @buf (NULL: only the size). *@len: the section's bytes.
 * Returns 0, -AEDB_ENOCOLUMN, -AEDB_ETYPE, -AEDB_EINVAL, -AEDB_ETOOBIG,
 * -ENOMEM. Names are checked by tv_schema_check().
 */
int cat_checks_encode(const struct tv_schema *s, const struct aedb_check_def *checks,
		      uint32_t n, uint8_t *buf, size_t *len);

/*
 * Parse the section @p[0..@len) into @out (room for TV_CHECKS_MAX): names
 * are copied to @names (room for @len bytes), each expr points at its u32
 * length inside @p (which must outlive @out). 0 or -AEDB_ECORRUPT.
 */
int cat_checks_parse(const uint8_t *p, size_t len, struct tv_check *out, char *names,
		     uint32_t *n);

/* Every check of checked schema @s decodes and binds against its columns:
 * 0, -AEDB_ECORRUPT, -ENOMEM (definitions are checked so when decoded). */
int cat_checks_validate(const struct tv_schema *s);

/*
 * Evaluate every check of @s on @row (ncols values, defaults filled).
 * Returns 0, -AEDB_ECHECK (*@failed = the check's index, if non-NULL),
 * -AEDB_ECORRUPT, -ENOMEM.
 */
int cat_checks_eval(const struct tv_schema *s, const struct tv_value *row, int32_t *failed);

/* aedb_describe_table(): bytes for @s's checks in an aedb_table_info; fill
 * them at @mem (aligned for pointers), decoding each expression (owned by
 * the info: cat_checks_info_free() before freeing it). 0 or -ENOMEM,
 * -AEDB_ECORRUPT (then info->nchecks is what was filled). */
size_t cat_checks_info_bytes(const struct tv_schema *s);
int cat_checks_info_fill(const struct tv_schema *s, void *mem, struct aedb_table_info *info);
void cat_checks_info_free(struct aedb_table_info *info);

#endif
