/*
 * seeds.c - writes the binary seed inputs of the fuzz targets with the
 * encoders, so the seeds are valid messages the fuzzer mutates from:
 *   fuzz_seeds DIR   writes DIR/fuzz_job/, DIR/fuzz_states/,
 *                    DIR/fuzz_report/, DIR/fuzz_events/ (seed-N files).
 * The text seeds of the other targets are written by hand.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "peace/msg.h"

/* The flow of fuzz_states.c: the envelope names it. */
static const char states_flow[] =
    "{\"app\":\"fuzz\",\"profile\":\"p\",\"flow\":\"f\",\"items\":["
    "{\"id\":\"a\",\"type\":\"sleep\"},{\"id\":\"b\",\"type\":\"sleep\",\"deps\":[\"a\"]},"
    "{\"id\":\"c\",\"type\":\"file\"},{\"id\":\"d\",\"type\":\"sh_cmd\"}]}";

/* Flows carried by the job seeds: every built-in item type with its params. */
static const char *const job_flows[] = {
    "{\"app\":\"demo\",\"profile\":\"local\",\"flow\":\"deploy\",\"items\":["
    "{\"id\":\"w\",\"type\":\"sh_cmd\",\"params\":{\"state_current\":[\"sh\",\"-c\",\"echo a\"],"
    "\"state_goal\":[\"echo\",\"b\"],\"apply_exec\":[\"true\"],\"state_clean\":[\"true\"]}},"
    "{\"id\":\"cfg\",\"type\":\"file\",\"deps\":[\"w\"],"
    "\"params\":{\"path\":\"d/app.conf\",\"content\":\"x = 1\\n\",\"mode\":\"0640\"}},"
    "{\"id\":\"bin\",\"type\":\"file\",\"params\":{\"path\":\"d/b\",\"content_base64\":\"AAEC\"}},"
    "{\"id\":\"dl\",\"type\":\"http_download\",\"deps\":[\"cfg\",\"bin\"],"
    "\"params\":{\"url\":\"http://127.0.0.1:1/x\",\"path\":\"d/x\",\"timeout_ms\":1000,"
    "\"max_bytes\":65536}},"
    "{\"id\":\"nap\",\"type\":\"sleep\",\"deps\":[\"dl\"],"
    "\"params\":{\"steps\":3,\"step_ms\":1,\"marker\":\"d/m\"}}]}",
    "{\"app\":\"a\",\"profile\":\"b\",\"flow\":\"c\",\"items\":[{\"id\":\"x\",\"type\":\"t\"},"
    "{\"id\":\"y\",\"type\":\"t\",\"deps\":[\"x\"],\"params\":{\"n\":[1,-2,3.5,null]}}]}",
    "{\"app\":\"a\",\"profile\":\"b\",\"flow\":\"c\",\"items\":[{\"id\":\"s\",\"type\":\"sleep\","
    "\"params\":{\"steps\":1,\"step_ms\":0}}]}",
};

static int write_file(const char *dir, const char *target, int n, const void *p, size_t len)
{
    char path[4096];
    FILE *f;

    (void)snprintf(path, sizeof(path), "%s/%s", dir, target);
    if (mkdir(path, 0755) != 0 && errno != EEXIST) {
        perror(path);
        return -1;
    }
    (void)snprintf(path, sizeof(path), "%s/%s/seed-%d", dir, target, n);
    f = fopen(path, "wb");
    if (f == NULL || fwrite(p, 1, len, f) != len || fclose(f) != 0) {
        perror(path);
        return -1;
    }
    return 0;
}

static int write_buf(const char *dir, const char *target, int n, struct pc_buf *b)
{
    int rc = write_file(dir, target, n, b->data, b->len);

    pc_buf_cleanup(b);
    return rc;
}

static int job_seeds(const char *dir)
{
    static const enum pc_cmd cmds[] = {PC_CMD_ENSURE, PC_CMD_DISCOVER, PC_CMD_CLEAN};
    int n = 0;

    for (size_t i = 0; i < sizeof(job_flows) / sizeof(job_flows[0]); i++) {
        struct msg_job job;
        struct pc_buf enc;
        struct pc_err err;

        memset(&job, 0, sizeof(job));
        memcpy(job.id, "01J00000000000000000000000", PC_ULID_LEN);
        job.cmd = cmds[i % 3];
        job.sync = i == 1 ? PC_SYNC_NONE : PC_SYNC_CURRENT;
        job.strategy.kind = i == 2 ? PC_STRATEGY_POLL_NEXT_N : PC_STRATEGY_FINISH_CURRENT;
        job.strategy.n = i == 2 ? 3 : 0;
        job.created_ms = 1700000000000ull + i;
        if (pc_id_set(&job.queue, "default", 7, "queue", &err) != 0 ||
            pc_flow_parse_json(job_flows[i], strlen(job_flows[i]), "seed", &job.flow, &err) != 0 ||
            msg_job_encode(&job, &enc, &err) != 0) {
            fprintf(stderr, "job seed %zu: %s\n", i, err.msg);
            return -1;
        }
        msg_job_cleanup(&job);
        if (write_buf(dir, "fuzz_job", n++, &enc) != 0) {
            return -1;
        }
    }
    return 0;
}

