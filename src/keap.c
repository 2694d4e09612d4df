/* keap.c — see keap.h. */
#define _POSIX_C_SOURCE 200809L
#include "keap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jtree.h"
#include "kcontact.h"
#include "log.h"

#define MAX_ENDPOINTS 32
/* What a listing asks for: what the reconciler compares, and nothing else. */
#define CONTACT_FIELDS "id,given_name,family_name,middle_name,preferred_name,email_addresses," \
	"phone_numbers,addresses,company,job_title,custom_fields,tag_ids,create_time,update_time"

struct keap {
	struct keap_cfg cfg;
	char *base;
	struct http *http;
	struct auth *auth;
	struct pace *pace;
	int64_t deadline_ms;
	struct keap_endpoint ep[MAX_ENDPOINTS];
	size_t nep;
};

/* One request through exec(). */
struct call {
	const char *endpoint;	/* for the counters: "GET /v2/contacts" */
	const char *method;
	char *url;		/* owned */
	char *body;		/* owned, may be NULL */
	int idempotent;
	/* out */
	struct http_resp resp;
	enum rc rc;
	struct api_err err;
};

enum rc
keap_new(const struct keap_cfg *cfg, struct http *http, struct auth *auth, struct pace *pace,
    struct keap **out)
{
	struct keap *k;
	size_t n;

	if (cfg->base_url == NULL || !url_allowed(cfg->base_url)) {
		log_error("keap", "keap.base_url must be an https:// URL");
		return RC_CONFIG;
	}
	k = xcalloc(1, sizeof(*k));
	k->cfg = *cfg;
	k->base = xstrdup(cfg->base_url);
	n = strlen(k->base);
	while (n > 0 && k->base[n - 1] == '/')
		k->base[--n] = '\0';
	if (k->cfg.page_size < 1 || k->cfg.page_size > 1000)
		k->cfg.page_size = 1000;
	if (k->cfg.max_pages < 1)
		k->cfg.max_pages = 10000;
	if (k->cfg.concurrency < 1)
		k->cfg.concurrency = 1;
	k->http = http;
	k->auth = auth;
	k->pace = pace;
	*out = k;
	return RC_OK;
}

void
keap_free(struct keap *k)
{
	if (k == NULL)
		return;
	free(k->base);
	free(k);
}

void
keap_set_deadline(struct keap *k, int64_t deadline_ms)
{
	k->deadline_ms = deadline_ms;
}

const struct keap_endpoint *
keap_endpoints(const struct keap *k, size_t *n)
{
	*n = k->nep;
	return k->ep;
}

static struct keap_endpoint *
endpoint(struct keap *k, const char *name)
{
	size_t i;

	for (i = 0; i < k->nep; i++)
		if (strcmp(k->ep[i].name, name) == 0)
			return &k->ep[i];
	if (k->nep == MAX_ENDPOINTS)
		return &k->ep[MAX_ENDPOINTS - 1];
	str_copy(k->ep[k->nep].name, sizeof(k->ep[k->nep].name), name);
	return &k->ep[k->nep++];
}

static void
copy_escaped(char *dst, size_t size, const char *s)
{
	struct buf b = BUF_INIT;

	text_escape(&b, s, strlen(s));
	str_copy(dst, size, b.p ? b.p : "");
	buf_free(&b);
}

/* Reads either error envelope (or an OAuth error) from a body into err. */
static void
parse_error(const struct http_resp *r, struct api_err *err)
{
	struct buf perr = BUF_INIT;
	cJSON *j = NULL;
	const cJSON *fault, *code;
	const char *msg = NULL, *cd = NULL;
	char num[32];

	memset(err, 0, sizeof(*err));
	err->status = r->status;
	if (r->fail != HTTP_OK) {
		copy_escaped(err->msg, sizeof(err->msg), r->err);
		return;
	}
	if (r->body.len > 0)
		j = json_parse(r->body.p, r->body.len, &perr);
	if ((fault = json_get(j, "fault")) != NULL) {
		msg = json_str(fault, "faultstring");
		cd = json_str(json_get(fault, "detail"), "errorcode");
	} else if (j != NULL) {
		msg = json_str(j, "message");
		code = json_get(j, "code");
		if (cJSON_IsString(code))
			cd = code->valuestring;
		else if (json_is_integer(code, NULL)) {
			snprintf(num, sizeof(num), "%lld", (long long)code->valuedouble);
			cd = num;
		}
		if (msg == NULL)
			msg = json_str(j, "error_description");
		if (cd == NULL)
			cd = json_str(j, "error");
	}
	if (cd != NULL)
		copy_escaped(err->code, sizeof(err->code), cd);
	if (msg != NULL)
		copy_escaped(err->msg, sizeof(err->msg), msg);
	else if (j == NULL && r->body.len > 0) {
		/* not JSON: show the start of it, escaped */
		struct buf b = BUF_INIT;
		text_escape(&b, r->body.p, r->body.len < 120 ? r->body.len : 120);
		str_copy(err->msg, sizeof(err->msg), b.p);
		buf_free(&b);
	}
	if (j != NULL)
		cJSON_Delete(j);
	buf_free(&perr);
}

