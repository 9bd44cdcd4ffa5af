#!/usr/bin/env bash
# The deploy example (examples/zest-server/deploy/nginx.conf) on loopback: two zest-server replicas
# and nginx (run as this user, from a prefix in a temporary folder), the openai client suite
# through nginx, then each replica's /metrics must show that it answered generations.
#   tests/server/nginx_test.sh ZEST_SERVER ZEST_GENERATE
set -euo pipefail
server=$1 generate=$2
here=$(cd "$(dirname "$0")" && pwd)
prefix=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$prefix"
}
trap cleanup EXIT

free_port() { node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })'; }

# start_replica N: a replica on a free port; its URL in $prefix/replica-N.url.
start_replica() {
  "$server" --port 0 --threads 1 2>"$prefix/replica-$1.log" &
  pids+=($!)
  for _ in $(seq 200); do
    grep -o 'http://127.0.0.1:[0-9]*' "$prefix/replica-$1.log" >"$prefix/replica-$1.url" && return 0
    sleep 0.05
  done
  cat "$prefix/replica-$1.log"
  return 1
}
start_replica 1
start_replica 2
port=$(free_port)
one=$(sed 's|http://||' "$prefix/replica-1.url") two=$(sed 's|http://||' "$prefix/replica-2.url")
mkdir -p "$prefix/tmp"
sed -e "s|127.0.0.1:8081|$one|" -e "s|127.0.0.1:8082|$two|" -e "s|listen 127.0.0.1:8080|listen 127.0.0.1:$port|" \
  "$here/../../examples/zest-server/deploy/nginx.conf" >"$prefix/nginx.conf"
globals='daemon off;'
[[ $(id -u) -ne 0 ]] || globals+=' user root;'  # as root, nginx's workers would otherwise run as nobody
nginx -e stderr -p "$prefix" -c "$prefix/nginx.conf" -g "$globals" &
pids+=($!)
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.05; done

# The suite twice: least_conn shares sequential requests out between idle replicas.
node "$here/client_test.mjs" --url "http://127.0.0.1:$port" --generate "$generate"
node "$here/client_test.mjs" --url "http://127.0.0.1:$port" --generate "$generate"

status=0
for n in 1 2; do
  served=$(curl -sf "$(cat "$prefix/replica-$n.url")/metrics" | awk '/^zest_requests_total\{endpoint="\/v1\/(chat\/)?completions",status="200"\}/ { s += $2 } END { print s + 0 }')
  echo "replica $n answered $served generations"
  [[ $served -gt 0 ]] || status=1
done
[[ $status -eq 0 ]] && echo "nginx deploy test: passed" || echo "nginx deploy test: FAILED (a replica served nothing)"
exit $status
