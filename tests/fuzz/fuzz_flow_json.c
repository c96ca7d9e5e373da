/*
 * fuzz_flow_json.c - the flow file parser (pc_flow_parse_json: `peace run`
 * flow files and the flow of a POST /v1/executions body), then the worker's
 * checks of its item types and params.
 *
 * Properties: a parsed flow passes pc_flow_validate and copies equal; it
 * travels in a job (encode, decode) unchanged.
 */
#include <string.h>

#include "fuzz.h"
#include "fuzz_support.h"
#include "peace/msg.h"

static void check_job_round_trip(const struct pc_flow *flow)
{
    struct msg_job job;
    struct msg_job back;
    struct pc_buf enc;
    struct pc_err err;
    int rc;

    memset(&job, 0, sizeof(job));
    memcpy(job.id, "01J00000000000000000000000", PC_ULID_LEN);
    job.cmd = PC_CMD_ENSURE;
    FUZZ_CHECK(pc_id_set(&job.queue, "default", 7, "queue", &err) == 0);
    job.created_ms = 1;
    FUZZ_CHECK(pc_flow_copy(&job.flow, flow) == 0);
    FUZZ_CHECK(fuzz_flow_equal(flow, &job.flow));

    rc = msg_job_encode(&job, &enc, &err);
    FUZZ_CHECK(rc == 0 || rc == PC_ELIMIT);
    if (rc == 0) {
        FUZZ_CHECK(msg_job_decode(enc.data, enc.len, &back, &err) == 0);
        FUZZ_CHECK(fuzz_flow_equal(flow, &back.flow));
        msg_job_cleanup(&back);
        pc_buf_cleanup(&enc);
    }
    msg_job_cleanup(&job);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct pc_flow flow;
    struct pc_err err;

    if (pc_flow_parse_json((const char *)data, size, "fuzz", &flow, &err) != 0) {
        return 0;
    }
    FUZZ_CHECK(pc_flow_validate(&flow, &err) == 0);
    (void)fuzz_worker_accepts(&flow);
    check_job_round_trip(&flow);
    pc_flow_cleanup(&flow);
    return 0;
}
