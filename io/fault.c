/* SPDX-License-Identifier: MIT */
#include "io/fault.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *const io_kill_names[IO_KILL_POINTS] = {
	[IO_KILL_TXN_PREPARED] = "txn-prepared",
	[IO_KILL_TXN_LOGGED] = "txn-logged",
	[IO_KILL_ALTER_REWRITTEN] = "alter-rewritten",
	[IO_KILL_ALTER_PUBLISH] = "alter-publish",
};
static pthread_once_t io_kill_once = PTHREAD_ONCE_INIT;
static int io_kill_armed = -1;      /* the armed point, or -1 */
static uint64_t io_kill_at;         /* kill on this pass (1-based) */
static uint64_t io_kill_passes;

static void io_kill_parse(void)
{
	const char *v = getenv("AEDB_DEBUG_KILL");
	const char *colon = v ? strchr(v, ':') : NULL;

	if (!colon)
		return;
	for (int i = 0; i < IO_KILL_POINTS; i++) {
		if (strlen(io_kill_names[i]) == (size_t)(colon - v) &&
		    strncmp(v, io_kill_names[i], (size_t)(colon - v)) == 0) {
			io_kill_at = strtoull(colon + 1, NULL, 10);
			io_kill_armed = io_kill_at ? i : -1;
		}
	}
}

void io_fault_kill_point(enum io_kill_point p)
{
	pthread_once(&io_kill_once, io_kill_parse);
	if (io_kill_armed != (int)p)
		return;
	if (__atomic_add_fetch(&io_kill_passes, 1, __ATOMIC_RELAXED) == io_kill_at)
		kill(getpid(), SIGKILL);
}

static uint32_t io_fault_kind_g;
static uint64_t io_fault_after_g;
static uint64_t io_fault_bytes_g;

void io_fault_set(enum io_fault_kind kind, uint64_t after)
{
	__atomic_store_n(&io_fault_bytes_g, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&io_fault_after_g, after, __ATOMIC_RELAXED);
	__atomic_store_n(&io_fault_kind_g, (uint32_t)kind, __ATOMIC_RELEASE);
}

int io_fault_write_res(int res, size_t len)
{
	if (__atomic_load_n(&io_fault_kind_g, __ATOMIC_ACQUIRE) != IO_FAULT_ENOSPC_WRITE)
		return res;
	if (__atomic_add_fetch(&io_fault_bytes_g, len, __ATOMIC_RELAXED) >
	    __atomic_load_n(&io_fault_after_g, __ATOMIC_RELAXED))
		return -ENOSPC;
	return res;
}

int io_fault_fsync_res(int res)
{
	if (__atomic_load_n(&io_fault_kind_g, __ATOMIC_ACQUIRE) == IO_FAULT_EIO_FSYNC)
		return -EIO;
	return res;
}

int io_fault_fdatasync(int fd)
{
	if (__atomic_load_n(&io_fault_kind_g, __ATOMIC_ACQUIRE) == IO_FAULT_EIO_FSYNC) {
		errno = EIO;
		return -1;
	}
	return fdatasync(fd);
}

int io_fault_fallocate(int fd, off_t len)
{
	int rc;

	if (__atomic_load_n(&io_fault_kind_g, __ATOMIC_ACQUIRE) == IO_FAULT_ENOSPC_FALLOC)
		return -ENOSPC;
	rc = posix_fallocate(fd, 0, len);
	if (rc == EOPNOTSUPP || rc == EINVAL)
		rc = ftruncate(fd, len) < 0 ? errno : 0;
	return -rc;
}

void io_fault_round_pause(uint32_t shard)
{
	uint64_t us;
	struct timespec ts;

	if (shard == 0 ||
	    __atomic_load_n(&io_fault_kind_g, __ATOMIC_RELAXED) != IO_FAULT_ROUND_PAUSE)
		return;
	us = __atomic_load_n(&io_fault_after_g, __ATOMIC_RELAXED);
	ts.tv_sec = (time_t)(us / 1000000u);
	ts.tv_nsec = (long)(us % 1000000u) * 1000;
	nanosleep(&ts, NULL);
}
