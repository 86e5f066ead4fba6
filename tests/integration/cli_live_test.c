/* SPDX-License-Identifier: MIT */
/*
 * The `aedb` CLI on a directory another process has open and is writing
 * to (with checkpoints): the read-only commands work and, while that
 * writer is idle, leave the directory byte-for-byte unchanged; a backup
 * taken while it writes restores to a state a dump of the backup matches.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "it_common.h"
#include "cli_common.h"

struct live {
	pid_t pid;
	int ctl;                 /* parent -> child: 'p' pause, 'r' resume, 'q' quit */
	int ack;                 /* child -> parent: one byte per command */
};

/* The writer: DURABLE sets, a checkpoint every 150 of them. Exits 0 when
 * told to quit, non-zero on any failure. */
static void live_child(const char *dir, int ctl, int ack)
{
	struct aedb_config c;
	struct aedb *db;
	int paused = 0;
	char k[32], cmd;

	aedb_config_init(&c);
	c.wal_segment_bytes = 64 * 1024;
	c.checkpoint_wal_bytes = 0;
	if (fcntl(ctl, F_SETFL, O_NONBLOCK) < 0 || aedb_open(dir, &c, &db) < 0)
		_exit(10);
	if (write(ack, "s", 1) != 1)
		_exit(11);
	for (uint64_t i = 0;; i++) {
		ssize_t n = read(ctl, &cmd, 1);

		if (n < 0 && errno != EAGAIN)
			_exit(12);
		if (n == 1) {
			if (cmd == 'q')
				break;
			paused = cmd == 'p';
			if (paused && aedb_force_fsync(db) < 0)
				_exit(13);
			if (write(ack, &cmd, 1) != 1)
				_exit(14);
			continue;
		}
		if (paused) {
			usleep(1000);
			continue;
		}
		snprintf(k, sizeof(k), "live%08llu", (unsigned long long)i);
		if (aedb_kv_set(db, T_P, T_S, k, strlen(k), k, strlen(k), AEDB_FINALITY_DURABLE,
				NULL) < 0)
			_exit(15);
		if (i % 150 == 149 && aedb_checkpoint_now(db, NULL) < 0)
			_exit(16);
	}
	_exit(aedb_close(db) < 0 ? 17 : 0);
}

static void live_start(struct live *l, const char *dir)
{
	int p1[2], p2[2];
	char b;

	assert_int_equal(pipe(p1), 0);
	assert_int_equal(pipe(p2), 0);
	l->pid = fork();
	assert_true(l->pid >= 0);
	if (l->pid == 0) {
		close(p1[1]);
		close(p2[0]);
		live_child(dir, p1[0], p2[1]);
	}
	close(p1[0]);
	close(p2[1]);
	l->ctl = p1[1];
	l->ack = p2[0];
	assert_int_equal(read(l->ack, &b, 1), 1);
	assert_int_equal(b, 's');
}

/* Send @cmd; for pause and resume wait for the acknowledgement. */
static void live_cmd(struct live *l, char cmd)
{
	char b;

	assert_int_equal(write(l->ctl, &cmd, 1), 1);
	if (cmd == 'q') {
		int st;

		assert_int_equal(waitpid(l->pid, &st, 0), l->pid);
		assert_true(WIFEXITED(st));
		assert_int_equal(WEXITSTATUS(st), 0);
		close(l->ctl);
		close(l->ack);
		return;
	}
	assert_int_equal(read(l->ack, &b, 1), 1);
	assert_int_equal(b, cmd);
}

static void live_run_all(const char *dir, const char *dump)
{
	const char *const *cmds[] = {
		T_CLI("info", dir),
		T_CLI("metrics", dir),
		T_CLI("verify", dir),
		T_CLI("check", "invariants", dir),
		T_CLI("dump", "export", dir, dump),
		T_CLI("explore", dir, "projects"),
		T_CLI("explore", dir, "tables", T_P, T_S),
		T_CLI("explore", dir, "scan-table", T_P, T_S, "users", "--limit", "5"),
		T_CLI("explore", dir, "kv-scan", T_P, T_S, "--prefix", "live"),
	};
	struct t_cli r;

	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (getenv("AEDB_TEST_VERBOSE"))
			fprintf(stderr, "run %s %s\n", cmds[i][0], cmds[i][1]);
		t_cli_run(&r, cmds[i]);
		if (r.status != 0)
			fprintf(stderr, "aedb %s: exit %d: %s", cmds[i][0], r.status, r.err);
		assert_int_equal(r.status, 0);
		t_cli_free(&r);
	}
	unlink(dump);
}

/* Dump @src, restore backup @bk into @tgt: the dump's parity with @tgt is
 * clean and its invariants hold. Removes @bk, @tgt and @dump. */
static void live_restore_parity(const char *src, const char *bk, const char *tgt,
				const char *dump)
{
	const char *const *cmds[] = {
		T_CLI("dump", "export", src, dump),
		T_CLI("restore", bk, tgt),
		T_CLI("dump", "parity", dump, tgt),
		T_CLI("check", "invariants", tgt),
	};

	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		json_t *j = t_cli_json(0, cmds[i]);

		if (i == 2)
			assert_true(json_is_true(json_object_get(j, "equal")));
		json_decref(j);
	}
	unlink(dump);
	t_rmrf(bk);
	t_rmrf(tgt);
}

static void test_cli_live(void **state)
{
	char *dir = t_tmpdir(), dump[4352], bk[4352], tgt[4352], *before, *after;
	struct live l;
	json_t *j;

	(void)state;
	signal(SIGPIPE, SIG_IGN);
	t_cli_fill(dir, 2);
	snprintf(dump, sizeof(dump), "%s.dump", dir);
	snprintf(bk, sizeof(bk), "%s.bk", dir);
	snprintf(tgt, sizeof(tgt), "%s.tgt", dir);
	live_start(&l, dir);
	for (int round = 0; round < 3; round++)
		live_run_all(dir, dump);
	live_cmd(&l, 'p');
	before = t_dir_digest(dir);
	live_run_all(dir, dump);
	after = t_dir_digest(dir);
	assert_string_equal(before, after);
	free(before);
	free(after);
	live_cmd(&l, 'r');
	/* A backup while the writer writes (and checkpoints). */
	j = t_cli_json(0, T_CLI("backup", dir, bk));
	assert_true(json_integer_value(json_object_get(j, "files")) > 2);
	json_decref(j);
	live_cmd(&l, 'q');
	live_restore_parity(bk, bk, tgt, dump);
	/* The writer gone: the hot path (the directory opened as a writer). */
	j = t_cli_json(0, T_CLI("backup", dir, bk));
	json_decref(j);
	live_restore_parity(dir, bk, tgt, dump);
	t_rmrf(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cli_live),
	};

	t_require_engine();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
