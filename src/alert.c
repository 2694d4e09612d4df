/*
 * alert.c — see alert.h. The facts and choices it relies on:
 *
 * Shape: Slack incoming webhooks take a JSON object whose "text" is the
 * message (mrkdwn: *bold*, `code`, plain URLs are linked) and answer 200 "ok";
 * Mattermost, Rocket.Chat, Discord's /slack endpoint and others accept the
 * same object. Only "text" is sent: "username"/"icon" are ignored by Slack
 * apps and refused by some of the others. The text is at most
 * ALERT_MAX_TEXT bytes (cut at a UTF-8 boundary with a note), well under
 * Slack's own limits.
 *
 * Content: a header (tenant, run id, exit status), the reasons, the report
 * link (alert.report_url) if configured, then the run's Markdown summary
 * (report_markdown with masking on). Everything but the link passes
 * alert_mask_text: the summary quotes error messages from Keap, which can
 * echo an email or a phone, so masking the report's own fields is not
 * enough. The link is the operator's configuration, not personal data, and is
 * sent as written.
 *
 * Sending: a private struct http (the run's may be gone), certificate
 * verification as everywhere, http.ca_file honoured. Each attempt may take
 * half the budget, so the one retry always has time; the budget is a
 * deadline for the whole exchange, backoff included. A POST is not
 * idempotent, but a webhook that answered 500 may still have posted: the
 * retry is made anyway (a duplicate message is better than no alert), which
 * is why the job is marked idempotent for http.c's policy.
 *
 * Secrecy: the URL is registered with the logger (log_add_secret) before any
 * request, so http.c's debug lines show [REDACTED]; this file never formats
 * it. The webhook's answer body is logged (escaped, 200 bytes at most): it is
 * the service's text, not ours.
 */
#define _POSIX_C_SOURCE 200809L
#include "alert.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "log.h"

#define DAY_MS (86400LL * 1000)

static const char *
exit_meaning(int st)
{
	switch (st) {
	case 0: return "in sync";
	case 1: return "record-level failures";
	case 2: return "usage error";
	case 3: return "configuration error";
	case 4: return "authorisation needs a person";
	case 5: return "remote unavailable or deadline reached";
	case 6: return "guard tripped";
	case 7: return "API quota exhausted";
	case 8: return "stale";
	case 9: return "state error";
	case 70: return "internal error";
	case 75: return "another run holds the lock";
	}
	return "unknown";
}

static int
exit_of(const struct report *r, const struct alert_facts *f)
{
	return f != NULL && f->run.exit_status >= 0 ? f->run.exit_status : r->exit_status;
}

/* One reason line, masked. */
static void
reason(struct buf *out, const char *fmt, ...) PRINTF_LIKE(2, 3);

static void
reason(struct buf *out, const char *fmt, ...)
{
	struct buf t = BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	buf_vaddf(&t, fmt, ap);
	va_end(ap);
	buf_adds(out, "- ");
	alert_mask_text(t.p != NULL ? t.p : "", out);
	buf_addc(out, '\n');
	buf_free(&t);
}

int
alert_reasons(const struct config *cfg, const struct report *r, const struct alert_facts *f,
    struct buf *out)
{
	int n = 0, st = exit_of(r, f);
	int guard = (f != NULL && f->run.guard_tripped) || st == rc_exit_status(RC_GUARD);
	int64_t min_acc = cfg_int(cfg, OPT_ALERT_MIN_ACCURACY_PCT);
	int64_t max_failed = cfg_int(cfg, OPT_ALERT_MAX_FAILED_PCT);
	int64_t days = cfg_int(cfg, OPT_ALERT_TOKEN_DAYS);
	int64_t now = f != NULL && f->now_ms > 0 ? f->now_ms : now_ms();

