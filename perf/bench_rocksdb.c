/* SPDX-License-Identifier: MIT */
/*
 * bench_rocksdb.c - RocksDB (librocksdb-dev, C API rocksdb/c.h) as an
 * aedb-bench peer. Built only when meson finds the package (HAVE_ROCKSDB).
 *
 * One rocksdb_t per instance, shared by every client thread (RocksDB is
 * thread-safe; concurrent writers join one write group, which is its group
 * commit). The WAL is always on. Durable runs write with sync=1 (the WAL is
 * fsynced before the write returns); buffered runs with sync=0 (the WAL
 * write reaches the OS, no fsync). Options are RocksDB's defaults except a
 * block cache of --cache bytes, so a 1M-key keyspace is served from memory
 * as aedb's is. Scans use a fresh iterator each (an iterator pins a
 * snapshot); batches are a rocksdb_writebatch_t per thread.
 */
#include "bench_backend.h"

#include <stdio.h>
#include <stdlib.h>

#include <rocksdb/c.h>

struct bench_rdb {
	rocksdb_t *db;
	rocksdb_options_t *opts;
	rocksdb_block_based_table_options_t *table;
	rocksdb_cache_t *cache;
	rocksdb_writeoptions_t *wo;
	rocksdb_readoptions_t *ro;
};

struct bench_rdb_thread {
	struct bench_rdb *b;
	rocksdb_writebatch_t *batch;
};

/* Take RocksDB's error string (malloc'd by RocksDB) into our message. */
static int bench_rdb_err(const char *what, char *err)
{
	int rc = bench_peer_fail(what, err);

	rocksdb_free(err);
	return rc;
}

static const char *bench_rdb_version(void)
{
	return "rocksdb " BENCH_ROCKSDB_PC_VERSION;
}

static void bench_rdb_settings(const struct bench_backend_opts *o, char *buf, size_t len)
{
	snprintf(buf, len, "WAL on, sync=%d per write (%s); block cache %llu MiB; "
		 "other options default", o->durable_acks ? 1 : 0,
		 o->durable_acks ? "fsync per commit, group commit" : "no fsync",
		 (unsigned long long)(o->cache_bytes >> 20));
}

static void bench_rdb_free(struct bench_rdb *b)
{
	if (b->db)
		rocksdb_close(b->db);
	if (b->wo)
		rocksdb_writeoptions_destroy(b->wo);
	if (b->ro)
		rocksdb_readoptions_destroy(b->ro);
	if (b->opts)
		rocksdb_options_destroy(b->opts);
	if (b->table)
		rocksdb_block_based_options_destroy(b->table);
	if (b->cache)
		rocksdb_cache_destroy(b->cache);
	free(b);
}

static int bench_rdb_open(const struct bench_backend_opts *o, void **ctxp)
{
	struct bench_rdb *b = calloc(1, sizeof(*b));
	char *err = NULL;

	if (!b)
		return bench_peer_fail("open", "out of memory");
	b->opts = rocksdb_options_create();
	b->table = rocksdb_block_based_options_create();
	b->cache = rocksdb_cache_create_lru(o->cache_bytes);
	b->wo = rocksdb_writeoptions_create();
	b->ro = rocksdb_readoptions_create();
	rocksdb_block_based_options_set_block_cache(b->table, b->cache);
	rocksdb_options_set_block_based_table_factory(b->opts, b->table);
	rocksdb_options_set_create_if_missing(b->opts, 1);
	rocksdb_writeoptions_set_sync(b->wo, o->durable_acks ? 1 : 0);
	rocksdb_writeoptions_disable_WAL(b->wo, 0);
	b->db = rocksdb_open(b->opts, o->dir, &err);
	if (err) {
		bench_rdb_free(b);
		return bench_rdb_err("rocksdb_open", err);
	}
	*ctxp = b;
	return 0;
}

static int bench_rdb_close(void *ctx)
{
	bench_rdb_free(ctx);
	return 0;
}

