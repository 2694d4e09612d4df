/*
 * metrics.c — see metrics.h. The facts it relies on:
 *
 * Format (prometheus/docs docs/instrumenting/exposition_formats.md, text
 * format 0.0.4): UTF-8, "\n" line ends, the last line ends with one too; at
 * most one HELP and one TYPE line per metric, before its samples, all of its
 * samples in one group; label values escape backslash, double quote and line
 * feed as \\ \" \n; HELP text escapes backslash and line feed. No sample
 * timestamps: the Pushgateway rejects pushes that carry them and the
 * textfile collector does not support them.
 *
 * Names (docs/practices/naming.md): one application prefix (atsrecon_), base
 * units (seconds; ratios 0..1 end in _ratio), Unix times end in
 * _timestamp_seconds, _total only for counters — and there are none (see
 * metrics.h: every value is a gauge of the last run). `promtool check metrics`
 * is clean on the output (tests/integration/metrics.sh).
 *
 * The metrics (all gauges; labels are bounded sets, never an id or an email):
 *
 *   atsrecon_build_info{version}                      1
 *   atsrecon_last_run_info{mode}                      1
 *   atsrecon_last_run_timestamp_seconds               when it finished (success or not)
 *   atsrecon_last_run_duration_seconds
 *   atsrecon_last_run_exit_status                     DESIGN.md §7
 *   atsrecon_last_success_timestamp_seconds           exit 0 or 1; 0: never (so that
 *                                                     "time() - x > N" fires for a tenant
 *                                                     that never succeeded)
 *   atsrecon_last_run_guard_tripped                   0 or 1
 *   atsrecon_last_run_candidates{state}               in_sync drifted repaired failed
 *                                                     deferred, always all five; they
 *                                                     overlap (repaired and failed ones
 *                                                     drifted): never sum them
 *   atsrecon_last_run_candidates_seen                 candidates the accuracy looked at
 *   atsrecon_last_run_candidates_linked               of those, linked to a contact
 *   atsrecon_last_run_accuracy_ratio{phase}           before | after the writes
 *   atsrecon_last_run_field_accuracy_ratio{field}     per mapped Keap field, after the
 *                                                     writes (the report keeps no "before"
 *                                                     per field)
 *   atsrecon_last_run_drift_rows{kind}                every drift kind of diff.h (zeros
 *                                                     included, so a series never vanishes
 *                                                     when a kind stops occurring), then any
 *                                                     other row kind the run reported
 *   atsrecon_last_run_drift_actions{action}           repaired failed reported planned
 *                                                     deferred skipped (+ others seen)
 *   atsrecon_last_run_api_requests{endpoint,class}    Keap requests (report api[]) by
 *                                                     class 2xx 4xx 429 5xx transport, and
 *                                                     "other" when calls exceed their sum
 *   atsrecon_last_run_http_retries                    report retries
 *   atsrecon_last_run_http_throttled_responses        report 429s
 *   atsrecon_last_run_http_attempts                   http_stats requests (if given)
 *   atsrecon_last_run_http_wait_seconds               http_stats waited_ms (if given)
 *   atsrecon_keap_quota_remaining                     only when known
 *   atsrecon_keap_refresh_token_expiry_timestamp_seconds  only when known
 *
 * Choices where the research is silent: the Pushgateway group is
 * job="atsrecon", instance=<tenant> (metrics.instance, default the state
 * directory's base name): one group per tenant, which is what the instance
 * label names here, not a machine. The push is a PUT, which replaces the
 * whole group, so series of an old run (a field no longer mapped) disappear;
 * the last success time is nevertheless always present because it comes from
 * the state (meta last_good_run_ms), not from this run. A push is retried
 * once (transport errors, 408/429/5xx) within METRICS_PUSH_BUDGET_MS. The
 * textfile is written with mode 0644: node_exporter usually runs as another
 * user. Numbers: counts as integers, times as seconds with milliseconds,
 * ratios with 6 significant digits.
 */
#define _POSIX_C_SOURCE 200809L
#include "metrics.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diff.h"
#include "log.h"

#ifndef ATSRECON_VERSION
#define ATSRECON_VERSION "dev"
#endif

#define MAX_KINDS 64		/* distinct drift kinds / actions exported, at most */

