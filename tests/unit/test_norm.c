/* Unit tests: norm.c (email, phone E.164, dates, names, text, status). */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>

#include "norm.h"
#include "t.h"

static struct buf g_out = BUF_INIT, g_ext = BUF_INIT;
static char g_time[32];

/* The normalised email, "EMPTY" or "INVALID". */
static const char *
em(const char *in)
{
	switch (norm_email(in, &g_out)) {
	case NORM_OK:
		return g_out.p;
	case NORM_EMPTY:
		return g_out.p[0] == '\0' ? "EMPTY" : "EMPTY-but-output";
	case NORM_INVALID:
		return g_out.p[0] == '\0' ? "INVALID" : "INVALID-but-output";
	}
	return "?";
}

/* The E.164 form, "EMPTY" or "INVALID"; the extension stays in g_ext. */
static const char *
ph(const char *in, const char *region)
{
	switch (norm_phone(in, region, &g_out, &g_ext)) {
	case NORM_OK:
		return g_out.p;
	case NORM_EMPTY:
		return g_out.p[0] == '\0' && g_ext.p[0] == '\0' ? "EMPTY" : "EMPTY-but-output";
	case NORM_INVALID:
		return g_out.p[0] == '\0' && g_ext.p[0] == '\0' ? "INVALID" : "INVALID-but-output";
	}
	return "?";
}

/* The timestamp as RFC 3339 with ms (with " date" appended when date-only),
 * "EMPTY" or "INVALID". */
static const char *
tm(const char *in, enum norm_date_order order)
{
	int64_t ms = 0;
	int only = -1;

	switch (norm_time(in, order, &ms, &only)) {
	case NORM_OK:
		if (norm_fmt_datetime(ms, g_time) != 0)
			return "UNFORMATTABLE";
		if (only)
			str_copy(g_time + 24, sizeof(g_time) - 24, " date");
		return g_time;
	case NORM_EMPTY:
		return "EMPTY";
	case NORM_INVALID:
		return "INVALID";
	}
	return "?";
}

static int64_t
ms_of(const char *in)
{
	int64_t ms = INT64_MIN;

	if (norm_time(in, NORM_DATE_ISO, &ms, NULL) != NORM_OK)
		return INT64_MIN;
	return ms;
}

/* The normalised text, "EMPTY" or "INVALID". */
static const char *
tx(const char *in)
{
	switch (norm_text(in, &g_out)) {
	case NORM_OK:
		return g_out.p;
	case NORM_EMPTY:
		return g_out.p[0] == '\0' ? "EMPTY" : "EMPTY-but-output";
	case NORM_INVALID:
		return g_out.p[0] == '\0' ? "INVALID" : "INVALID-but-output";
	}
	return "?";
}

/* A string of n copies of c (caller frees). */
static char *
rep(char c, size_t n)
{
	char *s = xmalloc(n + 1);

	memset(s, c, n);
	s[n] = '\0';
	return s;
}

static void
test_email(void)
{
	struct buf a = BUF_INIT, b = BUF_INIT;
	char *local64 = rep('a', 64), *local65 = rep('a', 65), *label63 = rep('b', 63),
	    *label64 = rep('b', 64);
	struct buf long_addr = BUF_INIT;

	/* noisy but equal */
	CHECK(norm_email("Jane@X.com ", &a) == NORM_OK);
	CHECK(norm_email("jane@x.com", &b) == NORM_OK);
	CHECK_STR(a.p, b.p);
	CHECK_STR(em("  JANE.DOE+jobs@Example.CO.UK\t\n"), "jane.doe+jobs@example.co.uk");
	CHECK_STR(em("\xc2\xa0jane@x.com\xe2\x80\x83"), "jane@x.com");	/* NBSP, em space */
	CHECK_STR(em("\xe3\x80\x80jane@x.com\xc2\x85"), "jane@x.com");	/* ideographic space, NEL */
	CHECK_STR(em("o'brien@x.io"), "o'brien@x.io");
	CHECK_STR(em("a_b-c!#$%&*/=?^`{|}~@sub.x-y.com"), "a_b-c!#$%&*/=?^`{|}~@sub.x-y.com");
	CHECK_STR(em("j@xn--mnchen-3ya.de"), "j@xn--mnchen-3ya.de");
	CHECK_STR(em("j@1x.com"), "j@1x.com");

	/* absent is not an error */
	CHECK_STR(em(NULL), "EMPTY");
	CHECK_STR(em(""), "EMPTY");
	CHECK_STR(em(" \t\r\n "), "EMPTY");
	CHECK_STR(em("\xe2\x80\x80\xc2\xa0"), "EMPTY");

	/* invalid */
	CHECK_STR(em("jane"), "INVALID");
	CHECK_STR(em("jane@"), "INVALID");
	CHECK_STR(em("@x.com"), "INVALID");
	CHECK_STR(em("jane@x"), "INVALID");			/* no dot in the domain */
	CHECK_STR(em("jane@@x.com"), "INVALID");
	CHECK_STR(em("jane@x@y.com"), "INVALID");
	CHECK_STR(em("ja ne@x.com"), "INVALID");
	CHECK_STR(em("jane@x .com"), "INVALID");
	CHECK_STR(em(".jane@x.com"), "INVALID");
	CHECK_STR(em("jane.@x.com"), "INVALID");
	CHECK_STR(em("ja..ne@x.com"), "INVALID");
	CHECK_STR(em("jane@x..com"), "INVALID");
	CHECK_STR(em("jane@.x.com"), "INVALID");
	CHECK_STR(em("jane@x.com."), "INVALID");
	CHECK_STR(em("jane@-x.com"), "INVALID");
	CHECK_STR(em("jane@x-.com"), "INVALID");
	CHECK_STR(em("jane@x_y.com"), "INVALID");
	CHECK_STR(em("\"jane doe\"@x.com"), "INVALID");		/* quoted local part */
	CHECK_STR(em("\"jane\"@x.com"), "INVALID");
	CHECK_STR(em("jane@[10.0.0.1]"), "INVALID");		/* IP literal */
	CHECK_STR(em("jane@10.0.0.1"), "INVALID");		/* numeric "TLD" */
	CHECK_STR(em("Jane Doe <jane@x.com>"), "INVALID");
	CHECK_STR(em("mailto:jane@x.com"), "INVALID");
	CHECK_STR(em("j\xc3\xa9@x.com"), "INVALID");		/* non-ASCII local part */
	CHECK_STR(em("j@m\xc3\xbcnchen.de"), "INVALID");	/* Unicode domain */
	CHECK_STR(em("ja\x01ne@x.com"), "INVALID");
	CHECK_STR(em("jane@x.com\x7f"), "INVALID");
	CHECK_STR(em("ja\xffne@x.com"), "INVALID");		/* invalid UTF-8 */
	CHECK_STR(em("jane@x.com\xc3"), "INVALID");		/* truncated sequence */
	CHECK_STR(em("jane\xc2\xa0@x.com"), "INVALID");		/* NBSP inside */

	/* lengths: local part 64, label 63, total 254 */
	buf_reset(&long_addr);
	buf_addf(&long_addr, "%s@x.com", local64);
	CHECK_STR(em(long_addr.p), long_addr.p);
	buf_reset(&long_addr);
	buf_addf(&long_addr, "%s@x.com", local65);
	CHECK_STR(em(long_addr.p), "INVALID");
	buf_reset(&long_addr);
	buf_addf(&long_addr, "a@%s.com", label63);
	CHECK_STR(em(long_addr.p), long_addr.p);
	buf_reset(&long_addr);
	buf_addf(&long_addr, "a@%s.com", label64);
	CHECK_STR(em(long_addr.p), "INVALID");
	/* 64 + 1 + 63 + 1 + 63 + 1 + 61 = 254 */
	buf_reset(&long_addr);
	buf_addf(&long_addr, "%s@%s.%s.%.61s", local64, label63, label63, label63);
	CHECK(long_addr.len == 254);
	CHECK_STR(em(long_addr.p), long_addr.p);
	buf_addc(&long_addr, 'b');
	CHECK_STR(em(long_addr.p), "INVALID");

	free(local64);
	free(local65);
	free(label63);
	free(label64);
	buf_free(&long_addr);
	buf_free(&a);
	buf_free(&b);
}

