/*
 * login.h — putting the first Keap OAuth tokens into the state
 * (`atsrecon auth keap`, and `atsrecon init` when the state has none).
 *
 * Three ways, none of which puts a secret on the command line:
 *   --login                the authorize URL is printed (client_id, redirect_uri,
 *                          response_type=code, scope=full — Keap's only scope —
 *                          and a random state); the person approves in any
 *                          browser and pastes the redirected URL (or the bare
 *                          code) on stdin. A pasted URL whose state differs is
 *                          refused. When the redirect URI is a loopback
 *                          http://127.0.0.1:PORT/... or http://localhost:PORT/...
 *                          URL, the redirect is also accepted on that port (once;
 *                          bounded by --login-timeout), whichever comes first.
 *   --code-file FILE       the code from a file (- for stdin)
 *   --refresh-token-file FILE  a refresh token from a file (- for stdin)
 * The argv forms (--code CODE, --refresh-token TOKEN) still work but warn: argv
 * is visible in ps, /proc/PID/cmdline and shell history.
 */
#ifndef ATSRECON_LOGIN_H
#define ATSRECON_LOGIN_H

#include <stdint.h>

#include "config.h"
#include "util.h"

/* Reads a one-line secret from path ("-": stdin): trailing newline and
 * whitespace stripped; must be non-empty, at most 64 KiB, no NUL. */
int login_read_secret(const char *path, char **out, struct buf *err);

/* The authorize URL into out. */
void login_authorize_url(struct buf *out, const char *authorize_url, const char *client_id,
    const char *redirect_uri, const char *state);

/*
 * What the person pasted: a redirected URL (or its query string) or a bare
 * code. *code is set (malloc'd) on 0. -1 with a message in err when the
 * state is not the expected one, Keap sent an error (access_denied), or no
 * code can be found.
 */
int login_parse_pasted(const char *text, const char *state, char **code, struct buf *err);

/* Host, port and path of a loopback http:// redirect URI; 0 when it is one. */
int login_loopback(const char *redirect_uri, char *host, size_t hostsize, int *port, char *path,
    size_t pathsize);

enum auth_how { AUTH_BY_LOGIN, AUTH_BY_CODE, AUTH_BY_REFRESH };

/* Opens the state (local, or the S3 state under its lease), stores the pair
 * and puts the state back. secret: the code or the refresh token (ignored for
 * AUTH_BY_LOGIN). */
enum rc login_keap(const struct config *, enum auth_how, const char *secret);

#endif
