/* SPDX-License-Identifier: MIT */
#include "txn/eval.h"

#include <string.h>

int txn_num_add(uint8_t *out, const uint8_t *a, const uint8_t *b, uint32_t w)
{
	unsigned carry = 0;

	for (uint32_t i = w; i-- > 0;) {
		unsigned s = (unsigned)a[i] + b[i] + carry;

		out[i] = (uint8_t)s;
		carry = s >> 8;
	}
	return (int)carry;
}

int txn_num_sub(uint8_t *out, const uint8_t *a, const uint8_t *b, uint32_t w)
{
	int borrow = 0;

	for (uint32_t i = w; i-- > 0;) {
		int d = (int)a[i] - b[i] - borrow;

		borrow = d < 0;
		out[i] = (uint8_t)(d + (borrow ? 256 : 0));
	}
	return borrow;
}

void txn_cur_after(struct txn_cur *cur, const struct txn_eff *e, uint64_t version)
{
	if (e->kind == TXN_EFF_NONE)
		return;
	cur->present = e->kind == TXN_EFF_SET;
	cur->val = cur->present ? txn_eff_val(e) : NULL;
	cur->len = cur->present ? e->len : 0;
	cur->version = cur->present ? version : 0;
}

static void txn_eff_num(struct txn_eff *e, const uint8_t *v, uint32_t w)
{
	e->kind = TXN_EFF_SET;
	e->inline_val = 1;
	e->len = w;
	memmove(e->num, v, w);
}

static int txn_eval_num(const struct txn_item *m, const struct txn_cur *cur, struct txn_eff *e)
{
	uint8_t c[32] = { 0 }, r[32];
	uint32_t w = m->width;
	int cmp;

	if ((m->flags & AEDB_NUM_EXPECT_VERSION) &&
	    (cur->present ? cur->version : 0) != m->version)
		return -AEDB_EASSERT;
	if (cur->present && cur->len != w)
		return -AEDB_ETYPE;
	if (!cur->present && (m->flags & AEDB_NUM_MISSING_REJECT))
		return -AEDB_ENOTFOUND;
	if (cur->present)
		memcpy(c, cur->val, w);
	cmp = memcmp(c, m->operand, w);
	switch (m->op) {
	case AEDB_NUM_ADD:
		if (txn_num_add(r, c, m->operand, w)) {
			if (!(m->flags & AEDB_NUM_SATURATE))
				return -AEDB_EOVERFLOW;
			memset(r, 0xff, w);
		}
		break;
	case AEDB_NUM_SUB:
		if (cmp < 0) {
			if (!(m->flags & AEDB_NUM_UNDERFLOW_NOOP))
				return -AEDB_EUNDERFLOW;
			e->kind = TXN_EFF_NONE;
			return 0;
		}
		txn_num_sub(r, c, m->operand, w);
		break;
	case AEDB_NUM_MAX:
	case AEDB_NUM_MIN:
		/* An existing key that would not change is not written. */
		if (cur->present && (cmp == 0 || (m->op == AEDB_NUM_MAX) == (cmp > 0))) {
			e->kind = TXN_EFF_NONE;
			return 0;
		}
		memcpy(r, (m->op == AEDB_NUM_MAX) == (cmp > 0) ? c : m->operand, w);
		break;
	default: /* AEDB_NUM_SET; the builder admits nothing else */
		memcpy(r, m->operand, w);
		break;
	}
	txn_eff_num(e, r, w);
	return 0;
}

/* A reference count: 8 bytes big-endian, absent = 0 (txn/fk.c). */
static int txn_eval_fk_count(const struct txn_item *m, const struct txn_cur *cur,
			     struct txn_eff *e)
{
	uint64_t n = 0;
	uint8_t be[8];

	if (cur->present && cur->len != 8)
		return -AEDB_ECORRUPT;
	for (uint32_t i = 0; cur->present && i < 8; i++)
		n = n << 8 | cur->val[i];
	if (m->kind == TXN_FK_DEC && n == 0) {
		/* Counts are kept from the table's create on: never reached. */
		e->kind = TXN_EFF_NONE;
		return 0;
	}
	n = m->kind == TXN_FK_INC ? n + 1 : n - 1;
	if (n == 0) {
		e->kind = TXN_EFF_DEL;
		return 0;
	}
	for (uint32_t i = 0; i < 8; i++)
		be[i] = (uint8_t)(n >> (56 - 8 * i));
	txn_eff_num(e, be, 8);
	return 0;
}

