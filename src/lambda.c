/* lambda.c — see lambda.h. */
#define _POSIX_C_SOURCE 200809L
#include "lambda.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http.h"
#include "jtree.h"
#include "log.h"
#include "mapping.h"
#include "run.h"
#include "s3.h"

#define API_VERSION "2018-06-01"
#define MAX_EVENT (6 * 1024 * 1024 + 100)	/* Lambda's payload limit */
#define MAX_SUMMARY (1024 * 1024)
#define NEXT_FAILURES 3
#define ERROR_CT "application/vnd.aws.lambda.error+json"

static const char *current_event;

const char *
lambda_event(void)
{
	return current_event;
}

int64_t
lambda_margin_ms(int64_t remaining)
{
	int64_t m = remaining / 10;

	if (m < 1000)
		m = 1000;
	if (m > 10000)
		m = 10000;
	if (m > remaining / 2)
		m = remaining > 0 ? remaining / 2 : 0;
	return m;
}

const char *
lambda_error_type(enum rc rc)
{
	switch (rc) {
	case RC_OK: return NULL;
	case RC_RECORD: return NULL;	/* a completed run: answered, like cron stays quiet on 1 */
	case RC_USAGE:
	case RC_CONFIG: return "Function.ConfigError";
	case RC_AUTH: return "Function.AuthRequired";
	case RC_REMOTE: return "Function.RemoteUnavailable";
	case RC_GUARD: return "Function.GuardTripped";
	case RC_QUOTA: return "Function.QuotaExhausted";
	case RC_STALE: return "Function.Stale";
	case RC_STATE: return "Function.StateError";
	case RC_LOCKED: return NULL;
	case RC_BUG: return "Function.InternalError";
	}
	return "Function.InternalError";
}

/* $AWS_LAMBDA_LOG_LEVEL and the log format (lambda.h). */
static void
lambda_logging(const struct config *cfg)
{
	const char *v = getenv("AWS_LAMBDA_LOG_LEVEL"), *f = cfg_str(cfg, OPT_LOG_FORMAT);
	enum log_level lvl = log_get_level();

	if (v != NULL && *v != '\0') {
		if (strcasecmp(v, "TRACE") == 0 || strcasecmp(v, "DEBUG") == 0)
			lvl = LOG_DEBUG;
		else if (strcasecmp(v, "INFO") == 0)
			lvl = LOG_INFO;
		else if (strcasecmp(v, "WARN") == 0)
			lvl = LOG_WARN;
		else if (strcasecmp(v, "ERROR") == 0 || strcasecmp(v, "FATAL") == 0)
			lvl = LOG_ERROR;
	}
	log_init(lvl, f != NULL && strcmp(f, "text") == 0 ? LOG_FMT_TEXT : LOG_FMT_LAMBDA);
}

/* What init checks: the configuration a Lambda run cannot do without. */
static int
config_problem(const struct config *cfg, struct buf *why)
{
	struct mapping m;
	char *b = NULL, *p = NULL;
	const char *url = cfg_str(cfg, OPT_STATE_URL);

	if (url == NULL || *url == '\0') {
		buf_adds(why, "state.url is not set: on Lambda the state lives in S3 "
		    "(ATSRECON_STATE_URL=s3://bucket/prefix)");
		return 1;
	}
	if (s3_parse_url(url, &b, &p, why) != RC_OK)
		return 1;
	free(b);
	free(p);
	if (getenv("AWS_ACCESS_KEY_ID") == NULL || *getenv("AWS_ACCESS_KEY_ID") == '\0' ||
	    getenv("AWS_SECRET_ACCESS_KEY") == NULL || *getenv("AWS_SECRET_ACCESS_KEY") == '\0') {
		buf_adds(why, "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set");
		return 1;
	}
	if (mapping_load(&m, cfg, why) != RC_OK)
		return 1;
	mapping_free(&m);
	return 0;
}

struct rt {
	struct http *h;
	char *base;		/* http://HOST:PORT/2018-06-01 */
};

/* POSTs body to base+path; returns RC_OK when the API answered 2xx. */
static enum rc
rt_post(struct rt *rt, const char *path, const char *body, size_t len, const char *ctype,
    const char *const *hdrs)
{
	struct http_job job;
	struct http_policy pol;
	char *url = xasprintf("%s%s", rt->base, path);
	enum rc rc;

	memset(&job, 0, sizeof(job));
	memset(&pol, 0, sizeof(pol));
	job.req.method = "POST";
	job.req.url = url;
	job.req.body = body;
	job.req.body_len = len;
	job.req.content_type = ctype;
	job.req.headers = hdrs;
	job.req.credential = 1;	/* bookkeeping, not a data write */
	job.idempotent = 1;	/* a second answer is refused (403), never doubled */
	pol.concurrency = 1;
	pol.max_retries = 2;
	pol.backoff_base_ms = 100;
	rc = http_call(rt->h, &job, &pol);
	if (rc == RC_OK && (job.resp.status < 200 || job.resp.status > 299)) {
		struct buf safe = BUF_INIT;
		text_escape(&safe, job.resp.body.p ? job.resp.body.p : "",
		    job.resp.body.len > 300 ? 300 : job.resp.body.len);
		log_error("lambda", "POST %s: %ld %s", path, job.resp.status, safe.p ? safe.p : "");
		buf_free(&safe);
		rc = RC_REMOTE;
	} else if (rc != RC_OK)
		log_error("lambda", "POST %s: %s: %s", path, http_fail_str(job.resp.fail), job.resp.err);
	http_resp_free(&job.resp);
	free(url);
	return rc;
}

