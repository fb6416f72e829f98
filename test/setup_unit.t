#!/bin/sh
# systemd/hugemem-setup.service and systemd/hugemem.target are units systemd accepts
# (systemd-analyze verify, with the hugemem they run put where ExecStart says by a
# temporary root), and the set-up unit keeps its promises: a oneshot that stays
# active, runs `hugemem setup --from-config` only when /etc/hugemem/setup.conf exists,
# early (before sysinit.target, without the default dependencies that would put it
# after), after the local file systems, sysctl and systemd's /dev/hugepages mount,
# before hugemem.target and the pool keeper. Skipped without systemd-analyze.
. "$(dirname "$0")/lib.sh"
SETUP=$HM_TOP/systemd/hugemem-setup.service
TARGET=$HM_TOP/systemd/hugemem.target
command -v systemd-analyze >/dev/null || { echo "1..0 # SKIP systemd-analyze missing"; exit 0; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

key() { sed -n "s/^$1=//p" "$2" | tr '\n' ' '; }
has() { # has KEY WORD FILE: WORD is one of the values of KEY
	case " $(key "$1" "$3") " in *" $2 "*) return 0 ;; esac
	return 1
}
t_is "$(key Type "$SETUP")" "oneshot " "the set-up is Type=oneshot"
t_is "$(key RemainAfterExit "$SETUP")" "yes " "and stays active once done (RemainAfterExit)"
exe=$(sed -n 's/^ExecStart=\([^ ]*\) setup --from-config$/\1/p' "$SETUP")
t_is "$exe" /usr/local/bin/hugemem "ExecStart runs hugemem setup --from-config from make install's place"
t_is "$(key ConditionPathExists "$SETUP")" "/etc/hugemem/setup.conf " \
	"it runs only when a set-up was recorded"
t_is "$(key DefaultDependencies "$SETUP")" "no " "no default dependencies (they would order it after sysinit.target)"
for u in local-fs.target systemd-sysctl.service dev-hugepages.mount; do
	has After $u "$SETUP"
	t_ok $? "after $u"
done
for u in sysinit.target hugemem.target hugemem-keeper.service shutdown.target; do
	has Before $u "$SETUP"
	t_ok $? "before $u"
done
has Conflicts shutdown.target "$SETUP"
t_ok $? "stopped at shutdown (Conflicts=shutdown.target)"
has WantedBy sysinit.target "$SETUP"
t_ok $? "enabled into sysinit.target"
has Wants hugemem-setup.service "$TARGET" && has After hugemem-setup.service "$TARGET"
t_ok $? "hugemem.target pulls the set-up in and comes after it"

# verify both with the executable where ExecStart says, below a root of our own
mkdir -p "$tmp/usr/local/bin" "$tmp/etc/hugemem" "$tmp/etc/systemd/system"
cp "$HUGEMEM" "$tmp/usr/local/bin/hugemem"
echo 'size=64M page-size=2M' >"$tmp/etc/hugemem/setup.conf"
cp "$SETUP" "$TARGET" "$tmp/etc/systemd/system/"
for unit in hugemem-setup.service hugemem.target; do
	out=$(systemd-analyze verify --man=no --root="$tmp" "$tmp/etc/systemd/system/$unit" 2>&1)
	rc=$?
	# a container without a running systemd may warn about itself; only our units' lines count
	bad=$(printf '%s\n' "$out" | grep -i 'hugemem' | grep -vi 'not found\|cannot add dependency')
	t_ok $([ $rc -eq 0 ] || [ -z "$bad" ]; echo $?) "systemd-analyze verify accepts $unit"
	[ -n "$bad" ] && t_diag "$out"
done
t_done
