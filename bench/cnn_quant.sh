#!/usr/bin/env bash
# Static int8 PTQ of tern's Fashion-MNIST classifiers (tern quantize -o .onnx)
# with every activation observer, and the accuracy of each QDQ model on the
# full test split in tern (tern eval: integer-only through qdq_fuse) and in
# ONNX Runtime (tests/ref/ort_run.js, the same file). Prints a markdown table.
# Needs Debian python3-numpy (/usr/bin/python3: a pyenv python3 may lack it).
#
#   bench/cnn_quant.sh TERN [MODEL ...]     (default: models/fmnist-{lenet300,lenet5,mobilenetv2_tiny})
#   env: CALIB=512 (first N training images)  OUT=dir (models and logits kept there)
#        METHODS="minmax movingavg percentile mse kl"  ACTS=uint8
set -euo pipefail
if [[ $# -lt 1 ]]; then
    sed -n '2,9p' "$0" >&2
    exit 2
fi
TERN=$1
shift
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
MODELS=("$@")
[[ ${#MODELS[@]} -gt 0 ]] || MODELS=("$ROOT"/models/fmnist-{lenet300,lenet5,mobilenetv2_tiny}.safetensors)
CALIB=${CALIB:-512}
METHODS=${METHODS:-minmax movingavg percentile mse kl}
ACTS=${ACTS:-uint8}
OUT=${OUT:-$(mktemp -d)}
mkdir -p "$OUT"

# The test split as tern normalises it: (x / 255 - 0.2860) / 0.3530, float32.
/usr/bin/python3 - "$OUT" <<'PY'
import gzip, sys, numpy as np
out, d = sys.argv[1], "/usr/share/datasets/fashion-mnist/"
x = np.frombuffer(gzip.open(d + "t10k-images-idx3-ubyte.gz").read()[16:], np.uint8).astype(np.float32)
x = (x * np.float32(1 / 255) - np.float32(0.2860)) / np.float32(0.3530)
np.save(out + "/test_x.npy", x.reshape(-1, 1, 28, 28))
np.save(out + "/test_y.npy", np.frombuffer(gzip.open(d + "t10k-labels-idx1-ubyte.gz").read()[8:], np.uint8))
PY

ort_accuracy() {  # MODEL.onnx -> accuracy in % from ONNX Runtime's logits
    local dir="$OUT/ort_$(basename "$1" .onnx)"
    node "$ROOT/tests/ref/ort_run.js" "$1" "$dir" "image=$OUT/test_x.npy" >/dev/null
    /usr/bin/python3 -c "import numpy as np,sys; l=np.load(sys.argv[1]); y=np.load(sys.argv[2]); print('%.2f' % (100*(l.argmax(1)==y).mean()))" \
        "$dir/0.npy" "$OUT/test_y.npy"
}
tern_accuracy() { "$TERN" eval "$1" --data fashion-mnist --json | python3 -c "import json,sys; print('%.2f' % (100*json.load(sys.stdin)['accuracy']))"; }

echo "| model | weights / activations | observer | tern accuracy % | ORT accuracy % | tern - fp32 (pt) |"
echo "|---|---|---|---:|---:|---:|"
for m in "${MODELS[@]}"; do
    name=$(basename "$m" .safetensors)
    echo "# $(date -u +%H:%M:%S) load: $(cut -d' ' -f1-3 /proc/loadavg)  $name" >&2
    "$TERN" export "$m" -o "$OUT/$name.onnx" >/dev/null
    fp32=$(tern_accuracy "$OUT/$name.onnx")
    echo "| $name | fp32 | - | $fp32 | $(ort_accuracy "$OUT/$name.onnx") | 0 |"
    for method in $METHODS; do
        q="$OUT/$name-int8-$method.onnx"
        "$TERN" quantize "$m" -o "$q" --method "$method" --calib "fashion-mnist:train:$CALIB" --acts "$ACTS" >/dev/null
        acc=$(tern_accuracy "$q")
        echo "| $name | int8 per-channel / $ACTS | $method | $acc | $(ort_accuracy "$q") | $(python3 -c "print('%+.2f' % ($acc - $fp32))") |"
    done
done
