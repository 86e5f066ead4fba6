/* SPDX-License-Identifier: MIT */
/*
 * Check constraints of a table definition (issue 5; api/tcheck.h): their
 * place in the definition's encoding, their validation when a table is
 * created, and their evaluation on every row written.
 *
 * A check is a named expression (the query layer's tv_expr) over the
 * table's columns. It is stored in the definition as the expression's own
 * encoding (tv_expr_encode), so the definition stays one canonical byte
 * string: the same definition gives the same bytes, and recovery and
 * checkpoints carry checks with no change. Evaluation uses WHERE's
 * two-valued logic (docs/TABLES.md "NULL semantics"): a comparison on a
 * NULL column is false, so a check over a nullable column says what NULL
 * may do ("c IS NULL OR c > 0"), as in the reference.
 */
#include "api/tcheck.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/assert.h"
#include "table/expr.h"

/* A colset over @s's columns; names and types in one new allocation. */
static int tcheck_colset(const struct tv_schema *s, struct tv_colset *cs)
{
	const char **names = malloc(s->ncols * (sizeof(*names) + 1));
	uint8_t *types;

	if (!names)
		return -ENOMEM;
	types = (uint8_t *)(names + s->ncols);
	for (uint32_t i = 0; i < s->ncols; i++) {
		names[i] = s->cols[i].name;
		types[i] = s->cols[i].type;
	}
	cs->names = names;
	cs->types = types;
	cs->n = s->ncols;
	return 0;
}

static int tcheck_public(int rc)
{
	if (rc == -TV_ENOCOLUMN)
		return -AEDB_ENOCOLUMN;
	return tv_error_public(rc);
}

/* Does @e bind against @cs? */
static int tcheck_bind_ok(const struct tv_expr *e, const struct tv_colset *cs)
{
	const struct tv_bexpr *b;
	struct tv_arena a;
	int rc;

	tv_arena_init(&a);
	rc = tv_expr_bind(e, cs, &a, &b, NULL);
	tv_arena_free(&a);
	return tcheck_public(rc);
}

int cat_checks_encode(const struct tv_schema *s, const struct aedb_check_def *checks,
		      uint32_t n, uint8_t *buf, size_t *len)
{
	struct tv_colset cs = { 0 };
	size_t at = 1;
	int rc;

	AEDB_ASSERT(n > 0 && n <= TV_CHECKS_MAX);
	rc = tcheck_colset(s, &cs);
	for (uint32_t k = 0; rc == 0 && k < n; k++) {
		const struct tv_expr *e = (const struct tv_expr *)checks[k].expr;
		size_t nl = strlen(checks[k].name), el = 0;

		rc = tcheck_bind_ok(e, &cs);
		if (rc == 0)
			rc = tv_expr_encode(e, NULL, 0, &el);
		rc = rc == -AEDB_ETOOBIG ? 0 : rc; /* a size query */
		if (rc == 0 && el > UINT32_MAX)
			rc = -AEDB_ETOOBIG;
		if (rc < 0)
			break;
		if (buf) {
			buf[at] = (uint8_t)nl;
			memcpy(buf + at + 1, checks[k].name, nl);
			for (unsigned i = 0; i < 4; i++)
				buf[at + 1 + nl + i] = (uint8_t)(el >> (8 * i));
			rc = tv_expr_encode(e, buf + at + 5 + nl, el, &el);
		}
		at += 5 + nl + el;
	}
	free((void *)cs.names);
	if (rc == 0 && buf)
		buf[0] = (uint8_t)n;
	*len = at;
	return rc;
}

int cat_checks_parse(const uint8_t *p, size_t len, struct tv_check *out, char *names,
		     uint32_t *n)
{
	size_t at = 1;
	uint32_t k;

	if (len < 1 || p[0] == 0 || p[0] > TV_CHECKS_MAX)
		return -AEDB_ECORRUPT;
	for (k = 0; k < p[0]; k++) {
		size_t nl, el = 0;

		if (at >= len || (nl = p[at]) == 0 || len - at < 5 + nl)
			return -AEDB_ECORRUPT;
		memcpy(names, p + at + 1, nl);
		names[nl] = '\0';
		out[k].name = names;
		names += nl + 1;
		for (unsigned i = 0; i < 4; i++)
			el |= (size_t)p[at + 1 + nl + i] << (8 * i);
		if (len - at - 5 - nl < el)
			return -AEDB_ECORRUPT;
		out[k].expr = p + at + 1 + nl;   /* the u32 length, then the bytes */
		at += 5 + nl + el;
	}
	if (at != len)
		return -AEDB_ECORRUPT;
	*n = k;
	return 0;
}

