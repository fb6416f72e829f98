/* SPDX-License-Identifier: MIT */
/*
 * growth_bench — the kernel floor and hugemem's side of bench/growth.sh
 * (issue 17, item 7); DPDK's side is bench/probes/dpdk_grow_probe.c, which
 * prints the same lines.
 *
 *   growth_bench floor PAGES N
 *       N + 1 times: memfd_create(MFD_HUGETLB | MFD_HUGE_2MB), ftruncate to
 *       PAGES 2 MiB pages, mmap, madvise(MADV_POPULATE_WRITE); munmap and close
 *       between (untimed). The first is a warm-up; then one line each: "floor
 *       PAGES TOTAL_NS POPULATE_NS" (POPULATE_NS: the madvise alone).
 *   growth_bench floor PAGES N keep
 *       the same, each memfd kept open (its pages taken) until the end: every
 *       rep faults pages not just freed, as a growth does (closed between,
 *       the kernel hands the same, cache-warm page out again).
 *   growth_bench grow PREFIX HUGE_DIR SIZE N MAX_MB [va]
 *       hm_init -m 2 --max-mem MAX_MB (va: --iova-mode va), then
 *       hm_malloc(SIZE) until N calls have grown the heap (hm_heap_stats'
 *       total larger after the call than before). Every call is timed; the N
 *       that grew are printed, one line each: "grow SIZE NS GREW_BYTES". The
 *       first call that grows is a warm-up (not printed). Blocks are never
 *       freed: the heap stays full. A call that fails (growth refused: with
 *       IOVA = PA a block needs IOVA-contiguous pages) is "fail SIZE NS
 *       MESSAGE"; after N of them the run stops.
 *   growth_bench xlate PREFIX HUGE_DIR STEPS ROUNDS SECONDS MAX_MB
 *       grow STEPS times through hm_malloc(64 KiB) (the heap filled between
 *       growths), then ROUNDS times hm_virt2iova of 4096 random addresses in
 *       every block allocated, for SECONDS: "xlate NS_PER_CALL" per round
 *       (per second of the thread's CPU time), and "layout SEGMENTS BYTES".
 *   growth_bench second PREFIX HUGE_DIR N MAX_MB
 *       a secondary (a forked child, hm_attach) exists; N times the primary
 *       grows the heap by a 64 KiB hm_malloc and the secondary makes its
 *       first call touching the grown unit, in turn hm_virt2iova, hm_free
 *       and hm_malloc, then the same call once more. One line each:
 *       "second OP FIRST_NS LATER_NS GROW_NS GREW_BYTES" (GROW_NS: the
 *       primary's hm_malloc that grew, the secondary attached). When the secondary
 *       does not see the grown memory: "skip REASON".
 *
 * The hugemem modes need growth (hm_opts.max_mem): bench/growth.sh builds
 * with -DHM_BENCH_GROWTH when include/hugemem.h has it; without it they print
 * "skip ..." and exit 0.
 */
#include "hugemem.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef MFD_HUGE_2MB /* <linux/memfd.h>'s, which glibc's <sys/mman.h> may lack */
#define MFD_HUGE_2MB (21u << 26)
#endif
#define PAGE_2M (2ull << 20)
#define KIB64	65536
#define MAX_CALL                                                                                   \
	4000000L /* calls of one fill before giving up (1 TiB of 64 KiB blocks... never)           \
		  */

static uint64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

static double cpu_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* ---------------------------------------------------------------- the floor */

/* One fresh memfd of PAGES 2 MiB pages, faulted: the kernel's part of a growth. */
static int floor_once(unsigned pages, int *keep_fd, uint64_t *total, uint64_t *populate)
{
	size_t len = pages * PAGE_2M;
	uint64_t t0 = now_ns(), t1;
	int fd = memfd_create("hbench-floor", MFD_HUGETLB | MFD_HUGE_2MB | MFD_CLOEXEC);
	void *p = MAP_FAILED;
	int rc = -1;

	if (fd < 0 || ftruncate(fd, (off_t)len) < 0)
		goto out;
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		goto out;
	t1 = now_ns();
	if (madvise(p, len, MADV_POPULATE_WRITE) < 0)
		goto out;
	*populate = now_ns() - t1;
	*total = now_ns() - t0;
	rc = 0;
out:
	if (rc < 0)
		fprintf(stderr, "growth_bench: floor: %s\n", strerror(errno));
	if (p != MAP_FAILED)
		munmap(p, len);
	if (fd >= 0 && rc == 0 && keep_fd)
		*keep_fd = fd; /* its pages stay taken: the next rep gets other ones */
	else if (fd >= 0)
		close(fd);
	return rc;
}

