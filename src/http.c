/* http.c — see http.h. The only file that includes curl. */
#define _POSIX_C_SOURCE 200809L
#include "http.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <mbedtls/ssl.h>

#include "log.h"

#ifndef ATSRECON_VERSION
#define ATSRECON_VERSION "0.0.0-dev"
#endif

#define MAX_HEADERS 128
#define MAX_HEADER_BYTES (64 * 1024)

extern const char ca_bundle_pem[];
extern const char ca_bundle_pem_end[];

struct http {
	CURLM *multi;
	CURL *easy;		/* reused; the multi handle keeps the connections */
	char *ca_file;
	long connect_timeout_ms;
	long timeout_ms;
	size_t max_body;
	char *user_agent;
};

/* Per-transfer context for the callbacks. */
struct xfer {
	struct http *h;
	CURL *easy;
	struct http_resp *resp;
	size_t header_bytes;
	int too_big;
	int tls_seen;
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
	h->easy = curl_easy_init();
	if (h->multi == NULL || h->easy == NULL) {
		http_free(h);
		return RC_BUG;
	}
	h->ca_file = ca != NULL && *ca != '\0' ? xstrdup(ca) : NULL;
	h->connect_timeout_ms = cfg->connect_timeout_ms > 0 ? cfg->connect_timeout_ms : 10000;
	h->timeout_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : 60000;
	h->max_body = cfg->max_body > 0 ? cfg->max_body : 16u * 1024 * 1024;
	h->user_agent = xstrdup(cfg->user_agent ? cfg->user_agent : "atsrecon/" ATSRECON_VERSION);
	curl_multi_setopt(h->multi, CURLMOPT_MAXCONNECTS, 16L);
	log_debug("http", "CA: %s", h->ca_file ? h->ca_file : "built-in bundle");
	*out = h;
	return RC_OK;
}

