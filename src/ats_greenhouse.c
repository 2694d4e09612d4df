/*
 * ats_greenhouse.c — Greenhouse Harvest v3 (research/ats-apis.md §1.1, §9).
 *
 * Auth: OAuth2 client credentials, minted each run: POST <auth_url>/token with
 * HTTP Basic client id/secret and grant_type=client_credentials&sub=<user id>;
 * the answer's expires_at is absolute. A 401 mints once more.
 *
 * Lists: /v3/candidates and /v3/applications, bare JSON arrays, id-descending,
 * first page with per_page and the two-sided window updated_at=gte|A|lte|B
 * (never created_at too), later pages by the Link rel="next" URL EXACTLY (no
 * parameter added; the URL must stay on the API's own host, or the token would
 * leave it). A 422 for an expired cursor restarts that listing once.
 *
 * Stage and status live on applications; the current one is picked by
 * ats_pick_application (ats.current_application). A full sweep lists
 * /v3/applications whole into a temporary file and joins it with the
 * candidate listing (the spill, below: the listing minimum of calls, memory
 * flat). A window, and whatever the join cannot vouch for, fetches the
 * applications of each page of candidates by id (candidate_ids, 50 per
 * call). Applications
 * change without touching their candidate, so a window also lists the
 * applications changed in it and fetches those candidates that were not
 * already delivered (their updated_at is outside the window). Job, source
 * and referrer names are resolved once per run from /v3/jobs, /v3/sources,
 * /v3/referrers, each only when a fields rule uses its field (a->used); a
 * 403/404 on one degrades that field (ats_degrade: unknown for every
 * candidate, warned once, named by doctor).
 *
 * Anonymised candidates (first name "Anonymized", no emails or phones) are
 * flagged, never delivered as an ordinary edit. Private candidates are
 * delivered with is_private set; whether they flow to Keap is the engine's
 * policy (ats.private_candidates).
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ats.h"
#include "config.h"
#include "http.h"
#include "jtree.h"
#include "log.h"
#include "norm.h"
#include "pace.h"
#include "spill.h"

#define GH_IDS_PER_CALL 50	/* *_ids filters take at most 50 ids */
#define GH_RPS 10.0		/* ceiling before the server's own headers speak */

struct gh {
	char *base;		/* https://harvest.greenhouse.io/v3 */
	char *token_url;	/* https://auth.greenhouse.io/token */
	char *origin;		/* scheme://host[:port] of base: cursors must stay on it */
	const char *client_id, *client_secret, *user_id, *region;
	int per_page, max_pages;
	char *token;
	int minted_after_401;
	struct ats_idmap jobs, sources, referrers;
	int maps_loaded;
	int optional;		/* a lookup is being read: a 403 is the caller's to report */
	long last_status;	/* the HTTP status of the last GET */
};

/* ------------------------------------------------------------ plumbing */

static char *
origin_of(const char *url)
{
	const char *p = strstr(url, "://");
	size_t n;

	if (p == NULL)
		return xstrdup(url);
	p += 3;
	n = (size_t)(p - url) + strcspn(p, "/?#");
	return xstrndup(url, n);
}

static char *
id_str(const cJSON *o, const char *key)
{
	char num[32];
	const char *s = json_idstr(json_get(o, key), num, sizeof(num));

	return s != NULL && *s != '\0' ? xstrdup(s) : NULL;
}

static char *
str_or_null(const cJSON *o, const char *key)
{
	const char *s = json_str(o, key);

	return s != NULL ? xstrdup(s) : NULL;
}

static int64_t
time_ms(const cJSON *o, const char *key)
{
	int64_t ms = 0;
	int date_only;

	if (norm_time(json_str(o, key), NORM_DATE_ISO, &ms, &date_only) != NORM_OK)
		return 0;
	return ms;
}

/* The URL of the Link rel="next", or NULL. Refused (NULL, *bad set) when it
 * leaves the API's origin. */
static char *
link_next(const char *link, const char *origin, int *bad)
{
	const char *p = link;

	*bad = 0;
	while (p != NULL && *p != '\0') {
		const char *lt = strchr(p, '<'), *gt, *end;
		if (lt == NULL)
			return NULL;
		gt = strchr(lt, '>');
		if (gt == NULL)
			return NULL;
		end = strchr(gt, ',');
		if (end == NULL)
			end = gt + strlen(gt);
		{
			char *params = xstrndup(gt + 1, (size_t)(end - gt - 1));
			int next = strstr(params, "rel=\"next\"") != NULL || strstr(params, "rel=next") != NULL;
			free(params);
			if (next) {
				char *url = xstrndup(lt + 1, (size_t)(gt - lt - 1));
				size_t ol = strlen(origin);
				if (strncmp(url, origin, ol) != 0 || (url[ol] != '/' && url[ol] != '?') ||
				    !url_allowed(url)) {
					free(url);
					*bad = 1;
					return NULL;
				}
				return url;
			}
		}
		p = *end ? end + 1 : end;
	}
	return NULL;
}

static struct http_policy
policy(struct ats *a)
{
	struct http_policy pol;

	memset(&pol, 0, sizeof(pol));
	pol.concurrency = 1;
	pol.max_retries = (int)cfg_int(a->cfg, OPT_HTTP_MAX_RETRIES);
	pol.deadline_ms = a->deadline_ms;
	pol.pacer.before = pace_before;
	pol.pacer.after = pace_after;
	pol.pacer.arg = a->pace;
	return pol;
}

