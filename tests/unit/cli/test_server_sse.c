/*
 * test_server_sse.c - the CLI's Server-Sent Events parser: fields, line
 * ends (LF, CRLF, CR, and a CRLF split between two reads), the same events
 * whatever the read boundaries, comments and unknown fields, events without
 * data, the last event id across events and reconnects, the bounds on
 * lines, data, ids and types, and a callback that stops the parser.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "server_sse.h"

#define EVENTS_MAX 16

struct seen {
    size_t n;
    char type[EVENTS_MAX][CLI_SSE_TYPE_MAX + 1];
    char id[EVENTS_MAX][CLI_SSE_ID_MAX + 1];
    char data[EVENTS_MAX][256];
    size_t data_len[EVENTS_MAX];
    int stop_after; /* return 1 after this many events; 0 = never */
};

static int record(void *arg, const struct cli_sse_event *ev)
{
    struct seen *s = arg;

    assert_true(s->n < EVENTS_MAX);
    assert_true(ev->data_len < sizeof(s->data[0]));
    (void)snprintf(s->type[s->n], sizeof(s->type[0]), "%s", ev->type);
    (void)snprintf(s->id[s->n], sizeof(s->id[0]), "%s", ev->id);
    memcpy(s->data[s->n], ev->data, ev->data_len);
    s->data[s->n][ev->data_len] = '\0';
    assert_int_equal(ev->data[ev->data_len], '\0'); /* also NUL-terminated */
    s->data_len[s->n] = ev->data_len;
    s->n++;
    return s->stop_after != 0 && (int)s->n >= s->stop_after ? 1 : 0;
}

static int feed(struct cli_sse *p, const char *text)
{
    return cli_sse_feed(p, text, strlen(text), NULL);
}

static void an_event_carries_its_id_type_and_data(void **state)
{
    struct seen s = {0};
    struct cli_sse p;

    (void)state;
    cli_sse_init(&p, 1024, 1024, record, &s);
    assert_int_equal(feed(&p, "id: 1-0\nevent: progress\ndata: {\"a\":1}\n\n"), 0);
    assert_int_equal(s.n, 1);
    assert_string_equal(s.type[0], "progress");
    assert_string_equal(s.id[0], "1-0");
    assert_string_equal(s.data[0], "{\"a\":1}");
    assert_string_equal(cli_sse_last_id(&p), "1-0");
    cli_sse_cleanup(&p);
}

static void the_same_events_come_whatever_the_read_boundaries(void **state)
{
    static const char stream[] = ": keepalive\r\n"
                                 "id: 5-1\r\nevent: block_start\r\ndata: one\r\n\r\n"
                                 "id: 5-2\revent: progress\rdata: two\r\r"
                                 "id: 5-3\nevent: outcome\ndata: three\n\n";
    size_t len = sizeof(stream) - 1;

    (void)state;
    /* Every split into two reads, and byte by byte. */
    for (size_t cut = 0; cut <= len + 1; cut++) {
        struct seen s = {0};
        struct cli_sse p;

        cli_sse_init(&p, 1024, 1024, record, &s);
        if (cut <= len) {
            assert_int_equal(cli_sse_feed(&p, stream, cut, NULL), 0);
            assert_int_equal(cli_sse_feed(&p, stream + cut, len - cut, NULL), 0);
        } else {
            for (size_t i = 0; i < len; i++) {
                assert_int_equal(cli_sse_feed(&p, stream + i, 1, NULL), 0);
            }
        }
        assert_int_equal(s.n, 3);
        assert_string_equal(s.type[0], "block_start");
        assert_string_equal(s.id[0], "5-1");
        assert_string_equal(s.data[0], "one");
        assert_string_equal(s.type[1], "progress");
        assert_string_equal(s.id[1], "5-2");
        assert_string_equal(s.data[1], "two");
        assert_string_equal(s.type[2], "outcome");
        assert_string_equal(s.id[2], "5-3");
        assert_string_equal(s.data[2], "three");
        cli_sse_cleanup(&p);
    }
}

static void a_crlf_split_between_reads_is_one_line_end(void **state)
{
    struct seen s = {0};
    struct cli_sse p;

    (void)state;
    cli_sse_init(&p, 1024, 1024, record, &s);
    /* Were the LF taken as an empty line, the event would go out after "a" alone. */
    assert_int_equal(feed(&p, "data: a\r"), 0);
    assert_int_equal(feed(&p, "\ndata: b\r\n"), 0);
    assert_int_equal(s.n, 0);
    assert_int_equal(feed(&p, "\r\n"), 0);
    assert_int_equal(s.n, 1);
    assert_string_equal(s.data[0], "a\nb");
    cli_sse_cleanup(&p);
}

