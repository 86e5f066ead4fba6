/* SPDX-License-Identifier: MIT */
#include "shard/watermark.h"

#include <string.h>

#include "core/assert.h"

void wm_init(struct watermark *wm, uint32_t nshards)
{
	AEDB_ASSERT(nshards >= 1 && nshards <= AEDB_SHARDS_MAX);
	memset(wm, 0, sizeof(*wm));
	wm->next_seq = 1;
	wm->nshards = nshards;
	for (uint32_t i = 0; i < nshards; i++)
		wm->slots[i].vis_lo = UINT64_MAX;
}

uint64_t wm_alloc(struct watermark *wm, uint32_t shard, uint32_t count)
{
	uint64_t lo, base;

	AEDB_ASSERT(shard < wm->nshards);
	AEDB_ASSERT(count > 0);
	/* Publish a lower bound before allocating: a reader that sees the
	 * counter past our block must also see our vis_lo (both seq_cst). */
	lo = __atomic_load_n(&wm->next_seq, __ATOMIC_SEQ_CST);
	__atomic_store_n(&wm->slots[shard].vis_lo, lo, __ATOMIC_SEQ_CST);
	base = __atomic_fetch_add(&wm->next_seq, count, __ATOMIC_SEQ_CST);
	AEDB_ASSERT(base >= lo);
	return base;
}

static uint64_t wm_compute(struct watermark *wm)
{
	uint64_t v = __atomic_load_n(&wm->next_seq, __ATOMIC_SEQ_CST) - 1;

	for (uint32_t i = 0; i < wm->nshards; i++) {
		uint64_t lo = __atomic_load_n(&wm->slots[i].vis_lo, __ATOMIC_SEQ_CST);

		if (lo - 1 < v)
			v = lo - 1;
	}
	return v;
}

uint64_t wm_publish(struct watermark *wm, uint32_t shard)
{
	uint64_t v, cur;

	AEDB_ASSERT(shard < wm->nshards);
	__atomic_store_n(&wm->slots[shard].vis_lo, UINT64_MAX, __ATOMIC_SEQ_CST);
	v = wm_compute(wm);
	cur = __atomic_load_n(&wm->visible, __ATOMIC_ACQUIRE);
	while (cur < v &&
	       !__atomic_compare_exchange_n(&wm->visible, &cur, v, false, __ATOMIC_ACQ_REL,
					    __ATOMIC_ACQUIRE))
		;
	return cur > v ? cur : v;
}

uint64_t wm_raise_floor(struct watermark *wm, uint64_t f)
{
	uint64_t cur = __atomic_load_n(&wm->floor, __ATOMIC_ACQUIRE);
	uint64_t v = wm_visible_any(wm);

	if (f > v)
		f = v;
	while (cur < f &&
	       !__atomic_compare_exchange_n(&wm->floor, &cur, f, false, __ATOMIC_ACQ_REL,
					    __ATOMIC_ACQUIRE))
		;
	return cur > f ? cur : f;
}
