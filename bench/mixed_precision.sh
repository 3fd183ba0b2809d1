#!/usr/bin/env bash
# Mixed-precision PTQ (tern quantize --method mixed) against uniform-width
# nearest-rounding PTQ at the same packed weight size, on the full Fashion-MNIST
# TEST split, in tern (tern eval: integer-only) and ONNX Runtime (same file).
# Both calibrate activations by min-max on the first CALIB training images;
# mixed chooses its widths on VAL validation images tern train held out.
# Prints a markdown table; the mixed runs' Pareto tables (validation) and PNGs
# stay in OUT.
#
#   bench/mixed_precision.sh TERN [MODEL ...]   (default: models/fmnist-{mobilenetv2_tiny,lenet5})
#   env: CALIB=512  VAL=1000  AVG_BITS="4"  OUT=dir
set -euo pipefail
if [[ $# -lt 1 ]]; then
    sed -n '2,12p' "$0" >&2
    exit 2
fi
TERN=$1
shift
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
MODELS=("$@")
[[ ${#MODELS[@]} -gt 0 ]] || MODELS=("$ROOT"/models/fmnist-{mobilenetv2_tiny,lenet5}.safetensors)
CALIB=${CALIB:-512}
VAL=${VAL:-1000}
AVG_BITS=${AVG_BITS:-4}
OUT=${OUT:-$(mktemp -d)}
mkdir -p "$OUT"

/usr/bin/python3 - "$OUT" <<'PY'
import gzip, sys, numpy as np
out, d = sys.argv[1], "/usr/share/datasets/fashion-mnist/"
x = np.frombuffer(gzip.open(d + "t10k-images-idx3-ubyte.gz").read()[16:], np.uint8).astype(np.float32)
x = (x * np.float32(1 / 255) - np.float32(0.2860)) / np.float32(0.3530)
np.save(out + "/test_x.npy", x.reshape(-1, 1, 28, 28))
np.save(out + "/test_y.npy", np.frombuffer(gzip.open(d + "t10k-labels-idx1-ubyte.gz").read()[8:], np.uint8))
PY

ort_accuracy() {
    local dir="$OUT/ort_$(basename "$1" .onnx)"
    node "$ROOT/tests/ref/ort_run.js" "$1" "$dir" "image=$OUT/test_x.npy" >/dev/null
    /usr/bin/python3 -c "import numpy as np,sys; l=np.load(sys.argv[1]); y=np.load(sys.argv[2]); print('%.2f' % (100*(l.argmax(1)==y).mean()))" \
        "$dir/0.npy" "$OUT/test_y.npy"
}
tern_accuracy() { "$TERN" eval "$1" --data fashion-mnist --json | /usr/bin/python3 -c "import json,sys; print('%.2f' % (100*json.load(sys.stdin)['accuracy']))"; }
field() { /usr/bin/python3 -c "import json,sys; j=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$1" "$2"; }

echo "| model | weights | widths per layer | weight KB | val acc % | test acc % (tern) | test acc % (ORT) |"
echo "|---|---|---|---:|---:|---:|---:|"
for m in "${MODELS[@]}"; do
    name=$(basename "$m" .safetensors)
    echo "# $(date -u +%H:%M:%S) load: $(cut -d' ' -f1-3 /proc/loadavg)  $name" >&2
    "$TERN" export "$m" -o "$OUT/$name.onnx" >/dev/null
    echo "| $name | fp32 | - | - | - | $(tern_accuracy "$OUT/$name.onnx") | $(ort_accuracy "$OUT/$name.onnx") |"
    for bits in $AVG_BITS; do
        mixed="$OUT/$name-mixed$bits.onnx"
        "$TERN" quantize "$m" -o "$mixed" --method mixed --avg-bits "$bits" --calib "fashion-mnist:train:$CALIB" \
            --val-images "$VAL" --pareto-png "$OUT/$name-mixed$bits-pareto.png" --json >"$OUT/$name-mixed$bits.json"
        j="$OUT/$name-mixed$bits.json"
        /usr/bin/python3 - "$j" >"$OUT/$name-mixed$bits-pareto.md" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
print("| points | widths | avg bits | weight KB | predicted loss + | val loss | val acc % | Pareto |")
print("|---|---|---:|---:|---:|---:|---:|:-:|")
for p in j["points"]:
    chosen = " (chosen)" if p["label"] == "mixed" and p["bits"] == j["chosen"]["bits"] else ""
    print("| %s%s | %s | %.2f | %.2f | %+.4f | %.4f | %.2f | %s |" % (p["label"], chosen, ",".join(map(str, p["bits"])),
          p["avg_bits"], p["bytes"] / 1024, p["predicted_loss_increase"], p["val_loss"], 100 * p["val_accuracy"], "*" if p["pareto"] else ""))
PY
        if [[ "$bits" =~ ^(8|6|4|2)$ ]]; then
            uniform="$OUT/$name-int$bits.onnx"
            "$TERN" quantize "$m" -o "$uniform" --method minmax --weights "int$bits" --calib "fashion-mnist:train:$CALIB" >/dev/null
            echo "| $name | uniform int$bits, nearest | all $bits | $(field "$j" "'%.2f' % ([p for p in j['points'] if p['label']=='uniform' and p['bits']==[$bits]*len(j['layers'])][0]['bytes']/1024)") | $(field "$j" "'%.2f' % (100*[p for p in j['points'] if p['label']=='uniform' and p['bits']==[$bits]*len(j['layers'])][0]['val_accuracy'])") | $(tern_accuracy "$uniform") | $(ort_accuracy "$uniform") |"
        fi
        echo "| $name | mixed, --avg-bits $bits | $(field "$j" "','.join(map(str, j['chosen']['bits']))") | $(field "$j" "'%.2f' % (j['chosen']['bytes']/1024)") | $(field "$j" "'%.2f' % (100*j['chosen']['val_accuracy'])") | $(tern_accuracy "$mixed") | $(ort_accuracy "$mixed") |"
    done
done
