/* SPDX-License-Identifier: MIT */
/*
 * prefix_test.c — file prefixes and their liveness lock, in a tmp runtime
 * directory: prefix validation, hm_prefix_dir, a lock held by a child (its pid
 * named by hm_prefix_owner and in the -EBUSY message, listed live), release
 * when the child dies, a holder asking about itself without losing its lock,
 * and refusal of symlinks and of directories with a wrong owner or mode.
 */
#include "base/ctx.h"
#include "hugedir/hugedir.h"
#include "tap.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static struct hm_ctx *ctx;
static char top[64] = "/tmp/hmtest-prefix-XXXXXX";
static char rundir[256];

static void test_check(void)
{
	static const char *const bad[] = {
	    "",	   ".",	  "..",
	    "a/b", "a b", "x\xc3\xa9",
	    "a*",  "/",	  "0123456789012345678901234567890123456789012345678901234567890123"};
	static const char *const good[] = {
	    "hm",  "a",	      "hm-1.x_Y",
	    "...", ".hidden", "012345678901234567890123456789012345678901234567890123456789012"};

	for (size_t i = 0; i < HMI_ARRAY_SIZE(bad); i++) {
		is_int(hmi_prefix_check(ctx, bad[i]), -EINVAL, "check: '%s' refused", bad[i]);
		like(hm_errmsg(ctx), "may only hold letters, digits, '_', '-', '.' (at most 63)",
		     "check: '%s' message says what is allowed", bad[i]);
	}
	for (size_t i = 0; i < HMI_ARRAY_SIZE(good); i++)
		is_int(hmi_prefix_check(ctx, good[i]), 0, "check: '%s' accepted", good[i]);
	hmi_prefix_check(ctx, "a/b");
	like(hm_errmsg(ctx), "file prefix 'a/b'", "check: message names the prefix");
	is_int(hmi_prefix_check(ctx, NULL), -EINVAL, "check: NULL refused");
}

static void test_dir(void)
{
	char buf[HM_PATH_MAX], want[HM_PATH_MAX], tiny[8];

	is_int(hm_prefix_dir(ctx, "hm", buf, sizeof(buf)), 0, "dir: hm");
	snprintf(want, sizeof(want), "%s/hm", rundir);
	is_str(buf, want, "dir: runtime dir + / + prefix");
	is_int(hm_prefix_dir(ctx, "a/b", buf, sizeof(buf)), -EINVAL, "dir: bad prefix refused");
	is_int(hm_prefix_dir(ctx, "hm", tiny, sizeof(tiny)), -ENAMETOOLONG, "dir: too small");
	like(hm_errmsg(ctx), "longer than 7 bytes", "dir: message says the limit");
}

/* A child that takes PREFIX's lock, says so through a pipe and waits. */
static pid_t spawn_holder(const char *prefix)
{
	int p[2], fd;
	pid_t pid;
	char c = 0;

	if (pipe(p) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		close(p[0]);
		c = hm_prefix_lock(ctx, prefix, &fd) == 0 ? 'R' : 'E';
		if (write(p[1], &c, 1) != 1 || c != 'R')
			_exit(1);
		for (;;)
			pause();
	}
	close(p[1]);
	if (pid < 0 || read(p[0], &c, 1) != 1 || c != 'R') {
		if (pid > 0)
			waitpid(pid, NULL, 0);
		pid = -1;
	}
	close(p[0]);
	return pid;
}

