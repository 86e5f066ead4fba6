/* SPDX-License-Identifier: MIT */
/*
 * Checkpoints (issue 6): a checkpoint then a reopen gives back exactly the
 * state (KV, tables, scopes with dropped ids, idempotency keys), the WAL after
 * the checkpoint is replayed, AT_CHECKPOINT reads the checkpoint's snapshot,
 * WAL segments at or below it are reclaimed, and a damaged or missing
 * checkpoint file stops the open with an error naming the file.
 */
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "it_common.h"

static struct aedb *ck_open(const char *dir, uint32_t shards, struct aedb_config *cfg,
			    struct aedb_open_report *rep)
{
	struct aedb_config def;
	struct aedb *db = NULL;
	int rc;

	if (!cfg) {
		aedb_config_init(&def);
		cfg = &def;
	}
	cfg->shards = shards;
	rc = aedb_open_ex(dir, cfg, &db, rep);
	if (rc < 0)
		fail_msg("open %s: %s: %s", dir, aedb_strerror(rc), rep ? rep->message : "");
	return db;
}

static void ck_put(struct aedb *db, const char *scope, const char *key, const char *val)
{
	t_assert_rc(aedb_kv_set(db, T_P, scope, key, strlen(key), val, strlen(val),
				AEDB_FINALITY_VISIBLE, NULL), 0);
}

/* @key in @scope reads @val (NULL: absent) at @at. */
static void ck_get(struct aedb *db, const char *scope, const char *key, const char *val,
		   struct aedb_at at)
{
	struct aedb_kv_item *it = NULL;
	int rc = aedb_kv_get(db, T_P, scope, key, strlen(key), at, &it);

	if (!val) {
		if (rc != -AEDB_ENOTFOUND)
			fail_msg("%s/%s: got %s, want absent", scope, key, aedb_strerror(rc));
		return;
	}
	if (rc != 0)
		fail_msg("%s/%s: got %s, want %s", scope, key, aedb_strerror(rc), val);
	assert_int_equal(it->entry.val_len, strlen(val));
	assert_memory_equal(it->entry.val, val, strlen(val));
	aedb_kv_item_free(it);
}

/* Count the entries of a whole scope (all pages). */
static uint64_t ck_count(struct aedb *db, const char *scope, struct aedb_at at)
{
	struct aedb_kv_page *pg = NULL;
	struct aedb_kv_cursor cur;
	uint64_t n = 0;
	int more = 1;

	while (more) {
		struct aedb_kv_page *next = NULL;

		t_assert_rc(aedb_kv_scan_prefix(db, T_P, scope, "", 0, 997, pg ? &cur : NULL, at,
						&next) >= 0, 1);
		n += next->count;
		more = next->truncated;
		aedb_kv_page_free(pg);
		pg = next;
		cur = pg->cursor;
	}
	aedb_kv_page_free(pg);
	return n;
}

static const struct aedb_column_def ck_cols[] = {
	{ .name = "id", .type = AEDB_TYPE_U64 },
	{ .name = "name", .type = AEDB_TYPE_TEXT, .nullable = 1 },
};
static const char *const ck_pk[] = { "id" };
static const struct aedb_table_def ck_table = {
	.name = "users", .columns = ck_cols, .ncolumns = 2, .npk = 1, .pk = ck_pk,
};

static void ck_row(struct aedb *db, uint64_t id, const char *name)
{
	struct aedb_value row[2] = {
		{ .type = AEDB_TYPE_U64, .u.u64 = id },
		{ .type = AEDB_TYPE_TEXT, .len = (uint32_t)strlen(name), .u.bytes = name },
	};

	t_assert_rc(aedb_upsert_row(db, T_P, "app", "users", row, 2, AEDB_FINALITY_VISIBLE,
				    NULL), 0);
}

static void ck_row_expect(struct aedb *db, uint64_t id, const char *name)
{
	struct aedb_value pk = { .type = AEDB_TYPE_U64, .u.u64 = id };
	struct aedb_row *row = NULL;
	int rc = aedb_get_row(db, T_P, "app", "users", &pk, 1, AEDB_LATEST, &row);

	if (!name) {
		t_assert_rc(rc, -AEDB_ENOTFOUND);
		return;
	}
	t_assert_rc(rc, 0);
	assert_int_equal(row->values[1].len, strlen(name));
	assert_memory_equal(row->values[1].u.bytes, name, strlen(name));
	aedb_row_free(row);
}

