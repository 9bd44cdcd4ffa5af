// The decoder on a GPU (LoadOptions::device = Device::cuda(i)): the CPU path's loading (config,
// tensors by their Hugging Face names, the families' layouts) packs the weights to bf16, which
// are unpacked to row-major (and with dtype i8 quantized: int8 weight-only, an f32 scale per 32
// inputs of a row) and copied to one device allocation. Per sequence a CudaState holds
// the KV cache (f32, [layer][k|v][kv_head][capacity][head_dim]) and the activations of up to
// kChunk rows, all in device memory. The forward follows DecoderModel::run_chunk (decoder.hpp):
//
//   x = embed(ids) [+ positions]                                       bf16 tables, f32 activations
//   per layer:  h = norm(x);  qkv = h Wqkv + b;  rope(q, k);  cache k, v
//               x += attention(q, cache) Wo + b                         split-K over the cache
//               h = norm(x);  x += act(h Wup + b) Wdown + b             gated: silu(gate) * up
//   logits = final_norm(x_last) Wlm
//
// Linear layers: a prompt's rows through cuBLASLt (bf16 in, f32 accumulate and out), a decode
// step's one row through zest's GEMV; int8 weights through the int8 GEMV for every row (prompts
// too, for now: correct, not fast). A decode step is captured once per sequence as a CUDA graph
// (its position and id are read from pinned memory), so a token costs one graph launch.
// Features of the families this path does not implement fail at load (fail closed).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <span>
#include <vector>

#include "zest/backend/cuda/check.hpp"
#include "zest/backend/cuda/device.hpp"
#include "zest/backend/cuda/kernels.hpp"
#include "zest/backend/cuda/memory.hpp"
#include "zest/error.hpp"
#include "zest/io/config.hpp"
#include "zest/io/safetensors.hpp"
#include "zest/kernels/half.hpp"
#include "zest/models/decoder_weights.hpp"
#include "zest/models/options.hpp"
#include "zest/runtime/thread_pool.hpp"

namespace zest::detail {

class CudaState;

class CudaDecoder {
 public:
  // Rows per pass: a 512-token prompt in one, so its GEMMs are 512 rows tall (the CPU's 128 would
  // leave cuBLASLt a quarter of the work per call).
  static constexpr size_t kChunk = 512;
  static constexpr size_t kWorkspaceBytes = 32 << 20;   // cuBLASLt's scratch (its Hopper kernels ask for up to 32 MiB)
  static constexpr size_t kNone = ~size_t(0);            // an absent tensor's offset

  static CudaDecoder load(const std::filesystem::path& dir, const LoadOptions& options) {
    return CudaDecoder(load_model_config(dir), Weights::open(dir), options);
  }

  CudaDecoder(ModelConfig config, const Weights& weights, const LoadOptions& options) : config_(std::move(config)) {
    check_device(options.device);
    if (options.device.kind != Device::Kind::cuda) fail(Error::Kind::input, "CudaDecoder: the device is not Device::cuda");
    device_ = options.device.index;
    ZEST_CUDA_CHECK(cudaSetDevice(device_));
    if (options.dtype != DType::bf16 && options.dtype != DType::i8)
      fail(Error::Kind::unsupported, "Device::cuda keeps the weights in bf16 or int8: load with dtype bf16 or int8, not ",
           options.dtype);
    int8_ = options.dtype == DType::i8;
    check_supported();
    const LinearFormat bf16{WeightFormat::bf16, {}};
    const DecoderFormats formats{bf16, bf16, bf16, bf16, bf16};
    const DecoderWeights w = config_.model_type == ModelType::gpt2 ? load_gpt2_weights(weights, config_, formats)
                                                                   : load_llama_like_weights(weights, config_, formats);
    upload(w);
  }

  const ModelConfig& config() const { return config_; }
  int device() const { return device_; }
  size_t vocab_size() const { return size_t(config_.vocab_size); }
  size_t hidden() const { return size_t(config_.hidden_size); }
  size_t q_dim() const { return size_t(config_.num_attention_heads * config_.head_dim); }
  size_t kv_dim() const { return size_t(config_.num_key_value_heads * config_.head_dim); }
  size_t inter() const { return size_t(config_.intermediate_size); }
  bool gated() const { return config_.model_type != ModelType::gpt2; }
  // Bytes of weights a decode step streams (the Linear layers and the LM head, with int8's scales).
  size_t weight_bytes() const { return weight_bytes_; }
  // Bytes of KV cache a decode step reads per cached position (f32 keys and values, every layer).
  size_t kv_bytes_per_position() const { return size_t(config_.num_hidden_layers) * 2 * kv_dim() * sizeof(float); }

