/*
 * Tests: keap.c, auth.c and pace.c against the Keap fake (tests/fakes/keap.py),
 * which tests/run.sh starts: ATSRECON_TEST_KEAP is its root URL, and
 * ATSRECON_TEST_CA the CA file. Without them every check fails.
 *
 * Each group resets the fake's world through its admin API first.
 */
#define _POSIX_C_SOURCE 200809L
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "auth.h"
#include "codec.h"
#include "jtree.h"
#include "keap.h"
#include "log.h"
#include "pace.h"
#include "state.h"
#include "t.h"
#include "fakeadm.h"

static const char *root, *ca;
static struct http *adm;
static char logpath[] = "/tmp/atsrecon-keaplog-XXXXXX";
static char statedir[] = "/tmp/atsrecon-keapst-XXXXXX";
static int statecount;
static char last_dir[128];	/* the state directory of the last env_open */

/* --- the fake's admin API --- */



/* Every token and key the fake issued, across world resets (for the leak check). */
static cJSON *all_tokens;

static void
collect_tokens(void)
{
	cJSON *tok = fake_admin("GET", "/_admin/tokens", NULL);
	const cJSON *kind, *t;

	cJSON_ArrayForEach(kind, tok) {
		if (!cJSON_IsArray(kind))
			continue;
		cJSON_ArrayForEach(t, kind) {
			const char *v = json_str(t, "token") ? json_str(t, "token") :
			    json_str(t, "key") ? json_str(t, "key") : json_str(t, "code");
			if (v != NULL && strlen(v) >= 8)
				cJSON_AddItemToArray(all_tokens, cJSON_CreateString(v));
		}
	}
	cJSON_Delete(tok);
}

static void
reset_world(void)
{
	collect_tokens();
	fake_admin0("POST", "/_admin/state", "{}");
	fake_admin0("POST", "/_admin/faults", "[]");
}

/* --- a client: state, http, auth, pace, keap --- */

struct env {
	char dir[128];
	struct state *st;
	struct http *h;
	struct auth *a;
	struct pace *p;
	struct keap *k;
};

/* Issues a token pair in the fake; returns the refresh token (caller frees). */
static char *
issue_refresh(void)
{
	cJSON *j = fake_admin("POST", "/_admin/tokens", "{}");
	char *rt = j && json_str(j, "refresh_token") ? xstrdup(json_str(j, "refresh_token")) : NULL;

	cJSON_Delete(j);
	return rt;
}

static int
env_open(struct env *e, const char *dir, const char *refresh, const char *api_key, int page_size,
    int max_pages, double rps)
{
	struct http_cfg hc = { 0 };
	struct auth_cfg ac = { 0 };
	struct keap_cfg kc = { 0 };
	char token_url[256], base[256];

	memset(e, 0, sizeof(*e));
	if (dir != NULL)
		str_copy(e->dir, sizeof(e->dir), dir);
	else
		snprintf(e->dir, sizeof(e->dir), "%s/s%d", statedir, ++statecount);
	str_copy(last_dir, sizeof(last_dir), e->dir);
	if (state_open(e->dir, STATE_RW, &e->st) != RC_OK)
		return -1;
	hc.ca_file = ca;
	hc.max_body = 1024 * 1024;
	hc.timeout_ms = 10000;
	if (http_new(&hc, &e->h) != RC_OK)
		return -1;
	snprintf(token_url, sizeof(token_url), "%s/token", root);
	snprintf(base, sizeof(base), "%s/crm/rest", root);
	ac.mode = api_key ? AUTH_API_KEY : AUTH_OAUTH;
	ac.token_url = token_url;
	ac.client_id = "atsrecon-test-client";
	ac.client_secret = "atsrecon-test-secret";
	ac.api_key = api_key;
	ac.max_retries = 3;
	ac.backoff_base_ms = 20;	/* a refresh whose answer was lost: at test speed */
	if (auth_new(&ac, e->h, e->st, &e->a) != RC_OK)
		return -1;
	if (refresh != NULL && auth_store_refresh_token(e->a, refresh) != RC_OK)
		return -1;
	e->p = pace_new("keap", rps, 4);
	kc.base_url = base;
	kc.page_size = page_size;
	kc.max_pages = max_pages;
	kc.concurrency = 4;
	kc.max_retries = 6;
	kc.backoff_base_ms = 20;	/* the policy's shape, at test speed */
	return keap_new(&kc, e->h, e->a, e->p, &e->k) == RC_OK ? 0 : -1;
}

static void
env_close(struct env *e)
{
	keap_free(e->k);
	pace_free(e->p);
	auth_free(e->a);
	http_free(e->h);
	state_close(e->st);
	memset(e, 0, sizeof(*e));
}

static const char *
dir_of_last(void)
{
	return last_dir;
}

static int
env_fresh(struct env *e, int page_size, int max_pages)
{
	char *rt = issue_refresh();
	int rc = rt ? env_open(e, NULL, rt, NULL, page_size, max_pages, 100) : -1;

	free(rt);
	return rc;
}

/* Counts the contacts seen by a listing. */
struct seen {
	int n;
	int pages;
};

static enum rc
count_page(void *arg, struct contact *contacts, size_t n, int page)
{
	struct seen *s = arg;

	(void)contacts;
	s->n += (int)n;
	s->pages = page;
	return RC_OK;
}

/* A create: given name, EMAIL1 (and EMAIL2). */
static void
contact_change(struct contact_change *ch, const char *given, const char *email1,
    const char *email2)
{
	memset(ch, 0, sizeof(*ch));
	change_set(ch, CW_PROP, "given_name", given);
	change_set(ch, CW_EMAIL, "EMAIL1", email1);
	if (email2 != NULL)
		change_set(ch, CW_EMAIL, "EMAIL2", email2);
}

/* A PATCH body with one property (what the storm tests send). */
static char *
prop_body(const char *prop, const char *value)
{
	struct contact_change ch;
	char *b;

	memset(&ch, 0, sizeof(ch));
	change_set(&ch, CW_PROP, prop, value);
	b = keap_patch_body(NULL, &ch);
	change_free(&ch);
	return b;
}

/* The contact as the fake holds it. */
static cJSON *
fake_contact(const char *id)
{
	char path[128];

	snprintf(path, sizeof(path), "/_admin/contact?id=%s", id);
	return fake_admin("GET", path, NULL);
}

static const char *
email_in(const cJSON *contact, const char *field)
{
	const cJSON *e;

	cJSON_ArrayForEach(e, json_get(contact, "email_addresses"))
		if (str_eq(json_str(e, "field"), field))
			return json_str(e, "email");
	return NULL;
}

static const cJSON *
custom_in(const cJSON *contact, const char *id)
{
	const cJSON *c;

	cJSON_ArrayForEach(c, json_get(contact, "custom_fields"))
		if (str_eq(json_str(c, "id"), id))
			return json_get(c, "content");
	return NULL;
}

/* ------------------------------------------------------------------ tests */

static void
test_pagination_and_filter(void)
{
	struct env e;
	struct seen s = { 0, 0 };
	struct api_err err;
	int pages = 0, complete = -1;
	char since[32], body[256];
	cJSON *g;

	reset_world();
	g = fake_admin("POST", "/_admin/generate-contacts", "{\"count\": 2500}");
	CHECK(g != NULL);
	CHECK(env_fresh(&e, 1000, 100) == 0);
	CHECK(keap_list_contacts(e.k, NULL, count_page, &s, &pages, &complete, &err) == RC_OK);
	CHECK(s.n == 2500 && pages == 3 && complete == 1);
	env_close(&e);

	/* the page cap: two pages, and the listing says it is incomplete */
	CHECK(env_fresh(&e, 1000, 2) == 0);
	memset(&s, 0, sizeof(s));
	CHECK(keap_list_contacts(e.k, NULL, count_page, &s, &pages, &complete, &err) == RC_OK);
	CHECK(s.n == 2000 && pages == 2 && complete == 0);
	env_close(&e);

	/* incremental: only what changed since the mark */
	sleep_ms(20);
	fmt_rfc3339_ms(now_ms(), since, sizeof(since));
	sleep_ms(20);
	snprintf(body, sizeof(body), "{\"id\": \"%s\", \"set\": {\"job_title\": \"Engineer\"}}",
	    json_str(g, "first_id"));
	fake_admin0("POST", "/_admin/edit-contact", body);
	snprintf(body, sizeof(body), "{\"id\": \"%s\", \"set\": {\"job_title\": \"Manager\"}}",
	    json_str(g, "last_id"));
	fake_admin0("POST", "/_admin/edit-contact", body);
	CHECK(env_fresh(&e, 100, 100) == 0);
	memset(&s, 0, sizeof(s));
	CHECK(keap_list_contacts(e.k, since, count_page, &s, &pages, &complete, &err) == RC_OK);
	CHECK(s.n == 2 && complete == 1);
	env_close(&e);
	cJSON_Delete(g);
}

