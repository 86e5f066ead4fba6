/* SPDX-License-Identifier: MIT */
/*
 * ckpt_bench - checkpoint figures (issue 6), not a test:
 *   write:  logical MB/s a checkpoint writes (entry bytes before lz4);
 *   load:   logical MB/s an open loads back from it;
 *   commit: commits/s of concurrent writers without and with checkpoints
 *           running back to back, and their ratio (target: >= 0.8).
 * With --recover instead: recovery of the checkpoint + WAL data set: the
 *   first half of the keys goes into a checkpoint, the second half stays in
 *   the WAL only; then the time of aedb_open() (checkpoint load + WAL
 *   replay) and MB/s over the logical bytes (issue 6: 1 GiB is
 *   --keys 1000000 --value 1024).
 * Usage: ckpt_bench [--keys N] [--value BYTES] [--shards N] [--writers N]
 *                   [--seconds S] [--dir PATH] [--recover]
 * One line per result: "bench=checkpoint metric=<name> value=<v> unit=<u>".
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "aedb.h"

struct bench_opts {
	uint64_t keys;
	uint32_t value;
	uint32_t shards;
	uint32_t writers;
	uint32_t seconds;
	int recover;
	const char *dir;
};

struct bench_writer {
	struct aedb *db;
	uint32_t id;
	uint32_t value;
	atomic_int *stop;
	uint64_t ops;
	uint64_t first, stride, count; /* load: keys first, first+stride, ... */
};

static uint64_t bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void bench_die(const char *what, int rc)
{
	fprintf(stderr, "ckpt_bench: %s: %s\n", what, aedb_strerror(rc));
	exit(rc == -ENOSYS || rc == -EPERM ? 77 : 1);
}

/* A value: half random-ish bytes, half text (lz4 gets ~1.5x, as on
 * typical rows). */
static void bench_fill(uint8_t *v, uint32_t len, uint64_t n)
{
	uint64_t x = n * 0x9E3779B97F4A7C15ull + 1;

	for (uint32_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		v[i] = i % 2 ? (uint8_t)x : (uint8_t)('a' + i % 26);
	}
}

static void *bench_load_main(void *arg)
{
	struct bench_writer *w = arg;
	uint8_t *val = malloc(w->value);
	struct aedb_txn *txn;
	char key[32];

	if (!val || aedb_txn_create(w->db, &txn) < 0)
		bench_die("load", -ENOMEM);
	for (uint64_t i = 0; i < w->count;) {
		aedb_txn_reset(txn);
		/* One key per transaction would measure the commit path; the
		 * load only has to be quick. Keys of one txn may span shards. */
		for (uint32_t k = 0; k < 64 && i < w->count; k++, i++) {
			uint64_t n = w->first + i * w->stride;
			int rc;

			snprintf(key, sizeof(key), "key%012llu", (unsigned long long)n);
			bench_fill(val, w->value, n);
			rc = aedb_txn_kv_set(txn, "bench", "app", key, strlen(key), val, w->value);
			if (rc < 0)
				bench_die("txn_kv_set", rc);
		}
		{
			int rc = aedb_commit(w->db, txn, NULL);

			if (rc < 0)
				bench_die("commit", rc);
		}
	}
	aedb_txn_free(txn);
	free(val);
	return NULL;
}

static void *bench_commit_main(void *arg)
{
	struct bench_writer *w = arg;
	uint8_t *val = malloc(w->value);
	char key[32];
	uint64_t x = w->id + 1;

	if (!val)
		bench_die("commit", -ENOMEM);
	while (!atomic_load(w->stop)) {
		int rc;

		x = x * 6364136223846793005ull + 1442695040888963407ull;
		snprintf(key, sizeof(key), "hot%08llu", (unsigned long long)((x >> 33) % 100000));
		bench_fill(val, w->value, x);
		rc = aedb_kv_set(w->db, "bench", "app", key, strlen(key), val, w->value,
				 AEDB_FINALITY_VISIBLE, NULL);
		if (rc < 0)
			bench_die("kv_set", rc);
		w->ops++;
	}
	free(val);
	return NULL;
}

