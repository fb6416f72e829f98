# mk/dist.mk — the release: the version, the source tarball, the Debian packages (issue 19).
#
#   make version-check  every copy of VERSION agrees: man pages, include/hugemem.h,
#                       debian/changelog (tools/version.sh; test/version.t runs it)
#   make version-set    writes VERSION into the man pages and include/hugemem.h
#   make dist           $(BUILD)/hugemem-$(VERSION).tar.gz: the files git tracks, reproducible
#                       (tools/dist.sh; test/dist.t unpacks and builds it)
#   make deb            the Debian packages of the tree, built from that tarball, checked by
#                       lintian, left in $(BUILD)/deb (as root: installs the build dependencies)
#   make deb-check      CI's step: make deb, then install the packages, use them, verify the
#                       units, purge them and check nothing is left (tools/deb-check.sh, root)

DIST_NAME := hugemem-$(VERSION)
DIST      := $(BUILD)/$(DIST_NAME).tar.gz

.PHONY: version-check version-set dist deb deb-check

version-check:
	tools/version.sh check

version-set:
	tools/version.sh set

# Always made anew: its input is every tracked file.
dist:
	tools/dist.sh $(DIST) $(DIST_NAME)

deb:
	tools/deb-check.sh --build-only $(abspath $(BUILD))/deb

deb-check:
	tools/deb-check.sh
