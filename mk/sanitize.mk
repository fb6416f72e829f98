# mk/sanitize.mk — the whole test suite under sanitizers (issue 8).
#
#   make check-asan-all   build everything (library, CLI, unit tests, test tools) with
#                         AddressSanitizer + UndefinedBehaviorSanitizer into $(ASAN_DIR),
#                         then run every unit test AND every shell test (test/*.t, the
#                         real-hugepage ones included) against that build under prove
#   make check-valgrind   the unit tests, then one primary/secondary round trip per backing
#                         (hugemem init --hold + hugemem attach --verify), under valgrind
#                         memcheck: any error, or any leak "definitely lost", fails
#
# Neither is part of `make check` (CHECK_EXTRA): CI calls them from .ci/run. Both take the
# real-hugepage tests' rules (root, the machine lock, a free pool; skipped otherwise, failed
# under HM_REQUIRE_HUGEPAGES=1), and run through test/setup.sh as `make check` does (as
# root: the pool and a mount for the run, then put back).
#
# check-asan-all, what "clean" means: a sanitizer report fails the run even when the test
# that ran the program ignores its exit status or its standard error (`hugemem clear
# >/dev/null`, a killed holder's stderr): every report is written to a log directory
# (ASAN_OPTIONS/UBSAN_OPTIONS log_path; mode 1777, as tests also run programs as nobody),
# and any file there fails the target, printed. Exit codes 86 (ASan) and 87 (UBSan) keep a
# sanitizer abort from passing for hugemem's own "exit 1" in tests that expect a refusal.
# Programs the tests compile themselves against the instrumented library (the install,
# help and examples tests) need the sanitizer runtimes too: a `cc` wrapper first in PATH
# adds -fsanitize to every compile and link. The crash torture runs SAN_TORTURE_KILLS kills
# per part (30, not 100: a start costs ~2.5x under ASan; `make check` runs the full 100).
#
# The sanitizer flags go into CFLAGS on the sub-make's command line: SAN= alone adds them
# with `CFLAGS +=`, which a command-line CFLAGS overrides (as the Makefile's own check-asan
# does with CFLAGS='-O1 -g'), leaving objects uninstrumented. A $(ASAN_DIR) built that way
# (no __asan_report in its library) is thrown away first.

ASAN_DIR          ?= $(BUILD)/asan
SAN_CFLAGS        := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer \
                     -fno-sanitize-recover=all
SAN_TORTURE_KILLS ?= 30
SAN_JOBS          ?= 2
SAN_REAL_CC        = $(shell command -v $(firstword $(CC)))
ASAN_UNIT_BIN      = $(UNIT_SRC:test/unit/%.c=$(ASAN_DIR)/test/%)
SAN_TESTS          = $(sort $(wildcard test/*.t))

VALGRIND_CMD ?= valgrind -q --error-exitcode=1 --leak-check=full \
                --errors-for-leak-kinds=definite --show-leak-kinds=definite

.PHONY: check-asan-all asan-all-build check-valgrind

asan-all-build:
	@tools/sanitize-deps.sh asan
	@if [ -e $(ASAN_DIR)/libhugemem.a ] && ! nm $(ASAN_DIR)/libhugemem.a 2>/dev/null | \
		grep -q __asan_report; then \
		echo "$(ASAN_DIR) was built without instrumentation: rebuilding it"; rm -rf $(ASAN_DIR); fi
	$(MAKE) --no-print-directory -j$(SAN_JOBS) BUILD=$(ASAN_DIR) SAN=address,undefined \
		CFLAGS='$(SAN_CFLAGS)' all
	@mkdir -p $(ASAN_DIR)/bin
	@printf '#!/bin/sh\nexec %s -fsanitize=address,undefined "$$@"\n' '$(SAN_REAL_CC)' \
		>$(ASAN_DIR)/bin/cc && chmod 755 $(ASAN_DIR)/bin/cc

check-asan-all: deps asan-all-build
	@logs=$$(mktemp -d /tmp/hugemem-san.XXXXXX) && chmod 1777 $$logs; \
	start=$$(date +%s); \
	PATH=$(abspath $(ASAN_DIR))/bin:$$PATH HM_BUILD=$(abspath $(ASAN_DIR)) \
	HM_TORTURE_KILLS=$(SAN_TORTURE_KILLS) \
	ASAN_OPTIONS=log_path=$$logs/asan:exitcode=86:detect_leaks=1 \
	UBSAN_OPTIONS=log_path=$$logs/ubsan:print_stacktrace=1:exitcode=87 \
		$(TEST_SETUP) prove -f $(ASAN_UNIT_BIN) $(SAN_TESTS); rc=$$?; \
	echo "check-asan-all: $$(($$(date +%s) - start)) s"; \
	if [ -n "$$(ls -A $$logs)" ]; then \
		for f in $$logs/*; do echo "== $$f"; cat "$$f"; done; \
		echo "check-asan-all: sanitizer reports above (kept in $$logs)"; exit 1; fi; \
	rmdir $$logs; exit $$rc

# One round trip per backing, as TAP on the terminal; $(BUILD) is the plain build.
define VALGRIND_ROUNDTRIP
. test/lib.sh
t_require_hugepages 40
vg="$$VALGRIND_CMD"
tmp=$$(mktemp -d)
pfx=vg$$$$
pid=""
trap '[ -n "$$pid" ] && kill -9 "$$pid"; exec 8>&-; wait; rm -rf "$$tmp"; rm -f "$$HM_MNT/$$pfx"map_*' EXIT
before=$$(t_pool)
for mode in page-files --in-memory --single-file-segments; do
	m=""
	[ "$$mode" = page-files ] || m=$$mode
	rm -f "$$tmp/in"
	mkfifo "$$tmp/in"
	$$vg "$$HUGEMEM" init -m 64 --hold --file-prefix "$$pfx" $$m <"$$tmp/in" >"$$tmp/out" 2>"$$tmp/err" &
	pid=$$!
	exec 8>"$$tmp/in"
	for _ in $$(seq 600); do [ -s "$$tmp/out" ] && break; kill -0 $$pid 2>/dev/null || break; sleep 0.05; done
	t_like "$$(cat "$$tmp/out")" "64 MiB in" "$$mode: hugemem init --hold under valgrind prints its layout"
	$$vg "$$HUGEMEM" attach --verify --file-prefix "$$pfx" >/dev/null 2>"$$tmp/aerr"
	t_is $$? 0 "$$mode: hugemem attach --verify under valgrind: no error, no leak"
	[ -s "$$tmp/aerr" ] && t_diag "$$(cat "$$tmp/aerr")"
	exec 8>&-
	wait $$pid
	t_is $$? 0 "$$mode: the primary exits 0 under valgrind: no error, no leak"
	pid=""
	[ -s "$$tmp/err" ] && t_diag "$$(cat "$$tmp/err")"
	t_is "$$(t_pool)" "$$before" "$$mode: pool whole"
done
t_done
endef
export VALGRIND_ROUNDTRIP VALGRIND_CMD

check-valgrind: deps all
	@tools/sanitize-deps.sh valgrind
	@start=$$(date +%s); \
	HM_BUILD=$(abspath $(BUILD)) HM_VALGRIND=1 $(TEST_SETUP) prove -f -e '$(VALGRIND_CMD)' \
		$(UNIT_BIN); rc=$$?; \
	HM_BUILD=$(abspath $(BUILD)) $(TEST_SETUP) bash -c "$$VALGRIND_ROUNDTRIP" \
		test/valgrind-roundtrip || rc=1; \
	echo "check-valgrind: $$(($$(date +%s) - start)) s"; exit $$rc
