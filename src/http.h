/*
 * http.h — the only door to the network (the only file that includes curl).
 *
 * One struct http per run holds a curl multi handle, whose connection cache
 * keeps connections alive across requests, and the CA configuration: the
 * configured ca_file, else $SSL_CERT_FILE, else the CA bundle built into the
 * binary. Certificate and host-name verification are always on; there is no
 * switch to turn them off. Only https:// URLs are accepted, and http:// to a
 * loopback host (test servers, local proxies). Redirects are never followed.
 * Standard proxy variables (HTTPS_PROXY, https_proxy, NO_PROXY, ...) are
 * honoured by libcurl.
 *
 * Every response body is capped (max_body); larger bodies fail with
 * HTTP_ERR_TOOBIG and are discarded, also when they arrive gzip-compressed.
 */
#ifndef ATSRECON_HTTP_H
#define ATSRECON_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "util.h"

struct http_cfg {
	const char *ca_file;		/* NULL: $SSL_CERT_FILE, else the built-in bundle */
	long connect_timeout_ms;	/* TCP + TLS handshake */
	long timeout_ms;		/* whole request */
	size_t max_body;		/* largest response body accepted */
	const char *user_agent;		/* NULL: "atsrecon/<version>" */
	int no_proxy;			/* ignore the proxy variables (Lambda's Runtime API) */
};

struct http;

enum rc http_new(const struct http_cfg *, struct http **out);
void http_free(struct http *);

struct http_req {
	const char *method;		/* "GET", "POST", "PATCH", "PUT", "DELETE" */
	const char *url;
	const char *body;		/* NULL: none */
	size_t body_len;
	const char *content_type;	/* for body; default application/json */
	/* Credentials: never logged, never put in a URL. At most one of these. */
	const char *bearer;		/* Authorization: Bearer <token> */
	const char *basic_user;		/* Authorization: Basic (with basic_pass) */
	const char *basic_pass;
	const char *const *headers;	/* extra "Name: value" lines, NULL-terminated */
	int64_t deadline_ms;		/* mono_ms() deadline; 0: none. Caps the timeout. */
	int credential;			/* a token exchange or other bookkeeping, not a
					 * data write (the test kill point "http-write"
					 * does not count it) */
	/* AWS Signature Version 4, computed by libcurl (s3.c): aws_sigv4 is
	 * "aws:amz:REGION:SERVICE"; the key pair is never logged. A session
	 * token is the caller's "x-amz-security-token: ..." header. */
	const char *aws_sigv4;
	const char *aws_key_id;
	const char *aws_secret;
	/* A body streamed from a file (PUT): upload_size bytes from offset 0,
	 * re-read on every attempt. Replaces body; sent with Content-Length. */
	FILE *upload;
	int64_t upload_size;
	/* A 2xx body goes to this file (truncated at every attempt) instead of
	 * resp->body, up to download_max bytes (0: max_body); other statuses'
	 * bodies still land in resp->body. */
	FILE *download;
	int64_t download_max;
	int no_timeout;			/* a long poll: no whole-request timeout
					 * (deadline_ms still bounds it) */
	int fresh_connection;		/* on a new connection: curl resends a
					 * request by itself when a REUSED one
					 * dies before any answer, which a
					 * single-use refresh token must not be
					 * (auth.c decides about resending) */
	int past_stop;			/* the remote state's bookkeeping (s3.c):
					 * started and finished after a stop too
					 * (stop_requested), so a stopped run can
					 * still save its state */
};

enum http_fail {
	HTTP_OK = 0,		/* a complete response arrived (any status) */
	HTTP_ERR_URL,		/* refused before sending (URL policy) */
	HTTP_ERR_RESOLVE,	/* name resolution failed */
	HTTP_ERR_CONNECT,	/* TCP connect failed */
	HTTP_ERR_TLS,		/* handshake or certificate verification failed */
	HTTP_ERR_TIMEOUT,	/* connect or total timeout, or the deadline */
	HTTP_ERR_RESET,		/* connection closed early: reset, truncated body */
	HTTP_ERR_TOOBIG,	/* body larger than max_body */
	HTTP_ERR_BODY,		/* a 2xx body the job's body_ok refused (truncated,
				 * malformed); like every failure, status is 0 */
	HTTP_ERR_OTHER
};

struct http_header {
	char *name;		/* lower case */
	char *value;		/* trimmed */
};

struct http_resp {
	long status;			/* 0 when no response */
	struct buf body;		/* decoded body (gzip is undone), NUL-terminated */
	struct http_header *headers;	/* of the final response */
	size_t nheaders;
	enum http_fail fail;
	char err[256];			/* what failed, already safe to log */
	char tls_version[16];		/* "TLSv1.3", "TLSv1.2", or "" for plain HTTP */
	long elapsed_ms;
	int new_connection;		/* 1 if this request opened a connection */
};

/* Performs one request, once: no retry. Returns RC_OK when a response arrived
 * (look at resp->status), RC_REMOTE for transport failures (resp->fail says
 * which), RC_CONFIG for a refused URL or an unusable CA file, RC_STATE when the
 * upload or download file cannot be read or written. The caller frees
 * resp with http_resp_free. */
