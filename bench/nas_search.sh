#!/usr/bin/env bash
# Architecture search on Fashion-MNIST with every strategy `tern search` has,
# same seed and settings, for a results table: the winner's measured latency
# (batch 1, 1 thread), params, MACs, validation and TEST accuracy, and the
# search's wall time. Not a test: minutes to hours depending on the settings.
#   bench/nas_search.sh OUTDIR [MAX_EVALS] [EPOCHS] [TRAIN_SUBSET]
# Each run's OUT.search.csv holds every candidate with its proxy scores; with
# three or more trained candidates the run prints each proxy's Spearman and
# Kendall rank correlation with validation accuracy.
set -uo pipefail
out=$1
evals=${2:-20} epochs=${3:-2} subset=${4:-10000}
budget=${BUDGET:-}   # e.g. BUDGET="--params 60000" or "--latency-ms 2"
seed=${SEED:-1}
tern=${TERN:-build/release/tern}
mkdir -p "$out"

json() { python3 -c "import json,sys; d=json.load(sys.stdin); print(' '.join(str(d.get(k,'')) for k in sys.argv[1:]))" "$@"; }

echo "| strategy | params | MACs | latency ms | val acc | test acc | search s |"
echo "|---|---|---|---|---|---|---|"
for s in random evolution zeroshot; do
  f="$out/fmnist-nas-$s.safetensors"
  if ! rep=$("$tern" search mobilenet --strategy "$s" --max-evals "$evals" --epochs "$epochs" --train-subset "$subset" \
               --seed "$seed" $budget --json -o "$f" 2>"$out/$s.log"); then
    echo "| $s | $(tail -1 "$out/$s.log" | tr '|' '/') | | | | | |"
    continue
  fi
  read -r p m l v t secs <<<"$(echo "$rep" | json params macs latency_ms val_accuracy test_accuracy seconds)"
  printf '| %s | %s | %s | %.3f | %.2f %% | %.2f %% | %.0f |\n' "$s" "$p" "$m" "$l" "$(python3 -c "print(100*$v)")" \
    "$(python3 -c "print(100*$t)")" "$secs"
done
