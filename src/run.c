/* run.c — see run.h. */
#define _POSIX_C_SOURCE 200809L
#include "run_p.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "session.h"
#include "ats.h"
#include "auth.h"
#include "http.h"
#include "keap.h"
#include "log.h"
#include "mapping.h"
#include "pace.h"
#include "alert.h"
#include "codec.h"
#include "metrics.h"
#include "plan.h"
#include "progress.h"
#include "period.h"
#include "report.h"
#include "s3.h"
#include "snap.h"
#include "state.h"

/* --------------------------------------------------------------- set-up */

static enum rc
setup(struct run *r)
{
	const struct config *cfg = r->cfg;
	struct api_err kerr;
	struct buf err = BUF_INIT;
	const struct keap_field *ext;
	enum rc rc;

	if ((rc = mapping_load(&r->map, cfg, &err)) != RC_OK) {
		log_error("run", "%s", err.p);
		goto out;
	}
	r->have_mapping = 1;
	r->ext_fmt = cfg_str(cfg, OPT_MATCH_EXTERNAL_ID_FORMAT);
	/* the session (session.h): the state where run_main put it (state.dir or
	 * the S3 copy, whose lease run_main holds), then HTTP, auth, pacer, Keap */
	r->sess = xcalloc(1, sizeof(*r->sess));
	session_init(r->sess, cfg, r->deadline);
	r->sess->state_dir = r->state_dir;
	rc = session_open(r->sess, SESSION_STATE | SESSION_LOCAL | (r->o.offline == NULL ? SESSION_KEAP : 0));
	r->st = r->sess->st;
	r->http = r->sess->http;
	r->auth = r->sess->auth;
	r->kpace = r->sess->kpace;
	r->keap = r->sess->keap;
	if (rc != RC_OK)
		goto out;
	if (r->o.offline != NULL) {
		const struct keap_field *xf;
		r->model = *r->o.offline->model;	/* borrowed: have_model stays 0 */
		r->tags = *r->o.offline->tags;
		if ((rc = mapping_resolve(&r->map, &r->model, &err)) != RC_OK) {
			log_error("run", "%s", err.p);
			goto out;
		}
		xf = keap_model_field(&r->model, cfg_str(cfg, OPT_MATCH_EXTERNAL_ID_FIELD));
		r->ext_field_id = xf != NULL ? xf->id : "";
		r->ats = xcalloc(1, sizeof(*r->ats));
		r->ats->drv = r->o.offline->driver;
		r->ats->cfg = cfg;
		r->ats->deadline_ms = r->deadline;
		goto out;
	}
	if ((rc = keap_load_model(r->keap, &r->model, &kerr)) != RC_OK)
		goto out;
	r->have_model = 1;
	buf_reset(&err);
	if ((rc = mapping_resolve(&r->map, &r->model, &err)) != RC_OK) {
		log_error("run", "%s", err.p);
		goto out;
	}
	ext = keap_model_field(&r->model, cfg_str(cfg, OPT_MATCH_EXTERNAL_ID_FIELD));
	if (ext == NULL) {
		log_error("run", "Keap has no custom field labelled \"%s\" (match.external_id_field): "
		    "create a text field with that label in Keap", cfg_str(cfg, OPT_MATCH_EXTERNAL_ID_FIELD));
		rc = RC_CONFIG;
		goto out;
	}
	r->ext_field_id = ext->id;
	if ((rc = keap_load_tags(r->keap, &r->tags, &kerr)) != RC_OK)
		goto out;
	r->have_tags = 1;
	if (r->o.mode != RUN_APPLY) {
		if ((rc = session_ats(r->sess)) != RC_OK)
			goto out;
		r->ats = r->sess->ats;
	}
out:
	buf_free(&err);
	return rc;
}

