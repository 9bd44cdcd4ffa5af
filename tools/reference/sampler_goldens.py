"""Golden distributions for zest's sampler from a PyTorch re-implementation of Hugging Face's
logits processors (generation/logits_process.py), applied in the order generate() builds them:
RepetitionPenalty, then (when sampling) Temperature, TopK, TopP, MinP; min_tokens_to_keep = 1.

Writes tests/data/generate/sampler_goldens.json: for each case the input logits, the previous ids,
the parameters, and the probability vector softmax(processed scores) that HF samples from (for
greedy cases, the argmax HF picks). Cases whose top-p or min-p decision is within 1e-5 of its
threshold are rejected, since float rounding legitimately decides those.
Usage: sampler_goldens.py OUT_JSON
"""
import json
import sys

import torch


def repetition_penalty(scores, input_ids, penalty):
    score = torch.gather(scores, 1, input_ids)
    score = torch.where(score < 0, score * penalty, score / penalty)
    return scores.scatter(1, input_ids, score)


def temperature(scores, t):
    return scores / t


def top_k(scores, k, min_tokens_to_keep=1):
    k = min(max(k, min_tokens_to_keep), scores.size(-1))
    remove = scores < torch.topk(scores, k)[0][..., -1, None]  # ties with the k-th value stay
    return scores.masked_fill(remove, -float("inf"))


def top_p(scores, p, min_tokens_to_keep=1):
    # Stable sort so that equal logits have a defined order (lower index removed first).
    sorted_logits, sorted_indices = torch.sort(scores, descending=False, stable=True)
    cumulative = sorted_logits.softmax(dim=-1).cumsum(dim=-1)
    sorted_remove = cumulative <= (1 - p)
    sorted_remove[..., -min_tokens_to_keep:] = 0
    margin = float((cumulative[..., :-min_tokens_to_keep] - (1 - p)).abs().min()) if scores.size(-1) > 1 else 1.0
    remove = sorted_remove.scatter(1, sorted_indices, sorted_remove)
    return scores.masked_fill(remove, -float("inf")), margin


def min_p(scores, m, min_tokens_to_keep=1):
    probs = torch.softmax(scores, dim=-1)
    scaled = m * probs.amax(dim=-1, keepdim=True)
    remove = probs < scaled
    sorted_indices = torch.argsort(scores, descending=True, dim=-1)
    sorted_remove = torch.gather(remove, dim=-1, index=sorted_indices)
    sorted_remove[..., :min_tokens_to_keep] = False
    remove = sorted_remove.scatter(1, sorted_indices, sorted_remove)
    # Probabilities exactly equal to the threshold (the top one and its ties) are kept exactly.
    near = probs[(probs > 0) & (probs != scaled)]
    margin = float(((near - scaled[0]) / scaled[0]).abs().min()) if m > 0 and near.numel() else 1.0
    return scores.masked_fill(remove, -float("inf")), margin


def process(logits, prev, params):
    """Returns (scores after all processors, smallest relative distance to a threshold)."""
    scores = logits[None].clone()
    margin = 1.0
    if params["repetition_penalty"] != 1.0 and prev:
        scores = repetition_penalty(scores, torch.tensor([prev]), params["repetition_penalty"])
    if not params["do_sample"]:
        return scores, margin
    if params["temperature"] != 1.0:
        scores = temperature(scores, params["temperature"])
    if params["top_k"] != 0:
        scores = top_k(scores, params["top_k"])
    if params["top_p"] < 1.0:
        scores, m = top_p(scores, params["top_p"])
        margin = min(margin, m)
    if params["min_p"] > 0.0:
        scores, m = min_p(scores, params["min_p"])
        margin = min(margin, m)
    return scores, margin


def params(do_sample=True, temperature=1.0, top_k=0, top_p=1.0, min_p=0.0, repetition_penalty=1.0):
    return dict(do_sample=do_sample, temperature=temperature, top_k=top_k, top_p=top_p, min_p=min_p,
                repetition_penalty=repetition_penalty)


PARAM_SETS = [
    params(),
    params(temperature=0.7),
    params(temperature=1.6),
    params(top_k=1),
    params(top_k=5),
    params(top_k=50),
    params(top_k=1000),  # larger than the vocabulary
    params(top_p=0.0),
    params(top_p=0.5),
    params(top_p=0.7),
    params(top_p=0.9),
    params(min_p=0.05),
    params(min_p=0.3),
    params(min_p=1.0),
    params(repetition_penalty=1.3),
    params(repetition_penalty=0.8),
    params(temperature=0.8, top_k=20, top_p=0.9),
    params(temperature=0.6, top_k=10, top_p=0.8, min_p=0.1, repetition_penalty=1.2),
    params(temperature=1.3, top_p=0.95, min_p=0.02, repetition_penalty=1.1),
    params(do_sample=False),
    params(do_sample=False, repetition_penalty=1.5),
]


def logits_cases(g):
    """(name, logits, previous ids): scales from flat to peaked, negatives, and tied values."""
    out = []
    for n, scale in ((64, 1.0), (64, 3.0), (200, 0.5), (200, 2.0)):
        out.append((f"normal{n}x{scale}", scale * torch.randn(n, generator=g)))
    out.append(("ties_half_steps", torch.round(2 * torch.randn(80, generator=g)) / 2))
    out.append(("ties_plateau", torch.tensor([3.0, 1.0, 2.0, 2.0, 2.0, 2.0, 0.5, -1.0, 2.0, 1.0, -3.0, 0.0])))
    out.append(("all_negative", -2.0 - torch.rand(48, generator=g)))
    out.append(("ties_uniform8", torch.full((8,), 0.75)))  # top-p boundaries inside one tie group
    result = []
    for name, logits in out:
        n = logits.numel()
        prev = torch.randint(0, n, (9,), generator=g).tolist() + [int(torch.argmax(logits))] * 2  # repeats, the top
        result.append((name, logits.float(), prev))
    return result


def short(t):
    """float32 values with 9 significant digits: exact, and half the size of repr()."""
    return [float(f"{x:.9g}") for x in t.tolist()]


def main(path):
    g = torch.Generator().manual_seed(20240611)
    cases = []
    rejected = 0
    for name, logits, prev in logits_cases(g):
        for p in PARAM_SETS:
            scores, margin = process(logits, prev, p)
            if margin < 1e-5:
                rejected += 1
                continue
            case = {"name": name, "params": p, "logits": short(logits), "previous_ids": prev}
            if p["do_sample"]:
                case["probs"] = short(torch.softmax(scores[0], dim=-1))
            else:
                case["greedy_id"] = int(torch.argmax(scores[0]))
            cases.append(case)
    with open(path, "w") as f:
        json.dump({"reference": f"tools/reference/sampler_goldens.py (torch {torch.__version__})",
                   "cases": cases}, f, separators=(",", ":"))
        f.write("\n")
    print(f"{len(cases)} cases written, {rejected} rejected as too close to a threshold", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1])
