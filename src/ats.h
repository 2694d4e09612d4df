/*
 * ats.h — the ATS driver interface and the canonical candidate.
 *
 * Every source (Greenhouse, Lever, Ashby, an export file) implements struct
 * ats_driver and yields canonical candidates (DESIGN.md §4), one at a time
 * and one page at a time: never the whole ATS in memory. The diff, plan and
 * report code see only this header; they never name a vendor.
 *
 * Ownership: a candidate handed to a callback is borrowed for the duration of
 * the call; copy what you keep (candidate_dup).
 */
#ifndef ATSRECON_ATS_H
#define ATSRECON_ATS_H

#include <stddef.h>
#include <stdint.h>

#include "apierr.h"
#include "util.h"

/* A value the source sent that could not be normalised (reported as an
 * invalid_value drift, never written). */
struct cand_invalid {
	char *field;		/* "email", "phone", "applied_at", "status", ... */
	char *value;		/* as the source sent it (escape before showing) */
	char *why;
};

struct cand_custom {
	char *key;		/* stable key (Greenhouse name_key, Lever field id, ...) */
	char *value;		/* as text */
};

struct candidate {
	char *ats;		/* "greenhouse", "lever", ... */
	char *id;		/* the PERSON's id (Lever: contact, not opportunity) */
	char *first_name, *last_name, *preferred_name;
	char *full_name;	/* the original single name field, when the source has one */
	char **emails;		/* normalised, deduplicated, primary first */
	size_t nemails;
	char **phones;		/* E.164 */
	char **phone_exts;	/* extension per phone, "" when none */
	size_t nphones;
	char *company, *title;
	int64_t created_ms, updated_ms;	/* UTC ms; 0 unknown */
	int anonymized;		/* the source erased this person (GDPR) */
	int is_private;		/* private / confidential in the source */
	struct cand_custom *custom;
	size_t ncustom;

	/* From the CURRENT application (ats_pick_application): */
	char *app_id;
	char *stage_id, *stage_name;
	char *status;		/* active | rejected | hired | withdrawn | archived (or NULL) */
	char *job, *source, *referrer;
	int64_t applied_ms;

	struct cand_invalid *invalid;
	size_t ninvalid;
	unsigned unknown;	/* ATS_FLD_* whose lookup was refused this run */
};

void candidate_free(struct candidate *);	/* frees the members, not the struct */
void candidate_add_invalid(struct candidate *, const char *field, const char *value, const char *why);
void candidate_add_custom(struct candidate *, const char *key, const char *value);
/* Sets the emails from the source's raw values through norm.c: trimmed,
 * lowercased, validated, deduplicated, primary first; invalid ones become
 * cand_invalid entries ("email"). */
void candidate_set_emails(struct candidate *, const char *const *raw, size_t n, size_t primary);
/* Adds a phone as E.164 (default_region for national numbers); an invalid one
 * becomes a cand_invalid entry ("phone"); a duplicate is dropped. */
void candidate_add_phone(struct candidate *, const char *raw, const char *default_region);
/* Sets c->status from the source's word through norm_status (unknown words
 * become cand_invalid "status"). */
void candidate_set_status(struct candidate *, const char *raw);

/*
 * An application (Lever: opportunity) as the driver sees it, for the one rule
 * that picks the current one for every ATS (ats.current_application):
 *   ATS_APP_ACTIVE_FIRST (default, "active_first"): the most recently updated
 *     application that is still active; if none is active, the most recently
 *     updated one;
 *   ATS_APP_LATEST_UPDATED ("latest_updated"): the most recently updated one,
 *     whatever its status.
 * Ties go to the greatest id (compared numerically when both are numbers,
 * else as strings).
 */
enum ats_app_policy { ATS_APP_ACTIVE_FIRST, ATS_APP_LATEST_UPDATED };

