/* SPDX-License-Identifier: MIT */
/*
 * opts_fuzz.c — hm_opts_parse on whole command lines.
 *
 * The input is a list of commands, one per line ('\n'); the words of a line
 * are separated by NUL bytes, so a word may hold spaces, '=' or anything but
 * those two. The first word names the command ("init", "status", ...); a
 * name hugemem does not know gives command bits derived from its first byte,
 * so invalid bits (0, 1 << 9) are tried too. The other words are argv.
 *
 * Each line is parsed into fresh options, then the same words once more on
 * top of the result (repeated --zone names, a second -m are then errors that
 * must be reported as cleanly), then once more by hm_opts_parse_ext with a
 * small table of the program's own options (a flag, a valued option, a
 * short name) and at most 2 positional words: TAKE gets only those, with
 * values inside argv.
 *
 * Properties, for every line:
 *  - 0 or -EINVAL; a failure leaves a one-line message and *O unchanged;
 *  - a success obeys the contract of struct hm_opts: counts within their
 *    arrays, no -m with --socket-mem, a size (-m, or map's --for) only for
 *    the commands that take one, a page size that is a power of two of
 *    at least 4 KiB, a page-aligned base address, a node id in range, a
 *    file prefix that is a plain file name, zone names of the allowed
 *    characters and distinct, PCI devices in canonical form and distinct,
 *    string fields that point into argv, only
 *    known flag bits, and only options that this command takes (checked
 *    against the parser's own table, hm_opts_table).
 */
#include "fuzz.h"
#include "parse/parse.h"

#define MAX_WORDS 256
#define KNOWN_FLAGS                                                                                \
	(HM_OPT_NO_HUGE | HM_OPT_IN_MEMORY | HM_OPT_HUGE_UNLINK | HM_OPT_NO_SHCONF |               \
	 HM_OPT_SINGLE_FILE | HM_OPT_VERIFY | HM_OPT_ALLOW_UNSAFE_MOUNT)

struct line {
	char *words[MAX_WORDS];
	int n;
	const char *start, *end; /* the line's bytes: argv points inside */
};

/* The commands that take the option LONG_NAME, from the parser's table. */
static unsigned takers(const char *long_name)
{
	const struct hm_optdesc *table;
	int n = hm_opts_table(&table);

	for (int i = 0; i < n; i++)
		if (strcmp(table[i].long_name, long_name) == 0)
			return table[i].commands;
	fuzz_fail(__FILE__, __LINE__, long_name, "option not in hm_opts_table");
	return 0;
}

static void check_string(const struct line *l, const char *s, const char *name, unsigned cmd)
{
	if (!s)
		return;
	FUZZ_CHECK(s >= l->start && s < l->end, "--%s points outside argv", name);
	FUZZ_CHECK(s[0] != '\0' && strlen(s) < HM_PATH_MAX, "--%s is '%s'", name, s);
	FUZZ_CHECK(takers(name) & cmd, "--%s set for command 0x%x, which does not take it", name,
		   cmd);
}

static void check_zones(const struct hm_opts *o, unsigned cmd)
{
	FUZZ_CHECK(o->n_zones >= 0 && o->n_zones <= o->max_zones, "%d zones", o->n_zones);
	FUZZ_CHECK(o->n_zones == 0 || (takers("zone") & cmd), "zones for command 0x%x", cmd);
	for (int i = 0; i < o->n_zones; i++) {
		const struct hm_zone_spec *z = &o->zones[i];
		size_t n = strnlen(z->name, sizeof(z->name));

		FUZZ_CHECK(n > 0 && n < sizeof(z->name), "zone %d name of %zu bytes", i, n);
		FUZZ_CHECK(strspn(z->name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
					   "0123456789_.-") == n,
			   "zone name '%s'", z->name);
		FUZZ_CHECK(z->len > 0 && (z->contig == 0 || z->contig == 1), "zone '%s' %" PRIu64,
			   z->name, z->len);
		for (int j = 0; j < i; j++)
			FUZZ_CHECK(strcmp(o->zones[j].name, z->name) != 0, "zone '%s' twice",
				   z->name);
	}
}

