/*
 * fake_engine.h - deterministic fakes for engine tests: an item type whose
 * "world" is a struct in the test, an executor that runs tasks only when the
 * test says so, an in-memory states store and a recording observer.
 */
#ifndef PEACE_TEST_FAKE_ENGINE_H
#define PEACE_TEST_FAKE_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "peace/exec.h"

#define FAKE_ITEMS_MAX 16
#define FAKE_LOG_MAX   256

/* The outside world of one fake item: an integer that apply moves to target. */
struct fake_item_world {
    int64_t value;        /* the current state */
    int64_t goal;         /* the goal state */
    bool unknown_current; /* state_current leaves the state absent */
    bool fail_current;
    bool fail_goal;
    bool fail_diff;
    bool fail_apply;
    bool fail_check;     /* apply_check fails */
    bool fail_apply_dry; /* apply_dry fails */
    bool fail_clean;     /* state_clean fails */
    bool honour_cancel;  /* apply stops with PC_ECANCELED when cancelled ... */
    int64_t cut_value;   /* ... leaving the world at this value */
};

struct fake_world {
    struct fake_item_world items[FAKE_ITEMS_MAX];
    char log[FAKE_LOG_MAX][96]; /* "apply:a", "current:b", ... in call order */
    size_t n_log;
};

/* The "fake" item type. Params: {"world": <pointer as u64>, "slot": n}.
 * needs_replacement: the slot changed. */
extern const struct pc_item_type fake_item_type;

/* Builds a flow of n items named by ids[] (type "fake"), each item's params
 * pointing at world->items[i]; deps given as "a>b" pairs (b depends on a). */
int fake_flow_build(struct pc_flow *f, struct fake_world *w, const char *const *ids, size_t n,
                    const char *const *edges, size_t n_edges);
void fake_flow_free(struct pc_flow *f);

/* Position of the first log line equal to s, or -1. */
int fake_log_find(const struct fake_world *w, const char *s);
size_t fake_log_count_prefix(const struct fake_world *w, const char *prefix);

/* Executor that queues tasks until the test runs them. */
struct fake_executor {
    struct pc_task *q[256];
    size_t n;
    size_t submitted;
};
struct pc_executor fake_executor_get(struct fake_executor *fx);
/* Runs (run + done) the task at position pos of the queue. Returns false if none. */
bool fake_executor_run_at(struct fake_executor *fx, size_t pos);
/* Runs queued tasks until none is left. */
void fake_executor_drain(struct fake_executor *fx);

/* In-memory store. */
struct fake_store {
    bool has[2];
    struct pc_states maps[2];
    size_t item_writes[2];
    size_t all_writes[2];
    int fail_writes; /* non-zero: writes complete with this code */
    /* Obsolete items: what read_obsolete answers (set by the test, owned). */
    struct pc_stored_items obsolete;
    size_t record_writes;
    char removed[FAKE_ITEMS_MAX][PC_ID_MAX + 1]; /* remove_item calls, in order */
    size_t n_removed;
};
void fake_store_init(struct fake_store *s);
void fake_store_cleanup(struct fake_store *s);
struct pc_store fake_store_get(struct fake_store *s);
/* Seeds stored states with ints for every item (has = true). */
void fake_store_seed(struct fake_store *s, enum pc_states_kind kind, const int64_t *values,
                     size_t n);
/* Adds an obsolete item (id, with a record of type "fake" whose params are
 * those of item `from` of flow f, and deps) to what read_obsolete answers;
 * an id of the executed flow makes it that item's record (as last applied). */
void fake_store_add_obsolete(struct fake_store *s, const struct pc_flow *f, size_t from,
                             bool with_record, const char *const *deps, size_t n_deps);
/* The stored int of an item: true and *v when present. */
bool fake_store_int(const struct fake_store *s, enum pc_states_kind kind, size_t item, int64_t *v);

/* Recording observer. */
struct fake_observer {
    size_t block_starts;
    bool interrupted;
    size_t interrupted_calls;
    bool finished;
    size_t finished_calls;
    struct pc_outcome outcome;
    size_t progress_events;
};
void fake_observer_init(struct fake_observer *o);
void fake_observer_cleanup(struct fake_observer *o);
extern const struct pc_exec_observer_ops fake_observer_ops;

/* Encodes an int state. */
int fake_state_int(struct pc_state *s, int64_t v);
bool fake_state_get_int(const struct pc_state *s, int64_t *v);

#endif
