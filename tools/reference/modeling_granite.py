"""Plain-PyTorch re-implementation of transformers' GraniteForCausalLM (v5.2.0
src/transformers/models/granite/modeling_granite.py; the same maths in v4.45-v4.57).

A Llama with four multipliers from config.json:
    x = embed[ids] * embedding_multiplier          (the tied head uses the unscaled matrix)
    per layer:  h = x + residual_multiplier * attn(rms(x))
                x = h + residual_multiplier * mlp(rms(h))
    attn scores = q.k * attention_multiplier       (instead of head_dim^-0.5)
    logits = (rms(x) @ lm_head^T) / logits_scaling
rms(x) = w * (x / sqrt(mean(x^2) + eps)); mlp: down(silu(gate(x)) * up(x)); optional
attention_bias (q, k, v, o) and mlp_bias. Float32 from the stored weights upcast, eager, KV cache.
"""
import json
import os

import torch
import torch.nn.functional as F

import modeling
from modeling_gemma import apply_rope, cos_sin, inv_freq, rope_params


class Granite:
    def __init__(self, config, weights):
        c = self.c = config
        if c["model_type"] != "granite":
            raise ValueError(f"not a Granite config: {c['model_type']}")
        self.w = weights
        self.prefix = ["model."]
        self.n_layer = c["num_hidden_layers"]
        self.n_head = c["num_attention_heads"]
        self.n_kv = c.get("num_key_value_heads") or self.n_head
        self.hidden = c["hidden_size"]
        self.head_dim = c.get("head_dim") or self.hidden // self.n_head
        self.eps = c.get("rms_norm_eps", 1e-6)
        self.act = modeling.activation(c.get("hidden_act", "silu"))
        self.attn_bias = c.get("attention_bias", False)
        self.mlp_bias = c.get("mlp_bias", False)
        self.embedding_multiplier = float(c.get("embedding_multiplier", 1.0))
        self.residual_multiplier = float(c.get("residual_multiplier", 1.0))
        self.attention_multiplier = float(c.get("attention_multiplier", 1.0))
        self.logits_scaling = float(c.get("logits_scaling", 1.0))
        self.freq = inv_freq(rope_params(c), self.head_dim)
        self.embed = modeling._pick(weights, self.prefix, "embed_tokens.weight")
        head = weights.get("lm_head.weight")
        tie = c.get("tie_word_embeddings", False)
        if not tie and head is None:
            raise KeyError("lm_head.weight missing and tie_word_embeddings is false")
        self.lm_head = self.embed if tie else head

    def p(self, name):
        return modeling._pick(self.w, self.prefix, name)

    def rms(self, x, name):
        variance = x.pow(2).mean(-1, keepdim=True)
        return self.p(name + ".weight") * (x * torch.rsqrt(variance + self.eps))

    def linear(self, x, name, bias):
        return F.linear(x, self.p(name + ".weight"), self.p(name + ".bias") if bias else None)

    def forward(self, ids, cache=None):
        start = 0 if cache is None else cache[0][0].shape[1]
        t = len(ids)
        x = self.embed[torch.tensor(ids, dtype=torch.long)] * self.embedding_multiplier
        cos, sin = cos_sin(self.freq, start, t)
        new_cache = []
        for i in range(self.n_layer):
            h = f"layers.{i}."
            a = self.rms(x, h + "input_layernorm")
            q = self.linear(a, h + "self_attn.q_proj", self.attn_bias).view(t, self.n_head, self.head_dim).transpose(0, 1)
            k = self.linear(a, h + "self_attn.k_proj", self.attn_bias).view(t, self.n_kv, self.head_dim).transpose(0, 1)
            v = self.linear(a, h + "self_attn.v_proj", self.attn_bias).view(t, self.n_kv, self.head_dim).transpose(0, 1)
            q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
            if cache is not None:
                k = torch.cat([cache[i][0], k], dim=1)
                v = torch.cat([cache[i][1], v], dim=1)
            new_cache.append((k, v))
            group = self.n_head // self.n_kv
            o = modeling._attend(q, k.repeat_interleave(group, dim=0), v.repeat_interleave(group, dim=0),
                                 self.attention_multiplier, modeling.causal_mask(start, t))
            o = self.linear(o.transpose(0, 1).reshape(t, self.n_head * self.head_dim), h + "self_attn.o_proj",
                            self.attn_bias)
            x = x + o * self.residual_multiplier
            m = self.rms(x, h + "post_attention_layernorm")
            m = self.linear(self.act(self.linear(m, h + "mlp.gate_proj", self.mlp_bias))
                            * self.linear(m, h + "mlp.up_proj", self.mlp_bias), h + "mlp.down_proj", self.mlp_bias)
            x = x + m * self.residual_multiplier
        return self.rms(x, "norm"), new_cache

    def logits(self, hidden):
        return (hidden @ self.lm_head.T) / self.logits_scaling


def load_model(model_dir):
    with open(os.path.join(model_dir, "config.json")) as f:
        config = json.load(f)
    return Granite(config, modeling.load_weights(model_dir))
