/* SPDX-License-Identifier: MIT */
/*
 * ring_mesh - a full N x N mesh of SPSC rings between shards: ring (s, d)
 * carries messages from shard s to shard d. Replies go back on (d, s).
 * A full ring spills into a bounded per-pair overflow FIFO owned by the
 * sender; when that is full too the send fails with -AEDB_EBUSY.
 */
#ifndef AEDB_RING_MESH_H
#define AEDB_RING_MESH_H

#include <stdint.h>

#include "ring/ring_msg.h"

struct ring_mesh;

/* Create a mesh for @n shards with @entries slots per ring. NULL on ENOMEM. */
struct ring_mesh *ring_mesh_create(uint32_t n, uint32_t entries);
void ring_mesh_destroy(struct ring_mesh *mesh);

/* Send @msg from msg->src to msg->dst. Sender (src shard) only.
 * 0 or -AEDB_EBUSY. */
int ring_mesh_send(struct ring_mesh *mesh, const struct ring_msg *msg);

/* Move overflowed messages into their rings; returns how many are still
 * waiting. Sender only. */
uint32_t ring_mesh_flush(struct ring_mesh *mesh, uint32_t src);

/* Receive one message for @dst from @src. Receiver (dst shard) only.
 * 1 if a message was copied into @out, 0 if the ring was empty. */
int ring_mesh_recv(struct ring_mesh *mesh, uint32_t src, uint32_t dst, struct ring_msg *out);

/* 1 if a message from @src waits for @dst. Receiver only. */
int ring_mesh_pending(struct ring_mesh *mesh, uint32_t src, uint32_t dst);

#endif
