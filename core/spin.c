/* SPDX-License-Identifier: MIT */
/* Spin-then-sleep policy; see core/spin.h. */
#include "core/spin.h"

#include <unistd.h>

/* Client waiters that may spin at once while CPUs are shared. One keeps the
 * common case (one thread issuing blocking calls) off the futex path; more
 * would take turns with the shards they wait for (measured: 32 blocking
 * clients on 2 CPUs lose a third of their throughput if all of them spin). */
#define CORE_SPIN_SHARED_SLOTS 1u

void core_spin_init(struct core_spin *sp, uint32_t spin_us, uint32_t nshards)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	sp->budget_us = spin_us;
	sp->shared = cpus > 0 && nshards >= (uint32_t)cpus;
	sp->slots = CORE_SPIN_SHARED_SLOTS;
	sp->spinning = 0;
}

bool core_spin_enter(struct core_spin *sp)
{
	if (!sp->budget_us)
		return false;
	if (!sp->shared)
		return true;
	if (__atomic_fetch_add(&sp->spinning, 1, __ATOMIC_RELAXED) < sp->slots)
		return true;
	__atomic_fetch_sub(&sp->spinning, 1, __ATOMIC_RELAXED);
	return false;
}

void core_spin_leave(struct core_spin *sp)
{
	if (sp->shared)
		__atomic_fetch_sub(&sp->spinning, 1, __ATOMIC_RELAXED);
}
