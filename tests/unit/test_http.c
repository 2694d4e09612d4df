/*
 * Unit tests: http.c against the echo fake (tests/fakes/echo.py), which
 * tests/run.sh starts: ATSRECON_TEST_ECHO is its base URL (TLS 1.3 allowed),
 * ATSRECON_TEST_ECHO12 one limited to TLS 1.2, ATSRECON_TEST_CA its CA file.
 * Without them every check fails: this test must not pass by not running.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>

#include "http.h"
#include "jtree.h"
#include "log.h"
#include "t.h"

static const char *base, *base12, *ca;

static enum rc
get(struct http *h, const char *path, struct http_resp *r)
{
	char url[512];
	struct http_req req;

	snprintf(url, sizeof(url), "%s%s", base, path);
	memset(&req, 0, sizeof(req));
	req.method = "GET";
	req.url = url;
	return http_do(h, &req, r);
}

/* Replaces the fake's fault rules (JSON list). */
static void
faults(struct http *h, const char *rules)
{
	char url[512];
	struct http_req req;
	struct http_resp r;

	snprintf(url, sizeof(url), "%s/_admin/faults", base);
	memset(&req, 0, sizeof(req));
	req.method = "POST";
	req.url = url;
	req.body = rules;
	req.body_len = strlen(rules);
	CHECK(http_do(h, &req, &r) == RC_OK && r.status == 200);
	http_resp_free(&r);
}

static void
test_keepalive_and_tls(struct http *h)
{
	struct http_resp r;
	struct buf err = BUF_INIT;
	cJSON *j;
	int i;

	CHECK(get(h, "/tls", &r) == RC_OK);
	CHECK(r.status == 200);
	CHECK_STR(r.tls_version, "TLSv1.3");
	j = json_parse(r.body.p, r.body.len, &err);
	CHECK_STR(json_str(j, "tls"), "TLSv1.3");	/* the server agrees */
	cJSON_Delete(j);
	http_resp_free(&r);
	for (i = 0; i < 3; i++) {
		CHECK(get(h, "/echo", &r) == RC_OK && r.status == 200);
		CHECK(r.new_connection == 0);	/* kept alive */
		http_resp_free(&r);
	}
	buf_free(&err);
}

static void
test_tls12(void)
{
	struct http_cfg cfg = { 0 };
	struct http *h = NULL;
	struct http_req req;
	struct http_resp r;
	char url[512];

	cfg.ca_file = ca;
	CHECK(http_new(&cfg, &h) == RC_OK);
	snprintf(url, sizeof(url), "%s/tls", base12);
	memset(&req, 0, sizeof(req));
	req.method = "GET";
	req.url = url;
	CHECK(http_do(h, &req, &r) == RC_OK && r.status == 200);
	CHECK_STR(r.tls_version, "TLSv1.2");
	http_resp_free(&r);
	http_free(h);
}

static void
test_gzip_and_cap(struct http *h)
{
	struct http_resp r;
	struct http_cfg cfg = { 0 };
	struct http *small = NULL;
	struct buf err = BUF_INIT;
	cJSON *j;
	const cJSON *hdrs;

	CHECK(get(h, "/echo", &r) == RC_OK);
	j = json_parse(r.body.p, r.body.len, &err);
	hdrs = json_get(j, "headers");
	CHECK(json_str(hdrs, "Accept-Encoding") != NULL || json_str(hdrs, "accept-encoding") != NULL);
	cJSON_Delete(j);
	http_resp_free(&r);

	CHECK(get(h, "/big?n=200000", &r) == RC_OK && r.status == 200);
	CHECK(r.body.len == 200000);		/* decoded */
	CHECK_STR(http_header(&r, "content-encoding"), "gzip");
	http_resp_free(&r);

	cfg.ca_file = ca;
	cfg.max_body = 4096;
	CHECK(http_new(&cfg, &small) == RC_OK);
	CHECK(get(small, "/big?n=4096", &r) == RC_OK && r.body.len == 4096);
	http_resp_free(&r);
	/* a gzip body that decodes past the cap is refused too (the wire holds ~100 bytes) */
	CHECK(get(small, "/big?n=300000", &r) == RC_REMOTE);
	CHECK(r.fail == HTTP_ERR_TOOBIG);
	CHECK(r.body.len == 0);
	http_resp_free(&r);
	http_free(small);
	buf_free(&err);
}

