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
 *    by two threads at once — except the heap and zone calls (hm_malloc ...,
 *    hm_memzone_*), which any thread may make on a shared context.
 *  - Objects a call allocates (struct hm_sysinfo, lists) are freed with the
 *    matching hm_*_free call; NULL is accepted there.
 *  - Each call's comment ends with its errors, "Errors: -EA, -EB." or
 *    "Errors: none.", the same set as the ERRORS of its man page (checked by
 *    test/man_errno.t). An errno passed on from a system call is listed where
 *    the call can meet it in its use; -EMFILE and -ENFILE (out of
 *    descriptors), which any call that opens a file can meet, only where a
 *    call gives them for a reason of its own.
 *  - Every sysfs/procfs path is read below the context's root ("/" unless
 *    hm_ctx_set_root says otherwise), so tests point the library at a fixture
 *    tree.
 *  - Memory (hm_init, hm_attach) belongs to the process that mapped it. A
 *    child forked from it maps none of it and holds only a copy of the
 *    context: there hm_fini and hm_ctx_free only forget the memory (they
 *    touch no page, file, lock or runtime directory of the parent) and return
 *    0; the heap and zone calls fail with -ECHILD (NULL) naming the call and
 *    the parent's pid; the layout and translation calls answer as without
 *    memory; hm_init and hm_attach say -EALREADY until hm_fini. A child that
 *    needs the memory attaches as a secondary with a context of its own, or
 *    execs. A vfork child may call nothing; one made without the atfork
 *    handlers (a raw clone or fork system call, _Fork) must not call the heap
 *    (man hm_fini).
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
#define HM_VERSION_MINOR 5
#define HM_VERSION_PATCH 0

#define HM_MAX_NODES	    64 /* NUMA node ids 0 .. HM_MAX_NODES-1 */
#define HM_MAX_PAGE_SIZES   8  /* hugepage sizes one system offers */
#define HM_MAX_ZONES	    16 /* --zone options hugemem(1) takes on one command line */
#define HM_MAX_VFIO_DEVICES 16 /* --vfio-device options hugemem(1) takes on one command line */
#define HM_ZONE_NAME_MAX    32 /* bytes, including the NUL */
#define HM_PREFIX_MAX	    64 /* --file-prefix bytes, including the NUL */
#define HM_PATH_MAX	    4096
#define HM_PCI_ADDR_MAX	    20 /* a PCI address, "0000:03:00.0" (up to 8 domain digits), its NUL */

#define HM_DEFAULT_PREFIX "hm"
#define HM_DEFAULT_MEM                                                                             \
	(64ULL << 20) /* what init maps when neither -m nor --socket-mem is given                  \
		       */
#define HM_DEFAULT_BASE_VA 0x200000000000ULL /* clear of ASan's shadow (docs/design.md) */

/* ------------------------------------------------------------------ context */

struct hm_ctx;

/* Create a context with root "/" and the default runtime directory.
 * Returns 0.
 * Errors: -ENOMEM. */
int hm_ctx_new(struct hm_ctx **ctxp);
/* Free CTX and release its memory as hm_fini does (in a forked child: only
 * forget it). NULL is accepted.
 * Errors: none. */
void hm_ctx_free(struct hm_ctx *ctx);

/* Read sysfs/procfs below ROOT instead of "/" (a fixture tree in tests).
 * Returns 0, -EINVAL (not absolute), -ENAMETOOLONG.
 * Errors: -EINVAL, -ENAMETOOLONG. */
int hm_ctx_set_root(struct hm_ctx *ctx, const char *root);
/* The root in use: "/" unless hm_ctx_set_root set another. Errors: none. */
const char *hm_ctx_root(const struct hm_ctx *ctx);

/* Use DIR as the base of per-prefix runtime directories instead of the default
 * (/run/hugemem as root, $XDG_RUNTIME_DIR/hugemem otherwise, else
 * /tmp/hugemem-<uid>). Returns 0, -EINVAL, -ENAMETOOLONG.
 * Errors: -EINVAL, -ENAMETOOLONG. */
int hm_ctx_set_runtime_dir(struct hm_ctx *ctx, const char *dir);
/* The base of the runtime directories in use. Errors: none. */
const char *hm_ctx_runtime_dir(const struct hm_ctx *ctx);

/* Progress of long work (faulting in pages): FN(ARG, STEP, DONE, TOTAL) is
 * called by the thread running hm_init, at most every ~100 ms and once more
 * when the step ends (DONE == TOTAL); STEP names the step ("map"), DONE and
 * TOTAL count pages. The library itself never prints: the CLI draws a line
 * from it. FN NULL turns it off. Returns 0.
 * Errors: none. */
typedef void hm_progress_fn(void *arg, const char *step, uint64_t done, uint64_t total);
int hm_ctx_set_progress(struct hm_ctx *ctx, hm_progress_fn *fn, void *arg);

/* Ask a running hm_init or hm_attach on CTX to stop: it undoes everything it
 * had done (pages given back, page files and the runtime directory removed,
 * prefix lock dropped) and fails with ECANCELED. Async-signal-safe (one atomic
 * store) and callable from any thread or from FN of hm_ctx_set_progress.
 * hm_init checks between its steps and between fault-in rounds of ~256 MiB,
 * so the stop comes within about one round. The request is taken by the call
 * it stops; one made while no such call runs stops the next at its start.
 * Returns 0, or -EINVAL for CTX NULL.
 *
 * An application's own signal handling (for SIGINT, SIGTERM, ...): the
 * handler calls hm_ctx_cancel(ctx) and sets a flag of its own, nothing else
 * of hugemem (no other hm_* call is async-signal-safe); the main flow, when
 * the flag is set, calls hm_fini (when hm_init succeeded) and hm_ctx_free,
 * then exits or re-raises the signal. Install the handler before hm_init, so
 * no moment is uncovered. A process killed by a signal it does not handle
 * (and SIGKILL, which no process can handle) leaves its page files and
 * runtime directory until the next primary of its prefix or `hugemem clear`
 * removes them; --in-memory leaves no page file. hugemem's own threads block
 * every signal: the application's handler runs in one of its threads.
 * Errors: -EINVAL. */
int hm_ctx_cancel(struct hm_ctx *ctx);

/* The message of the last failed call on CTX ("" when none). Valid until the
 * next call on CTX.
 * Errors: none. */
const char *hm_errmsg(const struct hm_ctx *ctx);

/* BYTES in binary units, exact ("2 MiB", "1536 KiB", "0 B") into BUF;
 * returns BUF.
 * Errors: none. */
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
	HM_CMD_KEEPER = 1 << 9,
	HM_CMD_SETUP = 1 << 10,
};

/* --iova-mode. HM_IOVA_ALLOC (only with an IOMMU, --iommu): IO addresses
 * allocated inside the IOMMU's usable ranges, for when VAs do not fit. */
enum hm_iova_mode { HM_IOVA_DEFAULT = 0, HM_IOVA_PA, HM_IOVA_VA, HM_IOVA_ALLOC };

/* --iommu: how devices reach the memory (docs/dma.md). DEFAULT: OFF, or
 * AUTO when devices are given (hm_opts.vfio_devices). AUTO tries iommufd,
 * then VFIO type1, never NOIOMMU (which lets devices reach all memory). */
enum hm_iommu {
	HM_IOMMU_DEFAULT = 0,
	HM_IOMMU_OFF,
	HM_IOMMU_AUTO,
	HM_IOMMU_IOMMUFD,
	HM_IOMMU_TYPE1,
	HM_IOMMU_NOIOMMU
};
enum hm_contig { HM_CONTIG_FAST = 0, HM_CONTIG_BEST };

/* Boolean options, bits of hm_opts.flags. The bits 6 to 12 are no longer
 * used: they were the command line's own switches (--map, --json, --hold,
 * --trace, --dry-run, --force, --help), which live in hugemem(1), not here. */
enum hm_opt_flag {
	HM_OPT_NO_HUGE = 1u << 0,
	HM_OPT_IN_MEMORY = 1u << 1,
	HM_OPT_HUGE_UNLINK = 1u << 2,
	HM_OPT_NO_SHCONF = 1u << 3,
	HM_OPT_SINGLE_FILE = 1u << 4,
	HM_OPT_VERIFY = 1u << 5,
	HM_OPT_ALLOW_UNSAFE_MOUNT = 1u << 13, /* page files in a mount others may write */
};

struct hm_zone_spec {
	char name[HM_ZONE_NAME_MAX];
	uint64_t len; /* bytes */
	int contig;   /* 1: must be IOVA-contiguous */
};

/* What hm_init and hm_attach are asked to do (hm_opts_parse fills it from a
 * command line; an application may as well set the fields itself). String
 * fields hm_opts_parse sets point into its argv and live as long as it does.
 *
 * SIZE versions the structure: hm_opts_init sets it to sizeof(struct
 * hm_opts) of the header the caller was compiled with, and every call that
 * takes options reads only the fields that size covers (defaults for the
 * rest), so fields are only ever appended at the end. Always start from
 * hm_opts_init: a SIZE of 0 is refused with -EINVAL. */
