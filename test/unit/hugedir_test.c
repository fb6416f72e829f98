/* SPDX-License-Identifier: MIT */
/*
 * hugedir_test.c — the hugedir layer without hugepages or root.
 *
 * Part 1 builds struct hm_sysinfo by hand (sparse nodes 0 and 2, pools of
 * 2 MiB and 1 GiB, mounts with and without size=, cgroup limits) under a tmp
 * root, runs hmi_hugedir_resolve and checks mount choice, budgets, caps, node
 * budgets and every verdict with its line, plus --huge-dir refusals.
 *
 * Part 2 runs hm_files_scan / hm_clear on a plain tmp directory posing as a
 * hugetlbfs mount (root "/", so the walk over /proc is the real one), with
 * child processes that hold a page file by flock (closed descriptor, kept by
 * the mapping), by an OFD lock, by a POSIX lock, by a mapping only, by an open
 * descriptor only, and by the prefix's liveness lock.
 */
#include "base/ctx.h"
#include "hugedir/hugedir.h"
#include "base/platform.h"
#include "tap.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MiB (1ULL << 20)
#define GiB (1ULL << 30)

static struct hm_ctx *ctx;
static char tmproot[64] = "/tmp/hmtest-hugedir-XXXXXX";

/* ------------------------------------------------------------------ part 1: budgets */

static char p_hp[] = "/dev/hugepages", p_w[] = "/mnt/w", p_ro[] = "/mnt/ro", p_1g[] = "/mnt/huge1G";

static void pool_set(struct hm_pool *p, uint64_t ps, uint64_t nr, uint64_t free, uint64_t resv)
{
	memset(p, 0, sizeof(*p));
	p->page_size = ps;
	p->nr = nr;
	p->free = free;
	p->resv = resv;
	p->mount = -1;
	p->cgroup.max = UINT64_MAX;
	p->cgroup.rsvd_max = UINT64_MAX;
}

static void node_add(struct hm_pool *p, int node, uint64_t free)
{
	p->nodes[p->n_nodes].node = node;
	p->nodes[p->n_nodes].nr = free;
	p->nodes[p->n_nodes++].free = free;
}

static void mount_set(struct hm_mount *m, char *path, uint64_t ps, uint64_t size_limit, int ro)
{
	memset(m, 0, sizeof(*m));
	m->path = path;
	m->page_size = ps;
	m->size_limit = size_limit;
	m->room = size_limit ? size_limit : UINT64_MAX;
	m->read_only = ro;
}

/* A machine: nodes 0 and 2; 2 MiB pool 1024 pages, 960 free (400 + 560);
 * 1 GiB pool empty; mounts /dev/hugepages (2M) and /mnt/huge1G (1G). */
static void machine(struct hm_sysinfo *si, struct hm_mount *mounts)
{
	memset(si, 0, sizeof(*si));
	si->default_page_size = 2 * MiB;
	si->n_nodes = 2;
	si->node_ids[0] = 0;
	si->node_ids[1] = 2;
	si->n_pools = 2;
	pool_set(&si->pools[0], 2 * MiB, 1024, 960, 0);
	si->pools[0].is_default = 1;
	node_add(&si->pools[0], 0, 400);
	node_add(&si->pools[0], 2, 560);
	pool_set(&si->pools[1], GiB, 0, 0, 0);
	node_add(&si->pools[1], 0, 0);
	node_add(&si->pools[1], 2, 0);
	mount_set(&mounts[0], p_hp, 2 * MiB, 0, 0);
	mount_set(&mounts[1], p_1g, GiB, 0, 0);
	si->mounts = mounts;
	si->n_mounts = 2;
	si->cgroup_path = NULL;
}

static enum hm_verdict verdict(const struct hm_sysinfo *si, int pool, char *line, size_t len)
{
	return hm_pool_verdict(si, &si->pools[pool], line, len);
}

