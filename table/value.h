/* SPDX-License-Identifier: MIT */
/*
 * tv_value - one typed value of the relational layer (issue 5): the 11 column
 * types of the reference plus NULL, a total order over all of them, and the
 * conversion of a query literal to a column's type (docs/TABLES.md).
 *
 * Values are small and passed by value. Text, json and blob payloads are NOT
 * owned: they point at caller bytes (or into a row or key buffer they were
 * decoded from) that must outlive the value. u256/i256 are 32 bytes
 * big-endian (i256 two's complement), as every API of the reference speaks of
 * `amount_be`.
 *
 * Floats are canonical: tv_float() turns -0.0 into +0.0 and every NaN into
 * the one quiet NaN (TV_F64_NAN_BITS), so "equal values have equal bytes"
 * holds in rows and keys. NaN is a value, greater than +inf.
 *
 * Pure functions, no allocation, callable from any thread.
 */
#ifndef AEDB_TABLE_VALUE_H
#define AEDB_TABLE_VALUE_H

#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Value kinds. The numbers are stable: they go into catalog records. */
enum tv_type {
	TV_NULL = 0,
	TV_TEXT = 1,       /* UTF-8 bytes */
	TV_U8 = 2,
	TV_U64 = 3,
	TV_INTEGER = 4,    /* i64 */
	TV_FLOAT = 5,      /* f64, canonical (see above) */
	TV_BOOLEAN = 6,
	TV_U256 = 7,       /* 32 bytes big-endian */
	TV_I256 = 8,       /* 32 bytes big-endian two's complement */
	TV_BLOB = 9,
	TV_TIMESTAMP = 10, /* i64 microseconds since the Unix epoch */
	TV_JSON = 11,      /* UTF-8 text */
	TV_TYPE_LAST = TV_JSON,
};

/*
 * Errors of the relational layer that no public code names yet (a type
 * mismatch is the public -AEDB_ETYPE). They never reach an application:
 * tv_error_public() maps them at the API boundary. The band sits far above
 * the public one (AEDB_ERRNO_BASE = 30000).
 */
enum tv_errno {
	TV_ERRNO_BASE = 31000,
	TV_ENULL = TV_ERRNO_BASE + 1, /* NULL (after defaults) in a NOT NULL column */
	TV_ENOCOLUMN,   /* no column by that name */
	TV_EDUPNAME,    /* a column, PK column or check named twice */
	TV_ENOPK,       /* the table has no primary key */
	TV_EPKNULLABLE, /* a primary-key column is declared nullable */
	TV_EVALUE,      /* text or json that is not valid UTF-8 */
	TV_ECOUNT,      /* positional row with the wrong number of values */
	TV_ERRNO_LAST
};

#define TV_U256_BYTES 32u
#define TV_F64_NAN_BITS 0x7ff8000000000000ull

struct tv_value {
	uint8_t type;          /* enum tv_type */
	uint8_t reserved[3];
	uint32_t len;          /* text/json/blob: payload bytes */
	union {
		bool b;
		uint8_t u8;
		uint64_t u64;
		int64_t i64;   /* integer, timestamp */
		double f64;
		uint8_t w[TV_U256_BYTES]; /* u256, i256 */
		const uint8_t *bytes;     /* text, json, blob; not owned */
	} u;
};

/* ---- constructors ------------------------------------------------------ */

static inline struct tv_value tv_null(void)
{
	struct tv_value v;

	memset(&v, 0, sizeof(v));
	return v;
}

static inline struct tv_value tv_bytes_of(enum tv_type type, const void *p, uint32_t len)
{
	struct tv_value v = tv_null();

	v.type = (uint8_t)type;
	v.len = len;
	v.u.bytes = p;
	return v;
}

static inline struct tv_value tv_text(const void *p, uint32_t len)
{
	return tv_bytes_of(TV_TEXT, p, len);
}

static inline struct tv_value tv_json(const void *p, uint32_t len)
{
	return tv_bytes_of(TV_JSON, p, len);
}

static inline struct tv_value tv_blob(const void *p, uint32_t len)
{
	return tv_bytes_of(TV_BLOB, p, len);
}

static inline struct tv_value tv_u8(uint8_t x)
{
	struct tv_value v = tv_null();

	v.type = TV_U8;
	v.u.u8 = x;
	return v;
}

static inline struct tv_value tv_u64(uint64_t x)
{
	struct tv_value v = tv_null();

	v.type = TV_U64;
	v.u.u64 = x;
	return v;
}

static inline struct tv_value tv_integer(int64_t x)
{
	struct tv_value v = tv_null();

	v.type = TV_INTEGER;
	v.u.i64 = x;
	return v;
}

static inline struct tv_value tv_timestamp(int64_t us)
{
	struct tv_value v = tv_null();

	v.type = TV_TIMESTAMP;
	v.u.i64 = us;
	return v;
}

static inline struct tv_value tv_boolean(bool x)
{
	struct tv_value v = tv_null();

	v.type = TV_BOOLEAN;
	v.u.b = x;
	return v;
}

