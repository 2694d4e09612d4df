/*
 * ats_lever.c — Lever Data API v1 (research/ats-apis.md §2, §5, §9; the
 * documentation at hire.lever.co/developer/documentation for the details
 * named below).
 *
 * Auth: HTTP Basic with the API key as the user name and an empty password
 * (ats.api_key). The base URL is ats.base_url, default https://api.lever.co/v1;
 * the sandbox (https://api.sandbox.lever.co/v1) and EU hosts are only other
 * base URLs. OAuth (partner integrations, rotating refresh tokens) is NOT
 * supported yet.
 *
 * The person is the opportunity's `contact`, never the opportunity: one
 * canonical candidate per contact, whose stage and status come from the
 * current opportunity picked by ats_pick_application (ats.current_application:
 * by default the most recently updated active one, else the latest; an
 * opportunity whose updatedAt is null counts as updated at its createdAt).
 * Listings name opportunities. A full sweep lists every opportunity once,
 * expanded, into a spill file grouped by contact (spill.h; see lv_pull_all):
 * the listing minimum of calls, memory flat. A window (and a sweep that cannot
 * use the file) reads its listing for contact ids only (include=contact), and
 * each contact new to this pull is then read whole: GET /opportunities with
 * contact_id repeated for up to 50 contacts per call (the documented way to
 * find every opportunity of a person: "Multiple contacts can be specified and
 * results will include a union of result sets"), expand=stage, expand=contact
 * and expand=applications. Such a pull delivers each person at most once: the
 * contacts already delivered are kept in a set (16 bytes each; UUIDs are
 * stored as their 128 bits, anything else as two 64-bit FNV-1a hashes), so
 * memory grows by 23 to 46 bytes per person listed (16-byte slots, at most
 * 70 % full).
 *
 * Lists: GET /opportunities?limit=N&updated_at_start=FROM&updated_at_end=TO
 * (epoch ms, both inclusive; TO is the run's fixed start), or without the
 * window for a full sweep; records whose updatedAt is null match no window and
 * are caught by the sweep. limit is ats.page_size capped at 100. Later pages
 * repeat the same query with offset=<next> exactly as the server sent it;
 * hasNext false ends the listing. confidentiality=all is sent only when
 * ats.private_candidates is true (it needs the key's confidential access);
 * confidential opportunities make their person is_private.
 *
 * Status: an active opportunity is "active"; an archived one takes its
 * archive reason's type from /archive_reasons (read once per run, in open,
 * when the status is used: a fields rule or stage tags): hired -> "hired",
 * non-hired -> "rejected"; an archived opportunity without a reason, or with
 * one the list does not know, is "archived". Both shapes are read: archived
 * {archivedAt, reason} and the example's top-level archivedAt/archiveReason.
 * Stage names come from the expanded stage {id, text}; if a server answers
 * with bare ids, /stages is read once per run instead (when the stage is
 * used). The job is the posting of the expanded application, named from
 * /postings (read once per run, when first needed, and only when the job is
 * used). A 403/404 on any of these
 * lists degrades its field (ats_degrade: unknown, warned once, named by
 * doctor); without the archive reasons an archived person's status AND stage
 * are unknown, so no stage tag is guessed from the stage name alone.
 *
 * Names: Lever has one name field; norm_split_name splits it (first token /
 * rest) and full_name keeps it. Emails are untyped strings, the first is the
 * primary; phones are {type, value}. A person is anonymized when the expanded
 * contact says isAnonymized, or when every opportunity of theirs does (the
 * documentation: only then is the contact's personal information removed);
 * nothing personal is copied from an anonymized person.
 *
 * Deletes (pull_deleted): GET /opportunities/deleted with
 * deleted_at_start/_end. Each record's contact (the deleted opportunity as it
 * was, plus deletedAt/deletedBy) is checked with one contact_id query per 50
 * contacts: a person is reported only when no opportunity of theirs is left.
 * get() reads a person's opportunities the same way and answers RC_RECORD when
 * none is left, which confirms the delete.
 *
 * Pacing: Lever sends no rate headers; its bucket allows 10 requests/s steady
 * and bursts to 20. The client's bucket runs at ats.max_rps, else at 9.5/s
 * (5 % under the documented rate, so that timing jitter between our bucket
 * and the server's never costs a 429), 20 deep. A 429 or 503 is retried by
 * http.c (Retry-After when present, else exponential backoff with jitter) and
 * slows the bucket (pace.c's AIMD).
 *
 * Choices where the research is silent (NOT FOUND):
 *  - The listing asks include=contact; a server that ignores include sends
 *    whole records, which work the same (only `contact` is read from them).
 *  - Repeated parameters (expand=stage&expand=contact), as the documentation
 *    shows for include; contact_id batches of 50 keep URLs near 2.5 kB.
 *  - A deleted-feed record without a contact (research summarises the feed as
 *    {id, deletedAt, deletedBy}) cannot be tied to a person: it is counted
 *    and logged, and the next full sweep (get() per vanished person) decides.
 *  - Without ats.private_candidates the delete check cannot see confidential
 *    opportunities, so a person whose only remaining opportunity is
 *    confidential is reported deleted (they are out of scope in that mode).
 *  - company is the current opportunity's application `company`; Lever has no
 *    job-title field (headline lists past employers), so title stays empty;
 *    source is the opportunity's first `sources` entry. The referrer is not
 *    read (it needs GET /opportunities/:id/referrals, one request per referred
 *    opportunity).
 *  - A 400 (an offset refused) ends the listing as incomplete; there is no
 *    documented offset expiry to restart from.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ats.h"
#include "config.h"
#include "http.h"
#include "jtree.h"
#include "log.h"
#include "norm.h"
#include "pace.h"
#include "spill.h"

#define LV_MAX_LIMIT 100	/* documented: 1..100 */
#define LV_CONTACTS_PER_CALL 50
#define LV_RPS 10.0		/* documented steady rate per key */
#define LV_RPS_MARGIN 0.95
#define LV_BURST 20		/* documented burst */

