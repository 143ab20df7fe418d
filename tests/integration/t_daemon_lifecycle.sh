#!/usr/bin/env bash
# The daemon runs until SIGTERM/SIGINT and exits 0 with every handle closed (under the ASan
# build a leak or an unclosed loop makes the exit status non-zero); it logs its identity;
# configuration and command-line errors exit non-zero before anything starts.
# -autoconf opens a TUN (IfName auto), so those runs happen in a network namespace of their
# own (unshare --net): nothing is added to the host's interfaces.
. "$(dirname "$0")/lib.sh"
need_root_netns
command -v unshare >/dev/null || skip "needs unshare (util-linux)"
# unshare execs the daemon, so $! is the daemon's PID.
NETNS_RUN=(unshare --net)

# start_daemon LOG ARGS...: starts ygg64 in the background with its output in LOG, and waits
# for the identity line in WATCH (default: LOG).
start_daemon() {
	local log="$1" i
	shift
	local watch="${WATCH:-$log}"
	"${NETNS_RUN[@]}" "$YGG64_BIN" "$@" >"$log" 2>&1 &
	DPID=$!
	T_PIDS+=("$DPID")
	for ((i = 0; i < 100; i++)); do
		grep -q 'Your IPv6 subnet is' "$watch" 2>/dev/null && return 0
		kill -0 "$DPID" 2>/dev/null || { cat "$log"; fail "daemon exited early"; }
		sleep 0.1
	done
	cat "$log"
	fail "daemon did not log its identity within 10 s"
}

# 1. -autoconf until SIGTERM, then exit 0. It has a TUN (IfName auto) with its address/7.
start_daemon "$T_TMP/auto.log" -autoconf
addr="$(sed -n 's/.*Your IPv6 address is //p' "$T_TMP/auto.log")"
for ((i = 0; i < 50; i++)); do
	nsenter --target "$DPID" --net ip -6 addr show | grep -q "inet6 $addr/7" && break
	sleep 0.1
done
((i < 50)) || { nsenter --target "$DPID" --net ip -6 addr show; fail "-autoconf: no TUN with $addr/7"; }
pass "-autoconf: a TUN holds $addr/7"
kill -TERM "$DPID"
wait_exit "$DPID" 10 || fail "-autoconf did not stop within 10 s of SIGTERM"
expect_eq "-autoconf exits 0 on SIGTERM" "$RC" 0
grep -q 'Received SIGTERM, shutting down' "$T_TMP/auto.log" || fail "no shutdown log line"
pass "SIGTERM logged"

# 2. A configured key: the logged identity matches the one-shot queries; SIGINT stops it.
"$YGG64_BIN" -genconf >"$T_TMP/c.yaml"
sed -i 's/^IfName:.*/IfName: none/' "$T_TMP/c.yaml"
start_daemon "$T_TMP/c.log" -useconffile "$T_TMP/c.yaml"
expect_eq "logged address" "$(sed -n 's/.*Your IPv6 address is //p' "$T_TMP/c.log")" \
	"$("$YGG64_BIN" -useconffile "$T_TMP/c.yaml" -address)"
expect_eq "logged subnet" "$(sed -n 's/.*Your IPv6 subnet is //p' "$T_TMP/c.log")" \
	"$("$YGG64_BIN" -useconffile "$T_TMP/c.yaml" -subnet)"
expect_eq "logged public key" "$(sed -n 's/.*Your public key is //p' "$T_TMP/c.log")" \
	"$("$YGG64_BIN" -useconffile "$T_TMP/c.yaml" -publickey)"
kill -INT "$DPID"
wait_exit "$DPID" 10 || fail "did not stop within 10 s of SIGINT"
expect_eq "exit 0 on SIGINT" "$RC" 0

