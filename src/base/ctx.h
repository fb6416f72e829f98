/* SPDX-License-Identifier: MIT */
/*
 * base/ctx.h — what every library file shares: the context, error reporting, paths
 * below the root prefix, and strict reading of small sysfs/procfs files.
 * Internal: names are hmi_*, never exported.
 */
#ifndef HM_CTX_H
#define HM_CTX_H

#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

/* Public declarations keep default visibility; everything else in the
 * library is hidden (-fvisibility=hidden). */
#pragma GCC visibility push(default)
#include "hugemem.h"
#pragma GCC visibility pop

#define HMI_ERR_MAX 1024

struct hmi_mem;
struct hmi_segtab;
struct hmi_heapslot;
struct hmi_dma;
struct hmi_grow;
struct hmi_events;

struct hm_ctx {
	/* The memory this context holds, set by hm_init or hm_attach (mem/) and
	 * cleared by hm_fini. Each layer reads only its own part, through its own
	 * pointer (the types stay opaque below their layer): the segment table
	 * and translation (layout/), the heap's arena (heap/), the rest (mem/). */
	struct hmi_mem *mem;
	struct hmi_segtab *tab;
	struct hmi_heapslot *heap;
	struct hmi_dma *dma;	   /* the devices' domain (dma/), NULL when none */
	struct hmi_grow *grow;	   /* growth at run time (grow/), NULL when none */
	struct hmi_events *events; /* memory-event callbacks (grow/events.c), NULL when none */
	char root[HM_PATH_MAX];	   /* "" means "/": paths are root + "/sys/..." */
	char rundir[HM_PATH_MAX];  /* base of per-prefix runtime directories */
	char err[HMI_ERR_MAX];	   /* last error message */
	hm_progress_fn *progress;  /* hm_ctx_set_progress, NULL = none */
	void *progress_arg;
	atomic_int cancel; /* hm_ctx_cancel: set from any thread or signal handler */
};

#define HMI_PRINTF(a, b) __attribute__((format(printf, a, b)))

/* One read of a word of shared memory: another process, or a stray write by
 * the application, may change it at any moment, so a value is read once into
 * a local, checked, and only the local is used. */
#define HMI_READ(x)	  __atomic_load_n(&(x), __ATOMIC_RELAXED)
#define HMI_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* A * B, or UINT64_MAX when that does not fit: sizes read from outside. */
static inline uint64_t hmi_mul_sat(uint64_t a, uint64_t b)
{
	return a != 0 && b > UINT64_MAX / a ? UINT64_MAX : a * b;
}

/* The fork generation: how many forks (pthread_atfork child handlers) stand
 * between this process and the first one that loaded the library. Memory a
 * context holds records it when made (hmi_fork_watch); a process whose count
 * differs is a forked child, which holds none of that memory (it is
 * MADV_DONTFORK) and must not act on the parent's prefix. One load, no
 * system call: the heap's fast paths check it on every call. */
extern unsigned long hmi_fork_generation __attribute__((visibility("hidden")));

/* Register the atfork handler (once per process) and return the generation
 * now: call it before recording the generation of new memory. */
unsigned long hmi_fork_watch(void);

/* Record a message for ERR (a positive errno) and return -ERR. */
int hmi_err(struct hm_ctx *ctx, int err, const char *fmt, ...) HMI_PRINTF(3, 4);
int hmi_verr(struct hm_ctx *ctx, int err, const char *fmt, va_list ap) HMI_PRINTF(3, 0);

/* Clear the last message (start of a public call that may succeed). */
void hmi_err_clear(struct hm_ctx *ctx);

/* A pending hm_ctx_cancel: take it (clear it) and return -ECANCELED with a
 * message; 0 when none. Long work calls it between steps. */
int hmi_cancel_check(struct hm_ctx *ctx);

/* BUF = root + the formatted absolute path ("/proc/meminfo"). -ENAMETOOLONG
 * (with a message) when it does not fit. */
int hmi_path(struct hm_ctx *ctx, char *buf, size_t len, const char *fmt, ...) HMI_PRINTF(4, 5);

/* Read the whole file PATH (already rooted) into a new NUL-terminated buffer
 * (*BUF, free() it), at most MAX bytes; -EFBIG beyond. -errno with a message
 * naming PATH. */
int hmi_read_alloc(struct hm_ctx *ctx, const char *path, size_t max, char **buf, size_t *len);

/* Read the small file PATH into BUF (NUL-terminated). -EFBIG when it does not
 * fit, -errno with a message naming PATH. */
int hmi_read_small(struct hm_ctx *ctx, const char *path, char *buf, size_t len);

/* The one number scanner: the unsigned number in BASE (2..36: 8, 10 and 16
 * in use; no sign, no "0x", no space) at TEXT, up to LIMIT (NULL: TEXT is
 * NUL-terminated) or the first byte that is not a digit. 0 and *VALUE;
 * -EINVAL when TEXT does not start with a digit, -ERANGE when the number
 * passes 64 bits (*VALUE untouched). *STOP (when not NULL) is where the
 * digits end, whatever the result, for the caller's own grammar around it. */
int hmi_scan_u64(const char *text, const char *limit, unsigned base, uint64_t *value,
		 const char **stop);

/* Strict unsigned decimal: digits, then only white space. -EINVAL, -ERANGE. */
int hmi_parse_u64(const char *text, uint64_t *value);
/* The same in BASE (16: hex digits without 0x, as sysfs writes block_size_bytes). */
int hmi_parse_u64_base(const char *text, unsigned base, uint64_t *value);

/* Read one unsigned decimal from PATH (sysfs counter). Errors name the path
 * and what was found there. */
int hmi_read_u64(struct hm_ctx *ctx, const char *path, uint64_t *value);

/* Grow the array *ARR of ELEM-byte items (capacity *CAP, at least FIRST
 * when it grows from nothing) so that it holds NEED items, doubling. -ENOMEM
 * with a message naming WHAT. */
int hmi_array_reserve(struct hm_ctx *ctx, void **arr, size_t *cap, size_t need, size_t elem,
		      size_t first, const char *what);

/* CLOCK_MONOTONIC in milliseconds, for the per-step timings. */
double hmi_now_ms(void);

/* The one size formatter, in two spellings: BYTES as a whole number of the
 * largest binary unit that holds it whole. hmi_format_size writes it for
 * people, "2 MiB", "1536 KiB", "3 B", "0 B" (hm_size_str is it, public);
 * hmi_format_size_short as options and file names spell it, "2M", "1G",
 * "64K", "3", with the units the option parser knows (K..T). */
void hmi_format_size(uint64_t bytes, char *buf, size_t len);
void hmi_format_size_short(uint64_t bytes, char *buf, size_t len);

#endif
