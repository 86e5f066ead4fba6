/* SPDX-License-Identifier: MIT */
/*
 * aedb_operational_metrics(): counts match the commits done, per-shard
 * figures add up to the totals, watermarks are ordered and their lag is 0
 * when idle, latency quantiles are ordered and real, refused commits count
 * as errors, checkpoint and WAL figures follow what happened, and the
 * invariants hold while writer threads run (the TSan build checks that the
 * reads race nothing).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "it_common.h"

static struct aedb_operational_metrics *t_met(struct aedb *db)
{
	struct aedb_operational_metrics *m = malloc(sizeof(*m));

	assert_non_null(m);
	t_assert_rc(aedb_operational_metrics(db, m), 0);
	return m;
}

/* Invariants every read must satisfy. */
static void t_met_check(const struct aedb_operational_metrics *m, uint32_t nshards)
{
	uint64_t commits = 0, done = 0, seg = 0, mem = 0, errors = 0;

	assert_int_equal(m->nshards, nshards);
	assert_true(m->durable_seq <= m->visible_seq);
	assert_true(m->visible_seq <= m->allocated_seq);
	assert_int_equal(m->visible_lag, m->allocated_seq - m->visible_seq);
	assert_int_equal(m->durable_lag, m->visible_seq - m->durable_seq);
	assert_true(m->latency_ns_p50 <= m->latency_ns_p99);
	assert_true(m->latency_ns_p99 <= m->latency_ns_p999);
	assert_true(m->latency_ns_p999 <= m->latency_ns_max);
	assert_true(m->errors <= m->completed);
	for (uint32_t i = 0; i < nshards; i++) {
		const struct aedb_shard_metrics *s = &m->shards[i];

		commits += s->commits;
		done += s->completed;
		errors += s->errors;
		seg += s->wal_segments;
		mem += s->memory_bytes;
		assert_true(s->latency_ns_p50 <= s->latency_ns_p99);
		assert_true(s->latency_ns_p999 <= s->latency_ns_max);
		assert_true(s->latency_ns_max <= m->latency_ns_max);
		assert_true(s->memory_used_bytes <= s->memory_bytes);
	}
	for (uint32_t i = nshards; i < AEDB_SHARDS_MAX; i++)
		assert_int_equal(m->shards[i].commits, 0);
	assert_int_equal(commits, m->commits);
	assert_int_equal(done, m->completed);
	assert_int_equal(errors, m->errors);
	assert_int_equal(seg, m->wal_segments);
	assert_int_equal(mem, m->memory_bytes);
}

static void test_metrics_count_commits(void **state)
{
	struct aedb *db = t_open_p(2, NULL);
	struct aedb_operational_metrics *a = t_met(db), *b;
	uint64_t last = 0;
	char key[32];

	(void)state;
	t_met_check(a, 2);
	assert_true(a->commits >= 1); /* the project's creation */
	for (int i = 0; i < 300; i++) {
		snprintf(key, sizeof(key), "k%03d", i);
		t_assert_rc(aedb_kv_set(db, T_P, T_S, key, strlen(key), "v", 1,
					i % 3 ? AEDB_FINALITY_VISIBLE : AEDB_FINALITY_DURABLE,
					&last), 0);
	}
	t_assert_rc(aedb_force_fsync(db), 0);
	b = t_met(db);
	t_met_check(b, 2);
	assert_int_equal(b->commits - a->commits, 300);
	assert_int_equal(b->completed - a->completed, 300);
	assert_int_equal(b->errors, 0);
	assert_int_equal(b->allocated_seq, last);
	/* Idle after a forced fsync: everything visible and durable. */
	assert_int_equal(b->visible_seq, last);
	assert_int_equal(b->durable_seq, last);
	assert_int_equal(b->visible_lag, 0);
	assert_int_equal(b->durable_lag, 0);
	assert_int_equal(b->inbox_depth, 0);
	assert_int_equal(b->parked, 0);
	assert_int_equal(b->snapshots_active, 0);
	/* A blocking commit takes at least a microsecond (a wake-up each
	 * way), and the mean lies within the samples. */
	assert_true(b->latency_ns_p50 >= 1000);
	assert_true(b->latency_ns_mean > 0 && b->latency_ns_mean <= b->latency_ns_max);
	assert_true(b->wal_bytes > a->wal_bytes);
	assert_true(b->wal_writes > a->wal_writes);
	for (uint32_t i = 0; i < 2; i++) {
		assert_true(b->shards[i].commits > 0); /* 300 keys land on both */
		assert_true(b->shards[i].wal_segments >= 1);
		assert_true(b->shards[i].wal_disk_bytes > 0);
		assert_true(b->shards[i].memory_bytes > 0);
	}
	assert_true(b->keys >= 300);
	assert_true(b->uptime_ms >= a->uptime_ms);
	free(a);
	free(b);
	t_close(db);
}

