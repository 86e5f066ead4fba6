/* SPDX-License-Identifier: MIT */
/*
 * bench_compare.c - --compare: the primary engine (aedb) and its peers side
 * by side.
 *
 * Every result of a peer gets a ratio against the primary's result of the
 * same workload and thread count, made earlier in the same run: primary
 * ops/s over peer ops/s, so > 1 means aedb did more work per second (for
 * "recover": peer reopen seconds over aedb reopen seconds, > 1 means aedb
 * came back sooner). After the run, the table format prints one block per
 * workload and thread count, a row per engine with its throughput, latency
 * percentiles, ratio and settings line; --json prints one
 * {"type":"compare",...} line per block instead.
 */
#include "bench.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

static bool bench_same_group(const struct bench_result *a, const struct bench_result *b)
{
	return strcmp(a->workload, b->workload) == 0 && a->threads == b->threads;
}

static double bench_ratio(const struct bench_result *base, const struct bench_result *r)
{
	if (base->failed || r->failed)
		return 0.0;
	if (strcmp(r->workload, "recover") == 0)
		return base->seconds > 0 ? r->seconds / base->seconds : 0.0;
	return r->ops_per_sec > 0 ? base->ops_per_sec / r->ops_per_sec : 0.0;
}

void bench_compare_ratio(struct bench_result *r, const struct bench_result *rs, uint32_t n,
			 const char *primary)
{
	r->ratio = 0.0;
	for (uint32_t i = 0; i < n; i++) {
		if (strcmp(rs[i].backend, primary) == 0 && bench_same_group(&rs[i], r)) {
			r->ratio = bench_ratio(&rs[i], r);
			return;
		}
	}
}

/* Was an earlier result of @rs[0..i) in the same group as rs[i]? */
static bool bench_group_seen(const struct bench_result *rs, uint32_t i)
{
	for (uint32_t j = 0; j < i; j++) {
		if (bench_same_group(&rs[j], &rs[i]))
			return true;
	}
	return false;
}

static void bench_compare_row(const struct bench_result *r, const char *primary)
{
	char ratio[16];

	if (strcmp(r->backend, primary) == 0)
		snprintf(ratio, sizeof(ratio), "-");
	else if (r->ratio > 0)
		snprintf(ratio, sizeof(ratio), "%.2fx", r->ratio);
	else
		snprintf(ratio, sizeof(ratio), "n/a");
	if (strcmp(r->workload, "recover") == 0)
		printf("  %-10s %12.0f %10.3f s (reopen) %29s %9s  %s%s\n", r->backend,
		       r->ops_per_sec, r->seconds, "", ratio, r->settings,
		       r->failed ? "  FAILED" : "");
	else
		printf("  %-10s %12.0f %10.2f %10.2f %10.2f %10.2f %9s  %s%s\n", r->backend,
		       r->ops_per_sec, r->us_p50, r->us_p90, r->us_p99, r->us_p999, ratio,
		       r->settings, r->failed ? "  FAILED" : "");
}

static json_t *bench_compare_json(const struct bench_result *rs, uint32_t n, uint32_t first,
				  const char *primary)
{
	json_t *obj = json_object(), *rows = json_array();

	if (!obj || !rows) {
		json_decref(obj);
		json_decref(rows);
		return NULL;
	}
	json_object_set_new(obj, "type", json_string("compare"));
	json_object_set_new(obj, "workload", json_string(rs[first].workload));
	json_object_set_new(obj, "threads", json_integer(rs[first].threads));
	json_object_set_new(obj, "primary", json_string(primary));
	for (uint32_t i = first; i < n; i++) {
		const struct bench_result *r = &rs[i];
		json_t *row;

		if (!bench_same_group(r, &rs[first]))
			continue;
		row = json_pack("{s:s, s:f, s:f, s:f, s:f, s:f, s:f, s:s, s:s}",
				"backend", r->backend, "ops_per_sec", round(r->ops_per_sec),
				"seconds", r->seconds, "latency_us_p50", r->us_p50,
				"latency_us_p90", r->us_p90, "latency_us_p99", r->us_p99,
				"latency_us_p999", r->us_p999, "settings", r->settings,
				"status", r->failed ? "failed" : "ok");
		if (row && strcmp(r->backend, primary) != 0)
			json_object_set_new(row, "ratio", json_real(r->ratio));
		json_array_append_new(rows, row);
	}
	json_object_set_new(obj, "rows", rows);
	return obj;
}

void bench_compare_report(const struct bench_result *rs, uint32_t n, const struct bench_opts *o)
{
	const char *primary = o->backend->name;
	char head[32];

	snprintf(head, sizeof(head), "%s/peer", primary);
	if (o->format != BENCH_FORMAT_JSON)
		printf("\n# compare: ratio = %s ops/s / peer ops/s (recover: peer reopen time / "
		       "%s reopen time); > 1: %s faster\n", primary, primary, primary);
	for (uint32_t i = 0; i < n; i++) {
		if (bench_group_seen(rs, i))
			continue;
		if (o->json_out)
			bench_print_json(o, bench_compare_json(rs, n, i, primary));
		if (o->format == BENCH_FORMAT_JSON)
			continue;
		printf("\n%s, %u thread%s, %s keys:\n  %-10s %12s %10s %10s %10s %10s %9s  %s\n",
		       rs[i].workload, rs[i].threads, rs[i].threads == 1 ? "" : "s", rs[i].dist,
		       "backend", "ops/s", "p50_us", "p90_us", "p99_us", "p99.9_us", head,
		       "settings");
		for (uint32_t j = i; j < n; j++) {
			if (bench_same_group(&rs[j], &rs[i]))
				bench_compare_row(&rs[j], primary);
		}
	}
	fflush(stdout);
}
