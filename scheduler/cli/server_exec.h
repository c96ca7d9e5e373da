/*
 * server_exec.h - what the CLI's subcommands share when they talk to
 * peace-scheduler (--server URL): connecting, one call turned into a JSON
 * document or a one-line reason, an execution's report, stored states.
 */
#ifndef PEACE_CLI_SERVER_EXEC_H
#define PEACE_CLI_SERVER_EXEC_H

#include <stdbool.h>

#include <jansson.h>

#include "cli.h"
#include "peace/err.h"
#include "peace/outcome.h"
#include "server_http.h"

/* Longest request path the CLI builds (/v1/states/APP/PROFILE/FLOW at most). */
#define CLI_SERVER_PATH_MAX 512

/*
 * A client for o->server_url and o->token. On failure prints the one-line
 * reason and returns 1 (the exit status); *out is owned on 0.
 */
int cli_server_open(const struct cli_opts *o, struct cli_http **out) PC_NODISCARD;

/*
 * One call; a 2xx response's body parsed into *doc (owned, json_decref).
 * Otherwise err holds one line: the {"error","code"} of the body (401 adds
 * how to give a token), and the result says what kind of failure it was:
 *   PC_EIO       no response, or a 5xx (worth trying again later)
 *   PC_ENOTFOUND a 404
 *   PC_EINVAL    another 4xx
 *   PC_ESCHEMA   a 2xx whose body is not JSON
 */
int cli_server_call(struct cli_http *h, enum evhttp_cmd_type method, const char *path,
                    const char *body, size_t body_len, json_t **doc,
                    struct pc_err *err) PC_NODISCARD;

/* Same for a response already received (takes nothing; resp stays the caller's). */
int cli_server_reply(const struct cli_http *h, const struct cli_http_response *resp, json_t **doc,
                     struct pc_err *err) PC_NODISCARD;

/* The one-line reason of a non-2xx response into err; returns the kind as above. */
int cli_server_failure(const struct cli_http *h, const struct cli_http_response *resp,
                       struct pc_err *err) PC_NODISCARD;

/*
 * The `report` of a GET /v1/executions/{id} document into out (owned on
 * success). PC_ENOTFOUND when it is null (not finished yet).
 */
int cli_server_outcome(const json_t *exec_doc, struct pc_outcome *out,
                       struct pc_err *err) PC_NODISCARD;

/*
 * GET /v1/states/APP/PROFILE/FLOW and print the current and/or goal map as
 * "label:\n  item: json" lines, exactly as the Redis mode prints them.
 */
int cli_server_states_print(struct cli_http *h, const char *app, const char *profile,
                            const char *flow, const char *current_label, const char *goal_label,
                            struct pc_err *err) PC_NODISCARD;

#endif /* PEACE_CLI_SERVER_EXEC_H */
