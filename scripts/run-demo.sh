#!/usr/bin/env bash
# README command 1, the main job on the embedded default: installs what is missing, builds, then
# calibrates every observer on Debian's Fashion-MNIST test images and prints range, scale, zero
# point and SQNR per bit width (qsweep quant-error). The full demo sweep replaces this once the
# models, data shards and sweep runner exist (issues 3-7).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
source scripts/env.sh
scripts/build.sh
build/qsweep quant-error --bits 2,4,8 "$@"