static enum rc
mint(struct ats *a)
{
	struct gh *g = a->priv;
	struct http_job job;
	struct http_policy pol = policy(a);
	struct buf form = BUF_INIT, err = BUF_INIT;
	cJSON *j = NULL;
	const char *tok;
	enum rc rc;

	buf_adds(&form, "grant_type=client_credentials&sub=");
	http_urlencode(&form, g->user_id);
	memset(&job, 0, sizeof(job));
	job.req.method = "POST";
	job.req.url = g->token_url;
	job.req.credential = 1;
	job.req.body = form.p;
	job.req.body_len = form.len;
	job.req.content_type = "application/x-www-form-urlencoded";
	job.req.basic_user = g->client_id;
	job.req.basic_pass = g->client_secret;
	job.idempotent = 1;	/* minting a client-credentials token twice is harmless */
	job.body_ok = http_body_json;
	rc = http_call(a->http, &job, &pol);
	if (rc != RC_OK) {
		api_fail(&a->err, "greenhouse", job.resp.status, NULL,
		    "token: %s: %s", http_fail_str(job.resp.fail), job.resp.err);
		goto out;
	}
	j = json_parse(job.resp.body.p, job.resp.body.len, &err);
	if (job.resp.status == 400 || job.resp.status == 401) {
		const char *e = json_str(j, "error");
		struct buf safe = BUF_INIT;
		text_escape(&safe, e ? e : "?", strlen(e ? e : "?"));
		api_fail(&a->err, "greenhouse", job.resp.status, NULL,
		    "token: HTTP %ld (%s): check ats.client_id, ats.client_secret "
		    "and ats.user_id", job.resp.status, safe.p);
		buf_free(&safe);
		rc = RC_AUTH;
		goto out;
	}
	tok = json_str(j, "access_token");
	if (job.resp.status != 200 || tok == NULL || *tok == '\0') {
		api_fail(&a->err, "greenhouse", job.resp.status, NULL,
		    "token: HTTP %ld without an access_token", job.resp.status);
		rc = job.resp.status >= 500 ? RC_REMOTE : RC_AUTH;
		goto out;
	}
	log_add_token(tok);
	free(g->token);
	g->token = xstrdup(tok);
	log_debug("greenhouse", "token minted (expires %s)", json_str(j, "expires_at") ?
	    json_str(j, "expires_at") : "?");
	rc = RC_OK;
out:
	if (job.resp.body.p != NULL)
		memset(job.resp.body.p, 0, job.resp.body.len);
	http_resp_free(&job.resp);
	buf_free(&form);
	buf_free(&err);
	cJSON_Delete(j);
	return rc;
}

/* What a 403 on this path needs. */
static const char *
scope_for(const char *url)
{
	static const char *const scopes[][2] = {
		{ "/candidates", "harvest:candidates:list" },
		{ "/applications", "harvest:applications:list" },
		{ "/jobs", "harvest:jobs:list" },
		{ "/sources", "harvest:sources:list" },
		{ "/referrers", "harvest:referrers:list" },
	};
	size_t i;

	for (i = 0; i < ARRAY_LEN(scopes); i++)
		if (strstr(url, scopes[i][0]) != NULL)
			return scopes[i][1];
	return "the endpoint's harvest:* scope";
}

enum { GH_EXPIRED_CURSOR = -2 };

/*
 * GET one page. On RC_OK: *out is the parsed body (an array for lists) and
 * *next the next page's URL or NULL. *status receives the HTTP status (404
 * and 410, gone, arrive as RC_RECORD; any other answer but 200 is RC_REMOTE,
 * logged). An expired cursor is RC_RECORD with *status 422 and *expired set.
 */
static enum rc
gh_get(struct ats *a, const char *url, cJSON **out, char **next, long *status, int *expired)
{
	struct gh *g = a->priv;
	struct http_policy pol = policy(a);
	struct http_job job;
	struct buf err = BUF_INIT;
	enum rc rc;
	int attempt, bad = 0;

	*out = NULL;
	if (next != NULL)
		*next = NULL;
	if (expired != NULL)
		*expired = 0;
	for (attempt = 0; attempt < 2; attempt++) {
		memset(&job, 0, sizeof(job));
		job.req.method = "GET";
		job.req.url = url;
		job.req.bearer = g->token;
		job.idempotent = 1;
		job.body_ok = http_body_json;	/* a cut or malformed page is read again */
		rc = http_call(a->http, &job, &pol);
		if (status != NULL)
			*status = job.resp.status;
		g->last_status = job.resp.status;
		if (rc == RC_OK && job.resp.status == 401 && attempt == 0) {
			http_resp_free(&job.resp);
			if ((rc = mint(a)) != RC_OK)
				return rc;
			continue;
		}
		break;
	}
	if (rc != RC_OK) {
		api_fail(&a->err, "greenhouse", job.resp.status, NULL,
		    "GET %s: %s: %s", url, http_fail_str(job.resp.fail), job.resp.err);
		goto out;
	}
	switch (job.resp.status) {
	case 200:
		break;
	case 401:
		api_fail(&a->err, "greenhouse", job.resp.status, NULL,
		    "Greenhouse refused a fresh token (401); check the API "
		    "credentials' user (ats.user_id)");
		rc = RC_AUTH;
		goto out;
	case 403:
		if (!g->optional)
			api_fail(&a->err, "greenhouse", job.resp.status, NULL,
			    "GET %s: 403: the credentials lack %s (and list endpoints "
			    "need a Site Admin user)", url, scope_for(url));
		rc = RC_AUTH;
		goto out;
	case 404:
	case 410:
		rc = RC_RECORD;	/* gone: the only answers that say so */
		goto out;
	default: {
		/* anything else (400, 405, 409, 422, a 3xx, a 5xx left after retries)
		 * is an error, never "deleted": logged with an escaped excerpt */
		struct buf safe = BUF_INIT;
		text_escape(&safe, job.resp.body.p ? job.resp.body.p : "",
		    job.resp.body.len < 300 ? job.resp.body.len : 300);
		if (job.resp.status == 422 && expired != NULL && safe.p != NULL &&
		    strstr(safe.p, "xpired") != NULL) {
			*expired = 1;
			rc = RC_RECORD;
		} else {
			api_fail(&a->err, "greenhouse", job.resp.status, NULL,
			    "GET %s: HTTP %ld %s", url, job.resp.status,
			    safe.p ? safe.p : "");
			rc = RC_REMOTE;
		}
		buf_free(&safe);
		goto out;
	}
	}
	*out = json_parse(job.resp.body.p, job.resp.body.len, &err);
	if (*out == NULL || !(cJSON_IsArray(*out) || cJSON_IsObject(*out))) {
		api_fail(&a->err, "greenhouse", job.resp.status, NULL,
		    "GET %s: unreadable answer: %s", url, err.len ? err.p : "not JSON");
		cJSON_Delete(*out);
		*out = NULL;
		rc = RC_REMOTE;
		goto out;
	}
	if (next != NULL && http_header(&job.resp, "link") != NULL) {
		*next = link_next(http_header(&job.resp, "link"), g->origin, &bad);
		if (bad) {
			api_fail(&a->err, "greenhouse", job.resp.status, NULL,
			    "GET %s: the next-page link leaves %s; refusing to follow it",
			    url, g->origin);
			cJSON_Delete(*out);
			*out = NULL;
			rc = RC_REMOTE;
		}
	}
out:
	http_resp_free(&job.resp);
	buf_free(&err);
	return rc;
}

