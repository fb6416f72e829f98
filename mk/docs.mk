# mk/docs.mk — the manual, the shell completion and the examples (issue 7).
#
#   make install    also installs every man/*.3 into $(MANDIR)/man3 and the bash
#                   completion into $(BASHCOMPDIR) (through INSTALL_EXTRA); make uninstall
#                   removes them from there (UNINSTALL_EXTRA), wherever BASHCOMPDIR points
#   make examples   installs into a DESTDIR tree under $(BUILD) and builds examples/
#                   against it with pkg-config, as a driver author's build would
#                   against the installed library; binaries in $(BUILD)/examples

BASHCOMPDIR      ?= $(PREFIX)/share/bash-completion/completions
EXAMPLES_ROOT    ?= $(abspath $(BUILD))/examples-root
EXAMPLES_BUILD   ?= $(abspath $(BUILD))/examples

INSTALL_EXTRA   += install-docs
UNINSTALL_EXTRA += uninstall-docs

.PHONY: install-docs uninstall-docs examples

install-docs:
	install -d $(DESTDIR)$(MANDIR)/man3 $(DESTDIR)$(BASHCOMPDIR)
	install -m 644 $(sort $(wildcard man/*.3)) $(DESTDIR)$(MANDIR)/man3/
	install -m 644 completion/hugemem.bash $(DESTDIR)$(BASHCOMPDIR)/hugemem

uninstall-docs:
	rm -f $(addprefix $(DESTDIR)$(MANDIR)/man3/,$(notdir $(wildcard man/*.3))) \
		$(DESTDIR)$(BASHCOMPDIR)/hugemem

examples: lib cli
	rm -rf $(EXAMPLES_ROOT)
	$(MAKE) --no-print-directory install DESTDIR=$(EXAMPLES_ROOT) >/dev/null
	$(MAKE) -C examples BUILD=$(EXAMPLES_BUILD) \
		PKG_CONFIG_PATH=$(EXAMPLES_ROOT)$(PKGDIR) PKG_CONFIG_SYSROOT_DIR=$(EXAMPLES_ROOT)
	@echo "examples: $(EXAMPLES_BUILD)/dma_zone (run with LD_LIBRARY_PATH=$(EXAMPLES_ROOT)$(LIBDIR))"
