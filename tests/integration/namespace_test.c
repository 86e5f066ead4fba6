/* SPDX-License-Identifier: MIT */
/*
 * namespace_test - projects and scopes: create/drop/exists/list, name rules,
 * cascading drops, scope ids, isolation between namespaces.
 */
#include "it_common.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static char t_name128[AEDB_NAME_MAX + 1];
static char t_name129[AEDB_NAME_MAX + 2];

static void t_names_init(void)
{
	memset(t_name128, 'n', AEDB_NAME_MAX);
	t_name128[AEDB_NAME_MAX] = 0;
	memset(t_name129, 'n', AEDB_NAME_MAX + 1);
	t_name129[AEDB_NAME_MAX + 1] = 0;
}

/* Check that @got holds exactly @want[0..n), in this order. */
static void t_expect_names(const struct aedb_names *got, const char *const *want, uint32_t n)
{
	assert_non_null(got);
	assert_int_equal(got->count, n);
	for (uint32_t i = 0; i < n; i++) {
		assert_non_null(got->names[i]);
		assert_string_equal(got->names[i], want[i]);
	}
}

static int t_strcmp_ptr(const void *a, const void *b)
{
	/* strcmp compares as unsigned char: bytewise ascending */
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void t_expect_projects(struct aedb *db, const char **want, uint32_t n)
{
	struct aedb_names *names = NULL;
	const char **sorted = calloc(n + 1, sizeof(*sorted));

	if (n)
		memcpy(sorted, want, n * sizeof(*sorted));
	qsort(sorted, n, sizeof(*sorted), t_strcmp_ptr);
	t_assert_rc(aedb_list_projects(db, &names), 0);
	t_expect_names(names, sorted, n);
	aedb_names_free(names);
	free(sorted);
}

static void t_expect_scopes(struct aedb *db, const char *project, const char **want,
			    uint32_t n)
{
	struct aedb_names *names = NULL;
	const char **sorted = calloc(n + 1, sizeof(*sorted));

	if (n)
		memcpy(sorted, want, n * sizeof(*sorted));
	qsort(sorted, n, sizeof(*sorted), t_strcmp_ptr);
	t_assert_rc(aedb_list_scopes(db, project, &names), 0);
	t_expect_names(names, sorted, n);
	aedb_names_free(names);
	free(sorted);
}

static void test_namespace_project_create_drop(void **state)
{
	(void)state;
	for (int si = 0; si < T_NSHARD_COUNTS; si++) {
		struct aedb *db = t_open(t_shard_counts[si], NULL);
		uint64_t v0 = aedb_visible_seq(db), v1, v2;
		struct aedb_stats st;

		t_expect_projects(db, NULL, 0);
		t_assert_rc(aedb_project_exists(db, "alpha"), 0);
		t_assert_rc(aedb_create_project(db, "alpha"), 1);
		v1 = aedb_visible_seq(db);
		assert_true(v1 > v0);
		t_assert_rc(aedb_project_exists(db, "alpha"), 1);
		/* made with its scope "app" */
		t_assert_rc(aedb_scope_exists(db, "alpha", "app"), 1);
		t_expect_scopes(db, "alpha", (const char *[]){ "app" }, 1);

		/* again: 0, nothing changes, no seq */
		st = t_stats(db);
		t_assert_rc(aedb_create_project(db, "alpha"), 0);
		assert_int_equal(aedb_visible_seq(db), v1);
		assert_int_equal(t_stats(db).commits, st.commits);
		t_expect_projects(db, (const char *[]){ "alpha" }, 1);

		t_assert_rc(aedb_drop_project(db, "alpha"), 1);
		v2 = aedb_visible_seq(db);
		assert_true(v2 > v1);
		t_assert_rc(aedb_project_exists(db, "alpha"), 0);
		t_assert_rc(aedb_scope_exists(db, "alpha", "app"), 0);
		t_expect_projects(db, NULL, 0);
		/* dropping a missing project: 0 */
		t_assert_rc(aedb_drop_project(db, "alpha"), 0);
		t_assert_rc(aedb_drop_project(db, "never"), 0);
		t_assert_rc(aedb_project_exists(db, "alpha"), 0);
		/* and it can be made again */
		t_assert_rc(aedb_create_project(db, "alpha"), 1);
		t_assert_rc(aedb_scope_exists(db, "alpha", "app"), 1);
		t_close(db);
	}
}

static void test_namespace_list_sorted(void **state)
{
	const char *names[] = { "b", "B", "a", "_x", "-y", "a0", "a-", "Z9", "zz", "a_", "0",
				"9z", "A", "abc", "ab", t_name128 };
	const uint32_t n = sizeof(names) / sizeof(names[0]);
	uint64_t rng = t_seed(__func__);
	struct aedb *db = t_open(2, NULL);

	(void)state;
	/* create in a random order */
	const char *shuffled[sizeof(names) / sizeof(names[0])];

	memcpy(shuffled, names, sizeof(names));
	for (uint32_t i = n - 1; i > 0; i--) {
		uint32_t j = (uint32_t)(t_rand(&rng) % (i + 1));
		const char *tmp = shuffled[i];

		shuffled[i] = shuffled[j];
		shuffled[j] = tmp;
	}
	for (uint32_t i = 0; i < n; i++)
		t_assert_rc(aedb_create_project(db, shuffled[i]), 1);
	t_expect_projects(db, names, n);

	/* scopes of one project, "app" included */
	const char *scopes[] = { "app", "zeta", "Alpha", "_s", "-s", "apps", "ap", "s1", "s10",
				 "s2", t_name128 };
	const uint32_t ns = sizeof(scopes) / sizeof(scopes[0]);

	for (uint32_t i = ns; i-- > 1;)
		t_assert_rc(aedb_create_scope(db, "a", scopes[i]), 1);
	t_expect_scopes(db, "a", scopes, ns);
	/* other projects keep only "app" */
	t_expect_scopes(db, "b", (const char *[]){ "app" }, 1);

	/* drop a few; the rest stays sorted */
	t_assert_rc(aedb_drop_project(db, "a0"), 1);
	t_assert_rc(aedb_drop_project(db, "_x"), 1);
	t_assert_rc(aedb_drop_scope(db, "a", "s10"), 1);
	const char *left[] = { "b", "B", "a", "-y", "a-", "Z9", "zz", "a_", "0", "9z", "A",
			       "abc", "ab", t_name128 };
	t_expect_projects(db, left, sizeof(left) / sizeof(left[0]));
	const char *left_scopes[] = { "app", "zeta", "Alpha", "_s", "-s", "apps", "ap", "s1",
				      "s2", t_name128 };
	t_expect_scopes(db, "a", left_scopes, sizeof(left_scopes) / sizeof(left_scopes[0]));
	aedb_names_free(NULL);
	t_close(db);
}

/* Scope calls on a project that does not exist. */
static void t_scope_no_project(struct aedb *db)
{
	struct aedb_names *names = NULL;
	uint32_t id;

	t_assert_rc(aedb_create_scope(db, "p", "s1"), -AEDB_ENOPROJECT);
	t_assert_rc(aedb_drop_scope(db, "p", "s1"), -AEDB_ENOPROJECT);
	t_assert_rc(aedb_list_scopes(db, "p", &names), -AEDB_ENOPROJECT);
	t_assert_rc(aedb_scope_exists(db, "p", "s1"), 0);
	t_assert_rc(aedb_scope_exists(db, "p", "app"), 0);
	t_assert_rc(aedb_scope_id(db, "p", "app", &id), -AEDB_ENOPROJECT);
}

static void test_namespace_scope_lifecycle(void **state)
{
	(void)state;
	for (int si = 0; si < T_NSHARD_COUNTS; si++) {
		struct aedb *db = t_open(t_shard_counts[si], NULL);
		uint32_t id_app, id_app2, id_s1, id_s1b, id_q, id;
		uint64_t v;

		t_scope_no_project(db);
		t_assert_rc(aedb_create_project(db, "p"), 1);
		t_assert_rc(aedb_create_project(db, "q"), 1);
		t_assert_rc(aedb_scope_id(db, "p", "s1", &id), -AEDB_ENOSCOPE);
		t_assert_rc(aedb_scope_exists(db, "p", "s1"), 0);
		v = aedb_visible_seq(db);
		t_assert_rc(aedb_create_scope(db, "p", "s1"), 1);
		assert_true(aedb_visible_seq(db) > v);
		v = aedb_visible_seq(db);
		t_assert_rc(aedb_create_scope(db, "p", "s1"), 0);
		assert_int_equal(aedb_visible_seq(db), v);
		t_assert_rc(aedb_create_scope(db, "p", "app"), 0);
		t_assert_rc(aedb_scope_exists(db, "p", "s1"), 1);
		t_assert_rc(aedb_scope_exists(db, "q", "s1"), 0);
		t_expect_scopes(db, "p", (const char *[]){ "app", "s1" }, 2);

		/* ids: stable, distinct */
		t_assert_rc(aedb_scope_id(db, "p", "app", &id_app), 0);
		t_assert_rc(aedb_scope_id(db, "p", "s1", &id_s1), 0);
		t_assert_rc(aedb_scope_id(db, "q", "app", &id_q), 0);
		assert_int_not_equal(id_app, id_s1);
		assert_int_not_equal(id_app, id_q);
		assert_int_not_equal(id_s1, id_q);
		t_assert_rc(aedb_create_scope(db, "q", "other"), 1);
		t_assert_rc(aedb_scope_id(db, "p", "app", &id_app2), 0);
		assert_int_equal(id_app, id_app2);

		/* data, then drop the scope */
		t_assert_rc(aedb_kv_set(db, "p", "s1", "k", 1, "v1", 2, 0, NULL), 0);
		v = aedb_visible_seq(db);
		t_assert_rc(aedb_drop_scope(db, "p", "s1"), 1);
		assert_true(aedb_visible_seq(db) > v);
		t_assert_rc(aedb_drop_scope(db, "p", "s1"), 0);
		t_assert_rc(aedb_scope_exists(db, "p", "s1"), 0);
		t_assert_rc(aedb_scope_id(db, "p", "s1", &id), -AEDB_ENOSCOPE);
		t_expect_scopes(db, "p", (const char *[]){ "app" }, 1);
		struct aedb_kv_item *item = NULL;

		t_assert_rc(aedb_kv_get(db, "p", "s1", "k", 1, AEDB_LATEST, &item), -AEDB_ENOSCOPE);
		t_assert_rc(aedb_kv_set(db, "p", "s1", "k", 1, "v", 1, AEDB_FINALITY_VISIBLE, NULL),
			    -AEDB_ENOSCOPE);

		/* recreated: a fresh, empty scope with a new id */
		t_assert_rc(aedb_create_scope(db, "p", "s1"), 1);
		t_assert_rc(aedb_scope_id(db, "p", "s1", &id_s1b), 0);
		assert_int_not_equal(id_s1b, id_s1);
		assert_int_not_equal(id_s1b, id_app);
		assert_int_not_equal(id_s1b, id_q);
		t_assert_rc(aedb_kv_get(db, "p", "s1", "k", 1, AEDB_LATEST, &item),
			    -AEDB_ENOTFOUND);
		struct aedb_kv_page *page = NULL;

		t_assert_rc(aedb_kv_scan_prefix(db, "p", "s1", NULL, 0, 100, NULL, AEDB_LATEST,
						&page), 0);
		assert_int_equal(page->count, 0);
		assert_int_equal(page->truncated, 0);
		aedb_kv_page_free(page);
		t_expect_scopes(db, "q", (const char *[]){ "app", "other" }, 2);
		t_close(db);
	}
}

/* One SQE on a fresh ring, waited for; returns the CQE res. */
static int t_sqe_set(struct aedb *db, uint32_t ns, const char *key, const char *val)
{
	struct aedb_ring ring;
	struct aedb_cqe *cqe;
	struct aedb_sqe *sqe;
	int res;

	t_assert_rc(aedb_ring_init(db, 4, &ring, 0), 0);
	sqe = aedb_get_sqe(&ring);
	assert_non_null(sqe);
	aedb_prep_kv_set(sqe, ns, key, (uint32_t)strlen(key), val, (uint32_t)strlen(val),
			 AEDB_FINALITY_VISIBLE, NULL);
	aedb_sqe_set_data64(sqe, 0x1234);
	t_assert_rc(aedb_submit(&ring), 1);
	t_assert_rc(aedb_wait_cqe(&ring, &cqe), 0);
	assert_int_equal(cqe->user_data, 0x1234);
	res = cqe->res;
	aedb_cqe_seen(&ring, cqe);
	aedb_ring_exit(&ring);
	return res;
}

static int t_sqe_get(struct aedb *db, uint32_t ns, const char *key, char *buf, uint32_t len)
{
	struct aedb_ring ring;
	struct aedb_kv_read rd = { .buf = buf, .buf_len = len };
	struct aedb_cqe *cqe;
	struct aedb_sqe *sqe;
	int res;

	t_assert_rc(aedb_ring_init(db, 4, &ring, 0), 0);
	sqe = aedb_get_sqe(&ring);
	assert_non_null(sqe);
	aedb_prep_kv_get(sqe, ns, key, (uint32_t)strlen(key), AEDB_LATEST, &rd);
	t_assert_rc(aedb_submit(&ring), 1);
	t_assert_rc(aedb_wait_cqe(&ring, &cqe), 0);
	res = cqe->res;
	aedb_cqe_seen(&ring, cqe);
	aedb_ring_exit(&ring);
	return res;
}

/* Project "p" with scopes app, s1, s2 of 64 keys each; their ids in @ids. */
static void t_fill_project(struct aedb *db, const char *const scopes[3], uint32_t ids[3])
{
	char key[32], val[32];

	t_assert_rc(aedb_create_project(db, "p"), 1);
	t_assert_rc(aedb_create_scope(db, "p", "s1"), 1);
	t_assert_rc(aedb_create_scope(db, "p", "s2"), 1);
	for (int s = 0; s < 3; s++) {
		t_assert_rc(aedb_scope_id(db, "p", scopes[s], &ids[s]), 0);
		for (int i = 0; i < 64; i++) {
			snprintf(key, sizeof(key), "k%03d", i);
			snprintf(val, sizeof(val), "%s-%d", scopes[s], i);
			t_assert_rc(aedb_kv_set(db, "p", scopes[s], key, strlen(key), val,
						strlen(val), AEDB_FINALITY_VISIBLE, NULL), 0);
		}
	}
}

static void test_namespace_drop_project_cascades(void **state)
{
	(void)state;
	for (int si = 0; si < T_NSHARD_COUNTS; si++) {
		struct aedb *db = t_open(t_shard_counts[si], NULL);
		static const char *const scopes[] = { "app", "s1", "s2" };
		uint32_t old_ids[3], new_id;
		char buf[32];

		t_assert_rc(aedb_create_project(db, "keep"), 1);
		t_fill_project(db, scopes, old_ids);
		t_assert_rc(aedb_kv_set(db, "keep", "app", "k000", 4, "kept", 4,
					AEDB_FINALITY_VISIBLE, NULL), 0);
		t_assert_rc(t_sqe_get(db, old_ids[1], "k001", buf, sizeof(buf)), 4); /* "s1-1" */

		t_assert_rc(aedb_drop_project(db, "p"), 1);
		t_assert_rc(aedb_project_exists(db, "p"), 0);
		for (int s = 0; s < 3; s++)
			t_assert_rc(aedb_scope_exists(db, "p", scopes[s]), 0);
		struct aedb_kv_item *item = NULL;

		t_assert_rc(aedb_kv_get(db, "p", "app", "k000", 4, AEDB_LATEST, &item),
			    -AEDB_ENOPROJECT);
		t_assert_rc(aedb_kv_set(db, "p", "app", "k000", 4, "x", 1, AEDB_FINALITY_VISIBLE,
					NULL), -AEDB_ENOPROJECT);
		/* old ids are dead: reads and writes fail with -AEDB_ENOSCOPE */
		for (int s = 0; s < 3; s++) {
			t_assert_rc(t_sqe_set(db, old_ids[s], "k000", "zombie"), -AEDB_ENOSCOPE);
			t_assert_rc(t_sqe_get(db, old_ids[s], "k000", buf, sizeof(buf)),
				    -AEDB_ENOSCOPE);
		}

		/* the other project is untouched */
		t_assert_rc(aedb_kv_get(db, "keep", "app", "k000", 4, AEDB_LATEST, &item), 0);
		assert_int_equal(item->entry.val_len, 4);
		assert_memory_equal(item->entry.val, "kept", 4);
		aedb_kv_item_free(item);

		/* recreated: only "app", empty, new ids */
		t_assert_rc(aedb_create_project(db, "p"), 1);
		t_expect_scopes(db, "p", (const char *[]){ "app" }, 1);
		t_assert_rc(aedb_scope_id(db, "p", "app", &new_id), 0);
		for (int s = 0; s < 3; s++)
			assert_int_not_equal(new_id, old_ids[s]);
		item = NULL;
		t_assert_rc(aedb_kv_get(db, "p", "app", "k000", 4, AEDB_LATEST, &item),
			    -AEDB_ENOTFOUND);
		struct aedb_kv_page *page = NULL;

		t_assert_rc(aedb_kv_scan_prefix(db, "p", "app", NULL, 0, 1000, NULL, AEDB_LATEST,
						&page), 0);
		assert_int_equal(page->count, 0);
		aedb_kv_page_free(page);
		t_assert_rc(t_sqe_get(db, new_id, "k000", buf, sizeof(buf)), -AEDB_ENOTFOUND);
		t_assert_rc(t_sqe_set(db, new_id, "k000", "new"), 0);
		t_assert_rc(t_sqe_get(db, new_id, "k000", buf, sizeof(buf)), 3);
		/* writes through a dead id still fail after the name is reused */
		t_assert_rc(t_sqe_set(db, old_ids[0], "k000", "zombie"), -AEDB_ENOSCOPE);
		t_close(db);
	}
}

/* Same key in different projects and scopes: independent values. */
static void test_namespace_isolation(void **state)
{
	const char *proj[] = { "p1", "p2" };
	const char *scope[] = { "app", "s" };
	char val[16];

	(void)state;
	for (int si = 0; si < T_NSHARD_COUNTS; si++) {
		struct aedb *db = t_open(t_shard_counts[si], NULL);

		for (int p = 0; p < 2; p++) {
			t_assert_rc(aedb_create_project(db, proj[p]), 1);
			t_assert_rc(aedb_create_scope(db, proj[p], "s"), 1);
		}
		for (int p = 0; p < 2; p++)
			for (int s = 0; s < 2; s++) {
				snprintf(val, sizeof(val), "%d%d", p, s);
				t_assert_rc(aedb_kv_set(db, proj[p], scope[s], "key", 3, val, 2,
							AEDB_FINALITY_VISIBLE, NULL), 0);
			}
		t_assert_rc(aedb_kv_del(db, "p2", "s", "key", 3, AEDB_FINALITY_VISIBLE, NULL), 0);
		for (int p = 0; p < 2; p++)
			for (int s = 0; s < 2; s++) {
				struct aedb_kv_item *item = NULL;
				struct aedb_kv_page *page = NULL;
				int rc = aedb_kv_get(db, proj[p], scope[s], "key", 3, AEDB_LATEST,
						     &item);

				if (p == 1 && s == 1) {
					t_assert_rc(rc, -AEDB_ENOTFOUND);
				} else {
					t_assert_rc(rc, 0);
					snprintf(val, sizeof(val), "%d%d", p, s);
					assert_memory_equal(item->entry.val, val, 2);
					aedb_kv_item_free(item);
				}
				rc = aedb_kv_scan_prefix(db, proj[p], scope[s], NULL, 0, 10, NULL,
							 AEDB_LATEST, &page);
				t_assert_rc(rc, (p == 1 && s == 1) ? 0 : 1);
				assert_int_equal(page->count, (uint32_t)rc);
				aedb_kv_page_free(page);
			}
		t_close(db);
	}
}

/* A scope that did not exist at the snapshot: -AEDB_ENOSCOPE. */
static void test_namespace_scope_absent_at_snapshot(void **state)
{
	struct aedb *db = t_open(2, NULL);
	struct aedb_kv_item *item = NULL;
	struct aedb_kv_page *page = NULL;
	uint64_t before;

	(void)state;
	t_assert_rc(aedb_create_project(db, "p"), 1);
	t_assert_rc(aedb_kv_set(db, "p", "app", "k", 1, "a", 1, AEDB_FINALITY_VISIBLE, NULL), 0);
	before = aedb_visible_seq(db);
	t_assert_rc(aedb_create_scope(db, "p", "late"), 1);
	/* the DDL took exactly one seq; from it on, the scope exists (empty) */
	uint64_t created = aedb_visible_seq(db);

	assert_int_equal(created, before + 1);
	t_assert_rc(aedb_kv_get(db, "p", "late", "k", 1, AEDB_SEQ(created), &item),
		    -AEDB_ENOTFOUND);
	t_assert_rc(aedb_kv_set(db, "p", "late", "k", 1, "b", 1, AEDB_FINALITY_VISIBLE, NULL), 0);
	t_assert_rc(aedb_kv_get(db, "p", "late", "k", 1, AEDB_LATEST, &item), 0);
	aedb_kv_item_free(item);
	item = NULL;
	t_assert_rc(aedb_kv_get(db, "p", "late", "k", 1, AEDB_SEQ(before), &item),
		    -AEDB_ENOSCOPE);
	t_assert_rc(aedb_kv_scan_prefix(db, "p", "late", NULL, 0, 10, NULL, AEDB_SEQ(before),
					&page), -AEDB_ENOSCOPE);
	/* the older scope reads fine at that seq */
	t_assert_rc(aedb_kv_get(db, "p", "app", "k", 1, AEDB_SEQ(before), &item), 0);
	aedb_kv_item_free(item);
	t_close(db);
}

enum t_call {
	T_CREATE_PROJECT,
	T_DROP_PROJECT,
	T_PROJECT_EXISTS,
	T_LIST_SCOPES,
	T_CREATE_SCOPE,
	T_DROP_SCOPE,
	T_SCOPE_EXISTS,
	T_SCOPE_ID,
	T_KV_SET,
	T_KV_DEL,
	T_KV_GET,
	T_KV_GET_MANY,
	T_KV_SCAN_PREFIX,
	T_KV_SCAN_RANGE,
	T_NCALLS
};

static const char *const t_call_names[T_NCALLS] = {
	"create_project", "drop_project", "project_exists", "list_scopes", "create_scope",
	"drop_scope", "scope_exists", "scope_id", "kv_set", "kv_del", "kv_get",
	"kv_get_many", "kv_scan_prefix", "kv_scan_range",
};

/* Calls that take a scope name. */
static bool t_call_has_scope(enum t_call c)
{
	return c >= T_CREATE_SCOPE;
}

/* Make call @c with otherwise valid arguments; free what it returns. */
static int t_call(struct aedb *db, enum t_call c, const char *p, const char *s)
{
	struct aedb_names *names = NULL;
	struct aedb_kv_item *item = NULL;
	struct aedb_kv_batch *batch = NULL;
	struct aedb_kv_page *page = NULL;
	struct aedb_key keys[1] = { { "k", 1 } };
	uint32_t id;
	int rc = -1;

	switch (c) {
	case T_CREATE_PROJECT: rc = aedb_create_project(db, p); break;
	case T_DROP_PROJECT: rc = aedb_drop_project(db, p); break;
	case T_PROJECT_EXISTS: rc = aedb_project_exists(db, p); break;
	case T_LIST_SCOPES: rc = aedb_list_scopes(db, p, &names); break;
	case T_CREATE_SCOPE: rc = aedb_create_scope(db, p, s); break;
	case T_DROP_SCOPE: rc = aedb_drop_scope(db, p, s); break;
	case T_SCOPE_EXISTS: rc = aedb_scope_exists(db, p, s); break;
	case T_SCOPE_ID: rc = aedb_scope_id(db, p, s, &id); break;
	case T_KV_SET:
		rc = aedb_kv_set(db, p, s, "k", 1, "v", 1, AEDB_FINALITY_VISIBLE, NULL);
		break;
	case T_KV_DEL: rc = aedb_kv_del(db, p, s, "k", 1, AEDB_FINALITY_VISIBLE, NULL); break;
	case T_KV_GET: rc = aedb_kv_get(db, p, s, "k", 1, AEDB_LATEST, &item); break;
	case T_KV_GET_MANY: rc = aedb_kv_get_many(db, p, s, keys, 1, AEDB_LATEST, &batch); break;
	case T_KV_SCAN_PREFIX:
		rc = aedb_kv_scan_prefix(db, p, s, "k", 1, 10, NULL, AEDB_LATEST, &page);
		break;
	case T_KV_SCAN_RANGE:
		rc = aedb_kv_scan_range(db, p, s, NULL, NULL, 10, NULL, AEDB_LATEST, &page);
		break;
	default: break;
	}
	if (rc >= 0) {
		aedb_names_free(names);
		if (item)
			aedb_kv_item_free(item);
		if (batch)
			aedb_kv_batch_free(batch);
		if (page)
			aedb_kv_page_free(page);
	}
	return rc;
}

static void t_expect_call(struct aedb *db, enum t_call c, const char *p, const char *s,
			  int want)
{
	int rc = t_call(db, c, p, s);

	if (rc != want)
		fail_msg("%s(\"%s\", \"%s\") -> %d (%s), want %d (%s)", t_call_names[c], p,
			 s ? s : "-", rc, aedb_strerror(rc), want, aedb_strerror(want));
}

static const char *const t_bad_names[] = {
	"", ".", "..", " ", "::", "a b", " a", "a ", "a.b", "a/b", "a\\b", "a:b", "caf\xc3\xa9",
	"\xff", "\x7f", "a\tb", "a\nb", "a*", "a@b", "a+b", "(a)", "\xc3\xa9t\xc3\xa9", NULL,
};

/* Names at the edges of the rules that must work. */
static void t_good_names(struct aedb *db)
{
	struct aedb_kv_item *item = NULL;

	/* 128 bytes is fine for projects and scopes, KV included */
	t_assert_rc(aedb_create_project(db, t_name128), 1);
	t_assert_rc(aedb_create_scope(db, t_name128, t_name128), 1);
	t_assert_rc(aedb_kv_set(db, t_name128, t_name128, "k", 1, "v", 1, 0, NULL), 0);
	t_assert_rc(aedb_kv_get(db, t_name128, t_name128, "k", 1, AEDB_LATEST, &item), 0);
	aedb_kv_item_free(item);
	/* every allowed character class */
	t_assert_rc(aedb_create_project(db, "AZaz09_-"), 1);
	t_assert_rc(aedb_create_scope(db, "AZaz09_-", "-_90zaZA"), 1);
	t_assert_rc(aedb_project_exists(db, "AZaz09_-"), 1);
	/* names are case-sensitive */
	t_assert_rc(aedb_project_exists(db, "azaz09_-"), 0);
	t_assert_rc(aedb_create_project(db, "P"), 1);
}

static void test_namespace_bad_names_rejected(void **state)
{
	struct aedb *db = t_open(2, NULL);
	struct aedb_names *before = NULL, *after = NULL;
	uint64_t v;
	char *long_name = malloc(1001);

	(void)state;
	memset(long_name, 'x', 1000);
	long_name[1000] = 0;
	t_assert_rc(aedb_create_project(db, "p"), 1);
	t_assert_rc(aedb_kv_set(db, "p", "app", "k", 1, "v0", 2, AEDB_FINALITY_VISIBLE, NULL), 0);
	v = aedb_visible_seq(db);
	t_assert_rc(aedb_list_projects(db, &before), 0);

	for (int c = 0; c < T_NCALLS; c++) {
		const char *bad[sizeof(t_bad_names) / sizeof(t_bad_names[0]) + 2];
		int nb = 0;

		for (int i = 0; t_bad_names[i]; i++)
			bad[nb++] = t_bad_names[i];
		bad[nb++] = t_name129;
		bad[nb++] = long_name;
		for (int i = 0; i < nb; i++) {
			/* bad project name */
			t_expect_call(db, (enum t_call)c, bad[i], "app", -AEDB_ENAME);
			/* bad scope name in an existing project */
			if (t_call_has_scope((enum t_call)c))
				t_expect_call(db, (enum t_call)c, "p", bad[i], -AEDB_ENAME);
		}
		/* the reserved project */
		int rc = t_call(db, (enum t_call)c, "_system", "app");

		if (c == T_PROJECT_EXISTS || c == T_SCOPE_EXISTS) {
			if (rc != 0 && rc != -AEDB_ERESERVED)
				fail_msg("%s(_system) -> %d (%s)", t_call_names[c], rc,
					 aedb_strerror(rc));
		} else {
			t_expect_call(db, (enum t_call)c, "_system", "app", -AEDB_ERESERVED);
		}
	}
	/* nothing changed */
	assert_int_equal(aedb_visible_seq(db), v);
	t_assert_rc(aedb_list_projects(db, &after), 0);
	assert_int_equal(after->count, before->count);
	assert_int_equal(after->count, 1);
	assert_string_equal(after->names[0], "p");
	aedb_names_free(before);
	aedb_names_free(after);
	t_expect_scopes(db, "p", (const char *[]){ "app" }, 1);
	struct aedb_kv_item *item = NULL;

	t_assert_rc(aedb_kv_get(db, "p", "app", "k", 1, AEDB_LATEST, &item), 0);
	assert_int_equal(item->entry.val_len, 2);
	assert_memory_equal(item->entry.val, "v0", 2);
	aedb_kv_item_free(item);
	t_good_names(db);
	free(long_name);
	t_close(db);
}

/* Missing project and scope on every call that takes them. */
static void test_namespace_missing_project_scope(void **state)
{
	struct aedb *db = t_open(2, NULL);
	uint64_t v;

	(void)state;
	t_assert_rc(aedb_create_project(db, "p"), 1);
	v = aedb_visible_seq(db);
	for (int c = T_LIST_SCOPES; c < T_NCALLS; c++) {
		if (c == T_SCOPE_EXISTS) {
			t_expect_call(db, (enum t_call)c, "nope", "app", 0);
			t_expect_call(db, (enum t_call)c, "p", "nope", 0);
			continue;
		}
		t_expect_call(db, (enum t_call)c, "nope", "app", -AEDB_ENOPROJECT);
		if (c >= T_SCOPE_ID)
			t_expect_call(db, (enum t_call)c, "p", "nope", -AEDB_ENOSCOPE);
	}
	assert_int_equal(aedb_visible_seq(db), v);
	t_assert_rc(aedb_project_exists(db, "nope"), 0);
	t_assert_rc(aedb_scope_exists(db, "p", "nope"), 0);
	t_close(db);
}

static void test_namespace_null_arguments(void **state)
{
	struct aedb *db = t_open(1, NULL);
	struct aedb_names *names = NULL;
	uint32_t id;

	(void)state;
	t_assert_rc(aedb_create_project(db, "p"), 1);
	t_assert_rc(aedb_create_project(NULL, "p"), -AEDB_EMISUSE);
	t_assert_rc(aedb_create_project(db, NULL), -AEDB_EMISUSE);
	t_assert_rc(aedb_drop_project(NULL, "p"), -AEDB_EMISUSE);
	t_assert_rc(aedb_drop_project(db, NULL), -AEDB_EMISUSE);
	t_assert_rc(aedb_project_exists(NULL, "p"), -AEDB_EMISUSE);
	t_assert_rc(aedb_project_exists(db, NULL), -AEDB_EMISUSE);
	t_assert_rc(aedb_create_scope(NULL, "p", "s"), -AEDB_EMISUSE);
	t_assert_rc(aedb_create_scope(db, NULL, "s"), -AEDB_EMISUSE);
	t_assert_rc(aedb_create_scope(db, "p", NULL), -AEDB_EMISUSE);
	t_assert_rc(aedb_drop_scope(NULL, "p", "app"), -AEDB_EMISUSE);
	t_assert_rc(aedb_drop_scope(db, NULL, "app"), -AEDB_EMISUSE);
	t_assert_rc(aedb_drop_scope(db, "p", NULL), -AEDB_EMISUSE);
	t_assert_rc(aedb_scope_exists(NULL, "p", "app"), -AEDB_EMISUSE);
	t_assert_rc(aedb_scope_exists(db, NULL, "app"), -AEDB_EMISUSE);
	t_assert_rc(aedb_scope_exists(db, "p", NULL), -AEDB_EMISUSE);
	t_assert_rc(aedb_list_projects(NULL, &names), -AEDB_EMISUSE);
	t_assert_rc(aedb_list_projects(db, NULL), -AEDB_EMISUSE);
	t_assert_rc(aedb_list_scopes(NULL, "p", &names), -AEDB_EMISUSE);
	t_assert_rc(aedb_list_scopes(db, NULL, &names), -AEDB_EMISUSE);
	t_assert_rc(aedb_list_scopes(db, "p", NULL), -AEDB_EMISUSE);
	t_assert_rc(aedb_scope_id(NULL, "p", "app", &id), -AEDB_EMISUSE);
	t_assert_rc(aedb_scope_id(db, NULL, "app", &id), -AEDB_EMISUSE);
	t_assert_rc(aedb_scope_id(db, "p", NULL, &id), -AEDB_EMISUSE);
	t_assert_rc(aedb_scope_id(db, "p", "app", NULL), -AEDB_EMISUSE);
	/* still intact */
	t_assert_rc(aedb_project_exists(db, "p"), 1);
	t_assert_rc(aedb_scope_exists(db, "p", "app"), 1);
	t_close(db);
}

struct t_race {
	struct aedb *db;
	const char *name;
	int rc;
};

static void *t_race_create(void *arg)
{
	struct t_race *r = arg;

	r->rc = aedb_create_project(r->db, r->name);
	return NULL;
}

/* Concurrent creates of one name: exactly one wins. Distinct names: all win. */
static void test_namespace_concurrent_create(void **state)
{
	enum { N = 8 };
	static const char *const distinct[N] = { "d0", "d1", "d2", "d3", "d4", "d5", "d6", "d7" };

	(void)state;
	for (int si = 0; si < T_NSHARD_COUNTS; si++) {
		struct aedb *db = t_open(t_shard_counts[si], NULL);

		for (int round = 0; round < 2; round++) {
			pthread_t th[N];
			struct t_race r[N];
			int created = 0;

			for (int i = 0; i < N; i++) {
				r[i] = (struct t_race){ db, round ? distinct[i] : "same", -1 };
				assert_int_equal(pthread_create(&th[i], NULL, t_race_create, &r[i]),
						 0);
			}
			for (int i = 0; i < N; i++) {
				pthread_join(th[i], NULL);
				if (r[i].rc < 0)
					fail_msg("create_project: %s", aedb_strerror(r[i].rc));
				created += r[i].rc;
			}
			assert_int_equal(created, round ? N : 1);
		}
		struct aedb_names *names = NULL;

		t_assert_rc(aedb_list_projects(db, &names), 0);
		assert_int_equal(names->count, N + 1);
		aedb_names_free(names);
		t_close(db);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_namespace_project_create_drop),
		cmocka_unit_test(test_namespace_list_sorted),
		cmocka_unit_test(test_namespace_scope_lifecycle),
		cmocka_unit_test(test_namespace_drop_project_cascades),
		cmocka_unit_test(test_namespace_isolation),
		cmocka_unit_test(test_namespace_scope_absent_at_snapshot),
		cmocka_unit_test(test_namespace_bad_names_rejected),
		cmocka_unit_test(test_namespace_missing_project_scope),
		cmocka_unit_test(test_namespace_null_arguments),
		cmocka_unit_test(test_namespace_concurrent_create),
	};

	t_names_init();
	t_require_engine();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
