/* SPDX-License-Identifier: MIT */
/*
 * Incremental backups, chain restore, point-in-time restore and single-file
 * archives (issue 6): a chain restores to its end and to every sampled seq
 * in between, landing exactly on it (group commits that straddle the seq
 * are cut); broken, reordered, foreign or damaged chains are refused and
 * write nothing; an incremental whose WAL was reclaimed is refused; an
 * archive taken while writers run restores to the same contents as the
 * live instance at its seq; a damaged or truncated archive is refused.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "it_common.h"

#define BC_KEYS 600
#define BC_RING 64

/* Key i's value and the seq that wrote it. */
struct bc_state {
	uint64_t seq[BC_KEYS];
	uint32_t n;             /* keys written: 0..n-1 */
};

static void bc_key(char *buf, size_t len, uint32_t i)
{
	snprintf(buf, len, "key:%05u", i);
}

/* Keys st->n .. + count, BC_RING in flight (multi-seq frames). */
static void bc_write(struct aedb *db, struct bc_state *st, uint32_t count)
{
	assert_true(st->n + count <= BC_KEYS);
	t_ring_write_keys(db, st->n, count, BC_RING, st->seq);
	st->n += count;
}

/* Open @dir: recovery must land on exactly @seq, holding key i iff its
 * seq <= @seq. */
static void bc_check(const char *dir, const struct bc_state *st, uint64_t seq)
{
	struct aedb_open_report rep;
	struct aedb *db;
	char key[16];

	t_assert_rc(aedb_open_ex(dir, NULL, &db, &rep), 0);
	assert_int_equal(rep.recovered_seq, seq);
	assert_int_equal(aedb_visible_seq(db), seq);
	for (uint32_t i = 0; i < st->n; i++) {
		bc_key(key, sizeof(key), i);
		if (st->seq[i] <= seq)
			t_expect(db, key, 9, key, 9, st->seq[i], AEDB_LATEST);
		else
			t_expect(db, key, 9, NULL, 0, 0, AEDB_LATEST);
	}
	t_assert_rc(aedb_close(db), 0);
}

static char *bc_fresh(const char *root, const char *name)
{
	char *p = malloc(strlen(root) + strlen(name) + 2);

	assert_non_null(p);
	sprintf(p, "%s/%s", root, name);
	return p;
}

static void bc_flip(const char *path, off_t off)
{
	t_flip_byte(path, off, 0x40);
}

static int bc_missing(const char *path)
{
	struct stat st;

	return stat(path, &st) < 0;
}

struct bc_chain {
	char *root, *data, *b[3];
	struct aedb_backup_result r[3];
	struct bc_state st;
};

/* A full backup and two incrementals of a 2-shard instance. */
static void bc_chain_make(struct bc_chain *c)
{
	struct aedb_config cfg;
	struct aedb *db;

	memset(c, 0, sizeof(*c));
	c->root = t_tmpdir();
	c->data = bc_fresh(c->root, "data");
	for (int k = 0; k < 3; k++) {
		char name[8];

		snprintf(name, sizeof(name), "b%d", k);
		c->b[k] = bc_fresh(c->root, name);
	}
	aedb_config_init(&cfg);
	cfg.shards = 2;
	cfg.wal_segment_bytes = 64u << 10; /* rotations inside the chain */
	t_assert_rc(aedb_open(c->data, &cfg, &db), 0);
	t_assert_rc(aedb_create_project(db, T_P), 1);
	bc_write(db, &c->st, 200);
	t_assert_rc(aedb_backup(db, c->b[0], &c->r[0]), 0);
	bc_write(db, &c->st, 200);
	t_assert_rc(aedb_backup_incremental(db, c->b[0], c->b[1], &c->r[1]), 0);
	bc_write(db, &c->st, 200);
	t_assert_rc(aedb_backup_incremental(db, c->b[1], c->b[2], &c->r[2]), 0);
	assert_int_equal(c->r[2].to_seq, aedb_visible_seq(db));
	t_assert_rc(aedb_close(db), 0);
	/* Each backup ends at the last commit before it (the project's
	 * creation is seq 1; keys were written in rounds across shards). */
	assert_int_equal(c->r[0].to_seq, 1 + 200);
	assert_int_equal(c->r[1].to_seq, 1 + 400);
	assert_int_equal(c->r[1].checkpoint_seq, c->r[0].checkpoint_seq);
}

