/* SPDX-License-Identifier: MIT */
/*
 * pci_parse_test.c — parse/'s PCI address parser (hmi_parse_pci_addr and
 * its canonical form): the two forms users write, hex in either case, the
 * edges of every range, domains past ffff (Intel VMD), and every way an
 * address can be wrong — each -EINVAL with one message naming the input and
 * the form, and the result left untouched.
 */
#include "parse/parse.h"
#include "tap.h"

#include <errno.h>
#include <string.h>

static struct hm_ctx *ctx;

/* TEXT for a test's name: a newline written as \\n, so TAP keeps one line. */
static const char *shown(const char *text)
{
	static char buf[128];
	size_t n = 0;

	for (; *text && n + 3 < sizeof(buf); text++) {
		if (*text == '\n') {
			buf[n++] = '\\';
			buf[n++] = 'n';
		} else {
			buf[n++] = *text;
		}
	}
	buf[n] = '\0';
	return buf;
}

/* TEXT parses, and its canonical form is WANT. */
static void good(const char *text, const char *want)
{
	char buf[HM_PCI_ADDR_MAX] = "";
	int rc = hmi_pci_addr_canonical(ctx, text, buf, sizeof(buf));

	ok(rc == 0 && strcmp(buf, want) == 0, "'%s' -> '%s'", text, want);
	if (rc < 0 || strcmp(buf, want) != 0)
		diag("  rc %d, got '%s' (%s)", rc, buf, hm_errmsg(ctx));
}

/* TEXT is refused with a message holding WHY; the address is untouched. */
static void bad(const char *text, const char *why)
{
	struct hmi_pci_addr a = {0x1234, 5, 6, 7};
	int rc = hmi_parse_pci_addr(ctx, text, &a);

	ok(rc == -EINVAL && a.domain == 0x1234 && a.bus == 5 && a.dev == 6 && a.fn == 7 &&
	       strstr(hm_errmsg(ctx), why) && strstr(hm_errmsg(ctx), "DDDD:BB:DD.F"),
	   "'%s' is refused: %s", shown(text), why);
	if (rc != -EINVAL || !strstr(hm_errmsg(ctx), why))
		diag("  rc %d: %s", rc, hm_errmsg(ctx));
}

static void test_good(void)
{
	struct hmi_pci_addr a;

	good("0000:00:05.0", "0000:00:05.0");
	good("00:05.0", "0000:00:05.0");
	good("0000:03:00.1", "0000:03:00.1");
	good("ABCD:EF:1F.7", "abcd:ef:1f.7");
	good("ff:1f.7", "0000:ff:1f.7");
	good("10000:e1:00.0", "10000:e1:00.0");
	good("ffffffff:00:00.0", "ffffffff:00:00.0");
	good("0001:00:00.0", "0001:00:00.0");
	is_int(hmi_parse_pci_addr(ctx, "0002:3a:1e.6", &a), 0, "fields: parses");
	ok(a.domain == 2 && a.bus == 0x3a && a.dev == 0x1e && a.fn == 6,
	   "fields: domain 2, bus 3a, device 1e, function 6");
	is_int(hmi_parse_pci_addr(NULL, "zz", &a), -EINVAL, "no context: still -EINVAL");
}

static void test_bad(void)
{
	bad("", "is empty");
	bad("0000:00:20.0", "device 20, past 1f");
	bad("00:ff.0", "device ff, past 1f");
	bad("0000:00:05.8", "function 8, past 7");
	bad("0000:00:05.f", "function f, past 7");
	bad("000:00:05.0", "not of that form");
	bad("123456789:00:05.0", "not of that form");
	bad("0000:0:05.0", "not of that form");
	bad("0000:000:05.0", "not of that form");
	bad("0000:00:5.0", "not of that form");
	bad("0000:00:05.00", "not of that form");
	bad("0000:00:05", "not of that form");
	bad("05.0", "not of that form");
	bad("0000:00:00:05.0", "not of that form");
	bad("0000:00:05.0\n", "more after the function");
	bad("0000:00:05.0 ", "more after the function");
	bad(" 0000:00:05.0", "not of that form");
	bad("0x00:05.0", "not of that form");
	bad("g000:00:05.0", "not of that form");
	bad("0000:00:05.-1", "not of that form");
	bad("0000-00-05.0", "not of that form");
	bad("eth0", "not of that form");
	bad("0000:00:05.0.0", "more after the function");
	bad("0000:00:05.0\n0000:00:06.0", "more after the function");
	like(hm_errmsg(ctx), "?", "a newline in the input is not written into the message");
	ok(strchr(hm_errmsg(ctx), '\n') == NULL, "the message stays on one line");
}

int main(void)
{
	if (hm_ctx_new(&ctx) < 0)
		return 1;
	test_good();
	test_bad();
	hm_ctx_free(ctx);
	return done();
}
