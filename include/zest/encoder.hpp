// zest::Encoder: a Hugging Face encoder directory (BERT, RoBERTa, XLM-RoBERTa; sentence-transformers
// directories; cross-encoder rerankers), loaded once, then embed(), rerank(), fill_mask() or
// classify(). Immutable after loading: one Encoder serves many threads.
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
#include "zest/models/sentence_transformers.hpp"
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

// How embed() turns texts into vectors; unset fields follow the directory's sentence-transformers files.
struct EmbedOptions {
  std::optional<Pooling> pooling;          // default: the Pooling module's, else mean
  std::optional<bool> normalize;           // true: L2-normalise last; false: no Normalize module either
  std::optional<std::string> prompt_name;  // a key of config_sentence_transformers.json's prompts; default_prompt_name when unset
  std::optional<size_t> dimensions;        // Matryoshka: keep the first N values, after the modules (as truncate_dim)
  bool truncate = true;                    // false: a text longer than max_length() is an error
};

struct Embedding {
  std::vector<float> values;
  bool truncated = false;  // the text (with its prompt) had more than max_length() tokens and was cut
};

class Encoder {
 public:
  // `dir`: config.json, model.safetensors, tokenizer files, optionally a sentence-transformers
  // modules.json. Texts longer than max_length() are truncated as the tokenizer says.
  static Encoder from_pretrained(const std::filesystem::path& dir, const LoadOptions& options = {}) {
    const auto begin = std::chrono::steady_clock::now();
    detail::check_cpu_device(options.device, "the encoder");
    const detail::ModelConfig config = detail::load_model_config(dir);
    if (!config.is_encoder())
      detail::fail(Error::Kind::unsupported, dir.string(), " holds a decoder model (", detail::to_string(config.model_type),
                   "), not an encoder: load it with zest::Pipeline");
    Encoder e;
    e.model_ = std::make_shared<const detail::EncoderModel>(detail::EncoderModel::load(dir, options));
    e.st_ = detail::load_sentence_transformers_config(dir);
    if (e.st_ && e.st_->embedding_dimension && *e.st_->embedding_dimension != e.model_->hidden_size())
      detail::fail(Error::Kind::format, dir.string(), ": 1_Pooling's embedding dimension ", *e.st_->embedding_dimension,
                   " is not the model's hidden_size ", e.model_->hidden_size());
    e.tokenizer_ = std::make_shared<const Tokenizer>(truncating_tokenizer(dir, *e.model_, e.st_));
    Tokenizer whole = *e.tokenizer_;
    whole.set_truncation(std::nullopt);
    e.whole_ = std::make_shared<const Tokenizer>(std::move(whole));
    if (e.model_->has_classifier()) e.sigmoid_ = detail::cross_encoder_sigmoid(dir, e.model_->num_labels());
    e.pool_ = std::make_shared<detail::ThreadPool>(size_t(std::max(0, options.threads)));
    e.load_seconds_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
    return e;
  }

  // One embedding per text, the texts run as one batch: pooled as `pooling` says, else as the
  // sentence-transformers modules say (mean without them), and L2-normalised when `normalize`
  // says, else when the directory has a Normalize module.
  // The directory's default prompt applies (default_prompt_name), as in sentence-transformers.
  std::vector<std::vector<float>> embed(std::span<const std::string> texts, std::optional<Pooling> pooling = std::nullopt,
                                        std::optional<bool> normalize = std::nullopt) const {
    std::vector<std::vector<float>> out;
    for (Embedding& e : embed(texts, EmbedOptions{pooling, normalize, std::nullopt, std::nullopt, true}))
      out.push_back(std::move(e.values));
    return out;
  }

