// Decoder-only language models: GPT-2 (GPT2LMHeadModel) and the LLaMA family (LlamaForCausalLM,
// MistralForCausalLM, Qwen2ForCausalLM). One forward function over shared blocks; the families
// differ only in what load() reads from config.json:
//
//   x = embed(ids) [+ position embedding]                  GPT-2 adds learned positions
//   per layer:  h = norm(x);  q,k,v = h Wqkv [+ b]          LayerNorm (GPT-2) or RMSNorm
//               rotate q, k (RoPE);  append k, v to the cache   LLaMA family
//               x += attend(q, cache) Wo [+ b]              causal, GQA, optional sliding window
//               h = norm(x);  x += act(h Wup [+ b]) Wdown [+ b]   GELU, or SiLU(gate) * up
//   logits = norm(x) Wlm                                    only for the positions asked for
//
// The model is immutable after load() and shared by threads; each sequence has a DecoderState
// (its KV cache and scratch), so nothing is allocated per token.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstring>
#include <cmath>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "zest/kernels/half.hpp"
#include "zest/error.hpp"
#include "zest/io/config.hpp"
#include "zest/io/safetensors.hpp"
#include "zest/kernels/activation.hpp"
#include "zest/kernels/attention.hpp"
#include "zest/kernels/matmul.hpp"
#include "zest/kernels/norm.hpp"
#include "zest/kernels/rope.hpp"
#include "zest/models/options.hpp"
#include "zest/models/weight_reader.hpp"
#include "zest/runtime/thread_pool.hpp"

namespace zest::detail {


struct DecoderLayer {
  Norm attn_norm, mlp_norm;
  PackedMatrix qkv, out, up, down;  // up holds [gate; up] rows for gated MLPs
  std::vector<float> qkv_bias, out_bias, up_bias, down_bias;  // empty when absent
  float attn_scale = 0;
  size_t window = 0;  // 0: full attention
};


class DecoderModel;

// One sequence's KV cache and scratch buffers, sized once for `capacity` positions.
class DecoderState {
 public:
  DecoderState(const DecoderModel& model, size_t capacity);

  size_t length() const { return length_; }      // positions already in the cache
  size_t capacity() const { return capacity_; }
  void reset() { length_ = 0; }
  // Forgets positions from `n` on (to re-run a shorter prefix).
  void truncate(size_t n) { length_ = std::min(length_, n); }

 private:
  friend class DecoderModel;
  size_t capacity_ = 0, length_ = 0, kv_dim_ = 0;
  KvType kv_type_ = KvType::f32;
  detail::AlignedVector<std::byte> k_, v_;  // [layer][kv head][position][head_dim]: each head's keys one stream
  std::vector<float> x_, h_, qkv_, attn_, mlp_, rope_;
};

class DecoderModel {
 public:
  // Positions processed per pass: bounds the scratch of a long prompt.
  static constexpr size_t kChunk = 128;
  // int8 weights in blocks of 32 inputs, activations with a residual level: generation feeds
  // each token's error into the next, and W8A8 per row costs 2-3x the KL target (1e-3) on the
  // sharp test models (tools/reference/int8_simulation.py).
  static constexpr Int8Scheme kInt8{.group = 32, .activation_residual = true};
  // Rows per share of the row-wise work (norms, activations) that a prompt's rows split across
  // the pool; a decode step's one row runs inline, where a fork/join (0.6-0.8 us on 2 threads,
  // bench_kernels fork_join_empty) would cost more than it.
  static constexpr size_t kRowGrain = 8;

  // Loads config.json and model.safetensors (or shards) from `dir`.
  static DecoderModel load(const std::filesystem::path& dir, const LoadOptions& options = {}) {
    return DecoderModel(load_model_config(dir), Weights::open(dir), options);
  }

