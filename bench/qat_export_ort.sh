#!/usr/bin/env bash
# Fashion-MNIST TEST accuracy of an exported model (e.g. `tern export QAT.safetensors -o q.onnx`) in
# ONNX Runtime (tests/ref/ort_run.js, all graph optimizations on, 1 thread), images normalised as
# tern's loader does ((x / 255 - 0.2860) / 0.3530); compare with `tern eval q.onnx --data fashion-mnist`.
#
#   bench/qat_export_ort.sh MODEL.onnx [OUT_DIR]
set -euo pipefail
if [[ $# -lt 1 ]]; then
    sed -n '2,6p' "$0" >&2
    exit 2
fi
MODEL=$1
OUT=${2:-$(mktemp -d)}
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DATA=/usr/share/datasets/fashion-mnist
mkdir -p "$OUT"
/usr/bin/python3 - "$DATA" "$OUT" <<'PY'
import gzip, sys, numpy as np
data, out = sys.argv[1], sys.argv[2]
with gzip.open(f"{data}/t10k-images-idx3-ubyte.gz") as f:
    x = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 1, 28, 28)
with gzip.open(f"{data}/t10k-labels-idx1-ubyte.gz") as f:
    y = np.frombuffer(f.read(), np.uint8, offset=8)
np.save(f"{out}/image.npy", ((x.astype(np.float32) / 255.0 - 0.2860) / 0.3530).astype(np.float32))
np.save(f"{out}/labels.npy", y.astype(np.int64))
PY
node "$ROOT/tests/ref/ort_run.js" "$MODEL" "$OUT/ort" "image=$OUT/image.npy" --threads 1 >/dev/null
/usr/bin/python3 - "$OUT" "$MODEL" <<'PY'
import sys, numpy as np
out, model = sys.argv[1], sys.argv[2]
logits, labels = np.load(f"{out}/ort/0.npy"), np.load(f"{out}/labels.npy")
acc = float((logits.argmax(1) == labels).mean())
print(f"{model}: ONNX Runtime accuracy on fashion-mnist test, {len(labels)} images: {100 * acc:.2f}%")
PY
