"""Writes the RoPE-variant and Llama-like family directories of tests/data/models/ with their
golden.json: llama3-rope(-v5), qwen2-v5, llama-dynamic, qwen2-yarn, qwen3(-v5), phi3(-v5),
smollm3(-v5). Usage: make_llama_family_goldens.py OUT_DIR (e.g. tests/data/models).

Each directory holds config.json (the key set the config class's save_pretrained writes, in the
transformers version named by its "transformers_version"; a "-v5" twin is the transformers 5 form:
`rope_parameters` instead of `rope_theta`/`rope_scaling`, `dtype` instead of `torch_dtype`, the
class's None-valued fields written), generation_config.json and model.safetensors (seeded random
float32 weights, tensor names as transformers has them). A twin has the same weights and the same
goldens as its transformers 4 directory. Goldens come from modeling.py and the modeling_<family>.py
files (float32). Deterministic: a second run writes identical files.
"""
import copy
import os
import sys

import torch

import goldens
import make_goldens
import modeling
import rope
import safetensors_io
from make_goldens import Init, write_json

V445, V455, V5 = "4.45.0", "4.55.0", "5.0.0"


def base(kind, arch, vocab, hidden, heads, kv, inter, layers, version, tie, theta, max_pos, eos=2):
    return {"architectures": [arch], "attention_dropout": 0.0, "bos_token_id": 1, "eos_token_id": eos,
            "hidden_act": "silu", "hidden_size": hidden, "initializer_range": 0.02, "intermediate_size": inter,
            "max_position_embeddings": max_pos, "model_type": kind, "num_attention_heads": heads,
            "num_hidden_layers": layers, "num_key_value_heads": kv, "rms_norm_eps": 1e-6, "rope_theta": theta,
            "tie_word_embeddings": tie, "torch_dtype": "float32", "transformers_version": version, "use_cache": True,
            "vocab_size": vocab}


def llama(vocab, hidden, heads, kv, inter, layers, tie, theta, max_pos, head_dim=None, rope_scaling=None):
    """LlamaConfig as transformers 4.45 writes it (make_goldens.llama_config's key set)."""
    c = base("llama", "LlamaForCausalLM", vocab, hidden, heads, kv, inter, layers, V445, tie, theta, max_pos)
    c.update({"attention_bias": False, "head_dim": head_dim or hidden // heads, "mlp_bias": False, "pretraining_tp": 1,
              "rms_norm_eps": 1e-5, "rope_scaling": rope_scaling})
    return c


def qwen2(vocab, hidden, heads, kv, inter, layers, tie, theta, max_pos, rope_scaling=None):
    """Qwen2Config as transformers 4.45 writes it."""
    c = base("qwen2", "Qwen2ForCausalLM", vocab, hidden, heads, kv, inter, layers, V445, tie, theta, max_pos)
    c.update({"max_window_layers": layers, "rope_scaling": rope_scaling, "sliding_window": None,
              "use_sliding_window": False})
    return c


def qwen3(vocab, hidden, heads, kv, head_dim, inter, layers, tie, theta, max_pos):
    """Qwen3Config (4.54+: layer_types written; sliding_window None unless use_sliding_window)."""
    c = base("qwen3", "Qwen3ForCausalLM", vocab, hidden, heads, kv, inter, layers, V455, tie, theta, max_pos)
    c.update({"attention_bias": False, "head_dim": head_dim, "layer_types": ["full_attention"] * layers,
              "max_window_layers": layers, "rope_scaling": None, "sliding_window": None, "use_sliding_window": False})
    return c


def phi3(vocab, hidden, heads, kv, inter, layers, tie, theta, max_pos, original, partial, short, long):
    """Phi3Config (4.49+ has partial_rotary_factor; rope_scaling must be exactly type, short_factor,
    long_factor; original_max_position_embeddings is a top-level key)."""
    c = base("phi3", "Phi3ForCausalLM", vocab, hidden, heads, kv, inter, layers, V455, tie, theta, max_pos)
    c.update({"embd_pdrop": 0.0, "original_max_position_embeddings": original, "pad_token_id": 0,
              "partial_rotary_factor": partial, "resid_pdrop": 0.0, "rms_norm_eps": 1e-5, "sliding_window": None,
              "rope_scaling": {"long_factor": long, "short_factor": short, "type": "longrope"}})
    return c


