# vfio.mk — `make check-vfio`: hugemem's DMA cases against a real DMA engine,
# qemu's edu device, through iommufd, VFIO type1 and no-IOMMU, in a tiny qemu
# guest with an emulated Intel IOMMU (the top comment of test/vfio/run.sh says
# how it boots, test/vfio/README.md how to add a test program).
#
# Builds a STATIC hugemem and the static test programs test/vfio/tests.txt
# lists into $(BUILD)/vfio/ from their own objects (plain flags: no sanitizer,
# whatever the main build uses). Every other test/vfio/*.c (edu.c,
# vfio_guest.c) is a helper linked into each program. Then test/vfio/run.sh
# boots the guest once per mode and turns its TAP into the result.
#
# The guest's kernel is built from source (test/vfio/kernel.sh): `make
# vfio-kernel` builds it once into the cache outside the clone (about 9
# minutes on 2 cores). Without it check-vfio skips and says so, unless
# HM_REQUIRE_VFIO_VM=1 (CI), which builds it first; likewise without root
# (packages to install) or a runnable qemu, a skip, or a failure under
# HM_REQUIRE_VFIO_VM=1.

VFIO_DIR      := $(BUILD)/vfio
VFIO_TESTS    := $(shell sed 's/\#.*//' test/vfio/tests.txt | awk 'NF { print $$1 }')
VFIO_PROG_SRC := $(VFIO_TESTS:%=test/vfio/%.c)
VFIO_HELP_SRC := $(filter-out $(VFIO_PROG_SRC),$(sort $(wildcard test/vfio/*.c)))
VFIO_SRC      := $(LIB_SRC) $(CLI_SRC) $(VFIO_HELP_SRC) $(VFIO_PROG_SRC) examples/edu_driver.c
VFIO_OBJ      := $(VFIO_SRC:%.c=$(VFIO_DIR)/obj/%.o)
VFIO_LIB_OBJ  := $(LIB_SRC:%.c=$(VFIO_DIR)/obj/%.o)
VFIO_CLI_OBJ  := $(CLI_SRC:%.c=$(VFIO_DIR)/obj/%.o)
VFIO_HELP_OBJ := $(VFIO_HELP_SRC:%.c=$(VFIO_DIR)/obj/%.o)
VFIO_CFLAGS   := -std=gnu11 $(WARN) -O2 -fvisibility=hidden
VFIO_CPPFLAGS := -Iinclude -Isrc -Iuapi -Itest -D_GNU_SOURCE -DHM_VERSION='"$(VERSION)"' -MMD -MP
VFIO_BINS     := $(VFIO_DIR)/hugemem $(VFIO_DIR)/edu_driver $(VFIO_TESTS:%=$(VFIO_DIR)/%)

CHECK_EXTRA += check-vfio

.PHONY: check-vfio vfio-build vfio-kernel

vfio-build: $(VFIO_BINS)

$(VFIO_DIR)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(VFIO_CPPFLAGS) $(VFIO_CFLAGS) -c $< -o $@

# getpwnam/getgrnam (mount --user/--group) make glibc's linker warn about
# static NSS; the guest has no users to look up.
$(VFIO_DIR)/hugemem: $(VFIO_CLI_OBJ) $(VFIO_LIB_OBJ)
	$(CC) -static -o $@ $^ -lpthread

# examples/edu_driver.c, the driver a user copies, run in the guest by cli_dma
$(VFIO_DIR)/edu_driver: $(VFIO_DIR)/obj/examples/edu_driver.o $(VFIO_LIB_OBJ)
	$(CC) -static -o $@ $^ -lpthread

$(VFIO_TESTS:%=$(VFIO_DIR)/%): $(VFIO_DIR)/%: $(VFIO_DIR)/obj/test/vfio/%.o $(VFIO_HELP_OBJ) $(VFIO_LIB_OBJ)
	$(CC) -static -o $@ $^ -lpthread

vfio-kernel:
	test/vfio/kernel.sh build

check-vfio: $(VFIO_BINS)
	test/vfio/run.sh $(abspath $(VFIO_DIR))

-include $(VFIO_OBJ:.o=.d)
