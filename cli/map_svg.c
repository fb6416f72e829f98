/* SPDX-License-Identifier: MIT */
/*
 * map_svg.c — `hugemem map --svg FILE`: the picture of cli/map.c as a
 * standalone SVG document a browser opens. Same content as the terminal: per
 * node a strip of the whole span (and a strip zoomed on the hugepages when
 * they sit in less than half of it), address ticks, the summary lines and the
 * run-length histogram; a legend at the end. Unlike the terminal, the strip
 * is exact: one rectangle per extent (a free rectangle is one free run), at
 * its true position and width (hugepage extents at least one pixel, pages
 * in use drawn over free ones, so that a lone page shows), each with a <title> giving what it is
 * and its addresses, shown on hover. Rectangles carry the class of what they draw (free-long,
 * free-short, used, prefix, other, hole) and strips the class "strip" (or "zoom") and data-node, so
 * scripts and tests can read the file.
 *
 * The body is written to a memory stream first: the document's height is
 * known only once every node is laid out.
 */
#include "map.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SVG_W	  1000.0
#define MARGIN	  16.0
#define STRIP_W	  (SVG_W - 2 * MARGIN)
#define STRIP_H	  28.0
#define LINE_H	  17.0
#define BAR_H	  12.0
#define MIN_HUGE  1.0 /* px: the narrowest hugepage rectangle */
#define N_TICKS	  5
#define N_PALETTE 6

struct svg {
	FILE *f;
	double y; /* top of what comes next */
	const struct map_view *v;
};

static const char *const class_names[MC_COUNT] = {
    [MC_HOLE] = "hole",		  [MC_OTHER] = "other",
    [MC_FREE_LONG] = "free-long", [MC_FREE_SHORT] = "free-short",
    [MC_USED] = "used",		  [MC_PREFIX] = "prefix",
};
static const char *const fills[MC_COUNT] = {
    [MC_HOLE] = "#ffffff",	 [MC_OTHER] = "#d9d9d9", [MC_FREE_LONG] = "#2e9d45",
    [MC_FREE_SHORT] = "#e0b43a", [MC_USED] = "#d04a3a",	 [MC_PREFIX] = "#3867d6",
};
static const char *const palette[N_PALETTE] = {"#3867d6", "#8e44ad", "#1f4e9c",
					       "#c2185b", "#00897b", "#5d4037"};
#define SELF_FILL "#00a8c6"

static void put_escaped(FILE *f, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&':
			fputs("&amp;", f);
			break;
		case '<':
			fputs("&lt;", f);
			break;
		case '>':
			fputs("&gt;", f);
			break;
		case '"':
			fputs("&quot;", f);
			break;
		default:
			if ((unsigned char)*s >= 0x20 || *s == '\t')
				fputc(*s, f);
		}
	}
}

/* One line of text at the current height; the height moves down a line. */
static void text_line(struct svg *s, const char *cls, const char *text)
{
	s->y += LINE_H;
	fprintf(s->f, "<text class=\"%s\" x=\"%.1f\" y=\"%.1f\">", cls, MARGIN, s->y - 4);
	put_escaped(s->f, text);
	fputs("</text>\n", s->f);
}

static const char *prefix_fill(const struct hm_physmap *m, int idx)
{
	int rank = 0;

	if (idx < 0 || m->prefixes[idx].self)
		return SELF_FILL;
	for (int i = 0; i < idx; i++)
		rank += !m->prefixes[i].self;
	return palette[rank % N_PALETTE];
}

