/* config.c — see config.h. */
#define _POSIX_C_SOURCE 200809L
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "jdoc.h"
#include "log.h"

#define CONFIG_MAX_BYTES (1024 * 1024)
#define SECRET_MAX_BYTES (64 * 1024)

static int
same_char(int a, int b)
{
	a = tolower(a);
	b = tolower(b);
	return a == b || ((a == '-' || a == '_') && (b == '-' || b == '_'));
}

/* Edit distance (insert, delete, substitute, swap two neighbours: the typos
 * people make), case-insensitive, '-' and '_' alike; capped at 9. */
static size_t
edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i, j, d[65][65];

	if (la > 64 || lb > 64)
		return 9;
	for (i = 0; i <= la; i++)
		d[i][0] = i;
	for (j = 0; j <= lb; j++)
		d[0][j] = j;
	for (i = 1; i <= la; i++)
		for (j = 1; j <= lb; j++) {
			size_t sub = d[i - 1][j - 1] + !same_char((unsigned char)a[i - 1],
			    (unsigned char)b[j - 1]);
			size_t del = d[i - 1][j] + 1, ins = d[i][j - 1] + 1, best;
			best = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
			if (i > 1 && j > 1 && same_char((unsigned char)a[i - 1], (unsigned char)b[j - 2]) &&
			    same_char((unsigned char)a[i - 2], (unsigned char)b[j - 1]) &&
			    d[i - 2][j - 2] + 1 < best)
				best = d[i - 2][j - 2] + 1;
			d[i][j] = best;
		}
	return d[la][lb] > 9 ? 9 : d[la][lb];
}

void
did_you_mean(struct buf *out, const char *word, const char *choices)
{
	const char *c = choices, *best = NULL;
	size_t best_len = 0, best_d = 99, wl = strlen(word), limit;

	/* a third of the word, at most 3 ("concurency" finds "concurrency",
	 * "oauht" finds "oauth"); words shorter than 3 only differ in case or
	 * '-'/'_' ("x" finds nothing) */
	limit = wl < 3 ? 0 : wl / 3 < 1 ? 1 : wl / 3 > 3 ? 3 : wl / 3;
	while (c != NULL && *c != '\0') {
		const char *bar = strchr(c, '|');
		size_t cl = bar ? (size_t)(bar - c) : strlen(c), d;
		char cand[65];

		if (cl < sizeof(cand)) {
			memcpy(cand, c, cl);
			cand[cl] = '\0';
			d = edit_distance(word, cand);
			if (d < best_d) {
				best_d = d;
				best = c;
				best_len = cl;
			}
		}
		c = bar ? bar + 1 : NULL;
	}
	if (best != NULL && best_d <= limit && !(strlen(word) == best_len &&
	    strncmp(word, best, best_len) == 0)) {
		buf_adds(out, "; did you mean \"");
		buf_add(out, best, best_len);
		buf_adds(out, "\"?");
	}
}

/* Starts a new error line in err (errors of one file are all reported). */
static void
err_line(struct buf *err)
{
	if (err->len > 0)
		buf_addc(err, '\n');
}

static void
val_clear(struct cfg_val *v)
{
	free(v->str);
	free(v->secret_file);
	free(v->ssm_name);
	memset(v, 0, sizeof(*v));
}

/* Validates text for option o and stores it into v. Returns 0, or -1 with a
 * message (no location) in msg. */
