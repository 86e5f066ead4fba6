/* SPDX-License-Identifier: MIT */
/* CRC32C (Castagnoli): SSE4.2 instructions when the CPU has them, else a
 * slicing-by-8 table. */
#ifndef AEDB_CORE_CRC32C_H
#define AEDB_CORE_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Extend @crc (0 to start) over @len bytes. */
uint32_t core_crc32c(uint32_t crc, const void *buf, size_t len);

#endif