struct lv {
	char *base;		/* https://api.lever.co/v1 */
	const char *key, *region;
	int limit, max_pages, private_ok;
	struct ats_idmap reasons, stages, postings;
	int stages_loaded, postings_loaded, reasons_loaded;
	int optional;		/* a lookup is being read: a 403 is the caller's to report */
	long last_status;	/* the HTTP status of the last GET */
};

/* ------------------------------------------------------------ seen set */

/* The contacts a pull has delivered: open addressing over 16-byte keys. */
struct seen {
	unsigned char (*k)[16];
	size_t cap, n;
	int has_zero;
};

static void
seen_key(const char *id, unsigned char out[16])
{
	size_t i, j = 0, len = strlen(id);
	uint64_t h1 = 0xcbf29ce484222325ULL, h2 = 0x84222325cbf29ce4ULL;

	if (len == 36) {
		for (i = 0; i < 36 && j < 16; i++) {
			int hi, lo;
			if (i == 8 || i == 13 || i == 18 || i == 23) {
				if (id[i] != '-')
					break;
				continue;
			}
			hi = hex_digit((unsigned char)id[i]);
			lo = i + 1 < 36 ? hex_digit((unsigned char)id[i + 1]) : -1;
			if (hi < 0 || lo < 0)
				break;
			out[j++] = (unsigned char)(hi << 4 | lo);
			i++;
		}
		if (i == 36 && j == 16)
			return;
	}
	for (i = 0; i < len; i++) {
		h1 = (h1 ^ (unsigned char)id[i]) * 0x100000001b3ULL;
		h2 = (h2 ^ (unsigned char)id[len - 1 - i]) * 0x100000001b3ULL;
	}
	for (i = 0; i < 8; i++) {
		out[i] = (unsigned char)(h1 >> (8 * i));
		out[8 + i] = (unsigned char)(h2 >> (8 * i));
	}
}

static size_t
seen_slot(const unsigned char key[16], size_t cap)
{
	uint64_t h = 0;
	size_t i;

	for (i = 0; i < 8; i++)
		h = h << 8 | key[i];
	h ^= h >> 29;
	h *= 0x9e3779b97f4a7c15ULL;
	return (size_t)(h >> 7) & (cap - 1);
}

static const unsigned char zero16[16];

/* Adds id; 1 when it was not there yet. */
static int
seen_add(struct seen *s, const char *id)
{
	unsigned char key[16];
	size_t i;

	seen_key(id, key);
	if (memcmp(key, zero16, 16) == 0) {
		if (s->has_zero)
			return 0;
		return s->has_zero = 1;
	}
	if ((s->n + 1) * 10 > s->cap * 7) {
		size_t ncap = s->cap ? s->cap * 2 : 1024, j;
		unsigned char (*nk)[16] = xcalloc(ncap, 16);
		for (j = 0; j < s->cap; j++) {
			if (memcmp(s->k[j], zero16, 16) == 0)
				continue;
			i = seen_slot(s->k[j], ncap);
			while (memcmp(nk[i], zero16, 16) != 0)
				i = (i + 1) & (ncap - 1);
			memcpy(nk[i], s->k[j], 16);
		}
		free(s->k);
		s->k = nk;
		s->cap = ncap;
	}
	i = seen_slot(key, s->cap);
	while (memcmp(s->k[i], zero16, 16) != 0) {
		if (memcmp(s->k[i], key, 16) == 0)
			return 0;
		i = (i + 1) & (s->cap - 1);
	}
	memcpy(s->k[i], key, 16);
	s->n++;
	return 1;
}

static void
seen_free(struct seen *s)
{
	free(s->k);
	memset(s, 0, sizeof(*s));
}

/* ------------------------------------------------------------ plumbing */

static int64_t
ms_of(const cJSON *o, const char *key)
{
	int64_t v = 0;

	if (json_int(o, key, &v) != 0 || v < 0)
		return 0;
	return v;
}

/* The person of an opportunity: `contact` as an id, or expanded. */
static const char *
opp_contact(const cJSON *o)
{
	const cJSON *c = json_get(o, "contact");

	if (cJSON_IsString(c))
		return *c->valuestring ? c->valuestring : NULL;
	if (cJSON_IsObject(c)) {
		const char *s = json_str(c, "id");
		return s != NULL && *s ? s : NULL;
	}
	return NULL;
}

