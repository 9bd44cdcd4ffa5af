"""Rotary position embeddings as Hugging Face transformers computes them: every rope type Hub models
use (default, linear, dynamic, yarn, longrope, llama3) and partial_rotary_factor, read from either
config form (transformers 4: `rope_theta` + `rope_scaling` with "type" or "rope_type";
transformers 5: `rope_parameters`, possibly one dict per layer type).

Written from transformers' src/transformers/modeling_rope_utils.py (the v5 form, `rope_parameters`
and `standardize_rope_params`; and the 4.45 form, `rope_scaling`), following its float32 operation
order. Where transformers versions differ the newest behaviour is implemented and the difference is
noted by the function.

Everything is a function of the config dict read from config.json (no transformers objects).
"""
import math

import torch

TYPES = ("default", "linear", "dynamic", "yarn", "longrope", "llama3")

# Keys each type may carry besides rope_type/type, rope_theta and partial_rotary_factor
# (transformers 5's RotaryEmbeddingConfigMixin._validate_*_rope_parameters).
KEYS = {
    "default": set(),
    "linear": {"factor"},
    "dynamic": {"factor", "original_max_position_embeddings"},
    "yarn": {"factor", "original_max_position_embeddings", "attention_factor", "beta_fast", "beta_slow", "mscale",
             "mscale_all_dim", "truncate"},
    "longrope": {"short_factor", "long_factor", "factor", "original_max_position_embeddings", "attention_factor"},
    "llama3": {"factor", "low_freq_factor", "high_freq_factor", "original_max_position_embeddings"},
}
COMMON = {"rope_type", "type", "rope_theta", "partial_rotary_factor"}


def parameters(config, layer_type=None, default_theta=10000.0, phi3=False):
    """The standardized rope parameters of a config: a dict with rope_type, rope_theta,
    partial_rotary_factor and the type's own keys, as transformers 5's standardize_rope_params
    makes them:
    - v5: `rope_parameters` (a dict, or one dict per entry of `layer_types`);
    - v4: `rope_theta` (default `default_theta`) and `rope_scaling` (None or a dict whose kind is
      "rope_type", else "type"); top-level `partial_rotary_factor`;
    - for llama3/yarn/longrope `original_max_position_embeddings` is the config's top-level key when
      it has one (Phi-3 keeps it there; transformers gives it priority), else the dict's, else
      `max_position_embeddings`;
    - phi3: rope type "su" or "yarn" means "longrope" (Phi3Config's backward compatibility).
    """
    if "rope_parameters" in config and config["rope_parameters"] is not None:
        p = config["rope_parameters"]
        layer_types = config.get("layer_types")
        if layer_types is not None and p and set(p).issubset(set(layer_types)):
            if layer_type is None:
                raise ValueError("rope_parameters is per layer type: pass layer_type")
            p = p[layer_type]
        p = dict(p)
        if "rope_scaling" in config and config["rope_scaling"] is not None:
            raise ValueError("config has both rope_parameters and rope_scaling")
        p.setdefault("rope_theta", config.get("rope_theta", default_theta))
    else:
        p = dict(config.get("rope_scaling") or {})
        p["rope_theta"] = config.get("rope_theta", default_theta)
    kind = p.get("rope_type", p.get("type", "default"))
    if "rope_type" in p and "type" in p and p["rope_type"] != p["type"]:
        raise ValueError(f"rope type given twice and different: {p['rope_type']!r} / {p['type']!r}")
    if phi3 and kind in ("su", "yarn"):
        kind = "longrope"
    if kind not in TYPES:
        raise ValueError(f"unsupported rope type {kind!r}")
    unknown = set(p) - COMMON - KEYS[kind]
    if unknown:
        raise ValueError(f"rope type {kind!r}: keys not understood: {sorted(unknown)}")
    p.pop("type", None)
    p["rope_type"] = kind
    if "partial_rotary_factor" in config and config["partial_rotary_factor"] is not None:
        top = float(config["partial_rotary_factor"])
        if "partial_rotary_factor" in p and float(p["partial_rotary_factor"]) != top:
            raise ValueError("partial_rotary_factor differs between the config and its rope parameters")
        p["partial_rotary_factor"] = top
    p.setdefault("partial_rotary_factor", 1.0)
    if kind in ("llama3", "yarn", "longrope"):
        if config.get("original_max_position_embeddings") is not None:
            p["original_max_position_embeddings"] = config["original_max_position_embeddings"]
        else:
            p.setdefault("original_max_position_embeddings", config["max_position_embeddings"])
    return p


def rotary_dim(p, head_dim):
    """The rotated width: int(head_dim * partial_rotary_factor); the rest of each head passes."""
    return int(head_dim * p["partial_rotary_factor"])


def _exponents(dim):
    # torch.arange(0, dim, 2, dtype=torch.int64).float() / dim, in float32 as transformers has it
    return torch.arange(0, dim, 2, dtype=torch.int64).float() / dim


