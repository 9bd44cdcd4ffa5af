#!/usr/bin/env bash
# The README's main command: builds zest's programs (Release, once) and shows what zest does.
# Until the model runtime lands, that is loading and checking Hugging Face model directories.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh

if [[ ! -x build/examples/hello/hello ]]; then
  echo "demo: building zest's examples in build/ (first run only, about a minute)..." >&2
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build build --target hello -j"$(nproc)" >/dev/null
fi
for model in tests/data/fixtures/*/; do
  echo "== $model"
  build/examples/hello/hello "$model"
done
