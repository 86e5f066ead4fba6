/* SPDX-License-Identifier: MIT */
/*
 * table_mutate_rand_test - the row mutation family against a model: random
 * insert batches, upserts on conflict (nothing / update / merge, keys
 * repeated or not), update-where (ADD, VALUE, COALESCE; ORDER BY and
 * LIMIT) and delete-where on a small table, at 1 and 4 shards; after every
 * call the whole table is read back and compared with an array the test
 * updates by the documented rules, and the call's return value with the
 * model's count. AEDB_TEST_SEED replays a run.
 */
#include "it_common.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define T_IDS 48u
#define T_OPS 250

static const char *const t_pk_id[] = { "id" };

struct t_mrow {
	int present;
	int a_null;
	int64_t a;
	uint64_t c;
};

static struct t_mrow t_model[T_IDS];

static struct aedb_value t_u64(uint64_t x)
{
	struct aedb_value v = { .type = AEDB_TYPE_U64 };

	v.u.u64 = x;
	return v;
}

static struct aedb_value t_int(int64_t x)
{
	struct aedb_value v = { .type = AEDB_TYPE_INTEGER };

	v.u.i64 = x;
	return v;
}

/* r(id u64 pk, a integer null, c u64 not null) */
static struct aedb *t_setup(uint32_t shards)
{
	struct aedb_column_def c[3] = {
		{ .name = "id", .type = AEDB_TYPE_U64 },
		{ .name = "a", .type = AEDB_TYPE_INTEGER, .nullable = 1 },
		{ .name = "c", .type = AEDB_TYPE_U64 },
	};
	struct aedb_table_def d = { .name = "r", .columns = c, .ncolumns = 3, .npk = 1,
				    .pk = t_pk_id };
	struct aedb *db = t_open_p(shards, NULL);

	t_assert_rc(aedb_create_table(db, T_P, T_S, &d), 1);
	memset(t_model, 0, sizeof(t_model));
	return db;
}

static void t_compare(struct aedb *db, uint64_t seed, int op)
{
	struct aedb_query_result *r;
	struct aedb_query *q;
	uint64_t n = 0;

	t_assert_rc(aedb_query_create("r", &q), 0);
	t_assert_rc(aedb_query_run(db, T_P, T_S, q, AEDB_LATEST, &r), 0);
	for (uint32_t id = 0; id < T_IDS; id++) {
		const struct aedb_value *v;

		if (!t_model[id].present)
			continue;
		if (n >= r->nrows || r->rows[n * 3].u.u64 != id)
			fail_msg("seed %llu op %d: row %u missing", (unsigned long long)seed,
				 op, id);
		v = &r->rows[n * 3];
		if ((v[1].type == AEDB_TYPE_NULL) != t_model[id].a_null ||
		    (!t_model[id].a_null && v[1].u.i64 != t_model[id].a) ||
		    v[2].u.u64 != t_model[id].c)
			fail_msg("seed %llu op %d: row %u differs", (unsigned long long)seed,
				 op, id);
		n++;
	}
	if (n != r->nrows)
		fail_msg("seed %llu op %d: %llu rows, model %llu", (unsigned long long)seed, op,
			 (unsigned long long)r->nrows, (unsigned long long)n);
	aedb_query_result_free(r);
	aedb_query_free(q);
}

static void t_rand_row(uint64_t *st, struct aedb_value *v, struct t_mrow *m, uint32_t *id)
{
	*id = (uint32_t)(t_rand(st) % T_IDS);
	m->present = 1;
	m->a_null = t_rand(st) % 4 == 0;
	m->a = (int64_t)(t_rand(st) % 100) - 50;
	m->c = t_rand(st) % 1000;
	v[0] = t_u64(*id);
	v[1] = m->a_null ? (struct aedb_value){ .type = AEDB_TYPE_NULL } : t_int(m->a);
	v[2] = t_u64(m->c);
}

/* insert batch: all or nothing (EEXIST on any present or repeated key) */
static void t_op_insert(struct aedb *db, uint64_t *st)
{
	struct aedb_value v[4 * 3];
	struct t_mrow m[4];
	uint32_t ids[4], k = 1 + (uint32_t)(t_rand(st) % 4);
	int dup = 0;

	for (uint32_t i = 0; i < k; i++) {
		t_rand_row(st, &v[i * 3], &m[i], &ids[i]);
		dup |= t_model[ids[i]].present;
		for (uint32_t j = 0; j < i; j++)
			dup |= ids[j] == ids[i];
	}
	t_assert_rc(aedb_insert_rows(db, T_P, T_S, "r", v, k, 3, 0, NULL),
		    dup ? -AEDB_EEXIST : 0);
	for (uint32_t i = 0; !dup && i < k; i++)
		t_model[ids[i]] = m[i];
}

