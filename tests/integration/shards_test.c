/* SPDX-License-Identifier: MIT */
/*
 * shards_test - behaviour that depends on the shard layout: shard counts up to
 * AEDB_SHARDS_MAX, one global seq space shared by concurrent writers on every
 * shard, the visible watermark, last-writer-wins by seq, rings and blocking
 * calls mixed.
 */
#include "it_common.h"

#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

static void test_shards_counts_up_to_max(void **state)
{
	static const uint32_t counts[] = { 1, 3, 7, 16, 33, AEDB_SHARDS_MAX };
	struct aedb_config cfg;
	char key[16];

	(void)state;
	aedb_config_init(&cfg);
	cfg.inbox_entries = 64;
	cfg.mesh_entries = 16;
	for (size_t ci = 0; ci < sizeof(counts) / sizeof(counts[0]); ci++) {
		struct aedb *db = t_open_p(counts[ci], &cfg);
		struct aedb_kv_page *page = NULL;

		assert_int_equal(aedb_shard_count(db), counts[ci]);
		/* enough keys to touch every shard; scan merges them in order */
		for (int i = 299; i >= 0; i--) {
			snprintf(key, sizeof(key), "s%03d", i);
			t_sets(db, key, key);
		}
		t_assert_rc(aedb_kv_scan_prefix(db, T_P, T_S, "s", 1, 1000, NULL, AEDB_LATEST,
						&page), 300);
		for (int i = 0; i < 300; i++) {
			snprintf(key, sizeof(key), "s%03d", i);
			assert_memory_equal(page->entries[i].key, key, 4);
		}
		aedb_kv_page_free(page);
		struct aedb_stats st = t_stats(db);

		assert_int_equal(st.keys_live, 300);
		assert_int_equal(st.visible_seq, aedb_visible_seq(db));
		assert_int_equal(st.commits, st.visible_seq);
		t_close(db);
	}
}

struct t_writer {
	struct aedb *db;
	uint32_t id;
	uint32_t n;
	const char *shared_key; /* non-NULL: every write goes to this key */
	uint64_t *seqs;
};

static void *t_writer_main(void *p)
{
	struct t_writer *w = p;
	char key[24], val[24];
	uint64_t last = 0;

	for (uint32_t i = 0; i < w->n; i++) {
		uint64_t seq = 0, v;
		int rc;

		if (w->shared_key)
			snprintf(key, sizeof(key), "%s", w->shared_key);
		else
			snprintf(key, sizeof(key), "w%u-%05u", w->id, i);
		snprintf(val, sizeof(val), "%u/%u", w->id, i);
		rc = aedb_kv_set(w->db, T_P, T_S, key, strlen(key), val, strlen(val),
				 AEDB_FINALITY_VISIBLE, &seq);
		T_CHECK(rc == 0, "set: %s", aedb_strerror(rc));
		/* the watermark covers a completed write */
		v = aedb_visible_seq(w->db);
		T_CHECK(v >= seq, "V %llu < seq %llu", (unsigned long long)v,
			(unsigned long long)seq);
		/* one thread's writes are ordered */
		T_CHECK(seq > last, "seq went back");
		last = seq;
		w->seqs[i] = seq;
	}
	return NULL;
}

struct t_watcher {
	struct aedb *db;
	atomic_int *stop;
	uint64_t samples;
};

/* V never decreases. */
static void *t_watcher_main(void *p)
{
	struct t_watcher *w = p;
	uint64_t last = 0;

	while (!atomic_load(w->stop)) {
		uint64_t v = aedb_visible_seq(w->db);
		struct aedb_stats st;

		T_CHECK(v >= last, "V went back: %llu < %llu", (unsigned long long)v,
			(unsigned long long)last);
		last = v;
		T_CHECK(aedb_stats(w->db, &st) == 0, "stats");
		T_CHECK(st.visible_seq >= last, "stats V went back");
		w->samples++;
		sched_yield();
	}
	return NULL;
}