/* What a 403 on this endpoint means for the person who must fix it. */
static const char *
permission_for(const char *endpoint)
{
	if (strstr(endpoint, "tags") != NULL)
		return "tags (read, create, apply/remove)";
	if (strstr(endpoint, "model") != NULL)
		return "contact custom fields (read the contact model)";
	if (strncmp(endpoint, "GET", 3) == 0)
		return "contacts (read)";
	if (strncmp(endpoint, "DELETE", 6) == 0)
		return "contacts (delete)";
	return "contacts (create and edit)";
}

static void
map_result(struct keap *k, struct call *c, enum rc hrc)
{
	struct keap_endpoint *ep = endpoint(k, c->endpoint);
	long st = c->resp.status;

	ep->calls++;
	parse_error(&c->resp, &c->err);
	if (hrc == RC_QUOTA) {
		c->rc = RC_QUOTA;
		str_copy(c->err.msg, sizeof(c->err.msg), "daily API quota exhausted");
		api_err_hint(&c->err, "wait for the daily quota to reset (00:00 UTC), or ask Keap for "
		    "a higher one");
		return;
	}
	if (hrc != RC_OK) {
		c->rc = hrc;
		if (st == 429)
			ep->status_429++;
		else if (st >= 500)
			ep->server_errors++;
		else if (st == 0)
			ep->transport_errors++;
		return;
	}
	if (st >= 200 && st < 300) {
		ep->ok++;
		c->rc = RC_OK;
		memset(&c->err, 0, sizeof(c->err));
		return;
	}
	if (st == 429) {
		ep->status_429++;
		c->rc = RC_REMOTE;
	} else if (st >= 500) {
		ep->server_errors++;
		c->rc = RC_REMOTE;
	} else if (st == 401) {
		ep->client_errors++;
		c->rc = RC_AUTH;
		api_err_hint(&c->err, "check the Keap credentials (keap.api_key, or authorise again: "
		    "atsrecon auth keap --login)");
	} else if (st == 403) {
		char hint[200];
		ep->client_errors++;
		c->rc = RC_AUTH;
		snprintf(hint, sizeof(hint), "give the Keap API user the permission for %s",
		    permission_for(c->endpoint));
		api_err_hint(&c->err, hint);
		log_error("keap", "%s: Keap answered 403 (%s%s%s): the API user lacks the permission "
		    "for %s", c->endpoint, c->err.code, c->err.code[0] ? ": " : "", c->err.msg,
		    permission_for(c->endpoint));
	} else {
		ep->client_errors++;
		c->rc = RC_RECORD;
	}
}

/* Runs calls (concurrently), with credentials, pacing and retries; one
 * refresh and one more attempt for calls answered 401. */
