/* SPDX-License-Identifier: MIT */
/*
 * hugemem.h — the one public header of libhugemem.
 *
 * hugemem turns Linux hugepages into memory a user-space driver can hand to a
 * device. This header is the whole public interface; everything it exports is
 * prefixed hm_ (or HM_).
 *
 * Conventions (every call, unless its comment says otherwise):
 *  - Calls return 0 (or a count) on success and a negative errno on failure.
 *    They never print, exit or abort. After a failure, hm_errmsg(ctx) returns
 *    one line naming the input at fault and, where there is one, the fix.
 *  - The caller owns the context (struct hm_ctx). There are no globals: two
 *    contexts in one process are independent, but one context must not be used
 *    by two threads at once.
 *  - Objects a call allocates (struct hm_sysinfo, lists) are freed with the
 *    matching hm_*_free call; NULL is accepted there.
 *  - Every sysfs/procfs path is read below the context's root ("/" unless
 *    hm_ctx_set_root says otherwise), so tests point the library at a fixture
 *    tree.
 */
#ifndef HUGEMEM_H
#define HUGEMEM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define HM_VERSION_MAJOR 0
#define HM_VERSION_MINOR 1
#define HM_VERSION_PATCH 0

#define HM_MAX_NODES	  64 /* NUMA node ids 0 .. HM_MAX_NODES-1 */
#define HM_MAX_PAGE_SIZES 8  /* hugepage sizes one system offers */
#define HM_MAX_ZONES	  16 /* --zone options on one command line */
#define HM_MAX_ARGS	  4  /* positional arguments of one command */
#define HM_ZONE_NAME_MAX  32 /* bytes, including the NUL */
#define HM_PREFIX_MAX	  64 /* --file-prefix bytes, including the NUL */
#define HM_PATH_MAX	  4096

#define HM_DEFAULT_PREFIX "hm"
#define HM_DEFAULT_MEM                                                                             \
	(64ULL << 20) /* what init maps when neither -m nor --socket-mem is given                  \
		       */
#define HM_DEFAULT_BASE_VA 0x200000000000ULL /* clear of ASan's shadow (DESIGN.md) */

/* ------------------------------------------------------------------ context */

struct hm_ctx;

/* Create a context with root "/" and the default runtime directory.
 * Returns 0, or -ENOMEM. */
int hm_ctx_new(struct hm_ctx **ctxp);
void hm_ctx_free(struct hm_ctx *ctx);

/* Read sysfs/procfs below ROOT instead of "/" (a fixture tree in tests).
 * Returns 0, -EINVAL (not absolute), -ENAMETOOLONG. */
int hm_ctx_set_root(struct hm_ctx *ctx, const char *root);
const char *hm_ctx_root(const struct hm_ctx *ctx);

/* Use DIR as the base of per-prefix runtime directories instead of the default
 * (/run/hugemem as root, $XDG_RUNTIME_DIR/hugemem otherwise, else
 * /tmp/hugemem-<uid>). Returns 0, -EINVAL, -ENAMETOOLONG. */
int hm_ctx_set_runtime_dir(struct hm_ctx *ctx, const char *dir);
const char *hm_ctx_runtime_dir(const struct hm_ctx *ctx);

/* Progress of long work (faulting in pages): FN(ARG, STEP, DONE, TOTAL) is
 * called by the thread running hm_init, at most every ~100 ms and once more
 * when the step ends (DONE == TOTAL); STEP names the step ("map"), DONE and
 * TOTAL count pages. The library itself never prints: the CLI draws a line
 * from it. FN NULL turns it off. Returns 0. */
typedef void hm_progress_fn(void *arg, const char *step, uint64_t done, uint64_t total);
int hm_ctx_set_progress(struct hm_ctx *ctx, hm_progress_fn *fn, void *arg);

/* The message of the last failed call on CTX ("" when none). Valid until the
 * next call on CTX. */
const char *hm_errmsg(const struct hm_ctx *ctx);

/* BYTES in binary units, exact ("2 MiB", "1536 KiB", "0 B") into BUF;
 * returns BUF. */
