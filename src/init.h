/*
 * init.h — `atsrecon init`: a complete, commented configuration from what
 * Keap and the ATS hold.
 *
 * Answers come from the layers every command reads (-c FILE, ATSRECON_*
 * variables, flags: --ats, --out, --redirect-uri, --state-dir) and, on a
 * terminal without --non-interactive, from questions for what is still
 * missing. Then it reads Keap's contact model (custom fields, their types and
 * dropdown options), its tags and tag categories, and the ATS's stages,
 * sources and statuses (the driver's reference lists where it has them, plus
 * the values its candidates carry), proposes the mapping and writes it:
 *   - canonical fields -> Keap fields, custom ones by label; the missing ones
 *     as comments naming the exact Keap settings to create them;
 *   - stage_tags: one tag per ATS stage in the "ATS Stage" category, and tags
 *     for the hired, rejected and withdrawn statuses;
 *   - a dropdown map for every ATS source that is not an option, each a guess
 *     listed in the rule's "confirm" (doctor warns until a person removes it);
 *   - the lifecycle tags and safe guards;
 *   - secrets only as *_file references (a secret typed or given in the
 *     environment is written to a 0600 file beside the configuration).
 * It never overwrites a file; it then runs `atsrecon check` and `atsrecon
 * doctor` on the result and prints the next command (`atsrecon run --dry-run`).
 */
#ifndef ATSRECON_INIT_H
#define ATSRECON_INIT_H

#include "config.h"
#include "util.h"

struct init_opts {
	const char *ats;		/* --ats, NULL: ask or ats.kind */
	const char *out;		/* --out */
	int non_interactive;
	int login;			/* --login: authorise Keap when the state has no tokens */
	const char *self;		/* argv[0], for the check and doctor runs */
};

enum rc init_main(struct config *, const struct init_opts *);

#endif
