"""Plain-PyTorch re-implementation of transformers' Gemma2ForCausalLM, Gemma3ForCausalLM
(model_type gemma3_text) and the text part of Gemma3ForConditionalGeneration (model_type gemma3),
read from transformers v5.2.0 src/transformers/models/gemma2/modeling_gemma2.py and
models/gemma3/modeling_gemma3.py (and checked against v4.50.0 / v4.57.6, see the notes below).

Float32 throughout from the stored weights upcast, eager attention, optional KV cache. Also the
RoPE parameter reading shared by modeling_olmo2.py and modeling_granite.py: both the
transformers 4 keys (rope_theta / rope_scaling, Gemma 3's rope_local_base_freq) and the
transformers 5 `rope_parameters` (one dict, or one per layer type).
"""
import json
import math
import os

import torch
import torch.nn.functional as F

import modeling

# Gemma3TextConfig's RoPE defaults (v5.2.0 configuration_gemma3.py: default_theta; v4.5x:
# rope_theta=1e6, rope_local_base_freq=1e4).
GEMMA3_THETA = {"full_attention": 1_000_000.0, "sliding_attention": 10_000.0}


def rope_params(config, layer_type=None):
    """The RoPE parameters of one layer type as transformers 5 standardizes them:
    {"rope_type", "rope_theta", "factor"?, "partial_rotary_factor"?}.

    - transformers 5: `rope_parameters` is either one dict or, when its keys are layer types
      (Gemma 3), one dict per layer type (modeling_rope_utils.py standardize_rope_params).
    - transformers 4: `rope_theta` + `rope_scaling` ({"type" or "rope_type", "factor"}); Gemma 3's
      sliding layers use `rope_local_base_freq` and no scaling (v4.57.6 modeling_gemma3.py
      Gemma3TextModel.__init__: rotary_emb_local with rope_scaling {"rope_type": "default"}).
    """
    rp = config.get("rope_parameters")
    if rp is not None:
        layer_types = config.get("layer_types") or []
        if rp and set(rp.keys()) <= set(layer_types):
            if layer_type not in rp:
                raise ValueError(f"rope_parameters has no entry for layer type {layer_type!r}")
            rp = rp[layer_type]
        p = dict(rp)
    else:
        gemma3 = config.get("model_type") == "gemma3_text"
        if gemma3 and layer_type == "sliding_attention":
            return {"rope_type": "default", "rope_theta": float(config.get("rope_local_base_freq", 10_000.0))}
        default_theta = GEMMA3_THETA["full_attention"] if gemma3 else 10_000.0
        p = dict(config.get("rope_scaling") or {})
        p["rope_theta"] = config.get("rope_theta", default_theta)
    p["rope_type"] = p.get("rope_type", p.get("type", "default"))
    if "partial_rotary_factor" in config and "partial_rotary_factor" not in p:
        p["partial_rotary_factor"] = config["partial_rotary_factor"]
    return p


def inv_freq(params, head_dim):
    """Default RoPE: inv_freq[i] = theta^(-2i/dim), dim = int(head_dim * partial_rotary_factor);
    linear: the same divided by `factor` (modeling_rope_utils.py
    _compute_linear_scaling_rope_parameters). Other types are refused here."""
    kind = params["rope_type"]
    dim = int(head_dim * params.get("partial_rotary_factor", 1.0))
    base = float(params["rope_theta"])
    freq = 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.int64).float() / dim))
    if kind == "linear":
        return freq / float(params["factor"])
    if kind != "default":
        raise ValueError(f"rope_type {kind!r} is not implemented in this reference")
    return freq


def cos_sin(freq, start, t):
    pos = torch.arange(start, start + t, dtype=torch.int64).float()
    freqs = pos[:, None] * freq[None, :]
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos(), emb.sin()


def apply_rope(x, cos, sin):
    rot = cos.shape[-1]
    x_rot, x_pass = x[..., :rot], x[..., rot:]
    return torch.cat([x_rot * cos + modeling.rotate_half(x_rot) * sin, x_pass], dim=-1)


