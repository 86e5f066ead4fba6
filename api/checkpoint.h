/* SPDX-License-Identifier: MIT */
/* Checkpoints: the writer, automatic checkpoints, reclaim (api/checkpoint.c). */
#ifndef AEDB_API_CHECKPOINT_H
#define AEDB_API_CHECKPOINT_H

#include <stdint.h>

struct aedb;

/* After recovery, before the instance is returned: remember checkpoint
 * @seq (0: none), clean up leftovers of unfinished checkpoints, and start
 * the automatic checkpoint thread if the config asks for one. 0 or -errno. */
int api_ckpt_open(struct aedb *db, uint64_t seq);
/* Stop the automatic thread and wait for a running checkpoint (close). */
void api_ckpt_close(struct aedb *db);

/* The seq AT_CHECKPOINT reads at, 0 if none is readable. Inside an epoch
 * section (see api/kv.c). */
uint64_t api_ckpt_read_seq_any(struct aedb *db);

#endif
