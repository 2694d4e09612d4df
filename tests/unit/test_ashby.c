/*
 * Tests: the Ashby driver (ats_ashby.c) against the fake (tests/fakes/ashby.py),
 * which tests/run.sh starts: ATSRECON_TEST_ASHBY is its root URL,
 * ATSRECON_TEST_CA the CA file. Without them every check fails.
 *
 * Every log line of the run goes to a temporary file, read at the end: no API
 * key may appear in it, not even redacted (the driver never hands one to the
 * logger). The fake's conformance record (request bodies against the
 * description's schemas) must be empty at the end.
 */
#define _POSIX_C_SOURCE 200809L
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "ats.h"
#include "config.h"
#include "http.h"
#include "jtree.h"
#include "log.h"
#include "t.h"
#include "fakeadm.h"
#include "atsenv.h"

#define KEY "ashby-test-key"
#define LIMITED_KEY "limited-key-7f3a"
#define NOAPPS_KEY "no-apps-key-91c2"

static const char *root, *ca;
static char logpath[] = "/tmp/atsrecon-test-ashby-log-XXXXXX";
static int logfd = -1;

/* ------------------------------------------------------------ fixtures */

static void
reset_world(void)
{
	fake_admin0("POST", "/_admin/state", "{}");
	fake_admin0("POST", "/_admin/faults", "[]");
	fake_admin0("POST", "/_admin/keys", "{\"key\": \"" LIMITED_KEY "\", \"confidential\": false}");
	fake_admin0("POST", "/_admin/keys", "{\"key\": \"" NOAPPS_KEY "\", \"deny\": [\"/application.list\"]}");
}

/* A driver on the fake, configured through the same layers as the binary. */
static const char *retries = "4";	/* http.max_retries for the next env_open */

static const char *env_policy;	/* ats.current_application for the next env_open */

static enum rc
env_open(struct env *e, const char *key, size_t max_body, const char *page_size, const char *max_pages)
{
	char *v[12];
	int i = 0;

	v[i++] = xstrdup("ATSRECON_ATS_KIND=ashby");
	v[i++] = xasprintf("ATSRECON_ATS_BASE_URL=%s/", root);
	if (key != NULL)
		v[i++] = xasprintf("ATSRECON_ATS_API_KEY=%s", key);
	v[i++] = xstrdup("ATSRECON_ATS_MAX_RPS=1000");
	v[i++] = xasprintf("ATSRECON_HTTP_MAX_RETRIES=%s", retries);
	v[i++] = xasprintf("ATSRECON_ATS_PAGE_SIZE=%s", page_size ? page_size : "500");
	if (max_pages != NULL)
		v[i++] = xasprintf("ATSRECON_ATS_MAX_PAGES=%s", max_pages);
	if (env_policy != NULL)
		v[i++] = xasprintf("ATSRECON_ATS_CURRENT_APPLICATION=%s", env_policy);
	return env_start(e, v, i, NULL, ca, max_body);
}

/* What a pull delivered. */
struct got {
	size_t n;
	struct candidate *v;
	struct ats *a;		/* to look at a->sync_out while pages come */
	int saw_sync_out;	/* sync_out was set while candidates were still coming */
};

static enum rc
take(void *arg, const struct candidate *c)
{
	struct got *g = arg;

	if (g->a != NULL && g->a->sync_out != NULL)
		g->saw_sync_out = 1;
	g->v = xrealloc(g->v, (g->n + 1) * sizeof(*g->v));
	cand_copy(&g->v[g->n++], c);
	return RC_OK;
}

static const struct candidate *
find(const struct got *g, const char *id)
{
	return cands_find(g->v, g->n, id);
}

static size_t
distinct(const struct got *g)
{
	return cands_distinct(g->v, g->n);
}

static void
got_free(struct got *g)
{
	cands_free(g->v, g->n);
	memset(g, 0, sizeof(*g));
}

static enum rc
pull_all(struct env *e, struct got *g, struct ats_pull *p)
{
	memset(g, 0, sizeof(*g));
	g->a = e->a;
	return e->a->drv->pull_all(e->a, take, g, p);
}

static enum rc
pull_window(struct env *e, const char *sync_in, struct got *g, struct ats_pull *p)
{
	memset(g, 0, sizeof(*g));
	g->a = e->a;
	e->a->sync_in = sync_in;
	return e->a->drv->pull_window(e->a, now_ms() - 3600000, now_ms(), take, g, p);
}

/* canon/add: the new person's id (static buffer). */
static const char *
add_person(const char *json)
{
	static char id[64];
	cJSON *j = fake_admin("POST", "/_admin/canon/add", json);

	CHECK(j != NULL && json_str(j, "id") != NULL);
	snprintf(id, sizeof(id), "%s", j && json_str(j, "id") ? json_str(j, "id") : "");
	cJSON_Delete(j);
	return id;
}

/* The first application id of a person (static buffer). */
static const char *
app_of(const char *cid)
{
	static char id[64];
	char path[160];
	cJSON *j;

	snprintf(path, sizeof(path), "/_admin/candidate?id=%s", cid);
	j = fake_admin("GET", path, NULL);
	snprintf(id, sizeof(id), "%s", json_str(cJSON_GetArrayItem(json_get(j, "applications"), 0), "id") ?
	    json_str(cJSON_GetArrayItem(json_get(j, "applications"), 0), "id") : "");
	cJSON_Delete(j);
	return id;
}

