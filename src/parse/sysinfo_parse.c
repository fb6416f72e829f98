/* SPDX-License-Identifier: MIT */
/*
 * parse/sysinfo_parse.c — the sysinfo layer's text parsers: every piece of sysfs and
 * procfs text hugemem reads goes through one of the functions here, which take
 * the text itself (never a file) so that tests and fuzz harnesses can feed them
 * anything.
 *
 * The rule for all of them: outside text is never trusted. Every number is
 * read digit by digit with an overflow check, every field is looked for before
 * it is used, and any input gives either a result or -EINVAL / -ERANGE (with a
 * message when a context is given). No fixed-size line buffers: a line is
 * copied to the heap at its own length, so 4 KiB+ mountinfo lines are fine.
 *
 * mountinfo (proc(5)): one mount per line,
 *   ID PARENT MAJ:MIN ROOT MOUNTPOINT MOUNTOPTS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTS
 * Fields are separated by single spaces; the optional fields run until a lone
 * "-". Paths have space, tab, newline and backslash escaped as \ooo octal.
 * A line is copied, split in place with strsep(), and the fields handed to a
 * per-use callback (hugetlbfs mounts, or the hugetlb cgroup's mount).
 *
 * hugetlbfs super options: pagesize=2M (the kernel shows 1 GiB as 1024M),
 * size= in bytes (K/M/G/... suffixes and "50%" of the pool accepted too, as
 * mount(8) takes them; rounded down to whole pages as the kernel does),
 * nr_inodes= (with the same suffixes), uid=, gid= (decimal), mode= (octal).
 * "ro" in either option list marks the mount read-only.
 */
#include "parse/parse.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define XSTRINGIFY(x) #x
#define STRINGIFY(x)  XSTRINGIFY(x)

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Decimal digits at *P (at least one), advancing *P past them. */
static int take_digits(const char **p, uint64_t *value)
{
	const char *stop;
	int rc = hmi_scan_u64(*p, NULL, 10, value, &stop);

	if (rc == 0)
		*p = stop;
	return rc;
}

/* ------------------------------------------------------------------ names */

int hmi_parse_hugepages_dirname(const char *name, uint64_t *bytes)
{
	static const char prefix[] = "hugepages-";
	const char *p = name;
	uint64_t kb;
	int rc;

	if (strncmp(p, prefix, sizeof(prefix) - 1) != 0)
		return -EINVAL;
	p += sizeof(prefix) - 1;
	if (*p == '0') /* no leading zeros: the kernel never writes them */
		return -EINVAL;
	rc = take_digits(&p, &kb);
	if (rc < 0)
		return rc;
	if (strcmp(p, "kB") != 0)
		return -EINVAL;
	if (kb > UINT64_MAX / 1024)
		return -ERANGE;
	*bytes = kb * 1024;
	return 0;
}

void hmi_cgroup_size_name(uint64_t page_size, char *buf, size_t len)
{
	/* the kernel's mem_fmt() in mm/hugetlb_cgroup.c */
	if (page_size >= (1ULL << 30))
		snprintf(buf, len, "%" PRIu64 "GB", page_size >> 30);
	else if (page_size >= (1ULL << 20))
		snprintf(buf, len, "%" PRIu64 "MB", page_size >> 20);
	else
		snprintf(buf, len, "%" PRIu64 "KB", page_size >> 10);
}

/* ------------------------------------------------------------------ meminfo */

/* The value part of "Hugepagesize:    2048 kB" (P after the colon). */
static int parse_meminfo_kb(struct hm_ctx *ctx, const char *p, uint64_t *bytes)
{
	const char *start = p;
	uint64_t kb;
	int rc;

	while (*p == ' ' || *p == '\t')
		p++;
	rc = take_digits(&p, &kb);
	if (rc == 0) {
		while (*p == ' ' || *p == '\t')
			p++;
		rc = (strncmp(p, "kB", 2) == 0 && (p[2] == '\n' || p[2] == '\0')) ? 0 : -EINVAL;
	}
	if (rc == 0 && kb == 0)
		rc = -EINVAL;
	if (rc == 0 && kb > UINT64_MAX / 1024)
		rc = -ERANGE;
	if (rc < 0) {
		size_t shown;

		start += strspn(start, " \t");
		shown = strcspn(start, "\n");
		return hmi_err(ctx, -rc, "Hugepagesize '%.*s' is not a size in kB",
			       (int)(shown > 32 ? 32 : shown), start);
	}
	*bytes = kb * 1024;
	return 0;
}