/* Concurrent writers on distinct keys: one seq per write, all distinct. */
static void test_shards_concurrent_writers_distinct_seqs(void **state)
{
	enum { T = 6, N = 700 };

	(void)state;
	for (int si = 0; si < T_NSHARD_COUNTS; si++) {
		struct aedb *db = t_open_p(t_shard_counts[si], NULL);
		pthread_t th[T], wth;
		struct t_writer w[T];
		atomic_int stop = 0;
		struct t_watcher watch = { db, &stop, 0 };
		struct aedb_stats st0 = t_stats(db), st1;
		uint64_t *all = malloc(T * N * sizeof(*all));
		char key[24], val[24];

		atomic_store(&t_thread_fail, 0);
		assert_int_equal(pthread_create(&wth, NULL, t_watcher_main, &watch), 0);
		for (uint32_t i = 0; i < T; i++) {
			w[i] = (struct t_writer){ db, i, N, NULL, all + i * N };
			assert_int_equal(pthread_create(&th[i], NULL, t_writer_main, &w[i]), 0);
		}
		for (int i = 0; i < T; i++)
			pthread_join(th[i], NULL);
		atomic_store(&stop, 1);
		pthread_join(wth, NULL);
		assert_int_equal(t_thread_failed(), 0);
		assert_true(watch.samples > 0);

		st1 = t_stats(db);
		assert_int_equal(st1.commits - st0.commits, T * N);
		assert_int_equal(st1.visible_seq, st1.commits);
		assert_int_equal(st1.keys_live, T * N);
		/* each write readable with its own seq as version */
		for (uint32_t i = 0; i < T; i++)
			for (uint32_t j = 0; j < N; j += 7) {
				snprintf(key, sizeof(key), "w%u-%05u", i, j);
				snprintf(val, sizeof(val), "%u/%u", i, j);
				t_expect(db, key, strlen(key), val, strlen(val), w[i].seqs[j],
					 AEDB_LATEST);
			}
		/* the seqs are exactly st0.commits+1 .. st1.commits: gap-free */
		qsort(all, T * N, sizeof(*all), t_u64_cmp);
		for (uint32_t i = 0; i < T * N; i++)
			assert_int_equal(all[i], st0.commits + 1 + i);
		free(all);
		t_close(db);
	}
}

/* Many threads on one key: the write with the highest seq wins, and AT_SEQ(s)
 * returns exactly the write made at s. */
static void test_shards_same_key_highest_seq_wins(void **state)
{
	enum { T = 4, N = 300 };
	struct aedb_config cfg;

	(void)state;
	aedb_config_init(&cfg);
	cfg.retain_commits = 1u << 20;
	cfg.retain_ms = 60000;
	for (int si = 0; si < T_NSHARD_COUNTS; si++) {
		struct aedb *db = t_open_p(t_shard_counts[si], &cfg);
		pthread_t th[T];
		struct t_writer w[T];
		uint64_t seqs[T][N], best = 0;
		uint32_t best_t = 0, best_i = 0;
		char val[24];

		atomic_store(&t_thread_fail, 0);
		for (uint32_t i = 0; i < T; i++) {
			w[i] = (struct t_writer){ db, i, N, "hot", seqs[i] };
			assert_int_equal(pthread_create(&th[i], NULL, t_writer_main, &w[i]), 0);
		}
		for (int i = 0; i < T; i++)
			pthread_join(th[i], NULL);
		assert_int_equal(t_thread_failed(), 0);
		for (uint32_t t = 0; t < T; t++)
			for (uint32_t i = 0; i < N; i++)
				if (seqs[t][i] > best) {
					best = seqs[t][i];
					best_t = t;
					best_i = i;
				}
		snprintf(val, sizeof(val), "%u/%u", best_t, best_i);
		t_expect(db, "hot", 3, val, strlen(val), best, AEDB_LATEST);
		/* every version at its own seq */
		struct aedb_kv_item *item = NULL;
		uint64_t first = UINT64_MAX;

		for (uint32_t t = 0; t < T; t++)
			for (uint32_t i = 0; i < N; i += 3) {
				snprintf(val, sizeof(val), "%u/%u", t, i);
				t_expect(db, "hot", 3, val, strlen(val), seqs[t][i],
					 AEDB_SEQ(seqs[t][i]));
				if (seqs[t][i] < first)
					first = seqs[t][i];
			}
		/* created_seq is the first write's seq, for every later version */
		t_assert_rc(aedb_kv_get(db, T_P, T_S, "hot", 3, AEDB_LATEST, &item), 0);
		assert_int_equal(item->entry.created_seq, first);
		aedb_kv_item_free(item);
		t_close(db);
	}
}

struct t_mixed {
	struct aedb *db;
	uint32_t id;
	uint32_t ns;
	uint64_t seqs[64][40];
	int init_rc;
};

