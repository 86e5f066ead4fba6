/* SPDX-License-Identifier: MIT */
/*
 * Restore of one project or one scope (issue 6): projects "acme" (scopes
 * app, ops), "beta" (app) and "_global" (ref, spare), each scope with a
 * table, an index, KV entries and, in the app scopes, an accumulator; a
 * table of acme/app names _global/ref by foreign key. A project restore
 * and scope restores open cleanly and hold exactly their part (compared
 * with a full restore of the same backup: KV values and versions, rows,
 * accumulator values), plus the _global scope a kept table names; a marker
 * written only into a dropped scope is in no file of the result (and is in
 * the full restore's files); unknown names, a non-empty target and a
 * damaged backup leave nothing behind, and so does a scope whose table
 * names another scope of its project (-AEDB_EDEPEND); a restore to a seq
 * and to a time with a scope; an archive.
 */
#include <dirent.h>
#include <ftw.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "it_common.h"

#define SC_KEYS 40
#define SC_ROWS 12
#define SC_MARK_BETA "MARKER-beta-q8Zr3LwX"
#define SC_MARK_OPS "MARKER-ops-Hn4Vb7Kp"

static const char *const sc_pk[] = { "id" };
static const char *const sc_name_col[] = { "name" };
static const char *const sc_rid[] = { "rid" };

struct sc_fix {
	char *root;
	char bk[512], inc[512], arc[512], full[512];
	const char *chain[2];
	uint64_t seq_mid;  /* every write of the first phase */
	uint64_t seq_end;  /* the chain's end */
	uint32_t nshards;
};

static void sc_path(char *buf, size_t len, const struct sc_fix *f, const char *name)
{
	snprintf(buf, len, "%s/%s", f->root, name);
}

/* item(id u64 pk, name text, rid u64 null) with index by_name. */
static void sc_table(struct aedb *db, const char *p, const char *s, int fk)
{
	static const struct aedb_column_def c[3] = {
		{ .name = "id", .type = AEDB_TYPE_U64 },
		{ .name = "name", .type = AEDB_TYPE_TEXT },
		{ .name = "rid", .type = AEDB_TYPE_U64, .nullable = 1 },
	};
	struct aedb_table_def d = { "item", c, 3, 1, sc_pk };
	/* fk 1: into _global/ref; 2: into app of the same project */
	struct aedb_fk_def k = { .name = "to_ref", .columns = sc_rid, .ncolumns = 1,
				 .ref_project = fk == 1 ? "_global" : NULL,
				 .ref_scope = fk == 1 ? "ref" : "app",
				 .ref_table = "item", .on_delete = AEDB_FK_RESTRICT };
	struct aedb_index_def ix = { "by_name", sc_name_col, 1, 0, NULL };

	t_assert_rc(aedb_create_table_ex(db, p, s, &d, NULL, 0, &k, fk ? 1 : 0), 1);
	t_assert_rc(aedb_create_index(db, p, s, "item", &ix), 1);
}

static void sc_fill(struct aedb *db, const char *p, const char *s, const char *mark, int fk)
{
	char key[32], val[96];

	for (uint32_t i = 0; i < SC_KEYS; i++) {
		snprintf(key, sizeof(key), "k%03u", i);
		snprintf(val, sizeof(val), "%s/%s/v%u%s", p, s, i, i == 7 && mark ? mark : "");
		t_assert_rc(aedb_kv_set(db, p, s, key, strlen(key), val, strlen(val),
					AEDB_FINALITY_VISIBLE, NULL), 0);
	}
	for (uint32_t i = 0; i < SC_ROWS; i++) {
		struct aedb_value row[3];

		snprintf(val, sizeof(val), "%s-%s-row%u%s", p, s, i, i == 3 && mark ? mark : "");
		row[0] = t_vu64(i);
		row[1] = t_vtext(val);
		row[2] = fk ? t_vu64(i % 3) : t_vnull();
		t_assert_rc(aedb_insert_row(db, p, s, "item", row, 3, AEDB_FINALITY_VISIBLE,
					    NULL), 0);
	}
}

