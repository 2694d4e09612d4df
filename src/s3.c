/* s3.c — see s3.h. */
#define _XOPEN_SOURCE 700
#include "s3.h"
#include "session.h"
#include "state.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <ftw.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <mbedtls/md5.h>
#include <mbedtls/sha256.h>

#include "http.h"
#include "jtree.h"
#include "log.h"

#define MEM_MAX (1024 * 1024)			/* lease objects, error bodies */
#define DOWNLOAD_MAX ((int64_t)8 << 30)		/* the state's LMDB map size */
#define CONFLICT_RETRIES 4			/* 409s retried, 100 ms doubling */
#define LEASE_ROUNDS 4
#define SHA256_META "x-amz-meta-sha256"	/* the snapshot's checksum (user metadata) */

enum { LEASE_HELD, LEASE_TAKEN };	/* (an expiry is judged by the clock: held_until) */

struct s3state;
static void hb_start(struct s3state *, const struct config *, int64_t t_taken);

struct s3 {
	struct http *h;
	char *endpoint;		/* NULL: AWS */
	char *region;
	char *bucket;
	char *prefix;
	char *key_id, *secret, *token;
	char *sigv4;		/* "aws:amz:REGION:s3" */
	int max_retries;
	struct api_err err;	/* why the last failing request failed */
};

struct s3state {
	struct s3 *s3;
	struct api_err err;	/* why the last failing step failed (see s3state_error) */
	char *url;		/* s3://bucket/prefix, for messages */
	char *base;		/* private temp directory */
	char *dir;		/* base/state: the LMDB environment */
	char *upload;		/* base/upload.mdb: the compact copy */
	char *state_key, *lease_key;
	char state_etag[S3_ETAG_MAX];	/* "" : no remote state yet */
	char lease_etag[S3_ETAG_MAX];
	char owner[33];
	int have_lease;
	int64_t ttl_ms;
	int64_t lease_at_ms;		/* when the lease was (re)written */
	/* The heartbeat (see s3.h): a thread with its own client renews the
	 * lease every ttl/3. While it runs, it alone touches the lease fields
	 * above; the run reads only these atomics, and joins it first. */
	struct s3 *hb_s3;
	pthread_t hb;
	int hb_running;
	pthread_mutex_t hb_mu;
	pthread_cond_t hb_cv;
	int hb_quit;			/* under hb_mu */
	int owns_stop;			/* this lease set the process's stop deadline */
	_Atomic int lost;		/* LEASE_HELD, LEASE_TAKEN, LEASE_EXPIRED */
	_Atomic int64_t held_until;	/* mono_ms: the lease's end as we wrote it */
	_Atomic long renewals;
	int synced;			/* synced_txnid is what S3 holds */
	uint64_t synced_txnid;
	long uploads;
};

/* ---- names and URLs --------------------------------------------------------------------- */

static int
bucket_ok(const char *b)
{
	size_t n = strlen(b), i;

	if (n < 3 || n > 63)
		return 0;
	for (i = 0; i < n; i++) {
		char c = b[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-'))
			return 0;
	}
	return b[0] != '.' && b[0] != '-' && b[n - 1] != '.' && b[n - 1] != '-';
}

enum rc
s3_parse_url(const char *url, char **bucket, char **prefix, struct buf *err)
{
	const char *p, *slash;
	size_t n;
	char *b;

	if (url == NULL || strncmp(url, "s3://", 5) != 0) {
		buf_addf(err, "state.url must look like s3://bucket/prefix");
		return RC_CONFIG;
	}
	p = url + 5;
	slash = strchr(p, '/');
	b = slash ? xstrndup(p, (size_t)(slash - p)) : xstrdup(p);
	if (!bucket_ok(b)) {
		buf_addf(err, "state.url: \"%s\" is not an S3 bucket name (3-63 of a-z 0-9 . -)", b);
		free(b);
		return RC_CONFIG;
	}
	p = slash ? slash + 1 : "";
	while (*p == '/')
		p++;
	n = strlen(p);
	while (n > 0 && p[n - 1] == '/')
		n--;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f || p[i] == '\\') {
			buf_addf(err, "state.url: the prefix holds a control character or backslash");
			free(b);
			return RC_CONFIG;
		}
	if (!utf8_valid(p, n) || n > 900) {
		buf_addf(err, "state.url: the prefix is not UTF-8 or longer than 900 bytes");
		free(b);
		return RC_CONFIG;
	}
	*bucket = b;
	*prefix = xstrndup(p, n);
	return RC_OK;
}

void
s3_key_path(struct buf *out, const char *key)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p;

	for (p = (const unsigned char *)key; *p != '\0'; p++) {
		unsigned char c = *p;
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '.' || c == '_' || c == '~' || c == '/')
			buf_addc(out, (char)c);
		else {
			buf_addc(out, '%');
			buf_addc(out, hex[c >> 4]);
			buf_addc(out, hex[c & 15]);
		}
	}
}

void
s3_object_url(struct buf *out, const char *endpoint, const char *region, const char *bucket,
    const char *key)
{
	const char *dom = strncmp(region, "cn-", 3) == 0 ? "amazonaws.com.cn" : "amazonaws.com";

	if (endpoint != NULL)
		buf_addf(out, "%s/%s/", endpoint, bucket);
	else if (strchr(bucket, '.') != NULL)
		buf_addf(out, "https://s3.%s.%s/%s/", region, dom, bucket);
	else
		buf_addf(out, "https://%s.s3.%s.%s/", bucket, region, dom);
	s3_key_path(out, key);
}

/* ---- the client --------------------------------------------------------------------------- */

static int
region_ok(const char *r)
{
	size_t n = strlen(r);

	if (n == 0 || n > 64)
		return 0;
	for (; *r != '\0'; r++)
		if (!((*r >= 'a' && *r <= 'z') || (*r >= '0' && *r <= '9') || *r == '-'))
			return 0;
	return 1;
}

static const char *
env_nonempty(const char *name)
{
	const char *v = getenv(name);

	return v != NULL && *v != '\0' ? v : NULL;
}

void
s3_close(struct s3 *s)
{
	if (s == NULL)
		return;
	http_free(s->h);
	free(s->endpoint);
	free(s->region);
	free(s->bucket);
	free(s->prefix);
	free(s->key_id);
	if (s->secret != NULL)
		memset(s->secret, 0, strlen(s->secret));
	free(s->secret);
	if (s->token != NULL)
		memset(s->token, 0, strlen(s->token));
	free(s->token);
	free(s->sigv4);
	free(s);
}

static enum rc s3_open_with(const struct config *cfg, long timeout_ms, struct s3 **out,
    struct api_err *e);

enum rc
s3_open(const struct config *cfg, struct s3 **out)
{
	return s3_open_with(cfg, 0, out, NULL);
}

