/* SPDX-License-Identifier: MIT */
/*
 * heap_test.c — the adapter under DPDK 22.11's own packet I/O (run by
 * test/real_dpdk_heap.t, which reads the lines it prints).
 *
 *   heap_test PREFIX EAL-ARGS...
 *
 * The primary maps hugemem memory (prefix PREFIX), starts DPDK's EAL, gives
 * two chunks of the memory to DPDK heap "hmheap", creates an mbuf mempool and
 * a ring on that heap's socket, a net_ring port over the ring, sends a burst
 * through the port and receives it back, and checks every mbuf of the pool:
 * its buf_iova against hm_virt2iova, against rte_mem_virt2iova, and (IOVA =
 * PA) against /proc/self/pagemap. It then runs itself as a DPDK and hugemem
 * secondary (--proc-type=secondary, hm_attach), which attaches the heap,
 * looks the pool up, checks the same and sends a burst of its own. Last:
 * memseg lists filled until the adapter refuses a chunk (-ENOSPC, no zone
 * left behind), and everything torn down.
 *
 *   heap_test --grow PREFIX EAL-ARGS...
 *
 * instead: a primary on hugemem -m 8 --max-mem 64M, a chunk hugemem must
 * grow for, the same pool, port and checks on it, then what trims do while
 * DPDK holds the chunk and after hmd_heap_shrink took it out (grow_run).
 * Test code: prints, exits 1 on the first failure.
 */
#include "hugemem_dpdk.h"

#include <hugemem.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_ring.h>

#define HEAP   "hmheap"
#define POOL   "hm_mbufs"
#define RING   "hm_loop"
#define PORT   "hmloop"
#define ETHDEV "net_ring_" PORT /* rte_eth_from_rings names its device so */
#define NBUF   511
#define BURST  32

static const char *who = "primary";

static void die(const char *what, const char *why)
{
	printf("%s: FAIL %s: %s\n", who, what, why);
	fflush(stdout);
	exit(1);
}

/* The physical address of VA from /proc/self/pagemap (0: not present). */
static uint64_t pagemap_pa(int fd, const void *va)
{
	uint64_t entry, pfn, v = (uint64_t)(uintptr_t)va, psz = (uint64_t)getpagesize();

	if (pread(fd, &entry, sizeof(entry), (off_t)(v / psz * 8)) != sizeof(entry))
		return 0;
	if (!hm_pagemap_decode(entry, &pfn))
		return 0;
	return pfn * psz + v % psz;
}

struct iova_check {
	struct hm_ctx *hm;
	int pagemap_fd; /* -1: IOVA is not PA */
	unsigned mbufs, hm_ok, dpdk_ok, pa_ok, hm_memory;
};

/* rte_mempool_obj_iter callback: one mbuf's buf_iova against every source. */
static void check_mbuf(struct rte_mempool *mp, void *arg, void *obj, unsigned idx)
{
	struct iova_check *c = arg;
	struct rte_mbuf *m = obj;
	uint64_t hm_iova = hm_virt2iova(c->hm, m->buf_addr);

	(void)mp;
	(void)idx;
	c->mbufs++;
	c->hm_memory += hm_iova != HM_BAD_IOVA;
	c->hm_ok += hm_iova == m->buf_iova;
	c->dpdk_ok += rte_mem_virt2iova(m->buf_addr) == m->buf_iova;
	if (c->pagemap_fd >= 0)
		c->pa_ok += pagemap_pa(c->pagemap_fd, m->buf_addr) == m->buf_iova;
}

static void check_pool(struct hm_ctx *hm, struct rte_mempool *mp)
{
	struct iova_check c = {.hm = hm, .pagemap_fd = -1};
	const char *mode = "va";

	if (hm_layout(hm)->iova_mode == HM_IOVA_PA) {
		mode = "pa";
		c.pagemap_fd = open("/proc/self/pagemap", O_RDONLY);
		if (c.pagemap_fd < 0)
			die("open /proc/self/pagemap", strerror(errno));
	}
	rte_mempool_obj_iter(mp, check_mbuf, &c);
	if (c.pagemap_fd >= 0)
		close(c.pagemap_fd);
	printf("%s: mbufs=%u hugemem_memory=%u iova_hugemem=%u iova_dpdk=%u iova_pagemap=%u "
	       "mode=%s\n",
	       who, c.mbufs, c.hm_memory, c.hm_ok, c.dpdk_ok, c.pa_ok, mode);
}

