#!/usr/bin/env bash
# The tokenizer speed table: zest-tokenize --bench beside its peers in the same run, single
# thread, medians of 3 runs, MB/s of the corpus (default: brown.txt), and zest's load time.
#   HF tokenizers 0.23.2 (Node binding, encodeBatch, RAYON_NUM_THREADS=1), kitoken 0.10.1 (WASM),
#   libsentencepiece (Debian; through zest-tokenize on tokenizer.model).
# Then gpt2 on 2 and 4 threads, one shared cache against one cache per thread.
# Usage: bench/peers/tokenizers/run.sh [SHARED_DIR] [ZEST_TOKENIZE] [FILE]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
shared="${1:-$here/../../../../shared}"
zest="${2:-$here/../../../build/examples/zest-tokenize/zest-tokenize}"
file="${3:-$shared/corpora/brown.txt}"
[ -d "$here/node_modules/tokenizers" ] || (cd "$here" && npm i --no-audit --no-fund >/dev/null)
export RAYON_NUM_THREADS=1

median() {  # median of field $1 (load_ms, load_cpu_ms; default mb_s) over three runs of the rest
  local field=mb_s
  if [[ $1 == load_* ]]; then field=$1; shift; fi
  for _ in 1 2 3; do "$@" | tail -1; done |
    node -e 'const v = require("fs").readFileSync(0, "utf8").trim().split("\n").map((l) => JSON.parse(l)[process.argv[1]]).sort((a, b) => a - b); console.log(v[1].toFixed(1))' "$field"
}

lscpu | grep 'Model name' || true
printf '%-20s %-26s %8s\n' tokenizer engine MB/s
for tok in gpt2 bert-base-uncased spm-bpe-8k; do
  dir="$shared/tokenizers/$tok"
  printf '%-20s %-26s %8s\n' "$tok" "zest (cache)" "$(median "$zest" --tokenizer "$dir" --bench "$file")"
  printf '%-20s %-26s %8s\n' "$tok" "zest (no cache)" "$(median "$zest" --tokenizer "$dir" --bench "$file" --no-cache)"
  printf '%-20s %-26s %8s\n' "$tok" "zest (cache, 2 threads)" "$(median "$zest" --tokenizer "$dir" --bench "$file" --threads 2)"
  printf '%-20s %-26s %8s\n' "$tok" "HF tokenizers 0.23.2" "$(median node "$here/peers.js" hf "$dir" "$file")"
  printf '%-20s %-26s %8s\n' "$tok" "kitoken 0.10.1" "$(median node "$here/peers.js" kitoken "$dir" "$file")"
  if [ -f "$dir/tokenizer.model" ]; then
    printf '%-20s %-26s %8s\n' "$tok" "libsentencepiece" "$(median "$zest" --tokenizer "$dir/tokenizer.model" --bench "$file")"
  fi
  printf '%-20s %-26s %8s\n' "$tok" "zest load ms" "$(median load_ms "$zest" --tokenizer "$dir" --bench /dev/null)"
  printf '%-20s %-26s %8s\n' "$tok" "zest load CPU ms" "$(median load_cpu_ms "$zest" --tokenizer "$dir" --bench /dev/null)"
done

# Threads, gpt2: one shared word cache or one cache per thread (--cache-per-thread). With other
# programs on the machine wall time need not scale, so beside the wall MB/s the speedup the
# threads' CPU seconds imply: threads x cpu_seconds(1 thread) / cpu_seconds(n threads).
cpu_s() {  # median cpu_seconds of three runs
  for _ in 1 2 3; do "$@" | tail -1; done |
    node -e 'const v = require("fs").readFileSync(0, "utf8").trim().split("\n").map((l) => JSON.parse(l).cpu_seconds).sort((a, b) => a - b); console.log(v[1])'
}
dir="$shared/tokenizers/gpt2"
one=$(cpu_s "$zest" --tokenizer "$dir" --bench "$file")
printf '\n%-8s %-12s %8s %16s\n' threads cache MB/s "CPU speedup"
for n in 2 4; do
  for mode in shared per-thread; do
    flags=(--threads "$n")
    [ "$mode" = per-thread ] && flags+=(--cache-per-thread)
    printf '%-8s %-12s %8s %16s\n' "$n" "$mode" "$(median "$zest" --tokenizer "$dir" --bench "$file" "${flags[@]}")" \
      "$(node -e "console.log(($n * $one / $(cpu_s "$zest" --tokenizer "$dir" --bench "$file" "${flags[@]}")).toFixed(2))")"
  done
done