/* Checkpoint, more writes, reopen: everything is back, from the checkpoint
 * plus the WAL after it. */
static void test_ckpt_reopen_equals_state(void **state)
{
	(void)state;
	for (uint32_t si = 0; si < T_NSHARD_COUNTS; si++) {
		uint32_t shards = t_shard_counts[si];
		char *dir = t_tmpdir();
		struct aedb_checkpoint_result res;
		struct aedb_open_report rep;
		struct aedb *db = ck_open(dir, shards, NULL, NULL);
		char key[32], val[64];
		uint8_t idem[16] = { 7, 7, 7 };
		struct aedb_commit_result cr;
		struct aedb_txn *txn;
		uint64_t s, idem_seq;
		uint32_t id_x;

		t_assert_rc(aedb_create_project(db, T_P), 1);
		t_assert_rc(aedb_create_scope(db, T_P, "gone"), 1);
		t_assert_rc(aedb_create_scope(db, T_P, "x"), 1);
		t_assert_rc(aedb_create_table(db, T_P, "app", &ck_table), 1);
		for (int i = 0; i < 3000; i++) {
			snprintf(key, sizeof(key), "k%05d", i);
			snprintf(val, sizeof(val), "v%d", i);
			ck_put(db, i % 2 ? "app" : "x", key, val);
		}
		for (int i = 0; i < 3000; i += 7) {
			snprintf(key, sizeof(key), "k%05d", i);
			t_assert_rc(aedb_kv_del(db, T_P, i % 2 ? "app" : "x", key, strlen(key),
						AEDB_FINALITY_VISIBLE, NULL), 0);
		}
		ck_put(db, "gone", "g", "g");
		t_assert_rc(aedb_drop_scope(db, T_P, "gone"), 1);
		for (uint64_t i = 0; i < 50; i++)
			ck_row(db, i, "before");
		t_assert_rc(aedb_txn_create(db, &txn), 0);
		t_assert_rc(aedb_txn_set_idempotency_key(txn, idem), 0);
		t_assert_rc(aedb_txn_kv_set(txn, T_P, "app", "idem", 4, "1", 1), 0);
		t_assert_rc(aedb_commit(db, txn, &cr), AEDB_COMMIT_APPLIED);
		idem_seq = cr.seq;
		t_assert_rc(aedb_scope_id(db, T_P, "x", &id_x), 0);

		t_assert_rc(aedb_checkpoint_now(db, &res), 0);
		s = res.seq;
		assert_true(s >= idem_seq);
		assert_int_equal(res.files, shards);
		assert_int_equal(aedb_checkpoint_seq(db), s);
		assert_true(res.entries >= 3000 - 3000 / 7 + 50);
		/* After the checkpoint: overwrite, delete, new rows, new scope. */
		ck_put(db, "app", "k00001", "after");
		t_assert_rc(aedb_kv_del(db, T_P, "x", "k00002", 6, AEDB_FINALITY_VISIBLE, NULL), 0);
		ck_row(db, 3, "after");
		ck_row(db, 1000, "new");
		t_assert_rc(aedb_create_scope(db, T_P, "later"), 1);
		ck_put(db, "later", "l", "l");
		/* AT_CHECKPOINT still sees the checkpoint's values. */
		ck_get(db, "app", "k00001", "v1", (struct aedb_at){ AEDB_AT_CHECKPOINT, 0, 0 });
		ck_get(db, "x", "k00002", "v2", (struct aedb_at){ AEDB_AT_CHECKPOINT, 0, 0 });
		{
			uint64_t want = 0;

			for (int i = 0; i < 3000; i += 2)
				want += i % 7 != 0;
			assert_int_equal(ck_count(db, "x",
						  (struct aedb_at){ AEDB_AT_CHECKPOINT, 0, 0 }),
					 want);
			assert_int_equal(ck_count(db, "x", AEDB_LATEST), want - 1);
		}
		t_assert_rc(aedb_close(db), 0);

		db = ck_open(dir, shards, NULL, &rep);
		assert_int_equal(rep.checkpoint_seq, s);
		assert_true(rep.recovered_seq > s);
		assert_true(rep.checkpoint_entries >= res.entries);
		for (int i = 0; i < 3000; i++) {
			const char *want = val;

			snprintf(key, sizeof(key), "k%05d", i);
			snprintf(val, sizeof(val), "v%d", i);
			if (i % 7 == 0 || i == 2)
				want = NULL;
			if (i == 1)
				want = "after";
			ck_get(db, i % 2 ? "app" : "x", key, want, AEDB_LATEST);
		}
		ck_row_expect(db, 3, "after");
		ck_row_expect(db, 4, "before");
		ck_row_expect(db, 1000, "new");
		ck_row_expect(db, 51, NULL);
		ck_get(db, "later", "l", "l", AEDB_LATEST);
		t_assert_rc(aedb_scope_exists(db, T_P, "gone"), 0);
		{
			uint32_t id;

			t_assert_rc(aedb_scope_id(db, T_P, "x", &id), 0);
			assert_int_equal(id, id_x); /* namespace ids survive */
		}
		/* The idempotency key applied before the checkpoint still holds
		 * (a builder belongs to its instance: build it again). */
		aedb_txn_free(txn);
		t_assert_rc(aedb_txn_create(db, &txn), 0);
		t_assert_rc(aedb_txn_set_idempotency_key(txn, idem), 0);
		t_assert_rc(aedb_txn_kv_set(txn, T_P, "app", "idem", 4, "1", 1), 0);
		t_assert_rc(aedb_commit(db, txn, &cr), AEDB_COMMIT_DUPLICATE);
		assert_int_equal(cr.seq, idem_seq);
		/* New ids do not collide with old ones. */
		t_assert_rc(aedb_create_scope(db, T_P, "newer"), 1);
		ck_put(db, "newer", "n", "n");
		ck_get(db, "app", "k00003", "v3", AEDB_LATEST);
		ck_get(db, "x", "k00004", "v4", AEDB_LATEST);
		aedb_txn_free(txn);
		t_assert_rc(aedb_close(db), 0);
		t_rmrf(dir);
		free(dir);
	}
}

