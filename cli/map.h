/* SPDX-License-Identifier: MIT */
/*
 * map.h — what the two halves of the picture share: cli/map.c (the command,
 * the terminal picture, JSON, init --map) and cli/map_svg.c (the SVG file).
 * Both draw the same model: the physical map of src/mapinfo.c, one strip per
 * node, each stretch of memory in one of the classes below.
 */
#ifndef HM_CLI_MAP_H
#define HM_CLI_MAP_H

#include "cli.h"
#include "hugemem.h"

#define MAP_BUCKETS 64 /* run-length histogram: [1], [2,3], [4,7], ... */

/* How a stretch of memory is drawn. */
enum map_class {
	MC_HOLE = 0,	   /* no memory */
	MC_OTHER = 1,	   /* memory that is no hugepage of this size */
	MC_FREE_LONG = 2,  /* a free run that alone holds the size asked (--for) */
	MC_FREE_SHORT = 3, /* a shorter free run */
	MC_USED = 4,	   /* hugepages someone else maps */
	MC_PREFIX = 5,	   /* hugepages of a hugemem prefix (or this process) */
	MC_COUNT
};

/* What one picture shows. */
struct map_view {
	const struct hm_sysinfo *si;
	const struct hm_physmap *map;
	int node;	   /* --node: the only node id shown; -1 = every node */
	uint64_t want;	   /* bytes: the size X of "fewest pieces for X" (--for) */
	const char *title; /* "hugemem map", "hugemem init --map" */
};

/* 1 when node index I of the map is shown. */
int map_node_shown(const struct map_view *v, int i);

/* The class of extent E. */
enum map_class map_extent_class(const struct map_view *v, const struct hm_phys_extent *e);

/* The stretch [*LO, *HI) of node N that holds its hugepages, when it is less
 * than half of the node's span (worth a zoomed second strip): 1, else 0. */
int map_zoom(const struct hm_phys_node *n, uint64_t *lo, uint64_t *hi);

/* Free runs of N by length: counts[b] = runs of 2^b .. 2^(b+1)-1 pages.
 * Returns the number of buckets up to the last one that is not empty. */
int map_histogram(const struct hm_phys_node *n, uint64_t page_size, uint64_t counts[MAP_BUCKETS]);

/* Bucket B of the histogram: its label ("1", "2-3", ...) into BUF, and its
 * class (free runs that short can hold --for, or not). */
void map_bucket_label(int b, char *buf, size_t len);
enum map_class map_bucket_class(const struct map_view *v, int b);

/* A short name of prefix I: "'hm' pid 1234", "this process ('hm')". */
void map_prefix_name(const struct hm_physmap *m, int i, char *buf, size_t len);

/* An approximate size, at most 3 significant digits: "307 MiB", "1.2 GiB". */
const char *map_approx(uint64_t bytes, char *buf, size_t len);

/* The line "fewest pieces ..." of node index I into BUF. */
void map_pieces_line(const struct map_view *v, int i, char *buf, size_t len);

/* Write the picture as a standalone SVG document to PATH. 0, or -errno with
 * a message on stderr. */
int map_write_svg(const struct map_view *v, const char *path);

#endif
