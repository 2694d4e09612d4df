/*
 * genman.c — writes the manual pages atsrecon(1) and atsrecon.conf(5), in
 * mdoc(7), from the tables the program itself runs on:
 *
 *   - the option table (opt_table in src/opts.c): every flag, config key,
 *     environment variable, type, default, range, choice list and help line;
 *   - the command table (commands[] in src/main.c): names, arguments, help,
 *     and through each option's cmds bitmask which flags a command takes;
 *   - the exit statuses (rc_exit_status and rc_str in src/util.c).
 *
 *   genman 1    the text of docs/atsrecon.1 on stdout
 *   genman 5    the text of docs/atsrecon.conf.5 on stdout
 *
 * `./build.sh man` (make man) regenerates both committed pages, and
 * tests/integration/docs.sh fails when they differ from what this program
 * writes, so a new option cannot be left undocumented.
 *
 * The command table is static in src/main.c, so this file includes main.c
 * itself, with its main() renamed, instead of keeping a second list of
 * commands that could drift. (If the table moves into opts.c one day, this
 * include goes away.) Only the prose that no table holds is written here:
 * the descriptions, the exit statuses' longer explanations, the grammar of
 * the structured sections (fields, stage_tags, ats.columns; see
 * src/mapping.h) and the examples.
 *
 * Output is deterministic: no clock is read. .Dd is MAN_DATE below (change it
 * when the prose changes); .Os is left empty, as mandoc -T lint asks.
 * Text is escaped for roff (backslashes, leading dots, non-ASCII characters
 * as \[uXXXX]); `mandoc -T lint` must stay silent on both pages.
 */
int atsrecon_main(int argc, char **argv);
#define main atsrecon_main
#include "main.c"
#undef main

#define MAN_DATE "December 1, 2026"

static struct buf out = BUF_INIT;

/* Appends s escaped for roff; quoted: for a "quoted" macro argument. */
static void
esc(struct buf *b, const char *s, int quoted)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p != '\0') {
		unsigned cp;
		size_t n, i;

		if (*p < 0x80) {
			if (*p == '\\')
				buf_adds(b, "\\e");
			else if (*p == '"' && quoted)
				buf_adds(b, "\"\"");
			else
				buf_addc(b, (char)*p);
			p++;
			continue;
		}
		/* one UTF-8 sequence (the tables hold valid UTF-8) → \[uXXXX] */
		n = *p >= 0xf0 ? 4 : *p >= 0xe0 ? 3 : 2;
		cp = *p & (n == 4 ? 0x07u : n == 3 ? 0x0fu : 0x1fu);
		for (i = 1; i < n && (p[i] & 0xc0) == 0x80; i++)
			cp = (cp << 6) | (p[i] & 0x3fu);
		buf_addf(b, "\\[u%04X]", cp);
		p += i;
	}
}

/* A macro line: ".Xx" followed by raw (already mdoc) arguments. */
static void
mac(const char *line)
{
	buf_addc(&out, '.');
	buf_adds(&out, line);
	buf_addc(&out, '\n');
}

/* A quoted macro argument, preceded by a space. */
static void
qarg(const char *s)
{
	buf_adds(&out, " \"");
	esc(&out, s, 1);
	buf_addc(&out, '"');
}

/* ".Xx "arg"" */
static void
mac1(const char *m, const char *arg)
{
	buf_addf(&out, ".%s", m);
	qarg(arg);
	buf_addc(&out, '\n');
}

/* "Default:" and the value as a literal, ending the sentence. */
static void
default_line(const char *def)
{
	buf_adds(&out, "Default:\n.Ql");
	qarg(def);
	buf_adds(&out, " .\n");
}

/* Text lines: one sentence per line, each at most 78 bytes (mandoc -T lint
 * asks for both), none starting with a dot or quote (a roff request). */
static void
text(const char *s)
{
	struct buf e = BUF_INIT;
	const char *p, *w;
	size_t col = 0;

	esc(&e, s, 0);
	for (p = e.p; *p != '\0'; ) {
		size_t n;
		int end;

		while (*p == ' ')
			p++;
		if (*p == '\0')
			break;
		for (w = p; *p != '\0' && *p != ' '; p++)
			;
		n = (size_t)(p - w);
		if (col > 0 && col + 1 + n > 78) {
			buf_addc(&out, '\n');
			col = 0;
		}
		if (col > 0) {
			buf_addc(&out, ' ');
			col++;
		} else if (*w == '.' || *w == '\'') {
			buf_adds(&out, "\\&");
			col += 2;
		}
		buf_add(&out, w, n);
		col += n;
		/* a word ending a sentence ends the line: "end.", "end.)", "end:" is not */
		while (n > 1 && (w[n - 1] == ')' || w[n - 1] == '"'))
			n--;
		end = w[n - 1] == '.' || w[n - 1] == '!' || w[n - 1] == '?';
		if (end && *p != '\0') {
			buf_addc(&out, '\n');
			col = 0;
		}
	}
	buf_addc(&out, '\n');
	buf_free(&e);
}

