/* Copied unchanged from shared/bench/pool_map_probe.c, the project's shared measuring
 * instruments (see bench/probes/README.md); only this comment was added. */
/* Pool map probe: the physical layout of the free 2 MiB hugepage pool, read from /proc/kpageflags
 * and /proc/kpagecount without mapping (or zeroing) a single page. Root only.
 * A hugetlb page's head PFN has KPF_HUGE (bit 17) and KPF_COMPOUND_HEAD (bit 15); a free one in
 * the pool has a map count of 0. Heads sit on 2 MiB boundaries, so one read per 512 PFNs does.
 * An upper bound: pages of page files nobody maps, and reserved-but-unfaulted pages, also count
 * 0, and 1 GiB heads pass the stride test; exact when "free" equals free_hugepages.
 * usage: pool_map_probe          prints: heads=<n> free=<n> free_runs=<n> largest_free_run_mb=<mb> */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

#define KPF_COMPOUND_HEAD 15
#define KPF_HUGE 17
#define STRIDE 512 /* 4 KiB PFNs per 2 MiB page */

int main(void)
{
	int flags = open("/proc/kpageflags", O_RDONLY), count = open("/proc/kpagecount", O_RDONLY);
	if (flags < 0 || count < 0) { perror("/proc/kpageflags"); return 1; }
	long heads = 0, free_pages = 0, runs = 0, run = 0, largest = 0;
	uint64_t prev = 0, f, c;
	for (uint64_t pfn = 0; pread(flags, &f, 8, pfn * 8) == 8; pfn += STRIDE) {
		if (!(f >> KPF_HUGE & 1) || !(f >> KPF_COMPOUND_HEAD & 1)) continue;
		heads++;
		if (pread(count, &c, 8, pfn * 8) != 8 || c) continue;
		free_pages++;
		if (runs && pfn == prev + STRIDE) run++;
		else { runs++; run = 1; }
		if (run > largest) largest = run;
		prev = pfn;
	}
	printf("heads=%ld free=%ld free_runs=%ld largest_free_run_mb=%ld\n", heads, free_pages, runs, largest * 2);
	return 0;
}
