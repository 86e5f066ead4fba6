/* SPDX-License-Identifier: MIT */
/*
 * `aedb backup DIR DEST [--incremental BASE | --archive]` ($AEDB_CLI): a
 * full backup, then incrementals after it (one across a checkpoint, kept
 * by the backup pin) restore as a chain to exactly the source's state
 * (`dump parity` equal, the last seq reported); an archive restores the
 * same; an incremental whose WAL a checkpoint reclaimed is refused (exit
 * 4, nothing written); bad option mixes are usage errors (exit 2).
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "it_common.h"
#include "cli_common.h"

struct cb_fix {
	char *root;
	char data[4400], dump[4400], tgt[4400], b[4][4400], arc[4400];
};

/* Open the data directory (backup pin @pin), write @n keys of round @w,
 * checkpoint if @ckpt, close. */
static void cb_write(struct cb_fix *f, int w, int n, uint32_t pin, int ckpt)
{
	struct aedb_config cfg;
	struct aedb *db;
	char key[32];

	aedb_config_init(&cfg);
	cfg.shards = 2;
	cfg.backup_wal_pin = pin;
	t_assert_rc(aedb_open(f->data, &cfg, &db), 0);
	if (w == 0)
		t_assert_rc(aedb_create_project(db, T_P), 1);
	for (int i = 0; i < n; i++) {
		snprintf(key, sizeof(key), "r%d:%03d", w, i);
		t_sets(db, key, w & 1 ? "odd" : "even");
	}
	if (ckpt)
		t_assert_rc(aedb_checkpoint_now(db, NULL), 0);
	t_assert_rc(aedb_close(db), 0);
}

/* `backup` with --json: exit 0, to_seq past @after; returns to_seq. */
static uint64_t cb_backup(const char *const *args, uint64_t after)
{
	json_t *j = t_cli_json(0, args);
	uint64_t to;

	assert_non_null(j);
	to = (uint64_t)json_integer_value(json_object_get(j, "to_seq"));
	assert_true(to > after);
	assert_true(json_integer_value(json_object_get(j, "files")) >= 1);
	json_decref(j);
	return to;
}

/* Restore @args into f->tgt: exactly @want, and its dump parity with the
 * source is clean. */
static void cb_restore_equal(struct cb_fix *f, const char *const *args, uint64_t want)
{
	json_t *j;

	t_cli_restored(args, f->tgt, want);
	j = t_cli_json(0, T_CLI("dump", "parity", f->dump, f->tgt));
	assert_true(json_is_true(json_object_get(j, "equal")));
	json_decref(j);
	t_rmrf(f->tgt);
}

static void test_cli_backup_chain(void **state)
{
	struct cb_fix f;
	uint64_t to[3];

	(void)state;
	memset(&f, 0, sizeof(f));
	f.root = t_tmpdir();
	snprintf(f.data, sizeof(f.data), "%s/data", f.root);
	snprintf(f.dump, sizeof(f.dump), "%s/dump", f.root);
	snprintf(f.tgt, sizeof(f.tgt), "%s/tgt", f.root);
	snprintf(f.arc, sizeof(f.arc), "%s/all.arc", f.root);
	for (int i = 0; i < 4; i++)
		snprintf(f.b[i], sizeof(f.b[i]), "%s/b%d", f.root, i);

	cb_write(&f, 0, 40, 0, 0);
	to[0] = cb_backup(T_CLI("backup", f.data, f.b[0]), 0);
	cb_write(&f, 1, 40, 0, 0);
	to[1] = cb_backup(T_CLI("backup", f.data, f.b[1], "--incremental", f.b[0]), to[0]);
	/* A checkpoint after b1: the pin (written by the CLI's backups, kept
	 * by this writer) keeps the WAL the next incremental needs. */
	cb_write(&f, 2, 40, 1, 1);
	to[2] = cb_backup(T_CLI("backup", f.data, f.b[2], "--incremental", f.b[1]), to[1]);
	json_decref(t_cli_json(0, T_CLI("dump", "export", f.data, f.dump)));
	cb_restore_equal(&f, T_CLI("restore", f.b[0], f.b[1], f.b[2], f.tgt), to[2]);

	/* An archive of the same state. */
	cb_backup(T_CLI("backup", f.data, f.arc, "--archive"), 0);
	cb_restore_equal(&f, T_CLI("restore", f.arc, f.tgt), to[2]);
	t_cli_expect(4, T_CLI("backup", f.data, f.arc, "--archive"), "exists");

	/* A writer without the pin checkpoints: the WAL after b2 is gone. */
	cb_write(&f, 3, 40, 0, 1);
	t_cli_expect(4, T_CLI("backup", f.data, f.b[3], "--incremental", f.b[2]),
		   "take a full backup");
	assert_true(access(f.b[3], F_OK) < 0 || rmdir(f.b[3]) == 0); /* nothing in it */

	/* Bad mixes: usage errors, nothing written. */
	t_cli_expect(2, T_CLI("backup", f.data, f.b[3], "--incremental", f.b[2], "--archive"),
		   "exclude");
	t_cli_expect(2, T_CLI("backup", f.data, f.b[3], "--seq", "3"), "restore options");
	t_cli_expect(2, T_CLI("backup", f.data, f.b[3], "--incremental"), "needs a value");
	t_cli_expect(2, T_CLI("restore", f.b[0], f.tgt, "--archive"), "backup options");
	assert_int_equal(access(f.b[3], F_OK), -1);
	assert_int_equal(access(f.tgt, F_OK), -1);
	/* An incremental of a directory that is no backup: nothing written. */
	t_cli_expect(1, T_CLI("backup", f.data, f.b[3], "--incremental", f.data), "");
	assert_true(access(f.b[3], F_OK) < 0 || rmdir(f.b[3]) == 0);
	t_rmrf(f.root);
	free(f.root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cli_backup_chain),
	};

	t_require_engine();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