/* Calls fn for each page of a listing starting at first_url. An expired
 * cursor restarts the listing once (calling restart(arg) first, when given). */
typedef enum rc (*page_fn)(struct ats *, const cJSON *items, void *arg);

static enum rc
list_pages(struct ats *a, const char *first_url, page_fn fn, void *arg, void (*restart)(void *),
    struct ats_pull *pull)
{
	struct gh *g = a->priv;
	char *url = xstrdup(first_url), *next = NULL;
	int pages = 0, restarts = 0, expired;
	enum rc rc = RC_OK;

	if (pull != NULL)
		pull->complete = 0;
	while (pages < g->max_pages) {
		cJSON *items = NULL;

		rc = gh_get(a, url, &items, &next, NULL, &expired);
		if (rc == RC_RECORD && expired && restarts == 0) {
			log_warn("greenhouse", "the page cursor expired; starting this listing again");
			restarts++;
			if (pull != NULL)
				pull->restarted = 1;
			if (restart != NULL)
				restart(arg);
			free(url);
			url = xstrdup(first_url);
			continue;
		}
		if (rc == RC_RECORD)
			rc = RC_REMOTE;	/* a listing that fails mid-way is not a record error */
		if (rc != RC_OK)
			break;
		if (!cJSON_IsArray(items)) {
			api_fail(&a->err, "greenhouse", 0, NULL, "a list page is not a JSON array");
			cJSON_Delete(items);
			free(next);
			rc = RC_REMOTE;
			break;
		}
		pages++;
		if (pull != NULL)
			pull->pages++;
		rc = fn(a, items, arg);
		cJSON_Delete(items);
		if (rc != RC_OK) {
			free(next);
			break;
		}
		free(url);
		url = next;
		next = NULL;
		if (url == NULL) {
			if (pull != NULL)
				pull->complete = 1;
			break;
		}
	}
	if (rc == RC_OK && url != NULL)
		log_warn("greenhouse", "listing stopped at the page cap (%d pages)", g->max_pages);
	free(url);
	return rc;
}

/* --------------------------------------------------------- reference maps */

static enum rc
collect_names(struct ats *a, const cJSON *items, void *arg)
{
	struct ats_idmap *m = arg;
	const cJSON *it;

	(void)a;
	cJSON_ArrayForEach(it, items) {
		char *id = id_str(it, "id");
		const char *name = json_str(it, "name");
		if (id == NULL || name == NULL) {
			free(id);
			continue;
		}
		ats_idmap_add(m, id, name, 0);
		free(id);
	}
	return RC_OK;
}

/*
 * The name tables the mapping needs (a->used): a table whose field no rule
 * uses is never read. A 403 or 404 on one (a scope not granted, an endpoint
 * missing) degrades its field for this run: warned once, the field left
 * unknown (never written), and doctor names it. Anything else fails the pull.
 */
static enum rc
load_maps(struct ats *a)
{
	struct gh *g = a->priv;
	static const char *const paths[] = { "jobs", "sources", "referrers" };
	static const unsigned bits[] = { ATS_FLD_JOB, ATS_FLD_SOURCE, ATS_FLD_REFERRER };
	struct ats_idmap *maps[] = { &g->jobs, &g->sources, &g->referrers };
	size_t i;
	enum rc rc;

	if (g->maps_loaded)
		return RC_OK;
	for (i = 0; i < ARRAY_LEN(paths); i++) {
		char *url;
		if (!(a->used & bits[i]) || (a->degraded & bits[i]))
			continue;
		url = xasprintf("%s/%s?per_page=500", g->base, paths[i]);
		g->optional = 1;
		g->last_status = 0;
		rc = list_pages(a, url, collect_names, maps[i], NULL, NULL);
		g->optional = 0;
		if (rc != RC_OK && (g->last_status == 403 || g->last_status == 404)) {
			char what[64], why[160];
			ats_idmap_free(maps[i]);
			snprintf(what, sizeof(what), "GET /v3/%s", paths[i]);
			if (g->last_status == 403)
				snprintf(why, sizeof(why), "HTTP 403: the credentials lack %s",
				    scope_for(url));
			else
				snprintf(why, sizeof(why), "HTTP 404: no such endpoint");
			ats_degrade(a, bits[i], what, why);
			rc = RC_OK;
		}
		free(url);
		if (rc != RC_OK)
			return rc;
	}
	g->maps_loaded = 1;
	log_debug("greenhouse", "%zu jobs, %zu sources, %zu referrers", g->jobs.n, g->sources.n,
	    g->referrers.n);
	return RC_OK;
}

