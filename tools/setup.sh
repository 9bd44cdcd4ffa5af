#!/usr/bin/env bash
# Installs the Debian 12 packages zest's build, tests, examples and benchmarks need. Idempotent:
# installs only what is missing, running `apt-get update` once at most.
#   tools/setup.sh          build, tests, examples, benchmarks, fuzzing; zest-server's test client
#                           (the pinned `openai` npm package in tests/server/node_modules) and nginx
#   tools/setup.sh --dev    also what regenerates reference data and runs peers (PyTorch, Node)
set -euo pipefail

packages=(
  g++ cmake ninja-build pkg-config git
  libeigen3-dev libxsimd-dev nlohmann-json3-dev libutf8proc-dev libpcre2-dev
  libsentencepiece-dev sentencepiece libcli11-dev doctest-dev libbenchmark-dev libopenblas-dev
  clang libclang-rt-14-dev libcpp-httplib-dev nginx curl
)
# A Node.js that ships its own npm (not Debian's) conflicts with Debian's npm package: keep it.
command -v npm >/dev/null || packages+=(nodejs npm)
if [[ "${1:-}" == "--dev" ]]; then
  packages+=(python3-torch python3-numpy python3-jinja2 linux-perf)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [[ ${#missing[@]} -gt 0 ]]; then
  echo "setup: installing ${missing[*]}" >&2
  sudo=()
  [[ $(id -u) -eq 0 ]] || sudo=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  # Packages with a service (nginx) must not start it: the tests run their own nginx as the user.
  # invoke-rc.d asks policy-rc.d, and exit status 101 means "not now".
  policy=/usr/sbin/policy-rc.d
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee "$policy" >/dev/null
    "${sudo[@]}" chmod +x "$policy"
    trap '"${sudo[@]}" rm -f "$policy"' EXIT
  fi
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

# zest-server's tests drive it with the official openai client, pinned by tests/server/package-lock.json.
server_tests=$(cd "$(dirname "$0")/../tests/server" && pwd)
if [[ ! -d $server_tests/node_modules/openai ]]; then
  echo "setup: npm ci in tests/server" >&2
  (cd "$server_tests" && npm ci --no-audit --no-fund --loglevel=error >&2)
fi
