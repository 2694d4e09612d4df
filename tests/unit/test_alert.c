/*
 * Unit tests: alert.c — each trigger, the masking of emails and phones, the
 * message's shape, and the sending against the webhook receiver fake
 * (tests/fakes/receiver.py), which this test starts itself over TLS with the
 * test CA (the directory of $ATSRECON_TEST_CA when tests/run.sh exported it,
 * else a private one): one POST per alert, one retry after a 500, a bounded
 * wait on a receiver that hangs, no retry after a 404, nothing sent without
 * a reason, and neither the webhook URL (the secret) nor an unmasked email or
 * phone in the payload or the logs.
 */
#define _POSIX_C_SOURCE 200809L
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "alert.h"
#include "config.h"
#include "http.h"
#include "jtree.h"
#include "log.h"
#include "t.h"
#include "fakeadm.h"

#define TOKEN "xoxb-SECRET-webhook-token-4711"
#define HOOK "/services/T0001/B0001/" TOKEN
#define NOW 1767607200000LL		/* 2026-01-05T10:00:00Z */
#define DAY (86400LL * 1000)

static char tmpdir[] = "/tmp/atsrecon-alert-XXXXXX";
static char root[128];			/* https://localhost:PORT */
static char ca[600];
static pid_t receiver = -1;
static int logfd = -1;
static char *logpath;

/* ------------------------------------------------------------- fixtures */

static int
start_receiver(void)
{
	const char *test_ca = getenv("ATSRECON_TEST_CA");
	const char *top = getenv("ATSRECON_TOP");
	char certdir[512], portfile[512], script[512], port[16] = "";
	int i;

	if (test_ca != NULL && *test_ca != '\0') {
		const char *slash = strrchr(test_ca, '/');
		snprintf(certdir, sizeof(certdir), "%.*s", slash ? (int)(slash - test_ca) : 1,
		    slash ? test_ca : ".");
	} else
		snprintf(certdir, sizeof(certdir), "%s/ca", tmpdir);
	snprintf(ca, sizeof(ca), "%s/ca.pem", certdir);
	snprintf(portfile, sizeof(portfile), "%s/receiver.port", tmpdir);
	snprintf(script, sizeof(script), "%s/tests/fakes/receiver.py", top ? top : ".");
	receiver = fork();
	if (receiver < 0)
		return -1;
	if (receiver == 0) {
		char *logf = xasprintf("%s/receiver.log", tmpdir);
		int fd = open(logf, O_WRONLY | O_CREAT | O_APPEND, 0600);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execlp("python3", "python3", script, "--certdir", certdir, "--port-file", portfile,
		    "--idle-timeout", "120", "--max-lifetime", "600", (char *)NULL);
		_exit(127);
	}
	for (i = 0; i < 300; i++) {	/* up to 15 s: it may make the CA first */
		FILE *f = fopen(portfile, "r");
		if (f != NULL) {
			int ok = fgets(port, sizeof(port), f) != NULL;
			fclose(f);
			if (ok && port[0] != '\0')
				break;
		}
		sleep_ms(50);
	}
	port[strcspn(port, "\n")] = '\0';
	if (port[0] == '\0') {
		printf("# the receiver did not start (%s)\n", script);
		return -1;
	}
	snprintf(root, sizeof(root), "https://localhost:%s", port);
	return 0;
}

static void
stop_receiver(void)
{
	if (receiver > 0) {
		kill(receiver, SIGTERM);
		waitpid(receiver, NULL, 0);
	}
}

/* A config from environment-style settings (NULL-terminated). */
static void
config_of(struct config *c, const char *const *vars)
{
	struct buf err = BUF_INIT;

	config_init(c);
	if (config_apply_env(c, (char *const *)vars, &err) != RC_OK)
		printf("# config: %s\n", err.p);
	buf_free(&err);
}