/* ------------------------------------------------------------ candidates */

/* The candidate fields of one /v3/candidates record. */
static void
parse_candidate(struct gh *g, const cJSON *o, struct candidate *c)
{
	const cJSON *arr, *it;
	const char **raw;
	size_t n = 0;

	memset(c, 0, sizeof(*c));
	c->ats = xstrdup("greenhouse");
	c->id = id_str(o, "id");
	c->first_name = str_or_null(o, "first_name");
	c->last_name = str_or_null(o, "last_name");
	c->preferred_name = str_or_null(o, "preferred_name");
	c->company = str_or_null(o, "company");
	c->title = str_or_null(o, "title");
	c->created_ms = time_ms(o, "created_at");
	c->updated_ms = time_ms(o, "updated_at");
	c->is_private = cJSON_IsTrue(json_get(o, "private"));
	arr = json_get(o, "email_addresses");
	raw = xcalloc((size_t)cJSON_GetArraySize(arr) + 1, sizeof(*raw));
	cJSON_ArrayForEach(it, arr)
		if (json_str(it, "value") != NULL)
			raw[n++] = json_str(it, "value");
	candidate_set_emails(c, raw, n, 0);	/* v3 has no primary flag: the first is primary */
	free(raw);
	cJSON_ArrayForEach(it, json_get(o, "phone_numbers"))
		if (json_str(it, "value") != NULL)
			candidate_add_phone(c, json_str(it, "value"), g->region);
	cJSON_ArrayForEach(it, json_get(o, "custom_fields")) {
		const cJSON *v = json_get(it, "value");
		char *text = NULL;
		if (cJSON_IsString(v))
			text = xstrdup(v->valuestring);
		else if (cJSON_IsNumber(v) || cJSON_IsBool(v) || cJSON_IsArray(v))
			text = json_print(v);
		if (text != NULL && it->string != NULL)
			candidate_add_custom(c, it->string, text);
		free(text);
	}
	/* Anonymised (GDPR): the name is replaced and every contact list emptied. */
	if (c->first_name != NULL && strncmp(c->first_name, "Anonymized", 10) == 0 && c->nemails == 0 &&
	    c->nphones == 0)
		c->anonymized = 1;
}

/*
 * An application as the driver keeps it: the fields the current-application
 * rule and the candidate need, whichever way it was read (a candidate_ids
 * call or the whole /v3/applications listing through the spill file).
 */
enum { GA_ID, GA_CAND, GA_STATUS, GA_STAGE_ID, GA_STAGE_NAME, GA_JOB, GA_SOURCE, GA_REFERRER, GA_NSTR };

struct gh_app {
	char *s[GA_NSTR];	/* NULL when absent */
	int64_t updated_ms, created_ms;
	int prospect;		/* kept only in the spill file (a record, not a candidacy) */
};

struct appv {
	struct gh_app *v;
	size_t n, cap;
};

static void
appv_clear(struct appv *av)
{
	size_t i, k;

	for (i = 0; i < av->n; i++)
		for (k = 0; k < GA_NSTR; k++)
			free(av->v[i].s[k]);
	av->n = 0;
}

static void
appv_free(struct appv *av)
{
	appv_clear(av);
	free(av->v);
	memset(av, 0, sizeof(*av));
}

static struct gh_app *
appv_push(struct appv *av)
{
	if (av->n == av->cap) {
		av->cap = av->cap ? av->cap * 2 : 8;
		av->v = xrealloc(av->v, av->cap * sizeof(*av->v));
	}
	memset(&av->v[av->n], 0, sizeof(av->v[0]));
	return &av->v[av->n++];
}

/* One /v3/applications record into av; records without a candidate are left
 * out, and so are prospects (no candidacy) unless keep_prospects (then
 * marked). */
static void
app_from_json(struct appv *av, const cJSON *it, int keep_prospects)
{
	struct gh_app *p;
	int prospect = cJSON_IsTrue(json_get(it, "prospect"));
	char *cid;

	if ((prospect && !keep_prospects) || (cid = id_str(it, "candidate_id")) == NULL)
		return;
	p = appv_push(av);
	p->prospect = prospect;
	p->s[GA_CAND] = cid;
	p->s[GA_ID] = id_str(it, "id");
	p->s[GA_STATUS] = str_or_null(it, "status");
	p->s[GA_STAGE_ID] = id_str(it, "job_interview_stage_id");
	p->s[GA_STAGE_NAME] = str_or_null(it, "stage_name");
	p->s[GA_JOB] = id_str(it, "job_id");
	p->s[GA_SOURCE] = id_str(it, "source_id");
	p->s[GA_REFERRER] = id_str(it, "referrer_id");
	p->updated_ms = time_ms(it, "updated_at");
	p->created_ms = time_ms(it, "created_at");
}

static enum rc
collect_apps(struct ats *a, const cJSON *items, void *arg)
{
	const cJSON *it;

	(void)a;
	cJSON_ArrayForEach(it, items)
		app_from_json(arg, it, 0);
	return RC_OK;
}

