/*
 * Tests: s3.c (SigV4 client, lease, snapshot) against tests/fakes/s3.py, and
 * lambda.c's pure parts. tests/run.sh may start the fake and export
 * ATSRECON_TEST_S3 (its root URL) with ATSRECON_TEST_CA; without them this
 * test starts its own fake (python3 tests/fakes/s3.py).
 *
 * `test_s3 lambda-stub` is not a test: it is the Lambda runtime loop
 * (lambda_loop) with a stub reconcile, for tests/integration/lambda.sh. The
 * stub takes the remote state (s3state_begin), increments a counter in it,
 * commits, and does what the invocation's event says:
 *   {"mode": "ok" | "fail" | "hold" | "hang_after_commit" | "deadline",
 *    "sleep_ms": N}
 * ok: done; fail: RC_RECORD without touching the state; hold and
 * hang_after_commit: sleep N ms after the commit, then end (hang is meant to be
 * killed); deadline: work until the run's deadline, then end.
 * `test_s3 lambda-init-error MESSAGE` calls lambda_init_error (what main.c
 * is to call when the configuration cannot be loaded under `lambda`).
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config.h"
#include "http.h"
#include "jtree.h"
#include "lambda.h"
#include "log.h"
#include "s3.h"
#include "state.h"
#include "t.h"
#include "fakeadm.h"

#define BUCKET "atsrecon-test"
#define AKID "AKIAIOSFODNN7EXAMPLE"
#define SECRET "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#define TMP_AKID "ASIAQTESTSESSIONKEY1"
#define TMP_SECRET "sessionSecret/abcdefghijklmnopqrstuvw+XYZ0"
#define TMP_TOKEN "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQD+test/token=="

extern char **environ;

static const char *root, *ca;
static char tmpdir[256];
static pid_t own_fake;

/* ---- the fake ------------------------------------------------------------------------------ */

static int
start_own_fake(void)
{
	char script[PATH_MAX + 32], exe[PATH_MAX], pf[300], cd[300];
	static char url[64], cafile[320];
	struct buf port = BUF_INIT;
	ssize_t n;
	int i;

	str_copy(script, sizeof(script), "tests/fakes/s3.py");
	if (access(script, R_OK) != 0 && (n = readlink("/proc/self/exe", exe, sizeof(exe) - 1)) > 0) {
		exe[n] = '\0';	/* .../build/dev/tests/test_s3 → .../tests/fakes/s3.py */
		for (i = 0; i < 4; i++) {
			char *s = strrchr(exe, '/');
			if (s != NULL)
				*s = '\0';
		}
		snprintf(script, sizeof(script), "%s/tests/fakes/s3.py", exe);
	}
	snprintf(cd, sizeof(cd), "%s/fakeca", tmpdir);
	snprintf(pf, sizeof(pf), "%s/s3.port", tmpdir);
	own_fake = fork();
	if (own_fake == 0) {
		execlp("python3", "python3", script, "--certdir", cd, "--port-file", pf,
		    "--idle-timeout", "300", "--max-lifetime", "1200", (char *)NULL);
		_exit(127);
	}
	for (i = 0; i < 400; i++) {
		buf_reset(&port);
		if (read_file(pf, 64, &port) == 0 && port.len > 0)
			break;
		sleep_ms(25);
	}
	if (port.len == 0) {
		buf_free(&port);
		return -1;
	}
	port.p[strcspn(port.p, "\r\n")] = '\0';
	snprintf(url, sizeof(url), "https://localhost:%s", port.p);
	snprintf(cafile, sizeof(cafile), "%s/ca.pem", cd);
	root = url;
	ca = cafile;
	buf_free(&port);
	printf("# started tests/fakes/s3.py at %s\n", root);
	return 0;
}

/* GET /_admin/object for key: the JSON (caller deletes) or NULL (missing). */
static cJSON *
adm_object(const char *key)
{
	struct buf p = BUF_INIT;
	cJSON *j;

	buf_adds(&p, "/_admin/object?bucket=" BUCKET "&key=");
	http_urlencode(&p, key);
	j = fake_admin("GET", p.p, NULL);
	buf_free(&p);
	return j;
}

static void
adm_put(const char *key, const char *text)
{
	struct buf b = BUF_INIT;

	buf_adds(&b, "{\"bucket\":\"" BUCKET "\",\"key\":");
	json_escape(&b, key, strlen(key));
	buf_adds(&b, ",\"text\":");
	json_escape(&b, text, strlen(text));
	buf_adds(&b, "}");
	fake_admin0("POST", "/_admin/object", b.p);
	buf_free(&b);
}

/* The ETag the fake holds for key, "" if none. */
static void
adm_etag(const char *key, char *out, size_t size)
{
	cJSON *j = adm_object(key);
	const char *e = j ? json_str(j, "etag") : NULL;

	str_copy(out, size, e ? e : "");
	cJSON_Delete(j);
}

/* The s3log entries since the last reset (caller deletes). */
static cJSON *
adm_log(void)
{
	return fake_admin("GET", "/_admin/s3log?since=0", NULL);
}

/* Counts s3log entries: op, key suffix (NULL: any), status (0: any). */
static int
log_count(const char *op, const char *key_suffix, long status, const char *if_match,
    const char *if_none_match)
{
	cJSON *j = adm_log(), *e;
	const cJSON *ents = j ? json_get(j, "entries") : NULL;
	int n = 0;

	cJSON_ArrayForEach(e, ents) {
		const char *o = json_str(e, "op"), *k = json_str(e, "key");
		const char *im = json_str(e, "if_match"), *inm = json_str(e, "if_none_match");
		int64_t st = 0;
		json_int(e, "status", &st);
		if (op != NULL && !str_eq(o, op))
			continue;
		if (key_suffix != NULL && (k == NULL || strlen(k) < strlen(key_suffix) ||
		    strcmp(k + strlen(k) - strlen(key_suffix), key_suffix) != 0))
			continue;
		if (status != 0 && st != status)
			continue;
		if (if_match != NULL && !(str_eq(im, if_match) || (*if_match == '?' && im != NULL)))
			continue;
		if (if_none_match != NULL && !str_eq(inm, if_none_match))
			continue;
		n++;
	}
	cJSON_Delete(j);
	return n;
}

/* No PUT ever replaced an object without a condition. */
static int
no_unconditional_overwrite(void)
{
	cJSON *j = fake_admin("GET", "/_admin/stats", NULL);
	int64_t n = -1;

	if (j != NULL && json_int(j, "unconditional_overwrites", &n) != 0)
		n = -1;
	cJSON_Delete(j);
	return n == 0;
}

static void
log_reset(void)
{
	fake_admin0("POST", "/_admin/s3log/reset", "{}");
}

/* ---- configuration -------------------------------------------------------------------------- */

static void
cfg_make(struct config *cfg, const char *prefix, const char *extra1, const char *extra2)
{
	struct buf err = BUF_INIT;
	char *v[10];
	int i = 0;

	config_init(cfg);
	v[i++] = xasprintf("ATSRECON_STATE_URL=s3://" BUCKET "/%s", prefix);
	v[i++] = xasprintf("ATSRECON_STATE_ENDPOINT=%s", root);
	v[i++] = xasprintf("ATSRECON_STATE_REGION=us-east-1");
	v[i++] = xasprintf("ATSRECON_HTTP_CA_FILE=%s", ca);
	v[i++] = xasprintf("ATSRECON_HTTP_MAX_RETRIES=2");
	if (extra1 != NULL)
		v[i++] = xstrdup(extra1);
	if (extra2 != NULL)
		v[i++] = xstrdup(extra2);
	v[i] = NULL;
	if (config_apply_env(cfg, v, &err) != RC_OK || config_finish(cfg, &err) != RC_OK)
		printf("# config: %s\n", err.p);
	while (i-- > 0)
		free(v[i]);
	buf_free(&err);
}