/* ------------------------------------------------ the wire form, no fake */

static const char contact1[] =
    "{\"id\": 501, \"given_name\": \"Ann\", \"family_name\": null, \"middle_name\": 7,"
    " \"email_addresses\": [{\"email\": \"ann@x.example\", \"field\": \"EMAIL1\", \"is_opt_in\": true,"
    " \"opt_in_reason\": \"form\"}, {\"email\": \"ann@home.example\", \"field\": \"EMAIL2\"}],"
    " \"phone_numbers\": [{\"number\": \"555-0100\", \"extension\": \"7\", \"type\": \"Work\","
    " \"field\": \"PHONE1\"}, {\"number\": \"555-0111\", \"field\": \"PHONE2\", \"type\": null}],"
    " \"custom_fields\": [{\"id\": 11, \"content\": \"ext\"}, {\"id\": \"21\", \"content\": 42},"
    " {\"id\": \"23\", \"content\": false}, {\"id\": \"25\", \"content\": [\"C\"]},"
    " {\"id\": \"27\", \"content\": {\"a\": 1}}, {\"id\": \"29\", \"content\": null}, {\"id\": \"31\"},"
    " {\"content\": \"orphan\"}, 5],"
    " \"tag_ids\": [3, \"4\", null], \"addresses\": [{\"line1\": \"1 Main\"}], \"company\": {\"id\": 9},"
    " \"update_time\": \"2026-01-01T00:00:00.000Z\", \"x_unknown\": true}";

static void
check_keep(const struct contact_list *l, const char *key, const char *value, const char *keep)
{
	const struct contact_item *it = contact_item(l, key);

	CHECK(it != NULL);
	if (it == NULL)
		return;
	CHECK_STR(it->value, value);
	if (keep == NULL)
		CHECK(it->keep == NULL);
	else
		CHECK_STR(it->keep, keep);
}

static void
test_bodies(void)
{
	static const char *const not_contacts[] = {
		"[]", "{\"given_name\":\"x\"}", "{\"id\":\"\"}", "{\"id\":null}", "{\"id\":1.5}",
		"{\"id\":{}}", "not json", "",
	};
	struct contact c, cp, d;
	struct contact_change ch;
	struct buf err = BUF_INIT;
	cJSON *j;
	char *text, *body, *body2;
	size_t i;

	/* decoding: ids as integers or strings, keep and rest */
	CHECK(contact_from_json(contact1, strlen(contact1), &c, &err) == RC_OK);
	CHECK_STR(c.id, "501");
	CHECK_STR(c.prop[CP_GIVEN_NAME], "Ann");
	CHECK(c.prop[CP_FAMILY_NAME] == NULL && c.prop[CP_MIDDLE_NAME] == NULL);
	CHECK(c.emails.n == 2 && c.phones.n == 2 && c.customs.n == 7);
	check_keep(&c.emails, "EMAIL1", "ann@x.example", "{\"opt_in_reason\":\"form\"}");
	check_keep(&c.emails, "EMAIL2", "ann@home.example", NULL);
	check_keep(&c.phones, "PHONE1", "555-0100", "{\"extension\":\"7\",\"type\":\"Work\"}");
	check_keep(&c.phones, "PHONE2", "555-0111", NULL);
	check_keep(&c.customs, "11", "ext", NULL);
	check_keep(&c.customs, "21", "42", "42");
	check_keep(&c.customs, "23", "false", "false");
	check_keep(&c.customs, "25", "[\"C\"]", "[\"C\"]");
	check_keep(&c.customs, "27", "{\"a\":1}", "{\"a\":1}");
	check_keep(&c.customs, "29", "", NULL);
	check_keep(&c.customs, "31", "", NULL);
	CHECK(c.ntags == 2 && str_eq(c.tag_ids[0], "3") && str_eq(c.tag_ids[1], "4"));
	CHECK_STR(c.rest, "{\"middle_name\":7,\"addresses\":[{\"line1\":\"1 Main\"}],\"company\":{\"id\":9},"
	    "\"update_time\":\"2026-01-01T00:00:00.000Z\",\"x_unknown\":true}");
	/* the hash is snap.c's: FNV-1a over the compact JSON of the object */
	j = json_parse(contact1, strlen(contact1), &err);
	text = json_print(j);
	CHECK(c.hash == codec_fnv1a(text, strlen(text)) && c.hash != 0);
	CHECK(contact_from_json(text, strlen(text), &d, &err) == RC_OK && d.hash == c.hash);
	contact_free(&d);
	free(text);
	cJSON_Delete(j);
	/* a change in any part, read or not, changes the hash */
	{
		static const char a[] = "{\"id\":\"1\",\"company\":{\"id\":9}}";
		static const char b[] = "{\"id\":\"1\",\"company\":{\"id\":8}}";
		struct contact xa, xb;
		CHECK(contact_from_json(a, strlen(a), &xa, &err) == RC_OK);
		CHECK(contact_from_json(b, strlen(b), &xb, &err) == RC_OK);
		CHECK(xa.hash != xb.hash && xa.hash == codec_fnv1a(a, strlen(a)));
		CHECK(xa.rest != NULL && xb.rest != NULL && !str_eq(xa.rest, xb.rest));
		CHECK(xa.emails.n == 0 && xa.ntags == 0 && xa.prop[CP_GIVEN_NAME] == NULL);
		contact_free(&xa);
		contact_free(&xb);
		CHECK(contact_from_json("{\"id\":\"2\"}", 10, &xa, &err) == RC_OK && xa.rest == NULL);
		contact_free(&xa);
	}
	for (i = 0; i < ARRAY_LEN(not_contacts); i++) {
		buf_reset(&err);
		CHECK(contact_from_json(not_contacts[i], strlen(not_contacts[i]), &d, &err) == RC_RECORD);
		CHECK(d.id == NULL && err.len > 0);
	}

	/* a PATCH: every current item with its other writable properties, the
	 * changes merged in by slot or id */
	memset(&ch, 0, sizeof(ch));
	change_set(&ch, CW_PROP, "given_name", "");		/* empty text: sent as "" */
	change_set(&ch, CW_EMAIL, "EMAIL2", "");		/* removes the slot */
	change_set(&ch, CW_PHONE, "PHONE2", "555-0199");	/* replaced */
	change_set(&ch, CW_CUSTOM, "29", "");			/* cleared: null */
	change_set(&ch, CW_CUSTOM, "23", "false");		/* the same: its own JSON type */
	change_set(&ch, CW_CUSTOM, "41", "");			/* not there: cleared all the same */
	change_set(&ch, CW_EMAIL, "EMAIL3", "");		/* not there: dropped */
	change_set(&ch, CW_PHONE, "PHONE3", "555-0333");	/* a new slot */
	body = keap_patch_body(&c, &ch);
	CHECK_STR(body, "{\"given_name\":\"\","
	    "\"email_addresses\":[{\"email\":\"ann@x.example\",\"field\":\"EMAIL1\","
	    "\"opt_in_reason\":\"form\"}],"
	    "\"phone_numbers\":[{\"number\":\"555-0100\",\"extension\":\"7\",\"field\":\"PHONE1\","
	    "\"type\":\"Work\"},{\"number\":\"555-0199\",\"field\":\"PHONE2\"},{\"number\":\"555-0333\","
	    "\"field\":\"PHONE3\"}],"
	    "\"custom_fields\":[{\"id\":\"11\",\"content\":\"ext\"},{\"id\":\"21\",\"content\":42},"
	    "{\"id\":\"23\",\"content\":false},{\"id\":\"25\",\"content\":[\"C\"]},{\"id\":\"27\","
	    "\"content\":{\"a\":1}},{\"id\":\"29\",\"content\":null},{\"id\":\"31\",\"content\":null},"
	    "{\"id\":\"41\",\"content\":null}]}");
	/* keep and rest are plain strings: a copy (as the snapshot stores and
	 * hands them back) makes the same body */
	contact_copy(&cp, &c);
	body2 = keap_patch_body(&cp, &ch);
	CHECK_STR(body2, body);
	free(body2);
	free(body);
	change_free(&ch);

	/* a changed slot does not carry the old value's extension or type (the
	 * old writable_item of the change); a new custom value is text */
	memset(&ch, 0, sizeof(ch));
	change_set(&ch, CW_PHONE, "PHONE1", "555-0000");
	change_set(&ch, CW_CUSTOM, "21", "43");
	body = keap_patch_body(&cp, &ch);
	CHECK_STR(body, "{\"phone_numbers\":[{\"number\":\"555-0000\",\"field\":\"PHONE1\"},"
	    "{\"number\":\"555-0111\",\"field\":\"PHONE2\"}],\"custom_fields\":[{\"id\":\"11\","
	    "\"content\":\"ext\"},{\"id\":\"21\",\"content\":\"43\"},{\"id\":\"23\",\"content\":false},"
	    "{\"id\":\"25\",\"content\":[\"C\"]},{\"id\":\"27\",\"content\":{\"a\":1}},{\"id\":\"29\","
	    "\"content\":null},{\"id\":\"31\",\"content\":null}]}");
	free(body);
	/* no current contact: only the changed items (the naive PATCH) */
	body = keap_patch_body(NULL, &ch);
	CHECK_STR(body, "{\"phone_numbers\":[{\"number\":\"555-0000\",\"field\":\"PHONE1\"}],"
	    "\"custom_fields\":[{\"id\":\"21\",\"content\":\"43\"}]}");
	free(body);
	/* the same change for a create */
	change_set(&ch, CW_EMAIL, "EMAIL2", "");
	change_set(&ch, CW_PROP, "job_title", "Chemist");
	body = keap_create_body(&ch);
	CHECK_STR(body, "{\"phone_numbers\":[{\"field\":\"PHONE1\",\"number\":\"555-0000\"}],"
	    "\"custom_fields\":[{\"id\":\"21\",\"content\":\"43\"}],\"job_title\":\"Chemist\"}");
	free(body);
	change_free(&ch);
	contact_free(&cp);

	/* keep text that does not parse (a damaged store): key and value alone */
	memset(&d, 0, sizeof(d));
	d.id = xstrdup("9");
	contact_list_add(&d.phones, "PHONE1", "1", "{broken");
	contact_list_add(&d.customs, "21", "7", "[oops");
	memset(&ch, 0, sizeof(ch));
	change_set(&ch, CW_PHONE, "PHONE2", "2");
	change_set(&ch, CW_CUSTOM, "23", "true");
	body = keap_patch_body(&d, &ch);
	CHECK_STR(body, "{\"phone_numbers\":[{\"number\":\"1\",\"field\":\"PHONE1\"},{\"number\":\"2\","
	    "\"field\":\"PHONE2\"}],\"custom_fields\":[{\"id\":\"21\",\"content\":\"7\"},{\"id\":\"23\","
	    "\"content\":\"true\"}]}");
	free(body);
	change_free(&ch);
	contact_free(&d);

	/* empty changes: no body; only cleared values: an empty create */
	memset(&ch, 0, sizeof(ch));
	CHECK(keap_patch_body(&c, &ch) == NULL && keap_create_body(&ch) == NULL);
	CHECK(keap_patch_body(&c, NULL) == NULL && keap_create_body(NULL) == NULL);
	change_set(&ch, CW_EMAIL, "EMAIL1", "");
	body = keap_create_body(&ch);
	CHECK_STR(body, "{}");
	free(body);
	change_free(&ch);
	contact_free(&c);
	buf_free(&err);
}