/* A burst through PORT and back: TX puts the mbufs on the ring, RX takes them. */
static void loop_burst(uint16_t port, struct rte_mempool *mp, uint8_t tag)
{
	struct rte_mbuf *tx[BURST], *rx[BURST];
	unsigned i, same = 0;
	uint16_t sent, got;

	if (rte_pktmbuf_alloc_bulk(mp, tx, BURST) != 0)
		die("rte_pktmbuf_alloc_bulk", "pool empty");
	for (i = 0; i < BURST; i++) {
		char *p = rte_pktmbuf_append(tx[i], 64);
		memset(p, tag + (int)i, 64);
	}
	sent = rte_eth_tx_burst(port, 0, tx, BURST);
	got = rte_eth_rx_burst(port, 0, rx, BURST);
	for (i = 0; i < got; i++) {
		const uint8_t *p = rte_pktmbuf_mtod(rx[i], const uint8_t *);
		same += rx[i]->data_len == 64 && p[0] == (uint8_t)(tag + i) && p[63] == p[0];
		rte_pktmbuf_free(rx[i]);
	}
	for (i = sent; i < BURST; i++)
		rte_pktmbuf_free(tx[i]);
	printf("%s: sent=%u received=%u intact=%u\n", who, sent, got, same);
}

static uint16_t make_port(int socket, struct rte_mempool *mp)
{
	struct rte_eth_conf conf;
	struct rte_ring *r;
	int port;

	r = rte_ring_create(RING, 1024, socket, RING_F_SP_ENQ | RING_F_SC_DEQ);
	if (!r)
		die("rte_ring_create", rte_strerror(rte_errno));
	port = rte_eth_from_rings(PORT, &r, 1, &r, 1, (unsigned)socket);
	if (port < 0)
		die("rte_eth_from_rings", rte_strerror(rte_errno));
	memset(&conf, 0, sizeof(conf));
	if (rte_eth_dev_configure((uint16_t)port, 1, 1, &conf) < 0 ||
	    rte_eth_rx_queue_setup((uint16_t)port, 0, 128, (unsigned)socket, NULL, mp) < 0 ||
	    rte_eth_tx_queue_setup((uint16_t)port, 0, 128, (unsigned)socket, NULL) < 0 ||
	    rte_eth_dev_start((uint16_t)port) < 0)
		die("net_ring port set-up", rte_strerror(rte_errno));
	printf("%s: port=%d ring_socket=%d\n", who, port,
	       rte_ring_lookup(RING)->memzone->socket_id);
	return (uint16_t)port;
}

static struct hm_ctx *hugemem_up(const char *prefix, int secondary)
{
	struct hm_ctx *hm;
	struct hm_opts o;
	int rc;

	if (hm_ctx_new(&hm) < 0)
		die("hm_ctx_new", "no memory");
	hm_opts_init(&o);
	o.file_prefix = prefix;
	o.mem = 32ULL << 20;
	o.contig = HM_CONTIG_BEST;
	rc = secondary ? hm_attach(hm, &o) : hm_init(hm, &o);
	if (rc < 0)
		die(secondary ? "hm_attach" : "hm_init", hm_errmsg(hm));
	return hm;
}

static void eal_up(int argc, char **argv)
{
	if (rte_eal_init(argc, argv) < 0)
		die("rte_eal_init", rte_strerror(rte_errno));
}

