/*
 * atsenv.h — a driver on a fake ATS, for the driver tests (after t.h):
 * configured through the same layers as the binary (ATSRECON_* settings, a
 * configuration document), with an HTTP client on the test CA.
 */
#ifndef ATSRECON_ATSENV_H
#define ATSRECON_ATSENV_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ats.h"
#include "config.h"
#include "http.h"
#include "json.h"

struct env {
	struct config cfg;
	struct http *h;
	struct ats *a;
};

/* Opens the driver: v[0..n-1] ("ATSRECON_..=.." strings, freed here; v has
 * room for a NULL after them) as the environment, the document fields (NULL:
 * none) as the configuration file, HTTP with the CA file ca and responses of
 * max_body bytes at most. */
static inline enum rc
env_start(struct env *e, char **v, int n, const char *fields, const char *ca, size_t max_body)
{
	struct http_cfg hc = { 0 };
	struct buf err = BUF_INIT;

	memset(e, 0, sizeof(*e));
	config_init(&e->cfg);
	v[n] = NULL;
	CHECK(config_apply_env(&e->cfg, v, &err) == RC_OK);
	if (err.len)
		printf("# config: %s\n", err.p);
	if (fields != NULL) {
		e->cfg.root = json_parse(fields, strlen(fields), &err);
		CHECK(e->cfg.root != NULL);
	}
	while (n-- > 0)
		free(v[n]);
	buf_free(&err);
	hc.ca_file = ca;
	hc.max_body = max_body;
	hc.timeout_ms = 10000;
	http_new(&hc, &e->h);
	return ats_open(&e->cfg, e->h, &e->a);
}

static inline void
env_close(struct env *e)
{
	ats_close(e->a);
	http_free(e->h);
	config_free(&e->cfg);
}

#endif