def smollm3(vocab, hidden, heads, kv, inter, layers, theta, max_pos, no_rope_layers, interval):
    """SmolLM3Config (4.53+). tie_word_embeddings is True, the base class default, so transformers 4
    does not write it; mlp_bias is not a field of the 4.53 class but SmolLM3 checkpoints carry it."""
    c = base("smollm3", "SmolLM3ForCausalLM", vocab, hidden, heads, kv, inter, layers, V455, True, theta, max_pos)
    del c["tie_word_embeddings"]
    c.update({"attention_bias": False, "layer_types": ["full_attention"] * layers, "mlp_bias": False,
              "no_rope_layer_interval": interval, "no_rope_layers": no_rope_layers, "pad_token_id": 0,
              "rope_scaling": None, "sliding_window": None, "use_sliding_window": False})
    return c


# Fields each v5 config class declares that transformers 4 left out of config.json when None
# (token ids lived in the base class then) or true by default.
V5_FIELDS = {
    "llama": {"pad_token_id": None},
    "qwen2": {"pad_token_id": None, "layer_types": None},
    "qwen3": {"pad_token_id": None},
    "phi3": {},
    "smollm3": {"tie_word_embeddings": True},
}


def to_v5(c):
    """The transformers 5 form of a transformers 4 config: rope_theta, rope_scaling (and the
    original_max_position_embeddings / partial_rotary_factor standardize_rope_params moves in) become
    rope_parameters; torch_dtype becomes dtype. A "type" key of the old rope_scaling stays
    (standardize_rope_params only adds rope_type beside it)."""
    v5 = copy.deepcopy(c)
    scaling = v5.pop("rope_scaling", None) or {}
    p = dict(scaling)
    p["rope_theta"] = v5.pop("rope_theta")
    kind = p.get("rope_type", p.get("type", "default"))
    if c["model_type"] == "phi3":
        if kind in ("su", "yarn"):
            kind = "longrope"
        p["partial_rotary_factor"] = c.get("partial_rotary_factor", 1.0)
    p["rope_type"] = kind
    if kind in ("llama3", "yarn", "longrope"):
        p["original_max_position_embeddings"] = c.get("original_max_position_embeddings",
                                                      p.get("original_max_position_embeddings", c["max_position_embeddings"]))
    v5["rope_parameters"] = p
    v5["dtype"] = v5.pop("torch_dtype")
    v5["transformers_version"] = V5
    for k, v in V5_FIELDS[c["model_type"]].items():
        if k not in v5:
            v5[k] = v if k != "layer_types" else ["full_attention"] * c["num_hidden_layers"]
    return v5


def weights_for(c, name):
    """Seeded weights with transformers' tensor names (make_goldens.llama_weights plus each family's
    own tensors)."""
    kind = c["model_type"]
    init = Init(name)
    c = dict(c, tie_word_embeddings=c.get("tie_word_embeddings", kind == "smollm3"))
    if kind == "phi3":
        c["model_type"] = "llama"
    w = make_goldens.llama_weights(c, init)
    if kind == "qwen3":
        d = c["head_dim"]
        for i in range(c["num_hidden_layers"]):
            p = f"model.layers.{i}.self_attn."
            w[p + "q_norm.weight"] = init.norm(d)
            w[p + "k_norm.weight"] = init.norm(d)
    if kind == "phi3":
        fused = {}
        for k, v in w.items():
            if ".self_attn.q_proj." in k:
                p = k.split("q_proj.")[0]
                fused[p + "qkv_proj.weight"] = torch.cat([v, w[p + "k_proj.weight"], w[p + "v_proj.weight"]], 0)
            elif ".mlp.gate_proj." in k:
                p = k.split("gate_proj.")[0]
                fused[p + "gate_up_proj.weight"] = torch.cat([v, w[p + "up_proj.weight"]], 0)
            elif not any(s in k for s in ("k_proj", "v_proj", "up_proj")) or "gate_up" in k:
                fused[k] = v
        w = fused
    return dict(sorted(w.items()))


