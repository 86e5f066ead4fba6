/* SPDX-License-Identifier: MIT */
/* Checkpoints: the writer, automatic checkpoints, reclaim (api/checkpoint.c). */
#ifndef AEDB_API_CHECKPOINT_H
#define AEDB_API_CHECKPOINT_H

#include <stdint.h>

struct aedb;
struct aedb_checkpoint_result;
struct aedb_stats;

/* After recovery, before the instance is returned: remember checkpoint
 * @seq (0: none), clean up leftovers of unfinished checkpoints, and start
 * the automatic checkpoint thread if the config asks for one. 0 or -errno. */
int api_ckpt_open(struct aedb *db, uint64_t seq);
/* Stop the automatic thread and wait for a running checkpoint (close). */
void api_ckpt_close(struct aedb *db);

/* Backups (api/backup.c): take a checkpoint and keep the checkpoint lock,
 * so no checkpoint deletes its files or WAL segments while they are copied;
 * 0 (locked) or an error of aedb_checkpoint_now() (not locked). */
int api_ckpt_lock_for_backup(struct aedb *db, struct aedb_checkpoint_result *res);
/* Incremental backups: the same lock without a new checkpoint; *@seq gets
 * the current checkpoint's seq (segments wholly at or below it may be gone). */
int api_ckpt_lock_current(struct aedb *db, uint64_t *seq);
void api_ckpt_unlock_for_backup(struct aedb *db);
/* Under that lock, after a backup's copy: with cfg.backup_wal_pin, move
 * the backup pin to @to_seq (wal/pin.h). 0 or -errno. */
int api_ckpt_pin_backup(struct aedb *db, uint64_t to_seq);
/* Under that lock: does the pin guarantee every WAL segment that can hold
 * seqs >= @from is still on disk? */
int api_ckpt_wal_kept(struct aedb *db, uint64_t from);

/* Fill the checkpoint fields of aedb_stats(). Any thread. */
void api_ckpt_stats_any(struct aedb *db, struct aedb_stats *out);

/* The seq AT_CHECKPOINT reads at, 0 if none is readable. Inside an epoch
 * section (see api/kv.c). */
uint64_t api_ckpt_read_seq_any(struct aedb *db);

#endif
