/* SPDX-License-Identifier: MIT */
/*
 * aedb_open_readonly(): the state equals what a normal open recovers, every
 * write path is refused with -AEDB_EREADONLY, and the data directory is left
 * byte-for-byte unchanged (no LOCK, no cut, no segment, no checkpoint) -
 * also while another instance has it open and is writing.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "it_common.h"

/* @dir's digest still equals @before (which is freed). */
static void ro_same(char *before, const char *dir)
{
	char *after = t_dir_digest(dir);

	assert_string_equal(before, after);
	free(before);
	free(after);
}

static struct aedb_config ro_cfg(uint32_t shards)
{
	struct aedb_config c;

	aedb_config_init(&c);
	c.shards = shards;
	c.wal_segment_bytes = 64 * 1024;
	c.checkpoint_wal_bytes = 0;
	return c;
}

static void ro_table(struct aedb *db)
{
	struct aedb_column_def cols[] = {
		{ .name = "id", .type = AEDB_TYPE_U64 },
		{ .name = "name", .type = AEDB_TYPE_TEXT },
	};
	const char *pk[] = { "id" };
	struct aedb_table_def def = { .name = "t", .columns = cols, .ncolumns = 2, .npk = 1,
				      .pk = pk };

	t_assert_rc(aedb_create_table(db, T_P, T_S, &def), 1);
}

/* Writes some state into @dir (with a checkpoint in the middle). */
static uint64_t ro_fill(const char *dir, uint32_t shards)
{
	struct aedb_config c = ro_cfg(shards);
	struct aedb *db;
	char k[32], v[64];

	t_assert_rc(aedb_open(dir, &c, &db), 0);
	t_assert_rc(aedb_create_project(db, T_P), 1);
	ro_table(db);
	for (int i = 0; i < 400; i++) {
		snprintf(k, sizeof(k), "k%04d", i);
		snprintf(v, sizeof(v), "value-%d-%040d", i, i);
		t_sets(db, k, v);
		if (i == 200)
			t_assert_rc(aedb_checkpoint_now(db, NULL), 0);
	}
	for (uint64_t i = 0; i < 20; i++) {
		struct aedb_value row[2] = { { .type = AEDB_TYPE_U64, .u.u64 = i },
					     { .type = AEDB_TYPE_TEXT, .len = 1, .u.bytes = "x" } };

		t_assert_rc(aedb_insert_row(db, T_P, T_S, "t", row, 2, 0, NULL), 0);
	}
	t_assert_rc(aedb_force_fsync(db), 0);
	uint64_t seq = aedb_visible_seq(db);
	t_assert_rc(aedb_close(db), 0);
	return seq;
}