static int run_floor(int argc, char **argv)
{
	unsigned pages = argc > 2 ? (unsigned)atoi(argv[2]) : 0;
	int n = argc > 3 ? atoi(argv[3]) : 0, keep = argc > 4 && strcmp(argv[4], "keep") == 0;
	int *fds = calloc((size_t)n + 1, sizeof(*fds)), rc = 0;
	uint64_t total = 0, pop = 0;

	if (pages == 0 || n <= 0 || !fds) {
		free(fds);
		return 2;
	}
	for (int i = 0; i <= n && rc == 0; i++) {
		fds[i] = -1;
		rc = floor_once(pages, keep ? &fds[i] : NULL, &total, &pop) < 0;
		if (rc == 0 &&
		    i > 0) /* the first is a warm-up, as the first growth of the others */
			printf("floor %u %llu %llu\n", pages, (unsigned long long)total,
			       (unsigned long long)pop);
	}
	for (int i = 0; keep && i <= n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	free(fds);
	return rc;
}

/* ---------------------------------------------------------------- hugemem */

/* The only place that names the growth API: built without it, the hugemem
 * modes say so and skip. */
#ifdef HM_BENCH_GROWTH
static int set_max_mem(struct hm_opts *o, uint64_t bytes)
{
	o->max_mem = bytes;
	return 0;
}
#else
static int set_max_mem(struct hm_opts *o, uint64_t bytes)
{
	(void)o;
	(void)bytes;
	return -ENOSYS;
}
#endif

/* A primary of PREFIX on HUGE_DIR, -m 2 --max-mem MAX_MB in *OUT: 0; 1 when
 * this hugemem cannot grow (said as a skip), -1 after saying why. */
static int primary(const char *prefix, const char *huge_dir, uint64_t max_mb, int va,
		   struct hm_ctx **out)
{
	struct hm_ctx *ctx = NULL;
	struct hm_opts o;

	if (hm_ctx_new(&ctx) < 0)
		return -1;
	hm_opts_init(&o);
	o.file_prefix = prefix;
	o.huge_dir = huge_dir;
	o.mem = PAGE_2M;
	if (va)
		o.iova_mode = HM_IOVA_VA;
	if (set_max_mem(&o, max_mb << 20) < 0) {
		printf("skip this hugemem has no growth (hm_opts.max_mem): to be measured when "
		       "growth lands\n");
		hm_ctx_free(ctx);
		return 1;
	}
	if (hm_init(ctx, &o) < 0) {
		fprintf(stderr, "growth_bench: hm_init: %s\n", hm_errmsg(ctx));
		hm_ctx_free(ctx);
		return -1;
	}
	*out = ctx;
	return 0;
}

static void done(struct hm_ctx *ctx)
{
	hm_fini(ctx);
	hm_ctx_free(ctx);
}

static uint64_t heap_total(struct hm_ctx *ctx)
{
	struct hm_heap_stats s;

	return hm_heap_stats(ctx, -1, &s) < 0 ? 0 : s.total;
}

/* Blocks kept (never freed while the process runs: the heap stays full). */
struct blocks {
	void **v;
	size_t n, cap;
};

static int keep(struct blocks *b, void *p)
{
	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 4096;
		void **v = realloc(b->v, cap * sizeof(*v));

		if (!v)
			return -1;
		b->v = v;
		b->cap = cap;
	}
	b->v[b->n++] = p;
	return 0;
}

/* hm_malloc(SIZE) until one call grows the heap: that call's time in *NS, the
 * growth in *GREW, its block in *GROWN. -2 when an allocation fails (its time
 * in *NS; hm_errmsg says why), -1 on another error. */