static void
exec(struct keap *k, struct call *calls, size_t n)
{
	struct http_job *jobs = xcalloc(n ? n : 1, sizeof(*jobs));
	size_t *idx = xcalloc(n ? n : 1, sizeof(*idx));
	struct http_policy pol;
	const char *bearer = NULL, *hdr = NULL;
	const char *headers[2] = { NULL, NULL };
	size_t i, m = n;
	int pass;
	enum rc arc;

	memset(&pol, 0, sizeof(pol));
	pol.concurrency = k->cfg.concurrency;
	pol.max_retries = k->cfg.max_retries;
	pol.backoff_base_ms = k->cfg.backoff_base_ms;
	pol.deadline_ms = k->deadline_ms;
	pol.pacer.before = pace_before;
	pol.pacer.after = pace_after;
	pol.pacer.arg = k->pace;
	for (i = 0; i < n; i++)
		idx[i] = i;
	for (pass = 0; pass < 2 && m > 0; pass++) {
		size_t again = 0;

		arc = pass == 0 ? auth_credentials(k->auth, k->deadline_ms, &bearer, &hdr) :
		    auth_after_401(k->auth, k->deadline_ms);
		if (arc == RC_OK && pass == 1)
			arc = auth_credentials(k->auth, k->deadline_ms, &bearer, &hdr);
		if (arc != RC_OK) {
			for (i = 0; i < m; i++) {
				struct call *c = &calls[idx[i]];
				http_resp_free(&c->resp);
				memset(&c->err, 0, sizeof(c->err));
				c->rc = arc;
				str_copy(c->err.msg, sizeof(c->err.msg), "no usable Keap credentials");
			}
			break;
		}
		headers[0] = hdr;
		for (i = 0; i < m; i++) {
			struct call *c = &calls[idx[i]];
			memset(&jobs[i], 0, sizeof(jobs[i]));
			jobs[i].req.method = c->method;
			jobs[i].req.url = c->url;
			jobs[i].req.body = c->body;
			jobs[i].req.body_len = c->body ? strlen(c->body) : 0;
			jobs[i].req.bearer = bearer;
			jobs[i].req.headers = hdr ? headers : NULL;
			jobs[i].idempotent = c->idempotent;
			/* reads and idempotent writes (PATCH of the full state, tags):
			 * a cut or malformed answer is sent again (http.c) */
			if (c->idempotent && strcmp(c->method, "DELETE") != 0)
				jobs[i].body_ok = http_body_json;
		}
		http_run(k->http, jobs, m, &pol);
		for (i = 0; i < m; i++) {
			struct call *c = &calls[idx[i]];
			http_resp_free(&c->resp);
			c->resp = jobs[i].resp;
			if (jobs[i].rc == RC_OK && jobs[i].resp.status == 401) {
				if (pass == 0) {
					idx[again++] = idx[i];
					continue;
				}
			} else if (jobs[i].rc == RC_OK)
				auth_token_worked(k->auth);
			map_result(k, c, jobs[i].rc);
		}
		m = again;
	}
	free(jobs);
	free(idx);
}

static void
call_init(struct call *c, const char *endpoint, const char *method, char *url, char *body,
    int idempotent)
{
	memset(c, 0, sizeof(*c));
	c->endpoint = endpoint;
	c->method = method;
	c->url = url;
	c->body = body;
	c->idempotent = idempotent;
	c->rc = RC_BUG;
}

static void
call_free(struct call *c)
{
	free(c->url);
	free(c->body);
	http_resp_free(&c->resp);
}

/* One call; on success *json receives the parsed body (may be NULL for 204). */
static enum rc
exec1(struct keap *k, const char *endpoint, const char *method, char *url, char *body,
    int idempotent, cJSON **json, long *status, struct api_err *err)
{
	struct call c;
	struct buf perr = BUF_INIT;
	enum rc rc;

	call_init(&c, endpoint, method, url, body, idempotent);
	exec(k, &c, 1);
	rc = c.rc;
	if (status != NULL)
		*status = c.resp.status;
	if (rc == RC_OK && json != NULL) {
		*json = NULL;
		if (c.resp.body.len > 0) {
			*json = json_parse(c.resp.body.p, c.resp.body.len, &perr);
			if (*json == NULL) {
				memset(&c.err, 0, sizeof(c.err));
				c.err.status = c.resp.status;
				snprintf(c.err.msg, sizeof(c.err.msg), "unreadable answer: %s", perr.p);
				log_error("keap", "%s: %s", endpoint, c.err.msg);
				rc = RC_REMOTE;
			}
		}
	}
	if (err != NULL)
		*err = c.err;
	if (rc != RC_OK && rc != RC_RECORD && c.err.msg[0] != '\0')
		log_debug("keap", "%s: HTTP %ld %s %s", endpoint, c.err.status, c.err.code, c.err.msg);
	buf_free(&perr);
	call_free(&c);
	return rc;
}

/* ---------------------------------------------------------------- reading */

/* Decodes one page's contacts and hands them to fn; frees what fn left. */
static enum rc
deliver_page(keap_page_fn fn, void *arg, const cJSON *contacts, int page)
{
	struct contact *v = xcalloc((size_t)cJSON_GetArraySize(contacts) + 1, sizeof(*v));
	const cJSON *c;
	size_t n = 0, i;
	enum rc rc;

	cJSON_ArrayForEach(c, contacts) {
		if (!cJSON_IsObject(c))
			log_warn("keap", "contacts page %d: an entry that is not a contact was skipped",
			    page);
		else if (kcontact_decode(c, &v[n], NULL) == RC_OK)
			n++;
		else
			log_warn("keap", "a Keap contact without an id was skipped");
	}
	rc = fn(arg, v, n, page);
	for (i = 0; i < n; i++)
		contact_free(&v[i]);
	free(v);
	return rc;
}

