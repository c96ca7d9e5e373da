/*
 * test_exec_view.c - the one layout both transports of the CLI print
 * through (exec_view.h), fed by a fake transport whose records are lists of
 * field/value strings: status shows the contract fields in their order and
 * nothing else, progress values are cut and empty ones left out, list
 * writes its table and JSON, states say when none are stored, interrupt
 * results read as documented, and user-typed ids are checked.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "exec_view.h"

/* ------------------------------------------------------------------------ */
/* A fake transport: records are NULL-terminated field/value string lists.   */

static const char *fake_get(const struct cli_record *rec, const char *field)
{
    const char *const *kv = rec->src;

    for (; kv[0] != NULL; kv += 2) {
        if (strcmp(kv[0], field) == 0) {
            return kv[1];
        }
    }
    return NULL;
}

static size_t fake_text(const struct cli_record *rec, const char *field, char *out, size_t out_size)
{
    const char *v = fake_get(rec, field);

    (void)snprintf(out, out_size, "%s", v != NULL ? v : "");
    return v != NULL ? strlen(v) : 0;
}

static int fake_json_member(const struct cli_record *rec, const char *field, struct pc_buf *b,
                            bool *first)
{
    const char *v = fake_get(rec, field);
    int rc;

    if (v == NULL) {
        return 0;
    }
    rc = *first ? 0 : pc_buf_puts(b, ",");
    *first = false;
    rc = rc == 0 ? pc_buf_append_json_str(b, field, strlen(field)) : rc;
    rc = rc == 0 ? pc_buf_puts(b, ":") : rc;
    return rc == 0 ? pc_buf_append_json_str(b, v, strlen(v)) : rc;
}

static int fake_json_value(const struct cli_record *rec, struct pc_buf *b, struct pc_err *err)
{
    const char *const *kv = rec->src;
    bool first = true;
    int rc = pc_buf_puts(b, "{");

    (void)err;
    for (; rc == 0 && kv[0] != NULL; kv += 2) {
        rc = fake_json_member(rec, kv[0], b, &first);
    }
    return rc == 0 ? pc_buf_puts(b, "}") : rc;
}

static const struct cli_record_ops fake_ops = {fake_text, fake_json_member, fake_json_value};

/* A named record (an item, a state): its name and its fields. */
struct fake_named {
    const char *name;
    const char *const *kv;
};

/* Items: an array of fake_named ending with a NULL name. */
static bool fake_items_next(const struct cli_records *s, struct cli_cursor *at,
                            struct cli_record *rec)
{
    const struct fake_named *items = s->src;

    if (items[at->index].name == NULL) {
        return false;
    }
    *rec = (struct cli_record){&fake_ops, items[at->index].kv, items[at->index].name,
                               strlen(items[at->index].name)};
    at->index++;
    return true;
}

/* Rows: an array of field/value lists ending with NULL. */
static bool fake_rows_next(const struct cli_records *s, struct cli_cursor *at,
                           struct cli_record *rec)
{
    const char *const *const *rows = s->src;

    if (rows[at->index] == NULL) {
        return false;
    }
    *rec = (struct cli_record){&fake_ops, rows[at->index], NULL, 0};
    at->index++;
    return true;
}

/* States: the JSON text of each state is kv[0]. */
static int fake_state_json(const struct cli_record *rec, struct pc_buf *b, struct pc_err *err)
{
    const char *const *kv = rec->src;

    (void)err;
    return pc_buf_puts(b, kv[0]);
}

static const struct cli_record_ops fake_state_ops = {NULL, NULL, fake_state_json};

static bool fake_states_next(const struct cli_records *s, struct cli_cursor *at,
                             struct cli_record *rec)
{
    const struct fake_named *states = s->src;

    if (states[at->index].name == NULL) {
        return false;
    }
    *rec = (struct cli_record){&fake_state_ops, states[at->index].kv, states[at->index].name,
                               strlen(states[at->index].name)};
    at->index++;
    return true;
}

/* ------------------------------------------------------------------------ */
/* stdout captured into a file                                               */

struct capture {
    FILE *file;
    int saved_fd;
    char text[16384];
};

static void capture_begin(struct capture *c)
{
    (void)fflush(stdout);
    c->file = tmpfile();
    assert_non_null(c->file);
    c->saved_fd = dup(STDOUT_FILENO);
    assert_true(c->saved_fd >= 0);
    assert_true(dup2(fileno(c->file), STDOUT_FILENO) >= 0);
}