struct hm_opts {
	size_t size;			   /* set by hm_opts_init; never by hand */
	uint64_t mem;			   /* -m (init), --for (map): bytes; 0 = not given */
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
	/* --zone NAME:SIZE[:contig]: hm_init reserves zones[0 .. n_zones) once the
	 * memory exists. The array is the caller's (no limit is built into this
	 * structure); hm_opts_parse appends to it up to max_zones entries. */
	int n_zones;
	int max_zones;
	struct hm_zone_spec *zones;
	/* Appended in hugemem 0.3 (read only when SIZE covers them). --vfio-device
	 * BDF (repeatable): PCI devices, each in its canonical form
	 * ("0000:03:00.0"), in the caller's array (as zones): hm_opts_parse
	 * appends up to max_vfio_devices of them. init maps the memory for them
	 * (docs/dma.md); status gives a verdict for each. --iommu: how devices
	 * reach the memory; --dma-mask-bits: their address width (0 = 64). */
	int n_vfio_devices;
	int max_vfio_devices;
	char (*vfio_devices)[HM_PCI_ADDR_MAX];
	enum hm_iommu iommu;
	unsigned dma_mask_bits;
	/* Appended in hugemem 0.4. --max-mem SIZE: the memory may grow to SIZE
	 * while the application runs (docs/growth.md): hm_init reserves a window
	 * that large and maps -m (or --socket-mem) of it at start; the heap and
	 * zones map more when they cannot be served. 0 = no growth.
	 * --socket-max-mem A,B,...: the same per node id (growth on a node not
	 * given is refused). */
	uint64_t max_mem;
	uint64_t socket_max_mem[HM_MAX_NODES];
	int socket_max_mem_count;
	/* --auto-trim SIZE: with growth, a free that leaves a grown unit wholly
	 * free gives grown units back (as hm_mem_trim) while more than
	 * AUTO_TRIM_KEEP bytes of them are free (0: as soon as one is); set
	 * AUTO_TRIM to 1 to have it. In the primary (a secondary's frees leave
	 * it to the primary's next free or trim). */
	int auto_trim;
	uint64_t auto_trim_keep;
	/* --keeper auto|DIR|off: take the memory from a running pool keeper
	 * (docs/keeper.md). NULL or "auto": the keeper next to the runtime
	 * directories (HM_KEEPER_DIR_DEFAULT) when one runs, else the usual
	 * path; "off": never; a directory: that keeper, which must serve. Not
	 * with --huge-dir, --single-file-segments, --no-huge or --max-mem. */
	const char *keeper;
};

/* One accepted option, for help text and completion: the parser's own table. */
struct hm_optdesc {
	const char *long_name; /* without "--" */
	char short_name;       /* 0 when none */
	const char *arg;       /* argument placeholder, NULL for a flag */
	unsigned commands;     /* enum hm_command bits that accept it */
	const char *help;      /* one line */
};

/* Set every field of O to its default and O->size to SIZE, which must be
 * sizeof(struct hm_opts) as the caller sees it: call hm_opts_init, which
 * passes it. Errors: none. */
void hm_opts_init_size(struct hm_opts *o, size_t size);

/* Set every field to its default, and the size (see struct hm_opts). Errors: none. */
static inline void hm_opts_init(struct hm_opts *o)
{
	hm_opts_init_size(o, sizeof(*o));
}

/* The command named NAME ("init", "status", ...), or 0 when there is none. Errors: none. */
unsigned hm_command_from_name(const char *name);

/* The index in NAMES[0..N) of the name nearest WORD, by the rule of the
 * parser's "did you mean" hints for options (optimal string alignment
 * distance at most 2; the first of equally near names), so that a program's
 * own words (hugemem(1)'s commands) get the same hints; -1 when no name is
 * that near, or WORD or NAMES is NULL. Words and names longer than 32 bytes
 * are never near. Errors: none. */
int hm_nearest_name(const char *word, const char *const names[], int n);

/* Parse ARGV[0..ARGC) (the words after the subcommand) for COMMAND, EAL style:
 * "--opt value", "--opt=value", "-m 64", "-m64". Unknown options, options the
 * command does not take, positional words, bad values and conflicts (-m with
 * --socket-mem) are -EINVAL with a message naming the word and the fix.
 * Touches nothing; *O is changed only on success. Errors: -EINVAL. */
int hm_opts_parse(struct hm_ctx *ctx, struct hm_opts *o, unsigned command, int argc,
		  char *const argv[]);

/* A program's own options beside the library's, parsed in the same pass by
 * the same rules (hugemem(1) adds --json, --svg ... this way): TABLE[0..N)
 * describes them as hm_opts_table does (at most HM_OPTS_EXT_MAX); TAKE gets
 * each one given (INDEX in TABLE, VALUE "" for a flag) and each positional
 * word (INDEX -1), at most MAX_ARGS of them. TAKE is called as words are
 * read: after a failure the caller drops what it got. This structure never
 * grows (unlike struct hm_opts): a new need gets a new call. */
#define HM_OPTS_EXT_MAX 32
struct hm_opts_ext {
	const struct hm_optdesc *table;
	int n;
	int max_args;
	void (*take)(void *arg, int index, const char *value);
	void *arg;
};

/* hm_opts_parse, with EXT's options and positional words too (EXT NULL:
 * exactly hm_opts_parse). Errors: -EINVAL. */
int hm_opts_parse_ext(struct hm_ctx *ctx, struct hm_opts *o, unsigned command, int argc,
		      char *const argv[], const struct hm_opts_ext *ext);

/* The option table: *LIST gets the array, the return value its length. Errors: none. */
int hm_opts_table(const struct hm_optdesc **list);

/* Parse a size: a number with an optional unit K, M, G, T (binary; "KB",
 * "MiB" and lower case accepted); a bare number is MiB, as in EAL.
 * Returns 0, or -EINVAL / -ERANGE with a message.
 * Errors: -EINVAL, -ERANGE. */
int hm_parse_size(struct hm_ctx *ctx, const char *text, uint64_t *bytes);

/* Parse "--socket-mem" text "64,0,128": *COUNT entries, position = node id.
 * Errors: -EINVAL, -ERANGE. */
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
	mode_t mode;	      /* mode= option, else the mode of the mount point */
	int read_only;	      /* "ro" */
	int writable;	      /* this user may create files there */
	int unsafe;	      /* others than its owner may write it and it is not sticky: they
				 can rename or replace page files there (hm_init refuses it
				 unless HM_OPT_ALLOW_UNSAFE_MOUNT) */
	uint64_t nr_inodes;   /* nr_inodes= option: most files and directories; 0 = none */
	uint64_t inodes_free; /* files the mount still takes; UINT64_MAX = no limit */
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
 * Returns 0 and *OUT (free with hm_sysinfo_free), or -errno.
 * Errors: -EACCES, -EFBIG, -EINVAL, -ENAMETOOLONG, -ENOENT, -ENOMEM, -ERANGE. */
int hm_sysinfo_read(struct hm_ctx *ctx, const char *huge_dir, struct hm_sysinfo **out);
/* Free what hm_sysinfo_read returned; NULL is accepted. Errors: none. */
void hm_sysinfo_free(struct hm_sysinfo *si);

/* The pool of page size PAGE_SIZE (0 = the default size), or NULL. Errors: none. */
const struct hm_pool *hm_sysinfo_pool(const struct hm_sysinfo *si, uint64_t page_size);

/* Does node id NODE exist? 1 / 0. Errors: none. */
int hm_sysinfo_has_node(const struct hm_sysinfo *si, int node);

/* Check parsed options against the system: nodes named by --socket-mem and
 * --node exist, --page-size is offered. -EINVAL with a message otherwise.
 * Errors: -EINVAL. */
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
 * verdict.
 * Errors: none. */
enum hm_verdict hm_pool_verdict(const struct hm_sysinfo *si, const struct hm_pool *pool, char *buf,
				size_t len);

/* Decode one /proc/self/pagemap entry: 1 and *PFN if present, else 0. Errors: none. */
int hm_pagemap_decode(uint64_t entry, uint64_t *pfn);

/* ------------------------------------------------------------------ IOMMU and VFIO */

/*
 * What the system offers for handing memory to a device (docs/usage.md,
 * "IOMMU and VFIO"): the IOMMU and its groups, VFIO's device nodes, the
 * limits on pinned memory, and one device's state by its PCI address. Read
 * below the context's root like everything else (sysfs and /dev); the
 * memlock limit and the capabilities are this process's own.
 */

#define HM_DEV_NAME_MAX 64 /* a device's or driver's sysfs name, with its NUL */

/* A device as sysfs shows it: one bound to a VFIO driver, one asked about,
 * or a member of an IOMMU group. */
struct hm_pci_dev {
	char name[HM_DEV_NAME_MAX];   /* "0000:03:00.0"; a device of another bus: its name */
	int pci;		      /* 1: a PCI device: ids and class are read */
	uint16_t vendor, device;      /* PCI ids */
	uint32_t class_code;	      /* class, subclass, interface: 0x020000 Ethernet */
	char driver[HM_DEV_NAME_MAX]; /* the bound driver; "" = none */
	int group;		      /* IOMMU group number; -1 = none */
	int node;		      /* NUMA node; -1 = none given */
	int vfio_cdev;		      /* N of /dev/vfio/devices/vfioN; -1 = none */
	int dma_owned;		      /* its driver leaves its DMA alone: none, a VFIO driver,
					 pci-stub or pcieport (the kernel's rule for a group
					 VFIO may take, drivers/vfio/group.c) */
};

