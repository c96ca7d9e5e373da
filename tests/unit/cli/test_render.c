/*
 * test_render.c - the CLI's terminal manners: what cli_term_decide makes of
 * the environment, cli_term_fit's cutting, and bars that fit the width.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "peace/flow.h"
#include "render.h"
#include "term.h"

static void term_decides_from_the_environment(void **state)
{
    struct cli_term t;

    (void)state;
    cli_term_decide(true, "xterm-256color", NULL, NULL, NULL, "C.UTF-8", 80, NULL, &t);
    assert_true(t.live && t.color && t.utf8);
    assert_int_equal(t.width, 80);
    /* TERM=dumb, TERM unset, no TTY: line mode, and then no colour. */
    cli_term_decide(true, "dumb", NULL, NULL, NULL, "C.UTF-8", 80, NULL, &t);
    assert_false(t.live || t.color);
    cli_term_decide(true, NULL, NULL, NULL, NULL, "C.UTF-8", 80, NULL, &t);
    assert_false(t.live);
    cli_term_decide(false, "xterm", NULL, NULL, NULL, "C.UTF-8", 0, NULL, &t);
    assert_false(t.live || t.color);
    /* NO_COLOR set and not empty: no colour; empty: as unset. */
    cli_term_decide(true, "xterm", "1", NULL, NULL, NULL, 80, NULL, &t);
    assert_true(t.live);
    assert_false(t.color);
    cli_term_decide(true, "xterm", "", NULL, NULL, NULL, 80, NULL, &t);
    assert_true(t.color);
    /* The locale: LC_ALL over LC_CTYPE over LANG; only UTF-8 shows emoji. */
    cli_term_decide(true, "xterm", NULL, "C", NULL, "en_US.UTF-8", 80, NULL, &t);
    assert_false(t.utf8);
    cli_term_decide(true, "xterm", NULL, "", "de_DE.utf8", "C", 80, NULL, &t);
    assert_true(t.utf8);
    cli_term_decide(true, "xterm", NULL, NULL, NULL, "POSIX", 80, NULL, &t);
    assert_false(t.utf8);
    cli_term_decide(true, "xterm", NULL, NULL, NULL, NULL, 80, NULL, &t);
    assert_false(t.utf8);
    /* Width: the terminal's, else COLUMNS, else 80; clamped. */
    cli_term_decide(true, "xterm", NULL, NULL, NULL, NULL, 0, "132", &t);
    assert_int_equal(t.width, 132);
    cli_term_decide(true, "xterm", NULL, NULL, NULL, NULL, 0, "12abc", &t);
    assert_int_equal(t.width, CLI_TERM_WIDTH_DEFAULT);
    cli_term_decide(true, "xterm", NULL, NULL, NULL, NULL, 5, NULL, &t);
    assert_int_equal(t.width, CLI_TERM_WIDTH_MIN);
    cli_term_decide(true, "xterm", NULL, NULL, NULL, NULL, 0, "99999999999999999999", &t);
    assert_int_equal(t.width, CLI_TERM_WIDTH_DEFAULT);
}

static void fit_cuts_with_an_ellipsis_and_cleans_control_characters(void **state)
{
    char out[64];

    (void)state;
    assert_int_equal(cli_term_fit(out, sizeof(out), "hello", 10, true), 5);
    assert_string_equal(out, "hello");
    assert_int_equal(cli_term_fit(out, sizeof(out), "hello world", 8, true), 8);
    assert_string_equal(out, "hello w\u2026");
    assert_int_equal(cli_term_fit(out, sizeof(out), "hello world", 8, false), 8);
    assert_string_equal(out, "hello...");
    /* Exactly the width: no ellipsis. */
    assert_int_equal(cli_term_fit(out, sizeof(out), "12345678", 8, true), 8);
    assert_string_equal(out, "12345678");
    /* Escape sequences and CR/LF from an item never reach the terminal. */
    (void)cli_term_fit(out, sizeof(out), "a\x1b[2Jb\r\nc", 20, true);
    assert_string_equal(out, "a?[2Jb??c");
    /* UTF-8: kept in a UTF-8 locale (one column each), '?' in ASCII. */
    assert_int_equal(cli_term_fit(out, sizeof(out), "sch\xc3\xb6n", 20, true), 5);
    assert_string_equal(out, "sch\xc3\xb6n");
    assert_int_equal(cli_term_fit(out, sizeof(out), "sch\xc3\xb6n", 20, false), 5);
    assert_string_equal(out, "sch?n");
    /* Wide characters count two; a cut never splits one. */
    assert_int_equal(
        cli_term_fit(out, sizeof(out), "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", 5, true), 5);
    assert_string_equal(out, "\xe6\x97\xa5\xe6\x9c\xac\xe2\x80\xa6");
    /* Invalid UTF-8 (a lone continuation byte, an overlong form, a truncated one). */
    (void)cli_term_fit(out, sizeof(out),
                       "a\x80"
                       "b\xc0\xaf"
                       "c\xe2\x82",
                       20, true);
    assert_string_equal(out, "a?b??c??");
    /* A small buffer: cut, still terminated. */
    assert_int_equal(cli_term_fit(out, 4, "abcdefgh", 100, false), 3);
    assert_string_equal(out, "abc");
    assert_int_equal(cli_term_fit(out, 0, "abc", 10, true), 0);
}

