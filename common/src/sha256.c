/*
 * sha256.c - SHA-256 as specified by FIPS 180-4 (peace/sha256.h).
 *
 * A small streaming implementation so the items need no crypto library:
 * bytes are buffered into 64-byte blocks, each block runs the 64-round
 * compression function, and final() appends the 0x80 pad, zeros and the
 * 64-bit big-endian bit length. Digests are not secrets here (they identify
 * file contents), so no constant-time care is needed.
 */
#include "peace/sha256.h"

#include <string.h>

static const uint32_t sha256_k[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static uint32_t rotr(uint32_t x, unsigned n)
{
    return (x >> n) | (x << (32u - n));
}

static void sha256_block(uint32_t h[8], const uint8_t block[64])
{
    uint32_t w[64];
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];

    for (size_t t = 0; t < 16; t++) {
        w[t] = (uint32_t)block[4 * t] << 24 | (uint32_t)block[4 * t + 1] << 16 |
               (uint32_t)block[4 * t + 2] << 8 | (uint32_t)block[4 * t + 3];
    }
    for (size_t t = 16; t < 64; t++) {
        uint32_t s0 = rotr(w[t - 15], 7) ^ rotr(w[t - 15], 18) ^ (w[t - 15] >> 3);
        uint32_t s1 = rotr(w[t - 2], 17) ^ rotr(w[t - 2], 19) ^ (w[t - 2] >> 10);

        w[t] = w[t - 16] + s0 + w[t - 7] + s1;
    }
    for (size_t t = 0; t < 64; t++) {
        uint32_t s1 = rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25);
        uint32_t ch = (e & f) ^ (~e & g);
        uint32_t t1 = hh + s1 + ch + sha256_k[t] + w[t];
        uint32_t s0 = rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22);
        uint32_t maj = (a & b) ^ (a & c) ^ (b & c);
        uint32_t t2 = s0 + maj;

        hh = g;
        g = f;
        f = e;
        e = d + t1;
        d = c;
        c = b;
        b = a;
        a = t1 + t2;
    }
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
    h[4] += e;
    h[5] += f;
    h[6] += g;
    h[7] += hh;
}

void pc_sha256_init(struct pc_sha256 *c)
{
    /* FIPS 180-4 §5.3.3: the initial hash value. */
    static const uint32_t iv[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                   0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};

    memcpy(c->h, iv, sizeof(iv));
    c->total = 0;
    c->block_len = 0;
}

void pc_sha256_update(struct pc_sha256 *c, const void *p, size_t n)
{
    const uint8_t *in = p;

    c->total += n;
    while (n > 0) {
        size_t take = 64 - c->block_len;

        if (take > n) {
            take = n;
        }
        memcpy(c->block + c->block_len, in, take);
        c->block_len += take;
        in += take;
        n -= take;
        if (c->block_len == 64) {
            sha256_block(c->h, c->block);
            c->block_len = 0;
        }
    }
}

void pc_sha256_final(struct pc_sha256 *c, uint8_t digest[PC_SHA256_LEN])
{
    uint64_t bits = c->total * 8u;

    c->block[c->block_len++] = 0x80;
    if (c->block_len > 56) {
        /* No room for the length in this block: pad it out and start another. */
        memset(c->block + c->block_len, 0, 64 - c->block_len);
        sha256_block(c->h, c->block);
        c->block_len = 0;
    }
    memset(c->block + c->block_len, 0, 56 - c->block_len);
    for (size_t i = 0; i < 8; i++) {
        c->block[56 + i] = (uint8_t)(bits >> (56 - 8 * i));
    }
    sha256_block(c->h, c->block);
    for (size_t i = 0; i < 8; i++) {
        digest[4 * i] = (uint8_t)(c->h[i] >> 24);
        digest[4 * i + 1] = (uint8_t)(c->h[i] >> 16);
        digest[4 * i + 2] = (uint8_t)(c->h[i] >> 8);
        digest[4 * i + 3] = (uint8_t)c->h[i];
    }
}

void pc_sha256_hex(const uint8_t digest[PC_SHA256_LEN], char hex[PC_SHA256_HEX_LEN + 1])
{
    static const char digits[] = "0123456789abcdef";

    for (size_t i = 0; i < PC_SHA256_LEN; i++) {
        hex[2 * i] = digits[digest[i] >> 4];
        hex[2 * i + 1] = digits[digest[i] & 15];
    }
    hex[PC_SHA256_HEX_LEN] = '\0';
}

void pc_sha256_hex_of(const void *p, size_t n, char hex[PC_SHA256_HEX_LEN + 1])
{
    struct pc_sha256 c;
    uint8_t digest[PC_SHA256_LEN];

    pc_sha256_init(&c);
    pc_sha256_update(&c, p, n);
    pc_sha256_final(&c, digest);
    pc_sha256_hex(digest, hex);
}
