/* SPDX-License-Identifier: MIT */
#include <fcntl.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "it_common.h"
#include "cli_common.h"

extern char **environ;

static char *t_cli_slurp(int fd)
{
	struct stat st;
	char *s;

	if (fstat(fd, &st) < 0 || !(s = malloc((size_t)st.st_size + 1)))
		abort();
	if (pread(fd, s, (size_t)st.st_size, 0) != st.st_size)
		abort();
	s[st.st_size] = '\0';
	close(fd);
	return s;
}

void t_cli_run(struct t_cli *r, const char *const *args)
{
	const char *bin = getenv("AEDB_CLI");
	char out[] = "/tmp/aedb-cli-out-XXXXXX", err[] = "/tmp/aedb-cli-err-XXXXXX";
	int fo = mkstemp(out), fe = mkstemp(err), n = 0, st;
	posix_spawn_file_actions_t fa;
	char *argv[32];
	pid_t pid;

	assert_non_null(bin);
	assert_true(fo >= 0 && fe >= 0);
	unlink(out);
	unlink(err);
	argv[n++] = (char *)bin;
	while (args[n - 1] && n < 31) {
		argv[n] = (char *)args[n - 1];
		n++;
	}
	argv[n] = NULL;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fo, 1);
	posix_spawn_file_actions_adddup2(&fa, fe, 2);
	assert_int_equal(posix_spawn(&pid, bin, &fa, NULL, argv, environ), 0);
	posix_spawn_file_actions_destroy(&fa);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	if (!WIFEXITED(st))
		fprintf(stderr, "aedb %s: killed by signal %d\n", args[0], WTERMSIG(st));
	assert_true(WIFEXITED(st));
	r->status = WEXITSTATUS(st);
	r->out = t_cli_slurp(fo);
	r->err = t_cli_slurp(fe);
}

void t_cli_free(struct t_cli *r)
{
	free(r->out);
	free(r->err);
}

void t_cli_expect(int status, const char *const *args, const char *in_err)
{
	struct t_cli r;

	t_cli_run(&r, args);
	if (r.status != status || !strstr(r.err, in_err))
		fprintf(stderr, "exit %d, stderr: %s\n", r.status, r.err);
	assert_int_equal(r.status, status);
	assert_non_null(strstr(r.err, in_err));
	if (status != 0) /* a one-line reason */
		assert_ptr_equal(strchr(r.err, '\n'), r.err + strlen(r.err) - 1);
	else
		assert_string_equal(r.err, "");
	t_cli_free(&r);
}

void t_cli_restored(const char *const *args, const char *tgt, uint64_t want)
{
	json_t *j = t_cli_json(0, args);
	struct aedb *db;

	assert_int_equal(json_integer_value(json_object_get(j, "restored_seq")), want);
	json_decref(j);
	t_assert_rc(aedb_open(tgt, NULL, &db), 0);
	assert_int_equal(aedb_visible_seq(db), want);
	t_assert_rc(aedb_close(db), 0);
}

json_t *t_cli_json(int status, const char *const *args)
{
	const char *with[32] = { "--json" };
	struct t_cli r;
	json_t *j;
	char *last;
	int n = 1;

	for (int i = 0; args[i] && n < 31; i++)
		with[n++] = args[i];
	with[n] = NULL;
	t_cli_run(&r, with);
	if (r.status != status)
		fprintf(stderr, "aedb %s: exit %d, stderr: %s\n", args[0], r.status, r.err);
	assert_int_equal(r.status, status);
	last = r.out + strlen(r.out);
	while (last > r.out && last[-1] == '\n')
		*--last = '\0';
	while (last > r.out && last[-1] != '\n')
		last--;
	j = json_loads(last, 0, NULL);
	assert_non_null(j);
	t_cli_free(&r);
	return j;
}

