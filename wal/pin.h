/* SPDX-License-Identifier: MIT */
/*
 * The backup WAL pin (docs/OPERATIONS.md "Keeping the WAL for incremental
 * backups"): `<dir>/backup.pin` records a seq P; while the instance runs
 * with cfg.backup_wal_pin, checkpoints and recovery reclaim only segments
 * wholly at or below min(checkpoint, P), so every commit after P stays in
 * the WAL for the next incremental backup. Each backup taken with the
 * option sets P to its to_seq.
 *
 * File (24 bytes, little-endian): magic u64 "AEDBPIN1" | seq u64 |
 * crc u32 (CRC32C of the first 16 bytes) | pad u32.
 */
#ifndef AEDB_WAL_PIN_H
#define AEDB_WAL_PIN_H

#include <stdint.h>

#define WAL_PIN_NAME "backup.pin"
#define WAL_PIN_NONE UINT64_MAX

/* Read the pin of data directory @root into *@seq: WAL_PIN_NONE if there is
 * no pin file, 0 (keep every segment) if it is damaged. 0 or -errno. */
int wal_pin_read(const char *root, uint64_t *seq);
/* Set the pin to @seq (temp file, fsync, rename, directory fsync). */
int wal_pin_write(const char *root, uint64_t seq);
/* Remove the pin file (a missing one is fine). 0 or -errno. */
int wal_pin_remove(const char *root);

#endif