void
metrics_escape_label(struct buf *out, const char *s)
{
	size_t n, i, k;

	if (s == NULL)
		return;
	n = strlen(s);
	for (i = 0; i < n;) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\\') {
			buf_adds(out, "\\\\");
			i++;
		} else if (c == '"') {
			buf_adds(out, "\\\"");
			i++;
		} else if (c == '\n') {
			buf_adds(out, "\\n");
			i++;
		} else if (c < 0x80) {
			buf_addc(out, (char)c);
			i++;
		} else if ((k = utf8_seq((const unsigned char *)s + i, n - i)) > 0) {
			buf_add(out, s + i, k);
			i += k;
		} else {
			buf_adds(out, "\xef\xbf\xbd");	/* U+FFFD */
			i++;
		}
	}
}

/* HELP and TYPE of one gauge. */
static void
head(struct buf *b, const char *name, const char *help)
{
	buf_addf(b, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name);
}

/* name{label="value"} (value escaped), without the number. */
static void
series1(struct buf *b, const char *name, const char *label, const char *value)
{
	buf_addf(b, "%s{%s=\"", name, label);
	metrics_escape_label(b, value);
	buf_adds(b, "\"}");
}

static void
num_ll(struct buf *b, long long v)
{
	buf_addf(b, " %lld\n", v);
}

/* Unix time from ms: seconds with exactly three decimals. */
static void
num_ts(struct buf *b, int64_t ms)
{
	if (ms < 0)
		ms = 0;
	buf_addf(b, " %lld.%03lld\n", (long long)(ms / 1000), (long long)(ms % 1000));
}

static void
num_ratio(struct buf *b, double v)
{
	if (!(v >= 0))		/* NaN too */
		v = 0;
	if (v > 1)
		v = 1;
	buf_addf(b, " %.6g\n", v);
}

static void
gauge_ll(struct buf *b, const char *name, const char *help, long long v)
{
	head(b, name, help);
	buf_adds(b, name);
	num_ll(b, v);
}

static void
gauge_ts(struct buf *b, const char *name, const char *help, int64_t ms)
{
	head(b, name, help);
	buf_adds(b, name);
	num_ts(b, ms);
}

/* A bounded tally of names (drift kinds, actions) in first-seen order. */
struct tally {
	const char *name[MAX_KINDS];
	long long n[MAX_KINDS];
	size_t len;
};

static void
tally_add(struct tally *t, const char *name, long long by)
{
	size_t i;

	if (name == NULL)
		name = "";
	for (i = 0; i < t->len; i++)
		if (strcmp(t->name[i], name) == 0) {
			t->n[i] += by;
			return;
		}
	if (t->len == MAX_KINDS)
		return;
	t->name[t->len] = name;
	t->n[t->len++] = by;
}

static void
tally_emit(struct buf *b, const char *metric, const char *label, const struct tally *t)
{
	size_t i;

	for (i = 0; i < t->len; i++) {
		series1(b, metric, label, t->name[i]);
		num_ll(b, t->n[i]);
	}
}

/* The build, and the last run's mode, time, duration, exit and guard. */
static void
render_run(const struct report *r, const struct metrics_extra *x, struct buf *b)
{
	int exit_status = x != NULL && x->exit_status >= 0 ? x->exit_status : r->exit_status;
	double dur = x != NULL && x->duration_s >= 0 ? x->duration_s :
	    (r->finished_ms > r->started_ms ? (double)(r->finished_ms - r->started_ms) / 1000.0 : 0);

	head(b, "atsrecon_build_info", "The atsrecon version that made these metrics (always 1).");
	series1(b, "atsrecon_build_info", "version", ATSRECON_VERSION);
	num_ll(b, 1);
	head(b, "atsrecon_last_run_info", "The last run's mode (always 1).");
	series1(b, "atsrecon_last_run_info", "mode", r->mode != NULL ? r->mode : "");
	num_ll(b, 1);
	gauge_ts(b, "atsrecon_last_run_timestamp_seconds",
	    "When the last run finished, successful or not (Unix time).",
	    r->finished_ms > 0 ? r->finished_ms : r->started_ms);
	head(b, "atsrecon_last_run_duration_seconds", "How long the last run took.");
	buf_addf(b, "atsrecon_last_run_duration_seconds %.3f\n", dur < 0 ? 0 : dur);
	gauge_ll(b, "atsrecon_last_run_exit_status",
	    "The last run's exit status (0 in sync, 1 record failures; see atsrecon(1)).",
	    exit_status);
	gauge_ts(b, "atsrecon_last_success_timestamp_seconds",
	    "When a run last ended with exit status 0 or 1 (Unix time; 0 if never).",
	    x != NULL ? x->last_success_ms : 0);
	gauge_ll(b, "atsrecon_last_run_guard_tripped",
	    "1 if a guard stopped the last run before any write, else 0.",
	    (x != NULL && x->guard_tripped) || exit_status == rc_exit_status(RC_GUARD));
}

