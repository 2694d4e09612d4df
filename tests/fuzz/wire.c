/*
 * wire.c — the fuzzer's bytes as the network's answers (see wire.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config.h"
#include "http.h"
#include "log.h"
#include "util.h"
#include "wire.h"

struct answer {
	const char *p;	/* into the copy */
	size_t len;
};

static int loads;	/* wire_load calls: a recording records the first run only */
static char *copy;
static struct answer *answers;
static size_t nanswers, next, served;

void
wire_reset(void)
{
	free(copy);
	free(answers);
	copy = NULL;
	answers = NULL;
	nanswers = next = served = 0;
}

size_t
wire_requests(void)
{
	return served;
}

void
wire_load(const uint8_t *data, size_t size)
{
	static const char sep[] = "\n==\n";
	const char *p, *end, *hit;
	size_t cap = 0;

	wire_reset();
	loads++;
	copy = xmalloc(size + 1);
	if (size > 0)
		memcpy(copy, data, size);
	copy[size] = '\0';
	p = copy;
	end = copy + size;
	for (;;) {
		hit = memmem(p, (size_t)(end - p), sep, sizeof(sep) - 1);
		if (nanswers == cap) {
			cap = cap ? 2 * cap : 8;
			answers = xrealloc(answers, cap * sizeof(*answers));
		}
		answers[nanswers].p = p;
		answers[nanswers].len = (size_t)((hit ? hit : end) - p);
		nanswers++;
		if (hit == NULL)
			break;
		p = hit + sizeof(sep) - 1;
	}
}

