#!/usr/bin/env bash
# The CUDA backend's check (issue 23), for a machine with an NVIDIA GPU (about 8 minutes on an H200):
#   1. builds test_cuda and zest-generate with ZEST_CUDA=ON; where the machine lacks zest's Debian
#      packages it unpacks those tools/gpu-deps.sh downloaded into .gpu-deps/ (or --bundled-deps)
#   2. runs the CUDA tests (parity with the CPU f32 path)
#   3. makes the benchmark models (tools/make_bench_models.py llama-1b and gpt2-small, bf16)
#   4. measures, in the same run, the GPU's ceilings (copy, read, bf16 GEMM through PyTorch), zest,
#      and the peer: Hugging Face transformers, eager and with the static cache compiled
#   5. prints one markdown table (bench/cuda/report.py), also written with every log to the
#      results folder: $OUT where set (the device tool), else build-gpu/results
# Without a GPU it stops after the tests' skip line, saying so. Exits non-zero when a step fails.
# usage: tools/gpu-check.sh [--bundled-deps]
#   env: ZEST_CUDA_ARCHITECTURES (default 90), PYTHON (a python3 with PyTorch; transformers for the peer)
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
build=$root/build-gpu
results=${OUT:-$build/results}
mkdir -p "$build" "$results"
status=0
step() { printf '\n== %s (at %d s)\n' "$*" "$SECONDS"; }
fail() { echo "gpu-check: $*" >&2; status=1; }

bundled=0
[[ ${1:-} == --bundled-deps ]] && bundled=1
if [[ -z ${PYTHON:-} ]]; then
  PYTHON=python3
  "$PYTHON" -c "import torch" 2>/dev/null || PYTHON=/usr/bin/python3
fi

step "GPU"
gpu=$(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null | head -1)
echo "${gpu:-no GPU (nvidia-smi found none)}"
echo "commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown), $(date -u '+%Y-%m-%d %H:%M UTC')" | tee "$results/when.txt"

step "1. build (ZEST_CUDA=ON)"
cmake_args=()
have_packages() {
  pkg-config --exists libutf8proc sentencepiece libpcre2-8 2>/dev/null &&
    [[ -d /usr/include/xsimd && -f /usr/include/nlohmann/json.hpp && -d /usr/include/CLI && -d /usr/include/doctest ]]
}
if [[ $bundled -eq 1 ]] || ! have_packages; then
  ls .gpu-deps/*.deb >/dev/null 2>&1 || { echo "gpu-check: zest's packages are missing and .gpu-deps/ is empty (run tools/gpu-deps.sh where apt works)"; exit 1; }
  deps=$build/deps
  rm -rf "$deps"
  for deb in .gpu-deps/*.deb; do dpkg-deb -x "$deb" "$deps" || exit 1; done
  lib=$deps/usr/lib/x86_64-linux-gnu
  export PKG_CONFIG_LIBDIR=$lib/pkgconfig:$deps/usr/share/pkgconfig PKG_CONFIG_SYSROOT_DIR=$deps
  export LD_LIBRARY_PATH=$lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
  command -v pkg-config >/dev/null || export PKG_CONFIG=$deps/usr/bin/pkgconf
  # Only the unpacked packages: no fallback to a system copy that might differ.
  cmake_args+=(-DCMAKE_PREFIX_PATH="$deps/usr" -DCMAKE_FIND_USE_CMAKE_SYSTEM_PATH=OFF)
  echo "using the Debian packages unpacked from .gpu-deps/ into $deps"
fi
export PATH=$PATH:/usr/local/cuda/bin
if ! cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DZEST_CUDA=ON \
    -DZEST_CUDA_ARCHITECTURES="${ZEST_CUDA_ARCHITECTURES:-90}" -DZEST_BUILD_BENCH=OFF -DZEST_BUILD_SERVER=OFF \
    "${cmake_args[@]}" >"$results/configure.log" 2>&1; then
  tail -30 "$results/configure.log"
  echo "gpu-check: configure failed"
  exit 1
fi
if ! cmake --build "$build" -j"$(nproc)" --target test_cuda zest-generate >"$results/build.log" 2>&1; then
  grep -E -m 20 "error|Error" "$results/build.log"
  tail -20 "$results/build.log"
  echo "gpu-check: build failed"
  exit 1
fi
echo "built in $SECONDS s"

step "2. CUDA tests"
"$build/tests/cuda/test_cuda" >"$results/test_cuda.log" 2>&1
tests=$?
tail -25 "$results/test_cuda.log"
echo "$tests" >"$results/test_cuda.status"
if [[ $tests -eq 77 || -z $gpu ]]; then
  echo "gpu-check: no GPU here: stopping before the benchmarks (exit status of test_cuda: $tests)"
  exit "$status"
fi
[[ $tests -eq 0 ]] || fail "CUDA tests failed (exit status $tests)"

step "3. benchmark models"
models=$build/models
mkdir -p "$models"
for m in llama-1b gpt2-small; do
  [[ -f $models/$m/model.safetensors ]] ||
    "$PYTHON" tools/make_bench_models.py "$m" --out "$models/$m" --dtype bf16 || fail "make_bench_models.py $m"
done
# Prompts: 128 tokens for decode, 512 for prefill, the same ids for zest and transformers.
for m in llama-1b gpt2-small; do
  for n in 128 512; do
    "$PYTHON" -c "import sys; v, n = int(sys.argv[1]), int(sys.argv[2]); print(','.join(str(100 + i * 7919 % (v - 200)) for i in range(n)))" \
      "$(sed -nE 's/.*"(vocab_size)": ([0-9]+).*/\2/p' "$models/$m/config.json")" "$n" >"$models/$m/ids-$n.txt"
  done
