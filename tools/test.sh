#!/usr/bin/env bash
# zest's test suite, the README's test command and what CI runs:
#   1. Release build (-march=native) of everything, and its tests (ctest; zest-server's openai client
#      suite and nginx deploy test among them)
#   2. the tests again under AddressSanitizer + UndefinedBehaviorSanitizer (zest-server too, with the
#      client suite), and the tests of threads sharing one Pipeline, Encoder, Tokenizer or Engine
#      under ThreadSanitizer
#   3. the suites with ISA-specific code built for x86-64-v2 (no AVX2/AVX-512), so the portable
#      fallbacks stay honest
#   4. the CUDA backend (ZEST_CUDA=ON, sm_90 and sm_80) builds, and its tests run where there is a
#      GPU (skipped, and counted as passed, where there is none)
#   5. consumer projects: FetchContent (SOURCE_DIR and GIT_REPOSITORY) and find_package after install
#   6. a fuzz smoke: each libFuzzer target for FUZZ_SECONDS (default 10; longer runs: FUZZ_SECONDS=600)
# Prints each stage's result and, last, one line "zest: N passed, M failed"; exits non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
tools/setup.sh || exit 1

jobs=$(nproc)
stage_start=$SECONDS
fuzz_seconds=${FUZZ_SECONDS:-10}
passed=0
failed=0
failures=()

note() { printf '\n== %s (at %d s)\n' "$*" "$((SECONDS - stage_start))"; }
record() {  # record NAME STATUS
  if [[ $2 -eq 0 ]]; then passed=$((passed + 1)); else failed=$((failed + 1)); failures+=("$1"); fi
}

# configure DIR [cmake args...]: configures DIR, printing the log only when that fails.
configure() {
  local dir=$1
  shift
  mkdir -p "$dir"
  cmake -S . -B "$dir" -G Ninja "$@" >"$dir/configure.log" 2>&1 || { cat "$dir/configure.log"; return 1; }
}
# configure_build DIR [cmake args...]: configure and build everything in DIR.
configure_build() {
  configure "$@" && cmake --build "$1" -j"$jobs"
}

# run_ctest NAME DIR: runs ctest in DIR and adds its counts to the totals.
run_ctest() {
  local name=$1 dir=$2 log
  log=$(mktemp)
  (cd "$dir" && ctest --output-on-failure -j"$jobs" 2>&1) | tee "$log"
  local summary total bad
  summary=$(grep -E "tests passed, [0-9]+ tests? failed out of [0-9]+" "$log" | tail -1)
  total=$(sed -E 's/.*out of ([0-9]+).*/\1/' <<<"$summary")
  bad=$(sed -E 's/.* ([0-9]+) tests? failed.*/\1/' <<<"$summary")
  rm -f "$log"
  if [[ -z "$summary" ]]; then
    record "$name: ctest did not run" 1
    return
  fi
  passed=$((passed + total - bad))
  failed=$((failed + bad))
  [[ $bad -eq 0 ]] || failures+=("$name: $bad of $total tests")
}

note "1/6 Release build and tests"
if configure_build build -DCMAKE_BUILD_TYPE=Release; then run_ctest release build; else record "release build" 1; fi

note "2/6 AddressSanitizer + UndefinedBehaviorSanitizer, ThreadSanitizer"
# Three builds: the tests under ASan + UBSan; zest-server under them (its openai client suite and
# fault cases; the reference programs are stage 1's); the suites of threads sharing one Pipeline,
# Encoder, Tokenizer or Engine under TSan. The two one-target builds run beside the tests' build,
# whose last large units would otherwise leave a core idle. -g1: line tables for the sanitizers'
# stack traces, without the full debug info that would make these builds a third slower.
sanitized=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1" -DZEST_BUILD_BENCH=OFF)
tsan_targets=(test_models test_encoder test_tokenizer test_serve) tsan_tests=(pipeline encoder tokenizer serve)
background_build() {  # background_build DIR TARGET... (configured already): status in DIR/build.status
  local dir=$1
  shift
  (nice cmake --build "$dir" -j1 --target "$@" >"$dir/build.log" 2>&1; echo $? >"$dir/build.status") &
}
if configure build-asan-server "${sanitized[@]}" -DZEST_SANITIZE=address,undefined -DZEST_BUILD_TESTS=OFF; then
  background_build build-asan-server zest-server
else
  echo 1 >build-asan-server/build.status
fi
if configure build-tsan "${sanitized[@]}" -DZEST_SANITIZE=thread -DZEST_BUILD_EXAMPLES=OFF; then
  background_build build-tsan "${tsan_targets[@]}"
else
  echo 1 >build-tsan/build.status
fi
if configure_build build-asan "${sanitized[@]}" -DZEST_SANITIZE=address,undefined -DZEST_BUILD_EXAMPLES=OFF; then
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 run_ctest asan build-asan
else
  record "sanitizer build" 1
fi
wait
if [[ $(cat build-asan-server/build.status) -eq 0 ]]; then
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 node tests/server/client_test.mjs \
    --server build-asan-server/examples/zest-server/zest-server --generate build/examples/zest-generate/zest-generate \
    --embed build/examples/zest-embed/zest-embed --encoder tests/data/models/st-bert-mean
  record "zest-server under asan" $?
else
  tail -40 build-asan-server/build.log
  record "zest-server sanitizer build" 1
fi
if [[ $(cat build-tsan/build.status) -eq 0 ]]; then
  (cd build-tsan && TSAN_OPTIONS=halt_on_error=1 ctest --output-on-failure -R "^($(IFS='|'; echo "${tsan_tests[*]}"))\$")
  record "tsan" $?