static void
test_faults(struct http *h)
{
	struct http_resp r;
	struct http_cfg cfg = { 0 };
	struct http *quick = NULL;
	struct http_req req;
	char url[512];

	faults(h, "[{\"match\":{\"path\":\"^/echo$\"},\"kind\":\"status\",\"status\":429,"
	    "\"headers\":{\"Retry-After\":\"7\"},\"body\":{\"fault\":{\"faultstring\":\"Too Many\"}},"
	    "\"times\":1}]");
	CHECK(get(h, "/echo", &r) == RC_OK);
	CHECK(r.status == 429);
	CHECK_STR(http_header(&r, "retry-after"), "7");
	CHECK_STR(http_header(&r, "Retry-After"), "7");
	http_resp_free(&r);
	CHECK(get(h, "/echo", &r) == RC_OK && r.status == 200);	/* times: 1 */
	http_resp_free(&r);

	/* On a kept-alive connection curl retries once on a fresh one when the
	 * server closes without answering; every attempt here is reset. */
	faults(h, "[{\"match\":{\"path\":\"^/echo$\"},\"kind\":\"reset\",\"times\":5}]");
	CHECK(get(h, "/echo", &r) == RC_REMOTE);
	CHECK(r.fail == HTTP_ERR_RESET);
	CHECK(r.status == 0);
	http_resp_free(&r);
	faults(h, "[]");

	faults(h, "[{\"match\":{\"path\":\"^/big$\"},\"kind\":\"truncate\",\"keep\":100,\"times\":1}]");
	CHECK(get(h, "/big?n=5000", &r) == RC_REMOTE);
	CHECK(r.fail == HTTP_ERR_RESET);
	http_resp_free(&r);

	faults(h, "[{\"match\":{\"path\":\"^/echo$\"},\"kind\":\"malformed\",\"times\":1}]");
	CHECK(get(h, "/echo", &r) == RC_OK && r.status == 200);
	{
		struct buf err = BUF_INIT;
		cJSON *j = json_parse(r.body.p, r.body.len, &err);
		CHECK(j == NULL);
		CHECK(err.len > 0);
		buf_free(&err);
	}
	http_resp_free(&r);

	cfg.ca_file = ca;
	cfg.timeout_ms = 1000;
	CHECK(http_new(&cfg, &quick) == RC_OK);
	faults(h, "[{\"match\":{\"path\":\"^/echo$\"},\"kind\":\"delay\",\"ms\":3000,\"times\":1}]");
	CHECK(get(quick, "/echo", &r) == RC_REMOTE);
	CHECK(r.fail == HTTP_ERR_TIMEOUT);
	CHECK(r.elapsed_ms < 2500);
	http_resp_free(&r);
	/* a deadline shorter than the timeout wins */
	faults(h, "[{\"match\":{\"path\":\"^/echo$\"},\"kind\":\"delay\",\"ms\":3000,\"times\":1}]");
	snprintf(url, sizeof(url), "%s/echo", base);
	memset(&req, 0, sizeof(req));
	req.method = "GET";
	req.url = url;
	req.deadline_ms = mono_ms() + 300;
	CHECK(http_do(h, &req, &r) == RC_REMOTE && r.fail == HTTP_ERR_TIMEOUT && r.elapsed_ms < 1500);
	http_resp_free(&r);
	req.deadline_ms = mono_ms() - 1;
	CHECK(http_do(h, &req, &r) == RC_REMOTE && r.fail == HTTP_ERR_TIMEOUT);
	http_resp_free(&r);
	http_free(quick);
	faults(h, "[]");
}

static void
test_post_and_auth(struct http *h)
{
	struct http_req req;
	struct http_resp r;
	char url[512];
	const char *extra[] = { "X-Test: yes", NULL };

	snprintf(url, sizeof(url), "%s/echo", base);
	memset(&req, 0, sizeof(req));
	req.method = "POST";
	req.url = url;
	req.body = "{\"a\":[1,2]}";
	req.body_len = strlen(req.body);
	req.bearer = "tok-secret-123";
	req.headers = extra;
	CHECK(http_do(h, &req, &r) == RC_OK && r.status == 200);
	CHECK_STR(r.body.p, "{\"a\":[1,2]}");
	http_resp_free(&r);
	req.method = "PATCH";
	CHECK(http_do(h, &req, &r) == RC_OK && r.status == 405);	/* echo has no PATCH */
	http_resp_free(&r);
}

