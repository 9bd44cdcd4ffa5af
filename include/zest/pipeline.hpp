// zest::Pipeline: a Hugging Face decoder directory, loaded once, then generate() from text or ids,
// chat() through the model's chat template, and perplexity(). The model and tokenizer are
// immutable after loading: one Pipeline serves many threads, each call with its own KV cache and
// sampler, or with a Session (one conversation's cache, kept between calls).
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "zest/chat/chat_format.hpp"
#include "zest/error.hpp"
#include "zest/generate/generator.hpp"
#include "zest/generate/params.hpp"
#include "zest/generate/perplexity.hpp"
#include "zest/generate/session.hpp"
#include "zest/io/config.hpp"
#include "zest/models/decoder.hpp"
#include "zest/models/options.hpp"
#include "zest/runtime/thread_pool.hpp"
#include "zest/tokenizer.hpp"
#ifdef ZEST_WITH_CUDA
#include "zest/backend/cuda/decoder.hpp"
#endif

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
  // options.device = Device::cuda(i) (a ZEST_CUDA build) generates on that GPU, bf16 weights;
  // sessions, perplexity and the Engine are the CPU's for now.
  static Pipeline from_pretrained(const std::filesystem::path& dir = default_model_dir(), const LoadOptions& options = {}) {
    const auto begin = std::chrono::steady_clock::now();
    detail::check_device(options.device);
    if (const auto config = detail::load_model_config(dir); config.is_encoder())
      detail::fail(Error::Kind::unsupported, dir.string(), " holds an encoder model (", detail::to_string(config.model_type),
                   "), not a decoder: load it with zest::Encoder");
    Pipeline p;
#ifdef ZEST_WITH_CUDA
    if (options.device.kind == Device::Kind::cuda)
      p.cuda_ = std::make_shared<const detail::CudaDecoder>(detail::CudaDecoder::load(dir, options));
#endif
    if (!p.on_cuda()) p.model_ = std::make_shared<const detail::DecoderModel>(detail::DecoderModel::load(dir, options));
    if (Tokenizer::found_in(dir)) p.tokenizer_ = std::make_shared<const Tokenizer>(Tokenizer::from_file(dir));
    p.generation_config_ = detail::load_generation_config(dir, p.config());
    p.default_params_ = detail::default_params(p.generation_config_);
    p.chat_format_ = std::make_shared<const ChatFormat>(ChatFormat::from_pretrained(dir));
    p.find_end_of_turn();
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
    return run(prompt, params, generation_config_.eos_token_ids);
  }

  // A sequence whose KV cache lives between calls (see zest/generate/session.hpp).
  Session start_session() const { return Session(cpu_model_ptr("a Session")); }
  // Continues `session` with `text` (with the tokenizer's special tokens when the session is
  // empty) or `ids`, and generates; only what the cache lacks is prefilled. Empty ids continue the
  // generation where the last call stopped.
  Generation generate(Session& session, std::string_view text, const GenerateParams& params) const {
    return generate_ids(session, tokenizer().encode(text, /*add_special_tokens=*/session.length() == 0), params);
  }
  Generation generate_ids(Session& session, std::span<const int32_t> ids, const GenerateParams& params) const {
    return continue_session(session, ids, params, generation_config_.eos_token_ids);
  }

  // The conversation rendered by the model's chat template (ChatFormat).
  std::string apply_chat_template(const nlohmann::ordered_json& messages, const ChatOptions& options = {}) const {
    return chat_format_->render(messages, options);
  }
  // Answers the conversation: renders it, encodes it without adding special tokens (the template
  // wrote them: no double BOS), and stops at an end-of-sequence id of generation_config.json or
  // the template's end-of-turn token (Llama 3's <|eot_id|>, ChatML's <|im_end|>).
  Generation chat(const nlohmann::ordered_json& messages, const GenerateParams& params, const ChatOptions& options = {}) const {
    const auto ids = tokenizer().encode(apply_chat_template(messages, options));
    return run(ids, params, chat_eos_ids_);
  }
  Generation chat(const nlohmann::ordered_json& messages) const { return chat(messages, default_params_); }
  // The same in `session`: the part of the rendered prompt that the session already holds (the
  // earlier turns, as rendered and generated) is not prefilled again; where they differ the
  // session is rewound to what they share.
  Generation chat(Session& session, const nlohmann::ordered_json& messages, const GenerateParams& params,
                  const ChatOptions& options = {}) const {
    const auto ids = tokenizer().encode(apply_chat_template(messages, options));
    const auto held = session.ids();
    const size_t shared = size_t(std::mismatch(held.begin(), held.end(), ids.begin(), ids.end()).first - held.begin());
    session.rewind(shared);
    return continue_session(session, std::span(ids).subspan(shared), params, chat_eos_ids_);
  }
  const ChatFormat& chat_format() const { return *chat_format_; }
  // Replaces the model's chat template (a --chat-template file); before the Pipeline is shared.
  void set_chat_template(std::string_view source) {
    ChatFormat f = *chat_format_;
    f.set_template(source);
    chat_format_ = std::make_shared<const ChatFormat>(std::move(f));
    find_end_of_turn();
  }

  // Perplexity of `ids` over non-overlapping windows of ctx tokens, each from an empty cache;
  // `progress`, if given, sees the running result after each window.
  Perplexity perplexity(std::span<const int32_t> ids, size_t ctx,
                        const std::function<void(const Perplexity&)>& progress = {}) const {
    return detail::perplexity(*cpu_model_ptr("perplexity"), ids, ctx, *pool_, progress);
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
  size_t weight_bytes() const {
#ifdef ZEST_WITH_CUDA
    if (cuda_) return cuda_->weight_bytes();
#endif
    return model_->weight_bytes();
  }
  size_t kv_bytes_per_position() const {
#ifdef ZEST_WITH_CUDA
    if (cuda_) return cuda_->kv_bytes_per_position();
#endif
    return model_->kv_bytes_per_position();
  }
  // The longest sequence (prompt and new tokens) the model takes.
  size_t max_length() const { return config().max_sequence_length(); }
  // Whether the model runs on a GPU (LoadOptions::device = Device::cuda(i)).
  bool on_cuda() const {
#ifdef ZEST_WITH_CUDA
    if (cuda_) return true;
#endif
    return false;
  }
  double load_seconds() const { return load_seconds_; }

 private:
  friend class Engine;  // runs the model, tokenizer and pool for many requests at once
  Pipeline() = default;

  const detail::ModelConfig& config() const {
#ifdef ZEST_WITH_CUDA
    if (cuda_) return cuda_->config();
#endif
    return model_->config();
  }
  // The CPU model, for what runs on the CPU only; `what` names it in the error of a GPU pipeline.
  const std::shared_ptr<const detail::DecoderModel>& cpu_model_ptr(const char* what) const {
    if (!model_) detail::fail(Error::Kind::unsupported, what, " does not run on Device::cuda yet");
    return model_;
  }

  // One generation from a fresh KV cache sized for the prompt and max_new_tokens, on the model's device.
  Generation run(std::span<const int32_t> prompt, const GenerateParams& params, std::span<const int32_t> eos_ids) const {
#ifdef ZEST_WITH_CUDA
    if (cuda_) {
      detail::validate(params);
      detail::CudaState state(*cuda_, std::min(max_length(), prompt.size() + size_t(params.max_new_tokens)));
      return detail::generate(*cuda_, tokenizer_.get(), state, prompt, params, eos_ids, *pool_);
    }
#endif
    return detail::generate(*model_, tokenizer_.get(), prompt, params, eos_ids, *pool_);
  }

  // Appends `ids` to the session, prefills what its cache lacks and generates. A call that brings
  // nothing new re-runs the last position, whose logits the cache does not keep.
  Generation continue_session(Session& s, std::span<const int32_t> ids, const GenerateParams& params,
                              std::span<const int32_t> eos_ids) const {
    if (s.model_ != model_) detail::fail(Error::Kind::input, "this session belongs to another Pipeline");
    const size_t before = s.ids_.size();
    s.ids_.insert(s.ids_.end(), ids.begin(), ids.end());
    if (!s.ids_.empty() && s.state_.length() == s.ids_.size()) s.state_.truncate(s.ids_.size() - 1);
    const auto todo = std::span<const int32_t>(s.ids_).subspan(s.state_.length());
    try {
      const size_t needed = s.ids_.size() + size_t(std::max(0, params.max_new_tokens));
      if (needed > s.state_.capacity() && needed <= max_length())
        s.state_.reserve(std::min(max_length(), std::max(needed, 2 * s.state_.capacity())));
      Generation g = detail::generate(*model_, tokenizer_.get(), s.state_, todo, params, eos_ids, *pool_);
      g.timings.cached_tokens = s.ids_.size() - todo.size();
      s.ids_.insert(s.ids_.end(), g.ids.begin(), g.ids.end());
      return g;
    } catch (...) {
      s.rewind(before);
      throw;
    }
  }

  // The chat's stops: generation_config.json's eos ids, and the token that ends an assistant's
  // turn in the template when it is a special one (what follows an answer's text in a rendering).
  void find_end_of_turn() {
    chat_eos_ids_ = generation_config_.eos_token_ids;
    if (!tokenizer_ || !chat_format_->has_template()) return;
    constexpr std::string_view answer = "zest-end-of-turn-probe";
    std::string text;
    try {
      ChatOptions options;
      options.add_generation_prompt = false;
      text = chat_format_->render(nlohmann::ordered_json::array({{{"role", "user"}, {"content", "Hi"}},
                                                                 {{"role", "assistant"}, {"content", answer}}}), options);
    } catch (const Error&) {
      return;  // a template that refuses this conversation: its eos ids alone
    }
    const size_t at = text.rfind(answer);
    if (at == std::string::npos) return;
    const auto after = tokenizer_->encode(std::string_view(text).substr(at + answer.size()), false, InvalidUtf8::replace);
    if (!after.empty() && tokenizer_->decode({after.front()}, /*skip_special_tokens=*/true).empty() &&
        std::find(chat_eos_ids_.begin(), chat_eos_ids_.end(), after.front()) == chat_eos_ids_.end())
      chat_eos_ids_.push_back(after.front());
  }

  std::shared_ptr<const detail::DecoderModel> model_;  // null on a GPU
#ifdef ZEST_WITH_CUDA
  std::shared_ptr<const detail::CudaDecoder> cuda_;
#endif
  std::shared_ptr<const Tokenizer> tokenizer_;
  detail::GenerationConfig generation_config_;
  GenerateParams default_params_;
  std::shared_ptr<const ChatFormat> chat_format_;
  std::vector<int32_t> chat_eos_ids_;
  std::shared_ptr<detail::ThreadPool> pool_;
  double load_seconds_ = 0;
};

}  // namespace zest
