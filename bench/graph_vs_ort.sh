#!/usr/bin/env bash
# fp32 latency of ONNX models: tern bench (passes + planned executor) against
# ONNX Runtime (tests/ref/ort_run.js --bench, all graph optimizations on), same
# thread counts, batch 1 (input shapes from `tern info --json`, a batch dim
# unknown before run time set to 1); prints a markdown table of medians.
#
#   bench/graph_vs_ort.sh TERN MODEL.onnx [MODEL.onnx ...]
#   env: THREADS=1,2  RUNS=20  OUT=dir (raw JSON and inputs kept there)
#        SHAPE=1x3x48x192 (the input shape of one-input models that leave dims open)
set -euo pipefail
if [[ $# -lt 2 ]]; then
    sed -n '2,8p' "$0" >&2
    exit 2
fi
TERN=$1
shift
# shellcheck source=bench/graph_bench_lib.sh
source "$(dirname "$0")/graph_bench_lib.sh"

echo "| model | threads | tern median ms | ORT median ms | ORT / tern |"
echo "|---|---:|---:|---:|---:|"
for m in "$@"; do
    name=$(basename "$m" .onnx)
    echo "# $(date -u +%H:%M:%S) load: $(cut -d' ' -f1-3 /proc/loadavg)  $name" >&2
    feed_args=$(graph_feeds "$m" "$name")
    read -ra feeds <<<"$feed_args"
    tern_bench_json "$m" "$name"
    IFS=, read -ra ts <<<"$THREADS"
    for t in "${ts[@]}"; do
        tm=$(tern_median "$name" "$t")
        om=$(ort_median "$m" "$name" "$t" "${feeds[@]}")
        python3 -c 'import sys; n, t, tm, om = sys.argv[1:]; print(f"| {n} | {t} | {float(tm):.3f} | {float(om):.3f} | {float(om) / float(tm):.2f}x |")' \
            "$name" "$t" "$tm" "$om"
    done
done