/* A device node's state for this process. */
enum hm_node_access {
	HM_NODE_MISSING = -1, /* no such file */
	HM_NODE_DENIED = 0,   /* it exists, this process may not open it read-write */
	HM_NODE_OPEN = 1      /* this process may open it read-write */
};

struct hm_iommu_info {
	int iommu;		     /* 1: an IOMMU translates DMA (units in /sys/class/iommu,
					or IOMMU groups) */
	int n_groups;		     /* IOMMU groups (vfio's no-IOMMU groups left out) */
	enum hm_node_access iommufd; /* /dev/iommu */
	enum hm_node_access vfio_container; /* /dev/vfio/vfio (the group API) */
	int vfio;			    /* the vfio module is loaded */
	int vfio_pci;			    /* the vfio-pci driver is loaded */
	int noiommu;			    /* vfio's enable_unsafe_noiommu_mode is Y */
	int type1;			    /* vfio_iommu_type1 is loaded */
	uint64_t dma_entry_limit;	    /* type1's mappings per container */
	int dma_entry_limit_default;	    /* 1: not read (module not loaded, or without
					       the parameter): the kernel's default, 65535 */
	uint64_t memlock_bytes;		    /* RLIMIT_MEMLOCK; UINT64_MAX = unlimited */
	int cap_ipc_lock;		    /* CAP_IPC_LOCK: pinning is not limited */
	int cap_sys_rawio;		    /* CAP_SYS_RAWIO: no-IOMMU groups may be opened */
	int n_vfio_devices;
	struct hm_pci_dev *vfio_devices; /* PCI devices bound to a VFIO driver, by name */
};

/* Read the IOMMU, VFIO's modules and nodes, type1's entry limit, this
 * process's memlock limit and capabilities, and the devices bound to a VFIO
 * driver. Returns 0 and *OUT (free with hm_iommu_free): a machine without
 * IOMMU or VFIO is an answer, not an error.
 * Errors: -EACCES, -EFBIG, -EINVAL, -ENAMETOOLONG, -ENOMEM. */
int hm_iommu_read(struct hm_ctx *ctx, struct hm_iommu_info **out);
/* Free what hm_iommu_read returned; NULL is accepted. Errors: none. */
void hm_iommu_free(struct hm_iommu_info *info);

/* One device, as VFIO would take it. */
struct hm_vfio_device {
	struct hm_pci_dev dev;		/* dev.name: the canonical address */
	int exists;			/* /sys/bus/pci/devices/<name> exists */
	int noiommu_group;		/* its group is one of vfio's no-IOMMU groups */
	char group_path[32];		/* "/dev/vfio/7", "/dev/vfio/noiommu-0"; "" = no group */
	char cdev_path[40];		/* "/dev/vfio/devices/vfio0"; "" = none */
	enum hm_node_access group_node; /* group_path's state */
	enum hm_node_access cdev_node;	/* cdev_path's state */
	int n_peers;
	struct hm_pci_dev *peers; /* the other devices of its IOMMU group, by name */
	int viable;		  /* every peer is dma_owned: VFIO may take the group */
};

/* Read the PCI device at ADDR ("0000:03:00.0" or "03:00.0"): whether it
 * exists, its ids, driver, IOMMU group and the other devices there, its VFIO
 * nodes. A device that does not exist is an answer (exists 0), not an error.
 * Returns 0 and *OUT (free with hm_vfio_device_free); -EINVAL for an
 * address that is not one.
 * Errors: -EACCES, -EFBIG, -EINVAL, -ENAMETOOLONG, -ENOMEM. */
int hm_vfio_device_read(struct hm_ctx *ctx, const char *addr, struct hm_vfio_device **out);
/* Free what hm_vfio_device_read returned; NULL is accepted. Errors: none. */
void hm_vfio_device_free(struct hm_vfio_device *dev);

/* Whether VFIO can hand a device to this process. */
enum hm_vfio_verdict {
	HM_VFIO_USABLE = 0,	/* through iommufd, type1 or (when its group is one) no-IOMMU */
	HM_VFIO_NO_DEVICE = 1,	/* no PCI device at that address */
	HM_VFIO_NO_IOMMU = 2,	/* in no IOMMU group, and no-IOMMU mode is off */
	HM_VFIO_DRIVER = 3,	/* bound to another driver than VFIO's, or to none */
	HM_VFIO_NOT_VIABLE = 4, /* another device of its group is bound to a driver that
				   does DMA */
	HM_VFIO_NO_NODE = 5,	/* the device nodes to open it by do not exist */
	HM_VFIO_NO_ACCESS = 6,	/* they exist, but this process may not open them */
};

/* One line for DEV into BUF, naming the fix when it is not usable ("0000:03:00.0
 * is bound to e1000e: rebind it to vfio-pci: echo ..."), and its verdict.
 * Errors: none. */
enum hm_vfio_verdict hm_vfio_verdict(const struct hm_iommu_info *info,
				     const struct hm_vfio_device *dev, char *buf, size_t len);

/* ------------------------------------------------------------------ page files */

/* Why a page file is live or stale. */
enum hm_file_state {
	HM_FILE_STALE = 0,	/* no lock, no mapping, no open descriptor */
	HM_FILE_LOCKED = 1,	/* a process holds a flock or fcntl lock on it */
	HM_FILE_MAPPED = 2,	/* a process maps it */
	HM_FILE_OPEN = 3,	/* a process holds it open */
	HM_FILE_PREFIX_LIVE = 4 /* its prefix's primary holds the liveness lock */
};

/* Whose page file a file is proved to be: a name proves nothing (anyone
 * may name a file "xmap_0"), so hm_clear removes only proved files. */
enum hm_file_owner {
	HM_OWNER_UNKNOWN = 0, /* not proved: another program's? hm_clear leaves it */
	HM_OWNER_HUGEMEM = 1, /* its inode is in its prefix's record of the files it made */
	HM_OWNER_DPDK = 2     /* "rtemap_*", or DPDK's runtime directory of its prefix exists */
};

struct hm_page_file {
	char *path;
	char *prefix;	    /* the part before the last "map_" */
	uint64_t page_size; /* of the mount */
	uint64_t bytes;	    /* st_blocks * 512: what it holds of the pool */
	enum hm_file_state state;
	pid_t pid;		  /* a live holder, 0 = unknown or none */
	enum hm_file_owner owner; /* who it is proved to belong to */
};

struct hm_file_list {
	int n;
	struct hm_page_file *files;
};

/* List the files named "<prefix>map_<n>" (and hugemem's own single-file and
 * page-file names) in every hugetlbfs mount of SI (PREFIX NULL = all), with
 * each file's state. Returns the count.
 * Errors: -EINVAL, -ENAMETOOLONG, -ENOMEM. */
int hm_files_scan(struct hm_ctx *ctx, const struct hm_sysinfo *si, const char *prefix,
		  struct hm_file_list **out);
/* Free a list of hm_files_scan or hm_clear; NULL is accepted. Errors: none. */
void hm_file_list_free(struct hm_file_list *list);

/* Remove the stale files of PREFIX (NULL = every prefix) that are proved to
 * be hugemem's or DPDK's (hm_file_owner; others are left): under the mount's
 * directory lock, each file is re-checked with an exclusive flock held while
 * it is unlinked, so a file a live process holds, maps or opens is never
 * removed. DRY_RUN lists without removing. *OUT gets what was (or would be)
 * removed. Returns the count.
 * Errors: -EACCES, -EBUSY, -EINVAL, -EIO, -ENAMETOOLONG, -ENOMEM, -EPERM, -EROFS. */
int hm_clear(struct hm_ctx *ctx, const struct hm_sysinfo *si, const char *prefix, int dry_run,
	     struct hm_file_list **out);

/* ------------------------------------------------------------------ prefixes */

/* The runtime directory of PREFIX into BUF. -EINVAL for a bad prefix (empty,
 * '/', "..", too long), -ENAMETOOLONG.
 * Errors: -EINVAL, -ENAMETOOLONG. */
int hm_prefix_dir(struct hm_ctx *ctx, const char *prefix, char *buf, size_t len);

/* Who holds PREFIX's liveness lock: *PID = holder, 0 = nobody.
 * Errors: -EACCES, -EINVAL, -ELOOP, -ENAMETOOLONG. */
int hm_prefix_owner(struct hm_ctx *ctx, const char *prefix, pid_t *pid);

/* Take PREFIX's liveness lock (an fcntl write lock, not inherited across
 * fork) creating the runtime directory (0700, no symlinks followed). *FD gets
 * the descriptor that holds it; close it to release. -EBUSY with the holder's
 * pid and the --file-prefix hint when another process holds it.
 * Errors: -EACCES, -EBUSY, -EEXIST, -EINVAL, -ELOOP, -ENAMETOOLONG, -ENOTDIR, -EPERM. */
int hm_prefix_lock(struct hm_ctx *ctx, const char *prefix, int *fd);

