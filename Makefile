# hugemem — plain GNU Makefile. `make` builds into $(BUILD)/:
#   libhugemem.a, libhugemem.so (soname, only hm_* exported), the CLI `hugemem`,
#   and the unit-test programs under $(BUILD)/test/.
# Sources are found by wildcard: src/ is the library (one file per layer),
# cli/ the command line (public API only), test/unit/ the C tests.

# The release: one number in one place, the file VERSION (docs/install.md says how it is
# chosen). `make version-check` (test/version.t) fails when a copy of it disagrees: the man
# pages, include/hugemem.h, debian/changelog; `make version-set` rewrites the first two.
VERSION    := $(shell cat VERSION 2>/dev/null)
ifeq ($(VERSION),)
$(error the file VERSION is missing or empty: run make in the top directory of the tree)
endif
SOVERSION  := 0
PREFIX     ?= /usr/local
DESTDIR    ?=
LIBDIR     ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
BINDIR     ?= $(PREFIX)/bin
MANDIR     ?= $(PREFIX)/share/man
PKGDIR     ?= $(LIBDIR)/pkgconfig

BUILD  ?= build
CC     ?= cc
CFLAGS ?= -O2 -g
WARN   := -Wall -Wextra -Wshadow -Wformat=2 -Wstrict-prototypes -Wmissing-prototypes \
          -Wpointer-arith -Wvla -Wundef
ifeq ($(WERROR),1)
WARN   += -Werror
endif
# SAN=address,undefined builds everything with those sanitizers (use its own BUILD dir).
# Their own variable, not CFLAGS/LDFLAGS: a CFLAGS given on the command line
# (check-asan gives one) would silently drop them.
ifneq ($(SAN),)
SANFLAGS := -fsanitize=$(SAN) -fno-omit-frame-pointer -fno-sanitize-recover=all
endif
ALL_CFLAGS   = -std=gnu11 $(WARN) $(CFLAGS) $(SANFLAGS) -fPIC -fvisibility=hidden
ALL_LDFLAGS  = $(LDFLAGS) $(SANFLAGS)
# -Iuapi: the Linux 6.12 <linux/vfio.h> and <linux/iommufd.h> (uapi/README.md), before the
# system's older ones.
ALL_CPPFLAGS = -Iinclude -Isrc -Iuapi -D_GNU_SOURCE -DHM_VERSION='"$(VERSION)"' -MMD -MP $(CPPFLAGS)
LIBS         = -lpthread