static void sc_acc(struct aedb *db, const char *p, int64_t base)
{
	char dk[32];

	t_assert_rc(aedb_create_accumulator(db, p, "app", "acc"), 1);
	for (int i = 0; i < 5; i++) {
		snprintf(dk, sizeof(dk), "d%d", i);
		assert_true(aedb_accumulate(db, p, "app", "acc", base + i, dk, (uint64_t)i + 1,
					    AEDB_FINALITY_VISIBLE, NULL) >= 0);
	}
}

static void sc_build(struct aedb *db)
{
	assert_true(aedb_create_project(db, "_global") >= 0);
	assert_true(aedb_create_project(db, "acme") >= 0);
	assert_true(aedb_create_project(db, "beta") >= 0);
	t_assert_rc(aedb_create_scope(db, "_global", "ref"), 1);
	t_assert_rc(aedb_create_scope(db, "_global", "spare"), 1);
	t_assert_rc(aedb_create_scope(db, "acme", "ops"), 1);
	sc_table(db, "_global", "ref", 0);
	sc_fill(db, "_global", "ref", NULL, 0);
	sc_table(db, "_global", "spare", 0);
	sc_fill(db, "_global", "spare", NULL, 0);
	sc_table(db, "acme", "app", 1);
	sc_fill(db, "acme", "app", NULL, 1);
	sc_table(db, "acme", "ops", 0);
	sc_fill(db, "acme", "ops", SC_MARK_OPS, 0);
	sc_table(db, "beta", "app", 0);
	sc_fill(db, "beta", "app", SC_MARK_BETA, 0);
	t_assert_rc(aedb_create_scope(db, "acme", "dep"), 1);
	sc_table(db, "acme", "dep", 2);
	sc_fill(db, "acme", "dep", NULL, 2);
	sc_acc(db, "acme", 10);
	sc_acc(db, "beta", 100);
}

static int sc_setup(void **state)
{
	struct sc_fix *f = calloc(1, sizeof(*f));
	struct aedb_config cfg;
	struct aedb *db;
	char dir[512];

	t_require_engine();
	assert_non_null(f);
	f->root = t_tmpdir();
	f->nshards = 2;
	sc_path(dir, sizeof(dir), f, "db");
	sc_path(f->bk, sizeof(f->bk), f, "bk");
	sc_path(f->inc, sizeof(f->inc), f, "inc");
	sc_path(f->arc, sizeof(f->arc), f, "bk.arc");
	f->chain[0] = f->bk;
	f->chain[1] = f->inc;
	sc_path(f->full, sizeof(f->full), f, "full");
	aedb_config_init(&cfg);
	cfg.shards = f->nshards;
	t_assert_rc(aedb_open(dir, &cfg, &db), 0);
	sc_build(db);
	t_assert_rc(aedb_backup(db, f->bk, NULL), 0);
	f->seq_mid = aedb_visible_seq(db);
	t_assert_rc(aedb_kv_set(db, "acme", "app", "late", 4, "L", 1, AEDB_FINALITY_VISIBLE,
				NULL), 0);
	t_assert_rc(aedb_kv_set(db, "beta", "app", "late", 4, SC_MARK_BETA,
				strlen(SC_MARK_BETA), AEDB_FINALITY_DURABLE, NULL), 0);
	t_assert_rc(aedb_backup_incremental(db, f->bk, f->inc, NULL), 0);
	f->seq_end = aedb_visible_seq(db);
	t_assert_rc(aedb_backup_to_file(db, f->arc, NULL), 0);
	t_assert_rc(aedb_close(db), 0);
	t_assert_rc(aedb_restore_chain(f->chain, 2, f->full, 0, NULL), 0);
	*state = f;
	return 0;
}

static int sc_teardown(void **state)
{
	struct sc_fix *f = *state;

	t_rmrf(f->root);
	free(f->root);
	free(f);
	return 0;
}

static struct aedb *sc_open(const char *dir)
{
	struct aedb_open_report rep;
	struct aedb *db;

	t_assert_rc(aedb_open_ex(dir, NULL, &db, &rep), 0);
	assert_int_equal(rep.corrupt, 0);
	return db;
}

/* KV entries (value and version), rows and the accumulator of @p/@s are the
 * same in @a and @b. */
