/* SPDX-License-Identifier: MIT */
/* Typed values: order, UTF-8 check, literal conversion. See value.h. */
#include "table/value.h"

#include "aedb.h"
#include "core/assert.h"

/* 2^63 and 2^64 as doubles: the first values past i64 and u64. */
#define TV_TWO63 9223372036854775808.0
#define TV_TWO64 18446744073709551616.0

static const struct {
	uint8_t rank;
	uint8_t fixed_bytes;
	const char *name;
} tv_types[TV_TYPE_LAST + 1] = {
	[TV_NULL] = { 0, 0, "null" },
	[TV_BOOLEAN] = { 1, 1, "boolean" },
	[TV_U8] = { 2, 1, "u8" },
	[TV_U64] = { 3, 8, "u64" },
	[TV_INTEGER] = { 4, 8, "integer" },
	[TV_U256] = { 5, 32, "u256" },
	[TV_I256] = { 6, 32, "i256" },
	[TV_TIMESTAMP] = { 7, 8, "timestamp" },
	[TV_FLOAT] = { 8, 8, "float" },
	[TV_TEXT] = { 9, 0, "text" },
	[TV_JSON] = { 10, 0, "json" },
	[TV_BLOB] = { 11, 0, "blob" },
};

unsigned tv_type_rank(unsigned type)
{
	AEDB_ASSERT(type <= TV_TYPE_LAST);
	return tv_types[type].rank;
}

unsigned tv_type_fixed_bytes(unsigned type)
{
	return type <= TV_TYPE_LAST ? tv_types[type].fixed_bytes : 0;
}

const char *tv_type_name(unsigned type)
{
	return type <= TV_TYPE_LAST ? tv_types[type].name : "?";
}

struct tv_value tv_i256_from_i64(int64_t x)
{
	struct tv_value v = tv_null();
	uint64_t u = (uint64_t)x;

	v.type = TV_I256;
	memset(v.u.w, x < 0 ? 0xff : 0x00, TV_U256_BYTES);
	for (unsigned i = 0; i < 8; i++)
		v.u.w[TV_U256_BYTES - 1 - i] = (uint8_t)(u >> (8 * i));
	return v;
}

struct tv_value tv_u256_from_u64(uint64_t x)
{
	struct tv_value v = tv_null();

	v.type = TV_U256;
	for (unsigned i = 0; i < 8; i++)
		v.u.w[TV_U256_BYTES - 1 - i] = (uint8_t)(x >> (8 * i));
	return v;
}

static int tv_cmp_u64(uint64_t a, uint64_t b)
{
	return (a > b) - (a < b);
}

static int tv_cmp_i64(int64_t a, int64_t b)
{
	return (a > b) - (a < b);
}

/*
 * The float order as an unsigned integer order (the key encoding uses the
 * same map): negatives have every bit flipped so larger magnitudes sort
 * lower; non-negatives get the sign bit set so they sort above all
 * negatives. Canonicalizing first makes -0.0 equal +0.0 and puts every NaN
 * (as +NaN) above +inf.
 */
static uint64_t tv_f64_order_bits(double d)
{
	uint64_t bits;

	d = tv_f64_canon(d);
	memcpy(&bits, &d, sizeof(bits));
	return (bits >> 63) ? ~bits : bits | (1ull << 63);
}

static int tv_cmp_bytes(const struct tv_value *a, const struct tv_value *b)
{
	uint32_t n = a->len < b->len ? a->len : b->len;
	int c = n ? memcmp(a->u.bytes, b->u.bytes, n) : 0;

	if (c)
		return c < 0 ? -1 : 1;
	return tv_cmp_u64(a->len, b->len);
}

int tv_cmp(const struct tv_value *a, const struct tv_value *b)
{
	unsigned ra = tv_type_rank(a->type), rb = tv_type_rank(b->type);
	int c;

	if (ra != rb)
		return ra < rb ? -1 : 1;
	switch (a->type) {
	case TV_NULL:
		return 0;
	case TV_BOOLEAN:
		return (int)a->u.b - (int)b->u.b;
	case TV_U8:
		return (int)a->u.u8 - (int)b->u.u8;
	case TV_U64:
		return tv_cmp_u64(a->u.u64, b->u.u64);
	case TV_INTEGER:
	case TV_TIMESTAMP:
		return tv_cmp_i64(a->u.i64, b->u.i64);
	case TV_FLOAT:
		return tv_cmp_u64(tv_f64_order_bits(a->u.f64), tv_f64_order_bits(b->u.f64));
	case TV_I256:
		/* Two's complement: flipping the sign bit makes it unsigned order. */
		c = (int)(a->u.w[0] ^ 0x80) - (int)(b->u.w[0] ^ 0x80);
		if (c)
			return c < 0 ? -1 : 1;
		c = memcmp(a->u.w + 1, b->u.w + 1, TV_U256_BYTES - 1);
		return (c > 0) - (c < 0);
	case TV_U256:
		c = memcmp(a->u.w, b->u.w, TV_U256_BYTES);
		return (c > 0) - (c < 0);
	default:
		return tv_cmp_bytes(a, b);
	}
}

