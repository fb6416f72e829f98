# shellcheck shell=bash
# vm.sh — what the host sides of the qemu test guests share (sourced by
# test/numa/run.sh, test/vfio/run.sh and test/vfio/kernel.sh): messages,
# skips, Debian packages installed when missing, the qemu probe, the TAP
# verdict.
#
# The sourcing script sets VM_NAME (the prefix of its messages: "check-numa")
# and VM_REQUIRE (the variable that turns a skip into a failure:
# "HM_REQUIRE_NUMA_VM"), and OUT (a directory for logs) before calling these.

say() {
	echo "$VM_NAME: $*"
}
seconds_since() { # NS: seconds since date +%s%N said NS, as 12.34
	local ns=$(($(date +%s%N) - $1))
	printf '%d.%02d' $((ns / 1000000000)) $((ns / 10000000 % 100))
}
# Say why the check cannot run and exit 0, or 1 when $VM_REQUIRE is 1.
skip() {
	if [ "${!VM_REQUIRE:-0}" = 1 ]; then
		say "FAIL: cannot run, and $VM_REQUIRE=1 requires it: $*" >&2
		exit 1
	fi
	say "SKIP: $*"
	exit 0
}

# ------------------------------------------------------------------ packages

static_busybox() {
	[ -x /bin/busybox ] && ! ldd /bin/busybox >/dev/null 2>&1
}
# The packages of WANT... that are missing. Each WANT is THING=PACKAGE, THING
# a command, an absolute path that must exist, or "static-busybox".
vm_missing() {
	local w thing need=""
	for w in "$@"; do
		thing=${w%%=*}
		case $thing in
		static-busybox) static_busybox ;;
		/*) [ -e "$thing" ] ;;
		*) command -v "$thing" >/dev/null ;;
		esac || need="$need ${w#*=}"
	done
	echo $need
}
# apt-get install what vm_missing WANT... names, as root, once. 0 when all is
# there (then or now); else 1 with the reason in VM_WHY.
# shellcheck disable=SC2034 # VM_WHY is the caller's
vm_install() {
	local need
	need=$(vm_missing "$@")
	[ -z "$need" ] && return 0
	if [ "$(id -u)" != 0 ]; then
		VM_WHY="missing $need (run as root to install them: apt-get install $need)"
		return 1
	fi
	say "installing $need (apt-get, once)"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >/dev/null 2>&1
	# shellcheck disable=SC2086
	if ! apt-get install -y -qq --no-install-recommends $need >"$OUT/apt.log" 2>&1; then
		VM_WHY="apt-get install $need failed: $(tail -n 1 "$OUT/apt.log")"
		return 1
	fi
	rm -f "$OUT/apt.log"
	need=$(vm_missing "$@")
	VM_WHY="still missing after apt-get install: $need"
	[ -z "$need" ]
}

# qemu starts, takes accelerator ACCEL and quits; anything else is a host that
# cannot run it: skip.
qemu_runs() { # QEMU ACCEL
	local err=$OUT/qemu-probe.err
	echo quit | timeout 60 "$1" -machine none -accel "$2" -nodefaults -display none \
		-monitor stdio >/dev/null 2>"$err" && return 0
	skip "$1 cannot run here (-accel $2): $(head -n 1 "$err")"
}

# ------------------------------------------------------------------ verdict

# Without prove: a plan that matches, no "not ok" but TODOs.
check_tap() { # FILE
	awk '/^1\.\.[0-9]+$/ { plan = substr($0, 4) + 0; next }
		/^not ok / && !/# *TODO/ { bad++ }
		/^(not )?ok / { run++ }
		END {
			if (plan == "" || plan != run) { print "plan " plan ", ran " run; exit 1 }
			if (bad) { print bad " failed"; exit 1 }
			print run " passed, 0 failed"
		}' "$1"
}
# The TAP in FILE through prove (or check_tap when prove is missing): 0 = passed.
prove_tap() { # FILE
	if command -v prove >/dev/null; then
		prove -v --exec cat "$1"
	else
		cat "$1"
		check_tap "$1"
	fi
}
