#!/usr/bin/python3
"""Train zest's embedded demo model: a small LLaMA-architecture model on the Brown corpus.

Runs with Debian's python3-torch (1.13) on CPU. No transformers/safetensors packages needed:
the model is a plain-PyTorch re-implementation of Hugging Face's LlamaForCausalLM maths
(RMSNorm, rotate-half RoPE, SwiGLU MLP, grouped-query attention, no biases), and the export
writes the Hugging Face directory (config.json, generation_config.json, model.safetensors in
bf16, tokenizer files) with a small safetensors writer of its own.

Data (documented so the perplexity can be reproduced exactly):
  * corpus: brown.txt, one sentence per line; line index i (0-based) with i % 20 == 19
    (every 20th line) is held out for validation, all the others are training lines.
  * tokenizer: the shared spm-bpe-8k sentencepiece model; every line is encoded alone with
    `spm_encode --output_format=id` (ids cached once in <workdir>/cache/) and written to the
    token stream as BOS (id 1) followed by its ids; lines are concatenated in file order.
    BOS therefore acts as the line separator; no EOS is used.
  * training batches: windows of ctx+1 consecutive tokens at uniformly random offsets of the
    training stream (inputs = first ctx, targets = last ctx); the offsets of step s come from
    a generator seeded with (seed, s) so a resumed run sees exactly the same batches.
  * validation: the held-out stream cut into non-overlapping windows of ctx tokens (the last,
    shorter window kept if it has >= 2 tokens); in each window every token after the first is
    predicted from those before it in the same window; the loss is the mean NLL over all these
    predicted tokens, perplexity = exp(loss). (tools/demo_model_reference.py does the same.)

Usage:
  nice -n 10 /usr/bin/python3 tools/train_demo_model.py --run NAME [size/steps options]
  ... --run NAME --resume            continue from /work/demo-train/NAME/ckpt.pt
  ... --run NAME --export DIR        write the Hugging Face directory from the checkpoint
"""
import argparse
import json
import math
import os
import shutil
import struct
import subprocess
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_CORPUS = os.path.join(REPO, "..", "shared", "corpora", "brown.txt")
DEFAULT_TOKDIR = os.path.join(REPO, "..", "shared", "tokenizers", "spm-bpe-8k")
BOS, EOS, UNK = 1, 2, 0
HOLDOUT_EVERY = 20  # line i is held out when i % 20 == 19


# ----------------------------------------------------------------------------- model
class RMSNorm(nn.Module):
    def __init__(self, dim, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x):
        dtype = x.dtype
        x = x.float()
        x = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * x.to(dtype)


def rotate_half(x):
    x1 = x[..., : x.shape[-1] // 2]
    x2 = x[..., x.shape[-1] // 2:]
    return torch.cat((-x2, x1), dim=-1)


def rope_cos_sin(positions, head_dim, theta):
    inv_freq = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.int64).float() / head_dim))
    freqs = positions.float()[:, None] * inv_freq[None, :]
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos(), emb.sin()


class Attention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.nh, self.nkv, self.hd = c["num_attention_heads"], c["num_key_value_heads"], c["head_dim"]
        h = c["hidden_size"]
        self.q_proj = nn.Linear(h, self.nh * self.hd, bias=False)
        self.k_proj = nn.Linear(h, self.nkv * self.hd, bias=False)
        self.v_proj = nn.Linear(h, self.nkv * self.hd, bias=False)
        self.o_proj = nn.Linear(self.nh * self.hd, h, bias=False)

    def forward(self, x, cos, sin, mask):
        b, t, _ = x.shape
        q = self.q_proj(x).view(b, t, self.nh, self.hd).transpose(1, 2)
        k = self.k_proj(x).view(b, t, self.nkv, self.hd).transpose(1, 2)
        v = self.v_proj(x).view(b, t, self.nkv, self.hd).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        rep = self.nh // self.nkv
        if rep > 1:  # HF repeat_kv: query head i uses kv head i // rep
            k = k.repeat_interleave(rep, dim=1)
            v = v.repeat_interleave(rep, dim=1)
        att = torch.matmul(q, k.transpose(2, 3)) / math.sqrt(self.hd)
        att = att + mask
        att = F.softmax(att, dim=-1, dtype=torch.float32).to(q.dtype)
        y = torch.matmul(att, v).transpose(1, 2).reshape(b, t, self.nh * self.hd)
        return self.o_proj(y)


