/* SPDX-License-Identifier: MIT */
/*
 * sq_test - the submission-queue API: ring setup, SQ/CQ capacity and
 * backpressure, CQE results per opcode, malformed SQEs, the eventfd, many
 * requests in flight across shards.
 */
#include "it_common.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef T_SQ_ROUNDS
#define T_SQ_ROUNDS 1 /* bursts of 8192 writes per shard count */
#endif

static uint32_t t_ns(struct aedb *db)
{
	uint32_t id = 0;

	t_assert_rc(aedb_scope_id(db, T_P, T_S, &id), 0);
	return id;
}

/* Wait for one CQE; return it by value and mark it seen. */
static struct aedb_cqe t_reap1(struct aedb_ring *ring)
{
	struct aedb_cqe *cqe = NULL, copy;

	t_assert_rc(aedb_wait_cqe(ring, &cqe), 0);
	assert_non_null(cqe);
	copy = *cqe;
	aedb_cqe_seen(ring, cqe);
	return copy;
}

static void test_sq_ring_init_exit(void **state)
{
	struct aedb *db = t_open_p(2, NULL);
	struct aedb_ring ring, zero;
	static const struct {
		unsigned entries, want;
	} sizes[] = { { 1, 1 }, { 2, 2 }, { 3, 4 }, { 5, 8 }, { 1000, 1024 }, { 4096, 4096 } };

	(void)state;
	t_assert_rc(aedb_ring_init(NULL, 8, &ring, 0), -AEDB_EMISUSE);
	t_assert_rc(aedb_ring_init(db, 8, NULL, 0), -AEDB_EMISUSE);
	t_assert_rc(aedb_ring_init(db, 0, &ring, 0), -AEDB_EINVAL);
	t_assert_rc(aedb_ring_init(db, 4097, &ring, 0), -AEDB_EINVAL);
	t_assert_rc(aedb_ring_init(db, 1u << 20, &ring, 0), -AEDB_EINVAL);
	t_assert_rc(aedb_ring_init(db, 8, &ring, 0x2), -AEDB_EINVAL);
	t_assert_rc(aedb_ring_init(db, 8, &ring, 0x80000000u), -AEDB_EINVAL);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		memset(&ring, 0xa5, sizeof(ring));
		t_assert_rc(aedb_ring_init(db, sizes[i].entries, &ring, 0), 0);
		assert_int_equal(ring.sq_entries, sizes[i].want);
		assert_int_equal(ring.sq_mask, sizes[i].want - 1);
		assert_int_equal(ring.sq_head, ring.sq_tail);
		assert_non_null(ring.sqes);
		assert_int_equal(aedb_ring_inflight(&ring), 0);
		assert_true(aedb_ring_fd(&ring) >= 0);
		aedb_ring_exit(&ring);
	}
	t_assert_rc(aedb_ring_init(db, 8, &ring, AEDB_RING_EVENTFD_ALWAYS), 0);
	int fd = aedb_ring_fd(&ring);

	assert_true(fd >= 0);
	/* the fd is a live descriptor owned by the ring */
	assert_true(fcntl(fd, F_GETFD) != -1);
	aedb_ring_exit(&ring);

	/* NULL and zeroed rings: no-ops */
	aedb_ring_exit(NULL);
	memset(&zero, 0, sizeof(zero));
	aedb_ring_exit(&zero);
	t_assert_rc(aedb_ring_fd(NULL), -AEDB_EMISUSE);

	/* many rings at once on one instance */
	struct aedb_ring rings[16];

	for (int i = 0; i < 16; i++)
		t_assert_rc(aedb_ring_init(db, 16, &rings[i], i & 1 ? AEDB_RING_EVENTFD_ALWAYS : 0),
			    0);
	for (int i = 0; i < 16; i++)
		aedb_ring_exit(&rings[i]);
	t_close(db);
}

static void test_sq_get_sqe_full_and_zeroed(void **state)
{
	struct aedb *db = t_open_p(2, NULL);
	struct aedb_ring ring;
	struct aedb_sqe *sqe[4];
	struct aedb_cqe *cqe;
	int n;

	(void)state;
	t_assert_rc(aedb_ring_init(db, 4, &ring, 0), 0);
	for (int i = 0; i < 4; i++) {
		sqe[i] = aedb_get_sqe(&ring);
		assert_non_null(sqe[i]);
		aedb_prep_nop(sqe[i]);
		aedb_sqe_set_data64(sqe[i], 100 + (uint64_t)i);
	}
	/* the SQ is full */
	assert_null(aedb_get_sqe(&ring));
	t_assert_rc(aedb_submit(&ring), 4);
	/* nothing left to submit */
	t_assert_rc(aedb_submit(&ring), 0);
	n = 0;
	while (n < 4) {
		struct aedb_cqe c = t_reap1(&ring);

		assert_int_equal(c.res, 0);
		assert_int_equal(c.flags, 0);
		assert_int_equal(c.user_data, 100 + (uint64_t)n);
		n++;
	}
	t_assert_rc(aedb_peek_cqe(&ring, &cqe), -EAGAIN);
	assert_int_equal(aedb_ring_inflight(&ring), 0);
	/* the slots come back zeroed, even after being dirtied */
	for (int i = 0; i < 4; i++) {
		static const struct aedb_sqe zero;

		sqe[i] = aedb_get_sqe(&ring);
		assert_non_null(sqe[i]);
		assert_memory_equal(sqe[i], &zero, sizeof(zero));
		sqe[i]->user_data = 0xffff;
		sqe[i]->key = "dirty";
		sqe[i]->key_len = 5;
	}
	assert_null(aedb_get_sqe(&ring));
	for (int i = 0; i < 4; i++) {
		*sqe[i] = (struct aedb_sqe){ 0 };
		aedb_prep_nop(sqe[i]);
		aedb_sqe_set_data(sqe[i], &ring);
	}
	t_assert_rc(aedb_submit(&ring), 4);
	for (int i = 0; i < 4; i++) {
		struct aedb_cqe c = t_reap1(&ring);

		assert_int_equal(c.res, 0);
		assert_ptr_equal((void *)(uintptr_t)c.user_data, &ring);
	}
	aedb_ring_exit(&ring);
	t_close(db);
}

