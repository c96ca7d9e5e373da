/*
 * sched_argv.c - flags with a value (sched_argv.h). Both spellings are
 * accepted because users type both, and a flag that is only a prefix of the
 * argument ("--queue" of "--queues") is not a match.
 */
#include "sched_argv.h"

#include <string.h>

int sched_argv_value(int argc, char **argv, int *i, const char *name, const char **out)
{
    size_t n = strlen(name);
    const char *a = argv[*i];

    if (strncmp(a, name, n) != 0) {
        return 0;
    }
    if (a[n] == '=') {
        *out = a + n + 1;
        return 1;
    }
    if (a[n] != '\0') {
        return 0;
    }
    if (*i + 1 >= argc) {
        return -1;
    }
    *i += 1;
    *out = argv[*i];
    return 1;
}