const char *hm_size_str(uint64_t bytes, char *buf, size_t len);

/* ------------------------------------------------------------------ options */

enum hm_command {
	HM_CMD_INIT = 1 << 0,
	HM_CMD_ATTACH = 1 << 1,
	HM_CMD_STATUS = 1 << 2,
	HM_CMD_RESERVE = 1 << 3,
	HM_CMD_MOUNT = 1 << 4,
	HM_CMD_UNMOUNT = 1 << 5,
	HM_CMD_CLEAR = 1 << 6,
	HM_CMD_MAP = 1 << 7,
	HM_CMD_REORDER = 1 << 8,
};

enum hm_iova_mode { HM_IOVA_DEFAULT = 0, HM_IOVA_PA, HM_IOVA_VA };
enum hm_contig { HM_CONTIG_FAST = 0, HM_CONTIG_BEST };

/* Boolean options, bits of hm_opts.flags. */
enum hm_opt_flag {
	HM_OPT_NO_HUGE = 1u << 0,
	HM_OPT_IN_MEMORY = 1u << 1,
	HM_OPT_HUGE_UNLINK = 1u << 2,
	HM_OPT_NO_SHCONF = 1u << 3,
	HM_OPT_SINGLE_FILE = 1u << 4,
	HM_OPT_VERIFY = 1u << 5,
	HM_OPT_MAP = 1u << 6,
	HM_OPT_JSON = 1u << 7,
	HM_OPT_HOLD = 1u << 8,
	HM_OPT_TRACE = 1u << 9,
	HM_OPT_DRY_RUN = 1u << 10,
	HM_OPT_FORCE = 1u << 11,
	HM_OPT_HELP = 1u << 12,
};

struct hm_zone_spec {
	char name[HM_ZONE_NAME_MAX];
	uint64_t len; /* bytes */
	int contig;   /* 1: must be IOVA-contiguous */
};

/* Parsed command line. String fields point into the argv given to
 * hm_opts_parse and live as long as it does. */
struct hm_opts {
	uint64_t mem;			   /* -m, bytes; 0 = not given */
	uint64_t socket_mem[HM_MAX_NODES]; /* --socket-mem, bytes per node id */
	int socket_mem_count;		   /* entries given; 0 = not given */
	uint64_t page_size;		   /* --page-size, bytes; 0 = default */
	const char *huge_dir;		   /* --huge-dir, NULL = choose */
	const char *file_prefix;     /* --file-prefix; NULL = not given (init: HM_DEFAULT_PREFIX) */
	enum hm_iova_mode iova_mode; /* --iova-mode */
	enum hm_contig contig;	     /* --contig */
	uint64_t base_virtaddr;	     /* --base-virtaddr, 0 = HM_DEFAULT_BASE_VA */
	unsigned flags;		     /* enum hm_opt_flag */
	int node;		     /* --node, -1 = not given */
	const char *svg_file;	     /* --svg */
	const char *user;	     /* --user (mount) */
	const char *group;	     /* --group (mount) */
	int n_zones;		     /* --zone NAME:SIZE[:contig] */
	struct hm_zone_spec zones[HM_MAX_ZONES];
	int n_args; /* positional arguments */
	const char *args[HM_MAX_ARGS];
};

/* One accepted option, for help text and completion: the parser's own table. */
struct hm_optdesc {
	const char *long_name; /* without "--" */
	char short_name;       /* 0 when none */
	const char *arg;       /* argument placeholder, NULL for a flag */
	unsigned commands;     /* enum hm_command bits that accept it */
	const char *help;      /* one line */
};

/* Set every field to its default. */
void hm_opts_init(struct hm_opts *o);

/* The command named NAME ("init", "status", ...), or 0 when there is none. */
unsigned hm_command_from_name(const char *name);

/* Parse ARGV[0..ARGC) (the words after the subcommand) for COMMAND, EAL style:
 * "--opt value", "--opt=value", "-m 64", "-m64". Unknown options, options the
 * command does not take, bad values and conflicts (-m with --socket-mem) are
 * -EINVAL with a message naming the word and the fix. Touches nothing. */
