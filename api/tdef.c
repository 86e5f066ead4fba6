/* SPDX-License-Identifier: MIT */
/* Table definitions: validation, the logged encoding, decoding (api/tdef.h). */
#include "api/tdef.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "api/tcheck.h"
#include "api/tfk.h"
#include "core/assert.h"
#include "table/value.h"

#define TDEF_F_NULLABLE 0x1u
#define TDEF_F_DEFAULT 0x2u

AEDB_STATIC_ASSERT(sizeof(struct aedb_value) == sizeof(struct tv_value),
		   "struct aedb_value mirrors struct tv_value");
AEDB_STATIC_ASSERT(offsetof(struct aedb_value, len) == offsetof(struct tv_value, len),
		   "struct aedb_value mirrors struct tv_value");
AEDB_STATIC_ASSERT(offsetof(struct aedb_value, u) == offsetof(struct tv_value, u),
		   "struct aedb_value mirrors struct tv_value");
AEDB_STATIC_ASSERT((int)AEDB_TYPE_JSON == (int)TV_JSON &&
		   (int)AEDB_TYPE_TIMESTAMP == (int)TV_TIMESTAMP &&
		   (int)AEDB_TYPE_TEXT == (int)TV_TEXT && (int)AEDB_TYPE_I256 == (int)TV_I256 &&
		   (int)AEDB_TYPE_BLOB == (int)TV_BLOB && (int)AEDB_TYPE_U8 == (int)TV_U8,
		   "public type numbers are the table layer's");

static void tdef_put_u16(uint8_t *p, uint32_t x)
{
	p[0] = (uint8_t)x;
	p[1] = (uint8_t)(x >> 8);
}

static uint32_t tdef_get_u16(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8;
}

/* Bytes of a default's payload in the encoding. */
static size_t tdef_default_bytes(const struct tv_value *v)
{
	if (v->type == TV_NULL)
		return 0;
	return tv_type_is_var(v->type) ? 4u + v->len : tv_type_fixed_bytes(v->type);
}

/* Fixed-width values little-endian (u256/i256 stay big-endian). */
static size_t tdef_put_default(const struct tv_value *v, uint8_t *p)
{
	uint64_t x;
	unsigned n = tv_type_fixed_bytes(v->type);

	if (tv_type_is_var(v->type)) {
		for (unsigned i = 0; i < 4; i++)
			p[i] = (uint8_t)(v->len >> (8 * i));
		if (v->len)
			memcpy(p + 4, v->u.bytes, v->len);
		return 4u + v->len;
	}
	if (n == 32) {
		memcpy(p, v->u.w, 32);
		return 32;
	}
	if (n == 1) {
		p[0] = v->type == TV_BOOLEAN ? (uint8_t)v->u.b : v->u.u8;
		return 1;
	}
	AEDB_ASSERT(n == 8);
	memcpy(&x, &v->u, 8);
	for (unsigned i = 0; i < 8; i++)
		p[i] = (uint8_t)(x >> (8 * i));
	return 8;
}

/* Decode a default of @type at @p (@avail bytes); returns bytes used or 0. */
static size_t tdef_get_default(unsigned type, const uint8_t *p, size_t avail,
			       struct tv_value *v)
{
	unsigned n = tv_type_fixed_bytes(type);
	uint64_t x = 0;

	*v = tv_null();
	v->type = (uint8_t)type;
	if (tv_type_is_var(type)) {
		uint32_t len = 0;

		if (avail < 4)
			return 0;
		for (unsigned i = 0; i < 4; i++)
			len |= (uint32_t)p[i] << (8 * i);
		if (avail - 4 < len)
			return 0;
		v->len = len;
		v->u.bytes = p + 4;
		return 4u + len;
	}
	if (n == 0 || avail < n)
		return 0;
	if (n == 32) {
		memcpy(v->u.w, p, 32);
	} else if (n == 1) {
		if (type == TV_BOOLEAN && p[0] > 1)
			return 0;
		if (type == TV_BOOLEAN)
			v->u.b = p[0];
		else
			v->u.u8 = p[0];
	} else {
		for (unsigned i = 0; i < 8; i++)
			x |= (uint64_t)p[i] << (8 * i);
		memcpy(&v->u, &x, 8);
	}
	return n;
}

