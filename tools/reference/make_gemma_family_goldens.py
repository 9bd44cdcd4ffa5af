"""Writes the tiny Gemma 2, Gemma 3 (text and multimodal wrapper), OLMo 2 and Granite model
directories under tests/data/models/ with their golden.json, or checks them.

Each family comes in the form transformers 4.50.0 save_pretrained writes (top-level rope_theta /
rope_scaling, torch_dtype) and in the form transformers 5.2.0 writes (rope_parameters, dtype,
layer_types), with the same weights and the same goldens. Config key sets follow
configuration_utils.py to_diff_dict of the version named: every attribute of the config class,
plus the PretrainedConfig attributes whose value differs from the base or the class default.

Usage (from anywhere; deterministic for a given torch):
    make_gemma_family_goldens.py OUT_DIR          write the directories (e.g. tests/data/models)
    make_gemma_family_goldens.py --check OUT_DIR  recompute every golden and compare with the files
"""
import json
import os
import sys

import torch

import goldens
import modeling_gemma
import modeling_granite
import modeling_olmo2
import safetensors_io
from make_goldens import Init, prompts_for, write_json

V4 = "4.50.0"
V5 = "5.2.0"
LOADERS = {"gemma2": modeling_gemma.load_model, "gemma3_text": modeling_gemma.load_model,
           "gemma3": modeling_gemma.load_model, "olmo2": modeling_olmo2.load_model,
           "granite": modeling_granite.load_model}


def load_model(model_dir):
    with open(os.path.join(model_dir, "config.json")) as f:
        kind = json.load(f)["model_type"]
    return LOADERS[kind](model_dir)


# ---- configs -------------------------------------------------------------------------------

def gemma2_config(v5):
    """Gemma2Config: 4 layers (sliding, full, sliding, full), head_dim 12 != hidden/heads 6,
    query_pre_attn_scalar 16 != head_dim, soft-capping small enough to bite on random weights."""
    c = {
        "architectures": ["Gemma2ForCausalLM"], "attention_bias": False, "attention_dropout": 0.0,
        "attn_logit_softcapping": 1.5, "bos_token_id": 2, "eos_token_id": 1, "final_logit_softcapping": 2.0,
        "head_dim": 12, "hidden_activation": "gelu_pytorch_tanh", "hidden_size": 24, "initializer_range": 0.02,
        "intermediate_size": 16, "max_position_embeddings": 128, "model_type": "gemma2", "num_attention_heads": 4,
        "num_hidden_layers": 4, "num_key_value_heads": 2, "pad_token_id": 0, "query_pre_attn_scalar": 16,
        "rms_norm_eps": 1e-06, "sliding_window": 6, "use_cache": True, "vocab_size": 96,
    }
    if v5:
        c.update({"dtype": "float32", "layer_types": ["sliding_attention", "full_attention"] * 2,
                  "rope_parameters": {"rope_theta": 10000.0, "rope_type": "default"}, "tie_word_embeddings": True,
                  "transformers_version": V5, "use_bidirectional_attention": None})
    else:  # tie_word_embeddings true equals both defaults: to_diff_dict leaves it out
        c.update({"cache_implementation": "hybrid", "rope_theta": 10000.0, "torch_dtype": "float32",
                  "transformers_version": V4})
    return c


GEMMA3_TEXT_TYPES = ["sliding_attention", "sliding_attention", "full_attention", "sliding_attention"]


def gemma3_text_keys(v5, layers, pattern, window, scaling):
    """Gemma3TextConfig's own keys (no architectures / dtype / token ids)."""
    c = {
        "attention_bias": False, "attention_dropout": 0.0, "attn_logit_softcapping": None,
        "final_logit_softcapping": None, "head_dim": 8, "hidden_activation": "gelu_pytorch_tanh",
        "hidden_size": 24, "initializer_range": 0.02, "intermediate_size": 24, "max_position_embeddings": 256,
        "model_type": "gemma3_text", "num_attention_heads": 4, "num_hidden_layers": layers,
        "num_key_value_heads": 2, "query_pre_attn_scalar": 12, "rms_norm_eps": 1e-06, "sliding_window": window,
        "use_cache": True, "vocab_size": 96,
    }
    if v5:
        full = {"rope_theta": 1000000.0, "rope_type": "default"}
        if scaling:
            full = {"factor": 8.0, "rope_theta": 1000000.0, "rope_type": "linear"}
        types = ["sliding_attention" if (i + 1) % pattern else "full_attention" for i in range(layers)]
        # A config built with layer_types keeps Gemma3TextConfig's stale _sliding_window_pattern 6:
        # only layer_types tells the truth.
        c.update({"_sliding_window_pattern": 6, "layer_types": types,
                  "rope_parameters": {"full_attention": full,
                                      "sliding_attention": {"rope_theta": 10000.0, "rope_type": "default"}},
                  "use_bidirectional_attention": False})
    else:
        c.update({"cache_implementation": "hybrid", "rope_local_base_freq": 10000.0, "rope_theta": 1000000.0,
                  "rope_scaling": {"factor": 8.0, "rope_type": "linear"} if scaling else None,
                  "sliding_window_pattern": pattern})
    return c


