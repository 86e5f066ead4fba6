/* SPDX-License-Identifier: MIT */
/*
 * durable_test - the durability contract seen from outside: DURABLE finality
 * (blocking and SQE) in every durability mode, the durable watermark,
 * aedb_wait_durable()/aedb_force_fsync(), reopening a directory (a prefix of
 * commits comes back, including every DURABLE-acknowledged one), the
 * directory lock and the shard-count check. Crash and fault injection live in
 * tests/crash; these are clean shutdowns only.
 */
#include "it_common.h"

#include <stdlib.h>
#include <string.h>

static const uint32_t t_modes[] = { AEDB_DURABILITY_FULL, AEDB_DURABILITY_BATCH,
				    AEDB_DURABILITY_OS };
static const char *const t_mode_names[] = { "FULL", "BATCH", "OS" };

static struct aedb *t_open_dir(const char *dir, uint32_t shards, const struct aedb_config *base)
{
	struct aedb_config cfg;
	struct aedb *db = NULL;
	int rc;

	if (base)
		cfg = *base;
	else
		aedb_config_init(&cfg);
	cfg.shards = shards;
	rc = aedb_open(dir, &cfg, &db);
	if (rc != 0)
		fail_msg("aedb_open(%s, shards %u): %s", dir, shards, aedb_strerror(rc));
	return db;
}

static void test_durable_finality_every_mode(void **state)
{
	(void)state;
	for (size_t mi = 0; mi < 3; mi++) {
		for (int si = 0; si < T_NSHARD_COUNTS; si++) {
			struct aedb_config cfg;
			struct aedb *db;
			uint64_t seq = 0, s2 = 0;
			uint64_t t0;

			aedb_config_init(&cfg);
			cfg.durability = t_modes[mi];
			/* BATCH would not fsync on its own for a minute */
			cfg.batch_interval_ms = 60000;
			cfg.batch_max_bytes = 1u << 30;
			db = t_open_p(t_shard_counts[si], &cfg);
			t0 = t_now_ns();
			for (int i = 0; i < 20; i++) {
				char key[8];

				snprintf(key, sizeof(key), "d%d", i);
				t_assert_rc(aedb_kv_set(db, T_P, T_S, key, strlen(key), "v", 1,
							AEDB_FINALITY_DURABLE, &seq), 0);
				/* complete once D >= seq (and so readers see it too) */
				if (aedb_durable_seq(db) < seq)
					fail_msg("%s shards %u: D %llu < seq %llu",
						 t_mode_names[mi], t_shard_counts[si],
						 (unsigned long long)aedb_durable_seq(db),
						 (unsigned long long)seq);
				assert_true(aedb_visible_seq(db) >= seq);
				t_expect(db, key, strlen(key), "v", 1, seq, AEDB_LATEST);
			}
			t_assert_rc(aedb_kv_del(db, T_P, T_S, "d0", 2, AEDB_FINALITY_DURABLE, &s2),
				    0);
			assert_true(s2 > seq);
			assert_true(aedb_durable_seq(db) >= s2);
			/* DURABLE did not wait for the batch interval */
			assert_true(t_now_ns() - t0 < 30000000000ull);
			struct aedb_stats st = t_stats(db);

			assert_true(st.durable_seq >= s2);
			assert_true(st.durable_seq <= aedb_durable_seq(db));
			assert_true(st.wal_bytes > 0);
			assert_true(st.wal_writes > 0);
			assert_true(st.wal_segments > 0);
			t_close(db);
		}
	}
}

