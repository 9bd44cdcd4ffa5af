#!/usr/bin/env bash
# Builds and runs zest's kernel benchmarks (bench/kernels) with OpenBLAS, Eigen and the triad
# bandwidth in the same run, then prints the summary table of bench/README.md from the medians.
# Usage: tools/bench.sh [extra Google Benchmark flags, e.g. --benchmark_filter=gemv]
# Run nothing else meanwhile: on a 2-core machine a compile beside it takes cores from the
# threads measured (ONNX Runtime's 1 x 128 took 304 ms beside two builds, 76-79 ms on a quiet
# machine: bench/peers/onnxruntime/README.md).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${ZEST_BENCH_BUILD:-build-bench}
out=${ZEST_BENCH_OUT:-$build/bench_kernels.json}
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DZEST_BUILD_TESTS=OFF -DZEST_BUILD_EXAMPLES=OFF >/dev/null
cmake --build "$build" --target bench_kernels
lscpu | grep 'Model name' || true
# OpenBLAS does not know this CPU's model; SkylakeX selects its AVX-512 kernels.
OPENBLAS_CORETYPE=SkylakeX "$build/bench/kernels/bench_kernels" \
  --benchmark_repetitions=5 --benchmark_report_aggregates_only=true --benchmark_min_time=0.1 \
  --benchmark_out="$out" --benchmark_out_format=json "$@"
python3 - "$out" <<'PY'
import json, sys
runs = json.load(open(sys.argv[1]))["benchmarks"]
med = {r["run_name"].removesuffix("/real_time"): r for r in runs if r.get("aggregate_name") == "median"}
def rate(name, key):
    r = med.get(name)
    return r[key] / 1e9 if r and key in r else None
def fmt(v, digits=1):
    return "-" if v is None else f"{v:.{digits}f}"
for t in (1, 2):
    tri = rate(f"triad/threads:{t}", "bytes")
    fj = med.get(f"fork_join_empty/threads:{t}")
    omp = med.get(f"fork_join_empty_openmp/threads:{t}")
    peak = rate(f"fma_peak/threads:{t}", "FLOP")
    print(f"threads {t}: triad {fmt(tri)} GB/s, f32 FMA peak {fmt(peak)} GFLOP/s, fork/join of an empty task {fmt(fj and fj['real_time'] * (1e3 if fj['time_unit'] == 'ms' else 1), 3)} us (OpenMP {fmt(omp and omp['real_time'] * (1e3 if omp['time_unit'] == 'ms' else 1), 3)} us)")
print("\nGEMV: weight GB/s (share of the triad), 2 threads | 1 thread")
print("int8: the encoders' scheme (blocks of 128); int8r: the decoders' (blocks of 32, residual activation level)")
print("| shape KxN | f32 | bf16 | f16 | int8 | int8r | OpenBLAS sgemv | int8 / f32 time | int8r / f32 time | bf16 / f32 time |")
print("|---|---|---|---|---|---|---|---|---|---|")
shapes = sorted({n.split("/")[2] for n in med if n.startswith("gemv/")}, key=lambda s: [int(v) for v in s.split("x")])
for s in shapes:
    cells = []
    for f in ("f32", "bf16", "f16", "int8", "int8r", "openblas"):
        parts = []
        for t in (2, 1):
            g, tri = rate(f"gemv/{f}/{s}/threads:{t}", "bytes"), rate(f"triad/threads:{t}", "bytes")
            parts.append(f"{fmt(g)} ({fmt(g and tri and 100 * g / tri, 0)}%)")
        cells.append(" \\| ".join(parts))
    def speed(f):
        a, b = med.get(f"gemv/f32/{s}/threads:2"), med.get(f"gemv/{f}/{s}/threads:2")
        return a and b and a["real_time"] / b["real_time"]
    print(f"| {s} | " + " | ".join(cells) + f" | {fmt(speed('int8'), 2)}x | {fmt(speed('int8r'), 2)}x | {fmt(speed('bf16'), 2)}x |")
print("\nGEMM: GFLOP/s, 2 threads | 1 thread")
print("| shape KxN, M | f32 | bf16 | int8 | int8r | OpenBLAS sgemm | Eigen | f32 / OpenBLAS | int8 / f32 | int8r / f32 |")
print("|---|---|---|---|---|---|---|---|---|---|")
gemms = sorted({tuple(n.split("/")[2:4]) for n in med if n.startswith("gemm/")},
               key=lambda k: ([int(v) for v in k[0].split("x")], int(k[1][2:])))
for s, m in gemms:
    cells = []
    for f in ("f32", "bf16", "int8", "int8r", "openblas", "eigen"):
        cells.append(" \\| ".join(fmt(rate(f"gemm/{f}/{s}/{m}/threads:{t}", "FLOP")) for t in (2, 1)))
    f32, ob, i8, i8r = (rate(f"gemm/{f}/{s}/{m}/threads:2", "FLOP") for f in ("f32", "openblas", "int8", "int8r"))
    print(f"| {s}, {m} | " + " | ".join(cells) + f" | {fmt(f32 and ob and f32 / ob, 2)} | {fmt(f32 and i8 and i8 / f32, 2)} | {fmt(f32 and i8r and i8r / f32, 2)} |")
print("\nDecode attention, 2048-token cache: K+V GB/s (share of the triad), 2 threads | 1 thread")
print("| kernel | 2 threads | 1 thread |")
print("|---|---|---|")
for n in sorted({n.rsplit("/", 1)[0] for n in med if n.startswith("attend_decode/")}):
    parts = []
    for t in (2, 1):
        g, tri = rate(f"{n}/threads:{t}", "bytes"), rate(f"triad/threads:{t}", "bytes")
        parts.append(f"{fmt(g)} ({fmt(g and tri and 100 * g / tri, 0)}%)")
    print(f"| {n} | " + " | ".join(parts) + " |")
PY
