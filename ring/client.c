/* SPDX-License-Identifier: MIT */
/* Completion delivery: client completion queues and blocking waiters. */
#include "ring/client.h"

#include <errno.h>
#include <limits.h>
#include <string.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/assert.h"
#include "core/clock.h"
#include "core/spin.h"
#include "core/tsan.h"
#include "aedb.h"


static void ring_futex_wake(uint32_t *addr)
{
	syscall(SYS_futex, addr, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}

static void ring_futex_wait(uint32_t *addr, uint32_t val)
{
	syscall(SYS_futex, addr, FUTEX_WAIT_PRIVATE, val, NULL, NULL, 0);
}

void ring_client_post(struct ring_client *c, uint64_t user_data, int32_t res, uint32_t flags)
{
	struct aedb_cqe cqe = { .user_data = user_data, .res = res, .flags = flags };
	uint64_t one = 1;

	/* Capacity is reserved at submission: this cannot fail. */
	AEDB_ASSERT(ring_cq_push_mpsc(&c->cq, cqe));
	/* Dekker with the owner: post, fence, then look at need_signal. */
	CORE_FENCE_SEQ_CST();
	if (__atomic_load_n(&c->need_signal, __ATOMIC_RELAXED) &&
	    __atomic_exchange_n(&c->need_signal, 0, __ATOMIC_SEQ_CST)) {
		ssize_t rc;

		do {
			rc = write(c->efd, &one, sizeof(one));
		} while (rc < 0 && errno == EINTR);
	}
}

void req_complete(struct req *r, int32_t res)
{
	uint32_t old;

	if (res >= 0 && r->seq_out)
		*r->seq_out = r->seq;
	if (r->txres) {
		struct aedb_commit_result *o = r->txres;

		memset(o, 0, sizeof(*o));
		o->seq = res >= 0 ? r->seq : 0;
		o->durable_seq = __atomic_load_n(r->durable_wm, __ATOMIC_ACQUIRE);
		o->outcome = res == AEDB_COMMIT_DUPLICATE ? AEDB_COMMIT_DUPLICATE
							  : AEDB_COMMIT_APPLIED;
		o->fail_kind = r->fail_kind;
		o->failed_index = r->fail_index;
		o->shards = r->nparts;
	}
	if (r->client) {
		struct ring_client *c = r->client;
		uint64_t user_data = r->user_data;
		uint32_t flags = r->cqe_flags;

		/* Free the slot before the CQE can be seen: once the owner sees
		 * it, it may submit again and needs the slot back. After this
		 * store @r is the owner's. */
		__atomic_store_n(&r->slot_busy, 0, __ATOMIC_RELEASE);
		ring_client_post(c, user_data, res, flags);
		/* Last touch of @c: aedb_ring_exit() waits for this. */
		__atomic_fetch_sub(&c->writes_pending, 1, __ATOMIC_RELEASE);
		return;
	}
	r->res = res;
	old = __atomic_exchange_n(&r->wait_state, REQ_WAIT_DONE, __ATOMIC_ACQ_REL);
	if (old == REQ_WAIT_SLEEPING)
		ring_futex_wake(&r->wait_state);
	/* @r may be gone now: the waiter returns as soon as it sees DONE. */
}

int32_t req_wait(struct req *r)
{
	struct core_spin *sp = r->spin && core_spin_enter(r->spin) ? r->spin : NULL;
	uint64_t deadline = sp ? core_now_ns() + (uint64_t)sp->budget_us * 1000ull : 0;
	uint32_t st = REQ_WAIT_PENDING;

	while (__atomic_load_n(&r->wait_state, __ATOMIC_ACQUIRE) != REQ_WAIT_DONE) {
		if (sp && core_now_ns() < deadline) {
			core_spin_relax(sp);
			continue;
		}
		st = REQ_WAIT_PENDING;
		if (__atomic_compare_exchange_n(&r->wait_state, &st, REQ_WAIT_SLEEPING, false,
						__ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE) ||
		    st == REQ_WAIT_SLEEPING)
			ring_futex_wait(&r->wait_state, REQ_WAIT_SLEEPING);
	}
	if (sp)
		core_spin_leave(sp);
	return r->res;
}
