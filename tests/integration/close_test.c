/* SPDX-License-Identifier: MIT */
/*
 * close_test - shutting down: aedb_ring_exit() waits for requests in flight,
 * aedb_close() refuses un-exited rings, returns promptly after busy work, and
 * leaks nothing (run under ASan/LSan); open/close in a loop.
 */
#include "it_common.h"

#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#define T_CLOSE_MAX_NS 10000000000ull /* "promptly", with sanitizer slack */

static uint32_t t_ns(struct aedb *db)
{
	uint32_t id = 0;

	t_assert_rc(aedb_scope_id(db, T_P, T_S, &id), 0);
	return id;
}

/* Submit every prepared SQE, reaping (and discarding) CQEs only when needed. */
static int t_submit_all(struct aedb_ring *ring)
{
	while (ring->sq_head != ring->sq_tail) {
		int rc = aedb_submit(ring);

		if (rc == -AEDB_EBUSY) {
			struct aedb_cqe *cqe;

			if (aedb_peek_cqe(ring, &cqe) == 0)
				aedb_cqe_seen(ring, cqe);
			else
				sched_yield();
			continue;
		}
		if (rc < 0)
			return rc;
	}
	return 0;
}

static uint64_t t_count_keys(struct aedb *db, const char *prefix)
{
	struct aedb_kv_page *page = NULL, *next = NULL;
	uint64_t n = 0;

	t_assert_rc(aedb_kv_scan_prefix(db, T_P, T_S, prefix, strlen(prefix), 10000, NULL,
					AEDB_LATEST, &page) >= 0, 1);
	for (;;) {
		n += page->count;
		if (!page->truncated)
			break;
		assert_true(aedb_kv_scan_prefix(db, T_P, T_S, prefix, strlen(prefix), 10000,
						 &page->cursor, AEDB_LATEST, &next) >= 0);
		aedb_kv_page_free(page);
		page = next;
	}
	aedb_kv_page_free(page);
	return n;
}

/* Writes submitted and never waited for: aedb_ring_exit() waits for them. */
static void test_close_ring_exit_waits_for_inflight(void **state)
{
	enum { N = 3000 };
	char (*keys)[12] = malloc(N * sizeof(*keys));

	(void)state;
	for (int i = 0; i < N; i++)
		snprintf(keys[i], sizeof(keys[i]), "x%05d", i);
	for (int si = 0; si < T_NSHARD_COUNTS; si++) {
		struct aedb *db = t_open_p(t_shard_counts[si], NULL);
		uint32_t ns = t_ns(db);
		struct aedb_ring ring;
		uint64_t t0;

		t_assert_rc(aedb_ring_init(db, 2048, &ring, 0), 0);
		for (int i = 0; i < N; i++) {
			struct aedb_sqe *sqe = aedb_get_sqe(&ring);

			if (!sqe) {
				t_assert_rc(t_submit_all(&ring), 0);
				sqe = aedb_get_sqe(&ring);
			}
			aedb_prep_kv_set(sqe, ns, keys[i], 6, keys[i], 6, AEDB_FINALITY_VISIBLE,
					 NULL);
		}
		t_assert_rc(t_submit_all(&ring), 0);
		assert_true(aedb_ring_inflight(&ring) > 0);
		aedb_ring_exit(&ring);
		/* every write completed, and so is visible */
		assert_int_equal(t_count_keys(db, "x"), N);
		t_expect(db, keys[N - 1], 6, keys[N - 1], 6, 0, AEDB_LATEST);
		t0 = t_now_ns();
		t_close(db);
		assert_true(t_now_ns() - t0 < T_CLOSE_MAX_NS);
	}
	free(keys);
}

