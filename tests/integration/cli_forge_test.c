/* SPDX-License-Identifier: MIT */
/*
 * `aedb check invariants` finds what no checksum can: a checkpoint that is
 * well-formed (every CRC right, `aedb verify` clean) but holds an index
 * entry for no row, or two rows with one unique key. The damage is forged with the
 * engine's own checkpoint writer (internal headers: the one test here that
 * is not black-box), then the CLI is run as a child process.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "it_common.h"
#include "cli_common.h"
#include "api/meta.h"
#include "wal/ckpt.h"
#include "wal/manifest.h"
#include "wal/record.h"

/* One shard, a table with a unique index on tag (rows i -> "t<i>"),
 * everything in the checkpoint. Returns the index's namespace id; *@tns the
 * table's, *@seq the checkpoint's seq. */
static uint32_t fg_fill(const char *dir, uint32_t *tns, uint64_t *seq)
{
	struct aedb_column_def cols[] = {
		{ .name = "id", .type = AEDB_TYPE_U64 },
		{ .name = "tag", .type = AEDB_TYPE_TEXT },
	};
	const char *pk[] = { "id" }, *ixc[] = { "tag" };
	struct aedb_table_def def = { .name = "t", .columns = cols, .ncolumns = 2, .npk = 1,
				      .pk = pk };
	struct aedb_index_def ix = { .name = "by_tag", .columns = ixc, .ncolumns = 1,
				     .flags = AEDB_INDEX_UNIQUE };
	struct aedb_checkpoint_result ck;
	struct aedb_table_info *ti;
	struct aedb_config c;
	struct aedb *db;
	uint32_t id;

	aedb_config_init(&c);
	c.shards = 1;
	t_assert_rc(aedb_open(dir, &c, &db), 0);
	t_assert_rc(aedb_create_project(db, T_P), 1);
	t_assert_rc(aedb_create_table(db, T_P, T_S, &def), 1);
	t_assert_rc(aedb_create_index(db, T_P, T_S, "t", &ix), 1);
	for (uint64_t i = 0; i < 10; i++) {
		char tag[4] = { 't', (char)('0' + i), 0, 0 };
		struct aedb_value row[2] = { { .type = AEDB_TYPE_U64, .u.u64 = i },
					     { .type = AEDB_TYPE_TEXT, .len = 2, .u.bytes = tag } };

		t_assert_rc(aedb_insert_row(db, T_P, T_S, "t", row, 2, 0, NULL), 0);
	}
	t_assert_rc(aedb_checkpoint_now(db, &ck), 0);
	t_assert_rc(aedb_describe_table(db, T_P, T_S, "t", &ti), 0);
	id = ti->indexes[0].id;
	*tns = ti->id;
	aedb_table_info_free(ti);
	t_assert_rc(aedb_close(db), 0);
	*seq = ck.seq;
	return id;
}

/* After index entry @kv of @ns, a stray one: another key, the primary key
 * of no row. */
static void fg_stray(struct ckpt_writer *w, uint32_t ns, struct ckpt_kv kv)
{
	uint8_t *key = malloc(kv.key_len + 1);

	memcpy(key, kv.key, kv.key_len);
	key[kv.key_len] = 0xff; /* sorts right after it */
	kv.key = key;
	kv.key_len++;
	kv.val = (const uint8_t *)"\x01\x02\x03";
	kv.val_len = 3;
	assert_int_equal(wal_ckpt_put_kv(w, ns, &kv), 0);
	free(key);
}

/* Row "t1" of table @ns gets tag "t0": two rows, one unique key. */
static void fg_dup(struct ckpt_writer *w, uint32_t ns, struct ckpt_kv kv, int *done)
{
	uint8_t *val = malloc(kv.val_len);
	uint8_t *hit;

	memcpy(val, kv.val, kv.val_len);
	hit = memmem(val, kv.val_len, "t1", 2);
	if (hit) {
		hit[1] = '0';
		*done = 1;
	}
	kv.val = val;
	assert_int_equal(wal_ckpt_put_kv(w, ns, &kv), 0);
	free(val);
}

