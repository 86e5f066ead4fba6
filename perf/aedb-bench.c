/* SPDX-License-Identifier: MIT */
/*
 * aedb-bench - key-value benchmark harness for aedb and its peers.
 *
 *   aedb-bench [options] [WORKLOAD[,WORKLOAD...] ...]
 *
 * Workloads: see --list; "all" (the default) runs every one. Each workload
 * runs once per --threads count (ingest and recover once, on one thread) and
 * yields one result per backend: aedb (or --backend), then with --compare
 * each peer engine. Write workloads get a fresh instance per result; the
 * other workloads a fresh instance per backend and workload, loaded with
 * --keys keys first. Every instance lives in its own directory under a fresh
 * mkdtemp() directory in --dir, removed as soon as its results are in and
 * at the end (--keep leaves them). See perf/README.md.
 *
 * Exit status: 0 all results ok; 1 a run failed (an engine error, a get
 * that missed, a wrong value length); 2 bad usage; 77 the engine cannot run
 * here (io_uring unavailable: meson counts it as skipped); 130 interrupted.
 */
#include "bench.h"

#include <errno.h>
#include <ftw.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BENCH_EXIT_FAIL 1
#define BENCH_EXIT_USAGE 2
#define BENCH_EXIT_SKIP 77
#define BENCH_EXIT_INTERRUPTED 130

#define BENCH_PLAN_MAX 32
#define BENCH_KEY_SIZE_MAX 65536u
#define BENCH_VALUE_SIZE_MAX (64u << 20)

/* aedb first; then the peers meson found (HAVE_* in bench_config.h). */
static const struct bench_backend *const bench_backends[] = {
	&bench_backend_aedb,
#if HAVE_ROCKSDB
	&bench_backend_rocksdb,
#endif
#if HAVE_LEVELDB
	&bench_backend_leveldb,
#endif
#if HAVE_LMDB
	&bench_backend_lmdb,
#endif
#if HAVE_SQLITE
	&bench_backend_sqlite,
#endif
#if HAVE_WIREDTIGER
	&bench_backend_wiredtiger,
#endif
};
#define BENCH_NBACKENDS (sizeof(bench_backends) / sizeof(bench_backends[0]))

const struct bench_backend *bench_backend_find(const char *name)
{
	for (size_t i = 0; i < BENCH_NBACKENDS; i++) {
		if (strcmp(name, bench_backends[i]->name) == 0)
			return bench_backends[i];
	}
	return NULL;
}

/* The workloads to run, each with its own thread counts ("dput@1,4,32")
 * or, when nthreads is 0, those of --threads. */
struct bench_plan {
	const struct bench_workload *w[BENCH_PLAN_MAX];
	uint32_t threads[BENCH_PLAN_MAX][16];
	uint32_t nthreads[BENCH_PLAN_MAX];
	uint32_t n;
};

enum {
	BENCH_OPT_KEY_SIZE = 256,
	BENCH_OPT_VALUE_SIZE,
	BENCH_OPT_WARMUP,
	BENCH_OPT_DEPTH,
	BENCH_OPT_DIST,
	BENCH_OPT_JSON,
	BENCH_OPT_KEEP,
	BENCH_OPT_SEED,
	BENCH_OPT_DURABILITY,
	BENCH_OPT_PIN,
	BENCH_OPT_LOW_LATENCY,
	BENCH_OPT_BACKEND,
	BENCH_OPT_LIST,
	BENCH_OPT_COMPARE,
	BENCH_OPT_SCAN_LEN,
	BENCH_OPT_CACHE,
	BENCH_OPT_JSON_OUT,
	BENCH_OPT_COPY_LOAD,
};

