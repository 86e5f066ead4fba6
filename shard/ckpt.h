/* SPDX-License-Identifier: MIT */
/*
 * The shard's part in a checkpoint (api/checkpoint.c): partitions are read
 * by the checkpoint's helper threads, lock-free at the checkpoint seq, but
 * the idempotency table is owner-only, so the shard copies its keys for the
 * checkpoint between two rounds (a REQ_CKPT request: a few microseconds per
 * thousand keys).
 */
#ifndef AEDB_SHARD_CKPT_H
#define AEDB_SHARD_CKPT_H

#include <stdint.h>

struct shard;
struct req;

/* REQ_CKPT payload (req.key points at it). */
struct shard_ckpt_idem {
	uint64_t seq;            /* in: the checkpoint seq S */
	uint8_t *buf;            /* out: n entries key[16] | seq u64, ascending
				  * seq, all <= S (malloc; the caller frees) */
	uint32_t n;
};

/* Handle a REQ_CKPT request between rounds: copy the live idempotency keys
 * applied at or below S, then complete it (0 or -ENOMEM). Owner shard. */
void shard_ckpt_req(struct shard *s, struct req *r);

#endif
