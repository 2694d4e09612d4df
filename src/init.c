/* init.c — see init.h. */
#define _XOPEN_SOURCE 700
#include "init.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "session.h"
#include "ats.h"
#include "auth.h"
#include "csv.h"
#include "http.h"
#include "json.h"
#include "keap.h"
#include "log.h"
#include "login.h"
#include "opts.h"
#include "pace.h"
#include "pack.h"
#include "s3.h"
#include "state.h"

extern char **environ;

#define INIT_MAX_CANDIDATES 20000	/* read at most this many for the values in use */
#define STAGE_CATEGORY "ATS Stage"

/* Distinct strings in first-seen order (pack.h's word table: a lookup is
 * O(1), not a scan of the ones before), at most 10,000; none empty. */
static void
set_add(struct wordtab *s, const char *x)
{
	if (x == NULL || *x == '\0' || s->n >= 10000)
		return;
	wt_intern(s, x);
}

static void
jstr(struct buf *b, const char *s)
{
	json_escape(b, s, strlen(s));
}

struct ctx {
	struct config *cfg;
	const struct init_opts *o;
	int interactive;
	char *secret_path[OPT__MAX];	/* file a secret was read from */
	char *outdir;
	struct keap_model model;
	struct keap_tags tags;
	int have_model, have_tags;
	struct wordtab stages, sources, statuses, jobs;
	struct wordtab reasons;		/* "name (hired)" / "name": archive or rejection reasons */
	long ncand;
	int capped;
	int ref_stages, ref_sources;	/* the driver's reference lists were read */
};

/* ------------------------------------------------------------ questions */

/* One line from stdin (echo off for secrets on a terminal); NULL at EOF. */
static char *
read_line(int secret)
{
	struct termios old, quiet;
	int restore = 0;
	struct buf b = BUF_INIT;
	char ch;
	ssize_t n;

	if (secret && isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &old) == 0) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		restore = tcsetattr(STDIN_FILENO, TCSANOW, &quiet) == 0;
	}
	while ((n = read(STDIN_FILENO, &ch, 1)) == 1 || (n < 0 && errno == EINTR)) {
		if (n < 0)
			continue;
		if (ch == '\n')
			break;
		if (b.len < 8192)
			buf_addc(&b, ch);
	}
	if (restore) {
		tcsetattr(STDIN_FILENO, TCSANOW, &old);
		fputc('\n', stdout);
	}
	if (n == 0 && b.len == 0) {
		buf_free(&b);
		return NULL;
	}
	while (b.len > 0 && isspace((unsigned char)b.p[b.len - 1]))
		b.p[--b.len] = '\0';
	if (b.p == NULL)
		buf_adds(&b, "");
	return buf_take(&b);
}

static char *
ask(const char *question, const char *def, int secret)
{
	char *a;

	if (def != NULL && *def != '\0')
		printf("%s [%s]: ", question, def);
	else
		printf("%s: ", question);
	fflush(stdout);
	a = read_line(secret);
	if (a != NULL && *a == '\0' && def != NULL) {
		free(a);
		a = xstrdup(def);
	}
	return a;
}

