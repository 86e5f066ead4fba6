/* SPDX-License-Identifier: MIT */
/*
 * errors_test - error strings and classes, version functions, configuration
 * defaults and validation, aedb_open()/aedb_close() argument checks.
 */
#include "it_common.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void test_errors_strerror_every_code(void **state)
{
	const char *msg[AEDB_ERRNO_LAST - AEDB_ERRNO_BASE];

	(void)state;
	for (int c = AEDB_ERRNO_BASE + 1; c < AEDB_ERRNO_LAST; c++) {
		const char *neg = aedb_strerror(-c);
		const char *pos = aedb_strerror(c);

		assert_non_null(neg);
		assert_non_null(pos);
		assert_true(strlen(neg) > 0);
		/* negated or not: the same message */
		assert_string_equal(neg, pos);
		msg[c - AEDB_ERRNO_BASE] = neg;
		/* distinct for every engine code */
		for (int d = AEDB_ERRNO_BASE + 1; d < c; d++) {
			if (strcmp(msg[d - AEDB_ERRNO_BASE], neg) == 0)
				fail_msg("codes %d and %d share message \"%s\"", d, c, neg);
		}
	}
	/* errno band, success, unknown codes: never NULL */
	int others[] = { 0, -ENOENT, ENOENT, -EIO, -ENOMEM, -ENOSYS, -EAGAIN, 1, -1,
			 -AEDB_ERRNO_BASE, -AEDB_ERRNO_LAST, -(AEDB_ERRNO_LAST + 100),
			 AEDB_ERRNO_LAST + 100, 12345, -12345, 2000000000, -2000000000 };
	for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
		const char *m = aedb_strerror(others[i]);

		assert_non_null(m);
		/* an OS error is not reported with an engine code's message */
		if (others[i] == -ENOENT || others[i] == -EIO) {
			for (int c = AEDB_ERRNO_BASE + 1; c < AEDB_ERRNO_LAST; c++)
				assert_string_not_equal(m, msg[c - AEDB_ERRNO_BASE]);
		}
	}
	assert_string_equal(aedb_strerror(-ENOENT), aedb_strerror(ENOENT));
	assert_string_not_equal(aedb_strerror(-ENOENT), aedb_strerror(-EIO));
}

static void test_errors_class_mapping(void **state)
{
	(void)state;
	assert_int_equal(aedb_error_class(0), AEDB_CLASS_NONE);
	assert_int_equal(aedb_error_class(-AEDB_EBUSY), AEDB_CLASS_RETRYABLE);
	assert_int_equal(aedb_error_class(-EAGAIN), AEDB_CLASS_RETRYABLE);
	assert_int_equal(aedb_error_class(-EINTR), AEDB_CLASS_RETRYABLE);
	assert_int_equal(aedb_error_class(-AEDB_ECONFLICT), AEDB_CLASS_CONFLICT);
	assert_int_equal(aedb_error_class(-AEDB_EPERM), AEDB_CLASS_PERMISSION);
	assert_int_equal(aedb_error_class(-AEDB_EINVAL), AEDB_CLASS_VALIDATION);
	assert_int_equal(aedb_error_class(-AEDB_ETOOBIG), AEDB_CLASS_VALIDATION);
	assert_int_equal(aedb_error_class(-AEDB_ENAME), AEDB_CLASS_VALIDATION);
	assert_int_equal(aedb_error_class(-AEDB_ECORRUPT), AEDB_CLASS_INTEGRITY);
	assert_int_equal(aedb_error_class(-AEDB_ECLOSED), AEDB_CLASS_UNAVAILABLE);
	assert_int_equal(aedb_error_class(-AEDB_EFATAL), AEDB_CLASS_UNAVAILABLE);
	/* unknown codes are unavailable */
	assert_int_equal(aedb_error_class(-AEDB_ERRNO_LAST), AEDB_CLASS_UNAVAILABLE);
	assert_int_equal(aedb_error_class(-(AEDB_ERRNO_LAST + 77)), AEDB_CLASS_UNAVAILABLE);
	assert_int_equal(aedb_error_class(-2000000000), AEDB_CLASS_UNAVAILABLE);
	/* every engine error gets a real class */
	for (int c = AEDB_ERRNO_BASE + 1; c < AEDB_ERRNO_LAST; c++) {
		enum aedb_error_class k = aedb_error_class(-c);

		if (c == AEDB_ENOTFOUND)
			continue; /* a normal result; its class is not specified */
		assert_in_range(k, AEDB_CLASS_RETRYABLE, AEDB_CLASS_UNAVAILABLE);
	}
}

