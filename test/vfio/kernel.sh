#!/usr/bin/env bash
# kernel.sh — the VFIO guest's kernel: Linux 6.12 from Debian's
# linux-source-6.12, configured as tinyconfig + tiny-base.config + iofd.config
# + hugemem.config (everything built in, no modules), never installed on the
# host (no /boot change, nothing in /lib/modules).
#
# usage: test/vfio/kernel.sh path    print the cached vmlinux to boot (exit 1: none)
#        test/vfio/kernel.sh build   build it unless the cache has it (`make vfio-kernel`)
#
# The cache sits outside the clone: HM_GUEST_KERNEL_CACHE
# (/var/cache/hugemem/guest-kernels)/linux-6.12-iofd_<version>_<hash>/ holds
# vmlinux and its .config, where <version> is the source package's and <hash>
# the first 12 hex digits of the SHA-256 of the three fragments: a change to a
# fragment is a new kernel, a new Debian upload is a new kernel for `build`.
# `path` prefers apt's current version and otherwise takes the newest cached
# build of the same fragments, so that a security upload does not make
# `make check` skip until someone rebuilds.
#
# `build`: apt-get download + dpkg-deb take the source tarball out of the
# package (cached beside the kernels as linux-source-6.12_<version>.tar.xz, so
# a rebuild does not download it again); it is unpacked into a scratch
# directory in the cache, configured, checked (an option olddefconfig dropped
# for want of a dependency fails the build), built with
# `nice make -j$HM_KERNEL_JOBS vmlinux` (2), and everything but vmlinux and
# .config is deleted. Missing build tools (bison, flex, bc, libelf-dev) are
# installed with apt-get when root. About 9 minutes on 2 cores.
#
# Derived from the iofd kit's build-kernel.sh (iommufd-vm): the same
# tinyconfig + merge_config.sh + olddefconfig + check sequence.
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
KCACHE=${HM_GUEST_KERNEL_CACHE:-/var/cache/hugemem/guest-kernels}
JOBS=${HM_KERNEL_JOBS:-2}
SRCPKG=linux-source-6.12
FRAGMENTS="$HERE/tiny-base.config $HERE/iofd.config $HERE/hugemem.config"

# shellcheck disable=SC2034 # read by vm.sh
VM_NAME=vfio-kernel
# shellcheck disable=SC2034 # read by vm.sh
OUT=${TMPDIR:-/tmp} # apt-get's log while it installs (vm_install)
# say, vm_install
. "$HERE/../vm.sh"

die() {
	say "FAIL: $*"
	exit 1
}

# ------------------------------------------------------------------ the key

frag_hash() {
	# shellcheck disable=SC2086
	cat $FRAGMENTS | sha256sum | cut -c1-12
}
# apt's candidate version of the source package ("6.12.118-1~deb12u1"), or nothing
source_version() {
	apt-cache policy $SRCPKG 2>/dev/null | awk '$1 == "Candidate:" && $2 != "(none)" { print $2 }'
}
kernel_dir() { # VERSION
	echo "$KCACHE/linux-6.12-iofd_${1}_$(frag_hash)"
}

# The vmlinux to boot: apt's current version when built, else the newest build
# of the same fragments.
cached_vmlinux() {
	local ver dir newest=""
	ver=$(source_version)
	if [ -n "$ver" ] && [ -r "$(kernel_dir "$ver")/vmlinux" ]; then
		echo "$(kernel_dir "$ver")/vmlinux"
		return 0
	fi
	for dir in "$KCACHE"/linux-6.12-iofd_*_"$(frag_hash)"; do
		[ -r "$dir/vmlinux" ] || continue
		[ -z "$newest" ] || [ "$dir/vmlinux" -nt "$newest" ] && newest=$dir/vmlinux
	done
	[ -n "$newest" ] && echo "$newest"
}

# ------------------------------------------------------------------ build

# libelf-dev: objtool
install_tools() {
	vm_install make=make gcc=gcc bison=bison flex=flex bc=bc xz=xz-utils flock=util-linux \
		/usr/include/gelf.h=libelf-dev || die "$VM_WHY"
}

