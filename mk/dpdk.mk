# mk/dpdk.mk — DPDK applications on hugemem memory (issue 17 item 6, adapters/dpdk/).
#
# Built only when pkg-config finds libdpdk (Debian's libdpdk-dev 22.11, which
# tools/deps.sh installs for the tests); never a dependency of libhugemem.
#   make dpdk        $(BUILD)/libhugemem_dpdk.a, libhugemem_dpdk.so and the test
#                    program $(BUILD)/adapters/dpdk/heap_test (test/real_dpdk_heap.t
#                    runs it); part of `make` when libdpdk is there
# Without libdpdk, `make dpdk` says so and does nothing.

HAVE_DPDK := $(shell pkg-config --exists libdpdk 2>/dev/null && echo 1)
HMD_DIR   := adapters/dpdk
FORMAT_FILES += $(wildcard $(HMD_DIR)/*.[ch] $(HMD_DIR)/test/*.c)

.PHONY: dpdk

ifeq ($(HAVE_DPDK),1)
# DPDK's headers as system headers: our warnings are for our code.
DPDK_CFLAGS := $(patsubst -I%,-isystem %,$(shell pkg-config --cflags libdpdk))
DPDK_LIBS   := $(shell pkg-config --libs libdpdk)
HMD_CFLAGS   = -std=gnu11 $(WARN) $(CFLAGS) $(SANFLAGS) -fPIC -Iinclude -I$(HMD_DIR) \
	       -D_GNU_SOURCE -MMD -MP $(DPDK_CFLAGS)
HMD_OBJ     := $(BUILD)/$(HMD_DIR)/hugemem_dpdk.o
HMD_STATIC  := $(BUILD)/libhugemem_dpdk.a
HMD_SHARED  := $(BUILD)/libhugemem_dpdk.so
HMD_TEST    := $(BUILD)/$(HMD_DIR)/heap_test

all: dpdk
dpdk: $(HMD_STATIC) $(HMD_SHARED) $(HMD_TEST)

$(HMD_OBJ): $(HMD_DIR)/hugemem_dpdk.c
	@mkdir -p $(dir $@)
	$(CC) $(HMD_CFLAGS) -c $< -o $@

$(HMD_STATIC): $(HMD_OBJ)
	rm -f $@
	ar rcs $@ $^

# Linked against libhugemem.so and DPDK's shared libraries, nothing else exported
# than hmd_* (the header's calls have default visibility).
$(HMD_SHARED): $(HMD_OBJ) $(BUILD)/libhugemem.so
	$(CC) -shared -Wl,-soname,libhugemem_dpdk.so -Wl,-z,defs $(ALL_LDFLAGS) -o $@ $(HMD_OBJ) \
		-L$(BUILD) -lhugemem $(DPDK_LIBS)

# The test program: the static adapter and libhugemem, DPDK's shared libraries
# (net_ring's for rte_eth_from_rings; the other drivers EAL loads as plugins).
$(HMD_TEST): $(HMD_DIR)/test/heap_test.c $(HMD_STATIC) $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(HMD_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(HMD_STATIC) $(STATIC) -lrte_net_ring \
		$(DPDK_LIBS) $(LIBS)

-include $(HMD_OBJ:.o=.d)
else
dpdk:
	@echo "dpdk: pkg-config finds no libdpdk (apt-get install libdpdk-dev): adapter not built"
endif

# The adapter, its test program and the example under cppcheck too (make lint); it needs
# no DPDK headers for that.
.PHONY: lint-dpdk
lint: lint-dpdk
lint-dpdk:
	cppcheck --quiet --error-exitcode=1 --enable=warning,portability,performance \
		--suppress=missingIncludeSystem -D_GNU_SOURCE -Iinclude -I$(HMD_DIR) \
		$(HMD_DIR) examples/dpdk_heap.c
