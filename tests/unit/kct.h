/*
 * tests/unit/kct.h — typed Keap contacts for the unit tests: made from the
 * JSON Keap sends (contact_from_json), and the values a change sets.
 */
#ifndef ATSRECON_TEST_KCT_H
#define ATSRECON_TEST_KCT_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "contact.h"

/* A contact from Keap's JSON (contact_from_json), on the heap; NULL for NULL.
 * JSON without a leading "id" gets the id 501 (the tests' contact). */
static inline struct contact *
ct_new(const char *json)
{
	struct contact *ct;
	struct buf err = BUF_INIT;
	char *own = NULL;

	if (json == NULL)
		return NULL;
	ct = xcalloc(1, sizeof(*ct));
	if (strncmp(json, "{\"id\"", 5) != 0 && json[0] == '{')
		json = own = xasprintf("{\"id\":\"501\"%s%s", json[1] == '}' ? "" : ",", json + 1);
	if (contact_from_json(json, strlen(json), ct, &err) != RC_OK) {
		printf("  bad test contact: %s\n", err.p ? err.p : "");
		free(ct);
		ct = NULL;
	}
	free(own);
	buf_free(&err);
	return ct;
}

static inline void
ct_del(struct contact *ct)
{
	contact_free(ct);
	free(ct);
}

/* The value a change sets at where/key, or NULL. */
static inline const char *
chg(const struct contact_change *ch, enum contact_where where, const char *key)
{
	const struct contact_set *s = change_get(ch, where, key);

	return s != NULL ? s->value : NULL;
}

static inline int
chg_has(const struct contact_change *ch, enum contact_where where)
{
	size_t i;

	for (i = 0; i < ch->n; i++)
		if (ch->v[i].where == where)
			return 1;
	return 0;
}

#endif