static void extent_title(const struct map_view *v, const struct hm_phys_extent *e, char *buf,
			 size_t len)
{
	uint64_t pages = e->len / v->map->page_size;
	char size[32], who[160] = "";

	map_approx(e->len, size, sizeof(size));
	if (e->kind == HM_PHYS_PREFIX)
		map_prefix_name(v->map, e->prefix, who, sizeof(who));
	switch (e->kind) {
	case HM_PHYS_FREE:
		snprintf(buf, len, "free run: %llu pages (%s)", (unsigned long long)pages, size);
		break;
	case HM_PHYS_USED:
		snprintf(buf, len, "used by others: %llu pages (%s)", (unsigned long long)pages,
			 size);
		break;
	case HM_PHYS_PREFIX:
		snprintf(buf, len, "hugemem %s: %llu pages (%s)", who, (unsigned long long)pages,
			 size);
		break;
	default:
		snprintf(buf, len, "%s (%s)",
			 e->kind == HM_PHYS_OTHER ? "not hugepages" : "no memory", size);
	}
	snprintf(buf + strlen(buf), len - strlen(buf), ", 0x%" PRIx64 "-0x%" PRIx64, e->pa,
		 e->pa + e->len);
}

/* Extent E clipped to [LO, HI) as a rectangle of the strip at the current height. */
static void extent_rect(struct svg *s, const struct hm_phys_extent *e, uint64_t lo, uint64_t hi)
{
	uint64_t a = e->pa > lo ? e->pa : lo, b = e->pa + e->len < hi ? e->pa + e->len : hi;
	enum map_class cls = map_extent_class(s->v, e);
	double scale = STRIP_W / (double)(hi - lo), w = (double)(b - a) * scale;
	char title[320];

	if (b <= a)
		return;
	if (e->kind >= HM_PHYS_FREE && w < MIN_HUGE)
		w = MIN_HUGE;
	extent_title(s->v, e, title, sizeof(title));
	fprintf(s->f,
		"<rect class=\"%s\" x=\"%.3f\" y=\"%.1f\" width=\"%.3f\" height=\"%.1f\" "
		"fill=\"%s\"",
		class_names[cls], MARGIN + (double)(a - lo) * scale, s->y, w, STRIP_H,
		cls == MC_PREFIX ? prefix_fill(s->v->map, e->prefix) : fills[cls]);
	if (e->kind == HM_PHYS_PREFIX)
		fprintf(s->f, " data-prefix=\"%d\"", e->prefix);
	fputs("><title>", s->f);
	put_escaped(s->f, title);
	fputs("</title></rect>\n", s->f);
}

static void ticks(struct svg *s, uint64_t lo, uint64_t hi)
{
	static const char *const anchors[N_TICKS] = {"start", "middle", "middle", "middle", "end"};

	s->y += 14;
	for (int i = 0; i < N_TICKS; i++) {
		uint64_t at =
		    lo + (uint64_t)((unsigned __int128)(hi - lo) * (unsigned)i / (N_TICKS - 1));
		double x = MARGIN + STRIP_W * i / (N_TICKS - 1);

		fprintf(s->f,
			"<line class=\"tick\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>"
			"<text class=\"scale\" x=\"%.1f\" y=\"%.1f\" "
			"text-anchor=\"%s\">0x%llx</text>\n",
			x, s->y - 14, x, s->y - 10, x, s->y, anchors[i], (unsigned long long)at);
	}
	s->y += 6;
}

static void strip(struct svg *s, const struct hm_phys_node *n, const char *cls, uint64_t lo,
		  uint64_t hi)
{
	fprintf(s->f, "<g class=\"%s\" data-node=\"%d\">\n", cls, n->node);
	fprintf(s->f,
		"<rect class=\"frame\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
		"fill=\"none\" stroke=\"#888\" stroke-width=\"0.5\"/>\n",
		MARGIN, s->y, STRIP_W, STRIP_H);
	/* pages in use last: on top of the free ones their minimum width overlaps */
	for (int pass = 0; pass < 2; pass++)
		for (uint64_t e = 0; e < n->n_extents; e++)
			if (n->extents[e].pa < hi && n->extents[e].pa + n->extents[e].len > lo &&
			    (n->extents[e].kind >= HM_PHYS_USED) == pass)
				extent_rect(s, &n->extents[e], lo, hi);
	fputs("</g>\n", s->f);
	s->y += STRIP_H;
	ticks(s, lo, hi);
}

