/* SPDX-License-Identifier: MIT */
/*
 * ThreadSanitizer annotations. Concurrency Kit publishes with inline asm that
 * TSan cannot see, so every hand-off through ck_ring or ck_epoch is annotated
 * with an explicit release (producer) / acquire (consumer) on the channel's
 * address. Outside TSan builds these compile to nothing.
 */
#ifndef AEDB_CORE_TSAN_H
#define AEDB_CORE_TSAN_H

#include <stdint.h>

#if defined(__SANITIZE_THREAD__)
#define AEDB_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define AEDB_TSAN 1
#endif
#endif

#ifdef AEDB_TSAN
void __tsan_acquire(void *addr);
void __tsan_release(void *addr);
#define CORE_TSAN_ACQUIRE(addr) __tsan_acquire((void *)(addr))
#define CORE_TSAN_RELEASE(addr) __tsan_release((void *)(addr))
#else
#define CORE_TSAN_ACQUIRE(addr) ((void)0)
#define CORE_TSAN_RELEASE(addr) ((void)0)
#endif

/*
 * A full (store-load) fence for Dekker-style sleep/wake handshakes.
 * ThreadSanitizer does not model fences (GCC warns with -Wtsan), so TSan
 * builds use a seq_cst read-modify-write on a shared word instead, which it
 * does model; on x86 both compile to one locked instruction's worth of cost.
 */
#ifdef AEDB_TSAN
extern uint32_t core_tsan_fence_word;
#define CORE_FENCE_SEQ_CST() \
	((void)__atomic_fetch_add(&core_tsan_fence_word, 0, __ATOMIC_SEQ_CST))
#else
#define CORE_FENCE_SEQ_CST() __atomic_thread_fence(__ATOMIC_SEQ_CST)
#endif

#endif /* AEDB_CORE_TSAN_H */
