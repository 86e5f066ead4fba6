/* SPDX-License-Identifier: MIT */
/*
 * The commit path of one shard: validate a round of client writes, allocate
 * one contiguous block of seqs for the valid ones, encode each as a log record
 * into the round's batch, apply it to the partition from that record, publish
 * the round, and complete (or park until V >= seq for VISIBLE finality).
 * Also: the shard's version GC.
 */
#include <errno.h>
#include <stddef.h>

#include "api/catalog.h"
#include "api/db.h"
#include "core/assert.h"
#include "core/tsan.h"
#include "io/fault.h"
#include "shard/shard.h"

#define SHARD_GC_BUDGET 256u /* GC entries per loop pass */

static struct kvmap *shard_part(struct shard *s, struct cat_scope *sc)
{
	struct kvmap *m = sc->parts[s->id];

	if (m)
		return m;
	m = kvmap_create(&s->kenv);
	if (m)
		__atomic_store_n(&sc->parts[s->id], m, __ATOMIC_RELEASE);
	return m;
}

static int shard_validate(struct shard *s, const struct catalog *cat, const struct req *r)
{
	const struct aedb_config *cfg = &s->db->cfg;
	struct cat_scope *sc;

	if (r->op != REQ_KV_SET && r->op != REQ_KV_DEL)
		return -AEDB_EINVAL;
	if (r->key_len > cfg->max_key_bytes || r->val_len > cfg->max_value_bytes)
		return -AEDB_ETOOBIG;
	sc = cat_kv_by_id(cat, r->ns); /* a table's rows are not KV writes */
	if (!sc || __atomic_load_n(&sc->dropped, __ATOMIC_ACQUIRE))
		return -AEDB_ENOSCOPE;
	if (__atomic_load_n(&s->db->fatal, __ATOMIC_ACQUIRE))
		return -AEDB_EFATAL;
	return 0;
}

int shard_apply_rec(struct shard *s, struct cat_scope *sc, const struct wal_rec *rec)
{
	struct kvmap *m;

	AEDB_ASSERT(rec->type == WAL_REC_KV_SET || rec->type == WAL_REC_KV_DEL);
	AEDB_ASSERT(sc->id == rec->ns);
	m = shard_part(s, sc);
	if (!m)
		return -ENOMEM;
	return kvmap_put(m, rec->key, rec->key_len, rec->val, rec->val_len, rec->seq,
			 rec->type == WAL_REC_KV_DEL ? KVMAP_PUT_TOMBSTONE
			 : (rec->flags & WAL_REC_F_FRESH) ? KVMAP_PUT_FRESH : 0);
}

int shard_bulk_reserve(struct shard *s, struct cat_scope *sc, uint64_t keys)
{
	struct kvmap *m = shard_part(s, sc);

	return m ? kvmap_reserve(m, keys) : -ENOMEM;
}

int shard_bulk_append(struct shard *s, struct cat_scope *sc, const void *key, uint32_t key_len,
		      const void *val, uint32_t val_len, uint64_t seq, uint64_t created_seq)
{
	struct kvmap *m = shard_part(s, sc);

	if (!m)
		return -ENOMEM;
	return kvmap_bulk_append(m, key, key_len, val, val_len, seq, created_seq);
}

/* Encode @r as a record at @seq and apply it from the record. */
static int shard_apply_one(struct shard *s, const struct catalog *cat, struct req *r,
			   uint64_t seq)
{
	struct wal_rec rec = {
		.type = r->op == REQ_KV_SET ? WAL_REC_KV_SET : WAL_REC_KV_DEL,
		.ns = r->ns, .seq = seq,
		.key = r->key, .key_len = r->key_len,
		.val = r->val, .val_len = r->op == REQ_KV_SET ? r->val_len : 0,
	};
	struct cat_scope *sc = cat_scope_by_id(cat, r->ns);
	long off;
	int rc;

	AEDB_ASSERT(sc != NULL);
	off = wal_batch_append(&s->batch, &rec);
	if (off < 0)
		return (int)off;
	if (wal_rec_decode(s->batch.buf, s->batch.len, (size_t)off, &rec) < 0)
		AEDB_ASSERT(!"record just encoded must decode");
	rc = shard_apply_rec(s, sc, &rec);
	if (rc < 0)
		s->batch.buf[off] = WAL_REC_NOP; /* the seq stays an empty commit */
	return rc;
}

