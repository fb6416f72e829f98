/* SPDX-License-Identifier: MIT */
/*
 * options/options.c — the options layer: defaults, EAL-style parsing of the words
 * after a subcommand, size parsing ("64M", "1G", a bare number is MiB), and
 * the check of parsed options against what the system offers. It reads argv
 * and nothing else: no file, no environment.
 *
 * One table drives parsing and help. opt_table[] (public through
 * hm_opts_table) gives each option its names, its argument placeholder (NULL
 * for a flag) and the commands that take it. opt_actions[], indexed by the same
 * enum opt_id, says what a value does to struct hm_opts: one small handler per
 * kind of value (flag, size, page size, socket-mem list, string, prefix,
 * choice, node, zone, address). The two arrays are declared with designated
 * initializers on that enum, so a row cannot land on the wrong option.
 *
 * A program with options of its own (hugemem(1): --json, --svg, --help ...)
 * hands their table to hm_opts_parse_ext, and they are parsed in the same
 * pass by the same rules: one parser, one set of messages and hints, and a
 * word is read once, so the value of a library option ("--huge-dir /mnt")
 * is never taken for a positional word. The alternative, the library handing
 * back the words it does not know, cannot work: whether "--svg" takes the
 * next word is known only from a table. Ids OPT_COUNT and up are the
 * caller's options (desc_of).
 *
 * Parsing, one word at a time:
 *   "--"              ends options: every later word is positional
 *   "--name[=value]"  a long option; unknown names get the nearest known name
 *                     (optimal string alignment distance <= 2) as a hint
 *   "-m[value]"       a short option, value attached or in the next word
 *   anything else     a positional word: the caller's (hm_opts_ext), if it
 *                     takes any
 * For an option: does this command take it, does a flag carry a value, is a
 * value missing, was a single-value option given before (first[]), then its
 * handler. After the last word, the pairs that cannot go together
 * (conflicts[]) are checked.
 *
 * struct hm_opts is versioned by its size field (hmi_opts_take): a caller
 * built against an older header has a shorter structure, and only the bytes
 * it covers are read or written.
 *
 * hm_opts_parse works on a copy of *O and stores it back only on success:
 * after a failure *O is what the caller passed in. Every failure is -EINVAL
 * with one line naming the word at fault and the fix.
 */
#include "options/options.h"

#include "base/ctx.h"
#include "parse/parse.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define OPT_NAME_MAX 32 /* longest long option name we compare against */
#define MIN_PAGE     ((uint64_t)4096)

enum opt_id {
	OPT_MEM,
	OPT_SOCKET_MEM,
	OPT_HUGE_DIR,
	OPT_FILE_PREFIX,
	OPT_IOVA_MODE,
	OPT_NO_HUGE,
	OPT_IN_MEMORY,
	OPT_HUGE_UNLINK,
	OPT_ALLOW_UNSAFE_MOUNT,
	OPT_NO_SHCONF,
	OPT_SINGLE_FILE,
	OPT_BASE_VA,
	OPT_PAGE_SIZE,
	OPT_CONTIG,
	OPT_VERIFY,
	OPT_ZONE,
	OPT_NODE,
	OPT_FOR,
	OPT_IOMMU,
	OPT_VFIO_DEVICE,
	OPT_DMA_MASK_BITS,
	OPT_MAX_MEM,
	OPT_SOCKET_MAX_MEM,
	OPT_AUTO_TRIM,
	OPT_KEEPER,
	OPT_COUNT
};

static const struct hm_optdesc opt_table[] = {
    [OPT_MEM] = {"mem", 'm', "SIZE", HM_CMD_INIT,
		 "memory to map, over all nodes (bare number = MiB, as EAL's -m)"},
    [OPT_SOCKET_MEM] = {"socket-mem", 0, "A,B,...", HM_CMD_INIT,
			"memory per NUMA node, position = node id (e.g. 64,0,128)"},
    [OPT_HUGE_DIR] = {"huge-dir", 0, "DIR", HM_CMD_INIT | HM_CMD_STATUS | HM_CMD_CLEAR,
		      "use the hugetlbfs mounted at DIR"},
    [OPT_FILE_PREFIX] = {"file-prefix", 0, "P",
			 HM_CMD_INIT | HM_CMD_ATTACH | HM_CMD_CLEAR | HM_CMD_MAP,
			 "name of this primary's files and runtime directory (default "
			 "\"" HM_DEFAULT_PREFIX "\")"},
    [OPT_IOVA_MODE] = {"iova-mode", 0, "pa|va|alloc", HM_CMD_INIT,
		       "IO addresses: physical (pa), virtual (va), or allocated in the IOMMU's "
		       "ranges (alloc, with --iommu)"},
    [OPT_NO_HUGE] = {"no-huge", 0, NULL, HM_CMD_INIT,
		     "use ordinary 4 KiB pages instead of hugepages"},
    [OPT_IN_MEMORY] = {"in-memory", 0, NULL, HM_CMD_INIT, "create no page files (memfd backing)"},
    [OPT_HUGE_UNLINK] = {"huge-unlink", 0, NULL, HM_CMD_INIT, "unlink page files once mapped"},
    [OPT_ALLOW_UNSAFE_MOUNT] = {"allow-unsafe-mount", 0, NULL, HM_CMD_INIT,
				"page files in a mount others may write that is not sticky"},
    [OPT_NO_SHCONF] = {"no-shconf", 0, NULL, HM_CMD_INIT,
		       "publish no layout: no secondary can attach"},
    [OPT_SINGLE_FILE] = {"single-file-segments", 0, NULL, HM_CMD_INIT,
			 "one page file per size and node instead of one per page"},
    [OPT_BASE_VA] = {"base-virtaddr", 0, "ADDR", HM_CMD_INIT,
		     "start of the virtual window (hex or decimal, hugepage aligned)"},
    [OPT_PAGE_SIZE] = {"page-size", 0, "SZ",
		       HM_CMD_INIT | HM_CMD_STATUS | HM_CMD_RESERVE | HM_CMD_MOUNT | HM_CMD_MAP |
			   HM_CMD_REORDER | HM_CMD_KEEPER | HM_CMD_SETUP,
		       "hugepage size to use, e.g. 2M or 1G (default: the system's)"},
    [OPT_CONTIG] = {"contig", 0, "fast|best", HM_CMD_INIT,
		    "how hard to search for physical contiguity"},
    [OPT_VERIFY] = {"verify", 0, NULL, HM_CMD_INIT | HM_CMD_ATTACH,
		    "re-check every IO address from pagemap"},
    [OPT_ZONE] = {"zone", 0, "NAME:SIZE[:contig]", HM_CMD_INIT,
		  "reserve a named zone (repeatable)"},
    [OPT_NODE] = {"node", 0, "N", HM_CMD_RESERVE | HM_CMD_MAP | HM_CMD_REORDER | HM_CMD_SETUP,
		  "NUMA node id"},
    [OPT_FOR] = {"for", 0, "SIZE", HM_CMD_MAP,
		 "count the fewest pieces init --contig best could map SIZE in (default 64M)"},
    [OPT_IOMMU] = {"iommu", 0, "auto|iommufd|type1|noiommu|off", HM_CMD_INIT,
		   "map the memory for devices behind the IOMMU (default off; auto with "
		   "--vfio-device)"},
    [OPT_VFIO_DEVICE] = {"vfio-device", 0, "BDF", HM_CMD_INIT | HM_CMD_STATUS,
			 "a PCI device bound to vfio-pci: init maps the memory for it, status says "
			 "whether VFIO can hand it to this process (repeatable)"},
    [OPT_DMA_MASK_BITS] = {"dma-mask-bits", 0, "N", HM_CMD_INIT,
			   "the devices' DMA address width in bits (default 64)"},
    [OPT_MAX_MEM] = {"max-mem", 0, "SIZE", HM_CMD_INIT,
		     "let the memory grow to SIZE while the application runs (-m is mapped "
		     "at start)"},
    [OPT_SOCKET_MAX_MEM] = {"socket-max-mem", 0, "A,B,...", HM_CMD_INIT,
			    "the most each NUMA node's memory may grow to, position = node id"},
    [OPT_AUTO_TRIM] = {"auto-trim", 0, "SIZE", HM_CMD_INIT,
		       "give grown memory back once it is free, keeping SIZE of it (0: none)"},
    [OPT_KEEPER] = {"keeper", 0, "auto|DIR|off", HM_CMD_INIT,
		    "take the memory from a running pool keeper (default auto: when one runs)"},
};

