/* login.c — see login.h. */
#define _POSIX_C_SOURCE 200809L
#include "login.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "session.h"
#include "auth.h"
#include "http.h"
#include "log.h"
#include "s3.h"
#include "state.h"

#define SECRET_MAX (64 * 1024)
#define LINE_MAX_BYTES 8192

static void
scrub_buf(struct buf *b)
{
	if (b->p != NULL)
		memset(b->p, 0, b->len);
	buf_free(b);
}

int
login_read_secret(const char *path, char **out, struct buf *err)
{
	struct buf b = BUF_INIT;
	int fd, own = 0;
	size_t i;

	if (strcmp(path, "-") == 0)
		fd = STDIN_FILENO;
	else if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		buf_addf(err, "%s: %s", path, strerror(errno));
		return -1;
	} else
		own = 1;
	for (;;) {
		char chunk[4096];
		ssize_t n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			buf_addf(err, "%s: %s", path, strerror(errno));
			goto fail;
		}
		if (n == 0)
			break;
		if (b.len + (size_t)n > SECRET_MAX) {
			buf_addf(err, "%s: larger than 64 KiB", path);
			goto fail;
		}
		buf_add(&b, chunk, (size_t)n);
		/* stdin from a terminal: one line is the answer */
		if (fd == STDIN_FILENO && memchr(b.p, '\n', b.len) != NULL)
			break;
	}
	if (own)
		close(fd);
	own = 0;
	while (b.len > 0 && (b.p[b.len - 1] == '\n' || b.p[b.len - 1] == '\r' ||
	    b.p[b.len - 1] == ' ' || b.p[b.len - 1] == '\t'))
		b.p[--b.len] = '\0';
	for (i = 0; i < b.len && (b.p[i] == ' ' || b.p[i] == '\t'); i++)
		;
	if (b.len == i || memchr(b.p, '\0', b.len) != NULL || memchr(b.p + i, '\n', b.len - i) != NULL) {
		buf_addf(err, "%s must hold exactly one non-empty line", strcmp(path, "-") == 0 ?
		    "stdin" : path);
		goto fail;
	}
	*out = xstrdup(b.p + i);
	log_add_secret(*out);
	scrub_buf(&b);
	return 0;
fail:
	if (own)
		close(fd);
	scrub_buf(&b);
	return -1;
}

void
login_authorize_url(struct buf *out, const char *authorize_url, const char *client_id,
    const char *redirect_uri, const char *state)
{
	buf_adds(out, authorize_url);
	buf_addc(out, strchr(authorize_url, '?') ? '&' : '?');
	buf_adds(out, "client_id=");
	http_urlencode(out, client_id);
	buf_adds(out, "&redirect_uri=");
	http_urlencode(out, redirect_uri);
	buf_adds(out, "&response_type=code&scope=full&state=");
	http_urlencode(out, state);
}

/* The percent-decoded value of name in a query string (NULL when absent);
 * a '#' ends the query. */
static char *
query_param(const char *q, const char *name)
{
	size_t nl = strlen(name), ql = strcspn(q, "#");
	const char *stop = q + ql;

	while (q < stop) {
		const char *amp = memchr(q, '&', (size_t)(stop - q)), *end = amp ? amp : stop;
		if ((size_t)(end - q) > nl && strncmp(q, name, nl) == 0 && q[nl] == '=') {
			struct buf v = BUF_INIT;
			const char *p;
			buf_adds(&v, "");
			for (p = q + nl + 1; p < end; p++) {
				if (*p == '%' && p + 2 < end && hex_digit((unsigned char)p[1]) >= 0 &&
				    hex_digit((unsigned char)p[2]) >= 0) {
					buf_addc(&v, (char)(hex_digit((unsigned char)p[1]) * 16 +
					    hex_digit((unsigned char)p[2])));
					p += 2;
				} else
					buf_addc(&v, *p == '+' ? ' ' : *p);
			}
			return buf_take(&v);
		}
		q = end + (amp ? 1 : 0);
	}
	return NULL;
}

