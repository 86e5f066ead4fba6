/* SPDX-License-Identifier: MIT */
/*
 * Restore to a time (issue 6): commits in five time windows on a 2-shard
 * instance, a full backup and two incrementals between them; a restore at
 * the time between two windows lands on exactly the last seq of the first
 * (group commits and a cross-shard transaction included: all or nothing);
 * before the full backup is -AEDB_ESEQGC, after the last commit the chain's
 * end; the same through an archive. Damaged time marks: a flipped time byte
 * in a frame (the backup's own list re-sealed so only the frame CRC can
 * catch it) is -AEDB_ECORRUPT and writes nothing; a re-sealed frame whose
 * time jumps ahead makes the restore stop before that frame (never a
 * commit stamped after the time). A segment of the old format (version 1,
 * no time) is -AEDB_EINCOMPAT at open.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "it_common.h"
#include "api/backup.h"
#include "core/crc32c.h"
#include "wal/frame.h"

#define BT_KEYS 600
#define BT_RING 64
#define BT_TXN_KEYS 8

struct bt_state {
	uint64_t seq[BT_KEYS];
	uint32_t n;
	uint64_t txn_seq;        /* the cross-shard transaction's seq */
};

static uint64_t bt_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* A time strictly between what came before and what comes after. */
static uint64_t bt_mark(void)
{
	uint64_t t;

	t_sleep_ms(3);
	t = bt_now();
	t_sleep_ms(3);
	return t;
}

static void bt_key(char *buf, size_t len, uint32_t i)
{
	snprintf(buf, len, "key:%05u", i);
}

/* Keys st->n .. + count, BT_RING in flight (multi-seq frames). */
static void bt_write(struct aedb *db, struct bt_state *st, uint32_t count)
{
	assert_true(st->n + count <= BT_KEYS);
	t_ring_write_keys(db, st->n, count, BT_RING, st->seq);
	st->n += count;
}

/* One transaction over keys on both shards. */
static void bt_txn(struct aedb *db, struct bt_state *st)
{
	struct aedb_commit_result res;
	struct aedb_txn *txn;
	char key[16];

	t_assert_rc(aedb_txn_create(db, &txn), 0);
	for (int i = 0; i < BT_TXN_KEYS; i++) {
		snprintf(key, sizeof(key), "txn:%d", i);
		assert_true(aedb_txn_kv_set(txn, T_P, T_S, key, strlen(key), "v", 1) >= 0);
	}
	t_assert_rc(aedb_commit(db, txn, &res), 0);
	assert_int_equal(res.shards, 2);
	st->txn_seq = res.seq;
	aedb_txn_free(txn);
}

/* Open @dir: it must hold exactly commits 1..@seq. */
static void bt_check(const char *dir, const struct bt_state *st, uint64_t seq)
{
	struct aedb_open_report rep;
	struct aedb *db;
	char key[16];

	t_assert_rc(aedb_open_ex(dir, NULL, &db, &rep), 0);
	assert_int_equal(rep.recovered_seq, seq);
	for (uint32_t i = 0; i < st->n; i++) {
		bt_key(key, sizeof(key), i);
		if (st->seq[i] <= seq)
			t_expect(db, key, 9, key, 9, st->seq[i], AEDB_LATEST);
		else
			t_expect(db, key, 9, NULL, 0, 0, AEDB_LATEST);
	}
	for (int i = 0; i < BT_TXN_KEYS; i++) {
		snprintf(key, sizeof(key), "txn:%d", i);
		if (st->txn_seq <= seq)
			t_expect(db, key, strlen(key), "v", 1, st->txn_seq, AEDB_LATEST);
		else
			t_expect(db, key, strlen(key), NULL, 0, 0, AEDB_LATEST);
	}
	t_assert_rc(aedb_close(db), 0);
}

static char *bt_path(const char *root, const char *name)
{
	char *p = malloc(strlen(root) + strlen(name) + 2);

	assert_non_null(p);
	sprintf(p, "%s/%s", root, name);
	return p;
}

