/* SPDX-License-Identifier: MIT */
/*
 * Fault injection for tests (internal; not exported from the shared
 * library). Disarmed, each hook is one relaxed load and the real call.
 */
#ifndef AEDB_IO_FAULT_H
#define AEDB_IO_FAULT_H

#include <stdint.h>
#include <sys/types.h>

enum io_fault_kind {
	IO_FAULT_NONE = 0,
	IO_FAULT_ENOSPC_WRITE,   /* WAL writes fail with -ENOSPC after `after` bytes */
	IO_FAULT_EIO_FSYNC,      /* every fdatasync fails with -EIO */
	IO_FAULT_ENOSPC_FALLOC,  /* segment preallocation fails with -ENOSPC */
	IO_FAULT_ROUND_PAUSE,    /* apply rounds of shards other than 0 sleep
				  * `after` µs once they hold their catalog */
};

/*
 * Kill points for crash tests: with AEDB_DEBUG_KILL=<point>:<n> in the
 * environment, the n-th time a thread passes <point> the process SIGKILLs
 * itself there. Points: "txn-prepared" (a participant voted yes, nothing of
 * the commit logged yet), "txn-logged" (one shard's TXN frame is on disk,
 * the other participants' may not be), "alter-rewritten" (ALTER TABLE: the
 * record is queued for the log and shard 0 rewrote its rows), "alter-publish"
 * (every shard rewrote, the catalog is not published yet).
 */
enum io_kill_point {
	IO_KILL_TXN_PREPARED = 0,
	IO_KILL_TXN_LOGGED,
	IO_KILL_ALTER_REWRITTEN,
	IO_KILL_ALTER_PUBLISH,
	IO_KILL_POINTS
};
void io_fault_kill_point(enum io_kill_point p);

/* Arm (or, with IO_FAULT_NONE, disarm) a fault. Any thread. */
void io_fault_set(enum io_fault_kind kind, uint64_t after);
/* Filter a WAL write completion of @len bytes: returns @res or the fault. */
int io_fault_write_res(int res, size_t len);
/* Filter an fsync completion. */
int io_fault_fsync_res(int res);
/* fdatasync with faults: 0, or -1 with errno set. */
int io_fault_fdatasync(int fd);
/* Preallocate @len bytes (zeros): 0 or -errno. */
int io_fault_fallocate(int fd, off_t len);
/* An apply round of shard @shard took its catalog (IO_FAULT_ROUND_PAUSE). */
void io_fault_round_pause(uint32_t shard);

#endif