_Static_assert(HMI_ARRAY_SIZE(opt_table) == OPT_COUNT, "one opt_table row per enum opt_id");
_Static_assert(sizeof(enum hm_iova_mode) == sizeof(int), "apply_choice stores an int");
_Static_assert(sizeof(enum hm_iommu) == sizeof(int), "apply_choice stores an int");
_Static_assert(sizeof(enum hm_contig) == sizeof(int), "apply_choice stores an int");

static const char *const command_names[] = {"init",    "attach",  "status", "reserve",
					    "mount",   "unmount", "clear",  "map",
					    "reorder", "keeper",  "setup"};

/* The state of one hm_opts_parse call. */
struct parse {
	struct hm_ctx *ctx;
	struct hm_opts *o;
	unsigned command;
	const char *cmd_name;
	const struct hm_opts_ext *ext; /* the caller's own options, or NULL */
	int n_ids;		       /* OPT_COUNT + the caller's options */
	int n_args;		       /* positional words handed to the caller */
	/* the value each option was first given ("" for a flag), NULL = not given */
	const char *first[OPT_COUNT + HM_OPTS_EXT_MAX];
	int id;			      /* the option being parsed */
	char shown[OPT_NAME_MAX + 3]; /* and its name as typed: "-m", "--zone" */
};

/* The table row of option ID: the library's, or the caller's past OPT_COUNT. */
static const struct hm_optdesc *desc_of(const struct parse *p, int id)
{
	return id < OPT_COUNT ? &opt_table[id] : &p->ext->table[id - OPT_COUNT];
}

struct opt_action {
	int (*apply)(struct parse *p, const struct opt_action *a, const char *value);
	size_t field;		    /* offsetof(struct hm_opts, ...) for shared handlers */
	unsigned flag;		    /* enum hm_opt_flag bit of a flag */
	const char *const *choices; /* NULL-terminated names of a choice */
	int first_choice;	    /* the enum value of choices[0] */
	int repeatable;		    /* may be given more than once */
};

/* ------------------------------------------------------------------ showing user text */

/* User text quoted in a message: control characters (a '\n' would break the
 * one-line rule) become '?', and long text is cut with "...". */
struct shown {
	char s[80];
};

static struct shown show_n(const char *text, size_t n)
{
	struct shown w;
	size_t i, len = 0;

	if (!text)
		text = "(null)";
	for (i = 0; i < n && text[i] && len < sizeof(w.s) - 4; i++)
		w.s[len++] = ((unsigned char)text[i] < 0x20 || text[i] == 0x7f) ? '?' : text[i];
	if (i < n && text[i]) {
		memcpy(w.s + len, "...", 3);
		len += 3;
	}
	w.s[len] = '\0';
	return w;
}

static struct shown show(const char *text)
{
	return show_n(text, SIZE_MAX);
}

/* Put WHERE in front of the message a lower-level parser left in CTX. */
static int err_within(struct hm_ctx *ctx, int rc, const char *where)
{
	char inner[HMI_ERR_MAX];

	snprintf(inner, sizeof(inner), "%s", ctx->err);
	return hmi_err(ctx, -rc, "%s: %s", where, inner);
}