static enum rc
post_error(struct rt *rt, const char *path, const char *type, const char *message)
{
	struct buf body = BUF_INIT, th = BUF_INIT;
	const char *h[2];
	enum rc rc;

	buf_addf(&th, "Lambda-Runtime-Function-Error-Type: %s", type);
	h[0] = th.p;
	h[1] = NULL;
	buf_adds(&body, "{\"errorMessage\":");
	json_escape(&body, message, strlen(message));
	buf_addf(&body, ",\"errorType\":\"%s\"}", type);
	redact_secrets(&body);
	rc = rt_post(rt, path, body.p, body.len, ERROR_CT, h);
	buf_free(&body);
	buf_free(&th);
	return rc;
}

/* One invocation: run, then answer. */
static void
invoke(struct rt *rt, const struct config *cfg, lambda_run_fn run, const char *id,
    int64_t deadline_epoch, const struct buf *event)
{
	struct buf summary = BUF_INIT, body = BUF_INIT, path = BUF_INIT;
	int64_t left = deadline_epoch - now_ms(), margin = lambda_margin_ms(left);
	int64_t t0 = mono_ms();
	const char *type;
	enum rc rc;

	log_info("lambda", "invocation %s: %lld ms until the deadline, running with a %lld ms "
	    "margin", id, (long long)left, (long long)margin);
	current_event = event->p != NULL ? event->p : "";
	if (left - margin <= 0) {
		log_error("lambda", "no time left to run (deadline in %lld ms)", (long long)left);
		rc = RC_REMOTE;
	} else
		rc = run(cfg, mono_ms() + left - margin, &summary);
	current_event = NULL;
	type = lambda_error_type(rc);
	if (type == NULL) {
		cJSON *j = NULL;
		struct buf err = BUF_INIT;

		if (summary.len > 0 && summary.len <= MAX_SUMMARY &&
		    (j = json_parse(summary.p, summary.len, &err)) == NULL)
			log_warn("lambda", "the run summary is not JSON (%s); answering without it",
			    err.p ? err.p : "?");
		else if (summary.len > MAX_SUMMARY)
			log_warn("lambda", "the run summary is %zu bytes; answering without it",
			    summary.len);
		buf_free(&err);
		buf_addf(&body, "{\"status\":\"%s\",\"exit\":%d,\"request_id\":",
		    rc == RC_OK ? "ok" : rc == RC_RECORD ? "record_failures" : "locked", rc_exit_status(rc));
		json_escape(&body, id, strlen(id));
		buf_addf(&body, ",\"duration_ms\":%lld,\"summary\":", (long long)(mono_ms() - t0));
		if (j != NULL)
			buf_add(&body, summary.p, summary.len);
		else
			buf_adds(&body, "null");
		buf_adds(&body, "}");
		cJSON_Delete(j);
		redact_secrets(&body);
		if (rc == RC_LOCKED)
			log_warn("lambda", "invocation %s skipped: another run holds the state", id);
		buf_addf(&path, "/runtime/invocation/%s/response", id);
		if (rt_post(rt, path.p, body.p, body.len, "application/json", NULL) == RC_OK)
			log_info("lambda", "invocation %s answered: %s in %lld ms", id, rc_str(rc),
			    (long long)(mono_ms() - t0));
	} else {
		buf_addf(&body, "atsrecon run failed: %s (exit %d)", rc_str(rc), rc_exit_status(rc));
		buf_addf(&path, "/runtime/invocation/%s/error", id);
		if (post_error(rt, path.p, type, body.p) == RC_OK)
			log_info("lambda", "invocation %s answered: error %s in %lld ms", id, type,
			    (long long)(mono_ms() - t0));
	}
	buf_free(&summary);
	buf_free(&body);
	buf_free(&path);
}

/* A request id goes into a URL path: only the characters ids are made of. */
static int
id_ok(const char *id)
{
	size_t n = strlen(id);

	if (n == 0 || n > 128)
		return 0;
	for (; *id != '\0'; id++)
		if (!((*id >= 'a' && *id <= 'z') || (*id >= 'A' && *id <= 'Z') ||
		    (*id >= '0' && *id <= '9') || *id == '-' || *id == '_' || *id == '.'))
			return 0;
	return 1;
}

