/*
 * test_item_codecs.c - the items' private codecs: SHA-256 against the
 * FIPS 180-4 / NIST example vectors plus padding-boundary lengths (digests
 * from an independent implementation), streaming in odd pieces, and the
 * strict base64 decoder used by `file`'s content_base64.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "items_internal.h"

static void expect_sha256(const char *msg, size_t len, const char *hex)
{
    char got[PC_SHA256_HEX_LEN + 1];

    pc_sha256_hex_of(msg, len, got);
    assert_string_equal(got, hex);
}

static void sha256_matches_fips_180_4_examples(void **state)
{
    (void)state;
    expect_sha256("abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    expect_sha256("", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    expect_sha256("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56,
                  "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    expect_sha256(
        "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnop"
        "qrlmnopqrsmnopqrstnopqrstu",
        112, "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
}

static void sha256_of_one_million_a_streamed_in_pieces(void **state)
{
    struct pc_sha256 c;
    uint8_t digest[PC_SHA256_LEN];
    char hex[PC_SHA256_HEX_LEN + 1];
    char piece[1000];

    (void)state;
    memset(piece, 'a', sizeof(piece));
    pc_sha256_init(&c);
    for (int i = 0; i < 1000; i++) {
        pc_sha256_update(&c, piece, sizeof(piece));
    }
    pc_sha256_final(&c, digest);
    pc_sha256_hex(digest, hex);
    assert_string_equal(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

static void sha256_pads_correctly_around_block_boundaries(void **state)
{
    static const struct {
        size_t n;
        const char *hex;
    } cases[] = {
        {55, "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318"},
        {56, "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a"},
        {63, "7d3e74a05d7db15bce4ad9ec0658ea98e3f06eeecf16b4c6fff2da457ddc2f34"},
        {64, "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb"},
        {65, "635361c48bb9eab14198e76ea8ab7f1a41685d6ad62aa9146d301d4f17eb0ae0"},
        {119, "31eba51c313a5c08226adf18d4a359cfdfd8d2e816b13f4af952f7ea6584dcfb"},
        {120, "2f3d335432c70b580af0e8e1b3674a7c020d683aa5f73aaaedfdc55af904c21c"},
        {128, "6836cf13bac400e9105071cd6af47084dfacad4e5e302c94bfed24e013afb73e"},
    };
    char buf[128];

    (void)state;
    memset(buf, 'a', sizeof(buf));
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct pc_sha256 c;
        uint8_t digest[PC_SHA256_LEN];
        char hex[PC_SHA256_HEX_LEN + 1];

        expect_sha256(buf, cases[i].n, cases[i].hex);
        /* Byte by byte must give the same digest as one update. */
        pc_sha256_init(&c);
        for (size_t j = 0; j < cases[i].n; j++) {
            pc_sha256_update(&c, buf + j, 1);
        }
        pc_sha256_final(&c, digest);
        pc_sha256_hex(digest, hex);
        assert_string_equal(hex, cases[i].hex);
    }
}

static void base64_decodes_padded_groups_and_skips_whitespace(void **state)
{
    static const struct {
        const char *in;
        const char *out;
    } cases[] = {
        {"", ""},       {"aGVsbG8=", "hello"}, {"aGVsbG8h", "hello!"},
        {"aGk=", "hi"}, {"aA==", "h"},         {"aGVs\nbG8g\r\nd29y bGQ=\n", "hello world"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint8_t *out = NULL;
        size_t len = 0;
        struct pc_err err = {0};

        assert_int_equal(pc__base64_decode(cases[i].in, strlen(cases[i].in), &out, &len, &err), 0);
        assert_int_equal(len, strlen(cases[i].out));
        assert_memory_equal(out, cases[i].out, len);
        free(out);
    }
}

static void base64_rejects_malformed_input_naming_the_offset(void **state)
{
    static const struct {
        const char *in;
        const char *msg;
    } cases[] = {
        {"aGk*", "invalid base64 at offset 3"},
        {"a=Gk", "invalid base64 at offset 1"},
        {"aG=k", "invalid base64 at offset 3"},
        {"aGk=aGk=", "invalid base64 at offset 4"},
        {"aGk", "invalid base64: truncated final group"},
        {"a===", "invalid base64 at offset 1"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint8_t *out = NULL;
        size_t len = 0;
        struct pc_err err = {0};

        assert_int_equal(pc__base64_decode(cases[i].in, strlen(cases[i].in), &out, &len, &err),
                         PC_EINVAL);
        assert_string_equal(err.msg, cases[i].msg);
        assert_null(out);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sha256_matches_fips_180_4_examples),
        cmocka_unit_test(sha256_of_one_million_a_streamed_in_pieces),
        cmocka_unit_test(sha256_pads_correctly_around_block_boundaries),
        cmocka_unit_test(base64_decodes_padded_groups_and_skips_whitespace),
        cmocka_unit_test(base64_rejects_malformed_input_naming_the_offset),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