bool tv_utf8_valid(const uint8_t *p, size_t n)
{
	size_t i = 0;

	while (i < n) {
		uint8_t c = p[i];
		unsigned need;
		uint8_t lo = 0x80, hi = 0xbf; /* bounds of the second byte */

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			need = 1;
		} else if (c >= 0xe0 && c <= 0xef) {
			need = 2;
			if (c == 0xe0)
				lo = 0xa0;      /* no overlongs */
			else if (c == 0xed)
				hi = 0x9f;      /* no surrogates */
		} else if (c >= 0xf0 && c <= 0xf4) {
			need = 3;
			if (c == 0xf0)
				lo = 0x90;      /* no overlongs */
			else if (c == 0xf4)
				hi = 0x8f;      /* nothing past U+10FFFF */
		} else {
			return false;
		}
		if (n - i <= need)
			return false;
		if (p[i + 1] < lo || p[i + 1] > hi)
			return false;
		for (unsigned k = 2; k <= need; k++)
			if ((p[i + k] & 0xc0) != 0x80)
				return false;
		i += need + 1;
	}
	return true;
}

int tv_value_check(const struct tv_value *v)
{
	if (v->type > TV_TYPE_LAST)
		return -AEDB_EINVAL;
	if (v->len && !tv_type_is_var(v->type))
		return -AEDB_EINVAL;
	if (!tv_type_is_var(v->type))
		return 0;
	if (v->len && !v->u.bytes)
		return -AEDB_EINVAL;
	if (v->type != TV_BLOB && v->len && !tv_utf8_valid(v->u.bytes, v->len))
		return -TV_EVALUE;
	return 0;
}

/* ---- literal conversion ------------------------------------------------ */

/* A numeric literal, widened: exactly one of the three forms. */
struct tv_num {
	enum { TV_NUM_U, TV_NUM_S, TV_NUM_F } kind;
	uint64_t u;
	int64_t s;
	double f;
};

static bool tv_num_of(const struct tv_value *v, struct tv_num *n)
{
	switch (v->type) {
	case TV_U8:
		n->kind = TV_NUM_U;
		n->u = v->u.u8;
		return true;
	case TV_U64:
		n->kind = TV_NUM_U;
		n->u = v->u.u64;
		return true;
	case TV_INTEGER:
	case TV_TIMESTAMP:
		n->kind = TV_NUM_S;
		n->s = v->u.i64;
		return true;
	case TV_FLOAT:
		n->kind = TV_NUM_F;
		n->f = tv_f64_canon(v->u.f64);
		return true;
	default:
		return false;
	}
}

/*
 * Fit a number into the integer range [min, max] (min <= 0 <= max, both
 * exact in i64/u64): *out is the greatest integer <= the number when it is
 * in range. Values above INT64_MAX only arrive as u64 and only matter for
 * u64-wide targets, which take the unsigned path.
 */
static enum tv_conv tv_fit_int(const struct tv_num *n, int64_t min, uint64_t max,
			       uint64_t *out)
{
	int64_t t;

	switch (n->kind) {
	case TV_NUM_U:
		*out = n->u;
		return n->u > max ? TV_CONV_ABOVE : TV_CONV_EXACT;
	case TV_NUM_S:
		*out = (uint64_t)n->s;
		if (n->s < min)
			return TV_CONV_BELOW;
		return n->s >= 0 && (uint64_t)n->s > max ? TV_CONV_ABOVE : TV_CONV_EXACT;
	default:
		break;
	}
	/* Floats only reach targets whose range lies inside i64's. */
	AEDB_ASSERT(max <= (uint64_t)INT64_MAX);
	if (isnan(n->f) || n->f >= TV_TWO63)
		return TV_CONV_ABOVE;
	if (n->f < -TV_TWO63)
		return TV_CONV_BELOW;
	/* Floor without libm: truncate toward zero, then step down for negatives
	 * with a fraction. Exact: |f| < 2^63, and above 2^53 f is integral. */
	t = (int64_t)n->f;
	if ((double)t > n->f)
		t--;
	*out = (uint64_t)t;
	if (t < min)
		return TV_CONV_BELOW;
	if (t >= 0 && (uint64_t)t > max)
		return TV_CONV_ABOVE;
	if ((double)t == n->f)
		return TV_CONV_EXACT;
	/* max < f < max + 1: no value of the type lies above it. */
	return (uint64_t)t == max ? TV_CONV_ABOVE : TV_CONV_BETWEEN;
}