static void test_basic(void)
{
	struct hm_mount mounts[4];
	struct hm_sysinfo si;
	char line[256];

	machine(&si, mounts);
	is_int(hmi_hugedir_resolve(ctx, &si, NULL), 0, "basic: resolves");
	is_int(si.pools[0].mount, 0, "basic: 2 MiB served by /dev/hugepages");
	is_int(si.pools[1].mount, 1, "basic: 1 GiB served by /mnt/huge1G");
	is_u64(mounts[0].room, UINT64_MAX, "basic: no size= and no real mount: no room limit");
	is_int(mounts[0].writable, 0, "basic: a path missing below the root is not writable");
	is_u64(si.pools[0].budget, 960, "basic: budget = free");
	is_int(si.pools[0].budget_cap, HM_CAP_POOL, "basic: capped by the pool");
	is_u64(si.pools[0].node_budget[0], 400, "basic: node 0 budget");
	is_u64(si.pools[0].node_budget[1], 560, "basic: node 2 budget (sparse id, index 1)");
	is_u64(si.pools[0].node_budget[2], 0, "basic: no third node");
	is_int(verdict(&si, 0, line, sizeof(line)), HM_VERDICT_USABLE, "basic: 2 MiB usable");
	is_str(line, "2 MiB: 960 pages usable on nodes 0 (400), 2 (560)", "basic: usable line");
	is_int(verdict(&si, 1, line, sizeof(line)), HM_VERDICT_NO_PAGES, "basic: 1 GiB no pages");
	is_str(line, "1 GiB: no pages reserved: hugemem reserve 2G --page-size 1G",
	       "basic: no-pages line");
	si.pools[0].nr = 0;
	si.pools[0].free = 0;
	verdict(&si, 0, line, sizeof(line));
	is_str(line, "2 MiB: no pages reserved: hugemem reserve 1G --page-size 2M",
	       "basic: no 2 MiB pages: suggests 1G of them");
}

static void test_single_node(void)
{
	struct hm_mount mounts[4];
	struct hm_sysinfo si;
	char line[256];

	machine(&si, mounts);
	si.pools[0].nodes[1].free = 0;
	si.pools[0].free = 400;
	hmi_hugedir_resolve(ctx, &si, NULL);
	is_u64(si.pools[0].node_budget[1], 0, "one node: node 2 has none");
	verdict(&si, 0, line, sizeof(line));
	is_str(line, "2 MiB: 400 pages usable on node 0", "one node: 'on node 0'");
	si.pools[0].n_nodes = 0;
	hmi_hugedir_resolve(ctx, &si, NULL);
	verdict(&si, 0, line, sizeof(line));
	is_str(line, "2 MiB: 400 pages usable", "no node counters: no node list");
	si.pools[0].free = 1;
	hmi_hugedir_resolve(ctx, &si, NULL);
	verdict(&si, 0, line, sizeof(line));
	is_str(line, "2 MiB: 1 page usable", "one page: singular");
}

static void test_mount_choice(void)
{
	struct hm_mount mounts[4];
	struct hm_sysinfo si;
	char path[HM_PATH_MAX], line[256];

	machine(&si, mounts);
	mount_set(&mounts[1], p_ro, 2 * MiB, 0, 1);
	mount_set(&mounts[2], p_w, 2 * MiB, 0, 0);
	mount_set(&mounts[3], p_1g, GiB, 0, 0);
	si.n_mounts = 4;
	snprintf(path, sizeof(path), "%s/mnt/ro", tmproot);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/mnt/w", tmproot);
	mkdir(path, 0755);
	is_int(hmi_hugedir_resolve(ctx, &si, NULL), 0, "choice: resolves");
	is_int(mounts[0].writable, 0, "choice: missing dir not writable");
	is_int(mounts[1].writable, 0, "choice: read-only mount not writable");
	is_int(mounts[2].writable, 1, "choice: existing dir writable");
	is_int(si.pools[0].mount, 2, "choice: the writable one is preferred");
	is_int(si.pools[1].mount, 3, "choice: 1 GiB mount");
	mounts[2].page_size = GiB; /* no writable 2 MiB mount left */
	hmi_hugedir_resolve(ctx, &si, NULL);
	is_int(si.pools[0].mount, 0, "choice: else the first of the size");
	is_int(si.pools[1].mount, 2, "choice: writable 1 GiB one before the listed-later one");
	mounts[0].page_size = GiB; /* the read-only one is the only 2 MiB mount */
	hmi_hugedir_resolve(ctx, &si, NULL);
	is_int(si.pools[0].mount, 1, "choice: only a read-only 2 MiB mount");
	is_int(verdict(&si, 0, line, sizeof(line)), HM_VERDICT_NO_MOUNT,
	       "choice: only a read-only mount is no mount");
	like(line, "the only hugetlbfs mount of this size, /mnt/ro, is read-only: remount it rw",
	     "choice: ... naming the mount and the fix");
	like(line, "--page-size 2M (or use --in-memory)", "choice: ... and the other fixes");
}

