/*
 * Tests: the Greenhouse Harvest v3 driver (ats_greenhouse.c) against the fake
 * (tests/fakes/greenhouse.py), which tests/run.sh starts: ATSRECON_TEST_GREENHOUSE
 * is its root URL, ATSRECON_TEST_CA the CA file. Without them every check fails.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ats.h"
#include "config.h"
#include "http.h"
#include "jtree.h"
#include "log.h"
#include "t.h"
#include "tlog.h"
#include "fakeadm.h"
#include "atsenv.h"

static const char *root, *ca;

/* The "fields" rules env_open's configuration has (the lookups the driver
 * reads follow them), and ats.current_application (NULL: the default). */
#define FIELDS_ALL "{\"fields\": [{\"from\": \"job\", \"to\": \"custom:Job\"}, " \
	"{\"from\": \"source\", \"to\": \"custom:Source\"}, " \
	"{\"from\": \"referrer\", \"to\": \"custom:Referrer\", \"null\": \"clear\"}]}"
static const char *env_fields = FIELDS_ALL;
static const char *env_policy;



/* A fresh world; the rate window is wide open unless a test narrows it. */
static void
reset_world(void)
{
	fake_admin0("POST", "/_admin/state", "{}");
	fake_admin0("POST", "/_admin/faults", "[]");
	fake_admin0("POST", "/_admin/limits", "{\"limit_per_window\": 100000, \"window_s\": 30}");
}

/* A driver on the fake, configured through the same layers as the binary. */
static enum rc
env_open(struct env *e, const char *secret, size_t max_body)
{
	char *v[8];
	int i = 0;

	v[i++] = xasprintf("ATSRECON_ATS_BASE_URL=%s/v3", root);
	v[i++] = xasprintf("ATSRECON_ATS_AUTH_URL=%s/auth", root);
	v[i++] = xasprintf("ATSRECON_ATS_CLIENT_ID=gh-client");
	v[i++] = xasprintf("ATSRECON_ATS_CLIENT_SECRET=%s", secret);
	v[i++] = xasprintf("ATSRECON_ATS_USER_ID=4711");
	v[i++] = xasprintf("ATSRECON_HTTP_MAX_RETRIES=4");
	if (env_policy != NULL)
		v[i++] = xasprintf("ATSRECON_ATS_CURRENT_APPLICATION=%s", env_policy);
	return env_start(e, v, i, env_fields, ca, max_body);
}

/* Collects what a pull delivered. */
struct got {
	size_t n;
	char **ids;
	size_t with_status, with_stage, anonymized, is_private, no_email;
	size_t with_referrer, referrer_unknown, with_job;
	/* a hook run once, on the first candidate */
	void (*hook)(void);
	int hooked;
	struct candidate keep;	/* a copy of the candidate named keep_id */
	const char *keep_id;
	int kept;
};

static enum rc
take(void *arg, const struct candidate *c)
{
	struct got *g = arg;

	if (g->hook != NULL && !g->hooked) {
		g->hooked = 1;
		g->hook();
	}
	g->ids = xrealloc(g->ids, (g->n + 1) * sizeof(*g->ids));
	g->ids[g->n++] = xstrdup(c->id);
	g->with_status += c->status != NULL;
	g->with_stage += c->stage_name != NULL;
	g->anonymized += c->anonymized;
	g->is_private += c->is_private;
	g->no_email += c->nemails == 0;
	g->with_referrer += c->referrer != NULL;
	g->referrer_unknown += candidate_field_unknown(c, "referrer");
	g->with_job += c->job != NULL;
	if (g->keep_id != NULL && strcmp(c->id, g->keep_id) == 0 && !g->kept) {
		g->kept = 1;
		g->keep.id = xstrdup(c->id);
		g->keep.first_name = c->first_name ? xstrdup(c->first_name) : NULL;
		g->keep.status = c->status ? xstrdup(c->status) : NULL;
		g->keep.stage_name = c->stage_name ? xstrdup(c->stage_name) : NULL;
		g->keep.job = c->job ? xstrdup(c->job) : NULL;
		g->keep.source = c->source ? xstrdup(c->source) : NULL;
		g->keep.referrer = c->referrer ? xstrdup(c->referrer) : NULL;
		g->keep.unknown = c->unknown;
		g->keep.nemails = c->nemails;
		if (c->nemails > 0) {
			g->keep.emails = xcalloc(1, sizeof(char *));
			g->keep.emails[0] = xstrdup(c->emails[0]);
			g->keep.nemails = 1;
		}
		g->keep.applied_ms = c->applied_ms;
		g->keep.app_id = c->app_id ? xstrdup(c->app_id) : NULL;
	}
	return RC_OK;
}

static size_t
distinct(const struct got *g)
{
	size_t i, j, n = 0;

	for (i = 0; i < g->n; i++) {
		for (j = 0; j < i; j++)
			if (strcmp(g->ids[i], g->ids[j]) == 0)
				break;
		n += j == i;
	}
	return n;
}