static void
creds(const char *id, const char *secret, const char *token)
{
	setenv("AWS_ACCESS_KEY_ID", id, 1);
	setenv("AWS_SECRET_ACCESS_KEY", secret, 1);
	if (token != NULL)
		setenv("AWS_SESSION_TOKEN", token, 1);
	else
		unsetenv("AWS_SESSION_TOKEN");
}

/* ---- the local state ---------------------------------------------------------------------- */

static int
counter_bump(const char *dir)
{
	struct state *st = NULL;
	struct buf b = BUF_INIT;
	int64_t n = 0;
	char v[32];

	if (state_open(dir, STATE_RW, &st) != RC_OK)
		return -1;
	if (state_get(st, DB_META, "test_counter", &b) == RC_OK && parse_i64(b.p, &n) != 0)
		n = -100;
	snprintf(v, sizeof(v), "%lld", (long long)(n + 1));
	if (state_put(st, DB_META, "test_counter", v, strlen(v)) != RC_OK)
		n = -101;
	buf_free(&b);
	state_close(st);
	return (int)(n + 1);
}

static int
counter_get(const char *dir)
{
	struct state *st = NULL;
	struct buf b = BUF_INIT;
	int64_t n = 0;

	if (state_open(dir, STATE_RW, &st) != RC_OK)
		return -1;
	if (state_get(st, DB_META, "test_counter", &b) == RC_OK && parse_i64(b.p, &n) != 0)
		n = -100;
	buf_free(&b);
	state_close(st);
	return (int)n;
}

static int
dir_exists(const char *d)
{
	struct stat sb;

	return stat(d, &sb) == 0 && S_ISDIR(sb.st_mode);
}

/* ---- tests ---------------------------------------------------------------------------------- */