static int states_seeds(const char *dir)
{
    static const uint8_t state_a[] = {0x82, 0xa6, 'e', 'x', 'i', 's', 't', 's',
                                      0xc3, 0xa4, 's', 'i', 'z', 'e', 0x03};
    static const uint8_t state_nil[] = {0xc0};
    static const uint8_t state_d[] = {0x93, 0xa2, 'o', 'k', 0xcb, 0x3f, 0xf0, 0,
                                      0,    0,    0,   0,   0,    0xc4, 0x01, 0x00};
    struct pc_flow flow;
    struct pc_states st;
    struct pc_buf enc;
    struct pc_err err;
    int rc = -1;

    if (pc_flow_parse_json(states_flow, strlen(states_flow), "seed", &flow, &err) != 0 ||
        pc_states_init(&st, flow.n_items) != 0) {
        return -1;
    }
    if (pc_state_set(&st.v[0], state_a, sizeof(state_a)) == 0 &&
        pc_state_set(&st.v[2], state_nil, sizeof(state_nil)) == 0 &&
        pc_state_set(&st.v[3], state_d, sizeof(state_d)) == 0 &&
        msg_states_encode(&flow, PC_STATES_GOAL, &st, &enc, &err) == 0 &&
        write_buf(dir, "fuzz_states", 0, &enc) == 0) {
        pc_states_cleanup(&st);
        rc = pc_states_init(&st, flow.n_items) == 0 &&
                     msg_states_encode(&flow, PC_STATES_CURRENT, &st, &enc, &err) == 0 &&
                     write_buf(dir, "fuzz_states", 1, &enc) == 0
                 ? 0
                 : -1;
    }
    pc_states_cleanup(&st);
    pc_flow_cleanup(&flow);
    return rc;
}

static int report_seed(const char *dir, int n, struct pc_outcome *o)
{
    struct pc_buf enc;
    struct pc_err err;
    int rc = msg_report_encode(o, &enc, &err);

    if (rc != 0) {
        fprintf(stderr, "report seed %d: %s\n", n, err.msg);
        return -1;
    }
    pc_outcome_cleanup(o);
    return write_buf(dir, "fuzz_report", n, &enc);
}

static int report_seeds(const char *dir)
{
    struct pc_outcome o;
    struct pc_id a;
    struct pc_id b;

    if (pc_id_set(&a, "a", 1, "item", NULL) != 0 || pc_id_set(&b, "b", 1, "item", NULL) != 0) {
        return -1;
    }
    pc_outcome_init(&o);
    o.blocks[0] = PC_BLOCK_APPLY_ENSURE;
    o.n_blocks = 1;
    o.n_blocks_processed = 1;
    if (report_seed(dir, 0, &o) != 0) {
        return -1;
    }
    pc_outcome_init(&o);
    o.kind = PC_OUTCOME_ITEM_ERROR;
    o.blocks[0] = PC_BLOCK_APPLY_ENSURE;
    o.n_blocks = 1;
    o.items_processed = malloc(sizeof(struct pc_id));
    o.items_not_processed = malloc(sizeof(struct pc_id));
    if (o.items_processed == NULL || o.items_not_processed == NULL) {
        pc_outcome_cleanup(&o);
        return -1;
    }
    o.items_processed[0] = a;
    o.n_items_processed = 1;
    o.items_not_processed[0] = b;
    o.n_items_not_processed = 1;
    if (pc_outcome_add_error(&o, &a, "apply failed: permission denied") != 0 ||
        report_seed(dir, 1, &o) != 0) {
        return -1;
    }
    pc_outcome_init(&o);
    o.kind = PC_OUTCOME_REJECTED;
    if (pc_outcome_set_error(&o, "invalid flow") != 0 || report_seed(dir, 2, &o) != 0) {
        return -1;
    }
    return 0;
}

/* An event as the fuzz_events input: each string a length byte then its bytes. */
static int event_seed(const char *dir, int n, const struct msg_event *ev)
{
    struct msg_event_fields f;
    uint8_t out[1024];
    size_t len = 0;

    if (msg_event_to_fields(ev, &f, NULL) != 0) {
        return -1;
    }
    for (size_t i = 0; i < f.n; i++) {
        if (f.argvlen[i] > 255 || len + 1 + f.argvlen[i] > sizeof(out)) {
            return -1;
        }
        out[len++] = (uint8_t)f.argvlen[i];
        memcpy(out + len, f.argv[i], f.argvlen[i]);
        len += f.argvlen[i];
    }
    return write_file(dir, "fuzz_events", n, out, len);
}

static int event_seeds(const char *dir)
{
    struct msg_event ev;

    memset(&ev, 0, sizeof(ev));
    ev.kind = MSG_EVENT_BLOCK_START;
    ev.block = PC_BLOCK_APPLY_ENSURE;
    ev.block_index = 2;
    if (event_seed(dir, 0, &ev) != 0) {
        return -1;
    }
    memset(&ev, 0, sizeof(ev));
    ev.kind = MSG_EVENT_PROGRESS;
    (void)pc_id_set(&ev.item, "cfg", 3, "item", NULL);
    ev.status = PC_PROGRESS_RUNNING;
    ev.done = 5;
    ev.limit.kind = PC_LIMIT_STEPS;
    ev.limit.n = 8;
    (void)snprintf(ev.msg, sizeof(ev.msg), "writing d/app.conf");
    if (event_seed(dir, 1, &ev) != 0) {
        return -1;
    }
    memset(&ev, 0, sizeof(ev));
    ev.kind = MSG_EVENT_INTERRUPT;
    (void)snprintf(ev.reason, sizeof(ev.reason), "operator asked");
    if (event_seed(dir, 2, &ev) != 0) {
        return -1;
    }
    memset(&ev, 0, sizeof(ev));
    ev.kind = MSG_EVENT_OUTCOME;
    ev.outcome = PC_OUTCOME_BLOCK_INTERRUPTED;
    return event_seed(dir, 3, &ev);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: fuzz_seeds DIR\n");
        return 2;
    }
    if (job_seeds(argv[1]) != 0 || states_seeds(argv[1]) != 0 || report_seeds(argv[1]) != 0 ||
        event_seeds(argv[1]) != 0) {
        return 1;
    }
    return 0;
}