static const struct option bench_long_opts[] = {
	{ "threads", required_argument, NULL, 't' },
	{ "shards", required_argument, NULL, 's' },
	{ "ops", required_argument, NULL, 'n' },
	{ "seconds", required_argument, NULL, 'd' },
	{ "keys", required_argument, NULL, 'k' },
	{ "dir", required_argument, NULL, 'D' },
	{ "key-size", required_argument, NULL, BENCH_OPT_KEY_SIZE },
	{ "value-size", required_argument, NULL, BENCH_OPT_VALUE_SIZE },
	{ "warmup", required_argument, NULL, BENCH_OPT_WARMUP },
	{ "depth", required_argument, NULL, BENCH_OPT_DEPTH },
	{ "dist", required_argument, NULL, BENCH_OPT_DIST },
	{ "json", no_argument, NULL, BENCH_OPT_JSON },
	{ "keep", no_argument, NULL, BENCH_OPT_KEEP },
	{ "seed", required_argument, NULL, BENCH_OPT_SEED },
	{ "durability", required_argument, NULL, BENCH_OPT_DURABILITY },
	{ "pin", no_argument, NULL, BENCH_OPT_PIN },
	{ "low-latency", no_argument, NULL, BENCH_OPT_LOW_LATENCY },
	{ "backend", required_argument, NULL, BENCH_OPT_BACKEND },
	{ "list", no_argument, NULL, BENCH_OPT_LIST },
	{ "compare", required_argument, NULL, BENCH_OPT_COMPARE },
	{ "scan-len", required_argument, NULL, BENCH_OPT_SCAN_LEN },
	{ "cache", required_argument, NULL, BENCH_OPT_CACHE },
	{ "json-out", required_argument, NULL, BENCH_OPT_JSON_OUT },
	{ "copy-load", no_argument, NULL, BENCH_OPT_COPY_LOAD },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static void bench_usage(FILE *f)
{
	fprintf(f,
		"usage: aedb-bench [options] [WORKLOAD[,WORKLOAD...] ...]\n"
		"workloads: put put-sq dput dput-sq ingest get get-sq scan ycsb-a ycsb-b\n"
		"  ycsb-c ycsb-e ycsb-f xfer xfer-x dxfer dxfer-x acc dacc acc-sq dacc-sq\n"
		"  acc-read hand recover, or all (the default);\n"
		"  --list says what each is;\n"
		"  WORKLOAD@T[,T...] gives that workload its own thread counts (dput@1,4,32)\n"
		"  -t, --threads LIST     client threads, comma list, one result each (1,2)\n"
		"  -s, --shards N         engine shards (default: online CPUs)\n"
		"  -n, --ops N            operations per result, over all threads\n"
		"  -d, --seconds S        measured time per result (default 5)\n"
		"      --warmup S         unmeasured warm-up per result (default 1)\n"
		"  -k, --keys N           keyspace size; gets preload it (default 1000000)\n"
		"      --key-size N       key bytes, >= 8 (default 16)\n"
		"      --value-size N     value bytes (default 100)\n"
		"      --dist NAME        uniform | zipfian (YCSB, theta 0.99) (default uniform)\n"
		"      --depth N          requests in flight per thread, *-sq (default 256)\n"
		"      --durability M     default | full | batch | os\n"
		"      --low-latency      the engine's low-latency profile\n"
		"      --pin              pin shard threads to CPUs\n"
		"      --backend NAME     engine to measure (default aedb; --list)\n"
		"      --compare LIST     also run each workload on these peers, comma list or\n"
		"                         all (every peer compiled in); prints ratios\n"
		"      --scan-len N       entries per scan; YCSB E scans 1..N (default 100)\n"
		"      --cache BYTES      peers' block/page cache (default 1073741824)\n"
		"      --copy-load        read workloads start from a copy of one loaded,\n"
		"                         closed instance per engine (reopened) instead of\n"
		"                         loading their own\n"
		"  -D, --dir DIR          parent of the data directory (default /tmp)\n"
		"      --keep             keep the data directory\n"
		"      --seed N           PRNG seed (default 1)\n"
		"      --json             JSON lines instead of the table\n"
		"      --json-out FILE    JSON lines to FILE as well as the table\n"
		"      --list             list workloads and backends\n"
		"numbers take k, m, g suffixes (powers of 1000)\n");
}

/* ------------------------------------------------------------------------ */
/* Option parsing                                                            */
/* ------------------------------------------------------------------------ */

static int bench_parse_u64(const char *arg, const char *what, uint64_t min, uint64_t max,
			   uint64_t *out)
{
	char *end;
	uint64_t v, mul = 1;

	errno = 0;
	v = strtoull(arg, &end, 10);
	if (end != arg && (*end == 'k' || *end == 'K'))
		mul = 1000, end++;
	else if (end != arg && (*end == 'm' || *end == 'M'))
		mul = 1000000, end++;
	else if (end != arg && (*end == 'g' || *end == 'G'))
		mul = 1000000000, end++;
	if (errno != 0 || end == arg || *end != '\0' || arg[0] == '-' ||
	    v > UINT64_MAX / mul || v * mul < min || v * mul > max) {
		fprintf(stderr, "aedb-bench: %s: '%s' is not a number in %" PRIu64 "..%" PRIu64
			"\n", what, arg, min, max);
		return -1;
	}
	*out = v * mul;
	return 0;
}

static int bench_parse_u32(const char *arg, const char *what, uint32_t min, uint32_t max,
			   uint32_t *out)
{
	uint64_t v;

	if (bench_parse_u64(arg, what, min, max, &v) < 0)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

static int bench_parse_secs(const char *arg, const char *what, double min, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(arg, &end);
	if (errno != 0 || end == arg || *end != '\0' || !(v >= min) || v > 1e6) {
		fprintf(stderr, "aedb-bench: %s: '%s' is not a number of seconds >= %g\n", what,
			arg, min);
		return -1;
	}
	*out = v;
	return 0;
}

static int bench_parse_threads(const char *arg, struct bench_opts *o)
{
	char buf[256], *save = NULL, *tok;

	snprintf(buf, sizeof(buf), "%s", arg);
	o->nthreads = 0;
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (o->nthreads == sizeof(o->threads) / sizeof(o->threads[0])) {
			fprintf(stderr, "aedb-bench: --threads: at most 16 counts\n");
			return -1;
		}
		if (bench_parse_u32(tok, "--threads", 1, BENCH_THREADS_MAX,
				    &o->threads[o->nthreads]) < 0)
			return -1;
		o->nthreads++;
	}
	if (o->nthreads == 0) {
		fprintf(stderr, "aedb-bench: --threads: empty list\n");
		return -1;
	}
	return 0;
}

static int bench_parse_name(const char *arg, const char *what, const char *const *names,
			    int count, int *out)
{
	for (int i = 0; i < count; i++) {
		if (strcmp(arg, names[i]) == 0) {
			*out = i;
			return 0;
		}
	}
	fprintf(stderr, "aedb-bench: %s: unknown '%s'\n", what, arg);
	return -1;
}

static int bench_parse_backend(const char *arg, struct bench_opts *o)
{
	const struct bench_backend *be = bench_backend_find(arg);

	if (!be) {
		fprintf(stderr, "aedb-bench: --backend: unknown '%s' (see --list)\n", arg);
		return -1;
	}
	o->backend = be;
	return 0;
}

static int bench_add_peer(struct bench_opts *o, const struct bench_backend *be)
{
	for (uint32_t i = 0; i < o->npeers; i++) {
		if (o->peers[i] == be)
			return 0;
	}
	if (o->npeers == BENCH_BACKENDS_MAX)
		return -1;
	o->peers[o->npeers++] = be;
	return 0;
}

/* --compare LIST: peer names, or "all" for every backend compiled in. The
 * primary backend (--backend, default aedb) is left out when run. */
static int bench_parse_compare(const char *arg, struct bench_opts *o)
{
	char buf[256], *save = NULL, *tok;
	const struct bench_backend *be;

	snprintf(buf, sizeof(buf), "%s", arg);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (strcmp(tok, "all") == 0) {
			for (size_t i = 1; i < BENCH_NBACKENDS; i++)
				bench_add_peer(o, bench_backends[i]);
			continue;
		}
		be = bench_backend_find(tok);
		if (!be) {
			fprintf(stderr, "aedb-bench: --compare: '%s' is not compiled in (see "
				"--list; scripts/bench-deps.sh installs the peers)\n", tok);
			return -1;
		}
		bench_add_peer(o, be);
	}
	if (o->npeers == 0)
		fprintf(stderr, "aedb-bench: --compare: no peer engine compiled in; "
			"running %s alone\n", o->backend->name);
	return 0;
}

