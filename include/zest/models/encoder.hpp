// BERT encoders: BertModel (hidden states, pooler), BertForMaskedLM (the MLM head, its decoder
// tied to the word embeddings unless stored) and BertForSequenceClassification (pooler then a
// classifier), from unconverted Hugging Face directories; RoBERTa and XLM-RoBERTa are the same
// network with positions counted from padding_idx + 1 and their own classification head
// (dense + tanh + out_proj on the <s> token, no pooler):
//
//   x = LayerNorm(word[id] + position[p(t)] + token_type[type])   p(t) = t, or see roberta_positions
//   per layer:  q,k,v = x Wqkv + b;  a = attend(q, k, v) over the sequence's own tokens
//               x = LayerNorm(a Wo + b + x)
//               x = LayerNorm(gelu(x Wi + b) Wo2 + b + x)          post-norm, exact erf GELU
//
// A batch is packed without padding: the texts' tokens are stacked into one matrix, so every
// Linear is one GEMM over all of them, and attention runs per text over its own keys. This is
// what a padded batch with an attention mask computes for the real tokens (each text's result
// equals running it alone), without spending work on the padding.
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "zest/error.hpp"
#include "zest/io/config.hpp"
#include "zest/io/safetensors.hpp"
#include "zest/kernels/activation.hpp"
#include "zest/kernels/attention.hpp"
#include "zest/kernels/matmul.hpp"
#include "zest/kernels/norm.hpp"
#include "zest/kernels/softmax.hpp"
#include "zest/models/options.hpp"
#include "zest/models/weight_reader.hpp"
#include "zest/runtime/thread_pool.hpp"
#include "zest/tensor.hpp"

namespace zest::detail {

// One text of a batch: its token ids and, for sentence pairs, token type ids (empty: all 0).
struct EncoderInput {
  std::span<const int32_t> ids;
  std::span<const int32_t> token_types;
};

// Final hidden states of a batch, the texts' tokens one after another.
struct EncoderOutput {
  std::vector<float> hidden;    // rows() x hidden_size
  std::vector<size_t> offsets;  // text i is rows [offsets[i], offsets[i + 1])
  size_t hidden_size = 0;

  size_t texts() const { return offsets.empty() ? 0 : offsets.size() - 1; }
  size_t rows() const { return offsets.empty() ? 0 : offsets.back(); }
  size_t length(size_t text) const { return offsets[text + 1] - offsets[text]; }
  // Hidden state of token `pos` of text `text`.
  const float* row(size_t text, size_t pos) const { return hidden.data() + (offsets[text] + pos) * hidden_size; }
};


// RobertaEmbeddings.create_position_ids_from_input_ids: the k-th token that is not padding_idx
// has position padding_idx + k; a padding_idx token keeps padding_idx (roberta-base: 2, 3, ...).
inline void roberta_positions(std::span<const int32_t> ids, int64_t padding_idx, std::vector<int64_t>& out) {
  out.resize(ids.size());
  int64_t k = 0;
  for (size_t t = 0; t < ids.size(); ++t) out[t] = ids[t] == padding_idx ? padding_idx : padding_idx + ++k;
}

struct EncoderLayer {
  PackedMatrix qkv, attn_out, up, down;
  std::vector<float> qkv_bias, attn_out_bias, up_bias, down_bias;
  Norm attn_norm, mlp_norm;
};

// LayerNorm `base` (e.g. "embeddings.LayerNorm"): weight / bias, or the old gamma / beta names.
inline Norm read_layer_norm(const WeightReader& w, const std::string& base, int64_t n) {
  const bool old = !w.has(base + ".weight") && w.has(base + ".gamma");
  return {w.vector(base + (old ? ".gamma" : ".weight"), n), w.vector(base + (old ? ".beta" : ".bias"), n)};
}


// Classifier logits (rows of num_labels) to scores as transformers' text-classification pipeline
// does: none for problem_type regression, sigmoid for multi_label_classification or one label,
// softmax otherwise.
inline std::vector<float> classifier_scores(const ModelConfig& config, std::vector<float> logits) {
  const size_t labels = config.id2label.size();
  if (config.problem_type == "regression" || labels == 0) return logits;
  if (config.problem_type == "multi_label_classification" || labels == 1) {
    for (float& v : logits) v = 1.0f / (1.0f + std::exp(-v));
    return logits;
  }
  softmax(logits.data(), logits.size() / labels, labels);
  return logits;
}

class EncoderModel {
 public:
  // Rows per share of the row-wise work (norms, activations) split across the pool.
  static constexpr size_t kRowGrain = 8;

