/* SPDX-License-Identifier: MIT */
/*
 * table/query, randomized joins: three random tables whose primary keys and
 * indexes vary so every join strategy runs (PK lookup, PK prefix, index,
 * hash), one or two inner/left joins on integer, u64 or text columns with
 * NULLs and cross-kind keys, random WHERE over all tables, ORDER BY, LIMIT
 * and OFFSET; compared at 1, 2, 4 and 8 shards with nested loops written
 * here, and paged with cursors. AEDB_TEST_SEED replays a run.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aedb.h"
#include "t_helpers.h"
#include "table/query.h"

#define T_ROWS 30
#define T_NCOLS 5               /* a, [b], x, y, s */
#define T_OUT (3 * T_NCOLS)
#define T_ROUNDS 40
#define T_QUERIES 30

static uint64_t t_rng;

static uint64_t t_below(uint64_t n)
{
	return t_rand(&t_rng) % n;
}

static const char *const t_strs[] = { "", "p", "q", "pq" };

/* Table i ("t0".."t2"): PK (a) or (a, b); nullable x integer, y u64,
 * s text; maybe an index on x, y or s. */
struct t_tab {
	char name[4], alias[4];
	struct tv_column cols[T_NCOLS];
	const char *pk[2];
	struct tv_schema s;
	uint32_t ncols;
	struct tv_value rows[T_ROWS][T_NCOLS];
	uint32_t nrows;
	const char *icol[1];
	char qnames[T_NCOLS][8];
};

static struct t_tab t_tabs[3];

static void t_tab_gen(struct t_tab *t, unsigned i)
{
	bool two = t_below(2);
	static const char *const names[] = { "a", "b", "x", "y", "s" };
	static const uint8_t types[] = { TV_INTEGER, TV_INTEGER, TV_INTEGER, TV_U64, TV_TEXT };
	uint32_t k = 0;

	memset(t, 0, sizeof(*t));
	snprintf(t->name, sizeof(t->name), "t%u", i);
	snprintf(t->alias, sizeof(t->alias), "%c", 'p' + i);
	for (uint32_t c = 0; c < T_NCOLS; c++) {
		if (c == 1 && !two)
			continue;
		t->cols[k] = (struct tv_column){ .name = names[c], .type = types[c],
						 .nullable = c >= 2 };
		snprintf(t->qnames[k], sizeof(t->qnames[k]), "%s.%s", t->alias, names[c]);
		k++;
	}
	t->ncols = k;
	t->pk[0] = "a";
	t->pk[1] = "b";
	t->s = (struct tv_schema){ .name = t->name, .cols = t->cols, .ncols = k,
				   .pk_names = t->pk, .npk = two ? 2 : 1 };
	assert_int_equal(tv_schema_check(&t->s, NULL), 0);
	t->icol[0] = t_below(2) ? names[2 + t_below(3)] : NULL;
}

static struct tv_value t_val(unsigned type, bool nullable)
{
	if (nullable && t_below(5) == 0)
		return tv_null();
	if (type == TV_TEXT) {
		const char *s = t_strs[t_below(4)];

		return tv_text(s, (uint32_t)strlen(s));
	}
	return type == TV_U64 ? tv_u64(t_below(6)) : tv_integer((int64_t)t_below(7) - 1);
}

static void t_rows_gen(struct t_tab *t, struct tv_memtable *mt)
{
	uint32_t want = (uint32_t)t_below(T_ROWS + 1);

	for (uint32_t tries = 0; t->nrows < want && tries < 4 * T_ROWS; tries++) {
		struct tv_value *row = t->rows[t->nrows];
		int rc;

		for (uint32_t c = 0; c < t->ncols; c++)
			row[c] = t_val(t->cols[c].type, t->cols[c].nullable);
		rc = tv_memtable_insert(mt, row);
		if (rc == -AEDB_EEXIST)
			continue;
		assert_int_equal(rc, 0);
		t->nrows++;
	}
}

static struct tv_memdb *t_load(uint32_t nshards, bool gen)
{
	struct tv_memdb *db;

	assert_int_equal(tv_memdb_create(nshards, 3, &db), 0);
	for (unsigned i = 0; i < 3; i++) {
		struct t_tab *t = &t_tabs[i];
		struct tv_memtable *mt;

		assert_int_equal(tv_memdb_table(db, &t->s, 20 + i, &mt), 0);
		if (gen)
			t_rows_gen(t, mt);
		else
			for (uint32_t r = 0; r < t->nrows; r++)
				assert_int_equal(tv_memtable_insert(mt, t->rows[r]), 0);
		if (t->icol[0])
			assert_int_equal(tv_memtable_index(mt, "ix", t->icol, 1, false, NULL), 0);
	}
	return db;
}

