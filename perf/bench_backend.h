/* SPDX-License-Identifier: MIT */
/*
 * bench_backend.h - the engine interface of aedb-bench (struct bench_backend)
 * and the backends compiled in. Peer engines are optional: perf/meson.build
 * sets HAVE_<PEER> in bench_config.h to 1 only when the engine's package is
 * found, and compiles bench_<peer>.c only then.
 */
#ifndef BENCH_BACKEND_H
#define BENCH_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bench_config.h" /* HAVE_ROCKSDB ... HAVE_WIREDTIGER */

/* ------------------------------------------------------------------------ */
/* Backends                                                                  */
/* ------------------------------------------------------------------------ */

/* Non-negative backend results; errors are negative, backend-specific codes. */
#define BENCH_OK 0
#define BENCH_NOTFOUND 1 /**< get: the key is absent */
#define BENCH_AGAIN 2    /**< prep: the submission queue is full; submit first */

/* A peer engine's error: the text is kept per thread, so call the backend's
 * strerror() on the thread that got the error (bench_peer.c). */
#define BENCH_EENGINE (-100000)

/* Records per transaction in workload "ingest", in loading the peers and in
 * the peers' recovery ingest. */
#define BENCH_BATCH 1000u

enum bench_durability {
	BENCH_DURABILITY_DEFAULT = 0, /**< whatever the engine defaults to */
	BENCH_DURABILITY_FULL,
	BENCH_DURABILITY_BATCH,
	BENCH_DURABILITY_OS,
};

/** Settings every backend receives at open; each maps what it can. */
struct bench_backend_opts {
	const char *dir;          /**< fresh, empty data directory */
	uint32_t shards;          /**< 0 = engine default */
	uint32_t key_bytes;       /**< largest key the run will use */
	uint32_t value_bytes;     /**< largest value the run will use */
	enum bench_durability durability;
	bool pin_threads;
	bool low_latency;
	bool durable_acks;        /**< puts complete once durable, not just visible */
	uint64_t cache_bytes;     /**< peers: block/page cache size to configure */
};

/** What reopening after a crash cost (workload "recover"). */
struct bench_recovery {
	uint64_t records;         /**< commits replayed */
	uint64_t log_bytes;       /**< log bytes read */
	double seconds;           /**< reopen wall time */
};

/** One completion from an asynchronous backend. */
struct bench_completion {
	uint64_t tag;      /**< the tag given at prep */
	int32_t res;       /**< BENCH_OK, BENCH_NOTFOUND, or a negative error */
	uint32_t val_len;  /**< get: full value length when res == BENCH_OK */
};

/*
 * struct bench_backend - one engine. ctx is the open instance (any thread);
 * tctx is a client thread's state, made and destroyed on that thread.
 * Blocking calls return BENCH_OK / BENCH_NOTFOUND or a negative error.
 * The asynchronous group (prep_put .. reap) is all NULL when the engine has
 * no submission-queue interface. Tags passed to prep are < the depth given
 * to thread_init; key, value and buffer memory stays valid and unchanged
 * until the tag's completion has been reaped.
 */
struct bench_backend {
	const char *name;
	const char *(*version)(void);
	const char *(*strerror)(int err);
	/** Transient failure (backpressure): the harness retries the request. */
	bool (*retryable)(int err);
	/** The environment cannot run this engine at all (skip, exit 77). */
	bool (*unavailable)(int err);
	int (*open)(const struct bench_backend_opts *opts, void **ctxp);
	int (*close)(void *ctx);
	uint32_t (*shards)(void *ctx);
	/** @depth: 0 for blocking calls only, else most requests in flight. */
	int (*thread_init)(void *ctx, uint32_t depth, void **tctxp);
	int (*thread_exit)(void *tctx);
	int (*put)(void *tctx, const void *key, uint32_t key_len, const void *val,
		   uint32_t val_len);
	int (*get)(void *tctx, const void *key, uint32_t key_len, uint32_t *val_len);
	int (*prep_put)(void *tctx, uint64_t tag, const void *key, uint32_t key_len,
			const void *val, uint32_t val_len);
	int (*prep_get)(void *tctx, uint64_t tag, const void *key, uint32_t key_len,
			void *buf, uint32_t buf_len);
	/** Optional: prepare an accumulator delta (tagged @tag), as
	 *  accumulate(BENCH_ACC_ADD) does, through the submission queue. */
	int (*prep_acc)(void *tctx, uint64_t tag, uint64_t r);
	/** Hand prepared requests over; >= 0, or a negative error. */
	int (*submit)(void *tctx);
	/** Up to @max completions into @out; @wait: block for at least one if
	 *  any request is in flight. Returns the count or a negative error. */
	int (*reap)(void *tctx, struct bench_completion *out, uint32_t max, bool wait);
	/** Optional: log bytes written per commit so far (0 = unknown). */
	double (*log_bytes_per_commit)(void *ctx);
	/** Optional: ingest @records puts of @opts->value_bytes in a child
	 *  process that is then SIGKILLed, and time the reopen. 0 or error. */
	int (*recover)(const struct bench_backend_opts *opts, uint64_t records,
		       struct bench_recovery *out);
	/** One line: the durability and tuning @opts map to in this engine. */
	void (*settings)(const struct bench_backend_opts *opts, char *buf, size_t len);
	/** Optional: read up to @limit entries (keys and values) in key order
	 *  from the first key >= @start; *@rows gets how many were read. */
	int (*scan)(void *tctx, const void *start, uint32_t key_len, uint32_t limit,
		    uint32_t *rows);
	/** Optional: write @n records (key i at keys + i * key_len, value at
	 *  vals + i * val_len) as one transaction, durable if durable_acks. */
	int (*put_batch)(void *tctx, const uint8_t *keys, uint32_t key_len, const uint8_t *vals,
			 uint32_t val_len, uint32_t n);
	/** Optional: one transaction moving 1 unit between two accounts picked
	 *  by @r, on one shard or (@cross) on two; sharded engines only. */
	int (*transfer)(void *tctx, uint64_t r, bool cross);
	/** Optional: one accumulator operation @what (enum bench_acc) on the
	 *  instance's accumulator; @r is a random draw. */
	int (*accumulate)(void *tctx, uint64_t r, uint32_t what);
};

extern const struct bench_backend bench_backend_aedb;
#if HAVE_ROCKSDB
extern const struct bench_backend bench_backend_rocksdb;
#endif
#if HAVE_LEVELDB
extern const struct bench_backend bench_backend_leveldb;
#endif
#if HAVE_LMDB
extern const struct bench_backend bench_backend_lmdb;
#endif
#if HAVE_SQLITE
extern const struct bench_backend bench_backend_sqlite;
#endif
#if HAVE_WIREDTIGER
extern const struct bench_backend bench_backend_wiredtiger;
#endif

/** The backend called @name among those compiled in, or NULL. */
const struct bench_backend *bench_backend_find(const char *name);

/* bench_peer.c: helpers for the peer backends. */
/** Keep @what: @msg as this thread's error text; returns BENCH_EENGINE. */
int bench_peer_fail(const char *what, const char *msg);
/** BENCH_EENGINE: this thread's text; else strerror(-err). */
const char *bench_peer_strerror(int err);
bool bench_peer_no(int err);
/** mkdir @dir (an existing one is fine). 0 or -errno. */
int bench_peer_mkdir(const char *dir);

#endif /* BENCH_BACKEND_H */
