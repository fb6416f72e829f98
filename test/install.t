#!/bin/sh
# make install honours DESTDIR and PREFIX; a program builds against the
# installed header and library through pkg-config, static and shared; the
# shared library exports only hm_* and carries its soname. The systemd units
# go to SYSTEMDUNITDIR, running BINDIR's hugemem; make uninstall removes all it
# installed, wherever BASHCOMPDIR and SYSTEMDUNITDIR point, but for a settings
# file in /etc/default that was edited.
. "$(dirname "$0")/lib.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
command -v pkg-config >/dev/null || t_skip_all "pkg-config missing (apt-get install pkg-config)"

make -s -C "$HM_TOP" BUILD="$HM_BUILD" install DESTDIR="$tmp/root" PREFIX=/opt/hm >"$tmp/log" 2>&1
t_ok $? "make install DESTDIR=... PREFIX=/opt/hm"
for f in include/hugemem.h lib/libhugemem.a lib/libhugemem.so lib/libhugemem.so.0 \
	lib/pkgconfig/hugemem.pc bin/hugemem share/man/man1/hugemem.1; do
	[ -e "$tmp/root/opt/hm/$f" ]
	t_ok $? "installed $f"
done

cat >"$tmp/app.c" <<'EOC'
#include <hugemem.h>
#include <stdio.h>
int main(int argc, char **argv)
{
	struct hm_ctx *ctx;
	struct hm_sysinfo *si;
	if (hm_ctx_new(&ctx) < 0 || hm_ctx_set_root(ctx, argv[1]) < 0)
		return 1;
	if (hm_sysinfo_read(ctx, NULL, &si) < 0) {
		fprintf(stderr, "%s\n", hm_errmsg(ctx));
		return 1;
	}
	printf("pools=%d first=%llu\n", si->n_pools, (unsigned long long)si->pools[0].page_size);
	hm_sysinfo_free(si);
	hm_ctx_free(ctx);
	return argc > 2;
}
EOC
export PKG_CONFIG_SYSROOT_DIR="$tmp/root" PKG_CONFIG_PATH="$tmp/root/opt/hm/lib/pkgconfig"
# shellcheck disable=SC2046
cc -o "$tmp/app" "$tmp/app.c" $(pkg-config --cflags --libs hugemem)
t_ok $? "builds with pkg-config --cflags --libs hugemem (shared)"
out=$(LD_LIBRARY_PATH="$tmp/root/opt/hm/lib" "$tmp/app" "$FIXTURES/two-sizes")
t_is "$out" "pools=2 first=2097152" "runs against the shared library"
# shellcheck disable=SC2046
cc -o "$tmp/app-static" "$tmp/app.c" $(pkg-config --cflags hugemem) \
	"$tmp/root/opt/hm/lib/libhugemem.a" -lpthread
t_ok $? "builds against the static library"
t_is "$("$tmp/app-static" "$FIXTURES/two-sizes")" "pools=2 first=2097152" "static build runs"
other=$(nm -D --defined-only "$tmp/root/opt/hm/lib/libhugemem.so" | awk '$2 == "T" && $3 !~ /^hm_/')
t_is "$other" "" "the shared library exports only hm_* functions"
soname=$(readelf -d "$tmp/root/opt/hm/lib/libhugemem.so" | grep -o 'libhugemem.so.[0-9]*')
t_is "$soname" "libhugemem.so.0" "soname libhugemem.so.0"

unit=$tmp/root/opt/hm/lib/systemd/system/hugemem-keeper.service
t_like "$(grep '^ExecStart=' "$unit")" "ExecStart=/opt/hm/bin/hugemem keeper" \
	"the keeper's unit in PREFIX/lib/systemd/system runs BINDIR's hugemem"
t_ok "$([ -f "$tmp/root/etc/default/hugemem-keeper" ] && echo 0 || echo 1)" "/etc/default/hugemem-keeper installed"
make -s -C "$HM_TOP" BUILD="$HM_BUILD" uninstall DESTDIR="$tmp/root" PREFIX=/opt/hm >>"$tmp/log" 2>&1
t_ok $? "make uninstall"
t_is "$(cd "$tmp/root" && find . ! -type d)" "" "nothing left after make uninstall"

# BASHCOMPDIR and SYSTEMDUNITDIR elsewhere; an edited settings file.
moved="BASHCOMPDIR=/opt/bc SYSTEMDUNITDIR=/opt/units"
# shellcheck disable=SC2086
make -s -C "$HM_TOP" BUILD="$HM_BUILD" install DESTDIR="$tmp/moved" PREFIX=/opt/hm $moved >>"$tmp/log" 2>&1
t_ok "$([ -f "$tmp/moved/opt/bc/hugemem" ] && [ -f "$tmp/moved/opt/units/hugemem-keeper.service" ] &&
	echo 0 || echo 1)" "the completion and the units go to BASHCOMPDIR and SYSTEMDUNITDIR"
echo 'HUGEMEM_KEEPER_ARGS="--keep 4G"' >"$tmp/moved/etc/default/hugemem-keeper"
# shellcheck disable=SC2086
make -s -C "$HM_TOP" BUILD="$HM_BUILD" install DESTDIR="$tmp/moved" PREFIX=/opt/hm $moved >>"$tmp/log" 2>&1
t_is "$(cat "$tmp/moved/etc/default/hugemem-keeper")" 'HUGEMEM_KEEPER_ARGS="--keep 4G"' \
	"make install again leaves an edited /etc/default/hugemem-keeper alone"
# shellcheck disable=SC2086
make -s -C "$HM_TOP" BUILD="$HM_BUILD" uninstall DESTDIR="$tmp/moved" PREFIX=/opt/hm $moved >>"$tmp/log" 2>&1
t_is "$(cd "$tmp/moved" && find . ! -type d)" "./etc/default/hugemem-keeper" \
	"make uninstall removes the completion from BASHCOMPDIR, the units, all but the edited settings"
t_done
