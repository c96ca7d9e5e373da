/*
 * sched_page.h - the dashboard page, compiled into the binary from
 * scheduler/web/index.html by the build (scheduler/src/embed.cmake).
 */
#ifndef SCHED_PAGE_H
#define SCHED_PAGE_H

#include <stddef.h>

/* The page's bytes (a NUL follows them; it is not counted in the length). */
extern const unsigned char sched_page_html[];
extern const size_t sched_page_html_len;

#endif /* SCHED_PAGE_H */