static int
store_text(const struct opt *o, const char *text, struct cfg_val *v, struct buf *msg)
{
	int64_t n = 0;

	switch (o->type) {
	case OT_INT:
		if (parse_i64(text, &n) != 0) {
			buf_addf(msg, "expected an integer, got \"%s\"", text);
			return -1;
		}
		if (n < o->min || n > o->max) {
			buf_addf(msg, "%lld is out of range [%lld, %lld]", (long long)n,
			    (long long)o->min, (long long)o->max);
			return -1;
		}
		break;
	case OT_DURATION:
		if (parse_duration(text, &n) != 0) {
			buf_addf(msg, "expected a duration like 90s, 15m, 36h or 7d, got \"%s\"", text);
			return -1;
		}
		if (n < o->min || n > o->max) {
			buf_addf(msg, "%s is out of range [%llds, %llds]", text, (long long)o->min,
			    (long long)o->max);
			return -1;
		}
		break;
	case OT_BOOL:
	case OT_FLAG:
		if (strcmp(text, "true") == 0 || strcmp(text, "1") == 0 || strcmp(text, "yes") == 0)
			n = 1;
		else if (strcmp(text, "false") == 0 || strcmp(text, "0") == 0 || strcmp(text, "no") == 0)
			n = 0;
		else {
			buf_addf(msg, "expected true or false, got \"%s\"", text);
			return -1;
		}
		text = n ? "true" : "false";
		break;
	case OT_ENUM: {
		const char *c = o->choices;
		size_t tl = strlen(text);
		int ok = 0;

		while (c != NULL && *c != '\0') {
			const char *bar = strchr(c, '|');
			size_t cl = bar ? (size_t)(bar - c) : strlen(c);
			if (cl == tl && strncmp(c, text, tl) == 0)
				ok = 1;
			c = bar ? bar + 1 : NULL;
		}
		if (!ok) {
			buf_addf(msg, "\"%s\" is not one of %s", text, o->choices);
			did_you_mean(msg, text, o->choices);
			return -1;
		}
		break;
	}
	case OT_URL:
		if (!url_allowed(text)) {
			buf_addf(msg, "\"%s\" is not an https:// URL (plain http:// is allowed only to "
			    "localhost, 127.0.0.0/8 or [::1])", text);
			return -1;
		}
		break;
	case OT_STR:
	case OT_PATH:
		if (*text == '\0' && o->type == OT_PATH) {
			buf_adds(msg, "empty path");
			return -1;
		}
		break;
	case OT_JSON:
		break;
	}
	free(v->str);
	v->str = xstrdup(text);
	v->num = n;
	v->set = 1;
	return 0;
}

void
config_init(struct config *c)
{
	size_t i;

	memset(c, 0, sizeof(*c));
	for (i = 0; i < OPT__MAX; i++) {
		const struct opt *o = &opt_table[i];
		struct buf msg = BUF_INIT;

		if (o->def != NULL && store_text(o, o->def, &c->v[i], &msg) != 0) {
			/* A bad default is a bug in the table; the unit tests catch it. */
			log_error("config", "option %s: bad default: %s", o->key, msg.p);
		}
		c->v[i].src = SRC_DEFAULT;
		buf_free(&msg);
	}
}

void
config_free(struct config *c)
{
	size_t i;

	for (i = 0; i < OPT__MAX; i++)
		val_clear(&c->v[i]);
	free(c->path);
	if (c->root != NULL)
		jn_free(c->root);
	json_lines_free(&c->lines);
	memset(c, 0, sizeof(*c));
}

/* Reads a secret from a file: one trailing newline stripped, must be non-empty. */
static int
read_secret_file(const char *path, char **out, struct buf *msg)
{
	struct buf b = BUF_INIT;
	struct stat st;

	if (read_file(path, SECRET_MAX_BYTES, &b) != 0) {
		buf_addf(msg, "cannot read secret file %s: %s", path,
		    errno == EFBIG ? "larger than 64 KiB" : strerror(errno));
		buf_free(&b);
		return -1;
	}
	if (b.len > 0 && b.p[b.len - 1] == '\n')
		b.p[--b.len] = '\0';
	if (b.len > 0 && b.p[b.len - 1] == '\r')
		b.p[--b.len] = '\0';
	if (b.len == 0 || memchr(b.p, '\0', b.len) != NULL || memchr(b.p, '\n', b.len) != NULL) {
		buf_addf(msg, "secret file %s must hold exactly one non-empty line", path);
		buf_free(&b);
		return -1;
	}
	if (stat(path, &st) == 0 && (st.st_mode & S_IROTH))
		log_warn("config", "secret file %s is readable by every user; chmod 600 it", path);
	log_add_secret(b.p);
	*out = buf_take(&b);
	return 0;
}

