/*
 * fuzz_sse.c - the CLI's Server-Sent Events parser (cli_sse_feed: the event
 * stream of `peace run --server` and `peace follow`), with small limits so
 * they are reached.
 *
 * Input: one byte that sizes the pieces, then the stream.
 *
 * Property: the network may cut a stream anywhere, so feeding it whole and
 * feeding it in pieces give the same events, the same result, the same last
 * event id and retry time. Every event has a type and data within limits.
 */
#include <string.h>

#include "fuzz.h"
#include "server_sse.h"

#define LINE_MAX_ 300
#define DATA_MAX_ 600

/* Every event of a run, serialised: type NUL id NUL data-length data. */
static int record(void *arg, const struct cli_sse_event *ev)
{
    struct pc_buf *log = arg;
    char len[24];

    FUZZ_CHECK(ev->type[0] != '\0' && strlen(ev->type) <= CLI_SSE_TYPE_MAX);
    FUZZ_CHECK(strlen(ev->id) <= CLI_SSE_ID_MAX);
    FUZZ_CHECK(ev->data_len <= DATA_MAX_ && ev->data[ev->data_len] == '\0');
    (void)snprintf(len, sizeof(len), "%zu:", ev->data_len);
    FUZZ_CHECK(pc_buf_append(log, ev->type, strlen(ev->type) + 1) == 0);
    FUZZ_CHECK(pc_buf_append(log, ev->id, strlen(ev->id) + 1) == 0);
    FUZZ_CHECK(pc_buf_puts(log, len) == 0);
    FUZZ_CHECK(pc_buf_append(log, ev->data, ev->data_len) == 0);
    return 0;
}

struct run {
    struct pc_buf log;
    int rc;
    char last_id[CLI_SSE_ID_MAX + 1];
    uint64_t retry_ms;
};

/* Feeds (p, n) in pieces of piece bytes (0: all at once). */
static void run_parser(const char *p, size_t n, size_t piece, struct run *r)
{
    struct cli_sse sse;
    struct pc_err err;
    size_t off = 0;

    pc_buf_init(&r->log, 1u << 24);
    cli_sse_init(&sse, LINE_MAX_, DATA_MAX_, record, &r->log);
    r->rc = 0;
    do {
        size_t len = piece == 0 || piece > n - off ? n - off : piece;

        r->rc = cli_sse_feed(&sse, p + off, len, &err);
        off += len;
    } while (r->rc == 0 && off < n);
    FUZZ_CHECK(r->rc == 0 || r->rc == PC_ELIMIT);
    (void)snprintf(r->last_id, sizeof(r->last_id), "%s", cli_sse_last_id(&sse));
    r->retry_ms = sse.retry_ms;
    cli_sse_cleanup(&sse);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct run whole;
    struct run cut;
    size_t piece;

    if (size == 0) {
        return 0;
    }
    piece = 1 + data[0] % 17;
    run_parser((const char *)data + 1, size - 1, 0, &whole);
    run_parser((const char *)data + 1, size - 1, piece, &cut);
    FUZZ_CHECK(whole.rc == cut.rc);
    FUZZ_CHECK(whole.log.len == cut.log.len &&
               (whole.log.len == 0 || memcmp(whole.log.data, cut.log.data, whole.log.len) == 0));
    if (whole.rc == 0) {
        FUZZ_CHECK(strcmp(whole.last_id, cut.last_id) == 0 && whole.retry_ms == cut.retry_ms);
    }
    pc_buf_cleanup(&whole.log);
    pc_buf_cleanup(&cut.log);
    return 0;
}