/* Copy one block's entries into @w, damaging namespace @ns. */
static void fg_block(struct ckpt_writer *w, const struct ckpt_blk_hdr *h, const uint8_t *raw,
		     uint32_t ns, int index, int *done)
{
	size_t at = 0;

	for (uint32_t k = 0; k < h->count; k++) {
		struct ckpt_kv kv;
		struct wal_rec rec;
		const uint8_t *key;
		uint64_t seq;
		long n;

		if (h->type == CKPT_BLK_CATALOG) {
			n = wal_rec_decode(raw, h->raw_len, at, &rec);
			assert_true(n > 0);
			at += (size_t)n;
			assert_int_equal(wal_ckpt_put_rec(w, &rec), 0);
		} else if (h->type == CKPT_BLK_IDEM) {
			assert_int_equal(wal_ckpt_idem_decode(raw, h->raw_len, &at, &key, &seq), 0);
			assert_int_equal(wal_ckpt_put_idem(w, key, seq), 0);
		} else {
			assert_int_equal(wal_ckpt_kv_decode(raw, h->raw_len, &at, &kv), 0);
			if (h->ns == ns && !*done && !index) {
				fg_dup(w, ns, kv, done);
				continue;
			}
			assert_int_equal(wal_ckpt_put_kv(w, h->ns, &kv), 0);
			if (h->ns == ns && !*done && index) {
				fg_stray(w, ns, kv);
				*done = 1;
			}
		}
	}
}

/* Rewrite shard 0's checkpoint file with the index damaged, and the
 * manifest to match: every checksum stays right. */
static void fg_rewrite(const char *dir, uint64_t seq, uint32_t ns, int index)
{
	char path[4400], cdir[4352];
	struct ckpt_reader r;
	struct ckpt_writer w;
	struct ckpt_blk_hdr h;
	struct ckpt_file_hdr fh;
	struct wal_manifest m;
	const uint8_t *raw;
	int rc, done = 0, dfd, cfd;

	snprintf(cdir, sizeof(cdir), "%s/checkpoint/%020" PRIu64, dir, seq);
	snprintf(path, sizeof(path), "%s/0.ckpt", cdir);
	{
		uint8_t id[16];
		uint32_t n = 1;

		assert_int_equal(api_meta_read(dir, &n, id, NULL), 0);
		assert_int_equal(wal_ckpt_reader_open(&r, path, 0, 1, id, seq), 0);
	}
	fh = r.hdr;
	dfd = open(cdir, O_RDONLY | O_DIRECTORY);
	assert_true(dfd >= 0);
	assert_int_equal(wal_ckpt_writer_open(&w, dfd, "new.ckpt", &fh), 0);
	while ((rc = wal_ckpt_reader_next(&r, &h, &raw)) == 1)
		if (h.type != CKPT_BLK_END)
			fg_block(&w, &h, raw, ns, index, &done);
	assert_int_equal(rc, 0);
	assert_int_equal(done, 1);
	wal_ckpt_reader_close(&r);
	assert_int_equal(wal_ckpt_writer_finish(&w), 0);
	assert_int_equal(renameat(dfd, "new.ckpt", dfd, "0.ckpt"), 0);
	close(dfd);
	snprintf(cdir, sizeof(cdir), "%s/checkpoint", dir);
	cfd = open(cdir, O_RDONLY | O_DIRECTORY);
	assert_int_equal(wal_manifest_read(cfd, fh.db_id, 1, &m), 1);
	m.files[0].file_bytes = w.file_bytes;
	m.files[0].blocks = w.blocks;
	m.files[0].entries = w.entries;
	assert_int_equal(wal_manifest_write(cfd, &m), 0);
	close(cfd);
}

/* Damage the index (@index) or a row, then check. */
static void fg_case(int index, const char *what)
{
	char *dir = t_tmpdir();
	uint64_t seq;
	uint32_t tns, ns = fg_fill(dir, &tns, &seq);
	json_t *j, *d;
	int found = 0;

	j = t_cli_json(0, T_CLI("check", "invariants", dir));
	assert_int_equal(json_integer_value(json_object_get(j, "index_entries")), 10);
	json_decref(j);
	fg_rewrite(dir, seq, index ? ns : tns, index);
	j = t_cli_json(0, T_CLI("verify", dir)); /* every checksum is right */
	json_decref(j);
	j = t_cli_json(1, T_CLI("check", "invariants", dir));
	assert_true(json_is_false(json_object_get(j, "ok")));
	assert_true(json_integer_value(json_object_get(j, "violations")) >= 1);
	d = json_object_get(j, "details");
	for (size_t i = 0; i < json_array_size(d); i++)
		found |= strstr(json_string_value(json_array_get(d, i)), what) != NULL;
	assert_true(found);
	json_decref(j);
	t_rmrf(dir);
	free(dir);
}

