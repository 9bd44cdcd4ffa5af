"""Plain-PyTorch re-implementation of Hugging Face transformers' modeling code, the reference that
zest's C++ models are checked against: GPT2LMHeadModel, LlamaForCausalLM, MistralForCausalLM,
Qwen2ForCausalLM, BertModel / BertForMaskedLM / BertForSequenceClassification.

Everything is computed in float32 from the stored weights upcast (f32, f16 or bf16 files), in
eager PyTorch, following the operation order of transformers' modeling_*.py files.
Decoders run with an optional KV cache so that cached and uncached runs can be compared.
"""
import importlib
import json
import math
import os

import torch
import torch.nn.functional as F

import rope
import safetensors_io

ACT = {
    "gelu": lambda x: F.gelu(x),  # exact erf GELU
    "gelu_new": lambda x: 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0)))),
    "gelu_pytorch_tanh": lambda x: F.gelu(x, approximate="tanh"),
    "gelu_fast": lambda x: 0.5 * x * (1.0 + torch.tanh(x * 0.7978845608 * (1.0 + 0.044715 * x * x))),
    "quick_gelu": lambda x: x * torch.sigmoid(1.702 * x),
    "relu": F.relu,
    "silu": F.silu,
    "swish": F.silu,
}


def activation(name):
    if name not in ACT:
        raise ValueError(f"unsupported activation {name!r}")
    return ACT[name]


def load_weights(model_dir):
    tensors, _ = safetensors_io.load(os.path.join(model_dir, "model.safetensors"))
    return {k: v.float() for k, v in tensors.items()}


def _pick(weights, prefixes, name, required=True):
    for p in prefixes:
        if p + name in weights:
            return weights[p + name]
    if required:
        raise KeyError(f"missing weight {name} (prefixes tried: {prefixes})")
    return None


def _attend(q, k, v, scale, mask):
    """q [H, Tq, D], k/v [H, Tk, D], mask [Tq, Tk] bool (True = attend) -> [H, Tq, D]."""
    scores = torch.matmul(q, k.transpose(-1, -2)) * scale
    scores = scores.masked_fill(~mask, torch.finfo(torch.float32).min)
    return torch.matmul(torch.softmax(scores, dim=-1, dtype=torch.float32), v)


def causal_mask(start, tq, window=None):
    """Query i (absolute position start+i) attends key j iff j <= i and, with a sliding window W,
    j > i - W (transformers' masking_utils: the window holds W positions including the query)."""
    qpos = torch.arange(start, start + tq)[:, None]
    kpos = torch.arange(0, start + tq)[None, :]
    mask = kpos <= qpos
    if window is not None:
        mask &= kpos > qpos - window
    return mask


class GPT2:
    """GPT2LMHeadModel: learned positions, pre-LayerNorm blocks, Conv1D weights stored [in, out]."""

    def __init__(self, config, weights):
        self.c = config
        self.w = weights
        self.prefix = ["transformer.", ""]
        self.n_layer = config["n_layer"]
        self.n_head = config["n_head"]
        self.hidden = config["n_embd"]
        self.head_dim = self.hidden // self.n_head
        self.eps = config.get("layer_norm_epsilon", 1e-5)
        self.act = activation(config.get("activation_function", "gelu_new"))
        self.wte = self.p("wte.weight")
        head = weights.get("lm_head.weight")
        self.lm_head = self.wte if config.get("tie_word_embeddings", True) or head is None else head

    def p(self, name, required=True):
        return _pick(self.w, self.prefix, name, required)

    def ln(self, x, name):
        return F.layer_norm(x, (self.hidden,), self.p(name + ".weight"), self.p(name + ".bias"), self.eps)

    def conv1d(self, x, name):
        return torch.addmm(self.p(name + ".bias"), x, self.p(name + ".weight"))

    def forward(self, ids, cache=None):
        """ids: list of ints; cache: list of (k, v) per layer or None. Returns (hidden [T, H], cache)."""
        start = 0 if cache is None else cache[0][0].shape[1]
        t = len(ids)
        ids_t = torch.tensor(ids, dtype=torch.long)
        x = self.wte[ids_t] + self.p("wpe.weight")[torch.arange(start, start + t)]
        mask = causal_mask(start, t)
        new_cache = []
        for i in range(self.n_layer):
            h = f"h.{i}."
            a = self.conv1d(self.ln(x, h + "ln_1"), h + "attn.c_attn")
            q, k, v = a.split(self.hidden, dim=-1)
            q, k, v = (z.view(t, self.n_head, self.head_dim).transpose(0, 1) for z in (q, k, v))
            if cache is not None:
                k = torch.cat([cache[i][0], k], dim=1)
                v = torch.cat([cache[i][1], v], dim=1)
            new_cache.append((k, v))
            scale = 1.0 / math.sqrt(self.head_dim) if self.c.get("scale_attn_weights", True) else 1.0
            if self.c.get("scale_attn_by_inverse_layer_idx", False):
                scale /= float(i + 1)
            o = _attend(q, k, v, scale, mask).transpose(0, 1).reshape(t, self.hidden)
            x = x + self.conv1d(o, h + "attn.c_proj")
            m = self.act(self.conv1d(self.ln(x, h + "ln_2"), h + "mlp.c_fc"))
            x = x + self.conv1d(m, h + "mlp.c_proj")
        return self.ln(x, "ln_f"), new_cache

    def logits(self, hidden):
        return hidden @ self.lm_head.T


