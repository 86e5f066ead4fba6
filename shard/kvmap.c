/* SPDX-License-Identifier: MIT */
/*
 * kvmap - single-writer / multi-reader MVCC skiplist (see kvmap.h).
 *
 * Publication: every pointer a reader follows (node next[], node->newest,
 * version->older) is stored by the writer with a release store after the
 * pointee is fully initialised, and loaded by readers with an acquire load.
 * Node keys and version contents never change after publication.
 *
 * Reclamation: the writer unlinks (a version-chain tail, or an empty node)
 * and hands it to ck_epoch_call on its own record; the callback runs on the
 * writer thread from ck_epoch_poll/barrier after every reader section that
 * could have seen it has ended. An unlinked node keeps its next[] pointers,
 * so a reader standing on it walks on to nodes that were linked at some time
 * after that reader's section began, which therefore are not yet freed.
 *
 * Every version is allocated behind a small hidden prefix holding its env,
 * so the deferred free finds the pool (and the epoch, for TSan) without the
 * map, which may be destroyed before the callback runs.
 */
#include "shard/kvmap.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "core/assert.h"
#include "core/tsan.h"
#include "shard/kvindex.h"

#define KV_HEIGHT_MAX 24u
#define KV_GCQ_MIN 64u

#define KV_CONTAINER_OF(ptr, type, member) \
	((type *)(void *)((char *)(ptr) - offsetof(type, member)))

/* Reader side: pairs with the writer's KV_STORE_REL. */
#define KV_LOAD_ACQ(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
/* Writer side: publish a fully initialised pointee to readers. */
#define KV_STORE_REL(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)
/* Writer side: re-read a pointer only the writer itself stores. */
#define KV_LOAD_OWN(p) __atomic_load_n((p), __ATOMIC_RELAXED)

struct kv_node {
	ck_epoch_entry_t epoch_entry;   /* deferred free after unlink */
	struct kv_version *newest;      /* chain, newest first; NULL = empty */
	struct kvmap_env *env;          /* pool + epoch for the deferred free */
	uint32_t key_len;
	uint32_t gc_refs;               /* queued GC entries naming this node */
	uint32_t height;                /* entries in next[], 1..KV_HEIGHT_MAX */
	uint32_t reserved;
	struct kv_node *next[];         /* followed by key_len key bytes */
};

struct kv_version_prefix {
	struct kvmap_env *env;
};

#define KV_VPREFIX sizeof(struct kv_version_prefix)

AEDB_STATIC_ASSERT(KV_VPREFIX % _Alignof(struct kv_version) == 0,
		   "a version behind the prefix stays aligned");
AEDB_STATIC_ASSERT(sizeof(struct kv_node) == 48, "node header layout");

/* One superseded version: @version replaced an older one at version->seq.
 * Entries are FIFO in seq order, and only a later entry of the same node can
 * free @version, so it is alive when its entry is processed. */
struct kv_gc_entry {
	struct kv_node *node;
	struct kv_version *version;     /* the superseding version */
};

struct kvmap {
	ck_epoch_entry_t epoch_entry;   /* kvmap_retire */
	struct kvmap_env *env;
	struct kv_node *head;           /* sentinel with KV_HEIGHT_MAX levels */
	uint32_t level;                 /* levels in use; readers load relaxed */
	uint32_t reserved;
	struct kv_gc_entry *gcq;        /* ring, FIFO == ascending seq */
	uint64_t gcq_cap;               /* power of two, or 0 before first use */
	uint64_t gcq_head;              /* next entry to pop */
	uint64_t gcq_tail;              /* next free slot */
	uint64_t last_seq;              /* highest seq passed to kvmap_put */
	uint64_t versions;              /* this map's share of versions_live */
	uint64_t keys;                  /* this map's share of keys_live */
	struct kv_node *bulk_tail[KV_HEIGHT_MAX]; /* kvmap_bulk_append's finger */
	bool bulk;                      /* bulk_tail is set up */
	struct kv_index index;          /* key hash -> node (point reads, updates) */
};

/* ---- small helpers ---------------------------------------------------- */

