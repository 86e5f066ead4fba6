/* SPDX-License-Identifier: MIT */
/*
 * Recovery (DESIGN §6): scan every shard's log, find the longest gap-free
 * prefix 1..S of commits present across all shards, replay it, and cut every
 * log back to it so no seq can be reused.
 *
 * Per shard, frames are checked in order. A frame that is cut short or fails
 * its CRC ends that shard's log if it is a torn write: in the shard's last
 * segment and not followed by a valid frame whose sync mark covers it. Any
 * other damage is corruption: strict mode refuses to open and names the file
 * and offset; permissive mode keeps the valid prefix and reports the rest.
 */
#ifndef AEDB_WAL_RECOVER_H
#define AEDB_WAL_RECOVER_H

#include "aedb.h"

struct aedb;

/* Rebuild @db's catalog and partitions from its WAL. Runs before the shard
 * threads start. Fills @rep (never NULL). 0, -AEDB_ECORRUPT, or -errno. */
int wal_recover(struct aedb *db, struct aedb_open_report *rep);

#endif