static int
is_file(const char *p)
{
	struct stat st;

	return p != NULL && *p != '\0' && stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/* Asks for a missing setting; a secret may be answered with a file's path or
 * the secret itself. 0, or -1 at EOF / a bad value (said). */
static int
ask_setting(struct ctx *c, enum opt_id id, const char *question)
{
	const struct opt *o = opt_get(id);
	struct buf err = BUF_INIT;
	char *a;
	int rc = -1;

	for (;;) {
		a = ask(question, (o->flags & OF_SECRET) ? NULL : cfg_str(c->cfg, id), o->flags & OF_SECRET);
		if (a == NULL) {
			log_error("init", "stdin ended: %s.%s is not set", o->section, o->key);
			return -1;
		}
		if (*a != '\0')
			break;
		free(a);
	}
	if ((o->flags & OF_SECRET) && is_file(a)) {
		char *s = NULL;
		if (login_read_secret(a, &s, &err) != 0)
			log_error("init", "%s", err.p);
		else if (config_set_secret(c->cfg, id, s, &err) == RC_OK) {
			c->cfg->v[id].src = SRC_CLI;
			free(c->secret_path[id]);
			c->secret_path[id] = realpath(a, NULL);
			rc = 0;
		} else
			log_error("init", "%s", err.p);
		if (s != NULL) {
			memset(s, 0, strlen(s));
			free(s);
		}
	} else if (o->flags & OF_SECRET) {
		rc = config_set_secret(c->cfg, id, a, &err) == RC_OK ? 0 : -1;
		if (rc == 0)
			c->cfg->v[id].src = SRC_CLI;
		else
			log_error("init", "%s", err.p);
	} else {
		rc = config_set_cli(c->cfg, id, a, &err) == RC_OK ? 0 : -1;
		if (rc != 0)
			log_error("init", "%s", err.p);
	}
	memset(a, 0, strlen(a));
	free(a);
	buf_free(&err);
	return rc;
}

/* The settings a kind needs, in the order they are asked. */
static void
needed(const char *kind, const char *keap_auth, enum opt_id *ids, const char **qs, size_t *n)
{
	*n = 0;
#define NEED(id, q) do { ids[*n] = (id); qs[(*n)++] = (q); } while (0)
	if (strcmp(kind, "greenhouse") == 0) {
		NEED(OPT_ATS_CLIENT_ID, "Greenhouse Harvest v3 client id");
		NEED(OPT_ATS_CLIENT_SECRET, "Greenhouse client secret (a file holding it, or paste it)");
		NEED(OPT_ATS_USER_ID, "Greenhouse user id the integration acts as (a Site Admin)");
	} else if (strcmp(kind, "lever") == 0)
		NEED(OPT_ATS_API_KEY, "Lever API key (a file holding it, or paste it)");
	else if (strcmp(kind, "ashby") == 0)
		NEED(OPT_ATS_API_KEY, "Ashby API key (a file holding it, or paste it)");
	else
		NEED(OPT_ATS_FILE, "export file to read (CSV or JSON lines)");
	if (strcmp(keap_auth, "oauth") == 0) {
		NEED(OPT_KEAP_CLIENT_ID, "Keap app client id (key)");
		NEED(OPT_KEAP_CLIENT_SECRET, "Keap app client secret (a file holding it, or paste it)");
		NEED(OPT_KEAP_REDIRECT_URI, "redirect URI registered for the Keap app");
	} else
		NEED(OPT_KEAP_API_KEY, "Keap personal access token or service account key (a file "
		    "holding it, or paste it)");
#undef NEED
}

static enum rc
gather_answers(struct ctx *c)
{
	struct config *cfg = c->cfg;
	struct buf err = BUF_INIT, miss = BUF_INIT;
	enum opt_id ids[8];
	const char *qs[8];
	size_t n, i;

	if (c->o->ats != NULL)
		config_set_cli(cfg, OPT_ATS_KIND, c->o->ats, &err);
	else if (cfg->v[OPT_ATS_KIND].src == SRC_DEFAULT && c->interactive) {
		for (;;) {
			char *a = ask("Applicant tracking system (greenhouse, lever, ashby, file)",
			    cfg_str(cfg, OPT_ATS_KIND), 0);
			if (a == NULL)
				return RC_USAGE;
			buf_reset(&err);
			if (config_set_cli(cfg, OPT_ATS_KIND, a, &err) == RC_OK) {
				free(a);
				break;
			}
			printf("  %s\n", err.p);
			free(a);
		}
	}
	cfg->v[OPT_ATS_KIND].src = cfg->v[OPT_ATS_KIND].src == SRC_DEFAULT ? SRC_CLI :
	    cfg->v[OPT_ATS_KIND].src;
	if (c->interactive && cfg->v[OPT_KEAP_AUTH].src == SRC_DEFAULT) {
		char *a = ask("Keap authorisation: oauth (a developer app), pat (personal access token) "
		    "or sak (service account key)", "oauth", 0);
		if (a == NULL)
			return RC_USAGE;
		buf_reset(&err);
		if (config_set_cli(cfg, OPT_KEAP_AUTH, a, &err) != RC_OK)
			printf("  %s; keeping oauth\n", err.p);
		free(a);
	}
	needed(cfg_str(cfg, OPT_ATS_KIND), cfg_str(cfg, OPT_KEAP_AUTH), ids, qs, &n);
	for (i = 0; i < n; i++) {
		char env[128];
		if (cfg_str(cfg, ids[i]) != NULL)
			continue;
		/* the redirect URI is needed only to authorise (a state with tokens, or
		 * `auth keap --login` later, needs none from init) */
		if (ids[i] == OPT_KEAP_REDIRECT_URI && !c->interactive)
			continue;
		if (c->interactive) {
			if (ask_setting(c, ids[i], qs[i]) != 0)
				return RC_USAGE;
			continue;
		}
		opt_env_name(ids[i], 0, env, sizeof(env));
		buf_addf(&miss, "\n  %s.%s%s (%s%s)", opt_get(ids[i])->section, opt_get(ids[i])->key,
		    (opt_get(ids[i])->flags & OF_SECRET) ? "_file" : "", env,
		    (opt_get(ids[i])->flags & OF_SECRET) ? "_FILE" : "");
	}
	if (c->interactive && cfg->v[OPT_STATE_DIR].src == SRC_DEFAULT && cfg_str(cfg, OPT_STATE_URL) == NULL)
		if (ask_setting(c, OPT_STATE_DIR, "state directory (local disk; it will hold the Keap "
		    "tokens)") != 0)
			return RC_USAGE;
	buf_free(&err);
	if (miss.len > 0) {
		log_error("init", "--non-interactive: these settings are missing (set them in -c FILE, "
		    "in the environment or answer init on a terminal):%s", miss.p);
		buf_free(&miss);
		return RC_CONFIG;
	}
	return RC_OK;
}

/* --------------------------------------------------------------- reading */

static struct http_cfg
http_cfg_of(const struct config *cfg)
{
	struct http_cfg hc;

	session_http_cfg(cfg, &hc);
	return hc;
}

/* Are there Keap tokens in the state? 1 yes, 0 no, -1 the state is unusable. */
static int
have_tokens(const char *dir)
{
	struct state *st = NULL;
	struct buf v = BUF_INIT;
	enum rc rc = state_open(dir, STATE_RO, &st);
	int r;

	if (rc == RC_RECORD)
		return 0;
	if (rc != RC_OK)
		return -1;
	rc = state_get(st, DB_TOKENS, "keap", &v);
	r = rc == RC_OK ? 1 : rc == RC_RECORD ? 0 : -1;
	if (v.p != NULL)
		memset(v.p, 0, v.len);
	buf_free(&v);
	state_close(st);
	return r;
}

static enum rc
read_keap(struct ctx *c, struct http *h, const char *state_dir)
{
	struct config *cfg = c->cfg;
	int oauth = strcmp(cfg_str(cfg, OPT_KEAP_AUTH), "oauth") == 0;
	struct state *st = NULL;
	struct auth *a = NULL;
	struct pace *p = NULL;
	struct keap *k = NULL;
	struct auth_cfg ac;
	struct keap_cfg kc;
	struct api_err kerr;
	enum rc rc;

	if (oauth) {
		int t = have_tokens(state_dir);
		if (t < 0) {
			log_error("init", "the state in %s cannot be read (atsrecon doctor says why)", state_dir);
			return RC_STATE;
		}
		if (t == 0) {
			if (!c->interactive && !c->o->login) {
				log_error("init", "no Keap tokens in the state (%s): authorise first with "
				    "`atsrecon auth keap --login` (same settings), or run init on a terminal "
				    "(or with --login), which asks", state_dir);
				return RC_AUTH;
			}
			printf("\nKeap: no tokens in %s yet; authorising now.\n", state_dir);
			if ((rc = login_keap(cfg, AUTH_BY_LOGIN, NULL)) != RC_OK)
				return rc;
		}
		if ((rc = state_open(state_dir, STATE_RW, &st)) != RC_OK)
			return rc;
	}
	session_auth_cfg(cfg, &ac);
	if ((rc = auth_new(&ac, h, st, &a)) != RC_OK)
		goto out;
	p = pace_new("keap", session_keap_rps(cfg), 1);
	session_keap_cfg(cfg, &kc);
	kc.concurrency = 1;
	kc.allow_delete = 0;	/* init only reads */
	if ((rc = keap_new(&kc, h, a, p, &k)) != RC_OK)
		goto out;
	keap_set_deadline(k, mono_ms() + 5 * 60 * 1000);
	memset(&kerr, 0, sizeof(kerr));
	if ((rc = keap_load_model(k, &c->model, &kerr)) != RC_OK) {
		log_error("init", "reading Keap's contact model: HTTP %ld %s %s", kerr.status, kerr.code,
		    kerr.msg);
		goto out;
	}
	c->have_model = 1;
	memset(&kerr, 0, sizeof(kerr));
	if ((rc = keap_load_tags(k, &c->tags, &kerr)) != RC_OK) {
		log_error("init", "reading Keap's tags: HTTP %ld %s %s", kerr.status, kerr.code, kerr.msg);
		goto out;
	}
	c->have_tags = 1;
	printf("Keap: %zu custom fields, %zu tags in %zu categories\n", c->model.n, c->tags.n,
	    c->tags.ncats);
out:
	keap_free(k);
	pace_free(p);
	auth_free(a);
	state_close(st);
	return rc;
}

static enum rc propose_columns(struct ctx *);

static enum rc
on_candidate(void *arg, const struct candidate *cand)
{
	struct ctx *c = arg;

	set_add(&c->stages, cand->stage_name);
	set_add(&c->sources, cand->source);
	set_add(&c->statuses, cand->status);
	set_add(&c->jobs, cand->job);
	if (++c->ncand >= INIT_MAX_CANDIDATES) {
		c->capped = 1;
		return RC_RECORD;	/* enough: stop the listing */
	}
	return RC_OK;
}

static enum rc
read_ats(struct ctx *c, struct http *h)
{
	struct ats *a = NULL;
	struct ats_ref ref;
	struct ats_pull pull;
	enum rc rc;
	size_t i;

	memset(&ref, 0, sizeof(ref));
	memset(&pull, 0, sizeof(pull));
	if (strcmp(c->cfg->v[OPT_ATS_KIND].str, "file") == 0 && (rc = propose_columns(c)) != RC_OK)
		return rc;
	if ((rc = ats_open(c->cfg, h, &a)) != RC_OK)
		return rc;
	/* init proposes the mapping: it reads every reference list, whatever the
	 * configuration it starts from maps (the drivers read only what is used) */
	a->used = ATS_FLD_ALL;
	a->deadline_ms = mono_ms() + 10 * 60 * 1000;
	if (a->drv->reference != NULL) {
		rc = a->drv->reference(a, &ref);
		if (rc == RC_OK) {
			for (i = 0; i < ref.stages.n; i++)
				set_add(&c->stages, ref.stages.v[i].name);
			for (i = 0; i < ref.sources.n; i++)
				set_add(&c->sources, ref.sources.v[i].name);
			for (i = 0; i < ref.reasons.n; i++) {
				char *r = xasprintf("%s%s", ref.reasons.v[i].name,
				    ref.reasons.v[i].flag ? " (hired)" : "");
				set_add(&c->reasons, r);
				free(r);
			}
			c->ref_stages = ref.stages.n > 0;
			c->ref_sources = ref.sources.n > 0;
		} else
			log_warn("init", "%s: the reference lists could not be read (%s); using the values "
			    "the candidates carry", a->drv->name, rc_str(rc));
	}
	rc = a->drv->pull_all(a, on_candidate, c, &pull);
	if (rc == RC_RECORD && c->capped)
		rc = RC_OK;
	if (rc != RC_OK)
		log_error("init", "%s: reading the candidates failed (%s)", a->drv->name, rc_str(rc));
	else
		printf("%s: %zu stages, %zu sources, %zu statuses (from %s%ld candidates%s)\n",
		    a->drv->name, c->stages.n, c->sources.n, c->statuses.n,
		    a->drv->reference ? "the reference lists and " : "", c->ncand,
		    c->capped ? ", the first ones" : "");
	ats_ref_free(&ref);
	ats_close(a);
	return rc;
}

/* --------------------------------------------------- export file columns */

static void
norm_name(const char *s, char *out, size_t size)
{
	size_t n = 0;

	for (; *s != '\0' && n + 1 < size; s++)
		if (isalnum((unsigned char)*s))
			out[n++] = (char)tolower((unsigned char)*s);
	out[n] = '\0';
}

static const struct {
	const char *field;
	const char *names;	/* normalised header names, "|"-separated */
	int multi;		/* email, phone: every matching column */
} col_names[] = {
	{ "id", "id|applicantid|candidateid|personid|applicant|candidate|profileid", 0 },
	{ "first_name", "firstname|givenname|first", 0 },
	{ "last_name", "lastname|surname|familyname|last", 0 },
	{ "name", "name|fullname|candidatename|applicantname", 0 },
	{ "email", "email|emailaddress|workemail|personalemail|otheremail|email2|secondaryemail", 1 },
	{ "phone", "phone|phonenumber|mobile|mobilephone|cell|telephone|otherphone", 1 },
	{ "title", "title|jobtitle|currenttitle|headline", 0 },
	{ "company", "company|currentcompany|employer", 0 },
	{ "stage", "stage|currentstage|interviewstage|pipelinestage", 0 },
	{ "status", "status|applicationstatus|candidatestatus", 0 },
	{ "job", "job|jobname|position|requisition|posting|opening", 0 },
	{ "source", "source|candidatesource|applicationsource", 0 },
	{ "referrer", "referrer|referredby", 0 },
	{ "applied_at", "dateapplied|applied|appliedat|applieddate|applicationdate", 0 },
	{ "updated_at", "updated|updatedat|lastupdated|lastactivity|modified|dateupdated", 0 },
	{ "created_at", "created|createdat|datecreated", 0 },
	{ "anonymized", "anonymized|anonymised|gdprerased|erased", 0 },
};

static int
name_in(const char *n, const char *names)
{
	size_t nl = strlen(n);
	const char *p = names;

	while (p != NULL && *p != '\0') {
		const char *bar = strchr(p, '|');
		size_t l = bar ? (size_t)(bar - p) : strlen(p);
		if (l == nl && strncmp(p, n, l) == 0)
			return 1;
		p = bar ? bar + 1 : NULL;
	}
	return 0;
}

/* The header of an export file (CSV header cells, or the keys of the first
 * JSON line). 0, or -1 (said). */
static int
read_header(const char *path, int jsonl, struct wordtab *out)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), bom = 0, r = -1;
	struct csv cs;
	struct csv_row row;
	size_t i;

	if (fd < 0) {
		log_error("init", "%s: %s", path, strerror(errno));
		return -1;
	}
	memset(&row, 0, sizeof(row));
	if (csv_init(&cs, fd, ',', 1 << 20, 4096, &bom) != 0) {
		log_error("init", "%s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	if (jsonl) {
		if (csv_line(&cs, &row) == 1 && row.nf == 1) {
			size_t len;
			const char *t = csv_field(&row, 0, &len);
			char **keys;
			size_t nk, k;
			if (json_object_keys(t, len, &keys, &nk) == 0) {
				for (k = 0; k < nk; k++)
					set_add(out, keys[k]);
				r = 0;
			}
			strv_free(keys, nk);
		}
	} else {
		char delims[] = { ';', '\t' };
		if (csv_next(&cs, &row) == 1 && row.bad == NULL) {
			for (i = 0; row.nf == 1 && i < sizeof(delims); i++) {
				/* one cell: perhaps another delimiter */
				csv_row_free(&row);
				memset(&row, 0, sizeof(row));
				csv_free(&cs);
				lseek(fd, 0, SEEK_SET);
				if (csv_init(&cs, fd, delims[i], 1 << 20, 4096, &bom) != 0 ||
				    csv_next(&cs, &row) != 1)
					break;
			}
			for (i = 0; i < row.nf; i++) {
				size_t len;
				const char *f = csv_field(&row, i, &len);
				char *cell = xstrndup(f, len), *s = cell, *e;
				while (*s == ' ' || *s == '\t')
					s++;
				e = s + strlen(s);
				while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
					*--e = '\0';
				set_add(out, s);
				free(cell);
			}
			r = 0;
		}
	}
	if (r != 0)
		log_error("init", "%s: no header row could be read", path);
	csv_row_free(&row);
	csv_free(&cs);
	close(fd);
	return r;
}

