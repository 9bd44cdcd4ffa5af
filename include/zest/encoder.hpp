// zest::Encoder: a Hugging Face encoder directory (BERT; sentence-transformers directories),
// loaded once, then embed(), fill_mask() or classify(). Immutable after loading: one Encoder
// serves many threads.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "zest/error.hpp"
#include "zest/io/config.hpp"
#include "zest/kernels/softmax.hpp"
#include "zest/models/encoder.hpp"
#include "zest/models/options.hpp"
#include "zest/models/pooling.hpp"
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

class Encoder {
 public:
  // `dir`: config.json, model.safetensors, tokenizer files, optionally a sentence-transformers
  // modules.json. Texts longer than max_length() are truncated as the tokenizer says.
  static Encoder from_pretrained(const std::filesystem::path& dir, const LoadOptions& options = {}) {
    const auto begin = std::chrono::steady_clock::now();
    detail::check_device(options.device);
    const detail::ModelConfig config = detail::load_model_config(dir);
    if (!config.is_encoder())
      detail::fail(Error::Kind::unsupported, dir.string(), " holds a decoder model (", detail::to_string(config.model_type),
                   "), not an encoder: load it with zest::Pipeline");
    Encoder e;
    e.model_ = std::make_shared<const detail::EncoderModel>(detail::EncoderModel::load(dir, options));
    e.st_ = detail::load_sentence_transformers_config(dir);
    e.tokenizer_ = std::make_shared<const Tokenizer>(truncating_tokenizer(dir, *e.model_, e.st_));
    e.pool_ = std::make_shared<detail::ThreadPool>(size_t(std::max(0, options.threads)));
    e.load_seconds_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
    return e;
  }

  // One embedding per text, the texts run as one batch: pooled as `pooling` says, else as the
  // sentence-transformers modules say (mean without them), and L2-normalised when `normalize`
  // says, else when the directory has a Normalize module.
  std::vector<std::vector<float>> embed(std::span<const std::string> texts, std::optional<Pooling> pooling = std::nullopt,
                                        std::optional<bool> normalize = std::nullopt) const {
    const Pooling mode = pooling.value_or(st_ ? st_->pooling : Pooling::mean);
    std::vector<std::vector<int32_t>> ids;
    for (const std::string& text : texts) ids.push_back(encode(text));
    const detail::EncoderOutput h = run(ids);
    std::vector<float> pooled = detail::pool_tokens(h, mode);
    const size_t d = h.hidden_size;
    if (normalize.value_or(st_ && st_->normalize)) detail::normalize_rows(pooled, d);
    std::vector<std::vector<float>> out;
    for (size_t t = 0; t < texts.size(); ++t) out.emplace_back(pooled.begin() + ptrdiff_t(t * d), pooled.begin() + ptrdiff_t((t + 1) * d));
    return out;
  }

  // The top_k most likely tokens for the one mask token ([MASK] or <mask>) in `text`.
  std::vector<FillMaskResult> fill_mask(std::string_view text, size_t top_k = 5) const {
    const auto mask = tokenizer_->token_to_id("[MASK]") ? tokenizer_->token_to_id("[MASK]") : tokenizer_->token_to_id("<mask>");
    if (!mask) detail::fail(Error::Kind::unsupported, "fill_mask: the tokenizer has no [MASK] or <mask> token");
    const std::vector<std::vector<int32_t>> ids{encode(text)};
    const auto n_masks = std::count(ids[0].begin(), ids[0].end(), *mask);
    if (n_masks != 1)
      detail::fail(Error::Kind::input, "fill_mask: the text has ", n_masks, " mask tokens (after truncation); it needs exactly one");
    const size_t pos = size_t(std::find(ids[0].begin(), ids[0].end(), *mask) - ids[0].begin());
    const detail::EncoderOutput h = run(ids);
    std::vector<float> probs = model_->mlm_logits(h.row(0, pos), 1, *pool_);
    detail::softmax(probs.data(), 1, probs.size());
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
    const std::vector<std::vector<int32_t>> ids{encode(text)};
    const std::vector<float> scores = detail::classifier_scores(model_->config(), model_->classifier_logits(run(ids), *pool_));
    Classification c;
    const auto& labels = model_->config().id2label;
    for (size_t i = 0; i < scores.size(); ++i) c.scores.emplace_back(labels[i], scores[i]);
    const size_t best = size_t(std::max_element(scores.begin(), scores.end()) - scores.begin());
    c.label = labels[best];
    c.score = scores[best];
    return c;
  }

  // Ids with special tokens, truncated to max_length().
  std::vector<int32_t> encode(std::string_view text) const { return tokenizer_->encode(text, /*add_special_tokens=*/true); }

  const Tokenizer& tokenizer() const { return *tokenizer_; }
  // The most ids a text keeps (special tokens included).
  size_t max_length() const { return tokenizer_->truncation()->max_length; }
  // The classifier's labels in id order (config.json's id2label); empty without a classifier.
  const std::vector<std::string>& labels() const { return model_->config().id2label; }
  double load_seconds() const { return load_seconds_; }

 private:
  Encoder() = default;

  // The directory's tokenizer, truncating at sentence-transformers' max_seq_length, else
  // tokenizer.json's, else tokenizer_config.json's model_max_length; never past the model's
  // max_position_embeddings. No padding: batches are packed.
  static Tokenizer truncating_tokenizer(const std::filesystem::path& dir, const detail::EncoderModel& model,
                                        const std::optional<detail::SentenceTransformersConfig>& st) {
    Tokenizer t = Tokenizer::from_file(dir);
    Truncation truncation = t.truncation().value_or(Truncation{model.max_length(), false});
    if (st && st->max_seq_length) {
      truncation.max_length = *st->max_seq_length;
    } else if (!t.truncation()) {
      const auto config = detail::read_config(dir);
      if (config.contains("model_max_length") && config["model_max_length"].is_number_unsigned())
        truncation.max_length = std::max<size_t>(1, config["model_max_length"].get<size_t>());
    }
    truncation.max_length = std::min(truncation.max_length, model.max_length());
    t.set_truncation(truncation);
    t.set_padding(std::nullopt);
    return t;
  }

  detail::EncoderOutput run(const std::vector<std::vector<int32_t>>& ids) const {
    std::vector<detail::EncoderInput> batch;
    for (const auto& v : ids) batch.push_back({v, {}});
    return model_->forward(batch, *pool_);
  }

  std::shared_ptr<const detail::EncoderModel> model_;
  std::optional<detail::SentenceTransformersConfig> st_;
  std::shared_ptr<const Tokenizer> tokenizer_;
  std::shared_ptr<detail::ThreadPool> pool_;
  double load_seconds_ = 0;
};

}  // namespace zest