static void test_mount_room(void)
{
	struct hm_mount mounts[4];
	struct hm_sysinfo si;
	char line[256];

	machine(&si, mounts);
	mounts[0].size_limit = 64 * MiB;
	is_int(hmi_hugedir_resolve(ctx, &si, NULL), 0, "room: resolves");
	is_u64(mounts[0].room, 64 * MiB, "room: size= stands in for statfs");
	is_u64(si.pools[0].budget, 32, "room: 64M / 2M = 32 pages");
	is_int(si.pools[0].budget_cap, HM_CAP_MOUNT, "room: capped by the mount");
	is_u64(si.pools[0].node_budget[0], 32, "room: node 0 estimate capped too");
	is_u64(si.pools[0].node_budget[1], 32, "room: node 2 estimate capped too");
	is_int(verdict(&si, 0, line, sizeof(line)), HM_VERDICT_USABLE, "room: still usable");
	is_str(line,
	       "2 MiB: 32 pages usable on nodes 0, 2 (mount /dev/hugepages size=64M caps it; 960 "
	       "free)",
	       "room: line names the mount cap");
	mounts[0].size_limit = MiB; /* less than one page */
	hmi_hugedir_resolve(ctx, &si, NULL);
	is_u64(si.pools[0].budget, 0, "room: 1M holds no 2M page");
	is_int(verdict(&si, 0, line, sizeof(line)), HM_VERDICT_CAPPED, "room: capped");
	is_str(line, "2 MiB: mount /dev/hugepages is full (size=1M)", "room: full line");
	mounts[0].size_limit = 2 * 960 * MiB; /* exactly the pool: a tie */
	hmi_hugedir_resolve(ctx, &si, NULL);
	is_int(si.pools[0].budget_cap, HM_CAP_POOL, "room: a tie is the pool's");
}

static void test_cgroup(void)
{
	struct hm_mount mounts[4];
	struct hm_sysinfo si;
	struct hm_cgroup_limit *cg;
	char line[256], cgpath[] = "/ci";

	machine(&si, mounts);
	cg = &si.pools[0].cgroup;
	cg->version = 2;
	cg->path = cgpath;
	cg->max = 20 * MiB;
	cg->usage = 4 * MiB;
	hmi_hugedir_resolve(ctx, &si, NULL);
	is_u64(si.pools[0].budget, 8, "cgroup: (20M - 4M) / 2M = 8");
	is_int(si.pools[0].budget_cap, HM_CAP_CGROUP, "cgroup: capped by it");
	is_int(verdict(&si, 0, line, sizeof(line)), HM_VERDICT_USABLE, "cgroup: usable");
	is_str(line, "2 MiB: 8 pages usable on nodes 0, 2 (cgroup /ci caps it; 960 free)",
	       "cgroup: line names the cgroup");
	cg->rsvd_max = 6 * MiB;
	cg->rsvd_usage = 2 * MiB;
	hmi_hugedir_resolve(ctx, &si, NULL);
	is_u64(si.pools[0].budget, 2, "cgroup: rsvd.max - rsvd.current lower still");
	cg->rsvd_usage = 8 * MiB; /* above its limit */
	hmi_hugedir_resolve(ctx, &si, NULL);
	is_u64(si.pools[0].budget, 0, "cgroup: rsvd usage > max clamps to 0");
	cg->rsvd_max = UINT64_MAX;
	cg->usage = 40 * MiB; /* usage > max happens */
	hmi_hugedir_resolve(ctx, &si, NULL);
	is_u64(si.pools[0].budget, 0, "cgroup: usage > max clamps to 0, no wrap");
	is_int(si.pools[0].budget_cap, HM_CAP_CGROUP, "cgroup: still the cgroup's cap");
	is_int(verdict(&si, 0, line, sizeof(line)), HM_VERDICT_CAPPED, "cgroup: capped");
	is_str(line, "2 MiB: cgroup /ci caps this process at 0 pages (960 free)",
	       "cgroup: capped line");
	cg->max = 2 * 960 * MiB;
	cg->usage = 0;
	hmi_hugedir_resolve(ctx, &si, NULL);
	is_int(si.pools[0].budget_cap, HM_CAP_POOL, "cgroup: tie goes to the pool");
	cg->version = 0;
	cg->max = 0;
	hmi_hugedir_resolve(ctx, &si, NULL);
	is_u64(si.pools[0].budget, 960, "cgroup: version 0 means no controller: ignored");
}