int hmi_parse_meminfo(struct hm_ctx *ctx, const char *text, uint64_t *default_size)
{
	static const char key[] = "Hugepagesize:";
	const char *line = text;

	*default_size = 0;
	while (*line) {
		if (strncmp(line, key, sizeof(key) - 1) == 0)
			return parse_meminfo_kb(ctx, line + sizeof(key) - 1, default_size);
		line += strcspn(line, "\n");
		if (*line == '\n')
			line++;
	}
	return 0; /* a kernel without hugetlb support has no such line */
}

/* ------------------------------------------------------------------ node lists */

static int bad_nodelist(struct hm_ctx *ctx, int err, const char *text, const char *why)
{
	size_t shown = strcspn(text, "\n");

	return hmi_err(ctx, err, "node list '%.*s' %s", (int)(shown > 40 ? 40 : shown), text, why);
}

/* One node id of a list; ids beyond hugemem's table are refused here so that
 * a range like "0-4000000000" is never walked. */
static int take_node_id(struct hm_ctx *ctx, const char **p, const char *text, int *id)
{
	uint64_t v;
	int rc = take_digits(p, &v);

	if (rc == -EINVAL)
		return bad_nodelist(ctx, EINVAL, text, "is not of the form '0,2-3'");
	if (rc < 0 || v >= HM_MAX_NODES)
		return bad_nodelist(
		    ctx, ERANGE, text,
		    "names a node id beyond hugemem's limit of " STRINGIFY(HM_MAX_NODES) " nodes");
	*id = (int)v;
	return 0;
}

/* One "A" or "A-B" item at *P into SEEN, advancing *P past it. */
static int take_node_item(struct hm_ctx *ctx, const char **p, const char *text, bool *seen)
{
	int first = 0, last, rc = take_node_id(ctx, p, text, &first);

	last = first;
	if (rc == 0 && **p == '-') {
		(*p)++;
		rc = take_node_id(ctx, p, text, &last);
	}
	if (rc < 0)
		return rc;
	if (last < first || (**p != ',' && **p && !is_space(**p)))
		return bad_nodelist(ctx, EINVAL, text, "is not of the form '0,2-3'");
	for (int id = first; id <= last; id++)
		seen[id] = true;
	return 0;
}

int hmi_parse_nodelist(struct hm_ctx *ctx, const char *text, int *ids, int max, int *n)
{
	bool seen[HM_MAX_NODES] = {false};
	const char *p = text;
	int count = 0;

	while (is_space(*p))
		p++;
	while (*p) { /* a ',' must be followed by another item */
		int rc = take_node_item(ctx, &p, text, seen);

		if (rc < 0)
			return rc;
		if (*p != ',')
			break;
		if (!is_digit(*++p))
			return bad_nodelist(ctx, EINVAL, text, "is not of the form '0,2-3'");
	}
	while (is_space(*p))
		p++;
	if (*p)
		return bad_nodelist(ctx, EINVAL, text, "is not of the form '0,2-3'");
	for (int id = 0; id < HM_MAX_NODES; id++) {
		if (!seen[id])
			continue;
		if (count >= max)
			return bad_nodelist(ctx, E2BIG, text, "names more nodes than fit");
		ids[count++] = id;
	}
	*n = count;
	return 0;
}

/* ------------------------------------------------------------------ /proc/self/cgroup */

/* Is WORD one of the comma-separated items of LIST[0..LEN)? */
static bool list_has(const char *list, size_t len, const char *word)
{
	size_t wlen = strlen(word);

	while (len > 0) {
		size_t item = 0;

		while (item < len && list[item] != ',')
			item++;
		if (item == wlen && memcmp(list, word, wlen) == 0)
			return true;
		if (item == len)
			break;
		list += item + 1;
		len -= item + 1;
	}
	return false;
}

struct cgroup_pick {
	const char *path; /* into the text */
	size_t len;
};

