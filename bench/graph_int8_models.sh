#!/usr/bin/env bash
# The QDQ models of bench/RESULTS_graph.md's int8 rows, written by `tern quantize`, and their accuracy:
#   - fmnist-lenet5, fmnist-mobilenetv2_tiny: `tern export`, then min-max PTQ on 512 TRAIN images;
#     TEST-split accuracy (10,000 images) of the int8 file in tern (`tern eval`) and in ONNX Runtime
#     (bench/qat_export_ort.sh), fp32 beside them;
#   - PP-OCR direction classifier (192x48) and PP-OCRv4 recognizer (320x48): calibrated on 50 text
#     lines rendered with ImageMagick and DejaVu Sans (every other one upside down), preprocessed as
#     PaddleOCR does (BGR, (x/255 - 0.5)/0.5); for cls, agreement of the int8 model's class with the
#     fp32 model's on 50 OTHER rendered lines, in tern and in ONNX Runtime.
# Then: bench/graph_int8_vs_ort.sh TERN OUT/M.onnx OUT/M.int8.onnx ... for the latencies.
#
#   bench/graph_int8_models.sh TERN OUT_DIR
set -euo pipefail
if [[ $# -ne 2 ]]; then
    sed -n '2,12p' "$0" >&2
    exit 2
fi
TERN=$1
OUT=$2
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
OCR=${OCR:-$HOME/.cache/tern/npm/ocr-models/package/assets}
ORT_RUN="$ROOT/tests/ref/ort_run.js"
mkdir -p "$OUT"

for m in lenet5 mobilenetv2_tiny; do
    f="$OUT/fmnist-$m.onnx" q="$OUT/fmnist-$m.int8.onnx"
    "$TERN" export "$ROOT/models/fmnist-$m.safetensors" -o "$f" >/dev/null
    "$TERN" quantize "$f" -o "$q" --calib fashion-mnist:train:512 --json >"$OUT/fmnist-$m.quantize.json"
    for v in "$f" "$q"; do
        acc=$("$TERN" eval "$v" --data fashion-mnist --json | python3 -c 'import json, sys; print(json.load(sys.stdin)["accuracy"])')
        echo "$(basename "$v"): tern accuracy on fashion-mnist test, 10000 images: $(python3 -c "print(f'{100 * $acc:.2f}%')")"
        "$ROOT/bench/qat_export_ort.sh" "$v" "$OUT/ort-acc-$(basename "$v" .onnx)"
    done
done

# Text lines: words from a fixed list, line i = words i .. i+2 (cls) or i .. i+4 (rec); odd lines rotated 180 degrees.
words=(invoice total amount paid due date account number street city river garden market window
       silver orange planet yellow winter summer coffee bridge letter signal number copper forest
       harbor island engine pocket mirror candle ticket museum circle spring autumn rocket button
       ladder basket velvet marble cotton saddle anchor violin tunnel meadow lantern)
render() {  # render DIR W FIRST COUNT NWORDS
    local dir=$1 w=$2 first=$3 count=$4 nw=$5 i k text flip
    mkdir -p "$dir"
    for ((i = first; i < first + count; ++i)); do
        text=""
        for ((k = 0; k < nw; ++k)); do text+="${words[$(((i * 7 + k * 3) % ${#words[@]}))]} "; done
        flip=()
        if ((i % 2 == 1)); then flip=(-rotate 180); fi
        convert -size "${w}x48" xc:white -font DejaVu-Sans -pointsize 28 -fill black -annotate +6+35 "${text% }" \
            "${flip[@]}" "$dir/line$(printf %03d "$i").png"
    done
}
render "$OUT/cls_calib" 192 0 50 2
render "$OUT/cls_heldout" 192 50 50 2
render "$OUT/rec_calib" 320 0 50 3

cp "$OCR/ch_ppocr_mobile_v2.0_cls_infer.onnx" "$OUT/ppocr-cls.onnx"
cp "$OCR/ch_PP-OCRv4_rec_infer.onnx" "$OUT/ppocrv4-rec.onnx"
"$TERN" quantize "$OUT/ppocr-cls.onnx" -o "$OUT/ppocr-cls.int8.onnx" --calib "images:$OUT/cls_calib" \
    --calib-shape 1x3x48x192 --calib-norm paddle-rec --json >"$OUT/ppocr-cls.quantize.json"
"$TERN" quantize "$OUT/ppocrv4-rec.onnx" -o "$OUT/ppocrv4-rec.int8.onnx" --calib "images:$OUT/rec_calib" \
    --calib-shape 1x3x48x320 --calib-norm paddle-rec --json >"$OUT/ppocrv4-rec.quantize.json" ||
    echo "PP-OCRv4 rec: tern quantize failed (above)"

# cls agreement on the held-out lines: one (50, 3, 48, 192) batch, PaddleOCR's preprocessing.
/usr/bin/python3 - "$OUT" <<'PY'
import glob, subprocess, sys, numpy as np
out = sys.argv[1]
files = sorted(glob.glob(f"{out}/cls_heldout/*.png"))
def pixels(f):  # (48, 192, 3) uint8 RGB through ImageMagick (no PIL needed)
    return np.frombuffer(subprocess.run(["convert", f, "-depth", "8", "rgb:-"], check=True, capture_output=True).stdout,
                         np.uint8).reshape(48, 192, 3)
x = np.stack([(pixels(f)[:, :, ::-1].astype(np.float32) / 255.0 - 0.5) / 0.5 for f in files])
np.save(f"{out}/cls_heldout.npy", np.ascontiguousarray(x.transpose(0, 3, 1, 2)).astype(np.float32))
PY
in_name=$("$TERN" info "$OUT/ppocr-cls.onnx" --json | python3 -c 'import json, sys; print(json.load(sys.stdin)["inputs"][0]["name"])')
for v in ppocr-cls ppocr-cls.int8; do
    node "$ORT_RUN" "$OUT/$v.onnx" "$OUT/ort-$v" "$in_name=$OUT/cls_heldout.npy" >/dev/null
    "$TERN" run "$OUT/$v.onnx" --input "$OUT/cls_heldout.npy" --output "$OUT/tern-$v.npy" >/dev/null
done
/usr/bin/python3 - "$OUT" <<'PY'
import sys, numpy as np
out = sys.argv[1]
cls = {k: np.load(p).argmax(1) for k, p in [("tern fp32", f"{out}/tern-ppocr-cls.npy"), ("tern int8", f"{out}/tern-ppocr-cls.int8.npy"),
                                           ("ORT fp32", f"{out}/ort-ppocr-cls/0.npy"), ("ORT int8", f"{out}/ort-ppocr-cls.int8/0.npy")]}
truth = np.arange(50, 100) % 2  # odd lines are upside down: PaddleOCR's class 1 ("180")
for k, v in cls.items():
    print(f"PP-OCR cls {k}: {int((v == truth).sum())}/50 held-out lines classified right; "
          f"agrees with ORT fp32 on {int((v == cls['ORT fp32']).sum())}/50")
PY
