/* SPDX-License-Identifier: MIT */
/*
 * hold_file — a test helper that holds page files the way live processes do,
 * so tests can check that `hugemem clear` never removes them:
 *   hold_file MODE FILE...   MODE: flock-map  shared flock, map, close the fd (DPDK's and
 *                                             hugemem's way: the mapping keeps the lock)
 *                                  flock      shared flock on an open fd
 *                                  map        map only, no lock, fd closed
 *                                  open       hold the fd open only
 * Prints "ready" once everything is held, then sleeps until killed.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static int hold(const char *mode, const char *path)
{
	int fd = open(path, O_RDWR | O_CREAT, 0600);
	struct stat st;
	size_t len;
	void *va;

	if (fd < 0 || fstat(fd, &st) < 0)
		return perror(path), -1;
	len = st.st_size ? (size_t)st.st_size : (size_t)st.st_blksize;
	if (strncmp(mode, "flock", 5) == 0 && flock(fd, LOCK_SH) < 0)
		return perror("flock"), -1;
	/* every mode faults a page into the file, so each file holds pool pages */
	va = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (va == MAP_FAILED)
		return perror("mmap"), -1;
	*(volatile char *)va = 1;
	if (strcmp(mode, "flock-map") == 0 || strcmp(mode, "map") == 0)
		close(fd); /* the mapping alone keeps the file (and its flock) */
	else
		munmap(va, len); /* the descriptor alone keeps it */
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: hold_file flock-map|flock|map|open FILE...\n");
		return 2;
	}
	for (int i = 2; i < argc; i++)
		if (hold(argv[1], argv[i]) < 0)
			return 1;
	printf("ready\n");
	fflush(stdout);
	for (;;)
		pause();
}
