// zest::Pipeline: a Hugging Face decoder directory (GPT-2, LLaMA, Mistral, Qwen2), loaded once,
// then generate() from text or ids, and perplexity(). The model and tokenizer are immutable after
// loading: one Pipeline serves many threads, each call with its own KV cache and sampler.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <span>
#include <string_view>

#include "zest/error.hpp"
#include "zest/generate/generator.hpp"
#include "zest/generate/params.hpp"
#include "zest/generate/perplexity.hpp"
#include "zest/io/config.hpp"
#include "zest/models/decoder.hpp"
#include "zest/models/options.hpp"
#include "zest/runtime/thread_pool.hpp"
#include "zest/tokenizer.hpp"

namespace zest {

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
  // generation_config.json. A directory without tokenizer files works on ids alone
  // (generate_ids, no stop strings). Encoder directories (bert) are for zest::Encoder.
  static Pipeline from_pretrained(const std::filesystem::path& dir = default_model_dir(), const LoadOptions& options = {}) {
    const auto begin = std::chrono::steady_clock::now();
    detail::check_device(options.device);
    if (const auto config = detail::load_model_config(dir); config.is_encoder())
      detail::fail(Error::Kind::unsupported, dir.string(), " holds an encoder model (", detail::to_string(config.model_type),
                   "), not a decoder: load it with zest::Encoder");
    Pipeline p;
    p.model_ = std::make_shared<const detail::DecoderModel>(detail::DecoderModel::load(dir, options));
    if (Tokenizer::found_in(dir)) p.tokenizer_ = std::make_shared<const Tokenizer>(Tokenizer::from_file(dir));
    p.generation_config_ = detail::load_generation_config(dir, p.model_->config());
    p.default_params_ = detail::default_params(p.generation_config_);
    p.pool_ = std::make_shared<detail::ThreadPool>(size_t(std::max(0, options.threads)));
    p.load_seconds_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
    return p;
  }

  // Generates from text with `params`; the prompt is encoded with the tokenizer's special tokens
  // (a LLaMA tokenizer's BOS, for example).
  Generation generate(std::string_view prompt, const GenerateParams& params) const {
    return generate_ids(tokenizer().encode(prompt, /*add_special_tokens=*/true), params);
  }
  // With the model's defaults (its generation_config.json).
  Generation generate(std::string_view prompt) const { return generate(prompt, default_params_); }

  Generation generate_ids(std::span<const int32_t> prompt, const GenerateParams& params) const {
    return detail::generate(*model_, tokenizer_.get(), prompt, params, generation_config_.eos_token_ids, *pool_);
  }

  // Perplexity of `ids` over non-overlapping windows of ctx tokens, each from an empty cache;
  // `progress`, if given, sees the running result after each window.
  Perplexity perplexity(std::span<const int32_t> ids, size_t ctx,
                        const std::function<void(const Perplexity&)>& progress = {}) const {
    return detail::perplexity(*model_, ids, ctx, *pool_, progress);
  }

  bool has_tokenizer() const { return tokenizer_ != nullptr; }
  const Tokenizer& tokenizer() const {
    if (!tokenizer_)
      detail::fail(Error::Kind::unsupported, "this pipeline's model directory has no tokenizer files: give token ids (generate_ids)");
    return *tokenizer_;
  }
  // generation_config.json's sampling settings as GenerateParams, to start from.
  const GenerateParams& default_params() const { return default_params_; }

  // What one decode step reads of the weights, and of the KV cache per cached position.
  size_t weight_bytes() const { return model_->weight_bytes(); }
  size_t kv_bytes_per_position() const { return model_->kv_bytes_per_position(); }
  // The longest sequence (prompt and new tokens) the model takes.
  size_t max_length() const { return model_->config().max_sequence_length(); }
  double load_seconds() const { return load_seconds_; }

 private:
  Pipeline() = default;

  std::shared_ptr<const detail::DecoderModel> model_;
  std::shared_ptr<const Tokenizer> tokenizer_;
  detail::GenerationConfig generation_config_;
  GenerateParams default_params_;
  std::shared_ptr<detail::ThreadPool> pool_;
  double load_seconds_ = 0;
};

}  // namespace zest
