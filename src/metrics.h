/*
 * metrics.h — Prometheus metrics of one run (DESIGN.md §1 "report ... metrics"):
 * the text exposition format (version 0.0.4), written atomically as a
 * node_exporter textfile (metrics.textfile) and/or PUT to a Pushgateway
 * (metrics.pushgateway_url) as the group job="atsrecon", instance=<tenant>.
 *
 * Every metric is a gauge describing the LAST run, following Prometheus' own
 * guidance for batch jobs (docs/practices/instrumentation.md: "The key metric
 * of a batch job is the last time it succeeded ... These are all gauges, and
 * should be pushed to a PushGateway"): one process is one run, so a counter
 * would restart at every run and rate()/increase() over pushed samples would
 * be wrong. Hence no _total names; per-run counts are gauges named
 * atsrecon_last_run_*. The full list, with units and labels, is in metrics.c.
 *
 * Emitting never fails the run: metrics_emit logs what went wrong and returns
 * an rc that the caller only logs.
 */
#ifndef ATSRECON_METRICS_H
#define ATSRECON_METRICS_H

#include <stdint.h>

#include "config.h"
#include "http.h"
#include "report.h"
#include "util.h"

/* What the report does not hold. The report is read first for everything it
 * has (exit status, times, counts, accuracy, drift rows, api[], retries, 429s,
 * quota left). */
struct metrics_extra {
	int exit_status;		/* the process's exit status; -1: the report's */
	double duration_s;		/* run time; < 0: report finished - started */
	int64_t last_success_ms;	/* last good run (exit 0 or 1), this one
					 * included; 0: never */
	int64_t token_expires_ms;	/* Keap refresh token expiry; 0: unknown */
	long quota_left;		/* Keap requests left; -1: the report's */
	int guard_tripped;		/* a guard stopped the run (nothing applied) */
	const char *guard_text;		/* why; alerts only, never a label */
	const struct http_stats *http;	/* optional: attempts sent, time waited */
};

/* The exposition text for one run, appended to out. It carries no job or
 * instance label: the Pushgateway adds its grouping labels, and a textfile's
 * series get the node_exporter's target labels when scraped. */
void metrics_render(const struct report *, const struct metrics_extra *, struct buf *out);

/* Appends s as a label value, escaped per the exposition format (\\ \" \n);
 * invalid UTF-8 becomes U+FFFD. */
void metrics_escape_label(struct buf *out, const char *s);

/* The tenant's instance label: metrics.instance, else the base name of
 * state.dir, else "atsrecon" (caller frees). */
char *metrics_instance(const struct config *);

/* The Pushgateway URL of the group: <base>/metrics/job/atsrecon/instance/<v>,
 * the value base64url-encoded (instance@base64/...) unless it is plain
 * [A-Za-z0-9._-]+ (caller frees). */
char *metrics_push_url(const char *base, const char *instance);

/* Writes metrics.textfile (atomically, mode 0644) and/or PUTs to
 * metrics.pushgateway_url (one retry, at most METRICS_PUSH_BUDGET_MS in all).
 * RC_OK when nothing is configured or everything worked; otherwise the first
 * failure's rc, already logged. Never aborts the caller's run. */
enum rc metrics_emit(const struct config *, const struct report *, const struct metrics_extra *);

#define METRICS_PUSH_BUDGET_MS 10000

#endif
