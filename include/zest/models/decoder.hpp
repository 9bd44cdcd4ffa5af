// Decoder-only language models: GPT-2 and the LLaMA-like families (LLaMA, Mistral, Qwen2/3,
// Gemma 2/3, Phi-3, SmolLM3, OLMo 2, Granite). One forward pass; what differs between the
// families is data read from config.json (ModelConfig, DecoderLayout) and the tensors it names:
//
//   x = embed(ids) * embedding_scale [+ position embedding]          GPT-2 adds learned positions
//   per layer:  h = attn_in(x);  q,k,v = h Wqkv [+ b]                  LayerNorm (GPT-2) or RMSNorm
//               q, k = qk_norm(q, k);  rotate q, k (RoPE);  cache k, v  per head or whole; the layer's table
//               a = attend(q, cache) Wo [+ b]                          causal, GQA, window, soft-cap
//               x += residual_scale * attn_out(a)                     attn_out: Gemma's and OLMo 2's post-norm
//               h = mlp_in(x);  x += residual_scale * mlp_out(act(h Wup [+ b]) Wdown [+ b])
//   logits = softcap(final_norm(x) Wlm / logits_divisor)                only for the positions asked for
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
#include <utility>
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
#include "zest/models/decoder_weights.hpp"
#include "zest/models/kv_cache.hpp"
#include "zest/models/options.hpp"
#include "zest/models/rope_tables.hpp"
#include "zest/models/weight_reader.hpp"
#include "zest/runtime/thread_pool.hpp"

namespace zest::detail {


class DecoderModel;
class DecoderState;

// The buffers of one forward pass over up to DecoderModel::kChunk rows: activations,
// projections, rotary angles. Each DecoderState holds one; a batched decode step takes its own.
struct DecoderScratch {
  explicit DecoderScratch(const DecoderModel& model);
  std::vector<float> x, h, y, qkv, attn, mlp, rope;
  std::vector<float> freq;  // a dynamic-NTK table for the current length
  // A batched step's bookkeeping: the rows that run together, and their logits when some ran alone.
  std::vector<DecoderState*> batch;
  std::vector<int32_t> batch_ids;
  std::vector<size_t> batch_rows;
  std::vector<float> logits;
  std::vector<DecodeRow> decode_rows;
};

// The rows of one pass: m positions of one sequence from its length on (a prompt's chunk), or
// the next position of each of m sequences (a batched decode step).
struct PassRows {
  DecoderState* one = nullptr;
  size_t seq_len = 0;  // with `one`: the call's last position + 1 (length-dependent rotary tables follow it)
  std::span<DecoderState* const> many;
  DecoderState& state(size_t r) const { return one ? *one : *many[r]; }
  size_t pos(size_t r) const;
  size_t seq_len_of(size_t r) const { return one ? seq_len : pos(r) + 1; }
};

// One sequence: its KV cache (blocks of its own, or of a pool the caller shares out) and the ids
// of the cached positions.
class DecoderState {
 public:
  // A cache of its own for `capacity` positions.
  DecoderState(const DecoderModel& model, size_t capacity);
  // A cache in `pool`'s blocks, which the caller assigns (add_block) before the positions need them.
  DecoderState(const DecoderModel& model, KvBlocks& pool);

  size_t length() const { return length_; }      // positions already in the cache
  size_t capacity() const { return std::min(table_.size() * kKvBlock, max_capacity_); }
  // The ids of the cached positions.
  std::span<const int32_t> ids() const { return std::span(ids_).first(length_); }
  void reset() { length_ = 0; }
  // Forgets positions from `n` on (to re-run a shorter prefix).
  void truncate(size_t n) { length_ = std::min(length_, n); }
  // Grows an own cache to hold `capacity` positions (up to the model's maximum), keeping those held.
  void reserve(size_t capacity);

  // The block table, in position order.
  std::span<const int32_t> blocks() const { return table_; }
  // Appends a block of the pool (a shared cache only).
  void add_block(int32_t id);
  // Takes positions [length, length + ids.size()) as already cached in the blocks held (a prefix
  // another sequence computed).
  void adopt(std::span<const int32_t> ids);
  // Empties the sequence and returns its blocks to the caller.
  std::vector<int32_t> release_blocks() {
    length_ = 0;
    return std::exchange(table_, {});
  }