static void
test_email_list(void)
{
	struct norm_email_list l = NORM_EMAIL_LIST_INIT;
	const char *in[] = { "other@x.com", "not an email", NULL, "  ", "Jane@X.com ",
		"OTHER@x.com", "jane@x.com", "bad@", "third@y.org" };
	const char *bad_primary[] = { "nope", "b@x.com", "A@x.com" };
	const char *many[NORM_EMAILS_MAX + 5];
	char addrs[NORM_EMAILS_MAX + 5][24];
	size_t i;

	CHECK(norm_email_list(in, ARRAY_LEN(in), 4, &l) == 2);
	CHECK(l.n == 3 && l.n_invalid == 2 && l.n_dropped == 0);
	CHECK_STR(norm_email_at(&l, 0), "jane@x.com");		/* primary first */
	CHECK_STR(norm_email_at(&l, 1), "other@x.com");		/* then input order, deduped */
	CHECK_STR(norm_email_at(&l, 2), "third@y.org");
	CHECK(norm_email_at(&l, 3) == NULL);
	CHECK_STR(norm_email_invalid_at(&l, 0), "not an email");	/* as given */
	CHECK_STR(norm_email_invalid_at(&l, 1), "bad@");
	CHECK(norm_email_invalid_at(&l, 2) == NULL);

	/* no primary: input order */
	CHECK(norm_email_list(in, ARRAY_LEN(in), (size_t)-1, &l) == 2);
	CHECK(l.n == 3);
	CHECK_STR(norm_email_at(&l, 0), "other@x.com");
	CHECK_STR(norm_email_at(&l, 1), "jane@x.com");

	/* an invalid primary is reported; the first valid one leads */
	CHECK(norm_email_list(bad_primary, 3, 0, &l) == 1);
	CHECK(l.n == 2);
	CHECK_STR(norm_email_at(&l, 0), "b@x.com");
	CHECK_STR(norm_email_at(&l, 1), "a@x.com");
	CHECK_STR(norm_email_invalid_at(&l, 0), "nope");

	/* primary is the same address as a later one: kept once, first */
	CHECK(norm_email_list(bad_primary, 3, 2, &l) == 1);
	CHECK(l.n == 2);
	CHECK_STR(norm_email_at(&l, 0), "a@x.com");

	/* nothing at all */
	CHECK(norm_email_list(NULL, 0, 0, &l) == 0);
	CHECK(l.n == 0 && l.n_invalid == 0 && norm_email_at(&l, 0) == NULL);

	/* the cap */
	for (i = 0; i < ARRAY_LEN(many); i++) {
		snprintf(addrs[i], sizeof(addrs[i]), "u%zu@x.com", i);
		many[i] = addrs[i];
	}
	CHECK(norm_email_list(many, ARRAY_LEN(many), 0, &l) == 0);
	CHECK(l.n == NORM_EMAILS_MAX && l.n_dropped == 5);
	CHECK_STR(norm_email_at(&l, NORM_EMAILS_MAX - 1), addrs[NORM_EMAILS_MAX - 1]);

	norm_email_list_free(&l);
	CHECK(l.n == 0 && l.emails.p == NULL);
	norm_email_list_free(&l);	/* twice is fine */
}

