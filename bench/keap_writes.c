/*
 * bench/keap_writes — Keap write throughput against the fake with latency and
 * an enforced rate limit (issue: Keap client benchmark).
 *
 * Usage: keap_writes ROOT_URL CA_FILE WRITES LIMIT_RPS
 * Prints the figures with their targets. Run it through bench/keap_writes.sh.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "jtree.h"
#include "keap.h"
#include "log.h"
#include "pace.h"
#include "state.h"
#include "../tests/unit/fakeadm.h"

static struct http *adm;
static const char *root;


int
main(int argc, char **argv)
{
	struct http_cfg hc = { 0 };
	struct auth_cfg ac = { 0 };
	struct keap_cfg kc = { 0 };
	struct state *st = NULL;
	struct http *h = NULL;
	struct auth *a = NULL;
	struct pace *p = NULL;
	struct keap *k = NULL;
	struct keap_op *ops;
	struct keap_model m;
	struct api_err err;
	struct contact_change ch;
	cJSON *g, *tok, *stats;
	char *body;
	char dir[] = "/tmp/atsrecon-bench-XXXXXX", token_url[256], base[256];
	long first, n, i, ok = 0;
	double limit, secs;
	int64_t t0, t1, calls0 = 0, calls1 = 0, s429 = 0, writes = 0;

	if (argc != 5)
		return 2;
	root = argv[1];
	n = strtol(argv[3], NULL, 10);
	limit = strtod(argv[4], NULL);
	json_init();
	log_init(LOG_WARN, LOG_FMT_TEXT);
	hc.ca_file = argv[2];
	http_new(&hc, &adm);
	fake_http = adm;
	fake_root = root;
	g = fake_admin("POST", "/_admin/generate-contacts", argv[3][0] ? "{\"count\": 2000}" : "{}");
	first = strtol(json_str(g, "first_id") ? json_str(g, "first_id") : "0", NULL, 10);
	tok = fake_admin("POST", "/_admin/tokens", "{}");
	if (g == NULL || tok == NULL || mkdtemp(dir) == NULL)
		return 1;

	state_open(dir, STATE_RW, &st);
	http_new(&hc, &h);
	snprintf(token_url, sizeof(token_url), "%s/token", root);
	snprintf(base, sizeof(base), "%s/crm/rest", root);
	ac.mode = AUTH_OAUTH;
	ac.token_url = token_url;
	ac.client_id = "atsrecon-test-client";
	ac.client_secret = "atsrecon-test-secret";
	auth_new(&ac, h, st, &a);
	auth_store_refresh_token(a, json_str(tok, "refresh_token"));
	p = pace_new("keap", limit, 1);		/* keap.max_rps = the limit; no burst (spike arrest) */
	kc.base_url = base;
	kc.page_size = 1000;
	kc.max_pages = 100;
	kc.concurrency = 4;
	kc.max_retries = 6;
	keap_new(&kc, h, a, p, &k);
	/* warm up: token, model, the pacer has seen the headers */
	keap_load_model(k, &m, &err);
	keap_model_free(&m);

	ops = calloc((size_t)n, sizeof(*ops));
	memset(&ch, 0, sizeof(ch));
	change_set(&ch, CW_PROP, "job_title", "Benchmarked");
	body = keap_patch_body(NULL, &ch);	/* {"job_title":"Benchmarked"} */
	change_free(&ch);
	for (i = 0; i < n; i++) {
		ops[i].kind = KEAP_OP_PATCH;
		ops[i].id = xasprintf("%ld", first + (i % 2000));
		ops[i].body = body;
	}
	stats = fake_admin("GET", "/_admin/stats", NULL);
	json_int(stats, "requests", &calls0);
	cJSON_Delete(stats);
	fake_admin("POST", "/_admin/stats/reset", "{}");
	t0 = mono_ms();
	keap_write_batch(k, ops, (size_t)n);
	t1 = mono_ms();
	for (i = 0; i < n; i++) {
		ok += ops[i].rc == RC_OK && ops[i].has_result;
		contact_free(&ops[i].result);
	}
	stats = fake_admin("GET", "/_admin/stats", NULL);
	json_int(stats, "requests", &calls1);
	json_int(stats, "429", &s429);
	json_int(stats, "writes", &writes);
	secs = (double)(t1 - t0) / 1000.0;
	printf("keap_writes: %ld writes, %ld ok, concurrency 4, limit %.0f req/s, fake latency 50 ms\n",
	    n, ok, limit);
	printf("  wall time            %.2f s\n", secs);
	printf("  requests (fake)      %lld\n", (long long)calls1);
	printf("  achieved rate        %.2f req/s = %.3f of the limit   (target >= 0.90)\n",
	    (double)calls1 / secs, (double)calls1 / secs / limit);
	printf("  429s received        %lld   (target 0)\n", (long long)s429);
	printf("  calls per write      %.3f   (target 1.0)\n", (double)calls1 / (double)n);
	printf("  client retries       %ld, waited %ld ms in pacing\n", http_get_stats(h)->retries,
	    http_get_stats(h)->waited_ms);
	cJSON_Delete(stats);
	free(body);
	return ok == n ? 0 : 1;
}
