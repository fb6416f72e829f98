# numa.mk — `make check-numa`: hugemem's NUMA cases on a real kernel with two
# nodes, in a tiny qemu guest (the top comments of test/numa/run.sh and
# test/numa/guest.sh say how it boots and what it checks).
#
# Builds a STATIC hugemem and the static test program numa_probe into
# $(BUILD)/numa/ from their own objects (plain flags: no sanitizer, whatever
# the main build uses), then test/numa/run.sh installs what the guest needs
# (Debian packages, as root), packs the initramfs, boots the two-node guest
# under TCG, and turns the guest's TAP into the result. Without root or a
# runnable qemu it skips with the reason; HM_REQUIRE_NUMA_VM=1 (CI) turns a
# skip into a failure.

NUMA_DIR      := $(BUILD)/numa
NUMA_SRC      := $(LIB_SRC) $(CLI_SRC) test/numa/numa_probe.c
NUMA_OBJ      := $(NUMA_SRC:%.c=$(NUMA_DIR)/obj/%.o)
NUMA_LIB_OBJ  := $(LIB_SRC:%.c=$(NUMA_DIR)/obj/%.o)
NUMA_CLI_OBJ  := $(CLI_SRC:%.c=$(NUMA_DIR)/obj/%.o)
NUMA_CFLAGS   := -std=gnu11 $(WARN) -O2 -fvisibility=hidden
NUMA_CPPFLAGS := -Iinclude -Isrc -Iuapi -D_GNU_SOURCE -DHM_VERSION='"$(VERSION)"' -MMD -MP
NUMA_BINS     := $(NUMA_DIR)/hugemem $(NUMA_DIR)/numa_probe

CHECK_EXTRA += check-numa

.PHONY: check-numa numa-build

numa-build: $(NUMA_BINS)

$(NUMA_DIR)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(NUMA_CPPFLAGS) $(NUMA_CFLAGS) -c $< -o $@

# getpwnam/getgrnam (mount --user/--group) make glibc's linker warn about
# static NSS; the guest has no users to look up and the tests give numeric ids.
$(NUMA_DIR)/hugemem: $(NUMA_CLI_OBJ) $(NUMA_LIB_OBJ)
	$(CC) -static -o $@ $^ -lpthread

$(NUMA_DIR)/numa_probe: $(NUMA_DIR)/obj/test/numa/numa_probe.o $(NUMA_LIB_OBJ)
	$(CC) -static -o $@ $^ -lpthread

check-numa: $(NUMA_BINS)
	test/numa/run.sh $(abspath $(NUMA_DIR))

-include $(NUMA_OBJ:.o=.d)
