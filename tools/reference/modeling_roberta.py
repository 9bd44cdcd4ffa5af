"""Plain-PyTorch re-implementation of transformers' RobertaModel / XLMRobertaModel and their
*ForSequenceClassification heads (modeling_roberta.py, modeling_xlm_roberta.py), plus the
sentence-transformers pieces zest reads beyond modeling.py's: lasttoken pooling, prompts excluded
from pooling (include_prompt false), the Dense module, Normalize and Matryoshka truncation
(truncate_dim), and CrossEncoder's default activation.

RoBERTa is BERT with two differences that change the maths:
- RobertaEmbeddings.create_position_ids_from_input_ids: mask = ids != padding_idx;
  position = cumsum(mask) * mask + padding_idx, so the first real token has padding_idx + 1 and
  padding (and any padding_idx token) has padding_idx;
- RobertaClassificationHead on features[:, 0]: dense -> tanh -> out_proj (no pooler).
Weights sit under "roberta." in *ForSequenceClassification checkpoints, bare in saved base models.
"""
import json
import math
import os

import torch
import torch.nn.functional as F

import modeling
import safetensors_io


def roberta_position_ids(ids, padding_idx):
    mask = ids.ne(padding_idx).int()
    return (torch.cumsum(mask, dim=1).type_as(mask) * mask).long() + padding_idx


class Roberta(modeling.Bert):
    def __init__(self, config, weights):
        super().__init__(config, weights)
        self.prefix = ["roberta.", ""]
        self.padding_idx = config.get("pad_token_id", 1)
        for key in ("is_decoder", "add_cross_attention"):
            if config.get(key, False):
                raise ValueError(f"{key} is not supported")

    def forward(self, ids, attention_mask=None, token_type_ids=None):
        b, t = ids.shape
        if attention_mask is None:
            attention_mask = torch.ones(b, t)
        if token_type_ids is None:
            token_type_ids = torch.zeros(b, t, dtype=torch.long)
        positions = roberta_position_ids(ids, self.padding_idx)
        x = (self.p("embeddings.word_embeddings.weight")[ids]
             + self.p("embeddings.token_type_embeddings.weight")[token_type_ids]
             + self.p("embeddings.position_embeddings.weight")[positions])
        x = self.ln(x, "embeddings.LayerNorm")
        bias = (1.0 - attention_mask.float())[:, None, None, :] * torch.finfo(torch.float32).min
        for i in range(self.n_layer):
            l = f"encoder.layer.{i}."

            def heads(z):
                return z.view(b, t, self.n_head, self.head_dim).transpose(1, 2)
            q = heads(self.linear(x, l + "attention.self.query"))
            k = heads(self.linear(x, l + "attention.self.key"))
            v = heads(self.linear(x, l + "attention.self.value"))
            scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(self.head_dim) + bias
            o = torch.matmul(torch.softmax(scores, dim=-1), v).transpose(1, 2).reshape(b, t, self.hidden)
            x = self.ln(self.linear(o, l + "attention.output.dense") + x, l + "attention.output.LayerNorm")
            m = self.act(self.linear(x, l + "intermediate.dense"))
            x = self.ln(self.linear(m, l + "output.dense") + x, l + "output.LayerNorm")
        return x

    def has_head(self):
        return "classifier.out_proj.weight" in self.w

    def head_logits(self, hidden):
        """RobertaClassificationHead: hidden [B, T, H] -> logits [B, labels]."""
        w = self.w
        x = torch.tanh(F.linear(hidden[:, 0], w["classifier.dense.weight"], w["classifier.dense.bias"]))
        return F.linear(x, w["classifier.out_proj.weight"], w["classifier.out_proj.bias"])


def load_model(model_dir):
    with open(os.path.join(model_dir, "config.json")) as f:
        config = json.load(f)
    if config.get("model_type") in ("roberta", "xlm-roberta"):
        return Roberta(config, modeling.load_weights(model_dir))
    return modeling.load_model(model_dir)


def classifier_logits(model, hidden):
    """Any family's *ForSequenceClassification logits from the final hidden states [B, T, H]."""
    if isinstance(model, Roberta):
        return model.head_logits(hidden)
    return model.classifier_logits(model.pooler(hidden))


