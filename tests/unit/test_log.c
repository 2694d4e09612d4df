/* Unit tests: log.c (escaping, redaction, JSON lines). */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "jtree.h"
#include "log.h"
#include "t.h"

/* Runs one log call with output captured into a temporary file. */
static char *
capture(enum log_format fmt, const char *msg)
{
	FILE *f = tmpfile();
	struct buf out = BUF_INIT;
	char chunk[4096];
	size_t n;

	log_init(LOG_DEBUG, fmt);
	log_set_fd(fileno(f));
	log_info("test", "%s", msg);
	log_set_fd(2);
	rewind(f);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_add(&out, chunk, n);
	fclose(f);
	return buf_take(&out);
}

static void
test_escape(void)
{
	struct buf b = BUF_INIT;

	text_escape(&b, "a\nb\r\tc\\d\x01\x7f", 10);
	CHECK_STR(b.p, "a\\nb\\r\\tc\\\\d\\x01\\x7f");
	buf_reset(&b);
	text_escape(&b, "J\xc3\xbcrgen\xff", 8);
	CHECK_STR(b.p, "J\xc3\xbcrgen\\xff");
	buf_reset(&b);
	json_escape(&b, "q\"\\\n\x02\xe2\x80\xa8\xc3", 9);
	CHECK_STR(b.p, "\"q\\\"\\\\\\n\\u0002\\u2028\\ufffd\"");
	buf_free(&b);
}

static void
test_json_lines(void)
{
	char *line = capture(LOG_FMT_JSON, "remote said \"hi\"\nFAKE {\"level\":\"error\"}");
	struct buf err = BUF_INIT;
	cJSON *j;
	size_t nl = 0;
	const char *p;

	for (p = line; *p; p++)
		nl += *p == '\n';
	CHECK(nl == 1);		/* one line, whatever the message held */
	j = json_parse(line, strlen(line), &err);
	CHECK(j != NULL);
	CHECK_STR(json_str(j, "level"), "info");
	CHECK_STR(json_str(j, "subsystem"), "test");
	CHECK_STR(json_str(j, "msg"), "remote said \"hi\"\nFAKE {\"level\":\"error\"}");
	CHECK(json_str(j, "timestamp") != NULL && strlen(json_str(j, "timestamp")) == 24 &&
	    json_str(j, "timestamp")[23] == 'Z');
	cJSON_Delete(j);
	free(line);
	buf_free(&err);

	line = capture(LOG_FMT_TEXT, "x\ny");
	CHECK_CONTAINS(line, "info  test: x\\ny\n");
	free(line);
}

static void
test_redaction(void)
{
	char *line;
	struct buf b = BUF_INIT;

	log_add_secret("s3cr3t-token-value");
	log_add_secret("abc");	/* too short: ignored, or every "abc" would vanish */
	line = capture(LOG_FMT_JSON, "token=s3cr3t-token-value and again s3cr3t-token-value abc");
	CHECK(strstr(line, "s3cr3t") == NULL);
	CHECK_CONTAINS(line, "token=[REDACTED] and again [REDACTED] abc");
	free(line);
	buf_adds(&b, "Bearer s3cr3t-token-value");
	redact_secrets(&b);
	CHECK_STR(b.p, "Bearer [REDACTED]");
	log_clear_secrets();
	line = capture(LOG_FMT_TEXT, "s3cr3t-token-value");
	CHECK_CONTAINS(line, "s3cr3t-token-value");	/* cleared: shown again */
	free(line);
	buf_free(&b);
}

/* Issue 16 defect 9: every configured secret stays redacted for the process
 * lifetime, however many rotating tokens (or other secrets) come after it. */
static void
test_defect9_redaction_keeps_configured(void)
{
	char tok[64], *line;
	int i;

	log_clear_secrets();
	log_add_secret("configured-client-secret-0001");
	for (i = 0; i < 100; i++) {
		snprintf(tok, sizeof(tok), "rotating-access-token-%03d", i);
		log_add_token(tok);
	}
	line = capture(LOG_FMT_TEXT, "secret configured-client-secret-0001 token "
	    "rotating-access-token-099");
	CHECK(strstr(line, "configured-client-secret") == NULL);	/* defect9_redaction_keeps_configured */
	CHECK(strstr(line, "rotating-access-token-099") == NULL);	/* the newest token too */
	free(line);
	/* a warm Lambda re-registers the same configuration each invocation and
	 * many distinct secrets may be configured: none is ever dropped */
	for (i = 0; i < 100; i++) {
		snprintf(tok, sizeof(tok), "configured-webhook-secret-%03d", i);
		log_add_secret(tok);
		log_add_secret("configured-client-secret-0001");
	}
	line = capture(LOG_FMT_TEXT, "configured-webhook-secret-000 configured-client-secret-0001");
	CHECK(strstr(line, "configured-") == NULL);	/* defect9_redaction_keeps_configured */
	free(line);
	log_clear_secrets();
}

static void
test_levels(void)
{
	enum log_level l;
	enum log_format f;
	char *line;

	CHECK(log_parse_level("warn", &l) == 0 && l == LOG_WARN);
	CHECK(log_parse_level("loud", &l) != 0);
	CHECK(log_parse_format("json", &f) == 0 && f == LOG_FMT_JSON);
	CHECK(log_parse_format("xml", &f) != 0);
	log_init(LOG_WARN, LOG_FMT_TEXT);
	CHECK(!log_enabled(LOG_INFO) && log_enabled(LOG_ERROR));
	line = capture(LOG_FMT_TEXT, "shown");	/* capture() sets debug */
	CHECK_CONTAINS(line, "shown");
	free(line);
}

int
main(void)
{
	json_init();
	test_escape();
	test_json_lines();
	test_redaction();
	test_defect9_redaction_keeps_configured();
	test_levels();
	return t_done("test_log");
}
