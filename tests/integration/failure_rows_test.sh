#!/usr/bin/env bash
# A task that throws becomes a `failed` row with its error text, the sweep goes on, the exit code
# is 3 (and render's, with the cell reading 'failed'); a single process (no mpirun) runs a sweep;
# --skip-failed leaves the failed task alone.
source "$(dirname "$0")/fixture.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat >"$work/s.yaml" <<YAML
sweep: it_failure
data: {eval: $FIX/shards/val.h5, calibration: $FIX/shards/calib.h5, calibration_batches: 2, eval_batch_size: 500}
models:
  resnet18: {arch: resnet18, weights: $REPO/models/demo/resnet18.pth,
             options: {num_classes: 10, in_channels: 1, width: 0.125, small_input: true}}
  wrong: {arch: resnet18, weights: $REPO/models/demo/mobilenetv2_1.0.pth,
          options: {num_classes: 10, in_channels: 1, width: 0.125, small_input: true}}
grid:
  - include:
      - {model: [wrong, resnet18], backend: academic, w_calib: none, a_calib: none, wbit: 32, abit: 32}
YAML
set +e
"$QSWEEP_BIN" run "$work/s.yaml" --results "$work/r.h5" >"$work/log" 2>&1
rc=$?
set -e
cat "$work/log"
[[ $rc == 3 ]] || fail "exit code $rc, expected 3 (a task failed)"
grep -q "2 ran, 1 failed" "$work/log" || fail "the sweep did not go on after the failure"
grep -q "FAILED: .*does not fit resnet18" "$work/log" || fail "the failure's reason is not reported"
[[ $(ok_cells "$work/r.h5") == 1 ]] || fail "expected the healthy task's cell"
# render writes the table, names the failed cell as such (not "-", which is "not run") and exits 3.
set +e
"$QSWEEP_BIN" render "$work/r.h5" >"$work/table" 2>"$work/render_err"
rc=$?
set -e
cat "$work/table" "$work/render_err"
[[ $rc == 3 ]] || fail "render of a table with a failed cell exited $rc, expected 3"
grep -q "^| None .* failed " "$work/table" || fail "the failed cell does not read 'failed'"
grep -q "1 cell(s) of .* failed" "$work/render_err" || fail "render does not say how many cells failed"
"$QSWEEP_BIN" run "$work/s.yaml" --results "$work/r.h5" --skip-failed >"$work/log2" 2>&1 || true
grep -q "2 already done, 0 to run" "$work/log2" || fail "--skip-failed reran the failed task"
"$QSWEEP_BIN" run "$work/s.yaml" --results "$work/r.h5" >"$work/log3" 2>&1 || true
grep -q "1 already done, 1 to run" "$work/log3" || fail "the failed task was not retried by default"
echo "failure rows: 1 passed, 0 failed"