/* timeout_ms > 0: a whole-request timeout shorter than http.timeout. */
static enum rc
s3_open_with(const struct config *cfg, long timeout_ms, struct s3 **out, struct api_err *e)
{
	struct s3 *s = xcalloc(1, sizeof(*s));
	struct http_cfg hc;
	struct buf err = BUF_INIT;
	const char *region = cfg_str(cfg, OPT_STATE_REGION), *ep = cfg_str(cfg, OPT_STATE_ENDPOINT);
	const char *kid = env_nonempty("AWS_ACCESS_KEY_ID"), *sec = env_nonempty("AWS_SECRET_ACCESS_KEY");
	const char *tok = env_nonempty("AWS_SESSION_TOKEN");
	enum rc rc = RC_CONFIG;
	size_t n;

	if (s3_parse_url(cfg_str(cfg, OPT_STATE_URL), &s->bucket, &s->prefix, &err) != RC_OK) {
		api_fail(e, "s3", 0, NULL, "%s", err.p);
		goto out;
	}
	if (region == NULL || *region == '\0')
		region = env_nonempty("AWS_REGION");
	if (region == NULL)
		region = env_nonempty("AWS_DEFAULT_REGION");
	if (region == NULL)
		region = "us-east-1";
	if (!region_ok(region)) {
		api_fail(e, "s3", 0, NULL,
		    "region \"%s\" is not a region name (a-z 0-9 -)", region);
		goto out;
	}
	if (kid == NULL || sec == NULL) {
		api_fail(e, "s3", 0, NULL,
		    "remote state needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
		    "(and AWS_SESSION_TOKEN with temporary credentials) in the environment");
		goto out;
	}
	/* a header value must not end the header line early */
	if (strpbrk(kid, "\r\n:") != NULL || strpbrk(sec, "\r\n") != NULL ||
	    (tok != NULL && strpbrk(tok, "\r\n") != NULL)) {
		api_fail(e, "s3", 0, NULL,
		    "an AWS_* credential variable holds a line break or colon");
		goto out;
	}
	log_add_secret(kid);
	log_add_secret(sec);
	if (tok != NULL)
		log_add_secret(tok);
	s->key_id = xstrdup(kid);
	s->secret = xstrdup(sec);
	s->token = tok != NULL ? xstrdup(tok) : NULL;
	s->region = xstrdup(region);
	s->sigv4 = xasprintf("aws:amz:%s:s3", region);
	if (ep != NULL && *ep != '\0') {
		s->endpoint = xstrdup(ep);
		n = strlen(s->endpoint);
		while (n > 0 && s->endpoint[n - 1] == '/')
			s->endpoint[--n] = '\0';
	}
	s->max_retries = (int)cfg_int(cfg, OPT_HTTP_MAX_RETRIES);
	session_http_cfg(cfg, &hc);
	if (timeout_ms > 0 && timeout_ms < hc.timeout_ms)
		hc.timeout_ms = timeout_ms;
	hc.max_body = MEM_MAX;
	if ((rc = http_new(&hc, &s->h)) != RC_OK)
		goto out;
	rc = RC_OK;
out:
	buf_free(&err);
	if (rc != RC_OK) {
		s3_close(s);
		s = NULL;
	}
	*out = s;
	return rc;
}

const char *
s3_bucket(const struct s3 *s)
{
	return s->bucket;
}

const char *
s3_prefix(const struct s3 *s)
{
	return s->prefix;
}

/* The text of <tag>...</tag> in an S3 XML error, escaped, into out. */
static void
xml_field(const struct buf *body, const char *tag, char *out, size_t size)
{
	char open[32], close[32];
	const char *a, *b;
	struct buf safe = BUF_INIT;

	out[0] = '\0';
	if (body->p == NULL)
		return;
	snprintf(open, sizeof(open), "<%s>", tag);
	snprintf(close, sizeof(close), "</%s>", tag);
	if ((a = strstr(body->p, open)) == NULL)
		return;
	a += strlen(open);
	if ((b = strstr(a, close)) == NULL)
		return;
	text_escape(&safe, a, (size_t)(b - a));
	str_copy(out, size, safe.p ? safe.p : "");
	buf_free(&safe);
}

/* Auth failures S3 answers with 400 as well as 403. */
static int
auth_code(const char *code)
{
	static const char *const codes[] = { "AccessDenied", "InvalidAccessKeyId",
		"SignatureDoesNotMatch", "InvalidToken", "ExpiredToken", "TokenRefreshRequired",
		"AuthorizationHeaderMalformed", "RequestTimeTooSkewed", "InvalidSecurity" };
	size_t i;

	for (i = 0; i < ARRAY_LEN(codes); i++)
		if (strcmp(code, codes[i]) == 0)
			return 1;
	return 0;
}

/* A GET's 2xx body that says it is JSON (the lease) must parse: a cut or
 * corrupt one is read again (http.c retries it like a 5xx) instead of
 * counting as an unreadable, expired lease. Other objects are opaque. */
static int
s3_body_ok(const struct http_resp *r, void *arg, char *why, size_t why_size)
{
	const char *ct = http_header(r, "content-type");

	if (ct == NULL || strncasecmp(ct, "application/json", 16) != 0)
		return 1;
	return http_body_json(r, arg, why, why_size);
}