/* Decode and bind check @c (see cat_checks_parse) against @cs, run it on
 * @row. 1 holds, 0 fails, or an error. */
static int tcheck_one(const struct tv_check *c, const struct tv_colset *cs,
		      const struct tv_value *row)
{
	const uint8_t *p = c->expr;
	const struct tv_bexpr *b;
	struct tv_expr *e = NULL;
	struct tv_arena a;
	size_t el = 0;
	int rc;

	for (unsigned i = 0; i < 4; i++)
		el |= (size_t)p[i] << (8 * i);
	rc = tv_expr_decode(p + 4, el, &e);
	if (rc < 0)
		return rc;
	tv_arena_init(&a);
	rc = tv_expr_bind(e, cs, &a, &b, NULL);
	if (rc == 0)
		rc = tv_bexpr_eval(b, row) ? 1 : 0;
	tv_arena_free(&a);
	tv_expr_free(e);
	/* it bound when the table was created, against these very columns */
	return rc < 0 ? -AEDB_ECORRUPT : rc;
}

int cat_checks_validate(const struct tv_schema *s)
{
	struct tv_value *row;
	struct tv_colset cs = { 0 };
	int rc;

	if (!s->nchecks)
		return 0;
	row = calloc(s->ncols, sizeof(*row));   /* all NULL: any row will do */
	if (!row)
		return -ENOMEM;
	rc = tcheck_colset(s, &cs);
	if (rc < 0) {
		free(row);
		return rc;
	}
	for (uint32_t k = 0; rc == 0 && k < s->nchecks; k++) {
		rc = tcheck_one(&s->checks[k], &cs, row);
		rc = rc < 0 ? rc : 0;
	}
	free((void *)cs.names);
	free(row);
	return rc;
}

int cat_checks_eval(const struct tv_schema *s, const struct tv_value *row, int32_t *failed)
{
	struct tv_colset cs = { 0 };
	int rc;

	if (!s->nchecks)
		return 0;
	rc = tcheck_colset(s, &cs);
	for (uint32_t k = 0; rc == 0 && k < s->nchecks; k++) {
		rc = tcheck_one(&s->checks[k], &cs, row);
		if (rc == 1) {
			rc = 0;
		} else if (rc == 0) {
			rc = -AEDB_ECHECK;
			if (failed)
				*failed = (int32_t)k;
		}
	}
	free((void *)cs.names);
	return rc;
}

size_t cat_checks_info_bytes(const struct tv_schema *s)
{
	size_t n = s->nchecks * sizeof(struct aedb_check_def);

	for (uint32_t k = 0; k < s->nchecks; k++)
		n += strlen(s->checks[k].name) + 1;
	return n;
}

int cat_checks_info_fill(const struct tv_schema *s, void *mem, struct aedb_table_info *info)
{
	struct aedb_check_def *out = mem;
	char *names = (char *)(out + s->nchecks);

	info->nchecks = 0;
	info->checks = s->nchecks ? out : NULL;
	for (uint32_t k = 0; k < s->nchecks; k++) {
		const uint8_t *p = s->checks[k].expr;
		struct tv_expr *e = NULL;
		size_t el = 0;
		int rc;

		for (unsigned i = 0; i < 4; i++)
			el |= (size_t)p[i] << (8 * i);
		rc = tv_expr_decode(p + 4, el, &e);
		if (rc < 0)
			return rc;   /* info->nchecks says how many to free */
		out[k].name = strcpy(names, s->checks[k].name);
		names += strlen(names) + 1;
		out[k].expr = (const struct aedb_expr *)e;
		info->nchecks = k + 1;
	}
	return 0;
}

void cat_checks_info_free(struct aedb_table_info *info)
{
	for (uint32_t k = 0; k < info->nchecks; k++)
		tv_expr_free((struct tv_expr *)info->checks[k].expr);
}
