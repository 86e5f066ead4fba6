/* SPDX-License-Identifier: MIT */
/*
 * Idempotency keys owned by one shard: 16-byte key -> the seq that applied
 * it. Keys live on the shard chosen by their hash (DESIGN §5), so a commit
 * and its retries always meet here. Entries expire in seq order once they
 * fall out of the idempotency window. Owner shard only.
 */
#ifndef AEDB_SHARD_IDEM_H
#define AEDB_SHARD_IDEM_H

#include <stdint.h>

struct idem_slot {
	uint8_t key[16];
	uint64_t seq;           /* 0: empty */
};

struct idem_table {
	struct idem_slot *slots;   /* open addressing, linear probing */
	uint32_t cap, used;        /* cap: power of two or 0 */
	struct idem_slot *fifo;    /* insertion order (ascending seq) */
	uint32_t fhead, flen, fcap;
};

void idem_init(struct idem_table *t);
void idem_free(struct idem_table *t);
/* The seq that applied @key, or 0. */
uint64_t idem_get(const struct idem_table *t, const uint8_t key[16]);
/* Record @key applied at @seq (seqs ascend per shard). 0 or -ENOMEM. */
int idem_put(struct idem_table *t, const uint8_t key[16], uint64_t seq);
/* Forget keys applied at seqs <= @upto. */
void idem_expire(struct idem_table *t, uint64_t upto);

#endif
