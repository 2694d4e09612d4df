/*
 * opts.h — the ONE option table.
 *
 * Every setting atsrecon understands is one row: its config key (section.key),
 * its environment variable (ATSRECON_<SECTION>_<KEY>, and _FILE for secrets),
 * its command-line flag if it has one, type, default, bounds, whether it is a
 * secret, and one line of help. `--help`, `atsrecon check`, the man pages
 * (docs/) and the config parser are all generated from or driven by this table;
 * nothing else may list options.
 *
 * Rows with section == NULL are command-line only (-c, --dry-run, ...).
 */
#ifndef ATSRECON_OPTS_H
#define ATSRECON_OPTS_H

#include <stdint.h>

#include "util.h"

enum opt_type {
	OT_STR,		/* free text */
	OT_INT,		/* integer within [min, max] */
	OT_BOOL,	/* true/false (config), 1/0/true/false/yes/no (env) */
	OT_DURATION,	/* "90s", "15m", "36h", "7d" → seconds within [min, max] */
	OT_ENUM,	/* one of choices ("a|b|c") */
	OT_URL,		/* https://, or http:// to a loopback host only */
	OT_PATH,	/* a file or directory path */
	OT_JSON,	/* structured value (array/object) validated by its module */
	OT_FLAG		/* command line only: present or not */
};

#define OF_SECRET 0x1u		/* never printed; also KEY_file / ..._FILE */
#define OF_REQUIRED 0x2u	/* (reserved for modules' own checks) */

/* Subcommands, as a bitmask for which ones take a flag. */
enum cmd {
	CMD_RUN = 1u << 0, CMD_PLAN = 1u << 1, CMD_APPLY = 1u << 2, CMD_REPORT = 1u << 3,
	CMD_CHECK = 1u << 4, CMD_STATUS = 1u << 5, CMD_DOCTOR = 1u << 6, CMD_AUTH = 1u << 7,
	CMD_LAMBDA = 1u << 8, CMD_VERSION = 1u << 9, CMD_PROBE = 1u << 10, CMD_INIT = 1u << 11
};
#define CMD_CONFIGURED (CMD_RUN | CMD_PLAN | CMD_APPLY | CMD_REPORT | CMD_CHECK | CMD_STATUS | \
	CMD_DOCTOR | CMD_AUTH | CMD_LAMBDA | CMD_PROBE | CMD_INIT)