def rope_inv_freq(config, head_dim):
    """The rope frequencies of a config at init (see rope.py for every type)."""
    return rope.inv_freq(rope.parameters(config), head_dim, config.get("max_position_embeddings"))[0]


rotate_half = rope.rotate_half


class Cache(list):
    """The KV cache of a decoder: one (k, v) per layer, k/v [KV heads, T, D], and the ids it holds
    (a family whose generation recomputes its cache, as Phi-3 at the longrope switch, needs them)."""

    def __init__(self, layers=(), ids=()):
        super().__init__(layers)
        self.ids = list(ids)


class Llama:
    """LlamaForCausalLM; Mistral (sliding window) and Qwen2 (q/k/v bias, per-layer window) are
    configurations of it, as in transformers where they are copies of the Llama code. Families that
    differ a little (modeling_qwen3.py, modeling_phi3.py, modeling_smollm3.py) subclass it and
    override the hooks: qkv (projections and anything before rope), uses_rope, mlp, layer_window,
    rope_for."""

    default_theta = 10000.0

    def __init__(self, config, weights):
        self.c = config
        self.w = weights
        self.prefix = ["model.", ""]
        kind = config["model_type"]
        self.n_layer = config["num_hidden_layers"]
        self.n_head = config["num_attention_heads"]
        self.n_kv = config.get("num_key_value_heads") or self.n_head
        self.hidden = config["hidden_size"]
        self.head_dim = config.get("head_dim") or self.hidden // self.n_head
        self.eps = config.get("rms_norm_eps", 1e-6)
        self.act = activation(config.get("hidden_act", "silu"))
        self.qkv_bias = kind == "qwen2" or config.get("attention_bias", False)
        self.o_bias = kind != "qwen2" and config.get("attention_bias", False)
        self.mlp_bias = config.get("mlp_bias", False)
        self.rope = self.make_rope()
        self.inv_freq = self.rope.frequencies(None)[0]
        self.windows = [self.layer_window(i) for i in range(self.n_layer)]
        self.embed = self.p("embed_tokens.weight")
        head = weights.get("lm_head.weight")
        tie = config.get("tie_word_embeddings", self.tie_default())
        if not tie and head is None:
            raise KeyError("lm_head.weight missing and tie_word_embeddings is false")
        self.lm_head = self.embed if tie else head

    def tie_default(self):
        return False  # LlamaConfig, MistralConfig, Qwen2Config

    def make_rope(self):
        params = rope.parameters(self.c, default_theta=self.default_theta)
        return rope.Rope(params, self.head_dim, self.c.get("max_position_embeddings"))

    def layer_window(self, i):
        kind = self.c["model_type"]
        window = self.c.get("sliding_window")
        if kind == "mistral":
            return window
        if kind == "qwen2" and self.c.get("use_sliding_window", False):
            layer_types = self.c.get("layer_types")
            if layer_types is not None:
                return window if layer_types[i] == "sliding_attention" else None
            return window if i >= self.c.get("max_window_layers", self.n_layer) else None
        return None

    def uses_rope(self, i):
        return True

    def p(self, name, required=True):
        return _pick(self.w, self.prefix, name, required)

    def rms_weight(self, x, weight):
        variance = x.pow(2).mean(-1, keepdim=True)
        return weight * (x * torch.rsqrt(variance + self.eps))

    def rms(self, x, name):
        return self.rms_weight(x, self.p(name + ".weight"))

    def linear(self, x, name, bias):
        return F.linear(x, self.p(name + ".weight"), self.p(name + ".bias") if bias else None)

    def heads(self, z, n):
        return z.view(z.shape[0], n, self.head_dim).transpose(0, 1)

    def qkv(self, a, h):
        """q [H, T, D], k and v [KV, T, D] before rope."""
        q = self.heads(self.linear(a, h + "self_attn.q_proj", self.qkv_bias), self.n_head)
        k = self.heads(self.linear(a, h + "self_attn.k_proj", self.qkv_bias), self.n_kv)
        v = self.heads(self.linear(a, h + "self_attn.v_proj", self.qkv_bias), self.n_kv)
        return q, k, v

    def mlp(self, m, h):
        gate = self.act(self.linear(m, h + "mlp.gate_proj", self.mlp_bias))
        up = self.linear(m, h + "mlp.up_proj", self.mlp_bias)
        return self.linear(gate * up, h + "mlp.down_proj", self.mlp_bias)

    def forward(self, ids, cache=None):
        """ids: list of ints; cache: a Cache (or list of (k, v) per layer) or None.
        Returns (final hidden states [T, hidden], the new Cache)."""
        start = 0 if cache is None else cache[0][0].shape[1]
        t = len(ids)
        x = self.embed[torch.tensor(ids, dtype=torch.long)]
        cos, sin = self.rope.cos_sin(start, t)
        new_cache = Cache(ids=(getattr(cache, "ids", []) if cache is not None else []) + list(ids))
        for i in range(self.n_layer):
            h = f"layers.{i}."
            a = self.rms(x, h + "input_layernorm")
            q, k, v = self.qkv(a, h)
            if self.uses_rope(i):
                q, k = rope.apply(q, cos, sin), rope.apply(k, cos, sin)
            if cache is not None:
                k = torch.cat([cache[i][0], k], dim=1)
                v = torch.cat([cache[i][1], v], dim=1)
            new_cache.append((k, v))
            group = self.n_head // self.n_kv
            kr = k.repeat_interleave(group, dim=0)  # repeat_kv: query head h reads KV head h // group
            vr = v.repeat_interleave(group, dim=0)
            o = _attend(q, kr, vr, self.head_dim ** -0.5, causal_mask(start, t, self.windows[i]))
            o = o.transpose(0, 1).reshape(t, self.n_head * self.head_dim)
            x = x + self.linear(o, h + "self_attn.o_proj", self.o_bias)
            x = x + self.mlp(self.rms(x, h + "post_attention_layernorm"), h)
        return self.rms(x, "norm"), new_cache

    def logits(self, hidden):
        return hidden @ self.lm_head.T


