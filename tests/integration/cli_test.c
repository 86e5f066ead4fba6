/* SPDX-License-Identifier: MIT */
/*
 * The `aedb` CLI and explorer, driving the built binary ($AEDB_CLI): every
 * subcommand on a populated directory (human and --json output), exit codes
 * on usage errors and on damaged directories, and the directory left
 * byte-for-byte unchanged by every read-only command.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "it_common.h"
#include "cli_common.h"

static char *cli_dir;
static uint64_t cli_seq;

static int cli_setup(void **state)
{
	(void)state;
	cli_dir = t_tmpdir();
	cli_seq = t_cli_fill(cli_dir, 2);
	return 0;
}

static int cli_teardown(void **state)
{
	(void)state;
	t_rmrf(cli_dir);
	free(cli_dir);
	return 0;
}

static void test_cli_info(void **state)
{
	json_t *j = t_cli_json(0, T_CLI("info", cli_dir));
	struct t_cli r;

	(void)state;
	assert_int_equal(json_integer_value(json_object_get(j, "shards")), 2);
	assert_int_equal(json_integer_value(json_object_get(j, "format")), 1);
	assert_int_equal(json_integer_value(json_object_get(j, "recovered_seq")), cli_seq);
	assert_true(json_integer_value(json_object_get(j, "checkpoint_seq")) > 0);
	assert_true(json_integer_value(json_object_get(j, "checkpoint_seq")) < (json_int_t)cli_seq);
	assert_int_equal(strlen(json_string_value(json_object_get(j, "db_id"))), 32);
	assert_int_equal(json_array_size(json_object_get(j, "wal")), 2);
	assert_true(json_integer_value(json_object_get(json_array_get(json_object_get(j, "wal"),
								      0), "wal_segments")) >= 1);
	json_decref(j);
	t_cli_run(&r, T_CLI("info", cli_dir));
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "shards 2\n"));
	assert_non_null(strstr(r.out, "checkpoint_seq "));
	t_cli_free(&r);
}

/* `metrics`: the recovered state's operational metrics, as JSON and as
 * "key value" lines. */
static void test_cli_metrics(void **state)
{
	json_t *j = t_cli_json(0, T_CLI("metrics", cli_dir)), *sh;
	uint64_t keys = 0;
	struct t_cli r;
	size_t i;

	(void)state;
	assert_int_equal(json_integer_value(json_object_get(j, "nshards")), 2);
	assert_int_equal(json_integer_value(json_object_get(j, "recovered_seq")), cli_seq);
	assert_int_equal(json_integer_value(json_object_get(j, "visible_seq")), cli_seq);
	assert_int_equal(json_integer_value(json_object_get(j, "commits")), 0);
	assert_true(json_integer_value(json_object_get(j, "checkpoint_seq")) > 0);
	assert_true(json_integer_value(json_object_get(j, "memory_bytes")) > 0);
	assert_int_equal(json_array_size(json_object_get(j, "shards")), 2);
	json_array_foreach(json_object_get(j, "shards"), i, sh) {
		assert_int_equal(json_integer_value(json_object_get(sh, "shard")), i);
		keys += (uint64_t)json_integer_value(json_object_get(sh, "keys"));
	}
	assert_true(keys > 0);
	assert_int_equal(keys, json_integer_value(json_object_get(j, "keys")));
	json_decref(j);
	t_cli_run(&r, T_CLI("metrics", cli_dir));
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "nshards 2\n"));
	assert_non_null(strstr(r.out, "\nshard.1.keys "));
	t_cli_free(&r);
	t_cli_expect(2, T_CLI("metrics"), "metrics DIR");
}

static void test_cli_verify_and_check(void **state)
{
	json_t *j = t_cli_json(0, T_CLI("verify", cli_dir));

	(void)state;
	assert_true(json_is_true(json_object_get(j, "ok")));
	assert_true(json_is_null(json_object_get(j, "damage")));
	assert_true(json_integer_value(json_object_get(j, "frames")) > 0);
	assert_true(json_integer_value(json_object_get(j, "checkpoint_blocks")) > 0);
	assert_int_equal(json_integer_value(json_object_get(j, "recovered_seq")), cli_seq);
	json_decref(j);
	j = t_cli_json(0, T_CLI("check", "invariants", cli_dir));
	assert_true(json_is_true(json_object_get(j, "ok")));
	assert_int_equal(json_integer_value(json_object_get(j, "tables")), 1);
	/* rows 0..59 but 3; by_name has them all, by_email those with an email
	 * (i % 5 != 0: 48 of 60, less row 3) */
	assert_int_equal(json_integer_value(json_object_get(j, "rows")), 59);
	assert_int_equal(json_integer_value(json_object_get(j, "index_entries")), 59 + 47);
	json_decref(j);
}