  // Runs `ids` at positions [state.length(), state.length() + ids.size()) and writes the last
  // position's vocab_size() logits into `logits` (the contract of DecoderModel::forward; the
  // pool is unused).
  void forward(CudaState& state, std::span<const int32_t> ids, std::span<float> logits, ThreadPool& pool) const;

 private:
  friend class CudaState;
  // A Linear weight, rows x cols row-major: bf16, or int8 with scales (rows x cols / kInt8Group f32).
  struct Matrix {
    size_t weights = kNone, scales = kNone;
    size_t rows = 0, cols = 0;
  };
  struct Layer {
    size_t attn_in_w = kNone, attn_in_b = kNone, mlp_in_w = kNone, mlp_in_b = kNone;
    Matrix qkv, out, up, down;
    size_t qkv_bias = kNone, out_bias = kNone, up_bias = kNone, down_bias = kNone;
    float attn_scale = 0;
    bool rope = false;
  };

  // What the kernels do not implement, refused by name rather than computed differently.
  void check_supported() const {
    const auto& c = config_;
    const auto& l = c.layout;
    auto refuse = [&](const char* what) {
      fail(Error::Kind::unsupported, "Device::cuda does not support ", what, " (model_type ", to_string(c.model_type), ")");
    };
    if (c.model_type != ModelType::gpt2) {
      if (!l.attn_out.empty() || !l.mlp_out.empty()) refuse("post-norms after attention or the MLP");
      if (l.attn_in.empty() || l.mlp_in.empty()) refuse("a layer without an input norm");
      if (l.qk_norm != QkNorm::none) refuse("q/k norms");
      if (c.hidden_act != Activation::silu && c.hidden_act != Activation::gelu_tanh) refuse("this gated activation");
    }
    if (l.embedding_scale != 1) refuse("an embedding scale");
    if (l.residual_scale != 1) refuse("a residual scale");
    if (l.logits_divisor != 1) refuse("a logits divisor");
    if (l.attn_logit_softcap != 0 || l.final_logit_softcap != 0) refuse("logit soft-capping");
    for (const auto& layer : c.layers)
      if (layer.window) refuse("sliding-window attention");
    if (c.ropes.size() > 1) refuse("several rotary tables");
    if (!c.ropes.empty() && (c.ropes.front().type == RopeType::dynamic || c.ropes.front().type == RopeType::longrope))
      refuse("length-dependent rotary scaling (dynamic NTK, LongRoPE)");
    if (c.head_dim > cuda::kMaxHeadDim) refuse("head_dim above 256");
    if (c.num_attention_heads % c.num_key_value_heads != 0) refuse("heads that are not a multiple of the kv heads");
  }

  // A row-major copy of a bf16 PackedMatrix (panels of 32 rows, input pairs adjacent).
  static std::vector<uint16_t> row_major(const PackedMatrix& p) {
    const size_t rows = p.rows(), cols = p.cols();
    std::vector<uint16_t> out(rows * cols);
    for (size_t r = 0; r < rows; ++r) {
      const uint16_t* panel = p.half_panel(r / kPanel);
      const size_t j = r % kPanel;
      for (size_t k = 0; k < cols; ++k) out[r * cols + k] = panel[(k / 2) * 2 * kPanel + j * 2 + k % 2];
    }
    return out;
  }

  // Symmetric int8 per group of kInt8Group inputs: scale = max |w| / 127, q = round(w / scale).
  static void quantize_int8(const std::vector<uint16_t>& bf16, size_t rows, size_t cols, std::vector<int8_t>& q,
                            std::vector<float>& scales) {
    constexpr size_t group = cuda::kInt8Group;
    q.assign(rows * cols, 0);
    scales.assign(rows * cols / group, 0.0f);
    for (size_t g = 0; g < rows * cols / group; ++g) {
      float amax = 0;
      for (size_t i = 0; i < group; ++i) amax = std::max(amax, std::abs(bf16_to_f32(bf16[g * group + i])));
      if (amax == 0) continue;
      scales[g] = amax / 127;
      for (size_t i = 0; i < group; ++i)
        q[g * group + i] = int8_t(std::clamp(std::nearbyint(bf16_to_f32(bf16[g * group + i]) / scales[g]), -127.0f, 127.0f));
    }
  }

