/* http.c — see http.h. The only file that includes curl. */
#define _POSIX_C_SOURCE 200809L
#include "http.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <mbedtls/ssl.h>

#include "jtree.h"
#include "log.h"

#ifndef ATSRECON_VERSION
#define ATSRECON_VERSION "0.0.0-dev"
#endif

#define MAX_HEADERS 128
#define MAX_HEADER_BYTES (64 * 1024)

extern const char ca_bundle_pem[];
extern const char ca_bundle_pem_end[];

#define MAX_SLOTS 16

/* One transfer in flight: an easy handle (reused; the multi handle keeps the
 * connections) and what its callbacks need. */
struct xfer {
	struct http *h;
	CURL *easy;
	struct http_resp *resp;
	size_t header_bytes;
	int too_big;
	int tls_seen;
	struct curl_slist *hdrs;
	char errbuf[CURL_ERROR_SIZE];
	int64_t t0;
	const char *method, *url;	/* borrowed from the request, for the debug line */
	FILE *ul, *dl;			/* the request's upload and download files */
	int64_t dl_max, dl_bytes;
	int file_err;			/* errno of a failed read or write of ul/dl */
};

struct http {
	CURLM *multi;
	CURL *easy[MAX_SLOTS];	/* created on first use */
	char *ca_file;
	long connect_timeout_ms;
	long timeout_ms;
	size_t max_body;
	char *user_agent;
	int no_proxy;
	struct http_stats stats;
	uint64_t rng;
};

static int curl_ready;

enum rc
http_new(const struct http_cfg *cfg, struct http **out)
{
	struct http *h;
	const char *ca = cfg->ca_file;

	if (!curl_ready) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
			log_error("http", "curl_global_init failed");
			return RC_BUG;
		}
		curl_ready = 1;
	}
	if (ca == NULL || *ca == '\0')
		ca = getenv("SSL_CERT_FILE");
	h = xcalloc(1, sizeof(*h));
	h->multi = curl_multi_init();
	if (h->multi == NULL) {
		http_free(h);
		return RC_BUG;
	}
	h->ca_file = ca != NULL && *ca != '\0' ? xstrdup(ca) : NULL;
	h->connect_timeout_ms = cfg->connect_timeout_ms > 0 ? cfg->connect_timeout_ms : 10000;
	h->timeout_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : 60000;
	h->max_body = cfg->max_body > 0 ? cfg->max_body : 16u * 1024 * 1024;
	h->user_agent = xstrdup(cfg->user_agent ? cfg->user_agent : "atsrecon/" ATSRECON_VERSION);
	h->no_proxy = cfg->no_proxy;
	curl_multi_setopt(h->multi, CURLMOPT_MAXCONNECTS, (long)MAX_SLOTS);
	h->rng = (uint64_t)now_ms() * 6364136223846793005ULL ^ (uint64_t)mono_ms() ^ (uint64_t)getpid();
	log_debug("http", "CA: %s", h->ca_file ? h->ca_file : "built-in bundle");
	*out = h;
	return RC_OK;
}

void
http_free(struct http *h)
{
	if (h == NULL)
		return;
	for (size_t i = 0; i < MAX_SLOTS; i++)
		if (h->easy[i] != NULL)
			curl_easy_cleanup(h->easy[i]);
	if (h->multi != NULL)
		curl_multi_cleanup(h->multi);
	free(h->ca_file);
	free(h->user_agent);
	free(h);
}

void
http_resp_free(struct http_resp *r)
{
	size_t i;

	buf_free(&r->body);
	for (i = 0; i < r->nheaders; i++) {
		free(r->headers[i].name);
		free(r->headers[i].value);
	}
	free(r->headers);
	memset(r, 0, sizeof(*r));
}

static void
headers_clear(struct http_resp *r)
{
	size_t i;

	for (i = 0; i < r->nheaders; i++) {
		free(r->headers[i].name);
		free(r->headers[i].value);
	}
	r->nheaders = 0;
}

