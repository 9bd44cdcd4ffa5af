"""Writes the small random model directories under tests/data/models/ with their golden.json.

Each directory is what transformers' save_pretrained would write (config.json,
generation_config.json, model.safetensors; sentence-transformers files where relevant), with
seeded random weights; the goldens are computed by modeling.py from the stored weights upcast to
float32. Usage: make_goldens.py OUT_DIR (e.g. tests/data/models). Deterministic for a given torch.
"""
import json
import os
import sys
import zlib

import torch

import goldens
import modeling
import safetensors_io

VERSION = "4.45.0"
STORE = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


def write_json(path, obj):
    with open(path, "w") as f:
        f.write(json.dumps(obj, indent=2, sort_keys=True) + "\n")


class Init:
    """Seeded random tensors: matrices scaled by 1/sqrt(fan_in), norms near 1, small biases (all
    non-zero on purpose so that a missing bias or norm weight shows in the goldens)."""

    def __init__(self, name):
        self.g = torch.Generator().manual_seed(zlib.crc32(name.encode()))

    def randn(self, *shape):
        return torch.randn(*shape, generator=self.g)

    def matrix(self, out, inp):
        return self.randn(out, inp) / inp ** 0.5

    def norm(self, n):
        return 1.0 + 0.1 * self.randn(n)

    def bias(self, n):
        return 0.05 * self.randn(n)

    def embedding(self, n, d, tied=False):
        # A tied head with large embeddings mostly predicts the input token again, and greedy runs
        # that repeat one token test little: tied embeddings are drawn smaller.
        return (0.1 if tied else 0.3) * self.randn(n, d)


