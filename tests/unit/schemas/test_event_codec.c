/*
 * test_event_codec.c - progress events as stream field/value pairs: every
 * kind round trips in the contract's field names, and malformed entries are
 * clean errors.
 */
/* cmocka needs these four headers first, in this order. */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "peace/msg.h"

/* Parses NULL-terminated name, value, ... C strings. */
static int parse(struct msg_event *out, struct pc_err *err, ...)
{
    const char *fields[32];
    size_t lens[32];
    size_t n = 0;
    va_list ap;
    const char *s = NULL;

    va_start(ap, err);
    s = va_arg(ap, const char *);
    while (s != NULL && n < 32) {
        fields[n] = s;
        lens[n] = strlen(s);
        n++;
        s = va_arg(ap, const char *);
    }
    va_end(ap);
    pc_err_clear(err);
    return msg_event_from_fields(fields, lens, n, out, err);
}

static struct msg_event round_trip(const struct msg_event *ev, const char *const *names,
                                   size_t n_names)
{
    struct msg_event_fields f;
    struct msg_event back;

    assert_int_equal(msg_event_to_fields(ev, &f, NULL), 0);
    assert_int_equal(f.n, 2 * n_names);
    for (size_t i = 0; i < n_names; i++) {
        assert_int_equal(f.argvlen[2 * i], strlen(names[i]));
        assert_memory_equal(f.argv[2 * i], names[i], f.argvlen[2 * i]);
    }
    memset(&back, 0, sizeof(back));
    assert_int_equal(msg_event_from_fields(f.argv, f.argvlen, f.n, &back, NULL), 0);
    assert_int_equal(back.kind, ev->kind);
    return back;
}

static const char *value_of(const struct msg_event_fields *f, const char *name)
{
    for (size_t i = 0; i + 1 < f->n; i += 2) {
        if (f->argvlen[i] == strlen(name) && memcmp(f->argv[i], name, f->argvlen[i]) == 0) {
            return f->argv[i + 1];
        }
    }
    return NULL;
}

static void test_block_start_round_trips_with_contract_names(void **state)
{
    static const char *const names[] = {"kind", "block", "index"};
    struct msg_event ev;
    struct msg_event back;
    struct msg_event_fields f;

    (void)state;
    memset(&ev, 0, sizeof(ev));
    ev.kind = MSG_EVENT_BLOCK_START;
    ev.block = PC_BLOCK_APPLY_ENSURE;
    ev.block_index = 4;
    back = round_trip(&ev, names, 3);
    assert_int_equal(back.block, PC_BLOCK_APPLY_ENSURE);
    assert_int_equal(back.block_index, 4);
    assert_int_equal(msg_event_to_fields(&ev, &f, NULL), 0);
    assert_string_equal(value_of(&f, "kind"), "block_start");
    assert_string_equal(value_of(&f, "block"), pc_block_name(PC_BLOCK_APPLY_ENSURE));
    assert_string_equal(value_of(&f, "index"), "4");
}

static void test_progress_round_trips_every_field(void **state)
{
    static const char *const names[] = {"kind", "item", "status", "done", "limit", "msg"};
    struct msg_event ev;
    struct msg_event back;
    struct msg_event_fields f;

    (void)state;
    memset(&ev, 0, sizeof(ev));
    ev.kind = MSG_EVENT_PROGRESS;
    (void)snprintf(ev.item.s, sizeof(ev.item.s), "download_1");
    ev.status = PC_PROGRESS_RUNNING;
    ev.done = 123456789012u;
    ev.limit.kind = PC_LIMIT_BYTES;
    ev.limit.n = 999999999999u;
    (void)snprintf(ev.msg, sizeof(ev.msg), "fetching: 12%% done");
    back = round_trip(&ev, names, 6);
    assert_string_equal(back.item.s, "download_1");
    assert_int_equal(back.status, PC_PROGRESS_RUNNING);
    assert_int_equal(back.done, 123456789012u);
    assert_int_equal(back.limit.kind, PC_LIMIT_BYTES);
    assert_int_equal(back.limit.n, 999999999999u);
    assert_string_equal(back.msg, "fetching: 12% done");
    assert_int_equal(msg_event_to_fields(&ev, &f, NULL), 0);
    assert_string_equal(value_of(&f, "status"), "running");
    assert_string_equal(value_of(&f, "limit"), "bytes:999999999999");
    assert_string_equal(value_of(&f, "done"), "123456789012");
}