  // Loads config.json and model.safetensors (or shards) from `dir`.
  static EncoderModel load(const std::filesystem::path& dir, const LoadOptions& options = {}) {
    return EncoderModel(load_model_config(dir), Weights::open(dir), options);
  }

  EncoderModel(ModelConfig config, Weights weights, const LoadOptions& options) : config_(std::move(config)) {
    detail::check_cpu_device(options.device, "the encoder");
    if (!config_.is_encoder())
      detail::fail(Error::Kind::unsupported, "model_type ", to_string(config_.model_type),
                   " is not an encoder (supported: bert, roberta, xlm-roberta)");
    if (config_.hidden_act != Activation::gelu_erf && config_.hidden_act != Activation::gelu_tanh)
      detail::fail(Error::Kind::unsupported, "hidden_act of an encoder must be a GELU (gelu, gelu_new, ...)");
    // 4-bit weights are measured on decoders only (tests/models/decoder_dtypes_test.cpp).
    if (options.dtype == DType::i4)
      detail::fail(Error::Kind::unsupported, "compute dtype ", options.dtype,
                   " (int4) is for decoder models; an encoder takes f32, bf16, f16 or int8");
    format_ = detail::weight_format(options.dtype);
    const auto begin = std::chrono::steady_clock::now();
    load_weights(weights);
    load_seconds_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
  }

  const ModelConfig& config() const { return config_; }
  WeightFormat weight_format() const { return format_; }
  double load_seconds() const { return load_seconds_; }
  size_t hidden_size() const { return size_t(config_.hidden_size); }
  size_t vocab_size() const { return size_t(config_.vocab_size); }
  size_t num_labels() const { return config_.id2label.size(); }
  // The most tokens a text may have: RoBERTa's positions start at padding_idx + 1 (514 - 2 = 512).
  size_t max_length() const { return size_t(config_.max_position_embeddings - config_.position_offset); }
  // Whether the model reads token type ids: BERT does; RoBERTa's tokenizers do not return them
  // (model_input_names), so transformers feeds zeros.
  bool uses_token_types() const { return config_.model_type == ModelType::bert; }
  bool has_pooler() const { return pooler_.rows() > 0; }
  bool has_mlm_head() const { return mlm_decoder_.rows() > 0; }
  bool has_classifier() const { return classifier_.rows() > 0; }
  bool has_roberta_head() const { return classifier_dense_.rows() > 0; }

  // The final hidden states of every token of every text, the batch run as one pass.
  EncoderOutput forward(std::span<const EncoderInput> batch, ThreadPool& pool) const {
    EncoderOutput out;
    out.hidden_size = hidden_size();
    out.offsets.push_back(0);
    for (size_t i = 0; i < batch.size(); ++i) {
      check_input(batch[i], i);
      out.offsets.push_back(out.offsets.back() + batch[i].ids.size());
    }
    const size_t n = out.rows(), d = hidden_size(), inter = size_t(config_.intermediate_size);
    if (n == 0) return out;
    out.hidden.resize(n * d);
    float* x = out.hidden.data();
    embed(batch, x);

    // The caller's scratch, kept between calls (no page faults on fresh megabytes every pass),
    // named by pointers for the workers.
    thread_local detail::AlignedVector<float> scratch;
    scratch.resize(n * (4 * d + inter));
    float *qkv = scratch.data(), *ctx = qkv + n * 3 * d, *u = ctx + n * d;
    const size_t heads = size_t(config_.num_attention_heads), hd = size_t(config_.head_dim);
    AttentionShape shape{heads, heads, hd, 1.0f / std::sqrt(float(hd)), 0};
    shape.causal = false;
    const float eps = float(config_.norm_eps);
    for (const detail::EncoderLayer& l : layers_) {
      matmul(x, n, l.qkv, qkv, pool, {.bias = l.qkv_bias.data()});
      // Each text attends over its own queries, keys and values, read in place from the projections.
      for (size_t t = 0; t < out.texts(); ++t) {
        const float* rows = qkv + out.offsets[t] * 3 * d;
        const KvView k{rows + d, KvType::f32, 3 * d, hd}, v{rows + 2 * d, KvType::f32, 3 * d, hd};
        attend_prefill(rows, out.length(t), 0, k, v, shape, ctx + out.offsets[t] * d, pool, 3 * d);
      }
      matmul(ctx, n, l.attn_out, x, pool, {.bias = l.attn_out_bias.data(), .accumulate = true});
      // The row-wise steps split across the pool too, kRowGrain rows a share.
      pool.parallel_for(n, kRowGrain, [&](size_t r0, size_t r1) {
        layer_norm(x + r0 * d, x + r0 * d, r1 - r0, d, l.attn_norm.weight.data(), l.attn_norm.bias.data(), eps);
      });
      matmul(x, n, l.up, u, pool);
      pool.parallel_for(n, kRowGrain, [&](size_t r0, size_t r1) { activate(u + r0 * inter, r1 - r0, inter, l.up_bias.data()); });
      matmul(u, n, l.down, x, pool, {.bias = l.down_bias.data(), .accumulate = true});
      pool.parallel_for(n, kRowGrain, [&](size_t r0, size_t r1) {
        layer_norm(x + r0 * d, x + r0 * d, r1 - r0, d, l.mlp_norm.weight.data(), l.mlp_norm.bias.data(), eps);
      });
    }
    return out;
  }

