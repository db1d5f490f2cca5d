#!/usr/bin/env bash
# README command 2: installs what is missing, builds, and runs every test suite with ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --with-python   # python3-torch/torchvision: reference outputs for parity tests
source scripts/env.sh
start=$(date +%s)
scripts/build.sh
echo "build: $(( $(date +%s) - start )) s"
ctest --test-dir build --output-on-failure