/* upsert on conflict; UPDATE sets a = a + proposed a, c = proposed c */
static void t_op_upsert(struct aedb *db, uint64_t *st)
{
	struct aedb_set sets[2] = {
		{ .col = "a", .op = AEDB_SET_ADD_PROPOSED },
		{ .col = "c", .op = AEDB_SET_PROPOSED },
	};
	uint32_t action = 1 + (uint32_t)(t_rand(st) % 3), ids[4];
	uint32_t k = 1 + (uint32_t)(t_rand(st) % 4), nsets;
	struct t_mrow m[4], next[T_IDS];
	struct aedb_value v[4 * 3];
	int dup = 0, want = 0;

	memcpy(next, t_model, sizeof(next));
	for (uint32_t i = 0; i < k; i++) {
		int seen = 0;

		t_rand_row(st, &v[i * 3], &m[i], &ids[i]);
		for (uint32_t j = 0; j < i; j++)
			seen |= ids[j] == ids[i];
		dup |= seen;
		if (seen)
			continue; /* NOTHING skips it; the others fail */
		if (!t_model[ids[i]].present) {
			next[ids[i]] = m[i];
			want++;
		} else if (action == AEDB_CONFLICT_UPDATE) {
			struct t_mrow *o = &next[ids[i]];

			o->a_null = o->a_null || m[i].a_null;
			o->a = o->a_null ? 0 : o->a + m[i].a;
			o->c = m[i].c;
			want++;
		} else if (action == AEDB_CONFLICT_MERGE) {
			if (!m[i].a_null) {
				next[ids[i]].a_null = 0;
				next[ids[i]].a = m[i].a;
			}
			next[ids[i]].c = m[i].c;
			want++;
		}
	}
	nsets = action == AEDB_CONFLICT_UPDATE ? 2 : 0;
	if (dup && action != AEDB_CONFLICT_NOTHING) {
		t_assert_rc(aedb_upsert_on_conflict(db, T_P, T_S, "r", v, k, 3, action, sets,
						    nsets, 0, NULL), -AEDB_EINVAL);
		return;
	}
	t_assert_rc(aedb_upsert_on_conflict(db, T_P, T_S, "r", v, k, 3, action, sets, nsets, 0,
					    NULL), want);
	for (uint32_t i = 0; i < T_IDS; i++)
		if (next[i].present && next[i].a_null)
			next[i].a = 0;
	memcpy(t_model, next, sizeof(next));
}

/* The rows a where-mutation selects: lo <= id <= hi [AND a IS NULL], in
 * id order (desc if asked), at most @limit (0: all). */
static uint32_t t_select(uint32_t lo, uint32_t hi, int a_null, int desc, uint32_t limit,
			 uint32_t *out)
{
	uint32_t n = 0;

	for (uint32_t k = 0; k < T_IDS; k++) {
		uint32_t id = desc ? T_IDS - 1 - k : k;

		if (id < lo || id > hi || !t_model[id].present || (a_null && !t_model[id].a_null))
			continue;
		if (limit && n == limit)
			break;
		out[n++] = id;
	}
	return n;
}

static void t_op_where(struct aedb *db, uint64_t *st, int del)
{
	uint32_t lo = (uint32_t)(t_rand(st) % T_IDS), hi = lo + (uint32_t)(t_rand(st) % 16);
	int a_null = t_rand(st) % 4 == 0, desc = (int)(t_rand(st) % 2);
	uint32_t limit = t_rand(st) % 3 == 0 ? 1 + (uint32_t)(t_rand(st) % 4) : 0;
	struct aedb_value vlo = t_u64(lo), vhi = t_u64(hi);
	int64_t delta = (int64_t)(t_rand(st) % 20) - 10;
	uint64_t cval = t_rand(st) % 1000;
	struct aedb_set sets[2] = {
		{ .col = "a", .op = AEDB_SET_ADD },
		{ .col = "c", .op = AEDB_SET_VALUE },
	};
	uint32_t ids[T_IDS], n = t_select(lo, hi, a_null, desc, limit, ids);
	struct aedb_query *q;

	sets[0].value = t_int(delta);
	sets[1].value = t_u64(cval);
	if (t_rand(st) % 2) {
		sets[0].op = AEDB_SET_COALESCE; /* a = coalesce(a, delta) */
	}
	t_assert_rc(aedb_query_create("r", &q), 0);
	t_assert_rc(aedb_query_where(q, aedb_expr_between("id", &vlo, &vhi)), 0);
	if (a_null)
		t_assert_rc(aedb_query_where(q, aedb_expr_is_null("a")), 0);
	if (desc)
		t_assert_rc(aedb_query_order_by(q, "id", true), 0);
	if (limit)
		t_assert_rc(aedb_query_limit(q, limit), 0);
	if (del) {
		t_assert_rc(aedb_delete_where(db, T_P, T_S, q, 0, NULL), (int)n);
	} else {
		t_assert_rc(aedb_update_where(db, T_P, T_S, q, sets, 2, 0, NULL), (int)n);
	}
	aedb_query_free(q);
	for (uint32_t i = 0; i < n; i++) {
		struct t_mrow *m = &t_model[ids[i]];

		if (del) {
			memset(m, 0, sizeof(*m));
			continue;
		}
		if (sets[0].op == AEDB_SET_COALESCE && m->a_null) {
			m->a_null = 0;
			m->a = delta;
		} else if (sets[0].op == AEDB_SET_ADD && !m->a_null) {
			m->a += delta;
		}
		m->c = cval;
	}
}

static void test_mutations_against_model(void **state)
{
	static const uint32_t shards[2] = { 1, 4 };
	uint64_t seed = t_seed("table_mutate_rand_test");

	(void)state;
	for (int s = 0; s < 2; s++) {
		struct aedb *db = t_setup(shards[s]);
		uint64_t st = seed + (uint64_t)s;

		for (int op = 0; op < T_OPS; op++) {
			switch (t_rand(&st) % 4) {
			case 0:
				t_op_insert(db, &st);
				break;
			case 1:
				t_op_upsert(db, &st);
				break;
			case 2:
				t_op_where(db, &st, 0);
				break;
			default:
				t_op_where(db, &st, t_rand(&st) % 3 == 0);
				break;
			}
			t_compare(db, seed, op);
		}
		t_close(db);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mutations_against_model),
	};

	t_require_engine();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
