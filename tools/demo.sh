#!/usr/bin/env bash
# The README's main command: streams a continuation from zest's embedded demo model
# (examples/models/brown-llama, a small LLaMA trained on the Brown corpus), then its speed.
#   tools/demo.sh ["PROMPT"]     (extra zest-generate flags may follow the prompt)
# The first run installs what is missing and builds zest-generate (Release); later runs start at once.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh

prompt=${1:-"The committee met on Tuesday and"}
shift || true
if [[ ! -f build/build.ninja ]]; then
  echo "demo: configuring the Release build in build/ (first run only)..." >&2
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
if ! cmake --build build --target zest-generate -j"$(nproc)" -- -n 2>/dev/null | grep -q "no work to do"; then
  echo "demo: building zest-generate (first run only, a minute or two)..." >&2
  cmake --build build --target zest-generate -j"$(nproc)" >/dev/null
fi
printf '%s' "$prompt"
build/examples/zest-generate/zest-generate --prompt "$prompt" --max-new-tokens 180 "$@"