static void
add_header(struct http_resp *r, const char *line, size_t n)
{
	const char *colon = memchr(line, ':', n), *v, *e = line + n;
	struct http_header *h;

	if (colon == NULL || r->nheaders >= 100)
		return;
	v = colon + 1;
	while (v < e && (*v == ' ' || *v == '\t'))
		v++;
	while (e > v && (e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t'))
		e--;
	r->headers = xrealloc(r->headers, (r->nheaders + 1) * sizeof(*r->headers));
	h = &r->headers[r->nheaders++];
	h->name = xstrndup(line, (size_t)(colon - line));
	for (char *q = h->name; *q; q++)
		if (*q >= 'A' && *q <= 'Z')
			*q = (char)(*q - 'A' + 'a');
	h->value = xstrndup(v, (size_t)(e - v));
}

/* One answer for req into resp, as http_do would leave it. */
static enum rc
answer(const struct http_req *req, struct http_resp *resp, size_t max_body)
{
	const char *p, *e, *nl;
	struct answer a;

	memset(resp, 0, sizeof(*resp));
	served++;
	if (next >= nanswers) {
		resp->fail = HTTP_ERR_CONNECT;
		str_copy(resp->err, sizeof(resp->err), "connection refused (fuzz: no more answers)");
		return RC_REMOTE;
	}
	a = answers[next++];
	p = a.p;
	e = a.p + a.len;
	if (p < e && *p == '!') {
		resp->fail = HTTP_ERR_RESET;
		str_copy(resp->err, sizeof(resp->err), "connection reset (fuzz)");
		return RC_REMOTE;
	}
	if (e - p >= 3 && p[0] >= '1' && p[0] <= '5' && p[1] >= '0' && p[1] <= '9' &&
	    p[2] >= '0' && p[2] <= '9' && (e - p == 3 || p[3] == '\n')) {
		resp->status = (p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0');
		p += e - p == 3 ? 3 : 4;
		while (p < e) {
			nl = memchr(p, '\n', (size_t)(e - p));
			if (nl == NULL)
				nl = e;
			if (nl == p) {		/* the empty line: the body follows */
				p++;
				break;
			}
			add_header(resp, p, (size_t)(nl - p));
			p = nl < e ? nl + 1 : e;
		}
	} else {
		resp->status = 200;
	}
	if ((size_t)(e - p) > max_body) {
		http_resp_free(resp);
		resp->fail = HTTP_ERR_TOOBIG;
		str_copy(resp->err, sizeof(resp->err), "body too big (fuzz)");
		return RC_REMOTE;
	}
	if (req->download != NULL && resp->status >= 200 && resp->status < 300) {
		if (ftruncate(fileno(req->download), 0) != 0 || fseek(req->download, 0, SEEK_SET) != 0 ||
		    fwrite(p, 1, (size_t)(e - p), req->download) != (size_t)(e - p) ||
		    fflush(req->download) != 0)
			return RC_STATE;
	} else {
		buf_add(&resp->body, p, (size_t)(e - p));
	}
	if (resp->body.p == NULL)
		buf_add(&resp->body, "", 0);
	buf_addc(&resp->body, '\0');	/* NUL-terminated, the NUL not counted */
	resp->body.len--;
	return RC_OK;
}

/* --- the wrapped functions ------------------------------------------------------------- */

void __real_http_run(struct http *, struct http_job *, size_t, const struct http_policy *);
enum rc __real_http_do(struct http *, const struct http_req *, struct http_resp *);
void __real_sleep_ms(long);
void __wrap_http_run(struct http *, struct http_job *, size_t, const struct http_policy *);
enum rc __wrap_http_call(struct http *, struct http_job *, const struct http_policy *);
enum rc __wrap_http_do(struct http *, const struct http_req *, struct http_resp *);
void __wrap_sleep_ms(long);

#define FUZZ_MAX_BODY (4u << 20)

/* FUZZ_RECORD=FILE: the requests go to the real network (a fake server), and
 * every answer is appended to FILE in the input format: a seed. */
static FILE *
recording(void)
{
	static FILE *f;
	static int tried;
	const char *path;

	if (loads > 1)
		return NULL;	/* later runs are answered from their input */
	if (!tried) {
		tried = 1;
		path = getenv("FUZZ_RECORD");
		if (path != NULL && *path != '\0')
			f = fopen(path, "w");
	}
	return f;
}

/* Writes s with the recorded fake's origin ($FUZZ_ORIGIN) as FUZZ_REPLAY_ORIGIN,
 * so that absolute URLs (Link headers) match the replay's base URL. */
static void
put_origin(FILE *f, const char *s, size_t n)
{
	const char *o = getenv("FUZZ_ORIGIN"), *hit;
	size_t on = o != NULL ? strlen(o) : 0;

	while (on > 0 && (hit = memmem(s, n, o, on)) != NULL) {
		fwrite(s, 1, (size_t)(hit - s), f);
		fputs(FUZZ_REPLAY_ORIGIN, f);
		n -= (size_t)(hit - s) + on;
		s = hit + on;
	}
	fwrite(s, 1, n, f);
}

static void
record(const struct http_resp *r, enum rc rc)
{
	static int n;
	FILE *f = recording();
	size_t i;

	if (n++ > 0)
		fputs("\n==\n", f);
	if (rc != RC_OK && r->status == 0) {
		fputs("!", f);
		return;
	}
	fprintf(f, "%03ld\n", r->status);
	for (i = 0; i < r->nheaders; i++) {
		const char *hn = r->headers[i].name;

		/* what the transport used up, or noise in a seed */
		if (strcmp(hn, "server") == 0 || strcmp(hn, "date") == 0 || strcmp(hn, "vary") == 0 ||
		    strcmp(hn, "content-encoding") == 0 || strcmp(hn, "content-length") == 0 ||
		    strcmp(hn, "connection") == 0)
			continue;
		fprintf(f, "%s: ", hn);
		put_origin(f, r->headers[i].value, strlen(r->headers[i].value));
		fputc('\n', f);
	}
	fputs("\n", f);
	put_origin(f, r->body.p, r->body.len);
	fflush(f);
}

void
__wrap_http_run(struct http *h, struct http_job *jobs, size_t n, const struct http_policy *pol)
{
	size_t i;

	if (recording() != NULL) {
		__real_http_run(h, jobs, n, pol);
		for (i = 0; i < n; i++)
			record(&jobs[i].resp, jobs[i].rc);
		return;
	}
	for (i = 0; i < n; i++) {
		if (pol != NULL && pol->pacer.before != NULL && pol->pacer.before(pol->pacer.arg) < 0) {
			memset(&jobs[i].resp, 0, sizeof(jobs[i].resp));
			jobs[i].rc = RC_QUOTA;
			jobs[i].attempts = 0;
			continue;
		}
		jobs[i].rc = answer(&jobs[i].req, &jobs[i].resp, FUZZ_MAX_BODY);
		jobs[i].attempts = 1;
		if (jobs[i].rc == RC_OK && pol != NULL && pol->pacer.after != NULL)
			pol->pacer.after(pol->pacer.arg, &jobs[i].resp);
	}
}

enum rc
__wrap_http_call(struct http *h, struct http_job *job, const struct http_policy *pol)
{
	__wrap_http_run(h, job, 1, pol);
	return job->rc;
}

enum rc
__wrap_http_do(struct http *h, const struct http_req *req, struct http_resp *resp)
{
	enum rc rc;

	if (recording() != NULL) {
		rc = __real_http_do(h, req, resp);
		record(resp, rc);
		return rc;
	}
	return answer(req, resp, FUZZ_MAX_BODY);
}

void
__wrap_sleep_ms(long ms)
{
	if (recording() != NULL)
		__real_sleep_ms(ms);
}

/* --- helpers ----------------------------------------------------------------------------- */

struct http *
fuzz_http(void)
{
	static struct http *h;
	struct http_cfg hc;

	if (h == NULL) {
		memset(&hc, 0, sizeof(hc));
		hc.ca_file = getenv("ATSRECON_TEST_CA");
		hc.max_body = FUZZ_MAX_BODY;
		hc.timeout_ms = 10000;
		if (http_new(&hc, &h) != RC_OK)
			abort();
	}
	return h;
}

enum rc
fuzz_config(struct config *c, const char *const *kv)
{
	struct buf err = BUF_INIT;
	enum rc rc;

	config_init(c);
	rc = config_apply_env(c, (char *const *)kv, &err);
	if (rc == RC_OK)
		rc = config_finish(c, &err);
	if (rc != RC_OK && getenv("FUZZ_LOG") != NULL)
		fprintf(stderr, "fuzz config: %s\n", err.p ? err.p : "?");
	buf_free(&err);
	return rc;
}

enum rc
fuzz_config_text(struct config *c, const char *text, size_t len)
{
	struct buf err = BUF_INIT;
	char path[64];
	enum rc rc;
	int fd;

	config_init(c);
	fd = fuzz_memfile(text, len, path);
	if (fd < 0)
		return RC_BUG;
	rc = config_load_file(c, path, &err);
	if (rc == RC_OK)
		rc = config_finish(c, &err);
	if (rc != RC_OK && getenv("FUZZ_LOG") != NULL)
		fprintf(stderr, "fuzz config: %s\n", err.p ? err.p : "?");
	close(fd);
	buf_free(&err);
	return rc;
}

const char *
fuzz_url(const char *testvar, const char *dflt)
{
	const char *v = recording() != NULL ? getenv(testvar) : NULL;

	if (v != NULL)
		setenv("FUZZ_ORIGIN", v, 1);
	return v != NULL ? v : dflt;
}

void
fuzz_quiet_logs(void)
{
	const char *v = getenv("FUZZ_LOG");
	int fd;

	log_init(LOG_DEBUG, LOG_FMT_TEXT);
	if (v != NULL && *v == '1')
		return;
	fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (fd >= 0)
		log_set_fd(fd);
}

int
fuzz_memfile(const void *data, size_t size, char path[64])
{
	int fd = memfd_create("fuzz", MFD_CLOEXEC);
	const char *p = data;
	size_t done = 0;
	ssize_t w;

	if (fd < 0)
		return -1;
	while (done < size) {
		w = write(fd, p + done, size - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			close(fd);
			return -1;
		}
		done += (size_t)w;
	}
	snprintf(path, 64, "/proc/self/fd/%d", fd);
	return fd;
}
