/*
 * fakeadm.h — the admin API of the test fakes (tests/fakes/), for C tests
 * and benchmarks: set fake_http and fake_root, then fake_admin() sends one JSON
 * request to ROOT/_admin/... and returns the parsed answer (NULL and a "#" line
 * on any failure); with t.h included first, fake_admin0() checks it succeeded.
 */
#ifndef ATSRECON_FAKEADM_H
#define ATSRECON_FAKEADM_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "json.h"

static struct http *fake_http;	/* set by the test: http_new with the test CA */
static const char *fake_root;	/* the fake's root URL */

static cJSON *
fake_admin(const char *method, const char *path, const char *body)
{
	struct http_req req;
	struct http_resp r;
	struct buf err = BUF_INIT;
	char url[512];
	cJSON *j = NULL;

	snprintf(url, sizeof(url), "%s%s", fake_root, path);
	memset(&req, 0, sizeof(req));
	req.method = method;
	req.url = url;
	req.body = body;
	req.body_len = body ? strlen(body) : 0;
	req.past_stop = 1;	/* the tests look at a run that stopped */
	if (http_do(fake_http, &req, &r) == RC_OK && r.status == 200)
		j = json_parse(r.body.p, r.body.len, &err);
	else
		printf("# admin %s %s: %ld %.300s\n", method, path, r.status, r.body.p ? r.body.p : r.err);
	http_resp_free(&r);
	buf_free(&err);
	return j;
}

/* How many requests to path the fake has answered since its stats were last
 * reset (0 when it cannot say). */
static inline int64_t
fake_requests_to(const char *path)
{
	cJSON *st = fake_admin("GET", "/_admin/stats", NULL);
	int64_t n = 0;

	if (json_int(json_get(st, "by_path"), path, &n) != 0)
		n = 0;
	cJSON_Delete(st);
	return n;
}

#ifdef ATSRECON_T_H
/* The fake whose root URL is in the environment variable var, and the test
 * CA (ATSRECON_TEST_CA): sets *root, *ca, fake_root and fake_http (free it
 * with http_free). 0, a failed check: either is missing. */
static inline int
fake_connect(const char *var, const char **root, const char **ca)
{
	struct http_cfg hc = { 0 };

	*root = getenv(var);
	*ca = getenv("ATSRECON_TEST_CA");
	CHECK(*root != NULL && *ca != NULL);
	if (*root == NULL || *ca == NULL)
		return 0;
	hc.ca_file = *ca;
	http_new(&hc, &fake_http);
	fake_root = *root;
	return 1;
}

/* The same, for a call that must succeed: a failure is a failed check. */
static void
fake_admin0(const char *method, const char *path, const char *body)
{
	cJSON *j = fake_admin(method, path, body);

	CHECK(j != NULL);
	cJSON_Delete(j);
}
#endif

#endif