static void test_interrupt_and_outcome_round_trip(void **state)
{
    static const char *const interrupt_names[] = {"kind", "reason"};
    static const char *const outcome_names[] = {"kind", "outcome"};
    struct msg_event ev;
    struct msg_event back;

    (void)state;
    memset(&ev, 0, sizeof(ev));
    ev.kind = MSG_EVENT_INTERRUPT;
    (void)snprintf(ev.reason, sizeof(ev.reason), "user pressed ctrl-c");
    back = round_trip(&ev, interrupt_names, 2);
    assert_string_equal(back.reason, "user pressed ctrl-c");
    memset(&ev, 0, sizeof(ev));
    ev.kind = MSG_EVENT_OUTCOME;
    ev.outcome = PC_OUTCOME_BLOCK_INTERRUPTED;
    back = round_trip(&ev, outcome_names, 2);
    assert_int_equal(back.outcome, PC_OUTCOME_BLOCK_INTERRUPTED);
}

/* The items an interrupt stopped: listed in its event, read back in order
 * by the iterator, borrowed from the fields. */
static void test_interrupt_items_round_trip(void **state)
{
    static const char *const names[] = {"kind", "reason", "items"};
    static const char list[] = "i3,i4,b_5";
    static const char *const want[] = {"i3", "i4", "b_5"};
    struct msg_event ev;
    struct msg_event back;
    struct msg_event_fields f;
    const char *id = NULL;
    size_t id_len = 0;
    size_t pos = 0;
    size_t n = 0;

    (void)state;
    memset(&ev, 0, sizeof(ev));
    ev.kind = MSG_EVENT_INTERRUPT;
    (void)snprintf(ev.reason, sizeof(ev.reason), "stop");
    ev.items = list;
    ev.items_len = sizeof(list) - 1;
    back = round_trip(&ev, names, 3);
    assert_string_equal(back.reason, "stop");
    assert_int_equal(back.items_len, sizeof(list) - 1);
    assert_memory_equal(back.items, list, back.items_len);
    while (msg_event_items_next(&back, &pos, &id, &id_len)) {
        assert_true(n < 3);
        assert_int_equal(id_len, strlen(want[n]));
        assert_memory_equal(id, want[n], id_len);
        n++;
    }
    assert_int_equal(n, 3);
    /* No items: no field, and the iterator yields nothing. */
    ev.items = NULL;
    ev.items_len = 0;
    assert_int_equal(msg_event_to_fields(&ev, &f, NULL), 0);
    assert_int_equal(f.n, 4);
    pos = 0;
    assert_false(msg_event_items_next(&ev, &pos, &id, &id_len));
    /* One item. */
    ev.items = "only";
    ev.items_len = 4;
    back = round_trip(&ev, names, 3);
    pos = 0;
    assert_true(msg_event_items_next(&back, &pos, &id, &id_len));
    assert_int_equal(id_len, 4);
    assert_memory_equal(id, "only", 4);
    assert_false(msg_event_items_next(&back, &pos, &id, &id_len));
    /* An empty items field reads as none (an older writer never sends it). */
    assert_int_equal(parse(&back, NULL, "kind", "interrupt", "items", "", NULL), 0);
    assert_int_equal(back.items_len, 0);
    /* items is the interrupt's: other kinds ignore it. */
    assert_int_equal(
        parse(&back, NULL, "kind", "outcome", "outcome", "complete", "items", "x,y", NULL), 0);
    pos = 0;
    assert_false(msg_event_items_next(&back, &pos, &id, &id_len));
}

