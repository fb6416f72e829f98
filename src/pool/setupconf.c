/* SPDX-License-Identifier: MIT */
/*
 * pool/setupconf.c — the set-up recorded for the next boots:
 * /etc/hugemem/setup.conf, which hugemem-setup.service applies at every boot
 * (hugemem setup --from-config), and, when it asks for gigantic pages, the
 * kernel command line that reserves them at boot, as a GRUB snippet
 * (/etc/default/grub.d/hugemem.cfg). Both below the context's root.
 *
 * The file is text an administrator may read and edit: '#' starts a comment
 * line, every other line is one set-up, words "key=value" separated by
 * blanks:
 *
 *     size=2G page-size=2M
 *     size=4G page-size=1G node=0 mount=/dev/hugepages1G
 *
 * keys size (required), page-size, node, mount (an absolute path without
 * blanks), uid, gid, mode (octal). hm_setup_persist writes one line per page
 * size and node, replacing the line of the same page size and node and
 * keeping every other line (comments too) as it was; a line it cannot parse
 * is refused, named, before anything is written. Files are written whole to
 * a new file, synced, and renamed over the old one: a crash leaves the old
 * file or the new, never half of one.
 *
 * What boot does as root comes from this file, so it is read only when it
 * is a regular file (not a symbolic link), owned by root (or the user
 * reading it) and writable by no one else: otherwise another user could
 * decide what root mounts where.
 *
 * The GRUB snippet adds the command line to GRUB_CMDLINE_LINUX_DEFAULT; it
 * takes effect once update-grub has run, which hugemem never runs (a boot
 * loader is the administrator's).
 */
#include "base/ctx.h"
#include "pool/pool.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CONF_PATH    "/etc/hugemem/setup.conf"
#define GRUB_PATH    "/etc/default/grub.d/hugemem.cfg"
#define CONF_MAX     (64 << 10) /* bytes: thousands of lines */
#define CONF_ENTRIES 1024

static const char conf_header[] =
    "# hugemem set-up, applied at every boot by hugemem-setup.service (hugemem setup\n"
    "# --from-config): each line grows the pool of one page size (on one NUMA node)\n"
    "# to at least SIZE, mounts hugetlbfs when none serves the size, and puts the\n"
    "# free pool in order. Written by `hugemem setup --persist`; edit it freely.\n"
    "#   size=SIZE [page-size=SZ] [node=N] [mount=DIR] [uid=U] [gid=G] [mode=OCTAL]\n";

/* ------------------------------------------------------------------ one line */

/* DIR can be written on a line and read back: absolute, no blank, no
 * control character. */
static int check_dir_word(struct hm_ctx *ctx, const char *dir)
{
	if (dir[0] != '/')
		return hmi_err(ctx, EINVAL, "mount point '%.200s' is not an absolute path", dir);
	for (const unsigned char *p = (const unsigned char *)dir; *p; p++)
		if (*p <= ' ' || *p == 0x7f)
			return hmi_err(ctx, EINVAL,
				       "mount point '%.200s' holds a blank or control character: "
				       "%s cannot record it; choose a plain path",
				       dir, CONF_PATH);
	return 0;
}