static void
test_pure(void)
{
	struct buf b = BUF_INIT, err = BUF_INIT;
	char *bk = NULL, *px = NULL;

	CHECK(s3_parse_url("s3://my-bucket/team/a//", &bk, &px, &err) == RC_OK);
	CHECK_STR(bk, "my-bucket");
	CHECK_STR(px, "team/a");
	free(bk);
	free(px);
	CHECK(s3_parse_url("s3://my.bucket", &bk, &px, &err) == RC_OK);
	CHECK_STR(px, "");
	free(bk);
	free(px);
	CHECK(s3_parse_url("https://x/y", &bk, &px, &err) == RC_CONFIG);
	CHECK(s3_parse_url("s3://Bad_Bucket/x", &bk, &px, &err) == RC_CONFIG);
	CHECK(s3_parse_url("s3://ab/x", &bk, &px, &err) == RC_CONFIG);
	CHECK(s3_parse_url("s3://ok-bucket/a\nb", &bk, &px, &err) == RC_CONFIG);
	CHECK_CONTAINS(err.p, "bucket name");

	s3_key_path(&b, "a b+c/d=e&f?g#h%i~j._-/ü");
	CHECK_STR(b.p, "a%20b%2Bc/d%3De%26f%3Fg%23h%25i~j._-/%C3%BC");
	buf_reset(&b);
	s3_object_url(&b, NULL, "eu-west-1", "my-bucket", "p/state.mdb");
	CHECK_STR(b.p, "https://my-bucket.s3.eu-west-1.amazonaws.com/p/state.mdb");
	buf_reset(&b);
	s3_object_url(&b, NULL, "us-east-1", "my.bucket", "k");
	CHECK_STR(b.p, "https://s3.us-east-1.amazonaws.com/my.bucket/k");
	buf_reset(&b);
	s3_object_url(&b, NULL, "cn-north-1", "bkt", "k");
	CHECK_STR(b.p, "https://bkt.s3.cn-north-1.amazonaws.com.cn/k");
	buf_reset(&b);
	s3_object_url(&b, "http://127.0.0.1:9000", "auto", "bkt", "a b");
	CHECK_STR(b.p, "http://127.0.0.1:9000/bkt/a%20b");

	/* lambda.c: the margin and the error types */
	CHECK(lambda_margin_ms(900000) == 10000);
	CHECK(lambda_margin_ms(30000) == 3000);
	CHECK(lambda_margin_ms(4000) == 1000);
	CHECK(lambda_margin_ms(1500) == 750);
	CHECK(lambda_margin_ms(-5) == 0);
	CHECK(lambda_error_type(RC_OK) == NULL);
	CHECK(lambda_error_type(RC_LOCKED) == NULL);
	CHECK_STR(lambda_error_type(RC_STATE), "Function.StateError");
	CHECK(lambda_error_type(RC_RECORD) == NULL);	/* a completed run: a response */
	CHECK_STR(lambda_error_type(RC_REMOTE), "Function.RemoteUnavailable");
	for (int r = RC_RECORD; r <= RC_BUG; r++) {
		const char *t = lambda_error_type((enum rc)r);
		/* what Lambda keeps: (Runtime|Function)\.[A-Z][a-zA-Z]+ */
		if (t != NULL) {
			int good = strncmp(t, "Function.", 9) == 0 && t[9] >= 'A' && t[9] <= 'Z';
			for (const char *c = t + 10; *c; c++)
				good &= (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z');
			CHECK(good);
		}
	}
	buf_free(&b);
	buf_free(&err);
}

/* The client: keys that need encoding, ETags, auth failures. */
static void
test_client(void)
{
	static const char *const keys[] = { "plain/key.txt", "with space/a b.txt", "plus+sign/c+d",
		"mixed/ä ö+ü=1&x?y#z%25~._-", "dir//double/'quote'\"", "*star*(paren)!$,;:@" };
	struct config cfg;
	struct s3 *s = NULL;
	struct s3_obj o;
	struct s3_put p;
	struct buf b = BUF_INIT;
	char etag[S3_ETAG_MAX];
	size_t i;

	creds(AKID, SECRET, NULL);
	cfg_make(&cfg, "client", NULL, NULL);
	CHECK(s3_open(&cfg, &s) == RC_OK);
	if (s == NULL) {
		config_free(&cfg);
		return;
	}
	for (i = 0; i < ARRAY_LEN(keys); i++) {
		char body[128];
		cJSON *j;

		snprintf(body, sizeof(body), "body of %s", keys[i]);
		memset(&p, 0, sizeof(p));
		p.data = body;
		p.len = strlen(body);
		CHECK(s3_put(s, keys[i], &p, &o) == RC_OK);
		CHECK(o.status == 200);
		CHECK(strlen(o.etag) == 34 && o.etag[0] == '"');
		CHECK(strlen(o.md5) == 32 && strncmp(o.etag + 1, o.md5, 32) == 0);
		/* the fake stored it under exactly this key */
		adm_etag(keys[i], etag, sizeof(etag));
		CHECK_STR(etag, o.etag);
		buf_reset(&b);
		CHECK(s3_get(s, keys[i], NULL, &b, NULL, &o) == RC_OK);
		CHECK_STR(b.p, body);
		CHECK_STR(o.etag, etag);
		j = adm_object(keys[i]);
		CHECK(j != NULL && str_eq(json_str(j, "content_type"), "application/octet-stream"));
		cJSON_Delete(j);
	}
	/* conditional writes: the right ETag, a wrong one, create-only */
	memset(&p, 0, sizeof(p));
	p.data = "v2";
	p.len = 2;
	adm_etag(keys[1], etag, sizeof(etag));
	p.if_match = etag;
	CHECK(s3_put(s, keys[1], &p, &o) == RC_OK);
	p.if_match = "\"0123456789abcdef0123456789abcdef\"";
	CHECK(s3_put(s, keys[1], &p, &o) == RC_RECORD);
	CHECK(o.status == 412);
	CHECK_STR(o.code, "PreconditionFailed");
	p.if_match = NULL;
	p.if_none_match = 1;
	CHECK(s3_put(s, keys[1], &p, &o) == RC_RECORD);
	CHECK(o.status == 412);
	CHECK(s3_put(s, "client/new-object", &p, &o) == RC_OK);
	/* missing key: a quiet RC_RECORD; Range */
	buf_reset(&b);
	CHECK(s3_get(s, "client/nothing here", NULL, &b, NULL, &o) == RC_RECORD);
	CHECK(o.status == 404);
	CHECK_STR(o.code, "NoSuchKey");
	buf_reset(&b);
	CHECK(s3_get(s, keys[0], NULL, &b, "bytes=0-3", &o) == RC_OK);
	CHECK(o.status == 206);
	CHECK_STR(b.p, "body");
	/* a JSON object (the lease) whose body arrives cut short or malformed is
	 * read again (issue 16); still bad after the retries: an error, not a
	 * half-read lease */
	memset(&p, 0, sizeof(p));
	p.data = "{\"owner\":\"abc\",\"expires_ms\":1}";
	p.len = strlen(p.data);
	p.content_type = "application/json";
	CHECK(s3_put(s, "client/lease", &p, &o) == RC_OK);
	fake_admin0("POST", "/_admin/faults", "[{\"kind\":\"cut\",\"times\":1,\"match\":"
	    "{\"method\":\"GET\",\"path\":\"client/lease\"}},{\"kind\":\"malformed\",\"times\":1,"
	    "\"match\":{\"method\":\"GET\",\"path\":\"client/lease\"}}]");
	buf_reset(&b);
	CHECK(s3_get(s, "client/lease", NULL, &b, NULL, &o) == RC_OK);
	CHECK_STR(b.p, p.data);
	fake_admin0("POST", "/_admin/faults", "[{\"kind\":\"cut\",\"match\":"
	    "{\"method\":\"GET\",\"path\":\"client/lease\"}}]");
	buf_reset(&b);
	CHECK(s3_get(s, "client/lease", NULL, &b, NULL, &o) == RC_REMOTE);
	fake_admin0("POST", "/_admin/faults", "[]");
	/* delete: conditional, wrong ETag refused; missing key is fine */
	CHECK(s3_delete(s, keys[2], "\"0123456789abcdef0123456789abcdef\"", &o) == RC_RECORD);
	CHECK(o.status == 412);
	adm_etag(keys[2], etag, sizeof(etag));
	CHECK(s3_delete(s, keys[2], etag, &o) == RC_OK);
	CHECK(o.status == 204);
	adm_etag(keys[2], etag, sizeof(etag));
	CHECK_STR(etag, "");
	CHECK(s3_delete(s, keys[2], NULL, &o) == RC_OK);
	s3_close(s);
	config_free(&cfg);

	/* a wrong secret, a wrong region, a missing bucket, no credentials */
	creds(AKID, "wrongSecretwrongSecretwrongSecret1234567", NULL);
	cfg_make(&cfg, "client", NULL, NULL);
	CHECK(s3_open(&cfg, &s) == RC_OK);
	buf_reset(&b);
	CHECK(s3_get(s, keys[0], NULL, &b, NULL, &o) == RC_AUTH);
	CHECK(o.status == 403);
	CHECK_STR(o.code, "SignatureDoesNotMatch");
	s3_close(s);
	config_free(&cfg);
	creds(AKID, SECRET, NULL);
	cfg_make(&cfg, "client", "ATSRECON_STATE_REGION=eu-west-1", NULL);
	CHECK(s3_open(&cfg, &s) == RC_OK);
	CHECK(s3_get(s, keys[0], NULL, &b, NULL, &o) == RC_AUTH);
	CHECK_STR(o.code, "AuthorizationHeaderMalformed");
	s3_close(s);
	config_free(&cfg);
	config_init(&cfg);
	{
		char *v[] = { NULL, NULL, NULL, NULL };
		struct buf err = BUF_INIT;
		v[0] = xasprintf("ATSRECON_STATE_URL=s3://no-such-bucket/x");
		v[1] = xasprintf("ATSRECON_STATE_ENDPOINT=%s", root);
		v[2] = xasprintf("ATSRECON_HTTP_CA_FILE=%s", ca);
		config_apply_env(&cfg, v, &err);
		free(v[0]);
		free(v[1]);
		free(v[2]);
		buf_free(&err);
	}
	CHECK(s3_open(&cfg, &s) == RC_OK);
	CHECK(s3_get(s, keys[0], NULL, &b, NULL, &o) == RC_CONFIG);
	CHECK_STR(o.code, "NoSuchBucket");
	s3_close(s);
	config_free(&cfg);
	unsetenv("AWS_SECRET_ACCESS_KEY");
	cfg_make(&cfg, "client", NULL, NULL);
	CHECK(s3_open(&cfg, &s) == RC_CONFIG && s == NULL);
	config_free(&cfg);
	creds(AKID, SECRET, NULL);
	cfg_make(&cfg, "client", NULL, NULL);
	setenv("AWS_ACCESS_KEY_ID", "AKIA\r\nX-Evil: 1", 1);
	CHECK(s3_open(&cfg, &s) == RC_CONFIG);
	creds(AKID, SECRET, NULL);
	config_free(&cfg);
	buf_free(&b);
}

/* Temporary credentials: the session token travels as x-amz-security-token. */
static void
test_session_token(void)
{
	struct config cfg;
	struct s3 *s = NULL;
	struct s3_obj o;
	struct s3_put p;
	struct buf b = BUF_INIT;
	char *body;

	body = xasprintf("{\"access_key_id\":\"%s\",\"secret_access_key\":\"%s\","
	    "\"session_token\":\"%s\"}", TMP_AKID, TMP_SECRET, TMP_TOKEN);
	fake_admin0("POST", "/_admin/credentials", body);
	free(body);
	creds(TMP_AKID, TMP_SECRET, TMP_TOKEN);
	cfg_make(&cfg, "session", NULL, NULL);
	CHECK(s3_open(&cfg, &s) == RC_OK);
	memset(&p, 0, sizeof(p));
	p.data = "with a token";
	p.len = strlen(p.data);
	log_reset();
	CHECK(s3_put(s, "session/obj", &p, &o) == RC_OK);
	CHECK(s3_get(s, "session/obj", NULL, &b, NULL, &o) == RC_OK);
	CHECK_STR(b.p, "with a token");
	{
		cJSON *j = adm_log(), *e;
		int by_tmp = 0;
		cJSON_ArrayForEach(e, json_get(j, "entries"))
			by_tmp += str_eq(json_str(e, "access_key_id"), TMP_AKID);
		CHECK(by_tmp == 2);
		cJSON_Delete(j);
	}
	s3_close(s);
	/* the same key without its token, and with a wrong one: refused */
	unsetenv("AWS_SESSION_TOKEN");
	CHECK(s3_open(&cfg, &s) == RC_OK);
	CHECK(s3_get(s, "session/obj", NULL, &b, NULL, &o) == RC_AUTH);
	CHECK_STR(o.code, "InvalidAccessKeyId");
	s3_close(s);
	setenv("AWS_SESSION_TOKEN", "IQoJwrongtokenwrongtoken", 1);
	CHECK(s3_open(&cfg, &s) == RC_OK);
	CHECK(s3_get(s, "session/obj", NULL, &b, NULL, &o) == RC_AUTH);
	CHECK_STR(o.code, "InvalidToken");
	s3_close(s);
	/* the whole remote-state cycle with temporary credentials */
	creds(TMP_AKID, TMP_SECRET, TMP_TOKEN);
	{
		struct s3state *st = NULL;
		char *dir = NULL;
		CHECK(s3state_begin(&cfg, &dir, &st) == RC_OK);
		CHECK(dir != NULL && counter_bump(dir) == 1);
		CHECK(s3state_commit(st) == RC_OK);
		s3state_end(st);
		free(dir);
	}
	creds(AKID, SECRET, NULL);
	config_free(&cfg);
	buf_free(&b);
}

/* The lease and the snapshot: first run, refusal while live, reuse, release. */
static void
test_lease_and_snapshot(void)
{
	struct config cfg;
	struct s3state *a = NULL, *b = NULL;
	char *da = NULL, *db = NULL, *dadup = NULL;
	char lease1[S3_ETAG_MAX], lease2[S3_ETAG_MAX], st1[S3_ETAG_MAX], st2[S3_ETAG_MAX];
	cJSON *j;
	int64_t exp = 0;

	creds(AKID, SECRET, NULL);
	cfg_make(&cfg, "team one/state", NULL, NULL);
	log_reset();
	CHECK(s3state_begin(&cfg, &da, &a) == RC_OK);
	CHECK(da != NULL && dir_exists(da));
	CHECK(da != NULL && strncmp(da, tmpdir, strlen(tmpdir)) == 0);	/* under $TMPDIR */
	CHECK(log_count("PutObject", "team one/state/lease", 200, NULL, "*") == 1);
	CHECK(log_count("GetObject", "team one/state/state.mdb", 404, NULL, NULL) == 1);
	j = adm_object("team one/state/lease");
	CHECK(j != NULL && json_int(j, "size", &exp) == 0 && exp > 50);
	cJSON_Delete(j);
	adm_etag("team one/state/lease", lease1, sizeof(lease1));
	CHECK(lease1[0] == '"');

	/* a second run while the lease is live: locked, the lease untouched */
	CHECK(s3state_begin(&cfg, &db, &b) == RC_LOCKED);
	CHECK(b == NULL && db == NULL);
	adm_etag("team one/state/lease", lease2, sizeof(lease2));
	CHECK_STR(lease2, lease1);

	/* nothing written yet: commit has nothing to upload */
	CHECK(s3state_commit(a) == RC_OK);
	CHECK(s3state_uploads(a) == 0);
	CHECK(counter_bump(da) == 1);
	CHECK(s3state_commit(a) == RC_OK);
	CHECK(s3state_uploads(a) == 1);
	CHECK(log_count("PutObject", "team one/state/state.mdb", 200, NULL, "*") == 1);
	adm_etag("team one/state/state.mdb", st1, sizeof(st1));
	CHECK(st1[0] == '"');
	/* unchanged: a second commit uploads nothing */
	CHECK(s3state_commit(a) == RC_OK);
	CHECK(s3state_uploads(a) == 1);
	CHECK(log_count("PutObject", "team one/state/state.mdb", 0, NULL, NULL) == 1);
	/* changed again: If-Match on the ETag of the first upload */
	CHECK(counter_bump(da) == 2);
	CHECK(s3state_commit(a) == RC_OK);
	CHECK(s3state_uploads(a) == 2);
	CHECK(log_count("PutObject", "team one/state/state.mdb", 200, st1, NULL) == 1);
	adm_etag("team one/state/state.mdb", st2, sizeof(st2));
	CHECK(strcmp(st1, st2) != 0);
	dadup = xstrdup(da);
	s3state_end(a);
	CHECK(!dir_exists(dadup));
	adm_etag("team one/state/lease", lease2, sizeof(lease2));
	CHECK_STR(lease2, "");		/* released */
	CHECK(log_count("DeleteObject", "team one/state/lease", 204, lease1, NULL) == 1);
	free(da);
	free(dadup);

	/* the next run gets the state as it was left */
	CHECK(s3state_begin(&cfg, &db, &b) == RC_OK);
	CHECK(db != NULL && counter_get(db) == 2);
	CHECK(counter_bump(db) == 3);
	CHECK(s3state_commit(b) == RC_OK);
	CHECK(log_count("PutObject", "team one/state/state.mdb", 200, st2, NULL) == 1);
	s3state_end(b);
	free(db);
	CHECK(no_unconditional_overwrite());
	config_free(&cfg);
}

/* A stale lease is taken over (If-Match on its ETag); a garbled one too; the
 * first owner's late release does not remove the new owner's lease. */
static void
test_stale_lease(void)
{
	struct config cfg, cfg_short;
	struct s3state *a = NULL, *b = NULL;
	char *da = NULL, *db = NULL;
	char planted[S3_ETAG_MAX], now_etag[S3_ETAG_MAX], body[256];
	cJSON *j;

	creds(AKID, SECRET, NULL);
	cfg_make(&cfg, "stale", NULL, NULL);
	snprintf(body, sizeof(body), "{\"owner\":\"0000feed\",\"host\":\"gone\",\"pid\":4242,"
	    "\"expires_ms\":%lld}", (long long)(now_ms() - 1000));
	adm_put("stale/lease", body);
	adm_etag("stale/lease", planted, sizeof(planted));
	log_reset();
	CHECK(s3state_begin(&cfg, &da, &a) == RC_OK);
	CHECK(log_count("PutObject", "stale/lease", 412, NULL, "*") == 1);
	CHECK(log_count("PutObject", "stale/lease", 200, planted, NULL) == 1);
	j = adm_object("stale/lease");
	CHECK(j != NULL && json_str(j, "etag") != NULL && !str_eq(json_str(j, "etag"), planted));
	cJSON_Delete(j);
	s3state_end(a);
	free(da);

	/* a garbled lease counts as expired */
	adm_put("stale/lease", "not json at all");
	adm_etag("stale/lease", planted, sizeof(planted));
	log_reset();
	CHECK(s3state_begin(&cfg, &da, &a) == RC_OK);
	CHECK(log_count("PutObject", "stale/lease", 200, planted, NULL) == 1);
	s3state_end(a);
	free(da);

	/* a live lease in the future (another host) is respected */
	snprintf(body, sizeof(body), "{\"owner\":\"0000beef\",\"host\":\"other\",\"pid\":7,"
	    "\"expires_ms\":%lld}", (long long)(now_ms() + 600000));
	adm_put("stale/lease", body);
	adm_etag("stale/lease", planted, sizeof(planted));
	CHECK(s3state_begin(&cfg, &da, &a) == RC_LOCKED);
	adm_etag("stale/lease", now_etag, sizeof(now_etag));
	CHECK_STR(now_etag, planted);
	fake_admin0("POST", "/_admin/delete-object", "{\"bucket\":\"" BUCKET "\",\"key\":\"stale/lease\"}");

	/* run A's lease (1 s) goes stale (its renewals fail); B takes it over; A's
	 * release does not remove B's lease */
	cfg_make(&cfg_short, "stale", "ATSRECON_STATE_LEASE_TTL=1s", NULL);
	CHECK(s3state_begin(&cfg_short, &da, &a) == RC_OK);
	fake_admin0("POST", "/_admin/s3-error", "{\"status\":503,\"name\":\"stale\",\"match\":"
	    "{\"method\":\"PUT\",\"path\":\"stale/lease$\"}}");
	sleep_ms(1200);
	fake_admin0("POST", "/_admin/faults", "[]");
	CHECK(stop_requested());	/* A stopped writing when its lease ran out */
	{
		/* A's heartbeat tries again every 100 ms: it may renew the lease nobody
		 * took before B looks (then B is locked out), or B takes it over */
		enum rc rcb = s3state_begin(&cfg, &db, &b);
		CHECK(rcb == RC_OK || rcb == RC_LOCKED);
		adm_etag("stale/lease", now_etag, sizeof(now_etag));
		log_reset();
		s3state_end(a);		/* B's, if B holds it: not A's to delete */
		adm_etag("stale/lease", planted, sizeof(planted));
		if (rcb == RC_OK) {
			CHECK(log_count("DeleteObject", "stale/lease", 204, NULL, NULL) == 0);
			CHECK_STR(planted, now_etag);
			s3state_end(b);
			adm_etag("stale/lease", planted, sizeof(planted));
		}
		CHECK_STR(planted, "");
	}
	free(da);
	free(db);
	config_free(&cfg);
	config_free(&cfg_short);
}

/* Another writer changed state.mdb since it was read: RC_STATE, nothing
 * overwritten. A 409 is retried; a lost answer is resolved by the ETag. */
static void
test_conflicts(void)
{
	struct config cfg;
	struct s3state *a = NULL;
	char *da = NULL;
	char other[S3_ETAG_MAX], after[S3_ETAG_MAX];
	cJSON *j;
	int64_t n;

	creds(AKID, SECRET, NULL);
	cfg_make(&cfg, "conflict", NULL, NULL);
	/* a state to start from */
	CHECK(s3state_begin(&cfg, &da, &a) == RC_OK);
	CHECK(counter_bump(da) == 1);
	CHECK(s3state_commit(a) == RC_OK);
	s3state_end(a);
	free(da);

	CHECK(s3state_begin(&cfg, &da, &a) == RC_OK);
	CHECK(counter_bump(da) == 2);
	adm_put("conflict/state.mdb", "another writer's state");	/* behind our back */
	adm_etag("conflict/state.mdb", other, sizeof(other));
	log_reset();
	CHECK(s3state_commit(a) == RC_STATE);
	CHECK(log_count("PutObject", "conflict/state.mdb", 412, "?", NULL) == 1);
	CHECK(log_count("PutObject", "conflict/state.mdb", 200, NULL, NULL) == 0);
	adm_etag("conflict/state.mdb", after, sizeof(after));
	CHECK_STR(after, other);
	j = adm_object("conflict/state.mdb");
	CHECK(j != NULL && json_int(j, "size", &n) == 0 && n == 22);
	cJSON_Delete(j);
	CHECK(s3state_commit(a) == RC_STATE);	/* and stays refused */
	CHECK(no_unconditional_overwrite());
	s3state_end(a);
	free(da);

	/* the state object deleted meanwhile: If-Match answers 404, also RC_STATE */
	fake_admin0("POST", "/_admin/delete-object", "{\"bucket\":\"" BUCKET "\",\"key\":\"conflict/state.mdb\"}");
	adm_put("conflict/state.mdb", "x");
	CHECK(s3state_begin(&cfg, &da, &a) == RC_STATE);	/* "x" is no LMDB file */
	free(da);
	fake_admin0("POST", "/_admin/delete-object", "{\"bucket\":\"" BUCKET "\",\"key\":\"conflict/state.mdb\"}");
	CHECK(s3state_begin(&cfg, &da, &a) == RC_OK);
	CHECK(counter_bump(da) == 1);
	CHECK(s3state_commit(a) == RC_OK);
	fake_admin0("POST", "/_admin/delete-object", "{\"bucket\":\"" BUCKET "\",\"key\":\"conflict/state.mdb\"}");
	CHECK(counter_bump(da) == 2);
	CHECK(s3state_commit(a) == RC_STATE);
	s3state_end(a);
	free(da);

	/* 409 ConditionalRequestConflict twice, then through */
	CHECK(s3state_begin(&cfg, &da, &a) == RC_OK);
	CHECK(counter_bump(da) == 1);
	fake_admin0("POST", "/_admin/conflict",
	    "{\"bucket\":\"" BUCKET "\",\"key\":\"conflict/state.mdb\",\"times\":2}");
	log_reset();
	CHECK(s3state_commit(a) == RC_OK);
	CHECK(log_count("PutObject", "conflict/state.mdb", 409, NULL, NULL) == 2);
	CHECK(log_count("PutObject", "conflict/state.mdb", 200, NULL, "*") == 1);

	/* the PUT lands but its answer is lost (connection reset): recognised */
	CHECK(counter_bump(da) == 2);
	fake_admin0("POST", "/_admin/faults", "[{\"kind\":\"reset\",\"process\":true,\"times\":1,"
	    "\"match\":{\"method\":\"PUT\",\"path\":\"conflict/state\\\\.mdb\"}}]");
	log_reset();
	CHECK(s3state_commit(a) == RC_OK);
	CHECK(log_count("PutObject", "conflict/state.mdb", 200, "?", NULL) == 1);	/* once */
	CHECK(log_count("GetObject", "conflict/state.mdb", 206, NULL, NULL) == 1);
	/* the next commit goes on from the recovered ETag */
	CHECK(counter_bump(da) == 3);
	CHECK(s3state_commit(a) == RC_OK);
	fake_admin0("POST", "/_admin/faults", "[]");
	s3state_end(a);
	free(da);
	CHECK(s3state_begin(&cfg, &da, &a) == RC_OK);
	CHECK(counter_get(da) == 3);
	s3state_end(a);
	free(da);
	CHECK(no_unconditional_overwrite());
	config_free(&cfg);
}

/* Directories that killed runs left behind are swept; live ones are kept. */
static void
test_sweep(void)
{
	struct config cfg;
	struct s3state *a = NULL;
	char *da = NULL;
	char dead[PATH_MAX], self_old[PATH_MAX], live[PATH_MAX], path[PATH_MAX + 16], mark[64];

	creds(AKID, SECRET, NULL);
	cfg_make(&cfg, "sweep", NULL, NULL);
	snprintf(dead, sizeof(dead), "%s/atsrecon-state.dead01", tmpdir);
	snprintf(self_old, sizeof(self_old), "%s/atsrecon-state.self01", tmpdir);
	snprintf(live, sizeof(live), "%s/atsrecon-state.live01", tmpdir);
	mkdir(dead, 0700);
	mkdir(self_old, 0700);
	mkdir(live, 0700);
	snprintf(path, sizeof(path), "%s/owner", dead);
	atomic_write(path, "999999999 abc\n", 14, 0600);	/* no such pid */
	snprintf(path, sizeof(path), "%s/state", dead);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/owner", self_old);
	snprintf(mark, sizeof(mark), "%ld oldinstance\n", (long)getpid());	/* pid reused */
	atomic_write(path, mark, strlen(mark), 0600);
	snprintf(path, sizeof(path), "%s/owner", live);
	snprintf(mark, sizeof(mark), "%ld other\n", (long)getppid());	/* alive */
	atomic_write(path, mark, strlen(mark), 0600);
	CHECK(s3state_begin(&cfg, &da, &a) == RC_OK);
	CHECK(!dir_exists(dead));
	CHECK(!dir_exists(self_old));
	CHECK(dir_exists(live));
	s3state_end(a);
	free(da);
	snprintf(path, sizeof(path), "%s/owner", live);
	unlink(path);
	rmdir(live);
	config_free(&cfg);
}

/* Defect 1 (issue 16): the lease was renewed only at a commit past half its
 * TTL, so a run longer than state.lease_ttl lost it and a second runner took
 * over. Now a heartbeat renews it every ttl/3: with a 2 s TTL the run keeps it
 * for 5 s, and a second runner is refused all along. */
static void
test_defect1_lease_heartbeat(void)
{
	struct config cfg;
	struct s3state *a = NULL, *b = NULL;
	char *da = NULL, *db = NULL;
	char l1[S3_ETAG_MAX], l2[S3_ETAG_MAX];
	int64_t end;
	int tries = 0, locked = 0, renewed;

	creds(AKID, SECRET, NULL);
	cfg_make(&cfg, "renew", "ATSRECON_STATE_LEASE_TTL=2s", NULL);
	CHECK(s3state_begin(&cfg, &da, &a) == RC_OK);
	adm_etag("renew/lease", l1, sizeof(l1));
	log_reset();
	end = mono_ms() + 5000;
	while (mono_ms() < end) {
		enum rc rc = s3state_begin(&cfg, &db, &b);
		tries++;
		locked += rc == RC_LOCKED;
		if (rc == RC_OK) {
			s3state_end(b);
			free(db);
			db = NULL;
			break;
		}
		sleep_ms(250);
	}
	printf("# defect1_lease_heartbeat: %d of %d second runners refused over 5 s\n", locked,
	    tries);
	/* 20 tries at 250 ms apart; under memcheck each try is itself slow, so
	 * fewer fit in the 5 s (ATSRECON_TEST_VALGRIND, tests/valgrind.sh) */
	CHECK(tries >= (getenv("ATSRECON_TEST_VALGRIND") != NULL ? 3 : 10) && locked == tries);
	CHECK(!stop_requested());	/* the run still writes */
	renewed = log_count("PutObject", "renew/lease", 200, "?", NULL);
	CHECK(renewed >= 5 && renewed <= 10);	/* every ~0.67 s */
	adm_etag("renew/lease", l2, sizeof(l2));
	CHECK(l2[0] != '\0' && strcmp(l1, l2) != 0);
	/* and the state is still the run's to save */
	CHECK(counter_bump(da) == 1);
	CHECK(s3state_commit(a) == RC_OK);
	CHECK(s3state_uploads(a) == 1);
	s3state_end(a);
	adm_etag("renew/lease", l1, sizeof(l1));
	CHECK_STR(l1, "");
	free(da);
	config_free(&cfg);
}

/* Defect 1: a lease taken over behind the run's back (another runner, a
 * person) was only logged at the end, and the run went on writing and saved
 * its state over the new holder's. Now the run stops writing at once
 * (stop_requested: no new request starts) and does not upload. */
static void
test_defect1_lease_stolen(void)
{
	struct config cfg;
	struct s3state *a = NULL;
	char *da = NULL;
	char body[256], st0[S3_ETAG_MAX], st1[S3_ETAG_MAX];
	int64_t t0;

	creds(AKID, SECRET, NULL);
	cfg_make(&cfg, "stolen", "ATSRECON_STATE_LEASE_TTL=3s", NULL);
	CHECK(s3state_begin(&cfg, &da, &a) == RC_OK);
	CHECK(counter_bump(da) == 1);
	CHECK(s3state_commit(a) == RC_OK);
	adm_etag("stolen/state.mdb", st0, sizeof(st0));
	CHECK(!stop_requested());
	snprintf(body, sizeof(body), "{\"owner\":\"0000cafe\",\"host\":\"thief\",\"pid\":99,"
	    "\"expires_ms\":%lld}", (long long)(now_ms() + 600000));
	adm_put("stolen/lease", body);
	t0 = mono_ms();
	while (!stop_requested() && mono_ms() - t0 < 3000)
		sleep_ms(20);
	printf("# defect1_lease_stolen: noticed after %lld ms (ttl 3 s, renewed every 1 s)\n",
	    (long long)(mono_ms() - t0));
	CHECK(stop_requested() && mono_ms() - t0 < 2800);	/* at the next renewal, within the TTL */
	CHECK(s3state_lease_lost(a));
	CHECK(stop_reason() != NULL && strstr(stop_reason(), "taken over by another run (host thief "
	    "pid 99)") != NULL);
	/* its state is not saved over the new holder's */
	CHECK(counter_bump(da) == 2);
	log_reset();
	CHECK(s3state_commit(a) == RC_REMOTE);
	CHECK(log_count("PutObject", "stolen/state.mdb", 0, NULL, NULL) == 0);
	adm_etag("stolen/state.mdb", st1, sizeof(st1));
	CHECK_STR(st1, st0);
	s3state_end(a);
	CHECK(log_count("DeleteObject", "stolen/lease", 0, NULL, NULL) == 0);	/* not ours */
	adm_etag("stolen/lease", st1, sizeof(st1));
	CHECK(st1[0] != '\0');
	CHECK(!stop_requested());	/* over with the run (a warm Lambda runtime goes on) */
	fake_admin0("POST", "/_admin/delete-object", "{\"bucket\":\"" BUCKET "\",\"key\":\"stolen/lease\"}");
	free(da);
	config_free(&cfg);
}

/* Defect 1: S3 does not answer the renewals: the run stops writing before
 * the lease ends (another runner could take it over then); once S3 answers
 * again, the state is saved under the lease that nobody took meanwhile. */
static void
test_defect1_lease_expired(void)
{
	struct config cfg;
	struct s3state *a = NULL;
	char *da = NULL;
	int64_t t0;

	creds(AKID, SECRET, NULL);
	cfg_make(&cfg, "expiry", "ATSRECON_STATE_LEASE_TTL=2s", NULL);
	CHECK(s3state_begin(&cfg, &da, &a) == RC_OK);
	t0 = mono_ms();
	fake_admin0("POST", "/_admin/s3-error", "{\"status\":503,\"match\":"
	    "{\"method\":\"PUT\",\"path\":\"expiry/lease$\"}}");
	while (!stop_requested() && mono_ms() - t0 < 4000)
		sleep_ms(20);
	printf("# defect1_lease_expired: stopped writing %lld ms after the last renewal (ttl 2 s)\n",
	    (long long)(mono_ms() - t0));
	/* by a tenth of the TTL before the end of the last renewal (~1.8 s; 2.5 s if
	 * one renewal got in before the fault did) */
	CHECK(stop_requested() && mono_ms() - t0 < 3000);
	CHECK(stop_reason() != NULL && strstr(stop_reason(), "could not be renewed before it "
	    "expired") != NULL);
	CHECK(s3state_lease_lost(a));
	CHECK(counter_bump(da) == 1);
	CHECK(s3state_commit(a) == RC_REMOTE);	/* S3 still refuses: nothing saved */
	CHECK(log_count("PutObject", "expiry/state.mdb", 0, NULL, NULL) == 0);
	fake_admin0("POST", "/_admin/faults", "[]");
	log_reset();
	CHECK(s3state_commit(a) == RC_OK);	/* the lease confirmed first, then saved */
	CHECK(log_count("PutObject", "expiry/lease", 200, "?", NULL) == 1);
	CHECK(log_count("PutObject", "expiry/state.mdb", 200, NULL, "*") == 1);
	CHECK(stop_requested());		/* but the run still ends (exit 5) */
	s3state_end(a);
	CHECK(!stop_requested());
	free(da);
	config_free(&cfg);
}

static const char b64tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static char *
b64_encode(const unsigned char *p, size_t n)
{
	char *out = xmalloc(n / 3 * 4 + 8), *o = out;
	size_t i;

	for (i = 0; i + 2 < n; i += 3) {
		unsigned v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8 | p[i + 2];
		*o++ = b64tab[v >> 18 & 63];
		*o++ = b64tab[v >> 12 & 63];
		*o++ = b64tab[v >> 6 & 63];
		*o++ = b64tab[v & 63];
	}
	if (i < n) {
		unsigned v = (unsigned)p[i] << 16 | (i + 1 < n ? (unsigned)p[i + 1] << 8 : 0);
		*o++ = b64tab[v >> 18 & 63];
		*o++ = b64tab[v >> 12 & 63];
		*o++ = i + 1 < n ? b64tab[v >> 6 & 63] : '=';
		*o++ = '=';
	}
	*o = '\0';
	return out;
}

static int
b64_decode(const char *s, unsigned char **out, size_t *n)
{
	size_t len = strlen(s), i, k = 0;
	unsigned v = 0;
	int bits = 0;

	*out = xmalloc(len / 4 * 3 + 3);
	for (i = 0; i < len && s[i] != '='; i++) {
		const char *c = strchr(b64tab, s[i]);
		if (c == NULL || s[i] == '\0') {
			free(*out);
			*out = NULL;
			return -1;
		}
		v = v << 6 | (unsigned)(c - b64tab);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			(*out)[k++] = (unsigned char)(v >> bits & 0xff);
		}
	}
	*n = k;
	return 0;
}

