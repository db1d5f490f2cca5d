#!/usr/bin/env bash
# Worker ranks run the cell rank 0 planned, options included: a sweep whose every task sets
# non-default options (AdaRound/QDrop iterations, λ, warm-up, drop probability, Lp, EMA ratio, the
# TensorRT range) gives the same numbers under `mpirun -n 3` as in one process, with no failed row
# (a worker that received a different cell fails its task: the id it re-derives differs).
source "$(dirname "$0")/fixture.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat >"$work/s.yaml" <<YAML
sweep: it_options
data: {eval: $FIX/shards/val.h5, calibration: $FIX/shards/calib.h5, calibration_batches: 2, batch_size: 32,
       eval_batch_size: 500}
models:
  resnet18: {arch: resnet18, weights: $REPO/models/demo/resnet18.pth,
             options: {num_classes: 10, in_channels: 1, width: 0.125, small_input: true}}
grid:
  - include:
      - {model: resnet18, backend: academic, w_calib: adaround, a_calib: ema_minmax, wbit: 3, abit: 8,
         iterations: 6, round_weight: 0.5, warm_up: 0.5}
      - {model: resnet18, backend: academic, w_calib: qdrop, a_calib: ema_minmax, wbit: 3, abit: 4,
         iterations: 6, drop_prob: 0.3}
      - {model: resnet18, backend: academic, w_calib: mse, a_calib: ema_mse, wbit: 3, abit: 4}
      - {model: resnet18, backend: tensorrt, w_calib: minmax, a_calib: ema_minmax, wbit: 8, abit: 4}
      - {model: resnet18, backend: academic, w_calib: minmax, a_calib: ema_quantile_legacy, wbit: 4, abit: 4}
    options: {w_p: 3.0, a_p: 2.4, ema_ratio: 0.5, symmetric_range: false}
YAML

# A failed task makes the exit code 3: the logs below say which.
"$QSWEEP_BIN" run "$work/s.yaml" --results "$work/one.h5" >"$work/log1" 2>&1 || true
cat "$work/log1"
grep -q "5 ran, 0 failed" "$work/log1" || fail "one process: not 5 tasks without failure"
mpirun -n 3 --oversubscribe -x GLIBC_TUNABLES "$QSWEEP_BIN" run "$work/s.yaml" --results "$work/three.h5" \
  >"$work/log3" 2>&1 || true
cat "$work/log3"
grep -q "5 ran, 0 failed" "$work/log3" || fail "mpirun -n 3: a task failed (a worker ran another cell?)"
grep -qE "rank [12]\)" "$work/log3" || fail "no task ran on a worker rank"
diff <("$QSWEEP_BIN" render "$work/one.h5" --format csv) <("$QSWEEP_BIN" render "$work/three.h5" --format csv) ||
  fail "worker ranks gave other numbers than one process"
echo "mpirun options: 1 passed, 0 failed"