/* One request with http.max_retries; fills obj; maps the answer (see s3.h). */
static enum rc
s3_request(struct s3 *s, const char *method, const char *key, const char *const *hdrs,
    const struct s3_put *put, FILE *dl, struct buf *mem, int idempotent, struct s3_obj *obj)
{
	struct http_job job;
	struct http_policy pol;
	struct buf url = BUF_INIT, tokh = BUF_INIT;
	const char *h[12];
	const char *et;
	char msg[256];
	size_t nh = 0;
	enum rc rc;

	memset(&job, 0, sizeof(job));
	memset(&pol, 0, sizeof(pol));
	s3_object_url(&url, s->endpoint, s->region, s->bucket, key);
	for (; hdrs != NULL && *hdrs != NULL && nh < ARRAY_LEN(h) - 3; hdrs++)
		h[nh++] = *hdrs;
	if (s->token != NULL) {
		buf_addf(&tokh, "x-amz-security-token: %s", s->token);
		h[nh++] = tokh.p;
	}
	h[nh++] = "Accept: */*";	/* instead of http.c's application/json */
	h[nh] = NULL;
	job.req.method = method;
	job.req.url = url.p;
	job.req.headers = h;
	job.req.aws_sigv4 = s->sigv4;
	job.req.aws_key_id = s->key_id;
	job.req.aws_secret = s->secret;
	job.req.credential = 1;	/* state bookkeeping, not a data write */
	job.req.past_stop = 1;	/* a stopped run still saves its state */
	job.req.download = dl;
	job.req.download_max = DOWNLOAD_MAX;
	if (put != NULL && put->file != NULL) {
		job.req.upload = put->file;
		job.req.upload_size = put->size;
	} else if (put != NULL) {
		job.req.body = put->data != NULL ? put->data : "";
		job.req.body_len = put->len;
		job.req.content_type = put->content_type ? put->content_type : "application/octet-stream";
	}
	job.idempotent = idempotent;
	if (strcmp(method, "GET") == 0 && dl == NULL)
		job.body_ok = s3_body_ok;
	pol.concurrency = 1;
	pol.max_retries = s->max_retries;
	rc = http_call(s->h, &job, &pol);
	obj->status = job.resp.status;
	obj->code[0] = '\0';
	obj->etag[0] = '\0';
	obj->sha256[0] = '\0';
	if ((et = http_header(&job.resp, "etag")) != NULL && strlen(et) < S3_ETAG_MAX &&
	    strpbrk(et, "\r\n") == NULL)
		str_copy(obj->etag, sizeof(obj->etag), et);
	if ((et = http_header(&job.resp, SHA256_META)) != NULL) {
		/* 64 hex digits, or it is kept as "?" (present, but no checksum of ours) */
		size_t k, n = strlen(et);
		int ok = n == 64;
		for (k = 0; ok && k < n; k++)
			ok = (et[k] >= '0' && et[k] <= '9') || (et[k] >= 'a' && et[k] <= 'f') ||
			    (et[k] >= 'A' && et[k] <= 'F');
		if (ok)
			for (k = 0; k <= n; k++)
				obj->sha256[k] = (char)(et[k] >= 'A' && et[k] <= 'F' ? et[k] + 32 : et[k]);
		else
			str_copy(obj->sha256, sizeof(obj->sha256), "?");
	}
	if (rc == RC_OK && job.resp.status >= 200 && job.resp.status < 300) {
		if (mem != NULL && job.resp.body.p != NULL)
			buf_add(mem, job.resp.body.p, job.resp.body.len);
		goto out;
	}
	if (rc == RC_OK || (rc == RC_REMOTE && job.resp.status != 0)) {
		xml_field(&job.resp.body, "Code", obj->code, sizeof(obj->code));
		xml_field(&job.resp.body, "Message", msg, sizeof(msg));
		if (job.resp.status == 412 || job.resp.status == 409 ||
		    (job.resp.status == 404 && strcmp(obj->code, "NoSuchBucket") != 0) ||
		    job.resp.status == 304) {
			rc = RC_RECORD;
			goto out;
		}
		if (job.resp.status == 404)
			rc = RC_CONFIG;
		else if (job.resp.status == 401 || job.resp.status == 403 || auth_code(obj->code))
			rc = RC_AUTH;
		else if (job.resp.status >= 500 || job.resp.status == 429 || job.resp.status == 408)
			rc = RC_REMOTE;
		else
			rc = RC_STATE;
		api_fail(&s->err, "s3", job.resp.status, NULL,
		    "%s s3://%s/%s: %ld %s%s%s", method, s->bucket, key, job.resp.status,
		    obj->code[0] ? obj->code : "(no error code)", msg[0] ? ": " : "", msg);
		if (strcmp(obj->code, "AuthorizationHeaderMalformed") == 0) {
			xml_field(&job.resp.body, "Region", msg, sizeof(msg));
			if (msg[0] != '\0')
				log_error("s3", "the bucket is in region %s (state.region or AWS_REGION)",
				    msg);
		}
		goto out;
	}
	api_fail(&s->err, "s3", 0, NULL,
	    "%s s3://%s/%s: %s: %s", method, s->bucket, key, http_fail_str(job.resp.fail),
	    job.resp.err);
out:
	if (tokh.p != NULL)
		memset(tokh.p, 0, tokh.len);
	buf_free(&tokh);
	buf_free(&url);
	http_resp_free(&job.resp);
	return rc;
}

enum rc
s3_get(struct s3 *s, const char *key, FILE *to, struct buf *mem, const char *range,
    struct s3_obj *obj)
{
	struct buf rh = BUF_INIT;
	const char *h[2] = { NULL, NULL };
	enum rc rc;
	long pos;

	memset(obj, 0, sizeof(*obj));
	if (range != NULL) {
		buf_addf(&rh, "Range: %s", range);
		h[0] = rh.p;
	}
	rc = s3_request(s, "GET", key, h, NULL, to, to == NULL ? mem : NULL, 1, obj);
	if (rc == RC_OK && to != NULL && (pos = ftell(to)) >= 0)
		obj->size = pos;
	else if (rc == RC_OK && mem != NULL)
		obj->size = (int64_t)mem->len;
	buf_free(&rh);
	return rc;
}

