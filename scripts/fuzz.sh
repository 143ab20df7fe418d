#!/usr/bin/env bash
# fuzz.sh — run every libFuzzer driver of tests/fuzz/ for a while and print what it reached.
#
#   scripts/fuzz.sh [SECONDS] [DRIVER...]
#
# SECONDS per driver (default 60); DRIVERs by name (fuzz_session ...), default all of
# tests/fuzz/fuzz_*.c, so a new driver is picked up as soon as it has its y64_fuzz() line in
# tests/CMakeLists.txt.
#
# The build (build-fuzz/) is clang with ASan+UBSan, and -fsanitize=fuzzer-no-link on the WHOLE
# tree: without it only the driver file is instrumented and libFuzzer sees a few dozen edges,
# never the library code it is meant to explore. Each driver starts from a copy of its committed
# corpus (tests/fuzz/corpus/<driver>/) in a temporary directory, which is deleted afterwards:
# the committed corpus is never written. Crash, leak, timeout and OOM inputs and one log per
# driver go to build-fuzz/findings/<date-time>/.
#
# Exit status: 0 nothing found, 1 some driver found something, 2 the build or a run failed.
# Environment: FUZZ_JOBS (drivers run at once, default 1), FUZZ_TIMEOUT (seconds one input may
# take, default 30), FUZZ_ARGS (more libFuzzer flags, e.g. "-only_ascii=1"), FUZZ_BUILD (build
# directory, default build-fuzz).
set -euo pipefail
YGG64_TOP="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$YGG64_TOP/scripts/deps.sh"

