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
THREADS=${THREADS:-1,2}
RUNS=${RUNS:-20}
OUT=${OUT:-$(mktemp -d)}
SHAPE=${SHAPE:-}
ORT_RUN="$(cd "$(dirname "$0")/.." && pwd)/tests/ref/ort_run.js"
mkdir -p "$OUT"

echo "| model | threads | tern median ms | ORT median ms | ORT / tern |"
echo "|---|---:|---:|---:|---:|"
for m in "$@"; do
    name=$(basename "$m" .onnx)
    echo "# $(date -u +%H:%M:%S) load: $(cut -d' ' -f1-3 /proc/loadavg)  $name" >&2
    "$TERN" info "$m" --json >"$OUT/$name.info.json"
    # One .npy per input, the planned shape, a smooth wave (float32 inputs).
    feeds=$(python3 - "$OUT/$name.info.json" "$OUT" "$name" "$SHAPE" <<'PY'
import array, json, math, sys
info, out, name, given = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3], sys.argv[4]
plan = info.get("plan", {})
if given:
    shapes = {info["inputs"][0]["name"]: [int(d) for d in given.split("x")]}
elif plan.get("planned"):
    shapes = plan["input_shapes"]
else:
    sys.exit(f"{name}: no plan: {plan.get('why')} (set SHAPE)")
args = []
for i, (inp, shape) in enumerate(shapes.items()):
    n = math.prod(shape)
    # .npy v1 by hand (no numpy needed): magic, header padded to 64 bytes, little-endian float32.
    header = "{'descr': '<f4', 'fortran_order': False, 'shape': (%s), }" % "".join(f"{d}, " for d in shape)
    header += " " * (63 - (10 + len(header)) % 64) + "\n"
    f = f"{out}/{name}.in{i}.npy"
    with open(f, "wb") as fh:
        fh.write(b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header.encode("latin1"))
        fh.write(array.array("f", (math.sin(0.01 * k) for k in range(n))).tobytes())
    args.append(f"{inp}={f}")
print(" ".join(args))
PY
)
    "$TERN" bench "$m" -t "$THREADS" --runs "$RUNS" ${SHAPE:+--shape "$SHAPE"} --json >"$OUT/$name.tern.json"
    IFS=, read -ra ts <<<"$THREADS"
    for t in "${ts[@]}"; do
        # shellcheck disable=SC2086 # feeds is a list of NAME=FILE arguments
        node "$ORT_RUN" "$m" "$OUT/$name.ort$t" $feeds --threads "$t" --bench "$RUNS" >"$OUT/$name.ort$t.json"
        python3 - "$OUT/$name.tern.json" "$OUT/$name.ort$t.json" "$name" "$t" <<'PY'
import json, sys
tern, ort, name, t = json.load(open(sys.argv[1])), json.load(open(sys.argv[2])), sys.argv[3], int(sys.argv[4])
rows = tern if isinstance(tern, list) else [tern]
tm = next(r["median_ms"] for r in rows if r["threads"] == t)
om = ort["median_ms"]
print(f"| {name} | {t} | {tm:.3f} | {om:.3f} | {om / tm:.2f}x |")
PY
    done
done
