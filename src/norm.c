/* norm.c — see norm.h and docs/normalisation.md. Pure functions only. */
#define _POSIX_C_SOURCE 200809L
#include "norm.h"

#include <stdio.h>
#include <string.h>

/* ------------------------------------------------------------------------- */
/* Shared text helpers. */

/* Leaves b holding "" with p != NULL. */
static void
out_clear(struct buf *b)
{
	buf_reset(b);
	buf_add(b, "", 0);
}

/*
 * The common gate: NULL → NORM_EMPTY; longer than NORM_MAX_INPUT or invalid
 * UTF-8 → NORM_INVALID; otherwise NORM_OK with *len set.
 */
static enum norm_res
gate(const char *in, size_t *len)
{
	size_t n;

	if (in == NULL)
		return NORM_EMPTY;
	n = strnlen(in, NORM_MAX_INPUT + 1);
	if (n > NORM_MAX_INPUT || !utf8_valid(in, n))
		return NORM_INVALID;
	*len = n;
	return NORM_OK;
}

/* Length of the whitespace character at s (n bytes left, valid UTF-8), or 0.
 * ASCII: HT LF VT FF CR SP. Unicode White_Space: U+0085, U+00A0, U+1680,
 * U+2000..U+200A, U+2028, U+2029, U+202F, U+205F, U+3000. */
static size_t
ws_len(const unsigned char *s, size_t n)
{
	if (n == 0)
		return 0;
	if (s[0] == ' ' || (s[0] >= '\t' && s[0] <= '\r'))
		return 1;
	if (n >= 2 && s[0] == 0xc2 && (s[1] == 0x85 || s[1] == 0xa0))
		return 2;
	if (n < 3)
		return 0;
	if (s[0] == 0xe1 && s[1] == 0x9a && s[2] == 0x80)
		return 3;
	if (s[0] == 0xe2 && s[1] == 0x80 &&
	    ((s[2] >= 0x80 && s[2] <= 0x8a) || s[2] == 0xa8 || s[2] == 0xa9 || s[2] == 0xaf))
		return 3;
	if (s[0] == 0xe2 && s[1] == 0x81 && s[2] == 0x9f)
		return 3;
	if (s[0] == 0xe3 && s[1] == 0x80 && s[2] == 0x80)
		return 3;
	return 0;
}

/* A control character that is not whitespace: C0, DEL, C1 (but NEL). */
static int
is_ctl(const unsigned char *s, size_t n)
{
	if (s[0] < 0x20 || s[0] == 0x7f)
		return ws_len(s, n) == 0;
	return n >= 2 && s[0] == 0xc2 && s[1] >= 0x80 && s[1] <= 0x9f && s[1] != 0x85;
}

/* Length of one character at s: a valid UTF-8 sequence, else 1 (never 0). */
static size_t
char_len(const unsigned char *s, size_t n)
{
	size_t k = utf8_seq(s, n);

	return k ? k : 1;
}

/* Narrows [*s, *s + *n) to exclude leading and trailing whitespace. */
static void
trim(const char **s, size_t *n)
{
	const unsigned char *p = (const unsigned char *)*s;
	size_t i = 0, k, end = 0, start = *n;

	while (i < *n) {
		if ((k = ws_len(p + i, *n - i)) != 0) {
			i += k;
			continue;
		}
		if (start == *n)
			start = i;
		i += char_len(p + i, *n - i);
		end = i;
	}
	if (start == *n) {
		*n = 0;
		return;
	}
	*s += start;
	*n = end - start;
}

static int
is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static int
is_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int
lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

/* Case-insensitive ASCII prefix test on a counted string. */
static int
has_prefix_ci(const char *s, size_t n, const char *prefix)
{
	size_t i, k = strlen(prefix);

	if (k > n)
		return 0;
	for (i = 0; i < k; i++)
		if (lower((unsigned char)s[i]) != lower((unsigned char)prefix[i]))
			return 0;
	return 1;
}

/* ------------------------------------------------------------------------- */
/* Free text and names. */

enum norm_res
norm_text(const char *in, struct buf *out)
{
	const unsigned char *p;
	size_t n = 0, i = 0, k;
	enum norm_res r;
	int space = 0;

	out_clear(out);
	if ((r = gate(in, &n)) != NORM_OK)
		return r;
	p = (const unsigned char *)in;
	while (i < n) {
		if ((k = ws_len(p + i, n - i)) != 0) {
			space = out->len > 0;
			i += k;
			continue;
		}
		if (is_ctl(p + i, n - i)) {
			out_clear(out);
			return NORM_INVALID;
		}
		if (space)
			buf_addc(out, ' ');
		space = 0;
		k = char_len(p + i, n - i);
		buf_add(out, p + i, k);
		i += k;
	}
	return out->len == 0 ? NORM_EMPTY : NORM_OK;
}

