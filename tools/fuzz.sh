#!/usr/bin/env bash
# Runs one libFuzzer target for a while: tools/fuzz.sh TARGET SECONDS   (e.g. safetensors 600)
# Targets: the fuzz_*.cpp files in tests/fuzz. New inputs go to build-fuzz/, never into the repo.
set -euo pipefail
cd "$(dirname "$0")/.."
target=${1:?usage: tools/fuzz.sh TARGET SECONDS}
seconds=${2:?usage: tools/fuzz.sh TARGET SECONDS}
tools/setup.sh

cmake -S . -B build-fuzz -G Ninja -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DZEST_FUZZ=ON -DZEST_BUILD_TESTS=OFF -DZEST_BUILD_EXAMPLES=OFF -DZEST_BUILD_BENCH=OFF >/dev/null
cmake --build build-fuzz --target "fuzz_$target" -j"$(nproc)"

corpus=build-fuzz/corpus-$target
mkdir -p "$corpus"
seeds=tests/fuzz/corpus/$target
[[ -d "$seeds" ]] || seeds=
build-fuzz/tests/fuzz/fuzz_$target -max_total_time="$seconds" -print_final_stats=1 \
  -artifact_prefix=build-fuzz/crash-$target- "$corpus" $seeds
