/*
 * Tests: the Lever v1 driver (ats_lever.c) against the fake (tests/fakes/lever.py),
 * which tests/run.sh starts: ATSRECON_TEST_LEVER is its root URL,
 * ATSRECON_TEST_CA the CA file. Without them every check fails.
 */
#define _POSIX_C_SOURCE 200809L
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "ats.h"
#include "config.h"
#include "http.h"
#include "jtree.h"
#include "log.h"
#include "pace.h"
#include "t.h"
#include "tlog.h"
#include "fakeadm.h"
#include "atsenv.h"

#define KEY "lever-test-key-0001"	/* the fake's default key: every permission */

static const char *root, *ca;

/* The "fields" rules env_open's configuration has: the lookups the driver
 * reads follow them. */
#define FIELDS_ALL "{\"fields\": [{\"from\": \"job\", \"to\": \"custom:Job\"}, " \
	"{\"from\": \"source\", \"to\": \"custom:Source\"}], " \
	"\"stage_tags\": {\"category\": \"Stage\"}}"
static const char *env_fields = FIELDS_ALL;

/* A fresh world: the fake's rate limit off unless a test turns it on. */
static void
reset_world(void)
{
	fake_admin0("POST", "/_admin/state", "{\"limits\": {\"rps\": 0, \"burst\": 20}}");
	fake_admin0("POST", "/_admin/faults", "[]");
	fake_admin0("POST", "/_admin/stats/reset", "{}");
}

/* Opens the driver on the fake with key and extra "ATSRECON_..=.." settings
 * (NULL-terminated). */
static enum rc
env_open(struct env *e, const char *key, size_t max_body, const char *const *extra)
{
	char *v[16];
	int i = 0, j;

	v[i++] = xstrdup("ATSRECON_ATS_KIND=lever");
	v[i++] = xasprintf("ATSRECON_ATS_BASE_URL=%s/v1/", root);	/* a trailing slash is fine */
	v[i++] = xasprintf("ATSRECON_ATS_API_KEY=%s", key);
	v[i++] = xstrdup("ATSRECON_HTTP_MAX_RETRIES=2");
	for (j = 0; extra != NULL && extra[j] != NULL && i < 15; j++)
		v[i++] = xstrdup(extra[j]);
	return env_start(e, v, i, env_fields, ca, max_body);
}

/* What a pull delivered: copies of the candidates. */
struct got {
	struct candidate *v;
	size_t n;
	void (*hook)(void);	/* run once, on the first candidate */
	int hooked;
};

