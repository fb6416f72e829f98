/* SPDX-License-Identifier: MIT */
/*
 * dpdk_heap.c — a DPDK application whose packet buffers are hugemem memory
 * (adapters/dpdk/README.md):
 *
 *   1. hugemem maps the memory (hm_init, prefix "dpdk_heap");
 *   2. DPDK starts (rte_eal_init with the arguments given here);
 *   3. the adapter gives 8 MiB of it to a DPDK heap "hugemem" — a hugemem zone
 *      handed to rte_malloc_heap_memory_add with its pages' IOVAs;
 *   4. an mbuf pool is made on that heap's socket id, as on any NUMA socket,
 *      and one mbuf's IOVA is shown as DPDK and hugemem see it;
 *   5. everything is given back.
 *
 * Built by examples/Makefile when pkg-config finds libdpdk, with the adapter's
 * source (adapters/dpdk/hugemem_dpdk.c) compiled in. Run as root with a
 * hugepage pool and a hugetlbfs mount (DPDK keeps a few pages of its own):
 *
 *   dpdk_heap -l 0 --no-pci --file-prefix dpdk_heap_eal
 */
#include <hugemem.h>
#include <hugemem_dpdk.h>

#include <inttypes.h>
#include <stdio.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_mbuf.h>

static int run(struct hm_ctx *hm, struct hmd_heap *h)
{
	struct rte_mempool *mp;
	struct rte_mbuf *m;

	if (hmd_heap_create(h, "hugemem") < 0 || hmd_heap_grow(h, 8 << 20, HM_SOCKET_ANY) < 0) {
		fprintf(stderr, "dpdk_heap: %s\n", hmd_errmsg(h));
		return 1;
	}
	mp = rte_pktmbuf_pool_create("mbufs", 1023, 32, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
				     hmd_heap_socket(h));
	if (!mp) {
		fprintf(stderr, "dpdk_heap: mbuf pool: %s\n", rte_strerror(rte_errno));
		hmd_heap_destroy(h);
		return 1;
	}
	m = rte_pktmbuf_alloc(mp);
	printf("mbuf %p: buf_iova 0x%" PRIx64 ", hugemem says 0x%" PRIx64 " (%s)\n", m->buf_addr,
	       (uint64_t)m->buf_iova, hm_virt2iova(hm, m->buf_addr),
	       hm_layout(hm)->iova_mode == HM_IOVA_PA ? "IOVA = PA" : "IOVA = VA");
	rte_pktmbuf_free(m);
	rte_mempool_free(mp);
	if (hmd_heap_destroy(h) < 0) {
		fprintf(stderr, "dpdk_heap: %s\n", hmd_errmsg(h));
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct hmd_heap *h = NULL;
	struct hm_ctx *hm;
	struct hm_opts o;
	int rc = 1;

	if (hm_ctx_new(&hm) < 0)
		return 1;
	hm_opts_init(&o);
	o.file_prefix = "dpdk_heap";
	o.mem = 32 << 20;
	if (hm_init(hm, &o) < 0) {
		fprintf(stderr, "dpdk_heap: hm_init: %s\n", hm_errmsg(hm));
		hm_ctx_free(hm);
		return 1;
	}
	if (rte_eal_init(argc, argv) < 0)
		fprintf(stderr, "dpdk_heap: rte_eal_init: %s\n", rte_strerror(rte_errno));
	else if (hmd_heap_new(hm, &h) == 0)
		rc = run(hm, h);
	hmd_heap_free(h);
	rte_eal_cleanup();
	hm_fini(hm);
	hm_ctx_free(hm);
	if (rc == 0)
		printf("dpdk_heap: done\n");
	return rc;
}
