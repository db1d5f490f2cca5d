#!/usr/bin/env bash
# The second build: qsweep against the CUDA LibTorch 2.11 of scripts/install-cuda-libtorch.sh, into
# build-cuda/ (Release, Ninja): CUDA on (the fused kernels of src/**/*.cu, compiled for
# TORCH_CUDA_ARCH_LIST, default 8.0;9.0) and the CUDA toolkit's NCCL (QSWEEP_WITH_NCCL=1). It
# compiles and links without a GPU, and its tests run on the CPU (a CUDA LibTorch runs where there
# is no GPU; tests/cuda skip there). Extra arguments go to cmake's configure.
set -euo pipefail
cd "$(dirname "$0")/.."
torch=$(scripts/install-cuda-libtorch.sh --print-prefix)
cuda=${CUDA_HOME:-/usr/local/cuda}
export PATH=$cuda/bin:$PATH
mkdir -p build-cuda
# The whole configure output is kept in build-cuda/configure.log; LibTorch's own packaging
# warnings (kineto, CMAKE_CUDA_ARCHITECTURES) stay there, qsweep's lines and errors are shown.
cmake -S . -B build-cuda -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$torch" \
  -DCUDAToolkit_ROOT="$cuda" "$@" >build-cuda/configure.log 2>&1 ||
  { cat build-cuda/configure.log >&2; exit 1; }
grep -E "^-- qsweep|CMake (Error|Warning) at CMakeLists" build-cuda/configure.log || true
cmake --build build-cuda -j"$(nproc)"
