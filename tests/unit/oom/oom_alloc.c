/*
 * oom_alloc.c - see oom_alloc.h.
 */
#include "oom_alloc.h"

struct oom_counter {
    bool armed;
    bool sticky;
    bool injected;
    bool first_in_json; /* the first failure injected was an allocation of jansson's */
    bool in_json;       /* inside oom_json_malloc */
    long fail_at;
    long calls;
    long live;
    int paused;
};

/* The test binary's failure counter (library code keeps no global state). */
static struct oom_counter g_oom;

/* Counts one allocation request; true when it must fail. */
static bool should_fail(void)
{
    if (!g_oom.armed || g_oom.paused > 0) {
        return false;
    }
    g_oom.calls++;
    if (g_oom.calls == g_oom.fail_at || (g_oom.sticky && g_oom.calls > g_oom.fail_at)) {
        if (!g_oom.injected) {
            g_oom.first_in_json = g_oom.in_json;
        }
        g_oom.injected = true;
        return true;
    }
    return false;
}

void *__wrap_malloc(size_t n)
{
    void *p = NULL;

    if (should_fail()) {
        return NULL;
    }
    p = __real_malloc(n);
    if (p != NULL) {
        g_oom.live++;
    }
    return p;
}

void *__wrap_calloc(size_t n, size_t size)
{
    void *p = NULL;

    if (should_fail()) {
        return NULL;
    }
    p = __real_calloc(n, size);
    if (p != NULL) {
        g_oom.live++;
    }
    return p;
}

void *__wrap_realloc(void *p, size_t n)
{
    void *q = NULL;

    if (should_fail()) {
        return NULL; /* like a real failure: p stays valid and owned by the caller */
    }
    q = __real_realloc(p, n);
    if (p == NULL && q != NULL) {
        g_oom.live++;
    }
    return q;
}

void __wrap_free(void *p)
{
    if (p != NULL) {
        g_oom.live--;
    }
    __real_free(p);
}

void oom_arm(long fail_at, bool sticky)
{
    g_oom.armed = true;
    g_oom.sticky = sticky;
    g_oom.injected = false;
    g_oom.first_in_json = false;
    g_oom.fail_at = fail_at;
    g_oom.calls = 0;
    g_oom.paused = 0;
}

bool oom_disarm(void)
{
    g_oom.armed = false;
    return g_oom.injected;
}

bool oom_first_failure_in_json(void)
{
    return g_oom.injected && g_oom.first_in_json;
}

long oom_calls(void)
{
    return g_oom.calls;
}

long oom_live(void)
{
    return g_oom.live;
}

void oom_pause(void)
{
    g_oom.paused++;
}

void oom_resume(void)
{
    g_oom.paused--;
}

void *oom_json_malloc(size_t n)
{
    void *p = NULL;

    g_oom.in_json = true;
    p = __wrap_malloc(n);
    g_oom.in_json = false;
    return p;
}

void oom_json_free(void *p)
{
    __wrap_free(p);
}