static int bench_parse_enum(int c, const char *arg, struct bench_opts *o)
{
	static const char *const dists[] = { "uniform", "zipfian" };
	static const char *const durs[] = { "default", "full", "batch", "os" };
	int v;

	if (c == BENCH_OPT_DIST) {
		if (bench_parse_name(arg, "--dist", dists, 2, &v) < 0)
			return -1;
		o->dist = v == 0 ? BENCH_DIST_UNIFORM : BENCH_DIST_ZIPFIAN;
		return 0;
	}
	if (bench_parse_name(arg, "--durability", durs, 4, &v) < 0)
		return -1;
	o->durability = (enum bench_durability)v;
	return 0;
}

/* One option; returns 0, -1 (bad value) or 1 (stop: --help / --list). */
static int bench_parse_opt(int c, const char *arg, struct bench_opts *o, bool *timed)
{
	switch (c) {
	case 't':
		return bench_parse_threads(arg, o);
	case 's':
		return bench_parse_u32(arg, "--shards", 1, 1024, &o->shards);
	case 'n':
		return bench_parse_u64(arg, "--ops", 1, UINT64_MAX / 2, &o->ops);
	case 'd':
		*timed = true;
		return bench_parse_secs(arg, "--seconds", 0.001, &o->seconds);
	case 'k':
		return bench_parse_u64(arg, "--keys", 1, UINT64_C(1) << 40, &o->keys);
	case 'D':
		o->dir = arg;
		return 0;
	case BENCH_OPT_KEY_SIZE:
		return bench_parse_u32(arg, "--key-size", BENCH_KEY_BYTES_MIN, BENCH_KEY_SIZE_MAX,
				       &o->key_size);
	case BENCH_OPT_VALUE_SIZE:
		return bench_parse_u32(arg, "--value-size", 0, BENCH_VALUE_SIZE_MAX,
				       &o->value_size);
	case BENCH_OPT_WARMUP:
		return bench_parse_secs(arg, "--warmup", 0.0, &o->warmup_s);
	case BENCH_OPT_DEPTH:
		return bench_parse_u32(arg, "--depth", 1, BENCH_DEPTH_MAX, &o->depth);
	case BENCH_OPT_DIST:
	case BENCH_OPT_DURABILITY:
		return bench_parse_enum(c, arg, o);
	case BENCH_OPT_SEED:
		return bench_parse_u64(arg, "--seed", 0, UINT64_MAX, &o->seed);
	case BENCH_OPT_BACKEND:
		return bench_parse_backend(arg, o);
	case BENCH_OPT_COMPARE:
		return bench_parse_compare(arg, o);
	case BENCH_OPT_SCAN_LEN:
		return bench_parse_u32(arg, "--scan-len", 1, 10000, &o->scan_len);
	case BENCH_OPT_CACHE:
		return bench_parse_u64(arg, "--cache", 1 << 20, UINT64_C(1) << 40,
				       &o->cache_bytes);
	case BENCH_OPT_JSON:
		o->format = BENCH_FORMAT_JSON;
		o->json_out = stdout;
		return 0;
	case BENCH_OPT_JSON_OUT:
		if (o->json_out && o->json_out != stdout)
			fclose(o->json_out);
		o->json_out = fopen(arg, "w");
		if (!o->json_out) {
			fprintf(stderr, "aedb-bench: --json-out %s: %s\n", arg, strerror(errno));
			return -1;
		}
		return 0;
	case BENCH_OPT_KEEP:
		o->keep_dir = true;
		return 0;
	case BENCH_OPT_PIN:
		o->pin_threads = true;
		return 0;
	case BENCH_OPT_COPY_LOAD:
		o->copy_load = true;
		return 0;
	case BENCH_OPT_LOW_LATENCY:
		o->low_latency = true;
		return 0;
	default:
		return -1;
	}
}