# 3. -logto FILE and -loglevel.
WATCH="$T_TMP/file.log" start_daemon "$T_TMP/out.log" -autoconf -logto "$T_TMP/file.log" -loglevel debug
kill -TERM "$DPID"
wait_exit "$DPID" 10 || fail "did not stop"
expect_eq "exit 0 with -logto" "$RC" 0
grep -q 'Your IPv6 address is 2' "$T_TMP/file.log" || fail "-logto file got no log lines"
grep -q 'Received SIGTERM' "$T_TMP/file.log" || fail "-logto file lacks the shutdown line"
[[ ! -s "$T_TMP/out.log" ]] || { cat "$T_TMP/out.log"; fail "-logto FILE still wrote to stdout"; }
pass "-logto writes to the file and nothing to stdout"
"${NETNS_RUN[@]}" "$YGG64_BIN" -autoconf -loglevel error >"$T_TMP/quiet.log" 2>&1 &
DPID=$!
T_PIDS+=("$DPID")
sleep 0.5
kill -TERM "$DPID"
wait_exit "$DPID" 10 || fail "did not stop"
expect_eq "exit 0 at -loglevel error" "$RC" 0
expect_eq "-loglevel error hides info lines" "$(grep -c 'Your IPv6' "$T_TMP/quiet.log" || true)" 0

# 4. Configuration errors: non-zero before start, message with file:line:col and key.
printf 'IfName: none\nIfMTU: 70000\nBogusKey: 1\n' >"$T_TMP/bad.yaml"
rc=0
"$YGG64_BIN" -useconffile "$T_TMP/bad.yaml" >"$T_TMP/bad.out" 2>"$T_TMP/bad.err" || rc=$?
expect_eq "bad config exits 1" "$rc" 1
grep -q "bad.yaml:2:8: IfMTU:" "$T_TMP/bad.err" || { cat "$T_TMP/bad.err"; fail "no IfMTU error"; }
grep -q "bad.yaml:3:1: BogusKey:" "$T_TMP/bad.err" || { cat "$T_TMP/bad.err"; fail "no unknown-key error"; }
pass "both errors reported with file:line:col"
[[ ! -s "$T_TMP/bad.out" ]] || fail "bad config printed to stdout"
printf 'PrivateKey: %s\nIfName: none\n' "$(printf 'ab%.0s' $(seq 64))" >"$T_TMP/badkey.yaml"
rc=0
"$YGG64_BIN" -useconffile "$T_TMP/badkey.yaml" -address >/dev/null 2>"$T_TMP/badkey.err" || rc=$?
expect_eq "inconsistent PrivateKey exits 1" "$rc" 1
grep -q 'badkey.yaml:1:13: PrivateKey:' "$T_TMP/badkey.err" || { cat "$T_TMP/badkey.err"; fail "no positioned key error"; }
pass "key error is positioned"
rc=0
"$YGG64_BIN" -useconffile "$T_TMP/missing.yaml" -address >/dev/null 2>"$T_TMP/missing.err" || rc=$?
expect_eq "missing config exits 1" "$rc" 1
grep -q 'missing.yaml' "$T_TMP/missing.err" || fail "missing file not named"
pass "missing file named in the error"

# 5. Command line as Go's flag package: unknown flag → 2, no action → "Usage:" and 0.
rc=0
"$YGG64_BIN" -nosuchflag >/dev/null 2>"$T_TMP/flag.err" || rc=$?
expect_eq "unknown flag exits 2" "$rc" 2
grep -q 'flag provided but not defined: -nosuchflag' "$T_TMP/flag.err" || fail "no flag error"
rc=0
out="$("$YGG64_BIN" 2>"$T_TMP/usage.err")" || rc=$?
expect_eq "no action flag exits 0" "$rc" 0
expect_eq "no action flag prints Usage:" "$out" "Usage:"
grep -q -- '-useconffile string' "$T_TMP/usage.err" || fail "usage lacks -useconffile"
expect_eq "--address and -address=true agree" \
	"$("$YGG64_BIN" --useconffile="$T_TMP/c.yaml" --address)" \
	"$("$YGG64_BIN" -useconffile "$T_TMP/c.yaml" -address=true)"
done_ok