static void
test_phone_us(void)
{
	static const char *const forms[] = {
		"(415) 555-0100", "415.555.0100", "+1 415 555 0100", "001 415 555 0100",
		"011 1 415 555 0100", "1-415-555-0100", "4155550100", "+14155550100",
		"  +1-415-555-0100  ", "415/555/0100", "+1 (415) 555.0100", "tel:+1-415-555-0100",
		"415\xe2\x80\x93" "555\xe2\x80\x93" "0100",	/* en dashes */
		"415\xc2\xa0" "555\xc2\xa0" "0100",		/* NBSP */
	};
	size_t i;

	for (i = 0; i < ARRAY_LEN(forms); i++) {
		CHECK_STR(ph(forms[i], "US"), "+14155550100");
		CHECK_STR(g_ext.p, "");
	}
	CHECK_STR(ph("(415) 555-0100", "us"), "+14155550100");	/* region in any case */
	CHECK_STR(ph("(604) 555-0100", "CA"), "+16045550100");
	CHECK_STR(ph("+1 (415) 555-0100 x 22", "US"), "+14155550100");
	CHECK_STR(g_ext.p, "22");
	CHECK_STR(ph("415-555-0100x22", "US"), "+14155550100");
	CHECK_STR(g_ext.p, "22");
	CHECK_STR(ph("415-555-0100 ext. 123", "US"), "+14155550100");
	CHECK_STR(g_ext.p, "123");
	CHECK_STR(ph("415-555-0100 ext 123", "US"), "+14155550100");
	CHECK_STR(g_ext.p, "123");
	CHECK_STR(ph("415-555-0100 EXT.123", "US"), "+14155550100");
	CHECK_STR(g_ext.p, "123");
	CHECK_STR(ph("415-555-0100 extension 7", "US"), "+14155550100");
	CHECK_STR(g_ext.p, "7");
	CHECK_STR(ph("415-555-0100 #123", "US"), "+14155550100");
	CHECK_STR(g_ext.p, "123");
	CHECK_STR(ph("tel:+1-415-555-0100;ext=123", "US"), "+14155550100");
	CHECK_STR(g_ext.p, "123");
	CHECK_STR(ph("415-555-0100 X 9", "US"), "+14155550100");
	CHECK_STR(g_ext.p, "9");
	/* ext may be NULL */
	CHECK(norm_phone("415-555-0100 x22", "US", &g_out, NULL) == NORM_OK);
	CHECK_STR(g_out.p, "+14155550100");

	/* an international number entered in the US */
	CHECK_STR(ph("011 44 20 7946 0018", "US"), "+442079460018");
	CHECK_STR(ph("+44 20 7946 0018", "US"), "+442079460018");
	/* a US number entered elsewhere */
	CHECK_STR(ph("+1 415 555 0100", "GB"), "+14155550100");
	CHECK_STR(ph("00 1 415 555 0100", "DE"), "+14155550100");
	CHECK_STR(ph("+1 415 555 0100", NULL), "+14155550100");	/* no region needed */

	/* invalid */
	CHECK_STR(ph("555-0100", "US"), "INVALID");		/* too short */
	CHECK_STR(ph("415-555-01000", "US"), "INVALID");	/* 11 digits, no trunk */
	CHECK_STR(ph("+1 415 555 010", "US"), "INVALID");
	CHECK_STR(ph("1-800-FLOWERS", "US"), "INVALID");	/* vanity */
	CHECK_STR(ph("1-800-356-9377 (FLOWERS)", "US"), "INVALID");
	CHECK_STR(ph("call me", "US"), "INVALID");
	CHECK_STR(ph("n/a", "US"), "INVALID");
	CHECK_STR(ph("---", "US"), "INVALID");
	CHECK_STR(ph("()", "US"), "INVALID");
	CHECK_STR(ph("+", "US"), "INVALID");
	CHECK_STR(ph("++1 415 555 0100", "US"), "INVALID");
	CHECK_STR(ph("1+415 555 0100", "US"), "INVALID");
	CHECK_STR(ph("415 555 0100 x", "US"), "INVALID");	/* marker without digits */
	CHECK_STR(ph("415 555 0100 x12345678901", "US"), "INVALID");	/* ext too long */
	CHECK_STR(ph("415 555 0100 x22 x23", "US"), "INVALID");
	CHECK_STR(ph("415 555 0100 x22a", "US"), "INVALID");
	CHECK_STR(ph("x22", "US"), "INVALID");			/* only an extension */
	CHECK_STR(ph("415 555 0100; drop table", "US"), "INVALID");
	CHECK_STR(ph("+0 415 555 0100", "US"), "INVALID");	/* no code starts with 0 */
	CHECK_STR(ph("00", "US"), "INVALID");
	CHECK_STR(ph("+1234567890123456", NULL), "INVALID");	/* 16 digits */
	CHECK_STR(ph("(415) 555-0100", NULL), "INVALID");	/* national, no region */
	CHECK_STR(ph("(415) 555-0100", "ZZ"), "INVALID");
	CHECK_STR(ph("(415) 555-0100", "USA"), "INVALID");
	CHECK_STR(ph("(415) 555-0100", ""), "INVALID");

	/* empty */
	CHECK_STR(ph(NULL, "US"), "EMPTY");
	CHECK_STR(ph("", "US"), "EMPTY");
	CHECK_STR(ph("  \t ", "US"), "EMPTY");
}