LIB_SRC  := $(sort $(wildcard src/*/*.c))
CLI_SRC  := $(sort $(wildcard cli/*.c))
UNIT_SRC := $(sort $(wildcard test/unit/*.c))
TOOL_SRC := $(sort $(wildcard test/tools/*.c))
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
CLI_OBJ  := $(CLI_SRC:%.c=$(BUILD)/%.o)
UNIT_BIN := $(UNIT_SRC:test/unit/%.c=$(BUILD)/test/%)
TOOL_BIN := $(TOOL_SRC:test/tools/%.c=$(BUILD)/test-tools/%)
STATIC   := $(BUILD)/libhugemem.a
SHARED   := $(BUILD)/libhugemem.so.$(VERSION)
CLI      := $(BUILD)/hugemem

.PHONY: all lib cli tests check check-unit check-asan demo bench install uninstall clean format lint deps \
	abi-check abi-dump

# Each concern beyond the core build lives in its own fragment under mk/ (fuzzing, the
# NUMA guest, documentation, examples, systemd units, release). A fragment may add the name
# of a target to CHECK_EXTRA (run by `make check` after the TAP suite), INSTALL_EXTRA (run by
# `make install`) or UNINSTALL_EXTRA (by `make uninstall`: it removes what its INSTALL_EXTRA
# target installed, with the same variables).
CHECK_EXTRA     :=
INSTALL_EXTRA   :=
UNINSTALL_EXTRA :=

all: lib cli tests

lib: $(STATIC) $(SHARED) $(BUILD)/libhugemem.so
cli: $(CLI)
tests: $(UNIT_BIN) $(TOOL_BIN)

# -DHM_VERSION is on every compile: a new VERSION rebuilds everything.
$(LIB_OBJ) $(CLI_OBJ): VERSION

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -c $< -o $@

$(STATIC): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@
	ar rcs $@ $^

$(SHARED): $(LIB_OBJ) src/libhugemem.map
	$(CC) -shared -Wl,-soname,libhugemem.so.$(SOVERSION) -Wl,--version-script=src/libhugemem.map \
		-Wl,-z,defs $(ALL_LDFLAGS) -o $@ $(LIB_OBJ) $(LIBS)

$(BUILD)/libhugemem.so: $(SHARED)
	ln -sf libhugemem.so.$(VERSION) $@
	ln -sf libhugemem.so.$(VERSION) $(BUILD)/libhugemem.so.$(SOVERSION)

# The CLI links the static library: one self-contained binary.
$(CLI): $(CLI_OBJ) $(STATIC)
	$(CC) $(ALL_LDFLAGS) -o $@ $(CLI_OBJ) $(STATIC) $(LIBS)

# Unit tests link the static library so they may call internal hmi_* functions.
# options_test parses whole command lines as hugemem does: with the CLI's own
# option table (cli/opts.c) beside the library's.
$(BUILD)/test/options_test: UNIT_EXTRA = $(BUILD)/cli/opts.o
$(BUILD)/test/options_test: $(BUILD)/cli/opts.o
$(BUILD)/test/%: $(BUILD)/test/unit/%.o $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $< $(UNIT_EXTRA) $(STATIC) $(LIBS)
$(BUILD)/test/unit/%.o: test/unit/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CPPFLAGS) -Itest $(ALL_CFLAGS) -c $< -o $@

# Helper programs the shell tests run (not tests themselves).
$(BUILD)/test-tools/%: test/tools/%.c $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(STATIC) $(LIBS)

# ---------------------------------------------------------------- the two commands
demo: deps all
	@tools/demo.sh $(CLI)

# The suites run through test/setup.sh: as root it reserves the 2 MiB pages the
# real-hugepage tests need and mounts hugetlbfs when none is, for the length of
# the run only, and then makes a real test that skips for want of them fail
# (HM_REQUIRE_HUGEPAGES=1); without root it changes nothing. HM_CHECK_SETUP=0: never.
TEST_SETUP := test/setup.sh

# Unit tests (C, TAP) and shell tests (test/*.t, TAP) under prove.
check: deps all
	HM_BUILD=$(abspath $(BUILD)) $(TEST_SETUP) prove -v -f $(UNIT_BIN) $(sort $(wildcard test/*.t))
	$(if $(strip $(CHECK_EXTRA)),$(MAKE) $(CHECK_EXTRA))

check-unit: all
	HM_BUILD=$(abspath $(BUILD)) $(TEST_SETUP) prove -v -f $(UNIT_BIN)

# The unit tests once more under AddressSanitizer + UndefinedBehaviorSanitizer.
check-asan:
	$(MAKE) BUILD=$(BUILD)/asan SAN=address,undefined CFLAGS='-O1 -g' check-unit

deps:
	@tools/deps.sh

# Benchmarks against the kernel floor and DPDK (root, minutes; not a test):
# init (bench/RESULTS.md), secondary attach (bench/ATTACH.md), the heap and
# translation (bench/HEAP.md), DMA mapping per segment against per page in
# the VFIO guest (bench/dma.sh, figures in bench/DMA.md), growth at run time
# against the kernel's floor and DPDK's dynamic mode (bench/GROWTH.md).
bench: all
	bench/run.sh
	bench/attach.sh > bench/ATTACH.md
	BUILD=$(abspath $(BUILD)) bench/heap.sh > bench/HEAP.md
	bench/dma.sh
	BUILD=$(abspath $(BUILD)) bench/growth.sh > bench/GROWTH.md

# ---------------------------------------------------------------- install
# Written at install time: PREFIX and LIBDIR may differ from one install to the next.
PC_SED = s|@PREFIX@|$(PREFIX)|; s|@LIBDIR@|$(LIBDIR)|; s|@INCLUDEDIR@|$(INCLUDEDIR)|; s|@VERSION@|$(VERSION)|

install: lib cli
	install -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(BINDIR) \
		$(DESTDIR)$(PKGDIR) $(DESTDIR)$(MANDIR)/man1
	install -m 644 include/hugemem.h $(DESTDIR)$(INCLUDEDIR)/
	install -m 644 $(STATIC) $(DESTDIR)$(LIBDIR)/
	install -m 755 $(SHARED) $(DESTDIR)$(LIBDIR)/
	ln -sf libhugemem.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libhugemem.so.$(SOVERSION)
	ln -sf libhugemem.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libhugemem.so
	sed -e '$(PC_SED)' hugemem.pc.in > $(DESTDIR)$(PKGDIR)/hugemem.pc
	install -m 755 $(CLI) $(DESTDIR)$(BINDIR)/
	install -m 644 man/hugemem.1 $(DESTDIR)$(MANDIR)/man1/
	$(if $(strip $(INSTALL_EXTRA)),$(MAKE) $(INSTALL_EXTRA))

uninstall:
	rm -f $(DESTDIR)$(INCLUDEDIR)/hugemem.h $(DESTDIR)$(LIBDIR)/libhugemem.* \
		$(DESTDIR)$(PKGDIR)/hugemem.pc $(DESTDIR)$(BINDIR)/hugemem $(DESTDIR)$(MANDIR)/man1/hugemem.1
	$(if $(strip $(UNINSTALL_EXTRA)),$(MAKE) $(UNINSTALL_EXTRA))

# ---------------------------------------------------------------- habits
FORMAT_FILES = $(wildcard include/*.h src/*/*.[ch] cli/*.[ch] test/unit/*.[ch] test/*.h test/vfio/*.[ch])

format:
	@tools/deps.sh lint
	clang-format -i $(FORMAT_FILES)

# The layering (tools/layers.py: no cycle, no call or include into a later layer of
# src/layers.txt) is read from the objects' symbol tables, so it needs the library built.
lint: lib abi-check
	@tools/deps.sh lint
	tools/layers.py $(BUILD)
	cppcheck --quiet --error-exitcode=1 --enable=warning,portability,performance \
		--inline-suppr --suppress=missingIncludeSystem -D_GNU_SOURCE -Iinclude -Isrc -Iuapi src cli
	clang-tidy --quiet $(LIB_SRC) $(CLI_SRC) -- -std=gnu11 -D_GNU_SOURCE -DHM_VERSION='"$(VERSION)"' -Iinclude -Isrc -Iuapi

# ---------------------------------------------------------------- ABI
# abi/libhugemem.abi is the ABI of this release, HUGEMEM_0 (abidw from the built
# library; only the types of include/ count). `make abi-check` (run by `make lint`, so
# CI runs it) checks that src/libhugemem.map, include/hugemem.h and the library's
# exports name the same functions, then compares the library just built with the dump
# (abidiff, tools/abi-check.sh) and fails on a removed or changed function or public
# type, printing abidiff's report. `make abi-dump` records a new ABI on purpose.
ABI_DUMP    := abi/libhugemem.abi
# Locations stay in the dump (file names only): abidiff needs them to tell the public
# types (--headers-dir) from private ones; without them (--no-show-locs) an inserted
# member of a public struct went unreported. Line numbers going stale when comments of
# the header move is harmless (abidiff does not compare them).
ABIDW_FLAGS := --headers-dir include --drop-private-types --drop-undefined-syms \
	       --no-corpus-path --no-comp-dir-path --short-locs

abi-check: $(SHARED)
	@tools/deps.sh lint
	tools/check-symbols.sh $(SHARED)
	tools/abi-check.sh $(ABI_DUMP) $(SHARED)

abi-dump: $(SHARED)
	@tools/deps.sh lint
	abidw $(ABIDW_FLAGS) --out-file $(ABI_DUMP) $(SHARED)

clean:
	rm -rf $(BUILD)

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(UNIT_SRC:test/unit/%.c=$(BUILD)/test/unit/%.d)

# Fragments last: they may use every variable above.
-include $(sort $(wildcard mk/*.mk))