int hm_opts_parse(struct hm_ctx *ctx, struct hm_opts *o, unsigned command, int argc,
		  char *const argv[]);

/* The option table: *LIST gets the array, the return value its length. */
int hm_opts_table(const struct hm_optdesc **list);

/* Parse a size: a number with an optional unit K, M, G, T (binary; "KB",
 * "MiB" and lower case accepted); a bare number is MiB, as in EAL.
 * Returns 0, or -EINVAL / -ERANGE with a message. */
int hm_parse_size(struct hm_ctx *ctx, const char *text, uint64_t *bytes);

/* Parse "--socket-mem" text "64,0,128": *COUNT entries, position = node id. */
int hm_parse_socket_mem(struct hm_ctx *ctx, const char *text, uint64_t bytes[HM_MAX_NODES],
			int *count);

/* ------------------------------------------------------------------ sysinfo */

/* Counters of one NUMA node for one page size (from
 * /sys/devices/system/node/nodeN/hugepages/...). Per-node sysfs has no
 * reserved count. */
struct hm_node_pool {
	int node;
	uint64_t nr, free, surplus;
};

struct hm_mount {
	char *path;	     /* mount point, unescaped (\040 -> ' ') */
	uint64_t page_size;  /* pagesize= option, else the default size */
	uint64_t size_limit; /* size= option in bytes; 0 = none */
	uint64_t room;	     /* bytes the mount still takes; UINT64_MAX = no limit */
	uid_t uid;	     /* uid= option, else the owner of the mount point */
	gid_t gid;
	mode_t mode;   /* mode= option, else the mode of the mount point */
	int read_only; /* "ro" */
	int writable;  /* this user may create files there */
};

/* Why a budget is what it is. */
enum hm_cap {
	HM_CAP_POOL = 1,  /* free minus reserved pages */
	HM_CAP_MOUNT = 2, /* the mount's size= room */
	HM_CAP_CGROUP = 3 /* a hugetlb cgroup limit of this process or an ancestor */
};

/* A hugetlb cgroup limit that applies to this process for one page size. */
struct hm_cgroup_limit {
	int version;	     /* 1 or 2; 0 = no hugetlb controller found */
	char *path;	     /* the cgroup whose limit is lowest, e.g. "/a/b" */
	uint64_t max;	     /* bytes; UINT64_MAX = "max" */
	uint64_t rsvd_max;   /* v2 hugetlb.<size>.rsvd.max; UINT64_MAX = none */
	uint64_t usage;	     /* bytes charged in that cgroup (.current / usage_in_bytes) */
	uint64_t rsvd_usage; /* v2 .rsvd.current */
};

struct hm_pool {
	uint64_t page_size; /* bytes */
	int is_default;	    /* the size /proc/meminfo calls Hugepagesize */
	uint64_t nr, free, resv, surplus, overcommit;
	int n_nodes;
	struct hm_node_pool nodes[HM_MAX_NODES]; /* in node id order */
	int mount;				 /* index in hm_sysinfo.mounts, -1 = none */
	struct hm_cgroup_limit cgroup;
	uint64_t budget;		    /* pages this process may use */
	enum hm_cap budget_cap;		    /* what sets it */
	uint64_t node_budget[HM_MAX_NODES]; /* pages per nodes[i]: an estimate */
};

struct hm_sysinfo {
	uint64_t default_page_size; /* /proc/meminfo Hugepagesize, 0 = none */
	int n_nodes;		    /* online NUMA nodes with memory */
	int node_ids[HM_MAX_NODES]; /* sparse ids, ascending */
	int n_pools;
	struct hm_pool pools[HM_MAX_PAGE_SIZES]; /* ascending page size */
	int n_mounts;
	struct hm_mount *mounts; /* every hugetlbfs mount */
	char *cgroup_path;	 /* this process's cgroup ("/" when none) */
	int cgroup_version;	 /* of the hugetlb controller: 1, 2, 0 = none */
};

/* Read hugepage sizes, counters, nodes, meminfo, mounts and cgroup limits
 * below the context's root, choose the mount per size (HUGE_DIR, may be NULL,
 * overrides it for its page size) and work out budgets.
 * Returns 0 and *OUT (free with hm_sysinfo_free), or -errno. */