/* A run with 480 linked candidates, 2 failed; a failed row quotes an email. */
static void
build_report(struct report *r, int exit_status)
{
	size_t w;

	report_init(r, "incremental");
	snprintf(r->run_id, sizeof(r->run_id), "20260105T100000000Z-1a2b");
	r->exit_status = exit_status;
	r->candidates = 500;
	r->linked = 480;
	r->in_sync = 470;
	r->drifted = 10;
	r->repaired = 8;
	r->failed = 2;
	r->before_pct = 97.5;
	r->after_pct = 99.25;
	w = report_add_row(r, "field_mismatch", "email:EMAIL1", "ats_changed", "greenhouse:4007231002",
	    "77");
	report_row_set_action(r, w, "failed");
	report_row_set_error(r, w, "HTTP 400 Invalid email address Jane.Doe@Example.com for contact");
	w = report_add_row(r, "field_mismatch", "phone:PHONE1", "ats_changed", "greenhouse:4007231003",
	    "78");
	report_row_set_action(r, w, "failed");
	report_row_set_error(r, w, "HTTP 400 phone +14155550100 rejected (was (415) 555-0199)");
}

static void
facts_of(struct alert_facts *f)
{
	memset(f, 0, sizeof(*f));
	f->run.exit_status = -1;
	f->run.duration_s = -1;
	f->run.quota_left = -1;
	f->now_ms = NOW;
}

/* The reasons for (config vars, report, facts): their count, text in out. */
static int
reasons(const char *const *vars, const struct report *r, const struct alert_facts *f,
    struct buf *out)
{
	struct config c;
	int n;

	config_of(&c, vars);
	buf_reset(out);
	n = alert_reasons(&c, r, f, out);
	config_free(&c);
	return n;
}

/* ------------------------------------------------------------- triggers */

