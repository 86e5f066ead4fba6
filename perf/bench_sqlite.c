/* SPDX-License-Identifier: MIT */
/*
 * bench_sqlite.c - SQLite (libsqlite3-dev, sqlite3.h) as an aedb-bench peer.
 * Built only when meson finds the package (HAVE_SQLITE).
 *
 * The data is one table, kv(k BLOB PRIMARY KEY, v BLOB) WITHOUT ROWID (a
 * single B-tree keyed by k), in WAL mode. Every client thread opens its own
 * connection (SQLITE_OPEN_NOMUTEX: a connection is used by one thread only)
 * with its own prepared statements. SQLite admits one writer at a time;
 * rather than let writers collide and sleep in SQLite's busy handler, the
 * backend queues them on a process mutex (as LMDB does internally); readers
 * take no lock. Each put is one autocommit transaction, INSERT OR REPLACE.
 * Durable runs use synchronous=FULL (WAL mode: the WAL is fsynced at every
 * commit); buffered runs synchronous=OFF (no fsync). Reads go through a
 * shared memory map of --cache bytes (mmap_size) over a 64 MiB page cache
 * per connection. Default WAL autocheckpoint (1000 pages). Memory statistics
 * are off (SQLITE_CONFIG_MEMSTATUS 0), so allocations take no global mutex.
 */
#include "bench_backend.h"

#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include <sqlite3.h>

#define BENCH_SQLITE_CACHE_KIB 65536

struct bench_sqlite {
	char path[PATH_MAX];
	sqlite3 *db;             /* made the schema; kept open while the instance is */
	pthread_mutex_t wlock;   /* one writer at a time */
	bool durable;
	uint64_t mmap_bytes;
};

struct bench_sqlite_thread {
	struct bench_sqlite *b;
	sqlite3 *db;
	sqlite3_stmt *put;
	sqlite3_stmt *get;
	sqlite3_stmt *scan;
	sqlite3_stmt *begin;
	sqlite3_stmt *commit;
};

static const char bench_sqlite_schema[] =
	"PRAGMA journal_mode=WAL;"
	"CREATE TABLE IF NOT EXISTS kv(k BLOB PRIMARY KEY, v BLOB) WITHOUT ROWID;";

static int bench_sqlite_err(const char *what, sqlite3 *db, int rc)
{
	return bench_peer_fail(what, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
}

static const char *bench_sqlite_version(void)
{
	static char v[32];

	snprintf(v, sizeof(v), "sqlite %s", sqlite3_libversion());
	return v;
}

static void bench_sqlite_settings(const struct bench_backend_opts *o, char *buf, size_t len)
{
	snprintf(buf, len, "WAL mode, synchronous=%s; table WITHOUT ROWID; connection "
		 "per thread, writers queued on a mutex; mmap %llu MiB, cache %d MiB/conn; "
		 "MEMSTATUS off",
		 o->durable_acks ? "FULL (WAL fsync per commit)" : "OFF (no fsync)",
		 (unsigned long long)(o->cache_bytes >> 20), BENCH_SQLITE_CACHE_KIB / 1024);
}

/* A connection with this instance's per-connection settings. */
static int bench_sqlite_connect(struct bench_sqlite *b, sqlite3 **dbp)
{
	char sql[256];
	sqlite3 *db = NULL;
	int rc = sqlite3_open_v2(b->path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
				 SQLITE_OPEN_NOMUTEX, NULL);

	if (rc != SQLITE_OK) {
		rc = bench_sqlite_err("sqlite3_open_v2", db, rc);
		sqlite3_close(db);
		return rc;
	}
	sqlite3_busy_timeout(db, 10000);
	snprintf(sql, sizeof(sql), "PRAGMA synchronous=%s; PRAGMA cache_size=-%d; "
		 "PRAGMA mmap_size=%llu;", b->durable ? "FULL" : "OFF",
		 BENCH_SQLITE_CACHE_KIB, (unsigned long long)b->mmap_bytes);
	rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		rc = bench_sqlite_err("pragmas", db, rc);
		sqlite3_close(db);
		return rc;
	}
	*dbp = db;
	return 0;
}

