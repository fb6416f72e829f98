/* SPDX-License-Identifier: MIT */
/*
 * tap.h — a tiny TAP producer for the C unit tests (prove reads it).
 * A test program: plan(N) or plan_skip_all(reason), then ok()/is_*() calls,
 * then return done(). Test code only: the globals here never reach the library.
 */
#ifndef HM_TAP_H
#define HM_TAP_H

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int tap_run, tap_failed, tap_planned = -1;

static inline void plan(int n)
{
	tap_planned = n;
	printf("1..%d\n", n);
}

/* Skip the whole program; with HM_REQUIRE_HUGEPAGES=1 (CI) a skip that is
 * about hugepages fails instead. */
static inline int plan_skip_all(const char *reason)
{
	const char *req = getenv("HM_REQUIRE_HUGEPAGES");

	if (req && strcmp(req, "1") == 0) {
		printf("1..1\nnot ok 1 - required but skipped: %s\n", reason);
		return 1;
	}
	printf("1..0 # SKIP %s\n", reason);
	return 0;
}

static inline int tap_vok(int cond, const char *fmt, va_list ap)
{
	tap_run++;
	if (!cond)
		tap_failed++;
	printf("%sok %d - ", cond ? "" : "not ", tap_run);
	vprintf(fmt, ap);
	printf("\n");
	fflush(stdout);
	return cond;
}

__attribute__((format(printf, 2, 3))) static inline int ok(int cond, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = tap_vok(cond, fmt, ap);
	va_end(ap);
	return r;
}

__attribute__((format(printf, 1, 2))) static inline void diag(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	printf("# ");
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
}

#define is_int(got, want, ...)                                                                     \
	do {                                                                                       \
		long long g_ = (long long)(got), w_ = (long long)(want);                           \
		if (!ok(g_ == w_, __VA_ARGS__))                                                    \
			diag("  got %lld, want %lld", g_, w_);                                     \
	} while (0)

#define is_u64(got, want, ...)                                                                     \
	do {                                                                                       \
		uint64_t g_ = (uint64_t)(got), w_ = (uint64_t)(want);                              \
		if (!ok(g_ == w_, __VA_ARGS__))                                                    \
			diag("  got %" PRIu64 ", want %" PRIu64, g_, w_);                          \
	} while (0)

#define is_str(got, want, ...)                                                                     \
	do {                                                                                       \
		const char *g_ = (got), *w_ = (want);                                              \
		if (!ok(g_ && w_ && strcmp(g_, w_) == 0, __VA_ARGS__))                             \
			diag("  got '%s', want '%s'", g_ ? g_ : "(null)", w_ ? w_ : "(null)");     \
	} while (0)

/* like(): HAYSTACK contains NEEDLE. */
#define like(hay, needle, ...)                                                                     \
	do {                                                                                       \
		const char *h_ = (hay), *n_ = (needle);                                            \
		if (!ok(h_ && strstr(h_, n_) != NULL, __VA_ARGS__))                                \
			diag("  '%s' does not contain '%s'", h_ ? h_ : "(null)", n_);              \
	} while (0)

static inline int done(void)
{
	if (tap_planned < 0)
		printf("1..%d\n", tap_run);
	else if (tap_planned != tap_run)
		printf("# planned %d tests, ran %d\n", tap_planned, tap_run);
	return tap_failed || (tap_planned >= 0 && tap_planned != tap_run);
}

#endif
