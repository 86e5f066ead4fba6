/* SPDX-License-Identifier: MIT */
/* Row encoding, decoding and single-column reads. See row.h for the format. */
#include "table/row.h"

#include <string.h>

#include "aedb.h"
#include "core/assert.h"

/* Where the areas of a row lie, once its header has been checked. */
struct tv_row_view {
	const uint8_t *bitmap;
	const uint8_t *fixed;
	const uint8_t *ends;     /* nvar little-endian u32s */
	const uint8_t *data;
	size_t data_len;
};

static void tv_put_le(uint8_t *p, uint64_t x, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		p[i] = (uint8_t)(x >> (8 * i));
}

static uint64_t tv_get_le(const uint8_t *p, unsigned n)
{
	uint64_t x = 0;

	for (unsigned i = n; i > 0; i--)
		x = x << 8 | p[i - 1];
	return x;
}

static size_t tv_row_bitmap_bytes(const struct tv_schema *s)
{
	return (s->ncols + 7) / 8;
}

/* Offset of the var table: everything before it has a fixed size. */
static size_t tv_row_ends_at(const struct tv_schema *s)
{
	return TV_ROW_HEADER_BYTES + tv_row_bitmap_bytes(s) + s->fixed_bytes;
}

int tv_row_size(const struct tv_schema *s, const struct tv_value *vals, size_t *size,
		int32_t *column)
{
	uint64_t n = tv_row_ends_at(s) + 4ull * s->nvar;

	AEDB_ASSERT(s->checked);
	for (uint32_t i = 0; i < s->ncols; i++) {
		if (vals[i].type != TV_NULL && vals[i].type != s->cols[i].type) {
			if (column)
				*column = (int32_t)i;
			return -AEDB_ETYPE;
		}
		if (tv_type_is_var(vals[i].type))
			n += vals[i].len;
	}
	if (n > UINT32_MAX)
		return -AEDB_ETOOBIG;
	*size = (size_t)n;
	return 0;
}

static void tv_row_put_fixed(const struct tv_value *v, uint8_t *p)
{
	uint64_t bits;

	switch (v->type) {
	case TV_BOOLEAN:
		p[0] = v->u.b ? 1 : 0;
		break;
	case TV_U8:
		p[0] = v->u.u8;
		break;
	case TV_U64:
		tv_put_le(p, v->u.u64, 8);
		break;
	case TV_INTEGER:
	case TV_TIMESTAMP:
		tv_put_le(p, (uint64_t)v->u.i64, 8);
		break;
	case TV_FLOAT: {
		double d = tv_f64_canon(v->u.f64);

		memcpy(&bits, &d, sizeof(bits));
		tv_put_le(p, bits, 8);
		break;
	}
	default:
		AEDB_ASSERT(v->type == TV_U256 || v->type == TV_I256);
		memcpy(p, v->u.w, TV_U256_BYTES);
		break;
	}
}

int tv_row_encode(const struct tv_schema *s, const struct tv_value *vals, uint8_t *buf,
		  size_t cap, size_t *len, int32_t *column)
{
	size_t size, ends_at = tv_row_ends_at(s), data_at = ends_at + 4 * (size_t)s->nvar;
	uint8_t *bitmap = buf + TV_ROW_HEADER_BYTES;
	uint8_t *fixed = bitmap + tv_row_bitmap_bytes(s);
	uint32_t end = 0;
	int rc = tv_row_size(s, vals, &size, column);

	if (rc)
		return rc;
	*len = size;
	if (size > cap)
		return -AEDB_ETOOBIG;
	/* Zero the header, bitmap and fixed area: NULL fields and padding. */
	memset(buf, 0, ends_at);
	buf[0] = TV_ROW_VERSION;
	buf[1] = s->rowtag;
	tv_put_le(buf + 2, s->ncols, 2);
	for (uint32_t i = 0; i < s->ncols; i++) {
		const struct tv_value *v = &vals[i];
		const struct tv_column *c = &s->cols[i];

		if (v->type == TV_NULL)
			bitmap[i / 8] |= (uint8_t)(1u << (i % 8));
		if (!tv_type_is_var(c->type)) {
			if (v->type != TV_NULL)
				tv_row_put_fixed(v, fixed + c->slot);
			continue;
		}
		if (v->type != TV_NULL && v->len) {
			memcpy(buf + data_at + end, v->u.bytes, v->len);
			end += v->len;
		}
		tv_put_le(buf + ends_at + 4 * (size_t)c->slot, end, 4);
	}
	AEDB_ASSERT(data_at + end == size);
	return 0;
}

/* Check the header and the sizes of the fixed areas; locate the areas. */
static int tv_row_open(const struct tv_schema *s, const uint8_t *row, size_t len,
		       struct tv_row_view *view)
{
	size_t ends_at = tv_row_ends_at(s), data_at = ends_at + 4 * (size_t)s->nvar;