static int bench_plan_add(struct bench_plan *p, const char *name)
{
	if (strcmp(name, "all") == 0) {
		for (uint32_t i = 0; i < bench_workload_count; i++) {
			if (bench_plan_add(p, bench_workloads[i].name) < 0)
				return -1;
		}
		return 0;
	}
	for (uint32_t i = 0; i < bench_workload_count; i++) {
		if (strcmp(name, bench_workloads[i].name) != 0)
			continue;
		if (p->n == BENCH_PLAN_MAX) {
			fprintf(stderr, "aedb-bench: at most %d workloads\n", BENCH_PLAN_MAX);
			return -1;
		}
		p->w[p->n++] = &bench_workloads[i];
		return 0;
	}
	fprintf(stderr, "aedb-bench: unknown workload '%s' (see --list)\n", name);
	return -1;
}

/* Thread count @arg for the entries [from, p->n) (a "WORKLOAD@N" token or a
 * bare number after one). */
static int bench_plan_threads(struct bench_plan *p, uint32_t from, const char *arg)
{
	uint32_t t;

	if (from == p->n ||
	    bench_parse_u32(arg, "WORKLOAD@THREADS", 1, BENCH_THREADS_MAX, &t) < 0)
		return -1;
	for (uint32_t i = from; i < p->n; i++) {
		if (p->nthreads[i] == 16) {
			fprintf(stderr, "aedb-bench: at most 16 thread counts per workload\n");
			return -1;
		}
		p->threads[i][p->nthreads[i]++] = t;
	}
	return 0;
}

/* "WORKLOAD[@T[,T...]][,WORKLOAD...]": a token of digits continues the
 * thread list of the workload before it. */
static int bench_plan_token(struct bench_plan *p, char *tok, uint32_t *from)
{
	char *at = strchr(tok, '@');

	if (tok[0] >= '0' && tok[0] <= '9')
		return bench_plan_threads(p, *from, tok);
	if (at)
		*at = '\0';
	*from = p->n;
	if (bench_plan_add(p, tok) < 0)
		return -1;
	if (!at)
		*from = p->n; /* no list: bare numbers after this are an error */
	return at ? bench_plan_threads(p, *from, at + 1) : 0;
}

