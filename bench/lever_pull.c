/*
 * bench/lever_pull — a full sweep of every person from the Lever fake: each
 * person has 2 opportunities, listed 100 per page (include=contact) and read
 * whole 50 people per call (contact_id batches). Figures: wall time, requests
 * per person, and memory (target: under 32 MB; the only thing that grows is
 * the set of contacts already delivered: 16-byte slots, at most 70 % full).
 *
 * Usage: lever_pull ROOT_URL CA_FILE [OPPORTUNITIES]
 * (OPPORTUNITIES: how many the fake holds, for the listing minimum)
 */
#define _POSIX_C_SOURCE 200809L
#include "pull.h"

int
main(int argc, char **argv)
{
	struct pull_bench b;
	char *v[7];

	if (argc != 3 && argc != 4)
		return 2;
	v[0] = xstrdup("ATSRECON_ATS_KIND=lever");
	v[1] = xasprintf("ATSRECON_ATS_BASE_URL=%s/v1", argv[1]);
	v[2] = xstrdup("ATSRECON_ATS_API_KEY=lever-test-key-0001");
	v[3] = xstrdup("ATSRECON_ATS_PAGE_SIZE=100");
	v[4] = xstrdup("ATSRECON_ATS_MAX_RPS=1000");	/* the fake runs without a limit */
	v[5] = xstrdup("ATSRECON_ATS_MAX_PAGES=100000");
	v[6] = NULL;
	if (pull_run(&b, v, argv[2]) != 0)
		return 1;
	printf("lever_pull: rc %d, %ld people, %d list pages, complete %d\n", b.rc, delivered,
	    b.pull.pages, b.pull.complete);
	{
		long opps = argc == 4 ? strtol(argv[3], NULL, 10) : 0;
		char how[160];
		snprintf(how, sizeof(how), "%ld opportunity pages (100 a page, expanded; Basic auth: no "
		    "token call)", calls_pages(opps, 100));
		return pull_report(&b, calls_pages(opps, 100), how, "people", "target: < 32768 kB");
	}
}
