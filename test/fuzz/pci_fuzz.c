/* SPDX-License-Identifier: MIT */
/*
 * pci_fuzz.c — hmi_parse_pci_addr (hugemem status --vfio-device, and the
 * DMA layer's device names) on any text.
 *
 * Properties, for every input:
 *  - it agrees with a small reference model of the documented grammar:
 *    [4-8 hex ':'] 2 hex ':' 2 hex '.' 1 hex, device <= 1f, function <= 7,
 *    nothing else. Accepted exactly when the model accepts, same fields;
 *  - a failure is -EINVAL with a one-line message, the result untouched;
 *  - the canonical form ("%04x:%02x:%02x.%x") parses to the same fields and
 *    is its own canonical form;
 *  - the case of the letters does not matter.
 */
#include "fuzz.h"
#include "parse/parse.h"

#include <ctype.h>

/* N hex digits exactly at *P (moved past them) into *V. */
static int model_hex(const char **p, int min, int max, uint32_t *v)
{
	int n = 0;

	*v = 0;
	while (isxdigit((unsigned char)**p) && n < max + 1) {
		*v = *v * 16 + (uint32_t)(isdigit((unsigned char)**p) ? **p - '0'
								       : (tolower((unsigned char)**p) - 'a' + 10));
		(*p)++;
		n++;
	}
	return n >= min && n <= max;
}

/* The reference model: 1 and *A when TEXT is an address, else 0. */
static int model(const char *text, struct hmi_pci_addr *a)
{
	const char *p = text;
	uint32_t d = 0, b, dv, f;
	int colons = 0;

	for (const char *c = text; *c; c++)
		colons += *c == ':';
	if (colons == 2 && (!model_hex(&p, 4, 8, &d) || *p++ != ':'))
		return 0;
	if ((colons != 1 && colons != 2) || !model_hex(&p, 2, 2, &b) || *p++ != ':' ||
	    !model_hex(&p, 2, 2, &dv) || *p++ != '.' || !model_hex(&p, 1, 1, &f) || *p)
		return 0;
	if (dv > 0x1f || f > 7)
		return 0;
	*a = (struct hmi_pci_addr){d, (uint8_t)b, (uint8_t)dv, (uint8_t)f};
	return 1;
}

static int same(const struct hmi_pci_addr *x, const struct hmi_pci_addr *y)
{
	return x->domain == y->domain && x->bus == y->bus && x->dev == y->dev && x->fn == y->fn;
}

static void check_canonical(struct hm_ctx *ctx, const struct hmi_pci_addr *a)
{
	char buf[HM_PCI_ADDR_MAX], again_buf[HM_PCI_ADDR_MAX];
	struct hmi_pci_addr again;
	int rc;

	hmi_pci_addr_format(a, buf, sizeof(buf));
	rc = hmi_parse_pci_addr(ctx, buf, &again);
	FUZZ_CHECK(rc == 0 && same(a, &again), "canonical '%s' reads back as %d", buf, rc);
	rc = hmi_pci_addr_canonical(ctx, buf, again_buf, sizeof(again_buf));
	FUZZ_CHECK(rc == 0 && strcmp(buf, again_buf) == 0, "'%s' is not its own canonical form",
		   buf);
}

static void check_case(struct hm_ctx *ctx, char *text, int rc, const struct hmi_pci_addr *a)
{
	struct hmi_pci_addr other = {0};
	int rc2;

	for (char *p = text; *p; p++)
		if (isalpha((unsigned char)*p))
			*p = (char)(isupper((unsigned char)*p) ? tolower((unsigned char)*p)
							       : toupper((unsigned char)*p));
	rc2 = hmi_parse_pci_addr(ctx, text, &other);
	FUZZ_CHECK(rc2 == rc && (rc < 0 || same(a, &other)),
		   "case-swapped '%s' gives %d, the original %d", text, rc2, rc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hm_ctx *ctx = fuzz_ctx();
	char *text = fuzz_text(data, size);
	struct hmi_pci_addr a = {0xdead, 1, 2, 3}, want = {0};
	int rc = hmi_parse_pci_addr(ctx, text, &a), accepted = model(text, &want);

	FUZZ_CHECK(rc == 0 || rc == -EINVAL, "hmi_parse_pci_addr returned %d", rc);
	fuzz_failed(ctx, rc, "hmi_parse_pci_addr");
	FUZZ_CHECK(rc == 0 || (a.domain == 0xdead && a.bus == 1 && a.dev == 2 && a.fn == 3),
		   "failed, yet the result changed");
	FUZZ_CHECK((rc == 0) == accepted, "'%s': parser %d, the model %s", text, rc,
		   accepted ? "accepts it" : "refuses it");
	if (rc == 0) {
		FUZZ_CHECK(same(&a, &want), "'%s': fields differ from the model's", text);
		check_canonical(ctx, &a);
	}
	check_case(ctx, text, rc, &a);
	free(text);
	return 0;
}