/* The greatest double below @d (finite @d). */
static double tv_f64_prev(double d)
{
	uint64_t bits;

	if (d == 0.0)
		bits = 0x8000000000000001ull;   /* the smallest negative subnormal */
	else {
		memcpy(&bits, &d, sizeof(bits));
		bits = (bits >> 63) ? bits + 1 : bits - 1;
	}
	memcpy(&d, &bits, sizeof(d));
	return d;
}

/* Integers to float: the greatest double <= the integer, and whether equal.
 * (double)x rounds to nearest; it is integral, so it compares exactly once
 * converted back (2^63 and 2^64 lie past every i64 and u64). */
static enum tv_conv tv_fit_float(const struct tv_num *n, double *out)
{
	double d;
	int c;

	if (n->kind == TV_NUM_F) {
		*out = n->f;
		return TV_CONV_EXACT;
	}
	if (n->kind == TV_NUM_U) {
		d = (double)n->u;
		c = d >= TV_TWO64 ? 1 : tv_cmp_u64((uint64_t)d, n->u);
	} else {
		d = (double)n->s;
		c = d >= TV_TWO63 ? 1 : tv_cmp_i64((int64_t)d, n->s);
	}
	if (c > 0)
		d = tv_f64_prev(d);
	*out = d;
	return c ? TV_CONV_BETWEEN : TV_CONV_EXACT;
}

static void tv_store_int(unsigned col, uint64_t x, enum tv_conv how, struct tv_value *out)
{
	switch (col) {
	case TV_U8:
		if (how == TV_CONV_BELOW)
			x = 0;
		else if (how == TV_CONV_ABOVE)
			x = UINT8_MAX;
		*out = tv_u8((uint8_t)x);
		break;
	case TV_U64:
		if (how == TV_CONV_BELOW)
			x = 0;
		else if (how == TV_CONV_ABOVE)
			x = UINT64_MAX;
		*out = tv_u64(x);
		break;
	default:
		if (how == TV_CONV_BELOW)
			x = (uint64_t)INT64_MIN;
		else if (how == TV_CONV_ABOVE)
			x = (uint64_t)INT64_MAX;
		*out = col == TV_TIMESTAMP ? tv_timestamp((int64_t)x) : tv_integer((int64_t)x);
		break;
	}
}

/* Integer literals into u256/i256 (the reference's HEAD allows this). */
static int tv_convert_wide(const struct tv_num *n, unsigned col, struct tv_value *out,
			   enum tv_conv *how)
{
	*how = TV_CONV_EXACT;
	if (n->kind == TV_NUM_U) {
		*out = tv_u256_from_u64(n->u);
	} else if (col == TV_I256) {
		*out = tv_i256_from_i64(n->s);
	} else if (n->s < 0) {
		*out = tv_u256_from_u64(0);
		*how = TV_CONV_BELOW;
	} else {
		*out = tv_u256_from_u64((uint64_t)n->s);
	}
	out->type = (uint8_t)col;
	return 0;
}

int tv_convert(const struct tv_value *lit, unsigned col, struct tv_value *out,
	       enum tv_conv *how)
{
	struct tv_num n = { 0 };
	uint64_t x = 0;
	double d;

	if (!tv_type_is_column(col))
		return -AEDB_EINVAL;
	*how = TV_CONV_EXACT;
	if (lit->type == TV_NULL || lit->type == col) {
		*out = *lit;
		if (col == TV_FLOAT)
			out->u.f64 = tv_f64_canon(lit->u.f64);
		return 0;
	}
	if (col == TV_JSON && lit->type == TV_TEXT) {
		*out = tv_json(lit->u.bytes, lit->len);
		return 0;
	}
	if (!tv_num_of(lit, &n))
		return -AEDB_ETYPE;
	switch (col) {
	case TV_FLOAT:
		*how = tv_fit_float(&n, &d);
		*out = tv_float(d);
		return 0;
	case TV_U8:
	case TV_INTEGER:
	case TV_TIMESTAMP:
		if (col == TV_U8)
			*how = tv_fit_int(&n, 0, UINT8_MAX, &x);
		else
			*how = tv_fit_int(&n, INT64_MIN, INT64_MAX, &x);
		tv_store_int(col, x, *how, out);
		return 0;
	case TV_U64:
		if (lit->type != TV_U8 && lit->type != TV_INTEGER)
			return -AEDB_ETYPE;
		*how = tv_fit_int(&n, 0, UINT64_MAX, &x);
		tv_store_int(col, x, *how, out);
		return 0;
	case TV_U256:
	case TV_I256:
		if (lit->type != TV_U8 && lit->type != TV_U64 && lit->type != TV_INTEGER)
			return -AEDB_ETYPE;
		return tv_convert_wide(&n, col, out, how);
	default:
		return -AEDB_ETYPE;
	}
}

int tv_error_public(int err)
{
	int e = err < 0 ? -err : err;

	if (e > TV_ERRNO_BASE && e < TV_ERRNO_LAST)
		return -AEDB_EINVAL;
	return err;
}