static void test_sq_wait_and_peek_nothing_in_flight(void **state)
{
	struct aedb *db = t_open_p(1, NULL);
	struct aedb_ring ring;
	struct aedb_cqe *cqe = NULL;

	(void)state;
	t_assert_rc(aedb_ring_init(db, 8, &ring, 0), 0);
	t_assert_rc(aedb_peek_cqe(&ring, &cqe), -EAGAIN);
	t_assert_rc(aedb_wait_cqe(&ring, &cqe), -AEDB_EMISUSE);
	/* prepared but not submitted is not in flight either */
	struct aedb_sqe *sqe = aedb_get_sqe(&ring);

	aedb_prep_nop(sqe);
	t_assert_rc(aedb_wait_cqe(&ring, &cqe), -AEDB_EMISUSE);
	t_assert_rc(aedb_submit(&ring), 1);
	t_assert_rc(aedb_wait_cqe(&ring, &cqe), 0);
	aedb_cqe_seen(&ring, cqe);
	t_assert_rc(aedb_wait_cqe(&ring, &cqe), -AEDB_EMISUSE);
	aedb_ring_exit(&ring);
	t_close(db);
}

/* Ring calls on a NULL or never-initialised ring, NULL out pointers. */
static void test_sq_ring_misuse(void **state)
{
	struct aedb *db = t_open_p(2, NULL);
	struct aedb_ring ring, zero;
	struct aedb_cqe *cqe = NULL, *again = NULL;

	(void)state;
	memset(&zero, 0, sizeof(zero));
	t_assert_rc(aedb_submit(NULL), -AEDB_EMISUSE);
	t_assert_rc(aedb_submit(&zero), -AEDB_EMISUSE);
	t_assert_rc(aedb_peek_cqe(NULL, &cqe), -AEDB_EMISUSE);
	t_assert_rc(aedb_peek_cqe(&zero, &cqe), -AEDB_EMISUSE);
	t_assert_rc(aedb_wait_cqe(NULL, &cqe), -AEDB_EMISUSE);
	t_assert_rc(aedb_wait_cqe(&zero, &cqe), -AEDB_EMISUSE);
	t_assert_rc(aedb_ring_fd(&zero), -AEDB_EMISUSE);
	t_assert_rc(aedb_ring_init(db, 4, &ring, 0), 0);
	t_assert_rc(aedb_peek_cqe(&ring, NULL), -AEDB_EMISUSE);
	t_assert_rc(aedb_wait_cqe(&ring, NULL), -AEDB_EMISUSE);

	/* peek without seen: the same oldest CQE again */
	for (int i = 0; i < 2; i++) {
		struct aedb_sqe *sqe = aedb_get_sqe(&ring);

		aedb_prep_nop(sqe);
		aedb_sqe_set_data64(sqe, 10 + (uint64_t)i);
	}
	t_assert_rc(aedb_submit(&ring), 2);
	t_assert_rc(aedb_wait_cqe(&ring, &cqe), 0);
	assert_int_equal(cqe->user_data, 10);
	t_assert_rc(aedb_peek_cqe(&ring, &again), 0);
	assert_int_equal(again->user_data, 10);
	t_assert_rc(aedb_wait_cqe(&ring, &again), 0);
	assert_int_equal(again->user_data, 10);
	assert_int_equal(aedb_ring_inflight(&ring), 2);
	aedb_cqe_seen(&ring, again);
	assert_int_equal(aedb_ring_inflight(&ring), 1);
	t_assert_rc(aedb_wait_cqe(&ring, &cqe), 0);
	assert_int_equal(cqe->user_data, 11);
	aedb_cqe_seen(&ring, cqe);
	assert_int_equal(aedb_ring_inflight(&ring), 0);
	aedb_ring_exit(&ring);
	t_close(db);
}

/* Set and get through SQEs; returns the set's seq. */
static uint64_t t_ops_set_get(struct aedb *db, struct aedb_ring *r, uint32_t ns)
{
	struct aedb_sqe *sqe;
	struct aedb_cqe c;
	uint64_t seq_set = 0;
	char buf[64];
	struct aedb_kv_read rd;

	/* set */
	sqe = aedb_get_sqe(r);
	aedb_prep_kv_set(sqe, ns, "key", 3, "value", 5, AEDB_FINALITY_VISIBLE, &seq_set);
	aedb_sqe_set_data64(sqe, 1);
	t_assert_rc(aedb_submit(r), 1);
	assert_int_equal(aedb_ring_inflight(r), 1);
	c = t_reap1(r);
	assert_int_equal(c.user_data, 1);
	t_assert_rc(c.res, 0);
	assert_int_equal(c.flags, 0);
	assert_true(seq_set > 0);
	assert_true(aedb_visible_seq(db) >= seq_set);
	assert_int_equal(aedb_ring_inflight(r), 0);
	t_expect(db, "key", 3, "value", 5, seq_set, AEDB_LATEST);

	/* get */
	memset(&rd, 0, sizeof(rd));
	memset(buf, 0, sizeof(buf));
	rd.buf = buf;
	rd.buf_len = sizeof(buf);
	sqe = aedb_get_sqe(r);
	aedb_prep_kv_get(sqe, ns, "key", 3, AEDB_LATEST, &rd);
	aedb_sqe_set_data64(sqe, 2);
	t_assert_rc(aedb_submit(r), 1);
	c = t_reap1(r);
	assert_int_equal(c.user_data, 2);
	t_assert_rc(c.res, 5);
	assert_int_equal(rd.val_len, 5);
	assert_memory_equal(buf, "value", 5);
	assert_int_equal(rd.version, seq_set);
	assert_int_equal(rd.created_seq, seq_set);
	assert_true(rd.snapshot_seq >= seq_set && rd.snapshot_seq <= aedb_visible_seq(db));

	/* get at an older seq, and absent keys */
	sqe = aedb_get_sqe(r);
	aedb_prep_kv_get(sqe, ns, "key", 3, AEDB_SEQ(seq_set - 1), &rd);
	t_assert_rc(aedb_submit(r), 1);
	t_assert_rc(t_reap1(r).res, -AEDB_ENOTFOUND);
	sqe = aedb_get_sqe(r);
	aedb_prep_kv_get(sqe, ns, "nokey", 5, AEDB_LATEST, &rd);
	t_assert_rc(aedb_submit(r), 1);
	t_assert_rc(t_reap1(r).res, -AEDB_ENOTFOUND);

	return seq_set;
}