int
login_parse_pasted(const char *text, const char *state, char **code, struct buf *err)
{
	const char *q;
	char *c, *st, *e;
	struct buf safe = BUF_INIT;

	*code = NULL;
	while (*text == ' ' || *text == '\t')
		text++;
	if (*text == '\0') {
		buf_adds(err, "nothing was pasted");
		return -1;
	}
	if (strchr(text, '=') == NULL && strchr(text, '/') == NULL && strchr(text, '?') == NULL &&
	    strchr(text, ' ') == NULL) {
		*code = xstrdup(text);	/* a bare code: the person copied only it */
		log_add_secret(*code);
		return 0;
	}
	q = strchr(text, '?');
	q = q ? q + 1 : text;
	e = query_param(q, "error");
	if (e != NULL) {
		text_escape(&safe, e, strlen(e));
		buf_addf(err, "Keap redirected with error=%s%s: the authorisation was not given; run "
		    "the command again and approve the access", safe.p,
		    strcmp(e, "access_denied") == 0 ? " (the access was denied)" : "");
		buf_free(&safe);
		free(e);
		return -1;
	}
	c = query_param(q, "code");
	if (c == NULL || *c == '\0') {
		buf_adds(err, "the pasted text holds no code=...: paste the whole address the browser "
		    "was sent to after you approved (or only the code)");
		free(c);
		return -1;
	}
	log_add_secret(c);
	st = query_param(q, "state");
	if (st == NULL || strcmp(st, state) != 0) {
		buf_adds(err, "the pasted URL's state does not match the one this command sent "
		    "(it answers another authorize request, or was tampered with); refused — approve "
		    "again from the URL printed above");
		free(st);
		memset(c, 0, strlen(c));
		free(c);
		return -1;
	}
	free(st);
	*code = c;
	return 0;
}

int
login_loopback(const char *uri, char *host, size_t hostsize, int *port, char *path, size_t pathsize)
{
	const char *h, *colon, *slash;
	int64_t p;
	char num[8];

	if (strncmp(uri, "http://", 7) != 0)
		return -1;
	h = uri + 7;
	slash = strchr(h, '/');
	colon = strchr(h, ':');
	if (colon == NULL || (slash != NULL && colon > slash))
		return -1;
	if (!((colon - h == 9 && strncmp(h, "127.0.0.1", 9) == 0) ||
	    (colon - h == 9 && strncmp(h, "localhost", 9) == 0)))
		return -1;
	if ((size_t)((slash ? slash : colon + strlen(colon)) - colon - 1) >= sizeof(num))
		return -1;
	memset(num, 0, sizeof(num));
	memcpy(num, colon + 1, (size_t)((slash ? slash : colon + strlen(colon)) - colon - 1));
	if (parse_i64(num, &p) != 0 || p < 1 || p > 65535)
		return -1;
	*port = (int)p;
	str_copy(host, hostsize, "127.0.0.1");
	str_copy(path, pathsize, slash ? slash : "/");
	{
		char *qm = strchr(path, '?');
		if (qm != NULL)
			*qm = '\0';
	}
	return 0;
}