static int kv_cmp(const uint8_t *a, uint32_t a_len, const uint8_t *b, uint32_t b_len)
{
	uint32_t n = a_len < b_len ? a_len : b_len;
	int c = n ? memcmp(a, b, n) : 0;

	if (c)
		return c;
	return (a_len > b_len) - (a_len < b_len);
}

static const uint8_t *kv_node_key(const struct kv_node *n)
{
	return (const uint8_t *)&n->next[n->height];
}

static int kv_node_eq(const void *node, const void *key, uint32_t key_len)
{
	const struct kv_node *n = node;

	return n->key_len == key_len &&
	       (key_len == 0 || memcmp(&n->next[n->height], key, key_len) == 0);
}

static size_t kv_node_size(uint32_t height, uint32_t key_len)
{
	return sizeof(struct kv_node) + height * sizeof(struct kv_node *) + key_len;
}

static size_t kv_version_size(uint32_t len)
{
	return KV_VPREFIX + sizeof(struct kv_version) + len;
}

static struct kv_version_prefix *kv_version_prefix(struct kv_version *v)
{
	return (struct kv_version_prefix *)(void *)((char *)v - KV_VPREFIX);
}

/* Single writer: a relaxed load + store is an atomic add for the readers. */
static void kv_stat_add(uint64_t *ctr, uint64_t delta)
{
	__atomic_store_n(ctr, __atomic_load_n(ctr, __ATOMIC_RELAXED) + delta,
			 __ATOMIC_RELAXED);
}

static void kv_stat_sub(uint64_t *ctr, uint64_t delta)
{
	uint64_t cur = __atomic_load_n(ctr, __ATOMIC_RELAXED);

	AEDB_ASSERT(cur >= delta);
	__atomic_store_n(ctr, cur - delta, __ATOMIC_RELAXED);
}

/* 1 + number of leading "00" bit pairs of a splitmix64 draw: p = 1/4. */
static uint32_t kv_random_height(struct kvmap_env *env)
{
	uint64_t z = (env->rng += 0x9E3779B97F4A7C15ull);
	uint32_t h = 1;

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	z ^= z >> 31;
	while (h < KV_HEIGHT_MAX && (z & 3u) == 0) {
		h++;
		z >>= 2;
	}
	return h;
}

/* ---- allocation ------------------------------------------------------- */

static struct kv_version *kv_version_new(struct kvmap_env *env, const void *val,
					 uint32_t len, uint64_t seq, bool tombstone,
					 uint64_t created_seq)
{
	struct kv_version_prefix *pre = core_pool_alloc(env->pool, kv_version_size(len));
	struct kv_version *v;

	if (!pre)
		return NULL;
	pre->env = env;
	v = (struct kv_version *)(void *)(pre + 1);
	memset(&v->epoch_entry, 0, sizeof(v->epoch_entry));
	v->older = NULL;
	v->seq = seq;
	v->created_seq = created_seq;
	v->len = len;
	v->flags = tombstone ? KV_VERSION_TOMBSTONE : 0;
	if (len)
		memcpy(v->data, val, len);
	return v;
}

/* Free @v and every older version; returns how many. */
static uint64_t kv_chain_free(struct core_pool *pool, struct kv_version *v)
{
	uint64_t n = 0;

	while (v) {
		struct kv_version *older = KV_LOAD_OWN(&v->older);

		core_pool_free(pool, kv_version_prefix(v), kv_version_size(v->len));
		v = older;
		n++;
	}
	return n;
}

static struct kv_node *kv_node_new(struct kvmap_env *env, const void *key,
				   uint32_t key_len, uint32_t height)
{
	struct kv_node *n = core_pool_alloc(env->pool, kv_node_size(height, key_len));

	AEDB_ASSERT(height >= 1 && height <= KV_HEIGHT_MAX);
	if (!n)
		return NULL;
	memset(n, 0, kv_node_size(height, 0));
	n->env = env;
	n->key_len = key_len;
	n->height = height;
	if (key_len)
		memcpy((uint8_t *)&n->next[height], key, key_len);
	return n;
}

static void kv_node_free(struct core_pool *pool, struct kv_node *n)
{
	core_pool_free(pool, n, kv_node_size(n->height, n->key_len));
}

/* ---- deferred frees (run on the writer, from ck_epoch_poll/barrier) --- */

