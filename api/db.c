/* SPDX-License-Identifier: MIT */
/* Open and close, epoch readers, stats, and the blocking submit path. */
#include "api/db.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "core/assert.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/names.h"
#include "core/tsan.h"
#include "api/checkpoint.h"
#include "api/meta.h"
#include "wal/recover.h"
#include "ring/mesh.h"
#include "shard/kvmap.h"
#include "shard/shard.h"

#define API_ENQUEUE_TIMEOUT_NS 5000000000ull /* give up on a full inbox */

static uint64_t api_next_gen = 1;

static int api_mkdir(const char *path)
{
	struct stat st;

	if (mkdir(path, 0700) == 0)
		return 0;
	if (errno != EEXIST)
		return -errno;
	if (stat(path, &st) < 0)
		return -errno;
	return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

static void api_teardown(struct aedb *db)
{
	struct catalog *cat = db->catalog;

	for (uint32_t i = 0; db->shards && i < db->nshards; i++)
		shard_stop_and_join(&db->shards[i]);
	/* Threads are gone: this thread now owns every shard's record. */
	for (uint32_t i = 0; db->shards && i < db->nshards; i++)
		if (db->shards[i].inbox.cells)
			ck_epoch_barrier(&db->shards[i].erec);
	for (uint32_t i = 0; cat && i < cat->nscopes; i++)
		for (uint32_t k = 0; k < db->nshards; k++)
			if (cat->scopes[i]->parts[k])
				kvmap_destroy(cat->scopes[i]->parts[k]);
	for (uint32_t i = 0; db->shards && i < db->nshards; i++) {
		if (db->shards[i].inbox.cells)
			ck_epoch_barrier(&db->shards[i].erec);
		core_pool_destroy(&db->shards[i].pool);
		shard_destroy(&db->shards[i]);
	}
	cat_free_deep(cat);
	ring_mesh_destroy(db->mesh);
	while (db->readers) {
		struct api_reader *r = db->readers;

		db->readers = r->next_all;
		free(r);
	}
	pthread_mutex_destroy(&db->readers_lock);
	pthread_mutex_destroy(&db->seq_lock);
	if (db->lock_fd >= 0)
		close(db->lock_fd); /* releases the flock */
	free(db->shards);
	free(db->path);
	free(db);
}

static int api_start(struct aedb *db, struct aedb_open_report *rep)
{
	int rc;

	db->mesh = ring_mesh_create(db->nshards, db->cfg.mesh_entries);
	if (!db->mesh)
		return -ENOMEM;
	for (uint32_t i = 0; i < db->nshards; i++) {
		rc = shard_init(&db->shards[i], db, i);
		if (rc < 0)
			return rc;
	}
	rc = wal_recover(db, rep);
	if (rc < 0)
		return rc;
	for (uint32_t i = 0; !db->readonly && i < db->nshards; i++) {
		rc = shard_start(&db->shards[i]);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* Directory, lock and identity; fixes db->nshards. Read-only: identity
 * only, nothing created or locked. */
static int api_prepare_dir(struct aedb *db, const char *path, uint32_t requested)
{
	char wal[4096];
	struct stat st;
	int rc;

	if (db->readonly) {
		if (stat(path, &st) < 0)
			return -errno;
		if (!S_ISDIR(st.st_mode))
			return -ENOTDIR;
		rc = api_meta_read(path, &requested, db->db_id, NULL);
		snprintf(wal, sizeof(wal), "%s/wal", path);
		if (rc == -ENOENT && stat(wal, &st) == 0)
			rc = -AEDB_ECORRUPT; /* logs without their identity */
		db->nshards = db->cfg.shards = requested;
		return rc;
	}
	rc = api_mkdir(path);

	if (rc < 0)
		return rc;
	rc = api_lock_dir(path, &db->lock_fd);
	if (rc < 0)
		return rc;
	rc = api_meta_load(path, &requested, db->cfg.shards, db->db_id);
	if (rc < 0)
		return rc;
	db->nshards = db->cfg.shards = requested;
	snprintf(wal, sizeof(wal), "%s/wal", path);
	return api_mkdir(wal);
}

static void api_quiesce(struct aedb *db)
{
	for (uint32_t i = 0; i < db->nshards; i++) {
		if (!db->shards[i].started)
			continue;
		__atomic_store_n(&db->shards[i].stop, 1, __ATOMIC_RELEASE);
		shard_wake_any(&db->shards[i]);
	}
	for (uint32_t i = 0; i < db->nshards; i++) {
		while (db->shards[i].started &&
		       !__atomic_load_n(&db->shards[i].quiesced, __ATOMIC_ACQUIRE)) {
			shard_wake_any(&db->shards[i]);
			usleep(100);
		}
	}
	__atomic_store_n(&db->exit_now, 1, __ATOMIC_RELEASE);
	for (uint32_t i = 0; i < db->nshards; i++)
		if (db->shards[i].started)
			io_shard_ring_any(&db->shards[i].io);
}

static int api_open(const char *path, const struct aedb_config *cfg, struct aedb **dbp,
		    struct aedb_open_report *report, uint32_t readonly)
{
	struct aedb_config def;
	struct aedb *db;
	int rc;

	memset(report, 0, sizeof(*report));
	if (!cfg) {
		aedb_config_init(&def);
		cfg = &def;
	}
	db = calloc(1, sizeof(*db));
	if (!db)
		return -ENOMEM;
	db->readonly = readonly;
	db->lock_fd = -1;
	pthread_mutex_init(&db->readers_lock, NULL);
	pthread_mutex_init(&db->seq_lock, NULL);
	/* Before anything touches the disk: a bad config creates nothing. */
	rc = core_config_resolve(cfg, &db->cfg, report->message, sizeof(report->message));
	if (rc == 0)
		rc = api_prepare_dir(db, path, cfg->shards);
	if (rc == 0)
		core_spin_init(&db->spin, db->cfg.spin_us, db->nshards);
	if (rc < 0) {
		pthread_mutex_destroy(&db->readers_lock);
		pthread_mutex_destroy(&db->seq_lock);
		if (db->lock_fd >= 0)
			close(db->lock_fd);
		free(db);
		return rc;
	}
	db->gen = __atomic_fetch_add(&api_next_gen, 1, __ATOMIC_RELAXED);
	wm_init(&db->wm, db->nshards);
	db->ckpt_pin = UINT64_MAX; /* no checkpoint pins GC yet */
	ck_epoch_init(&db->epoch);
	db->path = strdup(path);
	db->catalog = cat_create_empty();
	if (posix_memalign((void **)&db->shards, 64, db->nshards * sizeof(*db->shards)) == 0)
		memset(db->shards, 0, db->nshards * sizeof(*db->shards));
	else
		db->shards = NULL;
	rc = (!db->path || !db->catalog || !db->shards) ? -ENOMEM : api_start(db, report);
	if (rc == 0)
		rc = api_ckpt_open(db, report->checkpoint_seq);
	if (rc < 0) {
		api_ckpt_close(db);
		api_quiesce(db);
		api_teardown(db);
		return rc;
	}
	db->recovery_ns = report->recovery_ns;
	db->recovered_seq = report->recovered_seq;
	db->open_ns = core_now_ns();
	*dbp = db;
	return 0;
}

AEDB_API int aedb_open_ex(const char *path, const struct aedb_config *cfg, struct aedb **dbp,
			  struct aedb_open_report *report)
{
	struct aedb_open_report scratch;

	if (!report)
		report = &scratch;
	memset(report, 0, sizeof(*report));
	if (!path || !dbp || !*path)
		return -AEDB_EMISUSE;
	return api_open(path, cfg, dbp, report, 0);
}

#define API_RO_ATTEMPTS 4

/*
 * A writer in another process may, while we read, complete a checkpoint
 * (the old checkpoint's files and the segments below the new one vanish)
 * or rotate a segment: the open then sees a file missing or a chain broken.
 * Such an open is retried; damage that is really there fails every time.
 */
AEDB_API int aedb_open_readonly(const char *path, const struct aedb_config *cfg,
				struct aedb **dbp, struct aedb_open_report *report)
{
	struct aedb_open_report scratch;
	int rc = -AEDB_EMISUSE;

	if (!report)
		report = &scratch;
	memset(report, 0, sizeof(*report));
	if (!path || !dbp || !*path)
		return -AEDB_EMISUSE;
	for (int i = 0; i < API_RO_ATTEMPTS; i++) {
		char meta[4096];

		rc = api_open(path, cfg, dbp, report, 1);
		snprintf(meta, sizeof(meta), "%s/aedb.meta", path);
		if (rc != -AEDB_ECORRUPT && rc != -ENOENT)
			break;
		if (rc == -ENOENT && access(meta, F_OK) < 0)
			break; /* not a data directory: nothing to wait for */
		if (i + 1 < API_RO_ATTEMPTS)
			usleep(20000u << i);
	}
	return rc;
}

AEDB_API int aedb_open(const char *path, const struct aedb_config *cfg, struct aedb **dbp)
{
	return aedb_open_ex(path, cfg, dbp, NULL);
}

AEDB_API int aedb_close(struct aedb *db)
{
	if (!db)
		return 0;
	if (__atomic_load_n(&db->rings_open, __ATOMIC_ACQUIRE))
		return -AEDB_EMISUSE;
	__atomic_store_n(&db->closing, 1, __ATOMIC_SEQ_CST);
	api_ckpt_close(db);
	api_quiesce(db);
	api_teardown(db);
	return 0;
}

AEDB_API uint32_t aedb_shard_count(const struct aedb *db)
{
	return db ? db->nshards : 0;
}

AEDB_API uint64_t aedb_visible_seq(struct aedb *db)
{
	return db ? wm_visible_any(&db->wm) : 0;
}

AEDB_API uint64_t aedb_durable_seq(struct aedb *db)
{
	return db ? wm_durable_any(&db->wm) : 0;
}

AEDB_API int aedb_wait_durable(struct aedb *db, uint64_t seq)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };

	if (!db)
		return -AEDB_EMISUSE;
	if (seq >= __atomic_load_n(&db->wm.next_seq, __ATOMIC_ACQUIRE))
		return -AEDB_EINVAL;
	if (db->readonly)
		return 0; /* everything loaded came from disk */
	shard_request_sync_any(db, seq);
	for (;;) {
		uint32_t gen = __atomic_load_n(&db->wm.dur_futex, __ATOMIC_ACQUIRE);

		if (__atomic_load_n(&db->fatal, __ATOMIC_ACQUIRE))
			return -AEDB_EFATAL;
		if (wm_durable_any(&db->wm) >= seq)
			return 0;
		__atomic_fetch_add(&db->wm.dur_sleepers, 1, __ATOMIC_SEQ_CST);
		if (wm_durable_any(&db->wm) < seq)
			syscall(SYS_futex, &db->wm.dur_futex, FUTEX_WAIT_PRIVATE, gen, &ts,
				NULL, 0);
		__atomic_fetch_sub(&db->wm.dur_sleepers, 1, __ATOMIC_SEQ_CST);
	}
}

AEDB_API int aedb_force_fsync(struct aedb *db)
{
	if (!db)
		return -AEDB_EMISUSE;
	return aedb_wait_durable(db, __atomic_load_n(&db->wm.next_seq, __ATOMIC_ACQUIRE) - 1);
}

AEDB_API int aedb_stats(struct aedb *db, struct aedb_stats *out)
{
	if (!db || !out)
		return -AEDB_EMISUSE;
	memset(out, 0, sizeof(*out));
	for (uint32_t i = 0; i < db->nshards; i++) {
		struct shard *s = &db->shards[i];

		out->commits += __atomic_load_n(&s->commits, __ATOMIC_RELAXED);
		out->versions_live += __atomic_load_n(&s->kstats.versions_live, __ATOMIC_RELAXED);
		out->versions_collected +=
			__atomic_load_n(&s->kstats.versions_collected, __ATOMIC_RELAXED);
		out->keys_live += __atomic_load_n(&s->kstats.keys_live, __ATOMIC_RELAXED);
		out->gc_backlog += __atomic_load_n(&s->kstats.gc_backlog, __ATOMIC_RELAXED);
		out->inbox_depth += shard_inbox_depth_any(&s->inbox);
	}
	for (uint32_t i = 0; i < db->nshards; i++) {
		struct wal_log *w = &db->shards[i].wal;

		out->wal_bytes += __atomic_load_n(&w->bytes_written, __ATOMIC_RELAXED);
		out->wal_writes += __atomic_load_n(&w->frames_written, __ATOMIC_RELAXED);
		out->wal_segments += __atomic_load_n(&w->segments, __ATOMIC_RELAXED);
	}
	out->visible_seq = wm_visible_any(&db->wm);
	out->durable_seq = wm_durable_any(&db->wm);
	if (__atomic_load_n(&db->fatal, __ATOMIC_ACQUIRE))
		out->fatal_errno = (uint64_t)-(int64_t)__atomic_load_n(&db->fatal_err,
									__ATOMIC_ACQUIRE);
	out->gc_floor_seq = wm_floor_any(&db->wm);
	api_ckpt_stats_any(db, out);
	return 0;
}

/* ---- epoch readers ------------------------------------------------------ */

ck_epoch_record_t *api_reader_get(struct aedb *db)
{
	ck_epoch_record_t *rec;
	struct api_reader *r;

	pthread_mutex_lock(&db->readers_lock);
	rec = ck_epoch_recycle(&db->epoch, NULL);
	if (!rec) {
		r = calloc(1, sizeof(*r));
		if (r) {
			ck_epoch_register(&db->epoch, &r->rec, NULL);
			r->next_all = db->readers;
			db->readers = r;
			rec = &r->rec;
		}
	}
	pthread_mutex_unlock(&db->readers_lock);
	return rec;
}

void api_reader_put(struct aedb *db, ck_epoch_record_t *rec)
{
	pthread_mutex_lock(&db->readers_lock);
	ck_epoch_unregister(rec);
	pthread_mutex_unlock(&db->readers_lock);
}

#define API_TLS_READERS 4

/* Per-thread cache of epoch records, keyed by instance generation. A record
 * evicted from the cache stays registered (and is freed at close). */
static _Thread_local struct {
	uint64_t gen;
	ck_epoch_record_t *rec;
} api_tls_readers[API_TLS_READERS];
static _Thread_local uint32_t api_tls_next;

ck_epoch_record_t *api_reader_record(struct aedb *db)
{
	uint32_t k;

	for (k = 0; k < API_TLS_READERS; k++)
		if (api_tls_readers[k].gen == db->gen)
			return api_tls_readers[k].rec;
	k = api_tls_next++ % API_TLS_READERS;
	api_tls_readers[k].rec = api_reader_get(db);
	api_tls_readers[k].gen = api_tls_readers[k].rec ? db->gen : 0;
	return api_tls_readers[k].rec;
}

void api_read_begin(ck_epoch_record_t *rec)
{
	ck_epoch_begin(rec, NULL);
}

void api_read_end(struct aedb *db, ck_epoch_record_t *rec)
{
	/* Frees after the grace period acquire this (see core/tsan.h). */
	CORE_TSAN_RELEASE(&db->epoch);
	ck_epoch_end(rec, NULL);
}

int api_resolve_scope(struct aedb *db, const char *project, const char *scope,
		      struct cat_scope **out)
{
	const struct catalog *cat = api_catalog_any(db);
	int rc = core_project_name_check(project, NULL);

	if (rc == 0)
		rc = core_name_check(scope, NULL);
	if (rc < 0)
		return rc;
	*out = cat_find_scope(cat, project, scope);
	if (*out)
		return 0;
	return cat_find_project(cat, project) ? -AEDB_ENOSCOPE : -AEDB_ENOPROJECT;
}

/* ---- blocking submit ---------------------------------------------------- */

int api_submit_wait(struct aedb *db, struct req *r, uint32_t shard)
{
	uint64_t deadline = 0;

	AEDB_ASSERT(shard < db->nshards);
	if (db->readonly)
		return -AEDB_EREADONLY;
	if (!r->t_ns)
		r->t_ns = core_now_ns(); /* the latency metrics' start */
	r->client = NULL;
	r->wait_state = REQ_WAIT_PENDING;
	/* A durable wait lasts an fsync: spinning through it only steals
	 * the CPU the shards need. */
	r->spin = r->finality == AEDB_FINALITY_DURABLE ? NULL : &db->spin;
	for (;;) {
		if (__atomic_load_n(&db->closing, __ATOMIC_ACQUIRE))
			return -AEDB_ECLOSED;
		if (shard_enqueue_mpsc(&db->shards[shard], r) == 0)
			break;
		if (!deadline)
			deadline = core_now_ns() + API_ENQUEUE_TIMEOUT_NS;
		else if (core_now_ns() > deadline)
			return -AEDB_EBUSY;
		sched_yield();
	}
	return req_wait(r);
}
