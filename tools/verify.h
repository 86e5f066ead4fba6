/* SPDX-License-Identifier: MIT */
/* File-level checks of a data directory (`aedb verify`, `aedb info`). */
#ifndef AEDB_TOOLS_VERIFY_H
#define AEDB_TOOLS_VERIFY_H

#include <stdint.h>

struct tool_verify {
	uint32_t nshards;
	uint32_t format;           /* aedb.meta's format version */
	uint8_t db_id[16];
	uint64_t checkpoint_seq;   /* the manifest's (0: none) */
	uint64_t checkpoint_blocks;
	uint64_t segments, frames;
	uint64_t log_bytes;        /* frame bytes in the segments */
	uint64_t wal_file_bytes;   /* segment file sizes (preallocated) */
	uint64_t torn_tails;       /* logs ending in a torn (never synced) write */
	uint32_t damaged;          /* damage found (the first is described) */
	char file[64];
	uint64_t offset;
	char what[512];
};

/* Walk aedb.meta, the manifest, every checkpoint block and every WAL frame
 * of @dir, read-only. 0 (damage is reported in @v), -ENOENT (no aedb.meta),
 * or -errno / -ENOMEM. */
int tool_verify_files(struct tool_verify *v, const char *dir);

/* The segment file names of shard @i's WAL, sorted; the caller frees each
 * and the array. 0 (none: *@n = 0), -ENOMEM or -errno. */
int tool_wal_list(const char *dir, uint32_t i, char ***out, uint32_t *n);

#endif
