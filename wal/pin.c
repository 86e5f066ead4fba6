/* SPDX-License-Identifier: MIT */
#include "wal/pin.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/assert.h"
#include "core/crc32c.h"

#define WAL_PIN_MAGIC 0x314e495042444541ull /* "AEDBPIN1" little-endian */

struct wal_pin_file {
	uint64_t magic;
	uint64_t seq;
	uint32_t crc;
	uint32_t pad;
};

AEDB_STATIC_ASSERT(sizeof(struct wal_pin_file) == 24, "pin file size");

static int wal_pin_dirsync(const char *root)
{
	int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc = 0;

	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		rc = -errno;
	close(fd);
	return rc;
}

int wal_pin_read(const char *root, uint64_t *seq)
{
	struct wal_pin_file f;
	char path[4200];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", root, WAL_PIN_NAME);
	*seq = WAL_PIN_NONE;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	n = pread(fd, &f, sizeof(f), 0);
	close(fd);
	/* Damaged: keep every segment rather than guess (never lose WAL). */
	if (n != (ssize_t)sizeof(f) || f.magic != WAL_PIN_MAGIC ||
	    f.crc != core_crc32c(0, &f, offsetof(struct wal_pin_file, crc)))
		*seq = 0;
	else
		*seq = f.seq;
	return 0;
}

int wal_pin_write(const char *root, uint64_t seq)
{
	struct wal_pin_file f = { .magic = WAL_PIN_MAGIC, .seq = seq };
	char path[4200], tmp[4210];
	int fd, rc = 0;

	AEDB_ASSERT(seq != WAL_PIN_NONE);
	f.crc = core_crc32c(0, &f, offsetof(struct wal_pin_file, crc));
	snprintf(path, sizeof(path), "%s/%s", root, WAL_PIN_NAME);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (pwrite(fd, &f, sizeof(f), 0) != (ssize_t)sizeof(f))
		rc = errno ? -errno : -EIO;
	if (rc == 0 && fsync(fd) < 0)
		rc = -errno;
	close(fd);
	if (rc == 0 && rename(tmp, path) < 0)
		rc = -errno;
	if (rc < 0) {
		unlink(tmp);
		return rc;
	}
	return wal_pin_dirsync(root);
}

int wal_pin_remove(const char *root)
{
	char path[4200];

	snprintf(path, sizeof(path), "%s/%s", root, WAL_PIN_NAME);
	if (unlink(path) < 0)
		return errno == ENOENT ? 0 : -errno;
	return wal_pin_dirsync(root);
}