static void
b64_16(const unsigned char in[16], char out[25])
{
	static const char tab[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i, o = 0;

	for (i = 0; i + 3 <= 15; i += 3) {
		unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 | in[i + 2];
		out[o++] = tab[v >> 18 & 63];
		out[o++] = tab[v >> 12 & 63];
		out[o++] = tab[v >> 6 & 63];
		out[o++] = tab[v & 63];
	}
	/* one byte left (16 = 5 * 3 + 1) */
	out[o++] = tab[in[15] >> 2];
	out[o++] = tab[(in[15] & 3) << 4];
	out[o++] = '=';
	out[o++] = '=';
	out[o] = '\0';
}

static void
md5_out(const unsigned char d[16], char hex[33], char b64[25])
{
	static const char hx[] = "0123456789abcdef";
	int i;

	for (i = 0; i < 16; i++) {
		hex[2 * i] = hx[d[i] >> 4];
		hex[2 * i + 1] = hx[d[i] & 15];
	}
	hex[32] = '\0';
	b64_16(d, b64);
}

int
s3_hash_file(FILE *f, char hex[33], char b64[25], char sha256[65], int64_t *size)
{
	static const char hx[] = "0123456789abcdef";
	mbedtls_md5_context c;
	mbedtls_sha256_context sc;
	unsigned char d[16], sd[32];
	char *chunk = xmalloc(1 << 20);
	size_t n;
	int64_t total = 0;
	int rv = -1, i;

	mbedtls_md5_init(&c);
	mbedtls_sha256_init(&sc);
	rewind(f);
	if ((hex != NULL && mbedtls_md5_starts(&c) != 0) ||
	    (sha256 != NULL && mbedtls_sha256_starts(&sc, 0) != 0))
		goto out;
	while ((n = fread(chunk, 1, 1 << 20, f)) > 0) {
		if ((hex != NULL && mbedtls_md5_update(&c, (unsigned char *)chunk, n) != 0) ||
		    (sha256 != NULL && mbedtls_sha256_update(&sc, (unsigned char *)chunk, n) != 0))
			goto out;
		total += (int64_t)n;
	}
	if (ferror(f) || (hex != NULL && mbedtls_md5_finish(&c, d) != 0) ||
	    (sha256 != NULL && mbedtls_sha256_finish(&sc, sd) != 0))
		goto out;
	if (hex != NULL)
		md5_out(d, hex, b64);
	if (sha256 != NULL) {
		for (i = 0; i < 32; i++) {
			sha256[2 * i] = hx[sd[i] >> 4];
			sha256[2 * i + 1] = hx[sd[i] & 15];
		}
		sha256[64] = '\0';
	}
	if (size != NULL)
		*size = total;
	rv = 0;
out:
	mbedtls_md5_free(&c);
	mbedtls_sha256_free(&sc);
	free(chunk);
	rewind(f);
	return rv;
}

int
s3_md5_file(FILE *f, char hex[33], char b64[25], int64_t *size)
{
	return s3_hash_file(f, hex, b64, NULL, size);
}

enum rc
s3_put(struct s3 *s, const char *key, const struct s3_put *put, struct s3_obj *obj)
{
	struct buf md5h = BUF_INIT, cond = BUF_INIT, ct = BUF_INIT, sh = BUF_INIT;
	const char *h[5];
	char b64[25];
	size_t nh = 0;
	int attempt;
	enum rc rc = RC_STATE;

	memset(obj, 0, sizeof(*obj));
	if (put->file != NULL) {
		if (s3_md5_file(put->file, obj->md5, b64, NULL) != 0) {
			api_fail(&s->err, "s3", 0, NULL,
			    "reading the upload for s3://%s/%s failed: %s", s->bucket, key,
			    strerror(errno));
			return RC_STATE;
		}
	} else {
		unsigned char d[16];
		if (mbedtls_md5((const unsigned char *)(put->data ? put->data : ""), put->len, d) != 0)
			return RC_BUG;
		md5_out(d, obj->md5, b64);
	}
	buf_addf(&md5h, "Content-MD5: %s", b64);
	h[nh++] = md5h.p;
	if (put->if_match != NULL) {
		buf_addf(&cond, "If-Match: %s", put->if_match);
		h[nh++] = cond.p;
	} else if (put->if_none_match)
		h[nh++] = "If-None-Match: *";
	if (put->file != NULL) {	/* (http.c sends a body held in memory) */
		buf_addf(&ct, "Content-Type: %s",
		    put->content_type ? put->content_type : "application/octet-stream");
		h[nh++] = ct.p;
	}
	if (put->sha256 != NULL) {
		buf_addf(&sh, SHA256_META ": %s", put->sha256);
		h[nh++] = sh.p;
	}
	h[nh] = NULL;
	for (attempt = 0; attempt <= CONFLICT_RETRIES; attempt++) {
		char md5[33];

		str_copy(md5, sizeof(md5), obj->md5);
		rc = s3_request(s, "PUT", key, h, put, NULL, NULL,
		    put->if_match == NULL && !put->if_none_match, obj);
		str_copy(obj->md5, sizeof(obj->md5), md5);
		if (!(rc == RC_RECORD && obj->status == 409) || attempt == CONFLICT_RETRIES)
			break;
		log_debug("s3", "PUT s3://%s/%s: 409 %s, retrying", s->bucket, key, obj->code);
		sleep_ms((100L << attempt) + (long)(mono_ms() % 50));
	}
	buf_free(&md5h);
	buf_free(&cond);
	buf_free(&ct);
	buf_free(&sh);
	return rc;
}

enum rc
s3_delete(struct s3 *s, const char *key, const char *if_match, struct s3_obj *obj)
{
	struct buf cond = BUF_INIT;
	const char *h[2] = { NULL, NULL };
	enum rc rc;

	memset(obj, 0, sizeof(*obj));
	if (if_match != NULL) {
		buf_addf(&cond, "If-Match: %s", if_match);
		h[0] = cond.p;
	}
	rc = s3_request(s, "DELETE", key, h, NULL, NULL, NULL, 1, obj);
	buf_free(&cond);
	return rc;
}

/* ---- the lease ---------------------------------------------------------------------------- */

static void
random_hex(char *out, size_t nbytes)
{
	static const char hx[] = "0123456789abcdef";
	unsigned char b[32];
	size_t i;
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	int ok = fd >= 0 && nbytes <= sizeof(b) && read(fd, b, nbytes) == (ssize_t)nbytes;

	if (fd >= 0)
		close(fd);
	if (!ok) {
		uint64_t x = (uint64_t)now_ms() ^ (uint64_t)mono_ms() << 20 ^ (uint64_t)getpid() << 40;
		for (i = 0; i < nbytes && i < sizeof(b); i++) {
			x = x * 6364136223846793005ULL + 1442695040888963407ULL;
			b[i] = (unsigned char)(x >> 56);
		}
	}
	for (i = 0; i < nbytes; i++) {
		out[2 * i] = hx[b[i] >> 4];
		out[2 * i + 1] = hx[b[i] & 15];
	}
	out[2 * nbytes] = '\0';
}

/* The lease object's body; returns its expires_ms. */
static int64_t
lease_body(const struct s3state *st, struct buf *out)
{
	char host[256] = "", t1[32], t2[32];
	int64_t now = now_ms();

	if (gethostname(host, sizeof(host) - 1) != 0)
		str_copy(host, sizeof(host), "?");
	fmt_rfc3339_ms(now, t1, sizeof(t1));
	fmt_rfc3339_ms(now + st->ttl_ms, t2, sizeof(t2));
	buf_addf(out, "{\"owner\":\"%s\",\"host\":", st->owner);
	json_escape(out, host, strlen(host));
	buf_addf(out, ",\"pid\":%ld,\"acquired_ms\":%lld,\"expires_ms\":%lld,\"acquired\":\"%s\","
	    "\"expires\":\"%s\",\"tool\":\"atsrecon\"}", (long)getpid(), (long long)now,
	    (long long)(now + st->ttl_ms), t1, t2);
	return now + st->ttl_ms;
}

/* What a lease object says. */
struct lease_info {
	char owner[40];
	char host[80];
	int64_t pid;
	int64_t expires_ms;	/* 0: unreadable (counts as expired) */
};

static void
lease_parse(const struct buf *b, struct lease_info *li)
{
	struct buf err = BUF_INIT;
	cJSON *j = b->p != NULL ? json_parse(b->p, b->len, &err) : NULL;
	const char *v;

	memset(li, 0, sizeof(*li));
	if (j != NULL) {
		if ((v = json_str(j, "owner")) != NULL)
			str_copy(li->owner, sizeof(li->owner), v);
		if ((v = json_str(j, "host")) != NULL) {
			struct buf safe = BUF_INIT;
			text_escape(&safe, v, strlen(v));
			str_copy(li->host, sizeof(li->host), safe.p ? safe.p : "");
			buf_free(&safe);
		}
		if (json_int(j, "pid", &li->pid) != 0)
			li->pid = 0;
		if (json_int(j, "expires_ms", &li->expires_ms) != 0)
			li->expires_ms = 0;
	}
	cJSON_Delete(j);
	buf_free(&err);
}

/* Reads the lease: RC_OK (li, etag filled), RC_RECORD (none), or an error. */
static enum rc
lease_read(struct s3state *st, struct s3 *c, struct lease_info *li, char *etag)
{
	struct buf b = BUF_INIT;
	struct s3_obj o;
	enum rc rc = s3_get(c, st->lease_key, NULL, &b, NULL, &o);

	if (rc == RC_OK) {
		lease_parse(&b, li);
		str_copy(etag, S3_ETAG_MAX, o.etag);
	}
	buf_free(&b);
	return rc;
}

/* PUT the lease with a condition; RC_OK (ours: etag set), RC_RECORD (the
 * condition failed), or an error. An answer lost on the way is resolved by
 * reading the lease back. */
static enum rc
lease_write(struct s3state *st, struct s3 *c, const char *if_match)
{
	struct buf body = BUF_INIT;
	struct s3_put p;
	struct s3_obj o;
	enum rc rc;
	int64_t expires = lease_body(st, &body);

	memset(&p, 0, sizeof(p));
	p.data = body.p;
	p.len = body.len;
	p.content_type = "application/json";
	p.if_match = if_match;
	p.if_none_match = if_match == NULL;
	rc = s3_put(c, st->lease_key, &p, &o);
	if (rc == RC_OK) {
		str_copy(st->lease_etag, sizeof(st->lease_etag), o.etag);
		st->lease_at_ms = now_ms();
		if (!st->have_lease)	/* (only the take: the heartbeat leaves it alone) */
			st->have_lease = 1;
	} else if (rc == RC_REMOTE) {
		struct lease_info li;
		char etag[S3_ETAG_MAX];

		/* ours AND this very write (a renewal that did not land leaves our
		 * older lease there, which runs out) */
		if (lease_read(st, c, &li, etag) == RC_OK && strcmp(li.owner, st->owner) == 0 &&
		    li.expires_ms == expires) {
			log_info("s3", "the lease write's answer was lost, but the lease is ours");
			str_copy(st->lease_etag, sizeof(st->lease_etag), etag);
			st->lease_at_ms = now_ms();
			if (!st->have_lease)	/* (only the take: the heartbeat leaves it alone) */
				st->have_lease = 1;
			rc = RC_OK;
		}
	}
	buf_free(&body);
	return rc;
}

static enum rc
lease_take(struct s3state *st)
{
	struct lease_info li;
	char etag[S3_ETAG_MAX], until[32];
	enum rc rc;
	int round;

	for (round = 0; round < LEASE_ROUNDS; round++) {
		if ((rc = lease_write(st, st->s3, NULL)) != RC_RECORD)
			return rc;	/* ours, or an error */
		rc = lease_read(st, st->s3, &li, etag);
		if (rc == RC_RECORD)
			continue;	/* released in between: try again */
		if (rc != RC_OK)
			return rc;
		if (li.expires_ms > now_ms()) {
			fmt_rfc3339_ms(li.expires_ms, until, sizeof(until));
			api_fail(&st->err, "s3", 0, NULL,
			    "another run holds the state %s: lease of host %s pid %lld "
			    "until %s", st->url, li.host[0] ? li.host : "?", (long long)li.pid, until);
			return RC_LOCKED;
		}
		if (li.expires_ms == 0)
			log_warn("s3", "the lease on %s is not readable; taking it over", st->url);
		else {
			fmt_rfc3339_ms(li.expires_ms, until, sizeof(until));
			log_warn("s3", "taking over the stale lease on %s (host %s pid %lld, expired %s)",
			    st->url, li.host[0] ? li.host : "?", (long long)li.pid, until);
		}
		if ((rc = lease_write(st, st->s3, etag)) != RC_RECORD)
			return rc;
		/* 412: someone else took it over first; 404: released. Look again. */
	}
	api_fail(&st->err, "s3", 0, NULL,
	    "the lease on %s keeps changing hands; another run holds it", st->url);
	return RC_LOCKED;
}

static void
lease_release(struct s3state *st)
{
	struct s3_obj o;
	enum rc rc;

	if (!st->have_lease)
		return;
	st->have_lease = 0;
	rc = s3_delete(st->s3, st->lease_key, st->lease_etag, &o);
	if (rc == RC_OK)
		log_debug("s3", "lease on %s released", st->url);
	else if (rc == RC_RECORD && o.status == 412)
		log_warn("s3", "the lease on %s was taken over by another run before this one "
		    "released it", st->url);
	else if (o.status == 501 || (o.status == 400 && strcmp(o.code, "NotImplemented") == 0)) {
		/* a store without conditional deletes: delete only what is still ours */
		struct lease_info li;
		char etag[S3_ETAG_MAX];

		if (lease_read(st, st->s3, &li, etag) == RC_OK && strcmp(li.owner, st->owner) == 0)
			s3_delete(st->s3, st->lease_key, NULL, &o);
	} else
		log_warn("s3", "the lease on %s was not released (it expires by itself)", st->url);
}

/* ---- the snapshot ------------------------------------------------------------------------- */

static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)ftw;
	if (flag == FTW_DP || flag == FTW_D)
		rmdir(path);
	else
		unlink(path);
	return 0;
}

