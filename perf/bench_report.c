/* SPDX-License-Identifier: MIT */
/*
 * bench_report.c - what aedb-bench prints.
 *
 * Once per run: the machine facts (CPU model, online CPUs, memory, kernel,
 * engine version, compiler and build type) and the run's settings.
 * Per result, in the default table format: one aligned row as the result
 * completes, then after the table one "RESULT key=value ..." line per
 * result. With --json: one JSON object per line instead, the machine facts
 * first ("type":"machine"), then one per result ("type":"result"). The
 * key=value lines and the JSON objects carry the same fields, built once by
 * bench_result_json(); units go last in field names (latency_us_p99).
 */
#include "bench.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#define BENCH_JSON_FLAGS (JSON_COMPACT | JSON_REAL_PRECISION(15))

/* ------------------------------------------------------------------------ */
/* Machine facts                                                             */
/* ------------------------------------------------------------------------ */

static void bench_trim(char *s)
{
	size_t n = strlen(s);

	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = '\0';
}

/* The value of the first "@key<blanks>: value" line of @path, or false. */
static bool bench_proc_field(const char *path, const char *key, char *out, size_t len)
{
	size_t klen = strlen(key);
	char line[512];
	bool found = false;
	FILE *f = fopen(path, "r");

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		char *colon = strchr(line, ':');

		if (strncmp(line, key, klen) != 0 || !colon)
			continue;
		if (strspn(line + klen, " \t") != (size_t)(colon - line - (ptrdiff_t)klen))
			continue;
		colon++;
		colon += strspn(colon, " \t");
		snprintf(out, len, "%s", colon);
		bench_trim(out);
		found = out[0] != '\0';
	}
	fclose(f);
	return found;
}

static void bench_probe_cpu(struct bench_machine *m, const struct utsname *u)
{
	static const char *const keys[] = { "model name", "Hardware", "cpu model", "cpu" };

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (bench_proc_field("/proc/cpuinfo", keys[i], m->cpu, sizeof(m->cpu)))
			return;
	}
	snprintf(m->cpu, sizeof(m->cpu), "unknown %s", u ? u->machine : "cpu");
}

/* The cgroup CPU limit (v2 cpu.max, else v1 CFS quota), in CPUs; 0 = none. */
static double bench_probe_quota(void)
{
	char buf[64] = "";
	long long quota = -1, period = 0;
	FILE *f = fopen("/sys/fs/cgroup/cpu.max", "r");

	if (f) {
		if (fgets(buf, sizeof(buf), f) && sscanf(buf, "%lld %lld", &quota, &period) != 2)
			quota = -1;
		fclose(f);
	} else {
		f = fopen("/sys/fs/cgroup/cpu/cpu.cfs_quota_us", "r");
		if (f) {
			if (fscanf(f, "%lld", &quota) != 1)
				quota = -1;
			fclose(f);
		}
		f = fopen("/sys/fs/cgroup/cpu/cpu.cfs_period_us", "r");
		if (f) {
			if (fscanf(f, "%lld", &period) != 1)
				period = 0;
			fclose(f);
		}
	}
	return quota > 0 && period > 0 ? (double)quota / (double)period : 0.0;
}

static double bench_probe_load(void)
{
	double load = 0.0;
	FILE *f = fopen("/proc/loadavg", "r");

	if (f) {
		if (fscanf(f, "%lf", &load) != 1)
			load = 0.0;
		fclose(f);
	}
	return load;
}

#ifndef __has_feature
#define __has_feature(x) 0
#endif

static bool bench_sanitized(void)
{
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
	return true;
#elif __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
	return true;
#else
	return false;
#endif
}