/* The path of url (no query) for logs: queries are long and say little. */
static void
path_of(const char *url, char *out, size_t size)
{
	size_t n = strcspn(url, "?");

	if (n >= size)
		n = size - 1;
	memcpy(out, url, n);
	out[n] = '\0';
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

/* What a 403 on this URL needs. */
static const char *
perm_for(const char *url)
{
	int conf = strstr(url, "confidentiality=all") != NULL;

	if (strstr(url, "/archive_reasons") != NULL)
		return "archive_reasons:read:admin";
	if (strstr(url, "/stages") != NULL)
		return "stages:read:admin";
	if (strstr(url, "/postings") != NULL)
		return conf ? "postings:read:admin and confidential:access:admin "
		    "(ats.private_candidates is true)" : "postings:read:admin";
	if (conf)
		return "opportunities:read:admin and confidential:access:admin "
		    "(ats.private_candidates is true)";
	return "opportunities:read:admin";
}

/* The server's {code, message}, escaped and short, for a log line. */
static void
server_says(const struct http_resp *r, struct buf *out)
{
	struct buf err = BUF_INIT;
	cJSON *j = json_parse(r->body.p ? r->body.p : "", r->body.len, &err);
	const char *code = json_str(j, "code"), *msg = json_str(j, "message");

	buf_reset(out);
	if (code != NULL || msg != NULL) {
		text_escape(out, code ? code : "?", strlen(code ? code : "?"));
		buf_adds(out, ": ");
		text_escape(out, msg ? msg : "", strlen(msg ? msg : "") > 300 ? 300 :
		    strlen(msg ? msg : ""));
	} else
		buf_adds(out, "no error body");
	cJSON_Delete(j);
	buf_free(&err);
}

/*
 * GET one URL. On RC_OK *out is the parsed body (an object). 404 is
 * RC_RECORD; 401 and 403 are RC_AUTH (logged, with what the key lacks); a
 * transport failure, 5xx or 429 left after retries, 400 or an unreadable body
 * is RC_REMOTE (or RC_QUOTA / RC_CONFIG as http.c says).
 */
static enum rc
lv_get(struct ats *a, const char *url, cJSON **out)
{
	struct lv *l = a->priv;
	struct http_policy pol = policy(a);
	struct http_job job;
	struct buf err = BUF_INIT, says = BUF_INIT;
	char path[160];
	enum rc rc;

	*out = NULL;
	path_of(url, path, sizeof(path));
	memset(&job, 0, sizeof(job));
	job.req.method = "GET";
	job.req.url = url;
	job.req.basic_user = l->key;
	job.req.basic_pass = "";
	job.idempotent = 1;
	job.body_ok = http_body_json;	/* a cut or malformed page is read again */
	rc = http_call(a->http, &job, &pol);
	l->last_status = job.resp.status;
	if (rc != RC_OK) {
		if (job.resp.status != 0 && job.resp.fail == HTTP_OK)
			api_fail(&a->err, "lever", job.resp.status, NULL,
			    "GET %s: HTTP %ld after %d attempts", path,
			    job.resp.status, job.attempts);
		else
			api_fail(&a->err, "lever", job.resp.status, NULL,
			    "GET %s: %s: %s", path, http_fail_str(job.resp.fail),
			    job.resp.err);
		goto out;
	}
	switch (job.resp.status) {
	case 200:
		break;
	case 401:
		server_says(&job.resp, &says);
		api_fail(&a->err, "lever", job.resp.status, NULL,
		    "Lever refused the API key (HTTP 401, %s): check ats.api_key "
		    "(Settings > Integrations and API > API Credentials)", says.p);
		rc = RC_AUTH;
		goto out;
	case 403:
		server_says(&job.resp, &says);
		if (!l->optional)
			api_fail(&a->err, "lever", job.resp.status, NULL,
			    "GET %s: HTTP 403 (%s): the API key lacks %s", path, says.p,
			    perm_for(url));
		rc = RC_AUTH;
		goto out;
	case 404:
		rc = RC_RECORD;
		goto out;
	default:
		server_says(&job.resp, &says);
		api_fail(&a->err, "lever", job.resp.status, NULL,
		    "GET %s: HTTP %ld (%s)", path, job.resp.status, says.p);
		rc = RC_REMOTE;
		goto out;
	}
	*out = json_parse(job.resp.body.p, job.resp.body.len, &err);
	if (*out == NULL || !cJSON_IsObject(*out)) {
		api_fail(&a->err, "lever", job.resp.status, NULL,
		    "GET %s: unreadable answer: %s", path, err.len ? err.p :
		    "not a JSON object");
		cJSON_Delete(*out);
		*out = NULL;
		rc = RC_REMOTE;
	}
out:
	http_resp_free(&job.resp);
	buf_free(&err);
	buf_free(&says);
	return rc;
}

/* Called with each page's data array (the callee may detach items). */
typedef enum rc (*page_fn)(struct ats *, cJSON *data, void *arg);

/*
 * Every page of the listing whose first page is first_url (which has a
 * query): later pages repeat it with offset=<next> exactly. *complete is set
 * when the listing reached hasNext false (not the page cap).
 */
static enum rc
lv_list(struct ats *a, const char *first_url, page_fn fn, void *arg, int *pages,
    int *complete)
{
	struct lv *l = a->priv;
	struct buf url = BUF_INIT;
	enum rc rc = RC_OK;
	int n = 0;

	*complete = 0;
	buf_adds(&url, first_url);
	for (;;) {
		cJSON *body = NULL, *data;
		const cJSON *hn;
		const char *next;
		char path[160];

		if (n >= l->max_pages) {
			path_of(first_url, path, sizeof(path));
			log_warn("lever", "GET %s: listing stopped at the page cap (%d pages)",
			    path, l->max_pages);
			break;
		}
		if ((rc = lv_get(a, url.p, &body)) != RC_OK) {
			/* a listing that fails mid-way is not a record error */
			if (rc == RC_RECORD)
				rc = RC_REMOTE;
			break;
		}
		data = cJSON_GetObjectItemCaseSensitive(body, "data");
		hn = json_get(body, "hasNext");
		next = json_str(body, "next");
		if (!cJSON_IsArray(data) || (hn != NULL && !cJSON_IsBool(hn)) ||
		    (cJSON_IsTrue(hn) && (next == NULL || *next == '\0'))) {
			path_of(first_url, path, sizeof(path));
			api_fail(&a->err, "lever", 0, NULL,
			    "GET %s: a list page without data[] (or hasNext without "
			    "next)", path);
			cJSON_Delete(body);
			rc = RC_REMOTE;
			break;
		}
		n++;
		if (pages != NULL)
			(*pages)++;
		rc = fn(a, data, arg);
		if (rc == RC_OK && cJSON_IsTrue(hn)) {
			buf_reset(&url);
			buf_addf(&url, "%s&offset=", first_url);
			http_urlencode(&url, next);
		}
		if (rc != RC_OK || !cJSON_IsTrue(hn)) {
			if (rc == RC_OK)
				*complete = 1;
			cJSON_Delete(body);
			break;
		}
		cJSON_Delete(body);
	}
	buf_free(&url);
	return rc;
}

/* A listing that must be read whole (reference lists, a batch of people). */
static enum rc
lv_list_whole(struct ats *a, const char *first_url, page_fn fn, void *arg)
{
	int complete = 0;
	enum rc rc = lv_list(a, first_url, fn, arg, NULL, &complete);

	return rc == RC_OK && !complete ? RC_REMOTE : rc;
}

/* --------------------------------------------------------- reference maps */

static enum rc
collect_ref(struct ats *a, cJSON *data, void *arg)
{
	struct ats_idmap *m = arg;
	const cJSON *it;

	(void)a;
	cJSON_ArrayForEach(it, data) {
		const char *id = json_str(it, "id"), *name = json_str(it, "text");
		if (id == NULL || name == NULL)
			continue;
		/* flag: an archive reason of type "hired" */
		ats_idmap_add(m, id, name, str_eq(json_str(it, "type"), "hired"));
	}
	return RC_OK;
}

static enum rc
load_ref(struct ats *a, const char *what, const char *extra, struct ats_idmap *m)
{
	struct lv *l = a->priv;
	char *url = xasprintf("%s/%s?limit=%d%s", l->base, what, LV_MAX_LIMIT, extra);
	enum rc rc;

	ats_idmap_free(m);
	rc = lv_list_whole(a, url, collect_ref, m);
	free(url);
	log_debug("lever", "%zu %s", m->n, what);
	return rc;
}

/*
 * A lookup the mapping needs (bit: its field). A 403 or 404 degrades the
 * field for this run (warned once, left unknown, named by doctor) and is not
 * an error; anything else is. *loaded is set either way, so it is asked once.
 */
static enum rc
load_optional(struct ats *a, const char *what, const char *extra, struct ats_idmap *m,
    unsigned bit, int *loaded)
{
	struct lv *l = a->priv;
	enum rc rc;

	if (*loaded)
		return RC_OK;
	l->optional = 1;
	l->last_status = 0;
	rc = load_ref(a, what, extra, m);
	l->optional = 0;
	if (rc != RC_OK && (l->last_status == 403 || l->last_status == 404)) {
		char req[64], why[200];
		struct buf u = BUF_INIT;
		buf_addf(&u, "/%s?%s", what, extra);
		ats_idmap_free(m);
		snprintf(req, sizeof(req), "GET /%s", what);
		if (l->last_status == 403)
			snprintf(why, sizeof(why), "HTTP 403: the API key lacks %s", perm_for(u.p));
		else
			snprintf(why, sizeof(why), "HTTP 404: no such endpoint");
		buf_free(&u);
		ats_degrade(a, bit, req, why);
		rc = RC_OK;
	}
	if (rc == RC_OK)
		*loaded = 1;
	return rc;
}

static enum rc
need_stages(struct ats *a)
{
	struct lv *l = a->priv;

	return load_optional(a, "stages", "", &l->stages, ATS_FLD_STAGE, &l->stages_loaded);
}

static enum rc
need_postings(struct ats *a)
{
	struct lv *l = a->priv;

	return load_optional(a, "postings", l->private_ok ? "&confidentiality=all" : "",
	    &l->postings, ATS_FLD_JOB, &l->postings_loaded);
}

/* ------------------------------------------------------------- people */

/* An opportunity's status word and whether it is active. */
static const char *
opp_status(struct lv *l, const cJSON *o, int *active)
{
	const cJSON *arch = json_get(o, "archived");
	const char *reason = NULL;
	int archived = 0, hired = 0;

	if (cJSON_IsObject(arch)) {
		archived = 1;
		reason = json_str(arch, "reason");
	}
	if (ms_of(o, "archivedAt") > 0 || json_str(o, "archiveReason") != NULL) {
		archived = 1;
		if (reason == NULL)
			reason = json_str(o, "archiveReason");
	}
	*active = !archived;
	if (!archived)
		return "active";
	if (ats_idmap_get(&l->reasons, reason, &hired) == NULL) {
		if (reason != NULL)
			log_debug("lever", "archive reason %s is not in /archive_reasons", reason);
		return "archived";
	}
	return hired ? "hired" : "rejected";
}

static const char *
str_at(const cJSON *arr, int i)
{
	const cJSON *v = cJSON_GetArrayItem(arr, i);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* The candidate of contact cid from all n of its opportunities. */
static enum rc
build_person(struct ats *a, const char *cid, const cJSON *const *opps, size_t n,
    struct candidate *c)
{
	struct lv *l = a->priv;
	struct ats_app *apps = xcalloc(n + 1, sizeof(*apps));
	const cJSON *cur, *person, *contact, *stage, *app, *it;
	int all_anon = 1, active;
	long best;
	size_t i;
	enum rc rc = RC_OK;

	memset(c, 0, sizeof(*c));
	c->ats = xstrdup("lever");
	c->id = xstrdup(cid);
	for (i = 0; i < n; i++) {
		int64_t cr = ms_of(opps[i], "createdAt"), up = ms_of(opps[i], "updatedAt");
		const char *id = json_str(opps[i], "id");

		apps[i].id = id ? id : "";
		opp_status(l, opps[i], &apps[i].active);
		apps[i].updated_ms = up > 0 ? up : cr;
		all_anon &= cJSON_IsTrue(json_get(opps[i], "isAnonymized"));
		c->is_private |= str_eq(json_str(opps[i], "confidentiality"), "confidential");
		if (cr > 0 && (c->created_ms == 0 || cr < c->created_ms))
			c->created_ms = cr;
		if (apps[i].updated_ms > c->updated_ms)
			c->updated_ms = apps[i].updated_ms;
	}
	best = ats_pick_application(apps, n, a->app_policy);
	free(apps);
	if (best < 0)
		return RC_OK;
	cur = opps[best];
	contact = json_get(cur, "contact");
	person = cJSON_IsObject(contact) ? contact : cur;
	c->anonymized = (person == contact && cJSON_IsTrue(json_get(contact, "isAnonymized"))) ||
	    all_anon;
	if (!c->anonymized) {
		const char *full = json_str(person, "name");
		const cJSON *emails = json_get(person, "emails");
		const char **raw;
		size_t ne = 0;

		if (full != NULL && *full != '\0') {
			struct buf first = BUF_INIT, last = BUF_INIT;
			c->full_name = xstrdup(full);
			switch (norm_split_name(full, &first, &last)) {
			case NORM_OK:
				c->first_name = xstrdup(first.p);
				c->last_name = xstrdup(last.p);
				break;
			case NORM_INVALID:
				candidate_add_invalid(c, "name", full, "not normalisable text");
				break;
			default:
				break;
			}
			buf_free(&first);
			buf_free(&last);
		}
		raw = xcalloc((size_t)cJSON_GetArraySize(emails) + 1, sizeof(*raw));
		cJSON_ArrayForEach(it, emails)
			if (cJSON_IsString(it))
				raw[ne++] = it->valuestring;
		candidate_set_emails(c, raw, ne, 0);	/* untyped: the first is primary */
		free(raw);
		cJSON_ArrayForEach(it, json_get(person, "phones"))
			if (json_str(it, "value") != NULL)
				candidate_add_phone(c, json_str(it, "value"), l->region);
	}
	c->app_id = json_str(cur, "id") ? xstrdup(json_str(cur, "id")) : NULL;
	{
		const char *st = opp_status(l, cur, &active);
		if (!active && (a->degraded & ATS_FLD_STATUS))
			/* archived, and the reasons that say hired or rejected were
			 * refused: unknown, and so is the stage (a stage tag picked by
			 * the stage name alone would be wrong); both are left alone */
			c->unknown |= ATS_FLD_STATUS | ATS_FLD_STAGE;
		else
			candidate_set_status(c, st);
	}
	c->applied_ms = ms_of(cur, "createdAt");
	if (str_at(json_get(cur, "sources"), 0) != NULL)
		c->source = xstrdup(str_at(json_get(cur, "sources"), 0));
	stage = json_get(cur, "stage");
	if (c->unknown & ATS_FLD_STAGE)
		;
	else if (cJSON_IsObject(stage)) {
		if (json_str(stage, "id") != NULL)
			c->stage_id = xstrdup(json_str(stage, "id"));
		if (json_str(stage, "text") != NULL)
			c->stage_name = xstrdup(json_str(stage, "text"));
	} else if (cJSON_IsString(stage)) {
		c->stage_id = xstrdup(stage->valuestring);
		if ((a->used & ATS_FLD_STAGE) && (rc = need_stages(a)) != RC_OK)
			return rc;
		if (a->degraded & ATS_FLD_STAGE)
			c->unknown |= ATS_FLD_STAGE;
		else if (ats_idmap_get(&l->stages, stage->valuestring, NULL) != NULL)
			c->stage_name = xstrdup(ats_idmap_get(&l->stages, stage->valuestring, NULL));
	}
	app = cJSON_GetArrayItem(json_get(cur, "applications"), 0);
	if (cJSON_IsObject(app)) {
		const char *posting = json_str(app, "posting");
		if (!c->anonymized && json_str(app, "company") != NULL)
			c->company = xstrdup(json_str(app, "company"));
		if (posting != NULL && (a->used & ATS_FLD_JOB)) {
			if ((rc = need_postings(a)) != RC_OK)
				return rc;
			if (a->degraded & ATS_FLD_JOB)
				c->unknown |= ATS_FLD_JOB;
			else if (ats_idmap_get(&l->postings, posting, NULL) != NULL)
				c->job = xstrdup(ats_idmap_get(&l->postings, posting, NULL));
		}
	}
	return RC_OK;
}

static enum rc
collect_items(struct ats *a, cJSON *data, void *arg)
{
	cJSON *into = arg, *it;

	(void)a;
	while ((it = data->child) != NULL)
		cJSON_AddItemToArray(into, cJSON_DetachItemViaPointer(data, it));
	return RC_OK;
}

/* Every opportunity of up to LV_CONTACTS_PER_CALL contacts, into `into`.
 * lean: only the contact of each (the delete check). */
static enum rc
fetch_people(struct ats *a, char *const *ids, size_t n, int lean, cJSON *into)
{
	struct lv *l = a->priv;
	struct buf url = BUF_INIT;
	size_t i;
	enum rc rc;

	buf_addf(&url, "%s/opportunities?limit=%d%s%s", l->base, LV_MAX_LIMIT,
	    lean ? "&include=contact" : "&expand=stage&expand=contact&expand=applications",
	    l->private_ok ? "&confidentiality=all" : "");
	for (i = 0; i < n; i++) {
		buf_adds(&url, "&contact_id=");
		http_urlencode(&url, ids[i]);
	}
	rc = lv_list_whole(a, url.p, collect_items, into);
	buf_free(&url);
	return rc;
}

struct emit {
	ats_cand_fn fn;
	void *arg;
	struct ats_pull *pull;
	struct seen seen;
	char *batch[LV_CONTACTS_PER_CALL];
	size_t nbatch;
	/* pull_deleted */
	ats_id_fn idfn;
	long unattributed;
};

static void
batch_clear(struct emit *em)
{
	size_t i;

	for (i = 0; i < em->nbatch; i++)
		free(em->batch[i]);
	em->nbatch = 0;
}

/* The opportunities of contact cid among all (borrowed pointers), in order. */
static size_t
opps_of(const cJSON *all, const char *cid, const cJSON **out, size_t max)
{
	const cJSON *it;
	size_t n = 0;

	cJSON_ArrayForEach(it, all)
		if (n < max && str_eq(opp_contact(it), cid))
			out[n++] = it;
	return n;
}

/* Delivers the people of the current batch, each with all their opportunities. */
static enum rc
deliver_batch(struct ats *a, struct emit *em)
{
	cJSON *all = cJSON_CreateArray();
	const cJSON **mine;
	size_t i, max;
	enum rc rc;

	rc = fetch_people(a, em->batch, em->nbatch, 0, all);
	max = (size_t)cJSON_GetArraySize(all) + 1;
	mine = xcalloc(max, sizeof(*mine));
	for (i = 0; i < em->nbatch && rc == RC_OK; i++) {
		struct candidate c;
		size_t n = opps_of(all, em->batch[i], mine, max);

		if (n == 0) {
			/* deleted (or made confidential) since it was listed */
			log_debug("lever", "contact %s has no opportunity left to read",
			    em->batch[i]);
			continue;
		}
		rc = build_person(a, em->batch[i], mine, n, &c);
		if (rc == RC_OK) {
			rc = em->fn(em->arg, &c);
			if (em->pull != NULL)
				em->pull->records++;
		}
		candidate_free(&c);
	}
	free(mine);
	cJSON_Delete(all);
	batch_clear(em);
	return rc;
}

/* Reports the people of the current batch who have no opportunity left. */
static enum rc
report_gone(struct ats *a, struct emit *em)
{
	cJSON *all = cJSON_CreateArray();
	const cJSON *one[1];
	size_t i;
	enum rc rc;

	rc = fetch_people(a, em->batch, em->nbatch, 1, all);
	for (i = 0; i < em->nbatch && rc == RC_OK; i++) {
		if (opps_of(all, em->batch[i], one, 1) > 0)
			continue;	/* another opportunity is still alive */
		rc = em->idfn(em->arg, em->batch[i]);
		if (em->pull != NULL)
			em->pull->records++;
	}
	cJSON_Delete(all);
	batch_clear(em);
	return rc;
}

/* One page of a listing: contacts new to this pull, read 50 at a time (a
 * batch may span pages; run_listing reads the last one). */
static enum rc
listing_page(struct ats *a, cJSON *data, void *arg)
{
	struct emit *em = arg;
	const cJSON *it;
	enum rc rc = RC_OK;

	cJSON_ArrayForEach(it, data) {
		const char *cid = opp_contact(it);

		if (cid == NULL) {
			if (em->idfn != NULL)
				em->unattributed++;
			else
				log_warn("lever", "an opportunity without a contact was skipped");
			continue;
		}
		if (!seen_add(&em->seen, cid))
			continue;
		em->batch[em->nbatch++] = xstrdup(cid);
		if (em->nbatch == LV_CONTACTS_PER_CALL &&
		    (rc = em->idfn ? report_gone(a, em) : deliver_batch(a, em)) != RC_OK)
			return rc;
	}
	return rc;
}

static enum rc
run_listing(struct ats *a, const char *url, struct emit *em, struct ats_pull *pull)
{
	enum rc rc;

	memset(pull, 0, sizeof(*pull));
	em->pull = pull;
	rc = lv_list(a, url, listing_page, em, &pull->pages, &pull->complete);
	/* The last batch; after a failure it is left for the next run (the
	 * listing is incomplete, so its window is read again). */
	if (rc == RC_OK && em->nbatch > 0)
		rc = em->idfn ? report_gone(a, em) : deliver_batch(a, em);
	if (rc != RC_OK)
		pull->complete = 0;
	batch_clear(em);
	seen_free(&em->seen);
	return rc;
}

static char *
listing_url(struct lv *l, const char *what)
{
	return xasprintf("%s/%s?limit=%d%s", l->base, what, l->limit,
	    l->private_ok && strcmp(what, "opportunities") == 0 ?
	    "&include=contact&confidentiality=all" :
	    strcmp(what, "opportunities") == 0 ? "&include=contact" : "");
}

static enum rc
lv_pull_window(struct ats *a, int64_t from_ms, int64_t to_ms, ats_cand_fn fn, void *arg,
    struct ats_pull *pull)
{
	struct emit em;
	char *base = listing_url(a->priv, "opportunities"), *url;
	enum rc rc;

	memset(&em, 0, sizeof(em));
	em.fn = fn;
	em.arg = arg;
	url = xasprintf("%s&updated_at_start=%lld&updated_at_end=%lld", base,
	    (long long)from_ms, (long long)to_ms);
	rc = run_listing(a, url, &em, pull);
	free(url);
	free(base);
	return rc;
}

/*
 * A full sweep lists every opportunity once, expanded (stage, contact,
 * applications: everything build_person reads), into a spill file under its
 * contact id (spill.h: a plain unlinked temporary file in state.dir, else
 * $TMPDIR or /tmp), and then delivers each contact from its group of records:
 * the listing minimum of calls, and no set of delivered contacts in memory.
 * An opportunity too long to keep (SPILL_REC_MAX) sends its contact to the
 * by-id read (contact_id batches of 50). A listing that stops short (a page
 * unreadable after its retries, the page cap) delivers the contacts it listed
 * so far, each read whole by id, as the by-id sweep does, and stays
 * incomplete; when no file can be made or written, the sweep is the by-id one.
 */
static enum rc
spill_opps(struct ats *a, cJSON *data, void *arg)
{
	struct spill *sp = arg;
	const cJSON *it;

	(void)a;
	cJSON_ArrayForEach(it, data) {
		const char *cid = opp_contact(it);
		char *text;
		if (cid == NULL) {
			log_warn("lever", "an opportunity without a contact was skipped");
			continue;
		}
		text = cJSON_PrintUnformatted(it);
		if (text == NULL || !spill_add(sp, cid, text, strlen(text)))
			log_warn("lever", "an opportunity whose contact id is over %d bytes was skipped",
			    SPILL_KEY_MAX);
		cJSON_free(text);
	}
	return RC_OK;
}

static void
take_opp(void *arg, const char *p, size_t len)
{
	cJSON *all = arg;
	struct buf err = BUF_INIT;
	cJSON *o = json_parse(p, len, &err);

	if (o != NULL)
		cJSON_AddItemToArray(all, o);
	buf_free(&err);
}

/* One contact of the spill file: from its records, or queued for the by-id
 * read (by_id: every contact is). */
static enum rc
deliver_spilled(struct ats *a, struct spill *sp, const char *cid, int by_id, struct emit *em)
{
	cJSON *all = cJSON_CreateArray();
	const cJSON **mine;
	struct candidate c;
	size_t n, max;
	int bits = spill_take(sp, cid, by_id ? NULL : take_opp, all);
	enum rc rc = RC_OK;

	if (by_id || (bits & SPILL_LONG) || spill_failed(sp)) {
		cJSON_Delete(all);
		em->batch[em->nbatch++] = xstrdup(cid);
		return em->nbatch == LV_CONTACTS_PER_CALL ? deliver_batch(a, em) : RC_OK;
	}
	max = (size_t)cJSON_GetArraySize(all) + 1;
	mine = xcalloc(max, sizeof(*mine));
	n = opps_of(all, cid, mine, max);
	if (n > 0) {
		rc = build_person(a, cid, mine, n, &c);
		if (rc == RC_OK) {
			rc = em->fn(em->arg, &c);
			em->pull->records++;
		}
		candidate_free(&c);
	}
	free(mine);
	cJSON_Delete(all);
	return rc;
}

static enum rc
lv_pull_all(struct ats *a, ats_cand_fn fn, void *arg, struct ats_pull *pull)
{
	struct lv *l = a->priv;
	struct emit em;
	struct spill *sp = spill_new(cfg_str(a->cfg, OPT_STATE_DIR), "the Lever opportunities");
	char *url, key[SPILL_KEY_MAX + 1];
	int by_id;
	enum rc rc, e = RC_OK;

	memset(&em, 0, sizeof(em));
	em.fn = fn;
	em.arg = arg;
	if (sp == NULL) {
		url = listing_url(l, "opportunities");
		rc = run_listing(a, url, &em, pull);
		free(url);
		return rc;
	}
	memset(pull, 0, sizeof(*pull));
	em.pull = pull;
	url = xasprintf("%s/opportunities?limit=%d&expand=stage&expand=contact&expand=applications%s",
	    l->base, l->limit, l->private_ok ? "&confidentiality=all" : "");
	rc = lv_list(a, url, spill_opps, sp, &pull->pages, &pull->complete);
	free(url);
	if (rc != RC_OK && rc != RC_REMOTE) {
		spill_free(sp);
		return rc;
	}
	by_id = rc != RC_OK || !pull->complete;
	if (spill_finish(sp) != 0 && !by_id) {
		/* the file failed with the listing whole: the by-id sweep */
		spill_free(sp);
		url = listing_url(l, "opportunities");
		rc = run_listing(a, url, &em, pull);
		free(url);
		return rc;
	}
	if (by_id)
		log_warn("lever", "the opportunity listing stopped after %d pages: the people of its "
		    "%ld opportunities read so far are read by contact id", pull->pages,
		    spill_records(sp));
	while (e == RC_OK && !spill_failed(sp) && spill_next_key(sp, key))
		e = deliver_spilled(a, sp, key, by_id, &em);
	if (e == RC_OK && em.nbatch > 0)
		e = deliver_batch(a, &em);
	if (e == RC_OK && spill_failed(sp))
		e = RC_REMOTE;	/* warned: some people were not delivered */
	batch_clear(&em);
	spill_free(sp);
	if (e != RC_OK) {
		pull->complete = 0;
		return e;
	}
	return rc;
}

static enum rc
lv_pull_deleted(struct ats *a, int64_t from_ms, int64_t to_ms, ats_id_fn fn, void *arg,
    struct ats_pull *pull)
{
	struct lv *l = a->priv;
	struct emit em;
	char *url;
	enum rc rc;

	memset(&em, 0, sizeof(em));
	em.idfn = fn;
	em.arg = arg;
	url = xasprintf("%s/opportunities/deleted?limit=%d&deleted_at_start=%lld"
	    "&deleted_at_end=%lld", l->base, l->limit, (long long)from_ms, (long long)to_ms);
	rc = run_listing(a, url, &em, pull);
	free(url);
	if (em.unattributed > 0)
		log_warn("lever", "%ld deleted opportunities name no contact; the next full sweep "
		    "confirms their people", em.unattributed);
	return rc;
}

static enum rc
lv_get_one(struct ats *a, const char *id, struct candidate **out)
{
	cJSON *all = cJSON_CreateArray();
	char *ids[1];
	const cJSON **mine;
	size_t n, max;
	enum rc rc;

	ids[0] = xstrdup(id);
	rc = fetch_people(a, ids, 1, 0, all);
	free(ids[0]);
	if (rc != RC_OK)
		goto out;
	max = (size_t)cJSON_GetArraySize(all) + 1;
	mine = xcalloc(max, sizeof(*mine));
	n = opps_of(all, id, mine, max);
	if (n == 0)
		rc = RC_RECORD;	/* no opportunity left: the person is gone */
	else {
		*out = xcalloc(1, sizeof(**out));
		rc = build_person(a, id, mine, n, *out);
		if (rc != RC_OK) {
			candidate_free(*out);
			free(*out);
			*out = NULL;
		}
	}
	free(mine);
out:
	cJSON_Delete(all);
	return rc;
}

static enum rc
lv_open(struct ats *a)
{
	struct lv *l = xcalloc(1, sizeof(*l));
	const char *base = cfg_str(a->cfg, OPT_ATS_BASE_URL);
	int64_t rps = cfg_int(a->cfg, OPT_ATS_RPS);
	size_t n;
	enum rc rc;

	a->priv = l;
	l->base = xstrdup(base ? base : a->drv->base_url);
	n = strlen(l->base);
	while (n > 0 && l->base[n - 1] == '/')
		l->base[--n] = '\0';
	l->key = cfg_str(a->cfg, OPT_ATS_API_KEY);
	l->region = cfg_str(a->cfg, OPT_PHONE_DEFAULT_REGION);
	l->limit = (int)cfg_int(a->cfg, OPT_ATS_PAGE_SIZE);
	if (l->limit > LV_MAX_LIMIT)
		l->limit = LV_MAX_LIMIT;
	if (l->limit < 1)
		l->limit = 1;
	l->max_pages = (int)cfg_int(a->cfg, OPT_ATS_MAX_PAGES);
	l->private_ok = cfg_bool(a->cfg, OPT_ATS_PRIVATE_CANDIDATES);
	if (l->key == NULL || *l->key == '\0') {
		api_fail(&a->err, "lever", 0, NULL,
		    "ats.api_key is needed (a Lever API key; OAuth is not "
		    "supported yet)");
		return RC_CONFIG;
	}
	if (strchr(l->key, ':') != NULL) {
		api_fail(&a->err, "lever", 0, NULL,
		    "ats.api_key must not contain ':' (it is the Basic user name)");
		return RC_CONFIG;
	}
	log_add_secret(l->key);
	a->pace = pace_new("lever", rps > 0 ? (double)rps : LV_RPS * LV_RPS_MARGIN, LV_BURST);
	/* The archive reasons decide hired vs rejected: read when the status is
	 * used (a fields rule, or stage tags); reading them proves the key early.
	 * Otherwise the first listing proves it. */
	rc = RC_OK;
	if (a->used & ATS_FLD_STATUS)
		rc = load_optional(a, "archive_reasons", "", &l->reasons, ATS_FLD_STATUS,
		    &l->reasons_loaded);
	return rc;
}

/* The reference lists the mapping uses, now (doctor): the archive reasons
 * were read by open; the postings when the job is used. /stages only serves
 * servers that answer with bare stage ids, so it is not asked here. */
static enum rc
lv_lookups(struct ats *a)
{
	return (a->used & ATS_FLD_JOB) ? need_postings(a) : RC_OK;
}

static void
lv_close(struct ats *a)
{
	struct lv *l = a->priv;

	if (l != NULL) {
		free(l->base);
		ats_idmap_free(&l->reasons);
		ats_idmap_free(&l->stages);
		ats_idmap_free(&l->postings);
		free(l);
	}
	pace_free(a->pace);
	a->pace = NULL;
	a->priv = NULL;
}

/* For init: the pipeline stages and the archive reasons. */
static enum rc
lv_reference(struct ats *a, struct ats_ref *r)
{
	struct lv *l = a->priv;
	size_t i;
	enum rc rc;

	if ((rc = need_stages(a)) != RC_OK)
		return rc;
	for (i = 0; i < l->stages.n; i++)
		ats_idmap_add(&r->stages, l->stages.v[i].id, l->stages.v[i].name, 0);
	for (i = 0; i < l->reasons.n; i++)
		ats_idmap_add(&r->reasons, l->reasons.v[i].id, l->reasons.v[i].name,
		    l->reasons.v[i].flag);
	return RC_OK;
}

const struct ats_driver ats_lever = {
	.name = "lever",
	.base_url = "https://api.lever.co/v1",
	.scopes = "read access to opportunities and contacts",
	.fix = "check ats.api_key (Lever: Settings > Integrations and API > API credentials) "
	    "and that it may read opportunities and contacts",
	.reference = lv_reference,
	.open = lv_open,
	.pull_window = lv_pull_window,
	.pull_all = lv_pull_all,
	.get = lv_get_one,
	.pull_deleted = lv_pull_deleted,
	.lookups = lv_lookups,
	.close = lv_close,
};