/* One "ID:CONTROLLERS:PATH" line (LEN bytes, no newline). */
static int take_cgroup_line(struct hm_ctx *ctx, const char *line, size_t len, int lineno,
			    struct cgroup_pick *v1, struct cgroup_pick *v2)
{
	const char *end = line + len, *c1, *c2;
	const char *p = line;
	uint64_t id;

	c1 = take_digits(&p, &id) == 0 && *p == ':' ? p : NULL;
	c2 = c1 ? memchr(c1 + 1, ':', (size_t)(end - c1 - 1)) : NULL;
	if (!c2 || c2 + 1 >= end || c2[1] != '/')
		return hmi_err(ctx, EINVAL, "line %d '%.*s' is not 'id:controllers:/path'", lineno,
			       (int)(len > 60 ? 60 : len), line);
	if (!v1->path && list_has(c1 + 1, (size_t)(c2 - c1 - 1), "hugetlb")) {
		v1->path = c2 + 1;
		v1->len = (size_t)(end - c2 - 1);
	}
	if (!v2->path && id == 0 && c2 == c1 + 1) {
		v2->path = c2 + 1;
		v2->len = (size_t)(end - c2 - 1);
	}
	return 0;
}

int hmi_parse_proc_cgroup(struct hm_ctx *ctx, const char *text, int *version, char **path)
{
	struct cgroup_pick v1 = {NULL, 0}, v2 = {NULL, 0}, *pick = NULL;
	const char *line = text;
	int lineno = 0, rc;

	while (*line) {
		size_t len = strcspn(line, "\n");

		lineno++;
		rc = len ? take_cgroup_line(ctx, line, len, lineno, &v1, &v2) : 0;
		if (rc < 0)
			return rc;
		line += len;
		if (*line == '\n')
			line++;
	}
	if (v1.path)
		pick = &v1;
	else if (v2.path)
		pick = &v2;
	*path = pick ? strndup(pick->path, pick->len) : strdup("/");
	if (!*path)
		return hmi_err(ctx, ENOMEM, "out of memory reading the cgroup path");
	*version = pick == &v1 ? 1 : pick == &v2 ? 2 : 0;
	return 0;
}

/* PAGE_COUNTER_MAX * 4096 rounded as the kernel prints it: "no limit". */
#define HMI_CGROUP_UNLIMITED 0x7ffffffffffff000ULL

int hmi_parse_cgroup_value(const char *text, uint64_t *value)
{
	int rc;

	if (strncmp(text, "max", 3) == 0) {
		const char *p = text + 3;

		while (is_space(*p))
			p++;
		if (*p)
			return -EINVAL;
		*value = UINT64_MAX;
		return 0;
	}
	rc = hmi_parse_u64(text, value);
	if (rc == 0 && *value >= HMI_CGROUP_UNLIMITED)
		*value = UINT64_MAX;
	return rc;
}

/* ------------------------------------------------------------------ mountinfo lines */

struct mi_fields {
	char *root, *mount_point, *mount_opts;
	char *fstype, *source, *super_opts;
};

/* Digits, then (when SEP is not 0) SEP and digits again: the ID and MAJ:MIN
 * fields. */
static bool is_number_field(const char *s, char sep)
{
	const char *p = s;
	uint64_t v;

	if (take_digits(&p, &v) < 0)
		return false;
	if (sep) {
		if (*p++ != sep || take_digits(&p, &v) < 0)
			return false;
	}
	return *p == '\0';
}

/* Split LINE (a heap copy, cut in place). -EINVAL when a field is missing. */
static int split_mountinfo(char *line, struct mi_fields *f)
{
	char *field[6], *tok, *p = line;

	for (int i = 0; i < 6; i++) {
		if (!p)
			return -EINVAL;
		field[i] = strsep(&p, " ");
	}
	do {
		if (!p)
			return -EINVAL;
		tok = strsep(&p, " ");
	} while (strcmp(tok, "-") != 0);
	f->fstype = p ? strsep(&p, " ") : NULL;
	f->source = p ? strsep(&p, " ") : NULL;
	f->super_opts = p ? strsep(&p, " ") : NULL;
	if (!f->super_opts)
		return -EINVAL;
	if (!is_number_field(field[0], 0) || !is_number_field(field[1], 0) ||
	    !is_number_field(field[2], ':') || field[4][0] != '/')
		return -EINVAL;
	f->root = field[3];
	f->mount_point = field[4];
	f->mount_opts = field[5];
	return 0;
}

