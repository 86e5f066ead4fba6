/* SPDX-License-Identifier: MIT */
/*
 * Configuration: defaults, named profiles, and open-time validation.
 *
 * Every numeric field has one row in config_rules (its range, and whether 0
 * or only powers of two are allowed); validation walks the table, so a field
 * cannot be added without a rule (a static assert counts them), and the
 * error message names the field and its allowed range.
 */
#include "core/config.h"

#include <stddef.h>
#include <stdio.h>
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

static void config_production(struct aedb_config *cfg)
{
	aedb_config_init(cfg);
	cfg->pin_threads = 1;
	cfg->inbox_entries = 16384;
	cfg->checkpoint_interval_ms = 5 * 60 * 1000;
}

static void config_development(struct aedb_config *cfg)
{
	aedb_config_init(cfg);
	cfg->durability = AEDB_DURABILITY_OS;
	cfg->recovery = AEDB_RECOVERY_PERMISSIVE;
	cfg->wal_segment_bytes = 4u << 20;
	cfg->checkpoint_wal_bytes = 64u << 20;
}

static const struct {
	const char *name;
	void (*fill)(struct aedb_config *cfg);
} config_profiles[] = {
	{ "default", aedb_config_init },
	{ "low-latency", aedb_config_low_latency },
	{ "production", config_production },
	{ "development", config_development },
};

AEDB_API int aedb_config_profile(struct aedb_config *cfg, const char *name)
{
	if (!cfg || !name)
		return -AEDB_EMISUSE;
	for (size_t i = 0; i < sizeof(config_profiles) / sizeof(config_profiles[0]); i++) {
		if (strcmp(name, config_profiles[i].name) == 0) {
			config_profiles[i].fill(cfg);
			return 0;
		}
	}
	return -AEDB_ECONFIG;
}

enum { CFG_POW2 = 1, CFG_ZERO_OK = 2 };

#define CFG_RULE(f, lo, hi, fl) { #f, offsetof(struct aedb_config, f), lo, hi, fl }

/* One row per field (reserved[] is checked apart: all zero). */
static const struct config_rule {
	const char *name;
	size_t off;
	uint32_t lo, hi;
	uint32_t flags;
} config_rules[] = {
	CFG_RULE(shards, 0, AEDB_SHARDS_MAX, 0),
	CFG_RULE(pin_threads, 0, 1, 0),
	CFG_RULE(durability, AEDB_DURABILITY_FULL, AEDB_DURABILITY_OS, 0),
	CFG_RULE(max_key_bytes, 1, AEDB_KEY_BYTES_LIMIT, 0),
	CFG_RULE(max_value_bytes, 0, AEDB_VALUE_BYTES_LIMIT, 0),
	CFG_RULE(max_scan_rows, 1, UINT32_MAX, 0),
	CFG_RULE(inbox_entries, 64, 1u << 20, CFG_POW2),
	CFG_RULE(mesh_entries, 16, 1u << 16, CFG_POW2),
	CFG_RULE(batch_max, 1, 65536, 0),
	CFG_RULE(spin_us, 0, 1000000, 0),
	CFG_RULE(retain_commits, 0, UINT32_MAX, 0),
	CFG_RULE(retain_ms, 0, UINT32_MAX, 0),
	CFG_RULE(gc_interval_ms, 1, 60000, 0),
	CFG_RULE(wal_segment_bytes, 64u << 10, 1u << 30, 0),
	CFG_RULE(batch_interval_ms, 1, 60000, 0),
	CFG_RULE(batch_max_bytes, 4u << 10, 1u << 30, 0),
	CFG_RULE(recovery, AEDB_RECOVERY_STRICT, AEDB_RECOVERY_PERMISSIVE, 0),
	CFG_RULE(idempotency_window, 0, UINT32_MAX, 0),
	CFG_RULE(max_txn_bytes, 4u << 10, 256u << 20, 0),
	CFG_RULE(checkpoint_wal_bytes, 1u << 20, UINT32_MAX, CFG_ZERO_OK),
	CFG_RULE(checkpoint_interval_ms, 100, 86400000, CFG_ZERO_OK),
	CFG_RULE(backup_wal_pin, 0, 1, 0),
};

/* Every field before reserved[] has a rule. */
AEDB_STATIC_ASSERT(sizeof(config_rules) / sizeof(config_rules[0]) ==
			   offsetof(struct aedb_config, reserved) / sizeof(uint32_t),
		   "a struct aedb_config field without a validation rule");

static int config_fail(char *msg, size_t msg_len, const struct config_rule *r, uint32_t v)
{
	if (msg && msg_len)
		snprintf(msg, msg_len, "config.%s = %u: must be %s%s%u..%u", r->name, v,
			 r->flags & CFG_ZERO_OK ? "0 or " : "",
			 r->flags & CFG_POW2 ? "a power of two in " : "", r->lo, r->hi);
	return -AEDB_ECONFIG;
}

AEDB_API int aedb_config_validate(const struct aedb_config *cfg, char *msg, size_t msg_len)
{
	if (msg && msg_len)
		msg[0] = '\0';
	if (!cfg)
		return -AEDB_EMISUSE;
	for (size_t i = 0; i < sizeof(config_rules) / sizeof(config_rules[0]); i++) {
		const struct config_rule *r = &config_rules[i];
		uint32_t v;

		memcpy(&v, (const char *)cfg + r->off, sizeof(v));
		if (v == 0 && (r->flags & CFG_ZERO_OK))
			continue;
		if (v < r->lo || v > r->hi || ((r->flags & CFG_POW2) && (v & (v - 1))))
			return config_fail(msg, msg_len, r, v);
	}
	for (size_t i = 0; i < sizeof(cfg->reserved) / sizeof(cfg->reserved[0]); i++) {
		if (cfg->reserved[i]) {
			if (msg && msg_len)
				snprintf(msg, msg_len, "config.reserved[%zu] = %u: must be 0", i,
					 cfg->reserved[i]);
			return -AEDB_ECONFIG;
		}
	}
	return 0;
}

int core_config_resolve(const struct aedb_config *in, struct aedb_config *out, char *msg,
			size_t msg_len)
{
	long cpus;
	int rc = aedb_config_validate(in, msg, msg_len);

	if (rc < 0)
		return rc;
	*out = *in;
	if (out->shards == 0) {
		cpus = sysconf(_SC_NPROCESSORS_ONLN);
		out->shards = cpus < 1 ? 1 : (cpus > AEDB_SHARDS_MAX ? AEDB_SHARDS_MAX
								     : (uint32_t)cpus);
	}
	return 0;
}