  // A [rows x hidden] table of the checkpoint's dtype as bf16.
  std::vector<uint16_t> bf16_table(const TensorView& t) const {
    const size_t n = size_t(t.shape().numel());
    std::vector<uint16_t> out(n);
    const auto* bytes = static_cast<const std::byte*>(t.raw());
    if (t.dtype() == DType::bf16) {
      std::memcpy(out.data(), bytes, n * 2);
      return out;
    }
    std::vector<float> f(n);
    if (t.dtype() == DType::f32) {
      std::memcpy(f.data(), bytes, n * 4);
    } else {
      std::memcpy(out.data(), bytes, n * 2);
      f16_to_f32(out.data(), f.data(), n);
    }
    f32_to_bf16(f.data(), out.data(), n);
    return out;
  }

  // Lays every tensor out in one host image, checks it fits and copies it to the device once.
  void upload(const DecoderWeights& w) {
    std::vector<std::byte> image;
    auto add = [&](const void* data, size_t bytes) {
      if (bytes == 0) return kNone;
      const size_t at = arena_.reserve(bytes);
      image.resize(arena_.size());
      std::memcpy(image.data() + at, data, bytes);
      return at;
    };
    auto add_floats = [&](const std::vector<float>& v) { return add(v.data(), v.size() * sizeof(float)); };
    auto add_matrix = [&](const PackedMatrix& p) {
      Matrix m{.rows = p.rows(), .cols = p.cols()};
      const std::vector<uint16_t> bf16 = row_major(p);
      if (!int8_) {
        weight_bytes_ += bf16.size() * 2;
        m.weights = add(bf16.data(), bf16.size() * 2);
        return m;
      }
      if (m.cols % cuda::kInt8Group != 0)
        fail(Error::Kind::unsupported, "int8 weights on Device::cuda need in-features a multiple of ", cuda::kInt8Group,
             "; a ", m.rows, " x ", m.cols, " weight has not");
      std::vector<int8_t> q;
      std::vector<float> scales;
      quantize_int8(bf16, m.rows, m.cols, q, scales);
      weight_bytes_ += q.size() + scales.size() * sizeof(float);
      m.weights = add(q.data(), q.size());
      m.scales = add(scales.data(), scales.size() * sizeof(float));
      return m;
    };
    {
      const std::vector<uint16_t> e = bf16_table(w.embed);
      embed_ = add(e.data(), e.size() * 2);
    }
    if (w.positions.raw()) {
      const std::vector<uint16_t> p = bf16_table(w.positions);
      positions_ = add(p.data(), p.size() * 2);
    }
    for (const DecoderLayer& l : w.layers) {
      Layer d;
      d.attn_in_w = add_floats(l.attn_in.weight), d.attn_in_b = add_floats(l.attn_in.bias);
      d.mlp_in_w = add_floats(l.mlp_in.weight), d.mlp_in_b = add_floats(l.mlp_in.bias);
      d.qkv = add_matrix(l.qkv), d.out = add_matrix(l.out), d.up = add_matrix(l.up), d.down = add_matrix(l.down);
      d.qkv_bias = add_floats(l.qkv_bias), d.out_bias = add_floats(l.out_bias);
      d.up_bias = add_floats(l.up_bias), d.down_bias = add_floats(l.down_bias);
      d.attn_scale = l.attn_scale;
      d.rope = l.rope >= 0 && !w.ropes.empty();
      layers_.push_back(d);
    }
    final_w_ = add_floats(w.final_norm.weight), final_b_ = add_floats(w.final_norm.bias);
    head_ = add_matrix(w.lm_head);
    if (!w.ropes.empty()) {
      std::vector<float> scratch;
      rotary_dim_ = w.ropes.front().rotary_dim();
      rope_scaling_ = w.ropes.front().attention_scaling();
      inv_freq_ = add_floats(w.ropes.front().inv_freq(1, scratch));  // static tables: any length
    }
    check_fits_on_device(arena_.size(), "the model's weights");
    arena_.allocate();
    ZEST_CUDA_CHECK(cudaMemcpy(arena_.at<void>(0), image.data(), image.size(), cudaMemcpyHostToDevice));
  }

