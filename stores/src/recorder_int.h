/*
 * recorder_int.h - what the files of the execution recorder (recorder*.c)
 * share: the recorder's state, and the events and progress section
 * (recorder_events.c) that the observer and the writes use. Private to
 * stores/.
 */
#ifndef PEACE_RECORDER_INT_H
#define PEACE_RECORDER_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "peace/msg.h"
#include "peace/recorder.h"

#define WHY_MAX 256

/* What changed in an item's progress since it was last written. The hash
 * has one field per item (layout 2, peace/progress_line.h): any change
 * rewrites the item's line, a field of an item that did not change is not
 * written (on a hash of up to 512 fields Redis keeps a listpack, where each
 * field written is a scan of the hash). */
#define FIELD_STATUS       1u
#define FIELD_LIMIT        2u
#define FIELD_DONE         4u
#define FIELD_MSG          8u
#define FIELD_ALL          15u
#define FIELD_LISTED       16u /* in dirty_list (no field may have changed yet) */
#define LOCK_VALUE_MAX     128
#define EVENTS_BACKLOG_MAX 64
#define ENTRY_ID_MAX       64
#define GROUP_MAX          64

enum call_kind {
    CALL_PROGRESS,
    CALL_FINISH,
    CALL_ACK,
    CALL_RELEASE,
};

struct rec_call {
    struct pc_recorder *r; /* NULL once the recorder is gone */
    enum call_kind kind;
    pc_recorder_sync_cb *sync_cb; /* CALL_PROGRESS of pc_recorder_sync */
    void *sync_ctx;
    struct rec_call *prev;
    struct rec_call *next;
};

struct pc_recorder {
    struct event_base *base;
    struct pc_redis_conn *conn;
    struct pc_scripts *scripts;
    const struct pc_flow *flow;
    struct pc_exec *exec;
    enum pc_cmd cmd;
    enum pc_sync sync;
    enum pc_block_kind blocks[PC_BLOCKS_MAX];
    size_t n_blocks;

    char prefix[PC_PREFIX_MAX + 1];
    char meta_key[PC_KEY_MAX];
    char progress_key[PC_KEY_MAX];
    char events_key[PC_KEY_MAX];
    char scratch_key[PC_KEY_MAX + 16]; /* events_key:compact (exec_finish) */
    char report_key[PC_KEY_MAX];       /* the full report (exec_finish) */
    char queue_key[PC_KEY_MAX];
    char lock_key[PC_KEY_MAX];
    char released_channel[PC_KEY_MAX];
    char profile_tag[2 * PC_ID_MAX + 2]; /* "APP:PROFILE" */
    char group[GROUP_MAX + 1];
    char entry_id[ENTRY_ID_MAX + 1];
    char lock_value[LOCK_VALUE_MAX + 1]; /* "" = none */
    char epoch_text[24];
    uint64_t retention_s;
    uint32_t flush_ms;
    uint32_t events_maxlen;
    pc_recorder_clock_fn *now_ms;
    void *clock_ctx;
    pc_recorder_done_cb *on_done;
    void *done_ctx;
    void (*before_write)(void *ctx);
    void *before_write_ctx;
    void (*on_write_failed)(void *ctx, const char *why);
    void *on_write_failed_ctx;

    struct pc_progress_tracker *last; /* per item: the tracker as last seen */
    uint8_t *dirty;                   /* per item: FIELD_* changed since the last flush */
    size_t *dirty_list;               /* the dirty items, in the order they became dirty */
    bool *written;                    /* per item: its four fields are in the hash */
    size_t n_dirty;
    size_t n_done;               /* items whose status is success or fail */
    bool *ev_dirty;              /* per item: units or message changed without a status change */
    struct pc_redis_args events; /* pending: [nf field value...]... */
    size_t n_events;
    struct pc_redis_args first_meta; /* written by the first flush */
    bool first_meta_sent;
    bool layout_written;    /* the progress hash has its layout marker */
    unsigned events_layout; /* 1 or 2 (pc_recorder_opts) */
    bool stream_marked;     /* layout 2: the meta field `events` was sent */
    size_t block_index;
    bool block_known;
    bool meta_dirty;
    char reason[MSG_EVENT_REASON_MAX + 1];
    /* The interrupt event, held back while the engine marks the items it
     * stops (they go in its `items`); pushed before any later event. */
    bool irq_pending;
    char irq_reason[MSG_EVENT_REASON_MAX + 1];
    char *irq_items; /* ids separated by commas, irq_len bytes */
    size_t irq_len;
    size_t irq_cap;

    struct event *tick;    /* flush timer */
    struct event *soon;    /* flushes a backlog at the end of the loop turn */
    struct event *done_ev; /* delivers on_done */
    struct rec_call *calls;
    unsigned progress_in_flight;
    bool lost;
    bool finishing; /* the engine finished: the end chain runs */
    bool done_scheduled;
    int done_rc;
    char done_why[WHY_MAX];
    unsigned end_pending; /* release, XACK and XDEL replies still due */
    bool finish_ok;       /* exec_finish succeeded */
    bool release_after;   /* lock_release waits for exec_finish's reply */
    bool colocated;       /* the exec's keys are in the profile's slot (keys.h) */
};

/* Which call a progress section goes into. */
enum section_call {
    SECTION_FLUSH,  /* exec_progress of the timer or a backlog: events written */
    SECTION_SYNC,   /* exec_progress of pc_recorder_sync (the apply gate) */
    SECTION_FINISH, /* exec_finish: the script decides (events layout 2) */
};

/* Starts the flush of a backlog of EVENTS_BACKLOG_MAX events at the end of
 * the loop turn (unless finishing, lost or already due). */
void rec_flush_backlog_soon(struct pc_recorder *r);
/* The held-back interrupt event, with the items it stopped (if pending). */
void rec_push_interrupt(struct pc_recorder *r);
/* Queues ev after the held-back interrupt event, if any. */
void rec_push_event(struct pc_recorder *r, const struct msg_event *ev);
/* Lists item in the held-back interrupt event; false when it cannot. */
bool rec_irq_list_item(struct pc_recorder *r, size_t item);
/* Queues a progress event of item with tracker t. */
void rec_push_progress_event(struct pc_recorder *r, size_t item,
                             const struct pc_progress_tracker *t);
/* Appends the progress section of the call with everything pending, and
 * forgets it. */
void rec_add_progress_section(struct pc_recorder *r, struct pc_redis_args *a,
                              enum section_call call);

#endif
