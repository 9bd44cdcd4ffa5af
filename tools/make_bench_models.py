"""Writes the seeded random-weight Hugging Face directories of the end-to-end benchmark
(bench/e2e/run.sh): real models' shapes, random weights, so that speed can be measured without
downloading anything.

  gpt2-small   GPT2LMHeadModel   12 layers x 768, 12 heads, n_positions 1024, vocab 50257,
                                 LM head tied to the token embedding (124 M parameters)
  llama-small  LlamaForCausalLM  12 layers x 768, 12 query heads sharing 4 KV heads (GQA), SwiGLU
                                 MLP of 2048, vocab 32000, untied LM head (125 M parameters,
                                 100 M of them outside the token embedding)
  llama-1b     LlamaForCausalLM  16 layers x 2048, 32 query heads sharing 8 KV heads, SwiGLU MLP of
                                 8192, vocab 32000, untied (1.1 B parameters: TinyLlama's shape, a
                                 model larger than a CPU's L3 and the CUDA benchmark's decode model)

Each directory gets config.json, generation_config.json, model.safetensors and a tokenizer.json
(zest's Pipeline loads one; the benchmark itself passes token ids). The tokenizers are synthetic:
a byte-level BPE whose 50000 merges spell made-up lowercase words (gpt2-small) and a SentencePiece
style Unigram with byte fallback (llama-small), each covering the whole vocabulary.

Initialisation as transformers does it: Linear and embedding weights N(0, 0.02) (GPT-2's residual
projections c_proj N(0, 0.02 / sqrt(2 n_layer))), biases zero, norm weights one.
The weights are drawn in float32 from a seeded torch generator and stored in --dtype.

usage: make_bench_models.py {gpt2-small,llama-small,llama-1b,all} --out DIR [--dtype f32|f16|bf16] [--seed N]
With "all", DIR receives one subdirectory per model.
"""
import argparse
import json
import math
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "reference"))
import safetensors_io  # noqa: E402

DTYPES = {"f32": torch.float32, "f16": torch.float16, "bf16": torch.bfloat16}
STD = 0.02


def gpt2_config():
    return {
        "architectures": ["GPT2LMHeadModel"], "model_type": "gpt2", "activation_function": "gelu_new",
        "n_layer": 12, "n_embd": 768, "n_head": 12, "n_inner": None, "n_positions": 1024, "n_ctx": 1024,
        "vocab_size": 50257, "layer_norm_epsilon": 1e-5, "initializer_range": STD,
        "scale_attn_weights": True, "scale_attn_by_inverse_layer_idx": False, "reorder_and_upcast_attn": False,
        "attn_pdrop": 0.1, "embd_pdrop": 0.1, "resid_pdrop": 0.1, "tie_word_embeddings": True,
        "bos_token_id": 50256, "eos_token_id": 50256, "use_cache": True,
    }


def llama_config():
    return {
        "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_act": "silu",
        "num_hidden_layers": 12, "hidden_size": 768, "num_attention_heads": 12, "num_key_value_heads": 4,
        "head_dim": 64, "intermediate_size": 2048, "vocab_size": 32000, "max_position_embeddings": 2048,
        "rms_norm_eps": 1e-5, "rope_theta": 10000.0, "rope_scaling": None, "attention_bias": False,
        "attention_dropout": 0.0, "mlp_bias": False, "tie_word_embeddings": False, "initializer_range": STD,
        "pretraining_tp": 1, "bos_token_id": 1, "eos_token_id": 2, "use_cache": True,
    }


def llama_1b_config():
    return {**llama_config(), "num_hidden_layers": 16, "hidden_size": 2048, "num_attention_heads": 32,
            "num_key_value_heads": 8, "intermediate_size": 8192}


class Init:
    def __init__(self, seed):
        self.gen = torch.Generator().manual_seed(seed)

    def normal(self, *shape, std=STD):
        return torch.randn(*shape, generator=self.gen, dtype=torch.float32) * std


