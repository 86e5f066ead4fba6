/* SPDX-License-Identifier: MIT */
/*
 * The checkpoint manifest `checkpoint/MANIFEST` (little-endian): which
 * checkpoint is current. Written only after every file it names is fsynced,
 * through a temp file, fsync, rename and a directory fsync, so a reader sees
 * the old manifest or the new one, never a mix.
 *
 *   header (64 B): magic u64 "AEDBMAN1" | version u32 | nshards u32 | seq u64 |
 *                  db_id[16] | created_ns u64 | cat_next_id u32 | pad u32 |
 *                  entries u64
 *   per shard (32 B): file_bytes u64 | blocks u64 | entries u64 |
 *                  wal_first_seg u64 (first WAL segment replay needs; 0: none)
 *   crc u32: CRC32C of everything before it
 *
 * The files are `checkpoint/<seq:020>/<shard>.ckpt` (wal/ckpt.h).
 */
#ifndef AEDB_WAL_MANIFEST_H
#define AEDB_WAL_MANIFEST_H

#include <stdint.h>

#include "aedb.h"

#define MANIFEST_MAGIC 0x314e414d42444541ull /* "AEDBMAN1" little-endian */
#define MANIFEST_VERSION 1u
#define MANIFEST_NAME "MANIFEST"

struct wal_manifest_file {
	uint64_t file_bytes;
	uint64_t blocks;
	uint64_t entries;
	uint64_t wal_first_seg;
};

struct wal_manifest {
	uint64_t magic;
	uint32_t version;
	uint32_t nshards;
	uint64_t seq;
	uint8_t db_id[16];
	uint64_t created_ns;
	uint32_t cat_next_id;
	uint32_t pad;
	uint64_t entries;
	struct wal_manifest_file files[AEDB_SHARDS_MAX];
};

/* Write @m (nshards files) as @ckdir/MANIFEST atomically. 0 or -errno. */
int wal_manifest_write(int ckdir_fd, struct wal_manifest *m);
/* Read @ckdir/MANIFEST: 1 and *@m, 0 if there is none, -AEDB_ECORRUPT, or
 * -errno. Checks magic, version, CRC and that it is for @db_id/@nshards
 * (-AEDB_EINCOMPAT otherwise). */
int wal_manifest_read(int ckdir_fd, const uint8_t db_id[16], uint32_t nshards,
		      struct wal_manifest *m);

#endif