static void
note_tls(struct xfer *x)
{
	struct curl_tlssessioninfo *info = NULL;

	if (x->tls_seen)
		return;
	x->tls_seen = 1;
	if (curl_easy_getinfo(x->easy, CURLINFO_TLS_SSL_PTR, &info) == CURLE_OK && info != NULL &&
	    info->backend == CURLSSLBACKEND_MBEDTLS && info->internals != NULL)
		str_copy(x->resp->tls_version, sizeof(x->resp->tls_version),
		    mbedtls_ssl_get_version((const mbedtls_ssl_context *)info->internals));
}

static size_t
on_header(char *data, size_t size, size_t n, void *arg)
{
	struct xfer *x = arg;
	struct http_resp *r = x->resp;
	size_t len = size * n, nl;
	const char *colon, *v, *end;
	struct http_header *hd;

	note_tls(x);
	x->header_bytes += len;
	if (x->header_bytes > MAX_HEADER_BYTES)
		return 0;
	if (len >= 5 && memcmp(data, "HTTP/", 5) == 0) {
		headers_clear(r);	/* a new response (after 100 Continue, say) */
		return len;
	}
	colon = memchr(data, ':', len);
	if (colon == NULL)
		return len;	/* the blank line, or junk we ignore */
	if (r->nheaders >= MAX_HEADERS)
		return len;
	nl = (size_t)(colon - data);
	v = colon + 1;
	end = data + len;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t'))
		end--;
	r->headers = xrealloc(r->headers, (r->nheaders + 1) * sizeof(*r->headers));
	hd = &r->headers[r->nheaders++];
	hd->name = xstrndup(data, nl);
	for (char *p = hd->name; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	hd->value = xstrndup(v, (size_t)(end - v));
	return len;
}

static size_t
on_body(char *data, size_t size, size_t n, void *arg)
{
	struct xfer *x = arg;
	size_t len = size * n;

	note_tls(x);
	if (x->dl != NULL) {
		long code = 0;

		curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &code);
		if (code >= 200 && code < 300) {
			if (x->dl_bytes + (int64_t)len > x->dl_max) {
				x->too_big = 1;
				return 0;
			}
			if (fwrite(data, 1, len, x->dl) != len) {
				x->file_err = errno ? errno : EIO;
				return 0;
			}
			x->dl_bytes += (int64_t)len;
			return len;
		}
	}
	if (x->resp->body.len + len > x->h->max_body) {
		x->too_big = 1;
		return 0;	/* aborts the transfer */
	}
	buf_add(&x->resp->body, data, len);
	return len;
}

static size_t
on_read(char *data, size_t size, size_t n, void *arg)
{
	struct xfer *x = arg;
	size_t got = fread(data, 1, size * n, x->ul);

	if (got == 0 && ferror(x->ul)) {
		x->file_err = errno ? errno : EIO;
		return CURL_READFUNC_ABORT;
	}
	return got;
}

const char *
http_header(const struct http_resp *r, const char *name)
{
	size_t i;

	for (i = 0; i < r->nheaders; i++)
		if (strcasecmp(r->headers[i].name, name) == 0)
			return r->headers[i].value;
	return NULL;
}

const char *
http_fail_str(enum http_fail f)
{
	switch (f) {
	case HTTP_OK: return "ok";
	case HTTP_ERR_URL: return "URL refused";
	case HTTP_ERR_RESOLVE: return "name resolution failed";
	case HTTP_ERR_CONNECT: return "connection failed";
	case HTTP_ERR_TLS: return "TLS failed";
	case HTTP_ERR_TIMEOUT: return "timed out";
	case HTTP_ERR_RESET: return "connection closed early";
	case HTTP_ERR_TOOBIG: return "response too large";
	case HTTP_ERR_BODY: return "unusable response body";
	case HTTP_ERR_OTHER: return "transfer failed";
	}
	return "?";
}

static enum http_fail
classify(CURLcode c)
{
	switch (c) {
	case CURLE_OK: return HTTP_OK;
	case CURLE_URL_MALFORMAT:
	case CURLE_UNSUPPORTED_PROTOCOL: return HTTP_ERR_URL;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY: return HTTP_ERR_RESOLVE;
	case CURLE_COULDNT_CONNECT: return HTTP_ERR_CONNECT;
	case CURLE_OPERATION_TIMEDOUT: return HTTP_ERR_TIMEOUT;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE: return HTTP_ERR_TLS;
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_BAD_CONTENT_ENCODING: return HTTP_ERR_RESET;
	case CURLE_FILESIZE_EXCEEDED: return HTTP_ERR_TOOBIG;
	default: return HTTP_ERR_OTHER;
	}
}