  // Right-padded ids (texts x len, row-major) with their attention mask (1 = token, 0 = padding,
  // the ones first in each row) and optional token types, as Hugging Face takes them. Each
  // text's tokens are the mask's ones; padding positions of the result are not computed.
  EncoderOutput forward_padded(std::span<const int32_t> ids, std::span<const int32_t> attention_mask,
                               std::span<const int32_t> token_types, size_t texts, ThreadPool& pool) const {
    if (texts == 0 || ids.size() % texts != 0 || attention_mask.size() != ids.size() ||
        (!token_types.empty() && token_types.size() != ids.size()))
      detail::fail(Error::Kind::input, "forward_padded: ", ids.size(), " ids, ", attention_mask.size(), " mask values and ",
                   token_types.size(), " token types do not form ", texts, " rows of equal length");
    const size_t len = ids.size() / texts;
    std::vector<EncoderInput> batch(texts);
    for (size_t t = 0; t < texts; ++t) {
      const auto mask = attention_mask.subspan(t * len, len);
      const size_t n = size_t(std::find(mask.begin(), mask.end(), 0) - mask.begin());
      if (std::any_of(mask.begin() + n, mask.end(), [](int32_t m) { return m != 0; }) ||
          std::any_of(mask.begin(), mask.begin() + n, [](int32_t m) { return m != 1; }))
        detail::fail(Error::Kind::input, "forward_padded: attention_mask row ", t,
                     " is not right padding (ones, then zeros)");
      batch[t].ids = ids.subspan(t * len, n);
      if (!token_types.empty()) batch[t].token_types = token_types.subspan(t * len, n);
    }
    return forward(batch, pool);
  }

  // pooler: tanh(dense(h[CLS])) for each text; texts() x hidden_size.
  std::vector<float> pooled(const EncoderOutput& h, ThreadPool& pool) const {
    if (!has_pooler()) detail::fail(Error::Kind::unsupported, "this model has no pooler (pooler.dense.weight)");
    const size_t d = hidden_size(), b = h.texts();
    std::vector<float> cls(b * d), out(b * d);
    for (size_t t = 0; t < b; ++t) std::copy_n(h.row(t, 0), d, cls.data() + t * d);
    if (b == 0) return out;
    matmul(cls.data(), b, pooler_, out.data(), pool, {.bias = pooler_bias_.data()});
    for (float& v : out) v = std::tanh(v);
    return out;
  }

  // *ForSequenceClassification's logits; texts() x num_labels. BERT: classifier(pooled);
  // RoBERTa's head: out_proj(tanh(dense(h[<s>]))).
  std::vector<float> classifier_logits(const EncoderOutput& h, ThreadPool& pool) const {
    if (!has_classifier())
      detail::fail(Error::Kind::unsupported, "this model has no classifier (classifier.weight or classifier.out_proj.weight)");
    const std::vector<float> p = has_roberta_head() ? roberta_dense(h, pool) : pooled(h, pool);
    std::vector<float> out(h.texts() * num_labels());
    if (h.texts() > 0) matmul(p.data(), h.texts(), classifier_, out.data(), pool, {.bias = classifier_bias_.data()});
    return out;
  }

