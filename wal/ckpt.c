/* SPDX-License-Identifier: MIT */
#include "wal/ckpt.h"

#include <errno.h>
#include <fcntl.h>
#include <lz4.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "aedb.h"
#include "core/assert.h"
#include "core/buf.h"
#include "core/crc32c.h"
#include "wal/record.h"

#define CKPT_OUT_FLUSH (1u << 20) /* write(2) sealed blocks in pieces of ~1 MiB */
/* lz4 acceleration: 4 gives up a few % of ratio for ~1.5x the speed; the
 * checkpoint's cost is CPU, taken from the shards' cores. */
#define CKPT_LZ4_ACCEL 4

static uint32_t ckpt_hdr_crc(const struct ckpt_file_hdr *h)
{
	return core_crc32c(0, h, offsetof(struct ckpt_file_hdr, crc));
}

static uint32_t ckpt_blk_crc(const struct ckpt_blk_hdr *h, const uint8_t *payload)
{
	uint32_t crc = core_crc32c(0, &h->len, CKPT_BLK_HDR_BYTES - offsetof(struct ckpt_blk_hdr,
									      len));

	return core_crc32c(crc, payload, h->len);
}

static int ckpt_fail(struct ckpt_writer *w, int err)
{
	AEDB_ASSERT(err < 0);
	if (!w->err)
		w->err = err;
	return w->err;
}

static int ckpt_write_all(struct ckpt_writer *w, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t k = write(w->fd, p, n);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return ckpt_fail(w, k < 0 ? -errno : -EIO);
		p += k;
		n -= (size_t)k;
		w->file_bytes += (uint64_t)k;
	}
	return 0;
}

