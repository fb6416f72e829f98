/* SPDX-License-Identifier: MIT */
/*
 * parse/pci.c — a PCI device's address as a user or sysfs writes it.
 *
 * The kernel names a PCI device "%04x:%02x:%02x.%d" (domain, bus, device,
 * function: drivers/pci/probe.c), and lspci -D, DPDK's -a and VFIO's
 * /sys/bus/pci/devices/<name> all use that name; "BB:DD.F" without the
 * domain is lspci's short form for domain 0. The parser is strict, so that
 * the name it hands on is the one sysfs has: hex digits of either case
 * (written back lower case), the domain 4 to 8 digits (domains past ffff
 * exist: Intel VMD numbers its own from 10000), bus and device exactly 2,
 * function exactly 1, device at most 1f and function at most 7, nothing
 * before or after (no space, no newline).
 */
#include "parse/parse.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define FORM "DDDD:BB:DD.F or BB:DD.F (hex), e.g. 0000:03:00.0"

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
		return (c | 0x20) - 'a' + 10;
	return -1;
}

/* The run of hex digits at *P (moved past it): how many, and their value in
 * *V (only the last 8 count; the caller refuses longer runs). */
static int take_hex(const char **p, uint32_t *v)
{
	int n = 0;

	*v = 0;
	for (; hex_value(**p) >= 0; (*p)++, n++)
		*v = (*v << 4) | (uint32_t)hex_value(**p);
	return n;
}

static int bad(struct hm_ctx *ctx, const char *text, const char *why)
{
	if (!ctx)
		return -EINVAL;
	return hmi_err(ctx, EINVAL, "PCI address '%.40s'%s%s: give " FORM, text, why[0] ? " " : "",
		       why);
}

/* The fields of TEXT, whose shape is already known to be right. */
static int check_ranges(struct hm_ctx *ctx, const char *text, uint32_t dev, uint32_t fn)
{
	char why[64];

	if (dev > 0x1f) {
		snprintf(why, sizeof(why), "has device %02x, past 1f", dev);
		return bad(ctx, text, why);
	}
	if (fn > 7) {
		snprintf(why, sizeof(why), "has function %x, past 7", fn);
		return bad(ctx, text, why);
	}
	return 0;
}

int hmi_parse_pci_addr(struct hm_ctx *ctx, const char *text, struct hmi_pci_addr *addr)
{
	const char *p = text;
	uint32_t f[4] = {0};
	int n[4] = {0}, i = 0, rc;

	if (!text || !text[0])
		return bad(ctx, text ? text : "", "is empty");
	/* up to four runs of hex digits, ':' ':' '.' between them */
	for (n[i] = take_hex(&p, &f[i]); *p == ':' && i < 2; n[i] = take_hex(&p, &f[i]))
		p++, i++;
	if (*p != '.' || i < 1)
		return bad(ctx, text, "is not of that form");
	p++;
	i++;
	n[i] = take_hex(&p, &f[i]);
	if (i == 2) { /* BB:DD.F: domain 0 */
		memmove(&f[1], &f[0], 3 * sizeof(f[0]));
		memmove(&n[1], &n[0], 3 * sizeof(n[0]));
		f[0] = 0;
		n[0] = 4;
	}
	if (n[0] < 4 || n[0] > 8 || n[1] != 2 || n[2] != 2 || n[3] != 1)
		return bad(ctx, text, "is not of that form");
	if (*p)
		return bad(ctx, text, "has more after the function");
	rc = check_ranges(ctx, text, f[2], f[3]);
	if (rc == 0)
		*addr = (struct hmi_pci_addr){f[0], (uint8_t)f[1], (uint8_t)f[2], (uint8_t)f[3]};
	return rc;
}

void hmi_pci_addr_format(const struct hmi_pci_addr *addr, char *buf, size_t len)
{
	snprintf(buf, len, "%04x:%02x:%02x.%x", addr->domain, addr->bus, addr->dev, addr->fn);
}

int hmi_pci_addr_canonical(struct hm_ctx *ctx, const char *text, char *buf, size_t len)
{
	struct hmi_pci_addr a;
	int rc = hmi_parse_pci_addr(ctx, text, &a);

	if (rc == 0)
		hmi_pci_addr_format(&a, buf, len);
	return rc;
}
