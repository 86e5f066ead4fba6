/* SPDX-License-Identifier: MIT */
/* core: error strings and classes, config validation, identifier rules. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "aedb.h"
#include "core/config.h"
#include "core/names.h"
#include "core/spin.h"

static void test_core_strerror_every_code(void **state)
{
	(void)state;
	for (int e = AEDB_ERRNO_BASE + 1; e < AEDB_ERRNO_LAST; e++) {
		const char *m = aedb_strerror(-e);

		assert_non_null(m);
		assert_string_equal(m, aedb_strerror(e));
		assert_string_not_equal(m, "unknown error");
		for (int f = e + 1; f < AEDB_ERRNO_LAST; f++)
			assert_string_not_equal(m, aedb_strerror(-f));
	}
	assert_string_equal(aedb_strerror(0), "success");
	assert_string_equal(aedb_strerror(-ENOMEM), strerror(ENOMEM));
	assert_string_equal(aedb_strerror(-(AEDB_ERRNO_LAST + 5)), "unknown error");
}

static void test_core_error_classes(void **state)
{
	(void)state;
	assert_int_equal(aedb_error_class(0), AEDB_CLASS_NONE);
	assert_int_equal(aedb_error_class(-AEDB_EBUSY), AEDB_CLASS_RETRYABLE);
	assert_int_equal(aedb_error_class(-EAGAIN), AEDB_CLASS_RETRYABLE);
	assert_int_equal(aedb_error_class(-AEDB_ECONFLICT), AEDB_CLASS_CONFLICT);
	assert_int_equal(aedb_error_class(-AEDB_EPERM), AEDB_CLASS_PERMISSION);
	assert_int_equal(aedb_error_class(-EACCES), AEDB_CLASS_PERMISSION);
	assert_int_equal(aedb_error_class(-AEDB_ETOOBIG), AEDB_CLASS_VALIDATION);
	assert_int_equal(aedb_error_class(-AEDB_ENAME), AEDB_CLASS_VALIDATION);
	assert_int_equal(aedb_error_class(-AEDB_ECORRUPT), AEDB_CLASS_INTEGRITY);
	assert_int_equal(aedb_error_class(-AEDB_EFATAL), AEDB_CLASS_UNAVAILABLE);
	assert_int_equal(aedb_error_class(-AEDB_ECLOSED), AEDB_CLASS_UNAVAILABLE);
	assert_int_equal(aedb_error_class(-ENOSPC), AEDB_CLASS_UNAVAILABLE);
	/* Sign does not matter. */
	assert_int_equal(aedb_error_class(AEDB_EBUSY), AEDB_CLASS_RETRYABLE);
	for (int e = AEDB_ERRNO_BASE + 1; e < AEDB_ERRNO_LAST; e++)
		assert_true(aedb_error_class(-e) <= AEDB_CLASS_UNAVAILABLE);
}

static void test_core_version(void **state)
{
	(void)state;
	assert_int_equal(aedb_version_number(), AEDB_VERSION_NUMBER);
	assert_string_equal(aedb_version_string(), AEDB_VERSION_STRING);
}

static void test_core_config_defaults_resolve(void **state)
{
	struct aedb_config in, out;

	(void)state;
	aedb_config_init(&in);
	assert_int_equal(in.max_key_bytes, 1024);
	assert_int_equal(in.max_value_bytes, 1u << 20);
	assert_int_equal(in.durability, AEDB_DURABILITY_FULL);
	assert_int_equal(core_config_resolve(&in, &out, NULL, 0), 0);
	assert_true(out.shards >= 1 && out.shards <= AEDB_SHARDS_MAX);
	aedb_config_low_latency(&in);
	assert_int_equal(core_config_resolve(&in, &out, NULL, 0), 0);
	assert_true(in.spin_us > 50);
}

