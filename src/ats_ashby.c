/*
 * ats_ashby.c — Ashby public API (research/ats-apis.md §3, §5, §9).
 *
 * Calls: RPC, every one a POST <base>/<name> (candidate.list, application.list,
 * candidate.info, application.info, job.list) with a JSON body, HTTP Basic
 * with the API key as user name and an empty password, and Accept:
 * application/json; version=1 (http.c also sends its own "Accept:
 * application/json" line; the two lines form one list, RFC 9110 §5.3).
 * Errors mostly arrive as HTTP 200 with
 * {"success": false, "errorInfo": {"code", "message", "requestId"}} (and the
 * deprecated "errors": [code]): every answer's "success" is checked, and a
 * success:false is an error, never an empty page. missing_endpoint_permission
 * is RC_AUTH with the endpoint named; HTTP 401/403 (missing / bad key) are
 * RC_AUTH; a 429 is retried by http.c (Retry-After when sent, else backoff).
 *
 * Lists: body {limit <= 100, cursor, syncToken}; pages are followed by
 * nextCursor while moreDataAvailable is true; the last page carries a
 * syncToken. A page without a results array or moreDataAvailable, or with
 * moreDataAvailable and no nextCursor, is an unreadable answer (RC_REMOTE).
 *
 * Candidates and applications are separate listings, and stage and status
 * live on applications (an application can change without its candidate).
 *
 *   Full listing (pull_all, and pull_window without a usable token): job.list
 *   (once per run: which jobs are confidential), then the whole of
 *   application.list into an index holding, per candidate, only the CURRENT
 *   application (ats_pick_application, applied pairwise as the pages come)
 *   with its strings interned (stage, job, source, referrer), then the whole
 *   of candidate.list, each candidate joined with its index entry. A
 *   candidate with applicationIds but no entry (an application created after
 *   the application listing passed) has them fetched by application.info. Memory:
 *   about 90 bytes per candidate for the index (10 MB at 100,000), pages
 *   freed as they go (measured: 10.8 MB peak RSS for 100,000 people, 2.9 MB
 *   for 10,000: not flat, bench/ashby_pull.sh); requests: one per 100
 *   applications and per 100 candidates, plus job.list (0.02 a person).
 *   The page listings carry no ordering promise (research: NOT FOUND), so
 *   the join needs one side in memory; the other choice, application.info
 *   per candidate, is flat but costs a request or more per person.
 *
 *   Incremental (pull_window with a->sync_in): application.list with the
 *   applications token gives the changed applications: their candidate ids
 *   are kept in a set. candidate.list with the candidates token gives the
 *   changed candidates: each is delivered with its applications fetched by
 *   application.info. Then every candidate of the set not delivered yet is
 *   fetched by candidate.info (+ application.info) and delivered: an
 *   application-only change (a stage move, a rejection) reaches its
 *   candidate. A candidate gone since (candidate_not_found) is skipped; the
 *   full sweep confirms deletes. The window's times bound nothing here:
 *   the tokens decide what changed; the times are only logged. Without a
 *   token, pull_window lists everything (and yields a token).
 *
 * Sync tokens: the two listings' tokens travel as ONE string, a JSON object
 * {"v":1,"candidates":TOKEN,"applications":TOKEN}, in a->sync_in/sync_out.
 * sync_out is set only when BOTH listings read their last page (a listing
 * cut short by an error or the page cap leaves it NULL); the engine stores it
 * after committing what was delivered. A token stands for the moment its
 * listing STARTED, so an edit landing mid-listing comes again in the next
 * delta (delivered twice at worst, never lost). Any token the source refuses
 * (any success:false on a listing that carries a syncToken:
 * incremental_sync_too_large, an expired token — its code is NOT FOUND in the
 * docs — or anything else),
 * or a stored token this driver cannot read, drops both tokens: a full
 * listing follows and a->sync_reset says why; pull->restarted is set.
 *
 * Candidates: name is one string, kept as full_name and split by
 * norm_split_name (first token / the rest). Emails: primaryEmailAddress first,
 * then emailAddresses[] (duplicates dropped); phones likewise
 * (primaryPhoneNumber, phoneNumbers[]). position → title; company;
 * createdAt/updatedAt; customFields by id, the valueLabel when it is text,
 * else the value, private ones (isPrivate) left out. source: the current
 * application's, else the candidate's.
 * Current application → app_id, stage {currentInterviewStage.id, .title},
 * status from status and archiveReason.reasonType: Active and Lead → active,
 * Hired → hired, Archived with RejectedByOrg → rejected, RejectedByCandidate
 * → withdrawn, anything else → archived; job.title; applied_at = createdAt.
 * Referrer (research: source.sourceType + creditedToUser): the credited
 * user's "firstName lastName" when the source's type is titled "Referral".
 *
 * Choices where the research is silent (NOT FOUND):
 *   - Anonymised candidates (candidate.anonymize exists; its result's shape
 *     is undocumented): a name beginning with "Anonym" (any case) with no
 *     email address and no phone number. They are flagged (anonymized) with
 *     names, title, company and custom fields left empty: nothing blanked is
 *     ever copied.
 *   - Confidential: job.list's jobs carry "confidential"; a candidate with
 *     any application on a confidential job is delivered with is_private set
 *     (ats.private_candidates decides in the engine). Keys without the
 *     confidential permission do not see those candidates at all, and
 *     candidate.info then says not found: a key that loses the permission
 *     makes them look deleted (doctor's job to check the key).
 *   - Deletes: no feed (webhooks only). get() uses candidate.info; a code
 *     ending in "_not_found" (the docs' example is application_not_found)
 *     is RC_RECORD: gone. Merges are the engine's to detect.
 *   - Rate: no published limit; the pacer's ceiling is ats.max_rps, else 10
 *     requests/s with a burst of 5, cut on 429s (pace.c's AIMD).
 */
#define _POSIX_C_SOURCE 200809L
#include <ctype.h>
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

#define AB_MAX_LIMIT 100	/* the documented maximum page size */
#define AB_RPS 10.0		/* no published limit */
#define AB_APPS_PER_CAND 100	/* application.info calls for one candidate, at most */
#define AB_TOKEN_MAX 4096	/* longest sync token kept */

/* ----------------------------------------------------------- interning */

/* Strings stored once each, named by a 1-based id (0: none). Pointers from
 * strtab_str are valid until the next strtab_intern. */
