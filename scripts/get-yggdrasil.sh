#!/usr/bin/env bash
# get-yggdrasil.sh — put the reference yggdrasil-go binaries (yggdrasil, yggdrasilctl) that the
# integration tests and benchmarks compare against into a cache folder.
#
#   scripts/get-yggdrasil.sh [DIR]      DIR defaults to ${XDG_CACHE_HOME:-$HOME/.cache}/ygg-ref
#
# The last line of stdout is the path of the yggdrasil binary; yggdrasilctl lies beside it.
# Knobs: YGG_VERSION (0.5.12), YGG_SUITE (trixie: the Debian release that packages 0.5.12),
#        YGG_FORCE=1 (fetch again even when the wanted version is present).
#
# Debian 12 ships no yggdrasil 0.5.x, so the package comes from the next release's suite of the
# same archive this machine already uses. No host is named here: the archive address and its
# signing keyring are taken from the machine's own apt sources. apt-get runs against private
# lists and cache directories in a temporary folder, so the system's apt state is left alone,
# and the .deb is only unpacked (dpkg-deb -x), never installed.
set -euo pipefail

want="${YGG_VERSION:-0.5.12}"
suite="${YGG_SUITE:-trixie}"
dest="${1:-${XDG_CACHE_HOME:-$HOME/.cache}/ygg-ref}"
bin="$dest/usr/sbin/yggdrasil"

say() { echo "get-yggdrasil: $*" >&2; }
die() { say "error: $*"; exit 1; }

version_of() { "$1" -version 2>/dev/null | sed -n 's/^Build version: *//p' | head -n1; }

if [[ "${YGG_FORCE:-0}" != 1 && -x "$bin" && -x "$dest/usr/sbin/yggdrasilctl" ]] &&
	[[ "$(version_of "$bin")" == "$want" ]]; then
	say "yggdrasil $want already in $dest"
	echo "$bin"
	exit 0
fi

for tool in apt-get apt-cache dpkg-deb; do
	command -v "$tool" >/dev/null || die "$tool is required"
done

# Find "URI keyring" of the first enabled deb source serving the main archive (not security).
find_archive() {
	local f
	for f in /etc/apt/sources.list.d/*.sources; do
		[[ -r "$f" ]] || continue
		awk 'BEGIN { RS = ""; FS = "\n" }
		{
			types = uris = key = ""; on = 1
			for (i = 1; i <= NF; i++) {
				line = $i
				if (line ~ /^[ \t]*#/) continue
				k = tolower(line); sub(/:.*/, "", k)
				v = line; sub(/^[^:]*:[ \t]*/, "", v)
				if (k == "types") types = v
				else if (k == "uris") uris = v
				else if (k == "signed-by") key = v
				else if (k == "enabled" && tolower(v) == "no") on = 0
			}
			split(uris, u, /[ \t]+/)
			if (on && types ~ /(^| )deb( |$)/ && u[1] != "" && u[1] !~ /security/) {
				print u[1], key; exit
			}
		}' "$f" && return 0
	done
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[[ -r "$f" ]] || continue
		awk '$1 == "deb" {
			key = ""; i = 2
			if ($2 ~ /^\[/) {
				for (; i <= NF && $i !~ /\]$/; i++)
					if ($i ~ /signed-by=/) { key = $i; sub(/.*signed-by=/, "", key) }
				if ($i ~ /signed-by=/) { key = $i; sub(/.*signed-by=/, "", key); sub(/\]$/, "", key) }
				i++
			}
			if ($i !~ /security/) { print $i, key; exit }
		}' "$f"
	done
}

read -r archive keyring < <(find_archive | head -n1) || true
[[ -n "${archive:-}" ]] || die "no Debian archive found in /etc/apt/sources.list{,.d}"
archive="${archive%/}"
if [[ -z "${keyring:-}" || ! -f "$keyring" ]]; then
	keyring=/usr/share/keyrings/debian-archive-keyring.gpg
	[[ -f "$keyring" ]] || die "no archive keyring to verify $suite with"
fi

tmp="$(mktemp -d "${TMPDIR:-/tmp}/ygg64-getygg.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
chmod 755 "$tmp"
mkdir -p "$tmp/lists/partial" "$tmp/archives/partial" "$tmp/parts" "$tmp/deb"
# apt drops privileges to _apt for downloads when run as root.
if [[ $EUID -eq 0 ]] && id _apt >/dev/null 2>&1; then
	chown _apt "$tmp/lists/partial" "$tmp/archives/partial" "$tmp/deb"
fi
echo "deb [signed-by=$keyring] $archive $suite main" >"$tmp/sources.list"
apt_opts=(-o "Dir::Etc::SourceList=$tmp/sources.list" -o "Dir::Etc::SourceParts=$tmp/parts"
	-o "Dir::Etc::Preferences=$tmp/none" -o "Dir::Etc::PreferencesParts=$tmp/parts"
	-o "Dir::State::Lists=$tmp/lists" -o "Dir::Cache=$tmp" -o "Dir::Cache::archives=$tmp/archives"
	-o "Dir::Cache::pkgcache=$tmp/pkg.bin" -o "Dir::Cache::srcpkgcache=$tmp/src.bin"
	-o "Acquire::Languages=none")

say "reading the $suite package list of $archive (private apt state in $tmp)"
apt-get "${apt_opts[@]}" -qq update >"$tmp/update.log" 2>&1 ||
	{ cat "$tmp/update.log" >&2; die "apt-get update failed"; }
pkgver="$(apt-cache "${apt_opts[@]}" madison yggdrasil |
	awk -F'|' -v w="$want" '{ gsub(/ /, "", $2); if (index($2, w "-") == 1) { print $2; exit } }')"
[[ -n "$pkgver" ]] || die "yggdrasil $want is not in $suite"
say "downloading yggdrasil=$pkgver"
(cd "$tmp/deb" && apt-get "${apt_opts[@]}" -qq download "yggdrasil=$pkgver") >"$tmp/dl.log" 2>&1 ||
	{ cat "$tmp/dl.log" >&2; die "apt-get download failed"; }
deb="$(echo "$tmp"/deb/yggdrasil_*.deb)"
[[ -f "$deb" ]] || die "the download produced no .deb"

mkdir -p "$(dirname "$dest")"
stage="$(mktemp -d "$(dirname "$dest")/.ygg-ref.XXXXXX")"
dpkg-deb -x "$deb" "$stage"
got="$(version_of "$stage/usr/sbin/yggdrasil")"
if [[ "$got" != "$want" ]]; then
	rm -rf "$stage"
	die "the unpacked binary says version '${got:-?}', not $want"
fi
rm -rf "$dest"
mv "$stage" "$dest"
chmod 755 "$dest"
say "installed yggdrasil $got into $dest"
echo "$bin"
