#!/usr/bin/env bash
# Task groups give one rank's numbers (docs/groups.md). The same sweep, run by one process (every
# task on one rank) and under `mpirun -n 3` with every task on a group of 2 and of 3 ranks (and
# with --group-size auto):
#   - naive cells (MinMax, EMAMinMax, MSE, EMAMSE, EMAQuantile; Academic and TensorRT): every
#     quantizer's scale, zero point, min and max identical, and top-1 identical;
#   - reconstruction cells (AdaRound, QDrop; a few iterations): every gradient is summed over the
#     group, so only float summation order differs; top-1 within QSWEEP_GROUP_TOP1_TOL points
#     (default 0.5; the measured differences are printed, docs/groups.md records them).
source "$(dirname "$0")/fixture.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tol=${QSWEEP_GROUP_TOP1_TOL:-0.5}
iters=${QSWEEP_GROUP_ITERATIONS:-8}  # per reconstruction unit
# batch_size 32 splits into 16+16 and 11+11+10. The evaluation split is the 1000-image calibration
# shard (the test is about equality, not accuracy; it keeps CI short): 10 batches, 5+5 and 4+3+3.
cat >"$work/s.yaml" <<YAML
sweep: it_groups
data: {eval: $FIX/shards/calib.h5, calibration: $FIX/shards/calib.h5, calibration_batches: 3, batch_size: 32,
       eval_batch_size: 100}
models:
  resnet18: {arch: resnet18, weights: $REPO/models/demo/resnet18.pth,
             options: {num_classes: 10, in_channels: 1, width: 0.125, small_input: true}}
grid:
  - include:
      - {model: resnet18, backend: academic, w_calib: none, a_calib: none, wbit: 32, abit: 32}
      - {model: resnet18, backend: academic, w_calib: minmax, a_calib: ema_minmax, wbit: 8, abit: 8}
      - {model: resnet18, backend: academic, w_calib: minmax, a_calib: minmax, wbit: 4, abit: 4}
      - {model: resnet18, backend: academic, w_calib: mse, a_calib: ema_mse, wbit: 4, abit: 4}
      - {model: resnet18, backend: academic, w_calib: mse, a_calib: mse, wbit: 4, abit: 4}
      - {model: resnet18, backend: academic, w_calib: minmax, a_calib: ema_quantile, wbit: 4, abit: 4}
      - {model: resnet18, backend: tensorrt, w_calib: minmax, a_calib: ema_minmax, wbit: 8, abit: 4}
      - {model: resnet18, backend: tensorrt, w_calib: mse, a_calib: ema_mse, wbit: 4, abit: 4}
      - {model: resnet18, backend: academic, w_calib: adaround, a_calib: ema_minmax, wbit: 3, abit: 8, iterations: $iters}
      - {model: resnet18, backend: academic, w_calib: qdrop, a_calib: ema_minmax, wbit: 3, abit: 4, iterations: $iters}
YAML
ntasks=10

mpirun_args=(mpirun -n 3 --oversubscribe -x GLIBC_TUNABLES)
run_one() {  # NAME LAUNCHER [run options...]; a failed task makes the exit code 3: the log says which
  local name=$1 launcher=$2; shift 2
  if [[ $launcher == mpirun ]]; then
    "${mpirun_args[@]}" "$QSWEEP_BIN" run "$work/s.yaml" --results "$work/$name.h5" "$@" >"$work/$name.log" 2>&1 || true
  else
    "$QSWEEP_BIN" run "$work/s.yaml" --results "$work/$name.h5" "$@" >"$work/$name.log" 2>&1 || true
  fi
  cat "$work/$name.log"
  grep -q "$ntasks ran, 0 failed" "$work/$name.log" || fail "$name: not $ntasks tasks without failure"
}
run_one one alone --threads 1  # one thread, as each rank of mpirun -n 3 here: SQNRs are float sums