struct strtab {
	struct buf arena;
	uint32_t *off;
	size_t n, cap;
	uint32_t *slots;
	size_t nslots;
};

static uint64_t
hash_bytes(const void *p, size_t n)
{
	const unsigned char *s = p;
	uint64_t h = 1469598103934665603ULL;
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= s[i];
		h *= 1099511628211ULL;
	}
	return h ^ (h >> 29);
}

static const char *
strtab_str(const struct strtab *t, uint32_t id)
{
	return id == 0 || id > t->n ? NULL : t->arena.p + t->off[id - 1];
}

static uint32_t
strtab_find(const struct strtab *t, const char *s)
{
	size_t i;

	if (s == NULL || t->nslots == 0)
		return 0;
	i = (size_t)hash_bytes(s, strlen(s)) & (t->nslots - 1);
	for (; t->slots[i] != 0; i = (i + 1) & (t->nslots - 1))
		if (strcmp(strtab_str(t, t->slots[i]), s) == 0)
			return t->slots[i];
	return 0;
}

static void
strtab_grow(struct strtab *t)
{
	size_t ns = t->nslots ? t->nslots * 2 : 64, i, j;
	uint32_t *sl = xcalloc(ns, sizeof(*sl));

	for (i = 0; i < t->nslots; i++) {
		const char *s;
		if (t->slots[i] == 0)
			continue;
		s = strtab_str(t, t->slots[i]);
		for (j = (size_t)hash_bytes(s, strlen(s)) & (ns - 1); sl[j] != 0; j = (j + 1) & (ns - 1))
			;
		sl[j] = t->slots[i];
	}
	free(t->slots);
	t->slots = sl;
	t->nslots = ns;
}

static uint32_t
strtab_intern(struct strtab *t, const char *s)
{
	uint32_t id;
	size_t i;

	if (s == NULL)
		return 0;
	if ((id = strtab_find(t, s)) != 0)
		return id;
	if ((t->n + 1) * 2 > t->nslots)
		strtab_grow(t);
	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 64;
		t->off = xrealloc(t->off, t->cap * sizeof(*t->off));
	}
	t->off[t->n] = (uint32_t)t->arena.len;
	buf_add(&t->arena, s, strlen(s) + 1);
	id = (uint32_t)++t->n;
	for (i = (size_t)hash_bytes(s, strlen(s)) & (t->nslots - 1); t->slots[i] != 0;
	    i = (i + 1) & (t->nslots - 1))
		;
	t->slots[i] = id;
	return id;
}

static void
strtab_free(struct strtab *t)
{
	buf_free(&t->arena);
	free(t->off);
	free(t->slots);
	memset(t, 0, sizeof(*t));
}

/* ------------------------------------------------------ application index */

/* An id as 16 bytes: a canonical lower-case UUID in binary (txt 0), or
 * anything else interned (txt 1, the id in the first 4 bytes). */
struct idk {
	uint8_t b[16];
	uint8_t txt;
};

/* The current application of one candidate (or, in incremental mode, only
 * "this candidate had an application change"). */
struct aent {
	uint8_t cid[16], aid[16];
	int64_t upd_ms, crt_ms;
	uint32_t stage_id, stage_name, job, source, referrer, status;
	uint8_t cid_txt, aid_txt, active, conf, delivered;
};

struct aidx {
	struct aent *v;
	size_t n, cap;
	uint32_t *slots;	/* entry index + 1 */
	size_t nslots;
	struct strtab str;
};

/* 0 when s is a canonical lower-case UUID (written into b). */
static int
uuid_parse(const char *s, uint8_t b[16])
{
	size_t i, k = 0;

	if (strlen(s) != 36)
		return -1;
	for (i = 0; i < 36; ) {
		int hi, lo;
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i++] != '-')
				return -1;
			continue;
		}
		hi = hex_digit((unsigned char)s[i]);
		lo = hex_digit((unsigned char)s[i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		b[k++] = (uint8_t)(hi << 4 | lo);
		i += 2;
	}
	return 0;
}

static void
uuid_fmt(const uint8_t b[16], char out[37])
{
	static const char hx[] = "0123456789abcdef";
	size_t i, k = 0;

	for (i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[k++] = '-';
		out[k++] = hx[b[i] >> 4];
		out[k++] = hx[b[i] & 15];
	}
	out[k] = '\0';
}

/* The key of id s; with intern 0 a text id never seen gives -1. */
static int
idk_of(struct aidx *x, const char *s, int intern, struct idk *k)
{
	uint32_t sid;

	memset(k, 0, sizeof(*k));
	if (uuid_parse(s, k->b) == 0)
		return 0;
	sid = intern ? strtab_intern(&x->str, s) : strtab_find(&x->str, s);
	if (sid == 0)
		return -1;
	memcpy(k->b, &sid, sizeof(sid));
	k->txt = 1;
	return 0;
}

/* The text of a key: out, or a string of the index. */
static const char *
idk_str(const struct aidx *x, const uint8_t b[16], uint8_t txt, char out[37])
{
	uint32_t sid;

	if (!txt) {
		uuid_fmt(b, out);
		return out;
	}
	memcpy(&sid, b, sizeof(sid));
	return strtab_str(&x->str, sid);
}

static size_t
idk_hash(const uint8_t b[16], uint8_t txt)
{
	uint8_t k[17];

	memcpy(k, b, 16);
	k[16] = txt;
	return (size_t)hash_bytes(k, sizeof(k));
}

static struct aent *
aidx_find(struct aidx *x, const struct idk *k)
{
	size_t i;

	if (x->nslots == 0)
		return NULL;
	for (i = idk_hash(k->b, k->txt) & (x->nslots - 1); x->slots[i] != 0;
	    i = (i + 1) & (x->nslots - 1)) {
		struct aent *e = &x->v[x->slots[i] - 1];
		if (e->cid_txt == k->txt && memcmp(e->cid, k->b, 16) == 0)
			return e;
	}
	return NULL;
}

