#!/bin/bash
# sbatch slurm/full_table.sh            — runs sweeps/full_table.yaml (the seed's two tables)
# SWEEP=sweeps/other.yaml sbatch slurm/full_table.sh   — any other sweep file
# Every #SBATCH line can be overridden on the command line (sbatch -n 4 --gpus-per-node=4 ...).
# One MPI rank per GPU (GPU builds take cuda:<local rank>); on CPU nodes one rank per core.
# The full table is 45 tasks; on 8 GPUs it runs in well under the time limit below. Long tasks
# (AdaRound) run on task groups chosen by the cost model (GROUP_SIZE=auto, the default here;
# GROUP_SIZE=1 turns groups off; docs/groups.md): the same numbers, a shorter makespan. The job is
# requeue-friendly: a requeued or resubmitted run skips every task already `ok` in the results file.
#SBATCH --job-name=qsweep-full-table
#SBATCH --nodes=1
#SBATCH --ntasks-per-node=8
#SBATCH --gpus-per-node=8
#SBATCH --cpus-per-task=4
#SBATCH --time=08:00:00
#SBATCH --requeue
#SBATCH --open-mode=append
#SBATCH --output=results/slurm-%x-%j.out
set -euo pipefail
cd "${SLURM_SUBMIT_DIR:-$(dirname "$0")/..}"
SWEEP=${SWEEP:-sweeps/full_table.yaml}
QSWEEP=${QSWEEP:-build/qsweep}
GROUP_SIZE=${GROUP_SIZE:-auto}
source scripts/env.sh
name=$(sed -n 's/^sweep:[[:space:]]*\([^[:space:]#]*\).*/\1/p' "$SWEEP" | head -n 1)
echo "qsweep: sweep $SWEEP ($name) on ${SLURM_NTASKS:-1} rank(s), job ${SLURM_JOB_ID:-none}"
status=0
srun --mpi=pmix --export=ALL "$QSWEEP" run "$SWEEP" --group-size "$GROUP_SIZE" || status=$?
"$QSWEEP" render "results/$name.h5" --format rst --out "results/$name.rst"
cat "results/$name.rst"
exit $status