/* The secondary: its own EAL (--proc-type=secondary) and hugemem attach. */
static int secondary(const char *prefix, int argc, char **argv)
{
	struct hmd_heap *h;
	struct rte_mempool *mp;
	struct hm_ctx *hm;
	uint16_t port;
	uint64_t bytes;
	int n;

	who = "secondary";
	hm = hugemem_up(prefix, 1);
	eal_up(argc, argv);
	if (hmd_heap_new(hm, &h) < 0 || hmd_heap_attach(h, HEAP) < 0)
		die("hmd_heap_attach", hmd_errmsg(h));
	n = hmd_heap_chunks(h, &bytes);
	printf("%s: attached chunks=%d bytes=%" PRIu64 " socket=%d\n", who, n, bytes,
	       hmd_heap_socket(h));
	mp = rte_mempool_lookup(POOL);
	if (!mp)
		die("rte_mempool_lookup", rte_strerror(rte_errno));
	check_pool(hm, mp);
	if (rte_eth_dev_get_port_by_name(ETHDEV, &port) != 0)
		die("rte_eth_dev_get_port_by_name", ETHDEV);
	loop_burst(port, mp, 0x40);
	if (hmd_heap_destroy(h) < 0)
		die("hmd_heap_destroy (detach)", hmd_errmsg(h));
	hmd_heap_free(h);
	rte_eal_cleanup();
	hm_fini(hm);
	hm_ctx_free(hm);
	printf("%s: done\n", who);
	return 0;
}

/* Run this program as a secondary: the same EAL arguments plus
 * --proc-type=secondary. Returns its exit status. */
static int run_secondary(const char *prefix, int argc, char **argv)
{
	char **av = calloc((size_t)argc + 4, sizeof(*av));
	pid_t pid;
	int i, st;

	av[0] = "heap_test";
	av[1] = "--secondary";
	av[2] = (char *)prefix;
	for (i = 1; i < argc; i++)
		av[i + 2] = argv[i];
	av[argc + 2] = "--proc-type=secondary";
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		execv("/proc/self/exe", av);
		_exit(127);
	}
	free(av);
	if (pid < 0 || waitpid(pid, &st, 0) < 0)
		return 1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Memseg lists taken by 4 KiB chunks of anonymous memory in a heap of their
 * own, until ONE is left: then a first grow works, a second is refused with
 * -ENOSPC before hugemem gives a zone. */
static void check_enospc(struct hm_ctx *hm, struct hmd_heap *h)
{
	int before = hmd_heap_slots_left(), n = 0, rc1, rc2;
	long psz = getpagesize();
	uint64_t added = 0;
	char *fill;

	if (rte_malloc_heap_create("hmfill") < 0)
		die("rte_malloc_heap_create hmfill", rte_strerror(rte_errno));
	fill = mmap(NULL, (size_t)psz * (size_t)before, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (fill == MAP_FAILED)
		die("mmap", strerror(errno));
	while (hmd_heap_slots_left() > 1 &&
	       rte_malloc_heap_memory_add("hmfill", fill + n * psz, (size_t)psz, NULL, 0,
					  (size_t)psz) == 0)
		n++;
	rc1 = hmd_heap_grow_max(h, HM_SOCKET_ANY, &added);
	rc2 = hmd_heap_grow(h, 2 << 20, HM_SOCKET_ANY);
	printf("primary: slots_before=%d filled=%d grow_last=%d max_chunk=%" PRIu64
	       " grow_past=%d slots_left=%d zone_left=%d\n",
	       before, n, rc1, added, rc2, hmd_heap_slots_left(),
	       hm_memzone_lookup(hm, HMD_ZONE_PREFIX HEAP ".3", NULL) == 0);
	printf("primary: enospc_msg=%s\n", hmd_errmsg(h));
	while (n-- > 0)
		rte_malloc_heap_memory_remove("hmfill", fill + n * psz, (size_t)psz);
	rte_malloc_heap_destroy("hmfill");
	munmap(fill, (size_t)psz * (size_t)before);
}

static struct hmd_heap *heap_up(struct hm_ctx *hm)
{
	int before = hmd_heap_slots_left(), n;
	struct hmd_heap *h;
	uint64_t bytes;

	if (hmd_heap_new(hm, &h) < 0 || hmd_heap_create(h, HEAP) < 0)
		die("hmd_heap_create", hmd_errmsg(h));
	if (hmd_heap_grow(h, 3 << 20, HM_SOCKET_ANY) < 0) /* two pages: rounded up */
		die("hmd_heap_grow", hmd_errmsg(h));
	if (hmd_heap_grow(h, 8 << 20, HM_SOCKET_ANY) < 0)
		die("hmd_heap_grow", hmd_errmsg(h));
	n = hmd_heap_chunks(h, &bytes);
	printf("primary: chunks=%d bytes=%" PRIu64 " slots_before=%d slots_after=%d socket=%d\n", n,
	       bytes, before, hmd_heap_slots_left(), hmd_heap_socket(h));
	return h;
}

static void teardown(struct hmd_heap *h, uint16_t port, struct rte_mempool *mp)
{
	int rc;

	rc = hmd_heap_destroy(h);
	printf("primary: destroy_busy=%d\n", rc);
	rte_eth_dev_stop(port);
	rte_eth_dev_close(port);
	rte_ring_free(rte_ring_lookup(RING));
	rte_mempool_free(mp);
	rc = hmd_heap_destroy(h);
	printf("primary: destroy=%d %s\n", rc, hmd_errmsg(h));
	hmd_heap_free(h);
}

static int count_one(const struct hm_memzone *mz, void *arg)
{
	(void)mz;
	(*(int *)arg)++;
	return 0;
}

/* hugemem zones left (hmd_heap_destroy gives every chunk's zone back). */
static int count_zones(struct hm_ctx *hm)
{
	int n = 0;

	hm_memzone_walk(hm, count_one, &n);
	return n;
}

/* Free pages of hugemem's page size in the kernel's pool (-1: unreadable). */
static long pool_free(struct hm_ctx *hm)
{
	char path[128];
	long n = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/kernel/mm/hugepages/hugepages-%llukB/free_hugepages",
		 (unsigned long long)(hm_layout(hm)->page_size >> 10));
	f = fopen(path, "r");
	if (f) {
		if (fscanf(f, "%ld", &n) != 1)
			n = -1;
		fclose(f);
	}
	return n;
}