/* Live prefixes under the runtime directory: up to MAX names into NAMES (each
 * HM_PREFIX_MAX bytes) and their owners into PIDS. Returns the count.
 * Errors: -EACCES. */
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
 * count as free; *OUT->exact says when it is exact.
 * Errors: -EACCES, -EFBIG, -EINVAL, -EIO, -ENAMETOOLONG, -ENOENT, -ENOMEM. */
int hm_poolmap_read(struct hm_ctx *ctx, const struct hm_sysinfo *si, uint64_t page_size,
		    struct hm_poolmap **out);
/* Free what hm_poolmap_read returned; NULL is accepted. Errors: none. */
void hm_poolmap_free(struct hm_poolmap *map);

/* ------------------------------------------------------------------ physical map (pictures) */

/* The physical map of hugepage memory, for `hugemem map`: per NUMA node,
 * the node's span cut into extents (no memory, other memory, free hugepages,
 * hugepages of a live hugemem prefix, hugepages someone else maps), and the
 * live prefixes with their layouts (src/pool/physmap.c). */

/* What one stretch of a node's physical span holds. */
enum hm_phys_kind {
	HM_PHYS_HOLE = 0,   /* no memory (between the node's memory blocks) */
	HM_PHYS_OTHER = 1,  /* memory that is not a hugepage of the map's size */
	HM_PHYS_FREE = 2,   /* hugepages mapped by nobody: one extent = one free run */
	HM_PHYS_USED = 3,   /* hugepages mapped by someone who is no live hugemem prefix */
	HM_PHYS_PREFIX = 4, /* hugepages of a live hugemem prefix (extent.prefix) */
};

struct hm_phys_extent {
	uint64_t pa, len; /* bytes */
	enum hm_phys_kind kind;
	int prefix; /* HM_PHYS_PREFIX: index in hm_physmap.prefixes; else -1 */
};

struct hm_phys_node {
	int node;
	uint64_t start, end; /* span: lowest and past-highest byte of the node's memory;
				both 0 when the memory blocks cannot be read */
	uint64_t memory;     /* bytes of memory in the span */
	uint64_t hugepages;  /* hugepages of the map's size placed on the node */
	uint64_t free_pages, used_pages, prefix_pages; /* of them, by kind */
	uint64_t free_runs;			       /* FREE extents */
	uint64_t largest_run;			       /* pages of the longest one */
	uint64_t largest_pa;			       /* and where it starts */
	uint64_t n_extents;		/* 0 when hugepages could not be placed (not root) */
	struct hm_phys_extent *extents; /* ascending, covering [start, end) without gaps */
};

/* A live hugemem prefix (or this process's own memory) and its layout. */
struct hm_phys_prefix {
	char name[HM_PREFIX_MAX];
	pid_t pid;
	int self;		     /* 1: the memory of the context passed to hm_physmap_read */
	enum hm_iova_mode iova_mode; /* HM_IOVA_PA: IOVAs are physical addresses */
	uint64_t page_size, total_bytes;
	uint64_t pages_placed; /* of its pages found on the map */
	int n_segments;
	struct hm_segment *segments; /* its segments (va is the primary's address) */
	char note[256];		     /* why the layout is missing or partly placed; "" */
};

struct hm_physmap {
	uint64_t page_size;
	int placed;	   /* 1: hugepages placed from /proc/kpageflags (root) */
	int exact;	   /* as hm_poolmap.exact: free pages seen == free_hugepages, no
			      reservations (unmapped page files count as free otherwise) */
	char missing[512]; /* what could not be known and why; "" when nothing */
	int n_nodes;
	struct hm_phys_node nodes[HM_MAX_NODES];
	int n_prefixes;
	struct hm_phys_prefix *prefixes;
};

/* The physical map of PAGE_SIZE (0 = the default size): node spans from
 * /sys/devices/system/memory (any user), every hugepage of that size from
 * /proc/kpageflags and /proc/kpagecount (root; without it *OUT->placed is 0
 * and *OUT->missing says so), live prefixes from their published layouts
 * (PREFIX NULL = every live prefix, else that one), and CTX's own memory when
 * CTX ran hm_init or hm_attach (prefixes[].self). A prefix's pages are placed
 * by their IOVAs in IOVA = PA mode, else (root) by the primary's pagemap.
 * Returns 0; -EINVAL when there is no pool of that size.
 * Errors: -EFBIG, -EINVAL, -EIO, -ENAMETOOLONG, -ENOMEM. */
int hm_physmap_read(struct hm_ctx *ctx, const struct hm_sysinfo *si, uint64_t page_size,
		    const char *prefix, struct hm_physmap **out);
/* Free what hm_physmap_read returned; NULL is accepted. Errors: none. */
void hm_physmap_free(struct hm_physmap *map);

/* The fewest pieces `init --contig best` could map BYTES in on node index
 * NODE_INDEX (in map->nodes) from its free runs: 0 when the free runs hold
 * less, or the map is not placed.
 * Errors: none. */
uint64_t hm_physmap_pieces(const struct hm_physmap *map, int node_index, uint64_t bytes);

/* ------------------------------------------------------------------ pool administration */

/* Set the pool of PAGE_SIZE (on NODE, -1 = system-wide) to PAGES pages.
 * *GOT = what the kernel gave. -ENOMEM when it gave fewer (with the count in
 * the message); -EACCES without root.
 * Errors: -EACCES, -EBUSY, -EFBIG, -EINVAL, -ENAMETOOLONG, -ENOENT, -ENOMEM, -ERANGE. */
int hm_reserve(struct hm_ctx *ctx, uint64_t page_size, int node, uint64_t pages, uint64_t *got);

/* Set the overcommit of the pool of PAGE_SIZE (0 = default),
 * nr_overcommit_hugepages, to PAGES: how many surplus pages the kernel may
 * allocate on demand beyond the pool when a mapping needs more than is free
 * (given back to the system when freed). They are not reserved: such a
 * mapping may still find no memory. System-wide (the kernel keeps no
 * per-node overcommit); refused for gigantic pages (1 GiB), which the kernel
 * never allocates on demand. *GOT = the count read back.
 * Errors: -EACCES, -EBUSY, -EFBIG, -EINVAL, -ENAMETOOLONG, -ENOENT, -ENOMEM, -ERANGE. */
int hm_overcommit(struct hm_ctx *ctx, uint64_t page_size, uint64_t pages, uint64_t *got);

/* Mount hugetlbfs of PAGE_SIZE (0 = default) on DIR (created 0755 if
 * missing), owned by UID/GID ((uid_t)-1 = keep): hm_mount_ext with no limit
 * and the default mode.
 * Errors: -EACCES, -EBUSY, -EINVAL, -ELOOP, -ENAMETOOLONG, -ENODEV, -ENOENT, -ENOTDIR,
 * -ENOTEMPTY, -EPERM. */
int hm_mount(struct hm_ctx *ctx, const char *dir, uint64_t page_size, uid_t uid, gid_t gid);

/* A hugetlbfs mount as hm_mount_ext makes it: its directory and its options
 * (pagesize=, size=, nr_inodes=, uid=, gid=, mode=). This structure never
 * grows: a new need gets a new call. */
struct hm_mount_spec {
	const char *dir;     /* the mount point; NULL: hugemem's default for the size,
				/dev/hugepages for the default size, else /dev/hugepages<SZ>
				(/dev/hugepages1G) */
	uint64_t page_size;  /* pagesize=; 0 = the default size (no pagesize= given) */
	uid_t uid;	     /* uid=, the owner; (uid_t)-1 = none (root) */
	gid_t gid;	     /* gid=; (gid_t)-1 = none */
	mode_t mode;	     /* mode=, at most 07777; (mode_t)-1: 0755, or 1770 with an owner */
	uint64_t size_limit; /* size=: the most the mount holds, bytes, whole pages; 0 = none */
	uint64_t nr_inodes;  /* nr_inodes=: the most files (and directories); 0 = none */
	int dry_run;	     /* check all, create and mount nothing */
};

/* What hm_mount_ext mounted, or with dry_run would mount. */
struct hm_mount_result {
	char dir[HM_PATH_MAX]; /* the mount point */
	char options[256];     /* the options given to mount(2) */
	int create; /* dry run: the directory (or a parent) is missing, it would be made */
};

/* Mount hugetlbfs as SPEC says, creating the directory (0755) when missing;
 * a symbolic link as the directory, or another user's on the way to it, a
 * directory that is not empty or already a mount point are refused. With
 * SPEC->dry_run the same checks, the directory read and never made, nothing
 * mounted. *RES (may be NULL) gets the directory and the options.
 * Errors: -EACCES, -EBUSY, -EFBIG, -EINVAL, -ELOOP, -ENAMETOOLONG, -ENODEV, -ENOENT, -ENOMEM,
 * -ENOTDIR, -ENOTEMPTY, -EPERM. */
int hm_mount_ext(struct hm_ctx *ctx, const struct hm_mount_spec *spec, struct hm_mount_result *res);