static void kv_chain_retire_done(ck_epoch_entry_t *entry)
{
	struct kv_version *v = KV_CONTAINER_OF(entry, struct kv_version, epoch_entry);
	struct kvmap_env *env = kv_version_prefix(v)->env;

	/* Pairs with the CORE_TSAN_RELEASE readers issue before ck_epoch_end. */
	CORE_TSAN_ACQUIRE(env->record->global);
	kv_chain_free(env->pool, v);
}

static void kv_node_retire_done(ck_epoch_entry_t *entry)
{
	struct kv_node *n = KV_CONTAINER_OF(entry, struct kv_node, epoch_entry);

	CORE_TSAN_ACQUIRE(n->env->record->global);
	AEDB_ASSERT(n->newest == NULL);
	kv_node_free(n->env->pool, n);
}

/* ---- writer-side skiplist --------------------------------------------- */

/* Fill preds[i] with the last node whose key < @key on level i (head above
 * the levels in use). Returns the node with exactly @key, or NULL. */
static struct kv_node *kv_find_preds(struct kvmap *map, const void *key, uint32_t key_len,
				     struct kv_node **preds)
{
	struct kv_node *x = map->head;
	struct kv_node *nx = NULL;

	AEDB_ASSERT(map->level >= 1 && map->level <= KV_HEIGHT_MAX);
	for (uint32_t i = KV_HEIGHT_MAX; i-- > 0;) {
		if (i >= map->level) {
			preds[i] = x;
			continue;
		}
		for (;;) {
			nx = KV_LOAD_OWN(&x->next[i]);
			if (!nx || kv_cmp(kv_node_key(nx), nx->key_len, key, key_len) >= 0)
				break;
			x = nx;
		}
		preds[i] = x;
	}
	if (nx && kv_cmp(kv_node_key(nx), nx->key_len, key, key_len) == 0)
		return nx;
	return NULL;
}

static void kv_link(struct kvmap *map, struct kv_node *node, struct kv_node **preds)
{
	uint32_t h = node->height;

	AEDB_ASSERT(h >= 1 && h <= KV_HEIGHT_MAX);
	AEDB_ASSERT(node->newest != NULL);
	for (uint32_t i = 0; i < h; i++)
		node->next[i] = KV_LOAD_OWN(&preds[i]->next[i]);
	/* Bottom up: a node a reader finds on level i is already on every
	 * level below it. */
	for (uint32_t i = 0; i < h; i++)
		KV_STORE_REL(&preds[i]->next[i], node);
	if (h > map->level)
		__atomic_store_n(&map->level, h, __ATOMIC_RELAXED);
}

static void kv_unlink(struct kvmap *map, struct kv_node *node)
{
	struct kv_node *preds[KV_HEIGHT_MAX];
	struct kv_node *found;

	AEDB_ASSERT(node->newest == NULL);
	AEDB_ASSERT(node->gc_refs == 0);
	found = kv_find_preds(map, kv_node_key(node), node->key_len, preds);
	AEDB_ASSERT(found == node);
	kvmap_index_remove(&map->index, kv_index_hash(kv_node_key(node), node->key_len), node);
	/* node->next[] stays intact for readers standing on the node. */
	for (uint32_t i = node->height; i-- > 0;) {
		AEDB_ASSERT(KV_LOAD_OWN(&preds[i]->next[i]) == node);
		KV_STORE_REL(&preds[i]->next[i], KV_LOAD_OWN(&node->next[i]));
	}
	AEDB_ASSERT(map->keys > 0);
	map->keys--;
	kv_stat_sub(&map->env->stats->keys_live, 1);
	ck_epoch_call(map->env->record, &node->epoch_entry, kv_node_retire_done);
}

/* ---- GC queue --------------------------------------------------------- */

