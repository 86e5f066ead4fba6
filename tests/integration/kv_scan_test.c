/* SPDX-License-Identifier: MIT */
/*
 * kv_scan_test - prefix and range scans: unsigned bytewise order across all
 * shards, bounds, pagination with cursors at a stable snapshot, truncation,
 * clamping to max_scan_rows, argument checks. Checked against a sorted model.
 */
#include "it_common.h"

#include <stdlib.h>
#include <string.h>

#define T_KEY_MAX 12

struct t_ment {
	uint8_t key[T_KEY_MAX];
	uint32_t key_len;
	uint8_t val[16];
	uint32_t val_len;
	bool live;
	uint64_t version;
	uint64_t created;
};

struct t_model {
	struct t_ment *e; /* sorted by key, unique */
	uint32_t n;
};

static int t_ment_cmp(const void *a, const void *b)
{
	const struct t_ment *x = a, *y = b;

	return t_keycmp(x->key, x->key_len, y->key, y->key_len);
}

/* Bytes that make shared prefixes likely, and hit the signedness traps. */
static const uint8_t t_alpha[] = { 0x00, 0x01, 'a', 'b', 0x7f, 0x80, 0xfe, 0xff };

/* @n unique random keys (the empty key among them), sorted, none written yet. */
static struct t_model t_model_make(uint32_t n, uint64_t *rng)
{
	struct t_model m;
	uint32_t got = 0;

	m.e = calloc(n + 1, sizeof(*m.e));
	assert_non_null(m.e);
	m.e[got++].key_len = 0;
	while (got < n) {
		struct t_ment *e = &m.e[got];

		e->key_len = 1 + (uint32_t)(t_rand(rng) % T_KEY_MAX);
		for (uint32_t i = 0; i < e->key_len; i++) {
			uint64_t r = t_rand(rng);

			e->key[i] = (r & 3) ? t_alpha[(r >> 8) % sizeof(t_alpha)]
					    : (uint8_t)(r >> 16);
		}
		got++;
		if (got == n) {
			/* sort and drop duplicates; top up if any were dropped */
			qsort(m.e, got, sizeof(*m.e), t_ment_cmp);
			uint32_t w = 1;

			for (uint32_t r = 1; r < got; r++) {
				if (t_ment_cmp(&m.e[r], &m.e[w - 1]) != 0)
					m.e[w++] = m.e[r];
			}
			got = w;
		}
	}
	m.n = n;
	return m;
}

static void t_model_set(struct aedb *db, struct t_model *m, uint32_t i, uint64_t *rng)
{
	struct t_ment *e = &m->e[i];
	uint64_t seq;

	e->val_len = (uint32_t)(t_rand(rng) % sizeof(e->val));
	for (uint32_t b = 0; b < e->val_len; b++)
		e->val[b] = (uint8_t)t_rand(rng);
	seq = t_set(db, e->key, e->key_len, e->val, e->val_len);
	if (!e->live)
		e->created = seq;
	e->live = true;
	e->version = seq;
}

static void t_model_del(struct aedb *db, struct t_model *m, uint32_t i)
{
	t_del(db, m->e[i].key, m->e[i].key_len);
	m->e[i].live = false;
}

/* Write every key of @m in a random order, then delete about 1 in 10. */
static void t_model_load(struct aedb *db, struct t_model *m, uint64_t *rng)
{
	uint32_t *order = malloc(m->n * sizeof(*order));

	for (uint32_t i = 0; i < m->n; i++)
		order[i] = i;
	for (uint32_t i = m->n - 1; i > 0; i--) {
		uint32_t j = (uint32_t)(t_rand(rng) % (i + 1));
		uint32_t t = order[i];

		order[i] = order[j];
		order[j] = t;
	}
	for (uint32_t i = 0; i < m->n; i++)
		t_model_set(db, m, order[i], rng);
	for (uint32_t i = 0; i < m->n; i++)
		if (t_rand(rng) % 10 == 0)
			t_model_del(db, m, i);
	free(order);
}

/* A scan request: a prefix, or a range (bounds may be NULL). */
struct t_query {
	bool is_prefix;
	const void *prefix;
	uint32_t prefix_len;
	const struct aedb_kv_bound *start;
	const struct aedb_kv_bound *end;
};

static bool t_bound_ok(const struct aedb_kv_bound *b, const struct t_ment *e, bool is_start)
{
	int c;

	if (!b || b->kind == AEDB_BOUND_UNBOUNDED)
		return true;
	c = t_keycmp(e->key, e->key_len, b->key, b->len);
	if (!is_start)
		c = -c;
	return b->kind == AEDB_BOUND_INCLUDED ? c >= 0 : c > 0;
}

