/* SPDX-License-Identifier: MIT */
/*
 * base/ctx.c — the caller-owned context and the helpers every layer uses to report
 * errors and read sysfs/procfs below the root prefix.
 *
 * Errors: a failing call records one line in ctx->err and returns -errno;
 * hm_errmsg() hands the line to the caller. Nothing here prints.
 */
#include "base/ctx.h"
#include "base/platform.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* The one mutable global of the library (the rule is: none): a forked child
 * must be told from its parent on every heap call, and comparing the pid
 * would cost a system call each time (glibc caches no pid). A counter bumped
 * in the child by pthread_atfork costs one load; a context cannot hold it,
 * since the child runs on a copy of the parent's contexts. Written only by
 * the child handler, while the child has one thread. */
unsigned long hmi_fork_generation;

static pthread_once_t fork_watch_once = PTHREAD_ONCE_INIT;

static void fork_child(void)
{
	hmi_fork_generation++;
}

static void fork_watch_register(void)
{
	pthread_atfork(NULL, NULL, fork_child);
}

unsigned long hmi_fork_watch(void)
{
	pthread_once(&fork_watch_once, fork_watch_register);
	return hmi_fork_generation;
}

static void default_rundir(char *buf, size_t len)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");

	if (geteuid() == 0)
		snprintf(buf, len, "/run/hugemem");
	else if (xdg && xdg[0] == '/')
		snprintf(buf, len, "%s/hugemem", xdg);
	else /* documented fallback; hugedir checks its owner and mode */
		snprintf(buf, len, "/tmp/hugemem-%u", (unsigned)geteuid());
}

int hm_ctx_new(struct hm_ctx **ctxp)
{
	struct hm_ctx *ctx = hmi_calloc_populated(1, sizeof(*ctx)); /* ~9 KiB */

	if (!ctx)
		return -ENOMEM;
	default_rundir(ctx->rundir, sizeof(ctx->rundir));
	*ctxp = ctx;
	return 0;
}

static int set_abs_path(struct hm_ctx *ctx, char *dst, const char *what, const char *path)
{
	size_t n;

	if (!path || path[0] != '/')
		return hmi_err(ctx, EINVAL,
			       "%s '%s' is not an absolute path: give one starting with '/'", what,
			       path ? path : "(null)");
	n = strlen(path);
	while (n > 1 && path[n - 1] == '/') /* "/x/" and "/x" name the same tree */
		n--;
	if (n >= HM_PATH_MAX)
		return hmi_err(ctx, ENAMETOOLONG, "%s is longer than %d bytes", what,
			       HM_PATH_MAX - 1);
	memcpy(dst, path, n);
	dst[n] = '\0';
	return 0;
}

int hm_ctx_set_root(struct hm_ctx *ctx, const char *root)
{
	int rc = set_abs_path(ctx, ctx->root, "root", root);

	if (rc == 0 && strcmp(ctx->root, "/") == 0)
		ctx->root[0] = '\0';
	return rc;
}

const char *hm_ctx_root(const struct hm_ctx *ctx)
{
	return ctx->root[0] ? ctx->root : "/";
}

int hm_ctx_set_runtime_dir(struct hm_ctx *ctx, const char *dir)
{
	return set_abs_path(ctx, ctx->rundir, "runtime directory", dir);
}

const char *hm_ctx_runtime_dir(const struct hm_ctx *ctx)
{
	return ctx->rundir;
}

int hm_ctx_set_progress(struct hm_ctx *ctx, hm_progress_fn *fn, void *arg)
{
	ctx->progress = fn;
	ctx->progress_arg = arg;
	return 0;
}

/* Async-signal-safe: one lock-free atomic store (checked at build time). */
_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "hm_ctx_cancel needs a lock-free atomic int");

int hm_ctx_cancel(struct hm_ctx *ctx)
{
	if (!ctx)
		return -EINVAL; /* no message: there is no context to hold it */
	atomic_store(&ctx->cancel, 1);
	return 0;
}

int hmi_cancel_check(struct hm_ctx *ctx)
{
	if (!atomic_exchange(&ctx->cancel, 0))
		return 0;
	return hmi_err(ctx, ECANCELED,
		       "cancelled by hm_ctx_cancel (a signal?): everything it had done is undone");
}

