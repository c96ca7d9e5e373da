/*
 * server_sse.c - the Server-Sent Events parser of server_sse.h.
 *
 * Design. Bytes are scanned for the next line terminator; the run before it
 * is appended to the line buffer (bounded), and a terminator processes the
 * line. Only the line and the current event's data are buffered, so memory
 * stays within line_max + data_max whatever the peer sends. A CR is a line
 * end by itself; `after_cr` remembers one across pieces so that a CRLF split
 * between two reads is still one line end and not an empty line (which would
 * dispatch an event early).
 */
#include "server_sse.h"

#include <stdio.h>
#include <string.h>

void cli_sse_init(struct cli_sse *p, size_t line_max, size_t data_max, cli_sse_event_cb *cb,
                  void *cb_arg)
{
    memset(p, 0, sizeof(*p));
    pc_buf_init(&p->line, line_max);
    pc_buf_init(&p->data, data_max);
    p->cb = cb;
    p->cb_arg = cb_arg;
}

void cli_sse_cleanup(struct cli_sse *p)
{
    if (p == NULL) {
        return;
    }
    pc_buf_cleanup(&p->line);
    pc_buf_cleanup(&p->data);
}

void cli_sse_restart(struct cli_sse *p)
{
    pc_buf_reset(&p->line);
    pc_buf_reset(&p->data);
    p->type[0] = '\0';
    p->after_cr = false;
}

const char *cli_sse_last_id(const struct cli_sse *p)
{
    return p->last_id;
}

static bool field_is(const char *name, size_t n, const char *want)
{
    return strlen(want) == n && memcmp(name, want, n) == 0;
}

/* A blank line: hands the event over (when it has data) and starts the next. */
static int dispatch(struct cli_sse *p)
{
    struct cli_sse_event ev;
    int rc = 0;

    if (p->data.len > 0) {
        /* Every data line was stored with a trailing LF; the last one is not data. */
        p->data.len--;
        p->data.data[p->data.len] = '\0';
        ev.type = p->type[0] != '\0' ? p->type : "message";
        ev.id = p->last_id;
        ev.data = pc_buf_str(&p->data);
        ev.data_len = p->data.len;
        rc = p->cb != NULL ? p->cb(p->cb_arg, &ev) : 0;
    }
    pc_buf_reset(&p->data);
    p->type[0] = '\0';
    return rc;
}

/* Copies a short value into a fixed field; PC_ELIMIT names the field when it does not fit. */
static int set_short(char *out, size_t out_size, const char *v, size_t n, const char *what,
                     struct pc_err *err)
{
    if (n >= out_size) {
        return pc_err_set(err, PC_ELIMIT, "event stream: an %s longer than %zu bytes", what,
                          out_size - 1);
    }
    memcpy(out, v, n);
    out[n] = '\0';
    return 0;
}

static int process_line(struct cli_sse *p, struct pc_err *err)
{
    const char *line = pc_buf_str(&p->line);
    size_t n = p->line.len;
    const char *colon;
    const char *value = "";
    size_t name_len = n;
    size_t value_len = 0;
    int rc = 0;

    if (n == 0) {
        return dispatch(p);
    }
    if (line[0] == ':') {
        return 0; /* a comment: keepalives */
    }
    colon = memchr(line, ':', n);
    if (colon != NULL) {
        name_len = (size_t)(colon - line);
        value = colon + 1;
        value_len = n - name_len - 1;
        if (value_len > 0 && value[0] == ' ') {
            value++;
            value_len--;
        }
    }
    if (field_is(line, name_len, "data")) {
        rc = pc_buf_append(&p->data, value, value_len);
        rc = rc == 0 ? pc_buf_append(&p->data, "\n", 1) : rc;
        if (rc == PC_ELIMIT) {
            return pc_err_set(err, PC_ELIMIT, "event stream: an event's data exceeds %zu bytes",
                              p->data.max);
        }
        return rc != 0 ? pc_err_set(err, rc, "event stream: out of memory") : 0;
    }
    if (field_is(line, name_len, "event")) {
        return set_short(p->type, sizeof(p->type), value, value_len, "event type", err);
    }
    if (field_is(line, name_len, "id")) {
        /* The standard ignores an id holding NUL: it could not be sent back. */
        if (memchr(value, '\0', value_len) != NULL) {
            return 0;
        }
        return set_short(p->last_id, sizeof(p->last_id), value, value_len, "event id", err);
    }
    if (field_is(line, name_len, "retry")) {
        uint64_t ms = 0;
        size_t i = 0;

        for (; i < value_len && i < 10 && value[i] >= '0' && value[i] <= '9'; i++) {
            ms = ms * 10u + (uint64_t)(value[i] - '0');
        }
        if (i > 0 && i == value_len) {
            p->retry_ms = ms;
        }
    }
    return 0; /* unknown fields are ignored */
}

static int end_line(struct cli_sse *p, struct pc_err *err)
{
    int rc = process_line(p, err);

    pc_buf_reset(&p->line);
    return rc;
}

int cli_sse_feed(struct cli_sse *p, const char *bytes, size_t n, struct pc_err *err)
{
    size_t i = 0;
    int rc;

    while (i < n) {
        size_t run = i;

        if (p->after_cr) {
            p->after_cr = false;
            if (bytes[i] == '\n') {
                i++; /* the LF of a CRLF whose CR ended the previous line */
                continue;
            }
        }
        while (run < n && bytes[run] != '\n' && bytes[run] != '\r') {
            run++;
        }
        if (run > i) {
            rc = pc_buf_append(&p->line, bytes + i, run - i);
            if (rc == PC_ELIMIT) {
                return pc_err_set(err, PC_ELIMIT, "event stream: a line longer than %zu bytes",
                                  p->line.max);
            }
            if (rc != 0) {
                return pc_err_set(err, rc, "event stream: out of memory");
            }
        }
        if (run == n) {
            break; /* the line goes on in the next piece */
        }
        p->after_cr = bytes[run] == '\r';
        i = run + 1;
        rc = end_line(p, err);
        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}
