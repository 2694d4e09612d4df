/*
 * fuzz_lever — the Lever v1 driver's decoding: opportunity pages (next
 * tokens), contacts, stages, postings, archive reasons, the delete feed and
 * error bodies (ats_target.h).
 */
#include <stddef.h>

#define KIND "lever"
#define TEST_URL_VAR "ATSRECON_TEST_LEVER"
#define BASE_PATH "/v1/"
static const char *const settings[] = {
	"ATSRECON_ATS_KIND=lever", "ATSRECON_ATS_API_KEY=lever-test-key-0001",
	"ATSRECON_ATS_PAGE_SIZE=2", "ATSRECON_ATS_MAX_PAGES=20", NULL
};
#include "ats_target.h"