static void sc_same_scope(struct aedb *a, struct aedb *b, const char *p, const char *s)
{
	char key[32];

	for (uint32_t i = 0; i <= SC_KEYS; i++) {
		struct aedb_kv_item *x = NULL, *y = NULL;
		int rx, ry;

		snprintf(key, sizeof(key), i == SC_KEYS ? "late" : "k%03u", i);
		rx = aedb_kv_get(a, p, s, key, strlen(key), AEDB_LATEST, &x);
		ry = aedb_kv_get(b, p, s, key, strlen(key), AEDB_LATEST, &y);
		assert_int_equal(rx, ry);
		if (rx == 0) {
			assert_int_equal(x->entry.val_len, y->entry.val_len);
			assert_memory_equal(x->entry.val, y->entry.val, x->entry.val_len);
			assert_int_equal(x->entry.version, y->entry.version);
		}
		aedb_kv_item_free(x);
		aedb_kv_item_free(y);
	}
	for (uint32_t i = 0; i < SC_ROWS; i++) {
		struct aedb_value pk = t_vu64(i);
		struct aedb_row *x, *y;

		t_assert_rc(aedb_get_row(a, p, s, "item", &pk, 1, AEDB_LATEST, &x), 0);
		t_assert_rc(aedb_get_row(b, p, s, "item", &pk, 1, AEDB_LATEST, &y), 0);
		assert_int_equal(x->version, y->version);
		assert_int_equal(x->values[1].len, y->values[1].len);
		assert_memory_equal(x->values[1].u.bytes, y->values[1].u.bytes, x->values[1].len);
		aedb_row_free(x);
		aedb_row_free(y);
	}
	if (strcmp(s, "app") == 0 && strcmp(p, "_global") != 0) {
		int64_t va = 0, vb = 0;

		t_assert_rc(aedb_accumulator_value(a, p, s, "acc", AEDB_LATEST, &va, NULL), 0);
		t_assert_rc(aedb_accumulator_value(b, p, s, "acc", AEDB_LATEST, &vb, NULL), 0);
		assert_true(va == vb && va != 0);
	}
}

/* The names of @db's projects (or @p's scopes), comma-joined. */
static void sc_names(struct aedb *db, const char *p, char *buf, size_t len)
{
	struct aedb_names *n;
	size_t at = 0;

	t_assert_rc(p ? aedb_list_scopes(db, p, &n) : aedb_list_projects(db, &n), 0);
	buf[0] = '\0';
	for (uint32_t i = 0; i < n->count; i++)
		at += (size_t)snprintf(buf + at, len - at, "%s%s", i ? "," : "", n->names[i]);
	aedb_names_free(n);
}

static const char *sc_mark;
static int sc_found;

static int sc_grep_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	FILE *fp;
	char *buf;

	(void)ftw;
	if (flag != FTW_F || st->st_size == 0)
		return 0;
	buf = malloc((size_t)st->st_size);
	fp = fopen(path, "rb");
	assert_non_null(buf);
	assert_non_null(fp);
	assert_int_equal(fread(buf, 1, (size_t)st->st_size, fp), (size_t)st->st_size);
	fclose(fp);
	if (memmem(buf, (size_t)st->st_size, sc_mark, strlen(sc_mark)))
		sc_found++;
	free(buf);
	return 0;
}

/* How many files under @dir hold @mark. */
static int sc_grep(const char *dir, const char *mark)
{
	sc_mark = mark;
	sc_found = 0;
	assert_int_equal(nftw(dir, sc_grep_one, 16, FTW_PHYS), 0);
	return sc_found;
}

/* Nothing named @name or "@name.scope-*" in the fixture's root. */
static void sc_nothing_left(const struct sc_fix *f, const char *name)
{
	struct dirent *de;
	DIR *d = opendir(f->root);
	size_t n = strlen(name);

	assert_non_null(d);
	while ((de = readdir(d)))
		assert_false(strncmp(de->d_name, name, n) == 0 &&
			     (de->d_name[n] == '\0' || de->d_name[n] == '.'));
	closedir(d);
}

