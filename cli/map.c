/* SPDX-License-Identifier: MIT */
/*
 * map.c — `hugemem map` and `init --map`: a picture of the physical memory of
 * each NUMA node, address low to high, one strip per node: free hugepages
 * (runs long enough to hold the size asked with --for, and shorter ones),
 * hugepages of each hugemem prefix, hugepages someone else maps, memory that
 * is no hugepage, and holes; then the scale, the largest free run, the
 * run-length histogram and the fewest pieces `init --contig best -m X` could
 * get. The data is src/mapinfo.c's physical map (root); without root it shows
 * what can be known — node spans, pool counts, the live prefixes' layouts —
 * and one line saying what is missing.
 *
 * The terminal picture. A strip is as wide as the terminal (COLUMNS, else
 * the TIOCGWINSZ of standard output, else 80), each cell one equal slice of
 * the node's span. Hugepages are what the picture is about, so a cell that
 * holds any shows them: a prefix's pages first, else the used or the free
 * ones, whichever cover more (free in runs long enough for --for, or not);
 * a cell without hugepages shows other memory or, when most of it is none, a
 * hole. With colour (standard output a terminal, NO_COLOR not set) the class
 * is the colour and the glyph a bar as high as the cell's share of
 * hugepages (a scattered pool shows low bars); without colour each class has
 * its own glyph (Unicode blocks, letters for prefixes). Blocks and bars need
 * a UTF-8 locale: under any other (LANG=C) they are ASCII. When the hugepages
 * sit in less than half the span, a second strip zooms on them. Every line,
 * text included, is wrapped to the width: nothing is ever wider.
 *
 * --json prints the model (docs/json.md: "hugemem map --json"); --svg FILE writes
 * the same picture as a standalone SVG (cli/map_svg.c).
 */
#include "map.h"

#include <errno.h>
#include <langinfo.h>
#include <locale.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define DEFAULT_WIDTH 80
#define MAX_WIDTH     1000

struct term {
	FILE *out;
	int width;
	int colour;
	const char *const *glyphs; /* one per class: Unicode or ASCII, as the locale allows */
	const char *const *bars;   /* the 8 heights of a bar, likewise */
};

struct cell {
	enum map_class cls;
	int prefix;
	int eighths; /* hugepage classes: share of the cell in hugepages, 1..8 */
};

/* Bytes of each class inside one cell. */
struct tally {
	uint64_t bytes[MC_COUNT];
	uint64_t prefix_bytes;
	int prefix;
};

/* Glyph and colour of each class; prefixes pick theirs from the palettes.
 * Unicode blocks under a UTF-8 locale ([1]), else ASCII ([0]). */
static const char *const glyphs[2][MC_COUNT] = {
    {[MC_HOLE] = " ",
     [MC_OTHER] = ".",
     [MC_FREE_LONG] = "#",
     [MC_FREE_SHORT] = "+",
     [MC_USED] = "x",
     [MC_PREFIX] = "#"},
    {[MC_HOLE] = " ",
     [MC_OTHER] = "\u2591",
     [MC_FREE_LONG] = "\u2588",
     [MC_FREE_SHORT] = "\u2593",
     [MC_USED] = "\u2592",
     [MC_PREFIX] = "\u2588"},
};
static const char *const colours[MC_COUNT] = {
    [MC_HOLE] = "0",	    [MC_OTHER] = "90", [MC_FREE_LONG] = "32",
    [MC_FREE_SHORT] = "33", [MC_USED] = "31",  [MC_PREFIX] = "34",
};
/* With colour, a hugepage cell is a bar as high as its share of hugepages. */
static const char *const bars[2][8] = {
    {"_", "_", ".", ".", "-", "=", "=", "#"},
    {"\u2581", "\u2582", "\u2583", "\u2584", "\u2585", "\u2586", "\u2587", "\u2588"},
};
static const char *const prefix_colours[] = {"34", "35", "94", "95", "36", "96"};
static const char *const kind_names[] = {[HM_PHYS_HOLE] = "hole",
					 [HM_PHYS_OTHER] = "other",
					 [HM_PHYS_FREE] = "free",
					 [HM_PHYS_USED] = "used",
					 [HM_PHYS_PREFIX] = "prefix"};

/* ------------------------------------------------------------------ shared with map_svg.c */

int map_node_shown(const struct map_view *v, int i)
{
	return v->node < 0 || v->map->nodes[i].node == v->node;
}

