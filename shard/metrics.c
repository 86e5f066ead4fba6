/* SPDX-License-Identifier: MIT */
/*
 * Commit latency and outcome counters of one shard (the operational metrics,
 * api/metrics.c). A submitter stamps its request with the clock once per
 * submit call; the shard that completes it reads the clock at most once per
 * completion batch (a loop pass, or an apply round), never per request, and
 * adds the difference to its own histogram. No locks, no atomic
 * read-modify-writes: the shard is the only writer.
 */
#include "shard/shard.h"

#include "core/assert.h"
#include "core/clock.h"

void shard_metrics_done(struct shard *s, const struct req *r)
{
	struct shard_metrics *m = &s->m;
	uint64_t lat;

	if (!r->t_ns)
		return;
	if (!m->now_ns)
		m->now_ns = core_now_ns();
	/* Stamped before the enqueue, and the clock read after the dequeue;
	 * a cached read from earlier in the pass can still precede it. */
	lat = m->now_ns > r->t_ns ? m->now_ns - r->t_ns : 0;
	AEDB_ASSERT(lat < (1ull << 62));
	core_hist_add_owner(m->lat, lat);
	__atomic_store_n(&m->lat_sum_ns, m->lat_sum_ns + lat, __ATOMIC_RELAXED);
	if (lat > m->lat_max_ns)
		__atomic_store_n(&m->lat_max_ns, lat, __ATOMIC_RELAXED);
	if (r->res < 0)
		__atomic_store_n(&m->errors, m->errors + 1, __ATOMIC_RELAXED);
	__atomic_store_n(&m->done, m->done + 1, __ATOMIC_RELAXED);
}
