/* SPDX-License-Identifier: MIT */
/* Monotonic and wall clocks, CPU relax. */
#ifndef AEDB_CORE_CLOCK_H
#define AEDB_CORE_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline uint64_t core_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Wall clock (CLOCK_REALTIME) in ns since the epoch: for timestamps that
 * are stored (WAL frames), never for measuring intervals. */
static inline uint64_t core_wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline void core_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield");
#endif
}

#endif
