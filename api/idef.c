/* SPDX-License-Identifier: MIT */
/*
 * Index definitions: validation, encoding, the key of a row (api/idef.h).
 *
 * Encoding, version 1:
 *   u8 version (1), u8 flags (0x1 unique, 0x2 partial), u8 name length, name,
 *   u8 ncols (1..32), per column: u8 name length, name;
 *   partial: the predicate (tv_expr_encode) to the end.
 * Columns are named, not numbered, so a definition reads the same whatever
 * the column order.
 */
#include "api/idef.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/names.h"
#include "table/keyenc.h"

#define IDEF_VERSION 1u
#define IDEF_UNIQUE 0x1u
#define IDEF_PARTIAL 0x2u

void cat_idef_free(struct cat_idef *x)
{
	if (!x)
		return;
	tv_expr_free(x->partial);
	tv_arena_free(&x->arena);
	free(x->enc);
	free(x);
}

/* Bind @x->partial against the table's columns (in @x->arena). */
static int idef_bind(struct cat_idef *x, const struct tv_schema *s)
{
	const char **names = tv_arena_alloc(&x->arena, s->ncols * sizeof(*names));
	uint8_t *types = tv_arena_alloc(&x->arena, s->ncols);
	struct tv_colset cs;

	if (!names || !types)
		return -ENOMEM;
	for (uint32_t i = 0; i < s->ncols; i++) {
		names[i] = s->cols[i].name;
		types[i] = s->cols[i].type;
	}
	cs = (struct tv_colset){ .names = names, .types = types, .n = s->ncols };
	return tv_expr_bind(x->partial, &cs, &x->arena, &x->bound, NULL);
}

static int idef_public(int rc)
{
	if (rc == -TV_ENOCOLUMN)
		return -AEDB_ENOCOLUMN;
	return rc == -ENOMEM ? rc : tv_error_public(rc);
}

/* Fill @x's columns from names @cols[0..@n) of @s. */
static int idef_cols(struct cat_idef *x, const struct tv_schema *s, const char *const *cols,
		     uint32_t n)
{
	if (n == 0)
		return -AEDB_EINVAL;
	if (n > TV_PK_COLUMNS_MAX)
		return -AEDB_ETOOBIG;
	for (uint32_t i = 0; i < n; i++) {
		int c;

		if (!cols[i])
			return -AEDB_EMISUSE;
		c = tv_schema_find(s, cols[i]);
		if (c < 0)
			return -AEDB_ENOCOLUMN;
		for (uint32_t j = 0; j < i; j++)
			if (x->cols[j] == c)
				return -AEDB_EINVAL;
		x->cols[i] = (uint16_t)c;
		strcpy(x->colnames[i], s->cols[c].name);
		x->colptr[i] = x->colnames[i];
	}
	x->ncols = n;
	return 0;
}

static size_t idef_put_name(uint8_t *p, const char *name)
{
	size_t n = strlen(name);

	p[0] = (uint8_t)n;
	memcpy(p + 1, name, n);
	return n + 1;
}

int cat_idef_encode(const struct tv_schema *s, const struct aedb_index_def *def, uint8_t **out,
		    uint32_t *len)
{
	struct cat_idef *x;
	size_t plen = 0, at = 0;
	uint8_t *buf;
	int rc;

	if (!s || !def || !out || !len || !def->name || (!def->columns && def->ncolumns))
		return -AEDB_EMISUSE;
	if (def->flags & ~(uint32_t)AEDB_INDEX_UNIQUE)
		return -AEDB_EINVAL;
	rc = core_name_check(def->name, NULL);
	if (rc < 0)
		return rc;
	x = calloc(1, sizeof(*x));
	if (!x)
		return -ENOMEM;
	tv_arena_init(&x->arena);
	rc = idef_cols(x, s, def->columns, def->ncolumns);
	if (rc == 0 && def->partial) {
		x->partial = (struct tv_expr *)def->partial; /* borrowed for the check */
		rc = idef_public(idef_bind(x, s));
		x->partial = NULL;
		if (rc == 0)
			rc = tv_expr_encode((const struct tv_expr *)def->partial, NULL, 0, &plen);
		rc = rc == -AEDB_ETOOBIG ? 0 : rc;
	}
	at = 3 + AEDB_NAME_MAX + 1 + (size_t)x->ncols * (AEDB_NAME_MAX + 1) + plen;
	buf = rc == 0 ? malloc(at) : NULL;
	if (rc == 0 && !buf)
		rc = -ENOMEM;
	if (rc == 0) {
		buf[0] = IDEF_VERSION;
		buf[1] = (uint8_t)((def->flags & AEDB_INDEX_UNIQUE ? IDEF_UNIQUE : 0) |
				   (def->partial ? IDEF_PARTIAL : 0));
		at = 2 + idef_put_name(buf + 2, def->name);
		buf[at++] = (uint8_t)x->ncols;
		for (uint32_t i = 0; i < x->ncols; i++)
			at += idef_put_name(buf + at, x->colnames[i]);
		if (def->partial)
			rc = tv_expr_encode((const struct tv_expr *)def->partial, buf + at, plen,
					    &plen);
	}
	if (rc == 0) {
		*out = buf;
		*len = (uint32_t)(at + plen);
	} else {
		free(buf);
	}
	cat_idef_free(x);
	return rc;
}