  DecoderModel(ModelConfig config, Weights weights, const LoadOptions& options)
      : config_(std::move(config)), weights_(std::move(weights)) {
    detail::check_device(options.device);
    if (config_.model_type == ModelType::bert)
      detail::fail(Error::Kind::unsupported, "model_type bert is an encoder, not a decoder model");
    format_ = detail::weight_format(options.dtype);
    const auto begin = std::chrono::steady_clock::now();
    if (config_.model_type == ModelType::gpt2) load_gpt2();
    else load_llama_family();
    load_seconds_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
  }

  const ModelConfig& config() const { return config_; }
  WeightFormat weight_format() const { return format_; }
  double load_seconds() const { return load_seconds_; }
  size_t vocab_size() const { return size_t(config_.vocab_size); }
  // The KV cache's element type: f16 beside half-precision and int8 weights, as llama.cpp keeps
  // it, halving what attention reads (its error is a hundredth of int8's: llama-odd-gqa's KL
  // moves from 8.92e-4 to 8.89e-4); f32 beside f32 weights, HF's numbers exactly.
  KvType kv_type() const {
    return format_ == WeightFormat::f32 ? KvType::f32 : KvType::f16;
  }
  size_t q_dim() const { return size_t(config_.num_attention_heads * config_.head_dim); }
  size_t kv_dim() const { return size_t(config_.num_key_value_heads * config_.head_dim); }
  // Bytes of weights a decode step streams (the Linear layers and the LM head).
  size_t weight_bytes() const {
    size_t bytes = lm_head_.bytes();
    for (const auto& l : layers_) bytes += l.qkv.bytes() + l.out.bytes() + l.up.bytes() + l.down.bytes();
    return bytes;
  }

  // Bytes of KV cache a decode step reads per cached position (keys and values of every layer).
  size_t kv_bytes_per_position() const {
    return layers_.size() * 2 * kv_dim() * kv_element_size(kv_type());
  }

  // Runs `ids` at positions [state.length(), state.length() + ids.size()) and appends them to the
  // cache. Writes vocab_size() logits for the last position into `logits`, or, with
  // all_positions, ids.size() rows of them.
  void forward(DecoderState& state, std::span<const int32_t> ids, std::span<float> logits, ThreadPool& pool,
               bool all_positions = false) const {
    if (ids.empty()) detail::fail(Error::Kind::input, "forward: no token ids");
    if (state.length_ + ids.size() > state.capacity_)
      detail::fail(Error::Kind::input, "forward: ", state.length_ + ids.size(), " positions exceed the session's capacity of ",
                   state.capacity_, " (max_position_embeddings = ", config_.max_position_embeddings, ")");
    const size_t wanted = all_positions ? ids.size() : 1;
    if (logits.size() < wanted * vocab_size())
      detail::fail(Error::Kind::input, "forward: logits buffer holds ", logits.size(), " floats, need ", wanted * vocab_size());
    for (int32_t id : ids)
      if (id < 0 || id >= config_.vocab_size)
        detail::fail(Error::Kind::input, "token id ", id, " is outside the vocabulary of ", config_.vocab_size);
    for (size_t done = 0; done < ids.size(); done += kChunk) {
      const size_t m = std::min(kChunk, ids.size() - done);
      const bool last_chunk = done + m == ids.size();
      if (all_positions) run_chunk(state, ids.subspan(done, m), logits.data() + done * vocab_size(), m, pool);
      else run_chunk(state, ids.subspan(done, m), last_chunk ? logits.data() : nullptr, last_chunk ? 1 : 0, pool);
    }
  }

 private:
  friend class DecoderState;

