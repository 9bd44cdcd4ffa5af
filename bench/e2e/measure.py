"""The measuring half of bench/e2e/run.sh (which builds the programs, makes the models and GGUF
files and sets the ZEST_E2E_* variables this reads). Runs, in one go:

  1. the STREAM triad of bench_kernels on 1 and 2 threads (half the repetitions before the zest
     runs, half after), and after the zest runs bench_kernels' read bandwidth of streaming a
     buffer of each configuration's bytes per token: the roofline, since a machine whose L3
     holds a model streams it faster than the triad's DRAM-sized arrays (the Intel Xeon, 2
     threads: read/128MiB 49 GB/s, triad 28.5; bench/LOG.md, end-to-end);
  2. zest-generate --json for every model x dtype x thread count, the configurations interleaved
     within each repetition so that a change of machine load spreads over all of them;
  3. llama.cpp's llama-bench on the same weights (F32 / F16 / Q8_0 GGUF, Q4_0 / Q4_K_M from its
     llama-quantize), when run.sh found it;
  4. PyTorch eager greedy generation on gpt2-small with and without a KV cache.

Prints the markdown report on stdout and writes every raw figure to results/e2e-<UTC time>.json.
"""
import datetime
import json
import os
import random
import statistics
import subprocess
import sys
import time

ENV = os.environ
ROOT = ENV["ZEST_E2E_ROOT"]
GEN, KERNELS, LLAMA_BENCH = ENV["ZEST_E2E_GEN"], ENV["ZEST_E2E_KERNELS"], ENV.get("ZEST_E2E_LLAMA_BENCH", "")
MODELS_DIR, GGUF_DIR, RESULTS = ENV["ZEST_E2E_MODELS_DIR"], ENV["ZEST_E2E_GGUF_DIR"], ENV["ZEST_E2E_RESULTS"]
PYTHON = ENV.get("ZEST_E2E_PYTHON", sys.executable)
MODELS = ENV.get("ZEST_E2E_MODEL_LIST", "gpt2-small llama-small").split()
REPS = int(ENV.get("ZEST_E2E_REPS", "5"))
TORCH_REPS = int(ENV.get("ZEST_E2E_TORCH_REPS", str(REPS)))
PROMPT = int(ENV.get("ZEST_E2E_PROMPT", "128"))
NEW = int(ENV.get("ZEST_E2E_NEW", "128"))
THREADS = [int(t) for t in ENV.get("ZEST_E2E_THREADS", "1 2").split()]
DTYPES = ENV.get("ZEST_E2E_DTYPES", "f32 bf16 f16 int8 int4").split()
TORCH = ENV.get("ZEST_E2E_TORCH", "1") == "1"
# zest dtype -> the llama.cpp file types it is compared with (bf16 and f16 both read 2 bytes a
# weight; int4 beside the two 4-bit formats people download most).
PEER_TYPES = {"f32": ["f32"], "bf16": ["f16"], "f16": ["f16"], "int8": ["q8_0"], "int4": ["q4_0", "q4_k_m"]}


def log(*args):
    print("[e2e]", *args, file=sys.stderr, flush=True)


def fail(msg):
    print(f"bench/e2e/measure.py: {msg}", file=sys.stderr)
    sys.exit(1)


def run(cmd, what):
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"{what} failed (exit {p.returncode}): {' '.join(cmd)}\n{p.stderr.strip()[-2000:]}")
    return p.stdout


def median(values):
    return statistics.median(values) if values else None


def config(model):
    with open(os.path.join(MODELS_DIR, model, "config.json")) as f:
        return json.load(f)


def kv_bytes_per_token(per_position):
    """KV cache bytes a decode step reads at the mean decode context. The steps after the prefill
    run at positions PROMPT .. PROMPT + NEW - 2 and read PROMPT + 1 .. PROMPT + NEW - 1 cached
    positions: PROMPT + NEW / 2 on average."""
    return per_position * (PROMPT + NEW / 2)