static void
test_triggers(void)
{
	struct report r;
	struct alert_facts f;
	struct buf b = BUF_INIT;
	const char *none[] = { NULL };
	const char *acc[] = { "ATSRECON_ALERT_MIN_ACCURACY_PCT=99", NULL };
	const char *acc100[] = { "ATSRECON_ALERT_MIN_ACCURACY_PCT=100", NULL };
	const char *failed[] = { "ATSRECON_ALERT_MAX_FAILED_PCT=1", NULL };
	const char *notoken[] = { "ATSRECON_ALERT_TOKEN_DAYS=0", NULL };

	facts_of(&f);
	/* exit 0, defaults: nothing */
	build_report(&r, 0);
	CHECK(reasons(none, &r, &f, &b) == 0);
	CHECK(b.len == 0);
	/* exit 1 (record failures) is not "failed": max_failed_pct judges it */
	r.exit_status = 1;
	CHECK(reasons(none, &r, &f, &b) == 0);
	/* any other exit is */
	r.exit_status = 5;
	r.message = xstrdup("deadline reached (run.max_runtime): the rest waits for the next run");
	CHECK(reasons(none, &r, &f, &b) == 1);
	CHECK_STR(b.p, "- run failed: exit 5 (remote unavailable or deadline reached): deadline "
	    "reached (run.max_runtime): the rest waits for the next run\n");
	f.run.exit_status = 4;		/* the facts' exit status wins */
	CHECK(reasons(none, &r, &f, &b) == 1);
	CHECK_CONTAINS(b.p, "exit 4 (authorisation needs a person)");
	f.run.exit_status = 75;
	CHECK(reasons(none, &r, &f, &b) == 1);
	CHECK_CONTAINS(b.p, "exit 75 (another run holds the lock)");
	report_free(&r);

	/* a guard: one reason (not also "failed"), with its text */
	facts_of(&f);
	build_report(&r, 6);
	f.run.guard_tripped = 1;
	f.run.guard_text = "41 of 480 linked contacts would change (8.5 %), above max_change_percent 5";
	CHECK(reasons(none, &r, &f, &b) == 1);
	CHECK_STR(b.p, "- guard tripped, nothing applied: 41 of 480 linked contacts would change "
	    "(8.5 %), above max_change_percent 5 (atsrecon run --approve N allows it once)\n");
	f.run.guard_tripped = 0;	/* exit 6 alone says so too; the report's message is the why */
	f.run.guard_text = NULL;
	r.message = xstrdup("too many creates");
	CHECK(reasons(none, &r, &f, &b) == 1);
	CHECK_CONTAINS(b.p, "guard tripped, nothing applied: too many creates");
	report_free(&r);

	/* accuracy */
	facts_of(&f);
	build_report(&r, 0);
	r.after_pct = 98.5;
	CHECK(reasons(acc, &r, &f, &b) == 1);
	CHECK_STR(b.p, "- accuracy after the run is 98.5 %, below alert.min_accuracy_pct (99 %)\n");
	CHECK(reasons(none, &r, &f, &b) == 0);		/* 0 = off */
	r.after_pct = 99.25;
	CHECK(reasons(acc, &r, &f, &b) == 0);
	CHECK(reasons(acc100, &r, &f, &b) == 1);
	r.after_pct = 100;
	CHECK(reasons(acc100, &r, &f, &b) == 0);	/* 100 % is not below 100 % */
	r.after_pct = 10;
	r.linked = 0;					/* nothing measured: not judged */
	CHECK(reasons(acc, &r, &f, &b) == 0);
	report_free(&r);

	/* failed / linked */
	build_report(&r, 1);
	r.failed = 10;					/* 2.08 % > 1 % */
	CHECK(reasons(failed, &r, &f, &b) == 1);
	CHECK_STR(b.p, "- 10 of 480 linked candidates failed (2.1 %), above alert.max_failed_pct (1 %)\n");
	r.failed = 4;					/* 0.83 % */
	CHECK(reasons(failed, &r, &f, &b) == 0);
	CHECK(reasons(none, &r, &f, &b) == 0);
	r.linked = 0;					/* nothing linked: any failure is 100 % */
	r.failed = 1;
	CHECK(reasons(failed, &r, &f, &b) == 1);
	CHECK_CONTAINS(b.p, "1 of 0 linked candidates failed (100.0 %)");
	report_free(&r);

	/* the refresh token (default alert.token_days 7) */
	build_report(&r, 0);
	f.run.token_expires_ms = NOW + 3 * DAY;
	CHECK(reasons(none, &r, &f, &b) == 1);
	CHECK_STR(b.p, "- the Keap refresh token expires in 72 h (2026-01-08T10:00:00.000Z), within "
	    "alert.token_days (7): a run before then renews it; if runs keep failing, run "
	    "`atsrecon auth keap`\n");
	f.run.token_expires_ms = NOW + 7 * DAY + 1;	/* just outside */
	CHECK(reasons(none, &r, &f, &b) == 0);
	f.run.token_expires_ms = NOW + 7 * DAY - 1;	/* just inside */
	CHECK(reasons(none, &r, &f, &b) == 1);
	f.run.token_expires_ms = NOW - DAY;
	CHECK(reasons(none, &r, &f, &b) == 1);
	CHECK_CONTAINS(b.p, "the Keap refresh token expired at 2026-01-04T10:00:00.000Z");
	CHECK(reasons(notoken, &r, &f, &b) == 0);	/* 0 = off */
	f.run.token_expires_ms = 0;			/* unknown: never */
	CHECK(reasons(none, &r, &f, &b) == 0);

	/* all at once: one line each */
	{
		const char *all[] = { "ATSRECON_ALERT_MIN_ACCURACY_PCT=99",
			"ATSRECON_ALERT_MAX_FAILED_PCT=1", NULL };
		facts_of(&f);
		f.run.exit_status = 6;
		f.run.guard_tripped = 1;
		f.run.guard_text = "x";
		f.run.token_expires_ms = NOW + DAY;
		r.after_pct = 50;
		r.failed = 100;
		CHECK(reasons(all, &r, &f, &b) == 4);
		f.run.exit_status = 5;
		CHECK(reasons(all, &r, &f, &b) == 5);
	}
	report_free(&r);
	buf_free(&b);
}

