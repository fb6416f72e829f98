#!/bin/sh
# systemd/hugemem-keeper.service is a unit systemd accepts (systemd-analyze verify), with
# the hugemem it runs put where ExecStart says by a temporary root. Skipped without
# systemd-analyze.
. "$(dirname "$0")/lib.sh"
UNIT=$HM_TOP/systemd/hugemem-keeper.service
command -v systemd-analyze >/dev/null || { echo "1..0 # SKIP systemd-analyze missing"; exit 0; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
grep -q '^Type=notify$' "$UNIT"
t_ok $? "the unit is Type=notify (hugemem keeper sends READY=1)"
grep -q '^EnvironmentFile=/etc/default/hugemem-keeper$' "$UNIT"
t_ok $? "its arguments come from /etc/default/hugemem-keeper"
exe=$(sed -n 's/^ExecStart=\([^ ]*\) keeper .*/\1/p' "$UNIT")
t_is "$exe" /usr/local/bin/hugemem "ExecStart runs hugemem keeper from make install's place"
# verify with the executable where ExecStart says, below a root of our own
mkdir -p "$tmp/usr/local/bin" "$tmp/etc/default" "$tmp/etc/systemd/system"
cp "$HUGEMEM" "$tmp/usr/local/bin/hugemem"
echo 'HUGEMEM_KEEPER_ARGS="--keep 64M"' >"$tmp/etc/default/hugemem-keeper"
cp "$UNIT" "$tmp/etc/systemd/system/"
out=$(systemd-analyze verify --man=no --root="$tmp" "$tmp/etc/systemd/system/hugemem-keeper.service" 2>&1)
rc=$?
# a container without a running systemd may warn about itself; only this unit's lines count
bad=$(printf '%s\n' "$out" | grep -i 'hugemem-keeper' | grep -vi 'not found\|cannot add dependency')
t_ok $([ $rc -eq 0 ] || [ -z "$bad" ]; echo $?) "systemd-analyze verify accepts it"
[ -n "$bad" ] && t_diag "$out"
t_done
