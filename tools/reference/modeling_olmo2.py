"""Plain-PyTorch re-implementation of transformers' Olmo2ForCausalLM (v5.2.0
src/transformers/models/olmo2/modeling_olmo2.py; the same maths in v4.47-v4.57).

Float32 from the stored weights upcast, eager attention, optional KV cache.
    x = embed[ids]                                 (no scale)
    per layer:  h = x + post_attention_layernorm(attn(x))        (no input norm: norm after)
                x = h + post_feedforward_layernorm(mlp(h))
    attn: q = q_norm(q_proj(x)), k = k_norm(k_proj(x)) over the WHOLE projection
          (q_norm has num_heads*head_dim weights, k_norm num_kv_heads*head_dim), then split into
          heads, RoPE, scores * head_dim^-0.5, causal softmax, o_proj.
    rms(x) = w * (x / sqrt(mean(x^2) + eps))       (plain weight, not 1 + w)
    mlp: down(silu(gate(x)) * up(x)); logits = rms(x) @ lm_head^T (untied by default).
"""
import json
import os

import torch
import torch.nn.functional as F

import modeling
from modeling_gemma import apply_rope, cos_sin, inv_freq, rope_params


class Olmo2:
    def __init__(self, config, weights):
        c = self.c = config
        if c["model_type"] != "olmo2":
            raise ValueError(f"not an OLMo 2 config: {c['model_type']}")
        self.w = weights
        self.prefix = ["model."]
        self.n_layer = c["num_hidden_layers"]
        self.n_head = c["num_attention_heads"]
        self.n_kv = c.get("num_key_value_heads") or self.n_head
        self.hidden = c["hidden_size"]
        self.head_dim = c.get("head_dim") or self.hidden // self.n_head
        self.eps = c.get("rms_norm_eps", 1e-5)
        self.act = modeling.activation(c.get("hidden_act", "silu"))
        self.bias = c.get("attention_bias", False)
        self.freq = inv_freq(rope_params(c), self.head_dim)
        self.embed = modeling._pick(weights, self.prefix, "embed_tokens.weight")
        head = weights.get("lm_head.weight")
        tie = c.get("tie_word_embeddings", False)
        if not tie and head is None:
            raise KeyError("lm_head.weight missing and tie_word_embeddings is false")
        self.lm_head = self.embed if tie else head

    def p(self, name, required=True):
        return modeling._pick(self.w, self.prefix, name, required)

    def rms(self, x, name):
        variance = x.pow(2).mean(-1, keepdim=True)
        return self.p(name + ".weight") * (x * torch.rsqrt(variance + self.eps))

    def linear(self, x, name, bias=False):
        return F.linear(x, self.p(name + ".weight"), self.p(name + ".bias") if bias else None)

    def forward(self, ids, cache=None):
        start = 0 if cache is None else cache[0][0].shape[1]
        t = len(ids)
        x = self.embed[torch.tensor(ids, dtype=torch.long)]
        cos, sin = cos_sin(self.freq, start, t)
        new_cache = []
        for i in range(self.n_layer):
            h = f"layers.{i}."
            q = self.rms(self.linear(x, h + "self_attn.q_proj", self.bias), h + "self_attn.q_norm")
            k = self.rms(self.linear(x, h + "self_attn.k_proj", self.bias), h + "self_attn.k_norm")
            v = self.linear(x, h + "self_attn.v_proj", self.bias)
            q = q.view(t, self.n_head, self.head_dim).transpose(0, 1)
            k = k.view(t, self.n_kv, self.head_dim).transpose(0, 1)
            v = v.view(t, self.n_kv, self.head_dim).transpose(0, 1)
            q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
            if cache is not None:
                k = torch.cat([cache[i][0], k], dim=1)
                v = torch.cat([cache[i][1], v], dim=1)
            new_cache.append((k, v))
            group = self.n_head // self.n_kv
            o = modeling._attend(q, k.repeat_interleave(group, dim=0), v.repeat_interleave(group, dim=0),
                                 self.head_dim ** -0.5, modeling.causal_mask(start, t))
            o = self.linear(o.transpose(0, 1).reshape(t, self.n_head * self.head_dim), h + "self_attn.o_proj", self.bias)
            x = x + self.rms(o, h + "post_attention_layernorm")
            m = self.linear(self.act(self.linear(x, h + "mlp.gate_proj")) * self.linear(x, h + "mlp.up_proj"),
                            h + "mlp.down_proj")
            x = x + self.rms(m, h + "post_feedforward_layernorm")
        return self.rms(x, "norm"), new_cache

    def logits(self, hidden):
        return hidden @ self.lm_head.T


def load_model(model_dir):
    with open(os.path.join(model_dir, "config.json")) as f:
        config = json.load(f)
    return Olmo2(config, modeling.load_weights(model_dir))