enum norm_res
norm_split_name(const char *full, struct buf *first, struct buf *last)
{
	enum norm_res r;
	char *sp;

	out_clear(last);
	if ((r = norm_text(full, first)) != NORM_OK)
		return r;
	if ((sp = strchr(first->p, ' ')) != NULL) {
		buf_adds(last, sp + 1);
		first->len = (size_t)(sp - first->p);
		first->p[first->len] = '\0';
	}
	return NORM_OK;
}

/* ------------------------------------------------------------------------- */
/* Email. */

/* RFC 5322 atext, the set the HTML living standard also uses for <input type=email>. */
static int
is_atext(int c)
{
	return is_alpha(c) || is_digit(c) || (c != 0 && strchr("!#$%&'*+/=?^_`{|}~-", c) != NULL);
}

static int
valid_local(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > 64 || s[0] == '.' || s[n - 1] == '.')
		return 0;
	for (i = 0; i < n; i++) {
		if (s[i] == '.') {
			if (s[i + 1] == '.')
				return 0;
		} else if (!is_atext((unsigned char)s[i]))
			return 0;
	}
	return 1;
}

static int
valid_domain(const char *s, size_t n)
{
	size_t i, start = 0, labels = 0, k;
	int alpha = 0;

	if (n == 0 || n > 253)
		return 0;
	for (i = 0; i <= n; i++) {
		if (i < n && s[i] != '.') {
			if (!is_alpha((unsigned char)s[i]) && !is_digit((unsigned char)s[i]) &&
			    s[i] != '-')
				return 0;
			continue;
		}
		k = i - start;
		if (k == 0 || k > 63 || s[start] == '-' || s[i - 1] == '-')
			return 0;
		labels++;
		alpha = 0;
		for (k = start; k < i; k++)
			if (!is_digit((unsigned char)s[k]))
				alpha = 1;
		start = i + 1;
	}
	/* alpha now describes the last label: an all-digit TLD is an IP address. */
	return labels >= 2 && alpha;
}

enum norm_res
norm_email(const char *in, struct buf *out)
{
	const char *s = in, *at;
	size_t n = 0, i;
	enum norm_res r;

	out_clear(out);
	if ((r = gate(in, &n)) != NORM_OK)
		return r;
	trim(&s, &n);
	if (n == 0)
		return NORM_EMPTY;
	if (n > 254)
		return NORM_INVALID;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] <= ' ' || (unsigned char)s[i] >= 0x7f)
			return NORM_INVALID;
	for (i = 0; i < n; i++)
		buf_addc(out, (char)lower((unsigned char)s[i]));
	at = memchr(out->p, '@', n);
	if (at == NULL || memchr(at + 1, '@', n - (size_t)(at - out->p) - 1) != NULL ||
	    !valid_local(out->p, (size_t)(at - out->p)) ||
	    !valid_domain(at + 1, n - (size_t)(at - out->p) - 1)) {
		out_clear(out);
		return NORM_INVALID;
	}
	return NORM_OK;
}

/* The i-th NUL-terminated string of a back-to-back list, or NULL. */
static const char *
list_at(const struct buf *b, size_t count, size_t i)
{
	const char *p;

	if (i >= count || b->p == NULL)
		return NULL;
	p = b->p;
	for (; i > 0; i--)
		p += strlen(p) + 1;
	return p;
}

static int
list_has(const struct buf *b, const char *s)
{
	size_t off = 0;

	while (off < b->len) {
		if (strcmp(b->p + off, s) == 0)
			return 1;
		off += strlen(b->p + off) + 1;
	}
	return 0;
}

static void
list_one(struct norm_email_list *out, const char *in, struct buf *tmp)
{
	switch (norm_email(in, tmp)) {
	case NORM_EMPTY:
		break;
	case NORM_INVALID:
		buf_add(&out->invalid, in, strnlen(in, NORM_MAX_INPUT));
		buf_addc(&out->invalid, '\0');
		out->n_invalid++;
		break;
	case NORM_OK:
		if (list_has(&out->emails, tmp->p))
			break;
		if (out->n >= NORM_EMAILS_MAX) {
			out->n_dropped++;
			break;
		}
		buf_add(&out->emails, tmp->p, tmp->len + 1);
		out->n++;
		break;
	}
}