/* Scans, a delete, a caller, through SQEs. */
static void t_ops_scan_del(struct aedb *db, struct aedb_ring *r, uint32_t ns, uint64_t seq_set)
{
	struct aedb_sqe *sqe;
	struct aedb_cqe c;
	uint64_t seq_del = 0;

	/* scan */
	struct aedb_kv_scan scan = { .prefix = "k", .prefix_len = 1, .limit = 10 };

	sqe = aedb_get_sqe(r);
	aedb_prep_kv_scan(sqe, ns, AEDB_LATEST, &scan);
	aedb_sqe_set_data64(sqe, 3);
	t_assert_rc(aedb_submit(r), 1);
	c = t_reap1(r);
	assert_int_equal(c.user_data, 3);
	t_assert_rc(c.res, 1);
	assert_non_null(scan.page);
	assert_int_equal(scan.page->count, 1);
	assert_int_equal(scan.page->truncated, 0);
	assert_memory_equal(scan.page->entries[0].key, "key", 3);
	assert_int_equal(scan.page->entries[0].version, seq_set);
	aedb_kv_page_free(scan.page);
	/* range scan with bounds, empty result */
	struct aedb_kv_bound lo = { "l", 1, AEDB_BOUND_INCLUDED };
	struct aedb_kv_scan rscan = { .limit = 10, .start = &lo };

	sqe = aedb_get_sqe(r);
	aedb_prep_kv_scan(sqe, ns, AEDB_LATEST, &rscan);
	t_assert_rc(aedb_submit(r), 1);
	t_assert_rc(t_reap1(r).res, 0);
	assert_int_equal(rscan.page->count, 0);
	aedb_kv_page_free(rscan.page);

	/* del */
	sqe = aedb_get_sqe(r);
	aedb_prep_kv_del(sqe, ns, "key", 3, AEDB_FINALITY_VISIBLE, &seq_del);
	aedb_sqe_set_data64(sqe, 4);
	t_assert_rc(aedb_submit(r), 1);
	c = t_reap1(r);
	assert_int_equal(c.user_data, 4);
	t_assert_rc(c.res, 0);
	assert_true(seq_del > seq_set);
	assert_true(aedb_visible_seq(db) >= seq_del);
	t_expect(db, "key", 3, NULL, 0, 0, AEDB_LATEST);
	/* a del without seq_out, of an absent key */
	sqe = aedb_get_sqe(r);
	aedb_prep_kv_del(sqe, ns, "key", 3, AEDB_FINALITY_VISIBLE, NULL);
	t_assert_rc(aedb_submit(r), 1);
	t_assert_rc(t_reap1(r).res, 0);

	/* an SQE with a caller: carried, not checked */
	struct aedb_caller who = { "user-1" };

	sqe = aedb_get_sqe(r);
	aedb_prep_kv_set(sqe, ns, "c", 1, "x", 1, AEDB_FINALITY_VISIBLE, NULL);
	aedb_sqe_set_caller(sqe, &who);
	t_assert_rc(aedb_submit(r), 1);
	t_assert_rc(t_reap1(r).res, 0);
	t_expects(db, "c", "x");
}

/* CQE res and outputs per opcode, against the blocking API. */
static void test_sq_kv_ops_results(void **state)
{
	(void)state;
	for (int si = 0; si < T_NSHARD_COUNTS; si++) {
		struct aedb *db = t_open_p(t_shard_counts[si], NULL);
		uint32_t ns = t_ns(db);
		struct aedb_ring ring;
		uint64_t seq_set;

		t_assert_rc(aedb_ring_init(db, 8, &ring, 0), 0);
		seq_set = t_ops_set_get(db, &ring, ns);
		t_ops_scan_del(db, &ring, ns, seq_set);
		aedb_ring_exit(&ring);
		t_close(db);
	}
}

/* Paging through an SQE scan with the previous page's cursor. */
static void test_sq_scan_pages(void **state)
{
	char key[8];

	(void)state;
	for (int si = 0; si < T_NSHARD_COUNTS; si++) {
		struct aedb *db = t_open_p(t_shard_counts[si], NULL);
		uint32_t ns = t_ns(db);
		struct aedb_ring ring;
		struct aedb_kv_page *prev = NULL;
		struct aedb_kv_bound lo = { "p05", 3, AEDB_BOUND_EXCLUDED };
		uint32_t got = 0, pages = 0;
		uint64_t snap = 0;

		for (int i = 0; i < 30; i++) {
			snprintf(key, sizeof(key), "p%02d", i);
			t_sets(db, key, key);
		}
		t_assert_rc(aedb_ring_init(db, 4, &ring, 0), 0);
		for (;;) {
			struct aedb_kv_scan sc = { .limit = 10, .start = &lo,
						   .cursor = prev ? &prev->cursor : NULL };
			struct aedb_cqe c;

			aedb_prep_kv_scan(aedb_get_sqe(&ring), ns, AEDB_LATEST, &sc);
			t_assert_rc(aedb_submit(&ring), 1);
			c = t_reap1(&ring);
			assert_true(c.res >= 0);
			assert_int_equal((uint32_t)c.res, sc.page->count);
			if (pages == 0)
				snap = sc.page->snapshot_seq;
			assert_int_equal(sc.page->snapshot_seq, snap);
			for (uint32_t i = 0; i < sc.page->count; i++) {
				snprintf(key, sizeof(key), "p%02u", 6 + got + i);
				assert_memory_equal(sc.page->entries[i].key, key, 3);
			}
			got += sc.page->count;
			pages++;
			if (prev)
				aedb_kv_page_free(prev);
			prev = sc.page;
			/* a write between pages is not seen through the cursor */
			t_sets(db, "p99", "late");
			if (!prev->truncated)
				break;
		}
		aedb_kv_page_free(prev);
		assert_int_equal(got, 24);
		assert_int_equal(pages, 3);
		aedb_ring_exit(&ring);
		t_close(db);
	}
}

