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

#include "util.h"

struct http_cfg {
	const char *ca_file;		/* NULL: $SSL_CERT_FILE, else the built-in bundle */
	long connect_timeout_ms;	/* TCP + TLS handshake */
	long timeout_ms;		/* whole request */
	size_t max_body;		/* largest response body accepted */
	const char *user_agent;		/* NULL: "atsrecon/<version>" */
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

/* Performs one request. Returns RC_OK when a response arrived (look at
 * resp->status), RC_REMOTE for transport failures (resp->fail says which),
 * RC_CONFIG for a refused URL or an unusable CA file. resp must be zeroed or
 * freed before; the caller frees it with http_resp_free. */
enum rc http_do(struct http *, const struct http_req *, struct http_resp *resp);
void http_resp_free(struct http_resp *);

/* Value of a response header (case-insensitive name), or NULL. */
const char *http_header(const struct http_resp *, const char *name);
const char *http_fail_str(enum http_fail);

/* "libcurl/8.14.1 mbedTLS/3.6.6 zlib/1.3.1" */
void http_lib_versions(struct buf *out);
/* Percent-encodes s for a query string (RFC 3986 unreserved kept). */
void http_urlencode(struct buf *out, const char *s);

#endif