static void test_errors_version_matches_header(void **state)
{
	char buf[64];

	(void)state;
	assert_int_equal(aedb_version_number(), AEDB_VERSION_NUMBER);
	assert_non_null(aedb_version_string());
	assert_string_equal(aedb_version_string(), AEDB_VERSION_STRING);
	snprintf(buf, sizeof(buf), "%d.%d.%d", AEDB_VERSION_MAJOR, AEDB_VERSION_MINOR,
		 AEDB_VERSION_PATCH);
	assert_string_equal(aedb_version_string(), buf);
	assert_int_equal(aedb_version_number(),
			 AEDB_VERSION_MAJOR * 10000 + AEDB_VERSION_MINOR * 100 +
				 AEDB_VERSION_PATCH);
}

static void test_errors_config_defaults(void **state)
{
	struct aedb_config cfg, ll;

	(void)state;
	memset(&cfg, 0x5a, sizeof(cfg));
	aedb_config_init(&cfg);
	assert_int_equal(cfg.shards, 0);
	assert_int_equal(cfg.pin_threads, 0);
	assert_int_equal(cfg.durability, AEDB_DURABILITY_FULL);
	assert_int_equal(cfg.max_key_bytes, 1024);
	assert_int_equal(cfg.max_value_bytes, 1u << 20);
	assert_int_equal(cfg.max_scan_rows, 10000);
	assert_int_equal(cfg.inbox_entries, 4096);
	assert_int_equal(cfg.mesh_entries, 1024);
	assert_int_equal(cfg.batch_max, 512);
	assert_int_equal(cfg.spin_us, 50);
	assert_int_equal(cfg.retain_commits, 1024);
	assert_int_equal(cfg.retain_ms, 5000);
	assert_int_equal(cfg.gc_interval_ms, 100);
	assert_int_equal(cfg.wal_segment_bytes, 64u << 20);
	assert_int_equal(cfg.batch_interval_ms, 10);
	assert_int_equal(cfg.batch_max_bytes, 1u << 20);
	assert_int_equal(cfg.recovery, AEDB_RECOVERY_STRICT);
	for (size_t i = 0; i < sizeof(cfg.reserved) / sizeof(cfg.reserved[0]); i++)
		assert_int_equal(cfg.reserved[i], 0);

	memset(&ll, 0x5a, sizeof(ll));
	aedb_config_low_latency(&ll);
	assert_int_equal(ll.spin_us, 500);
	assert_int_equal(ll.batch_max, 64);
	/* otherwise the defaults */
	ll.spin_us = cfg.spin_us;
	ll.batch_max = cfg.batch_max;
	assert_memory_equal(&ll, &cfg, sizeof(cfg));
}

/* Open must fail with -AEDB_ECONFIG, leave *dbp alone, create nothing. */
static void t_expect_econfig(const struct aedb_config *cfg, const char *what)
{
	char *dir = t_tmpdir();
	char *sub;
	struct aedb *sentinel = (struct aedb *)&sub;
	struct aedb *db = sentinel;
	struct stat st;
	int rc;

	assert_true(asprintf(&sub, "%s/data", dir) > 0);
	rc = aedb_open(sub, cfg, &db);
	if (rc != -AEDB_ECONFIG) {
		if (rc == 0)
			aedb_close(db);
		fail_msg("config %s: aedb_open -> %d (%s), want -AEDB_ECONFIG", what, rc,
			 aedb_strerror(rc));
	}
	assert_ptr_equal(db, sentinel);
	/* "change nothing on disk" */
	assert_int_equal(stat(sub, &st), -1);
	assert_int_equal(errno, ENOENT);
	free(sub);
	t_rmrf(dir);
	free(dir);
}

/* Open must succeed (then close). */
static void t_expect_opens(const struct aedb_config *cfg, const char *what)
{
	char *dir = t_tmpdir();
	struct aedb *db = NULL;
	int rc = aedb_open(dir, cfg, &db);

	if (rc != 0)
		fail_msg("config %s: aedb_open -> %d (%s), want 0", what, rc, aedb_strerror(rc));
	assert_non_null(db);
	t_assert_rc(aedb_create_project(db, "p"), 1);
	t_assert_rc(aedb_close(db), 0);
	t_rmrf(dir);
	free(dir);
}

