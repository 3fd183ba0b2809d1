#!/usr/bin/env bash
# The LLM pruning table of bench/RESULTS_prune.md: magnitude, Wanda and
# SparseGPT at 50 % / 60 % unstructured, 2:4 and 4:8 on one model, judged on
# text the methods never saw.
#   bench/prune_table.sh MODEL OUTDIR [CALIB_TOKENS]
# Calibration: the corpus' training split (ctx 256). Rows: test-split
# perplexity (ctx 256, CHUNKS windows), the block Linears' sparsity as
# written, and the prune's wall time.
set -uo pipefail
model=$1 out=$2
calib=${3:-4096}
chunks=${CHUNKS:-40}
tern=${TERN:-build/release/tern}
mkdir -p "$out"

json() { python3 -c "import json,sys; d=json.load(sys.stdin); print(' '.join(str(d.get(k,'')) for k in sys.argv[1:]))" "$@"; }
ppl() { "$tern" eval "$1" --data text:test -c 256 --chunks "$chunks" --json -t 2 | json ppl; }

echo "| target | method | test ppl | block-Linear sparsity | prune s |"
echo "|---|---|---|---|---|"
printf '| dense | — | %.4f | 0 | |\n' "$(ppl "$model")"
for target in "--sparsity 0.5" "--sparsity 0.6" "--pattern 2:4" "--pattern 4:8"; do
  for m in magnitude wanda sparsegpt; do
    f="$out/$m-${target##* }.gguf"
    calib_args=""
    [ "$m" != magnitude ] && calib_args="--calib text:train --calib-tokens $calib --calib-ctx 256"
    start=$(date +%s.%N)
    if ! rep=$("$tern" prune "$model" -o "$f" --method "$m" $target $calib_args --json -t 2 2>"$out/err.txt"); then
      echo "| ${target##* } | $m | $(tail -1 "$out/err.txt" | tr '|' '/') | | |"
      continue
    fi
    secs=$(python3 -c "import time; print(f'{time.time() - $start:.1f}')")
    printf '| %s | %s | %.4f | %.4f | %s |\n' "${target##* }" "$m" "$(ppl "$f")" "$(echo "$rep" | json linear_sparsity)" "$secs"
  done
done
