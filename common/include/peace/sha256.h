/*
 * sha256.h - SHA-256 (FIPS 180-4): the `file` item's content digest and the
 * digest that replaces a state too big for a report (outcome.h).
 *
 * Plain functions over caller storage: no allocation, no global state.
 */
#ifndef PEACE_SHA256_H
#define PEACE_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define PC_SHA256_LEN     32
#define PC_SHA256_HEX_LEN 64

struct pc_sha256 {
    uint32_t h[8];
    uint64_t total;    /* bytes hashed so far */
    uint8_t block[64]; /* pending partial block */
    size_t block_len;
};

void pc_sha256_init(struct pc_sha256 *c);
void pc_sha256_update(struct pc_sha256 *c, const void *p, size_t n);
void pc_sha256_final(struct pc_sha256 *c, uint8_t digest[PC_SHA256_LEN]);
/* Writes 64 lowercase hex digits and a NUL into hex. */
void pc_sha256_hex(const uint8_t digest[PC_SHA256_LEN], char hex[PC_SHA256_HEX_LEN + 1]);
/* One-shot: hex digest of (p, n). */
void pc_sha256_hex_of(const void *p, size_t n, char hex[PC_SHA256_HEX_LEN + 1]);

#endif /* PEACE_SHA256_H */
