/* SPDX-License-Identifier: MIT */
/*
 * ring_client - the engine side of a struct aedb_ring (its priv pointer).
 *
 * The completion queue is an MPSC queue (ring/mpsc.h) of CQEs: shards post
 * write completions, the owner posts read completions, only the owner
 * consumes. In-flight requests (submitted, CQE not yet seen) are capped at
 * cq_cap, so posting never fails. Write requests live in `slots`, owned by
 * the ring; a slot is busy from enqueue until its CQE is posted.
 *
 * Wakeups: a completer posts, fences, and writes the eventfd only if it swaps
 * need_signal from 1 to 0. The owner sets need_signal before it sleeps (or,
 * with AEDB_RING_EVENTFD_ALWAYS, whenever it finds the queue empty) and
 * re-checks the queue before sleeping.
 */
#ifndef AEDB_RING_CLIENT_H
#define AEDB_RING_CLIENT_H

#include <ck_epoch.h>
#include <stdint.h>

#include "aedb.h"
#include "ring/mpsc.h"
#include "ring/req.h"

RING_MPSC_DEFINE(ring_cq, struct aedb_cqe)

struct ring_client {
	struct aedb *db;
	struct ring_cq cq;        /* completions: shards and the owner post */
	uint32_t cq_cap;          /* most requests in flight */
	uint32_t nslots;
	struct req *slots;
	uint32_t slot_hint;
	uint32_t flags;           /* AEDB_RING_* */
	int efd;
	uint32_t need_signal;     /* atomic */
	uint32_t writes_pending;  /* atomic: queued writes not yet fully completed */
	uint64_t submitted;       /* owner only */
	uint64_t seen;            /* owner only */
	uint64_t t_ns;            /* owner only: this aedb_submit()'s clock, 0: unread */
	struct aedb_cqe cur;      /* CQE handed out by peek/wait */
	int has_cur;
	ck_epoch_record_t *rec;   /* for reads run in aedb_submit */
};

/* Post a CQE. Any thread. */
void ring_client_post(struct ring_client *c, uint64_t user_data, int32_t res, uint32_t flags);

#endif