/* The CA bundle: the configured file, else the one built in. */
static void
set_ca(const struct http *h, CURL *e)
{
	struct curl_blob blob;

	if (h->ca_file != NULL) {
		curl_easy_setopt(e, CURLOPT_CAINFO, h->ca_file);
		return;
	}
	blob.data = (void *)ca_bundle_pem;
	blob.len = (size_t)(ca_bundle_pem_end - ca_bundle_pem);
	blob.flags = CURL_BLOB_NOCOPY;
	curl_easy_setopt(e, CURLOPT_CAINFO_BLOB, &blob);
}

/* Accept, Expect, the credential and the caller's headers, after any
 * Content-Type already in x->hdrs. */
static void
set_headers(struct xfer *x, const struct http_req *req)
{
	CURL *e = x->easy;
	struct buf line = BUF_INIT;
	const char *const *hp;
	int own = 0;

	/* the caller's own Accept (Ashby's "version=1") replaces ours */
	for (hp = req->headers; hp != NULL && *hp != NULL; hp++)
		own |= strncasecmp(*hp, "Accept:", 7) == 0;
	if (!own)
		x->hdrs = curl_slist_append(x->hdrs, "Accept: application/json");
	x->hdrs = curl_slist_append(x->hdrs, "Expect:");	/* no 100-continue round trip */
	if (req->bearer != NULL) {
		buf_addf(&line, "Authorization: Bearer %s", req->bearer);
		x->hdrs = curl_slist_append(x->hdrs, line.p);
		memset(line.p, 0, line.len);	/* no stray copy of the token */
		buf_reset(&line);
	} else if (req->basic_user != NULL) {
		curl_easy_setopt(e, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(e, CURLOPT_USERNAME, req->basic_user);
		curl_easy_setopt(e, CURLOPT_PASSWORD, req->basic_pass ? req->basic_pass : "");
	} else if (req->aws_sigv4 != NULL) {
		curl_easy_setopt(e, CURLOPT_AWS_SIGV4, req->aws_sigv4);
		curl_easy_setopt(e, CURLOPT_USERNAME, req->aws_key_id ? req->aws_key_id : "");
		curl_easy_setopt(e, CURLOPT_PASSWORD, req->aws_secret ? req->aws_secret : "");
	}
	for (hp = req->headers; hp != NULL && *hp != NULL; hp++)
		x->hdrs = curl_slist_append(x->hdrs, *hp);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, x->hdrs);
	buf_free(&line);
}

/* Prepares x->easy for req; resp is zeroed. Returns RC_OK, RC_CONFIG (URL) or
 * RC_STATE (the download file cannot be truncated). timeout 0: none. */