/* Candidates by state, seen and linked; accuracy before and after, per field. */
static void
render_accuracy(const struct report *r, struct buf *b)
{
	static const char *const st[] = { "in_sync", "drifted", "repaired", "failed", "deferred" };
	const size_t v[] = { r->in_sync, r->drifted, r->repaired, r->failed, r->deferred };
	size_t i;

	head(b, "atsrecon_last_run_candidates", "Candidates of the last run by state; the states "
	    "overlap (repaired and failed candidates are drifted ones), do not sum them.");
	for (i = 0; i < ARRAY_LEN(st); i++) {
		series1(b, "atsrecon_last_run_candidates", "state", st[i]);
		num_ll(b, (long long)v[i]);
	}
	gauge_ll(b, "atsrecon_last_run_candidates_seen",
	    "Candidates in the snapshot that the last run's accuracy looked at.",
	    (long long)r->candidates);
	gauge_ll(b, "atsrecon_last_run_candidates_linked",
	    "Candidates linked to a Keap contact in the last run.", (long long)r->linked);

	head(b, "atsrecon_last_run_accuracy_ratio", "Share of mapped values that agree between the "
	    "ATS and Keap over the candidates in scope, before and after the last run's writes.");
	series1(b, "atsrecon_last_run_accuracy_ratio", "phase", "before");
	num_ratio(b, r->before_pct / 100.0);
	series1(b, "atsrecon_last_run_accuracy_ratio", "phase", "after");
	num_ratio(b, r->after_pct / 100.0);
	if (r->nfields > 0) {
		head(b, "atsrecon_last_run_field_accuracy_ratio", "Share of candidates in scope whose "
		    "Keap value of this field agrees with the ATS, after the last run's writes.");
		for (i = 0; i < r->nfields; i++) {
			const struct report_field *f = &r->fields[i];
			series1(b, "atsrecon_last_run_field_accuracy_ratio", "field", f->field);
			num_ratio(b, f->total ? (double)f->agree / (double)f->total : 1.0);
		}
	}
}

/* The drift rows by kind and by action, every kind and action listed. */
static void
render_drift(const struct report *r, struct buf *b)
{
	static const char *const actions[] = { "repaired", "failed", "reported", "planned",
		"deferred", "skipped" };
	struct tally kinds, acts;
	size_t i;

	kinds.len = acts.len = 0;
	for (i = 0; i < DRIFT__MAX; i++)
		tally_add(&kinds, drift_kind_str((enum drift_kind)i), 0);
	for (i = 0; i < ARRAY_LEN(actions); i++)
		tally_add(&acts, actions[i], 0);
	for (i = 0; i < r->nrows; i++) {
		struct report_row view;
		tally_add(&kinds, report_row(r, i, &view)->kind, 1);
		tally_add(&acts, view.action, 1);
	}
	head(b, "atsrecon_last_run_drift_rows", "Drift the last run found, by kind.");
	tally_emit(b, "atsrecon_last_run_drift_rows", "kind", &kinds);
	head(b, "atsrecon_last_run_drift_actions",
	    "What the last run did with the drift it found, by action.");
	tally_emit(b, "atsrecon_last_run_drift_actions", "action", &acts);
}

/* One Keap endpoint's requests by status class (other: the rest of its calls). */
static void
render_endpoint(const struct report_api *a, struct buf *b)
{
	const char *cls[] = { "2xx", "4xx", "429", "5xx", "transport" };
	const long v[] = { a->ok, a->client_errors, a->status_429, a->server_errors,
		a->transport_errors };
	long sum = 0;
	size_t k;

	for (k = 0; k < ARRAY_LEN(cls); k++) {
		buf_adds(b, "atsrecon_last_run_api_requests{endpoint=\"");
		metrics_escape_label(b, a->endpoint);
		buf_addf(b, "\",class=\"%s\"}", cls[k]);
		num_ll(b, v[k]);
		sum += v[k];
	}
	if (a->calls > sum) {
		buf_adds(b, "atsrecon_last_run_api_requests{endpoint=\"");
		metrics_escape_label(b, a->endpoint);
		buf_adds(b, "\",class=\"other\"}");
		num_ll(b, a->calls - sum);
	}
}

