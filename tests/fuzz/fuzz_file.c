/*
 * fuzz_file — the export-file source (ats_file.c over csv.c): a CSV or JSON
 * lines export read as the engine reads it (open, full pull, then one
 * candidate by id), with the column mapping from the input too.
 *
 * Input: byte 0 bit 0 = JSON lines (else CSV); bit 1 = the first line (up to
 * a newline) is ats.columns (a JSON object; else DEFAULT_COLUMNS); the rest
 * is the file.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ats.h"
#include "config.h"
#include "wire.h"

/* tests/data/export_sample.*'s columns, when the input brings none */
#define DEFAULT_COLUMNS "{\"id\": \"Candidate ID\", \"name\": \"Name\", " \
	"\"email\": [\"Email\", \"Other Email\"], \"phone\": \"Phone\", \"stage\": \"Stage\", " \
	"\"status\": \"Status\", \"job\": \"Job\", \"source\": \"Source\", " \
	"\"applied_at\": \"Applied\"}"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct seen {
	char *first;
	long n;
};

static enum rc
on_cand(void *arg, const struct candidate *c)
{
	struct seen *s = arg;

	if (c->id == NULL)
		abort();
	if (s->first == NULL)
		s->first = xstrdup(c->id);
	s->n++;
	return RC_OK;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int inited;
	char path[64], *fileopt, *colopt = NULL;
	const uint8_t *p = data + 1, *nl;
	size_t n = size - 1;
	struct config cfg;
	struct ats *a = NULL;
	struct ats_pull pull;
	struct seen s = { NULL, 0 };
	struct candidate *one = NULL;
	int fd;

	if (!inited) {
		inited = 1;
		fuzz_quiet_logs();
	}
	if (size < 1)
		return 0;
	if ((data[0] & 2) && (nl = memchr(p, '\n', n)) != NULL) {
		colopt = xstrndup((const char *)p, (size_t)(nl - p));
		n -= (size_t)(nl + 1 - p);
		p = nl + 1;
	}
	fd = fuzz_memfile(p, n, path);
	if (fd < 0) {
		free(colopt);
		return 0;
	}
	fileopt = xasprintf("{ \"ats\": { \"kind\": \"file\", \"file\": \"%s\", "
	    "\"format\": \"%s\", \"columns\": %s },\n"
	    "  \"phone\": { \"default_region\": \"US\" } }\n", path, (data[0] & 1) ? "jsonl" : "csv",
	    colopt != NULL ? colopt : DEFAULT_COLUMNS);
	if (fuzz_config_text(&cfg, fileopt, strlen(fileopt)) == RC_OK && ats_open(&cfg, NULL, &a) == RC_OK) {
		memset(&pull, 0, sizeof(pull));
		a->drv->pull_all(a, on_cand, &s, &pull);
		if (getenv("FUZZ_LOG") != NULL)
			fprintf(stderr, "fuzz_file: %ld candidates, %d skipped\n", s.n, pull.skipped);
		if (s.first != NULL && a->drv->get(a, s.first, &one) == RC_OK && one != NULL) {
			candidate_free(one);
			free(one);
		}
		one = NULL;
		if (a->drv->get(a, "no-such-id", &one) == RC_OK && one != NULL) {
			candidate_free(one);
			free(one);
		}
		ats_close(a);
	}
	config_free(&cfg);
	free(s.first);
	free(fileopt);
	free(colopt);
	close(fd);
	return 0;
}
