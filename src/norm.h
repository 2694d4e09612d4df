/*
 * norm.h — normalisation: the canonical form of every value that is compared
 * between the ATS and Keap (DESIGN.md §4), so that only real differences count.
 * docs/normalisation.md states the rules for users.
 *
 * Everything here is a pure function: no I/O, no logging, no state that
 * changes, safe to call from anywhere. Inputs are NUL-terminated strings of
 * at most NORM_MAX_INPUT bytes; a longer string, invalid UTF-8 or (where text
 * is kept) a control character is NORM_INVALID, never a crash or a truncated
 * guess. A NULL input means "absent" and gives NORM_EMPTY (norm_status
 * and norm_region_valid, which have no "empty", say no).
 *
 * Ownership: every struct buf argument belongs to the caller (BUF_INIT, freed
 * with buf_free). A function resets its output buffers first; on NORM_OK they
 * hold the result, otherwise they hold "" (p is never NULL on return).
 * Nothing here keeps a pointer to its arguments.
 */
#ifndef ATSRECON_NORM_H
#define ATSRECON_NORM_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

/* Longest input accepted, in bytes (longer is NORM_INVALID). */
#define NORM_MAX_INPUT 1000

enum norm_res {
	NORM_INVALID = -1,	/* present but not normalisable: an invalid_value drift */
	NORM_OK = 0,
	NORM_EMPTY = 1		/* absent, empty or only whitespace: not an error */
};

/*
 * Email. Trims ASCII and Unicode whitespace and lowercases the WHOLE address
 * (local parts are case-sensitive in RFC 5321, but no mail provider a
 * candidate uses treats them so, and ATS and CRM users retype them freely).
 * Valid: one '@'; a local part of 1..64 characters from letters, digits,
 * . ! # $ % & ' * + / = ? ^ _ ` { | } ~ - with no leading, trailing or double
 * dot; a domain of at least two dot-separated labels, each 1..63 letters,
 * digits or hyphens, not starting or ending with a hyphen, the last one not
 * all digits; 254 characters in all. ASCII only: quoted local parts
 * ("a b"@x.com), IP-literal domains (a@[10.0.0.1]), internationalised
 * addresses and display forms ("Jane <jane@x.com>") are NORM_INVALID.
 */
enum norm_res norm_email(const char *in, struct buf *out);

/* At most this many distinct valid addresses are kept by norm_email_list. */
#define NORM_EMAILS_MAX 32

/*
 * A candidate's email addresses, normalised: `emails` holds n addresses and
 * `invalid` n_invalid rejected inputs, each string NUL-terminated and stored
 * back to back (read them with norm_email_at / norm_email_invalid_at).
 * Rejected inputs are kept as given, cut at NORM_MAX_INPUT bytes: escape them
 * (text_escape, log.h) before showing them. Initialise with
 * NORM_EMAIL_LIST_INIT, release with norm_email_list_free.
 */
struct norm_email_list {
	struct buf emails;	/* deduplicated, primary first, then input order */
	size_t n;
	struct buf invalid;
	size_t n_invalid;
	size_t n_dropped;	/* valid distinct addresses past NORM_EMAILS_MAX */
};
#define NORM_EMAIL_LIST_INIT { BUF_INIT, 0, BUF_INIT, 0, 0 }

/*
 * Normalises in[0..n-1] (NULL entries and empty strings are skipped, not
 * invalid) into out, which is reset first. in[primary] comes first when it is
 * valid; primary >= n means "no primary". Returns out->n_invalid, the number
 * of inputs that are not valid addresses.
 */
size_t norm_email_list(const char *const *in, size_t n, size_t primary,
    struct norm_email_list *out);
/* The i-th address (borrowed from the list), or NULL when i >= n. */
const char *norm_email_at(const struct norm_email_list *, size_t i);
/* The i-th rejected input (borrowed), or NULL when i >= n_invalid. */
const char *norm_email_invalid_at(const struct norm_email_list *, size_t i);
void norm_email_list_free(struct norm_email_list *);

/* Longest extension kept apart by norm_phone, in digits. */
#define NORM_PHONE_EXT_MAX 10

