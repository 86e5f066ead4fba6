/* SPDX-License-Identifier: MIT */
/*
 * bench_lmdb.c - LMDB (liblmdb-dev, lmdb.h) as an aedb-bench peer. Built
 * only when meson finds the package (HAVE_LMDB).
 *
 * One MDB_env per instance, shared by every client thread. Each put is its
 * own write transaction; LMDB lets one write transaction run at a time and
 * makes the others wait on its writer lock, so many client threads simply
 * queue (there is no group commit). Durable runs keep LMDB's default env
 * flags: mdb_txn_commit() fsyncs the data and then the meta page. Buffered
 * runs open the env with MDB_NOSYNC: commits reach the page cache only.
 * Reads run in a read-only transaction that each client thread keeps and
 * renews per operation (mdb_txn_reset / mdb_txn_renew, as LMDB recommends);
 * MDB_NOTLS ties read slots to those transactions rather than to threads,
 * so a thread may hold its (reset) read transaction while it writes.
 * There is nothing to recover after a crash: the reopen only maps the file.
 */
#include "bench_backend.h"

#include <stdio.h>
#include <stdlib.h>

#include <lmdb.h>

#define BENCH_LMDB_MAP_BYTES (UINT64_C(32) << 30) /* address space, not disk */
#define BENCH_LMDB_READERS 512u

struct bench_lmdb {
	MDB_env *env;
	MDB_dbi dbi;
};

struct bench_lmdb_thread {
	struct bench_lmdb *b;
	MDB_txn *rtxn;  /* reset between reads */
};

static int bench_lmdb_err(const char *what, int rc)
{
	return bench_peer_fail(what, mdb_strerror(rc));
}

static const char *bench_lmdb_version(void)
{
	static char v[32];
	int major, minor, patch;

	mdb_version(&major, &minor, &patch);
	snprintf(v, sizeof(v), "lmdb %d.%d.%d", major, minor, patch);
	return v;
}

static void bench_lmdb_settings(const struct bench_backend_opts *o, char *buf, size_t len)
{
	snprintf(buf, len, "one write txn per put, writers serialised by LMDB; %s; "
		 "MDB_NOTLS; map %llu GiB", o->durable_acks ?
		 "default env flags (commit fsyncs data + meta)" : "MDB_NOSYNC (no fsync)",
		 (unsigned long long)(BENCH_LMDB_MAP_BYTES >> 30));
}

static int bench_lmdb_open_dbi(struct bench_lmdb *b)
{
	MDB_txn *txn;
	int rc = mdb_txn_begin(b->env, NULL, 0, &txn);

	if (rc != 0)
		return bench_lmdb_err("mdb_txn_begin", rc);
	rc = mdb_dbi_open(txn, NULL, 0, &b->dbi);
	if (rc != 0) {
		mdb_txn_abort(txn);
		return bench_lmdb_err("mdb_dbi_open", rc);
	}
	rc = mdb_txn_commit(txn);
	return rc != 0 ? bench_lmdb_err("mdb_txn_commit", rc) : 0;
}

static int bench_lmdb_open(const struct bench_backend_opts *o, void **ctxp)
{
	struct bench_lmdb *b = calloc(1, sizeof(*b));
	unsigned flags = MDB_NOTLS | (o->durable_acks ? 0u : (unsigned)MDB_NOSYNC);
	int rc;

	if (!b)
		return bench_peer_fail("open", "out of memory");
	rc = bench_peer_mkdir(o->dir);
	if (rc < 0) {
		free(b);
		return rc;
	}
	rc = mdb_env_create(&b->env);
	if (rc == 0)
		rc = mdb_env_set_mapsize(b->env, (size_t)BENCH_LMDB_MAP_BYTES);
	if (rc == 0)
		rc = mdb_env_set_maxreaders(b->env, BENCH_LMDB_READERS);
	if (rc == 0)
		rc = mdb_env_open(b->env, o->dir, flags, 0644);
	if (rc != 0) {
		rc = bench_lmdb_err("mdb_env_open", rc);
		goto fail;
	}
	rc = bench_lmdb_open_dbi(b);
	if (rc < 0)
		goto fail;
	*ctxp = b;
	return 0;
fail:
	if (b->env)
		mdb_env_close(b->env);
	free(b);
	return rc;
}

static int bench_lmdb_close(void *ctx)
{
	struct bench_lmdb *b = ctx;

	mdb_env_close(b->env);
	free(b);
	return 0;
}

static uint32_t bench_lmdb_shards(void *ctx)
{
	(void)ctx;
	return 0;
}

