/* SPDX-License-Identifier: MIT */
#include "io/fault.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

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