done

step "4. ceilings, zest, transformers"
peer=bench/cuda/hf_peer.py
timeout 120 "$PYTHON" $peer ceilings >"$results/ceilings.json" 2>"$results/ceilings.log" || fail "ceilings"
cat "$results/ceilings.json"
gen=$build/examples/zest-generate/zest-generate
# zest NAME MODEL IDS ARGS...: one zest-generate --json run on the GPU, its JSON in NAME.json.
zest() {
  local name=$1 m=$2 ids=$3
  shift 3
  timeout 180 "$gen" --model "$models/$m" --prompt-ids "$(cat "$models/$m/ids-$ids.txt")" --greedy --ignore-eos \
    --device cuda --json "$@" >"$results/$name.json" 2>"$results/$name.log" || { fail "zest $name"; tail -5 "$results/$name.log"; }
  echo "$name: $(head -c 300 "$results/$name.json")"
}
for r in 1 2 3; do zest "llama-1b-bf16-decode-$r" llama-1b 128 --dtype bf16 --max-new-tokens 256; done
zest llama-1b-bf16-prefill llama-1b 512 --dtype bf16 --max-new-tokens 1
zest llama-1b-int8-decode llama-1b 128 --dtype int8 --max-new-tokens 256
zest llama-1b-bf16-parallel-1 llama-1b 128 --dtype bf16 --max-new-tokens 256 --parallel 1
zest llama-1b-bf16-parallel-64 llama-1b 128 --dtype bf16 --max-new-tokens 256 --parallel 64
zest gpt2-small-bf16-decode gpt2-small 128 --dtype bf16 --max-new-tokens 256
# hf NAME MODEL MODE [ARGS...]: transformers on the same directory and ids.
hf() {
  local name=$1 m=$2 mode=$3
  shift 3
  timeout 300 "$PYTHON" $peer generate --model "$models/$m" --ids "$models/$m/ids-128.txt" --new-tokens 256 \
    --mode "$mode" "$@" >"$results/$name.json" 2>"$results/$name.log" || fail "transformers $name"
  echo "$name: $(head -c 300 "$results/$name.json")"
}
hf hf-llama-1b-eager llama-1b eager --repeats 2 --prefill-ids "$models/llama-1b/ids-512.txt"
hf hf-llama-1b-static llama-1b static --repeats 2
hf hf-gpt2-small-eager gpt2-small eager --repeats 2

step "5. table"
"$PYTHON" bench/cuda/report.py "$results" "$models" "$gpu" | tee "$results/gpu-check.md"
echo "tools/gpu-check.sh: $SECONDS s, status $status"
exit "$status"
