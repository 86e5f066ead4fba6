/* SPDX-License-Identifier: MIT */
/* Expressions: building, hashing, binding (literal conversion and range
 * normalisation), evaluation, LIKE. Implication lives in expr_imply.c. */
#include "table/expr.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "aedb.h"
#include "core/assert.h"

struct tv_expr {
	uint8_t op;             /* enum tv_op */
	uint32_t nlits;
	uint32_t plen;
	char *col;              /* leaves */
	struct tv_value *lits;  /* comparisons 1, BETWEEN 2, IN nlits */
	uint8_t *pat;           /* LIKE, PREFIX */
	struct tv_expr *a, *b;
};

/* ---- building ----------------------------------------------------------- */

static size_t tv_lit_payload(const struct tv_value *v)
{
	return tv_type_is_var(v->type) ? v->len : 0;
}

/* One allocation: the node, its literals, its name, payloads and pattern. */
static struct tv_expr *tv_expr_leaf(unsigned op, const char *col, const struct tv_value *lits,
				    size_t nlits, const void *pat, size_t plen)
{
	size_t name = col ? strlen(col) + 1 : 0, bytes = sizeof(struct tv_expr);
	struct tv_expr *e;
	uint8_t *p;

	if (nlits > UINT32_MAX / 2 || plen > UINT32_MAX)
		return NULL;
	bytes += nlits * sizeof(struct tv_value) + name + plen;
	for (size_t i = 0; i < nlits; i++)
		bytes += tv_lit_payload(&lits[i]);
	e = calloc(1, bytes);
	if (!e)
		return NULL;
	e->op = (uint8_t)op;
	e->nlits = (uint32_t)nlits;
	e->plen = (uint32_t)plen;
	p = (uint8_t *)(e + 1);
	e->lits = (struct tv_value *)p;
	p += nlits * sizeof(struct tv_value);
	for (size_t i = 0; i < nlits; i++) {
		size_t n = tv_lit_payload(&lits[i]);

		e->lits[i] = lits[i];
		if (n) {
			memcpy(p, lits[i].u.bytes, n);
			e->lits[i].u.bytes = p;
			p += n;
		}
	}
	if (col) {
		e->col = (char *)p;
		memcpy(p, col, name);
		p += name;
	}
	e->pat = p;
	if (plen)
		memcpy(p, pat, plen);
	return e;
}

struct tv_expr *tv_expr_cmp(enum tv_op op, const char *col, struct tv_value lit)
{
	if (op < TV_OP_EQ || op > TV_OP_GE)
		op = 0;         /* bind reports -AEDB_EINVAL */
	return tv_expr_leaf(op, col, &lit, 1, NULL, 0);
}

struct tv_expr *tv_expr_in(const char *col, const struct tv_value *lits, size_t n)
{
	if (n && !lits)
		return NULL;
	return tv_expr_leaf(TV_OP_IN, col, lits, n, NULL, 0);
}

struct tv_expr *tv_expr_between(const char *col, struct tv_value lo, struct tv_value hi)
{
	struct tv_value v[2] = { lo, hi };

	return tv_expr_leaf(TV_OP_BETWEEN, col, v, 2, NULL, 0);
}

struct tv_expr *tv_expr_is_null(const char *col)
{
	return tv_expr_leaf(TV_OP_IS_NULL, col, NULL, 0, NULL, 0);
}

struct tv_expr *tv_expr_not_null(const char *col)
{
	return tv_expr_leaf(TV_OP_NOT_NULL, col, NULL, 0, NULL, 0);
}

struct tv_expr *tv_expr_like(const char *col, const void *pattern, size_t len)
{
	if (len && !pattern)
		return NULL;
	return tv_expr_leaf(TV_OP_LIKE, col, NULL, 0, pattern, len);
}

