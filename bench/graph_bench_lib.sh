# Shared by bench/graph_vs_ort.sh and bench/graph_int8_vs_ort.sh (sourced, not run):
# inputs for a model, tern's and ONNX Runtime's median latencies.
# Needs TERN; sets the environment defaults both scripts take (THREADS, RUNS,
# OUT, SHAPE) and ORT_RUN (tests/ref/ort_run.js).
THREADS=${THREADS:-1,2}
RUNS=${RUNS:-20}
OUT=${OUT:-$(mktemp -d)}
SHAPE=${SHAPE:-}
ORT_RUN="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/tests/ref/ort_run.js"
mkdir -p "$OUT"

# graph_feeds MODEL NAME: writes one .npy per input (the planned shape, or
# $SHAPE, a smooth float32 wave) under $OUT and prints NAME=FILE arguments.
graph_feeds() {
    local m=$1 name=$2
    "$TERN" info "$m" --json >"$OUT/$name.info.json"
    python3 - "$OUT/$name.info.json" "$OUT" "$name" "${SHAPE:-}" <<'PY'
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
}

# tern_bench_json MODEL NAME: `tern bench` at $THREADS into $OUT/NAME.tern.json.
tern_bench_json() {
    "$TERN" bench "$1" -t "$THREADS" --runs "$RUNS" ${SHAPE:+--shape "$SHAPE"} --json >"$OUT/$2.tern.json"
}

# tern_median NAME THREADS: the median from tern_bench_json's file.
tern_median() {
    python3 - "$OUT/$1.tern.json" "$2" <<'PY'
import json, sys
rows = json.load(open(sys.argv[1]))
rows = rows if isinstance(rows, list) else [rows]
print(next(r["median_ms"] for r in rows if r["threads"] == int(sys.argv[2])))
PY
}

# ort_median MODEL NAME THREADS FEEDS...: ONNX Runtime's median (all graph optimizations on).
ort_median() {
    local m=$1 name=$2 t=$3
    shift 3
    node "$ORT_RUN" "$m" "$OUT/$name.ort$t" "$@" --threads "$t" --bench "$RUNS" >"$OUT/$name.ort$t.json"
    python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["median_ms"])' "$OUT/$name.ort$t.json"
}