/* S as a line of the file, "size=2G page-size=2M node=0", into BUF. */
int hmi_setup_conf_line(struct hm_ctx *ctx, const struct hm_setup *s, char *buf, size_t len)
{
	char size[32], page[32];
	size_t used;
	int rc = s->mount_dir ? check_dir_word(ctx, s->mount_dir) : 0;

	if (rc < 0)
		return rc;
	if (s->bytes == 0 || s->bytes % 1024 || s->page_size % 1024)
		return hmi_err(ctx, EINVAL,
			       "a set-up of %" PRIu64 " bytes cannot be recorded: "
			       "give whole KiB",
			       s->bytes);
	hmi_format_size_short(s->bytes, size, sizeof(size));
	hmi_format_size_short(s->page_size, page, sizeof(page));
	used = (size_t)snprintf(buf, len, "size=%s", size);
	if (s->page_size && used < len)
		used += (size_t)snprintf(buf + used, len - used, " page-size=%s", page);
	if (s->node >= 0 && used < len)
		used += (size_t)snprintf(buf + used, len - used, " node=%d", s->node);
	if (s->mount_dir && used < len)
		used += (size_t)snprintf(buf + used, len - used, " mount=%s", s->mount_dir);
	if (s->uid != (uid_t)-1 && used < len)
		used += (size_t)snprintf(buf + used, len - used, " uid=%u", (unsigned)s->uid);
	if (s->gid != (gid_t)-1 && used < len)
		used += (size_t)snprintf(buf + used, len - used, " gid=%u", (unsigned)s->gid);
	if (s->mode != (mode_t)-1 && used < len)
		used += (size_t)snprintf(buf + used, len - used, " mode=%04o", (unsigned)s->mode);
	if (used >= len)
		return hmi_err(ctx, ENAMETOOLONG, "the set-up's line does not fit %zu bytes", len);
	return 0;
}

/* A whole number in BASE at most MAX, nothing after it. */
static int word_number(struct hm_ctx *ctx, const char *v, unsigned base, uint64_t max,
		       uint64_t *out)
{
	const char *stop;
	int rc = hmi_scan_u64(v, NULL, base, out, &stop);

	if (rc == 0 && *stop)
		rc = -EINVAL;
	if (rc == 0 && *out > max)
		rc = -ERANGE;
	if (rc < 0)
		return hmi_err(ctx, -rc, "'%.64s' is not a %s number up to %" PRIu64, v,
			       base == 8 ? "octal" : "decimal", max);
	return 0;
}

/* A size word: hm_parse_size's grammar; a page size a power of two. */
static int word_size(struct hm_ctx *ctx, const char *v, int page, uint64_t *out)
{
	int rc = hm_parse_size(ctx, v, out);

	if (rc < 0)
		return rc;
	if (page && (*out < 4096 || (*out & (*out - 1))))
		return hmi_err(ctx, EINVAL, "page size '%.64s' is not a power of two of 4K or more",
			       v);
	if (!page && *out == 0)
		return hmi_err(ctx, EINVAL, "size 0 adds nothing: a set-up only grows the pool");
	return 0;
}

/* node=, uid=, gid= (decimal), mode= (octal) into S. */
static int set_number(struct hm_ctx *ctx, const char *key, const char *v, struct hm_setup *s)
{
	int mode = strcmp(key, "mode") == 0, node = strcmp(key, "node") == 0;
	uint64_t n = 0, max = mode ? 07777 : node ? HM_MAX_NODES - 1 : 0xfffffffe;
	int rc = word_number(ctx, v, mode ? 8 : 10, max, &n);

	if (rc < 0)
		return rc;
	if (mode)
		s->mode = (mode_t)n;
	else if (node)
		s->node = (int)n;
	else if (strcmp(key, "uid") == 0)
		s->uid = (uid_t)n;
	else
		s->gid = (gid_t)n;
	return 0;
}

/* KEY=V into S; mount= into *DIR (malloc'd). */
static int set_word(struct hm_ctx *ctx, const char *key, const char *v, struct hm_setup *s,
		    char **dir)
{
	int rc;

	if (strcmp(key, "size") == 0)
		return word_size(ctx, v, 0, &s->bytes);
	if (strcmp(key, "page-size") == 0)
		return word_size(ctx, v, 1, &s->page_size);
	if (strcmp(key, "mount") == 0) {
		rc = check_dir_word(ctx, v);
		if (rc == 0 && strlen(v) >= HM_PATH_MAX)
			rc = hmi_err(ctx, ENAMETOOLONG, "mount point '%.64s...' is too long", v);
		if (rc == 0 && !(*dir = strdup(v)))
			rc = hmi_err(ctx, ENOMEM, "out of memory");
		return rc;
	}
	if (strcmp(key, "node") == 0 || strcmp(key, "uid") == 0 || strcmp(key, "gid") == 0 ||
	    strcmp(key, "mode") == 0)
		return set_number(ctx, key, v, s);
	return hmi_err(ctx, EINVAL,
		       "unknown key '%.32s' (keys: size, page-size, node, mount, uid, gid, mode)",
		       key);
}

