#!/usr/bin/python3
"""PyTorch reference for zest's demo model (examples/models/brown-llama): perplexity and greedy goldens.

Loads an exported Hugging Face LLaMA directory (model.safetensors in bf16, upcast to float32;
all maths in float32) with the plain-PyTorch LlamaForCausalLM of tools/train_demo_model.py, and
computes:

(a) perplexity of a text file of lines (default: the held-out lines of brown.txt, i.e. the lines
    with 0-based index i where i % 20 == 19), by exactly this procedure:
      1. every line (trailing "\\n" removed, nothing else changed) is encoded alone with the
         directory's tokenizer.model (`spm_encode --output_format=id`) and written to one token
         stream as BOS (id 1) followed by its ids, lines in file order (no EOS anywhere);
      2. the stream is cut into non-overlapping windows of `ctx` tokens (default 256): tokens
         [0, ctx), [ctx, 2 ctx), ...; the last, shorter window is kept if it has >= 2 tokens;
      3. each window is run alone from position 0 (no state carried between windows); every
         token after the first of the window is predicted from the tokens before it in the same
         window: a window of n tokens gives n - 1 predictions;
      4. loss = mean negative log-likelihood (natural log) over all predictions of all windows;
         perplexity = exp(loss).
(b) greedy generations: for each fixed prompt, ids = [BOS] + spm ids of the prompt, then 32
    tokens, each the argmax of the float32 logits at the last position (no EOS stop: the model
    never saw EOS in training; it ends sentences with BOS, id 1, as in its training stream).

Usage:
  /usr/bin/python3 tools/demo_model_reference.py [--model DIR] [--text FILE] [--ctx 256]
        [--goldens OUT.json] [--write-excerpt N OUT.txt]
"""
import argparse
import json
import math
import os
import struct
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import train_demo_model as T  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROMPTS = ["The jury said", "In the morning", "It was a", "The President of the United States"]
N_GREEDY = 32


def read_safetensors(path):
    """name -> float32 torch tensor (BF16/F16/F32 supported)."""
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, h in header.items():
        if name == "__metadata__":
            continue
        b, e = h["data_offsets"]
        raw = data[b:e]
        if h["dtype"] == "BF16":
            a = (np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16).view(np.float32)
        elif h["dtype"] == "F16":
            a = np.frombuffer(raw, dtype="<f2").astype(np.float32)
        elif h["dtype"] == "F32":
            a = np.frombuffer(raw, dtype="<f4").astype(np.float32)
        else:
            raise ValueError(f"{name}: dtype {h['dtype']}")
        out[name] = torch.from_numpy(a.reshape(h["shape"]).copy())
    return out


def load_model(d):
    with open(os.path.join(d, "config.json")) as f:
        c = json.load(f)
    model = T.LlamaForCausalLM(c)
    sd = read_safetensors(os.path.join(d, "model.safetensors"))
    if c.get("tie_word_embeddings"):
        assert "lm_head.weight" not in sd
        sd["lm_head.weight"] = sd["model.embed_tokens.weight"]
    model.load_state_dict(sd, strict=True)
    model.eval()
    return model, c


def heldout_lines(corpus):
    with open(corpus, encoding="utf-8") as f:
        lines = f.read().split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [l for i, l in enumerate(lines) if i % T.HOLDOUT_EVERY == T.HOLDOUT_EVERY - 1]


def perplexity(model, tokdir, lines, ctx):
    stream = []
    for ids in T.spm(tokdir, lines):
        stream.append(T.BOS)
        stream.extend(ids)
    windows = T.eval_windows(torch.tensor(stream, dtype=torch.long), ctx)
    loss, n = T.evaluate(model, windows)
    return {"ctx": ctx, "lines": len(lines), "tokens": len(stream), "windows": len(windows), "predicted": n,
            "nll_mean": loss, "ppl": math.exp(loss)}


@torch.no_grad()
def greedy(model, ids, n):
    seq, margins, top5 = list(ids), [], []
    for _ in range(n):
        logits = model(torch.tensor([seq]))[0, -1].float()
        v, i = torch.topk(logits, 5)
        top5.append([[int(a), round(float(b), 5)] for a, b in zip(i, v)])
        margins.append(round(float(v[0] - v[1]), 5))
        seq.append(int(i[0]))
    return seq[len(ids):], margins, top5