static int bt_missing(const char *path)
{
	struct stat st;

	return stat(path, &st) < 0;
}

struct bt_chain {
	char *root, *data, *b[3], *arc;
	struct aedb_backup_result r[3];
	struct bt_state st;
	uint64_t t[6];     /* t[k]: after window k (t[0]: before any commit) */
	uint64_t seq[6];   /* the last seq before t[k] */
	uint64_t t_full;   /* after the full backup, before window 2 */
	uint64_t t_txn[2]; /* just before and just after the transaction */
};

/* Windows: 1 | full backup, archive | 2 (+ txn) | incr 1 | 3 | 4 | incr 2 | 5. */
static void bt_make(struct bt_chain *c)
{
	struct aedb_config cfg;
	struct aedb *db;

	memset(c, 0, sizeof(*c));
	c->root = t_tmpdir();
	c->data = bt_path(c->root, "data");
	c->arc = bt_path(c->root, "full.arc");
	for (int k = 0; k < 3; k++) {
		char name[8];

		snprintf(name, sizeof(name), "b%d", k);
		c->b[k] = bt_path(c->root, name);
	}
	aedb_config_init(&cfg);
	cfg.shards = 2;
	cfg.wal_segment_bytes = 64u << 10;
	c->t[0] = bt_mark();
	t_assert_rc(aedb_open(c->data, &cfg, &db), 0);
	t_assert_rc(aedb_create_project(db, T_P), 1);
	bt_write(db, &c->st, 100);
	c->seq[1] = aedb_visible_seq(db);
	c->t[1] = bt_mark();
	t_assert_rc(aedb_backup(db, c->b[0], &c->r[0]), 0);
	t_assert_rc(aedb_backup_to_file(db, c->arc, NULL), 0);
	c->t_full = bt_mark();
	bt_write(db, &c->st, 60);
	c->t_txn[0] = bt_mark();
	bt_txn(db, &c->st);
	c->t_txn[1] = bt_mark();
	bt_write(db, &c->st, 60);
	c->seq[2] = aedb_visible_seq(db);
	c->t[2] = bt_mark();
	t_assert_rc(aedb_backup_incremental(db, c->b[0], c->b[1], &c->r[1]), 0);
	bt_write(db, &c->st, 120);
	c->seq[3] = aedb_visible_seq(db);
	c->t[3] = bt_mark();
	bt_write(db, &c->st, 120);
	c->seq[4] = aedb_visible_seq(db);
	c->t[4] = bt_mark();
	t_assert_rc(aedb_backup_incremental(db, c->b[1], c->b[2], &c->r[2]), 0);
	bt_write(db, &c->st, 100);
	c->seq[5] = aedb_visible_seq(db);
	c->t[5] = bt_mark();
	t_assert_rc(aedb_close(db), 0);
	assert_int_equal(c->r[0].to_seq, c->seq[1]);
	assert_int_equal(c->r[1].to_seq, c->seq[2]);
	assert_int_equal(c->r[2].to_seq, c->seq[4]);
}

static void bt_free(struct bt_chain *c)
{
	t_rmrf(c->root);
	free(c->root);
	free(c->data);
	free(c->arc);
	for (int k = 0; k < 3; k++)
		free(c->b[k]);
}

/* Restore the chain at @t into a fresh directory: -> @want (or error). */
static void bt_at(struct bt_chain *c, uint32_t n, uint64_t t, int want_rc, uint64_t want)
{
	const char *dirs[3] = { c->b[0], c->b[1], c->b[2] };
	char *dst = bt_path(c->root, "target");
	uint64_t got = 0;

	t_assert_rc(aedb_restore_chain_at_time(dirs, n, dst, t, &got), want_rc);
	if (want_rc == 0) {
		assert_int_equal(got, want);
		bt_check(dst, &c->st, want);
	} else {
		assert_true(bt_missing(dst));
	}
	t_rmrf(dst);
	free(dst);
}

