/* snap.c — see snap.h. */
#define _POSIX_C_SOURCE 200809L
#include "snap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "json.h"
#include "log.h"
#include "norm.h"

void
snap_ats_key(const struct candidate *c, struct buf *out)
{
	buf_reset(out);
	buf_adds(out, c->ats ? c->ats : "ats");
	buf_addc(out, ':');
	buf_adds(out, c->id ? c->id : "");
}

/* A key of the link or stamp records: one character, maybe a colon, then id
 * (built without printf: these are made once or more per candidate). */
static void
tagged_key(struct buf *out, const char *tag, const char *id)
{
	buf_reset(out);
	buf_adds(out, tag);
	buf_adds(out, id);
}

enum rc
snap_put_candidate(struct state *st, const struct candidate *c, int *changed)
{
	struct buf key, enc;
	char karr[256], earr[1024];	/* a usual key and record: no allocation */
	unsigned char head[CODEC_HEADER];
	size_t len = 0;
	enum rc rc;

	buf_on(&key, karr, sizeof(karr));
	buf_on(&enc, earr, sizeof(earr));
	snap_ats_key(c, &key);
	codec_candidate_encode(c, &enc);
	/* the stored record's header holds its hash: the record itself is not copied */
	rc = state_get_head(st, DB_ATS, key.p, head, sizeof(head), &len);
	*changed = rc != RC_OK || codec_record_hash(head, len < sizeof(head) ? len : sizeof(head)) !=
	    codec_record_hash(enc.p, enc.len);
	rc = *changed ? state_put(st, DB_ATS, key.p, enc.p, enc.len) : RC_OK;
	buf_free(&key);
	buf_free(&enc);
	return rc;
}

enum rc
snap_get_candidate(struct state *st, const char *ats_key, struct candidate *out)
{
	struct buf v = BUF_INIT;
	enum rc rc = state_get(st, DB_ATS, ats_key, &v);

	if (rc == RC_OK && codec_candidate_decode(v.p, v.len, out) != 0) {
		log_error("snap", "the snapshot record of %s cannot be decoded", ats_key);
		rc = RC_STATE;
	}
	buf_free(&v);
	return rc;
}

enum rc
snap_forget_candidate(struct state *st, const char *ats_key)
{
	return state_del(st, DB_ATS, ats_key);
}

/* Adds id to the comma-separated list stored under key in db (once). */
static enum rc
index_add(struct state *st, enum state_db db, const char *key, const char *id)
{
	struct buf v = BUF_INIT;
	enum rc rc = state_get(st, db, key, &v);
	const char *p;
	size_t idl = strlen(id);

	if (rc != RC_OK && rc != RC_RECORD)
		goto out;
	for (p = v.p; rc == RC_OK && p != NULL && *p != '\0'; ) {
		size_t n = strcspn(p, ",");
		if (n == idl && strncmp(p, id, n) == 0) {
			rc = RC_OK;
			goto out;
		}
		p += n;
		if (*p == ',')
			p++;
	}
	if (v.len > 0)
		buf_addc(&v, ',');
	buf_adds(&v, id);
	rc = state_put(st, db, key, v.p, v.len);
out:
	buf_free(&v);
	return rc;
}

static enum rc
index_remove(struct state *st, enum state_db db, const char *key, const char *id)
{
	struct buf v = BUF_INIT, out = BUF_INIT;
	enum rc rc = state_get(st, db, key, &v);
	const char *p;
	size_t idl = strlen(id);

	if (rc == RC_RECORD) {
		rc = RC_OK;
		goto done;
	}
	if (rc != RC_OK)
		goto done;
	for (p = v.p; *p != '\0'; ) {
		size_t n = strcspn(p, ",");
		if (!(n == idl && strncmp(p, id, n) == 0)) {
			if (out.len > 0)
				buf_addc(&out, ',');
			buf_add(&out, p, n);
		}
		p += n;
		if (*p == ',')
			p++;
	}
	rc = out.len > 0 ? state_put(st, db, key, out.p, out.len) : state_del(st, db, key);
done:
	buf_free(&v);
	buf_free(&out);
	return rc;
}

