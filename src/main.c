/*
 * main.c — subcommands and argv; maps enum rc to the exit status (DESIGN.md §7).
 * The only file that calls exit().
 */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "session.h"
#include "auth.h"
#include "config.h"
#include "doctor.h"
#include "http.h"
#include "init.h"
#include "json.h"
#include "lambda.h"
#include "log.h"
#include "login.h"
#include "mapping.h"
#include "opts.h"
#include "run.h"
#include "s3.h"
#include "ssm.h"
#include "state.h"
#include "util.h"

#ifndef ATSRECON_VERSION
#define ATSRECON_VERSION "0.0.0-dev"
#endif

extern char **environ;

struct cmdspec {
	const char *name;
	unsigned bit;
	const char *args;	/* positional arguments, for usage */
	const char *help;
};

static const struct cmdspec commands[] = {
	{ "run", CMD_RUN, "", "pull, diff, plan and repair; write the report" },
	{ "plan", CMD_PLAN, "", "write the repair plan, change nothing" },
	{ "apply", CMD_APPLY, "PLAN", "apply exactly the ops of a plan file" },
	{ "report", CMD_REPORT, "", "render the last run's report, or with --since 30d (or --from/--to) "
	    "the audit of a period from the runs table" },
	{ "check", CMD_CHECK, "", "validate the configuration and print it, secrets redacted" },
	{ "status", CMD_STATUS, "", "last good run; exit 8 when older than --stale-after" },
	{ "doctor", CMD_DOCTOR, "", "preflight checks, each with its fix" },
	{ "auth", CMD_AUTH, "keap", "store Keap OAuth tokens in the state" },
	{ "init", CMD_INIT, "", "write a configuration from what Keap and the ATS hold" },
	{ "lambda", CMD_LAMBDA, "", "AWS Lambda custom-runtime loop" },
	{ "probe", CMD_PROBE, "URL", "one HTTPS GET with the configured TLS settings (diagnostic)" },
	{ "version", CMD_VERSION, "", "versions of atsrecon and its libraries" },
};

struct cli {
	const struct cmdspec *cmd;
	const char *pos[4];
	size_t npos;
	struct {
		enum opt_id id;
		const char *val;
	} set[64];
	size_t nset;
};

static void
usage_all(FILE *f)
{
	size_t i;
	struct buf b = BUF_INIT;

	buf_adds(&b, "usage: atsrecon COMMAND [options]\n\ncommands:\n");
	for (i = 0; i < ARRAY_LEN(commands); i++)
		buf_addf(&b, "  %-8s %-6s %s\n", commands[i].name, commands[i].args, commands[i].help);
	buf_adds(&b, "\n'atsrecon COMMAND --help' lists the options of a command.\n"
	    "Exit status: 0 in sync, 1 record failures, 2 usage, 3 configuration, 4 authorisation,\n"
	    "5 remote/deadline, 6 guard, 7 quota, 8 stale, 9 state, 75 locked, 70 internal.\n");
	fputs(b.p, f);
	buf_free(&b);
}

static void
usage_cmd(FILE *f, const struct cmdspec *c)
{
	struct buf b = BUF_INIT;

	buf_addf(&b, "usage: atsrecon %s%s%s [options]\n  %s\n\noptions:\n", c->name, *c->args ? " " : "",
	    c->args, c->help);
	opt_usage(&b, c->bit, NULL);
	fputs(b.p, f);
	buf_free(&b);
}

/* Parses argv after the subcommand. Returns RC_OK, RC_USAGE (message printed),
 * or RC_RECORD for --help (usage printed to stdout). */
