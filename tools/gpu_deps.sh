#!/usr/bin/env bash
# Prepares .deps/root (git-ignored): Debian packages the lent GPU machine lacks (CLI11, fmt,
# nlohmann-json, GoogleTest, OpenSSL and libjpeg headers/libs), unpacked with dpkg -x, to be
# carried to that machine for tools/gpu_check.sh.
#   GPU_DEPS_DATA=1 tools/gpu_deps.sh   also carries Fashion-MNIST (the task-group test needs it)
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf .deps && mkdir -p .deps/debs && cd .deps/debs
apt-get download libcli11-dev libfmt-dev libfmt9 nlohmann-json3-dev libgtest-dev libssl-dev libssl3 \
  libjpeg62-turbo-dev libjpeg62-turbo
# GPU_DEPS_DATA=1: also Fashion-MNIST (~30 MB), for the task-group equality test on the GPU.
[[ ${GPU_DEPS_DATA:-0} == 1 ]] && apt-get download dataset-fashion-mnist
cd .. && for f in debs/*.deb; do dpkg -x "$f" root; done
rm -rf debs root/usr/share/doc root/usr/share/man root/usr/lib/x86_64-linux-gnu/lib{ssl,crypto}.a
du -sh root