/* ---- queries and the nested-loop reference ---------------------------- */

struct t_leaf {
	uint32_t col;           /* in the joined row */
	uint8_t op;             /* TV_OP_EQ, TV_OP_LT, TV_OP_IS_NULL, TV_OP_NOT_NULL */
	struct tv_value lit;
};

struct t_jq {
	struct tv_query *q;
	uint32_t njoins;
	uint8_t kind[2];
	uint32_t lcol[2], rcol[2];      /* lcol in the joined row, rcol in the table */
	uint32_t off[3];
	struct t_leaf where[3];
	uint32_t nwhere;
	bool where_or;
	uint32_t order[2], norder;
	bool desc[2];
	bool has_limit;
	uint64_t limit, offset;
	const char *names[T_OUT];
	uint8_t types[T_OUT];
	uint32_t ncols;
};

/* A joined row with its tie-break (the tables' rows, -1 for NULLs). */
struct t_jrow {
	struct tv_value v[T_OUT];
	int32_t src[3];
};

static struct t_jrow t_ref[T_ROWS * T_ROWS * T_ROWS + 1];
static const struct t_jq *t_sort_q;

static bool t_key_equal(const struct tv_value *a, const struct tv_value *b)
{
	if (a->type == TV_NULL || b->type == TV_NULL)
		return false;
	if (a->type == TV_TEXT || b->type == TV_TEXT)
		return tv_cmp(a, b) == 0;
	return (a->type == TV_U64 ? (__int128)a->u.u64 : (__int128)a->u.i64) ==
	       (b->type == TV_U64 ? (__int128)b->u.u64 : (__int128)b->u.i64);
}

static bool t_leaf_eval(const struct t_leaf *l, const struct tv_value *row)
{
	const struct tv_value *v = &row[l->col];
	__int128 a, b;

	if (l->op == TV_OP_IS_NULL || l->op == TV_OP_NOT_NULL)
		return (v->type == TV_NULL) == (l->op == TV_OP_IS_NULL);
	if (v->type == TV_NULL)
		return false;
	if (v->type == TV_TEXT)
		return l->op == TV_OP_EQ ? tv_cmp(v, &l->lit) == 0 : tv_cmp(v, &l->lit) < 0;
	a = v->type == TV_U64 ? (__int128)v->u.u64 : v->u.i64;
	b = l->lit.u.i64;
	return l->op == TV_OP_EQ ? a == b : a < b;
}

static bool t_where(const struct t_jq *jq, const struct tv_value *row)
{
	bool r = !jq->where_or || jq->nwhere == 0;

	for (uint32_t i = 0; i < jq->nwhere; i++) {
		bool x = t_leaf_eval(&jq->where[i], row);

		r = jq->where_or ? r || x : r && x;
	}
	return r;
}

static int t_pk_cmp(const struct t_tab *t, int32_t x, int32_t y)
{
	if (x < 0 || y < 0)
		return (x >= 0) - (y >= 0);
	for (uint32_t i = 0; i < t->s.npk; i++) {
		int c = tv_cmp(&t->rows[x][i], &t->rows[y][i]);

		if (c)
			return c;
	}
	return 0;
}

static int t_jrow_cmp(const void *x, const void *y)
{
	const struct t_jrow *a = x, *b = y;

	for (uint32_t i = 0; i < t_sort_q->norder; i++) {
		int c = tv_cmp(&a->v[t_sort_q->order[i]], &b->v[t_sort_q->order[i]]);

		if (c)
			return t_sort_q->desc[i] ? -c : c;
	}
	for (uint32_t t = 0; t <= t_sort_q->njoins; t++) {
		int c = t_pk_cmp(&t_tabs[t], a->src[t], b->src[t]);

		if (c)
			return c;
	}
	return 0;
}

static uint32_t t_ref_n;

