/*
 * doctor.h — `atsrecon doctor`: the read-only preflight.
 *
 * Every check prints one line, ok / warn / fail (or skip, when a check it
 * depends on failed), with what was found and, for a warning or a failure, the
 * fix: the config key to change or the command to run. `--json` prints the
 * same as an array of {check, status, detail, fix}. See doctor.c for the
 * checks and the facts they rely on.
 */
#ifndef ATSRECON_DOCTOR_H
#define ATSRECON_DOCTOR_H

#include "config.h"
#include "util.h"

/*
 * Runs every check and prints the result to stdout (json: a JSON array).
 * Returns RC_OK when nothing failed (warnings allowed), else the rc of the
 * most serious failure, in this order: RC_AUTH (exit 4: credentials,
 * permissions), RC_CONFIG (3: configuration, mapping against Keap's model,
 * clock), RC_STATE (9: state directory unusable or on NFS, state corrupt),
 * RC_LOCKED (75: a run holds the state), RC_QUOTA (7), RC_REMOTE (5:
 * unreachable). cfg is changed in one place: ats.page_size is set to 1 for
 * the one-record read.
 */
enum rc doctor_main(struct config *cfg, int json);

#endif
