# mk/heap.mk — the heap and zones (issue 6).
#
#   make DEBUG=1        build with -DHM_DEBUG=1: freed heap memory is filled with 0x6b
#                       (use its own BUILD directory)
#   make bench-heap     hm_malloc/hm_free and hm_virt2iova against DPDK's rte_malloc/rte_free
#                       and rte_mem_virt2iova (root, real hugepages, about a minute; takes the
#                       machine-wide test lock) into bench/HEAP.md
#   make install        installs man/hm_malloc.3, man/hm_memzone_reserve.3 and their links
#                       into $(MANDIR)/man3 — unless mk/docs.mk already installs every man/*.3

ifeq ($(DEBUG),1)
CPPFLAGS += -DHM_DEBUG=1
endif

HEAP_MAN := man/hm_malloc.3 man/hm_malloc_socket.3 man/hm_zmalloc.3 man/hm_calloc.3 \
	    man/hm_realloc.3 man/hm_free.3 man/hm_heap_check.3 man/hm_heap_stats.3 \
	    man/hm_memzone_reserve.3 man/hm_memzone_lookup.3 man/hm_memzone_free.3 \
	    man/hm_memzone_walk.3

ifeq ($(filter install-docs,$(INSTALL_EXTRA)),)
INSTALL_EXTRA += install-heap-man
endif

.PHONY: install-heap-man bench-heap

install-heap-man:
	install -d $(DESTDIR)$(MANDIR)/man3
	install -m 644 $(HEAP_MAN) $(DESTDIR)$(MANDIR)/man3/

bench-heap: lib
	BUILD=$(abspath $(BUILD)) bench/heap.sh > bench/HEAP.md
