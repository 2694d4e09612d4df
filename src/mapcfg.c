/*
 * mapcfg.c — mapping_load (mapping.h): the rules of the configuration's
 * "fields" and "stage_tags" sections, checked with a `file:line: message`
 * for each mistake. The configuration's side of the mapping: it reads
 * config.c's tree (jtree.h); mapping.c, the rules themselves, does not.
 */
#define _POSIX_C_SOURCE 200809L
#include "mapping.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "jdoc.h"
#include "log.h"
#include "norm.h"

static const char *const canonical_fields[] = {
	"first_name", "last_name", "preferred_name", "email", "email2", "email3", "phone", "phone2",
	"phone3", "company", "title", "stage", "status", "job", "source", "referrer", "applied_at",
	"created_at", "updated_at", "id",
};

static const char *const text_targets[] = {
	"given_name", "family_name", "middle_name", "preferred_name", "job_title",
};

static int
in_list(const char *s, const char *const *list, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(s, list[i]) == 0)
			return 1;
	return 0;
}

/* "file:line: what: " prefix for an error about node. */
static void
where(const struct config *cfg, const struct jnode *node, const char *what, struct buf *err)
{
	buf_addf(err, "%s:%d: %s: ", cfg->path ? cfg->path : "(config)",
	    jn_line(&cfg->lines, node), what);
}

static enum rc
load_kv(const struct config *cfg, const struct jnode *obj, const char *what, struct map_kv **out,
    size_t *n, struct buf *err)
{
	const struct jnode *it;

	if (obj == NULL)
		return RC_OK;
	if (!jn_is_object(obj)) {
		where(cfg, obj, what, err);
		buf_adds(err, "expected an object of strings");
		return RC_CONFIG;
	}
	JN_EACH(it, obj) {
		if (!jn_is_string(it) || jn_string(it)[0] == '\0') {
			where(cfg, it, what, err);
			buf_addf(err, "\"%s\" must map to a non-empty string", jn_key(it));
			return RC_CONFIG;
		}
		*out = xrealloc(*out, (*n + 1) * sizeof(**out));
		(*out)[*n].k = xstrdup(jn_key(it));
		(*out)[*n].v = xstrdup(jn_string(it));
		(*n)++;
	}
	return RC_OK;
}

/* The rule's keys: only known ones, exactly one of from and constant, a
 * canonical from, a to. */
static enum rc
rule_check_keys(const struct config *cfg, const struct jnode *f, const char *what, struct buf *err)
{
	const char *from = jn_str(f, "from"), *constant = jn_str(f, "constant");
	static const char *const keys[] = { "from", "to", "owner", "map", "null", "constant", "confirm" };
	const struct jnode *it;

	JN_EACH(it, f)
		if (!in_list(jn_key(it), keys, ARRAY_LEN(keys))) {
			where(cfg, it, what, err);
			buf_addf(err, "unknown key \"%s\" (from, to, owner, map, null, constant, confirm)",
			    jn_key(it));
			did_you_mean(err, jn_key(it), "from|to|owner|map|null|constant|confirm");
			return RC_CONFIG;
		}
	if ((from == NULL) == (constant == NULL)) {
		where(cfg, f, what, err);
		buf_adds(err, "needs exactly one of \"from\" and \"constant\"");
		return RC_CONFIG;
	}
	if (from != NULL && !in_list(from, canonical_fields, ARRAY_LEN(canonical_fields)) &&
	    !(strncmp(from, "custom:", 7) == 0 && from[7] != '\0')) {
		where(cfg, jn_get(f, "from"), what, err);
		buf_addf(err, "\"%s\" is not a canonical field (first_name, email, phone, source, "
		    "applied_at, custom:<key>, ...)", from);
		did_you_mean(err, from, "first_name|last_name|preferred_name|email|email2|email3|phone|"
		    "phone2|phone3|company|title|stage|status|job|source|referrer|applied_at|created_at|"
		    "updated_at|id");
		return RC_CONFIG;
	}
	if (jn_str(f, "to") == NULL) {
		where(cfg, f, what, err);
		buf_adds(err, "\"to\" is missing");
		return RC_CONFIG;
	}
	return RC_OK;
}

/* The Keap target the rule's "to" names: its kind and key. */
static enum rc
rule_target(const struct config *cfg, const struct jnode *f, const char *what, struct map_rule *r,
    struct buf *err)
{
	const char *to = jn_str(f, "to");