static void test_project(void **state)
{
	struct sc_fix *f = *state;
	const char *const *dirs = f->chain;
	struct aedb *full, *db;
	char dst[512], names[256];
	uint64_t seq = 0;

	sc_path(dst, sizeof(dst), f, "acme");
	t_assert_rc(aedb_restore_scope(dirs, 2, dst, "acme", NULL, 0, 0, &seq), 0);
	assert_true(seq > f->seq_mid);
	sc_nothing_left(f, "acme.scope-");
	assert_true(sc_grep(f->full, SC_MARK_BETA) > 0); /* the scan sees it */
	assert_int_equal(sc_grep(dst, SC_MARK_BETA), 0);
	assert_int_equal(sc_grep(dst, "beta-app-row"), 0);
	db = sc_open(dst);
	full = sc_open(f->full);
	sc_names(db, NULL, names, sizeof(names));
	assert_string_equal(names, "_global,acme");
	sc_names(db, "_global", names, sizeof(names));
	assert_string_equal(names, "ref");
	sc_names(db, "acme", names, sizeof(names));
	assert_string_equal(names, "app,dep,ops");
	sc_same_scope(full, db, "acme", "app");
	sc_same_scope(full, db, "acme", "ops");
	sc_same_scope(full, db, "acme", "dep");
	sc_same_scope(full, db, "_global", "ref");
	/* It takes writes: the foreign key still holds. */
	{
		struct aedb_value row[3] = { t_vu64(99), t_vtext("x"), t_vu64(500) };

		t_assert_rc(aedb_insert_row(db, "acme", "app", "item", row, 3,
					    AEDB_FINALITY_DURABLE, NULL), -AEDB_EFOREIGN);
		row[2] = t_vu64(1);
		t_assert_rc(aedb_insert_row(db, "acme", "app", "item", row, 3,
					    AEDB_FINALITY_DURABLE, NULL), 0);
	}
	t_assert_rc(aedb_close(full), 0);
	t_assert_rc(aedb_close(db), 0);
	db = sc_open(dst); /* and reopens with them */
	t_assert_rc(aedb_close(db), 0);
}

static void test_scope(void **state)
{
	struct sc_fix *f = *state;
	const char *const *dirs = f->chain;
	struct aedb *full, *db;
	char dst[512], names[256];

	/* acme/ops: nothing names _global, which goes entirely. */
	sc_path(dst, sizeof(dst), f, "ops");
	t_assert_rc(aedb_restore_scope(dirs, 2, dst, "acme", "ops", 0, 0, NULL), 0);
	assert_int_equal(sc_grep(dst, SC_MARK_BETA), 0);
	assert_int_equal(sc_grep(dst, "acme/app/v"), 0);
	assert_true(sc_grep(dst, SC_MARK_OPS) > 0);
	db = sc_open(dst);
	full = sc_open(f->full);
	sc_names(db, NULL, names, sizeof(names));
	assert_string_equal(names, "acme");
	sc_names(db, "acme", names, sizeof(names));
	assert_string_equal(names, "ops");
	sc_same_scope(full, db, "acme", "ops");
	t_assert_rc(aedb_close(db), 0);

	/* acme/app: keeps _global/ref (named by foreign key), not spare. */
	sc_path(dst, sizeof(dst), f, "app");
	t_assert_rc(aedb_restore_scope(dirs, 2, dst, "acme", "app", 0, 0, NULL), 0);
	assert_int_equal(sc_grep(dst, SC_MARK_OPS), 0);
	assert_int_equal(sc_grep(dst, "_global/spare/"), 0);
	db = sc_open(dst);
	sc_names(db, NULL, names, sizeof(names));
	assert_string_equal(names, "_global,acme");
	sc_names(db, "_global", names, sizeof(names));
	assert_string_equal(names, "ref");
	sc_names(db, "acme", names, sizeof(names));
	assert_string_equal(names, "app");
	sc_same_scope(full, db, "acme", "app");
	sc_same_scope(full, db, "_global", "ref");
	t_assert_rc(aedb_close(db), 0);
	t_assert_rc(aedb_close(full), 0);
}