/* A name at @p[*@at..@len): into @dst. */
static int idef_get_name(const uint8_t *p, uint32_t len, uint32_t *at, char *dst)
{
	uint32_t n;

	if (*at >= len)
		return -AEDB_ECORRUPT;
	n = p[*at];
	if (n == 0 || n > AEDB_NAME_MAX || n > len - *at - 1)
		return -AEDB_ECORRUPT;
	memcpy(dst, p + *at + 1, n);
	dst[n] = '\0';
	*at += n + 1;
	return core_name_check(dst, NULL) == 0 ? 0 : -AEDB_ECORRUPT;
}

static int idef_decode_body(struct cat_idef *x, const struct tv_schema *s)
{
	char names[TV_PK_COLUMNS_MAX][AEDB_NAME_MAX + 1];
	const char *ptr[TV_PK_COLUMNS_MAX];
	const uint8_t *p = x->enc;
	uint32_t at = 2, n;
	int rc;

	if (x->enc_len < 4 || p[0] != IDEF_VERSION || (p[1] & ~(IDEF_UNIQUE | IDEF_PARTIAL)))
		return -AEDB_ECORRUPT;
	x->unique = (p[1] & IDEF_UNIQUE) != 0;
	rc = idef_get_name(p, x->enc_len, &at, x->name);
	if (rc < 0 || at >= x->enc_len)
		return -AEDB_ECORRUPT;
	n = p[at++];
	if (n == 0 || n > TV_PK_COLUMNS_MAX)
		return -AEDB_ECORRUPT;
	for (uint32_t i = 0; i < n; i++) {
		if (idef_get_name(p, x->enc_len, &at, names[i]) < 0)
			return -AEDB_ECORRUPT;
		ptr[i] = names[i];
	}
	if (idef_cols(x, s, ptr, n) < 0)
		return -AEDB_ECORRUPT;
	if (!(p[1] & IDEF_PARTIAL))
		return at == x->enc_len ? 0 : -AEDB_ECORRUPT;
	rc = tv_expr_decode(p + at, x->enc_len - at, &x->partial);
	if (rc == 0)
		rc = idef_bind(x, s);
	return rc == -ENOMEM ? rc : rc < 0 ? -AEDB_ECORRUPT : 0;
}

int cat_idef_decode(const struct tv_schema *s, const uint8_t *enc, uint32_t len,
		    struct cat_idef **out)
{
	struct cat_idef *x = calloc(1, sizeof(*x));
	int rc;

	if (!x)
		return -ENOMEM;
	tv_arena_init(&x->arena);
	x->enc = malloc(len ? len : 1);
	if (!x->enc) {
		free(x);
		return -ENOMEM;
	}
	if (len)
		memcpy(x->enc, enc, len);
	x->enc_len = len;
	rc = idef_decode_body(x, s);
	if (rc < 0) {
		cat_idef_free(x);
		return rc;
	}
	*out = x;
	return 0;
}

int cat_idef_key(const struct cat_idef *x, const struct tv_value *row, const uint8_t *pk,
		 size_t pk_len, uint8_t *buf, size_t cap, size_t *len)
{
	size_t n = 0;

	if (x->bound && !tv_bexpr_eval(x->bound, row))
		return 0;
	for (uint32_t i = 0; i < x->ncols; i++) {
		const struct tv_value *v = &row[x->cols[i]];

		if (x->unique && v->type == TV_NULL)
			return 0; /* NULLs are exempt from uniqueness (reference §2.3) */
		n += tv_key_size(v);
	}
	*len = n + (x->unique ? 0 : pk_len);
	if (*len > cap)
		return -AEDB_ETOOBIG;
	n = 0;
	for (uint32_t i = 0; i < x->ncols; i++)
		n += tv_key_put(&row[x->cols[i]], buf + n);
	if (!x->unique && pk_len)
		memcpy(buf + n, pk, pk_len);
	return 1;
}
