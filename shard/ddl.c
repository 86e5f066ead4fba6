/* SPDX-License-Identifier: MIT */
/*
 * DDL: shard 0 coordinates, one operation at a time, in arrival order.
 *
 * Create (project or scope) needs no other shard: partitions are created
 * lazily by their owners. The coordinator allocates one seq, logs a DDL
 * record, publishes the new catalog, and completes once V >= seq.
 *
 * Drop is two-phase over the mesh: (1) mark the victim scopes dropped, so
 * every shard refuses new writes to them, and FENCE every shard: a shard acks
 * between rounds, so every write it accepted before the mark has a smaller
 * seq; (2) allocate the drop's seq, publish the catalog without the victims,
 * and RETIRE: each shard retires its partitions (freed after an epoch grace
 * period). When every shard has retired, the scope objects are freed too.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "api/catalog.h"
#include "api/db.h"
#include "acc/acc.h"
#include "api/tdef.h"
#include "api/tfk.h"
#include "core/assert.h"
#include "ring/mesh.h"
#include "shard/ddl.h"
#include "shard/shard.h"

enum ddl_phase { DDL_IDLE = 0, DDL_FENCING, DDL_RETIRING };

static void ddl_free_catalog_cb(ck_epoch_entry_t *e)
{
	cat_free((struct catalog *)((char *)e - offsetof(struct catalog, epoch_entry)));
}

static void ddl_free_scope_cb(ck_epoch_entry_t *e)
{
	cat_scope_free((struct cat_scope *)((char *)e - offsetof(struct cat_scope, epoch_entry)));
}

static void ddl_free_project_cb(ck_epoch_entry_t *e)
{
	free((char *)e - offsetof(struct cat_project, epoch_entry));
}

void shard_ddl_submit(struct shard *s, struct req *r)
{
	AEDB_ASSERT(s->id == 0);
	AEDB_ASSERT(r->op == REQ_DDL);
	r->next = NULL;
	if (s->ddl.queue_tail)
		s->ddl.queue_tail->next = r;
	else
		s->ddl.queue_head = r;
	s->ddl.queue_tail = r;
}

/* The record's key for a table DDL: project NUL scope NUL table. */
static uint32_t ddl_table_key(const struct ddl_op *op, uint8_t *key)
{
	size_t p = strlen(op->project), c = strlen(op->scope), t = strlen(op->table);

	memcpy(key, op->project, p + 1);
	memcpy(key + p + 1, op->scope, c + 1);
	memcpy(key + p + c + 2, op->table, t);
	return (uint32_t)(p + c + t + 2);
}

/* Append the DDL record of @op at @seq (value @val for a table DDL). */
static void ddl_append(struct shard *s, const struct ddl_op *op, uint64_t seq, uint32_t ns,
		       const uint8_t *val, uint32_t val_len)
{
	int table = op->kind == DDL_CREATE_TABLE || op->kind == DDL_DROP_TABLE ||
		    op->kind == DDL_CREATE_ACC || op->kind == DDL_DROP_ACC ||
		    ddl_kind_is_index(op->kind) || op->kind == DDL_ALTER_TABLE;
	uint8_t key[3 * (AEDB_NAME_MAX + 1)];
	struct wal_rec rec = {
		.type = WAL_REC_DDL, .flags = (uint8_t)op->kind, .seq = seq, .ns = ns,
		.key = table ? key : (const uint8_t *)op->project,
		.key_len = table ? ddl_table_key(op, key) : (uint32_t)strlen(op->project),
		.val = table ? val : (const uint8_t *)op->scope,
		.val_len = table ? val_len : (uint32_t)strlen(op->scope),
	};

	if (wal_batch_append(&s->batch, &rec) < 0)
		AEDB_ASSERT(!"DDL record must fit");
}

void shard_ddl_log(struct shard *s, const struct ddl_op *op, uint64_t seq, const uint8_t *val,
		   uint32_t val_len)
{
	ddl_append(s, op, seq, 0, val, val_len);
	shard_txn_resolve(s, seq);
	shard_log_round(s, seq, 1);
}

/* The catalog @next is published (and its seq logged): publish the seq,
 * complete @r with @res. */