  void load_gpt2() {
    const auto& c = config_;
    const int64_t d = c.hidden_size, inter = c.intermediate_size;
    const detail::WeightReader w(weights_, weights_source(), {"transformer.", ""});
    embed_ = w.tensor("wte.weight", Shape{c.vocab_size, d});
    positions_ = w.tensor("wpe.weight", Shape{c.max_position_embeddings, d});
    for (int64_t i = 0; i < c.num_hidden_layers; ++i) {
      const std::string p = "h." + std::to_string(i) + ".";
      detail::DecoderLayer l;
      l.attn_norm = {w.vector(p + "ln_1.weight", d), w.vector(p + "ln_1.bias", d)};
      l.mlp_norm = {w.vector(p + "ln_2.weight", d), w.vector(p + "ln_2.bias", d)};
      l.qkv = w.packed(format_, kInt8, w.matrix(p + "attn.c_attn.weight", 3 * d, d, /*transposed=*/true));
      l.qkv_bias = w.vector(p + "attn.c_attn.bias", 3 * d);
      l.out = w.packed(format_, kInt8, w.matrix(p + "attn.c_proj.weight", d, d, true));
      l.out_bias = w.vector(p + "attn.c_proj.bias", d);
      l.up = w.packed(format_, kInt8, w.matrix(p + "mlp.c_fc.weight", inter, d, true));
      l.up_bias = w.vector(p + "mlp.c_fc.bias", inter);
      l.down = w.packed(format_, kInt8, w.matrix(p + "mlp.c_proj.weight", d, inter, true));
      l.down_bias = w.vector(p + "mlp.c_proj.bias", d);
      l.attn_scale = c.scale_attn_weights ? 1.0f / std::sqrt(float(c.head_dim)) : 1.0f;
      if (c.scale_attn_by_inverse_layer_idx) l.attn_scale /= float(i + 1);
      layers_.push_back(std::move(l));
    }
    final_norm_ = {w.vector("ln_f.weight", d), w.vector("ln_f.bias", d)};
    load_lm_head(w, "wte.weight");
  }

  void load_llama_family() {
    const auto& c = config_;
    const int64_t d = c.hidden_size, inter = c.intermediate_size, q = int64_t(q_dim()), kv = int64_t(kv_dim());
    const detail::WeightReader w(weights_, weights_source(), {"model.", ""});
    embed_ = w.tensor("embed_tokens.weight", Shape{c.vocab_size, d});
    for (int64_t i = 0; i < c.num_hidden_layers; ++i) {
      const std::string p = "layers." + std::to_string(i) + ".";
      detail::DecoderLayer l;
      l.attn_norm.weight = w.vector(p + "input_layernorm.weight", d);
      l.mlp_norm.weight = w.vector(p + "post_attention_layernorm.weight", d);
      l.qkv = w.packed(format_, kInt8, w.matrix(p + "self_attn.q_proj.weight", q, d), w.matrix(p + "self_attn.k_proj.weight", kv, d),
                        w.matrix(p + "self_attn.v_proj.weight", kv, d));
      l.qkv_bias = w.stacked_bias({{p + "self_attn.q_proj.bias", q}, {p + "self_attn.k_proj.bias", kv},
                                   {p + "self_attn.v_proj.bias", kv}},
                                  c.qkv_bias);
      l.out = w.packed(format_, kInt8, w.matrix(p + "self_attn.o_proj.weight", d, q));
      l.out_bias = w.stacked_bias({{p + "self_attn.o_proj.bias", d}}, c.attention_output_bias);
      l.up = w.packed(format_, kInt8, w.matrix(p + "mlp.gate_proj.weight", inter, d), w.matrix(p + "mlp.up_proj.weight", inter, d));
      l.up_bias = w.stacked_bias({{p + "mlp.gate_proj.bias", inter}, {p + "mlp.up_proj.bias", inter}}, c.mlp_bias);
      l.down = w.packed(format_, kInt8, w.matrix(p + "mlp.down_proj.weight", d, inter));
      l.down_bias = w.stacked_bias({{p + "mlp.down_proj.bias", d}}, c.mlp_bias);
      l.attn_scale = 1.0f / std::sqrt(float(c.head_dim));
      l.window = size_t(c.sliding_window_of_layer(i).value_or(0));
      layers_.push_back(std::move(l));
    }
    final_norm_.weight = w.vector("norm.weight", d);
    load_lm_head(w, "embed_tokens.weight");
    inv_freq_ = rope_inv_freq(size_t(c.head_dim), float(c.rope_theta));
    for (float& f : inv_freq_) f /= float(c.rope_linear_factor);
  }

