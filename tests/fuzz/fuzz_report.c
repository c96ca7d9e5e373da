/*
 * fuzz_report.c - the outcome report decoder (msg_report_decode: the
 * `report` field of an execution, read by the scheduler and the CLI), then
 * the renderings they show (text and JSON).
 *
 * Properties: a decoded report encodes again, and that encoding decodes and
 * encodes to the same bytes.
 */
#include <string.h>

#include "fuzz.h"
#include "peace/msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct pc_outcome o;
    struct pc_outcome back;
    struct pc_buf enc;
    struct pc_buf enc2;
    struct pc_buf text;
    struct pc_err err;

    if (msg_report_decode(data, size, &o, &err) != 0) {
        return 0;
    }
    pc_buf_init(&text, 1u << 24);
    FUZZ_CHECK(pc_outcome_format_text(&o, &text) == 0);
    FUZZ_CHECK(pc_outcome_format_json(&o, &text) == 0);
    pc_buf_cleanup(&text);

    FUZZ_CHECK(msg_report_encode(&o, &enc, &err) == 0);
    FUZZ_CHECK(msg_report_decode(enc.data, enc.len, &back, &err) == 0);
    FUZZ_CHECK(msg_report_encode(&back, &enc2, &err) == 0);
    FUZZ_CHECK(enc.len == enc2.len && memcmp(enc.data, enc2.data, enc.len) == 0);

    pc_buf_cleanup(&enc);
    pc_buf_cleanup(&enc2);
    pc_outcome_cleanup(&back);
    pc_outcome_cleanup(&o);
    return 0;
}