/* Make room for one more entry. false on out of memory (nothing changed). */
static bool kv_gcq_reserve(struct kvmap *map)
{
	uint64_t count = map->gcq_tail - map->gcq_head;
	uint64_t cap = map->gcq_cap ? map->gcq_cap * 2 : KV_GCQ_MIN;
	struct kv_gc_entry *q;

	AEDB_ASSERT(count <= map->gcq_cap);
	if (count < map->gcq_cap)
		return true;
	AEDB_ASSERT((cap & (cap - 1)) == 0);
	q = malloc(cap * sizeof(*q));
	if (!q)
		return false;
	for (uint64_t i = 0; i < count; i++)
		q[i] = map->gcq[(map->gcq_head + i) & (map->gcq_cap - 1)];
	free(map->gcq);
	map->gcq = q;
	map->gcq_cap = cap;
	map->gcq_head = 0;
	map->gcq_tail = count;
	return true;
}

static void kv_gcq_push(struct kvmap *map, struct kv_node *node, struct kv_version *v)
{
	uint64_t seq = v->seq;
	uint64_t mask = map->gcq_cap - 1;

	AEDB_ASSERT(map->gcq_tail - map->gcq_head < map->gcq_cap);
	AEDB_ASSERT(map->gcq_tail == map->gcq_head ||
		    map->gcq[(map->gcq_tail - 1) & mask].version->seq <= seq);
	map->gcq[map->gcq_tail & mask] = (struct kv_gc_entry){ .node = node, .version = v };
	map->gcq_tail++;
	node->gc_refs++;
	AEDB_ASSERT(node->gc_refs != 0);
	kv_stat_add(&map->env->stats->gc_backlog, 1);
}

/* ---- lifecycle -------------------------------------------------------- */

struct kvmap *kvmap_create(struct kvmap_env *env)
{
	struct kvmap *map;

	AEDB_ASSERT(env != NULL);
	AEDB_ASSERT(env->record != NULL && env->pool != NULL && env->stats != NULL);
	map = core_pool_alloc(env->pool, sizeof(*map));
	if (!map)
		return NULL;
	memset(map, 0, sizeof(*map));
	map->env = env;
	map->level = 1;
	map->head = kv_node_new(env, NULL, 0, KV_HEIGHT_MAX);
	if (!map->head) {
		core_pool_free(env->pool, map, sizeof(*map));
		return NULL;
	}
	return map;
}

/* Take the map's contribution out of the shared counters. */
static void kv_forget_stats(struct kvmap *map)
{
	struct kvmap_stats *st = map->env->stats;

	kv_stat_sub(&st->versions_live, map->versions);
	kv_stat_sub(&st->keys_live, map->keys);
	kv_stat_sub(&st->gc_backlog, map->gcq_tail - map->gcq_head);
}

static void kv_free_all(struct kvmap *map)
{
	struct core_pool *pool = map->env->pool;
	struct kv_node *n = KV_LOAD_OWN(&map->head->next[0]);
	uint64_t keys = 0;
	uint64_t versions = 0;

	while (n) {
		struct kv_node *next = KV_LOAD_OWN(&n->next[0]);

		versions += kv_chain_free(pool, KV_LOAD_OWN(&n->newest));
		kv_node_free(pool, n);
		n = next;
		keys++;
	}
	AEDB_ASSERT(keys == map->keys);
	AEDB_ASSERT(versions == map->versions);
	kv_node_free(pool, map->head);
	kvmap_index_destroy(&map->index);
	free(map->gcq);
	core_pool_free(pool, map, sizeof(*map));
}

void kvmap_destroy(struct kvmap *map)
{
	if (!map)
		return;
	AEDB_ASSERT(map->env != NULL);
	kv_forget_stats(map);
	kv_free_all(map);
}

static void kvmap_retire_done(ck_epoch_entry_t *entry)
{
	struct kvmap *map = KV_CONTAINER_OF(entry, struct kvmap, epoch_entry);

	CORE_TSAN_ACQUIRE(map->env->record->global);
	kv_free_all(map);
}

void kvmap_retire(struct kvmap *map)
{
	AEDB_ASSERT(map != NULL);
	AEDB_ASSERT(map->env != NULL && map->env->record != NULL);
	kv_forget_stats(map);
	ck_epoch_call(map->env->record, &map->epoch_entry, kvmap_retire_done);
}

/* ---- writes ----------------------------------------------------------- */

