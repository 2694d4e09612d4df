/* opts.c — the option table and the text generated from it. See opts.h. */
#include "opts.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#define I64_MAX INT64_MAX
#define RUNNERS (CMD_RUN | CMD_PLAN | CMD_APPLY)

/* clang-format off */
const struct opt opt_table[OPT__MAX] = {
	/* section, key, flag, short, type, default, min, max, choices, flags, cmds, metavar, help */
	[OPT_CONFIG] = { NULL, "config", "config", 'c', OT_PATH, NULL, 0, 0, NULL, 0,
		CMD_CONFIGURED, "FILE", "configuration file (JSON with comments)" },
	[OPT_CONFIG_DIR] = { NULL, "config-dir", "config-dir", 0, OT_PATH, NULL, 0, 0, NULL, 0,
		CMD_CONFIGURED, "DIR", "directory of tenant configs (*.jsonc, sorted); --index or "
		"JOB_COMPLETION_INDEX picks one" },
	[OPT_INDEX] = { NULL, "index", "index", 0, OT_INT, NULL, 0, 100000, NULL, 0,
		CMD_CONFIGURED, "N", "tenant index within --config-dir (default: $JOB_COMPLETION_INDEX)" },
	[OPT_DRY_RUN] = { NULL, "dry-run", "dry-run", 'n', OT_FLAG, NULL, 0, 0, NULL, 0,
		CMD_RUN, NULL, "plan and report, write nothing to Keap" },
	[OPT_FULL] = { NULL, "full", "full", 0, OT_FLAG, NULL, 0, 0, NULL, 0,
		RUNNERS, NULL, "full sweep: compare every candidate, confirm deletes" },
	[OPT_PLAN_OUT] = { NULL, "plan-out", "plan-out", 0, OT_PATH, NULL, 0, 0, NULL, 0,
		CMD_RUN, "FILE", "also write the plan that was applied" },
	[OPT_OUTPUT] = { NULL, "output", "output", 'o', OT_PATH, NULL, 0, 0, NULL, 0,
		CMD_PLAN | CMD_REPORT, "FILE", "output file" },
	[OPT_APPROVE] = { NULL, "approve", "approve", 0, OT_INT, NULL, 0, I64_MAX, NULL, 0,
		RUNNERS, "N", "raise every guard's ceiling to N changes for this run" },
	[OPT_QUIET] = { NULL, "quiet", "quiet", 'q', OT_FLAG, NULL, 0, 0, NULL, 0,
		CMD_CONFIGURED, NULL, "no progress display; warnings and errors only" },
	[OPT_VERBOSE] = { NULL, "verbose", "verbose", 'v', OT_FLAG, NULL, 0, 0, NULL, 0,
		CMD_CONFIGURED, NULL, "debug logging (same as --log-level debug)" },
	[OPT_FORMAT] = { NULL, "format", "format", 0, OT_ENUM, "md", 0, 0, "json|html|md|csv", 0,
		CMD_REPORT, "FMT", "report format" },
	[OPT_STALE_AFTER] = { NULL, "stale-after", "stale-after", 0, OT_DURATION, "36h", 60,
		I64_MAX, NULL, 0, CMD_STATUS, "DURATION", "exit 8 when the last good run is older" },
	[OPT_JSON_OUT] = { NULL, "json", "json", 0, OT_FLAG, NULL, 0, 0, NULL, 0,
		CMD_DOCTOR | CMD_STATUS | CMD_PROBE, NULL, "machine-readable output" },
	[OPT_CODE] = { NULL, "code", "code", 0, OT_STR, NULL, 0, 0, NULL, OF_SECRET,
		CMD_AUTH, "CODE", "OAuth authorization code to exchange (visible in ps and shell "
		"history: prefer --code-file or --login)" },
	[OPT_REFRESH_TOKEN] = { NULL, "refresh-token", "refresh-token", 0, OT_STR, NULL, 0, 0,
		NULL, OF_SECRET, CMD_AUTH, "TOKEN", "bootstrap the state from an existing refresh token "
		"(visible in ps and shell history: prefer --refresh-token-file)" },
	[OPT_CODE_FILE] = { NULL, "code-file", "code-file", 0, OT_PATH, NULL, 0, 0, NULL, 0,
		CMD_AUTH, "FILE", "read the OAuth authorization code from FILE (- for stdin)" },
	[OPT_REFRESH_TOKEN_FILE] = { NULL, "refresh-token-file", "refresh-token-file", 0, OT_PATH,
		NULL, 0, 0, NULL, 0, CMD_AUTH, "FILE", "read the refresh token to store from FILE "
		"(- for stdin)" },
	[OPT_LOGIN] = { NULL, "login", "login", 0, OT_FLAG, NULL, 0, 0, NULL, 0, CMD_AUTH | CMD_INIT,
		NULL, "print Keap's authorize URL, take the redirected URL (or the code) on stdin "
		"(or on a loopback redirect URI's port) and store the tokens" },
	[OPT_LOGIN_TIMEOUT] = { NULL, "login-timeout", "login-timeout", 0, OT_DURATION, "10m", 5,
		3600, NULL, 0, CMD_AUTH | CMD_INIT, "DURATION", "how long --login waits for the "
		"approval" },
	[OPT_INIT_ATS] = { NULL, "ats", "ats", 0, OT_ENUM, NULL, 0, 0, "greenhouse|lever|ashby|file",
		0, CMD_INIT, "KIND", "the applicant tracking system (ats.kind)" },
	[OPT_INIT_OUT] = { NULL, "out", "out", 0, OT_PATH, "atsrecon.jsonc", 0, 0, NULL, 0, CMD_INIT,
		"FILE", "the configuration file to write (never overwritten)" },
	[OPT_NON_INTERACTIVE] = { NULL, "non-interactive", "non-interactive", 0, OT_FLAG, NULL, 0, 0,
		NULL, 0, CMD_INIT, NULL, "ask nothing: take every answer from the flags, the "
		"environment and -c FILE (scripts, CI)" },
	[OPT_SINCE] = { NULL, "since", "since", 0, OT_DURATION, NULL, 3600, I64_MAX, NULL, 0,
		CMD_REPORT, "DURATION", "one report over the runs of this period (30d): accuracy trend, "
		"repairs per week, recurring drift, what needs a person" },
	[OPT_FROM] = { NULL, "from", "from", 0, OT_STR, NULL, 0, 0, NULL, 0,
		CMD_REPORT, "DATE", "period report from this day (YYYY-MM-DD, UTC)" },
	[OPT_TO] = { NULL, "to", "to", 0, OT_STR, NULL, 0, 0, NULL, 0,
		CMD_REPORT, "DATE", "period report up to and including this day (default: now; "
		"alone: the 30 days before it)" },
	[OPT_HELP] = { NULL, "help", "help", 'h', OT_FLAG, NULL, 0, 0, NULL, 0,
		0xffffffffu, NULL, "show this help" },

	[OPT_ATS_KIND] = { "ats", "kind", NULL, 0, OT_ENUM, "greenhouse", 0, 0,
		"greenhouse|lever|ashby|file", 0, 0, NULL, "which applicant tracking system" },
	[OPT_ATS_BASE_URL] = { "ats", "base_url", NULL, 0, OT_URL, NULL, 0, 0, NULL, 0, 0, NULL,
		"API base URL (default: the vendor's)" },
	[OPT_ATS_AUTH_URL] = { "ats", "auth_url", NULL, 0, OT_URL, NULL, 0, 0, NULL, 0, 0, NULL,
		"OAuth base URL (Greenhouse: https://auth.greenhouse.io)" },
	[OPT_ATS_CLIENT_ID] = { "ats", "client_id", NULL, 0, OT_STR, NULL, 0, 0, NULL, 0, 0, NULL,
		"OAuth client id (Greenhouse Harvest v3)" },
	[OPT_ATS_CLIENT_SECRET] = { "ats", "client_secret", NULL, 0, OT_STR, NULL, 0, 0, NULL,
		OF_SECRET, 0, NULL, "OAuth client secret" },
	[OPT_ATS_USER_ID] = { "ats", "user_id", NULL, 0, OT_STR, NULL, 0, 0, NULL, 0, 0, NULL,
		"Greenhouse user the token acts as (sub)" },
	[OPT_ATS_API_KEY] = { "ats", "api_key", NULL, 0, OT_STR, NULL, 0, 0, NULL, OF_SECRET, 0,
		NULL, "API key (Lever, Ashby)" },
	[OPT_ATS_PAGE_SIZE] = { "ats", "page_size", NULL, 0, OT_INT, "500", 1, 500, NULL, 0, 0,
		NULL, "records per page" },
	[OPT_ATS_MAX_PAGES] = { "ats", "max_pages", NULL, 0, OT_INT, "10000", 1, 1000000, NULL, 0,
		0, NULL, "pages per listing per run, at most" },
	[OPT_ATS_PRIVATE_CANDIDATES] = { "ats", "private_candidates", NULL, 0, OT_BOOL, "false", 0,
		0, NULL, 0, 0, NULL, "let private/confidential candidates flow to Keap" },
	[OPT_ATS_FILE] = { "ats", "file", NULL, 0, OT_PATH, NULL, 0, 0, NULL, 0, 0, NULL,
		"export file to read (ats.kind \"file\")" },
	[OPT_ATS_FORMAT] = { "ats", "format", NULL, 0, OT_ENUM, "auto", 0, 0, "auto|csv|jsonl", 0,
		0, NULL, "export file format (auto: by the file name's extension)" },
	[OPT_ATS_COLUMNS] = { "ats", "columns", NULL, 0, OT_JSON, NULL, 0, 0, NULL, 0, 0, NULL,
		"export file: canonical field -> column name (object)" },
	[OPT_ATS_RPS] = { "ats", "max_rps", NULL, 0, OT_INT, "0", 0, 1000, NULL, 0, 0, NULL,
		"requests per second to the ATS, at most (0: the vendor's documented limit)" },
	[OPT_ATS_CURRENT_APPLICATION] = { "ats", "current_application", NULL, 0, OT_ENUM,
		"active_first", 0, 0, "active_first|latest_updated", 0, 0, NULL,
		"which application gives stage, status, job, source, referrer and applied time: "
		"active_first (the latest updated still active one, else the latest updated) or "
		"latest_updated (whatever its status); ties go to the greatest id" },

	[OPT_KEAP_BASE_URL] = { "keap", "base_url", NULL, 0, OT_URL,
		"https://api.infusionsoft.com/crm/rest", 0, 0, NULL, 0, 0, NULL, "Keap REST base URL" },
	[OPT_KEAP_TOKEN_URL] = { "keap", "token_url", NULL, 0, OT_URL,
		"https://api.infusionsoft.com/token", 0, 0, NULL, 0, 0, NULL, "Keap OAuth token URL" },
	[OPT_KEAP_AUTHORIZE_URL] = { "keap", "authorize_url", NULL, 0, OT_URL,
		"https://accounts.infusionsoft.com/app/oauth/authorize", 0, 0, NULL, 0, 0, NULL,
		"Keap OAuth authorize page (atsrecon auth keap --login)" },
	[OPT_KEAP_REDIRECT_URI] = { "keap", "redirect_uri", "redirect-uri", 0, OT_STR, NULL, 0, 0,
		NULL, 0, CMD_AUTH | CMD_INIT, "URI", "the redirect URI registered for the Keap app "
		"(the code is issued for it)" },
	[OPT_KEAP_AUTH] = { "keap", "auth", NULL, 0, OT_ENUM, "oauth", 0, 0, "oauth|pat|sak", 0, 0,
		NULL, "OAuth2 (rotating refresh tokens), personal access token or service account key" },
	[OPT_KEAP_CLIENT_ID] = { "keap", "client_id", NULL, 0, OT_STR, NULL, 0, 0, NULL, 0, 0, NULL,
		"OAuth client id" },
	[OPT_KEAP_CLIENT_SECRET] = { "keap", "client_secret", NULL, 0, OT_STR, NULL, 0, 0, NULL,
		OF_SECRET, 0, NULL, "OAuth client secret" },
	[OPT_KEAP_API_KEY] = { "keap", "api_key", NULL, 0, OT_STR, NULL, 0, 0, NULL, OF_SECRET, 0,
		NULL, "personal access token or service account key (X-Keap-API-Key)" },
	[OPT_KEAP_MAX_RPS] = { "keap", "max_rps", NULL, 0, OT_INT, "0", 0, 100, NULL, 0, 0, NULL,
		"requests per second ceiling (0: 10 for OAuth, 4 for keys)" },
	[OPT_KEAP_CONCURRENCY] = { "keap", "concurrency", NULL, 0, OT_INT, "4", 1, 16, NULL, 0, 0,
		NULL, "requests in flight at once" },
	[OPT_KEAP_PAGE_SIZE] = { "keap", "page_size", NULL, 0, OT_INT, "1000", 1, 1000, NULL, 0, 0,
		NULL, "contacts per page" },
	[OPT_KEAP_MAX_PAGES] = { "keap", "max_pages", NULL, 0, OT_INT, "10000", 1, 1000000, NULL, 0,
		0, NULL, "pages per listing per run, at most" },

	[OPT_HTTP_CA_FILE] = { "http", "ca_file", NULL, 0, OT_PATH, NULL, 0, 0, NULL, 0, 0, NULL,
		"CA bundle (default: $SSL_CERT_FILE, else the bundle built into the binary)" },
	[OPT_HTTP_CONNECT_TIMEOUT] = { "http", "connect_timeout", NULL, 0, OT_DURATION, "10s", 1,
		300, NULL, 0, 0, NULL, "connect timeout (TCP and TLS)" },
	[OPT_HTTP_TIMEOUT] = { "http", "timeout", NULL, 0, OT_DURATION, "60s", 1, 3600, NULL, 0, 0,
		NULL, "whole-request timeout" },
	[OPT_HTTP_MAX_BODY] = { "http", "max_body_bytes", NULL, 0, OT_INT, "16777216", 1024,
		1073741824, NULL, 0, 0, NULL, "largest response body accepted" },
	[OPT_HTTP_MAX_RETRIES] = { "http", "max_retries", NULL, 0, OT_INT, "6", 0, 20, NULL, 0, 0,
		NULL, "retries of one request (429, 5xx, timeouts, resets)" },

	[OPT_STATE_DIR] = { "state", "dir", "state-dir", 0, OT_PATH, "/var/lib/atsrecon", 0, 0, NULL,
		0, CMD_CONFIGURED, "DIR", "state directory (LMDB; local disk, never NFS)" },
	[OPT_STATE_URL] = { "state", "url", NULL, 0, OT_STR, NULL, 0, 0, NULL, 0, 0, NULL,
		"remote state, s3://bucket/prefix (Lambda)" },
	[OPT_STATE_ENDPOINT] = { "state", "endpoint", NULL, 0, OT_URL, NULL, 0, 0, NULL, 0, 0, NULL,
		"S3-compatible endpoint (MinIO, R2), path-style (default: AWS, https://s3.<region>.amazonaws.com)" },
	[OPT_STATE_REGION] = { "state", "region", NULL, 0, OT_STR, NULL, 0, 0, NULL, 0, 0, NULL,
		"region the S3 requests are signed for (default: $AWS_REGION, else us-east-1)" },
	[OPT_STATE_LEASE_TTL] = { "state", "lease_ttl", NULL, 0, OT_DURATION, "15m", 1, 86400, NULL,
		0, 0, NULL, "the remote state lease: renewed every third of it while a run lasts, "
		"taken over once this old; longer than run.max_runtime" },

	[OPT_RUN_MAX_RUNTIME] = { "run", "max_runtime", "max-runtime", 0, OT_DURATION, "50m", 10,
		86400, NULL, 0, RUNNERS, "DURATION", "stop cleanly (checkpoint, exit 5) before this" },
	[OPT_RUN_JITTER] = { "run", "jitter", "jitter", 0, OT_DURATION, "0s", 0, 86400, NULL, 0,
		CMD_RUN, "DURATION", "sleep a random time up to this before starting" },
	[OPT_RUN_FULL_SWEEP_EVERY] = { "run", "full_sweep_every", NULL, 0, OT_INT, "7", 1, 10000,
		NULL, 0, 0, NULL, "every Nth run is a full sweep" },
	[OPT_RUN_MAX_ATTEMPTS] = { "run", "max_attempts", NULL, 0, OT_INT, "5", 1, 100, NULL, 0, 0,
		NULL, "attempts per failed record before it stays failed" },
	[OPT_RUN_GRACE] = { "run", "grace", NULL, 0, OT_DURATION, "10s", 0, 600, NULL, 0, 0, NULL,
		"after SIGTERM/SIGINT: time for requests in flight to finish before the checkpoint" },

	[OPT_GUARDS_MAX_CHANGE_PCT] = { "guards", "max_change_percent", NULL, 0, OT_INT, "10", 0,
		100, NULL, 0, 0, NULL, "apply nothing if more than this % of linked contacts change" },
	[OPT_GUARDS_MAX_ARCHIVES] = { "guards", "max_archives", NULL, 0, OT_INT, "50", 0, I64_MAX,
		NULL, 0, 0, NULL, "apply nothing if more contacts would be archived" },
	[OPT_GUARDS_MAX_CREATES] = { "guards", "max_creates", NULL, 0, OT_INT, "500", 0, I64_MAX,
		NULL, 0, 0, NULL, "apply nothing if more contacts would be created" },

	[OPT_REPORT_DIR] = { "report", "dir", NULL, 0, OT_PATH, NULL, 0, 0, NULL, 0, 0, NULL,
		"report directory (default: <state dir>/reports)" },
	[OPT_REPORT_MASK_PII] = { "report", "mask_pii", NULL, 0, OT_BOOL, "true", 0, 0, NULL, 0, 0,
		NULL, "mask emails and phones in reports" },
	[OPT_REPORT_TREND_RUNS] = { "report", "trend_runs", NULL, 0, OT_INT, "30", 1, 1000, NULL, 0,
		0, NULL, "runs shown in the trend" },
	[OPT_REPORT_URL] = { "report", "url", NULL, 0, OT_STR, NULL, 0, 0, NULL, 0, 0, NULL,
		"where the HTML report is published (shown in it and linked from alerts)" },

	[OPT_MATCH_EXTERNAL_ID_FIELD] = { "match", "external_id_field", NULL, 0, OT_STR,
		"ATS Candidate ID", 0, 0, NULL, 0, 0, NULL,
		"Keap custom field holding the candidate's ATS id" },
	[OPT_MATCH_EXTERNAL_ID_FORMAT] = { "match", "external_id_format", NULL, 0, OT_STR, "{id}", 0,
		0, NULL, 0, 0, NULL, "how the external id is written: {id} the ATS's own id, {ats} "
		"the source (e.g. \"{ats}:{id}\"); the bare id and <ats>:<id> always match" },
	[OPT_MATCH_BY_EMAIL] = { "match", "by_email", NULL, 0, OT_BOOL, "true", 0, 0, NULL, 0, 0,
		NULL, "match unlinked candidates to contacts by normalised email" },
	[OPT_PHONE_DEFAULT_REGION] = { "phone", "default_region", NULL, 0, OT_STR, "US", 0, 0, NULL,
		0, 0, NULL, "ISO 3166 region for phone numbers without a country code" },

	[OPT_LIFE_DELETED_TAG] = { "lifecycle", "deleted_tag", NULL, 0, OT_STR, "ATS: Archived", 0,
		0, NULL, 0, 0, NULL, "tag for candidates deleted or archived in the ATS" },
	[OPT_LIFE_ANONYMIZED_TAG] = { "lifecycle", "anonymized_tag", NULL, 0, OT_STR,
		"ATS: GDPR Erased", 0, 0, NULL, 0, 0, NULL, "tag for anonymised candidates" },
	[OPT_LIFE_DUPLICATE_TAG] = { "lifecycle", "duplicate_tag", NULL, 0, OT_STR,
		"ATS: Possible Duplicate", 0, 0, NULL, 0, 0, NULL, "tag for duplicate contacts" },
	[OPT_LIFE_DELETES] = { "lifecycle", "deletes", NULL, 0, OT_ENUM, "tag", 0, 0,
		"tag|report|delete", 0, 0, NULL, "ATS deletes: tag the contact, only report, or delete it" },

	[OPT_LOG_LEVEL] = { "log", "level", "log-level", 0, OT_ENUM, "info", 0, 0,
		"debug|info|warn|error", 0, CMD_CONFIGURED, "LEVEL", "log level" },
	[OPT_LOG_FORMAT] = { "log", "format", "log-format", 0, OT_ENUM, "auto", 0, 0,
		"auto|text|json", 0, CMD_CONFIGURED, "FMT", "text on a terminal, JSON lines otherwise" },

	[OPT_METRICS_TEXTFILE] = { "metrics", "textfile", NULL, 0, OT_PATH, NULL, 0, 0, NULL, 0, 0,
		NULL, "write the run's Prometheus metrics to this file, atomically (node_exporter "
		"textfile collector: a *.prom file in its directory)" },
	[OPT_METRICS_PUSHGATEWAY_URL] = { "metrics", "pushgateway_url", NULL, 0, OT_URL, NULL, 0, 0,
		NULL, 0, 0, NULL, "Prometheus Pushgateway to PUT the run's metrics to, as the group "
		"job=atsrecon, instance=metrics.instance" },
	[OPT_METRICS_INSTANCE] = { "metrics", "instance", NULL, 0, OT_STR, NULL, 0, 0, NULL, 0, 0,
		NULL, "the tenant's instance label on the Pushgateway (default: the state "
		"directory's base name)" },
	[OPT_ALERT_WEBHOOK_URL] = { "alert", "webhook_url", NULL, 0, OT_STR, NULL, 0, 0, NULL,
		OF_SECRET, 0, NULL, "Slack-compatible incoming webhook (https://) that receives an "
		"alert when a run needs a person; the URL is the credential" },
	[OPT_ALERT_MIN_ACCURACY_PCT] = { "alert", "min_accuracy_pct", NULL, 0, OT_INT, "0", 0, 100,
		NULL, 0, 0, NULL, "alert when the accuracy after the run is below this % (0: never)" },
	[OPT_ALERT_MAX_FAILED_PCT] = { "alert", "max_failed_pct", NULL, 0, OT_INT, "0", 0, 100,
		NULL, 0, 0, NULL, "alert when more than this % of linked candidates failed (0: never)" },
	[OPT_ALERT_TOKEN_DAYS] = { "alert", "token_days", NULL, 0, OT_INT, "7", 0, 365, NULL, 0, 0,
		NULL, "alert when the Keap refresh token expires within this many days (0: never)" },
	[OPT_ALERT_REPORT_URL] = { "alert", "report_url", NULL, 0, OT_STR, NULL, 0, 0, NULL, 0, 0,
		NULL, "link to the report, added to every alert" },

	[OPT_FIELDS] = { "fields", NULL, NULL, 0, OT_JSON, NULL, 0, 0, NULL, 0, 0, NULL,
		"field mapping: [{from, to, owner, map, null, confirm}]; confirm lists map keys "
		"atsrecon init guessed (doctor warns until a person removes it)" },
	[OPT_STAGE_TAGS] = { "stage_tags", NULL, NULL, 0, OT_JSON, NULL, 0, 0, NULL, 0, 0, NULL,
		"stage → tag: {category, by_status, by_stage}" },
};
/* clang-format on */

