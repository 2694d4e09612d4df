/* auth.c — see auth.h. */
#define _POSIX_C_SOURCE 200809L
#include "auth.h"

#include <stdlib.h>
#include <string.h>

#include "jdoc.h"
#include "log.h"

#define TOKENS_KEY "keap"

struct auth {
	struct auth_cfg cfg;
	struct http *http;
	struct state *state;
	char *access;
	char *refresh;
	int64_t expires_at;	/* epoch s */
	int64_t issued_at;	/* epoch s, of the refresh token */
	int64_t lifetime;	/* s, of the last access token Keap issued (0: unknown) */
	int loaded;
	int unproven;		/* the token came from a refresh after a 401, not yet used well */
	int refreshes;
	char *key_header;
	struct api_err err;	/* why the last failing call failed */
};

static void
scrub_free(char *s)
{
	if (s != NULL) {
		memset(s, 0, strlen(s));
		free(s);
	}
}

enum rc
auth_check_cfg(const struct auth_cfg *cfg, struct api_err *e)
{
	if (cfg->mode == AUTH_API_KEY && (cfg->api_key == NULL || *cfg->api_key == '\0')) {
		api_fail(e, "auth", 0, "set keap.api_key",
		    "keap.auth is a key, but keap.api_key is not set");
		return RC_CONFIG;
	}
	if (cfg->mode == AUTH_OAUTH && (cfg->client_id == NULL || cfg->client_secret == NULL)) {
		api_fail(e, "auth", 0, "set keap.client_id and keap.client_secret (the Keap developer "
		    "app's key and secret)", "keap.auth is oauth: keap.client_id and keap.client_secret "
		    "are needed");
		return RC_CONFIG;
	}
	return RC_OK;
}

enum rc
auth_new(const struct auth_cfg *cfg, struct http *http, struct state *state, struct auth **out)
{
	struct auth *a;

	if (auth_check_cfg(cfg, NULL) != RC_OK)
		return RC_CONFIG;
	a = xcalloc(1, sizeof(*a));
	a->cfg = *cfg;
	/* own copies: the caller's strings may not outlive this */
	a->cfg.token_url = cfg->token_url ? xstrdup(cfg->token_url) : NULL;
	a->cfg.client_id = cfg->client_id ? xstrdup(cfg->client_id) : NULL;
	a->cfg.client_secret = cfg->client_secret ? xstrdup(cfg->client_secret) : NULL;
	a->cfg.api_key = NULL;	/* only the header line is kept */
	a->http = http;
	a->state = state;
	if (cfg->mode == AUTH_API_KEY) {
		log_add_secret(cfg->api_key);
		a->key_header = xasprintf("X-Keap-API-Key: %s", cfg->api_key);
	}
	*out = a;
	return RC_OK;
}

const struct api_err *
auth_error(const struct auth *a)
{
	return &a->err;
}

void
auth_free(struct auth *a)
{
	if (a == NULL)
		return;
	scrub_free(a->access);
	scrub_free(a->refresh);
	scrub_free(a->key_header);
	free((char *)a->cfg.token_url);
	free((char *)a->cfg.client_id);
	scrub_free((char *)a->cfg.client_secret);
	free(a);
}

