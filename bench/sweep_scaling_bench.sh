#!/usr/bin/env bash
# Sweep efficiency = Σ task time / (ranks × makespan) for 1, 2, 4 and 8 MPI ranks (4 and 8
# oversubscribed on a 2-core machine) on 18 small tasks, printed as a table. Uses the integration
# fixture (Fashion-MNIST shards + tiny trained models) in build/it-fixture.
#   bench/sweep_scaling_bench.sh [build-dir]
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
export QSWEEP_BUILD_DIR=${1:-$repo/build} QSWEEP_BIN=${1:-$repo/build}/qsweep
source "$repo/tests/integration/fixture.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
write_sweep bench "$work/base.yaml"
# The quantized cells × 4 EMA ratios + the FP32 cells: 18 distinct tasks.
sed 's/^grid:/options: {ema_ratio: 0.9}\ngrid:/' "$work/base.yaml" >"$work/s.yaml"
sed -i "s/^      backend: academic$/      backend: academic\n      ema_ratio: [0.9, 0.8, 0.7, 0.6]/" "$work/s.yaml"
printf "%6s %10s %12s %10s %6s\n" ranks makespan_s task_sum_s efficiency tasks
for n in 1 2 4 8; do
  over=""; [[ $n -gt 2 ]] && over="--oversubscribe"
  mpirun -n $n $over -x GLIBC_TUNABLES "$QSWEEP_BIN" run "$work/s.yaml" --results "$work/r$n.h5" >"$work/log$n"
  make=$(sed -n 's/.* ran, .* in \([0-9.]*\) s .*/\1/p' "$work/log$n")
  sum=$(grep -o '([0-9.]* s, rank' "$work/log$n" | awk '{s+=substr($1,2)} END{print s}')
  tasks=$(grep -c '^\[' "$work/log$n")
  printf "%6d %10.1f %12.1f %10.3f %6d\n" "$n" "$make" "$sum" "$(echo "$sum / ($n * $make)" | bc -l)" "$tasks"
done