/* Keap API requests, retries, 429s, waits, the quota left and the token's expiry. */
static void
render_api(const struct report *r, const struct metrics_extra *x, struct buf *b)
{
	long quota = x != NULL && x->quota_left >= 0 ? x->quota_left : r->quota_left;
	size_t i;

	if (r->napi > 0) {
		head(b, "atsrecon_last_run_api_requests",
		    "Keap API requests of the last run, by endpoint and status class.");
		for (i = 0; i < r->napi; i++)
			render_endpoint(&r->api[i], b);
	}
	gauge_ll(b, "atsrecon_last_run_http_retries",
	    "Requests the last run sent again after a retryable failure.", r->retries);
	gauge_ll(b, "atsrecon_last_run_http_throttled_responses",
	    "HTTP 429 (rate limited) answers the last run received.", r->s429);
	if (x != NULL && x->http != NULL) {
		gauge_ll(b, "atsrecon_last_run_http_attempts",
		    "HTTP request attempts the last run sent, retries included.", x->http->requests);
		head(b, "atsrecon_last_run_http_wait_seconds",
		    "Time the last run spent waiting in backoff and pacing.");
		buf_addf(b, "atsrecon_last_run_http_wait_seconds %.3f\n",
		    (double)x->http->waited_ms / 1000.0);
	}
	if (quota >= 0)
		gauge_ll(b, "atsrecon_keap_quota_remaining",
		    "Keap API requests left in the current quota at the end of the last run.", quota);
	if (x != NULL && x->token_expires_ms > 0)
		gauge_ts(b, "atsrecon_keap_refresh_token_expiry_timestamp_seconds",
		    "When the stored Keap refresh token expires (Unix time).", x->token_expires_ms);
}

void
metrics_render(const struct report *r, const struct metrics_extra *x, struct buf *b)
{
	render_run(r, x, b);
	render_accuracy(r, b);
	render_drift(r, b);
	render_api(r, x, b);
}

char *
metrics_instance(const struct config *cfg)
{
	const char *v = cfg_str(cfg, OPT_METRICS_INSTANCE);
	const char *dir = cfg_str(cfg, OPT_STATE_DIR);
	size_t len;
	const char *s, *e;

	if (v != NULL && *v != '\0')
		return xstrdup(v);
	if (dir == NULL)
		return xstrdup("atsrecon");
	e = dir + strlen(dir);
	while (e > dir && e[-1] == '/')
		e--;
	for (s = e; s > dir && s[-1] != '/'; s--)
		;
	len = (size_t)(e - s);
	return len > 0 ? xstrndup(s, len) : xstrdup("atsrecon");
}

static void
base64url(struct buf *out, const char *s)
{
	static const char a[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s), i;

	for (i = 0; i + 2 < n; i += 3) {
		unsigned v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8 | p[i + 2];
		buf_addc(out, a[v >> 18 & 63]);
		buf_addc(out, a[v >> 12 & 63]);
		buf_addc(out, a[v >> 6 & 63]);
		buf_addc(out, a[v & 63]);
	}
	if (n - i == 1) {
		unsigned v = (unsigned)p[i] << 16;
		buf_addc(out, a[v >> 18 & 63]);
		buf_addc(out, a[v >> 12 & 63]);
		buf_adds(out, "==");
	} else if (n - i == 2) {
		unsigned v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8;
		buf_addc(out, a[v >> 18 & 63]);
		buf_addc(out, a[v >> 12 & 63]);
		buf_addc(out, a[v >> 6 & 63]);
		buf_addc(out, '=');
	}
}

char *
metrics_push_url(const char *base, const char *instance)
{
	struct buf b = BUF_INIT;
	size_t n = strlen(base), i;
	int plain = *instance != '\0';

	while (n > 0 && base[n - 1] == '/')
		n--;
	buf_add(&b, base, n);
	buf_adds(&b, "/metrics/job/atsrecon/instance");
	for (i = 0; instance[i] != '\0'; i++) {
		char c = instance[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '.' || c == '_' || c == '-'))
			plain = 0;
	}
	/* "." and ".." would be path segments a proxy may fold away */
	if (strcmp(instance, ".") == 0 || strcmp(instance, "..") == 0)
		plain = 0;
	if (plain) {
		buf_addc(&b, '/');
		buf_adds(&b, instance);
	} else if (*instance == '\0') {
		buf_adds(&b, "@base64/=");	/* the Pushgateway's spelling of "" */
	} else {
		buf_adds(&b, "@base64/");
		base64url(&b, instance);
	}
	return buf_take(&b);
}

