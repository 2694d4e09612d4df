/*
 * fakeadm.h — the admin API of the test fakes (tests/fakes/), for C tests
 * and benchmarks: set fake_http and fake_root, then fake_admin() sends one JSON
 * request to ROOT/_admin/... and returns the parsed answer (NULL and a "#" line
 * on any failure); with t.h included first, fake_admin0() checks it succeeded.
 */
#ifndef ATSRECON_FAKEADM_H
#define ATSRECON_FAKEADM_H

#include <stdio.h>
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

#ifdef ATSRECON_T_H
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