static void test_time_windows(void **state)
{
	struct bt_chain c;

	(void)state;
	bt_make(&c);
	/* Before the first commit, and before the full backup was taken. */
	bt_at(&c, 3, c.t[0], -AEDB_ESEQGC, 0);
	bt_at(&c, 3, c.t[1], -AEDB_ESEQGC, 0);
	/* From the full backup on, each window boundary exactly. */
	bt_at(&c, 3, c.t_full, 0, c.seq[1]);
	bt_at(&c, 3, c.t[2], 0, c.seq[2]);
	bt_at(&c, 3, c.t[3], 0, c.seq[3]);
	bt_at(&c, 3, c.t[4], 0, c.seq[4]);
	/* After the chain's last commit: its end. */
	bt_at(&c, 3, c.t[5], 0, c.seq[4]);
	bt_at(&c, 3, UINT64_MAX, 0, c.seq[4]);
	/* A shorter chain ends earlier. */
	bt_at(&c, 2, c.t[3], 0, c.seq[2]);
	bt_at(&c, 1, c.t[5], 0, c.seq[1]);
	/* Just before the cross-shard transaction, and just after it: it is
	 * restored on both shards or on neither. */
	bt_at(&c, 3, c.t_txn[0], 0, c.st.txn_seq - 1);
	bt_at(&c, 3, c.t_txn[1], 0, c.st.txn_seq);
	t_assert_rc(aedb_restore_chain_at_time((const char *[]){ c.b[0] }, 1, c.data, 0, NULL),
		    -AEDB_EMISUSE);
	t_assert_rc(aedb_restore_chain_at_time((const char *[]){ c.b[0] }, 1,
					       c.root, c.t[5], NULL), -AEDB_EEXIST);
	bt_free(&c);
}

static void test_time_archive(void **state)
{
	struct bt_chain c;
	char *dst;
	uint64_t got = 0;

	(void)state;
	bt_make(&c);
	dst = bt_path(c.root, "arc-target");
	t_assert_rc(aedb_restore_from_file_at_time(c.arc, dst, c.t[1], &got), -AEDB_ESEQGC);
	assert_true(bt_missing(dst));
	t_assert_rc(aedb_restore_from_file_at_time(c.arc, dst, 0, &got), -AEDB_EMISUSE);
	t_assert_rc(aedb_restore_from_file_at_time(c.arc, dst, c.t[5], &got), 0);
	assert_int_equal(got, c.seq[1]);
	bt_check(dst, &c.st, c.seq[1]);
	free(dst);
	bt_free(&c);
}

/* A frame of backup @dir's segments starting above seq @min with a frame
 * after it: its path (in @path) and offset. */
static long bt_pick_frame(const char *dir, uint64_t min, char *path, size_t len,
			  struct wal_frame_hdr *out)
{
	struct bk_hdr h;
	struct bk_list l = { 0 };
	long found = -1;

	t_assert_rc(api_bk_read_list(dir, &h, &l), 0);
	for (uint32_t i = 0; found < 0 && i < l.n; i++) {
		uint8_t *buf;
		struct stat st;
		size_t off = WAL_SEG_HDR_BYTES, cand = 0;
		int fd;

		if (strncmp(l.files[i].path, "wal/", 4) != 0)
			continue;
		snprintf(path, len, "%s/%s", dir, l.files[i].path);
		fd = open(path, O_RDONLY);
		assert_true(fd >= 0 && fstat(fd, &st) == 0);
		buf = malloc((size_t)st.st_size);
		assert_true(pread(fd, buf, (size_t)st.st_size, 0) == st.st_size);
		close(fd);
		while (wal_frame_check(buf + off, (size_t)st.st_size - off, out) == WAL_FRAME_OK) {
			if (cand) {
				found = (long)cand;
				break;
			}
			if (out->first_seq > min)
				cand = off;
			off += WAL_FRAME_HDR_BYTES + out->len;
		}
		if (found >= 0)
			memcpy(out, buf + found, sizeof(*out));
		free(buf);
	}
	free(l.files);
	assert_true(found > 0);
	return found;
}