def check_fixture(d):
    """Check the PyTorch model class against a fixture's golden.json (e.g. ../shared/fixtures/tiny-llama)."""
    model, _ = load_model(d)
    with open(os.path.join(d, "golden.json")) as f:
        g = json.load(f)
    worst, same = 0.0, 0
    for p in g["prompts"]:
        with torch.no_grad():
            lo = model(torch.tensor([p["ids"]]))[0]
        worst = max(worst, (lo[-1] - torch.tensor(p["last_logits"])).abs().max().item())
        for pos, l in p.get("position_logits", {}).items():
            worst = max(worst, (lo[int(pos)] - torch.tensor(l)).abs().max().item())
        same += greedy(model, p["ids"], len(p["greedy"]["ids"]))[0] == p["greedy"]["ids"]
    print(f"{d}: {len(g['prompts'])} prompts, max |logit - golden| {worst:.3g}, greedy equal {same}/{len(g['prompts'])}")
    return worst < 1e-4 and same == len(g["prompts"])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=os.path.join(REPO, "examples", "models", "brown-llama"))
    ap.add_argument("--corpus", default=T.DEFAULT_CORPUS, help="brown.txt (held-out lines used when no --text)")
    ap.add_argument("--text", help="file of lines to measure (default: all held-out lines of --corpus)")
    ap.add_argument("--ctx", type=int, default=256)
    ap.add_argument("--goldens", help="write JSON goldens (perplexity of --text, greedy generations)")
    ap.add_argument("--write-excerpt", nargs=2, metavar=("N", "OUT"),
                    help="write the first N held-out lines of --corpus to OUT and exit")
    ap.add_argument("--check-fixture", metavar="DIR",
                    help="compare the model class with a fixture's golden.json (e.g. ../shared/fixtures/tiny-llama)")
    ap.add_argument("--with-full", action="store_true",
                    help="also measure all held-out lines of --corpus (stored as perplexity_full_heldout)")
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    if a.check_fixture:
        sys.exit(0 if check_fixture(a.check_fixture) else 1)

    if a.write_excerpt:
        n, out = int(a.write_excerpt[0]), a.write_excerpt[1]
        with open(out, "w", encoding="utf-8") as f:
            for l in heldout_lines(a.corpus)[:n]:
                f.write(l + "\n")
        print(f"wrote {n} held-out lines to {out}")
        return

    model, c = load_model(a.model)
    if a.text:
        with open(a.text, encoding="utf-8") as f:
            lines = f.read().split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        src = os.path.relpath(os.path.abspath(a.text), REPO)
    else:
        lines = heldout_lines(a.corpus)
        src = "brown.txt held-out lines (i % 20 == 19)"
    p = perplexity(model, a.model, lines, a.ctx)
    p["text"] = src
    print(json.dumps(p))

    full = None
    if a.with_full:
        full = perplexity(model, a.model, heldout_lines(a.corpus), a.ctx)
        full["text"] = "brown.txt held-out lines (i % 20 == 19)"
        print(json.dumps(full))

    gens = []
    pids = T.spm(a.model, PROMPTS)
    for text, ids in zip(PROMPTS, pids):
        ids = [T.BOS] + ids
        out, margins, top5 = greedy(model, ids, N_GREEDY)
        g = {"prompt": text, "prompt_ids": ids, "greedy_ids": out, "greedy_text": T.decode(a.model, out),
             "min_top2_margin": min(margins), "step_top2_margin": margins, "step_top5": top5}
        gens.append(g)
        print(f"{text!r} -> {T.decode(a.model, ids[1:] + out)!r} (min top-2 logit margin {min(margins):.4f})")

    if a.goldens:
        doc = {
            "model": os.path.relpath(os.path.abspath(a.model), REPO),
            "made_by": "tools/demo_model_reference.py (PyTorch " + torch.__version__ + ", float32 maths on the "
                       "bf16 weights upcast to float32)",
            "perplexity_procedure": "each line encoded alone as BOS + spm ids, concatenated in order; "
                                    "non-overlapping windows of ctx tokens (last shorter window kept if >= 2 "
                                    "tokens), each run from position 0; mean NLL over every token after the "
                                    "first of each window; ppl = exp(mean NLL)",
            "perplexity": p,
            **({"perplexity_full_heldout": full} if full else {}),
            "greedy": {"n_new_tokens": N_GREEDY, "eos_stop": False, "prompts": gens},
        }
        with open(a.goldens, "w") as f:
            json.dump(doc, f, indent=1)
            f.write("\n")
        print("wrote", a.goldens)


if __name__ == "__main__":
    main()
