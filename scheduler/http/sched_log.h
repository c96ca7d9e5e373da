/*
 * sched_log.h - peace-scheduler's log: one line per event on stderr,
 * "<UTC time> peace-scheduler: <text>", CR and LF replaced so a value can
 * never forge a line. Never called from a signal handler.
 */
#ifndef SCHED_LOG_H
#define SCHED_LOG_H

#include "peace/err.h"

void sched_log(const char *fmt, ...) PC_PRINTF(1, 2);

#endif /* SCHED_LOG_H */