/* ------------------------------------------------------------- masking */

static void
mask_is(const char *in, const char *want)
{
	struct buf b = BUF_INIT;

	alert_mask_text(in, &b);
	CHECK_STR(b.p != NULL ? b.p : "", want);
	buf_free(&b);
}

static void
test_masking(void)
{
	mask_is("Invalid email Jane.Doe@Example.com.", "Invalid email J***@Example.com.");
	mask_is("<a@b.io>, x+tag@sub.example.org", "<a***@b.io>, x***@sub.example.org");
	mask_is("phone +14155550100 rejected", "phone +1415***0100 rejected");
	mask_is("was (415) 555-0199 or 415.555.0123 or +44 20 7946 0958",
	    "was ***0199 or ***0123 or +4420***0958");
	/* not personal data: left alone */
	mask_is("run 20260105T100000000Z-1a2b at 2026-01-05T10:00:00.000Z",
	    "run 20260105T100000000Z-1a2b at 2026-01-05T10:00:00.000Z");
	mask_is("2026-01-05 10:00, greenhouse:4007231002, 91.2 %, 12 of 480, v1.2.3",
	    "2026-01-05 10:00, greenhouse:4007231002, 91.2 %, 12 of 480, v1.2.3");
	mask_is("| 500 | 480 | 470 | 10 | 8 | 2 | 0 |", "| 500 | 480 | 470 | 10 | 8 | 2 | 0 |");
	mask_is("- greenhouse:4007231002 field_mismatch", "- greenhouse:4007231002 field_mismatch");
	mask_is("id 4155550100 (no separator) or 415 5550100 x", "id 4155550100 (no separator) or ***0100 x");
	mask_is("user@localhost and @handle and a@b", "user@localhost and @handle and a@b");
	mask_is("", "");
}

/* ------------------------------------------------------------- message */

static void
test_message(void)
{
	struct config c;
	struct report r;
	struct alert_facts f;
	struct buf rs = BUF_INIT, body = BUF_INIT, err = BUF_INIT;
	const char *vars[] = { "ATSRECON_METRICS_INSTANCE=acme",
		"ATSRECON_ALERT_REPORT_URL=https://reports.example/acme/latest/report.html", NULL };
	const char *text;
	cJSON *j;

	config_of(&c, vars);
	build_report(&r, 5);
	facts_of(&f);
	CHECK(alert_reasons(&c, &r, &f, &rs) == 1);
	alert_message(&c, &r, &f, rs.p, &body);
	j = json_parse(body.p, body.len, &err);
	CHECK(j != NULL && cJSON_IsObject(j));
	CHECK(cJSON_GetArraySize(j) == 1);		/* {"text": ...} only */
	text = json_str(j, "text");
	CHECK(text != NULL);
	if (text == NULL)
		text = "";
	CHECK(str_has_prefix(text, ":warning: *atsrecon needs attention* — tenant `acme`, run "
	    "20260105T100000000Z-1a2b, exit 5 (remote unavailable or deadline reached)\n- run failed: "
	    "exit 5"));
	CHECK_CONTAINS(text, "\nReport: https://reports.example/acme/latest/report.html\n");
	CHECK_CONTAINS(text, "### atsrecon run 20260105T100000000Z-1a2b (incremental) — exit 5");
	CHECK_CONTAINS(text, "**Accuracy:** 97.5 % before");
	CHECK_CONTAINS(text, "Failed (retried next run):");
	CHECK_CONTAINS(text, "Invalid email address J***@Example.com for contact");
	CHECK_CONTAINS(text, "phone +1415***0100 rejected (was ***0199)");
	CHECK_CONTAINS(text, "greenhouse:4007231002");		/* ids are not personal data */
	CHECK(strstr(text, "Jane.Doe") == NULL);
	CHECK(strstr(text, "5550100") == NULL && strstr(text, "555-0199") == NULL);
	cJSON_Delete(j);
	report_free(&r);

	/* a huge message is cut at a UTF-8 boundary, with a note */
	{
		struct buf big = BUF_INIT;
		int i;
		buf_reset(&body);
		build_report(&r, 6);
		for (i = 0; i < 8000; i++)
			buf_adds(&big, "é");		/* 2 bytes each: 16000 bytes */
		f.run.guard_tripped = 1;
		f.run.guard_text = big.p;
		buf_reset(&rs);
		CHECK(alert_reasons(&c, &r, &f, &rs) == 1);
		alert_message(&c, &r, &f, rs.p, &body);
		j = json_parse(body.p, body.len, &err);
		text = j != NULL ? json_str(j, "text") : NULL;
		CHECK(text != NULL && strlen(text) <= ALERT_MAX_TEXT);
		CHECK(text != NULL && utf8_valid(text, strlen(text)));
		CHECK(text != NULL && strstr(text, "\xef\xbf\xbd") == NULL);	/* no broken sequence */
		CHECK(text != NULL && strlen(text) > ALERT_MAX_TEXT - 100);
		CHECK_CONTAINS(text, "(cut: see the report)");
		cJSON_Delete(j);
		report_free(&r);
		buf_free(&big);
	}
	config_free(&c);
	buf_free(&rs);
	buf_free(&body);
	buf_free(&err);
}

