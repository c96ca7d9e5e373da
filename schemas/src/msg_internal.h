/*
 * msg_internal.h - the msgpack reader and writer shared by the codecs.
 *
 * The reader is a bounds-checked cursor over the input bytes: it never
 * allocates, never reads past the end, and checks each container's declared
 * element count against the bytes that remain, so a 5-byte input claiming
 * four billion elements fails at once instead of asking for memory. Strings
 * are returned as (ptr, len) into the input. On failure a reader function
 * returns PC_ESCHEMA (or PC_ELIMIT for depth) and leaves a short static
 * explanation in r->why for the caller's error message.
 *
 * The writer is a msgpack_packer whose output goes to a bounded pc_buf. Its
 * error is sticky: after the first failure every call is a no-op and
 * msg__wr_finish reports it, which keeps encoders free of per-call checks.
 */
#ifndef PEACE_MSG_INTERNAL_H
#define PEACE_MSG_INTERNAL_H

#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "peace/buf.h"
#include "peace/err.h"
#include "peace/ident.h"

/* ------------------------------------------------------------------------ */
/* Reader                                                                   */
/* ------------------------------------------------------------------------ */

struct msg__rd {
    const uint8_t *p; /* borrowed input */
    size_t n;
    size_t off;      /* next byte to read */
    const char *why; /* static text of the last failure */
};

void msg__rd_init(struct msg__rd *r, const void *p, size_t n);

/* True when every byte was consumed. */
bool msg__rd_done(const struct msg__rd *r);

/* Reads a map header; *count entries follow (key, value each). */
int msg__rd_map(struct msg__rd *r, uint32_t *count);

/* Reads an array header. */
int msg__rd_array(struct msg__rd *r, uint32_t *count);

/* Reads a str; (*p, *n) borrow the input. */
int msg__rd_str(struct msg__rd *r, const char **p, size_t *n);

/* Reads a non-negative integer (any uint or int encoding). */
int msg__rd_uint(struct msg__rd *r, uint64_t *v);

/* Consumes a nil and returns true when the next value is nil. */
bool msg__rd_nil(struct msg__rd *r);

/* A signed integer (any integer encoding within int64). */
int msg__rd_int(struct msg__rd *r, int64_t *v);

/* Reads a boolean. */
int msg__rd_bool(struct msg__rd *r, bool *v);

/* True when the next value is a map (nothing consumed). */
bool msg__rd_peek_map(const struct msg__rd *r);

/*
 * Skips one complete value nested at most depth_max containers deep (a
 * scalar is depth 0, [] is 1). PC_ELIMIT when deeper.
 */
int msg__rd_skip(struct msg__rd *r, unsigned depth_max);

/*
 * Reads a map key and finds it in names[0..n_names) (n_names <= 32).
 * Unknown keys and keys already in *seen fail with PC_ESCHEMA, reported in
 * err as "<path>: unknown key ..."; *index is the key's position and its bit
 * is set in *seen.
 */
int msg__rd_key(struct msg__rd *r, const char *const *names, size_t n_names, uint32_t *seen,
                size_t *index, const char *path, struct pc_err *err);

/*
 * Sets err to rc with the printf-formatted path followed by ": " and r->why
 * ("flow.items[2].deps: expected an array"). Returns rc.
 */
int msg__fail(struct pc_err *err, int rc, const struct msg__rd *r, const char *fmt, ...)
    PC_PRINTF(4, 5);

/* PC_ESCHEMA ("<path>: missing \"name\"") when a field of required_mask is not in seen. */
int msg__require(const char *const *names, size_t n_names, uint32_t required_mask, uint32_t seen,
                 const char *path, struct pc_err *err);

/*
 * Checks the envelope of a top-level map message: within max bytes, a map,
 * with "v" == MSG_VERSION. Every error is prefixed by what ("job").
 */
int msg__check_version(const void *p, size_t n, size_t max, const char *what, struct pc_err *err);

/* The same for a message read in versions vmin..vmax; *version gets "v". */
int msg__check_version_in(const void *p, size_t n, size_t max, uint64_t vmin, uint64_t vmax,
                          const char *what, uint64_t *version, struct pc_err *err);

/* True when (p, n) holds a NUL byte (strings we keep as C strings must not). */
bool msg__has_nul(const char *p, size_t n);

/* Reads a str holding an identifier into out; errors name path. */
int msg__rd_id(struct msg__rd *r, struct pc_id *out, const char *path, struct pc_err *err);

/*
 * Reads a str of at most max bytes without NUL bytes into a new C string
 * (*out, returns owned). PC_ESCHEMA, PC_ELIMIT or PC_ENOMEM; errors name path.
 */
int msg__rd_text(struct msg__rd *r, size_t max, char **out, const char *path, struct pc_err *err);

/* ------------------------------------------------------------------------ */
/* Writer                                                                   */
/* ------------------------------------------------------------------------ */

struct msg__wr {
    msgpack_packer pk;
    struct pc_buf buf; /* owned until msg__wr_finish */
    int rc;            /* first failure, sticky */
};

void msg__wr_init(struct msg__wr *w, size_t max);
void msg__wr_map(struct msg__wr *w, uint32_t n);
void msg__wr_array(struct msg__wr *w, uint32_t n);
void msg__wr_str(struct msg__wr *w, const char *p, size_t n);
void msg__wr_cstr(struct msg__wr *w, const char *s);
void msg__wr_uint(struct msg__wr *w, uint64_t v);
void msg__wr_int(struct msg__wr *w, int64_t v); /* the smallest encoding */
void msg__wr_nil(struct msg__wr *w);
void msg__wr_bool(struct msg__wr *w, bool v);
/* Appends bytes that already are one msgpack value. */
void msg__wr_raw(struct msg__wr *w, const void *p, size_t n);

/*
 * On success moves the encoding into out (uninitialised caller storage). On
 * failure frees it and reports PC_ELIMIT ("<what>: larger than N bytes") or
 * PC_ENOMEM. Always releases w.
 */
int msg__wr_finish(struct msg__wr *w, struct pc_buf *out, const char *what, struct pc_err *err);

/* Releases w without producing output (after an encoder's own validation failed). */
void msg__wr_cleanup(struct msg__wr *w);

#endif /* PEACE_MSG_INTERNAL_H */