static void test_readonly_state_and_refusals(void **state)
{
	char *dir = t_tmpdir(), *before;
	struct aedb_open_report rep;
	struct aedb_commit_result res;
	struct aedb_value row[2] = { { .type = AEDB_TYPE_U64, .u.u64 = 99 },
				     { .type = AEDB_TYPE_TEXT, .len = 1, .u.bytes = "y" } };
	struct aedb *db;
	struct aedb_txn *t;
	uint64_t seq = ro_fill(dir, 2);

	(void)state;
	before = t_dir_digest(dir);
	t_assert_rc(aedb_open_readonly(dir, NULL, &db, &rep), 0);
	assert_int_equal(rep.recovered_seq, seq);
	assert_true(rep.checkpoint_seq > 0);
	assert_int_equal(aedb_visible_seq(db), seq);
	assert_int_equal(aedb_shard_count(db), 2);
	t_expects(db, "k0000", "value-0-0000000000000000000000000000000000000000");
	t_expects(db, "k0399", "value-399-0000000000000000000000000000000000000399");
	t_assert_rc(aedb_kv_set(db, T_P, T_S, "a", 1, "b", 1, 0, NULL), -AEDB_EREADONLY);
	t_assert_rc(aedb_kv_del(db, T_P, T_S, "k0001", 5, 0, NULL), -AEDB_EREADONLY);
	t_assert_rc(aedb_create_project(db, "other"), -AEDB_EREADONLY);
	t_assert_rc(aedb_drop_scope(db, T_P, T_S), -AEDB_EREADONLY);
	t_assert_rc(aedb_insert_row(db, T_P, T_S, "t", row, 2, 0, &res), -AEDB_EREADONLY);
	t_assert_rc(aedb_create_accumulator(db, T_P, T_S, "acc"), -AEDB_EREADONLY);
	t_assert_rc(aedb_checkpoint_now(db, NULL), -AEDB_EREADONLY);
	t_assert_rc(aedb_txn_create(db, &t), 0);
	assert_true(aedb_txn_kv_set(t, T_P, T_S, "a", 1, "b", 1) >= 0);
	assert_true(aedb_txn_kv_set(t, T_P, T_S, "zzzz", 4, "b", 1) >= 0);
	t_assert_rc(aedb_commit(db, t, &res), -AEDB_EREADONLY);
	aedb_txn_free(t);
	{
		char bk[4352];

		snprintf(bk, sizeof(bk), "%s-bk", dir);
		t_assert_rc(aedb_backup(db, bk, NULL), -AEDB_EREADONLY);
		rmdir(bk);
		snprintf(bk, sizeof(bk), "%s-arc", dir);
		t_assert_rc(aedb_backup_to_file(db, bk, NULL), -AEDB_EREADONLY);
		assert_int_equal(access(bk, F_OK), -1);
	}
	{
		struct aedb_alter alt = { .kind = AEDB_ALTER_RENAME_COLUMN, .name = "name",
					  .new_name = "label" };
		struct aedb_operational_metrics m;

		t_assert_rc(aedb_alter_table(db, T_P, T_S, "t", &alt), -AEDB_EREADONLY);
		/* Metrics read the recovered state; nothing ran since. */
		t_assert_rc(aedb_operational_metrics(db, &m), 0);
		assert_int_equal(m.nshards, 2);
		assert_int_equal(m.recovered_seq, seq);
		assert_int_equal(m.commits, 0);
		assert_int_equal(m.wal_bytes, 0);
		assert_int_equal(m.visible_seq, seq);
	}
	t_assert_rc(aedb_force_fsync(db), 0);
	t_expects(db, "a", NULL);
	{
		struct aedb_ring ring;
		struct aedb_cqe *cqe;
		uint32_t ns;

		t_assert_rc(aedb_scope_id(db, T_P, T_S, &ns), 0);
		t_assert_rc(aedb_ring_init(db, 8, &ring, 0), 0);
		aedb_prep_kv_set(aedb_get_sqe(&ring), ns, "q", 1, "v", 1, 0, NULL);
		assert_int_equal(aedb_submit(&ring), 1);
		t_assert_rc(aedb_wait_cqe(&ring, &cqe), 0);
		assert_int_equal(cqe->res, -AEDB_EREADONLY);
		aedb_cqe_seen(&ring, cqe);
		aedb_ring_exit(&ring);
	}
	t_assert_rc(aedb_close(db), 0);
	ro_same(before, dir);
	t_rmrf(dir);
	free(dir);
}

static void test_readonly_never_creates(void **state)
{
	char *dir = t_tmpdir(), missing[4352], *before;
	struct aedb *db = NULL;
	struct aedb_config c = ro_cfg(0);

	(void)state;
	snprintf(missing, sizeof(missing), "%s/nope", dir);
	t_assert_rc(aedb_open_readonly(missing, NULL, &db, NULL), -ENOENT);
	assert_int_equal(access(missing, F_OK), -1);
	before = t_dir_digest(dir);
	t_assert_rc(aedb_open_readonly(dir, NULL, &db, NULL), -ENOENT); /* empty dir */
	ro_same(before, dir);
	c.shards = 3;
	ro_fill(missing, 2);
	before = t_dir_digest(missing);
	t_assert_rc(aedb_open_readonly(missing, &c, &db, NULL), -AEDB_EINCOMPAT);
	t_assert_rc(aedb_open_readonly(NULL, NULL, &db, NULL), -AEDB_EMISUSE);
	t_assert_rc(aedb_open_readonly(missing, NULL, NULL, NULL), -AEDB_EMISUSE);
	assert_null(db);
	ro_same(before, missing);
	t_rmrf(dir);
	free(dir);
}