static void
test_upsert_and_patch(void)
{
	struct env e;
	struct api_err err;
	struct contact_change ch;
	struct contact got, cur;
	cJSON *after;
	char *body;
	int created = -1;
	char id[32];

	reset_world();
	CHECK(env_fresh(&e, 100, 10) == 0);
	contact_change(&ch, "Ada", "ada@example.com", "ada.home@example.org");
	change_set(&ch, CW_CUSTOM, "11", "greenhouse:1001");
	change_set(&ch, CW_CUSTOM, "17", "Screen");
	change_set(&ch, CW_PHONE, "PHONE1", "");	/* cleared: left out of a create */
	body = keap_create_body(&ch);
	/* the body the engine always sent for a create (mapping_put into {}) */
	CHECK_STR(body, "{\"given_name\":\"Ada\",\"email_addresses\":[{\"field\":\"EMAIL1\","
	    "\"email\":\"ada@example.com\"},{\"field\":\"EMAIL2\",\"email\":\"ada.home@example.org\"}],"
	    "\"custom_fields\":[{\"id\":\"11\",\"content\":\"greenhouse:1001\"},{\"id\":\"17\","
	    "\"content\":\"Screen\"}]}");
	CHECK(keap_upsert_contact(e.k, body, &created, &got, &err) == RC_OK);
	CHECK(created == 1);
	str_copy(id, sizeof(id), got.id != NULL ? got.id : "?");
	CHECK_STR(got.prop[CP_GIVEN_NAME], "Ada");
	CHECK(got.hash != 0);
	contact_free(&got);
	free(body);
	/* the same email again: matched and updated, not duplicated */
	change_set(&ch, CW_PROP, "given_name", "Ada B.");
	body = keap_create_body(&ch);
	CHECK(keap_upsert_contact(e.k, body, &created, &got, &err) == RC_OK);
	CHECK(created == 0);
	CHECK_STR(got.id, id);
	contact_free(&got);
	/* without *out: freed inside */
	CHECK(keap_upsert_contact(e.k, body, &created, NULL, &err) == RC_OK);
	free(body);
	change_free(&ch);

	/* PATCH one email and one custom field: the others survive */
	CHECK(keap_get_contact(e.k, id, &cur, &err) == RC_OK);
	CHECK_STR(cur.id, id);
	CHECK_STR(cur.prop[CP_GIVEN_NAME], "Ada B.");
	CHECK(cur.emails.n == 2 && cur.customs.n == 2);
	CHECK(contact_item(&cur.emails, "EMAIL2") != NULL &&
	    str_eq(contact_item(&cur.emails, "EMAIL2")->value, "ada.home@example.org"));
	CHECK(cur.rest != NULL && strstr(cur.rest, "\"update_time\"") != NULL);
	memset(&ch, 0, sizeof(ch));
	change_set(&ch, CW_EMAIL, "EMAIL1", "ada@new.example");
	change_set(&ch, CW_CUSTOM, "17", "Onsite");
	body = keap_patch_body(&cur, &ch);
	/* the full lists; the fake's is_opt_in and email_opt_status are not writable */
	CHECK_STR(body, "{\"email_addresses\":[{\"email\":\"ada@new.example\",\"field\":\"EMAIL1\"},"
	    "{\"email\":\"ada.home@example.org\",\"field\":\"EMAIL2\"}],\"custom_fields\":[{\"id\":\"11\","
	    "\"content\":\"greenhouse:1001\"},{\"id\":\"17\",\"content\":\"Onsite\"}]}");
	CHECK(keap_patch_contact(e.k, id, body, &got, &err) == RC_OK);
	CHECK_STR(got.id, id);
	CHECK(contact_item(&got.emails, "EMAIL1") != NULL &&
	    str_eq(contact_item(&got.emails, "EMAIL1")->value, "ada@new.example"));
	CHECK(got.hash != 0 && got.hash != cur.hash);
	contact_free(&got);
	free(body);
	after = fake_contact(id);
	CHECK_STR(email_in(after, "EMAIL1"), "ada@new.example");
	CHECK_STR(email_in(after, "EMAIL2"), "ada.home@example.org");
	CHECK(cJSON_IsString(custom_in(after, "11")) && str_eq(custom_in(after, "11")->valuestring,
	    "greenhouse:1001"));
	CHECK(cJSON_IsString(custom_in(after, "17")) && str_eq(custom_in(after, "17")->valuestring,
	    "Onsite"));
	CHECK_STR(json_str(after, "given_name"), "Ada B.");	/* not in the mask: untouched */
	cJSON_Delete(after);

	/* what a naive PATCH (only the changed item) does in Keap: the other email is gone.
	 * This is the behaviour the merge guards against. */
	body = keap_patch_body(NULL, &ch);
	CHECK_STR(body, "{\"email_addresses\":[{\"email\":\"ada@new.example\",\"field\":\"EMAIL1\"}],"
	    "\"custom_fields\":[{\"id\":\"17\",\"content\":\"Onsite\"}]}");
	CHECK(keap_patch_contact(e.k, id, body, NULL, &err) == RC_OK);
	after = fake_contact(id);
	CHECK(email_in(after, "EMAIL2") == NULL);
	cJSON_Delete(after);
	free(body);
	change_free(&ch);
	contact_free(&cur);

	/* unknown contact: a record-level error with the parsed v2 envelope */
	CHECK(keap_get_contact(e.k, "987654321", &cur, &err) == RC_RECORD);
	CHECK(err.status == 404 && err.msg[0] != '\0');
	CHECK(cur.id == NULL);
	/* a dropdown value that is not an option: 400, record-level, not retried */
	memset(&ch, 0, sizeof(ch));
	change_set(&ch, CW_CUSTOM, "13", "Carrier pigeon");
	body = keap_patch_body(NULL, &ch);
	CHECK(keap_patch_contact(e.k, id, body, &got, &err) == RC_RECORD);
	CHECK(err.status == 400);
	CHECK(got.id == NULL);
	free(body);
	change_free(&ch);

	/* the model */
	{
		struct keap_model m;
		const struct keap_field *f;
		CHECK(keap_load_model(e.k, &m, &err) == RC_OK);
		f = keap_model_field(&m, "ATS Source");
		CHECK(f != NULL && str_eq(f->type, "DROPDOWN") && keap_field_has_option(f, "LinkedIn") &&
		    !keap_field_has_option(f, "Carrier pigeon"));
		CHECK(keap_model_field(&m, "No Such Field") == NULL);
		keap_model_free(&m);
	}
	env_close(&e);
}