	if (in_list(to, text_targets, ARRAY_LEN(text_targets))) {
		r->tgt = TGT_TEXT;
		r->key = xstrdup(to);
	} else if (strncmp(to, "email:EMAIL", 11) == 0 && to[11] >= '1' && to[11] <= '3' && to[12] == '\0') {
		r->tgt = TGT_EMAIL;
		r->key = xstrdup(to + 6);
	} else if (strncmp(to, "phone:PHONE", 11) == 0 && to[11] >= '1' && to[11] <= '5' && to[12] == '\0') {
		r->tgt = TGT_PHONE;
		r->key = xstrdup(to + 6);
	} else if (strncmp(to, "custom:", 7) == 0 && to[7] != '\0') {
		r->tgt = TGT_CUSTOM;
		r->key = xstrdup(to + 7);
	} else {
		where(cfg, jn_get(f, "to"), what, err);
		buf_addf(err, "\"%s\" is not a Keap target (given_name, family_name, job_title, "
		    "email:EMAIL1..3, phone:PHONE1..5, custom:<label>)", to);
		did_you_mean(err, to, "given_name|family_name|middle_name|preferred_name|job_title|"
		    "email:EMAIL1|email:EMAIL2|email:EMAIL3|phone:PHONE1|phone:PHONE2|phone:PHONE3");
		return RC_CONFIG;
	}
	return RC_OK;
}

/* The rule's owner (ats when left out) and its null policy. */
static enum rc
rule_owner(const struct config *cfg, const struct jnode *f, const char *what, struct map_rule *r,
    struct buf *err)
{
	const char *owner = jn_str(f, "owner"), *null = jn_str(f, "null");

	if (owner == NULL || strcmp(owner, "ats") == 0)
		r->owner = OWN_ATS;
	else if (strcmp(owner, "keap") == 0)
		r->owner = OWN_KEAP;
	else if (strcmp(owner, "fill") == 0)
		r->owner = OWN_FILL;
	else if (strcmp(owner, "create") == 0)
		r->owner = OWN_CREATE;
	else {
		where(cfg, jn_get(f, "owner"), what, err);
		buf_addf(err, "owner \"%s\" is not one of ats, keap, fill, create", owner);
		did_you_mean(err, owner, "ats|keap|fill|create");
		return RC_CONFIG;
	}
	if (jn_get(f, "owner") != NULL && owner == NULL) {
		where(cfg, jn_get(f, "owner"), what, err);
		buf_adds(err, "owner must be a string");
		return RC_CONFIG;
	}
	if (null != NULL && strcmp(null, "skip") != 0 && strcmp(null, "clear") != 0) {
		where(cfg, jn_get(f, "null"), what, err);
		buf_addf(err, "null \"%s\" is not one of skip, clear", null);
		return RC_CONFIG;
	}
	r->null_clear = null != NULL && strcmp(null, "clear") == 0;
	return RC_OK;
}

/* The rule's value map and the keys of it to confirm. */
static enum rc
rule_map(const struct config *cfg, const struct jnode *f, const char *what, struct map_rule *r,
    struct buf *err)
{
	const struct jnode *map = jn_get(f, "map"), *cf = jn_get(f, "confirm"), *it;

	if (map != NULL) {
		struct map_kv *kv = NULL;
		size_t n = 0, k;
		if (load_kv(cfg, map, what, &kv, &n, err) != RC_OK)
			return RC_CONFIG;
		r->map_from = xcalloc(n + 1, sizeof(char *));
		r->map_to = xcalloc(n + 1, sizeof(char *));
		for (k = 0; k < n; k++) {
			r->map_from[k] = kv[k].k;
			r->map_to[k] = kv[k].v;
		}
		r->nmap = n;
		free(kv);
	}
	if (cf == NULL)
		return RC_OK;
	if (!jn_is_array(cf)) {
		where(cfg, cf, what, err);
		buf_adds(err, "\"confirm\" must be a list of the map's keys");
		return RC_CONFIG;
	}
	JN_EACH(it, cf) {
		size_t k;
		int found = 0;
		for (k = 0; jn_is_string(it) && k < r->nmap; k++)
			if (strcmp(r->map_from[k], jn_string(it)) == 0)
				found = 1;
		if (!found) {
			where(cfg, it, what, err);
			buf_adds(err, "\"confirm\" names ");
			if (jn_is_string(it)) {
				buf_addc(err, '"');
				text_escape(err, jn_string(it), strlen(jn_string(it)));
				buf_adds(err, "\", which is not a key of \"map\"");
			} else
				buf_adds(err, "a value that is not a string");
			return RC_CONFIG;
		}
		r->confirm = xrealloc(r->confirm, (r->nconfirm + 1) * sizeof(char *));
		r->confirm[r->nconfirm++] = xstrdup(jn_string(it));
	}
	return RC_OK;
}

