/* SPDX-License-Identifier: MIT */
/* Partition hashing (DESIGN §3): xxh3 seeded with the namespace id. */
#ifndef AEDB_CORE_HASH_H
#define AEDB_CORE_HASH_H

#include <stdint.h>
#include <xxhash.h>

/* The shard that owns @key of namespace @ns among @nshards. */
static inline uint32_t core_kv_shard(uint32_t ns, const void *key, uint32_t key_len,
				     uint32_t nshards)
{
	uint64_t h = XXH3_64bits_withSeed(key, key_len, (uint64_t)ns);

	return (uint32_t)(h % nshards);
}

#endif