static const char *capture_end(struct capture *c)
{
    size_t n;

    (void)fflush(stdout);
    assert_true(dup2(c->saved_fd, STDOUT_FILENO) >= 0);
    (void)close(c->saved_fd);
    rewind(c->file);
    n = fread(c->text, 1, sizeof(c->text) - 1, c->file);
    c->text[n] = '\0';
    (void)fclose(c->file);
    return c->text;
}

/* ------------------------------------------------------------------------ */
/* status                                                                    */

static const char *const meta_kv[] = {
    "status",      "running", "id",    "01HZZZZZZZZZZZZZZZZZZZZZH1",
    "lease_epoch", "3",       "cmd",   "ensure",
    "app",         "demo",    "error", "",
    "items_done",  "1",       NULL,
};
static const char *const item_a_kv[] = {"done", "3", "status", "success", "msg", "", NULL};
static char long_msg[251];
static const char *const item_b_kv[] = {"status", "running", "msg", long_msg, NULL};
static const struct fake_named items[] = {{"a", item_a_kv}, {"b", item_b_kv}, {NULL, NULL}};

static void status_text_shows_present_contract_fields_in_contract_order(void **state)
{
    struct cli_record meta = {&fake_ops, meta_kv, NULL, 0};
    struct cli_records item_records = {items, fake_items_next};
    char expected[1024];
    struct capture cap;
    int status;

    (void)state;
    memset(long_msg, 'x', sizeof(long_msg) - 1);
    (void)snprintf(expected, sizeof(expected),
                   "execution 01HZZZZZZZZZZZZZZZZZZZZZH1\n"
                   "  cmd: ensure\n"
                   "  app: demo\n"
                   "  status: running\n"
                   "  items_done: 1\n"
                   "progress:\n"
                   "  a: status=success done=3\n"
                   "  b: status=running msg=%.200s\n",
                   long_msg);
    capture_begin(&cap);
    status =
        cli_print_status("01HZZZZZZZZZZZZZZZZZZZZZH1", &meta, &item_records, true, NULL, false);
    assert_string_equal(capture_end(&cap), expected);
    assert_int_equal(status, 0);
}

static void status_text_without_progress_has_no_progress_heading(void **state)
{
    struct cli_record meta = {&fake_ops, meta_kv, NULL, 0};
    struct cli_records item_records = {items, fake_items_next};
    struct capture cap;

    (void)state;
    capture_begin(&cap);
    assert_int_equal(cli_print_status("X", &meta, &item_records, false, NULL, false), 0);
    assert_null(strstr(capture_end(&cap), "progress:"));
}

static void status_json_is_one_document_with_meta_progress_and_report(void **state)
{
    static const char *const item_kv[] = {"status", "success", "done", "3", NULL};
    static const struct fake_named one_item[] = {{"a", item_kv}, {NULL, NULL}};
    static const char *const small_meta[] = {"id", "X", "status", "finished", NULL};
    struct cli_record meta = {&fake_ops, small_meta, NULL, 0};
    struct cli_records item_records = {one_item, fake_items_next};
    struct pc_outcome outcome;
    struct pc_buf report;
    char expected[1024];
    struct capture cap;

    (void)state;
    pc_outcome_init(&outcome);
    outcome.kind = PC_OUTCOME_COMPLETE;
    pc_buf_init(&report, 4096);
    assert_int_equal(pc_outcome_format_json(&outcome, &report), 0);
    (void)snprintf(expected, sizeof(expected),
                   "{\"meta\":{\"id\":\"X\",\"status\":\"finished\"},"
                   "\"progress\":{\"a\":{\"status\":\"success\",\"done\":\"3\"}},"
                   "\"report\":%s}\n",
                   pc_buf_str(&report));
    capture_begin(&cap);
    assert_int_equal(cli_print_status("X", &meta, &item_records, true, &outcome, true), 0);
    assert_string_equal(capture_end(&cap), expected);
    pc_buf_cleanup(&report);
    pc_outcome_cleanup(&outcome);
}