static void ddl_finish(struct shard *s, struct req *r, uint64_t seq, int res)
{
	struct aedb *db = s->db;
	uint64_t v = wm_publish(&db->wm, s->id, s->pin);

	__atomic_store_n(&s->commits, s->commits + 1, __ATOMIC_RELAXED);
	shard_wake_vis_waiters(s);
	r->seq = seq;
	r->res = res;
	/* In FULL mode a DDL call returns once it is on disk. */
	r->finality = db->cfg.durability == AEDB_DURABILITY_FULL ? AEDB_FINALITY_DURABLE
								 : AEDB_FINALITY_VISIBLE;
	shard_finish(s, r, v);
}

static void ddl_swap(struct shard *s, struct catalog *next, uint64_t seq)
{
	struct catalog *old = api_catalog_any(s->db);

	cat_stamp(next, seq);
	__atomic_store_n(&s->db->catalog, next, __ATOMIC_RELEASE);
	ck_epoch_call(&s->erec, &old->epoch_entry, ddl_free_catalog_cb);
}

/* Take a seq, log the DDL, swap in @next at that seq, unmark table @unmark
 * (if any; its index set changed at the seq), publish, and complete @r with
 * @res. The mark goes before the answer: a caller's next write must not see
 * it. */
static void ddl_commit(struct shard *s, struct req *r, struct catalog *next, int res,
		       struct cat_scope *unmark)
{
	const struct ddl_op *op = r->ddl;
	uint64_t seq = wm_alloc(&s->db->wm, s->id, 1);

	ddl_append(s, op, seq, ddl_kind_creates(op->kind) ? next->next_scope_id - 1 : 0,
		   op->tdef, op->tdef_len);
	ddl_swap(s, next, seq);
	if (unmark) {
		/* Catalog, then ixseq, then the mark: a shard that sees the
		 * mark gone sees ixseq too (shard/txn.c txn_ns_stale). */
		__atomic_store_n(&unmark->ixseq, seq, __ATOMIC_SEQ_CST);
		__atomic_store_n(&unmark->dropped, 0, __ATOMIC_SEQ_CST);
	}
	shard_txn_resolve(s, seq);
	shard_log_round(s, seq, 1);
	ddl_finish(s, r, seq, res);
}

void shard_ddl_publish(struct shard *s, struct req *r, struct catalog *next, uint64_t seq,
		       int res)
{
	ddl_swap(s, next, seq);
	ddl_finish(s, r, seq, res);
}

/* Create table: 0 if an identical definition exists, -AEDB_EEXIST if
 * another one does. */
static void ddl_create_table(struct shard *s, struct req *r, const struct catalog *cat)
{
	const struct ddl_op *op = r->ddl;
	const struct cat_scope *t;
	struct cat_tdef *tdef;
	struct catalog *next;
	int rc;

	if (!cat_find_scope(cat, op->project, op->scope)) {
		req_complete(r, cat_find_project(cat, op->project) ? -AEDB_ENOSCOPE
								   : -AEDB_ENOPROJECT);
		return;
	}
	t = cat_find_entry(cat, op->project, op->scope, op->table);
	if (t) {
		rc = t->tdef && t->tdef->enc_len == op->tdef_len &&
		     memcmp(t->tdef->enc, op->tdef, op->tdef_len) == 0 ? 0 : -AEDB_EEXIST;
		req_complete(r, rc);
		return;
	}
	rc = cat_tdef_decode(op->table, op->tdef, op->tdef_len, &tdef);
	AEDB_ASSERT(rc != -AEDB_ECORRUPT); /* the API encoded it */
	/* Foreign keys: checked here, where the catalog cannot change under
	 * the check (a parent dropped since the API looked is -ENOTABLE). */
	if (rc == 0 && (rc = cat_fks_check(cat, op->project, op->scope, tdef)) < 0) {
		cat_tdef_free(tdef);
		req_complete(r, rc);
		return;
	}
	next = rc == 0 ? cat_with_table(cat, op->project, op->scope, tdef, 0, s->db->nshards)
		       : NULL;
	if (!next) {
		if (rc == 0)
			cat_tdef_free(tdef);
		req_complete(r, -ENOMEM);
		return;
	}
	ddl_commit(s, r, next, 1, NULL);
}