static void
got_free(struct got *g)
{
	size_t i;

	for (i = 0; i < g->n; i++)
		free(g->ids[i]);
	free(g->ids);
	candidate_free(&g->keep);
	memset(g, 0, sizeof(*g));
}

static cJSON *
add_candidate(const char *json)
{
	return fake_admin("POST", "/_admin/add-candidate", json);
}

static void
expire_cursors(void)
{
	fake_admin0("POST", "/_admin/expire-cursors", "{}");
}

static char edit_mid_body[256];

static void
edit_mid(void)
{
	fake_admin0("POST", "/_admin/edit-candidate", edit_mid_body);
}

static void
test_full_and_window(void)
{
	struct env e;
	struct ats_pull pull;
	struct got g;
	cJSON *c, *gen;
	int64_t t0, t1;
	char body[512], id[32], app_id[32];

	reset_world();
	gen = fake_admin("POST", "/_admin/generate", "{\"candidates\": 1200, \"applications_per_candidate\": 2, "
	    "\"private_every\": 100}");
	CHECK(gen != NULL);
	cJSON_Delete(gen);
	c = add_candidate("{\"first_name\": \"Jane\", \"last_name\": \"Doe\", \"email_addresses\": "
	    "[{\"value\": \" Jane.Doe@Example.COM \", \"type\": \"personal\"}, {\"value\": \"jane.doe@example.com\", "
	    "\"type\": \"work\"}, {\"value\": \"not an email\", \"type\": \"other\"}], \"phone_numbers\": "
	    "[{\"value\": \"(415) 555-0100\", \"type\": \"mobile\"}], \"applications\": [{\"status\": \"rejected\", "
	    "\"job_id\": 4002}, {\"status\": \"in_process\", \"job_id\": 4001, \"stage_name\": \"Recruiter Phone Screen\"}]}");
	CHECK(c != NULL);
	snprintf(id, sizeof(id), "%s", c && json_str(c, "id") ? json_str(c, "id") : "");
	if (c != NULL && json_get(c, "id") != NULL && cJSON_IsNumber(json_get(c, "id")))
		snprintf(id, sizeof(id), "%lld", (long long)json_get(c, "id")->valuedouble);
	cJSON_Delete(c);

	CHECK(env_open(&e, "gh-secret", 1 << 20) == RC_OK);
	memset(&g, 0, sizeof(g));
	g.keep_id = id;
	CHECK(e.a->drv->pull_all(e.a, take, &g, &pull) == RC_OK);
	CHECK(pull.complete && g.n == 1201 && distinct(&g) == 1201);
	CHECK(pull.pages >= 3);
	CHECK(g.with_status == 1201);
	CHECK(g.is_private == 12);
	CHECK(g.kept);
	CHECK_STR(g.keep.first_name, "Jane");
	CHECK(g.keep.nemails == 1 && str_eq(g.keep.emails[0], "jane.doe@example.com"));
	CHECK_STR(g.keep.status, "active");		/* the in-process application wins */
	CHECK_STR(g.keep.stage_name, "Recruiter Phone Screen");
	CHECK_STR(g.keep.job, "DevOps Engineer");
	CHECK(g.keep.applied_ms > 0);
	got_free(&g);

	/* a window: candidates changed in it, and those whose application changed */
	sleep_ms(50);
	t0 = now_ms();
	sleep_ms(50);
	snprintf(body, sizeof(body), "{\"id\": %s, \"set\": {\"title\": \"CTO\"}}", id);
	fake_admin0("POST", "/_admin/edit-candidate", body);
	c = fake_admin("GET", "/_admin/summary", NULL);
	cJSON_Delete(c);
	/* an application of another candidate changes, its candidate does not */
	c = fake_admin("GET", "/_admin/candidate?id=10000001", NULL);
	snprintf(app_id, sizeof(app_id), "%lld", c && cJSON_GetArrayItem(json_get(c, "applications"), 0) ?
	    (long long)json_get(cJSON_GetArrayItem(json_get(c, "applications"), 0), "id")->valuedouble : 0LL);
	cJSON_Delete(c);
	snprintf(body, sizeof(body), "{\"id\": %s, \"set\": {\"status\": \"hired\"}, \"bump_candidate\": false}",
	    app_id);
	fake_admin0("POST", "/_admin/edit-application", body);
	sleep_ms(50);
	t1 = now_ms();
	memset(&g, 0, sizeof(g));
	CHECK(e.a->drv->pull_window(e.a, t0, t1, take, &g, &pull) == RC_OK);
	CHECK(pull.complete);
	CHECK(g.n == 2 && distinct(&g) == 2);
	got_free(&g);

	/* an edit landing mid-pagination: nothing inside the window is missed or doubled.
	 * 150 candidates change in the window; pages of 50; while page 1 is being
	 * delivered, the candidate that would come last (smallest id) is edited again,
	 * which moves it out of the closed window: the next run's window has it. */
	sleep_ms(20);
	t0 = now_ms();
	sleep_ms(20);
	{
		int k;
		for (k = 1; k <= 150; k++) {
			snprintf(body, sizeof(body), "{\"id\": %d, \"set\": {\"title\": \"T%d\"}}",
			    10000000 + k, k);
			cJSON_Delete(fake_admin("POST", "/_admin/edit-candidate", body));
			sleep_ms(2);	/* the fake stamps each write 1 ms after the last: stay behind the clock */
		}
	}
	sleep_ms(20);
	t1 = now_ms();
	{
		struct buf err = BUF_INIT;
		CHECK(config_set_cli(&e.cfg, OPT_ATS_PAGE_SIZE, "50", &err) == RC_OK);
		buf_free(&err);
		env_close(&e);
		CHECK(env_open(&e, "gh-secret", 1 << 20) == RC_OK);
		CHECK(config_set_cli(&e.cfg, OPT_ATS_PAGE_SIZE, "50", &err) == RC_OK);
		e.a->drv->close(e.a);
		CHECK(e.a->drv->open(e.a) == RC_OK);
	}
	snprintf(edit_mid_body, sizeof(edit_mid_body), "{\"id\": 10000001, \"set\": {\"title\": \"Moved\"}}");
	memset(&g, 0, sizeof(g));
	g.hook = edit_mid;
	CHECK(e.a->drv->pull_window(e.a, t0, t1, take, &g, &pull) == RC_OK);
	CHECK(pull.complete && pull.pages >= 3);
	CHECK(g.n == 149 && distinct(&g) == 149);
	if (g.n != 149)
		printf("# delivered %zu (%zu distinct), pages %d\n", g.n, distinct(&g), pull.pages);
	got_free(&g);

	/* an expired cursor restarts the listing once; everything is still delivered */
	memset(&g, 0, sizeof(g));
	g.hook = expire_cursors;
	CHECK(e.a->drv->pull_all(e.a, take, &g, &pull) == RC_OK);
	CHECK(pull.restarted == 1 && pull.complete);
	CHECK(distinct(&g) == 1201);
	got_free(&g);
	env_close(&e);
}

