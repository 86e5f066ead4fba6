/* SPDX-License-Identifier: MIT */
/* struct aedb - the instance, shared by every module. */
#ifndef AEDB_API_DB_H
#define AEDB_API_DB_H

#include <ck_epoch.h>
#include <pthread.h>
#include <stdint.h>

#include "aedb.h"
#include "api/catalog.h"
#include "core/spin.h"
#include "shard/watermark.h"

struct shard;
struct ring_mesh;
struct req;

/* An epoch record handed to a reading thread, tracked for close. */
struct api_reader {
	ck_epoch_record_t rec;
	struct api_reader *next_all;
};

struct aedb {
	struct aedb_config cfg;          /* effective (resolved) config */
	char *path;
	uint64_t gen;                    /* unique per open, for TLS caches */
	uint32_t nshards;
	struct shard *shards;            /* [nshards], cache-line aligned */
	struct ring_mesh *mesh;
	struct watermark wm;
	struct core_spin spin;           /* how shards and waiters wait */
	ck_epoch_t epoch;
	struct catalog *catalog;         /* atomic pointer; see api/catalog.h */
	uint32_t closing;                /* atomic */
	uint32_t rings_open;             /* atomic */
	uint32_t fatal;                  /* atomic: the fatal latch */
	int32_t fatal_err;               /* the I/O error that latched it */
	uint8_t db_id[16];               /* from the directory's meta file */
	int lock_fd;                     /* holds the directory lock */
	/* aedb_open_readonly(): nothing in the directory is written, no shard
	 * thread runs, and every write path returns -AEDB_EREADONLY. */
	uint32_t readonly;
	uint32_t exit_now;               /* atomic: every shard quiesced; exit */
	pthread_mutex_t seq_lock;        /* the cross-shard sequencer */
	uint64_t seq_pos;                /* sequencer positions handed out */
	pthread_mutex_t readers_lock;    /* guards readers (registration only) */
	struct api_reader *readers;
	/* Checkpoints (api/checkpoint.c). */
	struct api_ckpt *ckpt;
	uint64_t ckpt_pin;               /* atomic: GC horizon cap; UINT64_MAX: none */
	uint64_t ckpt_read;              /* atomic: AT_CHECKPOINT seq; 0: none */
	/* Operational metrics (api/metrics.c). */
	uint64_t open_ns;                /* when aedb_open() finished */
	uint64_t recovery_ns;
	uint64_t recovered_seq;
};

/* The calling thread's epoch record for @db (cached per thread). */
ck_epoch_record_t *api_reader_record(struct aedb *db);
/* A fresh record owned by the caller until api_reader_put(). */
ck_epoch_record_t *api_reader_get(struct aedb *db);
void api_reader_put(struct aedb *db, ck_epoch_record_t *rec);

static inline struct catalog *api_catalog_any(struct aedb *db)
{
	return __atomic_load_n(&db->catalog, __ATOMIC_ACQUIRE);
}

/* Epoch section helpers that also carry the TSan happens-before edge. */
void api_read_begin(ck_epoch_record_t *rec);
void api_read_end(struct aedb *db, ck_epoch_record_t *rec);

/* Resolve names to a scope in the latest catalog. Inside an epoch section.
 * 0 or -AEDB_ENAME/-AEDB_ERESERVED/-AEDB_ENOPROJECT/-AEDB_ENOSCOPE. */
int api_resolve_scope(struct aedb *db, const char *project, const char *scope,
		      struct cat_scope **out);

/* Submit a write request and wait for it (blocking wrappers). */
int api_submit_wait(struct aedb *db, struct req *r, uint32_t shard);

/* api/ddl.c: project, scope and (unless NULL) table names: 0, -AEDB_ENAME,
 * -AEDB_ERESERVED, -AEDB_EMISUSE. */
int api_table_names_check(const char *project, const char *scope, const char *table);

#endif
