/*
 * apierr.h — why a call to a remote API failed, as a value: the HTTP status,
 * the vendor's code and message (escaped), and what the person running
 * atsrecon can do about it. Filled by the clients (keap.c, the ATS drivers)
 * on their failing calls, read by whoever must explain the failure (doctor,
 * init, the run's report) instead of re-reading the log. A neutral header:
 * no client's types.
 */
#ifndef ATSRECON_APIERR_H
#define ATSRECON_APIERR_H

#include "util.h"

struct api_err {
	long status;		/* HTTP status; 0: transport failure or no answer */
	char code[64];		/* the vendor's error code, escaped ("" none) */
	char msg[256];		/* the vendor's (or our) message, escaped ("" none) */
	char hint[256];		/* what to do about it ("" none) */
};

/* Clears e. */
void api_err_clear(struct api_err *);
/* Sets e's status and message (fmt), keeps its code; the hint is left as is. */
void api_err_set(struct api_err *, long status, const char *fmt, ...) PRINTF_LIKE(3, 4);
/* Sets the hint (NULL: none). */
void api_err_hint(struct api_err *, const char *hint);
/*
 * Logs an error line for subsystem (as log_error would) and records it in e
 * (when not NULL): status, the message, and hint (NULL: none). The way a
 * client reports a failing call once, to both the log and its caller.
 */
void api_fail(struct api_err *, const char *subsystem, long status, const char *hint,
    const char *fmt, ...) PRINTF_LIKE(5, 6);
/* "HTTP 403 code: message" (the parts present), appended to out. */
void api_err_text(const struct api_err *, struct buf *out);

#endif