int txn_eval_mut(const struct aedb_txn *t, const struct txn_item *m, const struct txn_cur *cur,
		 struct txn_eff *e)
{
	memset(e, 0, sizeof(*e));
	e->item = m;
	if ((m->kind == TXN_ROW_PUT || m->kind == TXN_ROW_DEL) && m->op == TXN_OP_GUARD) {
		uint64_t seq;

		/* A foreign-key action's row: changed or gone since it was
		 * read, the action built for it is stale (txn/fk.c). */
		memcpy(&seq, m->operand, sizeof(seq));
		if (!cur->present || cur->version != seq)
			return -AEDB_ECONFLICT;
	}
	switch (m->kind) {
	case TXN_ROW_INS:
		if (cur->present)
			return -AEDB_EEXIST;
		/* fallthrough */
	case TXN_SET:
	case TXN_ROW_PUT:
		e->kind = TXN_EFF_SET;
		e->val = txn_val(t, m);
		e->len = m->val_len;
		return 0;
	case TXN_DEL:
	case TXN_ROW_DEL:
	case TXN_IDX_DEL:
		e->kind = TXN_EFF_DEL;
		return 0;
	case TXN_IDX_CLAIM:
		/* The key may only be held by this row (the PK is the value). */
		if (cur->present && (cur->len != m->val_len ||
				     memcmp(cur->val, txn_val(t, m), cur->len) != 0))
			return -AEDB_EUNIQUE;
		/* fallthrough */
	case TXN_IDX_SET:
		e->kind = TXN_EFF_SET;
		e->val = txn_val(t, m);
		e->len = m->val_len;
		return 0;
	case TXN_FK_REQ:
		/* The parent row as the entries before this one left it. */
		e->kind = TXN_EFF_NONE;
		return cur->present ? 0 : -AEDB_EFOREIGN;
	case TXN_FK_ZERO:
		e->kind = TXN_EFF_NONE;
		if (!cur->present)
			return 0;
		return m->op == TXN_OP_RETRY ? -AEDB_ECONFLICT : -AEDB_EFOREIGN;
	case TXN_FK_INC:
	case TXN_FK_DEC:
		return txn_eval_fk_count(m, cur, e);
	default:
		return txn_eval_num(m, cur, e);
	}
}

/* memcmp order, then shorter first: for equal widths (u64, u256 big-endian)
 * this is numeric order. */
static int txn_bytes_cmp(const uint8_t *a, uint32_t al, const uint8_t *b, uint32_t bl)
{
	int c = memcmp(a, b, al < bl ? al : bl);

	if (c)
		return c;
	return al < bl ? -1 : al > bl;
}

static int txn_cmp_holds(uint8_t op, int c)
{
	switch (op) {
	case AEDB_CMP_EQ: return c == 0;
	case AEDB_CMP_NE: return c != 0;
	case AEDB_CMP_LT: return c < 0;
	case AEDB_CMP_LE: return c <= 0;
	case AEDB_CMP_GT: return c > 0;
	default: return c >= 0;
	}
}

int txn_eval_check(const struct aedb_txn *t, const struct txn_item *a,
		   const struct txn_cur *cur)
{
	uint64_t version = cur->present ? cur->version : 0;
	int ok;

	switch (a->kind) {
	case TXN_A_EXISTS:
		ok = cur->present == (a->op != 0);
		break;
	case TXN_A_EQUALS:
		ok = cur->present && cur->len == a->val_len &&
		     memcmp(cur->val, txn_val(t, a), a->val_len) == 0;
		break;
	case TXN_A_CMP:
		ok = cur->present &&
		     txn_cmp_holds(a->op, txn_bytes_cmp(cur->val, cur->len, txn_val(t, a),
							a->val_len));
		break;
	case TXN_A_VERSION:
		ok = version == a->version;
		break;
	default: /* TXN_READ */
		if (version > a->version || (t->base_seq && version > t->base_seq))
			return -AEDB_ECONFLICT;
		return 0;
	}
	return ok ? 0 : -AEDB_EASSERT;
}