/* A literal line (inside .Bd -literal): kept as it is, only escaped. */
static void
lit(const char *s)
{
	if (*s == '.' || *s == '\'')
		buf_adds(&out, "\\&");
	esc(&out, s, 0);
	buf_addc(&out, '\n');
}

/* A help string as a sentence: capitalised, ending with a full stop. */
static void
sentence(const char *help)
{
	size_t n = strlen(help);
	char *s = xstrdup(help);

	if (s[0] >= 'a' && s[0] <= 'z')
		s[0] = (char)(s[0] - 'a' + 'A');
	if (n > 0 && s[n - 1] != '.') {
		char *t = xasprintf("%s.", s);
		free(s);
		s = t;
	}
	text(s);
	free(s);
}

/* "90", "15m", "36h", "7d": seconds as the largest exact unit. */
static void
duration(int64_t s, char *b, size_t size)
{
	if (s != 0 && s % 86400 == 0)
		snprintf(b, size, "%lldd", (long long)(s / 86400));
	else if (s != 0 && s % 3600 == 0)
		snprintf(b, size, "%lldh", (long long)(s / 3600));
	else if (s != 0 && s % 60 == 0)
		snprintf(b, size, "%lldm", (long long)(s / 60));
	else
		snprintf(b, size, "%llds", (long long)s);
}

/* "Fl c , Fl -config Ar FILE" (without the leading macro dot). */
static void
flag_spec(const struct opt *o, struct buf *b)
{
	if (o->short_flag)
		buf_addf(b, "Fl %c , ", o->short_flag);
	buf_addf(b, "Fl -%s", o->flag);
	if (o->metavar != NULL)
		buf_addf(b, " Ar %s", o->metavar);
}

/* ".Fl c , Fl -config-dir , ..." the flags that cmd takes (--help left out). */
static void
cmd_flag_list(unsigned bit)
{
	size_t i;
	int first = 1;

	for (i = 0; i < OPT__MAX; i++) {
		const struct opt *o = &opt_table[i];

		if (o->flag == NULL || i == OPT_HELP || !(o->cmds & bit))
			continue;
		buf_adds(&out, first ? ".Fl " : " , Fl ");
		if (o->short_flag)
			buf_addf(&out, "%c , Fl ", o->short_flag);
		buf_addf(&out, "-%s", o->flag);
		first = 0;
	}
	if (!first)
		buf_adds(&out, " .\n");
}

/* "A, B and C" of the commands in a cmds bitmask. */
static void
cmds_text(unsigned cmds, struct buf *b)
{
	size_t i, n = 0, k = 0;

	for (i = 0; i < ARRAY_LEN(commands); i++)
		if (cmds & commands[i].bit)
			n++;
	if (n == ARRAY_LEN(commands)) {
		buf_adds(b, "every command");
		return;
	}
	if (2 * n > ARRAY_LEN(commands)) {
		buf_adds(b, "every command but ");
		n = ARRAY_LEN(commands) - n;
		for (i = 0; i < ARRAY_LEN(commands); i++) {
			if (cmds & commands[i].bit)
				continue;
			k++;
			buf_addf(b, "%s%s", k == 1 ? "" : k == n ? " and " : ", ", commands[i].name);
		}
		return;
	}
	for (i = 0; i < ARRAY_LEN(commands); i++) {
		if (!(cmds & commands[i].bit))
			continue;
		k++;
		buf_addf(b, "%s%s", k == 1 ? "" : k == n ? " and " : ", ", commands[i].name);
	}
}

/* ".Cm a | b | c" of "a|b|c". */
static void
choices_line(const char *choices, const char *lead, const char *tail)
{
	const char *p;

	buf_addf(&out, "%s.Cm ", lead);
	for (p = choices; *p != '\0'; p++)
		if (*p == '|')
			buf_adds(&out, " | ");
		else
			buf_addc(&out, *p);
	buf_addf(&out, "%s\n", tail);
}