static int bench_plan_parse(int argc, char **argv, struct bench_plan *p)
{
	char buf[256], *save, *tok;
	uint32_t from = 0;

	memset(p, 0, sizeof(*p));
	for (int i = 0; i < argc; i++) {
		snprintf(buf, sizeof(buf), "%s", argv[i]);
		save = NULL;
		for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
			if (bench_plan_token(p, tok, &from) < 0) {
				fprintf(stderr, "aedb-bench: bad workload list at '%s'\n", tok);
				return -1;
			}
		}
	}
	return p->n > 0 ? 0 : bench_plan_add(p, "all");
}

static void bench_list(void)
{
	printf("workloads:\n");
	for (uint32_t i = 0; i < bench_workload_count; i++) {
		const struct bench_workload *w = &bench_workloads[i];

		printf("  %-8s %s%s\n", w->name, w->about,
		       w->preload ? " (on a loaded keyspace)" : "");
	}
	printf("  %-8s every workload above\nbackends:\n", "all");
	for (size_t i = 0; i < BENCH_NBACKENDS; i++)
		printf("  %-10s %s%s\n", bench_backends[i]->name, bench_backends[i]->version(),
		       bench_backends[i]->prep_put ? " (blocking and submission queue)" : "");
}

static void bench_defaults(struct bench_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->backend = bench_backends[0];
	o->threads[0] = 1;
	o->threads[1] = 2;
	o->nthreads = 2;
	o->seconds = 5.0;
	o->warmup_s = 1.0;
	o->keys = 1000000;
	o->key_size = 16;
	o->value_size = 100;
	o->depth = 256;
	o->scan_len = 100;
	o->cache_bytes = UINT64_C(1) << 30;
	o->dist = BENCH_DIST_UNIFORM;
	o->seed = 1;
	o->dir = "/tmp";
}

/* Returns 0 to run, 1 to exit 0 (--help, --list), -1 on bad usage. */
static int bench_parse(int argc, char **argv, struct bench_opts *o, struct bench_plan *p)
{
	bool timed = false;
	int c, rc;

	bench_defaults(o);
	while ((c = getopt_long(argc, argv, "t:s:n:d:k:D:h", bench_long_opts, NULL)) != -1) {
		if (c == 'h') {
			bench_usage(stdout);
			return 1;
		}
		if (c == BENCH_OPT_LIST) {
			bench_list();
			return 1;
		}
		if (c == '?')
			return -1;
		rc = bench_parse_opt(c, optarg, o, &timed);
		if (rc != 0)
			return rc;
	}
	if (o->ops > 0 && timed) {
		fprintf(stderr, "aedb-bench: --ops and --seconds exclude each other\n");
		return -1;
	}
	return bench_plan_parse(argc - optind, argv + optind, p);
}

/* ------------------------------------------------------------------------ */
/* Data directories and instances                                            */
/* ------------------------------------------------------------------------ */

static void bench_backend_opts_fill(const struct bench_opts *o, const char *dir, bool durable,
				    struct bench_backend_opts *bo)
{
	*bo = (struct bench_backend_opts){
		.dir = dir, .shards = o->shards, .key_bytes = o->key_size,
		.value_bytes = o->value_size, .durability = o->durability,
		.pin_threads = o->pin_threads, .low_latency = o->low_latency,
		.durable_acks = durable, .cache_bytes = o->cache_bytes,
	};
}

/* ------------------------------------------------------------------------ */
/* The run                                                                   */
/* ------------------------------------------------------------------------ */

struct bench_session {
	const struct bench_opts *o;
	const struct bench_zipf *zipf;
	char base[PATH_MAX];
	uint32_t serial;
	bool opened_once;
	int skip;                    /* the primary engine cannot run here */
	/* per backend (0: primary, 1 + k: peers[k]): the loaded template */
	char tmpl[1 + BENCH_BACKENDS_MAX][PATH_MAX];
	struct bench_result *results;
	uint32_t nresults;
	uint32_t cap;
};

/* One engine instance: its backend options, directory and open handle. */
struct bench_instance {
	const struct bench_opts *o;  /* o->backend is the engine */
	struct bench_backend_opts bo;
	char dir[PATH_MAX];
	void *ctx;
};