  // RobertaClassificationHead's first half: tanh(dense(h[<s>])); texts() x hidden_size.
  std::vector<float> roberta_dense(const EncoderOutput& h, ThreadPool& pool) const {
    const size_t d = hidden_size(), b = h.texts();
    std::vector<float> first(b * d), out(b * d);
    for (size_t t = 0; t < b; ++t) std::copy_n(h.row(t, 0), d, first.data() + t * d);
    if (b == 0) return out;
    matmul(first.data(), b, classifier_dense_, out.data(), pool, {.bias = classifier_dense_bias_.data()});
    for (float& v : out) v = std::tanh(v);
    return out;
  }

  // BertForMaskedLM's logits over the vocabulary for `m` hidden-state rows; m x vocab_size.
  std::vector<float> mlm_logits(const float* hidden_rows, size_t m, ThreadPool& pool) const {
    if (!has_mlm_head()) detail::fail(Error::Kind::unsupported, "this model has no masked-LM head (cls.predictions.*)");
    const size_t d = hidden_size();
    std::vector<float> t(m * d), out(m * vocab_size());
    if (m == 0) return out;
    matmul(hidden_rows, m, mlm_transform_, t.data(), pool);
    activate(t.data(), m, d, mlm_transform_bias_.data());
    layer_norm(t.data(), t.data(), m, d, mlm_norm_.weight.data(), mlm_norm_.bias.data(), float(config_.norm_eps));
    matmul(t.data(), m, mlm_decoder_, out.data(), pool, {.bias = mlm_bias_.data()});
    return out;
  }

 private:
  void check_input(const EncoderInput& in, size_t index) const {
    if (in.ids.empty()) detail::fail(Error::Kind::input, "text ", index, " of the batch has no token ids");
    if (in.ids.size() > max_length())
      detail::fail(Error::Kind::input, "text ", index, " has ", in.ids.size(), " tokens, more than the ", max_length(),
                   " that max_position_embeddings = ", config_.max_position_embeddings, " allows (truncate it)");
    if (!in.token_types.empty() && in.token_types.size() != in.ids.size())
      detail::fail(Error::Kind::input, "text ", index, " has ", in.ids.size(), " ids but ", in.token_types.size(),
                   " token type ids");
    for (int32_t id : in.ids)
      if (id < 0 || id >= config_.vocab_size)
        detail::fail(Error::Kind::input, "token id ", id, " of text ", index, " is outside the vocabulary of ", config_.vocab_size);
    for (int32_t type : in.token_types)
      if (type < 0 || type >= config_.type_vocab_size)
        detail::fail(Error::Kind::input, "token type id ", type, " of text ", index, " is outside type_vocab_size = ",
                     config_.type_vocab_size);
  }

  void embed(std::span<const EncoderInput> batch, float* x) const {
    const size_t d = hidden_size();
    const bool roberta = config_.position_offset > 0;
    std::vector<int64_t> positions;
    float* row = x;
    for (const EncoderInput& in : batch) {
      if (roberta) roberta_positions(in.ids, config_.position_offset - 1, positions);
      for (size_t t = 0; t < in.ids.size(); ++t, row += d) {
        const int32_t type = in.token_types.empty() ? 0 : in.token_types[t];
        const size_t position = roberta ? size_t(positions[t]) : t;
        std::copy_n(word_.data<float>().data() + size_t(in.ids[t]) * d, d, row);
        add(row, position_.data<float>().data() + position * d, d);
        add(row, token_type_.data<float>().data() + size_t(type) * d, d);
      }
    }
    layer_norm(x, x, size_t(row - x) / d, d, embed_norm_.weight.data(), embed_norm_.bias.data(), float(config_.norm_eps));
  }

  // The feed-forward activation with its bias, over rows of n (BERT's GELU; checked at load).
  void activate(float* u, size_t rows, size_t n, const float* bias) const {
    bias_gelu(u, rows, n, bias, config_.hidden_act == Activation::gelu_erf);
  }