static void test_durable_finality_sqe(void **state)
{
	(void)state;
	for (size_t mi = 0; mi < 3; mi++) {
		struct aedb_config cfg;
		struct aedb *db;
		struct aedb_ring ring;
		uint64_t seqs[16] = { 0 };
		uint32_t ns;
		char keys[16][8];

		aedb_config_init(&cfg);
		cfg.durability = t_modes[mi];
		cfg.batch_interval_ms = 60000;
		cfg.batch_max_bytes = 1u << 30;
		db = t_open_p(4, &cfg);
		t_assert_rc(aedb_scope_id(db, T_P, T_S, &ns), 0);
		t_assert_rc(aedb_ring_init(db, 16, &ring, 0), 0);
		for (int i = 0; i < 16; i++) {
			struct aedb_sqe *sqe = aedb_get_sqe(&ring);

			snprintf(keys[i], sizeof(keys[i]), "q%02d", i);
			if (i % 4 == 3)
				aedb_prep_kv_del(sqe, ns, keys[i - 1], 3, AEDB_FINALITY_DURABLE,
						 &seqs[i]);
			else
				aedb_prep_kv_set(sqe, ns, keys[i], 3, keys[i], 3,
						 (uint32_t)(i % 2), &seqs[i]); /* odd: DURABLE */
			aedb_sqe_set_data64(sqe, (uint64_t)i);
		}
		t_assert_rc(aedb_submit(&ring), 16);
		for (int n = 0; n < 16; n++) {
			struct aedb_cqe *cqe;
			uint64_t i;

			t_assert_rc(aedb_wait_cqe(&ring, &cqe), 0);
			i = cqe->user_data;
			t_assert_rc(cqe->res, 0);
			assert_true(seqs[i] > 0);
			assert_true(aedb_visible_seq(db) >= seqs[i]);
			if (i % 2)
				assert_true(aedb_durable_seq(db) >= seqs[i]);
			aedb_cqe_seen(&ring, cqe);
		}
		aedb_ring_exit(&ring);
		t_close(db);
	}
}

static void test_durable_wait_and_force(void **state)
{
	(void)state;
	for (size_t mi = 0; mi < 3; mi++) {
		struct aedb_config cfg;
		struct aedb *db;
		uint64_t s1, s2, v;

		aedb_config_init(&cfg);
		cfg.durability = t_modes[mi];
		cfg.batch_interval_ms = 60000;
		cfg.batch_max_bytes = 1u << 30;
		db = t_open_p(2, &cfg);
		s1 = t_sets(db, "a", "1");
		t_assert_rc(aedb_wait_durable(db, s1), 0);
		assert_true(aedb_durable_seq(db) >= s1);
		/* already durable: returns at once */
		t_assert_rc(aedb_wait_durable(db, s1), 0);
		for (int i = 0; i < 10; i++)
			s2 = t_sets(db, "b", "2");
		t_assert_rc(aedb_force_fsync(db), 0);
		assert_true(aedb_durable_seq(db) >= s2);
		/* nothing new: force is a no-op that still succeeds */
		t_assert_rc(aedb_force_fsync(db), 0);

		/* misuse: a seq never allocated, NULL handles */
		v = aedb_visible_seq(db);
		t_assert_rc(aedb_wait_durable(db, v + 1000), -AEDB_EINVAL);
		t_assert_rc(aedb_wait_durable(db, UINT64_MAX), -AEDB_EINVAL);
		t_assert_rc(aedb_wait_durable(NULL, 1), -AEDB_EMISUSE);
		t_assert_rc(aedb_force_fsync(NULL), -AEDB_EMISUSE);
		t_close(db);
	}
}

/* One logged write for the reopen model. */
struct t_op {
	uint64_t seq;
	uint32_t key;
	bool del;
	uint32_t val;
};

/* The value of @key at @s according to @ops (-1 = absent); *version out. */
static int64_t t_model_at(const struct t_op *ops, uint32_t nops, uint32_t key, uint64_t s,
			  uint64_t *version, uint64_t *created)
{
	int64_t val = -1;

	*version = 0;
	for (uint32_t i = 0; i < nops; i++) {
		if (ops[i].key != key || ops[i].seq > s)
			continue;
		if (ops[i].del) {
			val = -1;
			*version = 0;
			continue;
		}
		if (val < 0)
			*created = ops[i].seq;
		val = ops[i].val;
		*version = ops[i].seq;
	}
	return val;
}

#define T_RKEYS 64
#define T_ROPS 300

/* A run of random sets and deletes, some DURABLE, on an open instance. */
struct t_run {
	struct t_op ops[T_ROPS];
	uint64_t durable_acked; /* highest seq acknowledged DURABLE */
	uint64_t last;          /* highest seq acknowledged at all */
};

