"""Checks of rope.py and of the Llama-like family files (qwen3, phi3, smollm3) that need no other
implementation: identities of the rope types, per-element formulas recomputed in double precision,
the transformers 4 and 5 config forms agreeing, and each family with its features neutralised
equal to the Llama reference on the same weights (and not equal with them on).
Usage: self_test_rope.py (from anywhere; reads tests/data/models)."""
import copy
import json
import math
import os

import torch

import modeling
import rope

MODELS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "data", "models")
IDS = [1, 7, 30, 19, 4, 50, 17, 8, 8, 64, 3, 90, 11, 42, 5, 77, 23, 60, 9, 31, 12, 2, 88, 14]  # 24 > every original max
FAILED = []


def check(name, ok, detail):
    print(f"{'ok  ' if ok else 'FAIL'} {name}: {detail}")
    if not ok:
        FAILED.append(name)


def load(name):
    return modeling.load_model(os.path.join(MODELS, name))


def config(name):
    with open(os.path.join(MODELS, name, "config.json")) as f:
        return json.load(f)


def logits(model, ids):
    with torch.no_grad():
        return model.logits(model.forward(ids)[0])


def maxdiff(a, b):
    return float((a - b).abs().max())


def freqs(cfg, head_dim=16, seq_len=None, **kw):
    return rope.inv_freq(rope.parameters(cfg, **kw), head_dim, cfg.get("max_position_embeddings", 64), seq_len)


def rope_identities():
    plain, _ = freqs({"rope_theta": 10000.0})
    cases = {
        "linear factor 1": {"rope_scaling": {"rope_type": "linear", "factor": 1.0}},
        "dynamic factor 2 at seq_len <= max_position_embeddings": {"rope_scaling": {"type": "dynamic", "factor": 2.0}},
        "yarn factor 1": {"rope_scaling": {"rope_type": "yarn", "factor": 1.0}},
        "llama3 factor 1": {"rope_scaling": {"rope_type": "llama3", "factor": 1.0, "low_freq_factor": 1.0,
                                             "high_freq_factor": 4.0, "original_max_position_embeddings": 16}},
        "longrope short factors 1, max = original": {"rope_scaling": {"type": "longrope", "short_factor": [1.0] * 8,
                                                                      "long_factor": [2.0] * 8},
                                                     "original_max_position_embeddings": 64},
        "v5 rope_parameters default": {"rope_parameters": {"rope_type": "default", "rope_theta": 10000.0}},
    }
    for name, c in cases.items():
        seq = c.pop("_seq", 64)
        c = dict(c, rope_theta=10000.0, max_position_embeddings=64)
        if "rope_parameters" in c:
            del c["rope_theta"]
        inv, scale = freqs(c, seq_len=seq)
        check(f"rope {name} = default", maxdiff(inv, plain) == 0.0 and scale == 1.0,
              f"max |inv_freq - default| {maxdiff(inv, plain):.3g}, attention scaling {scale}")
    # linear factor f at position p is the default rope at p / f
    inv, _ = freqs({"rope_theta": 10000.0, "rope_scaling": {"type": "linear", "factor": 4.0}})
    pos = torch.arange(0, 64).float()
    d = maxdiff(pos[:, None] * inv, (pos / 4.0)[:, None] * plain)
    check("rope linear factor 4 = positions / 4", d < 1e-5, f"max angle difference {d:.3g}")


