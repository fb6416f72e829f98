/* SPDX-License-Identifier: MIT */
/*
 * timecmd.c — the wall-clock time of one command, process start and exit
 * included: what a user waits for when typing it. The benchmark (bench/run.sh)
 * times every contender through it, so that all of them pay the same fork +
 * exec + wait overhead, which is far smaller here than through a shell or an
 * interpreter.
 *
 * The clock starts just before fork() and stops when waitpid() has reaped the
 * child. The child's standard output and error go to the files named (else
 * /dev/null), and it may get a lower RLIMIT_NOFILE (-n). A command that runs
 * past the timeout (-t, seconds) is killed with SIGKILL; the timeout is a
 * sigtimedwait() on SIGCHLD, so no signal handler and no global state.
 *
 * usage: timecmd [-t SEC] [-o OUT] [-e ERR] [-n NOFILE] -- CMD [ARG...]
 * prints: wall_ms=<ms> status=<exit code> (or signal=<n>, timeout=1)
 * exit:   0 when the command ran and exited 0; 1 otherwise; 2 on a bad call.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct call {
	double timeout_s;
	const char *out, *err;
	long nofile;
	char **argv;
};

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int parse(int argc, char **argv, struct call *c)
{
	int opt;

	memset(c, 0, sizeof(*c));
	c->timeout_s = 600;
	c->out = c->err = "/dev/null";
	while ((opt = getopt(argc, argv, "+t:o:e:n:")) != -1) {
		switch (opt) {
		case 't':
			c->timeout_s = atof(optarg);
			break;
		case 'o':
			c->out = optarg;
			break;
		case 'e':
			c->err = optarg;
			break;
		case 'n':
			c->nofile = atol(optarg);
			break;
		default:
			return -1;
		}
	}
	if (optind >= argc || c->timeout_s <= 0)
		return -1;
	c->argv = argv + optind;
	return 0;
}

/* In the child: redirect, lower the fd limit, exec. Never returns. */
static void run_child(const struct call *c, const sigset_t *old)
{
	int out = open(c->out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	int err = open(c->err, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (out < 0 || err < 0 || dup2(out, STDOUT_FILENO) < 0 || dup2(err, STDERR_FILENO) < 0)
		_exit(126);
	if (c->nofile > 0) {
		struct rlimit rl = {(rlim_t)c->nofile, (rlim_t)c->nofile};

		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			_exit(126);
	}
	sigprocmask(SIG_SETMASK, old, NULL);
	execvp(c->argv[0], c->argv);
	dprintf(STDERR_FILENO, "timecmd: %s: %s\n", c->argv[0], strerror(errno));
	_exit(127);
}

/* Wait for the child until the deadline; kill it past that. 1 on timeout. */
static int wait_child(pid_t pid, const sigset_t *chld, double deadline_ms, int *status)
{
	for (;;) {
		double left = deadline_ms - now_ms();
		struct timespec ts;

		if (waitpid(pid, status, WNOHANG) == pid)
			return 0;
		if (left <= 0) {
			kill(pid, SIGKILL);
			waitpid(pid, status, 0);
			return 1;
		}
		ts.tv_sec = (time_t)(left / 1e3);
		ts.tv_nsec = (long)((left - (double)ts.tv_sec * 1e3) * 1e6);
		sigtimedwait(chld, NULL, &ts);
	}
}

int main(int argc, char **argv)
{
	struct call c;
	sigset_t chld, old;
	int status = 0, timed_out;
	double t0, t1;
	pid_t pid;

	if (parse(argc, argv, &c) < 0) {
		fprintf(stderr,
			"usage: timecmd [-t SEC] [-o OUT] [-e ERR] [-n NOFILE] -- CMD [ARG...]\n");
		return 2;
	}
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, &old);
	t0 = now_ms();
	pid = fork();
	if (pid < 0) {
		perror("timecmd: fork");
		return 1;
	}
	if (pid == 0)
		run_child(&c, &old);
	timed_out = wait_child(pid, &chld, t0 + c.timeout_s * 1e3, &status);
	t1 = now_ms();
	if (WIFSIGNALED(status))
		printf("wall_ms=%.3f signal=%d timeout=%d\n", t1 - t0, WTERMSIG(status), timed_out);
	else
		printf("wall_ms=%.3f status=%d\n", t1 - t0, WEXITSTATUS(status));
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}