static void test_exhausted(void)
{
	struct hm_mount mounts[4];
	struct hm_sysinfo si;
	char line[256];

	machine(&si, mounts);
	si.pools[0].nr = 512;
	si.pools[0].free = 0;
	si.pools[0].nodes[0].free = 0;
	si.pools[0].nodes[1].free = 0;
	hmi_hugedir_resolve(ctx, &si, NULL);
	is_int(verdict(&si, 0, line, sizeof(line)), HM_VERDICT_EXHAUSTED, "exhausted: verdict");
	is_str(line, "2 MiB: all 512 pages in use (0 free)", "exhausted: line");
	si.pools[0].free = 8;
	si.pools[0].resv = 12; /* more reserved than free: no underflow */
	hmi_hugedir_resolve(ctx, &si, NULL);
	is_u64(si.pools[0].budget, 0, "exhausted: resv > free clamps to 0");
	is_int(verdict(&si, 0, line, sizeof(line)), HM_VERDICT_EXHAUSTED,
	       "exhausted: free pages all reserved");
	like(line, "(8 free, all reserved", "exhausted: line says the free ones are reserved");
	si.pools[0].resv = 3;
	si.pools[0].nodes[0].free = 8;
	hmi_hugedir_resolve(ctx, &si, NULL);
	is_u64(si.pools[0].budget, 5, "resv: free - resv");
	is_u64(si.pools[0].node_budget[0], 5, "resv: node estimate never above the budget");
}

static void test_no_mount(void)
{
	struct hm_mount mounts[4];
	struct hm_sysinfo si;
	char line[256];

	machine(&si, mounts);
	si.n_mounts = 1; /* only the 2M mount */
	si.pools[1].nr = 4;
	si.pools[1].free = 4;
	si.pools[1].nodes[0].free = 4;
	hmi_hugedir_resolve(ctx, &si, NULL);
	is_int(si.pools[1].mount, -1, "no mount: none for 1 GiB");
	is_u64(si.pools[1].budget, 4, "no mount: budget still counts (memfd may serve)");
	is_int(verdict(&si, 1, line, sizeof(line)), HM_VERDICT_NO_MOUNT, "no mount: verdict");
	is_str(line,
	       "1 GiB: 4 pages reserved but no hugetlbfs mount serves them: "
	       "hugemem mount --page-size 1G (or use --in-memory)",
	       "no mount: line");
	si.n_mounts = 0;
	hmi_hugedir_resolve(ctx, &si, NULL);
	is_int(si.pools[0].mount, -1, "no mounts at all: 2 MiB unserved");
}

static void test_huge_dir(void)
{
	struct hm_mount mounts[4];
	struct hm_sysinfo si;
	char fake[HM_PATH_MAX];
	int rc;

	machine(&si, mounts);
	rc = hmi_hugedir_resolve(ctx, &si, "/mnt/nothere");
	is_int(rc, -EINVAL, "huge-dir: not a mount refused");
	like(hm_errmsg(ctx), "--huge-dir /mnt/nothere is not a hugetlbfs mount",
	     "huge-dir: message names it");
	like(hm_errmsg(ctx), "hugemem mount /mnt/nothere", "huge-dir: message gives the fix");
	rc = hmi_hugedir_resolve(ctx, &si, "/mnt//huge1G/");
	is_int(rc, 0, "huge-dir: slashes normalised (fixture root: no statfs)");
	is_int(si.pools[1].mount, 1, "huge-dir: serves 1 GiB");
	is_int(si.pools[0].mount, 0, "huge-dir: 2 MiB keeps its own choice");
	mount_set(&mounts[2], p_w, 2 * MiB, 0, 0);
	si.n_mounts = 3;
	hmi_hugedir_resolve(ctx, &si, "/mnt/w");
	is_int(si.pools[0].mount, 2, "huge-dir: overrides the automatic choice of its size");
	mounts[2].page_size = 16 * GiB;
	rc = hmi_hugedir_resolve(ctx, &si, "/mnt/w");
	is_int(rc, -EINVAL, "huge-dir: size without a pool refused");
	like(hm_errmsg(ctx), "serves 16 GiB pages", "huge-dir: message names the size");

	/* on the real root, statfs must say hugetlbfs */
	snprintf(fake, sizeof(fake), "%s/mnt/w", tmproot);
	mounts[2].path = fake;
	mounts[2].page_size = 2 * MiB;
	hm_ctx_set_root(ctx, "/");
	rc = hmi_hugedir_resolve(ctx, &si, fake);
	is_int(rc, -EINVAL, "huge-dir: a plain directory on the real root refused");
	like(hm_errmsg(ctx), "is not a hugetlbfs mount", "huge-dir: statfs magic checked");
	is_u64(mounts[2].room, UINT64_MAX, "real root, not hugetlbfs: room from size= (none)");
	is_int(mounts[2].writable, 1, "real root: access(W_OK) on a real dir");
	hm_ctx_set_root(ctx, tmproot);
}

