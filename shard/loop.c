/* SPDX-License-Identifier: MIT */
/*
 * The shard thread: its event loop, inbox and sleep/wake protocol.
 *
 * Each pass runs the stages in a fixed order, each with a budget: mesh
 * messages, I/O completions, VISIBLE completions, sequenced (DDL) work, then
 * client requests from the inbox in one apply round, then GC. With nothing to
 * do the shard spins for spin_us, then sleeps in io_uring until its doorbell
 * rings, an I/O completes, or the next timer is due. To avoid a lost wakeup it
 * sets `sleeping`, re-checks its queues, and only then sleeps; producers
 * enqueue, fence, and ring the doorbell if they swap `sleeping` from 1.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/db.h"
#include "core/assert.h"
#include "core/clock.h"
#include "core/spin.h"
#include "core/tsan.h"
#include "ring/mesh.h"
#include "shard/ckpt.h"
#include "shard/shard.h"

#define SHARD_MESH_BUDGET 16u       /* messages per peer per pass */
#define SHARD_IO_ENTRIES 64u
#define SHARD_SLEEP_MAX_NS 100000000ull /* wake at least every 100 ms */
#define SHARD_VIS_WAIT_NS 1000000ull    /* safety re-check for V waiters */

int shard_init(struct shard *s, struct aedb *db, uint32_t id)
{
	uint32_t n = db->cfg.inbox_entries;
	int rc;

	memset(s, 0, sizeof(*s));
	s->wal.fd = s->wal.dirfd = -1;
	s->db = db;
	s->id = id;
	s->round = calloc(db->cfg.batch_max, sizeof(*s->round));
	if (!s->round || shard_inbox_init(&s->inbox, n) < 0)
		return -ENOMEM;
	/* Read-only (aedb_open_readonly): no thread will run, so no ring and
	 * no log; nothing in the directory is opened for writing. */
	s->io.efd = -1;
	rc = db->readonly ? 0 : io_shard_init(&s->io, SHARD_IO_ENTRIES);
	if (rc < 0)
		return rc;
	rc = db->readonly ? 0 : wal_log_open(&s->wal, db->path, id, db->nshards, db->db_id,
					     &db->cfg);
	if (rc < 0)
		return rc;
	ck_epoch_register(&db->epoch, &s->erec, NULL);
	core_pool_init(&s->pool);
	s->kenv.record = &s->erec;
	s->kenv.pool = &s->pool;
	s->kenv.stats = &s->kstats;
	s->kenv.rng = 0x9E3779B97F4A7C15ull * (id + 1);
	wal_batch_init(&s->batch);
	shard_txn_init(s);
	return 0;
}

void shard_destroy(struct shard *s)
{
	AEDB_ASSERT(!s->started);
	io_shard_exit(&s->io);
	wal_log_close(&s->wal);
	wal_batch_free(&s->batch);
	shard_txn_fini(s);
	shard_inbox_fini(&s->inbox);
	free(s->round);
	free(s->ddl.victims);
	s->round = NULL;
}

void shard_wake_any(struct shard *s)
{
	/* Pairs with the seq_cst store of `sleeping` in shard_sleep(): either
	 * the shard sees our work on its re-check, or we see it asleep. */
	CORE_FENCE_SEQ_CST();
	if (__atomic_load_n(&s->sleeping, __ATOMIC_RELAXED) &&
	    __atomic_exchange_n(&s->sleeping, 0, __ATOMIC_SEQ_CST))
		io_shard_ring_any(&s->io);
}

void shard_wake_mask_any(struct aedb *db, uint64_t mask)
{
	while (mask) {
		uint32_t i = (uint32_t)__builtin_ctzll(mask);

		AEDB_ASSERT(i < db->nshards);
		mask &= mask - 1;
		shard_wake_any(&db->shards[i]);
	}
}

int shard_enqueue_mpsc(struct shard *s, struct req *r)
{
	if (!shard_inbox_push_mpsc(&s->inbox, r))
		return -AEDB_EBUSY;
	shard_wake_any(s);
	return 0;
}