/* Name @in's directory after @be and @what. */
static int bench_instance_dir(struct bench_session *s, const struct bench_opts *o,
			      const char *what, bool durable, struct bench_instance *in)
{
	int n = snprintf(in->dir, sizeof(in->dir), "%s/%02u-%s-%s", s->base, ++s->serial,
			 o->backend->name, what);

	in->o = o;
	in->ctx = NULL;
	if (n < 0 || (size_t)n >= sizeof(in->dir)) {
		fprintf(stderr, "aedb-bench: data directory path too long\n");
		return -1;
	}
	bench_backend_opts_fill(o, in->dir, durable, &in->bo);
	return 0;
}

/* Open the engine on in->dir (empty, or a copy of a loaded instance). */
static int bench_instance_start(struct bench_session *s, struct bench_instance *in)
{
	const struct bench_backend *be = in->o->backend;
	int rc = be->open(&in->bo, &in->ctx);

	if (rc < 0) {
		in->ctx = NULL;
		if (!s->opened_once && be == s->o->backend && be->unavailable(rc))
			s->skip = 1;
		fprintf(stderr, "aedb-bench: cannot open %s in %s: %s\n", be->name, in->dir,
			be->strerror(rc));
		return -1;
	}
	s->opened_once = true;
	return 0;
}

/* Close the engine; remove its directory unless @keep or --keep. */
static int bench_instance_close(struct bench_instance *in, bool keep)
{
	int rc = 0;

	if (in->ctx)
		rc = in->o->backend->close(in->ctx);
	in->ctx = NULL;
	if (!keep && !in->o->keep_dir)
		bench_rm_tree(in->dir);
	return rc < 0 ? -1 : 0;
}

/*
 * The loaded template of backend @slot: made on first use by opening a
 * fresh instance, loading --keys keys into it and closing it cleanly; kept
 * until the end of the run. Returns its directory or NULL.
 */
static const char *bench_session_template(struct bench_session *s, const struct bench_opts *o,
					  uint32_t slot)
{
	struct bench_instance in;
	int rc;

	if (s->tmpl[slot][0] != '\0')
		return s->tmpl[slot];
	if (bench_instance_dir(s, o, "loaded", false, &in) < 0 ||
	    bench_instance_start(s, &in) < 0)
		return NULL;
	rc = bench_load(o, in.ctx);
	if (bench_instance_close(&in, rc == 0) < 0 || rc < 0) {
		bench_rm_tree(in.dir);
		return NULL;
	}
	snprintf(s->tmpl[slot], sizeof(s->tmpl[slot]), "%s", in.dir);
	return s->tmpl[slot];
}

/* A fresh instance for one backend and workload: empty; for workloads on a
 * loaded keyspace then loaded, or with --copy-load a copy of the backend's
 * template. */
static int bench_instance_open(struct bench_session *s, const struct bench_opts *o,
			       const struct bench_workload *w, uint32_t slot,
			       struct bench_instance *in)
{
	const char *tmpl = NULL;
	uint64_t t0 = bench_now_ns();
	int rc;

	if (w->preload && o->copy_load && !(tmpl = bench_session_template(s, o, slot)))
		return -1;
	if (bench_instance_dir(s, o, w->name, w->durable, in) < 0)
		return -1;
	if (tmpl) {
		t0 = bench_now_ns();
		rc = bench_copy_tree(tmpl, in->dir);
		if (rc < 0) {
			fprintf(stderr, "aedb-bench: copy %s to %s: %s\n", tmpl, in->dir,
				strerror(-rc));
			bench_rm_tree(in->dir);
			return -1;
		}
	}
	if (bench_instance_start(s, in) < 0) {
		bench_rm_tree(in->dir);
		return -1;
	}
	if (tmpl)
		fprintf(stderr, "aedb-bench: %s: copied the loaded instance and reopened it in "
			"%.2f s\n", o->backend->name, (double)(bench_now_ns() - t0) / 1e9);
	if (w->preload && !tmpl && bench_load(o, in->ctx) < 0) {
		bench_instance_close(in, false);
		return -1;
	}
	return 0;
}

/* Record @res: settings line (plus @note), ratio against the primary, report. */
static void bench_session_emit(struct bench_session *s, const struct bench_opts *o,
			       const struct bench_backend_opts *bo, const char *note,
			       struct bench_result *res)
{
	size_t n;

	o->backend->settings(bo, res->settings, sizeof(res->settings));
	n = strlen(res->settings);
	if (note)
		snprintf(res->settings + n, sizeof(res->settings) - n, "%s", note);
	if (o->backend != s->o->backend)
		bench_compare_ratio(res, s->results, s->nresults, s->o->backend->name);
	bench_report_result(res, o);
	s->nresults++;
}

/* Workload "recover": --keys records ingested by a child that is then
 * SIGKILLed; the result is the reopen (records/s, log MB/s). */
