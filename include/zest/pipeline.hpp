// zest::Pipeline: a Hugging Face model directory, loaded once, then generate() from text.
// The model and tokenizer are immutable after loading: one Pipeline serves many threads, each
// call with its own KV cache and sampler.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "zest/error.hpp"
#include "zest/generate/generator.hpp"
#include "zest/generate/params.hpp"
#include "zest/io/config.hpp"
#include "zest/models/decoder.hpp"
#include "zest/models/options.hpp"
#include "zest/runtime/thread_pool.hpp"
#include "zest/tokenizer.hpp"

namespace zest {

class Pipeline {
 public:
  // `dir`: config.json, model.safetensors (or shards), tokenizer files, optionally
  // generation_config.json.
  static Pipeline from_pretrained(const std::filesystem::path& dir, const LoadOptions& options = {}) {
    const auto begin = std::chrono::steady_clock::now();
    detail::check_device(options.device);
    Pipeline p;
    p.model_ = std::make_shared<const DecoderModel>(DecoderModel::load(dir, options));
    p.tokenizer_ = std::make_shared<const Tokenizer>(Tokenizer::from_file(dir));
    p.generation_config_ = load_generation_config(dir, p.model_->config());
    p.default_params_ = zest::default_params(p.generation_config_);
    p.pool_ = std::make_shared<ThreadPool>(size_t(std::max(0, options.threads)));
    p.load_seconds_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
    return p;
  }

  // Generates from text with `params`; the prompt is encoded with the tokenizer's special tokens
  // (a LLaMA tokenizer's BOS, for example).
  Generation generate(std::string_view prompt, const GenerateParams& params) const {
    const std::vector<int32_t> ids = tokenizer_->encode(prompt, /*add_special_tokens=*/true);
    return generate_ids(ids, params);
  }
  // With the model's defaults (its generation_config.json).
  Generation generate(std::string_view prompt) const { return generate(prompt, default_params_); }

  Generation generate_ids(std::span<const int32_t> prompt, const GenerateParams& params) const {
    return detail::generate(*model_, tokenizer_.get(), prompt, params, generation_config_.eos_token_ids, *pool_);
  }

  const Tokenizer& tokenizer() const { return *tokenizer_; }
  const DecoderModel& model() const { return *model_; }
  const ModelConfig& config() const { return model_->config(); }
  const GenerationConfig& generation_config() const { return generation_config_; }
  // generation_config.json's sampling settings as GenerateParams, to start from.
  const GenerateParams& default_params() const { return default_params_; }
  ThreadPool& thread_pool() const { return *pool_; }
  double load_seconds() const { return load_seconds_; }

 private:
  Pipeline() = default;

  std::shared_ptr<const DecoderModel> model_;
  std::shared_ptr<const Tokenizer> tokenizer_;
  GenerationConfig generation_config_;
  GenerateParams default_params_;
  std::shared_ptr<ThreadPool> pool_;
  double load_seconds_ = 0;
};

}  // namespace zest