static void comments_and_unknown_fields_are_ignored(void **state)
{
    struct seen s = {0};
    struct cli_sse p;

    (void)state;
    cli_sse_init(&p, 1024, 1024, record, &s);
    assert_int_equal(feed(&p, ": keepalive\n\n: another\n\n"), 0);
    assert_int_equal(s.n, 0);
    assert_int_equal(feed(&p, "foo: bar\ndata: x\nDATA: y\n:comment: data: z\n\n"), 0);
    assert_int_equal(s.n, 1);
    assert_string_equal(s.type[0], "message");
    assert_string_equal(s.data[0], "x");
    cli_sse_cleanup(&p);
}

static void data_lines_join_with_lf_and_only_one_space_is_dropped(void **state)
{
    struct seen s = {0};
    struct cli_sse p;

    (void)state;
    cli_sse_init(&p, 1024, 1024, record, &s);
    assert_int_equal(feed(&p, "data:no space\ndata:  two spaces\ndata\ndata: last\n\n"), 0);
    assert_int_equal(s.n, 1);
    assert_string_equal(s.data[0], "no space\n two spaces\n\nlast");
    /* A lone "data" line is an event with empty data: it is dispatched. */
    assert_int_equal(feed(&p, "data\n\n"), 0);
    assert_int_equal(s.n, 2);
    assert_int_equal(s.data_len[1], 0);
    cli_sse_cleanup(&p);
}

static void an_event_without_data_is_dropped_and_its_type_forgotten(void **state)
{
    struct seen s = {0};
    struct cli_sse p;

    (void)state;
    cli_sse_init(&p, 1024, 1024, record, &s);
    assert_int_equal(feed(&p, "event: outcome\nid: 9-9\n\n"), 0);
    assert_int_equal(s.n, 0);
    assert_string_equal(cli_sse_last_id(&p), "9-9"); /* the id is taken even so */
    assert_int_equal(feed(&p, "data: d\n\n"), 0);
    assert_int_equal(s.n, 1);
    assert_string_equal(s.type[0], "message");
    assert_string_equal(s.id[0], "9-9");
    cli_sse_cleanup(&p);
}

static void the_last_id_stays_across_events_and_reconnects(void **state)
{
    struct seen s = {0};
    struct cli_sse p;

    (void)state;
    cli_sse_init(&p, 1024, 1024, record, &s);
    assert_int_equal(feed(&p, "id: 7-0\ndata: a\n\ndata: b\n\n"), 0);
    assert_int_equal(s.n, 2);
    assert_string_equal(s.id[1], "7-0");
    /* A partial event when the connection drops is lost; the id is not. */
    assert_int_equal(feed(&p, "id: 8-0\ndata: half"), 0);
    cli_sse_restart(&p);
    assert_string_equal(cli_sse_last_id(&p), "8-0");
    assert_int_equal(feed(&p, "\ndata: whole\n\n"), 0);
    assert_int_equal(s.n, 3);
    assert_string_equal(s.data[2], "whole");
    /* An empty id clears it; an id holding NUL is ignored. */
    assert_int_equal(feed(&p, "id\ndata: c\n\n"), 0);
    assert_string_equal(s.id[3], "");
    assert_int_equal(cli_sse_feed(&p, "id: a\0b\ndata: d\n\n", 17, NULL), 0);
    assert_int_equal(s.n, 5);
    assert_string_equal(s.id[4], "");
    cli_sse_cleanup(&p);
}

static void data_may_hold_nul_bytes(void **state)
{
    static const char in[] = "data: a\0b\n\n";
    struct seen s = {0};
    struct cli_sse p;

    (void)state;
    cli_sse_init(&p, 1024, 1024, record, &s);
    assert_int_equal(cli_sse_feed(&p, in, sizeof(in) - 1, NULL), 0);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.data_len[0], 3);
    assert_memory_equal(s.data[0], "a\0b", 3);
    cli_sse_cleanup(&p);
}

static void retry_is_remembered_when_it_is_a_number(void **state)
{
    struct cli_sse p;

    (void)state;
    cli_sse_init(&p, 1024, 1024, NULL, NULL);
    assert_int_equal(feed(&p, "retry: 1500\n"), 0);
    assert_int_equal(p.retry_ms, 1500);
    assert_int_equal(feed(&p, "retry: soon\nretry: 12x\nretry:\n"), 0);
    assert_int_equal(p.retry_ms, 1500);
    cli_sse_cleanup(&p);
}

