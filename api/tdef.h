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

#define CAT_TDEF_VERSION_ALTERED 2u /* version 1 plus a u32 alteration count */
#define CAT_TDEF_MAP_NEW 0xffffu      /* map: a column the alteration added */

struct cat_tdef {
	struct tv_schema schema;   /* checked; every pointer into this object */
	uint32_t enc_len;
	const uint8_t *enc;        /* the encoding it was decoded from */
	uint32_t gen;              /* alterations since create (schema.rowtag) */
	/* History (ALTER TABLE, api/talter.c): the definition this one
	 * replaced (owned; NULL for the first), the seq from which this one
	 * holds (0 for the first), and for each column the index of the
	 * column of @prev it comes from (CAT_TDEF_MAP_NEW: added). */
	struct cat_tdef *prev;
	uint64_t since;
	uint16_t *map;             /* schema.ncols entries when @prev; owned */
	/* Foreign keys (api/tfk.h): parsed from the encoding's last section;
	 * owned (one allocation). */
	struct cat_fk *fks;
	uint32_t nfks;
};

/* One column's entry in the encoding: written to @buf (NULL: only the
 * size); returns its bytes. */
size_t cat_tdef_col_put(const struct tv_column *c, uint8_t *buf);
/* The bytes of the column entry at @enc[@at] (of @len), 0 if malformed. */
size_t cat_tdef_col_span(const uint8_t *enc, size_t len, size_t at);

/* Bytes of an encoding's header: 4, or 8 with the alteration count. */
static inline uint32_t cat_tdef_hdr_bytes(const uint8_t *enc)
{
	return enc[0] == CAT_TDEF_VERSION_ALTERED ? 8u : 4u;
}

/* Free @t with its history. NULL is a no-op. */
void cat_tdef_free(struct cat_tdef *t);

/* The definition of @t that rows visible at snapshot @snap were written
 * with (walks the history). */
static inline const struct cat_tdef *cat_tdef_at(const struct cat_tdef *t, uint64_t snap)
{
	while (t->prev && t->since > snap)
		t = t->prev;
	return t;
}

/*
 * Validate public definition @def (tv_schema_check) and encode it into a new
 * buffer *@out (malloc, *@len bytes) that the caller frees. Returns 0, or the
 * public error of the first fault (see aedb_create_table()), or -ENOMEM.
 */
int cat_tdef_encode(const struct aedb_table_def *def, uint8_t **out, uint32_t *len);
/* The same with check constraints @checks[0..@nchecks) (api/tcheck.h). */
int cat_tdef_encode_checks(const struct aedb_table_def *def, const struct aedb_check_def *checks,
			   uint32_t nchecks, uint8_t **out, uint32_t *len);
/* The same with foreign keys @fks[0..@nfks) of a table of @project,
 * normalized (api/tfk.h: cat_fks_encode()). */
int cat_tdef_encode_ex(const struct aedb_table_def *def, const struct aedb_check_def *checks,
		       uint32_t nchecks, const char *project, const struct aedb_fk_def *fks,
		       uint32_t nfks, uint8_t **out, uint32_t *len);

/*
 * Build a definition of table @name from encoding @enc[0..@len) (copied).
 * Returns 0 and sets *@out (free with free()), -AEDB_ECORRUPT for bytes that
 * do not decode to a valid definition, or -ENOMEM.
 */
int cat_tdef_decode(const char *name, const uint8_t *enc, uint32_t len, struct cat_tdef **out);

#endif