int hm_sysinfo_read(struct hm_ctx *ctx, const char *huge_dir, struct hm_sysinfo **out);
void hm_sysinfo_free(struct hm_sysinfo *si);

/* The pool of page size PAGE_SIZE (0 = the default size), or NULL. */
const struct hm_pool *hm_sysinfo_pool(const struct hm_sysinfo *si, uint64_t page_size);

/* Does node id NODE exist? 1 / 0. */
int hm_sysinfo_has_node(const struct hm_sysinfo *si, int node);

/* Check parsed options against the system: nodes named by --socket-mem and
 * --node exist, --page-size is offered. -EINVAL with a message otherwise. */
int hm_opts_check(struct hm_ctx *ctx, const struct hm_opts *o, const struct hm_sysinfo *si);

/* What one look at a pool says. */
enum hm_verdict {
	HM_VERDICT_USABLE = 0,	  /* budget > 0 and a way to map (mount or memfd) */
	HM_VERDICT_NO_MOUNT = 3,  /* pages, but no hugetlbfs mount serves them */
	HM_VERDICT_NO_PAGES = 4,  /* no pages reserved of this size */
	HM_VERDICT_EXHAUSTED = 5, /* pages reserved, none free (all in use) */
	HM_VERDICT_CAPPED = 6,	  /* free pages, but a cgroup or mount cap leaves none */
};

/* One line for POOL into BUF ("2 MiB: 960 pages usable on node 0"), and its
 * verdict. */
enum hm_verdict hm_pool_verdict(const struct hm_sysinfo *si, const struct hm_pool *pool, char *buf,
				size_t len);

/* Decode one /proc/self/pagemap entry: 1 and *PFN if present, else 0. */
int hm_pagemap_decode(uint64_t entry, uint64_t *pfn);

/* ------------------------------------------------------------------ page files */

/* Why a page file is live or stale. */
enum hm_file_state {
	HM_FILE_STALE = 0,	/* no lock, no mapping, no open descriptor */
	HM_FILE_LOCKED = 1,	/* a process holds a flock or fcntl lock on it */
	HM_FILE_MAPPED = 2,	/* a process maps it */
	HM_FILE_OPEN = 3,	/* a process holds it open */
	HM_FILE_PREFIX_LIVE = 4 /* its prefix's primary holds the liveness lock */
};

struct hm_page_file {
	char *path;
	char *prefix;	    /* the part before "map_" */
	uint64_t page_size; /* of the mount */
	uint64_t bytes;	    /* st_blocks * 512: what it holds of the pool */
	enum hm_file_state state;
	pid_t pid; /* a live holder, 0 = unknown or none */
};

struct hm_file_list {
	int n;
	struct hm_page_file *files;
};

/* List the files named "<prefix>map_<n>" (and hugemem's own single-file and
 * page-file names) in every hugetlbfs mount of SI (PREFIX NULL = all), with
 * each file's state. */
int hm_files_scan(struct hm_ctx *ctx, const struct hm_sysinfo *si, const char *prefix,
		  struct hm_file_list **out);
void hm_file_list_free(struct hm_file_list *list);

/* Remove the stale files of PREFIX (NULL = every prefix): under the mount's
 * directory lock, each file is re-checked with an exclusive flock held while
 * it is unlinked, so a file a live process holds, maps or opens is never
 * removed. DRY_RUN lists without removing. *OUT gets what was (or would be)
 * removed. Returns the count. */
int hm_clear(struct hm_ctx *ctx, const struct hm_sysinfo *si, const char *prefix, int dry_run,
	     struct hm_file_list **out);

/* ------------------------------------------------------------------ prefixes */

/* The runtime directory of PREFIX into BUF. -EINVAL for a bad prefix (empty,
 * '/', "..", too long), -ENAMETOOLONG. */
int hm_prefix_dir(struct hm_ctx *ctx, const char *prefix, char *buf, size_t len);

/* Who holds PREFIX's liveness lock: *PID = holder, 0 = nobody. */
int hm_prefix_owner(struct hm_ctx *ctx, const char *prefix, pid_t *pid);