/* ------------------------------------------------------------- sending */

/* The POSTs the receiver recorded since seq (an array the caller deletes). */
static cJSON *
received_since(long seq, long *next)
{
	char path[64];
	cJSON *j, *out;

	snprintf(path, sizeof(path), "/_admin/received?since=%ld", seq);
	j = fake_admin("GET", path, NULL);
	if (j == NULL)
		return cJSON_CreateArray();
	if (next != NULL) {
		int64_t n = 0;
		json_int(j, "next", &n);
		*next = (long)n;
	}
	out = cJSON_DetachItemFromObject(j, "received");
	cJSON_Delete(j);
	return out != NULL ? out : cJSON_CreateArray();
}

static long
mark(void)
{
	long next = 0;
	cJSON_Delete(received_since(1L << 30, &next));
	return next;
}

static void
faults(const char *rules)
{
	fake_admin0("POST", "/_admin/faults", rules);
}

/* Everything the logger wrote so far. */
static char *
log_text(void)
{
	struct buf b = BUF_INIT;

	read_file(logpath, 1 << 24, &b);
	return buf_take(&b);
}

struct sent {
	enum rc rc;
	long ms;
	int posts;
	cJSON *got;		/* the received array (caller deletes) */
};

/* alert_maybe_send with these settings; how it went and what arrived. */
static void
send_with(const char *const *extra, int exit_status, long budget, int wait_ms, struct sent *s)
{
	const char *vars[16];
	char *url = xasprintf("ATSRECON_ALERT_WEBHOOK_URL=%s%s", root, HOOK);
	char *cav = xasprintf("ATSRECON_HTTP_CA_FILE=%s", ca);
	struct config c;
	struct report r;
	struct alert_facts f;
	size_t n = 0;
	long seq = mark();
	int64_t t0;

	vars[n++] = url;
	vars[n++] = cav;
	vars[n++] = "ATSRECON_METRICS_INSTANCE=acme";
	while (extra != NULL && *extra != NULL && n < ARRAY_LEN(vars) - 1)
		vars[n++] = *extra++;
	vars[n] = NULL;
	config_of(&c, vars);
	log_clear_secrets();	/* alert.c must register the URL itself */
	build_report(&r, exit_status);
	facts_of(&f);
	f.budget_ms = budget;
	t0 = mono_ms();
	s->rc = alert_maybe_send(&c, &r, &f);
	s->ms = (long)(mono_ms() - t0);
	if (wait_ms > 0)
		sleep_ms(wait_ms);
	s->got = received_since(seq, NULL);
	s->posts = cJSON_GetArraySize(s->got);
	report_free(&r);
	config_free(&c);
	free(url);
	free(cav);
}