static int bench_session_recover(struct bench_session *s, const struct bench_opts *o,
				 const struct bench_workload *w)
{
	const struct bench_backend *be = o->backend;
	struct bench_result *res = &s->results[s->nresults];
	struct bench_instance in;
	struct bench_recovery rec = { 0 };
	int rc;

	if (bench_instance_dir(s, o, w->name, true, &in) < 0)
		return -1;
	if (be->recover)
		rc = be->recover(&in.bo, o->keys, &rec);
	else
		rc = bench_recover_generic(be, &in.bo, o->keys, &rec);
	*res = (struct bench_result){
		.workload = w->name, .backend = be->name, .dist = "sequential",
		.threads = 1, .shards = o->shards, .ops = rec.records, .seconds = rec.seconds,
		.ops_per_sec = rec.seconds > 0 ? (double)rec.records / rec.seconds : 0,
		.us_mean = rec.seconds * 1e6, .us_p50 = rec.seconds * 1e6,
		.us_p90 = rec.seconds * 1e6, .us_p99 = rec.seconds * 1e6,
		.us_p999 = rec.seconds * 1e6, .us_max = rec.seconds * 1e6,
		.log_bytes_per_op = rec.records ? (double)rec.log_bytes / (double)rec.records : 0,
		.log_mb_per_sec = rec.seconds > 0 ? (double)rec.log_bytes / 1e6 / rec.seconds : 0,
		.failed = rc < 0,
	};
	if (rc < 0)
		fprintf(stderr, "aedb-bench: %s recover: %s\n", be->name, be->strerror(rc));
	bench_session_emit(s, o, &in.bo, be->recover ?
			   "; SIGKILLed after its own ingest (1,024 in flight + aedb_force_fsync)" :
			   "; SIGKILLed after durable transactions of 1,000", res);
	bench_instance_close(&in, false);
	return rc < 0 ? -1 : 0;
}

static int bench_session_result(struct bench_session *s, const struct bench_opts *o,
				struct bench_instance *in, const struct bench_workload *w,
				uint32_t threads)
{
	struct bench_result *res = &s->results[s->nresults];
	int rc = bench_run(o, in->ctx, w, threads, s->zipf, res);

	if (w->op == BENCH_OP_PUT && o->backend->log_bytes_per_commit)
		res->log_bytes_per_op = o->backend->log_bytes_per_commit(in->ctx);
	if (!atomic_load(&bench_interrupted))
		bench_session_emit(s, o, &in->bo, NULL, res);
	return rc;
}

/* Can @be run @w? If not, say why on stderr. */
static bool bench_session_supports(const struct bench_backend *be,
				   const struct bench_workload *w)
{
	const char *why = NULL;

	if (w->async && !be->prep_put)
		why = "has no submission queue";
	else if ((w->op == BENCH_OP_SCAN || (w->op == BENCH_OP_MIX &&
		  w->pct[BENCH_KIND_SCAN] > 0)) && !be->scan)
		why = "cannot scan";
	else if (w->op == BENCH_OP_BATCH && !be->put_batch)
		why = "cannot write batches";
	else if (w->op == BENCH_OP_TRANSFER && !be->transfer)
		why = "has no shards to transfer across";
	else if (w->op == BENCH_OP_ACC && (!be->accumulate || (w->async && !be->prep_acc)))
		why = "has no accumulators";
	if (why)
		fprintf(stderr, "aedb-bench: %s %s; skipping %s\n", be->name, why, w->name);
	return why == NULL;
}

/* Every result of workload @i of @p on backend @slot (@be): a fresh
 * instance per result for the write workloads, one per workload (loaded, or
 * a copy of the loaded template) for the others. */
static int bench_session_backend(struct bench_session *s, const struct bench_plan *p,
				 uint32_t i, uint32_t slot, const struct bench_backend *be)
{
	const struct bench_workload *w = p->w[i];
	struct bench_opts o = *s->o;
	struct bench_instance in = { .o = &o };
	int rc = 0;

	o.backend = be;
	if (!bench_session_supports(be, w))
		return 0;
	if (w->op == BENCH_OP_RECOVER)
		return bench_session_recover(s, &o, w);
	if (p->nthreads[i] > 0) {
		memcpy(o.threads, p->threads[i], sizeof(o.threads));
		o.nthreads = p->nthreads[i];
	}
	if (w->once)
		o.nthreads = 1, o.threads[0] = 1;
	if (w->op == BENCH_OP_BATCH)
		o.ops = o.keys, o.warmup_s = 0;
	for (uint32_t t = 0; t < o.nthreads && rc == 0; t++) {
		if (!in.ctx && bench_instance_open(s, &o, w, slot, &in) < 0)
			return -1;
		rc = bench_session_result(s, &o, &in, w, o.threads[t]);
		if (atomic_load(&bench_interrupted))
			rc = -1;
		if ((!w->preload || t + 1 == o.nthreads || rc < 0) &&
		    bench_instance_close(&in, false) < 0)
			rc = -1;
	}
	return rc;
}