  // The LM head: lm_head.weight, or the input embedding when tied (or when the file has no head).
  void load_lm_head(const detail::WeightReader& w, std::string_view embedding_name) {
    const detail::WeightReader top(weights_, weights_source(), {""});
    const bool own_head = !config_.tie_word_embeddings && top.has("lm_head.weight");
    if (!config_.tie_word_embeddings && !own_head)
      detail::fail(Error::Kind::format, weights_source(), ": missing tensor 'lm_head.weight' (tie_word_embeddings is false)");
    const Tensor head = own_head ? top.matrix("lm_head.weight", config_.vocab_size, config_.hidden_size)
                                 : w.matrix(embedding_name, config_.vocab_size, config_.hidden_size);
    lm_head_ = w.packed(format_, kInt8, head);
  }

  std::string weights_source() const {
    return weights_.files().size() == 1 ? weights_.files().front().path().string() : "model.safetensors.index.json";
  }

  // Row `id` of a [rows x hidden] table of the file's dtype, as f32.
  void embedding_row(const TensorView& table, int64_t id, float* out) const {
    const size_t d = size_t(config_.hidden_size);
    const auto* bytes = static_cast<const std::byte*>(table.raw()) + size_t(id) * d * dtype_size(table.dtype());
    if (table.dtype() == DType::f32) {
      std::memcpy(out, bytes, d * sizeof(float));
      return;
    }
    uint16_t half[256];  // converted in pieces: the file's rows need not be 2-byte aligned
    for (size_t i = 0; i < d; i += 256) {
      const size_t n = std::min<size_t>(256, d - i);
      std::memcpy(half, bytes + i * 2, n * 2);
      if (table.dtype() == DType::bf16) detail::bf16_to_f32(half, out + i, n);
      else detail::f16_to_f32(half, out + i, n);
    }
  }

  void norm(const detail::Norm& n, const float* x, float* y, size_t rows) const {
    const size_t d = size_t(config_.hidden_size);
    if (n.bias.empty()) rms_norm(x, y, rows, d, n.weight.data(), float(config_.norm_eps));
    else layer_norm(x, y, rows, d, n.weight.data(), n.bias.data(), float(config_.norm_eps));
  }

  // The MLP's activation over `rows` rows of up-projections (bias already added for gated MLPs),
  // leaving intermediate_size values per row at the start of each row's up-projection.
  void activate(float* u, size_t rows, const detail::DecoderLayer& l) const {
    const size_t inter = size_t(config_.intermediate_size);
    if (config_.model_type != ModelType::gpt2) {
      for (size_t r = 0; r < rows; ++r) {
        float* row = u + r * 2 * inter;
        if (config_.hidden_act == Activation::silu) silu_mul(row, row + inter, row, inter);
        else detail::fail(Error::Kind::unsupported, "hidden_act other than silu in a gated MLP");
      }
      return;
    }
    switch (config_.hidden_act) {
      case Activation::gelu_tanh: bias_gelu(u, rows, inter, l.up_bias.data(), false); break;
      case Activation::gelu_erf: bias_gelu(u, rows, inter, l.up_bias.data(), true); break;
      case Activation::relu:
        add_bias(u, rows, inter, l.up_bias.data());
        for (size_t i = 0; i < rows * inter; ++i) u[i] = std::max(u[i], 0.0f);
        break;
      case Activation::silu:
        add_bias(u, rows, inter, l.up_bias.data());
        for (size_t i = 0; i < rows * inter; ++i) u[i] = u[i] / (1.0f + std::exp(-u[i]));
        break;
    }
  }