static void test_cli_explore(void **state)
{
	json_t *j = t_cli_json(0, T_CLI("explore", cli_dir, "projects")), *a;
	struct t_cli r;

	(void)state;
	a = json_object_get(j, "projects");
	assert_int_equal(json_array_size(a), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(a, 0), "name")),
			    T_P);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(a, 0), "scopes")), 2);
	json_decref(j);
	j = t_cli_json(0, T_CLI("explore", cli_dir, "tables", T_P, T_S));
	a = json_object_get(j, "tables");
	assert_int_equal(json_array_size(a), 1);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(a, 0), "indexes")), 2);
	json_decref(j);
	j = t_cli_json(0, T_CLI("explore", cli_dir, "schema", T_P, T_S, "users"));
	assert_int_equal(json_array_size(json_object_get(j, "columns")), 5);
	assert_string_equal(json_string_value(json_array_get(json_object_get(j, "primary_key"),
							     0)), "id");
	json_decref(j);
	j = t_cli_json(0, T_CLI("explore", cli_dir, "scan-table", T_P, T_S, "users", "--limit",
				"7"));
	a = json_object_get(j, "rows");
	assert_int_equal(json_array_size(a), 7);
	assert_true(json_is_true(json_object_get(j, "truncated")));
	assert_int_equal(json_integer_value(json_object_get(json_array_get(a, 3), "id")), 4);
	assert_string_equal(json_string_value(json_object_get(json_array_get(a, 3), "data")),
			    "0x0001ff");
	assert_int_equal(json_integer_value(json_object_get(j, "snapshot_seq")), cli_seq);
	json_decref(j);
	j = t_cli_json(0, T_CLI("explore", cli_dir, "kv-scan", T_P, T_S, "--prefix", "k059",
				"--limit", "100"));
	assert_int_equal(json_array_size(json_object_get(j, "entries")), 10);
	assert_true(json_is_false(json_object_get(j, "truncated")));
	json_decref(j);
	t_cli_run(&r, T_CLI("explore", cli_dir, "scan-table", T_P, T_S, "users"));
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "id\tname\temail\tscore\tdata\n"));
	assert_non_null(strstr(r.out, "1\tname\\t1\tu1@x\t0.25\t0x0001ff\n"));
	assert_non_null(strstr(r.out, "rows_returned=50 truncated=true"));
	t_cli_free(&r);
	t_cli_run(&r, T_CLI("explore", cli_dir, "kv-scan", T_P, "side"));
	assert_non_null(strstr(r.out, "\\x01\\x02\tbin\\xff\t"));
	t_cli_free(&r);
}

static void test_cli_usage_errors(void **state)
{
	char missing[4352];

	(void)state;
	snprintf(missing, sizeof(missing), "%s/missing", cli_dir);
	t_cli_expect(2, T_CLI("frobnicate"), "unknown command");
	t_cli_expect(2, T_CLI("info"), "info DIR");
	t_cli_expect(2, T_CLI("--bogus", "info", cli_dir), "unknown option");
	t_cli_expect(2, T_CLI("explore", cli_dir, "scan-table", T_P, T_S, "users", "--limit", "0"),
		   "--limit");
	t_cli_expect(2, T_CLI("explore", cli_dir, "scan-table", T_P, T_S, "nosuch"), "nosuch");
	t_cli_expect(2, T_CLI("explore", cli_dir, "scopes", "noproj"), "noproj");
	t_cli_expect(2, T_CLI("explore", cli_dir, "dance"), "unknown explore command");
	t_cli_expect(2, T_CLI("dump", "import", cli_dir, "x"), "dump export");
	t_cli_expect(3, T_CLI("info", missing), "not a data directory");
	t_cli_expect(3, T_CLI("verify", missing), "not a data directory");
	assert_int_equal(access(missing, F_OK), -1);
}

