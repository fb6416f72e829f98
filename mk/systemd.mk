# mk/systemd.mk — the systemd units of systemd/ (issue 19).
#
#   make install    also installs every unit of systemd/ (*.service, *.socket, *.timer, *.path,
#                   *.target, *.mount) into $(SYSTEMDUNITDIR), with /usr/local/bin/ in it made
#                   $(BINDIR)/, and each systemd/NAME.default, the file a unit reads its
#                   settings from, as $(SYSCONFDIR)/default/NAME unless that file exists
#                   already (an administrator's settings are never overwritten)
#   make uninstall  removes the units, and each default file that is still as installed
#
# A unit added to systemd/ is installed (and packaged: debian/hugemem.install takes the
# whole directory) with no change here.

SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
SYSCONFDIR     ?= /etc
UNIT_FILES     := $(sort $(wildcard $(addprefix systemd/*.,service socket timer path target mount)))
UNIT_DEFAULTS  := $(sort $(wildcard systemd/*.default))

INSTALL_EXTRA   += install-systemd
UNINSTALL_EXTRA += uninstall-systemd

.PHONY: install-systemd uninstall-systemd

install-systemd:
	install -d $(DESTDIR)$(SYSTEMDUNITDIR) $(DESTDIR)$(SYSCONFDIR)/default
	$(foreach u,$(UNIT_FILES),sed -e 's|/usr/local/bin/|$(BINDIR)/|g' $(u) \
		> $(DESTDIR)$(SYSTEMDUNITDIR)/$(notdir $(u)) && chmod 644 $(DESTDIR)$(SYSTEMDUNITDIR)/$(notdir $(u));)
	$(foreach d,$(UNIT_DEFAULTS),[ -e $(DESTDIR)$(SYSCONFDIR)/default/$(basename $(notdir $(d))) ] || \
		install -m 644 $(d) $(DESTDIR)$(SYSCONFDIR)/default/$(basename $(notdir $(d)));)

uninstall-systemd:
	rm -f $(addprefix $(DESTDIR)$(SYSTEMDUNITDIR)/,$(notdir $(UNIT_FILES)))
	$(foreach d,$(UNIT_DEFAULTS),! cmp -s $(d) $(DESTDIR)$(SYSCONFDIR)/default/$(basename $(notdir $(d))) || \
		rm -f $(DESTDIR)$(SYSCONFDIR)/default/$(basename $(notdir $(d)));)