static void
test_tags(void)
{
	struct env e;
	struct api_err err;
	struct keap_tags tags;
	struct keap_tag_result *res;
	const char *tag_id = NULL, *again = NULL;
	const char **ids;
	cJSON *g, *stats;
	long first, i, okn = 0;
	char body[256];

	reset_world();
	g = fake_admin("POST", "/_admin/generate-contacts", "{\"count\": 250}");
	first = strtol(json_str(g, "first_id") ? json_str(g, "first_id") : "0", NULL, 10);
	CHECK(env_fresh(&e, 100, 10) == 0);
	CHECK(keap_load_tags(e.k, &tags, &err) == RC_OK);
	CHECK(keap_ensure_tag(e.k, &tags, "ATS Stage: Screen", "ATS Stage", &tag_id, &err) == RC_OK);
	CHECK(tag_id != NULL);
	CHECK(keap_ensure_tag(e.k, &tags, "ATS Stage: Screen", "ATS Stage", &again, &err) == RC_OK);
	CHECK(str_eq(tag_id, again));	/* found, not created twice */

	ids = xcalloc(252, sizeof(*ids));
	for (i = 0; i < 250; i++)
		ids[i] = xasprintf("%ld", first + i);
	ids[250] = xstrdup("987654321");	/* no such contact */
	snprintf(body, sizeof(body), "{\"tag_fail_contacts\": [\"%s\"]}", ids[5]);
	fake_admin0("POST", "/_admin/settings", body);
	fake_admin0("POST", "/_admin/stats/reset", "{}");
	res = xcalloc(251, sizeof(*res));
	CHECK(keap_tag_contacts(e.k, tag_id, 1, ids, 251, res, &err) == RC_OK);
	for (i = 0; i < 251; i++)
		okn += res[i].ok;
	CHECK(okn == 249);
	CHECK(!res[5].ok && str_eq(res[5].status, "FAILURE"));
	CHECK(!res[250].ok && str_eq(res[250].status, "CONTACT_NOT_FOUND"));
	stats = fake_admin("GET", "/_admin/stats", NULL);
	{
		const cJSON *ops = json_get(stats, "by_operation");
		int64_t calls = 0;
		json_int(ops, "applyTags", &calls);
		CHECK(calls == 3);	/* 251 contacts: 100 + 100 + 51 */
	}
	cJSON_Delete(stats);
	/* removing: 204, all done */
	CHECK(keap_tag_contacts(e.k, tag_id, 0, ids, 250, res, &err) == RC_OK);
	for (i = 0, okn = 0; i < 250; i++)
		okn += res[i].ok;
	CHECK(okn == 250);
	for (i = 0; i < 251; i++)
		free((char *)ids[i]);
	free(ids);
	free(res);
	keap_tags_free(&tags);
	env_close(&e);
	cJSON_Delete(g);
}

static void
test_refresh(void)
{
	struct env e;
	struct api_err err;
	struct auth_status as;
	struct keap_model m;
	cJSON *stats;
	char dir[128];
	pid_t pid;
	int status;
	int64_t refreshes = 0;

	reset_world();
	CHECK(env_fresh(&e, 100, 10) == 0);
	/* the stored refresh token has no access token yet: refresh before the first call */
	CHECK(keap_load_model(e.k, &m, &err) == RC_OK);
	keap_model_free(&m);
	auth_get_status(e.a, &as);
	CHECK(as.refreshes == 1);
	/* the access token expires (Keap's 401 in the gateway envelope): one refresh, one retry */
	fake_admin0("POST", "/_admin/expire-access-tokens", "{}");
	CHECK(keap_load_model(e.k, &m, &err) == RC_OK);
	keap_model_free(&m);
	auth_get_status(e.a, &as);
	CHECK(as.refreshes == 2);
	/* a short-lived token (30 min): refreshed after the 401, and not again at once */
	fake_admin0("POST", "/_admin/lifetimes", "{\"access_s\": 1800}");
	fake_admin0("POST", "/_admin/expire-access-tokens", "{}");
	CHECK(keap_load_model(e.k, &m, &err) == RC_OK);
	keap_model_free(&m);
	CHECK(keap_load_model(e.k, &m, &err) == RC_OK);
	keap_model_free(&m);
	auth_get_status(e.a, &as);
	CHECK(as.refreshes == 3);
	/* less than an hour left of a 24 h token: refreshed before use, without a 401 */
	fake_admin0("POST", "/_admin/lifetimes", "{\"access_s\": 86400}");
	fake_admin0("POST", "/_admin/expire-access-tokens", "{}");
	CHECK(keap_load_model(e.k, &m, &err) == RC_OK);	/* 401 → refresh: a 24 h token */
	keap_model_free(&m);
	{
		/* the clock moves on: 10 minutes left */
		struct buf rec = BUF_INIT, fixed = BUF_INIT;
		cJSON *j;
		CHECK(state_get(e.st, DB_TOKENS, "keap", &rec) == RC_OK);
		j = json_parse(rec.p, rec.len, &fixed);
		cJSON_ReplaceItemInObject(j, "expires_at", cJSON_CreateNumber((double)(now_ms() / 1000 + 600)));
		free(rec.p);
		rec.p = json_print(j);
		CHECK(state_put(e.st, DB_TOKENS, "keap", rec.p, strlen(rec.p)) == RC_OK);
		cJSON_Delete(j);
		buf_free(&rec);
		buf_free(&fixed);
		env_close(&e);
		CHECK(env_open(&e, dir_of_last(), NULL, NULL, 100, 10, 100) == 0);
	}
	CHECK(keap_load_model(e.k, &m, &err) == RC_OK);	/* refreshed first */
	keap_model_free(&m);
	auth_get_status(e.a, &as);
	CHECK(as.refreshes == 1);
	stats = fake_admin("GET", "/_admin/stats", NULL);
	json_int(stats, "refreshes", &refreshes);
	CHECK(refreshes == 5);
	CHECK(json_int(stats, "401", &refreshes) == 0 && refreshes == 3);	/* no 401 for the last */
	cJSON_Delete(stats);
	fake_admin0("POST", "/_admin/lifetimes", "{\"access_s\": 86400}");
	str_copy(dir, sizeof(dir), e.dir);
	env_close(&e);

	/* killed right after the rotated pair was committed: the next run goes on with it */
	fake_admin0("POST", "/_admin/expire-access-tokens", "{}");
	pid = fork();
	if (pid == 0) {
		struct env c;
		setenv("ATSRECON_TEST_KILL_AT", "token-committed", 1);
		if (env_open(&c, dir, NULL, NULL, 100, 10, 100) != 0)
			_exit(3);
		keap_load_model(c.k, &m, &err);	/* 401 → refresh → commit → SIGKILL */
		_exit(4);
	}
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	CHECK(env_open(&e, dir, NULL, NULL, 100, 10, 100) == 0);
	CHECK(keap_load_model(e.k, &m, &err) == RC_OK);
	keap_model_free(&m);
	env_close(&e);

	/* while one process holds the state, no other can touch its tokens */
	pid = fork();
	if (pid == 0) {
		struct state *st = NULL;
		if (state_open(dir, STATE_RW, &st) != RC_OK)
			_exit(1);
		sleep(3);
		_exit(0);
	}
	sleep_ms(300);
	{
		struct state *st = NULL;
		CHECK(state_open(dir, STATE_RW, &st) == RC_LOCKED);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);

	/* a refresh token Keap no longer knows: a person must act (exit 4) */
	CHECK(env_open(&e, NULL, "KR-not-a-real-token", NULL, 100, 10, 100) == 0);
	CHECK(keap_load_model(e.k, &m, &err) == RC_AUTH);
	CHECK(rc_exit_status(RC_AUTH) == 4);
	env_close(&e);

	/* an API key instead of OAuth */
	{
		cJSON *k = fake_admin("POST", "/_admin/api-keys", "{}");
		CHECK(env_open(&e, NULL, NULL, json_str(k, "key"), 100, 10, 4) == 0);
		CHECK(keap_load_model(e.k, &m, &err) == RC_OK);
		keap_model_free(&m);
		env_close(&e);
		cJSON_Delete(k);
	}
}