const struct opt *
opt_get(enum opt_id id)
{
	return &opt_table[id];
}

int
opt_section_known(const char *section)
{
	size_t i;

	for (i = 0; i < OPT__MAX; i++)
		if (opt_table[i].section != NULL && strcmp(opt_table[i].section, section) == 0)
			return 1;
	return 0;
}

enum opt_id
opt_by_key(const char *section, const char *key, int *is_file)
{
	size_t i, klen = strlen(key);

	*is_file = 0;
	for (i = 0; i < OPT__MAX; i++) {
		const struct opt *o = &opt_table[i];

		if (o->section == NULL || o->key == NULL || strcmp(o->section, section) != 0)
			continue;
		if (strcmp(o->key, key) == 0)
			return (enum opt_id)i;
		if ((o->flags & OF_SECRET) && klen == strlen(o->key) + 5 &&
		    strncmp(key, o->key, strlen(o->key)) == 0 && strcmp(key + strlen(o->key), "_file") == 0) {
			*is_file = 1;
			return (enum opt_id)i;
		}
	}
	return OPT__MAX;
}

void
opt_env_name(enum opt_id id, int file, char *buf, size_t size)
{
	const struct opt *o = &opt_table[id];
	struct buf b = BUF_INIT;
	size_t i;

	buf_adds(&b, "ATSRECON_");
	buf_adds(&b, o->section);
	if (o->key != NULL) {
		buf_addc(&b, '_');
		buf_adds(&b, o->key);
	}
	if (file)
		buf_adds(&b, "_FILE");
	for (i = 0; i < b.len; i++)
		b.p[i] = (char)toupper((unsigned char)b.p[i]);
	str_copy(buf, size, b.p);
	buf_free(&b);
}