static bool is_odigit(char c)
{
	return c >= '0' && c <= '7';
}

/* Undo the kernel's mangle() in place: \ooo -> that byte. Anything else,
 * including a lone backslash, is kept as written. */
static void unescape(char *s)
{
	const char *in = s;
	char *out = s;

	while (*in) {
		if (in[0] == '\\' && is_odigit(in[1]) && is_odigit(in[2]) && is_odigit(in[3])) {
			int v = (in[1] - '0') * 64 + (in[2] - '0') * 8 + (in[3] - '0');

			if (v > 0 && v < 256) {
				*out++ = (char)v;
				in += 4;
				continue;
			}
		}
		*out++ = *in++;
	}
	*out = '\0';
}

typedef int (*mount_fn)(struct hm_ctx *ctx, struct mi_fields *f, int lineno, void *arg);

/* Call FN for every line of TEXT; FN returns <0 (error), 0 (go on), 1 (stop). */
static int for_each_mount(struct hm_ctx *ctx, const char *text, mount_fn fn, void *arg)
{
	const char *line = text;
	int lineno = 0, rc = 0;

	while (*line && rc == 0) {
		size_t len = strcspn(line, "\n");
		struct mi_fields f;
		char *copy;

		lineno++;
		if (len == 0) {
			line++;
			continue;
		}
		copy = strndup(line, len);
		if (!copy)
			return hmi_err(ctx, ENOMEM, "out of memory reading the mount table");
		rc = split_mountinfo(copy, &f);
		if (rc < 0)
			rc = hmi_err(ctx, EINVAL, "line %d is not a mountinfo line: '%.*s'", lineno,
				     (int)(len > 60 ? 60 : len), line);
		else
			rc = fn(ctx, &f, lineno, arg);
		free(copy);
		line += len;
		if (*line == '\n')
			line++;
	}
	return rc < 0 ? rc : 0;
}

/* ------------------------------------------------------------------ hugetlbfs mounts */

struct mount_list {
	uint64_t default_size;
	const struct hm_pool *pools;
	int n_pools;
	struct hm_mount *mounts;
	int n, cap;
};

/* "64M", "2097152", "1G": a byte count with an optional binary suffix. */
static int parse_memsize(const char *text, uint64_t *bytes)
{
	static const char suffixes[] = "KMGTPE";
	const char *p = text, *unit;
	uint64_t v;
	unsigned shift = 0;
	int rc = take_digits(&p, &v);

	if (rc < 0)
		return rc;
	if (*p) {
		unit = strchr(suffixes, *p & ~0x20); /* K or k */
		if (!unit || p[1])
			return -EINVAL;
		shift = 10 * (unsigned)(unit - suffixes + 1);
	}
	if (v > (UINT64_MAX >> shift))
		return -ERANGE;
	*bytes = v << shift;
	return 0;
}

/* Octal MODE= (at most 07777) or decimal uid=/gid= (at most 2^32-2: -1 is "unset"). */
static int parse_id_or_mode(const char *text, bool octal, uint64_t *value)
{
	const char *p = text;
	uint64_t v = 0;
	int rc;

	if (!octal) {
		rc = take_digits(&p, &v);

		if (rc == 0 && *p)
			rc = -EINVAL;
		if (rc == 0 && v >= UINT32_MAX)
			rc = -ERANGE;
		if (rc < 0)
			return rc;
		*value = v;
		return 0;
	}
	rc = hmi_scan_u64(p, NULL, 8, &v, &p);
	if (rc == -ERANGE || (rc == 0 && v > 07777))
		return -ERANGE;
	if (rc < 0 || *p)
		return -EINVAL;
	*value = v;
	return 0;
}

static uint64_t pool_pages(const struct mount_list *l, uint64_t page_size)
{
	for (int i = 0; i < l->n_pools; i++)
		if (l->pools[i].page_size == page_size)
			return l->pools[i].nr;
	return 0;
}

