/* SPDX-License-Identifier: MIT */
/*
 * io_shard - a shard's io_uring ring and its doorbell.
 *
 * The doorbell is an eventfd with a read kept armed on the ring, so a shard
 * sleeping in io_shard_wait() wakes for either I/O completions (the WAL's,
 * later) or a doorbell rung by a client or another shard.
 */
#ifndef AEDB_IO_URING_H
#define AEDB_IO_URING_H

#include <liburing.h>
#include <stdint.h>

struct io_shard {
	struct io_uring ring;
	int efd;              /* doorbell eventfd */
	uint64_t efd_val;     /* read target */
	int armed;            /* a read on efd is in flight */
	int ready;            /* ring initialised */
};

/* user_data tags for the shard's own SQEs */
#define IO_TAG_DOORBELL 1ull

/* Set up a ring of @entries and the doorbell. 0 or -errno. */
int io_shard_init(struct io_shard *io, unsigned entries);
void io_shard_exit(struct io_shard *io);
/* Arm the doorbell read if it is not armed. Owner only. */
void io_shard_arm(struct io_shard *io);
/* Submit queued SQEs and wait up to @timeout_ns for one CQE. Owner only. */
void io_shard_wait(struct io_shard *io, uint64_t timeout_ns);
/* Reap ready CQEs: doorbell reads re-arm; every other CQE goes to @cb with
 * its tag and result. Returns how many. Owner only. */
typedef void io_shard_cqe_fn(void *arg, uint64_t tag, int res);
unsigned io_shard_reap(struct io_shard *io, io_shard_cqe_fn *cb, void *arg);
/* Ring @io's doorbell. Any thread. */
void io_shard_ring_any(struct io_shard *io);

#endif