void bench_machine_probe(struct bench_machine *m, const struct bench_backend *be)
{
	struct utsname u;
	char mem[64];
	time_t now = time(NULL);
	struct tm tm;
	bool have_uname = uname(&u) == 0;

	memset(m, 0, sizeof(*m));
	bench_probe_cpu(m, have_uname ? &u : NULL);
	m->nproc = sysconf(_SC_NPROCESSORS_ONLN);
	m->cpu_quota = bench_probe_quota();
	m->loadavg_1m = bench_probe_load();
	if (have_uname)
		snprintf(m->kernel, sizeof(m->kernel), "%s %s %s", u.sysname, u.release,
			 u.machine);
	else
		snprintf(m->kernel, sizeof(m->kernel), "unknown");
	if (bench_proc_field("/proc/meminfo", "MemTotal", mem, sizeof(mem)))
		m->mem_bytes = strtoull(mem, NULL, 10) * 1024u;
#if defined(__clang__)
	snprintf(m->compiler, sizeof(m->compiler), "clang %s", __clang_version__);
#elif defined(__GNUC__)
	snprintf(m->compiler, sizeof(m->compiler), "gcc %s", __VERSION__);
#else
	snprintf(m->compiler, sizeof(m->compiler), "unknown");
#endif
	bench_trim(m->compiler);
	snprintf(m->engine, sizeof(m->engine), "%s %s", be->name, be->version());
	if (gmtime_r(&now, &tm))
		strftime(m->start_utc, sizeof(m->start_utc), "%Y-%m-%dT%H:%M:%SZ", &tm);
#ifdef __OPTIMIZE__
	m->optimized = true;
#endif
#ifndef NDEBUG
	m->asserts = true;
#endif
	m->sanitized = bench_sanitized();
}

/* ------------------------------------------------------------------------ */
/* JSON building                                                             */
/* ------------------------------------------------------------------------ */

static const char *bench_durability_name(enum bench_durability d)
{
	static const char *const names[] = { "default", "full", "batch", "os" };

	return (unsigned)d < 4 ? names[d] : "?";
}

static void bench_set(json_t *obj, const char *key, json_t *val)
{
	/* json_object_set_new() takes the reference even when it fails; a
	 * NULL value (out of memory) just leaves the field out. */
	json_object_set_new(obj, key, val);
}

static double bench_round(double x, int digits)
{
	double scale = pow(10.0, digits);

	return round(x * scale) / scale;
}

static void bench_json_opts(json_t *obj, const struct bench_opts *o)
{
	bench_set(obj, "key_size", json_integer(o->key_size));
	bench_set(obj, "value_size", json_integer(o->value_size));
	bench_set(obj, "keys", json_integer((json_int_t)o->keys));
	bench_set(obj, "warmup_s", json_real(o->warmup_s));
	bench_set(obj, "durability", json_string(bench_durability_name(o->durability)));
	bench_set(obj, "profile", json_string(o->low_latency ? "low-latency" : "default"));
	bench_set(obj, "pin", json_boolean(o->pin_threads));
	bench_set(obj, "seed", json_integer((json_int_t)o->seed));
}

static json_t *bench_result_json(const struct bench_result *r, const struct bench_opts *o,
				 bool typed)
{
	json_t *obj = json_object();

	if (!obj)
		return NULL;
	if (typed)
		bench_set(obj, "type", json_string("result"));
	bench_set(obj, "workload", json_string(r->workload));
	bench_set(obj, "backend", json_string(r->backend));
	bench_set(obj, "threads", json_integer(r->threads));
	bench_set(obj, "shards", json_integer(r->shards));
	bench_set(obj, "depth", json_integer(r->depth));
	bench_set(obj, "dist", json_string(r->dist));
	bench_json_opts(obj, o);
	bench_set(obj, "ops", json_integer((json_int_t)r->ops));
	bench_set(obj, "seconds", json_real(bench_round(r->seconds, 6)));
	bench_set(obj, "ops_per_sec", json_real(bench_round(r->ops_per_sec, 1)));
	bench_set(obj, "cpu_cores", json_real(bench_round(r->cpu_cores, 2)));
	bench_set(obj, "latency_us_mean", json_real(bench_round(r->us_mean, 3)));
	bench_set(obj, "latency_us_p50", json_real(bench_round(r->us_p50, 3)));
	bench_set(obj, "latency_us_p90", json_real(bench_round(r->us_p90, 3)));
	bench_set(obj, "latency_us_p99", json_real(bench_round(r->us_p99, 3)));
	bench_set(obj, "latency_us_p999", json_real(bench_round(r->us_p999, 3)));
	bench_set(obj, "latency_us_max", json_real(bench_round(r->us_max, 3)));
	bench_set(obj, "retries", json_integer((json_int_t)r->retries));
	bench_set(obj, "misses", json_integer((json_int_t)r->misses));
	if (r->log_bytes_per_op > 0)
		bench_set(obj, "log_bytes_per_op", json_real(bench_round(r->log_bytes_per_op, 1)));
	if (r->log_mb_per_sec > 0)
		bench_set(obj, "log_mb_per_sec", json_real(bench_round(r->log_mb_per_sec, 1)));
	if (r->rows_per_op > 0)
		bench_set(obj, "rows_per_op", json_real(bench_round(r->rows_per_op, 2)));
	if (r->ratio > 0)
		bench_set(obj, "ratio", json_real(bench_round(r->ratio, 3)));
	if (typed)
		bench_set(obj, "settings", json_string(r->settings));
	bench_set(obj, "status", json_string(r->failed ? "failed" : "ok"));
	return obj;
}