def softcap(x, cap):
    """tanh soft-capping: cap * tanh(x / cap), in that operation order."""
    return torch.tanh(x / cap) * cap


def gemma_layer_types(c):
    """Which layers use the sliding window.
    gemma2: v4.4x-4.50 `not bool(layer_idx % 2)` (even layers slide); v4.53+ and v5 write
    `layer_types`, defaulting to the same ("sliding_attention" if (i + 1) % 2 else "full_attention").
    gemma3_text: `layer_types` when present, else `sliding_window_pattern` (v4.50; default 6):
    layer i slides iff (i + 1) % pattern != 0. v4.53+ also write `_sliding_window_pattern`, which
    transformers uses only when `layer_types` is absent."""
    n = c["num_hidden_layers"]
    if c.get("layer_types") is not None:
        types = list(c["layer_types"])
        if len(types) != n or not set(types) <= {"sliding_attention", "full_attention"}:
            raise ValueError(f"bad layer_types {types}")
        return types
    pattern = 2 if c["model_type"] == "gemma2" else c.get("sliding_window_pattern", c.get("_sliding_window_pattern", 6))
    return ["sliding_attention" if (i + 1) % pattern else "full_attention" for i in range(n)]


def text_config(config):
    """gemma3 (Gemma3ForConditionalGeneration) carries the decoder's config in `text_config`."""
    if config["model_type"] == "gemma3":
        c = dict(config["text_config"])
        c.setdefault("model_type", "gemma3_text")
        return c
    return config