static void
test_refusals(void)
{
	struct http_cfg cfg = { 0 };
	struct http *h = NULL;
	struct http_req req;
	struct http_resp r;
	char url[512];

	/* no ca_file: the built-in bundle, which does not trust the test CA */
	unsetenv("SSL_CERT_FILE");
	CHECK(http_new(&cfg, &h) == RC_OK);
	snprintf(url, sizeof(url), "%s/echo", base);
	memset(&req, 0, sizeof(req));
	req.method = "GET";
	req.url = url;
	CHECK(http_do(h, &req, &r) == RC_REMOTE && r.fail == HTTP_ERR_TLS);
	http_resp_free(&r);
	/* $SSL_CERT_FILE is honoured */
	setenv("SSL_CERT_FILE", ca, 1);
	http_free(h);
	CHECK(http_new(&cfg, &h) == RC_OK);
	CHECK(http_do(h, &req, &r) == RC_OK && r.status == 200);
	http_resp_free(&r);
	unsetenv("SSL_CERT_FILE");
	/* a CA file that does not exist is a configuration error */
	http_free(h);
	cfg.ca_file = "/nonexistent/ca.pem";
	CHECK(http_new(&cfg, &h) == RC_OK);
	CHECK(http_do(h, &req, &r) == RC_CONFIG);
	http_resp_free(&r);
	/* plain HTTP only to loopback */
	req.url = "http://example.com/";
	CHECK(http_do(h, &req, &r) == RC_CONFIG && r.fail == HTTP_ERR_URL);
	http_resp_free(&r);
	/* nothing listening */
	req.url = "https://localhost:1/";
	CHECK(http_do(h, &req, &r) == RC_REMOTE && r.fail == HTTP_ERR_CONNECT);
	http_resp_free(&r);
	http_free(h);
}

struct count_pacer {
	int before, after;
	long deny_after;	/* before() returns -1 once this many calls were made */
};

static long
cp_before(void *arg)
{
	struct count_pacer *c = arg;

	c->before++;
	return c->deny_after > 0 && c->before > c->deny_after ? -1 : 0;
}

static void
cp_after(void *arg, const struct http_resp *r)
{
	struct count_pacer *c = arg;

	(void)r;
	c->after++;
}

static void
job_get(struct http_job *j, const char *path, char *url, size_t size)
{
	snprintf(url, size, "%s%s", base, path);
	memset(j, 0, sizeof(*j));
	j->req.method = "GET";
	j->req.url = url;
	j->idempotent = 1;
}