	if (st != 0 && st != 1 && !(guard && st == rc_exit_status(RC_GUARD))) {
		reason(out, "run failed: exit %d (%s)%s%s", st, exit_meaning(st),
		    r->message != NULL ? ": " : "", r->message != NULL ? r->message : "");
		n++;
	}
	if (guard) {
		const char *why = f != NULL && f->run.guard_text != NULL ? f->run.guard_text :
		    r->message;
		reason(out, "guard tripped, nothing applied%s%s (atsrecon run --approve N allows it once)",
		    why != NULL ? ": " : "", why != NULL ? why : "");
		n++;
	}
	if (min_acc > 0 && r->linked > 0 && r->after_pct < (double)min_acc) {
		reason(out, "accuracy after the run is %.1f %%, below alert.min_accuracy_pct (%lld %%)",
		    r->after_pct, (long long)min_acc);
		n++;
	}
	if (max_failed > 0 && r->failed > 0) {
		double pct = r->linked > 0 ? 100.0 * (double)r->failed / (double)r->linked : 100.0;
		if (pct > (double)max_failed) {
			reason(out, "%zu of %zu linked candidates failed (%.1f %%), above "
			    "alert.max_failed_pct (%lld %%)", r->failed, r->linked, pct,
			    (long long)max_failed);
			n++;
		}
	}
	if (days > 0 && f != NULL && f->run.token_expires_ms > 0 &&
	    f->run.token_expires_ms - now < days * DAY_MS) {
		char ts[32];
		int64_t left = f->run.token_expires_ms - now;

		fmt_rfc3339_ms(f->run.token_expires_ms, ts, sizeof(ts));
		if (left <= 0)
			reason(out, "the Keap refresh token expired at %s: run `atsrecon auth keap` to "
			    "authorise again", ts);
		else
			reason(out, "the Keap refresh token expires in %lld h (%s), within "
			    "alert.token_days (%lld): a run before then renews it; if runs keep "
			    "failing, run `atsrecon auth keap`", (long long)(left / 3600000), ts,
			    (long long)days);
		n++;
	}
	return n;
}

/* ------------------------------------------------------------- masking */

