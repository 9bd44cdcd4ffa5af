#!/usr/bin/env bash
# The encoder speed table: zest (bench_encoder) and ONNX Runtime (onnxruntime-node, fp32) on the
# same bert-base-shaped random weights, 1 x 128 latency and 8 x 128 throughput, in alternating
# rounds of the same run; medians of every repetition. From the repository root:
#   bench/peers/onnxruntime/run.sh [BUILD_DIR (default build)] [THREADS (default 2)] [ROUNDS (default 2)]
# Installs onnxruntime-node into bench/peers/onnxruntime/node_modules and writes the model (about
# 900 MB) into bench/peers/onnxruntime/work, both ignored by git; needs Debian's torch
# (/usr/bin/python3) for the export and node for the runner.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
build=${1:-build}
threads=${2:-2}
rounds=${3:-2}
reps=5

[ -d "$here/node_modules/onnxruntime-node" ] || (cd "$here" && npm install --ignore-scripts --no-audit --no-fund >&2)
/usr/bin/python3 "$here/make_bert_base.py" "$here/work" >&2
[ -f "$root/$build/build.ninja" ] || [ -f "$root/$build/Makefile" ] || cmake -S "$root" -B "$root/$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >&2
cmake --build "$root/$build" --target bench_encoder -j2 >&2

samples=$(mktemp)
for round in $(seq "$rounds"); do
  echo "round $round/$rounds: onnxruntime" >&2
  NODE_PATH="$here/node_modules" node "$here/run_ort.js" "$here/work/bert-base.onnx" "$threads" "$reps" 1x128 8x128 >>"$samples"
  echo "round $round/$rounds: zest" >&2
  ZEST_BENCH_BERT="$here/work/bert-base" ZEST_BENCH_THREADS="$threads" "$root/$build/bench/encoder/bench_encoder" \
    --benchmark_repetitions=$reps --benchmark_min_time=0.01 --benchmark_format=json 2>/dev/null |
    python3 -c '
import json, sys
for b in json.load(sys.stdin)["benchmarks"]:
    if b.get("run_type") != "iteration": continue
    name, batch, length = b["run_name"].split("/")[1:4]
    ms = b["real_time"] * {"ms": 1, "us": 1e-3, "ns": 1e-6, "s": 1e3}[b["time_unit"]]
    print(json.dumps({"peer": "zest " + name, "batch": int(batch), "len": int(length), "ms": ms}))' >>"$samples"
done

python3 - "$samples" "$threads" <<'PY'
import json, statistics, subprocess, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
ms = {}
for r in rows:
    if "median_ms" in r:  # the ORT runner reports a median per call: count it once per repetition
        ms.setdefault((r["peer"], r["batch"]), []).extend([r["median_ms"]] * r["reps"])
    else:
        ms.setdefault((r["peer"], r["batch"]), []).append(r["ms"])
med = {k: statistics.median(v) for k, v in ms.items()}
ort = next(p for p, _ in med if p.startswith("onnxruntime"))
cpu = subprocess.run("lscpu | grep 'Model name'", shell=True, capture_output=True, text=True).stdout.split(":", 1)[-1].strip()
print(f"bert-base shape (12 layers, 768 wide, random f32 weights), sequence length 128, {sys.argv[2]} threads; CPU: {cpu}")
print()
print("| engine | 1x128 latency (ms) | vs ORT | 8x128 throughput (seq/s) | vs ORT |")
print("|---|---|---|---|---|")
for peer in [ort] + sorted({p for p, _ in med if p != ort and (p, 1) in med}):
    lat, thr = med[(peer, 1)], 8000.0 / med[(peer, 8)]
    print(f"| {peer} | {lat:.1f} | {lat / med[(ort, 1)]:.2f}x | {thr:.2f} | {thr / (8000.0 / med[(ort, 8)]):.2f}x |")
print()
print("samples per cell:", {f"{p} {b}x128": len(v) for (p, b), v in sorted(ms.items())})
PY
rm -f "$samples"