static void test_verdict_buffer(void)
{
	struct hm_mount mounts[4];
	struct hm_sysinfo si;
	char small[12];
	struct hm_pool zero;

	machine(&si, mounts);
	hmi_hugedir_resolve(ctx, &si, NULL);
	memset(small, 'x', sizeof(small));
	is_int(verdict(&si, 0, small, sizeof(small)), HM_VERDICT_USABLE, "small buffer: verdict");
	is_int(small[sizeof(small) - 1], 0, "small buffer: NUL-terminated");
	is_str(small, "2 MiB: 960 ", "small buffer: truncated, not overrun");
	is_int(hm_pool_verdict(&si, &si.pools[1], NULL, 0), HM_VERDICT_NO_PAGES,
	       "no buffer: verdict still given");
	pool_set(&zero, 0, 4, 4, 0);
	si.pools[1] = zero;
	hmi_hugedir_resolve(ctx, &si, NULL);
	is_u64(si.pools[1].budget, 0, "page size 0: budget 0, no division by zero");
}

/* ------------------------------------------------------------------ part 2: page files */

#define N_KIDS 8
static pid_t kids[N_KIDS];
static int n_kids;
static char mnt[256];

enum hold { HOLD_FLOCK, HOLD_OFD, HOLD_POSIX, HOLD_MAP, HOLD_OPEN, HOLD_PREFIX };

static char *fpath(const char *name)
{
	static char buf[4][HM_PATH_MAX];
	static int k;

	k = (k + 1) % 4;
	snprintf(buf[k], sizeof(buf[k]), "%s/%s", mnt, name);
	return buf[k];
}

static int child_hold(const char *path, enum hold how)
{
	struct flock fl = {.l_type = F_RDLCK, .l_whence = SEEK_SET};
	int fd = open(path, O_RDWR), lfd;
	void *m;

	if (fd < 0)
		return 1;
	switch (how) {
	case HOLD_FLOCK: /* as hugemem and DPDK do: the mapping keeps the lock */
		if (flock(fd, LOCK_SH) < 0)
			return 1;
		m = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
		close(fd);
		return m == MAP_FAILED;
	case HOLD_OFD:
		return fcntl(fd, F_OFD_SETLK, &fl) < 0;
	case HOLD_POSIX:
		return fcntl(fd, F_SETLK, &fl) < 0;
	case HOLD_MAP:
		m = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
		close(fd);
		return m == MAP_FAILED;
	case HOLD_OPEN:
		return 0;
	case HOLD_PREFIX:
		close(fd);
		return hm_prefix_lock(ctx, "pl", &lfd) < 0;
	}
	return 1;
}

/* Fork a child that holds PATH in the way HOW and then waits to be killed. */
static pid_t spawn(const char *path, enum hold how)
{
	int p[2];
	char c = 0;
	pid_t pid;

	if (pipe(p) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		close(p[0]);
		c = child_hold(path, how) ? 'E' : 'R';
		if (write(p[1], &c, 1) != 1 || c != 'R')
			_exit(1);
		for (;;)
			pause();
	}
	close(p[1]);
	if (pid < 0 || read(p[0], &c, 1) != 1 || c != 'R') {
		diag("child for %s failed to start", path);
		c = 0;
	}
	close(p[0]);
	if (pid > 0)
		kids[n_kids++] = pid;
	return c == 'R' ? pid : -1;
}

/* Kill and reap a child still running (never a pid that may be reused). */
static void kill_kid(pid_t pid)
{
	for (int i = 0; pid > 0 && i < n_kids; i++) {
		if (kids[i] != pid)
			continue;
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		kids[i] = 0;
	}
}

static char record_dir[HM_PATH_MAX]; /* "": files made are not recorded */

/* Record NAME's inode as its prefix's primary would (hugedir/record.c), so
 * that hm_clear may remove it: only proved files are removed. */