/* ".Cm fields , stage_tags No and Cm ats.columns" of the OT_JSON options. */
static void
json_keys_line(void)
{
	size_t i, n = 0, k = 0;

	for (i = 0; i < OPT__MAX; i++)
		if (opt_table[i].type == OT_JSON)
			n++;
	buf_adds(&out, ".Cm ");
	for (i = 0; i < OPT__MAX; i++) {
		const struct opt *o = &opt_table[i];

		if (o->type != OT_JSON)
			continue;
		k++;
		buf_adds(&out, k == 1 ? "" : k == n ? " No and Cm " : " , ");
		buf_addf(&out, "%s%s%s", o->section, o->key ? "." : "", o->key ? o->key : "");
	}
	buf_addc(&out, '\n');
}

/* Longer explanations of the exit statuses; numbers come from rc_exit_status. */
static const char *const rc_text[] = {
	[RC_OK] = "Success. For run: the run completed and Keap agrees with the ATS for every "
	    "record in scope.",
	[RC_RECORD] = "The run completed, but some records failed (a value that cannot be "
	    "written, a failed write); they are listed in the report and retried by the next run. "
	    "For probe: the server answered with an HTTP status of 400 or more.",
	[RC_USAGE] = "Usage error: an unknown command or option, a missing or extra argument, or a "
	    "flag value of the wrong form.",
	[RC_CONFIG] = "Configuration error: a malformed file, an unknown section or key, a wrong "
	    "type, a value out of range, an unreadable secret file, a bad field mapping, or a mapped "
	    "Keap custom field that does not exist. The message names the file and line, the "
	    "variable or the flag.",
	[RC_AUTH] = "Authorisation needs a person: a credential was refused (Keap's invalid_grant, "
	    "a 401 after a token refresh, a 403). Fix the keys, or run atsrecon auth keap again.",
	[RC_REMOTE] = "A remote service was unavailable, or the deadline (run.max_runtime) was "
	    "reached with work left. The run checkpointed; the next run continues.",
	[RC_GUARD] = "A guard tripped (guards.* in atsrecon.conf(5)); nothing was applied. The "
	    "report says which guard and by how much; --approve N raises the ceilings for one run.",
	[RC_QUOTA] = "An API quota is exhausted; the remainder is deferred to a later run.",
	[RC_STALE] = "For status: the last good run is older than --stale-after, or there was "
	    "none.",
	[RC_STATE] = "State error: the state directory is corrupt, has another schema version, "
	    "cannot be created or written, or is on NFS.",
	[RC_LOCKED] = "Another run holds the lock on the state directory; nothing was done.",
	[RC_BUG] = "Internal error (a bug), or a command that this build does not implement yet.",
};

static void
page1_exit_status(void)
{
	int order[ARRAY_LEN(rc_text)];
	size_t i, j, n = ARRAY_LEN(rc_text);

	mac("Sh EXIT STATUS");
	text("The exit statuses are an interface: they are never reused or renumbered.");
	for (i = 0; i < n; i++)
		order[i] = (int)i;
	/* by number */
	for (i = 1; i < n; i++)
		for (j = i; j > 0 && rc_exit_status((enum rc)order[j - 1]) >
		    rc_exit_status((enum rc)order[j]); j--) {
			int t = order[j];
			order[j] = order[j - 1];
			order[j - 1] = t;
		}
	mac("Bl -tag -width Ds");
	for (i = 0; i < n; i++) {
		enum rc rc = (enum rc)order[i];
		buf_addf(&out, ".It %d\n", rc_exit_status(rc));
		text(rc_text[rc]);
	}
	mac("El");
}

