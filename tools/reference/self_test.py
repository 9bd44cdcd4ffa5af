"""Checks of modeling.py that do not need another implementation, for the features the shared
fixtures do not cover. Usage: self_test.py (from anywhere; uses tests/data/models)."""
import copy
import os

import torch

import modeling

MODELS = os.path.join(os.path.dirname(__file__), "..", "..", "tests", "data", "models")


def last_logits(model, ids):
    with torch.no_grad():
        return model.logits(model.forward(ids)[0])[-1]


def sliding_window_reach():
    """With window W and L layers, the last position sees back L*(W-1) positions and no further:
    changing the token just outside that reach changes nothing, the one just inside does."""
    model = modeling.load_model(os.path.join(MODELS, "mistral-sw"))
    w, layers = model.windows[0], model.n_layer
    ids = list(range(10, 10 + 24))
    first_seen = len(ids) - 1 - layers * (w - 1)
    base = last_logits(model, ids)
    outside = ids.copy()
    outside[first_seen - 1] = 200
    inside = ids.copy()
    inside[first_seen] = 200
    d_out = float((last_logits(model, outside) - base).abs().max())
    d_in = float((last_logits(model, inside) - base).abs().max())
    assert d_out == 0.0 and d_in > 1e-3, (d_out, d_in)
    print(f"sliding window {w}, {layers} layers: token outside the reach changes logits by {d_out}, inside by {d_in:.3g}")


def grouped_query_equals_repeated_heads():
    """GQA with group g equals multi-head attention whose K/V projections repeat each KV head g
    times in a row (transformers' repeat_kv layout)."""
    model = modeling.load_model(os.path.join(MODELS, "llama-odd-gqa"))
    g, d = model.n_head // model.n_kv, model.head_dim
    mha = copy.copy(model)
    mha.w = dict(model.w)
    for i in range(model.n_layer):
        for name in ("k_proj", "v_proj"):
            for kind in ("weight", "bias"):
                key = f"model.layers.{i}.self_attn.{name}.{kind}"
                t = model.w[key]
                heads = t.reshape(model.n_kv, d, *t.shape[1:])
                mha.w[key] = heads.repeat_interleave(g, dim=0).reshape(model.n_head * d, *t.shape[1:])
    mha.n_kv = model.n_head
    ids = [1, 7, 30, 99, 4, 250, 17, 8, 8, 64]
    diff = float((last_logits(model, ids) - last_logits(mha, ids)).abs().max())
    assert diff < 1e-5, diff
    print(f"GQA {model.n_head}:{model.n_kv} vs repeated heads: max logit difference {diff:.3g}")


def linear_rope_scaling_is_position_division():
    """Linear scaling by f at position p rotates like the default RoPE at position p / f."""
    config = {"rope_theta": 10000.0, "rope_scaling": {"type": "linear", "factor": 4.0}}
    scaled = modeling.rope_inv_freq(config, 24)
    plain = modeling.rope_inv_freq({"rope_theta": 10000.0}, 24)
    pos = torch.arange(0, 64).float()
    diff = float((pos[:, None] * scaled - (pos / 4.0)[:, None] * plain).abs().max())
    assert diff < 1e-5, diff
    print(f"linear rope scaling vs positions / factor: max angle difference {diff:.3g}")


if __name__ == "__main__":
    sliding_window_reach()
    grouped_query_equals_repeated_heads()
    linear_rope_scaling_is_position_division()
