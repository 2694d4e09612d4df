/*
 * ats_target.h — the body of the three API drivers' fuzz targets
 * (fuzz_greenhouse, fuzz_lever, fuzz_ashby): the driver does what the engine
 * does with it, every request answered from the input (wire.h):
 *
 *   open (token mint, reference data), a full sweep (pull_all), a window
 *   (pull_window, after the sweep's sync token when the driver has them), the
 *   first person by id (get), and the delete feed (pull_deleted) when there
 *   is one.
 *
 * Each target defines KIND and the settings (ATS_SETTINGS, a list of
 * "ATSRECON_..=.." strings with the base URL last), then includes this file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ats.h"
#include "config.h"
#include "util.h"
#include "wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct seen {
	char *first;
	long n;
};

static enum rc
on_cand(void *arg, const struct candidate *c)
{
	struct seen *s = arg;
	size_t i;

	if (c->id == NULL)
		abort();
	for (i = 0; i < c->nemails; i++)
		if (c->emails[i] == NULL)
			abort();
	if (s->first == NULL)
		s->first = xstrdup(c->id);
	s->n++;
	return RC_OK;
}

static enum rc
on_id(void *arg, const char *id)
{
	(void)arg;
	if (id == NULL)
		abort();
	return RC_OK;
}

static struct config *
target_config(void)
{
	static struct config cfg;
	static int done;
	struct buf u1 = BUF_INIT, u2 = BUF_INIT;
	const char *kv[16];
	size_t k = 0, i;

	if (done)
		return &cfg;
	done = 1;
	fuzz_quiet_logs();
	for (i = 0; settings[i] != NULL; i++)
		kv[k++] = settings[i];
	buf_addf(&u1, "ATSRECON_ATS_BASE_URL=%s%s", fuzz_url(TEST_URL_VAR, FUZZ_REPLAY_ORIGIN),
	    BASE_PATH);
	kv[k++] = u1.p;
#ifdef AUTH_PATH
	buf_addf(&u2, "ATSRECON_ATS_AUTH_URL=%s%s", fuzz_url(TEST_URL_VAR, FUZZ_REPLAY_ORIGIN),
	    AUTH_PATH);
	kv[k++] = u2.p;
#endif
	kv[k] = NULL;
	if (fuzz_config(&cfg, kv) != RC_OK)
		abort();
	buf_free(&u1);
	buf_free(&u2);
	return &cfg;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config *cfg = target_config();
	struct ats *a = NULL;
	struct ats_pull pull;
	struct seen s = { NULL, 0 };
	struct candidate *one = NULL;
	char *tok = NULL;

	wire_load(data, size);
	if (ats_open(cfg, fuzz_http(), &a) == RC_OK) {
		memset(&pull, 0, sizeof(pull));
		a->drv->pull_all(a, on_cand, &s, &pull);
		tok = a->sync_out;
		a->sync_out = NULL;
		a->sync_in = tok;
		memset(&pull, 0, sizeof(pull));
		if (a->drv->pull_window != NULL)
			a->drv->pull_window(a, 1767225600000LL, 1767312000000LL, on_cand, &s, &pull);
		if (s.first != NULL && a->drv->get(a, s.first, &one) == RC_OK && one != NULL) {
			candidate_free(one);
			free(one);
		}
		memset(&pull, 0, sizeof(pull));
		if (a->drv->pull_deleted != NULL)
			a->drv->pull_deleted(a, 1767225600000LL, 1767312000000LL, on_id, NULL, &pull);
		if (getenv("FUZZ_LOG") != NULL)
			fprintf(stderr, "fuzz %s: %ld candidates, %zu requests\n", KIND, s.n,
			    wire_requests());
		free(a->sync_out);
		a->sync_out = NULL;
		a->sync_in = NULL;
		ats_close(a);
	}
	free(tok);
	free(s.first);
	wire_reset();
	return 0;
}
