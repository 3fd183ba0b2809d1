#!/usr/bin/env bash
# Architecture search on Fashion-MNIST with every strategy `tern search` has,
# same seed and settings, for a results table: the winner's measured latency
# (batch 1, 1 thread), params, MACs, validation and TEST accuracy, and the
# search's wall time and CPU-hours. Not a test: minutes to hours depending on the settings.
#   bench/nas_search.sh OUTDIR [MAX_EVALS] [EPOCHS] [TRAIN_SUBSET]
# proxyless needs BUDGET="--latency-ms X" (darts takes one optionally); SEARCH_EPOCHS
# (default 1) are their supernet epochs (MAX_EVALS does not cap their steps here);
# STRATEGIES picks the rows.
# Each run's OUT.search.csv holds every candidate with its proxy scores; with
# three or more trained candidates the run prints each proxy's Spearman and
# Kendall rank correlation with validation accuracy. Every run also writes
# OUTDIR/STRATEGY.history.csv and OUTDIR/STRATEGY.pareto.png (accuracy against
# MACs and latency, the Pareto front drawn); rl its controller log OUT.rl.csv.
set -uo pipefail
out=$1
evals=${2:-20} epochs=${3:-2} subset=${4:-10000}
budget=${BUDGET:-}   # e.g. BUDGET="--params 60000" or "--latency-ms 2"
seed=${SEED:-1}
search_epochs=${SEARCH_EPOCHS:-1}
strategies=${STRATEGIES:-random evolution zeroshot proxyless rl}
threads=${THREADS:-1}
tern=${TERN:-build/release/tern}
mkdir -p "$out"

json() { python3 -c "import json,sys; d=json.load(sys.stdin); print(' '.join(str(d.get(k,'')) for k in sys.argv[1:]))" "$@"; }

echo "| strategy | params | MACs | latency ms | val acc | test acc | search s | search CPU-h | run CPU-h |"
echo "|---|---|---|---|---|---|---|---|---|"
for s in $strategies; do
  f="$out/fmnist-nas-$s.safetensors"
  extra=(--max-evals "$evals")
  case $s in proxyless | darts) extra=(--search-epochs "$search_epochs") ;; esac
  if ! rep=$("$tern" search mobilenet --strategy "$s" "${extra[@]}" --epochs "$epochs" --train-subset "$subset" \
               --seed "$seed" -t "$threads" $budget --history-csv "$out/$s.history.csv" --pareto-png "$out/$s.pareto.png" \
               --json -o "$f" 2>"$out/$s.log"); then
    echo "| $s | $(tail -1 "$out/$s.log" | tr '|' '/') | | | | | | | |"
    continue
  fi
  echo "$rep" >"$out/$s.json"
  read -r p m l v t secs sc tc <<<"$(echo "$rep" | json params macs latency_ms val_accuracy test_accuracy seconds search_cpu_hours total_cpu_hours)"
  printf '| %s | %s | %s | %.3f | %.2f %% | %.2f %% | %.0f | %.4f | %.4f |\n' "$s" "$p" "$m" "$l" "$(python3 -c "print(100*$v)")" \
    "$(python3 -c "print(100*$t)")" "$secs" "$sc" "$tc"
done