static int kv_put_existing(struct kvmap *map, struct kv_node *node, const void *val,
			   uint32_t val_len, uint64_t seq, bool tombstone, bool fresh)
{
	struct kv_version *old = KV_LOAD_OWN(&node->newest);
	uint64_t created_seq = seq;
	struct kv_version *v;

	AEDB_ASSERT(old == NULL || old->seq < seq);
	AEDB_ASSERT(!tombstone || (old && !(old->flags & KV_VERSION_TOMBSTONE)));
	if (old && !(old->flags & KV_VERSION_TOMBSTONE) && !fresh)
		created_seq = old->created_seq;
	/* Reserve the queue slot first so that a failure changes nothing. */
	if (old && !kv_gcq_reserve(map))
		return -ENOMEM;
	v = kv_version_new(map->env, val, val_len, seq, tombstone, created_seq);
	if (!v)
		return -ENOMEM;
	v->older = old;
	KV_STORE_REL(&node->newest, v);
	if (old)
		kv_gcq_push(map, node, v);
	return 0;
}

/* A new node for @key holding one value version; NULL on out of memory. */
static struct kv_node *kv_node_with_value(struct kvmap_env *env, const void *key,
					  uint32_t key_len, const void *val, uint32_t val_len,
					  uint64_t seq, uint64_t created_seq)
{
	struct kv_version *v = kv_version_new(env, val, val_len, seq, false, created_seq);
	struct kv_node *node;

	if (!v)
		return NULL;
	node = kv_node_new(env, key, key_len, kv_random_height(env));
	if (!node) {
		kv_chain_free(env->pool, v);
		return NULL;
	}
	node->newest = v;
	return node;
}

static int kv_put_new(struct kvmap *map, struct kv_node **preds, const void *key,
		      uint32_t key_len, const void *val, uint32_t val_len, uint64_t seq,
		      uint64_t hash)
{
	struct kvmap_env *env = map->env;
	struct kv_node *node;

	/* Reserve first: once linked, the index insert must not fail. */
	if (kvmap_index_reserve(&map->index, 1, env->record) < 0)
		return -ENOMEM;
	node = kv_node_with_value(env, key, key_len, val, val_len, seq, seq);
	if (!node)
		return -ENOMEM;
	kv_link(map, node, preds);
	if (kvmap_index_insert(&map->index, hash, node, env->record) < 0)
		AEDB_ASSERT(!"reserved index slot");
	map->keys++;
	kv_stat_add(&env->stats->keys_live, 1);
	return 0;
}

int kvmap_reserve(struct kvmap *map, uint64_t keys)
{
	return kvmap_index_reserve(&map->index, keys, map->env->record);
}

int kvmap_bulk_append(struct kvmap *map, const void *key, uint32_t key_len,
		      const void *val, uint32_t val_len, uint64_t seq, uint64_t created_seq)
{
	struct kvmap_env *env = map->env;
	struct kv_node *node;

	AEDB_ASSERT(map->gcq_tail == map->gcq_head);
	AEDB_ASSERT(created_seq <= seq);
	if (!map->bulk) {
		AEDB_ASSERT(map->keys == 0);
		for (uint32_t i = 0; i < KV_HEIGHT_MAX; i++)
			map->bulk_tail[i] = map->head;
		map->bulk = true;
	}
	/* The caller sorted the keys; checking costs a cold memcmp per key. */
	AEDB_DEBUG_ASSERT(map->bulk_tail[0] == map->head ||
			  kv_cmp(kv_node_key(map->bulk_tail[0]), map->bulk_tail[0]->key_len,
				 key, key_len) < 0);
	if (kvmap_index_reserve(&map->index, 1, env->record) < 0)
		return -ENOMEM;
	node = kv_node_with_value(env, key, key_len, val, val_len, seq, created_seq);
	if (!node)
		return -ENOMEM;
	kv_link(map, node, map->bulk_tail);
	if (kvmap_index_insert(&map->index, kv_index_hash(key, key_len), node, env->record) < 0)
		AEDB_ASSERT(!"reserved index slot");
	for (uint32_t i = 0; i < node->height; i++)
		map->bulk_tail[i] = node;
	if (seq > map->last_seq)
		map->last_seq = seq;
	map->keys++;
	map->versions++;
	kv_stat_add(&env->stats->keys_live, 1);
	kv_stat_add(&env->stats->versions_live, 1);
	return 0;
}