/* ---- local directories ---- */

/* This process's mark on its directories: "PID INSTANCE". A Lambda
 * environment keeps /tmp across a killed runtime, and the next runtime may
 * get the same pid, so the pid alone does not tell a dead owner. */
static const char *
instance_id(void)
{
	static char id[33];

	if (id[0] == '\0')
		random_hex(id, 16);
	return id;
}

static void
write_mark(const char *base)
{
	struct buf path = BUF_INIT, mark = BUF_INIT;

	buf_addf(&path, "%s/owner", base);
	buf_addf(&mark, "%ld %s\n", (long)getpid(), instance_id());
	if (atomic_write(path.p, mark.p, mark.len, 0600) != 0)
		log_debug("s3", "%s: %s", path.p, strerror(errno));
	buf_free(&path);
	buf_free(&mark);
}

/* Removes the directories that dead runs (killed: no s3state_end) left in
 * tmp: ours (same uid) whose mark names a process that is gone, or this
 * pid with another instance. They hold a copy of the state, tokens included. */
static void
sweep_stale(const char *tmp)
{
	DIR *d = opendir(tmp);
	struct dirent *de;

	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		struct buf dir = BUF_INIT, path = BUF_INIT, mark = BUF_INIT;
		struct stat sb;
		long pid = 0;
		char inst[40] = "";
		int stale = 0;

		if (strncmp(de->d_name, "atsrecon-state.", 15) != 0)
			continue;
		buf_addf(&dir, "%s/%s", tmp, de->d_name);
		buf_addf(&path, "%s/owner", dir.p);
		if (lstat(dir.p, &sb) == 0 && S_ISDIR(sb.st_mode) && sb.st_uid == geteuid() &&
		    read_file(path.p, 256, &mark) == 0) {
			char *sp = strchr(mark.p, ' ');
			int64_t v;

			if (sp != NULL) {
				*sp = '\0';
				if (parse_i64(mark.p, &v) == 0)
					pid = (long)v;
				str_copy(inst, sizeof(inst), sp + 1);
				inst[strcspn(inst, "\n")] = '\0';
			}
			if (pid > 0 && pid == (long)getpid())
				stale = strcmp(inst, instance_id()) != 0;
			else if (pid > 0)
				stale = kill((pid_t)pid, 0) != 0 && errno == ESRCH;
		}
		if (stale) {
			log_info("s3", "removing %s, left by a run that was killed", dir.p);
			nftw(dir.p, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
		}
		buf_free(&dir);
		buf_free(&path);
		buf_free(&mark);
	}
	closedir(d);
}