/* ats.columns from the header, when it is not set. */
static enum rc
propose_columns(struct ctx *c)
{
	const char *path = cfg_str(c->cfg, OPT_ATS_FILE), *fmt = cfg_str(c->cfg, OPT_ATS_FORMAT);
	struct wordtab hdr;
	struct buf j = BUF_INIT, err = BUF_INIT, used = BUF_INIT;
	size_t i, k, nl;
	int jsonl, have_first = 0;
	enum rc rc = RC_OK;

	if (cfg_str(c->cfg, OPT_ATS_COLUMNS) != NULL || path == NULL)
		return RC_OK;
	nl = strlen(path);
	jsonl = strcmp(fmt, "jsonl") == 0 || (strcmp(fmt, "auto") == 0 && ((nl > 6 &&
	    strcasecmp(path + nl - 6, ".jsonl") == 0) || (nl > 7 && strcasecmp(path + nl - 7, ".ndjson") == 0)));
	memset(&hdr, 0, sizeof(hdr));
	if (read_header(path, jsonl, &hdr) != 0)
		return RC_CONFIG;
	buf_adds(&j, "{");
	for (k = 0; k < ARRAY_LEN(col_names); k++) {
		struct buf cols = BUF_INIT;
		size_t n = 0;
		if (strcmp(col_names[k].field, "name") == 0 && have_first)
			continue;
		for (i = 0; i < hdr.n; i++) {
			char nn[128], mark[140];
			norm_name(hdr.v[i], nn, sizeof(nn));
			snprintf(mark, sizeof(mark), "|%zu|", i);
			if (!name_in(nn, col_names[k].names) || (used.p && strstr(used.p, mark)))
				continue;
			if (n > 0 && !col_names[k].multi)
				break;
			buf_adds(&cols, n ? ", " : "");
			jstr(&cols, hdr.v[i]);
			buf_addf(&used, "|%zu|", i);
			n++;
		}
		if (n > 0) {
			if (strcmp(col_names[k].field, "first_name") == 0 ||
			    strcmp(col_names[k].field, "last_name") == 0)
				have_first = 1;
			buf_addf(&j, "%s\"%s\": %s%s%s", j.len > 1 ? ", " : "", col_names[k].field,
			    n > 1 ? "[" : "", cols.p, n > 1 ? "]" : "");
		}
		buf_free(&cols);
	}
	buf_adds(&j, "}");
	if (strstr(j.p, "\"id\"") == NULL) {
		log_error("init", "%s: no column looks like the candidate id (header: %zu columns); set "
		    "ats.columns in -c FILE (see atsrecon.conf(5))", path, hdr.n);
		rc = RC_CONFIG;
	} else {
		config_set_cli(c->cfg, OPT_ATS_COLUMNS, j.p, &err);
		printf("%s: %zu columns; ats.columns proposed from the header: %s\n", path, hdr.n, j.p);
	}
	wt_free(&hdr);
	buf_free(&j);
	buf_free(&err);
	buf_free(&used);
	return rc;
}