static void
keys_free(char **emails, size_t n, char *ext)
{
	strv_free(emails, n);
	free(ext);
}

static uint64_t
get_u64(const char *p)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v |= (uint64_t)(unsigned char)p[i] << (8 * i);
	return v;
}

/* The contact's normalised emails and its external id. */
static void
contact_keys(const struct contact *contact, const char *custom_field_id, char ***emails, size_t *n,
    char **ext)
{
	struct buf b = BUF_INIT;
	size_t i;

	*emails = NULL;
	*n = 0;
	*ext = NULL;
	for (i = 0; i < contact->emails.n; i++)
		if (norm_email(contact->emails.v[i].value, &b) == NORM_OK) {
			*emails = xrealloc(*emails, (*n + 1) * sizeof(char *));
			(*emails)[(*n)++] = xstrdup(b.p);
		}
	contact_extid(contact, custom_field_id, &b);
	if (b.len > 0)
		*ext = xstrdup(b.p);
	buf_free(&b);
}

enum rc
snap_contact_extid(struct state *st, const char *contact_id, const char *custom_field_id,
    struct buf *value)
{
	struct contact ct;
	enum rc rc = snap_get_contact(st, contact_id, &ct);

	buf_reset(value);
	if (rc != RC_OK)
		return rc;
	contact_extid(&ct, custom_field_id, value);
	contact_free(&ct);
	return RC_OK;
}

/* A record: the 8-byte content hash, then the contact (codec.c; before
 * issue 17, its compact JSON as Keap sent it: still read). */
enum rc
snap_get_contact(struct state *st, const char *id, struct contact *out)
{
	struct buf v = BUF_INIT, err = BUF_INIT;
	enum rc rc = state_get(st, DB_KEAP, id, &v);
	int bad;

	memset(out, 0, sizeof(*out));
	if (rc != RC_OK)
		goto done;
	if (v.len < 9) {
		rc = RC_STATE;
		goto done;
	}
	if (v.p[8] == '{') {
		bad = contact_from_json(v.p + 8, v.len - 8, out, &err) != RC_OK;
		if (!bad)
			out->hash = codec_fnv1a(v.p + 8, v.len - 8);	/* what it was stored under */
	} else
		bad = codec_contact_decode(v.p + 8, v.len - 8, out) != 0;
	if (bad) {
		log_error("snap", "the snapshot of contact %s cannot be read%s%s", id,
		    err.len ? ": " : "", err.len ? err.p : "");
		rc = RC_STATE;
	}
done:
	buf_free(&v);
	buf_free(&err);
	return rc;
}

enum rc
snap_del_contact(struct state *st, const char *id, const char *custom_field_id)
{
	struct contact old;
	char **emails, *ext, *key;
	size_t n, i;
	enum rc rc = snap_get_contact(st, id, &old);

	if (rc == RC_RECORD)
		return RC_OK;
	if (rc != RC_OK)
		return rc;
	contact_keys(&old, custom_field_id, &emails, &n, &ext);
	for (i = 0; i < n && rc == RC_OK; i++)
		rc = index_remove(st, DB_EMAIL, emails[i], id);
	if (rc == RC_OK && ext != NULL) {
		key = xasprintf("x:%s", ext);
		rc = state_del(st, DB_LINK, key);
		free(key);
	}
	if (rc == RC_OK)
		rc = state_del(st, DB_KEAP, id);
	keys_free(emails, n, ext);
	contact_free(&old);
	return rc;
}

