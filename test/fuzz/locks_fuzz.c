/* SPDX-License-Identifier: MIT */
/*
 * locks_fuzz.c — /proc/locks text (hmi_parse_proc_locks_all and
 * hmi_parse_proc_locks: who holds a lock on a page file, so that clear never
 * removes a live one).
 *
 * The inode looked for is fixed, fe:01:408224 (major fe, minor 01, inode
 * 408224: hex, hex, decimal as the kernel prints them); the seed corpus's
 * lines name it and others.
 *
 * Properties, for every input:
 *  - either -EINVAL for both functions (same text, same verdict), or a count
 *    no larger than the room given, every pid positive or -1 ("a holder that
 *    cannot be named");
 *  - with room for one pid the count is min(count, 1) and the pid the same
 *    first one;
 *  - hmi_parse_proc_locks reports the first positive holder, else -1 when
 *    there are holders, else 0.
 */
#include "fuzz.h"
#include "sys/sysinfo.h"

#define MAJ 0xfe
#define MIN 0x01
#define INO 408224ULL

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_text(data, size);
	pid_t pids[64], one = 0, holder = 12345, want = 0;
	int n = hmi_parse_proc_locks_all(text, MAJ, MIN, INO, pids, 64);
	int n1 = hmi_parse_proc_locks_all(text, MAJ, MIN, INO, &one, 1);
	int rc = hmi_parse_proc_locks(text, MAJ, MIN, INO, &holder);

	FUZZ_CHECK(n >= 0 || n == -EINVAL, "returned %d", n);
	FUZZ_CHECK((n < 0) == (n1 < 0) && (n < 0) == (rc < 0), "verdicts %d, %d, %d", n, n1, rc);
	if (n >= 0) {
		FUZZ_CHECK(n <= 64 && n1 == (n > 0), "%d holders, %d with room for one", n, n1);
		FUZZ_CHECK(n == 0 || one == pids[0], "first holder %d, with room for one %d",
			   (int)pids[0], (int)one);
		for (int i = 0; i < n; i++) {
			FUZZ_CHECK(pids[i] > 0 || pids[i] == -1, "holder %d is pid %d", i,
				   (int)pids[i]);
			if (want <= 0 && pids[i] > 0)
				want = pids[i];
			else if (want == 0)
				want = -1;
		}
		FUZZ_CHECK(rc == 0 && holder == want, "holder %d, expected %d", (int)holder,
			   (int)want);
	}
	free(text);
	return 0;
}