# The source tarball of VERSION, from the cache or downloaded into it.
source_tarball() { # VERSION SCRATCH
	local tar=$KCACHE/${SRCPKG}_$1.tar.xz
	if [ ! -r "$tar" ]; then
		# stderr: stdout is the tarball's path, which the caller captures
		say "fetching $SRCPKG $1 (apt-get download + dpkg-deb; not installed)" >&2
		(cd "$2" && apt-get download "$SRCPKG=$1" >"$2/apt.log" 2>&1) ||
			die "apt-get download $SRCPKG=$1 failed: $(tail -n 1 "$2/apt.log")"
		dpkg-deb --fsys-tarfile "$2"/${SRCPKG}_*.deb |
			tar -xO "./usr/src/$SRCPKG.tar.xz" >"$tar.tmp" ||
			die "no usr/src/$SRCPKG.tar.xz in the package"
		rm -f "$2"/*.deb
		mv "$tar.tmp" "$tar"
	fi
	echo "$tar"
}

# Every line of the fragments must be in .config as asked; a "# ... is not
# set" line may also be absent (the option's dependencies are unmet).
check_config() { # CONFIG
	local f l bad=0
	for f in $FRAGMENTS; do
		while IFS= read -r l; do
			case $l in
			CONFIG_*) grep -qxF "$l" "$1" && continue ;;
			*) l=${l#\# } && l=${l% is not set} &&
				! grep -q "^$l=" "$1" && continue ;;
			esac
			say "option not as asked: $l (${f##*/}): $(grep -E "^(# )?${l%%=*}[= ]" "$1" || echo absent)"
			bad=1
		done < <(grep -E '^CONFIG_|^# CONFIG_.* is not set' "$f")
	done
	return $bad
}

# tinyconfig, the fragments on top, olddefconfig. ARCH=x86_64 on every call:
# with ARCH=x86, tinyconfig turns 64BIT off.
configure() { # SRC LOG
	make -C "$1" ARCH=x86_64 tinyconfig >"$2" 2>&1 || return 1
	# shellcheck disable=SC2086
	(cd "$1" && scripts/kconfig/merge_config.sh -m .config $FRAGMENTS) >>"$2" 2>&1 || return 1
	make -C "$1" ARCH=x86_64 olddefconfig >>"$2" 2>&1
}

build() {
	local ver dir tar src t0
	ver=$(source_version)
	if [ -z "$ver" ]; then
		[ "$(id -u)" = 0 ] && apt-get update -qq >/dev/null 2>&1
		ver=$(source_version)
	fi
	[ -n "$ver" ] || die "apt knows no $SRCPKG (apt-get update, as root)"
	dir=$(kernel_dir "$ver")
	if [ -r "$dir/vmlinux" ]; then
		say "cached: $dir/vmlinux"
		return 0
	fi
	install_tools
	mkdir -p "$KCACHE" 2>/dev/null && [ -w "$KCACHE" ] ||
		die "cannot write the kernel cache $KCACHE (root, or HM_GUEST_KERNEL_CACHE=DIR)"
	# one build per key at a time: a second `make` waits, then finds it cached
	exec 9>"$KCACHE/.build.lock"
	flock 9
	if [ -r "$dir/vmlinux" ]; then
		say "cached (built meanwhile): $dir/vmlinux"
		return 0
	fi
	t0=$(date +%s)
	# global: the EXIT trap runs after this function's locals are gone
	scratch=$(mktemp -d "$KCACHE/.build.XXXXXX") || die "cannot create a scratch directory in $KCACHE"
	trap 'rm -rf "$scratch"' EXIT
	tar=$(source_tarball "$ver" "$scratch") || exit 1
	say "unpacking $tar"
	tar -C "$scratch" -xJf "$tar" || die "cannot unpack $tar"
	src=$scratch/$SRCPKG
	[ -d "$src" ] || die "no $SRCPKG/ in $tar"
	configure "$src" "$scratch/build.log" ||
		die "configuring failed: $(tail -n 3 "$scratch/build.log")"
	check_config "$src/.config" || die "the fragments ask for options this kernel cannot have"
	say "building $SRCPKG $ver ($(grep -c '^CONFIG_' "$src/.config") options)" \
		"with nice make -j$JOBS vmlinux: about 9 minutes on 2 cores"
	nice make -C "$src" -j"$JOBS" ARCH=x86_64 vmlinux >>"$scratch/build.log" 2>&1 || {
		cp "$scratch/build.log" "$KCACHE/build-failed.log"
		die "make failed ($KCACHE/build-failed.log): $(grep -m 3 -E 'error|Error' "$scratch/build.log")"
	}
	mkdir -p "$scratch/out"
	cp "$src/vmlinux" "$src/.config" "$scratch/out/" || die "cannot copy vmlinux"
	rm -rf "$dir"
	mv "$scratch/out" "$dir" || die "cannot move the kernel to $dir"
	rm -rf "$scratch"
	say "built $dir/vmlinux in $(($(date +%s) - t0)) s"
}

case ${1:-} in
path) cached_vmlinux ;;
build) build ;;
*)
	echo "usage: $0 path|build" >&2
	exit 2
	;;
esac