enum rc
snap_put_contact(struct state *st, const struct contact *contact, const char *custom_field_id,
    int *changed)
{
	char **emails, *ext, *key;
	const char *id = contact->id;
	struct buf rec = BUF_INIT, old = BUF_INIT;
	uint64_t h = contact->hash;
	size_t n, i;
	unsigned char hb[8];
	enum rc rc;

	if (id == NULL || *id == '\0') {
		log_warn("snap", "a Keap contact without an id was skipped");
		return RC_RECORD;
	}
	rc = state_get(st, DB_KEAP, id, &old);
	*changed = rc != RC_OK || old.len < 8 || get_u64(old.p) != h;
	rc = RC_OK;
	if (*changed) {
		/* drop the old record's index entries, then write the new ones */
		if ((rc = snap_del_contact(st, id, custom_field_id)) != RC_OK)
			goto out;
		for (i = 0; i < 8; i++)
			hb[i] = (unsigned char)(h >> (8 * i));
		buf_add(&rec, hb, 8);
		codec_contact_encode(contact, &rec);
		if ((rc = state_put(st, DB_KEAP, id, rec.p, rec.len)) != RC_OK)
			goto out;
		contact_keys(contact, custom_field_id, &emails, &n, &ext);
		for (i = 0; i < n && rc == RC_OK; i++)
			rc = index_add(st, DB_EMAIL, emails[i], id);
		if (rc == RC_OK && ext != NULL) {
			key = xasprintf("x:%s", ext);
			rc = state_put(st, DB_LINK, key, id, strlen(id));
			free(key);
		}
		keys_free(emails, n, ext);
	}
out:
	buf_free(&rec);
	buf_free(&old);
	return rc;
}

enum rc
snap_contact_tag(struct state *st, const char *id, const char *tag_id, int apply,
    const char *custom_field_id)
{
	struct contact c;
	struct buf rec = BUF_INIT;
	int changed;
	enum rc rc = snap_get_contact(st, id, &c);

	if (rc != RC_OK)
		return rc;
	if (contact_set_tag(&c, tag_id, apply)) {
		/* no longer what Keap last sent: a new hash, so a plan made against
		 * the old record does not apply, and the next listing rewrites it */
		codec_contact_encode(&c, &rec);
		c.hash = codec_fnv1a(rec.p, rec.len);
		rc = snap_put_contact(st, &c, custom_field_id, &changed);
	}
	buf_free(&rec);
	contact_free(&c);
	return rc;
}

enum rc
snap_link(struct state *st, const char *ats_key, const char *contact_id)
{
	char *a = xasprintf("a:%s", ats_key), *c = xasprintf("c:%s", contact_id);
	enum rc rc = state_put(st, DB_LINK, a, contact_id, strlen(contact_id));

	if (rc == RC_OK)
		rc = state_put(st, DB_LINK, c, ats_key, strlen(ats_key));
	free(a);
	free(c);
	return rc;
}

enum rc
snap_unlink(struct state *st, const char *ats_key)
{
	struct buf cid = BUF_INIT, back = BUF_INIT;
	char *a = xasprintf("a:%s", ats_key), *c = NULL;
	enum rc rc = state_get(st, DB_LINK, a, &cid);

	if (rc == RC_OK) {
		c = xasprintf("c:%s", cid.p);
		/* the contact may already follow someone else (a merge's survivor) */
		if (state_get(st, DB_LINK, c, &back) == RC_OK && strcmp(back.p, ats_key) == 0)
			rc = state_del(st, DB_LINK, c);
		if (rc == RC_OK)
			rc = state_del(st, DB_LINK, a);
	} else if (rc == RC_RECORD)
		rc = RC_OK;
	free(a);
	free(c);
	buf_free(&cid);
	buf_free(&back);
	return rc;
}

enum rc
snap_linked(struct state *st, const char *ats_key, struct buf *contact_id)
{
	struct buf a = BUF_INIT;
	enum rc rc;

	tagged_key(&a, "a:", ats_key);
	rc = state_get(st, DB_LINK, a.p, contact_id);
	buf_free(&a);
	return rc;
}

void
snap_ids_free(char **ids, size_t n)
{
	strv_free(ids, n);
}

static void
push_unique(char ***ids, size_t *n, const char *id, size_t len)
{
	size_t i;

	for (i = 0; i < *n; i++)
		if (strlen((*ids)[i]) == len && strncmp((*ids)[i], id, len) == 0)
			return;
	*ids = xrealloc(*ids, (*n + 1) * sizeof(char *));
	(*ids)[(*n)++] = xstrndup(id, len);
}

