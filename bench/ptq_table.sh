#!/usr/bin/env bash
# The post-training quantization table of bench/RESULTS_ptq.md: every method
# into every format on one model, judged on text the methods never saw.
#   bench/ptq_table.sh MODEL OUTDIR [CALIB_TOKENS] [FORMATS] [METHODS]
# Calibration: the corpus' training split. Rows: test-split perplexity (ctx
# 256, CHUNKS windows) and KL divergence to MODEL (tern eval --kl-base), the
# same on an out-of-domain text (the licence texts every Debian system has in
# /usr/share/common-licenses: legal English the corpus does not hold), file
# size, and decode tokens/s (tern bench, 2 threads, median of 3).
# g128 formats quantize the blocks' Linears only (--skip-roles embed,output,
# the papers' setting); GGUF block types and mixes quantize everything, so
# llama.cpp's own files are the baseline. A method that refuses a format
# prints its one-line reason in the row.
set -uo pipefail
model=$1 out=$2
calib=${3:-16384}
formats=${4:-"int4g128 int3g128 int2g128 q4_0 q3_k q4_k_m"}
methods=${5:-"rtn awq gptq awq+gptq imatrix rotate rotate+gptq"}
chunks=${CHUNKS:-200}
tern=${TERN:-build/release/tern}
mkdir -p "$out"
ood="$out/out_of_domain.txt"
cat /usr/share/common-licenses/{GPL-3,Apache-2.0,MPL-2.0,Artistic,LGPL-2.1,GFDL-1.3} > "$ood"

json() { python3 -c "import json,sys; d=json.load(sys.stdin); print(' '.join(str(d.get(k,'')) for k in sys.argv[1:]))" "$@"; }
measure() {  # file -> "ppl kl ood_ppl ood_kl MiB tok/s"
  local f=$1
  read -r ppl kl < <("$tern" eval "$f" --kl-base "$model" --data text:test -c 256 --chunks "$chunks" --json -t 2 | json ppl kl_mean)
  read -r oppl okl < <("$tern" eval "$f" --kl-base "$model" --data "$ood" -c 256 --json -t 2 | json ppl kl_mean)
  local mib tps
  mib=$(python3 -c "import os; print(f'{os.path.getsize(\"$f\")/2**20:.2f}')")
  tps=$("$tern" bench "$f" --prompt 64 --gen 64 --reps 3 -t 2 --json | json decode_tps)
  printf '%.4f | %.5f | %.4f | %.5f | %s | %.0f' "$ppl" "$kl" "$oppl" "$okl" "$mib" "$tps"
}

echo "| format | method | test ppl | KL to base | out-of-domain ppl | KL | MiB | decode tok/s |"
echo "|---|---|---|---|---|---|---|---|"
echo "| base | — | $(measure "$model") |"
for fmt in $formats; do
  skip=""
  case $fmt in int*g128) skip="--skip-roles embed,output" ;; esac
  for m in $methods; do
    f="$out/$m-$fmt.gguf"
    calib_args=""
    [ "$m" != rtn ] && [ "$m" != rotate ] && calib_args="--calib text:train --calib-tokens $calib --calib-ctx 256"
    if ! err=$("$tern" quantize "$model" -o "$f" --format "$fmt" --method "$m" $calib_args $skip 2>&1 >/dev/null); then
      echo "| $fmt | $m | $(echo "$err" | tail -1 | tr '|' '/') | | | | | |"
      continue
    fi
    echo "| $fmt | $m | $(measure "$f") |"
  done
done
