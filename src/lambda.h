/*
 * lambda.h — `atsrecon lambda`: the AWS Lambda custom runtime (provided.al2023;
 * the binary is deployed as `bootstrap`, see `./build.sh lambda`).
 *
 * The loop (Runtime API 2018-06-01, plain HTTP to $AWS_LAMBDA_RUNTIME_API):
 *   init   check the configuration; on failure POST /runtime/init/error
 *          ({"errorMessage","errorType":"Function.ConfigError"}) and return
 *          RC_CONFIG (the process exits, as Lambda expects)
 *   next   GET /runtime/invocation/next, with no timeout (the environment may
 *          be frozen in between; research B.1), no proxy; three transport
 *          failures in a row end the loop with RC_REMOTE
 *   run    ONE reconcile per invocation, by the run function, with a deadline
 *          of Lambda-Runtime-Deadline-Ms minus a margin (lambda_margin_ms)
 *   answer POST /runtime/invocation/ID/response with
 *            {"status":"ok","exit":0,"request_id":ID,"summary":SUMMARY}
 *          (also for RC_LOCKED: status "locked", exit 75 — a skipped run is
 *          not a failure, and an error would make Lambda retry it), or
 *          POST /runtime/invocation/ID/error, Lambda-Runtime-Function-Error-
 *          Type and errorType "Function.<Kind>" (RecordFailures, ConfigError,
 *          AuthRequired, RemoteUnavailable, GuardTripped, QuotaExhausted,
 *          Stale, StateError, InternalError), Content-Type
 *          application/vnd.aws.lambda.error+json, for every other rc.
 *
 * Logs: Lambda's JSON log format (log.h LOG_FMT_LAMBDA: "timestamp", upper-case
 * "level", "message", "requestId"), unless log.format is "text";
 * $AWS_LAMBDA_LOG_LEVEL (TRACE/DEBUG/INFO/WARN/ERROR/FATAL), when set, replaces
 * log.level. Lambda-Runtime-Trace-Id is copied into $_X_AMZN_TRACE_ID.
 *
 * Choices where the sources are silent (ours): the margin (a tenth of the
 * time left, at least 1 s and at most 10 s, never more than half of it); the
 * error types above; a summary over 1 MiB (or not JSON) is replaced by null
 * (the response limit is 6 MiB); the answer POSTs are retried twice.
 */
#ifndef ATSRECON_LAMBDA_H
#define ATSRECON_LAMBDA_H

#include <stdint.h>

#include "config.h"
#include "util.h"

/*
 * One reconcile. deadline_ms is a mono_ms() deadline (util.h, as http.h's),
 * already short of Lambda's by the margin. The function appends its run
 * summary (a JSON value, normally an object) to summary_json, or leaves it
 * empty, and returns the run's rc.
 */
typedef enum rc (*lambda_run_fn)(const struct config *, int64_t deadline_ms,
    struct buf *summary_json);

/* The runtime loop with run as the reconcile. Returns only when the Runtime
 * API is gone (RC_REMOTE) or the configuration is bad (RC_CONFIG). */
enum rc lambda_loop(const struct config *, lambda_run_fn run);

/* `atsrecon lambda`: lambda_loop with the default run function (run_main). */
enum rc lambda_main(const struct config *);

/* For main.c when the configuration cannot even be loaded under `lambda`:
 * POSTs /runtime/init/error (Function.ConfigError, message) if
 * $AWS_LAMBDA_RUNTIME_API is set, so Lambda reports why instead of a bare
 * Runtime.ExitError. RC_OK when the Runtime API took it. */
enum rc lambda_init_error(const char *message);

/* The current invocation's event (the body `next` returned), for the run
 * function; valid only while it runs. NULL outside an invocation. */
const char *lambda_event(void);

/* The margin kept before Lambda's deadline when remaining_ms are left. */
int64_t lambda_margin_ms(int64_t remaining_ms);
/* "Function.StateError" etc. for an rc that fails the invocation. */
const char *lambda_error_type(enum rc);

#endif
