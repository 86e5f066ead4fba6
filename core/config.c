/* SPDX-License-Identifier: MIT */
#include "core/config.h"

#include <string.h>
#include <unistd.h>

AEDB_API void aedb_config_init(struct aedb_config *cfg)
{
	if (!cfg)
		return;
	memset(cfg, 0, sizeof(*cfg));
	cfg->shards = 0;
	cfg->pin_threads = 0;
	cfg->durability = AEDB_DURABILITY_FULL;
	cfg->max_key_bytes = 1024;
	cfg->max_value_bytes = 1u << 20;
	cfg->max_scan_rows = 10000;
	cfg->inbox_entries = 4096;
	cfg->mesh_entries = 1024;
	cfg->batch_max = 512;
	cfg->spin_us = 50;
	cfg->retain_commits = 1024;
	cfg->retain_ms = 5000;
	cfg->gc_interval_ms = 100;
	cfg->wal_segment_bytes = 64u << 20;
	cfg->batch_interval_ms = 10;
	cfg->batch_max_bytes = 1u << 20;
	cfg->recovery = AEDB_RECOVERY_STRICT;
	cfg->idempotency_window = 100000;
	cfg->max_txn_bytes = 16u << 20;
	cfg->checkpoint_wal_bytes = 256u << 20;
	cfg->checkpoint_interval_ms = 0;
}

AEDB_API void aedb_config_low_latency(struct aedb_config *cfg)
{
	if (!cfg)
		return;
	aedb_config_init(cfg);
	cfg->spin_us = 500;
	cfg->batch_max = 64;
}

static int core_pow2(uint32_t v)
{
	return v && !(v & (v - 1));
}

static int core_in(uint32_t v, uint32_t lo, uint32_t hi)
{
	return v >= lo && v <= hi;
}

int core_config_resolve(const struct aedb_config *in, struct aedb_config *out)
{
	long cpus;

	for (size_t i = 0; i < sizeof(in->reserved) / sizeof(in->reserved[0]); i++)
		if (in->reserved[i])
			return -AEDB_ECONFIG;
	if (in->shards > AEDB_SHARDS_MAX || in->durability > AEDB_DURABILITY_OS)
		return -AEDB_ECONFIG;
	if (in->pin_threads > 1)
		return -AEDB_ECONFIG;
	if (!core_in(in->max_key_bytes, 1, AEDB_KEY_BYTES_LIMIT) ||
	    in->max_value_bytes > AEDB_VALUE_BYTES_LIMIT || in->max_scan_rows == 0)
		return -AEDB_ECONFIG;
	if (!core_pow2(in->inbox_entries) || !core_in(in->inbox_entries, 64, 1u << 20))
		return -AEDB_ECONFIG;
	if (!core_pow2(in->mesh_entries) || !core_in(in->mesh_entries, 16, 1u << 16))
		return -AEDB_ECONFIG;
	if (!core_in(in->batch_max, 1, 65536) || in->spin_us > 1000000)
		return -AEDB_ECONFIG;
	if (!core_in(in->gc_interval_ms, 1, 60000))
		return -AEDB_ECONFIG;
	if (!core_in(in->wal_segment_bytes, 64u << 10, 1u << 30) ||
	    !core_in(in->batch_interval_ms, 1, 60000) ||
	    !core_in(in->batch_max_bytes, 4u << 10, 1u << 30) ||
	    in->recovery > AEDB_RECOVERY_PERMISSIVE)
		return -AEDB_ECONFIG;
	if (!core_in(in->max_txn_bytes, 4u << 10, 256u << 20))
		return -AEDB_ECONFIG;
	if ((in->checkpoint_wal_bytes && in->checkpoint_wal_bytes < (1u << 20)) ||
	    (in->checkpoint_interval_ms && !core_in(in->checkpoint_interval_ms, 100, 86400000)))
		return -AEDB_ECONFIG;
	*out = *in;
	if (out->shards == 0) {
		cpus = sysconf(_SC_NPROCESSORS_ONLN);
		out->shards = cpus < 1 ? 1 : (cpus > AEDB_SHARDS_MAX ? AEDB_SHARDS_MAX
								     : (uint32_t)cpus);
	}
	return 0;
}