/* Item 2 of issue 16: a corrupt state object in S3 made every Lambda
 * invocation crash. The snapshot now carries its SHA-256 (x-amz-meta-sha256);
 * a download that does not match it is refused (RC_STATE: exit 9) before
 * LMDB opens the file. */
static void
test_defect2_s3_checksum(void)
{
	struct config cfg;
	struct s3state *a = NULL;
	char *da = NULL;
	cJSON *j, *m;
	const char *b64, *sha;
	struct buf body = BUF_INIT, post = BUF_INIT, err = BUF_INIT;
	unsigned char *raw = NULL;
	size_t n = 0;

	creds(AKID, SECRET, NULL);
	cfg_make(&cfg, "sum", NULL, NULL);
	CHECK(s3state_begin(&cfg, &da, &a) == RC_OK);
	CHECK(counter_bump(da) == 1);
	CHECK(s3state_commit(a) == RC_OK);
	s3state_end(a);
	free(da);
	j = adm_object("sum/state.mdb");
	m = j ? (cJSON *)json_get(j, "metadata") : NULL;
	sha = m ? json_str(m, "sha256") : NULL;
	CHECK(sha != NULL && str_eq(sha, json_str(j, "sha256")));	/* the body's SHA-256 */
	b64 = j ? json_str(j, "body_b64") : NULL;
	CHECK(b64 != NULL && b64_decode(b64, &raw, &n) == 0 && n > 8192);
	if (raw == NULL || sha == NULL) {
		cJSON_Delete(j);
		config_free(&cfg);
		return;
	}
	/* a checked download is used */
	CHECK(s3state_begin(&cfg, &da, &a) == RC_OK && counter_get(da) == 1);
	s3state_end(a);
	free(da);

	/* one byte flipped deep inside (a data page: LMDB itself does not notice) */
	raw[n - 100] ^= 0x5a;
	{
		char *enc = b64_encode(raw, n);
		buf_addf(&post, "{\"bucket\":\"" BUCKET "\",\"key\":\"sum/state.mdb\",\"body_b64\":\"%s\","
		    "\"metadata\":{\"sha256\":\"%s\"}}", enc, sha);
		free(enc);
	}
	fake_admin0("POST", "/_admin/object", post.p);
	CHECK(s3state_begin(&cfg, &da, &a) == RC_STATE && a == NULL && da == NULL);
	/* the lease is released: the next invocation is not locked out */
	{
		cJSON *l = adm_object("sum/lease");
		CHECK(l == NULL);
		cJSON_Delete(l);
	}

	/* truncated to 12 KB (the crash of the issue, now refused before LMDB reads it) */
	raw[n - 100] ^= 0x5a;
	buf_reset(&post);
	{
		char *enc = b64_encode(raw, 12288);
		buf_addf(&post, "{\"bucket\":\"" BUCKET "\",\"key\":\"sum/state.mdb\",\"body_b64\":\"%s\","
		    "\"metadata\":{\"sha256\":\"%s\"}}", enc, sha);
		free(enc);
	}
	fake_admin0("POST", "/_admin/object", post.p);
	CHECK(s3state_begin(&cfg, &da, &a) == RC_STATE);
	/* a checksum that is not one */
	buf_reset(&post);
	{
		char *enc = b64_encode(raw, n);
		buf_addf(&post, "{\"bucket\":\"" BUCKET "\",\"key\":\"sum/state.mdb\",\"body_b64\":\"%s\","
		    "\"metadata\":{\"sha256\":\"not-a-checksum\"}}", enc);
		free(enc);
	}
	fake_admin0("POST", "/_admin/object", post.p);
	CHECK(s3state_begin(&cfg, &da, &a) == RC_STATE);
	/* the intact body without a checksum (saved by an older atsrecon): used, and
	 * the next save adds one */
	buf_reset(&post);
	{
		char *enc = b64_encode(raw, n);
		buf_addf(&post, "{\"bucket\":\"" BUCKET "\",\"key\":\"sum/state.mdb\",\"body_b64\":\"%s\"}",
		    enc);
		free(enc);
	}
	fake_admin0("POST", "/_admin/object", post.p);
	CHECK(s3state_begin(&cfg, &da, &a) == RC_OK && counter_get(da) == 1);
	CHECK(counter_bump(da) == 2);
	CHECK(s3state_commit(a) == RC_OK);
	s3state_end(a);
	free(da);
	cJSON_Delete(j);
	j = adm_object("sum/state.mdb");
	m = j ? (cJSON *)json_get(j, "metadata") : NULL;
	CHECK(m != NULL && str_eq(json_str(m, "sha256"), json_str(j, "sha256")));
	cJSON_Delete(j);
	free(raw);
	buf_free(&body);
	buf_free(&post);
	buf_free(&err);
	config_free(&cfg);
}