static bool t_query_match(const struct t_query *q, const struct t_ment *e)
{
	if (q->is_prefix)
		return e->key_len >= q->prefix_len &&
		       (q->prefix_len == 0 || memcmp(e->key, q->prefix, q->prefix_len) == 0);
	return t_bound_ok(q->start, e, true) && t_bound_ok(q->end, e, false);
}

static int t_scan(struct aedb *db, const struct t_query *q, uint32_t limit,
		  const struct aedb_kv_cursor *cur, struct aedb_at at, struct aedb_kv_page **out)
{
	if (q->is_prefix)
		return aedb_kv_scan_prefix(db, T_P, T_S, q->prefix, q->prefix_len, limit, cur, at,
					   out);
	return aedb_kv_scan_range(db, T_P, T_S, q->start, q->end, limit, cur, at, out);
}

static void t_expect_entry(const struct aedb_kv_entry *got, const struct t_ment *want,
			   uint64_t snap)
{
	if (got->key_len != want->key_len ||
	    (want->key_len && memcmp(got->key, want->key, want->key_len) != 0)) {
		fail_msg("scan key mismatch: got len %u, want len %u", got->key_len,
			 want->key_len);
	}
	assert_int_equal(got->val_len, want->val_len);
	if (want->val_len)
		assert_memory_equal(got->val, want->val, want->val_len);
	assert_int_equal(got->version, want->version);
	assert_int_equal(got->created_seq, want->created);
	assert_true(got->version <= snap);
}

/*
 * Page through @q with @limit (and the row cap @rows_max) and compare with the
 * live entries of @m that match. @copy_cursor: copy the cursor and free the
 * page before the next call. Returns the number of pages.
 */
static uint32_t t_check_scan(struct aedb *db, const struct t_model *m, const struct t_query *q,
			     uint32_t limit, uint32_t rows_max, bool copy_cursor)
{
	uint32_t *want = malloc((m->n + 1) * sizeof(*want));
	uint32_t nwant = 0, pos = 0, pages = 0;
	uint32_t cap = limit < rows_max ? limit : rows_max;
	struct aedb_kv_page *prev = NULL;
	struct aedb_kv_cursor cur;
	uint8_t curkey[T_KEY_MAX + 1];
	uint64_t snap = 0;

	for (uint32_t i = 0; i < m->n; i++)
		if (m->e[i].live && t_query_match(q, &m->e[i]))
			want[nwant++] = i;
	for (;;) {
		struct aedb_kv_page *page = NULL;
		const struct aedb_kv_cursor *cp = NULL;
		int rc;

		if (pages > 0)
			cp = copy_cursor ? &cur : &prev->cursor;
		rc = t_scan(db, q, limit, cp, AEDB_LATEST, &page);
		if (rc < 0)
			fail_msg("scan page %u: %d (%s)", pages, rc, aedb_strerror(rc));
		assert_non_null(page);
		assert_int_equal((uint32_t)rc, page->count);
		if (pages == 0) {
			snap = page->snapshot_seq;
			assert_true(snap <= aedb_visible_seq(db));
		} else {
			/* the cursor fixes the snapshot */
			assert_int_equal(page->snapshot_seq, snap);
		}
		if (prev) {
			aedb_kv_page_free(prev);
			prev = NULL;
		}
		assert_true(page->count <= cap);
		assert_true(pos + page->count <= nwant);
		for (uint32_t i = 0; i < page->count; i++)
			t_expect_entry(&page->entries[i], &m->e[want[pos + i]], snap);
		pos += page->count;
		pages++;
		/* truncated is exactly "more entries match" */
		assert_int_equal(page->truncated, pos < nwant ? 1 : 0);
		if (!page->truncated) {
			aedb_kv_page_free(page);
			break;
		}
		assert_true(page->count > 0);
		assert_int_equal(page->cursor.snapshot_seq, snap);
		assert_int_equal(page->cursor.last_key_len, page->entries[page->count - 1].key_len);
		if (copy_cursor) {
			cur = page->cursor;
			memcpy(curkey, page->cursor.last_key, page->cursor.last_key_len);
			cur.last_key = curkey;
			aedb_kv_page_free(page);
		} else {
			prev = page;
		}
	}
	assert_int_equal(pos, nwant);
	free(want);
	return pages;
}

