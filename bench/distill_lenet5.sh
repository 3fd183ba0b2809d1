#!/usr/bin/env bash
# Issue 26's distillation target: LeNet-5 taught by mobilenetv2_tiny
# (models/recipes/fmnist-lenet5-distill.json) against LeNet-5 trained alone
# with the same recipe minus its "distill" section, seeds 1 2 3.
#   bench/distill_lenet5.sh OUTDIR
# Env: EPOCHS (default: the recipe's 30), SUBSET (train_subset, 0 = all),
# SEEDS ("1 2 3"), RECIPE, TERN, THREADS. Choices (T, alpha) are made on the
# validation split; the table reports the TEST split, mean ± sd over seeds.
# Smoke check: EPOCHS=1 SUBSET=2000 bench/distill_lenet5.sh /tmp/d
set -euo pipefail
out=${1:?usage: bench/distill_lenet5.sh OUTDIR}
recipe=${RECIPE:-models/recipes/fmnist-lenet5-distill.json}
tern=${TERN:-build/release/tern}
seeds=${SEEDS:-1 2 3}
threads=${THREADS:-2}
mkdir -p "$out"

# The recipe for (variant, seed): distilled as written, or "alone" without its distill section.
make_recipe() {
  python3 - "$recipe" "$1" "$2" "$out" "${EPOCHS:-0}" "${SUBSET:-0}" <<'PY'
import json, sys
path, variant, seed, out, epochs, subset = sys.argv[1:]
r = json.load(open(path))
if variant == "alone":
    r.pop("distill")
if int(epochs) > 0:
    r["epochs"] = int(epochs)
if int(subset) > 0:
    r["train_subset"] = int(subset)
    r["validation"] = min(r.get("validation", 5000), int(subset) // 10)
r["seed"] = int(seed)
r["output"] = f"{out}/{variant}-seed{seed}.safetensors"
json.dump(r, open(f"{out}/{variant}-seed{seed}.json", "w"), indent=1)
print(f"{out}/{variant}-seed{seed}.json")
PY
}

json() { python3 -c "import json,sys; d=json.load(sys.stdin); print(' '.join(str(d.get(k,'')) for k in sys.argv[1:]))" "$@"; }

: >"$out/runs.csv"
echo "variant,seed,val_accuracy,test_accuracy,train_seconds" >>"$out/runs.csv"
for seed in $seeds; do
  for variant in distill alone; do
    r=$(make_recipe "$variant" "$seed")
    rep=$("$tern" train "$r" --json -t "$threads" 2>"$out/$variant-seed$seed.log")
    echo "$variant,$seed,$(echo "$rep" | json val_accuracy test_accuracy train_seconds | tr ' ' ',')" >>"$out/runs.csv"
    tail -1 "$out/runs.csv"
  done
done

python3 - "$out/runs.csv" <<'PY'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1])))
def stat(variant, key):
    v = [100 * float(r[key]) for r in rows if r["variant"] == variant]
    sd = statistics.stdev(v) if len(v) > 1 else 0.0
    return statistics.mean(v), sd, len(v)
print("| LeNet-5 | val acc % (mean ± sd) | TEST acc % (mean ± sd) | seeds |")
print("|---|---|---|---|")
for variant, name in (("alone", "trained alone"), ("distill", "taught by mobilenetv2_tiny")):
    vm, vs, n = stat(variant, "val_accuracy")
    tm, ts, _ = stat(variant, "test_accuracy")
    print(f"| {name} | {vm:.2f} ± {vs:.2f} | {tm:.2f} ± {ts:.2f} | {n} |")
d = stat("distill", "test_accuracy")[0] - stat("alone", "test_accuracy")[0]
print(f"\ndistillation gain on the test split: {d:+.2f} pt (target >= +0.4 pt)")
PY
