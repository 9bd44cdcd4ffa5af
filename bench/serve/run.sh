#!/usr/bin/env bash
# Serving benchmark: N concurrent streams (1, 2, 4, 8, 16, 32, 64) of 128-token prompts and 128 new
# tokens submitted at once to one zest::Engine (zest-generate --parallel N --json), greedy, on 2
# threads, on random-weight gpt2-small and llama-small (tools/make_bench_models.py): aggregate
# decode tok/s, time to first token and inter-token latency (p50 / p99) per N; and the time to
# first token of a prompt whose 1,000-token prefix is in the prefix cache (bench_prefix_cache)
# against the same prompt computed whole. Peer in the same
# run, on the same weights: llama.cpp's llama-batched-bench (-npp 128 -ntg 128 -npl ...), F32 for
# f32, F16 for bf16, Q8_0 for int8. Prints a markdown report on stdout; logs go to stderr; raw
# JSON to $DIR/results/.
#
# Usage: bench/serve/run.sh        (run nothing else meanwhile; about 15 minutes)
# Environment (defaults in brackets):
#   ZEST_SERVE_DIR      build folder, models, GGUF files and results [build-serve]
#   ZEST_SERVE_REPS     runs per configuration, medians reported [3]
#   ZEST_SERVE_N        concurrent streams [1 2 4 8 16 32 64]
#   ZEST_SERVE_DTYPES   zest dtypes [f32 bf16 int8]       ZEST_SERVE_MODELS [gpt2-small llama-small]
#   ZEST_SERVE_THREADS  [2]      ZEST_SERVE_PROMPT [128]  ZEST_SERVE_NEW [128]
#   ZEST_SERVE_PEERS    the peer kit [../shared/peers, beside the repository]; "none" skips llama.cpp
#   ZEST_SERVE_PYTHON   a Python with torch and numpy, for the models [/usr/bin/python3]
# Smoke run: ZEST_SERVE_REPS=1 ZEST_SERVE_N="1 4" ZEST_SERVE_NEW=16 ZEST_SERVE_DTYPES=int8 bench/serve/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
dir=${ZEST_SERVE_DIR:-build-serve}
py=${ZEST_SERVE_PYTHON:-/usr/bin/python3}
peers=${ZEST_SERVE_PEERS:-$root/../shared/peers}
models=${ZEST_SERVE_MODELS:-gpt2-small llama-small}

die() { echo "bench/serve/run.sh: $*" >&2; exit 1; }
log() { echo "[serve] $*" >&2; }

log "building zest-generate and bench_prefix_cache in $dir (Release, -march=native)"
cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DZEST_NATIVE=ON -DZEST_BUILD_TESTS=OFF \
  -DZEST_BUILD_EXAMPLES=ON -DZEST_BUILD_BENCH=ON >&2 || die "cmake configure failed"
cmake --build "$dir" --target zest-generate bench_prefix_cache >&2 || die "build failed"
gen=$dir/examples/zest-generate/zest-generate

. bench/models.sh
bench_models "$dir" "$py" $models

batched=$(peer_tool "$peers" llama-batched-bench)
[ -z "$batched" ] || bench_ggufs "$dir" "$py" "$peers" $models

export ZEST_SERVE_GEN=$gen ZEST_SERVE_PREFIX=$dir/bench/serve/bench_prefix_cache ZEST_SERVE_BATCHED=$batched ZEST_SERVE_ROOT=$root
export ZEST_SERVE_MODELS_DIR=$dir/models ZEST_SERVE_GGUF_DIR=$dir/gguf ZEST_SERVE_RESULTS=$dir/results
export ZEST_SERVE_MODEL_LIST=$models
exec python3 bench/serve/measure.py