def llama_config(kind, vocab, hidden, heads, kv, inter, layers, dtype, tie, head_dim=None, rope_theta=10000.0,
                 rope_scaling=None, attention_bias=False, mlp_bias=False, sliding_window=None):
    c = {
        "architectures": [{"llama": "LlamaForCausalLM", "mistral": "MistralForCausalLM", "qwen2": "Qwen2ForCausalLM"}[kind]],
        "attention_dropout": 0.0, "bos_token_id": 1, "eos_token_id": 2, "hidden_act": "silu",
        "hidden_size": hidden, "initializer_range": 0.02, "intermediate_size": inter,
        "max_position_embeddings": 128, "model_type": kind, "num_attention_heads": heads,
        "num_hidden_layers": layers, "num_key_value_heads": kv, "rms_norm_eps": 1e-5 if kind != "qwen2" else 1e-6,
        "rope_theta": rope_theta, "tie_word_embeddings": tie, "torch_dtype": dtype,
        "transformers_version": VERSION, "use_cache": True, "vocab_size": vocab,
    }
    if kind == "llama":
        c.update({"attention_bias": attention_bias, "head_dim": head_dim or hidden // heads, "mlp_bias": mlp_bias,
                  "pretraining_tp": 1, "rope_scaling": rope_scaling})
    elif kind == "mistral":
        c.update({"head_dim": head_dim or hidden // heads, "sliding_window": sliding_window})
    else:
        c.update({"max_window_layers": layers, "rope_scaling": None, "sliding_window": None, "use_sliding_window": False})
    return c


def llama_weights(c, init):
    h, v = c["hidden_size"], c["vocab_size"]
    d = c.get("head_dim") or h // c["num_attention_heads"]
    q, kv, inter = c["num_attention_heads"] * d, c["num_key_value_heads"] * d, c["intermediate_size"]
    qkv_bias = c["model_type"] == "qwen2" or c.get("attention_bias", False)
    o_bias = c["model_type"] != "qwen2" and c.get("attention_bias", False)
    mlp_bias = c.get("mlp_bias", False)
    w = {"model.embed_tokens.weight": init.embedding(v, h, tied=c["tie_word_embeddings"])}
    for i in range(c["num_hidden_layers"]):
        p = f"model.layers.{i}."
        w[p + "input_layernorm.weight"] = init.norm(h)
        for name, out in (("q_proj", q), ("k_proj", kv), ("v_proj", kv)):
            w[p + f"self_attn.{name}.weight"] = init.matrix(out, h)
            if qkv_bias:
                w[p + f"self_attn.{name}.bias"] = init.bias(out)
        w[p + "self_attn.o_proj.weight"] = init.matrix(h, q)
        if o_bias:
            w[p + "self_attn.o_proj.bias"] = init.bias(h)
        w[p + "post_attention_layernorm.weight"] = init.norm(h)
        for name, out, inp in (("gate_proj", inter, h), ("up_proj", inter, h), ("down_proj", h, inter)):
            w[p + f"mlp.{name}.weight"] = init.matrix(out, inp)
            if mlp_bias:
                w[p + f"mlp.{name}.bias"] = init.bias(out)
    w["model.norm.weight"] = init.norm(h)
    if not c["tie_word_embeddings"]:
        w["lm_head.weight"] = init.embedding(v, h)
    return w


def gpt2_config(vocab, hidden, heads, layers, dtype):
    return {
        "activation_function": "gelu_new", "architectures": ["GPT2LMHeadModel"], "attn_pdrop": 0.1,
        "bos_token_id": vocab - 1, "embd_pdrop": 0.1, "eos_token_id": vocab - 1, "initializer_range": 0.02,
        "layer_norm_epsilon": 1e-05, "model_type": "gpt2", "n_ctx": 128, "n_embd": hidden, "n_head": heads,
        "n_inner": None, "n_layer": layers, "n_positions": 128, "reorder_and_upcast_attn": False,
        "resid_pdrop": 0.1, "scale_attn_by_inverse_layer_idx": False, "scale_attn_weights": True,
        "summary_activation": None, "summary_first_dropout": 0.1, "summary_proj_to_labels": True,
        "summary_type": "cls_index", "summary_use_proj": True, "torch_dtype": dtype,
        "transformers_version": VERSION, "use_cache": True, "vocab_size": vocab,
    }


def gpt2_weights(c, init):
    h, inner = c["n_embd"], c["n_inner"] or 4 * c["n_embd"]
    w = {"transformer.wte.weight": init.embedding(c["vocab_size"], h, tied=True),
         "transformer.wpe.weight": 0.1 * init.randn(c["n_positions"], h)}
    for i in range(c["n_layer"]):
        p = f"transformer.h.{i}."
        w[p + "ln_1.weight"], w[p + "ln_1.bias"] = init.norm(h), init.bias(h)
        w[p + "attn.c_attn.weight"], w[p + "attn.c_attn.bias"] = init.matrix(3 * h, h).T.contiguous(), init.bias(3 * h)
        w[p + "attn.c_proj.weight"], w[p + "attn.c_proj.bias"] = init.matrix(h, h).T.contiguous(), init.bias(h)
        w[p + "ln_2.weight"], w[p + "ln_2.bias"] = init.norm(h), init.bias(h)
        w[p + "mlp.c_fc.weight"], w[p + "mlp.c_fc.bias"] = init.matrix(inner, h).T.contiguous(), init.bias(inner)
        w[p + "mlp.c_proj.weight"], w[p + "mlp.c_proj.bias"] = init.matrix(h, inner).T.contiguous(), init.bias(h)
    w["transformer.ln_f.weight"], w["transformer.ln_f.bias"] = init.norm(h), init.bias(h)
    return w


def bert_config(vocab, hidden, heads, inter, layers, dtype, architecture, labels=None,
                problem_type="single_label_classification"):
    c = {
        "architectures": [architecture], "attention_probs_dropout_prob": 0.1, "classifier_dropout": None,
        "hidden_act": "gelu", "hidden_dropout_prob": 0.1, "hidden_size": hidden, "initializer_range": 0.02,
        "intermediate_size": inter, "layer_norm_eps": 1e-12, "max_position_embeddings": 64,
        "model_type": "bert", "num_attention_heads": heads, "num_hidden_layers": layers, "pad_token_id": 0,
        "position_embedding_type": "absolute", "torch_dtype": dtype, "transformers_version": VERSION,
        "type_vocab_size": 2, "use_cache": True, "vocab_size": vocab,
    }
    if labels:
        c["id2label"] = {str(i): l for i, l in enumerate(labels)}
        c["label2id"] = {l: i for i, l in enumerate(labels)}
        c["problem_type"] = problem_type
    return c


def bert_weights(c, init, prefix):
    h, inter = c["hidden_size"], c["intermediate_size"]
    w = {prefix + "embeddings.word_embeddings.weight": init.embedding(c["vocab_size"], h),
         prefix + "embeddings.position_embeddings.weight": 0.3 * init.randn(c["max_position_embeddings"], h),
         prefix + "embeddings.token_type_embeddings.weight": 0.3 * init.randn(c["type_vocab_size"], h),
         prefix + "embeddings.LayerNorm.weight": init.norm(h), prefix + "embeddings.LayerNorm.bias": init.bias(h)}
    for i in range(c["num_hidden_layers"]):
        p = f"{prefix}encoder.layer.{i}."
        for name in ("query", "key", "value"):
            w[p + f"attention.self.{name}.weight"], w[p + f"attention.self.{name}.bias"] = init.matrix(h, h), init.bias(h)
        w[p + "attention.output.dense.weight"], w[p + "attention.output.dense.bias"] = init.matrix(h, h), init.bias(h)
        w[p + "attention.output.LayerNorm.weight"], w[p + "attention.output.LayerNorm.bias"] = init.norm(h), init.bias(h)
        w[p + "intermediate.dense.weight"], w[p + "intermediate.dense.bias"] = init.matrix(inter, h), init.bias(inter)
        w[p + "output.dense.weight"], w[p + "output.dense.bias"] = init.matrix(h, inter), init.bias(h)
        w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"] = init.norm(h), init.bias(h)
    w[prefix + "pooler.dense.weight"], w[prefix + "pooler.dense.bias"] = init.matrix(h, h), init.bias(h)
    if "id2label" in c:
        w["classifier.weight"], w["classifier.bias"] = init.matrix(len(c["id2label"]), h), init.bias(len(c["id2label"]))
    return w


def prompts_for(vocab, n, lengths, first):
    """Prompt ids: [first] alone, then seeded random ids of the given lengths, starting with first."""
    g = torch.Generator().manual_seed(n)
    out = [[first]]
    for length in lengths:
        out.append([first] + torch.randint(3, vocab, (length - 1,), generator=g).tolist())
    return out


def save_model(out, c, weights, generation=None):
    os.makedirs(out, exist_ok=True)
    write_json(os.path.join(out, "config.json"), c)
    dtype = STORE[c["torch_dtype"]]
    safetensors_io.save(os.path.join(out, "model.safetensors"), {k: v.to(dtype) for k, v in weights.items()},
                        {"format": "pt"})
    if generation is not None:
        write_json(os.path.join(out, "generation_config.json"), dict(generation, transformers_version=VERSION))


def header(name, c, note):
    return {"format": "lab-golden-1", "model": name, "architectures": c["architectures"], "model_type": c["model_type"],
            "weights_dtype": c["torch_dtype"], "compute_dtype": "float32",
            "reference": f"tools/reference/modeling.py (torch {torch.__version__}, eager, fp32)",
            "vocab_size": c["vocab_size"], "what": note}


def make_decoder(root, name, c, note, eos=None, n_greedy=24):
    out = os.path.join(root, name)
    weights = gpt2_weights(c, Init(name)) if c["model_type"] == "gpt2" else llama_weights(c, Init(name))
    bos = c["bos_token_id"]
    generation = {"_from_model_config": True, "bos_token_id": bos, "eos_token_id": eos if eos is not None else c["eos_token_id"]}
    save_model(out, c, weights, generation)
    model = modeling.load_model(out)
    g = header(name, c, note)
    g["prompts"] = [goldens.decoder_prompt(model, ids, n_greedy, [0, 3, 9])
                    for ids in prompts_for(c["vocab_size"], len(name), [12, 21], bos)]
    write_json(os.path.join(out, "golden.json"), g)


def old_layer_norm_names(weights):
    """Old BERT checkpoints name LayerNorm parameters gamma / beta."""
    return {k.replace("LayerNorm.weight", "LayerNorm.gamma").replace("LayerNorm.bias", "LayerNorm.beta"): v
            for k, v in weights.items()}


def bert_tokenizer(vocab_size):
    """A WordPiece tokenizer.json for the small BERT vocabularies: [PAD] [UNK] [CLS] [SEP] are ids
    0-3 and the word "t<i>" is id i, so the prompts can be written as text ("t90 t169")."""
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]"]
    vocab = {t: i for i, t in enumerate(specials)}
    vocab.update({f"t{i}": i for i in range(len(specials), vocab_size)})
    added = [{"id": i, "content": t, "single_word": False, "lstrip": False, "rstrip": False, "normalized": False,
              "special": True} for i, t in enumerate(specials)]
    return {
        "version": "1.0", "truncation": None, "padding": None, "added_tokens": added,
        "normalizer": {"type": "BertNormalizer", "clean_text": True, "handle_chinese_chars": True,
                       "strip_accents": None, "lowercase": False},
        "pre_tokenizer": {"type": "BertPreTokenizer"},
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                       {"SpecialToken": {"id": "[SEP]", "type_id": 0}}],
            "pair": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                     {"SpecialToken": {"id": "[SEP]", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}},
                     {"SpecialToken": {"id": "[SEP]", "type_id": 1}}],
            "special_tokens": {"[CLS]": {"id": "[CLS]", "ids": [2], "tokens": ["[CLS]"]},
                               "[SEP]": {"id": "[SEP]", "ids": [3], "tokens": ["[SEP]"]}}},
        "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": True},
        "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                  "max_input_chars_per_word": 100, "vocab": vocab},
    }