static void record_file(const char *name)
{
	const char *cut = NULL;
	char dir[HM_PATH_MAX + HM_PREFIX_MAX];
	struct stat st;
	int fd;

	for (const char *p = strstr(name, "map_"); p; p = strstr(p + 1, "map_"))
		cut = p;
	if (!record_dir[0] || !cut || stat(fpath(name), &st) < 0)
		return;
	snprintf(dir, sizeof(dir), "%s/%.*s", record_dir, (int)(cut - name), name);
	mkdir(record_dir, 0700);
	mkdir(dir, 0700);
	strncat(dir, "/" HMI_RECORD_FILE, sizeof(dir) - strlen(dir) - 1);
	fd = open(dir, O_WRONLY | O_CREAT | O_APPEND, 0600);
	if (fd < 0 || hmi_record_add(ctx, fd, (uint64_t)st.st_dev, (uint64_t)st.st_ino, name) < 0)
		diag("cannot record %s", name);
	if (fd >= 0)
		close(fd);
}

static void make_file(const char *name)
{
	char data[8192];
	int fd = open(fpath(name), O_RDWR | O_CREAT | O_TRUNC, 0644);

	memset(data, 1, sizeof(data));
	if (fd < 0 || write(fd, data, sizeof(data)) != (ssize_t)sizeof(data))
		diag("cannot create %s", fpath(name));
	if (fd >= 0)
		close(fd);
	record_file(name);
}

static int exists(const char *name)
{
	return access(fpath(name), F_OK) == 0;
}

static const struct hm_page_file *find(const struct hm_file_list *l, const char *name)
{
	for (int i = 0; l && i < l->n; i++)
		if (strcmp(l->files[i].path, fpath(name)) == 0)
			return &l->files[i];
	return NULL;
}

static void check_state(const struct hm_file_list *l, const char *name, enum hm_file_state st,
			pid_t pid, const char *label)
{
	const struct hm_page_file *f = find(l, name);

	ok(f != NULL, "%s: %s listed", label, name);
	if (!f)
		return;
	is_int(f->state, st, "%s: %s state", label, name);
	if (pid >= 0)
		is_int(f->pid, pid, "%s: %s holder pid", label, name);
}

static void test_scan(struct hm_sysinfo *si, const pid_t *who)
{
	struct hm_file_list *l = NULL;
	const struct hm_page_file *f;
	struct stat st;
	int n;

	n = hm_files_scan(ctx, si, NULL, &l);
	is_int(n, 9, "scan: 9 page-file names (others ignored)");
	ok(l && l->n == n, "scan: list holds them");
	check_state(l, "hmtestmap_0", HM_FILE_LOCKED, who[HOLD_FLOCK], "flock kept by a mapping");
	check_state(l, "hmtestmap_1", HM_FILE_LOCKED, 0, "OFD lock (pid unknown)");
	check_state(l, "hmtestmap_2", HM_FILE_LOCKED, who[HOLD_POSIX], "POSIX lock");
	check_state(l, "hmtestmap_3", HM_FILE_MAPPED, who[HOLD_MAP], "mapping only");
	check_state(l, "hmtestmap_4", HM_FILE_OPEN, who[HOLD_OPEN], "open only");
	check_state(l, "hmtestmap_5", HM_FILE_STALE, 0, "nobody");
	check_state(l, "plmap_0", HM_FILE_PREFIX_LIVE, who[HOLD_PREFIX], "live prefix");
	check_state(l, "amap_bmap_1", HM_FILE_STALE, 0, "two map_");
	ok(find(l, "hmtest_0") == NULL && find(l, "other.txt") == NULL, "scan: no map_ no list");
	ok(find(l, "dirmap_0") == NULL && find(l, "linkmap_0") == NULL,
	   "scan: directories and symlinks are not page files");
	f = find(l, "amap_bmap_1");
	is_str(f ? f->prefix : NULL, "amap_b", "scan: prefix runs to the last map_");
	f = find(l, "hmtestmap_0");
	is_str(f ? f->prefix : NULL, "hmtest", "scan: prefix of hmtestmap_0");
	is_int(f ? (int)f->owner : -1, HM_OWNER_HUGEMEM, "scan: hmtestmap_0 proved by its record");
	is_int(find(l, "mybitmap_0") ? (int)find(l, "mybitmap_0")->owner : -1, HM_OWNER_UNKNOWN,
	       "scan: mybitmap_0 proved by nothing");
	stat(fpath("hmtestmap_0"), &st);
	is_u64(f ? f->bytes : 0, (uint64_t)st.st_blocks * 512, "scan: bytes = st_blocks * 512");
	is_u64(f ? f->page_size : 0, 2 * MiB, "scan: page size of the mount");
	hm_file_list_free(l);

	n = hm_files_scan(ctx, si, "hmtest", &l);
	is_int(n, 6, "scan: prefix filter");
	ok(l && !find(l, "plmap_0") && !find(l, "amap_bmap_1"), "scan: other prefixes left out");
	hm_file_list_free(l);
	l = (struct hm_file_list *)1;
	is_int(hm_files_scan(ctx, si, "a/b", &l), -EINVAL, "scan: bad prefix refused");
	like(hm_errmsg(ctx), "file prefix 'a/b'", "scan: message names the prefix");
	ok(l == NULL, "scan: *out NULL on failure");
}

