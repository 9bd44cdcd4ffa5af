#!/usr/bin/env bash
# Installs the Debian 12 packages zest's build, tests, examples and benchmarks need. Idempotent:
# installs only what is missing, running `apt-get update` once at most.
#   tools/setup.sh          build, tests, examples, benchmarks, fuzzing
#   tools/setup.sh --dev    also what regenerates reference data and runs peers (PyTorch, Node)
set -euo pipefail

packages=(
  g++ cmake ninja-build pkg-config git
  libeigen3-dev libxsimd-dev nlohmann-json3-dev libutf8proc-dev libpcre2-dev
  libsentencepiece-dev sentencepiece libcli11-dev doctest-dev libbenchmark-dev libopenblas-dev
  clang libclang-rt-14-dev
)
if [[ "${1:-}" == "--dev" ]]; then
  packages+=(python3-torch python3-numpy python3-jinja2 linux-perf)
  # A Node.js that ships its own npm (not Debian's) conflicts with Debian's npm package: keep it.
  command -v npm >/dev/null || packages+=(nodejs npm)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [[ ${#missing[@]} -eq 0 ]]; then
  exit 0
fi

echo "setup: installing ${missing[*]}" >&2
sudo=()
[[ $(id -u) -eq 0 ]] || sudo=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