int wal_ckpt_writer_open(struct ckpt_writer *w, int dirfd, const char *name,
		     struct ckpt_file_hdr *h)
{
	memset(w, 0, sizeof(*w));
	h->magic = CKPT_MAGIC;
	h->version = CKPT_VERSION;
	h->crc = ckpt_hdr_crc(h);
	w->fd = openat(dirfd, name, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
	if (w->fd < 0)
		return -errno;
	return ckpt_write_all(w, (const uint8_t *)h, sizeof(*h));
}

/* Seal the open block into the output buffer (compressing it when that
 * saves an eighth), and write the buffer out once it is large. */
static int ckpt_seal(struct ckpt_writer *w)
{
	struct ckpt_blk_hdr h = { .magic = CKPT_BLK_MAGIC, .raw_len = (uint32_t)w->raw_len,
				  .count = w->count, .ns = w->ns, .type = w->type,
				  .index = (uint32_t)w->blocks };
	size_t bound = CKPT_BLK_HDR_BYTES + (size_t)LZ4_compressBound((int)w->raw_len) +
		       w->raw_len;
	uint8_t *payload;
	int clen = 0;

	if (!w->type)
		return w->err;
	AEDB_ASSERT(w->raw_len <= CKPT_BLK_RAW_MAX);
	if (core_buf_reserve(&w->out, &w->out_cap, w->out_len, bound, 2 * CKPT_OUT_FLUSH) < 0)
		return ckpt_fail(w, -ENOMEM);
	payload = w->out + w->out_len + CKPT_BLK_HDR_BYTES;
	if (w->raw_len >= 512)
		clen = LZ4_compress_fast((const char *)w->raw, (char *)payload,
					 (int)w->raw_len, LZ4_compressBound((int)w->raw_len),
					 CKPT_LZ4_ACCEL);
	if (clen > 0 && (size_t)clen < w->raw_len - w->raw_len / 8) {
		h.flags = CKPT_BLK_F_LZ4;
		h.len = (uint32_t)clen;
	} else {
		memcpy(payload, w->raw, w->raw_len);
		h.len = (uint32_t)w->raw_len;
	}
	h.crc = ckpt_blk_crc(&h, payload);
	memcpy(w->out + w->out_len, &h, sizeof(h));
	w->out_len += CKPT_BLK_HDR_BYTES + h.len;
	w->blocks++;
	w->raw_len = 0;
	w->count = 0;
	w->type = 0;
	if (w->out_len >= CKPT_OUT_FLUSH) {
		int rc = ckpt_write_all(w, w->out, w->out_len);

		w->out_len = 0;
		return rc;
	}
	return w->err;
}

/* Room for an entry of @need bytes in a block of @type / @ns. */
static int ckpt_room(struct ckpt_writer *w, uint8_t type, uint32_t ns, size_t need)
{
	if (w->err)
		return w->err;
	if (need > CKPT_BLK_RAW_MAX)
		return ckpt_fail(w, -EFBIG);
	if (w->type && (w->type != type || w->ns != ns || w->raw_len >= CKPT_BLK_TARGET ||
			w->raw_len + need > CKPT_BLK_RAW_MAX) && ckpt_seal(w) < 0)
		return w->err;
	if (core_buf_reserve(&w->raw, &w->raw_cap, w->raw_len, need, CKPT_BLK_TARGET * 2) < 0)
		return ckpt_fail(w, -ENOMEM);
	w->type = type;
	w->ns = ns;
	w->count++;
	w->entries++;
	w->raw_bytes += need;
	return 0;
}

int wal_ckpt_put_rec(struct ckpt_writer *w, const struct wal_rec *rec)
{
	struct wal_batch b = { .buf = NULL };
	size_t need = WAL_REC_HDR_BYTES + rec->key_len + rec->val_len;
	int rc = ckpt_room(w, CKPT_BLK_CATALOG, 0, need);

	if (rc < 0)
		return rc;
	/* Encode in place through a borrowed batch over the free space. */
	b.buf = w->raw + w->raw_len;
	b.cap = need;
	if (wal_batch_append(&b, rec) < 0)
		AEDB_ASSERT(!"room was reserved");
	AEDB_ASSERT(b.buf == w->raw + w->raw_len && b.len == need);
	w->raw_len += need;
	return 0;
}

int wal_ckpt_put_idem(struct ckpt_writer *w, const uint8_t key[16], uint64_t seq)
{
	int rc = ckpt_room(w, CKPT_BLK_IDEM, 0, CKPT_IDEM_BYTES);

	if (rc < 0)
		return rc;
	memcpy(w->raw + w->raw_len, key, 16);
	memcpy(w->raw + w->raw_len + 16, &seq, 8);
	w->raw_len += CKPT_IDEM_BYTES;
	return 0;
}

int wal_ckpt_put_kv(struct ckpt_writer *w, uint32_t ns, const struct ckpt_kv *kv)
{
	size_t need = CKPT_KV_HDR_BYTES + (size_t)kv->key_len + kv->val_len;
	int rc = ckpt_room(w, CKPT_BLK_KV, ns, need);
	uint8_t *p;

	if (rc < 0)
		return rc;
	p = w->raw + w->raw_len;
	w->kv_entries++;
	memcpy(p, &kv->key_len, 4);
	memcpy(p + 4, &kv->val_len, 4);
	memcpy(p + 8, &kv->seq, 8);
	memcpy(p + 16, &kv->created_seq, 8);
	if (kv->key_len)
		memcpy(p + CKPT_KV_HDR_BYTES, kv->key, kv->key_len);
	if (kv->val_len)
		memcpy(p + CKPT_KV_HDR_BYTES + kv->key_len, kv->val, kv->val_len);
	w->raw_len += need;
	return 0;
}

int wal_ckpt_writer_finish(struct ckpt_writer *w)
{
	uint64_t end[3];
	int rc;

	if (ckpt_seal(w) < 0)
		goto out;
	end[0] = w->blocks;
	end[1] = w->entries;
	end[2] = w->raw_bytes;
	if (ckpt_room(w, CKPT_BLK_END, 0, sizeof(end)) < 0)
		goto out;
	memcpy(w->raw, end, sizeof(end));
	w->raw_len = sizeof(end);
	w->entries--;                   /* the END block is not an entry */
	w->raw_bytes -= sizeof(end);
	if (ckpt_seal(w) < 0 || ckpt_write_all(w, w->out, w->out_len) < 0)
		goto out;
	w->out_len = 0;
	if (fdatasync(w->fd) < 0)
		ckpt_fail(w, -errno);
out:
	rc = w->err;
	wal_ckpt_writer_abort(w);
	w->err = rc;
	return rc;
}

void wal_ckpt_writer_abort(struct ckpt_writer *w)
{
	if (w->fd >= 0)
		close(w->fd);
	w->fd = -1;
	free(w->raw);
	free(w->out);
	w->raw = w->out = NULL;
	w->raw_cap = w->out_cap = w->raw_len = w->out_len = 0;
}

/* ---- reader ------------------------------------------------------------ */

int wal_ckpt_reader_open(struct ckpt_reader *r, const char *path, uint32_t shard, uint32_t nshards,
		     const uint8_t db_id[16], uint64_t seq)
{
	struct stat st;

	memset(r, 0, sizeof(*r));
	r->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (r->fd < 0)
		return -errno;
	if (fstat(r->fd, &st) < 0)
		return -errno;
	r->size = (size_t)st.st_size;
	if (r->size < CKPT_HDR_BYTES)
		return -AEDB_ECORRUPT;
	r->map = mmap(NULL, r->size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, r->fd, 0);
	if (r->map == MAP_FAILED) {
		r->map = NULL;
		return -errno;
	}
	memcpy(&r->hdr, r->map, sizeof(r->hdr));
	if (r->hdr.magic != CKPT_MAGIC || r->hdr.version != CKPT_VERSION ||
	    r->hdr.crc != ckpt_hdr_crc(&r->hdr) || r->hdr.shard != shard ||
	    r->hdr.nshards != nshards || r->hdr.seq != seq || memcmp(r->hdr.db_id, db_id, 16))
		return -AEDB_ECORRUPT;
	r->off = CKPT_HDR_BYTES;
	return 0;
}

/* Check the block header at r->off (not its CRC). */
static int ckpt_blk_at(const struct ckpt_reader *r, size_t off, struct ckpt_blk_hdr *h)
{
	if (r->size - off < CKPT_BLK_HDR_BYTES)
		return -AEDB_ECORRUPT;
	memcpy(h, r->map + off, sizeof(*h));
	if (h->magic != CKPT_BLK_MAGIC || h->type < CKPT_BLK_CATALOG || h->type > CKPT_BLK_END ||
	    h->raw_len > CKPT_BLK_RAW_MAX || h->len > r->size - off - CKPT_BLK_HDR_BYTES ||
	    (!(h->flags & CKPT_BLK_F_LZ4) && h->len != h->raw_len) || (h->flags & ~CKPT_BLK_F_LZ4))
		return -AEDB_ECORRUPT;
	return 0;
}

/* The END block: the totals must match what was read, and nothing follows. */
static int ckpt_end_check(const struct ckpt_reader *r, const struct ckpt_blk_hdr *h,
			  const uint8_t *raw)
{
	uint64_t end[3];

	if (h->raw_len != sizeof(end) || h->count != 1)
		return -AEDB_ECORRUPT;
	memcpy(end, raw, sizeof(end));
	if (end[0] != h->index || end[1] != r->entries || end[2] != r->raw_bytes ||
	    r->off != r->size)
		return -AEDB_ECORRUPT;
	return 0;
}

int wal_ckpt_reader_next(struct ckpt_reader *r, struct ckpt_blk_hdr *h, const uint8_t **raw)
{
	const uint8_t *payload;
	size_t at = r->off;

	r->bad_off = at;
	if (at >= r->size || ckpt_blk_at(r, at, h) < 0 || h->index != r->index)
		return -AEDB_ECORRUPT;
	payload = r->map + at + CKPT_BLK_HDR_BYTES;
	if (h->crc != ckpt_blk_crc(h, payload))
		return -AEDB_ECORRUPT;
	if (h->flags & CKPT_BLK_F_LZ4) {
		if (core_buf_reserve(&r->raw, &r->raw_cap, 0, h->raw_len ? h->raw_len : 1,
				     CKPT_BLK_TARGET * 2) < 0)
			return -ENOMEM;
		if (LZ4_decompress_safe((const char *)payload, (char *)r->raw, (int)h->len,
					(int)h->raw_len) != (int)h->raw_len)
			return -AEDB_ECORRUPT;
		*raw = r->raw;
	} else {
		*raw = payload;
	}
	r->off = at + CKPT_BLK_HDR_BYTES + h->len;
	r->index++;
	if (h->type == CKPT_BLK_END)
		return ckpt_end_check(r, h, *raw);
	r->entries += h->count;
	r->raw_bytes += h->raw_len;
	return 1;
}

int wal_ckpt_reader_count(const struct ckpt_reader *r, void (*fn)(void *, uint32_t, uint32_t),
		      void *arg)
{
	size_t off = CKPT_HDR_BYTES;

	while (off < r->size) {
		struct ckpt_blk_hdr h;

		if (ckpt_blk_at(r, off, &h) < 0)
			return -AEDB_ECORRUPT;
		if (h.type == CKPT_BLK_KV)
			fn(arg, h.ns, h.count);
		off += CKPT_BLK_HDR_BYTES + h.len;
	}
	return 0;
}

void wal_ckpt_reader_close(struct ckpt_reader *r)
{
	if (r->map)
		munmap(r->map, r->size);
	if (r->fd > 0)
		close(r->fd);
	free(r->raw);
	memset(r, 0, sizeof(*r));
	r->fd = -1;
}

int wal_ckpt_kv_decode(const uint8_t *raw, size_t len, size_t *at, struct ckpt_kv *kv)
{
	const uint8_t *p = raw + *at;

	if (*at > len || len - *at < CKPT_KV_HDR_BYTES)
		return -AEDB_ECORRUPT;
	memcpy(&kv->key_len, p, 4);
	memcpy(&kv->val_len, p + 4, 4);
	memcpy(&kv->seq, p + 8, 8);
	memcpy(&kv->created_seq, p + 16, 8);
	if ((uint64_t)kv->key_len + kv->val_len > len - *at - CKPT_KV_HDR_BYTES ||
	    kv->seq == 0 || kv->created_seq == 0 || kv->created_seq > kv->seq)
		return -AEDB_ECORRUPT;
	kv->key = p + CKPT_KV_HDR_BYTES;
	kv->val = kv->key + kv->key_len;
	*at += CKPT_KV_HDR_BYTES + kv->key_len + kv->val_len;
	return 0;
}

int wal_ckpt_idem_decode(const uint8_t *raw, size_t len, size_t *at, const uint8_t **key,
		     uint64_t *seq)
{
	if (*at > len || len - *at < CKPT_IDEM_BYTES)
		return -AEDB_ECORRUPT;
	*key = raw + *at;
	memcpy(seq, raw + *at + 16, 8);
	*at += CKPT_IDEM_BYTES;
	return *seq ? 0 : -AEDB_ECORRUPT;
}
