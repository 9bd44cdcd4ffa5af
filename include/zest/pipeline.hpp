// zest::Pipeline: a Hugging Face model directory, loaded once, then generate() from text with a
// decoder, or embed() / fill_mask() / classify() with an encoder (BERT, sentence-transformers
// directories). The model and tokenizer are immutable after loading: one Pipeline serves many
// threads, each call with its own KV cache and sampler.
#pragma once

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "zest/error.hpp"
#include "zest/generate/generator.hpp"
#include "zest/generate/params.hpp"
#include "zest/io/config.hpp"
#include "zest/models/decoder.hpp"
#include "zest/models/encoder.hpp"
#include "zest/models/options.hpp"
#include "zest/models/pooling.hpp"
#include "zest/models/truncation.hpp"
#include "zest/runtime/thread_pool.hpp"
#include "zest/tokenizer.hpp"

namespace zest {

// One candidate of fill_mask().
struct FillMaskResult {
  std::string token;  // the id decoded alone
  int32_t id = 0;
  float score = 0;    // softmax probability
};

struct Classification {
  std::string label;  // the best-scoring label
  float score = 0;
  std::vector<std::pair<std::string, float>> scores;  // every label, in id2label order
};

// The embedded demo model (examples/models/brown-llama, a small LLaMA trained on the Brown corpus),
// as zest's CMake target locates it in the source tree or the installation.
inline std::filesystem::path default_model_dir() {
#ifdef ZEST_DEFAULT_MODEL_DIR
  return ZEST_DEFAULT_MODEL_DIR;
#else
  detail::fail(Error::Kind::io, "no default model: ZEST_DEFAULT_MODEL_DIR is defined by zest's CMake target; pass a model directory");
#endif
}

class Pipeline {
 public:
  // `dir`: config.json, model.safetensors (or shards), tokenizer files, optionally
  // generation_config.json. A decoder directory without tokenizer files works on ids alone
  // (generate_ids, no stop strings). For an encoder (model_type bert) optionally a sentence-transformers
  // modules.json.
  static Pipeline from_pretrained(const std::filesystem::path& dir = default_model_dir(), const LoadOptions& options = {}) {
    const auto begin = std::chrono::steady_clock::now();
    detail::check_device(options.device);
    Pipeline p;
    if (load_model_config(dir).model_type == ModelType::bert) {
      p.load_encoder(dir, options);
    } else {
      p.model_ = std::make_shared<const DecoderModel>(DecoderModel::load(dir, options));
      if (Tokenizer::found_in(dir)) p.tokenizer_ = std::make_shared<const Tokenizer>(Tokenizer::from_file(dir));
      p.generation_config_ = load_generation_config(dir, p.model_->config());
      p.default_params_ = zest::default_params(p.generation_config_);
    }
    p.pool_ = std::make_shared<ThreadPool>(size_t(std::max(0, options.threads)));
    p.load_seconds_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
    return p;
  }

  // Generates from text with `params`; the prompt is encoded with the tokenizer's special tokens
  // (a LLaMA tokenizer's BOS, for example).
  Generation generate(std::string_view prompt, const GenerateParams& params) const {
    const std::vector<int32_t> ids = tokenizer().encode(prompt, /*add_special_tokens=*/true);
    return generate_ids(ids, params);
  }
  // With the model's defaults (its generation_config.json).
  Generation generate(std::string_view prompt) const { return generate(prompt, default_params_); }

  Generation generate_ids(std::span<const int32_t> prompt, const GenerateParams& params) const {
    return detail::generate(model(), tokenizer_.get(), prompt, params, generation_config_.eos_token_ids, *pool_);
  }

  // One embedding per text, the texts run as one batch: pooled as `pooling` says, else as the
  // sentence-transformers modules say (mean without them), and L2-normalised when `normalize`
  // says, else when the directory has a Normalize module.
  std::vector<std::vector<float>> embed(std::span<const std::string> texts, std::optional<Pooling> pooling = std::nullopt,
                                        std::optional<bool> normalize = std::nullopt) const {
    const Pooling mode = pooling.value_or(st_ ? st_->pooling : Pooling::mean);
    const std::vector<std::vector<int32_t>> ids = encode_all(texts);
    const EncoderOutput h = run_encoder(ids);
    std::vector<float> pooled = pool_tokens(h, mode);
    const size_t d = h.hidden_size;
    if (normalize.value_or(st_ && st_->normalize)) normalize_rows(pooled, d);
    std::vector<std::vector<float>> out;
    for (size_t t = 0; t < texts.size(); ++t) out.emplace_back(pooled.begin() + ptrdiff_t(t * d), pooled.begin() + ptrdiff_t((t + 1) * d));
    return out;
  }