/* ------------------------------------------------------------------ numbers and sizes */

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int is_space(char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

/* The number in BASE at *P (before END) into *V, *P moved past it. -EINVAL
 * when there is no digit, -ERANGE past 64 bits (*P not moved). */
static int take_number(const char **p, const char *end, unsigned base, uint64_t *v)
{
	const char *stop;
	int rc = hmi_scan_u64(*p, end, base, v, &stop);

	if (rc == 0)
		*p = stop;
	return rc;
}

static int take_digits(const char **p, const char *end, uint64_t *v)
{
	return take_number(p, end, 10, v);
}

/* The shift of the unit S[0..N): "" -> MiB (EAL's bare number), then K, M, G,
 * T in either case, alone or followed by "B" or "iB". -1 when unknown. */
static int unit_shift(const char *s, size_t n)
{
	static const char letters[] = "kmgt";
	const char *hit;

	if (n == 0)
		return 20;
	hit = memchr(letters, s[0] | 0x20, 4);
	if (!hit)
		return -1;
	if (n == 1 || (n == 2 && (s[1] | 0x20) == 'b') ||
	    (n == 3 && (s[1] | 0x20) == 'i' && (s[2] | 0x20) == 'b'))
		return 10 * (int)(hit - letters + 1);
	return -1;
}

/* "1536M" for BYTES when a unit K..T holds it whole, else "". */
static void whole_size(uint64_t bytes, char *buf, size_t len)
{
	buf[0] = '\0';
	if (bytes && bytes % 1024 == 0)
		hmi_format_size_short(bytes, buf, len);
}

/* "1.5G": say that fractions are refused, and what whole size to write
 * instead when there is an exact one ("1536M"). FRAC points past the '.'. */
static int fractional(struct hm_ctx *ctx, const char *s, size_t n, uint64_t whole, const char *frac)
{
	const char *end = s + n, *p = frac;
	uint64_t num = 0, den = 1;
	char hint[40] = "";
	int shift;

	/* at most six decimals: more and no hint is given */
	if (take_number(&p, end - frac > 6 ? frac + 6 : end, 10, &num) < 0)
		num = 0;
	for (const char *d = frac; d < p; d++)
		den *= 10;
	shift = (p < end && is_digit(*p)) ? -1 : unit_shift(p, (size_t)(end - p));
	if (shift >= 0 && p > frac && whole < (1ULL << (62 - shift)) && ((num << shift) % den) == 0)
		whole_size((whole << shift) + (num << shift) / den, hint, sizeof(hint));
	if (hint[0])
		return hmi_err(ctx, EINVAL,
			       "size '%s': fractional sizes are not accepted: write %s instead",
			       show_n(s, n).s, hint);
	return hmi_err(ctx, EINVAL,
		       "size '%s': fractional sizes are not accepted: give a whole number in a "
		       "smaller unit (e.g. 1536M, not 1.5G)",
		       show_n(s, n).s);
}

/* The errors seen before reading any digit. */
static int size_shape(struct hm_ctx *ctx, const char *s, size_t n)
{
	if (n == 0)
		return hmi_err(
		    ctx, EINVAL,
		    "size '' is empty: give a number with an optional unit, e.g. 64M or 1G");
	for (size_t i = 0; i < n; i++)
		if (is_space(s[i]))
			return hmi_err(ctx, EINVAL,
				       "size '%s' contains a space: write it without, e.g. 64M",
				       show_n(s, n).s);
	if (s[0] == '-')
		return hmi_err(ctx, EINVAL, "size '%s' is negative: give a positive size, e.g. 64M",
			       show_n(s, n).s);
	if (!is_digit(s[0]))
		return hmi_err(ctx, EINVAL,
			       "size '%s' is not a number: give e.g. 64M, 1G or 512 (a bare number "
			       "is MiB)",
			       show_n(s, n).s);
	return 0;
}

/* hm_parse_size on the N bytes at S (no NUL needed: zone and socket-mem
 * entries are parsed in place). */
static int size_span(struct hm_ctx *ctx, const char *s, size_t n, uint64_t *bytes)
{
	const char *p = s, *end = s + n;
	uint64_t v;
	int rc = size_shape(ctx, s, n), shift;

	if (rc < 0)
		return rc;
	rc = take_digits(&p, end, &v);
	if (rc == 0 && p < end && *p == '.')
		return fractional(ctx, s, n, v, p + 1);
	if (rc == 0 && p - s == 1 && s[0] == '0' && p < end && (*p | 0x20) == 'x')
		return hmi_err(ctx, EINVAL,
			       "size '%s': hexadecimal sizes are not accepted: give a decimal "
			       "number with a unit, e.g. 16M",
			       show_n(s, n).s);
	shift = rc == 0 ? unit_shift(p, (size_t)(end - p)) : 0;
	if (shift < 0)
		return hmi_err(
		    ctx, EINVAL,
		    "size '%s': unknown unit '%s' (use K, M, G or T; a bare number is MiB)",
		    show_n(s, n).s, show_n(p, (size_t)(end - p)).s);
	if (rc == -ERANGE || v > (UINT64_MAX >> shift))
		return hmi_err(ctx, ERANGE,
			       "size '%s' does not fit in 64 bits: the largest is 16777215T",
			       show_n(s, n).s);
	*bytes = v << shift;
	return 0;
}

int hm_parse_size(struct hm_ctx *ctx, const char *text, uint64_t *bytes)
{
	hmi_err_clear(ctx);
	if (!text)
		return hmi_err(ctx, EINVAL, "size missing: give e.g. 64M or 1G");
	return size_span(ctx, text, strlen(text), bytes);
}

/* ------------------------------------------------------------------ --socket-mem */

/* Entry INDEX (0-based: its node id) of TEXT is empty: say where. */
static int empty_entry(struct hm_ctx *ctx, const char *text, int index, int last)
{
	if (index == 0)
		return hmi_err(ctx, EINVAL,
			       "--socket-mem '%s' starts with a comma: give node 0's size first "
			       "(0 for none)",
			       show(text).s);
	if (last)
		return hmi_err(
		    ctx, EINVAL,
		    "--socket-mem '%s' ends with a comma: drop it or give node %d's size",
		    show(text).s, index);
	return hmi_err(ctx, EINVAL,
		       "--socket-mem '%s': entry %d (node %d) is empty: give a size, 0 for none",
		       show(text).s, index + 1, index);
}

/* Entry INDEX (0-based: its node id) at S[0..N) of TEXT into *BYTES. */
static int socket_entry(struct hm_ctx *ctx, const char *text, const char *s, size_t n, int index,
			int last, uint64_t *bytes)
{
	char where[160];
	int rc;

	if (index >= HM_MAX_NODES)
		return hmi_err(ctx, EINVAL,
			       "--socket-mem '%s' has more than %d entries: give one per node id "
			       "0..%d at most",
			       show(text).s, HM_MAX_NODES, HM_MAX_NODES - 1);
	if (n == 0)
		return empty_entry(ctx, text, index, last);
	rc = size_span(ctx, s, n, bytes);
	if (rc < 0) {
		snprintf(where, sizeof(where), "--socket-mem entry %d ('%s', node %d)", index + 1,
			 show_n(s, n).s, index);
		return err_within(ctx, rc, where);
	}
	return 0;
}

int hm_parse_socket_mem(struct hm_ctx *ctx, const char *text, uint64_t bytes[HM_MAX_NODES],
			int *count)
{
	uint64_t got[HM_MAX_NODES] = {0}, any = 0;
	const char *p = text, *comma;
	int n = 0, rc;

	hmi_err_clear(ctx);
	if (!text || !text[0])
		return hmi_err(
		    ctx, EINVAL,
		    "--socket-mem '' is empty: give one size per node id, e.g. 64,0,128");
	for (;;) {
		comma = strchr(p, ',');
		rc = socket_entry(ctx, text, p, comma ? (size_t)(comma - p) : strlen(p), n, !comma,
				  n < HM_MAX_NODES ? &got[n] : NULL);
		if (rc < 0)
			return rc;
		any |= got[n++];
		if (!comma)
			break;
		p = comma + 1;
	}
	if (!any)
		return hmi_err(ctx, EINVAL,
			       "--socket-mem '%s': every entry is 0, so nothing is asked: give a "
			       "size for at least one node",
			       show(text).s);
	memcpy(bytes, got, sizeof(got));
	*count = n;
	return 0;
}

/* ------------------------------------------------------------------ value handlers */

static int apply_flag(struct parse *p, const struct opt_action *a, const char *value)
{
	(void)value;
	p->o->flags |= a->flag;
	return 0;
}

/* A size that may not be 0 into *BYTES; 0 is refused saying what it would
 * mean (ZERO, e.g. "asks for no memory") and how to say more (FIX). */
static int positive_size(struct parse *p, const char *value, const char *zero, const char *fix,
			 uint64_t *bytes)
{
	int rc = hm_parse_size(p->ctx, value, bytes);

	if (rc < 0)
		return err_within(p->ctx, rc, p->shown);
	if (*bytes == 0)
		return hmi_err(p->ctx, EINVAL, "%s 0 %s: %s", p->shown, zero, fix);
	return 0;
}

static int apply_mem(struct parse *p, const struct opt_action *a, const char *value)
{
	char fix[64];

	(void)a;
	snprintf(fix, sizeof(fix), "give a size, e.g. %s 64M", p->shown);
	return positive_size(p, value, "asks for no memory", fix, &p->o->mem);
}

static int apply_page_size(struct parse *p, const struct opt_action *a, const char *value)
{
	uint64_t bytes = 0;
	int rc = hm_parse_size(p->ctx, value, &bytes);

	(void)a;
	if (rc < 0)
		return err_within(p->ctx, rc, p->shown);
	if (bytes < MIN_PAGE || (bytes & (bytes - 1)))
		return hmi_err(p->ctx, EINVAL,
			       "%s '%s' is not a page size: give a power of two of at least 4K, "
			       "e.g. 2M or 1G",
			       p->shown, show(value).s);
	p->o->page_size = bytes;
	return 0;
}

static int apply_socket_mem(struct parse *p, const struct opt_action *a, const char *value)
{
	(void)a;
	return hm_parse_socket_mem(p->ctx, value, p->o->socket_mem, &p->o->socket_mem_count);
}

static int apply_max_mem(struct parse *p, const struct opt_action *a, const char *value)
{
	char fix[96];

	(void)a;
	snprintf(fix, sizeof(fix),
		 "give the most the memory may reach, e.g. %s 1G, or leave it out", p->shown);
	return positive_size(p, value, "lets nothing grow", fix, &p->o->max_mem);
}

static int apply_auto_trim(struct parse *p, const struct opt_action *a, const char *value)
{
	int rc = hm_parse_size(p->ctx, value, &p->o->auto_trim_keep);

	(void)a;
	if (rc < 0)
		return err_within(p->ctx, rc, p->shown);
	p->o->auto_trim = 1;
	return 0;
}

static int apply_socket_max_mem(struct parse *p, const struct opt_action *a, const char *value)
{
	(void)a;
	return hm_parse_socket_mem(p->ctx, value, p->o->socket_max_mem,
				   &p->o->socket_max_mem_count);
}

/* A string value: not empty, shorter than a path. */
static int check_string(struct parse *p, const char *value)
{
	if (!value[0])
		return hmi_err(p->ctx, EINVAL, "%s is given an empty value: give one, e.g. %s %s",
			       p->shown, p->shown, desc_of(p, p->id)->arg);
	if (strlen(value) >= HM_PATH_MAX)
		return hmi_err(p->ctx, EINVAL,
			       "%s '%s' is longer than %d bytes: give a shorter one", p->shown,
			       show(value).s, HM_PATH_MAX - 1);
	return 0;
}

static int apply_string(struct parse *p, const struct opt_action *a, const char *value)
{
	int rc = check_string(p, value);

	if (rc == 0)
		memcpy((char *)p->o + a->field, &value, sizeof(value));
	return rc;
}

static int apply_keeper(struct parse *p, const struct opt_action *a, const char *value)
{
	int rc = check_string(p, value);

	if (rc == 0 && strcmp(value, "auto") != 0 && strcmp(value, "off") != 0 && value[0] != '/')
		rc = hmi_err(p->ctx, EINVAL,
			     "%s '%s': give auto, off, or the keeper's directory (absolute, as "
			     "hugemem keeper --runtime-dir)",
			     p->shown, show(value).s);
	return rc == 0 ? apply_string(p, a, value) : rc;
}

/* One of the caller's options: a string is checked as the library's are. */
static int apply_ext(struct parse *p, const char *value)
{
	int rc = desc_of(p, p->id)->arg ? check_string(p, value) : 0;

	if (rc == 0)
		p->ext->take(p->ext->arg, p->id - OPT_COUNT, value);
	return rc;
}

/* A prefix names files and a directory: the rules of hm_prefix_dir, checked
 * here already so that a typo fails before anything is touched. */
static int apply_prefix(struct parse *p, const struct opt_action *a, const char *value)
{
	if (!value[0])
		return hmi_err(p->ctx, EINVAL,
			       "%s is given an empty value: give a name, e.g. %s app1", p->shown,
			       p->shown);
	if (strlen(value) >= HM_PREFIX_MAX)
		return hmi_err(p->ctx, EINVAL,
			       "%s '%s' is longer than %d bytes: give a shorter one", p->shown,
			       show(value).s, HM_PREFIX_MAX - 1);
	if (strchr(value, '/') || strcmp(value, ".") == 0 || strcmp(value, "..") == 0)
		return hmi_err(p->ctx, EINVAL,
			       "%s '%s' is not a file name: give a name without '/', e.g. app1",
			       p->shown, show(value).s);
	memcpy((char *)p->o + a->field, &value, sizeof(value));
	return 0;
}

static int apply_choice(struct parse *p, const struct opt_action *a, const char *value)
{
	char list[64] = "";
	size_t len = 0;
	int i;

	for (i = 0; a->choices[i]; i++) {
		if (strcmp(value, a->choices[i]) == 0) {
			int v = a->first_choice + i;

			memcpy((char *)p->o + a->field, &v, sizeof(v));
			return 0;
		}
	}
	for (i = 0; a->choices[i] && len < sizeof(list); i++)
		len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%s",
					i == 0 ? "" : (a->choices[i + 1] ? ", " : " or "),
					a->choices[i]);
	return hmi_err(p->ctx, EINVAL, "%s '%s' is not accepted: give %s", p->shown, show(value).s,
		       list);
}