/* ------------------------------------------------------------- proposing */

static void
lower(const char *s, char *out, size_t size)
{
	size_t i;

	for (i = 0; s[i] != '\0' && i + 1 < size; i++)
		out[i] = (char)tolower((unsigned char)s[i]);
	out[i] = '\0';
}

static int
type_in(const char *type, const char *types)
{
	const char *p;
	size_t tl;

	if (type == NULL)
		return 0;
	tl = strlen(type);
	for (p = types; (p = strstr(p, type)) != NULL; p += tl)
		if ((p == types || p[-1] == '|') && (p[tl] == '\0' || p[tl] == '|'))
			return 1;
	return 0;
}

/* The Keap custom field for a canonical field: a label holding one of the
 * words (and none of the excluded ones), of a compatible type; "ATS ..."
 * labels first. */
static const struct keap_field *
find_field(const struct keap_model *m, const char *const *words, const char *exclude,
    const char *types)
{
	const struct keap_field *best = NULL;
	int best_score = 0;
	size_t i, w;

	for (i = 0; i < m->n; i++) {
		const struct keap_field *f = &m->fields[i];
		char l[256];
		int score = 0;

		lower(f->label, l, sizeof(l));
		if (!type_in(f->type, types) || (exclude != NULL && strstr(l, exclude) != NULL))
			continue;
		for (w = 0; words[w] != NULL; w++)
			if (strstr(l, words[w]) != NULL)
				score = 10;
		if (score == 0)
			continue;
		if (strncmp(l, "ats", 3) == 0)
			score += 5;
		if (score > best_score) {
			best = f;
			best_score = score;
		}
	}
	return best;
}

