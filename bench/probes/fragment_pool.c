/* Copied unchanged from shared/bench/fragment_pool.c, the project's shared measuring
 * instruments (see bench/probes/README.md); only this comment was added. */
/* Bench tool: build a physically fragmented 2 MiB hugepage pool, the way a long-running host's pool looks.
 * It holds most free memory in 4 KiB pages, gives back scattered 2 MiB chunks, reserves the pool into
 * those holes, then exits (the holder's memory returns to the kernel; the pool stays fragmented).
 * usage: fragment_pool PAGES [SEED]    (root; the 2 MiB pool must have no pages in use)
 * prints: reserved=<pages> */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define CHUNK (2UL << 20)
static const char *nr = "/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages";

static long read_long(const char *path, const char *key)
{
	char line[256]; long v = -1; FILE *f = fopen(path, "r");
	if (!f) { perror(path); exit(1); }
	while (fgets(line, sizeof line, f))
		if (!key) { v = atol(line); break; }
		else if (!strncmp(line, key, strlen(key))) { v = atol(line + strlen(key)); break; }
	fclose(f);
	return v;
}
static void write_long(const char *path, long v)
{
	FILE *f = fopen(path, "w");
	if (!f || fprintf(f, "%ld\n", v) < 0 || fclose(f)) { perror(path); exit(1); }
}
int main(int argc, char **argv)
{
	if (argc < 2) { fprintf(stderr, "usage: fragment_pool PAGES [SEED]\n"); return 2; }
	long pages = atol(argv[1]);
	srand(argc > 2 ? atoi(argv[2]) : 1);
	write_long(nr, 0);
	long avail_kb = read_long("/proc/meminfo", "MemAvailable:");
	long hold = avail_kb / 2048 - 256;             /* leave ~512 MiB for the system */
	long give = pages + pages / 4;                  /* chunks handed back for the pool */
	if (hold <= give) { fprintf(stderr, "not enough memory to fragment %ld pages\n", pages); return 1; }
	size_t len = hold * CHUNK;
	char *raw = mmap(NULL, len + CHUNK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (raw == MAP_FAILED) { perror("mmap"); return 1; }
	char *b = (char *)(((unsigned long)raw + CHUNK - 1) & ~(CHUNK - 1));
	madvise(b, len, MADV_NOHUGEPAGE);
	memset(b, 1, len);
	char *freed = calloc(hold, 1);
	for (long n = 0; n < give;) {
		long i = rand() % hold;
		if (freed[i]) continue;
		madvise(b + i * CHUNK, CHUNK, MADV_DONTNEED);
		freed[i] = 1; n++;
	}
	write_long(nr, pages);
	printf("reserved=%ld\n", read_long(nr, NULL));
	return 0;
}