size_t cat_tdef_col_put(const struct tv_column *c, uint8_t *buf)
{
	size_t nl = strlen(c->name), at = 0;

	if (!buf)
		return 3 + nl + tdef_default_bytes(&c->def);
	buf[at++] = (uint8_t)nl;
	memcpy(buf + at, c->name, nl);
	at += nl;
	buf[at++] = c->type;
	buf[at++] = (uint8_t)((c->nullable ? TDEF_F_NULLABLE : 0) |
			      (c->def.type != TV_NULL ? TDEF_F_DEFAULT : 0));
	if (c->def.type != TV_NULL)
		at += tdef_put_default(&c->def, buf + at);
	return at;
}

size_t cat_tdef_col_span(const uint8_t *enc, size_t len, size_t at)
{
	struct tv_value v;
	size_t nl, used;

	if (at >= len || (nl = enc[at]) == 0 || len - at < nl + 3)
		return 0;
	if (!(enc[at + 2 + nl] & TDEF_F_DEFAULT))
		return nl + 3;
	used = tdef_get_default(enc[at + 1 + nl], enc + at + 3 + nl, len - at - 3 - nl, &v);
	return used ? nl + 3 + used : 0;
}

/* The public definition as a tv_schema over @cols (caller-allocated). */
static int tdef_from_public(const struct aedb_table_def *def, const struct aedb_check_def *in,
			    uint32_t nchecks, struct tv_column *cols, struct tv_check *checks,
			    struct tv_schema *s)
{
	memset(s, 0, sizeof(*s));
	for (uint32_t i = 0; i < def->ncolumns; i++) {
		const struct aedb_column_def *c = &def->columns[i];

		if (!c->name)
			return -AEDB_EMISUSE;
		if (tv_type_is_var(c->def.type) && c->def.len && !c->def.u.bytes)
			return -AEDB_EMISUSE;
		memset(&cols[i], 0, sizeof(cols[i]));
		cols[i].name = c->name;
		cols[i].type = c->type > 255 ? 255 : (uint8_t)c->type;
		cols[i].nullable = c->nullable != 0;
		memcpy(&cols[i].def, &c->def, sizeof(cols[i].def));
		memset(cols[i].def.reserved, 0, sizeof(cols[i].def.reserved));
		if (cols[i].def.type == TV_FLOAT)
			cols[i].def.u.f64 = tv_f64_canon(cols[i].def.u.f64);
	}
	for (uint32_t i = 0; i < def->npk; i++)
		if (!def->pk[i])
			return -AEDB_EMISUSE;
	for (uint32_t k = 0; k < nchecks; k++) {
		if (!in[k].name || !in[k].expr)
			return -AEDB_EMISUSE;
		checks[k].name = in[k].name;
		checks[k].expr = in[k].expr;
	}
	s->checks = checks;
	s->nchecks = nchecks;
	s->name = def->name;
	s->cols = cols;
	s->ncols = def->ncolumns;
	s->pk_names = def->pk;
	s->npk = def->npk;
	return tv_error_public(tv_schema_check(s, NULL));
}

static int tdef_check_public(const struct aedb_table_def *def,
			     const struct aedb_check_def *checks, uint32_t nchecks)
{
	if (!def || !def->name || (def->ncolumns && !def->columns) || (def->npk && !def->pk) ||
	    (nchecks && !checks))
		return -AEDB_EMISUSE;
	if (def->ncolumns > TV_COLUMNS_MAX || def->npk > TV_PK_COLUMNS_MAX ||
	    nchecks > TV_CHECKS_MAX)
		return -AEDB_ETOOBIG;
	return 0;
}

int cat_tdef_encode(const struct aedb_table_def *def, uint8_t **out, uint32_t *len)
{
	return cat_tdef_encode_checks(def, NULL, 0, out, len);
}

int cat_tdef_encode_checks(const struct aedb_table_def *def, const struct aedb_check_def *in,
			   uint32_t nchecks, uint8_t **out, uint32_t *len)
{
	return cat_tdef_encode_ex(def, in, nchecks, NULL, NULL, 0, out, len);
}