static int apply_node(struct parse *p, const struct opt_action *a, const char *value)
{
	const char *s = value, *end = value + strlen(value);
	uint64_t v;

	(void)a;
	if (take_digits(&s, end, &v) < 0 || s != end || v >= HM_MAX_NODES)
		return hmi_err(p->ctx, EINVAL,
			       "%s '%s' is not a node id: give a decimal number from 0 to %d",
			       p->shown, show(value).s, HM_MAX_NODES - 1);
	p->o->node = (int)v;
	return 0;
}

static int apply_dma_mask_bits(struct parse *p, const struct opt_action *a, const char *value)
{
	const char *s = value, *end = value + strlen(value);
	uint64_t v;

	(void)a;
	if (take_digits(&s, end, &v) < 0 || s != end || v < 32 || v > 64)
		return hmi_err(p->ctx, EINVAL,
			       "%s '%s' is not a DMA address width: give the number of address "
			       "bits the devices drive, 32 to 64",
			       p->shown, show(value).s);
	p->o->dma_mask_bits = (unsigned)v;
	return 0;
}

static int apply_address(struct parse *p, const struct opt_action *a, const char *value)
{
	const char *s = value, *end = value + strlen(value);
	int hex = end - s > 2 && s[0] == '0' && (s[1] | 0x20) == 'x';
	uint64_t v;
	int rc;

	(void)a;
	s += hex ? 2 : 0;
	rc = take_number(&s, end, hex ? 16 : 10, &v);
	if (rc == -ERANGE)
		return hmi_err(p->ctx, EINVAL, "%s '%s' does not fit in 64 bits", p->shown,
			       show(value).s);
	if (rc < 0 || s != end)
		return hmi_err(p->ctx, EINVAL,
			       "%s '%s' is not an address: give hex (0x200000000000) or decimal",
			       p->shown, show(value).s);
	if (v == 0)
		return hmi_err(p->ctx, EINVAL,
			       "%s '%s' is zero: give a nonzero page-aligned address, e.g. 0x%llx",
			       p->shown, show(value).s, HM_DEFAULT_BASE_VA);
	if (v % MIN_PAGE)
		return hmi_err(p->ctx, EINVAL,
			       "%s '%s' is not page aligned (4096): give e.g. 0x%" PRIx64, p->shown,
			       show(value).s,
			       (v & ~(MIN_PAGE - 1)) ? v & ~(MIN_PAGE - 1) : MIN_PAGE);
	p->o->base_virtaddr = v;
	return 0;
}

