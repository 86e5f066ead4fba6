/* SPDX-License-Identifier: MIT */
#include "wal/record.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "aedb.h"
#include "core/assert.h"
#include "core/buf.h"

void wal_batch_init(struct wal_batch *b)
{
	memset(b, 0, sizeof(*b));
}

void wal_batch_free(struct wal_batch *b)
{
	free(b->buf);
	memset(b, 0, sizeof(*b));
}

static void wal_put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static void wal_put64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

static int wal_batch_reserve(struct wal_batch *b, size_t need)
{
	return core_buf_reserve(&b->buf, &b->cap, b->len, need, 64 * 1024);
}

long wal_batch_append(struct wal_batch *b, const struct wal_rec *rec)
{
	size_t need = WAL_REC_HDR_BYTES + rec->key_len + rec->val_len;
	size_t off = b->len;
	uint8_t *p;

	AEDB_ASSERT(rec->type >= WAL_REC_KV_SET && rec->type <= WAL_REC_LAST);
	AEDB_ASSERT(rec->seq > 0);
	if (wal_batch_reserve(b, need) < 0)
		return -ENOMEM;
	p = b->buf + off;
	p[0] = rec->type;
	p[1] = rec->flags;
	p[2] = p[3] = 0;
	wal_put32(p + 4, rec->ns);
	wal_put64(p + 8, rec->seq);
	wal_put32(p + 16, rec->key_len);
	wal_put32(p + 20, rec->val_len);
	if (rec->key_len)
		memcpy(p + WAL_REC_HDR_BYTES, rec->key, rec->key_len);
	if (rec->val_len)
		memcpy(p + WAL_REC_HDR_BYTES + rec->key_len, rec->val, rec->val_len);
	b->len += need;
	b->count++;
	return (long)off;
}

long wal_rec_decode(const uint8_t *buf, size_t len, size_t off, struct wal_rec *out)
{
	const uint8_t *p = buf + off;

	if (off > len || len - off < WAL_REC_HDR_BYTES)
		return -AEDB_ECORRUPT;
	out->type = p[0];
	out->flags = p[1];
	memcpy(&out->ns, p + 4, 4);
	memcpy(&out->seq, p + 8, 8);
	memcpy(&out->key_len, p + 16, 4);
	memcpy(&out->val_len, p + 20, 4);
	if (out->type < WAL_REC_KV_SET || out->type > WAL_REC_LAST || out->seq == 0)
		return -AEDB_ECORRUPT;
	if ((uint64_t)out->key_len + out->val_len > len - off - WAL_REC_HDR_BYTES)
		return -AEDB_ECORRUPT;
	out->key = p + WAL_REC_HDR_BYTES;
	out->val = out->key + out->key_len;
	return (long)(WAL_REC_HDR_BYTES + out->key_len + out->val_len);
}
