/* SPDX-License-Identifier: MIT */
/* Data directory lock and identity (see api/meta.c). */
#ifndef AEDB_API_META_H
#define AEDB_API_META_H

#include <stdint.h>

#include "aedb.h"

/* Take the directory lock; *@fd_out holds it. 0, -AEDB_ELOCKED or -errno. */
int api_lock_dir(const char *path, int *fd_out);

/* Load aedb.meta, or create it for a new directory. *@nshards: in, the
 * requested count (0 = the directory's, or @dflt for a new one); out, the
 * count to use. 0, -AEDB_EINCOMPAT, -AEDB_ECORRUPT or -errno. */
int api_meta_load(const char *path, uint32_t *nshards, uint32_t dflt, uint8_t db_id[16]);

/* Read aedb.meta only (read-only opens, tools): as api_meta_load() but
 * -ENOENT when it is missing; *@version (may be NULL) gets the file's format
 * version whenever the file is intact. */
int api_meta_read(const char *path, uint32_t *nshards, uint8_t db_id[16], uint32_t *version);

#endif