static void histogram(struct svg *s, const struct hm_phys_node *n)
{
	uint64_t counts[MAP_BUCKETS], most = 0;
	int top = map_histogram(n, s->v->map->page_size, counts);

	if (!top)
		return;
	text_line(s, "label", "free runs by length (pages):");
	for (int b = 0; b < top; b++)
		most = counts[b] > most ? counts[b] : most;
	fprintf(s->f, "<g class=\"histogram\" data-node=\"%d\">\n", n->node);
	for (int b = 0; b < top; b++) {
		double w = most ? 600.0 * (double)counts[b] / (double)most : 0;
		char label[48];

		map_bucket_label(b, label, sizeof(label));
		s->y += BAR_H + 3;
		fprintf(s->f,
			"<text class=\"scale\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%s</text>"
			"<rect class=\"bar\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
			"fill=\"%s\"><title>%llu runs of %s pages</title></rect>"
			"<text class=\"scale\" x=\"%.1f\" y=\"%.1f\">%llu</text>\n",
			MARGIN + 120, s->y - 2, label, MARGIN + 128, s->y - BAR_H, w, BAR_H,
			fills[map_bucket_class(s->v, b)], (unsigned long long)counts[b], label,
			MARGIN + 132 + w, s->y - 2, (unsigned long long)counts[b]);
	}
	fputs("</g>\n", s->f);
}

static void node_text(struct svg *s, int i)
{
	const struct hm_phys_node *n = &s->v->map->nodes[i];
	uint64_t ps = s->v->map->page_size;
	char line[320], a[32], b[32], size[32];

	hm_size_str(ps, size, sizeof(size));
	snprintf(line, sizeof(line),
		 "%s hugepages: %llu (%s): %llu free in %llu runs, %llu of hugemem prefixes, %llu "
		 "used by others",
		 size, (unsigned long long)n->hugepages,
		 map_approx(n->hugepages * ps, a, sizeof(a)), (unsigned long long)n->free_pages,
		 (unsigned long long)n->free_runs, (unsigned long long)n->prefix_pages,
		 (unsigned long long)n->used_pages);
	text_line(s, "label", line);
	if (n->free_runs) {
		snprintf(line, sizeof(line), "largest free run: %llu pages (%s) at 0x%llx",
			 (unsigned long long)n->largest_run,
			 map_approx(n->largest_run * ps, b, sizeof(b)),
			 (unsigned long long)n->largest_pa);
		text_line(s, "label", line);
	}
	map_pieces_line(s->v, i, line, sizeof(line));
	text_line(s, "label", line);
}

static void node(struct svg *s, int i)
{
	const struct hm_phys_node *n = &s->v->map->nodes[i];
	char line[200], mem[32], span[32];
	uint64_t lo = 0, hi = 0;

	fprintf(s->f, "<g class=\"node\" data-node=\"%d\">\n", n->node);
	snprintf(line, sizeof(line), "node %d: %s of memory, 0x%llx-0x%llx", n->node,
		 map_approx(n->memory, mem, sizeof(mem)), (unsigned long long)n->start,
		 (unsigned long long)n->end);
	text_line(s, "node-title", line);
	if (s->v->map->placed && n->end > n->start) {
		s->y += 4;
		strip(s, n, "strip", n->start, n->end);
		if (map_zoom(n, &lo, &hi)) {
			snprintf(line, sizeof(line),
				 "node %d zoomed on its hugepages, 0x%llx-0x%llx (%s):", n->node,
				 (unsigned long long)lo, (unsigned long long)hi,
				 map_approx(hi - lo, span, sizeof(span)));
			text_line(s, "label", line);
			s->y += 4;
			strip(s, n, "zoom", lo, hi);
		}
		node_text(s, i);
		histogram(s, n);
	}
	fputs("</g>\n", s->f);
	s->y += 12;
}