/* Unmount the hugetlbfs at DIR; -EBUSY naming live page files.
 * Errors: -EACCES, -EBUSY, -EINVAL, -ENOENT, -ENOTDIR, -EPERM. */
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
	double discover, map, iova, numa, sort, select;
	double release; /* giving back the pages mapped while choosing and not kept */
	double remap, publish, total;
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
	/* A primary: where its memory came from when a pool keeper was asked
	 * ("served by the keeper in DIR (N chunks)") or why it was not ("not
	 * used: ..."); NULL when the keeper was not looked for. */
	const char *keeper;
};

/* Primary start-up, steps B1-B12 of docs/design.md: discover the pools, take the
 * prefix's liveness lock, clean its stale files, map and fault in the pages
 * asked for (-m, --socket-mem, default HM_DEFAULT_MEM) on their nodes, read
 * their IOVAs and nodes, keep the pages that make the fewest pieces (mapping
 * more first, within a budget, with --contig fast; the whole usable pool with
 * --contig best), give the rest back in pool order, and move every run to one
 * contiguous VA range in one window. The memory lives until hm_fini or
 * hm_ctx_free. -EINVAL (options vs system), -ENOMEM (pool, node or cgroup
 * short: the message names the cap), -EBUSY (prefix in use), -EEXIST (VA
 * window taken), -EALREADY (already initialised). On failure nothing is left
 * mapped and no file is left.
 * Errors: -EACCES, -EALREADY, -EBUSY, -ECANCELED, -EEXIST, -EFAULT, -EFBIG, -EINVAL, -EIO,
 * -ELOOP, -ENAMETOOLONG, -ENOENT, -ENOMEM, -ENOSPC, -ENOSYS, -ENOTSUP, -EPERM, -ERANGE, -EROFS,
 * -ESTALE. */
int hm_init(struct hm_ctx *ctx, const struct hm_opts *opts);

/* Secondary start-up (docs/design.md C): read the layout the primary of
 * OPTS->file_prefix (default HM_DEFAULT_PREFIX) published in its runtime
 * directory, reserve the primary's whole VA window, and map every page at the
 * primary's address (page files and single files by path, memfds by
 * descriptors the primary's library thread passes over a unix socket).
 * HM_OPT_VERIFY re-reads pagemap and checks every IOVA. -ENOENT (nothing
 * published), -ESRCH (the primary is gone), -EEXIST (the window is taken
 * here: the message quotes the mapping of /proc/self/maps in the way),
 * -EPROTO / -EBADMSG (layout of another version, corrupt or truncated),
 * -EALREADY. On failure nothing is left mapped. The memory stays valid until
 * hm_fini, even if the primary exits first.
 * Errors: -EACCES, -EALREADY, -EBADMSG, -EBUSY, -ECANCELED, -ECONNREFUSED, -ECONNRESET,
 * -EEXIST, -EFBIG, -EINVAL, -EIO, -ELOOP, -EMFILE, -ENAMETOOLONG, -ENOENT, -ENOMEM, -EPERM,
 * -EPROTO, -ESRCH, -ESTALE, -ETIMEDOUT. */
int hm_attach(struct hm_ctx *ctx, const struct hm_opts *opts);

/* Primary: unpublish, give every page back (in pool order: the longest run
 * is handed out first to whoever maps next), remove the files, release the
 * prefix. Secondary: unmap. In a child forked from the process that holds
 * the memory: only forget it (0); the parent's memory is untouched.
 * Errors: -EACCES, -EINVAL, -EIO, -ENOMEM, -EPERM, -ESTALE. */
int hm_fini(struct hm_ctx *ctx);

/* The layout after hm_init, or NULL. Errors: none. */
const struct hm_layout_info *hm_layout(const struct hm_ctx *ctx);

/* Segment I (0 .. n_segments-1), ascending VA. -ENOENT past the end. Errors: -ENOENT. */
int hm_segment_get(const struct hm_ctx *ctx, int i, struct hm_segment *seg);

/* ------------------------------------------------------------------ devices (docs/dma.md) */

#define HM_DMA_MAX_RANGES 16

/* The IOMMU side of hm_init's memory (hm_opts.iommu, vfio_devices). */
struct hm_dma_info {
	const char *backend; /* "iommufd", "type1" or "noiommu" */
	int n_devices;
	int n_mappings;	       /* one per segment (none for noiommu) */
	uint64_t mapped_bytes; /* pinned for the devices */
	uint64_t iova_align;   /* the smallest IOVA alignment the domain takes */
	int n_ranges;	       /* the IOMMU's usable IOVA ranges, both ends inclusive */
	struct {
		uint64_t start, last;
	} ranges[HM_DMA_MAX_RANGES];
};

/* One device of the domain. FD is the VFIO device descriptor (regions,
 * BARs, interrupts: the application drives the device); it belongs to the
 * context and is closed by hm_fini: dup() it to keep it. */
struct hm_dma_device {
	char bdf[16]; /* canonical PCI address, "0000:00:05.0" */
	int fd;
	int group; /* IOMMU group number, -1 with iommufd */
};

/* The domain hm_init mapped the memory in. -ENODEV: none (no --iommu or
 * --vfio-device, or no hm_init). Errors: -ENODEV. */
int hm_dma_info(struct hm_ctx *ctx, struct hm_dma_info *info);

/* Device I (0 .. n_devices-1) of the domain. Errors: -ENODEV, -ERANGE. */
int hm_dma_device_get(struct hm_ctx *ctx, int i, struct hm_dma_device *dev);

/* The VFIO device descriptor of the device at PCI address BDF ("0000:00:05.0"
 * or "00:05.0"), >= 0, or -errno. Errors: -ENODEV, -ENOENT. */
int hm_dma_device_fd(struct hm_ctx *ctx, const char *bdf);

/* A dma-buf over [ADDR, ADDR+LEN) of a primary started with --in-memory
 * (memfd pages; 4 KiB aligned, inside the segments or grown memory), for
 * RDMA (ibv_reg_dmabuf_mr) or GPU drivers, through /dev/udmabuf: its
 * descriptor (close-on-exec), the caller's to close. It pins its pages until
 * its last descriptor and mapping are gone: close it before hm_fini, or those
 * pages return to the pool only then. A growth unit it covers is never
 * trimmed afterwards (no one can tell when a dma-buf is gone). Errors:
 * -E2BIG (udmabuf's size_limit_mb or list_limit), -EACCES, -EBADFD, -EINVAL,
 * -ENODEV, -ENOENT (no /dev/udmabuf, or grown memory not live there),
 * -ENOMEM, -ENOTRECOVERABLE (a broken heap), -ENOTSUP (not memfd backing,
 * or a secondary). */
int hm_dmabuf_export(struct hm_ctx *ctx, const void *addr, uint64_t len);

/* Call FN for each segment in VA order until it returns non-zero (which is
 * returned).
 * Errors: none. */
int hm_segment_walk(const struct hm_ctx *ctx, int (*fn)(const struct hm_segment *, void *),
		    void *arg);

/* IOVA of the byte at VA, or HM_BAD_IOVA when VA is not hugemem memory.
 * O(log segments).
 * Errors: none. */
uint64_t hm_virt2iova(const struct hm_ctx *ctx, const void *va);

/* VA of IOVA, or NULL. O(log segments). Errors: none. */
void *hm_iova2virt(const struct hm_ctx *ctx, uint64_t iova);

/* How many bytes from VA stay contiguous in IOVA (to its segment's end);
 * 0 when VA is not hugemem memory.
 * Errors: none. */
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
 * addresses): -EPERM otherwise.
 * Errors: -EACCES, -EBUSY, -EFBIG, -EINVAL, -EIO, -ENAMETOOLONG, -ENOENT, -ENOMEM, -EOPNOTSUPP,
 * -EPERM, -ERANGE. */
int hm_pool_order(struct hm_ctx *ctx, uint64_t page_size, int node, struct hm_order_result *res);

/* ------------------------------------------------------------------ set-up, and at boot */

/*
 * hugemem setup in calls: make the pool of one page size ready in one step
 * (grow it to a size, mount hugetlbfs when none serves the size, put the
 * free pool in order), see first what that would do (hm_setup_plan), and
 * record it for the next boots (hm_setup_persist: /etc/hugemem/setup.conf,
 * which hugemem-setup.service applies; for gigantic pages also the kernel
 * command line that reserves them at boot). Every file is below the
 * context's root.
 */

/* What to set up: one page size, system-wide or on one node. */
struct hm_setup {
	uint64_t bytes;	       /* the pool holds at least this much (rounded up to pages); it
				  only grows: a larger pool is left as it is */
	uint64_t page_size;    /* 0 = the default size */
	int node;	       /* -1: system-wide (the kernel spreads the pages over the nodes) */
	const char *mount_dir; /* NULL: when no mount serves the size, hugemem's default
				  (hm_mount_spec.dir); else this directory, absolute */
	uid_t uid;	       /* a new mount's owner and mode, as in hm_mount_spec */
	gid_t gid;
	mode_t mode;
};

