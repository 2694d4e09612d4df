/* session.c — see session.h. */
#include "session.h"

#include <stdlib.h>
#include <string.h>

#include "ats.h"
#include "log.h"
#include "pace.h"
#include "s3.h"
#include "state.h"

void
session_http_cfg(const struct config *cfg, struct http_cfg *hc)
{
	memset(hc, 0, sizeof(*hc));
	hc->ca_file = cfg_str(cfg, OPT_HTTP_CA_FILE);
	hc->connect_timeout_ms = (long)cfg_int(cfg, OPT_HTTP_CONNECT_TIMEOUT) * 1000;
	hc->timeout_ms = (long)cfg_int(cfg, OPT_HTTP_TIMEOUT) * 1000;
	hc->max_body = (size_t)cfg_int(cfg, OPT_HTTP_MAX_BODY);
}

void
session_auth_cfg(const struct config *cfg, struct auth_cfg *ac)
{
	memset(ac, 0, sizeof(*ac));
	ac->mode = strcmp(cfg_str(cfg, OPT_KEAP_AUTH), "oauth") == 0 ? AUTH_OAUTH : AUTH_API_KEY;
	ac->token_url = cfg_str(cfg, OPT_KEAP_TOKEN_URL);
	ac->client_id = cfg_str(cfg, OPT_KEAP_CLIENT_ID);
	ac->client_secret = cfg_str(cfg, OPT_KEAP_CLIENT_SECRET);
	ac->api_key = cfg_str(cfg, OPT_KEAP_API_KEY);
	ac->max_retries = cfg_int(cfg, OPT_HTTP_MAX_RETRIES);
}

void
session_keap_cfg(const struct config *cfg, struct keap_cfg *kc)
{
	memset(kc, 0, sizeof(*kc));
	kc->base_url = cfg_str(cfg, OPT_KEAP_BASE_URL);
	kc->page_size = (int)cfg_int(cfg, OPT_KEAP_PAGE_SIZE);
	kc->max_pages = (int)cfg_int(cfg, OPT_KEAP_MAX_PAGES);
	kc->concurrency = (int)cfg_int(cfg, OPT_KEAP_CONCURRENCY);
	kc->max_retries = (int)cfg_int(cfg, OPT_HTTP_MAX_RETRIES);
	kc->allow_delete = strcmp(cfg_str(cfg, OPT_LIFE_DELETES), "delete") == 0;
}

double
session_keap_rps(const struct config *cfg)
{
	double rps = (double)cfg_int(cfg, OPT_KEAP_MAX_RPS);

	if (rps <= 0)	/* docs/keap.md: the defaults */
		rps = strcmp(cfg_str(cfg, OPT_KEAP_AUTH), "oauth") == 0 ? 10 : 4;
	return rps;
}

void
session_init(struct session *s, const struct config *cfg, int64_t deadline_ms)
{
	memset(s, 0, sizeof(*s));
	s->cfg = cfg;
	s->deadline_ms = deadline_ms;
	s->state_dir = cfg_str(cfg, OPT_STATE_DIR);
}

enum rc
session_http(struct session *s)
{
	struct http_cfg hc;
	enum rc rc;

	session_http_cfg(s->cfg, &hc);
	api_err_clear(&s->err);
	if ((rc = http_new(&hc, &s->http)) != RC_OK) {
		api_err_set(&s->err, 0, "the HTTP client could not be set up (%s%s%s)", rc_str(rc),
		    hc.ca_file != NULL ? "; http.ca_file " : "", hc.ca_file != NULL ? hc.ca_file : "");
		api_err_hint(&s->err, "http.ca_file must name a readable PEM CA bundle");
	}
	return rc;
}

static enum rc
s3_rotation(void *arg)
{
	return s3state_commit(arg);
}

enum rc
session_lease(struct session *s)
{
	enum rc rc;

	if (cfg_str(s->cfg, OPT_STATE_URL) == NULL) {
		s->state_dir = cfg_str(s->cfg, OPT_STATE_DIR);
		return RC_OK;
	}
	if ((rc = s3state_begin_err(s->cfg, &s->s3dir, &s->s3, &s->err)) != RC_OK)
		return rc;
	s->state_dir = s->s3dir;
	auth_set_rotation_hook(s3_rotation, s->s3);
	return RC_OK;
}

enum rc
session_state(struct session *s)
{
	api_err_clear(&s->err);
	return state_open_err(s->state_dir, STATE_RW, &s->st, &s->err);
}

enum rc
session_auth(struct session *s)
{
	struct auth_cfg ac;
	enum rc rc;

	session_auth_cfg(s->cfg, &ac);
	api_err_clear(&s->err);
	if ((rc = auth_check_cfg(&ac, &s->err)) != RC_OK)
		return rc;
	return auth_new(&ac, s->http, s->st, &s->auth);
}

enum rc
session_keap(struct session *s)
{
	struct keap_cfg kc;
	enum rc rc;

	s->kpace = pace_new("keap", session_keap_rps(s->cfg), 1);
	session_keap_cfg(s->cfg, &kc);
	if (s->keap_concurrency > 0)
		kc.concurrency = s->keap_concurrency;
	if ((rc = keap_new(&kc, s->http, s->auth, s->kpace, &s->keap)) != RC_OK) {
		api_err_set(&s->err, 0, "the Keap client could not be set up (keap.base_url)");
		api_err_hint(&s->err, "keap.base_url must be an https:// URL");
		return rc;
	}
	keap_set_deadline(s->keap, s->deadline_ms);
	return RC_OK;
}

enum rc
session_ats(struct session *s)
{
	enum rc rc;

	if ((rc = ats_open_err(s->cfg, s->http, &s->ats, &s->err)) != RC_OK)
		return rc;
	s->ats->deadline_ms = s->deadline_ms;
	return RC_OK;
}

enum rc
session_open(struct session *s, unsigned parts)
{
	enum rc rc = RC_OK;

	if ((parts & (SESSION_KEAP | SESSION_ATS)) && (rc = session_http(s)) != RC_OK)
		return rc;
	if (parts & SESSION_STATE) {
		if (!(parts & SESSION_LOCAL) && (rc = session_lease(s)) != RC_OK)
			return rc;
		if ((rc = session_state(s)) != RC_OK)
			return rc;
	}
	if ((parts & SESSION_KEAP) && ((rc = session_auth(s)) != RC_OK || (rc = session_keap(s)) != RC_OK))
		return rc;
	if ((parts & SESSION_ATS) && (rc = session_ats(s)) != RC_OK)
		return rc;
	return RC_OK;
}

enum rc
session_close(struct session *s)
{
	enum rc rc = RC_OK;

	ats_close(s->ats);
	s->ats = NULL;
	keap_free(s->keap);
	s->keap = NULL;
	pace_free(s->kpace);
	s->kpace = NULL;
	auth_free(s->auth);	/* before the state it uses */
	s->auth = NULL;
	http_free(s->http);
	s->http = NULL;
	state_close(s->st);
	s->st = NULL;
	if (s->s3 != NULL) {
		auth_set_rotation_hook(NULL, NULL);
		if (!s->discard && (rc = s3state_commit(s->s3)) != RC_OK)
			s3state_error(s->s3, &s->err);
		s3state_end(s->s3);
		s->s3 = NULL;
	}
	free(s->s3dir);
	s->s3dir = NULL;
	return rc;
}