static void t_ref_level(const struct t_jq *jq, struct t_jrow *cur, uint32_t k)
{
	const struct t_tab *t = &t_tabs[k];
	bool matched = false;

	if (k > jq->njoins) {
		if (t_where(jq, cur->v))
			t_ref[t_ref_n++] = *cur;
		return;
	}
	for (uint32_t r = 0; r < t->nrows; r++) {
		if (k > 0 && !t_key_equal(&cur->v[jq->lcol[k - 1]], &t->rows[r][jq->rcol[k - 1]]))
			continue;
		matched = true;
		memcpy(&cur->v[jq->off[k]], t->rows[r], t->ncols * sizeof(struct tv_value));
		cur->src[k] = (int32_t)r;
		t_ref_level(jq, cur, k + 1);
	}
	if (k > 0 && !matched && jq->kind[k - 1] == TV_JOIN_LEFT) {
		for (uint32_t c = 0; c < t->ncols; c++)
			cur->v[jq->off[k] + c] = tv_null();
		cur->src[k] = -1;
		t_ref_level(jq, cur, k + 1);
	}
}

static uint32_t t_ref_run(const struct t_jq *jq)
{
	struct t_jrow cur;

	memset(&cur, 0, sizeof(cur));
	t_ref_n = 0;
	t_ref_level(jq, &cur, 0);
	t_sort_q = jq;
	qsort(t_ref, t_ref_n, sizeof(t_ref[0]), t_jrow_cmp);
	return t_ref_n;
}

/* A column of the joined row whose type can meet @type (numbers meet
 * numbers, text text), among the first @n. */
static uint32_t t_pick(const struct t_jq *jq, uint32_t n, unsigned type)
{
	for (;;) {
		uint32_t c = (uint32_t)t_below(n);

		if ((jq->types[c] == TV_TEXT) == (type == TV_TEXT))
			return c;
	}
}

static void t_jq_gen(struct t_jq *jq)
{
	memset(jq, 0, sizeof(*jq));
	assert_int_equal(tv_query_create("t0", &jq->q), 0);
	assert_int_equal(tv_query_alias(jq->q, t_tabs[0].alias), 0);
	jq->njoins = 1 + (uint32_t)t_below(2);
	for (uint32_t k = 0; k <= jq->njoins; k++) {
		const struct t_tab *t = &t_tabs[k];

		jq->off[k] = jq->ncols;
		for (uint32_t c = 0; c < t->ncols; c++) {
			jq->names[jq->ncols] = t->qnames[c];
			jq->types[jq->ncols++] = t->cols[c].type;
		}
		if (k == 0)
			continue;
		jq->kind[k - 1] = t_below(2) ? TV_JOIN_INNER : TV_JOIN_LEFT;
		jq->rcol[k - 1] = (uint32_t)t_below(t->ncols);
		jq->lcol[k - 1] = t_pick(jq, jq->off[k], t->cols[jq->rcol[k - 1]].type);
		assert_int_equal(tv_query_join(jq->q, jq->kind[k - 1], t->name, t->alias,
					       jq->names[jq->lcol[k - 1]],
					       t->cols[jq->rcol[k - 1]].name), 0);
	}
	jq->nwhere = (uint32_t)t_below(4);
	jq->where_or = t_below(3) == 0;
	{
		struct tv_expr *w = NULL;

		for (uint32_t i = 0; i < jq->nwhere; i++) {
			struct t_leaf *l = &jq->where[i];
			struct tv_expr *e;

			l->col = (uint32_t)t_below(jq->ncols);
			l->op = (uint8_t)(t_below(4) == 0 ? TV_OP_IS_NULL + t_below(2) :
					  t_below(2) ? TV_OP_EQ : TV_OP_LT);
			l->lit = jq->types[l->col] == TV_TEXT ? t_val(TV_TEXT, false)
							     : tv_integer((int64_t)t_below(6));
			if (l->op == TV_OP_IS_NULL)
				e = tv_expr_is_null(jq->names[l->col]);
			else if (l->op == TV_OP_NOT_NULL)
				e = tv_expr_not_null(jq->names[l->col]);
			else
				e = tv_expr_cmp(l->op, jq->names[l->col], l->lit);
			w = !w ? e : jq->where_or ? tv_expr_or(w, e) : tv_expr_and(w, e);
		}
		if (w)
			assert_int_equal(tv_query_where(jq->q, w), 0);
	}
	jq->norder = (uint32_t)t_below(3);
	for (uint32_t i = 0; i < jq->norder; i++) {
		jq->order[i] = (uint32_t)t_below(jq->ncols);
		jq->desc[i] = t_below(2);
		assert_int_equal(tv_query_order_by(jq->q, jq->names[jq->order[i]], jq->desc[i]), 0);
	}
	jq->has_limit = t_below(2);
	jq->limit = t_below(10);
	jq->offset = t_below(3) ? 0 : t_below(5);
	if (jq->has_limit)
		assert_int_equal(tv_query_limit(jq->q, jq->limit), 0);
	assert_int_equal(tv_query_offset(jq->q, jq->offset), 0);
}

