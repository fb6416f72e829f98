/* SPDX-License-Identifier: MIT */
/*
 * mapinfo_test.c — hm_physmap_read against synthetic roots built in a
 * mkdtemp directory (sparse proc/kpageflags and proc/kpagecount with words at
 * chosen PFNs, memory blocks placed on nodes 0 and 2 with a hole), and a live
 * prefix: a child process holds the liveness lock of "fake" in a temporary
 * runtime directory while this process publishes a layout for it, so that two
 * mapped heads are told apart as that prefix's. Covers the extents of each node
 * exactly (hole, other memory, free runs, used pages, prefix pages), the counts,
 * the fewest pieces, the prefix filter, the map without kpageflags (not root),
 * the fallback without memory blocks, 1 GiB pages, and the errors.
 */
#include "base/ctx.h"
#include "shconf/shconf.h"
#include "tap.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define HEAD (1ULL << 15)
#define TAIL (1ULL << 16)
#define HUGE (1ULL << 17)
#define MB2  (2ULL << 20)
#define GB1  (1ULL << 30)

struct fixture {
	char root[64];
	int flags_fd, count_fd;
};

struct want {
	uint64_t from, to; /* 2 MiB slots */
	enum hm_phys_kind kind;
};

static uint64_t base_page(void)
{
	return (uint64_t)sysconf(_SC_PAGESIZE);
}

static void put_words(int fd, uint64_t pfn, const uint64_t *words, size_t n)
{
	ssize_t want = (ssize_t)(n * sizeof(*words));

	if (pwrite(fd, words, (size_t)want, (off_t)(pfn * 8)) != want)
		diag("pwrite at PFN %" PRIu64 " failed: %s", pfn, strerror(errno));
}

/* A compound page of BYTES at PA (FLAG: HUGE for hugetlb, 0 for a THP). */
static void put_page(struct fixture *f, uint64_t pa, uint64_t bytes, uint64_t flag, uint64_t count)
{
	uint64_t n = bytes / base_page(), *words = malloc(n * sizeof(*words));

	words[0] = flag | HEAD;
	for (uint64_t i = 1; i < n; i++)
		words[i] = flag | TAIL;
	put_words(f->flags_fd, pa / base_page(), words, n);
	put_words(f->count_fd, pa / base_page(), &count, 1);
	free(words);
}

static void put_slots(struct fixture *f, uint64_t from, uint64_t to, uint64_t count)
{
	for (uint64_t i = from; i < to; i++)
		put_page(f, i * MB2, MB2, HUGE, count);
}

static void make_path(const char *root, const char *rel, const char *text)
{
	char path[512], *p;
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	for (p = path + strlen(root) + 1; (p = strchr(p, '/')) != NULL; p++) {
		*p = '\0';
		mkdir(path, 0755);
		*p = '/';
	}
	fp = fopen(path, "w");
	if (fp) {
		fputs(text, fp);
		fclose(fp);
	}
}

static int fixture_new(struct fixture *f)
{
	char path[128];

	snprintf(f->root, sizeof(f->root), "/tmp/hmtest-mapinfo-XXXXXX");
	if (!mkdtemp(f->root))
		return -1;
	make_path(f->root, "proc/.keep", "");
	snprintf(path, sizeof(path), "%s/proc/kpageflags", f->root);
	f->flags_fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0400);
	snprintf(path, sizeof(path), "%s/proc/kpagecount", f->root);
	f->count_fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0400);
	return f->flags_fd >= 0 && f->count_fd >= 0 ? 0 : -1;
}

static void fixture_end(struct fixture *f, uint64_t end)
{
	if (ftruncate(f->flags_fd, (off_t)(end / base_page() * 8)) < 0 ||
	    ftruncate(f->count_fd, (off_t)(end / base_page() * 8)) < 0)
		diag("ftruncate: %s", strerror(errno));
}

static int rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	return remove(path);
}