/* Applications of up to 50 candidates, appended to into. */
static enum rc
fetch_apps(struct ats *a, char *const *ids, size_t n, struct appv *into)
{
	struct gh *g = a->priv;
	struct buf url = BUF_INIT, list = BUF_INIT;
	size_t i;
	enum rc rc;

	for (i = 0; i < n; i++) {
		if (i > 0)
			buf_addc(&list, ',');
		buf_adds(&list, ids[i]);
	}
	buf_addf(&url, "%s/applications?per_page=500&candidate_ids=", g->base);
	http_urlencode(&url, list.p ? list.p : "");
	rc = list_pages(a, url.p, collect_apps, into, NULL, NULL);
	buf_free(&url);
	buf_free(&list);
	return rc;
}

/* The name of id through m, for field bit: NULL when the field is unused,
 * and unknown when its lookup was refused. */
static char *
lookup_name(struct ats *a, struct candidate *c, const struct ats_idmap *m, unsigned bit,
    const char *id)
{
	const char *name;

	if (!(a->used & bit))
		return NULL;
	if (a->degraded & bit) {
		c->unknown |= bit;
		return NULL;
	}
	name = ats_idmap_get(m, id, NULL);
	return name != NULL ? xstrdup(name) : NULL;
}

/* Fills the current application's fields of c from the n applications at v
 * (those of c among them): ats_pick_application (ats.current_application). */
static void
apply_current(struct ats *a, struct candidate *c, const struct gh_app *v, size_t n)
{
	struct gh *g = a->priv;
	struct ats_app *cand = xcalloc(n + 1, sizeof(*cand));
	size_t *at = xcalloc(n + 1, sizeof(*at));
	const struct gh_app *cur;
	size_t i, m = 0;
	long best;

	for (i = 0; i < n; i++) {
		const char *st = v[i].s[GA_STATUS];
		if (v[i].s[GA_CAND] == NULL || strcmp(v[i].s[GA_CAND], c->id) != 0)
			continue;
		cand[m].id = v[i].s[GA_ID] ? v[i].s[GA_ID] : "";
		cand[m].active = st != NULL && (strcmp(st, "in_process") == 0 || strcmp(st, "active") == 0);
		cand[m].updated_ms = v[i].updated_ms;
		at[m++] = i;
	}
	best = ats_pick_application(cand, m, a->app_policy);
	if (best >= 0) {
		cur = &v[at[best]];
		c->app_id = cur->s[GA_ID] ? xstrdup(cur->s[GA_ID]) : NULL;
		c->stage_id = cur->s[GA_STAGE_ID] ? xstrdup(cur->s[GA_STAGE_ID]) : NULL;
		c->stage_name = cur->s[GA_STAGE_NAME] ? xstrdup(cur->s[GA_STAGE_NAME]) : NULL;
		candidate_set_status(c, cur->s[GA_STATUS]);
		c->job = lookup_name(a, c, &g->jobs, ATS_FLD_JOB, cur->s[GA_JOB]);
		c->source = lookup_name(a, c, &g->sources, ATS_FLD_SOURCE, cur->s[GA_SOURCE]);
		c->referrer = lookup_name(a, c, &g->referrers, ATS_FLD_REFERRER, cur->s[GA_REFERRER]);
		c->applied_ms = cur->created_ms;
	}
	free(cand);
	free(at);
}

/*
 * The applications of a full sweep, on disk (spill.h: a plain unlinked
 * temporary file in state.dir, else $TMPDIR or /tmp; never the state). A sweep
 * lists /v3/applications whole first (at the page size) and keeps each
 * application as one record under its candidate id; the candidates are then
 * listed (id descending, as v3 lists) and each takes its records from the
 * file's sorted runs by a forward merge. Memory is the spill's fixed arena
 * and one read buffer per run, whatever the number of candidates; the disk
 * holds about 100 bytes per application.
 *
 * A payload: a byte (0 an application; 2 a prospect, kept only to say the
 * candidate has a record), the GA_* strings but the candidate, each as a byte
 * 0 (absent) or 1 followed by the text and a NUL, then updated_ms and
 * created_ms (8 bytes each, host order).
 */
static void
put_str(struct buf *b, const char *s)
{
	buf_addc(b, s != NULL ? 1 : 0);
	if (s != NULL)
		buf_add(b, s, strlen(s) + 1);
}

static enum rc
spill_page(struct ats *a, const cJSON *items, void *arg)
{
	struct spill *sp = arg;
	struct appv av = { 0 };
	struct buf r = BUF_INIT;
	const cJSON *it;
	size_t i, k;

	(void)a;
	cJSON_ArrayForEach(it, items) {
		app_from_json(&av, it, 1);
		for (i = 0; i < av.n; i++) {
			const struct gh_app *p = &av.v[i];
			r.len = 0;
			buf_addc(&r, p->prospect ? 2 : 0);
			for (k = 0; k < GA_NSTR; k++)
				if (k != GA_CAND)
					put_str(&r, p->s[k]);
			buf_add(&r, (const char *)&p->updated_ms, 8);
			buf_add(&r, (const char *)&p->created_ms, 8);
			spill_add(sp, p->s[GA_CAND], r.p, r.len);	/* a longer id: joined by id */
		}
		appv_clear(&av);
	}
	appv_free(&av);
	buf_free(&r);
	return RC_OK;
}

/* An expired cursor starts the application listing again: forget what it read. */
static void
spill_restart(void *arg)
{
	spill_reset(arg);
}

static int
get_str(const char **p, const char *end, char **out)
{
	const char *z;

	*out = NULL;
	if (*p >= end)
		return -1;
	if (*(*p)++ == 0)
		return 0;
	z = memchr(*p, '\0', (size_t)(end - *p));
	if (z == NULL)
		return -1;
	*out = xstrdup(*p);
	*p = z + 1;
	return 0;
}

struct take {
	struct appv *av;
	const char *key;
};

/* One payload of the candidate being joined into its applications (a
 * prospect is no candidacy). */