static enum rc
xfer_setup(struct http *h, struct xfer *x, const struct http_req *req, struct http_resp *resp,
    long timeout)
{
	CURL *e = x->easy;
	struct buf line = BUF_INIT;

	memset(resp, 0, sizeof(*resp));
	x->h = h;
	x->resp = resp;
	x->header_bytes = 0;
	x->too_big = 0;
	x->tls_seen = 0;
	x->hdrs = NULL;
	x->errbuf[0] = '\0';
	x->t0 = mono_ms();
	x->method = req->method;
	x->url = req->url;
	x->ul = req->upload;
	x->dl = req->download;
	x->dl_max = req->download_max > 0 ? req->download_max : (int64_t)h->max_body;
	x->dl_bytes = 0;
	x->file_err = 0;
	if (!url_allowed(req->url)) {
		resp->fail = HTTP_ERR_URL;
		str_copy(resp->err, sizeof(resp->err),
		    "only https:// URLs (or http:// to a loopback host) are allowed");
		return RC_CONFIG;
	}
	curl_easy_reset(e);
	curl_easy_setopt(e, CURLOPT_URL, req->url);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	if (req->fresh_connection)
		curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(e, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	set_ca(h, e);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, timeout == 0 ||
	    h->connect_timeout_ms < timeout ? h->connect_timeout_ms : timeout);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout);
	curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)(x->dl != NULL ? x->dl_max :
	    (int64_t)h->max_body));
	if (h->no_proxy)
		curl_easy_setopt(e, CURLOPT_PROXY, "");
	if (x->dl != NULL && (fflush(x->dl) != 0 || ftruncate(fileno(x->dl), 0) != 0)) {
		resp->fail = HTTP_ERR_OTHER;
		snprintf(resp->err, sizeof(resp->err), "cannot truncate the download file: %s",
		    strerror(errno));
		return RC_STATE;
	}
	if (x->dl != NULL)
		rewind(x->dl);
	if (x->ul != NULL) {
		rewind(x->ul);
		curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(e, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(e, CURLOPT_READDATA, x);
		curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, (curl_off_t)req->upload_size);
	}
	curl_easy_setopt(e, CURLOPT_USERAGENT, h->user_agent);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, x);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(e, CURLOPT_PRIVATE, x);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);

	if (req->body != NULL) {
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, req->body);
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
		buf_addf(&line, "Content-Type: %s", req->content_type ? req->content_type : "application/json");
		x->hdrs = curl_slist_append(x->hdrs, line.p);
		buf_reset(&line);
	}
	if (strcmp(req->method, "GET") == 0)
		curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
	else if (strcmp(req->method, "POST") != 0 || req->body == NULL)
		curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, req->method);
	if (req->body == NULL && strcmp(req->method, "POST") == 0)
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, 0L);
	set_headers(x, req);
	buf_free(&line);
	return RC_OK;
}

/* After a transfer: fills resp's status, failure and message; returns the rc. */
static enum rc
xfer_finish(struct xfer *x, CURLcode cc)
{
	struct http_resp *resp = x->resp;
	CURL *e = x->easy;
	long nconn = 0;
	enum rc rc = RC_REMOTE;

	resp->elapsed_ms = (long)(mono_ms() - x->t0);
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &resp->status);
	curl_easy_getinfo(e, CURLINFO_NUM_CONNECTS, &nconn);
	resp->new_connection = nconn > 0;
	x->h->stats.requests++;
	if (x->dl != NULL && fflush(x->dl) != 0 && x->file_err == 0)
		x->file_err = errno ? errno : EIO;
	if (x->file_err != 0) {
		resp->fail = HTTP_ERR_OTHER;
		snprintf(resp->err, sizeof(resp->err), "%s the %s file failed: %s",
		    x->dl != NULL ? "writing" : "reading", x->dl != NULL ? "download" : "upload",
		    strerror(x->file_err));
		rc = RC_STATE;
	} else if (x->too_big || cc == CURLE_FILESIZE_EXCEEDED) {
		resp->fail = HTTP_ERR_TOOBIG;
		snprintf(resp->err, sizeof(resp->err), "response body larger than %lld bytes",
		    x->dl != NULL ? (long long)x->dl_max : (long long)x->h->max_body);
		buf_free(&resp->body);
	} else if (cc != CURLE_OK) {
		struct buf safe = BUF_INIT;
		size_t el = strlen(x->errbuf);
		const char *msg;

		while (el > 0 && (x->errbuf[el - 1] == '\n' || x->errbuf[el - 1] == '\r'))
			x->errbuf[--el] = '\0';
		msg = x->errbuf[0] ? x->errbuf : curl_easy_strerror(cc);
		resp->fail = classify(cc);
		text_escape(&safe, msg, strlen(msg));
		str_copy(resp->err, sizeof(resp->err), safe.p);
		buf_free(&safe);
		if (cc == CURLE_SSL_CACERT_BADFILE)
			rc = RC_CONFIG;
		x->h->stats.transport_errors++;
	} else {
		resp->fail = HTTP_OK;
		if (resp->body.p == NULL)
			buf_add(&resp->body, "", 0);
		rc = RC_OK;
		if (resp->status == 429)
			x->h->stats.status_429++;
		else if (resp->status >= 500)
			x->h->stats.status_5xx++;
	}
	if (resp->fail != HTTP_OK && resp->fail != HTTP_ERR_TOOBIG)
		resp->status = 0;
	log_debug("http", "%s %s -> %ld%s%s (%s, %ld ms, %zu bytes%s)", x->method, x->url,
	    resp->status, resp->fail ? " " : "", resp->fail ? resp->err : "",
	    resp->tls_version[0] ? resp->tls_version : "plain", resp->elapsed_ms,
	    resp->body.len, resp->new_connection ? ", new connection" : "");
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, NULL);
	curl_slist_free_all(x->hdrs);
	x->hdrs = NULL;
	return rc;
}

