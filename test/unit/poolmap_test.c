/* SPDX-License-Identifier: MIT */
/*
 * poolmap_test.c — hm_poolmap_read against synthetic roots built in a mkdtemp
 * directory: proc/kpageflags and proc/kpagecount are sparse files with words
 * written at chosen PFNs (holes read as zero), sys/devices/system/memory and
 * node<N>/memory<K> entries place memory blocks on nodes. Covers runs, a
 * mapped page splitting a run, two nodes with a run crossing the boundary, 1 GiB
 * pages skipped when mapping 2 MiB (and 2 MiB pages when mapping 1 GiB), the
 * exactness flag and the errors. Last, as root, the real pool: the map's
 * counts against sysfs, with a few pages reserved for the purpose.
 */
#include "base/ctx.h"
#include "real.h"
#include "tap.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
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

struct want_run {
	uint64_t pa, pages;
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

/* A compound page of BYTES at address PA: head, tails; map count COUNT. */
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

static void put_huge(struct fixture *f, uint64_t pa, uint64_t bytes, uint64_t count)
{
	put_page(f, pa, bytes, HUGE, count);
}

static void make_path(const char *root, const char *rel, int is_dir, const char *text)
{
	char path[512], *p;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	for (p = path + strlen(root) + 1; (p = strchr(p, '/')) != NULL; p++) {
		*p = '\0';
		mkdir(path, 0755);
		*p = '/';
	}
	if (is_dir) {
		mkdir(path, 0755);
		return;
	}
	FILE *fp = fopen(path, "w");
	if (fp) {
		fputs(text, fp);
		fclose(fp);
	}
}

static int fixture_new(struct fixture *f)
{
	char path[128];

	snprintf(f->root, sizeof(f->root), "/tmp/hmtest-poolmap-XXXXXX");
	if (!mkdtemp(f->root))
		return -1;
	make_path(f->root, "proc/.keep", 0, "");
	snprintf(path, sizeof(path), "%s/proc/kpageflags", f->root);
	f->flags_fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0400);
	snprintf(path, sizeof(path), "%s/proc/kpagecount", f->root);
	f->count_fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0400);
	return f->flags_fd >= 0 && f->count_fd >= 0 ? 0 : -1;
}

/* Both files end at byte address END (the machine's last page frame). */
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

static void sysinfo_init(struct hm_sysinfo *si, int n_nodes, const int *ids)
{
	memset(si, 0, sizeof(*si));
	si->default_page_size = MB2;
	si->n_nodes = n_nodes;
	for (int i = 0; i < n_nodes; i++)
		si->node_ids[i] = ids[i];
	si->n_pools = 1;
	si->pools[0].page_size = MB2;
	si->pools[0].is_default = 1;
}

static void check_runs(const struct hm_poolmap_node *n, const struct want_run *want, size_t count,
		       const char *what)
{
	is_u64(n->n_runs, count, "%s: %zu runs", what, count);
	for (size_t i = 0; i < count && i < n->n_runs; i++)
		ok(n->runs[i].pa == want[i].pa && n->runs[i].pages == want[i].pages,
		   "%s: run %zu at 0x%" PRIx64 " has %" PRIu64 " pages (got 0x%" PRIx64 ", %" PRIu64
		   ")",
		   what, i, want[i].pa, want[i].pages, n->runs[i].pa, n->runs[i].pages);
}

/* 2 MiB pages at these 2 MiB slots, one mapped, a 1 GiB page, a THP, a stray tail. */
static void build_single_node(struct fixture *f)
{
	static const unsigned free_idx[] = {10, 11, 12, 14, 15, 20, 30, 31, 32, 33, 1024, 1025};
	uint64_t stray = HUGE | TAIL;

	for (size_t i = 0; i < HMI_ARRAY_SIZE(free_idx); i++)
		put_huge(f, free_idx[i] * MB2, MB2, 0);
	put_huge(f, 13 * MB2, MB2, 1);	  /* mapped: splits 10-15 */
	put_huge(f, GB1, GB1, 0);	  /* 2M slots 512-1023: not 2 MiB heads */
	put_page(f, 40 * MB2, MB2, 0, 0); /* a THP: compound, not hugetlb */
	put_words(f->flags_fd, 50 * MB2 / base_page(), &stray, 1);
	fixture_end(f, 2 * GB1 + 64 * MB2);
}