static const char *const line_keys[] = {"size", "page-size", "node", "mount", "uid", "gid", "mode"};

/* The bit of KEY in a set of keys seen; 0 for an unknown key. */
static unsigned key_bit(const char *key)
{
	for (size_t i = 0; i < HMI_ARRAY_SIZE(line_keys); i++)
		if (strcmp(key, line_keys[i]) == 0)
			return 1u << i;
	return 0;
}

/* One word "key=value" of a line. */
static int parse_word(struct hm_ctx *ctx, char *word, struct hm_setup *s, char **dir,
		      unsigned *seen)
{
	char *eq = strchr(word, '=');
	unsigned bit;

	if (!eq || eq == word)
		return hmi_err(ctx, EINVAL, "'%.64s' is not key=value", word);
	*eq = '\0';
	bit = key_bit(word);
	if (bit & *seen)
		return hmi_err(ctx, EINVAL, "%s= is given twice", word);
	*seen |= bit;
	return set_word(ctx, word, eq + 1, s, dir);
}

/* The set-up on LINE (NUL-terminated, changed in place): 1 and *S (its
 * mount_dir malloc'd), 0 for a comment or a blank line, -errno. */
static int parse_line(struct hm_ctx *ctx, char *line, struct hm_setup *s)
{
	char *save = NULL, *word, *dir = NULL;
	unsigned seen = 0;
	int rc = 0;

	*s = (struct hm_setup){.node = -1, .uid = (uid_t)-1, .gid = (gid_t)-1, .mode = (mode_t)-1};
	line += strspn(line, " \t");
	if (line[0] == '#' || line[0] == '\0')
		return 0;
	for (word = strtok_r(line, " \t", &save); word && rc == 0;
	     word = strtok_r(NULL, " \t", &save)) {
		for (const unsigned char *p = (const unsigned char *)word; *p && rc == 0; p++)
			if (*p < ' ' || *p == 0x7f)
				rc = hmi_err(ctx, EINVAL, "a control character (0x%02x)", *p);
		if (rc == 0)
			rc = parse_word(ctx, word, s, &dir, &seen);
	}
	if (rc == 0 && !(seen & key_bit("size")))
		rc = hmi_err(ctx, EINVAL, "no size= (the pool to reach, e.g. size=1G)");
	if (rc < 0) {
		free(dir);
		return rc;
	}
	s->mount_dir = dir;
	return 1;
}

/* ------------------------------------------------------------------ the file */

static void free_entries(struct hm_setup *setups, int n)
{
	for (int i = 0; setups && i < n; i++)
		free((char *)setups[i].mount_dir);
	free(setups);
}

void hm_setup_list_free(struct hm_setup_list *list)
{
	if (!list)
		return;
	free_entries(list->setups, list->n);
	free(list);
}

/* The next line of *TEXT into a copy in BUF (LEN bytes), *TEXT past it. */
static int next_line(struct hm_ctx *ctx, const char **text, char *buf, size_t len)
{
	size_t n = strcspn(*text, "\n");

	if (n >= len)
		return hmi_err(ctx, EFBIG, "a line longer than %zu bytes", len - 1);
	memcpy(buf, *text, n);
	buf[n] = '\0';
	*text += n + ((*text)[n] == '\n');
	return 0;
}

/* Append S to LIST (its mount_dir becomes the list's). */
static int list_add(struct hm_ctx *ctx, struct hm_setup_list *list, size_t *cap,
		    const struct hm_setup *s)
{
	void *arr = list->setups;
	int rc = list->n >= CONF_ENTRIES ? hmi_err(ctx, EFBIG, "more than %d set-ups", CONF_ENTRIES)
					 : hmi_array_reserve(ctx, &arr, cap, (size_t)list->n + 1,
							     sizeof(*s), 8, "set-ups");

	list->setups = arr;
	if (rc < 0) {
		free((char *)s->mount_dir);
		return rc;
	}
	list->setups[list->n++] = *s;
	return 0;
}