struct bench_ckpt_loop {
	struct aedb *db;
	atomic_int *stop;
	uint64_t count;
};

static void *bench_ckpt_main(void *arg)
{
	struct bench_ckpt_loop *c = arg;

	while (!atomic_load(c->stop)) {
		int rc = aedb_checkpoint_now(c->db, NULL);

		if (rc < 0)
			bench_die("checkpoint", rc);
		c->count++;
	}
	return NULL;
}

/* Commits/s of o->writers writers for o->seconds, with checkpoints running
 * back to back when @with_ckpt. */
static double bench_commit_rate(struct aedb *db, const struct bench_opts *o, int with_ckpt,
				uint64_t *ckpts)
{
	struct bench_writer w[64];
	pthread_t th[64], ck;
	struct bench_ckpt_loop cl = { .db = db };
	atomic_int stop = 0;
	uint64_t t0, ops = 0;

	cl.stop = &stop;
	for (uint32_t i = 0; i < o->writers; i++) {
		w[i] = (struct bench_writer){ .db = db, .id = i, .value = o->value, .stop = &stop };
		pthread_create(&th[i], NULL, bench_commit_main, &w[i]);
	}
	if (with_ckpt)
		pthread_create(&ck, NULL, bench_ckpt_main, &cl);
	t0 = bench_now_ns();
	sleep(o->seconds);
	atomic_store(&stop, 1);
	for (uint32_t i = 0; i < o->writers; i++) {
		pthread_join(th[i], NULL);
		ops += w[i].ops;
	}
	if (with_ckpt)
		pthread_join(ck, NULL);
	*ckpts = cl.count;
	return (double)ops * 1e9 / (double)(bench_now_ns() - t0);
}

static void bench_parse(int argc, char **argv, struct bench_opts *o)
{
	*o = (struct bench_opts){ .keys = 1000000, .value = 100, .shards = 2, .writers = 2,
				  .seconds = 3 };
	for (int i = 1; i < argc; i++) {
		const char *v = i + 1 < argc ? argv[i + 1] : "0";

		if (!strcmp(argv[i], "--recover")) {
			o->recover = 1;
			continue;
		}
		if (!strcmp(argv[i], "--keys"))
			o->keys = strtoull(v, NULL, 10);
		else if (!strcmp(argv[i], "--value"))
			o->value = (uint32_t)atoi(v);
		else if (!strcmp(argv[i], "--shards"))
			o->shards = (uint32_t)atoi(v);
		else if (!strcmp(argv[i], "--writers"))
			o->writers = (uint32_t)atoi(v);
		else if (!strcmp(argv[i], "--seconds"))
			o->seconds = (uint32_t)atoi(v);
		else if (!strcmp(argv[i], "--dir"))
			o->dir = v;
		i++;
	}
	if (o->writers < 1 || o->writers > 64 || o->value < 1)
		exit(2);
}

static struct aedb *bench_open(const char *dir, const struct bench_opts *o,
			       struct aedb_open_report *rep)
{
	struct aedb_config cfg;
	struct aedb *db;
	int rc;

	aedb_config_init(&cfg);
	cfg.shards = o->shards;
	cfg.checkpoint_wal_bytes = 0; /* only the ones measured */
	cfg.max_txn_bytes = 64u << 20;
	rc = aedb_open_ex(dir, &cfg, &db, rep);
	if (rc < 0)
		bench_die("open", rc);
	return db;
}

static void bench_line(const char *metric, double v, const char *unit)
{
	printf("bench=checkpoint metric=%s value=%.3f unit=%s\n", metric, v, unit);
}

