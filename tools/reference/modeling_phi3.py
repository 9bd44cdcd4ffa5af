"""Phi3ForCausalLM (transformers models/phi3/modeling_phi3.py): Llama with
- fused projections: self_attn.qkv_proj.weight [(H + 2 KV) * D, hidden] whose rows are q (H * D),
  then k (KV * D), then v (KV * D); mlp.gate_up_proj.weight [2 * intermediate, hidden] whose first
  half is the gate and second half the up projection: down(up * act(gate)); no biases;
- head_dim = hidden_size / num_attention_heads (Phi3Config has no head_dim key);
- partial_rotary_factor (Phi-4-mini 0.75): rope on the first int(head_dim * factor) values of each
  head; rope type longrope ("su" and "yarn" in old configs mean longrope) with short/long factors,
  original_max_position_embeddings a top-level key;
- sliding_window: when set, every layer attends the last sliding_window positions;
- generation: the long factors apply to a forward call whose length exceeds
  original_max_position_embeddings. When a cached generation first crosses that length
  (new length >= original + 1 with at most original positions cached), transformers'
  Phi3ForCausalLM.prepare_inputs_for_generation drops the cache and recomputes the whole sequence,
  so every position then uses the long factors: cached and uncached runs agree.
"""
import torch

import modeling
import rope


class Phi3(modeling.Llama):
    def __init__(self, config, weights):
        super().__init__(config, weights)
        self.qkv_bias = self.o_bias = self.mlp_bias = False

    def make_rope(self):
        params = rope.parameters(self.c, default_theta=self.default_theta, phi3=True)
        if params["rope_type"] not in ("default", "longrope"):
            raise ValueError(f"Phi3Config accepts rope types default and longrope, not {params['rope_type']!r}")
        return rope.Rope(params, self.head_dim, self.c["max_position_embeddings"])

    def layer_window(self, i):
        return self.c.get("sliding_window")

    def qkv(self, a, h):
        qkv = modeling.F.linear(a, self.p(h + "self_attn.qkv_proj.weight"))
        nq, nkv = self.n_head * self.head_dim, self.n_kv * self.head_dim
        q, k, v = qkv[..., :nq], qkv[..., nq:nq + nkv], qkv[..., nq + nkv:]
        return self.heads(q, self.n_head), self.heads(k, self.n_kv), self.heads(v, self.n_kv)

    def mlp(self, m, h):
        gate, up = modeling.F.linear(m, self.p(h + "mlp.gate_up_proj.weight")).chunk(2, dim=-1)
        return modeling.F.linear(up * self.act(gate), self.p(h + "mlp.down_proj.weight"))

    def forward(self, ids, cache=None):
        p = self.rope.p
        if cache is not None and p["rope_type"] == "longrope":
            past = cache[0][0].shape[1]
            orig = p["original_max_position_embeddings"]
            if past + len(ids) >= orig + 1 and past <= orig:  # the switch: recompute without cache
                hidden, new_cache = super().forward(cache.ids + list(ids))
                return hidden[-len(ids):], new_cache
        return super().forward(ids, cache)


MODEL = Phi3