/* The entry of candidate k, made (zeroed but for the key) when new. */
static struct aent *
aidx_get(struct aidx *x, const struct idk *k, int *made)
{
	struct aent *e = aidx_find(x, k);
	size_t i;

	*made = 0;
	if (e != NULL)
		return e;
	if ((x->n + 1) * 2 > x->nslots) {
		size_t ns = x->nslots ? x->nslots * 2 : 1024, j;
		uint32_t *sl = xcalloc(ns, sizeof(*sl));
		for (j = 0; j < x->n; j++) {
			for (i = idk_hash(x->v[j].cid, x->v[j].cid_txt) & (ns - 1); sl[i] != 0; i = (i + 1) & (ns - 1))
				;
			sl[i] = (uint32_t)(j + 1);
		}
		free(x->slots);
		x->slots = sl;
		x->nslots = ns;
	}
	if (x->n == x->cap) {
		x->cap = x->cap ? x->cap * 2 : 1024;
		x->v = xrealloc(x->v, x->cap * sizeof(*x->v));
	}
	e = &x->v[x->n];
	memset(e, 0, sizeof(*e));
	memcpy(e->cid, k->b, 16);
	e->cid_txt = k->txt;
	for (i = idk_hash(k->b, k->txt) & (x->nslots - 1); x->slots[i] != 0; i = (i + 1) & (x->nslots - 1))
		;
	x->slots[i] = (uint32_t)(++x->n);
	*made = 1;
	return e;
}

static void
aidx_free(struct aidx *x)
{
	free(x->v);
	free(x->slots);
	strtab_free(&x->str);
	memset(x, 0, sizeof(*x));
}

/* ------------------------------------------------------------ the driver */

struct ab {
	char *base;		/* https://api.ashbyhq.com */
	const char *key, *region;
	int limit, max_pages;
	struct strtab conf_jobs;	/* ids of confidential jobs */
	int jobs_loaded;
	struct aidx idx;
	long fallback_info;	/* application.info calls made by a full listing */
};

/* What an error answer said. */
struct ab_err {
	char code[64];		/* errorInfo.code (or errors[0]), printable, "" when none */
};

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

/* Copies the printable code characters of s. */
static void
code_copy(char *dst, size_t size, const char *s)
{
	size_t n = 0;

	for (; s != NULL && *s != '\0' && n + 1 < size; s++)
		if (isalnum((unsigned char)*s) || *s == '_' || *s == '-' || *s == '.')
			dst[n++] = *s;
	dst[n] = '\0';
}

static int
code_ends(const char *code, const char *suffix)
{
	size_t n = strlen(code), m = strlen(suffix);

	return n >= m && strcmp(code + n - m, suffix) == 0;
}

/*
 * POSTs body to <base>/<rpc>. RC_OK: *out is the parsed answer (success true;
 * caller frees). RC_RECORD: the API said success:false; err->code says what
 * (logged by the caller, who knows what it means). missing_endpoint_permission,
 * 401 and 403 are RC_AUTH (logged here); transport failures, 429s after the
 * retries, 5xx and unreadable answers are RC_REMOTE (or RC_QUOTA) and logged.
 */
static enum rc
ab_call(struct ats *a, const char *rpc, const cJSON *body, cJSON **out, struct ab_err *err)
{
	static const char *const hdrs[] = { "Accept: application/json; version=1", NULL };
	struct ab *g = a->priv;
	struct http_policy pol = policy(a);
	struct http_job job;
	struct buf perr = BUF_INIT, safe = BUF_INIT;
	char *url = xasprintf("%s/%s", g->base, rpc), *text = json_print(body);
	const cJSON *info, *ok;
	cJSON *j = NULL;
	enum rc rc;

	*out = NULL;
	err->code[0] = '\0';
	memset(&job, 0, sizeof(job));
	job.req.method = "POST";
	job.req.url = url;
	job.req.body = text;
	job.req.body_len = strlen(text);
	job.req.content_type = "application/json";
	job.req.basic_user = g->key;
	job.req.basic_pass = "";
	job.req.headers = hdrs;
	job.idempotent = 1;	/* every call used here only reads */
	job.body_ok = http_body_json;	/* so a cut or malformed answer is read again */
	rc = http_call(a->http, &job, &pol);
	if (rc != RC_OK) {
		api_fail(&a->err, "ashby", job.resp.status, NULL,
		    "%s: %s: %s", rpc, http_fail_str(job.resp.fail), job.resp.err);
		goto out;
	}
	if (job.resp.status == 401 || job.resp.status == 403) {
		api_fail(&a->err, "ashby", job.resp.status, NULL,
		    "%s: HTTP %ld: Ashby refused the API key; check ats.api_key", rpc,
		    job.resp.status);
		rc = RC_AUTH;
		goto out;
	}
	if (job.resp.status != 200) {
		api_fail(&a->err, "ashby", job.resp.status, NULL,
		    "%s: HTTP %ld%s", rpc, job.resp.status, job.resp.status == 404 ?
		    " (is ats.base_url the API's root?)" : "");
		rc = RC_REMOTE;
		goto out;
	}
	j = json_parse(job.resp.body.p, job.resp.body.len, &perr);
	ok = json_get(j, "success");
	if (j == NULL || !cJSON_IsObject(j) || !cJSON_IsBool(ok)) {
		api_fail(&a->err, "ashby", job.resp.status, NULL,
		    "%s: unreadable answer: %s", rpc, perr.len ? perr.p :
		    "not an object with a boolean \"success\"");
		rc = RC_REMOTE;
		goto out;
	}
	if (cJSON_IsTrue(ok)) {
		*out = j;
		j = NULL;
		rc = RC_OK;
		goto out;
	}
	info = json_get(j, "errorInfo");
	code_copy(err->code, sizeof(err->code), json_str(info, "code"));
	if (err->code[0] == '\0')
		code_copy(err->code, sizeof(err->code), cJSON_IsString(cJSON_GetArrayItem(json_get(j,
		    "errors"), 0)) ? cJSON_GetArrayItem(json_get(j, "errors"), 0)->valuestring : NULL);
	if (err->code[0] == '\0')
		str_copy(err->code, sizeof(err->code), "unknown");
	if (strcmp(err->code, "missing_endpoint_permission") == 0) {
		api_fail(&a->err, "ashby", job.resp.status, NULL,
		    "%s: the API key lacks the permission for the endpoint %s "
		    "(missing_endpoint_permission); grant it in Ashby's API key settings", rpc, rpc);
		rc = RC_AUTH;
		goto out;
	}
	{
		const char *m = json_str(info, "message");
		text_escape(&safe, m ? m : "", m ? (strlen(m) < 300 ? strlen(m) : 300) : 0);
		log_debug("ashby", "%s: success:false %s: %s (request %s)", rpc, err->code, safe.p,
		    json_str(info, "requestId") ? json_str(info, "requestId") : "?");
	}
	rc = RC_RECORD;
out:
	http_resp_free(&job.resp);
	buf_free(&perr);
	buf_free(&safe);
	cJSON_Delete(j);
	free(url);
	free(text);
	return rc;
}

