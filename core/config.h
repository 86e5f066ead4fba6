/* SPDX-License-Identifier: MIT */
/* Configuration defaults and open-time validation. */
#ifndef AEDB_CORE_CONFIG_H
#define AEDB_CORE_CONFIG_H

#include "aedb.h"

/* Validate @in and produce the effective config in @out (shards resolved
 * from the CPU count). Returns 0 or -AEDB_ECONFIG. */
int core_config_resolve(const struct aedb_config *in, struct aedb_config *out);

#endif