/* A project whose "app" scope was dropped, and a reopen right at the
 * checkpoint (AT_CHECKPOINT readable after the open). */
static void test_ckpt_dropped_default_scope(void **state)
{
	char *dir = t_tmpdir();
	struct aedb_open_report rep;
	struct aedb_names *names = NULL;
	struct aedb *db = ck_open(dir, 2, NULL, NULL);
	uint64_t s;

	(void)state;
	/* No checkpoint yet: AT_CHECKPOINT has nothing to read. */
	t_assert_rc(aedb_create_project(db, T_P), 1);
	{
		struct aedb_kv_item *it = NULL;

		t_assert_rc(aedb_kv_get(db, T_P, "app", "a", 1,
					(struct aedb_at){ AEDB_AT_CHECKPOINT, 0, 0 }, &it),
			    -AEDB_ESEQGC);
	}
	t_assert_rc(aedb_create_scope(db, T_P, "keep"), 1);
	t_assert_rc(aedb_drop_scope(db, T_P, "app"), 1);
	t_assert_rc(aedb_create_project(db, "other"), 1);
	t_assert_rc(aedb_drop_scope(db, "other", "app"), 1);
	ck_put(db, "keep", "a", "1");
	t_assert_rc(aedb_checkpoint_now(db, NULL), 0);
	s = aedb_checkpoint_seq(db);
	{
		struct aedb_stats st = t_stats(db);

		assert_int_equal(st.checkpoint_seq, s);
		assert_true(st.checkpoint_last_ns > 0);
		assert_true(st.checkpoint_age_ms < 60000);
	}
	t_assert_rc(aedb_close(db), 0);

	db = ck_open(dir, 2, NULL, &rep);
	assert_int_equal(rep.checkpoint_seq, s);
	assert_int_equal(rep.recovered_seq, s);
	t_assert_rc(aedb_list_scopes(db, T_P, &names), 0);
	assert_int_equal(names->count, 1);
	assert_string_equal(names->names[0], "keep");
	aedb_names_free(names);
	t_assert_rc(aedb_project_exists(db, "other"), 1);
	t_assert_rc(aedb_scope_exists(db, "other", "app"), 0);
	ck_get(db, "keep", "a", "1", (struct aedb_at){ AEDB_AT_CHECKPOINT, 0, 0 });
	t_assert_rc(aedb_create_scope(db, T_P, "app"), 1);
	ck_put(db, "app", "b", "2");
	/* A second checkpoint replaces the first. */
	t_assert_rc(aedb_checkpoint_now(db, NULL), 0);
	assert_true(aedb_checkpoint_seq(db) > s);
	t_assert_rc(aedb_close(db), 0);
	db = ck_open(dir, 2, NULL, &rep);
	ck_get(db, "app", "b", "2", AEDB_LATEST);
	ck_get(db, "keep", "a", "1", AEDB_LATEST);
	t_assert_rc(aedb_close(db), 0);
	t_rmrf(dir);
	free(dir);
}