static void test_interrupt_items_are_checked(void **state)
{
    static const char *const bad[] = {",a", "a,", "a,,b", "a b", "1a", "a,b-c", "a\nb", ","};
    struct msg_event ev;
    struct msg_event_fields f;
    struct pc_err err;
    char *big = malloc(MSG_EVENT_ITEMS_MAX + 2);
    size_t n = 0;

    (void)state;
    assert_non_null(big);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(parse(&ev, &err, "kind", "interrupt", "items", bad[i], NULL), PC_ESCHEMA);
        assert_non_null(strstr(err.msg, "items"));
        /* ... and a writer refuses to send them. */
        memset(&ev, 0, sizeof(ev));
        ev.kind = MSG_EVENT_INTERRUPT;
        ev.items = bad[i];
        ev.items_len = strlen(bad[i]);
        assert_int_equal(msg_event_to_fields(&ev, &f, NULL), PC_EINVAL);
    }
    /* The longest list passes; one byte more is over the limit. */
    while (n + 3 <= MSG_EVENT_ITEMS_MAX) {
        memcpy(big + n, n == 0 ? "ab" : ",a", 2);
        n += 2;
    }
    big[n] = '\0';
    assert_int_equal(parse(&ev, &err, "kind", "interrupt", "items", big, NULL), 0);
    while (n < MSG_EVENT_ITEMS_MAX + 1) {
        big[n++] = 'b';
    }
    big[n] = '\0';
    assert_int_equal(parse(&ev, &err, "kind", "interrupt", "items", big, NULL), PC_ELIMIT);
    free(big);
}

static void test_longest_values_pass(void **state)
{
    struct msg_event ev;
    struct msg_event back;
    struct msg_event_fields f;

    (void)state;
    memset(&ev, 0, sizeof(ev));
    ev.kind = MSG_EVENT_PROGRESS;
    memset(ev.item.s, 'i', PC_ID_MAX);
    ev.status = PC_PROGRESS_FAIL;
    ev.done = UINT64_MAX;
    ev.limit.kind = PC_LIMIT_STEPS;
    ev.limit.n = UINT64_MAX;
    memset(ev.msg, 'm', PC_PROGRESS_MSG_MAX);
    assert_int_equal(msg_event_to_fields(&ev, &f, NULL), 0);
    assert_int_equal(msg_event_from_fields(f.argv, f.argvlen, f.n, &back, NULL), 0);
    assert_int_equal(back.done, UINT64_MAX);
    assert_int_equal(back.limit.n, UINT64_MAX);
    assert_int_equal(strlen(back.msg), PC_PROGRESS_MSG_MAX);
    memset(&ev, 0, sizeof(ev));
    ev.kind = MSG_EVENT_INTERRUPT;
    memset(ev.reason, 'r', MSG_EVENT_REASON_MAX);
    assert_int_equal(msg_event_to_fields(&ev, &f, NULL), 0);
    assert_int_equal(msg_event_from_fields(f.argv, f.argvlen, f.n, &back, NULL), 0);
    assert_int_equal(strlen(back.reason), MSG_EVENT_REASON_MAX);
}

static void test_to_fields_refuses_values_out_of_range(void **state)
{
    struct msg_event ev;
    struct msg_event_fields f;

    (void)state;
    memset(&ev, 0, sizeof(ev));
    ev.kind = (enum msg_event_kind)9;
    assert_int_equal(msg_event_to_fields(&ev, &f, NULL), PC_EINVAL);
    ev.kind = MSG_EVENT_BLOCK_START;
    ev.block_index = PC_BLOCKS_MAX;
    assert_int_equal(msg_event_to_fields(&ev, &f, NULL), PC_EINVAL);
    ev.block_index = 0;
    ev.block = (enum pc_block_kind)PC_BLOCK_KIND_COUNT;
    assert_int_equal(msg_event_to_fields(&ev, &f, NULL), PC_EINVAL);
    ev.kind = MSG_EVENT_PROGRESS;
    assert_int_equal(msg_event_to_fields(&ev, &f, NULL), PC_EINVAL); /* empty item id */
    (void)snprintf(ev.item.s, sizeof(ev.item.s), "x");
    ev.status = (enum pc_progress_status)77;
    assert_int_equal(msg_event_to_fields(&ev, &f, NULL), PC_EINVAL);
    ev.status = PC_PROGRESS_QUEUED;
    memset(ev.msg, 'm', sizeof(ev.msg)); /* no terminating NUL */
    assert_int_equal(msg_event_to_fields(&ev, &f, NULL), PC_EINVAL);
    ev.msg[0] = '\0';
    assert_int_equal(msg_event_to_fields(&ev, &f, NULL), 0);
    ev.kind = MSG_EVENT_OUTCOME;
    ev.outcome = (enum pc_outcome_kind) - 1;
    assert_int_equal(msg_event_to_fields(&ev, &f, NULL), PC_EINVAL);
    assert_null(msg_event_kind_name((enum msg_event_kind)4));
    assert_string_equal(msg_event_kind_name(MSG_EVENT_PROGRESS), "progress");
}

