/* SPDX-License-Identifier: MIT */
#include "wal/manifest.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/assert.h"
#include "core/crc32c.h"

#define MANIFEST_HDR_BYTES offsetof(struct wal_manifest, files)
#define MANIFEST_MAX_BYTES \
	(MANIFEST_HDR_BYTES + AEDB_SHARDS_MAX * sizeof(struct wal_manifest_file) + 4)

_Static_assert(offsetof(struct wal_manifest, files) == 64, "manifest header is 64 bytes");
_Static_assert(sizeof(struct wal_manifest_file) == 32, "manifest file entry is 32 bytes");

static size_t manifest_bytes(uint32_t nshards)
{
	return MANIFEST_HDR_BYTES + nshards * sizeof(struct wal_manifest_file);
}

int wal_manifest_write(int ckdir_fd, struct wal_manifest *m)
{
	uint8_t buf[MANIFEST_MAX_BYTES];
	size_t n = manifest_bytes(m->nshards);
	uint32_t crc;
	int fd, rc = 0;

	AEDB_ASSERT(m->nshards >= 1 && m->nshards <= AEDB_SHARDS_MAX);
	m->magic = MANIFEST_MAGIC;
	m->version = MANIFEST_VERSION;
	m->pad = 0;
	memcpy(buf, m, n);
	crc = core_crc32c(0, buf, n);
	memcpy(buf + n, &crc, 4);
	fd = openat(ckdir_fd, MANIFEST_NAME ".tmp", O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC,
		    0600);
	if (fd < 0)
		return -errno;
	if (write(fd, buf, n + 4) != (ssize_t)(n + 4))
		rc = errno ? -errno : -EIO;
	if (rc == 0 && fsync(fd) < 0)
		rc = -errno;
	close(fd);
	if (rc == 0 && renameat(ckdir_fd, MANIFEST_NAME ".tmp", ckdir_fd, MANIFEST_NAME) < 0)
		rc = -errno;
	if (rc == 0 && fsync(ckdir_fd) < 0)
		rc = -errno;
	if (rc < 0)
		unlinkat(ckdir_fd, MANIFEST_NAME ".tmp", 0);
	return rc;
}

int wal_manifest_read(int ckdir_fd, const uint8_t db_id[16], uint32_t nshards,
		      struct wal_manifest *m)
{
	uint8_t buf[MANIFEST_MAX_BYTES + 1];
	uint32_t crc;
	ssize_t got;
	size_t n;
	int fd = openat(ckdir_fd, MANIFEST_NAME, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	got = read(fd, buf, sizeof(buf));
	close(fd);
	if (got < 0)
		return -errno;
	memset(m, 0, sizeof(*m));
	if ((size_t)got < MANIFEST_HDR_BYTES + 4)
		return -AEDB_ECORRUPT;
	memcpy(m, buf, MANIFEST_HDR_BYTES);
	if (m->magic != MANIFEST_MAGIC || m->nshards < 1 || m->nshards > AEDB_SHARDS_MAX)
		return -AEDB_ECORRUPT;
	n = manifest_bytes(m->nshards);
	if ((size_t)got != n + 4)
		return -AEDB_ECORRUPT;
	memcpy(&crc, buf + n, 4);
	if (crc != core_crc32c(0, buf, n))
		return -AEDB_ECORRUPT;
	if (m->version != MANIFEST_VERSION || m->nshards != nshards || memcmp(m->db_id, db_id, 16))
		return -AEDB_EINCOMPAT;
	memcpy(m->files, buf + MANIFEST_HDR_BYTES, n - MANIFEST_HDR_BYTES);
	return 1;
}