static uint32_t ck_count_files(const char *dir, const char *sub, const char *suffix)
{
	char path[4096];
	struct dirent *de;
	uint32_t n = 0;
	DIR *d;

	snprintf(path, sizeof(path), "%s/%s", dir, sub);
	d = opendir(path);
	if (!d)
		return 0;
	while ((de = readdir(d)))
		if (strlen(de->d_name) > strlen(suffix) &&
		    strcmp(de->d_name + strlen(de->d_name) - strlen(suffix), suffix) == 0)
			n++;
	closedir(d);
	return n;
}

/* WAL segments wholly at or below S go; the state survives. */
static void test_ckpt_reclaims_segments(void **state)
{
	char *dir = t_tmpdir();
	struct aedb_checkpoint_result res;
	struct aedb_config cfg;
	struct aedb *db;
	char key[32], val[600];
	uint32_t before = 0, after;
	int nkeys;

	(void)state;
	aedb_config_init(&cfg);
	cfg.wal_segment_bytes = 64u << 10;
	db = ck_open(dir, 2, &cfg, NULL);
	t_assert_rc(aedb_create_project(db, T_P), 1);
	memset(val, 'v', sizeof(val) - 1);
	val[sizeof(val) - 1] = '\0';
	/* A segment rotates only between fsync chains, so how many segments
	 * 2000 puts make depends on timing: write on until there are 5. */
	for (nkeys = 0; nkeys < 2000 || (before <= 4 && nkeys < 50000); nkeys++) {
		snprintf(key, sizeof(key), "k%05d", nkeys);
		ck_put(db, "app", key, val);
		if (nkeys >= 2000 && nkeys % 100 == 0)
			before = ck_count_files(dir, "wal/0", ".seg") +
				 ck_count_files(dir, "wal/1", ".seg");
	}
	t_assert_rc(aedb_force_fsync(db), 0); /* no segment is still to be made */
	before = ck_count_files(dir, "wal/0", ".seg") + ck_count_files(dir, "wal/1", ".seg");
	assert_true(before > 4);
	t_assert_rc(aedb_checkpoint_now(db, &res), 0);
	after = ck_count_files(dir, "wal/0", ".seg") + ck_count_files(dir, "wal/1", ".seg");
	assert_true(res.segments_reclaimed >= before - 2);
	assert_int_equal(after, before - res.segments_reclaimed);
	assert_true(after <= 2);
	assert_true(res.logical_bytes >= 2000u * 600u);
	t_assert_rc(aedb_close(db), 0);
	db = ck_open(dir, 2, &cfg, NULL);
	assert_int_equal(ck_count(db, "app", AEDB_LATEST), nkeys);
	ck_get(db, "app", "k01999", val, AEDB_LATEST);
	t_assert_rc(aedb_close(db), 0);
	t_rmrf(dir);
	free(dir);
}

/* Flip one byte of @path at @off. */
static void ck_flip(const char *path, off_t off)
{
	int fd = open(path, O_RDWR);
	uint8_t b;

	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &b, 1, off), 1);
	b ^= 0x5a;
	assert_int_equal(pwrite(fd, &b, 1, off), 1);
	close(fd);
}

