/* SPDX-License-Identifier: MIT */
/*
 * Config profiles and open-time validation: every named profile validates
 * and opens; an unknown name is refused and leaves the config alone; every
 * field refuses each out-of-range value at open with -AEDB_ECONFIG, a
 * message naming the field, and nothing created on disk; the boundary
 * values are accepted.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "it_common.h"

#define CT_BAD_MAX 3

/* One row per field of struct aedb_config (before reserved[]): values that
 * must be refused (0 entries are unused; zero_bad: 0 is refused too), and
 * the in-range edges. */
static const struct ct_field {
	const char *name;
	size_t off;
	uint32_t bad[CT_BAD_MAX];
	int zero_bad;
	uint32_t good[2];
} ct_fields[] = {
#define F(f) #f, offsetof(struct aedb_config, f)
	{ F(shards), { AEDB_SHARDS_MAX + 1, UINT32_MAX }, 0, { 1, 4 } },
	{ F(pin_threads), { 2, UINT32_MAX }, 0, { 0, 1 } },
	{ F(durability), { 3, 99 }, 0, { 0, 2 } },
	{ F(max_key_bytes), { AEDB_KEY_BYTES_LIMIT + 1 }, 1, { 1, AEDB_KEY_BYTES_LIMIT } },
	{ F(max_value_bytes), { AEDB_VALUE_BYTES_LIMIT + 1 }, 0, { 0, AEDB_VALUE_BYTES_LIMIT } },
	{ F(max_scan_rows), { 0 }, 1, { 1, UINT32_MAX } }, /* any u32 but 0 */
	{ F(inbox_entries), { 32, 1000, 1u << 21 }, 1, { 64, 1u << 20 } },
	{ F(mesh_entries), { 8, 100, 1u << 17 }, 1, { 16, 1u << 16 } },
	{ F(batch_max), { 65537 }, 1, { 1, 65536 } },
	{ F(spin_us), { 1000001 }, 0, { 0, 1000000 } },
	{ F(retain_commits), { 0 }, 0, { 0, UINT32_MAX } }, /* every value is valid */
	{ F(retain_ms), { 0 }, 0, { 0, UINT32_MAX } },
	{ F(gc_interval_ms), { 60001 }, 1, { 1, 60000 } },
	{ F(wal_segment_bytes), { (64u << 10) - 1, (1u << 30) + 1 }, 1, { 64u << 10, 1u << 30 } },
	{ F(batch_interval_ms), { 60001 }, 1, { 1, 60000 } },
	{ F(batch_max_bytes), { 4095, (1u << 30) + 1 }, 1, { 4096, 1u << 30 } },
	{ F(recovery), { 2, 77 }, 0, { 0, 1 } },
	{ F(idempotency_window), { 0 }, 0, { 0, UINT32_MAX } }, /* every value is valid */
	{ F(max_txn_bytes), { 4095, (256u << 20) + 1 }, 1, { 4096, 256u << 20 } },
	{ F(checkpoint_wal_bytes), { 1, (1u << 20) - 1 }, 0, { 0, 1u << 20 } },
	{ F(checkpoint_interval_ms), { 1, 99, 86400001 }, 0, { 0, 100 } },
	{ F(backup_wal_pin), { 2, UINT32_MAX }, 0, { 0, 1 } },
#undef F
};

static void ct_set(struct aedb_config *c, const struct ct_field *f, uint32_t v)
{
	memcpy((char *)c + f->off, &v, sizeof(v));
}

/* aedb_open_ex() on a missing directory must fail with -AEDB_ECONFIG,
 * name @name, and leave the directory missing. */
static void ct_refused(const char *root, const struct aedb_config *c, const char *name)
{
	struct aedb_open_report rep;
	char path[512], want[96], msg[256];
	struct aedb *db = NULL;
	struct stat st;

	snprintf(path, sizeof(path), "%s/db", root);
	snprintf(want, sizeof(want), "config.%s ", name);
	t_assert_rc(aedb_config_validate(c, msg, sizeof(msg)), -AEDB_ECONFIG);
	if (!strstr(msg, want))
		fail_msg("validate: '%s' does not name %s", msg, name);
	t_assert_rc(aedb_open_ex(path, c, &db, &rep), -AEDB_ECONFIG);
	assert_null(db);
	if (!strstr(rep.message, want))
		fail_msg("open: '%s' does not name %s", rep.message, name);
	assert_int_equal(stat(path, &st), -1);
	assert_int_equal(errno, ENOENT);
}