/* Every set-up of TEXT (the file NAME) into LIST; a line that does not
 * parse is -errno naming NAME and the line. */
int hmi_setup_conf_parse(struct hm_ctx *ctx, const char *text, const char *name,
			 struct hm_setup_list *list)
{
	char line[HM_PATH_MAX + 256], msg[HMI_ERR_MAX];
	struct hm_setup s;
	size_t cap = 0;
	int rc = 0;

	for (int no = 1; rc == 0 && *text; no++) {
		rc = next_line(ctx, &text, line, sizeof(line));
		if (rc == 0)
			rc = parse_line(ctx, line, &s);
		if (rc > 0)
			rc = list_add(ctx, list, &cap, &s);
		if (rc < 0) {
			snprintf(msg, sizeof(msg), "%s", hm_errmsg(ctx));
			return hmi_err(ctx, -rc, "%s line %d: %s", name, no, msg);
		}
	}
	return 0;
}

/* The whole of FD (the file PATH, checked) into *TEXT, malloc'd: read from
 * the descriptor that was checked, never the path again (it may be another
 * file by now). */
static int read_checked(struct hm_ctx *ctx, int fd, const char *path, char **text)
{
	size_t len = 0;
	char *buf = malloc(CONF_MAX + 1);
	ssize_t n = 1;

	if (!buf)
		return hmi_err(ctx, ENOMEM, "out of memory reading %s", path);
	while (n > 0 && len <= CONF_MAX) {
		n = read(fd, buf + len, CONF_MAX + 1 - len);
		if (n < 0 && errno == EINTR)
			n = 1;
		else if (n > 0)
			len += (size_t)n;
	}
	if (n < 0 || len > CONF_MAX || memchr(buf, '\0', len)) {
		int err = n < 0 ? errno : len > CONF_MAX ? EFBIG : EINVAL;

		free(buf);
		return hmi_err(ctx, err, "cannot read %s: %s", path,
			       err == EFBIG    ? "larger than 64 KiB"
			       : err == EINVAL ? "it holds a NUL byte: not a text file"
					       : strerror(err));
	}
	buf[len] = '\0';
	*text = buf;
	return 0;
}

/* The file at PATH into *TEXT (malloc'd; NULL when it does not exist),
 * when it is one root can trust. O_NONBLOCK: a FIFO planted there must not
 * hang the boot (it is then refused as no regular file). */
static int read_conf(struct hm_ctx *ctx, const char *path, char **text)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC), rc = 0;

	*text = NULL;
	if (fd < 0 && errno == ENOENT)
		return 0;
	if (fd < 0 && errno == ELOOP)
		return hmi_err(ctx, ELOOP, "%s is a symbolic link: not reading it", path);
	if (fd < 0)
		return hmi_err(ctx, errno, "cannot open %s: %s", path, strerror(errno));
	if (fstat(fd, &st) < 0)
		rc = hmi_err(ctx, errno, "cannot stat %s: %s", path, strerror(errno));
	else if (!S_ISREG(st.st_mode))
		rc = hmi_err(ctx, EINVAL, "%s is not a regular file", path);
	else if ((st.st_uid != 0 && st.st_uid != geteuid()) || (st.st_mode & 022))
		rc = hmi_err(ctx, EPERM,
			     "%s may be changed by others than root (owner uid %u, mode %04o): "
			     "not trusting it; chown root and chmod go-w it",
			     path, (unsigned)st.st_uid, (unsigned)st.st_mode & 07777);
	if (rc == 0)
		rc = read_checked(ctx, fd, path, text);
	close(fd);
	return rc;
}

int hm_setup_config_read(struct hm_ctx *ctx, struct hm_setup_list **out)
{
	struct hm_setup_list *list;
	char *text = NULL;
	int rc;

	hmi_err_clear(ctx);
	if (!out)
		return hmi_err(ctx, EINVAL, "hm_setup_config_read: no place for the list (NULL)");
	*out = NULL;
	list = calloc(1, sizeof(*list));
	if (!list)
		return hmi_err(ctx, ENOMEM, "out of memory");
	rc = hmi_path(ctx, list->config, sizeof(list->config), CONF_PATH);
	if (rc == 0)
		rc = read_conf(ctx, list->config, &text);
	if (rc == 0 && text)
		rc = hmi_setup_conf_parse(ctx, text, list->config, list);
	free(text);
	if (rc < 0) {
		hm_setup_list_free(list);
		return rc;
	}
	*out = list;
	return list->n;
}

