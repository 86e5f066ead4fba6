/* SPDX-License-Identifier: MIT */
/*
 * Transactions inside the engine (DESIGN §5).
 *
 * struct aedb_txn is the caller's builder: a flat array of entries (writes,
 * assertions, read-set keys) whose bytes live in one arena, each entry already
 * resolved to its namespace and owning shard. A commit never modifies it.
 *
 * A transaction whose entries (and idempotency key) all live on one shard is
 * a plain request on that shard's inbox: evaluated and applied inside one
 * apply round at one seq. Otherwise it is cross-shard: struct txn_run carries
 * the shared state of the two-phase apply (shard/txn.c explains the protocol).
 */
#ifndef AEDB_TXN_TXN_H
#define AEDB_TXN_TXN_H

#include <stdint.h>

#include "aedb.h"

struct req;

enum txn_kind {
	/* mutations */
	TXN_SET = 1,
	TXN_DEL,
	TXN_NUM,
	TXN_ROW_INS,        /* a table row: set, but the key must be absent */
	TXN_ROW_PUT,        /* a table row: set (upsert) */
	TXN_ROW_DEL,        /* a table row: delete by primary key */
	/* assertions */
	TXN_A_EXISTS,
	TXN_A_EQUALS,
	TXN_A_CMP,
	TXN_A_VERSION,
	/* read set */
	TXN_READ,
	/* accumulators (acc/acc.h): mutations */
	TXN_ACC = 32,       /* a delta, on hash(acc, dedupe key)'s shard */
	TXN_ACC_EXPOSE,     /* an exposure, on the accumulator's home shard */
	TXN_ACC_RELEASE,    /* a release, on the home shard */
	/* secondary-index entries (txn/index.c), added with their row entry */
	TXN_IDX_SET = 48,   /* set index key -> encoded PK */
	TXN_IDX_DEL,        /* delete an index key */
	TXN_IDX_CLAIM,      /* unique: set, -AEDB_EUNIQUE if another PK holds it */
	/* foreign keys (txn/fk.c), added with their row entry */
	TXN_FK_REQ = 56,    /* the parent row (its table's ns, its key) must exist:
			     * -AEDB_EFOREIGN if not; writes nothing */
	TXN_FK_INC,         /* reference count (the key's ns) + 1: a child names it */
	TXN_FK_DEC,         /* reference count - 1 (deleted at 0) */
	TXN_FK_ZERO,        /* the reference count must be 0: -AEDB_EFOREIGN if not
			     * (a parent row deleted); writes nothing */
};

/* txn_item.op of a row entry added by a foreign-key action (txn/fk.c):
 * the row must still be at the version it was read at (operand), else
 * -AEDB_ECONFLICT. Of a TXN_FK_ZERO entry: the foreign key has an action,
 * so a child row that appeared since the build is -AEDB_ECONFLICT (build
 * again: the action then covers it) rather than -AEDB_EFOREIGN. */
#define TXN_OP_GUARD 1u
#define TXN_OP_RETRY 1u

static inline int txn_kind_is_fk(uint8_t k)
{
	return k >= TXN_FK_REQ && k <= TXN_FK_ZERO;
}

static inline int txn_kind_is_idx(uint8_t k)
{
	return k >= TXN_IDX_SET && k <= TXN_IDX_CLAIM;
}

static inline int txn_kind_is_acc(uint8_t k)
{
	return k >= TXN_ACC && k <= TXN_ACC_RELEASE;
}

static inline int txn_kind_is_mut(uint8_t k)
{
	return (k >= TXN_SET && k <= TXN_ROW_DEL) || txn_kind_is_acc(k) || txn_kind_is_idx(k) ||
	       txn_kind_is_fk(k);
}

/* Row entries: their namespace is a table (its drop is -AEDB_ENOTABLE). */
static inline int txn_kind_is_row(uint8_t k)
{
	return k >= TXN_ROW_INS && k <= TXN_ROW_DEL;
}

static inline int txn_kind_is_assert(uint8_t k)
{
	return k >= TXN_A_EXISTS && k <= TXN_A_VERSION;
}

struct txn_item {
	uint8_t kind;       /* enum txn_kind */
	uint8_t op;         /* NUM: aedb_num_op; A_CMP: aedb_cmp; A_EXISTS: expected */
	uint8_t width;      /* NUM: 8 or 32 */
	uint8_t pad;
	uint32_t flags;     /* NUM: AEDB_NUM_* */
	uint32_t ns;
	uint32_t shard;
	uint32_t index;     /* position among the entries of its class */
	uint32_t key_len;
	uint32_t val_len;   /* SET, A_EQUALS, A_CMP */
	uint32_t key_off;   /* into the arena */
	uint32_t val_off;
	uint32_t pad2;
	uint64_t version;   /* NUM (expected), A_VERSION, READ; ROW_*: the digest of
			     * the index entries its row had (txn/index.h) */
	uint64_t lock_hash; /* hash of (ns, key): the shard's lock table key */
	/* NUM: the operand; ROW_PUT/ROW_DEL with op TXN_OP_GUARD: the stored
	 * version (u64, native order) the row must still have at commit */
	uint8_t operand[32];/* NUM, big-endian, width bytes */
};