static void test_metrics_refused_commit_is_an_error(void **state)
{
	struct aedb *db = t_open_p(2, NULL);
	struct aedb_operational_metrics *a = t_met(db), *b;
	struct aedb_txn *t;

	(void)state;
	t_assert_rc(aedb_txn_create(db, &t), 0);
	t_assert_rc(aedb_txn_assert_exists(t, T_P, T_S, "nope", 4, 1), 0);
	t_assert_rc(aedb_txn_kv_set(t, T_P, T_S, "x", 1, "y", 1), 0);
	t_assert_rc(aedb_commit(db, t, NULL), -AEDB_EASSERT);
	aedb_txn_free(t);
	/* Refused at the API boundary: never reaches a shard, not counted. */
	t_assert_rc(aedb_kv_set(db, T_P, T_S, "", 0, "v", 1, 7, NULL), -AEDB_EINVAL);
	b = t_met(db);
	t_met_check(b, 2);
	assert_int_equal(b->commits, a->commits);
	assert_int_equal(b->completed - a->completed, 1);
	assert_int_equal(b->errors - a->errors, 1);
	assert_int_equal(b->allocated_seq, a->allocated_seq);
	free(a);
	free(b);
	t_close(db);
}

static void test_metrics_checkpoint(void **state)
{
	struct aedb *db = t_open_p(3, NULL);
	struct aedb_checkpoint_result cr;
	struct aedb_operational_metrics *m;

	(void)state;
	for (int i = 0; i < 50; i++)
		t_set(db, &i, sizeof(i), "v", 1);
	m = t_met(db);
	assert_int_equal(m->checkpoint_seq, 0);
	assert_int_equal(m->checkpoint_lag, m->visible_seq);
	free(m);
	t_assert_rc(aedb_checkpoint_now(db, &cr), 0);
	m = t_met(db);
	t_met_check(m, 3);
	assert_int_equal(m->checkpoint_seq, cr.seq);
	assert_int_equal(m->checkpoint_lag, m->visible_seq - cr.seq);
	assert_int_equal(m->checkpoint_lag, 0);
	assert_true(m->checkpoint_duration_ns > 0);
	assert_true(m->checkpoint_age_ms < 60000);
	free(m);
	t_set(db, "after", 5, "v", 1);
	m = t_met(db);
	assert_int_equal(m->checkpoint_lag, 1);
	t_assert_rc(aedb_operational_metrics(NULL, m), -AEDB_EMISUSE);
	t_assert_rc(aedb_operational_metrics(db, NULL), -AEDB_EMISUSE);
	free(m);
	t_close(db);
}

#define MW_THREADS 3
#define MW_RING 64
#define MW_PER_THREAD 3000

struct mw_arg {
	struct aedb *db;
	uint32_t ns, tid;
};

/* Pipelined writes through a ring: many requests per aedb_submit(). */
static void *mw_writer(void *p)
{
	struct mw_arg *a = p;
	struct aedb_ring ring;
	/* One key buffer per request: completions come in any order, so a
	 * buffer is free only once its own CQE was seen. */
	uint64_t *keys = malloc(MW_PER_THREAD * sizeof(*keys));
	uint32_t sent = 0, done = 0;
	int rc = keys ? aedb_ring_init(a->db, MW_RING, &ring, 0) : -1;
	int ring_ok = rc == 0;

	T_CHECK(rc == 0, "ring: %s", aedb_strerror(rc));
	while (rc == 0 && done < MW_PER_THREAD) {
		struct aedb_cqe *cqe;

		while (sent < MW_PER_THREAD && sent - done < MW_RING) {
			struct aedb_sqe *sqe = aedb_get_sqe(&ring);

			if (!sqe)
				break;
			keys[sent] = ((uint64_t)a->tid << 32) | sent;
			aedb_prep_kv_set(sqe, a->ns, &keys[sent], 8, "v", 1,
					 AEDB_FINALITY_VISIBLE, NULL);
			sent++;
		}
		T_CHECK(aedb_submit(&ring) >= 0, "submit");
		rc = aedb_wait_cqe(&ring, &cqe);
		T_CHECK(rc == 0, "wait: %d", rc);
		if (rc)
			break;
		T_CHECK(cqe->res == 0, "cqe: %d", cqe->res);
		aedb_cqe_seen(&ring, cqe);
		done++;
	}
	if (ring_ok)
		aedb_ring_exit(&ring);
	free(keys);
	return NULL;
}