/* ------------------------------------------------------------------ persist */

/* The file's new text and the set-ups it holds. */
struct merged {
	char *text;
	size_t len, cap;
	struct hm_setup_list list;
	size_t list_cap;
	int replaced;
};

/* N bytes of S, and a newline when NL, at the end of M's text. */
static int append(struct hm_ctx *ctx, struct merged *m, const char *s, size_t n, int nl)
{
	void *arr = m->text;
	int rc = hmi_array_reserve(ctx, &arr, &m->cap, m->len + n + 2, 1, 1024, "the file's text");

	m->text = arr;
	if (rc < 0)
		return rc;
	memcpy(m->text + m->len, s, n);
	m->len += n;
	if (nl)
		m->text[m->len++] = '\n';
	m->text[m->len] = '\0';
	return 0;
}

/* The line of S (LINE) in the text, S in the list (its mount_dir copied). */
static int add_own(struct hm_ctx *ctx, struct merged *m, const struct hm_setup *s, const char *line)
{
	struct hm_setup copy = *s;
	int rc = append(ctx, m, line, strlen(line), 1);

	copy.mount_dir = NULL;
	if (rc == 0 && s->mount_dir && !(copy.mount_dir = strdup(s->mount_dir)))
		rc = hmi_err(ctx, ENOMEM, "out of memory");
	if (rc == 0)
		rc = list_add(ctx, &m->list, &m->list_cap, &copy);
	m->replaced = 1;
	return rc;
}

/* One line of the old file, RAW: kept as it was unless it is the set-up of
 * S's page size and node, which LINE replaces (once). */
static int merge_line(struct hm_ctx *ctx, struct merged *m, const char *raw,
		      const struct hm_setup *s, const char *line)
{
	char work[HM_PATH_MAX + 256];
	struct hm_setup e;
	int rc;

	snprintf(work, sizeof(work), "%s", raw);
	rc = parse_line(ctx, work, &e);
	if (rc <= 0)
		return rc < 0 ? rc : append(ctx, m, raw, strlen(raw), 1);
	if (e.page_size == s->page_size && e.node == s->node) {
		free((char *)e.mount_dir);
		return m->replaced ? 0 : add_own(ctx, m, s, line);
	}
	rc = append(ctx, m, raw, strlen(raw), 1);
	if (rc == 0)
		return list_add(ctx, &m->list, &m->list_cap, &e);
	free((char *)e.mount_dir);
	return rc;
}

/* The new text of the file NAME (OLD: its text, NULL when new): S's LINE in
 * place of the line of its page size and node, or appended. */
static int merge(struct hm_ctx *ctx, const char *name, const char *old, const struct hm_setup *s,
		 const char *line, struct merged *m)
{
	char raw[HM_PATH_MAX + 256], msg[HMI_ERR_MAX];
	int rc = old ? 0 : append(ctx, m, conf_header, strlen(conf_header), 0);

	for (int no = 1; rc == 0 && old && *old; no++) {
		rc = next_line(ctx, &old, raw, sizeof(raw));
		if (rc == 0)
			rc = merge_line(ctx, m, raw, s, line);
		if (rc < 0) {
			snprintf(msg, sizeof(msg), "%s", hm_errmsg(ctx));
			return hmi_err(ctx, -rc, "%s line %d: %s: fix or remove it first", name, no,
				       msg);
		}
	}
	return rc == 0 && !m->replaced ? add_own(ctx, m, s, line) : rc;
}