enum rc
keap_list_contacts(struct keap *k, const char *since_iso, keap_page_fn fn, void *arg, int *pages,
    int *complete, struct api_err *err)
{
	char *token = NULL;
	enum rc rc = RC_OK;
	int page = 0;

	*complete = 0;
	while (page < k->cfg.max_pages) {
		struct buf url = BUF_INIT;
		cJSON *j = NULL;
		const cJSON *contacts;
		const char *next;

		buf_addf(&url, "%s/v2/contacts?page_size=%d&fields=%s&order_by=", k->base,
		    k->cfg.page_size, CONTACT_FIELDS);
		http_urlencode(&url, "id asc");
		if (since_iso != NULL) {
			struct buf f = BUF_INIT;
			buf_addf(&f, "start_update_time==%s", since_iso);
			buf_adds(&url, "&filter=");
			http_urlencode(&url, f.p);
			buf_free(&f);
		}
		if (token != NULL) {
			buf_adds(&url, "&page_token=");
			http_urlencode(&url, token);
		}
		rc = exec1(k, "GET /v2/contacts", "GET", buf_take(&url), NULL, 1, &j, NULL, err);
		if (rc != RC_OK)
			break;
		contacts = json_get(j, "contacts");
		/* a page without its list is an error for that page, never an empty,
		 * finished listing (a full run would drop every contact) */
		if (j == NULL || !cJSON_IsArray(contacts)) {
			log_error("keap", "contacts page %d: the answer has no contacts list", page + 1);
			if (err != NULL)
				str_copy(err->msg, sizeof(err->msg), "page without a contacts list");
			cJSON_Delete(j);
			rc = RC_REMOTE;
			break;
		}
		page++;
		if ((rc = deliver_page(fn, arg, contacts, page)) != RC_OK) {
			cJSON_Delete(j);
			break;
		}
		next = json_str(j, "next_page_token");
		free(token);
		token = next != NULL && *next != '\0' ? xstrdup(next) : NULL;
		log_debug("keap", "contacts page %d: %d contacts%s", page,
		    cJSON_GetArraySize(contacts), token ? "" : " (last)");
		cJSON_Delete(j);
		if (token == NULL) {
			*complete = 1;
			break;
		}
	}
	if (rc == RC_OK && !*complete)
		log_warn("keap", "contact listing stopped at the page cap (%d pages); the rest "
		    "waits for the next run", k->cfg.max_pages);
	free(token);
	if (pages != NULL)
		*pages = page;
	return rc;
}

static char *
id_url(struct keap *k, const char *fmt_path, const char *id, const char *suffix)
{
	struct buf u = BUF_INIT;

	buf_addf(&u, "%s%s", k->base, fmt_path);
	http_urlencode(&u, id);
	if (suffix != NULL)
		buf_adds(&u, suffix);
	return buf_take(&u);
}

/* A contact from an answer's body (NULL: none); RC_REMOTE when it is not one. */
static enum rc
answer_contact(const char *endpoint, const struct http_resp *r, struct contact *out,
    struct api_err *err)
{
	struct buf perr = BUF_INIT, derr = BUF_INIT;
	cJSON *j = NULL;
	enum rc rc = RC_OK;

	if (r->body.len > 0)
		j = json_parse(r->body.p, r->body.len, &perr);
	if (j == NULL || kcontact_decode(j, out, &derr) != RC_OK) {
		memset(err, 0, sizeof(*err));
		err->status = r->status;
		snprintf(err->msg, sizeof(err->msg), "unreadable answer: %s", perr.len ? perr.p :
		    derr.len ? derr.p : "no body");
		log_error("keap", "%s: %s", endpoint, err->msg);
		rc = RC_REMOTE;
	}
	cJSON_Delete(j);
	buf_free(&perr);
	buf_free(&derr);
	return rc;
}

enum rc
keap_get_contact(struct keap *k, const char *id, struct contact *out, struct api_err *err)
{
	struct call c;
	enum rc rc;

	memset(out, 0, sizeof(*out));
	call_init(&c, "GET /v2/contacts/{id}", "GET",
	    id_url(k, "/v2/contacts/", id, "?fields=" CONTACT_FIELDS), NULL, 1);
	exec(k, &c, 1);
	rc = c.rc;
	if (rc == RC_OK)
		rc = answer_contact(c.endpoint, &c.resp, out, &c.err);
	else if (rc != RC_RECORD && c.err.msg[0] != '\0')
		log_debug("keap", "%s: HTTP %ld %s %s", c.endpoint, c.err.status, c.err.code, c.err.msg);
	if (err != NULL)
		*err = c.err;
	call_free(&c);
	return rc;
}

