/* Copied unchanged from shared/bench/dpdk_eal_probe.c, the project's shared measuring
 * instruments (see bench/probes/README.md); only this comment was added. */
/* Anchor probe: time DPDK's rte_eal_init and measure the memory it hands out.
 * usage: eal_bench [EAL args...]
 * prints: init_ms=<ms> pages=<n> total_mb=<mb> dma_runs=<n> largest_dma_mb=<mb>
 * A "dma run" is a range that is contiguous in VA and in IOVA at once: the largest buffer
 * a device could be given in one piece. (rte_memseg_contig_walk checks VA only.) */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <rte_eal.h>
#include <rte_memory.h>

static size_t pages, total, runs, largest, cur;
static uintptr_t next_va;
static rte_iova_t next_iova;
static int seg_cb(const struct rte_memseg_list *msl, const struct rte_memseg *ms, void *arg)
{
	(void)msl; (void)arg;
	pages++; total += ms->len;
	if (runs && (uintptr_t)ms->addr == next_va && ms->iova == next_iova) {
		cur += ms->len;
	} else {
		runs++; cur = ms->len;
	}
	if (cur > largest) largest = cur;
	next_va = (uintptr_t)ms->addr + ms->len; next_iova = ms->iova + ms->len;
	return 0;
}
int main(int argc, char **argv)
{
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	if (rte_eal_init(argc, argv) < 0) { fprintf(stderr, "eal init failed\n"); return 1; }
	clock_gettime(CLOCK_MONOTONIC, &b);
	rte_memseg_walk(seg_cb, NULL);
	printf("init_ms=%.1f pages=%zu total_mb=%zu dma_runs=%zu largest_dma_mb=%zu iova_mode=%s\n",
	       (b.tv_sec - a.tv_sec) * 1e3 + (b.tv_nsec - a.tv_nsec) / 1e6, pages, total >> 20, runs, largest >> 20,
	       rte_eal_iova_mode() == RTE_IOVA_PA ? "pa" : "va");
	if (getenv("DUMP")) rte_dump_physmem_layout(stdout);
	rte_eal_cleanup();
	return 0;
}