/* NAME[0..N) of --zone VALUE: 1..31 bytes of [A-Za-z0-9_.-], not used yet. */
static int zone_name(struct parse *p, const char *value, size_t n, struct hm_zone_spec *z)
{
	if (n == 0 || n >= HM_ZONE_NAME_MAX)
		return hmi_err(p->ctx, EINVAL,
			       "%s '%s': the name must be 1 to %d characters: give e.g. rx:16M",
			       p->shown, show(value).s, HM_ZONE_NAME_MAX - 1);
	for (size_t i = 0; i < n; i++) {
		char c = value[i];

		if (!is_digit(c) && !((c | 0x20) >= 'a' && (c | 0x20) <= 'z') && c != '_' &&
		    c != '.' && c != '-')
			return hmi_err(p->ctx, EINVAL,
				       "%s '%s': the name '%s' may hold only letters, digits, "
				       "'_', '.' and '-'",
				       p->shown, show(value).s, show_n(value, n).s);
	}
	memcpy(z->name, value, n);
	z->name[n] = '\0';
	for (int i = 0; i < p->o->n_zones; i++)
		if (strcmp(p->o->zones[i].name, z->name) == 0)
			return hmi_err(p->ctx, EINVAL,
				       "%s '%s': zone '%s' is given twice: give each zone its own "
				       "name",
				       p->shown, show(value).s, z->name);
	return 0;
}

/* --zone NAME:SIZE[:contig] */
static int apply_zone(struct parse *p, const struct opt_action *a, const char *value)
{
	struct hm_zone_spec z = {.contig = 0};
	const char *colon = strchr(value, ':'), *size, *flag;
	char where[128];
	int rc;

	(void)a;
	if (!p->o->zones || p->o->max_zones <= 0)
		return hmi_err(p->ctx, EINVAL,
			       "%s '%s': no room for zones: point opts.zones at an array and set "
			       "opts.max_zones to its length",
			       p->shown, show(value).s);
	if (p->o->n_zones < 0 || p->o->n_zones >= p->o->max_zones)
		return hmi_err(p->ctx, EINVAL, "%s '%s': more than %d zones: give at most %d",
			       p->shown, show(value).s, p->o->max_zones, p->o->max_zones);
	if (!colon)
		return hmi_err(p->ctx, EINVAL, "%s '%s': give NAME:SIZE[:contig], e.g. %s rx:16M",
			       p->shown, show(value).s, p->shown);
	rc = zone_name(p, value, (size_t)(colon - value), &z);
	if (rc < 0)
		return rc;
	size = colon + 1;
	flag = strchr(size, ':');
	rc = size_span(p->ctx, size, flag ? (size_t)(flag - size) : strlen(size), &z.len);
	snprintf(where, sizeof(where), "%s '%s'", p->shown, show(value).s);
	if (rc < 0)
		return err_within(p->ctx, rc, where);
	if (z.len == 0)
		return hmi_err(p->ctx, EINVAL, "%s: a zone of 0 bytes: give a size, e.g. %s:16M",
			       where, z.name);
	if (flag && strcmp(flag + 1, "contig") != 0)
		return hmi_err(p->ctx, EINVAL, "%s: unknown flag '%s': the only one is 'contig'",
			       where, show(flag + 1).s);
	z.contig = flag != NULL;
	p->o->zones[p->o->n_zones++] = z;
	return 0;
}

/* --vfio-device BDF: the canonical address, once, in the caller's array. */
static int apply_vfio_device(struct parse *p, const struct opt_action *a, const char *value)
{
	char name[HM_PCI_ADDR_MAX];
	struct hm_opts *o = p->o;

	(void)a;
	if (!o->vfio_devices || o->max_vfio_devices <= 0)
		return hmi_err(p->ctx, EINVAL,
			       "%s '%s': no room for devices: point opts.vfio_devices at an array "
			       "and set opts.max_vfio_devices to its length",
			       p->shown, show(value).s);
	if (o->n_vfio_devices < 0 || o->n_vfio_devices >= o->max_vfio_devices)
		return hmi_err(p->ctx, EINVAL, "%s '%s': more than %d devices: give at most %d",
			       p->shown, show(value).s, o->max_vfio_devices, o->max_vfio_devices);
	if (hmi_pci_addr_canonical(p->ctx, value, name, sizeof(name)) < 0)
		return err_within(p->ctx, -EINVAL, p->shown);
	for (int i = 0; i < o->n_vfio_devices; i++)
		if (strcmp(o->vfio_devices[i], name) == 0)
			return hmi_err(p->ctx, EINVAL,
				       "%s '%s': device %s is given twice: give each device once",
				       p->shown, show(value).s, name);
	memcpy(o->vfio_devices[o->n_vfio_devices++], name, sizeof(name));
	return 0;
}

/* ------------------------------------------------------------------ what each option does */

static const char *const iova_names[] = {"pa", "va", "alloc", NULL};
static const char *const iommu_names[] = {"off", "auto", "iommufd", "type1", "noiommu", NULL};
static const char *const contig_names[] = {"fast", "best", NULL};

#define FLAG(bit)                                                                                  \
	{                                                                                          \
		.apply = apply_flag, .flag = (bit), .repeatable = 1                                \
	}
#define STRING(member)                                                                             \
	{                                                                                          \
		.apply = apply_string, .field = offsetof(struct hm_opts, member)                   \
	}