static void adminf(const char *path, const char *fmt, ...) PRINTF_LIKE(2, 3);

static void
adminf(const char *path, const char *fmt, ...)
{
	char body[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(body, sizeof(body), fmt, ap);
	va_end(ap);
	fake_admin0("POST", path, body);
}

/* The generated ids (caller frees with strv_free). */
static char **
generate(int people, int apps, size_t *n)
{
	char body[128];
	cJSON *j, *it;
	char **ids;

	snprintf(body, sizeof(body), "{\"people\": %d, \"seed\": 11, \"apps_per_person\": %d}", people, apps);
	j = fake_admin("POST", "/_admin/canon/generate", body);
	*n = 0;
	ids = xcalloc((size_t)people + 1, sizeof(*ids));
	cJSON_ArrayForEach(it, json_get(j, "ids"))
		if (cJSON_IsString(it) && *n < (size_t)people)
			ids[(*n)++] = xstrdup(it->valuestring);
	cJSON_Delete(j);
	CHECK(*n == (size_t)people);
	return ids;
}

/* ---------------------------------------------------------------- tests */

/* One application as application.list renders it (for a crafted page). */
static void
app_json(struct buf *b, const char *id, const char *cand, const char *status, const char *reason,
    const char *updated, const char *created, const char *stage, const char *job)
{
	buf_addf(b, "%s{\"id\":\"%s\",\"candidate\":{\"id\":\"%s\",\"name\":\"X\"},\"status\":\"%s\","
	    "\"createdAt\":\"%s\",\"updatedAt\":\"%s\",\"customFields\":[],\"hiringTeam\":[],"
	    "\"currentInterviewStage\":{\"id\":\"%s-stage\",\"title\":\"%s\"},"
	    "\"job\":{\"id\":\"%s-job\",\"title\":\"%s\"}%s%s%s}",
	    b->len > 1 ? "," : "", id, cand, status, created, updated, id, stage, id, job,
	    reason ? ",\"archiveReason\":{\"reasonType\":\"" : "", reason ? reason : "",
	    reason ? "\",\"customFields\":[]}" : "");
}

/* ats.current_application, applied pairwise as the application pages come:
 * an active older application and a rejected newer one; ties on the update
 * time go to the greatest id. */
static void
test_current_application(void)
{
	struct env e;
	struct ats_pull p;
	struct got g;
	struct buf apps = BUF_INIT, fault = BUF_INIT;
	char a[64], b[64], t[64];
	int latest;

	reset_world();
	snprintf(a, sizeof(a), "%s", add_person("{\"first_name\": \"Ada\", \"last_name\": \"Two\"}"));
	snprintf(b, sizeof(b), "%s", add_person("{\"first_name\": \"Ben\", \"last_name\": \"Tie\"}"));
	snprintf(t, sizeof(t), "%s", add_person("{\"first_name\": \"Cy\", \"last_name\": \"Tie\"}"));
	buf_adds(&apps, "[");
	/* the newer one first, so the pairwise rule has to keep the older active one */
	app_json(&apps, "a2", a, "Archived", "RejectedByOrg", "2026-02-01T00:00:00.000Z",
	    "2025-02-01T00:00:00.000Z", "Archived", "Data Scientist");
	app_json(&apps, "a1", a, "Active", NULL, "2026-01-01T00:00:00.000Z", "2025-01-01T00:00:00.000Z",
	    "Recruiter Phone Screen", "DevOps Engineer");
	app_json(&apps, "b10", b, "Archived", "RejectedByOrg", "2026-01-01T00:00:00.000Z",
	    "2025-01-01T00:00:00.000Z", "Archived", "J");
	app_json(&apps, "b9", b, "Archived", "RejectedByOrg", "2026-01-01T00:00:00.000Z",
	    "2025-01-01T00:00:00.000Z", "Archived", "J");	/* "b9" > "b10" as strings */
	app_json(&apps, "t1", t, "Active", NULL, "2026-01-01T00:00:00.000Z", "2025-01-01T00:00:00.000Z",
	    "Offer", "J");
	app_json(&apps, "t2", t, "Archived", "RejectedByCandidate", "2026-01-01T00:00:00.000Z",
	    "2025-01-01T00:00:00.000Z", "Archived", "J");
	buf_adds(&apps, "]");
	buf_addf(&fault, "[{\"match\":{\"path\":\"^/application\\\\.list$\"},\"kind\":\"status\",\"status\":200,"
	    "\"body\":{\"success\":true,\"results\":%s,\"moreDataAvailable\":false,\"syncToken\":\"st-1\"}}]",
	    apps.p);
	for (latest = 0; latest <= 1; latest++) {
		const struct candidate *c;

		fake_admin0("POST", "/_admin/faults", fault.p);
		env_policy = latest ? "latest_updated" : "active_first";
		CHECK(env_open(&e, KEY, 1 << 20, NULL, NULL) == RC_OK);
		env_policy = NULL;
		CHECK(pull_all(&e, &g, &p) == RC_OK && g.n == 3);
		c = find(&g, a);
		CHECK(c != NULL && str_eq(c->app_id, latest ? "a2" : "a1"));
		CHECK(c != NULL && str_eq(c->status, latest ? "rejected" : "active"));
		CHECK(c != NULL && str_eq(c->job, latest ? "Data Scientist" : "DevOps Engineer"));
		CHECK(c != NULL && str_eq(c->stage_name, latest ? "Archived" : "Recruiter Phone Screen"));
		CHECK(c != NULL && c->applied_ms == (latest ? 1738368000000LL : 1735689600000LL));
		c = find(&g, b);
		CHECK(c != NULL && str_eq(c->app_id, "b9"));
		c = find(&g, t);
		CHECK(c != NULL && str_eq(c->app_id, latest ? "t2" : "t1"));
		CHECK(c != NULL && str_eq(c->status, latest ? "withdrawn" : "active"));
		got_free(&g);
		env_close(&e);
	}
	fake_admin0("POST", "/_admin/faults", "[]");
	buf_free(&apps);
	buf_free(&fault);
}


/* One person of each kind, every field checked. */
static void
test_parse(void)
{
	struct env e;
	struct ats_pull p;
	struct got g;
	const struct candidate *c;
	char mary[64], rej[64], wd[64], hired[64], cher[64];

	reset_world();
	snprintf(mary, sizeof(mary), "%s", add_person("{\"first_name\": \"Mary\", \"last_name\": \"Ann  Smith\", "
	    "\"emails\": [\" Mary.Smith@Example.COM \", \"mary.smith@example.com\", \"not an email\", "
	    "\"m.smith@work.example\"], \"phones\": [\"(415) 555-0100\", \"+44 20 7946 0958\"], "
	    "\"title\": \"Engineer\", \"company\": \"Initech\", \"stage\": \"Recruiter Phone Screen\", "
	    "\"source\": \"Referral\", \"job\": \"Data Scientist\"}"));
	snprintf(rej, sizeof(rej), "%s", add_person("{\"first_name\": \"Rae\", \"last_name\": \"Jected\", "
	    "\"emails\": [\"rae@example.com\"], \"status\": \"rejected\"}"));
	snprintf(wd, sizeof(wd), "%s", add_person("{\"first_name\": \"Will\", \"last_name\": \"Drawn\", "
	    "\"emails\": [\"will@example.com\"], \"status\": \"withdrawn\"}"));
	snprintf(hired, sizeof(hired), "%s", add_person("{\"first_name\": \"Hal\", \"last_name\": \"Ired\", "
	    "\"emails\": [\"hal@example.com\"], \"status\": \"hired\", \"stage\": \"Offer\"}"));
	snprintf(cher, sizeof(cher), "%s", add_person("{\"first_name\": \"Cher\", \"source\": \"Indeed\"}"));

	CHECK(env_open(&e, KEY, 1 << 20, NULL, NULL) == RC_OK);
	CHECK(pull_all(&e, &g, &p) == RC_OK);
	CHECK(p.complete && g.n == 5 && distinct(&g) == 5);
	CHECK(p.pages == 2);	/* application.list, candidate.list: one page each */
	c = find(&g, mary);
	CHECK(c != NULL);
	if (c != NULL) {
		CHECK_STR(c->ats, "ashby");
		CHECK_STR(c->full_name, "Mary Ann  Smith");
		CHECK_STR(c->first_name, "Mary");
		CHECK_STR(c->last_name, "Ann Smith");
		CHECK(c->nemails == 2);
		CHECK_STR(c->emails[0], "mary.smith@example.com");
		CHECK(c->nemails == 2 && str_eq(c->emails[1], "m.smith@work.example"));
		CHECK(c->ninvalid == 1 && str_eq(c->invalid[0].field, "email") &&
		    str_eq(c->invalid[0].value, "not an email"));
		CHECK(c->nphones == 2);
		CHECK(c->nphones == 2 && str_eq(c->phones[0], "+14155550100") && str_eq(c->phones[1], "+442079460958"));
		CHECK_STR(c->title, "Engineer");
		CHECK_STR(c->company, "Initech");
		CHECK_STR(c->stage_name, "Recruiter Phone Screen");
		CHECK(c->stage_id != NULL && strlen(c->stage_id) == 36);
		CHECK_STR(c->status, "active");
		CHECK_STR(c->job, "Data Scientist");
		CHECK_STR(c->source, "Referral");
		CHECK_STR(c->referrer, "Kate Austen");
		CHECK(c->app_id != NULL && strlen(c->app_id) == 36);
		CHECK(c->applied_ms > 0 && c->created_ms > 0 && c->updated_ms >= c->created_ms);
		CHECK(!c->anonymized && !c->is_private);
	}
	c = find(&g, rej);
	CHECK(c != NULL && str_eq(c->status, "rejected") && str_eq(c->stage_name, "Archived"));
	c = find(&g, wd);
	CHECK(c != NULL && str_eq(c->status, "withdrawn"));
	c = find(&g, hired);
	CHECK(c != NULL && str_eq(c->status, "hired") && str_eq(c->stage_name, "Hired"));
	c = find(&g, cher);
	CHECK(c != NULL && str_eq(c->first_name, "Cher") && c->last_name == NULL && c->nemails == 0 &&
	    !c->anonymized && str_eq(c->source, "Indeed") && c->referrer == NULL);

	/* get(): the same content by candidate.info + application.info */
	{
		struct candidate *one = NULL;
		CHECK(e.a->drv->get(e.a, mary, &one) == RC_OK);
		CHECK(one != NULL && str_eq(one->last_name, "Ann Smith") && str_eq(one->stage_name, "Recruiter Phone Screen") &&
		    str_eq(one->referrer, "Kate Austen") && one->nemails == 2);
		candidate_free(one);
		free(one);
	}
	got_free(&g);
	env_close(&e);
}

/* Generated people, two applications each: the driver agrees with the fake's
 * own canonical view (the current-application rule included) for everyone. */
static void
test_agrees_with_canon(void)
{
	struct env e;
	struct ats_pull p;
	struct got g;
	cJSON *people, *it;
	size_t n, agree = 0, total = 0;
	char **ids;

	reset_world();
	ids = generate(300, 2, &n);
	CHECK(env_open(&e, KEY, 1 << 20, "40", NULL) == RC_OK);
	CHECK(pull_all(&e, &g, &p) == RC_OK);
	CHECK(p.complete && g.n == 300 && distinct(&g) == 300);
	CHECK(p.pages == 15 + 8);	/* 600 applications / 40; 300 candidates / 40 */
	people = fake_admin("GET", "/_admin/canon/people", NULL);
	cJSON_ArrayForEach(it, json_get(people, "people")) {
		const struct candidate *c = find(&g, json_str(it, "id"));
		int ok;

		total++;
		ok = c != NULL && str_eq(c->first_name, json_str(it, "first_name")) &&
		    str_eq(c->last_name, json_str(it, "last_name")) &&
		    str_eq(c->stage_name, json_str(it, "stage")) && str_eq(c->status, json_str(it, "status")) &&
		    str_eq(c->job, json_str(it, "job")) && str_eq(c->source, json_str(it, "source")) &&
		    c->nemails == 1 && c->nphones == 1 && c->is_private == cJSON_IsTrue(json_get(it, "private"));
		if (ok && cJSON_IsString(cJSON_GetArrayItem(json_get(it, "emails"), 0))) {
			struct buf low = BUF_INIT;
			const char *raw = cJSON_GetArrayItem(json_get(it, "emails"), 0)->valuestring;
			size_t k;
			for (k = 0; raw[k]; k++)
				buf_addc(&low, (char)((raw[k] >= 'A' && raw[k] <= 'Z') ? raw[k] + 32 : raw[k]));
			ok = str_eq(c->emails[0], low.p);
			buf_free(&low);
		}
		if (!ok && total - agree < 4)
			printf("# disagrees: %s\n", json_str(it, "id"));
		agree += ok;
	}
	CHECK(total == 300 && agree == 300);
	cJSON_Delete(people);
	got_free(&g);
	strv_free(ids, n);
	env_close(&e);
}

/* Pages of 50, an edit landing mid-listing (before and after the cursor), the
 * token stored only at the end, and the next incremental run. */
static void
test_pages_and_tokens(void)
{
	struct env e;
	struct ats_pull p;
	struct got g;
	const struct candidate *c;
	char *tok1 = NULL, *tok2 = NULL;
	char body[1024];
	size_t n;
	char **ids;

	reset_world();
	ids = generate(250, 1, &n);
	CHECK(env_open(&e, KEY, 1 << 20, "50", NULL) == RC_OK);
	/* after two candidate pages: the first person (served on page 1) and
	 * the last (not served yet) are edited */
	snprintf(body, sizeof(body), "{\"path\": \"/candidate.list\", \"after_pages\": 2, \"actions\": ["
	    "{\"canon\": \"edit\", \"body\": {\"id\": \"%s\", \"title\": \"Moved\"}}, "
	    "{\"canon\": \"edit\", \"body\": {\"id\": \"%s\", \"title\": \"Late\"}}]}", ids[0], ids[249]);
	fake_admin0("POST", "/_admin/mid-listing", body);
	CHECK(pull_all(&e, &g, &p) == RC_OK);
	CHECK(p.complete && g.n == 250 && distinct(&g) == 250);
	CHECK(p.pages == 5 + 5);
	CHECK(!g.saw_sync_out);			/* not before the last page */
	CHECK(e.a->sync_out != NULL);
	CHECK(e.a->sync_reset == NULL && !p.restarted);
	c = find(&g, ids[0]);
	CHECK(c != NULL && !str_eq(c->title, "Moved"));	/* served before the edit */
	c = find(&g, ids[249]);
	CHECK(c != NULL && str_eq(c->title, "Late"));		/* served after it */
	tok1 = e.a->sync_out ? xstrdup(e.a->sync_out) : NULL;
	CHECK(tok1 != NULL && strstr(tok1, "\"candidates\"") != NULL && strstr(tok1, "\"applications\"") != NULL);
	got_free(&g);

	/* incremental: the edits made during the listing come now (nothing lost) */
	CHECK(pull_window(&e, tok1, &g, &p) == RC_OK);
	CHECK(p.complete && e.a->sync_reset == NULL && !p.restarted);
	CHECK(g.n == 2);
	c = find(&g, ids[0]);
	CHECK(c != NULL && str_eq(c->title, "Moved"));
	c = find(&g, ids[249]);
	CHECK(c != NULL && str_eq(c->title, "Late"));
	tok2 = e.a->sync_out ? xstrdup(e.a->sync_out) : NULL;
	CHECK(tok2 != NULL && !str_eq(tok1, tok2));
	got_free(&g);

	/* nothing changed: an empty delta, a fresh token, three requests */
	CHECK(pull_window(&e, tok2, &g, &p) == RC_OK);
	CHECK(p.complete && g.n == 0 && e.a->sync_out != NULL);
	got_free(&g);

	/* a page malformed once is read again (issue 16) */
	fake_admin0("POST", "/_admin/faults", "[{\"match\":{\"path\":\"^/candidate\\\\.list$\"},\"kind\":\"malformed\","
	    "\"after\":2,\"times\":1}]");
	CHECK(pull_all(&e, &g, &p) == RC_OK && p.complete);
	got_free(&g);
	/* a listing cut short leaves sync_out NULL: an error on page 3 ... */
	fake_admin0("POST", "/_admin/faults", "[{\"match\":{\"path\":\"^/candidate\\\\.list$\"},\"kind\":\"malformed\","
	    "\"after\":2}]");
	CHECK(pull_all(&e, &g, &p) == RC_REMOTE);
	CHECK(!p.complete && g.n == 100 && e.a->sync_out == NULL);
	got_free(&g);
	fake_admin0("POST", "/_admin/faults", "[]");
	env_close(&e);

	/* ... or the page cap (2 pages per listing) */
	CHECK(env_open(&e, KEY, 1 << 20, "50", "2") == RC_OK);
	CHECK(pull_all(&e, &g, &p) == RC_OK);
	CHECK(!p.complete && e.a->sync_out == NULL);
	got_free(&g);
	env_close(&e);
	free(tok1);
	free(tok2);
	strv_free(ids, n);
}

/* Tokens the source refuses: a full listing with sync_reset set. */
static void
test_token_refused(void)
{
	struct env e;
	struct ats_pull p;
	struct got g;
	char *tok = NULL;
	size_t n, i;
	char **ids;

	reset_world();
	ids = generate(120, 1, &n);
	CHECK(env_open(&e, KEY, 1 << 20, "50", NULL) == RC_OK);
	CHECK(pull_all(&e, &g, &p) == RC_OK && p.complete && e.a->sync_out != NULL);
	tok = e.a->sync_out ? xstrdup(e.a->sync_out) : NULL;
	got_free(&g);

	/* expired */
	fake_admin0("POST", "/_admin/expire-sync-tokens", "{}");
	CHECK(pull_window(&e, tok, &g, &p) == RC_OK);
	CHECK(p.complete && p.restarted && g.n == 120 && distinct(&g) == 120);
	CHECK(e.a->sync_reset != NULL && strstr(e.a->sync_reset, "expired") != NULL);
	CHECK(e.a->sync_out != NULL && !str_eq(e.a->sync_out, tok));
	free(tok);
	tok = e.a->sync_out ? xstrdup(e.a->sync_out) : NULL;
	got_free(&g);

	/* an error code nobody documented, on a token listing: the same */
	fake_admin0("POST", "/_admin/settings", "{\"expired_token_code\": \"sync_cursor_gone_fishing\"}");
	fake_admin0("POST", "/_admin/expire-sync-tokens", "{}");
	CHECK(pull_window(&e, tok, &g, &p) == RC_OK);
	CHECK(p.complete && p.restarted && g.n == 120 && e.a->sync_reset != NULL && e.a->sync_out != NULL);
	free(tok);
	tok = e.a->sync_out ? xstrdup(e.a->sync_out) : NULL;
	got_free(&g);

	/* a success:false on a page of the delta (injected) */
	fake_admin0("POST", "/_admin/faults", "[{\"match\":{\"path\":\"^/application\\\\.list$\"},\"kind\":\"status\","
	    "\"status\":200,\"body\":{\"success\":false,\"errors\":[\"weird\"],\"errorInfo\":{\"code\":\"weird\"}},\"times\":1}]");
	CHECK(pull_window(&e, tok, &g, &p) == RC_OK);
	CHECK(p.complete && p.restarted && g.n == 120 && e.a->sync_reset != NULL);
	free(tok);
	tok = e.a->sync_out ? xstrdup(e.a->sync_out) : NULL;
	got_free(&g);
	fake_admin0("POST", "/_admin/faults", "[]");

	/* incremental_sync_too_large on the second page of a delta */
	fake_admin0("POST", "/_admin/settings", "{\"incremental_max_pages\": 1}");
	for (i = 0; i < 110; i++)
		adminf("/_admin/canon/edit", "{\"id\": \"%s\", \"company\": \"Changed%zu\"}", ids[i], i);
	CHECK(pull_window(&e, tok, &g, &p) == RC_OK);
	CHECK(p.complete && p.restarted && distinct(&g) == 120);
	CHECK(e.a->sync_reset != NULL && strstr(e.a->sync_reset, "incremental_sync_too_large") != NULL);
	CHECK(e.a->sync_out != NULL);
	got_free(&g);
	fake_admin0("POST", "/_admin/settings", "{\"incremental_max_pages\": 0}");

	/* a stored token this driver cannot read */
	CHECK(pull_window(&e, "not json at all", &g, &p) == RC_OK);
	CHECK(p.complete && g.n == 120 && e.a->sync_reset != NULL && strstr(e.a->sync_reset, "unreadable") != NULL);
	got_free(&g);
	/* no token: a full listing that yields one, nothing reset */
	CHECK(pull_window(&e, NULL, &g, &p) == RC_OK);
	CHECK(p.complete && g.n == 120 && e.a->sync_reset == NULL && e.a->sync_out != NULL);
	got_free(&g);
	free(tok);
	strv_free(ids, n);
	env_close(&e);
}

/* Application-only changes, deletes, merges, anonymisation, confidentiality. */
static void
test_lifecycle(void)
{
	struct env e;
	struct ats_pull p;
	struct got g;
	const struct candidate *c;
	struct candidate *one = NULL;
	char *tok;
	char a[64], b[64], x[64], y[64], z[64], priv[64], anon[64], app[64];

	reset_world();
	snprintf(a, sizeof(a), "%s", add_person("{\"first_name\": \"Ann\", \"last_name\": \"Gone\", \"emails\": [\"ann@example.com\"]}"));
	snprintf(b, sizeof(b), "%s", add_person("{\"first_name\": \"Bo\", \"last_name\": \"Winner\", \"emails\": [\"bo@example.com\"]}"));
	snprintf(x, sizeof(x), "%s", add_person("{\"first_name\": \"Bo\", \"last_name\": \"Dup\", \"emails\": [\"bo.dup@example.com\"]}"));
	snprintf(y, sizeof(y), "%s", add_person("{\"first_name\": \"Yu\", \"last_name\": \"Stage\", \"emails\": [\"yu@example.com\"]}"));
	snprintf(z, sizeof(z), "%s", add_person("{\"first_name\": \"Zed\", \"last_name\": \"Erased\", \"emails\": [\"zed@example.com\"], "
	    "\"phones\": [\"+14155550111\"], \"title\": \"CTO\"}"));
	snprintf(priv, sizeof(priv), "%s", add_person("{\"first_name\": \"Pat\", \"last_name\": \"Secret\", \"emails\": [\"pat@example.com\"], "
	    "\"private\": true}"));
	snprintf(anon, sizeof(anon), "%s", add_person("{\"first_name\": \"Al\", \"last_name\": \"Ready\", \"emails\": [\"al@example.com\"], "
	    "\"anonymized\": true}"));

	CHECK(env_open(&e, KEY, 1 << 20, NULL, NULL) == RC_OK);
	CHECK(pull_all(&e, &g, &p) == RC_OK && g.n == 7);
	c = find(&g, priv);
	CHECK(c != NULL && c->is_private && str_eq(c->job, "Chief of Staff"));
	c = find(&g, anon);
	CHECK(c != NULL && c->anonymized && c->first_name == NULL && c->full_name == NULL && c->nemails == 0);
	c = find(&g, a);
	CHECK(c != NULL && !c->is_private && !c->anonymized);
	tok = e.a->sync_out ? xstrdup(e.a->sync_out) : NULL;
	got_free(&g);

	/* an application-only change (the candidate itself does not change) */
	snprintf(app, sizeof(app), "%s", app_of(y));
	adminf("/_admin/edit-application", "{\"id\": \"%s\", \"stage\": \"Offer\"}", app);
	adminf("/_admin/canon/anonymize", "{\"id\": \"%s\"}", z);
	CHECK(pull_window(&e, tok, &g, &p) == RC_OK);
	CHECK(p.complete && e.a->sync_reset == NULL);
	CHECK(g.n == 2);	/* y (by its application) and z (anonymised; its application archived) */
	c = find(&g, y);
	CHECK(c != NULL && str_eq(c->stage_name, "Offer") && str_eq(c->status, "active") &&
	    str_eq(c->first_name, "Yu") && c->nemails == 1);
	c = find(&g, z);
	CHECK(c != NULL && c->anonymized && c->first_name == NULL && c->last_name == NULL &&
	    c->title == NULL && c->nemails == 0 && c->nphones == 0 && str_eq(c->status, "archived"));
	free(tok);
	tok = e.a->sync_out ? xstrdup(e.a->sync_out) : NULL;
	got_free(&g);

	/* a status change only: rejected */
	snprintf(app, sizeof(app), "%s", app_of(a));
	adminf("/_admin/edit-application", "{\"id\": \"%s\", \"status\": \"rejected\"}", app);
	CHECK(pull_window(&e, tok, &g, &p) == RC_OK);
	CHECK(g.n == 1 && (c = find(&g, a)) != NULL && str_eq(c->status, "rejected"));
	free(tok);
	tok = e.a->sync_out ? xstrdup(e.a->sync_out) : NULL;
	got_free(&g);

	/* deletes and merges: no feed; get() tells */
	adminf("/_admin/canon/delete", "{\"id\": \"%s\"}", a);
	adminf("/_admin/canon/merge", "{\"from\": \"%s\", \"into\": \"%s\"}", x, b);
	CHECK(e.a->drv->pull_deleted == NULL);
	CHECK(e.a->drv->get(e.a, a, &one) == RC_RECORD && one == NULL);
	CHECK(e.a->drv->get(e.a, x, &one) == RC_RECORD && one == NULL);
	CHECK(e.a->drv->get(e.a, b, &one) == RC_OK);
	CHECK(one != NULL && one->nemails == 2 && str_eq(one->emails[0], "bo@example.com") &&
	    str_eq(one->emails[1], "bo.dup@example.com"));
	candidate_free(one);
	free(one);
	one = NULL;
	/* the merge moved x's application: b changes; the deleted ones are not listed */
	CHECK(pull_window(&e, tok, &g, &p) == RC_OK);
	CHECK(p.complete && g.n == 1 && find(&g, b) != NULL);
	got_free(&g);
	CHECK(pull_all(&e, &g, &p) == RC_OK && g.n == 5 && find(&g, a) == NULL && find(&g, x) == NULL);
	got_free(&g);
	free(tok);
	env_close(&e);

	/* a key without the confidential permission: the private person is not there */
	CHECK(env_open(&e, LIMITED_KEY, 1 << 20, NULL, NULL) == RC_OK);
	CHECK(pull_all(&e, &g, &p) == RC_OK && p.complete && g.n == 4 && find(&g, priv) == NULL);
	got_free(&g);
	CHECK(e.a->drv->get(e.a, priv, &one) == RC_RECORD);
	env_close(&e);
}

/* Reads the log file from offset `from` into out. */
static void
log_since(off_t from, struct buf *out)
{
	char tmp[4096];
	ssize_t k;

	buf_reset(out);
	buf_adds(out, "");
	if (lseek(logfd, from, SEEK_SET) < 0)
		return;
	while ((k = read(logfd, tmp, sizeof(tmp))) > 0)
		buf_add(out, tmp, (size_t)k);
	lseek(logfd, 0, SEEK_END);
}

/* Authorisation: a person must act (exit 4). */
static void
test_auth(void)
{
	struct env e;
	struct ats_pull p;
	struct got g;
	struct buf lg = BUF_INIT;
	off_t at;

	reset_world();
	add_person("{\"first_name\": \"Ann\", \"emails\": [\"ann@example.com\"]}");
	CHECK(env_open(&e, NULL, 1 << 20, NULL, NULL) == RC_CONFIG);	/* no key at all */
	env_close(&e);
	CHECK(env_open(&e, "wrong-key-1234", 1 << 20, NULL, NULL) == RC_OK);
	CHECK(pull_all(&e, &g, &p) == RC_AUTH && !p.complete && g.n == 0 && e.a->sync_out == NULL);
	got_free(&g);
	env_close(&e);

	at = lseek(logfd, 0, SEEK_END);
	CHECK(env_open(&e, NOAPPS_KEY, 1 << 20, NULL, NULL) == RC_OK);
	CHECK(pull_all(&e, &g, &p) == RC_AUTH && !p.complete && g.n == 0);
	got_free(&g);
	log_since(at, &lg);
	CHECK_CONTAINS(lg.p, "missing_endpoint_permission");
	CHECK_CONTAINS(lg.p, "application.list");
	env_close(&e);
	buf_free(&lg);
}

/* Hostile or broken answers: an error and an incomplete listing, never an
 * empty success. */
static void
test_hostile(void)
{
	static const char *const faults[] = {
		/* 5 MB against a 1 MB cap */
		"[{\"match\":{\"path\":\"^/candidate\\\\.list$\"},\"kind\":\"oversize\",\"bytes\":5000000}]",
		/* cut off mid-body */
		"[{\"match\":{\"path\":\"^/candidate\\\\.list$\"},\"kind\":\"truncate\",\"keep\":40}]",
		/* not JSON */
		"[{\"match\":{\"path\":\"^/candidate\\\\.list$\"},\"kind\":\"malformed\"}]",
		/* success:false on a full listing: an error, not an empty page */
		"[{\"match\":{\"path\":\"^/candidate\\\\.list$\"},\"kind\":\"status\",\"status\":200,"
		"\"body\":{\"success\":false,\"errors\":[\"internal\"],\"errorInfo\":{\"code\":\"internal\"}}}]",
		/* success without the list fields */
		"[{\"match\":{\"path\":\"^/candidate\\\\.list$\"},\"kind\":\"status\",\"status\":200,"
		"\"body\":{\"success\":true,\"results\":[]}}]",
		/* more data announced, no cursor */
		"[{\"match\":{\"path\":\"^/candidate\\\\.list$\"},\"kind\":\"status\",\"status\":200,"
		"\"body\":{\"success\":true,\"results\":[],\"moreDataAvailable\":true}}]",
		/* no success field at all */
		"[{\"match\":{\"path\":\"^/application\\\\.list$\"},\"kind\":\"status\",\"status\":200,"
		"\"body\":{\"results\":[],\"moreDataAvailable\":false}}]",
		/* a server error that stays */
		"[{\"match\":{\"path\":\"^/candidate\\\\.list$\"},\"kind\":\"status\",\"status\":503}]",
	};
	struct env e;
	struct ats_pull p;
	struct got g;
	size_t i;
	int64_t t0;

	reset_world();
	{
		size_t n;
		char **ids = generate(30, 1, &n);
		strv_free(ids, n);
	}
	retries = "2";	/* the failures below are retried: keep it short */
	CHECK(env_open(&e, KEY, 1 << 20, NULL, NULL) == RC_OK);
	retries = "4";
	for (i = 0; i < ARRAY_LEN(faults); i++) {
		enum rc rc;
		fake_admin0("POST", "/_admin/faults", faults[i]);
		rc = pull_all(&e, &g, &p);
		CHECK(rc == RC_REMOTE);
		CHECK(!p.complete && g.n == 0 && e.a->sync_out == NULL);
		if (rc != RC_REMOTE || g.n != 0)
			printf("# fault %zu: rc %d, %zu delivered\n", i, rc, g.n);
		got_free(&g);
	}

	/* 429 with Retry-After: waited for, then on */
	fake_admin0("POST", "/_admin/faults", "[{\"match\":{\"path\":\"^/candidate\\\\.list$\"},\"kind\":\"status\","
	    "\"status\":429,\"headers\":{\"Retry-After\":\"1\"},\"body\":{\"success\":false,\"errors\":[\"rate_limit_exceeded\"],"
	    "\"errorInfo\":{\"code\":\"rate_limit_exceeded\"}},\"times\":1}]");
	t0 = mono_ms();
	CHECK(pull_all(&e, &g, &p) == RC_OK && p.complete && g.n == 30);
	CHECK(mono_ms() - t0 >= 950);
	got_free(&g);
	/* 429 without Retry-After: backoff, then on */
	fake_admin0("POST", "/_admin/faults", "[{\"match\":{\"path\":\"^/application\\\\.list$\"},\"kind\":\"status\","
	    "\"status\":429,\"times\":2}]");
	CHECK(pull_all(&e, &g, &p) == RC_OK && p.complete && g.n == 30);
	got_free(&g);
	fake_admin0("POST", "/_admin/faults", "[]");
	/* the fake's own limiter (1 request a second, partner scope): slower, complete */
	fake_admin0("POST", "/_admin/settings", "{\"partner_scope\": true}");
	fake_admin0("POST", "/_admin/limits", "{\"limit_per_window\": 1, \"window_s\": 1}");
	fake_admin0("POST", "/_admin/reset-counters", "{}");
	fake_admin0("POST", "/_admin/stats/reset", "{}");
	/* the fake's windows are whole seconds of its clock (real time): start just
	 * after one begins, or two quick requests could straddle a boundary and
	 * both pass, legitimately (it happened: 2 requests in 11 ms, no 429) */
	sleep_ms((long)(1020 - now_ms() % 1000));
	t0 = mono_ms();
	CHECK(pull_all(&e, &g, &p) == RC_OK && p.complete && g.n == 30);
	{
		cJSON *st = fake_admin("GET", "/_admin/stats", NULL);
		int64_t n429 = -1, reqs = 0, took = mono_ms() - t0;
		json_int(st, "429", &n429);
		json_int(st, "requests", &reqs);
		printf("# limiter: %lld 429s, %lld requests in %lld ms\n", (long long)n429,
		    (long long)reqs, (long long)took);
		/* the limiter was met (429s, retried) or the client never outran it: a
		 * request a second at most (a busy machine may space them by itself) */
		CHECK(n429 >= 1 || (reqs > 1 && took >= (reqs - 1) * 900));
		cJSON_Delete(st);
	}
	got_free(&g);
	fake_admin0("POST", "/_admin/limits", "{\"limit_per_window\": 0}");
	env_close(&e);
}

int
main(void)
{
	struct http_cfg hc = { 0 };
	struct buf lg = BUF_INIT;

	json_init();
	root = getenv("ATSRECON_TEST_ASHBY");
	ca = getenv("ATSRECON_TEST_CA");
	CHECK(root != NULL && ca != NULL);
	if (root == NULL || ca == NULL)
		return t_done("test_ashby");
	logfd = mkstemp(logpath);
	CHECK(logfd >= 0);
	if (logfd < 0)
		return t_done("test_ashby");
	unlink(logpath);
	log_init(LOG_DEBUG, LOG_FMT_JSON);
	log_set_fd(logfd);
	hc.ca_file = ca;
	http_new(&hc, &fake_http);
	fake_root = root;
	TIMED(test_parse);
	TIMED(test_agrees_with_canon);
	TIMED(test_pages_and_tokens);
	TIMED(test_token_refused);
	TIMED(test_lifecycle);
	TIMED(test_auth);
	TIMED(test_hostile);
	TIMED(test_current_application);

	/* no key in the log, not even redacted: the driver never logs one */
	log_since(0, &lg);
	CHECK(lg.len > 1000);	/* the log did record the run (debug level) */
	CHECK(strstr(lg.p, KEY) == NULL);
	CHECK(strstr(lg.p, LIMITED_KEY) == NULL && strstr(lg.p, NOAPPS_KEY) == NULL);
	CHECK(strstr(lg.p, "wrong-key-1234") == NULL);
	CHECK(strstr(lg.p, "REDACTED") == NULL);
	CHECK_CONTAINS(lg.p, "\"subsystem\":\"ashby\"");
	buf_free(&lg);

	/* every request body the driver sent conformed to the description */
	{
		cJSON *cf = fake_admin("GET", "/_admin/conformance", NULL);
		int n = cf ? cJSON_GetArraySize(json_get(cf, "failures")) : -1;
		CHECK(n == 0);
		if (n != 0) {
			char *s = json_print(cf);
			printf("# conformance: %.600s\n", s ? s : "?");
			free(s);
		}
		cJSON_Delete(cf);
	}
	close(logfd);
	http_free(fake_http);
	return t_done("test_ashby");
}
