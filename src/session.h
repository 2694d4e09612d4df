/*
 * session.h — the wiring every command that talks to the APIs shares (run,
 * doctor, init, auth, the S3 state): the HTTP client, the state (local, or
 * the S3 lease and its local copy), Keap's auth, pacer and client, and the
 * ATS driver, each built once from the configuration and closed in the one
 * right order. DESIGN.md §2's session module (engine v2).
 *
 * session_open builds the parts asked for, in order; the step functions are
 * the same steps one at a time, for doctor, which reports each as a check.
 * A failing step leaves s->err (status, message, hint: apierr.h) saying why,
 * as the client that failed filled it, and the rc says what kind of failure.
 */
#ifndef ATSRECON_SESSION_H
#define ATSRECON_SESSION_H

#include <stdint.h>

#include "apierr.h"
#include "auth.h"
#include "config.h"
#include "http.h"
#include "keap.h"

struct session {
	const struct config *cfg;
	int64_t deadline_ms;	/* mono_ms() deadline for Keap and the ATS (0: none) */
	int keap_concurrency;	/* 0: keap.concurrency; doctor reads with 1 */
	struct http *http;
	const char *state_dir;	/* state.dir, or the S3 copy (after session_lease) */
	struct s3state *s3;	/* state.url: the lease, while held */
	char *s3dir;
	struct state *st;
	struct auth *auth;
	struct pace *kpace;
	struct keap *keap;
	struct ats *ats;
	int discard;		/* session_close does not put the S3 state back (it failed) */
	struct api_err err;	/* why the last failing step failed */
};

#define SESSION_STATE 0x1u	/* the state, read-write: with state.url the lease and copy */
#define SESSION_KEAP 0x2u	/* auth, the Keap pacer and client (uses the state) */
#define SESSION_ATS 0x4u	/* the ATS driver, opened (authenticated) */
#define SESSION_LOCAL 0x8u	/* with SESSION_STATE: s->state_dir as the caller set it (no lease) */

/* The HTTP client's settings from http.*: CA file, connect and total
 * timeouts, body cap. A caller with its own budget changes fields after. */
void session_http_cfg(const struct config *, struct http_cfg *out);
/* Keap's auth settings from keap.* (the strings are borrowed from cfg). */
void session_auth_cfg(const struct config *, struct auth_cfg *out);
/* Keap's client settings from keap.* and http.*. */
void session_keap_cfg(const struct config *, struct keap_cfg *out);
/* Keap's request rate: keap.max_rps, else 10 (OAuth) or 4 (keys). */
double session_keap_rps(const struct config *);

/* Zeroes s for cfg (s->state_dir = state.dir); nothing is built yet. */
void session_init(struct session *, const struct config *, int64_t deadline_ms);
/* After session_init: builds the parts (SESSION_*) in order: HTTP, state
 * (the lease first, unless SESSION_LOCAL), Keap, ATS. On failure what was
 * built stays for session_close. */
enum rc session_open(struct session *, unsigned parts);

/* The steps, one at a time (each needs the ones before it): */
enum rc session_http(struct session *);
/* With state.url: takes the S3 lease and downloads the copy (RC_LOCKED while
 * another run holds it); rotated Keap refresh tokens go to S3 before use.
 * Sets s->state_dir (state.dir without state.url). */
enum rc session_lease(struct session *);
enum rc session_state(struct session *);	/* opens s->state_dir read-write */
enum rc session_auth(struct session *);		/* auth from keap.* over s->st */
enum rc session_keap(struct session *);		/* the pacer and the client */
enum rc session_ats(struct session *);		/* ats.kind's driver, opened */

/* Frees everything (auth before the state, the state before the upload);
 * with state.url, puts the state back in S3 (unless s->discard) and releases
 * the lease. Returns
 * the upload's rc (RC_OK when nothing was to be put back), s->err saying why
 * it failed. */
enum rc session_close(struct session *);

#endif