/* A ring not exited: close refuses; after the exit it closes. */
static void test_close_unexited_ring_is_misuse(void **state)
{
	(void)state;
	for (int si = 0; si < T_NSHARD_COUNTS; si++) {
		struct aedb *db = t_open_p(t_shard_counts[si], NULL);
		uint32_t ns = t_ns(db);
		struct aedb_ring ring, idle;
		uint64_t seq = 0;

		t_assert_rc(aedb_ring_init(db, 8, &idle, 0), 0);
		t_assert_rc(aedb_ring_init(db, 8, &ring, 0), 0);
		aedb_prep_kv_set(aedb_get_sqe(&ring), ns, "k", 1, "v", 1, AEDB_FINALITY_VISIBLE,
				 &seq);
		t_assert_rc(aedb_submit(&ring), 1);
		t_assert_rc(aedb_close(db), -AEDB_EMISUSE);
		/* the instance is still fully usable */
		struct aedb_cqe *cqe;

		t_assert_rc(aedb_wait_cqe(&ring, &cqe), 0);
		t_assert_rc(cqe->res, 0);
		aedb_cqe_seen(&ring, cqe);
		t_expect(db, "k", 1, "v", 1, seq, AEDB_LATEST);
		t_sets(db, "k2", "v2");
		aedb_ring_exit(&ring);
		/* one ring left */
		t_assert_rc(aedb_close(db), -AEDB_EMISUSE);
		t_expects(db, "k2", "v2");
		aedb_ring_exit(&idle);
		t_close(db);
	}
}

struct t_ringer {
	struct aedb *db;
	uint32_t ns;
	uint32_t id;
	uint32_t n;
	int init_rc;
	char (*keys)[16];
};

/* A client thread: its own ring, writes submitted continuously, then exit. */
static void *t_ringer_main(void *p)
{
	struct t_ringer *r = p;
	struct aedb_ring ring;

	r->init_rc = aedb_ring_init(r->db, 64, &ring, r->id & 1 ? AEDB_RING_EVENTFD_ALWAYS : 0);
	if (r->init_rc < 0)
		return NULL;
	for (uint32_t i = 0; i < r->n; i++) {
		struct aedb_sqe *sqe = aedb_get_sqe(&ring);

		if (!sqe) {
			T_CHECK(t_submit_all(&ring) == 0, "submit");
			sqe = aedb_get_sqe(&ring);
		}
		snprintf(r->keys[i], 16, "t%u-%05u", r->id, i);
		aedb_prep_kv_set(sqe, r->ns, r->keys[i], (uint32_t)strlen(r->keys[i]), r->keys[i],
				 (uint32_t)strlen(r->keys[i]), AEDB_FINALITY_VISIBLE, NULL);
	}
	T_CHECK(t_submit_all(&ring) == 0, "submit");
	/* do not wait: exit with requests in flight */
	aedb_ring_exit(&ring);
	return NULL;
}

static void test_close_many_client_rings(void **state)
{
	enum { T = 4, N = 2500 };

	(void)state;
	for (int si = 0; si < T_NSHARD_COUNTS; si++) {
		struct aedb *db = t_open_p(t_shard_counts[si], NULL);
		pthread_t th[T];
		struct t_ringer r[T];
		uint64_t t0;

		atomic_store(&t_thread_fail, 0);
		for (uint32_t i = 0; i < T; i++) {
			r[i] = (struct t_ringer){ db, t_ns(db), i, N, -1, malloc(N * 16) };
			assert_int_equal(pthread_create(&th[i], NULL, t_ringer_main, &r[i]), 0);
		}
		for (uint32_t i = 0; i < T; i++)
			pthread_join(th[i], NULL);
		assert_int_equal(t_thread_failed(), 0);
		for (uint32_t i = 0; i < T; i++) {
			t_assert_rc(r[i].init_rc, 0);
			free(r[i].keys);
		}
		/* all applied (each completed before its ring's exit returned) */
		assert_int_equal(t_count_keys(db, "t"), (uint64_t)T * N);
		t0 = t_now_ns();
		t_close(db);
		assert_true(t_now_ns() - t0 < T_CLOSE_MAX_NS);
	}
}

