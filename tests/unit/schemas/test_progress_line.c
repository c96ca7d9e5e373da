/*
 * test_progress_line.c - the progress hash's layout-2 line (encode, parse)
 * and the view that reads layouts 1 and 2: round trips of hostile messages
 * (separators, escapes, control and non-UTF-8 bytes, the largest message),
 * lines with missing parts or malformed escapes, hashes of either layout
 * and of both.
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

#include "peace/progress_line.h"

static bool str_is(struct pc_progress_str s, const char *want)
{
    return s.s != NULL && s.n == strlen(want) && memcmp(s.s, want, s.n) == 0;
}

/* Encodes then parses msg (msg_len bytes); checks every part comes back. */
static void round_trip(const char *msg, size_t msg_len)
{
    char line[PC_PROGRESS_LINE_MAX];
    char back[PC_PROGRESS_MSG_MAX * 4 + 1];
    struct pc_progress_item it;
    int n = pc_progress_line_encode(line, sizeof(line), "running", "steps:10", 7, msg, msg_len);

    assert_true(n > 0);
    assert_int_equal(strlen(line), (size_t)n);
    for (int i = 0; i < n; i++) {
        unsigned char c = (unsigned char)line[i];

        assert_false(c < 0x20 || c == 0x7f); /* one printable line */
    }
    memset(&it, 0, sizeof(it));
    assert_int_equal(pc_progress_line_parse(line, (size_t)n, back, sizeof(back), &it), 0);
    assert_true(str_is(it.status, "running"));
    assert_true(str_is(it.limit, "steps:10"));
    assert_true(str_is(it.done, "7"));
    assert_non_null(it.msg.s);
    assert_int_equal(it.msg.n, msg_len);
    assert_memory_equal(it.msg.s, msg, msg_len);
}

static void test_encode_exact(void **state)
{
    char line[PC_PROGRESS_LINE_MAX];

    (void)state;
    assert_int_equal(
        pc_progress_line_encode(line, sizeof(line), "initialized", "unknown", 0, "", 0), 21);
    assert_string_equal(line, "initialized unknown 0");
    assert_true(pc_progress_line_encode(line, sizeof(line), "success", "bytes:18446744073709551615",
                                        UINT64_MAX, "a b\\c\nd\te\rf\x01\x7f", 13) > 0);
    assert_string_equal(line, "success bytes:18446744073709551615 18446744073709551615 "
                              "a b\\\\c\\nd\\te\\rf\\x01\\x7f");
}

static void test_round_trip_hostile(void **state)
{
    char big[PC_PROGRESS_MSG_MAX];
    char all[256];

    (void)state;
    round_trip("", sizeof("") - 1);
    round_trip("downloading 3 of 7 files: a b  c ",
               sizeof("downloading 3 of 7 files: a b  c ") - 1);
    round_trip("  leading and trailing spaces  ", sizeof("  leading and trailing spaces  ") - 1);
    round_trip("\\x41 is not an escape here \\", sizeof("\\x41 is not an escape here \\") - 1);
    round_trip("line1\nline2\r\n\ttab", sizeof("line1\nline2\r\n\ttab") - 1);
    round_trip("\xff\xfe not UTF-8 \xc3\x28 \xed\xa0\x80",
               sizeof("\xff\xfe not UTF-8 \xc3\x28 \xed\xa0\x80") - 1);
    round_trip("caf\xc3\xa9 \xe2\x9c\x93", sizeof("caf\xc3\xa9 \xe2\x9c\x93") - 1);
    for (size_t i = 0; i < sizeof(all); i++) {
        all[i] = (char)i; /* every byte, NUL included */
    }
    round_trip(all, sizeof(all));
    memset(big, '\n', sizeof(big)); /* the largest message, every byte escaped */
    round_trip(big, sizeof(big));
    memset(big, 1, sizeof(big));
    round_trip(big, sizeof(big));
}