static void
teardown(struct run *r)
{
	if (r->st != NULL && r->in_batch)
		snap_batch_abort(r->st);
	if (r->o.offline != NULL)
		ats_close(r->ats);	/* the offline driver's instance is the run's own */
	if (r->have_tags)
		keap_tags_free(&r->tags);
	if (r->have_model)
		keap_model_free(&r->model);
	if (r->have_mapping)
		mapping_free(&r->map);
	if (r->sess != NULL)
		(void)session_close(r->sess);	/* local: nothing to put back */
	free(r->sess);
	set_free(&r->touched);
	set_free(&r->seen_contacts);
	set_free(&r->gone);
	free(r->unread_ats);
	free(r->unread_keap);
	set_free(&r->merged);
	set_free(&r->feed);
	set_free(&r->retry);
	set_free(&r->gaveup);
	free(r->listed);
	free(r->changed);
	free(r->walkbits);
	buf_free(&r->sync_tok);
	plan_free(&r->plan);
	tp_free(&r->texts);
}

/* ---------------------------------------------------------------- report */

/* Each run record adds a point to the trend; only the last report.trend_runs
 * are kept, so memory stays bounded however many runs the table holds. */
static enum rc
trend_one(void *arg, const char *val, size_t vlen)
{
	struct run *r = arg;
	size_t keep = (size_t)cfg_int(r->cfg, OPT_REPORT_TREND_RUNS);

	if (report_trend_add(&r->rep, val, vlen) == 0 && r->rep.ntrend > 2 * keep)
		report_trend_keep(&r->rep, keep);
	return RC_OK;
}

static void
finish_report(struct run *r, enum rc rc)
{
	const struct keap_endpoint *ep;
	const struct http_stats *hs;
	struct pace_info pi;
	size_t n = 0, i;
	struct buf rec = BUF_INIT;
	const char *dir = cfg_str(r->cfg, OPT_REPORT_DIR);
	char *defdir = NULL;

	r->rep.finished_ms = now_ms();
	r->rep.exit_status = rc_exit_status(rc);
	if (r->keap != NULL) {
		ep = keap_endpoints(r->keap, &n);
		r->rep.api = xcalloc(n + 1, sizeof(*r->rep.api));
		for (i = 0; i < n; i++) {
			r->rep.api[i].endpoint = xstrdup(ep[i].name);
			r->rep.api[i].calls = ep[i].calls;
			r->rep.api[i].ok = ep[i].ok;
			r->rep.api[i].client_errors = ep[i].client_errors;
			r->rep.api[i].server_errors = ep[i].server_errors;
			r->rep.api[i].status_429 = ep[i].status_429;
			r->rep.api[i].transport_errors = ep[i].transport_errors;
		}
		r->rep.napi = n;
	}
	if (r->http != NULL) {
		hs = http_get_stats(r->http);
		r->rep.retries = hs->retries;
		r->rep.s429 = hs->status_429;
	}
	if (r->kpace != NULL) {
		pace_get(r->kpace, &pi);
		r->rep.quota_left = pi.quota_left;
	}
	if (r->st == NULL)
		return;
	/* the run record (trend and period report source), then the trend of the last N runs */
	r->rep.full = r->full;
	r->rep.url = cfg_str(r->cfg, OPT_REPORT_URL);
	report_run_record(&r->rep, &rec);
	if (rc != RC_LOCKED)
		snap_run_put(r->st, r->rep.run_id, rec.p, rec.len);
	buf_free(&rec);
	snap_run_each(r->st, trend_one, r);
	report_trend_keep(&r->rep, (size_t)cfg_int(r->cfg, OPT_REPORT_TREND_RUNS));
	if (dir == NULL)
		dir = defdir = xasprintf("%s/reports", r->state_dir);
	report_write(&r->rep, dir, cfg_bool(r->cfg, OPT_REPORT_MASK_PII));
	free(defdir);
}

/* ------------------------------------------------------------------ main */

static enum rc run_once(const struct config *, const struct run_opts *, const char *state_dir);

static enum rc
s3_rotation(void *arg)
{
	return s3state_commit(arg);
}

/*
 * One run. With state.url (s3://bucket/prefix) the state lives in S3: the run
 * takes the lease (RC_LOCKED while another run holds it), works on a local
 * copy, hands every rotated Keap refresh token to S3 before the new access
 * token is used, and puts the state back at the end (If-Match on the ETag it
 * read: two writers never silently overwrite each other).
 */
