"""Qwen3ForCausalLM (transformers models/qwen3/modeling_qwen3.py): Llama with
- q_norm / k_norm: an RMSNorm over each head's head_dim values of q and k (weights [head_dim],
  eps rms_norm_eps), after the projections and before rope ("unlike olmo, only on the head dim");
- head_dim its own config key (Qwen3Config writes it; default 128), q/k/v/o bias all from
  attention_bias (Qwen2 instead has q/k/v bias always and no o bias);
- sliding window per layer from layer_types ("sliding_attention" layers use sliding_window, which
  Qwen3Config sets to None unless use_sliding_window), as Qwen2.
"""
import modeling


class Qwen3(modeling.Llama):
    def __init__(self, config, weights):
        super().__init__(config, weights)
        self.qkv_bias = self.o_bias = config.get("attention_bias", False)

    def layer_window(self, i):
        window = self.c.get("sliding_window") if self.c.get("use_sliding_window", False) else None
        layer_types = self.c.get("layer_types")
        if layer_types is None:
            layer_types = ["sliding_attention" if window is not None and j >= self.c.get("max_window_layers", 28)
                           else "full_attention" for j in range(self.n_layer)]
        return window if layer_types[i] == "sliding_attention" else None

    def qkv(self, a, h):
        q = self.linear(a, h + "self_attn.q_proj", self.qkv_bias).view(a.shape[0], self.n_head, self.head_dim)
        k = self.linear(a, h + "self_attn.k_proj", self.qkv_bias).view(a.shape[0], self.n_kv, self.head_dim)
        v = self.heads(self.linear(a, h + "self_attn.v_proj", self.qkv_bias), self.n_kv)
        q = self.rms(q, h + "self_attn.q_norm").transpose(0, 1)
        k = self.rms(k, h + "self_attn.k_norm").transpose(0, 1)
        return q, k, v


MODEL = Qwen3