/* To a seq in the middle, with a scope, and from the archive. */
static void test_seq_and_archive(void **state)
{
	struct sc_fix *f = *state;
	const char *arcs[1] = { f->arc };
	struct aedb_kv_item *it = NULL;
	struct aedb *db;
	char dst[512];
	uint64_t seq = 0;

	sc_path(dst, sizeof(dst), f, "mid");
	t_assert_rc(aedb_restore_scope(f->chain, 2, dst, "acme", "app", f->seq_mid, 0, &seq), 0);
	assert_int_equal(seq, f->seq_mid);
	db = sc_open(dst);
	t_assert_rc(aedb_kv_get(db, "acme", "app", "late", 4, AEDB_LATEST, &it), -AEDB_ENOTFOUND);
	t_assert_rc(aedb_kv_get(db, "acme", "app", "k007", 4, AEDB_LATEST, &it), 0);
	aedb_kv_item_free(it);
	t_assert_rc(aedb_project_exists(db, "beta"), 0);
	t_assert_rc(aedb_close(db), 0);

	/* A time after every commit: the chain's end. */
	{
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		sc_path(dst, sizeof(dst), f, "attime");
		t_assert_rc(aedb_restore_scope(f->chain, 2, dst, "acme", "ops", 0,
					       (uint64_t)ts.tv_sec * 1000000000ull +
						       (uint64_t)ts.tv_nsec, &seq), 0);
		assert_int_equal(seq, f->seq_end);
	}

	sc_path(dst, sizeof(dst), f, "fromarc");
	t_assert_rc(aedb_restore_scope(arcs, 1, dst, "beta", NULL, 0, 0, NULL), 0);
	assert_int_equal(sc_grep(dst, SC_MARK_OPS), 0);
	db = sc_open(dst);
	{
		struct aedb *full = sc_open(f->full);

		sc_same_scope(full, db, "beta", "app");
		t_assert_rc(aedb_close(full), 0);
	}
	t_assert_rc(aedb_project_exists(db, "acme"), 0);
	t_assert_rc(aedb_project_exists(db, "_global"), 0);
	t_assert_rc(aedb_close(db), 0);
}

static void test_refusals(void **state)
{
	struct sc_fix *f = *state;
	const char *dirs[1] = { f->bk };
	char dst[512], file[600], bk2[512];
	FILE *fp;

	sc_path(dst, sizeof(dst), f, "none");
	t_assert_rc(aedb_restore_scope(dirs, 1, dst, "nope", NULL, 0, 0, NULL),
		    -AEDB_ENOPROJECT);
	sc_nothing_left(f, "none");
	t_assert_rc(aedb_restore_scope(dirs, 1, dst, "acme", "nope", 0, 0, NULL),
		    -AEDB_ENOSCOPE);
	sc_nothing_left(f, "none");
	t_assert_rc(aedb_restore_scope(dirs, 1, dst, "acme", NULL, 1, 1, NULL), -AEDB_EMISUSE);
	sc_nothing_left(f, "none");

	/* acme/dep names acme/app, which a restore of dep alone would drop. */
	t_assert_rc(aedb_restore_scope(dirs, 1, dst, "acme", "dep", 0, 0, NULL), -AEDB_EDEPEND);
	sc_nothing_left(f, "none");

	/* A non-empty target is refused and kept as it was. */
	assert_int_equal(mkdir(dst, 0700), 0);
	snprintf(file, sizeof(file), "%s/x", dst);
	fp = fopen(file, "w");
	assert_non_null(fp);
	fclose(fp);
	t_assert_rc(aedb_restore_scope(dirs, 1, dst, "acme", NULL, 0, 0, NULL), -AEDB_EEXIST);
	assert_int_equal(unlink(file), 0);
	/* An empty one is used; an unknown name leaves it empty. */
	t_assert_rc(aedb_restore_scope(dirs, 1, dst, "nope", NULL, 0, 0, NULL),
		    -AEDB_ENOPROJECT);
	assert_int_equal(rmdir(dst), 0);

	/* A damaged backup: nothing written. */
	sc_path(bk2, sizeof(bk2), f, "bk2");
	{
		char cmd[1200];

		snprintf(cmd, sizeof(cmd), "cp -r '%s' '%s'", f->bk, bk2);
		assert_int_equal(system(cmd), 0);
	}
	snprintf(file, sizeof(file), "%s/aedb.meta", bk2);
	t_flip_byte(file, 20, 0x40);
	dirs[0] = bk2;
	t_assert_rc(aedb_restore_scope(dirs, 1, dst, "acme", NULL, 0, 0, NULL), -AEDB_ECORRUPT);
	sc_nothing_left(f, "none");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_project),
		cmocka_unit_test(test_scope),
		cmocka_unit_test(test_seq_and_archive),
		cmocka_unit_test(test_refusals),
	};

	return cmocka_run_group_tests(tests, sc_setup, sc_teardown);
}