/* size= of M: bytes or N% of the pool, rounded down to whole pages. */
static int mount_size(const struct mount_list *l, const struct hm_mount *m, const char *text,
		      uint64_t *bytes)
{
	const char *p = text;
	uint64_t v, pages;
	int rc;

	if (text[0] && text[strlen(text) - 1] == '%') {
		rc = take_digits(&p, &v);
		if (rc < 0)
			return rc;
		if (*p != '%' || p[1])
			return -EINVAL;
		if (__builtin_mul_overflow(pool_pages(l, m->page_size), v, &pages))
			return -ERANGE;
		pages /= 100;
	} else {
		rc = parse_memsize(text, &v);
		if (rc < 0)
			return rc;
		if (m->page_size == 0) { /* no page size known: keep the bytes as given */
			*bytes = v;
			return 0;
		}
		pages = v / m->page_size;
	}
	return __builtin_mul_overflow(pages, m->page_size, bytes) ? -ERANGE : 0;
}

struct mount_opts {
	const char *size;
	bool has_size;
};

/* One super option of a hugetlbfs mount into M (SIZE is kept for later:
 * pagesize= may come after it). -EINVAL/-ERANGE for a bad value. */
static int apply_option(struct hm_mount *m, char *opt, struct mount_opts *o)
{
	uint64_t v;
	int rc = 0;

	if (strncmp(opt, "pagesize=", 9) == 0) {
		rc = parse_memsize(opt + 9, &v);
		if (rc == 0 && v == 0)
			rc = -EINVAL;
		if (rc == 0)
			m->page_size = v;
	} else if (strncmp(opt, "size=", 5) == 0) {
		o->size = opt + 5;
		o->has_size = true;
	} else if (strncmp(opt, "nr_inodes=", 10) == 0) {
		rc = parse_memsize(opt + 10, &v); /* the kernel takes K/M/G suffixes here too */
		if (rc == 0)
			m->nr_inodes = v;
	} else if (strncmp(opt, "uid=", 4) == 0) {
		rc = parse_id_or_mode(opt + 4, false, &v);
		if (rc == 0)
			m->uid = (uid_t)v;
	} else if (strncmp(opt, "gid=", 4) == 0) {
		rc = parse_id_or_mode(opt + 4, false, &v);
		if (rc == 0)
			m->gid = (gid_t)v;
	} else if (strncmp(opt, "mode=", 5) == 0) {
		rc = parse_id_or_mode(opt + 5, true, &v);
		if (rc == 0)
			m->mode = (mode_t)v;
	} else if (strcmp(opt, "ro") == 0) {
		m->read_only = 1;
	}
	return rc;
}

/* The options of a hugetlbfs line into M. On error *BAD names the option. */
static int mount_options(struct mount_list *l, struct mi_fields *f, struct hm_mount *m,
			 const char **bad)
{
	struct mount_opts o = {NULL, false};
	char *p = f->super_opts, *opt;
	int rc = 0;

	m->read_only = list_has(f->mount_opts, strlen(f->mount_opts), "ro");
	while (rc == 0 && (opt = strsep(&p, ",")) != NULL) {
		rc = apply_option(m, opt, &o);
		*bad = opt;
	}
	if (rc == 0 && o.has_size) {
		*bad = o.size - 5;
		rc = mount_size(l, m, o.size, &m->size_limit);
		/* size=0 (or 0% of the pool) is a mount that takes nothing */
		m->room = m->size_limit;
	}
	return rc;
}

static int add_hugetlbfs(struct hm_ctx *ctx, struct mi_fields *f, int lineno, void *arg)
{
	struct mount_list *l = arg;
	struct hm_mount m = {
	    .page_size = l->default_size, .room = UINT64_MAX, .inodes_free = UINT64_MAX};
	const char *bad = "";
	int rc;

	if (strcmp(f->fstype, "hugetlbfs") != 0)
		return 0;
	m.uid = (uid_t)-1;
	m.gid = (gid_t)-1;
	rc = mount_options(l, f, &m, &bad);
	if (rc < 0) /* the mount point as the kernel wrote it: escaped, one line */
		return hmi_err(ctx, -rc, "line %d: hugetlbfs on %s: bad option '%.40s'", lineno,
			       f->mount_point, bad);
	unescape(f->mount_point);
	if (l->n == l->cap) {
		int cap = l->cap ? l->cap * 2 : 8;
		struct hm_mount *bigger = realloc(l->mounts, (size_t)cap * sizeof(*bigger));

		if (!bigger)
			return hmi_err(ctx, ENOMEM, "out of memory reading the mount table");
		l->mounts = bigger;
		l->cap = cap;
	}
	m.path = strdup(f->mount_point);
	if (!m.path)
		return hmi_err(ctx, ENOMEM, "out of memory reading the mount table");
	l->mounts[l->n++] = m;
	return 0;
}