/* Create accumulator: 0 if an identical one exists, -AEDB_EEXIST if a table
 * or another definition has the name. */
static void ddl_create_acc(struct shard *s, struct req *r, const struct catalog *cat)
{
	const struct ddl_op *op = r->ddl;
	const struct cat_scope *t;
	struct cat_adef *adef;
	struct catalog *next;

	if (!cat_find_scope(cat, op->project, op->scope)) {
		req_complete(r, cat_find_project(cat, op->project) ? -AEDB_ENOSCOPE
								   : -AEDB_ENOPROJECT);
		return;
	}
	adef = calloc(1, sizeof(*adef));
	if (!adef) {
		req_complete(r, -ENOMEM);
		return;
	}
	if (acc_def_decode(op->tdef, op->tdef_len, adef) < 0)
		AEDB_ASSERT(!"the API encoded it");
	t = cat_find_entry(cat, op->project, op->scope, op->table);
	if (t) {
		req_complete(r, t->adef && acc_def_same(t->adef, adef) ? 0 : -AEDB_EEXIST);
		free(adef);
		return;
	}
	next = cat_with_acc(cat, op->project, op->scope, op->table, adef, 0, s->db->nshards);
	if (!next) {
		free(adef);
		req_complete(r, -ENOMEM);
		return;
	}
	ddl_commit(s, r, next, 1, NULL);
}

/* Create: one step, no other shard involved. The new catalog is built
 * before the seq is taken, so nothing can fail after allocation. */
static void ddl_create(struct shard *s, struct req *r, const struct catalog *cat)
{
	const struct ddl_op *op = r->ddl;
	uint32_t n = s->db->nshards;
	struct catalog *next;

	if (op->kind == DDL_CREATE_PROJECT && cat_find_project(cat, op->project)) {
		req_complete(r, 0);
		return;
	}
	if (op->kind == DDL_CREATE_SCOPE) {
		if (!cat_find_project(cat, op->project)) {
			req_complete(r, -AEDB_ENOPROJECT);
			return;
		}
		if (cat_find_scope(cat, op->project, op->scope)) {
			req_complete(r, 0);
			return;
		}
	}
	if (op->kind == DDL_CREATE_TABLE) {
		ddl_create_table(s, r, cat);
		return;
	}
	if (op->kind == DDL_CREATE_ACC) {
		ddl_create_acc(s, r, cat);
		return;
	}
	next = op->kind == DDL_CREATE_PROJECT ? cat_with_project(cat, op->project, 0, n)
					      : cat_with_scope(cat, op->project, op->scope, 0, n);
	if (!next) {
		req_complete(r, -ENOMEM);
		return;
	}
	ddl_commit(s, r, next, 1, NULL);
}

static void ddl_broadcast(struct shard *s, uint16_t type)
{
	struct aedb *db = s->db;

	s->ddl.acks = db->nshards - 1;
	for (uint32_t d = 1; d < db->nshards; d++) {
		struct ring_msg m = {
			.type = type, .src = 0, .dst = (uint16_t)d,
			.len = s->ddl.nvictims,
		};

		m.payload.ptr = s->ddl.victims;
		/* The overflow FIFO holds far more than one DDL's messages. */
		AEDB_ASSERT(ring_mesh_send(db->mesh, &m) == 0);
		shard_wake_any(&db->shards[d]);
	}
}