/* Re-seal @dir's BACKUP list over its files as they are now. */
static void bt_reseal(const char *dir)
{
	struct bk_hdr h;
	struct bk_list l = { 0 };

	t_assert_rc(api_bk_read_list(dir, &h, &l), 0);
	t_assert_rc(api_bk_copy_all(dir, NULL, &l, 0), 0);
	t_assert_rc(api_bk_write_list(dir, &h, &l), 0);
	free(l.files);
	t_assert_rc(aedb_backup_verify(dir), 0);
}

static void test_time_damaged(void **state)
{
	struct bt_chain c;
	struct wal_frame_hdr fh;
	char path[4400];
	long off;
	int fd;

	(void)state;
	bt_make(&c);
	/* A flipped byte in a time mark (the list re-sealed so the backup
	 * verifies): the frame's CRC catches it; nothing is written. */
	off = bt_pick_frame(c.b[2], c.seq[2] + 1, path, sizeof(path), &fh);
	t_flip_byte(path, off + (long)offsetof(struct wal_frame_hdr, time_ns) + 2, 0x10);
	bt_reseal(c.b[2]);
	bt_at(&c, 3, c.t[5], -AEDB_ECORRUPT, 0);
	/* A well-formed frame whose time jumps past every other: the restore
	 * stops before it, whatever the later frames say. */
	fh.time_ns = c.t[5] + 1000000000ull;
	fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	{
		uint8_t *frame = malloc(WAL_FRAME_HDR_BYTES + fh.len);

		assert_true(pread(fd, frame, WAL_FRAME_HDR_BYTES + fh.len, off) ==
			    (ssize_t)(WAL_FRAME_HDR_BYTES + fh.len));
		wal_frame_seal(&fh, frame + WAL_FRAME_HDR_BYTES);
		memcpy(frame, &fh, sizeof(fh));
		assert_true(pwrite(fd, frame, WAL_FRAME_HDR_BYTES + fh.len, off) ==
			    (ssize_t)(WAL_FRAME_HDR_BYTES + fh.len));
		free(frame);
	}
	close(fd);
	bt_reseal(c.b[2]);
	assert_true(fh.first_seq > c.seq[2] && fh.first_seq <= c.seq[4]);
	bt_at(&c, 3, c.t[5], 0, fh.first_seq - 1);
	/* Times before the forged one are unaffected. */
	if (fh.first_seq > c.seq[3])
		bt_at(&c, 3, c.t[3], 0, c.seq[3]);
	bt_free(&c);
}

/* A segment of format version 1 (frames without time) is refused at open
 * with -AEDB_EINCOMPAT naming the file, not read as damage. */
static void test_time_old_format(void **state)
{
	struct aedb_open_report rep;
	struct wal_seg_hdr h;
	struct aedb *db;
	char *root = t_tmpdir(), *dir = bt_path(root, "d"), path[4400];
	int fd;

	(void)state;
	t_assert_rc(aedb_open(dir, NULL, &db), 0);
	t_assert_rc(aedb_create_project(db, T_P), 1);
	t_sets(db, "k", "v");
	t_assert_rc(aedb_close(db), 0);
	/* The project's DDL is seq 1 on every shard: shard 0 has a segment 1. */
	snprintf(path, sizeof(path), "%s/wal/0/%020u.seg", dir, 1u);
	fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	assert_true(pread(fd, &h, sizeof(h), 0) == (ssize_t)sizeof(h));
	assert_int_equal(h.version, WAL_SEG_VERSION);
	h.version = 1;
	h.crc = core_crc32c(0, &h, offsetof(struct wal_seg_hdr, crc));
	assert_true(pwrite(fd, &h, sizeof(h), 0) == (ssize_t)sizeof(h));
	close(fd);
	t_assert_rc(aedb_open_ex(dir, NULL, &db, &rep), -AEDB_EINCOMPAT);
	assert_non_null(strstr(rep.message, "format version 1"));
	assert_non_null(strstr(rep.message, "wal/0/"));
	t_rmrf(root);
	free(root);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_time_windows),
		cmocka_unit_test(test_time_archive),
		cmocka_unit_test(test_time_damaged),
		cmocka_unit_test(test_time_old_format),
	};

	t_require_engine();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
