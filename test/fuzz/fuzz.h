/* SPDX-License-Identifier: MIT */
/*
 * fuzz.h — what every libFuzzer harness under test/fuzz/ shares.
 *
 * A harness is one file, <name>_fuzz.c, defining LLVMFuzzerTestOneInput: it
 * hands the input to one parser of outside text (or bytes) and then checks
 * properties that must hold for ANY input, beyond "did not crash":
 *  - a failure returns one of the documented negative errnos and leaves a
 *    message: hm_errmsg non-empty, on one line (fuzz_failed);
 *  - a success gives a value that survives a round trip (format, re-parse,
 *    compare) or agrees with a small reference model written here.
 * A property that does not hold calls abort() through FUZZ_CHECK, which
 * libFuzzer reports as a crash and saves the input as a reproducer.
 *
 * Test code only: the static context here is the harness's, never the
 * library's (the library has no globals). It lives for the whole process, so
 * LeakSanitizer sees it as reachable, not leaked.
 */
#ifndef HM_FUZZ_H
#define HM_FUZZ_H

#include "base/ctx.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Does TEXT contain one of the '|'-separated texts of $HM_FUZZ_KNOWN? */
static inline int fuzz_known(const char *text)
{
	const char *known = getenv("HM_FUZZ_KNOWN");

	while (known && *known) {
		size_t n = strcspn(known, "|");
		char *one = strndup(known, n);
		int hit = one && n && strstr(text, one);

		free(one);
		if (hit)
			return 1;
		known += n + (known[n] == '|');
	}
	return 0;
}

static inline void fuzz_fail(const char *file, int line, const char *cond, const char *fmt, ...)
    HMI_PRINTF(4, 5);

/* A property does not hold: say which and abort, unless the explanation
 * holds a text of $HM_FUZZ_KNOWN (a bug already reported and not fixed yet:
 * a long run then goes on to find other things; never set it in CI). */
static inline void fuzz_fail(const char *file, int line, const char *cond, const char *fmt, ...)
{
	char why[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (fuzz_known(why))
		return;
	fprintf(stderr, "\n%s:%d: property does not hold: %s\n  %s\n", file, line, cond, why);
	abort();
}

/* COND must hold; otherwise print the explanation and abort (a libFuzzer
 * crash: the input is saved as a reproducer). */
#define FUZZ_CHECK(cond, ...)                                                                      \
	do {                                                                                       \
		if (!(cond))                                                                       \
			fuzz_fail(__FILE__, __LINE__, #cond, __VA_ARGS__);                         \
	} while (0)

/* The harness's context, made on first use and kept to the end. */
static inline struct hm_ctx *fuzz_ctx(void)
{
	static struct hm_ctx *ctx;

	if (!ctx && hm_ctx_new(&ctx) < 0)
		abort();
	return ctx;
}

/* DATA[0..SIZE) as a new NUL-terminated string (free() it). An embedded NUL
 * ends the text early, as it would for a C string read from a file. */
static inline char *fuzz_text(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);

	if (!text)
		abort();
	if (size)
		memcpy(text, data, size);
	text[size] = '\0';
	return text;
}

/* Is RC one of the N negative errnos that follow? */
static inline int fuzz_rc_in(int rc, int n, ...)
{
	va_list ap;
	int hit = 0;

	va_start(ap, n);
	for (int i = 0; i < n; i++)
		hit |= rc == va_arg(ap, int);
	va_end(ap);
	return hit;
}

/* After a failed call (RC < 0) of WHAT: a message was left, on one line. */
static inline void fuzz_failed(const struct hm_ctx *ctx, int rc, const char *what)
{
	const char *msg = hm_errmsg(ctx);

	if (rc >= 0)
		return;
	FUZZ_CHECK(msg[0] != '\0', "%s returned %d and left no message", what, rc);
	FUZZ_CHECK(strchr(msg, '\n') == NULL, "%s returned %d with a message of several lines: %s",
		   what, rc, msg);
}

/* ------------------------------------------------------------------ fake roots */

/* The fake root of a harness that reads files (hm_ctx_set_root), "" before
 * fuzz_make_root. */
static char fuzz_root[256];

static inline int fuzz_remove_entry(const char *path, const struct stat *st, int flag,
				    struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static inline void fuzz_remove_root(void)
{
	nftw(fuzz_root, fuzz_remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Make fuzz_root, a new directory in $HM_FUZZ_TMP (tools/fuzz.sh sets it),
 * else /dev/shm (files are rewritten on every input: memory is fastest),
 * else $TMPDIR or /tmp; point CTX at it; remove it at exit. */
static inline void fuzz_make_root(struct hm_ctx *ctx, const char *name)
{
	const char *tmp = getenv("HM_FUZZ_TMP");

	if (!tmp || !tmp[0])
		tmp = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : getenv("TMPDIR");
	snprintf(fuzz_root, sizeof(fuzz_root), "%s/hm-fuzz-%s-XXXXXX", tmp ? tmp : "/tmp", name);
	if (!mkdtemp(fuzz_root) || hm_ctx_set_root(ctx, fuzz_root) < 0)
		abort();
	atexit(fuzz_remove_root);
}

/* Open REL below fuzz_root with FLAGS (mode 0644), making its directories. */
static inline int fuzz_open(const char *rel, int flags)
{
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", fuzz_root, rel);
	for (char *p = strchr(path + strlen(fuzz_root) + 1, '/'); p; p = strchr(p + 1, '/')) {
		*p = '\0';
		mkdir(path, 0755);
		*p = '/';
	}
	fd = open(path, flags | O_CLOEXEC, 0644);
	if (fd < 0)
		abort();
	return fd;
}

/* Write LEN bytes of TEXT as the whole file REL below fuzz_root. */
static inline void fuzz_put_file(const char *rel, const char *text, size_t len)
{
	int fd = fuzz_open(rel, O_WRONLY | O_CREAT | O_TRUNC);

	if ((len && write(fd, text, len) != (ssize_t)len) || close(fd) < 0)
		abort();
}

/* ------------------------------------------------------------------ sizes */

/* BYTES in the largest binary unit K..T that holds it whole ("1536M"), the
 * form hm_parse_size reads back; "0" for 0 (a bare number is MiB). A bare
 * byte count cannot be written: the caller checks BYTES % 1024 == 0 first. */
static inline void fuzz_whole_size(uint64_t bytes, char *buf, size_t len)
{
	static const char units[] = "KMGT";

	snprintf(buf, len, "0");
	for (int u = 3; u >= 0; u--) {
		uint64_t unit = 1ULL << (10 * (u + 1));

		if (bytes && bytes % unit == 0) {
			snprintf(buf, len, "%" PRIu64 "%c", bytes / unit, units[u]);
			return;
		}
	}
}

#endif