static void t_run_writes(struct aedb *db, struct t_run *run, uint64_t *rng)
{
	char key[8], val[16];

	t_assert_rc(aedb_create_project(db, T_P), 1);
	t_assert_rc(aedb_create_project(db, "gone"), 1);
	t_assert_rc(aedb_create_scope(db, T_P, "extra"), 1);
	t_assert_rc(aedb_drop_project(db, "gone"), 1);
	for (uint32_t i = 0; i < T_ROPS; i++) {
		struct t_op *op = &run->ops[i];
		uint32_t fin = t_rand(rng) % 8 == 0 ? AEDB_FINALITY_DURABLE : AEDB_FINALITY_VISIBLE;

		op->key = (uint32_t)(t_rand(rng) % T_RKEYS);
		op->del = t_rand(rng) % 5 == 0;
		op->val = i;
		snprintf(key, sizeof(key), "r%02u", op->key);
		snprintf(val, sizeof(val), "v%u", op->val);
		if (op->del)
			t_assert_rc(aedb_kv_del(db, T_P, T_S, key, 3, fin, &op->seq), 0);
		else
			t_assert_rc(aedb_kv_set(db, T_P, T_S, key, 3, val, strlen(val), fin,
						&op->seq), 0);
		if (fin == AEDB_FINALITY_DURABLE)
			run->durable_acked = op->seq;
		run->last = op->seq;
	}
}

/* The reopened instance holds exactly the commits 1..s of @run. */
static void t_run_verify(struct aedb *db, const struct t_run *run, uint64_t s)
{
	char key[8], val[16];

	/* namespaces (all DDL came before the first KV write) */
	if (s >= run->ops[0].seq) {
		t_assert_rc(aedb_project_exists(db, T_P), 1);
		t_assert_rc(aedb_scope_exists(db, T_P, "extra"), 1);
		t_assert_rc(aedb_project_exists(db, "gone"), 0);
	}
	for (uint32_t k = 0; k < T_RKEYS; k++) {
		uint64_t version, created = 0;
		int64_t v = t_model_at(run->ops, T_ROPS, k, s, &version, &created);
		struct aedb_kv_item *item = NULL;
		int rc;

		snprintf(key, sizeof(key), "r%02u", k);
		rc = aedb_kv_get(db, T_P, T_S, key, 3, AEDB_LATEST, &item);
		if (v < 0) {
			t_assert_rc(rc, -AEDB_ENOTFOUND);
			continue;
		}
		t_assert_rc(rc, 0);
		snprintf(val, sizeof(val), "v%lld", (long long)v);
		assert_int_equal(item->entry.val_len, strlen(val));
		assert_memory_equal(item->entry.val, val, strlen(val));
		assert_int_equal(item->entry.version, version);
		assert_int_equal(item->entry.created_seq, created);
		aedb_kv_item_free(item);
	}
}

/*
 * Close and reopen: the state is exactly commits 1..S for the recovered S,
 * S covers every DURABLE-acknowledged commit, namespaces come back, and new
 * commits continue after S.
 */
static void test_durable_reopen_restores_prefix(void **state)
{
	uint64_t seed = t_seed(__func__);
	struct t_run *run = malloc(sizeof(*run));

	(void)state;
	/* every shard count, every mode; the pairs rotate (6 cycles, not 12) */
	for (int si = 0; si < T_NSHARD_COUNTS; si++) {
		for (size_t mi = (size_t)si % 2; mi < 3; mi += 2) {
			char *dir = t_tmpdir();
			uint32_t shards = t_shard_counts[si];
			uint64_t rng = seed + (uint64_t)si * 7 + mi;
			struct aedb_open_report rep;
			struct aedb_config cfg;
			struct aedb *db;

			memset(run, 0, sizeof(*run));
			aedb_config_init(&cfg);
			cfg.durability = t_modes[mi];
			cfg.shards = shards;
			db = t_open_dir(dir, shards, &cfg);
			t_run_writes(db, run, &rng);
			t_assert_rc(aedb_close(db), 0);

			/* reopen, with a report */
			memset(&rep, 0xa5, sizeof(rep));
			db = NULL;
			t_assert_rc(aedb_open_ex(dir, &cfg, &db, &rep), 0);
			assert_int_equal(aedb_shard_count(db), shards);
			assert_int_equal(rep.corrupt, 0);
			assert_true(rep.recovered_seq >= run->durable_acked);
			assert_true(rep.recovered_seq <= run->last);
			assert_int_equal(aedb_visible_seq(db), rep.recovered_seq);
			if (rep.recovered_seq < run->last)
				print_message("shards %u %s: recovered %llu of %llu\n", shards,
					      t_mode_names[mi],
					      (unsigned long long)rep.recovered_seq,
					      (unsigned long long)run->last);
			t_run_verify(db, run, rep.recovered_seq);
			/* new commits continue after S */
			assert_true(t_sets(db, "after", "reopen") > rep.recovered_seq);
			t_assert_rc(aedb_close(db), 0);

			/* shards 0 keeps the directory's count */
			cfg.shards = 0;
			db = NULL;
			t_assert_rc(aedb_open_ex(dir, &cfg, &db, NULL), 0);
			assert_int_equal(aedb_shard_count(db), shards);
			t_assert_rc(aedb_close(db), 0);
			t_rmrf(dir);
			free(dir);
		}
	}
	free(run);
}

