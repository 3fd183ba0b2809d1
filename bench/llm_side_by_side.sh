#!/usr/bin/env bash
# Side-by-side LLM speed: tern bench vs an already-built llama-bench on the
# same GGUF files, same prompt/gen lengths and thread counts; prints a table.
# This script neither fetches nor builds llama.cpp: give it the binary.
#
#   bench/llm_side_by_side.sh LLAMA_BENCH TERN MODEL.gguf [MODEL.gguf ...]
#   env: THREADS=1,2  PROMPT=512  GEN=128  REPS=3  OUT=dir (raw JSON kept there)
#        TERN_ARGS="--fpmath bf16" (extra options for tern bench)
set -euo pipefail
if [[ $# -lt 3 ]]; then
    sed -n '2,8p' "$0" >&2
    exit 2
fi
LLAMA_BENCH=$1
TERN=$2
shift 2
THREADS=${THREADS:-1,2}
PROMPT=${PROMPT:-512}
GEN=${GEN:-128}
REPS=${REPS:-3}
OUT=${OUT:-$(mktemp -d)}
mkdir -p "$OUT"

printf '%-28s %3s | %9s %9s %6s | %9s %9s %6s | %7s %10s %10s | %8s %8s\n' model t \
    "tern pp" "llama pp" "ratio" "tern tg" "llama tg" "ratio" "read" "tern roof" "llama roof" "ttft ms" "rss MB"
for m in "$@"; do
    name=$(basename "$m" .gguf)
    echo "# $(date -u +%H:%M:%S) load: $(cut -d' ' -f1-3 /proc/loadavg)  $name" >&2
    "$LLAMA_BENCH" -m "$m" -p "$PROMPT" -n "$GEN" -t "$THREADS" -r "$REPS" -o json >"$OUT/$name.llama.json" 2>"$OUT/$name.llama.err"
    # shellcheck disable=SC2086 # TERN_ARGS is a list of options
    "$TERN" bench "$m" ${TERN_ARGS:-} --roofline --prompt "$PROMPT" --gen "$GEN" -t "$THREADS" --reps "$REPS" --json >"$OUT/$name.tern.json" 2>"$OUT/$name.tern.err"
    for t in ${THREADS//,/ }; do
        # Medians on both sides: llama-bench's samples_ts (pp: n_gen==0, tg: n_prompt==0), tern's *_tps.
        med='(.samples_ts | sort | .[length/2|floor])'
        lpp=$(jq -r --argjson t "$t" "[.[] | select(.n_threads==\$t and .n_prompt>0 and .n_gen==0)][0] | $med" "$OUT/$name.llama.json")
        ltg=$(jq -r --argjson t "$t" "[.[] | select(.n_threads==\$t and .n_gen>0 and .n_prompt==0)][0] | $med" "$OUT/$name.llama.json")
        read -r tpp ttg ttft rss wb bw roof < <(jq -r --argjson t "$t" \
            '(if type=="array" then . else [.] end) | [.[] | select(.threads==$t)][0] | "\(.prefill_tps) \(.decode_tps) \(.ttft_ms) \(.peak_rss_mb) \(.decode_weight_bytes) \(.read_gbps) \(.decode_roofline)"' \
            "$OUT/$name.tern.json")
        # llama.cpp's fraction uses the bandwidth tern probed minutes later: indicative only.
        awk -v n="$name" -v t="$t" -v tpp="$tpp" -v lpp="$lpp" -v ttg="$ttg" -v ltg="$ltg" -v ttft="$ttft" -v rss="$rss" \
            -v wb="$wb" -v bw="$bw" -v roof="$roof" \
            'BEGIN { printf "%-28s %3d | %9.2f %9.2f %5.2fx | %9.2f %9.2f %5.2fx | %7.1f %9.1f%% %9.1f%% | %8.1f %8.0f\n", n, t, tpp, lpp, tpp/lpp, ttg, ltg, ttg/ltg, bw, 100*roof, 100*wb*ltg/1e9/bw, ttft, rss }'
    done
done
echo "# raw JSON in $OUT" >&2