static const struct opt_action opt_actions[] = {
    [OPT_MEM] = {.apply = apply_mem},
    [OPT_SOCKET_MEM] = {.apply = apply_socket_mem},
    [OPT_HUGE_DIR] = STRING(huge_dir),
    [OPT_FILE_PREFIX] = {.apply = apply_prefix, .field = offsetof(struct hm_opts, file_prefix)},
    [OPT_IOVA_MODE] = {.apply = apply_choice,
		       .field = offsetof(struct hm_opts, iova_mode),
		       .choices = iova_names,
		       .first_choice = HM_IOVA_PA},
    [OPT_NO_HUGE] = FLAG(HM_OPT_NO_HUGE),
    [OPT_IN_MEMORY] = FLAG(HM_OPT_IN_MEMORY),
    [OPT_HUGE_UNLINK] = FLAG(HM_OPT_HUGE_UNLINK),
    [OPT_ALLOW_UNSAFE_MOUNT] = FLAG(HM_OPT_ALLOW_UNSAFE_MOUNT),
    [OPT_NO_SHCONF] = FLAG(HM_OPT_NO_SHCONF),
    [OPT_SINGLE_FILE] = FLAG(HM_OPT_SINGLE_FILE),
    [OPT_BASE_VA] = {.apply = apply_address},
    [OPT_PAGE_SIZE] = {.apply = apply_page_size},
    [OPT_CONTIG] = {.apply = apply_choice,
		    .field = offsetof(struct hm_opts, contig),
		    .choices = contig_names,
		    .first_choice = HM_CONTIG_FAST},
    [OPT_VERIFY] = FLAG(HM_OPT_VERIFY),
    [OPT_ZONE] = {.apply = apply_zone, .repeatable = 1},
    [OPT_NODE] = {.apply = apply_node},
    [OPT_FOR] = {.apply = apply_mem}, /* map's size X: o->mem, as -m is init's */
    [OPT_IOMMU] = {.apply = apply_choice,
		   .field = offsetof(struct hm_opts, iommu),
		   .choices = iommu_names,
		   .first_choice = HM_IOMMU_OFF},
    [OPT_VFIO_DEVICE] = {.apply = apply_vfio_device, .repeatable = 1},
    [OPT_DMA_MASK_BITS] = {.apply = apply_dma_mask_bits},
    [OPT_MAX_MEM] = {.apply = apply_max_mem},
    [OPT_SOCKET_MAX_MEM] = {.apply = apply_socket_max_mem},
    [OPT_AUTO_TRIM] = {.apply = apply_auto_trim},
    [OPT_KEEPER] = {.apply = apply_keeper, .field = offsetof(struct hm_opts, keeper)},
};

_Static_assert(HMI_ARRAY_SIZE(opt_actions) == OPT_COUNT, "one opt_actions row per enum opt_id");

/* Options that cannot go together, and what to do about it. */
static const struct conflict {
	enum opt_id a, b;
	const char *fix;
} conflicts[] = {
    {OPT_MEM, OPT_SOCKET_MEM, "give one"},
    {OPT_MAX_MEM, OPT_SOCKET_MAX_MEM, "give one"},
    {OPT_NO_HUGE, OPT_MAX_MEM, "ordinary pages do not grow; drop --max-mem"},
    {OPT_NO_HUGE, OPT_SOCKET_MAX_MEM, "ordinary pages do not grow; drop --socket-max-mem"},
    {OPT_NO_HUGE, OPT_AUTO_TRIM, "ordinary pages do not grow; drop --auto-trim"},
    {OPT_NO_HUGE, OPT_SOCKET_MEM,
     "ordinary pages are not placed per node; give -m instead of --socket-mem"},
    {OPT_NO_HUGE, OPT_HUGE_DIR, "ordinary pages need no hugetlbfs; drop --huge-dir"},
    {OPT_NO_HUGE, OPT_IN_MEMORY, "--no-huge already creates no page files; drop --in-memory"},
    {OPT_NO_HUGE, OPT_PAGE_SIZE, "ordinary pages have one size; drop --page-size"},
    {OPT_IN_MEMORY, OPT_HUGE_DIR,
     "--in-memory creates no files in any directory; drop one of them"},
};

/* ------------------------------------------------------------------ parsing words */

/* "-m" for options with a short name, else "--name": how conflicts are named. */
static void option_name(enum opt_id id, char *buf, size_t len)
{
	if (opt_table[id].short_name)
		snprintf(buf, len, "-%c", opt_table[id].short_name);
	else
		snprintf(buf, len, "--%s", opt_table[id].long_name);
}

/* Optimal string alignment distance between A[0..N) and B; 99 when either is
 * longer than any option name. */
static int edit_distance(const char *a, size_t n, const char *b)
{
	int d[OPT_NAME_MAX + 1][OPT_NAME_MAX + 1];
	size_t m = strlen(b);

	if (n > OPT_NAME_MAX || m > OPT_NAME_MAX)
		return 99;
	for (size_t i = 0; i <= n; i++)
		d[i][0] = (int)i;
	for (size_t j = 0; j <= m; j++)
		d[0][j] = (int)j;
	for (size_t i = 1; i <= n; i++) {
		for (size_t j = 1; j <= m; j++) {
			int best = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);

			if (d[i - 1][j] + 1 < best)
				best = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < best)
				best = d[i][j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
			    d[i - 2][j - 2] + 1 < best)
				best = d[i - 2][j - 2] + 1;
			d[i][j] = best;
		}
	}
	return d[n][m];
}

/* The option nearest to NAME[0..N) within distance 2 (ties go to one this
 * command takes), or -1. */
static int nearest_option(const struct parse *p, const char *name, size_t n)
{
	int best = -1, best_score = 3 * 2;

	for (int id = 0; id < p->n_ids; id++) {
		int dist = edit_distance(name, n, desc_of(p, id)->long_name);
		int score = dist * 2 + !(desc_of(p, id)->commands & p->command);

		if (dist <= 2 && score < best_score) {
			best = id;
			best_score = score;
		}
	}
	return best;
}

/* WORD[0..N) is no option: say so, with the nearest name to NAME[0..NAME_LEN). */
static int unknown_option(struct parse *p, const char *word, size_t n, const char *name,
			  size_t name_len)
{
	int near = nearest_option(p, name, name_len);
	char hint[64] = "";

	if (near >= 0)
		snprintf(hint, sizeof(hint), "; did you mean --%s?", desc_of(p, near)->long_name);
	return hmi_err(p->ctx, EINVAL, "unknown option '%s': see 'hugemem %s --help'%s",
		       show_n(word, n).s, p->cmd_name, hint);
}

/* "--name[=value]": the option id, *VALUE = the text after '=' or NULL. */
static int lookup_long(struct parse *p, const char *word, const char **value)
{
	const char *name = word + 2, *eq = strchr(name, '=');
	size_t n = eq ? (size_t)(eq - name) : strlen(name);

	*value = eq ? eq + 1 : NULL;
	for (int id = 0; id < p->n_ids; id++) {
		const char *known = desc_of(p, id)->long_name;

		if (strlen(known) == n && memcmp(known, name, n) == 0) {
			snprintf(p->shown, sizeof(p->shown), "--%s", known);
			return id;
		}
	}
	return unknown_option(p, word, (size_t)(name - word) + n, name, n);
}

/* "-m", "-m64": the option id, *VALUE = the attached text or NULL. A single
 * dash before a long name ("-json") gets the long name as hint. */
static int lookup_short(struct parse *p, const char *word, const char **value)
{
	*value = word[2] ? word + 2 : NULL;
	for (int id = 0; id < p->n_ids; id++) {
		if (desc_of(p, id)->short_name && desc_of(p, id)->short_name == word[1]) {
			snprintf(p->shown, sizeof(p->shown), "-%c", word[1]);
			return id;
		}
	}
	return unknown_option(p, word, strlen(word), word + 1, strlen(word + 1));
}

