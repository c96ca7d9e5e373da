/*
 * test_store_dir.c - the local-directory states store: round trips through
 * real files under a fresh temporary root, the path layout, atomic
 * replacement (no temporary file left), and the failures a reader can meet
 * (missing, corrupt, another flow's file), each reported through the
 * callback before the operation returns.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "peace/store_dir.h"

/* Three states as msgpack bytes: 1, "hi", {"k": true}. */
static const uint8_t STATE_ONE[] = {0x01};
static const uint8_t STATE_HI[] = {0xa2, 'h', 'i'};
static const uint8_t STATE_MAP[] = {0x81, 0xa1, 'k', 0xc3};

struct fixture {
    char root[64];
    char path[512]; /* scratch for paths under root */
    struct pc_store_dir *dir;
    struct pc_store store;
    struct pc_flow flow; /* app a, profile p, flow f, items x y z */
};

/* What one callback saw. */
struct completion {
    int calls;
    int rc;
    struct pc_err err;
};

static void on_done(void *arg, int rc, const struct pc_err *err)
{
    struct completion *c = arg;

    c->calls++;
    c->rc = rc;
    c->err = *err;
}

static void parse_flow(struct pc_flow *out, const char *json)
{
    struct pc_err err = {0};
    int rc = pc_flow_parse_json(json, strlen(json), "test flow", out, &err);

    if (rc != 0) {
        fail_msg("flow: %s", err.msg);
    }
}

static const char FLOW_XYZ[] = "{\"app\":\"a\",\"profile\":\"p\",\"flow\":\"f\",\"items\":["
                               "{\"id\":\"x\",\"type\":\"file\",\"params\":{}},"
                               "{\"id\":\"y\",\"type\":\"file\",\"params\":{},\"deps\":[\"x\"]},"
                               "{\"id\":\"z\",\"type\":\"file\",\"params\":{}}]}";

static int setup(void **state)
{
    struct fixture *fx = calloc(1, sizeof(*fx));

    assert_non_null(fx);
    memcpy(fx->root, "/tmp/peace-store-XXXXXX", sizeof("/tmp/peace-store-XXXXXX"));
    assert_non_null(mkdtemp(fx->root));
    assert_int_equal(pc_store_dir_create(fx->root, &fx->dir, NULL), 0);
    fx->store = pc_store_dir_store(fx->dir);
    parse_flow(&fx->flow, FLOW_XYZ);
    *state = fx;
    return 0;
}

/* rm -r of a directory this test made (no symlinks, shallow). */
static void remove_tree(const char *path)
{
    DIR *d = opendir(path);
    struct dirent *e = NULL;
    char child[1024];

    if (d == NULL) {
        (void)unlink(path);
        return;
    }
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) {
            continue;
        }
        int n = snprintf(child, sizeof(child), "%s/%s", path, e->d_name);
        assert_true(n > 0 && (size_t)n < sizeof(child));
        remove_tree(child);
    }
    closedir(d);
    (void)rmdir(path);
}

static int teardown(void **state)
{
    struct fixture *fx = *state;

    pc_flow_cleanup(&fx->flow);
    pc_store_dir_destroy(fx->dir);
    remove_tree(fx->root);
    free(fx);
    return 0;
}

/* ---- helpers */

static const char *file_path(struct fixture *fx, const char *kind)
{
    int n =
        snprintf(fx->path, sizeof(fx->path), "%s/.peace/a/p/f/states_%s.msgpack", fx->root, kind);

    assert_true(n > 0 && (size_t)n < sizeof(fx->path));
    return fx->path;
}

static void set_state(struct pc_state *s, const uint8_t *p, size_t n)
{
    assert_int_equal(pc_state_set(s, p, n), 0);
}

static void assert_state(const struct pc_state *s, const uint8_t *p, size_t n)
{
    assert_non_null(s->data);
    assert_int_equal(s->len, n);
    assert_memory_equal(s->data, p, n);
}

static void write_all_ok(struct fixture *fx, enum pc_states_kind kind, const struct pc_states *m)
{
    struct completion c = {0};

    assert_int_equal(fx->store.ops->write_all(fx->store.ctx, kind, &fx->flow, m, on_done, &c), 0);
    assert_int_equal(c.calls, 1);
    if (c.rc != 0) {
        fail_msg("write_all: %s", c.err.msg);
    }
}