/* Source-kind words: a source holding one of the first words is close to an
 * option holding one of the second. */
static const struct {
	const char *src, *opt;
} kinds[] = {
	{ "indeed|glassdoor|monster|ziprecruiter|dice|careerbuilder|stepstone|seek|job board|"
	  "jobboard|board|angel|wellfound|hired|otta", "job board|board|job site|jobs" },
	{ "referral|referred|employee|friend", "referral|referred" },
	{ "agency|recruiter|headhunter|staffing|search firm", "agency|recruit" },
	{ "career|website|site|company page|jobs page|inbound|applied", "career|website|site|inbound" },
	{ "event|meetup|fair|conference|hackathon|university|campus", "event|fair|meetup|campus" },
	{ "linkedin", "linkedin" },
	{ "twitter|facebook|instagram|social", "social" },
};

static int
any_word(const char *text, const char *words)
{
	char w[64];
	const char *p = words;

	while (p != NULL && *p != '\0') {
		const char *bar = strchr(p, '|');
		size_t n = bar ? (size_t)(bar - p) : strlen(p);
		if (n < sizeof(w)) {
			memcpy(w, p, n);
			w[n] = '\0';
			if (strstr(text, w) != NULL)
				return 1;
		}
		p = bar ? bar + 1 : NULL;
	}
	return 0;
}

/*
 * The option an ATS source should map to. *sure: 1 when the option is the
 * same text but for case; otherwise it is a guess for a person to confirm
 * (same words, same kind of source, "Other", or the first option).
 */
static const char *
guess_option(const char *source, const struct keap_field *f, int *sure)
{
	char s[256], o[256];
	size_t i, k;

	*sure = 0;
	lower(source, s, sizeof(s));
	for (i = 0; i < f->noptions; i++) {
		lower(f->options[i], o, sizeof(o));
		if (strcmp(s, o) == 0) {
			*sure = 1;
			return f->options[i];
		}
	}
	for (i = 0; i < f->noptions; i++) {	/* "LinkedIn (Prospecting)" -> "LinkedIn" */
		lower(f->options[i], o, sizeof(o));
		if (strlen(o) >= 3 && strstr(s, o) != NULL)
			return f->options[i];
	}
	for (i = 0; i < f->noptions; i++) {	/* "Careers Site" -> "Careers Page": a first word */
		char first[64];
		size_t n;
		lower(f->options[i], o, sizeof(o));
		n = strcspn(o, " -_/(");
		if (n >= 4 && n < sizeof(first)) {
			memcpy(first, o, n);
			first[n] = '\0';
			if (strstr(s, first) != NULL)
				return f->options[i];
		}
	}
	for (k = 0; k < ARRAY_LEN(kinds); k++)
		if (any_word(s, kinds[k].src))
			for (i = 0; i < f->noptions; i++) {
				lower(f->options[i], o, sizeof(o));
				if (any_word(o, kinds[k].opt))
					return f->options[i];
			}
	for (i = 0; i < f->noptions; i++) {
		lower(f->options[i], o, sizeof(o));
		if (strcmp(o, "other") == 0 || strcmp(o, "unknown") == 0 || strcmp(o, "misc") == 0)
			return f->options[i];
	}
	return f->noptions > 0 ? f->options[0] : NULL;
}

/* ---------------------------------------------------------------- writing */

/* Writes a secret typed or given inline to <outdir>/credentials/<name>
 * (0600, its directory 0700); the path into *path. */
static int
store_secret_file(struct ctx *c, enum opt_id id, char **path)
{
	const struct opt *o = opt_get(id);
	const char *v = cfg_str(c->cfg, id);
	char *dir = xasprintf("%s/credentials", c->outdir);
	struct buf data = BUF_INIT;
	int rc = -1;

	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		log_error("init", "%s: %s", dir, strerror(errno));
		goto out;
	}
	*path = xasprintf("%s/%s_%s", dir, o->section, o->key);
	if (access(*path, F_OK) == 0) {
		log_error("init", "%s exists; init never overwrites a file (move it away, or name it in "
		    "%s.%s_file)", *path, o->section, o->key);
		free(*path);
		*path = NULL;
		goto out;
	}
	buf_adds(&data, v);
	buf_addc(&data, '\n');
	if (atomic_write(*path, data.p, data.len, 0600) != 0) {
		log_error("init", "%s: %s", *path, strerror(errno));
		free(*path);
		*path = NULL;
		goto out;
	}
	rc = 0;
out:
	if (data.p != NULL)
		memset(data.p, 0, data.len);
	buf_free(&data);
	free(dir);
	return rc;
}

/* Sections init writes itself (the rest are copied when set). */
static int
own_section(const char *s)
{
	return strcmp(s, "match") == 0 || strcmp(s, "phone") == 0 || strcmp(s, "guards") == 0 ||
	    strcmp(s, "lifecycle") == 0 || strcmp(s, "fields") == 0 || strcmp(s, "stage_tags") == 0;
}