const char *
opt_type_name(enum opt_type t)
{
	switch (t) {
	case OT_STR: return "string";
	case OT_INT: return "integer";
	case OT_BOOL: return "boolean";
	case OT_DURATION: return "duration";
	case OT_ENUM: return "enum";
	case OT_URL: return "url";
	case OT_PATH: return "path";
	case OT_JSON: return "json";
	case OT_FLAG: return "flag";
	}
	return "?";
}

void
opt_usage(struct buf *out, unsigned cmd, const char *cmdname)
{
	size_t i;

	if (cmdname != NULL)
		buf_addf(out, "usage: atsrecon %s [options]\n\noptions:\n", cmdname);
	for (i = 0; i < OPT__MAX; i++) {
		const struct opt *o = &opt_table[i];
		char left[64];

		if (o->flag == NULL || (cmd != 0 && !(o->cmds & cmd)))
			continue;
		if (o->short_flag)
			snprintf(left, sizeof(left), "-%c, --%s%s%s", o->short_flag, o->flag,
			    o->metavar ? " " : "", o->metavar ? o->metavar : "");
		else
			snprintf(left, sizeof(left), "    --%s%s%s", o->flag, o->metavar ? " " : "",
			    o->metavar ? o->metavar : "");
		buf_addf(out, "  %-28s %s", left, o->help);
		if (o->type == OT_ENUM && o->choices != NULL)
			buf_addf(out, " (%s)", o->choices);
		if (o->def != NULL && o->type != OT_FLAG)
			buf_addf(out, " [%s]", o->def);
		buf_addc(out, '\n');
	}
}