static void t_random_key(uint8_t *key, uint32_t *len, const struct t_model *m, uint64_t *rng)
{
	uint64_t r = t_rand(rng);

	if (r % 3 == 0) {
		/* an existing key (or a prefix of one) */
		const struct t_ment *e = &m->e[(r >> 8) % m->n];

		*len = e->key_len ? (uint32_t)((r >> 32) % (e->key_len + 1)) : 0;
		if (r & 0x10)
			*len = e->key_len;
		memcpy(key, e->key, *len);
		return;
	}
	*len = (uint32_t)(t_rand(rng) % 5);
	for (uint32_t i = 0; i < *len; i++)
		key[i] = t_alpha[t_rand(rng) % sizeof(t_alpha)];
}

static void t_random_queries(struct aedb *db, const struct t_model *m, uint64_t *rng,
			     int nprefix, int nrange)
{
	uint8_t a[T_KEY_MAX], b[T_KEY_MAX];
	uint32_t alen, blen;

	for (int i = 0; i < nprefix; i++) {
		struct t_query q = { .is_prefix = true };
		uint32_t limit = 1 + (uint32_t)(t_rand(rng) % 600);

		t_random_key(a, &alen, m, rng);
		if (alen > 3)
			alen = 3;
		q.prefix = alen ? a : NULL;
		q.prefix_len = alen;
		t_check_scan(db, m, &q, limit, 10000, i & 1);
	}
	for (int i = 0; i < nrange; i++) {
		struct aedb_kv_bound s, e;
		struct t_query q = { .is_prefix = false };
		uint32_t limit = 1 + (uint32_t)(t_rand(rng) % 800);

		t_random_key(a, &alen, m, rng);
		t_random_key(b, &blen, m, rng);
		/* mostly start <= end, sometimes an inverted (empty) range */
		if (t_keycmp(a, alen, b, blen) > 0 && t_rand(rng) % 4) {
			s = (struct aedb_kv_bound){ b, blen, 0 };
			e = (struct aedb_kv_bound){ a, alen, 0 };
		} else {
			s = (struct aedb_kv_bound){ a, alen, 0 };
			e = (struct aedb_kv_bound){ b, blen, 0 };
		}
		s.kind = (uint32_t)(t_rand(rng) % 3);
		e.kind = (uint32_t)(t_rand(rng) % 3);
		q.start = (t_rand(rng) % 5) ? &s : NULL;
		q.end = (t_rand(rng) % 5) ? &e : NULL;
		t_check_scan(db, m, &q, limit, 10000, i & 1);
	}
}

/* Many random keys across 1..8 shards: every scan equals the sorted model. */
static void test_kv_scan_order_across_shards(void **state)
{
	uint64_t seed = t_seed(__func__);

	(void)state;
	for (int si = 0; si < T_NSHARD_COUNTS; si++) {
		uint32_t shards = t_shard_counts[si];
		uint32_t nkeys = shards >= 4 ? 10000 : 3000;
		uint64_t rng = seed ^ shards;
		struct aedb *db = t_open_p(shards, NULL);
		struct t_model m = t_model_make(nkeys, &rng);
		struct t_query all = { .is_prefix = true };
		struct t_query all_range = { .is_prefix = false };

		t_model_load(db, &m, &rng);
		/* the whole scope: one page, then pages of several sizes */
		assert_int_equal(t_check_scan(db, &m, &all, 10000, 10000, false), 1);
		t_check_scan(db, &m, &all, 997, 10000, false);
		t_check_scan(db, &m, &all_range, 64, 10000, true);
		t_random_queries(db, &m, &rng, 30, 50);

		/* churn, then check again */
		for (uint32_t i = 0; i < nkeys / 10; i++) {
			uint32_t k = (uint32_t)(t_rand(&rng) % m.n);

			if (t_rand(&rng) % 3 == 0)
				t_model_del(db, &m, k);
			else
				t_model_set(db, &m, k, &rng);
		}
		t_check_scan(db, &m, &all, 4999, 10000, true);
		t_random_queries(db, &m, &rng, 10, 20);
		free(m.e);
		t_close(db);
	}
}

static void t_scan_keys(struct aedb *db, const void *prefix, size_t plen,
			const char *const *want, uint32_t n)
{
	struct aedb_kv_page *page = NULL;

	t_assert_rc(aedb_kv_scan_prefix(db, T_P, T_S, prefix, plen, 1000, NULL, AEDB_LATEST,
					&page), (int)n);
	assert_int_equal(page->count, n);
	assert_int_equal(page->truncated, 0);
	for (uint32_t i = 0; i < n; i++) {
		assert_int_equal(page->entries[i].key_len, strlen(want[i]));
		assert_memory_equal(page->entries[i].key, want[i], strlen(want[i]));
	}
	aedb_kv_page_free(page);
}

