"""Golden records in the shared fixtures' format ("lab-golden-1"), computed with modeling.py."""
import math

import torch


def num(x):
    """A float rounded to 9 significant digits: enough to carry every float32 exactly."""
    return float(f"{float(x):.9g}")


def nums(t):
    return [num(x) for x in t.reshape(-1).tolist()]


def stats(v):
    """Statistics of a vector (std unbiased, as torch.std) and its first 16 values."""
    return {"mean": num(v.mean()), "std": num(v.std()), "min": num(v.min()), "max": num(v.max()),
            "l2": num(v.norm()), "head": nums(v[:16])}


def top5(logits):
    values, ids = torch.topk(logits, 5)
    return [[int(i), num(v)] for i, v in zip(ids.tolist(), values.tolist())]


def decoder_prompt(model, ids, n_greedy, positions):
    """One prompt's record: logits at the last and a few positions, final hidden-state statistics,
    and n_greedy greedy tokens computed with a KV cache and checked against uncached runs."""
    with torch.no_grad():
        hidden, cache = model.forward(ids)
        logits = model.logits(hidden)
        last = logits[-1]
        rec = {
            "ids": list(ids),
            "argmax_last": int(torch.argmax(last)),
            "logsumexp_last": num(torch.logsumexp(last, 0)),
            "last_logits": nums(last),
            "position_logits": {str(p): nums(logits[p]) for p in positions if p < len(ids) - 1},
            "hidden_last": stats(hidden[-1]),
        }
        seq = list(ids)
        step_logits = last
        out, steps = [], []
        nocache_diff = 0.0
        nocache_equal = True
        for step in range(n_greedy):
            nxt = int(torch.argmax(step_logits))
            out.append(nxt)
            steps.append(top5(step_logits))
            seq.append(nxt)
            if step + 1 == n_greedy:
                break
            h, cache = model.forward([nxt], cache)
            step_logits = model.logits(h)[-1]
            full = model.logits(model.forward(seq)[0])[-1]
            nocache_diff = max(nocache_diff, float((full - step_logits).abs().max()))
            nocache_equal &= int(torch.argmax(full)) == int(torch.argmax(step_logits))
        rec["greedy"] = {"n": n_greedy, "ids": out, "step_top5": steps, "nocache_ids_equal": nocache_equal,
                         "nocache_max_abs_logit_diff": num(nocache_diff),
                         "min_top1_margin": num(min(s[0][1] - s[1][1] for s in steps))}
        return rec


def bert_prompt(model, ids, positions, token_type_ids=None):
    """One text's record for a BERT: hidden states, pooler and the heads the weights carry."""
    with torch.no_grad():
        x = torch.tensor([ids])
        types = None if token_type_ids is None else torch.tensor([token_type_ids])
        hidden = model.forward(x, token_type_ids=types)[0]
        pooled = model.pooler(hidden[None])[0] if model.p("pooler.dense.weight", False) is not None else None
        rec = {"ids": list(ids), "hidden_last": stats(hidden[-1]), "hidden_first": stats(hidden[0])}
        if token_type_ids is not None:
            rec["token_type_ids"] = list(token_type_ids)
        if "cls.predictions.bias" in model.w:
            logits = model.mlm_logits(hidden)
            rec["argmax_last"] = int(torch.argmax(logits[-1]))
            rec["last_logits"] = nums(logits[-1])
            rec["position_logits"] = {str(p): nums(logits[p]) for p in positions if p < len(ids)}
        if pooled is not None:
            rec["pooler"] = stats(pooled)
        if "classifier.weight" in model.w:
            cls = model.classifier_logits(pooled[None])[0]
            rec["classifier_logits"] = nums(cls)
            rec["classifier_softmax"] = nums(torch.softmax(cls, 0))
            rec["classifier_sigmoid"] = nums(torch.sigmoid(cls))
        return rec


def padded_batch(model, prompts, pad_id):
    """Runs the prompts as one right-padded batch and returns the largest difference of the real
    tokens' hidden states from running each alone."""
    with torch.no_grad():
        n = max(len(p) for p in prompts)
        ids = torch.full((len(prompts), n), pad_id, dtype=torch.long)
        mask = torch.zeros(len(prompts), n)
        for i, p in enumerate(prompts):
            ids[i, :len(p)] = torch.tensor(p)
            mask[i, :len(p)] = 1
        batch = model.forward(ids, mask)
        diff = 0.0
        for i, p in enumerate(prompts):
            alone = model.forward(torch.tensor([p]))[0]
            diff = max(diff, float((batch[i, :len(p)] - alone).abs().max()))
        return ids, mask, batch, diff