static CURL *
slot_easy(struct http *h, size_t i)
{
	if (h->easy[i] == NULL)
		h->easy[i] = curl_easy_init();
	return h->easy[i];
}

int
http_status_retryable(long status)
{
	return status == 408 || status == 429 || status == 500 || status == 502 || status == 503 ||
	    status == 504;
}

long
http_retry_after_ms(const char *v, int64_t now_s)
{
	const int64_t max_s = HTTP_RETRY_AFTER_MAX_S;
	int64_t n, d;
	time_t t;

	if (v == NULL)
		return -1;
	while (*v == ' ')
		v++;
	if (*v >= '0' && *v <= '9') {
		/* digits only: delta seconds or an epoch timestamp. Digits beyond
		 * int64 are refused by parse_i64; every product below is bounded
		 * by max_s first, so nothing overflows (defect #11). */
		if (parse_i64(v, &n) != 0)
			return -1;
		if (n > 1000000000LL) {		/* an epoch timestamp (seen from Greenhouse) */
			d = n > now_s ? n - now_s : 0;
			return (long)((d > max_s ? max_s : d) * 1000);
		}
		return (long)((n > max_s ? max_s : n) * 1000);
	}
	if (*v == '-' || *v == '+')
		return -1;			/* a negative or signed delta: refused */
	t = curl_getdate(v, NULL);		/* an HTTP date */
	if (t < 0)
		return -1;
	d = (int64_t)t > now_s ? (int64_t)t - now_s : 0;
	return (long)((d > max_s ? max_s : d) * 1000);
}

int
http_body_json(const struct http_resp *r, void *arg, char *why, size_t why_size)
{
	struct buf err = BUF_INIT;
	cJSON *j;

	(void)arg;
	if (r->body.len == 0) {
		if (r->status == 204)
			return 1;
		str_copy(why, why_size, "empty body");
		return 0;
	}
	j = json_parse(r->body.p, r->body.len, &err);
	if (j != NULL) {
		cJSON_Delete(j);
		buf_free(&err);
		return 1;
	}
	snprintf(why, why_size, "invalid JSON (%zu bytes): %s", r->body.len, err.p ? err.p : "");
	buf_free(&err);
	return 0;
}

static uint64_t
rng_next(struct http *h)
{
	/* xorshift64*: jitter only, not security */
	h->rng ^= h->rng >> 12;
	h->rng ^= h->rng << 25;
	h->rng ^= h->rng >> 27;
	return h->rng * 2685821657736338717ULL;
}

/* Per-job bookkeeping of http_run. */
struct run_job {
	int64_t not_before;
	int active;
	int done;
	int slot;
	int n429;	/* attempts answered 429: their own budget (max_retries_429), so
			 * a 429 storm does not use up the budget of 5xx, resets and
			 * bad bodies, nor the other way round */
};

static int
should_retry(const struct http_job *j, enum rc rc)
{
	const struct http_resp *r = &j->resp;

	if (rc == RC_REMOTE) {
		if (r->fail == HTTP_ERR_TOOBIG || r->fail == HTTP_ERR_URL || r->fail == HTTP_ERR_TLS)
			return 0;
		if (j->idempotent)
			return 1;
		return r->fail == HTTP_ERR_CONNECT || r->fail == HTTP_ERR_RESOLVE;
	}
	if (rc != RC_OK || !http_status_retryable(r->status))
		return 0;
	return j->idempotent || r->status == 429 || r->status == 503;
}

/* The state of one http_run call. */
struct runner {
	struct http *h;
	struct http_job *jobs;
	size_t n;
	const struct http_policy *pol;
	struct run_job *rj;
	struct xfer slots[MAX_SLOTS];
	int slot_busy[MAX_SLOTS];
	int conc;
	long base;	/* backoff base, cap and Retry-After cap, in ms */
	long cap;
	long ra_cap;
	int max429;
	size_t left;	/* jobs not done */
	int active;	/* jobs in flight */
};