struct tv_expr *tv_expr_prefix(const char *col, const void *prefix, size_t len)
{
	if (len && !prefix)
		return NULL;
	return tv_expr_leaf(TV_OP_PREFIX, col, NULL, 0, prefix, len);
}

static struct tv_expr *tv_expr_node(unsigned op, struct tv_expr *a, struct tv_expr *b)
{
	struct tv_expr *e = NULL;

	if (a && (b || op == TV_OP_NOT))
		e = tv_expr_leaf(op, NULL, NULL, 0, NULL, 0);
	if (!e) {
		tv_expr_free(a);
		tv_expr_free(b);
		return NULL;
	}
	e->a = a;
	e->b = b;
	return e;
}

struct tv_expr *tv_expr_and(struct tv_expr *a, struct tv_expr *b)
{
	return tv_expr_node(TV_OP_AND, a, b);
}

struct tv_expr *tv_expr_or(struct tv_expr *a, struct tv_expr *b)
{
	return tv_expr_node(TV_OP_OR, a, b);
}

struct tv_expr *tv_expr_not(struct tv_expr *a)
{
	return tv_expr_node(TV_OP_NOT, a, NULL);
}

struct tv_expr *tv_expr_copy(const struct tv_expr *e)
{
	struct tv_expr *c, *a = NULL, *b = NULL;

	if (!e)
		return NULL;
	if (e->a && !(a = tv_expr_copy(e->a)))
		return NULL;
	if (e->b && !(b = tv_expr_copy(e->b))) {
		tv_expr_free(a);
		return NULL;
	}
	c = tv_expr_leaf(e->op, e->col, e->lits, e->nlits, e->pat, e->plen);
	if (!c) {
		tv_expr_free(a);
		tv_expr_free(b);
		return NULL;
	}
	c->a = a;
	c->b = b;
	return c;
}

void tv_expr_free(struct tv_expr *e)
{
	while (e) {
		struct tv_expr *next = e->a;

		tv_expr_free(e->b);
		free(e);
		e = next;
	}
}

static uint64_t tv_hash_bytes(uint64_t h, const void *p, size_t n)
{
	return XXH3_64bits_withSeed(p, n, h);
}

static uint64_t tv_hash_value(uint64_t h, const struct tv_value *v)
{
	uint8_t head[5] = { v->type };

	memcpy(head + 1, &v->len, 4);
	h = tv_hash_bytes(h, head, sizeof(head));
	switch (v->type) {
	case TV_BOOLEAN:
		return tv_hash_bytes(h, &v->u.b, 1);
	case TV_U8:
		return tv_hash_bytes(h, &v->u.u8, 1);
	case TV_U64:
	case TV_INTEGER:
	case TV_TIMESTAMP:
	case TV_FLOAT:
		return tv_hash_bytes(h, &v->u.u64, 8);
	case TV_U256:
	case TV_I256:
		return tv_hash_bytes(h, v->u.w, TV_U256_BYTES);
	default:
		return tv_type_is_var(v->type) ? tv_hash_bytes(h, v->u.bytes, v->len) : h;
	}
}

uint64_t tv_expr_hash(const struct tv_expr *e, uint64_t h)
{
	uint8_t op;

	if (!e)
		return tv_hash_bytes(h, "", 1);
	op = e->op;
	h = tv_hash_bytes(h, &op, 1);
	if (e->col)
		h = tv_hash_bytes(h, e->col, strlen(e->col) + 1);
	h = tv_hash_bytes(h, &e->nlits, sizeof(e->nlits));
	for (uint32_t i = 0; i < e->nlits; i++)
		h = tv_hash_value(h, &e->lits[i]);
	h = tv_hash_bytes(h, &e->plen, sizeof(e->plen));
	h = tv_hash_bytes(h, e->pat, e->plen);
	if (e->a)
		h = tv_expr_hash(e->a, h);
	if (e->b)
		h = tv_expr_hash(e->b, h);
	return h;
}

