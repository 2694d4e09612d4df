/*
 * alert.h — one webhook alert at the end of a run that needs a person
 * (DESIGN.md §2): a Slack-compatible JSON message {"text": "..."} POSTed to
 * alert.webhook_url (Slack incoming webhooks, and the many chat tools that
 * accept the same shape). The URL is the credential: it is never logged, and
 * the message never carries a token or an unmasked email or phone.
 *
 * An alert fires when any of these holds (each is one line of the message):
 *   - the run failed: an exit status other than 0 and 1 (1, record-level
 *     failures, is judged by alert.max_failed_pct instead; 6, a guard, by the
 *     next rule);
 *   - a guard tripped (nothing applied), with the guard's reason;
 *   - alert.min_accuracy_pct > 0 and the accuracy after the run is below it
 *     (judged only when the run linked candidates: a run that stopped before
 *     measuring already alerts as failed);
 *   - alert.max_failed_pct > 0 and failed candidates / linked candidates is
 *     above it (any failure counts as 100 % when nothing is linked);
 *   - alert.token_days > 0 and the Keap refresh token expires within that
 *     many days (or has expired).
 */
#ifndef ATSRECON_ALERT_H
#define ATSRECON_ALERT_H

#include <stdint.h>

#include "config.h"
#include "metrics.h"
#include "report.h"
#include "util.h"

#define ALERT_BUDGET_MS 10000		/* all attempts together, at most */
#define ALERT_MAX_TEXT 12000		/* bytes of message text, at most */

/* What the report lacks: the same facts the metrics take, so the caller
 * fills one struct metrics_extra for both. */
struct alert_facts {
	struct metrics_extra run;	/* exit_status, guard_tripped/guard_text,
					 * token_expires_ms are read */
	int64_t now_ms;			/* 0: the clock (tests pin it) */
	long budget_ms;			/* 0: ALERT_BUDGET_MS (tests shorten it) */
};

/* The reasons to alert, one "- ..." line each, appended to out (masked);
 * returns how many. */
int alert_reasons(const struct config *, const struct report *, const struct alert_facts *,
    struct buf *out);

/* The JSON body for the webhook: {"text": header, reasons, report link,
 * Markdown summary}, masked, at most ALERT_MAX_TEXT bytes of text. */
void alert_message(const struct config *, const struct report *, const struct alert_facts *,
    const char *reasons, struct buf *out);

/* Masks every email address ("j***@x.com") and phone number ("+1415***0100",
 * "***0100" for national forms) found in free text; appends to out. */
void alert_mask_text(const char *s, struct buf *out);

/*
 * Decides, then sends: nothing when no reason holds (RC_OK); a logged note
 * when reasons hold but alert.webhook_url is unset (RC_OK). Otherwise one
 * POST, retried once (transport errors, 408, 429, 5xx), all within
 * budget_ms: RC_OK when the webhook answered 2xx, else RC_REMOTE (RC_CONFIG
 * for a URL that is not https://). The caller only logs the result; the run's
 * exit status never depends on it.
 */
enum rc alert_maybe_send(const struct config *, const struct report *, const struct alert_facts *);

#endif