  // The top_k most likely tokens for the one mask token ([MASK] or <mask>) in `text`.
  std::vector<FillMaskResult> fill_mask(std::string_view text, size_t top_k = 5) const {
    const EncoderModel& m = encoder();
    const auto mask = tokenizer_->token_to_id("[MASK]") ? tokenizer_->token_to_id("[MASK]") : tokenizer_->token_to_id("<mask>");
    if (!mask) detail::fail(Error::Kind::unsupported, "fill_mask: the tokenizer has no [MASK] or <mask> token");
    const std::vector<std::vector<int32_t>> ids{encode_text(text)};
    const auto n_masks = std::count(ids[0].begin(), ids[0].end(), *mask);
    if (n_masks != 1)
      detail::fail(Error::Kind::input, "fill_mask: the text has ", n_masks, " mask tokens (after truncation); it needs exactly one");
    const size_t pos = size_t(std::find(ids[0].begin(), ids[0].end(), *mask) - ids[0].begin());
    const EncoderOutput h = run_encoder(ids);
    std::vector<float> probs = m.mlm_logits(h.row(0, pos), 1, *pool_);
    softmax(probs.data(), 1, probs.size());
    std::vector<int32_t> order(probs.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = int32_t(i);
    top_k = std::min(top_k, order.size());
    std::partial_sort(order.begin(), order.begin() + ptrdiff_t(top_k), order.end(), [&](int32_t a, int32_t b) {
      return probs[size_t(a)] > probs[size_t(b)] || (probs[size_t(a)] == probs[size_t(b)] && a < b);
    });
    std::vector<FillMaskResult> out;
    for (size_t i = 0; i < top_k; ++i) out.push_back({tokenizer_->decode({order[i]}), order[i], probs[size_t(order[i])]});
    return out;
  }

  // Every label's score for `text` (softmax, or sigmoid for multi-label models) and the best label.
  Classification classify(std::string_view text) const {
    const EncoderModel& m = encoder();
    const std::vector<std::vector<int32_t>> ids{encode_text(text)};
    const std::vector<float> scores = classifier_scores(m.config(), m.classifier_logits(run_encoder(ids), *pool_));
    Classification c;
    const auto& labels = m.config().id2label;
    for (size_t i = 0; i < scores.size(); ++i) c.scores.emplace_back(labels[i], scores[i]);
    const size_t best = size_t(std::max_element(scores.begin(), scores.end()) - scores.begin());
    c.label = labels[best];
    c.score = scores[best];
    return c;
  }

  // Ids with special tokens, truncated to max_length() for encoders.
  std::vector<int32_t> encode_text(std::string_view text) const {
    if (!encoder_) return tokenizer().encode(text, /*add_special_tokens=*/true);
    return encode_truncated(*tokenizer_, text, truncation_);
  }

  bool is_encoder() const { return encoder_ != nullptr; }
  const EncoderModel& encoder() const {
    if (!encoder_) detail::fail(Error::Kind::unsupported, "this pipeline holds a decoder, not an encoder model");
    return *encoder_;
  }
  // The sentence-transformers configuration of an encoder directory that has one.
  const std::optional<SentenceTransformersConfig>& sentence_transformers() const { return st_; }
  // Encoders: the most ids a text keeps (special tokens included).
  size_t max_length() const { return truncation_.max_length; }

  bool has_tokenizer() const { return tokenizer_ != nullptr; }
  const Tokenizer& tokenizer() const {
    if (!tokenizer_)
      detail::fail(Error::Kind::unsupported, "this pipeline's model directory has no tokenizer files: give token ids (generate_ids)");
    return *tokenizer_;
  }
  const DecoderModel& model() const {
    if (!model_) detail::fail(Error::Kind::unsupported, "this pipeline holds an encoder, not a decoder model");
    return *model_;
  }
  const ModelConfig& config() const { return encoder_ ? encoder_->config() : model_->config(); }
  const GenerationConfig& generation_config() const { return generation_config_; }
  // generation_config.json's sampling settings as GenerateParams, to start from.
  const GenerateParams& default_params() const { return default_params_; }
  ThreadPool& thread_pool() const { return *pool_; }
  double load_seconds() const { return load_seconds_; }

 private:
  Pipeline() = default;

  // Truncation: sentence-transformers' max_seq_length, else tokenizer.json's, else
  // tokenizer_config.json's model_max_length; never more than max_position_embeddings.
  void load_encoder(const std::filesystem::path& dir, const LoadOptions& options) {
    encoder_ = std::make_shared<const EncoderModel>(EncoderModel::load(dir, options));
    st_ = load_sentence_transformers_config(dir);
    EncoderTokenizer t = detail::load_encoder_tokenizer(dir);
    tokenizer_ = std::make_shared<const Tokenizer>(std::move(t.tokenizer));
    truncation_ = t.truncation.value_or(Truncation{});
    truncation_.max_length = encoder_->max_length();
    if (st_ && st_->max_seq_length) truncation_.max_length = *st_->max_seq_length;
    else if (t.truncation) truncation_.max_length = t.truncation->max_length;
    else if (const auto config = detail::read_config(dir); config.contains("model_max_length") &&
                                                             config["model_max_length"].is_number_unsigned())
      truncation_.max_length = std::max<size_t>(1, config["model_max_length"].get<size_t>());
    truncation_.max_length = std::min(truncation_.max_length, encoder_->max_length());
  }

  std::vector<std::vector<int32_t>> encode_all(std::span<const std::string> texts) const {
    std::vector<std::vector<int32_t>> ids;
    for (const std::string& text : texts) ids.push_back(encode_text(text));
    return ids;
  }

  EncoderOutput run_encoder(const std::vector<std::vector<int32_t>>& ids) const {
    std::vector<EncoderInput> batch;
    for (const auto& v : ids) batch.push_back({v, {}});
    return encoder().forward(batch, *pool_);
  }

  std::shared_ptr<const EncoderModel> encoder_;
  std::optional<SentenceTransformersConfig> st_;
  Truncation truncation_;
  std::shared_ptr<const DecoderModel> model_;
  std::shared_ptr<const Tokenizer> tokenizer_;
  GenerationConfig generation_config_;
  GenerateParams default_params_;
  std::shared_ptr<ThreadPool> pool_;
  double load_seconds_ = 0;
};

}  // namespace zest