static void
test_send(void)
{
	struct sent s;
	const cJSON *e;
	const char *body;
	const char *wrongpath[] = { NULL, NULL };
	char *wp;
	char *logs;

	/* a reason: one POST, Slack's shape, 200 */
	send_with(NULL, 5, 0, 0, &s);
	CHECK(s.rc == RC_OK);
	CHECK(s.posts == 1);
	e = cJSON_GetArrayItem(s.got, 0);
	CHECK_STR(json_str(e, "path"), HOOK);
	CHECK(json_int(e, "status", &(int64_t){ 0 }) == 0);
	CHECK(str_has_prefix(json_str(e, "content_type"), "application/json"));
	body = json_str(e, "body");
	CHECK_CONTAINS(body, "{\"text\":\":warning: *atsrecon needs attention* — tenant `acme`");
	CHECK_CONTAINS(body, "run failed: exit 5");
	CHECK(body != NULL && strstr(body, TOKEN) == NULL);		/* no secret */
	CHECK(body != NULL && strstr(body, "SECRET") == NULL);
	CHECK(body != NULL && strstr(body, "Jane.Doe") == NULL);	/* no unmasked email */
	CHECK(body != NULL && strstr(body, "+14155550100") == NULL);	/* no unmasked phone */
	CHECK_CONTAINS(body, "J***@Example.com");
	{
		const cJSON *st = json_get(e, "status");
		CHECK(cJSON_IsNumber(st) && st->valueint == 200);
	}
	cJSON_Delete(s.got);

	/* no reason: nothing sent */
	send_with(NULL, 0, 0, 0, &s);
	CHECK(s.rc == RC_OK && s.posts == 0);
	cJSON_Delete(s.got);

	/* a 500, then 200: retried once, delivered */
	faults("[{\"kind\":\"status\",\"status\":500,\"process\":true,\"times\":1}]");
	send_with(NULL, 5, 0, 0, &s);
	CHECK(s.rc == RC_OK);
	CHECK(s.posts == 2);
	CHECK(cJSON_GetArraySize(s.got) == 2 &&
	    strcmp(json_str(cJSON_GetArrayItem(s.got, 0), "body"),
	    json_str(cJSON_GetArrayItem(s.got, 1), "body")) == 0);	/* the same message */
	cJSON_Delete(s.got);

	/* always 500: exactly one retry, then RC_REMOTE */
	faults("[{\"kind\":\"status\",\"status\":500,\"process\":true}]");
	send_with(NULL, 5, 0, 0, &s);
	CHECK(s.rc == RC_REMOTE);
	CHECK(s.posts == 2);
	cJSON_Delete(s.got);
	faults("[]");

	/* a 404 (wrong webhook): not retried */
	wp = xasprintf("ATSRECON_ALERT_WEBHOOK_URL=%s/hooks/nope-" TOKEN, root);
	wrongpath[0] = wp;
	send_with(wrongpath, 5, 0, 0, &s);
	CHECK(s.rc == RC_REMOTE);
	CHECK(s.posts == 1);
	cJSON_Delete(s.got);
	free(wp);

	/* a hanging receiver: given up within the budget (2 s here), nothing waits longer */
	faults("[{\"kind\":\"delay\",\"ms\":30000}]");
	send_with(NULL, 5, 2000, 0, &s);
	printf("# hanging receiver, 2 s budget: gave up after %ld ms (rc %s)\n", s.ms, rc_str(s.rc));
	CHECK(s.rc == RC_REMOTE);
	CHECK(s.ms >= 900 && s.ms < 2600);
	cJSON_Delete(s.got);
	/* ... and with the default budget (10 s) */
	send_with(NULL, 5, 0, 0, &s);
	printf("# hanging receiver, default budget: gave up after %ld ms (rc %s)\n", s.ms, rc_str(s.rc));
	CHECK(s.rc == RC_REMOTE);
	CHECK(s.ms >= 4500 && s.ms < ALERT_BUDGET_MS + 600);
	cJSON_Delete(s.got);
	faults("[]");

	/* a hang on the first attempt only: the retry delivers within the budget */
	faults("[{\"kind\":\"delay\",\"ms\":30000,\"times\":1}]");
	send_with(NULL, 5, 4000, 0, &s);
	printf("# first attempt hangs: delivered after %ld ms (rc %s)\n", s.ms, rc_str(s.rc));
	CHECK(s.rc == RC_OK);
	CHECK(s.ms < 4000);
	cJSON_Delete(s.got);
	faults("[]");

	/* the secret is in no log line, though http.c logs URLs at debug level */
	logs = log_text();
	CHECK(logs != NULL && strstr(logs, TOKEN) == NULL);
	CHECK(logs != NULL && strstr(logs, "/services/T0001") == NULL);
	CHECK_CONTAINS(logs, "[REDACTED]");			/* http.c's debug lines were there */
	CHECK_CONTAINS(logs, "alert sent (1 reason): HTTP 200");
	CHECK_CONTAINS(logs, "the webhook refused the alert: HTTP 500 after 2 attempts");
	CHECK_CONTAINS(logs, "the webhook refused the alert: HTTP 404 after 1 attempt");
	CHECK_CONTAINS(logs, "no_service");
	CHECK(logs != NULL && strstr(logs, "Jane.Doe") == NULL);
	free(logs);
}