void shard_wake_vis_waiters(struct shard *s)
{
	shard_wake_mask_any(s->db, __atomic_load_n(&s->db->wm.vis_waiters, __ATOMIC_SEQ_CST) &
				   ~(1ull << s->id));
}

/*
 * Commit @n validated plain writes as one block of seqs: allocate, apply,
 * log one frame, publish. Decided cross-shard fragments with smaller seqs
 * are applied (and logged) first, so this shard's maps and log both see its
 * seqs in ascending order.
 */
void shard_apply_run(struct shard *s, const struct catalog *cat, struct req **reqs,
		     uint32_t n)
{
	struct aedb *db = s->db;
	uint64_t base, v;

	if (n == 0)
		return;
	base = wm_alloc(&db->wm, s->id, n);
	/* Decided cross-shard fragments below the block go first, into the
	 * maps and the log: both must see this shard's seqs in order. */
	if (s->held)
		shard_txn_resolve(s, base);
	for (uint32_t j = 0; j < n; j++) {
		reqs[j]->seq = base + j;
		reqs[j]->res = shard_apply_one(s, cat, reqs[j], base + j);
	}
	shard_log_round(s, base, n);
	v = wm_publish(&db->wm, s->id, s->pin);
	__atomic_store_n(&s->commits, s->commits + n, __ATOMIC_RELAXED);
	shard_wake_vis_waiters(s);
	shard_metrics_tick(s);
	for (uint32_t j = 0; j < n; j++)
		shard_finish(s, reqs[j], v);
}

/*
 * One apply round, in arrival order. Runs of plain writes share one block of
 * seqs; a transaction ends the run before it (it must see the run's writes)
 * and is evaluated and committed on its own. Writes to keys locked by a
 * prepared cross-shard transaction wait (shard/txn.c); others go on.
 */
void shard_apply_round(struct shard *s, struct req **reqs, uint32_t n)
{
	struct catalog *cat;
	uint32_t run = 0;

	AEDB_ASSERT(n > 0 && n <= s->db->cfg.batch_max);
	shard_metrics_tick(s); /* its completions read the clock after it */
	ck_epoch_begin(&s->erec, NULL);
	cat = api_catalog_any(s->db);
	io_fault_round_pause(s->id);
	for (uint32_t i = 0; i < n; i++) {
		struct req *r = reqs[i];
		int rc;

		if (r->op == REQ_TXN || r->op == REQ_TXN_FRAG) {
			shard_apply_run(s, cat, reqs, run);
			run = 0;
			shard_txn_admit(s, cat, r);
			continue;
		}
		rc = shard_validate(s, cat, r);
		if (rc < 0) {
			r->res = rc;
			shard_finish(s, r, 0);
		} else if (!(s->locks.used && shard_txn_park_plain(s, r))) {
			reqs[run++] = r;
		}
	}
	shard_apply_run(s, cat, reqs, run);
	/* Catalog frees after the grace period acquire this (core/tsan.h). */
	CORE_TSAN_RELEASE(&s->db->epoch);
	ck_epoch_end(&s->erec, NULL);
}

uint32_t shard_complete_visible(struct shard *s)
{
	if (!s->vis_head)
		return 0;
	return shard_list_complete(s, &s->vis_head, &s->vis_tail, wm_visible_any(&s->db->wm));
}

/* Oldest seq to keep readable: retain_commits back from V and at least
 * retain_ms back in time (from V samples taken at GC ticks). */
