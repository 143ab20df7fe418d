#!/usr/bin/env bash
# config/ygg64.service: systemd-analyze verify finds nothing to say about it (on a copy whose
# ExecStart names the binary under test, since verify wants an executable there), and a
# broken copy makes it speak (so the check can fail); it is Type=notify with a StateDirectory
# and a RuntimeDirectory, no ExecStartPost, only CAP_NET_ADMIN and CAP_NET_BIND_SERVICE, the
# TUN device and netlink allowed; config/minimal.yaml, which the unit's comments install,
# puts AdminListen in the RuntimeDirectory and NAT64.DataDir in the StateDirectory. Prints the
# `systemd-analyze security --offline` exposure score without asserting it. Needs no root and
# no running systemd.
. "$(dirname "$0")/lib.sh"
command -v systemd-analyze >/dev/null || skip "systemd-analyze not found (package systemd)"

UNIT="$YGG64_SRC/config/ygg64.service"
BIN="$(realpath "$YGG64_BIN")"
[[ -x "$BIN" ]] || fail "YGG64_BIN $YGG64_BIN is not executable"
[[ -r "$UNIT" ]] || fail "no $UNIT"

# key KEY: every value of KEY= in the unit, one per line (comments and blank lines skipped).
key() {
	sed -n "s/^$1=//p" "$UNIT"
}

expect_eq "Type" "$(key Type)" "notify"
expect_eq "ExecStart" "$(key ExecStart)" "/usr/local/sbin/ygg64 -useconffile /etc/ygg64/ygg64.yaml"
expect_eq "no ExecStartPost" "$(grep -c '^ExecStartPost' "$UNIT" || true)" "0"
expect_eq "no ExecStartPre" "$(grep -c '^ExecStartPre' "$UNIT" || true)" "0"
expect_eq "StateDirectory" "$(key StateDirectory)" "ygg64"
expect_eq "RuntimeDirectory" "$(key RuntimeDirectory)" "ygg64"
expect_eq "Restart" "$(key Restart)" "on-failure"
expect_eq "CapabilityBoundingSet" "$(key CapabilityBoundingSet)" \
	"CAP_NET_ADMIN CAP_NET_BIND_SERVICE"
expect_eq "AmbientCapabilities" "$(key AmbientCapabilities)" "CAP_NET_ADMIN CAP_NET_BIND_SERVICE"
expect_eq "DevicePolicy" "$(key DevicePolicy)" "closed"
expect_eq "DeviceAllow" "$(key DeviceAllow)" "/dev/net/tun rw"
expect_eq "RestrictAddressFamilies" "$(key RestrictAddressFamilies)" \
	"AF_UNIX AF_INET AF_INET6 AF_NETLINK"
expect_eq "ProtectSystem" "$(key ProtectSystem)" "strict"
expect_eq "NoNewPrivileges" "$(key NoNewPrivileges)" "yes"
expect_eq "no PrivateNetwork, PrivateUsers or PrivateDevices (they would hide the links or the TUN)" \
	"$(grep -cE '^(PrivateNetwork|PrivateUsers|PrivateDevices)=' "$UNIT" || true)" "0"

# verify_quiet FILE: systemd-analyze verify prints nothing and exits 0. It reports many
# problems (bad values, unknown keys) with exit status 0, so its output is what counts.
mkdir -p "$T_TMP/good" "$T_TMP/bad"
sed "s|^ExecStart=/usr/local/sbin/ygg64 |ExecStart=$BIN |" "$UNIT" >"$T_TMP/good/ygg64.service"
grep -q "^ExecStart=$BIN " "$T_TMP/good/ygg64.service" || fail "could not point ExecStart at $BIN"
out="$(cd "$T_TMP" && systemd-analyze verify "$T_TMP/good/ygg64.service" 2>&1)" ||
	fail "systemd-analyze verify failed: $out"
expect_eq "systemd-analyze verify says nothing" "$out" ""

sed 's/^Type=notify/Type=notfiy/; s/^ProtectSystem=strict/ProtectSytem=strict/' \
	"$T_TMP/good/ygg64.service" >"$T_TMP/bad/ygg64.service"
out="$(cd "$T_TMP" && systemd-analyze verify "$T_TMP/bad/ygg64.service" 2>&1 || true)"
[[ "$out" == *"notfiy"* && "$out" == *"ProtectSytem"* ]] ||
	fail "a broken unit went unnoticed by systemd-analyze verify: $out"
pass "systemd-analyze verify reports a bad value and an unknown key"

# The shipped example config fits the unit's writable directories. Without the key file it
# names, -normaliseconf makes up a key, which is all this needs.
grep -v '^PrivateKeyPath:' "$YGG64_SRC/config/minimal.yaml" >"$T_TMP/minimal.yaml"
norm="$("$BIN" -normaliseconf -useconffile "$T_TMP/minimal.yaml" 2>"$T_TMP/norm.err")" || {
	cat "$T_TMP/norm.err"
	fail "ygg64 -normaliseconf refused config/minimal.yaml"
}
expect_eq "minimal.yaml AdminListen is in RuntimeDirectory" \
	"$(sed -n 's/^AdminListen: //p' <<<"$norm")" "unix:///run/$(key RuntimeDirectory)/ygg64.sock"
expect_eq "minimal.yaml NAT64.DataDir is the StateDirectory" \
	"$(sed -n 's/^  DataDir: //p' <<<"$norm")" "/var/lib/$(key StateDirectory)"

if score="$(cd "$T_TMP" && systemd-analyze security --offline=yes \
	"$T_TMP/good/ygg64.service" 2>&1)"; then
	echo "# $(grep 'Overall exposure level' <<<"$score" || echo "no score line")"
else
	echo "# systemd-analyze security --offline did not run here: $(tail -1 <<<"$score")"
fi
done_ok
