/*
 * fuzz_snap — Keap contacts as the engine stores them (snap.c): each contact
 * of a listed page (a "contacts" array, or a bare array or object) goes into
 * the snapshot with its normalised emails and external-id value indexed, is
 * read back (same hash), matched by email and deleted. Everything runs in one
 * LMDB batch that is aborted, so the state never grows.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ats.h"
#include "jtree.h"
#include "snap.h"
#include "state.h"
#include "wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct state *
open_state(void)
{
	static char dir[] = "/tmp/atsrecon-fuzz-snap-XXXXXX";
	struct state *st;

	fuzz_quiet_logs();
	json_init();
	if (mkdtemp(dir) == NULL || state_open(dir, STATE_RW, &st) != RC_OK)
		abort();
	return st;
}

static void
one(struct state *st, const cJSON *item)
{
	const char *emails[4];
	char **ids = NULL, *text = json_print(item);
	const char *how = NULL;
	struct contact contact, back;
	struct buf err = BUF_INIT;
	int changed = 0;
	size_t n = 0, ne = 0, e;
	struct candidate c;

	if (contact_from_json(text, strlen(text), &contact, &err) != RC_OK) {
		free(text);
		buf_free(&err);
		return;
	}
	free(text);
	buf_free(&err);
	if (snap_put_contact(st, &contact, "5", &changed) != RC_OK) {
		contact_free(&contact);
		return;
	}
	if (snap_get_contact(st, contact.id, &back) == RC_OK) {
		if (back.hash != contact.hash || !str_eq(back.id, contact.id) ||
		    back.emails.n != contact.emails.n || back.ntags != contact.ntags)
			abort();	/* what was stored reads back */
		contact_free(&back);
	}
	memset(&c, 0, sizeof(c));
	c.ats = xstrdup("greenhouse");
	c.id = xstrdup("1");
	for (e = 0; e < contact.emails.n && ne < 4; e++)
		emails[ne++] = contact.emails.v[e].value;
	candidate_set_emails(&c, emails, ne, 0);
	{
		/* the accepted spellings of the external id (extid.h) */
		char *ext[] = { "1", "greenhouse:1" };
		size_t nbyid;
		if (snap_match(st, "greenhouse:1", ext, 2, &c, 1, &ids, &n, &nbyid, &how) == RC_OK)
			snap_ids_free(ids, n);
	}
	candidate_free(&c);
	snap_del_contact(st, contact.id, "5");
	contact_free(&contact);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct state *st;
	struct buf err = BUF_INIT;
	const cJSON *list, *c;
	cJSON *j;

	if (st == NULL)
		st = open_state();
	j = json_parse((const char *)data, size, &err);
	buf_free(&err);
	if (j == NULL)
		return 0;
	list = json_get(j, "contacts");
	if (list == NULL)
		list = j;
	if (state_batch_begin(st) != RC_OK)
		abort();
	if (cJSON_IsArray(list)) {
		cJSON_ArrayForEach(c, list)
			one(st, c);
	} else
		one(st, list);
	state_batch_abort(st);
	cJSON_Delete(j);
	return 0;
}
