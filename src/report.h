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

#include "util.h"

struct report_row {
	char *kind;		/* drift kind */
	char *field;		/* target, or NULL */
	char *side;		/* ats_changed | keap_edited | both | "" */
	char *candidate;	/* ats key ("greenhouse:123") */
	char *contact;		/* Keap contact id, or NULL */
	char *desired, *actual;
	char *action;		/* repaired | failed | reported | planned | deferred | skipped */
	char *error;		/* why it failed or is only reported */
	int pii;		/* desired/actual are an email or a phone: mask them */
};

struct report_field {
	char *field;		/* the field, stage or job name */
	size_t agree, total;
};

/* Accuracy groups: per field (values that agree), per stage and per job
 * (candidates fully in sync). */
enum report_group { RG_FIELD, RG_STAGE, RG_JOB, RG__MAX };

struct report_point {
	int64_t ts_ms;
	double pct;
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
	struct report_row *rows;
	size_t nrows;
	struct report_api *api;
	size_t napi;
	long retries, s429, quota_left;
	struct report_point *trend;	/* oldest first, this run last */
	size_t ntrend;
};

void report_init(struct report *, const char *mode);
void report_free(struct report *);
struct report_row *report_add_row(struct report *, const char *kind, const char *field,
    const char *side, const char *candidate, const char *contact);
void report_field_count(struct report *, const char *field, int agree);
void report_group_count(struct report *, enum report_group, const char *name, int agree);
void report_add_note(struct report *, const char *fmt, ...) PRINTF_LIKE(2, 3);

/* "j***@x.com", "+1415***0100"; other text unchanged. */
void report_mask(const char *value, struct buf *out);

/* Writes the four files into dir (created 0700 if missing). */
enum rc report_write(const struct report *, const char *dir, int mask_pii);
/* The JSON report as text (caller frees). */
char *report_json(const struct report *, int mask_pii);
/* The Markdown summary. */
void report_markdown(const struct report *, int mask_pii, struct buf *out);

#endif
