/*
 * parts.h - how a worker shares its free slots among the partitions of its
 * queue (docs/fleet.md "Queue partitions"), as pure functions.
 *
 * Each partition has its own blocking XREADGROUP (its own connection: on a
 * cluster the partitions live in different slots, and a blocked read holds
 * its connection). A read in flight holds its COUNT of the worker's free
 * slots, so the entries of all reads together never exceed --concurrency.
 * When there are fewer free slots than idle partitions, the partitions take
 * turns: the plan starts after the last partition served, and the reads
 * block only briefly so the slots come back for the others.
 */
#ifndef WORKER_PARTS_H
#define WORKER_PARTS_H

#include <stdbool.h>
#include <stdint.h>

/* Block of a read while some partition has no read: the turn length. */
#define WK_READ_TURN_MS 100u

/* One partition as the plan sees it. */
struct wk_part_state {
    bool can_read; /* its connection is ready and its group exists */
    bool reading;  /* a read is in flight */
    unsigned held; /* that read's COUNT */
};

/*
 * Grants COUNTs to the partitions that can read and are not reading:
 * grant[i] > 0 means "read partition i with COUNT grant[i]". The slots
 * free_slots minus those held by reads in flight are shared out, in turn
 * order from *cursor (updated past the last partition granted), so no
 * partition waits behind another for more than one turn. Returns the
 * number of partitions granted; *all_covered tells whether every partition
 * that can read is reading or granted (then reads may block long; if not,
 * they block WK_READ_TURN_MS).
 */
unsigned wk_read_plan(unsigned nparts, const struct wk_part_state *st, unsigned free_slots,
                      unsigned *cursor, unsigned *grant, bool *all_covered);

/* The BLOCK of the reads granted by a plan. */
uint32_t wk_read_block_ms(bool all_covered, uint32_t block_ms);

#endif /* WORKER_PARTS_H */