enum rc
run_main(const struct config *cfg, const struct run_opts *o)
{
	struct s3state *s3 = NULL;
	char *dir = NULL;
	enum rc rc, e;

	if (o->offline == NULL) {
		/* nothing is created (state directory, S3 copy) before the configuration holds */
		struct buf err = BUF_INIT;
		struct mapping m;
		rc = config_check_run(cfg, &err);
		if (rc == RC_OK && (rc = mapping_load(&m, cfg, &err)) == RC_OK)
			mapping_free(&m);
		if (rc != RC_OK)
			log_error("run", "%s", err.p);
		buf_free(&err);
		if (rc != RC_OK)
			return rc;
	}
	stop_install(cfg_int(cfg, OPT_RUN_GRACE) * 1000);
	if (o->mode == RUN_RUN && cfg_int(cfg, OPT_RUN_JITTER) > 0 && o->offline == NULL) {
		/* many tenants scheduled at the same minute must not reach Keap together;
		 * sleep before taking the lock or the S3 lease, so a sleeping run blocks
		 * nobody and its lease is not spent asleep */
		uint64_t x = (uint64_t)now_ms() * 6364136223846793005ULL ^ (uint64_t)getpid() << 17;
		long ms = (long)(x % (uint64_t)(cfg_int(cfg, OPT_RUN_JITTER) * 1000 + 1));
		log_info("run", "jitter: starting in %.1f s", (double)ms / 1000.0);
		if (sleep_unless_stopped(ms)) {
			log_warn("run", "stopped by signal %d before starting", stop_signal());
			return RC_REMOTE;
		}
	}
	if (cfg_str(cfg, OPT_STATE_URL) == NULL || o->offline != NULL)
		return run_once(cfg, o, cfg_str(cfg, OPT_STATE_DIR));
	{
		struct buf w = BUF_INIT;
		if (s3_check_lease_ttl(cfg, &w) != RC_OK)	/* `check` refuses it */
			log_warn("run", "%s (the lease heartbeat keeps it meanwhile)", w.p);
		buf_free(&w);
	}
	if ((rc = s3state_begin(cfg, &dir, &s3)) != RC_OK)
		return rc;
	auth_set_rotation_hook(s3_rotation, s3);
	rc = run_once(cfg, o, dir);
	auth_set_rotation_hook(NULL, NULL);
	if ((e = s3state_commit(s3)) != RC_OK) {
		log_error("run", "the state could not be put back in S3 (%s): the next run starts from "
		    "the last copy there", rc_str(e));
		if (rc == RC_OK || rc == RC_RECORD)
			rc = e;
	}
	s3state_end(s3);
	free(dir);
	return rc;
}

/* apply PLAN: the plan file, and what Keap says now (an op planned against a
 * contact edited since is skipped). */
static enum rc
load_plan(struct run *r)
{
	struct buf err = BUF_INIT;
	size_t i;
	enum rc rc;

	plan_free(&r->plan);
	if ((rc = plan_read(&r->plan, r->o.plan_in, &err)) != RC_OK) {
		log_error("run", "%s", err.p);
		buf_free(&err);
		return rc;
	}
	buf_free(&err);
	r->full = meta_int(r, "hwm_keap_ms") == 0;
	if ((rc = pull_keap(r, meta_int(r, "hwm_keap_ms"))) != RC_OK)
		return rc;
	for (i = 0; i < r->plan.n; i++) {
		struct op view;
		const struct op *o = plan_get(&r->plan, i, &view);
		size_t w = report_add_row(&r->rep, o->kind == OP_APPLY_TAG || o->kind == OP_REMOVE_TAG ?
		    "stage_tag" : "field_mismatch", NULL, NULL, o->ats_id, o->contact_id);
		report_row_set_action(&r->rep, w, "planned");
		plan_set_rows(&r->plan, i, w, w + 1);
	}
	return RC_OK;
}

/* The candidates with at least one report row (by their keys' 64-bit
 * hashes: 8 bytes a row, not a copy of each key). */