/* Reads run inside aedb_submit(): their CQEs are ready when it returns. */
static void test_sq_reads_complete_in_submit(void **state)
{
	struct aedb *db = t_open_p(4, NULL);
	uint32_t ns = t_ns(db);
	struct aedb_ring ring;
	struct aedb_kv_read rd[4];
	struct aedb_kv_scan scan = { .limit = 5 };
	struct aedb_cqe *cqe;
	char bufs[4][8];

	(void)state;
	t_sets(db, "a", "1");
	t_sets(db, "b", "22");
	t_assert_rc(aedb_ring_init(db, 8, &ring, 0), 0);
	for (int i = 0; i < 4; i++) {
		struct aedb_sqe *sqe = aedb_get_sqe(&ring);

		rd[i] = (struct aedb_kv_read){ .buf = bufs[i], .buf_len = 8 };
		aedb_prep_kv_get(sqe, ns, i & 1 ? "b" : "a", 1, AEDB_LATEST, &rd[i]);
		aedb_sqe_set_data64(sqe, (uint64_t)i);
	}
	aedb_prep_kv_scan(aedb_get_sqe(&ring), ns, AEDB_LATEST, &scan);
	t_assert_rc(aedb_submit(&ring), 5);
	int seen = 0;

	aedb_for_each_cqe(&ring, cqe) {
		if (seen < 4) {
			assert_int_equal(cqe->user_data, (uint64_t)seen);
			t_assert_rc(cqe->res, seen & 1 ? 2 : 1);
		} else {
			t_assert_rc(cqe->res, 2);
		}
		seen++;
		aedb_cqe_seen(&ring, cqe);
	}
	assert_int_equal(seen, 5);
	assert_memory_equal(bufs[1], "22", 2);
	aedb_kv_page_free(scan.page);
	aedb_ring_exit(&ring);
	t_close(db);
}

static void test_sq_kv_read_small_buffer(void **state)
{
	struct aedb *db = t_open_p(2, NULL);
	uint32_t ns = t_ns(db);
	struct aedb_ring ring;
	uint8_t val[100], buf[128];
	struct aedb_kv_read rd;
	uint64_t seq;

	(void)state;
	for (int i = 0; i < 100; i++)
		val[i] = (uint8_t)(i + 1);
	seq = t_set(db, "v100", 4, val, 100);
	t_set(db, "v0", 2, NULL, 0);
	t_assert_rc(aedb_ring_init(db, 4, &ring, 0), 0);

	static const uint32_t lens[] = { 0, 1, 10, 99, 100, 128 };

	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		memset(buf, 0xee, sizeof(buf));
		rd = (struct aedb_kv_read){ .buf = buf, .buf_len = lens[i] };
		aedb_prep_kv_get(aedb_get_sqe(&ring), ns, "v100", 4, AEDB_LATEST, &rd);
		t_assert_rc(aedb_submit(&ring), 1);
		/* res is the full length; only buf_len bytes are copied */
		t_assert_rc(t_reap1(&ring).res, 100);
		assert_int_equal(rd.val_len, 100);
		assert_int_equal(rd.version, seq);
		uint32_t copied = lens[i] < 100 ? lens[i] : 100;

		if (copied)
			assert_memory_equal(buf, val, copied);
		for (uint32_t b = copied; b < sizeof(buf); b++)
			assert_int_equal(buf[b], 0xee);
	}
	/* NULL buffer of size 0: just the length */
	rd = (struct aedb_kv_read){ .buf = NULL, .buf_len = 0 };
	aedb_prep_kv_get(aedb_get_sqe(&ring), ns, "v100", 4, AEDB_LATEST, &rd);
	t_assert_rc(aedb_submit(&ring), 1);
	t_assert_rc(t_reap1(&ring).res, 100);
	assert_int_equal(rd.val_len, 100);
	/* an empty value */
	rd = (struct aedb_kv_read){ .buf = NULL, .buf_len = 0, .val_len = 77 };
	aedb_prep_kv_get(aedb_get_sqe(&ring), ns, "v0", 2, AEDB_LATEST, &rd);
	t_assert_rc(aedb_submit(&ring), 1);
	t_assert_rc(t_reap1(&ring).res, 0);
	assert_int_equal(rd.val_len, 0);
	aedb_ring_exit(&ring);
	t_close(db);
}

/* The CQ holds 2 * entries: beyond that, submit says -AEDB_EBUSY and keeps the SQEs. */
static void test_sq_cq_full_ebusy(void **state)
{
	struct aedb *db = t_open_p(2, NULL);
	struct aedb_ring ring;
	struct aedb_cqe *cqe;
	uint64_t next = 0, want = 0;

	(void)state;
	t_assert_rc(aedb_ring_init(db, 4, &ring, 0), 0);
	for (int batch = 0; batch < 2; batch++) {
		for (int i = 0; i < 4; i++) {
			struct aedb_sqe *sqe = aedb_get_sqe(&ring);

			aedb_prep_nop(sqe);
			aedb_sqe_set_data64(sqe, next++);
		}
		t_assert_rc(aedb_submit(&ring), 4);
	}
	assert_int_equal(aedb_ring_inflight(&ring), 8);
	/* 4 more prepared: none fits */
	for (int i = 0; i < 4; i++) {
		struct aedb_sqe *sqe = aedb_get_sqe(&ring);

		aedb_prep_nop(sqe);
		aedb_sqe_set_data64(sqe, next++);
	}
	t_assert_rc(aedb_submit(&ring), -AEDB_EBUSY);
	t_assert_rc(aedb_submit(&ring), -AEDB_EBUSY);
	assert_int_equal(aedb_ring_inflight(&ring), 8);
	/* still queued: the SQ is full */
	assert_null(aedb_get_sqe(&ring));
	/* free two completions: two fit */
	for (int i = 0; i < 2; i++) {
		t_assert_rc(aedb_wait_cqe(&ring, &cqe), 0);
		assert_int_equal(cqe->user_data, want++);
		aedb_cqe_seen(&ring, cqe);
	}
	t_assert_rc(aedb_submit(&ring), 2);
	t_assert_rc(aedb_submit(&ring), -AEDB_EBUSY);
	/* drain everything, then the last two go */
	for (int i = 0; i < 8; i++) {
		t_assert_rc(aedb_wait_cqe(&ring, &cqe), 0);
		assert_int_equal(cqe->user_data, want++);
		aedb_cqe_seen(&ring, cqe);
	}
	t_assert_rc(aedb_submit(&ring), 2);
	for (int i = 0; i < 2; i++) {
		t_assert_rc(aedb_wait_cqe(&ring, &cqe), 0);
		assert_int_equal(cqe->user_data, want++);
		aedb_cqe_seen(&ring, cqe);
	}
	assert_int_equal(want, 12);
	assert_int_equal(aedb_ring_inflight(&ring), 0);
	aedb_ring_exit(&ring);
	t_close(db);
}

