/* SPDX-License-Identifier: MIT */
/* ALTER TABLE: definitions and row conversion (api/talter.h). */
#include "api/talter.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/assert.h"
#include "table/row.h"

enum { ALT_ADD = AEDB_ALTER_ADD_COLUMN, ALT_DROP = AEDB_ALTER_DROP_COLUMN,
       ALT_RENAME = AEDB_ALTER_RENAME_COLUMN };

/* The parts of an encoding: the header, the column entries (with each
 * one's offset), the key columns, the checks that follow. */
struct alt_parts {
	const uint8_t *enc;
	size_t len, hdr, cols_end, pk_end;
	size_t *off;              /* ncols + 1 offsets */
	uint32_t ncols, npk;
};

static int alt_parts(const struct cat_tdef *t, struct alt_parts *p)
{
	size_t at;

	p->enc = t->enc;
	p->len = t->enc_len;
	p->hdr = cat_tdef_hdr_bytes(t->enc);
	p->ncols = t->schema.ncols;
	p->npk = t->schema.npk;
	p->off = malloc((p->ncols + 1) * sizeof(*p->off));
	if (!p->off)
		return -ENOMEM;
	at = p->hdr;
	for (uint32_t i = 0; i < p->ncols; i++) {
		size_t span = cat_tdef_col_span(p->enc, p->len, at);

		AEDB_ASSERT(span != 0); /* a decoded definition */
		p->off[i] = at;
		at += span;
	}
	p->off[p->ncols] = at;
	p->cols_end = at;
	p->pk_end = at + 2u * p->npk;
	AEDB_ASSERT(p->pk_end <= p->len);
	return 0;
}

/* A name at @p (u8 length + bytes) of @avail bytes into @out: bytes used or 0. */
static size_t alt_name(const uint8_t *p, size_t avail, char out[AEDB_NAME_MAX + 1])
{
	if (avail < 1 || p[0] == 0 || p[0] > AEDB_NAME_MAX || avail - 1 < p[0])
		return 0;
	memcpy(out, p + 1, p[0]);
	out[p[0]] = '\0';
	return 1u + p[0];
}

static int alt_is_pk(const struct tv_schema *s, int col)
{
	for (uint32_t i = 0; i < s->npk; i++)
		if (s->pk[i] == col)
			return 1;
	return 0;
}

/* The new encoding being built. */
struct alt_out {
	uint8_t *buf;
	size_t at;
	uint16_t *map;
	uint32_t ncols;
};

static void alt_put(struct alt_out *o, const void *p, size_t n)
{
	memcpy(o->buf + o->at, p, n);
	o->at += n;
}

static void alt_put_u16(struct alt_out *o, uint32_t x)
{
	o->buf[o->at++] = (uint8_t)x;
	o->buf[o->at++] = (uint8_t)(x >> 8);
}

/* Header (version 2, one more alteration) of @p's table with @ncols. */
static void alt_put_hdr(struct alt_out *o, const struct cat_tdef *old, uint32_t ncols)
{
	uint32_t gen = old->gen + 1;

	o->buf[o->at++] = CAT_TDEF_VERSION_ALTERED;
	o->buf[o->at++] = (uint8_t)old->schema.npk;
	alt_put_u16(o, ncols);
	for (unsigned i = 0; i < 4; i++)
		o->buf[o->at++] = (uint8_t)(gen >> (8 * i));
}

/* Key columns, each index above @dropped (-1: none) one lower. */
static void alt_put_pk(struct alt_out *o, const struct tv_schema *s, int dropped)
{
	for (uint32_t i = 0; i < s->npk; i++)
		alt_put_u16(o, s->pk[i] - (dropped >= 0 && s->pk[i] > dropped));
}

struct alt_req {
	uint8_t kind;
	char name[AEDB_NAME_MAX + 1];
	char to[AEDB_NAME_MAX + 1];   /* rename */
	const uint8_t *entry;         /* add: the column entry */
	size_t entry_len;
	int col;                      /* drop, rename: its index */
};

/* Parse and check @alt against @old's columns. */
static int alt_req(const struct cat_tdef *old, const uint8_t *alt, uint32_t len,
		   struct alt_req *q)
{
	const struct tv_schema *s = &old->schema;
	size_t n;