else
  tail -40 build-tsan/build.log
  record "tsan build" 1
fi

note "3/6 Portable build (-march=x86-64-v2)"
# The suites whose code has ISA-specific paths (half conversion, kernels, the models over them,
# the tokenizer's scanner and cache keys).
portable_targets=(test_tensor test_kernels test_runtime test_models test_encoder test_tokenizer)
portable_tests=(tensor kernels runtime decoder dtypes encoder tokenizer)
if configure build-v2 -DCMAKE_BUILD_TYPE=Release -DZEST_ARCH=x86-64-v2 -DZEST_BUILD_EXAMPLES=OFF -DZEST_BUILD_BENCH=OFF &&
    cmake --build build-v2 -j"$jobs" --target "${portable_targets[@]}"; then
  (cd build-v2 && ctest --output-on-failure -j"$jobs" -R "^($(IFS='|'; echo "${portable_tests[*]}"))\$")
  record "x86-64-v2" $?
else
  record "x86-64-v2 build" 1
fi

note "4/6 CUDA backend (ZEST_CUDA=ON)"
# Its one nvcc translation unit and the tests that drive it; ctest reports the tests as skipped
# (exit 77) on a machine without a GPU, which counts as a pass; a build failure fails. The
# toolkit's default place need not be on PATH.
[[ -x /usr/local/cuda/bin/nvcc ]] && export PATH=$PATH:/usr/local/cuda/bin
if configure build-cuda -DCMAKE_BUILD_TYPE=Release -DZEST_CUDA=ON -DZEST_CUDA_ARCHITECTURES="90;80" -DZEST_BUILD_BENCH=OFF &&
    cmake --build build-cuda -j"$jobs" --target test_cuda zest-generate; then
  (cd build-cuda && ctest --output-on-failure -R "^cuda\$")
  record "cuda" $?
else
  record "cuda build" 1
fi

note "5/6 Consumer projects"
# consumer_build NAME [cmake args...]: configures, builds and runs tests/consumer; its log and exit
# status go to build-consumer/NAME.{log,status}. Each build is one translation unit, so the three run
# side by side.
consumer_build() {
  local name=$1 dir=build-consumer/$1
  shift
  rm -rf "$dir"
  cmake -S tests/consumer -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Release "$@" >"$dir.log" 2>&1 &&
    cmake --build "$dir" >>"$dir.log" 2>&1 &&
    "$dir/hello" "$root/tests/data/fixtures/tiny-llama" | tee -a "$dir.log" | grep -q "^\[40 tokens" &&
    ! ls "$dir"/_deps/zest-build/tests/test_* >/dev/null 2>&1  # a consumer builds none of our tests
  echo $? >"$dir.status"
}
consumer_result() {  # consumer_result NAME
  local status
  status=$(cat "build-consumer/$1.status" 2>/dev/null || echo 1)
  [[ $status -eq 0 ]] && echo "consumer $1: ok" || { cat "build-consumer/$1.log"; echo "consumer $1: FAILED"; }
  record "consumer $1" "$status"
}
mkdir -p build-consumer
rm -rf build-consumer/prefix
consumers=(fetchcontent-source)
consumer_build fetchcontent-source -DZEST_CONSUMER_MODE=fetchcontent -DZEST_SOURCE_DIR="$root" &
if git rev-parse HEAD >/dev/null 2>&1; then
  consumers+=(fetchcontent-git)
  consumer_build fetchcontent-git -DZEST_CONSUMER_MODE=fetchcontent -DZEST_GIT_REPOSITORY="file://$root" \
    -DZEST_GIT_TAG="$(git rev-parse HEAD)" &
fi
if cmake --install build --prefix build-consumer/prefix >build-consumer/install.log 2>&1; then
  consumers+=(find_package)
  consumer_build find_package -DZEST_CONSUMER_MODE=find_package -DCMAKE_PREFIX_PATH="$root/build-consumer/prefix" &
else
  cat build-consumer/install.log
  record "cmake --install" 1
fi
wait
for name in "${consumers[@]}"; do consumer_result "$name"; done
# The README's example is examples/hello/main.cpp, word for word.
if tools/readme_example.sh | diff - examples/hello/main.cpp; then
  echo "README example = examples/hello/main.cpp: ok"
  record readme 0
else
  echo "README example differs from examples/hello/main.cpp"
  record readme 1
fi

note "6/6 Fuzz smoke (${fuzz_seconds}s per target)"
if configure_build build-fuzz -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -gline-tables-only" -DZEST_FUZZ=ON \
    -DZEST_BUILD_TESTS=OFF -DZEST_BUILD_EXAMPLES=OFF -DZEST_BUILD_BENCH=OFF; then
  for source in tests/fuzz/fuzz_*.cpp; do
    target=$(basename "$source" .cpp)
    name=${target#fuzz_}
    corpus=build-fuzz/corpus-$name
    mkdir -p "$corpus"
    seeds=tests/fuzz/corpus/$name
    [[ -d $seeds ]] || seeds=
    if build-fuzz/tests/fuzz/$target -max_total_time="$fuzz_seconds" -artifact_prefix="build-fuzz/crash-$name-" \
        "$corpus" $seeds >"build-fuzz/$name.log" 2>&1; then
      echo "fuzz $name: $(grep -Eo 'Done [0-9]+ runs' "build-fuzz/$name.log" | tail -1), no finding"
      record "fuzz $name" 0
    else
      tail -40 "build-fuzz/$name.log"
      record "fuzz $name" 1
    fi
  done
else
  record "fuzz build" 1
fi

note "Summary ($((SECONDS - stage_start)) s)"
for f in "${failures[@]}"; do echo "FAILED: $f"; done
echo "zest: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