static char *ck_setup_damage(uint64_t *seq)
{
	char *dir = t_tmpdir();
	struct aedb *db = ck_open(dir, 2, NULL, NULL);
	char key[32];

	t_assert_rc(aedb_create_project(db, T_P), 1);
	for (int i = 0; i < 5000; i++) {
		snprintf(key, sizeof(key), "key-%05d", i);
		ck_put(db, "app", key, "some value that compresses well well well");
	}
	t_assert_rc(aedb_checkpoint_now(db, NULL), 0);
	*seq = aedb_checkpoint_seq(db);
	t_assert_rc(aedb_close(db), 0);
	return dir;
}

static void ck_expect_open_fails(const char *dir, uint32_t recovery, int want,
				 const char *needle)
{
	struct aedb_open_report rep;
	struct aedb_config cfg;
	struct aedb *db = NULL;
	int rc;

	aedb_config_init(&cfg);
	cfg.shards = 2;
	cfg.recovery = recovery;
	rc = aedb_open_ex(dir, &cfg, &db, &rep);
	if (rc == 0)
		aedb_close(db);
	t_assert_rc(rc, want);
	if (!strstr(rep.message, needle))
		fail_msg("report \"%s\" does not name %s", rep.message, needle);
}

/* A damaged block: strict (and permissive) refuse to open, naming the file;
 * nothing is changed, so restoring the byte makes the directory open. */
static void test_ckpt_corrupt_block_names_file(void **state)
{
	uint64_t s;
	char *dir = ck_setup_damage(&s);
	char path[4096], name[64];
	struct stat st;

	(void)state;
	snprintf(name, sizeof(name), "%020llu/1.ckpt", (unsigned long long)s);
	snprintf(path, sizeof(path), "%s/checkpoint/%s", dir, name);
	assert_int_equal(stat(path, &st), 0);
	ck_flip(path, st.st_size / 2);
	ck_expect_open_fails(dir, AEDB_RECOVERY_STRICT, -AEDB_ECORRUPT, name);
	ck_expect_open_fails(dir, AEDB_RECOVERY_PERMISSIVE, -AEDB_ECORRUPT, name);
	ck_flip(path, st.st_size / 2);
	{
		struct aedb *db = ck_open(dir, 2, NULL, NULL);

		assert_int_equal(ck_count(db, "app", AEDB_LATEST), 5000);
		t_assert_rc(aedb_close(db), 0);
	}
	/* The header, and the END block. */
	ck_flip(path, 20);
	ck_expect_open_fails(dir, AEDB_RECOVERY_STRICT, -AEDB_ECORRUPT, name);
	ck_flip(path, 20);
	ck_flip(path, st.st_size - 3);
	ck_expect_open_fails(dir, AEDB_RECOVERY_STRICT, -AEDB_ECORRUPT, name);
	ck_flip(path, st.st_size - 3);
	t_rmrf(dir);
	free(dir);
}

/* A file the manifest names is missing or truncated; the manifest damaged. */
static void test_ckpt_missing_file_and_bad_manifest(void **state)
{
	uint64_t s;
	char *dir = ck_setup_damage(&s);
	char path[4096], moved[4200], name[64];

	(void)state;
	snprintf(name, sizeof(name), "%020llu/0.ckpt", (unsigned long long)s);
	snprintf(path, sizeof(path), "%s/checkpoint/%s", dir, name);
	snprintf(moved, sizeof(moved), "%s.away", path);
	assert_int_equal(rename(path, moved), 0);
	ck_expect_open_fails(dir, AEDB_RECOVERY_STRICT, -AEDB_ECORRUPT, name);
	ck_expect_open_fails(dir, AEDB_RECOVERY_PERMISSIVE, -AEDB_ECORRUPT, name);
	assert_int_equal(rename(moved, path), 0);
	assert_int_equal(truncate(path, 100), 0);
	ck_expect_open_fails(dir, AEDB_RECOVERY_STRICT, -AEDB_ECORRUPT, name);
	snprintf(path, sizeof(path), "%s/checkpoint/MANIFEST", dir);
	ck_flip(path, 30);
	ck_expect_open_fails(dir, AEDB_RECOVERY_STRICT, -AEDB_ECORRUPT, "MANIFEST");
	t_rmrf(dir);
	free(dir);
}

