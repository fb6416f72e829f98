/* SPDX-License-Identifier: MIT */
/*
 * shconf_fds_test.c — the descriptor server and its client (shconf/fd_server.c),
 * with ordinary memfds (no hugepages needed).
 *
 * Clients run in this process or in forked children; a child reports each of
 * its checks over a pipe as "<0|1> <text>" lines and the parent turns them
 * into TAP assertions. Fake servers (forked) speak a broken protocol to test
 * the client's checks; they repeat the 16-byte header of shconf/fd_server.c
 * (magic "HMFD", version 1, count).
 */
#include "base/platform.h"
#include "shconf/shconf.h"
#include "tap.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdarg.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define WIRE_MAGIC 0x44464d48u
#define MANY	   600 /* more than two batches of 250 */
#define NOBODY	   65534

struct wire_header {
	uint32_t magic;
	uint32_t version;
	uint64_t count;
};

struct child {
	pid_t pid;
	int rd;
};

static struct hm_ctx *ctx;

/* ------------------------------------------------------------------ helpers */

static int count_entries(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static int count_fds(void)
{
	return count_entries("/proc/self/fd") - 1; /* the DIR's own descriptor */
}

/* The count once it reaches WANT (or after a second): the server thread
 * closes its end of a connection a moment after the client has read it all. */
static int count_fds_settled(int want)
{
	int i, n = count_fds();

	for (i = 0; i < 100 && n != want; i++) {
		usleep(10000);
		n = count_fds();
	}
	return n;
}

static int count_tasks(void)
{
	return count_entries("/proc/self/task");
}

static int make_memfd(const char *content)
{
	int fd = memfd_create("hmfdtest", MFD_CLOEXEC);
	size_t len = strlen(content);

	if (fd < 0 || write(fd, content, len) != (ssize_t)len)
		return -1;
	return fd;
}

static int same_file(int a, int b)
{
	struct stat sa, sb;

	return fstat(a, &sa) == 0 && fstat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
	       sa.st_ino == sb.st_ino;
}

static int has_content(int fd, const char *want)
{
	char buf[64] = {0};
	size_t len = strlen(want);

	return pread(fd, buf, sizeof(buf) - 1, 0) == (ssize_t)len && memcmp(buf, want, len) == 0;
}

static int mapped_content(int fd, const char *want)
{
	size_t len = strlen(want);
	char *p = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
	int good;

	if (p == MAP_FAILED)
		return 0;
	good = memcmp(p, want, len) == 0;
	munmap(p, len);
	return good;
}

static int is_cloexec(int fd)
{
	int fl = fcntl(fd, F_GETFD);

	return fl >= 0 && (fl & FD_CLOEXEC);
}

static void sock_path(char *buf, size_t len, const char *dir)
{
	snprintf(buf, len, "%s/%s", dir, HMI_SHCONF_SOCKET);
}

static int path_is_gone(const char *dir)
{
	char path[256];
	struct stat st;

	sock_path(path, sizeof(path), dir);
	return lstat(path, &st) < 0 && errno == ENOENT;
}

static void make_dir(char *buf, size_t len)
{
	snprintf(buf, len, "/tmp/hmfdtest%d_XXXXXX", (int)getpid());
	if (!mkdtemp(buf))
		buf[0] = '\0';
}

static void remove_dir(const char *dir)
{
	char path[256];

	sock_path(path, sizeof(path), dir);
	unlink(path);
	rmdir(dir);
}

static void fd_contents(char *buf, size_t len, size_t i)
{
	snprintf(buf, len, "descriptor %zu", i);
}

/* Raise the soft RLIMIT_NOFILE towards 8192; returns the limit now. */
static rlim_t raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return 0;
	if (rl.rlim_cur < 8192) {
		rl.rlim_cur = rl.rlim_max < 8192 ? rl.rlim_max : 8192;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			getrlimit(RLIMIT_NOFILE, &rl);
	}
	return rl.rlim_cur;
}

/* ------------------------------------------------------------ child reports */

__attribute__((format(printf, 3, 4))) static int child_ok(int wfd, int cond, const char *fmt, ...)
{
	char line[512];
	int len = snprintf(line, sizeof(line), "%d ", cond ? 1 : 0);
	va_list ap;

	va_start(ap, fmt);
	len += vsnprintf(line + len, sizeof(line) - (size_t)len - 1, fmt, ap);
	va_end(ap);
	if (len > (int)sizeof(line) - 2)
		len = (int)sizeof(line) - 2;
	line[len++] = '\n';
	if (write(wfd, line, (size_t)len) != len)
		return 0;
	return cond;
}

