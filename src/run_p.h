/*
 * run_p.h — the engine's private header: the state of one run (struct run)
 * and the steps run.c orders (DESIGN.md §2):
 *
 *   pull.c      both sides into the snapshot → the worklist (r->touched)
 *   compare.c   each worklist key: its inputs from the snapshot → reconcile()
 *               (reconcile.c, pure) → the ops, report rows and records
 *   repair.c    the ops through keap.c in chunks; settle; failed records
 *   accuracy.c  agreement over every candidate, one pass
 *   engine.c    what they share: small string sets, key helpers, batches
 *
 * Only these files and run.c include it.
 */
#ifndef ATSRECON_RUN_P_H
#define ATSRECON_RUN_P_H

#include <stdint.h>

#include "ats.h"
#include "config.h"
#include "keap.h"
#include "mapping.h"
#include "plan.h"
#include "progress.h"
#include "report.h"
#include "run.h"
#include "util.h"

#define OVERLAP_MS (5 * 60 * 1000)	/* windows overlap the last run by 5 minutes */
/* Snapshot writes per LMDB transaction in the pull, the comparison and the
 * accuracy pass (never around a Keap write: repair.c commits each write's
 * changes on their own): at most BATCH_RECORDS records or BATCH_MS of work,
 * whichever comes first. A commit is an fsync; a kill loses at most the open
 * batch, which the next run reads or compares again (nothing it holds is a
 * promise to Keap). Large, to keep a full sweep from waiting on the disk;
 * bounded, so LMDB's dirty pages of one transaction stay a few MB. */
#define BATCH_RECORDS 20000
#define BATCH_MS 1000

struct state;
struct http;
struct auth;
struct pace;

struct strset {
	char **v;
	size_t n, cap;
	int sorted;
	/* set_finish: (40 bits of each string's hash << 24 | its index) sorted,
	 * so set_has compares a few strings, not log2(n); NULL past 2^24 */
	uint64_t *hx;
};

struct run {
	const struct config *cfg;
	const char *state_dir;		/* state.dir, or the S3 state's local copy */
	struct run_opts o;
	struct state *st;
	struct http *http;
	struct auth *auth;
	struct pace *kpace;
	struct keap *keap;
	struct ats *ats;
	struct session *sess;		/* owns st, http, auth, kpace, keap, ats (borrowed above) */
	struct mapping map;
	struct keap_model model;
	struct keap_tags tags;
	const char *ext_field_id;	/* the external-id custom field (borrowed from model) */
	const char *ext_fmt;		/* match.external_id_format */
	int have_mapping, have_model, have_tags;
	int64_t start_ms, deadline;
	int full;
	int in_batch;
	size_t batch_n;
	int64_t batch_t0;		/* mono_ms() when the open batch began */
	struct strset touched;		/* ats keys to reconcile */
	uint64_t *changed;		/* full sweep: hashes of the ATS keys whose record
					 * changed (the sweep walks the snapshot: only
					 * "changed" is asked of them, 8 bytes each) */
	size_t nchanged, capchanged;
	struct strset seen_contacts;	/* full Keap sweep: ids listed */
	struct strset gone;		/* ats keys confirmed deleted in the ATS */
	struct strset merged;		/* of those, merged into another person: key \t survivor key */
	struct strset feed;		/* ats ids the delete feed named (to confirm) */
	struct strset retry;		/* not in sync last time: reconciled again */
	struct strset gaveup;		/* failed run.max_attempts times, unchanged: left alone */
	uint64_t *listed;		/* full sweep: hashes of the ATS keys listed (freed
				 * after the pull unless a page was unread) */
	size_t nlisted, caplisted;
	struct buf sync_tok;		/* the ATS sync token read at the start */
	struct report rep;
	struct plan plan;
	struct textpool texts;		/* the plan's and the report's ids and values:
					 * a candidate's id kept once for its op and rows */
	int record_errors;		/* invalid values, failed writes: exit 1 */
	int ats_skipped;		/* ATS records that could not be read this run */
	/* A listing that stopped at a page still unreadable after its retries
	 * (what was not read; NULL: all read). The rest is reconciled; that
	 * source's window and sync token stay, delete detection is skipped,
	 * and the run exits 5 (issue 16). */
	char *unread_ats, *unread_keap;
	uint64_t env_hash;		/* what agreement depends on besides the two records */
	struct progress prog;		/* the terminal's progress line */
	size_t pulled, kpulled, compared, writes_done, writes_planned;
	size_t fast;			/* candidates found in agreement by their stamp */
	/* A full sweep's walk of the snapshot, one bit a candidate in its order
	 * (a candidate compare forgot has none): set when compare found it in
	 * agreement by its stamp. The accuracy pass that follows (before any
	 * write) walks the same candidates and reads only those stamps instead
	 * of checking link, contact and emails again; it frees the bits. nfast
	 * and fastsum (the sum of their keys' FNV-1a) tell it that it met the
	 * same ones. 1 bit a candidate: memory stays flat with the ATS. */
	unsigned char *walkbits;
	size_t nwalk, capwalk;		/* bits; bytes allocated */
	size_t nfast;
	uint64_t fastsum;
	int walk_fast, walk_forgot;	/* the candidate compared last: found by its stamp; forgotten */
};

