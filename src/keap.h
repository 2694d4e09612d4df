/*
 * keap.h — the Keap REST v2 client.
 *
 * Paths are Keap's v2 paths under the configured base URL (default
 * https://api.infusionsoft.com/crm/rest): GET /v2/contacts, PATCH
 * /v2/contacts/{id}, POST /v2/tags/{id}/contacts:applyTags, ...
 * (shared/specs/keap/swagger.yml, research/keap-api.md).
 *
 * Every call goes through one path (keap.c: exec) that adds credentials
 * (auth.c; one refresh and one retry after a 401), paces with the shared pacer
 * (pace.c), retries 429/5xx/timeouts/resets with backoff and Retry-After
 * (http.c), counts per endpoint, and maps the answer:
 *
 *   2xx                         RC_OK
 *   400, 404, 409, 422          RC_RECORD (this record; err says why; not retried)
 *   401 after a refresh, 403    RC_AUTH (a person must act; 403 names the call)
 *   quota exhausted             RC_QUOTA (stop; the pacer knows when it resets)
 *   5xx, 429, transport         RC_REMOTE after the retries
 *
 * Both error envelopes are read: the gateway's {"fault":{"faultstring",
 * "detail":{"errorcode"}}} and v2's {code, message, status, details} (code may
 * be a string). Remote text is escaped before it reaches err or a log.
 *
 * PATCH always carries update_mask, and for every list in the mask
 * (email_addresses, phone_numbers, addresses, custom_fields, fax_numbers,
 * social_accounts) the FULL merged list: Keap replaces lists whole, so sending
 * only the changed item would delete the others.
 */
#ifndef ATSRECON_KEAP_H
#define ATSRECON_KEAP_H

#include <stddef.h>
#include <stdint.h>

#include "auth.h"
#include "contact.h"
#include "http.h"
#include "model.h"
#include "pace.h"
#include "apierr.h"
#include "util.h"

struct keap_cfg {
	const char *base_url;
	int page_size;		/* 1..1000 */
	int max_pages;		/* per listing per run */
	int concurrency;	/* requests in flight for batches */
	int max_retries;
	long backoff_base_ms;	/* 0: http.c's default (500 ms) */
	int allow_delete;	/* only with lifecycle.deletes = "delete" */
};

struct keap;

/* A failed call fills a struct api_err: status, Keap's code and message, a hint (apierr.h). */

enum rc keap_new(const struct keap_cfg *, struct http *, struct auth *, struct pace *, struct keap **out);
void keap_free(struct keap *);
/* mono_ms() deadline for everything after this call (0: none). */
void keap_set_deadline(struct keap *, int64_t deadline_ms);

/* --- reading --- */

/* Called once per page with the page's contacts, decoded (borrowed: the
 * callee may take an item's fields, leaving NULLs, and keap.c frees the rest).
 * A contact without an id is skipped with a warning before it reaches the callback.
 * A non-OK return stops the listing with that rc. */
typedef enum rc (*keap_page_fn)(void *arg, struct contact *contacts, size_t n, int page);

/*
 * Lists contacts, since_iso (ISO 8601 with ms and Z, e.g.
 * "2026-01-05T10:00:00.000Z") selects those updated since then (NULL: all),
 * ordered by update time, following next_page_token until it is empty or
 * absent, at most max_pages pages. *complete is 1 when the listing reached its
 * end, 0 when the page cap stopped it (the caller must not treat what it did
 * not see as absent).
 */
enum rc keap_list_contacts(struct keap *, const char *since_iso, keap_page_fn, void *arg,
    int *pages, int *complete, struct api_err *);
/* RC_RECORD with err->status 404 when there is no such contact. */
enum rc keap_get_contact(struct keap *, const char *id, struct contact *out, struct api_err *);

/* The custom-field model (GET /v2/contacts/model; the types are in model.h). */
enum rc keap_load_model(struct keap *, struct keap_model *, struct api_err *);