static char *
dup_str(const cJSON *o, const char *key)
{
	char num[32];
	const char *s = json_idstr(json_get(o, key), num, sizeof(num));

	return s != NULL ? xstrdup(s) : NULL;
}

enum rc
keap_load_model(struct keap *k, struct keap_model *m, struct api_err *err)
{
	cJSON *j = NULL;
	const cJSON *f, *fields;
	enum rc rc;

	memset(m, 0, sizeof(*m));
	rc = exec1(k, "GET /v2/contacts/model", "GET", xasprintf("%s/v2/contacts/model", k->base), NULL,
	    1, &j, NULL, err);
	if (rc != RC_OK)
		return rc;
	fields = json_get(j, "custom_fields");
	if (!cJSON_IsArray(fields)) {
		log_error("keap", "the contact model has no custom_fields list");
		cJSON_Delete(j);
		return RC_REMOTE;
	}
	m->fields = xcalloc((size_t)cJSON_GetArraySize(fields) + 1, sizeof(*m->fields));
	cJSON_ArrayForEach(f, fields) {
		struct keap_field *kf = &m->fields[m->n];
		const cJSON *o, *opts = json_get(f, "options");

		kf->id = dup_str(f, "id");
		kf->label = dup_str(f, "label");
		if (kf->id == NULL || kf->label == NULL) {
			free(kf->id);
			free(kf->label);
			memset(kf, 0, sizeof(*kf));
			continue;	/* unusable entry: skipped, the mapping reports the miss */
		}
		kf->type = dup_str(f, "field_type");
		kf->field_name = dup_str(f, "field_name");
		if (cJSON_IsArray(opts)) {
			kf->options = xcalloc((size_t)cJSON_GetArraySize(opts) + 1, sizeof(char *));
			cJSON_ArrayForEach(o, opts) {
				char *label = dup_str(o, "label");
				if (label != NULL)
					kf->options[kf->noptions++] = label;
			}
		}
		m->n++;
	}
	cJSON_Delete(j);
	log_debug("keap", "contact model: %zu custom fields", m->n);
	return RC_OK;
}

static void
tag_push(struct keap_tag **v, size_t *n, const cJSON *t, int with_category)
{
	struct keap_tag kt;

	memset(&kt, 0, sizeof(kt));
	kt.id = dup_str(t, "id");
	kt.name = dup_str(t, "name");
	if (kt.id == NULL || kt.name == NULL) {
		free(kt.id);
		free(kt.name);
		return;
	}
	if (with_category)
		kt.category_id = dup_str(json_get(t, "category"), "id");
	*v = xrealloc(*v, (*n + 1) * sizeof(**v));
	(*v)[(*n)++] = kt;
}

/* Reads every page of a tag-ish listing into v. */
static enum rc
list_all(struct keap *k, const char *endpoint, const char *path, const char *key,
    struct keap_tag **v, size_t *n, int with_category, struct api_err *err)
{
	char *token = NULL;
	int page;
	enum rc rc = RC_OK;

	for (page = 0; page < k->cfg.max_pages; page++) {
		struct buf url = BUF_INIT;
		cJSON *j = NULL;
		const cJSON *items, *t;
		const char *next;

		buf_addf(&url, "%s%s?page_size=1000", k->base, path);
		if (token != NULL) {
			buf_adds(&url, "&page_token=");
			http_urlencode(&url, token);
		}
		rc = exec1(k, endpoint, "GET", buf_take(&url), NULL, 1, &j, NULL, err);
		if (rc != RC_OK)
			break;
		items = json_get(j, key);
		if (!cJSON_IsArray(items)) {
			log_error("keap", "%s page %d: the answer has no %s list", endpoint, page + 1, key);
			if (err != NULL)
				snprintf(err->msg, sizeof(err->msg), "page without a %s list", key);
			cJSON_Delete(j);
			rc = RC_REMOTE;
			break;
		}
		cJSON_ArrayForEach(t, items)
			tag_push(v, n, t, with_category);
		next = json_str(j, "next_page_token");
		free(token);
		token = next != NULL && *next != '\0' ? xstrdup(next) : NULL;
		cJSON_Delete(j);
		if (token == NULL)
			break;
	}
	free(token);
	return rc;
}