enum rc http_do(struct http *, const struct http_req *, struct http_resp *resp);
void http_resp_free(struct http_resp *);

/*
 * Pacing hooks (pace.c implements them for each API). before() is asked
 * before every attempt: it returns 0 to go now, N > 0 to wait N ms first, or
 * -1 to stop (quota exhausted: the job ends with RC_QUOTA). after() sees every
 * response, 429s included, so rate headers are never missed.
 */
struct http_pacer {
	long (*before)(void *arg);
	void (*after)(void *arg, const struct http_resp *);
	void *arg;
};

/*
 * Retry policy. Retried: transport failures, 408, 429, 500, 502, 503, 504.
 * The wait is Retry-After when the server sent it (seconds, an HTTP date or
 * an epoch timestamp; capped at retry_after_cap_ms), else exponential backoff
 * with full jitter: random in [0, min(cap, base * 2^attempt)]. A wait that
 * would end past the deadline is not taken: the job ends with RC_REMOTE (or
 * RC_QUOTA if the last answer was a 429) and resp holds the last answer.
 * Requests not marked idempotent are retried only when the server cannot
 * have acted on them: connect/resolve failures, 429 and 503.
 *
 * Reads: an idempotent job with a body_ok check whose 2xx answer is refused
 * by it (a body cut short with an honest Content-Length, malformed JSON) is
 * retried like a 5xx, within the same max_retries, backoff and deadline; a
 * body cut by a reset or a Content-Length the server did not keep is a
 * transport failure (HTTP_ERR_RESET), retried the same way. After the last
 * attempt the job ends with RC_REMOTE and resp->fail HTTP_ERR_BODY. Jobs not
 * marked idempotent are never checked: a write that landed is not resent.
 */
struct http_policy {
	int concurrency;		/* transfers in flight at once (>= 1) */
	int max_retries;		/* attempts after the first (429s not counted) */
	int max_retries_429;		/* for 429s, which the server did not act on
					 * (0: 3 * max_retries); a budget of their own,
					 * so a 429 storm does not use up max_retries;
					 * the deadline still bounds them */
	long backoff_base_ms;		/* default 500 */
	long backoff_cap_ms;		/* default 30000 */
	long retry_after_cap_ms;	/* default 120000 */
	int64_t deadline_ms;		/* mono_ms() deadline for the whole batch; 0: none */
	struct http_pacer pacer;	/* optional */
};

struct http_job {
	struct http_req req;		/* in; req.deadline_ms is ignored (policy's is used) */
	int idempotent;			/* in: safe to resend after an unknown outcome */
	/* in, optional: is this 2xx answer usable? (0: retry it; idempotent
	 * jobs only). Writes a short, already safe reason into why. */
	int (*body_ok)(const struct http_resp *, void *arg, char *why, size_t why_size);
	void *body_ok_arg;
	struct http_resp resp;		/* out: the final attempt's response */
	enum rc rc;			/* out: as http_do, or RC_QUOTA / RC_REMOTE after retries */
	int attempts;			/* out */
};

/* Counters over the life of a struct http (for reports and metrics). */
struct http_stats {
	long requests;		/* attempts sent */
	long retries;		/* attempts after a retryable failure */
	long status_429;
	long status_5xx;
	long transport_errors;
	long bad_bodies;	/* 2xx answers a body_ok check refused */
	long waited_ms;		/* time spent in backoff and pacing */
};

/* Runs n jobs with up to policy->concurrency in flight on kept-alive
 * connections, each retried per the policy. Every job ends with rc set. */
void http_run(struct http *, struct http_job *jobs, size_t n, const struct http_policy *);
/* One job through http_run: returns job->rc. */
enum rc http_call(struct http *, struct http_job *job, const struct http_policy *);
const struct http_stats *http_get_stats(const struct http *);

/* A body_ok check for JSON APIs: the body must be exactly one JSON value
 * (only a 204 may be empty). arg is unused. */
int http_body_json(const struct http_resp *, void *arg, char *why, size_t why_size);

/* The longest wait a Retry-After may ask for (1 h); the policy's
 * retry_after_cap_ms and its deadline cap it further. */
#define HTTP_RETRY_AFTER_MAX_S 3600

/* Parses a Retry-After value into milliseconds from now (now_s: current epoch
 * seconds): delta seconds, an HTTP date or an epoch timestamp, at most
 * HTTP_RETRY_AFTER_MAX_S; -1 when absent, negative or unparseable. */
long http_retry_after_ms(const char *value, int64_t now_s);
/* Is this status worth another attempt? */
int http_status_retryable(long status);

/* Value of a response header (case-insensitive name), or NULL. */
const char *http_header(const struct http_resp *, const char *name);
const char *http_fail_str(enum http_fail);

/* "libcurl/8.14.1 mbedTLS/3.6.6 zlib/1.3.1" */
void http_lib_versions(struct buf *out);
/* Percent-encodes s for a query string (RFC 3986 unreserved kept). */
void http_urlencode(struct buf *out, const char *s);

#endif