static void test_kv_scan_bytewise_order(void **state)
{
	static const char *const users[] = { "user:3", "user:20", "user:1", "user:2", "user:10",
					     "user:", "user:100", "usex", "use" };
	static const char *const want[] = { "user:", "user:1", "user:10", "user:100", "user:2",
					    "user:20", "user:3" };

	(void)state;
	for (int si = 0; si < T_NSHARD_COUNTS; si++) {
		struct aedb *db = t_open_p(t_shard_counts[si], NULL);

		for (size_t i = 0; i < sizeof(users) / sizeof(users[0]); i++)
			t_sets(db, users[i], "v");
		t_scan_keys(db, "user:", 5, want, 7);
		t_scan_keys(db, "user:1", 6,
			    (const char *const[]){ "user:1", "user:10", "user:100" }, 3);
		t_scan_keys(db, "user:100", 8, (const char *const[]){ "user:100" }, 1);
		t_scan_keys(db, "user:1000", 9, NULL, 0);
		t_scan_keys(db, "zzz", 3, NULL, 0);

		/* high bytes sort after low ones (unsigned), shorter prefix first */
		t_set(db, "\x80", 1, "v", 1);
		t_set(db, "\x7f", 1, "v", 1);
		t_set(db, "\xff", 1, "v", 1);
		t_set(db, "\xff\x00", 2, "v", 1);
		t_set(db, "", 0, "v", 1);
		t_set(db, "\x00", 1, "v", 1);
		struct aedb_kv_page *page = NULL;

		t_assert_rc(aedb_kv_scan_range(db, T_P, T_S, NULL, NULL, 100, NULL, AEDB_LATEST,
					       &page), 15);
		assert_int_equal(page->entries[0].key_len, 0);
		assert_int_equal(page->entries[1].key_len, 1);
		assert_int_equal(page->entries[1].key[0], 0x00);
		assert_int_equal(page->entries[2].key[0], 'u');
		assert_int_equal(page->entries[10].key_len, 4); /* "usex" */
		assert_int_equal(page->entries[11].key[0], 0x7f);
		assert_int_equal(page->entries[12].key[0], 0x80);
		assert_int_equal(page->entries[13].key_len, 1);
		assert_int_equal(page->entries[13].key[0], 0xff);
		assert_int_equal(page->entries[14].key_len, 2);
		for (uint32_t i = 1; i < page->count; i++)
			assert_true(t_keycmp(page->entries[i - 1].key, page->entries[i - 1].key_len,
					     page->entries[i].key, page->entries[i].key_len) < 0);
		aedb_kv_page_free(page);
		/* a prefix of high bytes */
		t_assert_rc(aedb_kv_scan_prefix(db, T_P, T_S, "\xff", 1, 100, NULL, AEDB_LATEST,
						&page), 2);
		aedb_kv_page_free(page);
		t_close(db);
	}
}

static int t_range(struct aedb *db, const char *s, uint32_t sk, const char *e, uint32_t ek,
		   uint32_t *first, uint32_t *last)
{
	struct aedb_kv_bound bs = { s, s ? (uint32_t)strlen(s) : 0, sk };
	struct aedb_kv_bound be = { e, e ? (uint32_t)strlen(e) : 0, ek };
	struct aedb_kv_page *page = NULL;
	int rc = aedb_kv_scan_range(db, T_P, T_S, &bs, &be, 100, NULL, AEDB_LATEST, &page);

	assert_true(rc >= 0);
	assert_int_equal(page->truncated, 0);
	if (rc > 0) {
		char buf[8] = { 0 };

		assert_int_equal(page->entries[0].key_len, 3);
		memcpy(buf, page->entries[0].key + 1, 2);
		*first = (uint32_t)atoi(buf);
		assert_int_equal(page->entries[rc - 1].key_len, 3);
		memcpy(buf, page->entries[rc - 1].key + 1, 2);
		*last = (uint32_t)atoi(buf);
	}
	aedb_kv_page_free(page);
	return rc;
}