static enum rc
download(struct s3state *st)
{
	struct buf path = BUF_INIT;
	struct s3_obj o;
	FILE *f;
	int64_t t0 = mono_ms();
	enum rc rc;
	uint64_t txnid;
	char got[65];

	buf_addf(&path, "%s/data.mdb", st->dir);
	if ((f = fopen(path.p, "w+be")) == NULL) {
		api_fail(&st->err, "s3", 0, NULL, "%s: %s", path.p, strerror(errno));
		buf_free(&path);
		return RC_STATE;
	}
	rc = s3_get(st->s3, st->state_key, f, NULL, NULL, &o);
	got[0] = '\0';
	if (rc == RC_OK && o.sha256[0] != '\0' && s3_hash_file(f, NULL, NULL, got, NULL) != 0) {
		api_fail(&st->err, "s3", 0, NULL, "%s: %s", path.p, strerror(errno));
		rc = RC_STATE;
	}
	if (fclose(f) != 0 && rc == RC_OK) {
		api_fail(&st->err, "s3", 0, NULL, "%s: %s", path.p, strerror(errno));
		rc = RC_STATE;
	}
	if (rc == RC_RECORD && o.status == 404) {
		unlink(path.p);
		log_info("s3", "no state at %s yet: this run starts a new one", st->url);
		st->state_etag[0] = '\0';
		rc = RC_OK;
	} else if (rc == RC_OK) {
		str_copy(st->state_etag, sizeof(st->state_etag), o.etag);
		if (o.etag[0] == '\0') {
			api_fail(&st->err, "s3", 0, NULL,
			    "GET %s: the answer has no ETag; conditional writes need one",
			    st->url);
			rc = RC_STATE;
		} else if (o.sha256[0] != '\0' && strcmp(o.sha256, got) != 0) {
			api_fail(&st->err, "s3", 0, NULL,
			    "the state %s/state.mdb (%lld bytes) does not match its checksum "
			    "(%s %s, the download's %.16s...): it was damaged or replaced outside "
			    "atsrecon, and is not used. Fix: restore an earlier version of the object "
			    "(with S3 versioning: aws s3api list-object-versions), or delete it to start "
			    "a new state (then `atsrecon auth keap` once more: the Keap tokens live in it)",
			    st->url, (long long)o.size, SHA256_META,
			    strcmp(o.sha256, "?") == 0 ? "is not a SHA-256" : o.sha256, got);
			rc = RC_STATE;
		} else if (state_snapshot_txnid(st->dir, &txnid) != RC_OK) {
			api_fail(&st->err, "s3", 0, NULL,
			    "the state %s/state.mdb is not a usable LMDB file, and is not used. "
			    "Fix: restore an earlier version of the object (with S3 versioning: aws s3api "
			    "list-object-versions), or delete it to start a new state (then `atsrecon auth "
			    "keap` once more: the Keap tokens live in it)", st->url);
			rc = RC_STATE;
		} else {
			if (o.sha256[0] == '\0')
				log_info("s3", "the state %s has no checksum (saved by an older atsrecon): "
				    "checked as an LMDB file only; the next save adds one", st->url);
			st->synced = 1;
			st->synced_txnid = txnid;
			log_info("s3", "state %s downloaded: %lld bytes in %lld ms", st->url,
			    (long long)o.size, (long long)(mono_ms() - t0));
		}
	} else if (rc == RC_RECORD)
		rc = RC_STATE;	/* 409/412 on a plain GET: not expected */
	buf_free(&path);
	return rc;
}

/* The error value of st's last failure: its own, else its client's. */
static void
take_err(const struct s3state *st, struct api_err *e)
{
	if (e == NULL)
		return;
	if (st->err.msg[0] != '\0' || st->s3 == NULL)
		*e = st->err;
	else
		*e = st->s3->err;
}

enum rc
s3state_begin(const struct config *cfg, char **local_dir_out, struct s3state **out)
{
	return s3state_begin_err(cfg, local_dir_out, out, NULL);
}

enum rc
s3state_begin_err(const struct config *cfg, char **local_dir_out, struct s3state **out,
    struct api_err *e)
{
	struct s3state *st = xcalloc(1, sizeof(*st));
	const char *tmp = getenv("TMPDIR");
	const char *pfx;
	char *tpl;
	int64_t t_taken;
	enum rc rc;

	*out = NULL;
	*local_dir_out = NULL;
	if (e != NULL)
		api_err_clear(e);
	if ((rc = s3_open_with(cfg, 0, &st->s3, e)) != RC_OK) {
		free(st);
		return rc;
	}
	pfx = st->s3->prefix;
	st->url = xasprintf("s3://%s%s%s", st->s3->bucket, *pfx ? "/" : "", pfx);
	st->state_key = xasprintf("%s%sstate.mdb", pfx, *pfx ? "/" : "");
	st->lease_key = xasprintf("%s%slease", pfx, *pfx ? "/" : "");
	st->ttl_ms = cfg_int(cfg, OPT_STATE_LEASE_TTL) * 1000;
	random_hex(st->owner, 16);
	if (tmp == NULL || *tmp == '\0')
		tmp = "/tmp";
	sweep_stale(tmp);
	tpl = xasprintf("%s/atsrecon-state.XXXXXX", tmp);
	if (mkdtemp(tpl) == NULL) {
		api_fail(&st->err, "s3", 0, NULL,
		    "cannot create a directory in %s: %s", tmp, strerror(errno));
		free(tpl);
		rc = RC_STATE;
		goto fail;
	}
	st->base = tpl;
	write_mark(st->base);
	st->dir = xasprintf("%s/state", st->base);
	st->upload = xasprintf("%s/upload.mdb", st->base);
	if (mkdir(st->dir, 0700) != 0) {
		api_fail(&st->err, "s3", 0, NULL, "%s: %s", st->dir, strerror(errno));
		rc = RC_STATE;
		goto fail;
	}
	t_taken = mono_ms();
	if ((rc = lease_take(st)) != RC_OK)
		goto fail;
	log_info("s3", "lease on %s taken (ttl %lld s, renewed every %lld s)", st->url,
	    (long long)(st->ttl_ms / 1000), (long long)(st->ttl_ms / 3000));
	hb_start(st, cfg, t_taken);
	if ((rc = download(st)) != RC_OK)
		goto fail;
	*local_dir_out = xstrdup(st->dir);
	*out = st;
	return RC_OK;
fail:
	take_err(st, e);
	s3state_end(st);
	return rc;
}

/* ---- the heartbeat ------------------------------------------------------------------------- */

/* How long before the lease's end the run stops writing when it could not
 * renew it: a tenth of the TTL (90 s of the default 15m), at least 100 ms. */
static int64_t
lease_margin(const struct s3state *st)
{
	return st->ttl_ms / 10 > 100 ? st->ttl_ms / 10 : 100;
}

/* The lease was taken over or removed: stop writing at once (stop_request),
 * say why and by whom. */
static void
lease_lost(struct s3state *st, struct s3 *c)
{
	struct buf msg = BUF_INIT;
	struct lease_info li;
	char etag[S3_ETAG_MAX];

	if (lease_read(st, c, &li, etag) == RC_OK)
		buf_addf(&msg, "the lease on %s was taken over by another run (host %s pid %lld): "
		    "this run stops writing now and does not save its state there (the other run "
		    "owns it); the next run repairs what is left", st->url,
		    li.host[0] ? li.host : "?", (long long)li.pid);
	else
		buf_addf(&msg, "the lease on %s was removed or replaced by someone else: this run "
		    "stops writing now and does not save its state there; the next run repairs "
		    "what is left", st->url);
	atomic_store(&st->lost, LEASE_TAKEN);
	stop_request(msg.p);
	log_error("s3", "%s", msg.p);	/* the heartbeat's thread: no shared error value */
	buf_free(&msg);
}