static void test_config_every_field_refused(void **state)
{
	char *root = t_tmpdir();
	struct aedb_config c;
	char msg[256];

	(void)state;
	/* The table covers every field: a new one needs its row. */
	assert_int_equal(sizeof(ct_fields) / sizeof(ct_fields[0]),
			 offsetof(struct aedb_config, reserved) / sizeof(uint32_t));
	for (size_t i = 0; i < sizeof(ct_fields) / sizeof(ct_fields[0]); i++) {
		const struct ct_field *f = &ct_fields[i];

		for (int k = 0; k < CT_BAD_MAX; k++) {
			if (f->bad[k] == 0)
				continue;
			aedb_config_init(&c);
			ct_set(&c, f, f->bad[k]);
			ct_refused(root, &c, f->name);
		}
		if (f->zero_bad) {
			aedb_config_init(&c);
			ct_set(&c, f, 0);
			ct_refused(root, &c, f->name);
		}
		for (int k = 0; k < 2; k++) {
			aedb_config_init(&c);
			ct_set(&c, f, f->good[k]);
			t_assert_rc(aedb_config_validate(&c, msg, sizeof(msg)), 0);
			assert_string_equal(msg, "");
		}
	}
	for (size_t i = 0; i < sizeof(c.reserved) / sizeof(c.reserved[0]); i++) {
		char name[32];

		aedb_config_init(&c);
		c.reserved[i] = 1;
		snprintf(name, sizeof(name), "reserved[%zu]", i);
		ct_refused(root, &c, name);
	}
	t_assert_rc(aedb_config_validate(NULL, msg, sizeof(msg)), -AEDB_EMISUSE);
	aedb_config_init(&c);
	t_assert_rc(aedb_config_validate(&c, NULL, 0), 0);
	t_rmrf(root);
	free(root);
}

static void test_config_profiles(void **state)
{
	static const char *names[] = { "default", "low-latency", "production", "development" };
	struct aedb_config c, d, before;

	(void)state;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		struct aedb *db;

		memset(&c, 0xa5, sizeof(c));
		t_assert_rc(aedb_config_profile(&c, names[i]), 0);
		t_assert_rc(aedb_config_validate(&c, NULL, 0), 0);
		c.shards = 2;
		c.pin_threads = 0; /* CI machines may forbid affinity; harmless */
		db = t_open_p(2, &c);
		t_sets(db, "k", names[i]);
		t_expects(db, "k", names[i]);
		t_close(db);
	}
	t_assert_rc(aedb_config_profile(&c, "default"), 0);
	aedb_config_init(&d);
	assert_memory_equal(&c, &d, sizeof(c));
	t_assert_rc(aedb_config_profile(&c, "low-latency"), 0);
	aedb_config_low_latency(&d);
	assert_memory_equal(&c, &d, sizeof(c));
	t_assert_rc(aedb_config_profile(&c, "production"), 0);
	assert_int_equal(c.durability, AEDB_DURABILITY_FULL);
	assert_int_equal(c.recovery, AEDB_RECOVERY_STRICT);
	assert_int_equal(c.pin_threads, 1);
	assert_true(c.checkpoint_interval_ms > 0);
	t_assert_rc(aedb_config_profile(&c, "development"), 0);
	assert_int_equal(c.durability, AEDB_DURABILITY_OS);
	assert_int_equal(c.recovery, AEDB_RECOVERY_PERMISSIVE);
	/* Unknown names: refused, config untouched. */
	before = c;
	t_assert_rc(aedb_config_profile(&c, "fast"), -AEDB_ECONFIG);
	t_assert_rc(aedb_config_profile(&c, "Production"), -AEDB_ECONFIG);
	t_assert_rc(aedb_config_profile(&c, ""), -AEDB_ECONFIG);
	t_assert_rc(aedb_config_profile(&c, "low_latency"), -AEDB_ECONFIG);
	assert_memory_equal(&c, &before, sizeof(c));
	t_assert_rc(aedb_config_profile(NULL, "default"), -AEDB_EMISUSE);
	t_assert_rc(aedb_config_profile(&c, NULL), -AEDB_EMISUSE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_every_field_refused),
		cmocka_unit_test(test_config_profiles),
	};

	t_require_engine();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