/* Stores a secret given directly, or remembers its file: files are read by
 * config_finish, once every layer is known, so a later layer that sets the
 * value (an environment variable, say) never needs the file to exist. */
static int
store_secret(const struct opt *o, const char *value, const char *file, struct cfg_val *v,
    struct buf *msg)
{
	free(v->secret_file);
	v->secret_file = NULL;
	if (file != NULL) {
		if (*file == '\0') {
			buf_adds(msg, "empty secret file path");
			return -1;
		}
		free(v->str);
		v->str = NULL;
		v->set = 0;
		v->secret_file = xstrdup(file);
		return 0;
	}
	log_add_secret(value);
	return store_text(o, value, v, msg);
}

enum rc
config_set_secret(struct config *c, enum opt_id id, const char *value, struct buf *err)
{
	struct buf msg = BUF_INIT;
	enum cfg_src src = c->v[id].src;

	if (!(opt_table[id].flags & OF_SECRET) ||
	    store_secret(&opt_table[id], value, NULL, &c->v[id], &msg) != 0) {
		buf_addf(err, "%s.%s: %s", opt_table[id].section, opt_table[id].key,
		    msg.p ? msg.p : "not a secret");
		buf_free(&msg);
		return RC_CONFIG;
	}
	c->v[id].src = src;
	buf_free(&msg);
	return RC_OK;
}

enum rc
config_finish(struct config *c, struct buf *err)
{
	size_t i;
	int nerr = 0;

	for (i = 0; i < OPT__MAX; i++) {
		struct cfg_val *v = &c->v[i];
		struct buf msg = BUF_INIT, where = BUF_INIT;
		char *s = NULL;
		int bad;

		if (v->secret_file == NULL || v->set)
			continue;
		bad = read_secret_file(v->secret_file, &s, &msg) != 0 ||
		    store_text(&opt_table[i], s, v, &msg) != 0;
		free(s);
		if (bad) {
			cfg_origin(c, (enum opt_id)i, &where);
			err_line(err);
			buf_addf(err, "%s: %s.%s: %s", where.p, opt_table[i].section, opt_table[i].key, msg.p);
			buf_free(&where);
			nerr++;
		}
		buf_free(&msg);
	}
	if (cfg_str(c, OPT_MATCH_EXTERNAL_ID_FORMAT) != NULL &&
	    strstr(cfg_str(c, OPT_MATCH_EXTERNAL_ID_FORMAT), "{id}") == NULL) {
		struct buf where = BUF_INIT;
		cfg_origin(c, OPT_MATCH_EXTERNAL_ID_FORMAT, &where);
		err_line(err);
		buf_addf(err, "%s: match.external_id_format: \"%s\" has no {id} (e.g. \"{id}\" or "
		    "\"{ats}:{id}\")", where.p, cfg_str(c, OPT_MATCH_EXTERNAL_ID_FORMAT));
		buf_free(&where);
		nerr++;
	}
	return nerr ? RC_CONFIG : RC_OK;
}

static void
node_text(const struct jnode *node, struct buf *out)
{
	int64_t n;

	if (jn_is_string(node))
		buf_adds(out, jn_string(node));
	else if (jn_is_bool(node))
		buf_adds(out, jn_is_true(node) ? "true" : "false");
	else if (jn_integer(node, &n))
		buf_addf(out, "%lld", (long long)n);
	else if (jn_is_object(node) || jn_is_array(node)) {
		char *j = jn_print(node);
		buf_adds(out, j);
		free(j);
	}
}

static const char *
node_kind(const struct jnode *n)
{
	if (jn_is_string(n)) return "a string";
	if (jn_is_number(n)) return "a number";
	if (jn_is_bool(n)) return "a boolean";
	if (jn_is_null(n)) return "null";
	if (jn_is_array(n)) return "an array";
	if (jn_is_object(n)) return "an object";
	return "a value";
}