static json_t *bench_peers_json(const struct bench_opts *o)
{
	json_t *arr = json_array();

	for (uint32_t i = 0; arr && i < o->npeers; i++)
		json_array_append_new(arr, json_string(o->peers[i]->version()));
	return arr;
}

static json_t *bench_machine_json(const struct bench_machine *m, const struct bench_opts *o)
{
	json_t *obj = json_object();

	if (!obj)
		return NULL;
	bench_set(obj, "type", json_string("machine"));
	bench_set(obj, "cpu", json_string(m->cpu));
	bench_set(obj, "nproc", json_integer(m->nproc));
	bench_set(obj, "cpu_quota", json_real(bench_round(m->cpu_quota, 2)));
	bench_set(obj, "loadavg_1m", json_real(m->loadavg_1m));
	bench_set(obj, "mem_bytes", json_integer((json_int_t)m->mem_bytes));
	bench_set(obj, "kernel", json_string(m->kernel));
	bench_set(obj, "engine", json_string(m->engine));
	bench_set(obj, "compiler", json_string(m->compiler));
	bench_set(obj, "optimized", json_boolean(m->optimized));
	bench_set(obj, "asserts", json_boolean(m->asserts));
	bench_set(obj, "sanitized", json_boolean(m->sanitized));
	bench_set(obj, "start_utc", json_string(m->start_utc));
	bench_set(obj, "dist", json_string(bench_dist_name(o->dist)));
	bench_set(obj, "depth", json_integer(o->depth));
	bench_set(obj, "scan_len", json_integer(o->scan_len));
	bench_set(obj, "cache_bytes", json_integer((json_int_t)o->cache_bytes));
	bench_set(obj, "peers", bench_peers_json(o));
	bench_set(obj, "ops", json_integer((json_int_t)o->ops));
	bench_set(obj, "seconds", json_real(o->ops ? 0.0 : o->seconds));
	bench_json_opts(obj, o);
	return obj;
}

/* One JSON line to o->json_out (stdout with --json, or the --json-out file);
 * takes @obj's reference. */
void bench_print_json(const struct bench_opts *o, json_t *obj)
{
	char *text = obj ? json_dumps(obj, BENCH_JSON_FLAGS) : NULL;

	json_decref(obj);
	if (!text) {
		fprintf(stderr, "aedb-bench: cannot format a JSON line (out of memory)\n");
		return;
	}
	fprintf(o->json_out, "%s\n", text);
	fflush(o->json_out);
	free(text);
}

/* ------------------------------------------------------------------------ */
/* Output                                                                    */
/* ------------------------------------------------------------------------ */

