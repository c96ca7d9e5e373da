/*
 * fuzz_job.c - the job decoder (msg_job_decode: the `job` field of a queue
 * entry, read by every worker), then what a worker does with a decoded job
 * before it runs (item types and params checks).
 *
 * Properties: a decoded job encodes again (encoders accept whatever their
 * decoder accepts), and that encoding decodes to the same job and encodes
 * to the same bytes.
 */
#include <string.h>

#include "fuzz.h"
#include "fuzz_support.h"
#include "peace/msg.h"

static bool same_job(const struct msg_job *a, const struct msg_job *b)
{
    return strcmp(a->id, b->id) == 0 && a->cmd == b->cmd && a->sync == b->sync &&
           a->strategy.kind == b->strategy.kind && a->strategy.n == b->strategy.n &&
           strcmp(a->queue.s, b->queue.s) == 0 && a->created_ms == b->created_ms &&
           fuzz_flow_equal(&a->flow, &b->flow);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct msg_job job;
    struct msg_job back;
    struct pc_buf enc;
    struct pc_buf enc2;
    struct pc_err err;

    if (msg_job_decode(data, size, &job, &err) != 0) {
        return 0;
    }
    (void)fuzz_worker_accepts(&job.flow);

    FUZZ_CHECK(msg_job_encode(&job, &enc, &err) == 0);
    FUZZ_CHECK(msg_job_decode(enc.data, enc.len, &back, &err) == 0);
    FUZZ_CHECK(same_job(&job, &back));
    FUZZ_CHECK(msg_job_encode(&back, &enc2, &err) == 0);
    FUZZ_CHECK(enc.len == enc2.len && memcmp(enc.data, enc2.data, enc.len) == 0);

    pc_buf_cleanup(&enc);
    pc_buf_cleanup(&enc2);
    msg_job_cleanup(&back);
    msg_job_cleanup(&job);
    return 0;
}