static void bc_chain_free(struct bc_chain *c)
{
	t_rmrf(c->root);
	free(c->root);
	free(c->data);
	for (int k = 0; k < 3; k++)
		free(c->b[k]);
}

static void test_chain_restore_every_point(void **state)
{
	struct bc_chain c;
	uint64_t got = 0, lo, hi;
	char name[32];

	(void)state;
	bc_chain_make(&c);
	const char *dirs[3] = { c.b[0], c.b[1], c.b[2] };
	/* The whole chain, to its end. */
	char *t = bc_fresh(c.root, "full");

	t_assert_rc(aedb_restore_chain(dirs, 3, t, 0, &got), 0);
	assert_int_equal(got, c.r[2].to_seq);
	bc_check(t, &c.st, got);
	free(t);
	/* Point in time: every 53rd seq from the checkpoint to the end, and
	 * each backup's edges. Rounds hold many seqs, so most points cut a
	 * frame in two. */
	lo = c.r[0].checkpoint_seq;
	hi = c.r[2].to_seq;
	for (uint64_t s = lo; s <= hi; s += (s == lo ? 1 : 53)) {
		snprintf(name, sizeof(name), "pit%llu", (unsigned long long)s);
		t = bc_fresh(c.root, name);
		t_assert_rc(aedb_restore_chain(dirs, 3, t, s, &got), 0);
		assert_int_equal(got, s);
		bc_check(t, &c.st, s);
		t_rmrf(t);
		free(t);
	}
	for (int k = 0; k < 2; k++) {
		uint64_t edge = c.r[k].to_seq + 1;

		t = bc_fresh(c.root, "edge");
		t_assert_rc(aedb_restore_chain(dirs, 3, t, edge, &got), 0);
		bc_check(t, &c.st, edge);
		t_rmrf(t);
		free(t);
	}
	/* Only the full backup: aedb_restore() lands on its to_seq. */
	t = bc_fresh(c.root, "one");
	t_assert_rc(aedb_restore(c.b[0], t), 0);
	bc_check(t, &c.st, c.r[0].to_seq);
	free(t);
	bc_chain_free(&c);
}

static void test_chain_refused(void **state)
{
	struct bc_chain c;
	char path[4400];
	char *t;

	(void)state;
	bc_chain_make(&c);
	t = bc_fresh(c.root, "target");
	{
		const char *skip[2] = { c.b[0], c.b[2] };
		const char *nofull[2] = { c.b[1], c.b[2] };
		const char *order[3] = { c.b[0], c.b[2], c.b[1] };
		const char *ok[3] = { c.b[0], c.b[1], c.b[2] };

		t_assert_rc(aedb_restore_chain(skip, 2, t, 0, NULL), -AEDB_EINVAL);
		t_assert_rc(aedb_restore_chain(nofull, 2, t, 0, NULL), -AEDB_EINVAL);
		t_assert_rc(aedb_restore_chain(order, 3, t, 0, NULL), -AEDB_EINVAL);
		t_assert_rc(aedb_restore_chain(ok, 3, t, c.r[2].to_seq + 1, NULL),
			    -AEDB_ESEQFUTURE);
		t_assert_rc(aedb_restore_chain(ok, 3, t, c.r[0].checkpoint_seq - 1, NULL),
			    -AEDB_ESEQGC);
		t_assert_rc(aedb_restore_chain(ok, 0, t, 0, NULL), -AEDB_EMISUSE);
		t_assert_rc(aedb_restore_chain(NULL, 1, t, 0, NULL), -AEDB_EMISUSE);
		assert_true(bc_missing(t)); /* nothing written by any of them */
		/* A damaged segment in the middle link. */
		snprintf(path, sizeof(path), "%s/BACKUP", c.b[1]);
		bc_flip(path, 200);
		t_assert_rc(aedb_backup_verify(c.b[1]), -AEDB_ECORRUPT);
		t_assert_rc(aedb_restore_chain(ok, 3, t, 0, NULL), -AEDB_ECORRUPT);
		assert_true(bc_missing(t));
		bc_flip(path, 200);
		/* A non-empty target is refused and left alone. */
		assert_int_equal(mkdir(t, 0700), 0);
		snprintf(path, sizeof(path), "%s/mine", t);
		fclose(fopen(path, "w"));
		t_assert_rc(aedb_restore_chain(ok, 3, t, 0, NULL), -AEDB_EEXIST);
		assert_false(bc_missing(path));
		snprintf(path, sizeof(path), "%s/aedb.meta", t);
		assert_true(bc_missing(path));
	}
	free(t);
	bc_chain_free(&c);
}

