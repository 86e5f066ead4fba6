/* SPDX-License-Identifier: MIT */
/*
 * bench_wiredtiger.c - WiredTiger (libwiredtiger-dev, wiredtiger.h) as an
 * aedb-bench peer. Built only when meson finds the package (HAVE_WIREDTIGER).
 *
 * One WT_CONNECTION per instance; every client thread opens its own
 * WT_SESSION and cursor (sessions are single-threaded). The data is one
 * row-store table "table:kv" with raw byte keys and values (key_format=u,
 * value_format=u). Logging is on. Durable runs open the connection with
 * transaction_sync=(enabled=true,method=fsync): every commit fsyncs the log
 * (concurrent commits share a log flush). Buffered runs leave it disabled:
 * the log record is written without a sync. A put is one auto-commit
 * operation; a batch is one explicit transaction. A write-write conflict
 * (WT_ROLLBACK) is retried by the harness. Cache --cache bytes, a
 * checkpoint every 60 s (as MongoDB configures it), defaults otherwise.
 */
#include "bench_backend.h"

#include <stdio.h>
#include <stdlib.h>

#include <wiredtiger.h>

static const char bench_wt_table[] = "table:kv";

struct bench_wt {
	WT_CONNECTION *conn;
};

struct bench_wt_thread {
	WT_SESSION *s;
	WT_CURSOR *c;
};

static int bench_wt_err(const char *what, int rc)
{
	if (rc == WT_ROLLBACK)
		return rc;
	return bench_peer_fail(what, wiredtiger_strerror(rc));
}

static const char *bench_wt_strerror(int err)
{
	return err == WT_ROLLBACK ? wiredtiger_strerror(err) : bench_peer_strerror(err);
}

static bool bench_wt_retryable(int err)
{
	return err == WT_ROLLBACK;
}

static const char *bench_wt_version(void)
{
	static char v[32];
	int major, minor, patch;

	wiredtiger_version(&major, &minor, &patch);
	snprintf(v, sizeof(v), "wiredtiger %d.%d.%d", major, minor, patch);
	return v;
}

static void bench_wt_settings(const struct bench_backend_opts *o, char *buf, size_t len)
{
	snprintf(buf, len, "log on, transaction_sync=(enabled=%s%s); session per thread; "
		 "cache %llu MiB; checkpoint every 60 s", o->durable_acks ? "true" : "false",
		 o->durable_acks ? ",method=fsync" : ": no sync at commit",
		 (unsigned long long)(o->cache_bytes >> 20));
}

static int bench_wt_create_table(WT_CONNECTION *conn)
{
	WT_SESSION *s;
	int rc = conn->open_session(conn, NULL, NULL, &s);

	if (rc != 0)
		return bench_wt_err("open_session", rc);
	rc = s->create(s, bench_wt_table, "key_format=u,value_format=u");
	s->close(s, NULL);
	return rc != 0 ? bench_wt_err("create table", rc) : 0;
}

static int bench_wt_open(const struct bench_backend_opts *o, void **ctxp)
{
	struct bench_wt *b = calloc(1, sizeof(*b));
	char cfg[512];
	int rc;

	if (!b)
		return bench_peer_fail("open", "out of memory");
	rc = bench_peer_mkdir(o->dir);
	if (rc < 0) {
		free(b);
		return rc;
	}
	snprintf(cfg, sizeof(cfg), "create,cache_size=%lluMB,session_max=512,"
		 "log=(enabled=true),checkpoint=(wait=60),"
		 "transaction_sync=(enabled=%s,method=fsync)",
		 (unsigned long long)(o->cache_bytes >> 20), o->durable_acks ? "true" : "false");
	rc = wiredtiger_open(o->dir, NULL, cfg, &b->conn);
	if (rc != 0) {
		free(b);
		return bench_wt_err("wiredtiger_open", rc);
	}
	rc = bench_wt_create_table(b->conn);
	if (rc < 0) {
		b->conn->close(b->conn, NULL);
		free(b);
		return rc;
	}
	*ctxp = b;
	return 0;
}

static int bench_wt_close(void *ctx)
{
	struct bench_wt *b = ctx;
	int rc = b->conn->close(b->conn, NULL);

	free(b);
	return rc != 0 ? bench_wt_err("close", rc) : 0;
}

static uint32_t bench_wt_shards(void *ctx)
{
	(void)ctx;
	return 0;
}