size_t
norm_email_list(const char *const *in, size_t n, size_t primary, struct norm_email_list *out)
{
	struct buf tmp = BUF_INIT;
	size_t i;

	out_clear(&out->emails);
	out_clear(&out->invalid);
	out->n = out->n_invalid = out->n_dropped = 0;
	if (in == NULL)
		return 0;
	if (primary < n && in[primary] != NULL)
		list_one(out, in[primary], &tmp);
	for (i = 0; i < n; i++)
		if (i != primary && in[i] != NULL)
			list_one(out, in[i], &tmp);
	buf_free(&tmp);
	return out->n_invalid;
}

const char *
norm_email_at(const struct norm_email_list *l, size_t i)
{
	return list_at(&l->emails, l->n, i);
}

const char *
norm_email_invalid_at(const struct norm_email_list *l, size_t i)
{
	return list_at(&l->invalid, l->n_invalid, i);
}

void
norm_email_list_free(struct norm_email_list *l)
{
	buf_free(&l->emails);
	buf_free(&l->invalid);
	l->n = l->n_invalid = l->n_dropped = 0;
}

/* ------------------------------------------------------------------------- */
/* Phone numbers. */

/*
 * Region → calling code, national (trunk) prefixes, length range of the
 * national significant number (NSN: what follows the calling code), and an
 * international call prefix used besides "00". Written for this project from
 * the ITU-T E.164 assignments and the national numbering plans; lengths are
 * deliberately a little generous (plausible, not exact). Regions that share a
 * calling code (+1, +7, +44, +47, +61, +39, +212, +358) are all listed; an
 * international number is accepted when any of them accepts its length.
 */
struct region {
	char iso[3];
	char cc[4];
	const char *trunk;	/* comma-separated, longest first; "" none */
	unsigned char min, max;
	const char *idd;	/* NULL: "00" only */
};

#define NANP(r) { r, "1", "1", 10, 10, "011" }