static void child_start(struct child *c, void (*fn)(int wfd, void *arg), void *arg)
{
	int p[2];

	c->pid = -1;
	c->rd = -1;
	if (pipe2(p, O_CLOEXEC) < 0)
		return;
	fflush(stdout);
	c->pid = fork();
	if (c->pid == 0) {
		close(p[0]);
		fn(p[1], arg);
		_exit(0);
	}
	close(p[1]);
	c->rd = p[0];
}

static void child_collect(struct child *c, const char *what)
{
	FILE *f = c->rd >= 0 ? fdopen(c->rd, "r") : NULL;
	char line[600];
	int status = -1;

	while (f && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		ok(line[0] == '1', "%s: %s", what, line + 2);
	}
	if (f)
		fclose(f);
	if (c->pid > 0)
		waitpid(c->pid, &status, 0);
	ok(c->pid > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s: child exits 0", what);
}

/* ------------------------------------------------------------------- tests */

struct fetch_args {
	const char *dir;
	const int *orig; /* descriptors the child inherited, to compare inodes */
	const char *const *want;
	size_t n;
};

static void child_fetch3(int wfd, void *arg)
{
	const struct fetch_args *a = arg;
	struct hm_ctx *c;
	int fds[3] = {-1, -1, -1};
	int rc;
	size_t i;

	if (hm_ctx_new(&c) < 0)
		_exit(2);
	rc = hmi_fdclient_fetch(c, a->dir, fds, 3);
	child_ok(wfd, rc == 0, "fetch of 3 descriptors returns 0 (got %d: %s)", rc, hm_errmsg(c));
	for (i = 0; i < 3 && rc == 0; i++) {
		child_ok(wfd, has_content(fds[i], a->want[i]), "descriptor %zu reads '%s'", i,
			 a->want[i]);
		child_ok(wfd, mapped_content(fds[i], a->want[i]), "descriptor %zu maps '%s'", i,
			 a->want[i]);
		child_ok(wfd, same_file(fds[i], a->orig[i]), "descriptor %zu is the same inode", i);
		child_ok(wfd, fds[i] != a->orig[i], "descriptor %zu is a new descriptor", i);
		child_ok(wfd, is_cloexec(fds[i]), "descriptor %zu is close-on-exec", i);
		close(fds[i]);
	}
	hm_ctx_free(c);
}

static void test_basic(const char *dir)
{
	static const char *const want[3] = {"alpha", "bravo bravo", "charlie!"};
	int orig[3], tasks = count_tasks(), fds[3], rc;
	struct hmi_fdserver *srv = NULL;
	struct fetch_args a = {dir, orig, want, 3};
	struct child c;
	char path[256];
	struct stat st;
	size_t i;

	for (i = 0; i < 3; i++)
		orig[i] = make_memfd(want[i]);
	rc = hmi_fdserver_start(ctx, dir, orig, 3, &srv);
	is_int(rc, 0, "start with 3 memfds");
	ok(srv != NULL, "start hands out a server");
	sock_path(path, sizeof(path), dir);
	ok(lstat(path, &st) == 0 && S_ISSOCK(st.st_mode), "%s is a socket", path);
	is_int(st.st_mode & 0777, 0600, "the socket is 0600");
	is_int(count_tasks(), tasks + 1, "one server thread runs");
	child_start(&c, child_fetch3, &a);
	child_collect(&c, "forked client");
	rc = hmi_fdclient_fetch(ctx, dir, fds, 3);
	is_int(rc, 0, "a client in the server's own process fetches too");
	ok(rc == 0 && same_file(fds[0], orig[0]) && same_file(fds[2], orig[2]),
	   "and gets the same files");
	if (rc == 0)
		for (i = 0; i < 3; i++)
			close(fds[i]);
	hmi_fdserver_stop(srv);
	ok(path_is_gone(dir), "stop removes the socket");
	is_int(count_tasks(), tasks, "stop joins the thread");
	for (i = 0; i < 3; i++)
		close(orig[i]);
}

static void test_caller_closes(const char *dir)
{
	static const char *const want[3] = {"one", "two", "three"};
	struct hmi_fdserver *srv = NULL;
	int orig[3], fds[3], rc, fdcount;
	struct stat st[3];
	size_t i, good = 0;

	for (i = 0; i < 3; i++) {
		orig[i] = make_memfd(want[i]);
		fstat(orig[i], &st[i]);
	}
	fdcount = count_fds();
	rc = hmi_fdserver_start(ctx, dir, orig, 3, &srv);
	is_int(rc, 0, "start, then the caller closes its descriptors");
	for (i = 0; i < 3; i++)
		close(orig[i]);
	rc = hmi_fdclient_fetch(ctx, dir, fds, 3);
	is_int(rc, 0, "fetch after the caller closed its own");
	for (i = 0; i < 3 && rc == 0; i++) {
		struct stat now;

		fstat(fds[i], &now);
		good += has_content(fds[i], want[i]) && now.st_ino == st[i].st_ino &&
			now.st_dev == st[i].st_dev;
		close(fds[i]);
	}
	is_int(good, 3, "the server's duplicates are the original files");
	hmi_fdserver_stop(srv);
	is_int(count_fds(), fdcount - 3, "stop closes the server's duplicates");
}

struct many_args {
	const char *dir;
	int rounds;
};

/* Fetch MANY and check them; returns the number of bad descriptors (or -1). */
static int fetch_many(struct hm_ctx *c, const char *dir, int *rc)
{
	static int fds[MANY];
	int bad = 0;
	size_t i;

	*rc = hmi_fdclient_fetch(c, dir, fds, MANY);
	if (*rc < 0)
		return -1;
	for (i = 0; i < MANY; i++) {
		char want[32];

		fd_contents(want, sizeof(want), i);
		bad += !has_content(fds[i], want) || !is_cloexec(fds[i]);
	}
	for (i = 0; i < MANY; i++)
		close(fds[i]);
	return bad;
}

static void child_fetch_many(int wfd, void *arg)
{
	const struct many_args *a = arg;
	struct hm_ctx *c;
	int r, rc = 0, ok_rounds = 0, before = count_fds();

	if (hm_ctx_new(&c) < 0)
		_exit(2);
	for (r = 0; r < a->rounds; r++)
		ok_rounds += fetch_many(c, a->dir, &rc) == 0;
	child_ok(wfd, ok_rounds == a->rounds, "%d of %d fetches of %d right (last rc %d: %s)",
		 ok_rounds, a->rounds, MANY, rc, hm_errmsg(c));
	child_ok(wfd, count_fds() == before, "no descriptor left behind");
	hm_ctx_free(c);
}

static void child_low_limit(int wfd, void *arg)
{
	const struct many_args *a = arg;
	struct rlimit rl = {.rlim_cur = 100, .rlim_max = 100};
	struct hm_ctx *c;
	int fds[MANY], rc, before;

	if (hm_ctx_new(&c) < 0)
		_exit(2);
	setrlimit(RLIMIT_NOFILE, &rl);
	before = count_fds();
	rc = hmi_fdclient_fetch(c, a->dir, fds, MANY);
	child_ok(wfd, rc == -EMFILE, "%d descriptors with RLIMIT_NOFILE 100: -EMFILE (got %d)",
		 MANY, rc);
	child_ok(wfd, strstr(hm_errmsg(c), "cut short") != NULL, "message: %s", hm_errmsg(c));
	child_ok(wfd, count_fds() == before, "the part received is closed (%d open, %d before)",
		 count_fds(), before);
	hm_ctx_free(c);
}

static void test_many(const char *dir)
{
	static int orig[MANY];
	struct many_args a = {dir, 3};
	struct hmi_fdserver *srv = NULL;
	struct child kids[8];
	int rc, bad, fdcount, i;

	if (raise_fd_limit() < 4 * MANY) { /* originals, duplicates, received, slack */
		ok(1, "# skip %d descriptors: RLIMIT_NOFILE is below %d", MANY, 4 * MANY);
		return;
	}
	fdcount = count_fds();
	for (i = 0; i < MANY; i++) {
		char text[32];

		fd_contents(text, sizeof(text), (size_t)i);
		orig[i] = make_memfd(text);
	}
	rc = hmi_fdserver_start(ctx, dir, orig, MANY, &srv);
	is_int(rc, 0, "start with %d descriptors", MANY);
	for (i = 0; i < MANY; i++)
		close(orig[i]);
	bad = fetch_many(ctx, dir, &rc);
	is_int(rc, 0, "fetch %d descriptors (several batches)", MANY);
	is_int(bad, 0, "all %d read their own content and are close-on-exec", MANY);
	for (i = 0; i < 8; i++)
		child_start(&kids[i], child_fetch_many, &a);
	for (i = 0; i < 8; i++)
		child_collect(&kids[i], "concurrent client");
	if (getenv("HM_VALGRIND")) /* valgrind keeps descriptors of its own under the limit */
		ok(1, "# skip client out of descriptors: RLIMIT_NOFILE is virtual under valgrind");
	else {
		child_start(&kids[0], child_low_limit, &a);
		child_collect(&kids[0], "client out of descriptors");
	}
	hmi_fdserver_stop(srv);
	is_int(count_fds(), fdcount, "no descriptor left after %d", MANY);
}

static void test_zero(const char *dir)
{
	struct hmi_fdserver *srv = NULL;
	int fds[1] = {-1}, rc;

	rc = hmi_fdserver_start(ctx, dir, NULL, 0, &srv);
	is_int(rc, 0, "start with no descriptors");
	is_int(hmi_fdclient_fetch(ctx, dir, fds, 0), 0, "a client asking for none gets none");
	rc = hmi_fdclient_fetch(ctx, dir, fds, 1);
	is_int(rc, -EPROTO, "a client asking for 1 from an empty server: -EPROTO");
	like(hm_errmsg(ctx), "offers 0 descriptors, the layout names 1", "message names both");
	hmi_fdserver_stop(srv);
}

static void test_wrong_count(const char *dir)
{
	static const char *const want[3] = {"x", "y", "z"};
	struct hmi_fdserver *srv = NULL;
	int orig[3], fds[4] = {-1, -1, -1, -1}, rc, before;
	size_t i;

	for (i = 0; i < 3; i++)
		orig[i] = make_memfd(want[i]);
	rc = hmi_fdserver_start(ctx, dir, orig, 3, &srv);
	is_int(rc, 0, "start with 3");
	before = count_fds();
	rc = hmi_fdclient_fetch(ctx, dir, fds, 2);
	is_int(rc, -EPROTO, "asking for 2 of 3: -EPROTO");
	like(hm_errmsg(ctx), "the primary offers 3 descriptors, the layout names 2",
	     "message names both counts");
	like(hm_errmsg(ctx), "a different primary of the same prefix?", "message guesses why");
	is_int(count_fds_settled(before), before, "no descriptor leaked");
	rc = hmi_fdclient_fetch(ctx, dir, fds, 4);
	is_int(rc, -EPROTO, "asking for 4 of 3: -EPROTO");
	is_int(count_fds_settled(before), before, "no descriptor leaked either");
	hmi_fdserver_stop(srv);
	for (i = 0; i < 3; i++)
		close(orig[i]);
}

static int bind_dead_socket(const char *dir)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	int rc;

	sock_path(sa.sun_path, sizeof(sa.sun_path), dir);
	rc = bind(s, (struct sockaddr *)&sa, sizeof(sa));
	close(s);
	return rc;
}