/* --------------------------------------------------------------- listings */

typedef enum rc (*page_fn)(struct ats *, const cJSON *results, void *arg);

struct listing {
	int pages;
	int complete;		/* the last page was read */
	char *token;		/* its syncToken (malloc'd), or NULL */
	int refused;		/* success:false on a listing that carried a syncToken */
	char code[64];		/* the code of a success:false */
};

/*
 * Reads every page of rpc with the filters in base (a JSON object; limit and
 * cursor are added), calling fn per page. RC_OK with l->complete 0 means the
 * page cap stopped it. A success:false is RC_REMOTE (logged), except on a
 * listing with a syncToken, where it is RC_RECORD with l->refused set (the
 * caller drops the token).
 */
static enum rc
list_pages(struct ats *a, const char *rpc, const cJSON *base, page_fn fn, void *arg,
    struct listing *l)
{
	struct ab *g = a->priv;
	cJSON *body = cJSON_Duplicate(base, 1);
	char *cursor = NULL;
	int with_token = json_get(base, "syncToken") != NULL;
	enum rc rc = RC_OK;

	memset(l, 0, sizeof(*l));
	cJSON_AddNumberToObject(body, "limit", g->limit);
	while (l->pages < g->max_pages) {
		struct ab_err err;
		const cJSON *res, *more;
		cJSON *ans = NULL;
		const char *next;

		if (cursor != NULL) {
			cJSON_DeleteItemFromObjectCaseSensitive(body, "cursor");
			cJSON_AddStringToObject(body, "cursor", cursor);
		}
		rc = ab_call(a, rpc, body, &ans, &err);
		if (rc == RC_RECORD) {
			str_copy(l->code, sizeof(l->code), err.code);
			if (with_token) {
				l->refused = 1;
			} else {
				api_fail(&a->err, "ashby", 0, NULL,
				    "%s: the listing failed on page %d: %s", rpc, l->pages + 1,
				    err.code);
				rc = RC_REMOTE;
			}
			break;
		}
		if (rc != RC_OK)
			break;
		res = json_get(ans, "results");
		more = json_get(ans, "moreDataAvailable");
		next = json_str(ans, "nextCursor");
		if (!cJSON_IsArray(res) || !cJSON_IsBool(more) ||
		    (cJSON_IsTrue(more) && (next == NULL || *next == '\0'))) {
			api_fail(&a->err, "ashby", 0, NULL,
			    "%s: page %d is not a list page (results, moreDataAvailable, "
			    "nextCursor)", rpc, l->pages + 1);
			cJSON_Delete(ans);
			rc = RC_REMOTE;
			break;
		}
		l->pages++;
		rc = fn(a, res, arg);
		if (rc != RC_OK) {
			cJSON_Delete(ans);
			break;
		}
		free(cursor);
		cursor = NULL;
		if (cJSON_IsFalse(more)) {
			const char *tok = json_str(ans, "syncToken");
			if (tok != NULL && *tok != '\0' && strlen(tok) < AB_TOKEN_MAX)
				l->token = xstrdup(tok);
			l->complete = 1;
			cJSON_Delete(ans);
			break;
		}
		cursor = xstrdup(next);
		cJSON_Delete(ans);
	}
	if (rc == RC_OK && !l->complete)
		log_warn("ashby", "%s: listing stopped at the page cap (%d pages)", rpc, g->max_pages);
	free(cursor);
	cJSON_Delete(body);
	return rc;
}

/* ------------------------------------------------------------------- jobs */

static enum rc
jobs_page(struct ats *a, const cJSON *res, void *arg)
{
	struct ab *g = a->priv;
	const cJSON *it;

	(void)arg;
	cJSON_ArrayForEach(it, res)
		if (cJSON_IsTrue(json_get(it, "confidential")) && json_str(it, "id") != NULL)
			strtab_intern(&g->conf_jobs, json_str(it, "id"));
	return RC_OK;
}

/* Which jobs are confidential: once per run. */
static enum rc
load_jobs(struct ats *a)
{
	static const char *const statuses[] = { "Draft", "Open", "Closed", "Archived" };
	struct ab *g = a->priv;
	struct listing l;
	cJSON *body;
	enum rc rc;

	if (g->jobs_loaded)
		return RC_OK;
	body = cJSON_CreateObject();
	cJSON_AddItemToObject(body, "status", cJSON_CreateStringArray(statuses, 4));
	rc = list_pages(a, "job.list", body, jobs_page, NULL, &l);
	cJSON_Delete(body);
	free(l.token);
	if (rc != RC_OK)
		return rc;
	if (!l.complete)
		return RC_REMOTE;
	g->jobs_loaded = 1;
	log_debug("ashby", "%zu confidential jobs", g->conf_jobs.n);
	return RC_OK;
}

/* ---------------------------------------------------------- applications */

/* One application as the driver uses it; strings are borrowed. */
struct ab_app {
	const char *id, *cand_id;
	const char *status;	/* the canonical word, or the source's unknown word */
	int active, conf;
	int64_t upd_ms, crt_ms;
	const char *stage_id, *stage_name, *job, *source, *referrer;
	char refbuf[256];
};

static int64_t
time_ms(const cJSON *o, const char *key)
{
	int64_t ms = 0;
	int date_only;

	if (norm_time(json_str(o, key), NORM_DATE_ISO, &ms, &date_only) != NORM_OK)
		return 0;
	return ms;
}