static void fixture_free(struct fixture *f)
{
	close(f->flags_fd);
	close(f->count_fd);
	nftw(f->root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void sysinfo_init(struct hm_sysinfo *si)
{
	memset(si, 0, sizeof(*si));
	si->default_page_size = MB2;
	si->n_nodes = 2;
	si->node_ids[0] = 0;
	si->node_ids[1] = 2;
	si->n_pools = 1;
	si->pools[0].page_size = MB2;
	si->pools[0].is_default = 1;
	si->pools[0].free = 21;
}

/*
 * Blocks of 128 MiB (64 slots of 2 MiB): node 0 has blocks 0-1 (slots
 * 0-127); node 2 blocks 3 and 5 (slots 192-255, 320-383), block 4 a hole in
 * its span. Node 0: free 10-12, 13 used, free 14-15, 20-21 mapped (the
 * prefix's when it is live), a THP at 40, free 126-127. Node 2: free 192-195,
 * 200 used, free 250-255, the hole, free 320-323.
 */
static void build_two_nodes(struct fixture *f)
{
	put_slots(f, 10, 13, 0);
	put_slots(f, 13, 14, 1);
	put_slots(f, 14, 16, 0);
	put_slots(f, 20, 22, 2);
	put_page(f, 40 * MB2, MB2, 0, 1);
	put_slots(f, 126, 128, 0);
	put_slots(f, 192, 196, 0);
	put_slots(f, 200, 201, 3);
	put_slots(f, 250, 256, 0);
	put_slots(f, 320, 324, 0);
	fixture_end(f, 384 * MB2);
	make_path(f->root, "sys/devices/system/memory/block_size_bytes", "8000000\n");
	make_path(f->root, "sys/devices/system/node/node0/memory0", "");
	make_path(f->root, "sys/devices/system/node/node0/memory1", "");
	make_path(f->root, "sys/devices/system/node/node0/meminfo", "");
	make_path(f->root, "sys/devices/system/node/node2/memory5", "");
	make_path(f->root, "sys/devices/system/node/node2/memory3", "");
	make_path(f->root, "sys/devices/system/node/node2/memory_failure", "");
}

static const char *const kind_names[] = {"hole", "other", "free", "used", "prefix"};

static void check_extents(const struct hm_phys_node *n, const struct want *w, size_t count,
			  const char *what)
{
	size_t bad = 0;

	is_u64(n->n_extents, count, "%s: %zu extents", what, count);
	for (size_t i = 0; i < count && i < n->n_extents; i++) {
		const struct hm_phys_extent *e = &n->extents[i];

		if (e->pa == w[i].from * MB2 && e->len == (w[i].to - w[i].from) * MB2 &&
		    e->kind == w[i].kind)
			continue;
		diag("%s: extent %zu is %s 0x%" PRIx64 "+0x%" PRIx64 ", want %s slots %" PRIu64
		     "-%" PRIu64,
		     what, i, kind_names[e->kind], e->pa, e->len, kind_names[w[i].kind], w[i].from,
		     w[i].to);
		bad++;
	}
	is_u64(bad, 0, "%s: every extent where and what it should be", what);
}

static void check_node0(const struct hm_physmap *m, enum hm_phys_kind at20)
{
	const struct want w[] = {
	    {0, 10, HM_PHYS_OTHER},   {10, 13, HM_PHYS_FREE},	{13, 14, HM_PHYS_USED},
	    {14, 16, HM_PHYS_FREE},   {16, 20, HM_PHYS_OTHER},	{20, 22, at20},
	    {22, 126, HM_PHYS_OTHER}, {126, 128, HM_PHYS_FREE},
	};
	const struct hm_phys_node *n = &m->nodes[0];

	check_extents(n, w, HMI_ARRAY_SIZE(w), "node 0");
	ok(n->start == 0 && n->end == 128 * MB2 && n->memory == 256ULL << 20,
	   "node 0: span 0..256 MiB, all memory");
	ok(n->hugepages == 10 && n->free_pages == 7 && n->free_runs == 3,
	   "node 0: 10 hugepages, 7 free in 3 runs (the THP is not one)");
	ok(n->largest_run == 3 && n->largest_pa == 10 * MB2, "node 0: largest run 3 at 20 MiB");
}

static void check_node2(const struct hm_physmap *m)
{
	static const struct want w[] = {
	    {192, 196, HM_PHYS_FREE},  {196, 200, HM_PHYS_OTHER}, {200, 201, HM_PHYS_USED},
	    {201, 250, HM_PHYS_OTHER}, {250, 256, HM_PHYS_FREE},  {256, 320, HM_PHYS_HOLE},
	    {320, 324, HM_PHYS_FREE},  {324, 384, HM_PHYS_OTHER},
	};
	const struct hm_phys_node *n = &m->nodes[1];

	is_int(n->node, 2, "second node is node 2");
	check_extents(n, w, HMI_ARRAY_SIZE(w), "node 2");
	ok(n->start == 192 * MB2 && n->end == 384 * MB2 && n->memory == 256ULL << 20,
	   "node 2: span 384..768 MiB with 256 MiB of memory (a 128 MiB hole)");
	ok(n->free_pages == 14 && n->free_runs == 3 && n->used_pages == 1 && n->largest_run == 6 &&
	       n->largest_pa == 250 * MB2,
	   "node 2: 14 free in 3 runs (the hole splits one), largest 6, 1 used");
}

static void test_no_prefix(struct hm_ctx *ctx, const struct hm_sysinfo *si)
{
	struct hm_physmap *m = NULL;

	is_int(hm_physmap_read(ctx, si, MB2, NULL, &m), 0, "map of the two-node fixture");
	if (!m)
		return;
	ok(m->placed && m->n_nodes == 2 && m->page_size == MB2, "placed, two nodes, 2 MiB");
	is_int(m->n_prefixes, 0, "no live prefix");
	is_str(m->missing, "", "nothing missing");
	is_int(m->exact, 1, "exact: 21 free seen, 21 free_hugepages, no reservation");
	check_node0(m, HM_PHYS_USED);
	is_u64(m->nodes[0].used_pages, 3, "node 0: 3 used (13, 20, 21)");
	check_node2(m);
	is_u64(hm_physmap_pieces(m, 0, 8ULL << 20), 2, "8 MiB on node 0: 2 pieces (3 + 2)");
	is_u64(hm_physmap_pieces(m, 0, 6ULL << 20), 1, "6 MiB on node 0: 1 piece");
	is_u64(hm_physmap_pieces(m, 0, 64ULL << 20), 0, "64 MiB on node 0: not reachable");
	is_u64(hm_physmap_pieces(m, 1, 20ULL << 20), 2, "20 MiB on node 2: 2 pieces (6 + 4)");
	is_u64(hm_physmap_pieces(m, 1, 1), 1, "one byte: one piece");
	is_u64(hm_physmap_pieces(m, 5, MB2), 0, "no node index 5");
	hm_physmap_free(m);
}

/* A child holds PREFIX's liveness lock until killed; its pid. */
static pid_t hold_prefix(const char *rundir, const char *prefix)
{
	int p[2];
	char c = 0;
	pid_t pid;

	if (pipe(p) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		struct hm_ctx *child;
		int fd;

		close(p[0]);
		if (hm_ctx_new(&child) < 0 || hm_ctx_set_runtime_dir(child, rundir) < 0 ||
		    hm_prefix_lock(child, prefix, &fd) < 0)
			_exit(1);
		if (write(p[1], "r", 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(p[1]);
	if (pid < 0 || read(p[0], &c, 1) != 1 || c != 'r') {
		close(p[0]);
		return -1;
	}
	close(p[0]);
	return pid;
}

/* A layout of two pages at slots 20 and 21, IOVA = PA, published by PID. */
static int publish(struct hm_ctx *ctx, const char *prefix, pid_t pid)
{
	struct hmi_shconf_backing back[2] = {
	    {.kind = HMI_BACK_PAGE_FILES, .node = 0, .size = MB2, .name = "fakemap_0", .ino = 10},
	    {.kind = HMI_BACK_PAGE_FILES, .node = 0, .size = MB2, .name = "fakemap_1", .ino = 11},
	};
	struct hmi_page pages[2] = {
	    {.va = HM_DEFAULT_BASE_VA, .iova = 20 * MB2, .node = 0, .backing = 0},
	    {.va = HM_DEFAULT_BASE_VA + MB2, .iova = 21 * MB2, .node = 0, .backing = 1},
	};
	struct hmi_seg seg = {.va = HM_DEFAULT_BASE_VA,
			      .iova = 20 * MB2,
			      .len = 2 * MB2,
			      .page_size = MB2,
			      .node = 0,
			      .n_pages = 2};
	struct hmi_shconf sc = {.pid = pid,
				.kind = HMI_BACK_PAGE_FILES,
				.iova_mode = HM_IOVA_PA,
				.hugepages = 1,
				.page_size = MB2,
				.va_base = HM_DEFAULT_BASE_VA,
				.va_len = 2 * MB2,
				.total_bytes = 2 * MB2,
				.backings = back,
				.n_backings = 2,
				.pages = pages,
				.n_pages = 2,
				.segs = &seg,
				.n_segs = 1};
	char dir[HM_PATH_MAX];

	snprintf(sc.prefix, sizeof(sc.prefix), "%s", prefix);
	snprintf(sc.dir, sizeof(sc.dir), "/dev/hugepages");
	if (hm_prefix_dir(ctx, prefix, dir, sizeof(dir)) < 0)
		return -1;
	return hmi_shconf_write(ctx, dir, &sc);
}

static void check_prefix(const struct hm_physmap *m, pid_t pid)
{
	const struct hm_phys_prefix *p = m->n_prefixes == 1 ? &m->prefixes[0] : NULL;

	if (!ok(p != NULL, "one live prefix"))
		return;
	ok(strcmp(p->name, "fake") == 0 && p->pid == pid && !p->self,
	   "prefix 'fake', the child's pid, not self");
	ok(p->n_segments == 1 && p->segments[0].iova == 20 * MB2 && p->total_bytes == 2 * MB2,
	   "its layout: one segment at 40 MiB");
	is_u64(p->pages_placed, 2, "both its pages placed");
	is_str(p->note, "", "no note");
	check_node0(m, HM_PHYS_PREFIX);
	ok(m->nodes[0].extents[5].prefix == 0 && m->nodes[0].prefix_pages == 2 &&
	       m->nodes[0].used_pages == 1,
	   "node 0: slots 20-21 are prefix 0's, 13 alone is used by someone else");
}

static void test_prefix(struct hm_ctx *ctx, const struct hm_sysinfo *si, const char *rundir)
{
	struct hm_physmap *m = NULL;
	pid_t pid = hold_prefix(rundir, "fake");

	if (!ok(pid > 0, "a child holds prefix 'fake'"))
		return;
	is_int(publish(ctx, "fake", pid), 0, "its layout published");
	is_int(hm_physmap_read(ctx, si, MB2, NULL, &m), 0, "map with a live prefix");
	if (m)
		check_prefix(m, pid);
	hm_physmap_free(m);
	m = NULL;
	is_int(hm_physmap_read(ctx, si, MB2, "other", &m), 0, "map for prefix 'other' only");
	ok(m && m->n_prefixes == 0 && m->nodes[0].used_pages == 3,
	   "another prefix asked: 'fake' is not looked at, its pages count as used");
	hm_physmap_free(m);
	m = NULL;
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	is_int(hm_physmap_read(ctx, si, MB2, NULL, &m), 0, "map once the primary is gone");
	ok(m && m->n_prefixes == 0, "a dead primary's layout is not read");
	hm_physmap_free(m);
}

static void test_not_root(struct hm_ctx *ctx, const struct hm_sysinfo *si, struct fixture *f)
{
	struct hm_physmap *m = NULL;
	char path[128];

	snprintf(path, sizeof(path), "%s/proc/kpageflags", f->root);
	unlink(path);
	is_int(hm_physmap_read(ctx, si, MB2, NULL, &m), 0, "map without kpageflags");
	if (!m)
		return;
	is_int(m->placed, 0, "not placed");
	like(m->missing, "kpageflags", "missing names /proc/kpageflags");
	like(m->missing, "No such file", "and why");
	ok(m->nodes[0].n_extents == 0 && m->nodes[1].n_extents == 0, "no extents");
	ok(m->nodes[1].start == 192 * MB2 && m->nodes[1].end == 384 * MB2,
	   "spans still known from the memory blocks");
	is_u64(hm_physmap_pieces(m, 0, MB2), 0, "no pieces without placement");
	hm_physmap_free(m);
}

static void test_errors(struct hm_ctx *ctx, struct hm_sysinfo *si, struct fixture *f)
{
	struct hm_physmap *m = (struct hm_physmap *)1;

	is_int(hm_physmap_read(ctx, si, GB1, NULL, &m), -EINVAL, "no 1 GiB pool: -EINVAL");
	like(hm_errmsg(ctx), "no 1 GiB hugepage pool", "message names the size");
	ok(m == NULL, "*out is NULL after a failure");
	make_path(f->root, "sys/devices/system/memory/block_size_bytes", "xyz\n");
	is_int(hm_physmap_read(ctx, si, MB2, NULL, &m), -EINVAL, "garbage block size refused");
	like(hm_errmsg(ctx), "block_size_bytes", "message names the file");
	like(hm_errmsg(ctx), "xyz", "message quotes what it found");
	make_path(f->root, "sys/devices/system/memory/block_size_bytes", "0\n");
	is_int(hm_physmap_read(ctx, si, MB2, NULL, &m), -EINVAL, "block size 0 refused");
	hm_physmap_free(NULL);
}

static void test_two_nodes(struct hm_ctx *ctx, const char *rundir)
{
	struct hm_sysinfo si;
	struct fixture f;

	if (!ok(fixture_new(&f) == 0, "fixture root"))
		return;
	build_two_nodes(&f);
	sysinfo_init(&si);
	hm_ctx_set_root(ctx, f.root);
	test_no_prefix(ctx, &si);
	test_prefix(ctx, &si, rundir);
	test_errors(ctx, &si, &f);
	make_path(f.root, "sys/devices/system/memory/block_size_bytes", "8000000\n");
	test_not_root(ctx, &si, &f);
	fixture_free(&f);
}

/* No memory blocks: one range to the end of kpageflags; 1 GiB and 2 MiB pages. */
static void test_fallback(struct hm_ctx *ctx)
{
	static const struct want w2m[] = {{0, 2, HM_PHYS_FREE},
					  {2, 1536, HM_PHYS_OTHER},
					  {1536, 1537, HM_PHYS_USED},
					  {1537, 2048, HM_PHYS_OTHER}};
	struct hm_physmap *m = NULL;
	struct hm_sysinfo si;
	struct fixture f;

	if (!ok(fixture_new(&f) == 0, "fallback fixture root"))
		return;
	put_slots(&f, 0, 2, 0);
	put_page(&f, GB1, GB1, HUGE, 0);
	put_slots(&f, 1536, 1537, 1);
	fixture_end(&f, 4 * GB1);
	sysinfo_init(&si);
	si.n_nodes = 1;
	si.n_pools = 2;
	si.pools[1].page_size = GB1;
	hm_ctx_set_root(ctx, f.root);
	is_int(hm_physmap_read(ctx, &si, MB2, NULL, &m), 0, "2 MiB map without memory blocks");
	if (m) {
		ok(m->nodes[0].start == 0 && m->nodes[0].end == 4 * GB1,
		   "span: PFN 0 to the end of kpageflags");
		check_extents(&m->nodes[0], w2m, HMI_ARRAY_SIZE(w2m), "2 MiB fallback");
		is_u64(m->nodes[0].hugepages, 3, "the 1 GiB page is not a 2 MiB hugepage");
	}
	hm_physmap_free(m);
	m = NULL;
	is_int(hm_physmap_read(ctx, &si, GB1, NULL, &m), 0, "1 GiB map");
	ok(m && m->nodes[0].free_runs == 1 && m->nodes[0].largest_pa == GB1 &&
	       m->nodes[0].hugepages == 1,
	   "1 GiB: one free page at 1 GiB; 2 MiB heads are not 1 GiB pages");
	hm_physmap_free(m);
	fixture_free(&f);
}

int main(void)
{
	char rundir[] = "/tmp/hmtest-mapinfo-run-XXXXXX";
	struct hm_ctx *ctx;

	if (hm_ctx_new(&ctx) < 0 || !mkdtemp(rundir)) {
		printf("Bail out! no context or runtime directory\n");
		return 1;
	}
	hm_ctx_set_runtime_dir(ctx, rundir);
	test_two_nodes(ctx, rundir);
	test_fallback(ctx);
	hm_ctx_free(ctx);
	nftw(rundir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return done();
}
