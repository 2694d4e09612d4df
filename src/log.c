/* log.c — see log.h. */
#define _POSIX_C_SOURCE 200809L
#include "log.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Rotating tokens (access and refresh tokens) kept beside the configured
 * secrets: the newest TOKEN_RING of them. Configured secrets are never dropped
 * (a warm Lambda registers the same ones each invocation: no growth). */
#define TOKEN_RING 64

static struct {
	enum log_level level;
	enum log_format format;
	int fd;
	char **secrets;		/* configured secrets, for the process lifetime */
	size_t nsecrets, capsecrets;
	char *tokens[TOKEN_RING];	/* rotating tokens, the least recently registered */
	uint64_t token_used[TOKEN_RING];	/* replaced first when all are taken */
	uint64_t clock;
	char *request_id;
} L = { LOG_INFO, LOG_FMT_AUTO, 2, NULL, 0, 0, { NULL }, { 0 }, 0, NULL };

static void (*before_line)(void);
static pthread_t before_line_owner;

/* s3.c's lease heartbeat thread logs too: the secret list and the line
 * output are shared, so both are behind this lock (never held while
 * calling out, except the before_line hook of the thread that set it). */
static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;

void
log_set_before_line(void (*fn)(void))
{
	pthread_mutex_lock(&log_mu);
	before_line = fn;
	before_line_owner = pthread_self();
	pthread_mutex_unlock(&log_mu);
}

static const char *const level_names[] = { "debug", "info", "warn", "error", "off" };
static const char *const level_upper[] = { "DEBUG", "INFO", "WARN", "ERROR", "OFF" };

void
log_init(enum log_level level, enum log_format format)
{
	L.level = level;
	L.format = format;
}

void
log_set_fd(int fd)
{
	L.fd = fd;
}

void
log_set_request_id(const char *id)
{
	free(L.request_id);
	L.request_id = id != NULL ? xstrdup(id) : NULL;
}

enum log_level
log_get_level(void)
{
	return L.level;
}

int
log_enabled(enum log_level level)
{
	return level >= L.level && level != LOG_OFF;
}

int
log_parse_level(const char *s, enum log_level *out)
{
	size_t i;

	for (i = 0; i < ARRAY_LEN(level_names); i++)
		if (strcmp(s, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	if (strcmp(s, "warning") == 0) {
		*out = LOG_WARN;
		return 0;
	}
	return -1;
}

int
log_parse_format(const char *s, enum log_format *out)
{
	if (strcmp(s, "auto") == 0)
		*out = LOG_FMT_AUTO;
	else if (strcmp(s, "text") == 0)
		*out = LOG_FMT_TEXT;
	else if (strcmp(s, "json") == 0)
		*out = LOG_FMT_JSON;
	else
		return -1;
	return 0;
}

/* 1 when value is a configured secret already (the caller holds log_mu). */
static int
known_secret(const char *value)
{
	size_t i;

	for (i = 0; i < L.nsecrets; i++)
		if (strcmp(L.secrets[i], value) == 0)
			return 1;
	return 0;
}

void
log_add_secret(const char *value)
{
	if (value == NULL || strlen(value) < 4)
		return;
	pthread_mutex_lock(&log_mu);
	if (known_secret(value)) {
		pthread_mutex_unlock(&log_mu);
		return;
	}
	if (L.nsecrets == L.capsecrets) {
		L.capsecrets = L.capsecrets ? 2 * L.capsecrets : 16;
		L.secrets = xrealloc(L.secrets, L.capsecrets * sizeof(L.secrets[0]));
	}
	L.secrets[L.nsecrets++] = xstrdup(value);
	pthread_mutex_unlock(&log_mu);
}

void
log_add_token(const char *value)
{
	size_t i, slot = 0;

	if (value == NULL || strlen(value) < 4)
		return;
	pthread_mutex_lock(&log_mu);
	if (known_secret(value)) {
		pthread_mutex_unlock(&log_mu);
		return;
	}
	L.clock++;
	for (i = 0; i < TOKEN_RING; i++) {
		if (L.tokens[i] != NULL && strcmp(L.tokens[i], value) == 0) {
			L.token_used[i] = L.clock;	/* registered again: still in use */
			pthread_mutex_unlock(&log_mu);
			return;
		}
		if (L.tokens[slot] != NULL && (L.tokens[i] == NULL || L.token_used[i] < L.token_used[slot]))
			slot = i;
	}
	free(L.tokens[slot]);	/* an empty slot, or the token registered longest ago */
	L.tokens[slot] = xstrdup(value);
	L.token_used[slot] = L.clock;
	pthread_mutex_unlock(&log_mu);
}

void
log_clear_secrets(void)
{
	size_t i;

	pthread_mutex_lock(&log_mu);
	for (i = 0; i < L.nsecrets; i++)
		free(L.secrets[i]);
	free(L.secrets);
	L.secrets = NULL;
	L.nsecrets = L.capsecrets = 0;
	for (i = 0; i < TOKEN_RING; i++) {
		free(L.tokens[i]);
		L.tokens[i] = NULL;
		L.token_used[i] = 0;
	}
	pthread_mutex_unlock(&log_mu);
}

void
text_escape(struct buf *out, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	while (i < n) {
		size_t k;

		switch (p[i]) {
		case '\n': buf_adds(out, "\\n"); i++; continue;
		case '\r': buf_adds(out, "\\r"); i++; continue;
		case '\t': buf_adds(out, "\\t"); i++; continue;
		case '\\': buf_adds(out, "\\\\"); i++; continue;
		default: break;
		}
		if (p[i] < 0x20 || p[i] == 0x7f) {
			buf_addf(out, "\\x%02x", p[i]);
			i++;
			continue;
		}
		k = utf8_seq(p + i, n - i);
		if (k == 0) {
			buf_addf(out, "\\x%02x", p[i]);
			i++;
			continue;
		}
		buf_add(out, p + i, k);
		i += k;
	}
}

void
json_escape(struct buf *out, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	buf_addc(out, '"');
	while (i < n) {
		size_t k;

		switch (p[i]) {
		case '"': buf_adds(out, "\\\""); i++; continue;
		case '\\': buf_adds(out, "\\\\"); i++; continue;
		case '\n': buf_adds(out, "\\n"); i++; continue;
		case '\r': buf_adds(out, "\\r"); i++; continue;
		case '\t': buf_adds(out, "\\t"); i++; continue;
		default: break;
		}
		if (p[i] < 0x20 || p[i] == 0x7f) {
			buf_addf(out, "\\u%04x", p[i]);
			i++;
			continue;
		}
		k = utf8_seq(p + i, n - i);
		if (k == 0) {
			buf_adds(out, "\\ufffd");
			i++;
			continue;
		}
		/* U+2028/2029 break JavaScript string literals: escape them too. */
		if (k == 3 && p[i] == 0xe2 && p[i + 1] == 0x80 && (p[i + 2] == 0xa8 || p[i + 2] == 0xa9)) {
			buf_addf(out, "\\u%04x", p[i + 2] == 0xa8 ? 0x2028 : 0x2029);
			i += 3;
			continue;
		}
		buf_add(out, p + i, k);
		i += k;
	}
	buf_addc(out, '"');
}

void
redact_secrets(struct buf *b)
{
	size_t i;

	if (b->p == NULL)
		return;
	pthread_mutex_lock(&log_mu);
	for (i = 0; i < L.nsecrets + TOKEN_RING; i++) {
		const char *sec = i < L.nsecrets ? L.secrets[i] : L.tokens[i - L.nsecrets];
		struct buf out = BUF_INIT;
		const char *p = b->p, *hit;
		size_t slen;
		int found = 0;

		if (sec == NULL)
			continue;
		slen = strlen(sec);
		while ((hit = strstr(p, sec)) != NULL) {
			buf_add(&out, p, (size_t)(hit - p));
			buf_adds(&out, "[REDACTED]");
			p = hit + slen;
			found = 1;
		}
		if (!found)
			continue;
		buf_adds(&out, p);
		buf_free(b);
		*b = out;
	}
	pthread_mutex_unlock(&log_mu);
}

static void
write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;		/* nowhere left to report it */
		p += w;
		n -= (size_t)w;
	}
}