/*
 * Phone number → E.164 ("+14155550100") in e164, extension digits in ext
 * (ext may be NULL: the extension is then checked and dropped).
 *
 * Spaces, dots, hyphens (and Unicode dashes), parentheses and slashes are
 * ignored; "tel:" in front is ignored. A leading '+', or the international
 * prefix "00" (also "011" in NANP regions, "0011" in AU, "010" in JP), makes
 * the number international: "+44 (0)20..." drops the "(0)" written right
 * after the country code when 0 is that country's trunk prefix (in Italy it
 * is a digit of the number and stays). Otherwise the number is national in
 * default_region (ISO 3166-1 alpha-2, any case): its trunk prefix is dropped
 * ("0" in GB, "1" in NANP, "06" in HU; none in ES; IT keeps its leading 0)
 * and the calling code is prepended. An extension ("x22", "ext. 22",
 * "ext 22", "extension 22", "#22", ";ext=22") is split off. The result has
 * at most 15 digits and, for a calling code in the table, a national number
 * of a plausible length for that country; an unknown calling code needs 7..15
 * digits in all. Letters (vanity numbers), a national number with no known
 * default_region (NULL or not in the table) and anything else are
 * NORM_INVALID.
 */
enum norm_res norm_phone(const char *in, const char *default_region, struct buf *e164,
    struct buf *ext);
/* 1 when region (two letters, any case) is in the calling-code table. */
int norm_region_valid(const char *region);

/* How to read a day and month written with separators ("05/01/2026"). */
enum norm_date_order {
	NORM_DATE_ISO,		/* only ISO 8601 / RFC 3339 and epoch numbers */
	NORM_DATE_MDY,		/* also MM/DD/YYYY (US) */
	NORM_DATE_DMY		/* also DD/MM/YYYY */
};

/*
 * A date or timestamp → milliseconds since the epoch, UTC. Accepted (after
 * trimming whitespace):
 *   2026-01-05T10:00:00Z, ...T10:00:00.123456Z (fraction of any length,
 *   truncated to ms), ...T10:00Z, offsets +02:00, +0200, +02, and Z; 't', 'z'
 *   and a space instead of 'T'; no zone at all means UTC;
 *   2026-01-05 alone: midnight UTC, *date_only = 1;
 *   12..14 digits: epoch milliseconds; 9..10 digits: epoch seconds;
 *   with NORM_DATE_MDY / NORM_DATE_DMY also M/D/YYYY or D/M/YYYY with one- or
 *   two-digit day and month and '/', '.' or '-' between them (date only).
 * Years 0001..9999; impossible dates and times (2026-02-30, month 13, hour
 * 24, second 60) are NORM_INVALID. date_only may be NULL; *ms and *date_only
 * are written only on NORM_OK.
 */
enum norm_res norm_time(const char *in, enum norm_date_order order, int64_t *ms,
    int *date_only);

/* "YYYY-MM-DD" (UTC), "YYYY-MM-DDTHH:MM:SS.mmmZ" and the whole-second
 * "YYYY-MM-DDTHH:MM:SSZ" (milliseconds truncated: the form Keap's DATE_TIME
 * fields keep, DESIGN.md §4). They return 0, or -1 and write "" when ms is
 * outside years 0001..9999. */
int norm_fmt_date(int64_t ms, char out[11]);
int norm_fmt_datetime(int64_t ms, char out[25]);
int norm_fmt_datetime_s(int64_t ms, char out[21]);

/*
 * Free text (names, company, title): trims, collapses every run of ASCII or
 * Unicode whitespace into one space. Case and accents are kept (no Unicode
 * normalisation: a precomposed and a decomposed "é" differ). Invalid UTF-8
 * and control characters other than whitespace are NORM_INVALID.
 */
enum norm_res norm_text(const char *in, struct buf *out);

/*
 * The one rule for sources with a single name field (Lever, Ashby): the text
 * is normalised as by norm_text; its first space-separated token is the first
 * name, the rest the last name. "Mary Ann Smith" → "Mary" / "Ann Smith";
 * "Cher" → "Cher" / ""; "  Jean-Luc   Picard " → "Jean-Luc" / "Picard".
 * Returns as norm_text does.
 */
enum norm_res norm_split_name(const char *full, struct buf *first, struct buf *last);

/* The canonical application status (DESIGN.md §4). */
enum norm_status {
	NORM_STATUS_ACTIVE,
	NORM_STATUS_REJECTED,
	NORM_STATUS_HIRED,
	NORM_STATUS_WITHDRAWN,
	NORM_STATUS_ARCHIVED,
	NORM_STATUS__MAX
};

/*
 * An ATS status word → canonical status, ignoring case, surrounding
 * whitespace and the difference between ' ', '_' and '-':
 *   active, in process, lead, converted   → active
 *   rejected → rejected; hired → hired; withdrawn → withdrawn;
 *   archived → archived.
 * ("converted" is Greenhouse's word for a prospect application that became a
 * candidate application: the person is still in the pipeline.) Returns 0, or
 * -1 for anything else (the caller reports invalid_value); *out is written
 * only on success.
 */
int norm_status(const char *in, enum norm_status *out);
/* "active", "rejected", "hired", "withdrawn", "archived"; "?" out of range. */
const char *norm_status_str(enum norm_status);

#endif
