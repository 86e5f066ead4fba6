/* SPDX-License-Identifier: MIT */
/*
 * aedb_operational_metrics(): sums what every shard publishes (shard/metrics.c
 * for commit latency and outcomes, the WAL's and the allocator's counters),
 * reads the watermarks, the checkpoint's age and the active readers, and
 * lists each shard's WAL directory. Runs on the caller's thread; shards
 * never wait for it.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/checkpoint.h"
#include "api/db.h"
#include "core/assert.h"
#include "core/clock.h"
#include "shard/shard.h"

#define MET_P50 500000u
#define MET_P99 990000u
#define MET_P999 999000u

static uint64_t met_ld(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

/* Segment files in wal/<shard>/ and their bytes on disk. */
static void met_wal_dir(struct aedb *db, uint32_t shard, struct aedb_shard_metrics *o)
{
	char path[4096];
	struct dirent *e;
	struct stat st;
	DIR *d;

	snprintf(path, sizeof(path), "%s/wal/%u", db->path, shard);
	d = opendir(path);
	if (!d)
		return;
	while ((e = readdir(d)) != NULL) {
		size_t n = strlen(e->d_name);

		if (n < 5 || strcmp(e->d_name + n - 4, ".seg") != 0)
			continue;
		if (fstatat(dirfd(d), e->d_name, &st, 0) < 0)
			continue; /* reclaimed meanwhile */
		o->wal_segments++;
		o->wal_disk_bytes += (uint64_t)st.st_blocks * 512u;
	}
	closedir(d);
}

/* One shard's counters, and its latency histogram added into @lat. */
static void met_shard(struct aedb *db, uint32_t i, struct aedb_shard_metrics *o, uint64_t *lat)
{
	struct shard *s = &db->shards[i];
	const struct shard_metrics *m = &s->m;
	uint64_t h[CORE_HIST_BUCKETS], n = 0;

	for (uint32_t b = 0; b < CORE_HIST_BUCKETS; b++) {
		h[b] = met_ld(&m->lat[b]);
		lat[b] += h[b];
		n += h[b];
	}
	o->commits = met_ld(&s->commits);
	/* The samples just summed, not done: a sample can land in between. */
	o->completed = n;
	o->errors = met_ld(&m->errors);
	o->latency_ns_max = met_ld(&m->lat_max_ns);
	o->latency_ns_p50 = core_hist_quantile(h, n, MET_P50, o->latency_ns_max);
	o->latency_ns_p99 = core_hist_quantile(h, n, MET_P99, o->latency_ns_max);
	o->latency_ns_p999 = core_hist_quantile(h, n, MET_P999, o->latency_ns_max);
	o->inbox_depth = shard_inbox_depth_any(&s->inbox);
	o->parked = met_ld(&m->parked);
	o->wal_bytes = met_ld(&s->wal.bytes_written);
	o->wal_writes = met_ld(&s->wal.frames_written);
	o->memory_bytes = met_ld(&s->pool.bytes_reserved);
	o->memory_used_bytes = met_ld(&s->pool.bytes_in_use);
	o->keys = met_ld(&s->kstats.keys_live);
	o->versions = met_ld(&s->kstats.versions_live);
	o->gc_backlog = met_ld(&s->kstats.gc_backlog);
	met_wal_dir(db, i, o);
}

static void met_sum(struct aedb_operational_metrics *out, const struct aedb_shard_metrics *o)
{
	out->commits += o->commits;
	out->completed += o->completed;
	out->errors += o->errors;
	if (o->latency_ns_max > out->latency_ns_max)
		out->latency_ns_max = o->latency_ns_max;
	out->inbox_depth += o->inbox_depth;
	out->parked += o->parked;
	out->wal_bytes += o->wal_bytes;
	out->wal_writes += o->wal_writes;
	out->wal_segments += o->wal_segments;
	out->wal_disk_bytes += o->wal_disk_bytes;
	out->memory_bytes += o->memory_bytes;
	out->memory_used_bytes += o->memory_used_bytes;
	out->keys += o->keys;
	out->versions += o->versions;
	out->gc_backlog += o->gc_backlog;
}