static void t_cli_table(struct aedb *db)
{
	struct aedb_column_def cols[] = {
		{ .name = "id", .type = AEDB_TYPE_U64 },
		{ .name = "name", .type = AEDB_TYPE_TEXT },
		{ .name = "email", .type = AEDB_TYPE_TEXT, .nullable = 1 },
		{ .name = "score", .type = AEDB_TYPE_FLOAT, .nullable = 1 },
		{ .name = "data", .type = AEDB_TYPE_BLOB, .nullable = 1 },
	};
	const char *pk[] = { "id" }, *by_name[] = { "name" }, *by_email[] = { "email" };
	struct aedb_table_def def = { .name = "users", .columns = cols, .ncolumns = 5,
				      .npk = 1, .pk = pk };
	struct aedb_index_def ix1 = { .name = "by_name", .columns = by_name, .ncolumns = 1 };
	struct aedb_index_def ix2 = { .name = "by_email", .columns = by_email, .ncolumns = 1,
				      .flags = AEDB_INDEX_UNIQUE };

	t_assert_rc(aedb_create_table(db, T_P, T_S, &def), 1);
	t_assert_rc(aedb_create_index(db, T_P, T_S, "users", &ix1), 1);
	t_assert_rc(aedb_create_index(db, T_P, T_S, "users", &ix2), 1);
}

static void t_cli_rows(struct aedb *db, uint64_t from, uint64_t to)
{
	for (uint64_t i = from; i < to; i++) {
		char name[32], email[32];
		struct aedb_value row[5] = {
			{ .type = AEDB_TYPE_U64, .u.u64 = i },
			{ .type = AEDB_TYPE_TEXT, .u.bytes = name },
			{ .type = AEDB_TYPE_NULL },
			{ .type = AEDB_TYPE_FLOAT, .u.f64 = (double)i / 4 },
			{ .type = AEDB_TYPE_BLOB, .len = 3, .u.bytes = "\x00\x01\xff" },
		};

		row[1].len = (uint32_t)snprintf(name, sizeof(name), "name\t%llu",
						(unsigned long long)(i % 7));
		if (i % 5) {
			row[2].type = AEDB_TYPE_TEXT;
			row[2].u.bytes = email;
			row[2].len = (uint32_t)snprintf(email, sizeof(email), "u%llu@x",
							(unsigned long long)i);
		}
		t_assert_rc(aedb_upsert_row(db, T_P, T_S, "users", row, 5, 0, NULL), 0);
	}
}

uint64_t t_cli_fill(const char *dir, uint32_t shards)
{
	struct aedb_config c;
	struct aedb_checkpoint_result ck;
	struct aedb *db;
	char k[32], v[256];
	uint64_t seq;

	aedb_config_init(&c);
	c.shards = shards;
	c.wal_segment_bytes = 64 * 1024;
	c.checkpoint_wal_bytes = 0;
	t_assert_rc(aedb_open(dir, &c, &db), 0);
	t_assert_rc(aedb_create_project(db, T_P), 1);
	t_assert_rc(aedb_create_scope(db, T_P, "side"), 1);
	t_cli_table(db);
	t_assert_rc(aedb_create_accumulator(db, T_P, T_S, "house"), 1);
	t_cli_rows(db, 0, 40);
	for (int i = 0; i < 600; i++) {
		snprintf(k, sizeof(k), "k%04d", i);
		memset(v, 'a' + i % 26, sizeof(v));
		t_set(db, k, strlen(k), v, 100 + (size_t)(i % 100));
	}
	t_assert_rc(aedb_accumulate(db, T_P, T_S, "house", 1000, "fund-1", 1, 0, NULL), 0);
	t_assert_rc(aedb_checkpoint_now(db, &ck), 0);
	assert_true(ck.segments_reclaimed > 0);
	t_cli_rows(db, 30, 60);
	t_assert_rc(aedb_delete_row(db, T_P, T_S, "users",
				    &(struct aedb_value){ .type = AEDB_TYPE_U64, .u.u64 = 3 }, 1,
				    0, NULL), 0);
	for (int i = 0; i < 50; i++) {
		snprintf(k, sizeof(k), "k%04d", i * 3);
		if (i % 2)
			t_del(db, k, strlen(k));
		else
			t_sets(db, k, "after-checkpoint");
	}
	t_assert_rc(aedb_kv_set(db, T_P, "side", "\x01\x02", 2, "bin\xff", 4, 0, NULL), 0);
	t_assert_rc(aedb_expose_accumulator(db, T_P, T_S, "house", 100, "hand-1", 0, NULL), 0);
	t_assert_rc(aedb_force_fsync(db), 0);
	seq = aedb_visible_seq(db);
	t_assert_rc(aedb_close(db), 0);
	return seq;
}