/* 0 and *p filled, or -1 for a record without an id or candidate id. */
static int
parse_app(struct ab *g, const cJSON *o, struct ab_app *p)
{
	const char *st = json_str(o, "status");
	const cJSON *stage = json_get(o, "currentInterviewStage"), *src = json_get(o, "source");
	const cJSON *user = json_get(o, "creditedToUser");
	const char *stype = json_str(json_get(src, "sourceType"), "title");

	memset(p, 0, sizeof(*p));
	p->id = json_str(o, "id");
	p->cand_id = json_str(json_get(o, "candidate"), "id");
	if (p->id == NULL || *p->id == '\0' || p->cand_id == NULL || *p->cand_id == '\0')
		return -1;
	p->status = st;
	if (st != NULL && (strcmp(st, "Active") == 0 || strcmp(st, "Lead") == 0)) {
		p->status = "active";
		p->active = 1;
	} else if (st != NULL && strcmp(st, "Hired") == 0) {
		p->status = "hired";
	} else if (st != NULL && strcmp(st, "Archived") == 0) {
		const char *rt = json_str(json_get(o, "archiveReason"), "reasonType");
		p->status = rt != NULL && strcmp(rt, "RejectedByOrg") == 0 ? "rejected" :
		    rt != NULL && strcmp(rt, "RejectedByCandidate") == 0 ? "withdrawn" : "archived";
	}
	p->upd_ms = time_ms(o, "updatedAt");
	p->crt_ms = time_ms(o, "createdAt");
	p->stage_id = json_str(stage, "id");
	p->stage_name = json_str(stage, "title");
	p->job = json_str(json_get(o, "job"), "title");
	p->source = json_str(src, "title");
	if (stype != NULL && strcasecmp(stype, "Referral") == 0 && cJSON_IsObject(user)) {
		const char *f = json_str(user, "firstName"), *l = json_str(user, "lastName");
		snprintf(p->refbuf, sizeof(p->refbuf), "%s%s%s", f ? f : "", f && l ? " " : "", l ? l : "");
		if (p->refbuf[0] != '\0')
			p->referrer = p->refbuf;
	}
	p->conf = strtab_find(&g->conf_jobs, json_str(json_get(o, "job"), "id")) != 0;
	return 0;
}

/* 1 when application b is to be preferred over the current a (the one rule). */
static int
app_better(const struct ats *at, const struct ab_app *a, const struct ab_app *b)
{
	struct ats_app v[2];

	v[0].id = a->id;
	v[0].active = a->active;
	v[0].updated_ms = a->upd_ms;
	v[1].id = b->id;
	v[1].active = b->active;
	v[1].updated_ms = b->upd_ms;
	return ats_app_better(&v[0], &v[1], at->app_policy);
}

/* Fills c's application fields from p. */
static void
apply_app(struct candidate *c, const struct ab_app *p)
{
	c->app_id = xstrdup(p->id);
	c->stage_id = p->stage_id ? xstrdup(p->stage_id) : NULL;
	c->stage_name = p->stage_name ? xstrdup(p->stage_name) : NULL;
	candidate_set_status(c, p->status);
	c->job = p->job ? xstrdup(p->job) : NULL;
	if (p->source != NULL) {
		free(c->source);
		c->source = xstrdup(p->source);
	}
	c->referrer = p->referrer ? xstrdup(p->referrer) : NULL;
	c->applied_ms = p->crt_ms;
}

/* The index entry e as an ab_app (strings borrowed from the index; idbuf
 * holds the application id's text). */
static void
entry_app(const struct aidx *x, const struct aent *e, struct ab_app *p, char idbuf[37])
{
	memset(p, 0, sizeof(*p));
	p->id = idk_str(x, e->aid, e->aid_txt, idbuf);
	p->status = strtab_str(&x->str, e->status);
	p->active = e->active;
	p->upd_ms = e->upd_ms;
	p->crt_ms = e->crt_ms;
	p->stage_id = strtab_str(&x->str, e->stage_id);
	p->stage_name = strtab_str(&x->str, e->stage_name);
	p->job = strtab_str(&x->str, e->job);
	p->source = strtab_str(&x->str, e->source);
	p->referrer = strtab_str(&x->str, e->referrer);
}

/* Full listing: each application page into the index (current one per candidate). */
static enum rc
index_page(struct ats *a, const cJSON *res, void *arg)
{
	struct ab *g = a->priv;
	struct aidx *x = &g->idx;
	const cJSON *it;

	(void)arg;
	cJSON_ArrayForEach(it, res) {
		struct ab_app p, cur;
		struct idk ck, ak;
		struct aent *e;
		char idbuf[37];
		int made, conf;

		if (parse_app(g, it, &p) != 0)
			continue;
		idk_of(x, p.cand_id, 1, &ck);
		e = aidx_get(x, &ck, &made);
		conf = e->conf | p.conf;
		if (!made) {
			entry_app(x, e, &cur, idbuf);
			if (!app_better(a, &cur, &p)) {
				e->conf = (uint8_t)conf;
				continue;
			}
		}
		idk_of(x, p.id, 1, &ak);
		memcpy(e->aid, ak.b, 16);
		e->aid_txt = ak.txt;
		e->upd_ms = p.upd_ms;
		e->crt_ms = p.crt_ms;
		e->active = (uint8_t)p.active;
		e->conf = (uint8_t)conf;
		e->status = strtab_intern(&x->str, p.status);
		e->stage_id = strtab_intern(&x->str, p.stage_id);
		e->stage_name = strtab_intern(&x->str, p.stage_name);
		e->job = strtab_intern(&x->str, p.job);
		e->source = strtab_intern(&x->str, p.source);
		e->referrer = strtab_intern(&x->str, p.referrer);
	}
	return RC_OK;
}

/* Incremental: the candidates whose applications changed. */
static enum rc
changed_apps_page(struct ats *a, const cJSON *res, void *arg)
{
	struct ab *g = a->priv;
	const cJSON *it;
	int made;

	(void)arg;
	cJSON_ArrayForEach(it, res) {
		struct idk ck;
		const char *cid = json_str(json_get(it, "candidate"), "id");
		if (cid == NULL || *cid == '\0')
			continue;
		idk_of(&g->idx, cid, 1, &ck);
		aidx_get(&g->idx, &ck, &made);
	}
	return RC_OK;
}

/* The current application among those of ids (application.info each), into
 * c. A missing application (deleted since) is skipped. */