def gemma3_text_config(v5):
    """Gemma3ForCausalLM: 4 layers, sliding_window_pattern 3 (sliding, sliding, full, sliding),
    global layers rope_theta 1e6 with linear scaling 8, local layers 1e4, window 5, q/k norms."""
    c = gemma3_text_keys(v5, layers=4, pattern=3, window=5, scaling=True)
    c.update({"architectures": ["Gemma3ForCausalLM"], "bos_token_id": 2, "eos_token_id": 1, "pad_token_id": 0})
    if v5:
        c.update({"dtype": "float32", "tie_word_embeddings": True, "transformers_version": V5})
    else:
        c.update({"torch_dtype": "float32", "transformers_version": V4})
    return c


def siglip_keys(v5):
    """A tiny SiglipVisionConfig (the vision tower the text decoder must ignore)."""
    return {"attention_dropout": 0.0, "hidden_act": "gelu_pytorch_tanh", "hidden_size": 16, "image_size": 16,
            "intermediate_size": 32, "layer_norm_eps": 1e-06, "model_type": "siglip_vision_model",
            "num_attention_heads": 2, "num_channels": 3, "num_hidden_layers": 1, "patch_size": 4,
            "vision_use_head": False, ("dtype" if v5 else "torch_dtype"): "float32"}


def gemma3_config(v5):
    """Gemma3ForConditionalGeneration: the decoder's config nested in text_config (a diff
    against PretrainedConfig: bos/eos/pad equal to Gemma3TextConfig's defaults 2/1/0 are left out
    by transformers 4, written by 5), 3 layers with sliding_window_pattern 2, window 4."""
    text = gemma3_text_keys(v5, layers=3, pattern=2, window=4, scaling=True)
    text["dtype" if v5 else "torch_dtype"] = "float32"
    if v5:
        text.update({"bos_token_id": 2, "eos_token_id": 1, "pad_token_id": 0, "tie_word_embeddings": True})
    c = {"architectures": ["Gemma3ForConditionalGeneration"], "boi_token_index": 93, "eoi_token_index": 94,
         "image_token_index": 95, "initializer_range": 0.02, "mm_tokens_per_image": 4, "model_type": "gemma3",
         "text_config": text, "vision_config": siglip_keys(v5)}
    if v5:
        c.update({"dtype": "float32", "tie_word_embeddings": True, "transformers_version": V5})
    else:
        c.update({"torch_dtype": "float32", "transformers_version": V4})
    return c


def olmo2_config(v5):
    """Olmo2Config: GQA 4:2 so q_norm (24 weights) and k_norm (12) differ, rope_theta 5e5,
    bos_token_id null as in the OLMo 2 releases, untied head."""
    c = {
        "architectures": ["Olmo2ForCausalLM"], "attention_bias": False, "attention_dropout": 0.0,
        "eos_token_id": 2, "hidden_act": "silu", "hidden_size": 24, "initializer_range": 0.02,
        "intermediate_size": 32, "max_position_embeddings": 128, "model_type": "olmo2", "num_attention_heads": 4,
        "num_hidden_layers": 3, "num_key_value_heads": 2, "pad_token_id": 1, "rms_norm_eps": 1e-06,
        "tie_word_embeddings": False, "use_cache": True, "vocab_size": 96,
    }
    if v5:  # bos_token_id is no PretrainedConfig attribute in 5: written even when null
        c.update({"bos_token_id": None, "dtype": "float32",
                  "rope_parameters": {"rope_theta": 500000.0, "rope_type": "default"}, "transformers_version": V5})
    else:
        c.update({"rope_scaling": None, "rope_theta": 500000.0, "torch_dtype": "float32", "transformers_version": V4})
    return c