enum opt_id {
	/* command line only */
	OPT_CONFIG, OPT_CONFIG_DIR, OPT_INDEX, OPT_DRY_RUN, OPT_FULL, OPT_PLAN_OUT, OPT_OUTPUT,
	OPT_APPROVE, OPT_QUIET, OPT_VERBOSE, OPT_FORMAT, OPT_STALE_AFTER, OPT_JSON_OUT,
	OPT_CODE, OPT_REFRESH_TOKEN, OPT_CODE_FILE, OPT_REFRESH_TOKEN_FILE,
	OPT_LOGIN, OPT_LOGIN_TIMEOUT, OPT_INIT_ATS, OPT_INIT_OUT, OPT_NON_INTERACTIVE,
	OPT_SINCE, OPT_FROM, OPT_TO, OPT_HELP,
	/* ats */
	OPT_ATS_KIND, OPT_ATS_BASE_URL, OPT_ATS_AUTH_URL, OPT_ATS_CLIENT_ID, OPT_ATS_CLIENT_SECRET,
	OPT_ATS_USER_ID, OPT_ATS_API_KEY, OPT_ATS_PAGE_SIZE, OPT_ATS_MAX_PAGES,
	OPT_ATS_PRIVATE_CANDIDATES, OPT_ATS_FILE, OPT_ATS_FORMAT, OPT_ATS_COLUMNS, OPT_ATS_RPS,
	OPT_ATS_CURRENT_APPLICATION,
	/* keap */
	OPT_KEAP_BASE_URL, OPT_KEAP_TOKEN_URL, OPT_KEAP_AUTHORIZE_URL, OPT_KEAP_REDIRECT_URI,
	OPT_KEAP_AUTH, OPT_KEAP_CLIENT_ID,
	OPT_KEAP_CLIENT_SECRET, OPT_KEAP_API_KEY, OPT_KEAP_MAX_RPS, OPT_KEAP_CONCURRENCY,
	OPT_KEAP_PAGE_SIZE, OPT_KEAP_MAX_PAGES,
	/* http */
	OPT_HTTP_CA_FILE, OPT_HTTP_CONNECT_TIMEOUT, OPT_HTTP_TIMEOUT, OPT_HTTP_MAX_BODY,
	OPT_HTTP_MAX_RETRIES,
	/* state */
	OPT_STATE_DIR, OPT_STATE_URL, OPT_STATE_ENDPOINT, OPT_STATE_REGION, OPT_STATE_LEASE_TTL,
	/* run */
	OPT_RUN_MAX_RUNTIME, OPT_RUN_JITTER, OPT_RUN_FULL_SWEEP_EVERY, OPT_RUN_MAX_ATTEMPTS,
	OPT_RUN_GRACE,
	/* guards */
	OPT_GUARDS_MAX_CHANGE_PCT, OPT_GUARDS_MAX_ARCHIVES, OPT_GUARDS_MAX_CREATES,
	/* report */
	OPT_REPORT_DIR, OPT_REPORT_MASK_PII, OPT_REPORT_TREND_RUNS, OPT_REPORT_URL,
	/* match, phone */
	OPT_MATCH_EXTERNAL_ID_FIELD, OPT_MATCH_EXTERNAL_ID_FORMAT, OPT_MATCH_BY_EMAIL,
	OPT_PHONE_DEFAULT_REGION,
	/* lifecycle */
	OPT_LIFE_DELETED_TAG, OPT_LIFE_ANONYMIZED_TAG, OPT_LIFE_DUPLICATE_TAG, OPT_LIFE_DELETES,
	/* log */
	OPT_LOG_LEVEL, OPT_LOG_FORMAT,
	/* metrics, alert */
	OPT_METRICS_TEXTFILE, OPT_METRICS_PUSHGATEWAY_URL, OPT_METRICS_INSTANCE,
	OPT_ALERT_WEBHOOK_URL, OPT_ALERT_MIN_ACCURACY_PCT, OPT_ALERT_MAX_FAILED_PCT,
	OPT_ALERT_TOKEN_DAYS, OPT_ALERT_REPORT_URL,
	/* structured sections, validated by the mapping module */
	OPT_FIELDS, OPT_STAGE_TAGS,
	OPT__MAX
};

struct opt {
	const char *section;	/* NULL: command line only */
	const char *key;	/* config key within the section (or the flag's name) */
	const char *flag;	/* long flag without "--", or NULL */
	char short_flag;	/* 0 if none */
	enum opt_type type;
	const char *def;	/* default as text; NULL: unset */
	int64_t min, max;	/* OT_INT, OT_DURATION bounds */
	const char *choices;	/* OT_ENUM: "a|b|c" */
	unsigned flags;		/* OF_* */
	unsigned cmds;		/* CMD_* that accept the flag */
	const char *metavar;	/* flag argument name for help ("FILE"), NULL for flags */
	const char *help;
};

extern const struct opt opt_table[OPT__MAX];

const struct opt *opt_get(enum opt_id);
/* Looks up a config key; returns OPT__MAX when unknown. Also matches "<key>_file"
 * for secrets (sets *is_file). */
enum opt_id opt_by_key(const char *section, const char *key, int *is_file);
int opt_section_known(const char *section);
/* "ATSRECON_KEAP_CLIENT_SECRET" into buf (with "_FILE" appended when file). */
void opt_env_name(enum opt_id, int file, char *buf, size_t size);
const char *opt_type_name(enum opt_type);
/* Usage text for one subcommand (or all when cmd == 0), generated from the table. */
void opt_usage(struct buf *out, unsigned cmd, const char *cmdname);

#endif
