/*
 * fuzz_ashby — the Ashby driver's decoding: RPC envelopes (success, errors,
 * results, moreDataAvailable, nextCursor, syncToken), candidates,
 * applications and jobs (ats_target.h).
 */
#include <stddef.h>

#define KIND "ashby"
#define TEST_URL_VAR "ATSRECON_TEST_ASHBY"
#define BASE_PATH "/"
static const char *const settings[] = {
	"ATSRECON_ATS_KIND=ashby", "ATSRECON_ATS_API_KEY=ashby-test-key",
	"ATSRECON_ATS_PAGE_SIZE=2", "ATSRECON_ATS_MAX_PAGES=20", "ATSRECON_ATS_MAX_RPS=1000", NULL
};
#include "ats_target.h"