/* Type check of a config-file value against the option's type. */
static int
node_type_ok(const struct opt *o, const struct jnode *node, struct buf *msg)
{
	int ok;

	switch (o->type) {
	case OT_INT: ok = jn_integer(node, NULL); break;
	case OT_BOOL: ok = jn_is_bool(node); break;
	case OT_DURATION: ok = jn_is_string(node) || jn_integer(node, NULL); break;
	case OT_JSON: ok = jn_is_object(node); break;
	default: ok = jn_is_string(node); break;
	}
	if (!ok)
		buf_addf(msg, "expected %s, got %s",
		    o->type == OT_INT ? "an integer" : o->type == OT_BOOL ? "true or false" :
		    o->type == OT_JSON ? "an object" :
		    o->type == OT_DURATION ? "a duration string like \"15m\"" : "a string",
		    node_kind(node));
	return ok;
}

/* "k1|k2|..." of a section's keys (secrets also as KEY_file), or of every
 * section when section is NULL. */
static void
known_names(struct buf *out, const char *section)
{
	size_t i;

	for (i = 0; i < OPT__MAX; i++) {
		const struct opt *o = &opt_table[i];
		if (o->section == NULL)
			continue;
		if (section == NULL) {
			struct buf probe = BUF_INIT;
			buf_addf(&probe, "|%s|", o->section);
			if (out->p == NULL || strstr(out->p, probe.p) == NULL) {
				if (out->len == 0)
					buf_addc(out, '|');
				buf_addf(out, "%s|", o->section);
			}
			buf_free(&probe);
			continue;
		}
		if (o->key == NULL || strcmp(o->section, section) != 0)
			continue;
		buf_addf(out, "%s|", o->key);
		if (o->flags & OF_SECRET)
			buf_addf(out, "%s_file|", o->key);
	}
}

static int
load_section(struct config *c, const struct jnode *sec, struct buf *err)
{
	const struct jnode *item;
	int nerr = 0;

	JN_EACH(item, sec) {
		int is_file = 0, line = jn_line(&c->lines, item);
		enum opt_id id = opt_by_key(jn_key(sec), jn_key(item), &is_file);
		const struct opt *o;
		struct buf msg = BUF_INIT, text = BUF_INIT;
		int rc;

		if (id == OPT__MAX) {
			struct buf names = BUF_INIT;
			err_line(err);
			buf_addf(err, "%s:%d: unknown key \"", c->path, line);
			text_escape(err, jn_key(sec), strlen(jn_key(sec)));
			buf_addc(err, '.');
			text_escape(err, jn_key(item), strlen(jn_key(item)));
			buf_adds(err, "\"");
			known_names(&names, jn_key(sec));
			if (names.p != NULL)
				did_you_mean(err, jn_key(item), names.p);
			buf_free(&names);
			nerr++;
			continue;
		}
		o = &opt_table[id];
		if (c->v[id].src == SRC_FILE) {
			err_line(err);
			buf_addf(err, "%s:%d: \"%s.%s\" is set twice (as %s and %s_file)", c->path, line,
			    o->section, o->key, o->key, o->key);
			nerr++;
			continue;
		}
		if (is_file ? !jn_is_string(item) : !node_type_ok(o, item, &msg)) {
			if (is_file)
				buf_addf(&msg, "expected a file path string, got %s", node_kind(item));
			err_line(err);
			buf_addf(err, "%s:%d: %s.%s: %s", c->path, line, o->section, jn_key(item), msg.p);
			buf_free(&msg);
			nerr++;
			continue;
		}
		node_text(item, &text);
		if (o->flags & OF_SECRET)
			rc = store_secret(o, is_file ? NULL : text.p, is_file ? text.p : NULL, &c->v[id], &msg);
		else
			rc = store_text(o, text.p, &c->v[id], &msg);
		buf_free(&text);
		if (rc != 0) {
			err_line(err);
			buf_addf(err, "%s:%d: %s.%s: %s", c->path, line, o->section, jn_key(item), msg.p);
			buf_free(&msg);
			nerr++;
			continue;
		}
		c->v[id].src = SRC_FILE;
		c->v[id].line = line;
		buf_free(&msg);
	}
	return nerr;
}