int kvmap_put(struct kvmap *map, const void *key, uint32_t key_len,
	      const void *val, uint32_t val_len, uint64_t seq, uint32_t flags)
{
	bool tombstone = flags & KVMAP_PUT_TOMBSTONE;
	struct kv_node *preds[KV_HEIGHT_MAX];
	struct kv_node *node;
	struct kv_version *old;
	uint64_t hash = kv_index_hash(key, key_len);
	int rc;

	AEDB_ASSERT(map != NULL);
	AEDB_ASSERT(seq >= map->last_seq); /* a transaction writes several keys at one seq */
	AEDB_ASSERT(key != NULL || key_len == 0);
	AEDB_ASSERT(tombstone || val != NULL || val_len == 0);
	if (tombstone)
		val_len = 0;    /* a tombstone carries no value */
	/* An existing key needs no walk: the index finds its node. */
	node = kvmap_index_find_any(&map->index, hash, key, key_len, kv_node_eq);
	if (!node && !tombstone)
		node = kv_find_preds(map, key, key_len, preds);
	AEDB_ASSERT(!node || node->newest);
	old = node ? KV_LOAD_OWN(&node->newest) : NULL;
	if (tombstone && (!old || (old->flags & KV_VERSION_TOMBSTONE))) {
		map->last_seq = seq;
		return 0;
	}
	if (node)
		rc = kv_put_existing(map, node, val, val_len, seq, tombstone,
				     flags & KVMAP_PUT_FRESH);
	else
		rc = kv_put_new(map, preds, key, key_len, val, val_len, seq, hash);
	if (rc < 0)
		return rc;
	map->last_seq = seq;
	map->versions++;
	kv_stat_add(&map->env->stats->versions_live, 1);
	return 0;
}

/* ---- garbage collection ----------------------------------------------- */

/* Retire the chain starting at @drop, already unreachable from the map. */
static void kv_retire_chain(struct kvmap *map, struct kv_version *drop)
{
	struct kvmap_stats *st = map->env->stats;
	uint64_t n = 0;

	for (struct kv_version *v = drop; v; v = KV_LOAD_OWN(&v->older))
		n++;
	AEDB_ASSERT(n >= 1);
	AEDB_ASSERT(n <= map->versions);
	map->versions -= n;
	kv_stat_sub(&st->versions_live, n);
	kv_stat_add(&st->versions_collected, n);
	ck_epoch_call(map->env->record, &drop->epoch_entry, kv_chain_retire_done);
}

/*
 * @e.version (seq <= horizon) superseded an older version: every snapshot at
 * or above the horizon sees it or something newer, so everything older is
 * garbage. O(1) plus what is freed. A tombstone that is still the newest
 * version, with no later entry queued for its node, makes the key absent for
 * every such snapshot whether it stays or not: the node goes too. A tombstone
 * that is not the newest is cut by the later entry that superseded it.
 */
static void kv_gc_entry(struct kvmap *map, const struct kv_gc_entry *e)
{
	struct kv_node *node = e->node;
	struct kv_version *v = e->version;
	struct kv_version *drop = KV_LOAD_OWN(&v->older);

	AEDB_ASSERT(node->gc_refs > 0);
	node->gc_refs--;
	if (drop) {
		KV_STORE_REL(&v->older, NULL);
		kv_retire_chain(map, drop);
	}
	if ((v->flags & KV_VERSION_TOMBSTONE) && node->gc_refs == 0 &&
	    KV_LOAD_OWN(&node->newest) == v) {
		KV_STORE_REL(&node->newest, NULL);
		kv_retire_chain(map, v);
	}
	if (!KV_LOAD_OWN(&node->newest) && node->gc_refs == 0)
		kv_unlink(map, node);
}

uint32_t kvmap_gc(struct kvmap *map, uint64_t horizon, uint32_t budget)
{
	uint32_t done = 0;

	AEDB_ASSERT(map != NULL);
	AEDB_ASSERT(map->gcq_tail - map->gcq_head <= map->gcq_cap);
	while (done < budget && map->gcq_head != map->gcq_tail) {
		struct kv_gc_entry e = map->gcq[map->gcq_head & (map->gcq_cap - 1)];

		if (e.version->seq > horizon)
			break;
		map->gcq_head++;
		done++;
		kv_gc_entry(map, &e);
	}
	if (done)
		kv_stat_sub(&map->env->stats->gc_backlog, done);
	return done;
}