/* Reader epoch records inside a section now. */
static uint64_t met_readers_active(struct aedb *db)
{
	uint64_t n = 0;

	pthread_mutex_lock(&db->readers_lock);
	for (struct api_reader *r = db->readers; r; r = r->next_all)
		n += __atomic_load_n(&r->rec.active, __ATOMIC_RELAXED) != 0;
	pthread_mutex_unlock(&db->readers_lock);
	return n;
}

static void met_watermarks(struct aedb *db, struct aedb_operational_metrics *out)
{
	struct aedb_stats st;

	/* D, then V, then the counter: each read is at least the one before. */
	out->durable_seq = wm_durable_any(&db->wm);
	out->visible_seq = wm_visible_any(&db->wm);
	out->allocated_seq = __atomic_load_n(&db->wm.next_seq, __ATOMIC_ACQUIRE) - 1;
	AEDB_ASSERT(out->durable_seq <= out->visible_seq);
	AEDB_ASSERT(out->visible_seq <= out->allocated_seq);
	out->visible_lag = out->allocated_seq - out->visible_seq;
	out->durable_lag = out->visible_seq - out->durable_seq;
	out->gc_floor_seq = wm_floor_any(&db->wm);
	memset(&st, 0, sizeof(st));
	api_ckpt_stats_any(db, &st);
	out->checkpoint_seq = st.checkpoint_seq;
	out->checkpoint_age_ms = st.checkpoint_age_ms;
	out->checkpoint_duration_ns = st.checkpoint_last_ns;
	out->checkpoint_lag = out->visible_seq > st.checkpoint_seq
				      ? out->visible_seq - st.checkpoint_seq : 0;
}

AEDB_API int aedb_operational_metrics(struct aedb *db, struct aedb_operational_metrics *out)
{
	uint64_t lat[CORE_HIST_BUCKETS], sum = 0;

	if (!db || !out)
		return -AEDB_EMISUSE;
	memset(out, 0, sizeof(*out));
	memset(lat, 0, sizeof(lat));
	out->nshards = db->nshards;
	out->uptime_ms = (core_now_ns() - db->open_ns) / 1000000ull;
	out->recovery_ns = db->recovery_ns;
	out->recovered_seq = db->recovered_seq;
	for (uint32_t i = 0; i < db->nshards; i++) {
		met_shard(db, i, &out->shards[i], lat);
		met_sum(out, &out->shards[i]);
		sum += met_ld(&db->shards[i].m.lat_sum_ns);
	}
	out->latency_ns_p50 = core_hist_quantile(lat, out->completed, MET_P50, out->latency_ns_max);
	out->latency_ns_p99 = core_hist_quantile(lat, out->completed, MET_P99, out->latency_ns_max);
	out->latency_ns_p999 = core_hist_quantile(lat, out->completed, MET_P999,
						  out->latency_ns_max);
	out->latency_ns_mean = out->completed ? sum / out->completed : 0;
	met_watermarks(db, out);
	out->snapshots_active = met_readers_active(db);
	return 0;
}

/* ---- JSON ---------------------------------------------------------------- */

struct met_field {
	const char *name;
	size_t off;
};

#define MET_F(type, f) { #f, offsetof(struct type, f) }

/* Every uint64_t field of the totals, in the struct's order. */
static const struct met_field met_total_fields[] = {
	MET_F(aedb_operational_metrics, uptime_ms),
	MET_F(aedb_operational_metrics, recovery_ns),
	MET_F(aedb_operational_metrics, recovered_seq),
	MET_F(aedb_operational_metrics, commits),
	MET_F(aedb_operational_metrics, completed),
	MET_F(aedb_operational_metrics, errors),
	MET_F(aedb_operational_metrics, latency_ns_p50),
	MET_F(aedb_operational_metrics, latency_ns_p99),
	MET_F(aedb_operational_metrics, latency_ns_p999),
	MET_F(aedb_operational_metrics, latency_ns_max),
	MET_F(aedb_operational_metrics, latency_ns_mean),
	MET_F(aedb_operational_metrics, allocated_seq),
	MET_F(aedb_operational_metrics, visible_seq),
	MET_F(aedb_operational_metrics, durable_seq),
	MET_F(aedb_operational_metrics, visible_lag),
	MET_F(aedb_operational_metrics, durable_lag),
	MET_F(aedb_operational_metrics, inbox_depth),
	MET_F(aedb_operational_metrics, parked),
	MET_F(aedb_operational_metrics, wal_bytes),
	MET_F(aedb_operational_metrics, wal_writes),
	MET_F(aedb_operational_metrics, wal_segments),
	MET_F(aedb_operational_metrics, wal_disk_bytes),
	MET_F(aedb_operational_metrics, checkpoint_seq),
	MET_F(aedb_operational_metrics, checkpoint_age_ms),
	MET_F(aedb_operational_metrics, checkpoint_duration_ns),
	MET_F(aedb_operational_metrics, checkpoint_lag),
	MET_F(aedb_operational_metrics, snapshots_active),
	MET_F(aedb_operational_metrics, gc_floor_seq),
	MET_F(aedb_operational_metrics, gc_backlog),
	MET_F(aedb_operational_metrics, memory_bytes),
	MET_F(aedb_operational_metrics, memory_used_bytes),
	MET_F(aedb_operational_metrics, keys),
	MET_F(aedb_operational_metrics, versions),
};