	if (len < 2)
		return -AEDB_EINVAL;
	q->kind = alt[0];
	if (q->kind == ALT_ADD) {
		q->entry = alt + 1;
		q->entry_len = len - 1;
		if (cat_tdef_col_span(q->entry, q->entry_len, 0) != q->entry_len ||
		    !alt_name(q->entry, q->entry_len, q->name))
			return -AEDB_EINVAL;
		if (tv_schema_find(s, q->name) >= 0)
			return -AEDB_EEXIST;
		return s->ncols >= TV_COLUMNS_MAX ? -AEDB_ETOOBIG : 0;
	}
	if (q->kind != ALT_DROP && q->kind != ALT_RENAME)
		return -AEDB_EINVAL;
	n = alt_name(alt + 1, len - 1, q->name);
	if (!n || (q->kind == ALT_RENAME ? alt_name(alt + 1 + n, len - 1 - n, q->to) + 1 + n
					 : 1 + n) != len)
		return -AEDB_EINVAL;
	q->col = tv_schema_find(s, q->name);
	if (q->col < 0)
		return -AEDB_ENOCOLUMN;
	if (q->kind == ALT_RENAME && tv_schema_find(s, q->to) >= 0)
		return -AEDB_EEXIST;
	return alt_is_pk(s, q->col) ? -AEDB_EDEPEND : 0;
}

/* Write the new columns of @q into @o. */
static void alt_put_cols(struct alt_out *o, const struct alt_parts *p, const struct alt_req *q)
{
	uint32_t j = 0;

	for (uint32_t i = 0; i < p->ncols; i++) {
		size_t at = p->off[i], nl = p->enc[at];

		if (q->kind == ALT_DROP && (int)i == q->col)
			continue;
		if (q->kind == ALT_RENAME && (int)i == q->col) {
			size_t tl = strlen(q->to);

			o->buf[o->at++] = (uint8_t)tl;
			alt_put(o, q->to, tl);
			alt_put(o, p->enc + at + 1 + nl, p->off[i + 1] - at - 1 - nl);
		} else {
			alt_put(o, p->enc + at, p->off[i + 1] - at);
		}
		o->map[j++] = (uint16_t)i;
	}
	if (q->kind == ALT_ADD) {
		alt_put(o, q->entry, q->entry_len);
		o->map[j++] = CAT_TDEF_MAP_NEW;
	}
	AEDB_ASSERT(j == o->ncols);
}

int cat_alter_apply(const struct cat_tdef *old, const uint8_t *alt, uint32_t len,
		    uint8_t **out, uint32_t *out_len)
{
	struct alt_req q = { 0 };
	struct alt_parts p = { 0 };
	struct alt_out o = { 0 };
	struct cat_tdef *check = NULL;
	size_t bytes, enc_at;
	int rc = alt_req(old, alt, len, &q);

	if (rc < 0)
		return rc;
	rc = alt_parts(old, &p);
	if (rc < 0)
		return rc;
	o.ncols = p.ncols + (q.kind == ALT_ADD) - (q.kind == ALT_DROP);
	bytes = 8 + (p.len - p.hdr) + q.entry_len + (q.kind == ALT_RENAME ? strlen(q.to) : 0);
	o.buf = malloc(2 + 2u * o.ncols + bytes);
	o.map = malloc(o.ncols * sizeof(*o.map));
	if (!o.buf || !o.map) {
		rc = -ENOMEM;
		goto out;
	}
	o.at = 2 + 2u * o.ncols;
	enc_at = o.at;
	alt_put_hdr(&o, old, o.ncols);
	alt_put_cols(&o, &p, &q);
	alt_put_pk(&o, &old->schema, q.kind == ALT_DROP ? q.col : -1);
	alt_put(&o, p.enc + p.pk_end, p.len - p.pk_end);   /* the checks */
	if (o.at - enc_at > CAT_TDEF_BYTES_MAX) {
		rc = -AEDB_ETOOBIG;
		goto out;
	}
	/* The new definition must decode: its checks bind to its columns, so
	 * a check naming a dropped or renamed column fails here. */
	rc = cat_tdef_decode(old->schema.name, o.buf + enc_at, (uint32_t)(o.at - enc_at), &check);
	if (rc == -AEDB_ECORRUPT)
		rc = q.kind == ALT_ADD ? -AEDB_EINVAL : -AEDB_EDEPEND;
	cat_tdef_free(check);
	if (rc < 0)
		goto out;
	o.buf[0] = (uint8_t)o.ncols;
	o.buf[1] = (uint8_t)(o.ncols >> 8);
	for (uint32_t j = 0; j < o.ncols; j++) {
		o.buf[2 + 2 * j] = (uint8_t)o.map[j];
		o.buf[3 + 2 * j] = (uint8_t)(o.map[j] >> 8);
	}
	*out = o.buf;
	*out_len = (uint32_t)o.at;
	o.buf = NULL;
out:
	free(o.buf);
	free(o.map);
	free(p.off);
	return rc;
}