/* xorshift: incompressible bytes, the same for a seed */
static void
fill(unsigned char *p, size_t n, uint64_t seed)
{
	uint64_t x = seed * 2654435761u + 1;
	size_t i;

	for (i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		p[i] = (unsigned char)(x >> 24);
	}
}

/* A 64 MB snapshot up and down again, byte for byte. */
static void
test_big(void)
{
	enum { VAL = 4000, N = 16384 };		/* 64 MB of values */
	struct config cfg;
	struct s3state *a = NULL;
	struct state *st = NULL;
	char *da = NULL;
	unsigned char *v = xmalloc(VAL);
	struct buf got = BUF_INIT;
	cJSON *j;
	int i, bad = 0;
	int64_t t0, t_up, t_down, size = 0;
	char key[32];

	creds(AKID, SECRET, NULL);
	cfg_make(&cfg, "big", NULL, NULL);
	CHECK(s3state_begin(&cfg, &da, &a) == RC_OK);
	CHECK(da != NULL && state_open(da, STATE_RW, &st) == RC_OK);
	if (st == NULL)
		goto out;
	CHECK(state_batch_begin(st) == RC_OK);
	for (i = 0; i < N; i++) {
		fill(v, VAL, (uint64_t)i);
		snprintf(key, sizeof(key), "big:%06d", i);
		if (state_put(st, DB_ATS, key, v, VAL) != RC_OK)
			bad++;
	}
	CHECK(state_batch_commit(st) == RC_OK);
	CHECK(bad == 0);
	state_close(st);
	st = NULL;
	t0 = mono_ms();
	CHECK(s3state_commit(a) == RC_OK);
	t_up = mono_ms() - t0;
	s3state_end(a);
	a = NULL;
	free(da);
	da = NULL;
	j = fake_admin("GET", "/_admin/state", NULL);
	{
		const cJSON *o = j ? json_get(json_get(json_get(j, "buckets"), BUCKET), "big/state.mdb")
		    : NULL;
		CHECK(o != NULL && json_int(o, "size", &size) == 0 && size >= (int64_t)VAL * N);
	}
	cJSON_Delete(j);
	t0 = mono_ms();
	CHECK(s3state_begin(&cfg, &da, &a) == RC_OK);
	t_down = mono_ms() - t0;
	CHECK(da != NULL && state_open(da, STATE_RW, &st) == RC_OK);
	if (st == NULL)
		goto out;
	CHECK(state_count(st, DB_ATS) == N);
	for (i = 0; i < N; i += 97) {
		fill(v, VAL, (uint64_t)i);
		snprintf(key, sizeof(key), "big:%06d", i);
		buf_reset(&got);
		if (state_get(st, DB_ATS, key, &got) != RC_OK || got.len != VAL ||
		    memcmp(got.p, v, VAL) != 0)
			bad++;
	}
	CHECK(bad == 0);
	state_close(st);
	st = NULL;
	printf("# 64 MB snapshot: %lld bytes; commit (compact copy, MD5, upload) %lld ms; "
	    "begin (lease, download) %lld ms\n", (long long)size, (long long)t_up, (long long)t_down);
	/* unchanged after the download: commit uploads nothing */
	t0 = mono_ms();
	CHECK(s3state_commit(a) == RC_OK);
	CHECK(s3state_uploads(a) == 0);
	printf("# unchanged commit: %lld ms\n", (long long)(mono_ms() - t0));
out:
	state_close(st);
	s3state_end(a);
	free(da);
	free(v);
	buf_free(&got);
	config_free(&cfg);
}