static void test_incremental_refused(void **state)
{
	char *root = t_tmpdir();
	char *b0 = bc_fresh(root, "b0"), *b1 = bc_fresh(root, "b1"), *x = bc_fresh(root, "x");
	struct aedb *db = t_open_p(2, NULL), *other = t_open_p(2, NULL);

	(void)state;
	t_sets(db, "a", "1");
	t_assert_rc(aedb_backup(db, b0, NULL), 0);
	/* Another database's backup is no base. */
	t_assert_rc(aedb_backup_incremental(other, b0, x, NULL), -AEDB_EINVAL);
	/* A checkpoint after the base reclaimed the WAL it would need. */
	t_sets(db, "b", "2");
	t_assert_rc(aedb_checkpoint_now(db, NULL), 0);
	t_sets(db, "c", "3");
	t_assert_rc(aedb_backup_incremental(db, b0, b1, NULL), -AEDB_ESEQGC);
	t_assert_rc(aedb_backup_incremental(db, x, b1, NULL), -AEDB_ECORRUPT);
	t_assert_rc(aedb_backup_incremental(NULL, b0, b1, NULL), -AEDB_EMISUSE);
	t_close(other);
	t_close(db);
	t_rmrf(root);
	free(root);
	free(b0);
	free(b1);
	free(x);
}

/* ~200 KiB of WAL (4 KiB values that lz4 cannot shrink): several 64 KiB
 * segments per shard. */
static void bc_fill(struct aedb *db, int round)
{
	static char val[4096];
	uint32_t x = 2463534242u + (uint32_t)round;
	char key[32];

	for (size_t i = 0; i < sizeof(val); i++) {
		x ^= x << 13, x ^= x >> 17, x ^= x << 5;
		val[i] = (char)x;
	}
	for (int i = 0; i < 50; i++) {
		snprintf(key, sizeof(key), "fill:%d:%d", round, i);
		t_set(db, key, strlen(key), val, sizeof(val));
	}
}

/* With cfg.backup_wal_pin, checkpoints (and a restart) between backups
 * keep the WAL the next incremental needs; the chain restores exactly;
 * once the pin moves on, a checkpoint reclaims the segments below it. */
