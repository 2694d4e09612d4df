/*
 * log.h — the one choke point for diagnostics.
 *
 * Every line goes to stderr: human text when stderr is a terminal, JSON lines
 * otherwise ({"timestamp","level","subsystem","msg"}, RFC 3339 UTC), or as
 * configured. The message is formatted first, then made safe: control
 * characters and invalid UTF-8 are escaped (remote text can never forge a log
 * line), and every value registered with log_add_secret() is replaced by
 * "[REDACTED]". That redaction is the last line of defence: callers never pass
 * secrets to begin with.
 */
#ifndef ATSRECON_LOG_H
#define ATSRECON_LOG_H

#include <stddef.h>

#include "util.h"

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR, LOG_OFF };
/* LOG_FMT_LAMBDA: JSON lines in the field names of Lambda's JSON log format
 * ({"timestamp","level":"INFO","message","subsystem","requestId"}), whose
 * upper-case level Lambda's log-level filtering reads (lambda.c). */
enum log_format { LOG_FMT_AUTO, LOG_FMT_TEXT, LOG_FMT_JSON, LOG_FMT_LAMBDA };

void log_init(enum log_level, enum log_format);
void log_set_fd(int fd);		/* default: 2 */
/* Called before each log line is written (the progress display erases itself). */
void log_set_before_line(void (*fn)(void));
/* The invocation's request id, added to JSON lines as "requestId" (NULL: none). */
void log_set_request_id(const char *id);
enum log_level log_get_level(void);
int log_enabled(enum log_level);
int log_parse_level(const char *, enum log_level *);
int log_parse_format(const char *, enum log_format *);

/* Registers a value that must never be printed (copied; values shorter than
 * 4 bytes are ignored, they would redact ordinary words). Configured secrets
 * are kept for the process lifetime, however many are registered. */
void log_add_secret(const char *value);
/* Registers a short-lived secret (an access or refresh token that rotates):
 * kept in a bounded ring beside the configured secrets, newest first. */
void log_add_token(const char *value);
void log_clear_secrets(void);

void log_msg(enum log_level, const char *subsys, const char *fmt, ...) PRINTF_LIKE(3, 4);
#define log_debug(sub, ...) \
	do { if (log_enabled(LOG_DEBUG)) log_msg(LOG_DEBUG, sub, __VA_ARGS__); } while (0)
#define log_info(sub, ...) log_msg(LOG_INFO, sub, __VA_ARGS__)
#define log_warn(sub, ...) log_msg(LOG_WARN, sub, __VA_ARGS__)
#define log_error(sub, ...) log_msg(LOG_ERROR, sub, __VA_ARGS__)

/*
 * Appends s (n bytes) to out with every control character, backslash, DEL and
 * invalid UTF-8 byte escaped (\n \t \\ \xNN); valid UTF-8 passes through.
 * Used for remote text anywhere it is shown to a person.
 */
void text_escape(struct buf *out, const char *s, size_t n);
/* Appends s as a JSON string literal (with quotes); invalid UTF-8 → \ufffd. */
void json_escape(struct buf *out, const char *s, size_t n);
/* Replaces every registered secret in b with "[REDACTED]". */
void redact_secrets(struct buf *b);

#endif