/* Reads the token record from the state. RC_AUTH when there is none. */
static enum rc
load_tokens(struct auth *a)
{
	struct buf v = BUF_INIT, err = BUF_INIT;
	struct jnode *j = NULL;
	const char *acc, *ref;
	enum rc rc;

	if (a->loaded)
		return RC_OK;
	rc = state_get(a->state, DB_TOKENS, TOKENS_KEY, &v);
	if (rc == RC_RECORD) {
		api_fail(&a->err, "auth", 0, NULL,
		    "no Keap tokens in the state; run `atsrecon auth keap --login` "
		    "(or --refresh-token-file FILE) once");
		rc = RC_AUTH;
		goto out;
	}
	if (rc != RC_OK)
		goto out;
	j = jn_parse(v.p, v.len, &err);
	acc = jn_str(j, "access");
	ref = jn_str(j, "refresh");
	if (j == NULL || acc == NULL || ref == NULL || jn_int(j, "expires_at", &a->expires_at) != 0 ||
	    jn_int(j, "issued_at", &a->issued_at) != 0) {
		api_fail(&a->err, "auth", 0, NULL,
		    "the Keap token record in the state is unreadable; run `atsrecon auth "
		    "keap` again");
		rc = RC_STATE;
		goto out;
	}
	scrub_free(a->access);
	scrub_free(a->refresh);
	a->access = xstrdup(acc);
	a->refresh = xstrdup(ref);
	if (jn_int(j, "lifetime", &a->lifetime) != 0)
		a->lifetime = 0;
	log_add_token(a->access);
	log_add_token(a->refresh);
	a->loaded = 1;
	rc = RC_OK;
out:
	if (v.p != NULL)
		memset(v.p, 0, v.len);
	buf_free(&v);
	buf_free(&err);
	if (j != NULL)
		jn_free(j);
	return rc;
}

static enum rc (*rotation_hook)(void *);
static void *rotation_arg;

void
auth_set_rotation_hook(enum rc (*fn)(void *), void *arg)
{
	rotation_hook = fn;
	rotation_arg = arg;
}

/* Commits the pair to the state (durably, even in the middle of a batch of
 * snapshot writes) and hands it to the rotation hook. Nothing uses the new
 * access token before this returns RC_OK. */
static enum rc
save_tokens(struct auth *a)
{
	struct buf rec = BUF_INIT;
	enum rc rc;

	buf_adds(&rec, "{\"access\":");
	json_escape(&rec, a->access, strlen(a->access));
	buf_addf(&rec, ",\"expires_at\":%lld,\"refresh\":", (long long)a->expires_at);
	json_escape(&rec, a->refresh, strlen(a->refresh));
	buf_addf(&rec, ",\"issued_at\":%lld,\"lifetime\":%lld}", (long long)a->issued_at,
	    (long long)a->lifetime);
	rc = state_put(a->state, DB_TOKENS, TOKENS_KEY, rec.p, rec.len);
	memset(rec.p, 0, rec.len);
	buf_free(&rec);
	if (rc == RC_OK)
		rc = state_commit_now(a->state);
	if (rc == RC_OK)
		test_hook("token-committed");
	if (rc == RC_OK && rotation_hook != NULL)
		rc = rotation_hook(rotation_arg);
	return rc;
}

static void
form_add(struct buf *b, const char *k, const char *v)
{
	if (b->len > 0)
		buf_addc(b, '&');
	buf_adds(b, k);
	buf_addc(b, '=');
	http_urlencode(b, v);
}

/* The token endpoint refused (400/401): why, in words a person can act on
 * (j: its answer, parsed; NULL if it was not JSON). */
static void
token_refused(struct auth *a, const struct http_job *job, const struct jnode *j, const char *what,
    int lost_before)
{
	const char *e = jn_str(j, "error");
	struct buf safe = BUF_INIT;

	text_escape(&safe, e ? e : "no error code", strlen(e ? e : "no error code"));
	if (e != NULL && strcmp(e, "invalid_grant") == 0 && lost_before)
		api_fail(&a->err, "auth", job->resp.status, NULL,
		    "%s: the answer to an earlier attempt was lost, and asked again "
		    "Keap answered %s: the lost answer most likely carried a new refresh token "
		    "(Keap rotates it on every refresh), so the stored one is dead; run `atsrecon "
		    "auth keap --login` (or `atsrecon auth keap --refresh-token-file FILE`) to "
		    "authorise again", what, safe.p);
	else if (e != NULL && strcmp(e, "invalid_grant") == 0 && strstr(what, "code") != NULL)
		api_fail(&a->err, "auth", job->resp.status, NULL,
		    "%s: Keap refused the code (%s): it expired (codes live a few "
		    "minutes), was already used, or was issued for another client or redirect URI; "
		    "run `atsrecon auth keap --login` again and paste the new address at once",
		    what, safe.p);
	else if (e != NULL && (strcmp(e, "invalid_grant") == 0 || strcmp(e, "invalid_request") == 0))
		api_fail(&a->err, "auth", job->resp.status, NULL,
		    "%s: Keap answered %s: the authorisation is gone; run `atsrecon "
		    "auth keap --login` (or --refresh-token-file FILE) to authorise again", what, safe.p);
	else
		api_fail(&a->err, "auth", job->resp.status, NULL,
		    "%s: Keap answered HTTP %ld (%s); check keap.client_id and "
		    "keap.client_secret", what, job->resp.status, safe.p);
	buf_free(&safe);
}