static void status_json_of_an_unfinished_execution_has_a_null_report(void **state)
{
    static const char *const small_meta[] = {"id", "X", NULL};
    static const struct fake_named no_items[] = {{NULL, NULL}};
    struct cli_record meta = {&fake_ops, small_meta, NULL, 0};
    struct cli_records item_records = {no_items, fake_items_next};
    struct capture cap;

    (void)state;
    capture_begin(&cap);
    assert_int_equal(cli_print_status("X", &meta, &item_records, false, NULL, true), 0);
    assert_string_equal(capture_end(&cap),
                        "{\"meta\":{\"id\":\"X\"},\"progress\":{},\"report\":null}\n");
}

/* ------------------------------------------------------------------------ */
/* list                                                                      */

static const char *const row_done[] = {
    "id",         "01HZZZZZZZZZZZZZZZZZZZZZH1",
    "cmd",        "discover",
    "app",        "demo",
    "profile",    "local",
    "flow",       "deploy",
    "status",     "finished",
    "outcome",    "complete",
    "created_ms", "1700000000000",
    "attempt",    "1",
    NULL,
};
static const char *const row_queued[] = {
    "id",         "01HZZZZZZZZZZZZZZZZZZZZZH2",
    "cmd",        "ensure",
    "app",        "demo",
    "profile",    "local",
    "flow",       "deploy",
    "status",     "queued",
    "created_ms", "not a time",
    NULL,
};

static void list_table_has_a_header_a_dash_for_no_outcome_and_local_times(void **state)
{
    static const char *const *const rows[] = {row_done, row_queued, NULL};
    struct cli_records row_records = {rows, fake_rows_next};
    struct capture cap;

    (void)state;
    assert_int_equal(setenv("TZ", "UTC", 1), 0);
    tzset();
    capture_begin(&cap);
    assert_int_equal(cli_print_list(&row_records, false), 0);
    assert_string_equal(
        capture_end(&cap),
        "ID                          CMD               APP/PROFILE/FLOW                      "
        "STATUS "
        "   OUTCOME                CREATED\n"
        "01HZZZZZZZZZZZZZZZZZZZZZH1  discover          demo/local/deploy                     "
        "finished  complete               2023-11-14 22:13:20\n"
        "01HZZZZZZZZZZZZZZZZZZZZZH2  ensure            demo/local/deploy                     "
        "queued    -                      \n");
}

static void list_json_is_an_array_of_the_list_fields_present(void **state)
{
    static const char *const *const rows[] = {row_done, row_queued, NULL};
    static const char *const *const none[] = {NULL};
    struct cli_records row_records = {rows, fake_rows_next};
    struct cli_records no_rows = {none, fake_rows_next};
    struct capture cap;

    (void)state;
    capture_begin(&cap);
    assert_int_equal(cli_print_list(&row_records, true), 0);
    assert_string_equal(
        capture_end(&cap),
        "[{\"id\":\"01HZZZZZZZZZZZZZZZZZZZZZH1\",\"cmd\":\"discover\",\"app\":\"demo\","
        "\"profile\":\"local\",\"flow\":\"deploy\",\"status\":\"finished\","
        "\"outcome\":\"complete\",\"created_ms\":\"1700000000000\",\"attempt\":\"1\"},"
        "{\"id\":\"01HZZZZZZZZZZZZZZZZZZZZZH2\",\"cmd\":\"ensure\",\"app\":\"demo\","
        "\"profile\":\"local\",\"flow\":\"deploy\",\"status\":\"queued\","
        "\"created_ms\":\"not a time\"}]\n");
    capture_begin(&cap);
    assert_int_equal(cli_print_list(&no_rows, true), 0);
    assert_string_equal(capture_end(&cap), "[]\n");
}

/* ------------------------------------------------------------------------ */
/* states, interrupt, ids                                                    */

static void states_text_says_none_stored_or_lists_each_state(void **state)
{
    static const char *const a_state[] = {"{\"x\":1}", NULL};
    static const char *const long_state[] = {"2", NULL};
    static const struct fake_named none[] = {{NULL, NULL}};
    static const struct fake_named two[] = {
        {"a", a_state},
        {"a_name_longer_than_sixty_four_bytes_is_cut_when_shown_0123456789abcdef", long_state},
        {NULL, NULL}};
    struct cli_records no_states = {none, fake_states_next};
    struct cli_records two_states = {two, fake_states_next};
    struct pc_buf b;
    struct pc_err err;

    (void)state;
    pc_err_clear(&err);
    pc_buf_init(&b, 4096);
    assert_int_equal(cli_states_text(&b, "stored current states", &no_states, &err), 0);
    assert_int_equal(cli_states_text(&b, "goal states", &two_states, &err), 0);
    assert_string_equal(pc_buf_str(&b),
                        "stored current states: (none stored)\n"
                        "goal states:\n"
                        "  a: {\"x\":1}\n"
                        "  a_name_longer_than_sixty_four_bytes_is_cut_when_shown_0123456789: 2\n");
    pc_buf_cleanup(&b);
}

