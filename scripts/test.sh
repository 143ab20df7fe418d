#!/usr/bin/env bash
# test.sh — install what the build and the tests need, then build and run the whole suite:
#   1. the unit tests and integration tests on a normal build (build/),
#   2. the same tests on an AddressSanitizer + UndefinedBehaviorSanitizer build (build-asan/).
# The integration tests compare ygg64 with the real yggdrasil 0.5.12, which
# scripts/get-yggdrasil.sh puts in a cache folder (YGG64_YGGDRASIL overrides the binary).
# Tests that cannot run here (no root, no netns, no reference binary) are skipped LOUDLY; under
# CI=true a skip is a failure.
set -euo pipefail
YGG64_TOP="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$YGG64_TOP/scripts/deps.sh"

need_pkgs "${BUILD_PKGS[@]}" "${TEST_PKGS[@]}"

if [[ -z "${YGG64_YGGDRASIL:-}" ]]; then
	if YGG64_YGGDRASIL="$("$YGG64_TOP/scripts/get-yggdrasil.sh" | tail -n1)"; then
		export YGG64_YGGDRASIL
	else
		echo "WARNING: could not install the reference yggdrasil 0.5.12" >&2
		unset YGG64_YGGDRASIL
	fi
fi

status=0
skipped=0
run_suite() { # run_suite NAME BUILD_DIR [cmake args...]
	local name="$1" dir="$2" log
	shift 2
	echo "=== $name: building in $dir"
	mkdir -p "$dir"
	cmake_build "$dir" -DYGG64_TESTS=ON "$@"
	echo "=== $name: running tests"
	log="$dir/ctest.log"
	if ! (cd "$dir" && ctest --output-on-failure -j"$(nproc)" 2>&1 | tee "$log"); then
		status=1
	fi
	# ctest lists skipped tests as "***Skipped"; their output says why.
	local n
	n=$(grep -c '\*\*\*Skipped' "$log" || true)
	skipped=$((skipped + n))
}

export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:strict_string_checks=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
run_suite "normal build" "$YGG64_TOP/build"
run_suite "ASan+UBSan build" "$YGG64_TOP/build-asan" -DYGG64_SANITIZE=ON

if ((skipped)); then
	echo "!!! WARNING: $skipped test(s) were SKIPPED (see '***Skipped' above for the reasons)." >&2
	if [[ "${CI:-}" == true ]]; then
		echo "!!! CI=true: a skipped test counts as a failure." >&2
		status=1
	fi
fi
if ((status)); then
	echo "FAILED" >&2
else
	echo "all test suites passed"
fi
exit $status
