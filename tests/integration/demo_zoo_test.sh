#!/usr/bin/env bash
# The committed demo zoo (models/demo/): every file matches SHA256SUMS, loads into its architecture
# with the options sweeps/demo.yaml gives it, and scores the FP32 top-1 its recipe records on the
# Fashion-MNIST test split (± 0.1); sweeps/demo.yaml plans every seed row for the five models.
source "$(dirname "$0")/fixture.sh"
zoo=$REPO/models/demo
(cd "$zoo" && sha256sum --quiet -c SHA256SUMS) || fail "models/demo differs from SHA256SUMS"
for recipe in "$zoo"/*.pth.json; do
  model=$(basename "$recipe" .pth.json)
  field() { sed -n "s/^ *\"$1\": \([^,]*\),\{0,1\}$/\1/p" "$recipe" | tr -d '"'; }
  width=$(field width)
  want=$(field top1)
  [[ $(field images) == 60000 ]] || fail "$model: not trained on the full train split"
  got=$("$QSWEEP_BIN" eval --model "$model" --weights "$zoo/$model.pth" --eval "$FIX/shards/val.h5" \
    --calibration "$FIX/shards/calib.h5" --w-calib none --a-calib none --wbit 32 --abit 32 \
    --num-classes 10 --in-channels 1 --width "$width" --small-input --eval-batch-size 500 |
    sed -n 's/.*top-1 \([0-9.]*\)%.*/\1/p')
  echo "$model (width $width): top-1 $got%, recipe $want%"
  awk -v a="$got" -v b="$want" 'BEGIN { d = a - b; exit !(d <= 0.1 && d >= -0.1 && b >= 90) }' ||
    fail "$model: top-1 $got% vs recorded $want% (must agree within 0.1 and be >= 90)"
  grep -q "width: $width," "$REPO/sweeps/demo.yaml" || fail "sweeps/demo.yaml does not use width $width"
done
"$QSWEEP_BIN" plan "$REPO/sweeps/demo.yaml" | tee "$FIX/demo_plan.txt"
grep -q "65 tasks" "$FIX/demo_plan.txt" ||
  fail "sweeps/demo.yaml should plan 5 models x (11 seed rows + the corrected EMAQuantile at W8A8 and W4A8) = 65 tasks"
echo "demo zoo: 1 passed, 0 failed"