/* The empty key as a bound, included and excluded (k10..k59 also present). */
static void t_empty_key_bounds(struct aedb *db)
{
	struct aedb_kv_page *page = NULL;
	struct aedb_kv_bound ei = { "", 0, AEDB_BOUND_INCLUDED };
	struct aedb_kv_bound ee = { NULL, 0, AEDB_BOUND_EXCLUDED };

	t_set(db, "", 0, "empty", 5);

	t_assert_rc(aedb_kv_scan_range(db, T_P, T_S, &ei, NULL, 100, NULL, AEDB_LATEST,
				       &page), 51);
	assert_int_equal(page->entries[0].key_len, 0);
	aedb_kv_page_free(page);
	t_assert_rc(aedb_kv_scan_range(db, T_P, T_S, &ee, NULL, 100, NULL, AEDB_LATEST,
				       &page), 50);
	assert_int_equal(page->entries[0].key_len, 3);
	aedb_kv_page_free(page);
	t_assert_rc(aedb_kv_scan_range(db, T_P, T_S, NULL, &ei, 100, NULL, AEDB_LATEST,
				       &page), 1);
	aedb_kv_page_free(page);
	t_assert_rc(aedb_kv_scan_range(db, T_P, T_S, NULL, &ee, 100, NULL, AEDB_LATEST,
				       &page), 0);
	aedb_kv_page_free(page);
}

/* Included, excluded and unbounded ends on keys k10..k59. */
static void test_kv_scan_range_bounds(void **state)
{
	enum { INC = AEDB_BOUND_INCLUDED, EXC = AEDB_BOUND_EXCLUDED, UNB = AEDB_BOUND_UNBOUNDED };
	char key[8];

	(void)state;
	for (int si = 0; si < T_NSHARD_COUNTS; si++) {
		struct aedb *db = t_open_p(t_shard_counts[si], NULL);
		uint32_t f = 0, l = 0;

		for (int i = 10; i < 60; i++) {
			snprintf(key, sizeof(key), "k%d", i);
			t_sets(db, key, key);
		}
		assert_int_equal(t_range(db, "k20", INC, "k30", INC, &f, &l), 11);
		assert_int_equal(f, 20);
		assert_int_equal(l, 30);
		assert_int_equal(t_range(db, "k20", EXC, "k30", INC, &f, &l), 10);
		assert_int_equal(f, 21);
		assert_int_equal(t_range(db, "k20", INC, "k30", EXC, &f, &l), 10);
		assert_int_equal(l, 29);
		assert_int_equal(t_range(db, "k20", EXC, "k30", EXC, &f, &l), 9);
		assert_int_equal(f, 21);
		assert_int_equal(l, 29);
		/* unbounded ends (kind, or a NULL key with the kind unbounded) */
		assert_int_equal(t_range(db, "k20", UNB, "k30", INC, &f, &l), 21);
		assert_int_equal(f, 10);
		assert_int_equal(t_range(db, "k20", INC, "k30", UNB, &f, &l), 40);
		assert_int_equal(l, 59);
		assert_int_equal(t_range(db, NULL, UNB, NULL, UNB, &f, &l), 50);
		/* bounds between keys */
		assert_int_equal(t_range(db, "k20a", INC, "k3", INC, &f, &l), 9);
		assert_int_equal(f, 21);
		assert_int_equal(l, 29);
		assert_int_equal(t_range(db, "k", EXC, "k2", INC, &f, &l), 10);
		/* a single key; empty ranges */
		assert_int_equal(t_range(db, "k33", INC, "k33", INC, &f, &l), 1);
		assert_int_equal(f, 33);
		assert_int_equal(t_range(db, "k33", INC, "k33", EXC, &f, &l), 0);
		assert_int_equal(t_range(db, "k33", EXC, "k33", INC, &f, &l), 0);
		assert_int_equal(t_range(db, "k40", INC, "k30", INC, &f, &l), 0);
		assert_int_equal(t_range(db, "z", INC, NULL, UNB, &f, &l), 0);
		assert_int_equal(t_range(db, NULL, UNB, "k", INC, &f, &l), 0);
		/* NULL bound pointers are unbounded */
		struct aedb_kv_page *page = NULL;
		struct aedb_kv_bound s = { "k58", 3, INC };

		t_assert_rc(aedb_kv_scan_range(db, T_P, T_S, &s, NULL, 100, NULL, AEDB_LATEST,
					       &page), 2);
		aedb_kv_page_free(page);
		t_assert_rc(aedb_kv_scan_range(db, T_P, T_S, NULL, &s, 100, NULL, AEDB_LATEST,
					       &page), 49);
		aedb_kv_page_free(page);
		t_empty_key_bounds(db);
		t_close(db);
	}
}

/*
 * Pages after the first read the first page's snapshot: writes made between
 * pages (inserts, overwrites, deletes ahead of the cursor) are not seen.
 */
/* Check @page's entries against the live entries of @snap_model from *@idx on. */
static void t_expect_page_at(const struct aedb_kv_page *page, const struct t_model *snap_model,
			     uint32_t *idx, uint64_t snap)
{
	assert_int_equal(page->snapshot_seq, snap);
	for (uint32_t i = 0; i < page->count; i++) {
		while (*idx < snap_model->n && !snap_model->e[*idx].live)
			(*idx)++;
		assert_true(*idx < snap_model->n);
		t_expect_entry(&page->entries[i], &snap_model->e[*idx], snap);
		(*idx)++;
	}
}

