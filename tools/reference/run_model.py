"""Runs the reference on token ids and prints JSON, for looking into a disagreement by hand.
Usage: run_model.py MODEL_DIR IDS [--greedy N] [--all-positions]
IDS: comma-separated token ids. Prints the top-10 logits at the last (or every) position, the
logsumexp, and with --greedy N the greedy continuation (KV cache)."""
import argparse
import json

import torch

import modeling


def top(logits, k=10):
    values, ids = torch.topk(logits, min(k, logits.numel()))
    return [[int(i), float(v)] for i, v in zip(ids, values)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model_dir")
    ap.add_argument("ids")
    ap.add_argument("--greedy", type=int, default=0)
    ap.add_argument("--all-positions", action="store_true")
    args = ap.parse_args()
    model = modeling.load_model(args.model_dir)
    ids = [int(x) for x in args.ids.split(",")]
    out = {}
    with torch.no_grad():
        if isinstance(model, modeling.Bert):
            hidden = model.forward(torch.tensor([ids]))[0]
            out["hidden_first_head"] = hidden[0, :8].tolist()
            out["hidden_last_head"] = hidden[-1, :8].tolist()
            if "cls.predictions.bias" in model.w:
                logits = model.mlm_logits(hidden)
                out["top_last"] = top(logits[-1])
        else:
            hidden, cache = model.forward(ids)
            logits = model.logits(hidden)
            rows = range(len(ids)) if args.all_positions else [len(ids) - 1]
            out["top"] = {str(r): top(logits[r]) for r in rows}
            out["logsumexp_last"] = float(torch.logsumexp(logits[-1], 0))
            greedy, step = [], logits[-1]
            for _ in range(args.greedy):
                greedy.append(int(torch.argmax(step)))
                h, cache = model.forward([greedy[-1]], cache)
                step = model.logits(h)[-1]
            if args.greedy:
                out["greedy"] = greedy
    print(json.dumps(out))


if __name__ == "__main__":
    main()
