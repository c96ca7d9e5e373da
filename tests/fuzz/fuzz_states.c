/*
 * fuzz_states.c - the states envelope decoder (msg_states_decode: a local
 * states file), for a fixed four-item flow, then what readers do with each
 * state (msg_state_check, the JSON rendering of the dashboard and CLI).
 *
 * Properties: every decoded state passes msg_state_check and renders as
 * JSON (or hits the renderer's documented limit); the decoded states encode
 * again (as current) and decode to the same bytes.
 */
#include <string.h>

#include "fuzz.h"
#include "peace/msg.h"

/* The flow the seeds were written for (tests/fuzz/seeds.c uses the same). */
static const char flow_json[] =
    "{\"app\":\"fuzz\",\"profile\":\"p\",\"flow\":\"f\",\"items\":["
    "{\"id\":\"a\",\"type\":\"sleep\"},{\"id\":\"b\",\"type\":\"sleep\",\"deps\":[\"a\"]},"
    "{\"id\":\"c\",\"type\":\"file\"},{\"id\":\"d\",\"type\":\"sh_cmd\"}]}";

static void check_states(const struct pc_flow *flow, const struct pc_states *st)
{
    struct pc_buf enc;
    struct pc_buf json;
    struct pc_states back;
    struct pc_err err;

    pc_buf_init(&json, 1u << 26);
    for (size_t i = 0; i < st->n; i++) {
        if (st->v[i].data != NULL) {
            FUZZ_CHECK(msg_state_check(st->v[i].data, st->v[i].len, &err) == 0);
            int rc = pc_state_to_json(&st->v[i], &json);

            /* PC_ELIMIT: nesting over the JSON depth limit, or a rendering
             * over this buffer's size. A non-string map key whose JSON text is
             * over 4 KiB is cut at every level (keys of keys are escaped again
             * at each level: the cut keeps that from growing exponentially). */
            FUZZ_CHECK(rc == 0 || rc == PC_ELIMIT);
        }
    }
    pc_buf_cleanup(&json);

    FUZZ_CHECK(msg_states_encode(flow, PC_STATES_CURRENT, st, &enc, &err) == 0);
    FUZZ_CHECK(pc_states_init(&back, flow->n_items) == 0);
    FUZZ_CHECK(msg_states_decode(enc.data, enc.len, flow, &back, &err) == 0);
    for (size_t i = 0; i < st->n; i++) {
        /* A stored nil decodes as absent: compare presence, then bytes. */
        FUZZ_CHECK(pc_state_present(&st->v[i]) == pc_state_present(&back.v[i]));
        FUZZ_CHECK(!pc_state_present(&st->v[i]) || pc_state_bytes_eq(&st->v[i], &back.v[i]));
    }
    pc_states_cleanup(&back);
    pc_buf_cleanup(&enc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct pc_flow flow;
    struct pc_states st;
    struct pc_err err;

    FUZZ_CHECK(pc_flow_parse_json(flow_json, sizeof(flow_json) - 1, "fuzz", &flow, &err) == 0);
    FUZZ_CHECK(pc_states_init(&st, flow.n_items) == 0);
    if (msg_states_decode(data, size, &flow, &st, &err) == 0) {
        check_states(&flow, &st);
    }
    pc_states_cleanup(&st);
    pc_flow_cleanup(&flow);
    return 0;
}
