/* SPDX-License-Identifier: MIT */
/*
 * `aedb restore` of chains, archives, to a seq and to a time ($AEDB_CLI):
 * a chain made through the API (full backup, incremental, archive) with
 * writes in three time windows; the CLI restores it at the time between
 * two windows (ISO 8601 and @seconds forms) onto exactly the expected seq,
 * --json reports it; bad times, both options, a time before the backup,
 * a seq past it, a broken chain and a non-empty target are refused with
 * their exit codes and write nothing.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "it_common.h"
#include "cli_common.h"

struct cr_fix {
	char *root;
	char b0[4400], b1[4400], arc[4400], tgt[4400];
	uint64_t seq[3];      /* the last seq of window k (seq[0]: the backup's) */
	uint64_t t[3];        /* after window k (t[0]: after the full backup) */
	uint64_t t_before;    /* before the full backup */
};

static uint64_t cr_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t cr_mark(void)
{
	uint64_t t;

	t_sleep_ms(3);
	t = cr_now();
	t_sleep_ms(3);
	return t;
}

static void cr_window(struct aedb *db, int w, int n)
{
	char key[32];

	for (int i = 0; i < n; i++) {
		snprintf(key, sizeof(key), "w%d:%03d", w, i);
		t_sets(db, key, "v");
	}
}

static void cr_make(struct cr_fix *f)
{
	struct aedb *db;

	memset(f, 0, sizeof(*f));
	f->root = t_tmpdir();
	snprintf(f->b0, sizeof(f->b0), "%s/b0", f->root);
	snprintf(f->b1, sizeof(f->b1), "%s/b1", f->root);
	snprintf(f->arc, sizeof(f->arc), "%s/full.arc", f->root);
	snprintf(f->tgt, sizeof(f->tgt), "%s/tgt", f->root);
	{
		char data[4400];

		snprintf(data, sizeof(data), "%s/data", f->root);
		t_assert_rc(aedb_open(data, NULL, &db), 0);
	}
	t_assert_rc(aedb_create_project(db, T_P), 1);
	cr_window(db, 0, 20);
	f->t_before = cr_mark();
	t_assert_rc(aedb_backup(db, f->b0, NULL), 0);
	t_assert_rc(aedb_backup_to_file(db, f->arc, NULL), 0);
	f->seq[0] = aedb_visible_seq(db);
	f->t[0] = cr_mark();
	cr_window(db, 1, 30);
	f->seq[1] = aedb_visible_seq(db);
	f->t[1] = cr_mark();
	cr_window(db, 2, 30);
	f->seq[2] = aedb_visible_seq(db);
	t_assert_rc(aedb_backup_incremental(db, f->b0, f->b1, NULL), 0);
	f->t[2] = cr_mark();
	t_assert_rc(aedb_close(db), 0);
}

/* @t as ISO 8601 UTC with nanoseconds. */
static void cr_iso(uint64_t t, char *buf, size_t len)
{
	time_t sec = (time_t)(t / 1000000000ull);
	struct tm tm;
	size_t n;

	gmtime_r(&sec, &tm);
	n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, len - n, ".%09lluZ", (unsigned long long)(t % 1000000000ull));
}

/* Run restore with --json, expect success on @want; check the target. */
static void cr_ok(struct cr_fix *f, const char *const *args, uint64_t want)
{
	json_t *j = t_cli_json(0, args);
	struct aedb *db;

	assert_non_null(j);
	assert_int_equal(json_integer_value(json_object_get(j, "restored_seq")), want);
	json_decref(j);
	t_assert_rc(aedb_open(f->tgt, NULL, &db), 0);
	assert_int_equal(aedb_visible_seq(db), want);
	t_assert_rc(aedb_close(db), 0);
	t_rmrf(f->tgt);
}

static void cr_refused(int status, const char *const *args, const char *in_err)
{
	struct t_cli r;

	t_cli_run(&r, args);
	if (r.status != status || !strstr(r.err, in_err))
		fprintf(stderr, "exit %d, stderr: %s\n", r.status, r.err);
	assert_int_equal(r.status, status);
	assert_non_null(strstr(r.err, in_err));
	t_cli_free(&r);
}

static void test_cli_restore_at_time(void **state)
{
	struct cr_fix f;
	char iso[64], at[64], num[32];

	(void)state;
	cr_make(&f);
	cr_iso(f.t[1], iso, sizeof(iso));
	cr_ok(&f, T_CLI("restore", f.b0, f.b1, f.tgt, "--at-time", iso), f.seq[1]);
	snprintf(at, sizeof(at), "@%llu.%09llu", (unsigned long long)(f.t[0] / 1000000000ull),
		 (unsigned long long)(f.t[0] % 1000000000ull));
	cr_ok(&f, T_CLI("restore", f.b0, f.b1, f.tgt, "--at-time", at), f.seq[0]);
	cr_iso(f.t[2], iso, sizeof(iso));
	cr_ok(&f, T_CLI("restore", f.b0, f.b1, f.tgt, "--at-time", iso), f.seq[2]);
	cr_ok(&f, T_CLI("restore", f.arc, f.tgt, "--at-time", iso), f.seq[0]);
	snprintf(num, sizeof(num), "%llu", (unsigned long long)f.seq[1] - 3);
	cr_ok(&f, T_CLI("restore", f.b0, f.b1, f.tgt, "--seq", num), f.seq[1] - 3);
	cr_ok(&f, T_CLI("restore", f.b0, f.b1, f.tgt), f.seq[2]);
	/* Refusals: nothing written. */
	cr_refused(2, T_CLI("restore", f.b0, f.tgt, "--at-time", "yesterday"), "--at-time");
	cr_refused(2, T_CLI("restore", f.b0, f.tgt, "--at-time", "2026-01-01T00:00:00"),
		   "--at-time");
	cr_refused(2, T_CLI("restore", f.b0, f.tgt, "--at-time", iso, "--seq", "3"), "exclude");
	cr_iso(f.t_before, iso, sizeof(iso));
	cr_refused(2, T_CLI("restore", f.b0, f.b1, f.tgt, "--at-time", iso), "earlier");
	snprintf(num, sizeof(num), "%llu", (unsigned long long)f.seq[2] + 1);
	cr_refused(2, T_CLI("restore", f.b0, f.b1, f.tgt, "--seq", num), "past the end");
	cr_refused(2, T_CLI("restore", f.b1, f.tgt), "not a chain");
	assert_int_equal(access(f.tgt, F_OK), -1);
	assert_int_equal(mkdir(f.tgt, 0700), 0);
	{
		char keep[4500];

		snprintf(keep, sizeof(keep), "%s/keep", f.tgt);
		fclose(fopen(keep, "w"));
	}
	cr_iso(f.t[2], iso, sizeof(iso));
	cr_refused(4, T_CLI("restore", f.b0, f.b1, f.tgt, "--at-time", iso), "not empty");
	t_rmrf(f.root);
	free(f.root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cli_restore_at_time),
	};

	t_require_engine();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
