/*
 * parts.c - sharing free slots among queue partitions (worker/parts.h).
 */
#include "worker/parts.h"

unsigned wk_read_plan(unsigned nparts, const struct wk_part_state *st, unsigned free_slots,
                      unsigned *cursor, unsigned *grant, bool *all_covered)
{
    unsigned held = 0;
    unsigned idle = 0;
    unsigned avail;
    unsigned granted = 0;
    unsigned start = nparts > 0 ? *cursor % nparts : 0;

    for (unsigned i = 0; i < nparts; i++) {
        grant[i] = 0;
        if (st[i].reading) {
            held += st[i].held;
        } else if (st[i].can_read) {
            idle++;
        }
    }
    avail = free_slots > held ? free_slots - held : 0;
    for (unsigned k = 0; k < nparts && avail > 0; k++) {
        unsigned i = (start + k) % nparts;
        unsigned share;

        if (st[i].reading || !st[i].can_read) {
            continue;
        }
        /* An even share of what is left, rounded up: all of it when the
         * last idle partition is reached. */
        share = (avail + idle - 1) / idle;
        grant[i] = share;
        avail -= share;
        idle--;
        granted++;
        *cursor = (i + 1) % nparts;
    }
    *all_covered = idle == 0;
    return granted;
}

uint32_t wk_read_block_ms(bool all_covered, uint32_t block_ms)
{
    return all_covered || block_ms < WK_READ_TURN_MS ? block_ms : WK_READ_TURN_MS;
}