static void states_text_past_the_buffer_limit_is_an_error(void **state)
{
    static const char *const a_state[] = {"{\"x\":1}", NULL};
    static const struct fake_named one[] = {{"a", a_state}, {NULL, NULL}};
    struct cli_records states = {one, fake_states_next};
    struct pc_buf b;
    struct pc_err err;

    (void)state;
    pc_err_clear(&err);
    pc_buf_init(&b, 16);
    assert_int_not_equal(cli_states_text(&b, "stored goal states", &states, &err), 0);
    assert_string_not_equal(err.msg, "");
    pc_buf_cleanup(&b);
}

static void interrupt_results_read_as_documented(void **state)
{
    struct capture cap;

    (void)state;
    capture_begin(&cap);
    cli_print_interrupt("X", CLI_INTERRUPT_RECORDED, false);
    cli_print_interrupt("X", CLI_INTERRUPT_ALREADY, false);
    cli_print_interrupt("X", CLI_INTERRUPT_FINISHED, false);
    cli_print_interrupt("X", CLI_INTERRUPT_RECORDED, true);
    cli_print_interrupt("X", CLI_INTERRUPT_ALREADY, true);
    cli_print_interrupt("X", CLI_INTERRUPT_FINISHED, true);
    assert_string_equal(capture_end(&cap),
                        "execution X: interrupt requested\n"
                        "execution X: an interrupt was already requested (published again)\n"
                        "execution X has already finished: no effect\n"
                        "{\"id\":\"X\",\"result\":\"requested\"}\n"
                        "{\"id\":\"X\",\"result\":\"already_requested\"}\n"
                        "{\"id\":\"X\",\"result\":\"already_finished\"}\n");
}

static void exec_id_check_takes_1_to_64_of_letters_digits_and_dashes(void **state)
{
    char longest[CLI_EXEC_ID_MAX + 2];
    struct pc_err err;

    (void)state;
    memset(longest, 'a', sizeof(longest));
    longest[CLI_EXEC_ID_MAX] = '\0';
    assert_int_equal(cli_exec_id_check("01HZZZZZZZZZZZZZZZZZZZZZH1", NULL), 0);
    assert_int_equal(cli_exec_id_check("0b4b1c2e-5a6f-4b8e-9c1d-2e3f4a5b6c7d", NULL), 0);
    assert_int_equal(cli_exec_id_check(longest, NULL), 0);
    longest[CLI_EXEC_ID_MAX] = 'a';
    longest[CLI_EXEC_ID_MAX + 1] = '\0';
    pc_err_clear(&err);
    assert_int_equal(cli_exec_id_check(longest, &err), PC_EINVAL);
    assert_non_null(strstr(err.msg, "1..64"));
    assert_int_equal(cli_exec_id_check("", NULL), PC_EINVAL);
    assert_int_equal(cli_exec_id_check(NULL, NULL), PC_EINVAL);
    pc_err_clear(&err);
    assert_int_equal(cli_exec_id_check("abc/def", &err), PC_EINVAL);
    assert_non_null(strstr(err.msg, "at 3"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(status_text_shows_present_contract_fields_in_contract_order),
        cmocka_unit_test(status_text_without_progress_has_no_progress_heading),
        cmocka_unit_test(status_json_is_one_document_with_meta_progress_and_report),
        cmocka_unit_test(status_json_of_an_unfinished_execution_has_a_null_report),
        cmocka_unit_test(list_table_has_a_header_a_dash_for_no_outcome_and_local_times),
        cmocka_unit_test(list_json_is_an_array_of_the_list_fields_present),
        cmocka_unit_test(states_text_says_none_stored_or_lists_each_state),
        cmocka_unit_test(states_text_past_the_buffer_limit_is_an_error),
        cmocka_unit_test(interrupt_results_read_as_documented),
        cmocka_unit_test(exec_id_check_takes_1_to_64_of_letters_digits_and_dashes),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