/* Job i is finished with rc. */
static void
job_end(struct runner *r, size_t i, enum rc rc)
{
	r->jobs[i].rc = rc;
	r->rj[i].done = 1;
	r->left--;
}

/* Job k has used up its attempts: the 429 budget when it ended on a 429, the
 * general one otherwise. */
static int
budget_spent(const struct runner *r, size_t k, enum rc rc)
{
	const struct http_job *j = &r->jobs[k];

	return rc == RC_OK && j->resp.status == 429 ? r->rj[k].n429 > r->max429 :
	    j->attempts - r->rj[k].n429 > r->pol->max_retries;
}

/* Tries to start job i at now, lowering *wake to when a waiting job may
 * start; ends the job when the deadline, a stop or the quota says so.
 * Returns 1 when the pacer says wait: start nothing more now. */
static int
start_job(struct runner *r, size_t i, int64_t now, int64_t *wake)
{
	const struct http_policy *pol = r->pol;
	struct http_job *j = &r->jobs[i];
	long timeout = j->req.no_timeout ? 0 : r->h->timeout_ms;
	enum rc src;
	int s;

	if (r->rj[i].done || r->rj[i].active)
		return 0;
	if (r->rj[i].not_before > now) {
		if (r->rj[i].not_before < *wake)
			*wake = r->rj[i].not_before;
		return 0;
	}
	if ((pol->deadline_ms > 0 && now >= pol->deadline_ms) ||
	    (!j->req.past_stop && stop_requested())) {
		if (j->attempts == 0) {
			j->resp.fail = HTTP_ERR_TIMEOUT;
			str_copy(j->resp.err, sizeof(j->resp.err), stop_requested() ?
			    "stopped (signal)" : "deadline reached");
		}
		job_end(r, i, RC_REMOTE);
		return 0;
	}
	if (pol->pacer.before != NULL) {
		long pace_wait = pol->pacer.before(pol->pacer.arg);

		if (pace_wait < 0) {
			if (j->attempts == 0)
				str_copy(j->resp.err, sizeof(j->resp.err), "API quota exhausted");
			job_end(r, i, RC_QUOTA);
			return 0;
		}
		if (pace_wait > 0) {
			if (now + pace_wait < *wake)
				*wake = now + pace_wait;
			return 1;
		}
	}
	for (s = 0; s < r->conc && r->slot_busy[s]; s++)
		;
	if (pol->deadline_ms > 0 && (timeout == 0 || pol->deadline_ms - now < timeout))
		timeout = (long)(pol->deadline_ms - now);
	http_resp_free(&j->resp);	/* the previous attempt's */
	r->slots[s].easy = slot_easy(r->h, (size_t)s);
	if (r->slots[s].easy == NULL) {
		job_end(r, i, RC_BUG);
		return 0;
	}
	j->attempts++;
	if ((src = xfer_setup(r->h, &r->slots[s], &j->req, &j->resp, timeout)) != RC_OK) {
		job_end(r, i, src);
		return 0;
	}
	curl_multi_add_handle(r->h->multi, r->slots[s].easy);
	r->slot_busy[s] = 1;
	r->rj[i].active = 1;
	r->rj[i].slot = s;
	r->active++;
	return 0;
}

/* Takes job i's transfer out of the multi handle and frees its slot. */
static void
release_slot(struct runner *r, size_t i)
{
	curl_multi_remove_handle(r->h->multi, r->slots[r->rj[i].slot].easy);
	r->slot_busy[r->rj[i].slot] = 0;
	r->rj[i].active = 0;
	r->active--;
}

/* A stop's grace is over: abandons what is still in flight, apart from the
 * state's own requests (past_stop). */
static void
abandon_in_flight(struct runner *r)
{
	size_t i;

	for (i = 0; i < r->n; i++) {
		struct http_job *j = &r->jobs[i];

		if (!r->rj[i].active || j->req.past_stop)
			continue;
		(void)xfer_finish(&r->slots[r->rj[i].slot], CURLE_ABORTED_BY_CALLBACK);
		release_slot(r, i);
		job_end(r, i, RC_REMOTE);
		j->resp.fail = HTTP_ERR_TIMEOUT;
		str_copy(j->resp.err, sizeof(j->resp.err),
		    "abandoned: stopped (signal) and the grace ran out");
	}
}