/* What a set-up does on this system now. */
struct hm_setup_plan {
	uint64_t page_size;	     /* resolved: never 0 */
	int node;		     /* as asked */
	uint64_t pages_now;	     /* the pool's count (the node's with a node) */
	uint64_t pages_want;	     /* the size asked, in pages */
	int reserve;		     /* 1: the pool grows from pages_now to pages_want */
	int mount;		     /* 1: mount hugetlbfs at mount_dir; 0: it serves the size */
	int mount_create;	     /* with mount: mount_dir is missing and gets made */
	int mount_dir_given;	     /* mount_dir was asked (hm_setup.mount_dir) */
	char mount_dir[HM_PATH_MAX]; /* the mount that serves the size, or that will */
	char mount_options[256];     /* with mount: the mount's options */
	uid_t uid;		     /* the new mount's owner and mode, as asked */
	gid_t gid;
	mode_t mode;
	int order;	   /* 1: the free pool is put in order last (0 under a root other
			      than /, whose pool is not the kernel's) */
	int boot;	   /* gigantic pages (1 GiB and more): best reserved at boot */
	char cmdline[256]; /* with boot: the kernel command line that reserves them */
};

/* Read the system and say what S would do: *PLAN. Changes nothing. A pool
 * already as large is left; a size no mount serves gets one, where S says
 * or at hugemem's default, checked as hm_mount_ext's dry run checks it.
 * Errors: -EACCES, -EBUSY, -EFBIG, -EINVAL, -ELOOP, -ENAMETOOLONG, -ENOENT, -ENOMEM, -ENOTDIR,
 * -ENOTEMPTY, -ERANGE. */
int hm_setup_plan(struct hm_ctx *ctx, const struct hm_setup *s, struct hm_setup_plan *plan);

/* What hm_setup_apply did. */
struct hm_setup_result {
	uint64_t pages;		      /* the pool's count at the end (the node's with a node) */
	int mounted;		      /* 1: hugetlbfs was mounted at the plan's mount_dir */
	int ordered;		      /* 1: the free pool was put in order, as ORDER says */
	struct hm_order_result order; /* as hm_pool_order */
};

/* Carry PLAN out: grow the pool to at least pages_want (its count read again
 * under the pool's lock: what another process added meanwhile is never taken
 * back), mount, then put the free pool in order (hm_pool_order). When the
 * kernel gives fewer pages than asked, the mount and the order are still
 * done and the call ends with -ENOMEM (a boot gets what memory there is);
 * any other failure stops it there. *RES (may be NULL) says what was done.
 * Errors: -EACCES, -EBUSY, -EFBIG, -EINVAL, -EIO, -ELOOP, -ENAMETOOLONG, -ENODEV, -ENOENT,
 * -ENOMEM, -ENOTDIR, -ENOTEMPTY, -EOPNOTSUPP, -EPERM, -ERANGE. */
int hm_setup_apply(struct hm_ctx *ctx, const struct hm_setup_plan *plan,
		   struct hm_setup_result *res);

/* The files hm_setup_persist wrote, or with DRY_RUN would write. */
struct hm_setup_files {
	char config[HM_PATH_MAX];	/* ROOT/etc/hugemem/setup.conf */
	char line[HM_PATH_MAX + 128];	/* the plan's line in it */
	char cmdline_file[HM_PATH_MAX]; /* ROOT/etc/default/grub.d/hugemem.cfg; "" when none */
	char cmdline[512];		/* the kernel command line that file adds */
};

/* Record PLAN in the set-up applied at every boot, ROOT/etc/hugemem/setup.conf
 * (made 0644 when missing, written whole to a new file renamed over the old):
 * one line per page size and node, "size=1G page-size=2M [node=N] [mount=DIR]
 * [uid=U] [gid=G] [mode=M]", replacing the line of the same page size and
 * node. When the file then has gigantic pages, also write
 * ROOT/etc/default/grub.d/hugemem.cfg, adding the kernel command line that
 * reserves them at boot to GRUB_CMDLINE_LINUX_DEFAULT: it takes effect once
 * update-grub has run, which this call never runs. A line of the file that
 * does not parse is refused, named, before anything is written.
 * Errors: -EACCES, -EFBIG, -EINVAL, -EIO, -ELOOP, -ENAMETOOLONG, -ENOENT, -ENOMEM, -ENOSPC,
 * -ENOTDIR, -EPERM, -ERANGE, -EROFS. */
int hm_setup_persist(struct hm_ctx *ctx, const struct hm_setup_plan *plan, int dry_run,
		     struct hm_setup_files *files);

/* The set-ups recorded in a configuration file. */
struct hm_setup_list {
	char config[HM_PATH_MAX]; /* the file read */
	int n;
	struct hm_setup *setups; /* in the file's order; mount_dir strings are the list's */
};

/* Read ROOT/etc/hugemem/setup.conf (hm_setup_persist): *OUT gets its
 * set-ups (none when the file does not exist), free with
 * hm_setup_list_free. The file must be a regular file owned by root (or this
 * user) that no one else may write: a file another user could change would
 * decide what root mounts at boot. A line that does not parse is -EINVAL,
 * naming the file and the line. Returns the count.
 * Errors: -EACCES, -EFBIG, -EINVAL, -EIO, -ELOOP, -ENAMETOOLONG, -ENOMEM, -EPERM, -ERANGE. */
int hm_setup_config_read(struct hm_ctx *ctx, struct hm_setup_list **out);
/* Free what hm_setup_config_read returned; NULL is accepted. Errors: none. */
void hm_setup_list_free(struct hm_setup_list *list);

/* ------------------------------------------------------------------ heap and zones */

/*
 * Once hm_init (primary) or hm_attach (secondary) has returned, the memory
 * holds a heap and a table of named zones shared by every process of the
 * prefix: what one process allocates, any other may use and free, at the
 * same address. The shared state (an "arena" at the start of the first
 * segment) is guarded by a robust process-shared mutex; each thread of each
 * context adds a private cache of small freed blocks (payloads up to 4 KiB,
 * at most 32 KiB per size and node), so that most hm_malloc/hm_free pairs
 * take no lock at all. A thread's cache goes back to the shared heap when the
 * thread exits, every cache of a context at hm_fini (the context's threads
 * must be done with the heap by then).
 *
 * Threads: unlike the rest of the library, the calls of this section may be
 * made by several threads on one context at once (hm_errmsg then holds the
 * message of one of them). Return values: the malloc-style calls (hm_malloc,
 * hm_malloc_socket, hm_zmalloc, hm_calloc, hm_realloc) return NULL on failure,
 * set errno (of the calling thread) to the positive code and leave the reason
 * in hm_errmsg; the others return 0 or -errno.
 *
 * Blocks: every block lies within one segment, so it is contiguous in IOVA
 * (hm_virt2iova of its first byte, plus the offset, for every byte). Payloads
 * are 64-byte aligned (a cache line) whatever ALIGN says; ALIGN 0 means 64,
 * else a power of two up to the page size (-EINVAL beyond). SOCKET is a NUMA
 * node id, or HM_SOCKET_ANY: the node of the calling CPU first, then any
 * node with room (as rte_malloc's SOCKET_ID_ANY), or an external heap's id
 * (hm_extmem_heap_add; never taken by HM_SOCKET_ANY). Each node has its own
 * heap over its segments; freed blocks merge with free neighbours at once.
 *
 * Memory contents: hm_malloc does not clear; hm_zmalloc and hm_calloc clear
 * what they return (except memory never handed out since hm_init, which the
 * kernel cleared); hm_free never clears (DPDK's rte_free clears on free so that
 * rte_zmalloc need not: compare hm_zmalloc + hm_free with rte_malloc +
 * rte_free). Debug builds (make DEBUG=1) fill freed memory with 0x6b.
 *
 * A process that dies holding the heap's lock: the next caller finds the
 * owner dead, checks the heap and, if a free list was left half-changed,
 * rebuilds the lists from the blocks (their sizes always chain), then goes on
 * (hm_heap_stats counts recoveries and repairs). Only when the blocks
 * themselves are overwritten is the heap marked broken: every call then fails
 * with -ENOTRECOVERABLE (NULL). What a dead process held — blocks in use and
 * blocks in its private cache — stays in use until the prefix ends.
 *
 * Stray writes: every value read from the shared state (which the
 * application can write too) is checked before use; a wrong one, or a fault
 * hm_heap_check finds, marks the heap broken: from then on every call of the
 * process fails with -ENOTRECOVERABLE (whatever the shared mark says later),
 * and hm_fini still releases everything.
 */
#define HM_SOCKET_ANY	  (-1)
#define HM_MZ_IOVA_CONTIG 0x1u /* the zone must be IOVA-contiguous (every zone is: see above) */

/* SIZE bytes aligned to ALIGN on any node (HM_SOCKET_ANY), or on SOCKET. NULL
 * on failure: size 0, bad alignment, no room (the message names the largest
 * free block), no heap on SOCKET.
 * Errors: -ECHILD, -EINVAL, -ENOENT, -ENOMEM, -ENOTRECOVERABLE. */
void *hm_malloc(struct hm_ctx *ctx, size_t size, size_t align);
/* As hm_malloc, on node SOCKET (or HM_SOCKET_ANY: as hm_malloc).
 * Errors: -ECHILD, -EINVAL, -ENOENT, -ENOMEM, -ENOTRECOVERABLE. */
void *hm_malloc_socket(struct hm_ctx *ctx, size_t size, size_t align, int socket);
/* As hm_malloc, the SIZE bytes cleared.
 * Errors: -ECHILD, -EINVAL, -ENOENT, -ENOMEM, -ENOTRECOVERABLE. */
