/* SPDX-License-Identifier: MIT */
/*
 * Table definitions in the catalog (issue 5). A table's definition is kept
 * in the compact encoding logged in its DDL record (docs/TABLES.md, "Catalog
 * records"), and decoded once into a checked tv_schema whose names, columns
 * and defaults point into the same allocation. Immutable once built; freed
 * with the catalog object that holds it. Pure functions, any thread.
 */
#ifndef AEDB_API_TDEF_H
#define AEDB_API_TDEF_H

#include <stdint.h>

#include "aedb.h"
#include "table/schema.h"

#define CAT_TDEF_VERSION 1u
#define CAT_TDEF_BYTES_MAX (1u << 20)   /* largest encoded definition */

struct cat_tdef {
	struct tv_schema schema;   /* checked; every pointer into this object */
	uint32_t enc_len;
	const uint8_t *enc;        /* the encoding it was decoded from */
};

/*
 * Validate public definition @def (tv_schema_check) and encode it into a new
 * buffer *@out (malloc, *@len bytes) that the caller frees. Returns 0, or the
 * public error of the first fault (see aedb_create_table()), or -ENOMEM.
 */
int cat_tdef_encode(const struct aedb_table_def *def, uint8_t **out, uint32_t *len);
/* The same with check constraints @checks[0..@nchecks) (api/tcheck.h). */
int cat_tdef_encode_checks(const struct aedb_table_def *def, const struct aedb_check_def *checks,
			   uint32_t nchecks, uint8_t **out, uint32_t *len);

/*
 * Build a definition of table @name from encoding @enc[0..@len) (copied).
 * Returns 0 and sets *@out (free with free()), -AEDB_ECORRUPT for bytes that
 * do not decode to a valid definition, or -ENOMEM.
 */
int cat_tdef_decode(const char *name, const uint8_t *enc, uint32_t len, struct cat_tdef **out);

#endif