secs="${1:-60}"
[[ "$secs" =~ ^[1-9][0-9]*$ ]] || { echo "usage: $0 [SECONDS] [DRIVER...]" >&2; exit 2; }
(($# == 0)) || shift
jobs_max="${FUZZ_JOBS:-1}"
unit_timeout="${FUZZ_TIMEOUT:-30}"
bdir="${FUZZ_BUILD:-$YGG64_TOP/build-fuzz}"
fuzz_src="$YGG64_TOP/tests/fuzz"

# clang and its runtimes (libFuzzer, ASan, UBSan are in libclang-rt-dev); Criterion because
# tests/ is one CMake directory and needs it at configure time.
need_pkgs "${BUILD_PKGS[@]}" libcriterion-dev clang libclang-rt-dev

# The drivers: the given ones, or every tests/fuzz/fuzz_*.c.
drivers=()
if (($#)); then
	drivers=("$@")
else
	for f in "$fuzz_src"/fuzz_*.c; do
		[[ -e "$f" ]] && drivers+=("$(basename "$f" .c)")
	done
fi
((${#drivers[@]})) || { echo "no fuzz drivers in $fuzz_src" >&2; exit 2; }
for d in "${drivers[@]}"; do
	[[ -f "$fuzz_src/$d.c" ]] || { echo "$d: no $fuzz_src/$d.c" >&2; exit 2; }
	grep -Eq "^y64_fuzz\\(${d}[ )]" "$YGG64_TOP/tests/CMakeLists.txt" ||
		{ echo "$d: no y64_fuzz($d ...) line in tests/CMakeLists.txt" >&2; exit 2; }
done

echo "=== configuring $bdir (clang, libFuzzer, ASan+UBSan, whole tree instrumented)"
mkdir -p "$bdir"
if ! CC=clang cmake -S "$YGG64_TOP" -B "$bdir" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	-DYGG64_FUZZ=ON -DYGG64_SANITIZE=ON -DCMAKE_C_FLAGS="-fsanitize=fuzzer-no-link" \
	>"$bdir/configure.log" 2>&1; then
	cat "$bdir/configure.log" >&2
	exit 2
fi
# A build directory first configured with another compiler keeps it: refuse rather than measure
# an uninstrumented build.
grep -q '^CMAKE_C_COMPILER_ID:.*Clang\|^CMAKE_C_COMPILER:FILEPATH=.*clang' "$bdir/CMakeCache.txt" ||
	{ echo "$bdir was configured with another compiler: remove it and rerun" >&2; exit 2; }
echo "=== building ${drivers[*]}"
if ! cmake --build "$bdir" -j"$(nproc)" --target "${drivers[@]}" >"$bdir/build.log" 2>&1; then
	tail -n 40 "$bdir/build.log" >&2
	exit 2
fi

run="$bdir/findings/$(date +%Y%m%d-%H%M%S)"
work="$(mktemp -d "${TMPDIR:-/tmp}/ygg64-fuzz.XXXXXX")"
meta="$work/.meta"
trap 'rm -rf "$work"' EXIT
mkdir -p "$run" "$meta"
# Sanitizer reports must stop the run and show where; leaks are checked by libFuzzer itself.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:strict_string_checks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

# fuzz_one DRIVER: one libFuzzer run; leaves its exit status and corpus sizes in $meta.
fuzz_one() {
	local d="$1"
	local corpus="$work/$d" rc=0 extra=()
	mkdir -p "$corpus" "$run/$d"
	if [[ -d "$fuzz_src/corpus/$d" ]]; then
		cp -R "$fuzz_src/corpus/$d/." "$corpus/"
	else
		echo "$d: no seed corpus, starting empty" >&2
	fi
	find "$corpus" -type f | wc -l >"$meta/$d.seeds"
	# shellcheck disable=SC2206 # FUZZ_ARGS is split on purpose
	[[ -n "${FUZZ_ARGS:-}" ]] && extra=($FUZZ_ARGS)
	(cd "$work" && "$bdir/tests/$d" -max_total_time="$secs" -print_final_stats=1 \
		-timeout="$unit_timeout" -artifact_prefix="$run/$d/" "${extra[@]}" "$corpus") \
		>"$run/$d.log" 2>&1 || rc=$?
	find "$corpus" -type f | wc -l >"$meta/$d.final"
	echo "$rc" >"$meta/$d.rc"
}

echo "=== fuzzing ${#drivers[@]} driver(s) for ${secs}s each, $jobs_max at a time; output in $run"
for d in "${drivers[@]}"; do
	while (($(jobs -rp | wc -l) >= jobs_max)); do
		wait -n || true
	done
	fuzz_one "$d" &
done
wait

# The table. cov/ft come from libFuzzer's last status line, edges from the number of inline
# counters it found: that one shows whether the libraries were instrumented at all.
status=0
printf '\n%-18s %10s %8s %6s %6s %6s %14s  %s\n' driver execs exec/s cov ft edges "corpus" findings
for d in "${drivers[@]}"; do
	log="$run/$d.log"
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n1)
	eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n1)
	last=$(grep -E '^#[0-9]+.* cov: ' "$log" | tail -n1 || true)
	cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
	ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
	edges=$(sed -n 's/^INFO: Loaded [0-9]* modules *(\([0-9]*\) inline 8-bit counters.*/\1/p' \
		"$log" | head -n1)
	found=()
	for f in "$run/$d"/crash-* "$run/$d"/leak-* "$run/$d"/timeout-* "$run/$d"/oom-*; do
		[[ -e "$f" ]] && found+=("$(basename "$f")")
	done
	rc=$(cat "$meta/$d.rc")
	note="${#found[@]}"
	if ((${#found[@]})); then
		note+=" (${found[*]})"
		status=1
	elif ((rc != 0)); then
		note+=" (libFuzzer exit $rc, see $d.log)"
		((status)) || status=2
	fi
	printf '%-18s %10s %8s %6s %6s %6s %14s  %s\n' "$d" "${execs:--}" "${eps:--}" "${cov:--}" \
		"${ft:--}" "${edges:--}" "$(cat "$meta/$d.seeds")->$(cat "$meta/$d.final")" "$note"
done
echo
if ((status == 1)); then
	echo "FOUND something: inputs in $run/<driver>/; replay one with" \
		"$bdir/tests/<driver> <file>" >&2
elif ((status == 2)); then
	echo "a fuzz run failed: see the logs in $run" >&2
else
	echo "nothing found (logs in $run)"
fi
exit $status
