/*
 * states_order.h - the one order in which every reader lists a profile's
 * stored states (CONTRACT §2: flow order orders every listing).
 *
 * A states hash comes back from Redis in its own order (insertion order
 * while small, bucket order once large). The writer keeps the flow's item
 * ids, in flow order, in the flow's order key (keys.h,
 * pc_key_states_order); readers sort the hash's fields by it: the flow's
 * items first, in flow order, then any others (obsolete items, or states
 * written before the order key existed) by id. Pure functions, no Redis.
 */
#ifndef PEACE_STATES_ORDER_H
#define PEACE_STATES_ORDER_H

#include <stddef.h>

#include "peace/err.h"

/* Longest order value read (10000 ids of 64 bytes and their commas). */
#define PC_STATES_ORDER_MAX ((size_t)10000 * 65)

/*
 * Fills perm[0..n) with the positions of the n field names (name[i],
 * len[i]; borrowed) in listing order, given the order value (order,
 * order_len; NULL or empty: none, then every name sorts by id). An id
 * repeated in order counts at its first place. Returns 0 or PC_ENOMEM
 * (perm then holds 0..n-1).
 */
int pc_states_listing(const char *order, size_t order_len, const char *const *name,
                      const size_t *len, size_t n, size_t *perm) PC_NODISCARD;

#endif /* PEACE_STATES_ORDER_H */