/* Blocking writers from several threads, joined, then an immediate close. */
struct t_blocker {
	struct aedb *db;
	uint32_t id;
};

static void *t_blocker_main(void *p)
{
	struct t_blocker *b = p;
	char key[24];

	for (int i = 0; i < 500; i++) {
		snprintf(key, sizeof(key), "b%u-%d", b->id, i);
		int rc = aedb_kv_set(b->db, T_P, T_S, key, strlen(key), key, strlen(key),
				     AEDB_FINALITY_VISIBLE, NULL);

		T_CHECK(rc == 0, "%s", aedb_strerror(rc));
		if (i % 3 == 0) {
			rc = aedb_kv_del(b->db, T_P, T_S, key, strlen(key), AEDB_FINALITY_VISIBLE,
					 NULL);
			T_CHECK(rc == 0, "%s", aedb_strerror(rc));
		}
	}
	return NULL;
}

static void test_close_after_busy_blocking_writers(void **state)
{
	(void)state;
	for (int si = 0; si < T_NSHARD_COUNTS; si++) {
		struct aedb *db = t_open_p(t_shard_counts[si], NULL);
		pthread_t th[4];
		struct t_blocker b[4];
		uint64_t t0;

		atomic_store(&t_thread_fail, 0);
		for (uint32_t i = 0; i < 4; i++) {
			b[i] = (struct t_blocker){ db, i };
			assert_int_equal(pthread_create(&th[i], NULL, t_blocker_main, &b[i]), 0);
		}
		for (int i = 0; i < 4; i++)
			pthread_join(th[i], NULL);
		assert_int_equal(t_thread_failed(), 0);
		assert_int_equal(t_count_keys(db, "b"), 4 * (500 - 167));
		t0 = t_now_ns();
		t_close(db);
		assert_true(t_now_ns() - t0 < T_CLOSE_MAX_NS);
	}
}

/* 50 open/close cycles with varying shard counts, some with work in between. */
static void test_close_open_close_loop(void **state)
{
	static const uint32_t counts[] = { 1, 2, 3, 4, 5, 8, 6, 7, 1, 16 };
	uint64_t worst = 0;

	(void)state;
	for (int i = 0; i < 50; i++) {
		uint32_t shards = counts[i % 10];
		struct aedb *db = t_open(shards, NULL);
		uint64_t t0;

		assert_int_equal(aedb_shard_count(db), shards);
		if (i % 2) {
			struct aedb_ring ring;
			uint32_t ns;

			t_assert_rc(aedb_create_project(db, T_P), 1);
			ns = t_ns(db);
			t_sets(db, "a", "b");
			t_assert_rc(aedb_ring_init(db, 32, &ring, 0), 0);
			for (int k = 0; k < 32; k++) {
				struct aedb_sqe *sqe = aedb_get_sqe(&ring);

				if (k % 4 == 0)
					aedb_prep_nop(sqe);
				else
					aedb_prep_kv_set(sqe, ns, "a", 1, "c", 1,
							 AEDB_FINALITY_VISIBLE, NULL);
			}
			assert_true(aedb_submit(&ring) > 0);
			aedb_ring_exit(&ring);
		}
		t0 = t_now_ns();
		t_close(db);
		if (t_now_ns() - t0 > worst)
			worst = t_now_ns() - t0;
	}
	print_message("worst close: %llu us\n", (unsigned long long)(worst / 1000));
	assert_true(worst < T_CLOSE_MAX_NS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_close_ring_exit_waits_for_inflight),
		cmocka_unit_test(test_close_unexited_ring_is_misuse),
		cmocka_unit_test(test_close_after_busy_blocking_writers),
		cmocka_unit_test(test_close_open_close_loop),
		cmocka_unit_test(test_close_many_client_rings),
	};

	t_require_engine();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