static const struct region regions[] = {
	/* North American Numbering Plan */
	NANP("US"), NANP("CA"), NANP("PR"), NANP("VI"), NANP("GU"), NANP("AS"), NANP("MP"),
	NANP("AG"), NANP("AI"), NANP("BB"), NANP("BM"), NANP("BS"), NANP("DM"), NANP("DO"),
	NANP("GD"), NANP("JM"), NANP("KN"), NANP("KY"), NANP("LC"), NANP("MS"), NANP("SX"),
	NANP("TC"), NANP("TT"), NANP("VC"), NANP("VG"),
	/* Europe */
	{ "GB", "44", "0", 9, 10, NULL },
	{ "GG", "44", "0", 10, 10, NULL },
	{ "JE", "44", "0", 10, 10, NULL },
	{ "IM", "44", "0", 10, 10, NULL },
	{ "IE", "353", "0", 7, 9, NULL },
	{ "DE", "49", "0", 6, 13, NULL },
	{ "FR", "33", "0", 9, 9, NULL },
	{ "MC", "377", "", 8, 9, NULL },
	{ "ES", "34", "", 9, 9, NULL },
	{ "AD", "376", "", 6, 9, NULL },
	{ "IT", "39", "", 6, 11, NULL },
	{ "VA", "39", "", 6, 11, NULL },
	{ "SM", "378", "", 6, 10, NULL },
	{ "MT", "356", "", 8, 8, NULL },
	{ "NL", "31", "0", 9, 9, NULL },
	{ "BE", "32", "0", 8, 9, NULL },
	{ "LU", "352", "", 4, 11, NULL },
	{ "CH", "41", "0", 9, 9, NULL },
	{ "LI", "423", "", 7, 9, NULL },
	{ "AT", "43", "0", 4, 13, NULL },
	{ "DK", "45", "", 8, 8, NULL },
	{ "SE", "46", "0", 6, 10, NULL },
	{ "NO", "47", "", 8, 8, NULL },
	{ "SJ", "47", "", 8, 8, NULL },
	{ "FI", "358", "0", 5, 12, NULL },
	{ "AX", "358", "0", 5, 12, NULL },
	{ "IS", "354", "", 7, 9, NULL },
	{ "PL", "48", "", 9, 9, NULL },
	{ "CZ", "420", "", 9, 9, NULL },
	{ "SK", "421", "0", 9, 9, NULL },
	{ "HU", "36", "06", 8, 9, NULL },
	{ "RO", "40", "0", 9, 9, NULL },
	{ "BG", "359", "0", 7, 9, NULL },
	{ "GR", "30", "", 10, 10, NULL },
	{ "CY", "357", "", 8, 8, NULL },
	{ "PT", "351", "", 9, 9, NULL },
	{ "EE", "372", "", 7, 8, NULL },
	{ "LV", "371", "", 8, 8, NULL },
	{ "LT", "370", "8,0", 8, 8, NULL },
	{ "SI", "386", "0", 8, 8, NULL },
	{ "HR", "385", "0", 8, 9, NULL },
	{ "BA", "387", "0", 8, 9, NULL },
	{ "RS", "381", "0", 7, 10, NULL },
	{ "ME", "382", "0", 8, 8, NULL },
	{ "MK", "389", "0", 8, 8, NULL },
	{ "AL", "355", "0", 8, 9, NULL },
	{ "MD", "373", "0", 8, 8, NULL },
	{ "UA", "380", "0", 9, 9, NULL },
	{ "BY", "375", "80", 9, 9, NULL },
	{ "RU", "7", "8", 10, 10, NULL },
	{ "KZ", "7", "8", 10, 10, NULL },
	{ "GE", "995", "0", 9, 9, NULL },
	{ "AM", "374", "0", 8, 8, NULL },
	{ "AZ", "994", "0", 9, 9, NULL },
	{ "TR", "90", "0", 10, 10, NULL },
	/* Middle East and Africa */
	{ "IL", "972", "0", 8, 9, NULL },
	{ "JO", "962", "0", 8, 9, NULL },
	{ "LB", "961", "0", 7, 8, NULL },
	{ "AE", "971", "0", 8, 9, NULL },
	{ "SA", "966", "0", 8, 9, NULL },
	{ "QA", "974", "", 8, 8, NULL },
	{ "KW", "965", "", 8, 8, NULL },
	{ "BH", "973", "", 8, 8, NULL },
	{ "OM", "968", "", 8, 8, NULL },
	{ "EG", "20", "0", 8, 10, NULL },
	{ "MA", "212", "0", 9, 9, NULL },
	{ "EH", "212", "0", 9, 9, NULL },
	{ "DZ", "213", "0", 8, 9, NULL },
	{ "TN", "216", "", 8, 8, NULL },
	{ "NG", "234", "0", 8, 10, NULL },
	{ "GH", "233", "0", 9, 9, NULL },
	{ "KE", "254", "0", 7, 9, NULL },
	{ "UG", "256", "0", 9, 9, NULL },
	{ "TZ", "255", "0", 9, 9, NULL },
	{ "ET", "251", "0", 9, 9, NULL },
	{ "ZA", "27", "0", 9, 9, NULL },
	/* Asia and Oceania */
	{ "IN", "91", "0", 10, 10, NULL },
	{ "PK", "92", "0", 8, 10, NULL },
	{ "BD", "880", "0", 8, 10, NULL },
	{ "LK", "94", "0", 9, 9, NULL },
	{ "NP", "977", "0", 8, 10, NULL },
	{ "SG", "65", "", 8, 8, NULL },
	{ "MY", "60", "0", 8, 10, NULL },
	{ "TH", "66", "0", 8, 9, NULL },
	{ "VN", "84", "0", 9, 10, NULL },
	{ "PH", "63", "0", 8, 10, NULL },
	{ "ID", "62", "0", 7, 12, NULL },
	{ "CN", "86", "0", 8, 12, NULL },
	{ "HK", "852", "", 8, 8, NULL },
	{ "MO", "853", "", 8, 8, NULL },
	{ "TW", "886", "0", 8, 9, NULL },
	{ "JP", "81", "0", 9, 10, "010" },
	{ "KR", "82", "0", 8, 10, NULL },
	{ "AU", "61", "0", 9, 9, "0011" },
	{ "CX", "61", "0", 9, 9, "0011" },
	{ "CC", "61", "0", 9, 9, "0011" },
	{ "NZ", "64", "0", 8, 10, NULL },
	/* Latin America */
	{ "MX", "52", "", 10, 10, NULL },
	{ "BR", "55", "0", 10, 11, NULL },
	{ "AR", "54", "0", 10, 11, NULL },
	{ "CL", "56", "", 9, 9, NULL },
	{ "CO", "57", "", 8, 10, NULL },
	{ "PE", "51", "0", 8, 9, NULL },
	{ "UY", "598", "0", 8, 8, NULL },
	{ "VE", "58", "0", 10, 10, NULL },
	{ "EC", "593", "0", 8, 9, NULL },
	{ "CR", "506", "", 8, 8, NULL },
	{ "PA", "507", "", 7, 8, NULL },
	{ "GT", "502", "", 8, 8, NULL },
};

#define E164_MAX 15
/* Digits kept while scanning: E.164 plus the longest prefix ("0011"), with room. */
#define PHONE_DIGITS_MAX 24

static const struct region *
region_find(const char *iso)
{
	size_t i;

	if (iso == NULL || !is_alpha((unsigned char)iso[0]) || !is_alpha((unsigned char)iso[1]) ||
	    iso[2] != '\0')
		return NULL;
	for (i = 0; i < ARRAY_LEN(regions); i++)
		if (lower((unsigned char)regions[i].iso[0]) == lower((unsigned char)iso[0]) &&
		    lower((unsigned char)regions[i].iso[1]) == lower((unsigned char)iso[1]))
			return &regions[i];
	return NULL;
}

