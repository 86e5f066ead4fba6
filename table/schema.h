/* SPDX-License-Identifier: MIT */
/*
 * Table definitions (issue 5): columns with a type, nullability and a default;
 * the primary key; check constraints (opaque until the expression module
 * exists). tv_schema_check() validates a definition and computes the row
 * layout; then rows can be validated against it, their defaults filled, and
 * their encoded primary key extracted (DESIGN §3: a row lives on shard
 * xxh3(table_id, encoded PK) mod N, i.e. core_kv_shard(table_id, pk, ...)).
 *
 * Errors: public codes where one fits (-AEDB_ETYPE, -AEDB_ENAME,
 * -AEDB_ERESERVED, -AEDB_EINVAL, -AEDB_ETOOBIG, -AEDB_ECORRUPT,
 * -AEDB_EMISUSE), otherwise the internal -TV_E* of value.h. Functions that
 * can blame a column take an optional `int32_t *column` and store its index
 * there (-1 when the fault is not one column's); for PK and check errors it
 * is the position in the PK or check list.
 *
 * A schema does not own any of the memory it points to (names, columns,
 * defaults, PK names, checks); the caller keeps it alive and unchanged after
 * tv_schema_check(). Pure functions, no allocation, any thread.
 */
#ifndef AEDB_TABLE_SCHEMA_H
#define AEDB_TABLE_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "table/value.h"

#define TV_COLUMNS_MAX 1024u     /* columns per table */
#define TV_PK_COLUMNS_MAX 32u    /* columns in a primary (or index) key */
#define TV_CHECKS_MAX 64u        /* check constraints per table */
#define TV_TABLE_KV_INDEX "__kv_index" /* reserved: the managed KV projection */

struct tv_column {
	const char *name;        /* 1..128 bytes of [A-Za-z0-9_-], NUL-terminated */
	uint8_t type;            /* enum tv_type, never TV_NULL */
	bool nullable;
	struct tv_value def;     /* default; type TV_NULL means none */
	uint32_t slot;           /* set by tv_schema_check: see row.h */
};

struct tv_check {
	const char *name;        /* same rule as column names, unique */
	const void *expr;        /* opaque expression, non-NULL */
};

struct tv_schema {
	const char *name;                /* table name */
	struct tv_column *cols;          /* ncols, in row order */
	uint32_t ncols;
	const char *const *pk_names;     /* npk column names, in key order */
	uint32_t npk;
	const struct tv_check *checks;   /* nchecks, may be NULL if 0 */
	uint32_t nchecks;
	/* The row header's tag byte (row.h): the low byte of the table's
	 * alteration count, so a row encoded for another definition of the
	 * table is refused instead of misread. 0 for a table never altered. */
	uint8_t rowtag;

	/* Computed by tv_schema_check(): */
	bool checked;
	uint16_t pk[TV_PK_COLUMNS_MAX];  /* column index of each PK column */
	uint32_t nvar;                   /* text/json/blob columns */
	uint32_t fixed_bytes;            /* bytes of the fixed-width area */
};

/*
 * Validate a table definition and compute its layout (sets cols[].slot,
 * pk[], nvar, fixed_bytes, checked). Rules:
 *  - the table name passes core_name_check() and is not "__kv_index"
 *    (-AEDB_ENAME, -AEDB_ERESERVED);
 *  - 1..TV_COLUMNS_MAX columns (-AEDB_EINVAL for none, -AEDB_ETOOBIG);
 *  - every column: a valid name (-AEDB_ENAME), unique (-TV_EDUPNAME), a
 *    column type (-AEDB_EINVAL), a default of exactly that type
 *    (-AEDB_ETYPE) that is well-formed (-TV_EVALUE);
 *  - 1..TV_PK_COLUMNS_MAX PK columns (-TV_ENOPK, -AEDB_ETOOBIG), each an
 *    existing column (-TV_ENOCOLUMN), not repeated (-TV_EDUPNAME), and not
 *    nullable (-TV_EPKNULLABLE);
 *  - at most TV_CHECKS_MAX checks (-AEDB_ETOOBIG), each with a valid unique
 *    name (-AEDB_ENAME, -TV_EDUPNAME) and an expression (-AEDB_EINVAL).
 * -AEDB_EMISUSE for NULL pointers where arrays are promised.
 */
int tv_schema_check(struct tv_schema *s, int32_t *column);

/* Index of the column named @name, or -TV_ENOCOLUMN. */
int tv_schema_find(const struct tv_schema *s, const char *name);

/*
 * Validate a positional row @vals[0..@n) (schema order) for insert/upsert,
 * filling defaults in place first: a NULL in a column with a default becomes
 * the default (so NOT NULL columns with a default accept NULL, unlike the
 * reference, which checked nullability first). Then: -TV_ECOUNT (@n !=
 * ncols), -AEDB_ETYPE (a value of another kind; no coercion on write),
 * -TV_ENULL (NULL in a NOT NULL column), -TV_EVALUE (invalid UTF-8).
 */
int tv_schema_row_check(const struct tv_schema *s, struct tv_value *vals, size_t n,
			int32_t *column);

/* A value for the column named @name. */
struct tv_named {
	const char *name;
	struct tv_value v;
};

/*
 * Build the positional row @out[0..ncols) from named values @in[0..@n): a
 * column left out is NULL, then defaults and checks as tv_schema_row_check.
 * Also -TV_ENOCOLUMN (a name the table lacks), -TV_EDUPNAME (a column given
 * twice) and -AEDB_EMISUSE (a NULL name); for these three *@column is the
 * position in @in, for the rest the column index.
 */
int tv_schema_row_named(const struct tv_schema *s, const struct tv_named *in, size_t n,
			struct tv_value *out, int32_t *column);

/*
 * The encoded primary key of a checked row @vals (ncols values): its PK
 * columns in key order, through tv_key_encode(). Returns 0, -AEDB_ETOOBIG
 * (*@len = bytes needed), -TV_ENULL (a NULL PK value: the row was not
 * checked).
 */
int tv_schema_pk_encode(const struct tv_schema *s, const struct tv_value *vals,
			uint8_t *buf, size_t cap, size_t *len);

/* The same, read straight from an encoded row (row.h) without decoding the
 * rest of it. Also -AEDB_ECORRUPT for a damaged row. */
int tv_schema_pk_from_row(const struct tv_schema *s, const uint8_t *row, size_t row_len,
			  uint8_t *buf, size_t cap, size_t *len);

#endif /* AEDB_TABLE_SCHEMA_H */
