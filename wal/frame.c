/* SPDX-License-Identifier: MIT */
#include "wal/frame.h"

#include <lz4.h>
#include <string.h>

#include "aedb.h"
#include "core/assert.h"
#include "core/crc32c.h"

void wal_seg_hdr_seal(struct wal_seg_hdr *h)
{
	h->magic = WAL_SEG_MAGIC;
	h->version = WAL_SEG_VERSION;
	h->crc = core_crc32c(0, h, offsetof(struct wal_seg_hdr, crc));
}

int wal_seg_hdr_check(const struct wal_seg_hdr *h, uint32_t shard, uint32_t nshards)
{
	if (h->magic != WAL_SEG_MAGIC)
		return -AEDB_ECORRUPT;
	if (h->crc != core_crc32c(0, h, offsetof(struct wal_seg_hdr, crc)))
		return -AEDB_ECORRUPT;
	if (h->version != WAL_SEG_VERSION)
		return -AEDB_EINCOMPAT;
	if (h->shard != shard || h->nshards != nshards)
		return -AEDB_ECORRUPT;
	return 0;
}

static uint32_t wal_frame_crc(const struct wal_frame_hdr *h, const void *payload)
{
	size_t skip = offsetof(struct wal_frame_hdr, len);
	uint32_t c = core_crc32c(0, &h->len, WAL_FRAME_HDR_BYTES - skip);

	return core_crc32c(c, payload, h->len);
}

void wal_frame_seal(struct wal_frame_hdr *h, const void *payload)
{
	h->magic = WAL_FRAME_MAGIC;
	h->crc = wal_frame_crc(h, payload);
}

static int wal_all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return 0;
	return 1;
}

enum wal_frame_status wal_frame_check(const uint8_t *buf, size_t avail, struct wal_frame_hdr *h)
{
	if (avail < WAL_FRAME_HDR_BYTES)
		return wal_all_zero(buf, avail) ? WAL_FRAME_END : WAL_FRAME_TORN;
	memcpy(h, buf, sizeof(*h));
	if (h->magic == 0 && wal_all_zero(buf, WAL_FRAME_HDR_BYTES))
		return WAL_FRAME_END;
	if (h->magic != WAL_FRAME_MAGIC || h->count == 0 ||
	    (h->type == WAL_FRAME_BATCH ? h->parts != 0 :
	     h->type != WAL_FRAME_TXN || h->parts < 2 || h->count != 1) ||
	    h->first_seq == 0 || h->time_ns == 0 || h->len > WAL_FRAME_MAX_BYTES ||
	    h->raw_len > WAL_FRAME_MAX_BYTES)
		return WAL_FRAME_BAD;
	if ((size_t)h->len > avail - WAL_FRAME_HDR_BYTES)
		return WAL_FRAME_TORN;
	if (h->crc != wal_frame_crc(h, buf + WAL_FRAME_HDR_BYTES))
		return WAL_FRAME_BAD;
	return WAL_FRAME_OK;
}

size_t wal_frame_bound(uint32_t raw_len)
{
	return WAL_FRAME_HDR_BYTES + (size_t)LZ4_compressBound((int)raw_len) + raw_len;
}

size_t wal_frame_encode(uint8_t *out, const uint8_t *raw, uint32_t raw_len, uint64_t first_seq,
			uint32_t count, uint64_t sync_mark, uint32_t lz4_min, uint16_t parts,
			uint64_t time_ns)
{
	struct wal_frame_hdr h = {
		.raw_len = raw_len, .first_seq = first_seq, .sync_mark = sync_mark,
		.count = count, .type = parts ? WAL_FRAME_TXN : WAL_FRAME_BATCH,
		.parts = parts, .time_ns = time_ns,
	};
	uint8_t *payload = out + WAL_FRAME_HDR_BYTES;
	int clen = 0;

	AEDB_ASSERT(count > 0 && first_seq > 0);
	AEDB_ASSERT(raw_len <= WAL_FRAME_MAX_BYTES);
	if (lz4_min && raw_len >= lz4_min)
		clen = LZ4_compress_default((const char *)raw, (char *)payload, (int)raw_len,
					    LZ4_compressBound((int)raw_len));
	if (clen > 0 && (uint32_t)clen < raw_len - raw_len / 8) {
		h.flags = WAL_FRAME_F_LZ4;
		h.len = (uint32_t)clen;
	} else {
		memcpy(payload, raw, raw_len);
		h.len = raw_len;
	}
	wal_frame_seal(&h, payload);
	memcpy(out, &h, sizeof(h));
	return WAL_FRAME_HDR_BYTES + h.len;
}

int wal_frame_decode(const struct wal_frame_hdr *h, const uint8_t *payload, uint8_t *raw)
{
	int n;

	if (!(h->flags & WAL_FRAME_F_LZ4)) {
		if (h->len != h->raw_len)
			return -AEDB_ECORRUPT;
		memcpy(raw, payload, h->len);
		return 0;
	}
	n = LZ4_decompress_safe((const char *)payload, (char *)raw, (int)h->len, (int)h->raw_len);
	return n == (int)h->raw_len ? 0 : -AEDB_ECORRUPT;
}

int wal_frame_synced_past(const uint8_t *seg, size_t size, size_t bad)
{
	const uint32_t magic = WAL_FRAME_MAGIC;
	size_t q = bad + 1;

	while (q + WAL_FRAME_HDR_BYTES <= size) {
		const uint8_t *hit = memmem(seg + q, size - q, &magic, sizeof(magic));
		struct wal_frame_hdr h;

		if (!hit)
			break;
		q = (size_t)(hit - seg);
		if (wal_frame_check(hit, size - q, &h) == WAL_FRAME_OK && h.sync_mark > bad)
			return 1;
		q++;
	}
	return 0;
}