static void
test_retry(struct http *h)
{
	struct http_job j, jobs[8];
	struct http_policy pol;
	struct count_pacer cp = { 0, 0, 0 };
	char url[512], urls[8][512];
	int64_t t0;
	int i, ok = 0;
	long before_conn;

	memset(&pol, 0, sizeof(pol));
	pol.concurrency = 1;
	pol.max_retries = 4;
	pol.backoff_base_ms = 20;
	pol.backoff_cap_ms = 100;
	pol.pacer.before = cp_before;
	pol.pacer.after = cp_after;
	pol.pacer.arg = &cp;

	/* 429 with Retry-After: 1, then success: waits about a second */
	faults(h, "[{\"match\":{\"path\":\"^/echo$\"},\"kind\":\"status\",\"status\":429,"
	    "\"headers\":{\"Retry-After\":\"1\"},\"times\":1}]");
	job_get(&j, "/echo", url, sizeof(url));
	t0 = mono_ms();
	CHECK(http_call(h, &j, &pol) == RC_OK && j.resp.status == 200);
	CHECK(j.attempts == 2);
	CHECK(mono_ms() - t0 >= 950);
	CHECK(cp.before == 2 && cp.after == 2);	/* the pacer saw both answers */
	http_resp_free(&j.resp);

	/* 503 twice, then success: backoff without Retry-After */
	faults(h, "[{\"match\":{\"path\":\"^/echo$\"},\"kind\":\"status\",\"status\":503,\"times\":2}]");
	job_get(&j, "/echo", url, sizeof(url));
	CHECK(http_call(h, &j, &pol) == RC_OK && j.resp.status == 200 && j.attempts == 3);
	http_resp_free(&j.resp);

	/* resets are retried for idempotent requests */
	faults(h, "[{\"match\":{\"path\":\"^/echo$\"},\"kind\":\"reset\",\"times\":3}]");
	job_get(&j, "/echo", url, sizeof(url));
	CHECK(http_call(h, &j, &pol) == RC_OK && j.resp.status == 200);
	http_resp_free(&j.resp);

	/* reads with a JSON check: a cut, malformed, truncated or reset body is
	 * retried like a 5xx (issue 16) */
	{
		static const char *const kinds[] = { "cut", "malformed", "truncate", "midreset" };
		size_t k;
		long bad0 = http_get_stats(h)->bad_bodies;

		for (k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
			char rule[256];

			snprintf(rule, sizeof(rule), "[{\"match\":{\"path\":\"^/echo$\"},"
			    "\"kind\":\"%s\",\"times\":2}]", kinds[k]);
			faults(h, rule);
			job_get(&j, "/echo", url, sizeof(url));
			j.body_ok = http_body_json;
			CHECK(http_call(h, &j, &pol) == RC_OK && j.resp.status == 200 && j.attempts == 3);
			CHECK(j.resp.fail == HTTP_OK && http_body_json(&j.resp, NULL, url, 8));
			http_resp_free(&j.resp);
		}
		CHECK(http_get_stats(h)->bad_bodies - bad0 == 4);	/* cut and malformed, twice */
		/* without the check, a malformed 200 is handed over as it is */
		faults(h, "[{\"match\":{\"path\":\"^/echo$\"},\"kind\":\"malformed\",\"times\":1}]");
		job_get(&j, "/echo", url, sizeof(url));
		CHECK(http_call(h, &j, &pol) == RC_OK && j.resp.status == 200 && j.attempts == 1);
		http_resp_free(&j.resp);
		/* a write (not idempotent) is never resent for its body: it landed */
		faults(h, "[{\"match\":{\"path\":\"^/echo$\"},\"kind\":\"cut\",\"times\":1}]");
		job_get(&j, "/echo", url, sizeof(url));
		j.req.method = "POST";
		j.req.body = "{\"a\":1}";
		j.req.body_len = strlen(j.req.body);
		j.idempotent = 0;
		j.body_ok = http_body_json;
		CHECK(http_call(h, &j, &pol) == RC_OK && j.resp.status == 200 && j.attempts == 1);
		http_resp_free(&j.resp);
		/* still bad after every attempt: RC_REMOTE, HTTP_ERR_BODY, no status */
		faults(h, "[{\"match\":{\"path\":\"^/echo$\"},\"kind\":\"cut\"}]");
		job_get(&j, "/echo", url, sizeof(url));
		j.body_ok = http_body_json;
		CHECK(http_call(h, &j, &pol) == RC_REMOTE && j.attempts == 5);
		CHECK(j.resp.fail == HTTP_ERR_BODY && j.resp.status == 0);
		CHECK(strstr(j.resp.err, "HTTP 200, invalid JSON") != NULL);
		http_resp_free(&j.resp);
	}

	/* 429s have their own budget: three of them, then three 500s, then
	 * success, with max_retries 4 (429s used to count against it too) */
	faults(h, "[{\"match\":{\"path\":\"^/echo$\"},\"kind\":\"status\",\"status\":429,\"times\":3},"
	    "{\"match\":{\"path\":\"^/echo$\"},\"kind\":\"status\",\"status\":500,\"times\":3}]");
	job_get(&j, "/echo", url, sizeof(url));
	CHECK(http_call(h, &j, &pol) == RC_OK && j.resp.status == 200 && j.attempts == 7);
	http_resp_free(&j.resp);

	/* retries run out: RC_REMOTE with the last answer */
	faults(h, "[{\"match\":{\"path\":\"^/echo$\"},\"kind\":\"status\",\"status\":500}]");
	job_get(&j, "/echo", url, sizeof(url));
	CHECK(http_call(h, &j, &pol) == RC_REMOTE && j.resp.status == 500 && j.attempts == 5);
	http_resp_free(&j.resp);

	/* a non-idempotent POST is not resent after a 500 (it may have been applied) ... */
	job_get(&j, "/echo", url, sizeof(url));
	j.req.method = "POST";
	j.req.body = "{}";
	j.req.body_len = 2;
	j.idempotent = 0;
	faults(h, "[{\"match\":{\"path\":\"^/echo$\"},\"kind\":\"status\",\"status\":500,\"times\":1}]");
	CHECK(http_call(h, &j, &pol) == RC_OK && j.resp.status == 500 && j.attempts == 1);
	http_resp_free(&j.resp);
	/* ... but is after a 429 (the server did not act on it) */
	faults(h, "[{\"match\":{\"path\":\"^/echo$\"},\"kind\":\"status\",\"status\":429,\"times\":1}]");
	CHECK(http_call(h, &j, &pol) == RC_OK && j.resp.status == 200 && j.attempts == 2);
	http_resp_free(&j.resp);

	/* 400-class answers are final */
	faults(h, "[{\"match\":{\"path\":\"^/echo$\"},\"kind\":\"status\",\"status\":404,\"times\":1}]");
	job_get(&j, "/echo", url, sizeof(url));
	CHECK(http_call(h, &j, &pol) == RC_OK && j.resp.status == 404 && j.attempts == 1);
	http_resp_free(&j.resp);

	/* a Retry-After beyond the deadline is not waited for */
	faults(h, "[{\"match\":{\"path\":\"^/echo$\"},\"kind\":\"status\",\"status\":429,"
	    "\"headers\":{\"Retry-After\":\"30\"}}]");
	job_get(&j, "/echo", url, sizeof(url));
	pol.deadline_ms = mono_ms() + 2000;
	t0 = mono_ms();
	CHECK(http_call(h, &j, &pol) == RC_REMOTE && j.resp.status == 429);
	CHECK(mono_ms() - t0 < 1000);
	http_resp_free(&j.resp);
	pol.deadline_ms = 0;
	faults(h, "[]");

	/* the pacer can stop a batch: quota exhausted */
	cp.before = 0;
	cp.deny_after = 1;
	job_get(&jobs[0], "/echo", urls[0], sizeof(urls[0]));
	job_get(&jobs[1], "/echo", urls[1], sizeof(urls[1]));
	http_run(h, jobs, 2, &pol);
	CHECK(jobs[0].rc == RC_OK && jobs[0].resp.status == 200);
	CHECK(jobs[1].rc == RC_QUOTA && jobs[1].attempts == 0);
	http_resp_free(&jobs[0].resp);
	http_resp_free(&jobs[1].resp);
	cp.deny_after = 0;

	/* concurrency: 8 requests of 300 ms each, 4 at a time: about 600 ms */
	faults(h, "[{\"match\":{\"path\":\"^/echo$\"},\"kind\":\"delay\",\"ms\":300}]");
	for (i = 0; i < 8; i++)
		job_get(&jobs[i], "/echo", urls[i], sizeof(urls[i]));
	pol.concurrency = 4;
	before_conn = http_get_stats(h)->requests;
	t0 = mono_ms();
	http_run(h, jobs, 8, &pol);
	for (i = 0; i < 8; i++) {
		ok += jobs[i].rc == RC_OK && jobs[i].resp.status == 200;
		http_resp_free(&jobs[i].resp);
	}
	CHECK(ok == 8);
	/* the upper bound is the concurrency's; under valgrind (tests/valgrind.sh) the
	 * client itself is 20-50 times slower */
	CHECK(mono_ms() - t0 >= 550 &&
	    (mono_ms() - t0 < 1500 || getenv("ATSRECON_TEST_VALGRIND") != NULL));
	CHECK(http_get_stats(h)->requests - before_conn == 8);
	faults(h, "[]");
	CHECK(http_get_stats(h)->retries >= 8 && http_get_stats(h)->status_429 >= 3);
}