/* A torn tail is read past, not cut. */
static void test_readonly_torn_tail_kept(void **state)
{
	char *dir = t_tmpdir(), seg[4352], *before;
	struct aedb_open_report rep;
	struct aedb *db;
	uint64_t seq = ro_fill(dir, 1);
	struct stat st;
	FILE *f;

	(void)state;
	/* The last segment of shard 0: preallocated, zeros after its frames.
	 * Garbage at its very end is a torn write nothing synced covers. */
	snprintf(seg, sizeof(seg), "%s/wal/0", dir);
	{
		char cmd[8800];

		snprintf(cmd, sizeof(cmd), "ls %s | tail -1 > %s/last", seg, dir);
		assert_int_equal(system(cmd), 0);
		snprintf(cmd, sizeof(cmd), "%s/last", dir);
		f = fopen(cmd, "r");
		assert_non_null(f);
		size_t n = strlen(seg);
		seg[n] = '/';
		assert_non_null(fgets(seg + n + 1, (int)(sizeof(seg) - n - 1), f));
		fclose(f);
		unlink(cmd);
		seg[strcspn(seg, "\n")] = '\0';
	}
	assert_int_equal(stat(seg, &st), 0);
	{
		uint8_t *b = malloc((size_t)st.st_size);
		long end = st.st_size;

		f = fopen(seg, "r+b");
		assert_non_null(f);
		assert_non_null(b);
		assert_int_equal(fread(b, 1, (size_t)st.st_size, f), (size_t)st.st_size);
		while (end > 0 && b[end - 1] == 0)
			end--;
		free(b);
		/* Right after the last frame: the start of a frame never
		 * completed (magic, then garbage). */
		fseek(f, end, SEEK_SET);
		fwrite("\xae\xdb\xa3\xf7garb", 1, 8, f);
		fclose(f);
	}
	before = t_dir_digest(dir);
	t_assert_rc(aedb_open_readonly(dir, NULL, &db, &rep), 0);
	assert_int_equal(rep.recovered_seq, seq);
	assert_int_equal(rep.torn_tails, 1);
	t_assert_rc(aedb_close(db), 0);
	ro_same(before, dir);
	t_rmrf(dir);
	free(dir);
}

struct ro_writer {
	struct aedb *db;
	atomic_int stop;
	atomic_uint_fast64_t written;
};

static void *ro_write_main(void *arg)
{
	struct ro_writer *w = arg;
	char k[32];

	for (uint64_t i = 0; !atomic_load(&w->stop); i++) {
		snprintf(k, sizeof(k), "w%08llu", (unsigned long long)i);
		T_CHECK(aedb_kv_set(w->db, T_P, T_S, k, strlen(k), k, strlen(k),
				    AEDB_FINALITY_DURABLE, NULL) == 0, "set %s", k);
		atomic_store(&w->written, i + 1);
		if (i % 100 == 99)
			T_CHECK(aedb_checkpoint_now(w->db, NULL) == 0, "checkpoint");
	}
	return NULL;
}

/* While another instance writes and checkpoints, read-only opens see a
 * prefix: keys w0..w(n-1) for some n at least what was acknowledged
 * durable before the open. */
static void test_readonly_while_writing(void **state)
{
	char *dir = t_tmpdir();
	struct aedb_config c = ro_cfg(2);
	struct ro_writer w = { 0 };
	pthread_t th;

	(void)state;
	ro_fill(dir, 2);
	t_assert_rc(aedb_open(dir, &c, &w.db), 0);
	pthread_create(&th, NULL, ro_write_main, &w);
	for (int round = 0; round < 12; round++) {
		uint64_t floor = atomic_load(&w.written), n = 0;
		struct aedb_kv_page *pg;
		struct aedb *ro;
		int rc;

		t_sleep_ms(30);
		rc = aedb_open_readonly(dir, NULL, &ro, NULL);
		t_assert_rc(rc, 0);
		assert_true(aedb_kv_scan_prefix(ro, T_P, T_S, "w", 1, 100000, NULL, AEDB_LATEST,
						&pg) >= 0);
		assert_int_equal(pg->truncated, 0);
		for (uint32_t i = 0; i < pg->count; i++) {
			char k[32];

			snprintf(k, sizeof(k), "w%08llu", (unsigned long long)i);
			assert_int_equal(pg->entries[i].key_len, strlen(k));
			assert_memory_equal(pg->entries[i].key, k, strlen(k));
			n++;
		}
		assert_true(n >= floor);
		aedb_kv_page_free(pg);
		t_assert_rc(aedb_kv_set(ro, T_P, T_S, "x", 1, "y", 1, 0, NULL), -AEDB_EREADONLY);
		t_assert_rc(aedb_close(ro), 0);
	}
	atomic_store(&w.stop, 1);
	pthread_join(th, NULL);
	assert_int_equal(t_thread_failed(), 0);
	t_assert_rc(aedb_close(w.db), 0);
	t_rmrf(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_readonly_state_and_refusals),
		cmocka_unit_test(test_readonly_never_creates),
		cmocka_unit_test(test_readonly_torn_tail_kept),
		cmocka_unit_test(test_readonly_while_writing),
	};

	t_require_engine();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