class MLP(nn.Module):
    def __init__(self, c):
        super().__init__()
        h, i = c["hidden_size"], c["intermediate_size"]
        self.gate_proj = nn.Linear(h, i, bias=False)
        self.up_proj = nn.Linear(h, i, bias=False)
        self.down_proj = nn.Linear(i, h, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class Layer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.self_attn = Attention(c)
        self.mlp = MLP(c)
        self.input_layernorm = RMSNorm(c["hidden_size"], c["rms_norm_eps"])
        self.post_attention_layernorm = RMSNorm(c["hidden_size"], c["rms_norm_eps"])

    def forward(self, x, cos, sin, mask):
        x = x + self.self_attn(self.input_layernorm(x), cos, sin, mask)
        return x + self.mlp(self.post_attention_layernorm(x))


class Body(nn.Module):  # HF's LlamaModel ("model." prefix)
    def __init__(self, c):
        super().__init__()
        self.embed_tokens = nn.Embedding(c["vocab_size"], c["hidden_size"])
        self.layers = nn.ModuleList([Layer(c) for _ in range(c["num_hidden_layers"])])
        self.norm = RMSNorm(c["hidden_size"], c["rms_norm_eps"])


class LlamaForCausalLM(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.config = c
        self.model = Body(c)
        self.lm_head = nn.Linear(c["hidden_size"], c["vocab_size"], bias=False)
        if c["tie_word_embeddings"]:
            self.lm_head.weight = self.model.embed_tokens.weight

    def init_weights(self, std):
        for name, p in self.named_parameters():
            if name.endswith("norm.weight"):
                nn.init.ones_(p)
            else:
                nn.init.normal_(p, mean=0.0, std=std)

    def forward(self, ids):
        b, t = ids.shape
        x = self.model.embed_tokens(ids)
        cos, sin = rope_cos_sin(torch.arange(t), self.config["head_dim"], self.config["rope_theta"])
        cos, sin = cos.to(x.dtype), sin.to(x.dtype)
        mask = torch.full((t, t), float("-inf")).triu(1)
        for layer in self.model.layers:
            x = layer(x, cos, sin, mask)
        return self.lm_head(self.model.norm(x))


def make_config(a):
    head_dim = a.hidden // a.heads
    return {
        "architectures": ["LlamaForCausalLM"],
        "attention_bias": False,
        "attention_dropout": 0.0,
        "bos_token_id": BOS,
        "eos_token_id": EOS,
        "head_dim": head_dim,
        "hidden_act": "silu",
        "hidden_size": a.hidden,
        "initializer_range": 0.02,
        "intermediate_size": a.intermediate,
        "max_position_embeddings": a.max_pos,
        "mlp_bias": False,
        "model_type": "llama",
        "num_attention_heads": a.heads,
        "num_hidden_layers": a.layers,
        "num_key_value_heads": a.kv_heads,
        "pretraining_tp": 1,
        "rms_norm_eps": 1e-05,
        "rope_scaling": None,
        "rope_theta": 10000.0,
        "tie_word_embeddings": bool(a.tie),
        "torch_dtype": "bfloat16",
        "transformers_version": "4.46.0",
        "use_cache": True,
        "vocab_size": 8000,
    }


def count_params(model):
    return sum(p.numel() for p in model.parameters())  # tied weights counted once


# ----------------------------------------------------------------------------- data
def load_ids(workdir, corpus, tokdir):
    """All lines' ids (list of lists), encoded once with spm_encode and cached."""
    cache = os.path.join(workdir, "cache", "brown.ids")
    if not os.path.exists(cache):
        os.makedirs(os.path.dirname(cache), exist_ok=True)
        with open(corpus, "rb") as fin, open(cache + ".tmp", "wb") as fout:
            subprocess.run(["spm_encode", "--model=" + os.path.join(tokdir, "tokenizer.model"),
                            "--output_format=id"], stdin=fin, stdout=fout, check=True)
        os.replace(cache + ".tmp", cache)
    with open(cache) as f:
        lines = [[int(t) for t in l.split()] for l in f.read().split("\n")[:-1]]
    with open(corpus, encoding="utf-8") as f:
        n = sum(1 for _ in f)
    assert len(lines) == n, (len(lines), n)
    return lines


def stream(lines, held_out):
    out = []
    for i, ids in enumerate(lines):
        if (i % HOLDOUT_EVERY == HOLDOUT_EVERY - 1) == held_out:
            out.append(BOS)
            out.extend(ids)
    return torch.tensor(out, dtype=torch.long)


def eval_windows(s, ctx):
    """Non-overlapping windows of ctx tokens; the last shorter one kept if it has >= 2 tokens."""
    return [s[i:i + ctx] for i in range(0, len(s), ctx) if len(s[i:i + ctx]) >= 2]


@torch.no_grad()
def evaluate(model, windows, batch=16):
    model.eval()
    nll, n = 0.0, 0
    full = [w for w in windows if len(w) == len(windows[0])]
    rest = [w for w in windows if len(w) != len(windows[0])]
    groups = [torch.stack(full[i:i + batch]) for i in range(0, len(full), batch)] + [w[None] for w in rest]
    for g in groups:
        logits = model(g[:, :-1]).float()
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), g[:, 1:].reshape(-1), reduction="sum")
        nll += loss.item()
        n += g[:, 1:].numel()
    model.train()
    return nll / n, n


