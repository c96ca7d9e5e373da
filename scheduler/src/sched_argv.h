/*
 * sched_argv.h - command-line flags with a value, as peace-scheduler and
 * the peace CLI both take them.
 */
#ifndef SCHED_ARGV_H
#define SCHED_ARGV_H

/*
 * Matches argv[*i] as "--name VALUE" or "--name=VALUE" (name includes the
 * dashes). Returns 1 when taken: *out borrows the value from argv and *i
 * stands on the last argument used; 0 when argv[*i] is another flag; -1
 * when the value is missing.
 */
int sched_argv_value(int argc, char **argv, int *i, const char *name, const char **out);

#endif /* SCHED_ARGV_H */