static void test_incremental_pinned(void **state)
{
	struct aedb_checkpoint_result ck;
	struct aedb_backup_result r[3];
	struct aedb_config cfg;
	struct bc_state st = { 0 };
	struct aedb *db;
	char *root = t_tmpdir(), *data = bc_fresh(root, "data"), *t = bc_fresh(root, "t");
	char *b[3] = { bc_fresh(root, "b0"), bc_fresh(root, "b1"), bc_fresh(root, "b2") };
	char pin[4400];
	const char *dirs[3] = { b[0], b[1], b[2] };
	uint64_t got = 0;

	(void)state;
	aedb_config_init(&cfg);
	cfg.shards = 2;
	cfg.wal_segment_bytes = 64u << 10;
	cfg.backup_wal_pin = 1;
	t_assert_rc(aedb_open(data, &cfg, &db), 0);
	t_assert_rc(aedb_create_project(db, T_P), 1);
	bc_write(db, &st, 150);
	t_assert_rc(aedb_backup(db, b[0], &r[0]), 0);
	bc_write(db, &st, 150);
	bc_fill(db, 0);
	/* Without the pin this checkpoint would reclaim the segments after
	 * b0 (test_incremental_refused: -AEDB_ESEQGC). */
	t_assert_rc(aedb_checkpoint_now(db, &ck), 0);
	assert_true(ck.seq > r[0].to_seq);
	bc_write(db, &st, 150);
	t_assert_rc(aedb_backup_incremental(db, b[0], b[1], &r[1]), 0);
	bc_write(db, &st, 100);
	bc_fill(db, 1);
	/* Reclaims what b0's and b1's WAL no longer need, keeps the rest. */
	t_assert_rc(aedb_checkpoint_now(db, &ck), 0);
	assert_true(ck.seq > r[1].to_seq);
	/* A restart in between: recovery keeps the pinned WAL too. */
	t_assert_rc(aedb_close(db), 0);
	t_assert_rc(aedb_open(data, &cfg, &db), 0);
	t_assert_rc(aedb_checkpoint_now(db, NULL), 0);
	bc_write(db, &st, 50);
	t_assert_rc(aedb_backup_incremental(db, b[1], b[2], &r[2]), 0);
	t_assert_rc(aedb_restore_chain(dirs, 3, t, 0, &got), 0);
	assert_int_equal(got, r[2].to_seq);
	bc_check(t, &st, got);
	t_rmrf(t);
	/* The pin is at b2's end now: a checkpoint reclaims what is below it. */
	bc_fill(db, 2);
	t_assert_rc(aedb_checkpoint_now(db, &ck), 0);
	assert_true(ck.segments_reclaimed > 0);
	t_assert_rc(aedb_close(db), 0);
	/* Turned off: the next checkpoint drops the pin file. */
	snprintf(pin, sizeof(pin), "%s/backup.pin", data);
	assert_false(bc_missing(pin));
	cfg.backup_wal_pin = 0;
	t_assert_rc(aedb_open(data, &cfg, &db), 0);
	t_sets(db, "later", "y");
	t_assert_rc(aedb_checkpoint_now(db, NULL), 0);
	assert_true(bc_missing(pin));
	t_assert_rc(aedb_close(db), 0);
	t_rmrf(root);
	free(root);
	free(data);
	free(t);
	for (int k = 0; k < 3; k++)
		free(b[k]);
}

#define AR_WRITERS 3

struct ar_writer {
	struct aedb *db;
	uint32_t tid;
	atomic_int *stop;
};

static void *ar_writer_main(void *arg)
{
	struct ar_writer *w = arg;
	char key[32], val[32];

	for (uint64_t n = 0; !atomic_load(w->stop); n++) {
		int rc;

		snprintf(key, sizeof(key), "w%u:%08llu", w->tid, (unsigned long long)n);
		snprintf(val, sizeof(val), "%llu", (unsigned long long)(n * 7));
		/* Rewrites of earlier keys too, so restored versions matter. */
		if (n % 5 == 4)
			snprintf(key, sizeof(key), "w%u:%08llu", w->tid,
				 (unsigned long long)(n / 2));
		rc = aedb_kv_set(w->db, T_P, T_S, key, strlen(key), val, strlen(val),
				 AEDB_FINALITY_VISIBLE, NULL);
		T_CHECK(rc == 0, "set: %s", aedb_strerror(rc));
		if (rc)
			break;
	}
	return NULL;
}

/* Every key of T_P/T_S in @db with version <= @upto (all: UINT64_MAX),
 * as "key=val@version\n" lines in key order. */
static char *ar_dump(struct aedb *db, uint64_t upto, size_t *len)
{
	struct aedb_kv_page *pg = NULL;
	size_t cap = 1 << 16, n = 0;
	char *out = malloc(cap);
	int more = 1;

	assert_non_null(out);
	while (more) {
		struct aedb_kv_page *next = NULL;

		t_assert_rc(aedb_kv_scan_prefix(db, T_P, T_S, "", 0, 1000, pg ? &pg->cursor : NULL,
						AEDB_LATEST, &next) >= 0, 1);
		for (uint32_t k = 0; k < next->count; k++) {
			const struct aedb_kv_entry *e = &next->entries[k];

			if (e->version > upto)
				continue;
			while (n + e->key_len + e->val_len + 64 > cap)
				assert_non_null(out = realloc(out, cap *= 2));
			n += (size_t)sprintf(out + n, "%.*s=%.*s@%llu\n", (int)e->key_len,
					     (const char *)e->key, (int)e->val_len,
					     (const char *)e->val, (unsigned long long)e->version);
		}
		more = next->truncated;
		aedb_kv_page_free(pg);
		pg = next;
	}
	aedb_kv_page_free(pg);
	*len = n;
	return out;
}

