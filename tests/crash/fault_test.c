/* SPDX-License-Identifier: MIT */
/*
 * Damaged logs and failing I/O: each test writes through the public API,
 * damages the directory (or arms an injected fault), reopens, and checks
 * what the contract promises: torn tails are cut, damage before the tail is
 * refused in strict mode (naming file and offset) and kept as a prefix in
 * permissive mode, and a failed write or fsync latches the instance fatal
 * while reads go on.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "aedb.h"
#include "io/fault.h"
#include "t_helpers.h"

#define FT_KEYS 3000

static void ft_cfg(struct aedb_config *cfg, uint32_t shards, uint32_t recovery)
{
	aedb_config_init(cfg);
	cfg->shards = shards;
	cfg->wal_segment_bytes = 64u << 10;
	cfg->recovery = recovery;
}

static void ft_key(char *buf, size_t len, uint32_t i)
{
	snprintf(buf, len, "key%06u", i);
}

/* Fill @dir with FT_KEYS durable writes (one shard) and close. */
static void ft_fill(const char *dir, uint32_t shards)
{
	struct aedb_config cfg;
	struct aedb *db;
	char key[32], val[80];

	ft_cfg(&cfg, shards, AEDB_RECOVERY_STRICT);
	assert_int_equal(aedb_open(dir, &cfg, &db), 0);
	assert_true(aedb_create_project(db, "f") >= 0);
	for (uint32_t i = 0; i < FT_KEYS; i++) {
		ft_key(key, sizeof(key), i);
		snprintf(val, sizeof(val), "value-%u-padding-padding-padding", i);
		assert_int_equal(aedb_kv_set(db, "f", "app", key, strlen(key), val, strlen(val),
					     AEDB_FINALITY_DURABLE, NULL), 0);
	}
	assert_int_equal(aedb_close(db), 0);
}

/* Keys present: must be exactly 0..n-1 (single writer: a prefix). */
static uint32_t ft_prefix_len(struct aedb *db)
{
	uint32_t n = 0;

	for (; n < FT_KEYS; n++) {
		struct aedb_kv_item *it;
		char key[32];

		ft_key(key, sizeof(key), n);
		if (aedb_kv_get(db, "f", "app", key, strlen(key), AEDB_LATEST, &it) != 0)
			break;
		aedb_kv_item_free(it);
	}
	for (uint32_t i = n; i < FT_KEYS; i++) {
		struct aedb_kv_item *it;
		char key[32];

		ft_key(key, sizeof(key), i);
		assert_int_equal(aedb_kv_get(db, "f", "app", key, strlen(key), AEDB_LATEST, &it),
				 -AEDB_ENOTFOUND);
	}
	return n;
}

/* Segment files of shard 0, sorted; returns count. */
static int ft_segments(const char *dir, char names[][600], int max)
{
	char path[300];
	struct dirent **list;
	int n, k = 0;

	snprintf(path, sizeof(path), "%s/wal/0", dir);
	n = scandir(path, &list, NULL, alphasort);
	assert_true(n >= 0);
	for (int i = 0; i < n; i++) {
		if (strstr(list[i]->d_name, ".seg") && k < max)
			snprintf(names[k++], 600, "%s/%s", path, list[i]->d_name);
		free(list[i]);
	}
	free(list);
	return k;
}

static off_t ft_size(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return st.st_size;
}

static int ft_open(const char *dir, uint32_t recovery, struct aedb **db,
		   struct aedb_open_report *rep)
{
	struct aedb_config cfg;

	ft_cfg(&cfg, 1, recovery);
	return aedb_open_ex(dir, &cfg, db, rep);
}

/* Offset just past the last non-zero byte. */
static off_t ft_data_end(const char *path)
{
	off_t size = ft_size(path);
	uint8_t *buf = malloc((size_t)size);
	int fd = open(path, O_RDONLY);
	off_t end = size;

	assert_true(fd >= 0 && buf);
	assert_int_equal(pread(fd, buf, (size_t)size, 0), size);
	while (end > 0 && buf[end - 1] == 0)
		end--;
	close(fd);
	free(buf);
	return end;
}

static void ft_poke(const char *path, off_t off, const void *bytes, size_t n)
{
	int fd = open(path, O_WRONLY);

	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, bytes, n, off), (ssize_t)n);
	close(fd);
}

