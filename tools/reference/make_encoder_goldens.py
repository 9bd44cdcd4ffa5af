"""Writes the RoBERTa / XLM-R, reranker and sentence-transformers directories of tests/data/models/
with their golden.json (see make_goldens.py for the BERT and decoder ones, whose helpers this
reuses). Goldens are computed by modeling_roberta.py from the stored weights upcast to float32.

The tiny tokenizers map the word "t<i>" to id i, so the tests can write prompts as text: ids 0-3
are <s> <pad> </s> <unk> (RoBERTa's order) or [PAD] [UNK] [CLS] [SEP] (BERT's).
Usage: make_encoder_goldens.py OUT_DIR (e.g. tests/data/models). Deterministic for a given torch.
"""
import json
import os
import sys

import torch

import goldens
import make_goldens as mg
import modeling_roberta as mr
import safetensors_io

REFERENCE = f"tools/reference/modeling_roberta.py (torch {torch.__version__}, eager, fp32)"
ROBERTA_SPECIALS = ["<s>", "<pad>", "</s>", "<unk>"]


def roberta_config(kind, vocab, hidden, heads, inter, layers, dtype, architecture, labels=None,
                   problem_type=None, extra=None):
    """config.json as transformers 4.45 writes RobertaConfig / XLMRobertaConfig."""
    c = {
        "architectures": [architecture], "attention_probs_dropout_prob": 0.1, "bos_token_id": 0,
        "classifier_dropout": None, "eos_token_id": 2, "hidden_act": "gelu", "hidden_dropout_prob": 0.1,
        "hidden_size": hidden, "initializer_range": 0.02, "intermediate_size": inter, "layer_norm_eps": 1e-05,
        "max_position_embeddings": 66, "model_type": kind, "num_attention_heads": heads,
        "num_hidden_layers": layers, "pad_token_id": 1, "position_embedding_type": "absolute",
        "torch_dtype": dtype, "transformers_version": mg.VERSION, "type_vocab_size": 1, "use_cache": True,
        "vocab_size": vocab,
    }
    if labels:
        c["id2label"] = {str(i): l for i, l in enumerate(labels)}
        c["label2id"] = {l: i for i, l in enumerate(labels)}
    if problem_type:
        c["problem_type"] = problem_type
    c.update(extra or {})
    return c


def roberta_weights(c, init, prefix, pooler):
    w = mg.bert_weights({k: v for k, v in c.items() if k != "id2label"}, init, prefix)
    if not pooler:  # *ForSequenceClassification builds RobertaModel(add_pooling_layer=False)
        del w[prefix + "pooler.dense.weight"], w[prefix + "pooler.dense.bias"]
    # An embedding row for padding_idx as nn.Embedding(padding_idx=...) leaves it: still random here,
    # so that a wrong position lookup shows.
    if "id2label" in c:
        h, n = c["hidden_size"], len(c["id2label"])
        w["classifier.dense.weight"], w["classifier.dense.bias"] = init.matrix(h, h), init.bias(h)
        w["classifier.out_proj.weight"], w["classifier.out_proj.bias"] = init.matrix(n, h), init.bias(n)
    return w