/* engine.c: small string sets (set_finish sorts and removes duplicates;
 * set_has needs a finished set) */
void set_add(struct strset *, const char *);
/* key is in the worklist or, on a full sweep, changed in the ATS. */
int was_touched(const struct run *, const char *key);
void set_finish(struct strset *);
int set_has(const struct strset *, const char *);
void set_free(struct strset *);

/* engine.c: "greenhouse:123" → "greenhouse" (caller frees) and "123" */
char *key_source(const char *key);
const char *key_id(const char *key);
/* 1 when the ATS key is a person the snapshot holds and the ATS has not deleted. */
int is_live(struct run *, const char *key);
/* Snapshot writes in batches (BATCH_RECORDS, BATCH_MS): one call per record, then batch_end. */
enum rc batch_tick(struct run *);
enum rc batch_end(struct run *);
/* The deadline (run.max_runtime, a platform's) passed, or a stop was asked for. */
int past_deadline(const struct run *);
int64_t meta_int(struct run *, const char *key);
enum rc meta_put_int(struct run *, const char *key, int64_t);
/* A state_each_fn (snap.h's walks): adds each key to the strset arg. */
enum rc collect_key(void *arg, const char *key, size_t klen, const void *val, size_t vlen);
/* The contact's "id" as text (in buf), or NULL. */
/* The names of the contact's tags (all, or those in the stage category);
 * *names is allocated, its strings borrowed from r->tags. */
void tag_names_of(const struct run *, const struct contact *contact, const char ***names, size_t *n);
void stage_tags_of(const struct run *, const struct contact *contact, const char ***names, size_t *n);
int has_tag_named(const struct run *, const struct contact *contact, const char *name);

/* pull.c */
/* Was this key in the full sweep's listing? (r->listed sorted) */
int was_listed(const struct run *, const char *key);
/* The survivor a key deleted in the ATS was merged into, or NULL. */
const char *merged_into(const struct run *, const char *key);
/* Keap's contacts changed since hwm_keap (all on a full run) into the snapshot. */
enum rc pull_keap(struct run *, int64_t hwm_keap);
/* Both sides into the snapshot; r->touched is the worklist. */
enum rc pull(struct run *);

/* compare.c */
/* The hash of everything a comparison depends on besides the two records. */
void env_hash(struct run *);
/* Each worklist key (every candidate on a full sweep) through reconcile(). */
enum rc compare_all(struct run *);

/* repair.c */
enum rc apply_writes(struct run *);
enum rc apply_tags(struct run *);
enum rc apply_deletes(struct run *);
enum rc clear_old_journal(struct run *);

/* accuracy.c: the % of agreeing fields over every candidate; count_fields:
 * the pass after the writes (per-field and per-group counts, failed records) */
double accuracy(struct run *, int count_fields);

#endif
