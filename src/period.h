/*
 * period.h — the report over a period (`atsrecon report --since 30d`, or
 * --from/--to): accuracy at the start and the end and its trend, repairs by
 * kind per week, recurring drift, time from detection to repair, what still
 * needs a person; streamed from the runs table with bounded memory. Same
 * four formats as the run report (json, html, md, csv: one row per run).
 */
#ifndef ATSRECON_PERIOD_H
#define ATSRECON_PERIOD_H

#include "config.h"
#include "util.h"

/* Writes to output (or stdout); RC_USAGE for a bad period. */
enum rc report_period(const struct config *, const char *format, const char *output);

#endif