static enum rc
parse_args(int argc, char **argv, struct cli *cli)
{
	int i;

	for (i = 2; i < argc; i++) {
		const char *a = argv[i], *val = NULL;
		const struct opt *o = NULL;
		size_t k;

		if (strcmp(a, "--") == 0) {
			for (i++; i < argc; i++) {
				if (cli->npos == ARRAY_LEN(cli->pos))
					goto too_many;
				cli->pos[cli->npos++] = argv[i];
			}
			break;
		}
		if (a[0] != '-' || a[1] == '\0') {
			if (cli->npos == ARRAY_LEN(cli->pos))
				goto too_many;
			cli->pos[cli->npos++] = a;
			continue;
		}
		for (k = 0; k < OPT__MAX; k++) {
			const struct opt *c = &opt_table[k];
			size_t fl;

			if (c->flag == NULL || !(c->cmds & cli->cmd->bit))
				continue;
			fl = strlen(c->flag);
			if (a[1] == '-' && strncmp(a + 2, c->flag, fl) == 0 &&
			    (a[2 + fl] == '\0' || a[2 + fl] == '=')) {
				o = c;
				if (a[2 + fl] == '=')
					val = a + 3 + fl;
				break;
			}
			if (a[1] != '-' && c->short_flag != 0 && a[1] == c->short_flag) {
				o = c;
				if (a[2] != '\0')
					val = a + 2;
				break;
			}
		}
		if (o == NULL) {
			fprintf(stderr, "atsrecon %s: unknown option %s\n", cli->cmd->name, a);
			goto usage;
		}
		k = (size_t)(o - opt_table);
		if (k == OPT_HELP) {
			usage_cmd(stdout, cli->cmd);
			return RC_RECORD;
		}
		if (o->type == OT_FLAG) {
			if (val != NULL) {
				fprintf(stderr, "atsrecon %s: --%s takes no value\n", cli->cmd->name, o->flag);
				goto usage;
			}
		} else if (val == NULL) {
			if (i + 1 >= argc) {
				fprintf(stderr, "atsrecon %s: --%s needs a value\n", cli->cmd->name, o->flag);
				goto usage;
			}
			val = argv[++i];
		}
		if (cli->nset == ARRAY_LEN(cli->set)) {
			fprintf(stderr, "atsrecon: too many options\n");
			return RC_USAGE;
		}
		cli->set[cli->nset].id = (enum opt_id)k;
		cli->set[cli->nset].val = val;
		cli->nset++;
	}
	return RC_OK;
too_many:
	fprintf(stderr, "atsrecon %s: too many arguments\n", cli->cmd->name);
usage:
	usage_cmd(stderr, cli->cmd);
	return RC_USAGE;
}