static void test_metrics_under_load(void **state)
{
	struct aedb *db = t_open_p(2, NULL);
	struct aedb_operational_metrics *a = t_met(db), *m = malloc(sizeof(*m));
	struct mw_arg args[MW_THREADS];
	pthread_t th[MW_THREADS];
	uint64_t prev = a->commits;
	uint32_t ns;

	(void)state;
	assert_non_null(m);
	t_assert_rc(aedb_scope_id(db, T_P, T_S, &ns), 0);
	for (uint32_t i = 0; i < MW_THREADS; i++) {
		args[i] = (struct mw_arg){ .db = db, .ns = ns, .tid = i };
		assert_int_equal(pthread_create(&th[i], NULL, mw_writer, &args[i]), 0);
	}
	for (int k = 0; k < 200; k++) {
		t_assert_rc(aedb_operational_metrics(db, m), 0);
		t_met_check(m, 2);
		assert_true(m->commits >= prev);
		prev = m->commits;
	}
	for (uint32_t i = 0; i < MW_THREADS; i++)
		pthread_join(th[i], NULL);
	assert_int_equal(t_thread_failed(), 0);
	t_assert_rc(aedb_operational_metrics(db, m), 0);
	t_met_check(m, 2);
	assert_int_equal(m->commits - a->commits, MW_THREADS * MW_PER_THREAD);
	assert_int_equal(m->completed - a->completed, MW_THREADS * MW_PER_THREAD);
	assert_int_equal(m->visible_lag, 0);
	assert_int_equal(m->parked, 0);
	free(a);
	free(m);
	t_close(db);
}

/* aedb_operational_metrics_json(): every field, each shard, snprintf's
 * truncation contract, the documented size bound. */
static void test_metrics_json(void **state)
{
	struct aedb *db = t_open_p(2, NULL);
	struct aedb_operational_metrics *m = t_met(db);
	char buf[8192], want[64], small[16];
	long n = aedb_operational_metrics_json(m, buf, sizeof(buf));

	(void)state;
	assert_true(n > 0 && (size_t)n == strlen(buf));
	assert_true(buf[0] == '{' && buf[n - 1] == '}');
	snprintf(want, sizeof(want), "{\"nshards\":2,\"uptime_ms\":%llu,",
		 (unsigned long long)m->uptime_ms);
	assert_memory_equal(buf, want, strlen(want));
	snprintf(want, sizeof(want), ",\"commits\":%llu,", (unsigned long long)m->commits);
	assert_non_null(strstr(buf, want));
	snprintf(want, sizeof(want), ",\"versions\":%llu,\"shards\":[{\"shard\":0,\"commits\":",
		 (unsigned long long)m->versions);
	assert_non_null(strstr(buf, want));
	assert_non_null(strstr(buf, "},{\"shard\":1,"));
	assert_null(strstr(buf, "\"shard\":2"));
	assert_int_equal(aedb_operational_metrics_json(m, NULL, 0), n);
	assert_int_equal(aedb_operational_metrics_json(m, small, sizeof(small)), n);
	assert_int_equal(strlen(small), sizeof(small) - 1);
	assert_memory_equal(small, buf, sizeof(small) - 1);
	assert_int_equal(aedb_operational_metrics_json(NULL, buf, sizeof(buf)), -AEDB_EMISUSE);
	assert_int_equal(aedb_operational_metrics_json(m, NULL, 5), -AEDB_EMISUSE);
	/* the largest text: every counter at its maximum, every shard */
	memset(m, 0xff, sizeof(*m));
	m->nshards = AEDB_SHARDS_MAX + 1;
	assert_int_equal(aedb_operational_metrics_json(m, buf, sizeof(buf)), -AEDB_EMISUSE);
	m->nshards = AEDB_SHARDS_MAX;
	n = aedb_operational_metrics_json(m, NULL, 0);
	assert_true(n > 0 && n <= 2048 + 1024 * AEDB_SHARDS_MAX);
	free(m);
	t_close(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_metrics_count_commits),
		cmocka_unit_test(test_metrics_refused_commit_is_an_error),
		cmocka_unit_test(test_metrics_checkpoint),
		cmocka_unit_test(test_metrics_under_load),
		cmocka_unit_test(test_metrics_json),
	};

	t_require_engine();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