def rope_formulas():
    """llama3, yarn, longrope and dynamic recomputed element by element in double precision from
    the formulas written in rope.py's docstrings."""
    theta, dim = 500000.0, 16
    default = [theta ** -(2 * i / dim) for i in range(dim // 2)]
    p = {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
         "original_max_position_embeddings": 64}
    want = []
    for f in default:
        wl = 2 * math.pi / f
        if wl < 64 / 4.0:
            want.append(f)
        elif wl > 64 / 1.0:
            want.append(f / 8.0)
        else:
            s = (64 / wl - 1.0) / (4.0 - 1.0)
            want.append((1 - s) * f / 8.0 + s * f)
    got, _ = freqs({"rope_theta": theta, "rope_scaling": p, "max_position_embeddings": 512})
    rel = max(abs(g - w) / w for g, w in zip(got.tolist(), want))
    bands = ["kept" if w == f else ("/factor" if abs(w - f / 8) < 1e-12 * f else "smoothed") for w, f in zip(want, default)]
    check("rope llama3 per element", rel < 1e-6 and len(set(bands)) == 3, f"max relative error {rel:.3g}; bands {bands}")

    theta = 1000000.0
    default = [theta ** -(2 * i / dim) for i in range(dim // 2)]
    orig, factor = 64, 4.0
    corr = [dim * math.log(orig / (r * 2 * math.pi)) / (2 * math.log(theta)) for r in (32, 1)]
    low, high = max(math.floor(corr[0]), 0), min(math.ceil(corr[1]), dim - 1)
    want = []
    for i, f in enumerate(default):
        ramp = min(max((i - low) / (high - low), 0.0), 1.0)
        want.append(f / factor * ramp + f * (1 - ramp))
    got, af = freqs({"rope_theta": theta, "max_position_embeddings": 64,
                     "rope_scaling": {"type": "yarn", "factor": factor, "original_max_position_embeddings": orig}})
    rel = max(abs(g - w) / w for g, w in zip(got.tolist(), want))
    check("rope yarn per element", rel < 1e-6 and abs(af - (0.1 * math.log(4) + 1)) < 1e-12,
          f"max relative error {rel:.3g}, ramp over [{low}, {high}], attention factor {af:.6f}")
    _, af = freqs({"rope_theta": theta, "max_position_embeddings": 64,
                   "rope_scaling": {"type": "yarn", "factor": factor, "mscale": 0.707, "mscale_all_dim": 0.707}})
    check("rope yarn mscale = mscale_all_dim gives attention factor 1", af == 1.0, f"{af}")

    short, long = [1.0 + 0.1 * i for i in range(6)], [2.0 + i for i in range(6)]
    cfg = {"rope_theta": 10000.0, "max_position_embeddings": 64, "original_max_position_embeddings": 16,
           "partial_rotary_factor": 0.75, "rope_scaling": {"type": "longrope", "short_factor": short, "long_factor": long}}
    for seq, ext in ((16, short), (17, long)):
        got, af = freqs(cfg, seq_len=seq, phi3=True)
        want = [1.0 / (e * 10000.0 ** (2 * i / 12)) for i, e in enumerate(ext)]
        rel = max(abs(g - w) / w for g, w in zip(got.tolist(), want))
        check(f"rope longrope seq_len {seq} uses {'long' if ext is long else 'short'} factors", rel < 1e-6 and
              abs(af - math.sqrt(1 + math.log(4) / math.log(16))) < 1e-12, f"max relative error {rel:.3g}, af {af:.6f}")

    base, factor, mx = 10000.0, 2.0, 16
    for seq in (16, 17, 45):
        b = base * ((factor * max(seq, mx) / mx) - (factor - 1)) ** (8 / 6)
        want = [b ** -(2 * i / 8) for i in range(4)]
        got, _ = freqs({"rope_theta": base, "max_position_embeddings": mx,
                        "rope_scaling": {"type": "dynamic", "factor": factor}}, head_dim=8, seq_len=seq)
        rel = max(abs(g - w) / w for g, w in zip(got.tolist(), want))
        check(f"rope dynamic seq_len {seq}", rel < 1e-6, f"max relative error {rel:.3g}")


def partial_rotary_passes():
    x = torch.randn(2, 5, 16, generator=torch.Generator().manual_seed(0))
    r = rope.Rope(rope.parameters({"rope_theta": 1e4, "partial_rotary_factor": 0.75}), 16, 64)
    cos, sin = r.cos_sin(3, 5)
    y = rope.apply(x, cos, sin)
    same = maxdiff(y[..., 12:], x[..., 12:])
    norm = maxdiff(y[..., :12].norm(dim=-1), x[..., :12].norm(dim=-1))
    check("partial rotary 0.75: dims 12-15 pass, dims 0-11 rotate (norm kept)", same == 0.0 and norm < 1e-5
          and maxdiff(y, x) > 0.1, f"pass diff {same}, norm diff {norm:.3g}")


def forms_agree():
    for v4, v5 in (("llama3-rope", "llama3-rope-v5"), ("qwen3", "qwen3-v5"), ("phi3", "phi3-v5"),
                   ("smollm3", "smollm3-v5")):
        a, b = load(v4), load(v5)
        pa, pb = a.rope.p, b.rope.p
        d = maxdiff(logits(a, IDS), logits(b, IDS))
        check(f"{v4} = {v5}", pa == pb and d == 0.0 and a.lm_head is a.embed and (b.lm_head is b.embed) ==
              (a.lm_head is a.embed), f"rope parameters {pa}; logit difference {d}")


def qwen2_v5_theta():
    c = config("qwen2-v5")
    model = load("qwen2-v5")
    v4 = copy.deepcopy(c)
    p = v4.pop("rope_parameters")
    v4["rope_theta"] = p["rope_theta"]
    v4["rope_scaling"] = None
    same = modeling.Llama(v4, model.w)
    d_same = maxdiff(logits(model, IDS), logits(same, IDS))
    del v4["rope_theta"]
    wrong = modeling.Llama(v4, model.w)  # the failure: rope_parameters ignored, theta 1e4
    d_wrong = maxdiff(logits(model, IDS), logits(wrong, IDS))
    check("qwen2-v5 = its transformers 4 form; theta 1e4 instead of 1e6 is visible", d_same == 0.0 and d_wrong > 0.05,
          f"v4 form difference {d_same}, theta 1e4 difference {d_wrong:.3g}")


def scaling_bites():
    for name, neutral in (("llama3-rope", None), ("qwen2-yarn", None), ("llama-dynamic", None)):
        c = config(name)
        model = load(name)
        plain = dict(c, rope_scaling=neutral)
        other = modeling.Llama(plain, model.w)
        full = logits(model, IDS)
        d = maxdiff(full[-1], logits(other, IDS)[-1])
        if name == "llama-dynamic":
            d_short = maxdiff(logits(model, IDS[:16]), logits(other, IDS[:16]))
            check("llama-dynamic: up to max_position_embeddings it is the default rope, past it not",
                  d_short == 0.0 and d > 1e-3, f"16 ids: {d_short}; 24 ids: {d:.3g}")
        else:
            check(f"{name}: its rope scaling changes the logits", d > 1e-3, f"last-position difference {d:.3g}")


def qwen3_vs_llama():
    model = load("qwen3")
    c = dict(config("qwen3"), model_type="llama")
    llama = modeling.Llama(c, model.w)
    d_on = maxdiff(logits(model, IDS), logits(llama, IDS))

    class NoQKNorm(type(model)):
        def rms(self, x, name):
            return x if name.endswith(("q_norm", "k_norm")) else super().rms(x, name)

    off = NoQKNorm(config("qwen3"), model.w)
    d_off = maxdiff(logits(off, IDS), logits(llama, IDS))
    # q_norm per head: each head's 12 query values divided by their RMS, times the weight
    a = torch.randn(3, 32, generator=torch.Generator().manual_seed(1))
    q, _, _ = model.qkv(a, "layers.0.")
    raw = torch.nn.functional.linear(a, model.w["model.layers.0.self_attn.q_proj.weight"]).view(3, 4, 12)
    w = model.w["model.layers.0.self_attn.q_norm.weight"]
    want = torch.stack([torch.stack([w * raw[t, h] / torch.sqrt((raw[t, h] ** 2).mean() + model.eps)
                                     for h in range(4)]) for t in range(3)]).transpose(0, 1)
    d_norm = maxdiff(q, want)
    check("qwen3 without q_norm/k_norm = Llama; with them not; q_norm is per head over head_dim",
          d_off == 0.0 and d_on > 1e-2 and d_norm < 1e-6, f"{d_off}, {d_on:.3g}, per-head norm {d_norm:.3g}")


def phi3_vs_llama():
    model = load("phi3")
    c = config("phi3")
    w = {}
    d, nq, nkv, inter = model.head_dim, model.n_head * model.head_dim, model.n_kv * model.head_dim, c["intermediate_size"]
    for k, v in model.w.items():
        if k.endswith("qkv_proj.weight"):
            p = k[: -len("qkv_proj.weight")]
            w[p + "q_proj.weight"], w[p + "k_proj.weight"], w[p + "v_proj.weight"] = v[:nq], v[nq:nq + nkv], v[nq + nkv:]
        elif k.endswith("gate_up_proj.weight"):
            p = k[: -len("gate_up_proj.weight")]
            w[p + "gate_proj.weight"], w[p + "up_proj.weight"] = v[:inter], v[inter:]
        else:
            w[k] = v
    llama = modeling.Llama(dict(c, model_type="llama", head_dim=d), w)
    dd = maxdiff(logits(model, IDS), logits(llama, IDS))
    # (not bit-equal: one fused matmul sums in another order than three)
    check("phi3 = Llama with qkv_proj and gate_up_proj split (q|k|v rows, gate|up halves), same longrope",
          dd < 1e-5 and d == 16 and model.rope.dim == 12, f"logit difference {dd}, rotary dim {model.rope.dim}")
    # Both sides of the switch, and the cache recomputed when a cached run crosses it.
    orig = model.rope.p["original_max_position_embeddings"]
    with torch.no_grad():
        _, cache = model.forward(IDS[:orig])
        step, _ = model.forward(IDS[orig:orig + 1], cache)
        full = model.forward(IDS[:orig + 1])[0]
        naive, _ = modeling.Llama.forward(model, IDS[orig:orig + 1], cache)
    d_reset = maxdiff(model.logits(step)[-1], model.logits(full)[-1])
    d_naive = maxdiff(model.logits(naive)[-1], model.logits(full)[-1])
    short_plain = dict(c, rope_scaling=None)
    d_short = maxdiff(logits(model, IDS[:orig]), logits(type(model)(short_plain, model.w), IDS[:orig]))
    check("phi3 longrope: crossing original_max_position_embeddings with a cache recomputes it (= uncached); "
          "keeping the short-rotated cache would differ; short factors differ from no scaling",
          d_reset < 1e-5 and d_naive > 1e-3 and d_short > 1e-3,
          f"recomputed {d_reset:.3g}, kept cache {d_naive:.3g}, short vs default {d_short:.3g}")


def smollm3_vs_llama():
    model = load("smollm3")
    c = config("smollm3")
    allrope = type(model)(dict(c, no_rope_layers=[1] * c["num_hidden_layers"]), model.w)
    llama = modeling.Llama(dict(c, model_type="llama", tie_word_embeddings=True), model.w)
    d_off = maxdiff(logits(allrope, IDS), logits(llama, IDS))
    d_on = maxdiff(logits(model, IDS), logits(llama, IDS))
    derived = type(model)({k: v for k, v in c.items() if k != "no_rope_layers"}, model.w)
    check("smollm3 with rope on every layer = Llama; NoPE layers change it; no_rope_layers wins over the interval",
          d_off == 0.0 and d_on > 1e-2 and model.rope_layers == [1, 0, 1, 0] and derived.rope_layers == [1, 1, 1, 0]
          and model.lm_head is model.embed, f"{d_off}, {d_on:.3g}, derived {derived.rope_layers}")


def goldens_reproduce():
    for name in ("llama3-rope", "llama3-rope-v5", "qwen2-v5", "llama-dynamic", "qwen2-yarn", "qwen3", "qwen3-v5",
                 "phi3", "phi3-v5", "smollm3", "smollm3-v5"):
        with open(os.path.join(MODELS, name, "golden.json")) as f:
            g = json.load(f)
        model = load(name)
        worst = 0.0
        for p in g["prompts"]:
            worst = max(worst, maxdiff(logits(model, p["ids"])[-1], torch.tensor(p["last_logits"])))
        margins = min(p["greedy"]["min_top1_margin"] for p in g["prompts"])
        cached = all(p["greedy"]["nocache_ids_equal"] for p in g["prompts"])
        check(f"{name} golden last logits reproduce", worst < 1e-5,
              f"max difference {worst:.3g}; smallest greedy margin {margins:.3g}; cached = uncached ids: {cached}")


if __name__ == "__main__":
    torch.set_num_threads(1)
    rope_identities()
    rope_formulas()
    partial_rotary_passes()
    forms_agree()
    qwen2_v5_theta()
    scaling_bites()
    qwen3_vs_llama()
    phi3_vs_llama()
    smollm3_vs_llama()
    goldens_reproduce()
    print(f"{len(FAILED)} failed" if FAILED else "all passed")
    raise SystemExit(1 if FAILED else 0)
