#!/usr/bin/env bash
# README command 1, the main job on the embedded default: installs what is missing, builds,
# prepares Fashion-MNIST shards (Debian's dataset-fashion-mnist), trains two small models, runs the
# seed table's rows as a sweep on 2 MPI ranks and prints the RST table
# (results/quick_demo.h5, results/quick_demo.rst). Steps already done are skipped; the sweep itself
# resumes. The five-model demo zoo (issue 7) will replace the two quick models.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
source scripts/env.sh
scripts/build.sh
q=build/qsweep
[[ -f shards/fashion-mnist/val.h5 ]] || $q prepare fashion-mnist --out shards/fashion-mnist
mkdir -p models/quick results
train() {  # MODEL WIDTH LR
  [[ -f models/quick/$1.pth ]] && return 0
  $q train --model "$1" --width "$2" --lr "$3" --small-input --in-channels 1 --num-classes 10 \
    --train shards/fashion-mnist/train.h5 --eval shards/fashion-mnist/val.h5 --out "models/quick/$1.pth" \
    --epochs 1 --max-images 12000 --seed 1
}
train resnet18 0.125 0.1 &
train mobilenetv2_1.0 0.25 0.05 &
wait
start=$(date +%s)
mpirun -n 2 -x GLIBC_TUNABLES "$q" run sweeps/quick_demo.yaml "$@"
echo "sweep: $(( $(date +%s) - start )) s on 2 ranks"
$q render results/quick_demo.h5 --format rst --out results/quick_demo.rst
cat results/quick_demo.rst
