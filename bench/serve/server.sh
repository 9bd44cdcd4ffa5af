#!/usr/bin/env bash
# HTTP serving benchmark: zest-server and llama.cpp's llama-server on loopback, each under a bounded
# load of N concurrent streaming clients (1, 4, 16, 64; bench/serve/load.mjs), each client sending
# ROUNDS requests one after the other: a 128-token prompt (token ids: the random-weight models have
# no chat template) for 128 new tokens (ignore_eos), greedy, on 2 threads. Reports aggregate
# generated tok/s, requests/s, time to first token and inter-token latency (p50 / p99), errors (must
# be 0) and the server's peak RSS. Models: random-weight gpt2-small and llama-small
# (tools/make_bench_models.py); llama-server runs the same weights as GGUF (int8 <-> Q8_0,
# f32 <-> F32) with --parallel N --cont-batching. Prints a markdown table on stdout; logs go to
# stderr; raw JSON lines to $DIR/results/.
#
# Usage: bench/serve/server.sh        (run nothing else meanwhile)
# Environment (defaults in brackets):
#   ZEST_SERVE_DIR      build folder, models, GGUF files and results [build-serve]
#   ZEST_SERVE_N        concurrent clients [1 4 16 64]     ZEST_SERVE_ROUNDS requests per client [4]
#   ZEST_SERVE_DTYPES   zest dtypes [int8 f32]             ZEST_SERVE_MODELS [gpt2-small llama-small]
#   ZEST_SERVE_THREADS  [2]      ZEST_SERVE_PROMPT [128]  ZEST_SERVE_NEW [128]
#   ZEST_SERVE_PEERS    the peer kit [../shared/peers, beside the repository]; "none" skips llama-server
#   ZEST_SERVE_PYTHON   a Python with torch and numpy, for the models [/usr/bin/python3]
# Smoke run: ZEST_SERVE_N="1 4" ZEST_SERVE_ROUNDS=1 ZEST_SERVE_NEW=16 ZEST_SERVE_DTYPES=int8 \
#   ZEST_SERVE_MODELS=llama-small bench/serve/server.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
dir=${ZEST_SERVE_DIR:-build-serve}
py=${ZEST_SERVE_PYTHON:-/usr/bin/python3}
peers=${ZEST_SERVE_PEERS:-$root/../shared/peers}
models=${ZEST_SERVE_MODELS:-gpt2-small llama-small}
ns=${ZEST_SERVE_N:-1 4 16 64}
rounds=${ZEST_SERVE_ROUNDS:-4}
dtypes=${ZEST_SERVE_DTYPES:-int8 f32}
threads=${ZEST_SERVE_THREADS:-2}
prompt=${ZEST_SERVE_PROMPT:-128}
new=${ZEST_SERVE_NEW:-128}
declare -A gguf_type=([f32]=f32 [bf16]=f16 [f16]=f16 [int8]=q8_0)

die() { echo "bench/serve/server.sh: $*" >&2; exit 1; }
log() { echo "[server] $*" >&2; }

log "building zest-server and zest-generate in $dir (Release, -march=native)"
cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DZEST_NATIVE=ON -DZEST_BUILD_TESTS=OFF \
  -DZEST_BUILD_EXAMPLES=ON -DZEST_BUILD_BENCH=OFF >&2 || die "cmake configure failed"
cmake --build "$dir" --target zest-server zest-generate >&2 || die "build failed"
zest_server=$dir/examples/zest-server/zest-server

. bench/models.sh
bench_models "$dir" "$py" $models
llama_server=$(peer_tool "$peers" llama-server)
[ -z "$llama_server" ] || bench_ggufs "$dir" "$py" "$peers" $models

free_port() { node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })'; }

# serve NAME PORT COMMAND...: starts a server, waits for its /health, leaves its pid in $server_pid.
serve() {
  local name=$1 port=$2
  shift 2
  "$@" >"$dir/results/$name.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 600); do
    curl -sf "http://127.0.0.1:$port/health" >/dev/null && return 0
    kill -0 "$server_pid" 2>/dev/null || { cat "$dir/results/$name.log" >&2; die "$name exited"; }
    sleep 0.1
  done
  die "$name did not become ready"
}