/* Every setting given (not a default), by section, secrets as *_file. */
static int
write_settings(struct ctx *c, struct buf *b)
{
	const char *sec = NULL;
	size_t i;

	for (i = 0; i < OPT__MAX; i++) {
		const struct opt *o = &opt_table[i];
		const struct cfg_val *v = &c->cfg->v[i];

		if (o->section == NULL || o->key == NULL || own_section(o->section) ||
		    (v->src == SRC_DEFAULT && i != OPT_ATS_KIND && i != OPT_STATE_DIR) ||
		    /* a flag of this invocation (--log-format) is not a setting to keep */
		    (v->src == SRC_CLI && o->flag != NULL && i != OPT_STATE_DIR &&
		    i != OPT_KEAP_REDIRECT_URI) ||
		    (!v->set && v->secret_file == NULL))
			continue;
		if (sec == NULL || strcmp(sec, o->section) != 0) {
			if (sec != NULL)
				buf_adds(b, "\n  },\n");
			buf_addf(b, "  \"%s\": {", o->section);
			sec = o->section;
		} else
			buf_addc(b, ',');
		buf_adds(b, "\n    ");
		if (o->flags & OF_SECRET) {
			char *path = NULL;
			if (v->secret_file != NULL)
				path = xstrdup(v->secret_file);
			else if (c->secret_path[i] != NULL)
				path = xstrdup(c->secret_path[i]);
			else if (store_secret_file(c, (enum opt_id)i, &path) != 0)
				return -1;
			else
				printf("wrote %s (mode 0600): %s.%s\n", path, o->section, o->key);
			buf_addf(b, "\"%s_file\": ", o->key);
			jstr(b, path);
			free(path);
		} else if (o->type == OT_INT || o->type == OT_BOOL || o->type == OT_JSON) {
			buf_addf(b, "\"%s\": %s", o->key, v->str);
		} else {
			buf_addf(b, "\"%s\": ", o->key);
			jstr(b, v->str);
		}
	}
	if (sec != NULL)
		buf_adds(b, "\n  },\n");
	return 0;
}

struct rule_spec {
	const char *from;
	const char *words[5];
	const char *exclude;
	const char *types;
	const char *create_label, *create_type;
	const char *owner;
};

static const struct rule_spec custom_specs[] = {
	{ "company", { "company", "employer", NULL }, NULL, "TEXT|TEXT_AREA", "ATS Company", "Text",
	  "fill" },
	{ "job", { "job", "position", "requisition", "posting", NULL }, "title", "TEXT|TEXT_AREA",
	  "ATS Job", "Text", NULL },
	{ "stage", { "stage", NULL }, NULL, "TEXT|TEXT_AREA", "ATS Stage", "Text", NULL },
	{ "source", { "source", NULL }, NULL, "DROPDOWN|RADIO|TEXT|TEXT_AREA", "ATS Source",
	  "Dropdown", NULL },
	{ "referrer", { "referrer", "referred by", NULL }, NULL, "TEXT|TEXT_AREA", "ATS Referrer",
	  "Text", NULL },
	{ "applied_at", { "applied", NULL }, NULL, "DATE|DATE_TIME", "ATS Applied Date", "Date", NULL },
};

static void
write_source_map(struct ctx *c, struct buf *b, const struct keap_field *f, size_t *nguess)
{
	struct buf confirm = BUF_INIT;
	size_t i, n = 0;

	buf_adds(b, "\n      \"map\": {");
	for (i = 0; i < c->sources.n; i++) {
		int sure;
		const char *opt = guess_option(c->sources.v[i], f, &sure);
		if (opt == NULL || (sure && strcmp(opt, c->sources.v[i]) == 0))
			continue;	/* already an option: no entry needed */
		buf_adds(b, n++ ? ",\n        " : "\n        ");
		jstr(b, c->sources.v[i]);
		buf_adds(b, ": ");
		jstr(b, opt);
		if (!sure) {
			buf_adds(&confirm, confirm.len ? ", " : "");
			jstr(&confirm, c->sources.v[i]);
			(*nguess)++;
		}
	}
	buf_adds(b, n ? "\n      }" : "}");
	if (confirm.len > 0) {
		buf_addf(b, ",\n      // CONFIRM: these ATS sources are not options of the Keap field "
		    "\"%s\";\n      // atsrecon guessed the option each maps to. Check each, or add it as "
		    "an option\n      // in Keap (Settings > Custom fields > %s) and drop its map entry; "
		    "then\n      // remove \"confirm\" (doctor warns while it is here).\n      "
		    "\"confirm\": [%s]", f->label, f->label, confirm.p);
	}
	buf_free(&confirm);
}

static void
write_fields(struct ctx *c, struct buf *b, struct buf *missing, size_t *nguess)
{
	size_t i;

	buf_adds(b, "  // canonical field -> Keap field; custom fields by their label in Keap\n"
	    "  \"fields\": [\n"
	    "    { \"from\": \"first_name\", \"to\": \"given_name\" },\n"
	    "    { \"from\": \"last_name\", \"to\": \"family_name\" },\n"
	    "    { \"from\": \"email\", \"to\": \"email:EMAIL1\" },\n"
	    "    { \"from\": \"phone\", \"to\": \"phone:PHONE1\" },\n"
	    "    { \"from\": \"title\", \"to\": \"job_title\", \"owner\": \"fill\" }");
	for (i = 0; i < ARRAY_LEN(custom_specs); i++) {
		const struct rule_spec *s = &custom_specs[i];
		const struct keap_field *f = find_field(&c->model, s->words, s->exclude, s->types);

		if (f == NULL) {
			buf_addf(missing, "%s  //   %-10s -> a Contact custom field \"%s\", type %s%s\n",
			    "", s->from, s->create_label, s->create_type,
			    strcmp(s->create_type, "Dropdown") == 0 ? " (options: the ATS sources below)" :
			    "");
			continue;
		}
		buf_adds(b, ",\n    { \"from\": ");
		jstr(b, s->from);
		buf_adds(b, ", \"to\": ");
		{
			char *to = xasprintf("custom:%s", f->label);
			jstr(b, to);
			free(to);
		}
		if (s->owner != NULL)
			buf_addf(b, ", \"owner\": \"%s\"", s->owner);
		if (strcmp(s->from, "source") == 0 && (type_in(f->type, "DROPDOWN|RADIO"))) {
			buf_addf(b, ",  // a %s field", f->type);
			write_source_map(c, b, f, nguess);
			buf_adds(b, "\n    }");
		} else
			buf_adds(b, " }");
	}
	buf_adds(b, "\n  ]");
	if (missing->len > 0) {
		buf_adds(b, ",\n  // Not mapped: Keap has no custom field for these. To sync one, create "
		    "it in Keap\n  // (Settings > Custom fields > Contact), then add its rule above, e.g.\n"
		    "  // { \"from\": \"job\", \"to\": \"custom:ATS Job\" }:\n");
		buf_add(b, missing->p, missing->len);
	} else
		buf_adds(b, ",\n");
}

