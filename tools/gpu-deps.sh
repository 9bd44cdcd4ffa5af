#!/usr/bin/env bash
# Downloads into .gpu-deps/ (ignored) the Debian 12 packages of zest's build dependencies, for
# tools/gpu-check.sh to unpack on a GPU machine that has the CUDA toolkit, CMake and PyTorch but
# cannot install packages (the device tool's machines: carry `.gpu-deps`). 2.8 MB; run it here,
# where apt can download.
set -euo pipefail
cd "$(dirname "$0")/.."
packages=(
  libxsimd-dev nlohmann-json3-dev libcli11-dev doctest-dev           # header-only
  libutf8proc-dev libutf8proc2 libpcre2-dev libpcre2-8-0             # and their shared libraries
  libsentencepiece-dev libsentencepiece0 libprotobuf-lite32
  pkgconf pkgconf-bin libpkgconf3                                    # CMake reads three of them by pkg-config
)
rm -rf .gpu-deps.tmp
mkdir -p .gpu-deps.tmp
# apt drops privileges to _apt, which must be able to write the folder.
chmod 777 .gpu-deps.tmp
(cd .gpu-deps.tmp && apt-get download "${packages[@]}" >/dev/null)
rm -rf .gpu-deps
mv .gpu-deps.tmp .gpu-deps
chmod 755 .gpu-deps
du -sh .gpu-deps