def triad(reps):
    """{threads: [bytes/s of each repetition]} from bench_kernels' triad."""
    out = os.path.join(RESULTS, "triad.tmp.json")
    names = "|".join(str(t) for t in THREADS)
    run([KERNELS, f"--benchmark_filter=^triad/threads:({names})/", f"--benchmark_repetitions={max(1, reps)}",
         "--benchmark_min_time=0.1", f"--benchmark_out={out}", "--benchmark_out_format=json"], "bench_kernels triad")
    with open(out) as f:
        runs = json.load(f)["benchmarks"]
    os.remove(out)
    got = {t: [] for t in THREADS}
    for r in runs:
        if r.get("run_type", "iteration") != "iteration":
            continue
        t = int(r["run_name"].split("threads:")[1].split("/")[0])
        got[t].append(r["bytes"])
    for t, v in got.items():
        if not v:
            fail(f"bench_kernels reported no triad for {t} threads")
    return got


def read_bandwidth(sizes_mib, reps):
    """{(MiB, threads): bytes/s, the median} from bench_kernels' read/<MiB>MiB benchmarks."""
    out = os.path.join(RESULTS, "read.tmp.json")
    names = "|".join(str(t) for t in THREADS)
    env = dict(os.environ, ZEST_BENCH_READ_MIB=",".join(map(str, sizes_mib)))
    p = subprocess.run([KERNELS, f"--benchmark_filter=^read/[0-9]+MiB/threads:({names})/",
                        f"--benchmark_repetitions={max(1, reps)}", "--benchmark_min_time=0.1",
                        f"--benchmark_out={out}", "--benchmark_out_format=json"], capture_output=True, text=True, env=env)
    if p.returncode != 0:
        fail(f"bench_kernels read failed (exit {p.returncode}): {p.stderr.strip()[-2000:]}")
    with open(out) as f:
        runs = json.load(f)["benchmarks"]
    os.remove(out)
    got = {}
    for r in runs:
        if r.get("run_type", "iteration") == "iteration":
            name = r["run_name"].split("/")
            got.setdefault((int(name[1].removesuffix("MiB")), int(name[2].split(":")[1])), []).append(r["bytes"])
    return {k: median(v) for k, v in got.items()}


def mib(nbytes):
    return max(1, round(nbytes / 2**20))


def prompt_ids(c, seed=1234):
    # Ordinary tokens only: LLaMA's 0..2 and GPT-2's last id are special.
    rng = random.Random(seed)
    return [rng.randrange(3, c["vocab_size"] - 1) for _ in range(PROMPT)]


def zest_run(model, ids, dtype, threads):
    cmd = [GEN, "--model", os.path.join(MODELS_DIR, model), "--prompt-ids", ",".join(map(str, ids)),
           "--max-new-tokens", str(NEW), "--ignore-eos", "--greedy", "--threads", str(threads), "--dtype", dtype, "--json"]
    out = run(cmd, f"zest-generate {model} {dtype} threads {threads}")
    lines = [ln for ln in out.splitlines() if ln.strip()]
    if not lines:
        raise RuntimeError(f"zest-generate {model} {dtype} printed nothing")
    r = json.loads(lines[-1])
    if r.get("new_tokens") != NEW or r.get("prompt_tokens") != PROMPT:
        raise RuntimeError(f"zest-generate {model} {dtype}: {r.get('prompt_tokens')} prompt and {r.get('new_tokens')} "
                           f"new tokens, expected {PROMPT} and {NEW} (stop: {r.get('stop_reason')})")
    r.pop("text", None)
    return r