static void test_unknown_fields_are_ignored_and_msg_is_optional(void **state)
{
    struct msg_event ev;
    struct pc_err err;

    (void)state;
    assert_int_equal(parse(&ev, &err, "ts", "123", "kind", "progress", "item", "a", "status",
                           "success", "done", "3", "limit", "steps:3", "future", "x", NULL),
                     0);
    assert_string_equal(ev.msg, "");
    assert_int_equal(ev.status, PC_PROGRESS_SUCCESS);
    assert_int_equal(parse(&ev, &err, "kind", "interrupt", NULL), 0);
    assert_string_equal(ev.reason, "");
}

struct bad_case {
    const char *fields[14];
    int rc;
    const char *needle;
};

static void test_malformed_entries_fail_with_a_clear_error(void **state)
{
    static const struct bad_case cases[] = {
        {{"kind", "explosion", NULL}, PC_ESCHEMA, "unknown kind"},
        {{"block", "diff", NULL}, PC_ESCHEMA, "missing field \"kind\""},
        {{"kind", "block_start", "block", "diff", NULL}, PC_ESCHEMA, "missing field \"index\""},
        {{"kind", "block_start", "block", "nap", "index", "0", NULL}, PC_ESCHEMA, "unknown block"},
        {{"kind", "block_start", "block", "diff", "index", "8", NULL}, PC_ESCHEMA, "index"},
        {{"kind", "block_start", "block", "diff", "index", "-1", NULL}, PC_ESCHEMA, "index"},
        {{"kind", "block_start", "block", "diff", "index", "", NULL}, PC_ESCHEMA, "index"},
        {{"kind", "block_start", "block", "diff", "index", " 1", NULL}, PC_ESCHEMA, "index"},
        {{"kind", "progress", "item", "a", "status", "running", "done", "18446744073709551616",
          "limit", "unknown", NULL},
         PC_ESCHEMA,
         "done"},
        {{"kind", "progress", "item", "a", "status", "running", "done", "1x", "limit", "unknown",
          NULL},
         PC_ESCHEMA,
         "done"},
        {{"kind", "progress", "item", "a", "status", "sleeping", "done", "1", "limit", "unknown",
          NULL},
         PC_ESCHEMA,
         "unknown status"},
        {{"kind", "progress", "item", "a b", "status", "running", "done", "1", "limit", "unknown",
          NULL},
         PC_EINVAL,
         "item"},
        {{"kind", "progress", "item", "a", "status", "running", "done", "1", "limit", "lots", NULL},
         PC_ESCHEMA,
         "limit"},
        {{"kind", "progress", "item", "a", "status", "running", "done", "1", NULL},
         PC_ESCHEMA,
         "missing field \"limit\""},
        {{"kind", "outcome", "outcome", "great", NULL}, PC_ESCHEMA, "unknown outcome"},
        {{"kind", "outcome", NULL}, PC_ESCHEMA, "missing field \"outcome\""},
        {{"kind", "outcome", "kind", "outcome", "outcome", "complete", NULL},
         PC_ESCHEMA,
         "repeated"},
        {{"kind", "outcome", "outcome", NULL}, PC_ESCHEMA, "strings"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct bad_case *c = &cases[i];
        size_t lens[14];
        size_t n = 0;
        struct msg_event out;
        struct msg_event sentinel;
        struct pc_err err;
        int rc;

        while (c->fields[n] != NULL) {
            lens[n] = strlen(c->fields[n]);
            n++;
        }
        memset(&sentinel, 0x77, sizeof(sentinel));
        out = sentinel;
        pc_err_clear(&err);
        rc = msg_event_from_fields(c->fields, lens, n, &out, &err);
        if (rc != c->rc || strstr(err.msg, c->needle) == NULL) {
            fail_msg("case %zu: expected %d \"%s\", got %d \"%s\"", i, c->rc, c->needle, rc,
                     err.msg);
        }
        assert_memory_equal(&out, &sentinel, sizeof(out));
    }
}

static void test_over_long_values_and_nul_bytes_are_refused(void **state)
{
    char msg[PC_PROGRESS_MSG_MAX + 2];
    char reason[MSG_EVENT_REASON_MAX + 2];
    const char *fields[12] = {"kind", "progress", "item",  "a",       "status", "running",
                              "done", "1",        "limit", "unknown", "msg",    msg};
    size_t lens[12];
    struct msg_event out;
    struct pc_err err;

    (void)state;
    memset(msg, 'm', sizeof(msg) - 1);
    msg[sizeof(msg) - 1] = '\0';
    for (size_t i = 0; i < 12; i++) {
        lens[i] = strlen(fields[i]);
    }
    assert_int_equal(msg_event_from_fields(fields, lens, 12, &out, &err), PC_ELIMIT);
    assert_non_null(strstr(err.msg, "msg"));
    lens[11] = 3;
    msg[1] = '\0';
    assert_int_equal(msg_event_from_fields(fields, lens, 12, &out, &err), PC_ESCHEMA);
    assert_non_null(strstr(err.msg, "NUL"));

    memset(reason, 'r', sizeof(reason) - 1);
    reason[sizeof(reason) - 1] = '\0';
    assert_int_equal(parse(&out, &err, "kind", "interrupt", "reason", reason, NULL), PC_ELIMIT);
    reason[MSG_EVENT_REASON_MAX] = '\0';
    assert_int_equal(parse(&out, &err, "kind", "interrupt", "reason", reason, NULL), 0);
}

static void test_field_count_is_bounded(void **state)
{
    const char *fields[66];
    size_t lens[66];
    struct msg_event out;

    (void)state;
    for (size_t i = 0; i < 66; i++) {
        fields[i] = i % 2 == 0 ? "x" : "y";
        lens[i] = 1;
    }
    fields[0] = "kind";
    lens[0] = 4;
    fields[1] = "interrupt";
    lens[1] = 9;
    assert_int_equal(msg_event_from_fields(fields, lens, 64, &out, NULL), 0);
    assert_int_equal(msg_event_from_fields(fields, lens, 66, &out, NULL), PC_ELIMIT);
    assert_int_equal(msg_event_from_fields(NULL, NULL, 2, &out, NULL), PC_ESCHEMA);
    assert_int_equal(msg_event_from_fields(NULL, NULL, 0, &out, NULL), PC_ESCHEMA);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_block_start_round_trips_with_contract_names),
        cmocka_unit_test(test_progress_round_trips_every_field),
        cmocka_unit_test(test_interrupt_and_outcome_round_trip),
        cmocka_unit_test(test_interrupt_items_round_trip),
        cmocka_unit_test(test_interrupt_items_are_checked),
        cmocka_unit_test(test_longest_values_pass),
        cmocka_unit_test(test_to_fields_refuses_values_out_of_range),
        cmocka_unit_test(test_unknown_fields_are_ignored_and_msg_is_optional),
        cmocka_unit_test(test_malformed_entries_fail_with_a_clear_error),
        cmocka_unit_test(test_over_long_values_and_nul_bytes_are_refused),
        cmocka_unit_test(test_field_count_is_bounded),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