/* ---- the Lambda stub runtime (for tests/integration/lambda.sh) ---------------------------- */

static enum rc
stub_run(const struct config *cfg, int64_t deadline, struct buf *summary)
{
	const char *ev = lambda_event(), *mode = NULL;
	struct buf err = BUF_INIT;
	cJSON *j = ev != NULL ? json_parse(ev, strlen(ev), &err) : NULL;
	struct s3state *st = NULL;
	char *dir = NULL;
	int64_t sleep = 0, left = deadline - mono_ms();
	int counter = -1;
	enum rc rc;

	if (j != NULL)
		mode = json_str(j, "mode");
	if (mode == NULL)
		mode = "ok";
	if (j == NULL || json_int(j, "sleep_ms", &sleep) != 0)
		sleep = 0;
	log_info("stub", "mode %s, %lld ms to the run's deadline", mode, (long long)left);
	if (strcmp(mode, "fail") == 0) {
		buf_addf(summary, "{\"mode\":\"fail\",\"left_at_start_ms\":%lld}", (long long)left);
		rc = RC_REMOTE;
		goto out;
	}
	if ((rc = s3state_begin(cfg, &dir, &st)) != RC_OK) {
		buf_addf(summary, "{\"mode\":\"%s\",\"begin\":\"%s\"}", mode, rc_str(rc));
		goto out;
	}
	counter = counter_bump(dir);
	if ((rc = s3state_commit(st)) != RC_OK)
		goto out;
	if (strcmp(mode, "hold") == 0 || strcmp(mode, "hang_after_commit") == 0)
		sleep_ms((long)sleep);
	else if (strcmp(mode, "deadline") == 0)
		while (mono_ms() < deadline)
			sleep_ms(20);
	rc = s3state_commit(st);
	buf_addf(summary, "{\"mode\":\"%s\",\"counter\":%d,\"left_at_start_ms\":%lld,"
	    "\"left_at_end_ms\":%lld,\"uploads\":%ld,\"pid\":%ld}", mode, counter, (long long)left,
	    (long long)(deadline - mono_ms()), s3state_uploads(st), (long)getpid());
out:
	s3state_end(st);
	free(dir);
	cJSON_Delete(j);
	buf_free(&err);
	return rc;
}

