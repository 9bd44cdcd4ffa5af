#!/usr/bin/env bash
# End-to-end generation benchmark: zest-generate on random-weight gpt2-small and llama-small
# (tools/make_bench_models.py), 128-token prompt, 128 new tokens, greedy, every compute dtype on 1
# and 2 threads, with the decode roofline (bytes read per token / triad bandwidth measured in the
# same run) and the peers on the same weights: llama.cpp's llama-bench (F32 / F16 / Q8_0 GGUF, and
# Q4_0 / Q4_K_M made by its llama-quantize, when the kit in ../shared/peers is there) and PyTorch
# eager (bench/peers/pytorch/generate.py).
# Prints a markdown report on stdout; progress and logs go to stderr; raw JSON to $DIR/results/.
#
# Usage: bench/e2e/run.sh          (run nothing else meanwhile; a full run takes about 20 minutes, most of it PyTorch without a cache)
# Environment (defaults in brackets):
#   ZEST_E2E_DIR      build folder, models, GGUF files and results [build-e2e]
#   ZEST_E2E_REPS     runs per configuration, medians reported [5]
#   ZEST_E2E_PROMPT   prompt tokens [128]        ZEST_E2E_NEW  new tokens [128]
#   ZEST_E2E_THREADS  thread counts [1 2]        ZEST_E2E_DTYPES  zest dtypes [f32 bf16 f16 int8 int4]
#   ZEST_E2E_MODELS   [gpt2-small llama-small]; llama-1b (4.4 GB of f32) is the model larger than the L3
#   ZEST_E2E_PEERS    the peer kit [../shared/peers, beside the repository]; "none" skips llama.cpp
#   ZEST_E2E_TORCH    1 runs the PyTorch peer on gpt2-small, 0 skips it [1]
#   ZEST_E2E_TORCH_REPS  runs per PyTorch configuration [ZEST_E2E_REPS]
#   ZEST_E2E_PYTHON   a Python with torch and numpy [/usr/bin/python3]
# Smoke run: ZEST_E2E_REPS=1 ZEST_E2E_NEW=8 ZEST_E2E_PROMPT=16 bench/e2e/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
dir=${ZEST_E2E_DIR:-build-e2e}
py=${ZEST_E2E_PYTHON:-/usr/bin/python3}
peers=${ZEST_E2E_PEERS:-$root/../shared/peers}
models=${ZEST_E2E_MODELS:-gpt2-small llama-small}

die() { echo "bench/e2e/run.sh: $*" >&2; exit 1; }
log() { echo "[e2e] $*" >&2; }

"$py" -c 'import torch, numpy' 2>/dev/null || die "$py lacks torch or numpy (set ZEST_E2E_PYTHON to Debian's /usr/bin/python3)"
command -v cmake >/dev/null || die "cmake not found (tools/setup.sh installs it)"

log "building zest-generate and bench_kernels in $dir (Release, -march=native)"
cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DZEST_NATIVE=ON -DZEST_BUILD_TESTS=OFF \
  -DZEST_BUILD_EXAMPLES=ON -DZEST_BUILD_BENCH=ON >&2 || die "cmake configure failed"
cmake --build "$dir" --target zest-generate bench_kernels >&2 || die "build failed"
gen=$dir/examples/zest-generate/zest-generate
kernels=$dir/bench/kernels/bench_kernels
[ -x "$gen" ] || die "$gen was not built"
[ -x "$kernels" ] || die "$kernels was not built"

. bench/models.sh
bench_models "$dir" "$py" $models

# llama.cpp: the kit builds llama-bench (at once when already built) and converts the same weights.
llama_bench=
if [ "$peers" = none ]; then
  log "llama.cpp skipped (ZEST_E2E_PEERS=none)"
elif [ ! -x "$peers/setup.sh" ] || [ ! -f "$peers/to_gguf.py" ]; then
  log "llama.cpp skipped: no peer kit at $peers (setup.sh, to_gguf.py)"
else
  llama_bench=$("$peers/setup.sh" | tail -n 1) || die "$peers/setup.sh failed"
  [ -x "$llama_bench" ] || die "$peers/setup.sh printed '$llama_bench', not an executable llama-bench"
  # On an AMX machine the kit's -march=native build takes ggml's AMX path for Q8_0, which dies of
  # SIGILL here (tileloadd in a worker thread that never loaded a tile configuration): build
  # llama-bench again from the same source without AMX, so Q8_0 runs ggml's AVX-512 VNNI kernels.
  if grep -qw amx_int8 /proc/cpuinfo; then
    src=$(cd "$(dirname "$llama_bench")/../.." && pwd)
    if [ ! -x "$src/build-noamx/bin/llama-bench" ]; then
      log "building llama-bench without AMX in $src/build-noamx"
      noamx="-mno-amx-tile -mno-amx-int8 -mno-amx-bf16"
      cmake -S "$src" -B "$src/build-noamx" -G Ninja -DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=ON -DLLAMA_CURL=OFF \
        -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF \
        -DCMAKE_C_FLAGS="$noamx" -DCMAKE_CXX_FLAGS="$noamx" >&2 || die "llama.cpp configure without AMX failed"
      cmake --build "$src/build-noamx" --target llama-bench >&2 || die "llama.cpp build without AMX failed"
    fi
    llama_bench=$src/build-noamx/bin/llama-bench
  fi
  bench_ggufs "$dir" "$py" "$peers" $models
  case " ${ZEST_E2E_DTYPES:-int4} " in
    *" int4 "*) bench_quantized "$dir" "$(peer_tool "$peers" llama-quantize)" $models ;;
  esac
fi

export ZEST_E2E_GEN=$gen ZEST_E2E_KERNELS=$kernels ZEST_E2E_LLAMA_BENCH=$llama_bench ZEST_E2E_ROOT=$root
export ZEST_E2E_MODELS_DIR=$dir/models ZEST_E2E_GGUF_DIR=$dir/gguf ZEST_E2E_RESULTS=$dir/results
export ZEST_E2E_MODEL_LIST=$models ZEST_E2E_PYTHON=$py
exec "$py" bench/e2e/measure.py
