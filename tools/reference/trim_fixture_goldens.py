"""Cuts the shared fixtures' golden.json files (1-8 MB: every logit of 30k-50k vocabularies) down to
what a test needs, so that tests pass from a fresh clone, where ../shared does not exist.

Kept per prompt: the ids, argmax and logsumexp of the last position, the logits at the top 64 ids
and at every 97th id (so a wrong row anywhere in the vocabulary shows), the same for the other
positions, the hidden-state statistics, the whole greedy record; BERT: hidden_first, pooler.
The values are copied, not recomputed: they are the fixtures' own reference numbers.
Usage: trim_fixture_goldens.py SHARED_FIXTURES_DIR OUT_DIR
"""
import json
import os
import sys

STRIDE = 97
TOP = 64


def sample(logits):
    top = sorted(range(len(logits)), key=lambda i: -logits[i])[:TOP]
    ids = sorted(set(top) | set(range(0, len(logits), STRIDE)))
    return {"ids": ids, "values": [logits[i] for i in ids]}


def trim(golden):
    out = {k: v for k, v in golden.items() if k != "prompts"}
    out["trimmed"] = (f"logits kept at the top {TOP} ids and every {STRIDE}th id "
                      "(last_logits_at, position_logits_at); everything else as in the full golden.json")
    out["prompts"] = []
    for p in golden["prompts"]:
        q = {k: v for k, v in p.items() if k not in ("last_logits", "position_logits", "seconds")}
        if "last_logits" in p:
            q["last_logits_at"] = sample(p["last_logits"])
        q["position_logits_at"] = {pos: sample(v) for pos, v in p.get("position_logits", {}).items()}
        out["prompts"].append(q)
    return out


def main(src, dst):
    os.makedirs(dst, exist_ok=True)
    for name in sorted(os.listdir(src)):
        path = os.path.join(src, name, "golden.json")
        if os.path.exists(path):
            with open(path) as f:
                trimmed = trim(json.load(f))
            with open(os.path.join(dst, name + ".json"), "w") as f:
                json.dump(trimmed, f, separators=(",", ":"))
                f.write("\n")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
