/* SPDX-License-Identifier: MIT */
#include "shard/idem.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

void idem_init(struct idem_table *t)
{
	memset(t, 0, sizeof(*t));
}

void idem_free(struct idem_table *t)
{
	free(t->slots);
	free(t->fifo);
	memset(t, 0, sizeof(*t));
}

static uint32_t idem_home(const struct idem_table *t, const uint8_t key[16])
{
	return (uint32_t)XXH3_64bits(key, 16) & (t->cap - 1);
}

static struct idem_slot *idem_find(const struct idem_table *t, const uint8_t key[16])
{
	if (!t->cap)
		return NULL;
	for (uint32_t i = idem_home(t, key);; i = (i + 1) & (t->cap - 1)) {
		struct idem_slot *s = &t->slots[i];

		if (!s->seq)
			return NULL;
		if (memcmp(s->key, key, 16) == 0)
			return s;
	}
}

uint64_t idem_get(const struct idem_table *t, const uint8_t key[16])
{
	const struct idem_slot *s = idem_find(t, key);

	return s ? s->seq : 0;
}

static void idem_insert(struct idem_table *t, const uint8_t key[16], uint64_t seq)
{
	uint32_t i = idem_home(t, key);

	while (t->slots[i].seq && memcmp(t->slots[i].key, key, 16) != 0)
		i = (i + 1) & (t->cap - 1);
	if (!t->slots[i].seq)
		t->used++;
	memcpy(t->slots[i].key, key, 16);
	t->slots[i].seq = seq;
}

static int idem_grow(struct idem_table *t)
{
	struct idem_slot *old = t->slots;
	uint32_t ocap = t->cap, ncap = t->cap ? t->cap * 2 : 1024;

	t->slots = calloc(ncap, sizeof(*t->slots));
	if (!t->slots) {
		t->slots = old;
		return -ENOMEM;
	}
	t->cap = ncap;
	t->used = 0;
	for (uint32_t i = 0; i < ocap; i++)
		if (old[i].seq)
			idem_insert(t, old[i].key, old[i].seq);
	free(old);
	return 0;
}

static int idem_fifo_push(struct idem_table *t, const uint8_t key[16], uint64_t seq)
{
	if (t->flen == t->fcap) {
		uint32_t ncap = t->fcap ? t->fcap * 2 : 1024;
		struct idem_slot *nf = malloc(ncap * sizeof(*nf));

		if (!nf)
			return -ENOMEM;
		for (uint32_t i = 0; i < t->flen; i++)
			nf[i] = t->fifo[(t->fhead + i) % t->fcap];
		free(t->fifo);
		t->fifo = nf;
		t->fcap = ncap;
		t->fhead = 0;
	}
	memcpy(t->fifo[(t->fhead + t->flen) % t->fcap].key, key, 16);
	t->fifo[(t->fhead + t->flen) % t->fcap].seq = seq;
	t->flen++;
	return 0;
}

int idem_put(struct idem_table *t, const uint8_t key[16], uint64_t seq)
{
	if ((t->used + 1) * 4 > t->cap * 3 && idem_grow(t) < 0)
		return -ENOMEM;
	if (idem_fifo_push(t, key, seq) < 0)
		return -ENOMEM;
	idem_insert(t, key, seq);
	return 0;
}

/* Remove slot @i, shifting later members of its probe run back (no
 * tombstones, so lookups stay short). */
static void idem_remove_at(struct idem_table *t, uint32_t i)
{
	uint32_t mask = t->cap - 1, j = i;

	t->slots[i].seq = 0;
	t->used--;
	for (;;) {
		uint32_t home;

		j = (j + 1) & mask;
		if (!t->slots[j].seq)
			return;
		home = idem_home(t, t->slots[j].key);
		/* Move j to the hole if its home is not in (i, j]. */
		if ((j > i && (home <= i || home > j)) || (j < i && home <= i && home > j)) {
			t->slots[i] = t->slots[j];
			t->slots[j].seq = 0;
			i = j;
		}
	}
}

void idem_expire(struct idem_table *t, uint64_t upto)
{
	while (t->flen && t->fifo[t->fhead].seq <= upto) {
		const struct idem_slot *e = &t->fifo[t->fhead];
		struct idem_slot *s = idem_find(t, e->key);

		if (s && s->seq == e->seq)
			idem_remove_at(t, (uint32_t)(s - t->slots));
		t->fhead = (t->fhead + 1) % t->fcap;
		t->flen--;
	}
}
