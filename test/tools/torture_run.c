/* SPDX-License-Identifier: MIT */
/*
 * torture_run — a test helper that runs a command and does something to it at
 * a chosen moment, for the crash-torture and limits tests:
 *
 *   torture_run ready CMD...
 *       run CMD with standard input and output on pipes; print
 *       "<ready_us> <exit_us> <status>": the time from fork to CMD's first
 *       byte on standard output (its "ready" line, or its layout), then the
 *       time until it exits once its input is closed, and its exit status.
 *   torture_run kill DELAY_US CMD...
 *       start CMD (input a pipe kept open, so a --hold lasts; output read
 *       here), SIGKILL it DELAY_US after the fork, reap it. Prints
 *       "killed <us> ready=<0|1>" (ready: it had printed something) and exits
 *       0; or, when CMD ended by itself before the kill, "exited <status>"
 *       and exits 1 (its standard error passes through).
 *   torture_run signal SIG DELAY_US CMD...
 *       the same with signal number SIG, then wait (20 s at most) for CMD to
 *       clean up and end: prints "signalled <us> ready=<0|1> status=<S>", S
 *       128+N when it ended by signal N, else its exit code; "hung" (exit 1)
 *       when it did not end and was SIGKILLed.
 *   torture_run killat CALL:MARK CMD...
 *       trace CMD's system calls (its main thread) with its input closed, and
 *       SIGKILL it at the entry of the first CALL whose path argument
 *       contains MARK. CALL is mkdir, open, rename, unlink (each with its
 *       *at variants) or link (linkat: its new name): "link:hmmap_" kills a
 *       primary between recording a nameless page file and naming it,
 *       "rename:.layout." kills a primary between writing its
 *       temporary layout and renaming it, "unlink:lock" while it releases its
 *       prefix at exit. Prints "killed at CALL PATH" and exits 0, or
 *       "mark not reached" and exits 1 when CMD ended without making that call.
 *   torture_run grab CALL:MARK PAGES[:FILE] CMD...
 *       trace CMD until that call (e.g. "mkdir:PREFIX": hugemem creating the
 *       prefix's runtime directory, after discovery and the budget check and
 *       before any page is mapped), then take PAGES free 2 MiB hugepages —
 *       anonymous ones, or faulted into FILE (a new file in a hugetlbfs
 *       mount) — let CMD go on untraced, wait for it, give the pages back
 *       (FILE is unlinked) and exit with CMD's exit status; CMD's output
 *       passes through. Prints "grabbed <n>" on standard error, or "mark not
 *       reached". This makes "the pool shrank between discovery and mapping"
 *       deterministic.
 *   torture_run pauseat CALL:MARK SHELL_CMD CMD...
 *       the same, but at the mark run SHELL_CMD (sh -c) while CMD waits there
 *       (e.g. make the holder of a prefix exit, removing its runtime directory,
 *       while CMD is between opening that directory and creating its lock).
 *   grab and pauseat close CMD's input at once (a --hold ends); with
 *   TORTURE_KEEP_INPUT set in the environment they keep it open (a --hold
 *   lasts until a signal: pauseat then reaches a mark of CMD's exit).
 *   A MARK "=NAME" matches a path whose last component is NAME (so
 *   "open:=lock" is the prefix's lock file, not /proc/locks).
 *
 * The delay is measured on CLOCK_MONOTONIC from just before the fork, so a
 * delay of 0 may land before the exec: every phase of a start, including
 * none, gets its share of kills.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PAGE_2M (2ULL << 20)
/* The old path calls exist on some architectures only (glibc uses them
 * there); -1 marks one this kernel does not have. */
#ifdef SYS_mkdir
#define NR_MKDIR  SYS_mkdir
#define NR_OPEN	  SYS_open
#define NR_UNLINK SYS_unlink
#define NR_RENAME SYS_rename
#else
#define NR_MKDIR  -1
#define NR_OPEN	  -1
#define NR_UNLINK -1
#define NR_RENAME -1
#endif
#ifdef SYS_renameat
#define NR_RENAMEAT SYS_renameat
#else
#define NR_RENAMEAT -1
#endif