/* Overwrite, delete and re-create keys from index @from on (and a few before). */
static void t_churn_after(struct aedb *db, struct t_model *m, uint32_t from, uint64_t *rng)
{
	for (uint32_t i = 0; i < m->n; i++) {
		uint64_t r = t_rand(rng) % 4;

		if (i < from && r != 0)
			continue;
		if (r == 0 || (r == 2 && !m->e[i].live))
			t_model_set(db, m, i, rng);
		else if (r == 1 && m->e[i].live)
			t_model_del(db, m, i);
	}
}

/* With a cursor, the at of the call is overridden by the cursor's snapshot. */
static void t_cursor_overrides_at(struct aedb *db, uint64_t snap)
{
	struct aedb_kv_page *p1 = NULL, *p2 = NULL;

	t_assert_rc(aedb_kv_scan_prefix(db, T_P, T_S, NULL, 0, 10, NULL, AEDB_SEQ(snap), &p1),
		    10);
	assert_int_equal(p1->snapshot_seq, snap);
	t_assert_rc(aedb_kv_scan_prefix(db, T_P, T_S, NULL, 0, 10, &p1->cursor, AEDB_LATEST,
					&p2), 10);
	assert_int_equal(p2->snapshot_seq, snap);
	aedb_kv_page_free(p2);
	t_assert_rc(aedb_kv_scan_prefix(db, T_P, T_S, NULL, 0, 10, &p1->cursor,
					AEDB_SEQ(snap + 1), &p2), 10);
	assert_int_equal(p2->snapshot_seq, snap);
	aedb_kv_page_free(p2);
	aedb_kv_page_free(p1);
}

static void test_kv_scan_cursor_stable_snapshot(void **state)
{
	uint64_t seed = t_seed(__func__);
	struct t_query all = { .is_prefix = true };

	(void)state;
	for (int si = 0; si < T_NSHARD_COUNTS; si++) {
		uint64_t rng = seed + (uint64_t)si;
		struct aedb *db = t_open_p(t_shard_counts[si], NULL);
		struct t_model m = t_model_make(1500, &rng);
		struct t_model snap_model = { malloc(m.n * sizeof(*m.e)), m.n };
		struct aedb_kv_page *page = NULL, *next = NULL;
		uint32_t pos, nlive = 0, idx = 0;
		uint64_t snap;

		t_model_load(db, &m, &rng);
		memcpy(snap_model.e, m.e, m.n * sizeof(*m.e));
		for (uint32_t i = 0; i < m.n; i++)
			nlive += m.e[i].live;
		t_assert_rc(aedb_kv_scan_prefix(db, T_P, T_S, NULL, 0, 100, NULL, AEDB_LATEST,
						&page), 100);
		snap = page->snapshot_seq;
		assert_int_equal(page->truncated, 1);
		t_expect_page_at(page, &snap_model, &idx, snap);
		/* writes after the first page: not seen through its cursor */
		t_churn_after(db, &m, idx, &rng);
		assert_true(aedb_visible_seq(db) > snap);
		for (pos = page->count; page->truncated; pos += page->count) {
			assert_true(aedb_kv_scan_prefix(db, T_P, T_S, NULL, 0, 100, &page->cursor,
							AEDB_LATEST, &next) >= 0);
			t_expect_page_at(next, &snap_model, &idx, snap);
			aedb_kv_page_free(page);
			page = next;
		}
		aedb_kv_page_free(page);
		assert_int_equal(pos, nlive);
		/* a fresh scan sees the new state */
		t_check_scan(db, &m, &all, 333, 10000, false);
		t_cursor_overrides_at(db, snap);
		free(snap_model.e);
		free(m.e);
		t_close(db);
	}
}