/* A ring client writing keys m00..m63 forty times each, waiting per batch. */
static void *t_mixed_ring_main(void *p)
{
	struct t_mixed *m = p;
	struct aedb_ring ring;
	static const char digits[] = "0123456789";

	m->init_rc = aedb_ring_init(m->db, 64, &ring, 0);
	if (m->init_rc)
		return NULL;
	for (uint32_t r = 0; r < 40; r++) {
		char keys[64][4], vals[64][24];

		for (uint32_t k = 0; k < 64; k++) {
			struct aedb_sqe *sqe = aedb_get_sqe(&ring);

			keys[k][0] = 'm';
			keys[k][1] = digits[k / 10];
			keys[k][2] = digits[k % 10];
			snprintf(vals[k], sizeof(vals[k]), "r%u.%u", m->id, r);
			aedb_prep_kv_set(sqe, m->ns, keys[k], 3, vals[k], (uint32_t)strlen(vals[k]),
					 AEDB_FINALITY_VISIBLE, &m->seqs[k][r]);
			aedb_sqe_set_data64(sqe, k);
		}
		bool ok = true;

		while (ring.sq_head != ring.sq_tail) {
			int rc = aedb_submit(&ring);

			if (rc == -AEDB_EBUSY) {
				sched_yield();
				continue;
			}
			if (rc < 0) {
				T_CHECK(false, "submit: %s", aedb_strerror(rc));
				ok = false;
				break;
			}
		}
		if (!ok)
			break;
		/* the buffers live on this frame: wait for every CQE */
		for (uint32_t k = 0; k < 64; k++) {
			struct aedb_cqe *cqe;

			if (aedb_wait_cqe(&ring, &cqe) != 0) {
				T_CHECK(false, "wait_cqe");
				break;
			}
			T_CHECK(cqe->res == 0, "res %d", cqe->res);
			aedb_cqe_seen(&ring, cqe);
		}
	}
	aedb_ring_exit(&ring);
	return NULL;
}

static void *t_mixed_blocking_main(void *p)
{
	struct t_mixed *m = p;
	char key[16], val[24];

	for (uint32_t r = 0; r < 40; r++)
		for (uint32_t k = 0; k < 64; k++) {
			snprintf(key, sizeof(key), "m%02u", k);
			snprintf(val, sizeof(val), "b%u.%u", m->id, r);
			int rc = aedb_kv_set(m->db, T_P, T_S, key, 3, val, strlen(val),
					     AEDB_FINALITY_VISIBLE, &m->seqs[k][r]);

			T_CHECK(rc == 0, "set: %s", aedb_strerror(rc));
		}
	return NULL;
}

/* Ring clients and blocking clients on the same keys: each key ends with the
 * value of its highest-seq write. */
static void test_shards_mixed_clients_same_keys(void **state)
{
	enum { T = 4 };

	(void)state;
	for (int si = 0; si < T_NSHARD_COUNTS; si++) {
		struct aedb *db = t_open_p(t_shard_counts[si], NULL);
		struct t_mixed *m = calloc(T, sizeof(*m));
		pthread_t th[T];
		char key[16], val[24];
		uint32_t ns;

		t_assert_rc(aedb_scope_id(db, T_P, T_S, &ns), 0);
		atomic_store(&t_thread_fail, 0);
		for (uint32_t i = 0; i < T; i++) {
			m[i].db = db;
			m[i].id = i;
			m[i].ns = ns;
			assert_int_equal(pthread_create(&th[i], NULL,
							i % 2 ? t_mixed_blocking_main
							      : t_mixed_ring_main,
							&m[i]),
					 0);
		}
		for (int i = 0; i < T; i++)
			pthread_join(th[i], NULL);
		assert_int_equal(t_thread_failed(), 0);
		for (uint32_t k = 0; k < 64; k++) {
			uint64_t best = 0;
			uint32_t bt = 0, br = 0;

			for (uint32_t t = 0; t < T; t++) {
				t_assert_rc(m[t].init_rc, 0);
				for (uint32_t r = 0; r < 40; r++)
					if (m[t].seqs[k][r] > best) {
						best = m[t].seqs[k][r];
						bt = t;
						br = r;
					}
			}
			snprintf(key, sizeof(key), "m%02u", k);
			snprintf(val, sizeof(val), "%c%u.%u", bt % 2 ? 'b' : 'r', bt, br);
			t_expect(db, key, 3, val, strlen(val), best, AEDB_LATEST);
		}
		free(m);
		t_close(db);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shards_counts_up_to_max),
		cmocka_unit_test(test_shards_concurrent_writers_distinct_seqs),
		cmocka_unit_test(test_shards_same_key_highest_seq_wins),
		cmocka_unit_test(test_shards_mixed_clients_same_keys),
	};

	t_require_engine();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