static void
test_phone_world(void)
{
	/* GB: trunk 0; "(0)" in international form */
	CHECK_STR(ph("020 7946 0018", "GB"), "+442079460018");
	CHECK_STR(ph("+44 (0)20 7946 0018", "GB"), "+442079460018");
	CHECK_STR(ph("+44 (0)20 7946 0018", "US"), "+442079460018");
	CHECK_STR(ph("+44(0)2079460018", "DE"), "+442079460018");
	CHECK_STR(ph("0044 20 7946 0018", "GB"), "+442079460018");
	CHECK_STR(ph("(020) 7946 0018", "GB"), "+442079460018");
	CHECK_STR(ph("(0)20 7946 0018", "GB"), "+442079460018");
	CHECK_STR(ph("+44 20 (0)7946 0018", "GB"), "INVALID");	/* "(0)" elsewhere is a digit */
	CHECK_STR(ph("+370 (0)612 34567", "US"), "+37061234567");	/* LT: 8 or 0 */
	CHECK_STR(ph("2079460018", "GB"), "+442079460018");	/* trunk left out */
	CHECK_STR(ph("44 20 7946 0018", "GB"), "+442079460018");	/* code without '+' */
	CHECK_STR(ph("07700 900123", "gb"), "+447700900123");
	CHECK_STR(ph("+44 020 7946 0018", "GB"), "INVALID");	/* trunk without "(0)" */
	CHECK_STR(ph("020 7946", "GB"), "INVALID");

	/* DE, FR, NL, CH, AT: trunk 0 */
	CHECK_STR(ph("030 123456", "DE"), "+4930123456");
	CHECK_STR(ph("+49 (0)30 123456", "DE"), "+4930123456");
	CHECK_STR(ph("0151 23456789", "DE"), "+4915123456789");
	CHECK_STR(ph("01 23 45 67 89", "FR"), "+33123456789");
	CHECK_STR(ph("06.12.34.56.78", "FR"), "+33612345678");
	CHECK_STR(ph("+33 6 12 34 56 78", "FR"), "+33612345678");
	CHECK_STR(ph("020 123 4567", "NL"), "+31201234567");
	CHECK_STR(ph("044 668 18 00", "CH"), "+41446681800");
	CHECK_STR(ph("01 234 5678", "AT"), "+4312345678");

	/* IT keeps its leading 0; ES has no trunk prefix */
	CHECK_STR(ph("06 1234 5678", "IT"), "+390612345678");
	CHECK_STR(ph("+39 06 1234 5678", "IT"), "+390612345678");
	CHECK_STR(ph("+39 (0)6 1234 5678", "GB"), "+390612345678");	/* a digit in IT */
	CHECK_STR(ph("333 123 4567", "IT"), "+393331234567");
	CHECK_STR(ph("912 345 678", "ES"), "+34912345678");
	CHECK_STR(ph("+34 612 34 56 78", "FR"), "+34612345678");
	CHECK_STR(ph("0912 345 678", "ES"), "INVALID");		/* 10 digits */

	/* multi-digit and alternative trunk prefixes */
	CHECK_STR(ph("06 1 234 5678", "HU"), "+3612345678");
	CHECK_STR(ph("06 30 123 4567", "HU"), "+36301234567");
	CHECK_STR(ph("8 612 34567", "LT"), "+37061234567");
	CHECK_STR(ph("0 612 34567", "LT"), "+37061234567");
	CHECK_STR(ph("8 (495) 123-45-67", "RU"), "+74951234567");
	CHECK_STR(ph("+7 495 123 45 67", "KZ"), "+74951234567");

	/* other regions' own international prefixes */
	CHECK_STR(ph("0011 44 20 7946 0018", "AU"), "+442079460018");
	CHECK_STR(ph("010 1 415 555 0100", "JP"), "+14155550100");
	CHECK_STR(ph("011 44 20 7946 0018", "GB"), "INVALID");	/* 011 is NANP only */

	/* a sample across the table */
	CHECK_STR(ph("01 234 5678", "IE"), "+35312345678");
	CHECK_STR(ph("02 123 45 67", "BE"), "+3221234567");
	CHECK_STR(ph("32 12 34 56", "DK"), "+4532123456");
	CHECK_STR(ph("08-123 456 78", "SE"), "+46812345678");
	CHECK_STR(ph("22 12 34 56", "NO"), "+4722123456");
	CHECK_STR(ph("09 1234 567", "FI"), "+35891234567");
	CHECK_STR(ph("512 345 678", "PL"), "+48512345678");
	CHECK_STR(ph("601 123 456", "CZ"), "+420601123456");
	CHECK_STR(ph("0212 345 678", "RO"), "+40212345678");
	CHECK_STR(ph("210 123 4567", "GR"), "+302101234567");
	CHECK_STR(ph("912 345 678", "PT"), "+351912345678");
	CHECK_STR(ph("050 123 4567", "UA"), "+380501234567");
	CHECK_STR(ph("0532 123 45 67", "TR"), "+905321234567");
	CHECK_STR(ph("050-123-4567", "IL"), "+972501234567");
	CHECK_STR(ph("050 123 4567", "AE"), "+971501234567");
	CHECK_STR(ph("050 123 4567", "SA"), "+966501234567");
	CHECK_STR(ph("010 1234 5678", "EG"), "+201012345678");
	CHECK_STR(ph("021 123 4567", "ZA"), "+27211234567");
	CHECK_STR(ph("0803 123 4567", "NG"), "+2348031234567");
	CHECK_STR(ph("0712 345678", "KE"), "+254712345678");
	CHECK_STR(ph("0612-345678", "MA"), "+212612345678");
	CHECK_STR(ph("098765 43210", "IN"), "+919876543210");
	CHECK_STR(ph("+91 98765 43210", "US"), "+919876543210");
	CHECK_STR(ph("0300 1234567", "PK"), "+923001234567");
	CHECK_STR(ph("01712-345678", "BD"), "+8801712345678");
	CHECK_STR(ph("071 234 5678", "LK"), "+94712345678");
	CHECK_STR(ph("6123 4567", "SG"), "+6561234567");
	CHECK_STR(ph("012-345 6789", "MY"), "+60123456789");
	CHECK_STR(ph("081 234 5678", "TH"), "+66812345678");
	CHECK_STR(ph("091 234 56 78", "VN"), "+84912345678");
	CHECK_STR(ph("0917 123 4567", "PH"), "+639171234567");
	CHECK_STR(ph("0812-3456-789", "ID"), "+628123456789");
	CHECK_STR(ph("138 0013 8000", "CN"), "+8613800138000");	/* mobiles: no trunk */
	CHECK_STR(ph("0138 0013 8000", "CN"), "+8613800138000");
	CHECK_STR(ph("010 1234 5678", "CN"), "+861012345678");
	CHECK_STR(ph("9123 4567", "HK"), "+85291234567");
	CHECK_STR(ph("0912 345 678", "TW"), "+886912345678");
	CHECK_STR(ph("03-1234-5678", "JP"), "+81312345678");
	CHECK_STR(ph("090-1234-5678", "JP"), "+819012345678");
	CHECK_STR(ph("02-123-4567", "KR"), "+8221234567");
	CHECK_STR(ph("010-1234-5678", "KR"), "+821012345678");
	CHECK_STR(ph("(02) 9876 5432", "AU"), "+61298765432");
	CHECK_STR(ph("0412 345 678", "AU"), "+61412345678");
	CHECK_STR(ph("021 123 4567", "NZ"), "+64211234567");
	CHECK_STR(ph("(11) 91234-5678", "BR"), "+5511912345678");
	CHECK_STR(ph("011 4123-4567", "AR"), "+541141234567");
	CHECK_STR(ph("9 1234 5678", "CL"), "+56912345678");
	CHECK_STR(ph("310 123 4567", "CO"), "+573101234567");
	CHECK_STR(ph("55 1234 5678", "MX"), "+525512345678");
	CHECK_STR(ph("01 234 5678", "PE"), "+5112345678");
	CHECK_STR(ph("094 123 456", "UY"), "+59894123456");

	/* a calling code not in the table: 7..15 digits */
	CHECK_STR(ph("+998 90 123 45 67", "US"), "+998901234567");	/* Uzbekistan */
	CHECK_STR(ph("+686 1234", NULL), "+6861234");		/* Kiribati: 7 digits */
	CHECK_STR(ph("+686 123", NULL), "INVALID");		/* 6 */
	CHECK_STR(ph("+999 123 456 789 012", NULL), "+999123456789012");	/* 15 */
	CHECK_STR(ph("+999 123 456 789 0123", NULL), "INVALID");	/* 16 */
	CHECK_STR(ph("00 999 1234567", "FR"), "+9991234567");

	/* known code, implausible length */
	CHECK_STR(ph("+44 20 7946 00189", "US"), "INVALID");
	CHECK_STR(ph("+33 1 23 45 67", "US"), "INVALID");
	CHECK_STR(ph("+49 30 12", NULL), "INVALID");

	CHECK(norm_region_valid("US") && norm_region_valid("gb") && norm_region_valid("Jp"));
	CHECK(norm_region_valid("HU") && norm_region_valid("UY") && norm_region_valid("PR"));
	CHECK(!norm_region_valid("ZZ") && !norm_region_valid("USA") && !norm_region_valid("U"));
	CHECK(!norm_region_valid("") && !norm_region_valid(NULL) && !norm_region_valid("1A"));
}