static enum rc
fetch_current(struct ats *a, struct candidate *c, const cJSON *ids)
{
	struct ab *g = a->priv;
	cJSON *objs[AB_APPS_PER_CAND];
	struct ab_app best, p;
	const cJSON *it;
	size_t n = 0, i;
	int have = 0;
	enum rc rc = RC_OK;

	cJSON_ArrayForEach(it, ids) {
		struct ab_err err;
		cJSON *body, *ans = NULL;

		if (!cJSON_IsString(it))
			continue;
		if (n == AB_APPS_PER_CAND) {
			log_warn("ashby", "candidate %s has more than %d applications; the rest are not read",
			    c->id, AB_APPS_PER_CAND);
			break;
		}
		body = cJSON_CreateObject();
		cJSON_AddStringToObject(body, "applicationId", it->valuestring);
		rc = ab_call(a, "application.info", body, &ans, &err);
		cJSON_Delete(body);
		if (rc == RC_RECORD && code_ends(err.code, "_not_found")) {
			rc = RC_OK;
			continue;
		}
		if (rc == RC_RECORD) {
			api_fail(&a->err, "ashby", 0, NULL, "application.info: %s", err.code);
			rc = RC_REMOTE;
		}
		if (rc != RC_OK)
			break;
		objs[n++] = ans;
		if (parse_app(g, json_get(ans, "results"), &p) != 0)
			continue;
		if (!have || app_better(a, &best, &p)) {
			best = p;
			if (p.referrer != NULL)
				best.referrer = best.refbuf;
			have = 1;
		}
		c->is_private |= p.conf;
	}
	if (rc == RC_OK && have)
		apply_app(c, &best);
	for (i = 0; i < n; i++)
		cJSON_Delete(objs[i]);
	return rc;
}

/* ------------------------------------------------------------ candidates */

static char *
dup_or_null(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}

static void
parse_candidate(struct ab *g, const cJSON *o, struct candidate *c)
{
	const cJSON *pe = json_get(o, "primaryEmailAddress"), *pp = json_get(o, "primaryPhoneNumber");
	const cJSON *arr = json_get(o, "emailAddresses"), *it;
	const char **raw;
	const char *name = json_str(o, "name"), *v;
	size_t n = 0, primary;

	memset(c, 0, sizeof(*c));
	c->ats = xstrdup("ashby");
	c->id = dup_or_null(json_str(o, "id"));
	if (name != NULL) {
		struct buf f = BUF_INIT, l = BUF_INIT;
		enum norm_res r = norm_split_name(name, &f, &l);
		c->full_name = xstrdup(name);
		if (r == NORM_OK) {
			c->first_name = xstrdup(f.p);
			c->last_name = l.len > 0 ? xstrdup(l.p) : NULL;
		} else if (r == NORM_INVALID) {
			candidate_add_invalid(c, "name", name, "not a usable name (control characters, "
			    "invalid UTF-8 or too long)");
		}
		buf_free(&f);
		buf_free(&l);
	}
	c->title = dup_or_null(json_str(o, "position"));
	c->company = dup_or_null(json_str(o, "company"));
	c->created_ms = time_ms(o, "createdAt");
	c->updated_ms = time_ms(o, "updatedAt");
	c->source = dup_or_null(json_str(json_get(o, "source"), "title"));

	raw = xcalloc((size_t)cJSON_GetArraySize(arr) + 2, sizeof(*raw));
	primary = (size_t)-1;
	if ((v = json_str(pe, "value")) != NULL) {
		raw[n++] = v;
		primary = 0;
	}
	cJSON_ArrayForEach(it, arr)
		if ((v = json_str(it, "value")) != NULL) {
			if (primary == (size_t)-1 && cJSON_IsTrue(json_get(it, "isPrimary")))
				primary = n;
			raw[n++] = v;
		}
	candidate_set_emails(c, raw, n, primary == (size_t)-1 ? n : primary);
	free(raw);
	if ((v = json_str(pp, "value")) != NULL)
		candidate_add_phone(c, v, g->region);
	cJSON_ArrayForEach(it, json_get(o, "phoneNumbers"))
		if ((v = json_str(it, "value")) != NULL)
			candidate_add_phone(c, v, g->region);
	cJSON_ArrayForEach(it, json_get(o, "customFields")) {
		const cJSON *val = json_get(it, "value"), *label = json_get(it, "valueLabel");
		const char *id = json_str(it, "id");
		char *text = NULL;
		if (id == NULL || cJSON_IsTrue(json_get(it, "isPrivate")))
			continue;
		if (cJSON_IsString(label))
			text = xstrdup(label->valuestring);
		else if (cJSON_IsString(val))
			text = xstrdup(val->valuestring);
		else if (val != NULL && !cJSON_IsNull(val))
			text = json_print(val);
		if (text != NULL)
			candidate_add_custom(c, id, text);
		free(text);
	}
	/* Anonymised: the name replaced, every address gone. Nothing is copied. */
	if (name != NULL && c->nemails == 0 && c->nphones == 0) {
		const char *s = name;
		while (*s == ' ' || *s == '\t')
			s++;
		if (strncasecmp(s, "anonym", 6) == 0) {
			size_t i;
			c->anonymized = 1;
			free(c->first_name);
			free(c->last_name);
			free(c->full_name);
			free(c->title);
			free(c->company);
			c->first_name = c->last_name = c->full_name = c->title = c->company = NULL;
			for (i = 0; i < c->ncustom; i++) {
				free(c->custom[i].key);
				free(c->custom[i].value);
			}
			free(c->custom);
			c->custom = NULL;
			c->ncustom = 0;
		}
	}
}

struct emit {
	ats_cand_fn fn;
	void *arg;
	struct ats_pull *pull;
};

static enum rc
deliver(struct emit *em, struct candidate *c)
{
	enum rc rc = em->fn(em->arg, c);

	if (em->pull != NULL)
		em->pull->records++;
	return rc;
}

/* Full listing: each candidate page, joined with the index. */
static enum rc
full_cand_page(struct ats *a, const cJSON *res, void *arg)
{
	struct ab *g = a->priv;
	struct emit *em = arg;
	const cJSON *it;
	enum rc rc = RC_OK;

	cJSON_ArrayForEach(it, res) {
		struct candidate c;
		struct idk ck;
		struct aent *e = NULL;

		parse_candidate(g, it, &c);
		if (c.id == NULL) {
			log_warn("ashby", "a candidate without an id was skipped");
			candidate_free(&c);
			continue;
		}
		if (idk_of(&g->idx, c.id, 0, &ck) == 0)
			e = aidx_find(&g->idx, &ck);
		if (e != NULL) {
			struct ab_app p;
			char idbuf[37];
			entry_app(&g->idx, e, &p, idbuf);
			apply_app(&c, &p);
			c.is_private |= e->conf;
		} else if (cJSON_GetArraySize(json_get(it, "applicationIds")) > 0) {
			/* an application newer than the application listing */
			g->fallback_info++;
			rc = fetch_current(a, &c, json_get(it, "applicationIds"));
		}
		if (rc == RC_OK)
			rc = deliver(em, &c);
		candidate_free(&c);
		if (rc != RC_OK)
			break;
	}
	return rc;
}