static void test_archive_hot_restore_and_damage(void **state)
{
	char *root = t_tmpdir();
	char *file = bc_fresh(root, "db.aedbarc"), *t = bc_fresh(root, "t");
	struct ar_writer w[AR_WRITERS];
	pthread_t th[AR_WRITERS];
	struct aedb_backup_result res;
	atomic_int stop = 0;
	struct aedb *db = t_open_p(3, NULL), *rdb;
	char *want, *got;
	size_t wlen, glen;
	struct stat st;
	uint64_t seq;

	(void)state;
	for (uint32_t i = 0; i < AR_WRITERS; i++) {
		w[i] = (struct ar_writer){ .db = db, .tid = i, .stop = &stop };
		assert_int_equal(pthread_create(&th[i], NULL, ar_writer_main, &w[i]), 0);
	}
	t_sleep_ms(100);
	t_assert_rc(aedb_backup_to_file(db, file, &res), 0);
	t_sleep_ms(30);
	atomic_store(&stop, 1);
	for (uint32_t i = 0; i < AR_WRITERS; i++)
		pthread_join(th[i], NULL);
	assert_int_equal(t_thread_failed(), 0);
	assert_true(res.to_seq >= res.checkpoint_seq && res.to_seq > 0);
	t_assert_rc(aedb_backup_to_file(db, file, NULL), -AEDB_EEXIST);
	/* The live instance's keys as of to_seq: newer writes are dropped,
	 * so keys rewritten later are compared on their latest version
	 * only if it is <= to_seq; restrict both sides to keys whose
	 * newest live version is <= to_seq (rewrites after it change them). */
	want = ar_dump(db, res.to_seq, &wlen);
	t_assert_rc(aedb_backup_verify_file(file), 0);
	t_assert_rc(aedb_restore_from_file(file, t, 0, &seq), 0);
	assert_int_equal(seq, res.to_seq);
	t_assert_rc(aedb_open(t, NULL, &rdb), 0);
	assert_int_equal(aedb_visible_seq(rdb), res.to_seq);
	got = ar_dump(rdb, res.to_seq, &glen);
	/* Every live key last written at or before to_seq is restored as is. */
	for (char *line = want; line < want + wlen;) {
		char *nl = memchr(line, '\n', (size_t)(want + wlen - line));

		*nl = '\0';
		if (!strstr(got, line))
			fail_msg("restored archive lacks %s", line);
		line = nl + 1;
	}
	assert_true(glen >= wlen);
	t_assert_rc(aedb_close(rdb), 0);
	free(want);
	free(got);
	t_close(db);
	t_rmrf(t);
	/* Damage: a byte in the header, an entry, the middle, the trailer;
	 * then a cut. Each is refused and writes nothing. */
	assert_int_equal(stat(file, &st), 0);
	{
		const off_t at[] = { 3, 40, st.st_size / 2, st.st_size - 10 };

		for (size_t k = 0; k < sizeof(at) / sizeof(at[0]); k++) {
			bc_flip(file, at[k]);
			t_assert_rc(aedb_backup_verify_file(file), -AEDB_ECORRUPT);
			t_assert_rc(aedb_restore_from_file(file, t, 0, NULL), -AEDB_ECORRUPT);
			assert_true(bc_missing(t));
			bc_flip(file, at[k]);
		}
	}
	t_assert_rc(aedb_backup_verify_file(file), 0);
	assert_int_equal(truncate(file, st.st_size - 1), 0);
	t_assert_rc(aedb_backup_verify_file(file), -AEDB_ECORRUPT);
	assert_int_equal(truncate(file, 100), 0);
	t_assert_rc(aedb_backup_verify_file(file), -AEDB_ECORRUPT);
	t_assert_rc(aedb_restore_from_file(file, t, 0, NULL), -AEDB_ECORRUPT);
	assert_true(bc_missing(t));
	t_assert_rc(aedb_backup_verify_file(t), -ENOENT);
	t_rmrf(root);
	free(root);
	free(file);
	free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_chain_restore_every_point),
		cmocka_unit_test(test_chain_refused),
		cmocka_unit_test(test_incremental_refused),
		cmocka_unit_test(test_incremental_pinned),
		cmocka_unit_test(test_archive_hot_restore_and_damage),
	};

	t_require_engine();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
