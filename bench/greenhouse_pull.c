/*
 * bench/greenhouse_pull — pull every candidate with its applications from the
 * Greenhouse fake (500 per page): wall time, requests, and memory (target:
 * flat in the number of candidates, under 32 MB).
 *
 * Usage: greenhouse_pull ROOT_URL CA_FILE [APPLICATIONS]
 * (APPLICATIONS: how many the fake holds, for the listing minimum: one token,
 * candidates and applications at 500 a page)
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
	v[0] = xasprintf("ATSRECON_ATS_BASE_URL=%s/v3", argv[1]);
	v[1] = xasprintf("ATSRECON_ATS_AUTH_URL=%s/auth", argv[1]);
	v[2] = xstrdup("ATSRECON_ATS_CLIENT_ID=gh-client");
	v[3] = xstrdup("ATSRECON_ATS_CLIENT_SECRET=gh-secret");
	v[4] = xstrdup("ATSRECON_ATS_USER_ID=4711");
	v[5] = xstrdup("ATSRECON_ATS_PAGE_SIZE=500");
	v[6] = NULL;
	if (pull_run(&b, v, argv[2]) != 0)
		return 1;
	printf("greenhouse_pull: rc %d, %ld candidates, %d list pages, complete %d\n", b.rc, delivered,
	    b.pull.pages, b.pull.complete);
	{
		long apps = argc == 4 ? strtol(argv[3], NULL, 10) : 0;
		char how[160];
		snprintf(how, sizeof(how), "1 token + %ld candidate pages + %ld application pages (500 a page)",
		    calls_pages(delivered, 500), calls_pages(apps, 500));
		return pull_report(&b, 1 + calls_pages(delivered, 500) + calls_pages(apps, 500), how,
		    "candidates", "target: < 32768 kB, flat in candidates");
	}
}
