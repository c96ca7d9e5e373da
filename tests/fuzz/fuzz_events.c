/*
 * fuzz_events.c - the progress event parser (msg_event_from_fields: one
 * entry of an execution's events stream, read by the CLI and the
 * scheduler).
 *
 * Input: up to EV_FIELDS_MAX strings, each a 1-byte length then that many
 * bytes (a stream entry's field/value list); a short tail is one last
 * string.
 *
 * Property: a parsed event renders as fields again, and those parse to the
 * same event.
 */
#include <string.h>

#include "fuzz.h"
#include "peace/msg.h"

#define EV_FIELDS_MAX 16

static bool same_event(const struct msg_event *a, const struct msg_event *b)
{
    if (a->kind != b->kind) {
        return false;
    }
    switch (a->kind) {
    case MSG_EVENT_BLOCK_START:
        return a->block == b->block && a->block_index == b->block_index;
    case MSG_EVENT_PROGRESS:
        return strcmp(a->item.s, b->item.s) == 0 && a->status == b->status && a->done == b->done &&
               a->limit.kind == b->limit.kind && a->limit.n == b->limit.n &&
               strcmp(a->msg, b->msg) == 0;
    case MSG_EVENT_INTERRUPT:
        return strcmp(a->reason, b->reason) == 0;
    case MSG_EVENT_OUTCOME:
        return a->outcome == b->outcome;
    }
    return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *fields[EV_FIELDS_MAX];
    size_t lens[EV_FIELDS_MAX];
    size_t n = 0;
    size_t off = 0;
    struct msg_event ev;
    struct msg_event back;
    struct msg_event_fields out;
    struct pc_err err;

    while (off < size && n < EV_FIELDS_MAX) {
        size_t len = data[off++];

        if (len > size - off) {
            len = size - off;
        }
        fields[n] = (const char *)data + off;
        lens[n++] = len;
        off += len;
    }
    if (msg_event_from_fields(fields, lens, n, &ev, &err) != 0) {
        return 0;
    }
    FUZZ_CHECK(msg_event_kind_name(ev.kind) != NULL);
    FUZZ_CHECK(msg_event_to_fields(&ev, &out, &err) == 0);
    FUZZ_CHECK(msg_event_from_fields(out.argv, out.argvlen, out.n, &back, &err) == 0);
    FUZZ_CHECK(same_event(&ev, &back));
    return 0;
}
