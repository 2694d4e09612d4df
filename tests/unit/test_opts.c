/* Unit tests: the option table is consistent (defaults valid, names unique). */
#include <stdlib.h>

#include "config.h"
#include "log.h"
#include "opts.h"
#include "t.h"

int
main(void)
{
	struct config c;
	size_t i, j, dupes = 0, bad = 0;
	struct buf help = BUF_INIT;

	json_init();
	for (i = 0; i < OPT__MAX; i++) {
		const struct opt *o = &opt_table[i];

		if (!(o->key != NULL || o->type == OT_JSON) || o->help == NULL || *o->help == '\0' ||
		    (o->section == NULL && o->flag == NULL) || (o->type == OT_ENUM && o->choices == NULL)) {
			printf("not ok - option %zu is incomplete\n", i);
			bad++;
		}
		for (j = i + 1; j < OPT__MAX; j++) {
			const struct opt *p = &opt_table[j];
			if ((o->flag && p->flag && (p->cmds & o->cmds) && strcmp(o->flag, p->flag) == 0) ||
			    (o->short_flag && (p->cmds & o->cmds) && o->short_flag == p->short_flag) ||
			    (o->section && p->section && o->key && p->key &&
			    strcmp(o->section, p->section) == 0 && strcmp(o->key, p->key) == 0)) {
				printf("not ok - options %zu and %zu clash\n", i, j);
				dupes++;
			}
		}
	}
	CHECK(bad == 0);	/* every row has a key, help, and choices for enums */
	CHECK(dupes == 0);	/* flags, short flags and config keys are unique */
	/* every default parses (config_init logs an error for a bad one) */
	log_init(LOG_OFF, LOG_FMT_TEXT);
	config_init(&c);
	for (i = 0, bad = 0; i < OPT__MAX; i++)
		if (opt_table[i].def != NULL && !c.v[i].set)
			bad++;
	CHECK(bad == 0);
	config_free(&c);
	opt_usage(&help, CMD_RUN, "run");
	CHECK_CONTAINS(help.p, "--max-runtime DURATION");
	CHECK_CONTAINS(help.p, "--dry-run");
	CHECK(strstr(help.p, "--stale-after") == NULL);	/* a status flag */
	buf_free(&help);
	{
		char env[128];
		int is_file;
		opt_env_name(OPT_KEAP_CLIENT_SECRET, 1, env, sizeof(env));
		CHECK_STR(env, "ATSRECON_KEAP_CLIENT_SECRET_FILE");
		CHECK(opt_by_key("keap", "client_secret_file", &is_file) == OPT_KEAP_CLIENT_SECRET && is_file);
		CHECK(opt_by_key("keap", "client_id_file", &is_file) == OPT__MAX);	/* not a secret */
	}
	return t_done("test_opts");
}