static const struct met_field met_shard_fields[] = {
	MET_F(aedb_shard_metrics, commits),
	MET_F(aedb_shard_metrics, completed),
	MET_F(aedb_shard_metrics, errors),
	MET_F(aedb_shard_metrics, latency_ns_p50),
	MET_F(aedb_shard_metrics, latency_ns_p99),
	MET_F(aedb_shard_metrics, latency_ns_p999),
	MET_F(aedb_shard_metrics, latency_ns_max),
	MET_F(aedb_shard_metrics, inbox_depth),
	MET_F(aedb_shard_metrics, parked),
	MET_F(aedb_shard_metrics, wal_bytes),
	MET_F(aedb_shard_metrics, wal_writes),
	MET_F(aedb_shard_metrics, wal_segments),
	MET_F(aedb_shard_metrics, wal_disk_bytes),
	MET_F(aedb_shard_metrics, memory_bytes),
	MET_F(aedb_shard_metrics, memory_used_bytes),
	MET_F(aedb_shard_metrics, keys),
	MET_F(aedb_shard_metrics, versions),
	MET_F(aedb_shard_metrics, gc_backlog),
};

/* Append to @buf at *@at like snprintf, counting what does not fit. */
static void met_put(char *buf, size_t len, size_t *at, const char *fmt, const char *name,
		    uint64_t v)
{
	int n = snprintf(*at < len ? buf + *at : NULL, *at < len ? len - *at : 0, fmt, name,
			 (unsigned long long)v);

	*at += n > 0 ? (size_t)n : 0;
}

static void met_lit(char *buf, size_t len, size_t *at, const char *s)
{
	int n = snprintf(*at < len ? buf + *at : NULL, *at < len ? len - *at : 0, "%s", s);

	*at += n > 0 ? (size_t)n : 0;
}

static void met_fields(char *buf, size_t len, size_t *at, const void *base,
		       const struct met_field *f, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint64_t v;

		memcpy(&v, (const char *)base + f[i].off, sizeof(v));
		met_put(buf, len, at, ",\"%s\":%llu", f[i].name, v);
	}
}

AEDB_API long aedb_operational_metrics_json(const struct aedb_operational_metrics *m,
					    char *buf, size_t len)
{
	size_t at = 0;

	if (!m || (!buf && len) || m->nshards > AEDB_SHARDS_MAX)
		return -AEDB_EMISUSE;
	met_put(buf, len, &at, "{\"%s\":%llu", "nshards", m->nshards);
	met_fields(buf, len, &at, m, met_total_fields,
		   sizeof(met_total_fields) / sizeof(met_total_fields[0]));
	met_lit(buf, len, &at, ",\"shards\":[");
	for (uint32_t i = 0; i < m->nshards; i++) {
		met_put(buf, len, &at, i ? ",{\"%s\":%llu" : "{\"%s\":%llu", "shard", i);
		met_fields(buf, len, &at, &m->shards[i], met_shard_fields,
			   sizeof(met_shard_fields) / sizeof(met_shard_fields[0]));
		met_lit(buf, len, &at, "}");
	}
	met_lit(buf, len, &at, "]}");
	return (long)at;
}