class Bert:
    """BertModel with the optional heads of BertForMaskedLM (cls.predictions.*, decoder tied to the
    word embeddings unless stored) and BertForSequenceClassification (classifier.*)."""

    def __init__(self, config, weights):
        self.c = config
        self.w = weights
        self.prefix = ["bert.", ""]
        self.hidden = config["hidden_size"]
        self.n_head = config["num_attention_heads"]
        self.head_dim = self.hidden // self.n_head
        self.n_layer = config["num_hidden_layers"]
        self.eps = config.get("layer_norm_eps", 1e-12)
        self.act = activation(config.get("hidden_act", "gelu"))
        if config.get("position_embedding_type", "absolute") != "absolute":
            raise ValueError("only absolute position embeddings are supported")

    def p(self, name, required=True):
        w = _pick(self.w, self.prefix, name, False)
        if w is None and name.endswith("LayerNorm.weight"):  # old checkpoints: gamma / beta
            w = _pick(self.w, self.prefix, name[:-len("weight")] + "gamma", False)
        if w is None and name.endswith("LayerNorm.bias"):
            w = _pick(self.w, self.prefix, name[:-len("bias")] + "beta", False)
        if w is None and required:
            raise KeyError(f"missing weight {name}")
        return w

    def ln(self, x, name):
        return F.layer_norm(x, (self.hidden,), self.p(name + ".weight"), self.p(name + ".bias"), self.eps)

    def linear(self, x, name):
        return F.linear(x, self.p(name + ".weight"), self.p(name + ".bias"))

    def forward(self, ids, attention_mask=None, token_type_ids=None):
        """ids [B, T] long; attention_mask [B, T] (1 = token, 0 = padding). Returns hidden [B, T, H]."""
        b, t = ids.shape
        if attention_mask is None:
            attention_mask = torch.ones(b, t)
        if token_type_ids is None:
            token_type_ids = torch.zeros(b, t, dtype=torch.long)
        x = (self.p("embeddings.word_embeddings.weight")[ids]
             + self.p("embeddings.token_type_embeddings.weight")[token_type_ids]
             + self.p("embeddings.position_embeddings.weight")[torch.arange(t)][None])
        x = self.ln(x, "embeddings.LayerNorm")
        # get_extended_attention_mask: (1 - mask) * finfo.min added to every score row
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

    def pooler(self, hidden):
        return torch.tanh(self.linear(hidden[:, 0], "pooler.dense"))

    def mlm_logits(self, hidden):
        w = self.w
        x = self.act(F.linear(hidden, w["cls.predictions.transform.dense.weight"], w["cls.predictions.transform.dense.bias"]))
        x = F.layer_norm(x, (self.hidden,), w["cls.predictions.transform.LayerNorm.weight"],
                         w["cls.predictions.transform.LayerNorm.bias"], self.eps)
        decoder = w.get("cls.predictions.decoder.weight", self.p("embeddings.word_embeddings.weight"))
        return x @ decoder.T + w["cls.predictions.bias"]

    def classifier_logits(self, pooled):
        return F.linear(pooled, self.w["classifier.weight"], self.w["classifier.bias"])