/* One renewal (If-Match on the lease's ETag) with client c. RC_OK, RC_RECORD
 * (lost: taken over or removed; stop requested), or the error (try again). */
static enum rc
lease_renew_once(struct s3state *st, struct s3 *c)
{
	char old[S3_ETAG_MAX];
	int64_t t0 = mono_ms();
	enum rc rc;

	if (atomic_load(&st->lost) == LEASE_TAKEN)
		return RC_RECORD;
	str_copy(old, sizeof(old), st->lease_etag);
	rc = lease_write(st, c, old);
	if (rc == RC_OK) {
		atomic_store(&st->held_until, t0 + st->ttl_ms);
		atomic_fetch_add(&st->renewals, 1);
		if (atomic_load(&st->lost) == LEASE_HELD)
			stop_set_deadline(t0 + st->ttl_ms - lease_margin(st), NULL);
		log_debug("s3", "lease on %s renewed", st->url);
	} else if (rc == RC_RECORD)
		lease_lost(st, c);
	else
		log_warn("s3", "the lease on %s could not be renewed (%s); trying again, and this run "
		    "stops writing %lld ms from now if it still cannot", st->url, rc_str(rc),
		    (long long)(atomic_load(&st->held_until) - lease_margin(st) - mono_ms()));
	return rc;
}

static void *
heartbeat(void *arg)
{
	struct s3state *st = arg;
	int64_t every = st->ttl_ms / 3, retry = st->ttl_ms / 30, next;

	if (retry < 100)
		retry = 100;
	if (retry > 10000)
		retry = 10000;
	next = atomic_load(&st->held_until) - st->ttl_ms + every;
	pthread_mutex_lock(&st->hb_mu);
	while (!st->hb_quit) {
		int64_t now = mono_ms();
		enum rc rc;

		if (now < next) {
			struct timespec ts;

			clock_gettime(CLOCK_MONOTONIC, &ts);
			ts.tv_sec += (time_t)((next - now) / 1000);
			ts.tv_nsec += (long)((next - now) % 1000) * 1000000L;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&st->hb_cv, &st->hb_mu, &ts);
			continue;
		}
		pthread_mutex_unlock(&st->hb_mu);
		rc = lease_renew_once(st, st->hb_s3);
		pthread_mutex_lock(&st->hb_mu);
		if (rc == RC_RECORD)
			break;	/* lost: nothing more to renew */
		next = mono_ms() + (rc == RC_OK ? every : retry);
	}
	pthread_mutex_unlock(&st->hb_mu);
	return NULL;
}

/* Starts the heartbeat after the lease was taken at t_taken (mono_ms). */
static void
hb_start(struct s3state *st, const struct config *cfg, int64_t t_taken)
{
	pthread_condattr_t ca;
	sigset_t all, old;
	long tmo = (long)(st->ttl_ms / 3);

	atomic_store(&st->held_until, t_taken + st->ttl_ms);
	atomic_store(&st->lost, LEASE_HELD);
	stop_clear_internal();	/* (one lease per process drives the stop) */
	st->owns_stop = 1;
	{
		/* the message for a lease that ran out (stop_requested says it) */
		struct buf why = BUF_INIT;
		buf_addf(&why, "the lease on %s could not be renewed before it expired (S3 did not "
		    "answer): this run stopped writing, before another run could take it over",
		    st->url);
		stop_set_deadline(t_taken + st->ttl_ms - lease_margin(st), why.p);
		buf_free(&why);
	}
	/* its own connection; a request no longer than a third of the TTL, so
	 * a hung one leaves time for the next try */
	if (s3_open_with(cfg, tmo > 1000 ? tmo : 1000, &st->hb_s3, NULL) != RC_OK) {
		log_warn("s3", "the lease heartbeat has no client: the lease on %s is not renewed, "
		    "and the run stops writing when it expires", st->url);
		return;
	}
	st->hb_s3->max_retries = 1;	/* the heartbeat tries again itself */
	pthread_mutex_init(&st->hb_mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&st->hb_cv, &ca);
	pthread_condattr_destroy(&ca);
	/* signals go to the run's thread, not this one */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	st->hb_running = pthread_create(&st->hb, NULL, heartbeat, st) == 0;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!st->hb_running) {
		log_warn("s3", "the lease heartbeat did not start: the lease on %s is not renewed, "
		    "and the run stops writing when it expires", st->url);
		pthread_cond_destroy(&st->hb_cv);
		pthread_mutex_destroy(&st->hb_mu);
	}
}

/* Stops and joins the heartbeat: the lease fields are the caller's again. */
static void
hb_stop(struct s3state *st)
{
	if (st->hb_running) {
		pthread_mutex_lock(&st->hb_mu);
		st->hb_quit = 1;
		pthread_cond_signal(&st->hb_cv);
		pthread_mutex_unlock(&st->hb_mu);
		pthread_join(st->hb, NULL);
		pthread_cond_destroy(&st->hb_cv);
		pthread_mutex_destroy(&st->hb_mu);
		st->hb_running = 0;
	}
	s3_close(st->hb_s3);
	st->hb_s3 = NULL;
}

/* Before a save: the lease must be ours now. RC_OK, or RC_REMOTE (lost, or
 * not confirmed: nothing is to be uploaded). */
static enum rc
lease_ensure(struct s3state *st)
{
	enum rc rc;

	if (atomic_load(&st->lost) == LEASE_TAKEN || !st->have_lease)
		return RC_REMOTE;
	if (mono_ms() < atomic_load(&st->held_until) - lease_margin(st))
		return RC_OK;
	/* the heartbeat has not renewed it in time: once more, from here */
	hb_stop(st);
	if (atomic_load(&st->lost) == LEASE_TAKEN || !st->have_lease)
		return RC_REMOTE;
	if ((rc = lease_renew_once(st, st->s3)) == RC_OK) {
		log_info("s3", "the lease on %s is ours again: saving the state", st->url);
		return RC_OK;
	}
	if (rc != RC_RECORD)
		api_fail(&st->err, "s3", 0, NULL,
		    "the lease on %s could not be confirmed: the state is not saved; "
		    "the next run repairs what is left", st->url);
	return RC_REMOTE;
}

long
s3state_renewals(const struct s3state *st)
{
	return st != NULL ? atomic_load(&st->renewals) : 0;
}

int
s3state_lease_lost(const struct s3state *st)
{
	return st != NULL && (atomic_load(&st->lost) != LEASE_HELD ||
	    mono_ms() >= atomic_load(&st->held_until) - lease_margin(st));
}

/* After a PUT whose answer was lost: did it land? RC_OK (it did: o->etag
 * set), RC_RECORD (it did not), RC_STATE (another writer's version is there),
 * or the error of the look. */