/* limit above max_scan_rows is clamped; truncated is exact on the last page. */
static void test_kv_scan_limit_clamp_and_truncated(void **state)
{
	struct aedb_config cfg;
	char key[16];

	(void)state;
	aedb_config_init(&cfg);
	cfg.max_scan_rows = 100;
	for (int si = 0; si < T_NSHARD_COUNTS; si++) {
		struct aedb *db = t_open_p(t_shard_counts[si], &cfg);
		struct aedb_kv_page *page = NULL, *next = NULL;
		uint32_t limits[] = { 101, 1000, UINT32_MAX };

		for (int i = 0; i < 200; i++) {
			snprintf(key, sizeof(key), "c%04d", i);
			t_sets(db, key, "v");
		}
		for (size_t li = 0; li < sizeof(limits) / sizeof(limits[0]); li++) {
			t_assert_rc(aedb_kv_scan_prefix(db, T_P, T_S, "c", 1, limits[li], NULL,
							AEDB_LATEST, &page), 100);
			assert_int_equal(page->count, 100);
			assert_int_equal(page->truncated, 1);
			assert_memory_equal(page->cursor.last_key, "c0099", 5);
			/* the second page is exactly the rest: not truncated */
			t_assert_rc(aedb_kv_scan_prefix(db, T_P, T_S, "c", 1, limits[li],
							&page->cursor, AEDB_LATEST, &next), 100);
			assert_int_equal(next->truncated, 0);
			assert_memory_equal(next->entries[0].key, "c0100", 5);
			assert_memory_equal(next->entries[99].key, "c0199", 5);
			aedb_kv_page_free(next);
			aedb_kv_page_free(page);
		}
		/* range scans clamp too */
		t_assert_rc(aedb_kv_scan_range(db, T_P, T_S, NULL, NULL, 5000, NULL, AEDB_LATEST,
					       &page), 100);
		assert_int_equal(page->truncated, 1);
		aedb_kv_page_free(page);
		/* limit 1: every key a page */
		uint32_t pages = 0;

		t_assert_rc(aedb_kv_scan_prefix(db, T_P, T_S, "c01", 3, 1, NULL, AEDB_LATEST,
						&page), 1);
		for (;;) {
			pages++;
			if (!page->truncated)
				break;
			t_assert_rc(aedb_kv_scan_prefix(db, T_P, T_S, "c01", 3, 1, &page->cursor,
							AEDB_LATEST, &next), 1);
			aedb_kv_page_free(page);
			page = next;
		}
		assert_memory_equal(page->entries[0].key, "c0199", 5);
		aedb_kv_page_free(page);
		assert_int_equal(pages, 100);
		/* an exact fit in one page: not truncated */
		t_assert_rc(aedb_kv_scan_prefix(db, T_P, T_S, "c00", 3, 100, NULL, AEDB_LATEST,
						&page), 100);
		assert_int_equal(page->truncated, 0);
		aedb_kv_page_free(page);
		t_close(db);
	}
}

/* Limit 0, NULL arguments, bad bound kinds and consistency modes. */
static void t_scan_bad_args(struct aedb *db, uint64_t v)
{
	struct aedb_kv_page *page = NULL;
	struct aedb_kv_bound s = { "a", 1, AEDB_BOUND_INCLUDED };
	struct aedb_kv_bound e = { "m", 1, AEDB_BOUND_INCLUDED };
	struct aedb_kv_bound badkind = { "a", 1, 3 };
	struct aedb_kv_bound nullkey = { NULL, 1, AEDB_BOUND_INCLUDED };
	struct aedb_at bad_mode = { 9, 0, 0 }, ckpt = { AEDB_AT_CHECKPOINT, 0, 0 };
	const struct aedb_at L = AEDB_LATEST;

	t_assert_rc(aedb_kv_scan_prefix(db, T_P, T_S, "a", 1, 0, NULL, L, &page), -AEDB_EINVAL);
	t_assert_rc(aedb_kv_scan_range(db, T_P, T_S, &s, &e, 0, NULL, L, &page), -AEDB_EINVAL);
	t_assert_rc(aedb_kv_scan_prefix(NULL, T_P, T_S, "a", 1, 5, NULL, L, &page), -AEDB_EMISUSE);
	t_assert_rc(aedb_kv_scan_prefix(db, NULL, T_S, "a", 1, 5, NULL, L, &page), -AEDB_EMISUSE);
	t_assert_rc(aedb_kv_scan_prefix(db, T_P, NULL, "a", 1, 5, NULL, L, &page), -AEDB_EMISUSE);
	t_assert_rc(aedb_kv_scan_prefix(db, T_P, T_S, "a", 1, 5, NULL, L, NULL), -AEDB_EMISUSE);
	t_assert_rc(aedb_kv_scan_prefix(db, T_P, T_S, NULL, 1, 5, NULL, L, &page), -AEDB_EMISUSE);
	t_assert_rc(aedb_kv_scan_range(NULL, T_P, T_S, &s, &e, 5, NULL, L, &page), -AEDB_EMISUSE);
	t_assert_rc(aedb_kv_scan_range(db, NULL, T_S, &s, &e, 5, NULL, L, &page), -AEDB_EMISUSE);
	t_assert_rc(aedb_kv_scan_range(db, T_P, NULL, &s, &e, 5, NULL, L, &page), -AEDB_EMISUSE);
	t_assert_rc(aedb_kv_scan_range(db, T_P, T_S, &s, &e, 5, NULL, L, NULL), -AEDB_EMISUSE);
	t_assert_rc(aedb_kv_scan_range(db, T_P, T_S, &nullkey, &e, 5, NULL, L, &page),
		    -AEDB_EMISUSE);
	t_assert_rc(aedb_kv_scan_range(db, T_P, T_S, &badkind, &e, 5, NULL, L, &page),
		    -AEDB_EINVAL);
	t_assert_rc(aedb_kv_scan_range(db, T_P, T_S, &s, &badkind, 5, NULL, L, &page),
		    -AEDB_EINVAL);
	t_assert_rc(aedb_kv_scan_prefix(db, T_P, T_S, "a", 1, 5, NULL, bad_mode, &page),
		    -AEDB_EINVAL);
	t_assert_rc(aedb_kv_scan_prefix(db, T_P, T_S, "a", 1, 5, NULL, ckpt, &page),
		    -AEDB_ESEQGC);
	t_assert_rc(aedb_kv_scan_prefix(db, T_P, T_S, "a", 1, 5, NULL, AEDB_SEQ(v + 1000), &page),
		    -AEDB_ESEQFUTURE);
	t_assert_rc(aedb_kv_scan_range(db, T_P, T_S, &s, &e, 5, NULL, AEDB_SEQ(v + 1000), &page),
		    -AEDB_ESEQFUTURE);
}