static int bench_lmdb_thread_init(void *ctx, uint32_t depth, void **tctxp)
{
	struct bench_lmdb_thread *t = calloc(1, sizeof(*t));
	int rc;

	(void)depth;
	if (!t)
		return bench_peer_fail("thread", "out of memory");
	t->b = ctx;
	rc = mdb_txn_begin(t->b->env, NULL, MDB_RDONLY, &t->rtxn);
	if (rc != 0) {
		free(t);
		return bench_lmdb_err("mdb_txn_begin(RDONLY)", rc);
	}
	mdb_txn_reset(t->rtxn);
	*tctxp = t;
	return 0;
}

static int bench_lmdb_thread_exit(void *tctx)
{
	struct bench_lmdb_thread *t = tctx;

	mdb_txn_abort(t->rtxn);
	free(t);
	return 0;
}

/* One write transaction holding @n puts. */
static int bench_lmdb_write(struct bench_lmdb *b, const uint8_t *keys, uint32_t key_len,
			    const uint8_t *vals, uint32_t val_len, uint32_t n)
{
	MDB_txn *txn;
	MDB_val k = { .mv_size = key_len }, v = { .mv_size = val_len };
	int rc = mdb_txn_begin(b->env, NULL, 0, &txn);

	if (rc != 0)
		return bench_lmdb_err("mdb_txn_begin", rc);
	for (uint32_t i = 0; i < n; i++) {
		k.mv_data = (void *)(keys + (size_t)i * key_len);
		v.mv_data = (void *)(vals + (size_t)i * val_len);
		rc = mdb_put(txn, b->dbi, &k, &v, 0);
		if (rc != 0) {
			mdb_txn_abort(txn);
			return bench_lmdb_err("mdb_put", rc);
		}
	}
	rc = mdb_txn_commit(txn);
	return rc != 0 ? bench_lmdb_err("mdb_txn_commit", rc) : BENCH_OK;
}

static int bench_lmdb_put(void *tctx, const void *key, uint32_t key_len, const void *val,
			  uint32_t val_len)
{
	struct bench_lmdb_thread *t = tctx;

	return bench_lmdb_write(t->b, key, key_len, val, val_len, 1);
}

static int bench_lmdb_put_batch(void *tctx, const uint8_t *keys, uint32_t key_len,
				const uint8_t *vals, uint32_t val_len, uint32_t n)
{
	struct bench_lmdb_thread *t = tctx;

	return bench_lmdb_write(t->b, keys, key_len, vals, val_len, n);
}

static int bench_lmdb_get(void *tctx, const void *key, uint32_t key_len, uint32_t *val_len)
{
	struct bench_lmdb_thread *t = tctx;
	MDB_val k = { .mv_size = key_len, .mv_data = (void *)key }, v;
	int rc = mdb_txn_renew(t->rtxn);

	if (rc != 0)
		return bench_lmdb_err("mdb_txn_renew", rc);
	rc = mdb_get(t->rtxn, t->b->dbi, &k, &v);
	mdb_txn_reset(t->rtxn);
	if (rc == MDB_NOTFOUND)
		return BENCH_NOTFOUND;
	if (rc != 0)
		return bench_lmdb_err("mdb_get", rc);
	*val_len = (uint32_t)v.mv_size;
	return BENCH_OK;
}

static int bench_lmdb_scan(void *tctx, const void *start, uint32_t key_len, uint32_t limit,
			   uint32_t *rows)
{
	struct bench_lmdb_thread *t = tctx;
	MDB_val k = { .mv_size = key_len, .mv_data = (void *)start }, v;
	MDB_cursor *cur;
	uint32_t n = 0;
	int rc = mdb_txn_renew(t->rtxn);

	if (rc != 0)
		return bench_lmdb_err("mdb_txn_renew", rc);
	rc = mdb_cursor_open(t->rtxn, t->b->dbi, &cur);
	if (rc != 0) {
		mdb_txn_reset(t->rtxn);
		return bench_lmdb_err("mdb_cursor_open", rc);
	}
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0 && ++n < limit;)
		rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	mdb_cursor_close(cur);
	mdb_txn_reset(t->rtxn);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return bench_lmdb_err("mdb_cursor_get", rc);
	*rows = n;
	return BENCH_OK;
}

const struct bench_backend bench_backend_lmdb = {
	.name = "lmdb",
	.version = bench_lmdb_version,
	.strerror = bench_peer_strerror,
	.retryable = bench_peer_no,
	.unavailable = bench_peer_no,
	.open = bench_lmdb_open,
	.close = bench_lmdb_close,
	.shards = bench_lmdb_shards,
	.thread_init = bench_lmdb_thread_init,
	.thread_exit = bench_lmdb_thread_exit,
	.put = bench_lmdb_put,
	.get = bench_lmdb_get,
	.settings = bench_lmdb_settings,
	.scan = bench_lmdb_scan,
	.put_batch = bench_lmdb_put_batch,
};