/* Before SQLite initialises: no global memory statistics, whose mutex every
 * allocation would otherwise take (SQLite's advice for multithreaded use). */
static void bench_sqlite_setup(void)
{
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

static int bench_sqlite_open(const struct bench_backend_opts *o, void **ctxp)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	struct bench_sqlite *b = calloc(1, sizeof(*b));
	int rc;

	pthread_once(&once, bench_sqlite_setup);
	if (!b)
		return bench_peer_fail("open", "out of memory");
	rc = bench_peer_mkdir(o->dir);
	if (rc < 0) {
		free(b);
		return rc;
	}
	snprintf(b->path, sizeof(b->path), "%s/kv.db", o->dir);
	b->durable = o->durable_acks;
	b->mmap_bytes = o->cache_bytes;
	pthread_mutex_init(&b->wlock, NULL);
	rc = bench_sqlite_connect(b, &b->db);
	if (rc == 0 && sqlite3_exec(b->db, bench_sqlite_schema, NULL, NULL, NULL) != SQLITE_OK)
		rc = bench_sqlite_err("schema", b->db, 0);
	if (rc < 0) {
		sqlite3_close(b->db);
		pthread_mutex_destroy(&b->wlock);
		free(b);
		return rc;
	}
	*ctxp = b;
	return 0;
}

static int bench_sqlite_close(void *ctx)
{
	struct bench_sqlite *b = ctx;
	int rc = sqlite3_close(b->db);

	pthread_mutex_destroy(&b->wlock);
	free(b);
	return rc == SQLITE_OK ? 0 : bench_peer_fail("sqlite3_close", sqlite3_errstr(rc));
}

static uint32_t bench_sqlite_shards(void *ctx)
{
	(void)ctx;
	return 0;
}

static int bench_sqlite_thread_exit(void *tctx)
{
	struct bench_sqlite_thread *t = tctx;

	sqlite3_finalize(t->put);
	sqlite3_finalize(t->get);
	sqlite3_finalize(t->scan);
	sqlite3_finalize(t->begin);
	sqlite3_finalize(t->commit);
	sqlite3_close(t->db);
	free(t);
	return 0;
}

static int bench_sqlite_thread_init(void *ctx, uint32_t depth, void **tctxp)
{
	static const char *const sql[] = {
		"INSERT OR REPLACE INTO kv(k, v) VALUES(?1, ?2)",
		"SELECT v FROM kv WHERE k = ?1",
		"SELECT k, v FROM kv WHERE k >= ?1 ORDER BY k LIMIT ?2",
		"BEGIN IMMEDIATE",
		"COMMIT",
	};
	struct bench_sqlite_thread *t = calloc(1, sizeof(*t));
	sqlite3_stmt **stmts[5];
	int rc;

	(void)depth;
	if (!t)
		return bench_peer_fail("thread", "out of memory");
	t->b = ctx;
	stmts[0] = &t->put, stmts[1] = &t->get, stmts[2] = &t->scan;
	stmts[3] = &t->begin, stmts[4] = &t->commit;
	rc = bench_sqlite_connect(t->b, &t->db);
	for (int i = 0; rc == 0 && i < 5; i++) {
		if (sqlite3_prepare_v2(t->db, sql[i], -1, stmts[i], NULL) != SQLITE_OK)
			rc = bench_sqlite_err(sql[i], t->db, 0);
	}
	if (rc < 0) {
		bench_sqlite_thread_exit(t);
		return rc;
	}
	*tctxp = t;
	return 0;
}

/* Run a statement that returns no rows. */
static int bench_sqlite_step(struct bench_sqlite_thread *t, sqlite3_stmt *st, const char *what)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	return rc == SQLITE_DONE ? BENCH_OK : bench_sqlite_err(what, t->db, rc);
}