def words_tokenizer(vocab_size, kind):
    """tokenizer.json with "t<i>" -> i: WordPiece with RobertaProcessing (roberta), or Unigram with
    Metaspace and XLM-R's template <s> $A </s> </s> $B </s> (xlm-roberta; its last id is a lone
    "▁", as XLM-R has one, which a text ending in a space gives)."""
    added = [{"id": i, "content": t, "single_word": False, "lstrip": False, "rstrip": False, "normalized": False,
              "special": True} for i, t in enumerate(ROBERTA_SPECIALS)]
    if kind == "roberta":
        vocab = {t: i for i, t in enumerate(ROBERTA_SPECIALS)}
        vocab.update({f"t{i}": i for i in range(4, vocab_size)})
        return {
            "version": "1.0", "truncation": None, "padding": None, "added_tokens": added,
            "normalizer": {"type": "BertNormalizer", "clean_text": True, "handle_chinese_chars": True,
                           "strip_accents": None, "lowercase": False},
            "pre_tokenizer": {"type": "BertPreTokenizer"},
            "post_processor": {"type": "RobertaProcessing", "sep": ["</s>", 2], "cls": ["<s>", 0],
                               "trim_offsets": True, "add_prefix_space": False},
            "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": True},
            "model": {"type": "WordPiece", "unk_token": "<unk>", "continuing_subword_prefix": "##",
                      "max_input_chars_per_word": 100, "vocab": vocab},
        }
    special = lambda name, type_id: {"SpecialToken": {"id": name, "type_id": type_id}}
    sequence = lambda name, type_id: {"Sequence": {"id": name, "type_id": type_id}}
    return {
        "version": "1.0", "truncation": None, "padding": None, "added_tokens": added, "normalizer": None,
        "pre_tokenizer": {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always", "split": True},
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [special("<s>", 0), sequence("A", 0), special("</s>", 0)],
            "pair": [special("<s>", 0), sequence("A", 0), special("</s>", 0), special("</s>", 0), sequence("B", 0),
                     special("</s>", 0)],
            "special_tokens": {"<s>": {"id": "<s>", "ids": [0], "tokens": ["<s>"]},
                               "</s>": {"id": "</s>", "ids": [2], "tokens": ["</s>"]}}},
        "decoder": {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always", "split": True},
        "model": {"type": "Unigram", "unk_id": 3, "byte_fallback": False,
                  "vocab": [[t, 0.0] for t in ROBERTA_SPECIALS] + [[f"\u2581t{i}", -1.0 - i / 1000]
                                                                   for i in range(4, vocab_size - 1)]
                  + [["\u2581", -20.0]]},
    }


def words(text, c=None):
    """The ids of a text of "t<i>" words; with XLM-R's Metaspace a trailing space is a lone "▁"."""
    ids = [int(w[1:]) for w in text.split()]
    if c is not None and c["model_type"] == "xlm-roberta" and text.endswith(" "):
        ids.append(c["vocab_size"] - 1)
    return ids


def text_of(ids):
    return " ".join(f"t{i}" for i in ids)


def pair_ids(kind, a, b):
    """The pair template's ids and token types: BERT [CLS] a [SEP] b [SEP] (types 0 then 1),
    RoBERTa <s> a </s> </s> b </s> (all 0)."""
    if kind == "bert":
        return [2] + a + [3] + b + [3], [0] * (len(a) + 2) + [1] * (len(b) + 1)
    ids = [0] + a + [2, 2] + b + [2]
    return ids, [0] * len(ids)


def truncate_pair(a, b, max_length):
    """Hugging Face tokenizers' truncate_encodings, LongestFirst, for the texts' own ids."""
    if len(a) + len(b) <= max_length:
        return a, b
    n1, n2, swap = len(a), len(b), len(a) > len(b)
    if swap:
        n1, n2 = n2, n1
    n2 = n1 if n1 > max_length else max(n1, max_length - n1)
    if n1 + n2 > max_length:
        n1 = max_length // 2
        n2 = n1 + max_length % 2
    if swap:
        n1, n2 = n2, n1
    return a[:n1], b[:n2]


def roberta_prompt(model, ids, types=None):
    with torch.no_grad():
        x = torch.tensor([ids])
        hidden = model.forward(x, token_type_ids=None if types is None else torch.tensor([types]))
        rec = {"ids": list(ids), "hidden_first": goldens.stats(hidden[0, 0]), "hidden_last": goldens.stats(hidden[0, -1])}
        if types is not None:
            rec["token_type_ids"] = list(types)
        if model.p("pooler.dense.weight", False) is not None:
            rec["pooler"] = goldens.stats(model.pooler(hidden)[0])
        if (isinstance(model, mr.Roberta) and model.has_head()) or "classifier.weight" in model.w:
            logits = mr.classifier_logits(model, hidden)[0]
            rec["classifier_logits"] = goldens.nums(logits)
            rec["classifier_softmax"] = goldens.nums(torch.softmax(logits, 0))
            rec["classifier_sigmoid"] = goldens.nums(torch.sigmoid(logits))
        return rec


def header(name, c, note):
    g = mg.header(name, c, note)
    g["reference"] = REFERENCE
    return g


def rerank_record(model, c, kind, query, documents, max_length):
    """CrossEncoder.predict on (query, document) pairs: ids through the pair template (truncated
    LongestFirst to max_length), classifier logits, the default activation."""
    activation = mr.cross_encoder_activation(c)
    added = 3 if kind == "bert" else 4
    pairs, logits = [], []
    with torch.no_grad():
        for doc in documents:
            a, b = truncate_pair(words(query), words(doc), max_length - added)
            ids, types = pair_ids(kind, a, b)
            hidden = model.forward(torch.tensor([ids]), token_type_ids=torch.tensor([types]) if kind == "bert" else None)
            pairs.append({"ids": ids, "token_type_ids": types,
                          "truncated": len(words(query)) + len(words(doc)) + added > max_length})
            logits.append(float(mr.classifier_logits(model, hidden)[0, 0]))
    t = torch.tensor(logits)
    scores = torch.sigmoid(t) if activation == "sigmoid" else t
    return {"query": query, "documents": documents, "max_length": max_length, "activation": activation,
            "pairs": pairs, "logits": goldens.nums(t), "scores": goldens.nums(scores)}


def make_classifier(root, name, c, note, kind, reranker=False):
    out = os.path.join(root, name)
    prefix = "bert." if kind == "bert" else "roberta."
    if kind == "bert":
        weights = mg.bert_weights(c, mg.Init(name), prefix)
        mg.save_model(out, c, weights)
        mg.write_json(os.path.join(out, "tokenizer.json"), mg.bert_tokenizer(c["vocab_size"]))
    else:
        mg.save_model(out, c, roberta_weights(c, mg.Init(name), prefix, pooler=False))
        mg.write_json(os.path.join(out, "tokenizer.json"), words_tokenizer(c["vocab_size"], c["model_type"]))
    model = mr.load_model(out)
    first, last = (2, 3) if kind == "bert" else (0, 2)
    prompts = [[first] + p[1:] + [last] for p in mg.prompts_for(c["vocab_size"], len(name), [7, 12, 19], first)[1:]]
    if kind != "bert":
        prompts[1][4] = c["pad_token_id"]  # a padding_idx token inside a text keeps position padding_idx
    g = header(name, c, note)
    g["prompts"] = [roberta_prompt(model, ids) for ids in prompts]
    a, b = prompts[0][1:-1], prompts[1][1:-1]
    ids, types = pair_ids(kind, a, b)
    g["pair"] = roberta_prompt(model, ids, types)
    pids, mask, batch, diff = goldens.padded_batch(model, prompts, c["pad_token_id"])
    g["padded_batch"] = {"pad_id": c["pad_token_id"], "padded_len": pids.shape[1],
                         "max_abs_hidden_diff_vs_unpadded": goldens.num(diff)}
    if reranker:
        gen = torch.Generator().manual_seed(7)
        rand = lambda n: text_of(torch.randint(4, c["vocab_size"] - 1, (n,), generator=gen).tolist())
        # The last document is long enough for LongestFirst truncation of the pair (max 64 ids).
        g["rerank"] = rerank_record(model, c, kind, rand(5), [rand(9), rand(3), rand(14), rand(80)], 64)
    mg.write_json(os.path.join(out, "golden.json"), g)


def make_sentence_transformer(root, name, c, note, pooling, dense, normalize, prompts, default_prompt, max_seq,
                              include_prompt=True, new_pooling_form=True):
    out = os.path.join(root, name)
    init = mg.Init(name)
    mg.save_model(out, c, roberta_weights(c, init, "", pooler=True))
    mg.write_json(os.path.join(out, "tokenizer.json"), words_tokenizer(c["vocab_size"], c["model_type"]))
    h = c["hidden_size"]
    modules = [{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
               {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}]
    os.makedirs(os.path.join(out, "1_Pooling"), exist_ok=True)
    if new_pooling_form:  # sentence-transformers 6
        pc = {"embedding_dimension": h, "pooling_mode": pooling, "include_prompt": include_prompt}
    else:
        pc = {"word_embedding_dimension": h, "include_prompt": include_prompt}
        pc.update({key: mode == pooling for mode, key in mr.POOLING_KEYS})
    mg.write_json(os.path.join(out, "1_Pooling", "config.json"), pc)
    if dense:
        n_out, activation, bias = dense
        modules.append({"idx": 2, "name": "2", "path": "2_Dense", "type": "sentence_transformers.models.Dense"})
        os.makedirs(os.path.join(out, "2_Dense"), exist_ok=True)
        mg.write_json(os.path.join(out, "2_Dense", "config.json"),
                      {"in_features": h, "out_features": n_out, "bias": bias, "activation_function": activation})
        w = {"linear.weight": init.matrix(n_out, h)}
        if bias:
            w["linear.bias"] = init.bias(n_out)
        safetensors_io.save(os.path.join(out, "2_Dense", "model.safetensors"), w, {"format": "pt"})
    if normalize:
        modules.append({"idx": len(modules), "name": str(len(modules)), "path": f"{len(modules)}_Normalize",
                        "type": "sentence_transformers.models.Normalize"})
        os.makedirs(os.path.join(out, modules[-1]["path"]), exist_ok=True)
        open(os.path.join(out, modules[-1]["path"], ".gitkeep"), "w").close()
    mg.write_json(os.path.join(out, "modules.json"), modules)
    mg.write_json(os.path.join(out, "sentence_bert_config.json"), {"do_lower_case": False, "max_seq_length": max_seq})
    mg.write_json(os.path.join(out, "config_sentence_transformers.json"), {
        "__version__": {"sentence_transformers": "5.1.0", "transformers": mg.VERSION, "pytorch": "2.4.0"},
        "prompts": prompts, "default_prompt_name": default_prompt, "similarity_fn_name": "cosine"})

    model = mr.load_model(out)
    gen = torch.Generator().manual_seed(len(name))
    texts = [text_of(torch.randint(4, c["vocab_size"] - 1, (n,), generator=gen).tolist()) for n in (3, 9, 1, 25)]

    def run(prompt_name, dimensions=None):
        """SentenceTransformer.encode(texts, prompt_name=..., truncate_dim=...) on one padded batch."""
        prompt = prompts.get(prompt_name, "") if prompt_name else prompts.get(default_prompt, "") if default_prompt else ""
        # prompt_length: the prompt tokenized alone, less its closing special token (as encode();
        # with XLM-R's tokenizer the prompt's trailing space is a token of its own, so the first
        # token of the text is left out of the pooling too, as sentence-transformers does).
        prompt_length = len(words(prompt, c)) + 1 if prompt else None
        ids, truncated = [], []
        for t in texts:
            w = words(prompt + t)
            truncated.append(len(w) + 2 > max_seq)
            ids.append([0] + w[:max_seq - 2] + [2])
        n = max(len(i) for i in ids)
        batch = torch.full((len(ids), n), c["pad_token_id"], dtype=torch.long)
        mask = torch.zeros(len(ids), n, dtype=torch.long)
        for i, row in enumerate(ids):
            batch[i, :len(row)] = torch.tensor(row)
            mask[i, :len(row)] = 1
        with torch.no_grad():
            emb = mr.sentence_embedding(out, model, batch, mask, prompt_length, dimensions)
        return {"prompt_name": prompt_name, "prompt": prompt, "dimensions": dimensions, "ids": ids,
                "truncated": truncated, "embeddings": [goldens.nums(e) for e in emb]}

    g = header(name, c, note)
    g["sentence_transformers"] = {
        "texts": texts, "max_seq_length": max_seq, "pooling": pooling, "normalize": normalize,
        "runs": [run(None)] + [run(p) for p in prompts] + [run("query", 8)]}
    mg.write_json(os.path.join(out, "golden.json"), g)


def main(root):
    torch.set_num_threads(1)
    make_classifier(root, "roberta-cls", roberta_config(
        "roberta", vocab=256, hidden=48, heads=3, inter=96, layers=2, dtype="float32",
        architecture="RobertaForSequenceClassification", labels=["negative", "neutral", "positive"],
        problem_type="single_label_classification"),
        "RobertaForSequenceClassification, hidden 48, 3 heads of 16, 3 labels, positions from padding_idx + 1 "
        "(a padding_idx token inside the second prompt), classification head on <s>, f32 file", "roberta")
    make_classifier(root, "xlm-roberta-reranker-f16", roberta_config(
        "xlm-roberta", vocab=288, hidden=40, heads=5, inter=80, layers=2, dtype="float16",
        architecture="XLMRobertaForSequenceClassification", labels=["LABEL_0"]),
        "XLMRobertaForSequenceClassification with one label (a cross-encoder reranker: CrossEncoder's default "
        "Sigmoid), Unigram tokenizer with <s> $A </s> </s> $B </s>, f16 file", "xlm-roberta", reranker=True)
    bert = mg.bert_config(vocab=256, hidden=48, heads=3, inter=96, layers=2, dtype="bfloat16",
                          architecture="BertForSequenceClassification", labels=["LABEL_0"])
    del bert["problem_type"]
    bert["sentence_transformers"] = {"activation_fn": "torch.nn.modules.linear.Identity", "version": "5.1.0"}
    make_classifier(root, "bert-reranker-bf16", bert,
                    "BertForSequenceClassification with one label, a cross-encoder whose config.json names Identity "
                    "as its activation (raw logits), pairs with token types 0 / 1, bf16 file", "bert", reranker=True)
    make_sentence_transformer(root, "st-roberta-lasttoken", roberta_config(
        "roberta", vocab=256, hidden=48, heads=3, inter=96, layers=2, dtype="bfloat16", architecture="RobertaModel"),
        "sentence-transformers directory: RobertaModel, lasttoken pooling in sentence-transformers 6's form, "
        "Dense 48 -> 24 (Tanh), Normalize, prompts, max_seq_length 16, bf16 file",
        pooling="lasttoken", dense=(24, "torch.nn.modules.activation.Tanh", True), normalize=True,
        prompts={"query": "t7 t8 ", "document": ""}, default_prompt=None, max_seq=16)
    make_sentence_transformer(root, "st-xlm-roberta-mean", roberta_config(
        "xlm-roberta", vocab=288, hidden=40, heads=5, inter=80, layers=2, dtype="float32", architecture="XLMRobertaModel"),
        "sentence-transformers directory: XLMRobertaModel, mean pooling (older pooling_mode_* form) without the "
        "prompt's tokens (include_prompt false), default_prompt_name query, Dense 40 -> 40 (Identity, no bias), "
        "no Normalize, max_seq_length 20, f32 file",
        pooling="mean", dense=(40, "torch.nn.modules.linear.Identity", False), normalize=False,
        prompts={"query": "t5 t6 t7 ", "passage": "t9 "}, default_prompt="query", max_seq=20, include_prompt=False,
        new_pooling_form=False)


if __name__ == "__main__":
    main(sys.argv[1])