static uint64_t shard_gc_candidate(struct shard *s, uint64_t now, uint64_t v)
{
	const struct aedb_config *cfg = &s->db->cfg;
	uint64_t keep_ns = (uint64_t)cfg->retain_ms * 1000000ull;
	uint64_t by_count = v > cfg->retain_commits ? v - cfg->retain_commits : 0;
	uint64_t by_time = keep_ns ? 0 : v;
	uint32_t n = s->nsamples < SHARD_GC_SAMPLES ? s->nsamples : SHARD_GC_SAMPLES;
	uint64_t spacing = keep_ns / (SHARD_GC_SAMPLES / 2);

	for (uint32_t i = 0; i < n; i++) {
		uint32_t k = (s->nsamples - 1 - i) % SHARD_GC_SAMPLES;

		if (now - s->samples[k].t_ns >= keep_ns) {
			by_time = s->samples[k].v;
			break;
		}
	}
	if (!s->nsamples ||
	    now - s->samples[(s->nsamples - 1) % SHARD_GC_SAMPLES].t_ns >= spacing) {
		s->samples[s->nsamples % SHARD_GC_SAMPLES].t_ns = now;
		s->samples[s->nsamples % SHARD_GC_SAMPLES].v = v;
		s->nsamples++;
	}
	return by_count < by_time ? by_count : by_time;
}

static void shard_gc_grace_done(ck_epoch_entry_t *e)
{
	struct shard *s = (struct shard *)((char *)e - offsetof(struct shard, gc_entry));

	s->gc_safe = s->gc_pending;
	s->gc_waiting = 0;
}

/* Collect up to SHARD_GC_BUDGET due entries over this shard's partitions;
 * returns how many were processed. */
static uint32_t shard_gc_collect(struct shard *s)
{
	struct catalog *cat;
	uint32_t done = 0;

	if (!s->gc_safe)
		return 0;
	ck_epoch_begin(&s->erec, NULL);
	cat = api_catalog_any(s->db);
	for (uint32_t i = 0; done < SHARD_GC_BUDGET && i < cat->nscopes; i++) {
		struct kvmap *m = cat->scopes[i]->parts[s->id];

		if (m && !__atomic_load_n(&cat->scopes[i]->dropped, __ATOMIC_ACQUIRE))
			done += kvmap_gc(m, s->gc_safe, SHARD_GC_BUDGET - done);
	}
	/* Catalog frees after the grace period acquire this (core/tsan.h). */
	CORE_TSAN_RELEASE(&s->db->epoch);
	ck_epoch_end(&s->erec, NULL);
	return done;
}

/*
 * Every gc_interval_ms: move the floor and start a grace period for it. Every
 * pass while a backlog is due: collect a bounded batch, so collection keeps
 * pace with ingest (hot keys) without ever stalling the loop.
 */
uint32_t shard_gc_tick(struct shard *s, uint64_t now)
{
	struct aedb *db = s->db;
	uint64_t floor, pin;
	uint32_t done;

	if (now >= s->gc_next_ns) {
		shard_txn_expire(s, wm_visible_any(&db->wm));
		floor = wm_raise_floor(&db->wm,
				       shard_gc_candidate(s, now, wm_visible_any(&db->wm)));
		/* Never collect past a checkpoint's snapshot (api/checkpoint.c:
		 * the fence pairs with the checkpoint's pin-then-floor). */
		CORE_FENCE_SEQ_CST();
		pin = __atomic_load_n(&db->ckpt_pin, __ATOMIC_SEQ_CST);
		if (pin < floor)
			floor = pin;
		/* Readers that saw an older floor may still read below it:
		 * collect only after a grace period. */
		if (!s->gc_waiting && floor > s->gc_safe) {
			s->gc_pending = floor;
			s->gc_waiting = 1;
			ck_epoch_call(&s->erec, &s->gc_entry, shard_gc_grace_done);
		}
		CORE_TSAN_ACQUIRE(&db->epoch); /* the DDL frees polled here */
		ck_epoch_poll(&s->erec);
		s->gc_next_ns = now + (uint64_t)db->cfg.gc_interval_ms * 1000000ull;
		s->gc_more = 1;
	}
	if (!s->gc_more)
		return 0;
	done = shard_gc_collect(s);
	s->gc_more = done == SHARD_GC_BUDGET;
	return done;
}

void shard_retire_scope(struct shard *s, struct cat_scope *sc)
{
	struct kvmap *m = sc->parts[s->id];

	if (!m)
		return;
	__atomic_store_n(&sc->parts[s->id], NULL, __ATOMIC_RELEASE);
	kvmap_retire(m);
}