/* Whether the log written since offset mark holds needle. */
static int
log_since_has(size_t mark, const char *needle)
{
	struct buf t = BUF_INIT;
	int found = read_file(logpath, 64 * 1024 * 1024, &t) == 0 && t.len >= mark &&
	    strstr(t.p + mark, needle) != NULL;

	buf_free(&t);
	return found;
}

static size_t
log_size(void)
{
	struct buf t = BUF_INIT;
	size_t n = read_file(logpath, 64 * 1024 * 1024, &t) == 0 ? t.len : 0;

	buf_free(&t);
	return n;
}

static int64_t
fake_stat(const char *name)
{
	cJSON *st = fake_admin("GET", "/_admin/stats", NULL);
	int64_t v = -1;

	if (json_int(st, name, &v) != 0)
		v = -1;
	cJSON_Delete(st);
	return v;
}

/* How often the fault rules fired in all. */
static int64_t
faults_fired(void)
{
	cJSON *f = fake_admin("GET", "/_admin/faults", NULL);
	const cJSON *r;
	int64_t n = 0, v;

	cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(f, "rules"))
		if (json_int(r, "fired", &v) == 0)
			n += v;
	cJSON_Delete(f);
	return n;
}

/*
 * A refresh whose answer is lost (issue 16): Keap's refresh tokens are single
 * use, so the retry is safe only when Keap did not process the request. The
 * fake models both: a fault without "process" answers before the token
 * endpoint sees the request; with "process" (and the kinds that cut a real
 * answer: cut, truncate, midreset) the token is rotated and the answer lost.
 */
static void
test_refresh_lost(void)
{
	static const char *const rotated[] = {
		"{\"kind\":\"reset\",\"process\":true}",
		"{\"kind\":\"status\",\"status\":502,\"process\":true}",
		"{\"kind\":\"cut\"}",
		"{\"kind\":\"truncate\"}",
		"{\"kind\":\"midreset\"}",
	};
	struct env e;
	struct api_err err;
	struct keap_model m;
	struct auth_status as;
	int64_t tr0, rf0;
	size_t mark, i;
	char rules[256];

	reset_world();
	/* not processed: a reset before the answer, a malformed 200, a 502: the
	 * same refresh token asked again, the fourth attempt works */
	CHECK(env_fresh(&e, 100, 10) == 0);
	fake_admin0("POST", "/_admin/faults", "[{\"match\":{\"path\":\"^/token$\"},\"kind\":\"reset\","
	    "\"times\":1},{\"match\":{\"path\":\"^/token$\"},\"kind\":\"malformed\",\"times\":1},"
	    "{\"match\":{\"path\":\"^/token$\"},\"kind\":\"status\",\"status\":502,\"times\":1}]");
	tr0 = fake_stat("token_requests");
	rf0 = fake_stat("refreshes");
	mark = log_size();
	CHECK(keap_load_model(e.k, &m, &err) == RC_OK);
	keap_model_free(&m);
	auth_get_status(e.a, &as);
	CHECK(as.refreshes == 1);
	CHECK(faults_fired() == 3);
	CHECK(fake_stat("token_requests") - tr0 == 1);	/* only the last reached the endpoint */
	CHECK(fake_stat("refreshes") - rf0 == 1);
	CHECK(log_since_has(mark, "the answer was lost; asking again with the same refresh token"));
	/* the rotated pair was stored: the next refresh (after a 401) works */
	fake_admin0("POST", "/_admin/faults", "[]");
	fake_admin0("POST", "/_admin/expire-access-tokens", "{}");
	CHECK(keap_load_model(e.k, &m, &err) == RC_OK);
	keap_model_free(&m);
	auth_get_status(e.a, &as);
	CHECK(as.refreshes == 2);
	env_close(&e);

	/* bounded: every answer lost, AUTH_REFRESH_LOST_RETRIES retries, one at a
	 * time, then RC_REMOTE (exit 5), and the refresh token is still good */
	CHECK(env_fresh(&e, 100, 10) == 0);
	fake_admin0("POST", "/_admin/faults", "[{\"match\":{\"path\":\"^/token$\"},\"kind\":\"reset\"}]");
	mark = log_size();
	CHECK(keap_load_model(e.k, &m, &err) == RC_REMOTE);
	CHECK(faults_fired() == 1 + AUTH_REFRESH_LOST_RETRIES);
	CHECK(log_since_has(mark, "no answer arrived whole after 4 attempts"));
	fake_admin0("POST", "/_admin/faults", "[]");
	CHECK(keap_load_model(e.k, &m, &err) == RC_OK);
	keap_model_free(&m);
	env_close(&e);

	/* processed: the token rotated and the answer lost; the retry is answered
	 * invalid_grant: exit 4, saying so and what to run */
	for (i = 0; i < sizeof(rotated) / sizeof(rotated[0]); i++) {
		CHECK(env_fresh(&e, 100, 10) == 0);
		snprintf(rules, sizeof(rules), "[%.*s,\"match\":{\"path\":\"^/token$\"},\"times\":1}]",
		    (int)strlen(rotated[i]) - 1, rotated[i]);
		fake_admin0("POST", "/_admin/faults", rules);
		tr0 = fake_stat("token_requests");
		rf0 = fake_stat("refreshes");
		mark = log_size();
		CHECK(keap_load_model(e.k, &m, &err) == RC_AUTH);
		CHECK(rc_exit_status(RC_AUTH) == 4);
		CHECK(fake_stat("token_requests") - tr0 == 2);	/* the lost one and one retry */
		CHECK(fake_stat("refreshes") - rf0 == 1);
		CHECK(log_since_has(mark, "the answer to an earlier attempt was lost"));
		CHECK(log_since_has(mark, "the stored one is dead; run `atsrecon auth keap --login` (or "
		    "`atsrecon auth keap --refresh-token-file FILE`)"));
		if (!log_since_has(mark, "the answer to an earlier attempt was lost"))
			printf("# fault %s\n", rotated[i]);
		env_close(&e);
	}
	fake_admin0("POST", "/_admin/faults", "[]");
}