static void
test_lifecycle(void)
{
	struct env e;
	struct ats_pull pull;
	struct got g;
	struct candidate *one = NULL;
	cJSON *c;

	reset_world();
	c = add_candidate("{\"id\": 101, \"first_name\": \"Ann\", \"last_name\": \"Gone\", \"email_addresses\": "
	    "[{\"value\": \"ann@example.com\", \"type\": \"personal\"}], \"applications\": [{\"status\": \"in_process\", \"job_id\": 4001}]}");
	cJSON_Delete(c);
	c = add_candidate("{\"id\": 102, \"first_name\": \"Bo\", \"last_name\": \"Winner\", \"email_addresses\": "
	    "[{\"value\": \"bo@example.com\", \"type\": \"personal\"}], \"applications\": [{\"status\": \"in_process\", \"job_id\": 4001}]}");
	cJSON_Delete(c);
	c = add_candidate("{\"id\": 103, \"first_name\": \"Bo\", \"last_name\": \"Dup\", \"email_addresses\": "
	    "[{\"value\": \"bo.dup@example.com\", \"type\": \"personal\"}], \"applications\": [{\"status\": \"rejected\", \"job_id\": 4001}]}");
	cJSON_Delete(c);
	c = add_candidate("{\"id\": 104, \"first_name\": \"Cy\", \"last_name\": \"Erased\", \"email_addresses\": "
	    "[{\"value\": \"cy@example.com\", \"type\": \"personal\"}], \"applications\": [{\"status\": \"hired\", \"job_id\": 4001}]}");
	cJSON_Delete(c);
	c = add_candidate("{\"id\": 105, \"first_name\": \"Di\", \"last_name\": \"Sourced\", "
	    "\"applications\": [{\"status\": \"in_process\", \"job_id\": 4001}]}");
	cJSON_Delete(c);
	fake_admin0("POST", "/_admin/delete-candidate", "{\"id\": 101}");
	fake_admin0("POST", "/_admin/merge", "{\"winner\": 102, \"loser\": 103}");
	fake_admin0("POST", "/_admin/anonymize", "{\"id\": 104}");

	CHECK(env_open(&e, "gh-secret", 1 << 20) == RC_OK);
	CHECK(e.a->drv->get(e.a, "101", &one) == RC_RECORD);	/* hard delete: 404 */
	CHECK(e.a->drv->get(e.a, "103", &one) == RC_RECORD);	/* merged away */
	CHECK(e.a->drv->get(e.a, "102", &one) == RC_OK);
	CHECK(one != NULL && one->nemails == 2);		/* the winner has both emails */
	candidate_free(one);
	free(one);
	one = NULL;

	/* Issue 16 defect 3: only 404 and 410 mean gone; any other answer about
	 * the record is an error for it (RC_OK, no candidate), never a delete */
	{
		static const int codes[] = { 400, 405, 409, 422, 301 };
		size_t k;
		for (k = 0; k < ARRAY_LEN(codes); k++) {
			char *rule = xasprintf("[{\"match\":{\"path\":\"^/v3/candidates/102$\"},"
			    "\"kind\":\"status\",\"status\":%d,\"body\":{\"message\":\"no\\nthanks\"}}]",
			    codes[k]);
			fake_admin0("POST", "/_admin/faults", rule);
			free(rule);
			one = NULL;
			CHECK(e.a->drv->get(e.a, "102", &one) == RC_OK);	/* defect3_gh_only_404_410_gone */
			CHECK(one == NULL);
		}
		fake_admin0("POST", "/_admin/faults", "[{\"match\":{\"path\":\"^/v3/candidates/102$\"},"
		    "\"kind\":\"status\",\"status\":410}]");
		CHECK(e.a->drv->get(e.a, "102", &one) == RC_RECORD);	/* defect3_gh_only_404_410_gone */
		fake_admin0("POST", "/_admin/faults", "[]");
		/* the id is percent-encoded in the path: "101/../102" is no id, not 102 */
		one = NULL;
		CHECK(e.a->drv->get(e.a, "101/../102", &one) == RC_RECORD);	/* defect3_gh_id_encoded */
		CHECK(one == NULL);
		if (one != NULL) {
			candidate_free(one);
			free(one);
			one = NULL;
		}
		CHECK(e.a->drv->get(e.a, "102", &one) == RC_OK && one != NULL);
		if (one != NULL) {
			candidate_free(one);
			free(one);
			one = NULL;
		}
	}
	memset(&g, 0, sizeof(g));
	CHECK(e.a->drv->pull_all(e.a, take, &g, &pull) == RC_OK);
	CHECK(g.n == 3);
	CHECK(g.anonymized == 1);	/* 104, flagged, not an ordinary edit */
	CHECK(g.no_email == 2);		/* 104 (erased) and 105 (sourced, no email: no crash) */
	got_free(&g);

	/* the access token expires mid-run: minted again, the run goes on */
	fake_admin0("POST", "/_admin/expire-tokens", "{}");
	memset(&g, 0, sizeof(g));
	CHECK(e.a->drv->pull_all(e.a, take, &g, &pull) == RC_OK && g.n == 3);
	got_free(&g);
	env_close(&e);

	/* bad credentials: a person must act (exit 4) */
	CHECK(env_open(&e, "wrong-secret", 1 << 20) == RC_AUTH);
	env_close(&e);
}

