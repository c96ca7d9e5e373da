/*
 * server_sse.h - an incremental parser of a Server-Sent Events stream
 * (text/event-stream, as the HTML Living Standard defines it), fed the bytes
 * of a response in whatever pieces the network delivers them.
 *
 * Lines end with LF, CRLF or CR (a CR at the end of one piece and the LF at
 * the start of the next make one line end). `event:` sets the event type,
 * `data:` adds a line to the event's data, `id:` sets the last event id
 * (kept across events and across cli_sse_restart, so a follower can resume
 * with Last-Event-ID), `retry:` is remembered, comment lines (`:`) and
 * unknown fields are ignored. A blank line dispatches the event, unless it
 * has no data (then it is dropped, as the standard says).
 *
 * Everything read from the peer is bounded: a line longer than line_max, an
 * event whose data exceeds data_max, or an id or event type longer than
 * CLI_SSE_ID_MAX / CLI_SSE_TYPE_MAX is an error (PC_ELIMIT) naming the limit.
 */
#ifndef PEACE_CLI_SERVER_SSE_H
#define PEACE_CLI_SERVER_SSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "peace/buf.h"
#include "peace/err.h"

#define CLI_SSE_ID_MAX   128
#define CLI_SSE_TYPE_MAX 64

/* One dispatched event; every pointer is borrowed for the callback's duration. */
struct cli_sse_event {
    const char *type; /* "message" when the event set none */
    const char *id;   /* the last event id ("" when none was ever set) */
    const char *data; /* NUL-terminated too, but may hold NUL bytes: use data_len */
    size_t data_len;
};

/*
 * Called once per dispatched event. A non-zero return stops cli_sse_feed at
 * once and is returned by it (the rest of that piece is not parsed).
 */
typedef int cli_sse_event_cb(void *arg, const struct cli_sse_event *ev);

struct cli_sse {
    struct pc_buf line; /* the line being assembled */
    struct pc_buf data; /* the event's data lines, each followed by LF */
    char type[CLI_SSE_TYPE_MAX + 1];
    char last_id[CLI_SSE_ID_MAX + 1];
    uint64_t retry_ms; /* 0 until the peer sends a retry field */
    bool after_cr;     /* the previous byte ended a line with CR */
    cli_sse_event_cb *cb;
    void *cb_arg; /* borrowed */
};

/* Initialises caller storage; nothing is allocated until bytes arrive. */
void cli_sse_init(struct cli_sse *p, size_t line_max, size_t data_max, cli_sse_event_cb *cb,
                  void *cb_arg);

/*
 * Parses n bytes, calling the callback for each complete event. Returns 0,
 * PC_ELIMIT (a limit exceeded: the stream cannot be trusted further),
 * PC_ENOMEM, or the callback's non-zero value.
 */
int cli_sse_feed(struct cli_sse *p, const char *bytes, size_t n, struct pc_err *err) PC_NODISCARD;

/* A new connection: drops a partial line and event, keeps the last event id. */
void cli_sse_restart(struct cli_sse *p);

/* The last event id ("" when none); borrowed from p. */
const char *cli_sse_last_id(const struct cli_sse *p);

/* Releases the buffers; p may be initialised again. */
void cli_sse_cleanup(struct cli_sse *p);

#endif /* PEACE_CLI_SERVER_SSE_H */