def default_inv_freq(base, dim):
    """inv_freq[i] = 1 / base^(2i/dim), i < dim/2 (float32 pow of the Python float base)."""
    return 1.0 / (base ** _exponents(dim))


def inv_freq(p, head_dim, max_position_embeddings, seq_len=None):
    """(inv_freq [rotary_dim/2] float32, attention_scaling float) for the rope parameters p.
    seq_len is the current length (largest position + 1) for the types that depend on it
    (dynamic, longrope); None means "at init" (transformers' seq_len=None)."""
    kind = p["rope_type"]
    base = float(p["rope_theta"])
    dim = rotary_dim(p, head_dim)
    if kind == "default":
        return default_inv_freq(base, dim), 1.0
    if kind == "linear":
        # _compute_linear_scaling_rope_parameters: inv_freq /= factor (= positions / factor)
        return default_inv_freq(base, dim) / float(p["factor"]), 1.0
    if kind == "dynamic":
        return _dynamic(p, base, dim, max_position_embeddings, seq_len), 1.0
    if kind == "yarn":
        return _yarn(p, base, dim, max_position_embeddings)
    if kind == "longrope":
        return _longrope(p, base, dim, max_position_embeddings, seq_len)
    if kind == "llama3":
        return _llama3(p, base, dim), 1.0
    raise ValueError(kind)


def _dynamic(p, base, dim, max_pos, seq_len):
    """_compute_dynamic_ntk_parameters: seq_len = max(seq_len, max_position_embeddings);
    base' = base * (factor * seq_len / max_pos - (factor - 1)) ^ (dim / (dim - 2)); then default.
    It uses config.max_position_embeddings, not original_max_position_embeddings (transformers 4.45
    to 5 alike). At or below max_position_embeddings this is exactly the default rope."""
    factor = float(p["factor"])
    seq_len = max_pos if seq_len is None else max(seq_len, max_pos)
    base = base * ((factor * seq_len / max_pos) - (factor - 1)) ** (dim / (dim - 2))
    return default_inv_freq(base, dim)


def yarn_mscale(scale, mscale=1.0):
    return 1.0 if scale <= 1 else 0.1 * mscale * math.log(scale) + 1.0


def yarn_attention_factor(p, max_pos):
    factor = p.get("factor")
    if factor is None:  # transformers 5: the ratio of the context lengths
        factor = max_pos / p["original_max_position_embeddings"]
    factor = float(factor)
    af = p.get("attention_factor")
    if af is None:
        mscale, mscale_all_dim = p.get("mscale"), p.get("mscale_all_dim")
        if mscale and mscale_all_dim:
            af = yarn_mscale(factor, mscale) / yarn_mscale(factor, mscale_all_dim)
        else:
            af = yarn_mscale(factor)
    return factor, float(af)