  template <typename T>
  const T* at(size_t offset) const { return offset == kNone ? nullptr : arena_.at<const T>(offset); }

  // Y (+)= X W^T + bias over m rows of activations (f32) in `x`.
  void linear(const CudaState& s, const float* x, size_t m, const Matrix& w, size_t bias, float* y, bool accumulate) const;
  // One pass over m <= kChunk rows at positions [state.length(), +m), whose ids and position the
  // state's device staging holds; attention over `splits` splits of the cache; with `logits`, the
  // last row's into the state's pinned logits.
  void run_chunk(const CudaState& s, size_t m, int splits, bool logits) const;

  ModelConfig config_;
  int device_ = 0;
  DeviceArena arena_;
  bool int8_ = false;
  size_t embed_ = kNone, positions_ = kNone, final_w_ = kNone, final_b_ = kNone, inv_freq_ = kNone;
  Matrix head_;
  std::vector<Layer> layers_;
  size_t rotary_dim_ = 0;
  float rope_scaling_ = 1;
  size_t weight_bytes_ = 0;
};

// One sequence on the device: its KV cache, the activations of a pass, the staging of ids and
// logits in pinned memory, its stream and its captured decode step.
class CudaState {
 public:
  CudaState(const CudaDecoder& model, size_t capacity)
      : model_(&model), capacity_(capacity), splits_(int((capacity + cuda::kAttentionSplit - 1) / cuda::kAttentionSplit)) {
    const auto& c = model.config();
    if (capacity == 0 || capacity > c.max_sequence_length())
      fail(Error::Kind::input, "a session of ", capacity, " positions does not fit the model's maximum of ",
           c.max_sequence_length(), " (max_position_embeddings = ", c.max_position_embeddings, ")");
    ZEST_CUDA_CHECK(cudaSetDevice(model.device()));
    const size_t chunk = CudaDecoder::kChunk, d = model.hidden(), qd = model.q_dim(), kvd = model.kv_dim();
    const size_t heads = size_t(c.num_attention_heads), hd = size_t(c.head_dim), inter = model.inter();
    const size_t widest = std::max({d, qd, inter});
    kv_ = arena_.reserve(size_t(c.num_hidden_layers) * 2 * capacity * kvd * sizeof(float));
    x_ = arena_.reserve(chunk * d * 4);
    h_ = arena_.reserve(chunk * std::max(d, qd) * 4);
    qkv_ = arena_.reserve(chunk * (qd + 2 * kvd) * 4);
    attn_ = arena_.reserve(chunk * qd * 4);
    u_ = arena_.reserve(chunk * (model.gated() ? 2 : 1) * inter * 4);
    act_ = arena_.reserve(chunk * inter * 4);
    bf16_ = arena_.reserve(chunk * widest * 2);
    partial_ = arena_.reserve(chunk * heads * size_t(splits_) * (hd + 2) * 4);
    logits_ = arena_.reserve(model.vocab_size() * 4);
    staging_ = arena_.reserve((1 + chunk) * 4);
    workspace_ = arena_.reserve(CudaDecoder::kWorkspaceBytes);
    check_fits_on_device(arena_.size(), "a sequence's KV cache and activations");
    arena_.allocate();
    host_ = pinned_alloc((1 + chunk) * 4 + model.vocab_size() * 4);
    stream_ = make_stream();
    cublas_ = make_cublaslt();
    ids_.resize(capacity);
  }

  size_t length() const { return length_; }
  size_t capacity() const { return capacity_; }
  std::span<const int32_t> ids() const { return std::span(ids_).first(length_); }