  // One pass over m <= kChunk positions; logits of the last `n_logits` of them into `logits`.
  void run_chunk(DecoderState& s, std::span<const int32_t> ids, float* logits, size_t n_logits, ThreadPool& pool) const {
    const auto& c = config_;
    const size_t m = ids.size(), d = size_t(c.hidden_size), hd = size_t(c.head_dim), pos0 = s.length_;
    const size_t qd = q_dim(), kvd = kv_dim(), qkv_cols = qd + 2 * kvd, inter = size_t(c.intermediate_size);
    const bool gated = c.model_type != ModelType::gpt2;
    float *x = s.x_.data(), *h = s.h_.data(), *qkv = s.qkv_.data(), *attn = s.attn_.data(), *u = s.mlp_.data();

    for (size_t r = 0; r < m; ++r) {
      embedding_row(embed_, ids[r], x + r * d);
      if (positions_.raw()) {
        float* pe = h;  // scratch for the position row
        embedding_row(positions_, int64_t(pos0 + r), pe);
        add(x + r * d, pe, d);
      }
    }
    // Rotary angles of the chunk's positions, once for all layers: cos then sin, hd / 2 each.
    if (!inv_freq_.empty())
      for (size_t r = 0; r < m; ++r) {
        float* cos = s.rope_.data() + r * hd;
        rope_cos_sin(pos0 + r, inv_freq_.data(), hd / 2, cos, cos + hd / 2);
      }
    const AttentionShape shape_base{size_t(c.num_attention_heads), size_t(c.num_key_value_heads), hd, 0.0f, 0};
    const size_t u_stride = gated ? 2 * inter : inter;  // floats per row of up-projections
    for (size_t li = 0; li < layers_.size(); ++li) {
      const detail::DecoderLayer& l = layers_[li];
      pool.parallel_for(m, kRowGrain, [&](size_t r0, size_t r1) { norm(l.attn_norm, x + r0 * d, h + r0 * d, r1 - r0); });
      matmul(h, m, l.qkv, qkv, pool, {.bias = l.qkv_bias.empty() ? nullptr : l.qkv_bias.data()});
      const size_t head_stride = s.capacity_ * hd, layer_bytes = s.capacity_ * kvd * kv_element_size(s.kv_type_);
      std::byte* k_cache = s.k_.data() + li * layer_bytes;
      std::byte* v_cache = s.v_.data() + li * layer_bytes;
      for (size_t r = 0; r < m; ++r) {
        float* row = qkv + r * qkv_cols;
        if (!inv_freq_.empty()) {
          const float* cos = s.rope_.data() + r * hd;
          const float* sin = cos + hd / 2;
          rope_rotate_half(row, size_t(c.num_attention_heads), hd, hd, cos, sin);
          rope_rotate_half(row + qd, size_t(c.num_key_value_heads), hd, hd, cos, sin);
        }
        for (size_t kh = 0; kh < size_t(c.num_key_value_heads); ++kh) {
          const size_t at = kh * head_stride + (pos0 + r) * hd;
          store_kv(row + qd + kh * hd, hd, s.kv_type_, k_cache, at);
          store_kv(row + qd + kvd + kh * hd, hd, s.kv_type_, v_cache, at);
        }
        std::memcpy(attn + r * qd, row, qd * sizeof(float));  // the queries, gathered for attention
      }
      const KvView k{k_cache, s.kv_type_, hd, head_stride}, v{v_cache, s.kv_type_, hd, head_stride};
      AttentionShape shape = shape_base;
      shape.scale = l.attn_scale;
      shape.window = l.window;
      // Queries were gathered into attn; the result goes to h (free until the next norm).
      if (m == 1) attend_decode(attn, k, v, pos0 + 1, shape, h, pool);
      else attend_prefill(attn, m, pos0, k, v, shape, h, pool);
      matmul(h, m, l.out, x, pool, {.bias = l.out_bias.empty() ? nullptr : l.out_bias.data(), .accumulate = true});

      pool.parallel_for(m, kRowGrain, [&](size_t r0, size_t r1) { norm(l.mlp_norm, x + r0 * d, h + r0 * d, r1 - r0); });
      matmul(h, m, l.up, u, pool, {.bias = gated && !l.up_bias.empty() ? l.up_bias.data() : nullptr});
      pool.parallel_for(m, kRowGrain, [&](size_t r0, size_t r1) { activate(u + r0 * u_stride, r1 - r0, l); });
      if (gated)  // activations sit at the start of each 2 * inter row
        matmul_rows_strided(u, m, inter, 2 * inter, l.down, x, l.down_bias, pool);
      else
        matmul(u, m, l.down, x, pool, {.bias = l.down_bias.empty() ? nullptr : l.down_bias.data(), .accumulate = true});
    }
    s.length_ += m;
    if (n_logits == 0) return;
    const float* last = x + (m - n_logits) * d;
    norm(final_norm_, last, h, n_logits);
    matmul(h, n_logits, lm_head_, logits, pool);
  }