enum rc
config_load_file(struct config *c, const char *path, struct buf *err)
{
	struct buf text = BUF_INIT, msg = BUF_INIT;
	const struct jnode *sec;
	int err_line_no = 0, nerr = 0;
	enum rc rc = RC_CONFIG;

	free(c->path);
	c->path = xstrdup(path);
	if (read_file(path, CONFIG_MAX_BYTES, &text) != 0) {
		buf_addf(err, "%s: %s", path, errno == EFBIG ? "larger than 1 MiB" : strerror(errno));
		goto out;
	}
	if (!utf8_valid(text.p, text.len)) {
		size_t i, line = 1;
		for (i = 0; i < text.len && utf8_seq((const unsigned char *)text.p + i, text.len - i); ) {
			if (text.p[i] == '\n')
				line++;
			i += utf8_seq((const unsigned char *)text.p + i, text.len - i);
		}
		buf_addf(err, "%s:%zu: the file is not valid UTF-8", path, line);
		goto out;
	}
	c->root = jn_parse_jsonc(text.p, text.len, &c->lines, &err_line_no, &msg);
	if (c->root == NULL) {
		buf_addf(err, "%s:%d: %s", path, err_line_no, msg.p);
		goto out;
	}
	if (!jn_is_object(c->root)) {
		buf_addf(err, "%s:1: the configuration must be a JSON object", path);
		goto out;
	}
	JN_EACH(sec, c->root) {
		int line = jn_line(&c->lines, sec);
		size_t i;
		int structured = 0;

		for (i = 0; i < OPT__MAX; i++) {
			const struct opt *o = &opt_table[i];
			if (o->type != OT_JSON || o->section == NULL || o->key != NULL ||
			    strcmp(o->section, jn_key(sec)) != 0)
				continue;
			structured = 1;
			if (i == OPT_FIELDS ? !jn_is_array(sec) : !jn_is_object(sec)) {
				err_line(err);
				buf_addf(err, "%s:%d: %s: expected %s, got %s", path, line, jn_key(sec),
				    i == OPT_FIELDS ? "an array" : "an object", node_kind(sec));
				nerr++;
				continue;
			}
			free(c->v[i].str);
			c->v[i].str = jn_print(sec);
			c->v[i].set = 1;
			c->v[i].src = SRC_FILE;
			c->v[i].line = line;
		}
		if (structured)
			continue;
		if (!opt_section_known(jn_key(sec))) {
			struct buf names = BUF_INIT;
			err_line(err);
			buf_addf(err, "%s:%d: unknown section \"", path, line);
			text_escape(err, jn_key(sec), strlen(jn_key(sec)));
			buf_addc(err, '"');
			known_names(&names, NULL);
			if (names.p != NULL)
				did_you_mean(err, jn_key(sec), names.p + 1);
			buf_free(&names);
			nerr++;
			continue;
		}
		if (!jn_is_object(sec)) {
			err_line(err);
			buf_addf(err, "%s:%d: %s: expected an object, got %s", path, line, jn_key(sec),
			    node_kind(sec));
			nerr++;
			continue;
		}
		nerr += load_section(c, sec, err);
	}
	if (nerr == 0)
		rc = RC_OK;
out:
	buf_free(&text);
	buf_free(&msg);
	return rc;
}