/* ---- binding ------------------------------------------------------------ */

struct tv_bind {
	const struct tv_colset *cs;
	struct tv_arena *a;
	struct tv_qerr *err;
};

static int tv_bind_col(struct tv_bind *b, const char *name, uint32_t *col)
{
	if (!name)
		return tv_qerr_set(b->err, -AEDB_EMISUSE, "expression without a column name");
	for (uint32_t i = 0; i < b->cs->n; i++) {
		if (strcmp(b->cs->names[i], name) == 0) {
			*col = i;
			return 0;
		}
	}
	return tv_qerr_set(b->err, -TV_ENOCOLUMN, "no column \"%s\"", name);
}

static int tv_bind_lit(struct tv_bind *b, uint32_t col, const struct tv_value *lit,
		       struct tv_value *out, enum tv_conv *how)
{
	unsigned type = b->cs->types[col];
	int rc = tv_value_check(lit);

	if (rc)
		return tv_qerr_set(b->err, rc, "bad literal for column \"%s\"",
				   b->cs->names[col]);
	rc = tv_convert(lit, type, out, how);
	if (rc)
		return tv_qerr_set(b->err, rc, "column \"%s\" (%s) does not take a %s literal",
				   b->cs->names[col], tv_type_name(type),
				   tv_type_name(lit->type));
	return 0;
}

/* Narrow RANGE node @n by `col <op> lit`, where the literal converted to
 * @v with @how. False when no row can match (the node becomes FALSE). */
static bool tv_bind_bound(struct tv_bexpr *n, unsigned op, const struct tv_value *v,
			  enum tv_conv how)
{
	bool exact = how == TV_CONV_EXACT, between = how == TV_CONV_BETWEEN;

	if (op == TV_OP_EQ) {
		if (!exact)
			return false;
		n->has_lo = n->has_hi = n->lo_incl = n->hi_incl = true;
		n->lo = n->hi = *v;
		return true;
	}
	if (op == TV_OP_LT || op == TV_OP_LE) {
		if (how == TV_CONV_BELOW)
			return false;
		if (how != TV_CONV_ABOVE) {
			n->has_hi = true;
			n->hi = *v;
			n->hi_incl = op == TV_OP_LE || between;
		}
		return true;
	}
	AEDB_ASSERT(op == TV_OP_GT || op == TV_OP_GE);
	if (how == TV_CONV_ABOVE)
		return false;
	if (how != TV_CONV_BELOW) {
		n->has_lo = true;
		n->lo = *v;
		n->lo_incl = op == TV_OP_GE && exact;
	}
	return true;
}

/* An empty RANGE (lo above hi) is FALSE. */
static void tv_bind_range_check(struct tv_bexpr *n)
{
	int c;

	if (!n->has_lo || !n->has_hi)
		return;
	c = tv_cmp(&n->lo, &n->hi);
	if (c > 0 || (c == 0 && !(n->lo_incl && n->hi_incl)))
		n->op = TV_B_FALSE;
}

static int tv_bind_cmp(struct tv_bind *b, const struct tv_expr *e, struct tv_bexpr *n)
{
	struct tv_value v;
	enum tv_conv how;
	int rc;

	for (uint32_t i = 0; i < e->nlits; i++) {
		if (e->lits[i].type == TV_NULL) {
			n->op = TV_B_FALSE;     /* comparing with NULL is false */
			return 0;
		}
	}
	n->op = TV_B_RANGE;
	for (uint32_t i = 0; i < e->nlits; i++) {
		unsigned op = e->op;

		rc = tv_bind_lit(b, n->col, &e->lits[i], &v, &how);
		if (rc)
			return rc;
		if (op == TV_OP_BETWEEN)
			op = i == 0 ? TV_OP_GE : TV_OP_LE;
		if (op == TV_OP_NE) {
			if (how == TV_CONV_EXACT) {
				n->op = TV_B_NE;
				n->lo = v;
			}
			continue;       /* else: any non-NULL value differs */
		}
		if (!tv_bind_bound(n, op, &v, how))
			n->op = TV_B_FALSE;
	}
	if (n->op == TV_B_RANGE)
		tv_bind_range_check(n);
	return 0;
}