static enum rc
push(const struct config *cfg, const char *base, const struct buf *text)
{
	struct http_cfg hc;
	struct http *h = NULL;
	struct http_job job;
	struct http_policy pol;
	char *inst = metrics_instance(cfg), *url = metrics_push_url(base, inst);
	int64_t t0 = mono_ms();
	int64_t ct = cfg_int(cfg, OPT_HTTP_CONNECT_TIMEOUT) * 1000;
	enum rc rc;

	memset(&hc, 0, sizeof(hc));
	hc.ca_file = cfg_str(cfg, OPT_HTTP_CA_FILE);
	hc.connect_timeout_ms = ct > 0 && ct < METRICS_PUSH_BUDGET_MS / 2 ? (long)ct :
	    METRICS_PUSH_BUDGET_MS / 2;
	hc.timeout_ms = METRICS_PUSH_BUDGET_MS / 2;	/* two attempts fit the budget */
	hc.max_body = 64 * 1024;
	memset(&job, 0, sizeof(job));
	memset(&pol, 0, sizeof(pol));
	job.req.method = "PUT";
	job.req.url = url;
	job.req.body = text->p != NULL ? text->p : "";
	job.req.body_len = text->len;
	job.req.content_type = "text/plain; version=0.0.4; charset=utf-8";
	job.idempotent = 1;	/* a PUT replaces the group: sending it twice is harmless */
	pol.concurrency = 1;
	pol.max_retries = 1;
	pol.max_retries_429 = 1;
	pol.backoff_base_ms = 500;
	pol.backoff_cap_ms = 1000;
	pol.retry_after_cap_ms = 2000;
	pol.deadline_ms = t0 + METRICS_PUSH_BUDGET_MS;
	if ((rc = http_new(&hc, &h)) != RC_OK) {
		log_warn("metrics", "push: cannot set up HTTP (%s)", rc_str(rc));
		goto out;
	}
	rc = http_call(h, &job, &pol);
	if (rc == RC_OK && job.resp.status >= 200 && job.resp.status < 300) {
		log_info("metrics", "pushed to %s: HTTP %ld (%d attempt%s, %lld ms)", url,
		    job.resp.status, job.attempts, job.attempts == 1 ? "" : "s",
		    (long long)(mono_ms() - t0));
	} else if (rc == RC_OK || job.resp.status != 0) {
		log_warn("metrics", "push to %s failed: HTTP %ld after %d attempt%s: %.300s", url,
		    job.resp.status, job.attempts, job.attempts == 1 ? "" : "s",
		    job.resp.body.p != NULL ? job.resp.body.p : "");
		rc = RC_REMOTE;
	} else {
		log_warn("metrics", "push to %s failed after %d attempt%s: %s", url, job.attempts,
		    job.attempts == 1 ? "" : "s", job.resp.err[0] ? job.resp.err :
		    http_fail_str(job.resp.fail));
		if (rc == RC_OK)
			rc = RC_REMOTE;
	}
out:
	http_resp_free(&job.resp);
	http_free(h);
	free(url);
	free(inst);
	return rc;
}

enum rc
metrics_emit(const struct config *cfg, const struct report *r, const struct metrics_extra *x)
{
	const char *path = cfg_str(cfg, OPT_METRICS_TEXTFILE);
	const char *pg = cfg_str(cfg, OPT_METRICS_PUSHGATEWAY_URL);
	struct buf text = BUF_INIT;
	enum rc rc = RC_OK, prc;

	if (path == NULL && pg == NULL)
		return RC_OK;
	metrics_render(r, x, &text);
	if (path != NULL) {
		if (atomic_write(path, text.p, text.len, 0644) != 0) {
			log_warn("metrics", "cannot write the textfile %s: %s", path, strerror(errno));
			rc = RC_STATE;
		} else
			log_info("metrics", "wrote %s (%zu bytes)", path, text.len);
	}
	if (pg != NULL && (prc = push(cfg, pg, &text)) != RC_OK && rc == RC_OK)
		rc = prc;
	buf_free(&text);
	return rc;
}