# measure PORT N: the load's JSON line with the server's peak RSS added, in $result; then stops the server.
measure() {
  local port=$1 n=$2 out rss
  out=$(node bench/serve/load.mjs --url "http://127.0.0.1:$port" --concurrency "$n" --requests $((n * rounds)) \
    --prompt-ids "$ids" --max-tokens "$new")
  rss=$(awk '/^VmHWM/ { print $2 / 1024 }' "/proc/$server_pid/status")
  kill -TERM "$server_pid"
  wait "$server_pid" || true
  result=$(node -e 'const r = JSON.parse(process.argv[1]); r.rss_mib = Number(process.argv[2]); console.log(JSON.stringify(r))' "$out" "$rss")
}

field() { node -e 'const r = JSON.parse(process.argv[1]); const v = r[process.argv[2]]; console.log(Number.isInteger(v) ? v : v.toFixed(process.argv[3] ?? 1))' "$@"; }

lscpu_line=$(lscpu | awk -F: '/^Model name/ { gsub(/^ +/, "", $2); print $2 }')
echo "# zest-server HTTP serving benchmark"
echo
echo "Machine: $lscpu_line, $(nproc) CPUs. ${prompt}-token prompts (ids) for ${new} new tokens, streamed, greedy,"
echo "ignore_eos; $rounds requests per client; $threads threads. zest: \`zest-server --dtype D --threads $threads --max-batch N\`;"
echo "llama.cpp: \`llama-server -t $threads --parallel N --cont-batching\`. Client: bench/serve/load.mjs."
echo
echo "| model | dtype | N | zest tok/s | req/s | TTFT p50 / p99 ms | ITL p50 / p99 ms | errors | RSS MiB | llama.cpp | tok/s | TTFT p50 / p99 ms | errors | RSS MiB | zest / llama.cpp |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
results=$dir/results/server-$(date +%Y%m%d-%H%M%S).jsonl
for model in $models; do
  ids=$(node -e 'const v = JSON.parse(require("fs").readFileSync(process.argv[1])).vocab_size; let s = 1234; const ids = [];
    for (let i = 0; i < Number(process.argv[2]); i++) { s = (s * 1103515245 + 12345) % 2147483648; ids.push(3 + (s % (v - 3))); }
    console.log(ids.join(","))' "$dir/models/$model/config.json" "$prompt")
  kv_per_position=$("$dir/examples/zest-generate/zest-generate" --model "$dir/models/$model" --prompt-ids 1 --max-new-tokens 1 --json |
    node -e 'let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => console.log(JSON.parse(s.trim().split("\n").pop()).kv_bytes_per_position))')
  for dtype in $dtypes; do
    for n in $ns; do
      log "$model $dtype N=$n zest-server"
      port=$(free_port)
      kv_mib=$(( (n * (prompt + new + 64) * kv_per_position >> 20) + 1 ))
      serve zest-server "$port" "$zest_server" --model "$dir/models/$model" --dtype "$dtype" --threads "$threads" \
        --max-batch "$n" --kv-cache-mib "$kv_mib" --port "$port"
      measure "$port" "$n"
      z=$result
      echo "{\"server\":\"zest\",\"model\":\"$model\",\"dtype\":\"$dtype\",\"result\":$z}" >>"$results"
      peer="- | - | - | - | - | -"
      if [ -n "$llama_server" ]; then
        log "$model $dtype N=$n llama-server"
        port=$(free_port)
        serve llama-server "$port" "$llama_server" -m "$dir/gguf/$model-${gguf_type[$dtype]}.gguf" -t "$threads" -tb "$threads" \
          --parallel "$n" --cont-batching -c $((n * (prompt + new + 16))) --host 127.0.0.1 --port "$port"
        measure "$port" "$n"
        l=$result
        echo "{\"server\":\"llama\",\"model\":\"$model\",\"dtype\":\"$dtype\",\"result\":$l}" >>"$results"
        ratio=$(node -e 'console.log((JSON.parse(process.argv[1]).tok_s / JSON.parse(process.argv[2]).tok_s).toFixed(2))' "$z" "$l")
        peer="${gguf_type[$dtype]^^} | $(field "$l" tok_s) | $(field "$l" ttft_ms_p50) / $(field "$l" ttft_ms_p99) | $(field "$l" errors) | $(field "$l" rss_mib 0) | $ratio"
      fi
      echo "| $model | $dtype | $n | $(field "$z" tok_s) | $(field "$z" req_s 2) | $(field "$z" ttft_ms_p50) / $(field "$z" ttft_ms_p99) |" \
        "$(field "$z" itl_ms_p50 2) / $(field "$z" itl_ms_p99 2) | $(field "$z" errors) | $(field "$z" rss_mib 0) | $peer |"
    done
  done
done
log "raw results in $results"
