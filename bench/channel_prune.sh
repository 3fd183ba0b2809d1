#!/usr/bin/env bash
# Physical channel pruning of mobilenetv2_tiny (tern prune --method l1|bn|taylor
# --flops F, and NetAdapt under a latency budget): MACs, parameters, file size,
# test-split accuracy after a short fine-tune with the recipe stored in the
# model file, and the measured latency (tern cost --latency: batch 1, 1 thread)
# against the dense model. Prints a markdown table.
#
#   bench/channel_prune.sh TERN [MODEL]   (default: models/fmnist-mobilenetv2_tiny.safetensors)
#   env: FLOPS=0.5  MULT=8 (--width-multiple)  EPOCHS=3  SUBSET=0 (fine-tune on the first N
#        training images; 0: all)  METHODS="l1 bn taylor"  NETADAPT=0 (1: also NetAdapt with
#        --latency-fraction LATENCY=0.62, --latency-step 0.1, STEPS=50 per candidate)  AMC=0 (1: also
#        AMC at --flops FLOPS, EPISODES=150, WARMUP=30, 500 validation images)  OUT=dir  THREADS=1
set -euo pipefail
if [[ $# -lt 1 ]]; then
    sed -n '2,12p' "$0" >&2
    exit 2
fi
TERN=$1
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
MODEL=${2:-$ROOT/models/fmnist-mobilenetv2_tiny.safetensors}
FLOPS=${FLOPS:-0.5}
EPOCHS=${EPOCHS:-3}
MULT=${MULT:-8}
LATENCY=${LATENCY:-0.62}
SUBSET=${SUBSET:-0}
METHODS=${METHODS:-l1 bn taylor}
NETADAPT=${NETADAPT:-0}
STEPS=${STEPS:-50}
AMC=${AMC:-0}
EPISODES=${EPISODES:-150}
WARMUP=${WARMUP:-30}
THREADS=${THREADS:-1}
OUT=${OUT:-$(mktemp -d)}
mkdir -p "$OUT"

latency() {  # measured microseconds, batch 1, 1 thread
    "$TERN" cost "$1" --latency --runs 51 --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["latency"]["measured_us"])'
}
macs() { "$TERN" cost "$1" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["total"]["macs"])'; }
acc() { "$TERN" eval "$1" --data fashion-mnist --json -t "$THREADS" | python3 -c 'import json,sys; print("%.2f" % (100*json.load(sys.stdin)["accuracy"]))'; }

base_lat=$(latency "$MODEL")
base_macs=$(macs "$MODEL")
echo "| model | command | MACs | MACs kept | params (file bytes) | test acc % (split: test, 10000) | latency us (1 thread) | speed-up |"
echo "|---|---|---:|---:|---:|---:|---:|---:|"
echo "| dense | - | $base_macs | 100 % | $(stat -c %s "$MODEL") | $(acc "$MODEL") | $base_lat | 1.00x |"
row() {  # name command out
    local m l
    m=$(macs "$3")
    l=$(latency "$3")
    echo "| $1 | \`$2\` | $m | $(python3 -c "print('%.1f %%' % (100*$m/$base_macs))") | $(stat -c %s "$3") | $(acc "$3") | $l | $(python3 -c "print('%.2fx' % ($base_lat/$l))") |"
}
sub=""
[[ $SUBSET -gt 0 ]] && sub="--train-subset $SUBSET"
for method in $METHODS; do
    out="$OUT/$method.safetensors"
    cmd="tern prune MODEL -o OUT --method $method --flops $FLOPS --width-multiple $MULT --finetune-epochs $EPOCHS $sub"
    nice -n 5 "$TERN" prune "$MODEL" -o "$out" --method "$method" --flops "$FLOPS" --width-multiple "$MULT" \
        --finetune-epochs "$EPOCHS" $sub \
        -t "$THREADS" --json > "$OUT/$method.json"
    row "$method" "$cmd" "$out"
done
if [[ $NETADAPT == 1 ]]; then
    out="$OUT/netadapt.safetensors"
    cmd="tern prune MODEL -o OUT --method netadapt --latency-fraction $LATENCY --latency-step 0.1 --steps $STEPS --val-images 500 --finetune-epochs $EPOCHS $sub"
    nice -n 5 "$TERN" prune "$MODEL" -o "$out" --method netadapt --latency-fraction "$LATENCY" --latency-step 0.1 \
        --steps "$STEPS" --val-images 500 \
        --finetune-epochs "$EPOCHS" $sub -t "$THREADS" --json > "$OUT/netadapt.json"
    row netadapt "$cmd" "$out"
fi
if [[ $AMC == 1 ]]; then
    out="$OUT/amc.safetensors"
    cmd="tern prune MODEL -o OUT --method amc --flops $FLOPS --width-multiple $MULT --episodes $EPISODES --warmup $WARMUP --val-images 500 --finetune-epochs $EPOCHS $sub"
    nice -n 5 "$TERN" prune "$MODEL" -o "$out" --method amc --flops "$FLOPS" --width-multiple "$MULT" \
        --episodes "$EPISODES" --warmup "$WARMUP" --val-images 500 \
        --finetune-epochs "$EPOCHS" $sub -t "$THREADS" --json > "$OUT/amc.json"
    row amc "$cmd" "$out"
fi