enum map_class map_extent_class(const struct map_view *v, const struct hm_phys_extent *e)
{
	switch (e->kind) {
	case HM_PHYS_FREE:
		return e->len >= v->want ? MC_FREE_LONG : MC_FREE_SHORT;
	case HM_PHYS_USED:
		return MC_USED;
	case HM_PHYS_PREFIX:
		return MC_PREFIX;
	case HM_PHYS_OTHER:
		return MC_OTHER;
	default:
		return MC_HOLE;
	}
}

int map_zoom(const struct hm_phys_node *n, uint64_t *lo, uint64_t *hi)
{
	int seen = 0;

	for (uint64_t i = 0; i < n->n_extents; i++) {
		const struct hm_phys_extent *e = &n->extents[i];

		if (e->kind < HM_PHYS_FREE)
			continue;
		if (!seen)
			*lo = e->pa;
		*hi = e->pa + e->len;
		seen = 1;
	}
	return seen && (*hi - *lo) < (n->end - n->start) / 2;
}

int map_histogram(const struct hm_phys_node *n, uint64_t page_size, uint64_t counts[MAP_BUCKETS])
{
	int top = 0;

	memset(counts, 0, MAP_BUCKETS * sizeof(counts[0]));
	for (uint64_t i = 0; i < n->n_extents; i++) {
		uint64_t pages = n->extents[i].len / page_size;
		int b = 0;

		if (n->extents[i].kind != HM_PHYS_FREE || pages == 0)
			continue;
		while (b + 1 < MAP_BUCKETS && pages >> (b + 1))
			b++;
		counts[b]++;
		if (b + 1 > top)
			top = b + 1;
	}
	return top;
}

enum map_class map_bucket_class(const struct map_view *v, int b)
{
	return (1ULL << b) * v->map->page_size >= v->want ? MC_FREE_LONG : MC_FREE_SHORT;
}

void map_prefix_name(const struct hm_physmap *m, int i, char *buf, size_t len)
{
	const struct hm_phys_prefix *p = &m->prefixes[i];
	char name[CLI_SHOWN_MAX];

	cli_shown(p->name, name, sizeof(name)); /* a prefix is part of a file name */
	if (p->self)
		snprintf(buf, len, "this process ('%s')", name);
	else
		snprintf(buf, len, "'%s' pid %d", name, (int)p->pid);
}

const char *map_approx(uint64_t bytes, char *buf, size_t len)
{
	static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
	double v = (double)bytes;
	int u = 0;

	while (v >= 1024 && u < 5) {
		v /= 1024;
		u++;
	}
	if (u == 0 || v >= 100 || v == (double)(uint64_t)v)
		snprintf(buf, len, "%.0f %s", v, units[u]);
	else
		snprintf(buf, len, v >= 10 ? "%.0f %s" : "%.1f %s", v, units[u]);
	return buf;
}

/* BYTES as an option value: "64M", "1536M", "4K" (whole units; a size that
 * is not a whole number of KiB rounds up to one). */
static void size_arg(uint64_t bytes, char *buf, size_t len)
{
	if (bytes == 0 || bytes % 1024)
		snprintf(buf, len, "%lluK", (unsigned long long)((bytes + 1023) / 1024));
	else
		cli_size_arg(bytes, buf, len);
}

void map_pieces_line(const struct map_view *v, int i, char *buf, size_t len)
{
	uint64_t pieces = hm_physmap_pieces(v->map, i, v->want);
	char size[32], arg[32];

	hm_size_str(v->want, size, sizeof(size));
	size_arg(v->want, arg, sizeof(arg));
	if (pieces)
		snprintf(buf, len,
			 "fewest pieces for %s (init --contig best -m %s, on this node): %llu",
			 size, arg, (unsigned long long)pieces);
	else
		snprintf(buf, len, "fewest pieces for %s: not reachable, the free runs hold less",
			 size);
}

/* ------------------------------------------------------------------ terminal */

static int env_width(void)
{
	const char *s = getenv("COLUMNS");
	char *end;
	long n;

	if (!s || !*s)
		return 0;
	errno = 0;
	n = strtol(s, &end, 10);
	if (errno || *end || n <= 0)
		return 0;
	return n > MAX_WIDTH ? MAX_WIDTH : (int)n;
}

/* Whether the user's locale (LC_ALL, else LC_CTYPE, else LANG) encodes
 * UTF-8: what setlocale(LC_CTYPE, "") and nl_langinfo(CODESET) would say,
 * read without changing the process's own locale, so nothing else printed
 * (numbers in JSON, messages) follows the user's locale. A locale that is
 * not installed is C, as setlocale would make it. */