static void
test_faults(void)
{
	struct env e;
	struct api_err err;
	struct seen s = { 0, 0 };
	struct keap_op *ops;
	cJSON *g, *c;
	char **bodies;
	int pages, complete, i, okn = 0, renamed = 0, results = 0;
	long first;
	int64_t t0;
	char name[32];

	reset_world();
	g = fake_admin("POST", "/_admin/generate-contacts", "{\"count\": 300}");
	first = strtol(json_str(g, "first_id") ? json_str(g, "first_id") : "0", NULL, 10);
	CHECK(env_fresh(&e, 100, 10) == 0);

	/* 5xx and resets are retried */
	fake_admin0("POST", "/_admin/faults", "[{\"match\":{\"path\":\"/v2/contacts$\"},\"kind\":\"status\","
	    "\"status\":503,\"times\":2},{\"match\":{\"path\":\"/v2/contacts$\"},\"kind\":\"reset\","
	    "\"times\":2,\"after\":1}]");
	CHECK(keap_list_contacts(e.k, NULL, count_page, &s, &pages, &complete, &err) == RC_OK);
	CHECK(s.n == 300 && complete == 1);

	/* Retry-After is honoured */
	fake_admin0("POST", "/_admin/faults", "[{\"match\":{\"path\":\"/v2/contacts/model$\"},\"kind\":\"status\","
	    "\"status\":429,\"headers\":{\"Retry-After\":\"2\"},\"times\":1}]");
	t0 = mono_ms();
	{
		struct keap_model m;
		CHECK(keap_load_model(e.k, &m, &err) == RC_OK);
		keap_model_free(&m);
	}
	CHECK(mono_ms() - t0 >= 1900);

	/* a malformed page once, or a page cut short with an honest length: read
	 * again, the listing completes (issue 16) */
	fake_admin0("POST", "/_admin/faults", "[{\"match\":{\"path\":\"/v2/contacts$\"},\"kind\":\"malformed\","
	    "\"times\":1},{\"match\":{\"path\":\"/v2/contacts$\"},\"kind\":\"cut\",\"times\":1}]");
	memset(&s, 0, sizeof(s));
	CHECK(keap_list_contacts(e.k, NULL, count_page, &s, &pages, &complete, &err) == RC_OK);
	CHECK(s.n > 0 && complete == 1);
	/* malformed every time: an error for that page, no crash, nothing delivered */
	fake_admin0("POST", "/_admin/faults", "[{\"match\":{\"path\":\"/v2/contacts$\"},\"kind\":\"malformed\"}]");
	memset(&s, 0, sizeof(s));
	CHECK(keap_list_contacts(e.k, NULL, count_page, &s, &pages, &complete, &err) == RC_REMOTE);
	CHECK(s.n == 0 && complete == 0);
	CHECK(strstr(err.msg, "unreadable") != NULL || strstr(err.msg, "invalid JSON") != NULL);
	/* Issue 16 defect 4: a page without its contacts array (or with something
	 * else there) is an error for that page, never an empty, finished listing */
	{
		static const char *const bodies4[] = {
			"{\"next_page_token\":\"\"}", "{\"contacts\":{},\"next_page_token\":\"\"}",
			"{\"contacts\":null}", "[]",
		};
		size_t b;
		for (b = 0; b < ARRAY_LEN(bodies4); b++) {
			char *rule = xasprintf("[{\"match\":{\"path\":\"/v2/contacts$\"},\"kind\":\"status\","
			    "\"status\":200,\"body\":%s}]", bodies4[b]);
			fake_admin0("POST", "/_admin/faults", rule);
			free(rule);
			memset(&s, 0, sizeof(s));
			complete = 1;
			CHECK(keap_list_contacts(e.k, NULL, count_page, &s, &pages, &complete, &err) ==
			    RC_REMOTE);	/* defect4_keap_page_without_contacts */
			CHECK(s.n == 0 && complete == 0);
		}
		/* the same for the tag listings */
		fake_admin0("POST", "/_admin/faults", "[{\"match\":{\"path\":\"/v2/tags$\"},\"kind\":\"status\","
		    "\"status\":200,\"body\":{\"next_page_token\":\"\"}}]");
		{
			struct keap_tags tg;
			CHECK(keap_load_tags(e.k, &tg, &err) == RC_REMOTE);	/* defect4_keap_page_without_contacts */
			keap_tags_free(&tg);
		}
		fake_admin0("POST", "/_admin/faults", "[]");
	}
	/* a body cut short, every time: retried, then an error */
	fake_admin0("POST", "/_admin/faults", "[{\"match\":{\"path\":\"/v2/contacts$\"},\"kind\":\"truncate\"}]");
	memset(&s, 0, sizeof(s));
	CHECK(keap_list_contacts(e.k, NULL, count_page, &s, &pages, &complete, &err) == RC_REMOTE);
	CHECK(s.n == 0 && complete == 0);
	/* a 5 MB body against a 1 MB cap */
	fake_admin0("POST", "/_admin/faults", "[{\"match\":{\"path\":\"/v2/contacts$\"},\"kind\":\"oversize\","
	    "\"bytes\":5000000}]");
	CHECK(keap_list_contacts(e.k, NULL, count_page, &s, &pages, &complete, &err) == RC_REMOTE);
	CHECK(strstr(err.msg, "larger than") != NULL);

	/* a 429 storm on writes: every write lands, none twice */
	fake_admin0("POST", "/_admin/faults", "[{\"match\":{\"method\":\"PATCH\"},\"kind\":\"status\","
	    "\"status\":429,\"probability\":0.35,\"seed\":7,\"headers\":{\"Retry-After\":\"0\"}}]");
	ops = xcalloc(50, sizeof(*ops));
	bodies = xcalloc(50, sizeof(*bodies));
	for (i = 0; i < 50; i++) {
		snprintf(name, sizeof(name), "Storm%d", i);
		bodies[i] = prop_body("given_name", name);
		ops[i].kind = KEAP_OP_PATCH;
		ops[i].id = xasprintf("%ld", first + i);
		ops[i].body = bodies[i];
	}
	keap_write_batch(e.k, ops, 50);
	for (i = 0; i < 50; i++) {
		okn += ops[i].rc == RC_OK;
		if (ops[i].rc != RC_OK)
			printf("# storm op %d: rc %d status %ld %s\n", i, ops[i].rc, ops[i].err.status,
			    ops[i].err.msg);
		snprintf(name, sizeof(name), "Storm%d", i);
		/* the answer is the contact as written */
		results += ops[i].rc == RC_OK && ops[i].has_result &&
		    str_eq(ops[i].result.id, ops[i].id) &&
		    str_eq(ops[i].result.prop[CP_GIVEN_NAME], name);
		contact_free(&ops[i].result);
		c = fake_contact(ops[i].id);
		renamed += str_eq(json_str(c, "given_name"), name);
		cJSON_Delete(c);
		free((char *)ops[i].id);
		free(bodies[i]);
	}
	CHECK(okn == 50);
	CHECK(renamed == 50);
	CHECK(results == 50);
	CHECK(http_get_stats(e.h)->status_429 >= 10);	/* there was a storm */
	free(ops);
	free(bodies);
	fake_admin0("POST", "/_admin/faults", "[]");

	/* the fake's own spike arrest (no headers): absorbed by backoff and AIMD */
	fake_admin0("POST", "/_admin/limits", "{\"spike_per_second\": 8}");
	fake_admin0("POST", "/_admin/reset-counters", "{}");
	{
		struct keap_op wops[60];
		char *b = prop_body("job_title", "Paced");
		CHECK_STR(b, "{\"job_title\":\"Paced\"}");
		memset(wops, 0, sizeof(wops));
		for (i = 0; i < 60; i++) {
			wops[i].kind = KEAP_OP_PATCH;
			wops[i].id = xasprintf("%ld", first + 100 + i);
			wops[i].body = b;
		}
		keap_write_batch(e.k, wops, 60);
		for (i = 0, okn = 0; i < 60; i++) {
			okn += wops[i].rc == RC_OK;
			contact_free(&wops[i].result);
			free((char *)wops[i].id);
		}
		CHECK(okn == 60);
		free(b);
	}
	fake_admin0("POST", "/_admin/limits", "{\"spike_per_second\": 25}");
	env_close(&e);
	cJSON_Delete(g);
}