static size_t
count_drifted(const struct run *r)
{
	uint64_t *h = xcalloc(r->rep.nrows + 1, sizeof(*h));
	size_t i, n = 0, nd = 0;

	for (i = 0; i < r->rep.nrows; i++) {
		struct report_row view;
		const char *c = report_row(&r->rep, i, &view)->candidate;
		if (c != NULL)
			h[n++] = codec_fnv1a(c, strlen(c));
	}
	u64_sort(h, n);
	for (i = 0; i < n; i++)
		nd += i == 0 || h[i] != h[i - 1];
	free(h);
	return nd;
}

/* Writes the plan file if asked, and checks the guards: RC_GUARD when a
 * run that writes would exceed one. */
static enum rc
check_plan(struct run *r)
{
	const struct config *cfg = r->cfg;
	struct buf why = BUF_INIT;
	struct guards g;
	enum rc rc = RC_OK;

	/* the guard's base: every linked contact, including those of people who
	 * are out of the accuracy's scope (anonymised, deleted) */
	{
		size_t nl = snap_count_linked(r->st);
		r->plan.linked = nl > r->rep.linked ? nl : r->rep.linked;
	}
	memset(&g, 0, sizeof(g));
	g.max_change_percent = cfg_int(cfg, OPT_GUARDS_MAX_CHANGE_PCT);
	g.max_archives = cfg_int(cfg, OPT_GUARDS_MAX_ARCHIVES);
	g.max_creates = cfg_int(cfg, OPT_GUARDS_MAX_CREATES);
	g.approve = r->o.approve;
	if (meta_int(r, "last_good_run_ms") == 0 && g.max_change_percent < 100) {
		/* a first run links and repairs everything it finds: a percentage of
		 * "linked contacts" means nothing yet; max_creates still applies */
		log_info("run", "first run: the max_change_percent guard starts with the next run");
		g.max_change_percent = 100;
		r->plan.linked = r->plan.n;
	}
	if (r->o.plan_out != NULL && (rc = plan_write(&r->plan, r->o.plan_out)) != RC_OK)
		goto out;
	if (plan_check_guards(&r->plan, &g, &why) != RC_OK && r->o.mode != RUN_PLAN && !r->o.dry_run) {
		log_error("run", "nothing applied: %s (use --approve N to allow it once)", why.p);
		r->rep.message = xstrdup(why.p);
		rc = RC_GUARD;
	}
out:
	buf_free(&why);
	return rc;
}

/* Repaired: candidates with a repaired row and no failed one; failed: with a failed row. */
static void
count_outcomes(struct run *r)
{
	uint64_t *ok = xcalloc(r->rep.nrows + 1, sizeof(*ok));
	uint64_t *bad = xcalloc(r->rep.nrows + 1, sizeof(*bad));
	size_t i, nok = 0, nbad = 0;

	for (i = 0; i < r->rep.nrows; i++) {	/* the candidates' keys by hash, as above */
		struct report_row view;
		const struct report_row *w = report_row(&r->rep, i, &view);
		if (w->candidate == NULL)
			continue;
		if (strcmp(w->action, "repaired") == 0)
			ok[nok++] = codec_fnv1a(w->candidate, strlen(w->candidate));
		else if (strcmp(w->action, "failed") == 0)
			bad[nbad++] = codec_fnv1a(w->candidate, strlen(w->candidate));
	}
	u64_sort(ok, nok);
	u64_sort(bad, nbad);
	for (i = 0; i < nok; i++)
		if (i == 0 || ok[i] != ok[i - 1])
			r->rep.repaired += !u64_has(bad, nbad, ok[i]);
	for (i = 0; i < nbad; i++)
		r->rep.failed += i == 0 || bad[i] != bad[i - 1];
	free(ok);
	free(bad);
}

/* A run that finished: the windows move on (a source with an unread page
 * keeps its window and sync token). */
static void
save_windows(struct run *r)
{
	if (r->unread_ats == NULL)
		meta_put_int(r, "hwm_ats_ms", r->start_ms);
	if (r->unread_keap == NULL)
		meta_put_int(r, "hwm_keap_ms", r->start_ms);
	if (r->unread_ats == NULL && r->unread_keap == NULL) {
		meta_put_int(r, "runs_since_full", r->full ? 0 : meta_int(r, "runs_since_full") + 1);
		meta_put_int(r, "last_good_run_ms", now_ms());
	}
	if (r->unread_ats == NULL && r->ats != NULL && r->ats->sync_out != NULL)
		snap_meta_put(r->st, "ats_sync", r->ats->sync_out);
}