enum rc
keap_load_tags(struct keap *k, struct keap_tags *t, struct api_err *err)
{
	enum rc rc;

	memset(t, 0, sizeof(*t));
	rc = list_all(k, "GET /v2/tags", "/v2/tags", "tags", &t->v, &t->n, 1, err);
	if (rc == RC_OK)
		rc = list_all(k, "GET /v2/tags/categories", "/v2/tags/categories", "tag_categories",
		    &t->cats, &t->ncats, 0, err);
	log_debug("keap", "%zu tags in %zu categories", t->n, t->ncats);
	return rc;
}

enum rc
keap_ensure_tag(struct keap *k, struct keap_tags *t, const char *name, const char *category,
    const char **id, struct api_err *err)
{
	const char *cat_id = NULL;
	cJSON *body, *j = NULL;
	size_t i;
	enum rc rc;

	*id = NULL;
	if (category != NULL) {
		for (i = 0; i < t->ncats; i++)
			if (strcmp(t->cats[i].name, category) == 0)
				cat_id = t->cats[i].id;
		if (cat_id == NULL) {
			body = cJSON_CreateObject();
			cJSON_AddStringToObject(body, "name", category);
			rc = exec1(k, "POST /v2/tags/categories", "POST",
			    xasprintf("%s/v2/tags/categories", k->base), json_print(body), 0, &j, NULL, err);
			cJSON_Delete(body);
			if (rc != RC_OK)
				return rc;
			tag_push(&t->cats, &t->ncats, j, 0);
			cJSON_Delete(j);
			j = NULL;
			if (t->ncats == 0 || strcmp(t->cats[t->ncats - 1].name, category) != 0) {
				log_error("keap", "creating tag category: the answer has no id and name");
				return RC_REMOTE;
			}
			cat_id = t->cats[t->ncats - 1].id;
			log_info("keap", "created tag category %s", category);
		}
	}
	for (i = 0; i < t->n; i++)
		if (strcmp(t->v[i].name, name) == 0 && (cat_id == NULL ? 1 :
		    t->v[i].category_id != NULL && strcmp(t->v[i].category_id, cat_id) == 0)) {
			*id = t->v[i].id;
			return RC_OK;
		}
	body = cJSON_CreateObject();
	cJSON_AddStringToObject(body, "name", name);
	if (cat_id != NULL) {
		cJSON *c = cJSON_AddObjectToObject(body, "category");
		cJSON_AddStringToObject(c, "id", cat_id);
	}
	rc = exec1(k, "POST /v2/tags", "POST", xasprintf("%s/v2/tags", k->base), json_print(body), 0,
	    &j, NULL, err);
	cJSON_Delete(body);
	if (rc != RC_OK)
		return rc;
	tag_push(&t->v, &t->n, j, 1);
	cJSON_Delete(j);
	if (t->n == 0 || strcmp(t->v[t->n - 1].name, name) != 0) {
		log_error("keap", "creating a tag: the answer has no id and name");
		return RC_REMOTE;
	}
	if (t->v[t->n - 1].category_id == NULL && cat_id != NULL)
		t->v[t->n - 1].category_id = xstrdup(cat_id);
	*id = t->v[t->n - 1].id;
	log_info("keap", "created tag %s", name);
	return RC_OK;
}

static void
tag_list_free(struct keap_tag *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(v[i].id);
		free(v[i].name);
		free(v[i].category_id);
	}
	free(v);
}

void
keap_tags_free(struct keap_tags *t)
{
	tag_list_free(t->v, t->n);
	tag_list_free(t->cats, t->ncats);
	memset(t, 0, sizeof(*t));
}

/* ---------------------------------------------------------------- writing */

/* The PATCH URL: update_mask = the body's top-level keys, in its order. */
static char *
patch_url(struct keap *k, const char *id, const cJSON *body)
{
	struct buf u = BUF_INIT;
	const cJSON *m;

	buf_addf(&u, "%s/v2/contacts/", k->base);
	http_urlencode(&u, id);
	buf_addc(&u, '?');
	/* update_mask as a repeated key (the OpenAPI default for a query array) */
	cJSON_ArrayForEach(m, body) {
		buf_adds(&u, "update_mask=");
		http_urlencode(&u, m->string);
		buf_addc(&u, '&');
	}
	buf_adds(&u, "fields=" CONTACT_FIELDS);
	return buf_take(&u);
}

/* The call for one op; RC_OK with c->url NULL: no call to make (an empty
 * PATCH); another rc: the op fails as it is (err filled), no call. */
