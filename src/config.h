/*
 * config.h — the effective configuration.
 *
 * Layers, later wins: built-in defaults (opts.c) < config file (JSON with
 * comments) < ATSRECON_<SECTION>_<KEY> environment variables < command-line
 * flags. A secret may instead come from a file: "<key>_file" in the config or
 * ATSRECON_<SECTION>_<KEY>_FILE; one trailing newline is stripped; setting the
 * value and its file in the same layer is an error. Secret values are
 * registered with the logger so they can never be printed.
 *
 * Errors are reported as "file:line: message" (or "ENVVAR: message", or
 * "--flag: message") and map to RC_CONFIG.
 */
#ifndef ATSRECON_CONFIG_H
#define ATSRECON_CONFIG_H

#include <stdint.h>

#include "json.h"
#include "opts.h"
#include "util.h"

enum cfg_src { SRC_DEFAULT, SRC_FILE, SRC_ENV, SRC_CLI };

struct cfg_val {
	int set;		/* has a value (a default counts) */
	char *str;		/* the value as text (owned); for OT_JSON the compact JSON */
	int64_t num;		/* OT_INT, OT_DURATION (seconds), OT_BOOL, OT_FLAG */
	enum cfg_src src;
	int line;		/* SRC_FILE: line in the config file */
	char *secret_file;	/* secret read from this file (path, not secret) */
	char *ssm_name;		/* secret to fetch from the AWS Parameters and Secrets
				 * extension (ATSRECON_..._SSM: a parameter name) */
};

struct jnode;	/* (jdoc.h) */

struct config {
	char *path;		/* config file, or NULL */
	struct cfg_val v[OPT__MAX];
	struct jnode *root;	/* the parsed file (for structured sections) */
	struct json_lines lines;
};

void config_init(struct config *);	/* defaults */
void config_free(struct config *);

/* Reads and validates a config file; errors go to err as "file:line: msg". */
enum rc config_load_file(struct config *, const char *path, struct buf *err);
/* Applies ATSRECON_* variables from envp (NULL-terminated "K=V" strings). */
enum rc config_apply_env(struct config *, char *const *envp, struct buf *err);
/* Sets one option from the command line (value NULL for OT_FLAG). */
enum rc config_set_cli(struct config *, enum opt_id, const char *value, struct buf *err);

/* Reads the secret files that the final layers still point at. Call once,
 * after the file, the environment and the flags. */
enum rc config_finish(struct config *, struct buf *err);
/* Sets a secret option's value (its origin stays what named it, e.g. _SSM). */
enum rc config_set_secret(struct config *, enum opt_id, const char *value, struct buf *err);

const char *cfg_str(const struct config *, enum opt_id);	/* NULL when unset */
int64_t cfg_int(const struct config *, enum opt_id);
int cfg_bool(const struct config *, enum opt_id);
const struct jnode *cfg_json(const struct config *, enum opt_id);	/* structured section */
/* "file:LINE" / "ENVVAR" / "--flag" / "default": where a value came from. */
void cfg_origin(const struct config *, enum opt_id, struct buf *out);

/* What run, plan and apply need before they create or touch anything (the
 * state directory, the network): the Keap credentials for keap.auth, the ATS
 * keys for ats.kind, a state location. RC_OK, or RC_CONFIG with every
 * missing piece in err. */
enum rc config_check_run(const struct config *, struct buf *err);
/* The effective configuration as text, secrets redacted (atsrecon check). */
void config_dump(const struct config *, struct buf *out);

/* Appends "; did you mean \"X\"?" when one of choices ("a|b|c") is close to
 * word by edit distance (at most a third of its length, 1..3), else nothing. */
void did_you_mean(struct buf *out, const char *word, const char *choices);

#endif
