"""PyTorch eager greedy generation, the end-to-end peer of zest-generate (bench/e2e/run.sh).

Runs the project's plain-PyTorch re-implementation of transformers' modeling code
(tools/reference/modeling.py: float32, eager, as HF transformers computes) on a model directory:
one forward pass over the prompt (prefill, first new token), then greedy steps either with a KV
cache (one token per step) or, with --no-cache, recomputing the whole sequence every step (what
`model.generate(use_cache=False)` does). Each forward pass computes the LM head over every position
it ran, as transformers' GPT2LMHeadModel.forward does in the versions of torch 1.13's time (the
logits of the last position are the ones generation uses). Under torch.no_grad().

Threads: Debian's torch does its matrix products in OpenBLAS (pthreads), whose thread count is
OPENBLAS_NUM_THREADS, not torch.set_num_threads. The runner gives OpenBLAS --threads threads and
torch's own intra-op pool one: with two OpenMP threads of torch beside two OpenBLAS threads on two
cores, the spinning threads crowd each other out and generation runs ~5x slower (measured:
4.6 against 22.9 tok/s with a cache), so this is the fastest setting of this peer.

The prompt is --prompt-len token ids drawn with a fixed seed (or --prompt-ids); EOS is ignored,
as zest-generate --ignore-eos does. Prints one JSON object:
  {"prompt_tokens", "new_tokens", "cache", "threads", "load_s", "prefill_tok_s", "decode_tok_s",
   "torch", "ids"}
prefill_tok_s = prompt tokens / time of the prompt pass and the first token; decode_tok_s =
(new tokens - 1) / time of the remaining steps (zest-generate counts the same way).

usage: generate.py MODEL_DIR [--threads N] [--no-cache] [--prompt-len 128 | --prompt-ids 1,2,3]
                   [--new-tokens 128] [--seed 0]
Run with Debian's /usr/bin/python3 (torch 1.13).
"""
import argparse
import json
import os
import random
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "tools", "reference"))


def main():
    ap = argparse.ArgumentParser(description="greedy generation in PyTorch eager (tools/reference/modeling.py)")
    ap.add_argument("model_dir")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--no-cache", action="store_true", help="recompute the whole sequence at every step")
    ap.add_argument("--prompt-len", type=int, default=128, help="random prompt of this many ids (default 128)")
    ap.add_argument("--prompt-ids", help="comma-separated prompt ids (instead of a random prompt)")
    ap.add_argument("--new-tokens", type=int, default=128, help="tokens to generate (default 128)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the random prompt")
    args = ap.parse_args()
    if args.new_tokens < 2:
        ap.error("--new-tokens must be at least 2 (one from the prefill, one decode step)")
    os.environ["OPENBLAS_NUM_THREADS"] = str(args.threads)  # read when OpenBLAS loads, with torch
    import torch  # noqa: E402 (after OPENBLAS_NUM_THREADS)
    import modeling  # noqa: E402
    torch.set_num_threads(1)

    start = time.perf_counter()
    model = modeling.load_model(args.model_dir)
    if isinstance(model, modeling.Bert):
        ap.error(f"{args.model_dir}: an encoder, not a decoder")
    load_s = time.perf_counter() - start
    if args.prompt_ids:
        prompt = [int(x) for x in args.prompt_ids.split(",")]
    else:
        rng = random.Random(args.seed)
        prompt = [rng.randrange(model.c["vocab_size"]) for _ in range(args.prompt_len)]

    ids = list(prompt)
    with torch.no_grad():
        t0 = time.perf_counter()
        hidden, cache = model.forward(ids)
        ids.append(int(torch.argmax(model.logits(hidden)[-1])))
        t1 = time.perf_counter()
        for _ in range(args.new_tokens - 1):
            if args.no_cache:
                hidden, _ = model.forward(ids)
            else:
                hidden, cache = model.forward(ids[-1:], cache)
            ids.append(int(torch.argmax(model.logits(hidden)[-1])))
        t2 = time.perf_counter()

    print(json.dumps({
        "prompt_tokens": len(prompt), "new_tokens": args.new_tokens, "cache": not args.no_cache,
        "threads": args.threads, "load_s": load_s, "prefill_tok_s": len(prompt) / (t1 - t0),
        "decode_tok_s": (args.new_tokens - 1) / (t2 - t1), "torch": torch.__version__,
        "ids": ids[len(prompt):],
    }))


if __name__ == "__main__":
    main()
