/* SPDX-License-Identifier: MIT */
/*
 * bench_leveldb.c - LevelDB (libleveldb-dev, C API leveldb/c.h) as an
 * aedb-bench peer. Built only when meson finds the library (HAVE_LEVELDB).
 *
 * One leveldb_t per instance, shared by every client thread (LevelDB is
 * thread-safe; concurrent writers are merged into one log write, its group
 * commit). The log is always written. Durable runs write with sync=1 (the
 * log is fsynced before the write returns); buffered runs with sync=0 (the
 * log write reaches the OS, no fsync). Options are LevelDB's defaults except
 * an LRU block cache of --cache bytes. A get returns a malloc'd copy of the
 * value (LevelDB's C API has no pinned read); scans use a fresh iterator.
 */
#include "bench_backend.h"

#include <stdio.h>
#include <stdlib.h>

#include <leveldb/c.h>

struct bench_ldb {
	leveldb_t *db;
	leveldb_options_t *opts;
	leveldb_cache_t *cache;
	leveldb_writeoptions_t *wo;
	leveldb_readoptions_t *ro;
};

struct bench_ldb_thread {
	struct bench_ldb *b;
	leveldb_writebatch_t *batch;
};

static int bench_ldb_err(const char *what, char *err)
{
	int rc = bench_peer_fail(what, err);

	leveldb_free(err);
	return rc;
}

static const char *bench_ldb_version(void)
{
	static char v[32];

	snprintf(v, sizeof(v), "leveldb %d.%d", leveldb_major_version(),
		 leveldb_minor_version());
	return v;
}

static void bench_ldb_settings(const struct bench_backend_opts *o, char *buf, size_t len)
{
	snprintf(buf, len, "log on, sync=%d per write (%s); block cache %llu MiB; "
		 "other options default", o->durable_acks ? 1 : 0,
		 o->durable_acks ? "fsync per commit, group commit" : "no fsync",
		 (unsigned long long)(o->cache_bytes >> 20));
}

static void bench_ldb_free(struct bench_ldb *b)
{
	if (b->db)
		leveldb_close(b->db);
	if (b->wo)
		leveldb_writeoptions_destroy(b->wo);
	if (b->ro)
		leveldb_readoptions_destroy(b->ro);
	if (b->opts)
		leveldb_options_destroy(b->opts);
	if (b->cache)
		leveldb_cache_destroy(b->cache);
	free(b);
}

static int bench_ldb_open(const struct bench_backend_opts *o, void **ctxp)
{
	struct bench_ldb *b = calloc(1, sizeof(*b));
	char *err = NULL;

	if (!b)
		return bench_peer_fail("open", "out of memory");
	b->opts = leveldb_options_create();
	b->cache = leveldb_cache_create_lru(o->cache_bytes);
	b->wo = leveldb_writeoptions_create();
	b->ro = leveldb_readoptions_create();
	leveldb_options_set_cache(b->opts, b->cache);
	leveldb_options_set_create_if_missing(b->opts, 1);
	leveldb_writeoptions_set_sync(b->wo, o->durable_acks ? 1 : 0);
	b->db = leveldb_open(b->opts, o->dir, &err);
	if (err) {
		bench_ldb_free(b);
		return bench_ldb_err("leveldb_open", err);
	}
	*ctxp = b;
	return 0;
}

static int bench_ldb_close(void *ctx)
{
	bench_ldb_free(ctx);
	return 0;
}

static uint32_t bench_ldb_shards(void *ctx)
{
	(void)ctx;
	return 0;
}

static int bench_ldb_thread_init(void *ctx, uint32_t depth, void **tctxp)
{
	struct bench_ldb_thread *t = calloc(1, sizeof(*t));

	(void)depth;
	if (!t)
		return bench_peer_fail("thread", "out of memory");
	t->b = ctx;
	t->batch = leveldb_writebatch_create();
	*tctxp = t;
	return 0;
}

static int bench_ldb_thread_exit(void *tctx)
{
	struct bench_ldb_thread *t = tctx;

	leveldb_writebatch_destroy(t->batch);
	free(t);
	return 0;
}

static int bench_ldb_put(void *tctx, const void *key, uint32_t key_len, const void *val,
			 uint32_t val_len)
{
	struct bench_ldb_thread *t = tctx;
	char *err = NULL;

	leveldb_put(t->b->db, t->b->wo, key, key_len, val, val_len, &err);
	return err ? bench_ldb_err("leveldb_put", err) : BENCH_OK;
}

static int bench_ldb_get(void *tctx, const void *key, uint32_t key_len, uint32_t *val_len)
{
	struct bench_ldb_thread *t = tctx;
	char *err = NULL, *val;
	size_t len = 0;

	val = leveldb_get(t->b->db, t->b->ro, key, key_len, &len, &err);
	if (err)
		return bench_ldb_err("leveldb_get", err);
	if (!val)
		return BENCH_NOTFOUND;
	leveldb_free(val);
	*val_len = (uint32_t)len;
	return BENCH_OK;
}

static int bench_ldb_scan(void *tctx, const void *start, uint32_t key_len, uint32_t limit,
			  uint32_t *rows)
{
	struct bench_ldb_thread *t = tctx;
	leveldb_iterator_t *it = leveldb_create_iterator(t->b->db, t->b->ro);
	size_t klen, vlen;
	uint32_t n = 0;
	char *err = NULL;

	leveldb_iter_seek(it, start, key_len);
	while (n < limit && leveldb_iter_valid(it)) {
		leveldb_iter_key(it, &klen);
		leveldb_iter_value(it, &vlen);
		if (++n < limit)
			leveldb_iter_next(it);
	}
	leveldb_iter_get_error(it, &err);
	leveldb_iter_destroy(it);
	if (err)
		return bench_ldb_err("leveldb iterator", err);
	*rows = n;
	return BENCH_OK;
}

static int bench_ldb_put_batch(void *tctx, const uint8_t *keys, uint32_t key_len,
			       const uint8_t *vals, uint32_t val_len, uint32_t n)
{
	struct bench_ldb_thread *t = tctx;
	char *err = NULL;

	leveldb_writebatch_clear(t->batch);
	for (uint32_t i = 0; i < n; i++)
		leveldb_writebatch_put(t->batch, (const char *)keys + (size_t)i * key_len,
				       key_len, (const char *)vals + (size_t)i * val_len,
				       val_len);
	leveldb_write(t->b->db, t->b->wo, t->batch, &err);
	return err ? bench_ldb_err("leveldb_write", err) : BENCH_OK;
}

const struct bench_backend bench_backend_leveldb = {
	.name = "leveldb",
	.version = bench_ldb_version,
	.strerror = bench_peer_strerror,
	.retryable = bench_peer_no,
	.unavailable = bench_peer_no,
	.open = bench_ldb_open,
	.close = bench_ldb_close,
	.shards = bench_ldb_shards,
	.thread_init = bench_ldb_thread_init,
	.thread_exit = bench_ldb_thread_exit,
	.put = bench_ldb_put,
	.get = bench_ldb_get,
	.settings = bench_ldb_settings,
	.scan = bench_ldb_scan,
	.put_batch = bench_ldb_put_batch,
};