/* hm_mem_trim, printed as LABEL: units, bytes freed, pages the pool got back. */
static void trim(struct hm_ctx *hm, struct hmd_heap *h, const char *label)
{
	uint64_t freed = 0;
	long before = pool_free(hm);
	int n = hm_mem_trim(hm, &freed);

	printf("%s: %s=%d freed=%" PRIu64 " pool_back=%ld refused=%lu %s\n", who, label, n, freed,
	       pool_free(hm) - before, hmd_heap_refused(h), n < 0 ? hm_errmsg(hm) : "");
}

/* The chunk's zone freed behind the adapter's back: hugemem's heap now sees
 * a free unit, the adapter's callback must refuse its FREE, the mbufs on it
 * stay usable; then the zone is taken again (where it was). */
static void trim_behind_back(struct hm_ctx *hm, struct hmd_heap *h, uint16_t port,
			     struct rte_mempool *mp)
{
	const char *zn = HMD_ZONE_PREFIX HEAP ".0";
	struct hm_memzone mz, again;

	if (hm_memzone_lookup(hm, zn, &mz) < 0 || hm_memzone_free(hm, zn) < 0)
		die("hm_memzone_free", hm_errmsg(hm));
	who = "refused";
	trim(hm, h, "trim");
	loop_burst(port, mp, 0x60);
	check_pool(hm, mp);
	if (hm_memzone_reserve(hm, zn, mz.len, HM_SOCKET_ANY, HM_MZ_IOVA_CONTIG,
			       hm_layout(hm)->page_size, &again) < 0)
		die("hm_memzone_reserve again", hm_errmsg(hm));
	printf("refused: zone_again same_va=%d\n", again.va == mz.va);
	who = "grow";
}

static struct hm_ctx *hugemem_growing(const char *prefix)
{
	struct hm_order_result ord;
	struct hm_ctx *hm;
	struct hm_opts o;

	if (hm_ctx_new(&hm) < 0)
		die("hm_ctx_new", "no memory");
	/* IOVA = PA: a grown unit must be physically contiguous, which a pool
	 * other runs left scattered may not have (as grow_real_test does). */
	if (hm_pool_order(hm, 0, -1, &ord) < 0)
		die("hm_pool_order", hm_errmsg(hm));
	hm_opts_init(&o);
	o.file_prefix = prefix;
	o.mem = 8ULL << 20;
	o.max_mem = 64ULL << 20;
	if (hm_init(hm, &o) < 0)
		die("hm_init --max-mem", hm_errmsg(hm));
	return hm;
}

/* Growth (hugemem -m 8 --max-mem 64M, a primary only: hugemem refuses
 * secondaries of a growing primary for now). A 24 MiB chunk hugemem must
 * grow for; an mbuf pool, a ring and a net_ring port on it, checked as
 * above; trims while DPDK holds the chunk give nothing back; after the
 * pool, ring and port are gone, hmd_heap_shrink and hm_mem_trim give the
 * grown memory back to the kernel's pool. */
