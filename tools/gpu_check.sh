#!/usr/bin/env bash
# The one call on the lent GPU machine (docs/gpu.md), at most 8 minutes: configure and build qsweep
# there against the CUDA LibTorch of its torch wheel (16 cores), run the CUDA tests (fused kernels
# against the CPU path, the NCCL group), the task-group equality test where Fashion-MNIST is carried,
# and bench/gpu_bench. The header-only Debian packages that machine lacks travel in .deps/root
# (tools/gpu_deps.sh; GPU_DEPS_DATA=1 adds Fashion-MNIST), named in the device tool's carry.
#
#   tools/gpu_check.sh --dry-run   here, before the GPU call: builds build-cuda/ (scripts/build-cuda.sh),
#                                  lists the tests and benches, runs every step on the CPU with small
#                                  sizes, and checks every path and option the GPU call uses
#   tools/gpu_check.sh             on the GPU machine
#
# QSWEEP_GPU_BENCH=0 skips the benchmark; QSWEEP_GPU_GROUPS=0 the task-group test.
set -uo pipefail
cd "$(dirname "$0")/.."
dry=0
[[ ${1:-} == --dry-run ]] && dry=1
[[ $# -gt 0 && $dry == 0 ]] && { echo "usage: tools/gpu_check.sh [--dry-run]" >&2; exit 1; }
source scripts/env.sh
DEPS=$PWD/.deps/root/usr
FM=$DEPS/share/datasets/fashion-mnist
missing=0
# need PATH WHY [deps]: a missing carried package stops the GPU call; a dry run here (which builds
# with this machine's packages) only warns that the GPU call would stop.
need() {
  [[ -e $1 ]] && return
  if [[ ${3:-} == deps && $dry == 1 ]]; then
    echo "gpu_check: warning: $1 is missing ($2): the GPU call would stop here"
  else
    echo "gpu_check: missing $1 ($2)"
    missing=1
  fi
}
need tests/integration/groups_equality_test.sh "the task-group equality test"
need bench/gpu_bench.cpp "the GPU benchmark"
need $DEPS/include/CLI/CLI.hpp "carry .deps: tools/gpu_deps.sh makes it" deps
need $DEPS/include/gtest/gtest.h "carry .deps: tools/gpu_deps.sh makes it" deps
need $DEPS/include/nlohmann/json.hpp "carry .deps: tools/gpu_deps.sh makes it" deps
[[ -d $FM ]] || echo "gpu_check: no carried Fashion-MNIST (GPU_DEPS_DATA=1 tools/gpu_deps.sh): the task-group test will be skipped"
((missing)) && exit 2

if ((dry)); then
  # Here: the build CI makes, then every step below on the CPU with small sizes.
  scripts/build-cuda.sh || exit 1
  B=build-cuda
  bench_args=(--device cpu --size 32 --batch 4 --eval-batches 1 --calib-batches 2 --calib-batch 4
              --adaround-iterations 2 --shard-images 8 --models resnet18)
else
  TP=$(python3 -c 'import torch;print(torch.utils.cmake_prefix_path)')
  NR=$(python3 -c 'import nvidia.nccl as n;print(list(n.__path__)[0])' 2>/dev/null || echo /usr)
  export LD_LIBRARY_PATH=$DEPS/lib/x86_64-linux-gnu:$NR/lib:${LD_LIBRARY_PATH:-}
  extra=()
  if [[ ! -f /usr/include/jpeglib.h ]]; then
    extra+=(-DJPEG_INCLUDE_DIR=$DEPS/include -DJPEG_LIBRARY=$DEPS/lib/x86_64-linux-gnu/libjpeg.so
            "-DCMAKE_CXX_FLAGS=-isystem $DEPS/include/x86_64-linux-gnu")
  fi
  B=build-gpu
  t0=$(date +%s)
  # Only the GPU's own architecture: the build has 16 cores but the 8 minutes.
  arch=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader | head -1)
  timeout 120 cmake -S . -B $B -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$TP;$DEPS" -DNCCL_ROOT="$NR" \
    -DTORCH_CUDA_ARCH_LIST="$arch" -DOPENSSL_ROOT_DIR="$DEPS" -DCMAKE_POLICY_VERSION_MINIMUM=3.5 "${extra[@]}" \
    >$B.configure.log 2>&1 || { tail -30 $B.configure.log; exit 1; }
  grep -E "^-- qsweep|CMake Error" $B.configure.log
  timeout 240 cmake --build $B -j16 --target qsweep cuda_tests gpu_bench 2>&1 | grep -E "error|warning:|FAILED" | head -40
  echo "configure+build: $(( $(date +%s) - t0 )) s"
  bench_args=()
fi

for t in $B/qsweep $B/cuda_tests $B/gpu_bench; do
  [[ -x $t ]] || { echo "gpu_check: $t was not built"; exit 1; }
done
echo "nccl calls in core: $(nm -C $B/libqsweep_core.a | grep -cE ' U nccl(CommInitRank|AllReduce|Broadcast)')"
echo "== cuda_tests: $($B/cuda_tests --gtest_list_tests | grep -c '^  ') tests"
$B/cuda_tests --gtest_list_tests | sed 's/^/   /'
timeout 150 $B/cuda_tests --gtest_brief=0 2>&1 | grep -E "^\[ +(OK|FAILED|SKIPPED|PASSED) +\]|^\[|identical|Failure|Expected|Which|actual" | tail -40
echo "== gpu_bench $(${B}/gpu_bench --help | head -1)"
if [[ ${QSWEEP_GPU_BENCH:-1} == 1 ]]; then
  timeout 200 $B/gpu_bench "${bench_args[@]}" 2>&1 | tail -24
fi
if [[ ${QSWEEP_GPU_GROUPS:-1} == 1 && -d $FM ]]; then
  gpus=$( ((dry)) && echo 0 || nvidia-smi -L | wc -l)
  echo "== groups_equality_test (GPUs: $gpus; ranks that share a GPU reduce through MPI, one GPU a rank: NCCL)"
  ((dry)) && { echo "   (dry run: listed only; it runs in ctest here)"; } ||
    QSWEEP_FMNIST_ROOT=$FM QSWEEP_BIN=$PWD/$B/qsweep QSWEEP_BUILD_DIR=$PWD/$B \
      timeout 120 bash tests/integration/groups_equality_test.sh 2>&1 | grep -E "^G=|FAIL|passed|ranks\)" | tail -20
fi
((dry)) || nvidia-smi --query-gpu=name,memory.used,memory.total --format=csv
echo "gpu_check: done$( ((dry)) && echo ' (dry run)')"
