/* SPDX-License-Identifier: MIT */
/*
 * ring_mpsc - bounded multi-producer / single-consumer queue (Vyukov's
 * per-cell sequence scheme).
 *
 * Producers claim a cell with a CAS on the tail and publish it by storing the
 * cell's sequence; they never wait for one another, so a producer preempted
 * between claim and publish cannot stall the others (ck_ring's MPSC enqueue
 * spins until earlier producers commit, which livelocks when threads outnumber
 * cores). The consumer only sees cells in order: a claimed-but-unpublished
 * cell reads as "empty" until its producer publishes, then rings the doorbell.
 * All accesses are __atomic, so ThreadSanitizer models them.
 *
 * Generated per element type with RING_MPSC_DEFINE(name, type).
 */
#ifndef AEDB_RING_MPSC_H
#define AEDB_RING_MPSC_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#define RING_MPSC_DEFINE(name, type)                                              \
struct name##_cell {                                                              \
	uint64_t seq;                                                             \
	type value;                                                               \
};                                                                                \
struct name {                                                                     \
	uint64_t tail __attribute__((aligned(64)));  /* producers */              \
	uint64_t head __attribute__((aligned(64)));  /* consumer only */          \
	uint64_t mask;                                                            \
	struct name##_cell *cells;                                                \
};                                                                                \
/* @entries: a power of two. 0 or -1 (ENOMEM). */                                 \
static inline int name##_init(struct name *q, uint64_t entries)                   \
{                                                                                 \
	q->cells = calloc(entries, sizeof(*q->cells));                            \
	if (!q->cells)                                                            \
		return -1;                                                        \
	for (uint64_t i = 0; i < entries; i++)                                    \
		q->cells[i].seq = i;                                              \
	q->mask = entries - 1;                                                    \
	q->head = q->tail = 0;                                                    \
	return 0;                                                                 \
}                                                                                 \
static inline void name##_fini(struct name *q)                                    \
{                                                                                 \
	free(q->cells);                                                           \
	q->cells = NULL;                                                          \
}                                                                                 \
/* Any thread. false if full. */                                                  \
static inline bool name##_push_mpsc(struct name *q, type v)                       \
{                                                                                 \
	uint64_t pos = __atomic_load_n(&q->tail, __ATOMIC_RELAXED);               \
	struct name##_cell *c;                                                    \
                                                                                  \
	for (;;) {                                                                \
		int64_t dif;                                                      \
                                                                                  \
		c = &q->cells[pos & q->mask];                                     \
		dif = (int64_t)(__atomic_load_n(&c->seq, __ATOMIC_ACQUIRE) - pos); \
		if (dif == 0 && __atomic_compare_exchange_n(&q->tail, &pos, pos + 1, \
				true, __ATOMIC_RELAXED, __ATOMIC_RELAXED))        \
			break;                                                    \
		if (dif < 0)                                                      \
			return false;                                             \
		if (dif > 0)                                                      \
			pos = __atomic_load_n(&q->tail, __ATOMIC_RELAXED);        \
	}                                                                         \
	c->value = v;                                                             \
	__atomic_store_n(&c->seq, pos + 1, __ATOMIC_RELEASE);                     \
	return true;                                                              \
}                                                                                 \
/* Consumer only. false if the next cell is not published yet. */                 \
static inline bool name##_pop(struct name *q, type *out)                          \
{                                                                                 \
	struct name##_cell *c = &q->cells[q->head & q->mask];                     \
                                                                                  \
	if (__atomic_load_n(&c->seq, __ATOMIC_ACQUIRE) != q->head + 1)            \
		return false;                                                     \
	*out = c->value;                                                          \
	__atomic_store_n(&c->seq, q->head + q->mask + 1, __ATOMIC_RELEASE);       \
	__atomic_store_n(&q->head, q->head + 1, __ATOMIC_RELAXED);             \
	return true;                                                              \
}                                                                                 \
/* Consumer only: is a published cell waiting? */                                 \
static inline bool name##_ready(const struct name *q)                             \
{                                                                                 \
	const struct name##_cell *c = &q->cells[q->head & q->mask];               \
                                                                                  \
	return __atomic_load_n(&c->seq, __ATOMIC_ACQUIRE) == q->head + 1;         \
}                                                                                 \
/* Any thread: claimed cells not yet consumed (approximate). */                   \
static inline uint64_t name##_depth_any(const struct name *q)                     \
{                                                                                 \
	uint64_t t = __atomic_load_n(&q->tail, __ATOMIC_RELAXED);                 \
	uint64_t h = __atomic_load_n(&q->head, __ATOMIC_RELAXED);                 \
                                                                                  \
	return t > h ? t - h : 0;                                                 \
}

#endif /* AEDB_RING_MPSC_H */
