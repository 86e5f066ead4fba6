/* SPDX-License-Identifier: MIT */
/* Order-preserving key encoding. See keyenc.h and docs/TABLES.md. */
#include "table/keyenc.h"

#include "aedb.h"
#include "core/assert.h"

#define TV_SIGN64 (1ull << 63)

/* Value kind of each tag (index: tag - TV_KEY_TAG_BASE), the inverse of
 * tv_type_rank(). */
static const uint8_t tv_key_tag_type[] = {
	TV_NULL, TV_BOOLEAN, TV_U8, TV_U64, TV_INTEGER, TV_U256, TV_I256,
	TV_TIMESTAMP, TV_FLOAT, TV_TEXT, TV_JSON, TV_BLOB,
};
AEDB_STATIC_ASSERT(sizeof(tv_key_tag_type) == TV_KEY_TAG_LAST - TV_KEY_TAG_BASE + 1,
		   "one tag per kind");

static void tv_put_be64(uint8_t *p, uint64_t x)
{
	for (unsigned i = 0; i < 8; i++)
		p[i] = (uint8_t)(x >> (56 - 8 * i));
}

static uint64_t tv_get_be64(const uint8_t *p)
{
	uint64_t x = 0;

	for (unsigned i = 0; i < 8; i++)
		x = x << 8 | p[i];
	return x;
}

/* The float order map of tv_cmp (value.c), and its inverse. */
static uint64_t tv_f64_to_key(double d)
{
	uint64_t bits;

	d = tv_f64_canon(d);
	memcpy(&bits, &d, sizeof(bits));
	return (bits & TV_SIGN64) ? ~bits : bits | TV_SIGN64;
}

static double tv_f64_from_key(uint64_t k)
{
	uint64_t bits = (k & TV_SIGN64) ? k & ~TV_SIGN64 : ~k;
	double d;

	memcpy(&d, &bits, sizeof(d));
	return d;
}

/* Payload bytes of a fixed-width kind in a key (a NULL has none). */
static size_t tv_key_fixed(unsigned type)
{
	return type == TV_NULL ? 0 : tv_type_fixed_bytes(type);
}

size_t tv_key_size(const struct tv_value *v)
{
	const uint8_t *p = v->u.bytes, *z;
	size_t n = 1, left = v->len;

	AEDB_ASSERT(v->type <= TV_TYPE_LAST);
	if (!tv_type_is_var(v->type))
		return n + tv_key_fixed(v->type);
	n += left + 2;
	/* Each 0x00 costs one escape byte. */
	while (left && (z = memchr(p, 0, left))) {
		n++;
		left -= (size_t)(z - p) + 1;
		p = z + 1;
	}
	return n;
}

static size_t tv_key_put_escaped(const uint8_t *p, size_t n, uint8_t *dst)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		dst[o++] = p[i];
		if (p[i] == 0)
			dst[o++] = 0xff;
	}
	return o;
}

size_t tv_key_put(const struct tv_value *v, uint8_t *dst)
{
	size_t o = 1;

	dst[0] = (uint8_t)(TV_KEY_TAG_BASE + tv_type_rank(v->type));
	switch (v->type) {
	case TV_NULL:
		break;
	case TV_BOOLEAN:
		dst[o++] = v->u.b ? 1 : 0;
		break;
	case TV_U8:
		dst[o++] = v->u.u8;
		break;
	case TV_U64:
		tv_put_be64(dst + o, v->u.u64);
		o += 8;
		break;
	case TV_INTEGER:
	case TV_TIMESTAMP:
		tv_put_be64(dst + o, (uint64_t)v->u.i64 ^ TV_SIGN64);
		o += 8;
		break;
	case TV_FLOAT:
		tv_put_be64(dst + o, tv_f64_to_key(v->u.f64));
		o += 8;
		break;
	case TV_U256:
	case TV_I256:
		memcpy(dst + o, v->u.w, TV_U256_BYTES);
		if (v->type == TV_I256)
			dst[o] ^= 0x80;
		o += TV_U256_BYTES;
		break;
	default:
		o += tv_key_put_escaped(v->u.bytes, v->len, dst + o);
		dst[o++] = 0x00;
		dst[o++] = 0x00;
		break;
	}
	AEDB_DEBUG_ASSERT(o == tv_key_size(v));
	return o;
}

int tv_key_encode(const struct tv_value *vals, size_t n, uint8_t *buf, size_t cap,
		  size_t *len)
{
	size_t need = 0, o = 0;

	for (size_t i = 0; i < n; i++) {
		if (vals[i].type > TV_TYPE_LAST)
			return -AEDB_EINVAL;
		need += tv_key_size(&vals[i]);
	}
	*len = need;
	if (need > cap)
		return -AEDB_ETOOBIG;
	for (size_t i = 0; i < n; i++)
		o += tv_key_put(&vals[i], buf + o);
	AEDB_ASSERT(o == need);
	return 0;
}

/*
 * Find the end of an escaped payload starting at @key[o]: the offset of its
 * terminator, and the unescaped length. Anything but 0xff or 0x00 after a
 * 0x00, or no terminator, is corruption. With @utf8, each run between zero
 * bytes must be valid UTF-8 (a 0x00 never sits inside a UTF-8 sequence, so
 * that is the same as checking the unescaped text).
 */