static int tv_value_qcmp(const void *x, const void *y)
{
	return tv_cmp(x, y);
}

static int tv_bind_in(struct tv_bind *b, const struct tv_expr *e, struct tv_bexpr *n)
{
	struct tv_value *set;
	uint32_t k = 0;

	if (e->nlits > TV_EXPR_IN_MAX)
		return tv_qerr_set(b->err, -AEDB_ETOOBIG,
				   "IN list on \"%s\" has %u values (max %u)", e->col, e->nlits,
				   TV_EXPR_IN_MAX);
	set = tv_arena_alloc(b->a, (e->nlits ? e->nlits : 1) * sizeof(*set));
	if (!set)
		return -ENOMEM;
	for (uint32_t i = 0; i < e->nlits; i++) {
		enum tv_conv how;
		int rc;

		if (e->lits[i].type == TV_NULL)
			continue;       /* NULL never equals anything */
		rc = tv_bind_lit(b, n->col, &e->lits[i], &set[k], &how);
		if (rc)
			return rc;
		if (how == TV_CONV_EXACT)
			k++;
	}
	qsort(set, k, sizeof(*set), tv_value_qcmp);
	n->n = 0;
	for (uint32_t i = 0; i < k; i++)
		if (n->n == 0 || tv_cmp(&set[n->n - 1], &set[i]) != 0)
			set[n->n++] = set[i];
	n->set = set;
	n->op = TV_B_IN;
	if (n->n == 0) {
		n->op = TV_B_FALSE;
	} else if (n->n == 1) {
		n->op = TV_B_RANGE;
		n->has_lo = n->has_hi = n->lo_incl = n->hi_incl = true;
		n->lo = n->hi = set[0];
	}
	return 0;
}

static int tv_bind_pattern(struct tv_bind *b, const struct tv_expr *e, struct tv_bexpr *n)
{
	unsigned type = b->cs->types[n->col];
	const char *what = e->op == TV_OP_LIKE ? "LIKE" : "prefix";

	if (e->op == TV_OP_LIKE ? type != TV_TEXT : !tv_type_is_var(type))
		return tv_qerr_set(b->err, -AEDB_ETYPE, "%s on column \"%s\" of type %s", what,
				   e->col, tv_type_name(type));
	if (e->plen > TV_EXPR_PATTERN_MAX)
		return tv_qerr_set(b->err, -AEDB_ETOOBIG, "%s pattern of %u bytes (max %u)", what,
				   e->plen, TV_EXPR_PATTERN_MAX);
	n->pat = e->pat;
	n->n = e->plen;
	if (e->op == TV_OP_PREFIX) {
		n->op = TV_B_PREFIX;
		return 0;
	}
	if (!tv_utf8_valid(e->pat, e->plen))
		return tv_qerr_set(b->err, -TV_EVALUE, "LIKE pattern is not valid UTF-8");
	while (n->fixed < n->n && e->pat[n->fixed] != '%' && e->pat[n->fixed] != '_')
		n->fixed++;
	n->op = TV_B_LIKE;
	n->prefix_only = n->fixed < n->n;
	for (uint32_t i = n->fixed; i < n->n; i++)
		n->prefix_only &= e->pat[i] == '%';
	if (n->fixed == n->n) {         /* no wildcard: an equality */
		n->op = TV_B_RANGE;
		n->has_lo = n->has_hi = n->lo_incl = n->hi_incl = true;
		n->lo = n->hi = tv_text(e->pat, e->plen);
	}
	return 0;
}

static int tv_bind_node(struct tv_bind *b, const struct tv_expr *e, unsigned depth,
			const struct tv_bexpr **out);