static void test_no_server(const char *dir)
{
	static const char *const want[1] = {"after a crash"};
	struct hmi_fdserver *srv = NULL;
	char missing[300];
	int fds[1], orig, rc;

	rc = hmi_fdclient_fetch(ctx, dir, fds, 1);
	is_int(rc, -ECONNREFUSED, "no socket: -ECONNREFUSED");
	like(hm_errmsg(ctx), "no descriptor server at ", "message says there is no server");
	like(hm_errmsg(ctx), "/fds.sock: the primary is gone", "message names the socket");
	like(hm_errmsg(ctx), "--in-memory/--single-file-segments", "message names the options");
	snprintf(missing, sizeof(missing), "%s/nonexistent", dir);
	is_int(hmi_fdclient_fetch(ctx, missing, fds, 1), -ECONNREFUSED,
	       "no directory: -ECONNREFUSED");
	ok(bind_dead_socket(dir) == 0, "a socket file without a server (a dead primary's)");
	is_int(hmi_fdclient_fetch(ctx, dir, fds, 1), -ECONNREFUSED, "dead socket: -ECONNREFUSED");
	orig = make_memfd(want[0]);
	rc = hmi_fdserver_start(ctx, dir, &orig, 1, &srv);
	is_int(rc, 0, "start over a dead primary's socket");
	rc = hmi_fdclient_fetch(ctx, dir, fds, 1);
	ok(rc == 0 && has_content(fds[0], want[0]), "and clients are served");
	if (rc == 0)
		close(fds[0]);
	hmi_fdserver_stop(srv);
	close(orig);
}

