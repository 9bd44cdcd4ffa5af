"""The serving benchmark's measurements (bench/serve/run.sh sets the environment): for each model,
dtype pair and stream count N, zest-generate --parallel N --json and llama-batched-bench, medians
of ZEST_SERVE_REPS runs, as a markdown report."""
import json
import os
import random
import statistics
import subprocess
import sys
import time

env = os.environ
GEN, PREFIX, BATCHED = env["ZEST_SERVE_GEN"], env["ZEST_SERVE_PREFIX"], env.get("ZEST_SERVE_BATCHED", "")
MODELS_DIR, GGUF_DIR, RESULTS = env["ZEST_SERVE_MODELS_DIR"], env["ZEST_SERVE_GGUF_DIR"], env["ZEST_SERVE_RESULTS"]
MODELS = env["ZEST_SERVE_MODEL_LIST"].split()
REPS = int(env.get("ZEST_SERVE_REPS", "3"))
NS = [int(n) for n in env.get("ZEST_SERVE_N", "1 2 4 8 16 32 64").split()]
DTYPES = env.get("ZEST_SERVE_DTYPES", "f32 bf16 int8").split()
THREADS = int(env.get("ZEST_SERVE_THREADS", "2"))
PROMPT, NEW = int(env.get("ZEST_SERVE_PROMPT", "128")), int(env.get("ZEST_SERVE_NEW", "128"))
GGUF_TYPE = {"f32": "f32", "bf16": "f16", "f16": "f16", "int8": "q8_0"}
FIELDS = ["aggregate_decode_tok_s", "ttft_ms_p50", "ttft_ms_p99", "itl_ms_p50", "itl_ms_p99"]


def log(*args):
    print("[serve]", *args, file=sys.stderr, flush=True)


def run(cmd):
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"bench/serve: {' '.join(cmd[:3])} ... failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return done.stdout


def prompt_ids(model):
    with open(os.path.join(MODELS_DIR, model, "config.json")) as f:
        vocab = json.load(f)["vocab_size"]
    rng = random.Random(1234)
    return ",".join(str(rng.randrange(3, vocab)) for _ in range(PROMPT))


def zest(model, dtype, n, ids):
    runs = []
    for _ in range(REPS):
        out = run([GEN, "--model", os.path.join(MODELS_DIR, model), "--prompt-ids", ids, "--max-new-tokens", str(NEW),
                   "--greedy", "--ignore-eos", "--threads", str(THREADS), "--dtype", dtype, "--parallel", str(n), "--json"])
        runs.append(json.loads(out.strip().splitlines()[-1]))
    result = {k: statistics.median(r[k] for r in runs) for k in FIELDS}
    result["all_equal"] = all(r["all_equal"] for r in runs)
    result["runs"] = runs
    return result


def llama(model, dtype):
    """speed_tg per stream count: llama-batched-bench's generated tokens over its generation time."""
    if not BATCHED:
        return {}
    gguf = os.path.join(GGUF_DIR, f"{model}-{GGUF_TYPE[dtype]}.gguf")
    ctx = max(NS) * (PROMPT + NEW) + 256
    per_n = {n: [] for n in NS}
    for _ in range(REPS):
        out = run([BATCHED, "-m", gguf, "-c", str(ctx), "-b", "2048", "-ub", "512", "-npp", str(PROMPT), "-ntg", str(NEW),
                   "-npl", ",".join(map(str, NS)), "-t", str(THREADS), "--output-format", "jsonl"])
        for line in out.splitlines():
            if line.startswith("{"):
                row = json.loads(line)
                per_n[row["pl"]].append(row["speed_tg"])
    return {n: statistics.median(v) for n, v in per_n.items() if v}


def machine():
    lscpu = run(["lscpu"])
    name = next((l.split(":", 1)[1].strip() for l in lscpu.splitlines() if l.startswith("Model name")), "?")
    flags = next((l.split(":", 1)[1].split() for l in lscpu.splitlines() if l.startswith("Flags")), [])
    keep = [f for f in flags if f.startswith(("avx512", "amx")) or f in ("avx2", "fma", "f16c")]
    return f"{name}, {os.cpu_count()} CPUs, flags: {' '.join(keep)}"


def main():
    os.makedirs(RESULTS, exist_ok=True)
    print(f"# zest serving benchmark\n\nMachine: {machine()}\n")
    print(f"{PROMPT}-token prompts, {NEW} new tokens each, greedy, {THREADS} threads, medians of {REPS} runs. "
          "zest: `zest-generate --parallel N --json` (one Engine); llama.cpp: `llama-batched-bench -npp "
          f"{PROMPT} -ntg {NEW} -npl {','.join(map(str, NS))}` speed_tg.\n")
    raw = {}
    for model in MODELS:
        ids = prompt_ids(model)
        print(f"## {model}\n")
        print("| dtype | N | zest tok/s | x N=1 | TTFT p50 ms | TTFT p99 ms | ITL p50 ms | ITL p99 ms | all equal | "
              "llama.cpp | tok/s | zest / llama.cpp |")
        print("|---|---|---|---|---|---|---|---|---|---|---|---|")
        for dtype in DTYPES:
            log(model, dtype, "llama-batched-bench")
            peer = llama(model, dtype)
            base = None
            for n in NS:
                log(model, dtype, f"zest N={n}")
                z = zest(model, dtype, n, ids)
                raw[f"{model}/{dtype}/{n}"] = {"zest": z, "llama": peer.get(n)}
                base = base or z["aggregate_decode_tok_s"]
                p, agg = peer.get(n), z["aggregate_decode_tok_s"]
                peer_cols = f"{GGUF_TYPE[dtype].upper()} | {p:.1f} | {agg / p:.2f}" if p else "- | - | -"
                print(f"| {dtype} | {n} | {agg:.1f} | {agg / base:.2f} | {z['ttft_ms_p50']:.1f} | {z['ttft_ms_p99']:.1f} | "
                      f"{z['itl_ms_p50']:.2f} | {z['itl_ms_p99']:.2f} | {z['all_equal']} | {peer_cols} |", flush=True)
        print()
        print(f"Prefix cache, {model}: `bench_prefix_cache MODEL --prefix 1000 --suffix 16 --threads {THREADS} --dtype D "
              f"--reps {max(REPS, 3)}` (medians)\n")
        print("| dtype | cached tokens | TTFT uncached ms | TTFT cached ms | cached / uncached |")
        print("|---|---|---|---|---|")
        for dtype in DTYPES:
            log(model, dtype, "prefix cache")
            out = run([PREFIX, os.path.join(MODELS_DIR, model), "--prefix", "1000", "--suffix", "16", "--threads",
                       str(THREADS), "--dtype", dtype, "--reps", str(max(REPS, 3))])
            p = json.loads(out.strip().splitlines()[-1])
            raw[f"{model}/{dtype}/prefix"] = p
            print(f"| {dtype} | {p['cached_tokens']} | {p['uncached_ttft_ms']:.1f} | {p['cached_ttft_ms']:.1f} | "
                  f"{p['ratio']:.3f} |", flush=True)
        print()
    path = os.path.join(RESULTS, time.strftime("serve-%Y%m%d-%H%M%S.json"))
    with open(path, "w") as f:
        json.dump(raw, f, indent=1)
    log("raw results in", path)


if __name__ == "__main__":
    main()
