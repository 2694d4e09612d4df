/*
 * fuzz_lambda — the Lambda custom runtime's reading of the Runtime API
 * (lambda.c): `next` answers (status, Lambda-Runtime-Aws-Request-Id, -Deadline-Ms,
 * -Trace-Id, the event body), the answers to its response and error POSTs,
 * and the run summary it validates (here the event itself, as the run
 * function echoes it). The loop runs until the answers run out (three failed
 * `next` calls end it; nothing sleeps in the fuzz build).
 *
 * The run function's result comes from the event's first byte, so every
 * kind of answer (response, locked, each error type) is reached.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "json.h"
#include "lambda.h"
#include "wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static long invocations;

static enum rc
run(const struct config *cfg, int64_t deadline_ms, struct buf *summary)
{
	static const enum rc rcs[] = { RC_OK, RC_RECORD, RC_LOCKED, RC_CONFIG, RC_AUTH,
		RC_REMOTE, RC_GUARD, RC_QUOTA, RC_STATE, RC_BUG };
	const char *ev = lambda_event();

	(void)cfg;
	(void)deadline_ms;
	invocations++;
	if (ev == NULL)
		abort();	/* the event is there while the run runs */
	buf_adds(summary, ev);
	/* '{' (an event object) runs OK; other first bytes give the other results */
	return rcs[(unsigned char)(ev[0] - '{') % (sizeof(rcs) / sizeof(rcs[0]))];
}

static struct config *
target_config(void)
{
	static struct config cfg;
	const char *kv[] = { "ATSRECON_STATE_URL=s3://atsrecon-test/fuzz", "ATSRECON_LOG_LEVEL=debug",
		NULL };

	fuzz_quiet_logs();
	json_init();
	setenv("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9001", 1);
	setenv("AWS_ACCESS_KEY_ID", "AKIDFUZZ", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "fuzz-secret-key", 1);
	unsetenv("AWS_LAMBDA_LOG_LEVEL");
	if (fuzz_config(&cfg, kv) != RC_OK)
		abort();
	return &cfg;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct config *cfg;
	enum rc rc;

	if (cfg == NULL)
		cfg = target_config();
	wire_load(data, size);
	invocations = 0;
	rc = lambda_loop(cfg, run);
	if (rc != RC_REMOTE)	/* only a gone Runtime API ends the loop here */
		abort();
	if (lambda_event() != NULL)
		abort();
	if (getenv("FUZZ_LOG") != NULL)
		fprintf(stderr, "fuzz lambda: %ld invocations, %zu requests\n", invocations,
		    wire_requests());
	wire_reset();
	return 0;
}