static enum rc
op_to_call(struct keap *k, const struct keap_op *op, struct call *c, struct api_err *err)
{
	struct buf perr = BUF_INIT;
	cJSON *body = NULL;
	const char *what = op->kind == KEAP_OP_UPSERT ? "create" : "PATCH";

	memset(err, 0, sizeof(*err));
	if (op->kind == KEAP_OP_UPSERT)
		call_init(c, "POST /v2/contacts?duplicate_option=Email", "POST", NULL, NULL, 1);
	else
		call_init(c, "PATCH /v2/contacts/{id}", "PATCH", NULL, NULL, 1);
	if (op->kind == KEAP_OP_PATCH && op->body == NULL)
		return RC_OK;	/* nothing to change: no call */
	if (op->body != NULL)
		body = json_parse(op->body, strlen(op->body), &perr);
	if (!cJSON_IsObject(body) || (op->kind == KEAP_OP_PATCH && body->child != NULL &&
	    (op->id == NULL || *op->id == '\0'))) {
		snprintf(err->msg, sizeof(err->msg), "%s", !cJSON_IsObject(body) ?
		    "the request body is not a JSON object" : "a PATCH without a contact id");
		log_error("keap", "%s %s: %s (not sent)", what, op->id != NULL ? op->id : "",
		    err->msg);
		cJSON_Delete(body);
		buf_free(&perr);
		return RC_RECORD;
	}
	if (op->kind == KEAP_OP_UPSERT)
		c->url = xasprintf("%s/v2/contacts?duplicate_option=Email&fields=" CONTACT_FIELDS,
		    k->base);
	else if (body->child != NULL)
		c->url = patch_url(k, op->id, body);
	if (c->url != NULL)
		c->body = xstrdup(op->body);
	cJSON_Delete(body);
	buf_free(&perr);
	return RC_OK;
}

void
keap_write_batch(struct keap *k, struct keap_op *ops, size_t n)
{
	struct call *calls = xcalloc(n ? n : 1, sizeof(*calls));
	struct call *todo = xcalloc(n ? n : 1, sizeof(*todo));
	size_t i, m = 0, j = 0;

	for (i = 0; i < n; i++) {
		ops[i].created = 0;
		ops[i].has_result = 0;
		memset(&ops[i].result, 0, sizeof(ops[i].result));
		ops[i].rc = op_to_call(k, &ops[i], &calls[i], &ops[i].err);
	}
	/* only the ops that need a call */
	for (i = 0; i < n; i++)
		if (calls[i].url != NULL)
			todo[m++] = calls[i];
	exec(k, todo, m);
	for (i = 0; i < n; i++)
		if (calls[i].url != NULL)
			calls[i] = todo[j++];
	free(todo);
	for (i = 0; i < n; i++) {
		struct keap_op *op = &ops[i];
		struct call *c = &calls[i];

		if (c->url == NULL)
			continue;	/* decided above */
		op->rc = c->rc;
		op->err = c->err;
		if (c->rc == RC_OK) {
			op->created = c->resp.status == 201;
			/* The write happened but we cannot see its result: not a
			 * success we can build on. The journal re-reads it. A
			 * failed op has no result (nothing for callers to free). */
			if ((op->rc = answer_contact(c->endpoint, &c->resp, &op->result, &op->err)) ==
			    RC_OK)
				op->has_result = 1;
		}
		call_free(c);
	}
	free(calls);
}

/* One op's outcome into the single-call API. */
static enum rc
op_out(struct keap_op *op, struct contact *out, struct api_err *err)
{
	if (err != NULL)
		*err = op->err;
	if (out != NULL) {
		if (op->has_result)
			*out = op->result;
		else
			memset(out, 0, sizeof(*out));
	} else
		contact_free(&op->result);
	return op->rc;
}

enum rc
keap_upsert_contact(struct keap *k, const char *body, int *created, struct contact *out,
    struct api_err *err)
{
	struct keap_op op;

	memset(&op, 0, sizeof(op));
	op.kind = KEAP_OP_UPSERT;
	op.body = body;
	keap_write_batch(k, &op, 1);
	if (created != NULL)
		*created = op.created;
	return op_out(&op, out, err);
}

enum rc
keap_patch_contact(struct keap *k, const char *id, const char *body, struct contact *out,
    struct api_err *err)
{
	struct keap_op op;

	memset(&op, 0, sizeof(op));
	op.kind = KEAP_OP_PATCH;
	op.id = id;
	op.body = body;
	keap_write_batch(k, &op, 1);
	return op_out(&op, out, err);
}