static void test_fault_torn_tail_is_cut(void **state)
{
	char *dir = t_tmpdir(), segs[64][600];
	struct aedb_open_report rep;
	struct aedb *db;
	uint32_t n;
	int k;

	(void)state;
	ft_fill(dir, 1);
	k = ft_segments(dir, segs, 64);
	assert_true(k >= 2);
	assert_int_equal(truncate(segs[k - 1], ft_data_end(segs[k - 1]) - 7), 0);
	assert_int_equal(ft_open(dir, AEDB_RECOVERY_STRICT, &db, &rep), 0);
	assert_int_equal(rep.torn_tails, 1);
	assert_int_equal(rep.corrupt, 0);
	n = ft_prefix_len(db);
	assert_true(n >= FT_KEYS - 1 && n < FT_KEYS); /* exactly the torn write lost */
	assert_int_equal(aedb_close(db), 0);
	/* The cut is permanent: a second open finds a clean log. */
	assert_int_equal(ft_open(dir, AEDB_RECOVERY_STRICT, &db, &rep), 0);
	assert_int_equal(rep.torn_tails, 0);
	assert_int_equal(ft_prefix_len(db), n);
	assert_int_equal(aedb_close(db), 0);
	t_rmrf(dir);
	free(dir);
}

static void test_fault_flipped_byte_strict_and_permissive(void **state)
{
	char *dir = t_tmpdir(), segs[64][600];
	struct aedb_open_report rep;
	struct aedb *db = NULL;
	uint8_t junk = 0x5a;
	const char *base;
	uint32_t n;
	int k;

	(void)state;
	ft_fill(dir, 1);
	k = ft_segments(dir, segs, 64);
	assert_true(k >= 3);
	ft_poke(segs[1], ft_data_end(segs[1]) / 2, &junk, 1);
	assert_int_equal(ft_open(dir, AEDB_RECOVERY_STRICT, &db, &rep), -AEDB_ECORRUPT);
	assert_null(db);
	base = strrchr(segs[1], '/') + 1;
	assert_non_null(strstr(rep.message, base));
	assert_non_null(strstr(rep.message, "offset"));
	/* Strict refusal changed nothing: it refuses again. */
	assert_int_equal(ft_open(dir, AEDB_RECOVERY_STRICT, &db, &rep), -AEDB_ECORRUPT);
	assert_int_equal(ft_open(dir, AEDB_RECOVERY_PERMISSIVE, &db, &rep), 0);
	assert_int_equal(rep.corrupt, 1);
	assert_true(strlen(rep.message) > 0);
	n = ft_prefix_len(db);
	assert_true(n > 0 && n < FT_KEYS);
	assert_int_equal(aedb_close(db), 0);
	t_rmrf(dir);
	free(dir);
}

static void test_fault_zeroed_tail(void **state)
{
	char *dir = t_tmpdir(), segs[64][600];
	uint8_t zeros[300] = { 0 };
	struct aedb_open_report rep;
	struct aedb *db;
	off_t end;
	int k;

	(void)state;
	ft_fill(dir, 1);
	k = ft_segments(dir, segs, 64);
	end = ft_data_end(segs[k - 1]);
	ft_poke(segs[k - 1], end - (off_t)sizeof(zeros), zeros, sizeof(zeros));
	assert_int_equal(ft_open(dir, AEDB_RECOVERY_STRICT, &db, &rep), 0);
	assert_int_equal(rep.corrupt, 0);
	assert_true(ft_prefix_len(db) < FT_KEYS);
	assert_int_equal(aedb_close(db), 0);
	t_rmrf(dir);
	free(dir);
}

static void test_fault_missing_segment(void **state)
{
	char *dir = t_tmpdir(), segs[64][600];
	struct aedb_open_report rep;
	struct aedb *db = NULL;
	uint32_t n;
	int k;

	(void)state;
	ft_fill(dir, 1);
	k = ft_segments(dir, segs, 64);
	assert_true(k >= 3);
	assert_int_equal(unlink(segs[1]), 0);
	assert_int_equal(ft_open(dir, AEDB_RECOVERY_STRICT, &db, &rep), -AEDB_ECORRUPT);
	assert_non_null(strstr(rep.message, "missing segment"));
	assert_non_null(strstr(rep.message, strrchr(segs[2], '/') + 1));
	assert_int_equal(ft_open(dir, AEDB_RECOVERY_PERMISSIVE, &db, &rep), 0);
	n = ft_prefix_len(db);
	assert_true(n > 0 && n < FT_KEYS);
	assert_int_equal(aedb_close(db), 0);
	t_rmrf(dir);
	free(dir);
}

