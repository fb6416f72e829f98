/* A DPDK primary that holds its memory: rte_eal_init with the given EAL
 * arguments, print "ready" (flushed), then wait until standard input ends,
 * and clean up. Used to time DPDK secondaries (dpdk_eal_probe
 * --proc-type=secondary) against hugemem's, and by test/real_dpdk.t to start
 * a DPDK application beside a live hugemem prefix.
 * usage: dpdk_hold [EAL args...] < fifo */
#include <stdio.h>
#include <rte_eal.h>

int main(int argc, char **argv)
{
	char buf[64];

	if (rte_eal_init(argc, argv) < 0) {
		fprintf(stderr, "dpdk_hold: eal init failed\n");
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	while (fgets(buf, sizeof(buf), stdin))
		;
	rte_eal_cleanup();
	return 0;
}
