#!/usr/bin/env bash
# Installs the CUDA LibTorch of the GPU machine's torch (2.11.0+cu130) into .whl/ (git-ignored),
# for the second build, build-cuda/ (scripts/build-cuda.sh). Nothing is installed system-wide.
#
# Where the libraries come from:
#   torch/               LibTorch from the torch==2.11.0 wheel (lib/, include/, share/cmake; the
#                        Python parts are left out)
#   nvidia/cu13/lib      links to the CUDA toolkit's own libraries (cudart, cuBLAS, cuFFT, cuRAND,
#   nvidia/cudnn/lib     cuSPARSE, cuSOLVER, NVRTC, CUPTI, cuDNN, NCCL: /usr/local/cuda/lib64),
#   nvidia/nccl/lib      plus libcufile from its pinned wheel (the toolkit has none)
#   nvidia/cusparselt/   cuSPARSELt and NVSHMEM from their pinned wheels (the toolkit has neither;
#   nvidia/nvshmem/      libtorch_cuda.so needs both to load)
# The folders mirror the wheel's site-packages layout, so the RPATH that LibTorch's libraries
# carry ($ORIGIN/../../nvidia/<name>/lib) finds every library without LD_LIBRARY_PATH.
#
# Every wheel is pinned by version and sha256 (pip --require-hashes). Idempotent: a second run
# checks a stamp and returns at once. Messages go to stderr; --print-prefix prints the folder
# to give CMake as CMAKE_PREFIX_PATH on stdout.
# Usage: scripts/install-cuda-libtorch.sh [--print-prefix]
set -euo pipefail
cd "$(dirname "$0")/.."

version=2.11.0
dest=$PWD/.whl/cuda-libtorch-$version
prefix=$dest/torch
cuda=${CUDA_HOME:-/usr/local/cuda}
requirements="torch==$version --hash=sha256:7aa2f9bbc6d4595ba72138026b2074be1233186150e9292865e04b7a63b8c67a
nvidia-cusparselt-cu13==0.8.0 --hash=sha256:25e30a8a7323935d4ad0340b95a0b69926eee755767e8e0b1cf8dd85b197d3fd
nvidia-nvshmem-cu13==3.4.5 --hash=sha256:290f0a2ee94c9f3687a02502f3b9299a9f9fe826e6d0287ee18482e78d495b80
nvidia-cufile==1.15.1.6 --hash=sha256:08a3ecefae5a01c7f5117351c64f17c7c62efa5fffdbe24fc7d298da19cd0b44"
stamp_text="$requirements
toolkit: $cuda"

if [[ -f $dest/.stamp && "$(cat "$dest/.stamp")" == "$stamp_text" ]]; then
  echo "install-cuda-libtorch: LibTorch $version present in $dest" >&2
  [[ ${1:-} == --print-prefix ]] && echo "$prefix"
  exit 0
fi

[[ -x $cuda/bin/nvcc && -d $cuda/lib64 ]] ||
  { echo "install-cuda-libtorch: no CUDA toolkit at $cuda (set CUDA_HOME to the folder with bin/nvcc and lib64/)" >&2; exit 2; }
for lib in libcudart.so.13 libcublas.so.13 libcudnn.so.9 libnccl.so.2 libnvrtc.so.13 libcupti.so.13; do
  [[ -e $cuda/lib64/$lib ]] || { echo "install-cuda-libtorch: the toolkit at $cuda lacks $lib" >&2; exit 2; }
done
python=$(command -v python3 || true)
[[ -n $python ]] && "$python" -m pip --version >/dev/null 2>&1 ||
  { echo "install-cuda-libtorch: needs python3 with pip (only to download the pinned wheels)" >&2; exit 2; }

start=$(date +%s)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/qsweep-cuda-libtorch.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
echo "$requirements" >"$tmp/requirements.txt"
# --platform/--python-version pick the same files whichever python3 runs pip.
"$python" -m pip download --quiet --no-deps --require-hashes --only-binary=:all: \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
  --python-version 3.11 -d "$tmp/wheels" -r "$tmp/requirements.txt"
bytes=$(du -cb "$tmp"/wheels/*.whl | tail -1 | cut -f1)
echo "install-cuda-libtorch: downloaded $((bytes / 1048576)) MiB in $(( $(date +%s) - start )) s" >&2

rm -rf "$dest.partial" && mkdir -p "$dest.partial"
# unzip_to WHEEL PREFIX…: extracts the members under the PREFIXes (a wheel is a zip file).
unzip_to() {
  (cd "$dest.partial" && "$python" -c 'import sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
z.extractall(members=[m for m in z.namelist() if m.startswith(tuple(sys.argv[2:]))])' "$@")
}
unzip_to "$tmp"/wheels/torch-*.whl torch/lib/ torch/include/ torch/share/cmake/
rm -f "$dest.partial"/torch/lib/libtorch_python.so   # the Python binding: no C++ program loads it
unzip_to "$tmp"/wheels/nvidia_cusparselt*.whl nvidia/cusparselt/lib/
unzip_to "$tmp"/wheels/nvidia_nvshmem*.whl nvidia/nvshmem/lib/
unzip_to "$tmp"/wheels/nvidia_cufile*.whl nvidia/cu13/lib/
for f in "$cuda"/lib64/*.so*; do ln -sf "$f" "$dest.partial/nvidia/cu13/lib/"; done
for name in cudnn nccl; do mkdir -p "$dest.partial/nvidia/$name" && ln -s ../cu13/lib "$dest.partial/nvidia/$name/lib"; done
echo "$stamp_text" >"$dest.partial/.stamp"
rm -rf "$dest" && mv "$dest.partial" "$dest"
echo "install-cuda-libtorch: LibTorch $version in $dest ($(du -sh "$dest" | cut -f1), $(( $(date +%s) - start )) s in all)" >&2
[[ ${1:-} == --print-prefix ]] && echo "$prefix"
exit 0
