/* SPDX-License-Identifier: MIT */
/*
 * How an instance's threads wait for each other (docs/DESIGN-NOTES.md,
 * "Waiting"). An idle shard, and a client waiting for a reply, first spin for
 * a short budget and only then sleep in the kernel: a sleep costs the waker a
 * system call and the sleeper a wake-up on another CPU (tens of microseconds
 * on a virtual machine).
 *
 * Two regimes, chosen at open from the shard and CPU counts:
 *  - a CPU to spare (shards < online CPUs): spin with the CPU's pause hint;
 *    any number of client waiters may spin.
 *  - shared CPUs (shards >= online CPUs): the shards and the application's
 *    threads take turns on the same cores, so a spinner must hand its core
 *    to whoever is runnable: spin with sched_yield(), and let only one client
 *    waiter at a time spin (a slot); the others sleep at once, so a crowd of
 *    waiters never outnumbers the shards that would answer them.
 */
#ifndef AEDB_CORE_SPIN_H
#define AEDB_CORE_SPIN_H

#include <sched.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/clock.h"

struct core_spin {
	uint32_t budget_us;     /* spin this long before sleeping; 0 = never */
	uint32_t shared;        /* CPUs are shared: yield, and ration waiters */
	uint32_t slots;         /* shared: client waiters allowed to spin */
	uint32_t spinning;      /* atomic: client waiters spinning now */
};

/* Set @sp up for an instance of @nshards shards and budget @spin_us. */
void core_spin_init(struct core_spin *sp, uint32_t spin_us, uint32_t nshards);

/* One step of a spin loop. */
static inline void core_spin_relax(const struct core_spin *sp)
{
	if (sp->shared)
		sched_yield();
	else
		core_cpu_relax();
}

/* A client waiter about to spin: true if it may (then core_spin_leave()
 * afterwards), false if it should sleep at once. */
bool core_spin_enter(struct core_spin *sp);
void core_spin_leave(struct core_spin *sp);

#endif