static void check_numbers(const struct hm_opts *o, unsigned cmd)
{
	uint64_t ps = o->page_size;

	FUZZ_CHECK(!(o->mem && o->socket_mem_count), "-m and --socket-mem both set");
	FUZZ_CHECK(o->mem == 0 || ((takers("mem") | takers("for")) & cmd),
		   "-m / --for for command 0x%x", cmd);
	FUZZ_CHECK(o->socket_mem_count >= 0 && o->socket_mem_count <= HM_MAX_NODES,
		   "%d --socket-mem entries", o->socket_mem_count);
	FUZZ_CHECK(o->socket_mem_count == 0 || (takers("socket-mem") & cmd),
		   "--socket-mem for command 0x%x", cmd);
	FUZZ_CHECK(ps == 0 || (ps >= 4096 && (ps & (ps - 1)) == 0), "page size %" PRIu64, ps);
	FUZZ_CHECK(ps == 0 || (takers("page-size") & cmd), "--page-size for command 0x%x", cmd);
	FUZZ_CHECK(o->base_virtaddr % 4096 == 0, "base 0x%" PRIx64, o->base_virtaddr);
	FUZZ_CHECK(o->node >= -1 && o->node < HM_MAX_NODES, "node %d", o->node);
	FUZZ_CHECK(o->node == -1 || (takers("node") & cmd), "--node for command 0x%x", cmd);
	FUZZ_CHECK(o->iova_mode >= HM_IOVA_DEFAULT && o->iova_mode <= HM_IOVA_VA, "iova mode %d",
		   (int)o->iova_mode);
	FUZZ_CHECK(o->contig == HM_CONTIG_FAST || o->contig == HM_CONTIG_BEST, "contig %d",
		   (int)o->contig);
	FUZZ_CHECK((o->flags & ~(unsigned)KNOWN_FLAGS) == 0, "flags 0x%x", o->flags);
}

/* --vfio-device: within the array, only for the commands that take it, each
 * in its own canonical form, distinct. */
static void check_vfio_devices(const struct hm_opts *o, unsigned cmd)
{
	char again[HM_PCI_ADDR_MAX];

	FUZZ_CHECK(o->n_vfio_devices >= 0 && o->n_vfio_devices <= o->max_vfio_devices,
		   "%d devices", o->n_vfio_devices);
	FUZZ_CHECK(o->n_vfio_devices == 0 || (takers("vfio-device") & cmd),
		   "devices for command 0x%x", cmd);
	for (int i = 0; i < o->n_vfio_devices; i++) {
		FUZZ_CHECK(hmi_pci_addr_canonical(fuzz_ctx(), o->vfio_devices[i], again,
						  sizeof(again)) == 0 &&
			       strcmp(again, o->vfio_devices[i]) == 0,
			   "device '%s' is not canonical", o->vfio_devices[i]);
		for (int j = 0; j < i; j++)
			FUZZ_CHECK(strcmp(o->vfio_devices[j], o->vfio_devices[i]) != 0,
				   "device '%s' twice", o->vfio_devices[i]);
	}
}

static void check_success(const struct line *l, const struct hm_opts *o, unsigned cmd)
{
	const char *prefix = o->file_prefix;

	check_numbers(o, cmd);
	check_zones(o, cmd);
	check_vfio_devices(o, cmd);
	check_string(l, o->huge_dir, "huge-dir", cmd);
	check_string(l, prefix, "file-prefix", cmd);
	FUZZ_CHECK(!prefix || (strlen(prefix) < HM_PREFIX_MAX && !strchr(prefix, '/') &&
			       strcmp(prefix, ".") != 0 && strcmp(prefix, "..") != 0),
		   "file prefix '%s'", prefix);
}

/* Parse the line's words into *O: the properties of either outcome. */
static void parse_into(struct hm_ctx *ctx, const struct line *l, unsigned cmd, struct hm_opts *o)
{
	struct hm_opts before;
	int rc;

	memcpy(&before, o, sizeof(before)); /* padding too: memcmp below */
	rc = hm_opts_parse(ctx, o, cmd, l->n - 1, l->words + 1);

	FUZZ_CHECK(rc == 0 || rc == -EINVAL, "hm_opts_parse returned %d", rc);
	fuzz_failed(ctx, rc, "hm_opts_parse");
	if (rc < 0) {
		FUZZ_CHECK(memcmp(&before, o, sizeof(*o)) == 0, "a failure (%s) changed *o",
			   hm_errmsg(ctx));
		return;
	}
	check_success(l, o, cmd);
}