/* Incremental: each changed candidate, with its applications. */
static enum rc
delta_cand_page(struct ats *a, const cJSON *res, void *arg)
{
	struct ab *g = a->priv;
	struct emit *em = arg;
	const cJSON *it;
	enum rc rc = RC_OK;

	cJSON_ArrayForEach(it, res) {
		struct candidate c;
		struct idk ck;

		parse_candidate(g, it, &c);
		if (c.id == NULL) {
			candidate_free(&c);
			continue;
		}
		rc = fetch_current(a, &c, json_get(it, "applicationIds"));
		if (rc == RC_OK)
			rc = deliver(em, &c);
		if (idk_of(&g->idx, c.id, 0, &ck) == 0 && aidx_find(&g->idx, &ck) != NULL)
			aidx_find(&g->idx, &ck)->delivered = 1;
		candidate_free(&c);
		if (rc != RC_OK)
			break;
	}
	return rc;
}

/* candidate.info (+ its applications) into *out. RC_RECORD: gone. */
static enum rc
fetch_one(struct ats *a, const char *id, struct candidate *out)
{
	struct ab *g = a->priv;
	struct ab_err err;
	cJSON *body = cJSON_CreateObject(), *ans = NULL;
	const cJSON *res;
	enum rc rc;

	memset(out, 0, sizeof(*out));
	cJSON_AddStringToObject(body, "id", id);
	rc = ab_call(a, "candidate.info", body, &ans, &err);
	cJSON_Delete(body);
	if (rc == RC_RECORD && !code_ends(err.code, "_not_found")) {
		api_fail(&a->err, "ashby", 0, NULL, "candidate.info: %s", err.code);
		rc = RC_REMOTE;
	}
	if (rc != RC_OK)
		return rc;
	res = json_get(ans, "results");
	if (!cJSON_IsObject(res) || json_str(res, "id") == NULL) {
		api_fail(&a->err, "ashby", 0, NULL,
		    "candidate.info: an answer without a candidate");
		cJSON_Delete(ans);
		return RC_REMOTE;
	}
	parse_candidate(g, res, out);
	rc = fetch_current(a, out, json_get(res, "applicationIds"));
	cJSON_Delete(ans);
	if (rc != RC_OK)
		candidate_free(out);
	return rc;
}

/* -------------------------------------------------------------- the pulls */

static void
pull_add(struct ats_pull *pull, const struct listing *l)
{
	pull->pages += l->pages;
}

static void
set_sync_out(struct ats *a, const char *ctok, const char *atok)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddNumberToObject(o, "v", 1);
	cJSON_AddStringToObject(o, "candidates", ctok);
	cJSON_AddStringToObject(o, "applications", atok);
	free(a->sync_out);
	a->sync_out = json_print(o);
	cJSON_Delete(o);
}

static void
reset_run(struct ats *a, struct ats_pull *pull)
{
	struct ab *g = a->priv;

	memset(pull, 0, sizeof(*pull));
	free(a->sync_out);
	a->sync_out = NULL;
	aidx_free(&g->idx);
	g->fallback_info = 0;
}

/* Everything: the application index, then every candidate. */
static enum rc
full_listing(struct ats *a, ats_cand_fn fn, void *arg, struct ats_pull *pull)
{
	struct ab *g = a->priv;
	struct emit em = { fn, arg, pull };
	struct listing la, lc;
	cJSON *none = cJSON_CreateObject();
	enum rc rc;

	memset(&la, 0, sizeof(la));
	memset(&lc, 0, sizeof(lc));
	aidx_free(&g->idx);
	if ((rc = load_jobs(a)) != RC_OK)
		goto out;
	rc = list_pages(a, "application.list", none, index_page, NULL, &la);
	pull_add(pull, &la);
	if (rc != RC_OK || !la.complete)
		goto out;	/* candidates without their applications would be wrong */
	log_debug("ashby", "application index: %zu candidates", g->idx.n);
	rc = list_pages(a, "candidate.list", none, full_cand_page, &em, &lc);
	pull_add(pull, &lc);
	if (rc != RC_OK || !lc.complete)
		goto out;
	pull->complete = 1;
	if (la.token != NULL && lc.token != NULL)
		set_sync_out(a, lc.token, la.token);
	else
		log_warn("ashby", "a listing ended without a syncToken; the next run lists everything");
	if (g->fallback_info > 0)
		log_debug("ashby", "%ld candidates needed application.info (applications newer than "
		    "the application listing)", g->fallback_info);
out:
	aidx_free(&g->idx);
	free(la.token);
	free(lc.token);
	cJSON_Delete(none);
	return rc;
}

/*
 * Changes since the tokens. RC_OK with *refused set when the source refused a
 * token (nothing is wrong: the caller lists everything).
 */
static enum rc
delta_listing(struct ats *a, const char *ctok, const char *atok, ats_cand_fn fn, void *arg,
    struct ats_pull *pull, const char **refused)
{
	struct ab *g = a->priv;
	struct emit em = { fn, arg, pull };
	struct listing la, lc;
	const char *code = NULL;
	cJSON *body;
	size_t i;
	enum rc rc;

