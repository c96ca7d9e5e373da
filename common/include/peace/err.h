/*
 * err.h - the one error model of peace fleet.
 *
 * Every fallible function returns an int: 0 on success, a negative code on
 * failure. System failures are -errno, captured at once; project failures use
 * the PC_E* block below (from -1000 down). Detail goes into an optional
 * caller-owned struct pc_err (may be NULL everywhere), filled by pc_err_set().
 */
#ifndef PEACE_ERR_H
#define PEACE_ERR_H

#include <stddef.h>

#if defined(__GNUC__)
#define PC_PRINTF(fmt_idx, args_idx) __attribute__((format(printf, fmt_idx, args_idx)))
#define PC_NODISCARD                 __attribute__((warn_unused_result))
#else
#define PC_PRINTF(fmt_idx, args_idx)
#define PC_NODISCARD
#endif

enum pc_errcode {
    PC_OK = 0,
    PC_EINVAL = -1001,    /* invalid input: a flow, a flag, a param */
    PC_ESCHEMA = -1002,   /* wire message malformed or of an unknown version */
    PC_ELIMIT = -1003,    /* input exceeds a size, length or depth limit */
    PC_ENOTFOUND = -1004, /* a named thing does not exist */
    PC_EITEM = -1005,     /* an item function failed */
    PC_ESTALE = -1006,    /* stored states differ from discovered ones */
    PC_EREDIS = -1007,    /* Redis replied with an error or went away */
    PC_EFENCED = -1008,   /* the lease was lost: writes are refused */
    PC_EINTERNAL = -1009, /* a broken invariant (a bug) */
    PC_ENOMEM = -1010,    /* allocation failed */
    PC_EIO = -1011,       /* an I/O failure without a usable errno */
    PC_ECANCELED = -1012, /* an item stopped early: its cancel token asked it to */
};

#define PC_ERR_MSG_MAX 256

/* Error record. Caller storage; no heap. */
struct pc_err {
    int code;
    char msg[PC_ERR_MSG_MAX];
};

/*
 * Records code and a printf-formatted message into err (err may be NULL).
 * The message is truncated to fit; CR and LF are replaced by spaces so the
 * text is safe in protocols and log lines. Returns code, so callers can write
 * `return pc_err_set(err, PC_EINVAL, "...")`.
 */
int pc_err_set(struct pc_err *err, int code, const char *fmt, ...) PC_PRINTF(3, 4);

/* Prefixes err->msg with "prefix: " (for context as an error travels up). */
void pc_err_prefix(struct pc_err *err, const char *fmt, ...) PC_PRINTF(2, 3);

/* Resets err to PC_OK and an empty message (err may be NULL). */
void pc_err_clear(struct pc_err *err);

/* Returns a static, stable short name for a code ("EINVAL", "ENOENT"...). */
const char *pc_strerror(int code);

#endif /* PEACE_ERR_H */