static void
test_retry_after_parse(void)
{
	CHECK(http_retry_after_ms("7", 1000) == 7000);
	CHECK(http_retry_after_ms(" 0", 1000) == 0);
	CHECK(http_retry_after_ms("Wed, 21 Oct 2015 07:28:10 GMT", 1445412480) == 10000);
	CHECK(http_retry_after_ms("Wed, 21 Oct 2015 07:28:00 GMT", 1445412490) == 0);
	CHECK(http_retry_after_ms("1445412500", 1445412480) == 20000);	/* epoch seconds */
	CHECK(http_retry_after_ms("soon", 1000) == -1);
	CHECK(http_retry_after_ms("-5", 1000) == -1);
	CHECK(http_retry_after_ms(NULL, 1000) == -1);
	/* issue 16 defect 11 (found again by fuzz_headers): huge values are capped at
	 * HTTP_RETRY_AFTER_MAX_S, without overflowing the * 1000 */
	CHECK(http_retry_after_ms("9223372036854775807", 1796643000) == HTTP_RETRY_AFTER_MAX_S * 1000L);
	CHECK(http_retry_after_ms("99999999999", 1796643000) == HTTP_RETRY_AFTER_MAX_S * 1000L);
	CHECK(http_retry_after_ms("Fri, 31 Dec 9999 23:59:59 GMT", 1796643000) ==
	    HTTP_RETRY_AFTER_MAX_S * 1000L);
	CHECK(http_status_retryable(429) && http_status_retryable(503) && !http_status_retryable(400) &&
	    !http_status_retryable(501));
}

