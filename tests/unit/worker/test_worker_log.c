/*
 * test_worker_log.c - the worker's log lines: a UTC timestamp, the level, the
 * event and the fields, one line per event (CR and LF become spaces), cut at
 * the line limit, and nothing below the minimum level.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "worker/log.h"

/* The longest line wk_log writes, newline included. */
#define LINE_MAX_BYTES 2048

/* Length of "YYYY-MM-DDTHH:MM:SS.mmmZ". */
#define STAMP_LEN 24

struct capture {
    char *text;
    size_t len;
    FILE *out;
};

static void capture_open(struct capture *c)
{
    memset(c, 0, sizeof(*c));
    c->out = open_memstream(&c->text, &c->len);
    assert_non_null(c->out);
}

static void capture_close(struct capture *c)
{
    assert_int_equal(fclose(c->out), 0);
    c->out = NULL;
}

static void capture_free(struct capture *c)
{
    free(c->text);
}

static void assert_timestamp(const char *s)
{
    static const char shape[] = "dddd-dd-ddTdd:dd:dd.dddZ";

    for (size_t i = 0; i < STAMP_LEN; i++) {
        if (shape[i] == 'd') {
            assert_true(s[i] >= '0' && s[i] <= '9');
        } else {
            assert_int_equal(s[i], shape[i]);
        }
    }
}

/* Batched: the lines of a loop turn stay buffered until the turn ends,
 * then go out together, whole and in order; unbatch writes the rest. */
static void test_batched_lines_go_out_at_the_end_of_the_loop_turn(void **state)
{
    struct capture c;
    struct wk_log l = {0};
    struct event_base *base = event_base_new();

    (void)state;
    assert_non_null(base);
    capture_open(&c);
    l.min = WK_LOG_INFO;
    l.out = c.out;
    assert_int_equal(wk_log_batch(&l, base), 0);
    wk_log(&l, WK_LOG_INFO, "exec_run", "exec=%s", "01A");
    wk_log(&l, WK_LOG_INFO, "exec_finished", "exec=%s", "01A");
    assert_int_equal(c.len, 0); /* nothing written during the turn */
    assert_true(event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK) >= 0);
    assert_non_null(c.text);
    assert_non_null(strstr(c.text, "event=exec_run exec=01A\n"));
    assert_true(strstr(c.text, "event=exec_run") < strstr(c.text, "event=exec_finished"));
    assert_int_equal(c.text[c.len - 1], '\n');
    {
        size_t before = c.len;

        wk_log(&l, WK_LOG_WARN, "late", NULL);
        assert_int_equal(c.len, before);
        wk_log_unbatch(&l); /* no loop turn: written by unbatch */
        assert_true(c.len > before);
        assert_non_null(strstr(c.text, "event=late\n"));
    }
    assert_null(l.flush);
    wk_log(&l, WK_LOG_INFO, "after", NULL); /* unbatched: at once */
    assert_non_null(strstr(c.text, "event=after\n"));
    capture_close(&c);
    capture_free(&c);
    event_base_free(base);
}

static void test_a_line_has_timestamp_level_event_and_fields(void **state)
{
    struct capture c;
    struct wk_log l = {0};

    (void)state;
    capture_open(&c);
    l.min = WK_LOG_INFO;
    l.out = c.out;
    wk_log(&l, WK_LOG_INFO, "exec_run", "exec=%s attempt=%u", "01ABC", 2u);
    wk_log(&l, WK_LOG_ERROR, "worker_stopped", "consumer=%s", "c1");
    wk_log(&l, WK_LOG_WARN, "no_fields", NULL);
    capture_close(&c);

    assert_int_equal(c.len, 3 * STAMP_LEN +
                                strlen(" level=info event=exec_run exec=01ABC attempt=2\n") +
                                strlen(" level=error event=worker_stopped consumer=c1\n") +
                                strlen(" level=warn event=no_fields\n"));
    assert_timestamp(c.text);
    assert_memory_equal(c.text + STAMP_LEN, " level=info event=exec_run exec=01ABC attempt=2\n",
                        strlen(" level=info event=exec_run exec=01ABC attempt=2\n"));
    {
        const char *second = strchr(c.text, '\n') + 1;
        const char *third = strchr(second, '\n') + 1;

        assert_timestamp(second);
        assert_memory_equal(second + STAMP_LEN, " level=error event=worker_stopped consumer=c1\n",
                            strlen(" level=error event=worker_stopped consumer=c1\n"));
        assert_timestamp(third);
        assert_string_equal(third + STAMP_LEN, " level=warn event=no_fields\n");
    }
    capture_free(&c);
}