static void a_line_over_the_limit_is_an_error(void **state)
{
    char line[200];
    struct seen s = {0};
    struct cli_sse p;
    struct pc_err err;

    (void)state;
    memset(line, 'x', sizeof(line));
    cli_sse_init(&p, 64, 1024, record, &s);
    pc_err_clear(&err);
    /* Arriving in small pieces does not get around the bound. */
    assert_int_equal(cli_sse_feed(&p, "data: ", 6, &err), 0);
    assert_int_equal(cli_sse_feed(&p, line, 50, &err), 0);
    assert_int_equal(cli_sse_feed(&p, line, 50, &err), PC_ELIMIT);
    assert_non_null(strstr(err.msg, "line longer than 64 bytes"));
    assert_int_equal(s.n, 0);
    cli_sse_cleanup(&p);
}

static void data_over_the_limit_is_an_error(void **state)
{
    struct seen s = {0};
    struct cli_sse p;
    struct pc_err err;

    (void)state;
    cli_sse_init(&p, 1024, 16, record, &s);
    pc_err_clear(&err);
    assert_int_equal(cli_sse_feed(&p, "data: 0123456\ndata: 0123456\n", 28, &err), 0);
    assert_int_equal(cli_sse_feed(&p, "data: 0123456\n", 14, &err), PC_ELIMIT);
    assert_non_null(strstr(err.msg, "data exceeds 16 bytes"));
    assert_int_equal(s.n, 0);
    cli_sse_cleanup(&p);
}

static void an_overlong_id_or_type_is_an_error(void **state)
{
    char line[CLI_SSE_ID_MAX + 16];
    struct cli_sse p;
    struct pc_err err;
    int n;

    (void)state;
    cli_sse_init(&p, 1024, 1024, NULL, NULL);
    n = snprintf(line, sizeof(line), "id: %0*d\n", CLI_SSE_ID_MAX + 1, 7);
    pc_err_clear(&err);
    assert_int_equal(cli_sse_feed(&p, line, (size_t)n, &err), PC_ELIMIT);
    assert_non_null(strstr(err.msg, "event id"));
    assert_string_equal(cli_sse_last_id(&p), "");
    n = snprintf(line, sizeof(line), "event: %0*d\n", CLI_SSE_TYPE_MAX + 1, 7);
    pc_err_clear(&err);
    assert_int_equal(cli_sse_feed(&p, line, (size_t)n, &err), PC_ELIMIT);
    assert_non_null(strstr(err.msg, "event type"));
    /* Exactly at the limit is fine. */
    n = snprintf(line, sizeof(line), "id: %0*d\n", CLI_SSE_ID_MAX, 7);
    assert_int_equal(cli_sse_feed(&p, line, (size_t)n, NULL), 0);
    assert_int_equal(strlen(cli_sse_last_id(&p)), CLI_SSE_ID_MAX);
    cli_sse_cleanup(&p);
}

static void a_callback_that_says_stop_stops_the_parser_at_once(void **state)
{
    struct seen s = {0};
    struct cli_sse p;

    (void)state;
    s.stop_after = 1;
    cli_sse_init(&p, 1024, 1024, record, &s);
    assert_int_equal(feed(&p, "data: first\n\ndata: second\n\n"), 1);
    assert_int_equal(s.n, 1);
    assert_string_equal(s.data[0], "first");
    cli_sse_cleanup(&p);
}

static void an_unfinished_event_at_the_end_is_not_dispatched(void **state)
{
    struct seen s = {0};
    struct cli_sse p;

    (void)state;
    cli_sse_init(&p, 1024, 1024, record, &s);
    assert_int_equal(feed(&p, "data: complete\n\ndata: cut short\n"), 0);
    assert_int_equal(s.n, 1);
    cli_sse_cleanup(&p); /* frees the partial event: nothing leaks */
    cli_sse_cleanup(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(an_event_carries_its_id_type_and_data),
        cmocka_unit_test(the_same_events_come_whatever_the_read_boundaries),
        cmocka_unit_test(a_crlf_split_between_reads_is_one_line_end),
        cmocka_unit_test(comments_and_unknown_fields_are_ignored),
        cmocka_unit_test(data_lines_join_with_lf_and_only_one_space_is_dropped),
        cmocka_unit_test(an_event_without_data_is_dropped_and_its_type_forgotten),
        cmocka_unit_test(the_last_id_stays_across_events_and_reconnects),
        cmocka_unit_test(data_may_hold_nul_bytes),
        cmocka_unit_test(retry_is_remembered_when_it_is_a_number),
        cmocka_unit_test(a_line_over_the_limit_is_an_error),
        cmocka_unit_test(data_over_the_limit_is_an_error),
        cmocka_unit_test(an_overlong_id_or_type_is_an_error),
        cmocka_unit_test(a_callback_that_says_stop_stops_the_parser_at_once),
        cmocka_unit_test(an_unfinished_event_at_the_end_is_not_dispatched),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