static void
page1(void)
{
	size_t i;
	char env[128];

	buf_adds(&out, ".\\\" Generated by tools/genman from the option table (src/opts.c) and the\n"
	    ".\\\" command table (src/main.c); do not edit. Regenerate: ./build.sh man\n");
	mac("Dd " MAN_DATE);
	mac("Dt ATSRECON 1");
	mac("Os");
	mac("Sh NAME");
	mac("Nm atsrecon");
	mac("Nd keep a Keap CRM in sync with an applicant tracking system");

	mac("Sh SYNOPSIS");
	for (i = 0; i < ARRAY_LEN(commands); i++) {
		const struct cmdspec *c = &commands[i];
		size_t k;

		mac("Nm");
		mac1("Cm", c->name);
		if (*c->args != '\0' && !(c->args[0] >= 'A' && c->args[0] <= 'Z'))
			mac1("Cm", c->args);	/* a literal word: auth keap */
		for (k = 0; k < OPT__MAX; k++) {
			const struct opt *o = &opt_table[k];
			struct buf b = BUF_INIT;

			if (o->flag == NULL || k == OPT_HELP || !(o->cmds & c->bit))
				continue;
			if (o->short_flag)
				buf_addf(&b, "Op Fl %c", o->short_flag);
			else
				buf_addf(&b, "Op Fl -%s", o->flag);
			if (o->metavar != NULL)
				buf_addf(&b, " Ar %s", o->metavar);
			mac(b.p);
			buf_free(&b);
		}
		if (c->args[0] >= 'A' && c->args[0] <= 'Z')
			mac1("Ar", c->args);	/* a metavariable: apply PLAN */
	}
	mac("Nm");
	mac("Fl h | -help");
	mac("Nm");
	mac("Fl -version");

	mac("Sh DESCRIPTION");
	mac("Nm");
	text("reconciles a Keap CRM with an applicant tracking system (Greenhouse, Lever, Ashby, or an "
	    "export file).");
	text("Each run pulls both sides in bounded pages, compares every candidate in scope with its "
	    "Keap contact through the field mapping, plans the repairs, applies them unless a guard "
	    "trips, and writes a report with the accuracy before and after.");
	text("It is meant to run on a schedule: cron or a systemd timer, a Kubernetes CronJob, or an "
	    "AWS Lambda custom runtime.");
	mac("Pp");
	text("The configuration is described in");
	mac("Xr atsrecon.conf 5 .");
	text("Its layers, later winning, are: built-in defaults, the configuration file, ATSRECON_* "
	    "environment variables, and command-line flags.");
	text("The state (the snapshot of both sides, links, OAuth tokens, the failed records) lives in "
	    "one directory on a local file system; a run holds an exclusive lock on it.");
	mac("Pp");
	text("Diagnostics go to standard error: human text on a terminal, JSON lines otherwise.");
	text("Secret values are never printed.");

	mac("Sh COMMANDS");
	text("Every command takes");
	mac("Fl h , Fl -help ,");
	text("which lists its options.");
	text("The options each command takes:");
	mac("Bl -tag -width Ds");
	for (i = 0; i < ARRAY_LEN(commands); i++) {
		const struct cmdspec *c = &commands[i];

		if (*c->args != '\0')
			buf_addf(&out, ".It Cm %s %s %s\n", c->name,
			    c->args[0] >= 'A' && c->args[0] <= 'Z' ? "Ar" : "Cm", c->args);
		else
			buf_addf(&out, ".It Cm %s\n", c->name);
		sentence(c->help);
		if (c->bit & CMD_CONFIGURED) {
			text("Options:");
			cmd_flag_list(c->bit);
		} else
			text("Reads no configuration and takes no options.");
	}
	mac("El");

	mac("Sh OPTIONS");
	mac("Bl -tag -width Ds");
	for (i = 0; i < OPT__MAX; i++) {
		const struct opt *o = &opt_table[i];
		struct buf b = BUF_INIT, cm = BUF_INIT;

		if (o->flag == NULL)
			continue;
		buf_adds(&b, "It ");
		flag_spec(o, &b);
		mac(b.p);
		buf_free(&b);
		sentence(o->help);
		if (o->type == OT_ENUM && o->choices != NULL)
			choices_line(o->choices, "One of\n", " .");
		if (o->def != NULL && o->type != OT_FLAG)
			default_line(o->def);
		if (o->section != NULL) {
			buf_addf(&b, "Sets %s.%s in", o->section, o->key);
			text(b.p);
			mac("Xr atsrecon.conf 5 .");
			buf_free(&b);
		}
		cmds_text(o->cmds, &cm);
		buf_addf(&b, "For %s.", cm.p);
		text(b.p);
		buf_free(&b);
		buf_free(&cm);
	}
	mac("El");

	mac("Sh ENVIRONMENT");
	text("Every configuration key can be set by an environment variable, which beats the file and "
	    "is beaten by a flag.");
	text("A secret can instead be read from a file named by its _FILE variable; setting both is an "
	    "error.");
	text("Unknown ATSRECON_* variables are ignored with a warning.");
	mac("Bl -tag -width Ds");
	mac("It Ev ATSRECON_CONFIG");
	text("The configuration file when neither");
	mac("Fl c");
	text("nor");
	mac("Fl -config-dir");
	text("is given.");
	mac("It Ev JOB_COMPLETION_INDEX");
	text("The tenant index within");
	mac("Fl -config-dir");
	text("when");
	mac("Fl -index");
	text("is not given (set by Kubernetes Indexed Jobs).");
	mac("It Ev SSL_CERT_FILE");
	text("CA bundle when http.ca_file is not set; without either, the bundle built into the binary "
	    "is used.");
	mac("It Ev HTTPS_PROXY , Ev https_proxy , Ev NO_PROXY");
	text("Proxy settings, honoured by every request.");
	mac("It Ev AWS_ACCESS_KEY_ID , Ev AWS_SECRET_ACCESS_KEY , Ev AWS_SESSION_TOKEN , Ev AWS_REGION");
	text("Credentials and region for a state kept in S3");
	mac("Pq state.url = s3://bucket/prefix");
	text("requests are signed with AWS Signature Version 4.");
	mac("It Ev AWS_LAMBDA_RUNTIME_API , Ev AWS_LAMBDA_LOG_LEVEL");
	text("Set by AWS Lambda for");
	mac("Cm lambda :");
	text("the Runtime API to poll, and the log level (Lambda's JSON log format).");
	mac("It Ev ATSRECON_ Ns Ar SECTION Ns _ Ns Ar KEY Ns _SSM , Ev PARAMETERS_SECRETS_EXTENSION_HTTP_PORT");
	text("A secret's value from the AWS Parameters and Secrets Lambda Extension: the variable "
	    "names the Parameter Store parameter, fetched from localhost on the port given (default "
	    "2773) with AWS_SESSION_TOKEN as the extension's token; a failure is a configuration "
	    "error naming the parameter.");
	mac("It Ev TMPDIR , Ev AWS_DEFAULT_REGION");
	text("Where a state kept in S3 is unpacked for the run (default /tmp), and where a "
	    "Greenhouse or Lever full sweep keeps its temporary file when state.dir is not set; and "
	    "the region when neither state.region nor AWS_REGION is set.");
	for (i = 0; i < OPT__MAX; i++) {
		const struct opt *o = &opt_table[i];
		struct buf b = BUF_INIT;

		if (o->section == NULL || o->type == OT_JSON)
			continue;	/* structured values are set in the file only */
		opt_env_name((enum opt_id)i, 0, env, sizeof(env));
		buf_addf(&b, "It Ev %s", env);
		if (o->flags & OF_SECRET) {
			opt_env_name((enum opt_id)i, 1, env, sizeof(env));
			buf_addf(&b, " , Ev %s", env);
		}
		mac(b.p);
		buf_free(&b);
		buf_addf(&b, "%s (%s.%s)", o->help, o->section, o->key);
		sentence(b.p);
		buf_free(&b);
		if (o->flags & OF_SECRET)
			text("Secret; the _FILE variable names a file holding it.");
	}
	mac("El");
	mac("Pp");
	text("The structured sections");
	json_keys_line();
	text("are set in the configuration file only.");

	mac("Sh FILES");
	mac("Bl -tag -width Ds");
	mac1("It Pa", opt_table[OPT_STATE_DIR].def);
	text("The default state directory (state.dir): an LMDB environment (data.mdb, lock.mdb, mode "
	    "0600) and the lock file, in a directory created mode 0700.");
	text("It must be on a local file system, never NFS.");
	buf_addf(&out, ".It Pa %s/reports\n", opt_table[OPT_STATE_DIR].def);
	text("The default report directory (report.dir): report.json, report.md, report.html and "
	    "drift.csv of the last run.");
	text("report --since 30d (or --from/--to) prints one report over a period instead, read from "
	    "the state's runs table: accuracy at the start and the end with its trend, repairs by kind "
	    "per week, recurring drift named as a process problem, time from detection to repair, and "
	    "what still needs a person, in the same four formats (csv: one row per run).");
	mac("It Pa configs/*.jsonc");
	text("Commented example configurations in the source tree, one per ATS and per run mode.");
	mac("El");

	page1_exit_status();

	mac("Sh EXAMPLES");
	text("Validate a configuration and print it with each value's origin, secrets redacted:");
	mac("Dl $ atsrecon check -c /etc/atsrecon/atsrecon.jsonc");
	mac("Pp");
	text("Store the first Keap OAuth tokens, then see what a run would change:");
	mac("Bd -literal -offset indent");
	lit("$ atsrecon auth keap -c atsrecon.jsonc --refresh-token \"$(cat refresh-token)\"");
	lit("$ atsrecon run -c atsrecon.jsonc --dry-run");
	mac("Ed");
	mac("Pp");
	text("Every 15 minutes from cron, with a dead-man's switch for monitoring:");
	mac("Bd -literal -offset indent");
	lit("*/15 * * * * atsrecon run -c /etc/atsrecon/atsrecon.jsonc --quiet");
	lit("0 * * * *    atsrecon status -c /etc/atsrecon/atsrecon.jsonc --stale-after 36h");
	mac("Ed");
	mac("Pp");
	text("Plan, review, then apply exactly that plan:");
	mac("Bd -literal -offset indent");
	lit("$ atsrecon plan -c atsrecon.jsonc -o repairs.plan");
	lit("$ atsrecon apply -c atsrecon.jsonc repairs.plan");
	mac("Ed");

	mac("Sh SEE ALSO");
	mac("Xr atsrecon.conf 5");
}

