#!/usr/bin/env bash
# Installs every Debian package qsweep needs to build, test and run its embedded default.
# Idempotent: packages already installed are skipped, and nothing is done when all are present.
# Usage: scripts/install-deps.sh [--with-python]   (--with-python adds python3-torch/torchvision,
#        used only by tools/ that regenerate reference fixtures; tests never need them)
set -euo pipefail

packages=(
  build-essential cmake ninja-build lld pkg-config
  libtorch-dev                      # LibTorch 1.13 (CPU)
  libopenmpi-dev openmpi-bin        # MPI
  libyaml-cpp-dev                   # sweep files
  libhdf5-dev hdf5-tools            # shards and results (+ h5dump)
  libgtest-dev                      # unit tests
  libjpeg-dev zlib1g-dev            # ImageNet JPEGs, Fashion-MNIST .gz
  libssl-dev                        # SHA-256 shard fingerprints (OpenSSL EVP)
  libcli11-dev libfmt-dev nlohmann-json3-dev
  librsvg2-bin                      # rsvg-convert: PNG copies of `qsweep plot`'s SVGs
  libssl-dev                        # sha256 of checkpoints (OpenSSL EVP)
  dataset-fashion-mnist             # the embedded default's data
)
if [[ "${1:-}" == "--with-python" ]]; then
  packages+=(python3-torch python3-torchvision python3-h5py python3-pandas)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi
echo "install-deps: installing ${#missing[@]} package(s): ${missing[*]}"
sudo_cmd=()
[[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done"