int
norm_region_valid(const char *region)
{
	return region_find(region) != NULL;
}

/* Length of the known calling code that starts d (1..3), or 0. */
static size_t
cc_known(const char *d, size_t n)
{
	size_t i, k;

	for (k = 1; k <= 3 && k <= n; k++)
		for (i = 0; i < ARRAY_LEN(regions); i++)
			if (strlen(regions[i].cc) == k && memcmp(regions[i].cc, d, k) == 0)
				return k;
	return 0;
}

/* Is an NSN of nsn_len digits plausible for calling code cc (k digits)? */
static int
cc_len_ok(const char *cc, size_t k, size_t nsn_len)
{
	size_t i;

	if (k + nsn_len > E164_MAX)
		return 0;
	for (i = 0; i < ARRAY_LEN(regions); i++)
		if (strlen(regions[i].cc) == k && memcmp(regions[i].cc, cc, k) == 0 &&
		    nsn_len >= regions[i].min && nsn_len <= regions[i].max)
			return 1;
	return 0;
}

/* Length of the region's trunk prefix that starts d, or 0. */
static size_t
trunk_len(const struct region *r, const char *d, size_t n)
{
	const char *t = r->trunk;
	size_t k;

	while (*t != '\0') {
		k = strcspn(t, ",");
		if (k <= n && memcmp(t, d, k) == 0)
			return k;
		t += k;
		if (*t == ',')
			t++;
	}
	return 0;
}

/* Is "0" the trunk prefix of a region with calling code cc (k digits)? Only
 * then is "(0)" after the code a trunk prefix (in Italy it is a digit). */
static int
cc_trunk0(const char *cc, size_t k)
{
	size_t i;

	for (i = 0; i < ARRAY_LEN(regions); i++)
		if (strlen(regions[i].cc) == k && memcmp(regions[i].cc, cc, k) == 0 &&
		    trunk_len(&regions[i], "0", 1) == 1)
			return 1;
	return 0;
}

/* Appends "+<cc><nsn>" when the NSN (trunk already dropped) fits the region. */
static int
national(const struct region *r, const char *d, size_t n, struct buf *e164)
{
	size_t k = strlen(r->cc);

	if (n < r->min || n > r->max || k + n > E164_MAX)
		return 0;
	buf_addc(e164, '+');
	buf_adds(e164, r->cc);
	buf_add(e164, d, n);
	return 1;
}

/* Length of a separator at s (ignored in numbers), or 0: whitespace, . - ( ) /
 * and the Unicode dashes U+2010..U+2015 and U+2212. */
static size_t
phone_sep(const unsigned char *s, size_t n)
{
	size_t k;

	if (s[0] == '.' || s[0] == '-' || s[0] == '(' || s[0] == ')' || s[0] == '/')
		return 1;
	if ((k = ws_len(s, n)) != 0)
		return k;
	if (n >= 3 && s[0] == 0xe2 && ((s[1] == 0x80 && s[2] >= 0x90 && s[2] <= 0x95) ||
	    (s[1] == 0x88 && s[2] == 0x92)))
		return 3;
	return 0;
}

/*
 * Extension at s (n bytes, the rest of the trimmed input): a marker, optional
 * whitespace, 1..NORM_PHONE_EXT_MAX digits, nothing after. Returns 1 and
 * writes the digits to ext (if not NULL), or 0.
 */
static int
phone_ext(const char *s, size_t n, struct buf *ext)
{
	static const char *const markers[] = { ";ext=", "extension", "ext.", "ext:", "ext",
		"x.", "x", "#" };
	size_t i, m, k;

	for (m = 0; m < ARRAY_LEN(markers); m++)
		if (has_prefix_ci(s, n, markers[m]))
			break;
	if (m == ARRAY_LEN(markers))
		return 0;
	i = strlen(markers[m]);
	while (i < n && (k = ws_len((const unsigned char *)s + i, n - i)) != 0)
		i += k;
	for (k = i; k < n && is_digit((unsigned char)s[k]); k++)
		;
	if (k != n || k == i || k - i > NORM_PHONE_EXT_MAX)
		return 0;
	if (ext != NULL)
		buf_add(ext, s + i, k - i);
	return 1;
}

