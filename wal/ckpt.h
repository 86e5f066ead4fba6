/* SPDX-License-Identifier: MIT */
/*
 * Checkpoint files (on-disk format, little-endian; docs/CHECKPOINTS.md).
 *
 * `checkpoint/<S:020>/<shard>.ckpt` holds one shard's partition of every
 * namespace as of seq S: a 64-byte file header, then blocks, the last of
 * which is an END block. A block is a 32-byte header and a payload of raw
 * entries, lz4-compressed when that saves an eighth:
 *
 *   magic u32 | crc u32 | len u32 | raw_len u32 | count u32 | ns u32 |
 *   type u8 | flags u8 | pad u16 | index u32
 *
 * crc is CRC32C over the header from `len` on, then the stored payload;
 * index numbers the blocks from 0, so a block that is lost, repeated or moved
 * is caught. Block types and their raw entries:
 *   CATALOG (shard 0 only, first): WAL_REC_DDL record bodies (wal/record.h)
 *           that recreate the catalog (api/cat_emit.h);
 *   IDEM:   key[16] | seq u64, ascending seq (idempotency keys, seq <= S);
 *   KV:     key_len u32 | val_len u32 | seq u64 | created_seq u64 | key | val,
 *           one namespace (ns) per block, keys ascending; namespaces ascend;
 *   END:    blocks u64 | entries u64 | raw_bytes u64 (the totals before it).
 * Readers and writers of the files run on helper threads, never on a shard.
 */
#ifndef AEDB_WAL_CKPT_H
#define AEDB_WAL_CKPT_H

#include <stddef.h>
#include <stdint.h>

struct wal_rec;

#define CKPT_MAGIC 0x31504b4342444541ull /* "AEDBCKP1" little-endian */
#define CKPT_VERSION 1u
#define CKPT_HDR_BYTES 64u
#define CKPT_BLK_MAGIC 0xC4B1DBAEu
#define CKPT_BLK_HDR_BYTES 32u
#define CKPT_BLK_TARGET (256u << 10)   /* a block is sealed past this raw size */
#define CKPT_BLK_RAW_MAX (192u << 20)  /* bound on raw_len (one huge value fits) */
#define CKPT_BLK_F_LZ4 0x1u
#define CKPT_KV_HDR_BYTES 24u
#define CKPT_IDEM_BYTES 24u
#define CKPT_END_BYTES 24u

enum ckpt_blk_type {
	CKPT_BLK_CATALOG = 1,
	CKPT_BLK_IDEM = 2,
	CKPT_BLK_KV = 3,
	CKPT_BLK_END = 4,
};

struct ckpt_file_hdr {
	uint64_t magic;
	uint32_t version;
	uint32_t shard;
	uint32_t nshards;
	uint32_t flags;
	uint64_t seq;            /* S */
	uint8_t db_id[16];
	uint32_t cat_next_id;    /* the catalog's next namespace id at S */
	uint32_t reserved[2];
	uint32_t crc;            /* CRC32C of the first 60 bytes */
};

struct ckpt_blk_hdr {
	uint32_t magic;
	uint32_t crc;
	uint32_t len;
	uint32_t raw_len;
	uint32_t count;
	uint32_t ns;
	uint8_t type;
	uint8_t flags;
	uint16_t pad;
	uint32_t index;
};

_Static_assert(sizeof(struct ckpt_file_hdr) == CKPT_HDR_BYTES, "checkpoint header size");
_Static_assert(sizeof(struct ckpt_blk_hdr) == CKPT_BLK_HDR_BYTES, "checkpoint block size");

/* One KV entry as the writer takes it and the reader returns it. */
struct ckpt_kv {
	const uint8_t *key;
	const uint8_t *val;
	uint32_t key_len;
	uint32_t val_len;
	uint64_t seq;
	uint64_t created_seq;
};

/* Writer: blocks are sealed into an output buffer and written with write(2)
 * in large pieces; wal_ckpt_writer_finish() adds the END block and fdatasyncs. */
struct ckpt_writer {
	int fd;
	uint8_t *raw;            /* the open block's entries */
	size_t raw_len, raw_cap;
	uint32_t count;          /* entries in the open block */
	uint32_t ns;
	uint8_t type;            /* 0: no open block */
	uint8_t *out;            /* sealed blocks not yet written */
	size_t out_len, out_cap;
	uint64_t blocks;
	uint64_t entries;        /* every entry (catalog, idempotency, KV) */
	uint64_t kv_entries;
	uint64_t raw_bytes;      /* logical bytes: entry headers, keys, values */
	uint64_t file_bytes;
	int err;                 /* first error, latched */
};

/* Create @name in @dirfd (O_EXCL) and write @h (sealed here). 0 or -errno. */
int wal_ckpt_writer_open(struct ckpt_writer *w, int dirfd, const char *name,
		     struct ckpt_file_hdr *h);
int wal_ckpt_put_rec(struct ckpt_writer *w, const struct wal_rec *rec);
int wal_ckpt_put_idem(struct ckpt_writer *w, const uint8_t key[16], uint64_t seq);
int wal_ckpt_put_kv(struct ckpt_writer *w, uint32_t ns, const struct ckpt_kv *kv);
/* Seal, write the END block, fdatasync and close. 0 or -errno. */
int wal_ckpt_writer_finish(struct ckpt_writer *w);
/* Close and free without finishing (the caller removes the file). */
void wal_ckpt_writer_abort(struct ckpt_writer *w);

/* Reader over a mapped file. Blocks are checked (CRC, index, bounds) as
 * they are read; errors are -AEDB_ECORRUPT with the offset in bad_off. */
struct ckpt_reader {
	int fd;
	uint8_t *map;
	size_t size;
	size_t off;              /* next block */
	uint32_t index;          /* next block's expected index */
	struct ckpt_file_hdr hdr;
	uint8_t *raw;            /* decoded payload of the current block */
	size_t raw_cap;
	size_t bad_off;
	uint64_t entries, raw_bytes;
};

/* Open @path and check its header against the expected identity. 0,
 * -AEDB_ECORRUPT (bad_off says where) or -errno (-ENOENT: missing). */
int wal_ckpt_reader_open(struct ckpt_reader *r, const char *path, uint32_t shard, uint32_t nshards,
		     const uint8_t db_id[16], uint64_t seq);
/* The next block: 1 and *@h / *@raw (valid until the next call), 0 after
 * a valid END block at the end of the file, or -AEDB_ECORRUPT / -ENOMEM. */
int wal_ckpt_reader_next(struct ckpt_reader *r, struct ckpt_blk_hdr *h, const uint8_t **raw);
/* Walk the block headers only (no CRC): entries per namespace, for sizing.
 * Calls @fn(arg, ns, count) per KV block. 0 or -AEDB_ECORRUPT. */
int wal_ckpt_reader_count(const struct ckpt_reader *r, void (*fn)(void *, uint32_t, uint32_t),
		      void *arg);
void wal_ckpt_reader_close(struct ckpt_reader *r);

/* Decode the entry at @*at of a KV / IDEM block payload; advances @*at.
 * 0 or -AEDB_ECORRUPT. */
int wal_ckpt_kv_decode(const uint8_t *raw, size_t len, size_t *at, struct ckpt_kv *kv);
int wal_ckpt_idem_decode(const uint8_t *raw, size_t len, size_t *at, const uint8_t **key,
		     uint64_t *seq);

#endif
