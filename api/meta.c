/* SPDX-License-Identifier: MIT */
/*
 * The data directory's identity and lock.
 *
 * `LOCK` is held with flock(LOCK_EX) while an instance is open, so a second
 * open (this process or another) gets -AEDB_ELOCKED. `aedb.meta` (64 bytes,
 * CRC32C-sealed) records the format version, a random database id carried in
 * every WAL segment header, and the shard count; it is written once, when the
 * directory is created, through temp file + fsync + rename + directory fsync.
 */
#include "api/meta.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/crc32c.h"

#define META_MAGIC 0x4154454d42444541ull /* "AEDBMETA" */
#define META_VERSION 1u

struct meta_file {
	uint64_t magic;
	uint32_t version;
	uint32_t nshards;
	uint8_t db_id[16];
	uint8_t pad[28];
	uint32_t crc;
};

_Static_assert(sizeof(struct meta_file) == 64, "meta file is 64 bytes");

int api_lock_dir(const char *path, int *fd_out)
{
	char p[4096];
	int fd;

	snprintf(p, sizeof(p), "%s/LOCK", path);
	fd = open(p, O_CREAT | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int err = errno;

		close(fd);
		return err == EWOULDBLOCK ? -AEDB_ELOCKED : -err;
	}
	*fd_out = fd;
	return 0;
}

static int meta_write(const char *path, const struct meta_file *m)
{
	char tmp[4096], dst[4096];
	int fd, dfd, rc = 0;

	snprintf(tmp, sizeof(tmp), "%s/aedb.meta.tmp", path);
	snprintf(dst, sizeof(dst), "%s/aedb.meta", path);
	fd = open(tmp, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (write(fd, m, sizeof(*m)) != (ssize_t)sizeof(*m) || fsync(fd) < 0)
		rc = errno ? -errno : -EIO;
	close(fd);
	if (rc == 0 && rename(tmp, dst) < 0)
		rc = -errno;
	dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rc == 0 && (dfd < 0 || fsync(dfd) < 0))
		rc = -errno;
	if (dfd >= 0)
		close(dfd);
	return rc;
}

static int meta_has_wal(const char *path)
{
	char p[4096];
	struct stat st;

	snprintf(p, sizeof(p), "%s/wal", path);
	return stat(p, &st) == 0;
}

int api_meta_read(const char *path, uint32_t *nshards, uint8_t db_id[16], uint32_t *version)
{
	struct meta_file m;
	char p[4096];
	ssize_t n;
	int fd;

	snprintf(p, sizeof(p), "%s/aedb.meta", path);
	fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, &m, sizeof(m));
	close(fd);
	if (n != (ssize_t)sizeof(m) || m.magic != META_MAGIC ||
	    m.crc != core_crc32c(0, &m, offsetof(struct meta_file, crc)))
		return -AEDB_ECORRUPT;
	if (version)
		*version = m.version;
	if (m.version != META_VERSION || m.nshards == 0 || m.nshards > AEDB_SHARDS_MAX)
		return -AEDB_EINCOMPAT;
	if (*nshards && *nshards != m.nshards)
		return -AEDB_EINCOMPAT;
	*nshards = m.nshards;
	memcpy(db_id, m.db_id, 16);
	return 0;
}

int api_meta_load(const char *path, uint32_t *nshards, uint32_t dflt, uint8_t db_id[16])
{
	struct meta_file m;
	int rc = api_meta_read(path, nshards, db_id, NULL);

	if (rc != -ENOENT)
		return rc;
	if (meta_has_wal(path))
		return -AEDB_ECORRUPT; /* logs without their identity */
	memset(&m, 0, sizeof(m));
	m.magic = META_MAGIC;
	m.version = META_VERSION;
	m.nshards = *nshards ? *nshards : dflt;
	*nshards = m.nshards;
	if (sodium_init() < 0)
		return -EIO;
	randombytes_buf(m.db_id, sizeof(m.db_id));
	m.crc = core_crc32c(0, &m, offsetof(struct meta_file, crc));
	memcpy(db_id, m.db_id, 16);
	return meta_write(path, &m);
}
