/* SPDX-License-Identifier: MIT */
/*
 * mem/notes.c — the things hm_init says once (hm_layout_info's notes: "rounded
 * up", "IOVA = VA", "--max-mem past the pool"), from its flow and its set-up
 * of growth alike.
 */
#include "mem/mem.h"

#include <stdarg.h>
#include <stdio.h>

void hmi_mem_note(struct hmi_mem *pr, const char *fmt, ...)
{
	va_list ap;
	int i = pr->tab.info.n_notes;

	if (i >= HM_MAX_NOTES)
		return;
	va_start(ap, fmt);
	vsnprintf(pr->notes[i], sizeof(pr->notes[i]), fmt, ap);
	va_end(ap);
	pr->tab.info.notes[i] = pr->notes[i];
	pr->tab.info.n_notes++;
}