enum rc
snap_match(struct state *st, const char *ats_key, char *const *ext_ids, size_t n_ext,
    const struct candidate *c, int by_email, char ***ids, size_t *n, size_t *nbyid,
    const char **how)
{
	struct buf v = BUF_INIT;
	enum rc rc;
	size_t i, e;

	*ids = NULL;
	*n = 0;
	*nbyid = 0;
	*how = NULL;
	rc = snap_linked(st, ats_key, &v);
	if (rc == RC_OK) {
		uint64_t h;
		/* a link to a contact that is gone from Keap is no match (its header
		 * is read, not the record: the caller reads the contact it picks) */
		if (snap_contact_hash(st, v.p, &h) == RC_OK) {
			push_unique(ids, n, v.p, v.len);
			*how = "link";
		}
	} else if (rc != RC_RECORD)
		goto out;
	for (e = 0; e < n_ext; e++) {
		char *k = xasprintf("x:%s", ext_ids[e]);
		buf_reset(&v);
		rc = state_get(st, DB_LINK, k, &v);
		free(k);
		if (rc == RC_OK) {
			push_unique(ids, n, v.p, v.len);
			if (*how == NULL)
				*how = "external_id";
		} else if (rc != RC_RECORD)
			goto out;
	}
	*nbyid = *n;
	for (i = 0; by_email && i < c->nemails; i++) {
		const char *p;
		buf_reset(&v);
		rc = state_get(st, DB_EMAIL, c->emails[i], &v);
		if (rc == RC_RECORD)
			continue;
		if (rc != RC_OK)
			goto out;
		for (p = v.p; *p != '\0'; ) {
			size_t len = strcspn(p, ",");
			push_unique(ids, n, p, len);
			if (*how == NULL)
				*how = "email";
			p += len;
			if (*p == ',')
				p++;
		}
	}
	rc = RC_OK;
out:
	buf_free(&v);
	return rc;
}

void
snap_get_base(struct state *st, const char *ats_key, struct strpairs *out)
{
	struct buf v = BUF_INIT;

	memset(out, 0, sizeof(*out));
	if (state_get(st, DB_BASE, ats_key, &v) == RC_OK)
		json_strpairs_parse(&v, out);
	buf_free(&v);
}

enum rc
snap_put_base(struct state *st, const char *ats_key, const struct strpairs *base)
{
	struct buf text = BUF_INIT;
	enum rc rc;

	json_strpairs_print(base, &text);
	rc = state_put(st, DB_BASE, ats_key, text.p, text.len);
	buf_free(&text);
	return rc;
}

/* ------------------------------------------------------------ stamps */

static void
put_u64(struct buf *b, uint64_t v)
{
	char x[8];
	int i;

	for (i = 0; i < 8; i++)
		x[i] = (char)(v >> (8 * i));
	buf_add(b, x, 8);
}


enum rc
snap_put_stamp(struct state *st, const char *ats_key, const struct snap_stamp *sp)
{
	struct buf v = BUF_INIT;
	char *k = xasprintf("#%s", ats_key);
	enum rc rc;

	put_u64(&v, sp->cand);
	put_u64(&v, sp->contact);
	put_u64(&v, sp->env);
	put_u64(&v, sp->opinions);
	buf_add(&v, sp->stage, strlen(sp->stage) + 1);
	buf_add(&v, sp->job, strlen(sp->job) + 1);
	buf_add(&v, sp->emails, strlen(sp->emails) + 1);
	rc = state_put(st, DB_BASE, k, v.p, v.len);
	free(k);
	buf_free(&v);
	return rc;
}

enum rc
snap_del_stamp(struct state *st, const char *ats_key)
{
	char *k = xasprintf("#%s", ats_key);
	enum rc rc = state_del(st, DB_BASE, k);

	free(k);
	return rc;
}