struct ck_writer {
	struct aedb *db;
	uint32_t tid;
	atomic_int *stop;
	uint64_t acked;
};

static void *ck_writer_main(void *arg)
{
	struct ck_writer *w = arg;
	char key[32], val[32];

	for (uint64_t n = 0; !atomic_load(w->stop); n++) {
		int rc;

		snprintf(key, sizeof(key), "w%u:%08llu", w->tid, (unsigned long long)n);
		snprintf(val, sizeof(val), "%llu", (unsigned long long)n);
		rc = aedb_kv_set(w->db, T_P, "app", key, strlen(key), val, strlen(val),
				 AEDB_FINALITY_VISIBLE, NULL);
		T_CHECK(rc == 0, "set: %s", aedb_strerror(rc));
		if (rc)
			break;
		w->acked = n + 1;
	}
	return NULL;
}

/* Checkpoints while writers run; reopen: every write is there. */
static void test_ckpt_under_writers(void **state)
{
	char *dir = t_tmpdir();
	struct aedb_config cfg;
	struct ck_writer w[3];
	pthread_t th[3];
	atomic_int stop = 0;
	struct aedb *db;

	(void)state;
	aedb_config_init(&cfg);
	cfg.wal_segment_bytes = 64u << 10;
	cfg.retain_commits = 16;
	cfg.retain_ms = 1;
	cfg.gc_interval_ms = 1;
	db = ck_open(dir, 3, &cfg, NULL);
	t_assert_rc(aedb_create_project(db, T_P), 1);
	for (uint32_t i = 0; i < 3; i++) {
		w[i] = (struct ck_writer){ .db = db, .tid = i, .stop = &stop };
		pthread_create(&th[i], NULL, ck_writer_main, &w[i]);
	}
	for (int k = 0; k < 5; k++) {
		struct aedb_checkpoint_result res;
		uint64_t n;

		t_sleep_ms(30);
		t_assert_rc(aedb_checkpoint_now(db, &res), 0);
		/* The checkpoint's snapshot is exact: a prefix per writer. */
		n = ck_count(db, "app", (struct aedb_at){ AEDB_AT_CHECKPOINT, 0, 0 });
		assert_int_equal(n, res.entries);
	}
	atomic_store(&stop, 1);
	for (uint32_t i = 0; i < 3; i++)
		pthread_join(th[i], NULL);
	assert_int_equal(t_thread_failed(), 0);
	t_assert_rc(aedb_close(db), 0);
	db = ck_open(dir, 3, &cfg, NULL);
	assert_int_equal(ck_count(db, "app", AEDB_LATEST), w[0].acked + w[1].acked + w[2].acked);
	t_assert_rc(aedb_close(db), 0);
	t_rmrf(dir);
	free(dir);
}

/* Automatic checkpoints by WAL bytes; config validation. */
static void test_ckpt_auto_and_config(void **state)
{
	char *dir = t_tmpdir();
	struct aedb_config cfg;
	struct aedb *db = NULL;
	char key[32], val[1024];

	(void)state;
	aedb_config_init(&cfg);
	cfg.checkpoint_wal_bytes = 1000;
	t_assert_rc(aedb_open(dir, &cfg, &db), -AEDB_ECONFIG);
	aedb_config_init(&cfg);
	cfg.checkpoint_interval_ms = 50;
	t_assert_rc(aedb_open(dir, &cfg, &db), -AEDB_ECONFIG);
	aedb_config_init(&cfg);
	cfg.checkpoint_wal_bytes = 1u << 20;
	db = ck_open(dir, 2, &cfg, NULL);
	t_assert_rc(aedb_create_project(db, T_P), 1);
	memset(val, 'x', sizeof(val) - 1);
	val[sizeof(val) - 1] = '\0';
	for (int i = 0; i < 3000; i++) {
		snprintf(key, sizeof(key), "k%05d", i);
		ck_put(db, "app", key, val);
	}
	for (int i = 0; i < 200 && !aedb_checkpoint_seq(db); i++)
		t_sleep_ms(20);
	assert_true(aedb_checkpoint_seq(db) > 0);
	t_assert_rc(aedb_close(db), 0);
	db = ck_open(dir, 2, &cfg, NULL);
	assert_int_equal(ck_count(db, "app", AEDB_LATEST), 3000);
	t_assert_rc(aedb_close(db), 0);
	t_rmrf(dir);
	free(dir);
}