static uint32_t shard_drain_mesh(struct shard *s)
{
	struct aedb *db = s->db;
	struct ring_msg m;
	uint32_t n = 0;

	for (uint32_t src = 0; src < db->nshards; src++) {
		if (src == s->id)
			continue;
		for (uint32_t k = 0; k < SHARD_MESH_BUDGET; k++) {
			if (!ring_mesh_recv(db->mesh, src, s->id, &m))
				break;
			shard_ddl_on_msg(s, &m);
			n++;
		}
	}
	return n;
}

/* Dequeue up to batch_max requests; DDL goes to the coordinator queue, the
 * rest form one apply round. While stopping, refuse everything. */
static uint32_t shard_drain_inbox(struct shard *s)
{
	uint32_t max = s->db->cfg.batch_max, n = 0, got = 0;
	int stopping = __atomic_load_n(&s->stop, __ATOMIC_ACQUIRE);
	struct req *r;

	while (got < max && shard_inbox_pop(&s->inbox, &r)) {
		got++;
		if (stopping && r->op == REQ_TXN_FRAG) {
			shard_txn_refuse(s, r, -AEDB_ECLOSED);
		} else if (stopping) {
			r->cqe_flags |= AEDB_CQE_F_CLOSED;
			req_complete(r, -AEDB_ECLOSED);
		} else if (r->op == REQ_DDL) {
			shard_ddl_submit(s, r);
		} else if (r->op == REQ_CKPT) {
			shard_ckpt_req(s, r);
		} else {
			s->round[n++] = r;
		}
	}
	if (n)
		shard_apply_round(s, s->round, n);
	return got;
}

static void shard_on_cqe(void *arg, uint64_t tag, int res)
{
	struct shard *s = arg;

	shard_wal_progress(s, wal_log_complete(&s->wal, tag, res, core_now_ns()));
}

/* Stage 5: start the group commit write (or a due fsync) and submit. */
static void shard_wal_kick(struct shard *s, uint64_t now)
{
	uint64_t req = __atomic_load_n(&s->db->wm.sync_req, __ATOMIC_ACQUIRE);
	int want = s->dur_head || __atomic_load_n(&s->stop, __ATOMIC_ACQUIRE) ||
		   (s->wal.unsynced_lo && req >= s->wal.unsynced_lo);
	int rc;

	if (s->wal.error)
		return;
	rc = wal_log_kick(&s->wal, &s->io.ring, want, now);
	if (rc < 0)
		shard_wal_progress(s, rc);
	if (io_uring_sq_ready(&s->io.ring))
		io_uring_submit(&s->io.ring);
}

static uint32_t shard_poll_once(struct shard *s, uint64_t now)
{
	uint32_t work = 0;

	shard_metrics_tick(s);
	work += shard_drain_mesh(s);
	work += io_shard_reap(&s->io, shard_on_cqe, s);
	work += shard_complete_visible(s);
	work += shard_complete_durable(s);
	work += (uint32_t)shard_ddl_step(s);
	if (s->held || s->unblock_due || s->fence_pending)
		work += shard_txn_step(s);
	work += shard_drain_inbox(s);
	shard_wal_kick(s, now);
	ring_mesh_flush(s->db->mesh, s->id);
	work += shard_gc_tick(s, now);
	return work;
}

static int shard_has_work(struct shard *s)
{
	struct aedb *db = s->db;

	if (shard_inbox_ready(&s->inbox) || shard_txn_has_work(s))
		return 1;
	for (uint32_t src = 0; src < db->nshards; src++) {
		if (src != s->id && ring_mesh_pending(db->mesh, src, s->id))
			return 1;
	}
	if (s->dur_head && s->dur_head->seq <= wm_durable_any(&db->wm))
		return 1;
	return s->vis_head && s->vis_head->seq <= wm_visible_any(&db->wm);
}