static int locale_utf8(void)
{
	locale_t loc = newlocale(LC_CTYPE_MASK, "", (locale_t)0);
	int utf8;

	if (loc == (locale_t)0)
		return 0;
	utf8 = strcmp(nl_langinfo_l(CODESET, loc), "UTF-8") == 0;
	freelocale(loc);
	return utf8;
}

static void term_init(struct term *t, FILE *out)
{
	struct winsize ws;
	const char *no_colour = getenv("NO_COLOR");
	int utf8 = locale_utf8();

	t->out = out;
	t->width = env_width();
	if (!t->width && ioctl(fileno(out), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		t->width = ws.ws_col > MAX_WIDTH ? MAX_WIDTH : ws.ws_col;
	if (!t->width)
		t->width = DEFAULT_WIDTH;
	t->colour = isatty(fileno(out)) && !(no_colour && *no_colour);
	t->glyphs = glyphs[utf8];
	t->bars = bars[utf8];
}

/* Bytes of the UTF-8 character at P. */
static size_t char_len(const char *p)
{
	unsigned char c = (unsigned char)*p;
	size_t n = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;

	for (size_t i = 1; i < n; i++)
		if (!p[i])
			return i;
	return n;
}

/* Where the line starting at P ends when at most ROOM columns fit: after
 * the last whole word that fits, or inside a word longer than the line. */
static const char *line_end(const char *p, int room)
{
	const char *end = p, *cut = NULL;

	for (int cols = 0; *end && cols < room; cols++) {
		if (*end == ' ')
			cut = end;
		end += char_len(end);
	}
	if (!*end || *end == ' ' || !cut || cut == p)
		return end;
	return cut;
}

/* TEXT wrapped to the width: the first line indented INDENT, the others two
 * more. */
static void put_wrapped(const struct term *t, const char *text, int indent)
{
	int first = 1;

	if (!*text)
		fputc('\n', t->out);
	while (*text) {
		int lead = first ? indent : indent + 2;
		const char *end;

		if (lead >= t->width / 2)
			lead = 0;
		end = line_end(text, t->width - lead);
		fprintf(t->out, "%*s%.*s\n", lead, "", (int)(end - text), text);
		for (text = end; *text == ' '; text++)
			;
		first = 0;
	}
}

static void say(const struct term *t, int indent, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void say(const struct term *t, int indent, const char *fmt, ...)
{
	char buf[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	put_wrapped(t, buf, indent);
}

/* ------------------------------------------------------------------ cells */

static void tally_add(const struct map_view *v, struct tally *t, const struct hm_phys_extent *e,
		      uint64_t a, uint64_t b)
{
	uint64_t lo = e->pa > a ? e->pa : a, hi = e->pa + e->len < b ? e->pa + e->len : b;
	enum map_class cls = map_extent_class(v, e);

	if (hi <= lo)
		return;
	t->bytes[cls] += hi - lo;
	if (cls == MC_PREFIX && hi - lo > t->prefix_bytes) {
		t->prefix_bytes = hi - lo;
		t->prefix = e->prefix;
	}
}

static struct cell decide(const struct tally *t)
{
	uint64_t free = t->bytes[MC_FREE_LONG] + t->bytes[MC_FREE_SHORT];
	uint64_t huge = free + t->bytes[MC_USED] + t->bytes[MC_PREFIX];
	uint64_t all = huge + t->bytes[MC_OTHER] + t->bytes[MC_HOLE];
	struct cell c = {MC_HOLE, -1, 8};

	if (!huge) {
		if (t->bytes[MC_OTHER] && t->bytes[MC_OTHER] >= t->bytes[MC_HOLE])
			c.cls = MC_OTHER;
		return c;
	}
	c.eighths = (int)((huge * 8 + all - 1) / all);
	if (t->bytes[MC_PREFIX]) {
		c.cls = MC_PREFIX;
		c.prefix = t->prefix;
	} else if (t->bytes[MC_USED] > free) {
		c.cls = MC_USED;
	} else {
		c.cls = t->bytes[MC_FREE_LONG] >= t->bytes[MC_FREE_SHORT] ? MC_FREE_LONG
									  : MC_FREE_SHORT;
	}
	return c;
}

/* Cell I of W over [LO, HI): [*A, *B). */
static void cell_bounds(uint64_t lo, uint64_t hi, int i, int w, uint64_t *a, uint64_t *b)
{
	unsigned __int128 span = hi - lo;

	*a = lo + (uint64_t)(span * (unsigned)i / (unsigned)w);
	*b = lo + (uint64_t)(span * (unsigned)(i + 1) / (unsigned)w);
}

static void cells_of_node(const struct map_view *v, const struct hm_phys_node *n, uint64_t lo,
			  uint64_t hi, struct cell *cells, int w)
{
	uint64_t first = 0;

	for (int i = 0; i < w; i++) {
		struct tally t = {.prefix = -1};
		uint64_t a, b;

		cell_bounds(lo, hi, i, w, &a, &b);
		while (first < n->n_extents && n->extents[first].pa + n->extents[first].len <= a)
			first++;
		for (uint64_t k = first; k < n->n_extents && n->extents[k].pa < b; k++)
			tally_add(v, &t, &n->extents[k], a, b);
		cells[i] = decide(&t);
	}
}

/* A prefix's segments in its IOVA space (no physical placement). */
static void cells_of_prefix(const struct hm_phys_prefix *p, int idx, uint64_t lo, uint64_t hi,
			    struct cell *cells, int w)
{
	for (int i = 0; i < w; i++) {
		uint64_t a, b;

		cell_bounds(lo, hi, i, w, &a, &b);
		cells[i] = (struct cell){MC_HOLE, -1, 8};
		for (int s = 0; s < p->n_segments; s++)
			if (p->segments[s].iova < b && p->segments[s].iova + p->segments[s].len > a)
				cells[i] = (struct cell){MC_PREFIX, idx, 8};
	}
}

/* ------------------------------------------------------------------ glyphs */

static const char *prefix_colour(const struct hm_physmap *m, int idx)
{
	int rank = 0;

	if (idx >= 0 && m->prefixes[idx].self)
		return "1;36";
	for (int i = 0; i < idx; i++)
		rank += !m->prefixes[i].self;
	return prefix_colours[rank % (int)(sizeof(prefix_colours) / sizeof(prefix_colours[0]))];
}

/* Without colour, prefixes are letters: '*' for this process, a, b, ... */
static char prefix_letter(const struct hm_physmap *m, int idx)
{
	int rank = 0;

	if (idx < 0 || m->prefixes[idx].self)
		return '*';
	for (int i = 0; i < idx; i++)
		rank += !m->prefixes[i].self;
	return (char)('a' + rank % 26);
}

static void put_glyph(const struct term *t, const struct hm_physmap *m, struct cell c,
		      const char **current)
{
	const char *colour = c.cls == MC_PREFIX ? prefix_colour(m, c.prefix) : colours[c.cls];

	if (t->colour && colour != *current) {
		fprintf(t->out, "\033[%sm", colour);
		*current = colour;
	}
	if (c.cls == MC_PREFIX && !t->colour)
		fputc(prefix_letter(m, c.prefix), t->out);
	else if (t->colour && c.cls >= MC_FREE_LONG)
		fputs(t->bars[c.eighths - 1], t->out);
	else
		fputs(t->glyphs[c.cls], t->out);
}

static void put_cells(const struct term *t, const struct hm_physmap *m, const struct cell *cells,
		      int w)
{
	const char *current = NULL;

	for (int i = 0; i < w; i++)
		put_glyph(t, m, cells[i], &current);
	fputs(t->colour ? "\033[0m\n" : "\n", t->out);
}

/* "0x0 ... 0x640000000" under a strip, when both fit. */
static void put_scale(const struct term *t, uint64_t lo, uint64_t hi)
{
	char left[24], right[24];
	int gap;

	snprintf(left, sizeof(left), "0x%llx", (unsigned long long)lo);
	snprintf(right, sizeof(right), "0x%llx", (unsigned long long)hi);
	gap = t->width - (int)strlen(left) - (int)strlen(right);
	if (gap >= 1)
		fprintf(t->out, "%s%*s%s\n", left, gap, "", right);
	else if ((int)strlen(left) <= t->width)
		fprintf(t->out, "%s\n", left);
}

static int draw_node_strip(const struct map_view *v, const struct term *t,
			   const struct hm_phys_node *n, uint64_t lo, uint64_t hi)
{
	int w = t->width;
	struct cell *cells = calloc((size_t)w, sizeof(*cells));
	char cell[32];

	if (!cells)
		return -ENOMEM;
	say(t, 0, "one cell = %s", map_approx((hi - lo) / (uint64_t)w, cell, sizeof(cell)));
	cells_of_node(v, n, lo, hi, cells, w);
	put_cells(t, v->map, cells, w);
	put_scale(t, lo, hi);
	free(cells);
	return 0;
}

/* ------------------------------------------------------------------ legend */

struct legend {
	const struct term *t;
	int cols;
};

static void legend_item(struct legend *l, const char *colour, const char *glyph, char letter,
			const char *text)
{
	int need = 1 + 1 + (int)strlen(text);

	if (l->cols && l->cols + 2 + need > l->t->width) {
		fputc('\n', l->t->out);
		l->cols = 0;
	}
	if (l->cols) {
		fputs("  ", l->t->out);
		l->cols += 2;
	}
	if (!glyph)
		need -= 2; /* text alone */
	else if (l->t->colour)
		fprintf(l->t->out, "\033[%sm%s\033[0m ", colour, glyph);
	else if (letter)
		fprintf(l->t->out, "%c ", letter);
	else
		fprintf(l->t->out, "%s ", glyph);
	fprintf(l->t->out, "%.*s", l->t->width - (glyph ? 2 : 0), text);
	l->cols += need > l->t->width ? l->t->width : need;
}

static void put_legend(const struct map_view *v, const struct term *t, int placed)
{
	struct legend l = {.t = t};
	char text[160], size[32];

	if (placed) {
		hm_size_str(v->want, size, sizeof(size));
		snprintf(text, sizeof(text), "free run >= %s", size);
		legend_item(&l, colours[MC_FREE_LONG], t->glyphs[MC_FREE_LONG], 0, text);
		legend_item(&l, colours[MC_FREE_SHORT], t->glyphs[MC_FREE_SHORT], 0,
			    "shorter free run");
		legend_item(&l, colours[MC_USED], t->glyphs[MC_USED], 0, "used by others");
		legend_item(&l, colours[MC_OTHER], t->glyphs[MC_OTHER], 0, "not hugepages");
		legend_item(&l, NULL, NULL, 0, "blank: no memory");
	}
	for (int i = 0; i < v->map->n_prefixes; i++) {
		map_prefix_name(v->map, i, text, sizeof(text));
		legend_item(&l, prefix_colour(v->map, i), t->glyphs[MC_PREFIX],
			    prefix_letter(v->map, i), text);
	}
	if (l.cols)
		fputc('\n', t->out);
}

/* ------------------------------------------------------------------ text */

void map_bucket_label(int b, char *buf, size_t len)
{
	if (b == 0)
		snprintf(buf, len, "1");
	else
		snprintf(buf, len, "%llu-%llu", 1ULL << b, (2ULL << b) - 1);
}

/* One line per bucket: label, count, a bar scaled to the widest bucket. */
static void put_histogram(const struct map_view *v, const struct term *t,
			  const struct hm_phys_node *n)
{
	uint64_t counts[MAP_BUCKETS], most = 0;
	int top = map_histogram(n, v->map->page_size, counts), lw, cw, room;
	char label[48], count[24];

	if (!top)
		return;
	say(t, 2, "free runs by length (pages):");
	for (int b = 0; b < top; b++)
		most = counts[b] > most ? counts[b] : most;
	map_bucket_label(top - 1, label, sizeof(label));
	lw = (int)strlen(label);
	cw = snprintf(count, sizeof(count), "%llu", (unsigned long long)most);
	room = t->width - (4 + lw + 1 + cw + 1);
	for (int b = 0; b < top; b++) {
		int bar = room > 0 ? (int)((counts[b] * (uint64_t)room + most - 1) / most) : 0;

		map_bucket_label(b, label, sizeof(label));
		if (room < 1) {
			say(t, 4, "%s: %llu", label, (unsigned long long)counts[b]);
			continue;
		}
		fprintf(t->out, "    %*s %*llu ", lw, label, cw, (unsigned long long)counts[b]);
		if (t->colour)
			fprintf(t->out, "\033[%sm", colours[map_bucket_class(v, b)]);
		for (int i = 0; i < bar; i++)
			fputs(t->glyphs[MC_FREE_LONG], t->out);
		fputs(t->colour ? "\033[0m\n" : "\n", t->out);
	}
}

static void node_summary(const struct map_view *v, const struct term *t, int i)
{
	const struct hm_phys_node *n = &v->map->nodes[i];
	char ps[32], a[32], b[32], line[256];

	hm_size_str(v->map->page_size, ps, sizeof(ps));
	say(t, 2,
	    "%s hugepages: %llu (%s): %llu free in %llu runs, %llu of hugemem prefixes, "
	    "%llu used by others",
	    ps, (unsigned long long)n->hugepages,
	    map_approx(n->hugepages * v->map->page_size, a, sizeof(a)),
	    (unsigned long long)n->free_pages, (unsigned long long)n->free_runs,
	    (unsigned long long)n->prefix_pages, (unsigned long long)n->used_pages);
	if (n->free_runs)
		say(t, 2, "largest free run: %llu pages (%s) at 0x%llx",
		    (unsigned long long)n->largest_run,
		    map_approx(n->largest_run * v->map->page_size, b, sizeof(b)),
		    (unsigned long long)n->largest_pa);
	map_pieces_line(v, i, line, sizeof(line));
	say(t, 2, "%s", line);
	put_histogram(v, t, n);
}

static int draw_placed_node(const struct map_view *v, const struct term *t, int i)
{
	const struct hm_phys_node *n = &v->map->nodes[i];
	uint64_t lo = 0, hi = 0;
	char mem[32], span[32];
	int rc;

	say(t, 0, "node %d: %s of memory, 0x%llx-0x%llx", n->node,
	    map_approx(n->memory, mem, sizeof(mem)), (unsigned long long)n->start,
	    (unsigned long long)n->end);
	if (n->end <= n->start)
		return 0;
	rc = draw_node_strip(v, t, n, n->start, n->end);
	if (rc == 0 && map_zoom(n, &lo, &hi)) {
		say(t, 0, "node %d zoomed on its hugepages, 0x%llx-0x%llx (%s):", n->node,
		    (unsigned long long)lo, (unsigned long long)hi,
		    map_approx(hi - lo, span, sizeof(span)));
		rc = draw_node_strip(v, t, n, lo, hi);
	}
	if (rc == 0)
		node_summary(v, t, i);
	return rc;
}

/* Pool counts per node from sysfs: what is known without root. */
static void draw_unplaced_node(const struct map_view *v, const struct term *t, int i)
{
	const struct hm_phys_node *n = &v->map->nodes[i];
	const struct hm_pool *p = hm_sysinfo_pool(v->si, v->map->page_size);
	char mem[32], ps[32];

	hm_size_str(v->map->page_size, ps, sizeof(ps));
	if (n->end > n->start)
		say(t, 0, "node %d: %s of memory, 0x%llx-0x%llx", n->node,
		    map_approx(n->memory, mem, sizeof(mem)), (unsigned long long)n->start,
		    (unsigned long long)n->end);
	else
		say(t, 0, "node %d: span unknown (no /sys/devices/system/memory)", n->node);
	for (int k = 0; p && k < p->n_nodes; k++)
		if (p->nodes[k].node == n->node)
			say(t, 2,
			    "%s hugepages: %llu, %llu free (sysfs counts; where they sit is "
			    "not known)",
			    ps, (unsigned long long)p->nodes[k].nr,
			    (unsigned long long)p->nodes[k].free);
}

static int draw_prefix_layout(const struct map_view *v, const struct term *t, int idx)
{
	const struct hm_phys_prefix *p = &v->map->prefixes[idx];
	uint64_t lo = UINT64_MAX, hi = 0;
	int w = t->width;
	struct cell *cells;

	for (int s = 0; s < p->n_segments; s++) {
		lo = p->segments[s].iova < lo ? p->segments[s].iova : lo;
		if (p->segments[s].iova + p->segments[s].len > hi)
			hi = p->segments[s].iova + p->segments[s].len;
	}
	if (hi <= lo)
		return 0;
	cells = calloc((size_t)w, sizeof(*cells));
	if (!cells)
		return -ENOMEM;
	cells_of_prefix(p, idx, lo, hi, cells, w);
	put_cells(t, v->map, cells, w);
	put_scale(t, lo, hi);
	free(cells);
	return 0;
}

static int draw_prefixes(const struct map_view *v, const struct term *t)
{
	const struct hm_physmap *m = v->map;
	char name[160], total[32];
	int rc = 0;

	for (int i = 0; rc == 0 && i < m->n_prefixes; i++) {
		const struct hm_phys_prefix *p = &m->prefixes[i];

		map_prefix_name(m, i, name, sizeof(name));
		say(t, 0, "%s: %s in %d segment%s, IOVA = %s%s", name,
		    map_approx(p->total_bytes, total, sizeof(total)), p->n_segments,
		    p->n_segments == 1 ? "" : "s", cli_iova_mode_name(p->iova_mode, 1),
		    m->placed ? "" : ", in IOVA order:");
		if (p->note[0])
			say(t, 2, "%s", p->note);
		else if (m->placed)
			say(t, 2, "%llu pages found on the map",
			    (unsigned long long)p->pages_placed);
		if (!m->placed)
			rc = draw_prefix_layout(v, t, i);
	}
	return rc;
}

static int draw_text(const struct map_view *v, FILE *out)
{
	const struct hm_physmap *m = v->map;
	struct term t;
	char ps[32];
	int rc = 0;

	term_init(&t, out);
	hm_size_str(m->page_size, ps, sizeof(ps));
	say(&t, 0, "%s: %s pages%s", v->title, ps,
	    !m->placed ? ""
	    : m->exact ? ", exact"
		       : ", an upper bound (reserved pages and unmapped page files count as free)");
	if (m->missing[0])
		say(&t, 0, "not known: %s", m->missing);
	for (int i = 0; rc == 0 && i < m->n_nodes; i++) {
		if (!map_node_shown(v, i))
			continue;
		if (m->placed)
			rc = draw_placed_node(v, &t, i);
		else
			draw_unplaced_node(v, &t, i);
	}
	if (rc == 0)
		rc = draw_prefixes(v, &t);
	if (rc == 0)
		put_legend(v, &t, m->placed);
	return rc;
}

/* ------------------------------------------------------------------ JSON */

static void json_prefix(struct json *j, const struct hm_physmap *m, int i)
{
	const struct hm_phys_prefix *p = &m->prefixes[i];

	json_obj(j, NULL);
	json_i64(j, "index", i);
	json_str(j, "prefix", p->name);
	json_i64(j, "pid", p->pid);
	json_bool(j, "self", p->self);
	json_str(j, "iova_mode", cli_iova_mode_name(p->iova_mode, 0));
	json_u64(j, "page_size_bytes", p->page_size);
	json_u64(j, "total_bytes", p->total_bytes);
	json_u64(j, "placed_pages", p->pages_placed);
	json_str(j, "note", p->note[0] ? p->note : NULL);
	json_arr(j, "segments");
	for (int s = 0; s < p->n_segments; s++) {
		json_obj(j, NULL);
		json_hex(j, "va", (uint64_t)(uintptr_t)p->segments[s].va);
		json_hex(j, "iova", p->segments[s].iova);
		json_u64(j, "len", p->segments[s].len);
		json_i64(j, "node", p->segments[s].node);
		json_u64(j, "pages", p->segments[s].n_pages);
		json_obj_end(j);
	}
	json_arr_end(j);
	json_obj_end(j);
}

static void json_histogram(struct json *j, const struct map_view *v, const struct hm_phys_node *n)
{
	uint64_t counts[MAP_BUCKETS];
	int top = map_histogram(n, v->map->page_size, counts);

	json_arr(j, "histogram");
	for (int b = 0; b < top; b++) {
		json_obj(j, NULL);
		json_u64(j, "min_pages", 1ULL << b);
		json_u64(j, "max_pages", (2ULL << b) - 1);
		json_u64(j, "runs", counts[b]);
		json_obj_end(j);
	}
	json_arr_end(j);
}

static void json_extents(struct json *j, const struct hm_phys_node *n)
{
	json_arr(j, "extents");
	for (uint64_t e = 0; e < n->n_extents; e++) {
		const struct hm_phys_extent *x = &n->extents[e];

		json_obj(j, NULL);
		json_hex(j, "pa", x->pa);
		json_u64(j, "len", x->len);
		json_str(j, "kind", kind_names[x->kind]);
		if (x->kind == HM_PHYS_PREFIX)
			json_i64(j, "prefix", x->prefix);
		else
			json_null(j, "prefix");
		json_obj_end(j);
	}
	json_arr_end(j);
}

static void json_pool_counts(struct json *j, const struct map_view *v, int node)
{
	const struct hm_pool *p = hm_sysinfo_pool(v->si, v->map->page_size);

	for (int k = 0; p && k < p->n_nodes; k++) {
		if (p->nodes[k].node != node)
			continue;
		json_obj(j, "pool");
		json_u64(j, "total_pages", p->nodes[k].nr);
		json_u64(j, "free_pages", p->nodes[k].free);
		json_obj_end(j);
		return;
	}
	json_null(j, "pool");
}

static void json_node(struct json *j, const struct map_view *v, int i)
{
	const struct hm_phys_node *n = &v->map->nodes[i];
	uint64_t pieces = hm_physmap_pieces(v->map, i, v->want);
	int placed = v->map->placed;

	json_obj(j, NULL);
	json_i64(j, "node", n->node);
	json_hex(j, "start", n->start);
	json_hex(j, "end", n->end);
	json_u64(j, "memory_bytes", n->memory);
	json_pool_counts(j, v, n->node);
	json_u64(j, "total_pages", n->hugepages);
	json_u64(j, "free_pages", n->free_pages);
	json_u64(j, "used_pages", n->used_pages);
	json_u64(j, "prefix_pages", n->prefix_pages);
	json_u64(j, "free_runs", n->free_runs);
	json_u64(j, "largest_run_pages", n->largest_run);
	if (placed && n->free_runs)
		json_hex(j, "largest_run_pa", n->largest_pa);
	else
		json_null(j, "largest_run_pa");
	if (pieces)
		json_u64(j, "best_pieces", pieces);
	else
		json_null(j, "best_pieces");
	json_histogram(j, v, n);
	json_extents(j, n);
	json_obj_end(j);
}

static void print_json(const struct map_view *v)
{
	const struct hm_physmap *m = v->map;
	struct json j;

	json_begin(&j, stdout);
	json_u64(&j, "page_size_bytes", m->page_size);
	json_bool(&j, "placed", m->placed);
	json_bool(&j, "exact", m->exact);
	json_str(&j, "missing", m->missing[0] ? m->missing : NULL);
	json_u64(&j, "for_bytes", v->want);
	json_arr(&j, "prefixes");
	for (int i = 0; i < m->n_prefixes; i++)
		json_prefix(&j, m, i);
	json_arr_end(&j);
	json_arr(&j, "nodes");
	for (int i = 0; i < m->n_nodes; i++)
		if (map_node_shown(v, i))
			json_node(&j, v, i);
	json_arr_end(&j);
	json_end(&j);
}

/* ------------------------------------------------------------------ commands */

/* Read the system and the map; 0, or the exit code of a failure (said). */
static int gather(struct hm_ctx *ctx, const struct cli_opts *o, const char *cmd, uint64_t page_size,
		  const char *only, struct hm_sysinfo **si, struct hm_physmap **map)
{
	int rc = hm_sysinfo_read(ctx, NULL, si);

	if (rc < 0) {
		cli_error(cmd, "%s", hm_errmsg(ctx));
		return EXIT_FAIL;
	}
	rc = hm_opts_check(ctx, &o->lib, *si);
	if (rc < 0) {
		cli_error(cmd, "%s", hm_errmsg(ctx));
		return EXIT_USAGE;
	}
	rc = hm_physmap_read(ctx, *si, page_size, only, map);
	if (rc < 0) {
		cli_error(cmd, "%s", hm_errmsg(ctx));
		return EXIT_FAIL;
	}
	return 0;
}

static int show(const struct map_view *v, const struct cli_opts *o, const char *cmd)
{
	if (o->svg_file && map_write_svg(v, o->svg_file) < 0)
		return EXIT_FAIL;
	if (o->flags & CLI_OPT_JSON) {
		print_json(v);
		return EXIT_OK;
	}
	if (draw_text(v, stdout) < 0) {
		cli_error(cmd, "out of memory drawing the picture");
		return EXIT_FAIL;
	}
	if (o->svg_file)
		printf("picture written to %s\n", o->svg_file);
	fflush(stdout);
	return EXIT_OK;
}

int cmd_map(struct hm_ctx *ctx, const struct cli_opts *o)
{
	struct hm_sysinfo *si = NULL;
	struct hm_physmap *map = NULL;
	struct map_view v = {.node = o->lib.node, .want = o->lib.mem ? o->lib.mem : HM_DEFAULT_MEM};
	int rc;

	rc = gather(ctx, o, "map", o->lib.page_size, o->lib.file_prefix, &si, &map);
	if (rc == 0) {
		v.si = si;
		v.map = map;
		v.title = "hugemem map";
		rc = show(&v, o, "map");
	}
	hm_physmap_free(map);
	hm_sysinfo_free(si);
	return rc;
}

void cli_map_layout(struct hm_ctx *ctx, const struct cli_opts *o)
{
	const struct hm_layout_info *in = hm_layout(ctx);
	struct hm_sysinfo *si = NULL;
	struct hm_physmap *map = NULL;
	const char *cmd = in && in->primary ? "init" : "attach";

	if (!in || (o->flags & CLI_OPT_JSON))
		return; /* JSON stays one object: the segments are in it */
	if (!in->hugepages) {
		printf("--map: no hugepages (--no-huge): nothing to draw\n");
		return;
	}
	/* this process against the pool: other prefixes' pages count as used */
	if (gather(ctx, o, cmd, in->page_size, in->file_prefix, &si, &map) == 0) {
		struct map_view v = {.si = si,
				     .map = map,
				     .node = -1,
				     .want = in->total_bytes,
				     .title = in->primary ? "hugemem init --map"
							  : "hugemem attach --map"};

		fputc('\n', stdout);
		if (draw_text(&v, stdout) < 0)
			cli_error(cmd, "out of memory drawing the picture");
		fflush(stdout);
	}
	hm_physmap_free(map);
	hm_sysinfo_free(si);
}