def make_fill_mask(root):
    """tiny-bert (tests/data/fixtures) on "the quick brown [MASK] jumps over the lazy dog.": the
    bert-base-uncased ids of the fixture's first prompt with "fox" masked, and the top 10 of the
    softmax at the mask."""
    fixture = os.path.join(root, "..", "fixtures", "tiny-bert")
    ids = [101, 1996, 4248, 2829, 103, 14523, 2058, 1996, 13971, 3899, 1012, 102]
    model = modeling.load_model(fixture)
    with torch.no_grad():
        probs = torch.softmax(model.mlm_logits(model.forward(torch.tensor([ids]))[0])[4], 0)
        values, top = torch.topk(probs, 10)
    write_json(os.path.join(root, "fixture-goldens", "tiny-bert-fill-mask.json"), {
        "format": "lab-golden-1", "model": "tiny-bert", "reference": f"tools/reference/modeling.py (torch {torch.__version__})",
        "text": "the quick brown [MASK] jumps over the lazy dog.", "ids": ids, "mask_position": 4,
        "top": [{"id": int(i), "score": goldens.num(v)} for i, v in zip(top.tolist(), values.tolist())]})


def make_bert(root, name, c, note, sentence_transformers=False, pooling="mean", normalize=True, old_names=False,
              token_types=False):
    out = os.path.join(root, name)
    weights = bert_weights(c, Init(name), "" if sentence_transformers else "bert.")
    save_model(out, c, old_layer_norm_names(weights) if old_names else weights)
    write_json(os.path.join(out, "tokenizer.json"), bert_tokenizer(c["vocab_size"]))
    if sentence_transformers:
        modules = [{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
                   {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}]
        if normalize:
            modules.append({"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"})
        write_json(os.path.join(out, "modules.json"), modules)
        write_json(os.path.join(out, "sentence_bert_config.json"), {"do_lower_case": False, "max_seq_length": 64})
        os.makedirs(os.path.join(out, "1_Pooling"), exist_ok=True)
        write_json(os.path.join(out, "1_Pooling", "config.json"), {
            "word_embedding_dimension": c["hidden_size"], "pooling_mode_cls_token": pooling == "cls",
            "pooling_mode_mean_tokens": pooling == "mean", "pooling_mode_max_tokens": pooling == "max",
            "pooling_mode_mean_sqrt_len_tokens": False, "pooling_mode_weightedmean_tokens": False,
            "pooling_mode_lasttoken": False, "include_prompt": True})
        if normalize:  # Normalize has no configuration; keep the folder in git.
            os.makedirs(os.path.join(out, "2_Normalize"), exist_ok=True)
            open(os.path.join(out, "2_Normalize", ".gitkeep"), "w").close()
    model = modeling.load_model(out)
    prompts = [[2] + p[1:] + [3] for p in prompts_for(c["vocab_size"], len(name), [7, 12, 19], 2)[1:]]
    g = header(name, c, note)
    # Token types as for a sentence pair: 1 from the middle of the text on.
    types = [[0] * (len(p) // 2) + [1] * (len(p) - len(p) // 2) if token_types else None for p in prompts]
    g["prompts"] = [goldens.bert_prompt(model, ids, [0, 3], t) for ids, t in zip(prompts, types)]
    # A sentence pair: [CLS] a [SEP] b [SEP] with token types 0 for the first part, 1 for the second.
    pair = prompts[0] + prompts[1][1:]
    g["pair"] = goldens.bert_prompt(model, pair, [0, 3], [0] * len(prompts[0]) + [1] * (len(prompts[1]) - 1))
    ids, mask, batch, diff = goldens.padded_batch(model, prompts, c["pad_token_id"])
    g["padded_batch"] = {"pad_id": c["pad_token_id"], "padded_len": ids.shape[1],
                         "max_abs_hidden_diff_vs_unpadded": goldens.num(diff)}
    if sentence_transformers:
        with torch.no_grad():
            emb = modeling.sentence_embedding(out, model, ids, mask)
        g["sentence_embeddings"] = {"pooling": pooling, "normalize": normalize, "note": "one per prompt, from the padded batch",
                                    "embeddings": [goldens.nums(e) for e in emb]}
    write_json(os.path.join(out, "golden.json"), g)


def main(root):
    torch.set_num_threads(1)
    make_decoder(root, "llama-odd-gqa", llama_config(
        "llama", vocab=256, hidden=72, heads=6, kv=2, inter=64, layers=2, dtype="float16", tie=False, head_dim=24,
        rope_scaling={"factor": 2.0, "rope_type": "linear", "type": "linear"}, attention_bias=True, mlp_bias=True),
        "LLaMA, hidden 72, 6 heads of head_dim 24 (!= 72/6), GQA 3:1, attention_bias and mlp_bias, linear "
        "rope_scaling factor 2, untied head, f16 file")
    make_decoder(root, "llama-mqa-bf16", llama_config(
        "llama", vocab=320, hidden=64, heads=4, kv=1, inter=128, layers=2, dtype="bfloat16", tie=True,
        rope_theta=500000.0),
        "LLaMA, MQA (4 heads, 1 KV head), rope_theta 5e5, tied head, bf16 file, eos_token_id a list",
        eos=[2, 3])
    make_decoder(root, "mistral-sw", llama_config(
        "mistral", vocab=256, hidden=64, heads=4, kv=2, inter=48, layers=2, dtype="float32", tie=False,
        sliding_window=8),
        "Mistral, sliding_window 8 (shorter than the prompts and the generations), GQA 2:1, untied, f32 file")
    make_decoder(root, "qwen2-gqa3-f16", llama_config(
        "qwen2", vocab=288, hidden=48, heads=6, kv=2, inter=96, layers=2, dtype="float16", tie=False,
        rope_theta=1000000.0),
        "Qwen2, q/k/v bias, 6 heads of 8, GQA 3:1, rope_theta 1e6, untied head, f16 file")
    make_decoder(root, "gpt2-bf16", gpt2_config(vocab=256, hidden=48, heads=3, layers=2, dtype="bfloat16"),
                 "GPT-2, 48 wide, 3 heads of 16, tied head, bf16 file")
    make_bert(root, "bert-cls", bert_config(
        vocab=256, hidden=48, heads=3, inter=96, layers=2, dtype="float32",
        architecture="BertForSequenceClassification", labels=["negative", "neutral", "positive"]),
        "BertForSequenceClassification, hidden 48, 3 heads of 16, 3 labels, f32 file")
    make_bert(root, "st-bert-mean", bert_config(
        vocab=256, hidden=48, heads=3, inter=96, layers=2, dtype="bfloat16", architecture="BertModel"),
        "sentence-transformers directory: BertModel (no 'bert.' prefix), mean pooling, Normalize, bf16 file",
        sentence_transformers=True)
    make_bert(root, "bert-multilabel-f16", bert_config(
        vocab=256, hidden=48, heads=3, inter=96, layers=2, dtype="float16",
        architecture="BertForSequenceClassification", labels=["toxic", "insult", "threat", "spam"],
        problem_type="multi_label_classification"),
        "BertForSequenceClassification, multi_label_classification with 4 labels, old LayerNorm gamma/beta "
        "names, token type ids (1 from the middle of each text on), f16 file", old_names=True, token_types=True)
    make_bert(root, "st-bert-cls", bert_config(
        vocab=256, hidden=40, heads=5, inter=72, layers=2, dtype="float32", architecture="BertModel"),
        "sentence-transformers directory: hidden 40, 5 heads of 8, CLS pooling, Normalize, f32 file",
        sentence_transformers=True, pooling="cls")
    make_bert(root, "st-bert-max", bert_config(
        vocab=256, hidden=40, heads=5, inter=72, layers=2, dtype="float32", architecture="BertModel"),
        "sentence-transformers directory: hidden 40, 5 heads of 8, max pooling, no Normalize, f32 file",
        sentence_transformers=True, pooling="max", normalize=False)
    make_fill_mask(root)


if __name__ == "__main__":
    main(sys.argv[1])