static enum rc
load_rule(const struct config *cfg, const struct jnode *f, size_t i, struct map_rule *r, struct buf *err)
{
	char what[64];
	const char *from, *constant;

	snprintf(what, sizeof(what), "fields[%zu]", i);
	r->line = jn_line(&cfg->lines, f);
	if (!jn_is_object(f)) {
		where(cfg, f, what, err);
		buf_adds(err, "expected an object {from, to, owner}");
		return RC_CONFIG;
	}
	if (rule_check_keys(cfg, f, what, err) != RC_OK || rule_target(cfg, f, what, r, err) != RC_OK)
		return RC_CONFIG;
	from = jn_str(f, "from");
	constant = jn_str(f, "constant");
	r->to = xstrdup(jn_str(f, "to"));
	r->from = from ? xstrdup(from) : NULL;
	r->constant = constant ? xstrdup(constant) : NULL;
	if (rule_owner(cfg, f, what, r, err) != RC_OK)
		return RC_CONFIG;
	return rule_map(cfg, f, what, r, err);
}

enum rc
mapping_load(struct mapping *m, const struct config *cfg, struct buf *err)
{
	const struct jnode *fields = cfg_json(cfg, OPT_FIELDS), *st = cfg_json(cfg, OPT_STAGE_TAGS), *f;
	size_t i = 0, j;
	enum rc rc = RC_OK;

	memset(m, 0, sizeof(*m));
	m->region = cfg_str(cfg, OPT_PHONE_DEFAULT_REGION);
	m->rules = xcalloc(jn_count(fields) + 1, sizeof(*m->rules));
	/* every rule's error at once, one line each */
	JN_EACH(f, fields) {
		struct buf one = BUF_INIT;
		if (load_rule(cfg, f, i, &m->rules[i], &one) != RC_OK) {
			if (err->len > 0)
				buf_addc(err, '\n');
			buf_adds(err, one.p ? one.p : "invalid rule");
			rc = RC_CONFIG;
		}
		buf_free(&one);
		i++;
	}
	m->n = i;
	if (rc != RC_OK)
		goto fail;
	/* one rule per target: two would fight over the same Keap field */
	for (i = 0; i < m->n; i++)
		for (j = i + 1; j < m->n; j++)
			if (strcmp(m->rules[i].to, m->rules[j].to) == 0) {
				buf_addf(err, "%s:%d: fields[%zu]: \"%s\" is already the target of fields[%zu] "
				    "(line %d)", cfg->path ? cfg->path : "(config)", m->rules[j].line, j,
				    m->rules[j].to, i, m->rules[i].line);
				rc = RC_CONFIG;
				goto fail;
			}
	if (st != NULL) {
		const char *cat = jn_str(st, "category");
		const struct jnode *it;
		JN_EACH(it, st)
			if (strcmp(jn_key(it), "category") != 0 && strcmp(jn_key(it), "by_status") != 0 &&
			    strcmp(jn_key(it), "by_stage") != 0) {
				where(cfg, it, "stage_tags", err);
				buf_addf(err, "unknown key \"%s\" (category, by_status, by_stage)", jn_key(it));
				did_you_mean(err, jn_key(it), "category|by_status|by_stage");
				rc = RC_CONFIG;
				goto fail;
			}
		if (cat == NULL || *cat == '\0') {
			where(cfg, st, "stage_tags", err);
			buf_adds(err, "\"category\" (the Keap tag category) is required");
			rc = RC_CONFIG;
			goto fail;
		}
		m->tag_category = xstrdup(cat);
		if ((rc = load_kv(cfg, jn_get(st, "by_status"), "stage_tags.by_status", &m->by_status,
		    &m->nby_status, err)) != RC_OK ||
		    (rc = load_kv(cfg, jn_get(st, "by_stage"), "stage_tags.by_stage", &m->by_stage,
		    &m->nby_stage, err)) != RC_OK)
			goto fail;
		for (i = 0; i < m->nby_status; i++) {
			enum norm_status ns;
			if (norm_status(m->by_status[i].k, &ns) != 0) {
				where(cfg, jn_get(jn_get(st, "by_status"), m->by_status[i].k),
				    "stage_tags.by_status", err);
				buf_addf(err, "\"%s\" is not a status (active, rejected, hired, withdrawn, "
				    "archived)", m->by_status[i].k);
				did_you_mean(err, m->by_status[i].k, "active|rejected|hired|withdrawn|archived");
				rc = RC_CONFIG;
				goto fail;
			}
		}
	}
	return RC_OK;
fail:
	mapping_free(m);
	return rc;
}