enum rc
lambda_loop(const struct config *cfg, lambda_run_fn run)
{
	const char *api = getenv("AWS_LAMBDA_RUNTIME_API");
	struct http_cfg hc;
	struct rt rt;
	struct buf why = BUF_INIT;
	int failures = 0;
	enum rc rc = RC_CONFIG;

	lambda_logging(cfg);
	memset(&rt, 0, sizeof(rt));
	if (api == NULL || *api == '\0' || strpbrk(api, "/?#@ ") != NULL) {
		log_error("lambda", "AWS_LAMBDA_RUNTIME_API is not set (or not HOST:PORT): "
		    "`atsrecon lambda` runs only as a Lambda custom runtime");
		return RC_CONFIG;
	}
	memset(&hc, 0, sizeof(hc));
	hc.no_proxy = 1;
	hc.connect_timeout_ms = 2000;
	hc.timeout_ms = 30000;		/* the answers; `next` has none */
	hc.max_body = MAX_EVENT;
	if ((rc = http_new(&hc, &rt.h)) != RC_OK)
		return rc;
	rt.base = xasprintf("http://%s/" API_VERSION, api);
	if (config_problem(cfg, &why)) {
		struct buf msg = BUF_INIT;

		log_error("lambda", "configuration: %s", why.p);
		buf_addf(&msg, "atsrecon configuration error: %s", why.p);
		post_error(&rt, "/runtime/init/error", "Function.ConfigError", msg.p);
		buf_free(&msg);
		rc = RC_CONFIG;
		goto out;
	}
	log_info("lambda", "runtime ready (Runtime API %s)", api);
	for (;;) {
		struct http_req req;
		struct http_resp resp;
		const char *id, *dl, *trace;
		int64_t deadline = 0;
		char *url = xasprintf("%s/runtime/invocation/next", rt.base);

		memset(&req, 0, sizeof(req));
		req.method = "GET";
		req.url = url;
		req.no_timeout = 1;
		rc = http_do(rt.h, &req, &resp);
		free(url);
		if (rc != RC_OK || resp.status != 200) {
			if (rc == RC_OK)
				log_error("lambda", "GET next: %ld", resp.status);
			else
				log_error("lambda", "GET next: %s: %s", http_fail_str(resp.fail), resp.err);
			http_resp_free(&resp);
			if (rc == RC_CONFIG || ++failures >= NEXT_FAILURES) {
				log_error("lambda", "the Runtime API is gone; exiting");
				rc = RC_REMOTE;
				goto out;
			}
			sleep_ms(100L * failures);
			continue;
		}
		failures = 0;
		id = http_header(&resp, "lambda-runtime-aws-request-id");
		dl = http_header(&resp, "lambda-runtime-deadline-ms");
		trace = http_header(&resp, "lambda-runtime-trace-id");
		if (id == NULL || !id_ok(id)) {
			log_error("lambda", "an invocation without a usable request id; skipped");
			http_resp_free(&resp);
			continue;
		}
		if (dl == NULL || parse_i64(dl, &deadline) != 0 || deadline <= 0) {
			deadline = now_ms() + cfg_int(cfg, OPT_RUN_MAX_RUNTIME) * 1000;
			log_warn("lambda", "no usable Lambda-Runtime-Deadline-Ms; using run.max_runtime");
		}
		if (trace != NULL)
			setenv("_X_AMZN_TRACE_ID", trace, 1);
		else
			unsetenv("_X_AMZN_TRACE_ID");
		log_set_request_id(id);
		invoke(&rt, cfg, run, id, deadline, &resp.body);
		log_set_request_id(NULL);
		http_resp_free(&resp);
	}
out:
	buf_free(&why);
	free(rt.base);
	http_free(rt.h);
	return rc;
}

enum rc
lambda_init_error(const char *message)
{
	const char *api = getenv("AWS_LAMBDA_RUNTIME_API");
	struct http_cfg hc;
	struct rt rt;
	enum rc rc;

	if (api == NULL || *api == '\0' || strpbrk(api, "/?#@ ") != NULL)
		return RC_CONFIG;
	memset(&hc, 0, sizeof(hc));
	hc.no_proxy = 1;
	hc.connect_timeout_ms = 2000;
	hc.timeout_ms = 10000;
	if ((rc = http_new(&hc, &rt.h)) != RC_OK)
		return rc;
	rt.base = xasprintf("http://%s/" API_VERSION, api);
	rc = post_error(&rt, "/runtime/init/error", "Function.ConfigError", message);
	free(rt.base);
	http_free(rt.h);
	return rc;
}

enum rc
lambda_main(const struct config *cfg)
{
	return lambda_loop(cfg, run_lambda);
}