/* A read whose 2xx body is cut or malformed: failed like a 5xx, so that it
 * is retried. Returns the job's rc after the check. */
static enum rc
check_body(struct http *h, struct http_job *j, enum rc rc)
{
	char why[200] = "";
	struct buf safe = BUF_INIT;

	if (rc != RC_OK || !j->idempotent || j->body_ok == NULL || j->resp.status < 200 ||
	    j->resp.status >= 300 || j->req.download != NULL)
		return rc;
	if (j->body_ok(&j->resp, j->body_ok_arg, why, sizeof(why)))
		return rc;
	buf_addf(&safe, "HTTP %ld, ", j->resp.status);
	text_escape(&safe, why, strlen(why));
	j->resp.fail = HTTP_ERR_BODY;
	j->resp.status = 0;	/* as for any failed transfer */
	str_copy(j->resp.err, sizeof(j->resp.err), safe.p ? safe.p : "");
	buf_free(&safe);
	h->stats.bad_bodies++;
	return j->rc = RC_REMOTE;
}

/* How long job j waits before its next attempt: the server's Retry-After
 * (capped), else a full-jitter exponential backoff. */
static long
retry_wait(struct runner *r, const struct http_job *j, enum rc rc)
{
	long wait = rc == RC_OK ? http_retry_after_ms(http_header(&j->resp, "retry-after"),
	    now_ms() / 1000) : -1;

	if (wait > r->ra_cap)
		wait = r->ra_cap;
	if (wait < 0) {
		long ceil = r->base;
		int a;
		for (a = 1; a < j->attempts && ceil < r->cap; a++)
			ceil *= 2;
		if (ceil > r->cap)
			ceil = r->cap;
		wait = (long)(rng_next(r->h) % (uint64_t)(ceil + 1));
	}
	return wait;
}

/* A transfer is over: settles its job, or schedules its retry. */
static void
transfer_done(struct runner *r, CURLMsg *msg)
{
	const struct http_policy *pol = r->pol;
	struct http_job *j;
	enum rc rc;
	long wait;
	size_t k;

	for (k = 0; k < r->n; k++)
		if (r->rj[k].active && r->slots[r->rj[k].slot].easy == msg->easy_handle)
			break;
	if (k == r->n)
		return;
	j = &r->jobs[k];
	rc = xfer_finish(&r->slots[r->rj[k].slot], msg->data.result);
	release_slot(r, k);
	if (pol->pacer.after != NULL)
		pol->pacer.after(pol->pacer.arg, &j->resp);
	j->rc = rc;
	/* tests: die right after the Nth write landed, before anyone saw it */
	if (rc == RC_OK && strcmp(j->req.method, "GET") != 0 && j->resp.status < 300 &&
	    !j->req.credential)
		test_hook("http-write");
	rc = check_body(r->h, j, rc);
	if (rc == RC_OK && j->resp.status == 429)
		r->rj[k].n429++;
	if (budget_spent(r, k, rc) || !should_retry(j, rc)) {
		r->rj[k].done = 1;
		r->left--;
		return;
	}
	wait = retry_wait(r, j, rc);
	if (pol->deadline_ms > 0 && mono_ms() + wait >= pol->deadline_ms) {
		log_debug("http", "%s %s: not retrying, the deadline is %lld ms away",
		    j->req.method, j->req.url, (long long)(pol->deadline_ms - mono_ms()));
		/* a retryable status, and no time left */
		job_end(r, k, j->rc == RC_OK ? RC_REMOTE : j->rc);
		return;
	}
	log_debug("http", "%s %s: attempt %d got %ld%s%s; retrying in %ld ms",
	    j->req.method, j->req.url, j->attempts, j->resp.status,
	    j->resp.fail ? " " : "", j->resp.fail ? j->resp.err : "", wait);
	r->h->stats.retries++;
	r->rj[k].not_before = mono_ms() + wait;
}