static int tv_bind_bool(struct tv_bind *b, const struct tv_expr *e, unsigned depth,
			struct tv_bexpr *n)
{
	int rc;

	if (depth >= TV_EXPR_DEPTH_MAX)
		return tv_qerr_set(b->err, -AEDB_EINVAL, "expression nested deeper than %u",
				   TV_EXPR_DEPTH_MAX);
	rc = tv_bind_node(b, e->a, depth + 1, &n->a);
	if (rc == 0 && e->op != TV_OP_NOT)
		rc = tv_bind_node(b, e->b, depth + 1, &n->b);
	if (rc)
		return rc;
	if (e->op == TV_OP_NOT) {
		n->op = TV_B_NOT;
	} else if (e->op == TV_OP_AND) {
		n->op = TV_B_AND;
		if (n->a->op == TV_B_FALSE || n->b->op == TV_B_FALSE)
			n->op = TV_B_FALSE;
	} else {
		n->op = TV_B_OR;
		if (n->a->op == TV_B_FALSE)
			*n = *n->b;
		else if (n->b->op == TV_B_FALSE)
			*n = *n->a;
	}
	return 0;
}

static int tv_bind_node(struct tv_bind *b, const struct tv_expr *e, unsigned depth,
			const struct tv_bexpr **out)
{
	struct tv_bexpr *n;
	int rc;

	if (!e)
		return tv_qerr_set(b->err, -AEDB_EMISUSE, "missing operand");
	n = tv_arena_zalloc(b->a, sizeof(*n));
	if (!n)
		return -ENOMEM;
	n->src = e->op;
	*out = n;
	if (e->op >= TV_OP_AND && e->op <= TV_OP_NOT)
		return tv_bind_bool(b, e, depth, n);
	if (e->op < TV_OP_EQ || e->op > TV_OP_LAST)
		return tv_qerr_set(b->err, -AEDB_EINVAL, "unknown operator %u", e->op);
	rc = tv_bind_col(b, e->col, &n->col);
	if (rc)
		return rc;
	switch (e->op) {
	case TV_OP_IN:
		return tv_bind_in(b, e, n);
	case TV_OP_IS_NULL:
		n->op = TV_B_ISNULL;
		return 0;
	case TV_OP_NOT_NULL:
		n->op = TV_B_RANGE;
		return 0;
	case TV_OP_LIKE:
	case TV_OP_PREFIX:
		return tv_bind_pattern(b, e, n);
	default:
		return tv_bind_cmp(b, e, n);
	}
}

int tv_expr_bind(const struct tv_expr *e, const struct tv_colset *cs, struct tv_arena *a,
		 const struct tv_bexpr **out, struct tv_qerr *err)
{
	struct tv_bind b = { .cs = cs, .a = a, .err = err };
	int rc;

	AEDB_ASSERT(cs && a && out);
	*out = NULL;
	rc = tv_bind_node(&b, e, 0, out);
	if (rc == -ENOMEM)
		tv_qerr_set(err, rc, "out of memory binding an expression");
	return rc;
}

/* ---- evaluation --------------------------------------------------------- */