/* Drop, phase 0: collect victims, mark them, fence. */
static void ddl_drop_begin(struct shard *s, struct req *r, const struct catalog *cat)
{
	const struct ddl_op *op = r->ddl;
	int whole = op->kind == DDL_DROP_PROJECT;
	int acc = op->kind == DDL_DROP_ACC;
	const char *table = op->kind == DDL_DROP_TABLE || acc ? op->table : NULL;
	uint32_t n = 0;

	if (!cat_find_project(cat, op->project)) {
		req_complete(r, whole ? 0 : -AEDB_ENOPROJECT);
		return;
	}
	if (!whole && !cat_find_scope(cat, op->project, op->scope)) {
		req_complete(r, table ? -AEDB_ENOSCOPE : 0);
		return;
	}
	if (table && !(acc ? cat_find_acc(cat, op->project, op->scope, table)
			   : cat_find_table(cat, op->project, op->scope, table))) {
		req_complete(r, 0);
		return;
	}
	/* A table outside the dropped set whose foreign key names one inside
	 * would be left dangling (the reference allowed it): refuse. */
	if (op->kind != DDL_DROP_ACC &&
	    cat_fks_block_drop(cat, op->project, whole ? NULL : op->scope, table)) {
		req_complete(r, -AEDB_EDEPEND);
		return;
	}
	free(s->ddl.victims);
	s->ddl.victims = calloc(cat->nscopes, sizeof(*s->ddl.victims));
	if (!s->ddl.victims) {
		req_complete(r, -ENOMEM);
		return;
	}
	for (uint32_t i = 0; i < cat->nscopes; i++) {
		struct cat_scope *sc = cat->scopes[i];

		if (strcmp(sc->project, op->project) == 0 &&
		    (whole || strcmp(sc->name, op->scope) == 0) &&
		    (!table || strcmp(sc->table, table) == 0)) {
			__atomic_store_n(&sc->dropped, 1, __ATOMIC_SEQ_CST);
			s->ddl.victims[n++] = sc;
		}
	}
	s->ddl.nvictims = n;
	s->ddl.next = whole   ? cat_without_project(cat, op->project, 0)
		      : table ? cat_without_table(cat, op->project, op->scope, table, 0)
			      : cat_without_scope(cat, op->project, op->scope, 0);
	if (!s->ddl.next) {
		for (uint32_t i = 0; i < n; i++)
			__atomic_store_n(&s->ddl.victims[i]->dropped, 0, __ATOMIC_SEQ_CST);
		req_complete(r, -ENOMEM);
		return;
	}
	s->ddl.active = r;
	s->ddl.phase = DDL_FENCING;
	ddl_broadcast(s, RING_MSG_DDL_FENCE);
}

/* Drop, phase 1: every shard fenced; commit and retire. */
static void ddl_drop_commit(struct shard *s)
{
	struct req *r = s->ddl.active;
	const struct ddl_op *op = r->ddl;
	const struct catalog *cat = api_catalog_any(s->db);
	struct cat_project *proj = (struct cat_project *)cat_find_project(cat, op->project);

	AEDB_ASSERT(proj != NULL);
	AEDB_ASSERT(s->ddl.next != NULL);
	if (op->kind == DDL_DROP_PROJECT)
		ck_epoch_call(&s->erec, &proj->epoch_entry, ddl_free_project_cb);
	for (uint32_t i = 0; i < s->ddl.nvictims; i++)
		shard_retire_scope(s, s->ddl.victims[i]);
	ddl_commit(s, r, s->ddl.next, 1, NULL);
	s->ddl.next = NULL;
	s->ddl.phase = DDL_RETIRING;
	ddl_broadcast(s, RING_MSG_DDL_RETIRE);
}

/* Drop, phase 2: every shard retired its partitions. */
static void ddl_drop_end(struct shard *s)
{
	for (uint32_t i = 0; i < s->ddl.nvictims; i++)
		ck_epoch_call(&s->erec, &s->ddl.victims[i]->epoch_entry, ddl_free_scope_cb);
	s->ddl.nvictims = 0;
	s->ddl.active = NULL;
	s->ddl.phase = DDL_IDLE;
}

/* Hooks for index DDL (shard/ddl_index.c). */
void shard_ddl_commit(struct shard *s, struct req *r, struct catalog *next, int res,
		      struct cat_scope *unmark)
{
	ddl_commit(s, r, next, res, unmark);
}

void shard_ddl_fencing(struct shard *s)
{
	s->ddl.phase = DDL_FENCING;
}

void shard_ddl_idle(struct shard *s)
{
	s->ddl.active = NULL;
	s->ddl.phase = DDL_IDLE;
}

