/* SPDX-License-Identifier: MIT */
/*
 * bench.h - internals of aedb-bench, the KV benchmark harness.
 *
 * The harness is split by concern:
 *   bench_util.h    clock, histogram and PRNG declarations
 *   bench_backend.h struct bench_backend, the interface every engine fills
 *   bench_hist.c    log-linear latency histogram (HDR style, 3 digits)
 *   bench_rand.c    xoshiro256** PRNG, YCSB zipfian, key encoding
 *   bench_aedb.c    the aedb backend behind struct bench_backend
 *   bench_<peer>.c  peer engines (rocksdb, leveldb, lmdb, sqlite, wiredtiger),
 *                   each built only when meson finds its package (HAVE_<PEER>)
 *   bench_peer.c    what the peer backends share: error text, directories
 *   bench_recover.c "recover" for engines without their own: ingest in a
 *                   re-executed child, SIGKILL it, time the reopen
 *   bench_compare.c --compare: the side-by-side table and ratios
 *   bench_fs.c      removing and copying data directories
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
#include <stdio.h>
#include <time.h>

#include "bench_backend.h"
#include "bench_util.h"

/* ------------------------------------------------------------------------ */
/* Options, workloads, results                                               */
/* ------------------------------------------------------------------------ */

#define BENCH_THREADS_MAX 256
#define BENCH_DEPTH_MAX 4096

enum bench_format {
	BENCH_FORMAT_TABLE = 0,
	BENCH_FORMAT_JSON,
};

#define BENCH_BACKENDS_MAX 8

struct bench_opts {
	const struct bench_backend *backend;
	/** --compare: the peers run after aedb (backend), same workloads. */
	const struct bench_backend *peers[BENCH_BACKENDS_MAX];
	uint32_t npeers;
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
	uint32_t scan_len;        /**< entries per scan (YCSB E: at most this) */
	uint64_t cache_bytes;     /**< peers' block/page cache */
	enum bench_dist dist;
	uint64_t seed;
	enum bench_format format;
	enum bench_durability durability;
	bool pin_threads;
	bool low_latency;
	bool keep_dir;
	bool copy_load;           /**< read instances copy a loaded template */
	const char *dir;          /**< parent of the run's data directory */
	FILE *json_out;           /**< JSON lines: stdout (--json), --json-out, or NULL */
};

enum bench_op {
	BENCH_OP_PUT = 0,
	BENCH_OP_GET,
	BENCH_OP_RECOVER, /**< ingest, SIGKILL, time the reopen (backend->recover) */
	BENCH_OP_SCAN,    /**< scan_len entries from a random key (backend->scan) */
	BENCH_OP_BATCH,   /**< --keys records, BENCH_BATCH per transaction */
	BENCH_OP_MIX,     /**< YCSB: a random operation per request, by the pct_* */
	BENCH_OP_TRANSFER,/**< a 2-account transfer transaction (backend->transfer) */
	BENCH_OP_ACC,     /**< an accumulator operation (backend->accumulate) */
};

/** What a BENCH_OP_ACC request does (backend->accumulate). */
enum bench_acc {
	BENCH_ACC_ADD = 0,  /**< one exactly-once delta */
	BENCH_ACC_READ,     /**< a strong read (sum of every shard's partial) */
	BENCH_ACC_HAND,     /**< expose at the deal, settle with release */
};

/** Operations of a MIX workload, drawn per request. */
enum bench_kind {
	BENCH_KIND_READ = 0,
	BENCH_KIND_UPDATE,  /**< put to an existing key */
	BENCH_KIND_SCAN,    /**< 1..scan_len entries, length uniform (YCSB) */
	BENCH_KIND_INSERT,  /**< put to a new key beyond the loaded keyspace */
	BENCH_KIND_RMW,     /**< read a key, then write it */
	BENCH_KIND_COUNT,
};

struct bench_workload {
	const char *name;
	enum bench_op op;
	bool async;       /**< through the submission-queue interface */
	bool preload;     /**< runs against a keyspace loaded beforehand */
	bool sequential;  /**< keys next, next + 1, ... (loading) */
	bool durable;     /**< puts wait until durable (fsynced), not just visible */
	bool zipfian;     /**< keys YCSB-zipfian whatever --dist says */
	bool once;        /**< one result with one thread, whatever --threads says */
	bool cross;       /**< TRANSFER: the two accounts live on different shards */
	uint8_t acc;      /**< ACC: enum bench_acc */
	uint8_t pct[BENCH_KIND_COUNT]; /**< MIX: percent of each bench_kind */
	const char *about;
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
	double rows_per_op;      /**< scans: entries read per scan */
	double ratio;            /**< --compare, peers: aedb ops/s over this ops/s */
	char settings[320];      /**< the backend's settings line */
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
struct json_t;
/** One JSON line to o->json_out; takes the reference to @obj (NULL: skip). */
void bench_print_json(const struct bench_opts *o, struct json_t *obj);
/** Print the key=value lines after the table (table format only). */
void bench_report_finish(const struct bench_result *rs, uint32_t n, const struct bench_opts *o);

/* bench_compare.c */
/** Set @r->ratio against @primary's result of the same workload and threads
 *  among @rs[0..n): how many times faster the primary (aedb) was. */
void bench_compare_ratio(struct bench_result *r, const struct bench_result *rs, uint32_t n,
			 const char *primary);
/** The side-by-side table (table format) or one "compare" JSON line per group. */
void bench_compare_report(const struct bench_result *rs, uint32_t n, const struct bench_opts *o);

/* bench_fs.c */
void bench_rm_tree(const char *dir);
/** Copy directory @src to @dst (made if absent). 0 or -errno. */
int bench_copy_tree(const char *src, const char *dst);

/* bench_recover.c */
/** Workload "recover" for a backend without its own: see bench_recover.c. */
int bench_recover_generic(const struct bench_backend *be, const struct bench_backend_opts *bo,
			  uint64_t records, struct bench_recovery *out);
/** argv[1] == "--recover-child": the re-executed ingest child. Never returns. */
void bench_recover_child(int argc, char **argv);

#endif /* BENCH_H */
