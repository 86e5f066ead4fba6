/* SPDX-License-Identifier: MIT */
/*
 * bench_recover.c - workload "recover" for engines without a recover hook of
 * their own (the peers; aedb has bench_aedb_recover()).
 *
 * The parent forks a child that re-executes this program (/proc/self/exe
 * --recover-child ...), so the child starts with no engine state inherited
 * across fork(): RocksDB, for one, keeps background threads after a close
 * that a forked child would not have. The child opens the engine in the
 * given directory with durable commits, writes --keys records (16 B keys of
 * indexes 0.., incompressible values) in transactions of BENCH_BATCH, and
 * SIGKILLs itself once the last one is acknowledged: every record is
 * durable, nothing was closed cleanly. The parent then times the reopen:
 * from the backend's open() until a get of the first record returns (SQLite
 * only rebuilds its WAL index on the first read; the others recover inside
 * open()), and afterwards checks that the last record is there too.
 */
#include "bench.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define BENCH_RECOVER_KEY 16u

/* Incompressible value bytes for record @n. */
static void bench_recover_fill(uint8_t *val, uint32_t len, uint64_t n)
{
	uint64_t x = bench_mix64(n + 1);

	for (uint32_t i = 0; i < len; i++) {
		if (i % 8 == 0)
			x = bench_mix64(x);
		val[i] = (uint8_t)(x >> (8 * (i % 8)));
	}
}

static int bench_recover_ingest(const struct bench_backend *be, void *t, uint64_t records,
				uint32_t value_bytes)
{
	uint8_t *keys = malloc((size_t)BENCH_BATCH * BENCH_RECOVER_KEY);
	uint8_t *vals = malloc((size_t)BENCH_BATCH * (value_bytes ? value_bytes : 1));
	uint64_t next = 0;
	uint32_t n;
	int rc = 0;

	if (!keys || !vals)
		rc = -ENOMEM;
	while (rc >= 0 && next < records) {
		n = records - next < BENCH_BATCH ? (uint32_t)(records - next) : BENCH_BATCH;
		for (uint32_t i = 0; i < n; i++, next++) {
			bench_key_encode(keys + (size_t)i * BENCH_RECOVER_KEY, BENCH_RECOVER_KEY,
					 next);
			bench_recover_fill(vals + (size_t)i * value_bytes, value_bytes, next);
		}
		do
			rc = be->put_batch(t, keys, BENCH_RECOVER_KEY, vals, value_bytes, n);
		while (rc < 0 && be->retryable(rc));
	}
	if (rc < 0)
		fprintf(stderr, "aedb-bench: recover child: %s: %s\n", be->name, be->strerror(rc));
	free(keys);
	free(vals);
	return rc;
}

/* argv: prog --recover-child BACKEND DIR RECORDS VALUE_BYTES CACHE_BYTES */
void bench_recover_child(int argc, char **argv)
{
	const struct bench_backend *be = argc == 7 ? bench_backend_find(argv[2]) : NULL;
	struct bench_backend_opts bo = { .key_bytes = BENCH_RECOVER_KEY, .durable_acks = true };
	uint64_t records;
	void *ctx, *t;

	if (!be || !be->put_batch) {
		fprintf(stderr, "aedb-bench: --recover-child: bad arguments\n");
		_exit(2);
	}
	bo.dir = argv[3];
	records = strtoull(argv[4], NULL, 10);
	bo.value_bytes = (uint32_t)strtoul(argv[5], NULL, 10);
	bo.cache_bytes = strtoull(argv[6], NULL, 10);
	if (be->open(&bo, &ctx) < 0 || be->thread_init(ctx, 0, &t) < 0) {
		fprintf(stderr, "aedb-bench: recover child: cannot open %s: %s\n", be->name,
			be->strerror(BENCH_EENGINE));
		_exit(3);
	}
	if (bench_recover_ingest(be, t, records, bo.value_bytes) < 0)
		_exit(4);
	kill(getpid(), SIGKILL);
	_exit(5);
}

static int bench_recover_spawn(const struct bench_backend *be,
			       const struct bench_backend_opts *bo, uint64_t records)
{
	char recs[32], vals[16], cache[32];
	int status = 0;
	pid_t pid;

	snprintf(recs, sizeof(recs), "%" PRIu64, records);
	snprintf(vals, sizeof(vals), "%u", bo->value_bytes);
	snprintf(cache, sizeof(cache), "%" PRIu64, bo->cache_bytes);
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		execl("/proc/self/exe", "aedb-bench", "--recover-child", be->name, bo->dir, recs,
		      vals, cache, (char *)NULL);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFSIGNALED(status) ||
	    WTERMSIG(status) != SIGKILL) {
		fprintf(stderr, "aedb-bench: recover: %s ingest child failed (status %d)\n",
			be->name, status);
		return -EIO;
	}
	return 0;
}

/* A get of record @idx on the reopened instance: BENCH_OK or an error. */
static int bench_recover_check(const struct bench_backend *be, void *t, uint64_t idx,
			       uint32_t value_bytes)
{
	uint8_t key[BENCH_RECOVER_KEY];
	uint32_t len = 0;
	int rc;

	bench_key_encode(key, sizeof(key), idx);
	rc = be->get(t, key, sizeof(key), &len);
	if (rc == BENCH_OK && len != value_bytes)
		rc = -EIO;
	if (rc != BENCH_OK)
		fprintf(stderr, "aedb-bench: recover: %s lost record %" PRIu64 " (%s)\n",
			be->name, idx, rc == BENCH_NOTFOUND ? "absent" : "bad value or error");
	return rc == BENCH_NOTFOUND ? -EIO : rc;
}

int bench_recover_generic(const struct bench_backend *be, const struct bench_backend_opts *bo,
			  uint64_t records, struct bench_recovery *out)
{
	struct bench_backend_opts o = *bo;
	void *ctx = NULL, *t = NULL;
	uint64_t t0;
	int rc, rc2;

	o.key_bytes = BENCH_RECOVER_KEY;
	rc = bench_recover_spawn(be, &o, records);
	if (rc < 0)
		return rc;
	t0 = bench_now_ns();
	rc = be->open(&o, &ctx);
	if (rc < 0)
		return rc;
	rc = be->thread_init(ctx, 0, &t);
	if (rc == 0)
		rc = bench_recover_check(be, t, 0, o.value_bytes);
	out->seconds = (double)(bench_now_ns() - t0) / 1e9;
	out->records = records;
	if (rc == 0 && records > 1)
		rc = bench_recover_check(be, t, records - 1, o.value_bytes);
	if (t) {
		rc2 = be->thread_exit(t);
		rc = rc < 0 ? rc : rc2;
	}
	rc2 = be->close(ctx);
	return rc < 0 ? rc : rc2;
}