/* A prefix's segments in IOVA order (without root: no physical placement). */
static void prefix_layout(struct svg *s, int idx)
{
	const struct hm_phys_prefix *p = &s->v->map->prefixes[idx];
	uint64_t lo = UINT64_MAX, hi = 0;

	for (int k = 0; k < p->n_segments; k++) {
		lo = p->segments[k].iova < lo ? p->segments[k].iova : lo;
		if (p->segments[k].iova + p->segments[k].len > hi)
			hi = p->segments[k].iova + p->segments[k].len;
	}
	if (hi <= lo)
		return;
	s->y += 4;
	fprintf(s->f, "<g class=\"layout\" data-prefix=\"%d\">\n", idx);
	for (int k = 0; k < p->n_segments; k++) {
		double scale = STRIP_W / (double)(hi - lo);

		fprintf(
		    s->f,
		    "<rect class=\"prefix\" x=\"%.3f\" y=\"%.1f\" width=\"%.3f\" height=\"%.1f\" "
		    "fill=\"%s\"><title>segment %d: iova 0x%" PRIx64 "-0x%" PRIx64
		    ", va %p, node %d"
		    "</title></rect>\n",
		    MARGIN + (double)(p->segments[k].iova - lo) * scale, s->y,
		    (double)p->segments[k].len * scale, STRIP_H, prefix_fill(s->v->map, idx), k,
		    p->segments[k].iova, p->segments[k].iova + p->segments[k].len,
		    p->segments[k].va, p->segments[k].node);
	}
	fputs("</g>\n", s->f);
	s->y += STRIP_H;
	ticks(s, lo, hi);
}

static void prefixes(struct svg *s)
{
	const struct hm_physmap *m = s->v->map;
	char name[160], line[600], total[32];

	for (int i = 0; i < m->n_prefixes; i++) {
		const struct hm_phys_prefix *p = &m->prefixes[i];

		map_prefix_name(m, i, name, sizeof(name));
		snprintf(line, sizeof(line), "%s: %s in %d segment%s, IOVA = %s%s%s", name,
			 map_approx(p->total_bytes, total, sizeof(total)), p->n_segments,
			 p->n_segments == 1 ? "" : "s", cli_iova_mode_name(p->iova_mode, 1),
			 p->note[0] ? ": " : "", p->note);
		text_line(s, "label", line);
		if (!m->placed)
			prefix_layout(s, i);
	}
}

static void legend_entry(struct svg *s, double *x, const char *fill, const char *text)
{
	fprintf(
	    s->f,
	    "<rect x=\"%.1f\" y=\"%.1f\" width=\"14\" height=\"12\" fill=\"%s\" stroke=\"#888\" "
	    "stroke-width=\"0.5\"/><text class=\"scale\" x=\"%.1f\" y=\"%.1f\">",
	    *x, s->y - 12, fill, *x + 18, s->y - 2);
	put_escaped(s->f, text);
	fputs("</text>\n", s->f);
	*x += 18 + 6.5 * (double)strlen(text) + 16;
	if (*x > SVG_W - 200) {
		*x = MARGIN;
		s->y += LINE_H;
	}
}

static void legend(struct svg *s)
{
	const struct hm_physmap *m = s->v->map;
	double x = MARGIN;
	char text[160], size[32];

	s->y += LINE_H;
	fputs("<g class=\"legend\">\n", s->f);
	if (m->placed) {
		hm_size_str(s->v->want, size, sizeof(size));
		snprintf(text, sizeof(text), "free run >= %s", size);
		legend_entry(s, &x, fills[MC_FREE_LONG], text);
		legend_entry(s, &x, fills[MC_FREE_SHORT], "shorter free run");
		legend_entry(s, &x, fills[MC_USED], "used by others");
		legend_entry(s, &x, fills[MC_OTHER], "not hugepages");
		legend_entry(s, &x, fills[MC_HOLE], "no memory");
	}
	for (int i = 0; i < m->n_prefixes; i++) {
		map_prefix_name(m, i, text, sizeof(text));
		legend_entry(s, &x, prefix_fill(m, i), text);
	}
	fputs("</g>\n", s->f);
	s->y += 8;
}

