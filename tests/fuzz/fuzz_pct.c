/*
 * fuzz_pct.c - percent-decoding (pc_pct_decode, pc_pct_valid: the Redis
 * URL's credentials, the scheduler's paths and queries).
 *
 * Input: one byte of options (bit 0: '+' is a space; the rest sizes a small
 * output buffer), then the text.
 *
 * Properties: decode succeeds exactly when pc_pct_valid holds and the result
 * fits; the result is NUL-terminated, holds no NUL, and is n - 2 * (number
 * of '%') bytes long, with no '+' left when '+' is a space and nothing was
 * escaped; a result too long for the small buffer is PC_ELIMIT;
 * re-encoding every byte as %XX decodes to the same bytes.
 */
#include <string.h>

#include "fuzz.h"
#include "peace/pct.h"

static void check_reencode(const char *dec, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    char *enc = malloc(3 * len + 1);
    char *back = malloc(len + 1);
    size_t back_len = 0;

    FUZZ_CHECK(enc != NULL && back != NULL);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)dec[i];

        enc[3 * i] = '%';
        enc[3 * i + 1] = hex[c >> 4];
        enc[3 * i + 2] = hex[c & 15];
    }
    FUZZ_CHECK(pc_pct_decode(enc, 3 * len, true, back, len + 1, &back_len) == 0);
    FUZZ_CHECK(back_len == len && memcmp(back, dec, len) == 0);
    free(enc);
    free(back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    bool plus;
    size_t small;
    const char *p;
    size_t n;
    size_t escapes = 0;
    char *out;
    char tiny[64];
    size_t len = 0;
    size_t tiny_len = 0;
    bool valid;
    int rc;

    if (size == 0) {
        return 0;
    }
    plus = (data[0] & 1) != 0;
    small = (size_t)(data[0] >> 1) % sizeof(tiny);
    p = (const char *)data + 1;
    n = size - 1;
    out = malloc(n + 1);
    FUZZ_CHECK(out != NULL);

    valid = pc_pct_valid(p, n);
    rc = pc_pct_decode(p, n, plus, out, n + 1, &len);
    FUZZ_CHECK((rc == 0) == valid);
    FUZZ_CHECK(rc == 0 || rc == PC_EINVAL);
    if (rc == 0) {
        for (size_t i = 0; i < n; i++) {
            escapes += p[i] == '%';
        }
        FUZZ_CHECK(len == n - 2 * escapes);
        FUZZ_CHECK(out[len] == '\0' && memchr(out, '\0', len) == NULL);
        FUZZ_CHECK(!plus || escapes > 0 || memchr(out, '+', len) == NULL);
        check_reencode(out, len);

        rc = pc_pct_decode(p, n, plus, tiny, small, &tiny_len);
        if (len + 1 <= small) {
            FUZZ_CHECK(rc == 0 && tiny_len == len && memcmp(tiny, out, len + 1) == 0);
        } else {
            FUZZ_CHECK(rc == PC_ELIMIT);
        }
    }
    free(out);
    return 0;
}
