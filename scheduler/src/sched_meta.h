/*
 * sched_meta.h - the contract fields of an execution's meta hash
 * (CONTRACT §3) in their documented order, `report` excluded: the members
 * of the scheduler's execution objects and the lines of `peace status`.
 * The scheduler and the CLI both link this one list.
 */
#ifndef SCHED_META_H
#define SCHED_META_H

#define SCHED_META_NFIELDS 25
extern const char *const sched_meta_fields[SCHED_META_NFIELDS];

#endif /* SCHED_META_H */