uint64_t kvmap_gc_pending(const struct kvmap *map)
{
	AEDB_ASSERT(map != NULL);
	AEDB_ASSERT(map->gcq_tail - map->gcq_head <= map->gcq_cap);
	return map->gcq_tail - map->gcq_head;
}

/* ---- readers ---------------------------------------------------------- */

/* Newest version of @n with seq <= @snap (may be a tombstone), or NULL. */
static const struct kv_version *kv_visible_any(const struct kv_node *n, uint64_t snap)
{
	const struct kv_version *v = KV_LOAD_ACQ(&n->newest);

	while (v && v->seq > snap)
		v = KV_LOAD_ACQ(&v->older);
	return v;
}

/* First node with key >= @key (> @key if @exclusive), or NULL. */
static const struct kv_node *kv_seek_any(const struct kvmap *map, const void *key,
					 uint32_t key_len, bool exclusive)
{
	const struct kv_node *x = map->head;
	const struct kv_node *nx = NULL;
	uint32_t level = __atomic_load_n(&map->level, __ATOMIC_RELAXED);

	for (uint32_t i = level; i-- > 0;) {
		for (;;) {
			int c;

			nx = KV_LOAD_ACQ(&x->next[i]);
			if (!nx)
				break;
			c = kv_cmp(kv_node_key(nx), nx->key_len, key, key_len);
			if (c > 0 || (c == 0 && !exclusive))
				break;
			x = nx;
		}
	}
	return nx;
}

const struct kv_version *kvmap_get_any(const struct kvmap *map, const void *key,
				       uint32_t key_len, uint64_t snap)
{
	const struct kv_node *n;
	const struct kv_version *v;

	AEDB_ASSERT(map != NULL);
	AEDB_ASSERT(key != NULL || key_len == 0);
	n = kvmap_index_find_any(&map->index, kv_index_hash(key, key_len), key, key_len,
				 kv_node_eq);
	if (!n)
		return NULL;
	v = kv_visible_any(n, snap);
	if (!v || (v->flags & KV_VERSION_TOMBSTONE))
		return NULL;
	return v;
}

/* Move to the first node from @n on with a visible, live version. */
static void kv_iter_settle_any(struct kvmap_iter *it, const struct kv_node *n)
{
	const struct kv_version *v = NULL;

	while (n) {
		v = kv_visible_any(n, it->snap);
		if (v && !(v->flags & KV_VERSION_TOMBSTONE))
			break;
		n = KV_LOAD_ACQ(&n->next[0]);
	}
	it->node = n;
	it->version = n ? v : NULL;
}

void kvmap_iter_seek_any(struct kvmap_iter *it, const struct kvmap *map,
			 const void *key, uint32_t key_len, bool exclusive, uint64_t snap)
{
	const struct kv_node *n;

	AEDB_ASSERT(it != NULL && map != NULL);
	it->map = map;
	it->snap = snap;
	/* A key that is in the map is its own first key >= key: the hash
	 * index finds its node in a miss or two, where the skiplist descent
	 * takes one per level. The writer inserts a node into the index after
	 * linking it and removes it before unlinking it, so a node found there
	 * is one the descent could have found; from it the walk is the same. */
	n = key && !exclusive ? kvmap_index_find_any(&map->index, kv_index_hash(key, key_len),
						     key, key_len, kv_node_eq)
			      : NULL;
	if (!n && key)
		n = kv_seek_any(map, key, key_len, exclusive);
	else if (!n)
		n = KV_LOAD_ACQ(&map->head->next[0]);
	kv_iter_settle_any(it, n);
	/* Start the pipeline of kv_iter_prefetch_any: the node after. */
	if (it->node) {
		n = KV_LOAD_ACQ(&((const struct kv_node *)it->node)->next[0]);
		if (n)
			__builtin_prefetch(n);
	}
}