static void test_check_stray_entry(void **state)
{
	(void)state;
	fg_case(1, "an entry for no row");
}

/* (An entry missing on disk is not damage: recovery rebuilds an index's
 * entries from the rows, so the recovered state has it.) */
static void test_check_unique_shared(void **state)
{
	(void)state;
	fg_case(0, "unique index by_tag");
}

/* One shard: parent(id) 1..5, child(id, pid -> parent) 1..10 naming
 * parent 1 + i % 5, in a checkpoint. Returns the foreign key's count
 * namespace (the id just below the child table's: api/catalog.h). */
static uint32_t fg_fill_fk(const char *dir, uint64_t *seq)
{
	struct aedb_column_def pc[] = { { .name = "id", .type = AEDB_TYPE_U64 } };
	struct aedb_column_def cc[] = {
		{ .name = "id", .type = AEDB_TYPE_U64 },
		{ .name = "pid", .type = AEDB_TYPE_U64, .nullable = 1 },
	};
	const char *pk[] = { "id" }, *fkc[] = { "pid" };
	struct aedb_table_def pd = { .name = "p", .columns = pc, .ncolumns = 1, .npk = 1,
				     .pk = pk };
	struct aedb_table_def cd = { .name = "c", .columns = cc, .ncolumns = 2, .npk = 1,
				     .pk = pk };
	struct aedb_fk_def fk = { .name = "to_p", .columns = fkc, .ncolumns = 1,
				  .ref_table = "p" };
	struct aedb_checkpoint_result ck;
	struct aedb_table_info *ti;
	struct aedb_config c;
	struct aedb *db;
	uint32_t id;

	aedb_config_init(&c);
	c.shards = 1;
	t_assert_rc(aedb_open(dir, &c, &db), 0);
	t_assert_rc(aedb_create_project(db, T_P), 1);
	t_assert_rc(aedb_create_table(db, T_P, T_S, &pd), 1);
	t_assert_rc(aedb_create_table_ex(db, T_P, T_S, &cd, NULL, 0, &fk, 1), 1);
	for (uint64_t i = 1; i <= 5; i++) {
		struct aedb_value v = { .type = AEDB_TYPE_U64, .u.u64 = i };

		t_assert_rc(aedb_insert_row(db, T_P, T_S, "p", &v, 1, 0, NULL), 0);
	}
	for (uint64_t i = 1; i <= 10; i++) {
		struct aedb_value v[2] = { { .type = AEDB_TYPE_U64, .u.u64 = i },
					   { .type = AEDB_TYPE_U64, .u.u64 = 1 + i % 5 } };

		t_assert_rc(aedb_insert_row(db, T_P, T_S, "c", v, 2, 0, NULL), 0);
	}
	t_assert_rc(aedb_checkpoint_now(db, &ck), 0);
	t_assert_rc(aedb_describe_table(db, T_P, T_S, "c", &ti), 0);
	id = ti->id - 1;
	aedb_table_info_free(ti);
	t_assert_rc(aedb_close(db), 0);
	*seq = ck.seq;
	return id;
}

/* Foreign keys resolve: clean, then a forged count (a stray key) found. */
static void test_check_fk_counts(void **state)
{
	char *dir = t_tmpdir();
	uint64_t seq;
	uint32_t ns = fg_fill_fk(dir, &seq);
	json_t *j, *d;
	int found = 0;

	(void)state;
	j = t_cli_json(0, T_CLI("check", "invariants", dir));
	assert_true(json_is_true(json_object_get(j, "ok")));
	json_decref(j);
	fg_rewrite(dir, seq, ns, 1);
	j = t_cli_json(1, T_CLI("check", "invariants", dir));
	assert_true(json_is_false(json_object_get(j, "ok")));
	d = json_object_get(j, "details");
	for (size_t i = 0; i < json_array_size(d); i++)
		found |= strstr(json_string_value(json_array_get(d, i)),
				"foreign key to_p: a count of") != NULL;
	assert_true(found);
	json_decref(j);
	t_rmrf(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check_fk_counts),
		cmocka_unit_test(test_check_stray_entry),
		cmocka_unit_test(test_check_unique_shared),
	};

	t_require_engine();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
