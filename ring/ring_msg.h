/* SPDX-License-Identifier: MIT */
/*
 * ring_msg - one 64-byte message on the shard<->shard mesh (STYLE: layout,
 * transport, ownership). Anything a message points to belongs to the origin
 * and stays valid until the reply arrives; the receiver copies what it keeps.
 */
#ifndef AEDB_RING_MSG_H
#define AEDB_RING_MSG_H

#include <stdint.h>

enum ring_msg_type {
	RING_MSG_DDL_FENCE = 1,   /* ack once every earlier write is applied */
	RING_MSG_DDL_RETIRE,      /* retire your partitions of payload scopes */
	RING_MSG_REPLY,           /* reply: cookie, res */
	RING_MSG_DDL_BACKFILL,    /* fill your partition of the payload index */
	RING_MSG_DDL_REWRITE,     /* ALTER TABLE: rewrite your rows at seq */
};

struct ring_msg {
	uint16_t type;
	uint16_t flags;
	uint16_t src;
	uint16_t dst;
	uint64_t seq;       /* sequencer number, 0 if unsequenced */
	uint64_t cookie;    /* origin-side handle for the reply */
	int32_t res;
	uint32_t len;
	union {
		uint8_t inline_bytes[32];
		const void *ptr;
	} payload;
} __attribute__((aligned(64)));

_Static_assert(sizeof(struct ring_msg) == 64, "ring_msg is one cache line");

#endif