/*
 * Write keys[0..n) through @ring, reaping only when the CQ is full or all is
 * submitted, so that the in-flight count grows. Returns the most in flight.
 */
static uint32_t t_pipeline_writes(struct aedb *db, struct aedb_ring *ring, uint32_t ns,
				  char (*keys)[12], uint64_t *seqs, uint32_t n)
{
	uint8_t *seen = calloc(n, 1);
	uint32_t prepared = 0, done = 0, max_inflight = 0;
	uint64_t deadline = t_now_ns() + 30000000000ull;
	const uint32_t cap = 2 * ring->sq_entries;
	struct aedb_cqe *cqe;

	while (done < n) {
		struct aedb_sqe *sqe;

		while (prepared < n && (sqe = aedb_get_sqe(ring))) {
			snprintf(keys[prepared], sizeof(keys[prepared]), "m%05u", prepared);
			aedb_prep_kv_set(sqe, ns, keys[prepared], 6, keys[prepared], 6,
					 AEDB_FINALITY_VISIBLE, &seqs[prepared]);
			aedb_sqe_set_data64(sqe, prepared);
			prepared++;
		}
		int rc = aedb_submit(ring);

		if (rc < 0 && rc != -AEDB_EBUSY)
			fail_msg("submit: %s", aedb_strerror(rc));
		if (aedb_ring_inflight(ring) > max_inflight)
			max_inflight = aedb_ring_inflight(ring);
		if (aedb_ring_inflight(ring) >= cap ||
		    (prepared == n && ring->sq_head == ring->sq_tail)) {
			t_assert_rc(aedb_wait_cqe(ring, &cqe), 0);
			do {
				uint64_t ud = cqe->user_data;

				assert_true(ud < n);
				assert_int_equal(seen[ud], 0);
				seen[ud] = 1;
				t_assert_rc(cqe->res, 0);
				aedb_cqe_seen(ring, cqe);
				done++;
			} while (aedb_peek_cqe(ring, &cqe) == 0);
		} else if (rc == -AEDB_EBUSY) {
			sched_yield(); /* a shard inbox is full: let it drain */
		}
		if (t_now_ns() > deadline) {
			struct aedb_stats st = t_stats(db);

			fail_msg("stuck: %u of %u done, %u prepared, %u queued, %u in "
				 "flight, last submit %d; commits %llu V %llu D %llu "
				 "inbox_depth %llu",
				 done, n, prepared, ring->sq_tail - ring->sq_head,
				 aedb_ring_inflight(ring), rc, (unsigned long long)st.commits,
				 (unsigned long long)st.visible_seq,
				 (unsigned long long)st.durable_seq,
				 (unsigned long long)st.inbox_depth);
		}
	}
	free(seen);
	return max_inflight;
}

/* With every slot in flight and unseen, one more is -AEDB_EBUSY. */
static void t_fill_cq_then_ebusy(struct aedb_ring *ring)
{
	const uint32_t cap = 2 * ring->sq_entries;
	struct aedb_cqe *cqe;

	for (uint32_t i = 0; i < cap; i++) {
		struct aedb_sqe *sqe = aedb_get_sqe(ring);

		if (!sqe) {
			assert_true(aedb_submit(ring) > 0);
			sqe = aedb_get_sqe(ring);
		}
		aedb_prep_nop(sqe);
	}
	while (ring->sq_head != ring->sq_tail)
		assert_true(aedb_submit(ring) > 0);
	assert_int_equal(aedb_ring_inflight(ring), cap);
	aedb_prep_nop(aedb_get_sqe(ring));
	t_assert_rc(aedb_submit(ring), -AEDB_EBUSY);
	t_assert_rc(aedb_wait_cqe(ring, &cqe), 0);
	aedb_cqe_seen(ring, cqe);
	t_assert_rc(aedb_submit(ring), 1);
}

/* Thousands of writes in flight from one ring, across shards. */
static void test_sq_many_in_flight(void **state)
{
	enum { ENTRIES = 4096, N = 2 * ENTRIES };

	(void)state;
	for (int si = 0; si < T_NSHARD_COUNTS; si++) {
		struct aedb *db = t_open_p(t_shard_counts[si], NULL);
		uint32_t ns = t_ns(db), max_inflight;
		struct aedb_ring ring;
		char (*keys)[12] = malloc(N * sizeof(*keys));
		uint64_t *seqs = calloc(N, sizeof(*seqs));

		t_assert_rc(aedb_ring_init(db, ENTRIES, &ring, 0), 0);
		assert_int_equal(ring.sq_entries, ENTRIES);
		/* the soak build repeats the burst (same keys: overwrites) */
		for (int round = 1; round < T_SQ_ROUNDS; round++)
			t_pipeline_writes(db, &ring, ns, keys, seqs, N);
		max_inflight = t_pipeline_writes(db, &ring, ns, keys, seqs, N);
		print_message("shards %u: max in flight %u\n", t_shard_counts[si], max_inflight);
		assert_true(max_inflight >= 4096);
		assert_int_equal(aedb_ring_inflight(&ring), 0);

		/* every write applied once, with distinct seqs */
		uint64_t v = aedb_visible_seq(db);

		for (uint32_t i = 0; i < N; i++) {
			assert_true(seqs[i] > 0 && seqs[i] <= v);
			t_expect(db, keys[i], 6, keys[i], 6, seqs[i], AEDB_LATEST);
		}
		qsort(seqs, N, sizeof(*seqs), t_u64_cmp);
		for (uint32_t i = 1; i < N; i++)
			assert_true(seqs[i] > seqs[i - 1]);
		t_fill_cq_then_ebusy(&ring);
		/* leave them all unseen: exit discards them */
		aedb_ring_exit(&ring);
		free(keys);
		free(seqs);
		t_close(db);
	}
}