void shard_ddl_retire_one(struct shard *s, struct cat_scope *victim)
{
	free(s->ddl.victims);
	s->ddl.victims = malloc(sizeof(*s->ddl.victims));
	/* No memory to tell the others: their partitions go at close. */
	s->ddl.nvictims = s->ddl.victims ? 1 : 0;
	if (s->ddl.victims)
		s->ddl.victims[0] = victim;
	shard_retire_scope(s, victim);
	s->ddl.phase = DDL_RETIRING;
	ddl_broadcast(s, RING_MSG_DDL_RETIRE);
}

static int ddl_advance(struct shard *s)
{
	if (s->ddl.acks)
		return 0;
	/* The coordinator fences itself too: a prepared cross-shard fragment
	 * that writes a victim must apply before the drop's seq. */
	if (s->ddl.phase == DDL_FENCING && shard_txn_fence_must_wait(s))
		return 0;
	if (s->ddl.phase == DDL_FENCING && ddl_kind_is_index(s->ddl.active->ddl->kind))
		return shard_ddl_index_advance(s);
	if (s->ddl.phase == DDL_FENCING && s->ddl.active->ddl->kind == DDL_ALTER_TABLE)
		return shard_ddl_alter_advance(s);
	if (s->ddl.phase == DDL_FENCING)
		ddl_drop_commit(s);
	if (s->ddl.phase == DDL_RETIRING && s->ddl.acks == 0)
		ddl_drop_end(s);
	return 1;
}

int shard_ddl_step(struct shard *s)
{
	const struct catalog *cat;
	struct req *r;

	if (s->id != 0)
		return 0;
	if (s->ddl.active)
		return ddl_advance(s);
	r = s->ddl.queue_head;
	if (!r)
		return 0;
	s->ddl.queue_head = r->next;
	if (!s->ddl.queue_head)
		s->ddl.queue_tail = NULL;
	cat = api_catalog_any(s->db);
	if (ddl_kind_is_index(r->ddl->kind))
		shard_ddl_index_begin(s, r, cat);
	else if (r->ddl->kind == DDL_ALTER_TABLE)
		shard_ddl_alter_begin(s, r, cat);
	else if (ddl_kind_creates(r->ddl->kind))
		ddl_create(s, r, cat);
	else
		ddl_drop_begin(s, r, cat);
	return 1;
}

void shard_ddl_fence_reply(struct shard *s, const struct ring_msg *m)
{
	struct ring_msg rep = {
		.type = RING_MSG_REPLY, .src = (uint16_t)s->id, .dst = m->src,
		.cookie = m->cookie,
	};

	AEDB_ASSERT(ring_mesh_send(s->db->mesh, &rep) == 0);
	shard_wake_any(&s->db->shards[m->src]);
}

void shard_ddl_on_msg(struct shard *s, const struct ring_msg *m)
{
	struct cat_scope *const *victims = m->payload.ptr;

	switch (m->type) {
	case RING_MSG_DDL_FENCE:
		/* Between rounds: every write accepted before the mark is
		 * applied and published, except prepared cross-shard
		 * fragments: the reply waits for those that write a victim
		 * (shard_txn_step sends it). */
		if (shard_txn_fence_must_wait(s)) {
			s->fence = *m;
			s->fence_pending = 1;
		} else {
			shard_ddl_fence_reply(s, m);
		}
		break;
	case RING_MSG_DDL_BACKFILL:
		shard_ddl_index_backfill(s, (struct cat_scope *)m->payload.ptr, m->seq);
		shard_ddl_fence_reply(s, m);
		break;
	case RING_MSG_DDL_REWRITE:
		shard_ddl_alter_rewrite(s, m->payload.ptr, m->seq);
		shard_ddl_fence_reply(s, m);
		break;
	case RING_MSG_DDL_RETIRE:
		for (uint32_t i = 0; i < m->len; i++)
			shard_retire_scope(s, victims[i]);
		shard_ddl_fence_reply(s, m);
		break;
	case RING_MSG_REPLY:
		AEDB_ASSERT(s->id == 0 && s->ddl.acks > 0);
		s->ddl.acks--;
		break;
	default:
		AEDB_ASSERT(!"unknown mesh message");
	}
}