static int bench_session_run(struct bench_session *s, const struct bench_plan *p)
{
	const struct bench_opts *o = s->o;

	for (uint32_t i = 0; i < p->n; i++) {
		if (bench_session_backend(s, p, i, 0, o->backend) < 0)
			return -1;
		for (uint32_t k = 0; k < o->npeers; k++) {
			if (o->peers[k] == o->backend)
				continue;
			if (bench_session_backend(s, p, i, 1 + k, o->peers[k]) < 0)
				return -1;
		}
	}
	return 0;
}

static void bench_on_signal(int sig)
{
	(void)sig;
	atomic_store(&bench_interrupted, 1);
}

static void bench_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = bench_on_signal;
	sa.sa_flags = SA_RESETHAND; /* a second ^C kills at once */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

static bool bench_plan_zipfian(const struct bench_opts *o, const struct bench_plan *p)
{
	if (o->dist == BENCH_DIST_ZIPFIAN)
		return true;
	for (uint32_t i = 0; i < p->n; i++) {
		if (p->w[i]->zipfian)
			return true;
	}
	return false;
}

static int bench_prepare(const struct bench_opts *o, struct bench_session *s,
			 struct bench_zipf *zipf, const struct bench_plan *p)
{
	int n;

	s->cap = 0;
	for (uint32_t i = 0; i < p->n; i++)
		s->cap += (p->nthreads[i] ? p->nthreads[i] : o->nthreads) * (1 + o->npeers);
	s->results = calloc(s->cap, sizeof(*s->results));
	if (!s->results) {
		fprintf(stderr, "aedb-bench: out of memory\n");
		return -1;
	}
	if (bench_plan_zipfian(o, p)) {
		if (bench_zipf_init(zipf, o->keys, BENCH_ZIPF_THETA) < 0) {
			fprintf(stderr, "aedb-bench: cannot set up the zipfian generator\n");
			return -1;
		}
		s->zipf = zipf;
	}
	n = snprintf(s->base, sizeof(s->base), "%s/aedb-bench.XXXXXX", o->dir);
	if (n < 0 || (size_t)n >= sizeof(s->base) || !mkdtemp(s->base)) {
		fprintf(stderr, "aedb-bench: cannot make a directory in %s: %s\n", o->dir,
			strerror(errno));
		s->base[0] = '\0';
		return -1;
	}
	return 0;
}

static int bench_exit_code(const struct bench_session *s, int rc)
{
	if (atomic_load(&bench_interrupted)) {
		fprintf(stderr, "aedb-bench: interrupted\n");
		return BENCH_EXIT_INTERRUPTED;
	}
	if (s->skip) {
		fprintf(stderr, "aedb-bench: skipped: %s cannot run in this environment\n",
			s->o->backend->name);
		return BENCH_EXIT_SKIP;
	}
	return rc < 0 ? BENCH_EXIT_FAIL : 0;
}

int main(int argc, char **argv)
{
	struct bench_opts o;
	struct bench_plan plan;
	struct bench_machine machine;
	struct bench_zipf zipf;
	struct bench_session s;
	int rc;

	if (argc > 1 && strcmp(argv[1], "--recover-child") == 0)
		bench_recover_child(argc, argv);
	rc = bench_parse(argc, argv, &o, &plan);
	if (rc != 0)
		return rc > 0 ? 0 : BENCH_EXIT_USAGE;
	memset(&s, 0, sizeof(s));
	s.o = &o;
	bench_signals();
	rc = bench_prepare(&o, &s, &zipf, &plan);
	if (rc == 0) {
		bench_machine_probe(&machine, o.backend);
		bench_report_header(&machine, &o);
		rc = bench_session_run(&s, &plan);
		bench_report_finish(s.results, s.nresults, &o);
		if (o.npeers > 0)
			bench_compare_report(s.results, s.nresults, &o);
	}
	if (s.base[0] != '\0') {
		if (o.keep_dir)
			fprintf(stderr, "aedb-bench: data kept in %s\n", s.base);
		else
			bench_rm_tree(s.base);
	}
	free(s.results);
	return bench_exit_code(&s, rc);
}