/* Keys [@from, @to) through o->writers loaders. */
static void bench_load(struct aedb *db, const struct bench_opts *o, uint64_t from, uint64_t to)
{
	struct bench_writer w[64];
	pthread_t th[64];
	uint64_t n = to - from;

	for (uint32_t i = 0; i < o->writers; i++) {
		w[i] = (struct bench_writer){ .db = db, .value = o->value, .first = from + i,
					      .stride = o->writers,
					      .count = n / o->writers + (i < n % o->writers) };
		pthread_create(&th[i], NULL, bench_load_main, &w[i]);
	}
	for (uint32_t i = 0; i < o->writers; i++)
		pthread_join(th[i], NULL);
}

/* --recover: half the keys in a checkpoint, half in the WAL, then reopen. */
static void bench_recover(struct aedb *db, const char *dir, const struct bench_opts *o)
{
	struct aedb_checkpoint_result res;
	struct aedb_open_report rep;
	uint64_t logical = o->keys * (o->value + 15ull);
	int rc;

	bench_load(db, o, 0, o->keys / 2);
	rc = aedb_checkpoint_now(db, &res);
	if (rc < 0)
		bench_die("checkpoint", rc);
	bench_load(db, o, o->keys / 2, o->keys);
	rc = aedb_close(db);
	if (rc < 0)
		bench_die("close", rc);
	db = bench_open(dir, o, &rep);
	bench_line("recover_data_mb", (double)logical / 1e6, "MB");
	bench_line("recover_ckpt_mb", (double)rep.checkpoint_bytes / 1e6, "MB");
	bench_line("recover_wal_mb", (double)rep.bytes_replayed / 1e6, "MB");
	bench_line("recover_ms", (double)rep.recovery_ns / 1e6, "ms");
	bench_line("recover_mb_s", (double)logical * 1e3 / (double)rep.recovery_ns, "MB/s");
	aedb_close(db);
}

int main(int argc, char **argv)
{
	char tmpl[] = "/tmp/aedb-ckpt-bench.XXXXXX";
	struct aedb_checkpoint_result res;
	struct aedb_open_report rep;
	struct bench_opts o;
	uint64_t n_plain, n_ckpt;
	double plain, with;
	const char *dir;
	struct aedb *db;
	int rc;

	bench_parse(argc, argv, &o);
	dir = o.dir ? o.dir : mkdtemp(tmpl);
	if (!dir)
		return 1;
	db = bench_open(dir, &o, &rep);
	rc = aedb_create_project(db, "bench");
	if (rc < 0)
		bench_die("create_project", rc);
	if (o.recover) {
		bench_recover(db, dir, &o);
		goto out;
	}
	bench_load(db, &o, 0, o.keys);
	rc = aedb_checkpoint_now(db, &res);
	if (rc < 0)
		bench_die("checkpoint", rc);
	bench_line("write_entries", (double)res.entries, "entries");
	bench_line("write_logical_mb", (double)res.logical_bytes / 1e6, "MB");
	bench_line("write_file_mb", (double)res.file_bytes / 1e6, "MB");
	bench_line("write_mb_s", (double)res.logical_bytes * 1e3 / (double)res.write_ns, "MB/s");
	bench_line("write_total_ms", (double)res.duration_ns / 1e6, "ms");
	rc = aedb_close(db);
	db = bench_open(dir, &o, &rep);
	bench_line("load_mb_s", (double)rep.checkpoint_bytes * 1e3 / (double)rep.recovery_ns,
		   "MB/s");
	bench_line("load_ms", (double)rep.recovery_ns / 1e6, "ms");
	plain = bench_commit_rate(db, &o, 0, &n_plain);
	with = bench_commit_rate(db, &o, 1, &n_ckpt);
	bench_line("commit_plain_ops_s", plain, "ops/s");
	bench_line("commit_during_ckpt_ops_s", with, "ops/s");
	bench_line("commit_ratio", with / plain, "ratio");
	bench_line("checkpoints_during", (double)n_ckpt, "count");
	aedb_close(db);
out:
	if (!o.dir) {
		char cmd[256];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			return 1;
	}
	return 0;
}