/* The gigantic page sizes LIST asks for, ascending, into SIZES (at most MAX). */
static int gigantic_sizes(const struct hm_setup_list *list, uint64_t *sizes, int max)
{
	int n = 0;

	for (int i = 0; i < list->n; i++) {
		uint64_t ps = list->setups[i].page_size;
		int at = 0;

		if (ps < HMI_GIGANTIC_PAGE)
			continue;
		while (at < n && sizes[at] < ps)
			at++;
		if ((at < n && sizes[at] == ps) || n == max)
			continue;
		memmove(sizes + at + 1, sizes + at, (size_t)(n - at) * sizeof(*sizes));
		sizes[at] = ps;
		n++;
	}
	return n;
}

/* "hugepagesz=1G hugepages=0:2,1:4" for PAGE_SIZE: the lines of one node
 * each (the largest per node), else the system-wide line's count. */
static void size_cmdline(const struct hm_setup_list *list, uint64_t page_size, char *buf,
			 size_t len)
{
	uint64_t per_node[HM_MAX_NODES] = {0}, pages[HM_MAX_NODES], spread = 0;
	int nodes[HM_MAX_NODES], n = 0;

	for (int i = 0; i < list->n; i++) {
		const struct hm_setup *e = &list->setups[i];
		uint64_t want = e->bytes / page_size + (e->bytes % page_size != 0);

		if (e->page_size != page_size)
			continue;
		if (e->node < 0)
			spread = want > spread ? want : spread;
		else if (want > per_node[e->node])
			per_node[e->node] = want;
	}
	for (int node = 0; node < HM_MAX_NODES; node++) {
		if (!per_node[node])
			continue;
		nodes[n] = node;
		pages[n++] = per_node[node];
	}
	if (n == 0) {
		nodes[0] = -1;
		pages[n++] = spread;
	}
	hmi_setup_cmdline(page_size, nodes, pages, n, buf, len);
}

/* The kernel command line that reserves LIST's gigantic pages at boot, the
 * smallest gigantic size as the default; "" when it asks for none. */
static void boot_cmdline(const struct hm_setup_list *list, char *buf, size_t len)
{
	uint64_t sizes[HM_MAX_PAGE_SIZES];
	int n = gigantic_sizes(list, sizes, HM_MAX_PAGE_SIZES);
	char size[32], part[256];
	size_t used;

	buf[0] = '\0';
	if (n == 0)
		return;
	hmi_format_size_short(sizes[0], size, sizeof(size));
	used = (size_t)snprintf(buf, len, "default_hugepagesz=%s", size);
	for (int i = 0; i < n && used < len; i++) {
		size_cmdline(list, sizes[i], part, sizeof(part));
		used += (size_t)snprintf(buf + used, len - used, " %s", part);
	}
}

/* Every directory of REL ("/etc/default/grub.d") below the root, made 0755
 * when missing. */
static int make_dirs(struct hm_ctx *ctx, const char *rel)
{
	char part[HM_PATH_MAX], path[HM_PATH_MAX];
	int rc = 0;

	for (const char *slash = strchr(rel + 1, '/'); rc == 0; slash = strchr(slash + 1, '/')) {
		snprintf(part, sizeof(part), "%.*s", slash ? (int)(slash - rel) : (int)strlen(rel),
			 rel);
		rc = hmi_path(ctx, path, sizeof(path), "%s", part);
		if (rc == 0 && mkdir(path, 0755) < 0 && errno != EEXIST)
			rc = hmi_err(ctx, errno, "cannot create %s: %s", path, strerror(errno));
		if (!slash)
			break;
	}
	return rc;
}

static int write_all(int fd, const char *text, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, text, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		text += n;
		len -= (size_t)n;
	}
	return 0;
}

/* TEXT as the whole of the file REL (its directory made): written to a new
 * file, synced, renamed over the old one; PATH gets where. */
