/*
 * run.h — one run, as data flows (DESIGN.md §1): lock and open the state,
 * authenticate, load Keap's model and tags, pull the ATS and Keap into the
 * snapshot, reconcile the touched candidates (all of them on a full sweep),
 * plan, check the guards, apply (each write with its precondition), measure
 * accuracy over every linked candidate, write the report and return the exit
 * status's rc. The steps live in pull.c, compare.c, reconcile.c, repair.c and
 * accuracy.c (run_p.h).
 */
#ifndef ATSRECON_RUN_H
#define ATSRECON_RUN_H

#include "config.h"
#include "util.h"

enum run_mode {
	RUN_RUN,	/* plan + apply */
	RUN_PLAN,	/* plan only; writes the plan file */
	RUN_APPLY	/* apply a plan file (no pulls) */
};

struct ats_driver;
struct keap_model;
struct keap_tags;

/* Benchmarks: a run with no network — the ATS is this driver (a generator),
 * Keap is what the snapshot already holds, with this model and these tags;
 * nothing is applied (as --dry-run). Not reachable from the command line. */
struct run_offline {
	const struct ats_driver *driver;
	const struct keap_model *model;
	const struct keap_tags *tags;
};

struct run_opts {
	enum run_mode mode;
	int full;		/* --full */
	int dry_run;		/* --dry-run: plan and report, write nothing to Keap */
	const char *plan_out;	/* --plan-out / plan -o */
	const char *plan_in;	/* apply PLAN */
	long approve;		/* --approve N */
	const struct run_offline *offline;	/* benchmarks only; NULL */
	int64_t deadline_ms;	/* mono_ms() deadline from the platform (Lambda); 0: none.
				 * The earlier of this and run.max_runtime holds. */
	struct buf *summary;	/* if set: the run's totals as JSON (Lambda's response) */
};

enum rc run_main(const struct config *, const struct run_opts *);
/* One scheduled run for `atsrecon lambda` (lambda_run_fn): run_main with the
 * invocation's deadline; *summary receives the totals. */
enum rc run_lambda(const struct config *, int64_t deadline_ms, struct buf *summary);

/* `atsrecon report --format F`: the last run's report, from the report directory. */
enum rc run_report(const struct config *, const char *format, const char *output);

#endif