/*
 * POSTs a form to the token endpoint and takes the answer. *lost (when not
 * NULL) is set when the answer was lost on the way, so Keap may or may not
 * have acted on the request: a connection reset or closed early, a timeout,
 * a 2xx body that is not JSON (cut short or malformed), a 500/502/504.
 * lost_before: an earlier attempt with the same form lost its answer, so an
 * invalid_grant now most likely means that attempt rotated the token.
 */
static enum rc
token_call(struct auth *a, struct buf *form, int basic, int64_t deadline_ms, const char *what,
    int lost_before, int *lost)
{
	struct http_job job;
	struct http_policy pol;
	struct buf err = BUF_INIT;
	struct jnode *j = NULL;
	const char *acc, *ref;
	int64_t expires_in = 0;
	enum rc rc;

	memset(&job, 0, sizeof(job));
	memset(&pol, 0, sizeof(pol));
	job.req.method = "POST";
	job.req.url = a->cfg.token_url;
	job.req.credential = 1;
	job.req.fresh_connection = 1;	/* no resend behind our back (refresh()) */
	job.req.body = form->p;
	job.req.body_len = form->len;
	job.req.content_type = "application/x-www-form-urlencoded";
	if (basic) {
		job.req.basic_user = a->cfg.client_id;
		job.req.basic_pass = a->cfg.client_secret;
	}
	job.idempotent = 0;	/* a refresh consumes the old token: resend only if unseen */
	pol.concurrency = 1;
	pol.max_retries = (int)(a->cfg.max_retries > 0 ? a->cfg.max_retries : 4);
	pol.deadline_ms = deadline_ms;
	if (lost != NULL)
		*lost = 0;
	rc = http_call(a->http, &job, &pol);
	memset(form->p, 0, form->len);
	if (rc != RC_OK) {
		if (lost != NULL && rc == RC_REMOTE && (job.resp.fail == HTTP_ERR_RESET ||
		    job.resp.fail == HTTP_ERR_TIMEOUT))
			*lost = 1;
		api_fail(&a->err, "auth", 0, NULL,
		    "%s: %s: %s", what, http_fail_str(job.resp.fail), job.resp.err);
		goto out;
	}
	j = jn_parse(job.resp.body.p, job.resp.body.len, &err);
	if (job.resp.status == 400 || job.resp.status == 401) {
		token_refused(a, &job, j, what, lost_before);
		rc = RC_AUTH;
		goto out;
	}
	if (job.resp.status != 200) {
		if (lost != NULL && (job.resp.status == 500 || job.resp.status == 502 ||
		    job.resp.status == 504))
			*lost = 1;
		api_fail(&a->err, "auth", job.resp.status, NULL,
		    "%s: HTTP %ld from the token endpoint", what, job.resp.status);
		rc = job.resp.status >= 500 || job.resp.status == 429 ? RC_REMOTE : RC_AUTH;
		goto out;
	}
	acc = jn_str(j, "access_token");
	ref = jn_str(j, "refresh_token");
	if (j == NULL || acc == NULL || *acc == '\0' || jn_int(j, "expires_in", &expires_in) != 0 ||
	    expires_in <= 0) {
		if (lost != NULL && j == NULL)	/* cut short or malformed */
			*lost = 1;
		api_fail(&a->err, "auth", 0, NULL,
		    "%s: the token endpoint's answer has no usable access_token/expires_in%s%s",
		    what, err.len ? ": " : "", err.len ? err.p : "");
		rc = RC_REMOTE;
		goto out;
	}
	log_add_token(acc);
	if (ref != NULL)
		log_add_token(ref);
	scrub_free(a->access);
	a->access = xstrdup(acc);
	if (ref != NULL && *ref != '\0') {
		scrub_free(a->refresh);
		a->refresh = xstrdup(ref);
		a->issued_at = now_ms() / 1000;
	}
	a->expires_at = now_ms() / 1000 + expires_in;
	a->lifetime = expires_in;
	a->loaded = 1;
	rc = save_tokens(a);
	if (rc != RC_OK) {
		/* The old refresh token is dead and the new one is not stored: the
		 * one thing that must not happen silently. */
		api_fail(&a->err, "auth", 0, NULL,
		    "%s succeeded but the new tokens could not be stored; Keap must be "
		    "authorised again with `atsrecon auth keap`", what);
		goto out;
	}
	a->refreshes++;
	log_info("auth", "%s: new Keap tokens stored (access token valid %lld s)", what,
	    (long long)expires_in);
out:
	if (job.resp.body.p != NULL)
		memset(job.resp.body.p, 0, job.resp.body.len);
	http_resp_free(&job.resp);
	buf_free(&err);
	if (j != NULL)
		jn_free(j);
	return rc;
}

