/* SPDX-License-Identifier: GPL-2.0 */
/* SHA-256 (FIPS 180-4), small and static: the guest has no libcrypto. */
#ifndef ODS_SHA256_H
#define ODS_SHA256_H

#include <stddef.h>
#include <stdint.h>

struct sha256_ctx {
	uint32_t h[8];
	uint64_t len;
	uint8_t buf[64];
	size_t fill;
};

void sha256_init(struct sha256_ctx *c);
void sha256_update(struct sha256_ctx *c, const void *data, size_t len);
void sha256_hex(struct sha256_ctx *c, char out[65]);

#endif