static int
email_char(int c)
{
	return isalnum(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-' || c == '@';
}

/* An email in s[0..n): local@domain.tld; returns its length (trailing dots
 * and hyphens left out), 0 if none. */
static size_t
email_at(const char *s, size_t n)
{
	const char *at = memchr(s, '@', n);
	size_t i, dot = 0, tld = 0;

	if (at == NULL || at == s)
		return 0;
	while (n > 0 && (s[n - 1] == '.' || s[n - 1] == '-'))
		n--;
	for (i = (size_t)(at - s) + 1; i < n; i++) {
		if (s[i] == '@' || s[i] == '+' || s[i] == '%' || s[i] == '_')
			return 0;
		if (s[i] == '.') {
			dot = i;
			tld = 0;
		} else
			tld += isalpha((unsigned char)s[i]) ? 1 : 100;
	}
	if (dot == 0 || dot == (size_t)(at - s) + 1 || tld < 2 || tld >= 100)
		return 0;
	return n;
}

static int
phone_char(int c)
{
	return isdigit(c) || c == ' ' || c == '-' || c == '.' || c == '(' || c == ')';
}

/* A phone number at s (s[0] is '+', '(' or a digit, after a boundary);
 * returns its length and the digits (with a leading '+' when given) in
 * digits; 0 if none. E.164-looking: '+' and 8 to 15 digits. National forms:
 * 10 to 15 digits with at least one separator, not a date (2026-01-05 ...). */
static size_t
phone_at(const char *s, size_t n, char *digits, size_t dsize)
{
	size_t i = 0, end = 0, nd = 0, seps = 0, inner = 0, first_group = 0;
	int plus = s[0] == '+', prev_sep = 0, date_sep = 0;

	if (plus)
		i = 1;
	for (; i < n && phone_char((unsigned char)s[i]); i++) {
		if (isdigit((unsigned char)s[i])) {
			if (nd + 2 < dsize)
				digits[plus + nd] = s[i];
			nd++;
			if (seps == 0)
				first_group++;
			end = i + 1;
			inner = seps;	/* separators between digits, not after the last */
			prev_sep = 0;
		} else {
			if (prev_sep && !(s[i] == ' ' && s[i - 1] == ')'))
				break;	/* two separators in a row: not one number */
			if (seps == 0 && nd > 0)
				date_sep = s[i] == '-' || s[i] == '.' || s[i] == '/';
			if (nd > 0 || s[i] == '(')
				seps++;
			prev_sep = 1;
		}
	}
	if (end == 0 || nd > 15)
		return 0;
	if (end < n && (isalnum((unsigned char)s[end]) || s[end] == '@'))
		return 0;
	if (plus ? nd < 8 : (nd < 10 || inner == 0 || (first_group == 4 && date_sep)))
		return 0;
	if (plus)
		digits[0] = '+';
	digits[plus + (nd + 2 < dsize ? nd : dsize - 2 - (size_t)plus)] = '\0';
	return end;
}

void
alert_mask_text(const char *s, struct buf *out)
{
	size_t n = strlen(s), i = 0;

	while (i < n) {
		unsigned char c = (unsigned char)s[i];
		unsigned char prev = i > 0 ? (unsigned char)s[i - 1] : ' ';

		if (email_char(c) && !email_char(prev)) {
			size_t j = i, len;
			while (j < n && email_char((unsigned char)s[j]))
				j++;
			if ((len = email_at(s + i, j - i)) > 0) {
				char *e = xstrndup(s + i, len);
				report_mask(e, out);
				free(e);
				i += len;
				continue;
			}
		}
		if ((c == '+' || c == '(' || isdigit(c)) && !isalnum(prev) && prev != '.' &&
		    prev != '_' && prev != '-' && prev != '/' && prev != '@' && prev != '+' &&
		    prev != '*') {
			char d[24];
			size_t len = phone_at(s + i, n - i, d, sizeof(d));
			if (len > 0) {
				if (d[0] == '+')
					report_mask(d, out);
				else {
					size_t dl = strlen(d);
					buf_adds(out, "***");
					buf_adds(out, d + (dl > 4 ? dl - 4 : 0));
				}
				i += len;
				continue;
			}
		}
		buf_addc(out, (char)c);
		i++;
	}
}

/* ------------------------------------------------------------- message */

void
alert_message(const struct config *cfg, const struct report *r, const struct alert_facts *f,
    const char *reasons, struct buf *out)
{
	struct buf t = BUF_INIT, md = BUF_INIT, head = BUF_INIT;
	const char *link = cfg_str(cfg, OPT_ALERT_REPORT_URL) != NULL ? cfg_str(cfg, OPT_ALERT_REPORT_URL) :
	    cfg_str(cfg, OPT_REPORT_URL);	/* where the report is published */
	char *tenant = metrics_instance(cfg);
	int st = exit_of(r, f);
	size_t cut;

	buf_addf(&head, ":warning: *atsrecon needs attention* — tenant `%s`, run %s, exit %d (%s)\n",
	    tenant, r->run_id, st, exit_meaning(st));
	alert_mask_text(head.p, &t);
	buf_adds(&t, reasons != NULL ? reasons : "");
	if (link != NULL && *link != '\0')
		buf_addf(&t, "Report: %s\n", link);
	report_markdown(r, 1, &md);
	buf_addc(&t, '\n');
	alert_mask_text(md.p != NULL ? md.p : "", &t);
	if (t.len > ALERT_MAX_TEXT) {
		static const char note[] = "\n… (cut: see the report)";
		cut = ALERT_MAX_TEXT - (sizeof(note) - 1);
		while (cut > 0 && ((unsigned char)t.p[cut] & 0xc0) == 0x80)
			cut--;	/* not inside a UTF-8 sequence */
		t.len = cut;
		t.p[cut] = '\0';
		buf_adds(&t, note);
	}
	buf_adds(out, "{\"text\":");
	json_escape(out, t.p, t.len);
	buf_adds(out, "}");
	buf_free(&t);
	buf_free(&md);
	buf_free(&head);
	free(tenant);
}

/* ------------------------------------------------------------- sending */

enum rc
alert_maybe_send(const struct config *cfg, const struct report *r, const struct alert_facts *f)
{
	const char *url = cfg_str(cfg, OPT_ALERT_WEBHOOK_URL);
	struct buf reasons = BUF_INIT, body = BUF_INIT;
	struct http_cfg hc;
	struct http *h = NULL;
	struct http_job job;
	struct http_policy pol;
	long budget = f != NULL && f->budget_ms > 0 ? f->budget_ms : ALERT_BUDGET_MS;
	int64_t t0 = mono_ms(), ct = cfg_int(cfg, OPT_HTTP_CONNECT_TIMEOUT) * 1000;
	int n;
	enum rc rc = RC_OK;

	memset(&job, 0, sizeof(job));
	if ((n = alert_reasons(cfg, r, f, &reasons)) == 0) {
		log_debug("alert", "no alert: nothing needs a person");
		goto out;
	}
	if (url == NULL || *url == '\0') {
		log_info("alert", "%d reason%s to alert, but alert.webhook_url is not set", n,
		    n == 1 ? "" : "s");
		goto out;
	}
	log_add_secret(url);
	if (!url_allowed(url)) {
		log_warn("alert", "alert.webhook_url is not an https:// URL (plain http:// only to a "
		    "loopback host): no alert sent");
		rc = RC_CONFIG;
		goto out;
	}
	alert_message(cfg, r, f, reasons.p, &body);

	memset(&hc, 0, sizeof(hc));
	hc.ca_file = cfg_str(cfg, OPT_HTTP_CA_FILE);
	hc.timeout_ms = budget / 2;		/* two attempts fit the budget */
	hc.connect_timeout_ms = ct > 0 && ct < hc.timeout_ms ? (long)ct : hc.timeout_ms;
	hc.max_body = 64 * 1024;
	memset(&pol, 0, sizeof(pol));
	job.req.method = "POST";
	job.req.url = url;
	job.req.body = body.p;
	job.req.body_len = body.len;
	job.req.content_type = "application/json";
	job.idempotent = 1;	/* see the header comment: retry even after a 500 */
	pol.concurrency = 1;
	pol.max_retries = 1;
	pol.max_retries_429 = 1;
	pol.backoff_base_ms = 500;
	pol.backoff_cap_ms = 1000;
	pol.retry_after_cap_ms = budget / 4;
	pol.deadline_ms = t0 + budget;
	if ((rc = http_new(&hc, &h)) != RC_OK) {
		log_warn("alert", "cannot set up HTTP (%s): no alert sent", rc_str(rc));
		goto out;
	}
	rc = http_call(h, &job, &pol);
	if (rc == RC_OK && job.resp.status >= 200 && job.resp.status < 300) {
		log_info("alert", "alert sent (%d reason%s): HTTP %ld, %d attempt%s, %lld ms", n,
		    n == 1 ? "" : "s", job.resp.status, job.attempts, job.attempts == 1 ? "" : "s",
		    (long long)(mono_ms() - t0));
	} else {
		if (job.resp.status != 0)
			log_warn("alert", "the webhook refused the alert: HTTP %ld after %d attempt%s "
			    "(%lld ms): %.200s", job.resp.status, job.attempts,
			    job.attempts == 1 ? "" : "s", (long long)(mono_ms() - t0),
			    job.resp.body.p != NULL ? job.resp.body.p : "");
		else
			log_warn("alert", "no alert sent: %s after %d attempt%s (%lld ms)",
			    job.resp.err[0] ? job.resp.err : http_fail_str(job.resp.fail), job.attempts,
			    job.attempts == 1 ? "" : "s", (long long)(mono_ms() - t0));
		if (rc == RC_OK)
			rc = RC_REMOTE;
	}
out:
	http_resp_free(&job.resp);
	http_free(h);
	buf_free(&reasons);
	buf_free(&body);
	return rc;
}