enum norm_res
norm_phone(const char *in, const char *default_region, struct buf *e164, struct buf *ext)
{
	const struct region *r = region_find(default_region);
	const unsigned char *p;
	const char *s = in, *x;
	char d[PHONE_DIGITS_MAX + 1];
	size_t n = 0, i = 0, k, nd = 0, paren0 = (size_t)-1, cl, t;
	enum norm_res res;
	int plus = 0;

	out_clear(e164);
	if (ext != NULL)
		out_clear(ext);
	if ((res = gate(in, &n)) != NORM_OK)
		return res;
	trim(&s, &n);
	if (n == 0)
		return NORM_EMPTY;
	if (has_prefix_ci(s, n, "tel:")) {
		s += 4;
		n -= 4;
	}
	p = (const unsigned char *)s;
	while (i < n) {
		if (is_digit(p[i])) {
			if (nd == PHONE_DIGITS_MAX)
				goto invalid;
			d[nd++] = (char)p[i++];
		} else if (p[i] == '+') {
			if (plus || nd > 0 || i > 0)
				goto invalid;
			plus = 1;
			i++;
		} else if (p[i] == '(' && i + 2 < n && p[i + 1] == '0' && p[i + 2] == ')' &&
		    paren0 == (size_t)-1) {
			if (nd == PHONE_DIGITS_MAX)
				goto invalid;
			paren0 = nd;
			d[nd++] = '0';
			i += 3;
		} else if ((k = phone_sep(p + i, n - i)) != 0) {
			i += k;
		} else if (nd > 0 && phone_ext(s + i, n - i, ext)) {
			break;
		} else
			goto invalid;
	}
	d[nd] = '\0';
	if (nd == 0)
		goto invalid;

	/* International: '+', the region's own prefix, or "00". */
	x = NULL;
	if (plus)
		x = d;
	else if (r != NULL && r->idd != NULL && strncmp(d, r->idd, strlen(r->idd)) == 0)
		x = d + strlen(r->idd);
	else if (strncmp(d, "00", 2) == 0)
		x = d + 2;
	if (x != NULL) {
		k = nd - (size_t)(x - d);	/* digits after the prefix */
		if (k == 0 || x[0] == '0')
			goto invalid;
		if ((cl = cc_known(x, k)) == 0) {
			if (k < 7 || k > E164_MAX)
				goto invalid;
			buf_addc(e164, '+');
			buf_add(e164, x, k);
			return NORM_OK;
		}
		t = 0;
		if (paren0 == (size_t)(x - d) + cl && cc_trunk0(x, cl))
			t = 1;	/* "+44 (0)20 ...": the written trunk prefix */
		if (!cc_len_ok(x, cl, k - cl - t))
			goto invalid;
		buf_addc(e164, '+');
		buf_add(e164, x, cl);
		buf_add(e164, x + cl + t, k - cl - t);
		return NORM_OK;
	}

	/* National in the default region. */
	if (r == NULL)
		goto invalid;
	t = trunk_len(r, d, nd);
	if (national(r, d + t, nd - t, e164))
		return NORM_OK;
	/* "44 20 7946 0018" in GB: the calling code written without '+'. */
	cl = strlen(r->cc);
	if (nd > cl && memcmp(d, r->cc, cl) == 0) {
		t = trunk_len(r, d + cl, nd - cl);
		if (national(r, d + cl + t, nd - cl - t, e164))
			return NORM_OK;
	}
invalid:
	out_clear(e164);
	if (ext != NULL)
		out_clear(ext);
	return NORM_INVALID;
}

/* ------------------------------------------------------------------------- */
/* Dates and times. */

#define MS_PER_DAY INT64_C(86400000)

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar. Years are
 * counted from March so that the leap day ends a year; 400-year cycles
 * ("eras") have 146097 days. */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	if (m <= 2)
		y--;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;				/* 0..399 */
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;	/* 0..365 */
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;	/* 0..146096 */
	return era * 146097 + doe - 719468;		/* 719468: 0000-03-01 → 1970-01-01 */
}

static void
civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	int64_t era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

