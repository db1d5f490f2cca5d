#!/usr/bin/env bash
# Task groups measured on this machine: one AdaRound task and four naive ones under
# `mpirun -n 2`, with groups off (--group-size 1) and on (--group-size auto), in one run. Prints
# each makespan, the ideal (Σ one-rank task seconds of the groups-off run ÷ 2) and the ratios.
# Uses the integration fixture (Fashion-MNIST shards + the demo zoo) in build/it-fixture.
#   bench/groups_mpirun_bench.sh [build-dir] [adaround-iterations (default 600)]
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
export QSWEEP_BUILD_DIR=${1:-$repo/build} QSWEEP_BIN=${1:-$repo/build}/qsweep
iterations=${2:-600}
source "$repo/tests/integration/fixture.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat >"$work/s.yaml" <<YAML
sweep: bench_groups
data: {eval: $FIX/shards/val.h5, calibration: $FIX/shards/calib.h5, calibration_batches: 4, batch_size: 64,
       eval_batch_size: 500}
$(demo_models)
grid:
  - include:
      - {model: resnet18, backend: academic, w_calib: adaround, a_calib: ema_minmax, wbit: 3, abit: 8,
         iterations: $iterations}
  - product:
      model: [resnet18, mobilenetv2_1.0]
      backend: academic
      zip:
        - {w_calib: minmax, a_calib: ema_minmax, wbit: 8, abit: 8}
        - {w_calib: mse, a_calib: ema_mse, wbit: 4, abit: 4}
YAML
"$QSWEEP_BIN" plan "$work/s.yaml" --resolve --ranks 2 --group-size auto | sed -n '/^task groups/,$p'
seconds() { sed -n 's/.* ran, .* in \([0-9.]*\) s .*/\1/p' "$1"; }
for mode in off on; do
  g=1; [[ $mode == on ]] && g=auto
  mpirun -n 2 -x GLIBC_TUNABLES "$QSWEEP_BIN" run "$work/s.yaml" --results "$work/$mode.h5" --group-size $g \
    >"$work/$mode.log"
  grep -q " 0 failed" "$work/$mode.log" || { cat "$work/$mode.log"; echo "a task failed" >&2; exit 1; }
done
grep -h '^\[' "$work/off.log" "$work/on.log"
off=$(seconds "$work/off.log") on=$(seconds "$work/on.log")
sum=$(grep -o '([0-9.]* s, rank ' "$work/off.log" | awk '{s += substr($1, 2)} END {print s}')
ideal=$(echo "$sum / 2" | bc -l)
printf "%-10s %10s %10s\n" groups makespan_s "÷ ideal"
printf "%-10s %10.1f %10.3f\n" off "$off" "$(echo "$off / $ideal" | bc -l)"
printf "%-10s %10.1f %10.3f\n" on "$on" "$(echo "$on / $ideal" | bc -l)"
printf "ideal (Σ one-rank task seconds ÷ 2) %.1f s; groups on ÷ off %.3f\n" "$ideal" "$(echo "$on / $off" | bc -l)"
