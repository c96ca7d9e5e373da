/*
 * oom_alloc.h - allocation-failure injection for the test_oom binary.
 *
 * test_oom is linked with -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,
 * --wrap=free: every call to those made from an object of the executable
 * (our static libraries, the statically linked msgpack-c when available, the
 * test itself, and jansson through json_set_alloc_funcs) reaches the
 * __wrap_* functions below, which forward to __real_* (so ASan and
 * LeakSanitizer still see every block) unless the counter says to fail.
 *
 * The counter is the one piece of global mutable state of this test binary;
 * the library code under test keeps none. Not thread-safe: the code under
 * test runs on the test thread only (the engine uses a synchronous fake
 * executor).
 */
#ifndef PEACE_TEST_OOM_ALLOC_H
#define PEACE_TEST_OOM_ALLOC_H

#include <stdbool.h>
#include <stddef.h>

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
void __real_free(void *p);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);
void __wrap_free(void *p);

/*
 * Arms the counter: the fail_at-th allocation from now fails (1 = the
 * first); with sticky, every later one fails too. Resets the counts.
 */
void oom_arm(long fail_at, bool sticky);

/* Disarms; returns true when at least one allocation was made to fail. */
bool oom_disarm(void);

/* True when the first failure injected since oom_arm hit an allocation of jansson's. */
bool oom_first_failure_in_json(void);

/* Allocations counted since oom_arm (failed ones included). */
long oom_calls(void);

/* Blocks obtained through the wrappers and not yet freed through them. */
long oom_live(void);

/*
 * Nestable: while paused, allocations are neither counted nor failed. Used
 * around test doubles (fake items, fake store, observer), whose allocations
 * are not the code under test.
 */
void oom_pause(void);
void oom_resume(void);

/* jansson allocation functions routed through the wrappers (json_set_alloc_funcs). */
void *oom_json_malloc(size_t n);
void oom_json_free(void *p);

#endif /* PEACE_TEST_OOM_ALLOC_H */