/* The query values of the last request the fake logged for method (NULL: none). */
static cJSON *
last_query(const char *method)
{
	cJSON *q = NULL;
	int tries;

	/* the fake logs a request after it has sent the answer: the entry may
	 * land a moment after the client has it (up to 2 s) */
	for (tries = 0; q == NULL && tries < 100; tries++) {
		cJSON *log = fake_admin("GET", "/_admin/requests", NULL);
		const cJSON *r;
		cJSON_ArrayForEach(r, json_get(log, "requests"))
			if (str_eq(json_str(r, "method"), method)) {
				cJSON_Delete(q);
				q = cJSON_Duplicate(json_get(r, "query"), 1);
			}
		cJSON_Delete(log);
		if (q == NULL)
			sleep_ms(20);
	}
	return q;
}

/* The update_mask of a query as "a,b,c". */
static char *
mask_of(const cJSON *q)
{
	struct buf b = BUF_INIT;
	const cJSON *m;

	cJSON_ArrayForEach(m, json_get(q, "update_mask")) {
		if (b.len > 0)
			buf_addc(&b, ',');
		buf_adds(&b, cJSON_IsString(m) ? m->valuestring : "?");
	}
	return b.p != NULL ? buf_take(&b) : xstrdup("");
}

/* Lists of a contact whose custom values are not all text, and whose phone
 * has an extension and a type: a PATCH of other items keeps them as they are. */
static void
test_typed_contact(void)
{
	struct env e;
	struct api_err err;
	struct contact cur, got;
	struct contact_change ch;
	const struct contact_item *it;
	cJSON *g, *after, *q;
	const cJSON *v, *p;
	char *body, *mask, edit[1024], id[32];
	struct keap_op ops[3];
	size_t i;

	reset_world();
	g = fake_admin("POST", "/_admin/generate-contacts", "{\"count\": 1}");
	str_copy(id, sizeof(id), json_str(g, "first_id") ? json_str(g, "first_id") : "?");
	cJSON_Delete(g);
	snprintf(edit, sizeof(edit), "{\"id\":\"%s\",\"set\":{\"job_title\":\"Chemist\","
	    "\"email_addresses\":[{\"email\":\"rf@example.com\",\"field\":\"EMAIL1\"},"
	    "{\"email\":\"rosalind@example.org\",\"field\":\"EMAIL2\"}],"
	    "\"phone_numbers\":[{\"number\":\"+14155550100\",\"extension\":\"12\",\"type\":\"Mobile\","
	    "\"field\":\"PHONE1\"}],"
	    "\"custom_fields\":[{\"id\":\"11\",\"content\":\"lever:77\"},{\"id\":\"21\",\"content\":42},"
	    "{\"id\":\"23\",\"content\":true},{\"id\":\"25\",\"content\":[\"C\",\"Go\"]}]}}", id);
	fake_admin0("POST", "/_admin/edit-contact", edit);
	CHECK(env_fresh(&e, 100, 10) == 0);
	CHECK(keap_get_contact(e.k, id, &cur, &err) == RC_OK);
	/* decoded: the non-text custom values as their JSON text, kept */
	it = contact_item(&cur.customs, "21");
	CHECK(it != NULL && str_eq(it->value, "42") && str_eq(it->keep, "42"));
	it = contact_item(&cur.customs, "23");
	CHECK(it != NULL && str_eq(it->value, "true") && str_eq(it->keep, "true"));
	it = contact_item(&cur.customs, "25");
	CHECK(it != NULL && str_eq(it->value, "[\"C\",\"Go\"]") && str_eq(it->keep, "[\"C\",\"Go\"]"));
	it = contact_item(&cur.customs, "11");
	CHECK(it != NULL && str_eq(it->value, "lever:77") && it->keep == NULL);
	it = contact_item(&cur.phones, "PHONE1");
	CHECK(it != NULL && str_eq(it->value, "+14155550100"));
	CHECK_STR(it != NULL ? it->keep : NULL, "{\"extension\":\"12\",\"type\":\"Mobile\","
	    "\"number_e164\":\"+14155550100\"}");
	CHECK_STR(cur.prop[CP_JOB_TITLE], "Chemist");

	/* a PATCH of PHONE2, EMAIL2 (removed), custom 11 (cleared) and 17 */
	memset(&ch, 0, sizeof(ch));
	change_set(&ch, CW_PHONE, "PHONE2", "+14155550111");
	change_set(&ch, CW_CUSTOM, "11", "");
	change_set(&ch, CW_EMAIL, "EMAIL2", "");
	change_set(&ch, CW_EMAIL, "EMAIL3", "");	/* not there: nothing to remove */
	change_set(&ch, CW_CUSTOM, "17", "Offer");
	change_set(&ch, CW_PROP, "middle_name", "");
	body = keap_patch_body(&cur, &ch);
	CHECK_STR(body, "{\"phone_numbers\":[{\"number\":\"+14155550100\",\"extension\":\"12\","
	    "\"field\":\"PHONE1\",\"type\":\"Mobile\",\"number_e164\":\"+14155550100\"},"
	    "{\"number\":\"+14155550111\",\"field\":\"PHONE2\"}],"
	    "\"custom_fields\":[{\"id\":\"11\",\"content\":null},{\"id\":\"21\",\"content\":42},"
	    "{\"id\":\"23\",\"content\":true},{\"id\":\"25\",\"content\":[\"C\",\"Go\"]},"
	    "{\"id\":\"17\",\"content\":\"Offer\"}],"
	    "\"email_addresses\":[{\"email\":\"rf@example.com\",\"field\":\"EMAIL1\"}],"
	    "\"middle_name\":\"\"}");
	fake_admin0("POST", "/_admin/reset-log", "{}");
	CHECK(keap_patch_contact(e.k, id, body, &got, &err) == RC_OK);
	if (err.msg[0] != '\0')
		printf("# typed patch: %ld %s\n", err.status, err.msg);
	/* update_mask = the body's keys, in its order */
	q = last_query("PATCH");
	mask = mask_of(q);
	CHECK_STR(mask, "phone_numbers,custom_fields,email_addresses,middle_name");
	free(mask);
	cJSON_Delete(q);
	/* what Keap holds now: the kept values with their JSON types (YES_NO takes
	 * only a boolean), PHONE1's extension and type, EMAIL2 gone, 11 cleared */
	after = fake_contact(id);
	v = custom_in(after, "23");
	CHECK(cJSON_IsBool(v) && cJSON_IsTrue(v));
	v = custom_in(after, "21");
	CHECK(cJSON_IsNumber(v) && v->valuedouble == 42);
	v = custom_in(after, "25");
	CHECK(cJSON_IsArray(v) && cJSON_GetArraySize(v) == 2);
	v = custom_in(after, "11");
	CHECK(v == NULL || cJSON_IsNull(v));
	CHECK_STR(email_in(after, "EMAIL1"), "rf@example.com");
	CHECK(email_in(after, "EMAIL2") == NULL);
	{
		int phone1 = 0, phone2 = 0;
		cJSON_ArrayForEach(p, json_get(after, "phone_numbers")) {
			if (str_eq(json_str(p, "field"), "PHONE1"))
				phone1 = str_eq(json_str(p, "extension"), "12") &&
				    str_eq(json_str(p, "type"), "Mobile");
			if (str_eq(json_str(p, "field"), "PHONE2"))
				phone2 = str_eq(json_str(p, "number"), "+14155550111");
		}
		CHECK(phone1 && phone2);
	}
	CHECK_STR(json_str(after, "job_title"), "Chemist");
	cJSON_Delete(after);
	/* the answer, decoded */
	CHECK_STR(got.id, id);
	CHECK(got.phones.n == 2 && got.emails.n == 1 && contact_item(&got.customs, "11") == NULL);
	it = contact_item(&got.customs, "23");
	CHECK(it != NULL && str_eq(it->keep, "true"));
	contact_free(&got);
	free(body);
	change_free(&ch);

	/* a batch: an empty PATCH (no call), a body that is not an object (no
	 * call, a record error), a PATCH of the job title */
	fake_admin0("POST", "/_admin/stats/reset", "{}");
	memset(ops, 0, sizeof(ops));
	for (i = 0; i < 3; i++) {
		ops[i].kind = KEAP_OP_PATCH;
		ops[i].id = id;
	}
	ops[0].body = "{}";
	ops[1].body = "[\"job_title\"]";
	ops[2].body = "{\"job_title\":\"Crystallographer\"}";
	keap_write_batch(e.k, ops, 3);
	CHECK(ops[0].rc == RC_OK && !ops[0].has_result);
	CHECK(ops[1].rc == RC_RECORD && !ops[1].has_result && ops[1].err.msg[0] != '\0');
	CHECK(ops[2].rc == RC_OK && ops[2].has_result &&
	    str_eq(ops[2].result.prop[CP_JOB_TITLE], "Crystallographer"));
	CHECK(fake_stat("writes") == 1);	/* one call in all */
	for (i = 0; i < 3; i++)
		contact_free(&ops[i].result);
	/* a NULL PATCH body: no call either */
	CHECK(keap_patch_contact(e.k, id, NULL, &got, &err) == RC_OK && got.id == NULL);
	CHECK(keap_upsert_contact(e.k, "not json", NULL, &got, &err) == RC_RECORD);
	CHECK(fake_stat("writes") == 1);
	contact_free(&cur);
	env_close(&e);
}