/* One node, 2 MiB: runs, a mapped page, a 1 GiB page inside, a THP, exactness. */
static void test_single_node(struct hm_ctx *ctx)
{
	static const int ids[] = {0};
	static const struct want_run want[] = {
	    {10 * MB2, 3}, {14 * MB2, 2}, {20 * MB2, 1}, {30 * MB2, 4}, {1024 * MB2, 2},
	};
	struct hm_sysinfo si;
	struct hm_poolmap *map = NULL;
	struct fixture f;

	if (fixture_new(&f) < 0) {
		ok(0, "fixture root: %s", strerror(errno));
		return;
	}
	build_single_node(&f);
	sysinfo_init(&si, 1, ids);
	si.pools[0].free = 12;
	hm_ctx_set_root(ctx, f.root);

	is_int(hm_poolmap_read(ctx, &si, MB2, &map), 0, "2 MiB map of a one-node fixture");
	if (map) {
		is_int(map->n_nodes, 1, "one node");
		is_u64(map->page_size, MB2, "page size recorded");
		is_u64(map->nodes[0].heads, 13,
		       "13 heads: the 1 GiB page, THP and stray tail are not");
		is_u64(map->nodes[0].free_pages, 12, "12 free: the mapped head is not");
		is_u64(map->nodes[0].largest, 4, "largest run 4 pages");
		check_runs(&map->nodes[0], want, HMI_ARRAY_SIZE(want), "one node");
		is_int(map->exact, 1, "exact: 12 seen, 12 free, no reservations");
		hm_poolmap_free(map);
		map = NULL;
	}
	is_int(hm_poolmap_read(ctx, &si, 0, &map), 0, "page size 0 maps the default size");
	if (map) {
		is_u64(map->page_size, MB2, "default is 2 MiB");
		is_u64(map->nodes[0].free_pages, 12, "same 12 free pages");
		hm_poolmap_free(map);
		map = NULL;
	}
	si.pools[0].free = 11;
	is_int(hm_poolmap_read(ctx, &si, MB2, &map), 0, "map with free_hugepages 11");
	is_int(map ? map->exact : -1, 0, "not exact: a stale file or unfaulted page counts free");
	hm_poolmap_free(map);
	map = NULL;
	si.pools[0].free = 12;
	si.pools[0].resv = 2;
	is_int(hm_poolmap_read(ctx, &si, MB2, &map), 0, "map with reservations");
	is_int(map ? map->exact : -1, 0, "not exact while pages are reserved");
	hm_poolmap_free(map);
	map = NULL;
	si.n_nodes = 0;
	is_int(hm_poolmap_read(ctx, &si, MB2, &map), 0, "no node list in sysinfo");
	ok(map && map->n_nodes == 1 && map->nodes[0].node == 0 && map->nodes[0].heads == 13,
	   "without nodes everything is on node 0");
	hm_poolmap_free(map);
	fixture_free(&f);
}

/* Two nodes (ids 0 and 2) through memory blocks of 128 MiB = 64 pages. */
static void build_two_nodes(struct fixture *f)
{
	for (unsigned i = 120; i < 136; i++)
		put_huge(f, i * MB2, MB2, i == 130);
	put_huge(f, 200 * MB2, MB2, 0);
	put_huge(f, 201 * MB2, MB2, 0);
	put_huge(f, 330 * MB2, MB2, 0); /* block 5: no node lists it */
	fixture_end(f, 400 * MB2);
	make_path(f->root, "sys/devices/system/memory/block_size_bytes", 0, "8000000\n");
	make_path(f->root, "sys/devices/system/node/node0/memory0", 1, NULL);
	make_path(f->root, "sys/devices/system/node/node0/memory1", 1, NULL);
	make_path(f->root, "sys/devices/system/node/node0/meminfo", 0, "");
	make_path(f->root, "sys/devices/system/node/node2/memory3", 0, "");
	make_path(f->root, "sys/devices/system/node/node2/memory2", 0, "");
	make_path(f->root, "sys/devices/system/node/node2/memory_side_cache", 1, NULL);
	make_path(f->root, "sys/devices/system/node/node2/memoryX", 0, "");
}

