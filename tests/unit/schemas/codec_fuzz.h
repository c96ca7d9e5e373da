/*
 * codec_fuzz.h - malformed-input drivers shared by the codec tests.
 *
 * Each driver feeds a decoder bytes derived from a valid encoding (every
 * truncation, single-byte mutations) or plain garbage from a fixed-seed
 * generator, so runs are reproducible. The decoder is wrapped by a
 * test-supplied function that decodes, checks the failure contract (out
 * untouched, error recorded) and frees whatever a success produced; ASan
 * and LSan check memory safety and leaks.
 */
#ifndef PEACE_TEST_CODEC_FUZZ_H
#define PEACE_TEST_CODEC_FUZZ_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Decodes (p, n), checks the contract, frees results. Returns the decoder's code. */
typedef int codec_try_fn(const void *p, size_t n);

/* xorshift64: small, seeded, reproducible. */
static inline uint64_t fuzz_next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/*
 * Every proper prefix of a valid encoding must fail. Each prefix is copied
 * into its own allocation so ASan sees any read past its end.
 */
static inline void fuzz_truncations(const uint8_t *valid, size_t n, codec_try_fn *try_decode,
                                    int expected_rc)
{
    for (size_t len = 0; len < n; len++) {
        uint8_t *copy = malloc(len > 0 ? len : 1);
        int rc;

        assert_non_null(copy);
        memcpy(copy, valid, len);
        rc = try_decode(copy, len);
        free(copy);
        if (rc != expected_rc) {
            fail_msg("prefix of %zu of %zu bytes: expected %d, got %d", len, n, expected_rc, rc);
        }
    }
}

/* Replaces each byte in turn by values that stress the type decoder. Any result is fine. */
static inline void fuzz_mutations(const uint8_t *valid, size_t n, codec_try_fn *try_decode)
{
    static const uint8_t values[] = {0x00, 0x7f, 0x80, 0x8f, 0x9f, 0xbf, 0xc0, 0xc1, 0xc3,
                                     0xc6, 0xc9, 0xcf, 0xd3, 0xd8, 0xdb, 0xdd, 0xdf, 0xff};
    uint8_t *copy = malloc(n > 0 ? n : 1);

    assert_non_null(copy);
    for (size_t i = 0; i < n; i++) {
        for (size_t v = 0; v <= sizeof(values); v++) {
            memcpy(copy, valid, n);
            copy[i] = v < sizeof(values) ? values[v] : (uint8_t)(valid[i] ^ 0x01);
            (void)try_decode(copy, n);
        }
    }
    free(copy);
}

/*
 * Random buffers; every second one starts with the first `keep` bytes of a
 * valid encoding so that garbage reaches past the envelope checks.
 */
static inline void fuzz_garbage(const uint8_t *valid, size_t keep, codec_try_fn *try_decode,
                                int rounds)
{
    uint64_t seed = 0x9e3779b97f4a7c15u;

    for (int round = 0; round < rounds; round++) {
        size_t n = (size_t)(fuzz_next(&seed) % 512);
        uint8_t *buf = malloc(n > 0 ? n : 1);
        size_t start = 0;

        assert_non_null(buf);
        if (round % 2 == 1 && n >= keep) {
            memcpy(buf, valid, keep);
            start = keep;
        }
        for (size_t i = start; i < n; i++) {
            buf[i] = (uint8_t)fuzz_next(&seed);
        }
        (void)try_decode(buf, n);
        free(buf);
    }
}

/* n bytes of 0x91 (an array holding an array...) then 0x01: far deeper than any limit. */
static inline uint8_t *deep_arrays(size_t n)
{
    uint8_t *p = malloc(n + 1);

    assert_non_null(p);
    memset(p, 0x91, n);
    p[n] = 0x01;
    return p;
}

#endif /* PEACE_TEST_CODEC_FUZZ_H */