static int grow_run(const char *prefix, int argc, char **argv)
{
	struct hm_ctx *hm = hugemem_growing(prefix);
	struct rte_mempool *mp;
	struct hmd_heap *h;
	uint64_t bytes = 0;
	uint16_t port;
	long before;
	int rc;

	who = "grow";
	eal_up(argc, argv);
	if (hmd_heap_new(hm, &h) < 0 || hmd_heap_create(h, HEAP) < 0)
		die("hmd_heap_create", hmd_errmsg(h));
	before = pool_free(hm);
	rc = hmd_heap_grow(h, 24 << 20, HM_SOCKET_ANY);
	printf("grow: rc=%d grown=%" PRIu64 " pool_taken=%ld %s\n", rc, hmd_heap_grown(h),
	       before - pool_free(hm), hmd_errmsg(h));
	mp = rte_pktmbuf_pool_create(POOL, NBUF, 32, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
				     hmd_heap_socket(h));
	if (!mp)
		die("rte_pktmbuf_pool_create", rte_strerror(rte_errno));
	port = make_port(hmd_heap_socket(h), mp);
	loop_burst(port, mp, 0x20);
	check_pool(hm, mp);
	trim(hm, h, "trim_live");
	rc = hmd_heap_shrink(h, &bytes);
	printf("grow: shrink_busy=%d bytes=%" PRIu64 "\n", rc, bytes);
	trim_behind_back(hm, h, port, mp);
	rte_eth_dev_stop(port);
	rte_eth_dev_close(port);
	rte_ring_free(rte_ring_lookup(RING));
	rte_mempool_free(mp);
	rc = hmd_heap_shrink(h, &bytes);
	printf("grow: shrink=%d bytes=%" PRIu64 " chunks_left=%d %s\n", rc, bytes,
	       hmd_heap_chunks(h, NULL), hmd_errmsg(h));
	trim(hm, h, "trim_end");
	printf("grow: hm_heap_check=%d zones_left=%d\n", hm_heap_check(hm), count_zones(hm));
	printf("grow: destroy=%d\n", hmd_heap_destroy(h));
	hmd_heap_free(h);
	rte_eal_cleanup();
	printf("grow: done hm_fini=%d\n", hm_fini(hm));
	hm_ctx_free(hm);
	return 0;
}

int main(int argc, char **argv)
{
	struct rte_mempool *mp;
	struct hmd_heap *h;
	struct hm_ctx *hm;
	uint16_t port;
	int socket, rc;

	if (argc > 2 && strcmp(argv[1], "--secondary") == 0)
		return secondary(argv[2], argc - 2, argv + 2);
	if (argc > 2 && strcmp(argv[1], "--grow") == 0)
		return grow_run(argv[2], argc - 2, argv + 2);
	if (argc < 2)
		die("usage", "heap_test PREFIX EAL-ARGS...");
	hm = hugemem_up(argv[1], 0);
	eal_up(argc - 1, argv + 1);
	h = heap_up(hm);
	socket = hmd_heap_socket(h);
	mp = rte_pktmbuf_pool_create(POOL, NBUF, 32, 0, RTE_MBUF_DEFAULT_BUF_SIZE, socket);
	if (!mp)
		die("rte_pktmbuf_pool_create", rte_strerror(rte_errno));
	port = make_port(socket, mp);
	loop_burst(port, mp, 0x10);
	check_pool(hm, mp);
	/* DPDK wrote its element headers in the zones only: hugemem's heap is whole. */
	printf("primary: hm_heap_check=%d\n", hm_heap_check(hm));
	rc = run_secondary(argv[1], argc - 1, argv + 1);
	printf("primary: secondary_exit=%d\n", rc);
	check_enospc(hm, h);
	teardown(h, port, mp);
	rte_eal_cleanup();
	printf("primary: hm_heap_check_end=%d zones_left=%d\n", hm_heap_check(hm), count_zones(hm));
	rc = hm_fini(hm);
	hm_ctx_free(hm);
	printf("primary: done hm_fini=%d\n", rc);
	return 0;
}