/* Every catalog object kind survives a checkpoint (api/cat_emit.h): an
 * index keeps answering and stays maintained, an accumulator keeps its value
 * and its dedupe records. */
static void test_ckpt_index_and_accumulator(void **state)
{
	char *dir = t_tmpdir();
	const char *cols[] = { "name" };
	struct aedb_index_def ix = { .name = "by_name", .columns = cols, .ncolumns = 1 };
	struct aedb_commit_result cr;
	struct aedb_open_report rep;
	struct aedb *db = ck_open(dir, 3, NULL, NULL);
	int64_t v = 0;

	(void)state;
	t_assert_rc(aedb_create_project(db, T_P), 1);
	t_assert_rc(aedb_create_table(db, T_P, "app", &ck_table), 1);
	for (uint64_t i = 0; i < 100; i++)
		ck_row(db, i, i % 2 ? "odd" : "even");
	t_assert_rc(aedb_create_index(db, T_P, "app", "users", &ix), 1);
	t_assert_rc(aedb_create_accumulator(db, T_P, "app", "house"), 1);
	for (int i = 0; i < 20; i++) {
		char dk[16];

		snprintf(dk, sizeof(dk), "d%d", i);
		t_assert_rc(aedb_accumulate(db, T_P, "app", "house", 10, dk, (uint64_t)i + 1,
					    AEDB_FINALITY_VISIBLE, NULL), 0);
	}
	t_assert_rc(aedb_checkpoint_now(db, NULL), 0);
	ck_row(db, 100, "odd");
	t_assert_rc(aedb_close(db), 0);

	db = ck_open(dir, 3, NULL, &rep);
	assert_true(rep.checkpoint_seq > 0);
	t_assert_rc(aedb_accumulator_value(db, T_P, "app", "house", AEDB_LATEST, &v, NULL), 0);
	assert_int_equal(v, 200);
	t_assert_rc(aedb_accumulate(db, T_P, "app", "house", 10, "d3", 4, AEDB_FINALITY_VISIBLE,
				    &cr), AEDB_COMMIT_DUPLICATE);
	{
		struct aedb_value lit = { .type = AEDB_TYPE_TEXT, .len = 3, .u.bytes = "odd" };
		struct aedb_query *q = NULL;
		struct aedb_query_result *r = NULL;

		t_assert_rc(aedb_query_create("users", &q), 0);
		t_assert_rc(aedb_query_where(q, aedb_expr_cmp(AEDB_CMP_EQ, "name", &lit)), 0);
		t_assert_rc(aedb_query_run(db, T_P, "app", q, AEDB_LATEST, &r), 0);
		assert_int_equal(r->nrows, 51);
		aedb_query_result_free(r);
		aedb_query_free(q);
	}
	/* A second checkpoint of the reopened catalog, and another reopen. */
	ck_row(db, 101, "even");
	t_assert_rc(aedb_checkpoint_now(db, NULL), 0);
	t_assert_rc(aedb_close(db), 0);
	db = ck_open(dir, 3, NULL, &rep);
	t_assert_rc(aedb_accumulator_value(db, T_P, "app", "house", AEDB_LATEST, &v, NULL), 0);
	assert_int_equal(v, 200);
	ck_row_expect(db, 101, "even");
	t_assert_rc(aedb_close(db), 0);
	t_rmrf(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ckpt_reopen_equals_state),
		cmocka_unit_test(test_ckpt_dropped_default_scope),
		cmocka_unit_test(test_ckpt_reclaims_segments),
		cmocka_unit_test(test_ckpt_corrupt_block_names_file),
		cmocka_unit_test(test_ckpt_missing_file_and_bad_manifest),
		cmocka_unit_test(test_ckpt_under_writers),
		cmocka_unit_test(test_ckpt_auto_and_config),
		cmocka_unit_test(test_ckpt_index_and_accumulator),
	};

	t_require_engine();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