/* Every read-only command leaves the directory byte-for-byte unchanged. */
static void test_cli_readonly_unchanged(void **state)
{
	char *before = t_dir_digest(cli_dir), *after, out[4352];
	const char *const *cmds[] = {
		T_CLI("info", cli_dir),
		T_CLI("metrics", cli_dir),
		T_CLI("verify", cli_dir),
		T_CLI("check", "invariants", cli_dir),
		T_CLI("explore", cli_dir, "projects"),
		T_CLI("explore", cli_dir, "scopes", T_P),
		T_CLI("explore", cli_dir, "tables", T_P, T_S),
		T_CLI("explore", cli_dir, "schema", T_P, T_S, "users"),
		T_CLI("explore", cli_dir, "scan-table", T_P, T_S, "users"),
		T_CLI("explore", cli_dir, "kv-scan", T_P, T_S),
	};
	struct t_cli r;

	(void)state;
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		t_cli_run(&r, cmds[i]);
		assert_int_equal(r.status, 0);
		t_cli_free(&r);
	}
	snprintf(out, sizeof(out), "%s.dump", cli_dir);
	t_cli_run(&r, T_CLI("dump", "export", cli_dir, out));
	assert_int_equal(r.status, 0);
	t_cli_free(&r);
	t_cli_run(&r, T_CLI("dump", "parity", out, cli_dir));
	assert_int_equal(r.status, 0);
	t_cli_free(&r);
	unlink(out);
	after = t_dir_digest(cli_dir);
	assert_string_equal(before, after);
	free(before);
	free(after);
}

static void cli_flip(const char *path, long off)
{
	FILE *f = fopen(path, "r+b");
	int c;

	assert_non_null(f);
	fseek(f, off, SEEK_SET);
	c = fgetc(f);
	fseek(f, off, SEEK_SET);
	fputc(c ^ 0x40, f);
	fclose(f);
}

/* A dump, its parity with the directory, then a change on either side. */
static void test_cli_dump_parity(void **state)
{
	char *dir = t_tmpdir(), dump[4352];
	struct aedb *db;
	json_t *j;
	struct t_cli r;

	(void)state;
	t_cli_fill(dir, 1);
	snprintf(dump, sizeof(dump), "%s.dump", dir);
	j = t_cli_json(0, T_CLI("dump", "export", dir, dump));
	assert_true(json_integer_value(json_object_get(j, "records")) > 600);
	json_decref(j);
	t_cli_expect(4, T_CLI("dump", "export", dir, dump), "exists");
	j = t_cli_json(0, T_CLI("dump", "parity", dump, dir));
	assert_true(json_is_true(json_object_get(j, "equal")));
	json_decref(j);
	/* One more write: the dump and the directory now differ. */
	t_assert_rc(aedb_open(dir, NULL, &db), 0);
	t_assert_rc(aedb_kv_set(db, T_P, "side", "\x01\x03", 2, "z", 1, 0, NULL), 0);
	t_assert_rc(aedb_close(db), 0);
	j = t_cli_json(1, T_CLI("dump", "parity", dump, dir));
	assert_true(json_is_false(json_object_get(j, "equal")));
	assert_non_null(strstr(json_string_value(json_object_get(j, "dir")), "seq"));
	json_decref(j);
	/* A damaged dump is refused before any comparison. */
	cli_flip(dump, 300);
	t_cli_run(&r, T_CLI("dump", "parity", dump, dir));
	assert_int_equal(r.status, 1);
	assert_true(strstr(r.err, "damaged") || strstr(r.err, "not an aedb dump"));
	t_cli_free(&r);
	unlink(dump);
	t_rmrf(dir);
	free(dir);
}

/* The path of the only (or last) segment of wal/0 of @dir. */
static void cli_last_segment(const char *dir, char *out, size_t len)
{
	char cmd[8800];
	FILE *p;

	snprintf(cmd, sizeof(cmd), "ls %s/wal/0 | tail -1", dir);
	p = popen(cmd, "r");
	assert_non_null(p);
	snprintf(out, len, "%s/wal/0/", dir);
	assert_non_null(fgets(out + strlen(out), (int)(len - strlen(out)), p));
	pclose(p);
	out[strcspn(out, "\n")] = '\0';
}

