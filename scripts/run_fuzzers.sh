#!/usr/bin/env bash
# Builds the `fuzz` preset (clang + libFuzzer + ASan/UBSan) and runs every fuzz
# target for SECONDS each on a scratch copy of its seed corpus (fuzz/corpus/<name
# without the fuzz_ prefix>/), so new inputs never pollute the repository.
# Exits non-zero when any target finds a crash; reproducers are left in the
# scratch folder, whose path is printed.
# usage: scripts/run_fuzzers.sh SECONDS
set -euo pipefail
seconds=${1:?usage: scripts/run_fuzzers.sh SECONDS}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

cmake --preset fuzz >/dev/null
targets=()
for src in fuzz/fuzz_*.cpp; do targets+=("$(basename "$src" .cpp)"); done
cmake --build --preset fuzz --target "${targets[@]}"

scratch=$(mktemp -d "${TMPDIR:-/tmp}/tern-fuzz-XXXXXX")
echo "scratch: $scratch"
status=0
for t in "${targets[@]}"; do
    name=${t#fuzz_}
    corpus="$scratch/$name/corpus"
    artifacts="$scratch/$name/artifacts/"
    mkdir -p "$corpus" "$artifacts"
    if [ -d "fuzz/corpus/$name" ]; then cp -r "fuzz/corpus/$name/." "$corpus/"; fi
    echo "== $t for ${seconds}s"
    if ! "build/fuzz/fuzz/$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
            -artifact_prefix="$artifacts" -print_final_stats=1 "$corpus" 2>"$scratch/$name/log.txt"; then
        echo "!! $t found a problem; see $scratch/$name/log.txt and $artifacts"
        tail -n 40 "$scratch/$name/log.txt"
        status=1
    else
        grep -E "^stat::number_of_executed_units|^stat::peak_rss_mb|^#[0-9]+.*DONE" "$scratch/$name/log.txt" || true
    fi
done
exit $status