  void load_weights(const Weights& weights) {
    const auto& c = config_;
    const int64_t d = c.hidden_size, inter = c.intermediate_size;
    const std::string source =
        weights.files().size() == 1 ? weights.files().front().path().string() : "model.safetensors.index.json";
    const std::string base = c.model_type == ModelType::bert ? "bert." : "roberta.";
    const detail::WeightReader w(weights, source, {base, ""});
    const detail::WeightReader top(weights, source, {""});  // the heads sit outside "bert." / "roberta."
    word_ = w.matrix("embeddings.word_embeddings.weight", c.vocab_size, d);
    position_ = w.matrix("embeddings.position_embeddings.weight", c.max_position_embeddings, d);
    token_type_ = w.matrix("embeddings.token_type_embeddings.weight", c.type_vocab_size, d);
    embed_norm_ = detail::read_layer_norm(w, "embeddings.LayerNorm", d);
    for (int64_t i = 0; i < c.num_hidden_layers; ++i) {
      const std::string p = "encoder.layer." + std::to_string(i) + ".";
      detail::EncoderLayer l;
      l.qkv = w.packed(format_, w.matrix(p + "attention.self.query.weight", d, d), w.matrix(p + "attention.self.key.weight", d, d),
                       w.matrix(p + "attention.self.value.weight", d, d));
      l.qkv_bias = w.stacked_bias({{p + "attention.self.query.bias", d}, {p + "attention.self.key.bias", d},
                                   {p + "attention.self.value.bias", d}},
                                  true);
      l.attn_out = w.packed(format_, w.matrix(p + "attention.output.dense.weight", d, d));
      l.attn_out_bias = w.vector(p + "attention.output.dense.bias", d);
      l.attn_norm = detail::read_layer_norm(w, p + "attention.output.LayerNorm", d);
      l.up = w.packed(format_, w.matrix(p + "intermediate.dense.weight", inter, d));
      l.up_bias = w.vector(p + "intermediate.dense.bias", inter);
      l.down = w.packed(format_, w.matrix(p + "output.dense.weight", d, inter));
      l.down_bias = w.vector(p + "output.dense.bias", d);
      l.mlp_norm = detail::read_layer_norm(w, p + "output.LayerNorm", d);
      layers_.push_back(std::move(l));
    }
    if (w.has("pooler.dense.weight")) {
      pooler_ = w.packed(format_, w.matrix("pooler.dense.weight", d, d));
      pooler_bias_ = w.vector("pooler.dense.bias", d);
    }
    if (c.model_type != ModelType::bert && top.has("classifier.out_proj.weight")) {
      const int64_t labels = int64_t(num_labels());
      classifier_dense_ = w.packed(format_, top.matrix("classifier.dense.weight", d, d));
      classifier_dense_bias_ = top.vector("classifier.dense.bias", d);
      classifier_ = w.packed(format_, top.matrix("classifier.out_proj.weight", labels, d));
      classifier_bias_ = top.vector("classifier.out_proj.bias", labels);
    } else if (top.has("classifier.weight")) {
      const int64_t labels = int64_t(num_labels());
      classifier_ = w.packed(format_, top.matrix("classifier.weight", labels, d));
      classifier_bias_ = top.vector("classifier.bias", labels);
      if (!has_pooler()) detail::fail(Error::Kind::format, source, ": a classifier without pooler.dense.weight");
    }
    if (top.has("cls.predictions.bias")) {
      mlm_transform_ = w.packed(format_, top.matrix("cls.predictions.transform.dense.weight", d, d));
      mlm_transform_bias_ = top.vector("cls.predictions.transform.dense.bias", d);
      mlm_norm_ = detail::read_layer_norm(top, "cls.predictions.transform.LayerNorm", d);
      mlm_decoder_ = top.has("cls.predictions.decoder.weight")
                         ? w.packed(format_, top.matrix("cls.predictions.decoder.weight", c.vocab_size, d))
                         : PackedMatrix(word_.data<float>().data(), size_t(c.vocab_size), size_t(d), format_);
      mlm_bias_ = top.vector("cls.predictions.bias", c.vocab_size);
    }
  }

  ModelConfig config_;
  WeightFormat format_ = WeightFormat::f32;
  Tensor word_, position_, token_type_;  // f32 copies of the embedding tables
  detail::Norm embed_norm_;
  std::vector<detail::EncoderLayer> layers_;
  PackedMatrix pooler_, classifier_, classifier_dense_, mlm_transform_, mlm_decoder_;
  std::vector<float> pooler_bias_, classifier_bias_, classifier_dense_bias_, mlm_transform_bias_, mlm_bias_;
  detail::Norm mlm_norm_;
  double load_seconds_ = 0;
};

}  // namespace zest::detail