static void
test_time(void)
{
	int64_t a, b, c, ms = 42;
	int only = 42;

	/* one instant, many spellings */
	a = ms_of("2026-01-05T10:00:00Z");
	b = ms_of("2026-01-05T10:00:00.000Z");
	c = ms_of("2026-01-05T12:00:00+02:00");
	CHECK(a == INT64_C(1767607200000));
	CHECK(a == b && b == c);
	CHECK(a == ms_of("2026-01-05T12:00:00+0200"));
	CHECK(a == ms_of("2026-01-05T12:00:00+02"));
	CHECK(a == ms_of("2026-01-05T05:30:00-04:30"));
	CHECK(a == ms_of("2026-01-05T10:00:00-00:00"));
	CHECK(a == ms_of("2026-01-05T10:00:00.000000000Z"));
	CHECK(a == ms_of("2026-01-05T10:00:00.0009Z"));		/* truncated, not rounded */
	CHECK(a == ms_of("2026-01-05 10:00:00"));		/* no zone: UTC */
	CHECK(a == ms_of("2026-01-05t10:00:00z"));
	CHECK(a == ms_of("2026-01-05T10:00Z"));
	CHECK(a == ms_of("2026-01-05T10:00"));
	CHECK(a == ms_of("  2026-01-05T10:00:00Z\n"));
	CHECK(a == ms_of("1767607200000"));			/* epoch ms */
	CHECK(a == ms_of("1767607200"));			/* epoch seconds */
	CHECK(a == ms_of("2026-01-05T09:00:00-01:00"));
	CHECK(a == ms_of("2026-01-06T00:00:00+14:00"));
	CHECK(ms_of("2026-01-05T10:00:00.5Z") == a + 500);
	CHECK(ms_of("2026-01-05T10:00:00.12Z") == a + 120);
	CHECK(ms_of("2026-01-05T10:00:00,123Z") == a + 123);
	CHECK(ms_of("2026-01-05T10:00:00.123456789Z") == a + 123);
	CHECK(ms_of("2026-01-05T10:00:00.999999Z") == a + 999);

	CHECK_STR(tm("2026-01-05T10:00:00Z", NORM_DATE_ISO), "2026-01-05T10:00:00.000Z");
	CHECK_STR(tm("2026-01-05T12:00:00.123+02:00", NORM_DATE_ISO), "2026-01-05T10:00:00.123Z");
	CHECK_STR(tm("2026-01-05T00:30:00+01:00", NORM_DATE_ISO), "2026-01-04T23:30:00.000Z");
	CHECK_STR(tm("2025-12-31T23:30:00-01:00", NORM_DATE_ISO), "2026-01-01T00:30:00.000Z");
	CHECK_STR(tm("100000000000", NORM_DATE_ISO), "1973-03-03T09:46:40.000Z");	/* 12 digits */
	CHECK_STR(tm("99999999999999", NORM_DATE_ISO), "5138-11-16T09:46:39.999Z");	/* 14 */
	CHECK_STR(tm("100000000", NORM_DATE_ISO), "1973-03-03T09:46:40.000Z");	/* 9 digits, s */
	CHECK_STR(tm("0", NORM_DATE_ISO), "INVALID");
	CHECK_STR(tm("20260105", NORM_DATE_ISO), "INVALID");	/* 8 digits: neither */
	CHECK_STR(tm("17676072000", NORM_DATE_ISO), "INVALID");	/* 11 digits: ambiguous */
	CHECK_STR(tm("176760720000000", NORM_DATE_ISO), "INVALID");	/* 15 digits */
	CHECK_STR(tm("-1767607200000", NORM_DATE_ISO), "INVALID");

	/* date only */
	CHECK(norm_time("2026-01-05", NORM_DATE_ISO, &ms, &only) == NORM_OK);
	CHECK(only == 1 && ms == INT64_C(1767571200000));
	CHECK(norm_time("2026-01-05T00:00:00Z", NORM_DATE_ISO, &ms, &only) == NORM_OK);
	CHECK(only == 0 && ms == INT64_C(1767571200000));
	CHECK(norm_time("1767607200000", NORM_DATE_ISO, &ms, &only) == NORM_OK && only == 0);
	CHECK_STR(tm("2026-01-05", NORM_DATE_ISO), "2026-01-05T00:00:00.000Z date");

	/* US and European day/month order */
	CHECK_STR(tm("01/05/2026", NORM_DATE_MDY), "2026-01-05T00:00:00.000Z date");
	CHECK_STR(tm("1/5/2026", NORM_DATE_MDY), "2026-01-05T00:00:00.000Z date");
	CHECK_STR(tm("05/01/2026", NORM_DATE_DMY), "2026-01-05T00:00:00.000Z date");
	CHECK_STR(tm("5/1/2026", NORM_DATE_DMY), "2026-01-05T00:00:00.000Z date");
	CHECK_STR(tm("05.01.2026", NORM_DATE_DMY), "2026-01-05T00:00:00.000Z date");
	CHECK_STR(tm("05-01-2026", NORM_DATE_DMY), "2026-01-05T00:00:00.000Z date");
	CHECK_STR(tm("12/31/2026", NORM_DATE_MDY), "2026-12-31T00:00:00.000Z date");
	CHECK_STR(tm("31/12/2026", NORM_DATE_DMY), "2026-12-31T00:00:00.000Z date");
	CHECK_STR(tm("12/31/2026", NORM_DATE_DMY), "INVALID");	/* month 31 */
	CHECK_STR(tm("31/12/2026", NORM_DATE_MDY), "INVALID");
	CHECK_STR(tm("01/05/2026", NORM_DATE_ISO), "INVALID");	/* order not given */
	CHECK_STR(tm("05/01.2026", NORM_DATE_DMY), "INVALID");	/* mixed separators */
	CHECK_STR(tm("005/01/2026", NORM_DATE_DMY), "INVALID");
	CHECK_STR(tm("5/1/26", NORM_DATE_DMY), "INVALID");	/* two-digit year */
	CHECK_STR(tm("/1/2026", NORM_DATE_DMY), "INVALID");
	CHECK_STR(tm("5//2026", NORM_DATE_DMY), "INVALID");
	CHECK_STR(tm("5/1/2026 10:00", NORM_DATE_DMY), "INVALID");
	CHECK_STR(tm("29/02/2023", NORM_DATE_DMY), "INVALID");
	CHECK_STR(tm("02/29/2024", NORM_DATE_MDY), "2024-02-29T00:00:00.000Z date");
	/* ISO is accepted whatever the order */
	CHECK_STR(tm("2026-01-05", NORM_DATE_DMY), "2026-01-05T00:00:00.000Z date");
	CHECK_STR(tm("2026-01-05T10:00:00Z", NORM_DATE_MDY), "2026-01-05T10:00:00.000Z");

	/* leap years */
	CHECK_STR(tm("2024-02-29", NORM_DATE_ISO), "2024-02-29T00:00:00.000Z date");
	CHECK_STR(tm("2000-02-29", NORM_DATE_ISO), "2000-02-29T00:00:00.000Z date");
	CHECK_STR(tm("2400-02-29", NORM_DATE_ISO), "2400-02-29T00:00:00.000Z date");
	CHECK_STR(tm("2023-02-29", NORM_DATE_ISO), "INVALID");
	CHECK_STR(tm("1900-02-29", NORM_DATE_ISO), "INVALID");
	CHECK_STR(tm("2100-02-29", NORM_DATE_ISO), "INVALID");
	CHECK(ms_of("2024-02-29") == INT64_C(1709164800000));
	CHECK(ms_of("2024-03-01") - ms_of("2024-02-28") == 2 * INT64_C(86400000));
	CHECK(ms_of("2023-03-01") - ms_of("2023-02-28") == INT64_C(86400000));
	CHECK(ms_of("2000-03-01") == INT64_C(951868800000));
	CHECK(ms_of("1970-01-01") == 0);
	CHECK(ms_of("1969-12-31T23:59:59.999Z") == -1);

	/* impossible dates and times */
	CHECK_STR(tm("2026-02-30", NORM_DATE_ISO), "INVALID");
	CHECK_STR(tm("2026-04-31", NORM_DATE_ISO), "INVALID");
	CHECK_STR(tm("2026-13-01", NORM_DATE_ISO), "INVALID");
	CHECK_STR(tm("2026-00-10", NORM_DATE_ISO), "INVALID");
	CHECK_STR(tm("2026-01-00", NORM_DATE_ISO), "INVALID");
	CHECK_STR(tm("2026-01-32", NORM_DATE_ISO), "INVALID");
	CHECK_STR(tm("2026-01-05T25:00:00Z", NORM_DATE_ISO), "INVALID");
	CHECK_STR(tm("2026-01-05T24:00:00Z", NORM_DATE_ISO), "INVALID");
	CHECK_STR(tm("2026-01-05T10:60:00Z", NORM_DATE_ISO), "INVALID");
	CHECK_STR(tm("2026-01-05T10:00:60Z", NORM_DATE_ISO), "INVALID");
	CHECK_STR(tm("2026-01-05T10:00:00+24:00", NORM_DATE_ISO), "INVALID");
	CHECK_STR(tm("2026-01-05T10:00:00+02:60", NORM_DATE_ISO), "INVALID");
	CHECK_STR(tm("2026-01-05T10:00:00+2", NORM_DATE_ISO), "INVALID");
	CHECK_STR(tm("2026-01-05T10:00:00+02:0", NORM_DATE_ISO), "INVALID");
	CHECK_STR(tm("2026-01-05T10:00:00 +02:00", NORM_DATE_ISO), "INVALID");
	CHECK_STR(tm("2026-01-05T10:00:00.Z", NORM_DATE_ISO), "INVALID");
	CHECK_STR(tm("2026-01-05T10:00:00ZZ", NORM_DATE_ISO), "INVALID");
	CHECK_STR(tm("2026-01-05T10", NORM_DATE_ISO), "INVALID");
	CHECK_STR(tm("2026-01-05T1:00:00Z", NORM_DATE_ISO), "INVALID");
	CHECK_STR(tm("2026-01-05X10:00:00Z", NORM_DATE_ISO), "INVALID");
	CHECK_STR(tm("2026-1-5", NORM_DATE_ISO), "INVALID");
	CHECK_STR(tm("26-01-05", NORM_DATE_ISO), "INVALID");
	CHECK_STR(tm("2026/01/05", NORM_DATE_ISO), "INVALID");
	CHECK_STR(tm("0000-01-01", NORM_DATE_ISO), "INVALID");	/* years 0001..9999 */
	CHECK_STR(tm("0001-01-01T00:00:00+01:00", NORM_DATE_ISO), "INVALID");	/* year 0 */
	CHECK_STR(tm("0001-01-01", NORM_DATE_ISO), "0001-01-01T00:00:00.000Z date");
	CHECK_STR(tm("9999-12-31T23:59:59.999Z", NORM_DATE_ISO), "9999-12-31T23:59:59.999Z");
	CHECK_STR(tm("9999-12-31T23:59:59-01:00", NORM_DATE_ISO), "INVALID");	/* year 10000 */
	CHECK_STR(tm("Jan 5, 2026", NORM_DATE_MDY), "INVALID");
	CHECK_STR(tm("yesterday", NORM_DATE_DMY), "INVALID");
	CHECK_STR(tm("null", NORM_DATE_ISO), "INVALID");

	/* absent */
	CHECK_STR(tm(NULL, NORM_DATE_ISO), "EMPTY");
	CHECK_STR(tm("", NORM_DATE_ISO), "EMPTY");
	CHECK_STR(tm(" \t", NORM_DATE_ISO), "EMPTY");

	/* outputs are written only on success */
	ms = 7;
	only = 7;
	CHECK(norm_time("2026-02-30", NORM_DATE_ISO, &ms, &only) == NORM_INVALID);
	CHECK(ms == 7 && only == 7);
}

