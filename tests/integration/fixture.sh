# Sourced by the integration tests: Fashion-MNIST shards, made once per build folder (under a
# lock, so tests may run in parallel), and a 6-task sweep file over two models of the committed
# demo zoo (models/demo/) — the reduced demo sweep.
# Env from CMake: QSWEEP_BIN (the qsweep binary), QSWEEP_BUILD_DIR.
set -euo pipefail
: "${QSWEEP_BIN:?set by ctest}" "${QSWEEP_BUILD_DIR:?set by ctest}"
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
source "$REPO/scripts/env.sh"
export HDF5_USE_FILE_LOCKING=FALSE  # tests read results files while a run writes them
FIX=$QSWEEP_BUILD_DIR/it-fixture
mkdir -p "$FIX"
(
  flock 9
  if [[ ! -f $FIX/ready ]]; then
    # QSWEEP_FMNIST_ROOT: the idx files elsewhere than Debian's (tools/gpu_check.sh carries them).
    "$QSWEEP_BIN" prepare fashion-mnist ${QSWEEP_FMNIST_ROOT:+--root "$QSWEEP_FMNIST_ROOT"} --out "$FIX/shards" >/dev/null
    touch "$FIX/ready"
  fi
) 9>"$FIX/.lock"

# demo_models: the `models:` block of two demo-zoo models, resnet18 and mobilenetv2_1.0.
demo_models() {
  cat <<YAML
models:
  resnet18: {arch: resnet18, weights: $REPO/models/demo/resnet18.pth,
             options: {num_classes: 10, in_channels: 1, width: 0.125, small_input: true}}
  mobilenetv2_1.0: {arch: mobilenetv2_1.0, weights: $REPO/models/demo/mobilenetv2_1.0.pth,
                    options: {num_classes: 10, in_channels: 1, width: 0.25, small_input: true}}
YAML
}

# write_sweep NAME FILE: the 6-task sweep (2 demo models × FP32, W8A8 MinMax, W4A8 MSE) named NAME.
write_sweep() {
  cat >"$2" <<YAML
sweep: $1
data: {eval: $FIX/shards/val.h5, calibration: $FIX/shards/calib.h5, calibration_batches: 4, batch_size: 64,
       eval_batch_size: 500}
$(demo_models)
grid:
  - include:
      - {model: [resnet18, mobilenetv2_1.0], backend: academic, w_calib: none, a_calib: none, wbit: 32, abit: 32}
  - product:
      model: [resnet18, mobilenetv2_1.0]
      backend: academic
      zip:
        - {w_calib: minmax, a_calib: ema_minmax, wbit: 8, abit: 8}
        - {w_calib: mse, a_calib: ema_mse, wbit: 4, abit: 8}
YAML
}

# ok_rows RESULTS.h5: number of tasks whose latest row is ok (csv rows without a '-' cell).
ok_cells() { "$QSWEEP_BIN" render "$1" --format csv | tail -n +2 | tr ',' '\n' | grep -cE '^[0-9]+\.[0-9]+$' || true; }

fail() { echo "FAIL: $*" >&2; exit 1; }