static void body(struct svg *s)
{
	const struct hm_physmap *m = s->v->map;
	char line[700], size[32];

	hm_size_str(m->page_size, size, sizeof(size));
	snprintf(line, sizeof(line), "%s: %s pages%s", s->v->title, size,
		 !m->placed ? ""
		 : m->exact ? ", exact"
			    : ", an upper bound (reserved pages and unmapped page files count as "
			      "free)");
	text_line(s, "heading", line);
	if (m->missing[0]) {
		snprintf(line, sizeof(line), "not known: %s", m->missing);
		text_line(s, "missing", line);
	}
	s->y += 6;
	for (int i = 0; i < m->n_nodes; i++)
		if (map_node_shown(s->v, i))
			node(s, i);
	prefixes(s);
	legend(s);
}

static const char style[] =
    "<style>text{font-family:sans-serif;font-size:12px;fill:#222}"
    ".heading{font-size:15px;font-weight:bold}.node-title{font-size:13px;font-weight:bold}"
    ".missing{fill:#a33}.scale{font-size:10px;fill:#555}.tick{stroke:#888;stroke-width:0.5}"
    "rect:hover{stroke:#000;stroke-width:1}</style>\n";

/* Why the output PATH, open at FD (or not opened: FD < 0), is refused: a
 * planted link in /tmp would make root write wherever it points; a FIFO, a
 * device, a file with other hard links (a planted link to another file) or
 * another user's file is not ours to empty. NULL when it is not refused. */
static const char *refused(int fd, const char *path)
{
	struct stat st;

	if (fd < 0) /* a link in a sticky directory may say EACCES, not ELOOP */
		return lstat(path, &st) == 0 && S_ISLNK(st.st_mode)
			   ? "is a symbolic link: not writing through it (give the file itself)"
			   : NULL;
	if (fstat(fd, &st) < 0)
		return NULL;
	if (!S_ISREG(st.st_mode))
		return "is not a regular file: not writing to it";
	if (st.st_nlink > 1)
		return "has other hard links: not overwriting it (remove it or give another file)";
	if (st.st_uid != geteuid())
		return "belongs to another user: not overwriting it (remove it or give another "
		       "file)";
	return NULL;
}

/* PATH created, or this user's own plain file emptied, without following a
 * link; NULL with the message said. */
static FILE *open_output(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0644);
	int err = errno;
	const char *why = refused(fd, path);
	FILE *out = NULL;

	if (!why && fd >= 0 && ftruncate(fd, 0) == 0)
		out = fdopen(fd, "w");
	if (out)
		return out;
	if (fd >= 0 && !why)
		err = errno;
	if (why)
		cli_error("map", "--svg %s %s", path, why);
	else
		cli_error("map", "--svg %s: %s", path, strerror(err));
	if (fd >= 0)
		close(fd);
	return NULL;
}

int map_write_svg(const struct map_view *v, const char *path)
{
	struct svg s = {.v = v};
	char *buf = NULL;
	size_t len = 0;
	FILE *out;
	int err = 0;

	s.f = open_memstream(&buf, &len);
	if (!s.f) {
		cli_error("map", "--svg: out of memory");
		return -ENOMEM;
	}
	body(&s);
	fclose(s.f);
	out = open_output(path);
	if (out) {
		fprintf(out,
			"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg "
			"xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
			"viewBox=\"0 0 %.0f %.0f\">\n<title>%s</title>\n%s"
			"<rect width=\"100%%\" height=\"100%%\" fill=\"#fff\"/>\n",
			SVG_W, s.y, SVG_W, s.y, v->title, style);
		fwrite(buf, 1, len, out);
		fputs("</svg>\n", out);
		err = ferror(out) ? EIO : 0;
		if (fclose(out) != 0 && !err)
			err = errno;
	} else {
		err = EPERM; /* open_output said why */
	}
	free(buf);
	if (err && out)
		cli_error("map", "--svg %s: %s", path, strerror(err));
	return -err;
}
