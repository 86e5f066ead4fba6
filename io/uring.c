/* SPDX-License-Identifier: MIT */
#include "io/uring.h"

#include <errno.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "core/assert.h"

int io_shard_init(struct io_shard *io, unsigned entries)
{
	int rc;

	memset(io, 0, sizeof(*io));
	io->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (io->efd < 0)
		return -errno;
	rc = io_uring_queue_init(entries, &io->ring, 0);
	if (rc < 0) {
		close(io->efd);
		io->efd = -1;
		return rc;
	}
	io->ready = 1;
	return 0;
}

void io_shard_exit(struct io_shard *io)
{
	if (io->ready)
		io_uring_queue_exit(&io->ring);
	if (io->efd >= 0)
		close(io->efd);
	io->ready = 0;
	io->efd = -1;
}

void io_shard_arm(struct io_shard *io)
{
	struct io_uring_sqe *sqe;

	AEDB_ASSERT(io->ready);
	if (io->armed)
		return;
	sqe = io_uring_get_sqe(&io->ring);
	if (!sqe) {
		io_uring_submit(&io->ring);
		sqe = io_uring_get_sqe(&io->ring);
		AEDB_ASSERT(sqe != NULL);
	}
	io_uring_prep_read(sqe, io->efd, &io->efd_val, sizeof(io->efd_val), 0);
	io_uring_sqe_set_data64(sqe, IO_TAG_DOORBELL);
	io->armed = 1;
}

void io_shard_wait(struct io_shard *io, uint64_t timeout_ns)
{
	struct __kernel_timespec ts = {
		.tv_sec = (long long)(timeout_ns / 1000000000ull),
		.tv_nsec = (long long)(timeout_ns % 1000000000ull),
	};
	struct io_uring_cqe *cqe;

	io_shard_arm(io);
	io_uring_submit_and_wait_timeout(&io->ring, &cqe, 1, &ts, NULL);
}

unsigned io_shard_reap(struct io_shard *io, io_shard_cqe_fn *cb, void *arg)
{
	struct io_uring_cqe *cqe;
	unsigned head, n = 0;

	io_uring_for_each_cqe(&io->ring, head, cqe) {
		uint64_t tag = io_uring_cqe_get_data64(cqe);

		AEDB_ASSERT(tag != 0);
		n++;
		if (tag != IO_TAG_DOORBELL) {
			cb(arg, tag, cqe->res);
			continue;
		}
		/* An eventfd read only fails if the fd is broken; re-arm
		 * either way so the shard never loses its doorbell. */
		io->armed = 0;
	}
	io_uring_cq_advance(&io->ring, n);
	return n;
}

void io_shard_ring_any(struct io_shard *io)
{
	uint64_t one = 1;
	ssize_t rc;

	do {
		rc = write(io->efd, &one, sizeof(one));
	} while (rc < 0 && errno == EINTR);
	/* EAGAIN means the counter is saturated: the shard is awake anyway. */
}