/* Pull, compare, measure, check, apply, measure again. */
static enum rc
run_steps(struct run *r)
{
	const struct run_opts *o = &r->o;
	enum rc rc;

	if ((rc = setup(r)) != RC_OK)
		return rc;
	env_hash(r);
	if ((rc = clear_old_journal(r)) != RC_OK)
		return rc;
	if (o->mode == RUN_APPLY && o->offline == NULL)
		rc = load_plan(r);
	else if ((rc = pull(r)) == RC_OK)
		rc = compare_all(r);
	if (rc != RC_OK)
		return rc;
	/* a run that writes nothing measures once: after = before */
	r->rep.before_pct = accuracy(r, o->mode == RUN_PLAN || o->dry_run || o->offline != NULL);
	r->rep.drifted = count_drifted(r);
	if ((rc = check_plan(r)) != RC_OK)
		return rc;
	if (o->mode == RUN_PLAN || o->dry_run || o->offline != NULL) {
		log_info("run", "%s: %zu ops planned, nothing written", o->dry_run ? "dry run" : "plan",
		    r->plan.n);
		r->rep.after_pct = r->rep.before_pct;
		return r->record_errors ? RC_RECORD : RC_OK;
	}
	if ((rc = apply_writes(r)) == RC_OK)
		rc = apply_tags(r);
	if (rc == RC_OK)
		rc = apply_deletes(r);
	count_outcomes(r);
	r->rep.after_pct = accuracy(r, 1);
	if (rc == RC_OK && r->rep.deferred > 0)
		rc = RC_REMOTE;
	if (rc == RC_OK && r->record_errors > 0)
		rc = RC_RECORD;
	if ((rc == RC_OK || rc == RC_RECORD) && o->mode == RUN_RUN)
		save_windows(r);
	return rc;
}

/* The report's message for a run that stopped short. */
static enum rc
stop_message(struct run *r, enum rc rc)
{
	if ((rc == RC_OK || rc == RC_RECORD) && (r->unread_ats != NULL || r->unread_keap != NULL)) {
		rc = RC_REMOTE;
		free(r->rep.message);
		r->rep.message = xasprintf("not read: %s%s%s; what was read was reconciled, nothing "
		    "unread was treated as deleted, the next run reads it again", r->unread_ats ?
		    r->unread_ats : "", r->unread_ats && r->unread_keap ? "; " : "",
		    r->unread_keap ? r->unread_keap : "");
		log_error("run", "%s", r->rep.message);
	}
	if (rc == RC_REMOTE && stop_reason() != NULL && r->rep.message == NULL)
		r->rep.message = xstrdup(stop_reason());	/* the S3 lease was lost */
	if (rc == RC_REMOTE && stop_requested() && r->rep.message == NULL)
		r->rep.message = xasprintf("stopped by signal %d: writes in flight finished (or were "
		    "abandoned after run.grace), the rest waits for the next run", stop_signal());
	if (rc == RC_REMOTE && past_deadline(r) && r->rep.message == NULL)
		r->rep.message = xstrdup("deadline reached (run.max_runtime): the rest waits for the next run");
	return rc;
}