static void
tag_name(struct buf *b, const char *what)
{
	buf_adds(b, STAGE_CATEGORY ": ");
	buf_adds(b, what);
}

static void
write_stage_tags(struct ctx *c, struct buf *b)
{
	static const char *const st[][2] = {
		{ "hired", "Hired" }, { "rejected", "Rejected" }, { "withdrawn", "Withdrawn" },
	};
	size_t i;

	buf_adds(b, "  // one tag of the category per candidate: by status first, then by the\n"
	    "  // current application's stage; every stage the ATS has is listed (a stage\n"
	    "  // without a tag is reported as invalid); missing tags are created by the run\n"
	    "  \"stage_tags\": {\n    \"category\": \"" STAGE_CATEGORY "\",\n    \"by_status\": {");
	for (i = 0; i < ARRAY_LEN(st); i++) {
		struct buf t = BUF_INIT;
		tag_name(&t, st[i][1]);
		buf_addf(b, "%s\n      \"%s\": ", i ? "," : "", st[i][0]);
		jstr(b, t.p);
		buf_free(&t);
	}
	if (c->reasons.n > 0) {
		buf_addf(b, "\n      // the ATS's %s reasons (a candidate archived with one is \"rejected\", "
		    "with\n      // one marked (hired) \"hired\"):", strcmp(cfg_str(c->cfg, OPT_ATS_KIND),
		    "lever") == 0 ? "archive" : "rejection");
		for (i = 0; i < c->reasons.n; i++) {
			int nl = strchr(c->reasons.v[i], '\n') != NULL;
			if (!nl)
				buf_addf(b, "%s %s", i % 4 == 0 ? "\n      //" : ",", c->reasons.v[i]);
		}
	}
	buf_adds(b, "\n    },\n    \"by_stage\": {");
	for (i = 0; i < c->stages.n; i++) {
		struct buf t = BUF_INIT;
		tag_name(&t, c->stages.v[i]);
		buf_adds(b, i ? ",\n      " : "\n      ");
		jstr(b, c->stages.v[i]);
		buf_adds(b, ": ");
		jstr(b, t.p);
		buf_free(&t);
	}
	buf_adds(b, c->stages.n ? "\n    }\n  }\n" : "}\n  }\n");
}

static int
tag_exists(const struct ctx *c, const char *name)
{
	size_t i;

	for (i = 0; c->have_tags && i < c->tags.n; i++)
		if (strcmp(c->tags.v[i].name, name) == 0)
			return 1;
	return 0;
}

