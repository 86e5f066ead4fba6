/* SPDX-License-Identifier: MIT */
/*
 * The catalog as a list of DDL WAL records (checkpoints; docs/CHECKPOINTS.md).
 *
 * A checkpoint does not invent a catalog format: it stores the WAL_REC_DDL
 * records that recreate the catalog, and recovery feeds them to the same
 * replay code that rebuilds the catalog from the WAL (wal_replay_ddl()).
 *
 * CONTRACT for every catalog object kind, now and later (indexes,
 * accumulators, processors, grants, ...):
 *  - cat_emit_ddl() must emit, for each live object, the create record that
 *    the live DDL path logs for it (same flags, key and value layout), with
 *    rec.seq = the object's created_seq and rec.ns = its namespace id;
 *  - records go out in ascending namespace id, which is creation order, so
 *    an object's parent is always emitted before it;
 *  - wal_replay_ddl() must accept that record; before a create the loader
 *    sets the catalog's next id to rec.ns, so ids survive (dropped ids stay
 *    gaps);
 *  - a kind cat_emit_ddl() does not know makes it fail with -AEDB_ENOTSUP:
 *    a checkpoint is refused rather than written without the object.
 * Adding a kind = one branch in cat_emit_entry() (api/cat_emit.c), one in
 * wal_replay_ddl(), and a checkpoint round-trip test.
 *
 * Object state that lives outside the shards' MVCC maps is not catalog: it
 * needs a block type of its own in the checkpoint files (wal/ckpt.h).
 */
#ifndef AEDB_API_CAT_EMIT_H
#define AEDB_API_CAT_EMIT_H

#include <stdint.h>

struct catalog;
struct wal_rec;

typedef int (*cat_emit_fn)(void *arg, const struct wal_rec *rec);

/* Emit the records that recreate @cat, in namespace-id order. Any thread
 * that keeps @cat alive (an epoch section). Returns 0, the first error of
 * @fn, or -AEDB_ENOTSUP (an object kind with no emitter). */
int cat_emit_ddl(const struct catalog *cat, cat_emit_fn fn, void *arg);

#endif