void
log_msg(enum log_level level, const char *subsys, const char *fmt, ...)
{
	struct buf raw = BUF_INIT, safe = BUF_INIT, line = BUF_INIT;
	char ts[32];
	enum log_format fmtk = L.format;
	va_list ap;

	if (!log_enabled(level))
		return;
	va_start(ap, fmt);
	buf_vaddf(&raw, fmt, ap);
	va_end(ap);
	redact_secrets(&raw);
	if (fmtk == LOG_FMT_AUTO)
		fmtk = isatty(L.fd) ? LOG_FMT_TEXT : LOG_FMT_JSON;
	fmt_rfc3339_ms(now_ms(), ts, sizeof(ts));
	if (fmtk == LOG_FMT_JSON || fmtk == LOG_FMT_LAMBDA) {
		buf_addf(&line, "{\"timestamp\":\"%s\",\"level\":\"%s\",\"subsystem\":", ts,
		    fmtk == LOG_FMT_LAMBDA ? level_upper[level] : level_names[level]);
		json_escape(&line, subsys, strlen(subsys));
		buf_adds(&line, fmtk == LOG_FMT_LAMBDA ? ",\"message\":" : ",\"msg\":");
		json_escape(&line, raw.p ? raw.p : "", raw.len);
		if (L.request_id != NULL) {
			buf_adds(&line, ",\"requestId\":");
			json_escape(&line, L.request_id, strlen(L.request_id));
		}
		buf_adds(&line, "}\n");
	} else {
		text_escape(&safe, raw.p ? raw.p : "", raw.len);
		buf_addf(&line, "%s %-5s %s: %s\n", ts + 11, level_names[level], subsys,
		    safe.p ? safe.p : "");
	}
	pthread_mutex_lock(&log_mu);
	/* e.g. erase the progress display first (the display is the main
	 * thread's: another thread's line only goes after it) */
	if (before_line != NULL && pthread_equal(before_line_owner, pthread_self()))
		before_line();
	write_all(L.fd, line.p, line.len);
	pthread_mutex_unlock(&log_mu);
	buf_free(&raw);
	buf_free(&safe);
	buf_free(&line);
}