static void test_two_nodes(struct hm_ctx *ctx)
{
	static const int ids[] = {0, 2};
	static const struct want_run want0[] = {{120 * MB2, 8}, {330 * MB2, 1}};
	static const struct want_run want2[] = {{128 * MB2, 2}, {131 * MB2, 5}, {200 * MB2, 2}};
	struct hm_sysinfo si;
	struct hm_poolmap *map = NULL;
	struct fixture f;
	char path[256];

	if (fixture_new(&f) < 0) {
		ok(0, "fixture root: %s", strerror(errno));
		return;
	}
	build_two_nodes(&f);
	sysinfo_init(&si, 2, ids);
	si.pools[0].free = 18;
	hm_ctx_set_root(ctx, f.root);
	is_int(hm_poolmap_read(ctx, &si, MB2, &map), 0, "2 MiB map of a two-node fixture");
	if (map) {
		is_int(map->n_nodes, 2, "two nodes");
		ok(map->nodes[0].node == 0 && map->nodes[1].node == 2,
		   "node ids 0 and 2, in order");
		is_u64(map->nodes[0].heads, 9,
		       "node 0: 8 heads below block 2, one in an unlisted block");
		is_u64(map->nodes[0].free_pages, 9, "node 0: all 9 free");
		is_u64(map->nodes[0].largest, 8, "node 0: largest 8 (the run stops at the node)");
		check_runs(&map->nodes[0], want0, HMI_ARRAY_SIZE(want0), "node 0");
		is_u64(map->nodes[1].heads, 10, "node 2: 10 heads");
		is_u64(map->nodes[1].free_pages, 9, "node 2: 9 free (one mapped)");
		is_u64(map->nodes[1].largest, 5, "node 2: largest 5");
		check_runs(&map->nodes[1], want2, HMI_ARRAY_SIZE(want2), "node 2");
		is_int(map->exact, 1, "exact: 18 free on both nodes");
		hm_poolmap_free(map);
		map = NULL;
	}

	snprintf(path, sizeof(path), "%s/sys/devices/system/memory/block_size_bytes", f.root);
	make_path(f.root, "sys/devices/system/memory/block_size_bytes", 0, "xyz\n");
	is_int(hm_poolmap_read(ctx, &si, MB2, &map), -EINVAL, "garbage block size refused");
	like(hm_errmsg(ctx), "block_size_bytes", "message names the block size file");
	like(hm_errmsg(ctx), "xyz", "message quotes what it found");
	make_path(f.root, "sys/devices/system/memory/block_size_bytes", 0, "0");
	is_int(hm_poolmap_read(ctx, &si, MB2, &map), -EINVAL, "block size 0 refused");
	make_path(f.root, "sys/devices/system/memory/block_size_bytes", 0, "fffffffffffffffffff\n");
	is_int(hm_poolmap_read(ctx, &si, MB2, &map), -EINVAL, "block size beyond 64 bits refused");
	unlink(path);
	is_int(hm_poolmap_read(ctx, &si, MB2, &map), 0, "no block_size_bytes: still a map");
	if (map) {
		ok(map->nodes[0].heads == 19 && map->nodes[1].heads == 0,
		   "without memory blocks every page is on the first node");
		is_u64(map->nodes[0].free_pages, 18, "18 free on node 0");
		is_str(hm_errmsg(ctx), "", "no error left behind by the fallback");
		hm_poolmap_free(map);
	}
	fixture_free(&f);
}