/* In a forked child, who does hm_prefix_owner name? (exit code: 0 = PID) */
static int child_sees_owner(const char *prefix, pid_t want)
{
	int status = 0;
	pid_t pid = fork();

	if (pid == 0) {
		pid_t got = 0;

		_exit(hm_prefix_owner(ctx, prefix, &got) == 0 && got == want ? 0 : 1);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return 0;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static void test_lock_child(void)
{
	char names[4][HM_PREFIX_MAX], needle[64], path[HM_PATH_MAX];
	pid_t pids[4], owner = 1, kid;
	struct stat st;
	int fd = -1, n;

	is_int(hm_prefixes_live(ctx, names, pids, 4), 0, "live: missing runtime dir: none");
	is_int(hm_prefix_owner(ctx, "hm", &owner), 0, "owner: missing lock file is fine");
	is_int(owner, 0, "owner: nobody");
	kid = spawn_holder("hm");
	ok(kid > 0, "child took the lock of 'hm'");
	ok(stat(rundir, &st) == 0 && (st.st_mode & 0777) == 0700, "runtime dir created 0700");
	snprintf(path, sizeof(path), "%s/hm", rundir);
	ok(stat(path, &st) == 0 && (st.st_mode & 0777) == 0700, "prefix dir created 0700");
	snprintf(path, sizeof(path), "%s/hm/lock", rundir);
	ok(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600, "lock file created 0600");
	is_int(hm_prefix_owner(ctx, "hm", &owner), 0, "owner: asks");
	is_int(owner, kid, "owner: the child's pid");
	snprintf(path, sizeof(path), "%s/hm", rundir);
	owner = 1;
	is_int(hmi_prefix_owner_probe(ctx, path, &owner), 0, "probe: asks the lock itself");
	is_int(owner, kid, "probe: the child's pid");
	is_int(hm_prefix_lock(ctx, "hm", &fd), -EBUSY, "lock: busy");
	is_int(fd, -1, "lock: no descriptor when busy");
	snprintf(needle, sizeof(needle), "file prefix 'hm' is in use by pid %d", (int)kid);
	like(hm_errmsg(ctx), needle, "lock: message names the holder");
	like(hm_errmsg(ctx), "--file-prefix", "lock: message names the option");
	n = hm_prefixes_live(ctx, names, pids, 4);
	is_int(n, 1, "live: one prefix");
	is_str(n > 0 ? names[0] : "", "hm", "live: its name");
	is_int(n > 0 ? pids[0] : 0, kid, "live: its owner");
	is_int(hm_prefixes_live(ctx, names, pids, 0), 0, "live: max 0 lists none");
	kill(kid, SIGKILL);
	waitpid(kid, NULL, 0);
	is_int(hm_prefix_owner(ctx, "hm", &owner), 0, "owner after the child died");
	is_int(owner, 0, "owner: nobody once the holder is dead");
	is_int(hm_prefixes_live(ctx, names, pids, 4), 0, "live: none after death");
	is_int(hm_prefix_lock(ctx, "hm", &fd), 0, "lock: taken once the holder died");
	ok(fd >= 0, "lock: a descriptor");
	is_int(hm_prefix_owner(ctx, "hm", &owner), 0, "owner asked by the holder itself");
	is_int(owner, getpid(), "owner: the holder sees itself");
	ok(child_sees_owner("hm", getpid()),
	   "asking did not drop the lock (a child still sees it)");
	is_int(hm_prefix_lock(ctx, "hm", &n), -EBUSY, "lock: twice in one process refused");
	like(hm_errmsg(ctx), "already held by this process", "lock: message says so");
	ok(child_sees_owner("hm", getpid()), "refusing did not drop the lock either");
	n = hm_prefixes_live(ctx, names, pids, 4);
	ok(n == 1 && pids[0] == getpid(), "live: the holder lists itself");
	close(fd);
	ok(child_sees_owner("hm", 0), "closing the descriptor releases the lock");
	kid = spawn_holder("hm");
	ok(kid > 0, "another process can take it then");
	kill(kid, SIGKILL);
	waitpid(kid, NULL, 0);
}

static void refused(const char *prefix, int want, const char *needle, const char *label)
{
	int fd = -1, rc = hm_prefix_lock(ctx, prefix, &fd);

	ok(rc == want || (want == -ELOOP && rc == -ENOTDIR), "%s: refused (%d)", label, rc);
	like(hm_errmsg(ctx), needle, "%s: message", label);
	is_int(fd, -1, "%s: no descriptor", label);
	if (fd >= 0)
		close(fd);
}

static void test_unsafe(void)
{
	char path[HM_PATH_MAX], target[HM_PATH_MAX], base[HM_PATH_MAX];

	snprintf(target, sizeof(target), "%s/elsewhere", top);
	mkdir(target, 0700);
	snprintf(path, sizeof(path), "%s/sl", rundir);
	ok(symlink(target, path) == 0, "planted a symlink as prefix dir 'sl'");
	refused("sl", -ELOOP, "is a symbolic link or not a directory", "symlinked prefix dir");
	like(hm_errmsg(ctx), path, "symlinked prefix dir: message names the path");

	snprintf(path, sizeof(path), "%s/lk", rundir);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/lk/lock", rundir);
	ok(symlink(target, path) == 0, "planted a symlink as lock file");
	refused("lk", -ELOOP, "lock is a symbolic link", "symlinked lock file");

	snprintf(path, sizeof(path), "%s/ff", rundir);
	mkdir(path, 0700);
	snprintf(base, sizeof(base), "%s/ff/lock", rundir);
	ok(mkfifo(base, 0600) == 0, "planted a FIFO as lock file");
	{
		pid_t owner = 1;

		/* a FIFO is never opened: the open would block for a writer */
		is_int(hmi_prefix_owner_probe(ctx, path, &owner), -ELOOP,
		       "probe: FIFO lock refused");
		like(hm_errmsg(ctx), "lock is not a regular file: remove it",
		     "probe: FIFO message");
		is_int(owner, 0, "probe: FIFO names nobody");
	}

	snprintf(path, sizeof(path), "%s/wide", rundir);
	mkdir(path, 0700);
	chmod(path, 0777);
	refused("wide", -EPERM, "is writable by others (mode 777)", "prefix dir 0777");

	snprintf(base, sizeof(base), "%s/base777", top);
	mkdir(base, 0700);
	chmod(base, 0777);
	hm_ctx_set_runtime_dir(ctx, base);
	refused("hm", -EPERM, "writable by others", "runtime dir 0777");
	like(hm_errmsg(ctx), "XDG_RUNTIME_DIR", "runtime dir 0777: names the way out");

	snprintf(base, sizeof(base), "%s/baselink", top);
	ok(symlink(target, base) == 0, "planted a symlink as runtime dir");
	hm_ctx_set_runtime_dir(ctx, base);
	refused("hm", -ELOOP, "is a symbolic link", "symlinked runtime dir");

	snprintf(base, sizeof(base), "%s/a/b/rt", top);
	hm_ctx_set_runtime_dir(ctx, base);
	{
		int fd = -1;

		is_int(hm_prefix_lock(ctx, "deep", &fd), 0, "missing parents are created");
		if (fd >= 0)
			close(fd);
	}
	if (geteuid() == 0) {
		snprintf(base, sizeof(base), "%s/theirs", top);
		mkdir(base, 0700);
		if (chown(base, 12345, 12345) == 0) {
			hm_ctx_set_runtime_dir(ctx, base);
			refused("hm", -EPERM, "is owned by uid 12345",
				"runtime dir of another uid");
		}
	}
	hm_ctx_set_runtime_dir(ctx, rundir);
	is_int(hm_prefix_lock(ctx, "../x", &(int){0}), -EINVAL, "lock: bad prefix refused");
	{
		pid_t pid = 7;

		is_int(hm_prefix_owner(ctx, "a/b", &pid), -EINVAL, "owner: bad prefix refused");
		is_int(pid, 0, "owner: pid cleared on failure");
	}
}

/* A primary's exit: the lock file and the directory go; the prefix can be
 * taken again at once, and a descriptor of the old, unlinked lock file no
 * longer counts. */
static void test_release(void)
{
	char dir[HM_PATH_MAX], lock[HM_PATH_MAX + 8];
	struct stat st;
	int fd = -1, again = -1;

	is_int(hm_prefix_lock(ctx, "gone", &fd), 0, "release: take prefix 'gone'");
	hm_prefix_dir(ctx, "gone", dir, sizeof(dir));
	snprintf(lock, sizeof(lock), "%s/lock", dir);
	hmi_prefix_release(dir, fd);
	ok(stat(dir, &st) < 0 && errno == ENOENT, "release: the runtime directory is removed");
	is_int(hm_prefix_lock(ctx, "gone", &again), 0, "release: the prefix is taken again");
	ok(stat(lock, &st) == 0, "release: with a new lock file");
	hmi_prefix_release(dir, again);
}

int main(void)
{
	char cmd[128];

	if (!mkdtemp(top) || hm_ctx_new(&ctx) < 0)
		return plan_skip_all("cannot create a tmp directory");
	snprintf(rundir, sizeof(rundir), "%s/run", top);
	hm_ctx_set_runtime_dir(ctx, rundir);
	test_check();
	test_dir();
	test_lock_child();
	test_unsafe();
	test_release();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", top);
	if (system(cmd) != 0)
		diag("cannot remove %s", top);
	hm_ctx_free(ctx);
	return done();
}
