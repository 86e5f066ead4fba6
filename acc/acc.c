/* SPDX-License-Identifier: MIT */
/* Accumulator definitions and record formats (acc/acc.h). */
#include "acc/acc.h"

#include <string.h>
#include <xxhash.h>

uint32_t acc_lane(const void *key, size_t len)
{
	return (uint32_t)(XXH3_64bits(key, len) % ACC_LANES);
}

AEDB_API uint32_t aedb_accumulator_lane(const void *dedupe_key, size_t len)
{
	return dedupe_key || !len ? acc_lane(dedupe_key, len) : 0;
}

AEDB_API void aedb_accumulator_options_init(struct aedb_accumulator_options *opts)
{
	if (!opts)
		return;
	memset(opts, 0, sizeof(*opts));
	opts->snapshot_every = 10000;
	opts->exposure_margin_bps = 1000;
}

int acc_def_from_opts(const struct aedb_accumulator_options *o, struct cat_adef *d)
{
	static const uint64_t zero[4];

	if (o->snapshot_every == 0 || o->exposure_margin_bps >= 10000 || o->pad ||
	    memcmp(o->reserved, zero, sizeof(zero)) != 0)
		return -AEDB_EINVAL;
	memset(d, 0, sizeof(*d));
	d->dedupe_retain = o->dedupe_retain_commits;
	d->snapshot_every = o->snapshot_every;
	d->exposure_ttl = o->exposure_ttl_commits;
	d->margin_bps = o->exposure_margin_bps;
	return 0;
}

/* Layout: u32 format (1), u32 bps, u64 retain, u64 snapshot_every, u64 ttl. */
void acc_def_encode(const struct cat_adef *d, uint8_t out[ACC_DEF_BYTES])
{
	uint8_t fmt[8];

	acc_le64(fmt, 1 | (uint64_t)d->margin_bps << 32);
	memcpy(out, fmt, 8);
	acc_le64(out + 8, d->dedupe_retain);
	acc_le64(out + 16, d->snapshot_every);
	acc_le64(out + 24, d->exposure_ttl);
}

int acc_def_decode(const uint8_t *buf, size_t len, struct cat_adef *d)
{
	uint64_t w;

	if (len != ACC_DEF_BYTES)
		return -AEDB_ECORRUPT;
	w = acc_get_le64(buf);
	memset(d, 0, sizeof(*d));
	d->margin_bps = (uint32_t)(w >> 32);
	d->dedupe_retain = acc_get_le64(buf + 8);
	d->snapshot_every = acc_get_le64(buf + 16);
	d->exposure_ttl = acc_get_le64(buf + 24);
	if ((uint32_t)w != 1 || d->margin_bps >= 10000 || d->snapshot_every == 0)
		return -AEDB_ECORRUPT;
	return 0;
}

int acc_def_same(const struct cat_adef *a, const struct cat_adef *b)
{
	return a->dedupe_retain == b->dedupe_retain && a->snapshot_every == b->snapshot_every &&
	       a->exposure_ttl == b->exposure_ttl && a->margin_bps == b->margin_bps;
}

void acc_partial_encode(const struct acc_partial *p, uint8_t out[ACC_PARTIAL_BYTES])
{
	unsigned __int128 u = (unsigned __int128)p->sum;

	acc_le64(out, (uint64_t)u);
	acc_le64(out + 8, (uint64_t)(u >> 64));
	acc_le64(out + 16, p->max_order);
	acc_le64(out + 24, p->count);
}

int acc_partial_decode(const uint8_t *buf, uint32_t len, struct acc_partial *p)
{
	unsigned __int128 u;

	memset(p, 0, sizeof(*p));
	if (!buf)
		return 0;
	if (len != ACC_PARTIAL_BYTES)
		return -AEDB_ECORRUPT;
	u = (unsigned __int128)acc_get_le64(buf + 8) << 64 | acc_get_le64(buf);
	p->sum = (__int128)u;
	p->max_order = acc_get_le64(buf + 16);
	p->count = acc_get_le64(buf + 24);
	return 0;
}

int64_t acc_limit(__int128 v, uint32_t bps)
{
	/* |v| < 2^127 / 10^4 whenever it came from i64 deltas; clamp anyway. */
	const __int128 cap = ((__int128)1 << 112);
	__int128 l;

	if (v > cap)
		v = cap;
	if (v < -cap)
		v = -cap;
	l = v * (10000 - (__int128)bps) / 10000; /* C division truncates to zero */
	if (l > INT64_MAX)
		return INT64_MAX;
	if (l < INT64_MIN)
		return INT64_MIN;
	return (int64_t)l;
}