/* A directory open in one instance is locked against a second. */
static void test_durable_directory_locked(void **state)
{
	char *dir = t_tmpdir();
	struct aedb *db, *other;
	struct aedb *sentinel = (struct aedb *)&dir;
	struct aedb_open_report rep;

	(void)state;
	db = t_open_dir(dir, 2, NULL);
	other = sentinel;
	t_assert_rc(aedb_open(dir, NULL, &other), -AEDB_ELOCKED);
	assert_ptr_equal(other, sentinel);
	t_assert_rc(aedb_open_ex(dir, NULL, &other, &rep), -AEDB_ELOCKED);
	assert_ptr_equal(other, sentinel);
	/* the first instance is unaffected */
	t_assert_rc(aedb_create_project(db, T_P), 1);
	t_sets(db, "k", "v");
	t_assert_rc(aedb_close(db), 0);
	/* released by close */
	db = t_open_dir(dir, 2, NULL);
	t_assert_rc(aedb_close(db), 0);
	t_rmrf(dir);
	free(dir);
}

/* Another shard count than the directory's is refused. */
static void test_durable_shard_count_incompatible(void **state)
{
	char *dir = t_tmpdir();
	struct aedb_config cfg;
	struct aedb *db;
	struct aedb *sentinel = (struct aedb *)&dir;

	(void)state;
	db = t_open_dir(dir, 2, NULL);
	t_assert_rc(aedb_create_project(db, T_P), 1);
	t_sets(db, "k", "v");
	t_assert_rc(aedb_force_fsync(db), 0);
	t_assert_rc(aedb_close(db), 0);
	aedb_config_init(&cfg);
	for (uint32_t n = 1; n <= 8; n *= 2) {
		if (n == 2)
			continue;
		cfg.shards = n;
		db = sentinel;
		t_assert_rc(aedb_open(dir, &cfg, &db), -AEDB_EINCOMPAT);
		assert_ptr_equal(db, sentinel);
	}
	/* and the directory is still fine with its own count */
	db = t_open_dir(dir, 2, NULL);
	t_expects(db, "k", "v");
	t_assert_rc(aedb_close(db), 0);
	t_rmrf(dir);
	free(dir);
}

static void test_durable_open_ex_arguments(void **state)
{
	char *dir = t_tmpdir();
	struct aedb *db = NULL;
	struct aedb *sentinel = (struct aedb *)&dir;
	struct aedb_open_report rep;
	struct aedb_config cfg;

	(void)state;
	t_assert_rc(aedb_open_ex(NULL, NULL, &db, &rep), -AEDB_EMISUSE);
	t_assert_rc(aedb_open_ex(dir, NULL, NULL, &rep), -AEDB_EMISUSE);
	aedb_config_init(&cfg);
	cfg.inbox_entries = 3;
	db = sentinel;
	t_assert_rc(aedb_open_ex(dir, &cfg, &db, &rep), -AEDB_ECONFIG);
	assert_ptr_equal(db, sentinel);
	/* a fresh directory: nothing to recover */
	memset(&rep, 0xa5, sizeof(rep));
	cfg.inbox_entries = 64;
	cfg.shards = 2;
	t_assert_rc(aedb_open_ex(dir, &cfg, &db, &rep), 0);
	assert_int_equal(rep.recovered_seq, 0);
	assert_int_equal(rep.records_replayed, 0);
	assert_int_equal(rep.corrupt, 0);
	assert_int_equal(rep.torn_tails, 0);
	assert_int_equal(rep.frames_dropped, 0);
	assert_int_equal(aedb_visible_seq(db), 0);
	assert_int_equal(aedb_durable_seq(db), 0);
	t_assert_rc(aedb_close(db), 0);
	t_rmrf(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_durable_finality_every_mode),
		cmocka_unit_test(test_durable_finality_sqe),
		cmocka_unit_test(test_durable_wait_and_force),
		cmocka_unit_test(test_durable_open_ex_arguments),
		cmocka_unit_test(test_durable_directory_locked),
		cmocka_unit_test(test_durable_shard_count_incompatible),
		cmocka_unit_test(test_durable_reopen_restores_prefix),
	};

	t_require_engine();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
