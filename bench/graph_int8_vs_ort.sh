#!/usr/bin/env bash
# int8 latency of QDQ models written by `tern quantize`: tern bench on the QDQ
# file (QDQ fused into integer QLinear ops) against ONNX Runtime on the same QDQ
# file and ONNX Runtime fp32 on the original (tests/ref/ort_run.js --bench, all
# graph optimizations on), same thread counts, batch 1, the same input; prints
# a markdown table of medians (tern fp32 beside them for reference).
#
#   bench/graph_int8_vs_ort.sh TERN FP32.onnx INT8.onnx [FP32.onnx INT8.onnx ...]
#   env: THREADS=1,2  RUNS=20  OUT=dir (raw JSON and inputs kept there)
#        SHAPE=1x3x48x192 (the input shape of one-input models that leave dims open)
# bench/graph_int8_models.sh writes the QDQ files measured in bench/RESULTS_graph.md.
set -euo pipefail
if [[ $# -lt 3 || $(($# % 2)) -ne 1 ]]; then
    sed -n '2,11p' "$0" >&2
    exit 2
fi
TERN=$1
shift
# shellcheck source=bench/graph_bench_lib.sh
source "$(dirname "$0")/graph_bench_lib.sh"

echo "| model | threads | tern int8 ms | ORT int8 ms | ORT fp32 ms | tern fp32 ms | ORT int8 / tern int8 | ORT fp32 / tern int8 |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|"
while [[ $# -gt 0 ]]; do
    fp32=$1 int8=$2
    shift 2
    name=$(basename "$fp32" .onnx)
    echo "# $(date -u +%H:%M:%S) load: $(cut -d' ' -f1-3 /proc/loadavg)  $name" >&2
    feed_args=$(graph_feeds "$fp32" "$name")
    read -ra feeds <<<"$feed_args"
    tern_bench_json "$fp32" "$name"
    tern_bench_json "$int8" "$name.int8"
    IFS=, read -ra ts <<<"$THREADS"
    for t in "${ts[@]}"; do
        ti=$(tern_median "$name.int8" "$t")
        tf=$(tern_median "$name" "$t")
        oi=$(ort_median "$int8" "$name.int8" "$t" "${feeds[@]}")
        of=$(ort_median "$fp32" "$name" "$t" "${feeds[@]}")
        python3 -c 'import sys; n, t, ti, oi, of, tf = sys.argv[1:3] + [float(v) for v in sys.argv[3:]]
print(f"| {n} | {t} | {ti:.3f} | {oi:.3f} | {of:.3f} | {tf:.3f} | {oi / ti:.2f}x | {of / ti:.2f}x |")' \
            "$name" "$t" "$ti" "$oi" "$of" "$tf"
    done
done