void bench_report_header(const struct bench_machine *m, const struct bench_opts *o)
{
	if (o->json_out)
		bench_print_json(o, bench_machine_json(m, o));
	if (o->format == BENCH_FORMAT_JSON)
		return;
	printf("# machine: %s | %ld online CPUs", m->cpu, m->nproc);
	if (m->cpu_quota > 0)
		printf(" (cgroup quota %.2f)", m->cpu_quota);
	printf(" | %.1f GiB | %s | load %.2f\n", (double)m->mem_bytes / (1024.0 * 1024 * 1024),
	       m->kernel, m->loadavg_1m);
	printf("# engine:  %s | %s | %s, asserts %s%s | %s\n", m->engine, m->compiler,
	       m->optimized ? "optimized" : "NOT optimized", m->asserts ? "on" : "off",
	       m->sanitized ? ", SANITIZED" : "", m->start_utc);
	printf("# config:  dist %s | keys %" PRIu64 " | key %u B | value %u B | depth %u | ",
	       bench_dist_name(o->dist), o->keys, o->key_size, o->value_size, o->depth);
	if (o->ops)
		printf("ops %" PRIu64, o->ops);
	else
		printf("seconds %g", o->seconds);
	printf(" | warmup %g s | durability %s | %s%s | seed %" PRIu64 "\n", o->warmup_s,
	       bench_durability_name(o->durability),
	       o->low_latency ? "low-latency" : "default profile",
	       o->pin_threads ? ", pinned" : "", o->seed);
	if (o->npeers > 0) {
		printf("# peers:  ");
		for (uint32_t i = 0; i < o->npeers; i++)
			printf("%s%s", i ? " | " : " ", o->peers[i]->version());
		printf(" | cache %llu MiB | scan %u\n", (unsigned long long)(o->cache_bytes >> 20),
		       o->scan_len);
	}
	if (!m->optimized || m->sanitized)
		printf("# warning: %s build; figures are not representative\n",
		       m->sanitized ? "sanitizer" : "unoptimized");
	fflush(stdout);
}

static void bench_table_head(void)
{
	printf("%-8s %-10s %3s %6s %5s %-8s %11s %7s %11s %5s %9s %9s %9s %9s %9s %9s\n",
	       "workload", "backend", "thr", "shards", "depth", "dist", "ops", "secs",
	       "ops/s", "cpu", "mean_us", "p50_us", "p90_us", "p99_us", "p99.9_us", "max_us");
}

/* Table format: "# <backend>: <settings>" before the first row that has them. */
static void bench_settings_line(const struct bench_result *r)
{
	static char seen[32][sizeof(r->settings) + 16];
	static uint32_t nseen;
	char line[sizeof(seen[0])];

	if (r->settings[0] == '\0')
		return;
	snprintf(line, sizeof(line), "%s: %s", r->backend, r->settings);
	for (uint32_t i = 0; i < nseen; i++) {
		if (strcmp(seen[i], line) == 0)
			return;
	}
	if (nseen < 32)
		memcpy(seen[nseen++], line, sizeof(line));
	printf("# %s\n", line);
}

void bench_report_result(const struct bench_result *r, const struct bench_opts *o)
{
	static bool head_done;

	if (o->json_out)
		bench_print_json(o, bench_result_json(r, o, true));
	if (o->format == BENCH_FORMAT_JSON)
		return;
	if (!head_done) {
		bench_table_head();
		head_done = true;
	}
	bench_settings_line(r);
	printf("%-8s %-10s %3u %6u %5u %-8s %11" PRIu64 " %7.2f %11.0f %5.2f "
	       "%9.2f %9.2f %9.2f %9.2f %9.2f %9.1f%s\n",
	       r->workload, r->backend, r->threads, r->shards, r->depth, r->dist, r->ops,
	       r->seconds, r->ops_per_sec, r->cpu_cores, r->us_mean, r->us_p50, r->us_p90,
	       r->us_p99, r->us_p999, r->us_max, r->failed ? "  FAILED" : "");
	fflush(stdout);
}

static void bench_print_kv(json_t *obj)
{
	const char *key;
	json_t *val;

	printf("RESULT");
	json_object_foreach(obj, key, val) {
		if (json_is_string(val))
			printf(" %s=%s", key, json_string_value(val));
		else if (json_is_integer(val))
			printf(" %s=%" JSON_INTEGER_FORMAT, key, json_integer_value(val));
		else if (json_is_real(val))
			printf(" %s=%.15g", key, json_real_value(val));
		else if (json_is_boolean(val))
			printf(" %s=%s", key, json_is_true(val) ? "true" : "false");
	}
	printf("\n");
}

void bench_report_finish(const struct bench_result *rs, uint32_t n, const struct bench_opts *o)
{
	json_t *obj;

	if (o->format == BENCH_FORMAT_JSON || n == 0)
		return;
	printf("\n");
	for (uint32_t i = 0; i < n; i++) {
		obj = bench_result_json(&rs[i], o, false);
		if (!obj) {
			fprintf(stderr, "aedb-bench: out of memory\n");
			continue;
		}
		bench_print_kv(obj);
		json_decref(obj);
	}
	fflush(stdout);
}