struct ats_app {
	const char *id;
	int active;
	int64_t updated_ms;
};
/* Index of the current application among n, or -1 when n == 0. */
long ats_pick_application(const struct ats_app *apps, size_t n, enum ats_app_policy);
/* 1 when b is preferred over a (the same rule, pairwise). */
int ats_app_better(const struct ats_app *a, const struct ats_app *b, enum ats_app_policy);

/*
 * The canonical fields that come from reference lists (lookups a driver may
 * skip when nothing uses them): a bit each. ats_open computes the set the
 * configuration uses (the "fields" rules' "from", and stage_tags: stage and
 * status) into struct ats.used; a driver fetches a lookup only when its field
 * is used. A field whose lookup the source refused (403/404 on an optional
 * list) is left NULL and its bit set in candidate.unknown: the mapping then
 * has no opinion about it (not even with null "clear"), so nothing is written.
 */
#define ATS_FLD_STAGE 0x01u
#define ATS_FLD_STATUS 0x02u
#define ATS_FLD_JOB 0x04u
#define ATS_FLD_SOURCE 0x08u
#define ATS_FLD_REFERRER 0x10u
#define ATS_FLD_ALL 0x1fu
/* The ATS_FLD_* bit of a canonical field name ("job"), 0 for others. */
unsigned ats_field_bit(const char *canonical);
/* 1 when the candidate's value of canonical field `from` is unknown this run
 * (its lookup was refused): not empty, unknown. */
int candidate_field_unknown(const struct candidate *, const char *from);

/* An id → name table of a source's reference data (jobs, stages, sources,
 * archive reasons...), loaded once per run; flag is the driver's (Lever:
 * an archive reason of type "hired"). */
struct ats_idname {
	char *id;
	char *name;
	int flag;
};
struct ats_idmap {
	struct ats_idname *v;
	size_t n;
};
void ats_idmap_add(struct ats_idmap *, const char *id, const char *name, int flag);
/* The name of id (NULL when unknown; *flag set when given). */
const char *ats_idmap_get(const struct ats_idmap *, const char *id, int *flag);
void ats_idmap_free(struct ats_idmap *);

/* --- drivers --- */

struct ats;		/* a driver instance (opaque to callers) */
struct config;
struct http;
struct pace;

/* Called for each candidate; a non-OK return stops the pull with that rc. */
typedef enum rc (*ats_cand_fn)(void *arg, const struct candidate *);
/* Called for each person id of a full sweep. */
typedef enum rc (*ats_id_fn)(void *arg, const char *id);

struct ats_pull {
	int pages;		/* pages read */
	long records;		/* candidates (or ids) delivered */
	int complete;		/* the listing reached its end (not the page cap) */
	int restarted;		/* an expired cursor made the window start again, or a
				 * refused sync token made the listing a full one */
	int skipped;		/* malformed source records left out (export file) */
};

/* A source's reference lists, for `atsrecon init`: every stage a job can be
 * in (names), every source, and the archive/rejection reasons (flag: Lever's
 * "hired" type). */
struct ats_ref {
	struct ats_idmap stages, sources, reasons;
};
void ats_ref_free(struct ats_ref *);

/* Driver flags. */
#define ATS_F_FULL_ONLY 0x1	/* every listing is complete (an export file): each run is a
				 * full sweep; pull_window is never called */