static void test_levels_below_the_minimum_write_nothing(void **state)
{
    struct capture c;
    struct wk_log l = {0};

    (void)state;
    capture_open(&c);
    l.min = WK_LOG_WARN;
    l.out = c.out;
    wk_log(&l, WK_LOG_DEBUG, "a", "x=1");
    wk_log(&l, WK_LOG_INFO, "b", "x=2");
    wk_log(NULL, WK_LOG_ERROR, "c", "x=3");
    capture_close(&c);
    assert_int_equal(c.len, 0);
    capture_free(&c);
}

static void test_cr_and_lf_in_fields_become_spaces(void **state)
{
    struct capture c;
    struct wk_log l = {0};

    (void)state;
    capture_open(&c);
    l.min = WK_LOG_DEBUG;
    l.out = c.out;
    wk_log(&l, WK_LOG_DEBUG, "ev", "err=\"%s\" end=%d", "line one\r\nline two\n", 1);
    capture_close(&c);
    assert_string_equal(c.text + STAMP_LEN,
                        " level=debug event=ev err=\"line one  line two \" end=1\n");
    capture_free(&c);
}

static void test_long_fields_are_cut_at_the_line_limit(void **state)
{
    struct capture c;
    struct wk_log l = {0};
    char *big = malloc(3 * LINE_MAX_BYTES);
    const char *head = " level=info event=big v=";

    (void)state;
    assert_non_null(big);
    memset(big, 'x', 3 * LINE_MAX_BYTES - 1);
    big[3 * LINE_MAX_BYTES - 1] = '\0';
    big[100] = '\n';
    big[LINE_MAX_BYTES] = '\r'; /* beyond the limit: cut, not replaced */
    capture_open(&c);
    l.min = WK_LOG_INFO;
    l.out = c.out;
    wk_log(&l, WK_LOG_INFO, "big", "v=%s", big);
    capture_close(&c);

    assert_int_equal(c.len, LINE_MAX_BYTES);
    assert_timestamp(c.text);
    assert_memory_equal(c.text + STAMP_LEN, head, strlen(head));
    for (size_t i = STAMP_LEN + strlen(head); i < LINE_MAX_BYTES - 1; i++) {
        assert_int_equal(c.text[i], i == STAMP_LEN + strlen(head) + 100 ? ' ' : 'x');
    }
    assert_int_equal(c.text[LINE_MAX_BYTES - 1], '\n');
    capture_free(&c);
    free(big);
}

static void test_a_long_event_name_is_cut_too(void **state)
{
    struct capture c;
    struct wk_log l = {0};
    char *event = malloc(2 * LINE_MAX_BYTES);

    (void)state;
    assert_non_null(event);
    memset(event, 'e', 2 * LINE_MAX_BYTES - 1);
    event[2 * LINE_MAX_BYTES - 1] = '\0';
    capture_open(&c);
    l.min = WK_LOG_INFO;
    l.out = c.out;
    wk_log(&l, WK_LOG_INFO, event, "dropped=%d", 1);
    capture_close(&c);

    assert_int_equal(c.len, LINE_MAX_BYTES);
    assert_memory_equal(c.text + STAMP_LEN, " level=info event=eee",
                        strlen(" level=info event=eee"));
    assert_int_equal(c.text[LINE_MAX_BYTES - 2], 'e');
    assert_int_equal(c.text[LINE_MAX_BYTES - 1], '\n');
    capture_free(&c);
    free(event);
}

static void test_quote_replaces_double_quotes_and_control_characters(void **state)
{
    char out[16];

    (void)state;
    assert_string_equal(wk_log_quote("say \"hi\"\tnow", out, sizeof(out)), "say 'hi' now");
    assert_string_equal(wk_log_quote("0123456789abcdefghij", out, sizeof(out)), "0123456789abcde");
    assert_string_equal(wk_log_quote(NULL, out, sizeof(out)), "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_line_has_timestamp_level_event_and_fields),
        cmocka_unit_test(test_batched_lines_go_out_at_the_end_of_the_loop_turn),
        cmocka_unit_test(test_levels_below_the_minimum_write_nothing),
        cmocka_unit_test(test_cr_and_lf_in_fields_become_spaces),
        cmocka_unit_test(test_long_fields_are_cut_at_the_line_limit),
        cmocka_unit_test(test_a_long_event_name_is_cut_too),
        cmocka_unit_test(test_quote_replaces_double_quotes_and_control_characters),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