/* -0.0 becomes +0.0 and every NaN the canonical quiet NaN. */
static inline double tv_f64_canon(double d)
{
	if (isnan(d)) {
		uint64_t bits = TV_F64_NAN_BITS;

		memcpy(&d, &bits, sizeof(d));
	} else if (d == 0.0) {
		d = 0.0;
	}
	return d;
}

static inline struct tv_value tv_float(double x)
{
	struct tv_value v = tv_null();

	v.type = TV_FLOAT;
	v.u.f64 = tv_f64_canon(x);
	return v;
}

/* @be: 32 bytes, big-endian (copied). */
static inline struct tv_value tv_u256(const uint8_t be[TV_U256_BYTES])
{
	struct tv_value v = tv_null();

	v.type = TV_U256;
	memcpy(v.u.w, be, TV_U256_BYTES);
	return v;
}

static inline struct tv_value tv_i256(const uint8_t be[TV_U256_BYTES])
{
	struct tv_value v = tv_u256(be);

	v.type = TV_I256;
	return v;
}

/* An i256 holding @x, sign-extended. */
struct tv_value tv_i256_from_i64(int64_t x);
/* A u256 holding @x. */
struct tv_value tv_u256_from_u64(uint64_t x);

/* ---- type information -------------------------------------------------- */

/* True for TV_TEXT .. TV_JSON (not TV_NULL). */
static inline bool tv_type_is_column(unsigned type)
{
	return type >= TV_TEXT && type <= TV_TYPE_LAST;
}

/* True for text, json and blob: payloads of variable length. */
static inline bool tv_type_is_var(unsigned type)
{
	return type == TV_TEXT || type == TV_JSON || type == TV_BLOB;
}

/* Position of a kind in the total order below: NULL 0, boolean 1, ..., blob
 * 11. The key encoding's tag bytes follow it. Asserts a known tag. */
unsigned tv_type_rank(unsigned type);
/* Bytes of a fixed-width type's payload in a row; 0 for NULL and var types. */
unsigned tv_type_fixed_bytes(unsigned type);
/* "text", "u8", ..., "null"; "?" for an unknown tag. Static string. */
const char *tv_type_name(unsigned type);

/* ---- order, equality, checks ------------------------------------------- */

/*
 * The type-strict total order (reference §1.3, with I256 sign-aware as at
 * its HEAD): kinds rank NULL < boolean < u8 < u64 < integer < u256 < i256 <
 * timestamp < float < text < json < blob; within a kind the natural order:
 * numbers by value, false < true, text/json/blob bytewise (a prefix first),
 * floats with -0.0 == +0.0 and NaN == NaN greater than +inf. Returns <0, 0,
 * >0. It is exactly memcmp order of the key encodings (keyenc.h).
 */
int tv_cmp(const struct tv_value *a, const struct tv_value *b);

static inline bool tv_equal(const struct tv_value *a, const struct tv_value *b)
{
	return tv_cmp(a, b) == 0;
}

/* Whether @p[0..@n) is well-formed UTF-8 (no overlongs, no surrogates,
 * nothing above U+10FFFF). U+0000 is allowed. */
bool tv_utf8_valid(const uint8_t *p, size_t n);

/* 0 if @v is a well-formed value: a known tag, and valid UTF-8 for text and
 * json; else -AEDB_EINVAL (bad tag) or -TV_EVALUE. */
int tv_value_check(const struct tv_value *v);

/* ---- literal conversion (reference §1.5 [rec], §3.1) ------------------- */

/* Where a converted literal lies among the column type's values. */
enum tv_conv {
	TV_CONV_EXACT = 0,   /* *out equals the literal */
	TV_CONV_BETWEEN = 1, /* *out < literal < the next value of the type */
	TV_CONV_BELOW = 2,   /* literal < every value; *out = the type's minimum */
	TV_CONV_ABOVE = 3,   /* literal > every value; *out = the type's maximum */
};

/*
 * Convert query literal @lit to column type @col before a key or index lookup,
 * so a cross-kind literal finds what a full scan would. Allowed (else
 * -AEDB_ETYPE): NULL to anything (stays NULL); integer, float, timestamp and u8
 * columns take any of u8/u64/integer/float/timestamp; u64 takes u8/u64/
 * integer; u256 and i256 take their own kind and u8/u64/integer; json takes
 * json or text; text, boolean and blob only their own kind. Inexact results
 * say where the literal falls (*@how), so the planner turns `col = 5.5` into
 * no rows and `col < 5.5` into `col <= 5`. NaN is above every number, as in
 * tv_cmp. Returns 0, -AEDB_ETYPE, or -AEDB_EINVAL (@col not a column type).
 */
int tv_convert(const struct tv_value *lit, unsigned col, struct tv_value *out,
	       enum tv_conv *how);

/* Map a table-layer error to the public code an application sees today
 * (TV_* -> -AEDB_EINVAL until aedb.h gains finer codes); others unchanged. */
int tv_error_public(int err);

#endif /* AEDB_TABLE_VALUE_H */
