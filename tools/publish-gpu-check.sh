#!/usr/bin/env bash
# Builds the GPU check for the GPU host, which has an NVIDIA driver, CUDA 13 libraries and PyTorch but no .NET:
# a self-contained linux-x64 publish with invariant globalization, packed as .gpucarry/gpucheck.tar.xz (git-ignored;
# it travels with the working tree). Run from anywhere; then run tools/gpu-check.sh on the GPU host.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
dotnet publish tools/GraphDl.GpuCheck -c Release -r linux-x64 --self-contained true -p:InvariantGlobalization=true \
  -o "$out/gpucheck" --nologo -v quiet
mkdir -p .gpucarry
tar -C "$out" -cJf .gpucarry/gpucheck.tar.xz gpucheck
echo "$(du -h .gpucarry/gpucheck.tar.xz | cut -f1) .gpucarry/gpucheck.tar.xz ($(du -sh "$out/gpucheck" | cut -f1) unpacked)"
