/*
 * ulid.h - execution ids: ULIDs as 26-character Crockford base32 text
 * (CONTRACT §2: globally unique, sorting by creation time).
 *
 * A ULID is 48 bits of Unix milliseconds followed by 80 random bits, written
 * as 26 upper-case characters of "0123456789ABCDEFGHJKMNPQRSTVWXYZ". Text
 * order equals creation order. A generator is caller storage (no global
 * state); within one millisecond it increments the random part above the
 * last PC_ULID_SLOT_DIGITS digits, so the ids it returns are strictly
 * increasing even when the clock stalls or steps back, and stay so when those
 * digits are rewritten by pc_ulid_set_slot.
 * Clock and randomness are injectable for tests; by default they are
 * CLOCK_REALTIME and getrandom(2).
 *
 * A generator is not thread-safe: use one per thread (or lock around it).
 */
#ifndef PEACE_ULID_H
#define PEACE_ULID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "peace/err.h"

#define PC_ULID_LEN          26
#define PC_ULID_RANDOM_BYTES 10
/* Largest timestamp a ULID can hold (2^48 - 1 ms, year 10889). */
#define PC_ULID_TIME_MAX ((UINT64_C(1) << 48) - 1)

/* Returns Unix time in milliseconds. */
typedef uint64_t pc_ulid_clock_fn(void *ctx);

/* Fills buf with n random bytes. Returns 0 or a negative code (-errno). */
typedef int pc_ulid_random_fn(void *ctx, void *buf, size_t n);

struct pc_ulid_gen {
    pc_ulid_clock_fn *now_ms;  /* never NULL after init */
    void *clock_ctx;           /* borrowed; passed to now_ms */
    pc_ulid_random_fn *random; /* never NULL after init */
    void *random_ctx;          /* borrowed; passed to random */
    bool has_last;             /* an id was generated */
    uint64_t last_ms;          /* timestamp of the last id */
    uint8_t last_random[PC_ULID_RANDOM_BYTES];
};

/*
 * Initialises caller storage. now_ms NULL selects the real-time clock,
 * random NULL selects getrandom(2). The contexts are borrowed and must
 * outlive the generator. Never fails.
 */
void pc_ulid_gen_init(struct pc_ulid_gen *g, pc_ulid_clock_fn *now_ms, void *clock_ctx,
                      pc_ulid_random_fn *random, void *random_ctx);

/*
 * Writes the next id into out as PC_ULID_LEN characters plus a NUL. The id
 * sorts strictly after every id g returned before. Returns 0, the random
 * source's error, or PC_ELIMIT when the clock is beyond PC_ULID_TIME_MAX;
 * on failure out and g are unchanged.
 */
int pc_ulid_next(struct pc_ulid_gen *g, char out[PC_ULID_LEN + 1], struct pc_err *err) PC_NODISCARD;

/*
 * True when (p, n) is a canonical ULID: exactly PC_ULID_LEN upper-case
 * Crockford characters whose value fits 128 bits (first character '0'..'7').
 */
bool pc_ulid_valid(const char *p, size_t n);

/* Timestamp (Unix ms) of a ULID text; 0 when (p, n) is not pc_ulid_valid. */
uint64_t pc_ulid_time_ms(const char *p, size_t n);

/*
 * Ids placed in a Redis Cluster key slot (docs/fleet.md "Co-located
 * execution ids"). The slot of a key whose hash tag is T is CRC16-XMODEM(T)
 * mod 16384; an execution's keys are tagged {ID}, its profile's {APP:PROFILE}.
 */
#define PC_KEY_SLOTS 16384u
/* The digits pc_ulid_set_slot chooses: the last four (the low 20 random bits). */
#define PC_ULID_SLOT_DIGITS 4

/* CRC16-XMODEM (poly 0x1021, init 0) of (p, n) continued from crc (0 to
 * start); p may be NULL when n is 0. */
uint16_t pc_crc16(uint16_t crc, const void *p, size_t n);

/* Key slot of a hash tag's content (p, n). */
unsigned pc_key_slot(const void *p, size_t n);

/*
 * Rewrites the last PC_ULID_SLOT_DIGITS digits of id (PC_ULID_LEN canonical
 * characters) so that pc_key_slot(id, PC_ULID_LEN) == slot % PC_KEY_SLOTS:
 * a table look-up, no search. The time part and the 60 random bits before
 * the suffix are unchanged, so a valid ULID stays valid and sorts by time.
 */
void pc_ulid_set_slot(char id[PC_ULID_LEN], unsigned slot);

#endif /* PEACE_ULID_H */
