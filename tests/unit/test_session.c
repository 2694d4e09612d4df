/*
 * test_session.c — session.c and apierr.h: the error value a failing call
 * leaves (api_fail logs and records; api_err_text shows it), the state step
 * (opened once; a second session on the same directory is refused with the
 * lock named in its error value), the auth step's configuration error with
 * its hint, the Keap settings, and the vendor facts struct ats_driver carries.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "apierr.h"
#include "ats.h"
#include "config.h"
#include "log.h"
#include "session.h"
#include "util.h"

#include "t.h"

static void
test_apierr(void)
{
	struct api_err e;
	struct buf b = BUF_INIT;

	api_err_clear(&e);
	api_err_text(&e, &b);
	CHECK(b.len == 0);
	api_fail(&e, "test", 403, "grant it", "GET %s: refused", "/v2/tags");
	CHECK(e.status == 403);
	CHECK_STR(e.msg, "GET /v2/tags: refused");
	CHECK_STR(e.hint, "grant it");
	str_copy(e.code, sizeof(e.code), "ACCESS_DENIED");
	api_err_text(&e, &b);
	CHECK_STR(b.p, "HTTP 403 ACCESS_DENIED: GET /v2/tags: refused");
	api_fail(NULL, "test", 0, NULL, "only logged");	/* no value: no crash */
	api_err_set(&e, 0, "%s", "transport");
	api_err_hint(&e, NULL);
	buf_reset(&b);
	api_err_text(&e, &b);
	CHECK_STR(b.p, "ACCESS_DENIED: transport");
	CHECK_STR(e.hint, "");
	buf_free(&b);
}

static void
test_drivers(void)
{
	const struct ats_driver *gh = ats_driver_of("greenhouse"), *f = ats_driver_of("file");

	CHECK(gh != NULL && gh->base_url != NULL && gh->auth_url != NULL);
	if (gh != NULL && gh->base_url != NULL) {
		CHECK_STR(gh->base_url, "https://harvest.greenhouse.io/v3");
		CHECK_CONTAINS(gh->scopes, "harvest:sources:list");
		CHECK_CONTAINS(gh->fix, "ats.user_id");
	}
	CHECK(ats_driver_of("lever") != NULL && ats_driver_of("lever")->auth_url == NULL);
	CHECK(ats_driver_of("ashby") != NULL && ats_driver_of("ashby")->base_url != NULL);
	CHECK(f != NULL && f->base_url == NULL && f->fix != NULL);
	CHECK(ats_driver_of("workday") == NULL);
	CHECK(ats_driver_of(NULL) == NULL);
}

static void
test_state_and_auth(const char *dir)
{
	struct config cfg;
	struct buf err = BUF_INIT;
	struct session a, b;
	struct keap_cfg kc;

	config_init(&cfg);
	CHECK(config_set_cli(&cfg, OPT_STATE_DIR, dir, &err) == RC_OK);
	CHECK(config_set_cli(&cfg, OPT_KEAP_AUTH, "pat", &err) == RC_OK);
	session_init(&a, &cfg, 0);
	CHECK_STR(a.state_dir, dir);
	CHECK(session_open(&a, SESSION_STATE | SESSION_LOCAL) == RC_OK);
	CHECK(a.st != NULL && a.http == NULL && a.keap == NULL);
	/* a second session on the same state: the lock, named in the value */
	session_init(&b, &cfg, 0);
	CHECK(session_open(&b, SESSION_STATE) == RC_LOCKED);
	CHECK(b.st == NULL);
	CHECK_CONTAINS(b.err.msg, "holds the lock");
	CHECK(session_close(&b) == RC_OK);
	/* keap.auth is a key but none is set: refused before anything is built */
	CHECK(session_auth(&a) == RC_CONFIG);
	CHECK(a.auth == NULL);
	CHECK_CONTAINS(a.err.msg, "keap.api_key is not set");
	CHECK_STR(a.err.hint, "set keap.api_key");
	CHECK(session_close(&a) == RC_OK);
	CHECK(a.st == NULL);
	/* reopened once closed: the lock went with the close */
	session_init(&b, &cfg, 0);
	CHECK(session_open(&b, SESSION_STATE) == RC_OK);
	CHECK(session_close(&b) == RC_OK);
	/* the settings: keys pace at 4/s unless keap.max_rps says otherwise */
	CHECK(session_keap_rps(&cfg) == 4);
	CHECK(config_set_cli(&cfg, OPT_KEAP_MAX_RPS, "7", &err) == RC_OK);
	CHECK(session_keap_rps(&cfg) == 7);
	session_keap_cfg(&cfg, &kc);
	CHECK(kc.base_url != NULL && kc.page_size > 0 && kc.allow_delete == 0);
	buf_free(&err);
	config_free(&cfg);
}

int
main(void)
{
	char dir[] = "/tmp/atsrecon-test-session.XXXXXX";
	char *rm;

	log_init(LOG_OFF, LOG_FMT_TEXT);
	test_apierr();
	test_drivers();
	if (mkdtemp(dir) == NULL) {
		CHECK(0);
		return t_done("test_session");
	}
	test_state_and_auth(dir);
	rm = xasprintf("rm -rf '%s'", dir);
	if (system(rm) != 0)
		CHECK(0);
	free(rm);
	return t_done("test_session");
}