def batch_for_step(train, step, seed, batch, ctx):
    g = torch.Generator().manual_seed(seed * 1000003 + step)
    starts = torch.randint(0, len(train) - ctx - 1, (batch,), generator=g)
    x = torch.stack([train[s:s + ctx + 1] for s in starts.tolist()])
    return x[:, :-1], x[:, 1:]


def lr_at(step, a):
    if step < a.warmup:
        return a.lr * (step + 1) / a.warmup
    p = min(1.0, (step - a.warmup) / max(1, a.steps - a.warmup))
    return a.lr * (a.min_lr_frac + (1 - a.min_lr_frac) * 0.5 * (1 + math.cos(math.pi * p)))


# ----------------------------------------------------------------------------- sampling
@torch.no_grad()
def generate(model, ids, n, greedy=True, temperature=1.0, top_k=0, top_p=1.0, repetition_penalty=1.0,
             gen=None):
    """HF-style generation without a KV cache (recomputes the prefix; fine for small n).
    Sampling applies, in HF's order: repetition penalty, temperature, top-k, top-p."""
    model.eval()
    seq = list(ids)
    for _ in range(n):
        logits = model(torch.tensor([seq]))[0, -1].float()
        if greedy:
            nxt = int(torch.argmax(logits))
        else:
            if repetition_penalty != 1.0:
                prev = torch.tensor(sorted(set(seq)))
                sc = logits[prev]
                logits[prev] = torch.where(sc < 0, sc * repetition_penalty, sc / repetition_penalty)
            logits = logits / temperature
            if top_k > 0:
                kth = torch.topk(logits, top_k).values[-1]
                logits[logits < kth] = float("-inf")
            if top_p < 1.0:
                sl, si = torch.sort(logits, descending=False)
                cum = sl.softmax(-1).cumsum(-1)
                remove = cum <= (1 - top_p)
                remove[-1] = False
                logits[si[remove]] = float("-inf")
            nxt = int(torch.multinomial(logits.softmax(-1), 1, generator=gen))
        seq.append(nxt)
        if nxt == EOS:
            break
    return seq[len(ids):]