static unsigned command_of(const char *word)
{
	unsigned cmd = hm_command_from_name(word);

	FUZZ_CHECK(cmd == 0 || (cmd & (cmd - 1)) == 0, "'%s' is command bits 0x%x", word, cmd);
	if (cmd)
		return cmd;
	return word[0] ? 1u << ((unsigned char)word[0] % 10) : 0;
}

/* A program's own options beside the library's (hm_opts_parse_ext, as
 * hugemem(1) adds --json, --svg ...): what TAKE is handed. */
static const struct hm_optdesc own_table[] = {
    {"json", 0, NULL, HM_CMD_INIT | HM_CMD_STATUS, "a flag"},
    {"svg", 0, "FILE", HM_CMD_MAP, "a value"},
    {"help", 'h', NULL, HM_CMD_INIT | HM_CMD_MAP, "a flag with a short name"},
};

struct taken {
	const struct line *l;
	unsigned cmd;
	int n_args;
};

static void take(void *arg, int index, const char *value)
{
	struct taken *t = arg;

	FUZZ_CHECK(index >= -1 && index < (int)(sizeof(own_table) / sizeof(own_table[0])),
		   "take index %d", index);
	FUZZ_CHECK(value != NULL, "take value NULL for index %d", index);
	if (index < 0) {
		FUZZ_CHECK(++t->n_args <= 2, "%d positional words, at most 2", t->n_args);
		FUZZ_CHECK(value >= t->l->start && value < t->l->end, "a word outside argv");
		return;
	}
	FUZZ_CHECK(own_table[index].commands & t->cmd, "--%s for command 0x%x",
		   own_table[index].long_name, t->cmd);
	if (own_table[index].arg)
		FUZZ_CHECK(value[0] && value >= t->l->start && value < t->l->end, "--%s value '%s'",
			   own_table[index].long_name, value);
	else
		FUZZ_CHECK(value[0] == '\0', "flag --%s with value '%s'",
			   own_table[index].long_name, value);
}

/* The same words once more with the program's own options. */
static void parse_ext(struct hm_ctx *ctx, const struct line *l, unsigned cmd)
{
	struct taken t = {.l = l, .cmd = cmd};
	const struct hm_opts_ext ext = {own_table, 3, 2, take, &t};
	struct hm_zone_spec zones[HM_MAX_ZONES];
	char devices[HM_MAX_VFIO_DEVICES][HM_PCI_ADDR_MAX];
	struct hm_opts o;
	int rc;

	hm_opts_init(&o);
	o.zones = zones;
	o.max_zones = HM_MAX_ZONES;
	o.vfio_devices = devices;
	o.max_vfio_devices = HM_MAX_VFIO_DEVICES;
	rc = hm_opts_parse_ext(ctx, &o, cmd, l->n - 1, l->words + 1, &ext);
	FUZZ_CHECK(rc == 0 || rc == -EINVAL, "hm_opts_parse_ext returned %d", rc);
	fuzz_failed(ctx, rc, "hm_opts_parse_ext");
	if (rc == 0)
		check_success(l, &o, cmd);
}

static void run_line(struct hm_ctx *ctx, struct line *l)
{
	struct hm_zone_spec zones[HM_MAX_ZONES];
	char devices[HM_MAX_VFIO_DEVICES][HM_PCI_ADDR_MAX];
	struct hm_opts o;
	unsigned cmd;

	if (l->n == 0)
		return;
	cmd = command_of(l->words[0]);
	hm_opts_init(&o);
	o.zones = zones; /* the caller's arrays, as hugemem(1) gives them */
	o.max_zones = HM_MAX_ZONES;
	o.vfio_devices = devices;
	o.max_vfio_devices = HM_MAX_VFIO_DEVICES;
	parse_into(ctx, l, cmd, &o);
	parse_into(ctx, l, cmd, &o);
	parse_ext(ctx, l, cmd);
}

/* Split TEXT[0..SIZE) (a copy, NUL-terminated one past SIZE) in place. */
static void run_lines(struct hm_ctx *ctx, char *text, size_t size)
{
	char *p = text, *end = text + size;

	while (p <= end) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		char *stop = nl ? nl : end;
		struct line l = {.n = 0, .start = p, .end = stop + 1};

		*stop = '\0';
		for (char *w = p; w <= stop && l.n < MAX_WORDS; w += strlen(w) + 1)
			l.words[l.n++] = w;
		run_line(ctx, &l);
		p = stop + 1;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_text(data, size);

	run_lines(fuzz_ctx(), text, size);
	free(text);
	return 0;
}