static int bench_sqlite_insert(struct bench_sqlite_thread *t, const void *key, uint32_t key_len,
			       const void *val, uint32_t val_len)
{
	sqlite3_bind_blob(t->put, 1, key, (int)key_len, SQLITE_STATIC);
	sqlite3_bind_blob(t->put, 2, val, (int)val_len, SQLITE_STATIC);
	return bench_sqlite_step(t, t->put, "insert");
}

static int bench_sqlite_put(void *tctx, const void *key, uint32_t key_len, const void *val,
			    uint32_t val_len)
{
	struct bench_sqlite_thread *t = tctx;
	int rc;

	pthread_mutex_lock(&t->b->wlock);
	rc = bench_sqlite_insert(t, key, key_len, val, val_len);
	pthread_mutex_unlock(&t->b->wlock);
	return rc;
}

static int bench_sqlite_put_batch(void *tctx, const uint8_t *keys, uint32_t key_len,
				  const uint8_t *vals, uint32_t val_len, uint32_t n)
{
	struct bench_sqlite_thread *t = tctx;
	int rc;

	pthread_mutex_lock(&t->b->wlock);
	rc = bench_sqlite_step(t, t->begin, "begin");
	for (uint32_t i = 0; rc == BENCH_OK && i < n; i++)
		rc = bench_sqlite_insert(t, keys + (size_t)i * key_len, key_len,
					 vals + (size_t)i * val_len, val_len);
	if (rc == BENCH_OK)
		rc = bench_sqlite_step(t, t->commit, "commit");
	else
		sqlite3_exec(t->db, "ROLLBACK", NULL, NULL, NULL);
	pthread_mutex_unlock(&t->b->wlock);
	return rc;
}

static int bench_sqlite_get(void *tctx, const void *key, uint32_t key_len, uint32_t *val_len)
{
	struct bench_sqlite_thread *t = tctx;
	int rc;

	sqlite3_bind_blob(t->get, 1, key, (int)key_len, SQLITE_STATIC);
	rc = sqlite3_step(t->get);
	if (rc == SQLITE_ROW) {
		sqlite3_column_blob(t->get, 0);
		*val_len = (uint32_t)sqlite3_column_bytes(t->get, 0);
	}
	sqlite3_reset(t->get);
	if (rc == SQLITE_ROW)
		return BENCH_OK;
	return rc == SQLITE_DONE ? BENCH_NOTFOUND : bench_sqlite_err("select", t->db, rc);
}

static int bench_sqlite_scan(void *tctx, const void *start, uint32_t key_len, uint32_t limit,
			     uint32_t *rows)
{
	struct bench_sqlite_thread *t = tctx;
	uint32_t n = 0;
	int rc;

	sqlite3_bind_blob(t->scan, 1, start, (int)key_len, SQLITE_STATIC);
	sqlite3_bind_int(t->scan, 2, (int)limit);
	while ((rc = sqlite3_step(t->scan)) == SQLITE_ROW) {
		sqlite3_column_blob(t->scan, 0);
		sqlite3_column_blob(t->scan, 1);
		n++;
	}
	sqlite3_reset(t->scan);
	if (rc != SQLITE_DONE)
		return bench_sqlite_err("scan", t->db, rc);
	*rows = n;
	return BENCH_OK;
}

const struct bench_backend bench_backend_sqlite = {
	.name = "sqlite",
	.version = bench_sqlite_version,
	.strerror = bench_peer_strerror,
	.retryable = bench_peer_no,
	.unavailable = bench_peer_no,
	.open = bench_sqlite_open,
	.close = bench_sqlite_close,
	.shards = bench_sqlite_shards,
	.thread_init = bench_sqlite_thread_init,
	.thread_exit = bench_sqlite_thread_exit,
	.put = bench_sqlite_put,
	.get = bench_sqlite_get,
	.settings = bench_sqlite_settings,
	.scan = bench_sqlite_scan,
	.put_batch = bench_sqlite_put_batch,
};
