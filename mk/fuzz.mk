# Fuzzing (issue 8): libFuzzer harnesses test/fuzz/<name>_fuzz.c, one per parser of outside
# input, built with clang (Debian's clang-14 + libclang-rt-14-dev: tools/fuzz-deps.sh) and
# ASan + UBSan, against the library compiled with coverage into $(BUILD)/fuzz/.
#
#   make fuzz            build, then fuzz each harness for FUZZ_TIME seconds (default 30), one
#                        after the other, on a copy of its corpus test/fuzz/corpus/<name>/ in
#                        $(BUILD)/fuzz/corpus/; a crash, leak, timeout or broken property fails
#                        it, with the reproducer saved as $(BUILD)/fuzz/crashes/<name>-*
#   make fuzz-build      only build $(BUILD)/fuzz/<name>
#   make fuzz-regress    replay every committed corpus input once (a regression test)
#   make fuzz-clean      remove $(BUILD)/fuzz
# FUZZ=name1,name2 picks harnesses; FUZZ_RUNS=N stops each after N executions as well
# (FUZZ_TIME=0 for no time limit): the long measurement of docs/testing.md "Fuzzing".
# Not part of `make check`: CI calls `make fuzz FUZZ_TIME=30` itself.

, := ,
FUZZ_CC     ?= $(shell command -v clang-14 || command -v clang || echo clang-14)
FUZZ_TIME   ?= 30
FUZZ_JOBS   ?= 2
FUZZ_DIR    := $(BUILD)/fuzz
FUZZ_SRC    := $(sort $(wildcard test/fuzz/*_fuzz.c))
FUZZ_ALL    := $(FUZZ_SRC:test/fuzz/%_fuzz.c=%)
FUZZ_NAMES  := $(if $(FUZZ),$(subst $(,), ,$(FUZZ)),$(FUZZ_ALL))
FUZZ_BIN    := $(FUZZ_ALL:%=$(FUZZ_DIR)/%)
FUZZ_OBJ    := $(LIB_SRC:%.c=$(FUZZ_DIR)/obj/%.o)
FUZZ_LIB    := $(FUZZ_DIR)/libhugemem-fuzz.a
FUZZ_SAN    := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_CFLAGS := -std=gnu11 $(WARN) -O2 -g $(FUZZ_SAN)

.PHONY: fuzz fuzz-build fuzz-bins fuzz-regress fuzz-clean

fuzz: fuzz-build
	FUZZ_TIME=$(FUZZ_TIME) tools/fuzz.sh run $(FUZZ_DIR) $(FUZZ_NAMES)

fuzz-regress: fuzz-build
	tools/fuzz.sh regress $(FUZZ_DIR) $(FUZZ_NAMES)

# The dependencies first, then the objects two at a time (whatever -j the caller gave).
fuzz-build:
	@tools/fuzz-deps.sh
	@$(MAKE) --no-print-directory -j$(FUZZ_JOBS) fuzz-bins

fuzz-bins: $(FUZZ_BIN)

# The library with coverage (no libFuzzer main: -fsanitize=fuzzer-no-link).
$(FUZZ_DIR)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(ALL_CPPFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

$(FUZZ_LIB): $(FUZZ_OBJ)
	rm -f $@
	ar rcs $@ $^

$(FUZZ_DIR)/%: test/fuzz/%_fuzz.c test/fuzz/fuzz.h $(FUZZ_LIB)
	$(FUZZ_CC) $(ALL_CPPFLAGS) -Itest/fuzz $(FUZZ_CFLAGS) -fsanitize=fuzzer $< $(FUZZ_LIB) \
		$(LIBS) -o $@

fuzz-clean:
	rm -rf $(FUZZ_DIR)

-include $(FUZZ_OBJ:.o=.d)