static void
test_fmt(void)
{
	char d[11], dt[25];
	int64_t day, ms, bad = 0;
	struct buf in = BUF_INIT;

	CHECK(norm_fmt_date(INT64_C(1767607200000), d) == 0);
	CHECK_STR(d, "2026-01-05");
	CHECK(norm_fmt_datetime(INT64_C(1767607200123), dt) == 0);
	CHECK_STR(dt, "2026-01-05T10:00:00.123Z");
	CHECK(norm_fmt_date(0, d) == 0);
	CHECK_STR(d, "1970-01-01");
	CHECK(norm_fmt_datetime(-1, dt) == 0);
	CHECK_STR(dt, "1969-12-31T23:59:59.999Z");
	CHECK(norm_fmt_date(INT64_C(-62135596800000), d) == 0);
	CHECK_STR(d, "0001-01-01");
	CHECK(norm_fmt_datetime(INT64_C(253402300799999), dt) == 0);
	CHECK_STR(dt, "9999-12-31T23:59:59.999Z");
	CHECK(norm_fmt_date(INT64_C(-62135596800001), d) == -1);
	CHECK_STR(d, "");
	CHECK(norm_fmt_datetime(INT64_C(253402300800000), dt) == -1);
	CHECK_STR(dt, "");
	CHECK(norm_fmt_date(INT64_MIN, d) == -1 && norm_fmt_date(INT64_MAX, d) == -1);
	CHECK(norm_fmt_datetime(INT64_MIN, dt) == -1 && norm_fmt_datetime(INT64_MAX, dt) == -1);

	/* every day from 1600 to 2500 round-trips: parse(format(day)) == day,
	 * and consecutive days format to consecutive dates */
	for (day = -135140; day <= 193000; day++) {
		ms = day * INT64_C(86400000);
		if (norm_fmt_date(ms, d) != 0 || ms_of(d) != ms) {
			bad++;
			continue;
		}
		buf_reset(&in);
		buf_addf(&in, "%sT23:59:59.999Z", d);
		if (ms_of(in.p) != ms + INT64_C(86399999))
			bad++;
	}
	CHECK(bad == 0);
	buf_free(&in);
}