static uint32_t bench_rdb_shards(void *ctx)
{
	(void)ctx;
	return 0;
}

static int bench_rdb_thread_init(void *ctx, uint32_t depth, void **tctxp)
{
	struct bench_rdb_thread *t = calloc(1, sizeof(*t));

	(void)depth;
	if (!t)
		return bench_peer_fail("thread", "out of memory");
	t->b = ctx;
	t->batch = rocksdb_writebatch_create();
	*tctxp = t;
	return 0;
}

static int bench_rdb_thread_exit(void *tctx)
{
	struct bench_rdb_thread *t = tctx;

	rocksdb_writebatch_destroy(t->batch);
	free(t);
	return 0;
}

static int bench_rdb_put(void *tctx, const void *key, uint32_t key_len, const void *val,
			 uint32_t val_len)
{
	struct bench_rdb_thread *t = tctx;
	char *err = NULL;

	rocksdb_put(t->b->db, t->b->wo, key, key_len, val, val_len, &err);
	return err ? bench_rdb_err("rocksdb_put", err) : BENCH_OK;
}

static int bench_rdb_get(void *tctx, const void *key, uint32_t key_len, uint32_t *val_len)
{
	struct bench_rdb_thread *t = tctx;
	rocksdb_pinnableslice_t *ps;
	char *err = NULL;
	size_t len = 0;

	ps = rocksdb_get_pinned(t->b->db, t->b->ro, key, key_len, &err);
	if (err)
		return bench_rdb_err("rocksdb_get_pinned", err);
	if (!ps)
		return BENCH_NOTFOUND;
	rocksdb_pinnableslice_value(ps, &len);
	rocksdb_pinnableslice_destroy(ps);
	*val_len = (uint32_t)len;
	return BENCH_OK;
}

static int bench_rdb_scan(void *tctx, const void *start, uint32_t key_len, uint32_t limit,
			  uint32_t *rows)
{
	struct bench_rdb_thread *t = tctx;
	rocksdb_iterator_t *it = rocksdb_create_iterator(t->b->db, t->b->ro);
	size_t klen, vlen;
	uint32_t n = 0;
	char *err = NULL;

	rocksdb_iter_seek(it, start, key_len);
	while (n < limit && rocksdb_iter_valid(it)) {
		rocksdb_iter_key(it, &klen);
		rocksdb_iter_value(it, &vlen);
		if (++n < limit)
			rocksdb_iter_next(it);
	}
	rocksdb_iter_get_error(it, &err);
	rocksdb_iter_destroy(it);
	if (err)
		return bench_rdb_err("rocksdb iterator", err);
	*rows = n;
	return BENCH_OK;
}

static int bench_rdb_put_batch(void *tctx, const uint8_t *keys, uint32_t key_len,
			       const uint8_t *vals, uint32_t val_len, uint32_t n)
{
	struct bench_rdb_thread *t = tctx;
	char *err = NULL;

	rocksdb_writebatch_clear(t->batch);
	for (uint32_t i = 0; i < n; i++)
		rocksdb_writebatch_put(t->batch, (const char *)keys + (size_t)i * key_len,
				       key_len, (const char *)vals + (size_t)i * val_len,
				       val_len);
	rocksdb_write(t->b->db, t->b->wo, t->batch, &err);
	return err ? bench_rdb_err("rocksdb_write", err) : BENCH_OK;
}

const struct bench_backend bench_backend_rocksdb = {
	.name = "rocksdb",
	.version = bench_rdb_version,
	.strerror = bench_peer_strerror,
	.retryable = bench_peer_no,
	.unavailable = bench_peer_no,
	.open = bench_rdb_open,
	.close = bench_rdb_close,
	.shards = bench_rdb_shards,
	.thread_init = bench_rdb_thread_init,
	.thread_exit = bench_rdb_thread_exit,
	.put = bench_rdb_put,
	.get = bench_rdb_get,
	.settings = bench_rdb_settings,
	.scan = bench_rdb_scan,
	.put_batch = bench_rdb_put_batch,
};