/* A listing's page as Keap might send it: integer ids, an entry without an
 * id, one that is not an object. */
static struct contact listed[4];
static size_t nlisted;

static enum rc
keep_page(void *arg, struct contact *contacts, size_t n, int page)
{
	size_t i;

	(void)arg;
	(void)page;
	for (i = 0; i < n && nlisted < ARRAY_LEN(listed); i++) {
		listed[nlisted] = contacts[i];	/* taken: keap.c frees what is left (nothing) */
		memset(&contacts[i], 0, sizeof(contacts[i]));
		nlisted++;
	}
	return RC_OK;
}

static void
test_list_decode(void)
{
	struct env e;
	struct api_err err;
	int pages = 0, complete = 0;
	size_t mark, i;

	reset_world();
	CHECK(env_fresh(&e, 100, 10) == 0);
	fake_admin0("POST", "/_admin/faults", "[{\"match\":{\"path\":\"/v2/contacts$\"},\"kind\":\"status\","
	    "\"status\":200,\"body\":{\"contacts\":[{\"id\":501,\"given_name\":\"Int\",\"tag_ids\":[7,\"9\"],"
	    "\"custom_fields\":[{\"id\":21,\"content\":5}]},{\"given_name\":\"No id\"},"
	    "{\"id\":\"\",\"given_name\":\"Empty id\"},17,{\"id\":\"502\",\"family_name\":\"Str\"}],"
	    "\"next_page_token\":\"\"}}]");
	mark = log_size();
	nlisted = 0;
	CHECK(keap_list_contacts(e.k, NULL, keep_page, NULL, &pages, &complete, &err) == RC_OK);
	CHECK(complete == 1 && pages == 1 && nlisted == 2);
	CHECK_STR(listed[0].id, "501");
	CHECK_STR(listed[0].prop[CP_GIVEN_NAME], "Int");
	CHECK(listed[0].ntags == 2 && str_eq(listed[0].tag_ids[0], "7") &&
	    str_eq(listed[0].tag_ids[1], "9"));
	CHECK(listed[0].customs.n == 1 && str_eq(listed[0].customs.v[0].key, "21") &&
	    str_eq(listed[0].customs.v[0].value, "5"));
	CHECK_STR(listed[1].id, "502");
	CHECK_STR(listed[1].prop[CP_FAMILY_NAME], "Str");
	CHECK(log_since_has(mark, "a Keap contact without an id was skipped"));
	CHECK(log_since_has(mark, "an entry that is not a contact was skipped"));
	for (i = 0; i < nlisted; i++)
		contact_free(&listed[i]);
	fake_admin0("POST", "/_admin/faults", "[]");
	env_close(&e);
}

static void
test_quota_and_permissions(void)
{
	struct env e;
	struct api_err err;
	struct pace_info pi;
	struct keap_model m;
	char *changes;
	enum rc rc = RC_OK;
	int calls = 0;

	reset_world();
	CHECK(env_fresh(&e, 100, 10) == 0);
	fake_admin0("POST", "/_admin/limits", "{\"product_per_day\": 5}");
	while (calls < 20 && (rc = keap_load_model(e.k, &m, &err)) == RC_OK) {
		keap_model_free(&m);
		calls++;
	}
	CHECK(rc == RC_QUOTA);
	CHECK(calls <= 5);
	pace_get(e.p, &pi);
	CHECK(pi.exhausted && pi.quota_reset_ms > now_ms());
	CHECK(rc_exit_status(RC_QUOTA) == 7);
	/* and it stays stopped: no more calls are made */
	CHECK(keap_load_model(e.k, &m, &err) == RC_QUOTA);
	env_close(&e);

	reset_world();
	CHECK(env_fresh(&e, 100, 10) == 0);
	fake_admin0("POST", "/_admin/permissions", "{\"permissions\": [\"contacts:read\", \"tags:read\", "
	    "\"model:read\"]}");
	changes = prop_body("given_name", "X");
	{
		cJSON *g = fake_admin("POST", "/_admin/generate-contacts", "{\"count\": 1}");
		CHECK(keap_patch_contact(e.k, json_str(g, "first_id"), changes, NULL, &err) == RC_AUTH);
		CHECK(err.status == 403);
		cJSON_Delete(g);
	}
	CHECK(rc_exit_status(RC_AUTH) == 4);
	free(changes);
	env_close(&e);
}

/* No token the fake ever issued appears in our logs; the fake saw only
 * schema-valid requests. */
static void
test_no_secrets_and_conformance(void)
{
	cJSON *conf;
	struct buf logtext = BUF_INIT;
	const cJSON *t;
	int leaked = 0;

	collect_tokens();
	CHECK(read_file(logpath, 64 * 1024 * 1024, &logtext) == 0);
	CHECK(logtext.len > 1000);	/* debug logging ran */
	CHECK(cJSON_GetArraySize(all_tokens) >= 10);
	cJSON_ArrayForEach(t, all_tokens)
		if (strstr(logtext.p, t->valuestring) != NULL)
			leaked++;
	CHECK(leaked == 0);
	CHECK(strstr(logtext.p, "atsrecon-test-secret") == NULL);
	buf_free(&logtext);
	conf = fake_admin("GET", "/_admin/conformance", NULL);
	CHECK(cJSON_IsArray(conf));
	if (cJSON_GetArraySize(conf) > 0) {
		char *str = json_print(conf);
		printf("# conformance failures: %.2000s\n", str);
		free(str);
	}
	CHECK(cJSON_GetArraySize(conf) == 0);
	cJSON_Delete(conf);
}

int
main(void)
{
	struct http_cfg hc = { 0 };
	int fd;

	json_init();
	root = getenv("ATSRECON_TEST_KEAP");
	ca = getenv("ATSRECON_TEST_CA");
	CHECK(root != NULL && ca != NULL);
	if (root == NULL || ca == NULL)
		return t_done("test_keap");
	fd = mkstemp(logpath);
	CHECK(fd >= 0 && mkdtemp(statedir) != NULL);
	log_init(LOG_DEBUG, LOG_FMT_JSON);
	log_set_fd(fd);
	hc.ca_file = ca;
	http_new(&hc, &adm);
	fake_http = adm;
	fake_root = root;
	all_tokens = cJSON_CreateArray();

	TIMED(test_pagination_and_filter);
	test_bodies();
	TIMED(test_upsert_and_patch);
	TIMED(test_typed_contact);
	TIMED(test_list_decode);
	TIMED(test_tags);
	TIMED(test_refresh);
	TIMED(test_refresh_lost);
	TIMED(test_faults);
	TIMED(test_quota_and_permissions);
	/* the admin connection's own (test) tokens are not ours to check: done last */
	test_no_secrets_and_conformance();

	http_free(adm);
	cJSON_Delete(all_tokens);
	log_set_fd(2);
	close(fd);
	unlink(logpath);
	{
		char *cmd = xasprintf("rm -rf %s", statedir);
		CHECK(system(cmd) == 0);
		free(cmd);
	}
	return t_done("test_keap");
}
