#!/usr/bin/env bash
# Fits the cost model for ImageNet-scale cells on this machine and writes
# sweeps/costs/imagenet_probe_2core.json: sweeps/costs/imagenet_probe.yaml (full-width resnet18
# and mobilenetv2_1.0 at 224 px, randomly initialised torchvision weights) on 200 images of
# ../shared/data/imagenet-sample under `mpirun -n 2`, then `qsweep plan --costs-from`.
# About 10 minutes on 2 cores. Needs Debian's python3-torchvision for the weights.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
sample=${IMAGENET_SAMPLE:-../shared/data/imagenet-sample/val}
work=${WORK:-$(mktemp -d)}
mkdir -p "$work/root/val" "$work/root/train" "$work/weights"
# 200 classes, one image each; the same images serve as the calibration source (timing only).
for d in $(ls "$sample" | head -200); do
  ln -sfn "$(cd "$sample/$d" && pwd)" "$work/root/val/$d"
  ln -sfn "$(cd "$sample/$d" && pwd)" "$work/root/train/$d"
done
[[ -f $work/shards/val.h5 ]] || build/qsweep prepare imagenet --root "$work/root" --out "$work/shards" --calib 128 --no-progress
/usr/bin/python3 - "$work/weights" <<'PY'
import sys, torch, torchvision
torch.manual_seed(0)
torch.save(torchvision.models.resnet18().state_dict(), f"{sys.argv[1]}/resnet18.pth")
torch.save(torchvision.models.mobilenet_v2().state_dict(), f"{sys.argv[1]}/mobilenetv2_1.0.pth")
PY
export PROBE_SHARDS=$work/shards PROBE_WEIGHTS=$work/weights
mpirun -n 2 -x GLIBC_TUNABLES -x PROBE_SHARDS -x PROBE_WEIGHTS build/qsweep run sweeps/costs/imagenet_probe.yaml \
  --results "$work/probe.h5" "$@"
build/qsweep plan sweeps/costs/imagenet_probe.yaml --costs-from "$work/probe.h5" \
  --save-costs sweeps/costs/imagenet_probe_2core.json \
  --costs-reference "one rank of the 2-core development VM (mpirun -n 2, one intra-op thread per rank), ImageNet-scale cells"
echo "results: $work/probe.h5"