const char *hm_errmsg(const struct hm_ctx *ctx)
{
	return ctx->err;
}

void hmi_err_clear(struct hm_ctx *ctx)
{
	ctx->err[0] = '\0';
}

int hmi_verr(struct hm_ctx *ctx, int err, const char *fmt, va_list ap)
{
	int n = vsnprintf(ctx->err, sizeof(ctx->err), fmt, ap);

	/* one line whatever a caller quotes (a path may hold a newline) */
	for (char *c = ctx->err; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';

	/* out of descriptors can happen at any of many calls: one fix for all */
	if ((err == EMFILE || err == ENFILE) && n >= 0 && (size_t)n < sizeof(ctx->err))
		snprintf(ctx->err + n, sizeof(ctx->err) - (size_t)n, "%s",
			 err == EMFILE ? ": raise the descriptor limit (ulimit -n)"
				       : ": the system's file table is full (fs.file-max)");
	/* the malloc-style calls return NULL: errno is how their caller gets the
	 * code, as from malloc(3); thread-local, so right with threads sharing CTX */
	errno = err;
	return -err;
}

int hmi_err(struct hm_ctx *ctx, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	hmi_verr(ctx, err, fmt, ap);
	va_end(ap);
	return -err;
}

int hmi_path(struct hm_ctx *ctx, char *buf, size_t len, const char *fmt, ...)
{
	size_t root_len = strlen(ctx->root);
	va_list ap;
	int n;

	if (root_len >= len)
		return hmi_err(ctx, ENAMETOOLONG, "root '%s' leaves no room for a path", ctx->root);
	memcpy(buf, ctx->root, root_len);
	va_start(ap, fmt);
	n = vsnprintf(buf + root_len, len - root_len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= len - root_len)
		return hmi_err(ctx, ENAMETOOLONG, "path below '%s' is longer than %zu bytes",
			       hm_ctx_root(ctx), len - 1);
	return 0;
}

static int read_fd(int fd, char *buf, size_t cap, size_t *len)
{
	size_t got = 0;

	for (;;) {
		ssize_t n = read(fd, buf + got, cap - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		got += (size_t)n;
		if (got == cap)
			return -EFBIG;
	}
	*len = got;
	return 0;
}

int hmi_read_alloc(struct hm_ctx *ctx, const char *path, size_t max, char **bufp, size_t *lenp)
{
	size_t cap = 4096, len = 0;
	char *buf = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc = -EFBIG;

	if (fd < 0)
		return hmi_err(ctx, errno, "cannot open %s: %s", path, strerror(errno));
	/* procfs files report size 0: grow the buffer until a read returns 0 */
	while (cap <= max) {
		char *bigger = realloc(buf, cap + 1);

		if (!bigger) {
			rc = -ENOMEM;
			break;
		}
		buf = bigger;
		if (lseek(fd, 0, SEEK_SET) < 0) {
			rc = -errno;
			break;
		}
		rc = read_fd(fd, buf, cap, &len);
		if (rc != -EFBIG)
			break;
		cap *= 2;
	}
	close(fd);
	if (rc < 0) {
		free(buf);
		if (rc == -EFBIG)
			return hmi_err(
			    ctx, EFBIG,
			    "%s is larger than %zu bytes: not a file hugemem expects there", path,
			    max);
		return hmi_err(ctx, -rc, "cannot read %s: %s", path, strerror(-rc));
	}
	buf[len] = '\0';
	*bufp = buf;
	if (lenp)
		*lenp = len;
	return 0;
}

int hmi_read_small(struct hm_ctx *ctx, const char *path, char *buf, size_t len)
{
	size_t got = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc;

	if (fd < 0)
		return hmi_err(ctx, errno, "cannot open %s: %s", path, strerror(errno));
	rc = read_fd(fd, buf, len - 1, &got);
	close(fd);
	if (rc == -EFBIG)
		return hmi_err(ctx, EFBIG,
			       "%s holds more than %zu bytes: not the counter expected there", path,
			       len - 2);
	if (rc < 0)
		return hmi_err(ctx, -rc, "cannot read %s: %s", path, strerror(-rc));
	buf[got] = '\0';
	return 0;
}

/* The value of digit C in BASE, or BASE when C is not one. */
static unsigned digit_value(char c, unsigned base)
{
	unsigned d = c >= '0' && c <= '9'		      ? (unsigned)(c - '0')
		     : (c | 0x20) >= 'a' && (c | 0x20) <= 'z' ? (unsigned)((c | 0x20) - 'a' + 10)
							      : base;

	return d < base ? d : base;
}

int hmi_scan_u64(const char *text, const char *limit, unsigned base, uint64_t *value,
		 const char **stop)
{
	const char *p = text;
	uint64_t v = 0;
	int rc = 0;

	for (; (!limit || p < limit) && digit_value(*p, base) < base; p++) {
		unsigned d = digit_value(*p, base);

		if (v > (UINT64_MAX - d) / base)
			rc = -ERANGE;
		v = v * base + d;
	}
	if (p == text)
		rc = -EINVAL;
	if (stop)
		*stop = p;
	if (rc == 0)
		*value = v;
	return rc;
}

int hmi_parse_u64(const char *text, uint64_t *value)
{
	return hmi_parse_u64_base(text, 10, value);
}

int hmi_parse_u64_base(const char *text, unsigned base, uint64_t *value)
{
	const char *p;
	uint64_t v;
	int rc = hmi_scan_u64(text, NULL, base, &v, &p);

	if (rc < 0)
		return rc;
	while (*p == ' ' || *p == '\t' || *p == '\n')
		p++;
	if (*p)
		return -EINVAL;
	*value = v;
	return 0;
}

int hmi_read_u64(struct hm_ctx *ctx, const char *path, uint64_t *value)
{
	char buf[64];
	int rc = hmi_read_small(ctx, path, buf, sizeof(buf));

	if (rc < 0)
		return rc;
	rc = hmi_parse_u64(buf, value);
	buf[strcspn(buf, "\n")] = '\0'; /* quote the value on one line */
	if (rc == -ERANGE)
		return hmi_err(ctx, ERANGE, "%s: '%.20s' does not fit in 64 bits", path, buf);
	if (rc < 0)
		return hmi_err(ctx, EINVAL, "%s: expected a decimal count, found '%.20s'", path,
			       buf[0] ? buf : "(empty)");
	return 0;
}

/* BYTES as a whole number of the largest of the N_UNITS binary UNITS that
 * holds it whole (UNITS[0] is the byte), written with SEP between. */
static void format_whole(uint64_t bytes, const char *const *units, unsigned n_units,
			 const char *sep, char *buf, size_t len)
{
	unsigned u = 0;

	while (bytes && bytes % 1024 == 0 && u + 1 < n_units) {
		bytes /= 1024;
		u++;
	}
	snprintf(buf, len, "%" PRIu64 "%s%s", bytes, sep, units[u]);
}

void hmi_format_size(uint64_t bytes, char *buf, size_t len)
{
	static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};

	format_whole(bytes, units, HMI_ARRAY_SIZE(units), " ", buf, len);
}

void hmi_format_size_short(uint64_t bytes, char *buf, size_t len)
{
	static const char *const units[] = {"", "K", "M", "G", "T"};

	format_whole(bytes, units, HMI_ARRAY_SIZE(units), "", buf, len);
}

const char *hm_size_str(uint64_t bytes, char *buf, size_t len)
{
	hmi_format_size(bytes, buf, len);
	return buf;
}

double hmi_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

int hmi_array_reserve(struct hm_ctx *ctx, void **arr, size_t *cap, size_t need, size_t elem,
		      size_t first, const char *what)
{
	size_t grown = *cap ? *cap : first;
	void *bigger;

	if (need <= *cap)
		return 0;
	while (grown < need)
		grown *= 2;
	bigger = realloc(*arr, grown * elem);
	if (!bigger)
		return hmi_err(ctx, ENOMEM, "out of memory for %zu %s", grown, what);
	*arr = bigger;
	*cap = grown;
	return 0;
}
