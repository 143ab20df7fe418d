# deps.sh — sourced by run.sh and test.sh: install missing Debian packages, quietly.
#
#   need_pkgs pkg...    installs those of the packages that are not installed yet
#
# Runs 'apt-get update' only when something is missing, so a machine that has everything stays
# offline and silent. Needs root (or sudo) only in that case.

need_pkgs() {
	local missing=() p
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
			missing+=("$p")
	done
	((${#missing[@]})) || return 0
	local sudo=()
	if [[ $EUID -ne 0 ]]; then
		command -v sudo >/dev/null || { echo "need root to install: ${missing[*]}" >&2; return 1; }
		sudo=(sudo)
	fi
	echo "installing: ${missing[*]}" >&2
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -qq update >/dev/null
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -qq install -y --no-install-recommends \
		"${missing[@]}" >/dev/null
}

# Everything needed to build the daemon.
BUILD_PKGS=(build-essential cmake pkg-config libuv1-dev libsodium-dev libyaml-dev libmsgpack-dev
	libssl-dev libjansson-dev libmnl-dev)
# Added for the test suite: unit tests, the reference yggdrasil download and the netns lab.
TEST_PKGS=(libcriterion-dev iproute2 jq procps ca-certificates apt dpkg gawk iputils-ping socat iperf3
	python3-minimal tcpdump traceroute
	# bench/nat64.sh: the seed stack it compares with (tayga + iptables MASQUERADE)
	tayga iptables)

# cmake_build DIR [cmake args...]: configure once, then build with both cores.
cmake_build() {
	local dir="$1"
	shift
	cmake -S "$YGG64_TOP" -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >"$dir.configure.log" 2>&1 ||
		{ cat "$dir.configure.log" >&2; return 1; }
	cmake --build "$dir" -j"$(nproc)" -- --no-print-directory >"$dir.build.log" 2>&1 ||
		{ cat "$dir.build.log" >&2; return 1; }
}