static int lock_free(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY), r;

	r = fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0;
	if (fd >= 0)
		close(fd);
	return r;
}

static void test_clear(struct hm_sysinfo *si, pid_t *who)
{
	struct hm_file_list *l = NULL;
	struct stat st;
	int n;

	n = hm_clear(ctx, si, NULL, 1, &l);
	is_int(n, 2, "dry run: two stale files");
	ok(l && find(l, "hmtestmap_5") && find(l, "amap_bmap_1"), "dry run: lists them");
	ok(l && l->n == 2 && l->files[0].state == HM_FILE_STALE, "dry run: listed as stale");
	ok(exists("hmtestmap_5") && exists("amap_bmap_1"), "dry run: removes nothing");
	hm_file_list_free(l);
	ok(lock_free(mnt), "dry run: directory lock released");

	n = hm_clear(ctx, si, "hmtest", 0, &l);
	is_int(n, 1, "clear hmtest: one stale file");
	ok(!exists("hmtestmap_5"), "clear: stale file removed");
	ok(exists("amap_bmap_1"), "clear: other prefix kept");
	for (int i = 0; i < 5; i++) {
		char name[32];

		snprintf(name, sizeof(name), "hmtestmap_%d", i);
		ok(exists(name), "clear: live %s kept", name);
	}
	ok(exists("plmap_0"), "clear: live prefix's file kept");
	hm_file_list_free(l);
	ok(lock_free(mnt), "clear: directory lock released");

	kill_kid(who[HOLD_FLOCK]);
	n = hm_files_scan(ctx, si, "hmtest", &l);
	check_state(l, "hmtestmap_0", HM_FILE_STALE, 0, "after kill -9 of the flock holder");
	hm_file_list_free(l);
	n = hm_clear(ctx, si, "hmtest", 0, &l);
	is_int(n, 1, "clear after kill: one removed");
	ok(!exists("hmtestmap_0"), "clear after kill: the file is gone");
	ok(l && l->n == 1 && find(l, "hmtestmap_0"), "clear after kill: listed");
	hm_file_list_free(l);

	kill_kid(who[HOLD_MAP]);
	kill_kid(who[HOLD_PREFIX]);
	n = hm_clear(ctx, si, NULL, 0, &l);
	is_int(n, 3, "clear all: mapping's, prefix's and other prefix's files");
	ok(!exists("hmtestmap_3") && !exists("plmap_0") && !exists("amap_bmap_1"),
	   "clear all: gone");
	ok(exists("hmtestmap_1") && exists("hmtestmap_2") && exists("hmtestmap_4"),
	   "clear all: OFD, POSIX and open holders kept");
	hm_file_list_free(l);

	for (int h = HOLD_FLOCK; h <= HOLD_PREFIX; h++)
		kill_kid(who[h]);
	n = hm_clear(ctx, si, NULL, 0, &l);
	is_int(n, 3, "clear after all died: the rest");
	hm_file_list_free(l);
	ok(exists("hmtest_0") && exists("other.txt") && exists("xmap"), "non-matching untouched");
	ok(exists("mybitmap_0"), "a *map_* file no record proves untouched");
	ok(lstat(fpath("dirmap_0"), &st) == 0 && lstat(fpath("linkmap_0"), &st) == 0,
	   "directory and symlink untouched");
	l = (struct hm_file_list *)1;
	is_int(hm_clear(ctx, si, "..", 0, &l), -EINVAL, "clear: bad prefix refused");
	ok(l == NULL, "clear: *out NULL on failure");
}

static double now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

