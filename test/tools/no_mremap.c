/* SPDX-License-Identifier: MIT */
/*
 * no_mremap — run a program with mremap(2) refused (EPERM), through a seccomp
 * filter that survives exec: `no_mremap CMD [ARG...]`.
 *
 * hugemem must never mremap a single file's or memfd's hugetlb mapping (on
 * Linux 5.16..6.18 a move whose new place covers an aligned 1 GiB range
 * deadlocks in huge_pmd_share, state D until reboot: src/pages/pages.c). A test
 * cannot safely watch for the deadlock itself on the machine it runs on, so
 * it runs such primaries here: code that still issues the mremap fails with
 * EPERM instead of reaching the kernel's page-table move. glibc's realloc
 * of large blocks falls back to malloc + copy when mremap fails.
 * Test code only.
 */
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

static int refuse_mremap(void)
{
	struct sock_filter code[] = {
	    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
	    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
	    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_mremap, 0, 1),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {.len = sizeof(code) / sizeof(code[0]), .filter = code};

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -1;
	return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: no_mremap CMD [ARG...]\n");
		return 2;
	}
	if (refuse_mremap() < 0) {
		fprintf(stderr, "no_mremap: cannot install the seccomp filter: %s\n",
			strerror(errno));
		return 2;
	}
	execvp(argv[1], argv + 1);
	fprintf(stderr, "no_mremap: cannot run %s: %s\n", argv[1], strerror(errno));
	return 127;
}
