/* SPDX-License-Identifier: MIT */
/* A growable byte buffer's reserve step (WAL batches and write buffers). */
#ifndef AEDB_CORE_BUF_H
#define AEDB_CORE_BUF_H

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

/* Make room for @need more bytes after @len in *@buf (capacity *@cap,
 * doubling from @initial). 0 or -ENOMEM (buffer unchanged). Owner only. */
static inline int core_buf_reserve(uint8_t **buf, size_t *cap, size_t len, size_t need,
				   size_t initial)
{
	size_t n = *cap ? *cap : initial;
	uint8_t *nb;

	if (len + need <= *cap)
		return 0;
	while (n < len + need)
		n *= 2;
	nb = realloc(*buf, n);
	if (!nb)
		return -ENOMEM;
	*buf = nb;
	*cap = n;
	return 0;
}

#endif