/* Metrics and alerts: bounded, and never change the run's outcome. */
static void
notify(struct run *r, enum rc rc)
{
	struct metrics_extra mx;
	struct alert_facts af;
	enum rc e;

	memset(&mx, 0, sizeof(mx));
	mx.exit_status = -1;
	mx.duration_s = -1;
	mx.quota_left = -1;
	mx.last_success_ms = meta_int(r, "last_good_run_ms");
	if (r->auth != NULL) {
		struct auth_status as;
		auth_get_status(r->auth, &as);
		if (as.refresh_issued_at > 0)	/* research/keap-api.md: refresh tokens live 45 days */
			mx.token_expires_ms = (as.refresh_issued_at + 45LL * 86400) * 1000;
	}
	mx.guard_tripped = rc == RC_GUARD;
	mx.guard_text = r->rep.message;
	mx.http = r->http != NULL ? http_get_stats(r->http) : NULL;
	if ((e = metrics_emit(r->cfg, &r->rep, &mx)) != RC_OK)
		log_warn("run", "metrics were not delivered (%s)", rc_str(e));
	memset(&af, 0, sizeof(af));
	af.run = mx;
	if ((e = alert_maybe_send(r->cfg, &r->rep, &af)) != RC_OK)
		log_warn("run", "the alert was not delivered (%s)", rc_str(e));
}

static enum rc
run_once(const struct config *cfg, const struct run_opts *o, const char *state_dir)
{
	struct run r;
	enum rc rc;

	memset(&r, 0, sizeof(r));
	r.cfg = cfg;
	r.o = *o;
	r.state_dir = state_dir;
	stop_install(cfg_int(cfg, OPT_RUN_GRACE) * 1000);
	progress_init(&r.prog, progress_want(cfg_bool(cfg, OPT_QUIET)));
	r.start_ms = now_ms();
	r.deadline = mono_ms() + cfg_int(cfg, OPT_RUN_MAX_RUNTIME) * 1000;
	if (o->deadline_ms > 0 && o->deadline_ms < r.deadline)
		r.deadline = o->deadline_ms;	/* the platform's (Lambda), less its margin */
	report_init(&r.rep, o->mode == RUN_APPLY ? "apply" : o->mode == RUN_PLAN ? "plan" : "run");
	r.rep.texts = r.plan.texts = &r.texts;
	rc = stop_message(&r, run_steps(&r));
	progress_end(&r.prog);
	finish_report(&r, rc);
	if (o->summary != NULL)
		report_summary_json(&r.rep, o->summary);
	if (o->offline == NULL && r.st != NULL && rc != RC_LOCKED)
		notify(&r, rc);
	if (!cfg_bool(cfg, OPT_QUIET) && r.st != NULL) {
		struct buf md = BUF_INIT;
		report_markdown(&r.rep, cfg_bool(cfg, OPT_REPORT_MASK_PII), &md);
		fputs(md.p ? md.p : "", stdout);
		buf_free(&md);
	}
	report_free(&r.rep);
	teardown(&r);
	return rc;
}

enum rc
run_lambda(const struct config *cfg, int64_t deadline_ms, struct buf *summary)
{
	struct run_opts o;

	memset(&o, 0, sizeof(o));
	o.mode = RUN_RUN;
	o.deadline_ms = deadline_ms;
	o.summary = summary;
	return run_main(cfg, &o);
}

enum rc
run_report(const struct config *cfg, const char *format, const char *output)
{
	const char *dir = cfg_str(cfg, OPT_REPORT_DIR);
	char *defdir = NULL, *path;
	const char *file = strcmp(format, "json") == 0 ? "report.json" : strcmp(format, "html") == 0 ?
	    "report.html" : strcmp(format, "csv") == 0 ? "drift.csv" : "report.md";
	struct buf b = BUF_INIT;
	enum rc rc = RC_OK;

	if (cfg_str(cfg, OPT_SINCE) != NULL || cfg_str(cfg, OPT_FROM) != NULL || cfg_str(cfg, OPT_TO) != NULL)
		return report_period(cfg, format, output);
	if (dir == NULL)
		dir = defdir = xasprintf("%s/reports", cfg_str(cfg, OPT_STATE_DIR));
	path = xasprintf("%s/%s", dir, file);
	if (read_file(path, 256u * 1024 * 1024, &b) != 0) {
		log_error("report", "no report at %s (has a run finished yet?)", path);
		rc = RC_STATE;
	} else if (output != NULL) {
		if (atomic_write(output, b.p, b.len, 0600) != 0) {
			log_error("report", "cannot write %s", output);
			rc = RC_STATE;
		}
	} else
		fwrite(b.p, 1, b.len, stdout);
	free(path);
	free(defdir);
	buf_free(&b);
	return rc;
}
