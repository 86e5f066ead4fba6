/* SPDX-License-Identifier: MIT */
/*
 * bench.h - internals of aedb-bench, the KV benchmark harness.
 *
 * The harness is split by concern:
 *   bench_util.h    clock, histogram and PRNG declarations (below)
 *   bench_hist.c    log-linear latency histogram (HDR style, 3 digits)
 *   bench_rand.c    xoshiro256** PRNG, YCSB zipfian, key encoding
 *   bench_aedb.c    the aedb backend behind struct bench_backend
 *   bench_run.c     client threads, the blocking and submission-queue loops
 *   bench_report.c  machine facts, table rows, key=value and JSON lines
 *   aedb-bench.c    options, the run plan, data directories, exit codes
 *
 * Engines plug in through struct bench_backend; every workload talks to the
 * backend only through it, so peer engines can be measured side by side.
 * Validation is kept out of the timed region except for the cheap checks a
 * user would do anyway (status code, value length).
 */
#ifndef BENCH_H
#define BENCH_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "bench_util.h"

/* ------------------------------------------------------------------------ */
/* Backends                                                                  */
/* ------------------------------------------------------------------------ */

/* Non-negative backend results; errors are negative, backend-specific codes. */
#define BENCH_OK 0
#define BENCH_NOTFOUND 1 /**< get: the key is absent */
#define BENCH_AGAIN 2    /**< prep: the submission queue is full; submit first */

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
};

extern const struct bench_backend bench_backend_aedb;

/* ------------------------------------------------------------------------ */
/* Options, workloads, results                                               */
/* ------------------------------------------------------------------------ */

#define BENCH_THREADS_MAX 256
#define BENCH_DEPTH_MAX 4096

enum bench_format {
	BENCH_FORMAT_TABLE = 0,
	BENCH_FORMAT_JSON,
};

struct bench_opts {
	const struct bench_backend *backend;
	uint32_t threads[16];     /**< client thread counts, one result each */
	uint32_t nthreads;
	uint32_t shards;          /**< 0 = engine default (online CPUs) */
	uint64_t ops;             /**< total per result; 0 = run for seconds */
	double seconds;
	double warmup_s;
	uint64_t keys;
	uint32_t key_size;
	uint32_t value_size;
	uint32_t depth;
	enum bench_dist dist;
	uint64_t seed;
	enum bench_format format;
	enum bench_durability durability;
	bool pin_threads;
	bool low_latency;
	bool keep_dir;
	const char *dir;          /**< parent of the run's data directory */
};

enum bench_op {
	BENCH_OP_PUT = 0,
	BENCH_OP_GET,
	BENCH_OP_RECOVER, /**< ingest, SIGKILL, time the reopen (backend->recover) */
};

struct bench_workload {
	const char *name;
	enum bench_op op;
	bool async;       /**< through the submission-queue interface */
	bool preload;     /**< runs against a keyspace loaded beforehand */
	bool sequential;  /**< keys next, next + 1, ... (loading) */
	bool durable;     /**< puts wait until durable (fsynced), not just visible */
};

extern const struct bench_workload bench_workloads[];
extern const uint32_t bench_workload_count;
extern const struct bench_workload bench_workload_load;

struct bench_result {
	const char *workload;
	const char *backend;
	const char *dist;
	uint32_t threads;
	uint32_t shards;
	uint32_t depth;       /**< 0 for blocking workloads */
	uint64_t ops;
	double seconds;
	double ops_per_sec;
	double cpu_cores;     /**< process CPU time / wall time, shards included */
	double us_mean;
	double us_p50;
	double us_p90;
	double us_p99;
	double us_p999;
	double us_max;
	uint64_t retries;     /**< retryable errors (backpressure), retried */
	uint64_t misses;      /**< gets that found no value */
	double log_bytes_per_op; /**< puts: log bytes written per commit; 0 unknown */
	double log_mb_per_sec;   /**< recover: log MB replayed per second */
	int failed;           /**< non-zero: the run stopped on an error */
};

/** Set from the SIGINT/SIGTERM handler; every loop polls it. */
extern atomic_int bench_interrupted;

/**
 * bench_run - run workload @w with @threads client threads on the open
 * instance @ctx and fill @res. @zipf: precomputed for opts->keys, or NULL
 * unless opts->dist is zipfian. Errors are printed to stderr. Returns 0, or
 * -1 when the run failed (res->failed is set and res holds what was done).
 */
int bench_run(const struct bench_opts *opts, void *ctx, const struct bench_workload *w,
	      uint32_t threads, const struct bench_zipf *zipf, struct bench_result *res);

/** bench_load - write keys [0, opts->keys) into @ctx. Returns 0 or -1. */
int bench_load(const struct bench_opts *opts, void *ctx);

/* ------------------------------------------------------------------------ */
/* Reporting                                                                 */
/* ------------------------------------------------------------------------ */

struct bench_machine {
	char cpu[128];
	char kernel[256];
	char compiler[64];
	char engine[64];
	char start_utc[32];
	long nproc;
	double cpu_quota;   /**< cgroup CPU limit in CPUs; 0 = none found */
	double loadavg_1m;  /**< at start: other load skews figures */
	uint64_t mem_bytes;
	bool optimized;
	bool asserts;
	bool sanitized;     /**< built with ASan, TSan or UBSan-style checks */
};

void bench_machine_probe(struct bench_machine *m, const struct bench_backend *be);
void bench_report_header(const struct bench_machine *m, const struct bench_opts *o);
void bench_report_result(const struct bench_result *r, const struct bench_opts *o);
/** Print the key=value lines after the table (table format only). */
void bench_report_finish(const struct bench_result *rs, uint32_t n, const struct bench_opts *o);

#endif /* BENCH_H */