/* Write until the injected fault latches the instance; return acked count. */
static uint32_t ft_write_until_fatal(struct aedb *db)
{
	char key[32];
	uint32_t i;

	for (i = 0; i < FT_KEYS; i++) {
		int rc;

		ft_key(key, sizeof(key), i);
		rc = aedb_kv_set(db, "f", "app", key, strlen(key), "some value", 10,
				 AEDB_FINALITY_DURABLE, NULL);
		if (rc == -AEDB_EFATAL)
			break;
		assert_int_equal(rc, 0);
	}
	return i;
}

static void ft_fatal_case(enum io_fault_kind kind, uint64_t after, int err)
{
	struct aedb_stats st;
	char *dir = t_tmpdir();
	struct aedb_open_report rep;
	struct aedb_kv_item *it;
	struct aedb_config cfg;
	struct aedb *db;
	uint32_t acked;
	uint64_t v;

	ft_cfg(&cfg, 2, AEDB_RECOVERY_STRICT);
	assert_int_equal(aedb_open(dir, &cfg, &db), 0);
	assert_true(aedb_create_project(db, "f") >= 0);
	io_fault_set(kind, after);
	acked = ft_write_until_fatal(db);
	assert_true(acked < FT_KEYS);
	/* Latched: writes fail, reads go on, nothing changes. */
	v = aedb_visible_seq(db);
	assert_int_equal(aedb_kv_set(db, "f", "app", "x", 1, "y", 1, AEDB_FINALITY_VISIBLE, NULL),
			 -AEDB_EFATAL);
	assert_int_equal(aedb_visible_seq(db), v);
	assert_int_equal(aedb_force_fsync(db), -AEDB_EFATAL);
	assert_int_equal(aedb_stats(db, &st), 0);
	assert_int_equal(st.fatal_errno, err);
	if (acked) {
		assert_int_equal(aedb_kv_get(db, "f", "app", "key000000", 9, AEDB_LATEST, &it), 0);
		aedb_kv_item_free(it);
	}
	assert_int_equal(aedb_close(db), 0);
	io_fault_set(IO_FAULT_NONE, 0);
	/* Everything acknowledged durable survives; the rest is a prefix. */
	assert_int_equal(aedb_open_ex(dir, &cfg, &db, &rep), 0);
	assert_true(ft_prefix_len(db) >= acked);
	assert_int_equal(aedb_close(db), 0);
	t_rmrf(dir);
	free(dir);
}

static void test_fault_enospc_on_write(void **state)
{
	(void)state;
	ft_fatal_case(IO_FAULT_ENOSPC_WRITE, 20000, ENOSPC);
}

static void test_fault_enospc_on_preallocate(void **state)
{
	(void)state;
	ft_fatal_case(IO_FAULT_ENOSPC_FALLOC, 0, ENOSPC);
}

static void test_fault_fsync_eio_latches(void **state)
{
	(void)state;
	ft_fatal_case(IO_FAULT_EIO_FSYNC, 0, EIO);
}

static void test_fault_lock_and_shard_count(void **state)
{
	char *dir = t_tmpdir();
	struct aedb_config cfg;
	struct aedb *a, *b = NULL;

	(void)state;
	ft_cfg(&cfg, 3, AEDB_RECOVERY_STRICT);
	assert_int_equal(aedb_open(dir, &cfg, &a), 0);
	assert_int_equal(aedb_open(dir, &cfg, &b), -AEDB_ELOCKED);
	assert_null(b);
	assert_int_equal(aedb_close(a), 0);
	cfg.shards = 2;
	assert_int_equal(aedb_open(dir, &cfg, &b), -AEDB_EINCOMPAT);
	cfg.shards = 0; /* take the directory's */
	assert_int_equal(aedb_open(dir, &cfg, &b), 0);
	assert_int_equal(aedb_shard_count(b), 3);
	assert_int_equal(aedb_close(b), 0);
	t_rmrf(dir);
	free(dir);
}