static int grow_once(struct hm_ctx *ctx, struct blocks *b, size_t size, uint64_t *ns,
		     uint64_t *grew, void **grown)
{
	uint64_t before = heap_total(ctx), after, t0, t1;

	for (long i = 0; i < MAX_CALL; i++) {
		void *p;

		t0 = now_ns();
		p = hm_malloc(ctx, size, 64);
		t1 = now_ns();
		if (!p) {
			fprintf(stderr, "growth_bench: hm_malloc(%zu): %s\n", size, hm_errmsg(ctx));
			*ns = t1 - t0;
			return -2;
		}
		if (keep(b, p) < 0)
			return -1;
		*(volatile char *)p = 1;
		after = heap_total(ctx);
		if (after > before) {
			*ns = t1 - t0;
			*grew = after - before;
			*grown = p;
			return 0;
		}
	}
	fprintf(stderr, "growth_bench: %ld calls of %zu bytes and the heap never grew\n", MAX_CALL,
		size);
	return -1;
}

/* With HM_BENCH_MARK set, a getppid() (a system call the library never makes)
 * before the first growth and after each one: bench/growth.sh traces the run
 * (perf trace or strace) and counts the system calls between two marks, those
 * of one growth. */
static void mark(int on)
{
	if (on)
		(void)getppid();
}

static int run_grow(int argc, char **argv)
{
	struct blocks b = {0};
	struct hm_ctx *ctx = NULL;
	uint64_t ns, grew;
	int n, kept = -1, failed = 0, rc, marks = getenv("HM_BENCH_MARK") != NULL;
	size_t size;
	void *p;

	if (argc < 7)
		return 2;
	size = strtoull(argv[4], NULL, 10);
	n = atoi(argv[5]);
	rc = primary(argv[2], argv[3], strtoull(argv[6], NULL, 10),
		     argc > 7 && strcmp(argv[7], "va") == 0, &ctx);
	if (rc != 0)
		return rc < 0;
	mark(marks);
	while (kept < n && failed < n && rc != -1) {
		rc = grow_once(ctx, &b, size, &ns, &grew, &p);
		mark(marks);
		if (rc == -2 && ++failed)
			printf("fail %zu %llu %s\n", size, (unsigned long long)ns, hm_errmsg(ctx));
		else if (rc == 0 && ++kept > 0) /* the first growth is the warm-up */
			printf("grow %zu %llu %llu\n", size, (unsigned long long)ns,
			       (unsigned long long)grew);
	}
	done(ctx);
	free(b.v);
	return rc == -1;
}

/* ---------------------------------------------------------------- translation */

/* ns per hm_virt2iova over ADDRS addresses for SECS (thread CPU time); 0 when
 * one of them does not translate. */
static double xlate_round(struct hm_ctx *ctx, char **a, int addrs, double secs)
{
	uint64_t sum = 0;
	double c0 = cpu_s(), c;
	long n = 0;

	for (int i = 0; i < addrs; i++)
		if (hm_virt2iova(ctx, a[i]) == HM_BAD_IOVA) {
			fprintf(stderr, "growth_bench: %p (grown memory) does not translate\n",
				(void *)a[i]);
			return 0;
		}
	do {
		for (int i = 0; i < addrs; i++)
			sum += hm_virt2iova(ctx, a[i]);
		n += addrs;
	} while ((c = cpu_s()) - c0 < secs);
	return sum == 42 ? 0 : (c - c0) * 1e9 / (double)n; /* SUM keeps the loop */
}

static int xlate_measure(struct hm_ctx *ctx, const struct blocks *b, int rounds, double secs)
{
	enum { ADDRS = 4096 };
	char **a = calloc(ADDRS, sizeof(*a));
	const struct hm_layout_info *l = hm_layout(ctx);

	if (!a)
		return -1;
	srand(17);
	for (int i = 0; i < ADDRS; i++)
		a[i] = (char *)b->v[(size_t)rand() % b->n] + rand() % KIB64;
	for (int r = 0; r < rounds; r++) {
		double ns = xlate_round(ctx, a, ADDRS, secs);

		if (ns == 0) {
			free(a);
			return -1;
		}
		printf("xlate %.2f\n", ns);
	}
	if (l)
		printf("layout %d %llu\n", l->n_segments, (unsigned long long)heap_total(ctx));
	free(a);
	return 0;
}

static int run_xlate(int argc, char **argv)
{
	struct blocks b = {0};
	struct hm_ctx *ctx = NULL;
	uint64_t ns, grew;
	int steps, rc = 0;
	void *p;

	if (argc < 8)
		return 2;
	steps = atoi(argv[4]);
	rc = primary(argv[2], argv[3], strtoull(argv[7], NULL, 10), 0, &ctx);
	if (rc != 0)
		return rc < 0;
	for (int i = 0; i < steps && rc == 0; i++)
		rc = grow_once(ctx, &b, KIB64, &ns, &grew, &p);
	if (rc == 0)
		rc = xlate_measure(ctx, &b, atoi(argv[5]), atof(argv[6]));
	done(ctx);
	free(b.v);
	return rc < 0;
}