static void t_check_rows(const struct t_jq *jq, const struct tv_result *r, uint64_t from,
			 uint64_t n)
{
	assert_int_equal(r->ncols, jq->ncols);
	assert_int_equal(r->nrows, n);
	for (uint64_t i = 0; i < n; i++)
		for (uint32_t c = 0; c < jq->ncols; c++)
			if (tv_cmp(&r->rows[i * r->ncols + c], &t_ref[from + i].v[c]) != 0)
				fail_msg("row %llu col %s differs", (unsigned long long)(from + i),
					 jq->names[c]);
}

static uint64_t t_algos[5];

static void t_check(struct t_jq *jq, const struct tv_env *env, uint64_t total)
{
	struct tv_query_opts o;
	struct tv_result *r;
	struct tv_qerr err;
	uint64_t from = jq->offset < total ? jq->offset : total, n = total - from;
	uint64_t page = 1 + t_below(5);
	uint8_t *cur = NULL;
	size_t len = 0;
	int rc;

	tv_query_opts_init(&o);
	o.max_scan_rows = o.max_join_rows = 1u << 24;
	o.want_total = true;
	rc = tv_query_run(env, jq->q, &o, &r, &err);
	if (rc)
		fail_msg("join query: %d %s", rc, err.msg);
	for (uint32_t k = 0; k < jq->njoins; k++)
		t_algos[r->plan.join_algo[k]]++;
	if (jq->has_limit && jq->limit < n)
		n = jq->limit;
	t_check_rows(jq, r, from, n);
	assert_int_equal(r->total, total);
	tv_result_free(r);
	/* Pages from the offset on. */
	assert_int_equal(tv_query_limit(jq->q, page), 0);
	for (;;) {
		uint64_t want = total - from < page ? total - from : page;

		assert_int_equal(tv_query_set_cursor(jq->q, cur, len), 0);
		free(cur);
		cur = NULL;
		len = 0;
		o.want_total = false;
		rc = tv_query_run(env, jq->q, &o, &r, &err);
		if (rc)
			fail_msg("join page: %d %s", rc, err.msg);
		t_check_rows(jq, r, from, want);
		from += want;
		assert_int_equal(r->truncated, from < total);
		if (r->truncated) {
			len = r->cursor_len;
			cur = malloc(len);
			memcpy(cur, r->cursor, len);
		}
		tv_result_free(r);
		if (!len)
			break;
	}
	assert_int_equal(from, total);
	assert_int_equal(tv_query_set_cursor(jq->q, NULL, 0), 0);
}

static void test_query_random_joins(void **state)
{
	uint64_t seed = t_seed("table_query_random_joins");

	(void)state;
	t_rng = seed;
	for (unsigned round = 0; round < T_ROUNDS; round++) {
		struct tv_memdb *dbs[4];

		for (unsigned i = 0; i < 3; i++)
			t_tab_gen(&t_tabs[i], i);
		dbs[0] = t_load(1, true);
		for (unsigned s = 1; s < 4; s++)
			dbs[s] = t_load(1u << s, false);
		for (unsigned i = 0; i < T_QUERIES; i++) {
			struct t_jq jq;

			t_jq_gen(&jq);
			for (unsigned s = 0; s < 4; s++) {
				struct tv_env env;
				uint64_t total = t_ref_run(&jq);

				tv_memdb_env(dbs[s], &env);
				t_check(&jq, &env, total);
				if (jq.has_limit)
					assert_int_equal(tv_query_limit(jq.q, jq.limit), 0);
				else
					assert_int_equal(tv_query_clear_limit(jq.q), 0);
			}
			tv_query_free(jq.q);
		}
		for (unsigned s = 0; s < 4; s++)
			tv_memdb_free(dbs[s]);
	}
	fprintf(stderr, "join strategies: pk %llu, prefix %llu, index %llu, hash %llu\n",
		(unsigned long long)t_algos[TV_JOIN_ALGO_PK],
		(unsigned long long)t_algos[TV_JOIN_ALGO_PREFIX],
		(unsigned long long)t_algos[TV_JOIN_ALGO_INDEX],
		(unsigned long long)t_algos[TV_JOIN_ALGO_HASH]);
	assert_true(t_algos[TV_JOIN_ALGO_PK] && t_algos[TV_JOIN_ALGO_PREFIX] &&
		    t_algos[TV_JOIN_ALGO_INDEX] && t_algos[TV_JOIN_ALGO_HASH]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_query_random_joins),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
