#!/usr/bin/env bash
# Builds the `fuzz` preset (clang + libFuzzer + ASan/UBSan, UB fatal) and runs
# every fuzz target for SECONDS each on a scratch copy of its seed corpus
# (fuzz/corpus/<name without the fuzz_ prefix>/), so new coverage inputs never
# pollute the repository. Total time: (number of fuzz/fuzz_*.cpp) x SECONDS.
# Exits non-zero when any target exits non-zero OR its log holds a sanitizer
# or libFuzzer report (a recoverable report can leave the exit status 0).
# Each crash / leak / timeout / oom reproducer is copied into
# fuzz/corpus/<name>/ (commit it, renamed regress-*, once fixed) and printed.
#
# usage: scripts/run_fuzzers.sh SECONDS
# Self-test: TERN_FUZZ_SELFTEST=1 scripts/run_fuzzers.sh 5 runs instead two
# planted-UB targets (fuzz/selftest/) and must exit 1: one where UB aborts the
# run, one built recoverable where only the log check catches it.
set -euo pipefail
seconds=${1:?usage: scripts/run_fuzzers.sh SECONDS}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

selftest=${TERN_FUZZ_SELFTEST:-0}
targets=()
if [ "$selftest" = 1 ]; then
    targets=(fuzz_selftest_ub fuzz_selftest_ub_recover)
else
    for src in fuzz/fuzz_*.cpp; do targets+=("$(basename "$src" .cpp)"); done
fi
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz --target "${targets[@]}"

# What a sanitizer or libFuzzer prints when it finds something.
report='runtime error:|ERROR: AddressSanitizer|ERROR: LeakSanitizer|ERROR: UndefinedBehaviorSanitizer|ERROR: libFuzzer|SUMMARY: (Address|Leak|UndefinedBehavior)Sanitizer'

scratch=$(mktemp -d "${TMPDIR:-/tmp}/tern-fuzz-XXXXXX")
echo "scratch: $scratch; ${#targets[@]} targets x ${seconds}s"
status=0
for t in "${targets[@]}"; do
    name=${t#fuzz_}
    corpus="$scratch/$name/corpus"
    artifacts="$scratch/$name/artifacts"
    log="$scratch/$name/log.txt"
    mkdir -p "$corpus" "$artifacts"
    if [ "$selftest" = 1 ]; then
        printf 'UB!x' >"$corpus/planted"
    elif [ -d "fuzz/corpus/$name" ]; then
        cp -r "fuzz/corpus/$name/." "$corpus/"
    fi
    echo "== $t for ${seconds}s"
    rc=0
    UBSAN_OPTIONS="print_stacktrace=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}" \
        "build/asan/fuzz/$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix="$artifacts/" -print_final_stats=1 "$corpus" >"$log" 2>&1 || rc=$?
    found=$(grep -E -m 5 "$report" "$log" || true)
    if [ "$rc" -ne 0 ] || [ -n "$found" ]; then
        echo "!! $t found a problem (exit $rc); log: $log"
        [ -n "$found" ] && echo "$found"
        tail -n 40 "$log"
        for a in "$artifacts"/crash-* "$artifacts"/leak-* "$artifacts"/timeout-* "$artifacts"/oom-*; do
            [ -e "$a" ] || continue
            if [ "$selftest" = 1 ]; then
                echo "!! reproducer: $a"
            else
                mkdir -p "fuzz/corpus/$name"
                cp "$a" "fuzz/corpus/$name/"
                echo "!! reproducer: fuzz/corpus/$name/$(basename "$a") (rerun: build/asan/fuzz/$t $a)"
            fi
        done
        status=1
    else
        grep -E "^stat::number_of_executed_units|^stat::peak_rss_mb|^#[0-9]+.*DONE" "$log" || true
    fi
done
[ "$status" -eq 0 ] && echo "all ${#targets[@]} fuzz targets clean" || echo "FUZZING FOUND PROBLEMS"
exit $status