# The naive tasks' quantizer tables (the reconstruction tasks' learned roundings are compared by top-1).
naive_quantizers() {
  "$QSWEEP_BIN" export "$1" --quantizers --format csv | grep -vE 'adaround|qdrop' | sort
}
# The reconstruction tasks' quantizers, keyed "id|quantizer|channel": scale and SQNR (the learned
# rounding shows in the weights' SQNR, QDrop's learned step sizes in the activations' scales).
recon_quantizers() {
  "$QSWEEP_BIN" export "$1" --quantizers --format csv | awk -F, '$4 ~ /adaround|qdrop/ { print $1 "|" $8 "|" $13, $14, $18 }' | sort
}
recon_quantizers "$work/one.h5" >"$work/one.r"
[[ $(wc -l <"$work/one.r") -gt 50 ]] || fail "too few reconstruction quantizer rows exported"
# id, w_calib, a_calib, top1 of every task, one line each, sorted by id (the fields before `ranks`,
# whose "0,1" CSV quotes).
top1s() {
  "$QSWEEP_BIN" export "$1" --format csv |
    awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
             { print $col["id"], $col["w_calib"], $col["a_calib"], $col["top1"] }' | sort
}
naive_quantizers "$work/one.h5" >"$work/one.q"
top1s "$work/one.h5" >"$work/one.t"
[[ $(wc -l <"$work/one.q") -gt 100 ]] || fail "too few quantizer rows exported"

for g in 2 3 auto; do
  run_one "g$g" mpirun --group-size "$g"
  [[ $g == auto ]] || grep -q "in task groups of up to $g ranks" "$work/g$g.log" || fail "G=$g: no groups formed"
  naive_quantizers "$work/g$g.h5" >"$work/g$g.q"
  diff "$work/one.q" "$work/g$g.q" >/dev/null || {
    diff "$work/one.q" "$work/g$g.q" | head -20
    fail "G=$g: a naive quantizer's scale, zero point, min or max differs from one rank's"
  }
  top1s "$work/g$g.h5" >"$work/g$g.t"
  join "$work/one.t" <(cut -d' ' -f1,4 "$work/g$g.t") >"$work/g$g.j"
  [[ $(wc -l <"$work/g$g.j") == "$ntasks" ]] || fail "G=$g: tasks missing"
  if [[ $g != auto ]]; then
    [[ $("$QSWEEP_BIN" export "$work/g$g.h5" --format csv | grep -cE ",\"[0-9]+(,[0-9]+){$((g - 1))}\"") == "$ntasks" ]] ||
      fail "G=$g: a row does not name its group's $g ranks"
  fi
  recon_quantizers "$work/g$g.h5" >"$work/g$g.r"
  join "$work/one.r" "$work/g$g.r" | awk -v g="$g" '
    function abs(x) { return x < 0 ? -x : x }
    { n++; ds = abs($4 - $2) / ($2 > 0 ? $2 : 1); if (ds > s) s = ds; if ($4 != $2) ns++
      if ($3 != "inf" && $5 != "inf") { dq = abs($5 - $3); if (dq > q) q = dq; if ($5 != $3) nq++ } }
    END { printf "G=%s reconstruction quantizers: %d of %d scales differ (max relative %.3g), %d SQNRs differ (max %.3g dB)\n",
                 g, ns, n, s, nq, q }'
  awk -v g="$g" -v tol="$tol" '
    { d = $5 - $4; if (d < 0) d = -d }
    $2 ~ /adaround|qdrop/ { printf "G=%s %s %s: top-1 %s on one rank, %s on the group (|diff| %.2f)\n", g, $2, $3, $4, $5, d
                            if (d > tol) bad = 1; next }
    $4 != $5 { printf "G=%s %s %s: top-1 %s on one rank, %s on the group\n", g, $2, $3, $4, $5; bad = 1 }
    END { exit bad }' "$work/g$g.j" || fail "G=$g: top-1 differs from one rank's"
done
# A task that fails on every rank of its group gives one failed row and the sweep ends: a group
# of 3 cannot split calibration batches of 2 images.
sed -e 's/batch_size: 32/batch_size: 2/' -e 's/sweep: it_groups/sweep: it_groups_fail/' "$work/s.yaml" |
  awk '/backend: academic, w_calib: minmax, a_calib: ema_minmax, wbit: 8/ || !/- \{model/' >"$work/f.yaml"
"${mpirun_args[@]}" "$QSWEEP_BIN" run "$work/f.yaml" --results "$work/f.h5" --group-size 3 >"$work/f.log" 2>&1 &&
  fail "a failed group task did not set exit code 3"
grep -q "1 ran, 1 failed" "$work/f.log" || { cat "$work/f.log"; fail "the group's failure was not one failed row"; }
grep -q "cannot split a calibration batch of 2 images" "$work/f.log" || fail "the failure does not say why"
echo "groups equality: 1 passed, 0 failed"
