#!/usr/bin/env bash
# Binary and ternary networks table (issue 24 item 3, Fashion-MNIST test set,
# 10000 images; settings chosen on the recipes' 5000-image validation split):
# BWN LeNet-5 (target within 2 pt of fp32 91.65 %), TWN LeNet-5, XNOR LeNet-5
# and XNOR LeNet-300-100 (also with every layer binary: lenet300-xnor-all),
# each fine-tuned from the trained fp32 model by
# `tern train models/recipes/fmnist-<model>-<method>.json`, then `tern eval`
# of the written packed file (which must reproduce the accuracy the run
# printed), and the file's size against the same model stored all f32.
#   bench/binary.sh OUTDIR [EPOCHS]
# TTQ mobilenetv2_tiny (models/recipes/fmnist-mobilenetv2_tiny-ttq.json) runs with WITH_TTQ=1.
# Quick look at small scale (minutes, not a result): TRAIN_SUBSET=2000 bench/binary.sh /tmp/bin 1
set -uo pipefail
out=$1
epochs=${2:-}
subset=${TRAIN_SUBSET:-0}
tern=${TERN:-build/release/tern}
threads=${THREADS:-1}
mkdir -p "$out"

json() { python3 -c "import json,sys; d=json.load(sys.stdin); print(' '.join(str(d.get(k,'')) for k in sys.argv[1:]))" "$@"; }
# variant RECIPE NAME: the recipe with its output under $out (and the subset, if any).
variant() {
  python3 - "$1" "$out/$2.json" "$out/$2.safetensors" "$subset" <<'PY'
import json, sys
src, dst, model_out, subset = sys.argv[1:]
r = json.load(open(src))
r["output"] = model_out
if int(subset) > 0:
    r["train_subset"] = int(subset)
    r["validation"] = min(r["validation"], int(subset) // 10)
json.dump(r, open(dst, "w"), indent=2)
PY
}

rows=${ROWS:-"lenet5-bwn lenet5-twn lenet5-xnor lenet300-xnor lenet300-xnor-all"}
[ "${WITH_TTQ:-0}" = 1 ] && rows="$rows mobilenetv2_tiny-ttq"
echo "| model | method | fp32 test % | test acc % | vs fp32 | val acc % | tern eval % | file bytes | f32 bytes | smaller | train s |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
for name in $rows; do
  # model and method from the recipe ("+first/last" when those two layers stay f32, as the papers keep them)
  read -r model method <<<"$(python3 -c "import json,sys; r=json.load(open(sys.argv[1])); s=r.get('binary') or r['ternary']; print(r['model'], s['method'] + ('+f32 first/last' if s.get('keep_first_last', True) else ' all layers'))" "models/recipes/fmnist-$name.json")"
  variant "models/recipes/fmnist-$name.json" "$name"
  fp32=$("$tern" eval "models/fmnist-$model.safetensors" --data fashion-mnist --json -t "$threads" | json accuracy)
  args=("$out/$name.json" --json -t "$threads")
  [ -n "$epochs" ] && args+=(--epochs "$epochs")
  if ! rep=$("$tern" train "${args[@]}" 2>"$out/$name.log"); then
    echo "| $model | $method | | $(tail -1 "$out/$name.log" | tr '|' '/') | | | | | | | |"
    continue
  fi
  echo "$rep" >"$out/$name.report.json"
  read -r acc secs val <<<"$(echo "$rep" | json test_accuracy train_seconds val_accuracy)"
  read -r bytes f32 <<<"$(echo "$rep" | python3 -c "import json,sys; b=json.load(sys.stdin)['binary']; print(b['file_bytes'], b['f32_file_bytes'])")"
  ev=$("$tern" eval "$out/$name.safetensors" --data fashion-mnist --json -t "$threads" | json accuracy)
  python3 -c "print('| $model | $method | %.2f | %.2f | %+.2f | %.2f | %.2f | $bytes | $f32 | %.1fx | %.0f |' % (100*$fp32, 100*$acc, 100*($acc-$fp32), 100*${val:-0}, 100*$ev, $f32/$bytes, $secs))"
done