/* Defect #11: a huge Retry-After overflowed "* 1000" (signed overflow: UBSan
 * aborts the old code). Every form is now clamped to HTTP_RETRY_AFTER_MAX_S. */
static void
test_defect11_retry_after_overflow(void)
{
	const long max = HTTP_RETRY_AFTER_MAX_S * 1000L;

	CHECK(http_retry_after_ms("9223372036854775807", 1000) == max);
	CHECK(http_retry_after_ms("9223372036854775807", 1765000000) == max);
	CHECK(http_retry_after_ms("9223372036854775808", 1000) == -1);	/* beyond int64 */
	CHECK(http_retry_after_ms("99999999999999999999999", 1000) == -1);
	CHECK(http_retry_after_ms("999999999", 1000) == max);	/* delta seconds */
	CHECK(http_retry_after_ms("3600", 1000) == max);
	CHECK(http_retry_after_ms("3599", 1000) == 3599000);
	CHECK(http_retry_after_ms("-9223372036854775808", 1000) == -1);
	CHECK(http_retry_after_ms("+5", 1000) == -1);
	CHECK(http_retry_after_ms("inf", 1000) == -1);
	CHECK(http_retry_after_ms("nan", 1000) == -1);
	CHECK(http_retry_after_ms("1e9", 1000) == -1);
	CHECK(http_retry_after_ms("0x10", 1000) == -1);
	CHECK(http_retry_after_ms("Fri, 31 Dec 9999 23:59:59 GMT", 1000) == max);
}

int
main(void)
{
	struct http_cfg cfg = { 0 };
	struct http *h = NULL;
	struct buf enc = BUF_INIT;

	json_init();
	log_init(LOG_WARN, LOG_FMT_TEXT);
	base = getenv("ATSRECON_TEST_ECHO");
	base12 = getenv("ATSRECON_TEST_ECHO12");
	ca = getenv("ATSRECON_TEST_CA");
	CHECK(base != NULL && base12 != NULL && ca != NULL);
	if (base == NULL || base12 == NULL || ca == NULL)
		return t_done("test_http");
	cfg.ca_file = ca;
	CHECK(http_new(&cfg, &h) == RC_OK);
	test_defect11_retry_after_overflow();
	test_keepalive_and_tls(h);
	test_tls12();
	test_gzip_and_cap(h);
	test_faults(h);
	test_post_and_auth(h);
	test_refusals();
	test_retry(h);
	test_retry_after_parse();
	http_free(h);
	http_urlencode(&enc, "gte|2026-01-05T10:00:00.000Z a/b");
	CHECK_STR(enc.p, "gte%7C2026-01-05T10%3A00%3A00.000Z%20a%2Fb");
	buf_free(&enc);
	return t_done("test_http");
}