def gpt2_weights(c, ini):
    d, n_layer, ff = c["n_embd"], c["n_layer"], c["n_inner"] or 4 * c["n_embd"]
    proj_std = STD / math.sqrt(2 * n_layer)  # GPT-2's scaled init of the residual projections
    w = {"transformer.wte.weight": ini.normal(c["vocab_size"], d),
         "transformer.wpe.weight": ini.normal(c["n_positions"], d)}
    for i in range(n_layer):
        p = f"transformer.h.{i}."
        # Conv1D stores [in, out].
        w[p + "ln_1.weight"], w[p + "ln_1.bias"] = torch.ones(d), torch.zeros(d)
        w[p + "attn.c_attn.weight"], w[p + "attn.c_attn.bias"] = ini.normal(d, 3 * d), torch.zeros(3 * d)
        w[p + "attn.c_proj.weight"], w[p + "attn.c_proj.bias"] = ini.normal(d, d, std=proj_std), torch.zeros(d)
        w[p + "ln_2.weight"], w[p + "ln_2.bias"] = torch.ones(d), torch.zeros(d)
        w[p + "mlp.c_fc.weight"], w[p + "mlp.c_fc.bias"] = ini.normal(d, ff), torch.zeros(ff)
        w[p + "mlp.c_proj.weight"], w[p + "mlp.c_proj.bias"] = ini.normal(ff, d, std=proj_std), torch.zeros(d)
    w["transformer.ln_f.weight"], w["transformer.ln_f.bias"] = torch.ones(d), torch.zeros(d)
    return w  # tied head: save_pretrained stores no lm_head.weight


def llama_weights(c, ini):
    d, ff = c["hidden_size"], c["intermediate_size"]
    hd = c["head_dim"]
    q, kv = c["num_attention_heads"] * hd, c["num_key_value_heads"] * hd
    w = {"model.embed_tokens.weight": ini.normal(c["vocab_size"], d)}
    for i in range(c["num_hidden_layers"]):
        p = f"model.layers.{i}."
        # nn.Linear stores [out, in].
        w[p + "input_layernorm.weight"] = torch.ones(d)
        w[p + "self_attn.q_proj.weight"] = ini.normal(q, d)
        w[p + "self_attn.k_proj.weight"] = ini.normal(kv, d)
        w[p + "self_attn.v_proj.weight"] = ini.normal(kv, d)
        w[p + "self_attn.o_proj.weight"] = ini.normal(d, q)
        w[p + "post_attention_layernorm.weight"] = torch.ones(d)
        w[p + "mlp.gate_proj.weight"] = ini.normal(ff, d)
        w[p + "mlp.up_proj.weight"] = ini.normal(ff, d)
        w[p + "mlp.down_proj.weight"] = ini.normal(d, ff)
    w["model.norm.weight"] = torch.ones(d)
    w["lm_head.weight"] = ini.normal(c["vocab_size"], d)
    return w


def made_up_words(count):
    """`count` distinct lowercase words in order of length (a..z, aa..zz, ...), each with its
    BPE merge (prefix, last letter) whose parts come earlier; every word also in a leading-space
    form ("Ġ" in GPT-2's byte-level alphabet)."""
    letters = "abcdefghijklmnopqrstuvwxyz"
    out, level = [], [""]
    while True:
        nxt = []
        for prefix in level:
            for ch in letters:
                word = prefix + ch
                nxt.append(word)
                for form, left in (("\u0120" + word, "\u0120" + prefix), (word, prefix)):
                    if left:  # one-letter words are byte tokens already
                        out.append((form, left, ch))
                        if len(out) == count:
                            return out
        level = nxt