 private:
  friend class CudaDecoder;
  template <typename T>
  T* at(size_t offset) const { return arena_.at<T>(offset); }
  // Layer li's keys (values: + capacity * kv_dim).
  float* keys(size_t li) const { return at<float>(kv_) + li * 2 * capacity_ * model_->kv_dim(); }
  float* values(size_t li) const { return keys(li) + capacity_ * model_->kv_dim(); }
  // Pinned: [position, ids...] of the next pass, then the logits.
  int32_t* host_staging() const { return static_cast<int32_t*>(host_.get()); }
  float* host_logits() const { return reinterpret_cast<float*>(host_staging() + 1 + CudaDecoder::kChunk); }
  const int32_t* pos0() const { return at<int32_t>(staging_); }
  const int32_t* dev_ids() const { return at<int32_t>(staging_) + 1; }

  const CudaDecoder* model_;
  size_t capacity_, length_ = 0;
  int splits_;  // of the whole capacity: the captured decode step's attention grid
  DeviceArena arena_;
  size_t kv_, x_, h_, qkv_, attn_, u_, act_, bf16_, partial_, logits_, staging_, workspace_;
  PinnedMemory host_;
  CudaStream stream_;
  CublasLt cublas_;
  CudaGraphExec decode_step_;
  std::vector<int32_t> ids_;
};

inline void CudaDecoder::linear(const CudaState& s, const float* x, size_t m, const Matrix& w, size_t bias, float* y,
                                bool accumulate) const {
  cudaStream_t stream = s.stream_.get();
  const int n = int(w.rows), k = int(w.cols);
  if (w.scales != kNone) {
    cuda::gemv_int8(at<int8_t>(w.weights), at<float>(w.scales), x, at<float>(bias), y, int(m), n, k, accumulate, stream);
    return;
  }
  if (m == 1) {
    cuda::gemv_bf16(at<uint16_t>(w.weights), x, at<float>(bias), y, 1, n, k, accumulate, stream);
    return;
  }
  uint16_t* xb = s.at<uint16_t>(s.bf16_);
  cuda::to_bf16(x, xb, m * w.cols, stream);
  cuda::gemm_bf16(s.cublas_.get(), xb, at<uint16_t>(w.weights), y, int(m), n, k, accumulate, s.at<void>(s.workspace_),
                  kWorkspaceBytes, stream);
  if (bias != kNone) cuda::add_bias(y, at<float>(bias), int(m), n, stream);
}

inline void CudaDecoder::run_chunk(const CudaState& s, size_t m, int splits, bool logits) const {
  const auto& c = config_;
  cudaStream_t stream = s.stream_.get();
  const int rows = int(m), d = int(hidden()), qd = int(q_dim()), kvd = int(kv_dim()), qkv_cols = qd + 2 * kvd;
  const int heads = int(c.num_attention_heads), kv_heads = int(c.num_key_value_heads), hd = int(c.head_dim);
  const int n_inter = int(inter()), capacity = int(s.capacity_);
  const float eps = float(c.norm_eps);
  float *x = s.at<float>(s.x_), *h = s.at<float>(s.h_), *qkv = s.at<float>(s.qkv_), *attn = s.at<float>(s.attn_);
  float *u = s.at<float>(s.u_), *act = s.at<float>(s.act_);
  const cuda::Act kind = c.hidden_act == Activation::silu        ? cuda::Act::silu
                         : c.hidden_act == Activation::gelu_tanh ? cuda::Act::gelu_tanh
                         : c.hidden_act == Activation::gelu_erf  ? cuda::Act::gelu_erf
                                                                 : cuda::Act::relu;
  cuda::embed(at<uint16_t>(embed_), at<uint16_t>(positions_), s.dev_ids(), s.pos0(), x, rows, d, stream);
  for (size_t li = 0; li < layers_.size(); ++li) {
    const Layer& l = layers_[li];
    cuda::norm(x, at<float>(l.attn_in_w), at<float>(l.attn_in_b), h, rows, d, eps, stream);
    linear(s, h, m, l.qkv, l.qkv_bias, qkv, false);
    if (l.rope)
      cuda::rope(qkv, at<float>(inv_freq_), s.pos0(), rows, qkv_cols, heads, kv_heads, hd, int(rotary_dim_), rope_scaling_,
                 stream);
    cuda::store_kv(qkv, s.keys(li), s.values(li), s.pos0(), rows, qkv_cols, qd, kv_heads, hd, capacity, stream);
    cuda::attention(qkv, qkv_cols, s.keys(li), s.values(li), s.pos0(), rows, heads, kv_heads, hd, capacity, l.attn_scale,
                    s.at<float>(s.partial_), splits, attn, qd, stream);
    linear(s, attn, m, l.out, l.out_bias, x, true);
    cuda::norm(x, at<float>(l.mlp_in_w), at<float>(l.mlp_in_b), h, rows, d, eps, stream);
    linear(s, h, m, l.up, l.up_bias, u, false);
    cuda::activate(u, act, rows, n_inter, kind, gated(), stream);
    linear(s, act, m, l.down, l.down_bias, x, true);
  }
  if (!logits) return;
  cuda::norm(x + (m - 1) * size_t(d), at<float>(final_w_), at<float>(final_b_), h, 1, d, eps, stream);
  linear(s, h, 1, head_, kNone, s.at<float>(s.logits_), false);
  ZEST_CUDA_CHECK(cudaMemcpyAsync(s.host_logits(), s.at<float>(s.logits_), vocab_size() * 4, cudaMemcpyDeviceToHost, stream));
}

inline void CudaDecoder::forward(CudaState& s, std::span<const int32_t> ids, std::span<float> logits, ThreadPool&) const {
  if (s.model_ != this) fail(Error::Kind::input, "forward: the state belongs to another CudaDecoder");
  if (ids.empty()) fail(Error::Kind::input, "forward: no ids");
  if (s.length_ + ids.size() > s.capacity_)
    fail(Error::Kind::input, "forward: ", s.length_, " cached + ", ids.size(), " new positions exceed the session's capacity of ",
         s.capacity_);
  if (logits.size() < vocab_size())
    fail(Error::Kind::input, "forward: logits buffer holds ", logits.size(), " floats, need ", vocab_size());
  for (int32_t id : ids)
    if (id < 0 || id >= config_.vocab_size) fail(Error::Kind::input, "token id ", id, " is outside the vocabulary of ", config_.vocab_size);
  ZEST_CUDA_CHECK(cudaSetDevice(device_));
  cudaStream_t stream = s.stream_.get();
  int32_t* staging = s.host_staging();
  // [position, ids...] into the pinned staging, free once the stream has run its last copy.
  auto stage = [&](size_t pos, std::span<const int32_t> part) {
    staging[0] = int32_t(pos);
    std::copy(part.begin(), part.end(), staging + 1);
  };
  auto copy_staging = [&](size_t m) {
    ZEST_CUDA_CHECK(cudaMemcpyAsync(s.at<int32_t>(s.staging_), staging, (1 + m) * 4, cudaMemcpyHostToDevice, stream));
  };
  if (ids.size() == 1) {
    stage(s.length_, ids);
    if (!s.decode_step_) {  // captured once: the staging copy, the pass over the whole capacity's splits, the logits
      ZEST_CUDA_CHECK(cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal));
      cudaGraph_t raw = nullptr;
      try {
        copy_staging(1);
        run_chunk(s, 1, s.splits_, true);
      } catch (...) {
        cudaStreamEndCapture(stream, &raw);
        if (raw) cudaGraphDestroy(raw);
        throw;
      }
      ZEST_CUDA_CHECK(cudaStreamEndCapture(stream, &raw));
      const CudaGraph graph(raw);
      cudaGraphExec_t exec = nullptr;
      ZEST_CUDA_CHECK(cudaGraphInstantiate(&exec, graph.get(), 0));
      s.decode_step_ = CudaGraphExec(exec);
    }
    ZEST_CUDA_CHECK(cudaGraphLaunch(s.decode_step_.get(), stream));
  } else {
    for (size_t done = 0; done < ids.size(); done += kChunk) {
      const size_t m = std::min(kChunk, ids.size() - done), end = s.length_ + done + m;
      ZEST_CUDA_CHECK(cudaStreamSynchronize(stream));
      stage(s.length_ + done, ids.subspan(done, m));
      copy_staging(m);
      run_chunk(s, m, int((end + cuda::kAttentionSplit - 1) / cuda::kAttentionSplit), done + m == ids.size());
    }
  }
  ZEST_CUDA_CHECK(cudaStreamSynchronize(stream));
  std::copy(ids.begin(), ids.end(), s.ids_.begin() + ptrdiff_t(s.length_));
  s.length_ += ids.size();
  std::copy(s.host_logits(), s.host_logits() + vocab_size(), logits.begin());
}

}  // namespace zest::detail