int cat_tdef_encode_ex(const struct aedb_table_def *def, const struct aedb_check_def *in,
		       uint32_t nchecks, const char *project, const struct aedb_fk_def *fks,
		       uint32_t nfks, uint8_t **out, uint32_t *len)
{
	struct tv_check checks[TV_CHECKS_MAX];
	struct tv_column *cols;
	struct tv_schema s;
	size_t bytes = 4, at = 4, clen = 0, flen = 0;
	uint8_t *buf;
	int rc = tdef_check_public(def, in, nchecks);

	if (rc < 0)
		return rc;
	cols = calloc(def->ncolumns ? def->ncolumns : 1, sizeof(*cols));
	if (!cols)
		return -ENOMEM;
	rc = tdef_from_public(def, in, nchecks, cols, checks, &s);
	for (uint32_t i = 0; rc == 0 && i < s.ncols; i++)
		bytes += 3 + strlen(cols[i].name) + tdef_default_bytes(&cols[i].def);
	bytes += 2u * s.npk;
	if (rc == 0 && s.nchecks)
		rc = cat_checks_encode(&s, in, s.nchecks, NULL, &clen);
	bytes += clen;
	if (rc == 0 && nfks)
		rc = project ? cat_fks_encode(&s, project, fks, nfks, NULL, &flen) : -AEDB_EMISUSE;
	bytes += flen;
	if (rc == 0 && bytes > CAT_TDEF_BYTES_MAX)
		rc = -AEDB_ETOOBIG;
	buf = rc == 0 ? malloc(bytes) : NULL;
	if (rc == 0 && !buf)
		rc = -ENOMEM;
	if (rc < 0) {
		free(cols);
		return rc;
	}
	buf[0] = CAT_TDEF_VERSION;
	buf[1] = (uint8_t)s.npk;
	tdef_put_u16(buf + 2, s.ncols);
	for (uint32_t i = 0; i < s.ncols; i++) {
		size_t nl = strlen(cols[i].name);

		buf[at++] = (uint8_t)nl;
		memcpy(buf + at, cols[i].name, nl);
		at += nl;
		buf[at++] = cols[i].type;
		buf[at++] = (uint8_t)((cols[i].nullable ? TDEF_F_NULLABLE : 0) |
				      (cols[i].def.type != TV_NULL ? TDEF_F_DEFAULT : 0));
		if (cols[i].def.type != TV_NULL)
			at += tdef_put_default(&cols[i].def, buf + at);
	}
	for (uint32_t i = 0; i < s.npk; i++, at += 2)
		tdef_put_u16(buf + at, s.pk[i]);
	if (s.nchecks) {
		rc = cat_checks_encode(&s, in, s.nchecks, buf + at, &clen);
		AEDB_ASSERT(rc == 0);
		at += clen;
	}
	if (flen) {
		rc = cat_fks_encode(&s, project, fks, nfks, buf + at, &flen);
		AEDB_ASSERT(rc == 0);
		at += flen;
	}
	AEDB_ASSERT(at == bytes);
	free(cols);
	*out = buf;
	*len = (uint32_t)bytes;
	return 0;
}

/* Parse the columns of @enc into @t (whose arrays are sized); names are
 * copied to @names. Returns 0 or -AEDB_ECORRUPT. */
