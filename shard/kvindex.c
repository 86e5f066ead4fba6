/* SPDX-License-Identifier: MIT */
#include "shard/kvindex.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>

#include "core/assert.h"
#include "core/pool.h"
#include "core/tsan.h"

#define KVX_MIN_SLOTS 1024u

/* Slot index for @hash: the high bits, since the low bits also choose the
 * shard (core_kv_shard) and are nearly constant within one map. */
static uint64_t kvx_home(const struct kv_index_table *t, uint64_t hash)
{
	return (hash >> 20 ^ hash) & t->mask;
}

void *kvmap_index_find_any(const struct kv_index *ix, uint64_t hash, const void *key,
			uint32_t key_len, kv_index_eq_fn eq)
{
	const struct kv_index_table *t = __atomic_load_n(&ix->tab, __ATOMIC_ACQUIRE);

	if (!t)
		return NULL;
	for (uint64_t i = kvx_home(t, hash);; i = (i + 1) & t->mask) {
		uint64_t h = __atomic_load_n(&t->slots[i].hash, __ATOMIC_ACQUIRE);
		void *n;

		if (h == 0)
			return NULL;
		if (h != hash)
			continue;
		n = __atomic_load_n(&t->slots[i].node, __ATOMIC_ACQUIRE);
		if (n && eq(n, key, key_len))
			return n;
	}
}

static void kvx_table_free_cb(ck_epoch_entry_t *e)
{
	free((char *)e - offsetof(struct kv_index_table, epoch_entry));
}

/* Writer: place @node in @t (no tombstone reuse needed in a fresh table). */
static void kvx_place(struct kv_index_table *t, uint64_t hash, void *node)
{
	uint64_t i = kvx_home(t, hash);

	while (t->slots[i].hash)
		i = (i + 1) & t->mask;
	t->slots[i].node = node;
	t->slots[i].hash = hash;
	t->used++;
	t->live++;
}

/* Writer: move to a table sized for @want live entries. */
static int kvx_rebuild(struct kv_index *ix, uint64_t want, ck_epoch_record_t *rec)
{
	struct kv_index_table *old = ix->tab, *t;
	uint64_t cap = KVX_MIN_SLOTS;

	while (cap < want * 2)
		cap *= 2;
	t = calloc(1, sizeof(*t) + cap * sizeof(t->slots[0]));
	if (!t)
		return -ENOMEM;
	/* Every probe lands on a random slot: huge pages spare the TLB. */
	core_hugepage_hint(t, sizeof(*t) + cap * sizeof(t->slots[0]));
	t->mask = cap - 1;
	for (uint64_t i = 0; old && i <= old->mask; i++)
		if (old->slots[i].node)
			kvx_place(t, old->slots[i].hash, old->slots[i].node);
	__atomic_store_n(&ix->tab, t, __ATOMIC_RELEASE);
	if (old) {
		CORE_TSAN_RELEASE(rec->global);
		ck_epoch_call(rec, &old->epoch_entry, kvx_table_free_cb);
	}
	return 0;
}

int kvmap_index_reserve(struct kv_index *ix, uint64_t n, ck_epoch_record_t *rec)
{
	struct kv_index_table *t = ix->tab;

	/* Keep used (live + tombstones) under 3/4 of the slots. */
	if (t && (t->used + n) * 4 <= (t->mask + 1) * 3)
		return 0;
	return kvx_rebuild(ix, (t ? t->live : 0) + n, rec);
}

int kvmap_index_insert(struct kv_index *ix, uint64_t hash, void *node, ck_epoch_record_t *rec)
{
	struct kv_index_table *t;
	uint64_t i;

	if (kvmap_index_reserve(ix, 1, rec) < 0)
		return -ENOMEM;
	t = ix->tab;
	i = kvx_home(t, hash);
	/* Reuse a tombstone only if it already carries this hash: readers
	 * passing it compare keys anyway, and the run stays unbroken. */
	while (t->slots[i].hash && !(t->slots[i].hash == hash && !t->slots[i].node))
		i = (i + 1) & t->mask;
	if (!t->slots[i].hash)
		t->used++;
	__atomic_store_n(&t->slots[i].node, node, __ATOMIC_RELEASE);
	__atomic_store_n(&t->slots[i].hash, hash, __ATOMIC_RELEASE);
	t->live++;
	return 0;
}

void kvmap_index_remove(struct kv_index *ix, uint64_t hash, const void *node)
{
	struct kv_index_table *t = ix->tab;
	uint64_t i;

	AEDB_ASSERT(t != NULL);
	for (i = kvx_home(t, hash); t->slots[i].node != node; i = (i + 1) & t->mask)
		AEDB_ASSERT(t->slots[i].hash != 0);
	__atomic_store_n(&t->slots[i].node, NULL, __ATOMIC_RELEASE);
	t->live--;
}

void kvmap_index_destroy(struct kv_index *ix)
{
	free(ix->tab);
	ix->tab = NULL;
}