static void test_sq_eventfd_always(void **state)
{
	struct aedb *db = t_open_p(2, NULL);
	uint32_t ns = t_ns(db);
	struct aedb_ring ring;
	struct aedb_cqe *cqe;
	struct pollfd pfd;
	uint64_t cnt;
	char buf[8];
	struct aedb_kv_read rd = { .buf = buf, .buf_len = sizeof(buf) };

	(void)state;
	t_assert_rc(aedb_ring_init(db, 8, &ring, AEDB_RING_EVENTFD_ALWAYS), 0);
	pfd.fd = aedb_ring_fd(&ring);
	pfd.events = POLLIN;
	assert_true(pfd.fd >= 0);
	for (int round = 0; round < 3; round++) {
		/* a write completes on a shard: the fd becomes readable */
		aedb_prep_kv_set(aedb_get_sqe(&ring), ns, "e", 1, "v", 1, AEDB_FINALITY_VISIBLE,
				 NULL);
		t_assert_rc(aedb_submit(&ring), 1);
		pfd.revents = 0;
		assert_int_equal(poll(&pfd, 1, 10000), 1);
		assert_true(pfd.revents & POLLIN);
		assert_int_equal(read(pfd.fd, &cnt, sizeof(cnt)), (ssize_t)sizeof(cnt));
		assert_true(cnt > 0);
		/* after the eventfd fired, the CQE is there without waiting */
		t_assert_rc(aedb_peek_cqe(&ring, &cqe), 0);
		t_assert_rc(cqe->res, 0);
		aedb_cqe_seen(&ring, cqe);
		t_assert_rc(aedb_peek_cqe(&ring, &cqe), -EAGAIN);
	}
	/* a read's completion batch signals too */
	aedb_prep_kv_get(aedb_get_sqe(&ring), ns, "e", 1, AEDB_LATEST, &rd);
	t_assert_rc(aedb_submit(&ring), 1);
	pfd.revents = 0;
	assert_int_equal(poll(&pfd, 1, 10000), 1);
	assert_int_equal(read(pfd.fd, &cnt, sizeof(cnt)), (ssize_t)sizeof(cnt));
	t_assert_rc(aedb_peek_cqe(&ring, &cqe), 0);
	t_assert_rc(cqe->res, 1);
	aedb_cqe_seen(&ring, cqe);
	aedb_ring_exit(&ring);
	t_close(db);
}

/* Submit one prepared SQE and return its CQE res; user_data must round-trip. */
static int t_one(struct aedb_ring *ring, struct aedb_sqe *sqe)
{
	static uint64_t tag = 0x5eed0000;
	struct aedb_cqe c;

	aedb_sqe_set_data64(sqe, ++tag);
	t_assert_rc(aedb_submit(ring), 1);
	c = t_reap1(ring);
	assert_int_equal(c.user_data, tag);
	return c.res;
}

static void t_expect_one_of(int res, int a, int b, const char *what)
{
	if (res != a && res != b)
		fail_msg("%s: res %d (%s), want %s or %s", what, res, aedb_strerror(res),
			 aedb_strerror(a), aedb_strerror(b));
}

/* What the malformed-SQE checks share. */
struct t_mal {
	struct aedb_ring ring;
	uint32_t ns;
	uint64_t v; /* visible seq before any of them */
	struct aedb_kv_read rd;
};

static uint8_t t_bigkey[1025];
static uint8_t t_bigval[(1u << 20) + 1];

static void t_mal_opcode_flags_ns(struct t_mal *m)
{
	static const uint32_t bad_ns[] = { 0xffffffffu, 0x7fffffffu, 123456 };
	struct aedb_sqe *sqe;
	uint64_t seq = 0;

	/* unknown opcodes */
	sqe = aedb_get_sqe(&m->ring);
	sqe->opcode = AEDB_OP_LAST;
	t_expect_one_of(t_one(&m->ring, sqe), -AEDB_EINVAL, -AEDB_EMISUSE, "opcode LAST");
	sqe = aedb_get_sqe(&m->ring);
	sqe->opcode = 0xff;
	sqe->ns = m->ns;
	sqe->key = "k";
	sqe->key_len = 1;
	t_expect_one_of(t_one(&m->ring, sqe), -AEDB_EINVAL, -AEDB_EMISUSE, "opcode 0xff");
	/* flags must be zero, on every opcode */
	sqe = aedb_get_sqe(&m->ring);
	aedb_prep_nop(sqe);
	sqe->flags = 1;
	t_expect_one_of(t_one(&m->ring, sqe), -AEDB_EINVAL, -AEDB_EMISUSE, "nop flags");
	sqe = aedb_get_sqe(&m->ring);
	aedb_prep_kv_set(sqe, m->ns, "k", 1, "bad", 3, AEDB_FINALITY_VISIBLE, &seq);
	sqe->flags = 0x80;
	t_expect_one_of(t_one(&m->ring, sqe), -AEDB_EINVAL, -AEDB_EMISUSE, "set flags");
	sqe = aedb_get_sqe(&m->ring);
	aedb_prep_kv_get(sqe, m->ns, "k", 1, AEDB_LATEST, &m->rd);
	sqe->flags = 2;
	t_expect_one_of(t_one(&m->ring, sqe), -AEDB_EINVAL, -AEDB_EMISUSE, "get flags");
	/* namespaces that never existed */
	for (size_t i = 0; i < 3; i++) {
		sqe = aedb_get_sqe(&m->ring);
		aedb_prep_kv_set(sqe, bad_ns[i], "k", 1, "bad", 3, AEDB_FINALITY_VISIBLE, &seq);
		t_expect_one_of(t_one(&m->ring, sqe), -AEDB_ENOSCOPE, -AEDB_EINVAL, "set ns");
		sqe = aedb_get_sqe(&m->ring);
		aedb_prep_kv_del(sqe, bad_ns[i], "k", 1, AEDB_FINALITY_VISIBLE, &seq);
		t_expect_one_of(t_one(&m->ring, sqe), -AEDB_ENOSCOPE, -AEDB_EINVAL, "del ns");
		sqe = aedb_get_sqe(&m->ring);
		aedb_prep_kv_get(sqe, bad_ns[i], "k", 1, AEDB_LATEST, &m->rd);
		t_expect_one_of(t_one(&m->ring, sqe), -AEDB_ENOSCOPE, -AEDB_EINVAL, "get ns");
	}
}