static void test_bad_start(const char *dir)
{
	struct hmi_fdserver *srv = (struct hmi_fdserver *)&srv;
	int tasks = count_tasks(), fdcount, orig[2], rc, f;
	char path[256], longdir[200];
	struct stat st;

	sock_path(path, sizeof(path), dir);
	f = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	close(f);
	orig[0] = make_memfd("a");
	orig[1] = make_memfd("b");
	fdcount = count_fds();
	rc = hmi_fdserver_start(ctx, dir, orig, 2, &srv);
	is_int(rc, -EEXIST, "a regular file at fds.sock: -EEXIST");
	like(hm_errmsg(ctx), "exists and is not a socket owned by uid", "message says why");
	ok(srv == NULL, "no server handed out");
	ok(lstat(path, &st) == 0 && S_ISREG(st.st_mode), "the file is left alone");
	is_int(count_fds(), fdcount, "no descriptor left by the failed start");
	is_int(count_tasks(), tasks, "no thread left by the failed start");
	unlink(path);

	close(orig[1]);
	orig[1] = 9999; /* not open: the closed number would be reused by the first dup */
	rc = hmi_fdserver_start(ctx, dir, orig, 2, &srv);
	is_int(rc, -EBADF, "a closed descriptor in the list: -EBADF");
	like(hm_errmsg(ctx), "descriptor 9999 (backing 1 of 2)", "message names it");
	ok(path_is_gone(dir), "no socket left by the failed start");
	is_int(count_fds(), fdcount - 1, "no duplicate left by the failed start");
	close(orig[0]);

	memset(longdir, 'd', sizeof(longdir) - 1);
	longdir[0] = '/';
	longdir[sizeof(longdir) - 1] = '\0';
	rc = hmi_fdserver_start(ctx, longdir, NULL, 0, &srv);
	is_int(rc, -ENAMETOOLONG, "a runtime directory too long for a socket path");
	like(hm_errmsg(ctx), "choose a shorter runtime directory", "message gives the fix");
	is_int(hmi_fdclient_fetch(ctx, longdir, orig, 0), -ENAMETOOLONG, "the client says so too");
	is_int(hmi_fdclient_fetch(ctx, "relative/dir", orig, 0), -EINVAL,
	       "a relative directory: -EINVAL");
}