/* One turn of http_run's loop: starts what may start, then waits for and
 * settles transfers. */
static void
run_turn(struct runner *r)
{
	int64_t now = mono_ms(), wake = now + 1000;
	int running = 0;
	CURLMsg *msg;
	int nmsg;
	size_t i;

	for (i = 0; i < r->n && r->active < r->conc; i++)
		if (start_job(r, i, now, &wake))
			break;
	if (r->left == 0)
		return;
	if (r->active == 0) {
		long w = (long)(wake - mono_ms());
		if (w > 0) {
			r->h->stats.waited_ms += w;
			sleep_ms(w);
		}
		return;
	}
	if (stop_requested() && now - stop_requested_at() > stop_grace_ms()) {
		abandon_in_flight(r);
		if (r->active == 0)
			return;
	}
	curl_multi_perform(r->h->multi, &running);
	while ((msg = curl_multi_info_read(r->h->multi, &nmsg)) != NULL)
		if (msg->msg == CURLMSG_DONE)
			transfer_done(r, msg);
	if (r->active > 0) {
		long w = (long)(wake - mono_ms());
		if (w < 0)
			w = 0;
		if (w > 1000)
			w = 1000;
		curl_multi_poll(r->h->multi, NULL, 0, (int)w, NULL);
	}
}

void
http_run(struct http *h, struct http_job *jobs, size_t n, const struct http_policy *pol)
{
	struct runner *r = xcalloc(1, sizeof(*r));
	size_t i;

	r->h = h;
	r->jobs = jobs;
	r->n = n;
	r->pol = pol;
	r->rj = xcalloc(n ? n : 1, sizeof(*r->rj));
	r->conc = pol->concurrency < 1 ? 1 : pol->concurrency > MAX_SLOTS ? MAX_SLOTS :
	    pol->concurrency;
	r->base = pol->backoff_base_ms > 0 ? pol->backoff_base_ms : 500;
	r->cap = pol->backoff_cap_ms > 0 ? pol->backoff_cap_ms : 30000;
	r->ra_cap = pol->retry_after_cap_ms > 0 ? pol->retry_after_cap_ms : 120000;
	r->max429 = pol->max_retries_429 > 0 ? pol->max_retries_429 : 3 * pol->max_retries;
	r->left = n;
	for (i = 0; i < n; i++) {
		memset(&jobs[i].resp, 0, sizeof(jobs[i].resp));
		jobs[i].rc = RC_BUG;
		jobs[i].attempts = 0;
	}
	while (r->left > 0)
		run_turn(r);
	/* A job that ends on a retryable status after its last attempt: the
	 * remote is unavailable, whatever the status was. */
	for (i = 0; i < n && pol->max_retries > 0; i++)
		if (jobs[i].rc == RC_OK && http_status_retryable(jobs[i].resp.status) &&
		    budget_spent(r, i, jobs[i].rc))
			jobs[i].rc = RC_REMOTE;
	free(r->rj);
	free(r);
}

enum rc
http_call(struct http *h, struct http_job *job, const struct http_policy *pol)
{
	http_run(h, job, 1, pol);
	return job->rc;
}

enum rc
http_do(struct http *h, const struct http_req *req, struct http_resp *resp)
{
	struct http_job job;
	struct http_policy pol;

	memset(&job, 0, sizeof(job));
	memset(&pol, 0, sizeof(pol));
	job.req = *req;
	pol.concurrency = 1;
	pol.max_retries = 0;
	pol.deadline_ms = req->deadline_ms;
	http_run(h, &job, 1, &pol);
	*resp = job.resp;
	return job.rc;
}

const struct http_stats *
http_get_stats(const struct http *h)
{
	return &h->stats;
}

void
http_lib_versions(struct buf *out)
{
	const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);

	buf_addf(out, "libcurl/%s %s zlib/%s", v->version, v->ssl_version ? v->ssl_version : "no-TLS",
	    v->libz_version ? v->libz_version : "none");
}

void
http_urlencode(struct buf *out, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		if (isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~')
			buf_addc(out, (char)c);
		else {
			buf_addc(out, '%');
			buf_addc(out, hex[c >> 4]);
			buf_addc(out, hex[c & 15]);
		}
	}
}