static void
test_text_and_names(void)
{
	struct buf f = BUF_INIT, l = BUF_INIT;

	CHECK_STR(tx("  Acme   Corp\t Ltd \n"), "Acme Corp Ltd");
	CHECK_STR(tx("Senior\xc2\xa0\xe2\x80\x83" "Engineer"), "Senior Engineer");
	CHECK_STR(tx("Zo\xc3\xab  Saldana"), "Zo\xc3\xab Saldana");	/* accents kept */
	CHECK_STR(tx("McDonald"), "McDonald");				/* case kept */
	CHECK_STR(tx("a\r\nb"), "a b");
	CHECK_STR(tx(NULL), "EMPTY");
	CHECK_STR(tx(""), "EMPTY");
	CHECK_STR(tx(" \t\n\xe3\x80\x80"), "EMPTY");
	CHECK_STR(tx("ab\x01" "cd"), "INVALID");
	CHECK_STR(tx("ab\x1b[31mcd"), "INVALID");			/* terminal escape */
	CHECK_STR(tx("ab\x7f"), "INVALID");
	CHECK_STR(tx("ab\xc2\x9b" "cd"), "INVALID");			/* C1 CSI */
	CHECK_STR(tx("ab\xff"), "INVALID");
	CHECK_STR(tx("ab\xc0\xaf"), "INVALID");				/* overlong */
	CHECK_STR(tx("ab\xed\xa0\x80"), "INVALID");			/* surrogate */

	CHECK(norm_split_name("Mary Ann Smith", &f, &l) == NORM_OK);
	CHECK_STR(f.p, "Mary");
	CHECK_STR(l.p, "Ann Smith");
	CHECK(norm_split_name("Cher", &f, &l) == NORM_OK);
	CHECK_STR(f.p, "Cher");
	CHECK_STR(l.p, "");
	CHECK(norm_split_name("  Jean-Luc   Picard ", &f, &l) == NORM_OK);
	CHECK_STR(f.p, "Jean-Luc");
	CHECK_STR(l.p, "Picard");
	CHECK(norm_split_name("Ludwig van  Beethoven", &f, &l) == NORM_OK);
	CHECK_STR(f.p, "Ludwig");
	CHECK_STR(l.p, "van Beethoven");
	CHECK(norm_split_name("Dr. Jane Doe", &f, &l) == NORM_OK);	/* no title rules */
	CHECK_STR(f.p, "Dr.");
	CHECK_STR(l.p, "Jane Doe");
	CHECK(norm_split_name("Jos\xc3\xa9\xc2\xa0Garc\xc3\xad" "a", &f, &l) == NORM_OK);
	CHECK_STR(f.p, "Jos\xc3\xa9");
	CHECK_STR(l.p, "Garc\xc3\xad" "a");
	CHECK(norm_split_name("\xe5\xb1\xb1\xe7\x94\xb0 \xe5\xa4\xaa\xe9\x83\x8e", &f, &l) == NORM_OK);
	CHECK_STR(f.p, "\xe5\xb1\xb1\xe7\x94\xb0");
	CHECK_STR(l.p, "\xe5\xa4\xaa\xe9\x83\x8e");
	CHECK(norm_split_name("   ", &f, &l) == NORM_EMPTY);
	CHECK_STR(f.p, "");
	CHECK_STR(l.p, "");
	CHECK(norm_split_name(NULL, &f, &l) == NORM_EMPTY);
	CHECK_STR(f.p, "");
	CHECK_STR(l.p, "");
	CHECK(norm_split_name("Jane\x01 Doe", &f, &l) == NORM_INVALID);
	CHECK_STR(f.p, "");
	CHECK_STR(l.p, "");
	CHECK(norm_split_name("Jane \xff" "Doe", &f, &l) == NORM_INVALID);
	/* outputs are reset between calls */
	CHECK(norm_split_name("A B", &f, &l) == NORM_OK && norm_split_name("C", &f, &l) == NORM_OK);
	CHECK_STR(f.p, "C");
	CHECK_STR(l.p, "");

	buf_free(&f);
	buf_free(&l);
}

