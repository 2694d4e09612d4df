/*
 * auth.h — credentials for Keap: OAuth2 with single-use, rotating refresh
 * tokens, or a personal access token / service account key.
 *
 * OAuth rules (research/keap-api.md §6.1, §9): the access token lives 24 h, the
 * refresh token 45 days, and every refresh returns a NEW refresh token and
 * kills the old one. So:
 *   - refresh when less than 1 h of the access token is left (half its lifetime
 *     if Keap ever issues tokens shorter than 2 h), when the refresh
 *     token is older than 30 days, or once after a 401;
 *   - the new pair is committed to the state (DB "tokens") BEFORE the new access
 *     token is used: a run killed right after the refresh leaves a state whose
 *     refresh token is the live one;
 *   - refresh happens only while this process holds the state lock, so two runs
 *     can never race on one refresh token;
 *   - invalid_grant means a person must authorise again: RC_AUTH, with the
 *     command to run;
 *   - a refresh whose answer is lost (a reset, a timeout, a body cut short or
 *     malformed, a 500/502/504) is asked again with the SAME refresh token,
 *     one attempt at a time, AUTH_REFRESH_LOST_RETRIES times at most: when
 *     Keap never processed it the retry works; when Keap rotated the token
 *     and only the answer was lost, the retry is answered invalid_grant, which ends
 *     the run (RC_AUTH) saying the answer was lost and the token may have
 *     been rotated.
 * Tokens are registered with the logger as secrets and never leave this module
 * except in the Authorization header.
 */
#ifndef ATSRECON_AUTH_H
#define ATSRECON_AUTH_H

#include <stdint.h>

#include "apierr.h"
#include "http.h"
#include "state.h"
#include "util.h"

enum auth_mode { AUTH_OAUTH, AUTH_API_KEY };

struct auth_cfg {
	enum auth_mode mode;
	const char *token_url;		/* OAuth: https://api.infusionsoft.com/token */
	const char *client_id;
	const char *client_secret;
	const char *api_key;		/* AUTH_API_KEY */
	long max_retries;
	long backoff_base_ms;		/* a refresh whose answer was lost: the first
					 * wait before asking again (0: 500 ms) */
};

struct auth;

/* The state must be open read-write (it holds the lock) for OAuth. The
 * strings of cfg are copied. */
enum rc auth_new(const struct auth_cfg *, struct http *, struct state *, struct auth **out);
void auth_free(struct auth *);
/* RC_CONFIG (logged, and recorded in e when not NULL) when cfg lacks what its
 * mode needs; auth_new makes the same check. */
enum rc auth_check_cfg(const struct auth_cfg *, struct api_err *);
/* Why the last failing call of a failed (status, message, hint; apierr.h). */
const struct api_err *auth_error(const struct auth *);

/*
 * Credentials for the next request: *bearer for OAuth, or *header
 * ("X-Keap-API-Key: ...") for keys; the other is NULL. Refreshes first when
 * due. Valid until the next auth_* call.
 */
enum rc auth_credentials(struct auth *, int64_t deadline_ms, const char **bearer, const char **header);
/* After a 401: refresh (OAuth). RC_AUTH when the token to replace was itself
 * fresh from such a refresh and never worked, or the refresh was refused: a
 * person must act; RC_REMOTE when no answer to the refresh arrived whole. */
enum rc auth_after_401(struct auth *, int64_t deadline_ms);
/* A request with the current credentials got an answer other than 401. */
void auth_token_worked(struct auth *);

/* Bootstraps: exchange an authorization code, or store a refresh token. */
enum rc auth_exchange_code(struct auth *, const char *code, const char *redirect_uri,
    int64_t deadline_ms);
enum rc auth_store_refresh_token(struct auth *, const char *refresh_token);

struct auth_status {
	int have_tokens;
	int64_t access_expires_at;	/* epoch s */
	int64_t refresh_issued_at;	/* epoch s */
	int refreshes;			/* refreshes done by this process */
};
void auth_get_status(const struct auth *, struct auth_status *);

/* Called after a rotated pair was committed to the state and before the new
 * access token is used (the S3 state uploads it there: a run that dies next
 * must not leave the only live refresh token on a disk that is thrown away).
 * A non-OK return stops the refresh from being used. */
void auth_set_rotation_hook(enum rc (*fn)(void *), void *arg);

/* Attempts after the first for a refresh whose answer was lost. */
#define AUTH_REFRESH_LOST_RETRIES 3

/* Refresh thresholds (seconds). */
#define AUTH_REFRESH_BEFORE_EXPIRY 3600
#define AUTH_REFRESH_TOKEN_MAX_AGE (30 * 86400)

#endif
