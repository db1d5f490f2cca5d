#!/usr/bin/env bash
# The second test run of CI: every ctest suite again against the CUDA LibTorch 2.11 (the GPU
# machine's version), built into build-cuda/ by scripts/build-cuda.sh. Here, without a GPU, it
# runs on the CPU (tests/cuda skip); on a GPU machine tests/cuda run too (tools/gpu_check.sh).
# Needs the packages of scripts/install-deps.sh (scripts/test.sh installs them first in CI).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
start=$(date +%s)
scripts/install-cuda-libtorch.sh
echo "install-cuda-libtorch: $(( $(date +%s) - start )) s"
start=$(date +%s)
scripts/build-cuda.sh
echo "build-cuda: $(( $(date +%s) - start )) s"
calls=$(nm -C build-cuda/libqsweep_core.a | grep -cE " U nccl(CommInitRank|AllReduce|Broadcast)$" || true)
[[ $calls == 3 ]] || { echo "test-cuda: dist/nccl_collective does not call NCCL in build-cuda ($calls of 3)" >&2; exit 1; }
echo "test-cuda: dist/nccl_collective calls ncclCommInitRank, ncclAllReduce, ncclBroadcast"
# The GPU machine's one call, rehearsed on the CPU: every path, option and step it uses.
tools/gpu_check.sh --dry-run
ctest --test-dir build-cuda --output-on-failure