/* Both read the record's header only (the hash it starts with). */
enum rc
snap_candidate_hash(struct state *st, const char *ats_key, uint64_t *hash)
{
	unsigned char head[CODEC_HEADER];
	size_t len = 0;
	enum rc rc = state_get_head(st, DB_ATS, ats_key, head, sizeof(head), &len);

	*hash = rc == RC_OK ? codec_record_hash(head, len < sizeof(head) ? len : sizeof(head)) : 0;
	return rc;
}

enum rc
snap_contact_hash(struct state *st, const char *id, uint64_t *hash)
{
	char head[8];
	size_t len = 0;
	enum rc rc = state_get_head(st, DB_KEAP, id, head, sizeof(head), &len);

	*hash = rc == RC_OK && len >= 8 ? get_u64(head) : 0;
	return rc;
}

/* tag followed by id in out (size bytes): 0, or -1 when it does not fit. */
static int
small_key(char *out, size_t size, const char *tag, const char *id)
{
	size_t t = strlen(tag), n = strlen(id);

	if (t + n + 1 > size)
		return -1;
	memcpy(out, tag, t);
	memcpy(out + t, id, n + 1);
	return 0;
}

/*
 * Called for every candidate of a full sweep (twice: reconcile and accuracy),
 * so it reads into fixed buffers, never copying a whole record or allocating:
 * the stamp is at most 32 + 128 + 128 + 256 bytes (snap_put_stamp writes the
 * fields of struct snap_stamp), a contact id and an email index entry that
 * names one contact are short. Anything longer does not hold (a full compare).
 */
int
snap_stamp_get(struct state *st, const char *ats_key, uint64_t cand_hash, uint64_t env,
    struct snap_stamp *out)
{
	char k[512], v[600];
	size_t vlen = 0, n1, n2;

	if (small_key(k, sizeof(k), "#", ats_key) != 0 ||
	    state_get_head(st, DB_BASE, k, v, sizeof(v), &vlen) != RC_OK || vlen < 34 ||
	    vlen > sizeof(v))
		return 0;
	out->cand = get_u64(v);
	out->contact = get_u64(v + 8);
	out->env = get_u64(v + 16);
	out->opinions = get_u64(v + 24);
	if (out->cand != cand_hash || out->env != env)
		return 0;
	n1 = strnlen(v + 32, vlen - 32);
	if (32 + n1 + 1 >= vlen || n1 >= sizeof(out->stage))
		return 0;
	memcpy(out->stage, v + 32, n1 + 1);
	n2 = strnlen(v + 33 + n1, vlen - 33 - n1);
	if (33 + n1 + n2 >= vlen)
		return 0;	/* no NUL after the job: not a record snap_put_stamp wrote */
	str_copy(out->job, sizeof(out->job), v + 33 + n1);
	if (34 + n1 + n2 >= vlen)
		out->emails[0] = '\0';
	else if (memchr(v + 34 + n1 + n2, '\0', vlen - 34 - n1 - n2) == NULL)
		return 0;
	else
		str_copy(out->emails, sizeof(out->emails), v + 34 + n1 + n2);
	return 1;
}

int
snap_stamp_holds(struct state *st, const char *ats_key, uint64_t cand_hash, uint64_t env,
    struct snap_stamp *out)
{
	char k[512], cid[128], ids[128];
	const char *e;
	uint64_t ch;
	size_t clen = 0;

	if (!snap_stamp_get(st, ats_key, cand_hash, env, out) ||
	    small_key(k, sizeof(k), "a:", ats_key) != 0 ||
	    state_get_head(st, DB_LINK, k, cid, sizeof(cid) - 1, &clen) != RC_OK || clen >= sizeof(cid))
		return 0;
	cid[clen] = '\0';
	if (snap_contact_hash(st, cid, &ch) != RC_OK || ch != out->contact)
		return 0;
	for (e = out->emails; *e != '\0'; ) {
		size_t n = strcspn(e, "\n"), ilen = 0;
		char em[sizeof(out->emails)];
		memcpy(em, e, n);
		em[n] = '\0';
		/* the email leads to the linked contact alone */
		if (state_get_head(st, DB_EMAIL, em, ids, sizeof(ids), &ilen) != RC_OK || ilen != clen ||
		    memcmp(ids, cid, clen) != 0)
			return 0;
		e += n + (e[n] == '\n');
	}
	return 1;
}

