/* SPDX-License-Identifier: MIT */
/* Shared test helpers (t_ prefix). */
#ifndef AEDB_T_HELPERS_H
#define AEDB_T_HELPERS_H

#include <stdint.h>

#include "aedb.h"

/* A fresh empty directory under $TMPDIR (or /tmp); the caller frees the
 * string and removes the tree with t_rmrf(). Aborts on failure. */
char *t_tmpdir(void);
/* rm -rf @path. */
void t_rmrf(const char *path);

/* An instance with @shards shards on a fresh temporary directory, defaults
 * otherwise (cfg may be NULL). Aborts on failure. */
struct aedb *t_open(uint32_t shards, const struct aedb_config *cfg);
/* Close an instance from t_open() and remove its directory. */
void t_close(struct aedb *db);

/* Every file and directory under @dir, one line each in walk order: its
 * path, size, mtime, mode and SHA-256 (files). Two equal digests mean
 * nothing was written, created, removed or touched. The caller frees it. */
char *t_dir_digest(const char *dir);

/* Monotonic clock, nanoseconds. */
uint64_t t_now_ns(void);

/* A seed for randomized tests: $AEDB_TEST_SEED if set, else time-based.
 * Printed to stderr so a failure can be replayed. */
uint64_t t_seed(const char *test_name);
/* splitmix64 step. */
uint64_t t_rand(uint64_t *state);

#endif