static bool tv_in_set(const struct tv_bexpr *e, const struct tv_value *v)
{
	uint32_t lo = 0, hi = e->n;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		int c = tv_cmp(&e->set[mid], v);

		if (c == 0)
			return true;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

static bool tv_in_range(const struct tv_bexpr *e, const struct tv_value *v)
{
	if (e->has_lo) {
		int c = tv_cmp(v, &e->lo);

		if (c < 0 || (c == 0 && !e->lo_incl))
			return false;
	}
	if (e->has_hi) {
		int c = tv_cmp(v, &e->hi);

		if (c > 0 || (c == 0 && !e->hi_incl))
			return false;
	}
	return true;
}

static bool tv_has_prefix(const struct tv_value *v, const uint8_t *p, size_t n)
{
	return v->len >= n && (n == 0 || memcmp(v->u.bytes, p, n) == 0);
}

bool tv_bexpr_leaf_eval(const struct tv_bexpr *e, const struct tv_value *v)
{
	if (e->op == TV_B_ISNULL)
		return v->type == TV_NULL;
	if (v->type == TV_NULL || e->op == TV_B_FALSE)
		return false;
	switch (e->op) {
	case TV_B_RANGE:
		return tv_in_range(e, v);
	case TV_B_NE:
		return tv_cmp(v, &e->lo) != 0;
	case TV_B_IN:
		return tv_in_set(e, v);
	case TV_B_PREFIX:
		return tv_type_is_var(v->type) && tv_has_prefix(v, e->pat, e->n);
	case TV_B_LIKE:
		if (v->type != TV_TEXT || !tv_has_prefix(v, e->pat, e->fixed))
			return false;
		return e->prefix_only ||
		       tv_like_match(v->u.bytes, v->len, e->pat, e->n);
	default:
		AEDB_ASSERT(!"not a leaf");
		return false;
	}
}

bool tv_bexpr_eval(const struct tv_bexpr *e, const struct tv_value *row)
{
	for (;;) {
		switch (e->op) {
		case TV_B_AND:
			if (!tv_bexpr_eval(e->a, row))
				return false;
			e = e->b;
			continue;
		case TV_B_OR:
			if (tv_bexpr_eval(e->a, row))
				return true;
			e = e->b;
			continue;
		case TV_B_NOT:
			return !tv_bexpr_eval(e->a, row);
		case TV_B_FALSE:
			return false;
		default:
			return tv_bexpr_leaf_eval(e, &row[e->col]);
		}
	}
}

bool tv_bexpr_is_point(const struct tv_bexpr *e)
{
	return e->op == TV_B_RANGE && e->has_lo && e->has_hi && e->lo_incl && e->hi_incl &&
	       tv_cmp(&e->lo, &e->hi) == 0;
}

/* Bytes of the UTF-8 character starting at @s (1 for a stray byte). */
static size_t tv_u8_len(const uint8_t *s, size_t n)
{
	uint8_t c = s[0];
	size_t len = c < 0xc0 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;

	return len > n ? n : len;
}

bool tv_like_match(const uint8_t *s, size_t n, const uint8_t *p, size_t m)
{
	size_t si = 0, pi = 0, star_p = SIZE_MAX, star_s = 0;

	while (si < n) {
		if (pi < m && p[pi] == '%') {
			star_p = ++pi;
			star_s = si;
		} else if (pi < m && p[pi] == '_') {
			si += tv_u8_len(s + si, n - si);
			pi++;
		} else if (pi < m && p[pi] == s[si]) {
			si++;
			pi++;
		} else if (star_p != SIZE_MAX) {
			/* Let the last % swallow one more character. */
			star_s += tv_u8_len(s + star_s, n - star_s);
			si = star_s;
			pi = star_p;
		} else {
			return false;
		}
	}
	while (pi < m && p[pi] == '%')
		pi++;
	return pi == m;
}

/* ---- encoding (partial-index predicates in catalog records) ------------- */

/*
 * Preorder, little-endian: u8 op; leaves: u8 name length + name, u32 literal
 * count + literals, u32 pattern length + pattern; AND/OR: both operands;
 * NOT: its operand. A literal: u8 type, then its payload (bool/u8 1 byte,
 * u64/integer/timestamp/float 8, u256/i256 32, text/json/blob u32 length +
 * bytes, NULL nothing).
 */
struct tv_ebuf {
	uint8_t *p;
	size_t cap, len;
};

static void tv_eput(struct tv_ebuf *b, const void *src, size_t n)
{
	if (b->len + n <= b->cap && n)
		memcpy(b->p + b->len, src, n);
	b->len += n;
}

static void tv_eput_u32(struct tv_ebuf *b, uint32_t v)
{
	uint8_t x[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };

	tv_eput(b, x, 4);
}

static void tv_eput_value(struct tv_ebuf *b, const struct tv_value *v)
{
	uint8_t t = v->type, x[8];
	uint64_t u = 0;

	tv_eput(b, &t, 1);
	switch (v->type) {
	case TV_NULL:
		return;
	case TV_BOOLEAN:
	case TV_U8:
		t = v->type == TV_BOOLEAN ? (uint8_t)v->u.b : v->u.u8;
		tv_eput(b, &t, 1);
		return;
	case TV_U256:
	case TV_I256:
		tv_eput(b, v->u.w, TV_U256_BYTES);
		return;
	case TV_TEXT:
	case TV_JSON:
	case TV_BLOB:
		tv_eput_u32(b, v->len);
		tv_eput(b, v->u.bytes, v->len);
		return;
	default:
		memcpy(&u, &v->u, 8);  /* u64, i64, f64: the same 8 bytes */
		for (int i = 0; i < 8; i++)
			x[i] = (uint8_t)(u >> (8 * i));
		tv_eput(b, x, 8);
	}
}

static int tv_eput_expr(struct tv_ebuf *b, const struct tv_expr *e, uint32_t depth)
{
	uint8_t op = e->op, n;

	if (op < TV_OP_EQ || op > TV_OP_LAST || depth > TV_EXPR_DEPTH_MAX + 1)
		return -AEDB_EINVAL;
	tv_eput(b, &op, 1);
	if (op == TV_OP_AND || op == TV_OP_OR || op == TV_OP_NOT) {
		int rc = tv_eput_expr(b, e->a, depth + 1);

		return rc || op == TV_OP_NOT ? rc : tv_eput_expr(b, e->b, depth + 1);
	}
	if (!e->col || strlen(e->col) > 255)
		return -AEDB_EINVAL;
	n = (uint8_t)strlen(e->col);
	tv_eput(b, &n, 1);
	tv_eput(b, e->col, n);
	tv_eput_u32(b, e->nlits);
	for (uint32_t i = 0; i < e->nlits; i++)
		tv_eput_value(b, &e->lits[i]);
	tv_eput_u32(b, e->plen);
	tv_eput(b, e->pat, e->plen);
	return 0;
}

int tv_expr_encode(const struct tv_expr *e, uint8_t *buf, size_t cap, size_t *len)
{
	struct tv_ebuf b = { buf, buf ? cap : 0, 0 };
	int rc = e ? tv_eput_expr(&b, e, 0) : -AEDB_EINVAL;

	*len = b.len;
	if (rc == 0 && b.len > b.cap)
		rc = -AEDB_ETOOBIG;
	return rc;
}

struct tv_dbuf {
	const uint8_t *p;
	size_t len, at;
};

static const uint8_t *tv_dget(struct tv_dbuf *d, size_t n)
{
	const uint8_t *p = d->p + d->at;

	if (n > d->len - d->at)
		return NULL;
	d->at += n;
	return p;
}

static int tv_dget_u32(struct tv_dbuf *d, uint32_t *v)
{
	const uint8_t *p = tv_dget(d, 4);

	if (!p)
		return -AEDB_ECORRUPT;
	*v = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
	return 0;
}

static int tv_dget_value(struct tv_dbuf *d, struct tv_value *v)
{
	const uint8_t *p = tv_dget(d, 1);
	uint64_t u = 0;

	memset(v, 0, sizeof(*v));
	if (!p || *p > TV_JSON)
		return -AEDB_ECORRUPT;
	v->type = *p;
	switch (v->type) {
	case TV_NULL:
		return 0;
	case TV_BOOLEAN:
	case TV_U8:
		if (!(p = tv_dget(d, 1)) || (v->type == TV_BOOLEAN && *p > 1))
			return -AEDB_ECORRUPT;
		if (v->type == TV_BOOLEAN)
			v->u.b = *p;
		else
			v->u.u8 = *p;
		return 0;
	case TV_U256:
	case TV_I256:
		if (!(p = tv_dget(d, TV_U256_BYTES)))
			return -AEDB_ECORRUPT;
		memcpy(v->u.w, p, TV_U256_BYTES);
		return 0;
	case TV_TEXT:
	case TV_JSON:
	case TV_BLOB:
		if (tv_dget_u32(d, &v->len) < 0 || !(p = tv_dget(d, v->len)))
			return -AEDB_ECORRUPT;
		v->u.bytes = p;
		return 0;
	default:
		if (!(p = tv_dget(d, 8)))
			return -AEDB_ECORRUPT;
		for (int i = 0; i < 8; i++)
			u |= (uint64_t)p[i] << (8 * i);
		memcpy(&v->u, &u, 8);
		return 0;
	}
}

static int tv_dget_leaf(struct tv_dbuf *d, uint8_t op, struct tv_expr **out)
{
	char col[256];
	const uint8_t *p = tv_dget(d, 1), *pat;
	struct tv_value lits[2], *many = lits;
	uint32_t n, plen;
	int rc = 0;

	if (!p || *p == 0 || !(pat = tv_dget(d, *p)))
		return -AEDB_ECORRUPT;
	memcpy(col, pat, *p);
	col[*p] = '\0';
	if (tv_dget_u32(d, &n) < 0 || n > TV_EXPR_IN_MAX || n > d->len)
		return -AEDB_ECORRUPT;
	if (n > 2 && !(many = malloc(n * sizeof(*many))))
		return -ENOMEM;
	for (uint32_t i = 0; rc == 0 && i < n; i++)
		rc = tv_dget_value(d, &many[i]);
	if (rc == 0 && (tv_dget_u32(d, &plen) < 0 || !(pat = tv_dget(d, plen))))
		rc = -AEDB_ECORRUPT;
	if (rc == 0 && op != TV_OP_IN &&
	    n != (op == TV_OP_BETWEEN ? 2u : op <= TV_OP_GE ? 1u : 0u))
		rc = -AEDB_ECORRUPT;
	if (rc == 0) {
		*out = tv_expr_leaf(op, col, many, n, pat, plen);
		rc = *out ? 0 : -ENOMEM;
	}
	if (many != lits)
		free(many);
	return rc;
}

static int tv_dget_expr(struct tv_dbuf *d, uint32_t depth, struct tv_expr **out)
{
	const uint8_t *p = tv_dget(d, 1);
	struct tv_expr *a = NULL, *b = NULL;
	uint8_t op;
	int rc;

	*out = NULL;
	if (!p || *p < TV_OP_EQ || *p > TV_OP_LAST || depth > TV_EXPR_DEPTH_MAX + 1)
		return -AEDB_ECORRUPT;
	op = *p;
	if (op != TV_OP_AND && op != TV_OP_OR && op != TV_OP_NOT)
		return tv_dget_leaf(d, op, out);
	rc = tv_dget_expr(d, depth + 1, &a);
	if (rc == 0 && op != TV_OP_NOT)
		rc = tv_dget_expr(d, depth + 1, &b);
	if (rc < 0) {
		tv_expr_free(a);
		tv_expr_free(b);
		return rc;
	}
	*out = tv_expr_node(op, a, b);
	return *out ? 0 : -ENOMEM;
}

int tv_expr_decode(const uint8_t *p, size_t len, struct tv_expr **out)
{
	struct tv_dbuf d = { p, len, 0 };
	int rc = tv_dget_expr(&d, 0, out);

	if (rc == 0 && d.at != len) {
		tv_expr_free(*out);
		*out = NULL;
		rc = -AEDB_ECORRUPT;
	}
	return rc;
}
