/* SPDX-License-Identifier: MIT */
/*
 * kvindex - the point index of one kvmap (DESIGN §7): key hash -> skiplist
 * node, so point reads and updates of existing keys skip the skiplist walk.
 *
 * Single writer (the owning shard), lock-free readers under ck_epoch. Open
 * addressing with linear probing; a slot is {hash, node}. The writer fills a
 * slot node first, then hash (both release); readers load hash, then node
 * (acquire), and always compare the node's key, so a stale or half-written
 * slot can only cost a probe. Removal leaves a tombstone (hash kept, node
 * NULL): slots never become empty again while readers may probe them, so a
 * probe run is never cut. Growth builds a new table, publishes it, and
 * retires the old one after a grace period.
 */
#ifndef AEDB_SHARD_KVINDEX_H
#define AEDB_SHARD_KVINDEX_H

#include <ck_epoch.h>
#include <stdint.h>
#include <xxhash.h>

struct kv_index_slot {
	uint64_t hash;          /* 0: empty */
	void *node;             /* NULL with hash != 0: tombstone */
};

struct kv_index_table {
	ck_epoch_entry_t epoch_entry;
	uint64_t mask;
	uint64_t used;          /* live + tombstones (writer) */
	uint64_t live;
	struct kv_index_slot slots[];
};

struct kv_index {
	struct kv_index_table *tab; /* atomic; NULL until the first insert */
};

static inline uint64_t kv_index_hash(const void *key, uint32_t key_len)
{
	uint64_t h = XXH3_64bits(key, key_len);

	return h ? h : 1;
}

/* Is @node's key equal to @key? Supplied by kvmap. */
typedef int (*kv_index_eq_fn)(const void *node, const void *key, uint32_t key_len);

/* Reader (inside an epoch section) or writer: the node for @key, or NULL. */
void *kvmap_index_find_any(const struct kv_index *ix, uint64_t hash, const void *key,
			uint32_t key_len, kv_index_eq_fn eq);
/* Writer: add @node (its key is not in the index). 0 or -ENOMEM (unchanged). */
int kvmap_index_insert(struct kv_index *ix, uint64_t hash, void *node, ck_epoch_record_t *rec);
/* Writer: remove @node. */
void kvmap_index_remove(struct kv_index *ix, uint64_t hash, const void *node);
/* Writer: free the table now (no reader may use it). */
void kvmap_index_destroy(struct kv_index *ix);
/* Writer: room for @n more nodes without growing. 0 or -ENOMEM. */
int kvmap_index_reserve(struct kv_index *ix, uint64_t n, ck_epoch_record_t *rec);

#endif
