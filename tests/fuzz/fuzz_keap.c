/*
 * fuzz_keap — the Keap v2 client's decoding of what Keap sends (keap.c,
 * pace.c): the contact model, tags and categories, contact pages
 * (next_page_token), one contact, upsert and patch answers, tag batches'
 * per-contact results, both error envelopes, and the throttle and quota
 * headers. Every request is answered from the input (wire.h), in this order:
 * model, tags, contacts (all pages), one contact, upsert, patch, tag batch,
 * ensure tag (category and tag creation).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "json.h"
#include "keap.h"
#include "pace.h"
#include "wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define KEY "fuzz-keap-key"

/* A client per input, with its own pacer: a pacer that a former input left
 * with its daily quota used up would refuse every request after it. */
static struct keap *
client(struct pace **pp)
{
	static struct auth *a;
	static struct buf base = BUF_INIT;
	struct auth_cfg ac;
	struct keap_cfg kc;
	struct keap *k;

	if (a == NULL) {
		fuzz_quiet_logs();
		json_init();
		memset(&ac, 0, sizeof(ac));
		ac.mode = AUTH_API_KEY;
		ac.api_key = KEY;
		ac.max_retries = 0;
		if (auth_new(&ac, fuzz_http(), NULL, &a) != RC_OK)
			abort();
		buf_addf(&base, "%s/crm/rest", fuzz_url("ATSRECON_TEST_KEAP", FUZZ_REPLAY_ORIGIN));
	}
	memset(&kc, 0, sizeof(kc));
	kc.base_url = base.p;
	kc.page_size = 2;
	kc.max_pages = 20;
	kc.concurrency = 2;
	kc.max_retries = 0;
	*pp = pace_new("keap", 1000.0, 1000);
	if (keap_new(&kc, fuzz_http(), a, *pp, &k) != RC_OK)
		abort();
	return k;
}

struct walk {
	long contacts;
	char first[64];
	struct contact first_contact;	/* taken from its page */
};

static enum rc
on_page(void *arg, struct contact *contacts, size_t n, int page)
{
	struct walk *w = arg;
	size_t i;

	(void)page;
	for (i = 0; i < n; i++) {
		w->contacts++;
		if (contacts[i].id == NULL)
			abort();	/* keap.c hands over only contacts with an id */
		if (w->first[0] == '\0') {
			str_copy(w->first, sizeof(w->first), contacts[i].id);
			w->first_contact = contacts[i];	/* keap.c frees what is left */
			memset(&contacts[i], 0, sizeof(contacts[i]));
		} else {
			/* taking one field: keap.c frees the rest */
			free(contacts[i].rest);
			contacts[i].rest = NULL;
		}
	}
	return RC_OK;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct keap *k;
	struct pace *p;
	struct keap_model model;
	struct keap_tags tags;
	struct api_err err;
	struct keap_tag_result res[3];
	struct walk w;
	const char *ids[3] = { NULL, "2", "3" }, *tag_id = NULL;
	struct contact one, out;
	struct contact_change ch;
	char *body;
	int pages = 0, complete = 0, created = 0;

	k = client(&p);
	wire_load(data, size);
	memset(&w, 0, sizeof(w));
	memset(&model, 0, sizeof(model));
	memset(&tags, 0, sizeof(tags));
	if (keap_load_model(k, &model, &err) == RC_OK) {
		const struct keap_field *f = keap_model_field(&model, "Stage");

		if (f != NULL)
			(void)keap_field_has_option(f, "Offer");
	}
	keap_load_tags(k, &tags, &err);
	keap_list_contacts(k, NULL, on_page, &w, &pages, &complete, &err);
	if (w.first[0] != '\0' && keap_get_contact(k, w.first, &one, &err) == RC_OK)
		contact_free(&one);
	memset(&ch, 0, sizeof(ch));
	change_set(&ch, CW_PROP, "given_name", "Jane");
	change_set(&ch, CW_PROP, "family_name", "Doe");
	change_set(&ch, CW_EMAIL, "EMAIL1", "jane.doe@example.com");
	body = keap_create_body(&ch);
	if (keap_upsert_contact(k, body, &created, &out, &err) == RC_OK)
		contact_free(&out);
	free(body);
	change_free(&ch);
	/* a PATCH merged into the first listed contact: its items, as read from
	 * the input, go back out (keep and rest as kcontact.c wrote them) */
	change_set(&ch, CW_PROP, "job_title", "Engineer");
	change_set(&ch, CW_PHONE, "PHONE1", "+14155550100");
	change_set(&ch, CW_EMAIL, "EMAIL2", "");
	change_set(&ch, CW_CUSTOM, "7", "");
	body = keap_patch_body(w.first[0] ? &w.first_contact : NULL, &ch);
	if (keap_patch_contact(k, w.first[0] ? w.first : "1", body, &out, &err) == RC_OK)
		contact_free(&out);
	free(body);
	change_free(&ch);
	ids[0] = w.first[0] ? w.first : "1";
	memset(res, 0, sizeof(res));
	keap_tag_contacts(k, "91", 1, ids, 3, res, &err);
	keap_ensure_tag(k, &tags, "Stage: Offer", "ATS Stage", &tag_id, &err);
	contact_free(&w.first_contact);
	keap_model_free(&model);
	keap_tags_free(&tags);
	if (getenv("FUZZ_LOG") != NULL)
		fprintf(stderr, "fuzz keap: %ld contacts in %d pages, %zu requests\n", w.contacts, pages,
		    wire_requests());
	keap_free(k);
	pace_free(p);
	wire_reset();
	return 0;
}
