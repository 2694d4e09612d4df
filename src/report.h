/*
 * report.h — what a run found and did (DESIGN.md §8), written as report.json
 * (the machine contract), report.md (the summary a person pastes into chat),
 * drift.csv (one row per drift) and report.html (one self-contained page:
 * inline CSS and SVG, no script, no network), atomically into the report
 * directory. Emails and phones are masked unless report.mask_pii is false.
 */
#ifndef ATSRECON_REPORT_H
#define ATSRECON_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include "pack.h"
#include "util.h"

/* A drift row as its readers see it (report_row): the strings are the
 * report's, valid until report_free. The report keeps each row as a 32-byte
 * record, its few distinct words (kind, field, side, action) once and its
 * ids and values in a text store (pack.h); set them with report_add_row and
 * report_row_set_*. */
struct report_row {
	const char *kind;	/* drift kind */
	const char *field;	/* target, or NULL */
	const char *side;	/* ats_changed | keap_edited | both | "" */
	const char *candidate;	/* ats key ("greenhouse:123") */
	const char *contact;	/* Keap contact id, or NULL */
	const char *desired, *actual;
	const char *action;	/* repaired | failed | reported | planned | deferred | skipped */
	const char *error;	/* why it failed or is only reported */
	int pii;		/* desired/actual are an email or a phone: mask them */
	int cand_pii;		/* the candidate's id is an email or a phone: mask it */
};

struct report_field {
	char *field;		/* the field, stage or job name */
	size_t agree, total;
};

/* Accuracy groups: per field (values that agree), per stage and per job
 * (candidates fully in sync). */
enum report_group { RG_FIELD, RG_STAGE, RG_JOB, RG__MAX };

struct report_point {
	int64_t ts_ms;		/* when the run finished */
	double pct;		/* accuracy after the run */
	double before;		/* accuracy before it (NAN: not recorded) */
	int exit;		/* the run's exit status */
	int full;		/* a full sweep */
};

/* Agreement of one field over the trend's runs (NAN where a run did not record it). */
struct report_ftrend {
	char *field;
	double *pct;		/* ntrend values, oldest first */
};

struct report_api {
	char *endpoint;
	long calls, ok, client_errors, server_errors, status_429, transport_errors;
};

struct report {
	char run_id[40];
	int64_t started_ms, finished_ms;
	const char *mode;		/* incremental | full | dry-run | plan | apply */
	int exit_status;
	char *message;			/* what ended the run, when not plain success */
	size_t candidates, linked, in_sync, drifted, repaired, failed, deferred;
	double before_pct, after_pct;
	struct report_field *fields;	/* RG_FIELD */
	size_t nfields;
	struct report_field *groups[RG__MAX];	/* RG_STAGE, RG_JOB (fields above) */
	size_t ngroups[RG__MAX];
	char **notes;			/* things a reader must know (a sync token dropped, ...) */
	size_t nnotes;
	struct recs rows;		/* the rows' records (report.c) */
	size_t nrows;
	struct report_api *api;
	size_t napi;
	long retries, s429, quota_left;
	struct report_point *trend;	/* oldest first, this run last */
	size_t ntrend;
	struct report_ftrend *ftrend;	/* per field, over the same runs */
	size_t nftrend;
	int full;			/* this run was a full sweep */
	const char *url;		/* where the report is published (report.url), or NULL */
	struct wordtab words;		/* report_intern's strings */
	struct textpool *texts;		/* the rows' ids and values: a store shared with
					 * the plan (the run's), or NULL: own */
	struct textpool own;
};

/*
 * A cause: the drift rows that share a kind, a field and an offending value
 * (or, for emails and phones, the reason: each bad address is its own value),
 * with what a person does about it. Causes are sorted by impact: the number
 * of values that disagree because of it.
 */
enum cause_who { CAUSE_PERSON, CAUSE_POLICY, CAUSE_RETRY };

struct report_cause {
	const char *kind, *field, *value, *why;	/* borrowed from the first row */
	enum cause_who who;
	size_t count;			/* rows (values that disagree) */
	size_t candidates;		/* distinct candidates */
	size_t ex[3], nex;		/* example rows */
	double recover_pct;		/* accuracy points fixing it recovers */
	char *fix;			/* the fix in words */
	char *change;			/* the config or Keap change to make */
};