static void
test_status(void)
{
	enum norm_status st = NORM_STATUS__MAX;
	static const struct {
		const char *in;
		enum norm_status want;
	} ok[] = {
		{ "active", NORM_STATUS_ACTIVE }, { "Active", NORM_STATUS_ACTIVE },
		{ "in_process", NORM_STATUS_ACTIVE }, { "in process", NORM_STATUS_ACTIVE },
		{ "In-Process", NORM_STATUS_ACTIVE }, { " IN  PROCESS ", NORM_STATUS_ACTIVE },
		{ "Lead", NORM_STATUS_ACTIVE }, { "converted", NORM_STATUS_ACTIVE },
		{ "rejected", NORM_STATUS_REJECTED }, { "REJECTED", NORM_STATUS_REJECTED },
		{ "hired", NORM_STATUS_HIRED }, { "Hired\n", NORM_STATUS_HIRED },
		{ "withdrawn", NORM_STATUS_WITHDRAWN }, { "archived", NORM_STATUS_ARCHIVED },
		{ "Archived", NORM_STATUS_ARCHIVED },
	};
	static const char *const bad[] = { "", "  ", "pending", "inprocess", "in process!",
		"hired1", "_active", "act ive", "rejected\x01", "r\xc3\xa9jected", "\xff" };
	size_t i;

	for (i = 0; i < ARRAY_LEN(ok); i++) {
		st = NORM_STATUS__MAX;
		CHECK(norm_status(ok[i].in, &st) == 0 && st == ok[i].want);
	}
	for (i = 0; i < ARRAY_LEN(bad); i++) {
		st = NORM_STATUS__MAX;
		CHECK(norm_status(bad[i], &st) == -1 && st == NORM_STATUS__MAX);
	}
	CHECK(norm_status(NULL, &st) == -1);
	CHECK_STR(norm_status_str(NORM_STATUS_ACTIVE), "active");
	CHECK_STR(norm_status_str(NORM_STATUS_REJECTED), "rejected");
	CHECK_STR(norm_status_str(NORM_STATUS_HIRED), "hired");
	CHECK_STR(norm_status_str(NORM_STATUS_WITHDRAWN), "withdrawn");
	CHECK_STR(norm_status_str(NORM_STATUS_ARCHIVED), "archived");
	CHECK_STR(norm_status_str(NORM_STATUS__MAX), "?");
	CHECK_STR(norm_status_str((enum norm_status)-1), "?");
	/* every canonical name parses back to itself */
	for (i = 0; i < NORM_STATUS__MAX; i++)
		CHECK(norm_status(norm_status_str((enum norm_status)i), &st) == 0 &&
		    st == (enum norm_status)i);
}

/* 10 KB strings, control characters and invalid UTF-8 into every function. */
static void
test_hostile(void)
{
	char *big_a = rep('a', 10240), *big_9 = rep('9', 10240), *big_sp = rep(' ', 10240);
	char *max = rep('a', NORM_MAX_INPUT), *over = rep('a', NORM_MAX_INPUT + 1);
	struct buf f = BUF_INIT, l = BUF_INIT, big_email = BUF_INIT;
	struct norm_email_list list = NORM_EMAIL_LIST_INIT;
	const char *in[3];
	enum norm_status st;
	int64_t ms = 0;
	int only;

	buf_adds(&big_email, big_a);
	buf_adds(&big_email, "@x.com");
	CHECK_STR(em(big_a), "INVALID");
	CHECK_STR(em(big_email.p), "INVALID");
	CHECK_STR(em(big_sp), "INVALID");	/* too long, even if only whitespace */
	CHECK_STR(ph(big_9, "US"), "INVALID");
	CHECK_STR(ph(big_sp, "US"), "INVALID");
	CHECK_STR(tm(big_9, NORM_DATE_ISO), "INVALID");
	CHECK_STR(tm(big_a, NORM_DATE_DMY), "INVALID");
	CHECK_STR(tx(big_a), "INVALID");
	CHECK(norm_split_name(big_a, &f, &l) == NORM_INVALID);
	CHECK(norm_status(big_a, &st) == -1);
	CHECK(!norm_region_valid(big_a));

	/* exactly NORM_MAX_INPUT bytes is fine, one more is not */
	CHECK_STR(tx(max), max);
	CHECK_STR(tx(over), "INVALID");
	/* 999 digits: long but under the cap; no overflow in the epoch path */
	max[NORM_MAX_INPUT - 1] = '\0';
	memset(max, '9', NORM_MAX_INPUT - 1);
	CHECK_STR(tm(max, NORM_DATE_ISO), "INVALID");
	CHECK_STR(ph(max, "US"), "INVALID");
	CHECK(norm_time(max, NORM_DATE_MDY, &ms, &only) == NORM_INVALID);

	/* the list keeps rejected inputs cut at NORM_MAX_INPUT bytes */
	in[0] = big_a;
	in[1] = "ok@x.com";
	in[2] = "bad\x1b[2J@x.com";
	CHECK(norm_email_list(in, 3, 0, &list) == 2);
	CHECK(list.n == 1);
	CHECK_STR(norm_email_at(&list, 0), "ok@x.com");
	CHECK(strlen(norm_email_invalid_at(&list, 0)) == NORM_MAX_INPUT);
	CHECK_STR(norm_email_invalid_at(&list, 1), "bad\x1b[2J@x.com");

	/* control characters */
	CHECK_STR(ph("415\x00" "555", "US"), "INVALID");	/* stops at NUL: 3 digits */
	CHECK_STR(ph("415\x01" "555 0100", "US"), "INVALID");
	CHECK_STR(ph("415 555 0100\x1b", "US"), "INVALID");
	CHECK_STR(ph("415 555 0100 x\x7f" "1", "US"), "INVALID");
	CHECK_STR(tm("2026-01-05\x01", NORM_DATE_ISO), "INVALID");
	CHECK_STR(tm("2026-01-05T10:00:00Z\x7f", NORM_DATE_ISO), "INVALID");
	CHECK(norm_status("hired\x1b", &st) == -1);

	/* invalid UTF-8 */
	CHECK_STR(ph("415 555 0100\xff", "US"), "INVALID");
	CHECK_STR(ph("\xc2", "US"), "INVALID");
	CHECK_STR(ph("+1 415 555 0100\xe2\x80", "US"), "INVALID");
	CHECK_STR(tm("2026-01-05\xc3", NORM_DATE_ISO), "INVALID");
	CHECK_STR(tm("\xef\xbb\xbf" "2026-01-05", NORM_DATE_ISO), "INVALID");	/* BOM */
	CHECK_STR(em("\xf5\x80\x80\x80@x.com"), "INVALID");
	CHECK_STR(tx("\xf4\x90\x80\x80"), "INVALID");				/* > U+10FFFF */

	/* hostile region codes */
	CHECK_STR(ph("415 555 0100", "U\xff"), "INVALID");
	CHECK_STR(ph("415 555 0100", "US\n"), "INVALID");

	free(big_a);
	free(big_9);
	free(big_sp);
	free(max);
	free(over);
	buf_free(&f);
	buf_free(&l);
	buf_free(&big_email);
	norm_email_list_free(&list);
}

int
main(void)
{
	test_email();
	test_email_list();
	test_phone_us();
	test_phone_world();
	test_time();
	test_fmt();
	test_text_and_names();
	test_status();
	test_hostile();
	buf_free(&g_out);
	buf_free(&g_ext);
	return t_done("test_norm");
}
