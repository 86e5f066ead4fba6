/* SPDX-License-Identifier: MIT */
/*
 * bench_peer.c - what the peer backends (bench_<peer>.c) share.
 *
 * Peer engines report errors as strings (RocksDB, LevelDB) or as their own
 * codes with a message function (LMDB, SQLite, WiredTiger). The harness
 * passes ints around and asks the backend's strerror() for the text, on the
 * thread that got the error; so a peer backend keeps the text in a
 * thread-local buffer and returns BENCH_EENGINE.
 */
#include "bench_backend.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static _Thread_local char bench_peer_msg[512];

int bench_peer_fail(const char *what, const char *msg)
{
	snprintf(bench_peer_msg, sizeof(bench_peer_msg), "%s: %s", what,
		 msg ? msg : "unknown error");
	return BENCH_EENGINE;
}

const char *bench_peer_strerror(int err)
{
	if (err == BENCH_EENGINE)
		return bench_peer_msg[0] ? bench_peer_msg : "engine error";
	return strerror(err < 0 ? -err : err);
}

bool bench_peer_no(int err)
{
	(void)err;
	return false;
}

int bench_peer_mkdir(const char *dir)
{
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}