/* Columns of one line of output, escape sequences left out. */
static size_t line_cols(const char *p, size_t n)
{
    size_t cols = 0;

    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];

        if (c == 0x1b) {
            /* CSI: ESC [ params final */
            i += 2;
            while (i < n && !((unsigned char)p[i] >= 0x40 && (unsigned char)p[i] <= 0x7e)) {
                i++;
            }
            continue;
        }
        if ((c & 0xc0u) == 0x80u) {
            continue; /* continuation byte */
        }
        /* The status icons are emoji: two columns. */
        cols += c >= 0xf0 || (c == 0xe2 && i + 1 < n && (unsigned char)p[i + 1] >= 0x9a) ? 2 : 1;
    }
    return cols;
}

static const char six_items[] =
    "{\"app\":\"a\",\"profile\":\"p\",\"flow\":\"f\",\"items\":["
    "{\"id\":\"fetch\",\"type\":\"t\"},"
    "{\"id\":\"configure_app_servers\",\"type\":\"t\"},"
    "{\"id\":\"build\",\"type\":\"t\"},"
    "{\"id\":\"migrate_the_database\",\"type\":\"t\"},"
    "{\"id\":\"warm_caches\",\"type\":\"t\"},"
    "{\"id\":\"an_item_whose_id_is_long_enough_to_fill_half_of_the_line\",\"type\":\"t\"}]}";

/* Renders six items on a term of `width` columns; checks every line fits. */
static void render_fits(unsigned width, bool utf8, bool color)
{
    struct pc_flow flow;
    struct pc_err err;
    struct cli_term term = {.live = true, .color = color, .utf8 = utf8, .width = width};
    struct cli_render *r = NULL;
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    size_t lines = 0;

    assert_non_null(out);
    assert_int_equal(pc_flow_parse_json(six_items, sizeof(six_items) - 1, "test", &flow, &err), 0);
    assert_int_equal(cli_render_create(&flow, out, &term, 1000, &r), 0);
    cli_render_block(r, 4, 5, "apply_ensure", 1000);
    for (size_t i = 0; i < 6; i++) {
        struct pc_progress_tracker t;

        pc_progress_tracker_init(&t);
        t.status = i % 2 == 0 ? PC_PROGRESS_RUNNING : PC_PROGRESS_SUCCESS;
        t.limit.kind = PC_LIMIT_BYTES;
        t.limit.n = 123456789;
        t.done = 12345678;
        (void)snprintf(t.msg, sizeof(t.msg), "%s",
                       "a message much longer than any terminal line of eighty columns, with "
                       "sch\xc3\xb6n words and more words after them");
        cli_render_item(r, i, &t, 1500);
    }
    cli_render_note(r, "an interrupt was requested, and this note is also longer than the line",
                    1600);
    cli_render_finish(r, 2000);
    cli_render_destroy(r);
    pc_flow_cleanup(&flow);
    assert_int_equal(fclose(out), 0);
    for (char *p = text; *p != '\0';) {
        char *nl = strchr(p, '\n');
        size_t n = nl != NULL ? (size_t)(nl - p) : strlen(p);

        if (line_cols(p, n) > width - 1) {
            fail_msg("line of %zu columns on a %u-column terminal: %.*s", line_cols(p, n), width,
                     (int)n, p);
        }
        if (!utf8) {
            for (size_t i = 0; i < n; i++) {
                assert_true((unsigned char)p[i] < 0x80);
            }
        }
        if (!color) {
            assert_null(strstr(p, "\x1b[3"));
        }
        lines++;
        p += n + (nl != NULL ? 1 : 0);
    }
    /* Block line + six items, three times (first draw, note, final). */
    assert_true(lines >= 7);
    if (color && width >= 60) {
        assert_non_null(strstr(text, "\x1b[32msuccess"));
    }
    if (getenv("TEST_RENDER_SHOW") != NULL) {
        (void)fputs(text, stderr);
    }
    free(text);
}

static void bars_fit_the_terminal(void **state)
{
    (void)state;
    render_fits(80, true, true);
    render_fits(80, false, false);
    render_fits(60, true, false);
    render_fits(CLI_TERM_WIDTH_MIN, true, true);
    render_fits(CLI_TERM_WIDTH_MIN, false, false);
    render_fits(200, true, true);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(term_decides_from_the_environment),
        cmocka_unit_test(fit_cuts_with_an_ellipsis_and_cleans_control_characters),
        cmocka_unit_test(bars_fit_the_terminal),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
