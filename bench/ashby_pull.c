/*
 * bench/ashby_pull — pull every candidate with its current application from
 * the Ashby fake (100 per page, the API's maximum): wall time, requests per
 * person, and memory (target: under 32 MB; the driver's application index
 * grows by about 90 bytes a person, everything else is flat).
 *
 * Usage: ashby_pull ROOT_URL CA_FILE [APPLICATIONS]
 * (APPLICATIONS: how many the fake holds, for the listing minimum)
 */
#define _POSIX_C_SOURCE 200809L
#include "pull.h"

int
main(int argc, char **argv)
{
	struct pull_bench b;
	char *v[6];

	if (argc != 3 && argc != 4)
		return 2;
	v[0] = xstrdup("ATSRECON_ATS_KIND=ashby");
	v[1] = xasprintf("ATSRECON_ATS_BASE_URL=%s", argv[1]);
	v[2] = xstrdup("ATSRECON_ATS_API_KEY=ashby-test-key");
	v[3] = xstrdup("ATSRECON_ATS_PAGE_SIZE=100");
	v[4] = xstrdup("ATSRECON_ATS_MAX_RPS=1000");	/* the fake has no limit; the default is 10 */
	v[5] = NULL;
	if (pull_run(&b, v, argv[2]) != 0)
		return 1;
	printf("ashby_pull: rc %d, %ld candidates (%ld with a stage), %d list pages, complete %d, "
	    "sync token %s\n", b.rc, delivered, with_stage, b.pull.pages, b.pull.complete,
	    b.a->sync_out != NULL ? "yes" : "no");
	{
		long apps = argc == 4 ? strtol(argv[3], NULL, 10) : 0;
		char how[160];
		snprintf(how, sizeof(how), "1 opening call + %ld candidate pages + %ld application pages "
		    "(100 a page)", calls_pages(delivered, 100), calls_pages(apps, 100));
		return pull_report(&b, 1 + calls_pages(delivered, 100) + calls_pages(apps, 100), how,
		    "candidates", "target: < 32768 kB");
	}
}
