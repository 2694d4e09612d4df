/*
 * fuzz_greenhouse — the Greenhouse Harvest v3 driver's decoding of what the
 * API sends: the token answer, Link headers, candidate and application
 * pages, rate-limit headers, error bodies (ats_target.h).
 */
#include <stddef.h>

#define KIND "greenhouse"
#define TEST_URL_VAR "ATSRECON_TEST_GREENHOUSE"
#define BASE_PATH "/v3"
#define AUTH_PATH "/auth"
static const char *const settings[] = {
	"ATSRECON_ATS_KIND=greenhouse", "ATSRECON_ATS_CLIENT_ID=gh-client",
	"ATSRECON_ATS_CLIENT_SECRET=gh-secret", "ATSRECON_ATS_USER_ID=4711",
	"ATSRECON_ATS_PAGE_SIZE=2", "ATSRECON_ATS_MAX_PAGES=20", NULL
};
#include "ats_target.h"
