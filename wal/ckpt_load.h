/* SPDX-License-Identifier: MIT */
/*
 * Recovery from a checkpoint (docs/CHECKPOINTS.md): read the manifest, check
 * that every file it names is there, rebuild the catalog from shard 0's
 * CATALOG blocks, then (one thread per shard, inside wal/recover.c's replay)
 * load each shard's idempotency keys and merge its checkpoint entries with
 * the WAL records after S into the partitions, in key order.
 */
#ifndef AEDB_WAL_CKPT_LOAD_H
#define AEDB_WAL_CKPT_LOAD_H

#include <stdint.h>

#include "aedb.h"
#include "wal/manifest.h"

struct aedb;
struct catalog;
struct wal_rec;

/* A WAL KV record gathered for replay (wal/recover.c), sorted by
 * (ns, key, seq). */
struct rv_ref {
	uint64_t prefix;         /* first 8 key bytes, big-endian, zero-padded */
	const uint8_t *key;
	const uint8_t *val;
	uint64_t seq;
	uint32_t key_len;
	uint32_t val_len;
	uint32_t ns;
	uint16_t type;
	uint16_t fresh;          /* WAL_REC_F_FRESH */
};

struct wal_ckpt_state {
	uint64_t seq;            /* S of the loaded checkpoint; 0: none */
	struct wal_manifest man;
};

/* Read checkpoint/MANIFEST and rebuild db->catalog from the checkpoint it
 * names. No manifest: st->seq = 0 and nothing changes. Errors name the file
 * in @rep->message: -AEDB_ECORRUPT (a damaged manifest or block, a missing
 * or truncated file), -AEDB_EINCOMPAT, -ENOMEM, -errno. */
int wal_ckpt_load_catalog(struct aedb *db, struct aedb_open_report *rep,
			  struct wal_ckpt_state *st);

/* Shard @shard: load the checkpoint's idempotency keys (before the WAL's). */
int wal_ckpt_load_idem(struct aedb *db, const struct wal_ckpt_state *st, uint32_t shard,
		       char *err, size_t err_len);

/* Shard @shard: bulk-load the partitions from the checkpoint merged with
 * @refs (this shard's WAL records after S, sorted). Entries of namespaces
 * missing from the final catalog are skipped. Adds the logical bytes and
 * entries read to *@bytes / *@keys. 0, -AEDB_ECORRUPT (@err says where),
 * -ENOMEM. */
int wal_ckpt_load_shard(struct aedb *db, const struct wal_ckpt_state *st, uint32_t shard,
			const struct rv_ref *refs, size_t nrefs, uint64_t *bytes, uint64_t *keys,
			char *err, size_t err_len);

/* Replay one WAL_REC_DDL record into *@cat (wal/recover.c). */
int wal_replay_ddl(struct catalog **cat, uint32_t nshards, const struct wal_rec *rec);

#endif