struct aedb_txn {
	struct aedb *db;
	struct txn_item *items;
	uint32_t nitems, cap;
	uint8_t *arena;
	uint32_t arena_len, arena_cap;
	uint32_t nmut, nassert, nread;
	uint32_t nacc;          /* TXN_ACC entries (each writes two records) */
	uint32_t finality;
	uint64_t base_seq;
	uint64_t log_bytes;     /* encoded record bytes of the mutations */
	uint8_t idem[16];
	uint8_t has_idem;
	uint8_t acc_whole;      /* a duplicate delta makes the whole commit a
				 * DUPLICATE (the accumulate helpers); else it
				 * is a no-op entry */
	uint32_t idem_shard;
	uint64_t idem_hash;
	/* Foreign-key actions (txn/fk.c): while > 0, entries are being added
	 * for a parent row delete's ON DELETE action, this many levels deep,
	 * and take the index of the caller's row entry (fk_index), as index
	 * entries do, so the caller's mutation indexes stay dense. */
	uint32_t fk_depth;
	uint32_t fk_index;
};

static inline const uint8_t *txn_key(const struct aedb_txn *t, const struct txn_item *it)
{
	return t->arena + it->key_off;
}

static inline const uint8_t *txn_val(const struct aedb_txn *t, const struct txn_item *it)
{
	return t->arena + it->val_off;
}

/* The outcome of evaluating a transaction (or one shard's part of it). */
struct txn_verdict {
	int32_t err;          /* 0, or the first error */
	uint32_t fail_kind;   /* enum aedb_fail_kind */
	int32_t fail_index;   /* -1 if none */
	uint32_t duplicate;   /* the idempotency key was already applied */
	uint64_t dup_seq;     /* ... at this seq */
};

static inline void txn_verdict_init(struct txn_verdict *v)
{
	v->err = 0;
	v->fail_kind = AEDB_FAIL_NONE;
	v->fail_index = -1;
	v->duplicate = 0;
	v->dup_seq = 0;
}

/* Fold @b into @a: a duplicate wins over any error (nothing is evaluated
 * after the idempotency check); then the earliest failure in evaluation
 * order (reads, then assertions, then mutations; by index within a class). */
void txn_verdict_merge(struct txn_verdict *a, const struct txn_verdict *b);

/* Shared state of one cross-shard commit. Created by the submitter, owned by
 * the participants from then on; the last one to drop it frees it. */
#define TXN_SEQ_OPEN 0ull            /* votes outstanding */
#define TXN_SEQ_ALLOC UINT64_MAX     /* the decider is allocating the seq */
#define TXN_SEQ_ABORT (UINT64_MAX - 1) /* a vote failed, or a duplicate */

struct txn_run {
	const struct aedb_txn *txn;
	struct req *req;         /* the caller's request; completed once */
	uint64_t mask;           /* participant shards */
	uint32_t nparts;
	uint32_t votes_left;     /* atomic */
	uint32_t applied_left;   /* atomic: participants yet to apply or drop */
	uint32_t lock;           /* atomic: guards verdict */
	uint64_t seq;            /* atomic: TXN_SEQ_* or the commit seq */
	uint64_t pos;            /* the sequencer's position */
	struct txn_verdict verdict;
};

/* Per-participant record of a prepared fragment, owned by its shard. */
struct txn_eff;
struct txn_frag {
	struct txn_run *run;
	struct txn_frag *next;
	uint64_t pin;            /* the shard's vis/dur lower bound while held */
	struct txn_eff *effs;    /* evaluated writes, in mutation order */
	uint32_t neffs;
};

/* Lock hash of a key (never 0: 0 marks an empty lock-table slot). */
uint64_t txn_lock_hash(uint32_t ns, const void *key, uint32_t key_len);

/* Sharded counters: stripe keys are plain KV keys
 * PREFIX ‖ u32be(key_len) ‖ key ‖ u16be(stripe). */
#define TXN_COUNTER_PREFIX "__aedb_counter_shard__"
#define TXN_STRIPES_MAX 4096u
#define TXN_COUNTER_KEY_LEN(n) (sizeof(TXN_COUNTER_PREFIX) - 1 + 6 + (n))
void txn_counter_key(uint8_t *out, const void *key, size_t key_len, uint32_t stripe);

/* Append an entry for namespace @ns (already resolved), copying @key and
 * @val; checks sizes first, so a failure changes nothing. Index or error. */
int txn_add_ns(struct aedb_txn *t, uint8_t kind, uint32_t ns, const void *key, size_t key_len,
	       const void *val, size_t val_len, struct txn_item **out);

/* The caller's mutations among the first @n entries (index entries of rows
 * not counted): the next mutation's index. */
uint32_t txn_mut_count(const struct aedb_txn *t, uint32_t n);
/* txn/index.c: add the index entries of row entry @pos (its table's
 * indexes at add time) and set its digest. 0 or an error (the entries
 * added are removed again). */
int txn_ix_add(struct aedb_txn *t, uint32_t pos);
/* txn/fk.c: add the foreign-key entries of row entry @pos (its table's
 * foreign keys at add time). 0 or an error (the entries added are removed
 * again). */
int txn_fk_add(struct aedb_txn *t, uint32_t pos);

/* A deep copy of @t. 0 or -ENOMEM. */
int txn_clone(const struct aedb_txn *t, struct aedb_txn **out);
/* Add a read-set entry by namespace id. Index or -ENOMEM/-AEDB_ETOOBIG. */
int txn_add_read_ns(struct aedb_txn *t, uint32_t ns, const void *key, uint32_t key_len,
		    uint64_t version);

#endif