static enum rc
take(void *arg, const struct candidate *c)
{
	struct got *g = arg;

	if (g->hook != NULL && !g->hooked) {
		g->hooked = 1;
		g->hook();
	}
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

/* Adds an opportunity; copies its contact id into cid (when cid != NULL) and
 * its own id into oid. */
static void
add_opp(const char *body, char *cid, char *oid)
{
	cJSON *j = fake_admin("POST", "/_admin/add-opportunity", body);
	const cJSON *c = json_get(j, "contact");

	CHECK(j != NULL);
	if (cid != NULL)
		snprintf(cid, 40, "%s", json_str(c, "id") ? json_str(c, "id") : "?");
	if (oid != NULL)
		snprintf(oid, 40, "%s", json_str(j, "id") ? json_str(j, "id") : "?");
	cJSON_Delete(j);
}

static int64_t
fake_now(void)
{
	cJSON *j = fake_admin("GET", "/_admin/clock", NULL);
	int64_t t = 0;

	json_int(j, "now_ms", &t);
	cJSON_Delete(j);
	return t;
}

static int64_t
stat_of(const char *name)
{
	cJSON *j = fake_admin("GET", "/_admin/stats", NULL);
	int64_t v = -1;

	json_int(j, name, &v);
	cJSON_Delete(j);
	return v;
}

/* ------------------------------------------------------------------ tests */

static void
test_people(void)
{
	struct env e;
	struct ats_pull pull;
	struct got g;
	struct candidate *one = NULL;
	const struct candidate *c;
	char a[40], b[40], cc[40], d[40], old[40], body[1024], opp[40];
	int64_t now;

	reset_world();
	now = fake_now();
	/* A: three opportunities; the most recently updated ACTIVE one is current,
	 * although a hired one is newer still */
	snprintf(body, sizeof(body), "{\"contact\": {\"name\": \" Jane  Van Doe \", \"emails\": "
	    "[\" Jane.Doe@Example.COM \", \"jane.doe@example.com\", \"not an email\"], \"phones\": "
	    "[{\"type\": \"mobile\", \"value\": \"(415) 555-0100\"}, {\"type\": null, \"value\": "
	    "\"call me\"}]}, \"stage\": \"Recruiter Phone Screen\", \"created_at\": %lld, "
	    "\"updated_at\": %lld}", (long long)(now - 900000), (long long)(now - 800000));
	add_opp(body, a, NULL);
	snprintf(body, sizeof(body), "{\"contact\": \"%s\", \"stage\": \"Face to Face\", \"posting\": "
	    "\"Data Scientist - BK\", \"sources\": [\"Referral\", \"Indeed\"], \"company\": \"Hooli\", "
	    "\"created_at\": %lld, \"updated_at\": %lld}", a, (long long)(now - 700000),
	    (long long)(now - 600000));
	add_opp(body, NULL, opp);
	snprintf(body, sizeof(body), "{\"contact\": \"%s\", \"stage\": \"Offer\", \"reason\": \"Hired\", "
	    "\"created_at\": %lld, \"updated_at\": %lld}", a, (long long)(now - 500000),
	    (long long)(now - 100000));
	add_opp(body, NULL, NULL);
	/* B: two archived; the latest (hired) wins */
	snprintf(body, sizeof(body), "{\"contact\": {\"name\": \"Bo\"}, \"reason\": \"Underqualified\", "
	    "\"created_at\": %lld, \"updated_at\": %lld}", (long long)(now - 900000),
	    (long long)(now - 300000));
	add_opp(body, b, NULL);
	snprintf(body, sizeof(body), "{\"contact\": \"%s\", \"reason\": \"Hired\", \"stage\": \"Offer\", "
	    "\"created_at\": %lld, \"updated_at\": %lld}", b, (long long)(now - 800000),
	    (long long)(now - 200000));
	add_opp(body, NULL, NULL);
	/* C: non-hired -> rejected; D: archived without a reason -> archived */
	add_opp("{\"contact\": {\"name\": \"Cy Reject\"}, \"reason\": \"Withdrew\"}", cc, NULL);
	snprintf(body, sizeof(body), "{\"contact\": {\"name\": \"Di Archived\"}, \"archived_at\": %lld}",
	    (long long)now);
	add_opp(body, d, NULL);
	/* E: an old record whose updatedAt is null */
	snprintf(body, sizeof(body), "{\"contact\": {\"name\": \"Ed Old\", \"emails\": [\"ed@example.com\"]}, "
	    "\"created_at\": %lld, \"updated_at\": null}", (long long)(now - 86400000LL * 400));
	add_opp(body, old, NULL);

	CHECK(env_open(&e, KEY, 1 << 20, NULL) == RC_OK);
	memset(&g, 0, sizeof(g));
	CHECK(e.a->drv->pull_all(e.a, take, &g, &pull) == RC_OK);
	CHECK(pull.complete && g.n == 5 && distinct(&g) == 5);	/* 8 opportunities, 5 people */
	c = find(&g, a);
	CHECK(c != NULL);
	if (c != NULL) {
		CHECK_STR(c->ats, "lever");
		CHECK_STR(c->status, "active");
		CHECK_STR(c->stage_name, "Face to Face");
		CHECK_STR(c->app_id, opp);
		CHECK_STR(c->job, "Data Scientist - BK");
		CHECK_STR(c->source, "Referral");
		CHECK_STR(c->company, "Hooli");
		CHECK(c->title == NULL);
		CHECK_STR(c->full_name, " Jane  Van Doe ");
		CHECK_STR(c->first_name, "Jane");
		CHECK_STR(c->last_name, "Van Doe");
		CHECK(c->nemails == 1 && str_eq(c->emails[0], "jane.doe@example.com"));
		CHECK(c->nphones == 1 && str_eq(c->phones[0], "+14155550100"));
		CHECK(c->ninvalid == 2);	/* "not an email", "call me" */
		CHECK(c->applied_ms == now - 700000);
		CHECK(c->created_ms == now - 900000 && c->updated_ms >= now - 100000);
		CHECK(!c->anonymized && !c->is_private);
	}
	c = find(&g, b);
	CHECK(c != NULL && str_eq(c->status, "hired") && str_eq(c->stage_name, "Offer"));
	CHECK(c != NULL && str_eq(c->first_name, "Bo") && str_eq(c->last_name, ""));
	c = find(&g, cc);
	CHECK(c != NULL && str_eq(c->status, "rejected"));
	c = find(&g, d);
	CHECK(c != NULL && str_eq(c->status, "archived"));
	c = find(&g, old);
	CHECK(c != NULL && str_eq(c->status, "active") && c->updated_ms == now - 86400000LL * 400);
	got_free(&g);

	/* the example's top-level archivedAt/archiveReason shape reads the same */
	fake_admin0("POST", "/_admin/settings", "{\"archive_shape\": \"top\"}");
	memset(&g, 0, sizeof(g));
	CHECK(e.a->drv->pull_all(e.a, take, &g, &pull) == RC_OK && g.n == 5);
	CHECK(find(&g, b) != NULL && str_eq(find(&g, b)->status, "hired"));
	CHECK(find(&g, cc) != NULL && str_eq(find(&g, cc)->status, "rejected"));
	CHECK(find(&g, d) != NULL && str_eq(find(&g, d)->status, "archived"));
	CHECK(find(&g, a) != NULL && str_eq(find(&g, a)->status, "active"));
	got_free(&g);

	/* get: a person by contact id; an unknown one is gone */
	CHECK(e.a->drv->get(e.a, a, &one) == RC_OK);
	CHECK(one != NULL && str_eq(one->stage_name, "Face to Face") && str_eq(one->id, a));
	candidate_free(one);
	free(one);
	one = NULL;
	CHECK(e.a->drv->get(e.a, "7f23e772-f2cb-4ebb-b33f-54b872999992", &one) == RC_RECORD);
	CHECK(one == NULL);

	/* a window holding only A's older active opportunity still delivers A whole,
	 * with the current opportunity chosen among ALL of A's */
	memset(&g, 0, sizeof(g));
	CHECK(e.a->drv->pull_window(e.a, now - 800000, now - 800000, take, &g, &pull) == RC_OK);
	CHECK(pull.complete && g.n == 1 && find(&g, a) != NULL);
	CHECK(g.n == 1 && str_eq(g.v[0].stage_name, "Face to Face"));
	got_free(&g);
	env_close(&e);
}

/* A server that answers with bare ids (no expansion): stage names come from
 * /stages, read once; an anonymised opportunity next to a live one does not
 * make the person anonymized. */
static void
test_bare_ids(void)
{
	struct env e;
	struct ats_pull pull;
	struct got g;
	char p[40], body[2048];

	reset_world();
	add_opp("{\"contact\": {\"name\": \"Bare Ids\"}}", p, NULL);
	snprintf(body, sizeof(body), "[{\"match\":{\"path\":\"^/v1/opportunities$\"},"
	    "\"times\":1,\"kind\":\"status\",\"status\":200,\"body\":{\"hasNext\":false,\"data\":["
	    "{\"id\":\"o-1\",\"contact\":\"%s\",\"name\":\"Bare Ids\",\"emails\":[\"b@example.com\"],"
	    "\"phones\":[],\"stage\":\"f709f65a-481f-4067-9a0d-934a79da9f8e\",\"createdAt\":1000,"
	    "\"updatedAt\":3000,\"archived\":null,\"isAnonymized\":true,\"applications\":[\"a-1\"]},"
	    "{\"id\":\"o-2\",\"contact\":\"%s\",\"name\":\"Bare Ids\",\"emails\":[],\"phones\":[],"
	    "\"stage\":\"00922a60-7c15-422b-b086-f62000824fd7\",\"createdAt\":1000,\"updatedAt\":2000,"
	    "\"archivedAt\":2000,\"archiveReason\":\"nope\",\"isAnonymized\":false}]}}]", p, p);
	fake_admin0("POST", "/_admin/faults", body);
	CHECK(env_open(&e, KEY, 1 << 20, NULL) == RC_OK);
	memset(&g, 0, sizeof(g));
	CHECK(e.a->drv->pull_all(e.a, take, &g, &pull) == RC_OK && pull.complete);
	CHECK(g.n == 1 && str_eq(g.v[0].id, p));
	CHECK(g.n == 1 && str_eq(g.v[0].stage_name, "Offer") && str_eq(g.v[0].app_id, "o-1"));
	CHECK(g.n == 1 && !g.v[0].anonymized && g.v[0].nemails == 1);
	CHECK(g.n == 1 && g.v[0].job == NULL && str_eq(g.v[0].status, "active"));
	got_free(&g);
	fake_admin0("POST", "/_admin/faults", "[]");
	env_close(&e);
}

static char mid_body[256];

static void
test_window(void)
{
	struct env e;
	struct ats_pull pull;
	struct got g;
	cJSON *gen;
	const cJSON *ids;
	char body[256], last[40], first[40];
	const char *extra[] = { "ATSRECON_ATS_PAGE_SIZE=50", NULL };
	const char *capped[] = { "ATSRECON_ATS_PAGE_SIZE=50", "ATSRECON_ATS_MAX_PAGES=2", NULL };
	int64_t t0, t1, req0;
	int k;

	reset_world();
	gen = fake_admin("POST", "/_admin/canon/generate", "{\"people\": 300, \"seed\": 11, "
	    "\"apps_per_person\": 2}");
	ids = json_get(gen, "ids");
	CHECK(cJSON_GetArraySize(ids) == 300);
	snprintf(first, sizeof(first), "%s", cJSON_IsString(cJSON_GetArrayItem(ids, 0)) ?
	    cJSON_GetArrayItem(ids, 0)->valuestring : "?");
	snprintf(last, sizeof(last), "%s", cJSON_IsString(cJSON_GetArrayItem(ids, 149)) ?
	    cJSON_GetArrayItem(ids, 149)->valuestring : "?");

	/* a full sweep: 600 opportunities, 300 people, the listing minimum of requests
	 * (each opportunity listed once, expanded, and grouped by contact on disk) */
	CHECK(env_open(&e, KEY, 1 << 20, extra) == RC_OK);
	req0 = http_get_stats(e.h)->requests;
	memset(&g, 0, sizeof(g));
	CHECK(e.a->drv->pull_all(e.a, take, &g, &pull) == RC_OK);
	CHECK(pull.complete && pull.pages == 12 && g.n == 300 && distinct(&g) == 300);
	CHECK(http_get_stats(e.h)->requests - req0 <= 12 + 2);	/* pages + postings */
	if (http_get_stats(e.h)->requests - req0 > 14)
		printf("# %ld requests for 300 people\n", http_get_stats(e.h)->requests - req0);
	CHECK(stat_of("max_contact_ids") == 0);	/* no contact_id batch */
	got_free(&g);

	/* 150 people change (each edit bumps both of their opportunities): 300
	 * opportunities in the closed window, 6 pages of 50 */
	t0 = fake_now() + 5;
	sleep_ms(10);
	for (k = 0; k < 150; k++) {
		snprintf(body, sizeof(body), "{\"id\": \"%s\", \"set\": {\"headline\": \"H%d\"}}",
		    cJSON_GetArrayItem(ids, k)->valuestring, k);
		cJSON_Delete(fake_admin("POST", "/_admin/edit-contact", body));
	}
	sleep_ms(300);	/* the fake stamps writes 1 ms apart: let its clock pass them */
	t1 = fake_now();
	sleep_ms(5);
	memset(&g, 0, sizeof(g));
	CHECK(e.a->drv->pull_window(e.a, t0, t1, take, &g, &pull) == RC_OK);
	CHECK(pull.complete && g.n == 150 && distinct(&g) == 150 && pull.pages == 6);
	got_free(&g);

	/* an edit lands mid-listing (before page 3): the person listed last moves
	 * out of the closed window and the one delivered first is edited again;
	 * nothing in the window is missed or doubled */
	snprintf(body, sizeof(body), "{\"page\": 3, \"do\": \"canon/edit\", \"body\": {\"id\": \"%s\", "
	    "\"first_name\": \"Moved\"}}", last);
	fake_admin0("POST", "/_admin/on-page", body);
	snprintf(mid_body, sizeof(mid_body), "{\"id\": \"%s\", \"set\": {\"name\": \"Edited Again\"}}",
	    first);
	memset(&g, 0, sizeof(g));
	CHECK(e.a->drv->pull_window(e.a, t0, t1, take, &g, &pull) == RC_OK);
	CHECK(pull.complete && g.n == 149 && distinct(&g) == 149);
	CHECK(find(&g, last) == NULL && find(&g, first) != NULL);
	if (g.n != 149)
		printf("# delivered %zu (%zu distinct), pages %d\n", g.n, distinct(&g), pull.pages);
	got_free(&g);
	/* the next window has it */
	memset(&g, 0, sizeof(g));
	CHECK(e.a->drv->pull_window(e.a, t1 + 1, fake_now(), take, &g, &pull) == RC_OK);
	CHECK(g.n == 1 && find(&g, last) != NULL && str_eq(find(&g, last)->first_name, "Moved"));
	got_free(&g);
	env_close(&e);

	/* the page cap: what was read is delivered, and the listing says incomplete */
	CHECK(env_open(&e, KEY, 1 << 20, capped) == RC_OK);
	memset(&g, 0, sizeof(g));
	CHECK(e.a->drv->pull_all(e.a, take, &g, &pull) == RC_OK);
	CHECK(!pull.complete && pull.pages == 2 && g.n == 50);
	got_free(&g);
	env_close(&e);
	cJSON_Delete(gen);
}

/* pull_deleted collects ids here */
struct ids {
	char v[8][40];
	int n;
};

static enum rc
take_id(void *arg, const char *id)
{
	struct ids *s = arg;

	if (s->n < 8)
		snprintf(s->v[s->n], sizeof(s->v[0]), "%s", id);
	s->n++;
	return RC_OK;
}

static int
has_id(const struct ids *s, const char *id)
{
	int i;

	for (i = 0; i < s->n && i < 8; i++)
		if (strcmp(s->v[i], id) == 0)
			return 1;
	return 0;
}

static void
test_deletes(void)
{
	struct env e;
	struct ats_pull pull;
	struct ids got;
	struct candidate *one = NULL;
	char x[40], y[40], z[40], early[40], x1[40], x2[40], y1[40], z1[40], e1[40], body[256];
	int64_t t0, t1;

	reset_world();
	add_opp("{\"contact\": {\"name\": \"Early Gone\"}}", early, e1);
	add_opp("{\"contact\": {\"name\": \"Xavier All\"}}", x, x1);
	snprintf(body, sizeof(body), "{\"contact\": \"%s\"}", x);
	add_opp(body, NULL, x2);
	add_opp("{\"contact\": {\"name\": \"Yolanda Half\"}}", y, y1);
	snprintf(body, sizeof(body), "{\"contact\": \"%s\"}", y);
	add_opp(body, NULL, NULL);
	add_opp("{\"contact\": {\"name\": \"Zed One\"}}", z, z1);
	snprintf(body, sizeof(body), "{\"id\": \"%s\"}", e1);
	fake_admin0("POST", "/_admin/delete-opportunity", body);	/* before the window */
	sleep_ms(20);
	t0 = fake_now();
	sleep_ms(5);
	snprintf(body, sizeof(body), "{\"id\": \"%s\"}", x1);
	fake_admin0("POST", "/_admin/delete-opportunity", body);
	snprintf(body, sizeof(body), "{\"id\": \"%s\"}", x2);
	fake_admin0("POST", "/_admin/delete-opportunity", body);
	snprintf(body, sizeof(body), "{\"id\": \"%s\"}", y1);
	fake_admin0("POST", "/_admin/delete-opportunity", body);
	snprintf(body, sizeof(body), "{\"id\": \"%s\"}", z1);
	fake_admin0("POST", "/_admin/delete-opportunity", body);
	sleep_ms(20);
	t1 = fake_now();

	CHECK(env_open(&e, KEY, 1 << 20, NULL) == RC_OK);
	memset(&got, 0, sizeof(got));
	CHECK(e.a->drv->pull_deleted(e.a, t0, t1, take_id, &got, &pull) == RC_OK);
	CHECK(pull.complete && got.n == 2 && pull.records == 2);
	CHECK(has_id(&got, x) && has_id(&got, z));	/* every opportunity gone */
	CHECK(!has_id(&got, y) && !has_id(&got, early));	/* one left / outside the window */
	/* get confirms: gone vs still there */
	CHECK(e.a->drv->get(e.a, x, &one) == RC_RECORD && one == NULL);
	CHECK(e.a->drv->get(e.a, y, &one) == RC_OK && one != NULL);
	candidate_free(one);
	free(one);
	one = NULL;

	/* a feed of bare {id, deletedAt, deletedBy}: nothing can be tied to a person,
	 * nothing is reported, and the listing still completes */
	fake_admin0("POST", "/_admin/settings", "{\"deleted_shape\": \"minimal\"}");
	memset(&got, 0, sizeof(got));
	CHECK(e.a->drv->pull_deleted(e.a, t0, t1, take_id, &got, &pull) == RC_OK);
	CHECK(pull.complete && got.n == 0);
	env_close(&e);
}

static void
test_anonymized(void)
{
	struct env e;
	struct ats_pull pull;
	struct got g;
	char p[40], o1[40], o2[40], body[256];

	reset_world();
	add_opp("{\"contact\": {\"name\": \"Gdpr Person\", \"emails\": [\"g@example.com\"], \"phones\": "
	    "[{\"type\": \"mobile\", \"value\": \"+14155550123\"}]}, \"company\": \"Initech\"}", p, o1);
	snprintf(body, sizeof(body), "{\"contact\": \"%s\"}", p);
	add_opp(body, NULL, o2);
	CHECK(env_open(&e, KEY, 1 << 20, NULL) == RC_OK);

	/* one of two anonymised: the person is not (Lever keeps their data) */
	snprintf(body, sizeof(body), "{\"id\": \"%s\"}", o1);
	fake_admin0("POST", "/_admin/anonymize-opportunity", body);
	memset(&g, 0, sizeof(g));
	CHECK(e.a->drv->pull_all(e.a, take, &g, &pull) == RC_OK && g.n == 1);
	CHECK(g.n == 1 && !g.v[0].anonymized && g.v[0].nemails == 1);
	got_free(&g);

	/* all anonymised: flagged, and nothing personal copied */
	snprintf(body, sizeof(body), "{\"id\": \"%s\"}", o2);
	fake_admin0("POST", "/_admin/anonymize-opportunity", body);
	memset(&g, 0, sizeof(g));
	CHECK(e.a->drv->pull_all(e.a, take, &g, &pull) == RC_OK && g.n == 1);
	CHECK(g.n == 1 && g.v[0].anonymized && g.v[0].nemails == 0 && g.v[0].nphones == 0);
	CHECK(g.n == 1 && g.v[0].first_name == NULL && g.v[0].full_name == NULL &&
	    g.v[0].company == NULL);
	CHECK(g.n == 1 && str_eq(g.v[0].id, p) && g.v[0].status != NULL);
	got_free(&g);
	env_close(&e);
}

static void
test_confidential_and_auth(void)
{
	struct env e;
	struct ats_pull pull;
	struct got g;
	char p1[40], p2[40], body[256], *text;
	const char *priv[] = { "ATSRECON_ATS_PRIVATE_CANDIDATES=true", NULL };
	int fd;

	reset_world();
	add_opp("{\"contact\": {\"name\": \"Only Secret\"}, \"confidential\": true}", p1, NULL);
	add_opp("{\"contact\": {\"name\": \"Half Secret\"}, \"stage\": \"Offer\"}", p2, NULL);
	snprintf(body, sizeof(body), "{\"contact\": \"%s\", \"confidential\": true, \"stage\": "
	    "\"Face to Face\"}", p2);
	add_opp(body, NULL, NULL);

	/* without ats.private_candidates: confidential opportunities are not asked for */
	CHECK(env_open(&e, KEY, 1 << 20, NULL) == RC_OK);
	memset(&g, 0, sizeof(g));
	CHECK(e.a->drv->pull_all(e.a, take, &g, &pull) == RC_OK);
	CHECK(g.n == 1 && find(&g, p2) != NULL && !find(&g, p2)->is_private);
	CHECK(find(&g, p2) != NULL && str_eq(find(&g, p2)->stage_name, "Offer"));
	got_free(&g);
	env_close(&e);

	/* with it: every opportunity, the people flagged */
	CHECK(env_open(&e, KEY, 1 << 20, priv) == RC_OK);
	memset(&g, 0, sizeof(g));
	CHECK(e.a->drv->pull_all(e.a, take, &g, &pull) == RC_OK);
	CHECK(g.n == 2 && find(&g, p1) != NULL && find(&g, p1)->is_private);
	CHECK(find(&g, p2) != NULL && find(&g, p2)->is_private);
	CHECK(find(&g, p2) != NULL && str_eq(find(&g, p2)->stage_name, "Face to Face"));
	got_free(&g);
	env_close(&e);

	/* a key without confidential access: RC_AUTH, and the log says what is missing */
	fake_admin0("POST", "/_admin/keys", "{\"key\": \"plain-key-123\", \"permissions\": "
	    "[\"opportunities:read:admin\", \"archive_reasons:read:admin\", \"postings:read:admin\"]}");
	fd = t_log_begin(LOG_DEBUG, LOG_FMT_JSON);
	CHECK(env_open(&e, "plain-key-123", 1 << 20, priv) == RC_OK);
	memset(&g, 0, sizeof(g));
	CHECK(e.a->drv->pull_all(e.a, take, &g, &pull) == RC_AUTH);
	CHECK(!pull.complete && g.n == 0);
	got_free(&g);
	env_close(&e);
	/* a key without archive_reasons: the status is degraded (named), the run
	 * goes on; an archived person's status and stage are unknown, an active
	 * one's known */
	fake_admin0("POST", "/_admin/keys", "{\"key\": \"narrow-key-123\", \"permissions\": "
	    "[\"opportunities:read:admin\"]}");
	add_opp("{\"contact\": {\"name\": \"Ex Gone\"}, \"reason\": \"Hired\", \"stage\": \"Offer\"}", p1,
	    NULL);
	CHECK(env_open(&e, "narrow-key-123", 1 << 20, NULL) == RC_OK);
	CHECK(e.a != NULL && e.a->degraded == ATS_FLD_STATUS);	/* the job: when first needed */
	memset(&g, 0, sizeof(g));
	CHECK(e.a != NULL && e.a->drv->pull_all(e.a, take, &g, &pull) == RC_OK && g.n == 2);
	CHECK(find(&g, p1) != NULL && find(&g, p1)->status == NULL && find(&g, p1)->stage_name == NULL &&
	    find(&g, p1)->unknown == (ATS_FLD_STATUS | ATS_FLD_STAGE | ATS_FLD_JOB));
	CHECK(find(&g, p2) != NULL && str_eq(find(&g, p2)->status, "active") &&
	    str_eq(find(&g, p2)->stage_name, "Offer") && find(&g, p2)->unknown == ATS_FLD_JOB);
	got_free(&g);
	env_close(&e);
	/* a bad key */
	CHECK(env_open(&e, "wrong-key-9876", 1 << 20, NULL) == RC_AUTH);
	env_close(&e);
	/* no key at all, or one that cannot be a Basic user name */
	CHECK(env_open(&e, "", 1 << 20, NULL) == RC_CONFIG);
	env_close(&e);
	CHECK(env_open(&e, "a:b-key", 1 << 20, NULL) == RC_CONFIG);
	env_close(&e);
	text = t_log_end(fd);
	CHECK_CONTAINS(text, "confidential:access:admin");
	CHECK_CONTAINS(text, "archive_reasons:read:admin");
	CHECK_CONTAINS(text, "401");
	CHECK(strstr(text, "plain-key-123") == NULL && strstr(text, "narrow-key-123") == NULL &&
	    strstr(text, "wrong-key-9876") == NULL);
	free(text);
}


/* ats.current_application: an active older opportunity and a rejected newer
 * one; a tie on the update time goes to the greatest id. */
static void
check_current(const char *policy, const char *a, const char *b, const char *t)
{
	struct env e;
	struct ats_pull pull;
	struct got g;
	struct candidate *one = NULL;
	char opt[64];
	const char *extra[] = { opt, NULL };
	int latest = strcmp(policy, "latest_updated") == 0;

	snprintf(opt, sizeof(opt), "ATSRECON_ATS_CURRENT_APPLICATION=%s", policy);
	CHECK(env_open(&e, KEY, 1 << 20, extra) == RC_OK);
	memset(&g, 0, sizeof(g));
	CHECK(e.a->drv->pull_all(e.a, take, &g, &pull) == RC_OK && g.n == 3);
	CHECK(find(&g, a) != NULL && str_eq(find(&g, a)->app_id, latest ? "opp-a-2" : "opp-a-1"));
	CHECK(find(&g, a) != NULL && str_eq(find(&g, a)->status, latest ? "rejected" : "active"));
	CHECK(find(&g, a) != NULL && str_eq(find(&g, a)->stage_name, latest ? "Offer" : "Face to Face"));
	CHECK(find(&g, a) != NULL && str_eq(find(&g, a)->job, latest ? "Data Scientist - BK" :
	    "DevOps Engineer"));
	CHECK(find(&g, a) != NULL && str_eq(find(&g, a)->source, latest ? "Indeed" : "Referral"));
	CHECK(find(&g, a) != NULL && find(&g, a)->applied_ms == (latest ? 2000 : 1000));
	/* both archived, same time: the greatest id */
	CHECK(find(&g, b) != NULL && str_eq(find(&g, b)->app_id, "opp-b-9"));
	/* an active and an archived one at the same time */
	CHECK(find(&g, t) != NULL && str_eq(find(&g, t)->app_id, latest ? "opp-t-2" : "opp-t-1"));
	got_free(&g);
	CHECK(e.a->drv->get(e.a, a, &one) == RC_OK);
	CHECK(one != NULL && str_eq(one->app_id, latest ? "opp-a-2" : "opp-a-1"));
	if (one != NULL) {
		candidate_free(one);
		free(one);
	}
	env_close(&e);
}

static void
test_current_application(void)
{
	char a[40], b[40], t[40], body[512];

	reset_world();
	add_opp("{\"id\": \"opp-a-1\", \"contact\": {\"name\": \"Ada Two\"}, \"stage\": \"Face to Face\", "
	    "\"sources\": [\"Referral\"], \"created_at\": 1000, \"updated_at\": 5000}", a, NULL);
	snprintf(body, sizeof(body), "{\"id\": \"opp-a-2\", \"contact\": \"%s\", \"stage\": \"Offer\", "
	    "\"reason\": \"Underqualified\", \"posting\": \"Data Scientist - BK\", \"sources\": [\"Indeed\"], "
	    "\"created_at\": 2000, \"updated_at\": 9000}", a);
	add_opp(body, NULL, NULL);
	add_opp("{\"id\": \"opp-b-9\", \"contact\": {\"name\": \"Ben Tie\"}, \"reason\": \"Withdrew\", "
	    "\"created_at\": 1000, \"updated_at\": 7000}", b, NULL);
	snprintf(body, sizeof(body), "{\"id\": \"opp-b-10\", \"contact\": \"%s\", \"reason\": \"Withdrew\", "
	    "\"created_at\": 1000, \"updated_at\": 7000}", b);	/* "opp-b-9" > "opp-b-10" as strings */
	add_opp(body, NULL, NULL);
	add_opp("{\"id\": \"opp-t-1\", \"contact\": {\"name\": \"Cy Tie\"}, \"created_at\": 1000, "
	    "\"updated_at\": 7000}", t, NULL);
	snprintf(body, sizeof(body), "{\"id\": \"opp-t-2\", \"contact\": \"%s\", \"reason\": \"Withdrew\", "
	    "\"created_at\": 1000, \"updated_at\": 7000}", t);
	add_opp(body, NULL, NULL);
	check_current("active_first", a, b, t);
	check_current("latest_updated", a, b, t);
}

/* Reference lists only when used; a refused one degrades its field. */
static void
test_lookups(void)
{
	struct env e;
	struct ats_pull pull;
	struct got g;
	char a[40], body[512], *text;
	int i, fd;

	reset_world();
	add_opp("{\"contact\": {\"name\": \"Ada Job\"}, \"stage\": \"Offer\", \"posting\": "
	    "\"Data Scientist - BK\", \"reason\": \"Hired\"}", a, NULL);
	for (i = 0; i < 30; i++) {
		snprintf(body, sizeof(body), "{\"contact\": {\"name\": \"P%d\"}, \"posting\": "
		    "\"Data Scientist - BK\"}", i);
		add_opp(body, NULL, NULL);
	}

	/* (a) no rule uses job, status or stage: no /postings, no /archive_reasons */
	env_fields = "{\"fields\": [{\"from\": \"source\", \"to\": \"custom:Source\"}]}";
	fake_admin0("POST", "/_admin/stats/reset", "{}");
	CHECK(env_open(&e, KEY, 1 << 20, NULL) == RC_OK);
	CHECK(e.a->used == ATS_FLD_SOURCE);
	memset(&g, 0, sizeof(g));
	CHECK(e.a->drv->pull_all(e.a, take, &g, &pull) == RC_OK && g.n == 31);
	CHECK(find(&g, a) != NULL && find(&g, a)->job == NULL && find(&g, a)->unknown == 0);
	got_free(&g);
	CHECK(fake_requests_to("/v1/postings") == 0);
	CHECK(fake_requests_to("/v1/archive_reasons") == 0);
	CHECK(fake_requests_to("/v1/stages") == 0);
	env_close(&e);

	/* the same with job and stage tags: each list read once */
	env_fields = FIELDS_ALL;
	fake_admin0("POST", "/_admin/stats/reset", "{}");
	CHECK(env_open(&e, KEY, 1 << 20, NULL) == RC_OK);
	memset(&g, 0, sizeof(g));
	CHECK(e.a->drv->pull_all(e.a, take, &g, &pull) == RC_OK && g.n == 31);
	CHECK(find(&g, a) != NULL && str_eq(find(&g, a)->job, "Data Scientist - BK") &&
	    str_eq(find(&g, a)->status, "hired"));
	got_free(&g);
	CHECK(fake_requests_to("/v1/postings") == 1);
	CHECK(fake_requests_to("/v1/archive_reasons") == 1);
	env_close(&e);

	/* (b) job mapped, the key lacks postings:read:admin: the pull completes,
	 * the job is unknown for everyone, one warning naming the permission */
	fake_admin0("POST", "/_admin/keys", "{\"key\": \"no-postings-key\", \"permissions\": "
	    "[\"opportunities:read:admin\", \"archive_reasons:read:admin\"]}");
	fd = t_log_begin(LOG_DEBUG, LOG_FMT_JSON);
	CHECK(env_open(&e, "no-postings-key", 1 << 20, NULL) == RC_OK);
	memset(&g, 0, sizeof(g));
	CHECK(e.a->drv->pull_all(e.a, take, &g, &pull) == RC_OK && pull.complete && g.n == 31);
	CHECK(find(&g, a) != NULL && find(&g, a)->job == NULL && find(&g, a)->unknown == ATS_FLD_JOB);
	CHECK(find(&g, a) != NULL && str_eq(find(&g, a)->status, "hired"));
	CHECK(e.a->degraded == ATS_FLD_JOB);
	CHECK(strstr(e.a->degraded_note, "postings:read:admin") != NULL);
	got_free(&g);
	env_close(&e);
	text = t_log_end(fd);
	CHECK(t_count(text, "postings:read:admin") == 1);
	CHECK(t_count(text, "\"level\":\"warn\"") == 1 || t_count(text, "\"level\": \"warn\"") == 1);
	if (t_count(text, "postings:read:admin") != 1)
		printf("# log: %.1000s\n", text);
	free(text);
}

static void
test_hostile(void)
{
	struct env e;
	struct ats_pull pull;
	struct got g;
	cJSON *gen;
	const char *small[] = { "ATSRECON_ATS_PAGE_SIZE=50", NULL };

	reset_world();
	gen = fake_admin("POST", "/_admin/generate", "{\"people\": 120}");
	cJSON_Delete(gen);
	CHECK(env_open(&e, KEY, 1 << 20, small) == RC_OK);

	/* a 5 MB body against a 1 MB cap: an error, bounded */
	fake_admin0("POST", "/_admin/faults", "[{\"match\":{\"path\":\"^/v1/opportunities$\"},"
	    "\"kind\":\"oversize\",\"bytes\":5000000}]");
	memset(&g, 0, sizeof(g));
	CHECK(e.a->drv->pull_all(e.a, take, &g, &pull) == RC_REMOTE);
	CHECK(!pull.complete && g.n == 0);
	got_free(&g);

	/* truncated bodies, every time: retried, then an error */
	fake_admin0("POST", "/_admin/faults", "[{\"match\":{\"path\":\"^/v1/opportunities$\"},"
	    "\"kind\":\"truncate\"}]");
	memset(&g, 0, sizeof(g));
	CHECK(e.a->drv->pull_all(e.a, take, &g, &pull) == RC_REMOTE);
	CHECK(!pull.complete && g.n == 0);
	got_free(&g);

	/* malformed JSON once on page 2: read again, the pull completes (issue 16) */
	fake_admin0("POST", "/_admin/faults", "[{\"match\":{\"path\":\"^/v1/opportunities$\"},"
	    "\"kind\":\"malformed\",\"after\":2,\"times\":1}]");
	memset(&g, 0, sizeof(g));
	CHECK(e.a->drv->pull_all(e.a, take, &g, &pull) == RC_OK && pull.complete);
	got_free(&g);
	/* malformed JSON on every read of page 2 (three, with the retries): page 1's
	 * 50 people are delivered (read whole by contact id), and the pull says it
	 * is incomplete */
	fake_admin0("POST", "/_admin/faults", "[{\"match\":{\"path\":\"^/v1/opportunities$\"},"
	    "\"kind\":\"malformed\",\"after\":1,\"times\":3}]");
	memset(&g, 0, sizeof(g));
	CHECK(e.a->drv->pull_all(e.a, take, &g, &pull) == RC_REMOTE);
	CHECK(!pull.complete && g.n == 50);
	got_free(&g);

	/* garbage (not JSON) and a page that says hasNext without a next token */
	fake_admin0("POST", "/_admin/faults", "[{\"match\":{\"path\":\"^/v1/opportunities$\"},"
	    "\"kind\":\"status\",\"status\":200,\"body\":\"<html>oops</html>\"}]");
	memset(&g, 0, sizeof(g));
	CHECK(e.a->drv->pull_all(e.a, take, &g, &pull) == RC_REMOTE && !pull.complete);
	got_free(&g);
	fake_admin0("POST", "/_admin/faults", "[{\"match\":{\"path\":\"^/v1/opportunities$\"},"
	    "\"kind\":\"status\",\"status\":200,\"body\":{\"data\":[],\"hasNext\":true},\"times\":1}]");
	memset(&g, 0, sizeof(g));
	CHECK(e.a->drv->pull_all(e.a, take, &g, &pull) == RC_REMOTE && !pull.complete);
	got_free(&g);
	fake_admin0("POST", "/_admin/faults", "[{\"match\":{\"path\":\"^/v1/opportunities$\"},"
	    "\"kind\":\"status\",\"status\":200,\"body\":{\"data\":{\"id\":1},\"hasNext\":false},"
	    "\"times\":1}]");
	memset(&g, 0, sizeof(g));
	CHECK(e.a->drv->pull_all(e.a, take, &g, &pull) == RC_REMOTE && !pull.complete);
	got_free(&g);

	/* a 503 and a reset: retried, then on */
	fake_admin0("POST", "/_admin/faults", "[{\"match\":{\"path\":\"^/v1/opportunities$\"},"
	    "\"kind\":\"status\",\"status\":503,\"body\":{\"code\":\"ServiceUnavailable\","
	    "\"message\":\"maintenance\"},\"times\":1},{\"match\":{\"path\":\"^/v1/opportunities$\"},"
	    "\"kind\":\"reset\",\"after\":2,\"times\":1}]");
	memset(&g, 0, sizeof(g));
	CHECK(e.a->drv->pull_all(e.a, take, &g, &pull) == RC_OK && pull.complete && g.n == 120);
	got_free(&g);
	fake_admin0("POST", "/_admin/faults", "[]");
	env_close(&e);
}

static void
test_rate(void)
{
	struct env e;
	struct ats_pull pull;
	struct got g;
	struct pace_info pi;
	cJSON *gen;
	int64_t t0, took;
	const char *tiny[] = { "ATSRECON_ATS_PAGE_SIZE=1", NULL };
	const char *five[] = { "ATSRECON_ATS_PAGE_SIZE=5", "ATSRECON_HTTP_MAX_RETRIES=4", NULL };

	/* Lever's own limit (10/s, bursts to 20): the client paces under it and
	 * never sees a 429 */
	reset_world();
	gen = fake_admin("POST", "/_admin/generate", "{\"people\": 40}");
	cJSON_Delete(gen);
	fake_admin0("POST", "/_admin/limits", "{\"rps\": 10, \"burst\": 20}");
	CHECK(env_open(&e, KEY, 1 << 20, tiny) == RC_OK);
	fake_admin0("POST", "/_admin/stats/reset", "{}");
	t0 = mono_ms();
	memset(&g, 0, sizeof(g));
	CHECK(e.a->drv->pull_all(e.a, take, &g, &pull) == RC_OK && g.n == 40);
	took = mono_ms() - t0;
	CHECK(stat_of("429") == 0);
	CHECK(stat_of("requests") >= 40);
	CHECK(took >= 3500);	/* 42 requests at 9.5/s after one token; unpaced: < 1 s and 429s */
	printf("# paced: %lld requests in %lld ms\n", (long long)stat_of("requests"), (long long)took);
	got_free(&g);
	env_close(&e);

	/* a 429 storm (a server far slower than documented, Retry-After sent):
	 * retried, the bucket slows down, everything arrives */
	fake_admin0("POST", "/_admin/limits", "{\"rps\": 3, \"burst\": 3}");
	fake_admin0("POST", "/_admin/settings", "{\"retry_after\": \"seconds\"}");
	fake_admin0("POST", "/_admin/reset-counters", "{}");
	CHECK(env_open(&e, KEY, 1 << 20, five) == RC_OK);
	fake_admin0("POST", "/_admin/stats/reset", "{}");
	memset(&g, 0, sizeof(g));
	CHECK(e.a->drv->pull_all(e.a, take, &g, &pull) == RC_OK && pull.complete && g.n == 40);
	CHECK(stat_of("429") > 0);
	pace_get(e.a->pace, &pi);
	CHECK(pi.rate < pi.ceiling);
	printf("# storm: %lld 429s, rate now %.2f of %.2f\n", (long long)stat_of("429"), pi.rate,
	    pi.ceiling);
	got_free(&g);
	env_close(&e);
}

static void
mid_edit(void)
{
	fake_admin0("POST", "/_admin/edit-contact", mid_body);
}

/* No API key in any log line or URL, with every code path at debug level. */
static void
test_no_key_in_logs(void)
{
	struct env e;
	struct ats_pull pull;
	struct got g;
	struct ids ids;
	struct candidate *one = NULL;
	cJSON *gen, *reqs;
	char *text, *rq;
	const char *small[] = { "ATSRECON_ATS_PAGE_SIZE=20", NULL };
	int fd;

	reset_world();
	gen = fake_admin("POST", "/_admin/canon/generate", "{\"people\": 30, \"seed\": 3}");
	snprintf(mid_body, sizeof(mid_body), "{\"id\": \"%s\", \"set\": {\"name\": \"X Y\"}}",
	    cJSON_GetArrayItem(json_get(gen, "ids"), 0)->valuestring);
	fake_admin0("POST", "/_admin/reset-log", "{}");
	fd = t_log_begin(LOG_DEBUG, LOG_FMT_JSON);
	CHECK(env_open(&e, KEY, 1 << 20, small) == RC_OK);
	memset(&g, 0, sizeof(g));
	g.hook = mid_edit;
	CHECK(e.a->drv->pull_all(e.a, take, &g, &pull) == RC_OK && g.n == 30);
	got_free(&g);
	memset(&g, 0, sizeof(g));
	CHECK(e.a->drv->pull_window(e.a, 0, now_ms() + 60000, take, &g, &pull) == RC_OK && g.n == 30);
	got_free(&g);
	CHECK(e.a->drv->get(e.a, cJSON_GetArrayItem(json_get(gen, "ids"), 1)->valuestring, &one) ==
	    RC_OK);
	candidate_free(one);
	free(one);
	memset(&ids, 0, sizeof(ids));
	CHECK(e.a->drv->pull_deleted(e.a, 0, now_ms(), take_id, &ids, &pull) == RC_OK);
	/* errors log too: a 403, retries after 503s */
	fake_admin0("POST", "/_admin/faults", "[{\"match\":{\"path\":\"^/v1/opportunities$\"},"
	    "\"kind\":\"status\",\"status\":503,\"times\":2}]");
	memset(&g, 0, sizeof(g));
	CHECK(e.a->drv->pull_all(e.a, take, &g, &pull) == RC_OK);
	got_free(&g);
	fake_admin0("POST", "/_admin/faults", "[{\"match\":{\"path\":\"^/v1/opportunities$\"},"
	    "\"kind\":\"status\",\"status\":403,\"body\":{\"code\":\"ForbiddenError\",\"message\":"
	    "\"no\"}}]");
	memset(&g, 0, sizeof(g));
	CHECK(e.a->drv->pull_all(e.a, take, &g, &pull) == RC_AUTH);
	got_free(&g);
	fake_admin0("POST", "/_admin/faults", "[]");
	env_close(&e);
	text = t_log_end(fd);
	CHECK(text != NULL && strlen(text) > 1000);	/* it did log, at debug level */
	CHECK(text != NULL && strstr(text, KEY) == NULL);
	CHECK_CONTAINS(text, "opportunities:read:admin");
	free(text);
	/* nor in any URL the fake saw (the Authorization header is its only place) */
	reqs = fake_admin("GET", "/_admin/requests", NULL);
	rq = json_print(reqs);
	CHECK(rq != NULL && strlen(rq) > 1000 && strstr(rq, KEY) == NULL);
	CHECK(rq != NULL && strstr(rq, "\"auth_scheme\":\"Basic\"") != NULL);
	free(rq);
	cJSON_Delete(reqs);
	cJSON_Delete(gen);
}

int
main(void)
{
	json_init();
	log_init(LOG_ERROR, LOG_FMT_TEXT);
	if (!fake_connect("ATSRECON_TEST_LEVER", &root, &ca))
		return t_done("test_lever");
	TIMED(test_people);
	TIMED(test_bare_ids);
	TIMED(test_window);
	TIMED(test_deletes);
	TIMED(test_anonymized);
	TIMED(test_confidential_and_auth);
	TIMED(test_hostile);
	TIMED(test_rate);
	TIMED(test_no_key_in_logs);
	TIMED(test_current_application);
	TIMED(test_lookups);
	http_free(fake_http);
	return t_done("test_lever");
}
