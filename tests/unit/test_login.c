/* Unit tests: login.c (the pasted redirect, the state check, the authorize
 * URL, loopback redirect URIs, secrets from files) and config.c's "did you
 * mean". */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "login.h"
#include "t.h"

static void
test_pasted(void)
{
	struct buf err = BUF_INIT;
	char *code = NULL;

	CHECK(login_parse_pasted("https://app.example/cb?code=KC-abc%2Fd&state=s123", "s123", &code,
	    &err) == 0);
	CHECK_STR(code, "KC-abc/d");
	free(code);
	/* the order of the parameters does not matter; a fragment is not the query */
	CHECK(login_parse_pasted("https://app.example/cb?state=s123&scope=full&code=C2#x", "s123",
	    &code, &err) == 0);
	CHECK_STR(code, "C2");
	free(code);
	/* the query alone */
	CHECK(login_parse_pasted("code=C3&state=s123", "s123", &code, &err) == 0);
	CHECK_STR(code, "C3");
	free(code);
	/* a bare code (surrounding spaces dropped) */
	CHECK(login_parse_pasted("  KC-bare-9", "s123", &code, &err) == 0);
	CHECK_STR(code, "KC-bare-9");
	free(code);

	/* a wrong or missing state is refused, no code handed out */
	code = NULL;
	CHECK(login_parse_pasted("https://app.example/cb?code=C4&state=other", "s123", &code, &err) != 0);
	CHECK(code == NULL);
	CHECK_CONTAINS(err.p, "state does not match");
	buf_reset(&err);
	CHECK(login_parse_pasted("https://app.example/cb?code=C4", "s123", &code, &err) != 0);
	CHECK_CONTAINS(err.p, "state does not match");
	buf_reset(&err);
	/* a state that only starts like ours */
	CHECK(login_parse_pasted("https://app.example/cb?code=C4&state=s1234", "s123", &code, &err) != 0);
	buf_reset(&err);
	/* Keap's error answer */
	CHECK(login_parse_pasted("https://app.example/cb?error=access_denied&state=s123", "s123",
	    &code, &err) != 0);
	CHECK_CONTAINS(err.p, "access was denied");
	buf_reset(&err);
	/* an address without a code */
	CHECK(login_parse_pasted("https://app.example/cb?state=s123", "s123", &code, &err) != 0);
	CHECK_CONTAINS(err.p, "holds no code");
	buf_reset(&err);
	CHECK(login_parse_pasted("", "s123", &code, &err) != 0);
	buf_free(&err);
}

static void
test_url_and_loopback(void)
{
	struct buf b = BUF_INIT;
	char host[64], path[256];
	int port = 0;

	login_authorize_url(&b, "https://accounts.infusionsoft.com/app/oauth/authorize", "my id",
	    "https://app.example/cb?x=1", "abc");
	CHECK_STR(b.p, "https://accounts.infusionsoft.com/app/oauth/authorize?client_id=my%20id&"
	    "redirect_uri=https%3A%2F%2Fapp.example%2Fcb%3Fx%3D1&response_type=code&scope=full&state=abc");
	buf_free(&b);

	CHECK(login_loopback("http://127.0.0.1:8765/cb?q=1", host, sizeof(host), &port, path,
	    sizeof(path)) == 0);
	CHECK(port == 8765);
	CHECK_STR(path, "/cb");
	CHECK(login_loopback("http://localhost:9/", host, sizeof(host), &port, path, sizeof(path)) == 0);
	CHECK(port == 9);
	CHECK(login_loopback("https://127.0.0.1:8765/cb", host, sizeof(host), &port, path,
	    sizeof(path)) != 0);
	CHECK(login_loopback("http://example.com:80/cb", host, sizeof(host), &port, path,
	    sizeof(path)) != 0);
	CHECK(login_loopback("http://127.0.0.1/cb", host, sizeof(host), &port, path, sizeof(path)) != 0);
	CHECK(login_loopback("http://127.0.0.1:99999/cb", host, sizeof(host), &port, path,
	    sizeof(path)) != 0);
	CHECK(login_loopback("http://127.0.0.1.evil.example:80/", host, sizeof(host), &port, path,
	    sizeof(path)) != 0);
}

static void
test_read_secret(void)
{
	char dir[] = "/tmp/atsrecon-login-XXXXXX", *p, *s = NULL;
	struct buf err = BUF_INIT;
	FILE *f;

	CHECK(mkdtemp(dir) != NULL);
	p = xasprintf("%s/rt", dir);
	f = fopen(p, "w");
	fputs("  RT-123 \r\n", f);
	fclose(f);
	CHECK(login_read_secret(p, &s, &err) == 0);
	CHECK_STR(s, "RT-123");
	free(s);
	f = fopen(p, "w");
	fputs("a\nb\n", f);
	fclose(f);
	CHECK(login_read_secret(p, &s, &err) != 0);
	CHECK_CONTAINS(err.p, "exactly one non-empty line");
	buf_reset(&err);
	f = fopen(p, "w");
	fclose(f);
	CHECK(login_read_secret(p, &s, &err) != 0);
	buf_reset(&err);
	unlink(p);
	CHECK(login_read_secret(p, &s, &err) != 0);
	CHECK_CONTAINS(err.p, "No such file");
	rmdir(dir);
	free(p);
	buf_free(&err);
	log_clear_secrets();
}

static void
test_did_you_mean(void)
{
	struct buf b = BUF_INIT;

	did_you_mean(&b, "concurency", "max_rps|concurrency|page_size");
	CHECK_STR(b.p, "; did you mean \"concurrency\"?");
	buf_reset(&b);
	did_you_mean(&b, "oauht", "oauth|pat|sak");	/* two letters swapped */
	CHECK_STR(b.p, "; did you mean \"oauth\"?");
	buf_reset(&b);
	did_you_mean(&b, "CLIENT-ID", "client_id|client_secret");	/* case, - for _ */
	CHECK_STR(b.p, "; did you mean \"client_id\"?");
	buf_reset(&b);
	did_you_mean(&b, "zzzzqq", "max_rps|concurrency");
	CHECK(b.len == 0);
	did_you_mean(&b, "x", "a|b");	/* one letter: nothing is close enough */
	CHECK(b.len == 0);
	did_you_mean(&b, "oauth", "oauth|pat");	/* an exact match needs no suggestion */
	CHECK(b.len == 0);
	buf_free(&b);
}

int
main(void)
{
	log_init(LOG_ERROR, LOG_FMT_TEXT);
	test_pasted();
	test_url_and_loopback();
	test_read_secret();
	test_did_you_mean();
	return t_done("login");
}