/* Reads {"results": {"<id>": "<status>"}} (or an array of {id: status}
 * entries, the v1 shape) into the results of one batch. */
static void
read_tag_results(const struct http_resp *r, int apply, struct keap_tag_result *res, size_t n)
{
	struct buf perr = BUF_INIT;
	cJSON *j = NULL;
	const cJSON *results, *e;
	size_t i;

	if (!apply || r->status == 204) {
		/* removeTags answers 204 with no body: the whole batch was done */
		for (i = 0; i < n; i++) {
			res[i].ok = 1;
			str_copy(res[i].status, sizeof(res[i].status), "REMOVED");
		}
		return;
	}
	for (i = 0; i < n; i++) {
		res[i].ok = 0;
		str_copy(res[i].status, sizeof(res[i].status), "NO_RESULT");
	}
	j = json_parse(r->body.p, r->body.len, &perr);
	results = json_get(j, "results");
	if (results == NULL && cJSON_IsArray(j))
		results = j;
	for (i = 0; i < n; i++) {
		const char *st = json_str(results, res[i].contact_id);
		if (st == NULL && cJSON_IsArray(results))
			cJSON_ArrayForEach(e, results)
				if (json_str(e, res[i].contact_id) != NULL)
					st = json_str(e, res[i].contact_id);
		if (st == NULL)
			continue;
		copy_escaped(res[i].status, sizeof(res[i].status), st);
		res[i].ok = strcmp(st, "SUCCESS") == 0 || strcmp(st, "DUPLICATE") == 0 ||
		    strcmp(st, "APPLIED") == 0 || strcmp(st, "ALREADY_APPLIED") == 0;
	}
	if (j != NULL)
		cJSON_Delete(j);
	buf_free(&perr);
}

enum rc
keap_tag_contacts(struct keap *k, const char *tag_id, int apply, const char *const *ids, size_t n,
    struct keap_tag_result *res, struct api_err *err)
{
	size_t nb = (n + KEAP_TAG_BATCH - 1) / KEAP_TAG_BATCH, b, i;
	struct call *calls = xcalloc(nb ? nb : 1, sizeof(*calls));
	const char *endpoint = apply ? "POST /v2/tags/{id}/contacts:applyTags" :
	    "POST /v2/tags/{id}/contacts:removeTags";
	enum rc rc = RC_OK;

	for (i = 0; i < n; i++) {
		memset(&res[i], 0, sizeof(res[i]));
		res[i].contact_id = ids[i];
	}
	for (b = 0; b < nb; b++) {
		cJSON *body = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(body, "contact_ids");
		size_t end = (b + 1) * KEAP_TAG_BATCH < n ? (b + 1) * KEAP_TAG_BATCH : n;

		for (i = b * KEAP_TAG_BATCH; i < end; i++)
			cJSON_AddItemToArray(arr, cJSON_CreateString(ids[i]));
		call_init(&calls[b], endpoint, "POST",
		    id_url(k, "/v2/tags/", tag_id, apply ? "/contacts:applyTags" : "/contacts:removeTags"),
		    json_print(body), 1);	/* applying or removing a tag twice is harmless */
		cJSON_Delete(body);
	}
	exec(k, calls, nb);
	for (b = 0; b < nb; b++) {
		size_t start = b * KEAP_TAG_BATCH;
		size_t cnt = start + KEAP_TAG_BATCH < n ? KEAP_TAG_BATCH : n - start;

		if (calls[b].rc == RC_OK)
			read_tag_results(&calls[b].resp, apply, res + start, cnt);
		else {
			for (i = start; i < start + cnt; i++)
				str_copy(res[i].status, sizeof(res[i].status), "CALL_FAILED");
			if (rc == RC_OK) {
				rc = calls[b].rc;
				if (err != NULL)
					*err = calls[b].err;
			}
		}
		call_free(&calls[b]);
	}
	free(calls);
	return rc;
}

enum rc
keap_delete_contact(struct keap *k, const char *id, struct api_err *err)
{
	long status = 0;
	enum rc rc;

	if (!k->cfg.allow_delete) {
		log_error("keap", "refusing to delete contact %s: lifecycle.deletes is not \"delete\"", id);
		return RC_BUG;
	}
	rc = exec1(k, "DELETE /v2/contacts/{id}", "DELETE", id_url(k, "/v2/contacts/", id, NULL), NULL,
	    1, NULL, &status, err);
	if (rc == RC_RECORD && status == 404)
		return RC_OK;	/* already gone */
	return rc;
}