static int bench_wt_thread_init(void *ctx, uint32_t depth, void **tctxp)
{
	struct bench_wt *b = ctx;
	struct bench_wt_thread *t = calloc(1, sizeof(*t));
	int rc;

	(void)depth;
	if (!t)
		return bench_peer_fail("thread", "out of memory");
	rc = b->conn->open_session(b->conn, NULL, NULL, &t->s);
	if (rc != 0) {
		free(t);
		return bench_wt_err("open_session", rc);
	}
	rc = t->s->open_cursor(t->s, bench_wt_table, NULL, NULL, &t->c);
	if (rc != 0) {
		t->s->close(t->s, NULL);
		free(t);
		return bench_wt_err("open_cursor", rc);
	}
	*tctxp = t;
	return 0;
}

static int bench_wt_thread_exit(void *tctx)
{
	struct bench_wt_thread *t = tctx;
	int rc = t->s->close(t->s, NULL); /* closes the cursor too */

	free(t);
	return rc != 0 ? bench_wt_err("session close", rc) : 0;
}

static int bench_wt_insert(struct bench_wt_thread *t, const void *key, uint32_t key_len,
			   const void *val, uint32_t val_len)
{
	WT_ITEM k = { .data = key, .size = key_len }, v = { .data = val, .size = val_len };
	int rc;

	t->c->set_key(t->c, &k);
	t->c->set_value(t->c, &v);
	rc = t->c->insert(t->c);
	return rc != 0 ? bench_wt_err("insert", rc) : BENCH_OK;
}

static int bench_wt_put(void *tctx, const void *key, uint32_t key_len, const void *val,
			uint32_t val_len)
{
	return bench_wt_insert(tctx, key, key_len, val, val_len);
}

static int bench_wt_put_batch(void *tctx, const uint8_t *keys, uint32_t key_len,
			      const uint8_t *vals, uint32_t val_len, uint32_t n)
{
	struct bench_wt_thread *t = tctx;
	int rc = t->s->begin_transaction(t->s, NULL);

	if (rc != 0)
		return bench_wt_err("begin_transaction", rc);
	for (uint32_t i = 0; rc == 0 && i < n; i++)
		rc = bench_wt_insert(t, keys + (size_t)i * key_len, key_len,
				     vals + (size_t)i * val_len, val_len);
	if (rc != 0) {
		t->s->rollback_transaction(t->s, NULL);
		return rc;
	}
	rc = t->s->commit_transaction(t->s, NULL);
	return rc != 0 ? bench_wt_err("commit_transaction", rc) : BENCH_OK;
}

static int bench_wt_get(void *tctx, const void *key, uint32_t key_len, uint32_t *val_len)
{
	struct bench_wt_thread *t = tctx;
	WT_ITEM k = { .data = key, .size = key_len }, v;
	int rc;

	t->c->set_key(t->c, &k);
	rc = t->c->search(t->c);
	if (rc == 0)
		rc = t->c->get_value(t->c, &v);
	if (rc == 0)
		*val_len = (uint32_t)v.size;
	t->c->reset(t->c);
	if (rc == WT_NOTFOUND)
		return BENCH_NOTFOUND;
	return rc != 0 ? bench_wt_err("search", rc) : BENCH_OK;
}

static int bench_wt_scan(void *tctx, const void *start, uint32_t key_len, uint32_t limit,
			 uint32_t *rows)
{
	struct bench_wt_thread *t = tctx;
	WT_ITEM k = { .data = start, .size = key_len }, v;
	uint32_t n = 0;
	int exact = 0, rc;

	t->c->set_key(t->c, &k);
	rc = t->c->search_near(t->c, &exact);
	if (rc == 0 && exact < 0)
		rc = t->c->next(t->c);
	while (rc == 0) {
		rc = t->c->get_key(t->c, &k);
		if (rc == 0)
			rc = t->c->get_value(t->c, &v);
		if (rc != 0 || ++n == limit)
			break;
		rc = t->c->next(t->c);
	}
	t->c->reset(t->c);
	if (rc != 0 && rc != WT_NOTFOUND)
		return bench_wt_err("scan", rc);
	*rows = n;
	return BENCH_OK;
}

const struct bench_backend bench_backend_wiredtiger = {
	.name = "wiredtiger",
	.version = bench_wt_version,
	.strerror = bench_wt_strerror,
	.retryable = bench_wt_retryable,
	.unavailable = bench_peer_no,
	.open = bench_wt_open,
	.close = bench_wt_close,
	.shards = bench_wt_shards,
	.thread_init = bench_wt_thread_init,
	.thread_exit = bench_wt_thread_exit,
	.put = bench_wt_put,
	.get = bench_wt_get,
	.settings = bench_wt_settings,
	.scan = bench_wt_scan,
	.put_batch = bench_wt_put_batch,
};
