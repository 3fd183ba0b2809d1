#!/usr/bin/env bash
# Deep Compression on the Fashion-MNIST LeNets (issue 24 item 4, issue 25 item 7):
# K-means weight sharing one-shot and with centroid fine-tuning (4 and 2 bits),
# then prune -> K-means -> Huffman. Every size is the file's on disk; every
# accuracy is `tern eval` on the full test split (10000 images). Trainings run
# niced on one thread (the prune recipes take a few minutes each).
#   bench/deep_compression.sh [TERN] [OUT_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
TERN=${1:-build/release/tern}
OUT=${2:-/tmp/tern-deep-compression}
mkdir -p "$OUT"
train() { nice -n 10 "$TERN" train "$@" -t 1 >"$OUT/$(basename "$1" .json).log"; }
acc() { "$TERN" eval "$1" --data fashion-mnist --json -t 1 | python3 -c 'import json,sys; print("%.2f" % (100*json.load(sys.stdin)["accuracy"]))'; }
bytes() { stat -c %s "$1"; }
row() {  # model stage file fp32
    printf '| %s | %s | %s | %s | %.1fx | %s %% |\n' "$1" "$2" "$(basename "$3")" "$(bytes "$3")" \
        "$(python3 -c "print($(bytes "$4")/$(bytes "$3"))")" "$(acc "$3")"
}
echo "| model | stage | file | bytes | smaller | test acc |"
echo "|---|---|---|---|---|---|"
for m in lenet300 lenet5; do
    fp32=models/fmnist-$m.safetensors
    row "$m" "fp32" "$fp32" "$fp32"
    for b in 4 2; do
        nice -n 10 "$TERN" quantize "$fp32" -o "$OUT/$m-k$b.safetensors" --method kmeans --bits $b --huffman -t 1 >/dev/null
        row "$m" "K-means $b-bit one-shot + Huffman" "$OUT/$m-k$b.safetensors" "$fp32"
    done
    train models/recipes/fmnist-$m-kmeans4.json --out "$OUT/$m-k4-ft.safetensors"
    row "$m" "K-means 4-bit, centroids fine-tuned + Huffman" "$OUT/$m-k4-ft.safetensors" "$fp32"
    # 2 bits: the same recipe with "bits": 2
    sed 's/"bits": 4/"bits": 2/' models/recipes/fmnist-$m-kmeans4.json >"$OUT/fmnist-$m-kmeans2.json"
    train "$OUT/fmnist-$m-kmeans2.json" --out "$OUT/$m-k2-ft.safetensors"
    row "$m" "K-means 2-bit, centroids fine-tuned + Huffman" "$OUT/$m-k2-ft.safetensors" "$fp32"
    # prune (writes /tmp/fmnist-$m-prune.safetensors, the deep-compression recipe's init)
    [ -f /tmp/fmnist-$m-prune.safetensors ] || train models/recipes/fmnist-$m-prune.json
    row "$m" "pruned (fp32 file with zeros)" /tmp/fmnist-$m-prune.safetensors "$fp32"
    train models/recipes/fmnist-$m-deep-compression.json --out "$OUT/$m-dc.safetensors"
    row "$m" "pruned -> K-means 4-bit fine-tuned -> Huffman" "$OUT/$m-dc.safetensors" "$fp32"
done