/* BATCH and OS modes: DURABLE finality and wait/force still reach disk. */
static void test_fault_durable_in_lazy_modes(void **state)
{
	uint32_t modes[] = { AEDB_DURABILITY_BATCH, AEDB_DURABILITY_OS };

	(void)state;
	for (int m = 0; m < 2; m++) {
		char *dir = t_tmpdir();
		struct aedb_config cfg;
		struct aedb *db;
		uint64_t seq = 0;

		ft_cfg(&cfg, 2, AEDB_RECOVERY_STRICT);
		cfg.durability = modes[m];
		assert_int_equal(aedb_open(dir, &cfg, &db), 0);
		assert_true(aedb_create_project(db, "f") >= 0);
		assert_int_equal(aedb_kv_set(db, "f", "app", "a", 1, "1", 1, AEDB_FINALITY_DURABLE,
					     &seq), 0);
		assert_true(aedb_durable_seq(db) >= seq);
		assert_int_equal(aedb_kv_set(db, "f", "app", "b", 1, "2", 1, AEDB_FINALITY_VISIBLE,
					     &seq), 0);
		assert_int_equal(aedb_wait_durable(db, seq), 0);
		assert_true(aedb_durable_seq(db) >= seq);
		assert_int_equal(aedb_wait_durable(db, seq + 1000), -AEDB_EINVAL);
		assert_int_equal(aedb_kv_set(db, "f", "app", "c", 1, "3", 1, AEDB_FINALITY_VISIBLE,
					     &seq), 0);
		assert_int_equal(aedb_force_fsync(db), 0);
		assert_true(aedb_durable_seq(db) >= seq);
		assert_int_equal(aedb_close(db), 0);
		t_rmrf(dir);
		free(dir);
	}
}

/* Reopen keeps each key's version and created_seq (a delete then a set
 * restarts created_seq), drops deleted keys, and reads begin at S. */
static void test_fault_reopen_keeps_versions(void **state)
{
	char *dir = t_tmpdir();
	struct aedb_config cfg;
	struct aedb_kv_item *it;
	uint64_t s[6], v;
	struct aedb *db;

	(void)state;
	ft_cfg(&cfg, 2, AEDB_RECOVERY_STRICT);
	assert_int_equal(aedb_open(dir, &cfg, &db), 0);
	assert_true(aedb_create_project(db, "f") >= 0);
	assert_int_equal(aedb_kv_set(db, "f", "app", "a", 1, "1", 1, 0, &s[0]), 0);
	assert_int_equal(aedb_kv_set(db, "f", "app", "a", 1, "2", 1, 0, &s[1]), 0);
	assert_int_equal(aedb_kv_del(db, "f", "app", "a", 1, 0, &s[2]), 0);
	assert_int_equal(aedb_kv_set(db, "f", "app", "a", 1, "4", 1, 0, &s[3]), 0);
	assert_int_equal(aedb_kv_set(db, "f", "app", "b", 1, "x", 1, 0, &s[4]), 0);
	assert_int_equal(aedb_kv_set(db, "f", "app", "b", 1, "y", 1, 0, &s[5]), 0);
	assert_int_equal(aedb_kv_set(db, "f", "app", "gone", 4, "z", 1, 0, NULL), 0);
	assert_int_equal(aedb_kv_del(db, "f", "app", "gone", 4, 0, NULL), 0);
	v = aedb_visible_seq(db);
	assert_int_equal(aedb_close(db), 0);
	assert_int_equal(aedb_open(dir, &cfg, &db), 0);
	assert_int_equal(aedb_visible_seq(db), v);
	assert_int_equal(aedb_kv_get(db, "f", "app", "a", 1, AEDB_LATEST, &it), 0);
	assert_int_equal(it->entry.version, s[3]);
	assert_int_equal(it->entry.created_seq, s[3]);
	assert_memory_equal(it->entry.val, "4", 1);
	aedb_kv_item_free(it);
	assert_int_equal(aedb_kv_get(db, "f", "app", "b", 1, AEDB_LATEST, &it), 0);
	assert_int_equal(it->entry.version, s[5]);
	assert_int_equal(it->entry.created_seq, s[4]);
	aedb_kv_item_free(it);
	assert_int_equal(aedb_kv_get(db, "f", "app", "gone", 4, AEDB_LATEST, &it),
			 -AEDB_ENOTFOUND);
	assert_int_equal(aedb_kv_get(db, "f", "app", "a", 1, AEDB_SEQ(v), &it), 0);
	aedb_kv_item_free(it);
	assert_int_equal(aedb_kv_get(db, "f", "app", "a", 1, AEDB_SEQ(v - 1), &it),
			 -AEDB_ESEQGC);
	assert_int_equal(aedb_close(db), 0);
	t_rmrf(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fault_torn_tail_is_cut),
		cmocka_unit_test(test_fault_flipped_byte_strict_and_permissive),
		cmocka_unit_test(test_fault_zeroed_tail),
		cmocka_unit_test(test_fault_missing_segment),
		cmocka_unit_test(test_fault_enospc_on_write),
		cmocka_unit_test(test_fault_enospc_on_preallocate),
		cmocka_unit_test(test_fault_fsync_eio_latches),
		cmocka_unit_test(test_fault_lock_and_shard_count),
		cmocka_unit_test(test_fault_durable_in_lazy_modes),
		cmocka_unit_test(test_fault_reopen_keeps_versions),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