def llama_bench(gguf, threads):
    """(prefill tok/s, decode tok/s, raw rows): prompt processing of PROMPT tokens from an empty
    cache, and NEW generated tokens after PROMPT tokens in the cache (-d), as zest decodes."""
    common = [LLAMA_BENCH, "-m", gguf, "-t", str(threads), "-r", str(REPS), "-o", "json"]
    pp = json.loads(run(common + ["-p", str(PROMPT), "-n", "0"], f"llama-bench {gguf}"))
    tg = json.loads(run(common + ["-p", "0", "-n", str(NEW), "-d", str(PROMPT)], f"llama-bench {gguf}"))
    pre = [r for r in pp if r["n_gen"] == 0 and r["n_prompt"] == PROMPT]
    dec = [r for r in tg if r["n_prompt"] == 0 and r["n_gen"] == NEW]
    if not pre or not dec:
        raise RuntimeError(f"llama-bench {gguf}: no pp{PROMPT} / tg{NEW} rows in its output")
    rows = [{k: r.get(k) for k in ("model_type", "model_size", "n_threads", "n_prompt", "n_gen", "n_depth",
                                   "type_k", "avg_ts", "stddev_ts", "samples_ts", "build_commit")} for r in pp + tg]
    # llama-bench's avg_ts is the mean over its repetitions; the median of samples_ts matches ours.
    return median(pre[0]["samples_ts"]) or pre[0]["avg_ts"], median(dec[0]["samples_ts"]) or dec[0]["avg_ts"], rows


def torch_run(model, ids, threads, cache):
    cmd = [PYTHON, os.path.join(ROOT, "bench/peers/pytorch/generate.py"), os.path.join(MODELS_DIR, model),
           "--threads", str(threads), "--prompt-ids", ",".join(map(str, ids)), "--new-tokens", str(NEW)]
    if not cache:
        cmd.append("--no-cache")
    r = json.loads(run(cmd, f"PyTorch {model} threads {threads}").splitlines()[-1])
    r.pop("ids", None)
    return r


def fmt(v, digits=1):
    return "-" if v is None else f"{v:,.{digits}f}"


def ratio(a, b):
    return "-" if a is None or not b else f"{a / b:.2f}x"


def machine():
    lines = run(["lscpu"], "lscpu").splitlines()
    pick = lambda key: next((ln.split(":", 1)[1].strip() for ln in lines if ln.startswith(key + ":")), "?")
    try:
        commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    except OSError:
        commit = "?"
    return {"model_name": pick("Model name"), "flags": pick("Flags"), "cpus": pick("CPU(s)"), "commit": commit}


