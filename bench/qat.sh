#!/usr/bin/env bash
# Quantization-aware training table (issue 24 targets, Fashion-MNIST test set):
# mobilenetv2_tiny from its fp32 model, LSQ at W4A8 (target >= 93.3 %), W4A4
# (within 1 pt of fp32) and W2A2 (within 3 pt), and W4A8 with observer-driven
# STE and with PACT for comparison. Every row is `tern train` on a variant of
# models/recipes/fmnist-mobilenetv2_tiny-qat-w4a8.json, then `tern eval` of the
# written file (which must reproduce the fake-quant accuracy the run printed).
#   bench/qat.sh OUTDIR [EPOCHS]
# Quick look at small scale (minutes, not a result): TRAIN_SUBSET=2000 bench/qat.sh /tmp/qat 1
set -uo pipefail
out=$1
epochs=${2:-}
subset=${TRAIN_SUBSET:-0}
tern=${TERN:-build/release/tern}
threads=${THREADS:-2}
base=models/recipes/fmnist-mobilenetv2_tiny-qat-w4a8.json
mkdir -p "$out"

json() { python3 -c "import json,sys; d=json.load(sys.stdin); print(' '.join(str(d.get(k,'')) for k in sys.argv[1:]))" "$@"; }
# variant NAME METHOD WBITS ABITS: a recipe file derived from the base one.
variant() {
  python3 - "$base" "$out/$1.json" "$out/$1.safetensors" "$2" "$3" "$4" "$subset" <<'PY'
import json, sys
src, dst, model_out, method, wb, ab, subset = sys.argv[1:]
r = json.load(open(src))
r["output"] = model_out
r["qat"].update(method=method, weight_bits=int(wb), act_bits=int(ab))
if int(subset) > 0:
    r["train_subset"] = int(subset)
    r["validation"] = min(r["validation"], int(subset) // 10)
json.dump(r, open(dst, "w"), indent=2)
PY
}

fp32=$("$tern" eval models/fmnist-mobilenetv2_tiny.safetensors --data fashion-mnist --json -t "$threads" | json accuracy)
printf '| config | method | test acc %% | vs fp32 (%.2f %%) | tern eval %% | train s |\n' "$(python3 -c "print(100*$fp32)")"
echo "|---|---|---|---|---|---|"
for row in "w4a8 lsq 4 8" "w4a4 lsq 4 4" "w2a2 lsq 2 2" "w4a8-ste ste 4 8" "w4a8-pact pact 4 8"; do
  set -- $row
  variant "$1" "$2" "$3" "$4"
  args=("$out/$1.json" --json -t "$threads")
  [ -n "$epochs" ] && args+=(--epochs "$epochs")
  if ! rep=$("$tern" train "${args[@]}" 2>"$out/$1.log"); then
    echo "| $1 | $2 | $(tail -1 "$out/$1.log" | tr '|' '/') | | | |"
    continue
  fi
  read -r acc secs <<<"$(echo "$rep" | json test_accuracy train_seconds)"
  ev=$("$tern" eval "$out/$1.safetensors" --data fashion-mnist --json -t "$threads" | json accuracy)
  python3 -c "print('| $1 | $2 | %.2f | %+.2f | %.2f | %.0f |' % (100*$acc, 100*($acc-$fp32), 100*$ev, $secs))"
done