static void t_mal_pointers_sizes(struct t_mal *m)
{
	struct aedb_ring *ring = &m->ring;
	struct aedb_sqe *sqe;

	/* NULL pointers with lengths; NULL result structs */
	aedb_prep_kv_set(sqe = aedb_get_sqe(ring), m->ns, NULL, 1, "b", 1, 0, NULL);
	t_assert_rc(t_one(ring, sqe), -AEDB_EMISUSE);
	aedb_prep_kv_set(sqe = aedb_get_sqe(ring), m->ns, "k", 1, NULL, 3, 0, NULL);
	t_assert_rc(t_one(ring, sqe), -AEDB_EMISUSE);
	aedb_prep_kv_del(sqe = aedb_get_sqe(ring), m->ns, NULL, 1, 0, NULL);
	t_assert_rc(t_one(ring, sqe), -AEDB_EMISUSE);
	aedb_prep_kv_get(sqe = aedb_get_sqe(ring), m->ns, "k", 1, AEDB_LATEST, NULL);
	t_assert_rc(t_one(ring, sqe), -AEDB_EMISUSE);
	aedb_prep_kv_get(sqe = aedb_get_sqe(ring), m->ns, NULL, 1, AEDB_LATEST, &m->rd);
	t_assert_rc(t_one(ring, sqe), -AEDB_EMISUSE);
	aedb_prep_kv_scan(sqe = aedb_get_sqe(ring), m->ns, AEDB_LATEST, NULL);
	t_assert_rc(t_one(ring, sqe), -AEDB_EMISUSE);
	/* a read buffer NULL with a length */
	struct aedb_kv_read nullbuf = { .buf = NULL, .buf_len = 8 };

	aedb_prep_kv_get(sqe = aedb_get_sqe(ring), m->ns, "k", 1, AEDB_LATEST, &nullbuf);
	t_expect_one_of(t_one(ring, sqe), -AEDB_EMISUSE, -AEDB_EINVAL, "NULL buf");
	/* sizes */
	aedb_prep_kv_set(sqe = aedb_get_sqe(ring), m->ns, t_bigkey, 1025, "b", 1, 0, NULL);
	t_assert_rc(t_one(ring, sqe), -AEDB_ETOOBIG);
	aedb_prep_kv_set(sqe = aedb_get_sqe(ring), m->ns, "k", 1, t_bigval, sizeof(t_bigval), 0,
			 NULL);
	t_assert_rc(t_one(ring, sqe), -AEDB_ETOOBIG);
	aedb_prep_kv_del(sqe = aedb_get_sqe(ring), m->ns, t_bigkey, 1025, 0, NULL);
	t_assert_rc(t_one(ring, sqe), -AEDB_ETOOBIG);
	aedb_prep_kv_get(sqe = aedb_get_sqe(ring), m->ns, t_bigkey, 1025, AEDB_LATEST, &m->rd);
	t_assert_rc(t_one(ring, sqe), -AEDB_ETOOBIG);
}

static void t_mal_modes_scans(struct t_mal *m)
{
	struct aedb_ring *ring = &m->ring;
	struct aedb_at bad_mode = { 7, 0, 0 }, ckpt = { AEDB_AT_CHECKPOINT, 0, 0 };
	struct aedb_kv_bound b = { "a", 1, AEDB_BOUND_INCLUDED }, bad = { "a", 1, 9 };
	struct aedb_kv_scan sc = { .prefix = "k", .prefix_len = 1, .limit = 0 };
	struct aedb_sqe *sqe;

	/* finality and consistency */
	aedb_prep_kv_set(sqe = aedb_get_sqe(ring), m->ns, "k", 1, "bad", 3, 2, NULL);
	t_assert_rc(t_one(ring, sqe), -AEDB_EINVAL);
	aedb_prep_kv_del(sqe = aedb_get_sqe(ring), m->ns, "k", 1, 200, NULL);
	t_assert_rc(t_one(ring, sqe), -AEDB_EINVAL);
	aedb_prep_kv_get(sqe = aedb_get_sqe(ring), m->ns, "k", 1, bad_mode, &m->rd);
	t_assert_rc(t_one(ring, sqe), -AEDB_EINVAL);
	aedb_prep_kv_get(sqe = aedb_get_sqe(ring), m->ns, "k", 1, ckpt, &m->rd);
	t_assert_rc(t_one(ring, sqe), -AEDB_ESEQGC);
	aedb_prep_kv_get(sqe = aedb_get_sqe(ring), m->ns, "k", 1, AEDB_SEQ(m->v + 1000), &m->rd);
	t_assert_rc(t_one(ring, sqe), -AEDB_ESEQFUTURE);
	/* scans: limit 0, prefix together with bounds, bad bound kind */
	aedb_prep_kv_scan(sqe = aedb_get_sqe(ring), m->ns, AEDB_LATEST, &sc);
	t_assert_rc(t_one(ring, sqe), -AEDB_EINVAL);
	sc = (struct aedb_kv_scan){ .prefix = "k", .prefix_len = 1, .limit = 5, .start = &b };
	aedb_prep_kv_scan(sqe = aedb_get_sqe(ring), m->ns, AEDB_LATEST, &sc);
	t_expect_one_of(t_one(ring, sqe), -AEDB_EINVAL, -AEDB_EMISUSE, "prefix+bound");
	sc = (struct aedb_kv_scan){ .limit = 5, .end = &bad };
	aedb_prep_kv_scan(sqe = aedb_get_sqe(ring), m->ns, AEDB_LATEST, &sc);
	t_assert_rc(t_one(ring, sqe), -AEDB_EINVAL);
	sc = (struct aedb_kv_scan){ .limit = 5 };
	aedb_prep_kv_scan(sqe = aedb_get_sqe(ring), m->ns, ckpt, &sc);
	t_assert_rc(t_one(ring, sqe), -AEDB_ESEQGC);
}