static void child_stops(int wfd, void *arg)
{
	struct hmi_fdserver *srv = arg;

	hmi_fdserver_stop(srv); /* the child's copy: must not touch the parent's */
	child_ok(wfd, 1, "stop in a forked child returns");
}

static void test_stop(const char *dir)
{
	int tasks = count_tasks(), fdcount = count_fds(), orig, fds[1], rc, f;
	struct hmi_fdserver *srv = NULL;
	char path[256];
	struct child c;
	struct stat st;

	hmi_fdserver_stop(NULL);
	ok(1, "stop(NULL) is a no-op");
	orig = make_memfd("forked");
	rc = hmi_fdserver_start(ctx, dir, &orig, 1, &srv);
	is_int(rc, 0, "start");
	child_start(&c, child_stops, srv);
	child_collect(&c, "forked child");
	ok(!path_is_gone(dir), "the child's stop leaves the parent's socket");
	is_int(count_tasks(), tasks + 1, "and the parent's thread");
	rc = hmi_fdclient_fetch(ctx, dir, fds, 1);
	ok(rc == 0 && has_content(fds[0], "forked"), "the parent still serves");
	if (rc == 0)
		close(fds[0]);

	sock_path(path, sizeof(path), dir);
	unlink(path); /* someone replaced our socket: stop must not remove theirs */
	f = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	close(f);
	hmi_fdserver_stop(srv);
	ok(lstat(path, &st) == 0 && S_ISREG(st.st_mode), "stop removes only its own socket");
	unlink(path);
	is_int(count_tasks(), tasks, "the thread is joined");
	close(orig);
	is_int(count_fds(), fdcount, "every descriptor is closed");
}

