/*
 * bench/rss.h — memory figures for benchmarks (DESIGN.md §9): the peak of
 * anonymous memory (RssAnon, sampled as the run goes: the kernel keeps no peak
 * of it) and the peak RSS (VmHWM).
 */
#ifndef ATSRECON_BENCH_RSS_H
#define ATSRECON_BENCH_RSS_H

#include <stdio.h>
#include <string.h>

static long rss_anon_peak_kb;

/* Reads one "Name:   123 kB" line of /proc/self/status. */
static long
rss_status_kb(const char *name)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long v = -1;
	size_t n = strlen(name);

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, name, n) == 0 && line[n] == ':') {
			v = strtol(line + n + 1, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

static void
rss_sample(void)
{
	long a = rss_status_kb("RssAnon");

	if (a > rss_anon_peak_kb)
		rss_anon_peak_kb = a;
}

#endif