/* Take PREFIX's liveness lock (an fcntl write lock, not inherited across
 * fork) creating the runtime directory (0700, no symlinks followed). *FD gets
 * the descriptor that holds it; close it to release. -EBUSY with the holder's
 * pid and the --file-prefix hint when another process holds it. */
int hm_prefix_lock(struct hm_ctx *ctx, const char *prefix, int *fd);

/* Live prefixes under the runtime directory: up to MAX names into NAMES (each
 * HM_PREFIX_MAX bytes) and their owners into PIDS. Returns the count. */
int hm_prefixes_live(struct hm_ctx *ctx, char (*names)[HM_PREFIX_MAX], pid_t *pids, int max);

/* ------------------------------------------------------------------ pool map */

struct hm_run {
	uint64_t pa;	/* physical address of the first page */
	uint64_t pages; /* run length */
};

struct hm_poolmap_node {
	int node;
	uint64_t heads;	     /* hugepages of this size seen on the node */
	uint64_t free_pages; /* of them, mapped by nobody */
	uint64_t largest;    /* pages in the longest free run */
	uint64_t n_runs;
	struct hm_run *runs; /* free runs, ascending address */
};

struct hm_poolmap {
	uint64_t page_size;
	int exact; /* free pages seen == free_hugepages and no reservations */
	int n_nodes;
	struct hm_poolmap_node nodes[HM_MAX_NODES];
};

/* The free pool's physical layout for PAGE_SIZE from /proc/kpageflags and
 * /proc/kpagecount, without mapping a page. Root only: -EACCES otherwise. An
 * upper bound: pages of unmapped page files and reserved-but-unfaulted pages
 * count as free; *OUT->exact says when it is exact. */
int hm_poolmap_read(struct hm_ctx *ctx, const struct hm_sysinfo *si, uint64_t page_size,
		    struct hm_poolmap **out);
void hm_poolmap_free(struct hm_poolmap *map);

/* ------------------------------------------------------------------ pool administration */

/* Set the pool of PAGE_SIZE (on NODE, -1 = system-wide) to PAGES pages.
 * *GOT = what the kernel gave. -ENOMEM when it gave fewer (with the count in
 * the message); -EACCES without root. */
int hm_reserve(struct hm_ctx *ctx, uint64_t page_size, int node, uint64_t pages, uint64_t *got);

/* Mount hugetlbfs of PAGE_SIZE (0 = default) on DIR (created 0755 if
 * missing), owned by UID/GID ((uid_t)-1 = keep). */
int hm_mount(struct hm_ctx *ctx, const char *dir, uint64_t page_size, uid_t uid, gid_t gid);

/* Unmount the hugetlbfs at DIR; -EBUSY naming live page files. */
int hm_unmount(struct hm_ctx *ctx, const char *dir);

/* ------------------------------------------------------------------ init (primary) */

/* A segment: contiguous in VA and IOVA at once, on one node, one page size. */
struct hm_segment {
	void *va;
	uint64_t iova;
	uint64_t len; /* bytes */
	uint64_t page_size;
	int node;
	uint32_t n_pages;
};

/* Wall time of each step of hm_init, in milliseconds. */
struct hm_timings {
	double discover, map, iova, numa, sort, select, remap, publish, total;
};

#define HM_MAX_NOTES 4
#define HM_BAD_IOVA  UINT64_MAX

/* What hm_init built (hm_layout). */
struct hm_layout_info {
	int primary; /* 1: this process ran hm_init */
	pid_t pid;
	const char *file_prefix;
	enum hm_iova_mode iova_mode; /* resolved: HM_IOVA_PA or HM_IOVA_VA */
	int hugepages;		     /* 0 with --no-huge */
	uint64_t page_size;
	uint64_t total_bytes;
	int n_segments;
	uint64_t pages_mapped;	  /* pages mapped while choosing (>= pages kept) */
	uint64_t best_pieces;	  /* fewest pieces the pool map allowed; 0 = unknown */
	uint64_t va_base, va_len; /* the VA window holding every segment */
	struct hm_timings t;
	int n_notes; /* things to say once ("rounded up", "IOVA = VA") */
	const char *notes[HM_MAX_NOTES];
};

