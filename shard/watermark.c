/* SPDX-License-Identifier: MIT */
#include "shard/watermark.h"

#include <stddef.h>
#include <string.h>

#include "core/assert.h"

void wm_init(struct watermark *wm, uint32_t nshards)
{
	AEDB_ASSERT(nshards >= 1 && nshards <= AEDB_SHARDS_MAX);
	memset(wm, 0, sizeof(*wm));
	wm->next_seq = 1;
	wm->nshards = nshards;
	for (uint32_t i = 0; i < nshards; i++) {
		wm->slots[i].vis_lo = UINT64_MAX;
		wm->slots[i].dur_lo = UINT64_MAX;
	}
}

void wm_recovered(struct watermark *wm, uint64_t seq)
{
	wm->next_seq = seq + 1;
	wm->visible = seq;
	wm->durable = seq;
}

uint64_t wm_alloc(struct watermark *wm, uint32_t shard, uint32_t count)
{
	uint64_t lo, base;

	AEDB_ASSERT(shard < wm->nshards);
	AEDB_ASSERT(count > 0);
	/* Publish a lower bound before allocating: a reader that sees the
	 * counter past our block must also see our vis_lo (both seq_cst). */
	lo = __atomic_load_n(&wm->next_seq, __ATOMIC_SEQ_CST);
	/* Only lower it: an earlier block of this round, or a prepared
	 * cross-shard fragment (wm_hold), may already hold it lower. */
	if (lo < __atomic_load_n(&wm->slots[shard].vis_lo, __ATOMIC_RELAXED))
		__atomic_store_n(&wm->slots[shard].vis_lo, lo, __ATOMIC_SEQ_CST);
	if (lo < __atomic_load_n(&wm->slots[shard].dur_lo, __ATOMIC_RELAXED))
		__atomic_store_n(&wm->slots[shard].dur_lo, lo, __ATOMIC_SEQ_CST);
	base = __atomic_fetch_add(&wm->next_seq, count, __ATOMIC_SEQ_CST);
	AEDB_ASSERT(base >= lo);
	return base;
}

static uint64_t wm_compute(struct watermark *wm, size_t field)
{
	uint64_t v = __atomic_load_n(&wm->next_seq, __ATOMIC_SEQ_CST) - 1;

	for (uint32_t i = 0; i < wm->nshards; i++) {
		uint64_t *p = (uint64_t *)((char *)&wm->slots[i] + field);
		uint64_t lo = __atomic_load_n(p, __ATOMIC_SEQ_CST);

		if (lo - 1 < v)
			v = lo - 1;
	}
	return v;
}

uint64_t wm_raise_any(uint64_t *cached, uint64_t v)
{
	uint64_t cur = __atomic_load_n(cached, __ATOMIC_ACQUIRE);

	while (cur < v &&
	       !__atomic_compare_exchange_n(cached, &cur, v, false, __ATOMIC_ACQ_REL,
					    __ATOMIC_ACQUIRE))
		;
	return cur > v ? cur : v;
}

uint64_t wm_set_dur_lo(struct watermark *wm, uint32_t shard, uint64_t lo)
{
	AEDB_ASSERT(shard < wm->nshards);
	__atomic_store_n(&wm->slots[shard].dur_lo, lo, __ATOMIC_SEQ_CST);
	return wm_raise_any(&wm->durable, wm_compute(wm, offsetof(struct wm_slot, dur_lo)));
}

uint64_t wm_hold(struct watermark *wm, uint32_t shard)
{
	uint64_t lo = __atomic_load_n(&wm->next_seq, __ATOMIC_SEQ_CST);

	AEDB_ASSERT(shard < wm->nshards);
	if (lo < __atomic_load_n(&wm->slots[shard].vis_lo, __ATOMIC_RELAXED))
		__atomic_store_n(&wm->slots[shard].vis_lo, lo, __ATOMIC_SEQ_CST);
	if (lo < __atomic_load_n(&wm->slots[shard].dur_lo, __ATOMIC_RELAXED))
		__atomic_store_n(&wm->slots[shard].dur_lo, lo, __ATOMIC_SEQ_CST);
	return lo;
}

uint64_t wm_publish(struct watermark *wm, uint32_t shard, uint64_t hold)
{
	AEDB_ASSERT(shard < wm->nshards);
	__atomic_store_n(&wm->slots[shard].vis_lo, hold, __ATOMIC_SEQ_CST);
	return wm_raise_any(&wm->visible, wm_compute(wm, offsetof(struct wm_slot, vis_lo)));
}

uint64_t wm_raise_floor(struct watermark *wm, uint64_t f)
{
	uint64_t v = wm_visible_any(wm);

	return wm_raise_any(&wm->floor, f > v ? v : f);
}