static void
test_hostile(void)
{
	struct env e;
	struct ats_pull pull;
	struct got g;
	cJSON *gen;
	int64_t t0;

	reset_world();
	gen = fake_admin("POST", "/_admin/generate", "{\"candidates\": 120}");
	cJSON_Delete(gen);
	CHECK(env_open(&e, "gh-secret", 1 << 20) == RC_OK);

	/* a 5 MB body against a 1 MB cap: an error, bounded */
	fake_admin0("POST", "/_admin/faults", "[{\"match\":{\"path\":\"^/v3/candidates$\"},\"kind\":\"oversize\","
	    "\"bytes\":5000000}]");
	memset(&g, 0, sizeof(g));
	CHECK(e.a->drv->pull_all(e.a, take, &g, &pull) == RC_REMOTE);
	CHECK(!pull.complete && g.n == 0);
	got_free(&g);

	/* malformed JSON on the second page: the pull fails, and says it is incomplete */
	fake_admin0("POST", "/_admin/faults", "[{\"match\":{\"path\":\"^/v3/candidates$\"},\"kind\":\"malformed\","
	    "\"after\":1}]");
	e.a->drv->close(e.a);
	e.a->drv->open(e.a);
	memset(&g, 0, sizeof(g));
	{
		/* small pages so there is a second one */
		struct buf err = BUF_INIT;
		CHECK(config_set_cli(&e.cfg, OPT_ATS_PAGE_SIZE, "50", &err) == RC_OK);
		buf_free(&err);
		e.a->drv->close(e.a);
		e.a->drv->open(e.a);
	}
	CHECK(e.a->drv->pull_all(e.a, take, &g, &pull) == RC_REMOTE);
	CHECK(!pull.complete && g.n == 50);
	got_free(&g);

	/* a next link that leaves the API's host is not followed (the token would go with it) */
	fake_admin0("POST", "/_admin/faults", "[{\"match\":{\"path\":\"^/v3/candidates$\"},\"kind\":\"status\","
	    "\"status\":200,\"body\":[],\"headers\":{\"Link\":\"<https://evil.test/v3/candidates?cursor=x>; "
	    "rel=\\\"next\\\"\"},\"times\":1}]");
	memset(&g, 0, sizeof(g));
	CHECK(e.a->drv->pull_all(e.a, take, &g, &pull) == RC_REMOTE);
	got_free(&g);

	/* 429 with Retry-After, then on */
	fake_admin0("POST", "/_admin/faults", "[{\"match\":{\"path\":\"^/v3/candidates$\"},\"kind\":\"status\","
	    "\"status\":429,\"headers\":{\"Retry-After\":\"1\"},\"times\":1}]");
	t0 = mono_ms();
	memset(&g, 0, sizeof(g));
	CHECK(e.a->drv->pull_all(e.a, take, &g, &pull) == RC_OK && g.n == 120);
	CHECK(mono_ms() - t0 >= 950);
	got_free(&g);
	fake_admin0("POST", "/_admin/faults", "[]");

	/* the fixed rate window: the pacer waits for X-RateLimit-Reset instead of hitting 429 */
	fake_admin0("POST", "/_admin/limits", "{\"limit_per_window\": 6, \"window_s\": 2}");
	fake_admin0("POST", "/_admin/reset-counters", "{}");
	fake_admin0("POST", "/_admin/stats/reset", "{}");
	memset(&g, 0, sizeof(g));
	CHECK(e.a->drv->pull_all(e.a, take, &g, &pull) == RC_OK && g.n == 120);
	{
		cJSON *st = fake_admin("GET", "/_admin/stats", NULL);
		int64_t n429 = -1;
		json_int(st, "429", &n429);
		if (n429 < 0)
			json_int(st, "status_429", &n429);
		CHECK(n429 == 0);
		if (n429 != 0) {
			char *s = json_print(st);
			printf("# stats: %.500s\n", s);
			free(s);
		}
		cJSON_Delete(st);
	}
	got_free(&g);
	env_close(&e);
}