def rope_reference(model):
    """The rope frequencies the goldens were computed with, for testing RoPE on its own."""
    r = model.rope
    p = r.p
    rec = {"rope_type": p["rope_type"], "rotary_dim": r.dim, "head_dim": model.head_dim}
    if r.static:
        inv, scale = r.frequencies(None)
        rec.update({"inv_freq": goldens.nums(inv), "attention_scaling": goldens.num(scale)})
    elif p["rope_type"] == "dynamic":
        rec["by_seq_len"] = {str(n): goldens.nums(r.frequencies(n)[0]) for n in (1, r.max_pos, r.max_pos + 1, 2 * r.max_pos, 45)}
        rec["attention_scaling"] = 1.0
    else:  # longrope
        orig = p["original_max_position_embeddings"]
        inv_s, scale = r.frequencies(orig)
        inv_l, _ = r.frequencies(orig + 1)
        rec.update({"original_max_position_embeddings": orig, "inv_freq_short": goldens.nums(inv_s),
                    "inv_freq_long": goldens.nums(inv_l), "attention_scaling": goldens.num(scale)})
    return rec


def greedy_nocache(model, ids, n):
    """Greedy ids recomputing the whole sequence each step (no cache)."""
    seq, out = list(ids), []
    with torch.no_grad():
        for _ in range(n):
            nxt = int(torch.argmax(model.logits(model.forward(seq)[0])[-1]))
            out.append(nxt)
            seq.append(nxt)
    return out


def make(root, name, c, note, weights_name=None, lengths=(12, 21)):
    out = os.path.join(root, name)
    os.makedirs(out, exist_ok=True)
    write_json(os.path.join(out, "config.json"), c)
    weights = weights_for(c, weights_name or name)
    safetensors_io.save(os.path.join(out, "model.safetensors"), weights, {"format": "pt"})
    write_json(os.path.join(out, "generation_config.json"),
               {"_from_model_config": True, "bos_token_id": c["bos_token_id"], "eos_token_id": c["eos_token_id"],
                "transformers_version": c["transformers_version"]})
    model = modeling.load_model(out)
    dtype = c.get("torch_dtype", c.get("dtype"))
    g = {"format": "lab-golden-1", "model": name, "architectures": c["architectures"],
         "model_type": c["model_type"], "weights_dtype": dtype, "compute_dtype": "float32",
         "reference": f"tools/reference/modeling.py, rope.py, modeling_{c['model_type']}.py where present "
                      f"(torch {torch.__version__}, eager, fp32)",
         "vocab_size": c["vocab_size"], "what": note, "rope": rope_reference(model)}
    g["prompts"] = []
    for ids in make_goldens.prompts_for(c["vocab_size"], len(weights_name or name), list(lengths), c["bos_token_id"]):
        rec = goldens.decoder_prompt(model, ids, 24, [0, 3, 9])
        if not rec["greedy"]["nocache_ids_equal"]:
            rec["greedy"]["nocache_ids"] = greedy_nocache(model, ids, 24)
        g["prompts"].append(rec)
    write_json(os.path.join(out, "golden.json"), g)
    return g


def phi3_factors():
    g = torch.Generator().manual_seed(3)
    short = [goldens.num(1.0 + 0.5 * x) for x in torch.rand(6, generator=g).tolist()]
    long = [goldens.num(1.0 + 7.0 * x) for x in sorted(torch.rand(6, generator=g).tolist())]
    return short, long


