/* SPDX-License-Identifier: MIT */
/*
 * Durability on the shard: hand rounds to the WAL, account for its
 * completions, publish the durable watermark D, and complete DURABLE
 * requests once D reaches them (DESIGN §4, §6).
 *
 * In BATCH and OS modes a parked DURABLE request raises the instance-wide
 * sync request and rings every shard, so each fsyncs what it holds below it;
 * D can only pass a seq once every shard's earlier seqs are synced.
 */
#include <errno.h>
#include <linux/futex.h>
#include <limits.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "api/db.h"
#include "core/assert.h"
#include "core/clock.h"
#include "shard/shard.h"

/* Insert @r keeping the list in ascending seq. Nearly always an append; a
 * cross-shard commit or a duplicate's original seq may land earlier. */
static void shard_list_push(struct shard *s, struct req **head, struct req **tail,
			    struct req *r)
{
	struct req **pp = head;

	shard_metrics_parked(s, 1);
	r->next = NULL;
	if (!*tail || (*tail)->seq < r->seq) {
		if (*tail)
			(*tail)->next = r;
		else
			*head = r;
		*tail = r;
		return;
	}
	while (*pp && (*pp)->seq <= r->seq)
		pp = &(*pp)->next;
	r->next = *pp;
	*pp = r;
}

void shard_park_visible(struct shard *s, struct req *r)
{
	shard_list_push(s, &s->vis_head, &s->vis_tail, r);
}

void shard_request_sync_any(struct aedb *db, uint64_t seq)
{
	/* Already asked for: every shard was rung then, and each one's kick
	 * keeps syncing while the request covers what it holds. */
	if (__atomic_load_n(&db->wm.sync_req, __ATOMIC_ACQUIRE) >= seq)
		return;
	wm_raise_any(&db->wm.sync_req, seq);
	for (uint32_t i = 0; i < db->nshards; i++)
		shard_wake_any(&db->shards[i]);
}

void shard_park_durable(struct shard *s, struct req *r)
{
	if (__atomic_load_n(&s->db->fatal, __ATOMIC_ACQUIRE)) {
		req_complete(r, -AEDB_EFATAL);
		return;
	}
	shard_list_push(s, &s->dur_head, &s->dur_tail, r);
	if (s->db->cfg.durability != AEDB_DURABILITY_FULL)
		shard_request_sync_any(s->db, r->seq);
}

void shard_finish(struct shard *s, struct req *r, uint64_t v)
{
	if (r->res < 0 || (r->finality != AEDB_FINALITY_DURABLE && r->seq <= v)) {
		shard_metrics_done(s, r);
		req_complete(r, r->res);
	} else if (r->finality == AEDB_FINALITY_DURABLE) {
		shard_park_durable(s, r);
	} else {
		shard_park_visible(s, r);
	}
}

/* Complete parked requests (in seq order) up to watermark @upto. */
uint32_t shard_list_complete(struct shard *s, struct req **head, struct req **tail,
			     uint64_t upto)
{
	uint32_t n = 0;

	while (*head && (*head)->seq <= upto) {
		struct req *r = *head;

		AEDB_ASSERT(!r->next || r->next->seq >= r->seq);
		*head = r->next;
		if (!*head)
			*tail = NULL;
		shard_metrics_parked(s, -1);
		shard_metrics_done(s, r);
		req_complete(r, r->res);
		n++;
	}
	return n;
}

uint32_t shard_complete_durable(struct shard *s)
{
	if (!s->dur_head)
		return 0;
	return shard_list_complete(s, &s->dur_head, &s->dur_tail, wm_durable_any(&s->db->wm));
}

static void shard_fail_durable(struct shard *s)
{
	while (s->dur_head) {
		struct req *r = s->dur_head;

		s->dur_head = r->next;
		shard_metrics_parked(s, -1);
		req_complete(r, -AEDB_EFATAL);
	}
	s->dur_tail = NULL;
}

/* Wake shards parked on D and callers blocked in aedb_wait_durable(). */
static void shard_wake_dur_waiters(struct shard *s)
{
	struct aedb *db = s->db;

	shard_wake_mask_any(db, __atomic_load_n(&db->wm.dur_waiters, __ATOMIC_SEQ_CST) &
				~(1ull << s->id));
	__atomic_fetch_add(&db->wm.dur_futex, 1, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&db->wm.dur_sleepers, __ATOMIC_SEQ_CST))
		syscall(SYS_futex, &db->wm.dur_futex, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}

void shard_wal_progress(struct shard *s, int rc)
{
	struct aedb *db = s->db;
	uint64_t before = wm_durable_any(&db->wm), lo;

	if (rc < 0) {
		int32_t none = 0;

		/* The first error wins, and is in place before the latch is
		 * seen (aedb_stats reads the latch, then the error). */
		__atomic_compare_exchange_n(&db->fatal_err, &none, rc, false, __ATOMIC_ACQ_REL,
					    __ATOMIC_ACQUIRE);
		__atomic_store_n(&db->fatal, 1, __ATOMIC_SEQ_CST);
	}
	if (__atomic_load_n(&db->fatal, __ATOMIC_ACQUIRE)) {
		shard_fail_durable(s);
		return;
	}
	lo = wal_log_dur_lo(&s->wal);
	if (wm_set_dur_lo(&db->wm, s->id, lo < s->pin ? lo : s->pin) != before)
		shard_wake_dur_waiters(s);
}

void shard_log_round(struct shard *s, uint64_t first_seq, uint32_t count)
{
	int rc = wal_log_append(&s->wal, s->batch.buf, (uint32_t)s->batch.len, first_seq, count,
				0);

	wal_batch_reset(&s->batch);
	shard_wal_progress(s, rc);
}
