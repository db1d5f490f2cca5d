#!/usr/bin/env bash
# One-shot check on the lent CUDA machine (see docs/developer.md "GPU"): configure and build qsweep against
# the CUDA LibTorch of the machine's torch wheel, with the header-only Debian packages it lacks
# carried in .deps/root (made by tools/gpu_deps.sh), then run the CUDA tests and the suites that
# need no datasets. Prints configure warnings, build time and test summaries.
# QSWEEP_GPU_SUITES="cuda quant" limits the suites; QSWEEP_GPU_BENCH=0 skips quant_bench.
set -uo pipefail
cd "$(dirname "$0")/.."
TP=$(python3 -c 'import torch;print(torch.utils.cmake_prefix_path)')
NR=$(python3 -c 'import nvidia.nccl as n;print(list(n.__path__)[0])' 2>/dev/null || echo /usr)
DEPS=$PWD/.deps/root/usr
export LD_LIBRARY_PATH=$DEPS/lib/x86_64-linux-gnu:$NR/lib:${LD_LIBRARY_PATH:-}
source scripts/env.sh
extra=()
if [[ ! -f /usr/include/jpeglib.h ]]; then
  echo "no system libjpeg headers: using the carried Debian ones"
  extra+=(-DJPEG_INCLUDE_DIR=$DEPS/include -DJPEG_LIBRARY=$DEPS/lib/x86_64-linux-gnu/libjpeg.so
          "-DCMAKE_CXX_FLAGS=-isystem $DEPS/include/x86_64-linux-gnu")
fi
t0=$(date +%s)
cmake -S . -B build-gpu -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$TP;$DEPS" -DNCCL_ROOT="$NR" \
  -DOPENSSL_ROOT_DIR="$DEPS" -DCMAKE_POLICY_VERSION_MINIMUM=3.5 "${extra[@]}" 2>&1 |
  grep -iE "warn|error|qsweep|nccl" | grep -v "^--.*Looking" | head -30
cmake --build build-gpu -j16 2>&1 | grep -E "error|warning:|FAILED" | head -40
echo "configure+build: $(( $(date +%s) - t0 )) s"
nm -C build-gpu/libqsweep_core.a 2>/dev/null | grep -c ncclCommInitRank | sed 's/^/nccl symbols in core: /'
for t in ${QSWEEP_GPU_SUITES:-cuda quant graph sweep models}; do
  [[ -x build-gpu/${t}_tests ]] || { echo "missing build-gpu/${t}_tests"; continue; }
  echo "== ${t}_tests"
  timeout 240 build-gpu/${t}_tests --gtest_brief=1 2>&1 | tail -6
done
[[ ${QSWEEP_GPU_BENCH:-1} == 1 ]] && timeout 120 build-gpu/quant_bench --reps 3 --no-reference-mse 2>&1 | tail -16
# Task groups on the GPU build: the equality test of the CPU path (tests/integration), where the
# carried Fashion-MNIST is here. Ranks that share a GPU reduce through MPI (NCCL refuses two ranks
# on one device); with a GPU per rank they go through NCCL.
FM=$PWD/.deps/root/usr/share/datasets/fashion-mnist
if [[ ${QSWEEP_GPU_GROUPS:-1} == 1 && -d $FM ]]; then
  echo "== groups_equality_test (GPUs: $(nvidia-smi -L | wc -l))"
  QSWEEP_FMNIST_ROOT=$FM QSWEEP_BIN=$PWD/build-gpu/qsweep QSWEEP_BUILD_DIR=$PWD/build-gpu \
    timeout 300 bash tests/integration/groups_equality_test.sh 2>&1 | grep -E "^G=|FAIL|passed|ranks\)" | tail -20
fi
nvidia-smi --query-gpu=name,memory.used,memory.total --format=csv