/*
 * One refresh. An answer lost on the way is asked for again with the same
 * refresh token (a->refresh changes only when an answer arrives whole), one
 * attempt at a time, AUTH_REFRESH_LOST_RETRIES times at most, waiting
 * backoff_base_ms, then twice as long each time, never past the deadline: if
 * Keap never processed the request, the retry works; if it rotated the token
 * and the answer was lost, the retry is answered invalid_grant (RC_AUTH, said so).
 */
static enum rc
refresh(struct auth *a, int64_t deadline_ms, const char *why)
{
	long base = a->cfg.backoff_base_ms > 0 ? a->cfg.backoff_base_ms : 500, wait = base;
	int attempt, lost = 0, lost_before = 0;
	enum rc rc = RC_REMOTE;

	log_info("auth", "refreshing the Keap access token (%s)", why);
	for (attempt = 0; attempt <= AUTH_REFRESH_LOST_RETRIES; attempt++) {
		struct buf form = BUF_INIT;

		if (attempt > 0) {
			if (stop_requested() || (deadline_ms > 0 && mono_ms() + wait >= deadline_ms))
				break;
			log_warn("auth", "token refresh: the answer was lost; asking again with the "
			    "same refresh token in %ld ms (retry %d of %d)", wait, attempt,
			    AUTH_REFRESH_LOST_RETRIES);
			sleep_ms(wait);
			wait *= 2;
		}
		form_add(&form, "grant_type", "refresh_token");
		form_add(&form, "refresh_token", a->refresh);
		rc = token_call(a, &form, 1, deadline_ms, "token refresh", lost_before, &lost);
		buf_free(&form);
		if (rc == RC_OK || !lost)
			return rc;
		lost_before = 1;
	}
	api_fail(&a->err, "auth", 0, NULL,
	    "token refresh: no answer arrived whole after %d attempts; the stored "
	    "refresh token is kept. If Keap did act on one of them, that token is dead and the "
	    "next run exits 4: then run `atsrecon auth keap --login` (or `atsrecon auth keap "
	    "--refresh-token-file FILE`)", attempt);
	return rc;
}