/* hmi_parse_mountinfo with the pools known, so that size=N% can be worked
 * out (N% of the pool of the mount's page size; 0 bytes with no such pool). */
int hmi_parse_mountinfo_pools(struct hm_ctx *ctx, const char *text, uint64_t default_size,
			      const struct hm_pool *pools, int n_pools, struct hm_mount **mounts,
			      int *n)
{
	struct mount_list l = {.default_size = default_size, .pools = pools, .n_pools = n_pools};
	int rc = for_each_mount(ctx, text, add_hugetlbfs, &l);

	if (rc < 0) {
		hmi_mounts_free(l.mounts, l.n);
		return rc;
	}
	*mounts = l.mounts;
	*n = l.n;
	return 0;
}

int hmi_parse_mountinfo(struct hm_ctx *ctx, const char *text, uint64_t default_size,
			struct hm_mount **mounts, int *n)
{
	return hmi_parse_mountinfo_pools(ctx, text, default_size, NULL, 0, mounts, n);
}

void hmi_mounts_free(struct hm_mount *mounts, int n)
{
	for (int i = 0; i < n; i++)
		free(mounts[i].path);
	free(mounts);
}

/* ------------------------------------------------------------------ cgroup mounts */

/* Is cgroup PATH at or below the cgroup ROOT ("/" holds every path)? */
static bool cgroup_under(const char *root, const char *path)
{
	size_t len = strlen(root);

	if (root[0] != '/') /* a cgroup mount's root is a path; "" is no mount of ours */
		return false;
	if (strcmp(root, "/") == 0)
		return path[0] == '/';
	return strncmp(path, root, len) == 0 && (path[len] == '\0' || path[len] == '/');
}

struct cgroup_mount_search {
	int version;
	const char *path;
	char *root, *mount_point;
};

static int match_cgroup_mount(struct hm_ctx *ctx, struct mi_fields *f, int lineno, void *arg)
{
	struct cgroup_mount_search *s = arg;
	bool match = s->version == 2
			 ? strcmp(f->fstype, "cgroup2") == 0
			 : strcmp(f->fstype, "cgroup") == 0 &&
			       list_has(f->super_opts, strlen(f->super_opts), "hugetlb");

	(void)lineno;
	if (!match || s->root) /* the first good match wins; keep checking the lines */
		return 0;
	unescape(f->root);
	unescape(f->mount_point);
	if (!cgroup_under(f->root, s->path))
		return 0;
	s->root = strdup(f->root);
	s->mount_point = strdup(f->mount_point);
	if (!s->root || !s->mount_point)
		return hmi_err(ctx, ENOMEM, "out of memory reading the mount table");
	return 0;
}

/* The mount of the hugetlb cgroup controller (VERSION 1: a "cgroup" mount with
 * hugetlb in its options; 2: the "cgroup2" mount) that shows CGROUP_PATH:
 * returns 1 with *ROOT (the cgroup the mount shows, "/" normally) and
 * *MOUNT_POINT malloc'd, or 0 when there is none. */
int hmi_parse_cgroup_mount(struct hm_ctx *ctx, const char *text, int version,
			   const char *cgroup_path, char **root, char **mount_point)
{
	struct cgroup_mount_search s = {version, cgroup_path, NULL, NULL};
	int rc = for_each_mount(ctx, text, match_cgroup_mount, &s);

	if (rc < 0) {
		free(s.root);
		free(s.mount_point);
		return rc;
	}
	*root = s.root;
	*mount_point = s.mount_point;
	return s.root ? 1 : 0;
}