static int tv_key_scan_bytes(const uint8_t *key, size_t len, size_t o, bool utf8,
			     size_t *end, size_t *raw)
{
	const uint8_t *z;

	*raw = 0;
	while (o < len && (z = memchr(key + o, 0, len - o))) {
		size_t at = (size_t)(z - key);

		if (utf8 && !tv_utf8_valid(key + o, at - o))
			return -AEDB_ECORRUPT;
		*raw += at - o;
		if (at + 1 >= len)
			return -AEDB_ECORRUPT;
		if (key[at + 1] == 0x00) {
			*end = at;
			return 0;
		}
		if (key[at + 1] != 0xff)
			return -AEDB_ECORRUPT;
		*raw += 1;
		o = at + 2;
	}
	return -AEDB_ECORRUPT;
}

static int tv_key_decode_bytes(const uint8_t *key, size_t len, size_t *off, unsigned type,
			       struct tv_value *out, uint8_t *scratch)
{
	size_t o = *off, end, raw;
	const uint8_t *p = key + o;
	int rc = tv_key_scan_bytes(key, len, o, type != TV_BLOB, &end, &raw);

	if (rc)
		return rc;
	if (raw > UINT32_MAX)
		return -AEDB_ECORRUPT;
	if (out && raw != end - o) {    /* it holds escapes */
		size_t w = 0;

		if (!scratch)
			return -AEDB_EMISUSE;
		for (size_t i = o; i < end; i++) {
			scratch[w++] = key[i];
			if (key[i] == 0)
				i++;    /* skip the 0xff escape */
		}
		AEDB_ASSERT(w == raw);
		p = scratch;
	}
	if (out)
		*out = tv_bytes_of(type, raw ? p : NULL, (uint32_t)raw);
	*off = end + 2;
	return 0;
}

static int tv_key_decode_fixed(const uint8_t *q, unsigned type, struct tv_value *v)
{
	uint64_t x;

	switch (type) {
	case TV_NULL:
		*v = tv_null();
		return 0;
	case TV_BOOLEAN:
		if (q[0] > 1)
			return -AEDB_ECORRUPT;
		*v = tv_boolean(q[0] == 1);
		return 0;
	case TV_U8:
		*v = tv_u8(q[0]);
		return 0;
	case TV_U64:
		*v = tv_u64(tv_get_be64(q));
		return 0;
	case TV_INTEGER:
	case TV_TIMESTAMP:
		x = tv_get_be64(q) ^ TV_SIGN64;
		*v = type == TV_INTEGER ? tv_integer((int64_t)x) : tv_timestamp((int64_t)x);
		return 0;
	case TV_FLOAT:
		x = tv_get_be64(q);
		*v = tv_float(tv_f64_from_key(x));
		/* Only canonical floats are ever encoded: one value, one key. */
		return tv_f64_to_key(v->u.f64) == x ? 0 : -AEDB_ECORRUPT;
	default:
		*v = tv_u256(q);
		v->type = (uint8_t)type;
		if (type == TV_I256)
			v->u.w[0] ^= 0x80;
		return 0;
	}
}

int tv_key_decode_one(const uint8_t *key, size_t len, size_t *off, struct tv_value *out,
		      uint8_t *scratch)
{
	size_t o = *off, fixed;
	struct tv_value v;
	unsigned tag, type;
	int rc;

	if (o >= len)
		return -AEDB_ECORRUPT;
	tag = key[o++];
	if (tag < TV_KEY_TAG_BASE || tag > TV_KEY_TAG_LAST)
		return -AEDB_ECORRUPT;
	type = tv_key_tag_type[tag - TV_KEY_TAG_BASE];
	if (tv_type_is_var(type)) {
		rc = tv_key_decode_bytes(key, len, &o, type, out, scratch);
		if (rc == 0)
			*off = o;
		return rc;
	}
	fixed = tv_key_fixed(type);
	if (len - o < fixed)
		return -AEDB_ECORRUPT;
	rc = tv_key_decode_fixed(key + o, type, &v);
	if (rc)
		return rc;
	if (out)
		*out = v;
	*off = o + fixed;
	return 0;
}

int tv_key_decode(const uint8_t *key, size_t len, struct tv_value *out, size_t max,
		  size_t *n, uint8_t *scratch)
{
	size_t off = 0, count = 0, used = 0;

	while (off < len) {
		size_t start = off;
		int rc;

		if (count == max)
			return -AEDB_ETOOBIG;
		rc = tv_key_decode_one(key, len, &off, &out[count],
				       scratch ? scratch + used : NULL);
		if (rc)
			return rc;
		/* Unescaped payloads are never longer than their component. */
		if (scratch && out[count].len && out[count].u.bytes == scratch + used)
			used += out[count].len;
		AEDB_ASSERT(used <= off && off > start);
		count++;
	}
	*n = count;
	return 0;
}

bool tv_key_successor(uint8_t *key, size_t *len)
{
	size_t n = *len;

	while (n && key[n - 1] == 0xff)
		n--;
	if (!n)
		return false;
	key[n - 1]++;
	*len = n;
	return true;
}

int tv_key_put_bytes_prefix(unsigned type, const uint8_t *p, size_t n, uint8_t *buf,
			    size_t cap, size_t *len)
{
	struct tv_value v;
	size_t need;

	if (!tv_type_is_var(type) || n > UINT32_MAX)
		return -AEDB_EINVAL;
	v = tv_bytes_of(type, p, (uint32_t)n);
	need = tv_key_size(&v) - 2;     /* without the terminator */
	if (*len > cap || cap - *len < need)
		return -AEDB_ETOOBIG;
	buf[*len] = (uint8_t)(TV_KEY_TAG_BASE + tv_type_rank(type));
	*len += 1 + tv_key_put_escaped(p, n, buf + *len + 1);
	return 0;
}