static int check_accepted(struct parse *p, int id)
{
	unsigned commands = desc_of(p, id)->commands;
	char owners[80] = "";
	size_t len = 0;

	if (commands & p->command)
		return 0;
	for (unsigned i = 0; i < HMI_ARRAY_SIZE(command_names) && len < sizeof(owners); i++)
		if (commands & (1u << i))
			len += (size_t)snprintf(owners + len, sizeof(owners) - len, "%s%s",
						len ? ", " : "", command_names[i]);
	return hmi_err(p->ctx, EINVAL, "%s is not an option of '%s' (it belongs to: %s)", p->shown,
		       p->cmd_name, owners);
}

/* The value of option P->id into *VALUE: the attached text if any (NULL when
 * none), else the next word of ARGV (*I moves past it). "" for a flag. */
static int option_value(struct parse *p, const char **value, int argc, char *const argv[], int *i)
{
	const char *arg = desc_of(p, p->id)->arg, *next;

	if (!arg && *value)
		return hmi_err(p->ctx, EINVAL, "%s takes no value: write %s alone, not '%s'",
			       p->shown, p->shown, show(argv[*i]).s);
	if (!arg || *value) {
		*value = *value ? *value : "";
		return 0;
	}
	if (*i + 1 >= argc || !argv[*i + 1])
		return hmi_err(p->ctx, EINVAL, "%s needs a value: write %s %s", p->shown, p->shown,
			       arg);
	next = argv[*i + 1];
	if (next[0] == '-' && next[1] == '-' && next[2])
		return hmi_err(p->ctx, EINVAL,
			       "%s needs a value (%s), found the option '%s': write %s=%s if you "
			       "mean that",
			       p->shown, arg, show(next).s, p->shown, show(next).s);
	*value = next;
	++*i;
	return 0;
}

/* The option word ARGV[*I] (and its value). */
static int parse_option(struct parse *p, int argc, char *const argv[], int *i)
{
	const char *word = argv[*i], *value;
	int id = word[1] == '-' ? lookup_long(p, word, &value) : lookup_short(p, word, &value);
	int repeatable;

	if (id < 0 || check_accepted(p, id) < 0)
		return -EINVAL;
	p->id = id;
	if (option_value(p, &value, argc, argv, i) < 0)
		return -EINVAL;
	/* the caller's flags repeat as the library's do; its values do not */
	repeatable = id < OPT_COUNT ? opt_actions[id].repeatable : !desc_of(p, id)->arg;
	if (!repeatable && p->first[id])
		return hmi_err(p->ctx, EINVAL, "%s is given twice ('%s', then '%s'): give it once",
			       p->shown, show(p->first[id]).s, show(value).s);
	if (!p->first[id])
		p->first[id] = value;
	if (id >= OPT_COUNT)
		return apply_ext(p, value);
	return opt_actions[id].apply(p, &opt_actions[id], value);
}

/* A positional word: the caller's (hm_opts_ext.max_args), the library takes none. */
static int add_positional(struct parse *p, const char *word)
{
	int max = p->ext ? p->ext->max_args : 0;

	if (max <= 0)
		return hmi_err(p->ctx, EINVAL,
			       "unexpected argument '%s': '%s' takes options only (see 'hugemem "
			       "%s --help')",
			       show(word).s, p->cmd_name, p->cmd_name);
	if (p->n_args >= max)
		return hmi_err(
		    p->ctx, EINVAL,
		    "too many arguments: '%s' is one more than the %d '%s' takes at most",
		    show(word).s, max, p->cmd_name);
	p->n_args++;
	p->ext->take(p->ext->arg, -1, word);
	return 0;
}

static int check_conflicts(struct parse *p)
{
	for (size_t i = 0; i < HMI_ARRAY_SIZE(conflicts); i++) {
		const struct conflict *c = &conflicts[i];
		char a[OPT_NAME_MAX + 3], b[OPT_NAME_MAX + 3];

		if (!p->first[c->a] || !p->first[c->b])
			continue;
		option_name(c->a, a, sizeof(a));
		option_name(c->b, b, sizeof(b));
		return hmi_err(p->ctx, EINVAL, "%s and %s cannot be combined: %s", a, b, c->fix);
	}
	return 0;
}

/* The name of COMMAND when it is exactly one known command bit, else NULL. */
static const char *command_name(unsigned command)
{
	for (unsigned i = 0; i < HMI_ARRAY_SIZE(command_names); i++)
		if (command == 1u << i)
			return command_names[i];
	return NULL;
}

static int parse_words(struct parse *p, int argc, char *const argv[])
{
	int options_over = 0, rc;

	for (int i = 0; i < argc; i++) {
		const char *word = argv[i];

		if (!word)
			return hmi_err(p->ctx, EINVAL, "argument %d is a NULL pointer", i + 1);
		if (!options_over && strcmp(word, "--") == 0) {
			options_over = 1;
			continue;
		}
		if (!options_over && word[0] == '-' && word[1])
			rc = parse_option(p, argc, argv, &i);
		else
			rc = add_positional(p, word);
		if (rc < 0)
			return rc;
	}
	return check_conflicts(p);
}

static int check_ext(struct hm_ctx *ctx, const struct hm_opts_ext *ext)
{
	if (ext && (ext->n < 0 || ext->n > HM_OPTS_EXT_MAX || (ext->n && !ext->table) ||
		    ((ext->n || ext->max_args > 0) && !ext->take)))
		return hmi_err(ctx, EINVAL,
			       "hm_opts_parse_ext: a table of %d options (at most %d) needs the "
			       "table and a take function",
			       ext->n, HM_OPTS_EXT_MAX);
	return 0;
}

int hm_opts_parse_ext(struct hm_ctx *ctx, struct hm_opts *o, unsigned command, int argc,
		      char *const argv[], const struct hm_opts_ext *ext)
{
	struct hm_opts work;
	struct parse p = {.ctx = ctx, .o = &work, .command = command, .ext = ext};
	int rc;

	hmi_err_clear(ctx);
	p.cmd_name = command_name(command);
	p.n_ids = OPT_COUNT + (ext ? ext->n : 0);
	if (!p.cmd_name)
		return hmi_err(ctx, EINVAL, "command bits 0x%x are not one hugemem command",
			       command);
	if (argc < 0 || (argc > 0 && !argv))
		return hmi_err(ctx, EINVAL, "hugemem %s: no argument vector (argc %d)", p.cmd_name,
			       argc);
	rc = check_ext(ctx, ext);
	if (rc == 0)
		rc = hmi_opts_take(ctx, o, &work, "hm_opts_parse");
	if (rc < 0)
		return rc;
	if (parse_words(&p, argc, argv) < 0)
		return -EINVAL;	   /* a size past 64 bits is -ERANGE below: a bad word here */
	memcpy(o, &work, o->size); /* the caller's size: no byte past its structure */
	return 0;
}

int hm_opts_parse(struct hm_ctx *ctx, struct hm_opts *o, unsigned command, int argc,
		  char *const argv[])
{
	return hm_opts_parse_ext(ctx, o, command, argc, argv, NULL);
}

/* ------------------------------------------------------------------ defaults, versions, names */