enum rc
config_apply_env(struct config *c, char *const *envp, struct buf *err)
{
	size_t i;

	for (; envp != NULL && *envp != NULL; envp++) {
		const char *kv = *envp, *eq = strchr(kv, '=');
		int matched = 0;

		if (eq == NULL || strncmp(kv, "ATSRECON_", 9) != 0)
			continue;
		for (i = 0; i < OPT__MAX && !matched; i++) {
			const struct opt *o = &opt_table[i];
			char name[128];
			int file;

			if (o->section == NULL || o->type == OT_JSON)
				continue;
			for (file = 0; file <= ((o->flags & OF_SECRET) ? 1 : 0); file++) {
				struct buf msg = BUF_INIT;
				int rc;

				opt_env_name((enum opt_id)i, file, name, sizeof(name));
				if (strlen(name) != (size_t)(eq - kv) || strncmp(kv, name, strlen(name)) != 0)
					continue;
				matched = 1;
				if (o->flags & OF_SECRET) {
					char other[128];
					opt_env_name((enum opt_id)i, !file, other, sizeof(other));
					if (getenv(other) != NULL && file) {
						buf_addf(err, "%s and %s are both set (use one)", name, other);
						return RC_CONFIG;
					}
					rc = store_secret(o, file ? NULL : eq + 1, file ? eq + 1 : NULL, &c->v[i], &msg);
				} else
					rc = store_text(o, eq + 1, &c->v[i], &msg);
				if (rc != 0) {
					buf_addf(err, "%s: %s", name, msg.p);
					buf_free(&msg);
					return RC_CONFIG;
				}
				c->v[i].src = SRC_ENV;
				buf_free(&msg);
				break;
			}
		}
		for (i = 0; i < OPT__MAX && !matched; i++) {
			/* ATSRECON_<SECTION>_<KEY>_SSM=<parameter>: a secret from the AWS
			 * Parameters and Secrets extension (resolved by ssm.c) */
			char name[128];
			size_t nl;
			if (!(opt_table[i].flags & OF_SECRET) || opt_table[i].section == NULL)
				continue;
			opt_env_name((enum opt_id)i, 0, name, sizeof(name));
			nl = strlen(name);
			if ((size_t)(eq - kv) != nl + 4 || strncmp(kv, name, nl) != 0 ||
			    strncmp(kv + nl, "_SSM", 4) != 0)
				continue;
			matched = 1;
			if (eq[1] == '\0') {
				buf_addf(err, "%s_SSM: empty parameter name", name);
				return RC_CONFIG;
			}
			free(c->v[i].ssm_name);
			c->v[i].ssm_name = xstrdup(eq + 1);
			c->v[i].src = SRC_ENV;
		}
		if (!matched && strncmp(kv, "ATSRECON_TEST_", 14) != 0) {
			struct buf name = BUF_INIT;
			text_escape(&name, kv, (size_t)(eq - kv));
			log_warn("config", "ignoring unknown environment variable %s", name.p);
			buf_free(&name);
		}
	}
	return RC_OK;
}

enum rc
config_set_cli(struct config *c, enum opt_id id, const char *value, struct buf *err)
{
	const struct opt *o = &opt_table[id];
	struct buf msg = BUF_INIT;
	int rc;

	if (o->type == OT_FLAG)
		value = "true";
	if (o->flags & OF_SECRET) {
		log_add_secret(value);
		free(c->v[id].secret_file);
		c->v[id].secret_file = NULL;
	}
	rc = store_text(o, value, &c->v[id], &msg);
	if (rc != 0) {
		buf_addf(err, "--%s: %s", o->flag, msg.p);
		buf_free(&msg);
		return RC_USAGE;
	}
	c->v[id].src = SRC_CLI;
	buf_free(&msg);
	return RC_OK;
}

const char *
cfg_str(const struct config *c, enum opt_id id)
{
	return c->v[id].set ? c->v[id].str : NULL;
}

int64_t
cfg_int(const struct config *c, enum opt_id id)
{
	return c->v[id].set ? c->v[id].num : 0;
}

int
cfg_bool(const struct config *c, enum opt_id id)
{
	return c->v[id].set && c->v[id].num != 0;
}

const struct jnode *
cfg_json(const struct config *c, enum opt_id id)
{
	const struct jnode *sec;

	if (c->root == NULL || opt_table[id].type != OT_JSON)
		return NULL;
	sec = jn_get(c->root, opt_table[id].section);
	return opt_table[id].key == NULL ? sec : jn_get(sec, opt_table[id].key);
}

void
cfg_origin(const struct config *c, enum opt_id id, struct buf *out)
{
	const struct cfg_val *v = &c->v[id];
	char name[128];

	switch (v->src) {
	case SRC_DEFAULT: buf_adds(out, v->set ? "default" : "unset"); break;
	case SRC_FILE: buf_addf(out, "%s:%d", c->path, v->line); break;
	case SRC_ENV:
		opt_env_name(id, v->secret_file != NULL, name, sizeof(name));
		buf_adds(out, name);
		if (v->ssm_name != NULL)
			buf_addf(out, "_SSM (parameter %s)", v->ssm_name);
		break;
	case SRC_CLI: buf_addf(out, "--%s", opt_table[id].flag); break;
	}
	if (v->secret_file != NULL)
		buf_addf(out, ", from file %s", v->secret_file);
}