/* The causes of r's unrepaired rows, sorted by impact (caller frees with report_causes_free). */
size_t report_causes(const struct report *, struct report_cause **out);
void report_causes_free(struct report_cause *, size_t n);

/* The run record kept in the runs table (compact JSON; the trend and
 * `report --since` read it). Old records hold only finished_ms, after_pct,
 * exit and mode: every reader treats the other members as optional. */
void report_run_record(const struct report *, struct buf *out);
/* Adds one run record to r's trend (and per-field trend); 0 ok, -1 not a record. */
int report_trend_add(struct report *, const void *rec, size_t len);
/* Keeps the last n points of the trend. */
void report_trend_keep(struct report *, size_t n);

/* One line per cause that needs a person, for stdout ("" when none). */
void report_causes_text(const struct report *, int mask_pii, size_t max, struct buf *out);
/* 1 when the run's remaining differences all need a person (none is retried automatically). */
int report_only_people_left(const struct report *);

void report_init(struct report *, const char *mode);
void report_free(struct report *);
/* Adds a row (action "reported"); gives its index. */
size_t report_add_row(struct report *, const char *kind, const char *field, const char *side,
    const char *candidate, const char *contact);
/* Row i as a view (filled in *view, which is returned). */
const struct report_row *report_row(const struct report *, size_t i, struct report_row *view);
/* The report's one copy of s (NULL: NULL): a million rows share a dozen words. */
const char *report_intern(struct report *, const char *s);
/* A row's action ("planned", "repaired", ...), values, error (copied), side. */
void report_row_set_action(struct report *, size_t row, const char *action);
void report_row_set_values(struct report *, size_t row, const char *desired, const char *actual);
void report_row_set_error(struct report *, size_t row, const char *error);
void report_row_set_side(struct report *, size_t row, const char *side);
/* The writes (API calls other than GET) a report.json at path records; -1
 * when it cannot be read (doctor's quota estimate). */
long report_file_writes(const char *path);
void report_field_count(struct report *, const char *field, int agree);
/* Many at once: agree of total more values of field. */
void report_field_add(struct report *, const char *field, size_t agree, size_t total);
void report_group_count(struct report *, enum report_group, const char *name, int agree);
void report_add_note(struct report *, const char *fmt, ...) PRINTF_LIKE(2, 3);

/* Masks an email or phone value whatever it looks like: "j***@x.com",
 * "+1415***0100", anything else "(***le" (first character, last two of a
 * long value). Callers decide by the field's kind, not by the value's look. */
void report_mask(const char *value, struct buf *out);

/* Escapers for every format: HTML text and attributes; a Markdown table cell
 * (pipes, backticks, brackets, control characters); a CSV cell (RFC 4180,
 * formula prefixes defused); each masks first when mask is set. */
void report_html_text(struct buf *, const char *, int mask);
void report_md_text(struct buf *, const char *, int mask);
void report_csv_cell(struct buf *, const char *, int mask);
/* A candidate key for display ("file:j***@x.com" when its id is an email). */
void report_candidate(struct buf *, const char *key, int mask);

/* Writes the four files into dir (created 0700 if missing). */
enum rc report_write(const struct report *, const char *dir, int mask_pii);
/* The JSON report as text (caller frees). */
char *report_json(const struct report *, int mask_pii);
/* The Markdown summary. */
void report_markdown(const struct report *, int mask_pii, struct buf *out);

/* HTML pieces shared with the period report: the page head (inline style,
 * print stylesheet, a CSP that forbids every fetch), the trend chart, a
 * field's small trend. */
void report_html_head(struct buf *, const char *title);
void report_html_trend(struct buf *, const struct report_point *, size_t n, const char *id);
void report_html_spark(struct buf *, const double *v, size_t n);

/* The run's totals as JSON (run, totals, accuracy before/after): what
 * Lambda's response carries. */
void report_summary_json(const struct report *, struct buf *out);

#endif