static int
stub_main(void)
{
	struct config cfg;
	struct buf err = BUF_INIT;
	enum rc rc;

	config_init(&cfg);
	if (config_apply_env(&cfg, environ, &err) != RC_OK || config_finish(&cfg, &err) != RC_OK) {
		fprintf(stderr, "stub: %s\n", err.p);
		return 3;
	}
	rc = lambda_loop(&cfg, stub_run);
	config_free(&cfg);
	buf_free(&err);
	log_clear_secrets();
	return rc_exit_status(rc);
}

/* ---- main ------------------------------------------------------------------------------------ */

int
main(int argc, char **argv)
{
	struct http_cfg hc = { 0 };
	char logpath[PATH_MAX + 16], tpl[] = "/tmp/atsrecon-test-s3-XXXXXX";
	struct buf logtext = BUF_INIT;
	int logfd;

	json_init();
	setvbuf(stdout, NULL, _IOLBF, 0);	/* lines survive a sanitizer exit */
	if (argc > 1 && strcmp(argv[1], "lambda-stub") == 0)
		return stub_main();
	if (argc > 2 && strcmp(argv[1], "lambda-init-error") == 0)
		return lambda_init_error(argv[2]) == RC_OK ? 0 : 1;
	if (mkdtemp(tpl) == NULL)
		return 2;
	str_copy(tmpdir, sizeof(tmpdir), tpl);
	setenv("TMPDIR", tmpdir, 1);
	unsetenv("AWS_REGION");
	unsetenv("AWS_DEFAULT_REGION");
	root = getenv("ATSRECON_TEST_S3");
	ca = getenv("ATSRECON_TEST_CA");
	if ((root == NULL || ca == NULL) && start_own_fake() != 0) {
		printf("not ok - no S3 fake (ATSRECON_TEST_S3 unset and python3 tests/fakes/s3.py "
		    "did not start)\n");
		t_fail++;
		return t_done("s3");
	}
	/* every log line of the module goes to a file: checked for secrets at the end */
	snprintf(logpath, sizeof(logpath), "%s/log.jsonl", tmpdir);
	logfd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	log_set_fd(logfd);
	log_init(LOG_DEBUG, LOG_FMT_JSON);
	hc.ca_file = ca;
	hc.timeout_ms = 30000;
	hc.max_body = 64 * 1024 * 1024;
	http_new(&hc, &fake_http);
	fake_root = root;
	fake_admin0("POST", "/_admin/state", "{\"buckets\":{\"" BUCKET "\":{}}}");

	test_pure();
	test_client();
	test_session_token();
	test_lease_and_snapshot();
	test_stale_lease();
	test_conflicts();
	test_sweep();
	test_defect1_lease_heartbeat();
	test_defect1_lease_stolen();
	test_defect1_lease_expired();
	test_defect2_s3_checksum();
	test_big();

	/* credentials never reach the log, though the log has plenty in it */
	close(logfd);
	log_set_fd(2);
	CHECK(read_file(logpath, 64 * 1024 * 1024, &logtext) == 0);
	CHECK(logtext.len > 2000);
	CHECK_CONTAINS(logtext.p, "SignatureDoesNotMatch");
	CHECK_CONTAINS(logtext.p, "taking over the stale lease");
	CHECK(strstr(logtext.p, SECRET) == NULL);
	CHECK(strstr(logtext.p, TMP_SECRET) == NULL);
	CHECK(strstr(logtext.p, TMP_TOKEN) == NULL);
	CHECK(strstr(logtext.p, "IQoJwrongtoken") == NULL);
	CHECK(strstr(logtext.p, AKID) == NULL);
	CHECK(strstr(logtext.p, "wrongSecretwrongSecret") == NULL);
	buf_free(&logtext);

	http_free(fake_http);
	log_clear_secrets();
	if (own_fake > 0) {
		kill(own_fake, SIGTERM);
		waitpid(own_fake, NULL, 0);
	}
	{
		char cmd[PATH_MAX + 16];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
		if (system(cmd) != 0)
			printf("# could not remove %s\n", tmpdir);
	}
	return t_done("s3");
}