static void test_encode_rejects(void **state)
{
    char line[PC_PROGRESS_LINE_MAX];
    char small[24];
    char big[PC_PROGRESS_MSG_MAX];

    (void)state;
    assert_int_equal(pc_progress_line_encode(line, sizeof(line), "", "unknown", 0, "", 0),
                     PC_EINVAL);
    assert_int_equal(pc_progress_line_encode(line, sizeof(line), "run ning", "unknown", 0, "", 0),
                     PC_EINVAL);
    assert_int_equal(pc_progress_line_encode(line, sizeof(line), "running", "a\nb", 0, "", 0),
                     PC_EINVAL);
    assert_int_equal(pc_progress_line_encode(line, sizeof(line), NULL, "unknown", 0, "", 0),
                     PC_EINVAL);
    assert_int_equal(pc_progress_line_encode(line, sizeof(line), "running", "unknown", 0, NULL, 3),
                     PC_EINVAL);
    /* too small: an error, never a cut line */
    assert_int_equal(pc_progress_line_encode(small, sizeof(small), "running", "unknown", 0,
                                             "a message too long", 18),
                     PC_ELIMIT);
    assert_int_equal(pc_progress_line_encode(small, 5, "running", "unknown", 0, "", 0), PC_ELIMIT);
    /* a line that fits exactly (NUL included) is written; one byte less is PC_ELIMIT */
    assert_int_equal(pc_progress_line_encode(line, 18, "r", "unknown", 7, "ab\tc", 4), 17);
    assert_string_equal(line, "r unknown 7 ab\\tc");
    assert_int_equal(pc_progress_line_encode(line, 17, "r", "unknown", 7, "ab\tc", 4), PC_ELIMIT);
    assert_int_equal(pc_progress_line_encode(line, 19, "r", "unknown", 7, "ab\x01", 3), 18);
    assert_string_equal(line, "r unknown 7 ab\\x01");
    assert_int_equal(pc_progress_line_encode(line, 18, "r", "unknown", 7, "ab\x01", 3), PC_ELIMIT);
    memset(big, 0x1f, sizeof(big));
    assert_true(pc_progress_line_encode(line, sizeof(line), "running", "bytes:18446744073709551615",
                                        UINT64_MAX, big, sizeof(big)) > 0);
}

static void test_parse_missing_and_malformed(void **state)
{
    char buf[64];
    struct pc_progress_item it;

    (void)state;
    memset(&it, 0, sizeof(it));
    assert_int_equal(pc_progress_line_parse("running", 7, buf, sizeof(buf), &it), 0);
    assert_true(str_is(it.status, "running"));
    assert_null(it.limit.s);
    assert_null(it.done.s);
    assert_null(it.msg.s); /* ended before DONE: no message at all */
    assert_int_equal(pc_progress_line_parse("running steps:3", 15, buf, sizeof(buf), &it), 0);
    assert_true(str_is(it.limit, "steps:3"));
    assert_null(it.done.s);
    assert_int_equal(pc_progress_line_parse("", 0, buf, sizeof(buf), &it), 0);
    assert_null(it.status.s);
    assert_int_equal(pc_progress_line_parse("a b c ", 6, buf, sizeof(buf), &it), 0);
    assert_true(str_is(it.msg, ""));
    /* double spaces: empty parts are absent, the message keeps its spaces */
    assert_int_equal(pc_progress_line_parse("a  c d  e", 9, buf, sizeof(buf), &it), 0);
    assert_true(str_is(it.status, "a"));
    assert_null(it.limit.s);
    assert_true(str_is(it.done, "c"));
    assert_true(str_is(it.msg, "d  e"));
    /* malformed escapes: an error, and the message as written */
    assert_int_equal(pc_progress_line_parse("a b 1 x\\", 8, buf, sizeof(buf), &it), PC_EINVAL);
    assert_true(str_is(it.msg, "x\\"));
    assert_int_equal(pc_progress_line_parse("a b 1 \\q", 8, buf, sizeof(buf), &it), PC_EINVAL);
    assert_int_equal(pc_progress_line_parse("a b 1 \\x4", 9, buf, sizeof(buf), &it), PC_EINVAL);
    assert_int_equal(pc_progress_line_parse("a b 1 \\xg1", 10, buf, sizeof(buf), &it), PC_EINVAL);
    assert_int_equal(pc_progress_line_parse("a b 1 \\x4A\\x4a", 14, buf, sizeof(buf), &it), 0);
    assert_true(str_is(it.msg, "JJ"));
    /* a message longer than the buffer is cut, never overflows */
    assert_int_equal(pc_progress_line_parse("a b 1 0123456789", 16, buf, 4, &it), 0);
    assert_int_equal(it.msg.n, 4);
    assert_memory_equal(it.msg.s, "0123", 4);
}

