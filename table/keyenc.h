/* SPDX-License-Identifier: MIT */
/*
 * Order-preserving key encoding (DESIGN §7): for any two value tuples,
 * memcmp order of their encodings (shorter prefix first) equals the
 * lexicographic tv_cmp order of the tuples. So one comparator serves every
 * ordered map, primary keys and index keys alike.
 *
 * A component is a tag byte (TV_KEY_TAG_BASE + tv_type_rank(), so kinds sort
 * in the value order and NULL first) and a payload:
 *   boolean 0x00/0x01; u8 1 byte; u64 8 bytes big-endian;
 *   integer, timestamp 8 bytes big-endian with the sign bit flipped;
 *   u256 32 bytes as is; i256 32 bytes with the sign bit flipped;
 *   float the 8 bytes of its order map (negatives: all bits flipped;
 *     others: sign bit set), canonical -0.0/NaN only;
 *   text, json, blob: the bytes with each 0x00 written 0x00 0xFF, then the
 *     terminator 0x00 0x00 (so a prefix sorts first whatever follows it);
 *   NULL: no payload.
 * A tuple is the concatenation of its components, so a leftmost prefix of
 * columns encodes to a byte prefix: [enc, tv_key_successor(enc)) is a range
 * scan over it. Byte layout and reasoning: docs/TABLES.md.
 *
 * Pure functions, no allocation, any thread.
 */
#ifndef AEDB_TABLE_KEYENC_H
#define AEDB_TABLE_KEYENC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "table/value.h"

/* Tags 0x01..0x0c; 0x00 and 0xff are never tags, so a bound may use them
 * to sort before or after every component. */
#define TV_KEY_TAG_BASE 0x01u
#define TV_KEY_TAG_NULL (TV_KEY_TAG_BASE + 0)
#define TV_KEY_TAG_LAST (TV_KEY_TAG_BASE + 11)

/* Encoded bytes of @v as one component. @v must pass tv_value_check(). */
size_t tv_key_size(const struct tv_value *v);
/* Append @v's component at @dst, which has tv_key_size(@v) bytes; returns
 * that count. */
size_t tv_key_put(const struct tv_value *v, uint8_t *dst);

/*
 * Encode the tuple @vals[0..@n) into @buf (capacity @cap). Returns 0 and sets
 * *@len; -AEDB_ETOOBIG when it does not fit (*@len = the bytes needed, so the
 * caller can size a buffer); -AEDB_EINVAL for a value of unknown type.
 */
int tv_key_encode(const struct tv_value *vals, size_t n, uint8_t *buf, size_t cap,
		  size_t *len);

/*
 * Decode the component at @key[*@off] (of @len bytes) into *@out (NULL to
 * just validate and skip it) and advance *@off. Text, json and blob payloads
 * point into @key when they hold no 0x00 byte, else they are unescaped into
 * @scratch, which needs room for the payload (the component's length always
 * suffices). Returns 0, -AEDB_ECORRUPT (cut short, unknown tag, bad escape,
 * non-canonical float or boolean, invalid UTF-8 in text/json), or
 * -AEDB_EMISUSE (an escaped payload and no @scratch). Never reads outside
 * @key[0..@len).
 */
int tv_key_decode_one(const uint8_t *key, size_t len, size_t *off, struct tv_value *out,
		      uint8_t *scratch);

/*
 * Decode a whole tuple into @out[0..@max) and set *@n. @scratch (@len bytes
 * always suffice; may be NULL if no payload holds 0x00) backs unescaped
 * payloads. Returns 0, -AEDB_ECORRUPT, -AEDB_ETOOBIG (more than @max
 * components), -AEDB_EMISUSE.
 */
int tv_key_decode(const uint8_t *key, size_t len, struct tv_value *out, size_t max,
		  size_t *n, uint8_t *scratch);

/*
 * The smallest byte string greater than every string that starts with
 * @key[0..*@len): the last byte that is not 0xff is incremented and the rest
 * dropped (*@len shrinks). False (key unchanged) when every byte is 0xff or
 * the key is empty: no such bound exists, the range is unbounded above.
 */
bool tv_key_successor(uint8_t *key, size_t *len);

/*
 * The encoded prefix shared by every text/json/blob value of kind @type that
 * starts with @p[0..@n): the tag and the escaped bytes, no terminator. For
 * LIKE 'abc%': scan [prefix, successor(prefix)). Appended at @buf[*@len]
 * (capacity @cap). Returns 0, -AEDB_ETOOBIG (*@len unchanged), -AEDB_EINVAL
 * (@type not text, json or blob).
 */
int tv_key_put_bytes_prefix(unsigned type, const uint8_t *p, size_t n, uint8_t *buf,
			    size_t cap, size_t *len);

/* Eight key bytes as a big-endian number: their memcmp order. */
static inline uint64_t tv_key_word(const uint8_t *p)
{
	uint64_t x;

	memcpy(&x, p, sizeof(x));
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	x = __builtin_bswap64(x);
#endif
	return x;
}

/* The order of encoded keys: memcmp, then the shorter first. Keys are
 * short (a u64 PK is 9 bytes) and merges and range checks compare one per
 * row, so words and a byte tail are compared inline. */
static inline int tv_key_cmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	size_t n = alen < blen ? alen : blen, i = 0;

	for (; i + 8 <= n; i += 8) {
		uint64_t x = tv_key_word(a + i), y = tv_key_word(b + i);

		if (x != y)
			return x < y ? -1 : 1;
	}
	for (; i < n; i++)
		if (a[i] != b[i])
			return a[i] < b[i] ? -1 : 1;
	return (alen > blen) - (alen < blen);
}

#endif /* AEDB_TABLE_KEYENC_H */
