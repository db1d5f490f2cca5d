#!/usr/bin/env bash
# README command 1, the main job on the embedded default: installs what is missing, builds,
# prepares the Fashion-MNIST shards (from Debian's dataset-fashion-mnist), runs sweeps/demo.yaml —
# every row of the seed table on the five committed demo models (models/demo/) — on 2 MPI ranks,
# and prints the RST table (results/demo.h5, results/demo.rst), then writes the tidy export
# (results/demo.csv) and the plot (results/demo_accuracy.svg/.png). Steps already done are skipped and
# a sweep of yours resumes (the committed results/demo.h5 is swept anew); pass --no-resume to rerun
# every task. Extra arguments go to `qsweep run`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
source scripts/env.sh
scripts/build.sh
q=build/qsweep
[[ -f shards/fashion-mnist/val.h5 ]] || $q prepare fashion-mnist --out shards/fashion-mnist
(cd models/demo && sha256sum --quiet -c SHA256SUMS) ||
  { echo "models/demo/ differs from its SHA256SUMS (regenerate: scripts/train-demo-zoo.sh)" >&2; exit 1; }
mkdir -p results
# results/demo.h5 is committed (the documented readers run on it). While it is still the committed
# file, this sweeps anew; a file a run of yours wrote (finished or interrupted) is resumed.
if [[ -f results/demo.h5 ]] && git ls-files --error-unmatch results/demo.h5 >/dev/null 2>&1 &&
  git diff --quiet -- results/demo.h5; then
  echo "results/demo.h5 is the committed run (git checkout results/demo.h5 restores it): sweeping anew"
  rm results/demo.h5
fi
start=$(date +%s)
mpirun -n 2 -x GLIBC_TUNABLES "$q" run sweeps/demo.yaml "$@"
echo "sweep: $(( $(date +%s) - start )) s on 2 ranks"
# An RST comment names what produced the table (the rows themselves record their commits in demo.h5).
{
  echo ".. results/demo.rst: sweeps/demo.yaml, $($q version | head -1), rendered $(date -u +%F)"
  echo
  $q render results/demo.h5 --format rst
} >results/demo.rst
cat results/demo.rst
$q export results/demo.h5 --out results/demo.csv
plots=$($q plot results/demo.h5 --out-dir results --png | tr '\n' ' ')
echo
echo "table:  results/demo.rst (and results/demo.h5: every row, quantizer and provenance; qsweep show/compare read it)"
echo "export: results/demo.csv (one row per task, every field; qsweep export --quantizers for per-layer rows)"
echo "plot:   $plots"