#define KV(f, v)                                                                                   \
    {                                                                                              \
        f, sizeof(f) - 1, v, sizeof(v) - 1                                                         \
    }

static void test_view_layout1(void **state)
{
    const struct pc_progress_kv kv[] = {
        KV("web.status", "running"), KV("db.status", "success"), KV("web.limit", "steps:4"),
        KV("web.done", "2"),         KV("web.msg", "a b\\n"),    KV("db.msg", ""),
        KV("db.bogus", "x"),         KV(".status", "nobody"),    KV("web.status", "fail"),
    };
    struct pc_progress_view v;
    const struct pc_progress_item *it;

    (void)state;
    assert_int_equal(pc_progress_view_build(&v, kv, sizeof(kv) / sizeof(kv[0])), 0);
    assert_int_equal(v.layout, 1);
    assert_int_equal(v.n, 2);
    assert_true(v.items[0].id_len == 3 && memcmp(v.items[0].id, "web", 3) == 0);
    assert_true(v.items[1].id_len == 2 && memcmp(v.items[1].id, "db", 2) == 0);
    it = pc_progress_view_find(&v, "web", 3);
    assert_non_null(it);
    assert_true(str_is(it->status, "fail")); /* the last one wins, as HSET would */
    assert_true(str_is(it->limit, "steps:4"));
    assert_true(str_is(it->done, "2"));
    assert_true(str_is(it->msg, "a b\\n")); /* layout 1 is raw: no unescaping */
    it = pc_progress_view_find(&v, "db", 2);
    assert_non_null(it);
    assert_true(str_is(it->status, "success"));
    assert_null(it->limit.s);
    assert_true(str_is(it->msg, ""));
    assert_null(pc_progress_view_find(&v, "d", 1));
    assert_null(pc_progress_view_find(&v, "webx", 4));
    pc_progress_view_free(&v);
    pc_progress_view_free(&v); /* twice is harmless */
}

static void test_view_layout2_and_mixed(void **state)
{
    const struct pc_progress_kv kv[] = {
        KV(".layout", "2"),
        KV("one", "success steps:3 3 done: 3\\x2f3 \\\\ ok"),
        KV("two", "running bytes:100 40"),
        KV("two.msg", "stale layout-1 message"),
        KV("three.status", "queued"),
        KV("four", "fail unknown 0 bad \\z escape"),
        KV("five", "initialized"),
    };
    struct pc_progress_view v;
    const struct pc_progress_item *it;

    (void)state;
    assert_int_equal(pc_progress_view_build(&v, kv, sizeof(kv) / sizeof(kv[0])), 0);
    assert_int_equal(v.layout, 2);
    assert_int_equal(v.n, 5);
    assert_true(v.items[0].id_len == 3 && memcmp(v.items[0].id, "one", 3) == 0);
    assert_true(v.items[4].id_len == 4 && memcmp(v.items[4].id, "five", 4) == 0);
    it = pc_progress_view_find(&v, "one", 3);
    assert_true(str_is(it->status, "success"));
    assert_true(str_is(it->limit, "steps:3"));
    assert_true(str_is(it->done, "3"));
    assert_true(str_is(it->msg, "done: 3/3 \\ ok"));
    it = pc_progress_view_find(&v, "two", 3);
    assert_true(str_is(it->status, "running"));
    assert_true(str_is(it->msg, "")); /* the line wins over a stale layout-1 field */
    it = pc_progress_view_find(&v, "three", 5);
    assert_true(str_is(it->status, "queued"));
    it = pc_progress_view_find(&v, "four", 4);
    assert_true(str_is(it->msg, "bad \\z escape")); /* kept as written */
    it = pc_progress_view_find(&v, "five", 4);
    assert_true(str_is(it->status, "initialized"));
    assert_null(it->done.s);
    pc_progress_view_free(&v);
}