static enum rc
write_config(struct ctx *c, size_t *nguess)
{
	struct buf b = BUF_INIT, missing = BUF_INIT;
	const struct keap_field *ext;
	static const char *const ext_words[] = { "candidate id", "ats id", "external id", NULL };
	const char *ext_label = cfg_str(c->cfg, OPT_MATCH_EXTERNAL_ID_FIELD);
	char ts[32];
	enum rc rc = RC_OK;
	size_t i;

	fmt_rfc3339_ms(now_ms(), ts, sizeof(ts));
	buf_addf(&b, "// atsrecon configuration, written by `atsrecon init` at %s from what\n"
	    "// Keap (%zu custom fields, %zu tags) and %s (%zu stages, %zu sources) hold.\n"
	    "// Every key: atsrecon.conf(5). Check it: atsrecon check -c FILE; preflight:\n"
	    "// atsrecon doctor -c FILE; then: atsrecon run --dry-run -c FILE\n{\n", ts, c->model.n,
	    c->tags.n, cfg_str(c->cfg, OPT_ATS_KIND), c->stages.n, c->sources.n);
	if (write_settings(c, &b) != 0) {
		rc = RC_CONFIG;
		goto out;
	}
	ext = keap_model_field(&c->model, ext_label);
	if (ext == NULL)
		ext = find_field(&c->model, ext_words, NULL, "TEXT|TEXT_AREA");
	buf_adds(&b, "  // the Keap custom field that links a contact: it holds \"<ats>:<id>\"\n");
	if (ext == NULL)
		buf_addf(&b, "  // MISSING in Keap: create a Contact custom field \"%s\", type Text\n"
		    "  // (Settings > Custom fields); doctor fails until it exists\n", ext_label);
	buf_adds(&b, "  \"match\": { \"external_id_field\": ");
	jstr(&b, ext ? ext->label : ext_label);
	buf_addf(&b, ", \"by_email\": true },\n  \"phone\": { \"default_region\": ");
	jstr(&b, cfg_str(c->cfg, OPT_PHONE_DEFAULT_REGION));
	buf_adds(&b, " },\n"
	    "  // safe ceilings: a run that would change more applies nothing (exit 6);\n"
	    "  // --approve N lets one run through after a person looked at the plan\n"
	    "  \"guards\": { \"max_change_percent\": 10, \"max_archives\": 50, \"max_creates\": 500 },\n"
	    "  // candidates deleted, anonymised or duplicated in the ATS get a tag; nothing\n"
	    "  // is deleted in Keap (\"deletes\": \"tag\")\n  \"lifecycle\": {\n");
	{
		static const enum opt_id life[] = { OPT_LIFE_DELETED_TAG, OPT_LIFE_ANONYMIZED_TAG,
			OPT_LIFE_DUPLICATE_TAG };
		for (i = 0; i < ARRAY_LEN(life); i++) {
			const char *t = cfg_str(c->cfg, life[i]);
			buf_addf(&b, "    \"%s\": ", opt_get(life[i])->key);
			jstr(&b, t);
			buf_addf(&b, ",%s\n", tag_exists(c, t) ? "" : "  // created by the first run");
		}
	}
	buf_adds(&b, "    \"deletes\": \"tag\"\n  },\n");
	write_fields(c, &b, &missing, nguess);
	write_stage_tags(c, &b);
	buf_adds(&b, "}\n");
	{
		int fd = open(c->o->out, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		ssize_t w;
		if (fd < 0) {
			log_error("init", "%s: %s%s", c->o->out, strerror(errno), errno == EEXIST ?
			    " (init never overwrites a file: choose another --out, or move it away)" : "");
			rc = RC_CONFIG;
			goto out;
		}
		w = write(fd, b.p, b.len);
		if (w != (ssize_t)b.len || fsync(fd) != 0) {
			log_error("init", "%s: %s", c->o->out, strerror(errno));
			rc = RC_CONFIG;
		}
		close(fd);
	}
	if (rc == RC_OK)
		printf("\nwrote %s\n", c->o->out);
out:
	buf_free(&b);
	buf_free(&missing);
	return rc;
}

/* Runs this binary with args; its exit status (-1: could not run). */
static int
run_self(const struct init_opts *o, const char *const *args, int quiet_stdout)
{
	posix_spawn_file_actions_t fa;
	char *argv[12];
	const char *self = access("/proc/self/exe", X_OK) == 0 ? "/proc/self/exe" : o->self;
	pid_t pid;
	int st, i;

	fflush(stdout);
	fflush(stderr);
	argv[0] = (char *)"atsrecon";
	for (i = 0; args[i] != NULL && i < 10; i++)
		argv[i + 1] = (char *)args[i];
	argv[i + 1] = NULL;
	posix_spawn_file_actions_init(&fa);
	if (quiet_stdout)
		posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
	if (posix_spawn(&pid, self, &fa, NULL, argv, environ) != 0) {
		posix_spawn_file_actions_destroy(&fa);
		return -1;
	}
	posix_spawn_file_actions_destroy(&fa);
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

enum rc
init_main(struct config *cfg, const struct init_opts *o)
{
	struct ctx c;
	struct http *h = NULL;
	struct http_cfg hc;
	struct s3state *s3 = NULL;
	char *s3dir = NULL, *outabs = NULL, *slash;
	const char *state_dir;
	size_t nguess = 0, i;
	enum rc rc;
	int crc, drc;

	memset(&c, 0, sizeof(c));
	c.cfg = cfg;
	c.o = o;
	c.interactive = !o->non_interactive && isatty(STDIN_FILENO);
	if (access(o->out, F_OK) == 0) {
		log_error("init", "%s exists; init never overwrites a file (choose another --out)", o->out);
		return RC_USAGE;
	}
	/* the configuration's directory (for credentials files) */
	{
		char *tmp = xstrdup(o->out), *dir;
		slash = strrchr(tmp, '/');
		if (slash == NULL)
			dir = xstrdup(".");
		else {
			*slash = '\0';
			dir = xstrdup(*tmp ? tmp : "/");
		}
		c.outdir = realpath(dir, NULL);
		if (c.outdir == NULL) {
			log_error("init", "%s: %s", dir, strerror(errno));
			free(dir);
			free(tmp);
			return RC_USAGE;
		}
		free(dir);
		free(tmp);
	}
	if (c.interactive)
		printf("atsrecon init: a configuration for your Keap and your ATS (Enter keeps the value "
		    "in [brackets]).\n\n");
	if ((rc = gather_answers(&c)) != RC_OK)
		goto out;
	hc = http_cfg_of(cfg);
	if ((rc = http_new(&hc, &h)) != RC_OK)
		goto out;
	if (cfg_str(cfg, OPT_STATE_URL) != NULL) {
		if ((rc = s3state_begin(cfg, &s3dir, &s3)) != RC_OK)
			goto out;
	}
	state_dir = s3dir != NULL ? s3dir : cfg_str(cfg, OPT_STATE_DIR);
	printf("\nreading Keap...\n");
	fflush(stdout);
	if ((rc = read_keap(&c, h, state_dir)) != RC_OK)
		goto out;
	printf("reading %s...\n", cfg_str(cfg, OPT_ATS_KIND));
	fflush(stdout);
	if ((rc = read_ats(&c, h)) != RC_OK)
		goto out;
	if (s3 != NULL) {
		/* a refresh rotated the tokens: put them back before anything else */
		if ((rc = s3state_commit(s3)) != RC_OK)
			goto out;
		s3state_end(s3);
		s3 = NULL;
	}
	if ((rc = write_config(&c, &nguess)) != RC_OK)
		goto out;
	http_free(h);
	h = NULL;
	if (nguess > 0)
		printf("%zu ATS source%s mapped to a guessed Keap option: confirm %s in %s (\"confirm\")\n",
		    nguess, nguess == 1 ? " is" : "s are", nguess == 1 ? "it" : "them", o->out);
	outabs = realpath(o->out, NULL);
	{
		const char *cargs[] = { "check", "-c", outabs ? outabs : o->out, "-q", NULL };
		const char *dargs[] = { "doctor", "-c", outabs ? outabs : o->out, NULL };
		printf("\n$ atsrecon check -c %s\n", o->out);
		crc = run_self(o, cargs, 1);
		printf("%s\n\n$ atsrecon doctor -c %s\n", crc == 0 ? "ok" : "check failed (above)", o->out);
		drc = run_self(o, dargs, 0);
	}
	if (crc == 0 && drc == 0) {
		printf("\nNext: a dry run (reads both systems, writes nothing to Keap):\n\n"
		    "  atsrecon run --dry-run -c %s\n", o->out);
		rc = RC_OK;
	} else {
		printf("\n%s is written, but %s found problems (above): fix them, then run\n\n"
		    "  atsrecon doctor -c %s\n  atsrecon run --dry-run -c %s\n", o->out,
		    crc != 0 ? "check" : "doctor", o->out, o->out);
		rc = RC_CONFIG;
	}
out:
	if (s3 != NULL)
		s3state_end(s3);
	free(s3dir);
	http_free(h);
	keap_model_free(&c.model);
	keap_tags_free(&c.tags);
	wt_free(&c.stages);
	wt_free(&c.sources);
	wt_free(&c.statuses);
	wt_free(&c.jobs);
	wt_free(&c.reasons);
	for (i = 0; i < OPT__MAX; i++)
		free(c.secret_path[i]);
	free(c.outdir);
	free(outabs);
	return rc;
}