/* 1 GiB and 2 MiB pages side by side; each size sees only its own heads. */
static void test_gigantic(struct hm_ctx *ctx)
{
	static const int ids[] = {0};
	static const struct want_run want1g[] = {{2 * GB1, 2}, {7 * GB1, 1}};
	static const struct want_run want2m[] = {{4 * GB1, 2}, {6 * GB1, 1}};
	struct hm_sysinfo si;
	struct hm_poolmap *map = NULL;
	struct fixture f;

	if (fixture_new(&f) < 0) {
		ok(0, "fixture root: %s", strerror(errno));
		return;
	}
	put_huge(&f, 2 * GB1, GB1, 0);
	put_huge(&f, 3 * GB1, GB1, 0);
	put_huge(&f, 5 * GB1, GB1, 1);
	put_huge(&f, 7 * GB1, GB1, 0);
	put_huge(&f, 4 * GB1, MB2, 0); /* a 2 MiB head on a 1 GiB boundary */
	put_huge(&f, 4 * GB1 + MB2, MB2, 0);
	put_huge(&f, 6 * GB1, MB2, 0);
	fixture_end(&f, 8 * GB1);
	sysinfo_init(&si, 1, ids);
	si.n_pools = 2;
	si.pools[0].free = 3;
	si.pools[1].page_size = GB1;
	si.pools[1].free = 3;
	hm_ctx_set_root(ctx, f.root);

	is_int(hm_poolmap_read(ctx, &si, GB1, &map), 0, "1 GiB map");
	if (map) {
		is_u64(map->nodes[0].heads, 4,
		       "4 heads of 1 GiB: the 2 MiB heads on 1 GiB lines are not");
		is_u64(map->nodes[0].free_pages, 3, "3 free 1 GiB pages");
		is_u64(map->nodes[0].largest, 2, "largest 2 GiB");
		check_runs(&map->nodes[0], want1g, HMI_ARRAY_SIZE(want1g), "1 GiB");
		is_int(map->exact, 1, "1 GiB map exact");
		hm_poolmap_free(map);
		map = NULL;
	}
	is_int(hm_poolmap_read(ctx, &si, MB2, &map), 0, "2 MiB map beside 1 GiB pages");
	if (map) {
		is_u64(map->nodes[0].heads, 3, "3 heads of 2 MiB: no 1 GiB page counts");
		is_u64(map->nodes[0].largest, 2, "largest 2 pages");
		check_runs(&map->nodes[0], want2m, HMI_ARRAY_SIZE(want2m), "2 MiB");
		hm_poolmap_free(map);
	}
	fixture_free(&f);
}

/* A child without root: -EACCES with the hint. Returns its exit status. */
static int read_as_nobody(struct hm_ctx *ctx, const struct hm_sysinfo *si)
{
	struct hm_poolmap *map = NULL;
	int status = -1;
	pid_t pid = fork();

	if (pid == 0) {
		if (geteuid() == 0 && (setgid(65534) < 0 || setuid(65534) < 0))
			_exit(3);
		if (hm_poolmap_read(ctx, si, MB2, &map) != -EACCES)
			_exit(1);
		_exit(strstr(hm_errmsg(ctx), "needs root") && strstr(hm_errmsg(ctx), "kpageflags")
			  ? 0
			  : 2);
	}
	if (pid > 0)
		waitpid(pid, &status, 0);
	return status;
}

static void test_errors(struct hm_ctx *ctx)
{
	static const int ids[] = {0};
	struct hm_sysinfo si;
	struct hm_poolmap *map = NULL;
	struct fixture f;
	char path[256];
	int status;

	if (fixture_new(&f) < 0) {
		ok(0, "fixture root: %s", strerror(errno));
		return;
	}
	sysinfo_init(&si, 1, ids);
	hm_ctx_set_root(ctx, f.root);
	is_int(hm_poolmap_read(ctx, &si, MB2, &map), 0, "empty kpageflags: a map");
	ok(map && map->nodes[0].heads == 0 && map->nodes[0].n_runs == 0 && map->exact == 1,
	   "no heads, no runs, exact with 0 free");
	hm_poolmap_free(map);
	map = NULL;

	is_int(hm_poolmap_read(ctx, &si, 4ULL << 20, &map), -EINVAL, "4 MiB pool absent");
	like(hm_errmsg(ctx), "no 4 MiB hugepage pool", "message names the size asked");
	like(hm_errmsg(ctx), "offered: 2 MiB", "message lists the sizes offered");
	ok(map == NULL, "no map on failure");
	si.n_pools = 0;
	si.default_page_size = 0;
	is_int(hm_poolmap_read(ctx, &si, 0, &map), -EINVAL, "no pools at all");
	like(hm_errmsg(ctx), "offered: none", "message says none are offered");
	sysinfo_init(&si, 1, ids);

	/* root reads any mode, so root tries as nobody; others meet mode 000 */
	snprintf(path, sizeof(path), "%s/proc/kpageflags", f.root);
	if (chmod(f.root, 0755) < 0 || chmod(path, 0) < 0)
		diag("chmod: %s", strerror(errno));
	status = read_as_nobody(ctx, &si);
	is_int(WIFEXITED(status) ? WEXITSTATUS(status) : -1, 0,
	       "without root: -EACCES, 'needs root' naming kpageflags");
	chmod(path, 0400);

	snprintf(path, sizeof(path), "%s/proc/kpagecount", f.root);
	unlink(path);
	is_int(hm_poolmap_read(ctx, &si, MB2, &map), -ENOENT, "no kpagecount");
	like(hm_errmsg(ctx), "kpagecount", "message names kpagecount");
	snprintf(path, sizeof(path), "%s/proc/kpageflags", f.root);
	unlink(path);
	is_int(hm_poolmap_read(ctx, &si, MB2, &map), -ENOENT, "no kpageflags");
	like(hm_errmsg(ctx), "/proc/kpageflags", "message names kpageflags below the root");
	like(hm_errmsg(ctx), f.root, "message shows the root");
	fixture_free(&f);
}