	AEDB_ASSERT(s->checked);
	if (len < data_at)
		return -AEDB_ECORRUPT;
	if (row[0] != TV_ROW_VERSION || row[1] != s->rowtag)
		return -AEDB_ECORRUPT;
	if (tv_get_le(row + 2, 2) != s->ncols)
		return -AEDB_ECORRUPT;
	view->bitmap = row + TV_ROW_HEADER_BYTES;
	view->fixed = view->bitmap + tv_row_bitmap_bytes(s);
	view->ends = row + ends_at;
	view->data = row + data_at;
	view->data_len = len - data_at;
	return 0;
}

static bool tv_row_is_null(const struct tv_row_view *view, uint32_t i)
{
	return view->bitmap[i / 8] & (1u << (i % 8));
}

static uint32_t tv_row_end(const struct tv_row_view *view, uint32_t slot)
{
	return (uint32_t)tv_get_le(view->ends + 4 * (size_t)slot, 4);
}

/* Decode a non-NULL fixed-width field. Only canonical encodings pass. */
static int tv_row_get_fixed(unsigned type, const uint8_t *p, struct tv_value *out)
{
	uint64_t x;
	double d;

	switch (type) {
	case TV_BOOLEAN:
		if (p[0] > 1)
			return -AEDB_ECORRUPT;
		*out = tv_boolean(p[0] == 1);
		return 0;
	case TV_U8:
		*out = tv_u8(p[0]);
		return 0;
	case TV_U64:
		*out = tv_u64(tv_get_le(p, 8));
		return 0;
	case TV_INTEGER:
		*out = tv_integer((int64_t)tv_get_le(p, 8));
		return 0;
	case TV_TIMESTAMP:
		*out = tv_timestamp((int64_t)tv_get_le(p, 8));
		return 0;
	case TV_FLOAT:
		x = tv_get_le(p, 8);
		memcpy(&d, &x, sizeof(d));
		*out = tv_float(d);
		return memcmp(&out->u.f64, &x, sizeof(x)) ? -AEDB_ECORRUPT : 0;
	default:
		*out = tv_u256(p);
		out->type = (uint8_t)type;
		return 0;
	}
}

/* Column @i (type and slot from the schema) of an opened row. Checks the
 * offsets it follows; @full also demands the strict canonical form. */
static int tv_row_field(const struct tv_schema *s, const struct tv_row_view *view,
			uint32_t i, bool full, struct tv_value *out)
{
	const struct tv_column *c = &s->cols[i];
	bool null = tv_row_is_null(view, i);
	uint32_t start, end;

	if (!tv_type_is_var(c->type)) {
		unsigned w = tv_type_fixed_bytes(c->type);

		AEDB_ASSERT(c->slot + w <= s->fixed_bytes);
		if (!null)
			return tv_row_get_fixed(c->type, view->fixed + c->slot, out);
		for (unsigned k = 0; full && k < w; k++)
			if (view->fixed[c->slot + k])
				return -AEDB_ECORRUPT;
		*out = tv_null();
		return 0;
	}
	AEDB_ASSERT(c->slot < s->nvar);
	start = c->slot ? tv_row_end(view, c->slot - 1) : 0;
	end = tv_row_end(view, c->slot);
	if (start > end || end > view->data_len)
		return -AEDB_ECORRUPT;
	if (null) {
		*out = tv_null();
		return start == end ? 0 : -AEDB_ECORRUPT;
	}
	*out = tv_bytes_of(c->type, end > start ? view->data + start : NULL, end - start);
	return 0;
}

int tv_row_decode(const struct tv_schema *s, const uint8_t *row, size_t len,
		  struct tv_value *out)
{
	struct tv_row_view view;
	size_t nbitmap = tv_row_bitmap_bytes(s);
	int rc = tv_row_open(s, row, len, &view);

	if (rc)
		return rc;
	/* Padding bits after the last column must be zero. */
	if (s->ncols % 8 && (view.bitmap[nbitmap - 1] >> (s->ncols % 8)))
		return -AEDB_ECORRUPT;
	/* Each var field checks end[slot - 1] <= end[slot] <= data_len; over all
	 * of them the ends never decrease, and the last must end the row. */
	if (s->nvar && tv_row_end(&view, s->nvar - 1) != view.data_len)
		return -AEDB_ECORRUPT;
	if (!s->nvar && view.data_len)
		return -AEDB_ECORRUPT;
	for (uint32_t i = 0; i < s->ncols; i++) {
		rc = tv_row_field(s, &view, i, true, &out[i]);
		if (rc)
			return rc;
	}
	return 0;
}

int tv_row_get(const struct tv_schema *s, const uint8_t *row, size_t len, uint32_t col,
	       struct tv_value *out)
{
	struct tv_row_view view;
	int rc;

	if (col >= s->ncols)
		return -AEDB_EINVAL;
	rc = tv_row_open(s, row, len, &view);
	if (rc)
		return rc;
	return tv_row_field(s, &view, col, false, out);
}
