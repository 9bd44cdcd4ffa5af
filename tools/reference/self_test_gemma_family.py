"""Identities that the Gemma 2 / Gemma 3 / OLMo 2 / Granite references must satisfy, on the
committed fixtures. Usage: self_test_gemma_family.py (from anywhere; uses tests/data/models).

- each family with its extra features neutralised equals modeling.Llama on the same weights;
- each extra feature changes the logits (the fixtures exercise it: soft-capping bites, the
  windows are shorter than the prompts, the multipliers and q/k norms matter);
- the transformers 4.50 and 5.2 forms of a directory give the same logits;
- linear RoPE with factor 1 equals the default; rope_parameters read as rope_theta/rope_scaling;
- a gemma3 multimodal directory equals a gemma3_text model built from its text_config.
"""
import copy
import os

import torch

import modeling
import modeling_gemma
import modeling_granite
import modeling_olmo2

MODELS = os.path.join(os.path.dirname(__file__), "..", "..", "tests", "data", "models")
IDS = [2, 7, 30, 95, 4, 60, 17, 8, 8, 64, 5, 77, 3, 90, 41, 12, 70, 23, 9, 55, 61, 2, 14, 88, 31]


def last_logits(model, ids=IDS):
    with torch.no_grad():
        return model.logits(model.forward(ids)[0])[-1]


def diff(a, b):
    return float((a - b).abs().max())


def llama_config(c, **extra):
    out = {"model_type": "llama", "num_hidden_layers": c["num_hidden_layers"],
           "num_attention_heads": c["num_attention_heads"], "num_key_value_heads": c["num_key_value_heads"],
           "hidden_size": c["hidden_size"], "head_dim": c.get("head_dim") or c["hidden_size"] // c["num_attention_heads"],
           "rms_norm_eps": c["rms_norm_eps"], "tie_word_embeddings": True}
    out.update(extra)
    return out


def gemma_as_llama():
    """Gemma 2 with its extras neutralised is a Llama with gelu_pytorch_tanh: no caps, no window,
    query_pre_attn_scalar = head_dim, post_attention / post_feedforward norms the identity; then
    Llama's input_layernorm / post_attention_layernorm / norm weights are 1 + Gemma's
    input_layernorm / pre_feedforward_layernorm / norm weights, and Llama's embedding table is
    Gemma's times sqrt(hidden) (the tied head keeps the unscaled table)."""
    g = modeling_gemma.load_model(os.path.join(MODELS, "gemma2"))
    g.attn_cap = g.final_cap = None
    g.windows = [None] * g.n_layer
    g.scale = g.head_dim ** -0.5
    gemma_norm = g.norm
    g.norm = lambda x, name: x if ("post_attention" in name or "post_feedforward" in name) else gemma_norm(x, name)
    w = dict(g.w)
    for i in range(g.n_layer):
        p = f"model.layers.{i}."
        w[p + "input_layernorm.weight"] = 1.0 + g.w[p + "input_layernorm.weight"]
        w[p + "post_attention_layernorm.weight"] = 1.0 + g.w[p + "pre_feedforward_layernorm.weight"]
    w["model.norm.weight"] = 1.0 + g.w["model.norm.weight"]
    llama = modeling.Llama(llama_config(g.c, hidden_act="gelu_pytorch_tanh", rope_theta=10000.0), w)
    llama.embed = g.embed * torch.tensor(g.hidden ** 0.5)
    llama.lm_head = g.embed
    d = diff(last_logits(g), last_logits(llama))
    assert d < 1e-5, d
    print(f"gemma2 without caps, window, post norms, with scale head_dim^-0.5 vs Llama: {d:.3g}")


def features_bite():
    """Each Gemma 2 / Gemma 3 feature moves the last logits clearly on the fixtures."""
    for name, attr, value in (("gemma2", "attn_cap", None), ("gemma2", "final_cap", None),
                              ("gemma2", "windows", [None] * 4), ("gemma3-text", "windows", [None] * 4),
                              ("gemma3", "windows", [None] * 3)):
        m = modeling_gemma.load_model(os.path.join(MODELS, name))
        base = last_logits(m)
        setattr(m, attr, value)
        d = diff(base, last_logits(m))
        assert d > 1e-2, (name, attr, d)
        print(f"{name}: removing {attr} changes the last logits by {d:.3g}")
    for name in ("gemma3-text", "gemma3"):
        m = modeling_gemma.load_model(os.path.join(MODELS, name))
        base = last_logits(m)
        m.freqs["full_attention"] = m.freqs["full_attention"] * 8.0
        d = diff(base, last_logits(m))
        assert d > 1e-2, d
        print(f"{name}: dropping the linear factor 8 of the global layers changes the logits by {d:.3g}")
        m = modeling_gemma.load_model(os.path.join(MODELS, name))
        m.freqs["sliding_attention"] = m.freqs["full_attention"]
        d = diff(base, last_logits(m))
        assert d > 1e-2, d
        print(f"{name}: local layers with the global rope instead of rope_local_base_freq: {d:.3g}")
        m = modeling_gemma.load_model(os.path.join(MODELS, name))
        gemma_norm = m.norm
        m.norm = lambda x, n, f=gemma_norm: x if ("q_norm" in n or "k_norm" in n) else f(x, n)
        d = diff(base, last_logits(m))
        assert d > 1e-2, d
        print(f"{name}: without q_norm/k_norm: {d:.3g}")
    g = modeling_gemma.load_model(os.path.join(MODELS, "gemma2"))
    shares = []
    attend = g.attend

    def spy(q, k, v, mask):
        s = torch.matmul(q, k.transpose(-1, -2)) * g.scale
        shares.append(float((s.abs() > g.attn_cap / 2)[mask.expand_as(s)].float().mean()))
        return attend(q, k, v, mask)
    g.attend = spy
    with torch.no_grad():
        raw = g.forward(IDS)[0][-1] @ g.lm_head.T
    print(f"gemma2: share of causal attention scores beyond cap/2 per layer {[round(s, 2) for s in shares]} "
          f"(cap {g.attn_cap}); largest |logit| before the final cap {float(raw.abs().max()):.3g} (cap {g.final_cap})")


