/* SPDX-License-Identifier: MIT */
/* Configuration defaults and open-time validation. */
#ifndef AEDB_CORE_CONFIG_H
#define AEDB_CORE_CONFIG_H

#include <stddef.h>

#include "aedb.h"

/* Validate @in and produce the effective config in @out (shards resolved
 * from the CPU count). Returns 0 or -AEDB_ECONFIG, with the reason in @msg
 * (may be NULL) as aedb_config_validate() gives it. */
int core_config_resolve(const struct aedb_config *in, struct aedb_config *out, char *msg,
			size_t msg_len);

#endif