static int write_file(struct hm_ctx *ctx, const char *rel_dir, const char *path, const char *text)
{
	char tmp[HM_PATH_MAX];
	int fd, rc = make_dirs(ctx, rel_dir);

	if (rc < 0)
		return rc;
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.%d.tmp", path, (int)getpid()) >= sizeof(tmp))
		return hmi_err(ctx, ENAMETOOLONG, "%s: path too long", path);
	unlink(tmp); /* a crashed run's, of this pid: O_EXCL would refuse it */
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return hmi_err(ctx, errno, "cannot create %s: %s", tmp, strerror(errno));
	rc = fchmod(fd, 0644) < 0 ? -errno : write_all(fd, text, strlen(text));
	if (rc == 0 && fsync(fd) < 0)
		rc = -errno;
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && rename(tmp, path) < 0)
		rc = -errno;
	if (rc < 0) {
		unlink(tmp);
		return hmi_err(ctx, -rc, "cannot write %s: %s", path, strerror(-rc));
	}
	return 0;
}

/* The GRUB snippet that adds CMDLINE to the kernel's command line. */
static void grub_text(const char *cmdline, char *buf, size_t len)
{
	snprintf(buf, len,
		 "# Written by `hugemem setup --persist` from " CONF_PATH ": the gigantic\n"
		 "# hugepages it asks for, reserved by the kernel at boot, before memory\n"
		 "# fragments (hugepages=NODE:COUNT needs Linux 5.16 or later). Takes effect\n"
		 "# once update-grub has run (as root) and the machine has rebooted: hugemem\n"
		 "# never runs it. With another boot loader, add the same words to the kernel\n"
		 "# command line. default_hugepagesz makes it the default page size.\n"
		 "GRUB_CMDLINE_LINUX_DEFAULT=\"$GRUB_CMDLINE_LINUX_DEFAULT %s\"\n",
		 cmdline);
}

/* The set-up PLAN records: the size it reaches in its resolved page size,
 * its node, and the mount only when one was asked. */
static void plan_setup(const struct hm_setup_plan *plan, struct hm_setup *s)
{
	*s = (struct hm_setup){.bytes = hmi_mul_sat(plan->pages_want, plan->page_size),
			       .page_size = plan->page_size,
			       .node = plan->node,
			       .mount_dir = plan->mount_dir_given ? plan->mount_dir : NULL,
			       .uid = plan->uid,
			       .gid = plan->gid,
			       .mode = plan->mode};
}

/* FILES' paths, PLAN's line and the new text of the configuration in M. */
static int persist_text(struct hm_ctx *ctx, const struct hm_setup_plan *plan,
			struct hm_setup_files *files, struct merged *m)
{
	struct hm_setup s;
	char *old = NULL;
	int rc;

	plan_setup(plan, &s);
	rc = hmi_path(ctx, files->config, sizeof(files->config), CONF_PATH);
	if (rc == 0)
		rc = hmi_setup_conf_line(ctx, &s, files->line, sizeof(files->line));
	if (rc == 0)
		rc = read_conf(ctx, files->config, &old);
	if (rc == 0)
		rc = merge(ctx, files->config, old, &s, files->line, m);
	free(old);
	if (rc == 0)
		boot_cmdline(&m->list, files->cmdline, sizeof(files->cmdline));
	if (rc == 0 && files->cmdline[0])
		rc = hmi_path(ctx, files->cmdline_file, sizeof(files->cmdline_file), GRUB_PATH);
	return rc;
}

int hm_setup_persist(struct hm_ctx *ctx, const struct hm_setup_plan *plan, int dry_run,
		     struct hm_setup_files *files)
{
	struct hm_setup_files mine = {0};
	struct merged m = {0};
	char grub[1024];
	int rc;

	hmi_err_clear(ctx);
	if (!plan || plan->page_size == 0)
		return hmi_err(ctx, EINVAL,
			       "hm_setup_persist: no plan given (hm_setup_plan makes it)");
	files = files ? files : &mine;
	memset(files, 0, sizeof(*files));
	rc = persist_text(ctx, plan, files, &m);
	if (rc == 0 && !dry_run)
		rc = write_file(ctx, "/etc/hugemem", files->config, m.text);
	if (rc == 0 && !dry_run && files->cmdline[0]) {
		grub_text(files->cmdline, grub, sizeof(grub));
		rc = write_file(ctx, "/etc/default/grub.d", files->cmdline_file, grub);
	}
	free(m.text);
	free_entries(m.list.setups, m.list.n);
	return rc;
}
