/* SPDX-License-Identifier: MIT */
/*
 * kvmap - one ordered, multi-version map: the partition of one namespace on
 * one shard (DESIGN §7).
 *
 * Concurrency contract: single writer, many lock-free readers.
 *  - Functions without a suffix are writer-only: they run on the owning
 *    shard thread (or, before the map is published, on whoever created it).
 *  - Functions ending in _any may be called from any thread, but only inside
 *    a ck_epoch section on the instance's epoch (ck_epoch_begin/_end). Memory
 *    they return stays valid until that section ends.
 *
 * Structure: a skiplist keyed by bytes (memcmp order, shorter prefix first),
 * each node holding a version chain, newest first. Every version carries the
 * commit seq that wrote it. A reader at snapshot S sees, per key, the newest
 * version with seq <= S; a tombstone or no such version means absent.
 * Publication uses C11/GCC __atomic acquire/release, so ThreadSanitizer
 * understands it.
 *
 * Garbage collection: when a version supersedes an older one (or a delete
 * writes a tombstone), the map queues (node, that version). kvmap_gc(horizon)
 * takes entries in seq order while their version is at or below the horizon
 * and drops everything older than it: O(1) per entry however long the chain
 * (hot keys). A tombstone that is still the newest version, with no later
 * entry for its key, goes with the key's node. Freed memory goes back to the
 * pool after an epoch grace period
 * (ck_epoch_call on the writer's record; the writer runs ck_epoch_poll).
 */
#ifndef AEDB_SHARD_KVMAP_H
#define AEDB_SHARD_KVMAP_H

#include <ck_epoch.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/pool.h"

#define KV_VERSION_TOMBSTONE 0x1u

struct kv_version {
	ck_epoch_entry_t epoch_entry;   /* for deferred free */
	struct kv_version *older;       /* next older version, or NULL */
	uint64_t seq;                   /* commit seq that wrote it */
	uint64_t created_seq;           /* seq that created the key */
	uint32_t len;                   /* value bytes */
	uint32_t flags;                 /* KV_VERSION_* */
	uint8_t data[];                 /* value */
};

/* Counters the map keeps up to date (owned by the shard, read by anyone
 * with relaxed atomic loads). Several maps may share one. */
struct kvmap_stats {
	uint64_t versions_live;
	uint64_t versions_collected;
	uint64_t keys_live;
	uint64_t gc_backlog;            /* queued (node, seq) entries */
};

/* What a map needs from its owner shard. Shared by all maps of a shard. */
struct kvmap_env {
	ck_epoch_record_t *record;      /* the writer's epoch record */
	struct core_pool *pool;         /* the writer's allocator */
	struct kvmap_stats *stats;
	uint64_t rng;                   /* PRNG state for skiplist heights */
};

struct kvmap;

/* Create an empty map. NULL on out of memory. */
struct kvmap *kvmap_create(struct kvmap_env *env);

/* Free the map and everything in it now. No reader may still use it. */
void kvmap_destroy(struct kvmap *map);

/* Free the map and everything in it after an epoch grace period (the map
 * must already be unreachable for new readers). */
void kvmap_retire(struct kvmap *map);

/*
 * Write a version of @key: a value, or a delete (KVMAP_PUT_TOMBSTONE). @seq
 * must not be below any seq written to this map before; several keys may
 * share a seq (a transaction), one key may not. A delete of a key
 * that has no node, or whose newest version is already a tombstone, adds
 * nothing and returns 0. Returns 0 or -ENOMEM (nothing changed).
 */
int kvmap_put(struct kvmap *map, const void *key, uint32_t key_len,
	      const void *val, uint32_t val_len, uint64_t seq, uint32_t flags);
/* kvmap_put flags (true/false still read as tombstone or not). */
#define KVMAP_PUT_TOMBSTONE 0x1u  /* a delete */
#define KVMAP_PUT_FRESH 0x2u      /* a set that starts a new incarnation:
				   * created_seq = seq even over a live value
				   * (a delete earlier at the same seq) */

/*
 * Recovery's bulk load: append @key, which must sort after every key in the
 * map, with a single version (@seq, @created_seq). The map must hold only
 * keys appended this way (no kvmap_put, no GC entries, before or in
 * between). O(1) per key. Writer only. Returns 0 or -ENOMEM.
 */
int kvmap_bulk_append(struct kvmap *map, const void *key, uint32_t key_len,
		      const void *val, uint32_t val_len, uint64_t seq, uint64_t created_seq);

/* Make room for @keys more keys in the point index (bulk loads). 0 or
 * -ENOMEM. Writer only. */
int kvmap_reserve(struct kvmap *map, uint64_t keys);

/* Newest version of @key with seq <= @snap, or NULL if absent or deleted at
 * @snap. Any thread, inside an epoch section. */
const struct kv_version *kvmap_get_any(const struct kvmap *map, const void *key,
				       uint32_t key_len, uint64_t snap);

/* Reader iterator over keys visible at a snapshot, ascending. */
struct kvmap_iter {
	const struct kvmap *map;
	const void *node;                 /* current node, NULL at end */
	const struct kv_version *version; /* visible version of node */
	uint64_t snap;
};

/* Position @it at the first key >= @key (> @key if @exclusive) that is
 * visible at @snap. @key NULL means the first key. Any thread, in an epoch
 * section. An inclusive seek to a key the map holds starts at its node,
 * found through the hash index, instead of descending the skiplist. */
void kvmap_iter_seek_any(struct kvmap_iter *it, const struct kvmap *map,
			 const void *key, uint32_t key_len, bool exclusive, uint64_t snap);
/* Advance to the next visible key. */
void kvmap_iter_next_any(struct kvmap_iter *it);
static inline bool kvmap_iter_valid(const struct kvmap_iter *it)
{
	return it->node != NULL;
}
/* Key of the current position. */
const uint8_t *kvmap_iter_key(const struct kvmap_iter *it, uint32_t *key_len);

/*
 * Collect versions invisible to every snapshot >= @horizon, working through
 * at most @budget queued entries whose seq <= @horizon. Returns how many
 * queue entries it processed. Writer only.
 */
uint32_t kvmap_gc(struct kvmap *map, uint64_t horizon, uint32_t budget);

/* Queued GC entries not yet processed. Writer only. */
uint64_t kvmap_gc_pending(const struct kvmap *map);

/* Check the structural invariants: every level sorted and contained in level
 * 0, version chains ordered, no empty node without queued GC entries, and the
 * key/version/GC counters matching. O(n). Writer only; for tests and
 * AEDB_DEBUG_ASSERT. */
bool kvmap_check(const struct kvmap *map);

#endif /* AEDB_SHARD_KVMAP_H */
