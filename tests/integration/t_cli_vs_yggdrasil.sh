#!/usr/bin/env bash
# The real yggdrasil 0.5.12 makes fresh keys and configs; ygg64 must read them (HJSON and JSON)
# and print the same public key, address, subnet and PEM export; yggdrasil must read ygg64's
# JSON output and agree on the identity; both must print identical -normaliseconf -json for
# the keys yggdrasil knows. Spec: sessions-core-admin §4, §7.
. "$(dirname "$0")/lib.sh"
need_yggdrasil
command -v jq >/dev/null || skip "needs jq"

for i in 1 2 3 4 5 6; do
	"$YGG" -genconf -json >"$T_TMP/c$i.json"
	"$YGG" -genconf >"$T_TMP/c$i.hjson"
	for fmt in json hjson; do
		c="$T_TMP/c$i.$fmt"
		for q in publickey address subnet exportkey; do
			want="$("$YGG" -useconffile "$c" -$q)"
			got="$("$YGG64_BIN" -useconffile "$c" -$q)"
			expect_eq "key $i ($fmt): -$q" "$got" "$want"
		done
	done
	# Byte-exact PEM (yggdrasil ends it with an empty line).
	cmp -s <("$YGG" -useconffile "$T_TMP/c$i.json" -exportkey) \
		<("$YGG64_BIN" -useconffile "$T_TMP/c$i.json" -exportkey) ||
		fail "key $i: -exportkey bytes differ"
	pass "key $i: -exportkey is byte-identical"

	# -normaliseconf -json: identical apart from the two ygg64 blocks appended at the end.
	"$YGG" -useconffile "$T_TMP/c$i.hjson" -normaliseconf -json >"$T_TMP/y.json"
	"$YGG64_BIN" -useconffile "$T_TMP/c$i.hjson" -normaliseconf -json >"$T_TMP/o.json"
	jq 'del(.TunnelRouting, .NAT64)' "$T_TMP/o.json" >"$T_TMP/o-stripped.json"
	jq . "$T_TMP/y.json" >"$T_TMP/y-pretty.json"
	cmp -s "$T_TMP/o-stripped.json" "$T_TMP/y-pretty.json" ||
		{ diff "$T_TMP/y-pretty.json" "$T_TMP/o-stripped.json" || true; fail "key $i: -normaliseconf -json differs"; }
	pass "key $i: -normaliseconf -json matches yggdrasil"

	# PrivateKeyPath: a PEM written by yggdrasil gives the same identity.
	"$YGG" -useconffile "$T_TMP/c$i.json" -exportkey >"$T_TMP/k$i.pem"
	printf 'PrivateKeyPath: %s\nIfName: none\n' "$T_TMP/k$i.pem" >"$T_TMP/kp$i.yaml"
	expect_eq "key $i: PrivateKeyPath -publickey" \
		"$("$YGG64_BIN" -useconffile "$T_TMP/kp$i.yaml" -publickey)" \
		"$("$YGG" -useconffile "$T_TMP/c$i.json" -publickey)"
done

# ygg64 writes configs that yggdrasil reads (it ignores our extra blocks), with the same identity.
for i in 1 2 3; do
	"$YGG64_BIN" -genconf -json >"$T_TMP/o$i.json"
	for q in publickey address subnet; do
		expect_eq "ygg64 -genconf -json read by yggdrasil: -$q" \
			"$("$YGG" -useconffile "$T_TMP/o$i.json" -$q)" \
			"$("$YGG64_BIN" -useconffile "$T_TMP/o$i.json" -$q)"
	done
	# And our YAML, converted by ourselves to JSON, round-trips to the same key.
	"$YGG64_BIN" -genconf >"$T_TMP/o$i.yaml"
	"$YGG64_BIN" -useconffile "$T_TMP/o$i.yaml" -normaliseconf -json >"$T_TMP/o$i-n.json"
	expect_eq "ygg64 YAML → JSON read by yggdrasil: -address" \
		"$("$YGG" -useconffile "$T_TMP/o$i-n.json" -address)" \
		"$("$YGG64_BIN" -useconffile "$T_TMP/o$i.yaml" -address)"
done

# -useconf reads stdin like -useconffile.
expect_eq "-useconf (stdin)" "$("$YGG64_BIN" -useconf -address <"$T_TMP/c1.json")" \
	"$("$YGG" -useconf -address <"$T_TMP/c1.json")"
# -version has yggdrasil's layout.
"$YGG64_BIN" -version | grep -qx 'Build name: ygg64' || fail "-version: no build name line"
"$YGG64_BIN" -version | grep -qE '^Build version: [0-9]+\.[0-9]+\.[0-9]+$' || fail "-version: no version line"
pass "-version layout"
done_ok