class Gemma:
    """Gemma2 / Gemma3 decoders (transformers v5.2.0, same maths in v4.50-v4.57):
    x = embed[ids] * sqrt(hidden)  (the normalizer cast to the hidden dtype: float32 here)
    per layer:  h = x + post_attention_norm(attn(input_norm(x)))
                x = h + post_feedforward_norm(mlp(pre_feedforward_norm(h)))
    norm(x) = x / sqrt(mean(x^2) + eps) * (1 + w), in float32.
    attn: q, k, v projections; gemma3 adds q_norm / k_norm (Gemma norm over head_dim, per head,
    before RoPE); scores = q.k * query_pre_attn_scalar^-0.5; gemma2 soft-caps the scores
    (attn_logit_softcapping) before the mask; sliding layers see keys j with i - W < j <= i.
    mlp: down(gelu_tanh(gate(x)) * up(x)). logits = norm(x) @ embed^T (tied) or lm_head, then
    final_logit_softcapping (gemma2, gemma3_text when not null; Gemma3ForConditionalGeneration
    never applies it)."""

    def __init__(self, config, weights):
        self.outer = config
        c = self.c = text_config(config)
        self.kind = c["model_type"]
        if self.kind not in ("gemma2", "gemma3_text"):
            raise ValueError(f"not a Gemma 2/3 config: {self.kind}")
        self.w = weights
        self.multimodal = config["model_type"] == "gemma3"
        # transformers 4.5x and 5 save Gemma3ForConditionalGeneration as language_model.model.*;
        # the module names (and save_pretrained(save_original_format=False)) are model.language_model.*
        self.prefix = ["language_model.model.", "model.language_model."] if self.multimodal else ["model."]
        self.n_layer = c["num_hidden_layers"]
        self.n_head = c["num_attention_heads"]
        self.n_kv = c.get("num_key_value_heads") or self.n_head
        self.hidden = c["hidden_size"]
        self.head_dim = c.get("head_dim") or self.hidden // self.n_head
        self.eps = c.get("rms_norm_eps", 1e-6)
        self.act = modeling.activation(c.get("hidden_activation") or "gelu_pytorch_tanh")
        if c.get("attention_bias", False):
            raise ValueError("attention_bias is not implemented in this reference")
        self.scale = float(c.get("query_pre_attn_scalar", 256)) ** -0.5
        # Gemma3Attention stores attn_logit_softcapping but never passes it to the attention
        # function (v4.50.0 ... v5.2.0): only Gemma 2 caps the scores.
        self.attn_cap = c.get("attn_logit_softcapping") if self.kind == "gemma2" else None
        self.final_cap = None if self.multimodal else c.get("final_logit_softcapping")
        self.layer_types = gemma_layer_types(c)
        self.windows = [c["sliding_window"] if t == "sliding_attention" else None for t in self.layer_types]
        if self.kind == "gemma2":
            freq = inv_freq(rope_params(c), self.head_dim)
            self.freqs = {t: freq for t in set(self.layer_types)}
        else:
            self.freqs = {t: inv_freq(rope_params(c, t), self.head_dim) for t in set(self.layer_types)}
        self.embed = modeling._pick(weights, self.prefix, "embed_tokens.weight")
        head = weights.get("lm_head.weight", weights.get("language_model.lm_head.weight"))
        tie = config.get("tie_word_embeddings", c.get("tie_word_embeddings", True))
        if not tie and head is None:
            raise KeyError("lm_head.weight missing and tie_word_embeddings is false")
        self.lm_head = self.embed if tie else head

    def p(self, name):
        return modeling._pick(self.w, self.prefix, name)

    def norm(self, x, name):
        variance = x.pow(2).mean(-1, keepdim=True)
        return (x * torch.rsqrt(variance + self.eps)) * (1.0 + self.p(name + ".weight"))

    def linear(self, x, name):
        return F.linear(x, self.p(name + ".weight"))

    def attend(self, q, k, v, mask):
        scores = torch.matmul(q, k.transpose(-1, -2)) * self.scale
        if self.attn_cap is not None:
            scores = softcap(scores, self.attn_cap)
        scores = scores.masked_fill(~mask, torch.finfo(torch.float32).min)
        return torch.matmul(torch.softmax(scores, dim=-1, dtype=torch.float32), v)

    def forward(self, ids, cache=None):
        start = 0 if cache is None else cache[0][0].shape[1]
        t = len(ids)
        normalizer = torch.tensor(self.hidden ** 0.5, dtype=torch.float32)
        x = self.embed[torch.tensor(ids, dtype=torch.long)] * normalizer
        rope = {kind: cos_sin(f, start, t) for kind, f in self.freqs.items()}
        new_cache = []
        for i in range(self.n_layer):
            h = f"layers.{i}."
            a = self.norm(x, h + "input_layernorm")
            q = self.linear(a, h + "self_attn.q_proj").view(t, self.n_head, self.head_dim).transpose(0, 1)
            k = self.linear(a, h + "self_attn.k_proj").view(t, self.n_kv, self.head_dim).transpose(0, 1)
            v = self.linear(a, h + "self_attn.v_proj").view(t, self.n_kv, self.head_dim).transpose(0, 1)
            if self.kind == "gemma3_text":
                q = self.norm(q, h + "self_attn.q_norm")
                k = self.norm(k, h + "self_attn.k_norm")
            cos, sin = rope[self.layer_types[i]]
            q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
            if cache is not None:
                k = torch.cat([cache[i][0], k], dim=1)
                v = torch.cat([cache[i][1], v], dim=1)
            new_cache.append((k, v))
            group = self.n_head // self.n_kv
            o = self.attend(q, k.repeat_interleave(group, dim=0), v.repeat_interleave(group, dim=0),
                            modeling.causal_mask(start, t, self.windows[i]))
            o = self.linear(o.transpose(0, 1).reshape(t, self.n_head * self.head_dim), h + "self_attn.o_proj")
            x = x + self.norm(o, h + "post_attention_layernorm")
            m = self.norm(x, h + "pre_feedforward_layernorm")
            m = self.linear(self.act(self.linear(m, h + "mlp.gate_proj")) * self.linear(m, h + "mlp.up_proj"),
                            h + "mlp.down_proj")
            x = x + self.norm(m, h + "post_feedforward_layernorm")
        return self.norm(x, "norm"), new_cache

    def logits(self, hidden):
        out = hidden @ self.lm_head.T
        return out if self.final_cap is None else softcap(out, self.final_cap)


def load_model(model_dir):
    with open(os.path.join(model_dir, "config.json")) as f:
        config = json.load(f)
    return Gemma(config, modeling.load_weights(model_dir))