def granite_config(v5):
    """GraniteConfig with all four multipliers away from 1 (attention_multiplier 0.1 instead of
    head_dim^-0.5 = 0.408) and a tied head, so that scaling the embedding matrix in place shows."""
    c = {
        "architectures": ["GraniteForCausalLM"], "attention_bias": False, "attention_dropout": 0.0,
        "attention_multiplier": 0.1, "bos_token_id": 1, "embedding_multiplier": 6.0, "eos_token_id": 2,
        "hidden_act": "silu", "hidden_size": 24, "initializer_range": 0.02, "intermediate_size": 32,
        "logits_scaling": 2.5, "max_position_embeddings": 128, "mlp_bias": False, "model_type": "granite",
        "num_attention_heads": 4, "num_hidden_layers": 3, "num_key_value_heads": 2, "residual_multiplier": 0.5,
        "rms_norm_eps": 1e-06, "tie_word_embeddings": True, "use_cache": True, "vocab_size": 96,
    }
    if v5:
        c.update({"dtype": "float32", "pad_token_id": None,
                  "rope_parameters": {"rope_theta": 10000.0, "rope_type": "default"}, "transformers_version": V5})
    else:
        c.update({"rope_scaling": None, "rope_theta": 10000.0, "torch_dtype": "float32", "transformers_version": V4})
    return c


# ---- weights -------------------------------------------------------------------------------

def decoder_weights(c, init, prefix, kind):
    """Projection, MLP and norm weights with transformers' names. Gemma norms store the offset w
    of (1 + w): drawn as 0.1 * randn, so that a reader using w alone fails loudly."""
    h, inter = c["hidden_size"], c["intermediate_size"]
    d = c.get("head_dim") or h // c["num_attention_heads"]
    q, kv = c["num_attention_heads"] * d, c["num_key_value_heads"] * d
    gemma = kind in ("gemma2", "gemma3_text")

    def norm(n):
        return 0.1 * init.randn(n) if gemma else init.norm(n)

    scale = {"gemma2": 0.25, "gemma3_text": 0.25, "olmo2": 0.3, "granite": 0.3}[kind]
    w = {prefix + "embed_tokens.weight": scale * init.randn(c["vocab_size"], h)}
    for i in range(c["num_hidden_layers"]):
        p = f"{prefix}layers.{i}."
        if kind != "olmo2":
            w[p + "input_layernorm.weight"] = norm(h)
        for name, out in (("q_proj", q), ("k_proj", kv), ("v_proj", kv)):
            w[p + f"self_attn.{name}.weight"] = init.matrix(out, h)
        w[p + "self_attn.o_proj.weight"] = init.matrix(h, q)
        if kind == "gemma3_text":
            w[p + "self_attn.q_norm.weight"], w[p + "self_attn.k_norm.weight"] = norm(d), norm(d)
        if kind == "olmo2":
            w[p + "self_attn.q_norm.weight"], w[p + "self_attn.k_norm.weight"] = norm(q), norm(kv)
        w[p + "post_attention_layernorm.weight"] = norm(h)
        if gemma:
            w[p + "pre_feedforward_layernorm.weight"] = norm(h)
        if gemma or kind == "olmo2":
            w[p + "post_feedforward_layernorm.weight"] = norm(h)
        for name, out, inp in (("gate_proj", inter, h), ("up_proj", inter, h), ("down_proj", h, inter)):
            w[p + f"mlp.{name}.weight"] = init.matrix(out, inp)
    w[prefix + "norm.weight"] = norm(h)
    if not c.get("tie_word_embeddings", True):
        w["lm_head.weight"] = scale * init.randn(c["vocab_size"], h)
    return w


