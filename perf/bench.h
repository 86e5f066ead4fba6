/* SPDX-License-Identifier: MIT */
/*
 * bench.h - internals of aedb-bench, the KV benchmark harness.
 *
 * The harness is split by concern:
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

/* ------------------------------------------------------------------------ */
/* Clock                                                                     */
/* ------------------------------------------------------------------------ */

static inline uint64_t bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ------------------------------------------------------------------------ */
/* Histogram                                                                 */
/* ------------------------------------------------------------------------ */

/*
 * Values (nanoseconds) below 2^BENCH_HIST_SUB_BITS are counted exactly; above,
 * each power-of-two range is cut into BENCH_HIST_HALF linear buckets, so any
 * recorded value is known to within 1/1024 (three significant digits).
 * Values at or above 2^BENCH_HIST_VALUE_BITS ns (~4.9 h) are clamped.
 */
#define BENCH_HIST_SUB_BITS 11u
#define BENCH_HIST_HALF (1u << (BENCH_HIST_SUB_BITS - 1))
#define BENCH_HIST_VALUE_BITS 44u
#define BENCH_HIST_COUNTS ((BENCH_HIST_VALUE_BITS - BENCH_HIST_SUB_BITS + 2) * BENCH_HIST_HALF)
#define BENCH_HIST_VALUE_MAX ((UINT64_C(1) << BENCH_HIST_VALUE_BITS) - 1)

/** One thread's latencies. Not thread-safe: one writer, merged afterwards. */
struct bench_hist {
	uint64_t count;
	uint64_t sum_ns;
	uint64_t min_ns;
	uint64_t max_ns;
	uint64_t clamped;  /**< values above BENCH_HIST_VALUE_MAX */
	uint64_t *counts;  /**< BENCH_HIST_COUNTS buckets */
};

int bench_hist_init(struct bench_hist *h);
void bench_hist_free(struct bench_hist *h);
void bench_hist_merge(struct bench_hist *dst, const struct bench_hist *src);
/** The value at percentile @pct (0..100], ns; 0 for an empty histogram. */
uint64_t bench_hist_percentile(const struct bench_hist *h, double pct);
/** Largest value that shares bucket @idx. */
uint64_t bench_hist_highest(uint32_t idx);

/** Bucket index of @ns (@ns <= BENCH_HIST_VALUE_MAX). */
static inline uint32_t bench_hist_index(uint64_t ns)
{
	/* Position of the top bit of (ns | 2047): at least 10, so values
	 * below 2048 get shift 0 and a bucket of their own. */
	uint32_t top = 63u - (uint32_t)__builtin_clzll(ns | (2 * BENCH_HIST_HALF - 1));
	uint32_t shift = top - (BENCH_HIST_SUB_BITS - 1);

	return shift * BENCH_HIST_HALF + (uint32_t)(ns >> shift);
}

static inline void bench_hist_record(struct bench_hist *h, uint64_t ns)
{
	if (ns > BENCH_HIST_VALUE_MAX) {
		h->clamped++;
		ns = BENCH_HIST_VALUE_MAX;
	}
	h->counts[bench_hist_index(ns)]++;
	h->count++;
	h->sum_ns += ns;
	if (ns < h->min_ns)
		h->min_ns = ns;
	if (ns > h->max_ns)
		h->max_ns = ns;
}

/* ------------------------------------------------------------------------ */
/* Random numbers and keys                                                   */
/* ------------------------------------------------------------------------ */

/** xoshiro256** state; seed with bench_rng_seed(). */
struct bench_rng {
	uint64_t s[4];
};

void bench_rng_seed(struct bench_rng *r, uint64_t seed);
/** splitmix64's finaliser: a bijection on 64-bit integers. */
uint64_t bench_mix64(uint64_t x);

static inline uint64_t bench_rotl64(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static inline uint64_t bench_rng_next(struct bench_rng *r)
{
	uint64_t *s = r->s;
	uint64_t out = bench_rotl64(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = bench_rotl64(s[3], 45);
	return out;
}

/** Uniform in [0, n) (Lemire's multiply-shift; bias < n / 2^64). */
static inline uint64_t bench_rng_below(struct bench_rng *r, uint64_t n)
{
	__extension__ typedef unsigned __int128 bench_u128;

	return (uint64_t)(((bench_u128)bench_rng_next(r) * n) >> 64);
}

/** Uniform in [0, 1). */
static inline double bench_rng_unit(struct bench_rng *r)
{
	return (double)(bench_rng_next(r) >> 11) * 0x1.0p-53;
}

/** YCSB's zipfian generator over ranks [0, n); rank 0 is the hottest. */
struct bench_zipf {
	uint64_t n;
	double theta;
	double alpha;
	double zetan;
	double eta;
	double half_pow_theta;
};

#define BENCH_ZIPF_THETA 0.99

/** Precompute zeta(n, theta): O(n), once per keyspace. Returns 0 or -EINVAL. */
int bench_zipf_init(struct bench_zipf *z, uint64_t n, double theta);
uint64_t bench_zipf_next(const struct bench_zipf *z, struct bench_rng *r);

enum bench_dist {
	BENCH_DIST_UNIFORM = 0,
	BENCH_DIST_ZIPFIAN,
	BENCH_DIST_SEQUENTIAL, /**< next, next + 1, ...: loading only */
};

const char *bench_dist_name(enum bench_dist d);

/** Picks key indexes for one thread. */
struct bench_keygen {
	enum bench_dist dist;
	uint64_t keys;                 /**< keyspace size */
	const struct bench_zipf *zipf; /**< shared, read-only; ZIPFIAN only */
	uint64_t next;                 /**< SEQUENTIAL only */
};

static inline uint64_t bench_keygen_next(struct bench_keygen *kg, struct bench_rng *r)
{
	switch (kg->dist) {
	case BENCH_DIST_ZIPFIAN:
		return bench_zipf_next(kg->zipf, r);
	case BENCH_DIST_SEQUENTIAL:
		return kg->next++;
	case BENCH_DIST_UNIFORM:
	default:
		return bench_rng_below(r, kg->keys);
	}
}

#define BENCH_KEY_BYTES_MIN 8u

/*
 * Key @idx as @len (>= BENCH_KEY_BYTES_MIN) bytes: the big-endian
 * bench_mix64(idx) first, so distinct indexes give distinct keys and
 * neighbouring (or hot zipfian) indexes land far apart in key order and
 * across shards; then filler derived from @idx.
 */
void bench_key_encode(uint8_t *buf, uint32_t len, uint64_t idx);

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