/* A batch mixing bad and good SQEs: the good one still applies. */
static void t_mal_mixed_batch(struct aedb *db, struct t_mal *m)
{
	struct aedb_sqe *sqe;
	uint64_t good_seq = 0;
	int got = 0;

	sqe = aedb_get_sqe(&m->ring);
	sqe->opcode = 77;
	aedb_sqe_set_data64(sqe, 1);
	sqe = aedb_get_sqe(&m->ring);
	aedb_prep_kv_set(sqe, m->ns, "k", 1, "good", 4, AEDB_FINALITY_VISIBLE, &good_seq);
	aedb_sqe_set_data64(sqe, 2);
	sqe = aedb_get_sqe(&m->ring);
	aedb_prep_kv_set(sqe, m->ns, t_bigkey, 1025, "bad", 3, AEDB_FINALITY_VISIBLE, NULL);
	aedb_sqe_set_data64(sqe, 3);
	t_assert_rc(aedb_submit(&m->ring), 3);
	for (int i = 0; i < 3; i++) {
		struct aedb_cqe c = t_reap1(&m->ring);

		got |= 1 << c.user_data;
		if (c.user_data == 2)
			t_assert_rc(c.res, 0);
		else
			assert_true(c.res < 0);
	}
	assert_int_equal(got, 0xe);
	t_expect(db, "k", 1, "good", 4, good_seq, AEDB_LATEST);
}

/* Malformed SQEs complete with an error CQE, change nothing, crash nothing. */
static void test_sq_malformed_sqes(void **state)
{
	(void)state;
	for (int si = 0; si < T_NSHARD_COUNTS; si++) {
		struct aedb *db = t_open_p(t_shard_counts[si], NULL);
		struct t_mal m = { .ns = t_ns(db) };
		uint64_t s = t_sets(db, "k", "orig");

		m.v = aedb_visible_seq(db);
		t_assert_rc(aedb_ring_init(db, 8, &m.ring, 0), 0);
		t_mal_opcode_flags_ns(&m);
		t_mal_pointers_sizes(&m);
		t_mal_modes_scans(&m);
		/* nothing was written */
		assert_int_equal(aedb_visible_seq(db), m.v);
		t_expect(db, "k", 1, "orig", 4, s, AEDB_LATEST);
		t_mal_mixed_batch(db, &m);
		aedb_ring_exit(&m.ring);
		t_close(db);
	}
}

/*
 * Every seen CQE frees room for one more request at once: with the CQ full,
 * reaping one completion and submitting again must work (never -AEDB_EBUSY
 * forever, never a crash), however fast the shards complete.
 */
static void test_sq_reuse_after_seen(void **state)
{
	enum { N = 20000 };

	(void)state;
	for (int si = 0; si < T_NSHARD_COUNTS; si++) {
		struct aedb *db = t_open_p(t_shard_counts[si], NULL);
		uint32_t ns = t_ns(db);
		struct aedb_ring ring;
		uint32_t sent = 0, done = 0;
		uint64_t deadline = t_now_ns() + 60000000000ull;
		/* a key must stay unchanged until its CQE is seen: one buffer each */
		static char keys[N][8];

		t_assert_rc(aedb_ring_init(db, 1, &ring, 0), 0);
		while (done < N) {
			struct aedb_sqe *sqe;
			struct aedb_cqe *cqe;

			if (sent < N && (sqe = aedb_get_sqe(&ring))) {
				snprintf(keys[sent], sizeof(keys[sent]), "r%u", sent % 50);
				aedb_prep_kv_set(sqe, ns, keys[sent], (uint32_t)strlen(keys[sent]),
						 "v", 1, AEDB_FINALITY_VISIBLE, NULL);
				sent++;
			}
			int rc = aedb_submit(&ring);

			if (rc < 0 && rc != -AEDB_EBUSY)
				fail_msg("submit: %s", aedb_strerror(rc));
			if (aedb_ring_inflight(&ring) == 2 || sent == N) {
				if (aedb_ring_inflight(&ring) == 0 && ring.sq_head == ring.sq_tail)
					break;
				if (aedb_ring_inflight(&ring) == 0)
					continue;
				t_assert_rc(aedb_wait_cqe(&ring, &cqe), 0);
				t_assert_rc(cqe->res, 0);
				aedb_cqe_seen(&ring, cqe);
				done++;
			}
			if (t_now_ns() > deadline)
				fail_msg("stuck at %u of %u", done, N);
		}
		assert_int_equal(done, N);
		aedb_ring_exit(&ring);
		t_close(db);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sq_ring_init_exit),
		cmocka_unit_test(test_sq_get_sqe_full_and_zeroed),
		cmocka_unit_test(test_sq_wait_and_peek_nothing_in_flight),
		cmocka_unit_test(test_sq_ring_misuse),
		cmocka_unit_test(test_sq_kv_ops_results),
		cmocka_unit_test(test_sq_scan_pages),
		cmocka_unit_test(test_sq_reads_complete_in_submit),
		cmocka_unit_test(test_sq_kv_read_small_buffer),
		cmocka_unit_test(test_sq_cq_full_ebusy),
		cmocka_unit_test(test_sq_eventfd_always),
		cmocka_unit_test(test_sq_malformed_sqes),
		cmocka_unit_test(test_sq_many_in_flight),
		cmocka_unit_test(test_sq_reuse_after_seen),
	};

	t_require_engine();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