/* ---------------------------------------------------------------- a secondary */

/* What the primary tells the secondary after each growth, and the answer. */
struct order {
	int op; /* 0 hm_virt2iova, 1 hm_free, 2 hm_malloc; -1: stop */
	void *grown, *next;
	uint64_t iova;
};
struct answer {
	int ok;
	uint64_t first_ns, later_ns;
	char why[512];
};

static int answer_virt2iova(struct hm_ctx *sc, const struct order *o, struct answer *a)
{
	uint64_t t0 = now_ns(), iova = hm_virt2iova(sc, o->grown), t1 = now_ns();

	a->first_ns = t1 - t0;
	t0 = now_ns();
	(void)hm_virt2iova(sc, o->grown);
	a->later_ns = now_ns() - t0;
	if (iova != o->iova)
		snprintf(a->why, sizeof(a->why),
			 "the secondary's hm_virt2iova of grown memory gives %#llx, the "
			 "primary's %#llx: secondaries do not follow growth yet",
			 (unsigned long long)iova, (unsigned long long)o->iova);
	return iova == o->iova;
}

static int answer_free(struct hm_ctx *sc, const struct order *o, struct answer *a)
{
	struct hm_heap_stats s0, s1;
	uint64_t t0;

	if (hm_heap_stats(sc, -1, &s0) < 0)
		return 0;
	t0 = now_ns();
	hm_free(sc, o->grown);
	a->first_ns = now_ns() - t0;
	t0 = now_ns();
	hm_free(sc, o->next);
	a->later_ns = now_ns() - t0;
	if (hm_heap_stats(sc, -1, &s1) < 0 || s1.bad_frees != s0.bad_frees) {
		snprintf(a->why, sizeof(a->why),
			 "the secondary's hm_free of grown memory was refused: %s", hm_errmsg(sc));
		return 0;
	}
	return 1;
}

static int answer_malloc(struct hm_ctx *sc, struct answer *a)
{
	uint64_t t0 = now_ns();
	char *p = hm_malloc(sc, KIB64, 64), *q;

	a->first_ns = now_ns() - t0;
	t0 = now_ns();
	q = hm_malloc(sc, KIB64, 64);
	a->later_ns = now_ns() - t0;
	if (!p || !q || hm_virt2iova(sc, p) == HM_BAD_IOVA) {
		snprintf(a->why, sizeof(a->why), "the secondary's hm_malloc after growth: %s",
			 p && q ? "a block that does not translate" : hm_errmsg(sc));
		return 0;
	}
	p[0] = q[0] = 1; /* mapped: a fault here kills the child, which the primary reports */
	hm_free(sc, p);
	hm_free(sc, q);
	return 1;
}

/* The forked child: attach, then answer each order. */
static int secondary(const char *prefix, int in, int out)
{
	struct hm_ctx *sc;
	struct hm_opts o;
	struct order ord;
	struct answer a;

	hm_opts_init(&o);
	o.file_prefix = prefix;
	memset(&a, 0, sizeof(a));
	if (hm_ctx_new(&sc) < 0)
		return 1;
	a.ok = hm_attach(sc, &o) == 0;
	if (!a.ok)
		snprintf(a.why, sizeof(a.why), "hm_attach: %s", hm_errmsg(sc));
	if (write(out, &a, sizeof(a)) != sizeof(a) || !a.ok)
		return 1;
	while (read(in, &ord, sizeof(ord)) == sizeof(ord) && ord.op >= 0) {
		memset(&a, 0, sizeof(a));
		if (ord.op == 0)
			a.ok = answer_virt2iova(sc, &ord, &a);
		else if (ord.op == 1)
			a.ok = answer_free(sc, &ord, &a);
		else
			a.ok = answer_malloc(sc, &a);
		if (write(out, &a, sizeof(a)) != sizeof(a))
			break;
	}
	hm_fini(sc);
	hm_ctx_free(sc);
	return 0;
}

/* One round: grow, hand the grown block (and the next one, in the same unit)
 * to the secondary, print its answer (not for the WARM_UP round). 1 to go on,
 * 0 after a skip, -1 on error. */