/* Cursors that do not belong to the scan get -AEDB_ECURSOR. */
static void t_scan_bad_cursors(struct aedb *db)
{
	struct aedb_kv_page *page = NULL, *first = NULL;
	struct aedb_kv_bound s = { "a", 1, AEDB_BOUND_INCLUDED };
	struct aedb_kv_bound e = { "m", 1, AEDB_BOUND_INCLUDED };
	const struct aedb_at L = AEDB_LATEST;
	struct aedb_kv_cursor forged;

	t_assert_rc(aedb_kv_scan_prefix(db, T_P, T_S, "a", 1, 1, NULL, L, &first), 1);
	assert_int_equal(first->truncated, 1);
	t_assert_rc(aedb_kv_scan_prefix(db, T_P, T_S, "b", 1, 5, &first->cursor, L, &page),
		    -AEDB_ECURSOR);
	forged = first->cursor;
	forged.last_key = (const uint8_t *)"z1";
	forged.last_key_len = 2;
	t_assert_rc(aedb_kv_scan_prefix(db, T_P, T_S, "a", 1, 5, &forged, L, &page),
		    -AEDB_ECURSOR);
	/* past the end of a range, and before its start */
	t_assert_rc(aedb_kv_scan_range(db, T_P, T_S, &s, &e, 5, &forged, L, &page),
		    -AEDB_ECURSOR);
	forged.last_key = (const uint8_t *)"0";
	forged.last_key_len = 1;
	t_assert_rc(aedb_kv_scan_range(db, T_P, T_S, &s, &e, 5, &forged, L, &page),
		    -AEDB_ECURSOR);
	/* the genuine cursor still works */
	t_assert_rc(aedb_kv_scan_prefix(db, T_P, T_S, "a", 1, 5, &first->cursor, L, &page), 1);
	assert_memory_equal(page->entries[0].key, "a2", 2);
	assert_int_equal(page->truncated, 0);
	aedb_kv_page_free(page);
	aedb_kv_page_free(first);
}

static void test_kv_scan_bad_arguments(void **state)
{
	(void)state;
	for (int si = 0; si < T_NSHARD_COUNTS; si++) {
		struct aedb *db = t_open_p(t_shard_counts[si], NULL);
		uint64_t v;

		t_sets(db, "a1", "v");
		t_sets(db, "a2", "v");
		t_sets(db, "b1", "v");
		t_sets(db, "z1", "v");
		v = aedb_visible_seq(db);
		t_scan_bad_args(db, v);
		t_scan_bad_cursors(db);
		/* nothing was written by any of it */
		assert_int_equal(aedb_visible_seq(db), v);
		t_close(db);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kv_scan_bytewise_order),
		cmocka_unit_test(test_kv_scan_range_bounds),
		cmocka_unit_test(test_kv_scan_limit_clamp_and_truncated),
		cmocka_unit_test(test_kv_scan_bad_arguments),
		cmocka_unit_test(test_kv_scan_cursor_stable_snapshot),
		cmocka_unit_test(test_kv_scan_order_across_shards),
	};

	t_require_engine();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