static void real_sysinfo(struct hm_sysinfo *si)
{
	static const int ids[] = {0};

	sysinfo_init(si, 1, ids);
	si->pools[0].free = real_counter_or("free_hugepages", 0);
	si->pools[0].resv = real_counter_or("resv_hugepages", 0);
	si->pools[0].nr = real_counter_or("nr_hugepages", 0);
}

static uint64_t map_sum(const struct hm_poolmap *map, int heads)
{
	uint64_t sum = 0;

	for (int i = 0; i < map->n_nodes; i++)
		sum += heads ? map->nodes[i].heads : map->nodes[i].free_pages;
	return sum;
}

/* The real pool, with 16 more pages for the purpose; one of them mapped. */
static void real_checks(struct hm_ctx *ctx)
{
	struct hm_sysinfo si;
	struct hm_poolmap *map = NULL;
	struct timespec t0, t1;
	char *page;

	real_sysinfo(&si);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	is_int(hm_poolmap_read(ctx, &si, MB2, &map), 0, "real 2 MiB pool map");
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (!map)
		return;
	diag("real map: %.1f ms, %" PRIu64 " heads, %" PRIu64 " free, exact %d",
	     (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6,
	     map_sum(map, 1), map_sum(map, 0), map->exact);
	is_u64(map_sum(map, 1), si.pools[0].nr, "heads == nr_hugepages");
	ok(map_sum(map, 0) >= si.pools[0].free, "free seen >= free_hugepages (an upper bound)");
	if (si.pools[0].resv == 0 && map_sum(map, 0) == si.pools[0].free)
		is_int(map->exact, 1, "exact when they agree and nothing is reserved");
	else
		ok(map->exact == 0, "not exact: stale files or reservations (%" PRIu64 " resv)",
		   si.pools[0].resv);
	hm_poolmap_free(map);
	map = NULL;

	page = mmap(NULL, MB2, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB,
		    -1, 0);
	ok(page != MAP_FAILED, "map one 2 MiB page");
	if (page == MAP_FAILED)
		return;
	page[0] = 1;
	real_sysinfo(&si);
	is_int(hm_poolmap_read(ctx, &si, MB2, &map), 0, "map with one page in use");
	if (map) {
		ok(map_sum(map, 0) >= si.pools[0].free, "free seen still >= free_hugepages");
		ok(map_sum(map, 0) < map_sum(map, 1), "the page this test maps is not free");
	}
	hm_poolmap_free(map);
	munmap(page, MB2);
}

static void test_real(struct hm_ctx *ctx)
{
	struct real_counts before;
	uint64_t nr, added = 0;

	if (!real_section("real pool"))
		return;
	real_snapshot(&before);
	nr = real_counter("nr_hugepages");
	if (before.free < 16 && nr != UINT64_MAX && real_write_nr(nr + 16) == 0)
		added = 16;
	real_checks(ctx);
	if (added && real_write_nr(nr) < 0)
		diag("could not put nr_hugepages back to %" PRIu64, nr);
	real_ok_counts(&before, "pool counters as before");
	real_unlock();
}

int main(void)
{
	struct hm_ctx *ctx;

	if (hm_ctx_new(&ctx) < 0)
		return plan_skip_all("out of memory");
	test_single_node(ctx);
	test_two_nodes(ctx);
	test_gigantic(ctx);
	test_errors(ctx);
	hm_ctx_set_root(ctx, "/");
	test_real(ctx);
	hm_ctx_free(ctx);
	return done();
}
