/*
 * local_history.h - the reports of local runs (`peace run --local`), kept
 * under .peace/<app>/<profile>/<flow>/executions/ as <ID>.<cmd>.msgpack
 * (the full report, schemas/README.md), newest CLI_HISTORY_KEEP kept; read
 * by `peace list --local` and `peace report ID --local`.
 */
#ifndef PEACE_CLI_LOCAL_HISTORY_H
#define PEACE_CLI_LOCAL_HISTORY_H

#include <stdbool.h>
#include <stddef.h>

#include "peace/cmd.h"
#include "peace/err.h"
#include "peace/flow.h"
#include "peace/outcome.h"
#include "peace/ulid.h"

/* Reports kept per flow: saving one more removes the oldest. */
#define CLI_HISTORY_KEEP 50
/* Reports listed at most by `peace list --local` (newest first). */
#define CLI_HISTORY_LIST_MAX 1000

/*
 * Saves o (the report of cmd on flow) under root's .peace tree with the
 * execution id id_out holds (the run's, shown by --listen) or, when it holds
 * none ("" or not an id), a new one written to id_out, atomically (temp file + rename), then
 * removes the flow's oldest reports beyond CLI_HISTORY_KEEP. root is the
 * local run's working directory.
 */
int cli_history_save(const char *root, const struct pc_flow *flow, enum pc_cmd cmd,
                     const struct pc_outcome *o, char id_out[PC_ULID_LEN + 1],
                     struct pc_err *err) PC_NODISCARD;

/* `peace list --local [--json]` in the current directory: exit status. */
int cli_history_list(bool json, size_t limit);

/* `peace report ID --local [--json]` in the current directory: exit status. */
int cli_history_report(const char *id, bool json);

/*
 * `peace status ID --local [--json]` in the current directory: the status
 * view of the fleet (exec_view.h) of a finished local execution: its meta
 * (id, cmd, app, profile, flow, queue `local`, status `finished`, outcome,
 * times) and its report. Exit status 0, or 1 when it cannot be read.
 */
int cli_history_status(const char *id, bool json);

#endif /* PEACE_CLI_LOCAL_HISTORY_H */