#define T_BAD(field, value)                                                   \
	do {                                                                  \
		struct aedb_config c_;                                        \
		aedb_config_init(&c_);                                        \
		c_.shards = 1;                                                \
		c_.field = (value);                                           \
		t_expect_econfig(&c_, #field " = " #value);                   \
	} while (0)

#define T_GOOD(field, value)                                                  \
	do {                                                                  \
		struct aedb_config c_;                                        \
		aedb_config_init(&c_);                                        \
		c_.shards = 1;                                                \
		c_.field = (value);                                           \
		t_expect_opens(&c_, #field " = " #value);                     \
	} while (0)

static void test_errors_config_invalid_rejected(void **state)
{
	(void)state;
	T_BAD(shards, AEDB_SHARDS_MAX + 1);
	T_BAD(shards, 1000000);
	T_BAD(durability, 3);
	T_BAD(durability, 0xffffffffu);
	T_BAD(max_key_bytes, 0);
	T_BAD(max_key_bytes, AEDB_KEY_BYTES_LIMIT + 1);
	T_BAD(max_value_bytes, AEDB_VALUE_BYTES_LIMIT + 1);
	T_BAD(max_scan_rows, 0);
	T_BAD(inbox_entries, 0);
	T_BAD(inbox_entries, 100);
	T_BAD(inbox_entries, 4095);
	T_BAD(inbox_entries, 32);
	T_BAD(inbox_entries, 2u << 20);
	T_BAD(mesh_entries, 0);
	T_BAD(mesh_entries, 8);
	T_BAD(mesh_entries, 1000);
	T_BAD(mesh_entries, 128u << 10);
	T_BAD(batch_max, 0);
	T_BAD(batch_max, 65537);
	T_BAD(spin_us, 1000001);
	T_BAD(gc_interval_ms, 0);
	T_BAD(gc_interval_ms, 60001);
	T_BAD(wal_segment_bytes, 0);
	T_BAD(wal_segment_bytes, (64u << 10) - 1);
	T_BAD(wal_segment_bytes, (1u << 30) + 1);
	T_BAD(batch_interval_ms, 0);
	T_BAD(batch_interval_ms, 60001);
	T_BAD(batch_max_bytes, 0);
	T_BAD(batch_max_bytes, (4u << 10) - 1);
	T_BAD(batch_max_bytes, (1u << 30) + 1);
	T_BAD(recovery, 2);
	T_BAD(recovery, 0xffffffffu);
	T_BAD(reserved[0], 1);
	T_BAD(reserved[7], 0x80000000u);
	T_BAD(reserved[sizeof(c_.reserved) / sizeof(c_.reserved[0]) - 1], 1);
}

static void test_errors_config_limits_accepted(void **state)
{
	(void)state;
	T_GOOD(max_key_bytes, 1);
	T_GOOD(max_key_bytes, AEDB_KEY_BYTES_LIMIT);
	T_GOOD(max_value_bytes, 0);
	T_GOOD(max_value_bytes, AEDB_VALUE_BYTES_LIMIT);
	T_GOOD(max_scan_rows, 1);
	T_GOOD(inbox_entries, 64);
	T_GOOD(inbox_entries, 1u << 20);
	T_GOOD(mesh_entries, 16);
	T_GOOD(mesh_entries, 64u << 10);
	T_GOOD(batch_max, 1);
	T_GOOD(batch_max, 65536);
	T_GOOD(spin_us, 0);
	T_GOOD(spin_us, 1000000);
	T_GOOD(gc_interval_ms, 1);
	T_GOOD(gc_interval_ms, 60000);
	T_GOOD(durability, AEDB_DURABILITY_BATCH);
	T_GOOD(durability, AEDB_DURABILITY_OS);
	T_GOOD(pin_threads, 1);
	T_GOOD(retain_commits, 0);
	T_GOOD(retain_ms, 0);
	T_GOOD(wal_segment_bytes, 64u << 10);
	T_GOOD(wal_segment_bytes, 1u << 30);
	T_GOOD(batch_interval_ms, 1);
	T_GOOD(batch_interval_ms, 60000);
	T_GOOD(batch_max_bytes, 4u << 10);
	T_GOOD(batch_max_bytes, 1u << 30);
	T_GOOD(recovery, AEDB_RECOVERY_PERMISSIVE);

	struct aedb_config ll;

	aedb_config_low_latency(&ll);
	ll.shards = 2;
	t_expect_opens(&ll, "low latency profile");
}

static void test_errors_open_argument_checks(void **state)
{
	char *dir = t_tmpdir();
	char *file, *under_file;
	struct aedb *sentinel = (struct aedb *)&dir;
	struct aedb *db = sentinel;
	struct aedb_config cfg;
	FILE *f;
	int rc;

	(void)state;
	aedb_config_init(&cfg);
	cfg.shards = 1;
	t_assert_rc(aedb_open(NULL, &cfg, &db), -AEDB_EMISUSE);
	assert_ptr_equal(db, sentinel);
	t_assert_rc(aedb_open(dir, &cfg, NULL), -AEDB_EMISUSE);
	t_assert_rc(aedb_open(NULL, NULL, NULL), -AEDB_EMISUSE);

	/* a path below a regular file: -errno (not an engine code), *dbp untouched */
	assert_true(asprintf(&file, "%s/file", dir) > 0);
	assert_true(asprintf(&under_file, "%s/file/data", dir) > 0);
	f = fopen(file, "w");
	assert_non_null(f);
	fclose(f);
	rc = aedb_open(under_file, &cfg, &db);
	assert_true(rc < 0);
	assert_true(-rc < AEDB_ERRNO_BASE);
	assert_ptr_equal(db, sentinel);
	free(under_file);
	free(file);

	/* aedb_close(NULL) is a no-op */
	t_assert_rc(aedb_close(NULL), 0);
	t_rmrf(dir);
	free(dir);
}

static void test_errors_open_creates_directory(void **state)
{
	char *dir = t_tmpdir();
	char *sub;
	struct aedb *db = NULL;
	struct stat st;

	(void)state;
	assert_true(asprintf(&sub, "%s/new", dir) > 0);
	t_assert_rc(aedb_open(sub, NULL, &db), 0);
	assert_non_null(db);
	assert_int_equal(stat(sub, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0700);
	/* NULL cfg: the defaults, shards = online CPUs capped at the max */
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	if (cpus > AEDB_SHARDS_MAX)
		cpus = AEDB_SHARDS_MAX;
	assert_int_equal(aedb_shard_count(db), (uint32_t)cpus);
	t_assert_rc(aedb_close(db), 0);

	/* reopen the same directory with the same shard count */
	db = NULL;
	t_assert_rc(aedb_open(sub, NULL, &db), 0);
	assert_int_equal(aedb_shard_count(db), (uint32_t)cpus);
	t_assert_rc(aedb_close(db), 0);
	free(sub);
	t_rmrf(dir);
	free(dir);
}

static void test_errors_stats_argument_checks(void **state)
{
	struct aedb *db = t_open(1, NULL);
	struct aedb_stats st;

	(void)state;
	t_assert_rc(aedb_stats(NULL, &st), -AEDB_EMISUSE);
	t_assert_rc(aedb_stats(db, NULL), -AEDB_EMISUSE);
	st = t_stats(db);
	/* idle: every allocated seq is visible */
	assert_int_equal(st.visible_seq, aedb_visible_seq(db));
	assert_int_equal(st.commits, st.visible_seq);
	assert_int_equal(st.versions_live, 0);
	assert_int_equal(st.keys_live, 0);
	assert_int_equal(st.inbox_depth, 0);
	/* a DDL commit and a KV commit each take one seq */
	t_assert_rc(aedb_create_project(db, "p"), 1);
	t_assert_rc(aedb_kv_set(db, "p", "app", "k", 1, "v", 1, AEDB_FINALITY_VISIBLE, NULL), 0);
	struct aedb_stats st2 = t_stats(db);

	assert_int_equal(st2.commits, st.commits + 2);
	assert_int_equal(st2.visible_seq, st.visible_seq + 2);
	assert_int_equal(st2.visible_seq, aedb_visible_seq(db));
	assert_int_equal(st2.keys_live, 1);
	assert_int_equal(st2.versions_live, 1);
	t_close(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_errors_strerror_every_code),
		cmocka_unit_test(test_errors_class_mapping),
		cmocka_unit_test(test_errors_version_matches_header),
		cmocka_unit_test(test_errors_config_defaults),
		cmocka_unit_test(test_errors_config_invalid_rejected),
		cmocka_unit_test(test_errors_config_limits_accepted),
		cmocka_unit_test(test_errors_open_argument_checks),
		cmocka_unit_test(test_errors_open_creates_directory),
		cmocka_unit_test(test_errors_stats_argument_checks),
	};

	t_require_engine();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