/* Software pipelining for a walk along level 0: a scan spends most of its
 * time waiting for the next node and then for its version (two dependent
 * cache misses per row). Step k prefetched node k+1, so node k+1 is (or
 * soon is) in cache here: read its links and start loading its newest
 * version (and the value bytes after the header) and node k+2, while the
 * caller works on row k. Prefetches never fault, and the nodes and versions
 * read are alive for the caller's epoch section. */
static void kv_iter_prefetch_any(const struct kvmap_iter *it)
{
	const struct kv_node *nx;
	const struct kv_version *v;

	if (!it->node)
		return;
	nx = KV_LOAD_ACQ(&((const struct kv_node *)it->node)->next[0]);
	if (!nx)
		return;
	v = KV_LOAD_ACQ(&nx->newest);
	if (v) {
		__builtin_prefetch(v);
		__builtin_prefetch(v->data);
	}
	nx = KV_LOAD_ACQ(&nx->next[0]);
	if (nx) {
		__builtin_prefetch(nx);
		__builtin_prefetch((const char *)nx + 64);
	}
}

void kvmap_iter_next_any(struct kvmap_iter *it)
{
	const struct kv_node *n = it->node;

	AEDB_ASSERT(n != NULL);
	kv_iter_settle_any(it, KV_LOAD_ACQ(&n->next[0]));
	kv_iter_prefetch_any(it);
}

const uint8_t *kvmap_iter_key(const struct kvmap_iter *it, uint32_t *key_len)
{
	const struct kv_node *n = it->node;

	AEDB_ASSERT(n != NULL);
	*key_len = n->key_len;
	return kv_node_key(n);
}

/* ---- invariant check (tests, debug asserts) --------------------------- */

/* Level @i is sorted, holds only nodes tall enough, and every node on it is
 * also on level 0. */
static bool kv_check_level(const struct kvmap *map, uint32_t i)
{
	const struct kv_node *n = map->head->next[i];
	const struct kv_node *low = map->head->next[0];
	const struct kv_node *prev = NULL;

	if (i >= map->level)
		return n == NULL;
	for (; n; prev = n, n = n->next[i]) {
		if (n->height <= i)
			return false;
		if (prev && kv_cmp(kv_node_key(prev), prev->key_len,
				   kv_node_key(n), n->key_len) >= 0)
			return false;
		while (low && low != n)
			low = low->next[0];
		if (!low)
			return false;
	}
	return true;
}

/* Chain of @n: seqs strictly descending and <= last_seq, created_seq
 * consistent between neighbours. Adds its length to *versions. */
static bool kv_check_chain(const struct kvmap *map, const struct kv_node *n,
			   uint64_t *versions)
{
	const struct kv_version *v = n->newest;

	if (!v && n->gc_refs == 0)
		return false;           /* empty nodes must be unlinked */
	for (; v; v = v->older) {
		const struct kv_version *o = v->older;
		bool tomb = v->flags & KV_VERSION_TOMBSTONE;

		(*versions)++;
		if (v->seq > map->last_seq || v->created_seq > v->seq)
			return false;
		if (tomb && v->len != 0)
			return false;
		if (!o)
			break;
		if (o->seq >= v->seq)
			return false;
		if (!tomb && !(o->flags & KV_VERSION_TOMBSTONE) &&
		    v->created_seq != o->created_seq)
			return false;
		if (!tomb && (o->flags & KV_VERSION_TOMBSTONE) && v->created_seq != v->seq)
			return false;
	}
	return true;
}

bool kvmap_check(const struct kvmap *map)
{
	uint64_t keys = 0, versions = 0, refs = 0;

	AEDB_ASSERT(map != NULL);
	AEDB_ASSERT(map->level >= 1 && map->level <= KV_HEIGHT_MAX);
	for (uint32_t i = 0; i < KV_HEIGHT_MAX; i++) {
		if (!kv_check_level(map, i))
			return false;
	}
	for (const struct kv_node *n = map->head->next[0]; n; n = n->next[0]) {
		if (!kv_check_chain(map, n, &versions))
			return false;
		refs += n->gc_refs;
		keys++;
	}
	return keys == map->keys && versions == map->versions &&
	       refs == map->gcq_tail - map->gcq_head;
}