void *hm_zmalloc(struct hm_ctx *ctx, size_t size, size_t align);
/* NUM elements of SIZE bytes, cleared; NULL when NUM * SIZE overflows.
 * Errors: -ECHILD, -EINVAL, -ENOENT, -ENOMEM, -ENOTRECOVERABLE. */
void *hm_calloc(struct hm_ctx *ctx, size_t num, size_t size, size_t align);
/* Resize PTR's block to SIZE bytes aligned to ALIGN: in place when it
 * shrinks or the next block is free and big enough, else moved (contents
 * kept up to the smaller size; the new part is not cleared) on the same node
 * first. PTR NULL: hm_malloc. SIZE 0: frees PTR and returns NULL. NULL on
 * failure, PTR then untouched.
 * Errors: -ECHILD, -EINVAL, -ENOENT, -ENOMEM, -ENOTRECOVERABLE. */
void *hm_realloc(struct hm_ctx *ctx, void *ptr, size_t size, size_t align);
/* Give PTR's block back. NULL is ignored; so is — counted in
 * hm_heap_stats.bad_frees, with a message — a pointer that is not a block of
 * the heap, a block freed already, or a memzone.
 * Errors: none. */
void hm_free(struct hm_ctx *ctx, void *ptr);

/* Check every invariant of the shared heap (blocks, free lists, counters).
 * 0, or -EUCLEAN naming the first fault (the heap is then marked broken).
 * Takes the heap's lock: O(blocks).
 * Errors: -ECHILD, -ENOENT, -ENOTRECOVERABLE, -EUCLEAN. */
int hm_heap_check(struct hm_ctx *ctx);

struct hm_heap_stats {
	int node;	       /* as asked; -1: every node */
	uint64_t total;	       /* bytes of the node's heap, block headers included */
	uint64_t free;	       /* bytes in free blocks */
	uint64_t used;	       /* bytes in blocks in use: zones and process caches included */
	uint64_t largest_free; /* largest payload one block can give (align <= 64) */
	uint64_t free_blocks, used_blocks;
	uint64_t zones, zone_bytes;	  /* memzones on the node, their lengths */
	uint64_t cached;		  /* bytes in this context's thread caches (part of used) */
	uint64_t allocs, frees;		  /* successful calls on this context */
	uint64_t heap_allocs, heap_frees; /* blocks out of / back into the shared lists, every
					     process (caches take and give in batches) */
	uint64_t bad_frees;		  /* hm_free calls ignored, every process */
	uint64_t recoveries, repairs;	  /* dead lock holders met; of them, lists rebuilt */
};

/* Statistics of NODE's heap (-1: all nodes summed). -ENOENT when NODE has
 * no memory in the prefix.
 * Errors: -ECHILD, -ENOENT, -ENOTRECOVERABLE. */
int hm_heap_stats(struct hm_ctx *ctx, int node, struct hm_heap_stats *stats);

/* A named zone: the same name, address and contents in every process of
 * the prefix. */
struct hm_memzone {
	char name[HM_ZONE_NAME_MAX];
	void *va;
	uint64_t iova;
	uint64_t len; /* bytes, as asked */
	int socket;   /* its NUMA node */
	unsigned flags;
};

/* Reserve LEN bytes named NAME (1..31 bytes of [A-Za-z0-9_.-]) on SOCKET
 * (or HM_SOCKET_ANY), aligned to ALIGN (0 = 64, else a power of two up to
 * the page size), cleared; *OUT (may be NULL) gets a copy. FLAGS: 0 or
 * HM_MZ_IOVA_CONTIG. -EINVAL (name, length, flags, alignment), -EEXIST (the
 * name is taken), -ENOSPC (zone table full: 256), -ENOMEM (no room: the
 * message names the largest contiguous piece on the node), -ENOENT (no heap
 * on SOCKET).
 * Errors: -ECHILD, -EEXIST, -EINVAL, -ENOENT, -ENOMEM, -ENOSPC, -ENOTRECOVERABLE. */
int hm_memzone_reserve(struct hm_ctx *ctx, const char *name, uint64_t len, int socket,
		       unsigned flags, uint64_t align, struct hm_memzone *out);
/* The zone named NAME, from any process of the prefix: 0 and *OUT (may be
 * NULL), or -ENOENT.
 * Errors: -ECHILD, -EINVAL, -ENOENT, -ENOTRECOVERABLE. */
int hm_memzone_lookup(struct hm_ctx *ctx, const char *name, struct hm_memzone *out);
/* Free the zone named NAME (its memory returns to the heap).
 * Errors: -ECHILD, -EINVAL, -ENOENT, -ENOTRECOVERABLE. */
int hm_memzone_free(struct hm_ctx *ctx, const char *name);
/* Call FN for a copy of each zone, in reservation-table order, until it
 * returns non-zero (returned). FN may call any heap or zone function.
 * Errors: -ECHILD, -ENOENT, -ENOMEM, -ENOTRECOVERABLE. */
int hm_memzone_walk(struct hm_ctx *ctx, int (*fn)(const struct hm_memzone *, void *), void *arg);

/* ------------------------------------------------------------------ growth, events, external
 * memory */

/* docs/growth.md. With --max-mem (hm_opts.max_mem) the memory grows while
 * the application runs: when the heap or a zone cannot be served, more
 * pages are mapped into the window's growth area. */

enum hm_mem_event { HM_MEM_EVENT_ALLOC, HM_MEM_EVENT_FREE };

/* A memory-event callback: EV over [VA, VA+LEN). ALLOC: the memory is
 * mapped and translated (hm_virt2iova answers for it) and nothing has been
 * handed out of it yet; FREE: it is about to be unmapped. Called in the
 * process that changes the memory, with no hugemem lock held: it may walk
 * segments, translate, allocate what needs no growth. A non-zero return
 * from ALLOC refuses the memory: the growth (or registration) fails and the
 * callbacks that had accepted it get FREE. A FREE's refusal keeps the
 * memory (a trim leaves that unit). */
typedef int hm_mem_event_fn(enum hm_mem_event ev, const void *va, size_t len, void *arg);

#define HM_EVENT_NAME_MAX 32 /* a callback's name, NUL included */
#define HM_EVENT_MAX	  32 /* callbacks per context */

/* Call FN(ev, va, len, ARG) for every change of CTX's memory from now on,
 * under NAME (1..31 bytes, unique in CTX; names starting "hugemem:" are the
 * library's). Any time, before hm_init too; registrations outlive hm_fini
 * and end with hm_ctx_free. The name taken, a bad name or FN, out of memory,
 * HM_EVENT_MAX callbacks already:
 * Errors: -EEXIST, -EINVAL, -ENOMEM, -ENOSPC. */
int hm_mem_event_register(struct hm_ctx *ctx, const char *name, hm_mem_event_fn *fn, void *arg);
/* Stop calling the callback NAME. Returns once no other thread is inside a
 * callback of CTX (called from inside one, at once): then ARG may be freed.
 * Errors: -EINVAL, -ENOENT. */
int hm_mem_event_unregister(struct hm_ctx *ctx, const char *name);

/* Make [VA, VA+LEN), memory hugemem did not map (anonymous memory, a device
 * BAR, another allocator's hugepages), known to translation and to the
 * callbacks (which may map it for devices), in this process (and, once
 * registered, usable as an external heap: hm_extmem_heap_add). N_PAGES pages
 * of PAGE_SIZE (a power of two of at least 4 KiB; VA and LEN aligned to it,
 * LEN = N_PAGES * PAGE_SIZE), IOVA[i] the IO address of page i (copied), or
 * IOVA NULL for IOVA = VA. Refused: a range overlapping hugemem's window or
 * a registered one, misaligned or mis-sized, not mapped, 64 ranges already,
 * no memory held; a callback's refusal returns its errno (-ECANCELED when
 * it returned a positive value).
 * Errors: -ECANCELED, -ECHILD, -EEXIST, -EFAULT, -EINVAL, -ENOENT, -ENOMEM, -ENOSPC. */
int hm_extmem_register(struct hm_ctx *ctx, void *va, size_t len, const uint64_t *iova,
		       unsigned int n_pages, size_t page_size);
/* Remove the range registered as exactly [VA, VA+LEN) (FREE callbacks first;
 * their refusal does not keep it). -EBUSY while an external heap of this
 * process uses it (hm_extmem_heap_remove first).
 * Errors: -EBUSY, -ECHILD, -EINVAL, -ENOENT, -ENOMEM. */
int hm_extmem_unregister(struct hm_ctx *ctx, void *va, size_t len);

/* External heaps (DPDK's rte_malloc_heap_create + rte_malloc_heap_memory_add,
 * docs/growth.md): a registered range becomes a heap of its own in the
 * prefix's shared heap, with a socket id of its own, HM_EXT_SOCKET_BASE +
 * 0 .. HM_EXT_HEAP_MAX-1, that hm_malloc_socket and hm_memzone_reserve take
 * (and hm_heap_stats). HM_SOCKET_ANY and node ids never allocate from it. A
 * block lies within the range: its IOVAs are those registered. Another
 * process of the prefix allocates from it once it has mapped the same
 * memory at the same address and registered it there too (DPDK's
 * rte_malloc_heap_memory_attach); until then its calls name the heap's
 * memory as not registered, and its heap checks and statistics leave the
 * range alone. */
