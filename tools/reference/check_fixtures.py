"""Checks modeling.py against the golden.json of shared fixture directories and prints the largest
differences. Usage: check_fixtures.py FIXTURE_DIR..."""
import json
import sys

import torch

import goldens
import modeling


def maxdiff(a, b):
    return float((torch.tensor(a, dtype=torch.float64) - torch.tensor(b, dtype=torch.float64)).abs().max())


def stat_diff(a, b):
    return max(maxdiff([a[k] for k in ("mean", "std", "min", "max", "l2")], [b[k] for k in ("mean", "std", "min", "max", "l2")]),
               maxdiff(a["head"], b["head"]))


def check(model_dir):
    golden = json.load(open(f"{model_dir}/golden.json"))
    model = modeling.load_model(model_dir)
    worst = {}

    def note(key, value):
        worst[key] = max(worst.get(key, 0.0), value)

    for g in golden["prompts"]:
        if golden["model_type"] == "bert":
            r = goldens.bert_prompt(model, g["ids"], [int(p) for p in g.get("position_logits", {})])
            note("hidden_first", stat_diff(r["hidden_first"], g["hidden_first"]))
            note("pooler", stat_diff(r["pooler"], g["pooler"]))
            if "classifier_logits" in g:
                note("classifier_logits", maxdiff(r["classifier_logits"], g["classifier_logits"]))
        else:
            n = g["greedy"]["n"]
            r = goldens.decoder_prompt(model, g["ids"], n, [int(p) for p in g["position_logits"]])
            note("greedy_ids_mismatches", sum(a != b for a, b in zip(r["greedy"]["ids"], g["greedy"]["ids"])))
            note("greedy_top5_logits", max(maxdiff([v for _, v in a], [v for _, v in b])
                                           for a, b in zip(r["greedy"]["step_top5"], g["greedy"]["step_top5"])))
            note("logsumexp_last", abs(r["logsumexp_last"] - g["logsumexp_last"]))
        if "last_logits" in g:
            note("last_logits", maxdiff(r["last_logits"], g["last_logits"]))
            note("argmax_mismatches", int(r["argmax_last"] != g["argmax_last"]))
        for p, v in g.get("position_logits", {}).items():
            note("position_logits", maxdiff(r["position_logits"][p], v))
        note("hidden_last", stat_diff(r["hidden_last"], g["hidden_last"]))
    if "padded_batch" in golden:
        _, _, _, diff = goldens.padded_batch(model, [g["ids"] for g in golden["prompts"]], golden["padded_batch"]["pad_id"])
        note("padded_vs_alone(ours)", diff)
    print(golden["model"], json.dumps({k: float(f"{v:.3g}") for k, v in worst.items()}))


if __name__ == "__main__":
    for d in sys.argv[1:]:
        check(d)