/* Tags and tag categories (GET /v2/tags, /v2/tags/categories; all pages). */
struct keap_tag {
	char *id;
	char *name;
	char *category_id;	/* NULL when uncategorised */
};
struct keap_tags {
	struct keap_tag *v;
	size_t n;
	struct keap_tag *cats;	/* categories: id and name */
	size_t ncats;
};
enum rc keap_load_tags(struct keap *, struct keap_tags *, struct api_err *);
/* The id of tag `name` in category `category` (NULL: none), creating the
 * category and the tag when missing. *id is borrowed from tags. */
enum rc keap_ensure_tag(struct keap *, struct keap_tags *, const char *name, const char *category,
    const char **id, struct api_err *);
void keap_tags_free(struct keap_tags *);

/* --- writing --- */

/*
 * Request bodies (JSON text, caller frees). A create body holds every value
 * of the change (a cleared value is left out). A PATCH body holds, for each
 * property the change sets, its value, and for each list it touches
 * (email_addresses, phone_numbers, custom_fields) the merge of `current`'s
 * list (the contact as last read; NULL: none) and the changed items (matched
 * by slot or custom field id; "" removes a slot, clears a custom field), with
 * the items' other writable properties kept. Its top-level keys are the
 * update_mask the write sends. NULL when the change is empty.
 */
char *keap_create_body(const struct contact_change *);
char *keap_patch_body(const struct contact *current, const struct contact_change *);

/* POST /v2/contacts?duplicate_option=Email with a create body: *created is 1
 * for 201, 0 for 200 (an existing contact matched and was updated). *out
 * (optional) receives the contact Keap returned. */
enum rc keap_upsert_contact(struct keap *, const char *body, int *created, struct contact *out,
    struct api_err *);
/* PATCH /v2/contacts/{id} with a PATCH body; update_mask = its top-level keys. */
enum rc keap_patch_contact(struct keap *, const char *id, const char *body, struct contact *out,
    struct api_err *);

/* Per-contact result of a tag batch. */
struct keap_tag_result {
	const char *contact_id;	/* borrowed from the caller's ids */
	int ok;			/* applied / removed (or already so) */
	char status[48];	/* Keap's per-contact status, e.g. SUCCESS, DUPLICATE, CONTACT_NOT_FOUND */
};

/*
 * Applies (apply = 1) or removes one tag for n contacts, in calls of at most
 * KEAP_TAG_BATCH contacts, run concurrently. A 200 can hide per-contact
 * failures: every entry of "results" is read into res[i]. Returns RC_OK when
 * every call was answered (look at res[i].ok), else the first call's error.
 */
#define KEAP_TAG_BATCH 100
enum rc keap_tag_contacts(struct keap *, const char *tag_id, int apply, const char *const *ids,
    size_t n, struct keap_tag_result *res, struct api_err *);

/* DELETE /v2/contacts/{id}: refused (RC_BUG) unless allow_delete. 404 = done. */
enum rc keap_delete_contact(struct keap *, const char *id, struct api_err *);

/*
 * A batch of independent writes, run concurrently: the same mapping of
 * answers as above, per op. Used by the repair step and the benchmark.
 */
enum keap_op_kind { KEAP_OP_UPSERT, KEAP_OP_PATCH };
struct keap_op {
	enum keap_op_kind kind;
	const char *id;			/* PATCH */
	const char *body;		/* a create or PATCH body (JSON text); a PATCH
					 * with NULL or "{}" makes no call and is RC_OK */
	/* out */
	enum rc rc;
	int created;
	int has_result;			/* result holds the contact Keap returned */
	struct contact result;		/* (caller frees with contact_free) */
	struct api_err err;
};
void keap_write_batch(struct keap *, struct keap_op *ops, size_t n);

/* --- accounting --- */
struct keap_endpoint {
	char name[64];		/* "PATCH /v2/contacts/{id}" */
	long calls, ok, client_errors, server_errors, status_429, transport_errors;
};
/* The per-endpoint counters; *n receives how many. */
const struct keap_endpoint *keap_endpoints(const struct keap *, size_t *n);

#endif
