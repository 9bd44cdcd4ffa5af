#!/usr/bin/python3
"""How much next-token KL divergence int8 quantization costs by itself, whatever the kernels.

Runs tools/reference/modeling.py with every Linear (and the LM head) quantized as zest's int8 format
quantizes: symmetric int8 weights with one scale per output row (or per group of inputs), and
activations quantized per row (or per group) on the fly, optionally with a residual int8 level
(x ~= d * (q + r / 254), zest's decoders); compares against f32 by
KL(f32 || int8), averaged over the positions of each golden prompt and its greedy continuation,
the quantity tests/models/dtypes_test.cpp measures for zest.
Run: /usr/bin/python3 tools/reference/int8_simulation.py tests/data/models/mistral-sw ...
"""
import json
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, __file__.rsplit("/", 1)[0])
import modeling  # noqa: E402

LINEAR = F.linear


def quantize(w, group):
    """Symmetric int8 over rows of w, one scale per `group` columns (0: per row), dequantized."""
    rows, cols = w.shape
    g = group or cols
    padded = F.pad(w, (0, (-cols) % g)).reshape(rows, -1, g)
    scale = padded.abs().amax(-1, keepdim=True) / 127
    q = torch.where(scale > 0, torch.round(padded / scale), torch.zeros_like(padded)).clamp(-127, 127)
    return (q * scale).reshape(rows, -1)[:, :cols]


def quantize_with_residual(x):
    """Per row: int8 over max|x| / 127, plus an int8 level for its rounding error, dequantized."""
    scale = x.abs().amax(-1, keepdim=True) / 127
    scaled = torch.where(scale > 0, x / scale, torch.zeros_like(x))
    q = torch.round(scaled)
    return scale * (q + torch.round((scaled - q) * 254) / 254)


def kl_int8(model_dir, weight_group, activation_group):
    """activation_group: None (f32), "residual", or a group as quantize() takes it."""
    model = modeling.load_model(model_dir)
    head = model.lm_head

    def activations(x):
        if activation_group is None:
            return x
        rows = x.reshape(-1, x.shape[-1])
        rows = quantize_with_residual(rows) if activation_group == "residual" else quantize(rows, activation_group)
        return rows.reshape(x.shape)

    def linear(x, w, b=None):
        return LINEAR(activations(x), quantize(w, weight_group), b)

    kls = []
    for prompt in json.load(open(f"{model_dir}/golden.json"))["prompts"]:
        ids = prompt["ids"] + prompt["greedy"]["ids"]
        F.linear, model.lm_head = LINEAR, head
        p = torch.log_softmax(model.logits(model.forward(ids)[0]), -1)
        F.linear, model.lm_head = linear, quantize(head, weight_group)
        hidden = activations(model.forward(ids)[0])
        q = torch.log_softmax(model.logits(hidden), -1)
        kls.append((p.exp() * (p - q)).sum(-1))
    F.linear, model.lm_head = LINEAR, head
    return torch.cat(kls).mean().item()


if __name__ == "__main__":
    for model_dir in sys.argv[1:]:
        for weights, activations in [(0, 0), (128, 0), (32, 32), (0, None), (32, None), (32, "residual")]:
            scheme = f"weights per {'row' if weights == 0 else weights}, activations " + (
                "f32" if activations is None else "int8 + residual per row" if activations == "residual"
                else f"int8 per {'row' if activations == 0 else activations}")
            print(f"{model_dir}: {scheme}: KL {kl_int8(model_dir, weights, activations):.3g}")