static void
take_app(void *arg, const char *rec, size_t len)
{
	struct take *t = arg;
	const char *p = rec + 1, *end = rec + len;
	struct gh_app *g;
	size_t k;

	if (len < 1 || rec[0] == 2)
		return;
	g = appv_push(t->av);
	g->s[GA_CAND] = xstrdup(t->key);
	for (k = 0; k < GA_NSTR; k++)
		if (k != GA_CAND && get_str(&p, end, &g->s[k]) != 0)
			break;
	if (end - p >= 16) {
		memcpy(&g->updated_ms, p, 8);
		memcpy(&g->created_ms, p + 8, 8);
	}
}

struct emit {
	ats_cand_fn fn;
	void *arg;
	struct ats_pull *pull;
	int64_t from_ms, to_ms;	/* phase B: skip candidates inside the window */
	int phase_b;
	/* A full sweep's join: the applications on disk (NULL: by id), when
	 * their listing started, the smallest candidate id joined so far. */
	struct spill *sp;
	char last[SPILL_KEY_MAX + 1];
	int have_last;
};

/* One candidate record with its applications (those of it among v). */
static enum rc
deliver_one(struct ats *a, const cJSON *rec, const struct appv *av, struct emit *em)
{
	struct gh *g = a->priv;
	struct candidate c;
	enum rc rc;

	parse_candidate(g, rec, &c);
	if (c.id == NULL) {
		log_warn("greenhouse", "a candidate without an id was skipped");
		candidate_free(&c);
		return RC_OK;
	}
	apply_current(a, &c, av->v, av->n);
	rc = em->fn(em->arg, &c);
	if (em->pull != NULL)
		em->pull->records++;
	candidate_free(&c);
	return rc;
}

/* Delivers a batch of candidate records (at most 50) with their
 * applications, asked for by candidate id (one call per batch). */
static enum rc
deliver(struct ats *a, const cJSON *const *recs, size_t n, struct emit *em)
{
	char **ids = xcalloc(n + 1, sizeof(*ids));
	struct appv av = { 0 };
	size_t i, m = 0;
	enum rc rc = RC_OK;

	for (i = 0; i < n; i++)
		if ((ids[m] = id_str(recs[i], "id")) != NULL)
			m++;
	if (m > 0)
		rc = fetch_apps(a, ids, m, &av);
	for (i = 0; i < n && rc == RC_OK; i++)
		rc = deliver_one(a, recs[i], &av, em);
	for (i = 0; i < m; i++)
		free(ids[i]);
	free(ids);
	appv_free(&av);
	return rc;
}

/*
 * Whether candidate record it is joined from the spill file (its
 * applications then in av). Not when its id is too long for a record or
 * comes out of the listing's descending order, when it has no application
 * record at all (prospects count: in Greenhouse every candidate has one, so
 * this is a candidate created after the application listing went by, whose
 * applications that listing missed), when one of its applications was too
 * long to keep, or when the file failed. Those are asked for by id.
 */
static int
join_from_spill(const cJSON *it, struct emit *em, struct appv *av)
{
	char *id = id_str(it, "id");
	int ok;

	appv_clear(av);
	ok = em->sp != NULL && !spill_failed(em->sp) && id != NULL && strlen(id) <= SPILL_KEY_MAX &&
	    (!em->have_last || spill_key_cmp(id, em->last) < 0);
	if (ok) {
		struct take t = { av, id };
		ok = spill_take(em->sp, id, take_app, &t) == SPILL_SEEN && !spill_failed(em->sp);
		snprintf(em->last, sizeof(em->last), "%s", id);
		em->have_last = 1;
	}
	free(id);
	return ok;
}

static enum rc
candidates_page(struct ats *a, const cJSON *items, void *arg)
{
	struct emit *em = arg;
	const cJSON *batch[GH_IDS_PER_CALL], *it;
	struct appv av = { 0 };
	size_t n = 0;
	enum rc rc = RC_OK;

	cJSON_ArrayForEach(it, items) {
		if (join_from_spill(it, em, &av)) {
			if ((rc = deliver_one(a, it, &av, em)) != RC_OK)
				break;
			continue;
		}
		batch[n++] = it;
		if (n == GH_IDS_PER_CALL) {
			if ((rc = deliver(a, batch, n, em)) != RC_OK)
				break;
			n = 0;
		}
	}
	if (rc == RC_OK && n > 0)
		rc = deliver(a, batch, n, em);
	appv_free(&av);
	return rc;
}

/* An expired cursor starts the candidate listing again: so does the join. */
static void
join_restart(void *arg)
{
	struct emit *em = arg;

	em->have_last = 0;
	if (em->sp != NULL)
		spill_rewind(em->sp);
}

/* Phase B: applications changed in the window whose candidate was not. v3
 * has no id filter on candidates, so each is one GET; their applications are
 * then fetched together, up to 50 candidates per call. */
/* GET /v3/candidates/{id}, the id percent-encoded (it comes from an answer
 * or from the state: never trusted to be a plain number) */
static char *
candidate_url(struct gh *g, const char *id)
{
	struct buf u = BUF_INIT;

	buf_addf(&u, "%s/candidates/", g->base);
	http_urlencode(&u, id);
	return buf_take(&u);
}