/* Every field's default (the size aside). */
static void opts_defaults(struct hm_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->file_prefix = NULL; /* not given: init uses HM_DEFAULT_PREFIX, clear every prefix */
	o->iova_mode = HM_IOVA_DEFAULT;
	o->contig = HM_CONTIG_FAST;
	o->node = -1;
}

/* The caller's structure may be shorter (an older header) or longer (a newer
 * one) than the library's: the defaults go only where its size reaches. */
void hm_opts_init_size(struct hm_opts *o, size_t size)
{
	struct hm_opts d;

	if (!o || size < sizeof(o->size))
		return;
	opts_defaults(&d);
	d.size = size;
	memset(o, 0, size);
	memcpy(o, &d, size < sizeof(d) ? size : sizeof(d));
}

int hmi_opts_take(struct hm_ctx *ctx, const struct hm_opts *o, struct hm_opts *out, const char *fn)
{
	opts_defaults(out);
	if (!o)
		return hmi_err(
		    ctx, EINVAL,
		    "%s: no options (NULL): pass a struct hm_opts set up by hm_opts_init", fn);
	if (o->size < HMI_OPTS_SIZE_0)
		return hmi_err(ctx, EINVAL,
			       "%s: struct hm_opts has size %zu, less than the first version's "
			       "%zu: call hm_opts_init(&opts) before setting its fields",
			       fn, o->size, (size_t)HMI_OPTS_SIZE_0);
	if (o->size > sizeof(*out))
		return hmi_err(ctx, EINVAL,
			       "%s: struct hm_opts has size %zu, more than this library's %zu: the "
			       "program was built against a newer hugemem.h; run it with the "
			       "library of that version",
			       fn, o->size, sizeof(*out));
	memcpy(out, o, o->size);
	if (out->n_zones < 0 || (out->n_zones > 0 && !out->zones))
		return hmi_err(
		    ctx, EINVAL,
		    "%s: opts.n_zones is %d with no opts.zones array: give the array, or "
		    "n_zones 0",
		    fn, out->n_zones);
	if (out->n_vfio_devices < 0 || (out->n_vfio_devices > 0 && !out->vfio_devices))
		return hmi_err(
		    ctx, EINVAL,
		    "%s: opts.n_vfio_devices is %d with no opts.vfio_devices array: give "
		    "the array, or n_vfio_devices 0",
		    fn, out->n_vfio_devices);
	return 0;
}

unsigned hm_command_from_name(const char *name)
{
	for (unsigned i = 0; name && i < HMI_ARRAY_SIZE(command_names); i++)
		if (strcmp(name, command_names[i]) == 0)
			return 1u << i;
	return 0;
}

/* The same distance and reach as the hints of unknown options (nearest_option),
 * for the words a program checks itself: hugemem(1)'s command names. */
int hm_nearest_name(const char *word, const char *const names[], int n)
{
	int best = -1, best_dist = 3;

	for (int i = 0; word && names && i < n; i++) {
		int dist = names[i] ? edit_distance(word, strlen(word), names[i]) : 99;

		if (dist < best_dist) {
			best = i;
			best_dist = dist;
		}
	}
	return best;
}

int hm_opts_table(const struct hm_optdesc **list)
{
	*list = opt_table;
	return OPT_COUNT;
}

/* ------------------------------------------------------------------ against the system */

static int node_exists(const struct hm_sysinfo *si, int node)
{
	for (int i = 0; i < si->n_nodes && i < HM_MAX_NODES; i++)
		if (si->node_ids[i] == node)
			return 1;
	return 0;
}

/* "nodes 0,2", "node 0" or "no NUMA node" into BUF. */
static void node_list(const struct hm_sysinfo *si, char *buf, size_t len)
{
	int n = si->n_nodes < HM_MAX_NODES ? si->n_nodes : HM_MAX_NODES;
	size_t used;

	if (n <= 0) {
		snprintf(buf, len, "no NUMA node");
		return;
	}
	used = (size_t)snprintf(buf, len, "node%s ", n > 1 ? "s" : "");
	for (int i = 0; i < n && used < len; i++)
		used +=
		    (size_t)snprintf(buf + used, len - used, "%s%d", i ? "," : "", si->node_ids[i]);
}

/* "2 MiB, 1 GiB" into BUF. */
static void pool_list(const struct hm_sysinfo *si, char *buf, size_t len)
{
	int n = si->n_pools < HM_MAX_PAGE_SIZES ? si->n_pools : HM_MAX_PAGE_SIZES;
	size_t used = 0;

	buf[0] = '\0';
	for (int i = 0; i < n && used < len; i++) {
		char size[32];

		hmi_format_size(si->pools[i].page_size, size, sizeof(size));
		used += (size_t)snprintf(buf + used, len - used, "%s%s", i ? ", " : "", size);
	}
}

static int check_socket_mem(struct hm_ctx *ctx, const struct hm_opts *o,
			    const struct hm_sysinfo *si)
{
	char nodes[HM_MAX_NODES * 4 + 16], size[32];

	for (int i = 0; i < o->socket_mem_count && i < HM_MAX_NODES; i++) {
		if (!o->socket_mem[i] || node_exists(si, i))
			continue;
		node_list(si, nodes, sizeof(nodes));
		hmi_format_size(o->socket_mem[i], size, sizeof(size));
		return hmi_err(ctx, EINVAL,
			       "--socket-mem asks %s on node %d, but this machine has %s: give one "
			       "entry per node id",
			       size, i, nodes);
	}
	return 0;
}

static int check_page_size(struct hm_ctx *ctx, const struct hm_opts *o, const struct hm_sysinfo *si)
{
	char sizes[HM_MAX_PAGE_SIZES * 16], asked[32];

	if (!o->page_size)
		return 0;
	for (int i = 0; i < si->n_pools && i < HM_MAX_PAGE_SIZES; i++)
		if (si->pools[i].page_size == o->page_size)
			return 0;
	hmi_format_size(o->page_size, asked, sizeof(asked));
	if (si->n_pools <= 0)
		return hmi_err(ctx, EINVAL,
			       "--page-size %s: this kernel offers no hugepage size at all "
			       "(nothing under /sys/kernel/mm/hugepages)",
			       asked);
	pool_list(si, sizes, sizeof(sizes));
	return hmi_err(ctx, EINVAL, "--page-size %s is not offered here: give one of %s", asked,
		       sizes);
}

int hm_opts_check(struct hm_ctx *ctx, const struct hm_opts *caller, const struct hm_sysinfo *si)
{
	char nodes[HM_MAX_NODES * 4 + 16];
	struct hm_opts copy, *o = &copy;
	int rc;

	hmi_err_clear(ctx);
	rc = hmi_opts_take(ctx, caller, &copy, "hm_opts_check");
	if (rc == 0)
		rc = check_socket_mem(ctx, o, si);
	if (rc < 0)
		return rc;
	if (o->node >= 0 && !node_exists(si, o->node)) {
		node_list(si, nodes, sizeof(nodes));
		return hmi_err(ctx, EINVAL, "--node %d does not exist: this machine has %s",
			       o->node, nodes);
	}
	return check_page_size(ctx, o, si);
}
