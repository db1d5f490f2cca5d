#!/usr/bin/env bash
# sbatch slurm/full_table.sh on a real one-node Slurm cluster (slurm/ci-cluster.sh), with a small
# sweep and the resources overridden for a 2-core machine without GPUs; checks the HDF5 and table.
source "$(dirname "$0")/fixture.sh"
repo=$(cd "$(dirname "$0")/../.." && pwd)
source "$repo/slurm/ci-cluster.sh"
work=$(mktemp -d)
started=0
cleanup() { [[ $started == 1 ]] && slurm_ci_down >/dev/null 2>&1; rm -rf "$work"; }
trap cleanup EXIT
write_sweep it_slurm "$work/s.yaml"
if ! command -v slurmctld >/dev/null || ! pgrep -x slurmctld >/dev/null; then
  slurm_ci_up >/dev/null
  started=1
fi
export SLURM_CONF=${SLURM_CONF:-$SLURM_CI_DIR/slurm.conf}
cd "$work"
mkdir -p results
cp "$repo/slurm/full_table.sh" "$repo/scripts/env.sh" . 2>/dev/null || true
mkdir -p scripts && cp "$repo/scripts/env.sh" scripts/
jid=$(SWEEP="$work/s.yaml" QSWEEP="$QSWEEP_BIN" sbatch --parsable --export=ALL --ntasks-per-node=2 --gpus-per-node=0 \
  --cpus-per-task=1 --time=00:15:00 "$repo/slurm/full_table.sh")
echo "submitted job $jid"
slurm_ci_wait "$jid" 900 || { cat results/slurm-*.out; fail "job $jid did not complete"; }
cat results/slurm-*-"$jid".out
[[ -f results/it_slurm.h5 && -f results/it_slurm.rst ]] || fail "results/it_slurm.{h5,rst} missing"
[[ $(ok_cells results/it_slurm.h5) == 6 ]] || fail "expected 6 filled cells"
grep -q "on 2 rank(s)" results/slurm-*-"$jid".out || fail "srun did not start 2 ranks"
grep -q '| W_calibration | A_calibration | Backend  | wbit | abit | resnet18 | mobilenetv2_1.0 |' results/it_slurm.rst ||
  fail "rendered table differs from the seed's layout"
echo "slurm sweep: 1 passed, 0 failed"