static const char *
type_text(const struct opt *o, struct buf *b)
{
	char lo[32], hi[32];

	switch (o->type) {
	case OT_INT:
		if (o->max == INT64_MAX)
			buf_addf(b, "An integer, at least %lld.", (long long)o->min);
		else
			buf_addf(b, "An integer from %lld to %lld.", (long long)o->min, (long long)o->max);
		break;
	case OT_DURATION:
		duration(o->min, lo, sizeof(lo));
		duration(o->max, hi, sizeof(hi));
		buf_addf(b, "A duration (a number and s, m, h or d), from %s to %s.", lo, hi);
		break;
	case OT_BOOL: buf_adds(b, "Either true or false."); break;
	case OT_URL: buf_adds(b, "An https:// URL (http:// only to a loopback host)."); break;
	case OT_PATH: buf_adds(b, "A path."); break;
	case OT_STR: buf_adds(b, "A string."); break;
	case OT_JSON: buf_adds(b, "A JSON object; see STRUCTURED SECTIONS."); break;
	case OT_ENUM:
	case OT_FLAG:
		return NULL;
	}
	return b->p;
}

static void
page5_key(enum opt_id id)
{
	const struct opt *o = &opt_table[id];
	struct buf b = BUF_INIT;
	char env[128];

	buf_addf(&out, ".It Cm %s Pq %s\n", o->key, opt_type_name(o->type));
	sentence(o->help);
	if (o->type == OT_ENUM)
		choices_line(o->choices, "One of\n", " .");
	else if (type_text(o, &b) != NULL)
		text(b.p);
	buf_free(&b);
	if (o->def != NULL)
		default_line(o->def);
	if (o->flags & OF_SECRET) {
		text("Secret: never printed.");
		text("Instead of the value, the key");
		buf_addf(&out, ".Cm %s_file\n", o->key);
		text("may name a file holding it (one line; a trailing newline is stripped).");
	}
	if (o->type != OT_JSON) {
		text("Environment:");
		opt_env_name(id, 0, env, sizeof(env));
		buf_addf(&out, ".Ev %s", env);
		if (o->flags & OF_SECRET) {
			opt_env_name(id, 1, env, sizeof(env));
			buf_addf(&out, " , %s", env);
		}
		buf_adds(&out, " .\n");
	}
	if (o->flag != NULL) {
		struct buf f = BUF_INIT;
		text("Command line:");
		buf_adds(&f, "Fl -");
		buf_adds(&f, o->flag);
		if (o->metavar)
			buf_addf(&f, " Ar %s", o->metavar);
		buf_adds(&f, " .");
		mac(f.p);
		buf_free(&f);
	}
}