  // As SentenceTransformer.encode(texts, prompt_name, truncate_dim): the prompt before each text,
  // the texts cut to max_length() tokens (LongestFirst, special tokens kept), the modules of
  // modules.json (Pooling, Dense, Normalize) in order, then the first `dimensions` values; with
  // `normalize` true, L2-normalised after that (encode's normalize_embeddings).
  std::vector<Embedding> embed(std::span<const std::string> texts, const EmbedOptions& options) const {
    std::string prompt;
    if (options.prompt_name) {
      if (!st_ || !st_->prompts.count(*options.prompt_name))
        detail::fail(Error::Kind::input, "prompt name '", *options.prompt_name, "' is not among the directory's prompts",
                     st_ && !st_->prompts.empty() ? "" : " (it has none: config_sentence_transformers.json)");
      prompt = st_->prompts.at(*options.prompt_name);
    } else if (st_ && st_->default_prompt_name) {
      prompt = st_->prompts.at(*st_->default_prompt_name);
    }
    // sentence-transformers' prompt_length: the prompt's tokens less its closing special token.
    size_t skip = 0;
    if (!prompt.empty() && st_ && !st_->include_prompt) skip = whole_->encode(prompt, true).size() - 1;
    std::vector<Embedding> out(texts.size());
    std::vector<std::vector<int32_t>> ids;
    for (size_t t = 0; t < texts.size(); ++t) ids.push_back(encode_checked(prompt + texts[t], options.truncate, t, out[t].truncated));
    const detail::EncoderOutput h = run(ids);
    std::vector<float> x = detail::pool_tokens(h, options.pooling.value_or(st_ ? st_->pooling : Pooling::mean), skip);
    size_t d = h.hidden_size;
    const bool explicit_normalize = options.normalize.value_or(false);
    if (st_ && options.normalize.value_or(true))  // normalize false: no Normalize module either
      for (const auto& step : st_->steps) {
        if (!step.dense) {
          detail::normalize_rows(x, d);
          continue;
        }
        if (step.dense->in != d)
          detail::fail(Error::Kind::format, "a Dense module takes ", step.dense->in, " values but gets ", d);
        x = step.dense->apply(x, texts.size());
        d = step.dense->out;
      }
    else if (st_)
      for (const auto& step : st_->steps)
        if (step.dense) x = step.dense->apply(x, texts.size()), d = step.dense->out;
    size_t keep = d;
    if (options.dimensions) {
      if (*options.dimensions == 0 || *options.dimensions > d)
        detail::fail(Error::Kind::input, "dimensions ", *options.dimensions, " must be 1 to the embedding's ", d);
      keep = *options.dimensions;
    }
    for (size_t t = 0; t < texts.size(); ++t) {
      out[t].values.assign(x.begin() + ptrdiff_t(t * d), x.begin() + ptrdiff_t(t * d + keep));
      if (explicit_normalize) detail::normalize_rows(out[t].values, keep);
    }
    return out;
  }

  // A cross-encoder's score of each document for `query`, in the documents' order: each
  // (query, document) pair through the pair template (truncated LongestFirst to max_length()),
  // the classifier's one logit, then CrossEncoder's activation (config.json's
  // sentence_transformers.activation_fn; Sigmoid by default). `truncate` false: a pair longer
  // than max_length() is an error.
  std::vector<float> rerank(std::string_view query, std::span<const std::string> documents, bool truncate = true) const {
    if (!model_->has_classifier() || model_->num_labels() != 1)
      detail::fail(Error::Kind::unsupported, "rerank needs a sequence classifier with one label (a cross-encoder); this model has ",
                   model_->has_classifier() ? std::to_string(model_->num_labels()) + " labels" : std::string("no classifier"));
    std::vector<Encoding> pairs;
    for (size_t i = 0; i < documents.size(); ++i) {
      if (pair_length(query, documents[i]) > max_length() && !truncate)
        detail::fail(Error::Kind::input, "document ", i, " with the query has ", pair_length(query, documents[i]),
                     " tokens, more than the model's ", max_length(), " (truncation is off)");
      pairs.push_back(tokenizer_->encode_pair(query, documents[i], true));
    }
    std::vector<detail::EncoderInput> batch;
    for (const Encoding& e : pairs) batch.push_back({e.ids, model_->uses_token_types() ? std::span<const int32_t>(e.type_ids) : std::span<const int32_t>()});
    std::vector<float> scores = model_->classifier_logits(model_->forward(batch, *pool_), *pool_);
    if (sigmoid_)
      for (float& v : scores) v = 1.0f / (1.0f + std::exp(-v));
    return scores;
  }

  // Tokens of `text` with special tokens, before truncation.
  size_t length(std::string_view text) const { return whole_->encode(text, true).size(); }
  // Tokens of the pair (query, document) with the pair's special tokens, before truncation.
  size_t pair_length(std::string_view text, std::string_view pair) const { return whole_->encode_pair(text, pair, true).ids.size(); }

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

  // Ids of `text`; a text longer than max_length() is cut (and `truncated` set), or an error.
  std::vector<int32_t> encode_checked(const std::string& text, bool truncate, size_t index, bool& truncated) const {
    std::vector<int32_t> ids = whole_->encode(text, true);
    truncated = ids.size() > max_length();
    if (!truncated) return ids;
    if (!truncate)
      detail::fail(Error::Kind::input, "text ", index, " has ", ids.size(), " tokens, more than the model's ", max_length(),
                   " (truncation is off)");
    return encode(text);
  }

  detail::EncoderOutput run(const std::vector<std::vector<int32_t>>& ids) const {
    std::vector<detail::EncoderInput> batch;
    for (const auto& v : ids) batch.push_back({v, {}});
    return model_->forward(batch, *pool_);
  }

  std::shared_ptr<const detail::EncoderModel> model_;
  std::optional<detail::SentenceTransformersConfig> st_;
  std::shared_ptr<const Tokenizer> tokenizer_, whole_;  // truncating at max_length(); not truncating
  std::shared_ptr<detail::ThreadPool> pool_;
  bool sigmoid_ = false;  // rerank: CrossEncoder's activation
  double load_seconds_ = 0;
};

}  // namespace zest