	*refused = NULL;
	memset(&la, 0, sizeof(la));
	memset(&lc, 0, sizeof(lc));
	aidx_free(&g->idx);
	if ((rc = load_jobs(a)) != RC_OK)
		goto out;
	body = cJSON_CreateObject();
	cJSON_AddStringToObject(body, "syncToken", atok);
	rc = list_pages(a, "application.list", body, changed_apps_page, NULL, &la);
	cJSON_Delete(body);
	pull_add(pull, &la);
	if (rc == RC_RECORD && la.refused) {
		code = la.code;
		goto refused;
	}
	if (rc != RC_OK || !la.complete)
		goto out;
	body = cJSON_CreateObject();
	cJSON_AddStringToObject(body, "syncToken", ctok);
	rc = list_pages(a, "candidate.list", body, delta_cand_page, &em, &lc);
	cJSON_Delete(body);
	pull_add(pull, &lc);
	if (rc == RC_RECORD && lc.refused) {
		code = lc.code;
		goto refused;
	}
	if (rc != RC_OK || !lc.complete)
		goto out;
	/* application-only changes: their candidates, not delivered yet */
	for (i = 0; i < g->idx.n && rc == RC_OK; i++) {
		struct aent *e = &g->idx.v[i];
		struct candidate c;
		char idbuf[37];
		char *id;

		if (e->delivered)
			continue;
		id = xstrdup(idk_str(&g->idx, e->cid, e->cid_txt, idbuf));
		rc = fetch_one(a, id, &c);
		if (rc == RC_RECORD) {
			log_debug("ashby", "candidate %s is gone since its application changed", id);
			rc = RC_OK;
		} else if (rc == RC_OK) {
			rc = deliver(&em, &c);
			candidate_free(&c);
		}
		free(id);
	}
	if (rc != RC_OK)
		goto out;
	pull->complete = 1;
	if (la.token != NULL && lc.token != NULL)
		set_sync_out(a, lc.token, la.token);
	goto out;
refused:
	log_warn("ashby", "the sync token was refused (%s); listing everything instead", code);
	*refused = strcmp(code, "incremental_sync_too_large") == 0 ?
	    "Ashby refused the incremental sync as too large (incremental_sync_too_large)" :
	    "Ashby refused the stored sync token (expired or unknown)";
	rc = RC_OK;
out:
	aidx_free(&g->idx);
	free(la.token);
	free(lc.token);
	return rc;
}

/* The two tokens of a stored sync_in; 0, or -1 when unreadable. */
static int
tokens_of(const char *in, char **ctok, char **atok)
{
	struct buf err = BUF_INIT;
	cJSON *j = json_parse(in, strlen(in), &err);
	const char *c = json_str(j, "candidates"), *p = json_str(j, "applications");
	int64_t v = 0;
	int ok = j != NULL && json_int(j, "v", &v) == 0 && v == 1 && c != NULL && *c != '\0' &&
	    p != NULL && *p != '\0';

	*ctok = ok ? xstrdup(c) : NULL;
	*atok = ok ? xstrdup(p) : NULL;
	cJSON_Delete(j);
	buf_free(&err);
	return ok ? 0 : -1;
}

static enum rc
ab_pull_all(struct ats *a, ats_cand_fn fn, void *arg, struct ats_pull *pull)
{
	reset_run(a, pull);
	a->sync_reset = NULL;
	return full_listing(a, fn, arg, pull);
}

static enum rc
ab_pull_window(struct ats *a, int64_t from_ms, int64_t to_ms, ats_cand_fn fn, void *arg,
    struct ats_pull *pull)
{
	char *ctok = NULL, *atok = NULL;
	const char *why = NULL;
	enum rc rc;

	reset_run(a, pull);
	a->sync_reset = NULL;
	if (a->sync_in == NULL) {
		log_info("ashby", "no sync token stored: listing everything");
		return full_listing(a, fn, arg, pull);
	}
	if (tokens_of(a->sync_in, &ctok, &atok) != 0) {
		why = "the stored Ashby sync token is unreadable";
	} else {
		char f[25], t[25];
		norm_fmt_datetime(from_ms, f);
		norm_fmt_datetime(to_ms, t);
		log_debug("ashby", "changes since the sync tokens (window %s .. %s informational)", f, t);
		rc = delta_listing(a, ctok, atok, fn, arg, pull, &why);
		free(ctok);
		free(atok);
		if (rc != RC_OK || why == NULL)
			return rc;
	}
	a->sync_reset = why;
	pull->restarted = 1;
	pull->complete = 0;
	free(a->sync_out);
	a->sync_out = NULL;
	return full_listing(a, fn, arg, pull);
}

static enum rc
ab_get(struct ats *a, const char *id, struct candidate **out)
{
	struct candidate c;
	enum rc rc;

	if ((rc = load_jobs(a)) != RC_OK)
		return rc;
	if ((rc = fetch_one(a, id, &c)) != RC_OK)
		return rc;	/* RC_RECORD: gone */
	*out = xcalloc(1, sizeof(**out));
	**out = c;
	return RC_OK;
}

static enum rc
ab_open(struct ats *a)
{
	struct ab *g = xcalloc(1, sizeof(*g));
	const char *base = cfg_str(a->cfg, OPT_ATS_BASE_URL);
	int64_t rps = cfg_int(a->cfg, OPT_ATS_RPS);
	size_t n;

	a->priv = g;
	g->base = xstrdup(base ? base : a->drv->base_url);
	n = strlen(g->base);
	while (n > 0 && g->base[n - 1] == '/')
		g->base[--n] = '\0';
	g->key = cfg_str(a->cfg, OPT_ATS_API_KEY);
	g->region = cfg_str(a->cfg, OPT_PHONE_DEFAULT_REGION);
	g->limit = (int)cfg_int(a->cfg, OPT_ATS_PAGE_SIZE);
	if (g->limit > AB_MAX_LIMIT || g->limit < 1)
		g->limit = AB_MAX_LIMIT;
	g->max_pages = (int)cfg_int(a->cfg, OPT_ATS_MAX_PAGES);
	if (g->key == NULL || *g->key == '\0') {
		api_fail(&a->err, "ashby", 0, NULL,
		    "ats.api_key is needed (an Ashby API key with candidatesRead and "
		    "jobsRead)");
		return RC_CONFIG;
	}
	log_add_secret(g->key);
	if (!url_allowed(g->base)) {
		api_fail(&a->err, "ashby", 0, NULL,
		    "ats.base_url must be https:// (http:// only to a loopback host)");
		return RC_CONFIG;
	}
	a->pace = pace_new("ashby", rps > 0 ? (double)rps : AB_RPS, 5);
	return RC_OK;
}

static void
ab_close(struct ats *a)
{
	struct ab *g = a->priv;

	if (g != NULL) {
		free(g->base);
		strtab_free(&g->conf_jobs);
		aidx_free(&g->idx);
		free(g);
	}
	pace_free(a->pace);
	a->pace = NULL;
	a->priv = NULL;
}

const struct ats_driver ats_ashby = {
	.name = "ashby",
	.base_url = "https://api.ashbyhq.com",
	.scopes = "candidatesRead, and read access to applications and jobs",
	.fix = "check ats.api_key (Ashby: Admin > API keys) and its endpoint permissions "
	    "(candidates, applications, jobs read)",
	.open = ab_open,
	.pull_window = ab_pull_window,
	.pull_all = ab_pull_all,
	.get = ab_get,
	.close = ab_close,
};
