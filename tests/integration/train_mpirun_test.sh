#!/usr/bin/env bash
# qsweep train under mpirun -n 2: data-parallel training learns, reports 2 ranks in its recipe,
# and gives the same weights twice (the gradient sum does not depend on timing).
source "$(dirname "$0")/fixture.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
train() {
  mpirun -n 2 -x GLIBC_TUNABLES "$QSWEEP_BIN" train --model resnet18 --width 0.125 --small-input \
    --in-channels 1 --num-classes 10 --train "$FIX/shards/train.h5" --eval "$FIX/shards/val.h5" \
    --max-images 3000 --epochs 1 --warmup-epochs 0.2 --out "$1"
}
train "$work/a.pth" | tee "$work/log"
grep -q "2 rank(s) x 1 thread(s)" "$work/log" || fail "not 2 ranks of 1 thread"
[[ $(grep -c "^training" "$work/log") == 1 ]] || fail "every rank printed (only rank 0 should)"
grep -q '"ranks": 2' "$work/a.pth.json" || fail "recipe does not record 2 ranks"
top1=$(sed -n 's/^  "top1": \(.*\),$/\1/p' "$work/a.pth.json")
awk -v a="$top1" 'BEGIN { exit !(a > 30) }' || fail "top-1 $top1% after 3000 images (chance: 10%)"
train "$work/b.pth" >/dev/null
cmp "$work/a.pth" "$work/b.pth" || fail "two runs with the same seed differ"
echo "train under mpirun: 1 passed, 0 failed"
