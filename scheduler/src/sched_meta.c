/*
 * sched_meta.c - the contract fields of the meta hash (sched_meta.h). One
 * definition, so the scheduler's API and the CLI never disagree on what an
 * execution shows.
 */
#include "sched_meta.h"

const char *const sched_meta_fields[SCHED_META_NFIELDS] = {
    "id",
    "cmd",
    "app",
    "profile",
    "flow",
    "queue",
    "status",
    "outcome",
    "created_ms",
    "started_ms",
    "finished_ms",
    "worker",
    "attempt",
    "block",
    "block_index",
    "blocks_total",
    "items_total",
    "items_done",
    "interrupt_requested_ms",
    "interrupt_reason",
    "interrupt_mode",
    "interrupt_deadline_ms",
    "interrupt_latched_ms",
    "interrupt_escalations",
    "error",
};
