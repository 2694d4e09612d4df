/*
 * bench/engine_sweep — the engine's full sweep over a large snapshot, with no
 * network: the ATS pull is fed by a generator driver and Keap is what the
 * snapshot holds (run_opts.offline). Every candidate is diffed and planned.
 *
 *   engine_sweep populate DIR N    N candidates, N linked contacts (agreeing),
 *                                   and one full sweep to settle the bases
 *   engine_sweep sweep DIR N       the timed full sweep, with 5 % of the
 *                                   candidates changed in the ATS (last name;
 *                                   BENCH_DRIFT_PCT sets another share)
 *
 * The sweep prints wall time, peak RSS (VmHWM), peak anonymous memory, the
 * number of ops planned and the drift found. Targets (issue: engine): 1,000,000
 * candidates in at most 5 s and 64 MB on a 2-core machine.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "ats.h"
#include "config.h"
#include "jtree.h"
#include "keap.h"
#include "log.h"
#include "rss.h"
#include "run.h"
#include "snap.h"
#include "state.h"

static const char *const STAGES[] = { "Application Review", "Recruiter Phone Screen",
	"Take Home Test", "Face to Face", "Offer" };
static const char *const STAGE_TAGS[] = { "ATS Stage: Review", "ATS Stage: Screen",
	"ATS Stage: Test", "ATS Stage: Onsite", "ATS Stage: Offer" };
static const char *const FIRST[] = { "Ada", "Bo", "Cleo", "Dev", "Eli", "Fay", "Gus", "Hal" };

static long n_people;
static int drift;	/* the sweep: some changed in the ATS */
static long drift_pct = 5;	/* how many, in % (BENCH_DRIFT_PCT) */

/* prefix, the decimal digits of v (at least width of them, zero-padded), then
 * suffix into out: the generator formats four fields per candidate, a million
 * times, so without printf (its cost is the generator's, not the engine's) */
