/*
 * session.h — wiring shared by every command that talks to the APIs (run,
 * doctor, init, auth, the S3 state): settings built once from the
 * configuration, not restated by each caller. The first piece of the session
 * module of DESIGN.md §2 (engine v2).
 */
#ifndef ATSRECON_SESSION_H
#define ATSRECON_SESSION_H

#include "config.h"
#include "http.h"

/* The HTTP client's settings from http.*: CA file, connect and total
 * timeouts, body cap. A caller with its own budget changes fields after. */
void session_http_cfg(const struct config *, struct http_cfg *out);

#endif