/* ------------------------------------------------------------------ /proc/locks */

/* The next white-space separated token of [*P, END) into TOK/LEN. */
static bool next_token(const char **p, const char *end, const char **tok, size_t *len)
{
	const char *s = *p;

	while (s < end && (*s == ' ' || *s == '\t'))
		s++;
	*tok = s;
	while (s < end && *s != ' ' && *s != '\t')
		s++;
	*len = (size_t)(s - *tok);
	*p = s;
	return *len > 0;
}

static bool token_is(const char *tok, size_t len, const char *word)
{
	return len == strlen(word) && memcmp(tok, word, len) == 0;
}

/* Hex (BASE 16) or decimal number in [*P, END), advancing *P. */
static bool take_number(const char **p, const char *end, unsigned base, uint64_t *value)
{
	const char *stop;

	if (hmi_scan_u64(*p, end, base, value, &stop) < 0)
		return false;
	*p = stop;
	return true;
}

struct lock_line {
	long pid;
	uint64_t maj, min, ino;
};

/* PID and "MAJ:MIN:INO" tokens of one lock. */
static int parse_lock_owner(const char *pid_tok, size_t pid_len, const char *dev_tok,
			    size_t dev_len, struct lock_line *l)
{
	const char *p = pid_tok, *end = pid_tok + pid_len;
	const char *dend = dev_tok + dev_len;
	bool neg = p < end && *p == '-';
	uint64_t v;

	p += neg;
	if (!take_number(&p, end, 10, &v) || p != end || v > INT32_MAX)
		return -EINVAL;
	l->pid = neg ? -(long)v : (long)v;
	p = dev_tok;
	if (!take_number(&p, dend, 16, &l->maj) || p == dend || *p++ != ':' ||
	    !take_number(&p, dend, 16, &l->min) || p == dend || *p++ != ':' ||
	    !take_number(&p, dend, 10, &l->ino) || p != dend)
		return -EINVAL;
	return 0;
}

/* One line of /proc/locks: 1 with *L filled for a lock to look at, 0 for a
 * line to skip (a waiter "->", a lease, a lock without an inode). */
static int parse_lock_line(const char *line, const char *end, struct lock_line *l)
{
	const char *p = line, *tok[6];
	size_t len[6];

	for (int i = 0; i < 6; i++)
		if (!next_token(&p, end, &tok[i], &len[i]))
			return i == 0 ? 0 : -EINVAL;
	if (tok[0][len[0] - 1] != ':')
		return -EINVAL;
	if (token_is(tok[1], len[1], "->"))
		return 0;
	if (!token_is(tok[1], len[1], "FLOCK") && !token_is(tok[1], len[1], "POSIX") &&
	    !token_is(tok[1], len[1], "OFDLCK"))
		return 0;
	if (len[5] >= 6 && memcmp(tok[5], "<none>", 6) == 0)
		return 0;
	return parse_lock_owner(tok[4], len[4], tok[5], len[5], l) < 0 ? -EINVAL : 1;
}

int hmi_parse_proc_locks_all(const char *text, unsigned maj, unsigned min, uint64_t ino,
			     pid_t *pids, int max)
{
	const char *line = text;
	int n = 0;

	while (*line) {
		const char *end = line + strcspn(line, "\n");
		struct lock_line l;
		int rc = parse_lock_line(line, end, &l);

		if (rc < 0)
			return rc;
		/* OFD locks show -1, a holder in another pid namespace 0: both -1 */
		if (rc == 1 && l.maj == maj && l.min == min && l.ino == ino && n < max)
			pids[n++] = l.pid > 0 ? (pid_t)l.pid : -1;
		line = *end ? end + 1 : end;
	}
	return n;
}

int hmi_parse_proc_locks(const char *text, unsigned maj, unsigned min, uint64_t ino, pid_t *pid)
{
	pid_t pids[64];
	int n = hmi_parse_proc_locks_all(text, maj, min, ino, pids, 64);

	if (n < 0)
		return n;
	*pid = n ? -1 : 0; /* a holder we cannot name is still a holder */
	for (int i = 0; i < n; i++)
		if (pids[i] > 0) {
			*pid = pids[i];
			break;
		}
	return 0;
}
