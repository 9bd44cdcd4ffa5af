// A decoder's tensors, read by their Hugging Face names and packed for the kernels: GPT-2's
// (transformer.h.N.attn.c_attn, Conv1D [in, out]) and the LLaMA-like families' (model.layers.N.
// self_attn.q_proj, ...), where the ModelConfig's DecoderLayout says which norms a layer has,
// whether q/k/v and gate/up are stored fused (Phi-3), and where q and k are normalised.
#pragma once

#include <cmath>
#include <string>
#include <vector>

#include "zest/error.hpp"
#include "zest/io/model_config.hpp"
#include "zest/io/safetensors.hpp"
#include "zest/kernels/packed_matrix.hpp"
#include "zest/models/rope_tables.hpp"
#include "zest/models/weight_reader.hpp"

namespace zest::detail {

struct DecoderLayer {
  // The four norm places (DecoderLayout); an empty weight: no norm there.
  Norm attn_in, attn_out, mlp_in, mlp_out;
  std::vector<float> q_norm, k_norm;  // QkNorm weights: head_dim each (per head) or the projection's width
  PackedMatrix qkv, out, up, down;    // up holds [gate; up] rows for gated MLPs
  std::vector<float> qkv_bias, out_bias, up_bias, down_bias;  // empty when absent
  float attn_scale = 0;
  size_t window = 0;  // 0: full attention
  int rope = -1;      // index of the layer's RopeTable; -1: none
};

// How each kind of Linear weight of a decoder is stored.
struct LinearFormat {
  WeightFormat format = WeightFormat::f32;
  Int8Scheme scheme;
};
struct DecoderFormats {
  LinearFormat qkv, out, up, down, head;
};

struct DecoderWeights {
  TensorView embed, positions;  // positions: GPT-2's learned table, else empty
  std::vector<DecoderLayer> layers;
  Norm final_norm;
  PackedMatrix lm_head;
  std::vector<RopeTable> ropes;
};

// The name of the checkpoint's weights, for messages.
inline std::string weights_source(const Weights& weights) {
  return weights.files().size() == 1 ? weights.files().front().path().string() : "model.safetensors.index.json";
}

// The LM head: lm_head.weight (under the first of `head_prefixes` that has it), or the input
// embedding when tied.
inline PackedMatrix load_lm_head(const Weights& weights, const ModelConfig& c, const WeightReader& w,
                                 std::string_view embedding_name, std::vector<std::string> head_prefixes,
                                 LinearFormat storage) {
  const WeightReader top(weights, weights_source(weights), std::move(head_prefixes));
  const bool own_head = !c.tie_word_embeddings && top.has("lm_head.weight");
  if (!c.tie_word_embeddings && !own_head)
    fail(Error::Kind::format, weights_source(weights), ": missing tensor 'lm_head.weight' (tie_word_embeddings is false)");
  const Tensor head = own_head ? top.matrix("lm_head.weight", c.vocab_size, c.hidden_size)
                               : w.matrix(embedding_name, c.vocab_size, c.hidden_size);
  return w.packed(storage.format, storage.scheme, head);
}

inline DecoderWeights load_gpt2_weights(const Weights& weights, const ModelConfig& c, const DecoderFormats& f) {
  const int64_t d = c.hidden_size, inter = c.intermediate_size;
  const WeightReader w(weights, weights_source(weights), {"transformer.", ""});
  DecoderWeights out;
  out.embed = w.tensor("wte.weight", Shape{c.vocab_size, d});
  out.positions = w.tensor("wpe.weight", Shape{c.max_position_embeddings, d});
  for (int64_t i = 0; i < c.num_hidden_layers; ++i) {
    const std::string p = "h." + std::to_string(i) + ".";
    DecoderLayer l;
    l.attn_in = {w.vector(p + "ln_1.weight", d), w.vector(p + "ln_1.bias", d)};
    l.mlp_in = {w.vector(p + "ln_2.weight", d), w.vector(p + "ln_2.bias", d)};
    l.qkv = w.packed(f.qkv.format, f.qkv.scheme, w.matrix(p + "attn.c_attn.weight", 3 * d, d, /*transposed=*/true));
    l.qkv_bias = w.vector(p + "attn.c_attn.bias", 3 * d);
    l.out = w.packed(f.out.format, f.out.scheme, w.matrix(p + "attn.c_proj.weight", d, d, true));
    l.out_bias = w.vector(p + "attn.c_proj.bias", d);
    l.up = w.packed(f.up.format, f.up.scheme, w.matrix(p + "mlp.c_fc.weight", inter, d, true));
    l.up_bias = w.vector(p + "mlp.c_fc.bias", inter);
    l.down = w.packed(f.down.format, f.down.scheme, w.matrix(p + "mlp.c_proj.weight", d, inter, true));
    l.down_bias = w.vector(p + "mlp.c_proj.bias", d);
    l.attn_scale = c.scale_attn_weights ? 1.0f / std::sqrt(float(c.head_dim)) : 1.0f;
    if (c.scale_attn_by_inverse_layer_idx) l.attn_scale /= float(i + 1);
    out.layers.push_back(std::move(l));
  }
  out.final_norm = {w.vector("ln_f.weight", d), w.vector("ln_f.bias", d)};
  out.lm_head = load_lm_head(weights, c, w, "wte.weight", {""}, f.head);
  return out;
}

inline DecoderWeights load_llama_like_weights(const Weights& weights, const ModelConfig& c, const DecoderFormats& f) {
  const DecoderLayout& layout = c.layout;
  const int64_t d = c.hidden_size, inter = c.intermediate_size, hd = c.head_dim;
  const int64_t q = c.num_attention_heads * hd, kv = c.num_key_value_heads * hd;
  const WeightReader w(weights, weights_source(weights), layout.weight_prefixes);
  // A norm's weight, with Gemma's (1 + w) folded in.
  auto norm_weight = [&](const std::string& name, int64_t n) {
    std::vector<float> v = w.vector(name, n);
    for (float& x : v) x += layout.norm_weight_offset;
    return v;
  };
  auto norm = [&](const std::string& p, const std::string& stem) {
    return stem.empty() ? Norm{} : Norm{norm_weight(p + stem + ".weight", d), {}};
  };
  DecoderWeights out;
  out.embed = w.tensor("embed_tokens.weight", Shape{c.vocab_size, d});
  for (int64_t i = 0; i < c.num_hidden_layers; ++i) {
    const std::string p = "layers." + std::to_string(i) + ".", a = p + "self_attn.", m = p + "mlp.";
    DecoderLayer l;
    l.attn_in = norm(p, layout.attn_in);
    l.attn_out = norm(p, layout.attn_out);
    l.mlp_in = norm(p, layout.mlp_in);
    l.mlp_out = norm(p, layout.mlp_out);
    if (layout.qk_norm != QkNorm::none) {
      const bool per_head = layout.qk_norm == QkNorm::per_head;
      l.q_norm = norm_weight(a + "q_norm.weight", per_head ? hd : q);
      l.k_norm = norm_weight(a + "k_norm.weight", per_head ? hd : kv);
    }
    l.qkv = layout.fused_qkv ? w.packed(f.qkv.format, f.qkv.scheme, w.matrix(a + "qkv_proj.weight", q + 2 * kv, d))
                             : w.packed(f.qkv.format, f.qkv.scheme, w.matrix(a + "q_proj.weight", q, d), w.matrix(a + "k_proj.weight", kv, d),
                                        w.matrix(a + "v_proj.weight", kv, d));
    l.qkv_bias = layout.fused_qkv
                     ? w.stacked_bias({{a + "qkv_proj.bias", q + 2 * kv}}, c.qkv_bias)
                     : w.stacked_bias({{a + "q_proj.bias", q}, {a + "k_proj.bias", kv}, {a + "v_proj.bias", kv}}, c.qkv_bias);
    l.out = w.packed(f.out.format, f.out.scheme, w.matrix(a + "o_proj.weight", d, q));
    l.out_bias = w.stacked_bias({{a + "o_proj.bias", d}}, c.attention_output_bias);
    l.up = layout.fused_gate_up
               ? w.packed(f.up.format, f.up.scheme, w.matrix(m + "gate_up_proj.weight", 2 * inter, d))
               : w.packed(f.up.format, f.up.scheme, w.matrix(m + "gate_proj.weight", inter, d), w.matrix(m + "up_proj.weight", inter, d));
    l.up_bias = layout.fused_gate_up
                    ? w.stacked_bias({{m + "gate_up_proj.bias", 2 * inter}}, c.mlp_bias)
                    : w.stacked_bias({{m + "gate_proj.bias", inter}, {m + "up_proj.bias", inter}}, c.mlp_bias);
    l.down = w.packed(f.down.format, f.down.scheme, w.matrix(m + "down_proj.weight", d, inter));
    l.down_bias = w.stacked_bias({{m + "down_proj.bias", d}}, c.mlp_bias);
    l.attn_scale = float(layout.attention_scale.value_or(1.0 / std::sqrt(double(hd))));
    const LayerAttention& attention = c.layers[size_t(i)];
    l.window = size_t(attention.window.value_or(0));
    l.rope = attention.rope;
    out.layers.push_back(std::move(l));
  }
  out.final_norm = norm("", "norm");
  out.lm_head = load_lm_head(weights, c, w, "embed_tokens.weight", layout.head_prefixes, f.head);
  for (const auto& rope : c.ropes) out.ropes.emplace_back(rope, c.rotary_dim(), c.max_position_embeddings);
  return out;
}

}  // namespace zest::detail