def bytes_to_unicode():
    """GPT-2's printable stand-in character for each byte."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("\xa1"), ord("\xac") + 1)) + list(range(ord("\xae"), ord("\xff") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return [chr(c) for c in cs]


def special(i, content):
    return {"id": i, "content": content, "single_word": False, "lstrip": False, "rstrip": False,
            "normalized": False, "special": True}


def gpt2_tokenizer(vocab_size):
    """Byte-level BPE as GPT-2's tokenizer.json: 256 byte tokens, made-up merges, <|endoftext|> last."""
    vocab = {ch: i for i, ch in enumerate(bytes_to_unicode())}
    merges = []
    for form, left, ch in made_up_words(vocab_size - 1 - len(vocab)):
        vocab[form] = len(vocab)
        merges.append(f"{left} {ch}")
    eos = len(vocab)
    vocab["<|endoftext|>"] = eos
    byte_level = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}
    return {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": [special(eos, "<|endoftext|>")],
        "normalizer": None, "pre_tokenizer": byte_level, "post_processor": byte_level, "decoder": byte_level,
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": "",
                  "end_of_word_suffix": "", "fuse_unk": False, "byte_fallback": False, "vocab": vocab,
                  "merges": merges},
    }


def llama_tokenizer(vocab_size):
    """SentencePiece-style Unigram as LLaMA's tokenizer.json: <unk> <s> </s>, 256 byte pieces,
    then made-up word pieces with and without the word-start mark, scored by rank."""
    pieces = [["<unk>", 0.0], ["<s>", 0.0], ["</s>", 0.0]] + [[f"<0x{b:02X}>", 0.0] for b in range(256)]
    for form, _, _ in made_up_words(vocab_size - len(pieces)):
        pieces.append([form.replace("\u0120", "\u2581"), -float(len(pieces))])
    return {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": [special(0, "<unk>"), special(1, "<s>"), special(2, "</s>")],
        "normalizer": {"type": "Sequence", "normalizers": [
            {"type": "Prepend", "prepend": "\u2581"}, {"type": "Replace", "pattern": {"String": " "}, "content": "\u2581"}]},
        "pre_tokenizer": None,
        "post_processor": {"type": "TemplateProcessing",
                           "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
                           "pair": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                                    {"SpecialToken": {"id": "<s>", "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}],
                           "special_tokens": {"<s>": {"id": "<s>", "ids": [1], "tokens": ["<s>"]}}},
        "decoder": {"type": "Sequence", "decoders": [
            {"type": "Replace", "pattern": {"String": "\u2581"}, "content": " "}, {"type": "ByteFallback"},
            {"type": "Fuse"}, {"type": "Strip", "content": " ", "start": 1, "stop": 0}]},
        "model": {"type": "Unigram", "unk_id": 0, "vocab": pieces, "byte_fallback": True},
    }


MODELS = {
    "gpt2-small": (gpt2_config, gpt2_weights, gpt2_tokenizer),
    "llama-small": (llama_config, llama_weights, llama_tokenizer),
    "llama-1b": (llama_1b_config, llama_weights, llama_tokenizer),
}


def write_json(path, value):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(value, f, indent=1, ensure_ascii=False)
        f.write("\n")


def make(name, out, dtype, seed):
    make_config, make_weights, make_tokenizer = MODELS[name]
    c = make_config()
    c["torch_dtype"] = {"f32": "float32", "f16": "float16", "bf16": "bfloat16"}[dtype]
    weights = make_weights(c, Init(seed))
    os.makedirs(out, exist_ok=True)
    tensors = {k: v.to(DTYPES[dtype]) for k, v in weights.items()}
    safetensors_io.save(os.path.join(out, "model.safetensors"), tensors, {"format": "pt"})
    write_json(os.path.join(out, "config.json"), c)
    write_json(os.path.join(out, "generation_config.json"),
               {"bos_token_id": c["bos_token_id"], "eos_token_id": c["eos_token_id"], "do_sample": False})
    write_json(os.path.join(out, "tokenizer.json"), make_tokenizer(c["vocab_size"]))
    params = sum(v.numel() for v in weights.values())
    print(f"{out}: {name}, {params / 1e6:.1f} M parameters, {dtype}", file=sys.stderr)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model", choices=[*MODELS, "all"])
    ap.add_argument("--out", required=True, help="the model directory (with 'all': the parent of one per model)")
    ap.add_argument("--dtype", choices=list(DTYPES), default="f32", help="stored dtype (default f32)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    names = list(MODELS) if args.model == "all" else [args.model]
    for name in names:
        make(name, os.path.join(args.out, name) if args.model == "all" else args.out, args.dtype, args.seed)


if __name__ == "__main__":
    main()
