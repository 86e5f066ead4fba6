/* SPDX-License-Identifier: MIT */
/*
 * struct req - one write request on its way to, through and back from a
 * shard. Requests live in the submitter's memory (a ring slot, or the stack of
 * a blocking call) and are borrowed by the shard until completion: the shard
 * never frees one, and the submitter never touches one between enqueue and
 * completion. Completion goes to a client ring's completion queue or wakes a
 * blocking waiter.
 */
#ifndef AEDB_RING_REQ_H
#define AEDB_RING_REQ_H

#include <stdint.h>

struct core_spin;

enum req_op {
	REQ_KV_SET = 1,
	REQ_KV_DEL,
	REQ_DDL,
	REQ_TXN,       /* a transaction that lives on one shard */
	REQ_TXN_FRAG,  /* one participant's part of a cross-shard transaction */
	REQ_CKPT,      /* copy state for a checkpoint (shard/ckpt.h); key = payload */
};

/* Blocking waiter states (futex word). */
enum { REQ_WAIT_PENDING = 0, REQ_WAIT_SLEEPING = 1, REQ_WAIT_DONE = 2 };

struct ring_client;
struct ddl_op;
struct aedb_txn;
struct aedb_commit_result;
struct txn_run;

struct req {
	uint8_t op;              /* enum req_op */
	uint8_t finality;        /* enum aedb_finality */
	uint16_t cqe_flags;      /* AEDB_CQE_F_* to report */
	uint32_t ns;             /* namespace id (KV ops) */
	const void *key;
	const void *val;
	uint32_t key_len;
	uint32_t val_len;
	uint64_t *seq_out;       /* optional: receives the commit seq */
	uint64_t user_data;      /* CQE user_data */
	uint64_t seq;            /* commit seq once applied, else 0 */
	int32_t res;             /* result once complete */
	uint32_t wait_state;     /* blocking waiter futex word */
	struct ring_client *client; /* completion target, or NULL for a waiter */
	struct ddl_op *ddl;      /* REQ_DDL payload */
	struct req *next;        /* intrusive link for shard-local lists */
	uint32_t slot_busy;      /* ring slot in use (client-owned slots) */
	struct core_spin *spin;  /* waiter's spin policy; NULL: sleep at once */
	const struct aedb_txn *txn;      /* REQ_TXN; the caller's builder */
	struct txn_run *run;             /* REQ_TXN_FRAG */
	struct aedb_commit_result *txres;/* REQ_TXN: optional outcome */
	const uint64_t *durable_wm;      /* with txres: D, read at completion */
	uint32_t fail_kind;              /* REQ_TXN outcome detail */
	int32_t fail_index;
	uint32_t nparts;
	uint64_t t_ns;                   /* submit time (core_now_ns), 0: none;
	                                    for the latency metrics */
};

/* Complete @r with @res (and seq_out if res == 0). Any shard thread; after
 * this the shard must not touch @r. */
void req_complete(struct req *r, int32_t res);

/* Block until @r completes; returns its res. Submitter thread. */
int32_t req_wait(struct req *r);

#endif