def cross_encoder_activation(config):
    """sentence-transformers' CrossEncoder.get_default_activation_fn: config.json's
    sentence_transformers.activation_fn (or the older sbert_ce_default_activation_function), else
    Sigmoid for one label and Identity otherwise."""
    path = (config.get("sentence_transformers") or {}).get("activation_fn") or config.get("sbert_ce_default_activation_function")
    if path is None:
        return "sigmoid" if len(config.get("id2label", {"0": 0, "1": 1})) == 1 else "identity"
    return {"torch.nn.modules.activation.Sigmoid": "sigmoid", "torch.nn.modules.linear.Identity": "identity"}[path]


# sentence-transformers -------------------------------------------------------------------------

POOLING_KEYS = (("cls", "pooling_mode_cls_token"), ("max", "pooling_mode_max_tokens"),
                ("mean", "pooling_mode_mean_tokens"), ("mean_sqrt_len_tokens", "pooling_mode_mean_sqrt_len_tokens"),
                ("weightedmean", "pooling_mode_weightedmean_tokens"), ("lasttoken", "pooling_mode_lasttoken"))


def pooling_mode(config):
    """Pooling's mode from either form of 1_Pooling/config.json (sentence-transformers 6's
    pooling_mode, or the older pooling_mode_* booleans; none set means mean)."""
    if "pooling_mode" in config:
        mode = config["pooling_mode"]
        return mode[0] if isinstance(mode, list) and len(mode) == 1 else mode
    modes = [m for m, key in POOLING_KEYS if config.get(key)]
    return modes[0] if len(modes) == 1 else (tuple(modes) if modes else "mean")


def pool(hidden, mask, mode):
    """Pooling._forward_padded for one mode; mask [B, T] with prompt tokens already zeroed."""
    m = mask.float()[..., None]
    if mode == "cls":
        first = mask.int().argmax(dim=1)
        return hidden[torch.arange(hidden.shape[0]), first]
    if mode == "mean":
        return (hidden * m).sum(1) / torch.clamp(m.sum(1), min=1e-9)
    if mode == "max":
        return hidden.masked_fill(m == 0, float("-inf")).max(1).values
    if mode == "lasttoken":
        t = hidden.shape[1]
        values, indices = mask.flip(1).max(1)
        indices = torch.where(values == 0, t - 1, indices)
        return (hidden * m)[torch.arange(hidden.shape[0]), t - indices - 1]
    raise ValueError(f"unsupported pooling {mode!r}")


ACTIVATIONS = {"torch.nn.modules.activation.Tanh": torch.tanh, "torch.nn.modules.linear.Identity": lambda x: x,
               "torch.nn.modules.activation.Sigmoid": torch.sigmoid, "torch.nn.modules.activation.ReLU": F.relu,
               "torch.nn.modules.activation.GELU": F.gelu, "torch.nn.modules.activation.SiLU": F.silu}


def sentence_embedding(model_dir, model, ids, attention_mask, prompt_length=None, truncate_dim=None):
    """SentenceTransformer.encode on a padded batch: the modules of modules.json in order, then
    truncate_dim (after Normalize, as encode() does)."""
    with open(os.path.join(model_dir, "modules.json")) as f:
        modules = json.load(f)
    x = model.forward(ids, attention_mask)
    for m in modules:
        kind = m["type"].rsplit(".", 1)[-1]
        path = os.path.join(model_dir, m["path"])
        if kind == "Pooling":
            with open(os.path.join(path, "config.json")) as f:
                pc = json.load(f)
            mask = attention_mask.clone()
            if not pc.get("include_prompt", True) and prompt_length:
                mask[:, :prompt_length] = 0
            x = pool(x, mask, pooling_mode(pc))
        elif kind == "Dense":
            with open(os.path.join(path, "config.json")) as f:
                dc = json.load(f)
            w, _ = safetensors_io.load(os.path.join(path, "model.safetensors"))
            act = ACTIVATIONS[dc.get("activation_function", "torch.nn.modules.activation.Tanh")]
            x = act(F.linear(x, w["linear.weight"].float(), w["linear.bias"].float() if dc.get("bias", True) else None))
        elif kind == "Normalize":
            x = F.normalize(x, p=2, dim=-1)
        elif kind != "Transformer":
            raise ValueError(f"unsupported sentence-transformers module {m['type']}")
    if truncate_dim is not None:
        x = x[:, :truncate_dim]
    return x
