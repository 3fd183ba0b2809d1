#!/usr/bin/env bash
# Low-bit LSQ QAT with and without distillation from the fp32 model itself
# (issue 24's W4A4 / W2A2 rows, issue 26's "W4A4 QAT with distillation beats
# W4A4 QAT without"). Each row is `tern train` on a variant of the W4A8 QAT
# recipe with weight_bits / act_bits changed and, for "+kd", a distill section
# whose teacher is the recipe's init (loss kd, T 4, alpha 0.9). TEST accuracy
# of the fake-quant model as `tern train --json` reports it.
#   bench/qat_distill.sh OUTDIR [SEEDS] [MODELS]
# SEEDS default "1 2 3"; MODELS default "lenet5 mobilenetv2_tiny" (mobilenetv2_tiny:
# 1 epoch on a 16,000-image slice = 11,000 train + 5,000 validation).
set -euo pipefail
out=$1
seeds=${2:-1 2 3}
models=${3:-lenet5 mobilenetv2_tiny}
tern=${TERN:-build/release/tern}
threads=${THREADS:-1}
mkdir -p "$out"
echo "| model | bits | kd | seed | val % | test % | train s |"
echo "|---|---|---|---|---|---|---|"
for model in $models; do
  base=models/recipes/fmnist-$model-qat-w4a8.json
  for bits in 4 2; do for kd in 0 1; do for seed in $seeds; do
    name=$model-w${bits}a${bits}-kd$kd-s$seed
    python3 - "$base" "$out/$name.json" "$out/$name.safetensors" "$bits" "$kd" "$seed" "$model" <<'PY'
import json, sys
src, dst, model_out, bits, kd, seed, model = sys.argv[1:]
r = json.load(open(src))
r["output"], r["seed"] = model_out, int(seed)
r["qat"].update(weight_bits=int(bits), act_bits=int(bits))
if model == "mobilenetv2_tiny":
    r.update(epochs=1, train_subset=16000)
    r["qat"]["freeze_bn_epoch"] = 0
if kd == "1":
    r["distill"] = {"teacher": r["init"], "loss": "kd", "temperature": 4, "alpha": 0.9}
json.dump(r, open(dst, "w"), indent=1)
PY
    "$tern" train "$out/$name.json" -t "$threads" --json > "$out/$name.out" 2> "$out/$name.log"
    python3 -c "import json; d=json.load(open('$out/$name.out')); print('| $model | W${bits}A${bits} | $kd | $seed | %.2f | %.2f | %.0f |' % (100*d['val_accuracy'], 100*d['test_accuracy'], d['train_seconds']))"
  done; done; done
done