enum rc
auth_credentials(struct auth *a, int64_t deadline_ms, const char **bearer, const char **header)
{
	int64_t now = now_ms() / 1000, margin;
	enum rc rc;

	*bearer = NULL;
	*header = NULL;
	if (a->cfg.mode == AUTH_API_KEY) {
		*header = a->key_header;
		return RC_OK;
	}
	if ((rc = load_tokens(a)) != RC_OK)
		return rc;
	/* "less than an hour left", or half the lifetime for tokens shorter than 2 h
	 * (else a short-lived token would be refreshed before every call) */
	margin = AUTH_REFRESH_BEFORE_EXPIRY;
	if (a->lifetime > 0 && a->lifetime / 2 < margin)
		margin = a->lifetime / 2;
	if (a->access[0] == '\0' || a->expires_at - now < margin)
		rc = refresh(a, deadline_ms, a->access[0] == '\0' ? "no access token yet" :
		    "it expires soon");
	else if (now - a->issued_at > AUTH_REFRESH_TOKEN_MAX_AGE)
		rc = refresh(a, deadline_ms, "refresh token older than 30 days");
	if (rc != RC_OK)
		return rc;
	*bearer = a->access;
	return RC_OK;
}

enum rc
auth_after_401(struct auth *a, int64_t deadline_ms)
{
	enum rc rc;

	if (a->cfg.mode == AUTH_API_KEY) {
		api_fail(&a->err, "auth", 0, NULL,
		    "Keap rejected the API key (401); check keap.api_key");
		return RC_AUTH;
	}
	if (a->unproven) {
		api_fail(&a->err, "auth", 0, NULL,
		    "Keap answered 401 again right after a fresh token; authorise again "
		    "with `atsrecon auth keap`");
		return RC_AUTH;
	}
	if (load_tokens(a) != RC_OK)
		return RC_AUTH;
	/* no answer arrived whole (RC_REMOTE): the next run tries again (exit 5) */
	if ((rc = refresh(a, deadline_ms, "Keap answered 401")) != RC_OK)
		return rc == RC_REMOTE ? RC_REMOTE : RC_AUTH;
	a->unproven = 1;
	return RC_OK;
}

void
auth_token_worked(struct auth *a)
{
	a->unproven = 0;
}

enum rc
auth_exchange_code(struct auth *a, const char *code, const char *redirect_uri, int64_t deadline_ms)
{
	struct buf form = BUF_INIT;
	enum rc rc;

	log_add_secret(code);
	form_add(&form, "client_id", a->cfg.client_id);
	form_add(&form, "client_secret", a->cfg.client_secret);
	form_add(&form, "code", code);
	form_add(&form, "grant_type", "authorization_code");
	form_add(&form, "redirect_uri", redirect_uri);
	scrub_free(a->refresh);
	a->refresh = xstrdup("");
	rc = token_call(a, &form, 0, deadline_ms, "authorization code exchange", 0, NULL);
	buf_free(&form);
	if (rc == RC_OK && a->refresh[0] == '\0') {
		api_fail(&a->err, "auth", 0, NULL, "the code exchange returned no refresh token");
		rc = RC_AUTH;
	}
	return rc;
}

enum rc
auth_store_refresh_token(struct auth *a, const char *refresh_token)
{
	log_add_secret(refresh_token);
	scrub_free(a->access);
	scrub_free(a->refresh);
	a->access = xstrdup("");
	a->refresh = xstrdup(refresh_token);
	a->expires_at = 0;		/* the first use refreshes at once */
	a->issued_at = now_ms() / 1000;
	a->loaded = 1;
	return save_tokens(a);
}

void
auth_get_status(const struct auth *a, struct auth_status *st)
{
	memset(st, 0, sizeof(*st));
	st->have_tokens = a->loaded;
	st->access_expires_at = a->expires_at;
	st->refresh_issued_at = a->issued_at;
	st->refreshes = a->refreshes;
}