static void
test_not_sent(void)
{
	struct config c;
	struct report r;
	struct alert_facts f;
	char *logs;
	const char *nourl[] = { NULL };
	const char *plain[] = { "ATSRECON_ALERT_WEBHOOK_URL=http://hooks.example.com/services/X/Y/"
	    "plain-SECRET-9", NULL };
	long seq = mark();
	cJSON *got;

	build_report(&r, 5);
	facts_of(&f);
	/* reasons, but no webhook: a note, RC_OK */
	config_of(&c, nourl);
	CHECK(alert_maybe_send(&c, &r, &f) == RC_OK);
	config_free(&c);
	/* plain http to a remote host: refused before any request, URL not logged */
	config_of(&c, plain);
	log_clear_secrets();
	CHECK(alert_maybe_send(&c, &r, &f) == RC_CONFIG);
	config_free(&c);
	report_free(&r);
	got = received_since(seq, NULL);
	CHECK(cJSON_GetArraySize(got) == 0);
	cJSON_Delete(got);
	logs = log_text();
	CHECK_CONTAINS(logs, "1 reason to alert, but alert.webhook_url is not set");
	CHECK_CONTAINS(logs, "alert.webhook_url is not an https:// URL");
	CHECK(logs != NULL && strstr(logs, "plain-SECRET-9") == NULL);
	CHECK(logs != NULL && strstr(logs, "hooks.example.com") == NULL);
	free(logs);
}

int
main(void)
{
	struct http_cfg hc;

	if (mkdtemp(tmpdir) == NULL)
		return 2;
	logpath = xasprintf("%s/log.jsonl", tmpdir);
	logfd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	log_init(LOG_DEBUG, LOG_FMT_JSON);
	log_set_fd(logfd);

	test_triggers();
	test_masking();
	test_message();

	CHECK(start_receiver() == 0);
	if (root[0] != '\0') {
		memset(&hc, 0, sizeof(hc));
		hc.ca_file = ca;
		CHECK(http_new(&hc, &fake_http) == RC_OK);
		fake_root = root;
		test_send();
		test_not_sent();
		http_free(fake_http);
	}
	stop_receiver();
	close(logfd);
	{
		/* the logs stay for a failed run's reader; otherwise clean up */
		char *cmd = xasprintf("rm -rf '%s'", tmpdir);
		if (t_fail == 0 && system(cmd) != 0)
			printf("# could not remove %s\n", tmpdir);
		free(cmd);
	}
	free(logpath);
	return t_done("alert");
}