/* ------------------------------------------------------ the run's records */

enum rc
snap_failed_get(struct state *st, const char *ats_key, int64_t *attempts, struct buf *last_error)
{
	struct buf v = BUF_INIT;
	enum rc rc = state_get(st, DB_FAILED, ats_key, &v);

	*attempts = 0;
	if (rc != RC_OK) {
		buf_free(&v);
		return rc;
	}
	*attempts = json_record_int(&v, "attempts");
	if (last_error != NULL && json_record_str(&v, "last_error", last_error) != 0)
		buf_reset(last_error);
	buf_free(&v);
	return RC_OK;
}

enum rc
snap_failed_put(struct state *st, const char *ats_key, int64_t attempts, const char *last_error)
{
	struct buf v = BUF_INIT;
	enum rc rc;

	buf_addf(&v, "{\"attempts\":%lld", (long long)attempts);
	if (last_error != NULL) {
		buf_adds(&v, ",\"last_error\":");
		json_escape(&v, last_error, strlen(last_error));
	}
	buf_adds(&v, "}");
	rc = state_put(st, DB_FAILED, ats_key, v.p, v.len);
	buf_free(&v);
	return rc;
}

enum rc
snap_failed_del(struct state *st, const char *ats_key)
{
	return state_del(st, DB_FAILED, ats_key);
}

int
snap_failed_has(struct state *st, const char *ats_key)
{
	struct buf v = BUF_INIT;
	int has = state_get(st, DB_FAILED, ats_key, &v) == RC_OK;

	buf_free(&v);
	return has;
}

struct failed_each {
	snap_failed_fn fn;
	void *arg;
};

static enum rc
failed_one(void *arg, const char *key, size_t klen, const void *val, size_t vlen)
{
	struct failed_each *fe = arg;
	struct buf rec = BUF_INIT, last = BUF_INIT;
	enum rc rc;

	(void)klen;
	buf_add(&rec, val, vlen);
	rc = fe->fn(fe->arg, key, json_record_int(&rec, "attempts"),
	    json_record_str(&rec, "last_error", &last) == 0 ? last.p : NULL);
	buf_free(&rec);
	buf_free(&last);
	return rc;
}

enum rc
snap_failed_each(struct state *st, snap_failed_fn fn, void *arg)
{
	struct failed_each fe = { fn, arg };

	return state_each(st, DB_FAILED, NULL, failed_one, &fe);
}

int64_t
snap_meta_get_int(struct state *st, const char *name)
{
	struct buf v = BUF_INIT;
	int64_t n = 0;

	if (state_get(st, DB_META, name, &v) == RC_OK && parse_i64(v.p, &n) != 0)
		n = 0;
	buf_free(&v);
	return n;
}

enum rc
snap_meta_put_int(struct state *st, const char *name, int64_t n)
{
	char v[32];

	snprintf(v, sizeof(v), "%lld", (long long)n);
	return state_put(st, DB_META, name, v, strlen(v));
}

enum rc
snap_meta_get(struct state *st, const char *name, struct buf *value)
{
	return state_get(st, DB_META, name, value);
}

enum rc
snap_meta_put(struct state *st, const char *name, const char *value)
{
	return state_put(st, DB_META, name, value, strlen(value));
}

enum rc
snap_run_put(struct state *st, const char *run_id, const char *record, size_t len)
{
	return state_put(st, DB_RUNS, run_id, record, len);
}

struct run_each {
	snap_run_fn fn;
	void *arg;
};

static enum rc
run_one(void *arg, const char *key, size_t klen, const void *val, size_t vlen)
{
	struct run_each *re = arg;

	(void)key;
	(void)klen;
	return re->fn(re->arg, val, vlen);
}