static void
fmt_num(char *out, size_t size, const char *prefix, long v, int width, const char *suffix)
{
	char digits[24];
	int n = 0;

	do {
		digits[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v > 0 || n < width);
	while (*prefix != '\0' && size > 1) {
		*out++ = *prefix++;
		size--;
	}
	while (n > 0 && size > 1) {
		*out++ = digits[--n];
		size--;
	}
	while (*suffix != '\0' && size > 1) {
		*out++ = *suffix++;
		size--;
	}
	*out = '\0';
}

/* Candidate i as the ATS has it. */
static void
make_candidate(long i, struct candidate *c, char *id, char *email, char *phone, char *last)
{
	const char *emails[1];
	char area[16];

	memset(c, 0, sizeof(*c));
	fmt_num(id, 24, "", 100000000L + i, 1, "");
	fmt_num(email, 64, "person.", i, 1, "@example.com");
	fmt_num(area, sizeof(area), "+1415", 200 + (i / 10000) % 700, 3, "");
	fmt_num(phone, 24, area, i % 10000, 4, "");
	fmt_num(last, 40, "Surname", i, 1, drift && (i * 37 + 7) % 100 < drift_pct ? "x" : "");
	c->ats = "bench";
	c->id = id;
	c->first_name = (char *)FIRST[i % 8];
	c->last_name = last;
	emails[0] = email;
	c->emails = (char **)emails;
	c->nemails = 1;
	(void)phone;
	c->stage_name = (char *)STAGES[i % 5];
	c->status = "active";
	c->source = "Indeed";
	c->job = "DevOps Engineer";
	c->updated_ms = 1764547200000LL;
}

static enum rc
gen_open(struct ats *a)
{
	(void)a;
	return RC_OK;
}

static enum rc
gen_pull_all(struct ats *a, ats_cand_fn fn, void *arg, struct ats_pull *p)
{
	long i;
	enum rc rc = RC_OK;

	(void)a;
	for (i = 0; i < n_people && rc == RC_OK; i++) {
		struct candidate c;
		char id[24], email[64], phone[24], last[40];
		char *ev[1];
		char *ph[1], *ext[1];

		make_candidate(i, &c, id, email, phone, last);
		ev[0] = email;
		ph[0] = phone;
		ext[0] = "";
		c.emails = ev;
		c.phones = ph;
		c.phone_exts = ext;
		c.nphones = 1;
		rc = fn(arg, &c);
		if (i % 10000 == 0)
			rss_sample();
	}
	p->pages = (int)(n_people / 500) + 1;
	p->records = i;
	p->complete = rc == RC_OK;
	return rc;
}

static enum rc
gen_window(struct ats *a, int64_t from, int64_t to, ats_cand_fn fn, void *arg, struct ats_pull *p)
{
	(void)from;
	(void)to;
	return gen_pull_all(a, fn, arg, p);
}

static enum rc
gen_get(struct ats *a, const char *id, struct candidate **out)
{
	(void)a;
	(void)id;
	*out = NULL;
	return RC_RECORD;
}

static const struct ats_driver gen_driver = {
	.name = "bench",
	.open = gen_open,
	.pull_window = gen_window,
	.pull_all = gen_pull_all,
	.get = gen_get,
};

/* Keap's side, as a settled earlier sync left it. */
static enum rc
populate_contacts(struct state *st)
{
	long i;
	enum rc rc = RC_OK;

	for (i = 0; i < n_people && rc == RC_OK; i++) {
		char id[24], cid[24], email[64], phone[24], last[40], key[48];
		struct candidate c;
		cJSON *ct = cJSON_CreateObject(), *arr, *o;
		int changed;

		make_candidate(i, &c, id, email, phone, last);
		if (i % 5000 == 0) {
			if (i > 0 && (rc = state_batch_commit(st)) != RC_OK)
				break;
			if ((rc = state_batch_begin(st)) != RC_OK)
				break;
		}
		snprintf(cid, sizeof(cid), "%ld", 500000000L + i);
		snprintf(key, sizeof(key), "bench:%s", id);
		cJSON_AddStringToObject(ct, "id", cid);
		cJSON_AddStringToObject(ct, "given_name", c.first_name);
		cJSON_AddStringToObject(ct, "family_name", c.last_name);
		arr = cJSON_AddArrayToObject(ct, "email_addresses");
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "email", email);
		cJSON_AddStringToObject(o, "field", "EMAIL1");
		cJSON_AddItemToArray(arr, o);
		arr = cJSON_AddArrayToObject(ct, "phone_numbers");
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "number", phone);
		cJSON_AddStringToObject(o, "field", "PHONE1");
		cJSON_AddItemToArray(arr, o);
		arr = cJSON_AddArrayToObject(ct, "custom_fields");
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "id", "11");
		cJSON_AddStringToObject(o, "content", key);
		cJSON_AddItemToArray(arr, o);
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "id", "13");
		cJSON_AddStringToObject(o, "content", "Job Board");
		cJSON_AddItemToArray(arr, o);
		arr = cJSON_AddArrayToObject(ct, "tag_ids");
		cJSON_AddItemToArray(arr, cJSON_CreateNumber(301 + (double)(i % 5)));
		{
			/* decoded as keap.c decodes what Keap sends */
			char *text = json_print(ct);
			struct contact k;
			struct buf err = BUF_INIT;
			rc = contact_from_json(text, strlen(text), &k, &err);
			if (rc == RC_OK)
				rc = snap_put_contact(st, &k, "11", &changed);
			contact_free(&k);
			buf_free(&err);
			free(text);
		}
		if (rc == RC_OK)
			rc = snap_link(st, key, cid);
		cJSON_Delete(ct);
	}
	if (rc == RC_OK)
		rc = state_batch_commit(st);
	return rc;
}

static void
make_model(struct keap_model *m, struct keap_tags *t)
{
	static char *opts[] = { "LinkedIn", "Referral", "Job Board", "Careers Page", "Agency" };
	static struct keap_field f[2];
	static struct keap_tag tags[5], cat[1];
	size_t i;

	f[0].id = "11";
	f[0].label = "ATS Candidate ID";
	f[0].type = "TEXT";
	f[1].id = "13";
	f[1].label = "ATS Source";
	f[1].type = "DROPDOWN";
	f[1].options = opts;
	f[1].noptions = 5;
	m->fields = f;
	m->n = 2;
	cat[0].id = "9";
	cat[0].name = "ATS Stage";
	for (i = 0; i < 5; i++) {
		tags[i].id = xasprintf("%zu", 301 + i);
		tags[i].name = (char *)STAGE_TAGS[i];
		tags[i].category_id = "9";
	}
	t->v = tags;
	t->n = 5;
	t->cats = cat;
	t->ncats = 1;
}