/* Damage: exit 1 with the file (and offset) named; nothing is changed. */
static void test_cli_corrupt(void **state)
{
	char *dir = t_tmpdir(), path[4352], *before, *after;
	json_t *j;
	uint64_t ck;

	(void)state;
	t_cli_fill(dir, 2);
	j = t_cli_json(0, T_CLI("info", dir));
	ck = (uint64_t)json_integer_value(json_object_get(j, "checkpoint_seq"));
	json_decref(j);
	/* A flipped byte inside the first frame of the last segment. */
	cli_last_segment(dir, path, sizeof(path));
	cli_flip(path, 64 + 50);
	before = t_dir_digest(dir);
	j = t_cli_json(1, T_CLI("verify", dir));
	assert_true(json_is_false(json_object_get(j, "ok")));
	assert_non_null(strstr(json_string_value(json_object_get(json_object_get(j, "damage"),
								 "file")), "wal/0/"));
	assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "damage"),
							    "offset")), 64);
	json_decref(j);
	t_cli_expect(1, T_CLI("info", dir), "wal/0/");
	t_cli_expect(1, T_CLI("explore", dir, "projects"), "corrupt");
	after = t_dir_digest(dir);
	assert_string_equal(before, after);
	free(before);
	free(after);
	cli_flip(path, 64 + 50);
	t_cli_expect(0, T_CLI("verify", dir), "");
	/* A truncated checkpoint file. */
	snprintf(path, sizeof(path), "%s/checkpoint/%020llu/1.ckpt", dir, (unsigned long long)ck);
	{
		struct stat st;

		assert_int_equal(stat(path, &st), 0);
		assert_int_equal(truncate(path, st.st_size - 10), 0);
		j = t_cli_json(1, T_CLI("verify", dir));
		assert_non_null(strstr(json_string_value(json_object_get(
				       json_object_get(j, "damage"), "file")), "1.ckpt"));
		json_decref(j);
		t_cli_expect(1, T_CLI("check", "invariants", dir), "1.ckpt");
		assert_int_equal(truncate(path, st.st_size), 0);
	}
	/* The manifest missing: the WAL it let go of is gone too. */
	snprintf(path, sizeof(path), "%s/checkpoint/MANIFEST", dir);
	assert_int_equal(unlink(path), 0);
	j = t_cli_json(1, T_CLI("verify", dir));
	assert_non_null(strstr(json_string_value(json_object_get(json_object_get(j, "damage"),
								 "what")), "missing"));
	json_decref(j);
	t_cli_expect(1, T_CLI("dump", "export", dir, "/nonexistent/x"), "corrupt");
	/* aedb.meta damaged. */
	snprintf(path, sizeof(path), "%s/aedb.meta", dir);
	cli_flip(path, 20);
	t_cli_expect(1, T_CLI("verify", dir), "aedb.meta");
	assert_int_equal(unlink(path), 0);
	t_cli_expect(1, T_CLI("verify", dir), "aedb.meta");
	t_cli_expect(1, T_CLI("info", dir), "corrupt");
	t_rmrf(dir);
	free(dir);
}

/* Restore refuses a non-empty target and changes nothing there. */
static void test_cli_restore_refuses(void **state)
{
	char *dir = t_tmpdir(), bk[4352], tgt[4352], *before, *after;
	struct t_cli r;
	FILE *f;

	(void)state;
	t_cli_fill(dir, 1);
	snprintf(bk, sizeof(bk), "%s.bk", dir);
	snprintf(tgt, sizeof(tgt), "%s.tgt", dir);
	t_cli_run(&r, T_CLI("backup", dir, bk));
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "ok checkpoint_seq="));
	t_cli_free(&r);
	assert_int_equal(mkdir(tgt, 0700), 0);
	snprintf(tgt + strlen(tgt), sizeof(tgt) - strlen(tgt), "/keep");
	f = fopen(tgt, "w");
	fputs("mine", f);
	fclose(f);
	tgt[strlen(tgt) - 5] = '\0';
	before = t_dir_digest(tgt);
	t_cli_expect(4, T_CLI("restore", bk, tgt), "not empty");
	after = t_dir_digest(tgt);
	assert_string_equal(before, after);
	free(before);
	free(after);
	t_rmrf(tgt);
	t_cli_expect(0, T_CLI("restore", bk, tgt), "");
	t_cli_expect(0, T_CLI("verify", tgt), "");
	t_rmrf(tgt);
	/* A damaged backup is refused and nothing is created. */
	{
		char list[4400];

		snprintf(list, sizeof(list), "%s/BACKUP", bk);
		cli_flip(list, 40);
	}
	t_cli_expect(1, T_CLI("restore", bk, tgt), "corrupt");
	assert_int_equal(access(tgt, F_OK), -1);
	t_rmrf(bk);
	t_rmrf(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cli_info),
		cmocka_unit_test(test_cli_metrics),
		cmocka_unit_test(test_cli_verify_and_check),
		cmocka_unit_test(test_cli_explore),
		cmocka_unit_test(test_cli_usage_errors),
		cmocka_unit_test(test_cli_readonly_unchanged),
		cmocka_unit_test(test_cli_dump_parity),
		cmocka_unit_test(test_cli_corrupt),
		cmocka_unit_test(test_cli_restore_refuses),
	};

	t_require_engine();
	return cmocka_run_group_tests(tests, cli_setup, cli_teardown);
}
