/*
 * fuzz_submit.c - the scheduler's request bodies: a submission (POST
 * /v1/executions, sched_submit_parse with the built-in item types) and an
 * interrupt request (POST /v1/executions/{id}/interrupt).
 *
 * Properties: a failure carries a 4xx/5xx code and a message; an accepted
 * submission's job bytes are what a worker decodes and accepts (the same
 * job, a flow every built-in item type takes); an interrupt reason fits
 * its buffer.
 */
#include <string.h>

#include "fuzz.h"
#include "fuzz_support.h"
#include "peace/items.h"
#include "peace/msg.h"
#include "sched_submit.h"

#define FUZZ_EXEC_ID "01J00000000000000000000000"

static void check_submission(const struct sched_submission *s)
{
    struct msg_job job;
    struct pc_err err;

    FUZZ_CHECK(strcmp(s->job.id, FUZZ_EXEC_ID) == 0);
    FUZZ_CHECK(msg_job_decode(s->job_bytes.data, s->job_bytes.len, &job, &err) == 0);
    FUZZ_CHECK(fuzz_flow_equal(&job.flow, &s->job.flow));
    FUZZ_CHECK(fuzz_worker_accepts(&job.flow));
    FUZZ_CHECK(s->blocks_total > 0);
    msg_job_cleanup(&job);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct pc_registry *reg = NULL;
    struct sched_submission sub;
    struct sched_fail fail;
    struct pc_err err;
    char reason[64];

    FUZZ_CHECK(pc_registry_create(&reg, &err) == 0);
    FUZZ_CHECK(pc_items_register_builtin(reg, &err) == 0);
    memset(&fail, 0, sizeof(fail));
    if (sched_submit_parse((const char *)data, size, reg, "default", FUZZ_EXEC_ID, 1, &sub,
                           &fail) == 0) {
        check_submission(&sub);
        sched_submission_cleanup(&sub);
    } else {
        FUZZ_CHECK(sched_code_status(fail.code) >= 400);
        FUZZ_CHECK(fail.msg[0] != '\0');
    }
    pc_registry_destroy(reg);

    memset(&fail, 0, sizeof(fail));
    if (sched_interrupt_parse((const char *)data, size, reason, sizeof(reason), &fail) == 0) {
        FUZZ_CHECK(strlen(reason) < sizeof(reason));
    } else {
        FUZZ_CHECK(sched_code_status(fail.code) == 400);
    }
    return 0;
}