  static size_t kv_element_size(KvType type) { return type == KvType::f32 ? sizeof(float) : sizeof(uint16_t); }

  // n values into a cache of `type`, at element `at`.
  static void store_kv(const float* src, size_t n, KvType type, std::byte* cache, size_t at) {
    if (type == KvType::f32) std::memcpy(reinterpret_cast<float*>(cache) + at, src, n * sizeof(float));
    else detail::f32_to_f16(src, reinterpret_cast<uint16_t*>(cache) + at, n);
  }

  // down-projection of activations stored with a row stride wider than their width.
  void matmul_rows_strided(float* u, size_t m, size_t width, size_t stride, const PackedMatrix& down, float* x,
                           const std::vector<float>& bias, ThreadPool& pool) const {
    for (size_t r = 1; r < m; ++r) std::memmove(u + r * width, u + r * stride, width * sizeof(float));
    matmul(u, m, down, x, pool, {.bias = bias.empty() ? nullptr : bias.data(), .accumulate = true});
  }

  ModelConfig config_;
  Weights weights_;  // kept: embeddings are read from the mapping, not copied
  WeightFormat format_ = WeightFormat::f32;
  TensorView embed_, positions_;
  std::vector<detail::DecoderLayer> layers_;
  detail::Norm final_norm_;
  PackedMatrix lm_head_;
  std::vector<float> inv_freq_;  // empty: no rotary embedding
  double load_seconds_ = 0;
};

inline DecoderState::DecoderState(const DecoderModel& model, size_t capacity) {
  const auto& c = model.config();
  if (capacity == 0 || capacity > size_t(c.max_position_embeddings))
    detail::fail(Error::Kind::input, "a session of ", capacity, " positions does not fit max_position_embeddings = ",
                 c.max_position_embeddings);
  capacity_ = capacity;
  kv_dim_ = model.kv_dim();
  const size_t layers = size_t(c.num_hidden_layers), chunk = DecoderModel::kChunk, d = size_t(c.hidden_size);
  const size_t qkv = model.q_dim() + 2 * kv_dim_, inter = size_t(c.intermediate_size);
  kv_type_ = model.kv_type();
  k_.assign(layers * capacity * kv_dim_ * DecoderModel::kv_element_size(kv_type_), std::byte{0});
  v_.assign(k_.size(), std::byte{0});
  x_.assign(chunk * d, 0.0f);
  h_.assign(chunk * std::max(d, model.q_dim()), 0.0f);
  qkv_.assign(chunk * qkv, 0.0f);
  attn_.assign(chunk * model.q_dim(), 0.0f);
  mlp_.assign(chunk * 2 * inter, 0.0f);
  rope_.assign(chunk * size_t(c.head_dim), 0.0f);
}

}  // namespace zest::detail