def vision_weights(c, init, prefix):
    """SiglipVisionModel (vision_use_head false) and Gemma3MultiModalProjector tensors, with the
    names Gemma3ForConditionalGeneration saves; a real gemma-3-4b holds 27 such encoder layers."""
    v, text_h = c["vision_config"], c["text_config"]["hidden_size"]
    h, inter, ps = v["hidden_size"], v["intermediate_size"], v["patch_size"]
    n_pos = (v["image_size"] // ps) ** 2
    vp = prefix[0] + "vision_model."
    w = {vp + "embeddings.patch_embedding.weight": init.randn(h, v["num_channels"], ps, ps) / (3 * ps * ps) ** 0.5,
         vp + "embeddings.patch_embedding.bias": init.bias(h),
         vp + "embeddings.position_embedding.weight": 0.1 * init.randn(n_pos, h)}
    for i in range(v["num_hidden_layers"]):
        p = f"{vp}encoder.layers.{i}."
        for name in ("k_proj", "v_proj", "q_proj", "out_proj"):
            w[p + f"self_attn.{name}.weight"], w[p + f"self_attn.{name}.bias"] = init.matrix(h, h), init.bias(h)
        w[p + "layer_norm1.weight"], w[p + "layer_norm1.bias"] = init.norm(h), init.bias(h)
        w[p + "mlp.fc1.weight"], w[p + "mlp.fc1.bias"] = init.matrix(inter, h), init.bias(inter)
        w[p + "mlp.fc2.weight"], w[p + "mlp.fc2.bias"] = init.matrix(h, inter), init.bias(h)
        w[p + "layer_norm2.weight"], w[p + "layer_norm2.bias"] = init.norm(h), init.bias(h)
    w[vp + "post_layernorm.weight"], w[vp + "post_layernorm.bias"] = init.norm(h), init.bias(h)
    w[prefix[1] + "mm_input_projection_weight"] = init.matrix(text_h, h).T.contiguous()  # [vision, text]
    w[prefix[1] + "mm_soft_emb_norm.weight"] = 0.1 * init.randn(h)  # a Gemma (1 + w) norm
    return w


# ---- directories ---------------------------------------------------------------------------

def generation_config(c, version):
    t = c.get("text_config", c)
    g = {"_from_model_config": True, "transformers_version": version}
    for key in ("bos_token_id", "eos_token_id", "pad_token_id"):
        value = t.get(key, {"bos_token_id": 2, "eos_token_id": 1, "pad_token_id": 0}.get(key) if "text_config" in c else None)
        if value is not None:
            g[key] = value
    if "cache_implementation" in t:
        g["cache_implementation"] = t["cache_implementation"]
    return g


def header(name, c, note):
    t = c.get("text_config", c)
    return {"format": "lab-golden-1", "model": name, "architectures": c["architectures"], "model_type": c["model_type"],
            "weights_dtype": c.get("torch_dtype", c.get("dtype")), "compute_dtype": "float32",
            "reference": f"tools/reference/modeling_{ {'olmo2': 'olmo2', 'granite': 'granite'}.get(c['model_type'], 'gemma') }.py "
                         f"(torch {torch.__version__}, eager, fp32)",
            "transformers_form": c["transformers_version"], "vocab_size": t["vocab_size"], "what": note}


def golden(name, out, c, note, first_id):
    model = load_model(out)
    g = header(name, c, note)
    vocab = c.get("text_config", c)["vocab_size"]
    g["prompts"] = [goldens.decoder_prompt(model, ids, 24, [0, 3, 9])
                    for ids in prompts_for(vocab, len(name.split("-v5")[0]), [12, 21], first_id)]
    return g


def family(root, name, make_config, kind, note, first_id, weights_fn):
    """Writes NAME (transformers 4.50.0 form) and NAME-v5 (5.2.0 form): same weights, same goldens
    (the goldens of the -v5 directory are computed from its own config and must equal)."""
    out = {}
    for v5, dir_name in ((False, name), (True, name + "-v5")):
        c = make_config(v5)
        path = os.path.join(root, dir_name)
        os.makedirs(path, exist_ok=True)
        write_json(os.path.join(path, "config.json"), c)
        write_json(os.path.join(path, "generation_config.json"), generation_config(c, c["transformers_version"]))
        safetensors_io.save(os.path.join(path, "model.safetensors"), weights_fn(c, v5), {"format": "pt"})
        g = golden(dir_name, path, c, note, first_id)
        out[v5] = g
        write_json(os.path.join(path, "golden.json"), g)
    assert out[False]["prompts"] == out[True]["prompts"], f"{name}: the 4.50 and 5.2 forms disagree"


def plain_weights(kind, seed):
    def fn(c, v5):
        return decoder_weights(c, Init(seed), "model.", kind)
    return fn


def multimodal_weights(c, v5):
    """transformers 4.50-5.2 save_pretrained writes language_model.model.* / vision_tower.* /
    multi_modal_projector.* (5.x reverts its module names model.language_model.* on save); the -v5
    directory holds the module names, as save_pretrained(save_original_format=False) writes them."""
    init = Init("gemma3")
    text = decoder_weights(c["text_config"], init, "language_model.model.", "gemma3_text")
    vision = vision_weights(c, init, ("vision_tower.", "multi_modal_projector."))
    w = dict(text, **vision)
    if v5:
        rename = (("language_model.model.", "model.language_model."), ("vision_tower.", "model.vision_tower."),
                  ("multi_modal_projector.", "model.multi_modal_projector."))
        w = {next((new + k[len(old):] for old, new in rename if k.startswith(old)), k): t for k, t in w.items()}
    return w


DIRS = [
    ("gemma2", gemma2_config, "gemma2",
     "Gemma2ForCausalLM, 4 layers (even layers sliding, window 6), head_dim 12 != 24/4, GQA 2:1, "
     "query_pre_attn_scalar 16, attn_logit_softcapping 1.5, final_logit_softcapping 2.0, tied head, (1 + w) norms, "
     "embedding x sqrt(24), f32 file", 2, plain_weights("gemma2", "gemma2")),
    ("gemma3-text", gemma3_text_config, "gemma3_text",
     "Gemma3ForCausalLM, 4 layers (sliding, sliding, full, sliding), window 5, q_norm/k_norm, local rope 1e4, "
     "global rope 1e6 with linear factor 8, query_pre_attn_scalar 12, no soft-capping, tied head, f32 file", 2,
     plain_weights("gemma3_text", "gemma3-text")),
    ("gemma3", gemma3_config, "gemma3",
     "Gemma3ForConditionalGeneration text part: 3 layers (sliding, full, sliding), window 4, linear factor 8 on "
     "the global layer, vision tower and projector present and unused, tied head, f32 file", 2, multimodal_weights),
    ("olmo2", olmo2_config, "olmo2",
     "Olmo2ForCausalLM, 3 layers, norms after attention and MLP (no input norm), q_norm/k_norm over the whole "
     "projections (24 and 12 wide), GQA 2:1, rope_theta 5e5, untied head, bos_token_id null (prompts start with eos_token_id 2, as OLMo 2's tokenizer starts them with <|endoftext|>), f32 file", 2, plain_weights("olmo2", "olmo2")),
    ("granite", granite_config, "granite",
     "GraniteForCausalLM, 3 layers, embedding_multiplier 6, residual_multiplier 0.5, attention_multiplier 0.1, "
     "logits_scaling 2.5, GQA 2:1, tied head, f32 file", 1, plain_weights("granite", "granite")),
]


def main(root):
    torch.set_num_threads(1)
    for name, make_config, kind, note, first_id, weights_fn in DIRS:
        family(root, name, make_config, kind, note, first_id, weights_fn)
        print(f"wrote {name}, {name}-v5")


def check(root):
    """Recomputes every directory's goldens from its files and compares with golden.json."""
    torch.set_num_threads(1)
    worst = 0.0
    for name, *_ in DIRS:
        for dir_name in (name, name + "-v5"):
            path = os.path.join(root, dir_name)
            with open(os.path.join(path, "golden.json")) as f:
                want = json.load(f)
            with open(os.path.join(path, "config.json")) as f:
                c = json.load(f)
            got = golden(dir_name, path, c, want["what"], want["prompts"][0]["ids"][0])
            for a, b in zip(want["prompts"], got["prompts"]):
                assert a["ids"] == b["ids"] and a["greedy"]["ids"] == b["greedy"]["ids"], dir_name
                d = max(abs(x - y) for x, y in zip(a["last_logits"], b["last_logits"]))
                worst = max(worst, d)
            print(f"{dir_name}: goldens reproduced (last-logit difference {d:.3g})")
    print(f"all reproduced; largest last-logit difference {worst:.3g}")


if __name__ == "__main__":
    if sys.argv[1] == "--check":
        check(sys.argv[2])
    else:
        main(sys.argv[1])