static enum rc
resolve_lost_put(struct s3state *st, const char *md5, struct s3_obj *o)
{
	struct buf b = BUF_INIT;
	struct s3_obj g;
	char want[40];
	enum rc rc = s3_get(st->s3, st->state_key, NULL, &b, "bytes=0-0", &g);

	buf_free(&b);
	snprintf(want, sizeof(want), "\"%s\"", md5);
	if (rc == RC_OK && strcmp(g.etag, want) == 0) {
		str_copy(o->etag, sizeof(o->etag), g.etag);
		return RC_OK;
	}
	if ((rc == RC_OK && st->state_etag[0] != '\0' && strcmp(g.etag, st->state_etag) == 0) ||
	    (rc == RC_RECORD && g.status == 404 && st->state_etag[0] == '\0'))
		return RC_RECORD;
	if (rc == RC_OK || rc == RC_RECORD)
		return RC_STATE;
	return rc;
}

void
s3state_error(const struct s3state *st, struct api_err *e)
{
	take_err(st, e);
}

enum rc
s3state_commit(struct s3state *st)
{
	uint64_t txnid = 0, now_txnid = 0;
	struct s3_put p;
	struct s3_obj o;
	FILE *f = NULL;
	int fd = -1, tries;
	int64_t t0 = mono_ms(), size;
	char hex[33], b64[25], sha[65];
	enum rc rc = RC_STATE;

	if (st == NULL)
		return RC_BUG;
	api_err_clear(&st->err);
	if (st->s3 != NULL)
		api_err_clear(&st->s3->err);
	if ((rc = state_snapshot_txnid(st->dir, &now_txnid)) != RC_OK)
		return rc == RC_RECORD ? RC_OK : rc;	/* nothing written yet: nothing to save */
	if (st->synced && now_txnid == st->synced_txnid) {
		log_debug("s3", "state %s unchanged since it was last saved", st->url);
		return RC_OK;
	}
	rc = RC_STATE;
	fd = open(st->upload, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		api_fail(&st->err, "s3", 0, NULL, "%s: %s", st->upload, strerror(errno));
		goto out;
	}
	if (state_snapshot_copy(st->dir, fd, &txnid) != RC_OK)
		goto out;
	if ((f = fdopen(fd, "rb")) == NULL) {
		api_fail(&st->err, "s3", 0, NULL, "%s: %s", st->upload, strerror(errno));
		goto out;
	}
	fd = -1;
	if (s3_hash_file(f, hex, b64, sha, &size) != 0) {
		api_fail(&st->err, "s3", 0, NULL, "%s: %s", st->upload, strerror(errno));
		goto out;
	}
	/* only the lease's holder writes the state: after a lost lease another
	 * run may hold it, and an upload would make that run's saves (its
	 * rotated refresh token among them) fail */
	if ((rc = lease_ensure(st)) != RC_OK) {
		api_fail(&st->err, "s3", 0, NULL,
		    "the state is not saved to %s: this run no longer holds its lease",
		    st->url);
		goto out;
	}
	memset(&p, 0, sizeof(p));
	p.file = f;
	p.size = size;
	p.sha256 = sha;
	for (tries = 0; tries < 2; tries++) {
		p.if_match = st->state_etag[0] != '\0' ? st->state_etag : NULL;
		p.if_none_match = st->state_etag[0] == '\0';
		rc = s3_put(st->s3, st->state_key, &p, &o);
		if (rc == RC_REMOTE && o.status == 0) {
			enum rc r2 = resolve_lost_put(st, hex, &o);
			if (r2 == RC_OK)
				rc = RC_OK;
			else if (r2 == RC_RECORD)
				continue;	/* it did not land: once more */
			else if (r2 == RC_STATE) {
				rc = RC_RECORD;
				o.status = 412;
			}
		}
		break;
	}
	if (rc == RC_OK) {
		if (o.etag[0] == '\0') {
			api_fail(&st->err, "s3", 0, NULL,
			    "PUT %s: the answer has no ETag", st->url);
			rc = RC_STATE;
			goto out;
		}
		str_copy(st->state_etag, sizeof(st->state_etag), o.etag);
		st->synced = 1;
		st->synced_txnid = txnid;
		st->uploads++;
		log_info("s3", "state saved to %s: %lld bytes in %lld ms", st->url, (long long)size,
		    (long long)(mono_ms() - t0));
	} else if (rc == RC_RECORD) {
		api_fail(&st->err, "s3", 0, NULL,
		    "another writer changed the state at %s since this run read it "
		    "(%ld %s); nothing was overwritten and this run's changes are not saved",
		    st->url, o.status, o.code[0] ? o.code : "");
		rc = RC_STATE;
	}
out:
	if (fd >= 0)
		close(fd);
	if (f != NULL)
		fclose(f);
	unlink(st->upload);
	return rc;
}

long
s3state_uploads(const struct s3state *st)
{
	return st != NULL ? st->uploads : 0;
}

void
s3state_end(struct s3state *st)
{
	if (st == NULL)
		return;
	hb_stop(st);
	if (atomic_load(&st->lost) == LEASE_TAKEN)
		st->have_lease = 0;	/* another run's now: not ours to delete */
	if (st->s3 != NULL)
		lease_release(st);
	if (st->owns_stop)
		stop_clear_internal();	/* the lease's stop ends with it (a warm Lambda runtime) */
	if (st->base != NULL)
		nftw(st->base, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	s3_close(st->s3);
	free(st->url);
	free(st->base);
	free(st->dir);
	free(st->upload);
	free(st->state_key);
	free(st->lease_key);
	free(st);
}

enum rc
s3_check_lease_ttl(const struct config *cfg, struct buf *err)
{
	int64_t ttl = cfg_int(cfg, OPT_STATE_LEASE_TTL), max = cfg_int(cfg, OPT_RUN_MAX_RUNTIME);
	struct buf wt = BUF_INIT, wm = BUF_INIT;
	const char *u = cfg_str(cfg, OPT_STATE_URL);

	if (u == NULL || *u == '\0' || ttl > max)
		return RC_OK;
	cfg_origin(cfg, OPT_STATE_LEASE_TTL, &wt);
	cfg_origin(cfg, OPT_RUN_MAX_RUNTIME, &wm);
	/* blame the one that was set, the lease's first */
	if (cfg->v[OPT_STATE_LEASE_TTL].src != SRC_DEFAULT || cfg->v[OPT_RUN_MAX_RUNTIME].src == SRC_DEFAULT)
		buf_addf(err, "%s: state.lease_ttl: %llds is not longer than run.max_runtime (%llds, %s)",
		    wt.p, (long long)ttl, (long long)max, wm.p);
	else
		buf_addf(err, "%s: run.max_runtime: %llds is not shorter than state.lease_ttl (%llds, %s)",
		    wm.p, (long long)max, (long long)ttl, wt.p);
	buf_addf(err, ": a run could outlive its lease whenever a renewal fails, and another run "
	    "would take over the state while this one still writes; set state.lease_ttl above "
	    "run.max_runtime (for example %llds) or lower run.max_runtime", (long long)(max + max / 10 + 60));
	buf_free(&wt);
	buf_free(&wm);
	return RC_CONFIG;
}