static enum rc
apps_page(struct ats *a, const cJSON *items, void *arg)
{
	struct gh *g = a->priv;
	struct emit *em = arg;
	const cJSON *it;
	char **seen = xcalloc((size_t)cJSON_GetArraySize(items) + 1, sizeof(*seen));
	cJSON *held[GH_IDS_PER_CALL];
	size_t nseen = 0, nheld = 0, i;
	enum rc rc = RC_OK;

	cJSON_ArrayForEach(it, items) {
		char *cid = id_str(it, "candidate_id");
		cJSON *cand = NULL;
		long status = 0;
		int64_t upd;
		int dup = 0;

		if (cid == NULL)
			continue;
		for (i = 0; i < nseen; i++)
			dup |= strcmp(seen[i], cid) == 0;
		if (dup) {
			free(cid);
			continue;
		}
		seen[nseen++] = cid;
		{
			char *url = candidate_url(g, cid);
			rc = gh_get(a, url, &cand, NULL, &status, NULL);
			free(url);
		}
		if (rc == RC_RECORD) {
			rc = RC_OK;	/* deleted since: the full sweep confirms it */
			continue;
		}
		if (rc != RC_OK)
			break;
		upd = time_ms(cand, "updated_at");
		if (upd >= em->from_ms && upd <= em->to_ms) {
			cJSON_Delete(cand);	/* delivered by phase A */
			continue;
		}
		held[nheld++] = cand;
		if (nheld == GH_IDS_PER_CALL) {
			rc = deliver(a, (const cJSON *const *)held, nheld, em);
			while (nheld > 0)
				cJSON_Delete(held[--nheld]);
			if (rc != RC_OK)
				break;
		}
	}
	if (rc == RC_OK && nheld > 0)
		rc = deliver(a, (const cJSON *const *)held, nheld, em);
	while (nheld > 0)
		cJSON_Delete(held[--nheld]);
	for (i = 0; i < nseen; i++)
		free(seen[i]);
	free(seen);
	return rc;
}

static char *
window_url(struct gh *g, const char *what, int64_t from_ms, int64_t to_ms)
{
	struct buf u = BUF_INIT, w = BUF_INIT;
	char a[32], b[32];

	norm_fmt_datetime(from_ms, a);
	norm_fmt_datetime(to_ms, b);
	buf_addf(&w, "gte|%s|lte|%s", a, b);
	buf_addf(&u, "%s/%s?per_page=%d&updated_at=", g->base, what, g->per_page);
	http_urlencode(&u, w.p);
	buf_free(&w);
	return buf_take(&u);
}

static enum rc
gh_pull_window(struct ats *a, int64_t from_ms, int64_t to_ms, ats_cand_fn fn, void *arg,
    struct ats_pull *pull)
{
	struct gh *g = a->priv;
	struct emit em;
	struct ats_pull apull;
	char *url;
	enum rc rc;

	memset(pull, 0, sizeof(*pull));
	memset(&em, 0, sizeof(em));
	em.fn = fn;
	em.arg = arg;
	em.pull = pull;
	em.from_ms = from_ms;
	em.to_ms = to_ms;
	if ((rc = load_maps(a)) != RC_OK)
		return rc;
	url = window_url(g, "candidates", from_ms, to_ms);
	rc = list_pages(a, url, candidates_page, &em, NULL, pull);
	free(url);
	if (rc != RC_OK || !pull->complete)
		return rc;
	memset(&apull, 0, sizeof(apull));
	em.phase_b = 1;
	url = window_url(g, "applications", from_ms, to_ms);
	rc = list_pages(a, url, apps_page, &em, NULL, &apull);
	free(url);
	pull->pages += apull.pages;
	pull->complete = apull.complete;
	pull->restarted |= apull.restarted;
	return rc;
}

/*
 * Reads every application into the spill file (sp): 1 when the sweep can
 * join from it. A listing that stops short (a page unreadable after its
 * retries, the page cap) or a file that fails leaves the sweep asking for
 * applications by candidate, as a window does: more calls, the same
 * candidates. Any other failure (credentials, the deadline) is *rc.
 */
static int
spill_all_apps(struct ats *a, struct spill *sp, struct ats_pull *pull, enum rc *rc)
{
	struct gh *g = a->priv;
	struct ats_pull apull;
	char *url = xasprintf("%s/applications?per_page=%d", g->base, g->per_page);

	memset(&apull, 0, sizeof(apull));
	*rc = list_pages(a, url, spill_page, sp, spill_restart, &apull);
	free(url);
	pull->pages += apull.pages;
	pull->restarted |= apull.restarted;
	if (*rc == RC_OK && apull.complete && spill_finish(sp) == 0) {
		log_debug("greenhouse", "%ld applications in %d pages, %zu sorted runs on disk",
		    spill_records(sp), apull.pages, spill_runs(sp));
		return 1;
	}
	if (*rc != RC_OK && *rc != RC_REMOTE)
		return 0;
	log_warn("greenhouse", "the application listing %s after %d pages: this sweep asks for "
	    "each page's applications by candidate id instead", *rc != RC_OK ? "failed" :
	    !apull.complete ? "stopped at the page cap" : "could not be kept on disk", apull.pages);
	*rc = RC_OK;
	return 0;
}

static enum rc
gh_pull_all(struct ats *a, ats_cand_fn fn, void *arg, struct ats_pull *pull)
{
	struct gh *g = a->priv;
	struct emit em;
	struct spill *sp;
	char *url;
	enum rc rc;

	memset(pull, 0, sizeof(*pull));
	memset(&em, 0, sizeof(em));
	em.fn = fn;
	em.arg = arg;
	em.pull = pull;
	if ((rc = load_maps(a)) != RC_OK)
		return rc;
	sp = spill_new(cfg_str(a->cfg, OPT_STATE_DIR), "the Greenhouse applications");
	if (sp != NULL) {
		if (spill_all_apps(a, sp, pull, &rc))
			em.sp = sp;
		else if (rc != RC_OK) {
			spill_free(sp);
			return rc;
		}
	}
	url = xasprintf("%s/candidates?per_page=%d", g->base, g->per_page);
	rc = list_pages(a, url, candidates_page, &em, join_restart, pull);
	free(url);
	spill_free(sp);
	return rc;
}