def _yarn(p, base, dim, max_pos):
    """_compute_yarn_parameters (transformers 5): frequencies blend between extrapolation (the
    default frequency) and interpolation (default / factor) with a linear ramp over the frequency
    index between the correction dims of beta_fast and beta_slow rotations within
    original_max_position_embeddings:
      corr(r) = dim * ln(L / (r * 2 pi)) / (2 ln base), L = original_max_position_embeddings
      low = max(floor(corr(beta_fast)), 0), high = min(ceil(corr(beta_slow)), dim - 1)
        (no floor/ceil when truncate is false)
      ramp(i) = clamp((i - low) / (high - low), 0, 1)  (high += 0.001 when equal), i < dim/2
      inv_freq = interp * ramp + extrap * (1 - ramp)
    attention_factor: given, else mscale(factor, mscale) / mscale(factor, mscale_all_dim) when both
    are set, else 0.1 ln(factor) + 1 (1 when factor <= 1).
    transformers 4.45 differs: L is max_position_embeddings (it ignores
    original_max_position_embeddings), and mscale, mscale_all_dim, truncate are not read."""
    factor, af = yarn_attention_factor(p, max_pos)
    beta_fast = p.get("beta_fast") or 32
    beta_slow = p.get("beta_slow") or 1
    orig = p["original_max_position_embeddings"]
    truncate = p.get("truncate", True)

    def corr(rotations):
        return (dim * math.log(orig / (rotations * 2 * math.pi))) / (2 * math.log(base))

    low, high = corr(beta_fast), corr(beta_slow)
    if truncate:
        low, high = math.floor(low), math.ceil(high)
    low, high = max(low, 0), min(high, dim - 1)
    if low == high:
        high += 0.001
    ramp = torch.clamp((torch.arange(dim // 2, dtype=torch.float32) - low) / (high - low), 0, 1)
    pos_freqs = base ** (torch.arange(0, dim, 2).float() / dim)
    extrapolation = 1.0 / pos_freqs
    interpolation = 1.0 / (factor * pos_freqs)
    keep = 1 - ramp  # inv_freq_extrapolation_factor
    return interpolation * (1 - keep) + extrapolation * keep, af


def longrope_attention_factor(p, max_pos):
    factor = p.get("factor")
    orig = p["original_max_position_embeddings"]
    if factor is None:
        factor = max_pos / orig
    af = p.get("attention_factor")
    if af is None:
        af = 1.0 if factor <= 1.0 else math.sqrt(1 + math.log(factor) / math.log(orig))
    return float(af)


def longrope_is_long(p, seq_len):
    return bool(seq_len) and seq_len > p["original_max_position_embeddings"]


def _longrope(p, base, dim, max_pos, seq_len):
    """_compute_longrope_parameters: inv_freq[i] = 1 / (ext[i] * base^(2i/dim)) with ext the
    long_factor list when seq_len > original_max_position_embeddings, else short_factor.
    attention_factor: given, else sqrt(1 + ln(factor) / ln(original_max_position_embeddings))
    (1 when factor <= 1), factor being rope `factor` if given, else
    max_position_embeddings / original_max_position_embeddings.
    transformers 4.45 differs only in that a top-level original_max_position_embeddings makes
    factor that ratio even when the dict has a `factor`."""
    af = longrope_attention_factor(p, max_pos)
    ext = p["long_factor"] if longrope_is_long(p, seq_len) else p["short_factor"]
    if len(ext) != dim // 2:
        raise ValueError(f"longrope factors have {len(ext)} entries, the rotary dim {dim} needs {dim // 2}")
    ext = torch.tensor(ext, dtype=torch.float32)
    return 1.0 / (ext * base ** _exponents(dim)), af


def _llama3(p, base, dim):
    """_compute_llama3_parameters: with wavelen = 2 pi / inv_freq, L = original_max_position_embeddings,
    low_wavelen = L / low_freq_factor, high_wavelen = L / high_freq_factor:
      wavelen < high_wavelen: unchanged;  wavelen > low_wavelen: inv_freq / factor;
      otherwise smooth = (L / wavelen - low_freq_factor) / (high_freq_factor - low_freq_factor),
                inv_freq * ((1 - smooth) / factor + smooth)."""
    inv = default_inv_freq(base, dim)
    factor = float(p["factor"])
    low_ff, high_ff = float(p["low_freq_factor"]), float(p["high_freq_factor"])
    old = p["original_max_position_embeddings"]
    low_wavelen, high_wavelen = old / low_ff, old / high_ff
    wavelen = 2 * math.pi / inv
    scaled = torch.where(wavelen > low_wavelen, inv / factor, inv)
    smooth = (old / wavelen - low_ff) / (high_ff - low_ff)
    smoothed = (1 - smooth) * scaled / factor + smooth * scaled
    medium = ~(wavelen < high_wavelen) * ~(wavelen > low_wavelen)
    return torch.where(medium, smoothed, scaled)


class Rope:
    """The rotary embedding of one model (or one layer type): cos/sin for a forward call over
    positions [start, start + t), recomputed per call for the types that depend on the length,
    as transformers' dynamic_rope_update decorator does (seq_len = largest position + 1):
    - dynamic: inv_freq for max(seq_len, max_position_embeddings) of this call. In a cached
      generation each step uses the current length while the cached keys keep the rotation they
      were computed with (transformers does not re-rotate its cache), so cached and uncached runs
      differ once the length passes max_position_embeddings.
    - longrope: long factors when seq_len > original_max_position_embeddings, else short. Phi-3's
      generation drops the cache at the switch and recomputes the whole sequence (see
      modeling_phi3.py); within one call all positions use one set of factors.
    The model is fresh for each request: transformers' model object carries the dynamic state
    (max_seq_len_cached) from one generate() to the next; this reference does not."""

    def __init__(self, params, head_dim, max_position_embeddings):
        self.p = params
        self.head_dim = head_dim
        self.max_pos = max_position_embeddings
        self.dim = rotary_dim(params, head_dim)
        self.static = params["rope_type"] not in ("dynamic", "longrope")
        self._static = inv_freq(params, head_dim, max_position_embeddings) if self.static else None

    def frequencies(self, seq_len):
        if self.static:
            return self._static
        return inv_freq(self.p, self.head_dim, self.max_pos, seq_len)

    def cos_sin(self, start, t):
        """cos, sin [t, rotary_dim] for positions start..start+t-1, attention_scaling applied."""
        inv, scale = self.frequencies(start + t)
        pos = torch.arange(start, start + t, dtype=torch.int64).float()
        freqs = pos[:, None] * inv[None, :]
        emb = torch.cat((freqs, freqs), dim=-1)
        return emb.cos() * scale, emb.sin() * scale


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def apply(x, cos, sin):
    """x [..., T, D]: the first rotary_dim values of each head rotated (rotate_half layout), the rest
    passed unchanged (and unscaled by the attention factor)."""
    rot = cos.shape[-1]
    x_rot, x_pass = x[..., :rot], x[..., rot:]
    return torch.cat([x_rot * cos + rotate_half(x_rot) * sin, x_pass], dim=-1)