static void drop_to_nobody(void)
{
	if (setgroups(0, NULL) < 0 || setgid(NOBODY) < 0 || setuid(NOBODY) < 0)
		_exit(3);
}

static void child_nobody_denied(int wfd, void *arg)
{
	struct hm_ctx *c;
	int fds[1], rc;

	drop_to_nobody();
	if (hm_ctx_new(&c) < 0)
		_exit(2);
	rc = hmi_fdclient_fetch(c, arg, fds, 1);
	child_ok(wfd, rc == -EACCES, "uid %d behind a 0700 directory: -EACCES (got %d)", NOBODY,
		 rc);
	child_ok(wfd, strstr(hm_errmsg(c), "another user") != NULL, "message: %s", hm_errmsg(c));
	hm_ctx_free(c);
}

static void child_nobody_refused(int wfd, void *arg)
{
	struct hm_ctx *c;
	int fds[1] = {-1}, rc, before;

	drop_to_nobody();
	if (hm_ctx_new(&c) < 0)
		_exit(2);
	before = count_fds();
	rc = hmi_fdclient_fetch(c, arg, fds, 1);
	child_ok(wfd, rc == -ECONNRESET, "uid %d, socket opened up: refused (got %d)", NOBODY, rc);
	child_ok(wfd, strstr(hm_errmsg(c), "serves only its own user") != NULL, "message: %s",
		 hm_errmsg(c));
	child_ok(wfd, fds[0] == -1 && count_fds() == before, "no descriptor received");
	hm_ctx_free(c);
}

static void test_other_uid(const char *dir)
{
	struct hmi_fdserver *srv = NULL;
	int orig, fds[1], rc;
	char path[256];
	struct child c;

	if (geteuid() != 0) {
		ok(1, "# skip another uid: needs root to setuid(%d)", NOBODY);
		return;
	}
	orig = make_memfd("secret");
	rc = hmi_fdserver_start(ctx, dir, &orig, 1, &srv);
	is_int(rc, 0, "start (as root)");
	child_start(&c, child_nobody_denied, (void *)dir);
	child_collect(&c, "other uid");
	sock_path(path, sizeof(path), dir);
	ok(chmod(dir, 0711) == 0 && chmod(path, 0666) == 0, "open the directory and socket up");
	child_start(&c, child_nobody_refused, (void *)dir);
	child_collect(&c, "other uid, SO_PEERCRED");
	rc = hmi_fdclient_fetch(ctx, dir, fds, 1);
	ok(rc == 0 && has_content(fds[0], "secret"), "the server still serves its own user");
	if (rc == 0)
		close(fds[0]);
	chmod(dir, 0700);
	hmi_fdserver_stop(srv);
	close(orig);
}

static void test_sequential(const char *dir)
{
	static const char *const want[3] = {"s1", "s2", "s3"};
	struct hmi_fdserver *srv = NULL;
	int orig[3], fds[3], good = 0, before, i, k;

	for (i = 0; i < 3; i++)
		orig[i] = make_memfd(want[i]);
	is_int(hmi_fdserver_start(ctx, dir, orig, 3, &srv), 0, "start for 50 clients");
	before = count_fds();
	for (i = 0; i < 50; i++) {
		int right = hmi_fdclient_fetch(ctx, dir, fds, 3) == 0;

		for (k = 0; right && k < 3; k++) {
			right = right && same_file(fds[k], orig[k]);
			close(fds[k]);
		}
		good += right;
	}
	is_int(good, 50, "50 sequential clients all get the right files");
	is_int(count_fds_settled(before), before, "and leave no descriptor behind");
	hmi_fdserver_stop(srv);
	for (i = 0; i < 3; i++)
		close(orig[i]);
}

/* ------------------------------------------------------------ fake servers */

static int send_with_fds(int conn, const void *data, size_t len, const int *fds, size_t n)
{
	return hmi_send_fds(conn, data, len, fds, n) == (long)len ? 0 : -1;
}

enum fake { FAKE_MAGIC, FAKE_VERSION, FAKE_SHORT, FAKE_EXTRA, FAKE_EMPTY, FAKE_HEADER_FDS };