enum rc
snap_run_each(struct state *st, snap_run_fn fn, void *arg)
{
	struct run_each re = { fn, arg };

	return state_each(st, DB_RUNS, NULL, run_one, &re);
}

struct keys {
	char **v;
	size_t n;
};

static enum rc
key_one(void *arg, const char *key, size_t klen, const void *val, size_t vlen)
{
	struct keys *k = arg;

	(void)val;
	(void)vlen;
	k->v = xrealloc(k->v, (k->n + 1) * sizeof(char *));
	k->v[k->n++] = xstrndup(key, klen);
	return RC_OK;
}

enum rc
snap_journal_clear(struct state *st, size_t *n)
{
	struct keys k = { NULL, 0 };
	size_t i;
	enum rc rc = state_each(st, DB_JOURNAL, NULL, key_one, &k);

	*n = k.n;
	for (i = 0; i < k.n && rc == RC_OK; i++)
		rc = state_del(st, DB_JOURNAL, k.v[i]);
	snap_ids_free(k.v, k.n);
	return rc;
}

enum rc
snap_batch_begin(struct state *st)
{
	return state_batch_begin(st);
}

enum rc
snap_batch_commit(struct state *st)
{
	return state_batch_commit(st);
}

void
snap_batch_abort(struct state *st)
{
	state_batch_abort(st);
}

enum rc
snap_candidates_each(struct state *st, state_each_fn fn, void *arg)
{
	return state_each(st, DB_ATS, NULL, fn, arg);
}

enum rc
snap_candidates_page(struct state *st, const char *after, size_t max, state_each_fn fn, void *arg,
    size_t *visited)
{
	return state_each_page(st, DB_ATS, after, max, fn, arg, visited);
}

int
snap_has_candidate(struct state *st, const char *ats_key)
{
	struct buf v = BUF_INIT;
	int has = state_get(st, DB_ATS, ats_key, &v) == RC_OK;

	buf_free(&v);
	return has;
}

enum rc
snap_contacts_each(struct state *st, state_each_fn fn, void *arg)
{
	return state_each(st, DB_KEAP, NULL, fn, arg);
}

enum rc
snap_contact_linked(struct state *st, const char *contact_id, struct buf *ats_key)
{
	char *k = xasprintf("c:%s", contact_id);
	enum rc rc;

	buf_reset(ats_key);
	rc = state_get(st, DB_LINK, k, ats_key);
	free(k);
	return rc;
}

static enum rc
count_one(void *arg, const char *key, size_t klen, const void *val, size_t vlen)
{
	(void)key;
	(void)klen;
	(void)val;
	(void)vlen;
	++*(size_t *)arg;
	return RC_OK;
}

size_t
snap_count_linked(struct state *st)
{
	size_t n = 0;

	state_each(st, DB_LINK, "a:", count_one, &n);
	return n;
}

struct extid_each {
	snap_extid_fn fn;
	void *arg;
};

static enum rc
extid_one(void *arg, const char *key, size_t klen, const void *val, size_t vlen)
{
	struct extid_each *xe = arg;
	char *cid = xstrndup(val, vlen);
	enum rc rc;

	(void)klen;
	rc = xe->fn(xe->arg, key + 2, cid);
	free(cid);
	return rc;
}

enum rc
snap_extid_each(struct state *st, snap_extid_fn fn, void *arg)
{
	struct extid_each xe = { fn, arg };

	return state_each(st, DB_LINK, "x:", extid_one, &xe);
}

enum rc
snap_email_contacts(struct state *st, const char *email, char ***ids, size_t *n)
{
	struct buf v = BUF_INIT;
	const char *p;
	enum rc rc = state_get(st, DB_EMAIL, email, &v);

	*ids = NULL;
	*n = 0;
	if (rc == RC_OK)
		for (p = v.p; *p != '\0'; ) {
			size_t len = strcspn(p, ",");
			push_unique(ids, n, p, len);
			p += len;
			if (*p == ',')
				p++;
		}
	buf_free(&v);
	return rc == RC_RECORD ? RC_OK : rc;
}
