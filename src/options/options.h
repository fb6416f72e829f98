/* SPDX-License-Identifier: MIT */
/*
 * options.h — the options layer's internal side: how the other layers read a
 * caller's struct hm_opts, whatever version of the header it was built with.
 */
#ifndef HM_OPTIONS_H
#define HM_OPTIONS_H

#include "base/ctx.h" /* hugemem.h with its default visibility */

#include <stddef.h>

/* The size of the first version of struct hm_opts (hugemem 0.2.0, ABI
 * HUGEMEM_0): the end of its last field. It never changes; fields are only
 * appended, and a caller's size below it is refused. */
#define HMI_OPTS_SIZE_0 (offsetof(struct hm_opts, zones) + sizeof(struct hm_zone_spec *))

/* Copy the caller's options O into *OUT, the library's layout: the bytes
 * O->size covers, defaults for the rest. -EINVAL (the message names FN and
 * the fix) for O NULL, a size below HMI_OPTS_SIZE_0 (0: hm_opts_init was not
 * called) or above the library's, or n_zones without an array. */
int hmi_opts_take(struct hm_ctx *ctx, const struct hm_opts *o, struct hm_opts *out, const char *fn);

#endif