/* The current application under each ats.current_application: an active
 * older application and a rejected newer one; ties on the update time. */
static void
check_current(const char *policy)
{
	struct env e;
	struct candidate *one = NULL;
	struct ats_pull pull;
	struct got g;
	int latest = strcmp(policy, "latest_updated") == 0;

	env_policy = policy;
	CHECK(env_open(&e, "gh-secret", 1 << 20) == RC_OK);
	env_policy = NULL;
	CHECK(e.a->app_policy == (latest ? ATS_APP_LATEST_UPDATED : ATS_APP_ACTIVE_FIRST));
	/* 201: active (older) vs rejected (newer) */
	CHECK(e.a->drv->get(e.a, "201", &one) == RC_OK);
	if (one != NULL) {
		CHECK_STR(one->app_id, latest ? "900002" : "900001");
		CHECK_STR(one->status, latest ? "rejected" : "active");
		CHECK_STR(one->job, latest ? "Data Scientist - BK" : "DevOps Engineer");
		CHECK_STR(one->source, latest ? "Meetups" : "Indeed");
		CHECK_STR(one->referrer, latest ? "Bob Smith" : "Kate Austen");
		CHECK_STR(one->stage_name, latest ? "Take Home Test" : "Recruiter Phone Screen");
		CHECK(one->applied_ms == (latest ? 1738368000000LL : 1735689600000LL));
		candidate_free(one);
		free(one);
		one = NULL;
	}
	/* 202: both inactive, same update time: the greatest id (numerically) */
	CHECK(e.a->drv->get(e.a, "202", &one) == RC_OK);
	if (one != NULL) {
		CHECK_STR(one->app_id, "900020");
		candidate_free(one);
		free(one);
		one = NULL;
	}
	/* 203: an active and a rejected one updated at the same time */
	CHECK(e.a->drv->get(e.a, "203", &one) == RC_OK);
	if (one != NULL) {
		CHECK_STR(one->app_id, latest ? "900031" : "900030");
		candidate_free(one);
		free(one);
		one = NULL;
	}
	/* the listing picks the same one as get */
	memset(&g, 0, sizeof(g));
	g.keep_id = "201";
	CHECK(e.a->drv->pull_all(e.a, take, &g, &pull) == RC_OK && g.n == 3);
	CHECK(g.kept && str_eq(g.keep.app_id, latest ? "900002" : "900001"));
	got_free(&g);
	env_close(&e);
}

static void
test_current_application(void)
{
	reset_world();
	cJSON_Delete(add_candidate("{\"id\": 201, \"first_name\": \"Ada\", \"last_name\": \"Two\", "
	    "\"applications\": [{\"id\": 900001, \"status\": \"in_process\", \"job_id\": 4001, \"source_id\": 7, "
	    "\"referrer_id\": 6001, \"stage_name\": \"Recruiter Phone Screen\", "
	    "\"created_at\": \"2025-01-01T00:00:00Z\", \"updated_at\": \"2026-01-01T00:00:00Z\"}, "
	    "{\"id\": 900002, \"status\": \"rejected\", \"job_id\": 4002, \"source_id\": 12, "
	    "\"referrer_id\": 6002, \"stage_name\": \"Take Home Test\", "
	    "\"created_at\": \"2025-02-01T00:00:00Z\", \"updated_at\": \"2026-02-01T00:00:00Z\"}]}"));
	cJSON_Delete(add_candidate("{\"id\": 202, \"first_name\": \"Ben\", \"last_name\": \"Tie\", "
	    "\"applications\": [{\"id\": 900020, \"status\": \"rejected\", \"job_id\": 4001, "
	    "\"updated_at\": \"2026-01-01T00:00:00Z\"}, {\"id\": 90003, \"status\": \"rejected\", "
	    "\"job_id\": 4002, \"updated_at\": \"2026-01-01T00:00:00Z\"}]}"));
	cJSON_Delete(add_candidate("{\"id\": 203, \"first_name\": \"Cy\", \"last_name\": \"Tie\", "
	    "\"applications\": [{\"id\": 900030, \"status\": \"in_process\", \"job_id\": 4001, "
	    "\"updated_at\": \"2026-01-01T00:00:00Z\"}, {\"id\": 900031, \"status\": \"rejected\", "
	    "\"job_id\": 4002, \"updated_at\": \"2026-01-01T00:00:00Z\"}]}"));
	check_current("active_first");
	check_current("latest_updated");
}