void
http_free(struct http *h)
{
	if (h == NULL)
		return;
	if (h->easy != NULL)
		curl_easy_cleanup(h->easy);
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
	if (x->resp->body.len + len > x->h->max_body) {
		x->too_big = 1;
		return 0;	/* aborts the transfer */
	}
	buf_add(&x->resp->body, data, len);
	return len;
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

/* Runs one easy handle to completion on the multi handle. */
static CURLcode
run_multi(struct http *h, CURL *easy)
{
	CURLcode result = CURLE_OK;
	int running = 1, done = 0;

	if (curl_multi_add_handle(h->multi, easy) != CURLM_OK)
		return CURLE_FAILED_INIT;
	while (!done) {
		CURLMsg *msg;
		int left;

		if (curl_multi_perform(h->multi, &running) != CURLM_OK) {
			result = CURLE_FAILED_INIT;
			break;
		}
		while ((msg = curl_multi_info_read(h->multi, &left)) != NULL)
			if (msg->msg == CURLMSG_DONE && msg->easy_handle == easy) {
				result = msg->data.result;
				done = 1;
			}
		if (!done && running > 0 && curl_multi_poll(h->multi, NULL, 0, 1000, NULL) != CURLM_OK) {
			result = CURLE_FAILED_INIT;
			break;
		}
	}
	curl_multi_remove_handle(h->multi, easy);
	return result;
}

enum rc
http_do(struct http *h, const struct http_req *req, struct http_resp *resp)
{
	struct curl_slist *hdrs = NULL;
	struct xfer x;
	struct buf line = BUF_INIT;
	char errbuf[CURL_ERROR_SIZE] = "";
	CURL *e = h->easy;
	CURLcode cc;
	long timeout = h->timeout_ms, nconn = 0;
	const char *const *hp;
	enum rc rc = RC_REMOTE;
	int64_t t0 = mono_ms();

	memset(resp, 0, sizeof(*resp));
	if (!url_allowed(req->url)) {
		resp->fail = HTTP_ERR_URL;
		str_copy(resp->err, sizeof(resp->err),
		    "only https:// URLs (or http:// to a loopback host) are allowed");
		return RC_CONFIG;
	}
	if (req->deadline_ms > 0) {
		int64_t left = req->deadline_ms - t0;
		if (left <= 0) {
			resp->fail = HTTP_ERR_TIMEOUT;
			str_copy(resp->err, sizeof(resp->err), "deadline reached before the request");
			return RC_REMOTE;
		}
		if (left < timeout)
			timeout = (long)left;
	}
	memset(&x, 0, sizeof(x));
	x.h = h;
	x.easy = e;
	x.resp = resp;

	curl_easy_reset(e);
	curl_easy_setopt(e, CURLOPT_URL, req->url);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(e, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	if (h->ca_file != NULL)
		curl_easy_setopt(e, CURLOPT_CAINFO, h->ca_file);
	else {
		struct curl_blob blob;
		blob.data = (void *)ca_bundle_pem;
		blob.len = (size_t)(ca_bundle_pem_end - ca_bundle_pem);
		blob.flags = CURL_BLOB_NOCOPY;
		curl_easy_setopt(e, CURLOPT_CAINFO_BLOB, &blob);
	}
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, h->connect_timeout_ms < timeout ?
	    h->connect_timeout_ms : timeout);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout);
	curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)h->max_body);
	curl_easy_setopt(e, CURLOPT_USERAGENT, h->user_agent);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, &x);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, &x);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);

	if (req->body != NULL) {
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, req->body);
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
		buf_addf(&line, "Content-Type: %s", req->content_type ? req->content_type : "application/json");
		hdrs = curl_slist_append(hdrs, line.p);
		buf_reset(&line);
	}
	if (strcmp(req->method, "GET") == 0)
		curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
	else if (strcmp(req->method, "POST") != 0 || req->body == NULL)
		curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, req->method);
	if (req->body == NULL && strcmp(req->method, "POST") == 0)
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, 0L);
	hdrs = curl_slist_append(hdrs, "Accept: application/json");
	hdrs = curl_slist_append(hdrs, "Expect:");	/* no 100-continue round trip */
	if (req->bearer != NULL) {
		buf_addf(&line, "Authorization: Bearer %s", req->bearer);
		hdrs = curl_slist_append(hdrs, line.p);
		buf_reset(&line);
	} else if (req->basic_user != NULL) {
		curl_easy_setopt(e, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(e, CURLOPT_USERNAME, req->basic_user);
		curl_easy_setopt(e, CURLOPT_PASSWORD, req->basic_pass ? req->basic_pass : "");
	}
	for (hp = req->headers; hp != NULL && *hp != NULL; hp++)
		hdrs = curl_slist_append(hdrs, *hp);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdrs);

	cc = run_multi(h, e);
	resp->elapsed_ms = (long)(mono_ms() - t0);
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &resp->status);
	curl_easy_getinfo(e, CURLINFO_NUM_CONNECTS, &nconn);
	resp->new_connection = nconn > 0;
	if (x.too_big || cc == CURLE_FILESIZE_EXCEEDED) {
		resp->fail = HTTP_ERR_TOOBIG;
		snprintf(resp->err, sizeof(resp->err), "response body larger than %zu bytes", h->max_body);
		buf_free(&resp->body);
	} else if (cc != CURLE_OK) {
		struct buf safe = BUF_INIT;
		size_t el = strlen(errbuf);
		while (el > 0 && (errbuf[el - 1] == '\n' || errbuf[el - 1] == '\r'))
			errbuf[--el] = '\0';
		resp->fail = classify(cc);
		text_escape(&safe, errbuf[0] ? errbuf : curl_easy_strerror(cc),
		    strlen(errbuf[0] ? errbuf : curl_easy_strerror(cc)));
		str_copy(resp->err, sizeof(resp->err), safe.p);
		buf_free(&safe);
		if (cc == CURLE_SSL_CACERT_BADFILE)
			rc = RC_CONFIG;
	} else {
		resp->fail = HTTP_OK;
		if (resp->body.p == NULL)
			buf_add(&resp->body, "", 0);
		rc = RC_OK;
	}
	if (resp->fail != HTTP_OK)
		resp->status = resp->fail == HTTP_ERR_TOOBIG ? resp->status : 0;
	log_debug("http", "%s %s -> %ld%s%s (%s%s%ld ms, %zu bytes%s)", req->method, req->url,
	    resp->status, resp->fail ? " " : "", resp->fail ? resp->err : "",
	    resp->tls_version[0] ? resp->tls_version : "plain", ", ", resp->elapsed_ms,
	    resp->body.len, resp->new_connection ? ", new connection" : "");
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, NULL);
	curl_slist_free_all(hdrs);
	buf_free(&line);
	return rc;
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