static void fake_speak(int conn, enum fake how)
{
	struct wire_header h = {WIRE_MAGIC, 1, 2};
	int fds[3] = {0, 1, 2};

	if (how == FAKE_MAGIC)
		h.magic = 0x12345678;
	if (how == FAKE_VERSION)
		h.version = 2;
	if (how == FAKE_HEADER_FDS) {
		send_with_fds(conn, &h, sizeof(h), fds, 1);
		return;
	}
	send_with_fds(conn, &h, sizeof(h), NULL, 0);
	if (how == FAKE_EXTRA)
		send_with_fds(conn, "F", 1, fds, 3);
	if (how == FAKE_EMPTY)
		send_with_fds(conn, "F", 1, NULL, 0);
}

static int fake_listen(const char *dir)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	sock_path(sa.sun_path, sizeof(sa.sun_path), dir);
	unlink(sa.sun_path);
	if (bind(s, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(s, 4) < 0) {
		close(s);
		return -1;
	}
	return s;
}

/* A fake server speaking HOW to one client; returns the client's rc. */
static int against_fake(const char *dir, enum fake how, int *leaked)
{
	int s = fake_listen(dir), fds[2] = {-1, -1}, before = count_fds(), rc;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		int conn = accept(s, NULL, NULL);

		fake_speak(conn, how);
		close(conn);
		_exit(0);
	}
	rc = hmi_fdclient_fetch(ctx, dir, fds, 2);
	*leaked = count_fds() - before;
	waitpid(pid, NULL, 0);
	close(s);
	return rc;
}

static void test_fakes(const char *dir)
{
	int leaked, s, fds[1];

	is_int(against_fake(dir, FAKE_MAGIC, &leaked), -EPROTO, "wrong magic: -EPROTO");
	like(hm_errmsg(ctx), "is not a hugemem descriptor server", "message says so");
	is_int(against_fake(dir, FAKE_VERSION, &leaked), -EPROTO, "other version: -EPROTO");
	like(hm_errmsg(ctx), "version 2, this library version 1", "message names both");
	is_int(against_fake(dir, FAKE_SHORT, &leaked), -EPROTO, "header, then hang-up: -EPROTO");
	like(hm_errmsg(ctx), "closed the connection after 0 of 2", "message counts");
	is_int(against_fake(dir, FAKE_EXTRA, &leaked), -EPROTO, "3 sent, 2 announced: -EPROTO");
	like(hm_errmsg(ctx), "more descriptors than the 2", "message says so");
	is_int(leaked, 0, "the extra and the received ones are closed");
	is_int(against_fake(dir, FAKE_EMPTY, &leaked), -EPROTO, "a batch without fds: -EPROTO");
	like(hm_errmsg(ctx), "without descriptors", "message says so");
	is_int(against_fake(dir, FAKE_HEADER_FDS, &leaked), -EPROTO, "fds on the header: -EPROTO");
	is_int(leaked, 0, "and none of them leaks");

	s = fake_listen(dir); /* listens, never answers */
	is_int(hmi_fdclient_fetch(ctx, dir, fds, 1), -ETIMEDOUT, "a server that never answers");
	like(hm_errmsg(ctx), "no answer from", "message says so");
	close(s);
	remove_dir(dir);
	mkdir(dir, 0700);
}

/* A first start and stop, so that a sanitizer's helper thread (started with
 * the first thread) is already there when the tests count threads. */
static void warm_up(const char *dir)
{
	struct hmi_fdserver *srv = NULL;

	is_int(hmi_fdserver_start(ctx, dir, NULL, 0, &srv), 0, "a first start");
	hmi_fdserver_stop(srv);
	ok(path_is_gone(dir), "and stop");
}

int main(void)
{
	char dir[64];

	if (hm_ctx_new(&ctx) < 0)
		return 1;
	make_dir(dir, sizeof(dir));
	if (!dir[0])
		return plan_skip_all("cannot create a directory in /tmp");
	warm_up(dir);
	test_basic(dir);
	test_caller_closes(dir);
	test_zero(dir);
	test_wrong_count(dir);
	test_no_server(dir);
	test_bad_start(dir);
	test_stop(dir);
	test_other_uid(dir);
	test_sequential(dir);
	test_many(dir);
	test_fakes(dir);
	remove_dir(dir);
	hm_ctx_free(ctx);
	return done();
}
