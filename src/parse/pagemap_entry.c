/* SPDX-License-Identifier: MIT */
/*
 * parse/pagemap_entry.c — one /proc/self/pagemap entry (Documentation/admin-guide/mm/
 * pagemap.rst): bit 63 says the page is present in RAM, bits 0-54 hold its
 * page frame number. Without CAP_SYS_ADMIN the kernel zeroes the PFN of a
 * present page, so "present with PFN 0" means "physical address hidden";
 * the caller decides what to do with that.
 */
#include "base/ctx.h"

#define PAGEMAP_PRESENT	 (1ULL << 63)
#define PAGEMAP_PFN_MASK ((1ULL << 55) - 1)

int hm_pagemap_decode(uint64_t entry, uint64_t *pfn)
{
	int present = (entry & PAGEMAP_PRESENT) != 0;

	if (pfn)
		*pfn = present ? entry & PAGEMAP_PFN_MASK : 0;
	return present;
}