#define HM_EXT_SOCKET_BASE 256
#define HM_EXT_HEAP_MAX	   16 /* external heaps a prefix holds at once */

/* Make the range registered in this process as exactly [VA, VA+LEN) (by
 * hm_extmem_register) an external heap: one region, of one free block
 * (minus the room for a block header at each end). Returns its socket id
 * (HM_EXT_SOCKET_BASE or above). The range stays registered while it is a
 * heap (hm_extmem_unregister refuses it). Refused: a range not registered
 * exactly so, too small for a block, one that is or overlaps an external
 * heap already, HM_EXT_HEAP_MAX heaps already, no heap.
 * Errors: -ECHILD, -EEXIST, -EINVAL, -ENOENT, -ENOSPC, -ENOTRECOVERABLE. */
int hm_extmem_heap_add(struct hm_ctx *ctx, void *va, size_t len);
/* In the context that added it: remove the external heap over exactly [VA,
 * VA+LEN) from the prefix, when every block of it is free (-EBUSY naming
 * what is still allocated, zones included). In any other process: stop using it
 * (detach; the heap stays), so that the range may be unregistered there.
 * Errors: -EBUSY, -ECHILD, -EINVAL, -ENOENT, -ENOTRECOVERABLE. */
int hm_extmem_heap_remove(struct hm_ctx *ctx, void *va, size_t len);

/* Give every grown unit that is wholly free back to the pool (FREE
 * callbacks first; a unit a zone, a block, a keep (hm_mem_keep), a dma-buf
 * export or a refusing callback holds stays). With secondaries attached a
 * unit retires instead: each unmaps it the next time it takes the heap lock
 * or misses a translation, and a later hm_mem_trim gives it back once all
 * have. Units a secondary grew are trimmed too (no callback runs for them
 * here: none ran here when they grew). *FREED_BYTES (may be NULL): what
 * went back. The number of units
 * given back (0 for memory that does not grow), or -errno: called in a
 * secondary (the primary trims), from a callback, no heap, out of memory,
 * a broken heap.
 * Errors: -EBUSY, -ECHILD, -EDEADLK, -ENOENT, -ENOMEM, -ENOTRECOVERABLE. */
int hm_mem_trim(struct hm_ctx *ctx, uint64_t *freed_bytes);
/* Keep the grown memory under [ADDR, ADDR+LEN) from every trim (KEEP
 * nonzero), or let go of one keep (0): a count per growth unit in the
 * prefix's shared memory, so a secondary's keep holds against the primary's
 * trim — for memory an RDMA region or a device mapping uses whether or not
 * it is allocated (DPDK's RTE_MEMSEG_FLAG_DO_NOT_FREE). Memory mapped at
 * start is never trimmed: a keep of it does nothing. 0, or -errno: LEN 0 or
 * a range outside hugemem's memory, letting go of memory not kept (-EINVAL);
 * grown memory not live there (-ENOENT); no memory (-ENODEV); a forked
 * child (-ECHILD); a broken heap (-ENOTRECOVERABLE).
 * Errors: -ECHILD, -EINVAL, -ENODEV, -ENOENT, -ENOTRECOVERABLE. */
int hm_mem_keep(struct hm_ctx *ctx, const void *addr, size_t len, int keep);

/* ------------------------------------------------------------------ the pool keeper */

/* docs/keeper.md. A keeper is a daemon (hugemem keeper) that holds hugepages
 * already faulted (zeroed by the kernel) and in physical order, in memfds of
 * HM_KEEPER_CHUNK_DEFAULT bytes, and leases them to clients over a unix
 * socket, <runtime dir>/keeper.sock. A chunk that comes back (given back,
 * its client gone) has its pages punched out of every mapping and is never
 * leased again: a fresh memfd is faulted in its place, off every client's
 * path. */

#define HM_KEEPER_DIR_DEFAULT	"/run/hugemem-keeper"
#define HM_KEEPER_CHUNK_DEFAULT (32ULL << 20)

/* What hm_keeper_start is asked. SIZE versions it as hm_opts.size does:
 * start from hm_keeper_opts_init. */
struct hm_keeper_opts {
	size_t size;		  /* set by hm_keeper_opts_init; never by hand */
	uint64_t keep_bytes;	  /* memory to hold, bytes (a whole number of pages) */
	uint64_t page_size;	  /* 0: the default hugepage size */
	uint64_t chunk_bytes;	  /* one memfd, bytes; 0: HM_KEEPER_CHUNK_DEFAULT */
	const char *runtime_dir;  /* NULL: HM_KEEPER_DIR_DEFAULT */
	gid_t group;		  /* (gid_t)-1: root alone may connect; else this group too */
	int expose_pa;		  /* 1: every client gets physical addresses, not only
				     those with CAP_SYS_ADMIN */
	uint64_t uid_quota_bytes; /* 0: none; else what all the leases of one uid may
				     reach together (a lease past it is refused) */
	/* --socket-keep A,B,...: bytes to hold on each node id (NODE_KEEP_COUNT
	 * entries, position = node id), instead of KEEP_BYTES spread over the
	 * nodes with the most free pages */
	uint64_t node_keep[HM_MAX_NODES];
	int node_keep_count;
};

static inline void hm_keeper_opts_init(struct hm_keeper_opts *o)
{
	*o = (struct hm_keeper_opts){.size = sizeof(*o), .group = (gid_t)-1};
}

struct hm_keeper;

/* Take O->keep_bytes of the free pool (root: the pool is reserved by the
 * administrator, hm_reserve; the keeper reserves nothing): put it in
 * physical order (hm_pool_order), fault it chunk by chunk into sealed
 * memfds on its nodes, then make the runtime directory and bind the socket.
 * Ready to serve when it returns 0 (*OUT; hm_keeper_free it). Refused: bad
 * options, not root, a pool too small, the socket path a link or not a
 * socket, a keeper already there; hm_ctx_cancel stops the filling.
 * Nothing is left held on failure.
 * Errors: -EACCES, -EADDRINUSE, -EAGAIN, -EBUSY, -ECANCELED, -EEXIST, -EFBIG, -EINVAL, -EIO,
 * -ENAMETOOLONG, -ENOENT, -ENOMEM, -ENOTDIR, -EOPNOTSUPP, -EPERM, -ERANGE. */
int hm_keeper_start(struct hm_ctx *ctx, const struct hm_keeper_opts *o, struct hm_keeper **out);
/* Serve clients until hm_keeper_stop. A client that sends a malformed
 * message is disconnected (its chunks come back); the keeper goes on.
 * Returns 0 once stopped, or -errno when the event loop itself fails (the
 * message in the context hm_keeper_start was given).
 * Errors: -EINVAL. */
int hm_keeper_run(struct hm_keeper *k);
/* Make hm_keeper_run return: one write to an eventfd, async-signal-safe,
 * from any thread or a signal handler.
 * Errors: -EINVAL. */
int hm_keeper_stop(struct hm_keeper *k);
/* Stop the keeper's worker, punch out and close every chunk it holds (a
 * leased chunk's pages stay with its client until it lets them go), remove
 * the socket and the directory it made. NULL is accepted.
 * Errors: none. */
void hm_keeper_free(struct hm_keeper *k);

/* One node of a keeper's memory. */
struct hm_keeper_node {
	int node;
	uint64_t free_bytes;	/* ready to lease */
	uint64_t leased_bytes;	/* held by clients */
	uint64_t pending_bytes; /* came back, being faulted again (or waiting for pages) */
};

/* One client's lease. */
struct hm_keeper_lease {
	pid_t pid;
	uid_t uid;
	uint64_t bytes;
};

struct hm_keeper_status {
	pid_t pid; /* the keeper's */
	uint64_t page_size, chunk_bytes, keep_bytes;
	int n_nodes;
	struct hm_keeper_node nodes[HM_MAX_NODES];
	size_t n_leases;     /* in LEASES */
	size_t leases_total; /* leases the keeper has (more than N_LEASES when cut short) */
	struct hm_keeper_lease *leases;
};

/* Ask the keeper serving in RUNTIME_DIR (NULL: HM_KEEPER_DIR_DEFAULT) what it
 * holds: *OUT (hm_keeper_status_free it). -ENOENT or -ECONNREFUSED when no
 * keeper answers there, -EACCES when this user may not connect, -EPROTO or
 * -EBADMSG for an answer that is not the keeper protocol's.
 * Errors: -EACCES, -EBADMSG, -ECONNREFUSED, -ECONNRESET, -EINVAL, -ENAMETOOLONG, -ENOENT,
 * -ENOMEM, -EPROTO, -ETIMEDOUT. */
int hm_keeper_status(struct hm_ctx *ctx, const char *runtime_dir, struct hm_keeper_status **out);
/* Free what hm_keeper_status returned; NULL is accepted. Errors: none. */
void hm_keeper_status_free(struct hm_keeper_status *st);

#ifdef __cplusplus
}
#endif
#endif /* HUGEMEM_H */