static void write_item_ok(struct fixture *fx, enum pc_states_kind kind, size_t item,
                          const struct pc_state *s)
{
    struct completion c = {0};

    assert_int_equal(
        fx->store.ops->write_item(fx->store.ctx, kind, &fx->flow, item, s, on_done, &c), 0);
    assert_int_equal(c.calls, 1);
    if (c.rc != 0) {
        fail_msg("write_item: %s", c.err.msg);
    }
}

/* Reads kind for flow into a fresh map (caller cleans up); returns the rc. */
static int read_states(struct fixture *fx, enum pc_states_kind kind, const struct pc_flow *flow,
                       struct pc_states *out, struct completion *c)
{
    assert_int_equal(pc_states_init(out, flow->n_items), 0);
    assert_int_equal(fx->store.ops->read(fx->store.ctx, kind, flow, out, on_done, c), 0);
    /* Synchronous: the callback has run once before read returned. */
    assert_int_equal(c->calls, 1);
    return c->rc;
}

static void write_bytes(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");

    assert_non_null(f);
    assert_int_equal(fwrite(p, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

static void write_sample(struct fixture *fx, enum pc_states_kind kind)
{
    struct pc_states m = {0};

    assert_int_equal(pc_states_init(&m, 3), 0);
    set_state(&m.v[0], STATE_ONE, sizeof(STATE_ONE));
    set_state(&m.v[2], STATE_MAP, sizeof(STATE_MAP));
    write_all_ok(fx, kind, &m);
    pc_states_cleanup(&m);
}

/* ---- tests */

static void test_write_all_then_read_returns_every_state(void **state)
{
    struct fixture *fx = *state;
    struct pc_states got = {0};
    struct completion c = {0};

    write_sample(fx, PC_STATES_CURRENT);
    assert_int_equal(read_states(fx, PC_STATES_CURRENT, &fx->flow, &got, &c), 0);
    assert_int_equal(c.err.code, 0);
    assert_state(&got.v[0], STATE_ONE, sizeof(STATE_ONE));
    assert_null(got.v[1].data);
    assert_state(&got.v[2], STATE_MAP, sizeof(STATE_MAP));
    pc_states_cleanup(&got);
}

static void test_write_item_updates_one_item_and_keeps_the_others(void **state)
{
    struct fixture *fx = *state;
    struct pc_states got = {0};
    struct pc_state hi = {0};
    struct completion c = {0};

    write_sample(fx, PC_STATES_CURRENT);
    set_state(&hi, STATE_HI, sizeof(STATE_HI));
    write_item_ok(fx, PC_STATES_CURRENT, 2, &hi);
    write_item_ok(fx, PC_STATES_CURRENT, 1, &hi);

    assert_int_equal(read_states(fx, PC_STATES_CURRENT, &fx->flow, &got, &c), 0);
    assert_state(&got.v[0], STATE_ONE, sizeof(STATE_ONE));
    assert_state(&got.v[1], STATE_HI, sizeof(STATE_HI));
    assert_state(&got.v[2], STATE_HI, sizeof(STATE_HI));
    pc_states_cleanup(&got);
    pc_state_clear(&hi);
}

static void test_write_item_without_a_file_creates_it_with_the_others_absent(void **state)
{
    struct fixture *fx = *state;
    struct pc_states got = {0};
    struct pc_state one = {0};
    struct completion c = {0};

    set_state(&one, STATE_ONE, sizeof(STATE_ONE));
    write_item_ok(fx, PC_STATES_GOAL, 1, &one);

    assert_int_equal(read_states(fx, PC_STATES_GOAL, &fx->flow, &got, &c), 0);
    assert_null(got.v[0].data);
    assert_state(&got.v[1], STATE_ONE, sizeof(STATE_ONE));
    assert_null(got.v[2].data);
    pc_states_cleanup(&got);
    pc_state_clear(&one);
}

static void test_absent_and_nil_are_stored_as_nil_and_read_back_absent(void **state)
{
    struct fixture *fx = *state;
    struct pc_states m = {0};
    struct pc_states got = {0};
    struct pc_state absent = {0};
    struct completion c = {0};

    assert_int_equal(pc_states_init(&m, 3), 0);
    set_state(&m.v[0], STATE_ONE, sizeof(STATE_ONE));
    assert_int_equal(pc_state_set_nil(&m.v[1]), 0);
    set_state(&m.v[2], STATE_HI, sizeof(STATE_HI));
    write_all_ok(fx, PC_STATES_CURRENT, &m);
    /* Clearing one item through write_item writes absent (nil) too. */
    write_item_ok(fx, PC_STATES_CURRENT, 0, &absent);

    assert_int_equal(read_states(fx, PC_STATES_CURRENT, &fx->flow, &got, &c), 0);
    assert_null(got.v[0].data);
    assert_null(got.v[1].data);
    assert_state(&got.v[2], STATE_HI, sizeof(STATE_HI));
    pc_states_cleanup(&got);
    pc_states_cleanup(&m);
}

static void test_ids_not_in_the_flow_are_ignored(void **state)
{
    struct fixture *fx = *state;
    struct pc_flow other = {0};
    struct pc_states got = {0};
    struct completion c = {0};

    /* Same app, profile and flow name, but x is gone and w is new. */
    write_sample(fx, PC_STATES_CURRENT);
    parse_flow(&other, "{\"app\":\"a\",\"profile\":\"p\",\"flow\":\"f\",\"items\":["
                       "{\"id\":\"w\",\"type\":\"file\",\"params\":{}},"
                       "{\"id\":\"z\",\"type\":\"file\",\"params\":{}}]}");

    assert_int_equal(read_states(fx, PC_STATES_CURRENT, &other, &got, &c), 0);
    assert_int_equal(got.n, 2);
    assert_null(got.v[0].data);
    assert_state(&got.v[1], STATE_MAP, sizeof(STATE_MAP));
    pc_states_cleanup(&got);
    pc_flow_cleanup(&other);
}

static void test_current_and_goal_are_separate_files(void **state)
{
    struct fixture *fx = *state;
    struct pc_states got = {0};
    struct completion c = {0};

    write_sample(fx, PC_STATES_GOAL);
    assert_int_equal(read_states(fx, PC_STATES_CURRENT, &fx->flow, &got, &c), PC_ENOTFOUND);
    pc_states_cleanup(&got);

    memset(&c, 0, sizeof(c));
    assert_int_equal(read_states(fx, PC_STATES_GOAL, &fx->flow, &got, &c), 0);
    assert_state(&got.v[0], STATE_ONE, sizeof(STATE_ONE));
    pc_states_cleanup(&got);
}

static void test_missing_file_completes_with_enotfound_and_leaves_out_unchanged(void **state)
{
    struct fixture *fx = *state;
    struct pc_states got = {0};
    struct completion c = {0};

    assert_int_equal(pc_states_init(&got, 3), 0);
    set_state(&got.v[1], STATE_HI, sizeof(STATE_HI));
    assert_int_equal(
        fx->store.ops->read(fx->store.ctx, PC_STATES_CURRENT, &fx->flow, &got, on_done, &c), 0);
    assert_int_equal(c.calls, 1);
    assert_int_equal(c.rc, PC_ENOTFOUND);
    assert_int_equal(c.err.code, PC_ENOTFOUND);
    assert_non_null(strstr(c.err.msg, "states_current.msgpack"));
    assert_state(&got.v[1], STATE_HI, sizeof(STATE_HI));
    pc_states_cleanup(&got);
}

static void test_corrupt_file_completes_with_eschema_naming_the_file(void **state)
{
    struct fixture *fx = *state;
    static const uint8_t garbage[] = {0xc1, 0xff, 0x00, 'n', 'o', 't', ' ', 'm', 's', 'g'};
    struct pc_states got = {0};
    struct completion c = {0};
    struct pc_state one = {0};
    struct stat before;
    struct stat after;

    write_sample(fx, PC_STATES_CURRENT);
    const char *path = file_path(fx, "current");
    write_bytes(path, garbage, sizeof(garbage));

    assert_int_equal(read_states(fx, PC_STATES_CURRENT, &fx->flow, &got, &c), PC_ESCHEMA);
    assert_int_equal(c.err.code, PC_ESCHEMA);
    assert_non_null(strstr(c.err.msg, path));
    assert_null(got.v[0].data);
    pc_states_cleanup(&got);

    /* write_item refuses to build on a file it cannot read, and keeps it. */
    assert_int_equal(stat(path, &before), 0);
    memset(&c, 0, sizeof(c));
    set_state(&one, STATE_ONE, sizeof(STATE_ONE));
    assert_int_equal(fx->store.ops->write_item(fx->store.ctx, PC_STATES_CURRENT, &fx->flow, 0, &one,
                                               on_done, &c),
                     0);
    assert_int_equal(c.calls, 1);
    assert_int_equal(c.rc, PC_ESCHEMA);
    assert_int_equal(stat(path, &after), 0);
    assert_int_equal(after.st_size, sizeof(garbage));
    assert_int_equal(after.st_ino, before.st_ino);
    pc_state_clear(&one);
}

static void test_empty_and_truncated_files_complete_with_eschema(void **state)
{
    struct fixture *fx = *state;
    struct pc_states got = {0};
    struct completion c = {0};
    uint8_t *bytes = NULL;
    struct stat st;

    write_sample(fx, PC_STATES_GOAL);
    const char *path = file_path(fx, "goal");
    assert_int_equal(stat(path, &st), 0);
    assert_true(st.st_size > 1);

    /* Every proper prefix of a valid file is refused, never half-read. */
    bytes = malloc((size_t)st.st_size);
    assert_non_null(bytes);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fread(bytes, 1, (size_t)st.st_size, f), (size_t)st.st_size);
    fclose(f);
    for (size_t len = 0; len < (size_t)st.st_size; len++) {
        write_bytes(path, bytes, len);
        memset(&c, 0, sizeof(c));
        assert_int_equal(read_states(fx, PC_STATES_GOAL, &fx->flow, &got, &c), PC_ESCHEMA);
        assert_non_null(strstr(c.err.msg, path));
        pc_states_cleanup(&got);
    }
    free(bytes);
}

static void test_file_of_another_flow_is_refused(void **state)
{
    struct fixture *fx = *state;
    struct pc_flow other = {0};
    struct pc_states got = {0};
    struct completion c = {0};
    char other_path[512];

    parse_flow(&other, "{\"app\":\"a\",\"profile\":\"p\",\"flow\":\"g\",\"items\":["
                       "{\"id\":\"x\",\"type\":\"file\",\"params\":{}}]}");
    /* Create g's directory through a write, then put f's file in its place. */
    write_sample(fx, PC_STATES_CURRENT);
    struct pc_states one = {0};
    assert_int_equal(pc_states_init(&one, 1), 0);
    assert_int_equal(
        fx->store.ops->write_all(fx->store.ctx, PC_STATES_CURRENT, &other, &one, on_done, &c), 0);
    assert_int_equal(c.rc, 0);
    pc_states_cleanup(&one);
    int n = snprintf(other_path, sizeof(other_path), "%s/.peace/a/p/g/states_current.msgpack",
                     fx->root);
    assert_true(n > 0 && (size_t)n < sizeof(other_path));
    assert_int_equal(rename(file_path(fx, "current"), other_path), 0);

    memset(&c, 0, sizeof(c));
    assert_int_equal(read_states(fx, PC_STATES_CURRENT, &other, &got, &c), PC_EINVAL);
    assert_non_null(strstr(c.err.msg, other_path));
    pc_states_cleanup(&got);
    pc_flow_cleanup(&other);
}

static void test_files_land_under_peace_app_profile_flow_and_no_temp_file_stays(void **state)
{
    struct fixture *fx = *state;
    struct stat st;
    struct pc_state hi = {0};
    char dir[512];
    size_t entries = 0;

    write_sample(fx, PC_STATES_CURRENT);
    set_state(&hi, STATE_HI, sizeof(STATE_HI));
    write_item_ok(fx, PC_STATES_GOAL, 0, &hi);
    pc_state_clear(&hi);

    int n = snprintf(dir, sizeof(dir), "%s/.peace/a/p/f", fx->root);
    assert_true(n > 0 && (size_t)n < sizeof(dir));
    assert_string_equal(pc_store_dir_flow_path(fx->dir, &fx->flow), dir);

    assert_int_equal(stat(file_path(fx, "current"), &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(st.st_mode & 0777, 0644);
    assert_int_equal(stat(file_path(fx, "goal"), &st), 0);
    assert_true(S_ISREG(st.st_mode));

    DIR *d = opendir(dir);
    struct dirent *e = NULL;
    assert_non_null(d);
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) {
            continue;
        }
        entries++;
        if (strcmp(e->d_name, "states_current.msgpack") != 0 &&
            strcmp(e->d_name, "states_goal.msgpack") != 0) {
            fail_msg("unexpected file %s", e->d_name);
        }
    }
    closedir(d);
    assert_int_equal(entries, 2);
}

static void test_unwritable_root_completes_with_the_errno(void **state)
{
    struct fixture *fx = *state;
    struct pc_store_dir *bad = NULL;
    struct pc_states m = {0};
    struct completion c = {0};
    char path[512];

    /* A regular file where a directory must go. */
    int n = snprintf(path, sizeof(path), "%s/plain", fx->root);
    assert_true(n > 0 && (size_t)n < sizeof(path));
    write_bytes(path, "x", 1);
    assert_int_equal(pc_store_dir_create(path, &bad, NULL), 0);
    struct pc_store s = pc_store_dir_store(bad);
    assert_int_equal(pc_states_init(&m, 3), 0);
    assert_int_equal(s.ops->write_all(s.ctx, PC_STATES_CURRENT, &fx->flow, &m, on_done, &c), 0);
    assert_int_equal(c.calls, 1);
    assert_true(c.rc < 0);
    assert_int_equal(c.err.code, c.rc);
    assert_non_null(strstr(c.err.msg, path));
    pc_states_cleanup(&m);
    pc_store_dir_destroy(bad);
}

static void test_bad_arguments_return_einval_without_calling_back(void **state)
{
    struct fixture *fx = *state;
    struct pc_states wrong = {0};
    struct pc_state one = {0};
    struct completion c = {0};

    assert_int_equal(pc_states_init(&wrong, 2), 0);
    assert_int_equal(
        fx->store.ops->read(fx->store.ctx, PC_STATES_CURRENT, &fx->flow, &wrong, on_done, &c),
        PC_EINVAL);
    assert_int_equal(
        fx->store.ops->write_all(fx->store.ctx, PC_STATES_CURRENT, &fx->flow, &wrong, on_done, &c),
        PC_EINVAL);
    assert_int_equal(fx->store.ops->write_item(fx->store.ctx, PC_STATES_CURRENT, &fx->flow, 3, &one,
                                               on_done, &c),
                     PC_EINVAL);
    assert_int_equal(c.calls, 0);
    pc_states_cleanup(&wrong);

    struct pc_store_dir *d = NULL;
    assert_int_equal(pc_store_dir_create("", &d, NULL), PC_EINVAL);
    assert_null(d);
    pc_store_dir_destroy(NULL);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_write_all_then_read_returns_every_state),
        T(test_write_item_updates_one_item_and_keeps_the_others),
        T(test_write_item_without_a_file_creates_it_with_the_others_absent),
        T(test_absent_and_nil_are_stored_as_nil_and_read_back_absent),
        T(test_ids_not_in_the_flow_are_ignored),
        T(test_current_and_goal_are_separate_files),
        T(test_missing_file_completes_with_enotfound_and_leaves_out_unchanged),
        T(test_corrupt_file_completes_with_eschema_naming_the_file),
        T(test_empty_and_truncated_files_complete_with_eschema),
        T(test_file_of_another_flow_is_refused),
        T(test_files_land_under_peace_app_profile_flow_and_no_temp_file_stays),
        T(test_unwritable_root_completes_with_the_errno),
        T(test_bad_arguments_return_einval_without_calling_back),
    };
#undef T

    return cmocka_run_group_tests(tests, NULL, NULL);
}