/* Primary start-up, steps B1-B12 of DESIGN.md: discover the pools, take the
 * prefix's liveness lock, clean its stale files, map and fault in the pages
 * asked for (-m, --socket-mem, default HM_DEFAULT_MEM) on their nodes, read
 * their IOVAs and nodes, keep the pages that make the fewest pieces (mapping
 * more first, within a budget, with --contig fast; the whole usable pool with
 * --contig best), give the rest back in pool order, and move every run to one
 * contiguous VA range in one window. The memory lives until hm_fini or
 * hm_ctx_free. -EINVAL (options vs system), -ENOMEM (pool, node or cgroup
 * short: the message names the cap), -EBUSY (prefix in use), -EEXIST (VA
 * window taken), -EALREADY (already initialised). On failure nothing is left
 * mapped and no file is left. */
int hm_init(struct hm_ctx *ctx, const struct hm_opts *opts);

/* Secondary start-up (DESIGN.md C): read the layout the primary of
 * OPTS->file_prefix (default HM_DEFAULT_PREFIX) published in its runtime
 * directory, reserve the primary's whole VA window, and map every page at the
 * primary's address (page files and single files by path, memfds by
 * descriptors the primary's library thread passes over a unix socket).
 * HM_OPT_VERIFY re-reads pagemap and checks every IOVA. -ENOENT (nothing
 * published), -ESRCH (the primary is gone), -EEXIST (the window is taken
 * here: the message quotes the mapping of /proc/self/maps in the way),
 * -EPROTO / -EBADMSG (layout of another version, corrupt or truncated),
 * -EALREADY. On failure nothing is left mapped. The memory stays valid until
 * hm_fini, even if the primary exits first. */
int hm_attach(struct hm_ctx *ctx, const struct hm_opts *opts);

/* Primary: unpublish, give every page back (in pool order: the longest run
 * is handed out first to whoever maps next), remove the files, release the
 * prefix. Secondary: unmap. */
int hm_fini(struct hm_ctx *ctx);

/* The layout after hm_init, or NULL. */
const struct hm_layout_info *hm_layout(const struct hm_ctx *ctx);

/* Segment I (0 .. n_segments-1), ascending VA. -ENOENT past the end. */
int hm_segment_get(const struct hm_ctx *ctx, int i, struct hm_segment *seg);

/* Call FN for each segment in VA order until it returns non-zero (which is
 * returned). */
int hm_segment_walk(const struct hm_ctx *ctx, int (*fn)(const struct hm_segment *, void *),
		    void *arg);

/* IOVA of the byte at VA, or HM_BAD_IOVA when VA is not hugemem memory.
 * O(log segments). */
uint64_t hm_virt2iova(const struct hm_ctx *ctx, const void *va);

/* VA of IOVA, or NULL. O(log segments). */
void *hm_iova2virt(const struct hm_ctx *ctx, uint64_t iova);

/* How many bytes from VA stay contiguous in IOVA (to its segment's end);
 * 0 when VA is not hugemem memory. */
uint64_t hm_iova_contig_len(const struct hm_ctx *ctx, const void *va);

/* What hm_pool_order did. */
struct hm_order_result {
	uint64_t pages;	  /* free pages put in order */
	uint64_t runs;	  /* physically contiguous runs among them */
	uint64_t longest; /* pages in the longest run: handed out first, ascending */
};

/* Put the free pool of PAGE_SIZE (0 = default; on NODE, -1 = every node) in
 * order: the kernel hands free hugepages out last-freed-first, so map every
 * free page once, then free the runs shortest first, each from its highest
 * page down. Whoever maps next gets the longest run first, in ascending
 * physical order. Costs one zeroing of the free pool. Root only (physical
 * addresses): -EPERM otherwise. */
int hm_pool_order(struct hm_ctx *ctx, uint64_t page_size, int node, struct hm_order_result *res);

#ifdef __cplusplus
}
#endif
#endif /* HUGEMEM_H */
