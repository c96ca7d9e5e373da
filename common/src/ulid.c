/*
 * ulid.c - ULID execution ids (https://github.com/ulid/spec).
 *
 * A ULID's 128 bits are 48 bits of milliseconds then 80 random bits, written
 * big-endian as 26 base32 digits (the first digit carries only 3 bits), so
 * text order equals numeric order equals time order. Within one millisecond
 * the generator adds one to the previous random part instead of drawing a
 * new one: ids from one generator then sort in creation order even when the
 * clock stalls or steps back (the last timestamp is kept in that case). The
 * one is added above the last PC_ULID_SLOT_DIGITS digits (bit 20 of the
 * random part), which pc_ulid_set_slot may rewrite: ids of one generator stay
 * unique and ordered whatever their suffixes. In the practically impossible
 * event that the 60-bit increment overflows, the timestamp moves on by one
 * millisecond with fresh randomness, which keeps both uniqueness and order.
 * Across generators, uniqueness rests on the random bits drawn from
 * getrandom(2): 80, or 60 outside the suffix of an id placed in a slot.
 */
#include "peace/ulid.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

static const char alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

static uint64_t realtime_ms(void *ctx)
{
    struct timespec ts;

    (void)ctx;
    if (clock_gettime(CLOCK_REALTIME, &ts) != 0) {
        return 0;
    }
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* getrandom(2) may return fewer bytes than asked or be interrupted: loop. */
static int os_random(void *ctx, void *buf, size_t n)
{
    unsigned char *p = buf;
    size_t got = 0;

    (void)ctx;
    while (got < n) {
        ssize_t r = getrandom(p + got, n - got, 0);

        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r < 0) {
            return -errno;
        }
        got += (size_t)r;
    }
    return 0;
}

void pc_ulid_gen_init(struct pc_ulid_gen *g, pc_ulid_clock_fn *now_ms, void *clock_ctx,
                      pc_ulid_random_fn *random, void *random_ctx)
{
    memset(g, 0, sizeof(*g));
    g->now_ms = now_ms != NULL ? now_ms : realtime_ms;
    g->clock_ctx = clock_ctx;
    g->random = random != NULL ? random : os_random;
    g->random_ctx = random_ctx;
}

/* Adds 2^20 to the big-endian 80-bit number r, i.e. one to the part above the
 * last four digits (the slot suffix). Returns false when that part wrapped. */
static bool increment(uint8_t r[PC_ULID_RANDOM_BYTES])
{
    unsigned low = r[PC_ULID_RANDOM_BYTES - 3] & 0x0fu; /* bits 16..19 belong to the suffix */
    unsigned high = (r[PC_ULID_RANDOM_BYTES - 3] >> 4) + 1u;

    r[PC_ULID_RANDOM_BYTES - 3] = (uint8_t)(((high & 0x0fu) << 4) | low);
    if (high <= 0x0fu) {
        return true;
    }
    for (size_t i = PC_ULID_RANDOM_BYTES - 3; i-- > 0;) {
        if (++r[i] != 0) {
            return true;
        }
    }
    return false;
}

/* Writes the 128-bit value (ms, r) as 26 base32 digits, 5 bits each, from the top. */
static void encode(uint64_t ms, const uint8_t r[PC_ULID_RANDOM_BYTES], char out[PC_ULID_LEN + 1])
{
    uint8_t bytes[16];

    for (size_t i = 0; i < 6; i++) {
        bytes[i] = (uint8_t)(ms >> (8 * (5 - i)));
    }
    memcpy(bytes + 6, r, PC_ULID_RANDOM_BYTES);
    /* Digit k covers bits [128 - 5 * (26 - k), 128 - 5 * (25 - k)); the first has 3 bits. */
    for (size_t k = 0; k < PC_ULID_LEN; k++) {
        size_t bit = 5 * (PC_ULID_LEN - 1 - k); /* position of the digit's lowest bit */
        unsigned v = 0;

        for (size_t b = 0; b < 5; b++) {
            size_t pos = bit + b; /* bit index counted from the least significant */
            if (pos < 128) {
                unsigned bitval = (bytes[15 - pos / 8] >> (pos % 8)) & 1u;
                v |= bitval << b;
            }
        }
        out[k] = alphabet[v];
    }
    out[PC_ULID_LEN] = '\0';
}

int pc_ulid_next(struct pc_ulid_gen *g, char out[PC_ULID_LEN + 1], struct pc_err *err)
{
    uint64_t now = g->now_ms(g->clock_ctx);
    uint8_t r[PC_ULID_RANDOM_BYTES];
    int rc;

    if (g->has_last && now <= g->last_ms) {
        memcpy(r, g->last_random, sizeof(r));
        now = g->last_ms;
        if (increment(r)) {
            goto emit;
        }
        now++; /* 2^60 ids in one millisecond: borrow the next one */
    }
    if (now > PC_ULID_TIME_MAX) {
        return pc_err_set(err, PC_ELIMIT, "ulid: clock value %llu ms is beyond the ULID range",
                          (unsigned long long)now);
    }
    rc = g->random(g->random_ctx, r, sizeof(r));
    if (rc != 0) {
        return pc_err_set(err, rc < 0 ? rc : PC_EIO, "ulid: no random bytes (%s)", pc_strerror(rc));
    }
emit:
    encode(now, r, out);
    g->has_last = true;
    g->last_ms = now;
    memcpy(g->last_random, r, sizeof(r));
    return 0;
}

/* Value of a canonical digit, or -1. */
static int digit_value(char c)
{
    const char *hit = c != '\0' ? strchr(alphabet, c) : NULL;

    return hit != NULL ? (int)(hit - alphabet) : -1;
}

bool pc_ulid_valid(const char *p, size_t n)
{
    if (p == NULL || n != PC_ULID_LEN || p[0] < '0' || p[0] > '7') {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (digit_value(p[i]) < 0) {
            return false;
        }
    }
    return true;
}

uint64_t pc_ulid_time_ms(const char *p, size_t n)
{
    uint64_t ms = 0;

    if (!pc_ulid_valid(p, n)) {
        return 0;
    }
    /* The first 10 digits hold the top 50 of 130 bits: 2 zero bits, then the 48 time bits. */
    for (size_t i = 0; i < 10; i++) {
        ms = (ms << 5) | (uint64_t)digit_value(p[i]);
    }
    return ms;
}