/* A DPDK process holding the directory lock for a moment: hm_clear waits. */
static void test_dir_lock(struct hm_sysinfo *si)
{
	struct hm_file_list *l = NULL;
	int p[2], n;
	double t0;
	char c;
	pid_t pid;

	make_file("hmtestmap_9");
	if (pipe(p) < 0)
		return;
	pid = fork();
	if (pid == 0) {
		int fd = open(mnt, O_RDONLY | O_DIRECTORY);

		c = fd >= 0 && flock(fd, LOCK_EX) == 0 ? 'R' : 'E';
		if (write(p[1], &c, 1) != 1)
			_exit(1);
		usleep(300 * 1000);
		_exit(0);
	}
	close(p[1]);
	ok(read(p[0], &c, 1) == 1 && c == 'R', "dir lock: child holds it");
	close(p[0]);
	t0 = now_ms();
	n = hm_clear(ctx, si, "hmtest", 0, &l);
	ok(now_ms() - t0 >= 200, "dir lock: hm_clear waited for it (%.0f ms)", now_ms() - t0);
	is_int(n, 1, "dir lock: then cleared");
	hm_file_list_free(l);
	waitpid(pid, NULL, 0);
}

static void test_files(void)
{
	struct hm_mount mounts[2];
	struct hm_sysinfo si;
	pid_t who[HOLD_PREFIX + 1];
	char rundir[HM_PATH_MAX];
	static const char *const names[] = {"hmtestmap_0", "hmtestmap_1", "hmtestmap_2",
					    "hmtestmap_3", "hmtestmap_4", "hmtestmap_5",
					    "plmap_0",	   "amap_bmap_1", "hmtest_0",
					    "other.txt",   "xmap"};

	snprintf(mnt, sizeof(mnt), "%s/mnt/fake", tmproot);
	snprintf(rundir, sizeof(rundir), "%s/run", tmproot);
	mkdir(mnt, 0755);
	hm_ctx_set_root(ctx, "/");
	hm_ctx_set_runtime_dir(ctx, rundir);
	snprintf(record_dir, sizeof(record_dir), "%s", rundir);
	for (size_t i = 0; i < HMI_ARRAY_SIZE(names); i++)
		make_file(names[i]);
	record_dir[0] = '\0';
	make_file("mybitmap_0"); /* another program's: no record proves it */
	snprintf(record_dir, sizeof(record_dir), "%s", rundir);
	mkdir(fpath("dirmap_0"), 0755);
	if (symlink(fpath("hmtestmap_5"), fpath("linkmap_0")) < 0)
		diag("cannot create the symlink");

	memset(&si, 0, sizeof(si));
	mount_set(&mounts[0], mnt, 2 * MiB, 0, 0);
	mount_set(&mounts[1], mnt, 2 * MiB, 0, 0); /* listed twice: bind mount */
	si.mounts = mounts;
	si.n_mounts = 2;

	who[HOLD_FLOCK] = spawn(fpath("hmtestmap_0"), HOLD_FLOCK);
	who[HOLD_OFD] = spawn(fpath("hmtestmap_1"), HOLD_OFD);
	who[HOLD_POSIX] = spawn(fpath("hmtestmap_2"), HOLD_POSIX);
	who[HOLD_MAP] = spawn(fpath("hmtestmap_3"), HOLD_MAP);
	who[HOLD_OPEN] = spawn(fpath("hmtestmap_4"), HOLD_OPEN);
	who[HOLD_PREFIX] = spawn(fpath("plmap_0"), HOLD_PREFIX);
	for (int h = HOLD_FLOCK; h <= HOLD_PREFIX; h++)
		ok(who[h] > 0, "child %d holds its file", h);
	test_scan(&si, who);
	test_clear(&si, who);
	test_dir_lock(&si);
}

static void cleanup(void)
{
	char cmd[HM_PATH_MAX + 16];

	for (int i = 0; i < n_kids; i++)
		if (kids[i] > 0)
			kill_kid(kids[i]);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmproot);
	if (strncmp(tmproot, "/tmp/hmtest-hugedir-", 20) == 0 && system(cmd) != 0)
		diag("cannot remove %s", tmproot);
}

int main(void)
{
	char mntdir[HM_PATH_MAX];

	if (!mkdtemp(tmproot) || hm_ctx_new(&ctx) < 0)
		return plan_skip_all("cannot create a tmp directory");
	snprintf(mntdir, sizeof(mntdir), "%s/mnt", tmproot);
	mkdir(mntdir, 0755);
	hm_ctx_set_root(ctx, tmproot);
	test_basic();
	test_single_node();
	test_mount_choice();
	test_mount_room();
	test_cgroup();
	test_exhausted();
	test_no_mount();
	test_huge_dir();
	test_verdict_buffer();
	test_files();
	cleanup();
	hm_ctx_free(ctx);
	return done();
}