static void shard_sleep(struct shard *s, uint64_t now)
{
	struct aedb *db = s->db;
	uint64_t timeout = SHARD_SLEEP_MAX_NS;
	uint64_t bit = 1ull << s->id;

	if (s->gc_next_ns > now && s->gc_next_ns - now < timeout)
		timeout = s->gc_next_ns - now;
	if (s->vis_head) {
		__atomic_fetch_or(&db->wm.vis_waiters, bit, __ATOMIC_SEQ_CST);
		timeout = SHARD_VIS_WAIT_NS;
	}
	if (s->dur_head) {
		__atomic_fetch_or(&db->wm.dur_waiters, bit, __ATOMIC_SEQ_CST);
		timeout = SHARD_VIS_WAIT_NS;
	}
	if (s->wal.unsynced_lo && s->wal.sync_every_ns < timeout)
		timeout = s->wal.sync_every_ns;
	/* Catalog frees (shard/ddl.c) run from the poll: pair with the
	 * readers' release before ck_epoch_end (core/tsan.h). */
	CORE_TSAN_ACQUIRE(&db->epoch);
	ck_epoch_poll(&s->erec);
	__atomic_store_n(&s->sleeping, 1, __ATOMIC_SEQ_CST);
	if (!shard_has_work(s) && !__atomic_load_n(&db->exit_now, __ATOMIC_ACQUIRE))
		io_shard_wait(&s->io, timeout);
	__atomic_store_n(&s->sleeping, 0, __ATOMIC_SEQ_CST);
	if (s->vis_head)
		__atomic_fetch_and(&db->wm.vis_waiters, ~bit, __ATOMIC_SEQ_CST);
	if (s->dur_head)
		__atomic_fetch_and(&db->wm.dur_waiters, ~bit, __ATOMIC_SEQ_CST);
}

static int shard_idle_now(struct shard *s)
{
	return !s->vis_head && !s->dur_head && !s->ddl.active && !s->ddl.queue_head &&
	       !s->held && !s->blk_head && !s->fence_pending &&
	       !shard_inbox_ready(&s->inbox) && (s->wal.error || wal_log_idle(&s->wal));
}

static void shard_pin(struct shard *s)
{
	cpu_set_t set;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	if (!s->db->cfg.pin_threads || cpus < 1)
		return;
	CPU_ZERO(&set);
	CPU_SET(s->id % (uint32_t)cpus, &set);
	/* Best effort: a cpuset may forbid it; the shard still works. */
	(void)pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

/*
 * Adaptive spin: if a sleep ended within the spin budget, spinning would have
 * caught that work, so spin longer next time (up to spin_us); if it lasted
 * longer, halve the budget. Threads that outnumber cores stop burning them.
 */
static uint64_t shard_adapt_spin(uint64_t cur, uint64_t max, uint64_t slept_ns)
{
	if (slept_ns < max)
		return cur * 2 + 1000 > max ? max : cur * 2 + 1000;
	return cur / 2;
}

static void *shard_main(void *arg)
{
	struct shard *s = arg;
	const struct core_spin *sp = &s->db->spin;
	uint64_t spin_max = (uint64_t)sp->budget_us * 1000ull;
	uint64_t spin_ns = spin_max, idle_since = 0;

	shard_pin(s);
	while (!__atomic_load_n(&s->db->exit_now, __ATOMIC_ACQUIRE)) {
		uint64_t now = core_now_ns();

		if (shard_poll_once(s, now)) {
			idle_since = 0;
			continue;
		}
		if (__atomic_load_n(&s->stop, __ATOMIC_ACQUIRE) && shard_idle_now(s))
			__atomic_store_n(&s->quiesced, 1, __ATOMIC_RELEASE);
		if (!idle_since)
			idle_since = now;
		if (now - idle_since < spin_ns) {
			core_spin_relax(sp);
			continue;
		}
		shard_sleep(s, now);
		spin_ns = shard_adapt_spin(spin_ns, spin_max, core_now_ns() - now);
		idle_since = 0;
	}
	return NULL;
}

int shard_start(struct shard *s)
{
	int rc = pthread_create(&s->thread, NULL, shard_main, s);

	if (rc)
		return -rc;
	s->started = 1;
	return 0;
}

void shard_stop_and_join(struct shard *s)
{
	if (!s->started)
		return;
	pthread_join(s->thread, NULL);
	s->started = 0;
}