static int tdef_parse(struct cat_tdef *t, const uint8_t *enc, size_t len, char *names,
		      const char **pk_names, struct tv_check *checks, size_t *fk_at)
{
	size_t span;

	struct tv_schema *s = &t->schema;
	size_t at = cat_tdef_hdr_bytes(enc);

	for (uint32_t i = 0; i < s->ncols; i++) {
		struct tv_column *c = &s->cols[i];
		size_t nl, used;
		unsigned flags;

		if (at >= len || (nl = enc[at]) == 0 || len - at < nl + 3)
			return -AEDB_ECORRUPT;
		memcpy(names, enc + at + 1, nl);
		names[nl] = '\0';
		c->name = names;
		names += nl + 1;
		at += 1 + nl;
		c->type = enc[at++];
		flags = enc[at++];
		if (flags & ~(TDEF_F_NULLABLE | TDEF_F_DEFAULT) || !tv_type_is_column(c->type))
			return -AEDB_ECORRUPT;
		c->nullable = flags & TDEF_F_NULLABLE;
		c->def = tv_null();
		if (flags & TDEF_F_DEFAULT) {
			used = tdef_get_default(c->type, enc + at, len - at, &c->def);
			if (!used)
				return -AEDB_ECORRUPT;
			at += used;
		}
	}
	if (len - at < 2u * s->npk)
		return -AEDB_ECORRUPT;
	for (uint32_t i = 0; i < s->npk; i++) {
		uint32_t col = tdef_get_u16(enc + at + 2 * i);

		if (col >= s->ncols)
			return -AEDB_ECORRUPT;
		pk_names[i] = s->cols[col].name;
	}
	s->pk_names = pk_names;
	at += 2u * s->npk;
	/* check constraints (api/tcheck.h), then foreign keys (api/tfk.h), if
	 * any follow (a check section never starts with CAT_FK_MARK) */
	if (at < len && enc[at] != CAT_FK_MARK) {
		span = cat_checks_span(enc + at, len - at);
		if (!span || cat_checks_parse(enc + at, span, checks, names, &s->nchecks) < 0)
			return -AEDB_ECORRUPT;
		at += span;
	}
	*fk_at = at;
	s->checks = s->nchecks ? checks : NULL;
	if (tv_schema_check(s, NULL) != 0)
		return -AEDB_ECORRUPT;
	return cat_checks_validate(s) == 0 ? 0 : -AEDB_ECORRUPT;
}

int cat_tdef_decode(const char *name, const uint8_t *enc, uint32_t len, struct cat_tdef **out)
{
	uint32_t ncols, npk;
	size_t bytes, nlen = strlen(name);
	struct tv_check *checks;
	struct cat_tdef *t;
	size_t fk_at = 0;
	uint8_t *copy;
	char *names;
	int rc;

	if (len < 4 || (enc[0] != CAT_TDEF_VERSION && enc[0] != CAT_TDEF_VERSION_ALTERED) ||
	    len < cat_tdef_hdr_bytes(enc))
		return -AEDB_ECORRUPT;
	npk = enc[1];
	ncols = tdef_get_u16(enc + 2);
	if (!ncols || ncols > TV_COLUMNS_MAX || !npk || npk > TV_PK_COLUMNS_MAX)
		return -AEDB_ECORRUPT;
	bytes = sizeof(*t) + ncols * sizeof(struct tv_column) + npk * sizeof(char *) +
		TV_CHECKS_MAX * (sizeof(struct tv_check) + 1) + 2u * len + ncols + nlen + 1;
	t = calloc(1, bytes);
	if (!t)
		return -ENOMEM;
	t->schema.cols = (struct tv_column *)(t + 1);
	t->schema.ncols = ncols;
	t->schema.npk = npk;
	checks = (struct tv_check *)((const char **)(t->schema.cols + ncols) + npk);
	copy = (uint8_t *)(checks + TV_CHECKS_MAX);
	memcpy(copy, enc, len);
	t->enc = copy;
	t->enc_len = len;
	names = (char *)copy + len;
	memcpy(names, name, nlen + 1);
	t->schema.name = names;
	if (enc[0] == CAT_TDEF_VERSION_ALTERED) {
		for (unsigned i = 0; i < 4; i++)
			t->gen |= (uint32_t)enc[4 + i] << (8 * i);
		if (t->gen == 0) {
			free(t);
			return -AEDB_ECORRUPT; /* canonical: never altered is version 1 */
		}
	}
	t->schema.rowtag = (uint8_t)t->gen;
	rc = tdef_parse(t, copy, len, names + nlen + 1, (const char **)(t->schema.cols + ncols),
			checks, &fk_at);
	if (rc == 0 && fk_at < len)
		rc = cat_fks_parse(&t->schema, copy + fk_at, len - fk_at, &t->fks, &t->nfks);
	if (rc < 0) {
		free(t);
		return rc;
	}
	*out = t;
	return 0;
}

void cat_tdef_free(struct cat_tdef *t)
{
	while (t) {
		struct cat_tdef *prev = t->prev;

		free(t->map);
		free(t->fks);
		free(t);
		t = prev;
	}
}