struct child {
	pid_t pid;
	int in;	 /* write end of CMD's standard input, -1 when closed */
	int out; /* read end of CMD's standard output */
};

static uint64_t now_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000 + (uint64_t)t.tv_nsec / 1000;
}

/* Fork CMD with its input and output on pipes; TRACED: PTRACE_TRACEME first. */
static int spawn(char **cmd, int traced, struct child *c)
{
	int in[2], out[2];

	sigset_t all, old;

	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0)
		return -1;
	/* what we ignore (SIGPIPE, a background job's SIGINT) CMD would keep
	 * ignoring: the child resets every signal, blocked until then so that
	 * one sent at once stays pending instead of being dropped */
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &old);
	c->pid = fork();
	if (c->pid != 0)
		sigprocmask(SIG_SETMASK, &old, NULL);
	if (c->pid < 0)
		return -1;
	if (c->pid == 0) {
		for (int sig = 1; sig < 32; sig++)
			if (sig != SIGKILL && sig != SIGSTOP)
				signal(sig, SIG_DFL);
		sigprocmask(SIG_SETMASK, &old, NULL);
		dup2(in[0], STDIN_FILENO);
		dup2(out[1], STDOUT_FILENO);
		if (traced && ptrace(PTRACE_TRACEME, 0, NULL, NULL) < 0)
			_exit(126);
		execvp(cmd[0], cmd);
		fprintf(stderr, "torture_run: cannot run %s: %s\n", cmd[0], strerror(errno));
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	c->in = in[1];
	c->out = out[0];
	return 0;
}

/* 1 when CMD has written something to its output (non-blocking look). */
static int has_output(int fd, int wait_ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};

	return poll(&p, 1, wait_ms) == 1 && (p.revents & POLLIN);
}

/* Read and drop what is in FD until it ends (the child has exited). */
static void drain(int fd)
{
	char buf[4096];

	while (read(fd, buf, sizeof(buf)) > 0)
		;
}

static int exit_status(int status)
{
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int run_ready(char **cmd)
{
	uint64_t t0 = now_us(), ready = 0;
	struct child c;
	int status;

	if (spawn(cmd, 0, &c) < 0)
		return perror("torture_run: spawn"), 1;
	if (has_output(c.out, 60000))
		ready = now_us() - t0;
	close(c.in);
	drain(c.out);
	waitpid(c.pid, &status, 0);
	printf("%llu %llu %d\n", (unsigned long long)ready, (unsigned long long)(now_us() - t0),
	       exit_status(status));
	return 0;
}

/* CLOCK_MONOTONIC DELAY_US from now, into *UNTIL. */
static void deadline(uint64_t delay, struct timespec *until)
{
	clock_gettime(CLOCK_MONOTONIC, until);
	until->tv_sec += (time_t)(delay / 1000000);
	until->tv_nsec += (long)(delay % 1000000) * 1000;
	if (until->tv_nsec >= 1000000000L) {
		until->tv_sec++;
		until->tv_nsec -= 1000000000L;
	}
}

/* Spawn CMD (input a pipe kept open) and sleep until DELAY_US after the
 * fork. 0, or 1 when CMD has ended by then ("exited N" printed). */
static int spawn_and_wait(const char *delay_text, char **cmd, struct child *c)
{
	struct timespec until;
	int status;

	deadline(strtoull(delay_text, NULL, 10), &until);
	if (spawn(cmd, 0, c) < 0)
		return perror("torture_run: spawn"), 1;
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL) == EINTR)
		;
	if (waitpid(c->pid, &status, WNOHANG) == c->pid) {
		printf("exited %d\n", exit_status(status));
		return 1;
	}
	return 0;
}