 private:
  friend class DecoderModel;
  friend struct PassRows;
  KvView keys(size_t li) const { return blocks_->view(li, false, table_); }
  KvView values(size_t li) const { return blocks_->view(li, true, table_); }
  DecoderScratch& scratch(const DecoderModel& model) {
    if (!scratch_) scratch_ = std::make_unique<DecoderScratch>(model);
    return *scratch_;
  }

  size_t length_ = 0, max_capacity_ = 0;
  std::unique_ptr<KvBlocks> own_;    // a cache of its own, or none
  KvBlocks* blocks_ = nullptr;       // own_ or the shared pool
  std::vector<int32_t> table_;
  std::unique_ptr<DecoderScratch> scratch_;  // made on the first forward() (a batch brings its own)
  std::vector<int32_t> ids_;         // the cached positions' ids: LongRoPE's recompute reads them
};

class DecoderModel {
 public:
  // Positions processed per pass: bounds the scratch of a long prompt.
  static constexpr size_t kChunk = 128;
  // int8 weights in blocks of 32 inputs, activations with a residual level: generation feeds
  // each token's error into the next, and W8A8 per row costs 2-3x the KL target (1e-3) on the
  // sharp test models (tools/reference/int8_simulation.py).
  static constexpr Int8Scheme kInt8{.group = 32, .activation_residual = true};
  // int4 weights in blocks of 32 inputs with one activation level: the weights' error dominates
  // (a residual level: demo model KL 1.15e-3 -> 0.98e-3, the sharp models within 2%; blocks of
  // 64 raised KL up to 27%). Only the MLP goes to int4; attention (q/k/v and output) and the LM
  // head stay int8, as llama.cpp's Q4_K_M keeps attn_v at 6 bits. Against all layers at int4
  // (bench/LOG.md, "int4"): attention at int8 costs a 1B LLaMA 15% more bytes (617 -> 701 MB,
  // int8 1103) and cuts the sharp models' KL 2.2-3.9x (llama-odd-gqa 0.19 -> 0.066, olmo2 0.108
  // -> 0.028), the demo model's 1.7x, more than down_proj at int8 (+22% bytes, KL -8-34%) or
  // asymmetric blocks with an f16 minimum (+11%, KL 0-48%); an int4 head multiplied the demo
  // model's KL by 5.3.
  static constexpr Int8Scheme kInt4{.group = 32, .activation_residual = false};

  // Where each Linear weight goes for the compute dtype's weight format.
  static DecoderFormats linear_formats(WeightFormat format) {
    const LinearFormat same{format, kInt8};
    if (format != WeightFormat::int4) return {same, same, same, same, same};
    const LinearFormat int8{WeightFormat::int8, kInt8}, int4{WeightFormat::int4, kInt4};
    return {.qkv = int8, .out = int8, .up = int4, .down = int4, .head = int8};
  }
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
    detail::check_cpu_device(options.device, "DecoderModel");
    if (config_.is_encoder())
      detail::fail(Error::Kind::unsupported, "model_type ", to_string(config_.model_type), " is an encoder, not a decoder model");
    format_ = detail::weight_format(options.dtype);
    const auto begin = std::chrono::steady_clock::now();
    const DecoderFormats formats = linear_formats(format_);
    w_ = config_.model_type == ModelType::gpt2 ? load_gpt2_weights(weights_, config_, formats)
                                               : load_llama_like_weights(weights_, config_, formats);
    // Packing read every weight of the mapping; what decoding reads of it again is a few embedding
    // rows a token. An idle gpt2-small int8 zest-server: 729 MB resident before, 249 after.
    weights_.release_resident();
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
    size_t bytes = w_.lm_head.bytes();
    for (const auto& l : w_.layers) bytes += l.qkv.bytes() + l.out.bytes() + l.up.bytes() + l.down.bytes();
    return bytes;
  }

  // Bytes of KV cache a decode step reads per cached position (keys and values of every layer).
  size_t kv_bytes_per_position() const {
    return w_.layers.size() * 2 * kv_dim() * kv_element_size(kv_type());
  }