static int
listen_loopback(int port)
{
	struct sockaddr_in sa;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((unsigned short)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(fd, 4) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void
reply(int fd, int status, const char *msg)
{
	struct buf b = BUF_INIT;
	ssize_t w;

	buf_addf(&b, "HTTP/1.1 %d %s\r\nContent-Type: text/html; charset=utf-8\r\nConnection: close\r\n"
	    "Cache-Control: no-store\r\nContent-Length: %zu\r\n\r\n%s", status,
	    status == 200 ? "OK" : "Bad Request", strlen(msg), msg);
	w = write(fd, b.p, b.len);
	(void)w;
	buf_free(&b);
}

/* One request on the loopback listener: its request target (query) if it is
 * GET <path>?...; the connection is answered and closed. NULL otherwise. */
static char *
take_redirect(int lfd, const char *path, int64_t deadline)
{
	int fd = accept(lfd, NULL, NULL);
	struct buf req = BUF_INIT;
	char *target = NULL;
	size_t pl = strlen(path);

	if (fd < 0)
		return NULL;
	while (req.len < LINE_MAX_BYTES && (req.p == NULL || strstr(req.p, "\r\n") == NULL)) {
		struct pollfd p = { fd, POLLIN, 0 };
		char chunk[1024];
		ssize_t n;
		int64_t left = deadline - mono_ms();
		if (left <= 0 || poll(&p, 1, (int)(left > 5000 ? 5000 : left)) <= 0)
			break;
		n = read(fd, chunk, sizeof(chunk));
		if (n <= 0)
			break;
		buf_add(&req, chunk, (size_t)n);
	}
	if (req.p != NULL && strncmp(req.p, "GET ", 4) == 0 && strncmp(req.p + 4, path, pl) == 0 &&
	    (req.p[4 + pl] == '?' || req.p[4 + pl] == ' ')) {
		char *end = strchr(req.p + 4, ' ');
		if (end != NULL)
			target = xstrndup(req.p + 4, (size_t)(end - req.p - 4));
	}
	if (target != NULL)
		reply(fd, 200, "<!doctype html><title>atsrecon</title><p>atsrecon received Keap's "
		    "answer. You can close this tab and go back to the terminal.</p>\n");
	else
		reply(fd, 400, "<!doctype html><title>atsrecon</title><p>Not the redirect atsrecon "
		    "waits for.</p>\n");
	close(fd);
	scrub_buf(&req);
	return target;
}

/* Waits for the pasted line on stdin or, when lfd >= 0, the redirect on the
 * loopback listener. The text (URL or code) into *out. */
static enum rc
wait_answer(int lfd, const char *path, int64_t timeout_ms, char **out)
{
	int64_t deadline = mono_ms() + timeout_ms;
	struct buf line = BUF_INIT;
	int stdin_open = 1;

	*out = NULL;
	for (;;) {
		struct pollfd p[2];
		nfds_t n = 0;
		int64_t left = deadline - mono_ms();
		int r;

		if (left <= 0) {
			log_error("auth", "no answer within %lld s (--login-timeout); run the command again",
			    (long long)(timeout_ms / 1000));
			scrub_buf(&line);
			return RC_AUTH;
		}
		if (!stdin_open && lfd < 0) {
			log_error("auth", "stdin ended before the redirected URL or the code was pasted");
			scrub_buf(&line);
			return RC_USAGE;
		}
		if (stdin_open) {
			p[n].fd = STDIN_FILENO;
			p[n].events = POLLIN;
			p[n++].revents = 0;
		}
		if (lfd >= 0) {
			p[n].fd = lfd;
			p[n].events = POLLIN;
			p[n++].revents = 0;
		}
		r = poll(p, n, (int)(left > 1000 ? 1000 : left));
		if (r < 0 && errno != EINTR) {
			scrub_buf(&line);
			return RC_BUG;
		}
		if (stop_requested()) {
			scrub_buf(&line);
			return RC_REMOTE;
		}
		if (r <= 0)
			continue;
		if (stdin_open && (p[0].revents & (POLLIN | POLLHUP | POLLERR))) {
			char ch;
			ssize_t k = read(STDIN_FILENO, &ch, 1);
			if (k <= 0) {
				stdin_open = 0;
				if (line.len > 0)
					break;
			} else if (ch == '\n') {
				if (line.len > 0)
					break;
			} else if (line.len < LINE_MAX_BYTES)
				buf_addc(&line, ch);
		}
		if (lfd >= 0 && (p[n - 1].revents & POLLIN)) {
			char *t = take_redirect(lfd, path, deadline);
			if (t != NULL) {
				*out = t;
				scrub_buf(&line);
				return RC_OK;
			}
		}
	}
	while (line.len > 0 && (line.p[line.len - 1] == '\r' || line.p[line.len - 1] == ' '))
		line.p[--line.len] = '\0';
	*out = xstrdup(line.p);
	scrub_buf(&line);
	return RC_OK;
}

static int
random_state(char *out, size_t size)
{
	unsigned char r[16];
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	size_t i;

	if (fd < 0 || read(fd, r, sizeof(r)) != (ssize_t)sizeof(r)) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	for (i = 0; i < sizeof(r) && 2 * i + 2 < size; i++)
		snprintf(out + 2 * i, 3, "%02x", r[i]);
	return 0;
}

/* The --login dialogue: the code into *code. */
static enum rc
login_dialogue(const struct config *cfg, char **code)
{
	const char *redirect = cfg_str(cfg, OPT_KEAP_REDIRECT_URI);
	struct buf url = BUF_INIT, err = BUF_INIT;
	char state[40], host[64], path[512], *answer = NULL;
	int port = 0, lfd = -1;
	enum rc rc;

	if (random_state(state, sizeof(state)) != 0) {
		log_error("auth", "cannot read /dev/urandom for the OAuth state");
		return RC_BUG;
	}
	login_authorize_url(&url, cfg_str(cfg, OPT_KEAP_AUTHORIZE_URL), cfg_str(cfg, OPT_KEAP_CLIENT_ID),
	    redirect, state);
	if (login_loopback(redirect, host, sizeof(host), &port, path, sizeof(path)) == 0) {
		lfd = listen_loopback(port);
		if (lfd < 0)
			log_warn("auth", "cannot listen on %s:%d (%s); paste the redirected URL instead",
			    host, port, strerror(errno));
	}
	printf("Open this address in a browser (on any machine), sign in to Keap and approve the "
	    "access:\n\n  %s\n\n", url.p);
	if (lfd >= 0)
		printf("atsrecon waits for the redirect on %s:%d; or paste the address the browser was "
		    "sent to (or only the code) here:\n", host, port);
	else
		printf("Then paste the address the browser was sent to (it starts with %s), or only the "
		    "code, here:\n", redirect);
	fflush(stdout);
	rc = wait_answer(lfd, path, cfg_int(cfg, OPT_LOGIN_TIMEOUT) * 1000, &answer);
	if (lfd >= 0)
		close(lfd);
	if (rc == RC_OK && login_parse_pasted(answer, state, code, &err) != 0) {
		log_error("auth", "%s", err.p);
		rc = RC_AUTH;
	}
	if (answer != NULL) {
		memset(answer, 0, strlen(answer));
		free(answer);
	}
	buf_free(&url);
	buf_free(&err);
	return rc;
}

enum rc
login_keap(const struct config *cfg, enum auth_how how, const char *secret)
{
	struct session s;
	struct auth *a = NULL;
	struct auth_cfg ac;
	char *code = NULL;
	const char *redirect = cfg_str(cfg, OPT_KEAP_REDIRECT_URI);
	enum rc rc, e;

	if (strcmp(cfg_str(cfg, OPT_KEAP_AUTH), "oauth") != 0) {
		log_error("auth", "keap.auth is \"%s\": API keys need no authorisation step",
		    cfg_str(cfg, OPT_KEAP_AUTH));
		return RC_CONFIG;
	}
	session_auth_cfg(cfg, &ac);	/* keap.auth is oauth (above) */
	ac.api_key = NULL;
	if (how != AUTH_BY_REFRESH && (ac.client_id == NULL || ac.client_secret == NULL)) {
		log_error("auth", "keap.client_id and keap.client_secret (or client_secret_file) are "
		    "needed to exchange a code");
		return RC_CONFIG;
	}
	if (how != AUTH_BY_REFRESH && redirect == NULL) {
		log_error("auth", "keap.redirect_uri (or --redirect-uri URI) is needed: the redirect URI "
		    "registered for the Keap app");
		return RC_CONFIG;
	}
	if (how == AUTH_BY_LOGIN && (rc = login_dialogue(cfg, &code)) != RC_OK)
		return rc;
	if (ac.client_id == NULL)
		ac.client_id = "";	/* a refresh token is only stored; the first run refreshes */
	if (ac.client_secret == NULL)
		ac.client_secret = "";
	/* the state (a state kept in S3: a local copy under its lease, put back
	 * below when the tokens are stored) and the HTTP client */
	session_init(&s, cfg, 0);
	if ((rc = session_lease(&s)) != RC_OK || (rc = session_state(&s)) != RC_OK ||
	    (rc = session_http(&s)) != RC_OK || (rc = auth_new(&ac, s.http, s.st, &a)) != RC_OK)
		goto out;
	if (how == AUTH_BY_REFRESH) {
		rc = auth_store_refresh_token(a, secret);
		if (rc == RC_OK)
			log_info("auth", "stored the Keap refresh token in %s; the next run refreshes it",
			    state_dir(s.st));
	} else {
		rc = auth_exchange_code(a, code != NULL ? code : secret, redirect,
		    mono_ms() + cfg_int(cfg, OPT_HTTP_TIMEOUT) * 3000);
		if (rc == RC_OK)
			log_info("auth", "Keap authorised: the tokens are stored in %s", state_dir(s.st));
	}
out:
	if (code != NULL) {
		memset(code, 0, strlen(code));
		free(code);
	}
	auth_free(a);
	s.discard = rc != RC_OK;	/* nothing stored: S3 keeps what it has */
	if ((e = session_close(&s)) != RC_OK)
		rc = e;
	return rc;
}
