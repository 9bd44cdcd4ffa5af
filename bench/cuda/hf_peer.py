"""The CUDA benchmark's peer and ceilings (tools/gpu-check.sh), as one JSON object a line.

  hf_peer.py ceilings
      the GPU's limits measured through PyTorch: a device-to-device copy (bytes read + written),
      a read-only pass (a sum), an 8192^3 bf16 matrix product
  hf_peer.py generate --model DIR --ids FILE --new-tokens N --mode eager|static [--prefill-ids FILE]
      Hugging Face transformers on the same directory in bf16: greedy generation of exactly N
      tokens (EOS ignored) from the prompt ids in FILE, eager or with cache_implementation="static"
      (which compiles the forward); decode tok/s from the time between the first and the last new
      token inside one generate() call, and the prefill of --prefill-ids as one forward pass.

Medians of the timed repeats after warm-ups. Every failure is reported as {"error": ...} so that
the caller's table still prints.
"""
import argparse
import json
import statistics
import sys
import time

import torch


def timed(fn, repeats, warmups=2):
    """Median seconds of fn() over `repeats` runs, device work included."""
    for _ in range(warmups):
        fn()
    times = []
    for _ in range(repeats):
        torch.cuda.synchronize()
        start = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def ceilings():
    n = 1 << 31  # 4 GiB of bf16: many times the 50-60 MB L2
    a = torch.empty(n, device="cuda", dtype=torch.bfloat16).normal_()
    b = torch.empty_like(a)
    bytes_ = a.numel() * a.element_size()
    copy_s = timed(lambda: b.copy_(a), 10)
    read_s = timed(lambda: a.sum(dtype=torch.float32), 10)
    del a, b
    m = 8192
    x = torch.randn(m, m, device="cuda", dtype=torch.bfloat16)
    y = torch.randn(m, m, device="cuda", dtype=torch.bfloat16)
    gemm_s = timed(lambda: x @ y, 10, warmups=3)
    return {"gpu": torch.cuda.get_device_name(0), "copy_tb_s": 2 * bytes_ / copy_s / 1e12,
            "read_tb_s": bytes_ / read_s / 1e12, "bf16_gemm_tflop_s": 2 * m**3 / gemm_s / 1e12}


class StepClock:
    """A stopping criterion that never stops and notes when each new token exists on the device."""

    def __init__(self):
        self.times = []

    def __call__(self, input_ids, scores, **kwargs):
        torch.cuda.synchronize()
        self.times.append(time.perf_counter())
        return torch.zeros(input_ids.shape[0], dtype=torch.bool, device=input_ids.device)


def read_ids(path):
    with open(path) as f:
        return [int(t) for t in f.read().replace(",", " ").split()]


def generate(args):
    from transformers import AutoModelForCausalLM, StoppingCriteriaList

    model = AutoModelForCausalLM.from_pretrained(args.model, dtype=torch.bfloat16).to("cuda").eval()
    ids = torch.tensor([read_ids(args.ids)], device="cuda")
    extra = {"cache_implementation": "static"} if args.mode == "static" else {}
    eos = model.generation_config.eos_token_id

    def run():
        clock = StepClock()
        with torch.no_grad():
            out = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), do_sample=False,
                                 max_new_tokens=args.new_tokens, min_new_tokens=args.new_tokens,
                                 pad_token_id=eos if isinstance(eos, int) else None,
                                 stopping_criteria=StoppingCriteriaList([clock]), **extra)
        return out, clock.times

    start = time.perf_counter()
    run()  # warm-up; with the static cache, the compilation
    warmup_s = time.perf_counter() - start
    rates, out = [], None
    for _ in range(args.repeats):
        out, times = run()
        rates.append((len(times) - 1) / (times[-1] - times[0]))
    result = {"mode": args.mode, "decode_tok_s": statistics.median(rates), "warmup_s": warmup_s,
              "new_tokens": out.shape[1] - ids.shape[1], "ids": out[0, ids.shape[1]:].tolist()}
    if args.prefill_ids:
        prompt = torch.tensor([read_ids(args.prefill_ids)], device="cuda")
        with torch.no_grad():
            seconds = timed(lambda: model(input_ids=prompt, use_cache=False), 5)
        result["prefill_tokens"] = prompt.shape[1]
        result["prefill_tok_s"] = prompt.shape[1] / seconds
    return result


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="what", required=True)
    sub.add_parser("ceilings")
    g = sub.add_parser("generate")
    g.add_argument("--model", required=True)
    g.add_argument("--ids", required=True, help="file of prompt token ids (comma or space separated)")
    g.add_argument("--new-tokens", type=int, default=256)
    g.add_argument("--mode", choices=["eager", "static"], default="eager")
    g.add_argument("--repeats", type=int, default=3)
    g.add_argument("--prefill-ids", help="file of ids for the prefill measurement")
    args = ap.parse_args()
    try:
        result = ceilings() if args.what == "ceilings" else generate(args)
    except Exception as e:  # the caller's table reports it; the traceback goes to stderr
        import traceback
        traceback.print_exc()
        result = {"error": f"{type(e).__name__}: {e}"}
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    sys.exit(main())