static int second_round(struct hm_ctx *ctx, struct blocks *b, int op, int to, int from, int warm_up)
{
	static const char *const name[] = {"hm_virt2iova", "hm_free", "hm_malloc"};
	struct order ord = {.op = op};
	struct answer a;
	uint64_t ns, grew;

	if (grow_once(ctx, b, KIB64, &ns, &grew, &ord.grown) < 0)
		return -1;
	ord.next = hm_malloc(ctx, KIB64, 64); /* the rest of the unit: no growth */
	ord.iova = hm_virt2iova(ctx, ord.grown);
	if (!ord.next || write(to, &ord, sizeof(ord)) != sizeof(ord))
		return -1;
	if (read(from, &a, sizeof(a)) != sizeof(a)) {
		printf("skip the secondary died on its first access to grown memory: "
		       "secondaries do not follow growth yet\n");
		return 0;
	}
	if (!a.ok) {
		printf("skip %s\n", a.why);
		return 0;
	}
	if (!warm_up)
		printf("second %s %llu %llu %llu %llu\n", name[op], (unsigned long long)a.first_ns,
		       (unsigned long long)a.later_ns, (unsigned long long)ns,
		       (unsigned long long)grew);
	return 1;
}

static int second_rounds(struct hm_ctx *ctx, int n, int to, int from)
{
	struct blocks b = {0};
	struct answer a = {.why = "it died"};
	int rc = 1;

	if (read(from, &a, sizeof(a)) != sizeof(a) || !a.ok) {
		/* a hugemem whose secondaries do not follow growth refuses them */
		printf("skip the secondary did not attach: %s\n", a.why);
		return 0;
	}
	for (int i = -1; i < n && rc > 0; i++) /* -1: a warm-up (hm_virt2iova) */
		rc = second_round(ctx, &b, i < 0 ? 0 : i % 3, to, from, i < 0);
	free(b.v); /* blocks the secondary freed are not ours to free again */
	return rc;
}

static int run_second(int argc, char **argv)
{
	int down[2], up[2], rc, status;
	struct order stop = {.op = -1};
	struct hm_ctx *ctx = NULL;
	pid_t pid;

	if (argc < 6)
		return 2;
	rc = primary(argv[2], argv[3], strtoull(argv[5], NULL, 10), 0, &ctx);
	if (rc != 0)
		return rc < 0;
	if (pipe(down) < 0 || pipe(up) < 0 || (pid = fork()) < 0) {
		done(ctx);
		return 1;
	}
	if (pid == 0) {
		close(down[1]);
		close(up[0]);
		hm_ctx_free(ctx); /* a child only forgets the parent's memory */
		_exit(secondary(argv[2], down[0], up[1]));
	}
	close(down[0]);
	close(up[1]);
	rc = second_rounds(ctx, atoi(argv[4]), down[1], up[0]);
	if (write(down[1], &stop, sizeof(stop)) < 0 && rc > 0)
		rc = -1; /* after a skip the secondary may be gone already */
	close(down[1]);
	waitpid(pid, &status, 0);
	if (WIFSIGNALED(status))
		printf("skip the secondary was killed by signal %d (%s)\n", WTERMSIG(status),
		       strsignal(WTERMSIG(status)));
	done(ctx);
	return rc < 0;
}

int main(int argc, char **argv)
{
	int rc = 2;

	signal(SIGPIPE, SIG_IGN); /* a dead secondary: a failed write, said as a skip */
	if (argc > 1 && strcmp(argv[1], "floor") == 0)
		rc = run_floor(argc, argv);
	else if (argc > 1 && strcmp(argv[1], "grow") == 0)
		rc = run_grow(argc, argv);
	else if (argc > 1 && strcmp(argv[1], "xlate") == 0)
		rc = run_xlate(argc, argv);
	else if (argc > 1 && strcmp(argv[1], "second") == 0)
		rc = run_second(argc, argv);
	if (rc == 2)
		fprintf(stderr,
			"usage: growth_bench floor PAGES N [keep] | grow PREFIX HUGE_DIR SIZE N "
			"MAX_MB | xlate PREFIX HUGE_DIR STEPS ROUNDS SECONDS MAX_MB | second "
			"PREFIX HUGE_DIR N MAX_MB\n");
	return rc;
}
