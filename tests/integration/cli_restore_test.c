/* SPDX-License-Identifier: MIT */
/*
 * `aedb restore` of chains, archives, to a seq and to a time ($AEDB_CLI):
 * a chain made through the API (full backup, incremental, archive) with
 * writes in three time windows; the CLI restores it at the time between
 * two windows (ISO 8601 and @seconds forms) onto exactly the expected seq,
 * --json reports it; bad times, both options, a time before the backup,
 * a seq past it, a broken chain and a non-empty target are refused with
 * their exit codes and write nothing. `restore --project P [--scope S]`:
 * the dump of the result is exactly the part of P (or P/S) in the dump of
 * a full restore of the same backup, nothing else; an unknown project or
 * scope is refused (exit 2) and writes nothing.
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
	t_cli_restored(args, f->tgt, want);
	t_rmrf(f->tgt);
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
	t_cli_expect(2, T_CLI("restore", f.b0, f.tgt, "--at-time", "yesterday"), "--at-time");
	t_cli_expect(2, T_CLI("restore", f.b0, f.tgt, "--at-time", "2026-01-01T00:00:00"),
		   "--at-time");
	t_cli_expect(2, T_CLI("restore", f.b0, f.tgt, "--at-time", iso, "--seq", "3"), "exclude");
	cr_iso(f.t_before, iso, sizeof(iso));
	t_cli_expect(2, T_CLI("restore", f.b0, f.b1, f.tgt, "--at-time", iso), "earlier");
	snprintf(num, sizeof(num), "%llu", (unsigned long long)f.seq[2] + 1);
	t_cli_expect(2, T_CLI("restore", f.b0, f.b1, f.tgt, "--seq", num), "past the end");
	t_cli_expect(2, T_CLI("restore", f.b1, f.tgt), "not a chain");
	assert_int_equal(access(f.tgt, F_OK), -1);
	assert_int_equal(mkdir(f.tgt, 0700), 0);
	{
		char keep[4500];

		snprintf(keep, sizeof(keep), "%s/keep", f.tgt);
		fclose(fopen(keep, "w"));
	}
	cr_iso(f.t[2], iso, sizeof(iso));
	t_cli_expect(4, T_CLI("restore", f.b0, f.b1, f.tgt, "--at-time", iso), "not empty");
	t_rmrf(f.root);
	free(f.root);
}

/* @dir's dump, exported by the CLI into @out, as lines (NULL-terminated;
 * free with cr_lines_free()). */
static char **cr_dump_lines(const char *dir, const char *out)
{
	struct t_cli r;
	char **lines = NULL, *buf = NULL, *save, *l;
	size_t n = 0, cap = 0;
	FILE *fp;

	t_cli_run(&r, T_CLI("dump", "export", dir, out));
	assert_int_equal(r.status, 0);
	t_cli_free(&r);
	fp = fopen(out, "r");
	assert_non_null(fp);
	assert_int_equal(getdelim(&buf, &cap, '\0', fp) > 0, 1);
	fclose(fp);
	cap = 0;
	for (l = strtok_r(buf, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		lines = realloc(lines, (n + 2) * sizeof(*lines));
		assert_non_null(lines);
		lines[n++] = strdup(l);
	}
	lines[n] = NULL;
	free(buf);
	return lines;
}

static void cr_lines_free(char **lines)
{
	for (size_t i = 0; lines[i]; i++)
		free(lines[i]);
	free(lines);
}

/* Whether dump line @l belongs to project @p (scope @s, or all). */
static int cr_part(const char *l, const char *p, const char *s)
{
	char a[256], b[256];

	snprintf(a, sizeof(a), "{\"type\":\"project\",\"name\":\"%s\"}", p);
	if (strcmp(l, a) == 0)
		return 1;
	if (!s) {
		snprintf(a, sizeof(a), "\"project\":\"%s\",", p);
		return strstr(l, a) != NULL;
	}
	snprintf(a, sizeof(a), "{\"type\":\"scope\",\"project\":\"%s\",\"name\":\"%s\"}", p, s);
	snprintf(b, sizeof(b), "\"project\":\"%s\",\"scope\":\"%s\",", p, s);
	return strcmp(l, a) == 0 || strstr(l, b) != NULL;
}

/* The dump of @part is the @p/@s part of the dump of @full, and nothing
 * else but the header and the end line. */
static void cr_same_part(char **full, char **part, const char *p, const char *s)
{
	size_t i = 0, k = 1;

	for (; full[i]; i++) {
		if (!cr_part(full[i], p, s))
			continue;
		assert_non_null(part[k]);
		assert_string_equal(full[i], part[k]);
		k++;
	}
	assert_non_null(part[k]);
	assert_non_null(strstr(part[k], "\"type\":\"end\""));
	assert_null(part[k + 1]);
}

static void test_cli_restore_scope(void **state)
{
	char data[4400], bk[4400], full[4400], tgt[4400], d1[4400], d2[4400];
	char **fl, **pl;
	struct aedb *db;
	char *base = t_tmpdir();
	json_t *j;

	(void)state;
	snprintf(data, sizeof(data), "%s/data", base);
	snprintf(bk, sizeof(bk), "%s/bk", base);
	snprintf(full, sizeof(full), "%s/full", base);
	snprintf(tgt, sizeof(tgt), "%s/tgt", base);
	snprintf(d1, sizeof(d1), "%s/full.jsonl", base);
	snprintf(d2, sizeof(d2), "%s/tgt.jsonl", base);
	t_cli_fill(data, 2);
	t_assert_rc(aedb_open(data, NULL, &db), 0);
	t_assert_rc(aedb_create_scope(db, T_P, "extra"), 1);
	t_assert_rc(aedb_kv_set(db, T_P, "extra", "e", 1, "E", 1, AEDB_FINALITY_VISIBLE, NULL), 0);
	t_assert_rc(aedb_create_project(db, "other"), 1);
	t_assert_rc(aedb_kv_set(db, "other", "app", "o", 1, "O", 1, AEDB_FINALITY_VISIBLE, NULL),
		    0);
	t_assert_rc(aedb_backup(db, bk, NULL), 0);
	t_assert_rc(aedb_close(db), 0);
	j = t_cli_json(0, T_CLI("restore", bk, full));
	json_decref(j);
	fl = cr_dump_lines(full, d1);

	j = t_cli_json(0, T_CLI("restore", bk, tgt, "--project", T_P));
	assert_non_null(j);
	assert_true(json_is_true(json_object_get(j, "ok")));
	json_decref(j);
	pl = cr_dump_lines(tgt, d2);
	cr_same_part(fl, pl, T_P, NULL);
	cr_lines_free(pl);
	t_rmrf(tgt);
	unlink(d2);

	j = t_cli_json(0, T_CLI("restore", bk, tgt, "--project", T_P, "--scope", "app"));
	json_decref(j);
	pl = cr_dump_lines(tgt, d2);
	cr_same_part(fl, pl, T_P, "app");
	cr_lines_free(pl);
	t_rmrf(tgt);
	cr_lines_free(fl);

	t_cli_expect(2, T_CLI("restore", bk, tgt, "--project", "nope"), "not in the backup");
	t_cli_expect(2, T_CLI("restore", bk, tgt, "--project", T_P, "--scope", "nope"),
		   "not in the backup");
	t_cli_expect(2, T_CLI("restore", bk, tgt, "--scope", "app"), "--scope needs --project");
	assert_int_equal(access(tgt, F_OK), -1);
	t_rmrf(base);
	free(base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cli_restore_at_time),
		cmocka_unit_test(test_cli_restore_scope),
	};

	t_require_engine();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
