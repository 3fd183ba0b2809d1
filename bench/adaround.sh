#!/usr/bin/env bash
# 4-bit weights, 8-bit activations (W4A8) graph PTQ of tern's Fashion-MNIST
# classifiers: round-to-nearest, AdaRound, and AdaRound with cross-layer
# equalization and bias correction (tern quantize -o .onnx --weights int4),
# each QDQ model's accuracy on the full test split (10,000 images) from tern
# eval (integer-only through qdq_fuse). Prints a markdown table. One thread, niced.
#
#   bench/adaround.sh TERN [MODEL ...]     (default: models/fmnist-{lenet300,lenet5,mobilenetv2_tiny})
#   env: CALIB=512 (first N training images)  ITERS=1000 (AdaRound Adam steps per layer)
#        WEIGHTS=int4  OUT=dir (the QDQ models kept there)
set -euo pipefail
if [[ $# -lt 1 ]]; then
    sed -n '2,10p' "$0" >&2
    exit 2
fi
TERN=$1
shift
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
MODELS=("$@")
[[ ${#MODELS[@]} -gt 0 ]] || MODELS=("$ROOT"/models/fmnist-{lenet300,lenet5,mobilenetv2_tiny}.safetensors)
CALIB=${CALIB:-512}
ITERS=${ITERS:-1000}
WEIGHTS=${WEIGHTS:-int4}
OUT=${OUT:-$(mktemp -d)}
mkdir -p "$OUT"
run() { nice -n 10 "$TERN" "$@" --threads 1; }

echo "| model | weights / activations | rounding | tern accuracy % | quantize s |"
echo "|---|---|---|---:|---:|"
for model in "${MODELS[@]}"; do
    name=$(basename "$model" .safetensors)
    fp32=$(run eval "$model" --data fashion-mnist --json | /usr/bin/python3 -c "import json,sys; print('%.2f' % (100*json.load(sys.stdin)['accuracy']))")
    echo "| $name | fp32 | - | $fp32 | - |"
    for variant in nearest adaround adaround+cle+bc; do
        case $variant in
            nearest) args=(--method minmax) ;;
            adaround) args=(--method adaround --adaround-iters "$ITERS") ;;
            adaround+cle+bc) args=(--method adaround --adaround-iters "$ITERS" --equalize --bias-correction) ;;
        esac
        q="$OUT/$name-$WEIGHTS-${variant//+/_}.onnx"
        start=$(date +%s)
        run quantize "$model" -o "$q" --weights "$WEIGHTS" --calib "fashion-mnist:train:$CALIB" "${args[@]}" --json >"$q.json"
        secs=$(( $(date +%s) - start ))
        acc=$(run eval "$q" --data fashion-mnist --json | /usr/bin/python3 -c "import json,sys; print('%.2f' % (100*json.load(sys.stdin)['accuracy']))")
        echo "| $name | $WEIGHTS per-channel / uint8 | $variant | $acc | $secs |"
    done
done