/* Reference lists are read only when a rule uses their field; a refused
 * optional one degrades its field and the run goes on. */
static void
test_lookups(void)
{
	struct env e;
	struct ats_pull pull;
	struct got g;
	struct candidate *one = NULL;
	cJSON *gen;
	char *text;
	int fd;

	reset_world();
	gen = fake_admin("POST", "/_admin/generate", "{\"candidates\": 60, \"applications_per_candidate\": 2}");
	cJSON_Delete(gen);
	cJSON_Delete(add_candidate("{\"id\": 201, \"first_name\": \"Ada\", \"last_name\": \"Ref\", "
	    "\"applications\": [{\"id\": 900001, \"status\": \"in_process\", \"job_id\": 4001, \"source_id\": 7, "
	    "\"referrer_id\": 6001}]}"));

	/* (a) no rule uses referrer (nor source): /v3/referrers is never called */
	env_fields = "{\"fields\": [{\"from\": \"job\", \"to\": \"custom:Job\"}], "
	    "\"stage_tags\": {\"category\": \"Stage\"}}";
	fake_admin0("POST", "/_admin/stats/reset", "{}");
	CHECK(env_open(&e, "gh-secret", 1 << 20) == RC_OK);
	CHECK(e.a->used == (ATS_FLD_JOB | ATS_FLD_STAGE | ATS_FLD_STATUS));
	memset(&g, 0, sizeof(g));
	g.keep_id = "201";
	CHECK(e.a->drv->pull_all(e.a, take, &g, &pull) == RC_OK && g.n == 61);
	CHECK(e.a->drv->get(e.a, "201", &one) == RC_OK);
	CHECK(one != NULL && one->referrer == NULL && one->unknown == 0);
	if (one != NULL) {
		candidate_free(one);
		free(one);
		one = NULL;
	}
	CHECK(g.kept && str_eq(g.keep.job, "DevOps Engineer") && g.keep.referrer == NULL);
	CHECK(g.with_referrer == 0 && g.referrer_unknown == 0);
	CHECK(fake_requests_to("/v3/referrers") == 0);
	CHECK(fake_requests_to("/v3/sources") == 0);
	CHECK(fake_requests_to("/v3/jobs") == 1);
	got_free(&g);
	env_close(&e);

	/* (b) referrer mapped, the credentials lack harvest:referrers:list (403):
	 * the pull completes, every referrer is unknown, one warning */
	env_fields = FIELDS_ALL;
	fake_admin0("POST", "/_admin/clients", "{\"client_id\": \"gh-client\", \"client_secret\": "
	    "\"gh-secret\", \"scopes\": [\"harvest:candidates:list\", \"harvest:applications:list\", "
	    "\"harvest:jobs:list\", \"harvest:sources:list\"]}");
	fake_admin0("POST", "/_admin/stats/reset", "{}");
	CHECK(env_open(&e, "gh-secret", 1 << 20) == RC_OK);
	fd = t_log_begin(LOG_WARN, LOG_FMT_TEXT);
	memset(&g, 0, sizeof(g));
	g.keep_id = "201";
	CHECK(e.a->drv->pull_all(e.a, take, &g, &pull) == RC_OK && pull.complete && g.n == 61);
	CHECK(e.a->drv->get(e.a, "201", &one) == RC_OK);
	text = t_log_end(fd);
	CHECK(t_count(text, "/v3/referrers") == 1);	/* warned once, not per candidate or call */
	if (t_count(text, "/v3/referrers") != 1)
		printf("# log: %.800s\n", text);
	free(text);
	CHECK(one != NULL && one->referrer == NULL && candidate_field_unknown(one, "referrer"));
	CHECK(one != NULL && str_eq(one->source, "Indeed") && !candidate_field_unknown(one, "source"));
	if (one != NULL) {
		candidate_free(one);
		free(one);
		one = NULL;
	}
	CHECK(g.kept && str_eq(g.keep.job, "DevOps Engineer") && g.keep.referrer == NULL);
	CHECK(g.kept && (g.keep.unknown & ATS_FLD_REFERRER));
	CHECK(g.with_referrer == 0 && g.referrer_unknown == 61);
	CHECK(e.a->degraded == ATS_FLD_REFERRER);
	CHECK(strstr(e.a->degraded_note, "referrer") != NULL &&
	    strstr(e.a->degraded_note, "harvest:referrers:list") != NULL);
	CHECK(fake_requests_to("/v3/referrers") == 1);	/* asked once per run */
	got_free(&g);
	env_close(&e);

	/* the same with a 404 (an endpoint the account does not have) */
	reset_world();
	cJSON_Delete(add_candidate("{\"id\": 201, \"first_name\": \"Ada\", \"last_name\": \"Ref\", "
	    "\"applications\": [{\"id\": 900001, \"status\": \"in_process\", \"job_id\": 4001, \"source_id\": 7, "
	    "\"referrer_id\": 6001}]}"));
	fake_admin0("POST", "/_admin/faults", "[{\"match\":{\"path\":\"^/v3/sources$\"},\"kind\":\"status\","
	    "\"status\":404}]");
	CHECK(env_open(&e, "gh-secret", 1 << 20) == RC_OK);
	memset(&g, 0, sizeof(g));
	g.keep_id = "201";
	CHECK(e.a->drv->pull_all(e.a, take, &g, &pull) == RC_OK && g.n == 1);
	CHECK(g.kept && g.keep.source == NULL && (g.keep.unknown & ATS_FLD_SOURCE));
	CHECK(g.kept && str_eq(g.keep.referrer, "Kate Austen"));
	CHECK(e.a->degraded == ATS_FLD_SOURCE);
	got_free(&g);
	/* anything else on a lookup (a 500 after retries) still fails the pull */
	fake_admin0("POST", "/_admin/faults", "[{\"match\":{\"path\":\"^/v3/jobs$\"},\"kind\":\"status\","
	    "\"status\":500}]");
	env_close(&e);
	{
		struct buf err = BUF_INIT;
		CHECK(env_open(&e, "gh-secret", 1 << 20) == RC_OK);
		CHECK(config_set_cli(&e.cfg, OPT_HTTP_MAX_RETRIES, "0", &err) == RC_OK);
		buf_free(&err);
	}
	memset(&g, 0, sizeof(g));
	CHECK(e.a->drv->pull_all(e.a, take, &g, &pull) != RC_OK && g.n == 0);
	got_free(&g);
	fake_admin0("POST", "/_admin/faults", "[]");
	env_close(&e);
}