void
config_dump(const struct config *c, struct buf *out)
{
	size_t i;

	buf_addf(out, "# effective configuration%s%s\n", c->path ? " of " : "", c->path ? c->path : "");
	for (i = 0; i < OPT__MAX; i++) {
		const struct opt *o = &opt_table[i];
		const struct cfg_val *v = &c->v[i];
		struct buf origin = BUF_INIT, line = BUF_INIT;

		if (o->section == NULL)
			continue;
		if (o->key != NULL)
			buf_addf(&line, "%s.%s = ", o->section, o->key);
		else
			buf_addf(&line, "%s = ", o->section);
		if (!v->set)
			buf_adds(&line, "(unset)");
		else if (o->flags & OF_SECRET)
			buf_adds(&line, "<redacted>");
		else if (o->type == OT_STR || o->type == OT_PATH || o->type == OT_URL || o->type == OT_ENUM ||
		    o->type == OT_DURATION)
			json_escape(&line, v->str, strlen(v->str));
		else
			buf_adds(&line, v->str);
		cfg_origin(c, (enum opt_id)i, &origin);
		buf_addf(out, "%-60s # %s\n", line.p, origin.p);
		buf_free(&origin);
		buf_free(&line);
	}
	/* Last line of defence: a secret that slipped into some value is still hidden. */
	redact_secrets(out);
}

static int
unset(const struct config *cfg, enum opt_id id)
{
	const char *s = cfg_str(cfg, id);

	return s == NULL || *s == '\0';
}

enum rc
config_check_run(const struct config *cfg, struct buf *err)
{
	const char *kind = cfg_str(cfg, OPT_ATS_KIND), *auth = cfg_str(cfg, OPT_KEAP_AUTH);
	size_t before = err->len;

	if (auth != NULL && strcmp(auth, "oauth") == 0) {
		if (unset(cfg, OPT_KEAP_CLIENT_ID) || unset(cfg, OPT_KEAP_CLIENT_SECRET))
			buf_addf(err, "%skeap.auth is oauth: keap.client_id and keap.client_secret are "
			    "needed", err->len > before ? "; " : "");
	} else if (unset(cfg, OPT_KEAP_API_KEY))
		buf_addf(err, "%skeap.auth is %s: keap.api_key is needed", err->len > before ? "; " : "",
		    auth ? auth : "a key");
	if (kind == NULL)
		buf_addf(err, "%sats.kind is needed", err->len > before ? "; " : "");
	else if (strcmp(kind, "greenhouse") == 0) {
		if (unset(cfg, OPT_ATS_CLIENT_ID) || unset(cfg, OPT_ATS_CLIENT_SECRET) ||
		    unset(cfg, OPT_ATS_USER_ID))
			buf_addf(err, "%sats.kind is greenhouse: ats.client_id, ats.client_secret and "
			    "ats.user_id are needed", err->len > before ? "; " : "");
	} else if (strcmp(kind, "lever") == 0 || strcmp(kind, "ashby") == 0) {
		if (unset(cfg, OPT_ATS_API_KEY))
			buf_addf(err, "%sats.kind is %s: ats.api_key is needed", err->len > before ?
			    "; " : "", kind);
	} else if (strcmp(kind, "file") == 0) {
		if (unset(cfg, OPT_ATS_FILE))
			buf_addf(err, "%sats.kind is file: ats.file is needed", err->len > before ?
			    "; " : "");
	}
	if (unset(cfg, OPT_STATE_DIR) && unset(cfg, OPT_STATE_URL))
		buf_addf(err, "%sstate.dir or state.url is needed", err->len > before ? "; " : "");
	if (err->len == before)
		return RC_OK;
	if (cfg->path == NULL)
		buf_adds(err, " (no configuration file was given: -c FILE, --config-dir DIR or "
		    "ATSRECON_CONFIG)");
	return RC_CONFIG;
}