static int run_kill(const char *delay_text, char **cmd)
{
	uint64_t t0 = now_us();
	struct child c;
	int status, ready;

	if (spawn_and_wait(delay_text, cmd, &c))
		return 1;
	kill(c.pid, SIGKILL);
	ready = has_output(c.out, 0);
	waitpid(c.pid, &status, 0);
	close(c.in);
	drain(c.out);
	if (!WIFSIGNALED(status)) { /* it ended between our look and the kill */
		printf("exited %d\n", exit_status(status));
		return exit_status(status) != 0;
	}
	printf("killed %llu ready=%d\n", (unsigned long long)(now_us() - t0), ready);
	return 0;
}

/* Wait up to SECONDS for PID; then SIGKILL it. 0 when it ended by itself. */
static int reap_within(pid_t pid, int seconds, int *status)
{
	for (int ms = 0; ms < seconds * 1000; ms += 5) {
		if (waitpid(pid, status, WNOHANG) == pid)
			return 0;
		usleep(5000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, status, 0);
	return -1;
}

/* torture_run signal SIG DELAY_US CMD...: as kill, with signal SIG, then
 * wait (20 s at most) for CMD to clean up and end. Prints "signalled <us>
 * ready=<0|1> status=<S>" (S: 128+N when it ended by signal N, else its exit
 * code) and exits 0; "hung" and exits 1 when it had to be SIGKILLed. */
static int run_signal(const char *sig_text, const char *delay_text, char **cmd)
{
	uint64_t t0 = now_us();
	int sig = atoi(sig_text), status, ready;
	struct child c;

	if (sig <= 0 || sig >= 32)
		return fprintf(stderr, "torture_run: bad signal '%s'\n", sig_text), 2;
	if (spawn_and_wait(delay_text, cmd, &c))
		return 1;
	kill(c.pid, sig);
	ready = has_output(c.out, 0);
	if (reap_within(c.pid, 20, &status) < 0) {
		printf("hung\n");
		return 1;
	}
	close(c.in);
	drain(c.out);
	printf("signalled %llu ready=%d status=%d\n", (unsigned long long)(now_us() - t0), ready,
	       exit_status(status));
	return 0;
}

/* ------------------------------------------------------------------ marks */

/* A system call that takes a path, and which argument holds it. */
struct call {
	const char *name;
	long nr;
	int arg;
};

static const struct call calls[] = {
    {"mkdir", SYS_mkdirat, 1}, {"mkdir", NR_MKDIR, 0},	     {"open", SYS_openat, 1},
    {"open", NR_OPEN, 0},      {"rename", SYS_renameat2, 1}, {"rename", NR_RENAMEAT, 1},
    {"rename", NR_RENAME, 0},  {"unlink", SYS_unlinkat, 1},  {"unlink", NR_UNLINK, 0},
    {"link", SYS_linkat, 3}, /* the new name: a page file made nameless gets it */
};

/* "CALL:MARK" */
struct mark {
	char call[16];
	const char *text;
};

static int parse_mark(const char *arg, struct mark *m)
{
	const char *colon = strchr(arg, ':');

	if (!colon || colon == arg || (size_t)(colon - arg) >= sizeof(m->call))
		return -1;
	memcpy(m->call, arg, (size_t)(colon - arg));
	m->call[colon - arg] = '\0';
	m->text = colon + 1;
	for (size_t i = 0; i < sizeof(calls) / sizeof(calls[0]); i++)
		if (strcmp(calls[i].name, m->call) == 0)
			return 0;
	return -1;
}

/* The NUL-terminated string at ADDR in process PID into BUF. */
static void peek_string(pid_t pid, uint64_t addr, char *buf, size_t len)
{
	struct iovec local = {buf, len - 1}, remote = {(void *)(uintptr_t)addr, len - 1};
	ssize_t n = process_vm_readv(pid, &local, 1, &remote, 1, 0);

	buf[n > 0 ? (size_t)n : 0] = '\0';
}

/* "=NAME": the path's last component is NAME; otherwise TEXT is in it. */
static int matches(const char *path, const char *text)
{
	const char *base = strrchr(path, '/');

	if (text[0] != '=')
		return strstr(path, text) != NULL;
	return strcmp(base ? base + 1 : path, text + 1) == 0;
}

/* At a syscall-entry stop: is it M's call, on a path containing M's text?
 * The path goes into PATH. */
static int at_mark(pid_t pid, const struct mark *m, char *path, size_t len)
{
	struct __ptrace_syscall_info info;

	if (ptrace(PTRACE_GET_SYSCALL_INFO, pid, (void *)sizeof(info), &info) <= 0 ||
	    info.op != PTRACE_SYSCALL_INFO_ENTRY)
		return 0;
	for (size_t i = 0; i < sizeof(calls) / sizeof(calls[0]); i++) {
		if (calls[i].nr < 0 || (long long)info.entry.nr != calls[i].nr ||
		    strcmp(calls[i].name, m->call) != 0)
			continue;
		peek_string(pid, info.entry.args[calls[i].arg], path, len);
		return matches(path, m->text);
	}
	return 0;
}

/* Step PID (stopped at its exec) from syscall stop to syscall stop until
 * the mark: 0, PID stopped there (PATH says where). When PID ends first: 1
 * and its wait status in *STATUS. */
static int trace_until(pid_t pid, const struct mark *m, char *path, size_t len, int *status)
{
	int sig = 0;

	waitpid(pid, status, 0); /* the SIGTRAP of its exec */
	ptrace(PTRACE_SETOPTIONS, pid, NULL,
	       (void *)(long)(PTRACE_O_TRACESYSGOOD | PTRACE_O_EXITKILL));
	for (;;) {
		if (ptrace(PTRACE_SYSCALL, pid, NULL, (void *)(long)sig) < 0 ||
		    waitpid(pid, status, 0) < 0 || !WIFSTOPPED(*status))
			return 1;
		sig = WSTOPSIG(*status) == (SIGTRAP | 0x80) ? 0 : WSTOPSIG(*status);
		if (sig == 0 && at_mark(pid, m, path, len))
			return 0;
	}
}

static int run_killat(const char *mark_text, char **cmd)
{
	char path[4096];
	struct mark m;
	struct child c;
	int status;

	if (parse_mark(mark_text, &m) < 0)
		return fprintf(stderr, "torture_run: bad mark '%s'\n", mark_text), 2;
	if (spawn(cmd, 1, &c) < 0)
		return perror("torture_run: spawn"), 1;
	close(c.in); /* a --hold ends at once: exit phases are reachable too */
	if (trace_until(c.pid, &m, path, sizeof(path), &status)) {
		drain(c.out);
		printf("mark not reached (status %d)\n", exit_status(status));
		return 1;
	}
	kill(c.pid, SIGKILL);
	ptrace(PTRACE_DETACH, c.pid, NULL, NULL);
	waitpid(c.pid, &status, 0);
	drain(c.out);
	printf("killed at %s %s\n", m.call, path);
	return 0;
}

/* ------------------------------------------------------------------ grab */

struct grab {
	uint64_t pages;
	const char *file; /* NULL: anonymous pages */
	void *va;
	int fd;
};

static int take_pages(struct grab *g)
{
	size_t len = g->pages * PAGE_2M;
	int flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_POPULATE;

	g->fd = -1;
	if (g->file) {
		g->fd = open(g->file, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (g->fd < 0 || ftruncate(g->fd, (off_t)len) < 0)
			return perror(g->file), -1;
		flags = MAP_SHARED | MAP_POPULATE;
	}
	g->va = mmap(NULL, len, PROT_READ | PROT_WRITE, flags, g->fd, 0);
	if (g->va == MAP_FAILED)
		return perror("torture_run: grabbing hugepages"), -1;
	for (size_t off = 0; off < len; off += PAGE_2M)
		((volatile char *)g->va)[off] = 1;
	fprintf(stderr, "grabbed %llu\n", (unsigned long long)g->pages);
	return 0;
}

static void give_back(struct grab *g)
{
	if (g->va && g->va != MAP_FAILED)
		munmap(g->va, g->pages * PAGE_2M);
	if (g->fd >= 0)
		close(g->fd);
	if (g->file)
		unlink(g->file);
}

/* What to do when CMD reaches the mark: 0, or -1 to kill CMD. */
typedef int at_mark_fn(void *arg);

static int grab_at_mark(void *arg)
{
	return take_pages(arg);
}

static int shell_at_mark(void *arg)
{
	int st = system((const char *)arg);

	if (st != 0)
		fprintf(stderr, "torture_run: '%s' exited %d\n", (const char *)arg,
			WIFEXITED(st) ? WEXITSTATUS(st) : 128);
	return 0;
}

/* Trace CMD to the mark, call FN(ARG) while it is stopped there, let it go
 * on untraced; its output passes through. CMD's exit status. */
static int run_at(const char *mark_text, at_mark_fn *fn, void *arg, char **cmd)
{
	char buf[4096];
	struct mark m;
	struct child c;
	ssize_t n;
	int status;

	if (parse_mark(mark_text, &m) < 0)
		return fprintf(stderr, "torture_run: bad mark '%s'\n", mark_text), 2;
	if (spawn(cmd, 1, &c) < 0)
		return perror("torture_run: spawn"), 1;
	if (!getenv("TORTURE_KEEP_INPUT"))
		close(c.in);
	if (trace_until(c.pid, &m, buf, sizeof(buf), &status)) {
		fprintf(stderr, "torture_run: mark not reached\n");
		drain(c.out);
		return exit_status(status);
	}
	if (fn(arg) < 0)
		kill(c.pid, SIGKILL);
	ptrace(PTRACE_DETACH, c.pid, NULL, NULL);
	/* CMD's output goes on to ours until it ends, then CMD is reaped */
	while ((n = read(c.out, buf, sizeof(buf))) > 0)
		fwrite(buf, 1, (size_t)n, stdout);
	waitpid(c.pid, &status, 0);
	return exit_status(status);
}

static int run_grab(const char *mark_text, const char *what, char **cmd)
{
	struct grab g = {.pages = strtoull(what, NULL, 10), .fd = -1};
	const char *colon = strchr(what, ':');
	int rc;

	g.file = colon ? colon + 1 : NULL;
	rc = run_at(mark_text, grab_at_mark, &g, cmd);
	give_back(&g);
	return rc;
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	if (argc > 2 && strcmp(argv[1], "ready") == 0)
		return run_ready(argv + 2);
	if (argc > 3 && strcmp(argv[1], "kill") == 0)
		return run_kill(argv[2], argv + 3);
	if (argc > 4 && strcmp(argv[1], "signal") == 0)
		return run_signal(argv[2], argv[3], argv + 4);
	if (argc > 3 && strcmp(argv[1], "killat") == 0)
		return run_killat(argv[2], argv + 3);
	if (argc > 4 && strcmp(argv[1], "grab") == 0)
		return run_grab(argv[2], argv[3], argv + 4);
	if (argc > 4 && strcmp(argv[1], "pauseat") == 0)
		return run_at(argv[2], shell_at_mark, argv[3], argv + 4);
	fprintf(stderr, "usage: torture_run ready CMD... | kill DELAY_US CMD... | "
			"signal SIG DELAY_US CMD... | "
			"killat CALL:MARK CMD... | grab CALL:MARK PAGES[:FILE] CMD... | "
			"pauseat CALL:MARK SHELL_CMD CMD...\n");
	return 2;
}