/* What a pull delivered, one line per candidate (its current application's
 * fields), sorted: two pulls that delivered the same compare equal. */
struct digest {
	char **v;
	size_t n;
};

static enum rc
take_digest(void *arg, const struct candidate *c)
{
	struct digest *d = arg;

	d->v = xrealloc(d->v, (d->n + 1) * sizeof(*d->v));
	d->v[d->n++] = xasprintf("%s|%s|%s|%s|%s|%s|%s|%s|%s|%lld|%s", c->id, c->first_name ? c->first_name : "-",
	    c->app_id ? c->app_id : "-", c->status ? c->status : "-", c->stage_id ? c->stage_id : "-",
	    c->stage_name ? c->stage_name : "-", c->job ? c->job : "-", c->source ? c->source : "-",
	    c->referrer ? c->referrer : "-", (long long)c->applied_ms, c->nemails ? c->emails[0] : "-");
	return RC_OK;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The digest as one text (distinct lines only: a restarted listing delivers
 * its first pages twice). */
static char *
digest_text(struct digest *d)
{
	struct buf b = BUF_INIT;
	size_t i;

	qsort(d->v, d->n, sizeof(*d->v), cmp_str);
	for (i = 0; i < d->n; i++)
		if (i == 0 || strcmp(d->v[i], d->v[i - 1]) != 0) {
			buf_adds(&b, d->v[i]);
			buf_addc(&b, '\n');
		}
	for (i = 0; i < d->n; i++)
		free(d->v[i]);
	free(d->v);
	memset(d, 0, sizeof(*d));
	return buf_take(&b);
}

/* Requests the fake saw since seq: all of them, and those that asked for
 * applications by candidate id. */
static void
count_requests(long since, long *all, long *by_id, long *next)
{
	char path[64];
	cJSON *r, *it;

	snprintf(path, sizeof(path), "/_admin/requests?since=%ld", since);
	r = fake_admin("GET", path, NULL);
	*all = *by_id = 0;
	cJSON_ArrayForEach(it, json_get(r, "requests")) {
		(*all)++;
		*by_id += json_get(json_get(it, "query"), "candidate_ids") != NULL;
	}
	*next = r != NULL && cJSON_IsNumber(json_get(r, "next")) ? (long)json_get(r, "next")->valuedouble : since;
	cJSON_Delete(r);
}

static char *
pull_digest(struct env *e, struct ats_pull *pull, enum rc *rc)
{
	struct digest d = { 0 };

	*rc = e->a->drv->pull_all(e->a, take_digest, &d, pull);
	return digest_text(&d);
}

/*
 * A full sweep lists /v3/applications whole and joins it with the candidates
 * through the spill file: the listing minimum of calls, and the same
 * candidates as asking for each page's applications by candidate id (which
 * a failed application listing falls back to). An expired cursor on either
 * listing starts it again without a doubled or missing application.
 */
static void
test_join(void)
{
	struct env e;
	struct ats_pull pull;
	struct buf err = BUF_INIT;
	char *joined, *other;
	long seq = 0, all, by_id;
	enum rc rc;
	cJSON *gen;

	reset_world();
	gen = fake_admin("POST", "/_admin/generate", "{\"candidates\": 1100, \"applications_per_candidate\": 2, "
	    "\"private_every\": 100}");
	CHECK(gen != NULL);
	cJSON_Delete(gen);
	/* a prospect only (joined, no current application), and nobody's application yet (by id) */
	cJSON_Delete(add_candidate("{\"first_name\": \"Pro\", \"last_name\": \"Spect\", \"applications\": "
	    "[{\"prospect\": true, \"status\": \"in_process\"}]}"));
	cJSON_Delete(add_candidate("{\"first_name\": \"No\", \"last_name\": \"Apps\"}"));
	cJSON_Delete(add_candidate("{\"first_name\": \"Jo\", \"last_name\": \"Two\", \"applications\": "
	    "[{\"status\": \"rejected\", \"job_id\": 4002}, {\"status\": \"in_process\", \"job_id\": 4001, "
	    "\"stage_name\": \"Recruiter Phone Screen\"}]}"));
	CHECK(env_open(&e, "gh-secret", 4 << 20) == RC_OK);
	CHECK(config_set_cli(&e.cfg, OPT_ATS_PAGE_SIZE, "200", &err) == RC_OK);
	CHECK(config_set_cli(&e.cfg, OPT_HTTP_MAX_RETRIES, "0", &err) == RC_OK);
	buf_free(&err);
	ats_close(e.a);
	CHECK(ats_open(&e.cfg, e.h, &e.a) == RC_OK);	/* page size read at open */
	count_requests(0, &all, &by_id, &seq);

	joined = pull_digest(&e, &pull, &rc);
	CHECK(rc == RC_OK && pull.complete && !pull.restarted);
	CHECK(strstr(joined, "|Pro|-|-|") != NULL);
	CHECK(strstr(joined, "|Jo|") != NULL && strstr(strstr(joined, "|Jo|"), "|active|") != NULL);
	count_requests(seq, &all, &by_id, &seq);
	/* 1103 candidates (6 pages of 200) and 2203 applications (12 pages), the
	 * three lookups (one page each), one call for the candidate without one */
	printf("# join: %ld requests, %ld by candidate id, %d list pages\n", all, by_id, pull.pages);
	CHECK(pull.pages == 18);
	CHECK(by_id == 1);
	CHECK(all == 18 + 3 + 1);

	/* the application listing fails: each page's applications by candidate id */
	fake_admin0("POST", "/_admin/faults", "[{\"match\": {\"path\": \"^/v3/applications$\"}, \"kind\": "
	    "\"status\", \"status\": 500, \"times\": 1}]");
	other = pull_digest(&e, &pull, &rc);
	CHECK(rc == RC_OK && pull.complete);
	CHECK(str_eq(joined, other));
	free(other);
	count_requests(seq, &all, &by_id, &seq);
	CHECK(by_id >= 1103 / 50);

	/* an expired cursor mid-way through the application listing, then the candidate listing */
	fake_admin0("POST", "/_admin/faults", "[{\"match\": {\"path\": \"^/v3/applications$\"}, \"kind\": "
	    "\"status\", \"status\": 422, \"after\": 2, \"times\": 1, \"body\": {\"errors\": "
	    "[\"Cursor has expired; start again from the first page without a cursor.\"]}}, "
	    "{\"match\": {\"path\": \"^/v3/candidates$\"}, \"kind\": \"status\", \"status\": 422, \"after\": 2, "
	    "\"times\": 1, \"body\": {\"errors\": [\"Cursor has expired; start again from the first page "
	    "without a cursor.\"]}}]");
	other = pull_digest(&e, &pull, &rc);
	CHECK(rc == RC_OK && pull.complete && pull.restarted);
	CHECK(str_eq(joined, other));
	free(other);
	count_requests(seq, &all, &by_id, &seq);
	CHECK(by_id == 2);	/* the candidate without an application, listed twice */
	fake_admin0("POST", "/_admin/faults", "[]");

	/* no temporary file can be made: by candidate id, the same candidates */
	{
		const char *old = getenv("TMPDIR");
		char *keep = old != NULL ? xstrdup(old) : NULL;
		setenv("TMPDIR", "/nonexistent-atsrecon-test-dir", 1);
		other = pull_digest(&e, &pull, &rc);
		if (keep != NULL)
			setenv("TMPDIR", keep, 1);
		else
			unsetenv("TMPDIR");
		free(keep);
	}
	CHECK(rc == RC_OK && pull.complete);
	CHECK(str_eq(joined, other));
	free(other);
	count_requests(seq, &all, &by_id, &seq);
	CHECK(by_id >= 1103 / 50);
	free(joined);
	env_close(&e);
}

int
main(void)
{
	json_init();
	log_init(LOG_ERROR, LOG_FMT_TEXT);
	if (!fake_connect("ATSRECON_TEST_GREENHOUSE", &root, &ca))
		return t_done("test_greenhouse");
	TIMED(test_full_and_window);
	TIMED(test_lifecycle);
	TIMED(test_hostile);
	TIMED(test_current_application);
	TIMED(test_lookups);
	TIMED(test_join);
	http_free(fake_http);
	return t_done("test_greenhouse");
}