static void test_core_config_rejects(void **state)
{
	struct aedb_config c, out;

	(void)state;
#define REJECT(field, value) do { \
		aedb_config_init(&c); \
		c.field = value; \
		assert_int_equal(core_config_resolve(&c, &out, NULL, 0), -AEDB_ECONFIG); \
	} while (0)
	REJECT(shards, AEDB_SHARDS_MAX + 1);
	REJECT(durability, 7);
	REJECT(pin_threads, 2);
	REJECT(max_key_bytes, 0);
	REJECT(max_key_bytes, AEDB_KEY_BYTES_LIMIT + 1);
	REJECT(max_value_bytes, AEDB_VALUE_BYTES_LIMIT + 1);
	REJECT(max_scan_rows, 0);
	REJECT(inbox_entries, 1000);
	REJECT(inbox_entries, 32);
	REJECT(mesh_entries, 100);
	REJECT(batch_max, 0);
	REJECT(spin_us, 1000001);
	REJECT(gc_interval_ms, 0);
	REJECT(reserved[3], 1);
#undef REJECT
}

/* Shared CPUs: one client waiter spins at a time; a spare CPU: any number;
 * a zero budget: none. */
static void test_core_spin_policy(void **state)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	struct core_spin sp;

	(void)state;
	core_spin_init(&sp, 50, AEDB_SHARDS_MAX);
	assert_true(sp.shared);
	assert_true(core_spin_enter(&sp));
	assert_false(core_spin_enter(&sp));
	core_spin_leave(&sp);
	assert_true(core_spin_enter(&sp));
	core_spin_leave(&sp);
	assert_int_equal(sp.spinning, 0);

	core_spin_init(&sp, 0, AEDB_SHARDS_MAX);
	assert_false(core_spin_enter(&sp));
	assert_int_equal(sp.spinning, 0);

	if (cpus < 2)
		return;
	core_spin_init(&sp, 50, (uint32_t)cpus - 1);
	assert_false(sp.shared);
	for (int i = 0; i < 8; i++)
		assert_true(core_spin_enter(&sp));
	for (int i = 0; i < 8; i++)
		core_spin_leave(&sp);
	core_spin_init(&sp, 50, (uint32_t)cpus);
	assert_true(sp.shared);
}

static void test_core_names(void **state)
{
	char long_name[AEDB_NAME_MAX + 2];
	size_t len = 0;

	(void)state;
	assert_int_equal(core_name_check("a", &len), 0);
	assert_int_equal(len, 1);
	assert_int_equal(core_name_check("Az09_-", NULL), 0);
	assert_int_equal(core_name_check("", NULL), -AEDB_ENAME);
	assert_int_equal(core_name_check(NULL, NULL), -AEDB_EMISUSE);
	assert_int_equal(core_name_check("a.b", NULL), -AEDB_ENAME);
	assert_int_equal(core_name_check("a::b", NULL), -AEDB_ENAME);
	assert_int_equal(core_name_check("a b", NULL), -AEDB_ENAME);
	assert_int_equal(core_name_check("caf\xc3\xa9", NULL), -AEDB_ENAME);
	memset(long_name, 'x', sizeof(long_name));
	long_name[AEDB_NAME_MAX] = '\0';
	assert_int_equal(core_name_check(long_name, NULL), 0);
	long_name[AEDB_NAME_MAX] = 'x';
	long_name[AEDB_NAME_MAX + 1] = '\0';
	assert_int_equal(core_name_check(long_name, NULL), -AEDB_ENAME);
	assert_int_equal(core_project_name_check("_system", NULL), -AEDB_ERESERVED);
	assert_int_equal(core_name_check("_system", NULL), 0);
	assert_int_equal(core_project_name_check("_systemx", NULL), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_core_strerror_every_code),
		cmocka_unit_test(test_core_error_classes),
		cmocka_unit_test(test_core_version),
		cmocka_unit_test(test_core_config_defaults_resolve),
		cmocka_unit_test(test_core_config_rejects),
		cmocka_unit_test(test_core_spin_policy),
		cmocka_unit_test(test_core_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