int cat_alter_decode(const char *name, const uint8_t *rec, uint32_t len, struct cat_tdef *prev,
		     uint64_t since, struct cat_tdef **out)
{
	struct cat_tdef *t = NULL;
	uint32_t n;
	uint16_t *map;
	int rc;

	if (len < 2)
		return -AEDB_ECORRUPT;
	n = (uint32_t)rec[0] | (uint32_t)rec[1] << 8;
	if (n == 0 || len < 2 + 2u * n)
		return -AEDB_ECORRUPT;
	rc = cat_tdef_decode(name, rec + 2 + 2 * n, len - 2 - 2 * n, &t);
	if (rc < 0)
		return rc;
	map = malloc(n * sizeof(*map));
	if (!map) {
		cat_tdef_free(t);
		return -ENOMEM;
	}
	rc = t->schema.ncols == n && t->gen == prev->gen + 1 ? 0 : -AEDB_ECORRUPT;
	for (uint32_t j = 0; rc == 0 && j < n; j++) {
		map[j] = (uint16_t)(rec[2 + 2 * j] | rec[3 + 2 * j] << 8);
		if (map[j] != CAT_TDEF_MAP_NEW &&
		    (map[j] >= prev->schema.ncols ||
		     prev->schema.cols[map[j]].type != t->schema.cols[j].type))
			rc = -AEDB_ECORRUPT;
	}
	if (rc < 0) {
		free(map);
		cat_tdef_free(t);
		return rc;
	}
	t->map = map;
	t->prev = prev;
	t->since = since;
	*out = t;
	return 0;
}

size_t cat_alter_vals(const struct cat_tdef *to, const struct cat_tdef *from)
{
	uint32_t w = 0;

	for (const struct cat_tdef *d = to; d; d = d->prev) {
		if (d->schema.ncols > w)
			w = d->schema.ncols;
		if (d == from)
			break;
	}
	return 2u * w;
}

/* The definition whose prev is @d, on the way from @to back to @d. */
static const struct cat_tdef *alt_next(const struct cat_tdef *to, const struct cat_tdef *d)
{
	const struct cat_tdef *n = to;

	while (n->prev != d) {
		n = n->prev;
		AEDB_ASSERT(n != NULL); /* @d is in @to's history */
	}
	return n;
}

int cat_alter_row(const struct cat_tdef *from, const struct cat_tdef *to, const uint8_t *row,
		  uint32_t len, struct tv_value *vals, uint8_t *buf, size_t cap,
		  size_t *out_len)
{
	size_t half = cat_alter_vals(to, from) / 2;
	struct tv_value *cur = vals, *nxt = vals + half;
	const struct cat_tdef *d = from;
	int rc = tv_row_decode(&from->schema, row, len, cur);

	while (rc == 0 && d != to) {
		struct tv_value *tmp;

		d = alt_next(to, d);
		for (uint32_t j = 0; j < d->schema.ncols; j++)
			nxt[j] = d->map[j] != CAT_TDEF_MAP_NEW ? cur[d->map[j]]
							      : d->schema.cols[j].def;
		tmp = cur;
		cur = nxt;
		nxt = tmp;
	}
	if (rc == 0)
		rc = tv_row_size(&to->schema, cur, out_len, NULL);
	if (rc == 0 && *out_len > cap)
		return -AEDB_ETOOBIG;
	if (rc == 0)
		rc = tv_row_encode(&to->schema, cur, buf, cap, out_len, NULL);
	return rc == -AEDB_ECORRUPT || rc == 0 ? rc : -AEDB_ECORRUPT;
}