static enum rc
gh_get_one(struct ats *a, const char *id, struct candidate **out)
{
	struct gh *g = a->priv;
	char *url;
	cJSON *cand = NULL;
	struct appv apps = { 0 };
	long status = 0;
	enum rc rc;
	char *ids[1];

	if ((rc = load_maps(a)) != RC_OK)
		return rc;
	url = candidate_url(g, id);
	rc = gh_get(a, url, &cand, NULL, &status, NULL);
	free(url);
	if (rc == RC_REMOTE && status >= 300 && status < 500 && status != 429) {
		/* an answer about this record that says neither "here" nor "gone"
		 * (logged by gh_get): an error for this candidate only, never a delete */
		*out = NULL;
		return RC_OK;
	}
	if (rc != RC_OK)
		return rc;	/* RC_RECORD with 404 or 410: gone */
	ids[0] = (char *)id;
	rc = fetch_apps(a, ids, 1, &apps);
	if (rc == RC_OK) {
		*out = xcalloc(1, sizeof(**out));
		parse_candidate(g, cand, *out);
		if ((*out)->id == NULL) {
			/* a 200 that is not a candidate: unreadable, never "gone" */
			api_fail(&a->err, "greenhouse", 0, NULL,
			    "GET candidate %s: the answer has no candidate id", id);
			candidate_free(*out);
			free(*out);
			*out = NULL;
			rc = RC_REMOTE;
		} else
			apply_current(a, *out, apps.v, apps.n);
	}
	appv_free(&apps);
	cJSON_Delete(cand);
	return rc;
}

static enum rc
gh_open(struct ats *a)
{
	struct gh *g = xcalloc(1, sizeof(*g));
	const char *base = cfg_str(a->cfg, OPT_ATS_BASE_URL), *auth = cfg_str(a->cfg, OPT_ATS_AUTH_URL);
	size_t n;

	a->priv = g;
	g->base = xstrdup(base ? base : a->drv->base_url);
	n = strlen(g->base);
	while (n > 0 && g->base[n - 1] == '/')
		g->base[--n] = '\0';
	g->token_url = xasprintf("%s/token", auth ? auth : a->drv->auth_url);
	g->origin = origin_of(g->base);
	g->client_id = cfg_str(a->cfg, OPT_ATS_CLIENT_ID);
	g->client_secret = cfg_str(a->cfg, OPT_ATS_CLIENT_SECRET);
	g->user_id = cfg_str(a->cfg, OPT_ATS_USER_ID);
	g->region = cfg_str(a->cfg, OPT_PHONE_DEFAULT_REGION);
	g->per_page = (int)cfg_int(a->cfg, OPT_ATS_PAGE_SIZE);
	g->max_pages = (int)cfg_int(a->cfg, OPT_ATS_MAX_PAGES);
	if (g->client_id == NULL || g->client_secret == NULL || g->user_id == NULL) {
		api_fail(&a->err, "greenhouse", 0, NULL,
		    "ats.client_id, ats.client_secret and ats.user_id are needed "
		    "(Harvest v3 client credentials)");
		return RC_CONFIG;
	}
	a->pace = pace_new("greenhouse", GH_RPS, 5);
	return mint(a);
}

static void
gh_close(struct ats *a)
{
	struct gh *g = a->priv;

	if (g != NULL) {
		free(g->base);
		free(g->token_url);
		free(g->origin);
		if (g->token != NULL) {
			memset(g->token, 0, strlen(g->token));
			free(g->token);
		}
		ats_idmap_free(&g->jobs);
		ats_idmap_free(&g->sources);
		ats_idmap_free(&g->referrers);
		free(g);
	}
	pace_free(a->pace);
	a->pace = NULL;
	a->priv = NULL;
}

/* For init: the sources, every job's interview stages (by name, once each)
 * and the rejection reasons. */
static enum rc
gh_reference(struct ats *a, struct ats_ref *r)
{
	struct gh *g = a->priv;
	static const char *const paths[] = { "job_interview_stages", "rejection_reasons" };
	struct ats_idmap *maps[] = { &r->stages, &r->reasons };
	size_t i;
	enum rc rc;

	if ((rc = load_maps(a)) != RC_OK)
		return rc;
	for (i = 0; i < g->sources.n; i++)
		ats_idmap_add(&r->sources, g->sources.v[i].id, g->sources.v[i].name, 0);
	for (i = 0; i < ARRAY_LEN(paths); i++) {
		char *url = xasprintf("%s/%s?per_page=500", g->base, paths[i]);
		rc = list_pages(a, url, collect_names, maps[i], NULL, NULL);
		free(url);
		if (rc != RC_OK)
			return rc;
	}
	return RC_OK;
}

const struct ats_driver ats_greenhouse = {
	.name = "greenhouse",
	.base_url = "https://harvest.greenhouse.io/v3",
	.auth_url = "https://auth.greenhouse.io",
	.scopes = "harvest:candidates:list, harvest:applications:list, harvest:jobs:list, "
	    "harvest:sources:list and harvest:referrers:list",
	.fix = "check ats.client_id, ats.client_secret and ats.user_id (Harvest v3 client "
	    "credentials); they need the scopes harvest:candidates:list, "
	    "harvest:applications:list, harvest:jobs:list, harvest:sources:list and "
	    "harvest:referrers:list, and list endpoints need ats.user_id to be a Site Admin",
	.reference = gh_reference,
	.open = gh_open,
	.pull_window = gh_pull_window,
	.pull_all = gh_pull_all,
	.get = gh_get_one,
	.lookups = load_maps,
	.close = gh_close,
};