def main(root):
    torch.set_num_threads(1)
    llama3 = llama(vocab=96, hidden=32, heads=4, kv=2, inter=32, layers=2, tie=True, theta=500000.0, max_pos=512,
                   head_dim=16, rope_scaling={"factor": 8.0, "high_freq_factor": 4.0, "low_freq_factor": 1.0,
                                              "original_max_position_embeddings": 64, "rope_type": "llama3"})
    note = ("Llama 3.x rope_scaling llama3 (factor 8, low/high_freq_factor 1/4, original_max_position_embeddings 64: "
            "with theta 5e5 and head_dim 16 frequency 0 is kept, 1 smoothed, 2-7 divided by 8), 4 heads of head_dim 16 "
            "(!= 32/4), GQA 2:1, tied head (no lm_head.weight), f32")
    make(root, "llama3-rope", llama3, note)
    make(root, "llama3-rope-v5", to_v5(llama3), note + "; transformers 5 config form", weights_name="llama3-rope")

    qv5 = to_v5(qwen2(vocab=96, hidden=32, heads=4, kv=2, inter=48, layers=2, tie=False, theta=1000000.0, max_pos=128))
    make(root, "qwen2-v5", qv5, "Qwen2 saved in the transformers 5 form: rope_parameters {rope_theta 1e6, default}; "
         "q/k/v bias, GQA 2:1, untied head, f32")

    dyn = llama(vocab=96, hidden=32, heads=4, kv=2, inter=48, layers=2, tie=False, theta=10000.0, max_pos=16,
                rope_scaling={"factor": 2.0, "rope_type": "dynamic", "type": "dynamic"})
    make(root, "llama-dynamic", dyn, "Llama, rope_scaling dynamic (NTK) factor 2 with max_position_embeddings 16: "
         "the 21-id prompt and the generations pass 16, so the base is recomputed per forward call from its length; "
         "greedy ids use a KV cache whose keys keep the rotation of the step that computed them (transformers' "
         "generate), nocache_ids recompute everything each step; untied, f32")

    yarn = qwen2(vocab=96, hidden=32, heads=2, kv=1, inter=48, layers=2, tie=False, theta=1000000.0, max_pos=64,
                 rope_scaling={"factor": 4.0, "original_max_position_embeddings": 64, "rope_type": "yarn",
                               "type": "yarn"})
    make(root, "qwen2-yarn", yarn, "Qwen2.5-style rope_scaling yarn factor 4, original_max_position_embeddings = "
         "max_position_embeddings = 64 (as Qwen's model cards write it), theta 1e6, head_dim 16: frequency 0 "
         "extrapolated, 1 half, 2-7 interpolated; attention factor 0.1 ln 4 + 1 on cos and sin; MQA, f32",
         lengths=(12, 40))

    q3 = qwen3(vocab=96, hidden=32, heads=4, kv=2, head_dim=12, inter=48, layers=2, tie=True, theta=1000000.0,
               max_pos=128)
    note = ("Qwen3: q_norm/k_norm (RMSNorm over each head's 12 values) before rope, head_dim 12 != 32/4, "
            "attention_bias false, GQA 2:1, theta 1e6, tied head, f32")
    make(root, "qwen3", q3, note)
    make(root, "qwen3-v5", to_v5(q3), note + "; transformers 5 config form", weights_name="qwen3")

    short, long = phi3_factors()
    p3 = phi3(vocab=96, hidden=32, heads=2, kv=1, inter=40, layers=2, tie=True, theta=10000.0, max_pos=64,
              original=16, partial=0.75, short=short, long=long)
    note = ("Phi-3/Phi-4-mini: fused qkv_proj and gate_up_proj, partial_rotary_factor 0.75 (12 of 16 dims rotated), "
            "longrope with original_max_position_embeddings 16 and max_position_embeddings 64 (attention factor "
            "sqrt(1 + ln 4 / ln 16)): the 12-id prompt runs short factors and its generation crosses to long ones "
            "(the cache is recomputed at the switch, as Phi3ForCausalLM does), the 21-id prompt is long from the start; "
            "MQA, tied head, f32")
    make(root, "phi3", p3, note)
    make(root, "phi3-v5", to_v5(p3), note + "; transformers 5 config form", weights_name="phi3")

    sm = smollm3(vocab=96, hidden=32, heads=4, kv=2, inter=16, layers=4, theta=5000000.0, max_pos=128,
                 no_rope_layers=[1, 0, 1, 0], interval=4)
    note = ("SmolLM3: no_rope_layers [1, 0, 1, 0] (layers 1 and 3 use no rope; the list wins over what "
            "no_rope_layer_interval 4 would give, [1, 1, 1, 0]), theta 5e6, GQA 2:1, tie_word_embeddings absent "
            "(SmolLM3's default: tied), f32")
    make(root, "smollm3", sm, note)
    make(root, "smollm3-v5", to_v5(sm), note + "; transformers 5 config form (tie_word_embeddings written)",
         weights_name="smollm3")


if __name__ == "__main__":
    main(sys.argv[1])
