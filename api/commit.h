/* SPDX-License-Identifier: MIT */
/* Commit routing shared by the blocking calls and the submission queue. */
#ifndef AEDB_API_COMMIT_H
#define AEDB_API_COMMIT_H

#include <stdint.h>

#include "api/db.h"
#include "ring/req.h"
#include "txn/txn.h"

/*
 * Start committing @t with request @r (its completion target already set).
 * Returns 1 with *@shard set: a single-shard commit, which the caller queues
 * on that shard; 0: a cross-shard commit, queued through the sequencer; or a
 * negative error (nothing queued).
 */
int api_txn_start(struct aedb *db, const struct aedb_txn *t, struct req *r, uint32_t *shard);

#endif