struct ats_driver {
	const char *name;
	unsigned flags;		/* ATS_F_* */
	/* The vendor's facts, for the driver and for doctor (NULL: none): */
	const char *base_url;	/* the API's default base URL (ats.base_url) */
	const char *auth_url;	/* the token endpoint's default (ats.auth_url) */
	const char *scopes;	/* the scopes or permissions the credentials need, for a person */
	const char *fix;	/* what to check when the source refuses the credentials */
	/* Authenticates (mints a token, checks a key). */
	enum rc (*open)(struct ats *);
	/* Candidates changed in the closed window [from_ms, to_ms]. */
	enum rc (*pull_window)(struct ats *, int64_t from_ms, int64_t to_ms, ats_cand_fn, void *,
	    struct ats_pull *);
	/* Every candidate (full sweep), with the same content as pull_window. */
	enum rc (*pull_all)(struct ats *, ats_cand_fn, void *, struct ats_pull *);
	/* One candidate by person id: RC_RECORD when the source says it is gone
	 * (404 or 410, nothing else), which confirms a delete; *out is set on
	 * RC_OK (caller frees). RC_OK with *out NULL: the source answered about
	 * this record with an error (a 400, 405, 409, 422, 3xx: logged): neither
	 * here nor gone, an error for this candidate only. */
	enum rc (*get)(struct ats *, const char *id, struct candidate **out);
	/* Optional (NULL when the source has no delete feed): person ids deleted
	 * in the closed window [from_ms, to_ms] (Lever's /opportunities/deleted;
	 * a person counts as deleted only when ALL their records are). The engine
	 * still confirms each with get() before archiving. */
	enum rc (*pull_deleted)(struct ats *, int64_t from_ms, int64_t to_ms, ats_id_fn, void *,
	    struct ats_pull *);
	/* Optional: reads now every reference list the mapping uses (doctor;
	 * runs read them when first needed). A refused one is degraded, not an
	 * error (a->degraded, a->degraded_note). */
	enum rc (*lookups)(struct ats *);
	void (*close)(struct ats *);
	/* Optional (NULL: init learns the values from the candidates alone): the
	 * source's reference lists, after open. */
	enum rc (*reference)(struct ats *, struct ats_ref *);
};

/* What every driver instance is given. */
struct ats {
	const struct ats_driver *drv;
	const struct config *cfg;
	struct http *http;
	struct pace *pace;
	int64_t deadline_ms;	/* mono_ms(); 0 none */
	/*
	 * Incremental sync tokens (Ashby's syncToken): the engine sets sync_in
	 * from the state before a pull (NULL when none). A driver that uses tokens
	 * sets sync_out (malloc'd) only after it read the LAST page of a listing;
	 * the engine commits it to the state after everything from that listing
	 * is committed. A token the source refused makes the driver do a full
	 * listing instead and set sync_reset to the reason (static text), which
	 * the report shows. Drivers that have no tokens ignore all three.
	 */
	const char *sync_in;
	char *sync_out;
	const char *sync_reset;
	/* Set by ats_open from the configuration before the driver's open: */
	enum ats_app_policy app_policy;	/* ats.current_application */
	unsigned used;		/* ATS_FLD_* the mapping uses (lookups to fetch) */
	/* Lookups the source refused this run (ATS_FLD_*; each warned once):
	 * doctor names them. */
	unsigned degraded;
	char degraded_note[512];	/* "referrer (GET /v3/referrers: HTTP 403 ...)", ... */
	/* Why the last failing call failed (status, message, hint): the driver
	 * fills it where it logs the failure (api_fail); callers that must
	 * explain a failure (doctor) read it instead of the log. */
	struct api_err err;
	void *priv;		/* the driver's own state */
};

/* The driver for cfg's ats.kind; RC_CONFIG when unknown. */
enum rc ats_open(const struct config *, struct http *, struct ats **out);
/* The same; a failure's status, message and hint also go to err (NULL: only
 * logged). */
enum rc ats_open_err(const struct config *, struct http *, struct ats **out, struct api_err *err);
/* The driver of an ats.kind ("greenhouse"), NULL when this build has none. */
const struct ats_driver *ats_driver_of(const char *kind);
/* The ATS_FLD_* fields cfg's "fields" rules and "stage_tags" use. */
unsigned ats_fields_used(const struct config *);
/* The policy of ats.current_application. */
enum ats_app_policy ats_app_policy_of(const struct config *);
/* Marks field (ATS_FLD_*) degraded for this run: warns once (what: the
 * request, why: what the source said) and notes it in degraded_note. */
void ats_degrade(struct ats *, unsigned field, const char *what, const char *why);
void ats_close(struct ats *);

extern const struct ats_driver ats_greenhouse;
extern const struct ats_driver ats_lever;
extern const struct ats_driver ats_ashby;
extern const struct ats_driver ats_file;

#endif