def spm(tokdir, texts, fmt="id"):
    r = subprocess.run(["spm_encode", "--model=" + os.path.join(tokdir, "tokenizer.model"),
                        "--output_format=" + fmt], input="\n".join(texts) + "\n",
                       capture_output=True, text=True, check=True)
    return [[int(t) for t in l.split()] for l in r.stdout.split("\n")[:-1]]


def decode(tokdir, ids):
    ids = [i for i in ids if i > 2]
    r = subprocess.run(["spm_decode", "--model=" + os.path.join(tokdir, "tokenizer.model"),
                        "--input_format=id"], input=" ".join(map(str, ids)) + "\n",
                       capture_output=True, text=True, check=True)
    return r.stdout.rstrip("\n")


# ----------------------------------------------------------------------------- export
def f32_to_bf16_bytes(t):
    """float32 tensor -> bfloat16 bytes, round to nearest even (as torch's .to(torch.bfloat16))."""
    u = t.detach().float().contiguous().numpy().view(np.uint32).astype(np.uint64)
    return ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype("<u2").tobytes()


def write_safetensors(path, tensors):
    """tensors: list of (name, float32 tensor); written as BF16 with names sorted (as HF does)."""
    header, blobs, off = {}, [], 0
    for name, t in sorted(tensors, key=lambda x: x[0]):
        b = f32_to_bf16_bytes(t)
        header[name] = {"dtype": "BF16", "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    header["__metadata__"] = {"format": "pt"}
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)  # pad so the data starts 8-byte aligned
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def hf_state(model):
    out = []
    for name, p in model.state_dict().items():
        if name == "lm_head.weight" and model.config["tie_word_embeddings"]:
            continue
        out.append((name, p))
    return out


GEN_DEFAULTS = {"temperature": 0.8, "top_k": 50, "top_p": 0.95, "repetition_penalty": 1.1}


def write_hf_dir(model, out, tokdir, ctx, gen_cfg):
    os.makedirs(out, exist_ok=True)
    c = model.config
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(c, f, indent=2, sort_keys=True)
        f.write("\n")
    g = {"bos_token_id": BOS, "do_sample": True, "eos_token_id": EOS, "max_length": c["max_position_embeddings"],
         **gen_cfg, "transformers_version": c["transformers_version"]}
    with open(os.path.join(out, "generation_config.json"), "w") as f:
        json.dump(dict(sorted(g.items())), f, indent=2)
        f.write("\n")
    write_safetensors(os.path.join(out, "model.safetensors"), hf_state(model))
    for fn in ("tokenizer.json", "tokenizer.model"):
        shutil.copyfile(os.path.join(tokdir, fn), os.path.join(out, fn))

    def tok(s):
        return {"content": s, "lstrip": False, "normalized": False, "rstrip": False, "single_word": False,
                "special": True}
    tc = {
        "add_bos_token": True,
        "add_eos_token": False,
        "add_prefix_space": None,
        "added_tokens_decoder": {"0": tok("<unk>"), "1": tok("<s>"), "2": tok("</s>")},
        "bos_token": "<s>",
        "clean_up_tokenization_spaces": False,
        "eos_token": "</s>",
        "legacy": True,
        "model_max_length": c["max_position_embeddings"],
        "pad_token": None,
        "sp_model_kwargs": {},
        "spaces_between_special_tokens": False,
        "tokenizer_class": "LlamaTokenizer",
        "unk_token": "<unk>",
        "use_default_system_prompt": False,
    }
    with open(os.path.join(out, "tokenizer_config.json"), "w") as f:
        json.dump(tc, f, indent=2)
        f.write("\n")
    with open(os.path.join(out, "special_tokens_map.json"), "w") as f:
        json.dump({"bos_token": tok("<s>"), "eos_token": tok("</s>"), "unk_token": tok("<unk>")}, f, indent=2)
        f.write("\n")


