"""tools/gpu-check.sh's table: reads the JSON results of one run and prints markdown.

usage: report.py RESULTS_DIR MODELS_DIR "GPU NAME, MEMORY, DRIVER"

The targets are issue 23's. Roofline: the bytes a decode step reads (zest's weight_bytes; the KV
cache of a 128-384 token context adds under 1% for these shapes) at the read bandwidth measured in
the same run. Prefill FLOPs: 2 per Linear weight per token (the LM head for the last token only)
plus causal attention's 2 x 2 x heads x head_dim per (query, key) pair.
"""
import json
import os
import statistics
import sys


def load(results, name):
    try:
        with open(os.path.join(results, name + ".json")) as f:
            value = json.loads(f.read().strip().splitlines()[-1])
        return value if "error" not in value else None
    except (OSError, ValueError, IndexError):
        return None


def fmt(x, digits=0):
    return "n/a" if x is None else f"{x:,.{digits}f}"


def times(x):
    return "n/a" if x is None else f"{x:,.1f}x"


def verdict(ok):
    return "n/a" if ok is None else ("met" if ok else "**missed**")


def prefill_flops(config, tokens):
    h, layers, ff = config["hidden_size"], config["num_hidden_layers"], config["intermediate_size"]
    heads, kv = config["num_attention_heads"], config["num_key_value_heads"]
    hd = config.get("head_dim") or h // heads
    linear = layers * (h * heads * hd + 2 * h * kv * hd + heads * hd * h + 3 * h * ff)
    attention = layers * 4 * heads * hd * tokens * (tokens + 1) / 2
    return 2 * linear * tokens + attention + 2 * h * config["vocab_size"]


def common_prefix(a, b):
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n


def main():
    results, models, gpu = sys.argv[1], sys.argv[2], sys.argv[3]
    ceil = load(results, "ceilings") or {}
    read_bw = ceil.get("read_tb_s")
    decode_runs = [r for r in (load(results, f"llama-1b-bf16-decode-{i}") for i in (1, 2, 3)) if r]
    bf16 = decode_runs[0] if decode_runs else None
    bf16_tok_s = statistics.median(r["decode_tok_s"] for r in decode_runs) if decode_runs else None
    int8 = load(results, "llama-1b-int8-decode")
    prefill = load(results, "llama-1b-bf16-prefill")
    one, many = load(results, "llama-1b-bf16-parallel-1"), load(results, "llama-1b-bf16-parallel-64")
    gpt2 = load(results, "gpt2-small-bf16-decode")
    eager, static = load(results, "hf-llama-1b-eager"), load(results, "hf-llama-1b-static")
    gpt2_eager = load(results, "hf-gpt2-small-eager")
    with open(os.path.join(models, "llama-1b", "config.json")) as f:
        config = json.load(f)
    with open(os.path.join(results, "test_cuda.status")) as f:
        tests = int(f.read().strip() or 1)

    def ratio(a, b):
        return a / b if a is not None and b else None

    roofline = (read_bw * 1e12 / bf16["weight_bytes"]) if bf16 and read_bw else None
    share = ratio(bf16_tok_s, roofline)
    vs_static = ratio(bf16_tok_s, static and static["decode_tok_s"])
    int8_tok_s = int8 and int8["decode_tok_s"]
    prefill_tflops = (prefill_flops(config, prefill["prompt_tokens"]) * prefill["prefill_tok_s"] /
                      prefill["prompt_tokens"] / 1e12) if prefill else None
    gemm = ceil.get("bf16_gemm_tflop_s")
    parallel = ratio(many and many.get("aggregate_decode_tok_s"), one and one.get("aggregate_decode_tok_s"))
    gpt2_tok_s = gpt2 and gpt2["decode_tok_s"]
    same_ids = common_prefix(bf16["ids"], eager["ids"]) if bf16 and eager else None

    print(f"GPU: {gpu}. Ceilings (PyTorch, this run): copy {fmt(ceil.get('copy_tb_s'), 2)} TB/s read + written, "
          f"read {fmt(read_bw, 2)} TB/s, bf16 GEMM {fmt(gemm)} TFLOP/s.")
    print(f"CUDA tests: {'passed' if tests == 0 else f'FAILED (exit status {tests})'}. "
          f"Greedy ids equal to transformers' for the first {fmt(same_ids)} of 256 new tokens (llama-1b bf16).\n")
    print("| measure (llama-1b = 16 x 2048, GQA 32/8, MLP 8192, vocab 32000) | zest | transformers eager "
          "| transformers static cache, compiled | target | |")
    print("|---|---:|---:|---:|---|---|")
    print(f"| llama-1b bf16 decode, tok/s (128-token prompt, 256 new) | {fmt(bf16_tok_s)} "
          f"| {fmt(eager and eager['decode_tok_s'], 1)} | {fmt(static and static['decode_tok_s'], 1)} "
          f"| >= 20x static: {times(vs_static)} | {verdict(vs_static and vs_static >= 20)} |")
    print(f"| share of the read roofline ({fmt(bf16 and bf16['weight_bytes'] / 1e9, 2)} GB a token: "
          f"{fmt(roofline)} tok/s) | {fmt(share and 100 * share)}% | | | >= 70% | {verdict(share and share >= 0.7)} |")
    print(f"| llama-1b int8 weight-only decode, tok/s | {fmt(int8_tok_s)} | | | >= 1.6x bf16: "
          f"{times(ratio(int8_tok_s, bf16_tok_s))} | {verdict(int8_tok_s and int8_tok_s >= 1.6 * bf16_tok_s)} |")
    print(f"| llama-1b bf16 prefill, 512 tokens, tok/s (TFLOP/s) | {fmt(prefill and prefill['prefill_tok_s'])} "
          f"({fmt(prefill_tflops)}) | {fmt(eager and eager.get('prefill_tok_s'))} | | >= 50% of GEMM peak: "
          f"{fmt(ratio(prefill_tflops, gemm) and 100 * ratio(prefill_tflops, gemm))}% "
          f"| {verdict(prefill_tflops and gemm and prefill_tflops >= 0.5 * gemm)} |")
    print(f"| llama-1b bf16, 64 streams on one Engine, aggregate tok/s | "
          f"{fmt(many and many.get('aggregate_decode_tok_s'))} | | | >= 40x one stream: {times(parallel)} "
          f"| {verdict(parallel and parallel >= 40)} |")
    print(f"| gpt2-small bf16 decode, tok/s | {fmt(gpt2_tok_s)} | {fmt(gpt2_eager and gpt2_eager['decode_tok_s'], 1)} "
          f"| | >= 3,000 | {verdict(gpt2_tok_s and gpt2_tok_s >= 3000)} |")


if __name__ == "__main__":
    main()