  // Runs `ids` at positions [state.length(), state.length() + ids.size()) and appends them to the
  // cache. Writes vocab_size() logits for the last position into `logits`, or, with
  // all_positions, ids.size() rows of them.
  void forward(DecoderState& state, std::span<const int32_t> ids, std::span<float> logits, ThreadPool& pool,
               bool all_positions = false) const {
    check_pass(state, ids, "forward");
    const size_t wanted = all_positions ? ids.size() : 1;
    if (logits.size() < wanted * vocab_size())
      detail::fail(Error::Kind::input, "forward: logits buffer holds ", logits.size(), " floats, need ", wanted * vocab_size());
    DecoderScratch& scratch = state.scratch(*this);
    if (crosses_longrope_switch(state, ids.size())) {
      // Phi-3's generate recomputes the whole sequence with the long factors when a call takes it
      // past original_max_position_embeddings (Phi3ForCausalLM.prepare_inputs_for_generation):
      // the cached keys were rotated with the short ones. Once a sequence.
      std::vector<int32_t> all(state.ids_.begin(), state.ids_.begin() + ptrdiff_t(state.length_));
      all.insert(all.end(), ids.begin(), ids.end());
      state.reset();
      std::vector<float> all_logits(all_positions ? all.size() * vocab_size() : vocab_size());
      run(state, all, all.size(), all_logits.data(), all_positions, scratch, pool);
      std::copy(all_logits.end() - ptrdiff_t(wanted * vocab_size()), all_logits.end(), logits.begin());
      return;
    }
    run(state, ids, state.length_ + ids.size(), logits.data(), all_positions, scratch, pool);
  }

  // A part of a prompt, for a scheduler that prefills in pieces: `ids` at the state's next
  // positions, as a piece of one call that ends at position call_end - 1 (length-dependent rotary
  // tables follow it, as they would for the whole prompt at once). The last position's logits go
  // to `logits` unless it is empty.
  void forward_part(DecoderState& state, std::span<const int32_t> ids, size_t call_end, std::span<float> logits,
                    DecoderScratch& scratch, ThreadPool& pool) const {
    check_pass(state, ids, "forward_part");
    if (call_end < state.length_ + ids.size() || call_end > state.capacity())
      detail::fail(Error::Kind::input, "forward_part: the call's end ", call_end, " is outside [", state.length_ + ids.size(),
                   ", ", state.capacity(), "]");
    if (!logits.empty() && logits.size() < vocab_size())
      detail::fail(Error::Kind::input, "forward_part: logits buffer holds ", logits.size(), " floats, need ", vocab_size());
    run(state, ids, call_end, logits.empty() ? nullptr : logits.data(), false, scratch, pool);
  }

  // One decode step of many sequences: ids[i] at the next position of *states[i], its logits in
  // row i of `logits` (vocab_size() floats a row). The Linear layers run as GEMMs over the rows,
  // reading each weight once for the batch; attention runs per sequence over its own cache.
  void forward_batch(std::span<DecoderState* const> states, std::span<const int32_t> ids, std::span<float> logits,
                     DecoderScratch& scratch, ThreadPool& pool) const {
    if (states.size() != ids.size()) detail::fail(Error::Kind::input, "forward_batch: ", states.size(), " states for ", ids.size(), " ids");
    if (logits.size() < ids.size() * vocab_size())
      detail::fail(Error::Kind::input, "forward_batch: logits buffer holds ", logits.size(), " floats, need ", ids.size() * vocab_size());
    auto& batch = scratch.batch;  // the rows that run together: the others run alone
    auto& batch_ids = scratch.batch_ids;
    auto& rows = scratch.batch_rows;
    batch.clear(), batch_ids.clear(), rows.clear();
    for (size_t i = 0; i < states.size(); ++i) {
      DecoderState& s = *states[i];
      if (std::find(states.begin(), states.begin() + ptrdiff_t(i), &s) != states.begin() + ptrdiff_t(i))
        detail::fail(Error::Kind::input, "forward_batch: a sequence appears twice in one step");
      if (s.length_ == 0) detail::fail(Error::Kind::input, "forward_batch: a sequence without a prompt (prefill it first)");
      if (crosses_longrope_switch(s, 1)) {  // its recompute of the whole sequence, alone
        forward(s, ids.subspan(i, 1), logits.subspan(i * vocab_size(), vocab_size()), pool);
        continue;
      }
      check_pass(s, ids.subspan(i, 1), "forward_batch");
      batch.push_back(&s), batch_ids.push_back(ids[i]), rows.push_back(i);
    }
    const bool in_place = batch.size() == states.size();  // row r's logits are row r of `logits`
    if (!in_place) scratch.logits.resize(std::min(kChunk, batch.size()) * vocab_size());
    for (size_t done = 0; done < batch.size(); done += kChunk) {
      const size_t m = std::min(kChunk, batch.size() - done);
      const PassRows pass{.many = std::span<DecoderState* const>(batch).subspan(done, m)};
      float* out = in_place ? logits.data() + done * vocab_size() : scratch.logits.data();
      run_chunk(scratch, pass, std::span<const int32_t>(batch_ids).subspan(done, m), out, m, pool);
      if (!in_place)
        for (size_t r = 0; r < m; ++r)
          std::copy_n(out + r * vocab_size(), vocab_size(), logits.data() + rows[done + r] * vocab_size());
    }
  }