def main():
    start = datetime.datetime.now(datetime.timezone.utc)
    info = machine()
    info["load_before"] = os.getloadavg()
    cfgs = {m: config(m) for m in MODELS}
    prompts = {m: prompt_ids(cfgs[m]) for m in MODELS}

    log(f"triad bandwidth ({(REPS + 1) // 2} repetitions)")
    bw = triad((REPS + 1) // 2)

    zest = {}  # (model, dtype, threads) -> [runs]
    configs = [(m, d, t) for m in MODELS for d in DTYPES for t in THREADS]
    for rep in range(REPS):
        for m, d, t in configs:
            log(f"zest {rep + 1}/{REPS}: {m} {d} threads {t}")
            try:
                zest.setdefault((m, d, t), []).append(zest_run(m, prompts[m], d, t))
            except RuntimeError as e:
                fail(str(e))

    log(f"triad bandwidth again ({REPS // 2 or 1} repetitions)")
    for t, v in triad(REPS // 2 or 1).items():
        bw[t] += v
    sizes = sorted({mib(runs[0]["weight_bytes"] + kv_bytes_per_token(runs[0]["kv_bytes_per_position"]))
                    for runs in zest.values()})
    log(f"read bandwidth at the bytes per token ({', '.join(map(str, sizes))} MiB)")
    read_bw = read_bandwidth(sizes, REPS)

    peers, peer_note = {}, None
    if LLAMA_BENCH:
        for m in MODELS:
            for ptype in dict.fromkeys(p for d in DTYPES for p in PEER_TYPES[d]):
                for t in THREADS:
                    gguf = os.path.join(GGUF_DIR, f"{m}-{ptype}.gguf")
                    log(f"llama-bench: {m} {ptype} threads {t}")
                    try:
                        peers[(m, ptype, t)] = llama_bench(gguf, t)
                    except (RuntimeError, ValueError, KeyError) as e:
                        log(f"llama-bench {m} {ptype} threads {t} skipped: {e}")
                        peers[(m, ptype, t)] = None
    else:
        peer_note = "llama.cpp: skipped (no peer kit; see bench/e2e/run.sh, ZEST_E2E_PEERS)"

    torch_res, torch_note = {}, None
    if TORCH and "gpt2-small" in MODELS:
        for rep in range(TORCH_REPS):
            for t in THREADS:
                for cache in (True, False):
                    log(f"PyTorch {rep + 1}/{TORCH_REPS}: gpt2-small threads {t} {'cache' if cache else 'no cache'}")
                    try:
                        torch_res.setdefault((t, cache), []).append(torch_run("gpt2-small", prompts["gpt2-small"], t, cache))
                    except (RuntimeError, ValueError) as e:
                        fail(str(e))
    else:
        torch_note = "PyTorch: skipped (ZEST_E2E_TORCH=0 or gpt2-small not in ZEST_E2E_MODELS)"
    info["load_after"] = os.getloadavg()

    # ---- figures
    triad_gbs = {t: median(v) / 1e9 for t, v in bw.items()}
    rows = {}
    for (m, d, t), runs in zest.items():
        weight_bytes = runs[0]["weight_bytes"]  # what zest-generate --json reports it packed
        kv_bytes = kv_bytes_per_token(runs[0]["kv_bytes_per_position"])
        per_token = weight_bytes + kv_bytes
        prefill = median([r["prefill_tok_s"] for r in runs])
        decode = median([r["decode_tok_s"] for r in runs])
        read_gbs = read_bw[(mib(per_token), t)] / 1e9
        roof = read_gbs * 1e9 / per_token
        rows[(m, d, t)] = {"prefill_tok_s": prefill, "decode_tok_s": decode, "ttft_ms": 1e3 * PROMPT / prefill,
                           "read_gbs": read_gbs, "triad_roofline_tok_s": triad_gbs[t] * 1e9 / per_token,
                           "weight_bytes": weight_bytes,
                           "kv_bytes_per_token": kv_bytes, "bytes_per_token": per_token,
                           "roofline_tok_s": roof, "share_of_roofline": decode / roof,
                           "load_s": median([r["load_s"] for r in runs])}
    torch_rows = {k: {"prefill_tok_s": median([r["prefill_tok_s"] for r in v]),
                      "decode_tok_s": median([r["decode_tok_s"] for r in v])} for k, v in torch_res.items()}

    # ---- raw JSON
    stamp = start.strftime("%Y%m%dT%H%M%SZ")
    raw_path = os.path.join(RESULTS, f"e2e-{stamp}.json")
    with open(raw_path, "w") as f:
        json.dump({
            "started": start.isoformat(), "machine": info,
            "settings": {"prompt_tokens": PROMPT, "new_tokens": NEW, "reps": REPS, "torch_reps": TORCH_REPS,
                         "threads": THREADS, "dtypes": DTYPES, "models": MODELS},
            "triad_bytes_per_s": {str(t): v for t, v in bw.items()},
            "read_bytes_per_s": {f"{m}MiB/threads:{t}": v for (m, t), v in read_bw.items()},
            "prompt_ids": prompts,
            "zest": [{"model": m, "dtype": d, "threads": t, "median": rows[(m, d, t)], "runs": zest[(m, d, t)]}
                     for m, d, t in configs],
            "llama_cpp": [{"model": m, "type": p, "threads": t, "prefill_tok_s": v and v[0], "decode_tok_s": v and v[1],
                           "rows": v and v[2]} for (m, p, t), v in peers.items()],
            "pytorch": [{"model": "gpt2-small", "threads": t, "cache": c, "median": torch_rows[(t, c)], "runs": v}
                        for (t, c), v in torch_res.items()],
        }, f, indent=1)

    # ---- report
    p = print
    p(f"## End-to-end generation: {PROMPT}-token prompt, {NEW} new tokens, greedy\n")
    p(f"Run {start.strftime('%Y-%m-%d %H:%M')} UTC, commit {info['commit']}, medians of {REPS} runs "
      f"(PyTorch {TORCH_REPS}); load average {info['load_before'][0]:.1f} before, {info['load_after'][0]:.1f} after.\n")
    p("```")
    p(f"Model name: {info['model_name']}  ({info['cpus']} CPUs)")
    p(f"Flags: {info['flags']}")
    p("```\n")
    p("Triad bandwidth (bench_kernels, same run): " +
      ", ".join(f"{t} thread{'s' if t > 1 else ''} {triad_gbs[t]:.1f} GB/s" for t in THREADS) + ".\n")
    p("Decode roofline = read bandwidth / bytes read per token (Linear weights and LM head in the compute dtype, "
      f"plus the KV cache, f32 beside f32 weights and f16 beside the others, at the mean decode context of {PROMPT + NEW / 2:g} positions), "
      "the read bandwidth measured in the same run by streaming a buffer of that many bytes again and again "
      "(bench_kernels read/<MiB>MiB, GB/s column): where the L3 holds the model it beats the triad, whose "
      "roofline is the triad column. "
      "TTFT = prompt tokens / prefill tok/s (load excluded). llama.cpp: llama-bench on the same weights "
      f"(bf16 and f16 beside its F16, int8 beside Q8_0, int4 beside Q4_0 and Q4_K_M), pp{PROMPT} from an empty "
      f"cache and tg{NEW} at depth {PROMPT}.\n")
    if peer_note:
        p(peer_note + "\n")
    for m in MODELS:
        c = cfgs[m]
        p(f"### {m} ({c['architectures'][0]}, vocab {c['vocab_size']})\n")
        p("| dtype | thr | prefill tok/s | TTFT ms | decode tok/s | read GB/s | roofline tok/s | % roofline | triad roofline | MB/token | "
          "llama.cpp | prefill tok/s | decode tok/s | zest / llama.cpp prefill | zest / llama.cpp decode |")
        p("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
        for d in DTYPES:
            for t, pt in ((t, pt) for t in THREADS for pt in PEER_TYPES[d]):
                r = rows[(m, d, t)]
                v = peers.get((m, pt, t))
                lp, ld = (v[0], v[1]) if v else (None, None)
                peer = pt.upper() if LLAMA_BENCH else "-"
                p(f"| {d} | {t} | {fmt(r['prefill_tok_s'])} | {fmt(r['ttft_ms'])} | {fmt(r['decode_tok_s'])} | "
                  f"{fmt(r['read_gbs'])} | {fmt(r['roofline_tok_s'])} | {100 * r['share_of_roofline']:.0f}% | "
                  f"{fmt(r['triad_roofline_tok_s'])} | {r['bytes_per_token'] / 1e6:.1f} | "
                  f"{peer} | {fmt(lp)} | {fmt(ld)} | {ratio(r['prefill_tok_s'], lp)} | {ratio(r['decode_tok_s'], ld)} |")
        p()
    if torch_note:
        p(torch_note + "\n")
    elif torch_rows:
        version = next(iter(torch_res.values()))[0].get("torch", "?")
        p(f"### PyTorch {version} eager, gpt2-small f32 (bench/peers/pytorch/generate.py)\n")
        p("| thr | cache: prefill tok/s | TTFT ms | cache: decode tok/s | no cache: decode tok/s | zest f32 decode / PyTorch cache | zest int8 decode / PyTorch no cache |")
        p("|---|---|---|---|---|---|---|")
        for t in THREADS:
            wc, nc = torch_rows.get((t, True)), torch_rows.get((t, False))
            zf = rows.get(("gpt2-small", "f32", t), {}).get("decode_tok_s")
            zi = rows.get(("gpt2-small", "int8", t), {}).get("decode_tok_s")
            p(f"| {t} | {fmt(wc['prefill_tok_s'])} | {fmt(1e3 * PROMPT / wc['prefill_tok_s'])} | {fmt(wc['decode_tok_s'])} | "
              f"{fmt(nc['decode_tok_s'], 2)} | {ratio(zf, wc['decode_tok_s'])} | {ratio(zi, nc['decode_tok_s'])} |")
        p()
    p(f"Raw figures: `{os.path.relpath(raw_path, ROOT)}`.")
    log(f"done in {time.time() - start.timestamp():.0f} s; raw JSON in {raw_path}")


if __name__ == "__main__":
    main()