# ----------------------------------------------------------------------------- main
def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", default="main", help="run name: checkpoint and log in <workdir>/<run>/")
    ap.add_argument("--workdir", default="/work/demo-train")
    ap.add_argument("--corpus", default=DEFAULT_CORPUS)
    ap.add_argument("--tokdir", default=DEFAULT_TOKDIR)
    ap.add_argument("--layers", type=int, default=8)
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--heads", type=int, default=8)
    ap.add_argument("--kv-heads", type=int, default=4)
    ap.add_argument("--intermediate", type=int, default=688)
    ap.add_argument("--tie", type=int, default=1, help="tie lm_head to the embeddings (1/0)")
    ap.add_argument("--max-pos", type=int, default=0,
                    help="max_position_embeddings written to config (default: --ctx, the trained length)")
    ap.add_argument("--ctx", type=int, default=256)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--min-lr-frac", type=float, default=0.1)
    ap.add_argument("--warmup", type=int, default=50)
    ap.add_argument("--wd", type=float, default=0.1)
    ap.add_argument("--clip", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--bf16", type=int, default=1,
                    help="train under CPU bf16 autocast (f32 master weights; ~3x faster on AVX512-BF16 CPUs, "
                         "examples/models/brown-llama/README.md)")
    ap.add_argument("--eval-every", type=int, default=100)
    ap.add_argument("--eval-windows", type=int, default=48, help="held-out windows used by periodic evals")
    ap.add_argument("--max-minutes", type=float, default=0, help="stop (with a checkpoint) after this long")
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--export", metavar="DIR", help="write the HF directory from <run>'s checkpoint and exit")
    ap.add_argument("--samples", type=int, default=3, help="samples per prompt printed by --export / --sample")
    ap.add_argument("--sample", action="store_true", help="print samples from <run>'s checkpoint and exit")
    ap.add_argument("--sample-tokens", type=int, default=80)
    ap.add_argument("--temperature", type=float, default=GEN_DEFAULTS["temperature"])
    ap.add_argument("--top-k", type=int, default=GEN_DEFAULTS["top_k"])
    ap.add_argument("--top-p", type=float, default=GEN_DEFAULTS["top_p"])
    ap.add_argument("--repetition-penalty", type=float, default=GEN_DEFAULTS["repetition_penalty"])
    a = ap.parse_args()

    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    rundir = os.path.join(a.workdir, a.run)
    os.makedirs(rundir, exist_ok=True)
    ckpt_path = os.path.join(rundir, "ckpt.pt")
    logf = open(os.path.join(rundir, "log.txt"), "a")

    def log(*xs):
        s = " ".join(str(x) for x in xs)
        print(s, flush=True)
        logf.write(s + "\n")
        logf.flush()

    ck = None
    if a.resume or a.export or a.sample:
        ck = torch.load(ckpt_path)
        saved = ck["args"]
        for k in ("layers", "hidden", "heads", "kv_heads", "intermediate", "tie", "ctx", "batch",
                  "steps", "lr", "min_lr_frac", "warmup", "wd", "clip", "seed", "bf16"):
            setattr(a, k, saved[k])  # the run's own settings win over the command line

    if not a.max_pos:
        a.max_pos = a.ctx
    cfg = make_config(a)
    model = LlamaForCausalLM(cfg)
    model.init_weights(cfg["initializer_range"])

    lines = load_ids(a.workdir, a.corpus, a.tokdir)
    train, val = stream(lines, False), stream(lines, True)
    vwin = eval_windows(val, a.ctx)
    prompts = ["The jury said", "In the morning", "It was a", "The President of the United States"]
    pids = spm(a.tokdir, prompts)

    if a.export or a.sample:
        model.load_state_dict(ck["model"])
        gen_cfg = {"temperature": a.temperature, "top_k": a.top_k, "top_p": a.top_p,
                   "repetition_penalty": a.repetition_penalty}
        if a.export:
            log(f"export of step {ck['step']} to {a.export}")
            write_hf_dir(model, a.export, a.tokdir, a.ctx, gen_cfg)
            loss, n = evaluate(model, vwin)
            log(f"full held-out (f32 training weights): loss {loss:.4f} ppl {math.exp(loss):.3f} over {n} tokens")
        log("sampling:", json.dumps(gen_cfg))
        gen = torch.Generator().manual_seed(a.seed)
        for p, ids in zip(prompts, pids):
            for _ in range(a.samples):
                out = generate(model, [BOS] + ids, a.sample_tokens, greedy=False, gen=gen, **gen_cfg)
                log("SAMPLE:", decode(a.tokdir, ids + out))
        return

    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": a.wd}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=a.lr, betas=(0.9, 0.95), eps=1e-8)
    step = 0
    if ck is not None:
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["opt"])
        step = ck["step"]
        log(f"resumed from {ckpt_path} at step {step}")
    else:
        log("args:", json.dumps(vars(a)))
    nparam = count_params(model)
    log(f"params {nparam} ({nparam / 1e6:.2f} M, non-embedding {nparam - cfg['vocab_size'] * cfg['hidden_size'] * (1 if a.tie else 2)}); "
        f"train tokens {len(train)}, held-out tokens {len(val)} in {len(vwin)} windows of {a.ctx}")

    def save(step):
        torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "step": step, "args": vars(a)},
                   ckpt_path + ".tmp")
        os.replace(ckpt_path + ".tmp", ckpt_path)

    t0 = time.time()
    tok_per_step = a.batch * a.ctx
    model.train()
    t_last, loss_acc, n_acc = time.time(), 0.0, 0
    while step < a.steps:
        for g in opt.param_groups:
            g["lr"] = lr_at(step, a)
        x, y = batch_for_step(train, step, a.seed, a.batch, a.ctx)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bool(a.bf16)):
            logits = model(x)
        loss = F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), y.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        gn = torch.nn.utils.clip_grad_norm_(model.parameters(), a.clip)
        opt.step()
        step += 1
        loss_acc += loss.item()
        n_acc += 1
        if step % 10 == 0 or step == a.steps:
            dt = time.time() - t_last
            log(f"step {step}/{a.steps} loss {loss_acc / n_acc:.4f} lr {lr_at(step - 1, a):.2e} gnorm {gn:.2f} "
                f"{n_acc * tok_per_step / dt:.0f} tok/s epoch {step * tok_per_step / len(train):.2f} "
                f"elapsed {(time.time() - t0) / 60:.1f} min")
            t_last, loss_acc, n_acc = time.time(), 0.0, 0
        stop = a.max_minutes and (time.time() - t0) / 60 > a.max_minutes
        if step % a.eval_every == 0 or step == a.steps or stop:
            te = time.time()
            vl, n = evaluate(model, vwin[:a.eval_windows])
            log(f"EVAL step {step} held-out loss {vl:.4f} ppl {math.exp(vl):.2f} ({n} tokens, {time.time() - te:.0f} s)")
            save(step)
            out = generate(model, [BOS] + pids[0], 24, greedy=True)
            log("  greedy:", decode(a.tokdir, pids[0] + out))
            t_last = time.time()
        if stop:
            log(f"stopping after {a.max_minutes} min at step {step} (resume with --resume)")
            break
    if step == a.steps:
        vl, n = evaluate(model, vwin)
        log(f"FINAL step {step} full held-out loss {vl:.4f} ppl {math.exp(vl):.3f} ({n} tokens) "
            f"train time {(time.time() - t0) / 60:.1f} min")


if __name__ == "__main__":
    main()
