#!/usr/bin/env bash
# Where a decode step's time goes: perf samples (cpu-clock, which works without hardware
# counters) of zest-generate's decode phase only, grouped into matmul (the weight streams),
# attention, thread-pool waiting and the rest, as shares of all samples on all threads.
#
# Usage: bench/e2e/profile.sh MODEL_DIR [DTYPE (f32)] [THREADS (2)] [NEW_TOKENS (256)]
# Needs perf (tools/setup.sh --dev) and a built zest-generate (bench/e2e/run.sh builds one in
# build-e2e; ZEST_GENERATE overrides its path).
set -euo pipefail
cd "$(dirname "$0")/../.."
model=${1:?usage: bench/e2e/profile.sh MODEL_DIR [DTYPE] [THREADS] [NEW_TOKENS]}
dtype=${2:-f32}
threads=${3:-2}
new=${4:-256}
gen=${ZEST_GENERATE:-build-e2e/examples/zest-generate/zest-generate}
[[ -x $gen ]] || { echo "bench/e2e/profile.sh: no $gen (run bench/e2e/run.sh, or set ZEST_GENERATE)" >&2; exit 1; }
command -v perf >/dev/null || { echo "bench/e2e/profile.sh: perf not found (tools/setup.sh --dev)" >&2; exit 1; }

ids=$(seq 1 128 | paste -sd,)
args=(--model "$model" --prompt-ids "$ids" --ignore-eos --greedy --threads "$threads" --dtype "$dtype" --json)
# A first run times loading and the prompt, so that perf starts sampling after them.
start_ms=$("$gen" "${args[@]}" --max-new-tokens 1 | tail -1 |
  python3 -c 'import json, sys; d = json.load(sys.stdin); print(int(1000 * (d["load_s"] + 2 * d["prompt_tokens"] / d["prefill_tok_s"])) + 300)')
data=$(mktemp)
trap 'rm -f "$data"' EXIT
perf record -q -e cpu-clock -D "$start_ms" -o "$data" "$gen" "${args[@]}" --max-new-tokens "$new" >/dev/null 2>&1
perf report -i "$data" --no-children --sort symbol --percent-limit 0 --stdio 2>/dev/null |
  python3 -c '
import re, sys
groups = {"matmul (weights)": 0.0, "attention": 0.0, "waiting and waking (thread pool, kernel)": 0.0, "other": 0.0}
top = []
for line in sys.stdin:
    m = re.match(r"\s*([0-9.]+)%\s+\[(.)\]\s+(.*)", line)
    if not m:
        continue
    share, symbol = float(m.group(1)), m.group(3).strip()
    top.append((share, symbol))
    if re.search(r"ThreadPool|sched|futex|switch|yield|syscall|spin", symbol) or m.group(2) == "k":
        groups["waiting and waking (thread pool, kernel)"] += share
    elif re.search(r"matmul|float_tile|for_each_block_and_panel|int8_tile|bf16_dot", symbol):
        groups["matmul (weights)"] += share
    elif re.search(r"attend", symbol):
        groups["attention"] += share
    else:
        groups["other"] += share
print("| share of decode samples | % |\n|---|---|")
for name, share in groups.items():
    print(f"| {name} | {share:.1f} |")
print("\nTop symbols:")
for share, symbol in top[:8]:
    print(f"  {share:5.1f}%  {symbol[:110]}")
'