static const char CONFIG[] =
    "{ \"ats\": {\"kind\": \"greenhouse\"}, \"keap\": {\"auth\": \"pat\", \"api_key\": \"bench\"},\n"
    "  \"state\": {\"dir\": \"%s/state\"}, \"report\": {\"dir\": \"%s/reports\"},\n"
    "  \"guards\": {\"max_change_percent\": 100, \"max_creates\": 10000000, \"max_archives\": 10000000},\n"
    "  \"log\": {\"level\": \"warn\"},\n"
    "  \"fields\": [ {\"from\": \"first_name\", \"to\": \"given_name\"},\n"
    "    {\"from\": \"last_name\", \"to\": \"family_name\"}, {\"from\": \"email\", \"to\": \"email:EMAIL1\"},\n"
    "    {\"from\": \"phone\", \"to\": \"phone:PHONE1\"},\n"
    "    {\"from\": \"source\", \"to\": \"custom:ATS Source\", \"map\": {\"Indeed\": \"Job Board\"}} ],\n"
    "  \"stage_tags\": {\"category\": \"ATS Stage\", \"by_stage\": {\"Application Review\": \"ATS Stage: Review\",\n"
    "    \"Recruiter Phone Screen\": \"ATS Stage: Screen\", \"Take Home Test\": \"ATS Stage: Test\",\n"
    "    \"Face to Face\": \"ATS Stage: Onsite\", \"Offer\": \"ATS Stage: Offer\"}} }\n";

/* CPU seconds (user + system) this process has used so far: the machine is
 * shared, so wall time alone says little. */
static double
cpu_s(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return 0;
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	    (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

int
main(int argc, char **argv)
{
	struct config cfg;
	struct buf err = BUF_INIT, text = BUF_INIT, path = BUF_INIT;
	struct keap_model model;
	struct keap_tags tags;
	struct run_offline off;
	struct run_opts o;
	int64_t t0, t1;
	double c0, c1;
	enum rc rc;
	int populate;

	if (argc != 4 || (strcmp(argv[1], "populate") != 0 && strcmp(argv[1], "sweep") != 0)) {
		fprintf(stderr, "usage: engine_sweep populate|sweep DIR N\n");
		return 2;
	}
	populate = strcmp(argv[1], "populate") == 0;
	n_people = strtol(argv[3], NULL, 10);
	if (getenv("BENCH_DRIFT_PCT") != NULL)
		drift_pct = strtol(getenv("BENCH_DRIFT_PCT"), NULL, 10);
	json_init();
	log_init(getenv("BENCH_VERBOSE") ? LOG_DEBUG : LOG_WARN, LOG_FMT_TEXT);
	buf_addf(&text, CONFIG, argv[2], argv[2]);
	buf_addf(&path, "%s/atsrecon.jsonc", argv[2]);
	if (atomic_write(path.p, text.p, text.len, 0600) != 0)
		return 1;
	config_init(&cfg);
	if (config_load_file(&cfg, path.p, &err) != RC_OK || config_finish(&cfg, &err) != RC_OK) {
		fprintf(stderr, "config: %s\n", err.p);
		return 1;
	}
	make_model(&model, &tags);
	if (populate) {
		struct state *st;
		char *dir = xasprintf("%s/state", argv[2]);
		if ((rc = state_open(dir, STATE_RW, &st)) != RC_OK)
			return 1;
		t0 = mono_ms();
		rc = populate_contacts(st);
		state_close(st);
		free(dir);
		if (rc != RC_OK)
			return 1;
		printf("populate: %ld contacts in %.1f s\n", n_people, (double)(mono_ms() - t0) / 1000.0);
	}
	memset(&off, 0, sizeof(off));
	off.driver = &gen_driver;
	off.model = &model;
	off.tags = &tags;
	memset(&o, 0, sizeof(o));
	o.mode = RUN_RUN;
	o.full = 1;
	o.offline = &off;
	drift = !populate;
	rss_sample();
	c0 = cpu_s();
	t0 = mono_ms();
	rc = run_main(&cfg, &o);
	t1 = mono_ms();
	c1 = cpu_s();
	rss_sample();
	if (populate) {
		printf("populate: settling sweep %.1f s wall, %.1f s CPU user+sys (exit rc %d)\n",
		    (double)(t1 - t0) / 1000.0, c1 - c0, (int)rc);
		return rc == RC_OK ? 0 : 1;
	}
	printf("sweep: %ld candidates, full, %ld %% drifted: %.2f s wall, %.2f s CPU user+sys; "
	    "peak RSS %ld kB, peak anonymous %ld kB (rc %d)\n", n_people, drift_pct,
	    (double)(t1 - t0) / 1000.0, c1 - c0, rss_status_kb("VmHWM"), rss_anon_peak_kb, (int)rc);
	return rc == RC_OK ? 0 : 1;
}
