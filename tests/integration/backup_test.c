/* SPDX-License-Identifier: MIT */
/*
 * Hot backup and restore (issue 6): a backup taken while writers run
 * verifies, restores into an empty directory, and opens to a prefix of the
 * commits that holds everything acknowledged before the backup began; a
 * damaged backup fails verification and is not restored; a non-empty target
 * is refused and left as it was.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "it_common.h"

#define BK_WRITERS 3

struct bk_writer {
	struct aedb *db;
	uint32_t tid;
	atomic_int *stop;
	atomic_ullong acked;
};

static void *bk_writer_main(void *arg)
{
	struct bk_writer *w = arg;
	char key[32], val[32];

	for (uint64_t n = 0; !atomic_load(w->stop); n++) {
		int rc;

		snprintf(key, sizeof(key), "w%u:%08llu", w->tid, (unsigned long long)n);
		snprintf(val, sizeof(val), "%llu", (unsigned long long)n);
		rc = aedb_kv_set(w->db, T_P, T_S, key, strlen(key), val, strlen(val),
				 AEDB_FINALITY_VISIBLE, NULL);
		T_CHECK(rc == 0, "set: %s", aedb_strerror(rc));
		if (rc)
			break;
		atomic_store(&w->acked, n + 1);
	}
	return NULL;
}

/* Keys of writer @t in @db: exactly n = 0..m-1; returns m. */
static uint64_t bk_prefix(struct aedb *db, uint32_t t)
{
	struct aedb_kv_page *pg = NULL;
	struct aedb_kv_cursor cur;
	char prefix[16];
	uint64_t n = 0;
	int more = 1;

	snprintf(prefix, sizeof(prefix), "w%u:", t);
	while (more) {
		struct aedb_kv_page *next = NULL;
		int rc = aedb_kv_scan_prefix(db, T_P, T_S, prefix, strlen(prefix), 1000,
					     pg ? &cur : NULL, AEDB_LATEST, &next);

		t_assert_rc(rc >= 0, 1);
		for (uint32_t k = 0; k < next->count; k++) {
			char want[32];

			snprintf(want, sizeof(want), "%s%08llu", prefix, (unsigned long long)n++);
			assert_int_equal(next->entries[k].key_len, strlen(want));
			assert_memory_equal(next->entries[k].key, want, strlen(want));
		}
		more = next->truncated;
		aedb_kv_page_free(pg);
		pg = next;
		cur = pg->cursor;
	}
	aedb_kv_page_free(pg);
	return n;
}

static void bk_flip(const char *path, off_t off)
{
	t_flip_byte(path, off, 0x11);
}

static void test_backup_hot_then_restore(void **state)
{
	char *dir = t_tmpdir(), *bdir = t_tmpdir(), *rdir = t_tmpdir();
	struct bk_writer w[BK_WRITERS];
	pthread_t th[BK_WRITERS];
	struct aedb_backup_result res;
	struct aedb_config cfg;
	atomic_int stop = 0;
	uint64_t before[BK_WRITERS];
	struct aedb *db;

	(void)state;
	aedb_config_init(&cfg);
	cfg.shards = 3;
	cfg.wal_segment_bytes = 64u << 10;
	t_assert_rc(aedb_open(dir, &cfg, &db), 0);
	t_assert_rc(aedb_create_project(db, T_P), 1);
	for (uint32_t i = 0; i < BK_WRITERS; i++) {
		w[i] = (struct bk_writer){ .db = db, .tid = i, .stop = &stop };
		pthread_create(&th[i], NULL, bk_writer_main, &w[i]);
	}
	t_sleep_ms(100);
	for (uint32_t i = 0; i < BK_WRITERS; i++)
		before[i] = atomic_load(&w[i].acked);
	t_assert_rc(aedb_backup(db, bdir, &res), 0);
	assert_true(res.checkpoint_seq > 0);
	assert_true(res.files >= 2 + 3);
	t_sleep_ms(50);
	atomic_store(&stop, 1);
	for (uint32_t i = 0; i < BK_WRITERS; i++)
		pthread_join(th[i], NULL);
	assert_int_equal(t_thread_failed(), 0);
	/* A second backup into the same directory is refused. */
	t_assert_rc(aedb_backup(db, bdir, NULL), -AEDB_EEXIST);
	t_assert_rc(aedb_close(db), 0);

	t_assert_rc(aedb_backup_verify(bdir), 0);
	t_assert_rc(aedb_restore(bdir, rdir), 0);
	cfg.shards = 0;
	t_assert_rc(aedb_open(rdir, &cfg, &db), 0);
	for (uint32_t i = 0; i < BK_WRITERS; i++) {
		uint64_t m = bk_prefix(db, i);

		assert_true(m >= before[i]);
		assert_true(m <= atomic_load(&w[i].acked));
	}
	t_assert_rc(aedb_close(db), 0);
	/* The target is not empty any more: a second restore is refused. */
	t_assert_rc(aedb_restore(bdir, rdir), -AEDB_EEXIST);
	t_rmrf(dir);
	t_rmrf(bdir);
	t_rmrf(rdir);
	free(dir);
	free(bdir);
	free(rdir);
}

static void test_backup_damaged_is_refused(void **state)
{
	char *bdir = t_tmpdir(), *rdir = t_tmpdir();
	struct aedb_backup_result res;
	char path[4200], key[32];
	struct aedb *db;
	struct stat st;

	(void)state;
	db = t_open_p(2, NULL);
	for (int i = 0; i < 1000; i++) {
		snprintf(key, sizeof(key), "k%04d", i);
		t_sets(db, key, "value");
	}
	t_assert_rc(aedb_backup(db, bdir, &res), 0);
	t_close(db);
	t_assert_rc(aedb_backup_verify(bdir), 0);
	snprintf(path, sizeof(path), "%s/checkpoint/%020llu/1.ckpt", bdir,
		 (unsigned long long)res.checkpoint_seq);
	assert_int_equal(stat(path, &st), 0);
	bk_flip(path, st.st_size / 2);
	t_assert_rc(aedb_backup_verify(bdir), -AEDB_ECORRUPT);
	rmdir(rdir);
	t_assert_rc(aedb_restore(bdir, rdir), -AEDB_ECORRUPT);
	assert_int_equal(stat(rdir, &st), -1); /* nothing was created */
	snprintf(path, sizeof(path), "%s/BACKUP", bdir);
	bk_flip(path, 9);
	t_assert_rc(aedb_backup_verify(bdir), -AEDB_ECORRUPT);
	t_rmrf(bdir);
	free(bdir);
	free(rdir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_backup_hot_then_restore),
		cmocka_unit_test(test_backup_damaged_is_refused),
	};

	t_require_engine();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