FAMILIES = {"gpt2": GPT2, "llama": Llama, "mistral": Llama, "qwen2": Llama, "bert": Bert}


def load_model(model_dir):
    with open(os.path.join(model_dir, "config.json")) as f:
        config = json.load(f)
    return model_class(config.get("model_type"))(config, load_weights(model_dir))


def model_class(kind):
    """The reference class of a model_type: FAMILIES here, else the MODEL of modeling_<kind>.py
    beside this file (each further family lives in its own small file)."""
    if kind in FAMILIES:
        return FAMILIES[kind]
    try:
        module = importlib.import_module(f"modeling_{kind}")
    except ModuleNotFoundError:
        raise ValueError(f"unsupported model_type {kind!r}") from None
    return module.MODEL


# Sentence-transformers: pooling over the token embeddings, then optional L2 normalisation.
def pool(hidden, attention_mask, mode):
    mask = attention_mask.float()[..., None]
    if mode == "cls":
        return hidden[:, 0]
    if mode == "mean":
        return (hidden * mask).sum(1) / torch.clamp(mask.sum(1), min=1e-9)
    if mode == "max":
        return torch.where(mask > 0, hidden, torch.full_like(hidden, -1e9)).max(1).values
    raise ValueError(f"unsupported pooling {mode!r}")


def sentence_embedding(model_dir, model, ids, attention_mask):
    with open(os.path.join(model_dir, "modules.json")) as f:
        modules = json.load(f)
    x = model.forward(ids, attention_mask)
    for m in modules:
        kind = m["type"].rsplit(".", 1)[-1]
        if kind == "Pooling":
            with open(os.path.join(model_dir, m["path"], "config.json")) as f:
                pc = json.load(f)
            mode = [name for name, key in (("cls", "pooling_mode_cls_token"), ("mean", "pooling_mode_mean_tokens"),
                                           ("max", "pooling_mode_max_tokens")) if pc.get(key)]
            if len(mode) != 1:
                raise ValueError(f"pooling config {pc} must select exactly one of cls/mean/max")
            x = pool(x, attention_mask, mode[0])
        elif kind == "Normalize":
            x = F.normalize(x, p=2, dim=1)
        elif kind != "Transformer":
            raise ValueError(f"unsupported sentence-transformers module {m['type']}")
    return x