static void test_view_hostile_hash(void **state)
{
    const struct pc_progress_kv kv[] = {
        {NULL, 0, "x", 1},     {"a", 1, NULL, 0}, KV("", "running unknown 0"),
        KV(".layout", "junk"), KV("b", ""),
    };
    struct pc_progress_view v;

    (void)state;
    assert_int_equal(pc_progress_view_build(&v, kv, sizeof(kv) / sizeof(kv[0])), 0);
    assert_int_equal(v.layout, 1); /* an unreadable marker counts as none */
    assert_int_equal(v.n, 1);
    assert_null(v.items[0].status.s);
    pc_progress_view_free(&v);
    assert_int_equal(pc_progress_view_build(&v, NULL, 0), 0);
    assert_int_equal(v.n, 0);
    assert_null(pc_progress_view_find(&v, "a", 1));
    pc_progress_view_free(&v);
}

/* 10 000 items of each layout: the view is built by sorting, not by scanning. */
static void test_view_large(void **state)
{
    enum { N = 10000 };
    struct pc_progress_kv *kv = calloc(5 * N, sizeof(*kv));
    char(*names)[16] = calloc(4 * N, sizeof(*names));
    char(*lines)[48] = calloc(N, sizeof(*lines));
    struct pc_progress_view v;
    size_t n = 0;

    (void)state;
    assert_non_null(kv);
    assert_non_null(names);
    assert_non_null(lines);
    for (size_t i = 0; i < N; i++) {
        int ln;

        (void)snprintf(names[i], sizeof(names[0]), "i%zu", N - i);
        ln = pc_progress_line_encode(lines[i], sizeof(lines[0]), "success", "steps:1", i, "m 1", 3);
        assert_true(ln > 0);
        kv[n++] = (struct pc_progress_kv){names[i], strlen(names[i]), lines[i], (size_t)ln};
        (void)snprintf(names[N + i], sizeof(names[0]), "o%zu.status", i);
        kv[n++] = (struct pc_progress_kv){names[N + i], strlen(names[N + i]), "queued", 6};
    }
    assert_int_equal(pc_progress_view_build(&v, kv, n), 0);
    assert_int_equal(v.n, 2 * N);
    assert_true(v.items[0].id_len == 6 && memcmp(v.items[0].id, "i10000", 6) == 0);
    assert_true(str_is(pc_progress_view_find(&v, "i1", 2)->done, "9999"));
    assert_true(str_is(pc_progress_view_find(&v, "i1", 2)->msg, "m 1"));
    assert_true(str_is(pc_progress_view_find(&v, "o9999", 5)->status, "queued"));
    pc_progress_view_free(&v);
    free(kv);
    free(names);
    free(lines);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_encode_exact),
        cmocka_unit_test(test_round_trip_hostile),
        cmocka_unit_test(test_encode_rejects),
        cmocka_unit_test(test_parse_missing_and_malformed),
        cmocka_unit_test(test_view_layout1),
        cmocka_unit_test(test_view_layout2_and_mixed),
        cmocka_unit_test(test_view_hostile_hash),
        cmocka_unit_test(test_view_large),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