 private:
  friend class DecoderState;

  // Throws unless `ids` fit the state's cache and the vocabulary.
  void check_pass(const DecoderState& state, std::span<const int32_t> ids, const char* who) const {
    if (ids.empty()) detail::fail(Error::Kind::input, who, ": no token ids");
    if (state.length_ + ids.size() > state.capacity())
      detail::fail(Error::Kind::input, who, ": ", state.length_ + ids.size(), " positions exceed the session's capacity of ",
                   state.capacity(), " (the model's maximum is ", config_.max_sequence_length(), ")");
    for (int32_t id : ids)
      if (id < 0 || id >= config_.vocab_size)
        detail::fail(Error::Kind::input, "token id ", id, " is outside the vocabulary of ", config_.vocab_size);
  }

  bool crosses_longrope_switch(const DecoderState& state, size_t n) const {
    if (w_.ropes.empty() || config_.ropes.front().type != RopeType::longrope || state.length_ == 0) return false;
    const size_t original = size_t(config_.ropes.front().original_max_position_embeddings.value_or(config_.max_position_embeddings));
    return state.length_ <= original && state.length_ + n > original;
  }

  // Runs `ids` in chunks of kChunk as (part of) one call ending at position call_end - 1:
  // rotary tables that depend on the length (dynamic NTK, LongRoPE) follow it, as transformers'
  // per-call update does, in every chunk. Logits of the last position, or with all_positions of
  // every one, into `logits` unless it is null.
  void run(DecoderState& state, std::span<const int32_t> ids, size_t call_end, float* logits, bool all_positions,
           DecoderScratch& scratch, ThreadPool& pool) const {
    const PassRows pass{.one = &state, .seq_len = call_end, .many = {}};
    for (size_t done = 0; done < ids.size(); done += kChunk) {
      const size_t m = std::min(kChunk, ids.size() - done);
      const bool last_chunk = done + m == ids.size();
      if (all_positions) run_chunk(scratch, pass, ids.subspan(done, m), logits + done * vocab_size(), m, pool);
      else if (last_chunk && logits) run_chunk(scratch, pass, ids.subspan(done, m), logits, 1, pool);
      else run_chunk(scratch, pass, ids.subspan(done, m), nullptr, 0, pool);
    }
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

  // `rows` rows of the hidden state through norm `n` into y, split across the pool.
  void norm_rows(const detail::Norm& n, const float* x, float* y, size_t rows, ThreadPool& pool) const {
    pool.parallel_for(rows, kRowGrain, [&](size_t r0, size_t r1) {
      norm(n, x + r0 * size_t(config_.hidden_size), y + r0 * size_t(config_.hidden_size), r1 - r0);
    });
  }

  // The MLP's activation over `rows` rows of up-projections (bias already added for gated MLPs),
  // leaving intermediate_size values per row at the start of each row's up-projection.
  void activate(float* u, size_t rows, const detail::DecoderLayer& l) const {
    const size_t inter = size_t(config_.intermediate_size);
    if (config_.model_type != ModelType::gpt2) {
      for (size_t r = 0; r < rows; ++r) {
        float* row = u + r * 2 * inter;
        switch (config_.hidden_act) {
          case Activation::silu: silu_mul(row, row + inter, row, inter); break;
          case Activation::gelu_tanh: gelu_tanh_mul(row, row + inter, row, inter); break;
          default: detail::fail(Error::Kind::unsupported, "a gated MLP with an activation other than silu or gelu_tanh");
        }
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

  // x += residual_scale * post(in W + b) over m rows: a block's output projection and its residual
  // add, in one accumulating matmul when there is no post-norm and no scale (most families).
  void add_block_output(const float* in, size_t m, const PackedMatrix& w, const std::vector<float>& bias,
                        const detail::Norm& post, float* x, float* y, ThreadPool& pool) const {
    const float* b = bias.empty() ? nullptr : bias.data();
    const double scale = config_.layout.residual_scale;
    if (post.weight.empty() && scale == 1) {
      matmul(in, m, w, x, pool, {.bias = b, .accumulate = true});
      return;
    }
    matmul(in, m, w, y, pool, {.bias = b});
    if (!post.weight.empty()) norm_rows(post, y, y, m, pool);
    const size_t n = m * size_t(config_.hidden_size);
    if (scale == 1) add(x, y, n);
    else for (size_t i = 0; i < n; ++i) x[i] += float(scale) * y[i];
  }

  // Qwen3's and Gemma 3's per-head RMSNorm of q and k, or OLMo 2's over the whole projection, on
  // one position's fused q/k/v row.
  void normalize_qk(const detail::DecoderLayer& l, float* row) const {
    const auto& c = config_;
    const size_t hd = size_t(c.head_dim), heads = size_t(c.num_attention_heads), kv_heads = size_t(c.num_key_value_heads);
    const float eps = float(c.norm_eps);
    if (c.layout.qk_norm == QkNorm::per_head) {
      rms_norm(row, row, heads, hd, l.q_norm.data(), eps);
      rms_norm(row + q_dim(), row + q_dim(), kv_heads, hd, l.k_norm.data(), eps);
    } else {
      rms_norm(row, row, 1, q_dim(), l.q_norm.data(), eps);
      rms_norm(row + q_dim(), row + q_dim(), 1, kv_dim(), l.k_norm.data(), eps);
    }
  }

  // One pass over m <= kChunk rows (see PassRows); logits of the last `n_logits` of them into
  // `logits`.
  void run_chunk(DecoderScratch& sc, const PassRows& rows, std::span<const int32_t> ids, float* logits, size_t n_logits,
                 ThreadPool& pool) const {
    const auto& c = config_;
    const size_t m = ids.size(), d = size_t(c.hidden_size), hd = size_t(c.head_dim);
    const size_t qd = q_dim(), kvd = kv_dim(), qkv_cols = qd + 2 * kvd, inter = size_t(c.intermediate_size);
    const bool gated = c.model_type != ModelType::gpt2;
    float *x = sc.x.data(), *h = sc.h.data(), *y = sc.y.data(), *qkv = sc.qkv.data(), *attn = sc.attn.data(),
          *u = sc.mlp.data();

    const float embedding_scale = float(c.layout.embedding_scale);
    for (size_t r = 0; r < m; ++r) {
      embedding_row(w_.embed, ids[r], x + r * d);
      if (embedding_scale != 1) for (size_t i = 0; i < d; ++i) x[r * d + i] *= embedding_scale;
      if (w_.positions.raw()) {
        float* pe = h;  // scratch for the position row
        embedding_row(w_.positions, int64_t(rows.pos(r)), pe);
        add(x + r * d, pe, d);
      }
    }
    // Rotary angles of the chunk's positions, once per table for all layers: cos then sin,
    // rotary_dim / 2 each, in hd floats per position and table.
    for (size_t t = 0; t < w_.ropes.size(); ++t) {
      const detail::RopeTable& table = w_.ropes[t];
      const size_t half = table.rotary_dim() / 2;
      const float scaling = table.attention_scaling();
      for (size_t r = 0; r < m; ++r) {
        const std::vector<float>& inv_freq = table.inv_freq(rows.seq_len_of(r), sc.freq);
        float* cos = sc.rope.data() + (t * kChunk + r) * hd;
        rope_cos_sin(rows.pos(r), inv_freq.data(), half, cos, cos + half);
        if (scaling != 1) for (size_t i = 0; i < 2 * half; ++i) cos[i] *= scaling;
      }
    }
    const AttentionShape shape_base{size_t(c.num_attention_heads), size_t(c.num_key_value_heads), hd, 0.0f, 0, true,
                                    float(c.layout.attn_logit_softcap)};
    const size_t u_stride = gated ? 2 * inter : inter;  // floats per row of up-projections
    for (size_t li = 0; li < w_.layers.size(); ++li) {
      const detail::DecoderLayer& l = w_.layers[li];
      const float* attn_input = x;
      if (!l.attn_in.weight.empty()) norm_rows(l.attn_in, x, h, m, pool), attn_input = h;
      matmul(attn_input, m, l.qkv, qkv, pool, {.bias = l.qkv_bias.empty() ? nullptr : l.qkv_bias.data()});
      for (size_t r = 0; r < m; ++r) {
        float* row = qkv + r * qkv_cols;
        if (!l.q_norm.empty()) normalize_qk(l, row);
        if (l.rope >= 0) {
          const size_t rot = w_.ropes[size_t(l.rope)].rotary_dim();
          const float* cos = sc.rope.data() + (size_t(l.rope) * kChunk + r) * hd;
          const float* sin = cos + rot / 2;
          rope_rotate_half(row, size_t(c.num_attention_heads), hd, rot, cos, sin);
          rope_rotate_half(row + qd, size_t(c.num_key_value_heads), hd, rot, cos, sin);
        }
        DecoderState& state = rows.state(r);
        for (size_t kh = 0; kh < size_t(c.num_key_value_heads); ++kh) {
          store_kv(row + qd + kh * hd, hd, state.blocks_->row(li, false, state.table_, rows.pos(r), kh));
          store_kv(row + qd + kvd + kh * hd, hd, state.blocks_->row(li, true, state.table_, rows.pos(r), kh));
        }
        std::memcpy(attn + r * qd, row, qd * sizeof(float));  // the queries, gathered for attention
      }
      AttentionShape shape = shape_base;
      shape.scale = l.attn_scale;
      shape.window = l.window;
      // Queries were gathered into attn; the result goes to h (free until the next norm). A
      // batch's rows attend each over its own sequence.
      if (rows.one && m > 1) {
        const DecoderState& state = *rows.one;
        attend_prefill(attn, m, rows.pos(0), state.keys(li), state.values(li), shape, h, pool);
      } else {
        sc.decode_rows.resize(m);
        for (size_t r = 0; r < m; ++r) {
          const DecoderState& state = rows.state(r);
          sc.decode_rows[r] = {attn + r * qd, state.keys(li), state.values(li), rows.pos(r) + 1, h + r * qd};
        }
        attend_decode(sc.decode_rows, shape, pool);
      }
      add_block_output(h, m, l.out, l.out_bias, l.attn_out, x, y, pool);

      const float* mlp_input = x;
      if (!l.mlp_in.weight.empty()) norm_rows(l.mlp_in, x, h, m, pool), mlp_input = h;
      matmul(mlp_input, m, l.up, u, pool, {.bias = gated && !l.up_bias.empty() ? l.up_bias.data() : nullptr});
      pool.parallel_for(m, kRowGrain, [&](size_t r0, size_t r1) { activate(u + r0 * u_stride, r1 - r0, l); });
      if (gated)  // activations sit at the start of each 2 * inter row: make the rows contiguous
        for (size_t r = 1; r < m; ++r) std::memmove(u + r * inter, u + r * 2 * inter, inter * sizeof(float));
      add_block_output(u, m, l.down, l.down_bias, l.mlp_out, x, y, pool);
    }
    for (size_t r = 0; r < m; ++r) rows.state(r).ids_[rows.pos(r)] = ids[r];
    if (rows.one) rows.one->length_ += m;
    else for (size_t r = 0; r < m; ++r) ++rows.state(r).length_;
    if (n_logits == 0) return;
    const float* last = x + (m - n_logits) * d;
    norm(w_.final_norm, last, h, n_logits);
    matmul(h, n_logits, w_.lm_head, logits, pool);
    const size_t n = n_logits * vocab_size();
    if (const float divisor = float(c.layout.logits_divisor); divisor != 1)
      for (size_t i = 0; i < n; ++i) logits[i] /= divisor;
    if (c.layout.final_logit_softcap > 0) soft_cap(logits, n, float(c.layout.final_logit_softcap));
  }

  // n values into a cache row of `type`.
  void store_kv(const float* src, size_t n, std::byte* row) const {
    if (kv_type() == KvType::f32) std::memcpy(row, src, n * sizeof(float));
    else detail::f32_to_f16(src, reinterpret_cast<uint16_t*>(row), n);
  }

  ModelConfig config_;
  Weights weights_;  // kept: embeddings are read from the mapping, not copied
  WeightFormat format_ = WeightFormat::f32;
  DecoderWeights w_;
  double load_seconds_ = 0;
};

inline DecoderScratch::DecoderScratch(const DecoderModel& model) {
  const auto& c = model.config();
  const size_t chunk = DecoderModel::kChunk, d = size_t(c.hidden_size), inter = size_t(c.intermediate_size);
  x.assign(chunk * d, 0.0f);
  h.assign(chunk * std::max(d, model.q_dim()), 0.0f);
  y.assign(chunk * d, 0.0f);
  qkv.assign(chunk * (model.q_dim() + 2 * model.kv_dim()), 0.0f);
  attn.assign(chunk * model.q_dim(), 0.0f);
  mlp.assign(chunk * 2 * inter, 0.0f);
  rope.assign(std::max<size_t>(1, c.ropes.size()) * chunk * size_t(c.head_dim), 0.0f);
}

inline size_t PassRows::pos(size_t r) const { return one ? one->length_ + r : many[r]->length_; }

inline KvBlocks::Shape kv_shape(const DecoderModel& model) {
  const auto& c = model.config();
  return {size_t(c.num_hidden_layers), size_t(c.num_key_value_heads), size_t(c.head_dim), model.kv_type()};
}

inline DecoderState::DecoderState(const DecoderModel& model, KvBlocks& pool)
    : max_capacity_(model.config().max_sequence_length()), blocks_(&pool) {}

inline DecoderState::DecoderState(const DecoderModel& model, size_t capacity)
    : max_capacity_(model.config().max_sequence_length()) {
  if (capacity == 0 || capacity > max_capacity_)
    detail::fail(Error::Kind::input, "a session of ", capacity, " positions does not fit the model's maximum of ",
                 max_capacity_, " (max_position_embeddings = ", model.config().max_position_embeddings, ")");
  own_ = std::make_unique<KvBlocks>(kv_shape(model), 0);
  blocks_ = own_.get();
  reserve(capacity);
}

inline void DecoderState::reserve(size_t capacity) {
  if (capacity <= this->capacity()) return;
  if (!own_) detail::fail(Error::Kind::input, "reserve: this sequence's blocks come from a shared pool");
  if (capacity > max_capacity_)
    detail::fail(Error::Kind::input, "a session of ", capacity, " positions does not fit the model's maximum of ", max_capacity_);
  const size_t n = (capacity + kKvBlock - 1) / kKvBlock;
  own_->grow(n);
  while (table_.size() < n) table_.push_back(int32_t(table_.size()));
  ids_.resize(table_.size() * kKvBlock, 0);
}

inline void DecoderState::add_block(int32_t id) {
  if (own_) detail::fail(Error::Kind::input, "add_block: this sequence owns its cache");
  if (id < 0 || size_t(id) >= blocks_->size())
    detail::fail(Error::Kind::input, "add_block: block ", id, " is outside the pool of ", blocks_->size());
  table_.push_back(id);
  ids_.resize(table_.size() * kKvBlock, 0);
}

inline void DecoderState::adopt(std::span<const int32_t> ids) {
  if (length_ + ids.size() > capacity())
    detail::fail(Error::Kind::input, "adopt: ", length_ + ids.size(), " positions exceed the blocks held (", capacity(), ")");
  std::copy(ids.begin(), ids.end(), ids_.begin() + ptrdiff_t(length_));
  length_ += ids.size();
}

}  // namespace zest::detail