static int
leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int
days_in_month(int64_t y, int m)
{
	static const int dim[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	return m == 2 && leap(y) ? 29 : dim[m - 1];
}

/* 0001-01-01T00:00:00.000Z and 9999-12-31T23:59:59.999Z. */
#define TIME_MIN_MS (days_from_civil(1, 1, 1) * MS_PER_DAY)
#define TIME_MAX_MS (days_from_civil(10000, 1, 1) * MS_PER_DAY - 1)

/* Exactly k digits at s (n bytes left) → *v. */
static int
num(const char *s, size_t n, size_t k, int *v)
{
	size_t i;

	if (k > n)
		return 0;
	*v = 0;
	for (i = 0; i < k; i++) {
		if (!is_digit((unsigned char)s[i]))
			return 0;
		*v = *v * 10 + (s[i] - '0');
	}
	return 1;
}

static int
date_ok(int y, int m, int d)
{
	return y >= 1 && y <= 9999 && m >= 1 && m <= 12 && d >= 1 && d <= days_in_month(y, m);
}

/* The zone at s (Z, ±HH, ±HHMM, ±HH:MM) → offset in minutes east of UTC. */
static int
zone(const char *s, size_t n, int *minutes)
{
	int h, m = 0, sign;

	if (n == 1 && (s[0] == 'Z' || s[0] == 'z')) {
		*minutes = 0;
		return 1;
	}
	if (n < 3 || (s[0] != '+' && s[0] != '-'))
		return 0;
	sign = s[0] == '-' ? -1 : 1;
	if (!num(s + 1, n - 1, 2, &h))
		return 0;
	if (n == 6 && s[3] == ':') {
		if (!num(s + 4, 2, 2, &m))
			return 0;
	} else if (n == 5) {
		if (!num(s + 3, 2, 2, &m))
			return 0;
	} else if (n != 3)
		return 0;
	if (h > 23 || m > 59)
		return 0;
	*minutes = sign * (h * 60 + m);
	return 1;
}

/* ISO 8601 / RFC 3339 (see norm.h). */
static int
parse_iso(const char *s, size_t n, int64_t *ms, int *date_only)
{
	int y, mo, d, h = 0, mi = 0, sec = 0, frac = 0, off = 0;
	size_t i, k;

	if (n < 10 || !num(s, n, 4, &y) || s[4] != '-' || !num(s + 5, n - 5, 2, &mo) ||
	    s[7] != '-' || !num(s + 8, n - 8, 2, &d) || !date_ok(y, mo, d))
		return 0;
	*date_only = n == 10;
	if (n > 10) {
		if (s[10] != 'T' && s[10] != 't' && s[10] != ' ')
			return 0;
		if (!num(s + 11, n - 11, 2, &h) || n < 16 || s[13] != ':' ||
		    !num(s + 14, n - 14, 2, &mi))
			return 0;
		i = 16;
		if (i < n && s[i] == ':') {
			if (!num(s + i + 1, n - i - 1, 2, &sec))
				return 0;
			i += 3;
			if (i < n && (s[i] == '.' || s[i] == ',')) {
				/* Any number of digits; the first three are the ms. */
				for (k = 0, i++; i < n && is_digit((unsigned char)s[i]); i++, k++)
					if (k < 3)
						frac = frac * 10 + (s[i] - '0');
				if (k == 0)
					return 0;
				for (; k < 3; k++)
					frac *= 10;	/* ".5" is 500 ms */
			}
		}
		if (h > 23 || mi > 59 || sec > 59)
			return 0;
		if (i < n && !zone(s + i, n - i, &off))
			return 0;
	}
	*ms = days_from_civil(y, mo, d) * MS_PER_DAY +
	    ((int64_t)h * 3600 + mi * 60 + sec - (int64_t)off * 60) * 1000 + frac;
	return *ms >= TIME_MIN_MS && *ms <= TIME_MAX_MS;
}

/* D/M/YYYY or M/D/YYYY with '/', '.' or '-', per order. */
static int
parse_dm(const char *s, size_t n, enum norm_date_order order, int64_t *ms)
{
	int a = 0, b = 0, y, m, d;
	size_t i = 0, k;
	char sep;

	for (k = i; i < n && i - k < 3 && is_digit((unsigned char)s[i]); i++)
		a = a * 10 + (s[i] - '0');
	if (i == k || i - k > 2 || i >= n)
		return 0;
	sep = s[i++];
	if (sep != '/' && sep != '.' && sep != '-')
		return 0;
	for (k = i; i < n && i - k < 3 && is_digit((unsigned char)s[i]); i++)
		b = b * 10 + (s[i] - '0');
	if (i == k || i - k > 2 || i >= n || s[i++] != sep)
		return 0;
	if (n - i != 4 || !num(s + i, n - i, 4, &y))
		return 0;
	m = order == NORM_DATE_MDY ? a : b;
	d = order == NORM_DATE_MDY ? b : a;
	if (!date_ok(y, m, d))
		return 0;
	*ms = days_from_civil(y, m, d) * MS_PER_DAY;
	return 1;
}

enum norm_res
norm_time(const char *in, enum norm_date_order order, int64_t *ms, int *date_only)
{
	const char *s = in;
	size_t n = 0, i;
	enum norm_res r;
	int64_t v = 0;
	int only = 0;

	if ((r = gate(in, &n)) != NORM_OK)
		return r;
	trim(&s, &n);
	if (n == 0)
		return NORM_EMPTY;
	for (i = 0; i < n && is_digit((unsigned char)s[i]); i++)
		if (i < 14)
			v = v * 10 + (s[i] - '0');	/* longer is rejected below */
	if (i == n) {
		if (n >= 12 && n <= 14)
			;			/* epoch milliseconds */
		else if (n == 9 || n == 10)
			v *= 1000;		/* epoch seconds */
		else
			return NORM_INVALID;
	} else if (parse_iso(s, n, &v, &only)) {
		;
	} else if ((order == NORM_DATE_MDY || order == NORM_DATE_DMY) &&
	    parse_dm(s, n, order, &v)) {
		only = 1;
	} else
		return NORM_INVALID;
	*ms = v;
	if (date_only != NULL)
		*date_only = only;
	return NORM_OK;
}

/* Splits ms into a date and the ms of the day; -1 out of range. */
static int
split_ms(int64_t ms, int64_t *y, int *m, int *d, int64_t *rem)
{
	int64_t days;

	if (ms < TIME_MIN_MS || ms > TIME_MAX_MS)
		return -1;
	days = ms / MS_PER_DAY;
	*rem = ms % MS_PER_DAY;
	if (*rem < 0) {
		*rem += MS_PER_DAY;
		days--;
	}
	civil_from_days(days, y, m, d);
	return 0;
}

/* The fields are reduced modulo their range (a no-op after split_ms) so that
 * the compiler can see the output fits. */
int
norm_fmt_date(int64_t ms, char out[11])
{
	int64_t y, rem;
	int m, d;

	out[0] = '\0';
	if (split_ms(ms, &y, &m, &d, &rem) != 0)
		return -1;
	snprintf(out, 11, "%04u-%02u-%02u", (unsigned)y % 10000u, (unsigned)m % 100u,
	    (unsigned)d % 100u);
	return 0;
}

int
norm_fmt_datetime(int64_t ms, char out[25])
{
	int64_t y, rem;
	int m, d;

	out[0] = '\0';
	if (split_ms(ms, &y, &m, &d, &rem) != 0)
		return -1;
	snprintf(out, 25, "%04u-%02u-%02uT%02u:%02u:%02u.%03uZ", (unsigned)y % 10000u,
	    (unsigned)m % 100u, (unsigned)d % 100u, (unsigned)(rem / 3600000) % 100u,
	    (unsigned)(rem / 60000 % 60), (unsigned)(rem / 1000 % 60), (unsigned)(rem % 1000));
	return 0;
}

int
norm_fmt_datetime_s(int64_t ms, char out[21])
{
	char full[25];

	out[0] = '\0';
	if (norm_fmt_datetime(ms, full) != 0)	/* the second is floored, like the day */
		return -1;
	memcpy(out, full, 19);
	out[19] = 'Z';
	out[20] = '\0';
	return 0;
}

/* ------------------------------------------------------------------------- */
/* Application status. */

static const struct {
	const char *word;
	enum norm_status status;
} status_words[] = {
	{ "active", NORM_STATUS_ACTIVE },
	{ "in process", NORM_STATUS_ACTIVE },
	{ "lead", NORM_STATUS_ACTIVE },
	{ "converted", NORM_STATUS_ACTIVE },
	{ "rejected", NORM_STATUS_REJECTED },
	{ "hired", NORM_STATUS_HIRED },
	{ "withdrawn", NORM_STATUS_WITHDRAWN },
	{ "archived", NORM_STATUS_ARCHIVED },
};

static const char *const status_names[NORM_STATUS__MAX] = {
	[NORM_STATUS_ACTIVE] = "active",
	[NORM_STATUS_REJECTED] = "rejected",
	[NORM_STATUS_HIRED] = "hired",
	[NORM_STATUS_WITHDRAWN] = "withdrawn",
	[NORM_STATUS_ARCHIVED] = "archived",
};

int
norm_status(const char *in, enum norm_status *out)
{
	char w[32];
	const char *s = in;
	size_t n = 0, i, k = 0;

	if (gate(in, &n) != NORM_OK)
		return -1;
	trim(&s, &n);
	/* Lowercase; ' ', '_' and '-' runs become one space. */
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == ' ' || c == '_' || c == '-') {
			if (k > 0 && w[k - 1] == ' ')
				continue;
			c = ' ';
		} else if (!is_alpha(c))
			return -1;
		if (k == sizeof(w) - 1)
			return -1;
		w[k++] = (char)lower(c);
	}
	w[k] = '\0';
	for (i = 0; i < ARRAY_LEN(status_words); i++)
		if (strcmp(w, status_words[i].word) == 0) {
			*out = status_words[i].status;
			return 0;
		}
	return -1;
}

const char *
norm_status_str(enum norm_status st)
{
	if ((size_t)st >= ARRAY_LEN(status_names))
		return "?";
	return status_names[st];
}