static const char *
cli_value(const struct cli *cli, enum opt_id id)
{
	size_t i;
	const char *v = NULL;

	for (i = 0; i < cli->nset; i++)
		if (cli->set[i].id == id)
			v = cli->set[i].val ? cli->set[i].val : "";
	return v;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* --config-dir DIR: the tenant configs (*.json, *.jsonc) sorted by name; the
 * index (--index, else $JOB_COMPLETION_INDEX) picks one. */
static enum rc
pick_tenant_config(const char *dir, const char *index_s, char **out, struct buf *err)
{
	DIR *d;
	struct dirent *de;
	char **names = NULL;
	size_t n = 0, i;
	int64_t index;
	enum rc rc = RC_CONFIG;

	if (index_s == NULL)
		index_s = getenv("JOB_COMPLETION_INDEX");
	if (index_s == NULL) {
		buf_addf(err, "--config-dir needs --index N or $JOB_COMPLETION_INDEX");
		return RC_CONFIG;
	}
	if (parse_i64(index_s, &index) != 0 || index < 0) {
		buf_addf(err, "tenant index \"%s\" is not a non-negative integer", index_s);
		return RC_CONFIG;
	}
	if ((d = opendir(dir)) == NULL) {
		buf_addf(err, "%s: %s", dir, strerror(errno));
		return RC_CONFIG;
	}
	while ((de = readdir(d)) != NULL) {
		size_t l = strlen(de->d_name);
		if (de->d_name[0] == '.')
			continue;
		if ((l > 5 && strcmp(de->d_name + l - 5, ".json") == 0) ||
		    (l > 6 && strcmp(de->d_name + l - 6, ".jsonc") == 0)) {
			names = xrealloc(names, (n + 1) * sizeof(*names));
			names[n++] = xstrdup(de->d_name);
		}
	}
	closedir(d);
	qsort(names, n, sizeof(*names), cmp_str);
	if ((size_t)index >= n)
		buf_addf(err, "%s holds %zu tenant configs; index %lld is out of range", dir, n,
		    (long long)index);
	else {
		*out = xasprintf("%s/%s", dir, names[index]);
		rc = RC_OK;
	}
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return rc;
}

/* Every error of a file, one "atsrecon: file:line: message" line each. */
static void
print_errors(const char *l)
{
	while (l != NULL) {
		const char *nl = strchr(l, '\n');
		fprintf(stderr, "atsrecon: %.*s\n", nl ? (int)(nl - l) : (int)strlen(l), l);
		l = nl ? nl + 1 : NULL;
	}
}

/* Builds the effective configuration: defaults < file < environment < flags. */
static enum rc
load_config(const struct cli *cli, struct config *cfg)
{
	struct buf err = BUF_INIT;
	const char *path = cli_value(cli, OPT_CONFIG), *dir = cli_value(cli, OPT_CONFIG_DIR);
	char *picked = NULL;
	enum log_level lvl;
	enum log_format fmt;
	enum rc rc = RC_OK;
	size_t i;

	config_init(cfg);
	if (path == NULL && dir == NULL)
		path = getenv("ATSRECON_CONFIG");
	if (path != NULL && dir != NULL) {
		buf_adds(&err, "use -c FILE or --config-dir DIR, not both");
		rc = RC_USAGE;
		goto out;
	}
	if (dir != NULL) {
		if ((rc = pick_tenant_config(dir, cli_value(cli, OPT_INDEX), &picked, &err)) != RC_OK)
			goto out;
		path = picked;
	}
	if (path != NULL && (rc = config_load_file(cfg, path, &err)) != RC_OK)
		goto out;
	if ((rc = config_apply_env(cfg, environ, &err)) != RC_OK)
		goto out;
	for (i = 0; i < cli->nset; i++) {
		const struct opt *o = &opt_table[cli->set[i].id];
		if (o->section == NULL && o->type != OT_FLAG && cli->set[i].id != OPT_STALE_AFTER &&
		    cli->set[i].id != OPT_FORMAT && cli->set[i].id != OPT_SINCE &&
		    cli->set[i].id != OPT_FROM && cli->set[i].id != OPT_TO &&
		    cli->set[i].id != OPT_LOGIN_TIMEOUT)
			continue;	/* command-line-only values are read by the command */
		if ((rc = config_set_cli(cfg, cli->set[i].id, cli->set[i].val, &err)) != RC_OK)
			goto out;
	}
	if ((rc = config_finish(cfg, &err)) != RC_OK)
		goto out;
	if (cfg_bool(cfg, OPT_VERBOSE))
		config_set_cli(cfg, OPT_LOG_LEVEL, "debug", &err);
	if (log_parse_level(cfg_str(cfg, OPT_LOG_LEVEL), &lvl) == 0 &&
	    log_parse_format(cfg_str(cfg, OPT_LOG_FORMAT), &fmt) == 0) {
		if (cfg_bool(cfg, OPT_QUIET) && lvl < LOG_WARN)
			lvl = LOG_WARN;
		log_init(lvl, fmt);
	}
	/* secrets named by ATSRECON_..._SSM (after logging is set: it says why) */
	if ((rc = ssm_resolve(cfg)) != RC_OK) {
		config_free(cfg);
		buf_free(&err);
		free(picked);
		return rc;
	}
out:
	if (rc != RC_OK) {
		print_errors(err.p ? err.p : rc_str(rc));
		config_free(cfg);
	}
	buf_free(&err);
	free(picked);
	return rc;
}

static struct http_cfg
http_cfg_from(const struct config *cfg)
{
	struct http_cfg hc;

	session_http_cfg(cfg, &hc);
	return hc;
}

static enum rc
cmd_version(void)
{
	struct buf b = BUF_INIT;

	buf_addf(&b, "atsrecon %s\n", ATSRECON_VERSION);
	buf_adds(&b, "  ");
	http_lib_versions(&b);
	buf_addf(&b, "\n  %s\n  %s\n", json_lib_version(), state_lib_version());
	fputs(b.p, stdout);
	buf_free(&b);
	return RC_OK;
}

static enum rc
cmd_check(const struct config *cfg)
{
	struct buf b = BUF_INIT;
	struct mapping m;

	/* the field mapping and stage tags are checked too (their Keap side is
	 * checked against Keap's model by every run and by doctor) */
	if (mapping_load(&m, cfg, &b) != RC_OK) {
		print_errors(b.p);
		buf_free(&b);
		return RC_CONFIG;
	}
	mapping_free(&m);
	if (s3_check_lease_ttl(cfg, &b) != RC_OK) {	/* (run only warns) */
		fprintf(stderr, "atsrecon: %s\n", b.p);
		buf_free(&b);
		return RC_CONFIG;
	}
	config_dump(cfg, &b);
	fputs(b.p, stdout);
	buf_free(&b);
	return RC_OK;
}

static enum rc
cmd_probe(const struct config *cfg, const struct cli *cli)
{
	struct http *h = NULL;
	struct http_cfg hc = http_cfg_from(cfg);
	struct http_req req;
	struct http_resp resp;
	struct buf out = BUF_INIT;
	enum rc rc;

	if (cli->npos != 1) {
		fprintf(stderr, "usage: atsrecon probe URL\n");
		return RC_USAGE;
	}
	if ((rc = http_new(&hc, &h)) != RC_OK)
		return rc;
	memset(&req, 0, sizeof(req));
	req.method = "GET";
	req.url = cli->pos[0];
	rc = http_do(h, &req, &resp);
	if (cli_value(cli, OPT_JSON_OUT) != NULL) {
		buf_addf(&out, "{\"status\":%ld,\"tls\":", resp.status);
		json_escape(&out, resp.tls_version, strlen(resp.tls_version));
		buf_addf(&out, ",\"bytes\":%zu,\"elapsed_ms\":%ld,\"error\":", resp.body.len,
		    resp.elapsed_ms);
		json_escape(&out, resp.err, strlen(resp.err));
		buf_adds(&out, "}\n");
	} else if (rc == RC_OK)
		buf_addf(&out, "HTTP %ld, %s, %zu bytes, %ld ms\n", resp.status,
		    resp.tls_version[0] ? resp.tls_version : "no TLS", resp.body.len, resp.elapsed_ms);
	else
		buf_addf(&out, "failed: %s: %s\n", http_fail_str(resp.fail), resp.err);
	redact_secrets(&out);
	fputs(out.p, stdout);
	if (rc == RC_OK && resp.status >= 400)
		rc = RC_RECORD;
	buf_free(&out);
	http_resp_free(&resp);
	http_free(h);
	return rc;
}

static enum rc
cmd_status(const struct config *cfg, const struct cli *cli)
{
	struct state *st = NULL;
	struct buf v = BUF_INIT, out = BUF_INIT;
	int64_t last = 0, stale = cfg_int(cfg, OPT_STALE_AFTER) * 1000, age;
	const char *dir = cfg_str(cfg, OPT_STATE_DIR);
	int json = cli_value(cli, OPT_JSON_OUT) != NULL;
	char ts[32] = "";
	enum rc rc;

	rc = state_open(dir, STATE_RO, &st);
	if (rc == RC_OK) {
		rc = state_get(st, DB_META, "last_good_run_ms", &v);
		if (rc == RC_OK && parse_i64(v.p, &last) != 0)
			rc = RC_STATE;
	}
	if (rc == RC_RECORD || (rc == RC_OK && last == 0)) {
		if (json)
			buf_adds(&out, "{\"last_good_run\":null,\"stale\":true}\n");
		else
			buf_addf(&out, "no successful run recorded in %s\n", dir);
		rc = RC_STALE;
	} else if (rc == RC_OK) {
		age = now_ms() - last;
		fmt_rfc3339_ms(last, ts, sizeof(ts));
		if (json)
			buf_addf(&out, "{\"last_good_run\":\"%s\",\"age_s\":%lld,\"stale\":%s}\n", ts,
			    (long long)(age / 1000), age > stale ? "true" : "false");
		else
			buf_addf(&out, "last good run %s (%lld s ago)%s\n", ts, (long long)(age / 1000),
			    age > stale ? ": STALE" : "");
		rc = age > stale ? RC_STALE : RC_OK;
	}
	if (out.p != NULL)
		fputs(out.p, stdout);
	buf_free(&v);
	buf_free(&out);
	state_close(st);
	return rc;
}

/* auth keap (--login | --code-file FILE | --refresh-token-file FILE): put the
 * first Keap OAuth tokens into the state (login.c). */
static enum rc
cmd_auth(const struct config *cfg, const struct cli *cli)
{
	const char *refresh = cli_value(cli, OPT_REFRESH_TOKEN), *code = cli_value(cli, OPT_CODE);
	const char *rfile = cli_value(cli, OPT_REFRESH_TOKEN_FILE), *cfile = cli_value(cli, OPT_CODE_FILE);
	int login = cli_value(cli, OPT_LOGIN) != NULL;
	struct buf err = BUF_INIT;
	char *secret = NULL;
	enum auth_how how;
	enum rc rc;

	if (cli->npos != 1 || strcmp(cli->pos[0], "keap") != 0 ||
	    login + (refresh != NULL) + (code != NULL) + (rfile != NULL) + (cfile != NULL) != 1) {
		fprintf(stderr, "usage: atsrecon auth keap (--login | --code-file FILE | "
		    "--refresh-token-file FILE) [--redirect-uri URI]\n"
		    "  FILE may be - for stdin\n");
		return RC_USAGE;
	}
	if (refresh != NULL || code != NULL)
		log_warn("auth", "--%s puts a secret on the command line, where ps, /proc and the shell "
		    "history show it; use --%s-file FILE (or - for stdin)%s instead",
		    refresh ? "refresh-token" : "code", refresh ? "refresh-token" : "code",
		    refresh ? "" : " or --login");
	how = login ? AUTH_BY_LOGIN : (refresh != NULL || rfile != NULL) ? AUTH_BY_REFRESH : AUTH_BY_CODE;
	if (rfile != NULL || cfile != NULL) {
		if (login_read_secret(rfile ? rfile : cfile, &secret, &err) != 0) {
			log_error("auth", "--%s: %s", rfile ? "refresh-token-file" : "code-file", err.p);
			buf_free(&err);
			return RC_USAGE;
		}
	} else if (refresh != NULL || code != NULL)
		secret = xstrdup(refresh ? refresh : code);
	rc = login_keap(cfg, how, secret);
	if (secret != NULL) {
		memset(secret, 0, strlen(secret));
		free(secret);
	}
	buf_free(&err);
	return rc;
}

/* run, plan -o PLAN, apply PLAN */
static enum rc
cmd_run(const struct config *cfg, const struct cli *cli)
{
	struct run_opts o;
	const char *approve = cli_value(cli, OPT_APPROVE);
	int64_t n = 0;

	memset(&o, 0, sizeof(o));
	o.full = cli_value(cli, OPT_FULL) != NULL;
	o.dry_run = cli_value(cli, OPT_DRY_RUN) != NULL;
	o.plan_out = cli_value(cli, OPT_PLAN_OUT);
	if (approve != NULL) {
		if (parse_i64(approve, &n) != 0 || n < 0) {
			fprintf(stderr, "atsrecon: --approve takes a non-negative number\n");
			return RC_USAGE;
		}
		o.approve = (long)n;
	}
	switch (cli->cmd->bit) {
	case CMD_PLAN:
		o.mode = RUN_PLAN;
		o.plan_out = cli_value(cli, OPT_OUTPUT);
		if (o.plan_out == NULL || cli->npos != 0) {
			fprintf(stderr, "usage: atsrecon plan [-c FILE] -o PLAN\n");
			return RC_USAGE;
		}
		break;
	case CMD_APPLY:
		o.mode = RUN_APPLY;
		if (cli->npos != 1) {
			fprintf(stderr, "usage: atsrecon apply [-c FILE] PLAN\n");
			return RC_USAGE;
		}
		o.plan_in = cli->pos[0];
		break;
	default:
		o.mode = RUN_RUN;
		if (cli->npos != 0) {
			fprintf(stderr, "usage: atsrecon run [options]\n");
			return RC_USAGE;
		}
		break;
	}
	return run_main(cfg, &o);
}

/* No core files: a crash (abort, SIGBUS, SIGSEGV) must not write the tokens
 * and secrets in memory to disk. Before anything reads a secret; also makes
 * /proc/PID/mem and ptrace off limits to other processes of the same user. */
static void
no_core_dumps(void)
{
	struct rlimit none = { 0, 0 };

	(void)setrlimit(RLIMIT_CORE, &none);
	(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
}

int
main(int argc, char **argv)
{
	struct cli cli;
	struct config cfg;
	enum rc rc;
	size_t i;
	int have_cfg = 0;

	no_core_dumps();
	json_init();
	memset(&cli, 0, sizeof(cli));
	if (argc < 2) {
		usage_all(stderr);
		return rc_exit_status(RC_USAGE);
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage_all(stdout);
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0)
		return rc_exit_status(cmd_version());
	for (i = 0; i < ARRAY_LEN(commands); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			cli.cmd = &commands[i];
	if (cli.cmd == NULL) {
		struct buf name = BUF_INIT;
		text_escape(&name, argv[1], strlen(argv[1]));
		fprintf(stderr, "atsrecon: unknown command \"%s\"\n", name.p);
		buf_free(&name);
		usage_all(stderr);
		return rc_exit_status(RC_USAGE);
	}
	rc = parse_args(argc, argv, &cli);
	if (rc == RC_RECORD)
		return 0;	/* --help */
	if (rc != RC_OK)
		return rc_exit_status(rc);
	if (cli.cmd->bit == CMD_VERSION)
		return rc_exit_status(cmd_version());

	if ((rc = load_config(&cli, &cfg)) != RC_OK)
		goto out;
	have_cfg = 1;
	switch (cli.cmd->bit) {
	case CMD_CHECK: rc = cmd_check(&cfg); break;
	case CMD_PROBE: rc = cmd_probe(&cfg, &cli); break;
	case CMD_STATUS: rc = cmd_status(&cfg, &cli); break;
	case CMD_AUTH: rc = cmd_auth(&cfg, &cli); break;
	case CMD_INIT: {
		struct init_opts io;
		memset(&io, 0, sizeof(io));
		io.ats = cli_value(&cli, OPT_INIT_ATS);
		io.out = cfg_str(&cfg, OPT_INIT_OUT) ? cfg_str(&cfg, OPT_INIT_OUT) : "atsrecon.jsonc";
		io.out = cli_value(&cli, OPT_INIT_OUT) ? cli_value(&cli, OPT_INIT_OUT) : io.out;
		io.non_interactive = cli_value(&cli, OPT_NON_INTERACTIVE) != NULL;
		io.login = cli_value(&cli, OPT_LOGIN) != NULL;
		io.self = argv[0];
		rc = cli.npos == 0 ? init_main(&cfg, &io) : RC_USAGE;
		break;
	}
	case CMD_RUN:
	case CMD_PLAN:
	case CMD_APPLY: rc = cmd_run(&cfg, &cli); break;
	case CMD_REPORT: rc = run_report(&cfg, cfg_str(&cfg, OPT_FORMAT), cli_value(&cli, OPT_OUTPUT)); break;
	case CMD_LAMBDA: rc = lambda_main(&cfg); break;
	case CMD_DOCTOR: rc = doctor_main(&cfg, cfg_bool(&cfg, OPT_JSON_OUT)); break;
	default:
		log_error("main", "'%s' is not in this build yet (see the README's roadmap)", cli.cmd->name);
		rc = RC_BUG;
		break;
	}
out:
	if (have_cfg)
		config_free(&cfg);
	log_clear_secrets();
	return rc_exit_status(rc);
}