static void
page5(void)
{
	size_t i, k;
	const char *sections[32];
	size_t nsec = 0;

	buf_adds(&out, ".\\\" Generated by tools/genman from the option table (src/opts.c); do not\n"
	    ".\\\" edit. Regenerate: ./build.sh man\n");
	mac("Dd " MAN_DATE);
	mac("Dt ATSRECON.CONF 5");
	mac("Os");
	mac("Sh NAME");
	mac("Nm atsrecon.conf");
	mac("Nd atsrecon configuration file");

	mac("Sh DESCRIPTION");
	text("The configuration of");
	mac("Xr atsrecon 1");
	text("is one JSON object with comments");
	text("(// and /* */) and trailing commas, in UTF-8, at most 1 MiB.");
	text("Each top-level key is a section; each section is an object of keys, except the "
	    "structured sections described below.");
	text("Unknown sections and keys, duplicate keys, wrong types and values out of range are "
	    "errors that name the file and line; a typo never falls back to a default silently.");
	mac("Pp");
	text("Values come from four layers, later winning:");
	mac("Bl -enum -compact");
	mac("It");
	text("built-in defaults (listed below);");
	mac("It");
	text("the file, given by");
	mac("Fl c Ar FILE ,");
	text("by");
	mac("Ev ATSRECON_CONFIG ,");
	text("or picked from a directory of tenant files by");
	mac("Fl -config-dir");
	text("and");
	mac("Fl -index ;");
	mac("It");
	text("environment variables ATSRECON_<SECTION>_<KEY>, for example");
	mac("Ev ATSRECON_KEAP_MAX_RPS Ns =8 ;");
	mac("It");
	text("command-line flags (for the keys that have one).");
	mac("El");
	mac("Pp");
	text("Secrets are never printed.");
	text("Each can be given as its value, or as the name of a file that holds it: the key");
	mac("Cm <key>_file");
	text("in the file, or the variable");
	mac("Ev ATSRECON_<SECTION>_<KEY>_FILE .");
	text("The file holds one line (one trailing newline is stripped) and is read only when no later "
	    "layer set the value, so an environment variable can stand in for a file that does not "
	    "exist where the check runs.");
	text("atsrecon warns when a secret file is readable by every user.");
	text("Setting a secret and its file in the same layer is an error.");
	mac("Pp");
	mac("Nm atsrecon Cm check Fl c Ar FILE");
	text("validates the file, the environment and the field mapping, then prints the effective "
	    "configuration with each value's origin (file:line, variable, flag or default) and every "
	    "secret as <redacted>.");
	text("It reads the secret files it is pointed at, so it fails (exit 3) when one is missing.");

	/* sections in table order */
	for (i = 0; i < OPT__MAX; i++) {
		const struct opt *o = &opt_table[i];
		if (o->section == NULL || (o->type == OT_JSON && o->key == NULL))
			continue;
		for (k = 0; k < nsec && strcmp(sections[k], o->section) != 0; k++)
			;
		if (k == nsec && nsec < ARRAY_LEN(sections))
			sections[nsec++] = o->section;
	}
	mac("Sh SECTIONS");
	text("Each key below lists its type, its range or choices, its default (if any), its "
	    "environment variable, and its command-line flag (if any).");
	for (k = 0; k < nsec; k++) {
		mac1("Ss", sections[k]);
		mac("Bl -tag -width Ds");
		for (i = 0; i < OPT__MAX; i++) {
			const struct opt *o = &opt_table[i];
			if (o->section != NULL && o->key != NULL && strcmp(o->section, sections[k]) == 0)
				page5_key((enum opt_id)i);
		}
		mac("El");
	}

	mac("Sh STRUCTURED SECTIONS");
	text("These values are JSON arrays or objects, validated by");
	mac("Nm atsrecon Cm check");
	text("and set in the file only.");
	mac("Ss fields");
	sentence(opt_table[OPT_FIELDS].help);
	text("An array of rules, one per Keap target, each mapping one canonical candidate field (or a "
	    "constant) to one Keap field:");
	mac("Bd -literal -offset indent");
	lit("{ \"from\": \"source\", \"to\": \"custom:ATS Source\", \"owner\": \"ats\",");
	lit("  \"map\": { \"LinkedIn Recruiter\": \"LinkedIn\" }, \"null\": \"skip\" }");
	mac("Ed");
	mac("Bl -tag -width Ds");
	mac("It Cm from");
	text("A canonical field: first_name, last_name, preferred_name, email, email2, email3, phone, "
	    "phone2, phone3, company, title, stage, status, job, source, referrer, applied_at, "
	    "created_at, updated_at, id; or custom:<key> for one of the source's custom fields.");
	text("Exactly one of");
	mac("Cm from");
	text("and");
	mac("Cm constant");
	text("is required.");
	mac("It Cm constant");
	text("A fixed text written instead of a candidate's value.");
	mac("It Cm to");
	text("The Keap target: given_name, family_name, middle_name, preferred_name, job_title; "
	    "email:EMAIL1 to email:EMAIL3; phone:PHONE1 to phone:PHONE5; or custom:<label> for a Keap "
	    "custom field by its label, which must exist in Keap (a run checks it; exit 3).");
	text("Two rules may not share a target.");
	mac("It Cm owner");
	text("Who wins a difference:");
	mac("Cm ats");
	text("(default: the ATS wins, Keap edits are drift and are overwritten),");
	mac("Cm keap");
	text("(never written after create; differences only reported),");
	mac("Cm fill");
	text("(written only while the Keap field is empty), or");
	mac("Cm create");
	text("(set when the contact is created only).");
	mac("It Cm map");
	text("An object translating ATS values to Keap values before they are written; for a Keap "
	    "dropdown or radio field every value must be one of the field's options.");
	mac("It Cm null");
	mac("Cm skip");
	text("(default: an empty ATS value leaves Keap alone) or");
	mac("Cm clear");
	text("(an empty ATS value clears the Keap field).");
	mac("El");
	mac("Pp");
	text("Values are compared and written in one canonical form per target: emails lowercased, "
	    "phones in E.164 (phone.default_region for national numbers), text trimmed with its "
	    "whitespace collapsed, Keap date fields as YYYY-MM-DD and date-time fields in RFC 3339 "
	    "UTC.");
	text("A value that cannot take that form is reported as invalid and never written.");

	mac("Ss stage_tags");
	sentence(opt_table[OPT_STAGE_TAGS].help);
	text("Every candidate carries exactly one tag of the Keap tag");
	mac("Cm category");
	text("(required): the tag of its status in");
	mac("Cm by_status");
	text("(keys: active, rejected, hired, withdrawn, archived) if there is one, else the tag of its "
	    "current stage's name in");
	mac("Cm by_stage .");
	text("A stage with no tag is reported as invalid and the contact's old tag is left alone.");
	mac("Bd -literal -offset indent");
	lit("\"stage_tags\": {");
	lit("  \"category\": \"ATS Stage\",");
	lit("  \"by_status\": { \"hired\": \"ATS Stage: Hired\" },");
	lit("  \"by_stage\": { \"Phone Screen\": \"ATS Stage: Phone Screen\" }");
	lit("}");
	mac("Ed");

	mac("Ss ats.columns");
	sentence(opt_table[OPT_ATS_COLUMNS].help);
	text("For");
	mac("Cm ats.kind Ns = Ns Cm file :");
	text("an object from the fields of a person to the export's column headings (CSV) or keys "
	    "(JSON lines), matched exactly.");
	text("It is read when a run opens the file, not by check.");
	text("The fields: id (required: each person's stable id); email and phone (a column name, or an "
	    "array of them; a cell may hold several values separated by , or ;); first_name, "
	    "last_name, or name (a full name, split when neither of the others is mapped); title, "
	    "company, stage (the stage's name), status, job, source, referrer; applied_at, "
	    "updated_at, created_at; anonymized and private (true/false, yes/no, 1/0); "
	    "application_id; and custom:<key> for a custom value under <key>.");
	text("Several rows with one id are that person's applications: the person is read from the "
	    "row of the current application (ats.current_application; status, updated_at and "
	    "application_id decide, else the later row).");
	text("One more key is not a field:");
	mac("Cm date_order");
	text("(iso, the default; mdy; dmy) says how dates written with slashes read; ISO 8601 dates "
	    "and epoch seconds or milliseconds are always accepted.");
	text("Every run reads the whole file, so a person missing from it counts as deleted in the "
	    "ATS (the guards and lifecycle.deletes apply).");
	mac("Bd -literal -offset indent");
	lit("\"columns\": { \"id\": \"Applicant ID\", \"email\": [\"Email\", \"Work Email\"],");
	lit("             \"name\": \"Full Name\", \"stage\": \"Status\",");
	lit("             \"applied_at\": \"Date Applied\", \"date_order\": \"mdy\" }");
	mac("Ed");

	mac("Sh FILES");
	mac("Bl -tag -width Ds");
	mac("It Pa configs/atsrecon.example.jsonc");
	text("The commented reference configuration in the source tree; configs/ also holds a "
	    "complete example for each ATS and for cron, Kubernetes and AWS Lambda.");
	mac("El");

	mac("Sh EXAMPLES");
	text("A small Greenhouse configuration with secrets in files:");
	mac("Bd -literal -offset indent");
	lit("{");
	lit("  \"ats\": {");
	lit("    \"kind\": \"greenhouse\",");
	lit("    \"client_id\": \"...\",");
	lit("    \"client_secret_file\": \"/run/secrets/atsrecon/ats_secret\",");
	lit("    \"user_id\": \"4711\"");
	lit("  },");
	lit("  \"keap\": {");
	lit("    \"auth\": \"oauth\",");
	lit("    \"client_id\": \"...\",");
	lit("    \"client_secret_file\": \"/run/secrets/atsrecon/keap_secret\"");
	lit("  },");
	lit("  \"state\": { \"dir\": \"/var/lib/atsrecon\" },");
	lit("  \"fields\": [");
	lit("    { \"from\": \"email\", \"to\": \"email:EMAIL1\" },");
	lit("    { \"from\": \"first_name\", \"to\": \"given_name\" }");
	lit("  ]");
	lit("}");
	mac("Ed");
	mac("Pp");
	text("The same setting from the environment, which beats the file:");
	mac("Dl ATSRECON_KEAP_MAX_RPS=8 atsrecon check -c atsrecon.jsonc");

	mac("Sh SEE ALSO");
	mac("Xr atsrecon 1");
}

int
main(int argc, char **argv)
{
	size_t i;

	for (i = 0; i < ARRAY_LEN(rc_text); i++)
		if (rc_text[i] == NULL) {
			fprintf(stderr, "genman: exit status %s has no description\n", rc_str((enum rc)i));
			return 1;
		}
	if (argc != 2 || (strcmp(argv[1], "1") != 0 && strcmp(argv[1], "5") != 0)) {
		fprintf(stderr, "usage: genman 1|5   (atsrecon.1 or atsrecon.conf.5 on stdout)\n");
		return 2;
	}
	if (argv[1][0] == '1')
		page1();
	else
		page5();
	fputs(out.p, stdout);
	buf_free(&out);
	return fflush(stdout) == 0 ? 0 : 1;
}