def olmo2_as_llama():
    """OLMo 2's q_norm and k_norm each matter; with every norm made the identity (OLMo 2's q/k
    and post norms, Llama's pre norms) an OLMo 2 model computes exactly a Llama's maths."""
    base = last_logits(modeling_olmo2.load_model(os.path.join(MODELS, "olmo2")))
    for name in ("q_norm", "k_norm", "post_attention", "post_feedforward"):
        m = modeling_olmo2.load_model(os.path.join(MODELS, "olmo2"))
        rms = m.rms
        m.rms = lambda x, n, f=rms, name=name: x if name in n else f(x, n)
        d = diff(base, last_logits(m))
        assert d > 1e-2, (name, d)
        print(f"olmo2: without {name} the logits change by {d:.3g}")
    m = modeling_olmo2.load_model(os.path.join(MODELS, "olmo2"))
    m.rms = lambda x, n: x
    cfg = llama_config(m.c, hidden_act="silu", tie_word_embeddings=False,
                       rope_theta=modeling_gemma.rope_params(m.c)["rope_theta"])
    llama = modeling.Llama(cfg, m.w)
    llama.rms = lambda x, n: x
    d = diff(last_logits(m), last_logits(llama))
    assert d < 1e-4, d
    print(f"olmo2 with every norm the identity vs Llama likewise: {d:.3g}")


def granite_as_llama():
    """Granite with all multipliers neutral (embedding 1, residual 1, attention head_dim^-0.5,
    logits 1) equals Llama on the same weights; each multiplier changes the logits."""
    g = modeling_granite.load_model(os.path.join(MODELS, "granite"))
    base = last_logits(g)
    for attr in ("embedding_multiplier", "residual_multiplier", "attention_multiplier", "logits_scaling"):
        m = modeling_granite.load_model(os.path.join(MODELS, "granite"))
        setattr(m, attr, m.head_dim ** -0.5 if attr == "attention_multiplier" else 1.0)
        d = diff(base, last_logits(m))
        assert d > 1e-2, (attr, d)
        print(f"granite: neutral {attr} changes the logits by {d:.3g}")
    g.embedding_multiplier = g.residual_multiplier = g.logits_scaling = 1.0
    g.attention_multiplier = g.head_dim ** -0.5
    llama = modeling.Llama(llama_config(g.c, hidden_act="silu", rope_theta=10000.0), g.w)
    d = diff(last_logits(g), last_logits(llama))
    assert d < 1e-5, d
    print(f"granite with neutral multipliers vs Llama: {d:.3g}")


def v4_equals_v5():
    for name in ("gemma2", "gemma3-text", "gemma3", "olmo2", "granite"):
        load = {"olmo2": modeling_olmo2.load_model, "granite": modeling_granite.load_model}.get(name, modeling_gemma.load_model)
        d = diff(last_logits(load(os.path.join(MODELS, name))), last_logits(load(os.path.join(MODELS, name + "-v5"))))
        assert d == 0.0, (name, d)
    print("transformers 4.50 and 5.2 forms: identical logits for all five")


def rope_identities():
    plain = modeling_gemma.inv_freq({"rope_type": "default", "rope_theta": 1e4}, 16)
    one = modeling_gemma.inv_freq({"rope_type": "linear", "rope_theta": 1e4, "factor": 1.0}, 16)
    assert diff(plain, one) == 0.0
    v4 = modeling_gemma.rope_params({"model_type": "llama", "rope_theta": 5e5, "rope_scaling": {"type": "linear", "factor": 2.0}})
    v5 = modeling_gemma.rope_params({"model_type": "llama", "rope_parameters": {"rope_theta": 5e5, "rope_type": "linear", "factor": 2.0}})
    assert diff(modeling_gemma.inv_freq(v4, 16), modeling_gemma.inv_freq(v5, 16)) == 0.0
    ref = modeling.rope_inv_freq({"rope_theta": 5e5, "rope_scaling": {"type": "linear", "factor": 2.0}}, 16)
    assert diff(modeling_gemma.inv_freq(v4, 16), ref) == 0.0
    print("rope: linear factor 1 == default; rope_parameters == rope_theta/rope_scaling == modeling.rope_inv_freq")


def multimodal_equals_text():
    mm = modeling_gemma.load_model(os.path.join(MODELS, "gemma3"))
    text_cfg = dict(mm.c, architectures=["Gemma3ForCausalLM"], final_logit_softcapping=None)
    w = {"model." + k[len("language_model.model."):]: t for k, t in mm.w.items() if k.startswith("language_model.model.")}
    text = modeling_gemma.Gemma(text_cfg, w)
    d = diff(last_logits(mm), last_logits(text))
    assert d == 0.0, d
    print(f"gemma3 (multimodal) text part == gemma3_text from its text_config and language_model.model.* weights: {d}")


if __name__ == "__main__":
    torch.set_num_threads(1)
    rope_identities()
    gemma_as_llama()
    features_bite()
    olmo2_as_llama()
    granite_as_llama()
    v4_equals_v5()
    multimodal_equals_text()
